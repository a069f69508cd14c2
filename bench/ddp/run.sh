#!/usr/bin/env bash
# Data-parallel epoch times (issue 19): the Fashion-MNIST MLP (configs/fmnist_mcu_4bit.yaml, one
# epoch of each stage) and ResNet-20 2-bit LSQ + BR (bench/ddp/resnet20_lsq_br.yaml on random
# CIFAR-shaped data) at 1 and 2 ranks (`lowbit train --nproc`), one thread per rank. Prints the
# seconds of every epoch (metrics.csv, validation included), the allreduce time per step that
# rank 0 logs, and the load average before each run (other jobs share the cores).
# Usage: bash bench/ddp/run.sh [BUILD_DIR]      results: bench/results/ddp/
set -euo pipefail
build=${1:-build/release}
out=bench/results/ddp
mkdir -p "$out/data"
[ -f "$out/data/inputs.npy" ] || python3 bench/ddp/make_cifar_shaped.py "$out/data" 2048 1
export OMP_NUM_THREADS=1

run() {  # NAME CONFIG NPROC ARGS...
  local name=$1 config=$2 nproc=$3
  shift 3
  local dir="$out/$name-np$nproc"
  rm -rf "$dir"
  echo "== $name, $nproc rank(s); load average $(cut -d' ' -f1-3 /proc/loadavg)"
  local start=$(date +%s.%N)
  "$build/lowbit" train "$config" --out "$dir" --nproc "$nproc" --no-report "$@" >"$dir.log" 2>&1 ||
    { tail -5 "$dir.log"; return 1; }
  local end=$(date +%s.%N)
  # stage, epoch, seconds of every epoch
  awk -F, 'NR > 1 { printf "   %s epoch %s: %s s\n", $1, $2, $NF }' "$dir/metrics.csv"
  grep -h "allreduce" "$dir.log" | sed 's/^/   /' || true
  echo "   wall $(echo "$end - $start" | bc) s (start-up, data loading and test included)"
}

for n in 1 2; do
  run fmnist_mlp configs/fmnist_mcu_4bit.yaml "$n" --set stages.0.epochs=1 --set stages.1.epochs=1
done
for n in 1 2; do
  run resnet20 bench/ddp/resnet20_lsq_br.yaml "$n"
done
