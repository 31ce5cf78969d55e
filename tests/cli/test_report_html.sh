#!/usr/bin/env bash
# compress --report: the JSON report matches docs/report.schema.json and the files
# on disk; the HTML report renders in headless Chromium with its three charts, and
# a screenshot of it lands in build/test-artifacts/report.png for people to look at.
set -euo pipefail
BIN=$1; SRC=$2
PY=/usr/bin/python3
CHECK=$SRC/tests/cli/report_check.py
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
SAMPLE=$SRC/models/fashion_mnist

"$BIN" -q compress "$SAMPLE/model.onnx" -o "$TMP/out.onnx" --passes eliminate-dead \
  --eval-data "$SAMPLE/eval.npz" --report "$TMP/report.html" --report "$TMP/report.json" > "$TMP/stdout.txt"
test -s "$TMP/report.html"
test -s "$TMP/report.json"
"$PY" "$CHECK" json "$TMP/report.json" "$SRC/docs/report.schema.json" "$SAMPLE/model.onnx" "$TMP/out.onnx"
if grep -Eq 'https?://' "$TMP/report.html"; then
  echo "report.html refers to an external resource" >&2; exit 1
fi
if ls -A "$TMP" | grep -q '\.tmp-'; then
  echo "temporary files left behind" >&2; exit 1
fi

# An unknown report extension is a usage error and writes no report.
rc=0
"$BIN" -q compress "$SAMPLE/model.onnx" -o "$TMP/out2.onnx" --passes eliminate-dead \
  --report "$TMP/report.txt" > /dev/null 2> "$TMP/err.txt" || rc=$?
[ "$rc" -eq 1 ] || { echo "expected exit 1 for --report report.txt, got $rc" >&2; exit 1; }
grep -q "report.txt" "$TMP/err.txt"
[ ! -e "$TMP/report.txt" ]

if ! command -v chromium > /dev/null; then
  echo "SKIP: chromium is not installed (Debian package chromium); HTML rendering not checked"
  exit 0
fi
# Chromium as root needs --no-sandbox; a private profile keeps runs independent.
chrome() {
  timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --hide-scrollbars \
    --user-data-dir="$TMP/chromium-profile" "$@" 2> "$TMP/chromium.log" ||
    { echo "chromium failed:" >&2; tail -20 "$TMP/chromium.log" >&2; exit 1; }
}
chrome --dump-dom "file://$TMP/report.html" > "$TMP/dom.html"
"$PY" "$CHECK" dom "$TMP/dom.html" "$TMP/report.json"

ARTIFACTS=$(cd "$(dirname "$BIN")/.." && pwd)/test-artifacts
mkdir -p "$ARTIFACTS"
rm -f "$ARTIFACTS/report.png"
chrome --window-size=1200,3000 --screenshot="$ARTIFACTS/report.png" "file://$TMP/report.html"
"$PY" "$CHECK" png "$ARTIFACTS/report.png" "$TMP/report.json"
echo "report html: all checks passed (screenshot: $ARTIFACTS/report.png)"
