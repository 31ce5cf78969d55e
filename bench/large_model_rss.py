#!/usr/bin/python3
"""Peak RSS of onnxpress on a model larger than protobuf's 2 GB limit.

Builds a synthetic MatMul chain whose weights (default 2.25 GiB) live in an
external data file, then measures, each in a fresh child process:
  - onnxpress inspect MODEL
  - onnxpress compress MODEL -o OUT --passes eliminate-dead  (a full round trip;
    the output is written with external data automatically)
  - the peer: Python onnx 1.12, onnx.load() then onnx.save_model(..., save_as_external_data=True)
and checks that the round-tripped weights are byte-identical to the input.

Usage: bench/large_model_rss.py [--binary build/bin/onnxpress] [--gib 2.25] [--workdir DIR]
Needs Debian's python3-onnx and python3-numpy and ~3x the model size in free disk.
"""
import argparse
import hashlib
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
from onnx import TensorProto, helper

PEER = r"""
import sys, onnx
m = onnx.load(sys.argv[1])
onnx.save_model(m, sys.argv[2], save_as_external_data=True, all_tensors_to_one_file=True, location="peer.onnx.data")
"""


def build(path, gib):
    width = 4096
    layer_bytes = width * width * 4
    layers = max(1, int(gib * (1 << 30) // layer_bytes))
    data_name = os.path.basename(path) + ".data"
    rng = np.random.default_rng(0)
    inits, nodes = [], []
    with open(os.path.join(os.path.dirname(path), data_name), "wb") as f:
        for i in range(layers):
            w = rng.standard_normal((width, width), dtype=np.float32) * 0.01
            t = TensorProto()
            t.name, t.data_type = f"w{i}", TensorProto.FLOAT
            t.dims.extend([width, width])
            t.data_location = TensorProto.EXTERNAL
            for k, v in (("location", data_name), ("offset", str(f.tell())), ("length", str(w.nbytes))):
                e = t.external_data.add()
                e.key, e.value = k, v
            f.write(w.tobytes())
            inits.append(t)
            nodes.append(helper.make_node("MatMul", [f"h{i}", f"w{i}"], [f"h{i + 1}"]))
    g = helper.make_graph(nodes, "large", [helper.make_tensor_value_info("h0", TensorProto.FLOAT, ["batch", width])],
                          [helper.make_tensor_value_info(f"h{layers}", TensorProto.FLOAT, ["batch", width])], inits)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), path)
    return layers, layers * layer_bytes


def peak_rss(cmd):
    """Runs cmd in a fresh process; returns (peak RSS bytes, seconds)."""
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
        os.execvp(cmd[0], cmd)
    _, status, usage = os.wait4(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"command failed: {' '.join(cmd)}")
    return usage.ru_maxrss * 1024, time.monotonic() - start


def sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 24), b""):
            h.update(chunk)
    return h.hexdigest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default="build/bin/onnxpress")
    ap.add_argument("--gib", type=float, default=2.25)
    ap.add_argument("--workdir", default=None)
    args = ap.parse_args()
    work = args.workdir or tempfile.mkdtemp(prefix="onnxpress-large-")
    model = os.path.join(work, "large.onnx")
    layers, total = build(model, args.gib)
    print(f"model: {layers} MatMul layers, {total / (1 << 30):.2f} GiB of float32 weights in external data")
    out = os.path.join(work, "out.onnx")
    rows = [
        ("onnxpress inspect", peak_rss([args.binary, "-q", "inspect", model])),
        ("onnxpress compress (round trip)", peak_rss([args.binary, "-q", "compress", model, "-o", out, "--passes", "eliminate-dead"])),
        ("python onnx load + save", peak_rss([sys.executable, "-c", PEER, model, os.path.join(work, "peer.onnx")])),
    ]
    identical = sha(model + ".data") == sha(out + ".data")
    peer_rss = rows[2][1][0]
    print(f"{'command':34} {'peak RSS':>12} {'vs peer':>8} {'seconds':>8}")
    for name, (rss, secs) in rows:
        print(f"{name:34} {rss / (1 << 20):9.0f} MiB {rss / peer_rss:8.3f} {secs:8.1f}")
    print(f"round-trip weights byte-identical: {identical}")
    if not args.workdir:
        for f in os.listdir(work):
            os.remove(os.path.join(work, f))
        os.rmdir(work)


if __name__ == "__main__":
    main()
