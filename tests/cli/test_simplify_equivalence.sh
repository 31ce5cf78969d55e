#!/usr/bin/env bash
# `simplify` keeps outputs identical (1e-5) in ONNX Runtime on every model of
# libonnx-testdata pytorch-converted and pytorch-operator, the bundled samples and
# the messy variants (Constant-node weights, If branches, IR 3 / opset 7, opset 21).
# Models with opset < 7 ops, which ORT no longer runs, are compared in the built-in runtime.
set -euo pipefail
BIN=$1; SRC=$2
source "$SRC/tests/cli/ort_python.sh"
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
/usr/bin/python3 "$SRC/tests/cli/make_messy_models.py" "$SRC/models/fashion_mnist/model.onnx" "$TMP"
DATA=/usr/share/libonnx-testdata/data
"$PY" "$SRC/tests/cli/simplify_equivalence.py" "$BIN" simplify \
  "$DATA"/pytorch-converted/*/model.onnx "$DATA"/pytorch-operator/*/model.onnx \
  "$SRC/models/fashion_mnist/model.onnx" "$SRC"/models/parity/*.onnx "$TMP"/*.onnx
