#!/usr/bin/env bash
# The README's demo: inspect the bundled Fashion-MNIST CNN, compress it with a
# three-pass pipeline (clean-up, low-rank factorization, dead-code removal) under
# an accuracy gate, write the report (HTML, Markdown, JSON) to demo-out/, then
# quantize the original to int8 (static QDQ, per channel) under a 0.5-point gate,
# and profile and run the compressed model in the built-in runtime.
set -euo pipefail
BIN=${1:-build/bin/onnxpress}
cd "$(dirname "$0")/.."
OUT=demo-out
mkdir -p "$OUT"
M=models/fashion_mnist
PIPELINE="simplify,lowrank{ratio=0.25 op-types=Gemm},eliminate-dead"
echo "== onnxpress inspect $M/model.onnx"
"$BIN" inspect "$M/model.onnx"
echo
echo "== onnxpress compress $M/model.onnx -o $OUT/model.onnx --passes '$PIPELINE' --eval-data $M/eval.npz --max-accuracy-drop 1% --report ..."
"$BIN" compress "$M/model.onnx" -o "$OUT/model.onnx" --passes "$PIPELINE" \
  --eval-data "$M/eval.npz" --max-accuracy-drop 1% \
  --report "$OUT/report.html" --report "$OUT/report.md" --report "$OUT/report.json" --save-recipe "$OUT/recipe.yaml"
echo "reports: $OUT/report.html (open in a browser), $OUT/report.md, $OUT/report.json; recipe: $OUT/recipe.yaml"
echo
echo "== onnxpress quantize $M/model.onnx -o $OUT/int8.onnx --per-channel --calib-data $M/calib.npz --eval-data $M/eval.npz --max-accuracy-drop 0.5% --report $OUT/int8.html"
"$BIN" quantize "$M/model.onnx" -o "$OUT/int8.onnx" --per-channel --calib-data "$M/calib.npz" \
  --eval-data "$M/eval.npz" --max-accuracy-drop 0.5% --report "$OUT/int8.html"
echo "report: $OUT/int8.html (per-tensor scales and zero points, per-layer SQNR)"
echo
echo "== onnxpress profile $OUT/model.onnx --data $M/eval.npz --top 3"
"$BIN" profile "$OUT/model.onnx" --data "$M/eval.npz" --top 3
echo
echo "== onnxpress bench $OUT/model.onnx --data $M/eval.npz --threads 1"
"$BIN" bench "$OUT/model.onnx" --data "$M/eval.npz" --threads 1 --iterations 100
if /usr/bin/python3 -c "import numpy" 2>/dev/null; then
  /usr/bin/python3 -c "import numpy as np; d = np.load('$M/eval.npz'); np.save('$OUT/x.npy', d['input'][0]); print('label of eval sample 0:', d['labels'][0])"
  echo "== onnxpress run $OUT/model.onnx --input input=$OUT/x.npy --output-dir $OUT"
  "$BIN" run "$OUT/model.onnx" --input "input=$OUT/x.npy" --output-dir "$OUT"
  /usr/bin/python3 -c "import numpy as np; print('predicted class:', int(np.load('$OUT/logits.npy').argmax()))"
fi
