/* hypercsc — MPSNR, MSSIM, SAM, ERGAS on distributed tiles
 * (see include/hcsc/metrics.h). */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hcsc/error.h"
#include "hcsc/metrics.h"
#include "hcsc/noise.h"
#include "hcsc/timer.h"

#define SSIM_RADIUS 5
#define SSIM_SIGMA 1.5
#define SSIM_K1 0.01
#define SSIM_K2 0.03

void hcsc_metrics_opts_init(hcsc_metrics_opts *o)
{
  o->peak = 0;
  o->ssim = 1;
}

void hcsc_metrics_free(hcsc_metrics *m)
{
  if (!m) return;
  free(m->psnr);
  free(m->ssim);
  free(m->mse);
  free(m->mean_ref);
  free(m->rmse);
  free(m->count);
  m->psnr = m->ssim = m->mse = m->mean_ref = m->rmse = NULL;
  m->count = NULL;
}

static int same_box(const hcsc_box *a, const hcsc_box *b)
{
  return a->b0 == b->b0 && a->nb == b->nb && a->r0 == b->r0 && a->nr == b->nr && a->c0 == b->c0 &&
         a->nc == b->nc;
}

/* Sum of the SSIM map of one band over its valid pixels (into *sum, *n).
 * Separable Gaussian filtering of x, y, x^2, y^2, xy: a horizontal pass over
 * the interior columns of rows [-5, nr+5) (halo rows included), then a
 * vertical pass; work holds 5 (nr+10) nc doubles. */
static void ssim_band(const hcsc_tile *x, const hcsc_tile *y, int64_t b, double L, double *work,
                      double *sum, double *n)
{
  const int R = SSIM_RADIUS;
  const int64_t nr = x->box.nr, nc = x->box.nc, hr = nr + 2 * R, plane = hr * nc;
  double w[2 * SSIM_RADIUS + 1], ws = 0;
  for (int k = -R; k <= R; k++) ws += w[k + R] = exp(-(double)(k * k) / (2 * SSIM_SIGMA * SSIM_SIGMA));
  for (int k = 0; k <= 2 * R; k++) w[k] /= ws;
  double *hx = work, *hy = work + plane, *hxx = work + 2 * plane, *hyy = work + 3 * plane,
         *hxy = work + 4 * plane;
  for (int64_t r = -R; r < nr + R; r++) {
    const float *px = &HCSC_TILE_AT(x, b, r, 0), *py = &HCSC_TILE_AT(y, b, r, 0);
    const int64_t o = (r + R) * nc;
    for (int64_t c = 0; c < nc; c++) {
      double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
      for (int k = -R; k <= R; k++) {
        double a = px[c + k], bb = py[c + k], wk = w[k + R];
        sx += wk * a;
        sy += wk * bb;
        sxx += wk * a * a;
        syy += wk * bb * bb;
        sxy += wk * a * bb;
      }
      hx[o + c] = sx, hy[o + c] = sy, hxx[o + c] = sxx, hyy[o + c] = syy, hxy[o + c] = sxy;
    }
  }
  const double C1 = (SSIM_K1 * L) * (SSIM_K1 * L), C2 = (SSIM_K2 * L) * (SSIM_K2 * L);
  double s = 0, cnt = 0;
  for (int64_t r = 0; r < nr; r++)
    for (int64_t c = 0; c < nc; c++) {
      double mx = 0, my = 0, exx = 0, eyy = 0, exy = 0;
      for (int k = -R; k <= R; k++) {
        int64_t o = (r + R + k) * nc + c;
        double wk = w[k + R];
        mx += wk * hx[o];
        my += wk * hy[o];
        exx += wk * hxx[o];
        eyy += wk * hyy[o];
        exy += wk * hxy[o];
      }
      double vx = exx - mx * mx, vy = eyy - my * my, cxy = exy - mx * my;
      double v = ((2 * mx * my + C1) * (2 * cxy + C2)) / ((mx * mx + my * my + C1) * (vx + vy + C2));
      if (isnan(v)) continue;
      s += v;
      cnt += 1;
    }
  *sum += s;
  *n += cnt;
}

int hcsc_metrics_compute(MPI_Comm comm, MPI_Comm spectral_comm, const hcsc_tile *ref,
                         const hcsc_tile *test, int64_t bands_total, const hcsc_metrics_opts *o,
                         hcsc_metrics *out)
{
  int err = 0;
  double *acc = NULL, *pix = NULL, *work = NULL;
  const hcsc_box *bx = &ref->box;
  const int64_t B = bands_total, nb = bx->nb, nr = bx->nr, nc = bx->nc, npix = nr * nc;
  const int64_t nacc = 5 * B + 4;
  hcsc_metrics_opts defaults;
  if (!o) {
    hcsc_metrics_opts_init(&defaults);
    o = &defaults;
  }
  memset(out, 0, sizeof *out);
  if (!same_box(&ref->box, &test->box) || ref->nchan != nb || test->nchan != nb)
    HCSC_FAIL(HCSC_ESIZE, "metrics: the reference and test tiles differ in box or channels");
  if (B < 1 || bx->b0 < 0 || bx->b0 + nb > B)
    HCSC_FAIL(HCSC_ERANGE, "metrics: tile bands %lld+%lld outside a scene of %lld bands",
              (long long)bx->b0, (long long)nb, (long long)B);
  if (o->ssim && (ref->halo < SSIM_RADIUS || test->halo < SSIM_RADIUS))
    HCSC_FAIL(HCSC_EINVAL, "metrics: SSIM needs tiles with a halo of at least %d (have %d and %d)",
              SSIM_RADIUS, ref->halo, test->halo);
  out->bands = B;
  HCSC_CALLOC(out->psnr, B);
  HCSC_CALLOC(out->ssim, B);
  HCSC_CALLOC(out->mse, B);
  HCSC_CALLOC(out->rmse, B);
  HCSC_CALLOC(out->mean_ref, B);
  HCSC_CALLOC(out->count, B);
  /* One buffer for the reduction over comm: per band sse, count, sum of
   * the reference, SSIM sum and count; then NaN count, SAM sum, SAM pixels,
   * SAM skipped. */
  HCSC_CALLOC(acc, nacc);
  HCSC_CALLOC(pix, 4 * (npix > 0 ? npix : 1));
  if (o->ssim) HCSC_CALLOC(work, 5 * (nr + 2 * SSIM_RADIUS) * (nc > 0 ? nc : 1));
cleanup:
  err = hcsc_error_agree(comm, err);
  if (err) goto done;

  double peak = o->peak;
  if (!(peak > 0)) {
    double mm[2];
    HCSC_CHECK(hcsc_noise_minmax(comm, ref, mm));
    peak = mm[1] - mm[0];
  }
  out->peak = peak;

  hcsc_timer_start(HCSC_PHASE_COMPUTE);
  double *sse = acc, *cnt = acc + B, *sref = acc + 2 * B, *ssum = acc + 3 * B, *sn = acc + 4 * B;
  double *tail = acc + 5 * B;
  for (int64_t b = 0; b < nb; b++) {
    const int64_t gb = bx->b0 + b;
    double e = 0, n = 0, s = 0, nn = 0;
    for (int64_t r = 0; r < nr; r++) {
      const float *px = &HCSC_TILE_AT(ref, b, r, 0), *py = &HCSC_TILE_AT(test, b, r, 0);
      double *pp = pix + 4 * r * nc;
      for (int64_t c = 0; c < nc; c++) {
        double a = px[c], t = py[c];
        if (isnan(a) || isnan(t)) {
          nn += 1;
          pp[4 * c + 3] = 1;
          continue;
        }
        e += (a - t) * (a - t);
        s += a;
        n += 1;
        pp[4 * c] += a * t;
        pp[4 * c + 1] += a * a;
        pp[4 * c + 2] += t * t;
      }
    }
    sse[gb] = e, cnt[gb] = n, sref[gb] = s;
    tail[0] += nn;
    if (o->ssim) ssim_band(ref, test, b, peak, work, &ssum[gb], &sn[gb]);
  }
  hcsc_timer_stop(HCSC_PHASE_COMPUTE);

  /* SAM: the per-pixel partial sums over this rank's bands are completed
   * over the spectral comm; then one rank per spatial tile counts them. */
  int srank = 0, ssize = 1;
  if (spectral_comm != MPI_COMM_NULL) {
    MPI_Comm_rank(spectral_comm, &srank);
    MPI_Comm_size(spectral_comm, &ssize);
  }
  hcsc_timer_start(HCSC_PHASE_REDUCE);
  if (ssize > 1 && npix > 0) {
    hcsc_timer_add_bytes(HCSC_PHASE_REDUCE, 4.0 * npix * sizeof(double));
    if (npix * 4 > INT32_MAX) HCSC_FAIL(HCSC_ESIZE, "metrics: tile too large for one SAM reduction");
    HCSC_MPI(MPI_Allreduce(MPI_IN_PLACE, pix, (int)(4 * npix), MPI_DOUBLE, MPI_SUM, spectral_comm));
  }
  hcsc_timer_stop(HCSC_PHASE_REDUCE);
  if (srank == 0)
    for (int64_t i = 0; i < npix; i++) {
      const double *p = pix + 4 * i;
      if (p[3] != 0 || p[1] == 0 || p[2] == 0) {
        tail[3] += 1;
        continue;
      }
      double cosang = p[0] / (sqrt(p[1]) * sqrt(p[2]));
      cosang = cosang > 1 ? 1 : cosang < -1 ? -1 : cosang;
      tail[1] += acos(cosang);
      tail[2] += 1;
    }
  hcsc_timer_start(HCSC_PHASE_REDUCE);
  hcsc_timer_add_bytes(HCSC_PHASE_REDUCE, (double)nacc * sizeof(double));
  HCSC_MPI(MPI_Allreduce(MPI_IN_PLACE, acc, (int)nacc, MPI_DOUBLE, MPI_SUM, comm));
  hcsc_timer_stop(HCSC_PHASE_REDUCE);

  double psum = 0, pn = 0, ssim_all = 0, ssim_nb = 0, erg = 0, ergn = 0;
  for (int64_t b = 0; b < B; b++) {
    out->count[b] = (int64_t)cnt[b];
    if (cnt[b] == 0) {
      out->psnr[b] = out->mse[b] = out->rmse[b] = out->mean_ref[b] = out->ssim[b] = NAN;
      continue;
    }
    double mse = sse[b] / cnt[b], mu = sref[b] / cnt[b];
    out->mse[b] = mse;
    out->rmse[b] = sqrt(mse);
    out->mean_ref[b] = mu;
    out->psnr[b] = mse > 0 ? 10 * log10(peak * peak / mse) : INFINITY;
    psum += out->psnr[b];
    pn += 1;
    erg += mse > 0 ? mse / (mu * mu) : 0;
    ergn += 1;
    out->ssim[b] = sn[b] > 0 ? ssum[b] / sn[b] : NAN;
    if (sn[b] > 0) ssim_all += out->ssim[b], ssim_nb += 1;
  }
  out->mpsnr = pn > 0 ? psum / pn : NAN;
  out->mssim = o->ssim && ssim_nb > 0 ? ssim_all / ssim_nb : NAN;
  out->ergas = ergn > 0 ? 100 * sqrt(erg / ergn) : NAN;
  out->nan_skipped = (int64_t)tail[0];
  out->sam_pixels = (int64_t)tail[2];
  out->sam_skipped = (int64_t)tail[3];
  out->sam = tail[2] > 0 ? tail[1] / tail[2] : NAN;
  out->sam_deg = out->sam * (180.0 / 3.14159265358979323846);
  err = hcsc_error_agree(comm, err);
done:
  free(acc);
  free(pix);
  free(work);
  if (err) hcsc_metrics_free(out);
  return err;
}
