/* hypercsc — per-band statistics and exact distributed medians
 * (see include/hcsc/stats.h). */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hcsc/error.h"
#include "hcsc/stats.h"
#include "hcsc/timer.h"

void hcsc_stats_free(hcsc_stats *s)
{
  if (!s) return;
  free(s->min);
  free(s->max);
  free(s->mean);
  free(s->std);
  free(s->noise);
  free(s->count);
  free(s->npairs);
  memset(s, 0, sizeof *s);
}

/* Order-preserving map of doubles (no NaN) to unsigned 64-bit keys:
 * negative numbers have all bits flipped, non-negative ones the sign set. */
static uint64_t key_of(double d)
{
  uint64_t u;
  memcpy(&u, &d, sizeof u);
  return (u >> 63) ? ~u : u | (UINT64_C(1) << 63);
}

static double value_of(uint64_t k)
{
  uint64_t u = (k >> 63) ? k & ~(UINT64_C(1) << 63) : ~k;
  double d;
  memcpy(&d, &u, sizeof d);
  return d;
}

/* Radix selection on the order-preserving keys, one byte a pass (8
 * passes, one Allreduce of nsets x 256 counts each).  The first two passes
 * read v; then each rank gathers its keys that match the 16-bit prefix
 * (for the pair differences of a band, a few per cent of them: the sign,
 * the exponent and 4 bits of mantissa) and the remaining passes scan and
 * compact that short list, so the work is about three reads of v instead
 * of eight.  The counts, hence the result, are those of the plain scan. */
int hcsc_stats_select(MPI_Comm comm, int nsets, double *const *v, const int64_t *n,
                      const int64_t *k, double *out)
{
  int err = 0;
  int64_t *hist = NULL, *local = NULL, *rem = NULL, *mine = NULL, *nk = NULL;
  uint64_t *prefix = NULL, **cand = NULL;
  enum { SCAN_PASSES = 2 };
  HCSC_CALLOC(hist, (int64_t)nsets * 256);
  HCSC_CALLOC(local, (int64_t)nsets * 256);
  HCSC_CALLOC(rem, nsets);
  HCSC_CALLOC(prefix, nsets);
  HCSC_CALLOC(mine, nsets);
  HCSC_CALLOC(nk, nsets);
  HCSC_CALLOC(cand, nsets);
  if ((int64_t)nsets * 256 > INT32_MAX) HCSC_FAIL(HCSC_ESIZE, "selection: too many sets (%d)", nsets);
cleanup:
  err = hcsc_error_agree(comm, err);
  if (err) goto done;
  for (int i = 0; i < nsets; i++) rem[i] = k[i];
  for (int pass = 0; pass < 8; pass++) {
    const int shift = 56 - 8 * pass;
    const uint64_t mask = pass == 0 ? 0 : ~UINT64_C(0) << (shift + 8);
    memset(hist, 0, (size_t)nsets * 256 * sizeof *hist);
    for (int i = 0; i < nsets; i++) {
      if (k[i] < 0) continue;
      int64_t *h = hist + (int64_t)i * 256;
      if (pass < SCAN_PASSES) {
        for (int64_t j = 0; j < n[i]; j++) {
          uint64_t key = key_of(v[i][j]);
          if ((key & mask) == prefix[i]) h[(key >> shift) & 255]++;
        }
      } else {
        for (int64_t j = 0; j < nk[i]; j++) h[(cand[i][j] >> shift) & 255]++;
      }
    }
    /* this rank's share of each digit, before the sum */
    if (pass == SCAN_PASSES - 1) memcpy(local, hist, (size_t)nsets * 256 * sizeof *hist);
    hcsc_timer_start(HCSC_PHASE_REDUCE);
    hcsc_timer_add_bytes(HCSC_PHASE_REDUCE, (double)nsets * 256 * sizeof *hist);
    int mpierr = MPI_Allreduce(MPI_IN_PLACE, hist, nsets * 256, MPI_INT64_T, MPI_SUM, comm);
    hcsc_timer_stop(HCSC_PHASE_REDUCE);
    if (mpierr != MPI_SUCCESS) {
      err = hcsc_error_mpi(mpierr, __FILE__, __LINE__, "MPI_Allreduce (selection histogram)");
      break;
    }
    for (int i = 0; i < nsets; i++) {
      if (k[i] < 0) continue;
      const int64_t *h = hist + (int64_t)i * 256;
      int64_t below = 0;
      int d = 0;
      while (d < 255 && rem[i] >= below + h[d]) below += h[d++];
      prefix[i] |= (uint64_t)d << shift;
      rem[i] -= below;
      if (pass == SCAN_PASSES - 1) mine[i] = local[(int64_t)i * 256 + d];
    }
    if (pass == SCAN_PASSES - 1) {
      /* gather the keys that match the prefix */
      for (int i = 0; i < nsets && !err; i++) {
        nk[i] = 0;
        if (k[i] < 0 || mine[i] == 0) continue;
        if (!(cand[i] = malloc((size_t)mine[i] * sizeof **cand))) {
          err = HCSC_ERR(HCSC_ENOMEM, "selection: out of memory");
          break;
        }
        const uint64_t m2 = ~UINT64_C(0) << shift;
        for (int64_t j = 0; j < n[i]; j++) {
          uint64_t key = key_of(v[i][j]);
          if ((key & m2) == prefix[i]) cand[i][nk[i]++] = key;
        }
      }
      err = hcsc_error_agree(comm, err);
      if (err) break;
    } else if (pass >= SCAN_PASSES) {
      /* keep the keys of the chosen digit */
      for (int i = 0; i < nsets; i++) {
        if (k[i] < 0) continue;
        const uint64_t d = (prefix[i] >> shift) & 255;
        int64_t m = 0;
        for (int64_t j = 0; j < nk[i]; j++)
          if (((cand[i][j] >> shift) & 255) == d) cand[i][m++] = cand[i][j];
        nk[i] = m;
      }
    }
  }
  for (int i = 0; i < nsets; i++) out[i] = k[i] < 0 ? NAN : value_of(prefix[i]);
  err = hcsc_error_agree(comm, err);
done:
  for (int i = 0; cand && i < nsets; i++) free(cand[i]);
  free(cand);
  free(hist);
  free(local);
  free(rem);
  free(prefix);
  free(mine);
  free(nk);
  return err;
}

/* Bands whose pair differences are held at once (in double): a chunk
 * costs 2 * NOISE_CHUNK / B of a float32 tile of B bands. */
#define NOISE_CHUNK 16

/* noise[gb] for the global bands gb of [0, B): channel ch of t is band
 * gb0 + ch (a rank may hold none of a chunk's bands: G > 1).  Pairs across
 * the right tile border come from t's halo (halo >= 1) unless outside the
 * scene.  Chunk by chunk: the differences of NOISE_CHUNK bands, their
 * global counts (one Allreduce), then the exact medians of d and |d - med|
 * (hcsc_stats_select).  Collective on comm; every rank passes the same B. */
static int noise_bands(MPI_Comm comm, const hcsc_tile *t, int64_t gb0, int64_t B,
                       int64_t cols_total, double *noise)
{
  int err = 0;
  const hcsc_box *bx = &t->box;
  const int64_t nr = bx->nr, nc = bx->nc;
  const int use_halo = t->halo >= 1 && bx->c0 + nc < cols_total;
  const double inv_sqrt2 = 0.70710678118654752440;
  double *dv[2 * NOISE_CHUNK] = {NULL}, sel[2 * NOISE_CHUNK];
  int64_t dn[2 * NOISE_CHUNK], kk[2 * NOISE_CHUNK], cnt[NOISE_CHUNK];
  for (int64_t b = 0; b < NOISE_CHUNK && b < t->nchan; b++)
    HCSC_CALLOC(dv[b], nr * nc > 0 ? nr * nc : 1);
cleanup:
  err = hcsc_error_agree(comm, err);
  for (int64_t cb = 0; !err && cb < B; cb += NOISE_CHUNK) {
    const int n = (int)(B - cb < NOISE_CHUNK ? B - cb : NOISE_CHUNK);
    hcsc_timer_start(HCSC_PHASE_COMPUTE);
    int slot = 0; /* this rank's bands of the chunk take the slots in order */
    for (int j = 0; j < n; j++) {
      const int64_t ch = cb + j - gb0;
      int64_t np = 0;
      if (ch >= 0 && ch < t->nchan) {
        double *d = dv[slot++];
        for (int64_t r = 0; r < nr; r++) {
          const float *row = &HCSC_TILE_AT(t, ch, r, 0);
          for (int64_t c = 0; c < nc; c++) {
            if (isnan(row[c])) continue;
            if ((c + 1 < nc || use_halo) && !isnan(row[c + 1]))
              d[np++] = ((double)row[c] - (double)row[c + 1]) * inv_sqrt2;
          }
        }
        dv[NOISE_CHUNK + j] = d;
      } else {
        dv[NOISE_CHUNK + j] = NULL;
      }
      dn[j] = np;
      cnt[j] = np;
    }
    hcsc_timer_stop(HCSC_PHASE_COMPUTE);
    hcsc_timer_start(HCSC_PHASE_REDUCE);
    err = MPI_Allreduce(MPI_IN_PLACE, cnt, n, MPI_INT64_T, MPI_SUM, comm);
    hcsc_timer_stop(HCSC_PHASE_REDUCE);
    if (err != MPI_SUCCESS) {
      err = hcsc_error_mpi(err, __FILE__, __LINE__, "MPI_Allreduce (noise pair counts)");
      break;
    }
    /* The lower middle order statistic k = (N - 1) / 2 by selection; the
     * upper one (k + 1, N even) from it: v_k again when more than k + 1
     * values are <= v_k, else the smallest value above v_k (one
     * Allreduce).  Exact, and half the passes of selecting both. */
    double *sv[NOISE_CHUNK];
    for (int j = 0; j < n; j++) {
      sv[j] = dv[NOISE_CHUNK + j];
      kk[j] = cnt[j] >= 2 ? (cnt[j] - 1) / 2 : -1;
    }
    for (int step = 0; step < 2 && !err; step++) {
      err = hcsc_stats_select(comm, n, sv, dn, kk, sel);
      if (err) break;
      hcsc_timer_start(HCSC_PHASE_COMPUTE);
      for (int j = 0; j < n; j++) {
        int64_t le = 0;
        double gt = INFINITY;
        for (int64_t i = 0; sv[j] && i < dn[j]; i++) {
          const double v = sv[j][i];
          if (v <= sel[j]) le++;
          else if (v < gt) gt = v;
        }
        kk[NOISE_CHUNK + j] = le;
        sel[NOISE_CHUNK + j] = gt;
      }
      hcsc_timer_stop(HCSC_PHASE_COMPUTE);
      hcsc_timer_start(HCSC_PHASE_REDUCE);
      err = MPI_Allreduce(MPI_IN_PLACE, kk + NOISE_CHUNK, n, MPI_INT64_T, MPI_SUM, comm);
      if (err == MPI_SUCCESS)
        err = MPI_Allreduce(MPI_IN_PLACE, sel + NOISE_CHUNK, n, MPI_DOUBLE, MPI_MIN, comm);
      hcsc_timer_stop(HCSC_PHASE_REDUCE);
      if (err != MPI_SUCCESS) {
        err = hcsc_error_mpi(err, __FILE__, __LINE__, "MPI_Allreduce (noise medians)");
        break;
      }
      for (int j = 0; j < n && !err; j++) {
        const double hi = cnt[j] % 2 || kk[NOISE_CHUNK + j] > kk[j] + 1 ? sel[j] : sel[NOISE_CHUNK + j];
        const double med = 0.5 * (sel[j] + hi);
        if (step == 1) {
          noise[cb + j] = 1.4826 * med;
          continue;
        }
        if (sv[j])
          for (int64_t i = 0; i < dn[j]; i++) sv[j][i] = fabs(sv[j][i] - med);
      }
    }
  }
  for (int b = 0; b < NOISE_CHUNK; b++) free(dv[b]);
  return err;
}

/* Collective on comm. */
int hcsc_stats_noise(MPI_Comm comm, const hcsc_tile *t, int64_t cols_total, double *noise)
{
  int err = 0;
  if (!t || !t->data || !noise || t->box.c0 + t->box.nc > cols_total)
    err = HCSC_ERR(HCSC_EINVAL, "hcsc_stats_noise: no tile or output, or a tile (cols %lld+%lld) "
                   "outside a scene of %lld columns", t ? (long long)t->box.c0 : 0LL,
                   t ? (long long)t->box.nc : 0LL, (long long)cols_total);
  HCSC_CHECK(hcsc_error_agree(comm, err));
  err = noise_bands(comm, t, 0, t->nchan, cols_total, noise);
cleanup:
  return err;
}

int hcsc_stats_compute(MPI_Comm comm, const hcsc_tile *t, int64_t bands_total, int64_t cols_total,
                       int noise, hcsc_stats *out)
{
  int err = 0;
  const hcsc_box *bx = &t->box;
  const int64_t B = bands_total, nb = bx->nb, nr = bx->nr, nc = bx->nc;
  double *acc = NULL, *ext = NULL;
  memset(out, 0, sizeof *out);
  if (B < 1 || bx->b0 < 0 || bx->b0 + nb > B || t->nchan != nb || bx->c0 + nc > cols_total)
    HCSC_FAIL(HCSC_ERANGE, "statistics: tile (bands %lld+%lld, cols %lld+%lld, %lld channels) does "
              "not fit a scene of %lld bands and %lld columns", (long long)bx->b0, (long long)nb,
              (long long)bx->c0, (long long)nc, (long long)t->nchan, (long long)B,
              (long long)cols_total);
  out->bands = B;
  HCSC_CALLOC(out->min, B);
  HCSC_CALLOC(out->max, B);
  HCSC_CALLOC(out->mean, B);
  HCSC_CALLOC(out->std, B);
  HCSC_CALLOC(out->noise, B);
  HCSC_CALLOC(out->count, B);
  HCSC_CALLOC(out->npairs, B);
  HCSC_CALLOC(acc, 3 * B);  /* sum, count, pairs; later sum of squared deviations */
  HCSC_CALLOC(ext, 2 * B);  /* -min, max */
cleanup:
  err = hcsc_error_agree(comm, err);
  if (err) goto done;

  hcsc_timer_start(HCSC_PHASE_COMPUTE);
  for (int64_t b = 0; b < 2 * B; b++) ext[b] = -INFINITY;
  for (int64_t b = 0; b < nb; b++) {
    const int64_t gb = bx->b0 + b;
    double s = 0, n = 0, lo = INFINITY, hi = -INFINITY;
    int64_t np = 0;
    /* The right neighbour of the last column comes from the halo, unless
     * it is outside the scene. */
    const int use_halo = t->halo >= 1 && bx->c0 + nc < cols_total;
    for (int64_t r = 0; r < nr; r++) {
      const float *row = &HCSC_TILE_AT(t, b, r, 0);
      for (int64_t c = 0; c < nc; c++) {
        double x = row[c];
        if (isnan(x)) continue;
        s += x;
        n += 1;
        if (x < lo) lo = x;
        if (x > hi) hi = x;
        if ((c + 1 < nc || use_halo) && !isnan(row[c + 1])) np++;
      }
    }
    acc[gb] = s, acc[B + gb] = n, acc[2 * B + gb] = (double)np;
    ext[gb] = -lo, ext[B + gb] = hi;
  }
  hcsc_timer_stop(HCSC_PHASE_COMPUTE);
  hcsc_timer_start(HCSC_PHASE_REDUCE);
  HCSC_MPI(MPI_Allreduce(MPI_IN_PLACE, acc, (int)(3 * B), MPI_DOUBLE, MPI_SUM, comm));
  HCSC_MPI(MPI_Allreduce(MPI_IN_PLACE, ext, (int)(2 * B), MPI_DOUBLE, MPI_MAX, comm));
  hcsc_timer_stop(HCSC_PHASE_REDUCE);
  for (int64_t b = 0; b < B; b++) {
    out->count[b] = (int64_t)acc[B + b];
    out->npairs[b] = (int64_t)acc[2 * B + b];
    if (out->count[b] == 0) {
      out->min[b] = out->max[b] = out->mean[b] = out->std[b] = NAN;
      continue;
    }
    out->min[b] = -ext[b];
    out->max[b] = ext[B + b];
    out->mean[b] = acc[b] / acc[B + b];
  }
  /* Second pass: deviations from the global mean (no cancellation). */
  memset(acc, 0, (size_t)B * sizeof *acc);
  for (int64_t b = 0; b < nb; b++) {
    const int64_t gb = bx->b0 + b;
    double s = 0, mu = out->mean[gb];
    for (int64_t r = 0; r < nr; r++) {
      const float *row = &HCSC_TILE_AT(t, b, r, 0);
      for (int64_t c = 0; c < nc; c++)
        if (!isnan(row[c])) s += (row[c] - mu) * (row[c] - mu);
    }
    acc[gb] = s;
  }
  hcsc_timer_start(HCSC_PHASE_REDUCE);
  HCSC_MPI(MPI_Allreduce(MPI_IN_PLACE, acc, (int)B, MPI_DOUBLE, MPI_SUM, comm));
  hcsc_timer_stop(HCSC_PHASE_REDUCE);
  for (int64_t b = 0; b < B; b++)
    out->std[b] = out->count[b] ? sqrt(acc[b] / (double)out->count[b]) : NAN;

  if (!noise) {
    for (int64_t b = 0; b < B; b++) out->noise[b] = NAN;
    goto done;
  }
  /* The differences are made again band chunk by band chunk: holding
   * them all (in double) would cost twice the tile. */
  err = noise_bands(comm, t, bx->b0, B, cols_total, out->noise);
done:
  free(acc);
  free(ext);
  if (err) hcsc_stats_free(out);
  return err;
}
