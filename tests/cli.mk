# Command-line tests (shell scripts run by tests/mpirun.sh at 1-4 ranks)
EXTRA_DIST += tests/cli_errors.sh tests/cli_determinism.sh tests/cli_roundtrip.sh
MPI_TESTS += tests/cli_errors.np1 tests/cli_errors.np2 tests/cli_errors.np3 tests/cli_errors.np4
MPI_TESTS += tests/cli_determinism.np1 tests/cli_determinism.np2 tests/cli_determinism.np3 \
	tests/cli_determinism.np4
MPI_TESTS += tests/cli_roundtrip.np1 tests/cli_roundtrip.np2 tests/cli_roundtrip.np3 \
	tests/cli_roundtrip.np4
# A real one-node SLURM, where installed (skips otherwise): one rank count.
EXTRA_DIST += tests/slurm_srun.sh
MPI_TESTS += tests/slurm_srun.np2
