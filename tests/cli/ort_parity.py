"""Runs models through `onnxpress run` and ONNX Runtime on the same random inputs
and checks every output agrees: |ours - ort| <= 1e-4 * max|ort| (elementwise,
relative to the output's scale), and equal for integer outputs.

Usage: python ort_parity.py ONNXPRESS MODEL...   (needs numpy and onnxruntime)
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnxruntime as ort

DIMS = {"batch": 2, "batch_size": 2, "sequence": 16}
NUMPY = {"tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(int64)": np.int64,
         "tensor(int32)": np.int32, "tensor(bool)": np.bool_}


def make_input(meta, rng):
    shape = [d if isinstance(d, int) else DIMS.get(d, 2) for d in meta.shape]
    dtype = NUMPY[meta.type]
    name = meta.name.lower()
    if dtype in (np.float32, np.float64):
        return rng.standard_normal(shape).astype(dtype)
    if "mask" in name:
        m = np.ones(shape, dtype=dtype)
        m[..., -3:] = 0  # padded positions
        return m
    if "type" in name or dtype == np.bool_:
        return rng.integers(0, 2, shape).astype(dtype)
    if name in ("use_then",):
        return np.array(True)
    return rng.integers(0, 400, shape).astype(dtype)


def main():
    binary, models = sys.argv[1], sys.argv[2:]
    failures = 0
    for path in models:
        sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        rng = np.random.default_rng(0)
        feeds = {i.name: make_input(i, rng) for i in sess.get_inputs()}
        expected = sess.run(None, feeds)
        with tempfile.TemporaryDirectory() as tmp:
            args = [binary, "-q", "run", path, "--output-dir", tmp]
            for name, value in feeds.items():
                f = os.path.join(tmp, f"in_{len(args)}.npy")
                np.save(f, value)
                args += ["--input", f"{name}={f}"]
            run = subprocess.run(args, capture_output=True, text=True)
            if run.returncode != 0:
                print(f"FAIL {os.path.basename(path)}: onnxpress run exited {run.returncode}: {run.stderr.strip()}")
                failures += 1
                continue
            worst = 0.0
            ok = True
            for meta, ref in zip(sess.get_outputs(), expected):
                ours = np.load(os.path.join(tmp, meta.name + ".npy"))
                if ours.shape != ref.shape or ours.dtype != ref.dtype:
                    print(f"FAIL {os.path.basename(path)} output {meta.name}: {ours.dtype}{ours.shape} vs ORT {ref.dtype}{ref.shape}")
                    ok = False
                    continue
                if not np.issubdtype(ref.dtype, np.floating):
                    ok &= bool(np.array_equal(ours, ref))
                    continue
                scale = max(float(np.max(np.abs(ref))), 1e-30)
                err = float(np.max(np.abs(ours.astype(np.float64) - ref))) / scale
                worst = max(worst, err)
                ok &= err <= 1e-4
        status = "ok  " if ok else "FAIL"
        print(f"{status} {os.path.basename(path)}: max error {worst:.2e} of output scale")
        failures += not ok
    print(f"ort parity: {len(models) - failures} of {len(models)} models agree")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
