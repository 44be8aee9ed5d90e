# src/nn: unrolled networks - graph executor, layers, weight gradients
libhypercsc_la_SOURCES += src/nn/nn_impl.h src/nn/layers.h src/nn/nn.c src/nn/graph.c \
	src/nn/exec.c src/nn/exec_backward.c src/nn/exec_noise.c src/nn/exec_impl.h src/nn/layers.c \
	src/nn/wgrad.c src/nn/apply.c
hcscinc_HEADERS += include/hcsc/nn.h
