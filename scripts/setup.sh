#!/usr/bin/env bash
# Installs every Debian package lowbit needs. Idempotent: when all are present it does nothing.
# libclang-rt-14-dev holds clang's libFuzzer and sanitizer runtimes (tests/fuzz, `make fuzz`).
# The cross compilers and qemu-user build and run the MCU targets' C (lowbit verify --target,
# tests/mcu, bench/mcu).
# libopenblas0-openmp matters: without it LibTorch runs on the reference BLAS, about 20x slower.
# libonnx-dev writes and checks the ONNX export (src/lowbit/export/onnx/); Node.js runs ONNX
# Runtime from npm's onnxruntime-node (Debian has no ONNX Runtime), installed into tools/onnx
# from its package-lock.json, never globally, without its install script (which would download
# GPU binaries).
# librsvg2-bin (rsvg-convert) renders the report's plots as PNG (`lowbit report --png`); chromium
# is only for the report's browser test (tests/report/browser_test.cpp), skipped without it.
set -euo pipefail

onnx_runtime() {
  local tools
  tools="$(cd "$(dirname "$0")/.." && pwd)/tools/onnx"
  if [ -f "$tools/node_modules/onnxruntime-node/package.json" ]; then
    return 0
  fi
  echo "setup: installing onnxruntime-node into $tools"
  (cd "$tools" && npm ci --ignore-scripts --no-audit --no-fund)
}

packages=(
  cmake ninja-build make g++ clang clang-format libclang-rt-14-dev
  libtorch-dev libopenblas0-openmp libyaml-cpp-dev nlohmann-json3-dev libcli11-dev zlib1g-dev
  libhdf5-dev libpng-dev libgloo-dev
  googletest libgtest-dev libgmock-dev libbenchmark-dev
  dataset-fashion-mnist
  gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf gcc-arm-none-eabi libnewlib-arm-none-eabi
  qemu-user
  libonnx-dev
  librsvg2-bin chromium
)
# Node.js and npm: Debian's packages unless a node with npm is already installed.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  onnx_runtime
  exit 0
fi

echo "setup: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "setup: missing packages and not root; run as root: apt-get install ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q "${missing[@]}"
onnx_runtime
