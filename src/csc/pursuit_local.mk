# src/csc: sparse pursuit (ISTA / FISTA)
libhypercsc_la_SOURCES += src/csc/pursuit.c src/csc/pursuit_impl.h
hcscinc_HEADERS += include/hcsc/pursuit.h
