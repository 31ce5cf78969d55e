#!/usr/bin/env bash
# The README's demo: inspect the bundled Fashion-MNIST CNN, compress it, and run
# and benchmark it in the built-in runtime.
set -euo pipefail
BIN=${1:-build/bin/onnxpress}
cd "$(dirname "$0")/.."
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
echo "== onnxpress inspect models/fashion_mnist/model.onnx"
"$BIN" inspect models/fashion_mnist/model.onnx
echo
echo "== onnxpress compress models/fashion_mnist/model.onnx -o $WORK/clean.onnx --passes eliminate-dead"
"$BIN" compress models/fashion_mnist/model.onnx -o "$WORK/clean.onnx" --passes eliminate-dead
echo
echo "== onnxpress bench $WORK/clean.onnx --data models/fashion_mnist/eval.npz --threads 1"
"$BIN" bench "$WORK/clean.onnx" --data models/fashion_mnist/eval.npz --threads 1 --iterations 100
if /usr/bin/python3 -c "import numpy" 2>/dev/null; then
  /usr/bin/python3 -c "import numpy as np; d = np.load('models/fashion_mnist/eval.npz'); np.save('$WORK/x.npy', d['input'][0]); print('label of eval sample 0:', d['labels'][0])"
  echo "== onnxpress run $WORK/clean.onnx --input input=x.npy --output-dir $WORK"
  "$BIN" run "$WORK/clean.onnx" --input "input=$WORK/x.npy" --output-dir "$WORK"
  /usr/bin/python3 -c "import numpy as np; print('predicted class:', int(np.load('$WORK/logits.npy').argmax()))"
fi
