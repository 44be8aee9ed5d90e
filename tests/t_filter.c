/* Gaussian low-pass (hcsc/filter.h) on every G x P x Q grid of the rank
 * count (uneven splits included; radius 7 wider than some tiles, so halos
 * come from ranks further away) against a serial double-precision
 * reference with an explicit half-sample symmetric mirror; sigma 0 copies;
 * a halo narrower than the radius fails on every rank.  Tolerance 1e-5 of
 * the scene's largest value (float sums of <= 15 x 15 terms with weights
 * summing to 1). */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hypercsc.h"
#include "testutil.h"

enum { C = 3, H = 23, W = 17 };

static int64_t mirror(int64_t x, int64_t n)
{
  while (x < 0 || x >= n) {
    if (x < 0) x = -1 - x;
    if (x >= n) x = 2 * n - 1 - x;
  }
  return x;
}

static double val(int64_t c, int64_t r, int64_t q) { return hcsc_rng_normal(21, 3, c, r, q); }

static void reference(double sigma, float *out)
{
  const int R = (int)ceil(3 * sigma);
  double w[64], sum = 0;
  for (int t = -R; t <= R; t++) sum += w[t + R] = exp(-0.5 * t * t / (sigma * sigma));
  for (int c = 0; c < C; c++)
    for (int64_t i = 0; i < H; i++)
      for (int64_t j = 0; j < W; j++) {
        double a = 0;
        for (int u = -R; u <= R; u++)
          for (int v = -R; v <= R; v++)
            a += w[u + R] * w[v + R] * val(c, mirror(i + u, H), mirror(j + v, W));
        out[((int64_t)c * H + i) * W + j] = (float)(a / (sum * sum));
      }
}

static void check_grid(const int dims[3], double sigma, const float *ref)
{
  hcsc_grid *g = NULL;
  hcsc_tile x = {0}, y = {0};
  const int R = hcsc_gauss_radius(sigma);
  TEST_OK(hcsc_grid_create(MPI_COMM_WORLD, C, H, W, dims, &g));
  if (!g) return;
  const hcsc_box b = hcsc_grid_box(g);
  TEST_OK(hcsc_tile_alloc(&x, &b, b.nb, R));
  TEST_OK(hcsc_tile_alloc(&y, &b, b.nb, 0));
  for (int64_t c = 0; c < b.nb; c++)
    for (int64_t i = 0; i < b.nr; i++)
      for (int64_t j = 0; j < b.nc; j++) HCSC_TILE_AT(&x, c, i, j) = (float)val(b.b0 + c, b.r0 + i, b.c0 + j);
  TEST_OK(hcsc_gauss_lowpass(g, &x, sigma, &y));
  /* Gather-free check: compare the own box with the global reference. */
  double e = 0, m = 0;
  for (int64_t c = 0; c < b.nb; c++)
    for (int64_t i = 0; i < b.nr; i++)
      for (int64_t j = 0; j < b.nc; j++) {
        const double r = ref[((b.b0 + c) * H + b.r0 + i) * W + b.c0 + j];
        e = fmax(e, fabs(HCSC_TILE_AT(&y, c, i, j) - r));
        m = fmax(m, fabs(r));
      }
  MPI_Allreduce(MPI_IN_PLACE, &e, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  MPI_Allreduce(MPI_IN_PLACE, &m, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  TEST_ASSERT(m > 0 && e <= 1e-5 * m, "sigma %g on %dx%dx%d: max diff %g (max %g)", sigma, dims[0], dims[1],
              dims[2], e, m);
  if (test_rank() == 0) printf("sigma %g on %dx%dx%d: max diff %.3g (max %.3g)\n", sigma, dims[0], dims[1], dims[2], e, m);
  hcsc_tile_free(&x);
  hcsc_tile_free(&y);
  hcsc_grid_destroy(&g);
}

int main(int argc, char **argv)
{
  test_init(&argc, &argv);
  const int size = test_size();
  float *ref = malloc(sizeof(float) * C * H * W);
  const double sigmas[] = {0, 1, 2.3};
  for (int s = 0; s < 3; s++) {
    reference(sigmas[s] > 0 ? sigmas[s] : 1e-9, ref);
    for (int G = 1; G <= size && G <= C; G++)
      for (int P = 1; P <= size / G; P++) {
        if (size % (G * P)) continue;
        const int dims[3] = {G, P, size / (G * P)};
        check_grid(dims, sigmas[s], ref);
      }
  }
  /* A halo narrower than the radius: the same error on every rank. */
  {
    hcsc_grid *g = NULL;
    hcsc_tile x = {0}, y = {0};
    TEST_OK(hcsc_grid_create(MPI_COMM_WORLD, C, H, W, NULL, &g));
    const hcsc_box b = hcsc_grid_box(g);
    TEST_OK(hcsc_tile_alloc(&x, &b, b.nb, test_rank() == 0 ? 2 : 7));
    TEST_OK(hcsc_tile_alloc(&y, &b, b.nb, 0));
    test_expect_error(hcsc_gauss_lowpass(g, &x, 2.3, &y), HCSC_EINVAL, "narrower than the filter radius",
                      "halo narrower than the radius on rank 0");
    hcsc_tile_free(&x);
    hcsc_tile_free(&y);
    hcsc_grid_destroy(&g);
  }
  free(ref);
  return test_finish("t_filter");
}
