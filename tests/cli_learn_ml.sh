#!/bin/sh
# hypercsc learn --layers / --scales on a synthesised 32 x 40 x 4 scene,
# 15 iterations per layer or set:
#  - --layers 2 --atoms 6,8 --size 5,3 writes a multi-layer stack
#    (structure 1) whose layer 2 has 6 channels (the atoms of layer 1);
#    the log has a layer column and layer 2's objective falls (last < first:
#    layer 2 learns from a random start, so it falls clearly);
#  - 'hypercsc code --solver mlfista' runs on it and its reconstruction beats
#    the zero scene: ERGAS < 100 (a zero reconstruction has ERGAS
#    100 sqrt(mean_b E[x_b^2] / mu_b^2) >= 100);
#  - --scales 1,2 writes a 2-set file (structure 2) with scales 1 and 2 that
#    'hypercsc code' (multi-scale FISTA) accepts;
#  - both files have the same shapes (header) at this rank count as at 1;
#  - --layers 4, an --atoms list of the wrong length, --scales 3: one-line
#    error, no output.
. "$top_srcdir/tests/common.sh"

L="--iters 15 --init patches --seed 3"
shape() { ncmpidump -h "$1" | grep -E 'natoms|nchan|ksize|:scale |structure' | sort; }

run1 synth -o "$T/s.nc" --size 32x40x4 --seed 2 >/dev/null || fail "synth fixture"

# Multi-layer stack.
run learn "$T/s.nc" -o "$T/ml.nc" --layers 2 --atoms 6,8 --size 5,3 --lambdas 0.05,0.02 $L \
  --log "$T/ml.csv" -q || fail "learn --layers 2"
shape "$T/ml.nc" > "$T/ml.shape"
grep -q 'structure = 1 ;' "$T/ml.shape" || fail "ml.nc is not a multi-layer stack: $(cat "$T/ml.shape")"
grep -q 'atoms_1:nchan = 6 ;' "$T/ml.shape" || fail "layer 2 does not have 6 channels: $(cat "$T/ml.shape")"
grep -q 'atoms_1:natoms = 8 ;' "$T/ml.shape" || fail "layer 2 does not have 8 atoms"
head -1 "$T/ml.csv" | grep -q ',layer$' || fail "the log has no layer column: $(head -1 "$T/ml.csv")"
awk -F, 'NR > 1 && $11 == 1 { n1++ } NR > 1 && $11 == 2 { if (!n2++) f = $2; l = $2 }
  END { printf "log: %d layer-1 and %d layer-2 lines; layer 2 objective first %g, last %g\n", n1, n2, f, l;
        exit !(n1 == 15 && n2 == 15 && l < 0.9 * f) }' "$T/ml.csv" \
  || fail "the log does not show 15 + 15 iterations with layer 2's objective falling"
run code "$T/s.nc" -d "$T/ml.nc" -o "$T/mlc.nc" --solver mlfista --lambdas 0.05,0.02 --recon "$T/mlr.nc" -q \
  || fail "code --solver mlfista on the learned stack"
run1 eval "$T/s.nc" "$T/mlr.nc" --json > "$T/ml.eval" || fail "eval of the mlfista reconstruction"
ergas=$(sed -n 's/.*"ergas": *\([^,}]*\).*/\1/p' "$T/ml.eval")
awk -v e="$ergas" 'BEGIN { printf "mlfista reconstruction: ERGAS %s (zero scene >= 100)\n", e; exit !(e != "" && e < 100) }' \
  || fail "the mlfista reconstruction is no better than zero (ERGAS $ergas)"

# Multi-scale sets.
run learn "$T/s.nc" -o "$T/ms.nc" --scales 1,2 --atoms 6,4 --size 5,3 $L -q || fail "learn --scales 1,2"
shape "$T/ms.nc" > "$T/ms.shape"
grep -q 'structure = 2 ;' "$T/ms.shape" || fail "ms.nc is not a multi-scale set: $(cat "$T/ms.shape")"
grep -q 'atoms_0:scale = 1 ;' "$T/ms.shape" && grep -q 'atoms_1:scale = 2 ;' "$T/ms.shape" \
  || fail "ms.nc scales are not 1 and 2: $(cat "$T/ms.shape")"
run code "$T/s.nc" -d "$T/ms.nc" -o "$T/msc.nc" -q || fail "code on the learned multi-scale set"

# The same shapes at 1 rank.
if [ "$HCSC_NP" -gt 1 ]; then
  run1 learn "$T/s.nc" -o "$T/ml1.nc" --layers 2 --atoms 6,8 --size 5,3 --lambdas 0.05,0.02 $L -q || fail "1-rank ml"
  run1 learn "$T/s.nc" -o "$T/ms1.nc" --scales 1,2 --atoms 6,4 --size 5,3 $L -q || fail "1-rank ms"
  shape "$T/ml1.nc" | cmp -s - "$T/ml.shape" || fail "the stack's shape differs from the 1-rank one"
  shape "$T/ms1.nc" | cmp -s - "$T/ms.shape" || fail "the sets' shape differs from the 1-rank one"
fi
echo "ok: stack and sets written, same shapes as at 1 rank"

# Bad input: one line, no output.
expect_error "--layers 4" "layers" learn "$T/s.nc" -o "$T/x.nc" --layers 4 --atoms 6,6,6,6 --size 5,5,5,5
expect_error "--atoms list too short" "atoms" learn "$T/s.nc" -o "$T/x.nc" --layers 2 --atoms 6 --size 5,3
expect_error "--scales 3" "scales" learn "$T/s.nc" -o "$T/x.nc" --scales 1,3 --atoms 6,4 --size 5,3
[ -e "$T/x.nc" ] && fail "a failed run left $T/x.nc"
finish
