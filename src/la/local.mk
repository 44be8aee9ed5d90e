# src/la: convolution operators (plan, direct and FFT kernels)
libhypercsc_la_SOURCES += src/la/conv.c src/la/conv_impl.h
hcscinc_HEADERS += include/hcsc/conv.h
# The kernels need a * b + c fused into FMAs, which -std=c11 forbids by
# default (-ffp-contract=off): they are a convenience library of their own.
noinst_LTLIBRARIES = src/la/libhcscconv.la
src_la_libhcscconv_la_SOURCES = src/la/conv_direct.c src/la/conv_fft.c src/la/conv_impl.h
src_la_libhcscconv_la_CFLAGS = $(AM_CFLAGS) -ffp-contract=fast
libhypercsc_la_LIBADD += src/la/libhcscconv.la
