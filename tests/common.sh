# Shared by the shell tests (sourced).  Provided by tests/mpirun.sh:
# HCSC (program), HCSC_MPIRUN ("mpiexec -q --oversubscribe -n N"), HCSC_NP,
# HCSC_TMP (scratch directory), HCSC_DATA (shared scenes).
set -u
failures=0
T=$HCSC_TMP
run() { $HCSC_MPIRUN "$HCSC" "$@"; }
run1() { ${MPIEXEC:-mpiexec} -q -n 1 "$HCSC" "$@"; }
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
data_dir() { [ -d "$HCSC_DATA/hsi" ] && echo "$HCSC_DATA/hsi"; }
# Grids to try at this rank count: automatic plus explicit shapes,
# spectral groups included, that divide the rank count.
grids() {
  echo auto
  case $HCSC_NP in
  1) echo 1x1x1 ;;
  2) echo 1x2x1; echo 1x1x2; echo 2x1x1 ;;
  3) echo 1x3x1; echo 1x1x3; echo 3x1x1 ;;
  4) echo 1x2x2; echo 2x2x1; echo 1x4x1; echo 4x1x1 ;;
  esac
}
grid_opt() { [ "$1" = auto ] || echo "--grid $1"; }

# expect_error WHAT SUBSTRING ARGS...: "hypercsc ARGS" at HCSC_NP ranks must
# fail (non-zero), within
# 60 s, print exactly one "hypercsc..." line on stderr that contains
# SUBSTRING, and print no "rank N:" noise from other ranks.
expect_error() {
  what=$1; substr=$2; shift 2
  start=$(date +%s)
  timeout 60 $HCSC_MPIRUN "$HCSC" "$@" >"$T/out.txt" 2>"$T/err.txt"
  rc=$?
  el=$(( $(date +%s) - start ))
  if [ $rc -eq 0 ]; then fail "$what: succeeded, expected an error"; return; fi
  if [ $rc -eq 124 ]; then fail "$what: hung (killed after 60 s)"; return; fi
  n=$(grep -c '^hypercsc' "$T/err.txt")
  if [ "$n" -ne 1 ]; then fail "$what: expected one error line, got $n:"; cat "$T/err.txt" >&2; return; fi
  if ! grep -q -- "$substr" "$T/err.txt"; then
    fail "$what: error does not mention '$substr':"; cat "$T/err.txt" >&2; return
  fi
  echo "ok ($el s, exit $rc): $what: $(cat "$T/err.txt")"
}

finish() {
  if [ "$failures" -ne 0 ]; then echo "$failures check(s) failed"; exit 1; fi
  echo "all checks passed at $HCSC_NP rank(s)"
  exit 0
}
