#!/bin/sh
# Builds the runtime and its golden test with gcc and clang at -O0 and -O2 (strict C99 flags),
# runs each build, and fails unless all four pass and print byte-identical logs.
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
  for opt in -O0 -O2; do
    tag="$cc$opt"
    # shellcheck disable=SC2086 # flags is a deliberate word list
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
if [ "$status" -eq 0 ]; then echo "gcc and clang at -O0 and -O2: identical logs"; fi
exit "$status"
