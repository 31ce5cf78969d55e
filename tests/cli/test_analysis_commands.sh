#!/usr/bin/env bash
# profile, eval and compare end to end on the sample model: figures checked
# against metrics.json and hand counts, JSON that parses, progress bars only on a
# terminal's stderr, and exit codes for bad input.
set -euo pipefail
BIN=$1; SRC=$2
PY=/usr/bin/python3
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
DIR=$SRC/models/fashion_mnist
SAMPLE=$DIR/model.onnx
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# ---- eval ----------------------------------------------------------------------------
# Top-1 on eval.npz must equal onnxruntime's figure recorded in metrics.json (896/1000).
"$BIN" eval "$SAMPLE" --data "$DIR/eval.npz" --threads 1 --json > "$TMP/eval.json"
"$PY" - "$TMP/eval.json" "$DIR/metrics.json" <<'PYEOF'
import json, sys
j = json.load(open(sys.argv[1]))
ort = json.load(open(sys.argv[2]))["onnxruntime"]
assert j["schema"] == "onnxpress.eval" and j["schema_version"] == 1, j
assert j["metric"] == "top1" and j["samples"] == ort["num_samples"] == 1000, j
assert abs(j["value"] - ort["onnx_eval_accuracy"]) <= 1e-4, (j["value"], ort["onnx_eval_accuracy"])
assert j["accuracy"]["top1_correct"] == ort["onnx_eval_correct"], j["accuracy"]
assert j["accuracy"]["classes"] == 10 and j["accuracy"]["top5"] >= j["accuracy"]["top1"], j["accuracy"]
assert j["reference"] is None and j["fidelity"] is None and j["accuracy_drop"] is None, j
PYEOF
"$BIN" eval "$SAMPLE" --data "$DIR/eval.npz" --threads 1 > "$TMP/eval.txt"
grep -qF "89.60% (896/1000)" "$TMP/eval.txt" || fail "eval text: $(cat "$TMP/eval.txt")"

# Against itself as the reference: identical outputs, and the same accuracy twice.
"$BIN" eval "$SAMPLE" --data "$DIR/eval.npz" --reference "$SAMPLE" --samples 100 --threads 1 --json > "$TMP/self.json"
"$BIN" eval "$SAMPLE" --data "$DIR/eval.npz" --reference "$SAMPLE" --metric top1 --samples 100 --threads 1 --json > "$TMP/self_top1.json"
"$PY" - "$TMP/self.json" "$TMP/self_top1.json" <<'PYEOF'
import json, sys
j = json.load(open(sys.argv[1]))
assert j["metric"] == "snr" and j["value"] == 999 and j["samples"] == 100, j
o = j["fidelity"]["outputs"][0]
assert o["name"] == "logits" and o["snr_db"] == 999 and o["mse"] == 0 and o["max_abs"] == 0, o
assert j["accuracy"] is None, j
t = json.load(open(sys.argv[2]))
assert t["accuracy"] == t["reference_accuracy"] and t["accuracy_drop"] == 0, t
PYEOF

# ---- compare -------------------------------------------------------------------------
"$BIN" compare "$SAMPLE" "$SAMPLE" --data "$DIR/eval.npz" --samples 50 --per-layer --threads 1 --json > "$TMP/cmp_self.json"
"$PY" - "$TMP/cmp_self.json" <<'PYEOF'
import json, sys
j = json.load(open(sys.argv[1]))
assert j["schema"] == "onnxpress.compare" and j["schema_version"] == 1 and j["samples"] == 50, j
assert j["all_close"] is True and j["first_divergence"] is None, j
assert [o["snr_db"] for o in j["outputs"]] == [999], j["outputs"]
assert len(j["layers"]) == 12, len(j["layers"])  # one tensor per node of the sample
for l in j["layers"]:
    assert l["snr_db"] == 999 and l["max_abs"] == 0 and l["allclose"] and not l["diverges"], l
assert j["layers"][0]["name"] == "/0/Conv_output_0" and j["layers"][-1]["name"] == "logits", j["layers"]
PYEOF

# Second conv's weights with 5% noise: the first divergence is that conv's output.
"$PY" - "$SAMPLE" "$TMP/noisy.onnx" <<'PYEOF'
import sys, numpy as np, onnx
from onnx import numpy_helper
m = onnx.load(sys.argv[1])
rng = np.random.default_rng(0)
for i, t in enumerate(m.graph.initializer):
    if t.name == "4.weight":
        w = numpy_helper.to_array(t)
        m.graph.initializer[i].CopyFrom(numpy_helper.from_array((w * (1 + 0.05 * rng.standard_normal(w.shape))).astype(np.float32), t.name))
onnx.save(m, sys.argv[2])
PYEOF
"$BIN" compare "$SAMPLE" "$TMP/noisy.onnx" --data "$DIR/eval.npz" --samples 50 --per-layer --threads 1 --json > "$TMP/cmp_noisy.json"
"$PY" - "$TMP/cmp_noisy.json" <<'PYEOF'
import json, sys
j = json.load(open(sys.argv[1]))
d = j["first_divergence"]
assert d is not None and d["name"] == "/4/Conv_output_0" and d["op"] == "Conv", d
assert d["input_snr_db"] == j["divergence_rule"]["snr_ceiling_db"], d  # its input is still identical
names = [l["name"] for l in j["layers"]]
for l in j["layers"][:names.index("/4/Conv_output_0")]:
    assert l["snr_db"] == 999, l
assert j["all_close"] is False and j["outputs"][0]["allclose"] is False, j["outputs"]
assert 0 < j["outputs"][0]["snr_db"] < 999 and j["outputs"][0]["cosine"] < 1, j["outputs"]
PYEOF
"$BIN" compare "$SAMPLE" "$TMP/noisy.onnx" --data "$DIR/eval.npz" --samples 20 --per-layer > "$TMP/cmp.txt"
grep -qF "first divergence: '/4/Conv_output_0'" "$TMP/cmp.txt" || fail "compare text: $(cat "$TMP/cmp.txt")"
set +e
"$BIN" -q compare "$SAMPLE" "$TMP/noisy.onnx" --data "$DIR/eval.npz" --samples 20 --fail-on-mismatch > /dev/null 2> "$TMP/err"
rc=$?
"$BIN" -q compare "$SAMPLE" "$SAMPLE" --data "$DIR/eval.npz" --samples 20 --fail-on-mismatch > /dev/null
rc_same=$?
set -e
[ "$rc" = 4 ] && grep -qF "output 'logits'" "$TMP/err" || fail "--fail-on-mismatch on a mismatch -> exit $rc: $(cat "$TMP/err")"
[ "$rc_same" = 0 ] || fail "--fail-on-mismatch on identical models -> exit $rc_same"

# ---- profile -------------------------------------------------------------------------
"$BIN" profile "$SAMPLE" --data "$DIR/eval.npz" --iterations 5 --threads 1 --json \
  --target-size 100KB --target-latency 10000 > "$TMP/profile.json"
"$BIN" profile "$SAMPLE" --shape input=2x1x28x28 --iterations 3 --threads 1 --json > "$TMP/profile2.json"
"$PY" - "$TMP/profile.json" "$TMP/profile2.json" <<'PYEOF'
import json, sys
j = json.load(open(sys.argv[1]))
assert j["schema"] == "onnxpress.profile" and j["schema_version"] == 1, j
assert j["input"]["source"] == "data" and j["input"]["tensors"]["input"]["shape"] == [1, 1, 28, 28], j["input"]
layers = j["layers"]
assert [l["op"] for l in layers] == ["Conv", "BatchNormalization", "Relu", "MaxPool"] * 2 + ["Flatten", "Gemm", "Relu", "Gemm"]
# MACs = N Cout OH OW Cin kh kw for the convs, N M K for the Gemms.
macs = [1*16*28*28*1*9, 1*32*14*14*16*9, 1568*128, 128*10]
assert [l["macs"] for l in layers if l["macs"]] == macs, [l["macs"] for l in layers]
t = j["totals"]
assert t["macs"] == sum(macs) == 1218048 and t["unknown_mac_nodes"] == 0, t
assert t["parameters"] == 207114, t
assert layers[0]["parameters"] == 16*9 + 16 and layers[0]["weight_bytes"] == (16*9 + 16) * 4, layers[0]
assert layers[0]["output_bytes"] == 16*28*28*4, layers[0]
# Peak: during the first BatchNormalization, the conv output and its own (2 x 50176 bytes);
# the 3136-byte input was released after the conv, its last reader.
assert t["peak_activation_bytes"] == 2 * 16*28*28*4 == 100352, t
assert "BatchNormalization" in t["peak_at_node"], t
assert abs(sum(l["latency_share"] for l in layers) - 1) < 1e-9 and t["latency_ms_median"] > 0, t
assert j["top_by_macs"][0] == "/4/Conv" and len(j["top_by_latency"]) <= 5, j
size = j["targets"]["size"]
assert size["target_bytes"] == 100000 and size["met"] is False, size
assert abs(size["ratio"] - t["file_bytes"] / 100000) < 1e-9, size
assert j["targets"]["latency"]["met"] is True, j["targets"]
r = json.load(open(sys.argv[2]))  # random input, batch 2 from --shape
assert r["input"]["source"] == "random" and r["totals"]["macs"] == 2 * 1218048, r["totals"]
PYEOF
"$BIN" profile "$SAMPLE" --data "$DIR/eval.npz" --iterations 3 --target-size 100KB > "$TMP/profile.txt"
for s in "peak activations" "slowest nodes" "most MACs" "needs " "x smaller"; do
  grep -qF "$s" "$TMP/profile.txt" || fail "profile text lacks '$s': $(cat "$TMP/profile.txt")"
done

# ---- progress bars: on a terminal's stderr only, never in stdout ---------------------
"$BIN" compare "$SAMPLE" "$SAMPLE" --data "$DIR/eval.npz" --samples 300 --per-layer --json 2> "$TMP/piped_err" > /dev/null
[ ! -s "$TMP/piped_err" ] || fail "stderr not a terminal but got: $(cat "$TMP/piped_err")"
script -qec "'$BIN' compare '$SAMPLE' '$SAMPLE' --data '$DIR/eval.npz' --samples 300 --per-layer --json > '$TMP/tty.json'" /dev/null < /dev/null > "$TMP/tty.log"
"$PY" -c 'import json,sys; json.load(open(sys.argv[1]))' "$TMP/tty.json" || fail "JSON with a terminal stderr does not parse"
grep -q "comparing" "$TMP/tty.log" || fail "no progress bar on a terminal: $(cat -v "$TMP/tty.log")"
script -qec "'$BIN' -q compare '$SAMPLE' '$SAMPLE' --data '$DIR/eval.npz' --samples 300 --per-layer > /dev/null" /dev/null < /dev/null > "$TMP/tty_quiet.log"
! grep -q "comparing" "$TMP/tty_quiet.log" || fail "progress bar despite -q"

# ---- bad input -----------------------------------------------------------------------
expect_error() {  # CODE FRAGMENT ARGS...
  local code=$1 fragment=$2; shift 2
  set +e; "$BIN" "$@" > "$TMP/out" 2> "$TMP/err"; local rc=$?; set -e
  if [ "$rc" != "$code" ] || ! grep -qF -- "$fragment" "$TMP/err"; then
    fail "onnxpress $* -> exit $rc, stderr: $(cat "$TMP/err")"
  fi
}
"$PY" - "$TMP/other.onnx" <<'PYEOF'
import sys, onnx
from onnx import helper, TensorProto
g = helper.make_graph([helper.make_node("Relu", ["x"], ["logits"])], "g",
                      [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 28, 28])],
                      [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 1, 28, 28])])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), sys.argv[1])
PYEOF
expect_error 2 "DATA file not found" eval "$SAMPLE" --data "$TMP/missing.npz"
expect_error 1 "top3" eval "$SAMPLE" --data "$DIR/eval.npz" --metric top3
expect_error 1 "needs --reference" eval "$SAMPLE" --data "$DIR/eval.npz" --metric mse
expect_error 2 "no 'labels' array" eval "$SAMPLE" --data "$DIR/calib.npz"
expect_error 2 "input 'x' of $TMP/other.onnx is not an input of $SAMPLE" eval "$SAMPLE" --data "$DIR/eval.npz" --reference "$TMP/other.onnx"
expect_error 2 "DATA file not found" compare "$SAMPLE" "$SAMPLE" --data "$TMP/missing.npz"
expect_error 2 "input 'input' of $SAMPLE is not an input of $TMP/other.onnx" compare "$SAMPLE" "$TMP/other.onnx" --data "$DIR/eval.npz"
expect_error 1 "input 'input' dim 0 is symbolic ('batch'); give --shape input=..." profile "$SAMPLE"
expect_error 1 "not both" profile "$SAMPLE" --data "$DIR/eval.npz" --shape input=1x1x28x28
expect_error 1 "--target-size '2XB'" profile "$SAMPLE" --shape input=1x1x28x28 --target-size 2XB
expect_error 2 "DATA file not found" profile "$SAMPLE" --data "$TMP/missing.npz"

if [ "$fails" -ne 0 ]; then echo "$fails check(s) failed"; exit 1; fi
echo "analysis commands: all checks passed"
