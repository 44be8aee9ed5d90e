#!/bin/sh
# hypercsc code on a synthesised 26 x 30 x 5 scene with a random 6-atom
# 5 x 5 dictionary: the codes and the reconstruction are the same at every
# rank count and grid, uneven splits included (reference: 1 rank; per-band
# PSNR of the difference >= 80 dB, i.e. RMSE <= 1e-4 of the range); the
# reconstruction is far better than nothing (RMSE below half of the RMSE of
# a zero reconstruction); the ISTA log has one line per iteration and a
# non-increasing objective; bad input fails with one line and no output.
. "$top_srcdir/tests/common.sh"

field() { sed -n "s/.*\"$2\": *\"*\([^,}\"]*\).*/\1/p" "$1"; }
# same_scene REF TEST what: every band's PSNR of TEST against REF is
# infinite (identical) or at least 80 dB.
same_scene() {
  run1 eval "$1" "$2" --per-band --json > "$T/ev.json" 2>&1 || { fail "$3: eval failed"; cat "$T/ev.json" >&2; return; }
  grep -o '"psnr": [^,]*' "$T/ev.json" | awk -v what="$3" '
    { n++; if ($2 != "null" && $2 + 0 < 80) { bad++; if (min == "" || $2 + 0 < min) min = $2 + 0 } }
    END { if (n < 1 || bad) { print what ": " bad " of " n " bands differ (worst PSNR " min " dB)" > "/dev/stderr"; exit 1 }
          print "ok: " what ": " n " bands agree" }' || fail "$3"
}

run1 synth -o "$T/s.nc" --size 26x30x5 --seed 2 >/dev/null || fail "synth fixture"
run1 dict init -o "$T/d.nc" --atoms 6 --size 5 --from "$T/s.nc" --method patches --seed 3 >/dev/null \
  || fail "dictionary fixture"
run1 dict init -o "$T/d4.nc" --atoms 6 --size 5 --channels 4 >/dev/null || fail "4-channel dictionary"
run1 dict init -o "$T/r5.nc" --atoms 6 --size 5 --channels 5 >/dev/null || fail "random dictionary"
run1 dict init -o "$T/ml.nc" --layers 2 --atoms 6,8 --size 5,3 --channels 5 >/dev/null || fail "multi-layer fixture"
run1 dict init -o "$T/ms.nc" --scales 1,2 --atoms 4,4 --size 5,9 --channels 5 >/dev/null || fail "multi-scale fixture"
C="--dict $T/d.nc --lambda 0.005 --iters 30 --tol 0"
run1 code "$T/s.nc" $C -o "$T/ref_c.nc" --recon "$T/ref_r.nc" --json > "$T/ref.json" || fail "reference code"
run1 code "$T/s.nc" $C --iters 0 -o "$T/zero_c.nc" --recon "$T/zero_r.nc" --json > "$T/zero.json" \
  || fail "code with 0 iterations"
e=$(field "$T/ref.json" recon_rmse); e0=$(field "$T/zero.json" recon_rmse)
awk -v a="$e" -v b="$e0" 'BEGIN { exit !(a != "" && b != "" && a + 0 < 0.5 * b) }' \
  || fail "reconstruction RMSE $e is not below half the scene's RMS $e0"
echo "ok: reconstruction RMSE $e, scene RMS $e0"

# Every rank count: the automatic grid and an uneven split.
case $HCSC_NP in
1) GRIDS="auto" ;;
2) GRIDS="auto 1x1x2" ;;
3) GRIDS="1x3x1 1x1x3" ;;
4) GRIDS="auto 1x4x1" ;;
esac
for g in $GRIDS; do
  go=$(grid_opt "$g")
  run code "$T/s.nc" $C -o "$T/c.nc" --recon "$T/r.nc" --force $go >/dev/null || { fail "code on grid $g"; continue; }
  same_scene "$T/ref_c.nc" "$T/c.nc" "codes, grid $g"
  same_scene "$T/ref_r.nc" "$T/r.nc" "reconstruction, grid $g"
done

# A 0/1 mask (ENVI, uint8): about 40% of the pixels missing, from a fixed
# pseudo-random sequence; the scene's missing pixels may hold anything.
awk 'BEGIN { x = 12345; for (i = 0; i < 26 * 30; i++) { x = (x * 1103515245 + 12345) % 2147483648;
  printf "%c", (x / 2147483648 < 0.4) ? 0 : 1 } }' > "$T/mask01.img"
printf 'ENVI\nsamples = 30\nlines = 26\nbands = 1\nheader offset = 0\nfile type = ENVI Standard\ndata type = 1\ninterleave = bsq\nbyte order = 0\n' > "$T/mask01.hdr"
printf '1 1 0.5 1 2\n' > "$T/w.txt"
# The other solvers, each against its 1-rank result on the last grid of
# the list (an uneven split where there is one): masked FISTA with band
# weights, ML-FISTA, multi-scale FISTA, LBP, the masked low-pass split (all
# decomposition-invariant) and
# ADMM (per tile with an overlap: a looser bound, stated below).
for g in $GRIDS; do last=$g; done
go=$(grid_opt "$last")
for v in "mask:--mask $T/mask01.img --band-weights $T/w.txt --dict $T/d.nc" "ml:--dict $T/ml.nc --solver mlfista --lambdas 0.005,0.002" \
         "ms:--dict $T/ms.nc --solver fista" "lbp:--dict $T/ml.nc --solver lbp --lambdas 0.005,0.002" \
         "lowpass:--dict $T/d.nc --lowpass 2 --mask $T/mask01.img"; do
  name=${v%%:*}; args=${v#*:}
  run1 code "$T/s.nc" $args --lambda 0.005 --iters 20 --tol 0 -o "$T/${name}_ref.nc" --recon "$T/${name}_rref.nc" \
    >/dev/null || { fail "$name: 1-rank code"; continue; }
  run code "$T/s.nc" $args --lambda 0.005 --iters 20 --tol 0 -o "$T/${name}_c.nc" --recon "$T/${name}_r.nc" $go \
    >/dev/null || { fail "$name: code on grid $last"; continue; }
  same_scene "$T/${name}_ref.nc" "$T/${name}_c.nc" "$name codes, grid $last"
  same_scene "$T/${name}_rref.nc" "$T/${name}_r.nc" "$name reconstruction, grid $last"
done
# Inpainting: the masked reconstruction fits the observed pixels.
e=$(run1 code "$T/s.nc" --dict "$T/d.nc" --mask "$T/mask01.img" --lambda 0.005 --iters 30 --tol 0 -o "$T/mk2.nc" \
  --recon "$T/mk2_r.nc" --json | sed -n 's/.*"recon_rmse": *\([^,}]*\).*/\1/p')
awk -v a="$e" -v b="$e0" 'BEGIN { exit !(a != "" && a + 0 < 0.5 * b) }' \
  || fail "masked reconstruction RMSE on the observed pixels $e is not below half of $e0"
# ADMM runs per tile on the tile plus an overlap; tile borders see a
# circular wrap damped by the overlap, so the distributed result approaches
# the 1-rank one as the overlap grows (reconstruction MPSNR against 1 rank:
# about 27 dB at 5 px and 40 dB at 20 px on 1x1x3 here, with dense codes at
# this small lambda).  Random atoms: the patch atoms have zero mean, which a
# circular model cannot combine into the scene's mean, while the mirrored
# edges of ISTA/FISTA can, so the two models' optima differ there.
A="--dict $T/r5.nc --solver admm --lambda 0.005 --iters 1000 --rel-tol 1e-5"
run1 code "$T/s.nc" $A --log "$T/a.csv" -o "$T/a_ref.nc" --recon "$T/a_rref.nc" >/dev/null || fail "admm 1 rank"
head -1 "$T/a.csv" | grep -q '^iter,primal,dual,rho,seconds$' || fail "admm log header: $(head -1 "$T/a.csv")"
if [ "$HCSC_NP" -gt 1 ]; then
  p5=; p20=
  for ov in 5 20; do
    run1 code "$T/s.nc" $A --overlap $ov -o "$T/a1.nc" --recon "$T/a1_r.nc" --force >/dev/null || fail "admm 1 rank, overlap $ov"
    run code "$T/s.nc" $A --overlap $ov -o "$T/a_c.nc" --recon "$T/a_r.nc" --force $go >/dev/null \
      || fail "admm on grid $last, overlap $ov"
    p=$(run1 eval "$T/a1_r.nc" "$T/a_r.nc" --json | sed -n 's/.*"mpsnr": *\([^,}]*\).*/\1/p')
    echo "admm grid $last overlap $ov: reconstruction MPSNR against 1 rank $p dB"
    [ $ov = 5 ] && p5=$p || p20=$p
  done
  awk -v a="$p5" -v b="$p20" 'BEGIN { exit !(a != "" && b != "" && b + 0 > a + 6 && b + 0 >= 35) }' \
    || fail "admm: MPSNR against 1 rank $p5 dB (overlap 5) -> $p20 dB (overlap 20): expected >= 35 dB and +6 dB"
fi

# The codes file: one band per atom, named, on the scene's grid.
run1 info "$T/ref_c.nc" > "$T/info.txt" 2>&1
grep -q "26 rows x 30 cols x 6 bands" "$T/info.txt" || fail "codes are not 26 x 30 x 6: $(head -3 "$T/info.txt")"
grep -q "UTM zone 33N" "$T/info.txt" || fail "codes lost the scene's CRS"

# ISTA log: header + one line per iteration, objective non-increasing.
run code "$T/s.nc" --dict "$T/d.nc" --solver ista --lambda 0.005 --iters 12 --tol 0 -o "$T/i.nc" \
  --log "$T/i.csv" >/dev/null || fail "ista with --log"
n=$(wc -l < "$T/i.csv")
[ "$n" -eq 13 ] || fail "ista log has $n lines, expected 13 (header + 12)"
head -1 "$T/i.csv" | grep -q '^iter,objective,nnz_fraction,rel_change,seconds$' || fail "log header: $(head -1 "$T/i.csv")"
awk -F, 'NR > 1 { if (NR > 2 && $2 > prev * (1 + 1e-12)) bad++; prev = $2 }
  END { if (bad) { print bad " increases of the ISTA objective" > "/dev/stderr"; exit 1 } }' "$T/i.csv" \
  || fail "ista objective increases"
awk -F, 'NR == 2 { a = $2 } END { if (!($2 < a)) exit 1 }' "$T/i.csv" || fail "ista objective did not decrease"

# Bad input: one line, no output.
expect_error "channel mismatch" "has 4 channels but scene" code "$T/s.nc" --dict "$T/d4.nc" -o "$T/e.nc" \
  --recon "$T/e_r.nc" --log "$T/e.csv"
expect_error "lambda 0" "--lambda 0 must be > 0" code "$T/s.nc" --dict "$T/d.nc" -o "$T/e.nc" --lambda 0
run1 synth -o "$T/m_small.nc" --size 26x29x1 >/dev/null || fail "mask fixture"
run1 synth -o "$T/m_bands.nc" --size 26x30x3 >/dev/null || fail "mask fixture"
run1 synth -o "$T/m.nc" --size 26x30x1 >/dev/null || fail "mask fixture"
expect_error "mask of another size" "m_small.nc is 26x29x1" code "$T/s.nc" --dict "$T/d.nc" -o "$T/e.nc" \
  --mask "$T/m_small.nc" --log "$T/e.csv"
expect_error "mask with 3 of 5 bands" "needs 1 or 5 bands" code "$T/s.nc" --dict "$T/d.nc" -o "$T/e.nc" \
  --mask "$T/m_bands.nc"
expect_error "ista on a multi-layer dictionary" "does not apply to the multi-layer" code "$T/s.nc" \
  --dict "$T/ml.nc" -o "$T/e.nc" --solver ista
expect_error "unknown solver" "--solver 'bogus' does not apply" code "$T/s.nc" --dict "$T/d.nc" -o "$T/e.nc" \
  --solver bogus
expect_error "lambdas for a one-layer dictionary" "--lambdas needs a multi-layer" code "$T/s.nc" \
  --dict "$T/d.nc" -o "$T/e.nc" --lambdas 0.1,0.2
expect_error "band weights with admm" "not supported by --solver admm" code "$T/s.nc" --dict "$T/d.nc" \
  -o "$T/e.nc" --solver admm --band-weights "$T/w.txt"
expect_error "missing dictionary" "nope.nc" code "$T/s.nc" --dict "$T/nope.nc" -o "$T/e.nc"
for f in e.nc e_r.nc e.csv; do [ -e "$T/$f" ] && fail "a failed run left $T/$f"; done
ls "$T" | grep -q 'hcsc-tmp' && fail "temporary files left in $T: $(ls "$T" | grep hcsc-tmp)"
finish
