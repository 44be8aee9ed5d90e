/* hypercsc — unrolled networks: the executor's per-band noise estimate
 * (hcsc_nn_noise_estimate): on one rank without a mask a serial 1.4826 MAD
 * with quickselect, band by band; otherwise the exact distributed medians
 * of stats.h (hcsc_stats_noise) on chunks of NOISE_BANDS bands with a halo
 * of one column, so that the estimate is the same on every decomposition. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hcsc/error.h"
#include "hcsc/stats.h"
#include "hcsc/timer.h"
#include "nn/exec_impl.h"
#include "nn/layers.h"

/* The k-th smallest of v[0..n) (0-based; v reordered): Hoare's selection. */
static double select_kth(double *v, int64_t n, int64_t k)
{
  int64_t lo = 0, hi = n - 1;
  while (hi > lo) {
    const double piv = v[lo + (hi - lo) / 2];
    int64_t i = lo, j = hi;
    while (i <= j) {
      while (v[i] < piv) i++;
      while (v[j] > piv) j--;
      if (i <= j) {
        const double t = v[i];
        v[i++] = v[j];
        v[j--] = t;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else break;
  }
  return v[k];
}

/* Median of v[0..n) as stats.h defines it (the mean of the two middle order
 * statistics; the same numbers, so the same estimate to the last bit). */
static double median_of(double *v, int64_t n)
{
  const int64_t k = (n - 1) / 2;
  const double lo = select_kth(v, n, k);
  double hi = lo;
  if (n % 2 == 0) {
    /* After selection v[k+1..n) >= v[k]: the next order statistic is their minimum. */
    hi = v[k + 1];
    for (int64_t i = k + 2; i < n; i++)
      if (v[i] < hi) hi = v[i];
  }
  return 0.5 * (lo + hi);
}

/* Per-band 1.4826 MAD of horizontal differences of a whole scene held by
 * one rank (no mask): stats.h's estimate without its allocations, its
 * other statistics and its radix passes (the training and patch executors
 * call it for every sample).  NaN where a band has < 2 pairs. */
static int noise_serial(hcsc_nn_exec *e, const hcsc_tile *x, double *sigma)
{
  const int64_t nr = e->box.nr, nc = e->box.nc, need = nr * (nc > 0 ? nc - 1 : 0);
  const double inv_sqrt2 = 0.70710678118654752440;
  if (need > e->dbuf_n) {
    double *d = realloc(e->dbuf, (size_t)(need ? need : 1) * sizeof *d);
    if (!d) return HCSC_ERR(HCSC_ENOMEM, "network executor: out of memory (noise estimate)");
    e->dbuf = d;
    e->dbuf_n = need;
  }
  for (int64_t b = 0; b < x->nchan; b++) {
    int64_t np = 0;
    for (int64_t r = 0; r < nr; r++) {
      const float *row = &HCSC_TILE_AT(x, b, r, 0);
      for (int64_t c = 0; c + 1 < nc; c++)
        if (!isnan(row[c]) && !isnan(row[c + 1]))
          e->dbuf[np++] = ((double)row[c] - (double)row[c + 1]) * inv_sqrt2;
    }
    if (np < 2) {
      sigma[b] = NAN;
      continue;
    }
    const double med = median_of(e->dbuf, np);
    for (int64_t j = 0; j < np; j++) e->dbuf[j] = fabs(e->dbuf[j] - med);
    sigma[b] = 1.4826 * median_of(e->dbuf, np);
  }
  return 0;
}

/* Collective on the grid's comm. */
int hcsc_nn_noise_estimate(hcsc_nn_exec *e, const hcsc_tile *x, hcsc_nn_noise *nz)
{
  int err = 0;
  hcsc_tile tmp;
  hcsc_stats st;
  const int B = e ? e->net->cfg.bands : 0;
  double t0 = MPI_Wtime();
  memset(&tmp, 0, sizeof(tmp));
  memset(&st, 0, sizeof(st));
  if (!e || !nz) return HCSC_ERR(HCSC_EINVAL, "hcsc_nn_noise_estimate: NULL argument");
  memset(nz, 0, sizeof(*nz));
  HCSC_CHECK(nn_exec_check_io(e, x, 0, "input"));
  HCSC_CALLOC(nz->sigma, B);
  HCSC_CALLOC(nz->wt, B);
  HCSC_CALLOC(st.noise, B);
  nz->bands = B;
  if (e->nranks == 1 && !e->mask) {
    HCSC_CHECK(noise_serial(e, x, st.noise));
    goto cleanup;
  }
  /* A halo of 1 so that pairs across column tiles count: the estimate is
   * then the same on every decomposition.  NOISE_BANDS bands at a time. */
  HCSC_CHECK(hcsc_tile_alloc(&tmp, &e->box, B < NOISE_BANDS ? B : NOISE_BANDS, 1));
cleanup:
  /* One rank without a mask: estimated above, nothing collective to join. */
  if (!(e->nranks == 1 && !e->mask)) {
    for (int cb = 0; cb < B; cb += NOISE_BANDS) {
      const int n = B - cb < NOISE_BANDS ? B - cb : NOISE_BANDS;
      if (!err) {
        tmp.nchan = n; /* the last chunk uses the first channels of the buffer */
        for (int j = 0; j < n; j++)
          for (int64_t r = 0; r < e->box.nr; r++) {
            float *o = &HCSC_TILE_AT(&tmp, j, r, 0);
            memcpy(o, &HCSC_TILE_AT(x, cb + j, r, 0), sizeof(float) * (size_t)e->box.nc);
            /* Masked-out values (W = 0) are not data: NaN keeps them out
             * of the estimate (stats.h skips pairs with a NaN). */
            if (e->mask) {
              const float *w = &HCSC_TILE_AT(e->mask, e->mask->nchan == 1 ? 0 : cb + j, r, 0);
              for (int64_t c = 0; c < e->box.nc; c++)
                if (w[c] == 0.0f) o[c] = NAN;
            }
          }
      }
      err = nn_exec_fill_halo(e, &tmp, NULL, HALO_MIRROR, err);
      if (err) break;
      err = hcsc_stats_noise(e->comm, &tmp, e->cols, st.noise + cb);
      if (err) break;
    }
  }
  if (!err) {
    double smax = 0.0, floor_, num = 0.0, den = 0.0, rmax = 0.0;
    for (int b = 0; b < B; b++)
      if (isfinite(st.noise[b]) && st.noise[b] > smax) smax = st.noise[b];
    floor_ = fmax(1e-3 * smax, 1e-30);
    for (int b = 0; b < B; b++) {
      double s = isfinite(st.noise[b]) ? st.noise[b] : smax;
      nz->sigma[b] = s > floor_ ? s : floor_;
      rmax = fmax(rmax, 1.0 / (nz->sigma[b] * nz->sigma[b]));
    }
    for (int b = 0; b < B; b++) {
      const double w = e->net->cfg.adapt ? 1.0 / (nz->sigma[b] * nz->sigma[b]) / rmax : 1.0;
      nz->wt[b] = w;
      num += w * w * nz->sigma[b] * nz->sigma[b];
      den += w * w;
    }
    nz->level = e->net->cfg.adapt ? sqrt(num / den) : 1.0;
  }
  hcsc_stats_free(&st);
  hcsc_tile_free(&tmp);
  if (err) hcsc_nn_noise_free(nz);
  e->tm.noise += MPI_Wtime() - t0;
  return err;
}
