#!/usr/bin/env bash
# quantize end to end:
#  1. bad input is refused before any work, one line, distinct exit codes, nothing written;
#  2. static int8 QDQ per-channel on the Fashion-MNIST sample loses at most 0.5 point of
#     top-1 on the 1000 labelled eval samples and is at least 3.8x smaller (as gates);
#     the report lists per-tensor scales and zero points and per-layer SQNR; the output
#     is deterministic and identical to compress --passes 'simplify,quantize{...}';
#  3. every mode, on the sample, its messy variants (Constant-node weights, If-branch
#     weights, IR 3 / opset 7, IR 10 / opset 21) and the parity models, writes a model
#     that passes onnx's checker (where the installed onnx
#     knows its IR/opset), loads and runs in ONNX Runtime close to the float model, and
#     runs in the built-in runtime with ORT's results (quantize_check.py; SKIP without
#     onnxruntime).
set -euo pipefail
BIN=$1; SRC=$2
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
M=$SRC/models/fashion_mnist
P=$SRC/models/parity
SAMPLE=$M/model.onnx
CALIB=$M/calib.npz

expect_fail() {
  local code=$1 pattern=$2; shift 2
  set +e
  "$BIN" -q quantize "$@" -o "$TMP/bad.onnx" > /dev/null 2> "$TMP/err.txt"
  local got=$?
  set -e
  [ "$got" -eq "$code" ] || { echo "quantize $*: expected exit $code, got $got"; cat "$TMP/err.txt"; exit 1; }
  grep -qF -- "$pattern" "$TMP/err.txt" || { echo "quantize $*: expected '$pattern' in:"; cat "$TMP/err.txt"; exit 1; }
  [ "$(wc -l < "$TMP/err.txt")" -eq 1 ] || { echo "quantize $*: expected one line:"; cat "$TMP/err.txt"; exit 1; }
  test ! -e "$TMP/bad.onnx"
}

# ---- 1. bad input -------------------------------------------------------------------------
/usr/bin/python3 - "$TMP" <<'PYEOF'
import sys, numpy as np
tmp = sys.argv[1]
rng = np.random.default_rng(0)
np.savez(f"{tmp}/wrong_name.npz", image=rng.random((4, 1, 1, 28, 28), dtype=np.float32))
np.savez(f"{tmp}/wrong_shape.npz", input=rng.random((4, 1, 1, 14, 14), dtype=np.float32))
np.savez(f"{tmp}/wrong_dtype.npz", input=rng.random((4, 1, 1, 28, 28)).astype(np.float64))
# bert_tiny: 16 samples of 16 random tokens (batch 1).
ids = rng.integers(0, 400, (16, 1, 16)).astype(np.int64)
np.savez(f"{tmp}/bert_calib.npz", input_ids=ids, attention_mask=np.ones_like(ids), token_type_ids=np.zeros_like(ids))
# resnet_small: 16 random images.
np.savez(f"{tmp}/resnet_calib.npz", input=rng.standard_normal((16, 1, 3, 32, 32)).astype(np.float32))
PYEOF
expect_fail 1 "--mode static needs --calib-data DATA" "$SAMPLE"
expect_fail 1 "mode 'int3' is not one of static, dynamic, weight-only, fp16, bf16" "$SAMPLE" --mode int3
expect_fail 1 "weight-type int4/uint4 applies to mode=weight-only and mode=static only" "$SAMPLE" --mode dynamic --weight-type int4
expect_fail 1 "block-size 48 is not a power of two >= 16" "$SAMPLE" --mode weight-only --block-size 48
expect_fail 1 "keep-io-types applies to mode=fp16 and mode=bf16 only" "$SAMPLE" --mode dynamic --keep-io-types
expect_fail 1 "" "$SAMPLE" --mode dynamic --no-such-option
expect_fail 2 "array 'image' matches no model input" "$SAMPLE" --calib-data "$TMP/wrong_name.npz"
expect_fail 2 "holds samples of shape" "$SAMPLE" --calib-data "$TMP/wrong_shape.npz"
expect_fail 2 "is float64 but the model input is float32" "$SAMPLE" --calib-data "$TMP/wrong_dtype.npz"
set +e
"$BIN" -q compress "$SAMPLE" -o "$TMP/bad.onnx" --passes 'quantize{per-channel=true}' > /dev/null 2> "$TMP/err.txt"
code=$?
set -e
[ "$code" -eq 1 ] && grep -qF "pass 'quantize' needs calibration data" "$TMP/err.txt" && test ! -e "$TMP/bad.onnx" \
  || { echo "compress quantize without data: exit $code"; cat "$TMP/err.txt"; exit 1; }

# ---- 2. static int8 QDQ per-channel on the sample, as CI would gate it ---------------------
"$BIN" -q quantize "$SAMPLE" -o "$TMP/s8.onnx" --per-channel --calib-data "$CALIB" \
  --eval-data "$M/eval.npz" --max-accuracy-drop 0.5% --min-size-reduction 3.8 \
  --report "$TMP/s8.json" --report "$TMP/s8.md" > "$TMP/s8.txt"
grep -q "gates: 2 of 2 passed" "$TMP/s8.txt"
grep -q "## Quantized tensors" "$TMP/s8.md"
/usr/bin/python3 - "$TMP/s8.json" <<'PYEOF'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["gates_passed"] is True, r["gates"]
assert [p["pass"] for p in r["passes"]] == ["simplify", "quantize"], r["pipeline"]
q = r["passes"][1]
tensors = {t["tensor"]: t for t in q["quantized"]}
w = [t for t in q["quantized"] if t["role"] == "weight"]
assert len(w) == 4, [t["tensor"] for t in w]  # 2 convs (BN folded) + 2 Gemms
for t in w:
    assert t["dtype"] == "int8" and t["axis"] in (0, 1) and t["count"] > 1, t
    assert all(z == 0 for z in t["zero_point"]) and all(s > 0 for s in t["scale"]), t
    assert t["sqnr_db"] > 30, t
acts = [t for t in q["quantized"] if t["role"] == "activation"]
assert acts and all(t["dtype"] == "uint8" and len(t["scale"]) == 1 and "range" in t for t in acts), acts
assert tensors["input"]["range"][0] < 0.5, tensors["input"]
assert r["layers_data"].endswith("eval.npz"), r["layers_data"]
assert any(l["snr_db"] is not None for l in r["layers"]), r["layers"]
acc = r["quality"]["accuracy"]
size = r["ratios"]["file_bytes"]
assert acc["before"] - acc["after"] <= 0.005 and size >= 3.8, (acc, size)
print(f"static int8 per-channel: top-1 {acc['before']:.3f} -> {acc['after']:.3f}, {size:.2f}x smaller, "
      f"{len(acts)} activations, {len(w)} weights")
PYEOF

# Deterministic, and the command is compress with the same pipeline.
"$BIN" -q quantize "$SAMPLE" -o "$TMP/s8_again.onnx" --per-channel --calib-data "$CALIB" > /dev/null
cmp "$TMP/s8.onnx" "$TMP/s8_again.onnx"
"$BIN" -q compress "$SAMPLE" -o "$TMP/s8_compress.onnx" --calib-data "$CALIB" \
  --passes 'simplify,quantize{per-channel=true}' > /dev/null
cmp "$TMP/s8.onnx" "$TMP/s8_compress.onnx"
expect_fail 1 "already quantized" "$TMP/s8.onnx" --calib-data "$CALIB"

# Per-layer SQNR comes from the calibration data when there is no --eval-data.
"$BIN" -q quantize "$SAMPLE" -o "$TMP/s8_calib.onnx" --calib-data "$CALIB" --calib-method percentile --json > "$TMP/s8_calib.json"
/usr/bin/python3 - "$TMP/s8_calib.json" <<'PYEOF'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["layers_data"].endswith("calib.npz"), r["layers_data"]
snr = [l["snr_db"] for l in r["layers"] if l["snr_db"] is not None]
assert snr and min(snr) > 10, snr
PYEOF

# ---- 3. every mode, checked in ONNX Runtime ------------------------------------------------
q() { "$BIN" -q quantize "$@" > /dev/null; }
q "$SAMPLE" -o "$TMP/s8_qop.onnx" --per-channel --calib-data "$CALIB" --format qoperator
q "$SAMPLE" -o "$TMP/s8_int8act.onnx" --calib-data "$CALIB" --activation-type int8 --calib-method percentile
q "$SAMPLE" -o "$TMP/dyn.onnx" --mode dynamic
q "$SAMPLE" -o "$TMP/fp16.onnx" --mode fp16
q "$SAMPLE" -o "$TMP/fp16_io.onnx" --mode fp16 --keep-io-types
q "$P/resnet_small.onnx" -o "$TMP/resnet_s8.onnx" --per-channel --calib-data "$TMP/resnet_calib.npz" \
  --equalize --bias-correction
q "$P/bert_tiny.onnx" -o "$TMP/bert_s8.onnx" --per-channel --calib-data "$TMP/bert_calib.npz" --smoothquant
q "$P/bert_tiny.onnx" -o "$TMP/bert_dyn.onnx" --mode dynamic --per-channel
q "$P/bert_tiny.onnx" -o "$TMP/bert_w4.onnx" --mode weight-only --weight-type int4 --block-size 32
q "$P/bert_tiny.onnx" -o "$TMP/bert_nbits.onnx" --mode weight-only --weight-type uint4 --block-size 32 --matmul-nbits
q "$P/bert_tiny.onnx" -o "$TMP/bert_w8.onnx" --mode weight-only --weight-type int8 --block-size 32
q "$P/lstm_small.onnx" -o "$TMP/lstm_dyn.onnx" --mode dynamic

# Weight-only output is actually smaller: int4 blocks of 32 store 4.5 bits per weight.
/usr/bin/python3 - "$P/bert_tiny.onnx" "$TMP/bert_w4.onnx" "$TMP/bert_w8.onnx" <<'PYEOF'
import os, sys
f, w4, w8 = (os.path.getsize(p) for p in sys.argv[1:])
assert f / w4 >= 3.0 and f / w8 >= 2.5, (f, w4, w8)
print(f"bert_tiny weight-only: {f} -> int4 {w4} ({f / w4:.2f}x), int8 {w8} ({f / w8:.2f}x)")
PYEOF

# Messy variants of the sample (Constant-node weights, weights inside If branches, IR 3 /
# opset 7 with initializers listed as inputs, IR 10 / opset 21 with a dozen domains, a
# PaddlePaddle-style opset 9 with Constant-node weights and attributes that became inputs):
# every mode quantizes them with its default options (per-channel, so the opset-7 and -9
# models are upgraded to 13 without onnx's converter) and the file shrinks as much as for
# the clean sample. Static mode calibrates the activations inside the If branch the data
# takes (the other branch keeps float activations, weights int8).
/usr/bin/python3 "$SRC/tests/cli/make_messy_models.py" "$SAMPLE" "$TMP"
MESSY_CHECKS=()
for messy in constants if_weights ir3_opset7 ir10_opset21 paddle_opset9; do
  for mode in static dynamic weight-only fp16; do
    case $mode in
      static) extra=(--calib-data "$CALIB"); min=3.7; data="@$M/eval.npz" ;;
      dynamic) extra=(); min=3.7; data="" ;;
      weight-only) extra=(--weight-type int4 --block-size 32); min=5.0; data="" ;;
      fp16) extra=(); min=1.9; data="" ;;
    esac
    out="$TMP/${messy}_$mode.onnx"
    "$BIN" -q quantize "$TMP/$messy.onnx" -o "$out" --mode $mode "${extra[@]}" -n 0 --fidelity-samples 0 --json \
      > "$TMP/${messy}_$mode.json"
    /usr/bin/python3 -c "import json, sys; r = json.load(open(sys.argv[1])); ratio = r['ratios']['file_bytes']
assert ratio >= float(sys.argv[2]), (sys.argv[1], ratio)" "$TMP/${messy}_$mode.json" "$min"
    MESSY_CHECKS+=("$out=$TMP/$messy.onnx$data")
  done
done
/usr/bin/python3 - "$TMP" <<'PYEOF'
import json, sys
tmp = sys.argv[1]
stats = lambda name: json.load(open(f"{tmp}/{name}.json"))["passes"][-1]["statistics"]
import onnx
branches = [a.g for n in onnx.load(f"{tmp}/if_weights_static.onnx").graph.node if n.op_type == "If" for a in n.attribute]
assert branches and all(any(n.op_type == "QuantizeLinear" for n in g.node) for g in branches), "If bodies not calibrated"
p9 = stats("paddle_opset9_static")
for moved in ("Clip min", "Unsqueeze axes", "Squeeze axes"):
    assert any(k.startswith(f"opset upgrade: {moved}") for k in p9), (moved, p9)
print("If-branch activations calibrated; opset 9 carried to 13:", sorted(k for k in p9 if k.startswith("opset")))
PYEOF

# compare --per-layer descends into If bodies: the branch's tensors are rows, qualified by
# the If node and branch.
"$BIN" -q compare "$TMP/if_weights.onnx" "$TMP/if_weights_static.onnx" --data "$CALIB" --samples 4 --per-layer \
  --json > "$TMP/compare_if.json"
/usr/bin/python3 - "$TMP/compare_if.json" <<'PYEOF'
import json, sys
rows = [l["name"] for l in json.load(open(sys.argv[1]))["layers"]]
inside = [r for r in rows if r.startswith("head_if/then_branch/")]
assert inside, rows
print(f"compare --per-layer: {len(inside)} tensors inside head_if/then_branch")
PYEOF

# A fixed Fourier-basis Conv over a raw signal stays float in both modes by default (dynamic
# int8 of the signal destroyed a real VAD model); the layers after it are quantized.
for mode in dynamic static; do
  [ $mode = static ] && calib=(--calib-data "$TMP/signal_calib.npz") || calib=()
  [ $mode = static ] && /usr/bin/python3 -c "import numpy as np, sys
rng = np.random.default_rng(3); t = np.arange(1024) / 16000
x = [np.sin(2 * np.pi * f * t) * a + rng.normal(0, 1e-3, 1024) for f, a in zip(rng.uniform(100, 4000, 32), rng.uniform(1e-3, 1, 32))]
np.savez(sys.argv[1], signal=np.array(x, np.float32)[:, None, None, :])" "$TMP/signal_calib.npz"
  "$BIN" -q quantize "$TMP/signal_frontend.onnx" -o "$TMP/signal_$mode.onnx" --mode $mode "${calib[@]}" -n 0 \
    --fidelity-samples 0 --json > "$TMP/signal_$mode.json"
  /usr/bin/python3 - "$TMP/signal_$mode.json" "$TMP/signal_$mode.onnx" <<'PYEOF'
import json, sys, onnx
stats = json.load(open(sys.argv[1]))["passes"][-1]["statistics"]
assert any("signal filter bank" in k for k in stats), stats
g = onnx.load(sys.argv[2]).graph
stft = next(n for n in g.node if n.name == "stft")
assert stft.input[1] == "fourier_basis", stft  # read straight from the float initializer
assert any(n.op_type in ("ConvInteger", "DequantizeLinear") for n in g.node), "nothing else quantized"
PYEOF
done
# min-fidelity (default auto: 30 dB on the calibration data): full int8 of the signal model
# misses it, so the layers that lose the most stay float until it holds; the plan is in the
# report and replays byte for byte as exclude-nodes with the fallback off.
/usr/bin/python3 - "$TMP/signal_static.json" > "$TMP/plan.txt" <<'PYEOF'
import json, sys
plan = json.load(open(sys.argv[1]))["passes"][-1]["quantization_plan"]
assert plan["met"] and plan["fidelity_after"] >= 30 > plan["fidelity_before"], plan
kept = [l for l in plan["layers"] if l["kept_float"]]
assert 0 < len(kept) < len(plan["layers"]), plan
print(plan["exclude_nodes"])
PYEOF
"$BIN" -q quantize "$TMP/signal_frontend.onnx" -o "$TMP/signal_replay.onnx" --calib-data "$TMP/signal_calib.npz" \
  --exclude-nodes "$(cat "$TMP/plan.txt")" --min-fidelity off -n 0 --fidelity-samples 0 > /dev/null
cmp "$TMP/signal_static.onnx" "$TMP/signal_replay.onnx"
echo "min-fidelity plan replayed: exclude-nodes=$(cat "$TMP/plan.txt")"
MESSY_CHECKS+=("$TMP/signal_dynamic.onnx=$TMP/signal_frontend.onnx" "$TMP/signal_static.onnx=$TMP/signal_frontend.onnx@$TMP/signal_calib.npz")

. "$SRC/tests/cli/ort_python.sh"
"$PY" "$SRC/tests/cli/quantize_check.py" "$BIN" 15 \
  "$TMP/s8.onnx=$SAMPLE@$M/eval.npz" "$TMP/s8_qop.onnx=$SAMPLE@$M/eval.npz" \
  "$TMP/s8_int8act.onnx=$SAMPLE@$M/eval.npz" "$TMP/dyn.onnx=$SAMPLE" \
  "$TMP/fp16.onnx=$SAMPLE" "$TMP/fp16_io.onnx=$SAMPLE" "$TMP/resnet_s8.onnx=$P/resnet_small.onnx" \
  "$TMP/bert_s8.onnx=$P/bert_tiny.onnx" "$TMP/bert_dyn.onnx=$P/bert_tiny.onnx" "$TMP/bert_w4.onnx=$P/bert_tiny.onnx" \
  "$TMP/bert_nbits.onnx=$P/bert_tiny.onnx" "$TMP/bert_w8.onnx=$P/bert_tiny.onnx" "$TMP/lstm_dyn.onnx=$P/lstm_small.onnx" \
  "${MESSY_CHECKS[@]}"
