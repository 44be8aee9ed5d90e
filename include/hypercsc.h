/* hypercsc — convolutional sparse coding and deep unrolling for
 * hyperspectral scenes, distributed with MPI.  Umbrella header. */
#ifndef HYPERCSC_H
#define HYPERCSC_H

#include "hcsc/error.h"
#include "hcsc/log.h"
#include "hcsc/timer.h"
#include "hcsc/progress.h"
#include "hcsc/rng.h"
#include "hcsc/grid.h"
#include "hcsc/meta.h"
#include "hcsc/scene.h"
#include "hcsc/synth.h"
#include "hcsc/noise.h"
#include "hcsc/metrics.h"
#include "hcsc/stats.h"
#include "hcsc/pca.h"
#include "hcsc/dict.h"
#include "hcsc/conv.h"
#include "hcsc/pursuit.h"
#include "hcsc/mlcsc.h"
#include "hcsc/admm.h"
#include "hcsc/cdl.h"
#include "hcsc/picture.h"
#include "hcsc/filter.h"
#include "hcsc/signal.h"
#include "hcsc/checkpoint.h"
#include "hcsc/plot.h"
#include "hcsc/nn.h"
#include "hcsc/train.h"

#endif
