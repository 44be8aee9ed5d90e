# src/csc: multi-layer and multi-scale pursuit
libhypercsc_la_SOURCES += src/csc/mlpursuit.c src/csc/mspursuit.c
hcscinc_HEADERS += include/hcsc/mlcsc.h
