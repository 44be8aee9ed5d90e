# CSC engine tests: dictionaries and convolution operators
check_PROGRAMS += tests/t_conv
MPI_TESTS += tests/t_conv.np1 tests/t_conv.np2 tests/t_conv.np3 tests/t_conv.np4
