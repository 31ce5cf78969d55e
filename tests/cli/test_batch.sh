#!/usr/bin/env bash
# batch end to end on a zoo of 25 models (20 PyTorch-converted conformance models at
# opset 6, the sample, the parity models, a name collision and a broken file):
#   - one run: every model indexed once, in manifest order, with unique names, its
#     outputs and links; the exit code is the worst status's (invalid: 2);
#   - 3 shards as concurrent processes, merged: they cover the zoo exactly once and
#     the merged index equals the single run's (timings aside);
#   - resume: a rerun reuses everything and rewrites nothing; a batch killed with -9
#     mid-run leaves only complete model directories, and a rerun completes it;
#     SIGTERM or SIGINT stops the children and exits 130;
#   - limits and failures: --timeout (exit 6), --max-rss (exit 7), a crashing child
#     (exit 5), and usage errors (exit 1).
set -euo pipefail
BIN=$1; SRC=$2
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
CONF=/usr/share/libonnx-testdata/data/pytorch-converted

mkdir -p "$TMP/zoo/more"
for t in $(ls "$CONF" | grep -E '^test_(Conv|BatchNorm)' | head -20); do
  ln -s "$CONF/$t/model.onnx" "$TMP/zoo/$t.onnx"
done
cp "$SRC/models/fashion_mnist/model.onnx" "$TMP/zoo/fashion_mnist.onnx"
cp "$SRC/models/parity/resnet_small.onnx" "$TMP/zoo/more/fashion_mnist.onnx"  # same stem: fashion_mnist-2
cp "$SRC/models/parity/bert_tiny.onnx" "$SRC/models/parity/lstm_small.onnx" "$TMP/zoo/more/"
echo "not a model" > "$TMP/zoo/broken.onnx"
cat > "$TMP/recipe.yaml" <<'EOF'
version: 1
pipeline:
  - pass: fold-constants
  - pass: quantize
    options: {mode: dynamic}
EOF
(cd "$TMP/zoo" && find . -name '*.onnx' | sed 's|^\./||' | sort > ../manifest.txt)
N=$(wc -l < "$TMP/manifest.txt")
[ "$N" -eq 25 ] || { echo "zoo has $N models"; exit 1; }
cp "$TMP/manifest.txt" "$TMP/zoo/manifest.txt"

run_batch() {  # expected-exit args...
  local want=$1; shift
  set +e
  "$BIN" batch "$@" > "$TMP/out.txt" 2> "$TMP/err.txt"
  local code=$?
  set -e
  [ "$code" -eq "$want" ] || { echo "batch $*: expected exit $want, got $code"; cat "$TMP/err.txt"; exit 1; }
}

# 1. One process, two jobs, the directory form of the manifest.
run_batch 2 "$TMP/zoo" --recipe "$TMP/recipe.yaml" --out-dir "$TMP/all" -j 2 -n 1
grep -q "not every model is ok: 1 invalid" "$TMP/err.txt"
/usr/bin/python3 - "$TMP/all" 25 <<'PYEOF'
import csv, json, os, sys
out, n = sys.argv[1], int(sys.argv[2])
index = json.load(open(os.path.join(out, "index.json")))
assert index["schema"] == "onnxpress.batch-index" and index["exit_code"] == 2, index["exit_code"]
models = index["models"]
assert len(models) == n, len(models)
assert [m["index"] for m in models] == list(range(n))
names = [m["name"] for m in models]
assert len(set(names)) == n, names
assert "fashion_mnist" in names and "fashion_mnist-2" in names, names
by = {m["name"]: m for m in models}
assert by["broken"]["status"] == "invalid" and "not a valid ONNX" in by["broken"]["error"], by["broken"]
assert index["counts"] == {"ok": n - 1, "invalid": 1}, index["counts"]
for m in models:
    d = os.path.join(out, m["name"])
    assert json.load(open(os.path.join(d, "batch.json")))["input_hash"] == m["input_hash"]
    if m["status"] == "ok":
        for f in ("model.onnx", "report.json", "report.html"):
            assert os.path.getsize(os.path.join(d, f)) > 0, (m["name"], f)
            assert m["files"][f] == m["name"] + "/" + f
        assert m["size_after"] < m["size_before"], m
assert by["fashion_mnist"]["size_ratio"] > 3, by["fashion_mnist"]  # int8 weights
rows = list(csv.DictReader(open(os.path.join(out, "index.csv"))))
assert [r["name"] for r in rows] == names
html = open(os.path.join(out, "index.html")).read()
assert all(f'href="{m}/report.html"' in html for m in names if m != "broken")
assert not os.path.exists(os.path.join(out, ".work"))
PYEOF

# 2. Three shards at once (the manifest-file form), then merged.
pids=()
for i in 0 1 2; do
  "$BIN" -q batch "$TMP/zoo/manifest.txt" --recipe "$TMP/recipe.yaml" --out-dir "$TMP/shard$i" \
    --shard $i/3 -j 1 -t 1 -n 1 2> "$TMP/shard$i.err" & pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || true; done
"$BIN" -q batch-merge "$TMP/shard0" "$TMP/shard1" "$TMP/shard2" --out-dir "$TMP/merged"
/usr/bin/python3 - "$TMP" <<'PYEOF'
import json, os, sys
tmp = sys.argv[1]
timing = {"seconds", "peak_rss_mb", "peak_owned_mb", "latency_before_ms", "latency_after_ms", "speedup", "tool"}
def strip(m):
    return {k: v for k, v in m.items() if k not in timing}
single = [strip(m) for m in json.load(open(f"{tmp}/all/index.json"))["models"]]
shards = [json.load(open(f"{tmp}/shard{i}/index.json"))["models"] for i in range(3)]
names = [m["name"] for s in shards for m in s]
assert sorted(names) == sorted(m["name"] for m in single), "shards do not cover the zoo exactly once"
assert all(len(s) > 0 for s in shards), [len(s) for s in shards]
merged = json.load(open(f"{tmp}/merged/index.json"))
assert [strip(m) for m in merged["models"]] == single, "merged index differs from the single run"
for m in merged["models"]:
    if m["status"] == "ok":
        assert os.path.getsize(f"{tmp}/merged/{m['name']}/model.onnx") > 0
PYEOF
# Overlapping shards are refused.
set +e
"$BIN" -q batch-merge "$TMP/shard0" "$TMP/shard0" --out-dir "$TMP/bad-merge" 2> "$TMP/err.txt"; code=$?
set -e
[ "$code" -eq 2 ] && grep -q "shards must not overlap" "$TMP/err.txt"

# 3. Resume: nothing reruns, nothing is rewritten.
before=$(stat -c %i:%Y "$TMP/all/fashion_mnist/model.onnx")
run_batch 2 "$TMP/zoo" --recipe "$TMP/recipe.yaml" --out-dir "$TMP/all" -j 2 -n 1
grep -q "0 to run, 25 reused" "$TMP/err.txt"
[ "$(stat -c %i:%Y "$TMP/all/fashion_mnist/model.onnx")" = "$before" ]
# A changed recipe reruns everything.
sed 's/mode: dynamic/mode: dynamic, per-channel: false/' "$TMP/recipe.yaml" > "$TMP/recipe2.yaml"
run_batch 2 "$TMP/zoo" --recipe "$TMP/recipe2.yaml" --out-dir "$TMP/all" -j 2 -n 1
grep -q "25 to run, 0 reused" "$TMP/err.txt"

# kill -9 mid-run: only whole model directories remain; the rerun finishes the zoo.
"$BIN" batch "$TMP/zoo" --recipe "$TMP/recipe.yaml" --out-dir "$TMP/killed" -j 1 -n 200 2> /dev/null &
victim=$!
for _ in $(seq 100); do
  [ "$(find "$TMP/killed" -maxdepth 2 -name batch.json 2>/dev/null | wc -l)" -ge 2 ] && break
  sleep 0.05
done
{ kill -9 "$victim"; wait "$victim"; } 2> /dev/null || true
sleep 0.2
for d in "$TMP"/killed/*/; do
  test -f "$d/batch.json" || { echo "half-written model directory $d"; exit 1; }
done
done_before=$(find "$TMP/killed" -maxdepth 2 -name batch.json | wc -l)
[ "$done_before" -ge 2 ] && [ "$done_before" -lt 25 ] || { echo "killed batch finished $done_before models"; exit 1; }
run_batch 2 "$TMP/zoo" --recipe "$TMP/recipe.yaml" --out-dir "$TMP/killed" -j 2 -n 1
grep -q "reused from an earlier run" "$TMP/err.txt"
[ "$(/usr/bin/python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['models']))" "$TMP/killed/index.json")" -eq 25 ]

# SIGTERM and SIGINT: the children stop, the published directories stay whole, exit 130.
for sig in TERM INT; do
  "$BIN" batch "$TMP/zoo" --recipe "$TMP/recipe.yaml" --out-dir "$TMP/sig$sig" -j 2 -n 200 2> "$TMP/sig.err" &
  victim=$!
  for _ in $(seq 100); do
    [ "$(find "$TMP/sig$sig" -maxdepth 2 -name batch.json 2>/dev/null | wc -l)" -ge 2 ] && break
    sleep 0.05
  done
  kill -$sig "$victim"
  set +e; wait "$victim"; code=$?; set -e
  [ "$code" -eq 130 ] || { echo "SIG$sig: expected exit 130, got $code"; cat "$TMP/sig.err"; exit 1; }
  grep -q "rerun the same command to resume" "$TMP/sig.err"
  for d in "$TMP/sig$sig"/*/; do test -f "$d/batch.json"; done
  ! pgrep -f "$TMP/sig$sig/.work" > /dev/null || { echo "SIG$sig: children outlived the batch"; exit 1; }
done

# An --out-dir inside the zoo directory is not searched for models on a rerun.
cp -r "$TMP/zoo/more" "$TMP/inner"
run_batch 0 "$TMP/inner" --recipe "$TMP/recipe.yaml" --out-dir "$TMP/inner/out" -n 1
run_batch 0 "$TMP/inner" --recipe "$TMP/recipe.yaml" --out-dir "$TMP/inner/out" -n 1
grep -q "3 of 3 models in this shard; 0 to run, 3 reused" "$TMP/err.txt"

# 4. Limits and failures, each with its exit code and status.
echo "fashion_mnist.onnx" > "$TMP/zoo/one.txt"
run_batch 6 "$TMP/zoo/one.txt" --recipe "$TMP/recipe.yaml" --out-dir "$TMP/slow" -n 1000000 --timeout 1
grep -q '"status": "timed-out"' "$TMP/slow/fashion_mnist/batch.json"
# A model whose 32 MB of inline weights the child parses into memory of its own.
mkdir "$TMP/fatzoo"
/usr/bin/python3 - "$TMP/fatzoo/big.onnx" <<'PYEOF'
import sys
import numpy as np
from onnx import TensorProto, helper, numpy_helper, save
w = numpy_helper.from_array(np.ones((2048, 4096), np.float32), "W")
graph = helper.make_graph([helper.make_node("MatMul", ["X", "W"], ["Y"])], "big",
                          [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 2048])],
                          [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, 4096])], [w])
save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), sys.argv[1])
PYEOF
run_batch 7 "$TMP/fatzoo" --recipe "$TMP/recipe.yaml" --out-dir "$TMP/fat" -n 1000000 --max-rss 16 --timeout 300
grep -q '"status": "out-of-memory"' "$TMP/fat/big/batch.json"
printf '#!/bin/sh\nkill -SEGV $$\n' > "$TMP/crash.sh"; chmod +x "$TMP/crash.sh"
ONNXPRESS_BATCH_CHILD="$TMP/crash.sh" run_batch 5 "$TMP/zoo/one.txt" --recipe "$TMP/recipe.yaml" --out-dir "$TMP/crash"
grep -q '"status": "crashed"' "$TMP/crash/fashion_mnist/batch.json"
grep -q "killed by signal 11" "$TMP/crash/index.csv"
run_batch 1 "$TMP/zoo" --recipe "$TMP/recipe.yaml" --out-dir "$TMP/x" --shard 3/3
grep -q "expected i/n with 0 <= i < n" "$TMP/err.txt"
printf 'version: 1\npipeline:\n  - pass: no-such-pass\n' > "$TMP/bad_recipe.yaml"
run_batch 1 "$TMP/zoo/one.txt" --recipe "$TMP/bad_recipe.yaml" --out-dir "$TMP/badr"
grep -q "no-such-pass" "$TMP/err.txt"
test ! -e "$TMP/badr"
run_batch 2 "$TMP/zoo/nothing.txt" --recipe "$TMP/recipe.yaml" --out-dir "$TMP/x"
grep -q "cannot read the manifest" "$TMP/err.txt"
echo "batch: ok"
