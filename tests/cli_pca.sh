#!/bin/sh
# hypercsc pca end to end on a real scene (Salinas-A, 204 bands; skipped
# when the shared data is absent): the rank-r reconstruction beats rank r/2;
# the subspace (eigenvalues, 1e-9 relative) and the reconstruction (float
# rounding: 1e-5 of the data range) are the same at every rank count and
# grid (reference: 1 rank), with both eigensolvers; the file explains
# itself; bad options fail cleanly on every rank.
. "$top_srcdir/tests/common.sh"

D=$(data_dir) || { echo "no data in $HCSC_DATA/hsi: skipped"; exit 77; }
S=$D/salinas_a_aviris_83x86x204.bsq
[ -f "$S" ] || { echo "no $S: skipped"; exit 77; }
PY=/usr/bin/python3
$PY -c 'import numpy' 2>/dev/null || { echo "no numpy for /usr/bin/python3: skipped"; exit 77; }

# eigs FILE.json: the eigenvalue list, one per line.
eigs() { sed -n 's/.*"eigenvalues": \[\([^]]*\)\].*/\1/p' "$1" | tr ',' '\n'; }
field() { sed -n "s/.*\"$2\": *\"*\([^,}\"]*\).*/\1/p" "$1"; }
same_eigs() { # A.json B.json what
  eigs "$1" > "$T/ea.txt"; eigs "$2" > "$T/eb.txt"
  paste "$T/ea.txt" "$T/eb.txt" | awk -v what="$3" '
    NR == 1 { top = $1 < 0 ? -$1 : $1 }
    { d = $1 - $2; if (d < 0) d = -d; s = $1 < 0 ? -$1 : $1;
      # relative 1e-9 for each eigenvalue above 1e-6 of the largest,
      # 1e-15 of the largest below (rounding of the decomposition)
      if (s > 1e-6 * top) { if (d > 1e-9 * s) bad++ } else if (d > 1e-15 * top) bad++; n++ }
    END { if (n < 1 || bad) { print what ": " bad " of " n " eigenvalues differ" > "/dev/stderr"; exit 1 } }'
}
same_recon() { # A B what
  $PY - "$1" "$2" <<'PYEOF' || fail "$3: reconstructions differ"
import sys, numpy as np
a = np.fromfile(sys.argv[1], dtype='<f4'); b = np.fromfile(sys.argv[2], dtype='<f4')
ok = a.shape == b.shape and a.size > 0
d = float(np.max(np.abs(a - b))) if ok else float('inf')
scale = float(np.max(np.abs(a))) if ok else 1.0
print("max |difference| %.3g (scale %.6g)" % (d, scale))
sys.exit(0 if ok and d <= 1e-5 * scale else 1)
PYEOF
}

# Reference at 1 rank (LAPACK), ranks 16 and 8.
run1 pca "$S" -o "$T/ref16.nc" --rank 16 --recon "$T/ref16.bsq" --type float32 --eigensolver lapack --json \
  > "$T/ref16.json" || fail "reference pca rank 16"
run pca "$S" -o "$T/ref8.nc" --rank 8 --recon "$T/ref8.bsq" --type float32 --json > "$T/ref8.json" \
  || fail "pca rank 8"
e16=$(field "$T/ref16.json" recon_rmse); e8=$(field "$T/ref8.json" recon_rmse)
awk -v a="$e16" -v b="$e8" 'BEGIN { exit !(a != "" && b != "" && a + 0 < b + 0) }' \
  || fail "rank 16 RMSE $e16 is not below rank 8 RMSE $e8"
echo "ok: RMSE rank 16 $e16 < rank 8 $e8"
if [ -n "${NCMPIDUMP:-$(command -v ncmpidump)}" ]; then
  ncmpidump -h "$T/ref16.nc" > "$T/ref16.cdl" 2>&1
  for s in "components(component, band)" "eigenvalues(component)" "mean(band)" "wavelength(band)" \
    ":rank = 16" ":eigensolver = \"lapack\""; do
    grep -qF "$s" "$T/ref16.cdl" || fail "subspace header lacks '$s'"
  done
fi

# Automatic grid with LAPACK, and a grid with spectral groups or an
# uneven split with ScaLAPACK (every grid shape is covered by t_pca).
case $HCSC_NP in
1) RUNS="auto:lapack auto:scalapack" ;;
2) RUNS="auto:lapack 2x1x1:scalapack" ;;
3) RUNS="auto:lapack 1x1x3:scalapack" ;;
4) RUNS="auto:lapack 2x2x1:scalapack" ;;
esac
for ge in $RUNS; do
  g=${ge%:*} es=${ge#*:}
  go=$(grid_opt "$g")
  {
    run pca "$S" -o "$T/s.nc" --rank 16 --recon "$T/s.bsq" --type float32 --eigensolver $es --json --force $go \
      > "$T/s.json" || { fail "pca on grid $g with $es"; continue; }
    same_eigs "$T/ref16.json" "$T/s.json" "grid $g $es" || fail "eigenvalues on grid $g with $es differ from 1 rank"
    same_recon "$T/ref16.bsq" "$T/s.bsq" "grid $g $es"
    [ "$(field "$T/s.json" eigensolver)" = $es ] || fail "grid $g: eigensolver $(field "$T/s.json" eigensolver)"
  }
done
# The noise-aware criterion keeps a sensible number of components.
[ "$(field "$T/ref16.json" method)" = rank ] || fail "method $(field "$T/ref16.json" method)"
run pca "$S" -o "$T/n.nc" --noise-aware --json > "$T/n.json" || fail "pca --noise-aware"
rn=$(field "$T/n.json" rank)
echo "ok: --noise-aware keeps $rn components"
[ "$rn" -ge 1 ] && [ "$rn" -le 204 ] || fail "noise-aware rank $rn"

expect_error "rank above the bands" "exceeds the 204 bands" pca "$S" -o "$T/e.nc" --rank 205
expect_error "existing output" "exists" pca "$S" -o "$T/ref8.nc"
[ -e "$T/e.nc" ] && fail "a failed run left $T/e.nc"
finish
