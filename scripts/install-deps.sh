#!/usr/bin/env bash
# Installs the Debian bookworm packages onnxpress needs to build and test.
# Idempotent: installs only what is missing. Run as root (or with sudo available).
set -euo pipefail

BUILD_PKGS=(
  cmake ninja-build g++ pkg-config ccache
  libonnx-dev libprotobuf-dev protobuf-compiler
  libeigen3-dev libcli11-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  nlohmann-json3-dev libyaml-cpp-dev libstb-dev
  zlib1g-dev libzstd-dev
)
TEST_PKGS=(libonnx-testdata dataset-fashion-mnist python3-numpy python3-onnx python3-venv chromium python3-jsonschema python3-pil zstd)

# ONNX Runtime (pip) in .venv for the parity tests and benchmarks; Debian's
# python3-* packages stay visible through --system-site-packages. Not fatal:
# without it those tests skip and say why.
install_ort_venv() {
  local root venv
  root=$(cd "$(dirname "$0")/.." && pwd)
  venv=$root/.venv
  if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import onnxruntime, numpy" 2>/dev/null; then return 0; fi
  echo "install-deps: creating $venv with onnxruntime" >&2
  { /usr/bin/python3 -m venv --system-site-packages "$venv" &&
    "$venv/bin/pip" install -q --disable-pip-version-check "onnxruntime==${ONNXRUNTIME_VERSION:-1.32.0}"; } >&2 ||
    echo "install-deps: warning: could not install onnxruntime; ORT parity tests will be skipped" >&2
}

missing=()
for p in "${BUILD_PKGS[@]}" "${TEST_PKGS[@]}" "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present" >&2
  install_ort_venv
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
install_ort_venv
