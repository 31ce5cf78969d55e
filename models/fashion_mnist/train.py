#!/usr/bin/env python3
"""Train the bundled Fashion-MNIST sample CNN and export it to ONNX.

Regenerate (from the repository root):

    /usr/bin/python3 models/fashion_mnist/train.py

Needs torch, numpy and onnx (Debian: python3-torch, python3-numpy,
python3-onnx) and the Fashion-MNIST IDX files (Debian: dataset-fashion-mnist,
/usr/share/datasets/fashion-mnist). Nothing is downloaded.

Writes, next to this script:
  model.onnx    opset 13, input "input" [batch,1,28,28] float32 (already
                normalised, see below), output "logits" [batch,10];
                BatchNormalization nodes are kept (not folded into Conv).
  calib.npz     "input" [256,1,1,28,28] float32: 256 TRAIN samples.
  eval.npz      "input" [1000,1,1,28,28] float32 and "labels" [1000] int64:
                the first 1000 TEST samples.
  metrics.json  accuracies, parameter count, versions, command, timings.

Input normalisation (done here, not in the graph): pixels / 255 -> [0,1],
then (x - 0.2860) / 0.3530. The npz files hold normalised tensors, exactly as
the model takes them.

The ONNX model is evaluated with onnxruntime: in-process if this Python has
it, otherwise through ort_eval.py run by another Python that has it
(--ort-python, $ONNXPRESS_ORT_PYTHON, or <repo>/.venv/bin/python).
"""
import argparse
import gzip
import json
import os
import random
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
DEFAULT_DATA_DIR = Path("/usr/share/datasets/fashion-mnist")

MEAN = 0.2860
STD = 0.3530
SEED = 0
CALIB_SEED = 1234
NUM_CALIB = 256
NUM_EVAL = 1000
OPSET = 13
REQUIRED_OPS = {"BatchNormalization", "Conv", "Relu", "MaxPool", "Gemm"}


def read_idx(path):
    """Read a gzip'ed IDX file (ubyte images, magic 2051, or labels, 2049)."""
    with gzip.open(path, "rb") as f:
        buf = f.read()
    magic = struct.unpack(">I", buf[:4])[0]
    if magic == 2051:
        n, rows, cols = struct.unpack(">III", buf[4:16])
        arr = np.frombuffer(buf, dtype=np.uint8, offset=16)
        return arr.reshape(n, rows, cols)
    if magic == 2049:
        (n,) = struct.unpack(">I", buf[4:8])
        return np.frombuffer(buf, dtype=np.uint8, offset=8).reshape(n)
    raise ValueError(f"{path}: unexpected IDX magic {magic}")


def load_split(data_dir, prefix):
    images = read_idx(data_dir / f"{prefix}-images-idx3-ubyte.gz")
    labels = read_idx(data_dir / f"{prefix}-labels-idx1-ubyte.gz")
    assert images.shape[0] == labels.shape[0]
    return images, labels


def normalize(images_u8):
    """uint8 [N,28,28] -> float32 [N,1,28,28], scaled to [0,1] then standardised."""
    x = images_u8.astype(np.float32) / np.float32(255.0)
    x = (x - np.float32(MEAN)) / np.float32(STD)
    return x[:, None, :, :].astype(np.float32)


def build_model(nn):
    return nn.Sequential(
        nn.Conv2d(1, 16, kernel_size=3, padding=1),
        nn.BatchNorm2d(16),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(16, 32, kernel_size=3, padding=1),
        nn.BatchNorm2d(32),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(32 * 7 * 7, 128),
        nn.ReLU(),
        nn.Linear(128, 10),
    )


def predict_logits(torch, model, x, batch_size=1000):
    model.eval()
    outs = []
    with torch.no_grad():
        for i in range(0, x.shape[0], batch_size):
            outs.append(model(torch.from_numpy(x[i:i + batch_size])).numpy())
    return np.concatenate(outs)


def run_ort(model_path, eval_path, torch_logits, ort_python):
    """Evaluate with onnxruntime; returns (result dict or None, note)."""
    try:
        import onnxruntime  # noqa: F401
        sys.path.insert(0, str(HERE))
        import ort_eval
        res, _ = ort_eval.evaluate(model_path, eval_path, torch_logits)
        return res, "onnxruntime in-process"
    except ImportError:
        pass
    candidates = [ort_python, os.environ.get("ONNXPRESS_ORT_PYTHON"), str(REPO / ".venv" / "bin" / "python")]
    for py in candidates:
        if not py or not Path(py).exists():
            continue
        with tempfile.TemporaryDirectory() as td:
            logits_path = Path(td) / "torch_logits.npy"
            np.save(logits_path, torch_logits)
            proc = subprocess.run(
                [py, str(HERE / "ort_eval.py"), str(model_path), str(eval_path), str(logits_path)],
                capture_output=True, text=True,
            )
        if proc.returncode == 0:
            return json.loads(proc.stdout.strip().splitlines()[-1]), f"onnxruntime via {py}"
        print(f"warning: {py} could not run ort_eval.py:\n{proc.stderr}", file=sys.stderr)
    return None, ("onnxruntime not available (install it, e.g. in <repo>/.venv, "
                  "to evaluate the exported ONNX model); ONNX accuracy not measured")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    ap.add_argument("--out-dir", type=Path, default=HERE)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--ort-python", default=None,
                    help="Python with onnxruntime, used if this one lacks it")
    args = ap.parse_args()

    import torch
    import torch.nn as nn
    import onnx

    torch.set_num_threads(args.threads)
    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    torch.use_deterministic_algorithms(True)

    out = args.out_dir
    out.mkdir(parents=True, exist_ok=True)

    train_u8, train_y = load_split(args.data_dir, "train")
    test_u8, test_y = load_split(args.data_dir, "t10k")
    x_train, x_test = normalize(train_u8), normalize(test_u8)
    y_train = train_y.astype(np.int64)
    y_test = test_y.astype(np.int64)
    print(f"train {x_train.shape}, test {x_test.shape}")

    # --- data files -------------------------------------------------------
    calib_idx = np.sort(np.random.default_rng(CALIB_SEED).choice(x_train.shape[0], NUM_CALIB, replace=False))
    calib = x_train[calib_idx][:, None]  # [256,1,1,28,28]: one batch-of-1 input per sample
    eval_x = x_test[:NUM_EVAL][:, None]  # [1000,1,1,28,28]
    eval_y = y_test[:NUM_EVAL]
    np.savez_compressed(out / "calib.npz", input=calib)
    np.savez_compressed(out / "eval.npz", input=eval_x, labels=eval_y)

    # --- training ---------------------------------------------------------
    model = build_model(nn)
    n_params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(SEED)
    xt, yt = torch.from_numpy(x_train), torch.from_numpy(y_train)

    t0 = time.time()
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(xt.shape[0], generator=gen)
        total, n = 0.0, 0
        for i in range(0, xt.shape[0], args.batch_size):
            idx = perm[i:i + args.batch_size]
            opt.zero_grad()
            loss = loss_fn(model(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
            total += loss.item() * idx.shape[0]
            n += idx.shape[0]
        acc = float((predict_logits(torch, model, x_test).argmax(1) == y_test).mean())
        print(f"epoch {epoch + 1}/{args.epochs}: train loss {total / n:.4f}, "
              f"test acc {acc:.4f}, {time.time() - t0:.1f}s")
    train_time = time.time() - t0

    model.eval()
    test_logits = predict_logits(torch, model, x_test)
    torch_test_acc = float((test_logits.argmax(1) == y_test).mean())
    torch_eval_logits = test_logits[:NUM_EVAL]
    torch_eval_acc = float((torch_eval_logits.argmax(1) == eval_y).mean())

    # --- ONNX export (BatchNormalization kept: PRESERVE + eval mode) --------
    model_path = out / "model.onnx"
    torch.onnx.export(
        model,
        torch.from_numpy(eval_x[0]),
        str(model_path),
        export_params=True,
        opset_version=OPSET,
        training=torch.onnx.TrainingMode.PRESERVE,
        do_constant_folding=False,
        input_names=["input"],
        output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
    )
    m = onnx.load(str(model_path))
    onnx.checker.check_model(m, full_check=True)
    op_types = [n.op_type for n in m.graph.node]
    missing = REQUIRED_OPS - set(op_types)
    if missing or not ({"Flatten", "Reshape"} & set(op_types)):
        raise SystemExit(f"exported graph lacks ops {sorted(missing)} (has {op_types})")
    # fuse-bn needs each BatchNormalization's scale/bias/mean/var as plain
    # initializers (the exporter may otherwise route equal tensors through
    # Identity nodes, as it does for an untrained model's BN statistics).
    init_names = {i.name for i in m.graph.initializer}
    for node in m.graph.node:
        if node.op_type == "BatchNormalization" and not set(node.input[1:5]) <= init_names:
            raise SystemExit(f"BatchNormalization {node.name}: inputs {list(node.input[1:])} are not all initializers")
    in_dims = [d.dim_param or d.dim_value for d in m.graph.input[0].type.tensor_type.shape.dim]
    out_dims = [d.dim_param or d.dim_value for d in m.graph.output[0].type.tensor_type.shape.dim]
    assert m.graph.input[0].name == "input" and in_dims == ["batch", 1, 28, 28], in_dims
    assert m.graph.output[0].name == "logits" and out_dims == ["batch", 10], out_dims
    opset = next(o.version for o in m.opset_import if o.domain in ("", "ai.onnx"))
    print(f"ONNX: ir_version {m.ir_version}, opset {opset}, ops {op_types}")

    # --- ONNX evaluation with onnxruntime --------------------------------
    ort_res, ort_note = run_ort(model_path, out / "eval.npz", torch_eval_logits, args.ort_python)
    print(ort_note)

    metrics = {
        "torch_test_top1_accuracy_10k": torch_test_acc,
        "torch_eval_top1_accuracy_1000": torch_eval_acc,
        "onnx_eval_top1_accuracy_1000": ort_res["onnx_eval_accuracy"] if ort_res else None,
        "onnx_vs_torch_top1_agreement_1000": ort_res["onnx_vs_torch_top1_agreement"] if ort_res else None,
        "onnx_vs_torch_max_abs_logit_diff": ort_res["onnx_vs_torch_max_abs_logit_diff"] if ort_res else None,
        "onnx_eval_note": ort_note,
        "onnxruntime": ort_res,
        "parameter_count": n_params,
        "torch_version": torch.__version__,
        "onnx_version": onnx.__version__,
        "numpy_version": np.__version__,
        "python_version": sys.version.split()[0],
        "command": " ".join([sys.executable] + sys.argv),
        "training_wall_time_s": round(train_time, 1),
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "learning_rate": args.lr,
        "optimizer": "Adam",
        "torch_threads": args.threads,
        "seed": SEED,
        "calib_train_indices_seed": CALIB_SEED,
        "normalization": {"scale": "1/255", "mean": MEAN, "std": STD},
        "onnx_opset": opset,
        "onnx_ir_version": m.ir_version,
        "onnx_op_types": op_types,
    }
    with open(out / "metrics.json", "w") as f:
        json.dump(metrics, f, indent=2)
        f.write("\n")
    print(json.dumps(metrics, indent=2))


if __name__ == "__main__":
    main()
