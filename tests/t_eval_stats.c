/* Statistics: every split against a serial computation done here (sort for
 * the medians); the noise estimate of pure Gaussian noise; the exact
 * distributed selection against qsort. */
#include "config.h"

#include <math.h>

#include "t_eval_util.h"
#include "testutil.h"

static int cmp_d(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v, int64_t n)
{
  qsort(v, (size_t)n, sizeof *v, cmp_d);
  return 0.5 * (v[(n - 1) / 2] + v[n / 2]);
}

/* Serial noise estimate of band b of a whole scene. */
static double serial_noise(const float *s, int64_t H, int64_t W, int64_t b)
{
  double *d = malloc((size_t)(H * W) * sizeof *d);
  int64_t n = 0;
  for (int64_t r = 0; r < H; r++)
    for (int64_t c = 0; c + 1 < W; c++) {
      float x = s[(b * H + r) * W + c], y = s[(b * H + r) * W + c + 1];
      if (!isnan(x) && !isnan(y)) d[n++] = ((double)x - (double)y) * 0.70710678118654752440;
    }
  double med = median(d, n);
  for (int64_t i = 0; i < n; i++) d[i] = fabs(d[i] - med);
  double mad = median(d, n);
  free(d);
  return 1.4826 * mad;
}

int main(int argc, char **argv)
{
  test_init(&argc, &argv);
  const int rank = test_rank(), size = test_size();
  const int64_t B = 6, H = 30, W = 40, N = H * W;
  hcsc_tile whole;
  hcsc_box all = {0, B, 0, H, 0, W};
  hcsc_synth_opts so;
  hcsc_noise_model nm;
  hcsc_synth_opts_init(&so, B, H, W, 17);
  TEST_OK(tu_tile_alloc(&whole, all, 0));
  TEST_OK(hcsc_synth_fill(&so, &whole));
  TEST_OK(hcsc_noise_parse("noniid", &nm));
  TEST_OK(hcsc_noise_apply(MPI_COMM_SELF, &nm, 5, B, H, W, 0, &whole));
  float *s = whole.data;
  s[3] = NAN;
  s[N + 7 * W + 39] = NAN;
  for (int64_t i = 0; i < N; i++) s[5 * N + i] = NAN; /* an empty band */

  /* Serial reference. */
  double smin[6], smax[6], smean[6], sstd[6], snoise[6];
  int64_t scount[6];
  for (int64_t b = 0; b < B; b++) {
    double lo = INFINITY, hi = -INFINITY, sum = 0, ss = 0;
    int64_t n = 0;
    for (int64_t i = 0; i < N; i++)
      if (!isnan(s[b * N + i])) lo = fmin(lo, s[b * N + i]), hi = fmax(hi, s[b * N + i]), sum += s[b * N + i], n++;
    double mu = sum / n;
    for (int64_t i = 0; i < N; i++)
      if (!isnan(s[b * N + i])) ss += (s[b * N + i] - mu) * (s[b * N + i] - mu);
    smin[b] = lo, smax[b] = hi, smean[b] = mu, sstd[b] = sqrt(ss / n), scount[b] = n;
    snoise[b] = n ? serial_noise(s, H, W, b) : NAN;
  }

  for (int g = 1; g <= size; g++)
    for (int p = 1; p <= size; p++) {
      if (size % (g * p)) continue;
      int q = size / (g * p);
      hcsc_box box;
      if (!tu_box(B, H, W, g, p, q, rank, &box)) continue;
      hcsc_tile t;
      hcsc_stats st;
      TEST_OK(tu_tile_alloc(&t, box, 1));
      tu_fill_from(&t, s, H, W);
      TEST_OK(hcsc_stats_compute(MPI_COMM_WORLD, &t, B, W, 1, &st));
      for (int64_t b = 0; b < B; b++) {
        TEST_ASSERT(st.count[b] == scount[b], "%dx%dx%d band %lld count %lld vs %lld", g, p, q,
                    (long long)b, (long long)st.count[b], (long long)scount[b]);
        if (!scount[b]) {
          TEST_ASSERT(isnan(st.mean[b]) && isnan(st.noise[b]), "empty band not NaN");
          continue;
        }
        TEST_ASSERT(st.min[b] == smin[b] && st.max[b] == smax[b], "band %lld min/max", (long long)b);
        TEST_NEAR(st.mean[b], smean[b], 1e-9);
        TEST_NEAR(st.std[b], sstd[b], 1e-9);
        /* The selection is exact: the same double as the serial sort. */
        TEST_ASSERT(st.noise[b] == snoise[b], "%dx%dx%d band %lld noise %.17g vs %.17g", g, p, q,
                    (long long)b, st.noise[b], snoise[b]);
      }
      hcsc_stats_free(&st);
      hcsc_tile_free(&t);
    }
  hcsc_tile_free(&whole);

  /* Pure Gaussian noise of sigma 0.1 (plus a smooth ramp): estimate within 5 %. */
  {
    const int64_t GH = 128, GW = 128;
    hcsc_box box = {0, 1, 0, GH, 0, GW};
    tu_box(1, GH, GW, 1, 1, size, rank, &box);
    hcsc_tile t;
    TEST_OK(tu_tile_alloc(&t, box, 1));
    float *g = malloc((size_t)(GH * GW) * sizeof *g);
    for (int64_t r = 0; r < GH; r++)
      for (int64_t c = 0; c < GW; c++)
        g[r * GW + c] = (float)(0.001 * c + 0.1 * hcsc_rng_normal(77, 1, 0, r, c));
    tu_fill_from(&t, g, GH, GW);
    hcsc_stats st;
    TEST_OK(hcsc_stats_compute(MPI_COMM_WORLD, &t, 1, GW, 1, &st));
    TEST_NEAR(st.noise[0] / 0.1, 1.0, 0.05);
    TEST_ASSERT(st.npairs[0] == GH * (GW - 1), "pairs %lld", (long long)st.npairs[0]);
    hcsc_stats_free(&st);
    hcsc_tile_free(&t);
    free(g);
  }

  /* Selection of every order statistic of values with duplicates and
   * negative numbers spread unevenly over the ranks. */
  {
    const int64_t total = 101;
    double all_v[101], sorted[101];
    for (int64_t i = 0; i < total; i++)
      all_v[i] = sorted[i] = floor(20 * (hcsc_rng_uniform(3, 2, i, 0, 0) - 0.5)) / 4;
    qsort(sorted, (size_t)total, sizeof *sorted, cmp_d);
    int64_t start, n;
    hcsc_partition(total, size, rank, &start, &n);
    double *mine = all_v + start;
    for (int64_t k = 0; k < total; k += 7) {
      double got;
      TEST_OK(hcsc_stats_select(MPI_COMM_WORLD, 1, &mine, &n, &k, &got));
      TEST_ASSERT(got == sorted[k], "order statistic %lld: %g vs %g", (long long)k, got, sorted[k]);
    }
  }
  return test_finish("t_eval_stats");
}
