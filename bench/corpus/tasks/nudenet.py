"""NudeNet 3.4.2 detector (nudenet/320n.onnx): YOLOv8n exported by Ultralytics
(PyTorch 2.3), opset 17, 18 classes (faces, covered/exposed body parts). Input
images float32 [batch, 3, height, width] (all symbolic; the package feeds 320x320
RGB /255); output output0 [batch, 22, anchors] (cx, cy, w, h, 18 class scores).

Data: photographs of people that PyPI wheels ship, on which the fp32 model finds
faces: scikit-image 0.26.0 `astronaut.png` and `camera.png`, matplotlib 3.11.2
`grace_hopper.jpg` (each checked by sha256). Each sample is a canvas of 320-640
px (smooth random colour field plus noise) with 1-3 of those photos pasted,
randomly cropped (70-100% per side), flipped, scaled, brightness and contrast
jittered. Preprocessing as nudenet's _read_image: pad bottom/right to a square,
cv2.dnn.blobFromImage(1/255, 320x320, swapRB). About 80% of the images have fp32
detections (FACE_FEMALE / FACE_MALE mostly).

Metric: mAP@0.5 against the fp32 model's detections, both after nudenet's decode
(max class score >= 0.2, class-agnostic NMS at score 0.25, IoU 0.45), in network
coordinates; fp32 scores 1.0.
"""

import numpy as np

import corpus
import taskutil

NAME = "nudenet"
PACKAGE = ("nudenet", "3.4.2")
MEMBER = "nudenet/320n.onnx"
SHA256 = "c15d8273adad2d0a92f014cc69ab2d6c311a06777a55545f2c4eb46f51911f0f"
PRODUCER = "Ultralytics YOLOv8n (PyTorch 2.3)"
TASK = "object detection (18 classes), 320x320"
METRIC = "mAP@0.5 vs fp32 detections"
REQUIRES = ["Pillow", "opencv-python-headless"]

PHOTOS = [
    ("scikit-image", "0.26.0", "skimage/data/astronaut.png",
     "88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5"),
    ("scikit-image", "0.26.0", "skimage/data/camera.png",
     "b0793d2adda0fa6ae899c03989482bff9a42d3d5690fc7e3648f2795d730c23a"),
    ("matplotlib", "3.11.2", "matplotlib/mpl-data/sample_data/grace_hopper.jpg",
     "a8ca6d734765703b09728ab47fe59f473d93ae3967fc24c7c0288c3c7adb7130"),
]
SIZE = 320
CALIB, EVAL = 64, 150


def _photos():
    from PIL import Image
    return [Image.open(corpus.wheel_file(*p)).convert("RGB") for p in PHOTOS]


def _canvas(rng, rng_np, photos):
    from PIL import Image, ImageEnhance
    w, h = rng.randint(320, 640), rng.randint(320, 640)
    field = rng_np.integers(40, 220, (3, 3, 3)).astype(np.uint8)
    canvas = Image.fromarray(taskutil.add_noise(np.asarray(Image.fromarray(field).resize((w, h), Image.BICUBIC)),
                                                rng_np, 8))
    for _ in range(rng.choice([1, 1, 2, 3])):
        photo = rng.choice(photos)
        pw, ph = photo.size
        cw, ch = int(pw * rng.uniform(0.7, 1)), int(ph * rng.uniform(0.7, 1))
        x0, y0 = rng.randint(0, pw - cw), rng.randint(0, ph - ch)
        piece = photo.crop((x0, y0, x0 + cw, y0 + ch))
        if rng.random() < 0.5:
            piece = piece.transpose(Image.FLIP_LEFT_RIGHT)
        scale = rng.uniform(0.45, 0.95) * min(w / cw, h / ch)
        piece = piece.resize((max(8, int(cw * scale)), max(8, int(ch * scale))), Image.BILINEAR)
        piece = ImageEnhance.Brightness(piece).enhance(rng.uniform(0.7, 1.3))
        piece = ImageEnhance.Contrast(piece).enhance(rng.uniform(0.7, 1.3))
        canvas.paste(piece, (rng.randint(0, w - piece.size[0]), rng.randint(0, h - piece.size[1])))
    return canvas


def _preprocess(bgr):
    """nudenet _read_image: pad to a square (bottom, right), blob 320x320 RGB /255."""
    import cv2
    side = max(bgr.shape[:2])
    padded = cv2.copyMakeBorder(bgr, 0, side - bgr.shape[0], 0, side - bgr.shape[1], cv2.BORDER_CONSTANT)
    return cv2.dnn.blobFromImage(padded, 1 / 255.0, (SIZE, SIZE), (0, 0, 0), swapRB=True, crop=False)


def _images(count, seed):
    rng, rng_np = taskutil.seeded(seed)
    photos = _photos()
    return np.stack([_preprocess(taskutil.pil_to_bgr(_canvas(rng, rng_np, photos))) for _ in range(count)])


def decode(outputs, _feeds=None):
    rows = outputs[0][0].T.astype(np.float64)  # [anchors, 4 + classes]
    scores = rows[:, 4:].max(1)
    classes = rows[:, 4:].argmax(1)
    keep = scores >= 0.2
    xywh, scores, classes = rows[keep, :4], scores[keep], classes[keep]
    boxes = np.concatenate([xywh[:, :2] - xywh[:, 2:] / 2, xywh[:, :2] + xywh[:, 2:] / 2], 1)
    picked = [k for k in taskutil.nms(boxes, scores, 0.45) if scores[k] >= 0.25]
    return boxes[picked], scores[picked], classes[picked]


make_data, metric = taskutil.detection_task("images", _images, CALIB, EVAL, decode)
