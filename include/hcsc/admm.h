/* hypercsc — ADMM for convolutional basis pursuit denoising (CBPDN):
 *
 *   min_z  1/2 || W o (sum_m d_m * z_m - x) ||^2 + lambda sum_m ||z_m||_1   (optionally z >= 0)
 *
 * as in Wohlberg, "Efficient algorithms for convolutional sparse
 * representations" (IEEE TIP 2016) and SPORCO's ConvBPDN: split z = X = Y,
 * scaled dual U; the X-step (D^H D + rho I) X = D^H S + rho (Y - U) is
 * solved per frequency in the DFT domain (Sherman-Morrison for one channel,
 * Woodbury with a C x C Hermitian system for C channels); the Y-step is a
 * soft threshold of the over-relaxed alpha X + (1 - alpha) Y + U.  rho
 * adapts by residual balancing (mu = 10, tau = 2) and the solve stops on
 * the normalised primal and dual residuals (Boyd et al. 2011, §3.3).
 *
 * With a mask W the problem is solved by mask decoupling (Heide et al.
 * 2015; Wohlberg, "Boundary handling for convolutional sparse
 * representations", 2016; SPORCO's ConvBPDNMaskDcpl): an extra split
 * Y0 = D X - S whose prox is the weighted least-squares step
 * Y0 = rho v / (W^2 + rho); the X-system then has rho = 1 and is factored
 * once.
 *
 * The DFT makes the operator circular on the region it is applied to.  The
 * atoms are placed exactly as in conv.h (tap (i, j) acts at offset
 * (i - a, j - a), a = (k - 1) / 2), so on the interior of a region (at least
 * k - 1 from its edges) the circular D equals hcsc_conv_synth.
 *
 * Two levels:
 *   - a serial plan for one rows x cols region (circular, any sizes; FFTW
 *     plans and atom spectra made once, then run many times with warm
 *     starts, as dictionary learning does);
 *   - the distributed driver hcsc_admm_solve: each rank solves on its tile
 *     plus `overlap` pixels each side (neighbours' pixels, mirrored at the
 *     scene edge, filled by hcsc_halo_exchange) grown to an FFT-friendly
 *     size, keeps its interior and discards the rest.  On 1 rank the whole
 *     scene is padded the same way, so decompositions differ only by the
 *     circular wrap at interior tile boundaries, which decays as the overlap
 *     grows (measured in tests/t_admm.c).  The ranks iterate in lockstep:
 *     rho and the stopping test use the max over ranks of the normalised
 *     residuals (one Allreduce of two doubles per iteration). */
#ifndef HCSC_ADMM_H
#define HCSC_ADMM_H

#include "hcsc/dict.h"
#include "hcsc/grid.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  double lambda;   /* > 0 */
  int iters;       /* maximum iterations, >= 0 */
  double rel_tol;  /* stop when primal and dual normalised residuals <= rel_tol; 0: never */
  double rho;      /* initial penalty; 0: 50 lambda + 1 (masked: 1, as SPORCO) */
  double alpha;    /* over-relaxation in (0, 2); default 1.8 */
  int auto_rho;    /* residual balancing: rho *= tau when r > mu s, /= tau when s > mu r */
  double rho_mu;   /* default 10 */
  double rho_tau;  /* default 2 */
  int rho_period;  /* balance every rho_period iterations; default 1 */
  int overlap;     /* distributed driver: pixels solved beyond the tile on each side */
  int nonneg;      /* 1: constrain z >= 0 */
  /* Mask W: NULL (W = 1) or a tile on x's box with 1 channel (every band)
   * or x's channel count, values in [0, 1] (0 = missing); halo ignored. */
  const hcsc_tile *mask;
  /* Called after each iteration on every rank with the reduced values (the
   * same everywhere): iteration (1-based), normalised primal and dual
   * residuals, rho of the next iteration.  Nonzero stops the solve after
   * this iteration; it must be the same on every rank.  NULL: none. */
  int (*monitor)(void *ctx, int iter, double primal, double dual, double rho);
  void *monitor_ctx;
} hcsc_admm_opts;

typedef struct {
  int iters;         /* iterations done */
  int rho_changes;   /* residual-balancing updates of rho */
  double rho;        /* final rho */
  double primal;     /* final normalised primal residual ||AX - Y - c|| / max(||AX||, ||Y||, ||c||) */
  double dual;       /* final normalised dual residual rho ||A^T dY|| / (rho ||A^T U||) */
  double objective;  /* driver: objective of the kept codes under hcsc_conv (scene-edge rule);
                        plan: the circular objective on the region */
  double sparsity;   /* fraction of nonzero codes */
} hcsc_admm_stats;

/* Defaults: lambda 0.1, 500 iterations, rel_tol 1e-3, rho 0 (auto), alpha
 * 1.8, auto_rho on (mu 10, tau 2, every iteration), overlap 0, signed, no
 * mask.  Not collective. */
void hcsc_admm_opts_default(hcsc_admm_opts *o);

/* FFTW-friendly size >= n: the smallest 2^a 3^b 5^c 7^d.  Not collective. */
int hcsc_admm_good_size(int n);

typedef struct hcsc_admm_plan hcsc_admm_plan;

/* Plan ADMM for dictionary d (scale 1; kept by reference: the caller keeps
 * it alive, and calls hcsc_admm_plan_update after changing its atoms) on a
 * circular region of rows x cols pixels; o is copied (its mask field is
 * ignored: the plan takes masks at run).  FFTW plans (FFTW_ESTIMATE, or
 * FFTW_MEASURE when HCSC_FFTW_MEASURE=1), atom spectra and buffers are made
 * here.  Not collective.  The caller owns *out (hcsc_admm_plan_destroy). */
int hcsc_admm_plan_create(const hcsc_dict *d, int rows, int cols, const hcsc_admm_opts *o,
                          hcsc_admm_plan **out);
/* Not collective; accepts NULL, sets *p to NULL. */
void hcsc_admm_plan_destroy(hcsc_admm_plan **p);
/* Re-read the atoms (spectra, per-frequency factors).  Not collective. */
int hcsc_admm_plan_update(hcsc_admm_plan *p);
/* Change lambda for later runs (> 0).  Not collective. */
int hcsc_admm_plan_set_lambda(hcsc_admm_plan *p, double lambda);

/* Solve on one region.  x: C x rows x cols (packed, row-major), read.
 * mask: NULL or nmask (1 or C) x rows x cols weights in [0, 1].  z: M x rows
 * x cols, the warm start on entry (the dual starts at 0) and the sparse
 * codes (ADMM's Y) on return.  st may be NULL.  Not collective. */
int hcsc_admm_plan_run(hcsc_admm_plan *p, const float *x, const float *mask, int nmask, float *z,
                       hcsc_admm_stats *st);

/* out (C x rows x cols) = D z (z: M x rows x cols), the circular synthesis
 * the plan solves with (for reconstructions and tests).  Not collective. */
int hcsc_admm_plan_synth(hcsc_admm_plan *p, const float *z, float *out);

/* Distributed solve on grid g (G = 1, else HCSC_ENOTSUP) for dictionary d
 * (scale 1, d->nchan = x->nchan).  x: this rank's tile (box = the grid's
 * box, any halo; interior read).  z: d->natoms channels on the same box,
 * any halo: its interior is the warm start and receives the result.  st may
 * be NULL.  lambda <= 0, bad options (HCSC_EINVAL), non-finite values in x
 * or the mask (HCSC_EVALUE), a mask or dictionary of another shape
 * (HCSC_EINVAL) fail with the same code on every rank.  Collective on the
 * grid's comm. */
int hcsc_admm_solve(const hcsc_grid *g, const hcsc_dict *d, const hcsc_tile *x, hcsc_tile *z,
                    const hcsc_admm_opts *o, hcsc_admm_stats *st);

#ifdef __cplusplus
}
#endif
#endif
