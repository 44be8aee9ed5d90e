# tests: nnarch - the six unrolled architectures (src/nn/arch.c, arch_init.c)
check_PROGRAMS += tests/t_nnarch
tests_t_nnarch_SOURCES = tests/t_nnarch.c tests/t_nnarch_ref.c tests/t_nnarch_ref.h
MPI_TESTS += tests/t_nnarch.np1 tests/t_nnarch.np2 tests/t_nnarch.np4
