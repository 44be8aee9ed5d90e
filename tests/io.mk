# io tests
check_PROGRAMS += tests/t_io_roundtrip
MPI_TESTS += tests/t_io_roundtrip.np1 tests/t_io_roundtrip.np2 tests/t_io_roundtrip.np3 \
	tests/t_io_roundtrip.np4
# The io tests call GDAL directly to make fixtures and check outputs.
tests_t_io_roundtrip_LDADD = $(LDADD) $(GDAL_LIBS)
check_PROGRAMS += tests/t_io_errors
MPI_TESTS += tests/t_io_errors.np1 tests/t_io_errors.np2 tests/t_io_errors.np3 tests/t_io_errors.np4
tests_t_io_errors_LDADD = $(LDADD) $(GDAL_LIBS)
check_PROGRAMS += tests/t_io_real
MPI_TESTS += tests/t_io_real.np1 tests/t_io_real.np2 tests/t_io_real.np3 tests/t_io_real.np4
tests_t_io_real_LDADD = $(LDADD) $(GDAL_LIBS)
