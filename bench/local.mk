# Benchmarks (run by hand, not by make check): see bench/README.md
EXTRA_DIST += bench/io.sh bench/README.md bench/denoise.sh
# Convolution throughput (built by "make bench", not run by make check)
EXTRA_PROGRAMS = bench/bench_conv bench/bench_pca
bench_bench_conv_SOURCES = bench/conv.c bench/machine.c bench/machine.h
bench_bench_conv_LDADD = libhypercsc.la
# Spectral subspace: covariance + eigensolver on a scene, LAPACK vs ScaLAPACK
bench_bench_pca_SOURCES = bench/pca.c
bench_bench_pca_LDADD = libhypercsc.la
CLEANFILES += bench/bench_conv bench/bench_pca
bench: bench/bench_conv bench/bench_pca
.PHONY: bench
# ADMM CBPDN: time per iteration vs bare FFTW transforms (bench/admm.c), and
# the NumPy reimplementation of SPORCO's ConvBPDN for comparison
EXTRA_PROGRAMS += bench/bench_admm
bench_bench_admm_SOURCES = bench/admm.c bench/machine.c bench/machine.h
bench_bench_admm_LDADD = libhypercsc.la $(FFTW3F_LIBS)
CLEANFILES += bench/bench_admm
EXTRA_DIST += bench/sporco_cbpdn.py bench/admm.sh
bench: bench/bench_admm
# FISTA strong scaling and iteration throughput (bench/README.md)
EXTRA_PROGRAMS += bench/bench_pursuit
bench_bench_pursuit_SOURCES = bench/pursuit.c bench/machine.c bench/machine.h
bench_bench_pursuit_LDADD = libhypercsc.la
CLEANFILES += bench/bench_pursuit
bench: bench/bench_pursuit
# Dictionary learning: consensus ADMM vs projected gradient (bench/cdl.c)
EXTRA_PROGRAMS += bench/bench_cdl
bench_bench_cdl_SOURCES = bench/cdl.c bench/machine.c bench/machine.h
bench_bench_cdl_LDADD = libhypercsc.la
CLEANFILES += bench/bench_cdl
bench: bench/bench_cdl
# Unrolled networks: inference throughput and training step (bench/nn.c),
# against the PyTorch reference of the same networks (bench/reference/)
EXTRA_PROGRAMS += bench/bench_nn
bench_bench_nn_SOURCES = bench/nn.c bench/machine.c bench/machine.h
bench_bench_nn_LDADD = libhypercsc.la
CLEANFILES += bench/bench_nn
EXTRA_DIST += bench/nn.sh bench/reference/hcsc_torch.py bench/reference/check_torch.py \
	bench/reference/README.md
bench: bench/bench_nn
# Quality table against OTB and scikit-image (bench/quality.sh, run by hand)
EXTRA_DIST += bench/quality.sh bench/quality_tools.py bench/quality_report.py
EXTRA_DIST += docs/quality.md bench/results/quality.md bench/results/quality.csv \
  bench/results/quality_sweep.csv bench/results/quality.png
