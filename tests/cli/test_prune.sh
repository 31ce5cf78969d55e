#!/usr/bin/env bash
# prune end to end: bad input is a usage error before any work (exit 1, nothing
# written); 50% unstructured pruning keeps the Fashion-MNIST sample within 1 point of
# top-1 without fine-tuning; prune is the same run as compress --passes prune{...};
# 2:4 outputs keep the pattern; sparse storage shrinks the file; and every output
# loads and runs in ONNX Runtime, the sparse one giving exactly the dense pruned
# model's outputs (that part prints SKIP without onnxruntime).
set -euo pipefail
BIN=$1; SRC=$2
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
M=$SRC/models/fashion_mnist
SAMPLE=$M/model.onnx

# 1. Usage errors: exit 1, one line naming the problem, no output file.
expect_usage() {
  local pattern=$1; shift
  set +e
  "$BIN" -q prune "$SAMPLE" -o "$TMP/bad.onnx" "$@" > /dev/null 2> "$TMP/err.txt"
  local code=$?
  set -e
  [ "$code" -eq 1 ] || { echo "prune $*: expected exit 1, got $code"; cat "$TMP/err.txt"; exit 1; }
  grep -qF -- "$pattern" "$TMP/err.txt" || { echo "prune $*: expected '$pattern' in:"; cat "$TMP/err.txt"; exit 1; }
  [ "$(wc -l < "$TMP/err.txt")" -eq 1 ] || { echo "prune $*: expected one line:"; cat "$TMP/err.txt"; exit 1; }
  test ! -e "$TMP/bad.onnx"
}
expect_usage "option 'sparsity' must be in [0, 1), got 1" --sparsity 1
expect_usage "option 'sparsity' must be in [0, 1), got 1.5" --sparsity 1.5
expect_usage "N must not exceed M, got 4:2" --granularity n:m --n-m 4:2
expect_usage "'nope' matches no node or weight name" --sparsity 0.5 --per-layer /0/Conv=0.2,nope=0.5
expect_usage "'/2/Relu' names Relu '/2/Relu', which is not pruned" --sparsity 0.5 --per-layer /2/Relu=0.5
expect_usage "--sparsity S is required" --granularity unstructured
expect_usage "--per-layer auto needs --max-drop X and --data DATA" --sparsity 0.5 --per-layer auto
expect_usage "option 'criterion' must be l1, l2 or random" --sparsity 0.5 --criterion l3

# 2. 50% unstructured with the defaults (scope=auto: one global magnitude threshold)
#    costs at most 1 point of top-1.
"$BIN" -q prune "$SAMPLE" -o "$TMP/u50.onnx" --sparsity 0.5 \
  --eval-data "$M/eval.npz" --max-accuracy-drop 1% --report "$TMP/u50.json" > "$TMP/u50.txt"
grep -q "gates: 1 of 1 passed" "$TMP/u50.txt"
/usr/bin/python3 - "$TMP/u50.json" <<'PYEOF'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["gates_passed"] is True, r["gates"]
p = r["passes"][0]
assert p["pass"] == "prune", p
stats = p["statistics"]
# conv 16x1x3x3, conv 32x16x3x3, fc 128x1568, fc 10x128: 206,736 weights, half of them zeroed.
assert stats["layers pruned"] == 4 and stats["weight parameters"] == 206736, stats
assert stats["weights zeroed"] == 103368 and stats["zero fraction (ppm)"] == 500000, stats
assert r["before"]["nonzero_parameters"] - r["after"]["nonzero_parameters"] == 103368, (r["before"], r["after"])
acc = r["quality"]["accuracy"]
assert acc["before"] == 0.896 and acc["after"] >= 0.886, acc
print(f"prune 50% global: top-1 {acc['before']:.3f} -> {acc['after']:.3f}")
PYEOF

# --per-layer auto: the sensitivity analysis picks one sparsity per layer.
"$BIN" -q prune "$SAMPLE" -o "$TMP/auto.onnx" --sparsity 0.5 --per-layer auto --max-drop 1% --data "$M/eval.npz" \
  --json > "$TMP/auto.json"
/usr/bin/python3 - "$TMP/auto.json" <<'PYEOF'
import json, re, sys
p = json.load(open(sys.argv[1]))["passes"][0]
entries = re.search(r"per-layer=(\S*)", p["options"]).group(1).split(",")
assert sorted(e.split("=")[0] for e in entries) == ["/0/Conv", "/11/Gemm", "/4/Conv", "/9/Gemm"], entries
assert all(0 <= float(e.split("=")[1]) < 1 for e in entries), entries
PYEOF

# The same pass through compress gives the same file, byte for byte.
"$BIN" -q compress "$SAMPLE" -o "$TMP/u50_compress.onnx" --passes "prune{sparsity=0.5}" > /dev/null
cmp "$TMP/u50.onnx" "$TMP/u50_compress.onnx"

# 3. 2:4 along the reduction dim: Conv in groups of 4 input channels at each kernel
#    position (TensorRT's layout; the first Conv, 1 input channel, is skipped and counted),
#    Gemm (transB=1) rows of K.
"$BIN" -q prune "$SAMPLE" -o "$TMP/nm.onnx" --granularity n:m --n-m 2:4 --json > "$TMP/nm.json"
/usr/bin/python3 - "$TMP/nm.onnx" "$TMP/nm.json" "$SAMPLE" <<'PYEOF'
import json, sys, numpy as np, onnx
from onnx import numpy_helper
m = onnx.load(sys.argv[1])
w = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
original = {t.name: numpy_helper.to_array(t) for t in onnx.load(sys.argv[3]).graph.initializer}
conv = w["4.weight"]  # [Co, Ci, kh, kw]: groups run along Ci
groups = conv.reshape(conv.shape[0], conv.shape[1] // 4, 4, -1)
assert ((groups != 0).sum(axis=2) == 2).all(), "4.weight: not 2 of every 4 input channels"
assert (w["0.weight"] == original["0.weight"]).all()  # 1 input channel: skipped
for name in ["9.weight", "11.weight"]:
    rows = w[name].reshape(w[name].shape[0], -1)
    for start in range(0, rows.shape[1], 4):
        group = rows[:, start:start + 4]
        keep = -(-2 * group.shape[1] // 4)
        assert ((group != 0).sum(axis=1) <= keep).all(), (name, start)
assert (w["0.bias"] != 0).all() and (w["9.bias"] != 0).all()   # biases untouched
stats = json.load(open(sys.argv[2]))["passes"][0]["statistics"]
assert stats["layers pruned"] == 3, stats
assert stats["Conv weights skipped (input channels not a multiple of M)"] == 1, stats
PYEOF

# 4. Sparse storage: at 90% the big Gemm weight is stored as values + int64 indices.
"$BIN" -q prune "$SAMPLE" -o "$TMP/s90_dense.onnx" --sparsity 0.9 --scope global > /dev/null
"$BIN" -q prune "$SAMPLE" -o "$TMP/s90_sparse.onnx" --sparsity 0.9 --scope global --sparse-storage --json \
  > "$TMP/s90.json"
/usr/bin/python3 - "$TMP/s90_dense.onnx" "$TMP/s90_sparse.onnx" "$TMP/s90.json" <<'PYEOF'
import json, os, sys, numpy as np, onnx
from onnx import numpy_helper
dense_path, sparse_path, report = sys.argv[1:]
m = onnx.load(sparse_path)
onnx.checker.check_model(m)
assert len(m.graph.sparse_initializer) >= 1, "no sparse_initializer"
dense = {t.name: numpy_helper.to_array(t) for t in onnx.load(dense_path).graph.initializer}
for s in m.graph.sparse_initializer:
    assert s.indices.data_type == onnx.TensorProto.INT64 and len(s.indices.dims) == 1, s.indices.dims
    values, indices = numpy_helper.to_array(s.values), numpy_helper.to_array(s.indices)
    assert (np.diff(indices) > 0).all()
    restored = np.zeros(int(np.prod(s.dims)), values.dtype)
    restored[indices] = values
    assert np.array_equal(restored.reshape(tuple(s.dims)), dense[s.values.name]), s.values.name
assert "9.weight" in {s.values.name for s in m.graph.sparse_initializer}
assert os.path.getsize(sparse_path) < 0.5 * os.path.getsize(dense_path), "sparse file not smaller"
r = json.load(open(report))
assert r["passes"][0]["statistics"]["sparse initializers"] >= 1, r["passes"][0]["statistics"]
assert r["after"]["file_bytes"] < 0.5 * r["before"]["file_bytes"], (r["before"], r["after"])
PYEOF

# 5. The other granularities, on the ResNet-style and BERT-style parity models.
PARITY=$SRC/models/parity
"$BIN" -q prune "$PARITY/resnet_small.onnx" -o "$TMP/resnet_layer.onnx" --granularity layer --sparsity 0.5 > /dev/null
"$BIN" -q prune "$PARITY/resnet_small.onnx" -o "$TMP/resnet_channel.onnx" --granularity channel --sparsity 0.25 \
  > /dev/null
"$BIN" -q prune "$PARITY/resnet_small.onnx" -o "$TMP/resnet_nm.onnx" --granularity n:m > /dev/null
"$BIN" -q prune "$PARITY/bert_tiny.onnx" -o "$TMP/bert_head.onnx" --granularity head --sparsity 0.5 > /dev/null
"$BIN" -q prune "$PARITY/bert_tiny.onnx" -o "$TMP/bert_neuron.onnx" --granularity neuron --sparsity 0.25 > /dev/null
"$BIN" -q prune "$PARITY/bert_tiny.onnx" -o "$TMP/bert_u.onnx" --sparsity 0.5 --sparse-storage > /dev/null

# 6. ONNX Runtime loads and runs every output (and agrees with the built-in runtime).
source "$SRC/tests/cli/ort_python.sh"
"$PY" "$SRC/tests/cli/ort_parity.py" "$BIN" "$TMP"/u50.onnx "$TMP"/nm.onnx "$TMP"/s90_sparse.onnx \
  "$TMP"/resnet_*.onnx "$TMP"/bert_*.onnx
"$PY" - "$TMP/s90_dense.onnx" "$TMP/s90_sparse.onnx" "$M/eval.npz" <<'PYEOF'
import sys, numpy as np, onnxruntime as ort
dense, sparse = (ort.InferenceSession(p, providers=["CPUExecutionProvider"]) for p in sys.argv[1:3])
x = np.load(sys.argv[3])["input"][:64, 0]
a = dense.run(None, {"input": x})[0]
b = sparse.run(None, {"input": x})[0]
assert np.array_equal(a, b), float(np.abs(a - b).max())
print("sparse storage: ONNX Runtime gives the dense pruned model's outputs exactly")
PYEOF
echo "prune: all checks passed"
