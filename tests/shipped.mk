# tests: the shipped models (models/*.nc) load, beat the PCA baseline on the
# rows they never trained on, and give the 1-rank output at 2 ranks
# (tests/cli_shipped.sh; skips without $HCSC_DATA/hsi).
EXTRA_DIST += tests/cli_shipped.sh
# Registered at 2 ranks only: that run makes every check of the 1-rank run
# and compares each model's output with the 1-rank output (about 33
# mpiexec calls: a 1-rank registration would repeat most of them).
MPI_TESTS += tests/cli_shipped.np2
