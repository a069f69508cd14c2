#!/usr/bin/env bash
# The demo: lowbit's best model at BitNetMCU's 4-bit budget (configs/fmnist_mcu_best_4bit.yaml,
# issue 17): a Fashion-MNIST MLP 76/64/64 on 20x20 pixels with BitNetMCU's per-sample shift
# normalisation, its first layer's weights at 2 bits and the rest at 4. A full-precision baseline,
# then the quantized stage (8-bit activations) warm-started from it (60 epochs each, 83-158 s
# after the build on an idle 2-core machine, by CPU), the results table, and the quantized stage
# exported as integer-only C (12,400 bytes of flash, the weights alone), verified on the test set
# (0 mismatches) and sized, then exported for an RV32EC microcontroller and verified under
# qemu-riscv32 (instructions, flash, RAM), and last the run's HTML report (plots of every stage;
# `lowbit train` writes it unless --no-report, here it is written once at the end).
# Usage: scripts/demo.sh path/to/lowbit   (`make demo` builds it first and passes it)
set -euo pipefail

lowbit="${1:?usage: scripts/demo.sh path/to/lowbit}"
if [[ ! -x "$lowbit" ]]; then
  echo "demo.sh: '$lowbit' is not an executable; run 'make demo' to build it" >&2
  exit 1
fi
config=configs/fmnist_mcu_best_4bit.yaml
out="${LOWBIT_DEMO_OUT:-runs/fmnist_mcu_best_4bit}"

echo "== $("$lowbit" --version)"
echo "== Training $config into $out"
echo "   ($lowbit train $config --out $out --no-report)"
"$lowbit" train "$config" --out "$out" --no-report

echo "== Exporting stage w4a8 as integer-only C into $out/export"
echo "   ($lowbit export $out --stage w4a8 --out $out/export)"
"$lowbit" export "$out" --stage w4a8 --out "$out/export"

echo "== Verifying the C model on the test set (must report 0 mismatches)"
echo "   ($lowbit verify $out/export --run $out)"
"$lowbit" verify "$out/export" --run "$out"

echo "== Size on the device"
echo "   ($lowbit size $out/export)"
"$lowbit" size "$out/export"

echo "== The same stage for a 16 kB RISC-V microcontroller (RV32EC, no multiplier), verified under qemu"
echo "   ($lowbit export $out --stage w4a8 --target rv32e --out $out/export_rv32e)"
"$lowbit" export "$out" --stage w4a8 --target rv32e --out "$out/export_rv32e"
echo "   ($lowbit verify $out/export_rv32e --run $out)"
"$lowbit" verify "$out/export_rv32e" --run "$out"

echo "== The run's report: curves, accuracy against bits and bytes, weight histograms, confusion matrix"
echo "   ($lowbit report $out)"
"$lowbit" report "$out"
