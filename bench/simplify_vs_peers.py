#!/usr/bin/env python3
"""Graph clean-up side by side: onnxpress `simplify` against onnx-simplifier
(onnxsim), onnxslim and onnxoptimizer, on the same models, same machine.

    python3 -m venv bench/.venv-peers
    bench/.venv-peers/bin/pip install onnxsim onnxslim onnxoptimizer onnxruntime numpy onnx
    /usr/bin/python3 models/parity/make_models.py --bench     # writes bench/out/*.onnx
    bench/.venv-peers/bin/python bench/simplify_vs_peers.py [--binary build/bin/onnxpress]

For every tool and model it records nodes after, file size, wall time and peak
RSS of the tool's process (/usr/bin/time; the Python tools include interpreter
start-up, as a user running their CLI pays it), and whether the outputs are
identical to the original's in ONNX Runtime (graph optimizations off, seeded
random inputs, max |diff| <= 1e-5 * max(1, max|ref|)). Each tool runs with its
defaults. Prints a Markdown table; writes bench/out/simplify_vs_peers.json.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "cli"))
from ort_parity import make_input  # noqa: E402

MODELS = [
    ("fashion-mnist sample", "models/fashion_mnist/model.onnx"),
    ("resnet_small (torch)", "models/parity/resnet_small.onnx"),
    ("bert_tiny (torch, dynamic axes)", "models/parity/bert_tiny.onnx"),
    ("bert_tiny raw export (static)", "bench/out/bert_tiny_raw.onnx"),
    ("lstm_small (torch, opset 9)", "models/parity/lstm_small.onnx"),
    ("MobileNetV2 (torchvision)", "bench/out/mobilenet_v2.onnx"),
    ("BERT-base (static, seq 128)", "bench/out/bert_base.onnx"),
]
BIN = os.path.dirname(sys.executable)


def tools(binary):
    return {
        "onnxpress": lambda i, o: [binary, "-q", "compress", i, "-o", o, "--passes", "simplify"],
        "onnxsim": lambda i, o: [os.path.join(BIN, "onnxsim"), i, o],
        "onnxslim": lambda i, o: [os.path.join(BIN, "onnxslim"), i, o],
        "onnxoptimizer": lambda i, o: [sys.executable, "-m", "onnxoptimizer", i, o],
    }


def timed(cmd):
    with tempfile.NamedTemporaryFile("r", suffix=".time") as t:
        run = subprocess.run(["/usr/bin/time", "-f", "%e %M", "-o", t.name] + cmd, capture_output=True, text=True)
        wall, rss_kb = t.read().split()[-2:]
    return run, float(wall), int(rss_kb) / 1024


def outputs(path, feeds):
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"]).run(None, feeds)


def max_error(ref, got):
    worst = 0.0
    for a, b in zip(ref, got):
        if a.shape != b.shape:
            return float("inf")
        if np.issubdtype(a.dtype, np.floating):
            worst = max(worst, float(np.max(np.abs(b.astype(np.float64) - a))) / max(1.0, float(np.max(np.abs(a)))))
        elif not np.array_equal(a, b):
            return float("inf")
    return worst


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.path.join(ROOT, "build", "bin", "onnxpress"))
    args = ap.parse_args()
    results = []
    for label, rel in MODELS:
        path = os.path.join(ROOT, rel)
        if not os.path.exists(path):
            print(f"skip {label}: {rel} missing (run models/parity/make_models.py --bench)", file=sys.stderr)
            continue
        sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        rng = np.random.default_rng(0)
        feeds = {i.name: make_input(i, rng) for i in sess.get_inputs()}
        reference = outputs(path, feeds)
        row = {"model": label, "nodes": len(onnx.load(path, load_external_data=False).graph.node),
               "bytes": os.path.getsize(path), "tools": {}}
        for tool, command in tools(args.binary).items():
            with tempfile.TemporaryDirectory() as tmp:
                out = os.path.join(tmp, "out.onnx")
                run, wall, rss = timed(command(path, out))
                if run.returncode != 0 or not os.path.exists(out):
                    row["tools"][tool] = {"error": (run.stderr.strip().splitlines() or ["failed"])[-1][:160]}
                    continue
                try:
                    err = max_error(reference, outputs(out, feeds))
                except Exception as e:  # noqa: BLE001
                    err = float("inf")
                    row["tools"][tool] = {"error": "ORT rejects output: " + str(e).splitlines()[0][:120]}
                    continue
                row["tools"][tool] = {"nodes": len(onnx.load(out, load_external_data=False).graph.node),
                                      "bytes": os.path.getsize(out), "seconds": wall, "peak_rss_mib": rss,
                                      "max_error": err, "identical": err <= 1e-5}
        results.append(row)
        print(f"done {label}", file=sys.stderr)
    names = list(tools(args.binary))
    print("| model | nodes before | " + " | ".join(f"{t} nodes / time / RSS" for t in names) + " |")
    print("|---|---:|" + "---|" * len(names))
    for row in results:
        cells = []
        for t in names:
            r = row["tools"][t]
            if "error" in r:
                cells.append("error: " + r["error"].replace("|", "/"))
            else:
                mark = "" if r["identical"] else f" (DIFFERS {r['max_error']:.1e})"
                cells.append(f"{r['nodes']} / {r['seconds']:.2f} s / {r['peak_rss_mib']:.0f} MiB{mark}")
        print(f"| {row['model']} | {row['nodes']} | " + " | ".join(cells) + " |")
    os.makedirs(os.path.join(ROOT, "bench", "out"), exist_ok=True)
    with open(os.path.join(ROOT, "bench", "out", "simplify_vs_peers.json"), "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
