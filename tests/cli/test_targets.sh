#!/usr/bin/env bash
# Deployment target profiles (issue 16):
#   - `targets` lists the built-in profiles, prints one, refuses an unknown one;
#   - each profile changes the output as docs/deployment.md says, checked on the
#     written model by targets_check.py (Python onnx, independent of our checker):
#     x86-vnni u8s8, arm64 s8s8 with symmetric weights, tensorrt symmetric int8 with
#     zero points 0 and output-channel scales, tflite int8, and tensorrt's prune 2:4;
#   - an option written in the pipeline wins over the profile, and the report's
#     deployability section and gate then say what breaks (exit 4);
#   - budgets: mcu's arena; a profile file of one's own; a recipe's `target:`.
set -euo pipefail
BIN=$1; SRC=$2
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
M=$SRC/models/fashion_mnist
PY=/usr/bin/python3
CHECK=$SRC/tests/cli/targets_check.py

expect_exit() {  # CODE ARGS...: run onnxpress, require the exit code and a one-line error
  local code=$1; shift
  set +e; "$BIN" -q "$@" > "$TMP/out.txt" 2> "$TMP/err.txt"; local got=$?; set -e
  [ "$got" -eq "$code" ] || { echo "onnxpress $*: expected exit $code, got $got"; cat "$TMP/err.txt"; exit 1; }
  [ "$(wc -l < "$TMP/err.txt")" -eq 1 ] || { echo "onnxpress $*: error is not one line"; cat "$TMP/err.txt"; exit 1; }
}
deployability() {  # REPORT FIELD: a field of the report's deployability section
  $PY -c "import json,sys; print(json.load(open(sys.argv[1]))['deployability'][sys.argv[2]])" "$1" "$2"
}

# 1. The list, one profile, an unknown one.
"$BIN" targets > "$TMP/list.txt"
for t in x86-vnni arm64 tensorrt ort-web tflite mcu; do grep -q "^$t " "$TMP/list.txt" || { echo "targets: $t missing"; exit 1; }; done
"$BIN" targets tensorrt | grep -q "^name: tensorrt"
[ "$("$BIN" targets --json | $PY -c 'import json,sys; print(len(json.load(sys.stdin)["targets"]))')" -eq 6 ]
expect_exit 1 targets no-such-target
grep -q "no such target" "$TMP/err.txt"

# 2. What each profile does to `quantize` (same calibration, same model).
quantize_for() {  # TARGET [extra quantize options...]
  local t=$1; shift
  "$BIN" -q quantize "$M/model.onnx" -o "$TMP/$t.onnx" --calib-data "$M/calib.npz" --calib-samples 64 --target "$t" \
    --report "$TMP/$t.json" -n 1 "$@" > /dev/null
}
quantize_for x86-vnni
$PY "$CHECK" "$TMP/x86-vnni.onnx" acts=uint8 weights=int8 no-qoperator
quantize_for arm64
$PY "$CHECK" "$TMP/arm64.onnx" acts=int8 weights=int8 weight-zp=0 axis=output no-qoperator
quantize_for tensorrt
$PY "$CHECK" "$TMP/tensorrt.onnx" acts=int8 weights=int8 act-zp=0 weight-zp=0 axis=output no-qoperator
quantize_for tflite
$PY "$CHECK" "$TMP/tflite.onnx" acts=int8 weights=int8 weight-zp=0 axis=output no-qoperator
for t in x86-vnni arm64 tensorrt tflite; do
  [ "$(deployability "$TMP/$t.json" deployable)" = True ] || { echo "$t: not deployable on its own target"; exit 1; }
done
# The default (no target) is u8s8 with asymmetric activations: tensorrt's rules catch it.
"$BIN" -q quantize "$M/model.onnx" -o "$TMP/default.onnx" --calib-data "$M/calib.npz" --calib-samples 64 -n 1 > /dev/null
if $PY "$CHECK" "$TMP/default.onnx" act-zp=0 acts=int8 > /dev/null 2>&1; then
  echo "the default output already meets tensorrt's rules: the check proves nothing"; exit 1
fi

# 3. An option written on the command line wins; the deployability gate says what breaks.
expect_exit 4 quantize "$M/model.onnx" -o "$TMP/u8.onnx" --calib-data "$M/calib.npz" --calib-samples 64 -n 1 \
  --target tensorrt --activation-type uint8 --report "$TMP/u8.json"
grep -q "gate deployable-on-tensorrt" "$TMP/err.txt"
$PY "$CHECK" "$TMP/u8.onnx" acts=uint8 > /dev/null
$PY - "$TMP/u8.json" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1]))["deployability"]
rules = {f["rule"] for f in d["findings"] if f["severity"] == "error"}
assert {"activation-types", "activation-zero-points"} <= rules, rules
assert d["deployable"] is False and d["errors"] >= 2, d
PYEOF
expect_exit 4 quantize "$M/model.onnx" -o "$TMP/qop.onnx" --calib-data "$M/calib.npz" --calib-samples 64 -n 1 \
  --target tensorrt --format qoperator --report "$TMP/qop.json"
$PY -c "import json,sys; d=json.load(open(sys.argv[1]))['deployability']; assert any(f['rule']=='quantization-format' for f in d['findings']), d" "$TMP/qop.json"

# 4. tensorrt's prune default is 2:4 along input channels.
"$BIN" -q prune "$M/model.onnx" -o "$TMP/sparse.onnx" --sparsity 0.5 --target tensorrt -n 1 > /dev/null
$PY "$CHECK" "$TMP/sparse.onnx" 2:4
"$BIN" -q prune "$M/model.onnx" -o "$TMP/unstructured.onnx" --sparsity 0.5 -n 1 > /dev/null  # the control
if $PY "$CHECK" "$TMP/unstructured.onnx" 2:4 > /dev/null 2>&1; then echo "2:4 check passes unstructured pruning"; exit 1; fi

# 5. Budgets: mcu's arena, and a profile file of one's own.
expect_exit 4 quantize "$M/model.onnx" -o "$TMP/mcu.onnx" --calib-data "$M/calib.npz" --calib-samples 64 -n 1 \
  --target mcu --report "$TMP/mcu.json"
grep -q "peak-activation-bytes" "$TMP/err.txt"
cat > "$TMP/board.yaml" <<'YAML'
version: 1
name: tiny-board
summary: a board with 100 KB for the model
runtime: test
passes:
  quantize: {activation-type: int8}
rules:
  supported-ops: [Conv, Relu, Gemm, Flatten, QuantizeLinear, DequantizeLinear]  # no MaxPool
budgets:
  model-bytes: 100000
YAML
expect_exit 4 quantize "$M/model.onnx" -o "$TMP/board.onnx" --calib-data "$M/calib.npz" --calib-samples 64 -n 1 \
  --target "$TMP/board.yaml" --report "$TMP/board.json"
$PY - "$TMP/board.json" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1]))["deployability"]
assert d["target"] == "tiny-board"
budget = d["budgets"][0]
assert budget["name"] == "model-bytes" and budget["holds"] is False and budget["measured"] > 100000, budget
assert any(f["rule"] == "supported-ops" and "MaxPool" in f["message"] for f in d["findings"]), d["findings"]
PYEOF
printf 'version: 1\nname: x\nrules: {no-such-rule: 1}\n' > "$TMP/bad.yaml"
expect_exit 1 quantize "$M/model.onnx" -o "$TMP/never.onnx" --calib-data "$M/calib.npz" --target "$TMP/bad.yaml"
grep -q "unknown key 'no-such-rule'" "$TMP/err.txt"
test ! -e "$TMP/never.onnx"

# 6. A recipe's `target:` does what --target does.
cat > "$TMP/recipe.yaml" <<YAML
version: 1
pipeline:
  - simplify
  - pass: quantize
    options: {calib-samples: 64}
data: {calibration: $M/calib.npz}
target: tensorrt
YAML
"$BIN" -q compress "$M/model.onnx" -o "$TMP/recipe.onnx" --recipe "$TMP/recipe.yaml" -n 1 > /dev/null
cmp "$TMP/recipe.onnx" "$TMP/tensorrt.onnx"
echo "targets: ok"
