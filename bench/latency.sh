#!/usr/bin/env bash
# Latency benchmark (issue 4): trains the requantized Fashion-MNIST 4-bit MLP
# (configs/fmnist_mcu_4bit.yaml), the smart-pixel Model2 (stage w4i0) and the depthwise CNN with
# folded batch norm (stage w4a8), exports each quantized stage, and times the exported C (cc -O2,
# batch 1; also -O3 -march=native) against LibTorch FP32 eager inference of the run's FP stage
# (batch 1, one thread) on 1000 test samples; median of 7 repetitions each.
# Prints a Markdown table (docs/results.md, "Latency"). Runs are kept under bench/results/latency/
# and reused when their stage was already trained.
# Usage: bash bench/latency.sh [BUILD_DIR]
set -euo pipefail
build=${1:-build/release}
out=bench/results/latency
mkdir -p "$out"
# One thread for LibTorch, its BLAS included: Debian's OpenBLAS runs its own thread pool, whose
# spinning workers also slowed the C harness on the other core of this 2-core machine.
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1

# name config fp_stage quantized_stage
models=(
  "fmnist_mcu_4bit configs/fmnist_mcu_4bit.yaml fp w4a8"
  "smartpix_model2 configs/smartpix_model2.yaml fp w4i0"
  "fmnist_cnn_mcu_bn configs/fmnist_cnn_mcu_bn.yaml fp w4a8"
)
echo "| model | samples | C -O2 (us/sample) | LibTorch FP32 (us/sample) | speedup | C -O3 -march=native (us/sample) | speedup | flash B | scratch B | FP32 weights B | MACs |"
echo "| ----- | ------: | ----------------: | ------------------------: | ------: | ------------------------------: | ------: | ------: | --------: | -------------: | ---: |"
for entry in "${models[@]}"; do
  read -r name config fp quantized <<<"$entry"
  run="$out/$name"
  for stage in "$fp" "$quantized"; do
    if [ ! -f "$run/$stage/best.pt" ]; then
      "$build/lowbit" train "$config" --out "$run" --stage "$stage" >"$run.$stage.log" 2>&1
    fi
  done
  "$build/lowbit" export "$run" --stage "$quantized" --target x86 --out "$run/export_$quantized" >/dev/null
  "$build/latency" --run "$run" --fp-stage "$fp" --export "$run/export_$quantized" --label "$name"
done
echo "(host: $(uname -m), $(getconf _NPROCESSORS_ONLN) cores, load average $(cut -d' ' -f1-3 /proc/loadavg))"
