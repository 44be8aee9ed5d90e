/* Metrics: hand-computed values on tiny arrays, a scene against itself, and
 * every decomposition of a fixture against the serial computation. */
#include "config.h"

#include <math.h>

#include "t_eval_util.h"
#include "testutil.h"

/* Metrics of two whole scenes on MPI_COMM_SELF (the serial reference). */
static int serial_metrics(const float *ref, const float *test, int64_t B, int64_t H, int64_t W,
                          int halo, const hcsc_metrics_opts *o, hcsc_metrics *m)
{
  hcsc_tile a, b;
  hcsc_box box = {0, B, 0, H, 0, W};
  if (tu_tile_alloc(&a, box, halo) || tu_tile_alloc(&b, box, halo)) return HCSC_ENOMEM;
  tu_fill_from(&a, ref, H, W);
  tu_fill_from(&b, test, H, W);
  int err = hcsc_metrics_compute(MPI_COMM_SELF, MPI_COMM_NULL, &a, &b, B, o, m);
  hcsc_tile_free(&a);
  hcsc_tile_free(&b);
  return err;
}

static void hand_values(void)
{
  hcsc_metrics m;
  hcsc_metrics_opts o;
  hcsc_metrics_opts_init(&o);
  o.ssim = 0;
  /* PSNR: peak = 1 (ref range), MSE = 0.5^2 / 4. */
  const float r1[4] = {0, 1, 0, 1}, t1[4] = {0, 1, 0.5f, 1};
  TEST_OK(serial_metrics(r1, t1, 1, 2, 2, 0, &o, &m));
  TEST_NEAR(m.peak, 1.0, 1e-15);
  TEST_NEAR(m.mse[0], 0.0625, 1e-15);
  TEST_NEAR(m.mpsnr, 10 * log10(1 / 0.0625), 1e-12);
  /* ERGAS: mu = 0.5, 100 sqrt(0.0625 / 0.25). */
  TEST_NEAR(m.ergas, 50.0, 1e-12);
  hcsc_metrics_free(&m);

  /* SAM of (1,2,3) against (3,2,1): acos(10/14); one pixel, 3 bands. */
  const float r2[3] = {1, 2, 3}, t2[3] = {3, 2, 1};
  TEST_OK(serial_metrics(r2, t2, 3, 1, 1, 0, &o, &m));
  TEST_NEAR(m.sam, acos(10.0 / 14.0), 1e-12);
  TEST_NEAR(m.sam_deg, acos(10.0 / 14.0) * 180 / M_PI, 1e-10);
  TEST_ASSERT(m.sam_pixels == 1, "sam_pixels %lld", (long long)m.sam_pixels);
  hcsc_metrics_free(&m);

  /* ERGAS by hand: band 0 ref {1,3} test {2,3}: MSE 0.5, mu 2; band 1 ref
   * {4,4} test {4,6}: MSE 2, mu 4.  Zero spectra are skipped by SAM. */
  const float r3[4] = {1, 3, 4, 4}, t3[4] = {2, 3, 4, 6};
  TEST_OK(serial_metrics(r3, t3, 2, 1, 2, 0, &o, &m));
  TEST_NEAR(m.ergas, 100 * sqrt((0.5 / 4 + 2.0 / 16) / 2), 1e-12);
  hcsc_metrics_free(&m);
  const float r4[2] = {0, 1}, t4[2] = {1, 1};
  TEST_OK(serial_metrics(r4, t4, 1, 1, 2, 0, &o, &m));
  TEST_ASSERT(m.sam_pixels == 1 && m.sam_skipped == 1, "zero spectrum skipped: %lld %lld",
              (long long)m.sam_pixels, (long long)m.sam_skipped);
  hcsc_metrics_free(&m);

  /* SSIM of a constant against a shifted constant: only the luminance term
   * remains, (2 a b + C1) / (a^2 + b^2 + C1), C1 = (0.01 L)^2. */
  float c1[35], c2[35];
  for (int i = 0; i < 35; i++) c1[i] = 0.3f, c2[i] = 0.5f;
  o.ssim = 1;
  o.peak = 1;
  TEST_OK(serial_metrics(c1, c2, 1, 7, 5, 5, &o, &m));
  double a = 0.3f, b = 0.5f, C1 = 1e-4;
  TEST_NEAR(m.mssim, (2 * a * b + C1) / (a * a + b * b + C1), 1e-9);
  hcsc_metrics_free(&m);

  /* Missing halo for SSIM is refused. */
  TEST_ASSERT(serial_metrics(c1, c2, 1, 7, 5, 2, &o, &m) == HCSC_EINVAL, "halo 2 accepted for SSIM");
}

static void self_eval(const float *scene, int64_t B, int64_t H, int64_t W)
{
  hcsc_metrics m;
  TEST_OK(serial_metrics(scene, scene, B, H, W, 5, NULL, &m));
  TEST_ASSERT(isinf(m.mpsnr) && m.mpsnr > 0, "MPSNR of a scene with itself: %g", m.mpsnr);
  TEST_NEAR(m.mssim, 1.0, 1e-12);
  TEST_NEAR(m.sam, 0.0, 1e-6);
  TEST_NEAR(m.ergas, 0.0, 1e-15);
  hcsc_metrics_free(&m);
}

static int rel_ok(double a, double b)
{
  if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
  if (isinf(a) || isinf(b)) return a == b;
  return fabs(a - b) <= 1e-9 * fmax(1e-12, fmax(fabs(a), fabs(b)));
}

int main(int argc, char **argv)
{
  test_init(&argc, &argv);
  const int rank = test_rank(), size = test_size();
  hand_values();

  const int64_t B = 6, H = 30, W = 40;
  const size_t n = (size_t)(B * H * W);
  float *ref = calloc(n, sizeof *ref), *test = calloc(n, sizeof *test);
  hcsc_tile whole;
  hcsc_box all = {0, B, 0, H, 0, W};
  hcsc_synth_opts so;
  hcsc_synth_opts_init(&so, B, H, W, 7);
  TEST_OK(tu_tile_alloc(&whole, all, 0));
  TEST_OK(hcsc_synth_fill(&so, &whole));
  memcpy(ref, whole.data, n * sizeof *ref);
  hcsc_noise_model nm;
  TEST_OK(hcsc_noise_parse("noniid", &nm));
  TEST_OK(hcsc_noise_apply(MPI_COMM_SELF, &nm, 11, B, H, W, 0, &whole));
  memcpy(test, whole.data, n * sizeof *test);
  hcsc_tile_free(&whole);
  /* A few NaN values: skipped and counted. */
  test[5] = NAN;
  test[2 * H * W + 17 * W + 3] = NAN;
  self_eval(ref, B, H, W);

  hcsc_metrics ser, dis;
  TEST_OK(serial_metrics(ref, test, B, H, W, 5, NULL, &ser));
  TEST_ASSERT(ser.nan_skipped == 2 && ser.sam_skipped == 2, "NaN counted: %lld %lld",
              (long long)ser.nan_skipped, (long long)ser.sam_skipped);
  TEST_ASSERT(ser.mpsnr > 10 && ser.mpsnr < 60 && ser.mssim > 0 && ser.mssim < 1, "plausible: %g %g",
              ser.mpsnr, ser.mssim);

  /* Every g x p x q split of the ranks. */
  for (int g = 1; g <= size; g++)
    for (int p = 1; p <= size; p++) {
      if (size % (g * p)) continue;
      int q = size / (g * p);
      hcsc_box box;
      if (!tu_box(B, H, W, g, p, q, rank, &box)) continue;
      hcsc_tile a, b;
      TEST_OK(tu_tile_alloc(&a, box, 5));
      TEST_OK(tu_tile_alloc(&b, box, 5));
      tu_fill_from(&a, ref, H, W);
      tu_fill_from(&b, test, H, W);
      MPI_Comm spec;
      MPI_Comm_split(MPI_COMM_WORLD, rank % (p * q), rank, &spec);
      TEST_OK(hcsc_metrics_compute(MPI_COMM_WORLD, spec, &a, &b, B, NULL, &dis));
      TEST_ASSERT(rel_ok(dis.mpsnr, ser.mpsnr), "%dx%dx%d mpsnr %.17g vs %.17g", g, p, q, dis.mpsnr, ser.mpsnr);
      TEST_ASSERT(rel_ok(dis.mssim, ser.mssim), "%dx%dx%d mssim %.17g vs %.17g", g, p, q, dis.mssim, ser.mssim);
      TEST_ASSERT(rel_ok(dis.sam, ser.sam), "%dx%dx%d sam %.17g vs %.17g", g, p, q, dis.sam, ser.sam);
      TEST_ASSERT(rel_ok(dis.ergas, ser.ergas), "%dx%dx%d ergas %.17g vs %.17g", g, p, q, dis.ergas, ser.ergas);
      for (int64_t k = 0; k < B; k++)
        TEST_ASSERT(rel_ok(dis.psnr[k], ser.psnr[k]) && rel_ok(dis.ssim[k], ser.ssim[k]),
                    "band %lld psnr/ssim differ", (long long)k);
      TEST_ASSERT(dis.nan_skipped == ser.nan_skipped && dis.sam_skipped == ser.sam_skipped &&
                  dis.sam_pixels == ser.sam_pixels, "counts differ");
      hcsc_metrics_free(&dis);
      MPI_Comm_free(&spec);
      hcsc_tile_free(&a);
      hcsc_tile_free(&b);
    }
  hcsc_metrics_free(&ser);
  free(ref);
  free(test);
  return test_finish("t_eval_metrics");
}
