#!/bin/sh
# hypercsc dict init / dict show on a synthesised 30 x 40 x 6 scene: random,
# patch, multi-layer and multi-scale dictionaries are the same file (byte for
# byte) at every rank count and grid, uneven splits and spectral groups
# included (reference: 1 rank); the files carry their structure and the
# scene's wavelengths; show writes a PNG of the documented size; bad input
# fails with one line and leaves no output.
. "$top_srcdir/tests/common.sh"

png_size() { # PICTURE -> "WIDTHxHEIGHTxCHANNELS" from the PNG header (IHDR), "" if not a PNG
  head -c 8 "$1" 2>/dev/null | od -An -c | grep -q 'P   N   G' || return
  od -An -tu1 -j16 -N10 "$1" | awk '{ w = (($1 * 256 + $2) * 256 + $3) * 256 + $4;
    h = (($5 * 256 + $6) * 256 + $7) * 256 + $8; c = $10 == 2 ? 3 : $10 == 0 ? 1 : "?" ($10);
    print w "x" h "x" c }'
}
same_file() { # REF TEST what
  if cmp -s "$1" "$2"; then echo "ok: $3: same file as at 1 rank"; else fail "$3: $2 differs from $1"; fi
}

run1 synth -o "$T/s.nc" --size 30x40x6 --seed 5 >/dev/null || fail "synth fixture"
# References at 1 rank.
run1 dict init -o "$T/r_rand.nc" --atoms 8 --size 5 --channels 6 --seed 3 >/dev/null || fail "ref random"
run1 dict init -o "$T/r_patch.nc" --atoms 8 --size 5 --from "$T/s.nc" --method patches --seed 4 \
  >/dev/null || fail "ref patches"
run1 dict init -o "$T/r_ml.nc" --layers 2 --atoms 16,32 --size 5,3 --from "$T/s.nc" \
  >/dev/null || fail "ref multi-layer"
run1 dict init -o "$T/r_ms.nc" --scales 1,2,4 --size 5,9,17 --atoms 4 --from "$T/s.nc" --method patches \
  >/dev/null || fail "ref multi-scale"

# Random atoms need no grid; patches come from the tile that owns them: the
# automatic grid and one uneven split or spectral-group grid per rank count.
run dict init -o "$T/rand.nc" --atoms 8 --size 5 --channels 6 --seed 3 >/dev/null || fail "random"
same_file "$T/r_rand.nc" "$T/rand.nc" "random"
case $HCSC_NP in
1) GRIDS="auto" ;;
2) GRIDS="2x1x1" ;;
3) GRIDS="1x1x3" ;;
4) GRIDS="1x4x1" ;;
esac
for g in $GRIDS; do
  go=$(grid_opt "$g")
  run dict init -o "$T/patch.nc" --atoms 8 --size 5 --from "$T/s.nc" --method patches --seed 4 --force $go \
    >/dev/null || fail "patches on grid $g"
  same_file "$T/r_patch.nc" "$T/patch.nc" "patches, grid $g"
done
run dict init -o "$T/ml.nc" --layers 2 --atoms 16,32 --size 5,3 --from "$T/s.nc" >/dev/null \
  || fail "multi-layer"
same_file "$T/r_ml.nc" "$T/ml.nc" "multi-layer"
run dict init -o "$T/ms.nc" --scales 1,2,4 --size 5,9,17 --atoms 4 --from "$T/s.nc" --method patches \
  >/dev/null || fail "multi-scale"
same_file "$T/r_ms.nc" "$T/ms.nc" "multi-scale"
# Random and patch atoms differ (the patches really come from the scene).
cmp -s "$T/r_rand.nc" "$T/r_patch.nc" && fail "random and patch dictionaries are identical"

# The files explain themselves.
if command -v ncmpidump >/dev/null 2>&1; then
  ncmpidump -h "$T/r_ml.nc" > "$T/ml.cdl"; ncmpidump -h "$T/r_ms.nc" > "$T/ms.cdl"
  ncmpidump -h "$T/r_rand.nc" > "$T/rand.cdl"
  for s in ":structure = 1" ":nlayers = 2" "float atoms_1(atom_1, channel_1, ky_1, kx_1)" \
    "atoms_1:nchan = 16" "atoms_1:natoms = 32" ":wavelength = "; do
    grep -qF "$s" "$T/ml.cdl" || fail "multi-layer header lacks '$s'"
  done
  for s in ":structure = 2" ":nlayers = 3" "atoms_2:scale = 4" "atoms_2:ksize = 17" "atoms_2:nchan = 6"; do
    grep -qF "$s" "$T/ms.cdl" || fail "multi-scale header lacks '$s'"
  done
  grep -qF ":structure = 0" "$T/rand.cdl" || fail "single dictionary header lacks structure 0"
  grep -qF ":wavelength" "$T/rand.cdl" && fail "a --channels dictionary claims wavelengths"
  # --method file keeps the structure and the wavelengths.
  run dict init -o "$T/f_ml.nc" --method file --init "$T/r_ml.nc" >/dev/null || fail "--method file"
  ncmpidump -h "$T/f_ml.nc" > "$T/f_ml.cdl"
  grep -qF ":structure = 1" "$T/f_ml.cdl" && grep -qF ":wavelength = " "$T/f_ml.cdl" \
    || fail "--method file lost the structure or the wavelengths"
else
  echo "no ncmpidump: header checks skipped"
fi

# show: grey, 8 atoms of 5 x 5 at 4 px: 3 x 3 tiles of 21 px + 1 = 64 x 64.
run dict show "$T/r_patch.nc" -o "$T/grey.png" --scale-px 4 >/dev/null || fail "show grey"
[ "$(png_size "$T/grey.png")" = 64x64x1 ] || fail "grey mosaic is '$(png_size "$T/grey.png")', expected 64x64x1"
# False colour by channels: layer 1 of the stack, 32 atoms of 3 x 3 over
# 16 channels at 10 px (default 32/3): 6 columns x 6 rows of 31 px + 1 = 187.
run dict show "$T/r_ml.nc" -o "$T/rgb.png" --layer 1 --rgb 1,8,16 >/dev/null || fail "show --rgb"
[ "$(png_size "$T/rgb.png")" = 187x187x3 ] || fail "rgb mosaic is '$(png_size "$T/rgb.png")', expected 187x187x3"
# By wavelength: layer 2 of the multi-scale set, 4 atoms of 17 x 17 at 1 px:
# 2 x 2 tiles of 18 px + 1 = 37.  GDAL reads the file back.
run dict show "$T/r_ms.nc" -o "$T/wl.png" --layer 2 --wavelengths 650,550,450 --json > "$T/wl.json" \
  || fail "show --wavelengths"
[ "$(png_size "$T/wl.png")" = 37x37x3 ] || fail "wavelength mosaic is '$(png_size "$T/wl.png")', expected 37x37x3"
grep -q '"width": 37, "height": 37, "channels": \[' "$T/wl.json" || fail "show --json: $(cat "$T/wl.json")"
if command -v gdalinfo >/dev/null 2>&1; then
  gdalinfo "$T/wl.png" 2>&1 | grep -q "Size is 37, 37" || fail "gdalinfo cannot read wl.png"
fi
# No temporary file is left behind.
ls "$T" | grep -q 'hcsc-tmp' && fail "temporary files left in $T: $(ls "$T" | grep hcsc-tmp)"

# Bad input: one line, no output file.
expect_error "missing dictionary" "nope.nc" dict show "$T/nope.nc" -o "$T/e1.png"
expect_error "--rgb channel out of range" "channel 7 out of range" dict show "$T/r_rand.nc" -o "$T/e1.png" \
  --rgb 1,2,7
expect_error "no wavelengths" "no wavelengths" dict show "$T/r_rand.nc" -o "$T/e1.png" --wavelengths 1,2,3
head -c 400 "$T/r_rand.nc" > "$T/corrupt.nc"
expect_error "corrupt dictionary" "corrupt.nc" dict show "$T/corrupt.nc" -o "$T/e1.png"
expect_error "bad --atoms list" "--atoms and --size need 1 or 2" dict init -o "$T/e2.nc" --layers 2 \
  --atoms 4,5,6 --size 3 --channels 6
expect_error "existing output" "exists" dict init -o "$T/r_rand.nc" --atoms 4 --size 3 --channels 6
for f in e1.png e2.nc; do [ -e "$T/$f" ] && fail "a failed run left $T/$f"; done
ls "$T" | grep -q 'hcsc-tmp' && fail "temporary files left in $T"
finish
