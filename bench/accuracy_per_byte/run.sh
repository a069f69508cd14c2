#!/usr/bin/env bash
# Accuracy per byte on Fashion-MNIST (issue 17): trains lowbit's best recipes at BitNetMCU's flash
# budgets (configs/fmnist_mcu_best_{4bit,2bit,cnn_6k,cnn,cnn_28x28}.yaml, and BitNetMCU's own 4-bit
# network as lowbit trains it, configs/fmnist_mcu_bitnetmcu_4bit.yaml) for several seeds,
# exports each trained stage as C, verifies it (C vs the C++ integer reference on the whole test
# set; any mismatch fails the bench) and writes a Pareto table of flash bytes (the whole exported
# model: weights, biases, requantization constants) against the C model's test accuracy, mean ±
# std over the seeds, next to BitNetMCU's figures measured with its own C engine. One thread per
# run.
# Usage: bash bench/accuracy_per_byte/run.sh [BUILD_DIR]
#   SEEDS="1 2 3" (default) and CONFIGS="fmnist_mcu_best_4bit ..." (default all six) choose
#   what runs; CONFIGS="fmnist_mcu_distill_4bit" (not in the default: about 33 minutes a seed on
#   one thread, most of it its CNN teacher) measures the 4-bit MLP taught by a CNN of the same run.
#   Results: bench/results/accuracy_per_byte/ (runs, logs, table.md)
set -euo pipefail
build=${1:-build/release}
seeds=${SEEDS:-1 2 3}
configs=${CONFIGS:-fmnist_mcu_best_4bit fmnist_mcu_bitnetmcu_4bit fmnist_mcu_best_2bit fmnist_mcu_best_cnn_6k fmnist_mcu_best_cnn fmnist_mcu_best_cnn_28x28}
out=bench/results/accuracy_per_byte
mkdir -p "$out"
export OMP_NUM_THREADS=1

# The stage each config exports (its last one), its flash budget and the peer's figure there.
stage_of() { sed -n 's/^ *- name: *\([A-Za-z0-9_]*\).*/\1/p' "configs/$1.yaml" | tail -1; }
# Budgets: BitNetMCU's weight bytes (25,216 weights at 4 and 2 bits; its CNN's 11.3 kB).
declare -A budget=([fmnist_mcu_best_4bit]=12608 [fmnist_mcu_bitnetmcu_4bit]=12608
                   [fmnist_mcu_distill_4bit]=12608
                   [fmnist_mcu_best_2bit]=6304 [fmnist_mcu_best_cnn_6k]=6304
                   [fmnist_mcu_best_cnn]=11300 [fmnist_mcu_best_cnn_28x28]=11300)
declare -A peer=([fmnist_mcu_best_4bit]="FC 64/64/64 4bitsym: 12.6 kB, 88.76%"
                 [fmnist_mcu_bitnetmcu_4bit]="FC 64/64/64 4bitsym: 12.6 kB, 88.76%"
                 [fmnist_mcu_distill_4bit]="FC 64/64/64 4bitsym: 12.6 kB, 88.76%"
                 [fmnist_mcu_best_2bit]="FC 2bitsym: 6.3 kB, 87.75%"
                 [fmnist_mcu_best_cnn_6k]="FC 2bitsym: 6.3 kB, 87.75%"
                 [fmnist_mcu_best_cnn]="depthwise CNN (24 of 60 epochs): 11.3 kB, 90.10%"
                 [fmnist_mcu_best_cnn_28x28]="depthwise CNN (16x16 input, 24 of 60 epochs): 11.3 kB, 90.10%")

for config in $configs; do
  if [ -z "${budget[$config]:-}" ] || [ ! -f "configs/$config.yaml" ]; then
    echo "CONFIGS: unknown config '$config'; expected some of: ${!budget[*]}" >&2
    exit 2
  fi
done

rows=()
for config in $configs; do
  stage=$(stage_of "$config")
  accuracies=()
  flash=""
  for seed in $seeds; do
    dir="$out/$config-s$seed"
    rm -rf "$dir" "$dir.export"
    echo "== $config seed $seed (stage $stage); load average $(cut -d' ' -f1-3 /proc/loadavg)"
    start=$(date +%s)
    "$build/lowbit" train "configs/$config.yaml" --set "seed=$seed" --out "$dir" --no-report \
      >"$dir.train.log" 2>&1 || { tail -5 "$dir.train.log"; exit 1; }
    "$build/lowbit" export "$dir" --stage "$stage" --out "$dir.export" >"$dir.export.log" 2>&1 ||
      { tail -5 "$dir.export.log"; exit 1; }
    "$build/lowbit" verify "$dir.export" --run "$dir" >"$dir.verify.log" 2>&1 ||
      { tail -5 "$dir.verify.log"; exit 1; }
    end=$(date +%s)
    flash=$(sed -n 's/^ *flash bytes: *\([0-9]*\).*/\1/p' "$dir.export.log")
    mismatches=$(sed -n 's/^ *mismatches (C vs C++ reference): *\([0-9]*\) of.*/\1/p' "$dir.verify.log")
    accuracy=$(sed -n 's/^ *C model accuracy: .*(\([0-9.]*\)%)/\1/p' "$dir.verify.log")
    [ "$mismatches" = 0 ] || { echo "$config seed $seed: $mismatches mismatches"; exit 1; }
    [ "$flash" -le "${budget[$config]}" ] || echo "   WARNING: $flash bytes is over the budget ${budget[$config]}"
    echo "   flash $flash bytes, C accuracy $accuracy%, 0 mismatches, $((end - start)) s"
    accuracies+=("$accuracy")
  done
  stats=$(printf '%s\n' "${accuracies[@]}" |
    awk '{ s += $1; q += $1 * $1; n++ } END { m = s / n; v = n > 1 ? (q - n * m * m) / (n - 1) : 0;
          printf "%.2f ± %.2f", m, sqrt(v > 0 ? v : 0) }')
  rows+=("| \`$config\` ($stage) | $flash | ${budget[$config]} | $stats | ${accuracies[*]} | ${peer[$config]} |")
done

{
  echo "| config (stage) | flash bytes | budget | C test accuracy % (mean ± std) | per seed ($seeds) | BitNetMCU at that budget |"
  echo "| --- | ---: | ---: | ---: | --- | --- |"
  printf '%s\n' "${rows[@]}" | sort -t'|' -k3,3n  # by flash: the Pareto order
} | tee "$out/table.md"
