#!/usr/bin/env bash
# Training passes end to end on the sample: distill recovers a channel-pruned model,
# runs are deterministic, finetune trains on labels, and bad requests fail cleanly.
set -euo pipefail
BIN=$1; SRC=$2
PY=/usr/bin/python3
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
SAMPLE=$SRC/models/fashion_mnist/model.onnx
CALIB=$SRC/models/fashion_mnist/calib.npz   # 256 train images, no labels
EVAL=$SRC/models/fashion_mnist/eval.npz     # 1000 test images with labels

top1() { "$PY" -c "import json,sys; print(json.load(open(sys.argv[1]))['quality']['accuracy']['after'])" "$1"; }

# Pruning alone, then pruning + distill (120 steps on 256 unlabelled images).
"$BIN" -q compress "$SAMPLE" -o "$TMP/pruned.onnx" --passes 'prune{granularity=channel sparsity=0.5}' \
    --eval-data "$EVAL" -n 0 --fidelity-samples 0 --report "$TMP/pruned.json"
"$BIN" -q compress "$SAMPLE" -o "$TMP/distilled.onnx" --threads 2 \
    --passes 'prune{granularity=channel sparsity=0.5},distill{steps=120}' --train-data "$CALIB" \
    --eval-data "$EVAL" -n 0 --fidelity-samples 0 --report "$TMP/distilled.json" --report "$TMP/distilled.html"
pruned=$(top1 "$TMP/pruned.json"); distilled=$(top1 "$TMP/distilled.json")
echo "top-1 after pruning $pruned, after distill $distilled"
"$PY" - "$pruned" "$distilled" "$TMP/distilled.json" <<'PYEOF'
import json, sys
pruned, distilled = float(sys.argv[1]), float(sys.argv[2])
assert distilled >= pruned + 0.15, (pruned, distilled)   # 0.51 -> about 0.8 on this data
j = json.load(open(sys.argv[3]))
p = j["passes"][1]
assert p["pass"] == "distill" and p["statistics"]["steps"] == 120, p
t = p["training"]
assert t["steps"] == 120 and t["train_samples"] == 231 and t["validation_samples"] == 25, t
assert len(t["loss_curve"]) > 10 and t["loss_curve"][-1] < t["loss_curve"][0], t["loss_curve"]
assert j["passes"][0]["accuracy"] < j["passes"][1]["accuracy"], j["passes"]
PYEOF
grep -q 'id="training-loss' "$TMP/distilled.html"
"$PY" "$SRC/tests/cli/report_check.py" schema "$TMP/distilled.json" "$SRC/docs/report.schema.json"

# The distill command: the pruned model as a student of the original.
"$BIN" -q distill "$SAMPLE" -o "$TMP/student.onnx" --student "$TMP/pruned.onnx" --train-data "$CALIB" --steps 60 \
    --eval-data "$EVAL" -n 0 --fidelity-samples 0 --report "$TMP/student.json"
"$PY" - "$TMP/student.json" <<'PYEOF'
import json, sys
j = json.load(open(sys.argv[1]))
assert j["pipeline"].startswith("distill{teacher=") and j["passes"][0]["training"]["steps"] == 60, j["pipeline"]
acc = j["quality"]["accuracy"]
assert acc["after"] >= acc["before"] + 0.1, acc   # before: the untrained student (0.51)
PYEOF
rc=0
"$BIN" -q distill "$SAMPLE" -o "$SAMPLE" --student "$TMP/pruned.onnx" --train-data "$CALIB" 2> "$TMP/err" || rc=$?
[ $rc -eq 1 ] && grep -q "refusing to overwrite the input model" "$TMP/err" || { echo "distill -o TEACHER must be refused"; exit 1; }

# Same seed and threads: the same bytes.
"$BIN" -q compress "$SAMPLE" -o "$TMP/again.onnx" --threads 2 \
    --passes 'prune{granularity=channel sparsity=0.5},distill{steps=120}' --train-data "$CALIB" -n 0 --fidelity-samples 0
cmp "$TMP/distilled.onnx" "$TMP/again.onnx"

# The output runs in ONNX Runtime when it is installed (checked by the parity tests' Python).
"$PY" - "$TMP/distilled.onnx" <<'PYEOF'
import sys, onnx
onnx.checker.check_model(onnx.load(sys.argv[1]))
PYEOF

# finetune on labels, keeping unstructured sparsity.
"$BIN" -q compress "$SAMPLE" -o "$TMP/sparse.onnx" --passes 'prune{sparsity=0.8}' -n 0 --fidelity-samples 0
"$BIN" -q compress "$SAMPLE" -o "$TMP/ft.onnx" --passes 'prune{sparsity=0.8},finetune{steps=40 batch=16}' \
    --train-data "$EVAL" -n 0 --fidelity-samples 0
"$PY" - "$TMP/ft.onnx" "$TMP/sparse.onnx" <<'PYEOF'
import sys, onnx, numpy as np
from onnx import numpy_helper
tuned = {i.name: numpy_helper.to_array(i) for i in onnx.load(sys.argv[1]).graph.initializer}
pruned = {i.name: numpy_helper.to_array(i) for i in onnx.load(sys.argv[2]).graph.initializer}
for name, w in pruned.items():
    if w.ndim < 2:
        continue
    zero = w == 0
    assert zero.mean() > 0.05, (name, zero.mean())
    assert np.all(tuned[name][zero] == 0), name                   # pruned weights stayed zero
    assert not np.array_equal(tuned[name], w), name + " not trained"
PYEOF

# Bad requests: the documented exit code, one line naming the problem, nothing written.
expect_failure() {  # CODE PATTERN -- compress arguments...
  local code=$1 pattern=$2; shift 3
  local rc=0
  "$BIN" -q compress "$@" -o "$TMP/x.onnx" 2> "$TMP/err" > /dev/null || rc=$?
  if [ "$rc" -ne "$code" ] || ! grep -Eq "$pattern" "$TMP/err" || [ -e "$TMP/x.onnx" ] || [ "$(wc -l < "$TMP/err")" -ne 1 ]; then
    echo "expected exit $code and /$pattern/ without output, got $rc:"; cat "$TMP/err"; exit 1
  fi
}
expect_failure 1 "needs training data: give --train-data" -- "$SAMPLE" --passes distill
expect_failure 1 "has no .labels. array" -- "$SAMPLE" --passes finetune --train-data "$CALIB"
expect_failure 1 "optimizer 'lbfgs'" -- "$SAMPLE" --passes 'distill{optimizer=lbfgs}' --train-data "$CALIB"
expect_failure 2 "loss is .*nan at step 2 .*nothing was written" -- "$SAMPLE" --train-data "$CALIB" -n 0 \
    --passes 'prune{granularity=channel sparsity=0.5},distill{steps=5 lr=1e38 validation=0}'
expect_failure 2 "no 8- or 4-bit weight behind a DequantizeLinear" -- "$SAMPLE" --passes qat --train-data "$CALIB"

# qat after quantize: a valid QDQ model whose integer weights and scales changed, which
# ONNX Runtime runs (where it is installed) with the same top-1 as our runtime.
"$BIN" -q compress "$SAMPLE" -o "$TMP/ptq.onnx" --passes 'quantize{mode=static per-channel=false}' \
    --calib-data "$CALIB" -n 0 --fidelity-samples 0
"$BIN" -q compress "$SAMPLE" -o "$TMP/qat.onnx" --passes 'quantize{mode=static per-channel=false},qat{steps=40}' \
    --calib-data "$CALIB" --train-data "$CALIB" --eval-data "$EVAL" -n 0 --fidelity-samples 0 --report "$TMP/qat.json"
"$PY" - "$TMP/qat.onnx" "$TMP/ptq.onnx" "$TMP/qat.json" <<'PYEOF'
import json, sys, onnx, numpy as np
from onnx import numpy_helper
qat, ptq = onnx.load(sys.argv[1]), onnx.load(sys.argv[2])
onnx.checker.check_model(qat)
assert [n.op_type for n in qat.graph.node] == [n.op_type for n in ptq.graph.node], "graph structure changed"
a = {i.name: numpy_helper.to_array(i) for i in qat.graph.initializer}
b = {i.name: numpy_helper.to_array(i) for i in ptq.graph.initializer}
assert a.keys() == b.keys(), set(a) ^ set(b)
ints = [n for n in a if a[n].dtype == np.int8 and a[n].ndim >= 2]
assert ints and any(not np.array_equal(a[n], b[n]) for n in ints), "no integer weight changed"
scales = [n for n in a if n.endswith("_scale")]
assert any(not np.allclose(a[n], b[n]) for n in scales), "no scale changed"
j = json.load(open(sys.argv[3]))
s = j["passes"][-1]["statistics"]
assert s["weights fake-quantized"] == 4 and s["biases trained and requantized"] == 4, s
assert j["quality"]["accuracy"]["after"] >= 0.85, j["quality"]
PYEOF
ORT_OK=1
( . "$SRC/tests/cli/ort_python.sh" >/dev/null; "$PY" - "$TMP/qat.onnx" "$EVAL" "$TMP/qat.json" <<'PYEOF'
import json, sys, numpy as np, onnxruntime as ort
sess = ort.InferenceSession(sys.argv[1], providers=["CPUExecutionProvider"])
d = np.load(sys.argv[2])
hits = sum(int(np.argmax(sess.run(None, {"input": d["input"][i]})[0]) == d["labels"][i]) for i in range(len(d["labels"])))
ours = json.load(open(sys.argv[3]))["quality"]["accuracy"]["after"]
print(f"qat model: top-1 {hits / len(d['labels']):.4f} in ONNX Runtime, {ours:.4f} in ours")
assert abs(hits / len(d["labels"]) - ours) <= 0.005, (hits, ours)
PYEOF
) || ORT_OK=0
[ $ORT_OK -eq 1 ]

# An op without a gradient between a weight and the output is named before any step.
"$PY" - "$TMP/cos.onnx" <<'PYEOF'
import sys, numpy as np, onnx
from onnx import helper, numpy_helper, TensorProto
w = numpy_helper.from_array(np.linspace(-1, 1, 784 * 10).astype(np.float32).reshape(784, 10), "w")
shape = numpy_helper.from_array(np.array([1, 784], np.int64), "shape")
g = helper.make_graph(
    [helper.make_node("Reshape", ["input", "shape"], ["flat"]), helper.make_node("MatMul", ["flat", "w"], ["h"]),
     helper.make_node("Cos", ["h"], ["logits"], name="the_cos")],
    "g", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 1, 28, 28])],
    [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 10])], [w, shape])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), sys.argv[1])
PYEOF
expect_failure 2 "Cos 'the_cos' \\(Cos\\) is on the path from a trained weight to the loss and has no gradient" -- \
    "$TMP/cos.onnx" --passes 'finetune{steps=2}' --train-data "$EVAL"
echo "training: ok"
