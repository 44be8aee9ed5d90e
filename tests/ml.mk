# Multi-layer and multi-scale pursuit
check_PROGRAMS += tests/t_mlpursuit tests/t_mspursuit
MPI_TESTS += tests/t_mlpursuit.np1 tests/t_mlpursuit.np2 tests/t_mlpursuit.np3 tests/t_mlpursuit.np4
MPI_TESTS += tests/t_mspursuit.np1 tests/t_mspursuit.np2 tests/t_mspursuit.np3 tests/t_mspursuit.np4
