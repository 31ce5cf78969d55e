#!/usr/bin/env bash
# Bad input through the CLI: one line on stderr naming the file, a distinct exit
# code, nothing on stdout, and the input never touched.
set -uo pipefail
BIN=$1; SRC=$2
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
SAMPLE=$SRC/models/fashion_mnist/model.onnx
fails=0; checks=0

# expect CODE FRAGMENT -- ARGS...
expect() {
  local code=$1 fragment=$2; shift 3
  checks=$((checks + 1))
  "$BIN" "$@" >"$TMP/out" 2>"$TMP/err"; local rc=$?
  local lines; lines=$(grep -c '' "$TMP/err")
  if [ "$rc" != "$code" ] || ! grep -qF -- "$fragment" "$TMP/err" || [ "$lines" != 1 ] || [ -s "$TMP/out" ]; then
    echo "FAIL: onnxpress $* -> exit $rc (want $code), $lines stderr lines, want '$fragment':"; sed 's/^/  | /' "$TMP/err"
    fails=$((fails + 1))
  fi
}

: > "$TMP/empty.onnx"
printf 'just some text\n' > "$TMP/text.onnx"
head -c 4000 "$SAMPLE" > "$TMP/truncated.onnx"
mkdir "$TMP/dir.onnx"

expect 2 "no such file" -- inspect "$TMP/missing.onnx"
expect 2 "file is empty" -- inspect "$TMP/empty.onnx"
expect 2 "is a directory" -- inspect "$TMP/dir.onnx"
expect 2 "truncated.onnx: not a valid ONNX protobuf" -- inspect "$TMP/truncated.onnx"
expect 2 "text.onnx" -- inspect "$TMP/text.onnx"
expect 2 "no such file" -- compress "$TMP/missing.onnx" -o "$TMP/o.onnx" --passes eliminate-dead

expect 1 "" -- inspect
expect 1 "" -- bogus-command
expect 1 "" -- inspect "$SAMPLE" --no-such-flag
expect 1 "unknown pass 'nope'" -- compress "$SAMPLE" -o "$TMP/o.onnx" --passes nope
expect 1 "pass 'eliminate-dead': unknown option 'x'" -- compress "$SAMPLE" -o "$TMP/o.onnx" --passes 'eliminate-dead{x=1}'
expect 1 "unbalanced" -- compress "$SAMPLE" -o "$TMP/o.onnx" --passes 'eliminate-dead{'
expect 1 "output directory does not exist" -- compress "$SAMPLE" -o "$TMP/nowhere/o.onnx" --passes eliminate-dead

cp "$SAMPLE" "$TMP/in.onnx"; before=$(sha256sum < "$TMP/in.onnx")
expect 1 "refusing to overwrite the input" -- compress "$TMP/in.onnx" -o "$TMP/in.onnx" --passes eliminate-dead
expect 1 "refusing to overwrite the input" -- compress "$TMP/in.onnx" -o "$TMP/./in.onnx" --passes eliminate-dead
ln -s "$TMP/in.onnx" "$TMP/link.onnx"
expect 1 "refusing to overwrite the input" -- compress "$TMP/in.onnx" -o "$TMP/link.onnx" --passes eliminate-dead
[ "$before" = "$(sha256sum < "$TMP/in.onnx")" ] || { echo "FAIL: the input was modified"; fails=$((fails + 1)); }
[ -z "$(find "$TMP" -name '*.tmp-*')" ] || { echo "FAIL: temporary files left behind"; fails=$((fails + 1)); }

# A model the onnx checker rejects still loads: the checker only warns.
/usr/bin/python3 - "$TMP/checker.onnx" <<'PYEOF'
import sys, onnx
from onnx import helper, TensorProto
n = helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2, 2], ceil_mode=1)  # ceil_mode is MaxPool-10+
g = helper.make_graph([n], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 4, 4])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, 2, 2])])
onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 7)]), sys.argv[1])
PYEOF
checks=$((checks + 1))
if ! "$BIN" inspect "$TMP/checker.onnx" >/dev/null 2>"$TMP/err" || ! grep -q "warning.*onnx checker.*ceil_mode" "$TMP/err"; then
  echo "FAIL: checker problems should be a warning, got:"; cat "$TMP/err"; fails=$((fails + 1))
fi

"$BIN" --help | grep -q "Exit codes" || { echo "FAIL: --help does not document exit codes"; fails=$((fails + 1)); }
"$BIN" --version | grep -qE '^onnxpress [0-9]+\.[0-9]+' || { echo "FAIL: --version"; fails=$((fails + 1)); }
for cmd in inspect passes compress; do
  "$BIN" "$cmd" --help >/dev/null || { echo "FAIL: $cmd --help"; fails=$((fails + 1)); }
done

# Global options are accepted after the subcommand too (-q there silences the info log).
checks=$((checks + 1))
out=$("$BIN" quantize "$SRC/models/fashion_mnist/model.onnx" -o "$TMP/q_after.onnx" --mode dynamic -q -n 0 2>&1 >/dev/null)
{ [ -z "$out" ] && [ -s "$TMP/q_after.onnx" ]; } || { echo "FAIL: -q after the subcommand: $out"; fails=$((fails + 1)); }

echo "cli errors: $((checks - fails)) of $checks checks passed"
[ "$fails" = 0 ]
