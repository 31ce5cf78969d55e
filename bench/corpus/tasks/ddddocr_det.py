"""ddddocr 1.6.1 click-captcha character detector (ddddocr/common_det.onnx): a
YOLOX-style single-class detector, PyTorch export, opset 11. Input images float32
[1, 3, 416, 416] (BGR, 0-255, letterboxed with grey 114); output [1, 3549, 6]
(x, y, log w, log h, objectness, class score per anchor point of strides 8/16/32).

Data: 344x344 click-captcha-like images: a smooth random colour field with
Gaussian noise and random lines, and 3-6 DejaVu glyphs (letters, digits,
symbols; 28-48 px, rotated up to 40 degrees, random colours) pasted at random
places. Preprocessing as ddddocr's DetectionEngine.preproc (cv2 INTER_LINEAR
resize by min(416/h, 416/w), pad 114, HWC->CHW float32, no scaling).

Metric: mAP@0.5 against the fp32 model's detections, both after ddddocr's own
decode (grid + stride, exp sizes, score = objectness x class, threshold 0.1,
NMS 0.45); no labels needed, fp32 scores 1.0.
"""

import numpy as np

import taskutil

NAME = "ddddocr_det"
PACKAGE = ("ddddocr", "1.6.1")
MEMBER = "ddddocr/common_det.onnx"
SHA256 = "6faa8ea85a8c1a634e5050c4a138fca10f30194e0d7abbe9ade1fcd423af6ed6"
PRODUCER = "PyTorch (ddddocr, YOLOX)"
TASK = "click-captcha character detection"
METRIC = "mAP@0.5 vs fp32 detections"
REQUIRES = ["Pillow", "opencv-python-headless"]

SIZE = 416
IMAGE = 344
GLYPHS = "ABCDEFGHJKLMNPQRSTUVWXYZabdefghkmnqrt2345678#@&%?"
CALIB, EVAL = 64, 150


def _image(rng, rng_np):
    from PIL import Image, ImageDraw
    field = rng_np.integers(60, 230, (4, 4, 3)).astype(np.uint8)
    background = np.asarray(Image.fromarray(field).resize((IMAGE, IMAGE), Image.BICUBIC))
    img = Image.fromarray(taskutil.add_noise(background, rng_np, 12))
    draw = ImageDraw.Draw(img)
    for _ in range(rng.randint(3, 8)):
        draw.line([(rng.randint(0, IMAGE), rng.randint(0, IMAGE)) for _ in range(2)],
                  fill=tuple(rng.randint(0, 255) for _ in range(3)), width=rng.randint(1, 3))
    fonts = taskutil.fonts()
    for _ in range(rng.randint(3, 6)):
        glyph = rng.choice(GLYPHS)
        font = taskutil.font(rng.choice(fonts), rng.randint(28, 48))
        left, top, right, bottom = font.getbbox(glyph)
        mask = Image.new("L", (right - left + 8, bottom - top + 8), 0)
        ImageDraw.Draw(mask).text((4 - left, 4 - top), glyph, font=font, fill=255)
        mask = mask.rotate(rng.uniform(-40, 40), expand=True, resample=Image.BICUBIC)
        colour = tuple(rng.randint(0, 255) for _ in range(3))
        x, y = rng.randint(0, IMAGE - mask.size[0]), rng.randint(0, IMAGE - mask.size[1])
        img.paste(Image.new("RGB", mask.size, colour), (x, y), mask)
    return img


def _preprocess(bgr):
    """ddddocr DetectionEngine.preproc: letterbox into 416x416 filled with 114."""
    import cv2
    padded = np.full((SIZE, SIZE, 3), 114, np.uint8)
    r = min(SIZE / bgr.shape[0], SIZE / bgr.shape[1])
    resized = cv2.resize(bgr, (int(bgr.shape[1] * r), int(bgr.shape[0] * r)),
                         interpolation=cv2.INTER_LINEAR).astype(np.uint8)
    padded[:resized.shape[0], :resized.shape[1]] = resized
    return np.ascontiguousarray(padded.transpose(2, 0, 1), dtype=np.float32)[None]


def _images(count, seed):
    rng, rng_np = taskutil.seeded(seed)
    return np.stack([_preprocess(taskutil.pil_to_bgr(_image(rng, rng_np))) for _ in range(count)])


def _grid():
    grids, strides = [], []
    for stride in (8, 16, 32):
        n = SIZE // stride
        xv, yv = np.meshgrid(np.arange(n), np.arange(n))
        grids.append(np.stack((xv, yv), 2).reshape(-1, 2))
        strides.append(np.full((n * n, 1), stride))
    return np.concatenate(grids), np.concatenate(strides)


GRID, STRIDES = _grid()


def decode(outputs, _feeds=None):
    """ddddocr's get_bbox decode in network coordinates: (boxes, scores, classes)."""
    p = outputs[0].reshape(-1, 6).astype(np.float64)
    xy = (p[:, :2] + GRID) * STRIDES
    wh = np.exp(p[:, 2:4]) * STRIDES
    scores = p[:, 4] * p[:, 5]
    boxes = np.concatenate([xy - wh / 2, xy + wh / 2], 1)
    keep = scores > 0.1
    boxes, scores = boxes[keep], scores[keep]
    picked = taskutil.nms(boxes, scores, 0.45, offset=1.0)
    return boxes[picked], scores[picked], np.zeros(len(picked), np.int64)


make_data, metric = taskutil.detection_task("images", _images, CALIB, EVAL, decode)
