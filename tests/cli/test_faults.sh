#!/usr/bin/env bash
# Faults a user meets (issue 17):
#   - determinism: the same input, options and threads give byte-identical models and
#     the same report figures, timings aside (static quantization with calibration);
#   - a disk that fills while writing (a 200 KiB tmpfs; SKIP where mounting is not
#     allowed): exit 3 naming the cause, nothing under the final name, no temporary file;
#   - an input that is missing, or a directory: exit 2, one line;
#   - SIGTERM, SIGINT and SIGHUP at any moment of `compress`: the output is absent or
#     complete (identical to an uninterrupted run), and no temporary file is left;
#   - a 2.25 GB model (external data, past protobuf's 2 GB limit) goes through
#     `batch` under --max-rss 1000: weights stay memory-mapped, never copied, and
#     the sizes in the index count the external data on both sides.
set -euo pipefail
BIN=$1; SRC=$2
TMP=$(mktemp -d)
cleanup() { mountpoint -q "$TMP/full" 2>/dev/null && umount "$TMP/full"; rm -rf "$TMP"; }
trap cleanup EXIT
M=$SRC/models/fashion_mnist
RUN=(compress "$M/model.onnx" --passes "fold-constants,quantize{mode=static calib-samples=64}" --calib-data "$M/calib.npz" -t 2)

# 1. Determinism.
"$BIN" -q "${RUN[@]}" -o "$TMP/a.onnx" --report "$TMP/a.json" > /dev/null
"$BIN" -q "${RUN[@]}" -o "$TMP/b.onnx" --report "$TMP/b.json" > /dev/null
cmp "$TMP/a.onnx" "$TMP/b.onnx"
/usr/bin/python3 - "$TMP/a.json" "$TMP/b.json" <<'PYEOF'
import json, sys
def strip(x):
    if isinstance(x, dict):
        return {k: strip(v) for k, v in x.items()
                if "latency" not in k and k not in ("seconds", "output", "peak_rss_mb")}
    if isinstance(x, list):
        return [strip(v) for v in x]
    return x
a, b = (strip(json.load(open(p))) for p in sys.argv[1:])
assert a == b, "reports differ beyond timings"
PYEOF

# 2. Disk full.
mkdir "$TMP/full"
if mount -t tmpfs -o size=200k tmpfs "$TMP/full" 2> /dev/null; then
  set +e
  "$BIN" -q "${RUN[@]}" -o "$TMP/full/out.onnx" 2> "$TMP/err.txt"; code=$?
  set -e
  [ "$code" -eq 3 ] || { echo "disk full: expected exit 3, got $code"; cat "$TMP/err.txt"; exit 1; }
  grep -q "No space left on device" "$TMP/err.txt" || { echo "disk full: cause not named:"; cat "$TMP/err.txt"; exit 1; }
  [ "$(wc -l < "$TMP/err.txt")" -eq 1 ]
  [ -z "$(ls -A "$TMP/full")" ] || { echo "disk full left files: $(ls -A "$TMP/full")"; exit 1; }
  umount "$TMP/full"
else
  echo "SKIP disk-full check: cannot mount a tmpfs here"
fi

# 3. Missing or unreadable inputs.
for bad in "$TMP/vanished.onnx" "$TMP"; do
  set +e
  "$BIN" -q compress "$bad" -o "$TMP/never.onnx" --passes eliminate-dead 2> "$TMP/err.txt"; code=$?
  set -e
  [ "$code" -eq 2 ] && [ "$(wc -l < "$TMP/err.txt")" -eq 1 ] || { echo "$bad: exit $code"; cat "$TMP/err.txt"; exit 1; }
  test ! -e "$TMP/never.onnx"
done

# 4. Signals at any moment: the output is absent or whole; no temporary files.
mkdir "$TMP/sig"
for sig in TERM INT HUP; do
  for delay in 0.05 0.15 0.3 0.6; do
    rm -f "$TMP/sig/out.onnx" "$TMP/sig/out.json"
    "$BIN" -q "${RUN[@]}" -o "$TMP/sig/out.onnx" --report "$TMP/sig/out.json" -n 2000 > /dev/null 2>&1 &
    pid=$!
    sleep "$delay"
    kill -"$sig" "$pid" 2> /dev/null || true
    wait "$pid" 2> /dev/null || true
    if [ -e "$TMP/sig/out.onnx" ]; then
      cmp "$TMP/a.onnx" "$TMP/sig/out.onnx" || { echo "SIG$sig after ${delay}s: partial output"; exit 1; }
    fi
    leftovers=$(ls -A "$TMP/sig" | grep -c '\.tmp-' || true)
    [ "$leftovers" -eq 0 ] || { echo "SIG$sig after ${delay}s left: $(ls -A "$TMP/sig")"; exit 1; }
  done
done
# 5. A model of more than 2 GB through batch, in bounded memory.
/usr/bin/python3 "$SRC/tests/cli/make_large_model.py" "$TMP/large"
echo large.onnx > "$TMP/large/zoo.txt"
printf 'version: 1\npipeline:\n  - simplify\n' > "$TMP/large/recipe.yaml"
"$BIN" -q batch "$TMP/large/zoo.txt" --recipe "$TMP/large/recipe.yaml" --out-dir "$TMP/large/out" -j 1 -n 1 \
  --max-rss 1000 2> "$TMP/err.txt" || { echo "large model: batch failed"; cat "$TMP/err.txt"; exit 1; }
rm "$TMP/large/large.onnx.data"  # the output must not lean on the input's weights
/usr/bin/python3 - "$TMP/large/out/index.json" <<'PYEOF'
import json, os, sys
record = json.load(open(sys.argv[1]))["models"][0]
assert record["status"] == "ok", record
assert 0.99 < record["size_ratio"] < 1.01, f"sizes miscounted: {record['size_before']} -> {record['size_after']}"
assert record["peak_owned_mb"] < 1000, record["peak_owned_mb"]
out = os.path.join(os.path.dirname(sys.argv[1]), "large")
assert os.path.getsize(os.path.join(out, "model.onnx.data")) > 2**31
print(f"large model: {record['size_after'] / 2**30:.2f} GiB, peak owned {record['peak_owned_mb']:.0f} MB, "
      f"peak resident {record['peak_rss_mb']:.0f} MB")
PYEOF
"$BIN" inspect "$TMP/large/out/large/model.onnx" | grep -q "603,979,776\|603979776" ||
  { echo "large model: the output does not load"; "$BIN" inspect "$TMP/large/out/large/model.onnx" | head; exit 1; }
echo "faults: ok"
