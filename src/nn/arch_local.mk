# src/nn: the six architectures
libhypercsc_la_SOURCES += src/nn/arch.c src/nn/arch_init.c
