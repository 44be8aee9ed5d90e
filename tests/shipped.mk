# tests: the shipped models (models/*.nc) load, beat the PCA baseline on the
# rows they never trained on, and give the 1-rank output at 2 ranks
# (tests/cli_shipped.sh; skips without $HCSC_DATA/hsi).
EXTRA_DIST += tests/cli_shipped.sh
MPI_TESTS += tests/cli_shipped.np1 tests/cli_shipped.np2
