# Sparse pursuit (ISTA / FISTA)
check_PROGRAMS += tests/t_pursuit
MPI_TESTS += tests/t_pursuit.np1 tests/t_pursuit.np2 tests/t_pursuit.np3 tests/t_pursuit.np4
check_PROGRAMS += tests/t_pursuit_mask
MPI_TESTS += tests/t_pursuit_mask.np1 tests/t_pursuit_mask.np2 tests/t_pursuit_mask.np3 tests/t_pursuit_mask.np4
