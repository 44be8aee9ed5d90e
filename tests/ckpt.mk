# Checkpoints, signals and plots (issue 4, items 4 and 5)
check_PROGRAMS += tests/t_checkpoint
MPI_TESTS += tests/t_checkpoint.np1 tests/t_checkpoint.np2 tests/t_checkpoint.np3 tests/t_checkpoint.np4
# t_checkpoint finds the data section of the file with PnetCDF directly.
tests_t_checkpoint_LDADD = $(LDADD) $(PNETCDF_LIBS)
check_PROGRAMS += tests/t_signal
MPI_TESTS += tests/t_signal.np1 tests/t_signal.np2 tests/t_signal.np3 tests/t_signal.np4
# mpiexec forwards SIGUSR1 to the ranks (helper program + shell test)
check_PROGRAMS += tests/t_signal_loop
EXTRA_DIST += tests/signal_mpiexec.sh
MPI_TESTS += tests/signal_mpiexec.np2
check_PROGRAMS += tests/t_plot
MPI_TESTS += tests/t_plot.np1
# t_plot opens the PNG with GDAL.
tests_t_plot_LDADD = $(LDADD) $(GDAL_LIBS)
