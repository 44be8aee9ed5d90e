#!/bin/sh
# hypercsc inpaint on a synthesised 30 x 40 x 6 scene with mild noise
# (gaussian:10), a tiny ssc model trained here (5 steps) and a dictionary
# of scene patches (16 atoms 5 x 5) for the classical masked FISTA:
#  - a known mask from the three sources at once: --dead-lines
#    "2-4:5,6,17,30" (bands 2-4, 0-based columns), --missing-bands 5 and
#    --mask (a uint8 ENVI raster, 0 in rows 10-12 x columns 8-15, every band);
#  - valid values are byte-identical to the input, missing ones filled
#    (finite); the network's RMSE on the missing values beats zero fill
#    (asserted) and is printed next to masked FISTA's at roughly equal time
#    (5 iterations, lambda 0.01: FISTA's setup, the power iteration for L,
#    already costs several times the network's forward).  Measured: network
#    0.119 (5 training steps) in 0.03-0.05 s, FISTA 0.31 in 0.16 s, zero
#    fill 0.30 (4 ranks).  Without the --mask block (1 rank): network 0.099
#    (0.067 after 60 training steps) in 0.01 s; FISTA 0.26 at 5 iterations
#    (0.06 s), 0.06 at 100 iterations (0.3 s): given 30x the time, FISTA
#    with a patch dictionary beats this briefly trained network;
#  - the N-rank output equals the 1-rank output (1e-5 relative);
#  - bad input: model/scene band mismatch, a mask of another size, a
#    corrupted model, an existing output: one line, non-zero on every rank,
#    nothing (new) at -o.
. "$top_srcdir/tests/common.sh"

numvals() { od -An -v -tf4 -w4 "$1" | tr -d ' '; }
hexvals() { od -An -v -tx4 -w4 "$1" | tr -d ' '; }
# An ENVI uint8 mask of ROWS x COLS: ones, zeros at rows 10-12, cols 8-15.
make_mask() {
  n=$(($2 * $3))
  head -c "$n" /dev/zero | tr '\000' '\001' > "$1.envi"
  for r in 10 11 12; do dd if=/dev/zero of="$1.envi" bs=1 seek=$((r * $3 + 8)) count=8 conv=notrunc 2>/dev/null; done
  printf 'ENVI\nsamples = %d\nlines = %d\nbands = 1\nheader offset = 0\nfile type = ENVI Standard\n' "$3" "$2" > "$1.hdr"
  printf 'data type = 1\ninterleave = bsq\nbyte order = 0\n' >> "$1.hdr"
}
# The missing set of the fixture (awk): index i of a 6 x 30 x 40 scene.
MISSING='function miss(i,  b, r, c) { b = int(i / 1200); r = int((i % 1200) / 40); c = i % 40
  if (b == 4) return 1
  if (b >= 1 && b <= 3 && (c == 5 || c == 6 || c == 17 || c == 30)) return 1
  return r >= 10 && r <= 12 && c >= 8 && c <= 15 }'
# score CLEAN NOISY OUT WHAT: RMSE of OUT on the missing values (and of
# zero fill), valid values of OUT identical to NOISY's.
score() {
  numvals "$1" > "$T/sc.txt"; hexvals "$2" > "$T/sn.txt"; hexvals "$3" > "$T/so.txt"; numvals "$3" > "$T/sv.txt"
  paste "$T/sc.txt" "$T/sn.txt" "$T/so.txt" "$T/sv.txt" | awk "$MISSING"'
    { i = NR - 1; if (miss(i)) { n++; e += ($4 - $1) ^ 2; z += $1 ^ 2; if ($4 ~ /nan|inf/) bad++ }
      else if ($2 != $3) alt++ }
    END { printf "%d missing, RMSE %.5g, zero fill %.5g, %d valid altered, %d not finite\n", n, sqrt(e / n),
          sqrt(z / n), alt + 0, bad + 0 }'
}

run1 synth -o "$T/c.envi" --size 30x40x6 --seed 3 -q || fail "synth"
run1 noise "$T/c.envi" "$T/n.envi" --model gaussian:10 --seed 5 -q || fail "noise"
run1 train --arch ssc --rank 3 --atoms 8 --size 3 --iters 3 --train "$T/c.envi" --noise gaussian:10 \
  --patch 12 --batch 4 --steps 5 -q -o "$T/m.nc" || fail "train"
run1 dict init -o "$T/d.nc" --atoms 16 --size 5 --from "$T/c.envi" --method patches -q || fail "dict"
make_mask "$T/mask" 30 40
MASKS="--dead-lines 2-4:5,6,17,30 --missing-bands 5 --mask $T/mask.envi"

run1 inpaint --model "$T/m.nc" $MASKS "$T/n.envi" -o "$T/ref.envi" -q || fail "network at 1 rank"
t0=$(date +%s.%N)
run inpaint --model "$T/m.nc" $MASKS "$T/n.envi" -o "$T/net.envi" --json > "$T/net.json" || fail "network"
t1=$(date +%s.%N)
run inpaint --solver fista --dict "$T/d.nc" --lambda 0.01 --iters 5 $MASKS "$T/n.envi" -o "$T/fista.envi" \
  --json > "$T/fista.json" || fail "fista"
t2=$(date +%s.%N)
numvals "$T/ref.envi" > "$T/va.txt"; numvals "$T/net.envi" > "$T/vb.txt"
res=$(paste "$T/va.txt" "$T/vb.txt" | awk '{ d = $1 - $2; if (d < 0) d = -d; a = $1 < 0 ? -$1 : $1
  if (d > m) m = d; if (a > r) r = a; n++ } END { printf "%d values, max |diff| %.3g, max |value| %.3g\n", n, m, r }')
echo "network, 1 rank vs $HCSC_NP: $res"
echo "$res" | awk '{ exit !($1 == 7200 && $5 + 0 <= 1e-5 * ($8 + 0)) }' || fail "1 vs $HCSC_NP ranks: $res"
sn=$(score "$T/c.envi" "$T/n.envi" "$T/net.envi")
sf=$(score "$T/c.envi" "$T/n.envi" "$T/fista.envi")
tn=$(sed -n 's/.*"seconds": \([0-9.e+-]*\).*/\1/p' "$T/net.json")
tf=$(sed -n 's/.*"seconds": \([0-9.e+-]*\).*/\1/p' "$T/fista.json")
echo "network: $sn; solve ${tn}s (wall $(awk "BEGIN { print $t1 - $t0 }") s)"
echo "fista:   $sf; solve ${tf}s (wall $(awk "BEGIN { print $t2 - $t1 }") s)"
echo "$sn" | awk '{ exit !($1 == 1680 && $4 + 0 < $7 + 0 && $8 == 0 && $11 == 0) }' ||
  fail "network: $sn (want 1680 missing, RMSE below zero fill, valid untouched, finite)"
echo "$sf" | awk '{ exit !($1 == 1680 && $8 == 0) }' || fail "fista: $sf"

# Bad input.
run1 synth -o "$T/c5.envi" --size 30x40x5 --seed 3 -q || fail "synth 5 bands"
expect_error "band mismatch" "is for 6 bands but scene" inpaint --model "$T/m.nc" --missing-bands 2 "$T/c5.envi" -o "$T/o1.envi"
[ -e "$T/o1.envi" ] && fail "band mismatch: output left behind"
make_mask "$T/mask39" 30 39
expect_error "mask of another size" "mask $T/mask39.envi is 30x39x1" inpaint --model "$T/m.nc" --mask "$T/mask39.envi" \
  "$T/n.envi" -o "$T/o2.envi"
[ -e "$T/o2.envi" ] && fail "mask size: output left behind"
cp "$T/m.nc" "$T/bad.nc"
sz=$(wc -c < "$T/bad.nc")
dd if=/dev/urandom of="$T/bad.nc" bs=1 seek=$((sz - 64)) count=32 conv=notrunc 2>/dev/null
expect_error "corrupted model" "bad.nc" inpaint --model "$T/bad.nc" --missing-bands 2 "$T/n.envi" -o "$T/o3.envi"
[ -e "$T/o3.envi" ] && fail "corrupted model: output left behind"
: > "$T/o4.envi"
expect_error "output exists" "exists" inpaint --model "$T/m.nc" --missing-bands 2 "$T/n.envi" -o "$T/o4.envi"
[ -s "$T/o4.envi" ] && fail "output exists: the file was overwritten"
finish
