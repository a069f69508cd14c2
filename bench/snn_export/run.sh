#!/usr/bin/env bash
# Seed 003's spiking flow net to integer C (issue 15): trains configs/snn_flow_export.yaml (FP ->
# w8 -> w4, integer LIF, batch norms folded) at one thread, exports w8 and w4 for the portable
# target and for the Cortex-M4, verifies each on the test set (C against the C++ reference, the
# C model's AEE next to the fake-quantized model's, MACs and synaptic operations per time step,
# spike rates; on the Cortex-M4 under qemu-arm the instructions of one whole 5-step inference,
# flash and RAM) and prints the lines docs/results.md quotes ("Spiking flow export").
# Usage: bash bench/snn_export/run.sh [BUILD_DIR] [RUN_DIR]
#   With RUN_DIR (a finished run of the config) the training is skipped.
# Everything goes to bench/results/snn_export/ (replaced).
set -euo pipefail
build=${1:-build/release}
out=bench/results/snn_export
run=${2:-$out/run}
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
if [ -z "${2:-}" ]; then
  rm -rf "$out"
  mkdir -p "$out"
  start=$(date +%s)
  "$build/lowbit" train configs/snn_flow_export.yaml --out "$run" --no-report >"$out/train.log" 2>&1 ||
    { tail -20 "$out/train.log"; exit 1; }
  echo "wall time of lowbit train: $(($(date +%s) - start)) s"
else
  mkdir -p "$out"
fi
sed -n '/^| stage/,/^$/p' "$run/results.md"
for stage in w8 w4; do
  for target in portable cortex-m4; do
    exp="$out/export_${stage}_$target"
    "$build/lowbit" export "$run" --stage "$stage" --target "$target" --out "$exp" --force \
      >"$exp.log" 2>&1 || { tail -5 "$exp.log"; exit 1; }
    echo "== $stage, $target"
    start=$(date +%s)
    "$build/lowbit" verify "$exp" --run "$run" | tail -n +2
    echo "  (verify took $(($(date +%s) - start)) s)"
  done
  "$build/lowbit" size "$run" --stage "$stage" | grep -E '^(total|sequence):'
done
