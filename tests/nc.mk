# NetCDF (PnetCDF) and GeoTIFF writer tests
check_PROGRAMS += tests/t_nc_roundtrip tests/t_gtiff_write
MPI_TESTS += tests/t_nc_roundtrip.np1 tests/t_nc_roundtrip.np2 tests/t_nc_roundtrip.np3 \
	tests/t_nc_roundtrip.np4
MPI_TESTS += tests/t_gtiff_write.np1 tests/t_gtiff_write.np2 tests/t_gtiff_write.np3 \
	tests/t_gtiff_write.np4
# The tests check files with GDAL and PnetCDF directly, not only through us.
tests_t_nc_roundtrip_LDADD = $(LDADD) $(GDAL_LIBS) $(PNETCDF_LIBS)
tests_t_gtiff_write_LDADD = $(LDADD) $(GDAL_LIBS)
