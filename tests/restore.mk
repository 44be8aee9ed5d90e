# tests: restore - data masks in the networks, hypercsc denoise / inpaint
check_PROGRAMS += tests/t_nnmask
tests_t_nnmask_SOURCES = tests/t_nnmask.c tests/t_nnarch_ref.c tests/t_nnarch_ref.h
MPI_TESTS += tests/t_nnmask.np1 tests/t_nnmask.np2 tests/t_nnmask.np3 tests/t_nnmask.np4
# the low-pass split of the networks (hcsc_nn_apply)
check_PROGRAMS += tests/t_nnlowpass
tests_t_nnlowpass_SOURCES = tests/t_nnlowpass.c tests/t_nnarch_ref.c tests/t_nnarch_ref.h
MPI_TESTS += tests/t_nnlowpass.np1 tests/t_nnlowpass.np2 tests/t_nnlowpass.np3 tests/t_nnlowpass.np4
# shell tests: the 1-rank reference runs inside each script, so they are
# registered from 2 ranks (3: the uneven 1x3x1 grid); each mpiexec costs
# seconds on the shared 2 cores
EXTRA_DIST += tests/cli_denoise.sh tests/cli_denoise_methods.sh tests/cli_inpaint.sh tests/restore_common.sh
MPI_TESTS += tests/cli_denoise.np2 tests/cli_denoise.np3 tests/cli_denoise.np4
MPI_TESTS += tests/cli_denoise_methods.np2 tests/cli_denoise_methods.np4
MPI_TESTS += tests/cli_inpaint.np2 tests/cli_inpaint.np4
