#!/usr/bin/env bash
# bench/methods (issue 5): the low-bit training methods against the plain recipe on
# Fashion-MNIST, two seeds each, one thread:
#   cnn_2bit       2-bit W/A depthwise CNN: LSQ vs LSQ+BR(W) vs LSQ+BR(W+A)
#   mlp_clipping   2- and 4-bit MLP: absmax vs absmean vs OCTAV weight clipping
#   mlp_methods    SWA on/off, KD on/off, pruning 50/75/90%, self-compression (learned bits)
#   norm_*         the MLP with no norm, BatchNorm, LayerNorm and RMSNorm (FP and 2-bit)
# Runs go to OUT/EXPERIMENT/seedN (logs in train.log there); the table to OUT/table.md.
# Usage: bash bench/methods/run.sh [BUILD_DIR] [OUT]     (about 20 minutes on 2 cores)
set -euo pipefail
build=${1:-build/release}
out=${2:-bench/results/methods}
export OMP_NUM_THREADS=1
start=$(date +%s)

train() {  # train EXPERIMENT CONFIG SEED [--set ...]
  local name=$1 config=$2 seed=$3
  shift 3
  local dir="$out/$name/seed$seed"
  rm -rf "$dir"
  mkdir -p "$dir"
  echo "== $name seed $seed ($(($(date +%s) - start)) s)"
  "$build/lowbit" train "$config" --set "seed=$seed" --out "$dir" "$@" > "$dir.log" 2>&1 ||
    { tail -20 "$dir.log"; exit 1; }
  mv "$dir.log" "$dir/train.log"
}

for seed in 1 2; do
  train cnn_2bit bench/methods/cnn_2bit.yaml "$seed"
  train mlp_clipping bench/methods/mlp_clipping.yaml "$seed"
  train mlp_methods bench/methods/mlp_methods.yaml "$seed"
  for norm in none batch layer rms; do
    train "norm_$norm" bench/methods/mlp_norms.yaml "$seed" --set "model.norm=$norm"
  done
done
"$build/methods_table" "$out" > "$out/table.md"
cat "$out/table.md"
echo "total: $(($(date +%s) - start)) s"
