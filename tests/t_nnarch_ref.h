/* t_nnarch's references: the formulas of include/hcsc/nn.h written
 * directly on whole-scene tiles with hcsc_conv (no graph, no executor),
 * ISTA/FISTA loops and an operator-norm estimate. */
#ifndef T_NNARCH_REF_H
#define T_NNARCH_REF_H

#include "hcsc/nn.h"

#define RH 4 /* halo of the reference tensors (k <= 9) */

/* A zeroed tile of n channels on box with halo RH. */
hcsc_tile rnew(const hcsc_box *box, int64_t n);
/* The values of parameter name (a failed check when missing). */
float *pget(const hcsc_nn *net, const char *name);
/* Multiply every parameter by 1 + 0.3 u (u uniform in [-1, 1], a fixed
 * seed: signs kept, untied operators and per-iteration scalars made to
 * differ), then halve the thresholds (more active codes, more paths). */
void perturb_params(hcsc_nn *net);
/* The tiny network of the mask and low-pass tests: arch on 4 bands, T 3,
 * 4 atoms of 3 x 3 (ssc: r 2 on an orthonormal pair of components), the
 * given low-pass split, init seed 4242, then perturb_params. */
int small_net(hcsc_nn_arch arch, double lowpass, hcsc_nn **out);
/* Fill the halo of a whole-scene tile by the scene-edge rule. */
void mirror_halo(hcsc_tile *t);
/* ISTA (momentum 0) or FISTA without restart with dictionary parameter
 * dname, step eta, threshold th, cfg.iters iterations from 0: y = D z_T. */
void ref_solver(const hcsc_nn *net, const char *dname, double eta, double th, int momentum,
                const hcsc_tile *x, hcsc_tile *y);
/* y = f(x) by nn.h's formulas, noise estimates nz. */
void ref_forward(const hcsc_nn *net, const hcsc_nn_noise *nz, const hcsc_tile *x0, hcsc_tile *y);
/* ||D||^2 of a dictionary parameter, 200 power iterations on 32 x 32. */
double ref_opnorm2(const hcsc_nn *net, const char *pname);

#endif
