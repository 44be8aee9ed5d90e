#!/bin/sh
# Every architecture of hypercsc train learns: on a synthesised
# 40 x 40 x 6 scene (patch 12, batch 4, M = 4 atoms of 3 x 3, T = 2,
# lr 0.01), the mean training loss of steps 26-30 in the log is below the
# mean of steps 1-5; also with the low-pass split (--lowpass).
. "$top_srcdir/tests/common.sh"

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

# Every architecture learns: the loss falls over 30 steps.
for a in lista fista ladmm mlista multiscale ssc; do
  run train --arch $a $(arch_opts $a) --train "$T/s.nc" $C --steps 30 --lr 0.01 --log "$T/$a.csv" \
    -o "$T/$a.nc" || { fail "train --arch $a"; continue; }
  awk -F, -v a=$a 'NR >= 2 && NR <= 6 { f += $3 } NR > 1 { l[NR] = $3; n = NR }
    END { for (i = n - 4; i <= n; i++) e += l[i]; printf "%s: loss, mean of steps 1-5 %.4g, of steps 26-30 %.4g\n", a, f / 5, e / 5;
          exit !(e < f) }' "$T/$a.csv" || fail "$a: the training loss did not fall"
  done

# A mixture of noise models (each sample draws one) trains too, and the
# model records the list.
run train --arch ssc $(arch_opts ssc) --train "$T/s.nc" --noise blind,noniid,stripes \
  --patch 12 --batch 4 --iters 2 --val-patch 8 --epoch-steps 10 -q --steps 30 --lr 0.01 \
  --log "$T/mix.csv" -o "$T/mix.nc" || fail "train with a noise list"
awk -F, 'NR >= 2 && NR <= 6 { f += $3 } NR > 1 { l[NR] = $3; n = NR }
  END { for (i = n - 4; i <= n; i++) e += l[i]; printf "noise list: loss %.4g -> %.4g\n", f / 5, e / 5; exit !(e < f) }' \
  "$T/mix.csv" || fail "noise list: the training loss did not fall"
run1 info "$T/mix.nc" | grep -q "blind,noniid,stripes" || fail "the model does not record the noise list"
# The low-pass split (y = G x + f(x - G x)): the loss falls, the model
# records it (model_version 2) and a negative split is refused.
run train --arch ssc $(arch_opts ssc) --lowpass 2 --train "$T/s.nc" $C --steps 30 --lr 0.01 \
  --log "$T/lp.csv" -o "$T/lp.nc" || fail "train --lowpass 2"
awk -F, 'NR >= 2 && NR <= 6 { f += $3 } NR > 1 { l[NR] = $3; n = NR }
  END { for (i = n - 4; i <= n; i++) e += l[i]; printf "lowpass 2: loss %.4g -> %.4g\n", f / 5, e / 5; exit !(e < f) }' \
  "$T/lp.csv" || fail "lowpass: the training loss did not fall"
run1 info "$T/lp.nc" | grep -q "low-pass split 2 px" || fail "the model does not record its low-pass split"
expect_error "negative lowpass" "lowpass" train --arch ssc --lowpass -1 --train "$T/s.nc" $C -o "$T/bad.nc"
expect_error "bad noise list" "bogus" train --arch ssc --train "$T/s.nc" --noise blind,bogus -o "$T/bad.nc"
[ ! -e "$T/bad.nc" ] || fail "a bad noise list left $T/bad.nc"

finish
