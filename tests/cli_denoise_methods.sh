#!/bin/sh
# hypercsc denoise with the other methods on the scene of cli_denoise.sh
# (30 x 40 x 6, dead columns = nodata, band 3 bad): the PCA baseline
# (--method pca --rank 3) and classical FISTA CBPDN (random dictionary of
# 8 atoms 3 x 3, lambda 0.01, 20 iterations):
#  - the output at N ranks equals the 1-rank output: pca on the automatic
#    grid and on the last grid of tests/common.sh (spectral groups at 2+
#    ranks), fista on the automatic grid (G > 1: refused with one line);
#    max |difference| <= 1e-5 max |value| (measured: 0);
#  - nodata pixels and the bad band byte-identical to the input, the other
#    values changed.
. "$top_srcdir/tests/common.sh"

. "$top_srcdir/tests/restore_common.sh"

run1 synth -o "$T/c.envi" --size 30x40x6 --seed 3 -q || fail "synth"
run1 noise "$T/c.envi" "$T/n.envi" --model deadlines --seed 5 -q || fail "noise"
echo 'data ignore value = 0' >> "$T/n.hdr"
echo 'bbl = {1, 1, 0, 1, 1, 1}' >> "$T/n.hdr"
run1 dict init -o "$T/d.nc" --atoms 8 --size 3 --channels 6 -q || fail "dict"
run1 denoise --method pca --rank 3 "$T/n.envi" -o "$T/ref_pca.envi" -q || fail "pca at 1 rank"
run1 denoise --solver fista --dict "$T/d.nc" --lambda 0.01 --iters 20 "$T/n.envi" -o "$T/ref_fista.envi" -q \
  || fail "fista at 1 rank"
for g in $(grids); do last=$g; done
for g in auto $last; do
  run denoise --method pca --rank 3 "$T/n.envi" -o "$T/pca_$g.envi" $(grid_opt "$g") -q || fail "pca on $g"
  close "$T/ref_pca.envi" "$T/pca_$g.envi" "pca, 1 rank vs $HCSC_NP on $g"
done
run denoise --solver fista --dict "$T/d.nc" --lambda 0.01 --iters 20 "$T/n.envi" -o "$T/fista.envi" -q || fail "fista"
close "$T/ref_fista.envi" "$T/fista.envi" "fista, 1 rank vs $HCSC_NP on auto"
if [ "$HCSC_NP" -gt 1 ]; then
  expect_error "fista on ${HCSC_NP}x1x1" "needs G = 1" denoise --solver fista --dict "$T/d.nc" "$T/n.envi" \
    -o "$T/x.envi" --grid "${HCSC_NP}x1x1"
  [ -e "$T/x.envi" ] && fail "fista on ${HCSC_NP}x1x1: output left behind"
fi
for f in pca_$last fista; do
  passthrough "$T/n.envi" "$T/$f.envi" "$f"
done
finish
