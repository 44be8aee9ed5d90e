# src/nn: model files and training
libhypercsc_la_SOURCES += src/nn/model_io.c src/nn/sample.c src/nn/train.c src/nn/train_impl.h
hcscinc_HEADERS += include/hcsc/train.h
