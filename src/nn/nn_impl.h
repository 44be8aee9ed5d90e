/* hypercsc — unrolled networks: the private graph of layers (the contract
 * between the executor and layers, src/nn/graph.c + layers.c, and the
 * architecture builders, src/nn/arch.c).
 *
 * A graph is a list of ops in execution order over numbered tensors.  A
 * tensor is a tile of nchan channels on the exec's box; tensor 0 is the
 * input x (B channels).  The output is the tensor named by nn_graph_output.
 * Tensors are written once (SSA), so the backward pass can run the ops in
 * reverse, each op's backward adding into the gradients of its inputs and
 * of its parameters.  The executor fills halos before every convolution
 * (hcsc_halo_exchange; analysis operands also zeroed outside the scene) and
 * frees forward buffers early when the exec is not for training.
 *
 * Layers (forward / backward / what the backward reads):
 *   SYNTH      out = W z            (W = param [M, C, k, k] as a dictionary,
 *                                    z: M channels, out: C channels)
 *              dz += W^T dout;  dW += wgrad(z~, dout)     reads z (kept)
 *   ANALYSIS   out = W^T r          (r: C channels, out: M channels)
 *              dr += W dout;    dW += wgrad(dout~, r)     reads r (kept)
 *              (wgrad(a~, b)[m,c,i,j] = sum_p b_c(p) a~_m(p + (i-a, j-a)),
 *               a~ the halo-extended map: the derivative of synthesis)
 *   THRESH     out = S_{s th}(in), th = max(theta[row, :], 0) per channel
 *              din += dout [out != 0];  dtheta_m -= s sum dout sign(out) [out != 0]
 *              (zero gradient where theta < 0)             reads out (kept)
 *   LINCOMB    out = sum_i coef_i in_i, coef_i = c_i (param_i < 0) or
 *              c_i * params[param_i offset + poff_i] (a learned scalar:
 *              steps, rho, momentum)
 *              din_i += coef_i dout;  dparam_i += c_i <dout, in_i>
 *                                                          reads in_i (kept)
 *   BANDWEIGHT out_b = band_w_b wt_b W_b in_b (wt from the noise estimate,
 *              W the exec's data mask, 1 without one)
 *              din_b += band_w_b wt_b W_b dout_b;  dband_w_b += wt_b <dout_b, W_b in_b>
 *   SPECTRAL   out = W in per pixel (W = param [out_ch, in_ch], sgemm)
 *              din += W^T dout;  dW += dout in^T          reads in (kept)
 *   LATTICE    out = in on global rows and columns divisible by s, else 0
 *              din += Lam_s dout (self-adjoint)
 * All gradient buffers accumulate (+=), so a tensor read by several ops
 * gets the sum of their contributions. */
#ifndef HCSC_NN_IMPL_H
#define HCSC_NN_IMPL_H

#include "hcsc/nn.h"

typedef enum {
  NN_OP_SYNTH = 0,
  NN_OP_ANALYSIS,
  NN_OP_THRESH,
  NN_OP_LINCOMB,
  NN_OP_BANDWEIGHT,
  NN_OP_SPECTRAL,
  NN_OP_LATTICE
} nn_op_kind;

#define NN_MAX_TERMS 4

typedef struct {
  int tensor;   /* input tensor id */
  int param;    /* table index of a learned scalar, or -1 */
  int64_t poff; /* element within that parameter */
  float c;      /* constant factor */
} nn_term;

typedef struct {
  nn_op_kind kind;
  int in;        /* input tensor (all but LINCOMB) */
  int out;       /* output tensor */
  int param;     /* table index: SYNTH/ANALYSIS weights, THRESH theta, BANDWEIGHT band_w,
                    SPECTRAL matrix; -1 for LINCOMB and LATTICE */
  int64_t row;   /* THRESH: row of theta ([T, M] or [T, nsets, M_max] flattened; the
                    op uses nchan entries from row * nchan_stride) */
  int64_t stride;/* THRESH: elements per row (M or M_max) */
  int scale;     /* LATTICE: s */
  int nterms;    /* LINCOMB */
  nn_term terms[NN_MAX_TERMS];
} nn_op;

typedef struct {
  int64_t nchan;
} nn_tensor_desc;

typedef struct hcsc_nn_graph {
  int nops, cap_ops;
  nn_op *ops;
  int ntensors, cap_tensors;
  nn_tensor_desc *tensors;
  int output;
} nn_graph;

/* ---- building (arch.c calls these; graph.c implements them) ----------
 * Each returns the new output tensor id (>= 0) or a negative HCSC_E*
 * code.  Not collective. */
int nn_graph_new(nn_graph **g, int64_t input_channels); /* tensor 0 = input */
void nn_graph_free(nn_graph **g);
int nn_synth(hcsc_nn *net, int param, int in);
int nn_analysis(hcsc_nn *net, int param, int in);
int nn_thresh(hcsc_nn *net, int param, int64_t row, int64_t stride, int in);
int nn_lincomb(hcsc_nn *net, int nterms, const nn_term *terms);
int nn_bandweight(hcsc_nn *net, int param, int in);
int nn_spectral(hcsc_nn *net, int param, int in);
int nn_lattice(hcsc_nn *net, int scale, int in);
void nn_graph_output(hcsc_nn *net, int tensor);

/* Register a parameter (before hcsc_nn_create allocates): returns its
 * table index.  Not collective. */
int nn_param_add(hcsc_nn *net, const char *name, int ndim, const int64_t *shape);

/* Allowed additions (nncore): hcsc_nn_create is nn_create_empty +
 * nn_arch_build + nn_alloc_params; tests build graphs by hand the same way.
 * nn_create_empty: a network with cfg copied, no parameters, and an empty
 * graph whose input has cfg->bands channels (cfg is not checked here).
 * nn_alloc_params: allocate params and grads (zeroed) for the registered
 * table; nn_param_add is refused afterwards.  Not collective. */
int nn_create_empty(const hcsc_nn_config *cfg, hcsc_nn **out);
int nn_alloc_params(hcsc_nn *net);

/* ---- architectures (arch.c) ------------------------------------------ */
/* Register the parameters and build the graph of net->cfg (checked). */
int nn_arch_build(hcsc_nn *net);
/* hcsc_nn_init's work (see nn.h). */
int nn_arch_init(hcsc_nn *net, uint64_t seed, const hcsc_dict *layers, int nlayers,
                 const double *basis);

/* ---- kernels (wgrad.c) ------------------------------------------------ */
/* dW[m, c, i, j] += sum over the interior p of b_c(p) a~_m(p + (i-a, j-a)):
 * a has M channels and a filled halo >= k - 1 - a (extended by the
 * scene-edge rule), b has C channels (interior read); dW is the gradient of
 * a dictionary [M, C, k, k].  im2col of row blocks and sgemm.  Not
 * collective. */
int nn_wgrad(const hcsc_tile *a, const hcsc_tile *b, int ksize, float *dW);

#endif
