# src/nn: unrolled networks - graph executor, layers, weight gradients
libhypercsc_la_SOURCES += src/nn/nn_impl.h
hcscinc_HEADERS += include/hcsc/nn.h
