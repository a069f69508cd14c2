#!/usr/bin/env bash
# MCU kernel bench (issue 13): the demo shape 256-64-64-64-10 with 4-bit weights (gen_demo.py's
# random model in the column layout) as one freestanding image per target: the four layers'
# lowbit_mcu_fc_sums_b4 + lowbit_mcu_requant_c16 calls and a minimal main (demo_main.c), the
# qemu-user start-up of tests/mcu. Prints, per target, the image's flash (text+data), the bytes
# of the two kernels, and the instructions of one whole run (start-up, reading the input,
# inference, writing the output) counted under qemu-user with `-singlestep -d nochain,exec` (one
# trace line per executed instruction) for two inputs: `sparse` (half of the inputs at skip, as
# on Fashion-MNIST's background) and `dense` (none at skip, half at d = 128). Every run's output
# must equal what gen_demo.py computed from the definitions, or the bench fails.
# Usage: bash bench/mcu/kernels.sh [TARGET...]    (rv32ec rv32imc cortex-m0 cortex-m4)
# Environment: OPT (default -Os), CFLAGS_EXTRA (e.g. -DLOWBIT_MCU_NO_ASM for the C paths).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
opt=${OPT:--Os}
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then targets=(rv32ec rv32imc cortex-m0 cortex-m4); fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

need() {
  command -v "$1" >/dev/null 2>&1 || {
    echo "bench/mcu/kernels.sh: $1 not found; install the Debian package $2" >&2
    exit 2
  }
}
need python3 python3
python3 "$root/bench/mcu/gen_demo.py" "$tmp"

echo "| target | flash B (text+data) | fc_sums_b4 B | requant_c16 B | instructions, sparse input | instructions, dense input |"
echo "| ------ | -----------------: | -----------: | ------------: | -------------------------: | ------------------------: |"
for target in "${targets[@]}"; do
  case "$target" in
    rv32ec) cc=riscv64-unknown-elf-gcc; pkg=gcc-riscv64-unknown-elf; arch=(-march=rv32ec -mabi=ilp32e)
            emu=(qemu-riscv32); start=start_riscv.S; size=riscv64-unknown-elf-size; nm=riscv64-unknown-elf-nm ;;
    rv32imc) cc=riscv64-unknown-elf-gcc; pkg=gcc-riscv64-unknown-elf; arch=(-march=rv32imc -mabi=ilp32)
            emu=(qemu-riscv32); start=start_riscv.S; size=riscv64-unknown-elf-size; nm=riscv64-unknown-elf-nm ;;
    cortex-m0|cortex-m4) cc=arm-none-eabi-gcc; pkg=gcc-arm-none-eabi; arch=(-mcpu="$target" -mthumb)
            emu=(qemu-arm -cpu max); start=start_arm.S; size=arm-none-eabi-size; nm=arm-none-eabi-nm ;;
    *) echo "bench/mcu/kernels.sh: unknown target $target (rv32ec rv32imc cortex-m0 cortex-m4)" >&2; exit 2 ;;
  esac
  need "$cc" "$pkg"
  need "${emu[0]}" qemu-user
  elf="$tmp/$target.elf"
  # shellcheck disable=SC2086
  "$cc" "${arch[@]}" $opt ${CFLAGS_EXTRA:-} -std=c99 -pedantic -Wall -Wextra -Wvla -Werror \
    -ffreestanding -ffunction-sections -fdata-sections -Wl,--gc-sections -nostdlib -nostartfiles \
    -Wl,--no-warn-rwx-segments \
    -I"$root/runtime/mcu" -o "$elf" "$root/bench/mcu/demo_main.c" "$tmp/demo_weights.c" \
    "$root"/runtime/mcu/*.c "$root/tests/mcu/$start" "$root/tests/mcu/freestanding.c" -lgcc
  read -r text data _ < <("$size" "$elf" | tail -1)
  fn_size() {
    local hex
    hex=$("$nm" -S "$elf" | awk -v s="$1" '$4 == s { print $2 }')
    echo $((16#${hex:-0}))
  }
  counts=()
  for input in sparse dense; do
    timeout 60 "${emu[@]}" -singlestep -d nochain,exec -D "$tmp/trace.log" "$elf" \
      <"$tmp/input_$input.bin" >"$tmp/out.bin"
    if ! cmp -s "$tmp/out.bin" "$tmp/expected_$input.bin"; then
      echo "bench/mcu/kernels.sh: $target gives wrong outputs for the $input input" >&2
      exit 1
    fi
    counts+=("$(grep -c '^Trace' "$tmp/trace.log")")
    rm -f "$tmp/trace.log"
  done
  echo "| $target | $((text + data)) | $(fn_size lowbit_mcu_fc_sums_b4) | $(fn_size lowbit_mcu_requant_c16) | ${counts[0]} | ${counts[1]} |"
done
echo "($opt${CFLAGS_EXTRA:+ $CFLAGS_EXTRA}; $("${emu[0]}" --version | head -1); riscv64-unknown-elf-gcc $(riscv64-unknown-elf-gcc -dumpversion 2>/dev/null || echo -), arm-none-eabi-gcc $(arm-none-eabi-gcc -dumpversion 2>/dev/null || echo -))"
