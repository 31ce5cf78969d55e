"""Checks quantized models the way a user's deployment would see them.

For each QUANTIZED=FLOAT pair:
  1. onnx.checker (full check) where the installed onnx knows the model's IR
     version and opsets; otherwise says it was skipped and why;
  2. ONNX Runtime loads and runs it (CPU EP, all graph optimizations on, so its
     QDQ fusions see the graph);
  3. in ONNX Runtime, the quantized outputs stay close to the float model's:
     SNR >= MIN_SNR dB (a wrong axis, block layout or bias scale gives ~0 dB);
  4. `onnxpress run` (the built-in runtime) agrees with ONNX Runtime on the
     quantized model: SNR of ours against ORT's >= 25 dB (both implement the same
     integer ops, but ORT fuses QDQ groups into other kernels, so results may differ
     by a rounding step per requantization; a layout error gives ~0 dB). This ORT
     session sets session.x64quantprecision: on x86 CPUs without VNNI, ORT's u8s8
     GEMM sums pairs of products in int16 (vpmaddubsw) and saturates, which is not
     the ONNX semantics (bert_dyn: 23 dB instead of 140 dB against ours). Step 3
     keeps ORT's default, since that is what a deployment on such a CPU sees.

Inputs are random (ort_parity.make_input) or, with QUANTIZED=FLOAT@DATA, the first
sample of DATA: static models are calibrated for their data's range, and random
normal inputs far outside it would measure clipping, not the quantizer.

Usage: python quantize_check.py ONNXPRESS MIN_SNR QUANTIZED=FLOAT[@DATA] ...
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ort_parity import make_input  # noqa: E402


def checker(path):
    model = onnx.load(path, load_external_data=False)
    newest_opset = onnx.defs.onnx_opset_version()
    opset = max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=0)
    if model.ir_version > onnx.IR_VERSION or opset > newest_opset:
        return f"checker skipped (onnx {onnx.__version__} knows IR <= {onnx.IR_VERSION}, opset <= {newest_opset})"
    onnx.checker.check_model(path, full_check=True)
    return "checker ok"


def snr_db(reference, value):
    reference = reference.astype(np.float64)
    noise = np.sum((reference - value.astype(np.float64)) ** 2)
    return 200.0 if noise == 0 else 10 * np.log10(np.sum(reference ** 2) / noise)


def escaped(name):
    """The file name `onnxpress run` gives an output (see its --output-dir help)."""
    return "".join(c if (c.isascii() and c.isalnum()) or c in "-_" or (c == "." and i > 0)
                   else "".join(f"%{b:02X}" for b in c.encode()) for i, c in enumerate(name))


def run_ours(binary, path, feeds, workdir):
    args = [binary, "-q", "run", path, "-d", workdir]
    for name, value in feeds.items():
        file = os.path.join(workdir, f"in_{len(args)}.npy")
        np.save(file, value)
        args += ["-i", f"{name}={file}"]
    subprocess.run(args, check=True)


def main():
    binary, min_snr, pairs = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
    failures = 0
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    precise = ort.SessionOptions()
    precise.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    precise.add_session_config_entry("session.x64quantprecision", "1")
    for pair in pairs:
        quantized, reference = pair.split("=")
        reference, _, data = reference.partition("@")
        name = os.path.basename(quantized)
        try:
            note = checker(quantized)
            q = ort.InferenceSession(quantized, options, providers=["CPUExecutionProvider"])
            f = ort.InferenceSession(reference, providers=["CPUExecutionProvider"])
            rng = np.random.default_rng(0)
            if data:
                arrays = np.load(data)
                feeds = {i.name: arrays[i.name][0] for i in f.get_inputs()}
            else:
                feeds = {i.name: make_input(i, rng) for i in f.get_inputs()}
            # fp16 models without keep-io-types take 16-bit inputs.
            q_feeds = {}
            for i in q.get_inputs():
                value = feeds[i.name]
                if i.type == "tensor(float16)":
                    value = value.astype(np.float16)
                q_feeds[i.name] = value
            q_out = q.run(None, q_feeds)
            f_out = f.run(None, feeds)
            worst = min(snr_db(r, v) for r, v in zip(f_out, q_out) if np.issubdtype(r.dtype, np.floating))
            if worst < min_snr:
                raise AssertionError(f"ONNX Runtime output SNR {worst:.1f} dB < {min_snr} dB against the float model")
            q_precise = ort.InferenceSession(quantized, precise, providers=["CPUExecutionProvider"])
            with tempfile.TemporaryDirectory() as workdir:
                run_ours(binary, quantized, q_feeds, workdir)
                agreement = 200.0
                for meta, theirs in zip(q_precise.get_outputs(), q_precise.run(None, q_feeds)):
                    ours = np.load(os.path.join(workdir, escaped(meta.name) + ".npy"))
                    agreement = min(agreement, snr_db(theirs, ours))
                if agreement < 25:
                    raise AssertionError(f"onnxpress run differs from ONNX Runtime: SNR {agreement:.1f} dB < 25 dB")
            print(f"ok   {name}: {note}; ORT SNR vs float {worst:.1f} dB; onnxpress run vs ORT {agreement:.1f} dB")
        except Exception as e:  # one line per failing model, then carry on
            failures += 1
            print(f"FAIL {name}: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
