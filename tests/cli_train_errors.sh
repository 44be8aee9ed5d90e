#!/bin/sh
# hypercsc train --eval-only, `hypercsc info MODEL.nc`, and bad inputs:
#  - a model trained 200 steps (lista, gaussian:50, validation scene):
#    --eval-only gives an MPSNR above the noisy input's;
#  - info explains the model;
#  - band mismatch between scenes and between model and scene, corrupted
#    and truncated models, a NaN in a training scene, unknown architecture
#    and option, a patch larger than the training region, -o existing, a
#    checkpoint of another architecture: one line, non-zero exit, no output.
. "$top_srcdir/tests/common.sh"

jfield() { sed -n "s/.*\"$2\": *\"*\([^,}\"]*\).*/\1/p" "$1"; }
C="--noise gaussian:50 --patch 12 --batch 4 --iters 2 --val-patch 8 --epoch-steps 10 -q"
run1 synth -o "$T/s.nc" --size 40x40x6 --seed 2 >/dev/null || fail "synth fixture"
run1 synth -o "$T/v.nc" --size 24x24x6 --seed 5 >/dev/null || fail "validation fixture"
# A 4-band ENVI scene of zeros (no launch needed).
head -c $((40 * 40 * 4 * 4)) /dev/zero > "$T/s4.img"
printf 'ENVI\nsamples = 40\nlines = 40\nbands = 4\nheader offset = 0\nfile type = ENVI Standard\ndata type = 4\ninterleave = bsq\nbyte order = 0\n' > "$T/s4.hdr"

# A model trained 200 steps denoises: --eval-only beats the noisy input.
run train --arch lista --atoms 4 --size 3 --train "$T/s.nc" --val "$T/v.nc" $C --steps 200 --lr 0.01 --epoch-steps 100 \
  -o "$T/m.nc" || fail "200 steps"
run train --eval-only --model "$T/m.nc" --val "$T/v.nc" --noise gaussian:50 --val-patch 8 --json > "$T/e.json" \
  || fail "eval-only"
ev=$(jfield "$T/e.json" mpsnr); nz=$(jfield "$T/e.json" noisy_mpsnr)
awk -v a="$ev" -v b="$nz" 'BEGIN { printf "eval-only: MPSNR %s dB, noisy %s dB\n", a, b; exit !(a != "" && a > b) }' \
  || fail "eval-only MPSNR $ev not above the noisy $nz"
run info "$T/m.nc" > "$T/info.txt" || fail "info on a model"
grep -q "lista, 6 bands" "$T/info.txt" && grep -q "200 steps" "$T/info.txt" || fail "info: $(cat "$T/info.txt")"

# Bad inputs: one line, no output.
cp "$T/m.nc" "$T/bad.nc"
sz=$(wc -c < "$T/bad.nc")
printf '\177' | dd of="$T/bad.nc" bs=1 seek=$((sz - 3)) conv=notrunc 2>/dev/null
expect_error "corrupted model" "corrupted" train --eval-only --model "$T/bad.nc" --val "$T/v.nc" --noise gaussian:50
cp "$T/m.nc" "$T/short.nc"
truncate -s $((sz - 16)) "$T/short.nc"
expect_error "truncated model" "truncated" train --eval-only --model "$T/short.nc" --val "$T/v.nc" --noise gaussian:50
expect_error "model/scene band mismatch" "bands" train --eval-only --model "$T/m.nc" --val "$T/s4.img" --noise gaussian:50
expect_error "scenes with different band counts" "band count" train --arch lista --train "$T/s.nc,$T/s4.img" $C -o "$T/x.nc"
expect_error "patch larger than the training region" "does not fit" train --arch lista --train "$T/s.nc" $C --patch 36 -o "$T/x.nc"
run train --arch lista --atoms 4 --size 3 --train "$T/s.nc" $C --lr 0.01 --schedule const --steps 2 \
  --checkpoint "$T/c.ckpt" -o "$T/c.nc" || fail "checkpoint fixture"
expect_error "checkpoint of another architecture" "another architecture" train --arch fista --atoms 4 --size 3 \
  --train "$T/s.nc" $C --lr 0.01 --schedule const --steps 20 --resume "$T/c.ckpt" -o "$T/x.nc"
# A NaN in a 16 x 16 x 6 ENVI scene (float32, little-endian).
head -c $((16 * 16 * 6 * 4 - 4)) /dev/zero > "$T/nan.img"
printf '\000\000\300\177' >> "$T/nan.img"
printf 'ENVI\nsamples = 16\nlines = 16\nbands = 6\nheader offset = 0\nfile type = ENVI Standard\ndata type = 4\ninterleave = bsq\nbyte order = 0\n' > "$T/nan.hdr"
expect_error "NaN in a training scene" "non-finite" train --arch lista --train "$T/nan.img" $C -o "$T/x.nc"
expect_error "unknown architecture" "resnet" train --arch resnet --train "$T/s.nc" $C -o "$T/x.nc"
expect_error "unknown option" "bogus" train --arch lista --train "$T/s.nc" $C --bogus -o "$T/x.nc"
expect_error "output exists" "m.nc" train --arch lista --train "$T/s.nc" $C -o "$T/m.nc"
[ ! -e "$T/x.nc" ] || fail "a failed run left $T/x.nc"
finish
