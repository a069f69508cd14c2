#!/usr/bin/env bash
# The demo: what lowbit's quantizers do to Gaussian and Laplace weights, bits 1 to 8.
# Usage: scripts/demo.sh path/to/lowbit   (`make demo` builds it first and passes it)
set -euo pipefail

lowbit="${1:?usage: scripts/demo.sh path/to/lowbit}"
if [[ ! -x "$lowbit" ]]; then
  echo "demo.sh: '$lowbit' is not an executable; run 'make demo' to build it" >&2
  exit 1
fi

echo "== $("$lowbit" --version)"
echo "== Quantizer survey: every weight quantizer type at bits 1..8 on seeded samples"
echo "   ($lowbit survey --samples 4096 --seed 0)"
"$lowbit" survey --samples 4096 --seed 0
