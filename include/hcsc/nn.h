/* hypercsc — unrolled convolutional sparse-coding networks (DESIGN.md §1).
 *
 * A network is T iterations of a sparse-coding solver turned into layers
 * with learned parameters.  Six architectures are built from one set of
 * layers (src/nn/nn_impl.h): convolution (synthesis W z) and its adjoint
 * (analysis W^T r) on tiles with halos, soft / non-negative thresholding
 * with a learned threshold per atom, spectral projection (1 x 1, r x B),
 * per-band weighting, lattice masks (strided / transposed convolution for
 * scales) and linear combinations (momentum, dual-variable updates, steps).
 * Every layer has a hand-written forward and backward.
 *
 * Notation: x is the input (B bands), Om = diag(omega) the band weights,
 * S(v) = sign(v) max(|v| - s th_m, 0) (non-negative: max(v - s th_m, 0)),
 * with th_m = max(theta_m, 0) the learned threshold of atom m and s the
 * noise level (below).  Synthesis and analysis are hcsc/conv.h's, scene-edge
 * rule included.  The architectures (T = iters):
 *
 *  lista   params A, Bm, Cm [M, B, k, k], theta [T, M], band_w [B]
 *          z_1 = S_1(A^T Om x)
 *          z_t = S_t(z_{t-1} + A^T Om (x - Bm z_{t-1}))          t = 2..T
 *          y   = Cm z_T
 *  fista   params D [M, B, k, k], eta [T], theta [T, M], band_w [B]
 *          z_1 = S_1(eta_1 D^T Om x),  z_0 = 0
 *          v_t = z_t + beta_t (z_t - z_{t-1})    beta_t fixed: the FISTA
 *                sequence tau_1 = 1, tau_{t+1} = (1 + sqrt(1 + 4 tau_t^2)) / 2,
 *                beta_t = (tau_t - 1) / tau_{t+1}
 *          z_{t+1} = S_{t+1}(v_t + eta_{t+1} D^T Om (x - D v_t))  t = 1..T-1
 *          y   = D z_T
 *  ladmm   params D [M, B, k, k], eta [T], rho [T], theta [T, M], band_w [B]
 *          (linearised ADMM for min 1/2 ||Om^1/2 (x - D z)||^2 + lambda ||q||_1
 *           s.t. z = q; z_0 = q_0 = u_0 = 0)
 *          z_t = z_{t-1} + eta_t (D^T Om (x - D z_{t-1}) - rho_t (z_{t-1} - q_{t-1} + u_{t-1}))
 *          q_t = S_t(z_t + u_{t-1})
 *          u_t = u_{t-1} + z_t - q_t
 *          y   = D q_T
 *  mlista  params D1 [M1, B, k1, k1], D2 [M2, M1, k2, k2], (D3 [M3, M2, k3, k3]),
 *          theta1 [M1], theta2 [M2], (theta3 [M3]), eta [L], band_w [B]:
 *          ML-ISTA (Sulam et al. 2019), weights shared across iterations.
 *          With g the deepest code (g_0 = 0), D(i..L) = D_i ... D_L and
 *          D(L+1..L) = identity (so D(l+1..L) g is the layer-l code g makes):
 *            h_1 = S^1(D(2..L) g - eta_1 D1^T Om (D(1..L) g - x))
 *            h_l = S^l(D(l+1..L) g - eta_l Dl^T (D(l..L) g - h_{l-1}))   l = 2..L
 *          (from g_0 = 0 the first iteration is h_1 = S^1(eta_1 D1^T Om x),
 *           h_l = S^l(eta_l Dl^T h_{l-1}); thresholds theta_l, rows of one)
 *            g  <- h_L         (momentum = 1: ML-FISTA, extrapolating g with
 *                               the fixed beta_t above)
 *          y = D(1..L) g_T
 *  multiscale params D_s [M_s, B, k_s, k_s] per set s (scales 1, 2, 4),
 *          eta [T], theta [T, nsets, M_max], band_w [B].  Codes z_s are
 *          full-resolution maps kept on the lattice of global rows and
 *          columns divisible by the scale (Lam_s); D_s acting on them is a
 *          stride-s transposed convolution (exact, at s^2 the work: no
 *          strided kernel, as in mlcsc.h):
 *          z_s,1 = Lam_s S_1(eta_1 D_s^T Om x)
 *          z_s,t = Lam_s S_t(z_s,t-1 + eta_t D_s^T Om (x - sum_s' D_s' z_s',t-1))
 *          y = sum_s D_s z_s,T
 *  ssc     params P [r, B], Q [B, r], A, Bm, Cm [M, r, k, k], theta [T, M],
 *          band_w [B]: spectral-spatial LISTA, the spatial atoms acting
 *          through a spectral basis (a product dictionary, Garcia-Cardona &
 *          Wohlberg 2018; in the spirit of T3SC, Bodrito et al. 2021):
 *          z_1 = S_1(A^T P Om x)
 *          z_t = S_t(z_{t-1} + A^T P Om (x - Q Bm z_{t-1}))       t = 2..T
 *          y   = Q Cm z_T
 *          P = U^T and Q = U at init, U the leading r PCA components.
 *          Low-rank spatial atoms: not implemented.
 *
 * Noise adaptivity (adapt = 1).  sigma_b is estimated per band from the
 * input (hcsc/stats.h: 1.4826 MAD of horizontal differences, the estimate
 * `hypercsc info` prints), floored at 1e-3 max_b sigma_b (and at 1e-30):
 *   rho_b   = 1 / sigma_b^2,   wt_b = rho_b / max_b rho_b   (in (0, 1])
 *   omega_b = band_w_b * wt_b
 *   s       = sqrt(sum_b wt_b^2 sigma_b^2 / sum_b wt_b^2)
 * so the data term is weighted by the inverse noise variance (the step of
 * the iid case is never exceeded) and the thresholds follow the noise level
 * of the weighted data.  With adapt = 0: wt_b = 1 and s = 1.  Because every
 * layer is linear or a threshold proportional to s, a network with adapt = 1
 * is positively homogeneous: f(a x) = a f(x) for a > 0, so it needs no data
 * normalisation.  The estimates are constants for backpropagation.
 *
 * Low-pass split (lowpass = S > 0 pixels).  The model is
 *   y = G_S x + f(x - G_S x)
 * with f the architecture above and G_S the Gaussian low-pass of
 * hcsc/filter.h (scene-edge rule; with a data mask W the normalised
 * convolution G_S(W x) / G_S(W), hcsc_gauss_split), as the classical
 * solvers' --lowpass: soft thresholds shrink the codes that build a
 * scene's local mean, so without the split the output's band means fall
 * short on large scenes (measured: 0.86 of the clean mean over a
 * 100 x 100 scene against 0.97 on 20 x 20 crops, a network trained on
 * 32 x 32 patches).  f sees x - G_S x, its noise estimate included; G_S x
 * has no parameters.  Positive homogeneity still holds.  hcsc_nn_apply
 * computes y; hcsc_nn_forward computes f only.
 *
 * Parameters of a network live in one flat float array (params), described
 * by a table of named tensors; gradients (grads) have the same layout.  One
 * Allreduce of grads, one optimizer loop, one NetCDF variable per entry. */
#ifndef HCSC_NN_H
#define HCSC_NN_H

#include <mpi.h>
#include <stdint.h>

#include "hcsc/conv.h"
#include "hcsc/dict.h"
#include "hcsc/grid.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  HCSC_NN_LISTA = 0,
  HCSC_NN_FISTA,
  HCSC_NN_LADMM,
  HCSC_NN_MLISTA,
  HCSC_NN_MULTISCALE,
  HCSC_NN_SSC,
  HCSC_NN_NARCH
} hcsc_nn_arch;

/* "lista", "fista", "ladmm", "mlista", "multiscale", "ssc".  Parse is
 * case-insensitive; an unknown name is HCSC_EINVAL naming it.
 * Not collective. */
const char *hcsc_nn_arch_name(hcsc_nn_arch a);
int hcsc_nn_arch_parse(const char *name, hcsc_nn_arch *a);

#define HCSC_NN_MAX_LAYERS 3

/* Hyperparameters: everything that fixes the parameter layout and the
 * graph.  Stored in model files. */
typedef struct {
  hcsc_nn_arch arch;
  int bands;  /* B: input and output bands */
  int iters;  /* T: unrolled iterations, >= 1 */
  int rank;   /* r: spectral channels (ssc), else 0 */
  int nlayers;                      /* mlista: 2 or 3 layers; multiscale: sets (1-3); else 1 */
  int natoms[HCSC_NN_MAX_LAYERS];   /* M per layer / set ([0] for one-layer archs) */
  int ksize[HCSC_NN_MAX_LAYERS];    /* k per layer / set, odd */
  int scales[HCSC_NN_MAX_LAYERS];   /* multiscale: 1, 2, 4 (increasing); else 1 */
  int momentum;                     /* mlista: 1 = ML-FISTA */
  int nonneg;                       /* 1: non-negative thresholds */
  int adapt;                        /* 1: noise adaptivity (default) */
  double lowpass;                   /* S > 0: low-pass split (below); 0: none (default) */
} hcsc_nn_config;

/* Defaults for an architecture on B bands (the reference sizes: lista
 * M = 64, k = 7, T = 12; ssc r = 16, M = 64, k = 5, T = 8; fista/ladmm
 * M = 64, k = 7, T = 12; mlista 2 layers M = 32, 64 with k = 5, 5, T = 8;
 * multiscale scales 1, 2, 4 with M = 32 each and k = 5, 9, 17, T = 8;
 * adapt = 1).  Check: HCSC_EINVAL with one line naming the bad value.
 * Not collective. */
void hcsc_nn_config_default(hcsc_nn_arch a, int bands, hcsc_nn_config *cfg);
int hcsc_nn_config_check(const hcsc_nn_config *cfg);

typedef struct {
  char name[32];     /* NetCDF-safe: "A", "theta", "band_w", "D2", ... */
  int ndim;          /* 1 to 4 */
  int64_t shape[4];
  int64_t offset;    /* first element in params / grads */
  int64_t count;     /* product of shape */
} hcsc_nn_param;

struct hcsc_nn_graph; /* private: src/nn/nn_impl.h */

/* A network.  Fields are public for the trainer and the model I/O; only
 * hcsc_nn_* functions change the layout. */
typedef struct hcsc_nn {
  hcsc_nn_config cfg;
  int nparams;
  hcsc_nn_param *table; /* [nparams] */
  int64_t size;         /* total parameter count */
  float *params;        /* [size] */
  float *grads;         /* [size], accumulated by hcsc_nn_backward */
  uint64_t version;     /* bump (hcsc_nn_touch) after changing params */
  struct hcsc_nn_graph *graph;
} hcsc_nn;

/* Build the parameter table and graph of cfg (checked), params and grads
 * zeroed.  Not collective.  Free with hcsc_nn_destroy (accepts NULL). */
int hcsc_nn_create(const hcsc_nn_config *cfg, hcsc_nn **out);
void hcsc_nn_destroy(hcsc_nn **net);
/* Entry by name or NULL.  Not collective. */
const hcsc_nn_param *hcsc_nn_find(const hcsc_nn *net, const char *name);
/* Mark params as changed (execs re-read weights).  Not collective. */
void hcsc_nn_touch(hcsc_nn *net);
/* Zero the gradients.  Not collective. */
void hcsc_nn_zero_grad(hcsc_nn *net);

/* Initialise params (deterministic, the same on every rank, no
 * communication):
 *   dictionaries: from layers[0..nlayers) when given (their structure must
 *     match: channels B, or r for ssc; atom counts and sizes of cfg; a
 *     mismatch is HCSC_EINVAL naming the dictionary), else random atoms
 *     (hcsc_dict_init_random keyed on seed), unit norm;
 *   untied lista/ssc operators A = D / L, Bm = Cm = D (so the network starts
 *     as ISTA); steps eta = 1 / L (ladmm: 1 / (L + rho), rho = 1), L from
 *     power iterations on a 32 x 32 patch (hcsc_pursuit-style, fixed start);
 *   thresholds theta = lambda0 / L (ladmm: lambda0 / rho), lambda0 = 1
 *     (the threshold then starts at s / L: lambda = the noise level);
 *     mlista: eta_l = 1 / L_l with L_l of layer l alone, and
 *     theta_l = lambda0 / (L_1 ... L_l): layer l's pursuit sees the noise
 *     of layer l-1's code, s / (L_1 ... L_{l-1}) (a step eta D^T of unit
 *     atoms scales iid noise by 1 / L), so deeper codes are not all zero;
 *     multiscale: one L of the whole operator sum_s D_s Lam_s;
 *   band_w = 1;
 *   ssc: P = U^T, Q = U from basis (B x r, column-major: component j is
 *     basis[j * B .. j * B + B)), required for ssc (HCSC_EINVAL without).
 * Not collective. */
int hcsc_nn_init(hcsc_nn *net, uint64_t seed, const hcsc_dict *layers, int nlayers,
                 const double *basis);

/* Noise estimates of an input, as used by the forward pass. */
typedef struct {
  int bands;
  double *sigma;  /* [bands] estimated sigma_b (data units) */
  double *wt;     /* [bands] wt_b (1 with adapt = 0) */
  double level;   /* s (1 with adapt = 0) */
} hcsc_nn_noise;
void hcsc_nn_noise_free(hcsc_nn_noise *nz);

/* An executor: the tensors and conv plans of one network on one tile shape.
 * grid: the decomposition (spectral groups G = 1 only); the tile is this
 * rank's hcsc_grid_box, the scene size the grid's.  Training patches use a
 * grid on MPI_COMM_SELF whose scene is the patch.  train = 1 keeps every
 * intermediate tensor for hcsc_nn_backward; train = 0 recycles buffers
 * whose last reader has run (memory of a few tensors, for whole scenes).
 * Collective on the grid's comm (halo plans). */
typedef struct hcsc_nn_exec hcsc_nn_exec;
int hcsc_nn_exec_create(hcsc_nn *net, const hcsc_grid *grid, int train, hcsc_nn_exec **out);
void hcsc_nn_exec_destroy(hcsc_nn_exec **e);
/* The network an executor runs (NULL for NULL).  Not collective. */
const hcsc_nn *hcsc_nn_exec_net(const hcsc_nn_exec *e);

/* Estimate the noise of x (nchan = B, this rank's box; halo >= 1 filled or
 * 0, see stats.h) into nz (allocated here; free with hcsc_nn_noise_free).
 * Collective on the grid's comm. */
int hcsc_nn_noise_estimate(hcsc_nn_exec *e, const hcsc_tile *x, hcsc_nn_noise *nz);

/* y = f(x): x and y tiles of B channels on this rank's box (any halo; y's
 * interior written).  nz: noise estimates (NULL: estimated here with
 * hcsc_nn_noise_estimate).  Halos are exchanged per layer.  Collective on
 * the grid's comm. */
int hcsc_nn_forward(hcsc_nn_exec *e, const hcsc_tile *x, const hcsc_nn_noise *nz, hcsc_tile *y);
/* The whole model of a network with its low-pass split (see the top):
 * y = G_S x + f(x - G_S x) when cfg.lowpass = S > 0, else y = f(x).
 * g: the exec's grid; mask: NULL or the mask set on the exec (the split
 * is then masked, and the output at W = 0 pixels is the masked low-pass
 * plus f).  With S > 0 it holds one B-channel tile more than the
 * forward (x - G x; G x is recovered as x - (x - G x) afterwards, one
 * float rounding).  Collective on the grid's comm. */
int hcsc_nn_apply(hcsc_nn_exec *e, const hcsc_grid *g, const hcsc_tile *x, const hcsc_tile *mask,
                  const hcsc_nn_noise *nz, hcsc_tile *y);
/* The split itself, for training: xh = x - G_S x (halo 0) and xl = G_S x
 * (halo 0), both allocated here on x's box (S = net->cfg.lowpass > 0;
 * free with hcsc_tile_free).  Collective on the grid's comm. */
int hcsc_nn_split(const hcsc_nn *net, const hcsc_grid *g, const hcsc_tile *x, const hcsc_tile *mask,
                  hcsc_tile *xh, hcsc_tile *xl);

/* Backpropagate dy = dL/dy (B channels, this rank's box) through the last
 * forward (train exec only): net->grads += dL/dparams (summed over the
 * ranks of the grid's comm when it has several), and dx = dL/dx when dx is
 * not NULL.  Collective on the grid's comm. */
int hcsc_nn_backward(hcsc_nn_exec *e, const hcsc_tile *dy, hcsc_tile *dx);

/* Data mask (inpainting).  mask: 1 channel (serving every band) or B
 * channels on this rank's box, values in [0, 1] (0 = missing), NULL to
 * clear; kept by reference (it must outlive its use).  Every BANDWEIGHT
 * op then multiplies by it too, out_b(p) = band_w_b wt_b W_b(p) in_b(p)
 * (backward likewise): the band weight is where x enters the data term of
 * every architecture (A^T Om W (x - B z)), so a masked forward is unrolled
 * masked sparse coding, min 1/2 ||W o (x - D z)||^2 + lambda ||z||_1.
 * Values of x where W = 0 are ignored: they may be NaN (nodata), and are
 * read as 0.  The noise estimate (hcsc_nn_noise_estimate, and the one
 * hcsc_nn_forward makes) leaves out pixels where W = 0.  The output is
 * the network's everywhere; keeping x where W = 1 is the caller's choice.
 * A wrong shape is HCSC_ESIZE.  Not collective (call it on every rank,
 * with a mask or NULL on each: the forward exchanges halos regardless). */
int hcsc_nn_exec_set_mask(hcsc_nn_exec *e, const hcsc_tile *mask);

/* Figures of the last forward: flops (forward only, counting each
 * convolution as 2 M C k^2 per pixel), the fraction of nonzero code entries
 * after the thresholds (mean over threshold layers), bytes of tensors held.
 * Not collective. */
typedef struct {
  double flops;
  double code_density;
  double bytes;
} hcsc_nn_figures;
void hcsc_nn_exec_figures(const hcsc_nn_exec *e, hcsc_nn_figures *f);

/* Wall-clock seconds of the last forward on this rank by kind: conv
 * (synthesis and analysis compute), halo (agreement and waiting for halo
 * exchanges, after the overlap with the inner part of the convolution),
 * spectral (1x1 layers), elementwise (thresholds, combinations, band
 * weights, lattices), noise (the noise estimate, reductions included);
 * nconv: convolutions run.  Not collective. */
typedef struct {
  double conv, halo, spectral, elementwise, noise;
  int nconv;
} hcsc_nn_timings;
void hcsc_nn_exec_timings(const hcsc_nn_exec *e, hcsc_nn_timings *t);
/* Show a progress bar (progress.h: rank 0, not at -q, plain lines when
 * stderr is not a terminal) labelled label over the ops of each forward;
 * NULL: none (the default).  Not collective. */
int hcsc_nn_exec_set_progress(hcsc_nn_exec *e, const char *label);

/* Loss: L = 1/2 sum (y - c)^2 / n over the interiors (n = count of values
 * over the comm), dy = (y - c) / n.  Returns L (reduced over comm) in
 * *loss.  Collective on comm. */
int hcsc_nn_mse(MPI_Comm comm, const hcsc_tile *y, const hcsc_tile *clean, int64_t n,
                hcsc_tile *dy, double *loss);

/* ---- model files (src/nn/model_io.c) ---------------------------------- */

/* What a model says about itself besides its weights. */
typedef struct {
  double *wavelength;        /* [bands] nm, or NULL */
  char normalisation[64];    /* "none (homogeneous)" ... */
  char noise[64];            /* training noise spec, e.g. "blind" */
  char trained_on[512];      /* scenes */
  char command[1024];        /* the command line that trained it */
  int64_t steps;             /* optimizer steps done */
  double val_mpsnr;          /* last validation MPSNR (dB), NaN if none */
  double train_seconds;
} hcsc_nn_meta;
void hcsc_nn_meta_free(hcsc_nn_meta *m);

/* Save net (hyperparameters as global attributes, each parameter a float
 * variable with an FNV-1a 64 checksum attribute) to path: NetCDF (CDF-5)
 * through a temporary name in path's directory, renamed when complete.
 * An existing path is HCSC_EEXIST unless force.  Collective on comm (rank
 * 0 writes; every rank holds the same net). */
int hcsc_nn_save(MPI_Comm comm, const char *path, const hcsc_nn *net, const hcsc_nn_meta *meta,
                 int force);
/* Load a model: HCSC_ENOENT when missing, HCSC_EFORMAT (one line naming
 * the file and the problem) when it is not a model, truncated, corrupted
 * (checksum), of a newer version, or inconsistent (a variable's shape does
 * not match the hyperparameters).  meta may be NULL.  Collective on comm. */
int hcsc_nn_load(MPI_Comm comm, const char *path, hcsc_nn **net, hcsc_nn_meta *meta);

#ifdef __cplusplus
}
#endif
#endif
