/* hypercsc — unrolled networks: the tile kernels of the elementwise and
 * spectral layers (src/nn/layers.c), used by the executor (graph.c).
 *
 * Every kernel works on the interiors of tiles of one box (any halos: the
 * halos are filled by the executor before a convolution reads them).
 * Backward kernels add into their gradient outputs (+=); a NULL gradient
 * tile is skipped.  Parameter gradients are returned as double sums for the
 * caller to scale and accumulate.  Not collective. */
#ifndef HCSC_NN_LAYERS_H
#define HCSC_NN_LAYERS_H

#include <stdint.h>

#include "hcsc/grid.h"

/* Interior copy / add / scaled add (dst, src same box and channel count). */
void nn_tile_copy(hcsc_tile *dst, const hcsc_tile *src);
void nn_tile_axpy(hcsc_tile *dst, float a, const hcsc_tile *src);
/* Zero the whole buffer, halo included. */
void nn_tile_zero(hcsc_tile *t);

/* out = S_{s th}(in), th_m = max(theta[m], 0); *nnz = nonzero outputs. */
void nn_thresh_fwd(const hcsc_tile *in, hcsc_tile *out, const float *theta, float s, int nonneg,
                   int64_t *nnz);
/* din += dout [out != 0]; dtheta[m] += -s sum dout sign(out) [out != 0]
 * (only where theta[m] > 0). */
void nn_thresh_bwd(const hcsc_tile *out, const hcsc_tile *dout, hcsc_tile *din,
                   const float *theta, float s, double *dtheta);

/* out = sum_i coef[i] in[i]. */
void nn_lincomb_fwd(int n, const hcsc_tile *const *in, const float *coef, hcsc_tile *out);
/* din[i] += coef[i] dout (din[i] may be NULL); dot[i] = <dout, in[i]>
 * when want_dot[i]. */
void nn_lincomb_bwd(int n, const hcsc_tile *const *in, const float *coef, const hcsc_tile *dout,
                    hcsc_tile *const *din, const int *want_dot, double *dot);

/* out_b = w[b] in_b. */
void nn_scale_fwd(const hcsc_tile *in, const float *w, hcsc_tile *out);
/* din_b += w[b] dout_b; dot[b] = <dout_b, in_b>. */
void nn_scale_bwd(const hcsc_tile *in, const float *w, const hcsc_tile *dout, hcsc_tile *din,
                  double *dot);

/* Data masks W (hcsc_nn_exec_set_mask: 1 channel serving every channel,
 * or the tile's channel count; same box).  mul: t *= W; zero: t = 0 where
 * W = 0 (NaN input under a zero weight must not reach 0 * NaN); nan: t =
 * NaN where W = 0 (kept out of statistics). */
void nn_mask_mul(hcsc_tile *t, const hcsc_tile *mask);
void nn_mask_zero(hcsc_tile *t, const hcsc_tile *mask);
void nn_mask_nan(hcsc_tile *t, const hcsc_tile *mask);
/* Backward of out_b = w[b] W_b in_b: din_b += w[b] W_b dout_b;
 * dot[b] = <dout_b, W_b in_b>. */
void nn_scale_mask_bwd(const hcsc_tile *in, const float *w, const hcsc_tile *mask,
                       const hcsc_tile *dout, hcsc_tile *din, double *dot);

/* out = W in per pixel, W [out_ch, in_ch] row-major (sgemm). */
void nn_spectral_fwd(const hcsc_tile *in, const float *W, hcsc_tile *out);
/* din += W^T dout (din may be NULL); dW += dout in^T. */
void nn_spectral_bwd(const hcsc_tile *in, const float *W, const hcsc_tile *dout, hcsc_tile *din,
                     float *dW);

/* out = in on global rows and columns divisible by s, else 0 (self-adjoint:
 * the backward is din += lattice(dout), add = 1). */
void nn_lattice_apply(const hcsc_tile *in, int s, hcsc_tile *out, int add);

#endif
