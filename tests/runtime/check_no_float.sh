#!/bin/sh
# Fails if the runtime's code (comments stripped) uses floating point or heap allocation.
# Usage: check_no_float.sh [SOURCE_DIR]   (default: the repository root above this script)
set -eu
root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
cc=${CC:-cc}
status=0
files=$(find "$root/runtime" -name '*.c' -o -name '*.h' | sort)
[ -n "$files" ] || { echo "no runtime sources under $root/runtime"; exit 1; }
pattern='\b(float|double|long double|malloc|calloc|realloc|free|alloca)\b|[0-9]\.[0-9]*[eEfF]?\b|\b[0-9]+[eE][+-]?[0-9]+\b|<math\.h>|<float\.h>|<stdlib\.h>'
for f in $files; do
  # -fpreprocessed -dD strips comments without expanding includes or macros.
  hits=$("$cc" -fpreprocessed -dD -E -P "$f" 2>/dev/null | grep -nE "$pattern" || true)
  if [ -n "$hits" ]; then
    echo "$f: forbidden floating point or allocation in code:"
    echo "$hits"
    status=1
  fi
done
count=$(echo "$files" | wc -l)
if [ "$status" -eq 0 ]; then echo "no float, double or allocation in $count runtime files"; fi
exit "$status"
