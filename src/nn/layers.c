/* hypercsc — unrolled networks: forward and backward of the elementwise and
 * spectral layers on tile interiors (see layers.h and nn_impl.h).
 *
 * Loops run over channels and rows with a contiguous inner loop over the
 * columns of a row (restrict pointers, no calls inside), so the compiler
 * vectorises them; the halo columns between rows are skipped.  The
 * spectral layer is one sgemm per row (the channel stride of a tile is a
 * legal leading dimension), or one for the whole tile when both operands
 * have no halo. */
#include "config.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "hcsc/timer.h"
#include "nn/layers.h"

#define ROW(t, ch, r) (&(t)->data[((int64_t)(ch) * (t)->ldr + (r) + (t)->halo) * (t)->ldc + (t)->halo])
#define CROW(t, ch, r) ((const float *)ROW(t, ch, r))

void nn_tile_copy(hcsc_tile *dst, const hcsc_tile *src)
{
  const int64_t nr = src->box.nr, nc = src->box.nc;
  for (int64_t ch = 0; ch < src->nchan; ch++)
    for (int64_t r = 0; r < nr; r++) memcpy(ROW(dst, ch, r), CROW(src, ch, r), sizeof(float) * (size_t)nc);
}

void nn_tile_axpy(hcsc_tile *dst, float a, const hcsc_tile *src)
{
  const int64_t nr = src->box.nr, nc = src->box.nc;
  for (int64_t ch = 0; ch < src->nchan; ch++)
    for (int64_t r = 0; r < nr; r++) {
      float *restrict d = ROW(dst, ch, r);
      const float *restrict s = CROW(src, ch, r);
      for (int64_t c = 0; c < nc; c++) d[c] += a * s[c];
    }
}

void nn_tile_zero(hcsc_tile *t)
{
  if (t->data) memset(t->data, 0, sizeof(float) * (size_t)(t->nchan * t->ldr * t->ldc));
}

void nn_thresh_fwd(const hcsc_tile *in, hcsc_tile *out, const float *theta, float s, int nonneg,
                   int64_t *nnz)
{
  const int64_t nr = in->box.nr, nc = in->box.nc;
  int64_t count = 0;
  for (int64_t ch = 0; ch < in->nchan; ch++) {
    const float t = s * (theta[ch] > 0.0f ? theta[ch] : 0.0f);
    for (int64_t r = 0; r < nr; r++) {
      const float *restrict v = CROW(in, ch, r);
      float *restrict o = ROW(out, ch, r);
      int64_t nz = 0;
      if (nonneg) {
        for (int64_t c = 0; c < nc; c++) {
          const float u = v[c] - t;
          o[c] = u > 0.0f ? u : 0.0f;
          nz += u > 0.0f;
        }
      } else {
        for (int64_t c = 0; c < nc; c++) {
          const float a = fabsf(v[c]) - t;
          o[c] = a > 0.0f ? copysignf(a, v[c]) : 0.0f;
          nz += a > 0.0f;
        }
      }
      count += nz;
    }
  }
  *nnz = count;
}

void nn_thresh_bwd(const hcsc_tile *out, const hcsc_tile *dout, hcsc_tile *din,
                   const float *theta, float s, double *dtheta)
{
  const int64_t nr = out->box.nr, nc = out->box.nc;
  for (int64_t ch = 0; ch < out->nchan; ch++) {
    double acc = 0.0;
    for (int64_t r = 0; r < nr; r++) {
      const float *restrict o = CROW(out, ch, r);
      const float *restrict d = CROW(dout, ch, r);
      float racc = 0.0f;
      if (din) {
        float *restrict g = ROW(din, ch, r);
        for (int64_t c = 0; c < nc; c++) g[c] += o[c] != 0.0f ? d[c] : 0.0f;
      }
      for (int64_t c = 0; c < nc; c++)
        racc += o[c] > 0.0f ? d[c] : (o[c] < 0.0f ? -d[c] : 0.0f);
      acc += racc;
    }
    if (theta[ch] > 0.0f) dtheta[ch] += -(double)s * acc;
  }
}

void nn_lincomb_fwd(int n, const hcsc_tile *const *in, const float *coef, hcsc_tile *out)
{
  const int64_t nr = out->box.nr, nc = out->box.nc;
  for (int64_t ch = 0; ch < out->nchan; ch++)
    for (int64_t r = 0; r < nr; r++) {
      float *restrict o = ROW(out, ch, r);
      const float *restrict a = CROW(in[0], ch, r);
      const float c0 = coef[0];
      for (int64_t c = 0; c < nc; c++) o[c] = c0 * a[c];
      for (int i = 1; i < n; i++) {
        const float *restrict b = CROW(in[i], ch, r);
        const float ci = coef[i];
        for (int64_t c = 0; c < nc; c++) o[c] += ci * b[c];
      }
    }
}

void nn_lincomb_bwd(int n, const hcsc_tile *const *in, const float *coef, const hcsc_tile *dout,
                    hcsc_tile *const *din, const int *want_dot, double *dot)
{
  const int64_t nr = dout->box.nr, nc = dout->box.nc;
  for (int i = 0; i < n; i++) {
    double acc = 0.0;
    for (int64_t ch = 0; ch < dout->nchan; ch++)
      for (int64_t r = 0; r < nr; r++) {
        const float *restrict d = CROW(dout, ch, r);
        if (din[i]) {
          float *restrict g = ROW(din[i], ch, r);
          const float ci = coef[i];
          for (int64_t c = 0; c < nc; c++) g[c] += ci * d[c];
        }
        if (want_dot[i]) {
          const float *restrict a = CROW(in[i], ch, r);
          float racc = 0.0f;
          for (int64_t c = 0; c < nc; c++) racc += d[c] * a[c];
          acc += racc;
        }
      }
    dot[i] = acc;
  }
}

void nn_scale_fwd(const hcsc_tile *in, const float *w, hcsc_tile *out)
{
  const int64_t nr = in->box.nr, nc = in->box.nc;
  for (int64_t ch = 0; ch < in->nchan; ch++) {
    const float a = w[ch];
    for (int64_t r = 0; r < nr; r++) {
      const float *restrict v = CROW(in, ch, r);
      float *restrict o = ROW(out, ch, r);
      for (int64_t c = 0; c < nc; c++) o[c] = a * v[c];
    }
  }
}

void nn_scale_bwd(const hcsc_tile *in, const float *w, const hcsc_tile *dout, hcsc_tile *din,
                  double *dot)
{
  const int64_t nr = in->box.nr, nc = in->box.nc;
  for (int64_t ch = 0; ch < in->nchan; ch++) {
    const float a = w[ch];
    double acc = 0.0;
    for (int64_t r = 0; r < nr; r++) {
      const float *restrict v = CROW(in, ch, r);
      const float *restrict d = CROW(dout, ch, r);
      float racc = 0.0f;
      if (din) {
        float *restrict g = ROW(din, ch, r);
        for (int64_t c = 0; c < nc; c++) g[c] += a * d[c];
      }
      for (int64_t c = 0; c < nc; c++) racc += d[c] * v[c];
      acc += racc;
    }
    dot[ch] = acc;
  }
}

void nn_spectral_fwd(const hcsc_tile *in, const float *W, hcsc_tile *out)
{
  const int no = (int)out->nchan, ni = (int)in->nchan;
  const int64_t nr = in->box.nr, nc = in->box.nc;
  if (in->halo == 0 && out->halo == 0) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, no, (int)(nr * nc), ni, 1.0f, W, ni,
                in->data, (int)(nr * nc), 0.0f, out->data, (int)(nr * nc));
    return;
  }
  for (int64_t r = 0; r < nr; r++)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, no, (int)nc, ni, 1.0f, W, ni,
                CROW(in, 0, r), (int)(in->ldr * in->ldc), 0.0f, ROW(out, 0, r),
                (int)(out->ldr * out->ldc));
}

void nn_spectral_bwd(const hcsc_tile *in, const float *W, const hcsc_tile *dout, hcsc_tile *din,
                     float *dW)
{
  const int no = (int)dout->nchan, ni = (int)in->nchan;
  const int64_t nr = in->box.nr, nc = in->box.nc;
  if (in->halo == 0 && dout->halo == 0 && (!din || din->halo == 0)) {
    const int np = (int)(nr * nc);
    if (din)
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, ni, np, no, 1.0f, W, ni, dout->data, np,
                  1.0f, din->data, np);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, no, ni, np, 1.0f, dout->data, np, in->data,
                np, 1.0f, dW, ni);
    return;
  }
  for (int64_t r = 0; r < nr; r++) {
    const int ldd = (int)(dout->ldr * dout->ldc), ldi = (int)(in->ldr * in->ldc);
    if (din)
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, ni, (int)nc, no, 1.0f, W, ni,
                  CROW(dout, 0, r), ldd, 1.0f, ROW(din, 0, r), (int)(din->ldr * din->ldc));
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, no, ni, (int)nc, 1.0f, CROW(dout, 0, r),
                ldd, CROW(in, 0, r), ldi, 1.0f, dW, ni);
  }
}

void nn_lattice_apply(const hcsc_tile *in, int s, hcsc_tile *out, int add)
{
  const int64_t nr = in->box.nr, nc = in->box.nc, r0 = in->box.r0, c0 = in->box.c0;
  /* First interior column on the lattice. */
  const int64_t cfirst = (s - c0 % s) % s;
  for (int64_t ch = 0; ch < in->nchan; ch++)
    for (int64_t r = 0; r < nr; r++) {
      const float *restrict v = CROW(in, ch, r);
      float *restrict o = ROW(out, ch, r);
      const int on = (r0 + r) % s == 0;
      if (!add) memset(o, 0, sizeof(float) * (size_t)nc);
      if (!on) continue;
      for (int64_t c = cfirst; c < nc; c += s) o[c] += v[c];
    }
}

/* The mask's row for channel ch: a 1-channel mask serves every channel. */
#define MROW(m, ch, r) CROW(m, (m)->nchan == 1 ? 0 : (ch), r)

void nn_mask_mul(hcsc_tile *t, const hcsc_tile *mask)
{
  const int64_t nr = t->box.nr, nc = t->box.nc;
  for (int64_t ch = 0; ch < t->nchan; ch++)
    for (int64_t r = 0; r < nr; r++) {
      float *restrict o = ROW(t, ch, r);
      const float *restrict w = MROW(mask, ch, r);
      for (int64_t c = 0; c < nc; c++) o[c] *= w[c];
    }
}

void nn_mask_zero(hcsc_tile *t, const hcsc_tile *mask)
{
  const int64_t nr = t->box.nr, nc = t->box.nc;
  for (int64_t ch = 0; ch < t->nchan; ch++)
    for (int64_t r = 0; r < nr; r++) {
      float *restrict o = ROW(t, ch, r);
      const float *restrict w = MROW(mask, ch, r);
      for (int64_t c = 0; c < nc; c++)
        if (w[c] == 0.0f) o[c] = 0.0f;
    }
}

void nn_mask_nan(hcsc_tile *t, const hcsc_tile *mask)
{
  const int64_t nr = t->box.nr, nc = t->box.nc;
  for (int64_t ch = 0; ch < t->nchan; ch++)
    for (int64_t r = 0; r < nr; r++) {
      float *restrict o = ROW(t, ch, r);
      const float *restrict w = MROW(mask, ch, r);
      for (int64_t c = 0; c < nc; c++)
        if (w[c] == 0.0f) o[c] = NAN;
    }
}

void nn_scale_mask_bwd(const hcsc_tile *in, const float *w, const hcsc_tile *mask,
                       const hcsc_tile *dout, hcsc_tile *din, double *dot)
{
  const int64_t nr = in->box.nr, nc = in->box.nc;
  for (int64_t ch = 0; ch < in->nchan; ch++) {
    const float a = w[ch];
    double acc = 0.0;
    for (int64_t r = 0; r < nr; r++) {
      const float *restrict v = CROW(in, ch, r);
      const float *restrict d = CROW(dout, ch, r);
      const float *restrict m = MROW(mask, ch, r);
      float racc = 0.0f;
      if (din) {
        float *restrict g = ROW(din, ch, r);
        for (int64_t c = 0; c < nc; c++) g[c] += a * m[c] * d[c];
      }
      for (int64_t c = 0; c < nc; c++) racc += d[c] * m[c] * v[c];
      acc += racc;
    }
    dot[ch] = acc;
  }
}
