#!/usr/bin/env bash
# Regenerates the reference section of docs/quantizers.md from `lowbit quantizers --markdown`.
# Usage: scripts/gen_docs.sh [path/to/lowbit]   (default: build/release/lowbit)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
lowbit="${1:-$root/build/release/lowbit}"
doc="$root/docs/quantizers.md"
begin='<!-- BEGIN GENERATED: lowbit quantizers --markdown -->'
end='<!-- END GENERATED -->'

for marker in "$begin" "$end"; do
  if ! grep -qxF -- "$marker" "$doc"; then
    echo "gen_docs.sh: $doc has no line '$marker'" >&2
    exit 1
  fi
done

generated="$(mktemp)"
updated="$(mktemp "$doc.XXXXXX")"
trap 'rm -f "$generated" "$updated"' EXIT
"$lowbit" quantizers --markdown >"$generated"

awk -v begin="$begin" -v end="$end" -v gen="$generated" '
  $0 == begin { print; while ((getline line < gen) > 0) print line; skipping = 1; next }
  $0 == end { skipping = 0 }
  !skipping { print }
' "$doc" >"$updated"
mv "$updated" "$doc"
trap 'rm -f "$generated"' EXIT
echo "gen_docs.sh: regenerated the reference section of $doc"
