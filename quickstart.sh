#!/bin/sh
# hypercsc quick start: install what is missing (Debian 12, as root), build,
# then run the demo or the whole test suite.
#   ./quickstart.sh demo   synth -> noise -> denoise (shipped network, PCA) -> eval on NP ranks
#   ./quickstart.sh test   make check at 1, 2, 3 and 4 ranks; prints "N passed, N failed"
# Environment: HCSC_NO_INSTALL=1 skips apt-get; BUILD_DIR (default build);
# CONFIGURE_FLAGS (default --enable-werror); NP (demo ranks, default 2).
set -eu
cd "$(dirname "$0")"
what=${1:-demo}
BUILD_DIR=${BUILD_DIR:-build}
CONFIGURE_FLAGS=${CONFIGURE_FLAGS:---enable-werror}
PACKAGES="gcc make autoconf automake libtool pkgconf openmpi-bin libopenmpi-dev libpnetcdf-dev
pnetcdf-bin libgdal-dev gdal-bin libscalapack-openmpi-dev libopenblas-dev libfftw3-dev libcmocka-dev
gnuplot-nox"

install_packages() {
  [ "${HCSC_NO_INSTALL:-0}" = 1 ] && return 0
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "quickstart: no apt-get; install these Debian packages by hand: $PACKAGES" >&2
    return 0
  fi
  SUDO=
  [ "$(id -u)" = 0 ] || SUDO=sudo
  echo "quickstart: installing build dependencies (apt-get)"
  $SUDO apt-get update -q >/dev/null
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends \
    -o DPkg::Lock::Timeout=600 $PACKAGES >/dev/null
}

build() {
  [ -x configure ] && [ configure -nt configure.ac ] || autoreconf -fi
  mkdir -p "$BUILD_DIR"
  if [ ! -f "$BUILD_DIR/Makefile" ]; then
    # shellcheck disable=SC2086
    (cd "$BUILD_DIR" && ../configure -q $CONFIGURE_FLAGS)
  fi
  make -C "$BUILD_DIR" -j"$(nproc)" >/dev/null
}

mpi_env() {
  # What Open MPI needs to run as root and with more ranks than cores.
  OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_btl_vader_single_copy_mechanism=none
  OPENBLAS_NUM_THREADS=1
  export OMPI_ALLOW_RUN_AS_ROOT OMPI_ALLOW_RUN_AS_ROOT_CONFIRM OMPI_MCA_rmaps_base_oversubscribe \
    OMPI_MCA_btl_vader_single_copy_mechanism OPENBLAS_NUM_THREADS
}

case $what in
demo)
  install_packages
  build
  mpi_env
  NP=${NP:-2}
  H=$BUILD_DIR/hypercsc
  out=$BUILD_DIR/demo
  mkdir -p "$out"
  run="mpiexec -q --oversubscribe -n $NP $H"
  t0=$(date +%s)
  # The model is looked up as users get it: no --model, the first shipped
  # model with the scene's 64 bands (models/ssc_synth64.nc, trained on a
  # synth scene of seed 11: the demo's seed 1 scene is held out).
  echo "== synthetic 256 x 256 x 64 scene (seed 1) on $NP ranks"
  $run synth -o "$out/clean.tif" --size 256x256x64 --seed 1 --force -q
  for noise in gaussian:30 noniid; do
    tag=$(echo "$noise" | tr -d ':')
    echo "== noise $noise; denoise with the shipped network (quicklook $out/quicklook_$tag.png)"
    $run noise "$out/clean.tif" "$out/noisy_$tag.tif" --model "$noise" --seed 7 --force -q
    $run denoise "$out/noisy_$tag.tif" -o "$out/net_$tag.tif" --quicklook "$out/quicklook_$tag.png" \
      --timings --force 2>&1 | tee "$out/net_$tag.txt"
    $run denoise --method pca "$out/noisy_$tag.tif" -o "$out/pca_$tag.tif" --timings --force \
      > "$out/pca_$tag.txt" 2>&1
    for m in noisy net pca; do
      $run eval "$out/clean.tif" "$out/${m}_$tag.tif" --json > "$out/eval_${m}_$tag.json"
    done
  done
  model=$(sed -n 's/^denoise: .*, net \([^,]*\), .*/\1/p' "$out/net_gaussian30.txt" | head -n 1)
  model=$(basename "${model:-shipped}" .nc)
  echo "== quality against the clean scene (MPSNR, MSSIM: higher is better; SAM in radians: lower"
  echo "   is better; time: the whole denoise command on $NP ranks, I/O included)"
  printf '%-12s %-28s %9s %7s %8s %7s\n' noise method "MPSNR dB" MSSIM "SAM rad" "time s"
  for noise in gaussian:30 noniid; do
    tag=$(echo "$noise" | tr -d ':')
    for m in noisy net pca; do
      case $m in
      noisy) label="noisy input"; secs=- ;;
      net) label="network $model" ;;
      pca) label="denoise --method pca" ;;
      esac
      [ $m = noisy ] || secs=$(awk '$1 == "total" { print $4 }' "$out/${m}_$tag.txt")
      sed -e 's/.*"mpsnr": \([^,]*\).*"mssim": \([^,]*\).*"sam": \([^,]*\).*/\1 \2 \3/' \
        "$out/eval_${m}_$tag.json" | awk -v n="$noise" -v l="$label" -v s="$secs" \
        '{ printf "%-12s %-28s %9.2f %7.4f %8.4f %7s\n", n, l, $1, $2, $3, s }'
    done
  done
  echo "demo outputs in $out/ ($(($(date +%s) - t0)) s)"
  ;;
test)
  install_packages
  build
  set +e
  make -C "$BUILD_DIR" -j"$(nproc)" check >"$BUILD_DIR/check.out" 2>&1
  rc=$?
  set -e
  grep -E '^(PASS|FAIL|ERROR|SKIP|XPASS|XFAIL):' "$BUILD_DIR/check.out" || true
  log=$BUILD_DIR/test-suite.log
  count() { sed -n "s/^# $1: *//p" "$log" 2>/dev/null | head -n 1; }
  pass=$(count PASS); fail=$(count FAIL); error=$(count ERROR); xpass=$(count XPASS); skip=$(count SKIP)
  pass=${pass:-0}; fail=$(( ${fail:-0} + ${error:-0} + ${xpass:-0} )); skip=${skip:-0}
  if [ "$rc" -ne 0 ]; then
    [ -f "$log" ] && sed -n '/^FAIL\|^ERROR/,+30p' "$log" | head -n 200
    [ "$fail" -eq 0 ] && { tail -n 40 "$BUILD_DIR/check.out"; fail=1; }
  fi
  echo "$pass passed, $fail failed, $skip skipped"
  [ "$fail" -eq 0 ] && [ "$rc" -eq 0 ]
  ;;
*)
  echo "usage: $0 demo|test" >&2
  exit 2
  ;;
esac
