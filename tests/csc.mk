# CSC engine tests: dictionaries and convolution operators
check_PROGRAMS += tests/t_conv
MPI_TESTS += tests/t_conv.np1 tests/t_conv.np2 tests/t_conv.np3 tests/t_conv.np4
check_PROGRAMS += tests/t_dict
MPI_TESTS += tests/t_dict.np1 tests/t_dict.np2 tests/t_dict.np3 tests/t_dict.np4
# t_dict checks the files with PnetCDF directly, not only through us.
tests_t_dict_LDADD = $(LDADD) $(PNETCDF_LIBS)
