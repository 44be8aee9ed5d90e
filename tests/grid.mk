# grid tests: partitions and the edge rule, the grid, halo exchange
check_PROGRAMS += tests/t_partition tests/t_grid tests/t_halo
MPI_TESTS += tests/t_partition.np1 tests/t_partition.np2 tests/t_partition.np3 tests/t_partition.np4 \
	tests/t_grid.np1 tests/t_grid.np2 tests/t_grid.np3 tests/t_grid.np4 \
	tests/t_halo.np1 tests/t_halo.np2 tests/t_halo.np3 tests/t_halo.np4
