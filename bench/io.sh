#!/bin/bash
# I/O benchmark (issue 2): write and read a synthetic float32 scene as ENVI
# and as NetCDF at 1 and 2 ranks, next to dd of the same bytes on the same
# disk; peak memory of each rank against its tile; synth's generation rate.
#   bench/io.sh [SIZE=2048x2048x128] [DIR=bench/out]
# Run from the source tree after building in build/ (HCSC=... overrides the
# program, NPS="1 2" the rank counts).
#
# Protocol.  Writes: hypercsc flushes every output to disk before renaming
# it into place (MPI_File_sync / ncmpi_sync / fsync), so dd is timed with
# conv=fsync.  Reads: the page cache is dropped before every read, hypercsc's
# and dd's alike (needs root; otherwise reads come from memory and the
# script says so).  hypercsc's own --timings give the I/O phases; type
# conversion is timed as compute and not counted in GB/s.
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

drop() { sync; if [ -w /proc/sys/vm/drop_caches ]; then echo 3 > /proc/sys/vm/drop_caches; fi; }
# On this kind of virtual machine the first use of a guest memory page
# costs more than the disk (page faults at ~0.25 GB/s): dd's first write
# runs at a fraction of its later speed, and hypercsc, which also holds its
# tile, needs twice the scene's size in fresh memory (tile + page cache).
# Before every timed step, hypercsc's and dd's alike, three times the
# scene's size of page cache is filled and released, so that both start
# with enough memory already in use once.  HCSC_BENCH_PRIME=0 skips it.
prime() {
  [ "${HCSC_BENCH_PRIME:-1}" = 0 ] && { drop; return; }
  dd if=/dev/zero of="$DIR/prime.bin" bs=16M count=$((3 * BYTES / 16777216)) status=none
  rm -f "$DIR/prime.bin"; drop
}
COLD=yes; [ -w /proc/sys/vm/drop_caches ] || COLD="no (not root: reads may hit the page cache)"
gbps() { awk -v b="$1" -v t="$2" 'BEGIN{printf "%.2f", b/t/1e9}'; }
pct() { awk -v a="$1" -v d="$2" 'BEGIN{printf "%.0f%%", 100*a/d}'; }
secs() { awk -v a=$1 -v b=$2 'BEGIN{print b-a}'; }
best() { printf '%s\n' "$@" | sort -g | tail -n 1; }
# field of the last --timings=json line of a file
tj() { $PY -c 'import json,sys; d=json.loads([l for l in open(sys.argv[1]) if l.startswith("{\"ranks\"")][-1]); print(eval(sys.argv[2], {}, {"d": d}))' "$1" "$2"; }

echo "== machine"
echo "cpu: $(lscpu | sed -n 's/^Model name: *//p') x $(nproc) cores; mem: $(free -g | awk '/Mem:/{print $2}') GiB; $(uname -r)"
echo "disk: $(df -h "$DIR" | awk 'NR==2{print $1, $2, "free", $4}'); cold reads: $COLD"
echo "scene: $SIZE float32 = $(awk -v b=$BYTES 'BEGIN{printf "%.2f GiB", b/2^30}')"

echo "== dd, same bytes, same disk, 16 MiB blocks, best of 3"
cnt=$((BYTES / 16777216))
w=(); r=()
for i in 1 2 3; do
  rm -f "$DIR/dd.bin"
  prime
  t0=$(date +%s.%N); dd if=/dev/zero of="$DIR/dd.bin" bs=16M count=$cnt conv=fsync status=none; t1=$(date +%s.%N)
  w+=("$(gbps $BYTES "$(secs $t0 $t1)")")
  drop
  t0=$(date +%s.%N); dd if="$DIR/dd.bin" of=/dev/null bs=16M status=none; t1=$(date +%s.%N)
  r+=("$(gbps $BYTES "$(secs $t0 $t1)")")
done
rm -f "$DIR/dd.bin"
DDW=$(best "${w[@]}"); DDR=$(best "${r[@]}")
echo "dd write+fsync: ${w[*]} GB/s -> $DDW; dd cold read: ${r[*]} GB/s -> $DDR"

printf "\n%-3s %-26s %9s %7s %9s %9s %7s\n" np step "GB/s" "of dd" "peak MiB" "tile MiB" "ratio"
row() { # np step json-file phase ddref
  local t; t=$(tj "$3" "d['phases']['$4']['max_s']")
  local rate; rate=$(gbps $BYTES "$t")
  local peak; peak=$(tj "$3" "d['peak_rss_bytes']['max']")
  local tile; tile=$(awk -v b=$BYTES -v n=$1 'BEGIN{printf "%.0f", b/n/2^20}')
  printf "%-3s %-26s %9s %7s %9.0f %9s %7s\n" "$1" "$2" "$rate" "$(pct "$rate" "$5")" \
    "$(awk -v p=$peak 'BEGIN{print p/2^20}')" "$tile" "$(awk -v p=$peak -v t=$tile 'BEGIN{printf "%.2f", p/2^20/t}')"
}
for np in $NPS; do
  run="mpiexec -q -n $np $HCSC"
  rm -f "$DIR"/s.* "$DIR"/s2.* "$DIR"/s3.*
  prime
  $run synth -q -o "$DIR/s.bsq" --size "$SIZE" --seed 1 --timings=json > "$DIR/synth.json"
  row $np "synth -> ENVI write" "$DIR/synth.json" io_write $DDW
  tc=$(tj "$DIR/synth.json" "d['phases']['compute']['max_s']")
  SYNTH[$np]=$(awk -v h=$H -v w=$W -v b=$B -v t=$tc 'BEGIN{printf "%.1f", h*w*b/t/1e6}')
  prime
  $run convert -q "$DIR/s.bsq" "$DIR/s.nc" --timings=json > "$DIR/e2n.json"
  row $np "ENVI read (MPI-IO)" "$DIR/e2n.json" io_read $DDR
  row $np "NetCDF write" "$DIR/e2n.json" io_write $DDW
  prime
  $run convert -q "$DIR/s.nc" "$DIR/s2.bsq" --timings=json > "$DIR/n2e.json"
  row $np "NetCDF read" "$DIR/n2e.json" io_read $DDR
  row $np "ENVI write" "$DIR/n2e.json" io_write $DDW
  cmp -s "$DIR/s.bsq" "$DIR/s2.bsq" || echo "ERROR: ENVI -> NetCDF -> ENVI is not byte-identical" >&2
  prime
  HCSC_READ_WITH_GDAL=1 $run convert -q "$DIR/s.bsq" "$DIR/s3.nc" --timings=json > "$DIR/e2n_gdal.json"
  row $np "ENVI read (through GDAL)" "$DIR/e2n_gdal.json" io_read $DDR
  rm -f "$DIR"/s.* "$DIR"/s2.* "$DIR"/s3.*
done
echo
for np in $NPS; do echo "synth at $np rank(s): ${SYNTH[$np]} Mpixel*band/s (compute phase, slowest rank)"; done
echo "(GB/s = scene bytes / slowest rank's I/O phase; 'of dd' against dd write+fsync or dd cold read;"
echo " the tile's first touch is timed as setup, not I/O: setup max over ranks per step in \$DIR/*.json;"
echo " peak = largest peak RSS over ranks; tile = scene / ranks)"
