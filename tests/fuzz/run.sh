#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (make fuzz; FUZZ_SECONDS, FUZZ_TARGETS).
#   tests/fuzz/run.sh BUILD_DIR SECONDS TARGET...
# Each target starts from its committed corpus, its regressions and the generated
# seeds (make_seeds.py), and keeps what it finds new in BUILD_DIR/fuzz/corpus/<t>.
# A crash, leak, hang (> 10 s) or broken invariant is written to
# BUILD_DIR/fuzz/findings/<t>/ and the run goes on to the next target; the exit code
# is 1 when any target found something. One summary line per target goes to
# BUILD_DIR/fuzz/summary.txt, as docs/fuzzing.md records them.
set -uo pipefail
BUILD=$1; SECONDS_EACH=$2; shift 2
SRC=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$BUILD/fuzz
mkdir -p "$OUT"
/usr/bin/python3 "$SRC/tests/fuzz/make_seeds.py" "$OUT/seeds" > /dev/null
: > "$OUT/summary.txt"
status=0
for target in "$@"; do
  mkdir -p "$OUT/corpus/$target" "$OUT/findings/$target"
  log=$OUT/$target.log
  # -fork=1 runs the inputs in a child and keeps going after a finding (one job: the
  # machine's other core stays free).
  "$BUILD/bin/fuzz_$target" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2560 -max_len=65536 \
    -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 -artifact_prefix="$OUT/findings/$target/" \
    "$OUT/corpus/$target" "$OUT/seeds/$target" "$SRC/tests/fuzz/corpus/$target" "$SRC/tests/fuzz/regressions/$target" \
    > "$log" 2>&1
  code=$?
  runs=$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#')
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | grep -o '[0-9]*')
  findings=$(find "$OUT/findings/$target" -type f | wc -l)
  line="$target: ${SECONDS_EACH} s, ${runs:-?} inputs, coverage ${cov:-?} edges, corpus $(ls "$OUT/corpus/$target" | wc -l) files, findings $findings (exit $code)"
  echo "$line" | tee -a "$OUT/summary.txt"
  if [ "$code" -ne 0 ] || [ "$findings" -ne 0 ]; then
    status=1
    grep -A3 -E "ERROR: |fuzz invariant broken" "$log" | head -20 || true
  fi
done
exit $status
