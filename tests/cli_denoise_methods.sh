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

# Values of a float32 raw file, one per line (hex: exact; f: numbers).
hexvals() { od -An -v -tx4 -w4 "$1" | tr -d ' '; }
numvals() { od -An -v -tf4 -w4 "$1" | tr -d ' '; }
# close A B WHAT: max |a - b| <= 1e-5 max |a| over the values of two raw files.
close() {
  numvals "$1" > "$T/va.txt"; numvals "$2" > "$T/vb.txt"
  res=$(paste "$T/va.txt" "$T/vb.txt" | awk '{ if ($1 == "nan" || $2 == "nan") { if ($1 != $2) bad++; next }
    d = $1 - $2; if (d < 0) d = -d; a = $1 < 0 ? -$1 : $1; if (d > m) m = d; if (a > r) r = a; n++ }
    END { printf "%d values, max |diff| %.3g, max |value| %.3g, nan mismatches %d\n", n, m, r, bad + 0 }')
  echo "$3: $res"
  echo "$res" | awk '{ d = $5 + 0; r = $8 + 0; exit !($1 > 0 && d <= 1e-5 * r && $NF == 0) }' || fail "$3: $res"
}
# passthrough IN OUT WHAT: nodata pixels (any band 0) and band 3 of a 30 x
# 40 scene byte-identical, more than 1000 other values changed.
passthrough() {
  hexvals "$1" > "$T/ha.txt"; hexvals "$2" > "$T/hb.txt"
  res=$(paste "$T/ha.txt" "$T/hb.txt" | awk -v hw=1200 -v bad=2 '{ a[NR-1] = $1; b[NR-1] = $2
      if ($1 == "00000000" || $1 == "80000000") nd[(NR-1) % hw] = 1 }
    END { for (i = 0; i < NR; i++) { if (int(i / hw) == bad || ((i % hw) in nd)) { k++; if (a[i] != b[i]) w++ }
      else if (a[i] != b[i]) ch++ }
      printf "%d pass-through values, %d altered; %d of the others changed\n", k, w + 0, ch + 0 }')
  echo "$3: $res"
  echo "$res" | awk '{ exit !($1 > 1200 && $4 == 0 && $7 > 1000) }' || fail "$3 pass-through: $res"
}
meta() { run1 info "$1" --json | sed -E 's/"(file|count|min|max|mean|std|noise)": [^,}]*,? ?//g'; }

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
