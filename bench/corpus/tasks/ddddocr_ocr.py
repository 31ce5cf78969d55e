"""ddddocr 1.6.1 captcha OCR (ddddocr/common.onnx, the package's `beta=True` model):
PyTorch 1.9 export, opset 12, CNN + LSTM + CTC head. Input input1 float32
[1, 1, 64, image_width]; its output '387' is declared [1, seqlen] but is really
[seqlen, 1, 8210] logits over ddddocr's CHARSET_BETA (index 0 = CTC blank).

Data: captchas from PyPI `captcha` 0.7.1 (ImageCaptcha 192x64, font sizes 40-48,
its bundled DroidSansMono), 4-6 characters from the usual captcha alphabet
(A-Z and 2-9 without the look-alikes 0/O, 1/I). `captcha` draws with `secrets`,
which cannot be seeded, so its module's `secrets` is swapped for a seeded stand-in.
Preprocessing as ddddocr's OCREngine: resize to height 64 keeping the aspect
(LANCZOS; 192x64 stays 192 wide), grey, /255, [1,1,64,192].

Metric: character accuracy (1 - edit distance / characters), case-insensitive,
of ddddocr's own decode (argmax, CTC collapse, blank 0, CHARSET_BETA) against the
true text. The charset is read from ddddocr/charsets.py in the same wheel.
"""
import ast
import json
import os
import random

import numpy as np

import corpus
import taskutil

NAME = "ddddocr_ocr"
PACKAGE = ("ddddocr", "1.6.1")
MEMBER = "ddddocr/common.onnx"
SHA256 = "33b5cd351ee94e73a6bf8fa18c415ed8b819b3ffd342e267c30d8ad8334e34e8"
PRODUCER = "PyTorch 1.9 (ddddocr)"
TASK = "captcha OCR (CNN + LSTM + CTC)"
METRIC = "character accuracy, case-insensitive"
REQUIRES = ["Pillow", "captcha==0.7.1"]

CHARSET_MEMBER = ("ddddocr/charsets.py", "ae99cf71e1dd738d50d2c2d2bf8544c16a7d23452e9b64346d3ac4dbff83510f")
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
WIDTH, HEIGHT = 192, 64
CALIB, EVAL = 96, 300


class _SeededSecrets:
    """The part of the `secrets` module that captcha.image uses, from a seeded Random."""

    def __init__(self, rng):
        self.rng = rng

    def randbelow(self, n):
        return self.rng.randrange(n)

    def randbits(self, k):
        return self.rng.getrandbits(k)

    def choice(self, seq):
        return self.rng.choice(seq)


def _charset():
    path = corpus.wheel_file(PACKAGE[0], PACKAGE[1], *CHARSET_MEMBER)
    for node in ast.parse(open(path, encoding="utf-8").read()).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "CHARSET_BETA" for t in node.targets):
            return ast.literal_eval(node.value)
    raise SystemExit("ddddocr_ocr: CHARSET_BETA not found in ddddocr/charsets.py")


def _captchas(count, seed):
    from captcha import image as captcha_image
    from PIL import Image
    rng = random.Random(seed)
    captcha_image.secrets = _SeededSecrets(rng)
    generator = captcha_image.ImageCaptcha(width=WIDTH, height=HEIGHT, font_sizes=(40, 44, 48))
    images, texts = [], []
    for _ in range(count):
        text = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(4, 6)))
        img = generator.generate_image(text)
        width = int(img.size[0] * (64 / img.size[1]))  # ddddocr: height 64, aspect kept
        img = img.resize((width, 64), Image.LANCZOS).convert("L")
        images.append(np.asarray(img, np.float32)[None, None] / 255.0)
        texts.append(text)
    return np.stack(images).astype(np.float32), texts


def make_data(model_path, out_dir):
    calib, _ = _captchas(CALIB, seed=1)
    taskutil.save_data(os.path.join(out_dir, "calib.npz"), input1=calib)
    images, texts = _captchas(EVAL, seed=2)
    taskutil.save_data(os.path.join(out_dir, "eval.npz"), input1=images)
    with open(os.path.join(out_dir, "refs.json"), "w", encoding="utf-8") as f:
        json.dump({"texts": texts, "charset": _charset()}, f, ensure_ascii=False)


def _read(outputs, refs):
    logits = outputs[0]  # [seq, 1, classes]
    indices = logits.reshape(logits.shape[0], -1, logits.shape[-1])[:, 0, :].argmax(-1)
    charset = refs["charset"]
    return "".join(charset[i] for i in taskutil.ctc_greedy(indices) if i < len(charset))


def metric(run, out_dir):
    return taskutil.ocr_metric(run, out_dir, _read, fold_case=True)
