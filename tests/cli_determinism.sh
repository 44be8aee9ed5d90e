#!/bin/sh
# synth and noise give byte-identical files whatever the rank count and grid
# (reference: 1 rank), for ENVI, GeoTIFF and NetCDF; eval is the same too.
. "$top_srcdir/tests/common.sh"

run1 synth -q -o "$T/ref.bsq" --size 37x29x6 --seed 11 || fail "reference synth"
run1 noise -q "$T/ref.bsq" "$T/refn.bsq" --model mixture --seed 5 || fail "reference noise"
run1 eval "$T/ref.bsq" "$T/refn.bsq" --json > "$T/ref_eval.json" || fail "reference eval"
for g in $(grids); do
  go=$(grid_opt "$g")
  for ext in bsq tif nc; do
    run synth -q -o "$T/s_$g.$ext" --size 37x29x6 --seed 11 $go || fail "synth $g $ext"
  done
  cmp -s "$T/ref.bsq" "$T/s_$g.bsq" || fail "synth ENVI on grid $g differs from 1 rank"
  run convert -q "$T/s_$g.tif" "$T/s_${g}_tif.bsq" || fail "convert tif"
  run convert -q "$T/s_$g.nc" "$T/s_${g}_nc.bsq" || fail "convert nc"
  cmp -s "$T/ref.bsq" "$T/s_${g}_tif.bsq" || fail "synth GeoTIFF on grid $g differs"
  cmp -s "$T/ref.bsq" "$T/s_${g}_nc.bsq" || fail "synth NetCDF on grid $g differs"
  for m in gaussian:30 blind noniid stripes deadlines impulse:0.2 mixture; do
    run noise -q "$T/ref.bsq" "$T/n.bsq" --model $m --seed 5 $go --force || fail "noise $m $g"
    run1 noise -q "$T/ref.bsq" "$T/n1.bsq" --model $m --seed 5 --force || fail "noise $m 1 rank"
    cmp -s "$T/n1.bsq" "$T/n.bsq" || fail "noise $m on grid $g differs from 1 rank"
  done
  run eval "$T/ref.bsq" "$T/refn.bsq" --json $go > "$T/eval.json" || fail "eval $g"
  # Sums are reduced in different orders: compare to 1e-9 relative.
  python3 - "$T/ref_eval.json" "$T/eval.json" <<'PY' || fail "eval on grid $g differs"
import json, math, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for k in ("mpsnr", "mssim", "sam", "ergas"):
    x, y = float(a[k]), float(b[k])
    if not (x == y or abs(x - y) <= 1e-9 * max(1.0, abs(x))):
        sys.exit("%s: %r vs %r" % (k, x, y))
PY
done
finish
