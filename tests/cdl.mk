# Convolutional dictionary learning (consensus ADMM)
check_PROGRAMS += tests/t_cdl
MPI_TESTS += tests/t_cdl.np1 tests/t_cdl.np2 tests/t_cdl.np3 tests/t_cdl.np4
