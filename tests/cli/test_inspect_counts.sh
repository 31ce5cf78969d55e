#!/usr/bin/env bash
# inspect --json agrees with an independent count (onnx Python package) on every
# conformance model, the bundled sample, and messy variants of it.
set -euo pipefail
BIN=$1; SRC=$2
PY=/usr/bin/python3
"$PY" -c "import onnx" 2>/dev/null || { echo "SKIP: Debian python3-onnx is not installed"; exit 0; }
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
"$PY" "$SRC/tests/cli/make_messy_models.py" "$SRC/models/fashion_mnist/model.onnx" "$TMP"
mapfile -t ALL < <(find /usr/share/libonnx-testdata/data -name '*.onnx' | sort)
[ "${#ALL[@]}" -ge 1000 ] || { echo "expected the ~1,070 conformance models, found ${#ALL[@]}"; exit 1; }
# ONNXPRESS_CONFORMANCE_STRIDE=N checks every Nth model (the sanitizer build sets 10).
STRIDE=${ONNXPRESS_CONFORMANCE_STRIDE:-1}
MODELS=()
for i in "${!ALL[@]}"; do (( i % STRIDE == 0 )) && MODELS+=("${ALL[$i]}"); done
"$PY" "$SRC/tests/cli/independent_count.py" "$BIN" "${MODELS[@]}" "$SRC/models/fashion_mnist/model.onnx" "$TMP"/*.onnx \
  /usr/lib/python3/dist-packages/onnx/examples/resources/*.onnx

# The messy variants hold the same weights as the sample, wherever they live.
sample=$("$BIN" -q inspect --json "$SRC/models/fashion_mnist/model.onnx" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["parameters"]["count"])')
count() { "$BIN" -q inspect --json "$1" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["parameters"]["count"])'; }
for m in constants ir3_opset7 ir10_opset21; do
  got=$(count "$TMP/$m.onnx")
  [ "$got" = "$sample" ] || { echo "FAIL $m: $got parameters, the sample has $sample"; exit 1; }
done
# The classifier head (about 97% of the weights) sits in both If branches: ignoring
# subgraphs would give far fewer parameters than the sample, counting them gives more.
got=$(count "$TMP/if_weights.onnx")
[ "$got" -gt "$sample" ] || { echo "FAIL if_weights: $got parameters, expected more than $sample"; exit 1; }
echo "messy variants: parameter counts consistent with the sample ($sample; if_weights $got)"
