# src/csc: convolutional dictionary learning by consensus ADMM
libhypercsc_la_SOURCES += src/csc/cdl.c src/csc/cdl_sig.c src/csc/cdl_impl.h
hcscinc_HEADERS += include/hcsc/cdl.h
