"""Helpers shared by the corpus task modules (bench/corpus/tasks/*.py): text and
fonts for rendering, DATA files, CTC decoding, character accuracy, and mAP@0.5
of detections against reference (fp32) detections. Everything seeded."""
import codecs
import glob
import os
import random
import sys

import numpy as np

BENCH = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if BENCH not in sys.path:
    sys.path.insert(0, BENCH)  # quantize_vs_peers: DATA loading and ORT sessions, shared with run.py

FONT_DIR = "/usr/share/fonts/truetype/dejavu"


def fonts(pattern="DejaVu*.ttf", exclude=("MathTeX", "ExtraLight")):
    """DejaVu font files, sorted (the only fonts the corpus uses)."""
    found = sorted(p for p in glob.glob(os.path.join(FONT_DIR, pattern)) if not any(e in p for e in exclude))
    if not found:
        raise SystemExit(f"corpus: no fonts in {FONT_DIR} (apt-get install fonts-dejavu-core fonts-dejavu-extra)")
    return found


_font_cache = {}


def font(path, size):
    from PIL import ImageFont
    key = (path, size)
    if key not in _font_cache:
        _font_cache[key] = ImageFont.truetype(path, size)
    return _font_cache[key]


def english_words():
    """Words of the Zen of Python (stdlib `this`, stored rot13), letters only."""
    import this  # noqa: F401 - prints the Zen once on first import
    text = codecs.decode(this.s, "rot13")
    words = ["".join(c for c in w if c.isalnum()) for w in text.split()]
    return [w for w in words if w]


def _silent_english_words():
    import contextlib
    import io
    with contextlib.redirect_stdout(io.StringIO()):
        return english_words()


WORDS = None


def words():
    global WORDS
    if WORDS is None:
        WORDS = _silent_english_words()
    return WORDS


def random_phrase(rng, min_chars, max_chars):
    """A phrase of English words, numbers and punctuation of MIN..MAX characters."""
    pieces, length = [], 0
    target = rng.randint(min_chars, max_chars)
    while length < target:
        kind = rng.random()
        if kind < 0.75:
            w = rng.choice(words())
            w = w.capitalize() if rng.random() < 0.2 else (w.upper() if rng.random() < 0.05 else w.lower())
        elif kind < 0.9:
            w = str(rng.randint(0, 99999))
        else:
            w = rng.choice(["2024-06-01", "$19.99", "No.7", "(42)", "3.14", "A-12", "x86_64", "v1.6.1", "50%",
                            "10:30"])
        if rng.random() < 0.1:
            w += rng.choice([",", ".", ":", ";", "!", "?"])
        pieces.append(w)
        length += len(w) + 1
    phrase = " ".join(pieces)
    return phrase[:max_chars].strip() or "text"


def paper_color(rng):
    v = rng.randint(215, 255)
    return (v, min(255, v + rng.randint(-8, 8)), min(255, v + rng.randint(-12, 4)))


def ink_color(rng):
    v = rng.randint(0, 70)
    return (v, v + rng.randint(0, 20), v + rng.randint(0, 30))


def render_line(text, font_obj, rng, pad=(6, 4), fg=None, bg=None):
    """TEXT rendered on one line, tightly cropped with PAD (x, y) pixels around; PIL RGB."""
    from PIL import Image, ImageDraw
    left, top, right, bottom = font_obj.getbbox(text)
    w, h = right - left + 2 * pad[0], bottom - top + 2 * pad[1]
    img = Image.new("RGB", (max(w, 1), max(h, 1)), bg or paper_color(rng))
    ImageDraw.Draw(img).text((pad[0] - left, pad[1] - top), text, font=font_obj, fill=fg or ink_color(rng))
    return img


def add_noise(array, rng_np, sigma):
    """uint8 HxWxC image plus Gaussian noise of SIGMA grey levels."""
    noisy = array.astype(np.float32) + rng_np.normal(0, sigma, array.shape)
    return np.clip(noisy, 0, 255).astype(np.uint8)


def pil_to_bgr(img):
    """PIL image to a uint8 HxWx3 BGR array, as the packages' LoadImage / cv2.imread give."""
    rgb = np.asarray(img.convert("RGB"))
    return np.ascontiguousarray(rgb[:, :, ::-1])


def seeded(seed):
    """(random.Random, numpy Generator) seeded with SEED."""
    return random.Random(seed), np.random.default_rng(seed)


def save_data(path, **arrays):
    """A DATA file (docs/data-format.md): arrays [S, ...] named after model inputs."""
    np.savez_compressed(path, **{k: np.ascontiguousarray(v) for k, v in arrays.items()})


def samples(path):
    """Per-sample feed dicts of the DATA file PATH (every array but labels)."""
    from quantize_vs_peers import load_samples
    return load_samples(path)[0]


# ---------------------------------------------------------------- text metrics

def ctc_greedy(indices, blank=0):
    """Collapse repeats, then drop blanks (greedy CTC decode of argmax indices)."""
    out, prev = [], None
    for i in np.asarray(indices).reshape(-1).tolist():
        if i != prev and i != blank:
            out.append(i)
        prev = i
    return out


def edit_distance(a, b):
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def char_accuracy(predictions, truths):
    """1 - total edit distance / total characters of the truths (floor 0)."""
    errors = sum(edit_distance(p, t) for p, t in zip(predictions, truths))
    return max(0.0, 1.0 - errors / max(1, sum(len(t) for t in truths)))


# ---------------------------------------------------------------- detection metrics

def iou_matrix(a, b):
    """IoU of boxes A [N,4] and B [M,4] (x1, y1, x2, y2) -> [N, M]."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a = np.prod(np.clip(a[:, 2:] - a[:, :2], 0, None), axis=1)
    area_b = np.prod(np.clip(b[:, 2:] - b[:, :2], 0, None), axis=1)
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)


def map50(predictions, references, iou=0.5):
    """mAP at IoU IOU (VOC all-point AP, averaged over the classes that have
    reference boxes). PREDICTIONS and REFERENCES: per image (boxes [N,4],
    scores [N], classes [N]); the scores of references are ignored. Against the
    fp32 model's own detections, fp32 scores 1.0."""
    classes = sorted({int(c) for _, _, cls in references for c in np.asarray(cls).reshape(-1)})
    if not classes:
        return float("nan")
    aps = []
    for c in classes:
        entries, total = [], 0  # (score, image, box index)
        for image, ((pb, ps, pc), (rb, _, rc)) in enumerate(zip(predictions, references)):
            total += int(np.sum(np.asarray(rc) == c))
            for k in np.flatnonzero(np.asarray(pc) == c):
                entries.append((float(np.asarray(ps)[k]), image, int(k)))
        entries.sort(key=lambda e: -e[0])
        used = {}
        tp = np.zeros(len(entries))
        for n, (_, image, k) in enumerate(entries):
            pb, _, _ = predictions[image]
            rb, _, rc = references[image]
            ref_idx = np.flatnonzero(np.asarray(rc) == c)
            if len(ref_idx) == 0:
                continue
            ious = iou_matrix(np.asarray(pb)[k:k + 1], np.asarray(rb)[ref_idx])[0]
            taken = used.setdefault(image, set())
            best_j = None
            for j in np.argsort(-ious):  # the best-overlapping reference not matched yet
                if ious[j] < iou:
                    break
                if int(ref_idx[j]) not in taken:
                    best_j = int(ref_idx[j])
                    break
            if best_j is not None:
                taken.add(best_j)
                tp[n] = 1
        if total == 0:
            continue
        ctp = np.cumsum(tp)
        recall = ctp / total
        precision = ctp / np.arange(1, len(entries) + 1) if entries else np.zeros(0)
        mrec = np.concatenate([[0.0], recall, [1.0]])
        mpre = np.concatenate([[0.0], precision, [0.0]])
        for i in range(len(mpre) - 2, -1, -1):
            mpre[i] = max(mpre[i], mpre[i + 1])
        steps = np.flatnonzero(mrec[1:] != mrec[:-1])
        aps.append(float(np.sum((mrec[steps + 1] - mrec[steps]) * mpre[steps + 1])))
    return float(np.mean(aps))


def nms(boxes, scores, threshold, offset=0.0):
    """Greedy NMS: indices kept, highest score first. OFFSET 1 gives the
    (x2 - x1 + 1) * (y2 - y1 + 1) areas of pixel-inclusive implementations."""
    order = np.argsort(-np.asarray(scores), kind="stable")
    keep = []
    boxes = np.array(boxes, np.float64).reshape(-1, 4)
    boxes[:, 2:] += offset
    while len(order):
        i = order[0]
        keep.append(int(i))
        if len(order) == 1:
            break
        ious = iou_matrix(boxes[i:i + 1], boxes[order[1:]])[0]
        order = order[1:][ious <= threshold]
    return keep


def save_detections(path, detections):
    """Per-image (boxes, scores, classes) lists into one npz."""
    flat = {}
    for i, (b, s, c) in enumerate(detections):
        flat[f"boxes_{i}"] = np.asarray(b, np.float32).reshape(-1, 4)
        flat[f"scores_{i}"] = np.asarray(s, np.float32).reshape(-1)
        flat[f"classes_{i}"] = np.asarray(c, np.int64).reshape(-1)
    np.savez_compressed(path, count=np.int64(len(detections)), **flat)


def load_detections(path):
    d = np.load(path)
    return [(d[f"boxes_{i}"], d[f"scores_{i}"], d[f"classes_{i}"]) for i in range(int(d["count"]))]


def ort_runner(model_path, threads=2):
    """run(feeds) -> outputs for MODEL_PATH in ONNX Runtime (CPU, THREADS intra-op threads)."""
    import onnxruntime as ort
    from quantize_vs_peers import session
    ort.set_default_logger_severity(3)  # errors only (ddddocr_ocr warns about its output shape on every run)
    sess = session(model_path, threads)
    return lambda feeds: sess.run(None, feeds)


def detection_refs(model_path, out_dir, decode):
    """Decode the fp32 model's detections on eval.npz (DECODE(outputs, feeds) ->
    (boxes, scores, classes)) into OUT_DIR/refs.npz; returns them."""
    run = ort_runner(model_path)
    dets = [decode(run(f), f) for f in samples(os.path.join(out_dir, "eval.npz"))]
    save_detections(os.path.join(out_dir, "refs.npz"), dets)
    return dets


def detection_metric(run, out_dir, decode):
    """mAP@0.5 of the decoded detections of RUN on eval.npz against refs.npz."""
    refs = load_detections(os.path.join(out_dir, "refs.npz"))
    preds = [decode(run(f), f) for f in samples(os.path.join(out_dir, "eval.npz"))]
    return map50(preds, refs)


def detection_task(input_name, images, calib, evaluate, decode):
    """(make_data, metric) of a detector scored against its fp32 detections:
    IMAGES(count, seed) -> [count, 1, C, H, W] inputs (calibration seed 1, eval
    seed 2), DECODE(outputs, feeds) -> (boxes, scores, classes)."""
    def make_data(model_path, out_dir):
        save_data(os.path.join(out_dir, "calib.npz"), **{input_name: images(calib, 1)})
        save_data(os.path.join(out_dir, "eval.npz"), **{input_name: images(evaluate, 2)})
        detection_refs(model_path, out_dir, decode)

    def metric(run, out_dir):
        return detection_metric(run, out_dir, decode)

    return make_data, metric


def top1_metric(run, out_dir):
    """Top-1 accuracy of the first output on eval.npz against its labels."""
    from quantize_vs_peers import load_samples
    feeds, labels = load_samples(os.path.join(out_dir, "eval.npz"))
    return float(np.mean([int(np.argmax(run(f)[0]) == y) for f, y in zip(feeds, labels)]))


def ocr_metric(run, out_dir, decode, fold_case=False):
    """Character accuracy on eval.npz against refs.json's "texts" (both lower-cased
    with FOLD_CASE); DECODE(outputs, refs) -> the text read."""
    import json
    with open(os.path.join(out_dir, "refs.json"), encoding="utf-8") as f:
        refs = json.load(f)
    predictions = [decode(run(feeds), refs) for feeds in samples(os.path.join(out_dir, "eval.npz"))]
    truths = refs["texts"]
    if fold_case:
        predictions, truths = [p.lower() for p in predictions], [t.lower() for t in truths]
    return char_accuracy(predictions, truths)


# ---------------------------------------------------------------- PaddleOCR text lines

def ppocr_line_input(bgr, height, width):
    """rapidocr's resize_norm_img for the recogniser and the direction classifier:
    cv2 resize to HEIGHT keeping the aspect (at most WIDTH wide), /255, (x-0.5)/0.5,
    CHW, zero-padded on the right to WIDTH; [1, 3, HEIGHT, WIDTH] float32."""
    import math

    import cv2
    h, w = bgr.shape[:2]
    resized_w = min(width, int(math.ceil(height * w / float(h))))
    resized = cv2.resize(bgr, (resized_w, height)).astype("float32").transpose((2, 0, 1)) / 255
    resized -= 0.5
    resized /= 0.5
    padded = np.zeros((3, height, width), dtype=np.float32)
    padded[:, :, :resized_w] = resized
    return padded[None]


def text_lines(count, seed, max_ratio, min_chars=3, max_chars=28, sizes=(20, 40)):
    """COUNT (BGR line image, text) pairs: random phrases in random DejaVu faces
    and sizes, paper and ink colours, light noise; each no wider than MAX_RATIO
    times its height (so it fits the fixed model width without squeezing)."""
    rng, rng_np = seeded(seed)
    faces = fonts()
    lines = []
    while len(lines) < count:
        text = random_phrase(rng, min_chars, max_chars)
        img = render_line(text, font(rng.choice(faces), rng.randint(*sizes)), rng,
                          pad=(rng.randint(2, 10), rng.randint(2, 8)))
        if img.size[0] / img.size[1] > max_ratio:
            continue
        lines.append((add_noise(pil_to_bgr(img), rng_np, rng.uniform(0, 10)), text))
    return lines
