#!/usr/bin/env bash
# Seed 003 on a CPU (issue 14): trains configs/snn_flow_cpu_chain.yaml (snn_flow, FP -> 8 -> 4 ->
# 2 -> 1 bit, each stage from the previous one's best checkpoint) at one thread, then prints the
# Markdown table of docs/results.md ("Spiking optical flow (seed 003)"): per stage the test AEE,
# outlier share, AEE relative to FP, weight bytes at the stage's bit widths and seconds per
# training epoch, and the zero-flow baseline's AEE on the same test set (`lowbit compare`).
# Then times training epochs of the same network built from lowbit's layers and written as
# composed torch ops (bench/snn_flow_bench.cpp).
# Usage: bash bench/snn_flow/run.sh [BUILD_DIR] [CONFIG]
# The run goes to bench/results/snn_flow/ (replaced), the logs beside it.
set -euo pipefail
build=${1:-build/release}
config=${2:-configs/snn_flow_cpu_chain.yaml}
out=bench/results/snn_flow
mkdir -p bench/results
rm -rf "$out"
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1

start=$(date +%s)
"$build/lowbit" train "$config" --out "$out" --no-report >"$out.train.log" 2>&1 ||
  { tail -20 "$out.train.log"; exit 1; }
train_seconds=$(($(date +%s) - start))
"$build/lowbit" compare "$out" --csv "$out/compare.csv" >"$out.compare.log"

python3 - "$out" "$config" "$train_seconds" <<'EOF'
import csv, json, sys
out, config, train_seconds = sys.argv[1], sys.argv[2], int(sys.argv[3])
compare = {row["stage"]: row for row in csv.DictReader(open(f"{out}/compare.csv"))}
epochs = {}
for row in csv.DictReader(open(f"{out}/metrics.csv")):
    epochs.setdefault(row["stage"], []).append(float(row["seconds"]))
stages = [s for s in compare if not s.startswith("(")]
fp_aee = float(compare[stages[0]]["aee"])
zero = float(compare["(zero flow)"]["aee"])
print(f"`{config}`, test set of the run; zero-flow baseline AEE (mean |flow|) {zero:.3f}\n")
print("| stage | bits | AEE | outliers | AEE / FP | AEE / zero flow | weight bytes | s / epoch | epochs |")
print("| ----- | ---- | --: | -------: | -------: | --------------: | -----------: | --------: | -----: |")
for s in stages:
    r = compare[s]
    result = json.load(open(f"{out}/{s}/result.json"))
    aee = float(r["aee"])
    t = epochs[s]
    print(f"| {s} | {r['bits']} | {aee:.3f} | {float(r['outliers']):.3f} | {aee / fp_aee:.3f} | "
          f"{aee / zero:.3f} | {result['weight_bytes']} | {sum(t) / len(t):.2f} | {len(t)} |")
print(f"| zero flow | - | {zero:.3f} | {float(compare['(zero flow)']['outliers']):.3f} | "
      f"{zero / fp_aee:.3f} | 1.000 | 0 | - | - |")
print(f"\nwall time of `lowbit train`: {train_seconds} s ({train_seconds / 60:.1f} min)")
EOF

echo
"$build/snn_flow_bench" "$config" 3
