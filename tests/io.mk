# io tests
check_PROGRAMS += tests/t_io_roundtrip
MPI_TESTS += tests/t_io_roundtrip.np1 tests/t_io_roundtrip.np2 tests/t_io_roundtrip.np3 \
	tests/t_io_roundtrip.np4
# The io tests call GDAL directly to make fixtures and check outputs.
tests_t_io_roundtrip_LDADD = $(LDADD) $(GDAL_LIBS)
