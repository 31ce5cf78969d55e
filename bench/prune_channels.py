#!/usr/bin/env python3
"""Channel pruning on a trained ResNet-style CNN: parameters, accuracy and ONNX
Runtime latency before and after `onnxpress prune --granularity channel`.

    /usr/bin/python3 bench/prune_channels.py --train       # once: trains bench/out/resnet_fmnist.onnx (torch)
    .venv/bin/python bench/prune_channels.py [--sparsity 0.25] [--binary build/bin/onnxpress]

The model: a ResNet-style CNN for Fashion-MNIST (stem 3x3 conv 64 + 2x2 max pool,
two stages of two basic residual blocks at 64 and 128 channels, the second stage
downsampling with a strided 1x1 projection, a depthwise-separable block, global
average pool, Linear), trained for --epochs epochs on the 60,000 training images
with seed 0. At 25% the kept widths (48, 96) stay multiples of 16, the channel
block ORT's AVX-512 convolutions pad to; at 48/96 wide the kept 36/72 channels were
padded back and the pruned model was no faster in ORT (measured: 0.94x at batch 32).
Accuracy is top-1 on models/fashion_mnist/eval.npz (the first 1000 test images),
measured by onnxpress on both models. No fine-tuning after pruning.

Latency: ONNX Runtime (default graph optimizations, sequential, intra-op threads
1 and 2), batch 32 and batch 1, median of --iterations runs; the two models are
timed in --rounds alternating rounds and each keeps its lowest median (the
machine is shared and noisy). Ratio = original median / pruned median.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "bench", "out")
MODEL = os.path.join(OUT, "resnet_fmnist.onnx")
EVAL = os.path.join(ROOT, "models", "fashion_mnist", "eval.npz")


def fit(net, x, y, opt, epochs, sched=None, label="epoch"):
    """Minibatch (128) cross-entropy training, one line of progress per epoch on stderr."""
    import torch
    from torch import nn
    start = time.time()
    for epoch in range(epochs):
        net.train()
        perm = torch.randperm(len(x))
        for i in range(0, len(x), 128):
            idx = perm[i:i + 128]
            opt.zero_grad()
            loss = nn.functional.cross_entropy(net(x[idx]), y[idx])
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()
        print(f"{label} {epoch + 1}: loss {loss.item():.3f} ({time.time() - start:.0f} s)", file=sys.stderr)
    net.eval()


def train(epochs):
    import torch
    from torch import nn
    sys.path.insert(0, os.path.join(ROOT, "models", "fashion_mnist"))
    from train import DEFAULT_DATA_DIR, load_split, normalize  # noqa: E402

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.b1 = nn.BatchNorm2d(cout)
            self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.b2 = nn.BatchNorm2d(cout)
            self.skip = None if stride == 1 and cin == cout else nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):
            y = torch.relu(self.b1(self.c1(x)))
            y = self.b2(self.c2(y))
            return torch.relu(y + (x if self.skip is None else self.skip(x)))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(1, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
                                      nn.MaxPool2d(2))
            self.stages = nn.Sequential(Block(64, 64, 1), Block(64, 64, 1), Block(64, 128, 2), Block(128, 128, 1))
            self.dw = nn.Sequential(nn.Conv2d(128, 128, 3, 1, 1, groups=128, bias=False), nn.BatchNorm2d(128),
                                    nn.ReLU(), nn.Conv2d(128, 128, 1, bias=False), nn.BatchNorm2d(128), nn.ReLU())
            self.fc = nn.Linear(128, 10)

        def forward(self, x):
            x = self.dw(self.stages(self.stem(x)))
            return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))

    torch.manual_seed(0)
    torch.set_num_threads(os.cpu_count())
    images, labels = load_split(DEFAULT_DATA_DIR, "train")
    x = torch.from_numpy(normalize(images))
    y = torch.from_numpy(labels.astype(np.int64))
    net = Net()
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    fit(net, x, y, opt, epochs)
    os.makedirs(OUT, exist_ok=True)
    torch.onnx.export(net, torch.randn(1, 1, 28, 28), MODEL, input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, opset_version=13)
    print("wrote", MODEL, file=sys.stderr)


def ort_median(path, batch, threads, iterations):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).standard_normal((batch, 1, 28, 28)).astype(np.float32)
    for _ in range(3):
        sess.run(None, {"input": x})
    times = []
    for _ in range(iterations):
        t = time.perf_counter()
        sess.run(None, {"input": x})
        times.append(time.perf_counter() - t)
    return float(np.median(times)) * 1e3


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train", action="store_true")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--sparsity", type=float, default=0.25)
    ap.add_argument("--binary", default=os.path.join(ROOT, "build", "bin", "onnxpress"))
    ap.add_argument("--iterations", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    if args.train:
        train(args.epochs)
        return
    with tempfile.TemporaryDirectory() as tmp:
        pruned = os.path.join(tmp, "pruned.onnx")
        report = os.path.join(tmp, "report.json")
        start = time.time()
        subprocess.run([args.binary, "-q", "prune", MODEL, "-o", pruned, "--granularity", "channel",
                        "--sparsity", str(args.sparsity), "--eval-data", EVAL, "--report", report],
                       check=True, stdout=subprocess.DEVNULL)
        seconds = time.time() - start
        r = json.load(open(report))
        rows = []
        for batch in (32, 1):
            for threads in (1, 2):
                best = {"original": float("inf"), "pruned": float("inf")}
                for _ in range(args.rounds):
                    best["original"] = min(best["original"], ort_median(MODEL, batch, threads, args.iterations))
                    best["pruned"] = min(best["pruned"], ort_median(pruned, batch, threads, args.iterations))
                rows.append((batch, threads, best["original"], best["pruned"]))
    acc = r["quality"]["accuracy"]
    print(f"prune --granularity channel --sparsity {args.sparsity}: {seconds:.1f} s including both evaluations")
    print(f"parameters {r['before']['parameters']:,} -> {r['after']['parameters']:,} "
          f"({r['before']['parameters'] / r['after']['parameters']:.2f}x fewer); "
          f"MACs {r['before']['macs']:,} -> {r['after']['macs']:,} ({r['before']['macs'] / r['after']['macs']:.2f}x fewer)")
    print(f"top-1 on {acc['samples']} test images: {acc['before']:.2%} -> {acc['after']:.2%} (no fine-tuning)")
    stats = r["passes"][0]["statistics"]
    print("pass statistics:", ", ".join(f"{k} {v}" for k, v in stats.items()))
    print()
    print("| batch | ORT threads | original median | pruned median | speedup |")
    print("|---:|---:|---:|---:|---:|")
    for batch, threads, a, b in rows:
        print(f"| {batch} | {threads} | {a:.3f} ms | {b:.3f} ms | {a / b:.2f}x |")


if __name__ == "__main__":
    main()
