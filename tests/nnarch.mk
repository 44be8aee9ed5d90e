# tests: nnarch - the six unrolled architectures (src/nn/arch.c, arch_init.c)
check_PROGRAMS += tests/t_nnarch
MPI_TESTS += tests/t_nnarch.np1 tests/t_nnarch.np2 tests/t_nnarch.np4
