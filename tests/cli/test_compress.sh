#!/usr/bin/env bash
# compress end to end: output is valid, equivalent where nothing was dead, JSON is
# clean on stdout, external data works, and dead parts really go.
set -euo pipefail
BIN=$1; SRC=$2
PY=/usr/bin/python3
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
SAMPLE=$SRC/models/fashion_mnist/model.onnx

"$BIN" compress "$SAMPLE" -o "$TMP/out.onnx" --passes eliminate-dead > "$TMP/human.txt"
grep -q "eliminate-dead{functions=true opsets=true}" "$TMP/human.txt"

"$BIN" -q compress "$SAMPLE" -o "$TMP/out.onnx" --passes eliminate-dead --json > "$TMP/out.json"
"$PY" - "$TMP/out.json" "$SAMPLE" "$TMP/out.onnx" <<'PYEOF'
import json, sys, onnx
j = json.load(open(sys.argv[1]))
assert j["schema"] == "onnxpress.report" and j["schema_version"] == 1, j
assert j["pipeline"] == "eliminate-dead{functions=true opsets=true}", j["pipeline"]
assert j["passes"][0]["changed"] is False, j["passes"]
a, b = onnx.load(sys.argv[2]), onnx.load(sys.argv[3])
onnx.checker.check_model(b)
# Nothing is dead in the sample, so the graph must be unchanged field for field.
assert a.graph == b.graph, "graph changed"
assert j["before"]["parameters"] == j["after"]["parameters"] == 207114, j
PYEOF

# A model with dead nodes, an unused initializer and an unused opset import.
"$PY" - "$TMP/dead.onnx" <<'PYEOF'
import sys, numpy as np, onnx
from onnx import helper, numpy_helper, TensorProto
w = numpy_helper.from_array(np.arange(6, dtype=np.float32), "w")
junk = numpy_helper.from_array(np.ones(1000, dtype=np.float32), "junk")
g = helper.make_graph(
    [helper.make_node("Add", ["x", "w"], ["y"]),
     helper.make_node("Mul", ["x", "junk"], ["d1"]),
     helper.make_node("Relu", ["d1"], ["d2"])],
    "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [6])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [6])], [w, junk])
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("ai.onnx.ml", 3)])
onnx.save(m, sys.argv[1])
PYEOF
"$BIN" -q compress "$TMP/dead.onnx" -o "$TMP/clean.onnx" --passes eliminate-dead --json > "$TMP/dead.json"
"$PY" - "$TMP/dead.json" "$TMP/clean.onnx" <<'PYEOF'
import json, sys, onnx
j = json.load(open(sys.argv[1]))
stats = j["passes"][0]["statistics"]
assert stats == {"nodes removed": 2, "initializers removed": 1, "opset imports removed": 1}, stats
m = onnx.load(sys.argv[2])
onnx.checker.check_model(m)
assert [n.op_type for n in m.graph.node] == ["Add"]
assert [t.name for t in m.graph.initializer] == ["w"]
assert [o.domain for o in m.opset_import] == [""]
assert j["after"]["file_bytes"] < j["before"]["file_bytes"]
PYEOF

# External data: weights leave the .onnx and load back bit for bit.
"$BIN" -q compress "$SAMPLE" -o "$TMP/ext.onnx" --passes eliminate-dead --external-data > /dev/null
test -s "$TMP/ext.onnx.data"
"$BIN" -q inspect --json "$TMP/ext.onnx" | "$PY" -c 'import json,sys; j=json.load(sys.stdin); assert j["external_data_files"]==["ext.onnx.data"], j["external_data_files"]; assert j["parameters"]["count"]==207114'
"$PY" - "$SAMPLE" "$TMP/ext.onnx" <<'PYEOF'
import sys, onnx
from onnx import numpy_helper
a, b = onnx.load(sys.argv[1]), onnx.load(sys.argv[2])  # onnx loads the external data
ta = {t.name: numpy_helper.to_array(t) for t in a.graph.initializer}
tb = {t.name: numpy_helper.to_array(t) for t in b.graph.initializer}
assert ta.keys() == tb.keys()
for k in ta:
    assert ta[k].tobytes() == tb[k].tobytes(), k
raw = onnx.load(sys.argv[2], load_external_data=False)
assert sum(1 for t in raw.graph.initializer if t.data_location == onnx.TensorProto.EXTERNAL) == 3  # conv2, fc1, fc2 weights are >= 1 KiB
PYEOF
echo "compress: all checks passed"

# --ort: both models are also timed in ONNX Runtime (when a Python with onnxruntime exists).
if [ -x "$SRC/.venv/bin/python" ] && "$SRC/.venv/bin/python" -c "import onnxruntime" 2>/dev/null; then
  ONNXPRESS_PYTHON="$SRC/.venv/bin/python" "$BIN" -q compress "$SAMPLE" -o "$TMP/ort.onnx" --passes simplify --ort -n 3 --json \
    > "$TMP/ort.json"
  "$PY" -c 'import json,sys; j=json.load(open(sys.argv[1])); [(lambda l: (l is not None and l["median_ms"] > 0) or sys.exit("ort latency missing"))(j[s]["latency"]["onnxruntime"]) for s in ("before","after")]' "$TMP/ort.json"
else
  echo "SKIP --ort: no .venv Python with onnxruntime"
fi
echo "compress --ort: checked"
