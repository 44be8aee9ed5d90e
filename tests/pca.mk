# PCA tests: the spectral subspace (covariance, LAPACK/ScaLAPACK, projection,
# NetCDF) and the pca command end to end on a real scene.
check_PROGRAMS += tests/t_pca
MPI_TESTS += tests/t_pca.np1 tests/t_pca.np2 tests/t_pca.np3 tests/t_pca.np4
EXTRA_DIST += tests/cli_pca.sh
MPI_TESTS += tests/cli_pca.np1 tests/cli_pca.np2 tests/cli_pca.np3 tests/cli_pca.np4
