#!/usr/bin/env bash
# Peer figures for the MCU benchmark (issue 13), rebuilt from the user's own checkouts of the peers
# (nothing of theirs is copied into lowbit):
#   - BitNetMCU's C inference engine (BitNetMCU_inference.c) on its shipped 4-bit 256-64-64-64-10
#     MNIST model, -Os, for rv32ec, rv32imc, Cortex-M0 and Cortex-M4; once with -DCH32V003 (the
#     multiplier-free shift-and-add 4-bit path BitNetMCU uses on the CH32V003) and once without
#     (the path with a multiply per weight);
#   - CMSIS-NN's arm_fully_connected_s4 (int4 weights, int8 activations, per-tensor quantization)
#     on the same 256-64-64-64-10 shape with pseudo-random weights (peers/gen_cmsis_s4_model.c),
#     for Cortex-M0 and Cortex-M4 at -Os and -O2, linked with newlib.
# Instructions of one inference = executed instructions (one "Trace" line each under qemu-user
# -singlestep -d nochain,exec) of a run doing one inference minus those of the same image doing
# none, as lowbit verify counts them. Flash = text+data of the linked image (model, engine, the
# minimal main in peers/, the start-up and what libgcc/newlib pull in); the model's share (weights,
# biases) is given in brackets. Prints a Markdown table (docs/results.md, bench/mcu/PEERS.md).
#
# Usage: bash bench/mcu/peers.sh [BITNETMCU_DIR [CMSIS_NN_DIR]]
#   BITNETMCU_DIR  checkout of https://github.com/cpldcpu/BitNetMCU (argument or environment)
#   CMSIS_NN_DIR   checkout of https://github.com/ARM-software/CMSIS-NN (argument or environment)
# Environment:
#   PEERS_SAMPLE     input sample: demo:N (default demo:0: sample N of BitNetMCU's MCU demo,
#                    mcu/BitNetMCUdemo.c, the one its own timing runs on) or test:N (sample N of
#                    BitNetMCU_MNIST_test_data.h); both peers get the same 256 bytes
#   BITNETMCU_MODEL  model header inside BITNETMCU_DIR (default: the first 256-64-64-64-10 4-bit
#                    model of mcu/BitNetMCU_model_12k.h, BitNetMCU_model_fc.h)
#   PEERS_WORK       build folder (default: a temporary folder, removed at the end)
# Needs: gcc (host), gcc-riscv64-unknown-elf, gcc-arm-none-eabi, libnewlib-arm-none-eabi,
# qemu-user (scripts/setup.sh installs them).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
peers="$here/peers"
bitnetmcu=${1:-${BITNETMCU_DIR:-}}
cmsis=${2:-${CMSIS_NN_DIR:-}}
sample=${PEERS_SAMPLE:-demo:0}

die() {
  echo "bench/mcu/peers.sh: $*" >&2
  exit 1
}

if [ -z "$bitnetmcu" ]; then
  die "no BitNetMCU checkout: run 'git clone https://github.com/cpldcpu/BitNetMCU' and pass its
path as the first argument or as BITNETMCU_DIR"
fi
if [ -z "$cmsis" ]; then
  die "no CMSIS-NN checkout: run 'git clone https://github.com/ARM-software/CMSIS-NN' and pass its
path as the second argument or as CMSIS_NN_DIR"
fi
[ -f "$bitnetmcu/BitNetMCU_inference.c" ] ||
  die "$bitnetmcu/BitNetMCU_inference.c not found: BITNETMCU_DIR must be a checkout of https://github.com/cpldcpu/BitNetMCU"
cmsis_sources=(Source/FullyConnectedFunctions/arm_fully_connected_s4.c
  Source/NNSupportFunctions/arm_nn_vec_mat_mult_t_s4.c)
for file in Include/arm_nnfunctions.h "${cmsis_sources[@]}"; do
  [ -f "$cmsis/$file" ] ||
    die "$cmsis/$file not found: CMSIS_NN_DIR must be a checkout of https://github.com/ARM-software/CMSIS-NN (with arm_fully_connected_s4)"
done

need() {  # need TOOL PACKAGE
  command -v "$1" >/dev/null 2>&1 || die "$1 not found; install the Debian package $2 (scripts/setup.sh installs it)"
}
need gcc gcc
need riscv64-unknown-elf-gcc gcc-riscv64-unknown-elf
need riscv64-unknown-elf-size binutils-riscv64-unknown-elf
need arm-none-eabi-gcc gcc-arm-none-eabi
need arm-none-eabi-size binutils-arm-none-eabi
need qemu-riscv32 qemu-user
need qemu-arm qemu-user
[ -f "$(arm-none-eabi-gcc -mcpu=cortex-m0 -mthumb -print-file-name=libc.a)" ] ||
  die "newlib for arm-none-eabi not found; install the Debian package libnewlib-arm-none-eabi"

if [ -n "${PEERS_WORK:-}" ]; then
  work=$PEERS_WORK
  mkdir -p "$work"
else
  work=$(mktemp -d /tmp/lowbit-peers.XXXXXX)
  trap 'rm -rf "$work"' EXIT
fi

# --- BitNetMCU model: 4 fully connected 4-bit layers 256-64-64-64-10 -------------------------
has_shape() {  # has_shape HEADER: the model defines of the benchmark's shape
  local header=$1 define value
  for define in "NUM_LAYERS 4" "L1_incoming_weights 256" "L1_outgoing_weights 64" \
    "L2_outgoing_weights 64" "L3_outgoing_weights 64" "L4_outgoing_weights 10" \
    "L1_bitperweight 4" "L2_bitperweight 4" "L3_bitperweight 4" "L4_bitperweight 4"; do
    value=${define#* }
    grep -Eq "^#define[[:space:]]+${define% *}[[:space:]]+${value}[[:space:]]*$" "$header" || return 1
  done
  grep -Eq "^#define[[:space:]]+MODEL_FCMNIST" "$header"
}
model=${BITNETMCU_MODEL:-}
if [ -z "$model" ]; then
  for candidate in mcu/BitNetMCU_model_12k.h BitNetMCU_model_fc.h; do
    if [ -f "$bitnetmcu/$candidate" ] && has_shape "$bitnetmcu/$candidate"; then
      model=$candidate
      break
    fi
  done
  [ -n "$model" ] || die "no 256-64-64-64-10 4-bit model header in $bitnetmcu (looked at mcu/BitNetMCU_model_12k.h, BitNetMCU_model_fc.h); set BITNETMCU_MODEL"
fi
[ -f "$bitnetmcu/$model" ] || die "$bitnetmcu/$model not found (BITNETMCU_MODEL)"
has_shape "$bitnetmcu/$model" ||
  die "$bitnetmcu/$model is not a 4-layer fully connected 4-bit 256-64-64-64-10 model (NUM_LAYERS, L*_incoming/outgoing_weights, L*_bitperweight)"

# --- input sample, as 256 raw int8 bytes -------------------------------------------------------
gcc -O1 -Wall -Wextra -Werror "$peers/peer_bytes.c" -o "$work/peer_bytes"
case "$sample" in
  demo:[0-9]*) sample_file=mcu/BitNetMCUdemo.c ;;
  test:[0-9]*) sample_file=BitNetMCU_MNIST_test_data.h ;;
  *) die "PEERS_SAMPLE=$sample: expected demo:N or test:N" ;;
esac
index=${sample#*:}
[ -f "$bitnetmcu/$sample_file" ] || die "$bitnetmcu/$sample_file not found (PEERS_SAMPLE=$sample)"
# The initializer of `[const] int8_t input_data_N[...] = { ... };`, commented-out lines skipped.
awk -v name="input_data_$index" '
  !inside && $0 ~ "^[[:space:]]*(const[[:space:]]+)?int8_t[[:space:]]+" name "\\[" {
    inside = 1; sub(/^[^{]*\{/, "")
  }
  inside { if (sub(/\}.*$/, "")) { print; exit } print }' "$bitnetmcu/$sample_file" |
  "$work/peer_bytes" 256 >"$work/sample.bin" ||
  die "cannot read input_data_$index (256 int8 values) from $bitnetmcu/$sample_file (PEERS_SAMPLE=$sample)"
label=$(sed -nE "s/^[[:space:]]*(const[[:space:]]+)?uint8_t[[:space:]]+label_${index}[[:space:]]*=[[:space:]]*([0-9]+).*/\2/p" \
  "$bitnetmcu/$sample_file" | head -1)

# --- building and counting ---------------------------------------------------------------------
# count EMULATOR... -- IMAGE NAME: prints instructions of one inference; the output of the run
# with one inference is left in $work/NAME.out.
count() {
  local emulator=() image name runs lines=()
  while [ "$1" != "--" ]; do
    emulator+=("$1")
    shift
  done
  image=$2
  name=$3
  for runs in 0 1; do
    local log="$work/$name.trace$runs"
    { printf "%b" "\\x0$runs"; cat "$work/sample.bin"; } >"$work/$name.in$runs"
    if ! timeout 120 "${emulator[@]}" -singlestep -d nochain,exec -D "$log" "$image" \
      <"$work/$name.in$runs" >"$work/$name.out$runs"; then
      rm -f "$log"
      die "$name: $image failed under ${emulator[*]} (exit status or 120 s timeout)"
    fi
    lines+=("$(grep -c '^Trace ' "$log" || true)")
    rm -f "$log"  # traces are large
  done
  mv "$work/$name.out1" "$work/$name.out"
  echo $((lines[1] - lines[0]))
}

# flash SIZE_TOOL NM_TOOL IMAGE PATTERN: "text+data (bytes of the symbols matching PATTERN)".
flash() {
  local text data model=0 hex
  read -r text data _ < <("$1" "$3" | tail -1)
  for hex in $("$2" -S "$3" | awk -v pattern="$4" '$4 ~ pattern { print $2 }'); do
    model=$((model + 16#$hex))
  done
  echo "$(group $((text + data))) ($(group "$model"))"
}

group() {  # 1234567 -> 1,234,567
  local n=$1 out=""
  while [ ${#n} -gt 3 ]; do
    out=",${n: -3}$out"
    n=${n:0:${#n}-3}
  done
  echo "$n$out"
}

nolibc_include() {  # nolibc_include COMPILER FLAGS...: -I for the empty <stdio.h> when needed
  if ! echo '#include <stdio.h>' | "$@" -ffreestanding -E -x c - >/dev/null 2>&1; then
    echo "-I$peers/nolibc"
  fi
}

# Figures of issue 13 for the same builds (BitNetMCU with -DCH32V003 on every target).
declare -A issue=(
  [bitnetmcu-ch32v003-rv32ec]="442,321 / 13,888" [bitnetmcu-ch32v003-rv32imc]="391,473 / 13,674"
  [bitnetmcu-ch32v003-cortex-m0]="592,009 / 13,816" [bitnetmcu-ch32v003-cortex-m4]="441,096 / 13,496"
  [cmsis-cortex-m0-Os]="260,613" [cmsis-cortex-m0-O2]="214,148"
  [cmsis-cortex-m4-Os]="167,401" [cmsis-cortex-m4-O2]="133,746"
)

common=(-ffunction-sections -fdata-sections "-Wl,--gc-sections" -nostartfiles)
rows=()
predictions=()

# BitNetMCU: target compiler size nm emulator... / arch flags
bitnetmcu_targets=(
  "rv32ec|riscv64-unknown-elf|qemu-riscv32|-march=rv32ec -mabi=ilp32e|$peers/start_riscv.S"
  "rv32imc|riscv64-unknown-elf|qemu-riscv32|-march=rv32imc -mabi=ilp32|$peers/start_riscv.S"
  "cortex-m0|arm-none-eabi|qemu-arm -cpu max|-mcpu=cortex-m0 -mthumb|$peers/start_arm.S"
  "cortex-m4|arm-none-eabi|qemu-arm -cpu max|-mcpu=cortex-m4 -mthumb|$peers/start_arm.S"
)
for variant in ch32v003 multiply; do
  for entry in "${bitnetmcu_targets[@]}"; do
    IFS='|' read -r target prefix emulator arch startup <<<"$entry"
    read -ra arch_flags <<<"$arch"
    read -ra emulator_words <<<"$emulator"
    defines=()
    if [ "$variant" = ch32v003 ]; then defines=(-DCH32V003); fi
    name="bitnetmcu-$variant-$target"
    image="$work/$name.elf"
    extra=$(nolibc_include "$prefix-gcc" "${arch_flags[@]}")
    # shellcheck disable=SC2086  # $extra is empty or one flag
    "$prefix-gcc" "${arch_flags[@]}" -Os "${common[@]}" -nostdlib -ffreestanding \
      "${defines[@]}" $extra -I"$peers" -I"$bitnetmcu" -I"$(dirname "$bitnetmcu/$model")" \
      -DBITNETMCU_MODEL_HEADER="\"$(basename "$model")\"" \
      "$peers/bitnetmcu_main.c" "$startup" -lgcc -o "$image" >"$work/$name.log" 2>&1 ||
      die "$name: build failed:"$'\n'"$(cat "$work/$name.log")"
    instructions=$(count "${emulator_words[@]}" -- "$image" "$name")
    size=$(flash "$prefix-size" "$prefix-nm" "$image" '^L[0-9]+_weights$')
    predictions+=("$(od -An -tu1 "$work/$name.out" | tr -d ' ')")
    if [ "$variant" = ch32v003 ]; then
      build="-Os -DCH32V003 (shift-and-add)"
    else
      build="-Os (multiply path)"
    fi
    rows+=("| BitNetMCU | $target | $build | $size | $(group "$instructions") | ${issue[$name]:-—} |")
  done
done
for p in "${predictions[@]}"; do
  [ "$p" = "${predictions[0]}" ] || die "BitNetMCU builds disagree on the prediction (${predictions[*]})"
done
bitnetmcu_prediction=${predictions[0]}

# CMSIS-NN arm_fully_connected_s4 on Cortex-M, newlib (-lc): memcpy of 4 bytes is a builtin.
gcc -O1 -Wall -Wextra -Werror "$peers/gen_cmsis_s4_model.c" -lm -o "$work/gen_cmsis_s4_model"
"$work/gen_cmsis_s4_model" >"$work/cmsis_s4_model.h"
outputs=()
for cpu in cortex-m0 cortex-m4; do
  for opt in Os O2; do
    name="cmsis-$cpu-$opt"
    image="$work/$name.elf"
    arm-none-eabi-gcc -mcpu="$cpu" -mthumb "-$opt" "${common[@]}" -I"$peers" -I"$work" \
      -I"$cmsis/Include" "$peers/cmsis_nn_s4_main.c" "${cmsis_sources[@]/#/$cmsis/}" \
      "$peers/start_arm.S" -lc -lgcc -o "$image" >"$work/$name.log" 2>&1 ||
      die "$name: build failed:"$'\n'"$(cat "$work/$name.log")"
    instructions=$(count qemu-arm -cpu max -- "$image" "$name")
    size=$(flash arm-none-eabi-size arm-none-eabi-nm "$image" '^l[0-9]+_(weights|bias)$')
    outputs+=("$(od -An -tx1 "$work/$name.out" | tr -d ' \n')")
    rows+=("| CMSIS-NN s4 | $cpu | -$opt, newlib | $size | $(group "$instructions") | ${issue[$name]:-—} |")
  done
done
for o in "${outputs[@]}"; do
  [ "$o" = "${outputs[0]}" ] || die "CMSIS-NN builds disagree on the outputs (${outputs[*]})"
done

echo "| peer | target | build | flash B (model data) | instructions / inference | issue 13 (instr / flash) |"
echo "| ---- | ------ | ----- | ------------------: | -----------------------: | -----------------------: |"
printf '%s\n' "${rows[@]}"
commit() { git -C "$1" rev-parse --short=12 HEAD 2>/dev/null || echo "not a git checkout"; }
echo
echo "BitNetMCU $(commit "$bitnetmcu") model $model, CMSIS-NN $(commit "$cmsis");" \
  "sample $sample (label ${label:-?}): BitNetMCU predicts $bitnetmcu_prediction on every build," \
  "CMSIS-NN logits ${outputs[0]} on every build;" \
  "riscv64-unknown-elf-gcc $(riscv64-unknown-elf-gcc -dumpversion)," \
  "arm-none-eabi-gcc $(arm-none-eabi-gcc -dumpversion), qemu $(qemu-arm --version | head -1 | awk '{print $3}')."
