#!/bin/sh
# Unrolled networks: hypercsc (bench_nn) against the PyTorch reference of
# the same networks (bench/reference/hcsc_torch.py), for the two reference
# models (ssc r = 16, M = 64, k = 5, T = 8; lista M = 64, k = 7, T = 12) on
# B = 200 bands, at 1 and 2 ranks (C, data-parallel: each rank its own
# patch / its share of the batch, one Allreduce of the gradients) and 1 and
# 2 threads (PyTorch, torch.set_num_threads).
#
#   inference: C on a 128 x 128 patch per rank, and one 256 x 256 tile split
#              over the ranks (--split); PyTorch at batch 1 of 128 x 128,
#              batch 8 of 64 x 64 and batch 1 of 256 x 256;
#   training step (forward, loss, backward, Adam) at batch 8 of 64 x 64;
#   check: a small C dump of each model at B bands checked against PyTorch
#          autograd (check_torch.py); PyTorch's timings use its weights;
#   epoch: `hypercsc train` for one epoch of EPOCH_STEPS steps (when the
#          program has the train command).
#
# Usage (from the source tree, after `make bench` in build/):
#   sh bench/nn.sh                 full sizes (minutes; run on a quiet machine)
#   QUICK=1 sh bench/nn.sh         B = 20, 32 x 32 patches (a smoke test)
# Environment: ARCHS ("ssc lista"), NPS ("1 2"), BANDS, ISIZE, TILE, TSIZE,
# BATCH, IREPS, TREPS, WARMUP (per arch: LISTA_TREPS ...), EPOCH_STEPS (50),
# BENCH, HCSC, PY (/usr/bin/python3), OUT (a directory to keep the logs).
# EPOCH_STEPS=0 skips the epoch.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
BENCH=${BENCH:-$top/build/bench/bench_nn}
HCSC=${HCSC:-$top/build/hypercsc}
PY=${PY:-/usr/bin/python3}
REF=$top/bench/reference
ARCHS=${ARCHS:-"ssc lista"}
NPS=${NPS:-"1 2"}
if [ "${QUICK:-0}" = 1 ]; then
  BANDS=${BANDS:-20} ISIZE=${ISIZE:-32} TILE=${TILE:-64} TSIZE=${TSIZE:-32} BATCH=${BATCH:-2}
else
  BANDS=${BANDS:-200} ISIZE=${ISIZE:-128} TILE=${TILE:-256} TSIZE=${TSIZE:-64} BATCH=${BATCH:-8}
fi
EPOCH_STEPS=${EPOCH_STEPS:-50}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none
MPIRUN=${MPIRUN:-"mpiexec --oversubscribe --bind-to none -n"}
tmp=${OUT:-$(mktemp -d)}
mkdir -p "$tmp"
[ -n "${OUT:-}" ] || trap 'rm -rf "$tmp"' EXIT
res=$tmp/results.txt
: > "$res"

# Per-arch repetition counts: lista's forward at 128 x 128 x 200 is about
# 0.5 TFLOP, its training step about 3 TFLOP, so it gets one timed run.
reps() { # reps ARCH KIND DEFAULT
  v=$(eval "echo \${$(echo "$1" | tr a-z A-Z)_$2:-}")
  [ -n "$v" ] && echo "$v" || echo "$3"
}

log() { echo "$@" | tee -a "$tmp/log.txt"; }
run() { # run LOGNAME command...: print, keep RESULT lines
  n=$1
  shift
  log "+ $*"
  "$@" > "$tmp/$n.out" 2>&1 || { cat "$tmp/$n.out"; echo "nn.sh: failed: $*" >&2; exit 1; }
  grep -v '^  step' "$tmp/$n.out" | sed 's/^/  /'
  grep '^RESULT' "$tmp/$n.out" >> "$res" || true
}

log "nn.sh: $(date -u '+%Y-%m-%d %H:%M UTC'), $(uptime | sed 's/.*load/load/')"
for a in $ARCHS; do
  IR=$(reps "$a" IREPS "${IREPS:-3}")
  TR=$(reps "$a" TREPS "${TREPS:-2}")
  W=$(reps "$a" WARMUP "${WARMUP:-1}")
  # Independent check first (small, B bands) and the weights PyTorch times.
  run "dump_$a" "$BENCH" --arch "$a" --bands "$BANDS" --mode train --train-size 24 --batch 2 \
    --train-reps 1 --warmup 0 --dump "$tmp/dump_$a"
  run "check_$a" "$PY" "$REF/check_torch.py" "$tmp/dump_$a"
  for np in $NPS; do
    run "c_infer_${a}_$np" $MPIRUN "$np" "$BENCH" --arch "$a" --bands "$BANDS" --mode infer \
      --size "$ISIZE" --infer-reps "$IR" --warmup "$W"
    run "c_tile_${a}_$np" $MPIRUN "$np" "$BENCH" --arch "$a" --bands "$BANDS" --mode infer \
      --size "$TILE" --split --infer-reps 1 --warmup 0
    run "c_train_${a}_$np" $MPIRUN "$np" "$BENCH" --arch "$a" --bands "$BANDS" --mode train \
      --train-size "$TSIZE" --batch "$BATCH" --train-reps "$TR" --warmup "$W"
  done
  for th in $NPS; do
    run "t_infer1_${a}_$th" "$PY" "$REF/hcsc_torch.py" bench --params "$tmp/dump_$a" --mode infer \
      --batch 1 --size "$ISIZE" --threads "$th" --reps "$IR" --warmup "$W"
    run "t_infer8_${a}_$th" "$PY" "$REF/hcsc_torch.py" bench --params "$tmp/dump_$a" --mode infer \
      --batch "$BATCH" --size "$TSIZE" --threads "$th" --reps "$IR" --warmup "$W"
    run "t_tile_${a}_$th" "$PY" "$REF/hcsc_torch.py" bench --params "$tmp/dump_$a" --mode infer \
      --batch 1 --size "$TILE" --threads "$th" --reps 1 --warmup 0
    run "t_train_${a}_$th" "$PY" "$REF/hcsc_torch.py" bench --params "$tmp/dump_$a" --mode train \
      --batch "$BATCH" --size "$TSIZE" --threads "$th" --reps "$TR" --warmup "$W"
  done
done

# Time per epoch of `hypercsc train` (ssc, the cheap reference model) on a
# synthetic 320 x 256 scene (the bottom 64 rows held out for validation),
# at each rank count; then bench_nn's inference on the trained model.
if [ "$EPOCH_STEPS" = 0 ]; then
  log "  (EPOCH_STEPS=0: epoch time skipped)"
elif [ -x "$HCSC" ] && "$HCSC" train --help > /dev/null 2>&1; then
  "$HCSC" synth -o "$tmp/scene.envi" --size 320x256x"$BANDS" --force > /dev/null 2>&1 || true
  if [ -f "$tmp/scene.envi" ]; then
    for np in $NPS; do
      log "+ hypercsc train --arch ssc ($np ranks, $EPOCH_STEPS steps = one epoch)"
      t0=$(date +%s.%N)
      if $MPIRUN "$np" "$HCSC" train --arch ssc --train "$tmp/scene.envi" --noise blind \
        --patch "$TSIZE" --val-patch "$TSIZE" --batch "$BATCH" --steps "$EPOCH_STEPS" --epoch-steps "$EPOCH_STEPS" \
        -o "$tmp/model$np.nc" --force > "$tmp/train$np.out" 2>&1; then
        t1=$(date +%s.%N)
        awk -v a="$t0" -v b="$t1" -v n="$np" -v s="$EPOCH_STEPS" 'BEGIN { printf "  epoch (%d steps) at %d ranks: %.1f s wall (%.2f s per step, start-up and validation included)\n", s, n, b - a, (b - a) / s }' | tee -a "$tmp/log.txt"
        tail -3 "$tmp/train$np.out" | sed 's/^/  /'
        if [ "$np" = 1 ]; then # the same inference on the trained model
          run "c_model_ssc" "$BENCH" --model "$tmp/model1.nc" --mode infer --size "$ISIZE" \
            --infer-reps 1 --warmup 1
        fi
      else
        tail -5 "$tmp/train$np.out" | sed 's/^/  /'
      fi
    done
  else
    log "  (could not make a synthetic scene with hypercsc synth: epoch time skipped)"
  fi
else
  log "  ($HCSC has no train command: epoch time skipped)"
fi

# Summary: C against PyTorch at the same thread/rank count, and scaling.
log ""
log "summary (Mpixel*bands/s; step seconds; load $(cut -d' ' -f1-3 /proc/loadavg)):"
awk '
function kv(s, k,   i, n, a, b) { n = split(s, a, " "); for (i = 1; i <= n; i++) { split(a[i], b, "="); if (b[1] == k) return b[2] } return "" }
/^RESULT/ {
  impl = kv($0, "impl"); arch = kv($0, "arch"); mode = kv($0, "mode"); bat = kv($0, "batch"); sz = kv($0, "size")
  n = impl == "c" ? kv($0, "ranks") : kv($0, "threads"); split_ = kv($0, "split")
  key = impl "_" arch "_" mode "_" n
  if (kv($0, "model") == 1) next
  if (mode == "infer" && impl == "c") key = key (split_ == 1 ? "_tile" : "_patch")
  if (mode == "infer" && impl == "torch") key = key "_" bat "x" sz
  thr[key] = kv($0, "mpxb_s"); sec[key] = kv($0, "sec"); archs[arch] = 1; ns[n] = 1
}
END {
  for (a in archs) for (n in ns) {
    c = thr["c_" a "_infer_" n "_patch"]; ct = thr["c_" a "_infer_" n "_tile"]
    best = 0; bk = ""
    for (k in thr) if (index(k, "torch_" a "_infer_" n "_") == 1 && thr[k] > best) { best = thr[k]; bk = k }
    sub("torch_" a "_infer_" n "_", "", bk)
    if (c != "" && best > 0)
      printf "  %s inference, %s rank(s)/thread(s): C %.3f (patches), %.3f (tile); PyTorch best %.3f (%s): C/PyTorch %.2fx (target 2x)\n", a, n, c, ct, best, bk, c / best
    cs = sec["c_" a "_train_" n]; ts = sec["torch_" a "_train_" n]
    if (cs != "" && ts != "")
      printf "  %s training step, %s rank(s)/thread(s): C %.3f s, PyTorch %.3f s: C %.2fx faster (target 1.5x)\n", a, n, cs, ts, ts / cs
  }
  for (a in archs) {
    s1 = sec["c_" a "_train_1"]; s2 = sec["c_" a "_train_2"]
    if (s1 != "" && s2 != "") printf "  %s training step 1 -> 2 ranks: %.3f -> %.3f s, %.2fx (target 1.8x)\n", a, s1, s2, s1 / s2
  }
}' "$res" | tee -a "$tmp/log.txt"
[ -n "${OUT:-}" ] && echo "logs in $tmp"
exit 0
