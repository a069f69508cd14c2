#!/usr/bin/env bash
# ONNX export figures (issue 16): trains (if absent) the requantized Fashion-MNIST 4-bit MLP
# (configs/fmnist_mcu_4bit.yaml, stage w4a8), the depthwise CNN with folded batch norm (w4a8) and
# smart-pixel Model2 (w4i0) as bench/latency.sh does, exports each quantized stage as QDQ and as
# QONNX (`lowbit export --format`), and runs each file under ONNX Runtime on the whole test set with
# `lowbit verify` (output codes against the C++ integer reference, accuracy, and every layer on the
# first 1000 samples).
# Prints a Markdown table (docs/results.md, "ONNX export"). Runs are kept under
# bench/results/latency/ and reused; the exports and verify logs go to bench/results/onnx/.
# Needs ONNX Runtime (scripts/setup.sh installs npm's onnxruntime-node into tools/onnx).
# Usage: bash bench/onnx/run.sh [BUILD_DIR]
set -euo pipefail
build=${1:-build/release}
runs=bench/results/latency
out=bench/results/onnx
mkdir -p "$runs" "$out"
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1

# name config fp_stage quantized_stage
models=(
  "fmnist_mcu_4bit configs/fmnist_mcu_4bit.yaml fp w4a8"
  "fmnist_cnn_mcu_bn configs/fmnist_cnn_mcu_bn.yaml fp w4a8"
  "smartpix_model2 configs/smartpix_model2.yaml fp w4i0"
)
# The text after `key` on the first line of `file` that holds it.
after() { grep -m1 -F "$2" "$1" | sed "s/.*$2//"; }

echo "| model | stage | format | file B | output codes equal to the reference | max abs diff (codes) | per-layer own diffs, first 1000 samples (at a rounding boundary) | ONNX accuracy | reference accuracy | top-1 agreement with the fake-quantized model |"
echo "| ----- | ----- | ------ | -----: | ----------------------------------: | -------------------: | ---------------------------------------------------------------: | ------------: | -----------------: | --------------------------------------------: |"
for entry in "${models[@]}"; do
  read -r name config fp quantized <<<"$entry"
  run="$runs/$name"
  for stage in "$fp" "$quantized"; do
    if [ ! -f "$run/$stage/best.pt" ]; then
      "$build/lowbit" train "$config" --out "$run" --stage "$stage" >"$run.$stage.log" 2>&1
    fi
  done
  for format in qdq qonnx; do
    folder="$out/${name}_$format"
    "$build/lowbit" export "$run" --stage "$quantized" --format "$format" --out "$folder" \
      >"$folder.export.log"
    log="$folder.verify.log"
    "$build/lowbit" verify "$folder" --run "$run" >"$log"
    bytes=$(after "$folder.export.log" "file bytes: ")
    equal=$(after "$log" "output codes equal to the C++ reference: " | sed 's/, max.*//')
    maxdiff=$(after "$log" "max |diff| " | sed 's/ codes//')
    own=$(after "$log" "own (inputs agreed) " | sed 's/, \([0-9]*\) of them at a rounding boundary.*/ (\1)/')
    accuracy=$(after "$log" "ONNX model accuracy: ")
    reference=$(after "$log" "C++ integer reference accuracy: ")
    agree=$(after "$log" "vs fake-quantized model): ")
    echo "| $name | $quantized | $format | $bytes | $equal | $maxdiff | $own | $accuracy | $reference | $agree |"
  done
done
echo "(ONNX Runtime: npm onnxruntime-node $(node -p "require('./tools/onnx/node_modules/onnxruntime-node/package.json').version" 2>/dev/null || echo '?'), optimisations disabled, one thread; host $(uname -m))"
