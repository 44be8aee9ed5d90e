/* hypercsc — internals shared by the FISTA-type solvers (pursuit.c,
 * mlpursuit.c, mspursuit.c); not installed. */
#ifndef HCSC_PURSUIT_IMPL_H
#define HCSC_PURSUIT_IMPL_H

#include <stdint.h>

#include "hcsc/grid.h"

/* FISTA's momentum weight with the gradient-test restart of O'Donoghue &
 * Candes: restart (decided on a reduced value, so every rank takes the same
 * branch) resets t to 1, counts it and gives 0; otherwise t_{k+1} =
 * (1 + sqrt(1 + 4 t_k^2)) / 2 and beta = (t_k - 1) / t_{k+1}.  Not
 * collective. */
double hcsc_fista_beta(int restart, double *t, int *restarts);

/* FISTA's extrapolation on a packed array of the tile interior:
 * y = v + beta (v - prev), then prev = v, for nchan channels of v.  Used for
 * the codes and, by linearity, for their synthesis D z.  Not collective. */
void hcsc_fista_momentum(const hcsc_tile *v, int64_t nchan, float beta, float *y, float *prev);

#endif
