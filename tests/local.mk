# Tests: every MPI test program tests/t_X (or shell test tests/X.sh) is run
# through tests/mpirun.sh at several rank counts.  A test "tests/NAME.npN"
# is a stub generated here; the wrapper derives the program and the rank
# count from its name.  Test groups add to MPI_TESTS in their fragments.
# No TEST_EXTENSIONS: automake strips a registered extension from the log
# name, so t_X.np1 .. t_X.np4 would all write t_X.log and t_X.trs (and race
# under make -j).  The wrapper reads the rank count from the stub's name.
LOG_COMPILER = $(SHELL) $(top_srcdir)/tests/mpirun.sh
AM_TESTS_ENVIRONMENT = \
	top_srcdir='$(abs_top_srcdir)'; top_builddir='$(abs_top_builddir)'; \
	srcdir='$(abs_srcdir)'; MPIEXEC='$(MPIEXEC)'; \
	HCSC='$(abs_top_builddir)/hypercsc'; \
	export top_srcdir top_builddir srcdir MPIEXEC HCSC;

# Helpers shared by test programs.
check_LTLIBRARIES = tests/libhcsctest.la
tests_libhcsctest_la_SOURCES = tests/testutil.c tests/testutil.h
LDADD = tests/libhcsctest.la libhypercsc.la

EXTRA_DIST += tests/mpirun.sh tests/common.sh

include tests/grid.mk
include tests/io.mk
include tests/nc.mk
include tests/eval.mk
include tests/cli.mk
include tests/pca.mk
include tests/csc.mk
include tests/pursuit.mk
include tests/ml.mk
include tests/cmds.mk

TESTS = $(MPI_TESTS)
CLEANFILES += $(MPI_TESTS)
$(MPI_TESTS): Makefile
	$(AM_V_GEN)mkdir -p $(@D) && echo '# test stub: see tests/mpirun.sh' > $@

# Core library
check_PROGRAMS += tests/t_core
MPI_TESTS += tests/t_core.np1 tests/t_core.np2 tests/t_core.np3 tests/t_core.np4
include tests/admm.mk
include tests/ckpt.mk
include tests/cdl.mk
include tests/learn.mk
include tests/nn.mk
include tests/nnarch.mk
include tests/train.mk
include tests/restore.mk
include tests/shipped.mk
