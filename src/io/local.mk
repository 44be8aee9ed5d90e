# src/io: scene metadata, GDAL/ENVI/NetCDF input and output
libhypercsc_la_SOURCES += src/io/io_impl.h src/io/dtype.c src/io/meta.c src/io/scene.c \
	src/io/gdal_meta.c src/io/gdal_read.c src/io/envi_read.c src/io/envi_write.c
hcscinc_HEADERS += include/hcsc/meta.h include/hcsc/scene.h
libhypercsc_la_SOURCES += src/io/netcdf.c src/io/gtiff_write.c
libhypercsc_la_SOURCES += src/io/png.c
hcscinc_HEADERS += include/hcsc/picture.h
libhypercsc_la_SOURCES += src/io/checkpoint.c src/io/plot.c
hcscinc_HEADERS += include/hcsc/checkpoint.h include/hcsc/plot.h
