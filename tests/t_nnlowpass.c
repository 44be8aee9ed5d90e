/* The low-pass split of the networks (nn.h: y = G_S x + f(x - G_S x),
 * hcsc_nn_apply / hcsc_nn_split, src/nn/apply.c):
 *  - reference on the whole scene: G_S written in the test (separable
 *    Gaussian exp(-d^2 / 2 S^2) truncated at ceil(3 S), normalised, with
 *    the half-sample symmetric extension of the scene edge; masked: the
 *    normalised convolution G(W x) / G(W)), f by hcsc_nn_forward on an
 *    MPI_COMM_SELF exec (f itself is checked against nn.h's formulas in
 *    t_nnarch), y_ref = G x + f(x - G x);
 *  - hcsc_nn_apply on a 13 x 11 x 4 scene over MPI_COMM_WORLD (every rank
 *    count: 1, 2, 3, 4 ranks give 1-D and 2-D splits) equals y_ref to
 *    1e-5 of max |y_ref| (float sums in another order), for lista and ssc,
 *    without and with a mask (30 % zeros);
 *  - with lowpass = 0 hcsc_nn_apply is hcsc_nn_forward bit for bit;
 *  - a negative or NaN lowpass is refused by hcsc_nn_config_check. */
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
#define SH 13
#define SW 11
#define LP 1.3

static double clean_at(int64_t b, int64_t r, int64_t c)
{
  return 2.0 + sin(0.35 * r + 0.4 * b) * cos(0.3 * c - 0.2 * b) + 0.3 * (b + 1) * cos(0.2 * (r - c));
}

static float x_at(int64_t b, int64_t r, int64_t c)
{
  return (float)(clean_at(b, r, c) + 0.1 * hcsc_rng_normal(77, 3, b, r, c));
}

static float mask_at(int64_t r, int64_t c) { return hcsc_rng_uniform(99, 1, 0, r, c) < 0.3 ? 0.0f : 1.0f; }

static int64_t mirror(int64_t i, int64_t n)
{
  const int64_t p = 2 * n;
  i %= p;
  if (i < 0) i += p;
  return i < n ? i : p - 1 - i;
}

/* out = G_S in on the whole scene (H x W per channel), separable. */
static void ref_gauss(const double *in, int64_t C, double *out)
{
  const int R = (int)ceil(3.0 * LP);
  double w[64], sw = 0, *tmp = malloc(sizeof(double) * (size_t)(C * SH * SW));
  for (int d = -R; d <= R; d++) sw += (w[d + R] = exp(-0.5 * d * d / (LP * LP)));
  for (int d = 0; d <= 2 * R; d++) w[d] /= sw;
  for (int64_t c = 0; c < C; c++)
    for (int64_t r = 0; r < SH; r++)
      for (int64_t q = 0; q < SW; q++) {
        double s = 0;
        for (int d = -R; d <= R; d++) s += w[d + R] * in[(c * SH + mirror(r + d, SH)) * SW + q];
        tmp[(c * SH + r) * SW + q] = s;
      }
  for (int64_t c = 0; c < C; c++)
    for (int64_t r = 0; r < SH; r++)
      for (int64_t q = 0; q < SW; q++) {
        double s = 0;
        for (int d = -R; d <= R; d++) s += w[d + R] * tmp[(c * SH + r) * SW + mirror(q + d, SW)];
        out[(c * SH + r) * SW + q] = s;
      }
  free(tmp);
}

/* y_ref (whole scene, B x SH x SW) of net on the scene, masked or not. */
static void reference(hcsc_nn *net, int masked, float *yref)
{
  const hcsc_box all = {0, B, 0, SH, 0, SW};
  const int64_t n = (int64_t)B * SH * SW;
  double *xv = malloc(sizeof(double) * (size_t)n), *xl = malloc(sizeof(double) * (size_t)n);
  double *wv = malloc(sizeof(double) * SH * SW), *wl = malloc(sizeof(double) * SH * SW);
  hcsc_grid *g = NULL;
  hcsc_nn_exec *e = NULL;
  hcsc_tile xh = {0}, y = {0}, m = {0};
  for (int64_t r = 0; r < SH; r++)
    for (int64_t q = 0; q < SW; q++) wv[r * SW + q] = masked ? mask_at(r, q) : 1.0;
  for (int64_t b = 0; b < B; b++)
    for (int64_t r = 0; r < SH; r++)
      for (int64_t q = 0; q < SW; q++) xv[(b * SH + r) * SW + q] = wv[r * SW + q] * x_at(b, r, q);
  ref_gauss(xv, B, xl);
  ref_gauss(wv, 1, wl);
  TEST_OK(hcsc_grid_create(MPI_COMM_SELF, B, SH, SW, NULL, &g));
  TEST_OK(hcsc_tile_alloc(&xh, &all, B, 0));
  TEST_OK(hcsc_tile_alloc(&y, &all, B, 0));
  TEST_OK(hcsc_tile_alloc(&m, &all, 1, 0));
  for (int64_t r = 0; r < SH; r++)
    for (int64_t q = 0; q < SW; q++) HCSC_TILE_AT(&m, 0, r, q) = (float)wv[r * SW + q];
  for (int64_t b = 0; b < B; b++)
    for (int64_t r = 0; r < SH; r++)
      for (int64_t q = 0; q < SW; q++) {
        const int64_t i = (b * SH + r) * SW + q;
        xl[i] /= wl[r * SW + q];
        /* where W = 0 the value of x - G x does not matter (f ignores it) */
        HCSC_TILE_AT(&xh, b, r, q) = (float)(x_at(b, r, q) - (wv[r * SW + q] > 0 ? xl[i] : 0.0));
      }
  TEST_OK(hcsc_nn_exec_create(net, g, 0, &e));
  if (masked) TEST_OK(hcsc_nn_exec_set_mask(e, &m));
  TEST_OK(hcsc_nn_forward(e, &xh, NULL, &y));
  for (int64_t b = 0; b < B; b++)
    for (int64_t r = 0; r < SH; r++)
      for (int64_t q = 0; q < SW; q++)
        yref[(b * SH + r) * SW + q] = (float)(HCSC_TILE_AT(&y, b, r, q) + xl[(b * SH + r) * SW + q]);
  hcsc_nn_exec_destroy(&e);
  hcsc_grid_destroy(&g);
  hcsc_tile_free(&xh);
  hcsc_tile_free(&y);
  hcsc_tile_free(&m);
  free(xv);
  free(xl);
  free(wv);
  free(wl);
}

static void check_arch(hcsc_nn_arch arch, int masked)
{
  hcsc_nn *net = NULL;
  hcsc_grid *g = NULL;
  hcsc_nn_exec *e = NULL;
  hcsc_tile x = {0}, y = {0}, m = {0};
  float *yref = malloc(sizeof(float) * B * SH * SW);
  double emax = 0, rmax = 0;
  TEST_OK(small_net(arch, LP, &net));
  if (!net || !yref) goto done;
  reference(net, masked, yref);
  TEST_OK(hcsc_grid_create(MPI_COMM_WORLD, B, SH, SW, NULL, &g));
  const hcsc_box box = hcsc_grid_box(g);
  TEST_OK(hcsc_tile_alloc(&x, &box, B, 0));
  TEST_OK(hcsc_tile_alloc(&y, &box, B, 0));
  TEST_OK(hcsc_tile_alloc(&m, &box, 1, 0));
  for (int64_t i = 0; i < box.nr; i++)
    for (int64_t j = 0; j < box.nc; j++) {
      HCSC_TILE_AT(&m, 0, i, j) = mask_at(box.r0 + i, box.c0 + j);
      for (int64_t b = 0; b < B; b++) {
        HCSC_TILE_AT(&x, b, i, j) = x_at(b, box.r0 + i, box.c0 + j);
        /* values under W = 0 are ignored: make them NaN to prove it */
        if (masked && HCSC_TILE_AT(&m, 0, i, j) == 0) HCSC_TILE_AT(&x, b, i, j) = NAN;
      }
    }
  TEST_OK(hcsc_nn_exec_create(net, g, 0, &e));
  if (masked) TEST_OK(hcsc_nn_exec_set_mask(e, &m));
  TEST_OK(hcsc_nn_apply(e, g, &x, masked ? &m : NULL, NULL, &y));
  {
    double mm[2] = {0, 0};
    for (int64_t b = 0; b < B; b++)
      for (int64_t i = 0; i < box.nr; i++)
        for (int64_t j = 0; j < box.nc; j++) {
          const double r = yref[(b * SH + box.r0 + i) * SW + box.c0 + j];
          mm[0] = fmax(mm[0], fabs((double)HCSC_TILE_AT(&y, b, i, j) - r));
          mm[1] = fmax(mm[1], fabs(r));
        }
    MPI_Allreduce(MPI_IN_PLACE, mm, 2, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    emax = mm[0], rmax = mm[1];
  }
  if (test_rank() == 0)
    printf("  %s%s: apply vs G x + f(x - G x), max |diff| %.3g of max |y| %.3g\n", hcsc_nn_arch_name(arch),
           masked ? " masked" : "", emax, rmax);
  TEST_ASSERT(emax <= 1e-5 * rmax, "%s%s: apply differs from the reference by %.3g (max |y| %.3g)",
              hcsc_nn_arch_name(arch), masked ? " masked" : "", emax, rmax);
done:
  hcsc_nn_exec_destroy(&e);
  hcsc_grid_destroy(&g);
  hcsc_nn_destroy(&net);
  hcsc_tile_free(&x);
  hcsc_tile_free(&y);
  hcsc_tile_free(&m);
  free(yref);
}

/* lowpass = 0: apply is forward, bit for bit. */
static void check_plain(void)
{
  hcsc_nn *net = NULL;
  hcsc_grid *g = NULL;
  hcsc_nn_exec *e = NULL;
  hcsc_tile x = {0}, y1 = {0}, y2 = {0};
  TEST_OK(small_net(HCSC_NN_LISTA, 0, &net));
  TEST_OK(hcsc_grid_create(MPI_COMM_WORLD, B, SH, SW, NULL, &g));
  if (!net || !g) goto done;
  const hcsc_box box = hcsc_grid_box(g);
  TEST_OK(hcsc_tile_alloc(&x, &box, B, 0));
  TEST_OK(hcsc_tile_alloc(&y1, &box, B, 0));
  TEST_OK(hcsc_tile_alloc(&y2, &box, B, 0));
  for (int64_t b = 0; b < B; b++)
    for (int64_t i = 0; i < box.nr; i++)
      for (int64_t j = 0; j < box.nc; j++) HCSC_TILE_AT(&x, b, i, j) = x_at(b, box.r0 + i, box.c0 + j);
  TEST_OK(hcsc_nn_exec_create(net, g, 0, &e));
  TEST_OK(hcsc_nn_forward(e, &x, NULL, &y1));
  TEST_OK(hcsc_nn_apply(e, g, &x, NULL, NULL, &y2));
  TEST_ASSERT(memcmp(y1.data, y2.data, sizeof(float) * (size_t)(B * box.nr * box.nc)) == 0,
              "lowpass 0: apply is not forward bit for bit");
done:
  hcsc_nn_exec_destroy(&e);
  hcsc_grid_destroy(&g);
  hcsc_nn_destroy(&net);
  hcsc_tile_free(&x);
  hcsc_tile_free(&y1);
  hcsc_tile_free(&y2);
}

int main(int argc, char **argv)
{
  test_init(&argc, &argv);
  check_arch(HCSC_NN_LISTA, 0);
  check_arch(HCSC_NN_SSC, 0);
  check_arch(HCSC_NN_LISTA, 1);
  check_arch(HCSC_NN_SSC, 1);
  check_plain();
  {
    hcsc_nn_config c;
    hcsc_nn_config_default(HCSC_NN_LISTA, B, &c);
    c.lowpass = -1;
    test_expect_error(hcsc_nn_config_check(&c), HCSC_EINVAL, "lowpass", "negative lowpass");
    c.lowpass = NAN;
    test_expect_error(hcsc_nn_config_check(&c), HCSC_EINVAL, "lowpass", "NaN lowpass");
  }
  return test_finish("t_nnlowpass");
}
