# tests: model files and training (src/nn/model_io.c, sample.c, train.c, hypercsc train)
check_PROGRAMS += tests/t_nnmodel
tests_t_nnmodel_LDADD = $(LDADD) $(PNETCDF_LIBS)
MPI_TESTS += tests/t_nnmodel.np1 tests/t_nnmodel.np2
EXTRA_DIST += tests/cli_train.sh
MPI_TESTS += tests/cli_train.np1 tests/cli_train.np2 tests/cli_train.np3 tests/cli_train.np4
