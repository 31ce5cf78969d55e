"""RapidOCR 1.4.4's text detector (ch_PP-OCRv4_det_infer.onnx): PP-OCRv4 mobile
DB detector exported by paddle2onnx, opset 12, weights in Constant nodes. Input
x float32 [N, 3, H, W] (all dims symbolic); output sigmoid_0.tmp_0 [N, 1, H, W],
the text probability map that DB post-processing thresholds at 0.3.

Data: 480x480 images (paper colour or a smooth colour field, light noise) with
5-12 text lines of English words and numbers in DejaVu faces at 14-40 px and
random dark or light inks, a few turned by up to 8 degrees. Preprocessing as
rapidocr's DetPreProcess with its config (limit_type min, limit_side_len 736:
the short side is brought to 736 and both sides rounded to multiples of 32, cv2
resize, BGR, (x/255-0.5)/0.5), so the input is [1, 3, 736, 736].

Metric: F1 of the thresholded probability map (> 0.3, rapidocr's `thresh`)
against the fp32 model's thresholded map, pixels pooled over all images; fp32
scores 1.0.
"""
import os

import numpy as np

import taskutil

NAME = "ppocr_det"
PACKAGE = ("rapidocr-onnxruntime", "1.4.4")
MEMBER = "rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx"
SHA256 = "d2a7720d45a54257208b1e13e36a8479894cb74155a5efe29462512d42f49da9"
PRODUCER = "PaddlePaddle (paddle2onnx)"
TASK = "text detection (PP-OCRv4 det, DB)"
METRIC = "F1 of the probability map > 0.3 vs fp32"
REQUIRES = ["Pillow", "opencv-python-headless"]

IMAGE, LIMIT, THRESH = 480, 736, 0.3
CALIB, EVAL = 48, 80


def _image(rng, rng_np):
    from PIL import Image, ImageDraw
    if rng.random() < 0.6:
        img = Image.new("RGB", (IMAGE, IMAGE), taskutil.paper_color(rng))
    else:
        field = rng_np.integers(0, 256, (3, 3, 3)).astype(np.uint8)
        img = Image.fromarray(field).resize((IMAGE, IMAGE), Image.BICUBIC)
    faces = taskutil.fonts()
    for _ in range(rng.randint(5, 12)):
        font = taskutil.font(rng.choice(faces), rng.randint(14, 40))
        text = taskutil.random_phrase(rng, 3, 30)
        left, top, right, bottom = font.getbbox(text)
        mask = Image.new("L", (right - left + 4, bottom - top + 4), 0)
        ImageDraw.Draw(mask).text((2 - left, 2 - top), text, font=font, fill=255)
        if rng.random() < 0.25:
            mask = mask.rotate(rng.uniform(-8, 8), expand=True, resample=Image.BICUBIC)
        if mask.size[0] >= IMAGE or mask.size[1] >= IMAGE:
            continue
        ink = taskutil.ink_color(rng) if rng.random() < 0.8 else tuple(rng.randint(200, 255) for _ in range(3))
        img.paste(Image.new("RGB", mask.size, ink),
                  (rng.randint(0, IMAGE - mask.size[0]), rng.randint(0, IMAGE - mask.size[1])), mask)
    return Image.fromarray(taskutil.add_noise(np.asarray(img), rng_np, rng.uniform(0, 8)))


def _preprocess(bgr):
    """rapidocr DetPreProcess, limit_type 'min', limit_side_len 736, mean = std = 0.5."""
    import cv2
    h, w = bgr.shape[:2]
    ratio = float(LIMIT) / min(h, w) if min(h, w) < LIMIT else 1.0
    rh, rw = int(round(int(h * ratio) / 32) * 32), int(round(int(w * ratio) / 32) * 32)
    img = cv2.resize(bgr, (rw, rh))
    img = (img.astype("float32") * (1 / 255.0) - np.array([0.5, 0.5, 0.5])) / np.array([0.5, 0.5, 0.5])
    return img.transpose((2, 0, 1))[None].astype(np.float32)


def _images(count, seed):
    rng, rng_np = taskutil.seeded(seed)
    return np.stack([_preprocess(taskutil.pil_to_bgr(_image(rng, rng_np))) for _ in range(count)])


def make_data(model_path, out_dir):
    taskutil.save_data(os.path.join(out_dir, "calib.npz"), x=_images(CALIB, seed=1))
    taskutil.save_data(os.path.join(out_dir, "eval.npz"), x=_images(EVAL, seed=2))
    run = taskutil.ort_runner(model_path)
    maps = [run(f)[0] > THRESH for f in taskutil.samples(os.path.join(out_dir, "eval.npz"))]
    np.savez_compressed(os.path.join(out_dir, "refs.npz"), shape=np.array(maps[0].shape),
                        bits=np.stack([np.packbits(m.reshape(-1)) for m in maps]))


def metric(run, out_dir):
    refs = np.load(os.path.join(out_dir, "refs.npz"))
    size = int(np.prod(refs["shape"]))
    tp = fp = fn = 0
    for feeds, bits in zip(taskutil.samples(os.path.join(out_dir, "eval.npz")), refs["bits"]):
        ref = np.unpackbits(bits)[:size].astype(bool)
        got = (run(feeds)[0] > THRESH).reshape(-1)
        tp += int(np.sum(ref & got))
        fp += int(np.sum(~ref & got))
        fn += int(np.sum(ref & ~got))
    return 2 * tp / max(1, 2 * tp + fp + fn)
