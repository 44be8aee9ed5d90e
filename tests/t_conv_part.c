/* Convolution parts (overlap with the halo exchange) and shared analysis
 * scratch: for k in {1, 2, 3, 4, 5, 6}, both backends, scenes 13 x 11 and
 * 30 x 40, every P x Q grid of the rank count, synthesis and analysis
 * computed
 *   (a) WHOLE after hcsc_halo_exchange (own scratch),
 *   (b) INNER between hcsc_halo_begin and hcsc_halo_end, BORDER after
 *       (the halo cells are poisoned with NaN before begin, so INNER
 *       reading any halo cell would show), scratch lent by
 *       hcsc_conv_set_work and shared with a second plan that runs an
 *       analysis of its own in between two pairs,
 * must agree bit for bit (memcmp of the interiors).  Also the scratch size
 * check of hcsc_conv_set_work and part = INNER leaving the FFT output
 * alone. */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hypercsc.h"
#include "testutil.h"

static void fill_interior(hcsc_tile *t, uint64_t seed)
{
  for (int64_t ch = 0; ch < t->nchan; ch++)
    for (int64_t r = 0; r < t->box.nr; r++)
      for (int64_t c = 0; c < t->box.nc; c++)
        HCSC_TILE_AT(t, ch, r, c) =
            (float)hcsc_rng_normal(seed, 1, ch, t->box.r0 + r, t->box.c0 + c);
}

/* NaN in every halo cell (the interior kept). */
static void poison_halo(hcsc_tile *t)
{
  for (int64_t ch = 0; ch < t->nchan; ch++)
    for (int64_t r = -t->halo; r < t->box.nr + t->halo; r++)
      for (int64_t c = -t->halo; c < t->box.nc + t->halo; c++)
        if (r < 0 || r >= t->box.nr || c < 0 || c >= t->box.nc) HCSC_TILE_AT(t, ch, r, c) = NAN;
}

static int same_interior(const hcsc_tile *a, const hcsc_tile *b)
{
  for (int64_t ch = 0; ch < a->nchan; ch++)
    for (int64_t r = 0; r < a->box.nr; r++)
      if (memcmp(&HCSC_TILE_AT(a, ch, r, 0), &HCSC_TILE_AT(b, ch, r, 0),
                 sizeof(float) * (size_t)a->box.nc))
        return 0;
  return 1;
}

static void run_case(const int dims[3], int64_t H, int64_t W, int M, int C, int k,
                     hcsc_conv_backend be)
{
  hcsc_grid *grid = NULL;
  hcsc_dict d, d2;
  hcsc_conv *op = NULL, *op2 = NULL;
  hcsc_halo *hz = NULL, *hr = NULL;
  hcsc_tile z = {0}, r = {0}, x1 = {0}, x2 = {0}, g1 = {0}, g2 = {0}, g3 = {0};
  float *work = NULL;
  memset(&d, 0, sizeof d);
  memset(&d2, 0, sizeof d2);
  const int h = k - 1 - (k - 1) / 2;
  TEST_OK(hcsc_grid_create(MPI_COMM_WORLD, C, H, W, dims, &grid));
  if (!grid) return;
  const hcsc_box box = hcsc_grid_box(grid);
  TEST_OK(hcsc_dict_alloc(&d, M, C, k, 1));
  TEST_OK(hcsc_dict_init_random(&d, 7 + (uint64_t)k));
  TEST_OK(hcsc_dict_alloc(&d2, M + 1, C, k, 1));
  TEST_OK(hcsc_dict_init_random(&d2, 9));
  TEST_OK(hcsc_conv_create(&d, &box, H, W, be, &op));
  TEST_OK(hcsc_conv_create(&d2, &box, H, W, be, &op2));
  TEST_OK(hcsc_tile_alloc(&z, &box, M, h));
  TEST_OK(hcsc_tile_alloc(&r, &box, C, h));
  TEST_OK(hcsc_tile_alloc(&x1, &box, C, 0));
  TEST_OK(hcsc_tile_alloc(&x2, &box, C, 1));
  TEST_OK(hcsc_tile_alloc(&g1, &box, M, 0));
  TEST_OK(hcsc_tile_alloc(&g2, &box, M, 2));
  TEST_OK(hcsc_tile_alloc(&g3, &box, M + 1, 0));
  if (h > 0) {
    TEST_OK(hcsc_halo_create(grid, h, M, &hz));
    TEST_OK(hcsc_halo_create(grid, h, C, &hr));
  }
  if (!op || !op2 || !z.data || !r.data || (h > 0 && (!hz || !hr))) goto done;
  fill_interior(&z, 21);
  fill_interior(&r, 22);

  /* (a) whole */
  if (hz) TEST_OK(hcsc_halo_exchange(hz, &z));
  if (hr) TEST_OK(hcsc_halo_exchange(hr, &r));
  hcsc_tile_zero_outside(&r, H, W);
  TEST_OK(hcsc_conv_synth(op, &z, &x1));
  TEST_OK(hcsc_conv_analysis(op, &r, &g1));

  /* (b) parts around the exchange, shared scratch */
  {
    size_t n = hcsc_conv_work_size(op), n2 = hcsc_conv_work_size(op2);
    if (n2 > n) n = n2;
    work = malloc(n * sizeof(float));
    TEST_ASSERT(work != NULL, "out of memory");
    if (!work) goto done;
    int rc = hcsc_conv_set_work(op, work, hcsc_conv_work_size(op) - 1);
    TEST_ASSERT(rc == HCSC_ESIZE, "a short scratch was accepted (%d)", rc);
    TEST_OK(hcsc_conv_set_work(op, work, n));
    TEST_OK(hcsc_conv_set_work(op2, work, n));
  }
  poison_halo(&z);
  poison_halo(&r);
  for (int64_t i = 0; i < (int64_t)x2.nchan * x2.ldr * x2.ldc; i++) x2.data[i] = -7.0f;
  for (int64_t i = 0; i < (int64_t)g2.nchan * g2.ldr * g2.ldc; i++) g2.data[i] = -7.0f;
  if (hz) TEST_OK(hcsc_halo_begin(hz, &z));
  TEST_OK(hcsc_conv_synth_part(op, &z, &x2, HCSC_CONV_INNER));
  if (be == HCSC_CONV_FFT)
    TEST_ASSERT(x2.data[(int64_t)x2.ldc + 1] == -7.0f, "FFT INNER wrote the output");
  if (hz) TEST_OK(hcsc_halo_end(hz, &z));
  TEST_OK(hcsc_conv_synth_part(op, &z, &x2, HCSC_CONV_BORDER));
  /* Another plan's analysis between two pairs: the scratch is shared. */
  fill_interior(&r, 23);
  if (hr) TEST_OK(hcsc_halo_exchange(hr, &r));
  TEST_OK(hcsc_conv_analysis(op2, &r, &g3));
  fill_interior(&r, 22);
  poison_halo(&r);
  if (hr) TEST_OK(hcsc_halo_begin(hr, &r));
  TEST_OK(hcsc_conv_analysis_part(op, &r, &g2, HCSC_CONV_INNER));
  if (hr) TEST_OK(hcsc_halo_end(hr, &r));
  hcsc_tile_zero_outside(&r, H, W);
  TEST_OK(hcsc_conv_analysis_part(op, &r, &g2, HCSC_CONV_BORDER));
  TEST_ASSERT(same_interior(&x1, &x2), "%s synthesis: INNER + BORDER != WHOLE (grid 1x%dx%d, "
              "%lld x %lld, M %d C %d k %d)", hcsc_conv_backend_name(be), dims[1], dims[2],
              (long long)H, (long long)W, M, C, k);
  TEST_ASSERT(same_interior(&g1, &g2), "%s analysis: INNER + BORDER != WHOLE (grid 1x%dx%d, "
              "%lld x %lld, M %d C %d k %d)", hcsc_conv_backend_name(be), dims[1], dims[2],
              (long long)H, (long long)W, M, C, k);
  /* Back to the plan's own scratch: still the same. */
  TEST_OK(hcsc_conv_set_work(op, NULL, 0));
  if (hr) TEST_OK(hcsc_halo_exchange(hr, &r));
  hcsc_tile_zero_outside(&r, H, W);
  TEST_OK(hcsc_conv_analysis(op, &r, &g2));
  TEST_ASSERT(same_interior(&g1, &g2), "analysis with its own scratch again differs");
done:
  free(work);
  hcsc_halo_destroy(&hz);
  hcsc_halo_destroy(&hr);
  hcsc_conv_destroy(&op);
  hcsc_conv_destroy(&op2);
  hcsc_tile_free(&z);
  hcsc_tile_free(&r);
  hcsc_tile_free(&x1);
  hcsc_tile_free(&x2);
  hcsc_tile_free(&g1);
  hcsc_tile_free(&g2);
  hcsc_tile_free(&g3);
  hcsc_dict_free(&d);
  hcsc_dict_free(&d2);
  hcsc_grid_destroy(&grid);
}

int main(int argc, char **argv)
{
  static const int64_t sizes[2][2] = {{13, 11}, {30, 40}};
  test_init(&argc, &argv);
  const int size = test_size();
  for (int s = 0; s < 2; s++)
    for (int k = 1; k <= 6; k++)
      for (int be = 0; be < 2; be++)
        for (int P = 1; P <= size; P++) {
          if (size % P) continue;
          const int dims[3] = {1, P, size / P};
          const int64_t H = sizes[s][0], W = sizes[s][1];
          /* Tiles at least the halo wide (hcsc_conv_create's rule). */
          if (H / P < k || W / (size / P) < k) continue;
          run_case(dims, H, W, 3, 2 + s, k, be ? HCSC_CONV_FFT : HCSC_CONV_DIRECT);
        }
  return test_finish("t_conv_part");
}
