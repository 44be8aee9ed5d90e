/* hypercsc — private: the ADMM loop shared by the serial plan and the
 * distributed driver (src/csc/admm.c, src/csc/admm_solve.c). */
#ifndef HCSC_ADMM_IMPL_H
#define HCSC_ADMM_IMPL_H

#include <mpi.h>

#include "hcsc/admm.h"

/* hcsc_admm_plan_run with the per-iteration residuals reduced (MAX) over
 * comm so that ranks iterate in lockstep; comm = MPI_COMM_NULL: serial.
 * Collective on comm when it is not MPI_COMM_NULL (every rank must call it
 * with a plan, after agreeing that all plans were made). */
int hcsc_admm_plan_iterate(hcsc_admm_plan *p, const float *x, const float *mask, int nmask,
                           float *z, MPI_Comm comm, hcsc_admm_stats *st);

#endif
