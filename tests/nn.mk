# tests: nn (executor and layers of unrolled networks)
check_PROGRAMS += tests/t_nnlayers
MPI_TESTS += tests/t_nnlayers.np1 tests/t_nnlayers.np2 tests/t_nnlayers.np4
