#!/bin/sh
# hypercsc denoise on a synthesised 30 x 40 x 6 scene with dead (zero)
# columns declared nodata and band 3 declared bad (bbl), a tiny ssc model
# trained here (5 steps), a random dictionary for fista:
#  - the output at N ranks equals the 1-rank output (network on every grid
#    of G = 1, uneven 1x3x1 at 3 ranks, refused with one line for G > 1;
#    pca on the automatic grid and on the last grid of tests/common.sh,
#    spectral groups at 2+ ranks; fista on the automatic grid):
#    max |difference| <= 1e-5 max |value| (measured: 0 to ~1e-7);
#  - nodata pixels and the bad band are byte-identical to the input, and
#    the other values changed;
#  - georeferencing, wavelengths, fwhm, band names, bbl, nodata kept
#    (hypercsc info --json without the statistics);
#  - --sigma, --quicklook (a PNG twice as wide as the scene), default model
#    lookup through $HCSC_MODELS.
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
meta() { run1 info "$1" --json | sed -E 's/"(file|count|min|max|mean|std|noise)": [^,}]*,? ?//g'; }

run1 synth -o "$T/c.envi" --size 30x40x6 --seed 3 -q || fail "synth"
run1 noise "$T/c.envi" "$T/n.envi" --model deadlines --seed 5 -q || fail "noise"
# Dead columns (exact zeros) become nodata; band 3 is bad.
echo 'data ignore value = 0' >> "$T/n.hdr"
echo 'bbl = {1, 1, 0, 1, 1, 1}' >> "$T/n.hdr"
run1 train --arch ssc --rank 3 --atoms 8 --size 3 --iters 3 --train "$T/c.envi" --noise gaussian:30 \
  --patch 12 --batch 4 --steps 5 -q -o "$T/m.nc" || fail "train"
run1 dict init -o "$T/d.nc" --atoms 8 --size 3 --channels 6 -q || fail "dict"

# 1-rank references.
run1 denoise --model "$T/m.nc" "$T/n.envi" -o "$T/ref_net.envi" -q || fail "net at 1 rank"
run1 denoise --method pca --rank 3 "$T/n.envi" -o "$T/ref_pca.envi" -q || fail "pca at 1 rank"
run1 denoise --solver fista --dict "$T/d.nc" --lambda 0.01 --iters 20 "$T/n.envi" -o "$T/ref_fista.envi" -q \
  || fail "fista at 1 rank"

# Every grid of G = 1 for the network (one G > 1 grid: refused); pca on
# the automatic grid and on the last grid (spectral groups at 2+ ranks);
# fista (G = 1 only) on the automatic grid.  Each mpiexec costs seconds.
i=0
refused=0
for g in $(grids); do
  i=$((i + 1))
  G=$(echo "$g" | cut -dx -f1)
  last=$g
  if [ "$g" != auto ] && [ "$G" -gt 1 ]; then
    [ $refused -eq 1 ] && continue
    refused=1
    expect_error "net on $g" "networks need G = 1" denoise --model "$T/m.nc" "$T/n.envi" -o "$T/x$i.envi" $(grid_opt "$g")
    [ -e "$T/x$i.envi" ] && fail "net on $g: output left behind"
  else
    run denoise --model "$T/m.nc" "$T/n.envi" -o "$T/net$i.envi" $(grid_opt "$g") -q || fail "net on $g"
    close "$T/ref_net.envi" "$T/net$i.envi" "net, 1 rank vs $HCSC_NP on $g"
  fi
done
for g in auto $last; do
  run denoise --method pca --rank 3 "$T/n.envi" -o "$T/pca_$g.envi" $(grid_opt "$g") -q || fail "pca on $g"
  close "$T/ref_pca.envi" "$T/pca_$g.envi" "pca, 1 rank vs $HCSC_NP on $g"
done
run denoise --solver fista --dict "$T/d.nc" --lambda 0.01 --iters 20 "$T/n.envi" -o "$T/fista.envi" -q || fail "fista"
close "$T/ref_fista.envi" "$T/fista.envi" "fista, 1 rank vs $HCSC_NP on auto"

# Pass-through: nodata pixels (any band 0) and band 3 byte-identical; the
# rest changed (network at N ranks, automatic grid).
for f in ref_net net1 pca_$last fista; do
  hexvals "$T/n.envi" > "$T/ha.txt"; hexvals "$T/$f.envi" > "$T/hb.txt"
  res=$(paste "$T/ha.txt" "$T/hb.txt" | awk -v hw=1200 -v bad=2 '{ a[NR-1] = $1; b[NR-1] = $2
      if ($1 == "00000000" || $1 == "80000000") nd[(NR-1) % hw] = 1 }
    END { for (i = 0; i < NR; i++) { if (int(i / hw) == bad || ((i % hw) in nd)) { k++; if (a[i] != b[i]) w++ }
      else if (a[i] != b[i]) ch++ }
      printf "%d pass-through values, %d altered; %d of the others changed\n", k, w + 0, ch + 0 }')
  echo "$f: $res"
  echo "$res" | awk '{ exit !($1 > 1200 && $4 == 0 && $7 > 1000) }' || fail "$f pass-through: $res"
done

# Metadata.
meta "$T/n.envi" > "$T/ma.txt"; meta "$T/net1.envi" > "$T/mb.txt"
if cmp -s "$T/ma.txt" "$T/mb.txt" && grep -q '"good": false' "$T/mb.txt" && grep -q '"nodata": 0' "$T/mb.txt" &&
   grep -q '"wavelength": 1240' "$T/mb.txt" && grep -q 'geotransform": \[390000' "$T/mb.txt"; then
  echo "ok: metadata kept"
else
  fail "metadata differ:"; diff "$T/ma.txt" "$T/mb.txt" >&2
fi

# --sigma, quicklook, default model.
run denoise --model "$T/m.nc" --sigma 0.02 "$T/n.envi" -o "$T/s.envi" --quicklook "$T/q.png" -q && [ -s "$T/s.envi" ] || fail "--sigma"
if [ -s "$T/q.png" ] && gdalinfo "$T/q.png" 2>/dev/null | grep -q "Size is 80, 30"; then echo "ok: quicklook 80 x 30"
else fail "quicklook missing or not 80 x 30"; fi
mkdir -p "$T/models"
cp "$T/m.nc" "$T/models/lista_other.nc"
HCSC_MODELS="$T/models" run denoise "$T/n.envi" -o "$T/def.envi" --json > "$T/def.json" || fail "default model"
grep -q "models/lista_other.nc" "$T/def.json" && echo "ok: default model from \$HCSC_MODELS" ||
  fail "default model not used: $(cat "$T/def.json")"
finish
