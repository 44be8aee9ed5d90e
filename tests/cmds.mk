# The dict and code commands (shell tests run at 1-4 ranks)
EXTRA_DIST += tests/cli_dict.sh tests/cli_code.sh
MPI_TESTS += tests/cli_dict.np1 tests/cli_dict.np2 tests/cli_dict.np3 tests/cli_dict.np4
MPI_TESTS += tests/cli_code.np1 tests/cli_code.np2 tests/cli_code.np3 tests/cli_code.np4
