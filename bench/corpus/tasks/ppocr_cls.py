"""RapidOCR 1.4.4's text-direction classifier (ch_ppocr_mobile_v2.0_cls_infer.onnx):
PP-OCR mobile v2.0 direction classifier exported by paddle2onnx, opset 11,
weights in Constant nodes. Input x float32 [?, 3, ?, ?] (the package feeds
[N, 3, 48, 192]); output [N, 2] over rapidocr's label_list ('0', '180').

Data: single text lines as for ppocr_rec (DejaVu, 20-40 px, paper colours, light
noise), no wider than 192/48, each used upright (label 0) and turned 180 degrees
(label 1). Preprocessing as rapidocr's TextClassifier.resize_norm_img (height 48,
aspect kept, (x/255-0.5)/0.5, zero padding to 192).

Metric: top-1 accuracy against the known direction.
"""
import os

import numpy as np

import taskutil

NAME = "ppocr_cls"
PACKAGE = ("rapidocr-onnxruntime", "1.4.4")
MEMBER = "rapidocr_onnxruntime/models/ch_ppocr_mobile_v2.0_cls_infer.onnx"
SHA256 = "e47acedf663230f8863ff1ab0e64dd2d82b838fceb5957146dab185a89d6215c"
PRODUCER = "PaddlePaddle (paddle2onnx)"
TASK = "text direction 0/180 (PP-OCR mobile v2.0 cls)"
METRIC = "top-1 accuracy"
REQUIRES = ["Pillow", "opencv-python-headless"]

HEIGHT, WIDTH = 48, 192
CALIB_LINES, EVAL_LINES = 48, 150  # x 2 directions


def _data(count, seed):
    images, labels = [], []
    for bgr, _ in taskutil.text_lines(count, seed, max_ratio=WIDTH / HEIGHT, max_chars=16):
        for label, img in ((0, bgr), (1, np.ascontiguousarray(bgr[::-1, ::-1]))):
            images.append(taskutil.ppocr_line_input(img, HEIGHT, WIDTH))
            labels.append(label)
    return np.stack(images), np.array(labels, np.int64)


def make_data(model_path, out_dir):
    x, _ = _data(CALIB_LINES, seed=1)
    taskutil.save_data(os.path.join(out_dir, "calib.npz"), x=x)
    x, labels = _data(EVAL_LINES, seed=2)
    taskutil.save_data(os.path.join(out_dir, "eval.npz"), x=x, labels=labels)


def metric(run, out_dir):
    return taskutil.top1_metric(run, out_dir)
