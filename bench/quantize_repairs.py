#!/usr/bin/env python3
"""Do the accuracy repairs of `onnxpress quantize` help where they should?

    python3 bench/quantize_repairs.py [--binary build/bin/onnxpress] [--threads 1]

Each repair is measured on and off with everything else equal, by onnxpress's own
report (top-1 on labelled eval data, and SNR of the outputs against the float model):

  equalize (CLE)        static per-tensor weights, where one scale per tensor must
                        cover channels of very different ranges:
                        - bench/out/resnet_fmnist.onnx (trained, BatchNorm folded), int4 weights
                        - bench/out/mobilenet_v2.onnx (random weights; depthwise convs), int8 weights
  bias-correction       low-bit weights, whose rounding shifts each channel's mean output:
                        resnet_fmnist with int4 weights, per tensor and per channel
  smoothquant           MatMul inputs with outlier channels, per-tensor activations:
                        - bench/out/outlier_block.onnx, made here: two pre-LN transformer FFN
                          sublayers without the residual, Linear(GELU(Linear(LayerNorm(x)))), whose LayerNorm
                          gains have 4 of 64 channels at 40x, the outlier features of large
                          transformers (Dettmers et al. 2022); random weights, scored by fidelity
                        - bench/out/transformer_fmnist.onnx (trained, post-LN, no outliers): a
                          model where it should not matter

Models from the other benchmarks are made by bench/prune_channels.py --train (resnet),
bench/quantize_vs_peers.py (transformer and calibration data) and
models/parity/make_models.py --bench (mobilenet_v2). Results: Markdown table on stdout
and bench/out/quantize_repairs.json.
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "bench", "out")
EVAL = os.path.join(ROOT, "models", "fashion_mnist", "eval.npz")


def make_outlier_block(path, calib, evaluation):
    """Two pre-LN transformer FFN sublayers whose LayerNorm gains have 4 outlier channels."""
    import torch
    from torch import nn

    torch.manual_seed(0)
    d, seq = 64, 32

    class FeedForward(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln = nn.LayerNorm(d)
            self.up, self.down = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)
            with torch.no_grad():
                self.ln.weight[[3, 17, 40, 58]] = 40.0
                self.up.weight.mul_(0.5)

        def forward(self, x):
            return self.down(torch.nn.functional.gelu(self.up(self.ln(x))))

    model = nn.Sequential(FeedForward(), FeedForward()).eval()
    torch.onnx.export(model, torch.randn(1, seq, d), path, input_names=["x"], output_names=["y"], opset_version=17)
    rng = np.random.default_rng(1)
    np.savez(calib, x=rng.standard_normal((64, 1, seq, d)).astype(np.float32))
    np.savez(evaluation, x=np.random.default_rng(2).standard_normal((64, 1, seq, d)).astype(np.float32))


def make_mobilenet_data(path):
    rng = np.random.default_rng(3)
    np.savez(path, input=rng.standard_normal((16, 1, 3, 224, 224)).astype(np.float32))


def quantize(binary, model, calib, evaluation, options, threads):
    """One onnxpress run; returns (top-1 or None, output SNR dB)."""
    args = [binary, "-q", "quantize", model, "-o", os.path.join(OUT, "repair_tmp.onnx"), "--calib-data", calib,
            "--eval-data", evaluation, "--json", "-t", str(threads), "-n", "1"] + options
    report = json.loads(subprocess.run(args, check=True, capture_output=True, text=True).stdout)
    quality = report["quality"]
    accuracy = quality["accuracy"]["after"] if quality.get("accuracy") else None
    before = quality["accuracy"]["before"] if quality.get("accuracy") else None
    return before, accuracy, quality["fidelity"]["snr_db"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default=os.path.join(ROOT, "build", "bin", "onnxpress"))
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    outlier = os.path.join(OUT, "outlier_block.onnx")
    outlier_calib, outlier_eval = (os.path.join(OUT, f"outlier_block_{k}.npz") for k in ("calib", "eval"))
    if not os.path.exists(outlier):
        make_outlier_block(outlier, outlier_calib, outlier_eval)
    mobilenet_data = os.path.join(OUT, "mobilenet_calib.npz")
    if not os.path.exists(mobilenet_data):
        make_mobilenet_data(mobilenet_data)
    fmnist_calib = os.path.join(OUT, "fmnist_calib200.npz")
    resnet = os.path.join(OUT, "resnet_fmnist.onnx")
    transformer = os.path.join(OUT, "transformer_fmnist.onnx")
    t_calib, t_eval = (os.path.join(OUT, f"transformer_fmnist_{k}.npz") for k in ("calib", "eval"))
    mobilenet = os.path.join(OUT, "mobilenet_v2.onnx")

    cases = [
        ("equalize", "resnet_fmnist", resnet, fmnist_calib, EVAL, ["--weight-type", "int4"], ["--equalize"]),
        ("equalize", "mobilenet_v2 (random)", mobilenet, mobilenet_data, mobilenet_data, [], ["--equalize"]),
        ("bias-correction", "resnet_fmnist", resnet, fmnist_calib, EVAL, ["--weight-type", "int4"],
         ["--bias-correction"]),
        ("bias-correction", "resnet_fmnist", resnet, fmnist_calib, EVAL,
         ["--weight-type", "int4", "--per-channel"], ["--bias-correction"]),
        ("smoothquant", "outlier_block (random)", outlier, outlier_calib, outlier_eval, ["--per-channel"],
         ["--smoothquant"]),
        ("smoothquant", "transformer_fmnist", transformer, t_calib, t_eval, ["--per-channel"], ["--smoothquant"]),
    ]
    rows = []
    print("| repair | model | base options | top-1 float | top-1 off | top-1 on | SNR off (dB) | SNR on (dB) |")
    print("|---|---|---|---|---|---|---|---|")
    for repair, name, model, calib, evaluation, base, extra in cases:
        if not os.path.exists(model):
            print(f"| {repair} | {name} | missing {os.path.relpath(model, ROOT)} | | | | | |")
            continue
        before, off, snr_off = quantize(args.binary, model, calib, evaluation, base, args.threads)
        _, on, snr_on = quantize(args.binary, model, calib, evaluation, base + extra, args.threads)
        fmt = lambda a: "-" if a is None else f"{100 * a:.1f}%"
        print(f"| {repair} | {name} | {' '.join(base) or 'int8 per-tensor'} | {fmt(before)} | {fmt(off)} | "
              f"{fmt(on)} | {snr_off:.2f} | {snr_on:.2f} |")
        rows.append({"repair": repair, "model": name, "options": base, "top1_float": before, "top1_off": off,
                     "top1_on": on, "snr_off_db": snr_off, "snr_on_db": snr_on})
    os.remove(os.path.join(OUT, "repair_tmp.onnx"))
    with open(os.path.join(OUT, "quantize_repairs.json"), "w") as f:
        json.dump(rows, f, indent=2)


if __name__ == "__main__":
    sys.exit(main())
