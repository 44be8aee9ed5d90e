# tests: model files and training (src/nn/model_io.c, sample.c, train.c, hypercsc train)
check_PROGRAMS += tests/t_nnmodel
tests_t_nnmodel_LDADD = $(LDADD) $(PNETCDF_LIBS)
MPI_TESTS += tests/t_nnmodel.np1 tests/t_nnmodel.np2
# 1 vs N ranks, checkpoint/resume, signals (every rank count)
EXTRA_DIST += tests/cli_train.sh
MPI_TESTS += tests/cli_train.np1 tests/cli_train.np2 tests/cli_train.np3 tests/cli_train.np4
# every architecture learns (1 and 2 ranks); evaluation and bad inputs (2
# ranks: the errors must agree across ranks; each mpiexec costs seconds here)
EXTRA_DIST += tests/cli_train_archs.sh tests/cli_train_errors.sh
MPI_TESTS += tests/cli_train_archs.np1 tests/cli_train_archs.np2
MPI_TESTS += tests/cli_train_errors.np2
