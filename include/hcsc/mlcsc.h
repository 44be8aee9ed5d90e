/* hypercsc — multi-layer and multi-scale convolutional sparse coding on a
 * spatial grid (G = 1), distributed like hcsc/pursuit.h: every layer's
 * operator runs on this rank's tile with its halo, so the result is the
 * same on any decomposition up to float rounding.
 *
 * Multi-layer (Papyan, Romano, Elad 2017; Sulam, Aberdam, Beck, Elad 2019,
 * "On multi-layer basis pursuit, efficient algorithms and convolutional
 * neural networks"): x = D_1 z_1, z_1 = D_2 z_2, z_2 = D_3 z_3, with layer
 * l + 1 having nchan = natoms of layer l.  Array index l = 0 is D_1.  The
 * ML-LASSO objective of a deepest code z_L is
 *
 *   F(z_L) = 1/2 ||x - D_1 .. D_L z_L||^2 + sum_l lambda_l ||z_l||_1,
 *   z_l = D_{l+1} .. D_L z_L.
 *
 * Methods:
 *   LT      layered thresholding: z_1 = S_{lambda_1}(D_1^T x),
 *           z_l = S_{lambda_l}(D_l^T z_{l-1}).
 *   LBP     layered basis pursuit: z_1 = BPDN(x; D_1, lambda_1), z_l =
 *           BPDN(z_{l-1}; D_l, lambda_l), each by hcsc_pursuit_solve (FISTA,
 *           iters, tol, nonneg, backend of these options; z_L warm-started).
 *   ML_ISTA Sulam et al.'s ML-ISTA generalised to L layers.  With the
 *           "backward" chain g_l = D_{l+1} .. D_L y (g_L = y, g_0 = D_1 g_1),
 *           gamma_0 = x and mu_0 = 1, one iteration is
 *             gamma_l = S_{mu_l lambda_l}(g_l - (mu_l / mu_{l-1})
 *                                          D_l^T (g_{l-1} - gamma_{l-1}))
 *           for l = 1..L, and z_L <- gamma_L.  mu_l = 1 / L_l, L_l = 1.05
 *           ||D_1 .. D_l||^2 by power iterations on the effective operator
 *           of the first l layers (so with all inner lambdas 0 this is ISTA
 *           on D_1 .. D_L with step 1 / L_L).  y = z_L.
 *   ML_FISTA the same with FISTA momentum on the deepest code (y =
 *           extrapolated z_L) and the gradient restart test of pursuit.h.
 * ML-ISTA solves an approximation of ML-LASSO (the inner proximal steps are
 * not the exact proximal operator of the composite penalty): F usually
 * decreases but is not guaranteed to be monotone.
 *
 * Multi-scale (DESIGN.md section 1): sets s of atoms at scales 1, 2, 4
 * (hcsc_dict.scale), all over the scene's C channels, x = sum_s U_s(D_s z_s)
 * with z_s on a lattice s times coarser.  z_s is stored on the
 * full-resolution tile with nonzeros only at lattice points (global row % s
 * == 0 and global col % s == 0): synthesis is the convolution of hcsc/conv.h
 * applied to the lattice-supported code (= a stride-s transposed
 * convolution), analysis is D_s^T r masked to the lattice; they are exact
 * adjoints.  Cost: the operators run on the full grid, so a set at scale s
 * costs s^2 times what a strided implementation would (4x at s = 2, 16x at
 * s = 4); no strided kernel yet.  ISTA/FISTA runs over the concatenated
 * codes of all sets with one step 1 / L, L = 1.05 ||A||^2 of the whole
 * multi-scale operator A by power iterations. */
#ifndef HCSC_MLCSC_H
#define HCSC_MLCSC_H

#include "hcsc/conv.h"
#include "hcsc/dict.h"
#include "hcsc/grid.h"
#include "hcsc/pursuit.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HCSC_ML_MAX_LAYERS 3

typedef enum { HCSC_ML_LT = 0, HCSC_ML_LBP, HCSC_ML_ISTA, HCSC_ML_FISTA } hcsc_ml_method;

typedef struct {
  hcsc_ml_method method;
  double lambdas[HCSC_ML_MAX_LAYERS]; /* > 0 for each used layer (LT: thresholds) */
  int iters;                 /* ML-ISTA/FISTA iterations; LBP: per layer; >= 0 */
  double tol;                /* stop when ||z_L,k+1 - z_L,k|| <= tol ||z_L,k+1||; 0: never */
  int nonneg;                /* 1: every layer's codes >= 0 */
  hcsc_conv_backend backend;
  int power_iters;           /* power iterations per step estimate; 0: 30 */
  /* As in pursuit.h, called on every rank after each ML-ISTA/FISTA
   * iteration with reduced values (objective F, nonzero fraction of z_L,
   * relative change of z_L); LBP passes it to each layer's pursuit (its
   * objective is that layer's BPDN); LT does not call it.  Nonzero return:
   * stop (the same on every rank).  NULL: none. */
  int (*monitor)(void *ctx, int iter, double objective, double nnz_fraction, double rel_change);
  void *monitor_ctx;
} hcsc_ml_opts;

typedef struct {
  int iters;       /* ML-ISTA/FISTA iterations done (LT, LBP: 0) */
  int restarts;    /* ML-FISTA momentum restarts */
  int layer_iters[HCSC_ML_MAX_LAYERS];          /* LBP: pursuit iterations per layer */
  double lipschitz[HCSC_ML_MAX_LAYERS];         /* ML-ISTA/FISTA: L_l of D_1 .. D_l */
  double sparsity[HCSC_ML_MAX_LAYERS];          /* nonzero fraction of each returned code */
  double *objective; /* iters + 1 values of F: [0] at the start (LT, LBP: F of the result) */
} hcsc_ml_stats;

/* Defaults: ML-FISTA, lambdas 0.1, 100 iterations, tol 1e-4, signed, auto
 * backend.  Not collective. */
void hcsc_ml_opts_default(hcsc_ml_opts *o);

/* Multi-layer pursuit on grid g (G = 1) for nlayers (1..3) dictionaries
 * (scale 1, layers[0].nchan = x->nchan, layers[l+1].nchan =
 * layers[l].natoms).  x: this rank's tile (box = the grid's box, any halo,
 * interior read).  codes: nlayers tiles on the same box, codes[l] with
 * layers[l].natoms channels, any halo; codes[nlayers-1] (the deepest) is
 * the warm start of LBP, ML-ISTA and ML-FISTA and receives the result; the
 * others receive z_l (LT, LBP: the layered estimates; ML-ISTA/FISTA:
 * D_{l+1} .. D_L z_L).  Interiors only.  st may be NULL; st->objective is
 * allocated here, released by hcsc_ml_stats_free.  Invalid options or
 * shapes (HCSC_EINVAL), non-finite x (HCSC_EVALUE) fail on every rank.
 * Collective on the grid's comm. */
int hcsc_ml_solve(const hcsc_grid *g, const hcsc_dict *layers, int nlayers, const hcsc_tile *x,
                  hcsc_tile *codes, const hcsc_ml_opts *o, hcsc_ml_stats *st);
void hcsc_ml_stats_free(hcsc_ml_stats *st);

/* Multi-scale operator A z = sum_s D_s P_s z_s and its adjoint (A^T r)_s =
 * P_s D_s^T r, P_s the lattice mask of set s, planned for this rank's
 * tile.  nsets sets with scale 1, 2 or 4, the same nchan.  The plan keeps
 * sets by reference.  Collective on the grid's comm (create, apply). */
typedef struct hcsc_ms_op hcsc_ms_op;
int hcsc_ms_op_create(const hcsc_grid *g, const hcsc_dict *sets, int nsets,
                      hcsc_conv_backend backend, hcsc_ms_op **out);
void hcsc_ms_op_destroy(hcsc_ms_op **op);
/* x (C channels, interior written) = A z; z: nsets tiles of M_s channels
 * on the box, any halo (interior read; off-lattice values are ignored). */
int hcsc_ms_op_synth(hcsc_ms_op *op, const hcsc_tile *z, hcsc_tile *x);
/* g (nsets tiles, interiors written, zero off their lattices) = A^T r;
 * r: C channels on the box, any halo (interior read). */
int hcsc_ms_op_analysis(hcsc_ms_op *op, const hcsc_tile *r, hcsc_tile *g);

/* Multi-scale ISTA/FISTA:  min 1/2 ||A z - x||^2 + lambda sum_s ||z_s||_1.
 * codes: nsets tiles, codes[s] with sets[s].natoms channels on the grid's
 * box, any halo: warm start (projected on the lattice) and result.
 * Options as hcsc_pursuit_solve (mask and band weights refused); stats as
 * pursuit.h (sparsity over all lattice points of all sets).  Collective on
 * the grid's comm. */
int hcsc_ms_solve(const hcsc_grid *g, const hcsc_dict *sets, int nsets, const hcsc_tile *x,
                  hcsc_tile *codes, const hcsc_pursuit_opts *o, hcsc_pursuit_stats *st);

#ifdef __cplusplus
}
#endif
#endif
