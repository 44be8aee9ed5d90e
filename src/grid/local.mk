# src/grid
# TEMPORARY (io branch): minimal grid until the real src/grid lands.
libhypercsc_la_SOURCES += src/grid/grid_tmp.c
hcscinc_HEADERS += include/hcsc/grid.h
