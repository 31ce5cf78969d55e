#!/usr/bin/env bash
# Outputs of the built-in runtime agree with ONNX Runtime (pip onnxruntime) on the
# sample model, torch-exported ResNet-style / BERT-style / LSTM models, and messy
# variants (weights in Constant nodes and If branches, IR 3 / opset 7, IR 10 / opset 21).
set -euo pipefail
BIN=$1; SRC=$2
source "$SRC/tests/cli/ort_python.sh"
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
/usr/bin/python3 "$SRC/tests/cli/make_messy_models.py" "$SRC/models/fashion_mnist/model.onnx" "$TMP"
"$PY" "$SRC/tests/cli/ort_parity.py" "$BIN" "$SRC/models/fashion_mnist/model.onnx" \
  "$SRC"/models/parity/*.onnx "$TMP"/*.onnx
