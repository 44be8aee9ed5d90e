# hypercsc learn (dictionary learning command; shell test at 1-4 ranks)
EXTRA_DIST += tests/cli_learn.sh
MPI_TESTS += tests/cli_learn.np1 tests/cli_learn.np2 tests/cli_learn.np3 tests/cli_learn.np4
# hypercsc learn --layers / --scales (multi-layer stack, multi-scale sets)
EXTRA_DIST += tests/cli_learn_ml.sh
MPI_TESTS += tests/cli_learn_ml.np1 tests/cli_learn_ml.np2 tests/cli_learn_ml.np3 tests/cli_learn_ml.np4
