#!/bin/sh
# Round trips between GeoTIFF, ENVI and NetCDF through the command line, on
# the shared real scenes (when present) and on a generated fixture with
# nodata: pixels bit-exact (ENVI raw bytes compared) and metadata
# (georeferencing, CRS, wavelengths, FWHM, bad bands, band names, nodata)
# the same as hypercsc info reports for the source.
. "$top_srcdir/tests/common.sh"

# Metadata as "hypercsc info --json --no-stats" reports it, without the
# file name and the WKT text (formats spell the same CRS differently; the
# CRS name is compared instead).
meta() {
  run info --json --no-stats "$1" |
    sed -e 's/"file": "[^"]*", //' -e 's/"crs_wkt": "\([^"\\]\|\\.\)*", //'
}

check_scene() { # SOURCE NAME
  src=$1; name=$2
  run convert -q "$src" "$T/$name.a.bsq" || { fail "$name: to ENVI"; return; }
  run convert -q "$src" "$T/$name.b.nc" || { fail "$name: to NetCDF"; return; }
  run convert -q "$T/$name.b.nc" "$T/$name.c.tif" || { fail "$name: NetCDF to GeoTIFF"; return; }
  run convert -q "$T/$name.c.tif" "$T/$name.d.bsq" || { fail "$name: GeoTIFF to ENVI"; return; }
  cmp -s "$T/$name.a.bsq" "$T/$name.d.bsq" || fail "$name: tif -> nc -> tif -> bsq pixels differ"
  meta "$src" > "$T/$name.meta.src"
  for f in a.bsq b.nc c.tif; do
    meta "$T/$name.$f" > "$T/$name.meta.$f"
    if ! cmp -s "$T/$name.meta.src" "$T/$name.meta.$f"; then
      fail "$name: metadata of $f differs from the source:"
      diff "$T/$name.meta.src" "$T/$name.meta.$f" | head -c 600 >&2
    fi
  done
  echo "ok: $name round trip (pixels and metadata)"
}

# Generated float32 fixture (the Berlin scene brings int16 with nodata -99).
run synth -q -o "$T/fix.tif" --size 21x17x5 --seed 4 || fail "fixture"
check_scene "$T/fix.tif" fixture

if d=$(data_dir); then
  check_scene "$d/olinda_landsat7_etm_349x352x6.tif" olinda
  check_scene "$d/berlin_enmap_sim_60x80x244.hdr" berlin
else
  echo "note: $HCSC_DATA/hsi absent; real scenes skipped"
fi
finish
