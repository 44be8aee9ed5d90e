/* Synthetic scenes and noise models: every split of the ranks gives the
 * bytes of the whole-scene computation, and each model changes what it
 * should. */
#include "config.h"

#include <math.h>

#include "t_eval_util.h"
#include "testutil.h"

static const char *const models[] = {"gaussian:30", "blind", "noniid", "stripes", "deadlines",
                                     "impulse:0.3", "impulse", "mixture"};
#define NMODELS ((int)(sizeof models / sizeof models[0]))

/* Whole scene, serial: synth then (optionally) a model. */
static float *whole_scene(int64_t B, int64_t H, int64_t W, uint64_t seed, const hcsc_noise_model *m,
                          uint64_t nseed)
{
  hcsc_tile t;
  hcsc_box all = {0, B, 0, H, 0, W};
  hcsc_synth_opts so;
  hcsc_synth_opts_init(&so, B, H, W, seed);
  TEST_OK(tu_tile_alloc(&t, all, 0));
  TEST_OK(hcsc_synth_fill(&so, &t));
  if (m) TEST_OK(hcsc_noise_apply(MPI_COMM_SELF, m, nseed, B, H, W, 0, &t));
  return t.data;
}

static int tile_matches(const hcsc_tile *t, const float *scene, int64_t H, int64_t W)
{
  for (int64_t b = 0; b < t->box.nb; b++)
    for (int64_t r = 0; r < t->box.nr; r++)
      if (memcmp(&HCSC_TILE_AT(t, b, r, 0),
                 &scene[((t->box.b0 + b) * H + t->box.r0 + r) * W + t->box.c0],
                 (size_t)t->box.nc * sizeof(float)))
        return 0;
  return 1;
}

static hcsc_box all_box(int64_t B, int64_t H, int64_t W)
{
  hcsc_box b = {0, B, 0, H, 0, W};
  return b;
}

static void decompositions(void)
{
  const int rank = test_rank(), size = test_size();
  const int64_t B = 6, H = 30, W = 40;
  float *clean = whole_scene(B, H, W, 3, NULL, 0);
  for (int64_t i = 0; i < B * H * W; i++)
    TEST_ASSERT(clean[i] >= 0 && clean[i] <= 1, "synthetic value %g outside [0, 1]", clean[i]);
  for (int mi = -1; mi < NMODELS; mi++) {
    hcsc_noise_model m;
    if (mi >= 0) TEST_OK(hcsc_noise_parse(models[mi], &m));
    float *ref = mi < 0 ? clean : whole_scene(B, H, W, 3, &m, 99);
    for (int g = 1; g <= size; g++)
      for (int p = 1; p <= size; p++) {
        if (size % (g * p)) continue;
        int q = size / (g * p);
        hcsc_box box;
        if (!tu_box(B, H, W, g, p, q, rank, &box)) continue;
        hcsc_tile t;
        hcsc_synth_opts so;
        hcsc_synth_opts_init(&so, B, H, W, 3);
        TEST_OK(tu_tile_alloc(&t, box, 1));
        TEST_OK(hcsc_synth_fill(&so, &t));
        if (mi >= 0) TEST_OK(hcsc_noise_apply(MPI_COMM_WORLD, &m, 99, B, H, W, 0, &t));
        TEST_ASSERT(tile_matches(&t, ref, H, W), "%s on %dx%dx%d differs from the whole scene",
                    mi < 0 ? "synth" : models[mi], g, p, q);
        hcsc_tile_free(&t);
      }
    /* Also every single-rank box split into 2 x 3 boxes filled separately. */
    if (mi < 0)
      for (int i = 0; i < 6; i++) {
        hcsc_box box = all_box(B, H, W);
        tu_box(B, H, W, 1, 2, 3, i, &box);
        hcsc_tile t;
        hcsc_synth_opts so;
        hcsc_synth_opts_init(&so, B, H, W, 3);
        TEST_OK(tu_tile_alloc(&t, box, 0));
        TEST_OK(hcsc_synth_fill(&so, &t));
        TEST_ASSERT(tile_matches(&t, ref, H, W), "synth box %d differs", i);
        hcsc_tile_free(&t);
      }
    if (ref != clean) free(ref);
  }
  free(clean);
}

/* Noise alone (the clean scene subtracted), serial. */
static void behaviour(void)
{
  const int64_t B = 8, H = 64, W = 64, N = H * W;
  float *clean = whole_scene(B, H, W, 5, NULL, 0);
  double lo = INFINITY, hi = -INFINITY;
  for (int64_t i = 0; i < B * N; i++) lo = fmin(lo, clean[i]), hi = fmax(hi, clean[i]);
  const double range = hi - lo;
  hcsc_noise_band nb[8];
  hcsc_noise_model m;

  /* gaussian:30: sample std of the noise within 3 % of 30/255 range. */
  TEST_OK(hcsc_noise_parse("gaussian:30", &m));
  float *x = whole_scene(B, H, W, 5, &m, 21);
  double s2 = 0;
  for (int64_t b = 0; b < B; b++) {
    double sb = 0, mb = 0;
    for (int64_t i = 0; i < N; i++) mb += (double)x[b * N + i] - clean[b * N + i];
    mb /= N;
    for (int64_t i = 0; i < N; i++) {
      double d = (double)x[b * N + i] - clean[b * N + i] - mb;
      sb += d * d;
    }
    s2 += sb;
    TEST_NEAR(sqrt(sb / N) / (30 / 255.0 * range), 1.0, 0.05);
  }
  TEST_NEAR(sqrt(s2 / (B * N)) / (30 / 255.0 * range), 1.0, 0.03);
  free(x);

  /* blind: one sigma in [10, 70]; noniid: sigmas in {10, 30, 50, 70}. */
  TEST_OK(hcsc_noise_parse("blind", &m));
  TEST_OK(hcsc_noise_describe(&m, 4, B, W, range, nb));
  for (int64_t b = 0; b < B; b++)
    TEST_ASSERT(nb[b].sigma >= 10 && nb[b].sigma <= 70 && nb[b].sigma == nb[0].sigma,
                "blind sigma %g", nb[b].sigma);
  TEST_OK(hcsc_noise_parse("noniid", &m));
  int seen[4] = {0};
  for (uint64_t seed = 0; seed < 20; seed++) {
    TEST_OK(hcsc_noise_describe(&m, seed, B, W, range, nb));
    for (int64_t b = 0; b < B; b++) {
      int ok = 0;
      for (int k = 0; k < 4; k++)
        if (nb[b].sigma == 10 + 20 * k) ok = 1, seen[k] = 1;
      TEST_ASSERT(ok, "noniid sigma %g", nb[b].sigma);
      TEST_NEAR(nb[b].sigma_data, nb[b].sigma / 255 * range, 1e-12);
    }
  }
  TEST_ASSERT(seen[0] && seen[1] && seen[2] && seen[3], "noniid never drew some level");

  /* stripes alone: only the chosen bands, whole columns, one constant per
   * column in [-0.25, 0.25] range, 5-15 % of the columns. */
  TEST_OK(hcsc_noise_parse("stripes", &m));
  m.components &= ~HCSC_NOISE_GAUSS;
  TEST_OK(hcsc_noise_describe(&m, 8, B, W, range, nb));
  x = whole_scene(B, H, W, 5, &m, 8);
  int nstriped = 0;
  for (int64_t b = 0; b < B; b++) {
    int chosen = (nb[b].components & HCSC_NOISE_STRIPES) != 0;
    nstriped += chosen;
    int64_t ncols = 0;
    for (int64_t c = 0; c < W; c++) {
      int striped, dead;
      double shift;
      TEST_OK(hcsc_noise_column(&m, 8, B, W, range, b, c, &striped, &shift, &dead));
      TEST_ASSERT(!striped || chosen, "band %lld not chosen but striped", (long long)b);
      ncols += striped;
      TEST_ASSERT(fabs(shift) <= 0.25 * range, "shift %g", shift);
      for (int64_t r = 0; r < H; r++) {
        double d = (double)x[(b * H + r) * W + c] - clean[(b * H + r) * W + c];
        TEST_ASSERT(striped ? fabs(d - shift) < 1e-6 : d == 0, "band %lld col %lld row %lld: %g vs shift %g",
                    (long long)b, (long long)c, (long long)r, d, shift);
      }
    }
    TEST_ASSERT(ncols == nb[b].ncols, "striped columns %lld, described %lld", (long long)ncols,
                (long long)nb[b].ncols);
    if (chosen) TEST_ASSERT(ncols >= 0.05 * W - 1 && ncols <= 0.15 * W + 1, "%lld columns", (long long)ncols);
  }
  TEST_ASSERT(nstriped == 3, "%d of 8 bands striped, expected a third (3)", nstriped);
  free(x);

  /* deadlines alone: whole columns set to 0 in the chosen bands only. */
  TEST_OK(hcsc_noise_parse("deadlines", &m));
  m.components &= ~HCSC_NOISE_GAUSS;
  TEST_OK(hcsc_noise_describe(&m, 9, B, W, range, nb));
  x = whole_scene(B, H, W, 5, &m, 9);
  for (int64_t b = 0; b < B; b++) {
    int64_t ncols = 0;
    for (int64_t c = 0; c < W; c++) {
      int zeros = 0, changed = 0;
      for (int64_t r = 0; r < H; r++) {
        float v = x[(b * H + r) * W + c];
        zeros += v == 0;
        changed += v != clean[(b * H + r) * W + c];
      }
      TEST_ASSERT((zeros == H && changed == H) || changed == 0, "band %lld column %lld: not a whole dead line",
                  (long long)b, (long long)c);
      ncols += zeros == H;
    }
    TEST_ASSERT(ncols == nb[b].ncols && (ncols == 0) == !(nb[b].components & HCSC_NOISE_DEADLINES),
                "band %lld: %lld dead columns, described %lld", (long long)b, (long long)ncols,
                (long long)nb[b].ncols);
  }
  free(x);

  /* impulse:0.3 alone: ratio within 0.02 on the chosen bands, to min/max. */
  TEST_OK(hcsc_noise_parse("impulse:0.3", &m));
  m.components &= ~HCSC_NOISE_GAUSS;
  TEST_OK(hcsc_noise_describe(&m, 10, B, W, range, nb));
  x = whole_scene(B, H, W, 5, &m, 10);
  for (int64_t b = 0; b < B; b++) {
    int64_t changed = 0, bad = 0;
    for (int64_t i = 0; i < N; i++) {
      float v = x[b * N + i];
      if (v != clean[b * N + i]) changed++, bad += v != (float)lo && v != (float)hi;
    }
    TEST_ASSERT(bad == 0, "band %lld: %lld impulse values not min/max", (long long)b, (long long)bad);
    if (nb[b].components & HCSC_NOISE_IMPULSE)
      TEST_NEAR((double)changed / N, 0.3, 0.02);
    else
      TEST_ASSERT(changed == 0, "band %lld changed without impulse", (long long)b);
  }
  free(x);

  /* mixture: every band one of stripes, dead lines, impulse (thirds). */
  TEST_OK(hcsc_noise_parse("mixture", &m));
  const int64_t BB = 30;
  hcsc_noise_band mb[30];
  TEST_OK(hcsc_noise_describe(&m, 12, BB, W, range, mb));
  int count[3] = {0};
  for (int64_t b = 0; b < BB; b++) {
    int c = mb[b].components;
    int k = !!(c & HCSC_NOISE_STRIPES) + !!(c & HCSC_NOISE_DEADLINES) + !!(c & HCSC_NOISE_IMPULSE);
    TEST_ASSERT(k == 1 && (c & HCSC_NOISE_GAUSS), "band %lld components %d", (long long)b, c);
    count[0] += !!(c & HCSC_NOISE_STRIPES), count[1] += !!(c & HCSC_NOISE_DEADLINES),
        count[2] += !!(c & HCSC_NOISE_IMPULSE);
  }
  TEST_ASSERT(count[0] == 10 && count[1] == 10 && count[2] == 10, "thirds %d %d %d", count[0],
              count[1], count[2]);

  /* Parse errors name the spec. */
  TEST_ASSERT(hcsc_noise_parse("gaussian", &m) == HCSC_EINVAL, "gaussian without sigma");
  TEST_ASSERT(hcsc_noise_parse("pink:3", &m) == HCSC_EINVAL &&
              strstr(hcsc_error_message(), "pink:3") != NULL, "unknown model: %s", hcsc_error_message());
  TEST_ASSERT(hcsc_noise_parse("impulse:1.5", &m) == HCSC_EINVAL, "impulse ratio 1.5");
  free(clean);
}

int main(int argc, char **argv)
{
  test_init(&argc, &argv);
  decompositions();
  behaviour();
  return test_finish("t_eval_synth_noise");
}
