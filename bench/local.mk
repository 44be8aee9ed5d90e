# Benchmarks (run by hand, not by make check): see bench/README.md
EXTRA_DIST += bench/io.sh bench/README.md
