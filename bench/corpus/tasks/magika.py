"""Magika 1.0.3 (Google): file content-type detection from the first and last bytes.

Model: magika/models/standard_v3_3/model.onnx from the PyPI wheel, exported by
tf2onnx 1.16.1 at opset 15 (plus ai.onnx.ml 2). Weights are ordinary initializers
(about 785k parameters: a byte embedding, one Conv, attention-style pooling, dense
layers). Input bytes int32 [N, 2048]; output target_label float32 [N, 214], softmax
over the content types of the model's config (target_labels_space).

Features, as magika's Python package builds them for this model (config.min.json:
beg_size 1024, mid_size 0, end_size 1024, block_size 4096, padding_token 256):
the first min(4096, size) bytes with leading ASCII whitespace stripped, cut to 1024
and padded on the right with 256; the last min(4096, size) bytes with trailing
whitespace stripped, last 1024 kept, padded on the left with 256; the two
concatenated. Files whose 8th feature byte would be padding are not sent to the
model by magika, so they are not used here.

Data: real files of this machine under /usr and /etc (not /usr/local/lib or
/usr/local/bin, where ad-hoc installs land), grouped into
content types whose true kind is known from the file's extension, confirmed by its
magic number for binary formats (ELF, PNG, GIF, JPEG, gzip, zip, jar, TrueType,
PostScript, ONNX protobuf is by extension only). The true label is that kind mapped
to magika's label name; magika's own fp32 prediction is NOT used as the label.
Files are ranked per type by the SHA-1 of their path (deterministic on a given
machine; the set depends on what is installed), files with identical features are
dropped, and per type the first 3 go to calibration and the next 8 to evaluation,
so the two sets are disjoint.

Files written to out_dir:
  calib.npz  bytes int32 [S, 1, 2048] (about 100 samples)
  eval.npz   bytes int32 [S, 1, 2048], labels int64 [S] = index of the true type in
             the model's 214 outputs (so plain top-1 accuracy is the metric)
  refs.json  the chosen files (path, sha256, true label, split) and the label space

metric(): top-1 accuracy of argmax(target_label) against the true labels.
"""
import hashlib
import json
import os

import numpy as np

NAME = "magika"
PACKAGE = ("magika", "1.0.3")
MEMBER = "magika/models/standard_v3_3/model.onnx"
SHA256 = "fe2d2eb49c5f88a9e0a6c048e15d6ffdf86235519c2afc535044de433169ec8c"
PRODUCER = "tf2onnx 1.16.1 (magika 1.0.3, standard_v3_3), opset 15"
TASK = "file content-type detection (214 types) from 1024 leading + 1024 trailing bytes"
METRIC = "top-1 accuracy vs the files' true types"
REQUIRES = []

BEG_SIZE, END_SIZE, BLOCK_SIZE, PADDING = 1024, 1024, 4096, 256
MIN_SIZE_FOR_DL = 8
MIN_FILE_BYTES = 256
N_CALIB, N_EVAL = 3, 8
ROOTS = ["/usr", "/etc"]
SKIP_DIRS = ["/usr/local/lib", "/usr/local/bin"]  # pip installs and ad-hoc binaries vary
WHITESPACE = b" \t\n\r\x0b\x0c"  # what Python's bytes.strip() removes

# magika label -> (file extensions, magic prefixes or None). A file belongs to a type
# when its extension matches and, for binary formats, its first bytes match one prefix.
TYPES = {
    "python": ([".py"], None),
    "pythonbytecode": ([".pyc"], None),
    "c": ([".c"], None),
    "cpp": ([".cpp", ".cc", ".hpp"], None),
    "go": ([".go"], None),
    "javascript": ([".js"], None),
    "json": ([".json"], None),
    "yaml": ([".yaml", ".yml"], None),
    "xml": ([".xml"], None),
    "html": ([".html"], None),
    "svg": ([".svg"], None),
    "markdown": ([".md"], None),
    "rst": ([".rst"], None),
    "csv": ([".csv"], None),
    "shell": ([".sh"], None),
    "perl": ([".pm"], None),
    "cmake": ([".cmake"], None),
    "sql": ([".sql"], None),
    "php": ([".php"], None),
    "css": ([".css"], None),
    "tcl": ([".tcl"], None),
    "pem": ([".pem"], [b"-----BEGIN"]),
    "proto": ([".proto"], None),
    "m4": ([".m4"], None),
    "powershell": ([".ps1"], None),
    "batch": ([".bat"], None),
    "postscript": ([".ps", ".eps"], [b"%!"]),
    "png": ([".png"], [b"\x89PNG\r\n\x1a\n"]),
    "gif": ([".gif"], [b"GIF87a", b"GIF89a"]),
    "jpeg": ([".jpg", ".jpeg"], [b"\xff\xd8\xff"]),
    "gzip": ([".gz"], [b"\x1f\x8b"]),
    "zip": ([".zip", ".whl"], [b"PK\x03\x04"]),
    "jar": ([".jar"], [b"PK\x03\x04"]),
    "elf": ([".so"], [b"\x7fELF"]),
    "ttf": ([".ttf"], [b"\x00\x01\x00\x00", b"true"]),
    "onnx": ([".onnx"], None),
}


def _features(head: bytes, tail: bytes) -> np.ndarray:
    """head/tail: the first and last min(4096, size) bytes of the file."""
    beg = head.lstrip(WHITESPACE)[:BEG_SIZE]
    end = tail.rstrip(WHITESPACE)
    end = end[max(0, len(end) - END_SIZE):]
    out = np.full(BEG_SIZE + END_SIZE, PADDING, dtype=np.int32)
    out[:len(beg)] = np.frombuffer(beg, dtype=np.uint8)
    out[BEG_SIZE + END_SIZE - len(end):] = np.frombuffer(end, dtype=np.uint8)
    return out


def features(data: bytes) -> np.ndarray:
    """The model's 2048 int32 inputs for a file's content (magika's rule for this model)."""
    n = min(BLOCK_SIZE, len(data))
    return _features(data[:n], data[len(data) - n:])


def _file_features(path):
    size = os.path.getsize(path)
    n = min(BLOCK_SIZE, size)
    with open(path, "rb") as f:
        head = f.read(n)
        f.seek(size - n)
        tail = f.read(n)
    return _features(head, tail), head


def _candidates():
    by_ext = {}
    for label, (exts, _) in TYPES.items():
        for e in exts:
            by_ext[e] = label
    found = {label: [] for label in TYPES}
    for root in ROOTS:
        for dp, dn, fn in os.walk(root):
            dn[:] = sorted(d for d in dn if os.path.join(dp, d) not in SKIP_DIRS)
            for f in fn:
                ext = os.path.splitext(f)[1].lower()
                label = by_ext.get(ext)
                if label is None:
                    continue
                p = os.path.join(dp, f)
                try:
                    if os.path.islink(p) or not os.path.isfile(p) or os.path.getsize(p) < MIN_FILE_BYTES:
                        continue
                except OSError:
                    continue
                found[label].append(p)
    return found


def _label_space(model_path):
    """The 214 labels in output order: bench/corpus/data/magika_labels.json, a copy of
    target_labels_space from the wheel's config.min.json (checked against it when the
    config sits beside the model)."""
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "magika_labels.json")
    with open(here) as f:
        labels = json.load(f)
    cfg = os.path.join(os.path.dirname(model_path), "config.min.json")
    if os.path.exists(cfg):
        with open(cfg) as f:
            assert json.load(f)["target_labels_space"] == labels, "magika label space differs from the config"
    return labels


def make_data(model_path: str, out_dir: str) -> None:
    os.makedirs(out_dir, exist_ok=True)
    labels_space = _label_space(model_path)
    index = {l: i for i, l in enumerate(labels_space)}
    found = _candidates()
    calib, ev, ev_labels, refs = [], [], [], []
    seen = set()
    for label in sorted(TYPES):
        magic = TYPES[label][1]
        ranked = sorted(found[label], key=lambda p: hashlib.sha1(p.encode()).hexdigest())
        taken = 0
        for p in ranked:
            if taken >= N_CALIB + N_EVAL:
                break
            try:
                feats, head = _file_features(p)
            except OSError:
                continue
            if magic is not None and not any(head.startswith(m) for m in magic):
                continue
            if feats[MIN_SIZE_FOR_DL - 1] == PADDING:
                continue
            key = hashlib.sha256(feats.tobytes()).hexdigest()
            if key in seen:
                continue
            seen.add(key)
            split = "calib" if taken < N_CALIB else "eval"
            with open(p, "rb") as f:
                digest = hashlib.sha256(f.read()).hexdigest()
            refs.append({"path": p, "sha256": digest, "label": label, "split": split})
            if split == "calib":
                calib.append(feats)
            else:
                ev.append(feats)
                ev_labels.append(index[label])
            taken += 1
    np.savez_compressed(os.path.join(out_dir, "calib.npz"), bytes=np.stack(calib)[:, None, :])
    np.savez_compressed(os.path.join(out_dir, "eval.npz"), bytes=np.stack(ev)[:, None, :],
                        labels=np.array(ev_labels, dtype=np.int64))
    with open(os.path.join(out_dir, "refs.json"), "w") as f:
        json.dump({"labels": labels_space, "files": refs}, f, indent=1)


def predictions(run, out_dir: str) -> np.ndarray:
    ev = np.load(os.path.join(out_dir, "eval.npz"))
    x = ev["bytes"]
    return np.array([int(np.argmax(np.asarray(run({"bytes": x[i]})[0]).reshape(-1))) for i in range(len(x))])


def metric(run, out_dir: str) -> float:
    labels = np.load(os.path.join(out_dir, "eval.npz"))["labels"]
    return float(np.mean(predictions(run, out_dir) == labels))
