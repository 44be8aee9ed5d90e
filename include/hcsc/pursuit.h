/* hypercsc — sparse pursuit: distributed ISTA and FISTA for one
 * convolutional layer (scale 1) on any grid (spectral groups included):
 *
 *   min_z  1/2 sum_c w_c ||W_c o (D z - x)_c||^2 + lambda ||z||_1
 *                                                 (optionally z >= 0)
 *
 * with D the synthesis operator of hcsc/conv.h (scene-edge rule included).
 * The step is 1/L, L = 1.05 ||D||^2 estimated by a fixed number of power
 * iterations on D^T D from a start drawn from the counter RNG, so L (and
 * with it every iterate) is the same, to float rounding, on any
 * decomposition.  FISTA restarts its momentum with the gradient test of
 * O'Donoghue & Candes ("Adaptive restart for accelerated gradient
 * schemes", 2015): restart when <y_k - z_{k+1}, z_{k+1} - z_k> > 0.
 * With data-term weights L is multiplied by max_c w_c (a valid bound since
 * 0 <= W <= 1).
 *
 * Spectral groups (G > 1): a rank's scene tile holds its band slice; the
 * codes are shared by the G ranks of a spatial tile (each holds the full
 * M-channel code tile and applies the same update).  Each rank synthesises
 * its own bands; the partial gradients over its channels are summed over
 * the spectral comm (one Allreduce of M nr nc floats per iteration), so the
 * result equals the 1-rank one to float rounding. */
#ifndef HCSC_PURSUIT_H
#define HCSC_PURSUIT_H

#include "hcsc/conv.h"
#include "hcsc/dict.h"
#include "hcsc/grid.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { HCSC_PURSUIT_ISTA = 0, HCSC_PURSUIT_FISTA } hcsc_pursuit_solver;

typedef struct {
  hcsc_pursuit_solver solver;
  double lambda;             /* > 0 */
  int iters;                 /* maximum iterations, >= 0 */
  double tol;                /* stop when ||z_k+1 - z_k|| <= tol ||z_k+1||; 0: never */
  int nonneg;                /* 1: constrain z >= 0 */
  hcsc_conv_backend backend; /* operators' backend */
  int power_iters;           /* power iterations for L; 0: 30 */
  /* Data-term weights: the objective's first term is
   *   1/2 sum_c w_c sum_p (W_c(p) (D z - x)_c(p))^2.
   * mask: NULL (W = 1) or a tile on the same box as x with 1 channel (one
   * mask for every band) or x's channel count (with G > 1: the rank's band
   * slice, nchan = box.nb), values in [0, 1] (0 = missing: inpainting); its
   * halo is ignored.  Where W = 0, x may hold anything, NaN included (how
   * missing data arrive); where W > 0 it must be finite.  A mask on
   * another box, with another channel count or with values outside [0, 1]
   * is HCSC_EINVAL on every rank.  band_weights: NULL (w = 1) or one finite
   * weight >= 0 per channel of the dictionary (d->nchan: the bands of the
   * whole scene in global order), not all zero. */
  const hcsc_tile *mask;
  const double *band_weights;
  /* Called on every rank after each iteration with reduced values (the
   * same everywhere): iteration number (1-based), objective, fraction of
   * nonzero coefficients, relative change ||z_k+1 - z_k|| / ||z_k+1||.  A
   * nonzero return stops the solve after this iteration; it must be the
   * same on every rank.  NULL: none. */
  int (*monitor)(void *ctx, int iter, double objective, double nnz_fraction, double rel_change);
  void *monitor_ctx;
} hcsc_pursuit_opts;

typedef struct {
  int iters;          /* iterations done */
  int restarts;       /* FISTA momentum restarts */
  double lipschitz;   /* L used (1.05 x the power estimate of ||D||^2) */
  double sparsity;    /* fraction of nonzero coefficients of the final z */
  /* Bytes this rank moved per iteration (mean over the iterations, power
   * iterations excluded): halo messages sent (hcsc_halo, both operands)
   * and reduced payload (hcsc_grid_allreduce: the scalars and, with G > 1,
   * the M-channel gradient interior). */
  double halo_bytes;
  double reduce_bytes;
  double *objective;  /* iters + 1 values: objective[0] at the start, then after each iteration */
} hcsc_pursuit_stats;

/* Defaults: FISTA, lambda 0.1, 100 iterations, tol 1e-4, signed, auto
 * backend.  Not collective. */
void hcsc_pursuit_opts_default(hcsc_pursuit_opts *o);

/* Solve on grid g for dictionary d (scale 1).
 * x: this rank's tile (box = the grid's box, any halo; interior read);
 * G = 1: x->nchan = d->nchan (any array on the box, e.g. the codes of a
 * lower layer); G > 1: d->nchan = the scene's bands and x is the rank's
 * band slice (x->nchan = box.nb).
 * z: this rank's code tile, d->natoms channels on the same box, halo
 * >= hcsc_conv_halo: its interior is the warm start and receives the
 * result (halo left stale).  st may be NULL; otherwise st->objective is
 * allocated here (the same values on every rank) and released by
 * hcsc_pursuit_stats_free.  Invalid options, lambda <= 0 (HCSC_EINVAL),
 * non-finite values in x (HCSC_EVALUE) or mismatched shapes fail on every
 * rank.  Collective on the grid's comm. */
int hcsc_pursuit_solve(const hcsc_grid *g, const hcsc_dict *d, const hcsc_tile *x, hcsc_tile *z,
                       const hcsc_pursuit_opts *o, hcsc_pursuit_stats *st);

/* Free st->objective and zero st.  Not collective; accepts NULL. */
void hcsc_pursuit_stats_free(hcsc_pursuit_stats *st);

#ifdef __cplusplus
}
#endif
#endif
