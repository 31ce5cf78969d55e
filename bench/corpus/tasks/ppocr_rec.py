"""RapidOCR 1.4.4's text-line recogniser (ch_PP-OCRv4_rec_infer.onnx): PP-OCRv4
mobile recognition (SVTR-LCNet) exported by paddle2onnx, opset 12, weights in
Constant nodes. Input x float32 [N, 3, ?, W]; output softmax [N, T, 6625] over
the metadata `character` dict (6623 entries) with 'blank' first and ' ' last, as
rapidocr's CTCLabelDecode builds it.

Data: single text lines (English words of the Zen of Python, numbers, dates,
prices) rendered in DejaVu faces at 20-40 px on paper colours with light noise,
no wider than 320/48 so that each fits the recogniser's default 48x320 input
unsqueezed. Preprocessing as rapidocr's TextRecognizer.resize_norm_img (height
48, aspect kept, (x/255-0.5)/0.5, zero padding to 320).

Metric: character accuracy (1 - edit distance / characters) of rapidocr's greedy
CTC decode (argmax, collapse repeats, drop blank) against the rendered text,
leading and trailing spaces stripped.
"""
import json
import os

import numpy as np

import taskutil

NAME = "ppocr_rec"
PACKAGE = ("rapidocr-onnxruntime", "1.4.4")
MEMBER = "rapidocr_onnxruntime/models/ch_PP-OCRv4_rec_infer.onnx"
SHA256 = "48fc40f24f6d2a207a2b1091d3437eb3cc3eb6b676dc3ef9c37384005483683b"
PRODUCER = "PaddlePaddle (paddle2onnx)"
TASK = "text-line recognition (PP-OCRv4 rec)"
METRIC = "character accuracy"
REQUIRES = ["Pillow", "opencv-python-headless"]

HEIGHT, WIDTH = 48, 320
CALIB, EVAL = 96, 300


def _data(count, seed):
    lines = taskutil.text_lines(count, seed, max_ratio=WIDTH / HEIGHT)
    return np.concatenate([taskutil.ppocr_line_input(bgr, HEIGHT, WIDTH) for bgr, _ in lines])[:, None], \
        [text for _, text in lines]


def make_data(model_path, out_dir):
    import onnx
    x, _ = _data(CALIB, seed=1)
    taskutil.save_data(os.path.join(out_dir, "calib.npz"), x=x)
    x, texts = _data(EVAL, seed=2)
    taskutil.save_data(os.path.join(out_dir, "eval.npz"), x=x)
    meta = {p.key: p.value for p in onnx.load(model_path, load_external_data=False).metadata_props}
    characters = ["blank"] + meta["character"].splitlines() + [" "]
    with open(os.path.join(out_dir, "refs.json"), "w", encoding="utf-8") as f:
        json.dump({"texts": texts, "characters": characters}, f, ensure_ascii=False)


def _read(outputs, refs):
    characters = refs["characters"]
    return "".join(characters[i] for i in taskutil.ctc_greedy(outputs[0][0].argmax(-1))).strip()


def metric(run, out_dir):
    return taskutil.ocr_metric(run, out_dir, _read)
