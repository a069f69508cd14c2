#!/usr/bin/env bash
# The GPU checks of issue 19, for a session that has a CUDA machine (it cannot run on the CPU-only
# Debian LibTorch). Builds lowbit against the LibTorch of a PyTorch 2.x installation with CUDA,
# then: (1) the *_CUDA tests (CPU-vs-CUDA agreement of every quantizer), (2) a short QAT run on
# the GPU, (3) the time per epoch of the ResNet-20 LSQ + BR config on the GPU and on the CPU.
# Prints everything docs/results.md needs; writes bench/results/cuda/.
# Usage: bash bench/cuda/check.sh            (python3 with torch installed; ~10 minutes)
set -euo pipefail
cd "$(dirname "$0")/../.."
out=bench/results/cuda
build=build/cuda
mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee "$out/gpu.txt"
prefix=$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')
python3 -c 'import torch;print("torch", torch.__version__, "cuda", torch.version.cuda)' | tee -a "$out/gpu.txt"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" \
  -DLOWBIT_WITH_CUDA=ON -DLOWBIT_BUILD_BENCH=OFF >"$out/configure.log"
cmake --build "$build" -j "$(nproc)" --target lowbit test_train test_dist >"$out/build.log" 2>&1 ||
  { tail -30 "$out/build.log"; exit 1; }

echo "== (1) *_CUDA tests"
"$build/test_train" --gtest_filter='*_CUDA*' 2>&1 | tee "$out/cuda_tests.txt" | tail -5

echo "== (2) short QAT run on the GPU (bench/ddp/resnet20_lsq_br.yaml: 2-bit LSQ + BR ResNet-20, 1 epoch)"
mkdir -p bench/results/ddp/data
[ -f bench/results/ddp/data/inputs.npy ] ||
  python3 bench/ddp/make_cifar_shaped.py bench/results/ddp/data 2048 1
"$build/lowbit" train bench/ddp/resnet20_lsq_br.yaml --set device=cuda --set stages.0.epochs=1 \
  --out "$out/qat_cuda" --no-report 2>&1 | tail -4

echo "== (3) ResNet-20 LSQ + BR: seconds per epoch, GPU then CPU (1 thread)"
for device in cuda cpu; do
  rm -rf "$out/resnet20_$device"
  OMP_NUM_THREADS=1 "$build/lowbit" train bench/ddp/resnet20_lsq_br.yaml --set device=$device \
    --out "$out/resnet20_$device" --no-report >"$out/resnet20_$device.log" 2>&1
  awk -F, -v d=$device 'NR > 1 { printf "   %s epoch %s: %s s\n", d, $2, $NF }' \
    "$out/resnet20_$device/metrics.csv"
done
