# src/core: errors, logging, timers, progress, RNG
libhypercsc_la_SOURCES += src/core/error.c src/core/log.c src/core/timer.c \
	src/core/progress.c src/core/rng.c src/core/signal.c
hcscinc_HEADERS += include/hcsc/error.h include/hcsc/log.h include/hcsc/timer.h \
	include/hcsc/progress.h include/hcsc/rng.h include/hcsc/signal.h
