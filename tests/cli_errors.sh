#!/bin/sh
# Bad input: one clear line naming the file and the reason, a non-zero exit
# on every rank within seconds, and nothing at the output path.
. "$top_srcdir/tests/common.sh"
trap 'umount "$T/full" 2>/dev/null' EXIT

run synth -q -o "$T/ok.tif" --size 12x10x4 --seed 1 || fail "synth fixture"
run synth -q -o "$T/ok.bsq" --size 12x10x4 --seed 1 || fail "synth fixture (ENVI)"
run synth -q -o "$T/small.tif" --size 8x10x4 --seed 1 || fail "synth fixture (other size)"

expect_error "missing file" "$T/nope.tif" info "$T/nope.tif"
echo "just some text" > "$T/text.tif"
expect_error "not a raster" "$T/text.tif" info "$T/text.tif"
# Truncated GeoTIFF: the directory survives, the pixels do not.
sz=$(wc -c < "$T/ok.tif")
head -c $((sz / 2)) "$T/ok.tif" > "$T/trunc.tif"
expect_error "truncated GeoTIFF" "trunc.tif" convert "$T/trunc.tif" "$T/trunc_out.bsq"
[ -e "$T/trunc_out.bsq" ] && fail "truncated GeoTIFF left an output"
# ENVI header promising more bytes than the raw file holds.
cp "$T/ok.hdr" "$T/short.hdr"
head -c 100 "$T/ok.bsq" > "$T/short.bsq"
expect_error "short ENVI raw file" "short" convert "$T/short.bsq" "$T/short_out.tif"
[ -e "$T/short_out.tif" ] && fail "short ENVI left an output"
# Unsupported data type: a complex ENVI file (data type 6).
sed 's/^data type = .*/data type = 6/' "$T/ok.hdr" > "$T/cplx.hdr"
cat "$T/ok.bsq" "$T/ok.bsq" > "$T/cplx.bsq"
expect_error "unsupported data type" "cplx" info "$T/cplx.bsq"
# Zero-size scene: a header that declares no lines, and a request for one.
sed 's/^lines .*/lines = 0/' "$T/ok.hdr" > "$T/empty.hdr"
: > "$T/empty.bsq"
expect_error "zero-size scene" "empty.bsq" info "$T/empty.bsq"
expect_error "zero-size synth" "size" synth -o "$T/zero.tif" --size 0x10x4
[ -e "$T/zero.tif" ] && fail "zero-size synth left an output"
# Band and window out of range.
expect_error "band out of range" "band" convert "$T/ok.tif" "$T/b.tif" --bands 1-9
expect_error "window out of range" "window" convert "$T/ok.tif" "$T/w.tif" --window 5,5,20,3
[ -e "$T/b.tif" ] || [ -e "$T/w.tif" ] && fail "range error left an output"
# Output exists.
cp "$T/ok.tif" "$T/exists.tif"
expect_error "output exists" "exists.tif" convert "$T/ok.tif" "$T/exists.tif"
cmp -s "$T/ok.tif" "$T/exists.tif" || fail "existing output was modified"
run convert -q "$T/ok.tif" "$T/exists.tif" --force --type float32 || fail "--force refused"
# Output directory missing or not writable.
expect_error "missing output directory" "nodir" convert "$T/ok.tif" "$T/nodir/x.tif"
mkdir -p "$T/ro" && chmod 555 "$T/ro"
if [ "$(id -u)" != 0 ]; then
  expect_error "read-only output directory" "ro" convert "$T/ok.tif" "$T/ro/x.tif"
fi
chmod 755 "$T/ro"
# Disk full: a 64 KiB tmpfs (needs root to mount; skipped otherwise; the
# library test t_io_errors covers RLIMIT_FSIZE on every rank).
mkdir -p "$T/full"
if mount -t tmpfs -o size=64k hcsc-test "$T/full" 2>/dev/null; then
  for ext in bsq tif nc; do
    expect_error "disk full ($ext)" "full.$ext" synth -o "$T/full/full.$ext" --size 64x64x8
    [ -e "$T/full/full.$ext" ] && fail "disk full left $T/full/full.$ext"
    ls -a "$T/full" | grep -q 'hcsc-tmp' && fail "disk full ($ext) left a temporary directory"
  done
  umount "$T/full"
else
  echo "note: cannot mount a tmpfs here; disk-full check left to t_io_errors"
fi
# Eval of scenes of different sizes.
expect_error "eval size mismatch" "small.tif" eval "$T/ok.tif" "$T/small.tif"
# Bad options.
expect_error "bad noise model" "bogus" noise "$T/ok.tif" "$T/n.tif" --model bogus:3
expect_error "bad grid" "grid" info "$T/ok.tif" --grid 3x7x1
ls -a "$T" | grep -q 'hcsc-tmp' && fail "a temporary directory was left behind"
finish
