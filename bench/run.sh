#!/usr/bin/env bash
# Runs every benchmark and writes the raw results under bench/results/ (JSON per program).
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
