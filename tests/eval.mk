# eval tests: synthetic scenes, noise protocol, metrics, statistics
check_PROGRAMS += tests/t_eval_metrics tests/t_eval_synth_noise tests/t_eval_stats
tests_t_eval_metrics_SOURCES = tests/t_eval_metrics.c tests/t_eval_util.h
tests_t_eval_synth_noise_SOURCES = tests/t_eval_synth_noise.c tests/t_eval_util.h
tests_t_eval_stats_SOURCES = tests/t_eval_stats.c tests/t_eval_util.h
MPI_TESTS += tests/t_eval_metrics.np1 tests/t_eval_metrics.np2 tests/t_eval_metrics.np3 \
	tests/t_eval_metrics.np4
MPI_TESTS += tests/t_eval_synth_noise.np1 tests/t_eval_synth_noise.np2 \
	tests/t_eval_synth_noise.np3 tests/t_eval_synth_noise.np4
MPI_TESTS += tests/t_eval_stats.np1 tests/t_eval_stats.np2 tests/t_eval_stats.np3 \
	tests/t_eval_stats.np4
# Gaussian low-pass on every grid against a serial reference
check_PROGRAMS += tests/t_filter
MPI_TESTS += tests/t_filter.np1 tests/t_filter.np2 tests/t_filter.np3 tests/t_filter.np4
