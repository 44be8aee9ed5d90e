# models/: pretrained networks shipped with hypercsc (installed under
# $(pkgdatadir)/models; `hypercsc denoise` looks there, and in the source
# tree's models/, when --model is not given).  See models/README.md.
modelsdir = $(pkgdatadir)/models
dist_models_DATA = models/README.md models/ssc_jasper.nc models/ssc_salinas.nc models/lista_jasper.nc \
	models/ssc_synth64.nc
EXTRA_DIST += models/train.sh models/ssc_jasper.csv models/ssc_salinas.csv models/lista_jasper.csv \
	models/ssc_synth64.csv
AM_CPPFLAGS += -DHCSC_MODELDIR='"$(pkgdatadir)/models"' -DHCSC_SRCMODELDIR='"$(abs_top_srcdir)/models"'
