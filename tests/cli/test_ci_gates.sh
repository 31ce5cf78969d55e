#!/usr/bin/env bash
# CI usage: compress, then gate on the result, as a pipeline step would.
# One run passes its gates (exit 0), others miss one (exit 4, one-line reason on
# stderr, output and reports still written). Recipes round-trip with the text pipeline.
set -euo pipefail
BIN=$1; SRC=$2
PY=/usr/bin/python3
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
M=$SRC/models/fashion_mnist

# 1. Clean-up keeps accuracy: the accuracy gate passes.
"$BIN" -q compress "$M/model.onnx" -o "$TMP/clean.onnx" --passes "fold-constants,fuse-bn,eliminate-dead" \
  --eval-data "$M/eval.npz" --max-accuracy-drop 0.5% --report "$TMP/clean.json" --save-recipe "$TMP/recipe.yaml" \
  > "$TMP/clean.txt"
grep -q "gates: 1 of 1 passed" "$TMP/clean.txt"
"$PY" - "$TMP/clean.json" <<'PYEOF'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["gates_passed"] is True, r["gates"]
g = r["gates"][0]
assert g["name"] == "max-accuracy-drop" and g["passed"] and abs(g["measured"]) < 0.5, g
acc = r["quality"]["accuracy"]
assert acc["before"] == 0.896 and acc["samples"] == 1000, acc   # models/fashion_mnist/metrics.json (onnx_eval_accuracy)
PYEOF

# 2. The saved recipe reproduces the run: same expanded pipeline, same gate.
"$BIN" -q compress "$M/model.onnx" -o "$TMP/again.onnx" --recipe "$TMP/recipe.yaml" --json > "$TMP/again.json"
"$PY" - "$TMP/clean.json" "$TMP/again.json" <<'PYEOF'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
assert a["pipeline"] == b["pipeline"], (a["pipeline"], b["pipeline"])
assert [g["name"] for g in b["gates"]] == ["max-accuracy-drop"] and b["gates_passed"]
PYEOF
cmp "$TMP/clean.onnx" "$TMP/again.onnx"   # deterministic output

# 3. Low-rank at 50% on every layer, without fine-tuning, costs accuracy: the gate fails with exit 4.
set +e
"$BIN" -q compress "$M/model.onnx" -o "$TMP/lowrank.onnx" --passes "simplify,lowrank{ratio=0.5}" \
  --eval-data "$M/eval.npz" --max-accuracy-drop 1% --report "$TMP/lowrank.md" > /dev/null 2> "$TMP/err.txt"
code=$?
set -e
[ "$code" -eq 4 ] || { echo "expected exit 4, got $code"; cat "$TMP/err.txt"; exit 1; }
[ "$(wc -l < "$TMP/err.txt")" -eq 1 ] || { echo "expected a one-line reason:"; cat "$TMP/err.txt"; exit 1; }
grep -q "gate max-accuracy-drop not met" "$TMP/err.txt"
test -s "$TMP/lowrank.onnx" && test -s "$TMP/lowrank.md"   # evidence kept for the CI log

# 4. A size gate the clean-up cannot reach fails the same way; the recipe's gates work too.
cat > "$TMP/size.yaml" <<'YAML'
version: 1
pipeline:
  - pass: eliminate-dead
gates: {min-size-reduction: 2.0}
YAML
set +e
"$BIN" -q compress "$M/model.onnx" -o "$TMP/size.onnx" --recipe "$TMP/size.yaml" > /dev/null 2> "$TMP/err2.txt"
code=$?
set -e
[ "$code" -eq 4 ] || { echo "expected exit 4 from the recipe's size gate, got $code"; cat "$TMP/err2.txt"; exit 1; }
grep -q "gate min-size-reduction not met" "$TMP/err2.txt"

# 4b. A speed gate that no run can reach fails beyond the noise of the paired rounds,
#     and the report carries the rounds' range (identical models: within noise or not,
#     the range must be consistent with the verdict).
set +e
"$BIN" -q compress "$M/model.onnx" -o "$TMP/speed.onnx" --passes eliminate-dead --min-speedup 100 -n 10 \
  --report "$TMP/speed.json" > /dev/null 2> "$TMP/err4.txt"
code=$?
set -e
[ "$code" -eq 4 ] || { echo "expected exit 4 from the speed gate, got $code"; cat "$TMP/err4.txt"; exit 1; }
grep -q "gate min-speedup not met: .*(beyond noise: 5 paired rounds gave" "$TMP/err4.txt"
"$PY" - "$TMP/speed.json" <<'PYEOF'
import json, sys
r = json.load(open(sys.argv[1]))
c = r["latency_comparison"]
assert c["rounds"] == 5 and c["runs_per_model"] == 10, c
assert c["ratio_low"] <= c["ratio_high"] < 100, c
assert c["within_noise"] == (c["ratio_low"] <= 1 <= c["ratio_high"]), c
assert r["before"]["latency"]["builtin"]["iterations"] == 10, r["before"]["latency"]
g = r["gates"][0]
assert g["name"] == "min-speedup" and not g["passed"] and g["note"].startswith("beyond noise"), g
PYEOF

# 5. Gate misuse is a usage error before any work (no output written).
set +e
"$BIN" -q compress "$M/model.onnx" -o "$TMP/nolabels.onnx" --passes eliminate-dead --max-accuracy-drop 1% 2> "$TMP/err3.txt"
code=$?
"$BIN" -q compress "$M/model.onnx" -o "$TMP/badreport.onnx" --passes eliminate-dead --report "$TMP/report.txt" 2>> "$TMP/err3.txt"
code2=$?
set -e
[ "$code" -eq 1 ] && [ "$code2" -eq 1 ] || { echo "expected usage errors, got $code and $code2"; cat "$TMP/err3.txt"; exit 1; }
test ! -e "$TMP/nolabels.onnx" && test ! -e "$TMP/badreport.onnx"
echo "ci gates: pass and fail cases behave"
