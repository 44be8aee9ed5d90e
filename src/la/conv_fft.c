/* hypercsc — overlap-save FFT correlation (see conv_impl.h).
 *
 * The region is cut in blocks of B - k + 1 outputs per axis; each block
 * reads a B x B window of the input (zero past the valid input), which is
 * transformed once per input channel (r2c).  Per output channel the
 * spectra are multiplied by the atom spectra and summed, then transformed
 * back (c2r) and the valid B - k + 1 square is kept:
 *   synthesis  y = IDFT( sum_m conj(D_mc) Z_m ),  y(p) valid at p = 0..B-k
 *   analysis   u = IDFT( sum_c D_mc R_c ),         u(p) valid at p = k-1..B-1
 * (circular correlation and convolution with the atom placed at the
 * origin; the wrapped part is what overlap-save discards).
 *
 * The atom spectra are stored split into real and imaginary planes padded
 * to a multiple of 8 so that the multiply-accumulate over frequencies is a
 * loop of 8-float vectors (GCC's generic vectors, as in conv_direct.c).
 * Plans are made once at create with FFTW_ESTIMATE (FFTW_MEASURE when the
 * environment sets HCSC_FFTW_MEASURE=1: better plans, seconds to make). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <fftw3.h>

#include "hcsc/error.h"
#include "la/conv_impl.h"

typedef float vf8 __attribute__((vector_size(32), aligned(4)));

struct hcsc_conv_fft {
  int M, C, k, B;
  int64_t nf, nfp;     /* complex frequencies B (B/2 + 1), padded to 8 */
  float *sre, *sim;    /* atom spectra [M][C][nfp] */
  float *zre, *zim;    /* input spectra [max(M, C)][nfp] */
  float *are, *aim;    /* accumulator [nfp] */
  float *rbuf;         /* B x B real */
  fftwf_complex *cbuf; /* B x (B/2 + 1) */
  fftwf_plan fwd, inv;
};

double hcsc_conv_fft_spectra_bytes(int natoms, int nchan, int B)
{
  double nf = (double)B * (B / 2 + 1);
  return 2.0 * sizeof(float) * natoms * (double)nchan * (nf + 8);
}

void hcsc_conv_fft_destroy(hcsc_conv_fft **pf)
{
  hcsc_conv_fft *f;
  if (!pf || !*pf) return;
  f = *pf;
  if (f->fwd) fftwf_destroy_plan(f->fwd);
  if (f->inv) fftwf_destroy_plan(f->inv);
  fftwf_free(f->sre);
  fftwf_free(f->sim);
  fftwf_free(f->zre);
  fftwf_free(f->zim);
  fftwf_free(f->are);
  fftwf_free(f->aim);
  fftwf_free(f->rbuf);
  fftwf_free(f->cbuf);
  free(f);
  *pf = NULL;
}

/* fftwf_malloc'ed, zeroed (and so touched: the page faults happen here,
 * at create, not in the first operator call). */
static float *falloc(size_t n)
{
  float *p = fftwf_malloc((n ? n : 1) * sizeof(float));
  if (p) memset(p, 0, (n ? n : 1) * sizeof(float));
  return p;
}

/* Not collective.  The caller owns *out (hcsc_conv_fft_destroy). */
int hcsc_conv_fft_create(int natoms, int nchan, int k, int B, hcsc_conv_fft **out)
{
  int err = 0;
  hcsc_conv_fft *f = NULL;
  const char *env = getenv("HCSC_FFTW_MEASURE");
  unsigned flags = (env && env[0] == '1') ? FFTW_MEASURE : FFTW_ESTIMATE;
  if (B < k || B < 2) HCSC_FAIL(HCSC_EINVAL, "FFT block %d is smaller than the %d x %d atoms", B, k, k);
  HCSC_CALLOC(f, 1);
  f->M = natoms;
  f->C = nchan;
  f->k = k;
  f->B = B;
  f->nf = (int64_t)B * (B / 2 + 1);
  f->nfp = (f->nf + 7) / 8 * 8;
  {
    const int64_t nin = natoms > nchan ? natoms : nchan;
    const size_t ns = (size_t)natoms * nchan * f->nfp;
    f->sre = falloc(ns);
    f->sim = falloc(ns);
    f->zre = falloc((size_t)nin * f->nfp);
    f->zim = falloc((size_t)nin * f->nfp);
    f->are = falloc((size_t)f->nfp);
    f->aim = falloc((size_t)f->nfp);
    f->rbuf = falloc((size_t)B * B);
    f->cbuf = fftwf_malloc(sizeof(fftwf_complex) * (size_t)f->nf);
    if (!f->sre || !f->sim || !f->zre || !f->zim || !f->are || !f->aim || !f->rbuf || !f->cbuf)
      HCSC_FAIL(HCSC_ENOMEM, "out of memory for FFT convolution buffers (%d atoms x %d channels, "
                "blocks of %d x %d)", natoms, nchan, B, B);
  }
  /* Planning may overwrite the buffers (FFTW_MEASURE): nothing is in them yet. */
  f->fwd = fftwf_plan_dft_r2c_2d(B, B, f->rbuf, f->cbuf, flags);
  f->inv = fftwf_plan_dft_c2r_2d(B, B, f->cbuf, f->rbuf, flags);
  if (!f->fwd || !f->inv)
    HCSC_FAIL(HCSC_EFFTW, "FFTW could not plan %d x %d real transforms (single precision)", B, B);
  *out = f;
  f = NULL;
cleanup:
  hcsc_conv_fft_destroy(&f);
  return err;
}

/* Transform rbuf and store the spectrum split at re/im. */
static void forward(hcsc_conv_fft *f, float *re, float *im)
{
  fftwf_execute(f->fwd);
  for (int64_t i = 0; i < f->nf; i++) {
    re[i] = f->cbuf[i][0];
    im[i] = f->cbuf[i][1];
  }
}

/* Not collective. */
int hcsc_conv_fft_set_atoms(hcsc_conv_fft *f, const hcsc_dict *d)
{
  if (!f || !d || d->natoms != f->M || d->nchan != f->C || d->ksize != f->k)
    return HCSC_ERR(HCSC_EINVAL, "FFT convolution: the dictionary's shape changed since planning");
  const int B = f->B, k = f->k;
  for (int m = 0; m < f->M; m++)
    for (int c = 0; c < f->C; c++) {
      memset(f->rbuf, 0, sizeof(float) * (size_t)B * B);
      for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++) f->rbuf[i * B + j] = HCSC_ATOM(d, m, c, i, j);
      const int64_t off = ((int64_t)m * f->C + c) * f->nfp;
      forward(f, f->sre + off, f->sim + off);
    }
  return 0;
}

/* acc += K Z (sign = +1) or conj(K) Z (sign = -1), over nfp frequencies. */
static void cmac(int64_t nfp, float sign, const float *restrict kr, const float *restrict ki,
                 const float *restrict zr, const float *restrict zi, float *restrict ar,
                 float *restrict ai)
{
  for (int64_t f = 0; f < nfp; f += 8) {
    const vf8 a = *(const vf8 *)(kr + f), b = sign * *(const vf8 *)(ki + f);
    const vf8 x = *(const vf8 *)(zr + f), y = *(const vf8 *)(zi + f);
    *(vf8 *)(ar + f) += a * x - b * y;
    *(vf8 *)(ai + f) += a * y + b * x;
  }
}

/* Not collective. */
void hcsc_conv_fft_run(hcsc_conv_fft *f, int analysis, const float *in, int64_t in_plane,
                       int64_t in_ld, int64_t in_nr, int64_t in_nc, float *out, int64_t out_plane,
                       int64_t out_ld, int64_t nr, int64_t nc)
{
  const int B = f->B, k = f->k, Bo = B - k + 1;
  const int nin = analysis ? f->C : f->M, nout = analysis ? f->M : f->C;
  const int off = analysis ? k - 1 : 0;
  const float sign = analysis ? 1.0f : -1.0f, scale = 1.0f / ((float)B * (float)B);
  for (int64_t br = 0; br < nr; br += Bo)
    for (int64_t bc = 0; bc < nc; bc += Bo) {
      const int64_t wr = in_nr - br < B ? in_nr - br : B, wc = in_nc - bc < B ? in_nc - bc : B;
      const int64_t orr = nr - br < Bo ? nr - br : Bo, occ = nc - bc < Bo ? nc - bc : Bo;
      for (int m = 0; m < nin; m++) {
        const float *src = in + m * in_plane + br * in_ld + bc;
        for (int64_t i = 0; i < B; i++) {
          float *dst = f->rbuf + i * B;
          if (i < wr) {
            memcpy(dst, src + i * in_ld, sizeof(float) * (size_t)wc);
            if (wc < B) memset(dst + wc, 0, sizeof(float) * (size_t)(B - wc));
          } else {
            memset(dst, 0, sizeof(float) * (size_t)B);
          }
        }
        forward(f, f->zre + m * f->nfp, f->zim + m * f->nfp);
      }
      for (int o = 0; o < nout; o++) {
        memset(f->are, 0, sizeof(float) * (size_t)f->nfp);
        memset(f->aim, 0, sizeof(float) * (size_t)f->nfp);
        for (int m = 0; m < nin; m++) {
          /* Spectra are stored [atom][channel]. */
          const int64_t s = (analysis ? (int64_t)o * f->C + m : (int64_t)m * f->C + o) * f->nfp;
          cmac(f->nfp, sign, f->sre + s, f->sim + s, f->zre + m * f->nfp, f->zim + m * f->nfp,
               f->are, f->aim);
        }
        for (int64_t i = 0; i < f->nf; i++) {
          f->cbuf[i][0] = f->are[i];
          f->cbuf[i][1] = f->aim[i];
        }
        fftwf_execute(f->inv);
        float *dst = out + o * out_plane + br * out_ld + bc;
        for (int64_t i = 0; i < orr; i++) {
          const float *row = f->rbuf + (i + off) * B + off;
          for (int64_t j = 0; j < occ; j++) dst[i * out_ld + j] = row[j] * scale;
        }
      }
    }
}
