# src/csc: sparse pursuit (ISTA / FISTA)
libhypercsc_la_SOURCES += src/csc/pursuit.c
hcscinc_HEADERS += include/hcsc/pursuit.h
