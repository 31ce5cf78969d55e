#!/usr/bin/env bash
# `run` and `bench` on real models: outputs as .npy with escaped names, clear
# errors for missing / mistyped / misshapen inputs and symbolic dims, JSON output.
set -euo pipefail
BIN=$1; SRC=$2
PY=/usr/bin/python3
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
SAMPLE=$SRC/models/fashion_mnist/model.onnx
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# Inputs: one real eval sample (.npy), and the same as a TensorProto (.pb).
"$PY" - "$SRC/models/fashion_mnist/eval.npz" "$TMP" <<'PYEOF'
import sys, numpy as np
from onnx import numpy_helper
d = np.load(sys.argv[1])
x = d["input"][0]
np.save(f"{sys.argv[2]}/x.npy", x)
open(f"{sys.argv[2]}/x.pb", "wb").write(numpy_helper.from_array(x).SerializeToString())
np.save(f"{sys.argv[2]}/x64.npy", x.astype(np.float64))
np.save(f"{sys.argv[2]}/bad_shape.npy", np.zeros((1, 1, 28, 27), np.float32))
np.save(f"{sys.argv[2]}/label.npy", d["labels"][:1])
PYEOF
mkdir "$TMP/out_npy"
"$BIN" -q run "$SAMPLE" --input "input=$TMP/x.npy" --output-dir "$TMP/out_npy" > /dev/null
# A missing --output-dir is created (nested, like mkdir -p); a file in its place is a usage error.
"$BIN" -q run "$SAMPLE" --input "input=$TMP/x.npy" --output-dir "$TMP/new/nested" > /dev/null
[ -f "$TMP/new/nested/logits.npy" ] || fail "--output-dir was not created"
"$BIN" -q run "$SAMPLE" --input "input=$TMP/x.pb" --output-dir "$TMP/out_pb" --threads 1 > /dev/null
"$PY" - "$TMP" <<'PYEOF'
import sys, numpy as np
a = np.load(f"{sys.argv[1]}/out_npy/logits.npy")
b = np.load(f"{sys.argv[1]}/out_pb/logits.npy")
label = np.load(f"{sys.argv[1]}/label.npy")[0]
assert a.shape == (1, 10) and a.dtype == np.float32, (a.shape, a.dtype)
assert np.array_equal(a, b), "npy and pb inputs disagree"
assert int(a.argmax()) == int(label), f"predicted {a.argmax()}, label {label}"  # sample 0 is classified right
PYEOF

expect_error() {  # CODE FRAGMENT ARGS...
  local code=$1 fragment=$2; shift 2
  set +e; "$BIN" "$@" > "$TMP/out" 2> "$TMP/err"; local rc=$?; set -e
  if [ "$rc" != "$code" ] || ! grep -qF -- "$fragment" "$TMP/err"; then
    fail "onnxpress $* -> exit $rc, stderr: $(cat "$TMP/err")"
  fi
}
expect_error 2 "missing input 'input'; the model expects: input float32[batch,1,28,28]" run "$SAMPLE" --output-dir "$TMP"
expect_error 2 "input 'input' expects float32 but got float64" run "$SAMPLE" --input "input=$TMP/x64.npy" --output-dir "$TMP"
expect_error 2 "input 'input' expects shape float32[batch,1,28,28] but got [1,1,28,27]" run "$SAMPLE" --input "input=$TMP/bad_shape.npy" --output-dir "$TMP"
touch "$TMP/a_file"
expect_error 1 "--output-dir names a file, not a directory" run "$SAMPLE" --input "input=$TMP/x.npy" --output-dir "$TMP/a_file"
expect_error 2 "the model has no input 'nope'" run "$SAMPLE" --input "nope=$TMP/x.npy" --input "input=$TMP/x.npy" --output-dir "$TMP"
expect_error 1 "expects NAME=FILE" run "$SAMPLE" --input "$TMP/x.npy" --output-dir "$TMP"
expect_error 2 "no such file" run "$SAMPLE" --input "input=$TMP/missing.pb" --output-dir "$TMP"
expect_error 1 "input 'input' dim 0 is symbolic ('batch'); give --shape input=..." bench "$SAMPLE"
expect_error 1 "--shape expects NAME=D0xD1x" bench "$SAMPLE" --shape input

# An op the runtime lacks is named with its domain and node before any work.
"$PY" - "$TMP/custom.onnx" <<'PYEOF'
import sys, onnx
from onnx import helper, TensorProto
g = helper.make_graph([helper.make_node("Relu", ["x"], ["r"]), helper.make_node("FancyOp", ["r"], ["y"], domain="com.example", name="fancy")],
                      "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])], [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("com.example", 1)]), sys.argv[1])
PYEOF
expect_error 2 "cannot run op FancyOp (domain 'com.example') at node FancyOp 'fancy'" run "$TMP/custom.onnx" --input "x=$TMP/x.npy" --output-dir "$TMP"

# Output names that are unsafe as file names are escaped.
"$PY" - "$TMP/names.onnx" <<'PYEOF'
import sys, onnx
from onnx import helper, TensorProto
g = helper.make_graph([helper.make_node("Relu", ["x"], ["out/../evil name"]), helper.make_node("Neg", ["x"], [".hidden"])],
                      "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
                      [helper.make_tensor_value_info("out/../evil name", TensorProto.FLOAT, [2]), helper.make_tensor_value_info(".hidden", TensorProto.FLOAT, [2])])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), sys.argv[1])
PYEOF
"$PY" -c "import numpy as np; np.save('$TMP/two.npy', np.array([-1, 2], np.float32))"
mkdir "$TMP/names"
"$BIN" -q run "$TMP/names.onnx" --input "x=$TMP/two.npy" --output-dir "$TMP/names" > /dev/null
[ -f "$TMP/names/out%2F..%2Fevil%20name.npy" ] || fail "escaped output name missing: $(ls "$TMP/names")"
[ -f "$TMP/names/%2Ehidden.npy" ] || fail "leading dot not escaped: $(ls "$TMP/names")"

# bench: symbolic dims via --shape, JSON fields, and --data.
"$BIN" -q bench "$SAMPLE" --shape input=4x1x28x28 --iterations 5 --warmup 1 --json > "$TMP/bench.json"
"$BIN" -q bench "$SAMPLE" --data "$SRC/models/fashion_mnist/calib.npz" --iterations 5 --warmup 1 --threads 1 --json > "$TMP/bench_data.json"
"$PY" - "$TMP/bench.json" "$TMP/bench_data.json" <<'PYEOF'
import json, sys
for f in sys.argv[1:]:
    j = json.load(open(f))
    assert j["schema"] == "onnxpress.bench" and j["iterations"] == 5
    lat = j["latency_ms"]
    assert 0 < lat["min"] <= lat["median"] <= lat["p90"] <= lat["p99"] <= lat["max"], lat
    assert j["throughput_per_s"] > 0 and j["peak_rss_bytes"] > 1 << 20
assert json.load(open(sys.argv[2]))["threads"] == 1
PYEOF
"$BIN" bench "$SAMPLE" --shape input=1x1x28x28 --iterations 3 --warmup 0 | grep -q "p99" || fail "bench table"

[ "$fails" = 0 ] && echo "run/bench: all checks passed"
[ "$fails" = 0 ]
