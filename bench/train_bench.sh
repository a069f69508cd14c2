#!/usr/bin/env bash
# Training benchmarks (issue 3): the Fashion-MNIST MLP (FP vs 4-bit/8-bit QAT, time per epoch and
# accuracy) and the smart-pixel pipeline on synthetic data. Results go to bench/results/.
# Usage: bash bench/train_bench.sh [BUILD_DIR]
set -euo pipefail
build=${1:-build/release}
mkdir -p bench/results
"$build/lowbit" train bench/configs/fmnist_mlp.yaml --out bench/results/fmnist_mlp
"$build/lowbit" train configs/smartpix_progressive.yaml --out bench/results/smartpix_progressive
