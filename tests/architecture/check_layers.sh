#!/bin/sh
# Fails when a source file includes a header of a layer below its own: each folder of src/lowbit/
# may include only its own layer and the layers listed before it (docs/architecture.md).
# Usage: check_layers.sh SOURCE_DIR LAYER... (the layers in order, top first; CMake passes
# LOWBIT_LAYERS followed by cli).
set -eu
root="$1"
src="$root/src/lowbit"
shift
order="$*"

rank() {
  i=0
  for layer in $order; do
    [ "$layer" = "$1" ] && { echo "$i"; return; }
    i=$((i + 1))
  done
  echo -1
}

status=0
for dir in "$src"/*/; do
  layer=$(basename "$dir")
  own=$(rank "$layer")
  if [ "$own" -lt 0 ]; then
    echo "src/lowbit/$layer/ is not a layer of the build (add it to LOWBIT_LAYERS and docs/architecture.md)"
    status=1
    continue
  fi
  for file in $(find "$dir" -type f -name '*.[ch]*' | sort); do
    grep -n '^#include "lowbit/[a-z_]*/' "$file" 2>/dev/null |
      sed 's|^\([0-9]*\):#include "lowbit/\([a-z_]*\)/.*|\1 \2|' >"${TMPDIR:-/tmp}/lowbit_layers.$$" || true
    while read -r line used; do
      [ "$used" = "$layer" ] && continue
      if [ "$(rank "$used")" -lt 0 ] || [ "$(rank "$used")" -gt "$own" ]; then
        echo "${file#"$root"/}:$line: layer '$layer' includes lowbit/$used/, which is not above it ($order)"
        status=1
      fi
    done <"${TMPDIR:-/tmp}/lowbit_layers.$$"
  done
done
rm -f "${TMPDIR:-/tmp}/lowbit_layers.$$"
[ "$status" -eq 0 ] && echo "layers: every include runs down the order: $order"
exit "$status"
