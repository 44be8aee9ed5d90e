#!/bin/sh
# The one launcher of the test suite: runs a test at a given rank count.
#   mpirun.sh NP tests/NAME.npN
# runs the program tests/NAME (built) under mpiexec with NP ranks, or the
# shell test $top_srcdir/tests/NAME.sh with HCSC_NP=NP (the script launches
# hypercsc through $HCSC_MPIRUN itself).  Adds --oversubscribe and what Open
# MPI needs to run as root; a test that outlives HCSC_TEST_TIMEOUT seconds
# (default 600) is killed and fails, so a hang never stalls CI.
#   mpirun.sh tests/NAME.npN      (the rank count is read from the name)
if [ $# -eq 1 ]; then
  stub=$1
  np=${stub##*.np}
else
  np=$1
  stub=$2
fi
name=${stub%.np[0-9]*}
base=$(basename "$name")
OMPI_ALLOW_RUN_AS_ROOT=1
OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
OMPI_MCA_rmaps_base_oversubscribe=1
OMPI_MCA_btl_vader_single_copy_mechanism=none
OMPI_MCA_hwloc_base_binding_policy=none
OPENBLAS_NUM_THREADS=1
OMP_NUM_THREADS=1
# Ranks that wait yield the core: the tests oversubscribe 2 cores.
OMPI_MCA_mpi_yield_when_idle=1
export OMPI_MCA_mpi_yield_when_idle
export OMPI_ALLOW_RUN_AS_ROOT OMPI_ALLOW_RUN_AS_ROOT_CONFIRM \
  OMPI_MCA_rmaps_base_oversubscribe OMPI_MCA_btl_vader_single_copy_mechanism \
  OMPI_MCA_hwloc_base_binding_policy OPENBLAS_NUM_THREADS OMP_NUM_THREADS
: "${MPIEXEC:=mpiexec}"
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${HCSC_DATA:=$top_srcdir/../shared/data}"
: "${HCSC:=$(pwd)/hypercsc}"
export top_srcdir HCSC
HCSC_NP=$np
HCSC_MPIRUN="$MPIEXEC -q --oversubscribe -n $np"
export HCSC_DATA HCSC_NP HCSC_MPIRUN
limit=${HCSC_TEST_TIMEOUT:-600}
# Each test gets its own scratch directory in the build tree.
HCSC_TMP=$(pwd)/tests/tmp-$base-np$np
rm -rf "$HCSC_TMP" && mkdir -p "$HCSC_TMP" || exit 99
export HCSC_TMP
if [ -x "$name" ]; then
  timeout "$limit" $HCSC_MPIRUN "$name"
  rc=$?
elif [ -f "$top_srcdir/tests/$base.sh" ]; then
  timeout "$limit" sh "$top_srcdir/tests/$base.sh"
  rc=$?
else
  echo "mpirun.sh: no test program $name nor script tests/$base.sh" >&2
  exit 99
fi
[ $rc -eq 124 ] && echo "mpirun.sh: $base at $np ranks timed out after ${limit}s" >&2
[ $rc -eq 0 ] && rm -rf "$HCSC_TMP"
exit $rc
