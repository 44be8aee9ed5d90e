/* Data masks in the networks (hcsc_nn_exec_set_mask, src/nn/exec.c):
 *  - gradient check with a mask (lista and ssc, tiny sizes from
 *    hcsc_nn_create, perturbed params, adapt = 1, a B-channel and a
 *    1-channel mask): L = 1/2 ||f(x) - c||^2 along a random direction over
 *    all the parameters and along band_w alone, and along a direction of x
 *    (dx), against central differences (the kink-tolerant scheme of
 *    t_nnarch.c: h from 1e-2 down by 4 until one smooth step agrees to
 *    2e-2 relative);
 *  - a mask of ones gives the output of no mask (bit for bit); a mask with
 *    zeros changes it; NaN under W = 0 gives the same output as 0 there
 *    (bit for bit), and the values under W = 0 do not matter at all;
 *  - the forward with a mask on a 13 x 11 scene over MPI_COMM_WORLD equals
 *    the whole-scene MPI_COMM_SELF one (1e-5 relative, float rounding of
 *    sums in another order);
 *  - a mask of the wrong shape is HCSC_ESIZE. */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hypercsc.h"
#include "t_nnarch_ref.h"
#include "testutil.h"

#define B 4
#define PH 12
#define PW 10
#define SH 13
#define SW 11
#define GRAD_TOL 2e-2

static double clean_at(int64_t b, int64_t r, int64_t c)
{
  return sin(0.35 * r + 0.4 * b) * cos(0.3 * c - 0.2 * b) + 0.3 * (b + 1) * cos(0.2 * (r - c));
}

/* W: about 30 % zeros, a pseudo-random pattern of global coordinates (the
 * same on every decomposition). */
static float mask_at(int64_t b, int64_t r, int64_t c)
{
  return hcsc_rng_uniform(99, 1, b, r, c) < 0.3 ? 0.0f : 1.0f;
}

static void fill(hcsc_tile *x, hcsc_tile *c, hcsc_tile *m)
{
  const hcsc_box bx = x->box;
  for (int64_t b = 0; b < x->nchan; b++)
    for (int64_t i = 0; i < bx.nr; i++)
      for (int64_t j = 0; j < bx.nc; j++) {
        const int64_t r = bx.r0 + i, q = bx.c0 + j;
        const double v = clean_at(b, r, q);
        HCSC_TILE_AT(x, b, i, j) = (float)(v + 0.05 * (1 + 2 * b) * hcsc_rng_normal(77, 3, b, r, q));
        if (c) HCSC_TILE_AT(c, b, i, j) = (float)v;
      }
  if (m)
    for (int64_t b = 0; b < m->nchan; b++)
      for (int64_t i = 0; i < bx.nr; i++)
        for (int64_t j = 0; j < bx.nc; j++) HCSC_TILE_AT(m, b, i, j) = mask_at(b, bx.r0 + i, bx.c0 + j);
}

typedef struct {
  hcsc_grid *g;
  hcsc_nn_exec *e;
  hcsc_box box;
  hcsc_tile x, c, y, dy, dx, m;
  const hcsc_nn_noise *nz; /* fixed noise estimates, or NULL: estimated per forward */
} runner;

static int runner_open(runner *R, hcsc_nn *net, MPI_Comm comm, int64_t H, int64_t W, int mch, int train)
{
  memset(R, 0, sizeof *R);
  int err = hcsc_grid_create(comm, B, H, W, NULL, &R->g);
  if (err) return err;
  R->box = hcsc_grid_box(R->g);
  if ((err = hcsc_tile_alloc(&R->x, &R->box, B, 0)) || (err = hcsc_tile_alloc(&R->c, &R->box, B, 0)) ||
      (err = hcsc_tile_alloc(&R->y, &R->box, B, 0)) || (err = hcsc_tile_alloc(&R->dy, &R->box, B, 0)) ||
      (err = hcsc_tile_alloc(&R->dx, &R->box, B, 0)) || (err = hcsc_tile_alloc(&R->m, &R->box, mch, 0)))
    return err;
  fill(&R->x, &R->c, &R->m);
  err = hcsc_nn_exec_create(net, R->g, train, &R->e);
  if (!err) err = hcsc_nn_exec_set_mask(R->e, &R->m);
  return err;
}

static void runner_close(runner *R)
{
  hcsc_nn_exec_destroy(&R->e);
  hcsc_tile_free(&R->x);
  hcsc_tile_free(&R->c);
  hcsc_tile_free(&R->y);
  hcsc_tile_free(&R->dy);
  hcsc_tile_free(&R->dx);
  hcsc_tile_free(&R->m);
  hcsc_grid_destroy(&R->g);
}

static int runner_loss(runner *R, double *loss, double *density)
{
  int err = hcsc_nn_forward(R->e, &R->x, R->nz, &R->y);
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
  hcsc_nn_figures f;
  hcsc_nn_exec_figures(R->e, &f);
  *density = f.code_density;
  return 0;
}

/* Central differences along dir in the parameters (xdir NULL) or in x
 * (dir NULL): L(v + h d) - L(v - h d) over the step actually taken. */
static void check_direction(hcsc_nn *net, runner *R, const float *dir, const float *xdir, double an,
                            const char *what)
{
  const int64_t n = dir ? net->size : (int64_t)(B * R->box.nr * R->box.nc);
  float *v = dir ? net->params : R->x.data;
  const float *d = dir ? dir : xdir;
  float *v0 = malloc(sizeof(float) * (size_t)n);
  double L0, d0, best = INFINITY, best_fd = 0, best_h = 0;
  int smooth = 0;
  if (!v0) {
    TEST_ASSERT(0, "out of memory");
    return;
  }
  memcpy(v0, v, sizeof(float) * (size_t)n);
  TEST_OK(runner_loss(R, &L0, &d0));
  for (double h = 1e-2; h > 5e-6 && best > GRAD_TOL; h /= 4) {
    double Lp, Lm, dp, dm, num = 0, den = 0;
    for (int64_t i = 0; i < n; i++) v[i] = (float)(v0[i] + h * d[i]);
    hcsc_nn_touch(net);
    TEST_OK(runner_loss(R, &Lp, &dp));
    for (int64_t i = 0; i < n; i++) v[i] = (float)(v0[i] - h * d[i]);
    hcsc_nn_touch(net);
    TEST_OK(runner_loss(R, &Lm, &dm));
    if (fabs(dp - d0) > 5e-4 || fabs(dm - d0) > 5e-4) continue;
    smooth++;
    for (int64_t i = 0; i < n; i++) {
      const double st = (double)(float)(v0[i] + h * d[i]) - (double)(float)(v0[i] - h * d[i]);
      num += st * d[i];
      den += (double)d[i] * d[i];
    }
    const double fd = (Lp - Lm) / (den > 0 ? num / den : 2 * h);
    const double rel = fabs(fd - an) / (fmax(fabs(fd), fabs(an)) + 1e-7 * L0 / h);
    if (rel < best) {
      best = rel;
      best_fd = fd;
      best_h = h;
    }
  }
  memcpy(v, v0, sizeof(float) * (size_t)n);
  hcsc_nn_touch(net);
  free(v0);
  TEST_ASSERT(smooth > 0, "%s: the active set changes within every step tried", what);
  TEST_ASSERT(best <= GRAD_TOL, "%s: backward %.9g, best central difference %.9g (h %g, rel. err %.3g)",
              what, an, best_fd, best_h, best);
}

static void check_gradients(hcsc_nn_arch arch, int mch)
{
  hcsc_nn *net = NULL;
  runner R;
  char what[96];
  float *dir = NULL, *xdir = NULL;
  TEST_OK(small_net(arch, 0, &net));
  if (!net) return;
  TEST_OK(runner_open(&R, net, MPI_COMM_SELF, PH, PW, mch, 1));
  if (!R.e) goto done;
  double L0, d0;
  hcsc_nn_noise nz = {0};
  TEST_OK(runner_loss(&R, &L0, &d0));
  hcsc_nn_zero_grad(net);
  TEST_OK(hcsc_nn_backward(R.e, &R.dy, &R.dx));
  dir = calloc((size_t)net->size, sizeof(float));
  xdir = calloc((size_t)(B * PH * PW), sizeof(float));
  if (!dir || !xdir) goto done;
  hcsc_rng g;
  hcsc_rng_init(&g, 555, (uint32_t)arch);
  const hcsc_nn_param *bw = hcsc_nn_find(net, "band_w");
  for (int pass = 0; pass < 2; pass++) {
    double an = 0;
    memset(dir, 0, sizeof(float) * (size_t)net->size);
    for (int64_t i = 0; i < net->size; i++)
      if (pass == 0 || (bw && i >= bw->offset && i < bw->offset + bw->count))
        dir[i] = (float)(hcsc_rng_next_uniform(&g) - 0.5) * (float)fmax(fabs(net->params[i]), 0.1);
    for (int64_t i = 0; i < net->size; i++) an += (double)net->grads[i] * dir[i];
    snprintf(what, sizeof what, "%s, %d-channel mask, %s", hcsc_nn_arch_name(arch), mch,
             pass == 0 ? "all parameters" : "band_w");
    check_direction(net, &R, dir, NULL, an, what);
  }
  /* dx: only values where W = 1 move the loss; a direction everywhere
   * also checks that dx is 0 where W = 0 (the input is zeroed there).  The
   * noise estimates are constants of the backward (nn.h): held fixed. */
  TEST_OK(hcsc_nn_noise_estimate(R.e, &R.x, &nz));
  R.nz = &nz;
  TEST_OK(runner_loss(&R, &L0, &d0));
  hcsc_nn_zero_grad(net);
  TEST_OK(hcsc_nn_backward(R.e, &R.dy, &R.dx));
  double an = 0;
  for (int64_t i = 0; i < B * PH * PW; i++) {
    xdir[i] = (float)(hcsc_rng_next_uniform(&g) - 0.5);
    an += (double)R.dx.data[i] * xdir[i];
  }
  snprintf(what, sizeof what, "%s, %d-channel mask, input", hcsc_nn_arch_name(arch), mch);
  check_direction(net, &R, NULL, xdir, an, what);
  hcsc_nn_noise_free(&nz);
done:
  free(dir);
  free(xdir);
  runner_close(&R);
  hcsc_nn_destroy(&net);
}

/* Exact equalities of the masked forward (no training exec). */
static void check_values(hcsc_nn_arch arch)
{
  hcsc_nn *net = NULL;
  runner R;
  hcsc_tile y0 = {0}, ones = {0};
  TEST_OK(small_net(arch, 0, &net));
  if (!net) return;
  TEST_OK(runner_open(&R, net, MPI_COMM_SELF, PH, PW, B, 0));
  if (!R.e) goto done;
  TEST_OK(hcsc_tile_alloc(&y0, &R.box, B, 0));
  TEST_OK(hcsc_tile_alloc(&ones, &R.box, 1, 0));
  if (!y0.data || !ones.data) goto done;
  const size_t n = (size_t)(B * PH * PW);
  /* Ones = no mask. */
  TEST_OK(hcsc_nn_exec_set_mask(R.e, NULL));
  TEST_OK(hcsc_nn_forward(R.e, &R.x, NULL, &y0));
  for (int64_t i = 0; i < PH * PW; i++) ones.data[i] = 1.0f;
  TEST_OK(hcsc_nn_exec_set_mask(R.e, &ones));
  TEST_OK(hcsc_nn_forward(R.e, &R.x, NULL, &R.y));
  TEST_ASSERT(memcmp(y0.data, R.y.data, n * sizeof(float)) == 0, "%s: a mask of ones changes the output",
              hcsc_nn_arch_name(arch));
  /* A real mask changes it; NaN or garbage under W = 0 does not. */
  TEST_OK(hcsc_nn_exec_set_mask(R.e, &R.m));
  for (size_t i = 0; i < n; i++)
    if (R.m.data[i] == 0.0f) R.x.data[i] = 0.0f;
  TEST_OK(hcsc_nn_forward(R.e, &R.x, NULL, &y0));
  TEST_ASSERT(memcmp(y0.data, R.y.data, n * sizeof(float)) != 0, "%s: the mask has no effect",
              hcsc_nn_arch_name(arch));
  for (int trial = 0; trial < 2; trial++) {
    for (size_t i = 0; i < n; i++)
      if (R.m.data[i] == 0.0f) R.x.data[i] = trial == 0 ? NAN : 1e3f * (float)i;
    TEST_OK(hcsc_nn_forward(R.e, &R.x, NULL, &R.y));
    TEST_ASSERT(memcmp(y0.data, R.y.data, n * sizeof(float)) == 0,
                "%s: %s under W = 0 gives another output than 0", hcsc_nn_arch_name(arch),
                trial == 0 ? "NaN" : "large values");
  }
  int finite = 1;
  for (size_t i = 0; i < n; i++) finite &= isfinite(R.y.data[i]) != 0;
  TEST_ASSERT(finite, "%s: masked output not finite", hcsc_nn_arch_name(arch));
  /* Wrong shapes. */
  {
    hcsc_tile bad = {0};
    hcsc_box bb = R.box;
    bb.nr -= 1;
    TEST_OK(hcsc_tile_alloc(&bad, &bb, 1, 0));
    test_expect_error(hcsc_nn_exec_set_mask(R.e, &bad), HCSC_ESIZE, "mask of", "set_mask rows");
    hcsc_tile_free(&bad);
    TEST_OK(hcsc_tile_alloc(&bad, &R.box, 2, 0));
    test_expect_error(hcsc_nn_exec_set_mask(R.e, &bad), HCSC_ESIZE, "mask of", "set_mask channels");
    hcsc_tile_free(&bad);
  }
done:
  hcsc_tile_free(&y0);
  hcsc_tile_free(&ones);
  runner_close(&R);
  hcsc_nn_destroy(&net);
}

static void check_distributed(hcsc_nn_arch arch, int mch)
{
  hcsc_nn *net = NULL;
  runner S, D;
  const size_t n = (size_t)(B * SH * SW);
  float *ys = calloc(n, sizeof(float)), *yd = calloc(n, sizeof(float));
  TEST_OK(small_net(arch, 0, &net));
  if (!net || !ys || !yd) goto out;
  TEST_OK(runner_open(&S, net, MPI_COMM_SELF, SH, SW, mch, 0));
  /* NaN under W = 0 in both runs, as a scene with nodata would have. */
  for (size_t i = 0; S.e && i < n; i++)
    if (S.m.data[mch == 1 ? i % (SH * SW) : i] == 0.0f) S.x.data[i] = NAN;
  if (S.e) TEST_OK(hcsc_nn_forward(S.e, &S.x, NULL, &S.y));
  if (S.y.data) memcpy(ys, S.y.data, n * sizeof(float));
  runner_close(&S);
  TEST_OK(runner_open(&D, net, MPI_COMM_WORLD, SH, SW, mch, 0));
  for (int64_t b = 0; D.e && b < B; b++)
    for (int64_t i = 0; i < D.box.nr; i++)
      for (int64_t j = 0; j < D.box.nc; j++)
        if (HCSC_TILE_AT(&D.m, mch == 1 ? 0 : b, i, j) == 0.0f) HCSC_TILE_AT(&D.x, b, i, j) = NAN;
  if (D.e) TEST_OK(hcsc_nn_forward(D.e, &D.x, NULL, &D.y));
  for (int64_t b = 0; D.y.data && b < B; b++)
    for (int64_t i = 0; i < D.box.nr; i++)
      for (int64_t j = 0; j < D.box.nc; j++)
        yd[(b * SH + D.box.r0 + i) * SW + D.box.c0 + j] = HCSC_TILE_AT(&D.y, b, i, j);
  double emax, rmax;
  test_box_maxdiff(yd, ys, B, SH, SW, &D.box, &emax, &rmax);
  TEST_ASSERT(emax <= 1e-5 * rmax + 1e-7, "%s, %d-channel mask: distributed forward differs by %g (max |y| %g)",
              hcsc_nn_arch_name(arch), mch, emax, rmax);
  runner_close(&D);
out:
  free(ys);
  free(yd);
  hcsc_nn_destroy(&net);
}

int main(int argc, char **argv)
{
  test_init(&argc, &argv);
  const hcsc_nn_arch archs[2] = {HCSC_NN_LISTA, HCSC_NN_SSC};
  for (int a = 0; a < 2; a++) {
    check_gradients(archs[a], B);
    check_gradients(archs[a], 1);
    check_values(archs[a]);
    check_distributed(archs[a], B);
    check_distributed(archs[a], 1);
  }
  return test_finish("t_nnmask");
}
