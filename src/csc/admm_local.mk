# src/csc: ADMM convolutional BPDN (serial plan + distributed driver)
libhypercsc_la_SOURCES += src/csc/admm.c src/csc/admm_solve.c src/csc/admm_impl.h
hcscinc_HEADERS += include/hcsc/admm.h
