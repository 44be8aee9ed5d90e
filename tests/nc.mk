# NetCDF (PnetCDF) and GeoTIFF writer tests
check_PROGRAMS += tests/t_nc_roundtrip
MPI_TESTS += tests/t_nc_roundtrip.np1 tests/t_nc_roundtrip.np2 tests/t_nc_roundtrip.np3 \
	tests/t_nc_roundtrip.np4
# The tests check files with GDAL and PnetCDF directly, not only through us.
tests_t_nc_roundtrip_LDADD = $(LDADD) $(GDAL_LIBS) $(PNETCDF_LIBS)
