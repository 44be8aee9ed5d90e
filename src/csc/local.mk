# src/csc: dictionaries (operators are in src/la)
libhypercsc_la_SOURCES += src/csc/dict.c src/csc/dict_io.c
hcscinc_HEADERS += include/hcsc/dict.h
