# src/grid: decomposition, tiles, halo exchange, reductions
libhypercsc_la_SOURCES += src/grid/decomp.c src/grid/grid.c src/grid/tile.c \
	src/grid/halo.c src/grid/grid_impl.h
hcscinc_HEADERS += include/hcsc/grid.h
