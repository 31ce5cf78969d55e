# Sourced by CLI tests that need ONNX Runtime: sets PY to a Python that imports
# onnxruntime, numpy and onnx, or prints SKIP and exits 0 when there is none.
PY=""
for candidate in "$SRC/.venv/bin/python" /usr/bin/python3 python3; do
  if "$candidate" -c "import onnxruntime, numpy, onnx" 2>/dev/null; then PY=$candidate; break; fi
done
if [ -z "$PY" ]; then
  echo "SKIP: onnxruntime is not installed (scripts/install-deps.sh puts it in .venv; pip install onnxruntime)"
  exit 0
fi
