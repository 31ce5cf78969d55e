#!/usr/bin/env python3
"""Evaluate models/fashion_mnist/model.onnx on eval.npz with onnxruntime.

Used by train.py (in-process when onnxruntime is importable, otherwise run as a
subprocess with a Python that has onnxruntime, e.g. the repo's .venv). Needs
only numpy and onnxruntime, not torch.

Usage:
    python ort_eval.py MODEL.onnx EVAL.npz [TORCH_LOGITS.npy]

Prints one JSON object on stdout.
"""
import json
import sys

import numpy as np


def evaluate(model_path, eval_path, torch_logits=None):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(model_path), so, providers=["CPUExecutionProvider"])
    in_name = sess.get_inputs()[0].name
    out_name = sess.get_outputs()[0].name

    data = np.load(eval_path)
    x = data["input"]  # [S, 1, 1, 28, 28]: one inference input per sample
    labels = data["labels"]

    # One inference per sample, exactly as the data format describes.
    logits = np.stack([sess.run([out_name], {in_name: x[i]})[0][0] for i in range(x.shape[0])])
    preds = logits.argmax(axis=1)

    # Also check the symbolic batch dimension: run all samples as one batch.
    batched = sess.run([out_name], {in_name: x[:, 0]})[0]
    batched_preds = batched.argmax(axis=1)

    res = {
        "onnxruntime_version": ort.__version__,
        "input_name": in_name,
        "output_name": out_name,
        "num_samples": int(x.shape[0]),
        "onnx_eval_correct": int((preds == labels).sum()),
        "onnx_eval_accuracy": float((preds == labels).mean()),
        "batched_vs_per_sample_top1_agreement": int((batched_preds == preds).sum()),
        "batched_vs_per_sample_max_abs_logit_diff": float(np.abs(batched - logits).max()),
    }
    if torch_logits is not None:
        torch_logits = np.asarray(torch_logits)
        res["onnx_vs_torch_top1_agreement"] = int((torch_logits.argmax(axis=1) == preds).sum())
        res["onnx_vs_torch_max_abs_logit_diff"] = float(np.abs(torch_logits - logits).max())
    return res, logits


def main(argv):
    if len(argv) not in (3, 4):
        print(__doc__, file=sys.stderr)
        return 2
    torch_logits = np.load(argv[3]) if len(argv) == 4 else None
    res, _ = evaluate(argv[1], argv[2], torch_logits)
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
