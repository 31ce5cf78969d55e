#!/usr/bin/env bash
# Batch throughput on the test zoo (24 valid models: 20 PyTorch-converted conformance
# models, the sample, the three parity models): a shell loop of single `compress`
# calls (the peer), then `batch --jobs 1` and `batch --jobs 2`, interleaved over
# ROUNDS rounds. Prints models per second and each batch's ratio to the loop.
#   bench/batch_throughput.sh [BIN] [ROUNDS]
set -euo pipefail
BIN=${1:-build/bin/onnxpress}; ROUNDS=${2:-3}
SRC=$(cd "$(dirname "$0")/.." && pwd)
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
CONF=/usr/share/libonnx-testdata/data/pytorch-converted
mkdir -p "$TMP/zoo"
for t in $(ls "$CONF" | grep -E '^test_(Conv|BatchNorm)' | head -20); do ln -s "$CONF/$t/model.onnx" "$TMP/zoo/$t.onnx"; done
cp "$SRC/models/fashion_mnist/model.onnx" "$TMP/zoo/fashion_mnist.onnx"
cp "$SRC"/models/parity/*.onnx "$TMP/zoo/"
printf 'version: 1\npipeline:\n  - pass: fold-constants\n  - pass: quantize\n    options: {mode: dynamic}\n' > "$TMP/recipe.yaml"
N=$(ls "$TMP/zoo" | wc -l)

now() { date +%s.%N; }
loop() {
  rm -rf "$TMP/loop"; mkdir -p "$TMP/loop"
  for m in "$TMP"/zoo/*.onnx; do
    n=$(basename "$m" .onnx); mkdir -p "$TMP/loop/$n"
    "$BIN" -q compress "$m" -o "$TMP/loop/$n/model.onnx" --recipe "$TMP/recipe.yaml" \
      --report "$TMP/loop/$n/report.json" --report "$TMP/loop/$n/report.html" > /dev/null || true
  done
}
batch() { rm -rf "$TMP/b$1"; "$BIN" -q batch "$TMP/zoo" --recipe "$TMP/recipe.yaml" --out-dir "$TMP/b$1" -j "$1" > /dev/null || true; }

declare -A total=([loop]=0 [j1]=0 [j2]=0)
for r in $(seq "$ROUNDS"); do
  for what in loop j1 j2; do
    t0=$(now)
    case $what in loop) loop ;; j1) batch 1 ;; j2) batch 2 ;; esac
    t1=$(now)
    dt=$(echo "$t1 - $t0" | bc -l)
    total[$what]=$(echo "${total[$what]} + $dt" | bc -l)
    printf 'round %d  %-4s %6.2f s\n' "$r" "$what" "$dt"
  done
done
for what in loop j1 j2; do
  mean=$(echo "${total[$what]} / $ROUNDS" | bc -l)
  printf '%-4s  %d models  mean %6.2f s  %5.2f models/s  %5.2fx the loop\n' "$what" "$N" "$mean" \
    "$(echo "$N / $mean" | bc -l)" "$(echo "(${total[loop]} / $ROUNDS) / $mean" | bc -l)"
done
