"""Runs `onnxpress compress --passes PIPELINE` on each model and checks in ONNX
Runtime that the simplified model gives the original's outputs: for float outputs
|simplified - original| <= 1e-5 * max(1, max|original|) elementwise, equality
otherwise. Inputs come from the model's test_data_set_0 when it has one (the
libonnx-testdata layout), else from seeded random data.

Usage: python simplify_equivalence.py ONNXPRESS PIPELINE MODEL...   (needs numpy, onnx, onnxruntime)
Prints one line per model with node counts before -> after, then a total line.
Models that ONNX Runtime itself cannot run (ops of opset < 7, which ORT dropped) are
compared in the built-in runtime instead (`onnxpress run`) and counted separately.
"""
import glob
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ort_parity import make_input  # noqa: E402

TOLERANCE = 1e-5


def feeds_for(path, sess):
    pbs = sorted(glob.glob(os.path.join(os.path.dirname(path), "test_data_set_0", "input_*.pb")))
    if sess is None:  # names from the model itself
        graph = onnx.load(path, load_external_data=False).graph
        initializers = {t.name for t in graph.initializer}
        names = [i.name for i in graph.input if i.name not in initializers]
        if len(pbs) != len(names):
            raise SystemExit(f"{path}: no test_data_set_0 inputs for the built-in fallback")
        return {n: numpy_helper.to_array(onnx.load_tensor(pb)) for n, pb in zip(names, pbs)}
    inputs = sess.get_inputs()
    if pbs and len(pbs) == len(inputs):
        feeds = {}
        for meta, pb in zip(inputs, pbs):
            t = onnx.TensorProto()
            with open(pb, "rb") as f:
                t.ParseFromString(f.read())
            feeds[meta.name] = numpy_helper.to_array(t)
        return feeds
    rng = np.random.default_rng(0)
    return {i.name: make_input(i, rng) for i in inputs}


def same(ref, ours):
    """(identical within TOLERANCE, error relative to the output's scale); NaN matches NaN."""
    if ours.shape != ref.shape or ours.dtype != ref.dtype:
        return False, float("inf")
    if not np.issubdtype(ref.dtype, np.floating):
        return bool(np.array_equal(ours, ref)), 0.0
    if ref.size == 0:
        return True, 0.0
    nan_ref, nan_ours = np.isnan(ref), np.isnan(ours)
    if not np.array_equal(nan_ref, nan_ours):
        return False, float("inf")
    a, b = ref[~nan_ref].astype(np.float64), ours[~nan_ours].astype(np.float64)
    if a.size == 0:
        return True, 0.0
    finite = np.isfinite(a)
    if not np.array_equal(a[~finite], b[~finite]):
        return False, float("inf")
    scale = max(1.0, float(np.max(np.abs(a[finite]))) if finite.any() else 1.0)
    err = float(np.max(np.abs(b[finite] - a[finite]))) / scale if finite.any() else 0.0
    return err <= TOLERANCE, err


def run_builtin(binary, path, feeds, tmp):
    """Outputs of `onnxpress run` (in graph output order)."""
    outdir = tempfile.mkdtemp(dir=tmp)
    args = [binary, "-q", "run", path, "--output-dir", outdir]
    for i, (name, value) in enumerate(feeds.items()):
        f = os.path.join(outdir, f"in_{i}.npy")
        np.save(f, value)
        args += ["--input", f"{name}={f}"]
    subprocess.run(args, check=True, capture_output=True)
    names = [o.name for o in onnx.load(path, load_external_data=False).graph.output]
    return [np.load(os.path.join(outdir, n + ".npy")) for n in names]


def count_nodes(path):
    return len(onnx.load(path, load_external_data=False).graph.node)


def main():
    binary, pipeline, models = sys.argv[1], sys.argv[2], sys.argv[3:]
    failures, fallback_count, before_total, after_total = 0, 0, 0, 0
    for path in models:
        label = os.path.basename(os.path.dirname(path)) if os.path.basename(path) == "model.onnx" else os.path.basename(path)
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "simplified.onnx")
            run = subprocess.run([binary, "-q", "compress", path, "-o", out, "--passes", pipeline],
                                 capture_output=True, text=True)
            if run.returncode != 0:
                print(f"FAIL {label}: compress exited {run.returncode}: {run.stderr.strip()}")
                failures += 1
                continue
            options = ort.SessionOptions()
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
            options.log_severity_level = 3
            runner, simplified = "ort", None
            try:
                original = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
                try:
                    simplified = ort.InferenceSession(out, options, providers=["CPUExecutionProvider"])
                except Exception as e:  # noqa: BLE001
                    print(f"FAIL {label}: ONNX Runtime rejects the simplified model: {str(e).splitlines()[0]}")
                    failures += 1
                    continue
                feeds = feeds_for(path, original)
                expected = original.run(None, feeds)
                got = simplified.run(None, feeds)
            except Exception as e:  # noqa: BLE001
                if simplified is not None:
                    raise
                # ORT dropped these old opsets (< 7); compare in the built-in runtime instead.
                runner = "built-in"
                fallback_count += 1
                feeds = feeds_for(path, None)
                expected = run_builtin(binary, path, feeds, tmp)
                got = run_builtin(binary, out, feeds, tmp)
            ok, worst = len(expected) == len(got) and len(expected) > 0, 0.0
            for ref, ours in zip(expected, got):
                ok_one, err = same(ref, ours)
                ok &= ok_one
                worst = max(worst, err)
            before, after = count_nodes(path), count_nodes(out)
            before_total += before
            after_total += after
            print(f"{'ok  ' if ok else 'FAIL'} {label}: nodes {before} -> {after}, max error {worst:.1e} ({runner})")
            failures += not ok
    print(f"simplify equivalence: {len(models) - failures} of {len(models)} models identical within {TOLERANCE} "
          f"({len(models) - fallback_count} in ONNX Runtime, {fallback_count} with opset < 7 that ORT no longer "
          f"runs in the built-in runtime); nodes {before_total} -> {after_total}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
