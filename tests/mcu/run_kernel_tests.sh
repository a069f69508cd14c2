#!/usr/bin/env bash
# Builds tests/mcu/kernel_test.c with runtime/mcu and runs it: on the build machine (gcc: the
# multiplier and the table C paths at -O0, -O2 and -Os) and under qemu-user for every MCU target
# (RV32EC, RV32IC (ILP32 without a multiplier), RV32IMC, Cortex-M0, Cortex-M4: with their
# assembly at -Os, -O2 and -O0, with -DLOWBIT_MCU_NO_ASM at -Os and -O2), and with clang (host;
# Cortex-M0/M4, RV32IC, RV32IMC objects linked by the GNU cross tools: clang 14 has no ILP32E).
# Every build uses the strict flags (-std=c99 -pedantic -Wall -Wextra -Wvla -Werror; cross
# builds freestanding, no C library).
# Prints one line per configuration and fails (exit 1) on any mismatch, crash or build error;
# a missing tool is an error naming the Debian package to install (exit 2).
# Usage: bash tests/mcu/run_kernel_tests.sh [host|rv32ec|rv32ic|rv32imc|cortex-m0|cortex-m4|clang ...]
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
groups=("$@")
if [ ${#groups[@]} -eq 0 ]; then groups=(host rv32ec rv32ic rv32imc cortex-m0 cortex-m4 clang); fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
strict=(-std=c99 -pedantic -Wall -Wextra -Wvla -Werror)
sources=("$root/tests/mcu/kernel_test.c" "$root"/runtime/mcu/*.c)
failed=0
configs=0

need() {
  if ! command -v "$1" >/dev/null 2>&1; then
    echo "tests/mcu: $1 not found; install the Debian package $2 (scripts/setup.sh installs it)" >&2
    exit 2
  fi
}

# run NAME EXE [EMULATOR...]: the last line must be "<N> passed, 0 failed" and the exit code 0.
run() {
  local name=$1 exe=$2
  shift 2
  local log="$tmp/$name.log" status=0
  timeout 300 "$@" "$exe" >"$log" 2>&1 || status=$?
  local last
  last=$(tail -n 1 "$log")
  configs=$((configs + 1))
  if [ "$status" -eq 0 ] && [[ "$last" =~ ^[0-9]+\ passed,\ 0\ failed$ ]]; then
    echo "ok    $name: $last"
  else
    echo "FAIL  $name (exit $status):"
    grep -m 20 -E 'MISMATCH|at output|failed' "$log" | sed 's/^/      /'
    [ -s "$log" ] || echo "      (no output)"
    failed=1
  fi
}

# build NAME COMPILER FLAGS... : compiles into $tmp/NAME, reports a build error as a failure.
build() {
  local name=$1
  shift
  if ! "$@" -o "$tmp/$name" >"$tmp/$name.build.log" 2>&1; then
    echo "FAIL  $name: build failed:"
    sed 's/^/      /' "$tmp/$name.build.log" | head -30
    failed=1
    configs=$((configs + 1))
    return 1
  fi
}

for group in "${groups[@]}"; do
  case "$group" in
    host)
      need gcc gcc
      for path in "" -DLOWBIT_MCU_FORCE_TABLE; do
        for opt in -O0 -O2 -Os; do
          name="host${path:+-table}$opt"
          build "$name" gcc "${strict[@]}" "$opt" $path -I"$root/runtime/mcu" "${sources[@]}" \
            "$root/tests/mcu/host_io.c" && run "$name" "$tmp/$name"
        done
      done
      ;;
    rv32ec | rv32ic | rv32imc | cortex-m0 | cortex-m4)
      case "$group" in
        rv32ec) cc=riscv64-unknown-elf-gcc; pkg=gcc-riscv64-unknown-elf
                arch=(-march=rv32ec -mabi=ilp32e); emu=(qemu-riscv32); start=start_riscv.S ;;
        rv32ic) cc=riscv64-unknown-elf-gcc; pkg=gcc-riscv64-unknown-elf
                arch=(-march=rv32ic -mabi=ilp32); emu=(qemu-riscv32); start=start_riscv.S ;;
        rv32imc) cc=riscv64-unknown-elf-gcc; pkg=gcc-riscv64-unknown-elf
                 arch=(-march=rv32imc -mabi=ilp32); emu=(qemu-riscv32); start=start_riscv.S ;;
        *) cc=arm-none-eabi-gcc; pkg=gcc-arm-none-eabi
           arch=(-mcpu="$group" -mthumb); emu=(qemu-arm -cpu max); start=start_arm.S ;;
      esac
      need "$cc" "$pkg"
      need "${emu[0]}" qemu-user
      for variant in "" -DLOWBIT_MCU_NO_ASM; do
        opts=(-Os -O2)
        # -O0 keeps a frame pointer: the inline assembly must still find its registers.
        [ -z "$variant" ] && opts+=(-O0)
        for opt in "${opts[@]}"; do
          name="$group${variant:+-c}$opt"
          build "$name" "$cc" "${arch[@]}" "${strict[@]}" "$opt" $variant -ffreestanding \
            -ffunction-sections -fdata-sections -Wl,--gc-sections -nostdlib -nostartfiles \
            -Wl,--no-warn-rwx-segments -I"$root/runtime/mcu" "${sources[@]}" \
            "$root/tests/mcu/$start" "$root/tests/mcu/freestanding.c" -lgcc &&
            run "$name" "$tmp/$name" "${emu[@]}"
        done
      done
      ;;
    clang)
      need clang clang
      for path in "" -DLOWBIT_MCU_FORCE_TABLE; do
        name="clang-host${path:+-table}-O2"
        build "$name" clang "${strict[@]}" -O2 $path -I"$root/runtime/mcu" "${sources[@]}" \
          "$root/tests/mcu/host_io.c" && run "$name" "$tmp/$name"
      done
      for spec in "cortex-m0|--target=thumbv6m-none-eabi -mcpu=cortex-m0|arm-none-eabi-gcc -mcpu=cortex-m0 -mthumb|start_arm.S|qemu-arm -cpu max|gcc-arm-none-eabi" \
        "cortex-m4|--target=thumbv7em-none-eabi -mcpu=cortex-m4|arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb|start_arm.S|qemu-arm -cpu max|gcc-arm-none-eabi" \
        "rv32ic|--target=riscv32-unknown-elf -march=rv32ic|riscv64-unknown-elf-gcc -march=rv32ic -mabi=ilp32|start_riscv.S|qemu-riscv32|gcc-riscv64-unknown-elf" \
        "rv32imc|--target=riscv32-unknown-elf -march=rv32imc|riscv64-unknown-elf-gcc -march=rv32imc -mabi=ilp32|start_riscv.S|qemu-riscv32|gcc-riscv64-unknown-elf"; do
        IFS='|' read -r target ctarget linker start emulator pkg <<<"$spec"
        read -r -a link <<<"$linker"
        read -r -a emu <<<"$emulator"
        need "${link[0]}" "$pkg"
        need "${emu[0]}" qemu-user
        name="clang-$target-Os"
        objects=()
        ok=1
        for file in "${sources[@]}" "$root/tests/mcu/freestanding.c"; do
          object="$tmp/$name-$(basename "$file" .c).o"
          # shellcheck disable=SC2086
          if ! clang $ctarget "${strict[@]}" -Os -ffreestanding -ffunction-sections -fdata-sections \
            -I"$root/runtime/mcu" -c "$file" -o "$object" >>"$tmp/$name.build.log" 2>&1; then
            ok=0
          fi
          objects+=("$object")
        done
        if [ "$ok" -eq 1 ] && build "$name" "${link[@]}" -nostdlib -nostartfiles -Wl,--gc-sections \
          -Wl,--no-warn-rwx-segments -Wl,--no-warn-mismatch "${objects[@]}" "$root/tests/mcu/$start" -lgcc; then
          run "$name" "$tmp/$name" "${emu[@]}"
        elif [ "$ok" -eq 0 ]; then
          echo "FAIL  $name: clang failed:"
          sed 's/^/      /' "$tmp/$name.build.log" | head -30
          failed=1
          configs=$((configs + 1))
        fi
      done
      ;;
    *)
      echo "tests/mcu: unknown group $group (host rv32ec rv32ic rv32imc cortex-m0 cortex-m4 clang)" >&2
      exit 2
      ;;
  esac
done

if [ "$failed" -ne 0 ]; then
  echo "tests/mcu: FAILED (see above)"
  exit 1
fi
echo "tests/mcu: all $configs configurations passed"
