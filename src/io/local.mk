# src/io: scene metadata, GDAL/ENVI/NetCDF input and output
libhypercsc_la_SOURCES += src/io/io_impl.h src/io/dtype.c src/io/meta.c
hcscinc_HEADERS += include/hcsc/meta.h include/hcsc/scene.h
# TEMPORARY (io branch): stubs for the NetCDF and GeoTIFF writers.
libhypercsc_la_SOURCES += src/io/stubs_tmp.c
