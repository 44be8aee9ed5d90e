#!/bin/bash
# I/O benchmark (issue 2): write and read a synthetic float32 scene as ENVI
# and as NetCDF at 1 and 2 ranks, next to dd of the same bytes on the same
# disk; peak memory per rank; synth's generation rate.
#   bench/io.sh [SIZE=2048x2048x128] [DIR=bench/out]   (run from the source tree,
#   after building in build/; HCSC=path/to/hypercsc overrides)
# Page cache: the machine keeps recently written files in memory, so reads
# right after writes are served from RAM for dd and for hypercsc alike; both
# are measured the same way.  Writes are timed up to close (no fsync) for
# hypercsc, and dd is run the same way (no conv=fsync) plus once with fsync.
set -euo pipefail
SIZE=${1:-2048x2048x128}
DIR=${2:-bench/out}
HCSC=${HCSC:-build/hypercsc}
NPS=${NPS:-"1 2"}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none OPENBLAS_NUM_THREADS=1
mkdir -p "$DIR"
IFS=x read -r H W B <<< "$SIZE"
BYTES=$((H * W * B * 4))
PY=/usr/bin/python3; [ -x $PY ] || PY=python3

echo "== machine"
echo "cpu: $(lscpu | sed -n 's/^Model name: *//p') x $(nproc) cores; mem: $(free -g | awk '/Mem:/{print $2}') GiB"
echo "disk: $(df -h "$DIR" | awk 'NR==2{print $1, $2, "free", $4}')"
echo "scene: $SIZE float32 = $(awk -v b=$BYTES 'BEGIN{printf "%.2f GiB", b/2^30}')"

gbps() { awk -v b="$1" -v t="$2" 'BEGIN{printf "%.2f", b/t/1e9}'; }
echo "== dd (same bytes, same disk, 16 MiB blocks; best of 3)"
cnt=$((BYTES / 16777216))
best() { printf '%s\n' "$@" | sort -g | tail -n 1; }
secs() { awk -v a=$1 -v b=$2 'BEGIN{print b-a}'; }
w=(); ws=(); r=()
for i in 1 2 3; do
  rm -f "$DIR/dd.bin"
  t0=$(date +%s.%N); dd if=/dev/zero of="$DIR/dd.bin" bs=16M count=$cnt status=none; t1=$(date +%s.%N)
  w+=("$(gbps $BYTES "$(secs $t0 $t1)")")
  t0=$(date +%s.%N); dd if="$DIR/dd.bin" of=/dev/null bs=16M status=none; t1=$(date +%s.%N)
  r+=("$(gbps $BYTES "$(secs $t0 $t1)")")
  rm -f "$DIR/dd.bin"
  t0=$(date +%s.%N); dd if=/dev/zero of="$DIR/dd.bin" bs=16M count=$cnt conv=fsync status=none; t1=$(date +%s.%N)
  ws+=("$(gbps $BYTES "$(secs $t0 $t1)")")
done
rm -f "$DIR/dd.bin"
DDW=$(best "${w[@]}"); DDWS=$(best "${ws[@]}"); DDR=$(best "${r[@]}")
echo "dd runs: write ${w[*]}; write+fsync ${ws[*]}; read ${r[*]} GB/s"
echo "dd write $DDW GB/s (with fsync $DDWS GB/s), dd read $DDR GB/s"

# phase NAME FIELD from a --timings=json line
phase() { $PY -c 'import json,sys; d=json.loads([l for l in open(sys.argv[1]) if l.startswith("{\"ranks\"")][-1]); print(d["phases"][sys.argv[2]][sys.argv[3]])' "$1" "$2" "$3"; }
rss() { $PY -c 'import json,sys; d=json.loads([l for l in open(sys.argv[1]) if l.startswith("{\"ranks\"")][-1]); print(d["peak_rss_bytes"]["max"])' "$1"; }

printf "\n%-4s %-7s %10s %10s %9s %9s %12s %12s\n" np format "write GB/s" "read GB/s" "w % dd" "r % dd" "peak MiB" "tile MiB"
for np in $NPS; do
  run="mpiexec -q -n $np $HCSC"
  tile=$(awk -v b=$BYTES -v n=$np 'BEGIN{printf "%.0f", b/n/2^20}')
  $run synth -q -o "$DIR/s.bsq" --size "$SIZE" --seed 1 --force --timings=json > "$DIR/synth.json"
  tw=$(phase "$DIR/synth.json" io_write max_s); tc=$(phase "$DIR/synth.json" compute max_s)
  rate=$(awk -v h=$H -v w=$W -v b=$B -v t=$tc 'BEGIN{printf "%.1f", h*w*b/t/1e6}')
  echo "np=$np synth: compute ${tc}s = $rate Mpixel*band/s" >&2
  printf "%-4s %-7s %10s %10s %9s %9s %12s %12s\n" $np ENVI "$(gbps $BYTES $tw)" "-" \
    "$(awk -v a=$(gbps $BYTES $tw) -v d=$DDW 'BEGIN{printf "%.0f", 100*a/d}')" "-" \
    "$(awk -v r=$(rss "$DIR/synth.json") 'BEGIN{printf "%.0f", r/2^20}')" "$tile"
  # ENVI -> NetCDF: reads ENVI, writes NetCDF
  $run convert -q "$DIR/s.bsq" "$DIR/s.nc" --force --timings=json > "$DIR/e2n.json"
  tr=$(phase "$DIR/e2n.json" io_read max_s); tw=$(phase "$DIR/e2n.json" io_write max_s)
  printf "%-4s %-7s %10s %10s %9s %9s %12s %12s\n" $np "E->N" "$(gbps $BYTES $tw)" "$(gbps $BYTES $tr)" \
    "$(awk -v a=$(gbps $BYTES $tw) -v d=$DDW 'BEGIN{printf "%.0f", 100*a/d}')" \
    "$(awk -v a=$(gbps $BYTES $tr) -v d=$DDR 'BEGIN{printf "%.0f", 100*a/d}')" \
    "$(awk -v r=$(rss "$DIR/e2n.json") 'BEGIN{printf "%.0f", r/2^20}')" "$tile"
  # NetCDF -> ENVI: reads NetCDF, writes ENVI
  $run convert -q "$DIR/s.nc" "$DIR/s2.bsq" --force --timings=json > "$DIR/n2e.json"
  tr=$(phase "$DIR/n2e.json" io_read max_s); tw=$(phase "$DIR/n2e.json" io_write max_s)
  printf "%-4s %-7s %10s %10s %9s %9s %12s %12s\n" $np "N->E" "$(gbps $BYTES $tw)" "$(gbps $BYTES $tr)" \
    "$(awk -v a=$(gbps $BYTES $tw) -v d=$DDW 'BEGIN{printf "%.0f", 100*a/d}')" \
    "$(awk -v a=$(gbps $BYTES $tr) -v d=$DDR 'BEGIN{printf "%.0f", 100*a/d}')" \
    "$(awk -v r=$(rss "$DIR/n2e.json") 'BEGIN{printf "%.0f", r/2^20}')" "$tile"
  cmp -s "$DIR/s.bsq" "$DIR/s2.bsq" || echo "WARNING: ENVI -> NetCDF -> ENVI is not byte-identical" >&2
  rm -f "$DIR"/s.bsq "$DIR"/s.hdr "$DIR"/s.nc "$DIR"/s2.bsq "$DIR"/s2.hdr "$DIR"/*.aux.xml
done
echo "(E->N: read ENVI, write NetCDF; N->E: read NetCDF, write ENVI; percentages of dd; peak = max over ranks of peak RSS)"
