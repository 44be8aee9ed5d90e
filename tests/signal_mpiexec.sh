#!/bin/sh
# SIGUSR1 sent to mpiexec reaches every rank (Open MPI forwards it): the
# helper tests/t_signal_loop loops calling hcsc_signal_agree, all ranks stop
# at the same iteration, and mpiexec exits with HCSC_EXIT_SIGNALLED (75).
set -u
: "${top_builddir:=$(pwd)}"
prog=$top_builddir/tests/t_signal_loop
[ -x "$prog" ] || { echo "signal_mpiexec: $prog not built" >&2; exit 99; }
out=$HCSC_TMP/out
# shellcheck disable=SC2086
$HCSC_MPIRUN "$prog" >"$out" 2>&1 &
pid=$!
n=0
while [ ! -f "$HCSC_TMP/ready" ]; do
  n=$((n + 1))
  if [ $n -gt 300 ] || ! kill -0 $pid 2>/dev/null; then
    echo "signal_mpiexec: the ranks never became ready" >&2
    cat "$out" >&2
    kill $pid 2>/dev/null
    exit 1
  fi
  sleep 0.1
done
# $! is mpiexec itself (the shell execs a simple background command).
echo "signal_mpiexec: sending SIGUSR1 to $(ps -o comm= -p $pid) (pid $pid)"
kill -USR1 $pid
wait $pid
rc=$?
cat "$out"
if [ $rc -ne 75 ]; then
  echo "signal_mpiexec: mpiexec exited with $rc, expected 75 (HCSC_EXIT_SIGNALLED)" >&2
  exit 1
fi
usr1=$(kill -l USR1 2>/dev/null || echo 10)
grep -q "by signal $usr1 on all $HCSC_NP ranks" "$out" || {
  echo "signal_mpiexec: the ranks did not all stop on SIGUSR1 ($usr1) at the same iteration" >&2
  exit 1
}
echo "signal_mpiexec: mpiexec forwarded SIGUSR1 to $HCSC_NP ranks; exit status 75"
exit 0
