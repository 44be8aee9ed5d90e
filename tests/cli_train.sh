#!/bin/sh
# hypercsc train on a synthesised 40 x 40 x 6 scene (patch 12, batch 4,
# M = 4 atoms of 3 x 3, T = 2); the architectures are checked in
# cli_train_archs.sh, evaluation and bad inputs in cli_train_errors.sh:
#  - 1 rank vs N ranks, the same global batch: the same parameters up to
#    summation order (max |difference| <= 1e-4 max |param| over the values
#    ncmpidump prints; lista, and ssc at 2 ranks); measured: 1e-7, the
#    printed precision, at 2 and 4 ranks;
#  - --checkpoint at step 10 + --resume to 20 == 20 straight (ncmpidump
#    data identical: bit for bit at the same rank count);
#  - SIGUSR1 to mpiexec mid-run: exit 75, a checkpoint, no model; --resume
#    from it continues from that step (bit-identity of resume: above).
. "$top_srcdir/tests/common.sh"

jfield() { sed -n "s/.*\"$2\": *\"*\([^,}\"]*\).*/\1/p" "$1"; }
# The values of a model's variables (ncmpidump's data section).
mdata() { (cd "$(dirname "$1")" && ncmpidump "$(basename "$1")") | sed -n '/^data:/,$p' | sed 1d |
  awk '/^ *wavelength =/ { skip = 1 } !skip { print } skip && /;/ { skip = 0 }'; }
# maxdiff A B: largest |a - b| and |a| over the numbers of two dumps.
maxdiff() {
  mdata "$1" | tr -c '0-9eE.+-' '\n' | grep -E '^[-+]?[0-9]' > "$T/da.txt"
  mdata "$2" | tr -c '0-9eE.+-' '\n' | grep -E '^[-+]?[0-9]' > "$T/db.txt"
  paste "$T/da.txt" "$T/db.txt" | awk '{ d = $1 - $2; if (d < 0) d = -d; a = $1 < 0 ? -$1 : $1;
    if (d > m) m = d; if (a > r) r = a; n++ } END { printf "%d values, max |diff| %.3g, max |param| %.3g\n", n, m, r }'
}

C="--noise gaussian:50 --patch 12 --batch 4 --iters 2 --val-patch 8 --epoch-steps 10 -q"
run1 synth -o "$T/s.nc" --size 40x40x6 --seed 2 >/dev/null || fail "synth fixture"
arch_opts() {
  case $1 in
  mlista) echo "--layers 2 --atoms 4,4 --size 3,3 --momentum" ;;
  multiscale) echo "--scales 1,2 --atoms 4,4 --size 3,5" ;;
  ssc) echo "--rank 3 --atoms 4 --size 3" ;;
  *) echo "--atoms 4 --size 3" ;;
  esac
}

# 1 rank against N ranks, the same global batch (lista; ssc at 2 ranks,
# its PCA distributed too); the N-rank lista run is also the uninterrupted
# reference of the resume check below.
L="--arch lista --atoms 4 --size 3 --train $T/s.nc $C --lr 0.01 --schedule const"
run train $L --steps 20 -o "$T/straight.nc" || fail "20 steps"
compare() {
  res=$(maxdiff "$2" "$3")
  echo "$1, 1 vs $HCSC_NP ranks: $res"
  echo "$res" | awk '{ d = $5 + 0; r = $8 + 0; exit !($1 > 0 && d <= 1e-4 * r) }' || fail "$1: parameters at $HCSC_NP ranks differ: $res"
}
if [ "$HCSC_NP" -gt 1 ]; then
  run1 train $L --steps 20 -o "$T/r1.nc" || fail "lista at 1 rank"
  compare lista "$T/r1.nc" "$T/straight.nc"
fi
if [ "$HCSC_NP" -eq 2 ]; then
  run1 train --arch ssc $(arch_opts ssc) --train "$T/s.nc" $C --steps 20 --lr 0.01 -o "$T/r1_ssc.nc" || fail "ssc at 1 rank"
  run train --arch ssc $(arch_opts ssc) --train "$T/s.nc" $C --steps 20 --lr 0.01 -o "$T/rn_ssc.nc" || fail "ssc at 2 ranks"
  compare ssc "$T/r1_ssc.nc" "$T/rn_ssc.nc"
fi

# Checkpoint at step 10, resume to 20 == 20 straight (constant schedule:
# the step count is not part of the trajectory).
run train $L --steps 10 --checkpoint "$T/c.ckpt" --checkpoint-every 5 -o "$T/first.nc" || fail "10 steps + checkpoint"
run train $L --steps 20 --resume "$T/c.ckpt" -o "$T/resumed.nc" --json > "$T/resumed.json" || fail "resume to 20"
if [ "$(jfield "$T/resumed.json" resumed_at)" = 10 ] && mdata "$T/straight.nc" > "$T/a.txt" &&
   mdata "$T/resumed.nc" > "$T/b.txt" && cmp -s "$T/a.txt" "$T/b.txt"; then
  echo "ok: 10 steps + resumed 10 = 20 steps (parameters bit-identical)"
else fail "resumed model differs from the uninterrupted run (resumed at $(jfield "$T/resumed.json" resumed_at))"; fi

# SIGUSR1 mid-run: exit 75, a checkpoint, no model; resume continues.
S="--arch fista --atoms 4 --size 3 --train $T/s.nc --noise gaussian:50 --patch 12 --batch 4 --iters 2 --epoch-steps 1000000 --lr 0.01 --schedule const -q"
$HCSC_MPIRUN "$HCSC" train $S --steps 100000000 --log "$T/sig.csv" -o "$T/sig.nc" > "$T/sig.out" 2>&1 &
pid=$!
i=0
while :; do
  lines=$(cat "$T"/sig.csv.hcsc-tmp-* 2>/dev/null | wc -l)
  [ "$lines" -ge 4 ] && break
  i=$((i + 1))
  if [ $i -gt 300 ] || ! kill -0 $pid 2>/dev/null; then fail "the signal run never logged"; break; fi
  sleep 0.1
done
kill -USR1 $pid
wait $pid
rc=$?
if [ $rc -eq 75 ] && [ -f "$T/sig.ckpt" ] && [ ! -e "$T/sig.nc" ]; then
  echo "ok: SIGUSR1: exit 75, checkpoint written, no model: $(grep hypercsc "$T/sig.out")"
else
  fail "SIGUSR1: exit $rc (expected 75), checkpoint $(ls "$T/sig.ckpt" 2>&1), model $(ls "$T/sig.nc" 2>&1)"
  cat "$T/sig.out" >&2
fi
st=$(sed -n 's/.*at step \([0-9]*\) of.*/\1/p' "$T/sig.out")
n=$((${st:-0} + 3))
run train $S --steps $n --resume "$T/sig.ckpt" -o "$T/sig.nc" --json > "$T/sig.json" || fail "resume after the signal"
[ "$(jfield "$T/sig.json" resumed_at)" = "$st" ] && [ "$(jfield "$T/sig.json" steps)" = "$n" ] &&
  echo "ok: stopped at step $st, resumed to $n" || fail "resume after the signal at step $st: $(cat "$T/sig.json")"
finish
