# tests: restore - data masks in the networks, hypercsc denoise / inpaint
check_PROGRAMS += tests/t_nnmask
MPI_TESTS += tests/t_nnmask.np1 tests/t_nnmask.np2 tests/t_nnmask.np3 tests/t_nnmask.np4
