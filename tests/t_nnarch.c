/* The six unrolled architectures (src/nn/arch.c, arch_init.c), B = 4 bands:
 *  - gradient check of L = 1/2 ||f(x) - c||^2 with respect to all the
 *    parameters (one random direction over the whole vector and one per
 *    parameter tensor) against central differences on a 12 x 10 patch,
 *    every architecture (mlista with 2 layers, 3 layers and momentum;
 *    multiscale with scales 1, 2), adapt = 1 with band-dependent noise,
 *    parameters perturbed away from the init so every path matters;
 *  - the forward of every architecture equals nn.h's formulas written
 *    directly here with hcsc_conv (perturbed params, adapt = 1, 1e-4);
 *  - at init with adapt = 0, lista equals ISTA and fista equals FISTA
 *    (no restart) written here with hcsc_conv, to 1e-4 relative; every
 *    architecture's output at init is finite and closer to x than 0 is;
 *  - homogeneity f(3 x) = 3 f(x) with adapt = 1 (1e-4 relative);
 *  - forward and summed parameter gradients on a 13 x 11 scene over
 *    MPI_COMM_WORLD equal the whole-scene MPI_COMM_SELF ones;
 *  - config parse / check errors and dictionary mismatch errors.
 *
 * Gradient tolerance: the step is h = 1e-2 times each parameter's size
 * (plus a tenth of its tensor's RMS), so the central difference has a
 * truncation error O(h^2) ~ 1e-4 times the polynomial degree of the
 * network in its parameters (products of up to ~2T + 1 factors: below
 * ~5e-3), and float32 rounding of the loss (~1e-7 relative) divided by h
 * stays below 1e-4 of the derivative; 2e-2 relative leaves room for both.
 * A step that moves a pre-activation across a threshold kink would make
 * the loss non-smooth: the fraction of nonzero codes (hcsc_nn_exec_figures)
 * must be the same at p, p + h d and p - h d, else h is quartered. */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hcsc/nn.h"
#include "hypercsc.h"
#include "testutil.h"

#define B 4
#define PH 12
#define PW 10
#define SH 13
#define SW 11
#define SEED 1234
#define GRAD_TOL 2e-2

/* ---- data ------------------------------------------------------------ */

static double clean_at(int64_t b, int64_t r, int64_t c)
{
  return sin(0.7 * r + 0.4 * b) * cos(0.5 * c - 0.2 * b) + 0.3 * (b + 1) * cos(0.9 * r * c / 7.0);
}

/* Band-dependent noise so that the band weights wt_b differ. */
static double sigma_of(int64_t b) { return 0.03 * (1.0 + 2.0 * b); }

static void fill_scene(hcsc_tile *x, hcsc_tile *c, double scale)
{
  const hcsc_box bx = x->box;
  for (int64_t b = 0; b < x->nchan; b++)
    for (int64_t i = 0; i < bx.nr; i++)
      for (int64_t j = 0; j < bx.nc; j++) {
        const int64_t r = bx.r0 + i, q = bx.c0 + j;
        const double v = clean_at(b, r, q);
        HCSC_TILE_AT(x, b, i, j) = (float)(scale * (v + sigma_of(b) * hcsc_rng_normal(77, 3, b, r, q)));
        if (c) HCSC_TILE_AT(c, b, i, j) = (float)(scale * v);
      }
}

/* Orthonormal B x r basis (column-major), Gram-Schmidt of random vectors. */
static void make_basis(int r, double *U)
{
  hcsc_rng g;
  hcsc_rng_init(&g, 99, 1);
  for (int j = 0; j < r; j++) {
    double *u = U + j * B;
    for (int b = 0; b < B; b++) u[b] = hcsc_rng_next_normal(&g);
    for (int i = 0; i < j; i++) {
      double d = 0;
      for (int b = 0; b < B; b++) d += u[b] * U[i * B + b];
      for (int b = 0; b < B; b++) u[b] -= d * U[i * B + b];
    }
    double n = 0;
    for (int b = 0; b < B; b++) n += u[b] * u[b];
    for (int b = 0; b < B; b++) u[b] /= sqrt(n);
  }
}

/* ---- configurations -------------------------------------------------- */

enum { CASE_LISTA, CASE_FISTA, CASE_LADMM, CASE_ML2, CASE_ML3, CASE_MLF, CASE_MS, CASE_SSC, NCASES };
static const char *case_name[NCASES] = {"lista",    "fista",      "ladmm",       "mlista2",
                                        "mlista3",  "mlista-fista", "multiscale", "ssc"};

static hcsc_nn_config small_config(int k)
{
  static const hcsc_nn_arch arch[NCASES] = {HCSC_NN_LISTA,  HCSC_NN_FISTA,  HCSC_NN_LADMM,
                                            HCSC_NN_MLISTA, HCSC_NN_MLISTA, HCSC_NN_MLISTA,
                                            HCSC_NN_MULTISCALE, HCSC_NN_SSC};
  hcsc_nn_config c;
  hcsc_nn_config_default(arch[k], B, &c);
  c.iters = 3;
  c.natoms[0] = 4;
  c.ksize[0] = 3;
  switch (k) {
  case CASE_ML2:
  case CASE_MLF:
    c.nlayers = 2;
    c.natoms[1] = 5;
    c.ksize[1] = 3;
    c.momentum = k == CASE_MLF;
    if (k == CASE_MLF) c.iters = 4;
    break;
  case CASE_ML3:
    c.nlayers = 3;
    c.natoms[1] = 5;
    c.natoms[2] = 3;
    c.ksize[1] = c.ksize[2] = 3;
    c.iters = 2;
    break;
  case CASE_MS:
    c.nlayers = 2;
    c.natoms[0] = 3;
    c.natoms[1] = 4;
    c.ksize[0] = 3;
    c.ksize[1] = 5;
    c.scales[0] = 1;
    c.scales[1] = 2;
    break;
  case CASE_SSC:
    c.rank = 2;
    break;
  default:
    break;
  }
  return c;
}

static int make_net(int k, int adapt, int perturb, hcsc_nn **out)
{
  hcsc_nn_config c = small_config(k);
  double U[B * B];
  c.adapt = adapt;
  int err = hcsc_nn_create(&c, out);
  if (err) return err;
  make_basis(c.rank > 0 ? c.rank : 1, U);
  err = hcsc_nn_init(*out, SEED, NULL, 0, c.arch == HCSC_NN_SSC ? U : NULL);
  if (err) return err;
  if (perturb) {
    /* Multiplicative perturbation: keeps signs (thresholds stay > 0) and
     * makes untied operators and per-iteration scalars differ. */
    hcsc_nn *net = *out;
    hcsc_rng g;
    hcsc_rng_init(&g, 4321, 7);
    for (int64_t i = 0; i < net->size; i++)
      net->params[i] *= (float)(1.0 + 0.3 * (2.0 * hcsc_rng_next_uniform(&g) - 1.0));
    /* Smaller thresholds: more active codes, more paths through the net. */
    for (int p = 0; p < net->nparams; p++)
      if (strncmp(net->table[p].name, "theta", 5) == 0)
        for (int64_t i = 0; i < net->table[p].count; i++) net->params[net->table[p].offset + i] *= 0.5f;
    hcsc_nn_touch(net);
  }
  return 0;
}

/* ---- one network on one grid ----------------------------------------- */

typedef struct {
  hcsc_grid *g;
  hcsc_nn_exec *e;
  hcsc_box box;
  hcsc_tile x, c, y, dy;
} runner;

static int runner_open(runner *R, hcsc_nn *net, MPI_Comm comm, int64_t H, int64_t W)
{
  memset(R, 0, sizeof *R);
  int err = hcsc_grid_create(comm, B, H, W, NULL, &R->g);
  if (err) return err;
  R->box = hcsc_grid_box(R->g);
  if ((err = hcsc_tile_alloc(&R->x, &R->box, B, 0)) || (err = hcsc_tile_alloc(&R->c, &R->box, B, 0)) ||
      (err = hcsc_tile_alloc(&R->y, &R->box, B, 0)) || (err = hcsc_tile_alloc(&R->dy, &R->box, B, 0)))
    return err;
  fill_scene(&R->x, &R->c, 1.0);
  return hcsc_nn_exec_create(net, R->g, 1, &R->e);
}

static void runner_close(runner *R)
{
  hcsc_nn_exec_destroy(&R->e);
  hcsc_tile_free(&R->x);
  hcsc_tile_free(&R->c);
  hcsc_tile_free(&R->y);
  hcsc_tile_free(&R->dy);
  hcsc_grid_destroy(&R->g);
}

/* Forward; loss 1/2 ||y - c||^2 over this rank's box (double), dy = y - c. */
static int runner_loss(runner *R, double *loss, double *density)
{
  int err = hcsc_nn_forward(R->e, &R->x, NULL, &R->y);
  if (err) return err;
  double s = 0;
  for (int64_t b = 0; b < B; b++)
    for (int64_t i = 0; i < R->box.nr; i++)
      for (int64_t j = 0; j < R->box.nc; j++) {
        const double d = (double)HCSC_TILE_AT(&R->y, b, i, j) - HCSC_TILE_AT(&R->c, b, i, j);
        HCSC_TILE_AT(&R->dy, b, i, j) = (float)d;
        s += 0.5 * d * d;
      }
  *loss = s;
  if (density) {
    hcsc_nn_figures f;
    hcsc_nn_exec_figures(R->e, &f);
    *density = f.code_density;
  }
  return 0;
}

/* ---- gradient check --------------------------------------------------- */

static double tensor_rms(const hcsc_nn *net, int p)
{
  double s = 0;
  const hcsc_nn_param *t = &net->table[p];
  for (int64_t i = 0; i < t->count; i++) s += (double)net->params[t->offset + i] * net->params[t->offset + i];
  return sqrt(s / (double)(t->count > 0 ? t->count : 1));
}

/* Directional derivative along dir: central difference vs backward. */
static void check_direction(hcsc_nn *net, runner *R, const float *p0, const float *g0, const float *dir,
                            const char *what, double floor_abs)
{
  double an = 0;
  for (int64_t i = 0; i < net->size; i++) an += (double)g0[i] * dir[i];
  double L0, d0, Lp = 0, Lm = 0, dp = -1, dm = -1, h = 1e-2;
  memcpy(net->params, p0, sizeof(float) * (size_t)net->size);
  hcsc_nn_touch(net);
  TEST_OK(runner_loss(R, &L0, &d0));
  for (int tries = 0; tries < 5; tries++) {
    for (int64_t i = 0; i < net->size; i++) net->params[i] = (float)(p0[i] + h * dir[i]);
    hcsc_nn_touch(net);
    TEST_OK(runner_loss(R, &Lp, &dp));
    for (int64_t i = 0; i < net->size; i++) net->params[i] = (float)(p0[i] - h * dir[i]);
    hcsc_nn_touch(net);
    TEST_OK(runner_loss(R, &Lm, &dm));
    if (dp == d0 && dm == d0) break;
    h /= 4;
  }
  TEST_ASSERT(dp == d0 && dm == d0, "%s: active set changes within every step tried (density %g, %g, %g)",
              what, d0, dp, dm);
  /* The perturbed parameters in float32 are not exactly p0 +- h dir: use
   * the step actually taken along dir. */
  double num = 0, den = 0;
  for (int64_t i = 0; i < net->size; i++) {
    const double dp2 = (double)(float)(p0[i] + h * dir[i]) - (double)(float)(p0[i] - h * dir[i]);
    num += dp2 * dir[i];
    den += (double)dir[i] * dir[i];
  }
  const double step2 = den > 0 ? num / den : 2 * h;
  const double fd = (Lp - Lm) / step2;
  const double scale = fmax(fabs(fd), fabs(an));
  TEST_ASSERT(fabs(fd - an) <= GRAD_TOL * scale + floor_abs,
              "%s: backward %.9g, central difference %.9g (h %g, rel. err %.3g)", what, an, fd, h,
              fabs(fd - an) / fmax(scale, 1e-300));
  memcpy(net->params, p0, sizeof(float) * (size_t)net->size);
  hcsc_nn_touch(net);
}

static void check_gradients(int k)
{
  hcsc_nn *net = NULL;
  runner R;
  float *p0 = NULL, *g0 = NULL, *dir = NULL;
  char what[96];
  TEST_OK(make_net(k, 1, 1, &net));
  if (!net) return;
  TEST_OK(runner_open(&R, net, MPI_COMM_SELF, PH, PW));
  if (!R.e) goto done;
  p0 = malloc(sizeof(float) * (size_t)net->size);
  g0 = malloc(sizeof(float) * (size_t)net->size);
  dir = malloc(sizeof(float) * (size_t)net->size);
  if (!p0 || !g0 || !dir) {
    TEST_ASSERT(0, "out of memory");
    goto done;
  }
  memcpy(p0, net->params, sizeof(float) * (size_t)net->size);
  double L0, d0;
  TEST_OK(runner_loss(&R, &L0, &d0));
  TEST_ASSERT(d0 > 0.02 && d0 < 0.98, "%s: code density %g (want a mix of active and zero codes)",
              case_name[k], d0);
  hcsc_nn_zero_grad(net);
  TEST_OK(hcsc_nn_backward(R.e, &R.dy, NULL));
  memcpy(g0, net->grads, sizeof(float) * (size_t)net->size);

  hcsc_rng g;
  hcsc_rng_init(&g, 555, (uint32_t)k);
  /* Whole vector, then each tensor. */
  for (int p = -1; p < net->nparams; p++) {
    for (int64_t i = 0; i < net->size; i++) dir[i] = 0;
    for (int q = 0; q < net->nparams; q++) {
      if (p >= 0 && q != p) continue;
      const hcsc_nn_param *t = &net->table[q];
      const double rms = tensor_rms(net, q);
      for (int64_t i = 0; i < t->count; i++) {
        const double pv = fabs(p0[t->offset + i]);
        dir[t->offset + i] = (float)((2.0 * hcsc_rng_next_uniform(&g) - 1.0) * (pv + 0.1 * rms));
      }
    }
    snprintf(what, sizeof what, "%s d/d(%s)", case_name[k], p < 0 ? "all" : net->table[p].name);
    /* Floor: 1e-7 of the loss per unit step, float32 rounding of L. */
    check_direction(net, &R, p0, g0, dir, what, 1e-5 * L0);
  }
done:
  free(p0);
  free(g0);
  free(dir);
  runner_close(&R);
  hcsc_nn_destroy(&net);
}

/* ---- init against the solvers ---------------------------------------- */

static void mirror_halo(hcsc_tile *t)
{
  const int h = t->halo;
  for (int64_t ch = 0; ch < t->nchan; ch++)
    for (int64_t i = -h; i < t->box.nr + h; i++)
      for (int64_t j = -h; j < t->box.nc + h; j++)
        if (i < 0 || i >= t->box.nr || j < 0 || j >= t->box.nc)
          HCSC_TILE_AT(t, ch, i, j) =
              HCSC_TILE_AT(t, ch, hcsc_mirror_index(i, t->box.nr), hcsc_mirror_index(j, t->box.nc));
}

static float soft(float v, float th) { return v > th ? v - th : (v < -th ? v + th : 0.0f); }

/* FISTA (momentum = 1) or ISTA without restart on the whole patch: step
 * eta, threshold th, T iterations from 0, y = D z_T. */
static void ref_solver(const hcsc_nn *net, const char *dname, double eta, double th, int momentum,
                       const hcsc_tile *x, hcsc_tile *y)
{
  const hcsc_nn_config *c = &net->cfg;
  const hcsc_nn_param *P = hcsc_nn_find(net, dname);
  hcsc_dict d;
  hcsc_conv *op = NULL;
  hcsc_tile z = {0}, zp = {0}, v = {0}, r = {0}, gr = {0};
  const hcsc_box box = x->box;
  const int64_t M = c->natoms[0];
  TEST_ASSERT(P != NULL, "no parameter %s", dname);
  if (!P) return;
  TEST_OK(hcsc_dict_alloc(&d, (int)M, B, c->ksize[0], 1));
  memcpy(d.atoms, net->params + P->offset, sizeof(float) * (size_t)P->count);
  TEST_OK(hcsc_conv_create(&d, &box, box.nr, box.nc, HCSC_CONV_DIRECT, &op));
  const int h = hcsc_conv_halo(op);
  TEST_OK(hcsc_tile_alloc(&z, &box, M, 0));
  TEST_OK(hcsc_tile_alloc(&zp, &box, M, 0));
  TEST_OK(hcsc_tile_alloc(&v, &box, M, h));
  TEST_OK(hcsc_tile_alloc(&r, &box, B, h));
  TEST_OK(hcsc_tile_alloc(&gr, &box, M, 0));
  double tau = 1.0;
  for (int t = 0; t < c->iters; t++) {
    const double next = (1.0 + sqrt(1.0 + 4.0 * tau * tau)) / 2.0;
    const double beta = (momentum && t > 0) ? (tau - 1.0) / next : 0.0;
    if (t > 0) tau = next;
    for (int64_t m = 0; m < M; m++)
      for (int64_t i = 0; i < box.nr; i++)
        for (int64_t j = 0; j < box.nc; j++)
          HCSC_TILE_AT(&v, m, i, j) = (float)(HCSC_TILE_AT(&z, m, i, j) +
                                              beta * (HCSC_TILE_AT(&z, m, i, j) - HCSC_TILE_AT(&zp, m, i, j)));
    mirror_halo(&v);
    TEST_OK(hcsc_conv_synth(op, &v, &r));
    for (int64_t b = 0; b < B; b++)
      for (int64_t i = 0; i < box.nr; i++)
        for (int64_t j = 0; j < box.nc; j++)
          HCSC_TILE_AT(&r, b, i, j) = HCSC_TILE_AT(x, b, i, j) - HCSC_TILE_AT(&r, b, i, j);
    hcsc_tile_zero_outside(&r, box.nr, box.nc);
    TEST_OK(hcsc_conv_analysis(op, &r, &gr));
    for (int64_t m = 0; m < M; m++)
      for (int64_t i = 0; i < box.nr; i++)
        for (int64_t j = 0; j < box.nc; j++) {
          HCSC_TILE_AT(&zp, m, i, j) = HCSC_TILE_AT(&z, m, i, j);
          HCSC_TILE_AT(&z, m, i, j) =
              soft((float)(HCSC_TILE_AT(&v, m, i, j) + eta * HCSC_TILE_AT(&gr, m, i, j)), (float)th);
        }
  }
  for (int64_t m = 0; m < M; m++)
    for (int64_t i = 0; i < box.nr; i++)
      for (int64_t j = 0; j < box.nc; j++) HCSC_TILE_AT(&v, m, i, j) = HCSC_TILE_AT(&z, m, i, j);
  mirror_halo(&v);
  TEST_OK(hcsc_conv_synth(op, &v, y));
  hcsc_conv_destroy(&op);
  hcsc_tile_free(&z);
  hcsc_tile_free(&zp);
  hcsc_tile_free(&v);
  hcsc_tile_free(&r);
  hcsc_tile_free(&gr);
  hcsc_dict_free(&d);
}

static double tile_reldiff(const hcsc_tile *a, const hcsc_tile *b, double fb)
{
  double e = 0, m = 0;
  for (int64_t c = 0; c < a->nchan; c++)
    for (int64_t i = 0; i < a->box.nr; i++)
      for (int64_t j = 0; j < a->box.nc; j++) {
        e = fmax(e, fabs((double)HCSC_TILE_AT(a, c, i, j) - fb * HCSC_TILE_AT(b, c, i, j)));
        m = fmax(m, fabs(fb * HCSC_TILE_AT(b, c, i, j)));
      }
  return e / fmax(m, 1e-30);
}

static void check_init_solvers(void)
{
  for (int k = CASE_LISTA; k <= CASE_FISTA; k++) {
    hcsc_nn *net = NULL;
    runner R;
    hcsc_tile ref = {0};
    TEST_OK(make_net(k, 0, 0, &net));
    if (!net) continue;
    TEST_OK(runner_open(&R, net, MPI_COMM_SELF, PH, PW));
    double L0;
    TEST_OK(runner_loss(&R, &L0, NULL));
    TEST_OK(hcsc_tile_alloc(&ref, &R.box, B, 0));
    const hcsc_nn_param *th = hcsc_nn_find(net, "theta");
    const double theta = th ? net->params[th->offset] : 0;
    if (k == CASE_LISTA) {
      /* A = D / L, theta = 1 / L (lambda = L theta s = 1): ISTA with step
       * 1 / L = theta. */
      ref_solver(net, "Bm", theta, theta, 0, &R.x, &ref);
    } else {
      const hcsc_nn_param *eta = hcsc_nn_find(net, "eta");
      ref_solver(net, "D", eta ? net->params[eta->offset] : 0, theta, 1, &R.x, &ref);
    }
    const double rel = tile_reldiff(&R.y, &ref, 1.0);
    TEST_ASSERT(rel < 1e-4, "%s at init differs from %s by %g relative", case_name[k],
                k == CASE_LISTA ? "ISTA" : "FISTA", rel);
    hcsc_tile_free(&ref);
    runner_close(&R);
    hcsc_nn_destroy(&net);
  }
}

/* Every architecture at init: finite output, closer to x than 0 is;
 * homogeneity f(3x) = 3 f(x) with the perturbed params and adapt = 1. */
static void check_init_and_homogeneity(void)
{
  for (int k = 0; k < NCASES; k++) {
    hcsc_nn *net = NULL;
    runner R;
    hcsc_tile y1 = {0};
    TEST_OK(make_net(k, 1, 0, &net));
    if (!net) continue;
    TEST_OK(runner_open(&R, net, MPI_COMM_SELF, PH, PW));
    double L0;
    TEST_OK(runner_loss(&R, &L0, NULL));
    double e = 0, n = 0;
    int finite = 1;
    for (int64_t b = 0; b < B; b++)
      for (int64_t i = 0; i < R.box.nr; i++)
        for (int64_t j = 0; j < R.box.nc; j++) {
          const double yv = HCSC_TILE_AT(&R.y, b, i, j), xv = HCSC_TILE_AT(&R.x, b, i, j);
          finite &= isfinite(yv);
          e += (yv - xv) * (yv - xv);
          n += xv * xv;
        }
    TEST_ASSERT(finite, "%s at init: non-finite output", case_name[k]);
    TEST_ASSERT(e < n, "%s at init: ||f(x) - x||^2 = %g not below ||x||^2 = %g", case_name[k], e, n);

    /* Homogeneity on perturbed params. */
    hcsc_nn_destroy(&net);
    runner_close(&R);
    TEST_OK(make_net(k, 1, 1, &net));
    if (!net) continue;
    TEST_OK(runner_open(&R, net, MPI_COMM_SELF, PH, PW));
    TEST_OK(hcsc_tile_alloc(&y1, &R.box, B, 0));
    TEST_OK(hcsc_nn_forward(R.e, &R.x, NULL, &y1));
    fill_scene(&R.x, NULL, 3.0);
    TEST_OK(hcsc_nn_forward(R.e, &R.x, NULL, &R.y));
    const double rel = tile_reldiff(&R.y, &y1, 3.0);
    TEST_ASSERT(rel < 1e-4, "%s: f(3x) differs from 3 f(x) by %g relative", case_name[k], rel);
    hcsc_tile_free(&y1);
    runner_close(&R);
    hcsc_nn_destroy(&net);
  }
}


/* ---- the formulas of nn.h, written directly --------------------------- */

#define RH 4 /* halo of the reference tensors (k <= 9) */

static hcsc_tile rnew(const hcsc_box *box, int64_t n)
{
  hcsc_tile t = {0};
  TEST_OK(hcsc_tile_alloc(&t, box, n, RH));
  return t;
}

static float *pget(const hcsc_nn *net, const char *name)
{
  const hcsc_nn_param *P = hcsc_nn_find(net, name);
  TEST_ASSERT(P != NULL, "no parameter %s", name);
  return P ? net->params + P->offset : NULL;
}

/* out = D in (synth) or D^T in (analysis), D the parameter pname. */
static void r_conv(const hcsc_nn *net, const char *pname, int synth, hcsc_tile *in, hcsc_tile *out)
{
  const hcsc_nn_param *P = hcsc_nn_find(net, pname);
  hcsc_conv *op = NULL;
  if (!P) return;
  hcsc_dict d = {.natoms = (int)P->shape[0], .nchan = (int)P->shape[1], .ksize = (int)P->shape[2],
                 .scale = 1, .atoms = net->params + P->offset};
  TEST_OK(hcsc_conv_create(&d, &in->box, in->box.nr, in->box.nc, HCSC_CONV_DIRECT, &op));
  if (!op) return;
  if (synth) {
    mirror_halo(in);
    TEST_OK(hcsc_conv_synth(op, in, out));
  } else {
    hcsc_tile_zero_outside(in, in->box.nr, in->box.nc);
    TEST_OK(hcsc_conv_analysis(op, in, out));
  }
  hcsc_conv_destroy(&op);
}

#define FOR_T(t) \
  for (int64_t ch = 0; ch < (t)->nchan; ch++) \
    for (int64_t i = 0; i < (t)->box.nr; i++) \
      for (int64_t j = 0; j < (t)->box.nc; j++)

/* out = a X + b Y (X, Y may be NULL: zero); out may alias X or Y. */
static void r_axpby(hcsc_tile *out, double a, const hcsc_tile *X, double b, const hcsc_tile *Y)
{
  FOR_T(out) {
    const double v = (X ? a * HCSC_TILE_AT(X, ch, i, j) : 0.0) + (Y ? b * HCSC_TILE_AT(Y, ch, i, j) : 0.0);
    HCSC_TILE_AT(out, ch, i, j) = (float)v;
  }
}

static void r_bw(const hcsc_nn *net, const hcsc_nn_noise *nz, const hcsc_tile *in, hcsc_tile *out)
{
  const float *w = pget(net, "band_w");
  FOR_T(out) HCSC_TILE_AT(out, ch, i, j) = (float)(w[ch] * nz->wt[ch] * HCSC_TILE_AT(in, ch, i, j));
}

static void r_thresh(const hcsc_nn *net, const char *pname, int64_t row, int64_t stride, double s,
                     hcsc_tile *t)
{
  const float *th = pget(net, pname) + row * stride;
  FOR_T(t) {
    const float tv = (float)(s * fmax(th[ch], 0.0)), v = HCSC_TILE_AT(t, ch, i, j);
    HCSC_TILE_AT(t, ch, i, j) = net->cfg.nonneg ? (v > tv ? v - tv : 0.0f) : soft(v, tv);
  }
}

static void r_spec(const hcsc_nn *net, const char *pname, const hcsc_tile *in, hcsc_tile *out)
{
  const float *W = pget(net, pname);
  FOR_T(out) {
    double v = 0;
    for (int64_t c = 0; c < in->nchan; c++) v += (double)W[ch * in->nchan + c] * HCSC_TILE_AT(in, c, i, j);
    HCSC_TILE_AT(out, ch, i, j) = (float)v;
  }
}

static void r_lattice(hcsc_tile *t, int s)
{
  FOR_T(t) if ((t->box.r0 + i) % s || (t->box.c0 + j) % s) HCSC_TILE_AT(t, ch, i, j) = 0.0f;
}

static double fbeta(int t) /* beta_t, t >= 1 */
{
  double tau = 1.0;
  for (int i = 1; i < t; i++) tau = (1.0 + sqrt(1.0 + 4.0 * tau * tau)) / 2.0;
  return (tau - 1.0) / ((1.0 + sqrt(1.0 + 4.0 * tau * tau)) / 2.0);
}

/* y = f(x) by nn.h's formulas for every architecture. */
static void ref_forward(const hcsc_nn *net, const hcsc_nn_noise *nz, const hcsc_tile *x0, hcsc_tile *y)
{
  const hcsc_nn_config *c = &net->cfg;
  const hcsc_box *bx = &x0->box;
  const double s = nz->level;
  const int T = c->iters;
  hcsc_tile x = rnew(bx, B), r = rnew(bx, B), w = rnew(bx, B), out = rnew(bx, B);
  r_axpby(&x, 1, x0, 0, NULL);
  char nm[16];
  if (c->arch == HCSC_NN_LISTA || c->arch == HCSC_NN_SSC) {
    const int ssc = c->arch == HCSC_NN_SSC;
    const int64_t M = c->natoms[0], C = ssc ? c->rank : B;
    hcsc_tile z = rnew(bx, M), g = rnew(bx, M), q = rnew(bx, C);
    for (int t = 0; t < T; t++) {
      if (t == 0) {
        r_axpby(&r, 1, &x, 0, NULL);
      } else {
        r_conv(net, "Bm", 1, &z, ssc ? &q : &w);
        if (ssc) r_spec(net, "Q", &q, &w);
        r_axpby(&r, 1, &x, -1, &w);
      }
      r_bw(net, nz, &r, &w);
      if (ssc) {
        r_spec(net, "P", &w, &q);
        r_conv(net, "A", 0, &q, &g);
      } else {
        r_conv(net, "A", 0, &w, &g);
      }
      r_axpby(&z, 1, &z, 1, &g);
      r_thresh(net, "theta", t, M, s, &z);
    }
    r_conv(net, "Cm", 1, &z, ssc ? &q : y);
    if (ssc) r_spec(net, "Q", &q, y);
    hcsc_tile_free(&z);
    hcsc_tile_free(&g);
    hcsc_tile_free(&q);
  } else if (c->arch == HCSC_NN_FISTA) {
    const int64_t M = c->natoms[0];
    const float *eta = pget(net, "eta");
    hcsc_tile z = rnew(bx, M), zp = rnew(bx, M), v = rnew(bx, M), g = rnew(bx, M);
    for (int t = 0; t < T; t++) { /* computes z_{t+1} from v_t */
      const double beta = t >= 1 ? fbeta(t) : 0.0;
      r_axpby(&v, 1 + beta, &z, -beta, &zp);
      r_conv(net, "D", 1, &v, &w);
      r_axpby(&r, 1, &x, -1, &w);
      r_bw(net, nz, &r, &w);
      r_conv(net, "D", 0, &w, &g);
      r_axpby(&zp, 1, &z, 0, NULL);
      r_axpby(&z, 1, &v, eta[t], &g);
      r_thresh(net, "theta", t, M, s, &z);
    }
    r_conv(net, "D", 1, &z, y);
    hcsc_tile_free(&z);
    hcsc_tile_free(&zp);
    hcsc_tile_free(&v);
    hcsc_tile_free(&g);
  } else if (c->arch == HCSC_NN_LADMM) {
    const int64_t M = c->natoms[0];
    const float *eta = pget(net, "eta"), *rho = pget(net, "rho");
    hcsc_tile z = rnew(bx, M), q = rnew(bx, M), u = rnew(bx, M), g = rnew(bx, M), e = rnew(bx, M);
    for (int t = 0; t < T; t++) {
      r_conv(net, "D", 1, &z, &w);
      r_axpby(&r, 1, &x, -1, &w);
      r_bw(net, nz, &r, &w);
      r_conv(net, "D", 0, &w, &g);
      r_axpby(&e, 1, &z, -1, &q);
      r_axpby(&e, 1, &e, 1, &u);
      r_axpby(&g, 1, &g, -rho[t], &e);
      r_axpby(&z, 1, &z, eta[t], &g);
      r_axpby(&q, 1, &z, 1, &u);
      r_thresh(net, "theta", t, M, s, &q);
      r_axpby(&u, 1, &u, 1, &z);
      r_axpby(&u, 1, &u, -1, &q);
    }
    r_conv(net, "D", 1, &q, y);
    hcsc_tile_free(&z);
    hcsc_tile_free(&q);
    hcsc_tile_free(&u);
    hcsc_tile_free(&g);
    hcsc_tile_free(&e);
  } else if (c->arch == HCSC_NN_MLISTA) {
    const int L = c->nlayers;
    const float *eta = pget(net, "eta");
    hcsc_tile h[4], u[4], gp, v, a[4];
    for (int l = 0; l < L; l++) {
      h[l + 1] = rnew(bx, c->natoms[l]);
      u[l] = rnew(bx, l == 0 ? B : c->natoms[l - 1]);
      a[l] = rnew(bx, c->natoms[l]);
    }
    gp = rnew(bx, c->natoms[L - 1]);
    v = rnew(bx, c->natoms[L - 1]);
    hcsc_tile *g = &h[L];
    for (int t = 0; t < T; t++) {
      /* v = g_t + beta_t (g_t - g_{t-1}) (momentum), g_0 = 0 */
      const double beta = (c->momentum && t >= 1) ? fbeta(t) : 0.0;
      r_axpby(&v, 1 + beta, g, -beta, &gp);
      r_axpby(&gp, 1, g, 0, NULL);
      /* u[l] = D(l+1..L) v (0-based l: D_{l+1} ... D_L v); u[L] = v */
      hcsc_tile *prev = &v;
      for (int l = L - 1; l >= 0; l--) {
        r_conv(net, (snprintf(nm, sizeof nm, "D%d", l + 1), nm), 1, prev, &u[l]);
        prev = &u[l];
      }
      for (int l = 0; l < L; l++) {
        hcsc_tile *in = l == 0 ? &x : &h[l];
        hcsc_tile *rl = l == 0 ? &r : &a[l - 1];
        hcsc_tile tmp = rnew(bx, in->nchan);
        r_axpby(&tmp, 1, in, -1, &u[l]); /* h_{l-1} - D(l..L) v */
        if (l == 0) r_bw(net, nz, &tmp, rl); else r_axpby(rl, 1, &tmp, 0, NULL);
        r_conv(net, (snprintf(nm, sizeof nm, "D%d", l + 1), nm), 0, rl, &a[l]);
        r_axpby(&h[l + 1], 1, l + 1 < L ? &u[l + 1] : &v, eta[l], &a[l]);
        r_thresh(net, (snprintf(nm, sizeof nm, "theta%d", l + 1), nm), 0, c->natoms[l], s, &h[l + 1]);
        hcsc_tile_free(&tmp);
      }
    }
    hcsc_tile *prev = g;
    for (int l = L - 1; l >= 0; l--) {
      r_conv(net, (snprintf(nm, sizeof nm, "D%d", l + 1), nm), 1, prev, l == 0 ? y : &u[l]);
      prev = &u[l];
    }
    for (int l = 0; l < L; l++) {
      hcsc_tile_free(&h[l + 1]);
      hcsc_tile_free(&u[l]);
      hcsc_tile_free(&a[l]);
    }
    hcsc_tile_free(&gp);
    hcsc_tile_free(&v);
  } else if (c->arch == HCSC_NN_MULTISCALE) {
    const int n = c->nlayers;
    const float *eta = pget(net, "eta");
    int64_t Mmax = 0;
    hcsc_tile z[3], g[3];
    for (int l = 0; l < n; l++) {
      z[l] = rnew(bx, c->natoms[l]);
      g[l] = rnew(bx, c->natoms[l]);
      if (c->natoms[l] > Mmax) Mmax = c->natoms[l];
    }
    for (int t = 0; t < T; t++) {
      r_axpby(&r, 1, &x, 0, NULL);
      for (int l = 0; l < n; l++) {
        r_conv(net, (snprintf(nm, sizeof nm, "D%d", l + 1), nm), 1, &z[l], &w);
        r_axpby(&r, 1, &r, -1, &w);
      }
      r_bw(net, nz, &r, &w);
      for (int l = 0; l < n; l++) {
        r_conv(net, (snprintf(nm, sizeof nm, "D%d", l + 1), nm), 0, &w, &g[l]);
        r_axpby(&z[l], 1, &z[l], eta[t], &g[l]);
        r_thresh(net, "theta", (int64_t)t * n + l, Mmax, s, &z[l]);
        r_lattice(&z[l], c->scales[l]);
      }
    }
    r_axpby(y, 0, NULL, 0, NULL);
    for (int l = 0; l < n; l++) {
      r_conv(net, (snprintf(nm, sizeof nm, "D%d", l + 1), nm), 1, &z[l], &w);
      r_axpby(y, 1, y, 1, &w);
    }
    for (int l = 0; l < n; l++) {
      hcsc_tile_free(&z[l]);
      hcsc_tile_free(&g[l]);
    }
  }
  hcsc_tile_free(&x);
  hcsc_tile_free(&r);
  hcsc_tile_free(&w);
  hcsc_tile_free(&out);
}

/* The network's forward equals the formulas (perturbed params, adapt = 1,
 * the same noise estimates). */
static void check_formulas(int k)
{
  hcsc_nn *net = NULL;
  runner R;
  hcsc_nn_noise nz;
  memset(&nz, 0, sizeof nz);
  TEST_OK(make_net(k, 1, 1, &net));
  if (!net) return;
  TEST_OK(runner_open(&R, net, MPI_COMM_SELF, PH, PW));
  if (R.e) {
    hcsc_tile ref = rnew(&R.box, B);
    TEST_OK(hcsc_nn_noise_estimate(R.e, &R.x, &nz));
    TEST_OK(hcsc_nn_forward(R.e, &R.x, &nz, &R.y));
    if (nz.wt) {
      ref_forward(net, &nz, &R.x, &ref);
      const double rel = tile_reldiff(&R.y, &ref, 1.0);
      TEST_ASSERT(rel < 1e-4, "%s: forward differs from nn.h's formulas by %g relative", case_name[k], rel);
    }
    hcsc_tile_free(&ref);
    hcsc_nn_noise_free(&nz);
  }
  runner_close(&R);
  hcsc_nn_destroy(&net);
}

/* ---- distributed ------------------------------------------------------ */

static void check_distributed(int k)
{
  hcsc_nn *net = NULL;
  runner S, D;
  float *ys = NULL, *yd = NULL, *gs = NULL;
  TEST_OK(make_net(k, 1, 1, &net));
  if (!net) return;
  const size_t n = (size_t)B * SH * SW;
  ys = calloc(n, sizeof(float));
  yd = calloc(n, sizeof(float));
  gs = calloc((size_t)net->size, sizeof(float));
  /* Whole scene on this process. */
  double L;
  TEST_OK(runner_open(&S, net, MPI_COMM_SELF, SH, SW));
  TEST_OK(runner_loss(&S, &L, NULL));
  hcsc_nn_zero_grad(net);
  TEST_OK(hcsc_nn_backward(S.e, &S.dy, NULL));
  memcpy(gs, net->grads, sizeof(float) * (size_t)net->size);
  for (int64_t b = 0; b < B; b++)
    for (int64_t i = 0; i < SH; i++)
      for (int64_t j = 0; j < SW; j++) ys[(b * SH + i) * SW + j] = HCSC_TILE_AT(&S.y, b, i, j);
  runner_close(&S);
  /* Over the world. */
  TEST_OK(runner_open(&D, net, MPI_COMM_WORLD, SH, SW));
  TEST_OK(runner_loss(&D, &L, NULL));
  hcsc_nn_zero_grad(net);
  TEST_OK(hcsc_nn_backward(D.e, &D.dy, NULL));
  for (int64_t b = 0; b < B; b++)
    for (int64_t i = 0; i < D.box.nr; i++)
      for (int64_t j = 0; j < D.box.nc; j++)
        yd[(b * SH + D.box.r0 + i) * SW + D.box.c0 + j] = HCSC_TILE_AT(&D.y, b, i, j);
  double emax, rmax;
  test_box_maxdiff(yd, ys, B, SH, SW, &D.box, &emax, &rmax);
  TEST_ASSERT(emax <= 1e-5 * rmax + 1e-7, "%s: distributed forward differs by %g (max |y| %g)",
              case_name[k], emax, rmax);
  for (int p = 0; p < net->nparams; p++) {
    const hcsc_nn_param *t = &net->table[p];
    double e = 0, m = 0;
    for (int64_t i = 0; i < t->count; i++) {
      e = fmax(e, fabs((double)net->grads[t->offset + i] - gs[t->offset + i]));
      m = fmax(m, fabs((double)gs[t->offset + i]));
    }
    /* Sums in another order over tiles: float32 rounding of the totals. */
    TEST_ASSERT(e <= 1e-4 * m + 1e-7, "%s: distributed gradient of %s differs by %g (max %g)",
                case_name[k], t->name, e, m);
  }
  runner_close(&D);
  free(ys);
  free(yd);
  free(gs);
  hcsc_nn_destroy(&net);
}

/* ---- errors ----------------------------------------------------------- */

static void expect_local(int rc, const char *what, const char *label)
{
  /* Not collective functions: every rank calls them the same way, so the
   * collective checker applies. */
  test_expect_error(rc, HCSC_EINVAL, what, label);
}

static void check_config_errors(void)
{
  hcsc_nn_arch a = HCSC_NN_FISTA;
  TEST_OK(hcsc_nn_arch_parse("LISTA", &a));
  TEST_ASSERT(a == HCSC_NN_LISTA, "parse LISTA gave %d", (int)a);
  for (int i = 0; i < HCSC_NN_NARCH; i++) {
    TEST_OK(hcsc_nn_arch_parse(hcsc_nn_arch_name((hcsc_nn_arch)i), &a));
    TEST_ASSERT((int)a == i, "name/parse round trip of %d", i);
    hcsc_nn_config c;
    hcsc_nn_config_default((hcsc_nn_arch)i, 31, &c);
    TEST_OK(hcsc_nn_config_check(&c));
  }
  expect_local(hcsc_nn_arch_parse("resnet", &a), "resnet", "parse unknown");
  hcsc_nn_config c;
  hcsc_nn_config_default(HCSC_NN_LISTA, 8, &c);
  c.iters = 0;
  expect_local(hcsc_nn_config_check(&c), "iters 0", "iters 0");
  hcsc_nn_config_default(HCSC_NN_LISTA, 8, &c);
  c.ksize[0] = 4;
  expect_local(hcsc_nn_config_check(&c), "ksize[0] 4", "even ksize");
  hcsc_nn_config_default(HCSC_NN_LISTA, 0, &c);
  expect_local(hcsc_nn_config_check(&c), "bands 0", "bands 0");
  hcsc_nn_config_default(HCSC_NN_FISTA, 8, &c);
  c.natoms[0] = 0;
  expect_local(hcsc_nn_config_check(&c), "natoms[0] 0", "natoms 0");
  hcsc_nn_config_default(HCSC_NN_MLISTA, 8, &c);
  c.nlayers = 1;
  expect_local(hcsc_nn_config_check(&c), "nlayers 1", "mlista one layer");
  hcsc_nn_config_default(HCSC_NN_MULTISCALE, 8, &c);
  c.scales[1] = 1;
  expect_local(hcsc_nn_config_check(&c), "scales[1] 1", "scales not increasing");
  hcsc_nn_config_default(HCSC_NN_MULTISCALE, 8, &c);
  c.scales[2] = 3;
  expect_local(hcsc_nn_config_check(&c), "scales[2] 3", "scale 3");
  hcsc_nn_config_default(HCSC_NN_SSC, 8, &c);
  c.rank = 9;
  expect_local(hcsc_nn_config_check(&c), "rank 9", "ssc rank > B");
  hcsc_nn_config_default(HCSC_NN_LISTA, 8, &c);
  c.momentum = 1;
  expect_local(hcsc_nn_config_check(&c), "momentum", "momentum on lista");
  hcsc_nn_config_default(HCSC_NN_LADMM, 8, &c);
  c.adapt = 2;
  expect_local(hcsc_nn_config_check(&c), "adapt 2", "adapt 2");
  hcsc_nn_config_default(HCSC_NN_LADMM, 8, &c);
  c.nonneg = -1;
  expect_local(hcsc_nn_config_check(&c), "nonneg -1", "nonneg -1");
}

static void check_dict_errors(void)
{
  hcsc_nn *net = NULL;
  hcsc_dict d[3];
  memset(d, 0, sizeof d);
  hcsc_nn_config c = small_config(CASE_LISTA); /* M 4, k 3 */
  TEST_OK(hcsc_nn_create(&c, &net));
  if (!net) return;
  TEST_OK(hcsc_dict_alloc(&d[0], 5, B, 3, 1));
  TEST_OK(hcsc_dict_init_random(&d[0], 1));
  expect_local(hcsc_nn_init(net, 1, d, 1, NULL), "5 atoms", "atom count");
  hcsc_dict_free(&d[0]);
  TEST_OK(hcsc_dict_alloc(&d[0], 4, B - 1, 3, 1));
  TEST_OK(hcsc_dict_init_random(&d[0], 1));
  expect_local(hcsc_nn_init(net, 1, d, 1, NULL), "3 channels", "channels");
  hcsc_dict_free(&d[0]);
  TEST_OK(hcsc_dict_alloc(&d[0], 4, B, 5, 1));
  TEST_OK(hcsc_dict_init_random(&d[0], 1));
  expect_local(hcsc_nn_init(net, 1, d, 1, NULL), "ksize 5", "ksize");
  expect_local(hcsc_nn_init(net, 1, d, 2, NULL), "2 dictionary layers", "layer count");
  hcsc_dict_free(&d[0]);
  /* The right one works. */
  TEST_OK(hcsc_dict_alloc(&d[0], 4, B, 3, 1));
  TEST_OK(hcsc_dict_init_random(&d[0], 1));
  TEST_OK(hcsc_nn_init(net, 1, d, 1, NULL));
  const hcsc_nn_param *P = hcsc_nn_find(net, "Bm");
  TEST_ASSERT(P && memcmp(net->params + P->offset, d[0].atoms, sizeof(float) * (size_t)P->count) == 0,
              "lista Bm is not the given dictionary");
  hcsc_dict_free(&d[0]);
  hcsc_nn_destroy(&net);

  /* mlista: the second layer's channels must be the first layer's atoms. */
  c = small_config(CASE_ML2); /* M 4, 5 */
  TEST_OK(hcsc_nn_create(&c, &net));
  if (!net) return;
  TEST_OK(hcsc_dict_alloc(&d[0], 4, B, 3, 1));
  TEST_OK(hcsc_dict_alloc(&d[1], 5, 3, 3, 1));
  TEST_OK(hcsc_dict_init_random(&d[0], 1));
  TEST_OK(hcsc_dict_init_random(&d[1], 2));
  expect_local(hcsc_nn_init(net, 1, d, 2, NULL), "layer 1 has 3 channels", "mlista chain");
  hcsc_dict_free(&d[0]);
  hcsc_dict_free(&d[1]);
  hcsc_nn_destroy(&net);

  /* multiscale: scales must match; ssc needs a basis. */
  c = small_config(CASE_MS); /* M 3, 4; k 3, 5; scales 1, 2 */
  TEST_OK(hcsc_nn_create(&c, &net));
  if (!net) return;
  TEST_OK(hcsc_dict_alloc(&d[0], 3, B, 3, 1));
  TEST_OK(hcsc_dict_alloc(&d[1], 4, B, 5, 4));
  TEST_OK(hcsc_dict_init_random(&d[0], 1));
  TEST_OK(hcsc_dict_init_random(&d[1], 2));
  expect_local(hcsc_nn_init(net, 1, d, 2, NULL), "scale 4", "multiscale scale");
  hcsc_dict_free(&d[0]);
  hcsc_dict_free(&d[1]);
  hcsc_nn_destroy(&net);
  c = small_config(CASE_SSC);
  TEST_OK(hcsc_nn_create(&c, &net));
  if (!net) return;
  expect_local(hcsc_nn_init(net, 1, NULL, 0, NULL), "basis", "ssc without basis");
  hcsc_nn_destroy(&net);
}

int main(int argc, char **argv)
{
  test_init(&argc, &argv);
  check_config_errors();
  check_dict_errors();
  for (int k = 0; k < NCASES; k++) check_formulas(k);
  for (int k = 0; k < NCASES; k++) check_gradients(k);
  check_init_solvers();
  check_init_and_homogeneity();
  for (int k = 0; k < NCASES; k++) check_distributed(k);
  return test_finish("t_nnarch");
}
