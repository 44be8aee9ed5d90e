#!/bin/sh
# synth and noise give byte-identical files whatever the rank count and grid
# (reference: 1 rank), for ENVI, GeoTIFF and NetCDF; eval agrees to 1e-9.
# Every grid shape is covered by the library tests (t_eval_synth_noise,
# t_io_*); here the commands are checked end to end on the automatic grid
# and on one explicit grid with spectral groups or an uneven split.
. "$top_srcdir/tests/common.sh"

MODELS="gaussian:30 blind noniid stripes deadlines impulse:0.2 mixture"
run1 synth -q -o "$T/ref.bsq" --size 37x29x6 --seed 11 || fail "reference synth"
for m in $MODELS; do
  run1 noise -q "$T/ref.bsq" "$T/ref_$m.bsq" --model $m --seed 5 || fail "reference noise $m"
done
run1 eval "$T/ref.bsq" "$T/ref_mixture.bsq" --json > "$T/ref_eval.json" || fail "reference eval"

case $HCSC_NP in
1) GRIDS=auto ;;
2) GRIDS="auto 2x1x1" ;;
3) GRIDS="auto 1x1x3" ;;
4) GRIDS="auto 2x1x2" ;;
esac
for g in $GRIDS; do
  go=$(grid_opt "$g")
  # Tiny I/O chunks: many collective rounds, and ranks with different
  # numbers of rounds (uneven tiles).
  export HCSC_IO_CHUNK=300
  for ext in bsq tif nc; do
    run synth -q -o "$T/s_$g.$ext" --size 37x29x6 --seed 11 $go || fail "synth $g $ext"
  done
  cmp -s "$T/ref.bsq" "$T/s_$g.bsq" || fail "synth ENVI on grid $g differs from 1 rank"
  run convert -q "$T/s_$g.tif" "$T/s_${g}_tif.bsq" || fail "convert tif"
  run convert -q "$T/s_$g.nc" "$T/s_${g}_nc.bsq" || fail "convert nc"
  unset HCSC_IO_CHUNK
  cmp -s "$T/ref.bsq" "$T/s_${g}_tif.bsq" || fail "synth GeoTIFF on grid $g differs"
  cmp -s "$T/ref.bsq" "$T/s_${g}_nc.bsq" || fail "synth NetCDF on grid $g differs"
  models=$MODELS
  [ "$g" = auto ] || models=mixture
  for m in $models; do
    run noise -q "$T/ref.bsq" "$T/n.bsq" --model $m --seed 5 $go --force || fail "noise $m $g"
    cmp -s "$T/ref_$m.bsq" "$T/n.bsq" || fail "noise $m on grid $g differs from 1 rank"
  done
  run eval "$T/ref.bsq" "$T/ref_mixture.bsq" --json $go > "$T/eval.json" || fail "eval $g"
  # Sums are reduced in different orders: compare to 1e-9 relative.
  for k in mpsnr mssim sam ergas; do
    a=$(sed -n "s/.*\"$k\": *\([^,}]*\).*/\1/p" "$T/ref_eval.json")
    b=$(sed -n "s/.*\"$k\": *\([^,}]*\).*/\1/p" "$T/eval.json")
    awk -v a="$a" -v b="$b" 'BEGIN { d = a - b; if (d < 0) d = -d; s = a < 0 ? -a : a; if (s < 1) s = 1;
      exit !(a != "" && d <= 1e-9 * s) }' || fail "eval $k on grid $g: $b vs 1 rank $a"
  done
done
finish
