#!/usr/bin/env bash
# The demo: the BitNetMCU-style Fashion-MNIST model (configs/fmnist_mcu_4bit.yaml): a full-precision
# baseline, then 4-bit weights / 8-bit activations warm-started from it, and the results table.
# Usage: scripts/demo.sh path/to/lowbit   (`make demo` builds it first and passes it)
set -euo pipefail

lowbit="${1:?usage: scripts/demo.sh path/to/lowbit}"
if [[ ! -x "$lowbit" ]]; then
  echo "demo.sh: '$lowbit' is not an executable; run 'make demo' to build it" >&2
  exit 1
fi
out="${LOWBIT_DEMO_OUT:-runs/fmnist_mcu_4bit}"

echo "== $("$lowbit" --version)"
echo "== Training configs/fmnist_mcu_4bit.yaml into $out"
echo "   ($lowbit train configs/fmnist_mcu_4bit.yaml --out $out)"
"$lowbit" train configs/fmnist_mcu_4bit.yaml --out "$out"
