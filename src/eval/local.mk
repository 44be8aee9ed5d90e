# src/eval: synthetic scenes, noise protocol, metrics, statistics
libhypercsc_la_SOURCES += src/eval/synth.c src/eval/noise.c src/eval/metrics.c \
	src/eval/stats.c src/eval/filter.c
hcscinc_HEADERS += include/hcsc/synth.h include/hcsc/noise.h include/hcsc/metrics.h \
	include/hcsc/stats.h include/hcsc/filter.h
