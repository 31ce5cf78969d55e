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

# Bad requests: exit 1 with one line naming the problem; nothing written.
set +e
"$BIN" -q compress "$SAMPLE" -o "$TMP/x.onnx" --passes distill 2> "$TMP/err"; rc=$?
set -e
[ $rc -eq 1 ] && grep -q "needs training data: give --train-data" "$TMP/err" && [ ! -e "$TMP/x.onnx" ]
set +e
"$BIN" -q compress "$SAMPLE" -o "$TMP/x.onnx" --passes finetune --train-data "$CALIB" 2> "$TMP/err"; rc=$?
set -e
[ $rc -eq 1 ] && grep -q "has no .labels. array" "$TMP/err" && [ ! -e "$TMP/x.onnx" ]
set +e
"$BIN" -q compress "$SAMPLE" -o "$TMP/x.onnx" --passes 'distill{steps=5 lr=1e30}' --train-data "$CALIB" 2> "$TMP/err"; rc=$?
set -e
[ $rc -eq 2 ] && grep -Eq "(loss|gradient) is .* at step|not finite at step" "$TMP/err" && [ ! -e "$TMP/x.onnx" ]
set +e
"$BIN" -q compress "$SAMPLE" -o "$TMP/x.onnx" --passes 'distill{optimizer=lbfgs}' --train-data "$CALIB" 2> "$TMP/err"; rc=$?
set -e
[ $rc -eq 1 ] && grep -q "optimizer 'lbfgs'" "$TMP/err"

# A quantized (QDQ) student: QuantizeLinear has no gradient yet, and the error names it.
"$BIN" -q quantize "$SAMPLE" -o "$TMP/q.onnx" --calib-data "$CALIB" -n 0 --fidelity-samples 0
set +e
"$BIN" -q compress "$TMP/q.onnx" -o "$TMP/x.onnx" --passes 'distill{steps=2}' --train-data "$CALIB" 2> "$TMP/err"; rc=$?
set -e
[ $rc -eq 2 ] && grep -q "QuantizeLinear.*no gradient\|DequantizeLinear.*no gradient" "$TMP/err"
echo "training: ok"
