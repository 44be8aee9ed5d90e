/* hypercsc — noise protocol (see include/hcsc/noise.h). */
#include "config.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hcsc/error.h"
#include "hcsc/noise.h"
#include "hcsc/rng.h"
#include "hcsc/timer.h"

/* RNG streams: one per independent use, so that components never share
 * draws (synth.c uses 0x5359xxxx). */
enum {
  ST_PERM = 0x4E530001u, ST_BLIND, ST_NONIID, ST_GAUSS, ST_COLFRAC, ST_COLSEL, ST_SHIFT,
  ST_IMPRATIO, ST_IMPULSE
};

static const double sigma_levels[4] = {10, 30, 50, 70};
static const double impulse_levels[4] = {0.1, 0.3, 0.5, 0.7};

static double u_band(uint64_t seed, uint32_t stream, int64_t b)
{
  return hcsc_rng_uniform(seed, stream, b, HCSC_RNG_ANY, HCSC_RNG_ANY);
}

static int pick4(double u) { int i = (int)(u * 4); return i > 3 ? 3 : i; }

int hcsc_noise_parse(const char *spec, hcsc_noise_model *m)
{
  int err = 0;
  char name[32];
  const char *arg = NULL;
  memset(m, 0, sizeof *m);
  if (!spec || !*spec) HCSC_FAIL(HCSC_EINVAL, "noise model '': expected gaussian:SIGMA, blind, "
                                 "noniid, stripes, deadlines, impulse[:RATIO] or mixture");
  size_t len = strcspn(spec, ":");
  if (len >= sizeof name) HCSC_FAIL(HCSC_EINVAL, "noise model '%s': unknown model", spec);
  memcpy(name, spec, len);
  name[len] = '\0';
  if (spec[len] == ':') arg = spec + len + 1;
  snprintf(m->spec, sizeof m->spec, "%s", spec);
  double v = 0;
  if (arg) {
    char *end;
    v = strtod(arg, &end);
    if (end == arg || *end || !isfinite(v))
      HCSC_FAIL(HCSC_EINVAL, "noise model '%s': '%s' is not a number", spec, arg);
  }
  m->components = HCSC_NOISE_GAUSS;
  if (strcasecmp(name, "gaussian") == 0) {
    if (!arg || v < 0) HCSC_FAIL(HCSC_EINVAL, "noise model '%s': expected gaussian:SIGMA with SIGMA >= 0 "
                                 "on the 0-255 scale (e.g. gaussian:30)", spec);
    m->kind = HCSC_NOISE_KIND_GAUSSIAN;
    m->sigma = v;
    return 0;
  }
  if (strcasecmp(name, "impulse") == 0) {
    if (arg && !(v > 0 && v <= 1))
      HCSC_FAIL(HCSC_EINVAL, "noise model '%s': the impulse ratio must be in (0, 1]", spec);
    m->kind = HCSC_NOISE_KIND_IMPULSE;
    m->components |= HCSC_NOISE_IMPULSE;
    m->impulse_ratio = arg ? v : 0;
    return 0;
  }
  static const char *const plain[] = {"blind", "noniid", "non-iid", "stripes", "stripe",
                                      "deadlines", "deadline", "mixture"};
  int known = 0;
  for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) known |= !strcasecmp(name, plain[i]);
  if (known && arg) HCSC_FAIL(HCSC_EINVAL, "noise model '%s': '%s' takes no parameter", spec, name);
  if (strcasecmp(name, "blind") == 0) {
    m->kind = HCSC_NOISE_KIND_BLIND;
  } else if (strcasecmp(name, "noniid") == 0 || strcasecmp(name, "non-iid") == 0) {
    m->kind = HCSC_NOISE_KIND_NONIID;
  } else if (strcasecmp(name, "stripes") == 0 || strcasecmp(name, "stripe") == 0) {
    m->kind = HCSC_NOISE_KIND_STRIPES;
    m->components |= HCSC_NOISE_STRIPES;
  } else if (strcasecmp(name, "deadlines") == 0 || strcasecmp(name, "deadline") == 0) {
    m->kind = HCSC_NOISE_KIND_DEADLINES;
    m->components |= HCSC_NOISE_DEADLINES;
  } else if (strcasecmp(name, "mixture") == 0) {
    m->kind = HCSC_NOISE_KIND_MIXTURE;
    m->components |= HCSC_NOISE_STRIPES | HCSC_NOISE_DEADLINES | HCSC_NOISE_IMPULSE;
  } else {
    HCSC_FAIL(HCSC_EINVAL, "noise model '%s': unknown model (expected gaussian:SIGMA, blind, noniid, "
              "stripes, deadlines, impulse[:RATIO] or mixture)", spec);
  }
cleanup:
  return err;
}

typedef struct {
  int64_t b;
  double key;
} band_key;

static int cmp_key(const void *a, const void *b)
{
  const band_key *x = a, *y = b;
  if (x->key != y->key) return x->key < y->key ? -1 : 1;
  return x->b < y->b ? -1 : x->b > y->b;
}

int hcsc_noise_describe(const hcsc_noise_model *m, uint64_t seed, int64_t bands_total,
                        int64_t cols_total, double range, hcsc_noise_band *bands)
{
  int err = 0;
  band_key *perm = NULL;
  if (bands_total < 1 || cols_total < 1)
    HCSC_FAIL(HCSC_EINVAL, "noise model '%s': empty scene (%lld bands, %lld columns)", m->spec,
              (long long)bands_total, (long long)cols_total);
  /* The band subsets come from one seeded permutation of all bands, so
   * every rank agrees without communication. */
  HCSC_CALLOC(perm, bands_total);
  for (int64_t b = 0; b < bands_total; b++) perm[b] = (band_key){b, u_band(seed, ST_PERM, b)};
  qsort(perm, (size_t)bands_total, sizeof *perm, cmp_key);
  const int64_t third = (bands_total + 2) / 3;
  const double blind = 10 + 60 * hcsc_rng_uniform(seed, ST_BLIND, HCSC_RNG_ANY, HCSC_RNG_ANY,
                                                  HCSC_RNG_ANY);
  for (int64_t p = 0; p < bands_total; p++) {
    const int64_t b = perm[p].b;
    hcsc_noise_band *nb = &bands[b];
    memset(nb, 0, sizeof *nb);
    double sigma;
    switch (m->kind) {
    case HCSC_NOISE_KIND_GAUSSIAN: sigma = m->sigma; break;
    case HCSC_NOISE_KIND_BLIND: sigma = blind; break;
    default: sigma = sigma_levels[pick4(u_band(seed, ST_NONIID, b))]; break;
    }
    int comp = 0;
    switch (m->kind) {
    case HCSC_NOISE_KIND_STRIPES: comp = p < third ? HCSC_NOISE_STRIPES : 0; break;
    case HCSC_NOISE_KIND_DEADLINES: comp = p < third ? HCSC_NOISE_DEADLINES : 0; break;
    case HCSC_NOISE_KIND_IMPULSE: comp = p < third ? HCSC_NOISE_IMPULSE : 0; break;
    case HCSC_NOISE_KIND_MIXTURE: {
      /* Disjoint thirds covering all bands. */
      int64_t t = 3 * p / bands_total;
      comp = t == 0 ? HCSC_NOISE_STRIPES : t == 1 ? HCSC_NOISE_DEADLINES : HCSC_NOISE_IMPULSE;
      break;
    }
    default: break;
    }
    comp = (comp | HCSC_NOISE_GAUSS) & m->components;
    nb->components = comp;
    if (comp & HCSC_NOISE_GAUSS) {
      nb->sigma = sigma;
      nb->sigma_data = sigma / 255.0 * range;
    }
    if (comp & (HCSC_NOISE_STRIPES | HCSC_NOISE_DEADLINES)) {
      double frac = 0.05 + 0.10 * u_band(seed, ST_COLFRAC, b);
      int64_t k = llround(frac * (double)cols_total);
      nb->ncols = k < 1 ? 1 : k;
    }
    if (comp & HCSC_NOISE_IMPULSE)
      nb->impulse_ratio = m->impulse_ratio > 0 ? m->impulse_ratio
                                               : impulse_levels[pick4(u_band(seed, ST_IMPRATIO, b))];
  }
cleanup:
  free(perm);
  return err;
}

static double u_col(uint64_t seed, int64_t b, int64_t c)
{
  return hcsc_rng_uniform(seed, ST_COLSEL, b, HCSC_RNG_ANY, c);
}

/* k-th smallest (1-based) of v[0..n), by quickselect; v is reordered. */
static double kth_smallest(double *v, int64_t n, int64_t k)
{
  int64_t lo = 0, hi = n - 1, want = k - 1;
  while (lo < hi) {
    double pivot = v[lo + (hi - lo) / 2];
    int64_t i = lo, j = hi;
    while (i <= j) {
      while (v[i] < pivot) i++;
      while (v[j] > pivot) j--;
      if (i <= j) {
        double t = v[i];
        v[i] = v[j];
        v[j] = t;
        i++, j--;
      }
    }
    if (want <= j)
      hi = j;
    else if (want >= i)
      lo = i;
    else
      break;
  }
  return v[want];
}

/* A band's affected columns are those whose uniform is <= this threshold:
 * exactly ncols of them (uniforms of distinct columns never tie in practice:
 * 53 random bits). */
static int column_threshold(uint64_t seed, int64_t b, int64_t cols, int64_t ncols, double *thr)
{
  int err = 0;
  double *u = NULL;
  HCSC_CALLOC(u, cols);
  for (int64_t c = 0; c < cols; c++) u[c] = u_col(seed, b, c);
  *thr = kth_smallest(u, cols, ncols > cols ? cols : ncols);
cleanup:
  free(u);
  return err;
}

static double stripe_shift(uint64_t seed, int64_t b, int64_t c, double range)
{
  return (2 * hcsc_rng_uniform(seed, ST_SHIFT, b, HCSC_RNG_ANY, c) - 1) * 0.25 * range;
}

int hcsc_noise_column(const hcsc_noise_model *m, uint64_t seed, int64_t bands_total,
                      int64_t cols_total, double range, int64_t band, int64_t col,
                      int *striped, double *shift, int *dead)
{
  int err = 0;
  hcsc_noise_band *nb = NULL;
  *striped = *dead = 0;
  *shift = 0;
  if (band < 0 || band >= bands_total || col < 0 || col >= cols_total)
    HCSC_FAIL(HCSC_ERANGE, "noise model '%s': band %lld column %lld outside the scene", m->spec,
              (long long)band, (long long)col);
  HCSC_CALLOC(nb, bands_total);
  HCSC_CHECK(hcsc_noise_describe(m, seed, bands_total, cols_total, range, nb));
  if (nb[band].components & (HCSC_NOISE_STRIPES | HCSC_NOISE_DEADLINES)) {
    double thr;
    HCSC_CHECK(column_threshold(seed, band, cols_total, nb[band].ncols, &thr));
    if (u_col(seed, band, col) <= thr) {
      if (nb[band].components & HCSC_NOISE_STRIPES) {
        *striped = 1;
        *shift = stripe_shift(seed, band, col, range);
      } else {
        *dead = 1;
      }
    }
  }
cleanup:
  free(nb);
  return err;
}

int hcsc_noise_minmax(MPI_Comm comm, const hcsc_tile *t, double minmax[2])
{
  int err = 0;
  double lo = INFINITY, hi = -INFINITY;
  for (int64_t b = 0; b < t->box.nb; b++)
    for (int64_t r = 0; r < t->box.nr; r++) {
      const float *row = &HCSC_TILE_AT(t, b, r, 0);
      for (int64_t c = 0; c < t->box.nc; c++) {
        float v = row[c];
        if (isnan(v)) continue;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
  double buf[2] = {-lo, hi};
  hcsc_timer_start(HCSC_PHASE_REDUCE);
  HCSC_MPI(MPI_Allreduce(MPI_IN_PLACE, buf, 2, MPI_DOUBLE, MPI_MAX, comm));
  minmax[0] = -buf[0];
  minmax[1] = buf[1];
  if (minmax[0] > minmax[1]) minmax[0] = minmax[1] = NAN;
cleanup:
  hcsc_timer_stop(HCSC_PHASE_REDUCE);
  return hcsc_error_agree(comm, err);
}

int hcsc_noise_apply(MPI_Comm comm, const hcsc_noise_model *m, uint64_t seed, int64_t bands_total,
                     int64_t rows_total, int64_t cols_total, double range, hcsc_tile *t)
{
  int err = 0;
  hcsc_noise_band *plan = NULL;
  signed char *colkind = NULL;
  double *shift = NULL;
  const hcsc_box *bx = &t->box;
  if (bands_total < 1 || rows_total < 1 || cols_total < 1)
    HCSC_FAIL(HCSC_ESIZE, "noise model '%s': empty scene %lldx%lldx%lld", m->spec,
              (long long)rows_total, (long long)cols_total, (long long)bands_total);
  if (bx->b0 < 0 || bx->r0 < 0 || bx->c0 < 0 || bx->b0 + bx->nb > bands_total ||
      bx->r0 + bx->nr > rows_total || bx->c0 + bx->nc > cols_total || t->nchan != bx->nb)
    HCSC_FAIL(HCSC_ERANGE, "noise model '%s': tile (bands %lld+%lld, rows %lld+%lld, cols %lld+%lld, "
              "%lld channels) does not fit the %lldx%lldx%lld scene", m->spec, (long long)bx->b0,
              (long long)bx->nb, (long long)bx->r0, (long long)bx->nr, (long long)bx->c0,
              (long long)bx->nc, (long long)t->nchan, (long long)rows_total,
              (long long)cols_total, (long long)bands_total);
  HCSC_CALLOC(plan, bands_total);
  HCSC_CALLOC(colkind, bx->nc);
  HCSC_CALLOC(shift, bx->nc);
cleanup:
  err = hcsc_error_agree(comm, err);
  if (err) goto done;

  double mm[2];
  HCSC_CHECK(hcsc_noise_minmax(comm, t, mm));
  if (!(range > 0)) range = mm[1] - mm[0];
  /* A constant (or empty) scene has no scale: use 1 as for [0, 1] data. */
  if (!(range > 0) || !isfinite(range)) range = 1;
  const double lo = isnan(mm[0]) ? 0 : mm[0], hi = isnan(mm[1]) ? 1 : mm[1];
  HCSC_CHECK(hcsc_noise_describe(m, seed, bands_total, cols_total, range, plan));

  hcsc_timer_start(HCSC_PHASE_COMPUTE);
  for (int64_t b = 0; b < bx->nb && !err; b++) {
    const int64_t gb = bx->b0 + b;
    const hcsc_noise_band *p = &plan[gb];
    memset(colkind, 0, (size_t)bx->nc);
    if (p->components & (HCSC_NOISE_STRIPES | HCSC_NOISE_DEADLINES)) {
      double thr;
      err = column_threshold(seed, gb, cols_total, p->ncols, &thr);
      if (err) break;
      for (int64_t c = 0; c < bx->nc; c++) {
        if (u_col(seed, gb, bx->c0 + c) > thr) continue;
        colkind[c] = (p->components & HCSC_NOISE_STRIPES) ? 1 : 2;
        shift[c] = stripe_shift(seed, gb, bx->c0 + c, range);
      }
    }
    const int gauss = (p->components & HCSC_NOISE_GAUSS) && p->sigma_data > 0;
    const int impulse = (p->components & HCSC_NOISE_IMPULSE) != 0;
    for (int64_t r = 0; r < bx->nr; r++) {
      const int64_t gr = bx->r0 + r;
      float *row = &HCSC_TILE_AT(t, b, r, 0);
      for (int64_t c = 0; c < bx->nc; c++) {
        if (isnan(row[c])) continue;
        const int64_t gc = bx->c0 + c;
        double v = row[c];
        if (gauss) v += p->sigma_data * hcsc_rng_normal(seed, ST_GAUSS, gb, gr, gc);
        if (colkind[c] == 1) v += shift[c];
        if (colkind[c] == 2) v = 0;
        if (impulse) {
          double u[2];
          hcsc_rng_uniform2(seed, ST_IMPULSE, gb, gr, gc, u);
          if (u[0] < p->impulse_ratio) v = u[1] < 0.5 ? lo : hi;
        }
        row[c] = (float)v;
      }
    }
  }
  hcsc_timer_stop(HCSC_PHASE_COMPUTE);
  err = hcsc_error_agree(comm, err);
done:
  free(plan);
  free(colkind);
  free(shift);
  return err;
}
