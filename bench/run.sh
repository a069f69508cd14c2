#!/usr/bin/env bash
# Runs every benchmark and writes the raw results under bench/results/ (JSON per program, and
# latency.md from bench/latency.sh).
# Usage: bash bench/run.sh BUILD_DIR      (make bench does this with build/release)
set -euo pipefail
build=${1:-build/release}
out=bench/results
mkdir -p "$out"
export OMP_NUM_THREADS=1
for prog in quant_bench threads_bench; do
  echo "== $prog"
  "$build/$prog" --benchmark_min_time=0.2 --benchmark_out="$out/$prog.json" --benchmark_out_format=json
done
# Latency of exported C vs LibTorch FP32 at batch 1 (trains its models the first time).
echo "== latency"
bash bench/latency.sh "$build" | tee "$out/latency.md"
