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
# TODO(masked pursuit, being implemented in src/csc/pursuit.c by another
# engineer): the solver refuses masks with HCSC_ENOTSUP today; at merge,
# replace this by a masked solve that matches at every rank count.
if run1 code "$T/s.nc" --dict "$T/d.nc" -o "$T/mk.nc" --mask "$T/m.nc" --iters 5 >/dev/null 2>"$T/mk.err"; then
  echo "ok: --mask accepted by the solver (masked pursuit available)"
else
  grep -q "not implemented" "$T/mk.err" || fail "--mask: unexpected error $(cat "$T/mk.err")"
  [ -e "$T/mk.nc" ] && fail "a refused --mask left $T/mk.nc"
  echo "ok: --mask refused clearly for now: $(cat "$T/mk.err")"
fi
run1 dict init -o "$T/ml.nc" --layers 2 --atoms 6,8 --size 5,3 --channels 5 >/dev/null || fail "multi-layer fixture"
expect_error "multi-layer dictionary" "one-layer dictionary" code "$T/s.nc" --dict "$T/ml.nc" -o "$T/e.nc"
expect_error "unknown solver" "unknown --solver" code "$T/s.nc" --dict "$T/d.nc" -o "$T/e.nc" --solver admm
expect_error "missing dictionary" "nope.nc" code "$T/s.nc" --dict "$T/nope.nc" -o "$T/e.nc"
for f in e.nc e_r.nc e.csv; do [ -e "$T/$f" ] && fail "a failed run left $T/$f"; done
ls "$T" | grep -q 'hcsc-tmp' && fail "temporary files left in $T: $(ls "$T" | grep hcsc-tmp)"
finish
