/* The band-chunked noise estimate: 37 bands (chunks of 16, 16 and 5) with
 * NaN holes on a 12 x 9 scene, on every G x P x Q grid of the rank count:
 * hcsc_stats_compute's noise and (G = 1) hcsc_stats_noise equal, bit for
 * bit, a serial estimate computed here (qsort medians of all horizontal
 * pair differences, as stats.h defines them), with ties (two bands on a
 * coarse grid of values) and both parities of the pair count. */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hypercsc.h"
#include "testutil.h"

#define B 37
#define H 12
#define W 9

static float value(int64_t b, int64_t r, int64_t c)
{
  /* A few NaN (nodata) so that pairs are left out, band 5 all NaN (no pair). */
  const double v = 0.1 * (double)b + hcsc_rng_normal(5, (uint64_t)b, 0, r, c);
  /* Bands 7 and 20: no holes (12 x 8 pairs, an even count) and values on a
   * coarse grid, so the two middle order statistics tie. */
  if (b == 7 || b == 20) return (float)(0.5 * round(2.0 * v) + (c % 3 == 0 ? 0.25 : 0.0));
  if (b == 5 || (r * W + c + b) % 17 == 3) return NAN;
  return (float)v;
}

static int cmp_d(const void *a, const void *b)
{
  const double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v, int64_t n)
{
  qsort(v, (size_t)n, sizeof *v, cmp_d);
  return 0.5 * (v[(n - 1) / 2] + v[n / 2]);
}

static double serial_noise(int64_t b)
{
  double d[H * W];
  int64_t n = 0;
  for (int64_t r = 0; r < H; r++)
    for (int64_t c = 0; c + 1 < W; c++) {
      const float x = value(b, r, c), y = value(b, r, c + 1);
      if (!isnan(x) && !isnan(y)) d[n++] = ((double)x - (double)y) * 0.70710678118654752440;
    }
  if (n < 2) return NAN;
  const double med = median(d, n);
  for (int64_t i = 0; i < n; i++) d[i] = fabs(d[i] - med);
  return 1.4826 * median(d, n);
}

static int same(double a, double b) { return (isnan(a) && isnan(b)) || a == b; }

static void run(const int dims[3], const double *ref)
{
  hcsc_grid *g = NULL;
  hcsc_halo *h = NULL;
  hcsc_tile t = {0};
  hcsc_stats st;
  double noise[B];
  memset(&st, 0, sizeof st);
  TEST_OK(hcsc_grid_create(MPI_COMM_WORLD, B, H, W, dims, &g));
  if (!g) return;
  const hcsc_box box = hcsc_grid_box(g);
  TEST_OK(hcsc_tile_alloc(&t, &box, box.nb, 1));
  TEST_OK(hcsc_halo_create(g, 1, box.nb, &h));
  if (!t.data || !h) goto done;
  for (int64_t b = 0; b < box.nb; b++)
    for (int64_t r = 0; r < box.nr; r++)
      for (int64_t c = 0; c < box.nc; c++)
        HCSC_TILE_AT(&t, b, r, c) = value(box.b0 + b, box.r0 + r, box.c0 + c);
  TEST_OK(hcsc_halo_exchange(h, &t));
  TEST_OK(hcsc_stats_compute(hcsc_grid_comm(g), &t, B, W, 1, &st));
  for (int64_t b = 0; st.noise && b < B; b++)
    TEST_ASSERT(same(st.noise[b], ref[b]), "grid %dx%dx%d band %lld: hcsc_stats_compute noise "
                "%.17g, serial %.17g", dims[0], dims[1], dims[2], (long long)b, st.noise[b], ref[b]);
  if (dims[0] == 1) {
    TEST_OK(hcsc_stats_noise(hcsc_grid_comm(g), &t, W, noise));
    for (int64_t b = 0; b < B; b++)
      TEST_ASSERT(same(noise[b], ref[b]), "grid 1x%dx%d band %lld: hcsc_stats_noise %.17g, serial "
                  "%.17g", dims[1], dims[2], (long long)b, noise[b], ref[b]);
  }
done:
  hcsc_stats_free(&st);
  hcsc_halo_destroy(&h);
  hcsc_tile_free(&t);
  hcsc_grid_destroy(&g);
}

int main(int argc, char **argv)
{
  double ref[B];
  test_init(&argc, &argv);
  const int n = test_size();
  for (int64_t b = 0; b < B; b++) ref[b] = serial_noise(b);
  TEST_ASSERT(isnan(ref[5]) && isfinite(ref[0]), "fixture: band 5 should have no pair");
  for (int G = 1; G <= n; G++)
    for (int P = 1; P * G <= n; P++) {
      if (n % (G * P)) continue;
      const int dims[3] = {G, P, n / (G * P)};
      run(dims, ref);
    }
  return test_finish("t_stats_noise");
}
