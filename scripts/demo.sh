#!/usr/bin/env bash
# The README's demo: inspect the bundled Fashion-MNIST CNN, then compress it.
set -euo pipefail
BIN=${1:-build/bin/onnxpress}
cd "$(dirname "$0")/.."
OUT=$(mktemp -d)/fashion_mnist.clean.onnx
echo "== onnxpress inspect models/fashion_mnist/model.onnx"
"$BIN" inspect models/fashion_mnist/model.onnx
echo
echo "== onnxpress compress models/fashion_mnist/model.onnx -o $OUT --passes eliminate-dead"
"$BIN" compress models/fashion_mnist/model.onnx -o "$OUT" --passes eliminate-dead
