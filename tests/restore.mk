# tests: restore - data masks in the networks, hypercsc denoise / inpaint
check_PROGRAMS += tests/t_nnmask
MPI_TESTS += tests/t_nnmask.np1 tests/t_nnmask.np2 tests/t_nnmask.np3 tests/t_nnmask.np4
EXTRA_DIST += tests/cli_denoise.sh tests/cli_inpaint.sh
MPI_TESTS += tests/cli_denoise.np1 tests/cli_denoise.np2 tests/cli_denoise.np3 tests/cli_denoise.np4
MPI_TESTS += tests/cli_inpaint.np1 tests/cli_inpaint.np2 tests/cli_inpaint.np4
