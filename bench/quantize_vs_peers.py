#!/usr/bin/env python3
"""Post-training quantization side by side: onnxpress `quantize` against ONNX
Runtime's quantization tool and NNCF, on the same models, same data, same machine.

    python3 -m venv bench/.venv-peers
    bench/.venv-peers/bin/pip install onnxruntime onnx numpy nncf
    bench/.venv-peers/bin/python bench/quantize_vs_peers.py [--binary build/bin/onnxpress]
        [--models sample resnet transformer bert] [--tools ORT NNCF onnxpress] [--threads 1]
        [--iterations 30] [--warmup 5] [--rounds 3] [--timeout 1800]

Models (made on first use with Debian's torch, `--torch-python`, seeds fixed):
  sample       models/fashion_mnist/model.onnx, the bundled CNN.
  resnet       bench/out/resnet_fmnist.onnx, the ResNet-style CNN trained by
               bench/prune_channels.py (its `train()`, 2 epochs).
  transformer  bench/out/transformer_fmnist.onnx, a BERT-style encoder trained here
               on Fashion-MNIST: each image is a sequence of 28 row tokens of 28
               pixels; Linear embedding to 64 + learned positions + LayerNorm, 2
               post-LN encoder layers (4-head self-attention with Linear q/k/v/out
               projections, GELU FFN 256), mean pooling, Linear classifier. Input
               float32 [batch, 28, 28]; opset 17.
  bert         bench/out/bert_base.onnx from models/parity/make_models.py --bench
               (BERT-base sized, random weights, static [1, 128]). Its outputs have
               no meaning, so it is scored on fidelity to the float model only.

Data (DATA npz files, docs/data-format.md), written to bench/out/ when missing:
  fmnist_calib200.npz            200 Fashion-MNIST TRAIN images (seed 1), input [200,1,1,28,28]
  transformer_fmnist_calib.npz   the same 200 images as sequences, input [200,1,28,28]
  transformer_fmnist_eval.npz    models/fashion_mnist/eval.npz (first 1000 TEST images) as sequences
  bert_base_calib.npz            32 random-token samples [1,128] (seed 1), all-ones attention mask
  bert_base_eval.npz             32 held-out random-token samples (seed 2)
The CNNs are evaluated on models/fashion_mnist/eval.npz.

Tools. Every tool runs in its own child process under /usr/bin/time, which gives
its wall time and peak RSS (the Python tools include interpreter start-up and
imports, as a user running them pays it; the JSON also has the time of the
quantize call alone, measured inside the child):
  ORT static   quant_pre_process (ORT warns without it) then quantize_static: QDQ,
               per_channel=True, activations QUInt8, weights QInt8, MinMax.
  ORT dynamic  quant_pre_process then quantize_dynamic, weights QInt8.
  NNCF         nncf.quantize on the ONNX model with defaults, subset_size = all
               calibration samples, model_type=TRANSFORMER for the two encoders.
               Telemetry off (NNCF_CI=1).
  onnxpress    quantize -n 0 --fidelity-samples 0 (no latency or per-layer measurement
               in the built-in runtime, as the peers do none) --mode static --per-channel
               --calib-method minmax, --mode
               dynamic, and for information --mode weight-only --weight-type int4
               --block-size 32 and --mode fp16. A failing tool is recorded with the
               last line of its stderr; one still running after --timeout s is killed.

Measured for every output, identically: top-1 accuracy on the eval labels (ORT,
one sample per run) or, for BERT-base, cosine similarity and SNR (dB) of each
output against the float model on the held-out samples; size of everything the
tool wrote (bytes and ratio fp32/quantized); ONNX Runtime CPU latency at batch 1
(default graph optimizations, sequential, intra-op threads --threads, median of
--iterations runs after --warmup; the float model and every output are timed in
--rounds alternating rounds and each keeps its lowest median; speedup = fp32
median / quantized median). Prints a Markdown table per model; writes
bench/out/quantize_vs_peers.json.
"""
import argparse
import importlib.util
import json
import math
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "bench", "out")
FMNIST_DIR = os.path.join(ROOT, "models", "fashion_mnist")
sys.path.insert(0, os.path.join(ROOT, "bench"))
sys.path.insert(0, FMNIST_DIR)

FMNIST_EVAL = os.path.join(FMNIST_DIR, "eval.npz")
FMNIST_CALIB = os.path.join(OUT, "fmnist_calib200.npz")
TRANSFORMER = os.path.join(OUT, "transformer_fmnist.onnx")
TRANSFORMER_CALIB = os.path.join(OUT, "transformer_fmnist_calib.npz")
TRANSFORMER_EVAL = os.path.join(OUT, "transformer_fmnist_eval.npz")
RESNET = os.path.join(OUT, "resnet_fmnist.onnx")
BERT = os.path.join(OUT, "bert_base.onnx")
BERT_CALIB = os.path.join(OUT, "bert_base_calib.npz")
BERT_EVAL = os.path.join(OUT, "bert_base_eval.npz")
BERT_VOCAB, BERT_SEQ = 30522, 128  # as exported by models/parity/make_models.py --bench
CALIB_SEED, EVAL_SEED = 1, 2
CALIB_IMAGES, BERT_CALIB_SAMPLES, BERT_EVAL_SAMPLES = 200, 32, 32

# name, label, model, calibration DATA, evaluation DATA, scored by ("accuracy" or "fidelity"), transformer?
MODELS = [
    ("sample", "fashion-mnist sample CNN", os.path.join(FMNIST_DIR, "model.onnx"), FMNIST_CALIB, FMNIST_EVAL,
     "accuracy", False),
    ("resnet", "ResNet-style CNN, Fashion-MNIST", RESNET, FMNIST_CALIB, FMNIST_EVAL, "accuracy", False),
    ("transformer", "transformer encoder, Fashion-MNIST rows", TRANSFORMER, TRANSFORMER_CALIB, TRANSFORMER_EVAL,
     "accuracy", True),
    ("bert", "BERT-base seq 128 (random weights)", BERT, BERT_CALIB, BERT_EVAL, "fidelity", True),
]


# ---------------------------------------------------------------- models (torch)

def train_transformer(epochs, threads):
    """Train the row-token transformer encoder on the 60,000 Fashion-MNIST training
    images and export it to TRANSFORMER (opset 17). Runs under Debian's torch."""
    import torch
    from torch import nn
    from prune_channels import fit
    from train import DEFAULT_DATA_DIR, load_split, normalize

    class EncoderLayer(nn.Module):
        """BERT-style post-LN layer: multi-head self-attention, then a GELU FFN."""

        def __init__(self, d, heads, ffn):
            super().__init__()
            self.heads, self.dh = heads, d // heads
            self.q, self.k, self.v, self.out = (nn.Linear(d, d) for _ in range(4))
            self.norm1, self.norm2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.up, self.down = nn.Linear(d, ffn), nn.Linear(ffn, d)

        def split(self, x):
            return x.reshape(x.shape[0], x.shape[1], self.heads, self.dh).transpose(1, 2)

        def forward(self, x):
            q, k, v = self.split(self.q(x)), self.split(self.k(x)), self.split(self.v(x))
            attn = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.dh), dim=-1)
            ctx = torch.matmul(attn, v).transpose(1, 2).reshape(x.shape)
            x = self.norm1(x + self.out(ctx))
            return self.norm2(x + self.down(nn.functional.gelu(self.up(x))))

    class RowTransformer(nn.Module):
        def __init__(self, d=64, heads=4, ffn=256, layers=2):
            super().__init__()
            self.embed = nn.Linear(28, d)
            self.pos = nn.Parameter(torch.randn(1, 28, d) * 0.02)
            self.norm = nn.LayerNorm(d)
            self.layers = nn.Sequential(*[EncoderLayer(d, heads, ffn) for _ in range(layers)])
            self.fc = nn.Linear(d, 10)

        def forward(self, x):  # [batch, 28 row tokens, 28 pixels]
            h = self.layers(self.norm(self.embed(x) + self.pos))
            return self.fc(h.mean(dim=1))

    torch.manual_seed(0)
    torch.set_num_threads(threads)
    images, labels = load_split(DEFAULT_DATA_DIR, "train")
    x = torch.from_numpy(normalize(images)[:, 0])
    y = torch.from_numpy(labels.astype(np.int64))
    net = RowTransformer()
    steps = epochs * math.ceil(len(x) / 128)
    opt = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=steps, pct_start=0.1)
    fit(net, x, y, opt, epochs, sched, label="transformer epoch")
    test_images, test_labels = load_split(DEFAULT_DATA_DIR, "t10k")
    with torch.no_grad():
        pred = net(torch.from_numpy(normalize(test_images)[:, 0])).argmax(1).numpy()
    print(f"transformer top-1 on the 10,000 test images: {np.mean(pred == test_labels):.2%}", file=sys.stderr)
    os.makedirs(OUT, exist_ok=True)
    torch.onnx.export(net, torch.randn(1, 28, 28), TRANSFORMER, input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, opset_version=17)
    print("wrote", TRANSFORMER, file=sys.stderr)


def make_models(args):
    """Create the selected torch-made models that are missing (run under --torch-python)."""
    wanted = set(args.models or [m[0] for m in MODELS])
    if "resnet" in wanted and not os.path.exists(RESNET):
        from prune_channels import train
        train(2)
    if "transformer" in wanted and not os.path.exists(TRANSFORMER):
        train_transformer(args.transformer_epochs, args.torch_threads)
    if "bert" in wanted and not os.path.exists(BERT):  # also rewrites models/parity/*.onnx, identically (fixed seed)
        subprocess.run([sys.executable, os.path.join(ROOT, "models", "parity", "make_models.py"), "--bench"],
                       check=True)


# ---------------------------------------------------------------- data

def make_data():
    """Write the calibration and evaluation DATA files that are missing."""
    os.makedirs(OUT, exist_ok=True)
    if not all(os.path.exists(p) for p in (FMNIST_CALIB, TRANSFORMER_CALIB, TRANSFORMER_EVAL)):
        from train import DEFAULT_DATA_DIR, load_split, normalize
        images, _ = load_split(DEFAULT_DATA_DIR, "train")
        index = np.sort(np.random.default_rng(CALIB_SEED).choice(len(images), CALIB_IMAGES, replace=False))
        calib = normalize(images[index])  # [200, 1, 28, 28]
        np.savez_compressed(FMNIST_CALIB, input=calib[:, None])  # one [1,1,28,28] image per sample
        np.savez_compressed(TRANSFORMER_CALIB, input=calib)  # one [1,28,28] sequence per sample
        ev = np.load(FMNIST_EVAL)
        np.savez_compressed(TRANSFORMER_EVAL, input=ev["input"][:, :, 0], labels=ev["labels"])
    for path, samples, seed in ((BERT_CALIB, BERT_CALIB_SAMPLES, CALIB_SEED),
                                (BERT_EVAL, BERT_EVAL_SAMPLES, EVAL_SEED)):
        if not os.path.exists(path):
            ids = np.random.default_rng(seed).integers(0, BERT_VOCAB, (samples, 1, BERT_SEQ)).astype(np.int64)
            np.savez_compressed(path, input_ids=ids, attention_mask=np.ones_like(ids),
                                token_type_ids=np.zeros_like(ids))


def load_samples(path):
    """A DATA file as (list of per-sample feed dicts, labels or None)."""
    data = np.load(path)
    names = [n for n in data.files if n != "labels"]
    arrays = {n: data[n] for n in names}
    count = len(arrays[names[0]])
    feeds = [{n: arrays[n][i] for n in names} for i in range(count)]
    return feeds, (data["labels"] if "labels" in data.files else None)


# ---------------------------------------------------------------- peers (child process)

def run_peer(tool, model, out, calib, transformer):
    """Quantize MODEL into OUT with one peer; runs in a child process of its own.
    Prints {"seconds": time of the quantize call} on stdout."""
    samples, _ = load_samples(calib)
    start = time.perf_counter()
    if tool in ("ort-static", "ort-dynamic"):
        from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                              quant_pre_process, quantize_dynamic, quantize_static)

        class Reader(CalibrationDataReader):
            def __init__(self):
                self.samples = iter(samples)

            def get_next(self):
                return next(self.samples, None)

        with tempfile.TemporaryDirectory() as tmp:
            pre = os.path.join(tmp, "preprocessed.onnx")
            quant_pre_process(model, pre)
            if tool == "ort-static":
                quantize_static(pre, out, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                                activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                                calibrate_method=CalibrationMethod.MinMax)
            else:
                quantize_dynamic(pre, out, weight_type=QuantType.QInt8)
    elif tool == "nncf":
        import nncf
        import onnx
        quantized = nncf.quantize(onnx.load(model), nncf.Dataset(samples), subset_size=len(samples),
                                  model_type=nncf.ModelType.TRANSFORMER if transformer else None)
        onnx.save(quantized, out)
    else:
        raise SystemExit(f"unknown peer {tool}")
    print(json.dumps({"seconds": time.perf_counter() - start}))


def tool_commands(binary, model, calib, transformer):
    """name -> function(out) giving the command line that writes the quantized MODEL to OUT."""
    def peer(tool):
        return lambda out: [sys.executable, os.path.abspath(__file__), "--child", tool, model, out, calib] + (
            ["--transformer"] if transformer else [])

    def ours(*options):
        # -n 0 --fidelity-samples 0: no latency runs or per-layer comparison in the built-in
        # runtime, so the tool does what the peers do (quantize and write); the file sizes
        # and parameter counts of its report are still computed.
        return lambda out: [binary, "-q", "quantize", model, "-o", out, "-n", "0", "--fidelity-samples", "0", *options]

    return {
        "ORT static": peer("ort-static"),
        "ORT dynamic": peer("ort-dynamic"),
        "NNCF": peer("nncf"),
        "onnxpress static": ours("--mode", "static", "--per-channel", "--calib-data", calib, "--calib-method",
                                 "minmax"),
        "onnxpress dynamic": ours("--mode", "dynamic"),
        "onnxpress int4 weight-only": ours("--mode", "weight-only", "--weight-type", "int4", "--block-size", "32"),
        "onnxpress fp16": ours("--mode", "fp16"),
    }


# ---------------------------------------------------------------- measurements (parent)

def session(path, threads):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def cast_feeds(sess, feeds):
    """FEEDS converted to the session's input element types (an fp16 model may take float16)."""
    dtypes = {"tensor(float16)": np.float16, "tensor(float)": np.float32}
    types = {i.name: dtypes.get(i.type) for i in sess.get_inputs()}
    return {k: v.astype(types[k]) if types.get(k) else v for k, v in feeds.items()}


def run_all(path, feeds, threads):
    """Outputs of PATH for every sample: list (per output) of arrays [S, ...]."""
    sess = session(path, threads)
    results = [sess.run(None, cast_feeds(sess, f)) for f in feeds]
    return [np.stack([r[i] for r in results]) for i in range(len(results[0]))]


def accuracy(outputs, labels):
    return float(np.mean(outputs[0].reshape(len(labels), -1).argmax(1) == labels))


def fidelity(reference, outputs, names):
    """Per output: mean per-sample cosine similarity and SNR in dB against the reference."""
    result = {}
    for name, ref, got in zip(names, reference, outputs):
        ref = ref.reshape(len(ref), -1).astype(np.float64)
        got = got.reshape(len(got), -1).astype(np.float64)
        cos = np.sum(ref * got, 1) / (np.linalg.norm(ref, axis=1) * np.linalg.norm(got, axis=1) + 1e-30)
        noise = np.sum((ref - got) ** 2)
        snr = 10 * math.log10(np.sum(ref ** 2) / noise) if noise > 0 else float("inf")
        result[name] = {"cosine": float(np.mean(cos)), "snr_db": snr}
    return result


def tree_bytes(directory):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(directory) for f in files)


def cpu_flags():
    flags = set()
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                flags.update(line.split(":", 1)[1].split())
    return sorted(flags & {"avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8"})


def quantize_one(command, out_dir, scoring, ref, eval_feeds, labels, args):
    """Run one tool in a child process (killed after --timeout seconds) and score its output."""
    from simplify_vs_peers import timed
    run, wall, rss = timed(["timeout", "-k", "10", str(args.timeout)] + command)
    out = os.path.join(out_dir, "out.onnx")
    if run.returncode != 0 or not os.path.exists(out):
        lines = (run.stderr.strip() or run.stdout.strip()).splitlines() or [f"exit code {run.returncode}"]
        error = f"timed out after {args.timeout} s" if run.returncode in (124, 137) else lines[-1][:200]
        return {"error": error, "exit_code": run.returncode, "seconds": wall, "peak_rss_mib": rss}
    row = {"bytes": tree_bytes(out_dir), "seconds": wall, "peak_rss_mib": rss, "path": out}
    try:
        row["call_seconds"] = json.loads(run.stdout.strip().splitlines()[-1])["seconds"]
    except (ValueError, IndexError, KeyError, TypeError):
        pass
    try:
        outputs = run_all(out, eval_feeds, args.threads)
    except Exception as e:  # noqa: BLE001 - an output ORT cannot run is a result too
        return {**row, "error": "ORT rejects output: " + str(e).strip().splitlines()[0][:160]}
    if scoring == "accuracy":
        row["accuracy"] = accuracy(outputs, labels)
        row["top1_agreement"] = float(np.mean(outputs[0].reshape(len(labels), -1).argmax(1)
                                              == ref["outputs"][0].reshape(len(labels), -1).argmax(1)))
    else:
        row["fidelity"] = fidelity(ref["outputs"], outputs, ref["output_names"])
    return row


def latencies(paths, feeds, args):
    """Lowest median latency (ms) of each model over alternating rounds."""
    from runtime_vs_ort import ort_median
    best = {k: float("inf") for k in paths}
    typed = {k: cast_feeds(session(p, args.threads), feeds) for k, p in paths.items()}
    for _ in range(args.rounds):
        for key, path in paths.items():
            best[key] = min(best[key], ort_median(path, typed[key], args.threads, args.iterations, args.warmup))
    return best


def bench_model(spec, args):
    """All tools on one model; returns the JSON record."""
    key, label, path, calib, eval_path, scoring, transformer = spec
    eval_feeds, labels = load_samples(eval_path)
    names = [o.name for o in session(path, args.threads).get_outputs()]
    reference = {"outputs": run_all(path, eval_feeds, args.threads), "output_names": names}
    record = {"model": label, "key": key, "path": os.path.relpath(path, ROOT),
              "calibration": os.path.relpath(calib, ROOT), "evaluation": os.path.relpath(eval_path, ROOT),
              "scoring": scoring, "outputs": names, "fp32": {"bytes": os.path.getsize(path)}, "tools": {}}
    if scoring == "accuracy":
        record["fp32"]["accuracy"] = accuracy(reference["outputs"], labels)
    with tempfile.TemporaryDirectory() as tmp:
        paths = {"fp32": path}
        for i, (name, command) in enumerate(tool_commands(args.binary, path, calib, transformer).items()):
            if args.tools and not any(t.lower() in name.lower() for t in args.tools):
                continue
            out_dir = os.path.join(tmp, str(i))
            os.makedirs(out_dir)
            if name == "NNCF" and importlib.util.find_spec("nncf") is None:
                record["tools"][name] = {"error": "nncf is not installed in " + sys.executable}
                continue
            row = quantize_one(command(os.path.join(out_dir, "out.onnx")), out_dir, scoring, reference, eval_feeds,
                               labels, args)
            record["tools"][name] = row
            print(f"  {name}: " + (row.get("error") or f"{row['seconds']:.1f} s"), file=sys.stderr, flush=True)
            if "error" not in row:
                paths[name] = row.pop("path")
            else:
                row.pop("path", None)
        ms = latencies(paths, eval_feeds[0], args)
    record["fp32"]["latency_ms"] = ms["fp32"]
    for name, row in record["tools"].items():
        if name in ms:
            row["latency_ms"] = ms[name]
            row["speedup"] = ms["fp32"] / ms[name]
            row["size_ratio"] = record["fp32"]["bytes"] / row["bytes"]
            if scoring == "accuracy":
                row["accuracy_delta_pp"] = (row["accuracy"] - record["fp32"]["accuracy"]) * 100
    return record


def print_table(record, threads):
    """One Markdown table for one model."""
    fp32 = record["fp32"]
    accuracy_model = record["scoring"] == "accuracy"
    output = record["outputs"][0]
    quality = "top-1 (Δ pp)" if accuracy_model else f"`{output}` cosine / SNR"
    print(f"\n### {record['model']}\n")
    print(f"| tool | {quality} | size (fp32 / q) | ORT latency, {threads} thread(s) (fp32 / q) | quantize time "
          "| peak RSS |")
    print("|---|---:|---:|---:|---:|---:|")
    q0 = f"{fp32['accuracy']:.2%}" if accuracy_model else "reference"
    print(f"| fp32 | {q0} | {fp32['bytes'] / 2**20:.2f} MiB | {fp32['latency_ms']:.3f} ms | | |")
    for name, r in record["tools"].items():
        if "error" in r and "bytes" not in r:
            print(f"| {name} | error: {r['error'].replace('|', '/')} | | | | |")
            continue
        time_rss = f"{r['seconds']:.1f} s | {r['peak_rss_mib']:.0f} MiB"
        if "error" in r:
            print(f"| {name} | {r['error'].replace('|', '/')} | {r['bytes'] / 2**20:.2f} MiB | | {time_rss} |")
            continue
        if accuracy_model:
            q = f"{r['accuracy']:.2%} ({r['accuracy_delta_pp']:+.1f})"
        else:
            f = r["fidelity"][output]
            q = f"{f['cosine']:.5f} / {f['snr_db']:.1f} dB"
        print(f"| {name} | {q} | {r['bytes'] / 2**20:.2f} MiB ({r['size_ratio']:.2f}x) | "
              f"{r['latency_ms']:.3f} ms ({r['speedup']:.2f}x) | {time_rss} |")


def versions():
    """Versions of the packages this Python has (None: not installed)."""
    from importlib import metadata
    found = {"python": sys.version.split()[0]}
    for package in ("onnxruntime", "onnx", "nncf", "numpy"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = None
    return found


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--binary", default=os.path.join(ROOT, "build", "bin", "onnxpress"))
    ap.add_argument("--models", nargs="+", choices=[m[0] for m in MODELS], help="default: all")
    ap.add_argument("--tools", nargs="+", help="only tools whose name contains one of these (e.g. ORT nncf onnxpress)")
    ap.add_argument("--threads", type=int, default=1, help="ORT intra-op threads for latency and evaluation")
    ap.add_argument("--iterations", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--timeout", type=int, default=1800, help="seconds before a quantizing tool is killed")
    ap.add_argument("--torch-python", default="/usr/bin/python3", help="Python with torch, to make missing models")
    ap.add_argument("--transformer-epochs", type=int, default=5)
    ap.add_argument("--torch-threads", type=int, default=1)
    ap.add_argument("--make-models", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--child", nargs=4, metavar=("TOOL", "MODEL", "OUT", "CALIB"), help=argparse.SUPPRESS)
    ap.add_argument("--transformer", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        run_peer(*args.child, args.transformer)
        return
    if args.make_models:
        make_models(args)
        return
    selected = [m for m in MODELS if not args.models or m[0] in args.models]
    if any(not os.path.exists(m[2]) for m in selected):
        subprocess.run([args.torch_python, os.path.abspath(__file__), "--make-models", "--models",
                        *[m[0] for m in selected], "--transformer-epochs", str(args.transformer_epochs),
                        "--torch-threads", str(args.torch_threads)], check=True)
    make_data()
    os.environ["NNCF_CI"] = "1"  # NNCF: no telemetry from the child processes
    results = {"versions": versions(), "cpu_flags": cpu_flags(),
               "settings": {"threads": args.threads, "iterations": args.iterations, "warmup": args.warmup,
                            "rounds": args.rounds, "batch": 1}, "models": []}
    print(f"onnxruntime {results['versions']['onnxruntime']}, nncf {results['versions']['nncf']}, "
          f"CPU {' '.join(results['cpu_flags'])}", file=sys.stderr)
    for spec in selected:
        print(f"{spec[1]}:", file=sys.stderr, flush=True)
        results["models"].append(bench_model(spec, args))
    for record in results["models"]:
        print_table(record, args.threads)
    path = os.path.join(OUT, "quantize_vs_peers.json")
    with open(path, "w") as f:
        json.dump(results, f, indent=1)
    print(f"\nwrote {os.path.relpath(path, ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
