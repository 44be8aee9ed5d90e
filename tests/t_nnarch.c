/* The six unrolled architectures (src/nn/arch.c, arch_init.c), B = 4 bands:
 *  - gradient check of L = 1/2 ||f(x) - c||^2 with respect to all the
 *    parameters (one random direction over the whole vector and one per
 *    parameter tensor) against central differences on a 12 x 10 patch,
 *    every architecture (mlista with 2 layers, 3 layers and momentum;
 *    multiscale with scales 1, 2), adapt = 1 with band-dependent noise,
 *    parameters perturbed away from the init so every path matters;
 *  - the forward of every architecture equals nn.h's formulas written
 *    directly in t_nnarch_ref.c with hcsc_conv (perturbed params,
 *    adapt = 1, 1e-4 relative), also with non-negative thresholds (ladmm,
 *    mlista; and the gradients of ssc);
 *  - at init with adapt = 0, lista equals ISTA and fista equals FISTA
 *    (no restart, t_nnarch_ref.c), to 1e-4 relative; 1 / eta is
 *    1.05 ||D||^2 (fista, each mlista layer) against 200 independent power
 *    iterations; every architecture's output at init is finite and closer
 *    to x than 0 is;
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
 * stays below 1e-4 of the derivative at that step; 2e-2 relative leaves
 * room for both.  A step that moves a pre-activation across a threshold
 * kink makes the loss non-smooth there (an O(h) error, not O(h^2)): steps
 * where the fraction of nonzero codes (hcsc_nn_exec_figures) at p + h d or
 * p - h d differs from p's by more than one code or so (5e-4) are skipped,
 * and since equal counts can still hide a swap (one code on, one off), h
 * goes down by 4 from 1e-2 to 1e-5 until one such step agrees; float32
 * rounding of the outputs (~1e-7 L relative) adds a floor of 1e-7 L / h to
 * the scale of the comparison.  A wrong gradient disagrees at every
 * step (the differences converge to the true derivative); the tries only
 * forgive kinks and rounding. */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hcsc/nn.h"
#include "hypercsc.h"
#include "t_nnarch_ref.h"
#include "testutil.h"

#define B 4
#define PH 12
#define PW 10
#define SH 13
#define SW 11
#define SEED 1234
#define GRAD_TOL 2e-2

/* ---- data ------------------------------------------------------------ */

/* Smooth enough that the noise estimate (differences of neighbours)
 * sees mostly the noise. */
static double clean_at(int64_t b, int64_t r, int64_t c)
{
  return sin(0.35 * r + 0.4 * b) * cos(0.3 * c - 0.2 * b) + 0.3 * (b + 1) * cos(0.2 * (r - c));
}

/* Band-dependent noise so that the band weights wt_b differ. */
static double sigma_of(int64_t b) { return 0.05 * (1.0 + 2.0 * b); }

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

static int nonneg_all = 0; /* set: every net gets non-negative thresholds */

static int make_net(int k, int adapt, int perturb, hcsc_nn **out)
{
  hcsc_nn_config c = small_config(k);
  double U[B * B];
  c.adapt = adapt;
  c.nonneg = nonneg_all;
  int err = hcsc_nn_create(&c, out);
  if (err) return err;
  make_basis(c.rank > 0 ? c.rank : 1, U);
  err = hcsc_nn_init(*out, SEED, NULL, 0, c.arch == HCSC_NN_SSC ? U : NULL);
  if (err) return err;
  if (perturb) perturb_params(*out);
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
  double L0, d0;
  memcpy(net->params, p0, sizeof(float) * (size_t)net->size);
  hcsc_nn_touch(net);
  TEST_OK(runner_loss(R, &L0, &d0));
  double best = INFINITY, best_fd = 0, best_h = 0;
  int smooth = 0;
  for (double h = 1e-2; h > 5e-6 && best > GRAD_TOL; h /= 4) {
    double Lp, Lm, dp, dm;
    for (int64_t i = 0; i < net->size; i++) net->params[i] = (float)(p0[i] + h * dir[i]);
    hcsc_nn_touch(net);
    TEST_OK(runner_loss(R, &Lp, &dp));
    for (int64_t i = 0; i < net->size; i++) net->params[i] = (float)(p0[i] - h * dir[i]);
    hcsc_nn_touch(net);
    TEST_OK(runner_loss(R, &Lm, &dm));
    /* Skip steps that cross kinks, but for one code or so (density change
     * below 5e-4): one crossing among thousands of codes changes the
     * difference quotient by far less than the tolerance. */
    if (fabs(dp - d0) > 5e-4 || fabs(dm - d0) > 5e-4) continue;
    smooth++;
    /* The perturbed parameters in float32 are not exactly p0 +- h dir:
     * use the step actually taken along dir. */
    double num = 0, den = 0;
    for (int64_t i = 0; i < net->size; i++) {
      const double st = (double)(float)(p0[i] + h * dir[i]) - (double)(float)(p0[i] - h * dir[i]);
      num += st * dir[i];
      den += (double)dir[i] * dir[i];
    }
    const double fd = (Lp - Lm) / (den > 0 ? num / den : 2 * h);
    /* float32 rounding of the outputs moves L by ~1e-7 L0 per evaluation:
     * an absolute floor of 1e-7 L0 / h on the difference quotient. */
    const double rel = fabs(fd - an) / (fmax(fabs(fd), fabs(an)) + floor_abs / h);
    if (rel < best) {
      best = rel;
      best_fd = fd;
      best_h = h;
    }
  }
  TEST_ASSERT(smooth > 0, "%s: the active set changes within every step tried", what);
  TEST_ASSERT(best <= GRAD_TOL, "%s: backward %.9g, best central difference %.9g (h %g, rel. err %.3g)",
              what, an, best_fd, best_h, best);
  if (getenv("HCSC_TEST_VERBOSE"))
    fprintf(stderr, "%s: backward %.9g, central difference %.9g (h %g, rel. err %.2g)\n", what, an,
            best_fd, best_h, best);
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
    check_direction(net, &R, p0, g0, dir, what, 1e-7 * L0);
  }
done:
  free(p0);
  free(g0);
  free(dir);
  runner_close(&R);
  hcsc_nn_destroy(&net);
}

/* ---- init against the solvers ---------------------------------------- */

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

static void check_lipschitz(void)
{
  static const struct { int k; const char *d; int eta; } cases[] = {
      {CASE_FISTA, "D", 0}, {CASE_ML2, "D1", 0}, {CASE_ML2, "D2", 1}};
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    hcsc_nn *net = NULL;
    TEST_OK(make_net(cases[c].k, 1, 0, &net));
    if (!net) continue;
    const float *eta = pget(net, "eta");
    const double L = ref_opnorm2(net, cases[c].d), ratio = 1.0 / (eta[cases[c].eta] * L);
    TEST_ASSERT(ratio > 1.03 && ratio < 1.0501, "%s: 1 / eta = %g, ||%s||^2 = %g: ratio %g (1.05 expected)",
                case_name[cases[c].k], 1.0 / eta[cases[c].eta], cases[c].d, L, ratio);
    hcsc_nn_destroy(&net);
  }
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
  /* Non-negative thresholds (the layer's other branch). */
  nonneg_all = 1;
  check_formulas(CASE_LADMM);
  check_formulas(CASE_ML2);
  check_gradients(CASE_SSC);
  nonneg_all = 0;
  check_init_solvers();
  check_lipschitz();
  check_init_and_homogeneity();
  for (int k = 0; k < NCASES; k++) check_distributed(k);
  return test_finish("t_nnarch");
}
