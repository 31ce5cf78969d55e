#!/usr/bin/env python3
"""Median latency of the built-in runtime next to ONNX Runtime, same machine,
same inputs, same thread counts (1 and 2).

    .venv/bin/python bench/runtime_vs_ort.py [--binary build/bin/onnxpress] [--iterations 30]

Models: the bundled sample; bench/out/mobilenet_v2.onnx (224x224) and
bench/out/bert_base.onnx (sequence 128), made by
`/usr/bin/python3 models/parity/make_models.py --bench` (random weights).
ORT runs with its default graph optimizations (what users deploy), sequential
execution, intra-op threads = N. onnxpress runs `bench --threads N`. Ratio =
onnxpress median / ORT median (lower is better; the target is <= 1.5).
The machines are shared and noisy, so each pair is measured in --rounds
alternating rounds and each side reports its lowest median.
"""
import argparse
import json
import os
import subprocess
import tempfile
import time

import numpy as np
import onnxruntime as ort

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = [
    ("fashion-mnist sample (batch 1)", "models/fashion_mnist/model.onnx", {"batch": 1}),
    ("MobileNetV2 224x224", "bench/out/mobilenet_v2.onnx", {}),
    ("BERT-base seq 128", "bench/out/bert_base.onnx", {}),
]


def feeds_for(sess, dims):
    rng = np.random.default_rng(0)
    feeds = {}
    for i in sess.get_inputs():
        shape = [d if isinstance(d, int) else dims[d] for d in i.shape]
        if i.type == "tensor(float)":
            feeds[i.name] = rng.standard_normal(shape).astype(np.float32)
        elif "mask" in i.name:
            feeds[i.name] = np.ones(shape, dtype=np.int64)
        else:
            feeds[i.name] = rng.integers(0, 2, shape).astype(np.int64)
    return feeds


def ort_median(path, feeds, threads, iterations, warmup):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    for _ in range(warmup):
        sess.run(None, feeds)
    times = []
    for _ in range(iterations):
        t = time.perf_counter()
        sess.run(None, feeds)
        times.append((time.perf_counter() - t) * 1000)
    return float(np.median(times))


def ours_median(binary, path, feeds, threads, iterations, warmup):
    with tempfile.TemporaryDirectory() as tmp:
        np.savez(os.path.join(tmp, "data.npz"), **{k: v[None] for k, v in feeds.items()})
        out = subprocess.run([binary, "-q", "bench", path, "--threads", str(threads), "--iterations", str(iterations),
                              "--warmup", str(warmup), "--data", os.path.join(tmp, "data.npz"), "--json"],
                             capture_output=True, text=True, check=True)
    return json.loads(out.stdout)["latency_ms"]["median"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.path.join(ROOT, "build/bin/onnxpress"))
    ap.add_argument("--iterations", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    print(f"onnxruntime {ort.__version__}")
    print(f"{'model':34} {'threads':>7} {'onnxpress ms':>13} {'ORT ms':>9} {'ratio':>7}")
    for label, rel, dims in MODELS:
        path = os.path.join(ROOT, rel)
        if not os.path.exists(path):
            print(f"{label:34} missing {rel}: run /usr/bin/python3 models/parity/make_models.py --bench")
            continue
        feeds = feeds_for(ort.InferenceSession(path, providers=["CPUExecutionProvider"]), dims)
        for threads in (1, 2):
            theirs, ours = float("inf"), float("inf")
            for _ in range(args.rounds):
                theirs = min(theirs, ort_median(path, feeds, threads, args.iterations, args.warmup))
                ours = min(ours, ours_median(args.binary, path, feeds, threads, args.iterations, args.warmup))
            print(f"{label:34} {threads:>7} {ours:13.3f} {theirs:9.3f} {ours / theirs:7.2f}", flush=True)


if __name__ == "__main__":
    main()
