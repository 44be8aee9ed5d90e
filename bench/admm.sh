#!/bin/sh
# ADMM CBPDN: hypercsc's plan (bench_admm) against the NumPy reimplementation
# of SPORCO's ConvBPDN iteration (bench/sporco_cbpdn.py), same two problems,
# 1 process each; prints both and the per-iteration speed-up.
# Usage (from the source tree, after make bench in build/):
#   sh bench/admm.sh [hypercsc iterations] [python iterations]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
BENCH=${BENCH:-$top/build/bench/bench_admm}
IT=${1:-20}
PIT=${2:-3}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$BENCH" "$IT" | tee "$tmp/c.txt"
/usr/bin/python3 "$top/bench/sporco_cbpdn.py" "$PIT" | tee "$tmp/p.txt"
for case in A B; do
  c=$(sed -n "s|^$case:.* \([0-9.]*\) ms/iteration.*|\1|p" "$tmp/c.txt")
  p=$(sed -n "s|^$case:.* \([0-9.]*\) ms/iteration.*|\1|p" "$tmp/p.txt")
  awk -v c="$c" -v p="$p" -v k="$case" \
    'BEGIN { printf "%s: hypercsc %.2f ms/iteration, SPORCO-style NumPy %.2f ms/iteration, speed-up %.1fx\n", k, c, p, p / c }'
done
