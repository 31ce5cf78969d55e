#!/usr/bin/env python3
"""Training and test DATA for the training benchmarks, from Debian's Fashion-MNIST.

Writes OUT/train.npz (the first TRAIN images of the train split, with labels) and
OUT/test.npz (the whole 10,000-image test split, with labels), normalised exactly as
models/fashion_mnist/train.py does: x/255, then (x - 0.2860) / 0.3530, each sample
[1, 1, 28, 28] (one batch-of-1 input, the DATA format of docs/data-format.md).
Deterministic; nothing is written when both files exist.

Usage: /usr/bin/python3 bench/training/make_data.py [--out bench/out/training] [--train 10000]
"""
import argparse
import gzip
import pathlib

import numpy as np

DATA = pathlib.Path("/usr/share/datasets/fashion-mnist")
MEAN, STD = 0.2860, 0.3530


def read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic = int.from_bytes(raw[0:4], "big")
    if magic == 2051:
        n, rows, cols = (int.from_bytes(raw[i:i + 4], "big") for i in (4, 8, 12))
        return np.frombuffer(raw, np.uint8, offset=16).reshape(n, rows, cols)
    if magic == 2049:
        return np.frombuffer(raw, np.uint8, offset=8)
    raise SystemExit(f"{path}: not an IDX file (magic {magic})")


def split(prefix, count=None):
    x = read_idx(DATA / f"{prefix}-images-idx3-ubyte.gz")
    y = read_idx(DATA / f"{prefix}-labels-idx1-ubyte.gz")
    if count:
        x, y = x[:count], y[:count]
    x = ((x.astype(np.float32) / 255.0 - MEAN) / STD).astype(np.float32)
    return x[:, None, None], y.astype(np.int64)  # [S, 1, 1, 28, 28]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="bench/out/training")
    ap.add_argument("--train", type=int, default=10000)
    args = ap.parse_args()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if not (out / "train.npz").exists():
        x, y = split("train", args.train)
        np.savez(out / "train.npz", input=x, labels=y)
    if not (out / "test.npz").exists():
        x, y = split("t10k")
        np.savez(out / "test.npz", input=x, labels=y)
    print(f"{out}/train.npz, {out}/test.npz")


if __name__ == "__main__":
    main()
