#!/usr/bin/env python3
"""QAT against PTQ: `quantize{...}` alone and `quantize{...},qat{epochs=E}`, same
model, same calibration data, top-1 on the 10,000 Fashion-MNIST test images, in
onnxpress's runtime (the tests check ONNX Runtime agrees on QAT outputs).

    /usr/bin/python3 bench/training/make_data.py
    /usr/bin/python3 bench/training/qat_vs_ptq.py [--epochs 1] [--threads 2]

Models: the sample, and the sample pruned to 50% of its channels and recovered by
distill (a smaller model, more sensitive to quantization). Quantization: static
QDQ with per-tensor int8 weights, and per-tensor int4 weights, min-fidelity off (every
layer quantized), calibrated on models/fashion_mnist/calib.npz.
"""
import argparse
import json
import os
import subprocess
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(ROOT, "bench", "out", "training")
SAMPLE = os.path.join(ROOT, "models", "fashion_mnist", "model.onnx")
CALIB = os.path.join(ROOT, "models", "fashion_mnist", "calib.npz")
SCHEMES = {
    "int8 per-tensor": "quantize{mode=static per-channel=false min-fidelity=off}",
    "int4 per-tensor": "quantize{mode=static weight-type=int4 per-channel=false min-fidelity=off}",
}


def compress(binary, model, out, passes, threads, extra=()):
    report = out + ".json"
    subprocess.run([binary, "-q", "compress", model, "-o", out, "--passes", passes, "--calib-data", CALIB,
                    "--eval-data", os.path.join(DATA, "test.npz"), "-n", "0", "--fidelity-samples", "0",
                    "--threads", str(threads), "--report", report, *extra], check=True, capture_output=True)
    j = json.load(open(report))
    return j["quality"]["accuracy"], j["passes"][-1].get("training", {}).get("seconds")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.path.join(ROOT, "build", "bin", "onnxpress"))
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    train = ["--train-data", os.path.join(DATA, "train.npz")]
    with tempfile.TemporaryDirectory() as tmp:
        small = os.path.join(tmp, "small.onnx")
        subprocess.run([args.binary, "-q", "compress", SAMPLE, "-o", small, "--passes",
                        "prune{granularity=channel sparsity=0.5},distill", *train, "-n", "0", "--threads",
                        str(args.threads)], check=True, capture_output=True)
        print(f"| model (fp32 top-1) | weights | PTQ | QAT ({args.epochs} epoch{'s' if args.epochs > 1 else ''}) | QAT - PTQ | QAT time |")
        print("|---|---|---:|---:|---:|---:|")
        for label, model in (("sample", SAMPLE), ("sample, 50% channels + distill", small)):
            for scheme, q in SCHEMES.items():
                ptq, _ = compress(args.binary, model, os.path.join(tmp, "ptq.onnx"), q, args.threads)
                qat, seconds = compress(args.binary, model, os.path.join(tmp, "qat.onnx"),
                                        f"{q},qat{{epochs={args.epochs}}}", args.threads, train)
                print(f"| {label} ({ptq['before'] * 100:.2f}%) | {scheme} | {ptq['after'] * 100:.2f}% | "
                      f"{qat['after'] * 100:.2f}% | {(qat['after'] - ptq['after']) * 100:+.2f} pp | {seconds:.0f} s |",
                      flush=True)


if __name__ == "__main__":
    main()
