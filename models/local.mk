# models/: pretrained networks shipped with hypercsc (installed under
# $(pkgdatadir)/models; `hypercsc denoise` looks there, and in the source
# tree's models/, when --model is not given).  The lead adds the *.nc files
# to dist_models_DATA when they exist.
modelsdir = $(pkgdatadir)/models
dist_models_DATA = models/README.md
AM_CPPFLAGS += -DHCSC_MODELDIR='"$(pkgdatadir)/models"' -DHCSC_SRCMODELDIR='"$(abs_top_srcdir)/models"'
