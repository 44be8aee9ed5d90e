#!/bin/sh
# hypercsc denoise on a synthesised 30 x 40 x 6 scene with dead (zero)
# columns declared nodata and band 3 declared bad (bbl), a tiny ssc model
# trained here (5 steps); the other methods: cli_denoise_methods.sh.
#  - the output at N ranks equals the 1-rank output on every grid of
#    G = 1 (uneven 1x3x1 at 3 ranks; G > 1 refused with one line):
#    max |difference| <= 1e-5 max |value| (measured: 0 to ~1e-7);
#  - nodata pixels and the bad band are byte-identical to the input, and
#    the other values changed;
#  - georeferencing, wavelengths, fwhm, band names, bbl, nodata kept
#    (hypercsc info --json without the statistics);
#  - --sigma, --quicklook (a PNG twice as wide as the scene), default model
#    lookup through $HCSC_MODELS.
. "$top_srcdir/tests/common.sh"

. "$top_srcdir/tests/restore_common.sh"

run1 synth -o "$T/c.envi" --size 30x40x6 --seed 3 -q || fail "synth"
run1 noise "$T/c.envi" "$T/n.envi" --model deadlines --seed 5 -q || fail "noise"
# Dead columns (exact zeros) become nodata; band 3 is bad.
echo 'data ignore value = 0' >> "$T/n.hdr"
echo 'bbl = {1, 1, 0, 1, 1, 1}' >> "$T/n.hdr"
run1 train --arch ssc --rank 3 --atoms 8 --size 3 --iters 3 --train "$T/c.envi" --noise gaussian:30 \
  --patch 12 --batch 4 --steps 5 -q -o "$T/m.nc" || fail "train"

# 1-rank references.
run1 denoise --model "$T/m.nc" "$T/n.envi" -o "$T/ref_net.envi" -q || fail "net at 1 rank"

# Every grid of G = 1 (one G > 1 grid: refused).  Each mpiexec costs
# seconds here.
i=0
refused=0
for g in $(grids); do
  i=$((i + 1))
  G=$(echo "$g" | cut -dx -f1)
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

# Pass-through: nodata pixels (any band 0) and band 3 byte-identical; the
# rest changed.
for f in ref_net net1; do
  passthrough "$T/n.envi" "$T/$f.envi" "$f"
done

# Metadata.
meta "$T/n.envi" > "$T/ma.txt"; meta "$T/net1.envi" > "$T/mb.txt"
if cmp -s "$T/ma.txt" "$T/mb.txt" && grep -q '"good": false' "$T/mb.txt" && grep -q '"nodata": 0' "$T/mb.txt" &&
   grep -q '"wavelength": 1240' "$T/mb.txt" && grep -q 'geotransform": \[390000' "$T/mb.txt"; then
  echo "ok: metadata kept"
else
  fail "metadata differ:"; diff "$T/ma.txt" "$T/mb.txt" >&2
fi

# --sigma, quicklook and the default model in one run.
mkdir -p "$T/models"
cp "$T/m.nc" "$T/models/lista_other.nc"
HCSC_MODELS="$T/models" run denoise --sigma 0.02 "$T/n.envi" -o "$T/s.envi" --quicklook "$T/q.png" --json \
  > "$T/def.json" && [ -s "$T/s.envi" ] || fail "--sigma, --quicklook, default model"
grep -q "models/lista_other.nc" "$T/def.json" && echo "ok: default model from \$HCSC_MODELS" ||
  fail "default model not used: $(cat "$T/def.json")"
if [ -s "$T/q.png" ] && gdalinfo "$T/q.png" 2>/dev/null | grep -q "Size is 80, 30"; then echo "ok: quicklook 80 x 30"
else fail "quicklook missing or not 80 x 30"; fi
finish
