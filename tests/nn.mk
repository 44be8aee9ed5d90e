# tests: nn (executor and layers of unrolled networks)
check_PROGRAMS += tests/t_nnlayers
MPI_TESTS += tests/t_nnlayers.np1 tests/t_nnlayers.np2 tests/t_nnlayers.np4
check_PROGRAMS += tests/t_conv_part
MPI_TESTS += tests/t_conv_part.np1 tests/t_conv_part.np2 tests/t_conv_part.np3 tests/t_conv_part.np4
check_PROGRAMS += tests/t_stats_noise
MPI_TESTS += tests/t_stats_noise.np1 tests/t_stats_noise.np2 tests/t_stats_noise.np3 tests/t_stats_noise.np4
check_PROGRAMS += tests/t_nn_overlap
MPI_TESTS += tests/t_nn_overlap.np1 tests/t_nn_overlap.np2 tests/t_nn_overlap.np3 tests/t_nn_overlap.np4
