# ADMM convolutional BPDN
check_PROGRAMS += tests/t_admm
MPI_TESTS += tests/t_admm.np1 tests/t_admm.np2 tests/t_admm.np3 tests/t_admm.np4
