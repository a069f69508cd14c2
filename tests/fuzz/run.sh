#!/usr/bin/env bash
# Builds the libFuzzer harnesses (tests/fuzz/CMakeLists.txt) with clang and runs each for SECONDS
# (default 60): first over its seed corpus tests/fuzz/corpus/<target>/, then on mutations.
# Usage: tests/fuzz/run.sh [SECONDS] [TARGET...]   (targets: npy npz idx cifar csv spec config
# checkpoint model_json; default all). Needs the release build (build/release/liblowbit_core.a).
# New corpus entries go to build/fuzz/corpus/<target>/, crashing inputs to
# build/fuzz/artifacts/<target>/; the exit status is 1 when any target found a crash.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:-60}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(npy npz idx cifar csv spec config checkpoint model_json)
fi
release="${LOWBIT_BUILD_DIR:-$PWD/build/release}"
out=build/fuzz

if [ ! -f "$out/build.ninja" ]; then
  cmake -S tests/fuzz -B "$out" -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DLOWBIT_BUILD_DIR="$release" >/dev/null
fi
cmake --build "$out" -j "${JOBS:-$(nproc)}" --target "${targets[@]/#/fuzz_}"

# One intra-op thread: the harnesses parse, they do not compute, and threads only add noise.
export OMP_NUM_THREADS=1
# Leaks are not checked: LibTorch keeps allocations for the process's lifetime on purpose.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0}"
failed=()
printf '%-11s %12s %8s  %s\n' target executions seconds result
for t in "${targets[@]}"; do
  mkdir -p "$out/corpus/$t" "$out/artifacts/$t"
  log="$out/$t.log"
  start=$(date +%s)
  # A single allocation over 512 MB from inputs of a few KB is a decompression bomb or an
  # unchecked size; 10 s for one input is a hang.
  if "$out/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 \
    -malloc_limit_mb=512 -print_final_stats=1 -artifact_prefix="$out/artifacts/$t/" \
    "$out/corpus/$t" "tests/fuzz/corpus/$t" >"$log" 2>&1; then
    result=ok
  else
    result="CRASH (see $log, input in $out/artifacts/$t/)"
    failed+=("$t")
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  printf '%-11s %12s %8s  %s\n' "$t" "${execs:-?}" "$(($(date +%s) - start))" "$result"
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: crashes in ${failed[*]}" >&2
  exit 1
fi
