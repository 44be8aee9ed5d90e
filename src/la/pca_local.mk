# src/la (PCA): the spectral subspace — covariance, LAPACK and ScaLAPACK
# eigensolvers, projection, NetCDF input/output.
libhypercsc_la_SOURCES += src/la/pca.c src/la/pca_scalapack.c src/la/pca_io.c src/la/lapack.h
hcscinc_HEADERS += include/hcsc/pca.h
