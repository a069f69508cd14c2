#!/bin/sh
# Builds the runtime and its golden test with gcc and clang at -O0 and -O2 (strict C99 flags), each
# with the x86 kernels (SSE2, and AVX2 where the CPU has it), with -DLOWBIT_PORTABLE (plain C99
# only), with -DLOWBIT_NO_AVX2 (SSE2 only) and with the vector kernels taking only small fully
# connected layers, and (on CPUs with AVX2) with -mavx2, runs each build, and fails unless all pass
# and print byte-identical logs. Each configuration also builds and runs requant_sums_test.c
# (the kernels' run requantization against an independent form of the rule). The golden test
# also runs freestanding under qemu-user on RV32EC, RV32IC, RV32IMC, Cortex-M0 and Cortex-M4
# (-Os and -O2; a target whose cross compiler or qemu is missing is skipped with a message).
# Usage: cross_compile.sh [SOURCE_DIR]   (default: the repository root above this script)
set -eu
root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
work=$(mktemp -d "${TMPDIR:-/tmp}/lowbit_runtime_cc.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
flags="-std=c99 -pedantic -Wall -Wextra -Wvla -Werror"
status=0
logs=""
for cc in gcc clang; do
  if ! command -v "$cc" >/dev/null 2>&1; then
    echo "compiler $cc not found"
    exit 1
  fi
  # -DLOWBIT_NO_AVX2 keeps the SSE2 kernels on CPUs with AVX2; -DLOWBIT_FC_INT32_INPUTS=16 sends
  # fully connected layers of more than 16 inputs to the portable kernel, as layers of more than
  # 65793 inputs are.
  # -mavx2 (the whole build for AVX2) runs only where this CPU can run it.
  for opt in -O0 -O2 "-O0 -DLOWBIT_PORTABLE" "-O2 -DLOWBIT_PORTABLE" "-O2 -DLOWBIT_NO_AVX2" \
    "-O2 -DLOWBIT_FC_INT32_INPUTS=16" "-O2 -mavx2"; do
    if [ "$opt" = "-O2 -mavx2" ] && ! grep -qw avx2 /proc/cpuinfo 2>/dev/null; then continue; fi
    tag="$cc$(echo "$opt" | tr -d ' ')"
    # shellcheck disable=SC2086 # flags and opt are deliberate word lists
    "$cc" $flags $opt -I"$root/runtime/include" -I"$root/tests/runtime" \
      "$root"/runtime/src/*.c "$root/tests/runtime/runtime_test.c" -o "$work/test_$tag"
    if "$work/test_$tag" >"$work/$tag.log" 2>&1; then
      echo "$tag: $(tail -n 1 "$work/$tag.log")"
    else
      echo "$tag: FAILED: $(tail -n 1 "$work/$tag.log")"
      cat "$work/$tag.log"
      status=1
    fi
    logs="$logs $work/$tag.log"
    # The run requantization against an independent form of the rule (its log names the kernels,
    # so it is not among the compared logs).
    # shellcheck disable=SC2086
    "$cc" $flags $opt -I"$root/runtime/include" -I"$root/runtime/src" \
      "$root/tests/runtime/requant_sums_test.c" -o "$work/requant_$tag"
    if ! "$work/requant_$tag" >"$work/requant_$tag.log" 2>&1; then
      echo "$tag: requant_sums_test FAILED: $(tail -n 1 "$work/requant_$tag.log")"
      head -n 20 "$work/requant_$tag.log"
      status=1
    fi
  done
done
# The same golden test on the MCU instruction sets, freestanding under qemu-user (no C library:
# freestanding/ gives the printf and strcmp it uses; tests/mcu the start-up code, the write system
# call, memset and memcpy): RV32EC and RV32IC (no multiplier: 32-bit and 64-bit products go
# through libgcc), RV32IMC, Cortex-M0 and Cortex-M4, at -Os and -O2.
for spec in "rv32ec|riscv64-unknown-elf-gcc -march=rv32ec -mabi=ilp32e|start_riscv.S|qemu-riscv32" \
  "rv32ic|riscv64-unknown-elf-gcc -march=rv32ic -mabi=ilp32|start_riscv.S|qemu-riscv32" \
  "rv32imc|riscv64-unknown-elf-gcc -march=rv32imc -mabi=ilp32|start_riscv.S|qemu-riscv32" \
  "cortex-m0|arm-none-eabi-gcc -mcpu=cortex-m0 -mthumb|start_arm.S|qemu-arm -cpu max" \
  "cortex-m4|arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb|start_arm.S|qemu-arm -cpu max"; do
  target=${spec%%|*}
  rest=${spec#*|}
  compiler=${rest%%|*}
  rest=${rest#*|}
  start=${rest%%|*}
  emulator=${rest#*|}
  if ! command -v "${compiler%% *}" >/dev/null 2>&1 ||
    ! command -v "${emulator%% *}" >/dev/null 2>&1; then
    echo "$target: skipped (${compiler%% *} or ${emulator%% *} not installed)"
    continue
  fi
  for opt in -Os -O2; do
    tag="$target$opt"
    # shellcheck disable=SC2086 # compiler, opt and emulator are deliberate word lists
    if ! $compiler $flags $opt -ffreestanding -nostdlib -nostartfiles -Wl,--no-warn-rwx-segments \
      -I"$root/tests/runtime/freestanding" -I"$root/runtime/include" -I"$root/tests/runtime" \
      "$root"/runtime/src/*.c "$root/tests/runtime/runtime_test.c" \
      "$root/tests/runtime/freestanding/freestanding_libc.c" "$root/tests/mcu/freestanding.c" \
      "$root/tests/mcu/$start" -lgcc \
      -o "$work/test_$tag"; then
      echo "$tag: FAILED to build"
      status=1
      continue
    fi
    # shellcheck disable=SC2086
    if $emulator "$work/test_$tag" >"$work/$tag.log" 2>&1; then
      echo "$tag: $(tail -n 1 "$work/$tag.log")"
    else
      echo "$tag: FAILED: $(tail -n 1 "$work/$tag.log")"
      head -n 20 "$work/$tag.log"
      status=1
    fi
    logs="$logs $work/$tag.log"
  done
done
first=""
for log in $logs; do
  if [ -z "$first" ]; then
    first=$log
  elif ! cmp -s "$first" "$log"; then
    echo "output differs: $(basename "$first") vs $(basename "$log")"
    diff "$first" "$log" | head -n 20
    status=1
  fi
done
if [ "$status" -eq 0 ]; then
  echo "gcc and clang at -O0 and -O2, AVX2, SSE2, portable and mixed, MCU targets under qemu: identical logs"
fi
exit "$status"
