#!/usr/bin/env bash
# MCU benchmark (issue 13): the requantized Fashion-MNIST 4-bit MLP (configs/fmnist_mcu_4bit.yaml,
# stage w4a8), the depthwise CNN with folded batch norm (configs/fmnist_cnn_mcu_bn.yaml, stage
# w4a8) and the smart-pixel Model2 (configs/smartpix_model2.yaml, stage w4i0), each exported for
# every MCU target and checked with `lowbit verify --target` under qemu-user on the whole test
# set: mismatches against the C++ reference, instructions of one inference (first test sample),
# flash (text+data of the linked freestanding image with a minimal main: model, runtime, start-up)
# and RAM
# (data+bss+stack high-water mark). Prints a Markdown table (docs/results.md, "MCU targets").
# Runs are shared with bench/latency.sh (bench/results/latency/) and trained only when missing.
# Peers (BitNetMCU, CMSIS-NN) are measured by bench/mcu/peers.sh from their own checkouts.
# The dynshift MLPs (configs/fmnist_mcu_bitnetmcu_4bit.yaml, BitNetMCU's own network with a
# per-sample shift, and configs/fmnist_mcu_best_4bit.yaml, lowbit's best at its flash: 20x20
# input, a 2-bit first layer) and the 6.3 kB full-conv CNN (configs/fmnist_mcu_best_cnn_6k.yaml,
# its convolutions on lowbit_mcu_conv) run with them.
# Usage: [MODELS="fmnist_mcu_best_4bit ..."] bash bench/mcu/run.sh [BUILD_DIR] [TARGET...]
set -euo pipefail
build=${1:-build/release}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then targets=(rv32e rv32im cortex-m0 cortex-m4); fi
out=bench/results/latency
mkdir -p "$out"
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1

# name config fp_stage quantized_stage; MODELS="name ..." picks some (default all).
all_models=(
  "fmnist_mcu_4bit configs/fmnist_mcu_4bit.yaml fp w4a8"
  "fmnist_mcu_bitnetmcu_4bit configs/fmnist_mcu_bitnetmcu_4bit.yaml fp w4a8"
  "fmnist_mcu_best_4bit configs/fmnist_mcu_best_4bit.yaml fp w4a8"
  "fmnist_cnn_mcu_bn configs/fmnist_cnn_mcu_bn.yaml fp w4a8"
  "fmnist_mcu_best_cnn_6k configs/fmnist_mcu_best_cnn_6k.yaml fp w4a8"
  "smartpix_model2 configs/smartpix_model2.yaml fp w4i0"
)
models=()
for entry in "${all_models[@]}"; do
  if [ -z "${MODELS:-}" ] || [[ " $MODELS " == *" ${entry%% *} "* ]]; then models+=("$entry"); fi
done
[ ${#models[@]} -gt 0 ] || { echo "bench/mcu: MODELS='$MODELS' names none of ${all_models[*]%% *}" >&2; exit 2; }
echo "| model | target | flash B | RAM B | instructions | mismatches | C accuracy |"
echo "| ----- | ------ | ------: | ----: | -----------: | ---------: | ---------: |"
for entry in "${models[@]}"; do
  read -r name config fp quantized <<<"$entry"
  run="$out/$name"
  for stage in "$fp" "$quantized"; do
    if [ ! -f "$run/$stage/best.pt" ]; then
      "$build/lowbit" train "$config" --out "$run" --stage "$stage" >"$run.$stage.log" 2>&1
    fi
  done
  for target in "${targets[@]}"; do
    dir="$run/export_${quantized}_$target"
    "$build/lowbit" export "$run" --stage "$quantized" --target "$target" --out "$dir" >/dev/null
    log="$dir.verify.log"
    "$build/lowbit" verify "$dir" --run "$run" >"$log" 2>&1 || {
      echo "bench/mcu: verify failed for $name on $target, see $log" >&2
      exit 1
    }
    line=$(grep "instructions per inference" "$log")
    instructions=$(sed -E 's/.*instructions per inference ([0-9]+).*/\1/' <<<"$line")
    flash=$(sed -E 's/.*flash ([0-9]+) bytes.*/\1/' <<<"$line")
    ram=$(sed -E 's/.*RAM ([0-9]+) bytes.*/\1/' <<<"$line")
    mismatches=$(sed -nE 's/.*mismatches \(C vs C\+\+ reference\): ([0-9]+ of [0-9]+).*/\1/p' "$log")
    accuracy=$(sed -nE 's/.*C model accuracy: [0-9]+\/[0-9]+ \(([0-9.]+)%\).*/\1%/p' "$log")
    echo "| $name ($quantized) | $target | $flash | $ram | $instructions | $mismatches | ${accuracy:--} |"
  done
done
echo "(qemu-user $(qemu-riscv32 --version | head -1 | awk '{print $3}'), $(riscv64-unknown-elf-gcc -dumpversion) / $(arm-none-eabi-gcc -dumpversion), -Os)"
