# src/io: scene metadata, GDAL/ENVI/NetCDF input and output
libhypercsc_la_SOURCES += src/io/io_impl.h src/io/dtype.c src/io/meta.c
hcscinc_HEADERS += include/hcsc/meta.h include/hcsc/scene.h
