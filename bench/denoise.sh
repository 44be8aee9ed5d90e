#!/bin/sh
# Whole-scene denoising at scale: `hypercsc denoise --model M.nc` on a
# synthetic scene of SIZE (rows x cols x bands) at 1 and 2 ranks (NPS) with
# the reference ssc model (r 16, M 64, k 5, T 8) and lista (M 32, k 5, T 6),
# both trained for one step on a small synthetic scene (the weights do not
# change the cost).  Per run: seconds of the network stage, throughput
# (Mpixel*bands/s over that stage), peak RSS per rank (VmHWM, max over
# ranks) and its ratio to the rank's tile (B + M channels of rows x cols
# floats: the input tile plus one code tensor), the network's time by kind
# (conv, halo wait after the overlap, spectral, elementwise, noise estimate)
# and the halo share of the layer time.  Then strong scaling 1 -> N and how
# close each rank count's file is to the first one's (identical, or the
# MPSNR of `hypercsc eval`: float rounding gives 140 dB and more).
#
# Usage (from the source tree, after make in build/):
#   sh bench/denoise.sh                         SIZE=1024x1024x200
#   SIZE=4096x4096x200 NPS="16 32 64" MPIRUN="srun -n" sh bench/denoise.sh
#   (a cluster: 13.4 GB per float32 copy of that scene; put TMP on a
#    parallel file system)
# Environment: SIZE, NPS ("1 2"), ARCHS ("ssc lista"), HCSC (build/hypercsc),
# MPIRUN ("mpiexec --oversubscribe --bind-to none -n"), TMP (a scratch
# directory, default mktemp -d; removed at the end unless KEEP=1).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
HCSC=${HCSC:-$top/build/hypercsc}
SIZE=${SIZE:-1024x1024x200}
NPS=${NPS:-"1 2"}
ARCHS=${ARCHS:-"ssc lista"}
MPIRUN=${MPIRUN:-"mpiexec --oversubscribe --bind-to none -n"}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none
tmp=${TMP:-$(mktemp -d)}
mkdir -p "$tmp"
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$tmp"' EXIT
bands=${SIZE##*x}

machine() {
  model=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)
  mem=$(free -g 2>/dev/null | awk '/^Mem:/ {print $2 " GiB total, " $7 " GiB available"}')
  echo "machine: ${model:-unknown CPU}, $(nproc) cores, $mem; load average:$(uptime | sed 's/.*load average://')"
}

# field NAME JSONLINE: a number from hypercsc's one-line JSON report
field() { echo "$2" | sed -n "s/.*\"$1\": \([-0-9.e+]*\).*/\1/p"; }

echo "denoise benchmark: scene $SIZE (float32 $(awk -v s="$SIZE" 'BEGIN {split(s, a, "x");
  printf "%.2f GB", a[1] * a[2] * a[3] * 4 / 1e9}')), ranks: $NPS, models: $ARCHS"
machine
$HCSC synth -o "$tmp/scene.bsq" --size "$SIZE" --force -q
$HCSC synth -o "$tmp/train.bsq" --size "128x128x$bands" --seed 2 --force -q
for a in $ARCHS; do
  case $a in
  ssc) opts="--rank 16 --atoms 64 --size 5 --iters 8" ;;
  lista) opts="--atoms 32 --size 5 --iters 6" ;;
  *) opts="" ;;
  esac
  # shellcheck disable=SC2086
  $HCSC train --arch "$a" $opts --train "$tmp/train.bsq" --noise blind --steps 1 --patch 32 \
    --batch 2 -o "$tmp/$a.nc" --force -q
done

printf '\n%-6s %5s %9s %12s %11s %8s %8s %8s %8s %8s %7s\n' model ranks seconds \
  "Mpx*bands/s" "peak MiB/r" "x tile" conv halo spectral elemwise halo%
for a in $ARCHS; do
  t1=""
  for np in $NPS; do
    # shellcheck disable=SC2086
    line=$($MPIRUN "$np" $HCSC denoise "$tmp/scene.bsq" --model "$tmp/$a.nc" -o "$tmp/out_$np.bsq" \
      --force --json -q | grep '^{' | tail -1)
    s=$(field seconds "$line")
    [ -n "$t1" ] || t1=$s
    printf '%-6s %5s %9.2f %12.3f %11.0f %8.2f %8.2f %8.2f %8.2f %8.2f %6.1f%%\n' "$a" "$np" "$s" \
      "$(field mpixel_bands_per_s "$line")" "$(awk -v b="$(field peak_rss_bytes "$line")" \
      'BEGIN {print b / 1048576}')" "$(field peak_over_tile "$line")" "$(field conv_seconds "$line")" \
      "$(field halo_seconds "$line")" "$(field spectral_seconds "$line")" \
      "$(field elementwise_seconds "$line")" "$(awk -v h="$(field halo_share "$line")" \
      'BEGIN {print 100 * h}')"
    if [ "$np" != "$(echo "$NPS" | awk '{print $1}')" ]; then
      first=$tmp/out_$(echo "$NPS" | awk '{print $1}').bsq
      if cmp -s "$first" "$tmp/out_$np.bsq"; then
        same="identical"
      else
        # Not bit for bit (the 1x1 layers' sgemm sums in another order on
        # other tile shapes): how close, as PSNR against the first run.
        same="MPSNR $(field mpsnr "$($HCSC eval "$first" "$tmp/out_$np.bsq" --json -q)") dB"
      fi
      echo "       strong scaling $(echo "$NPS" | awk '{print $1}') -> $np ranks: $(awk -v a="$t1" \
        -v b="$s" 'BEGIN {printf "%.2fx", a / b}'); output vs the first run: $same"
    fi
  done
  rm -f "$tmp"/out_*.bsq "$tmp"/out_*.hdr
done
machine
