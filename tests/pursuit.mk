# Sparse pursuit (ISTA / FISTA)
check_PROGRAMS += tests/t_pursuit
MPI_TESTS += tests/t_pursuit.np1 tests/t_pursuit.np2 tests/t_pursuit.np3 tests/t_pursuit.np4
