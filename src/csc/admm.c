/* ADMM for CBPDN on one circular region: the serial plan (hcsc/admm.h).
 *
 * Data layout.  Spatial arrays are channel-major, row-major, packed
 * ([ch][rows][cols]).  Spectra are split into real and imaginary planes,
 * frequency innermost ([ch][freq], rows x (cols/2 + 1) frequencies padded
 * to a multiple of 8), so every per-frequency loop is a unit-stride loop
 * over floats that GCC vectorises.  The transforms are one plain 2-D
 * r2c and one c2r plan on a single-channel buffer, run channel by channel
 * with the spectrum (de)interleaved through a cache-resident buffer: FFTW's
 * split-array and batched (howmany) plans measured 2-3x and 5-10x slower
 * here than this loop (512 x 512, FFTW_ESTIMATE).
 *
 * The X-step.  At each frequency D is the C x M matrix H_cm (atom spectra),
 * and (D^H D + rho I) x = b is solved by Woodbury:
 *     x = (b - D^H (rho I_C + D D^H)^{-1} D b) / rho,
 * with the C x C Hermitian matrix rho I + D D^H Cholesky-factored once per
 * rho (frequency-innermost too).  For C = 1 this is Sherman-Morrison.
 * Why Woodbury and not SPORCO's iterated Sherman-Morrison (solvemdbi_ism):
 * per frequency and solve, Woodbury costs 2 C M + C^2 complex multiply-adds
 * and reads H (C M) and L (C (C + 1) / 2) from memory; ISM with its rank-one
 * vectors cached costs 2 C M but reads H and the C M cached vectors, 2 C M
 * numbers (SPORCO recomputes them at every call, another C^2 M).  At the
 * sizes that matter the solve is bound by memory traffic (H alone is
 * 135 MB for 32 atoms x 16 channels on 256 x 256), so Woodbury's
 * C M + C^2 / 2 numbers beat ISM's 2 C M whenever C < 2 M, and refactoring
 * after a change of rho (C^2 M + C^3 / 3) costs about what ISM's setup does.
 *
 * Unmasked iteration (Wohlberg 2016, alg. 1 with over-relaxation):
 *   X = solve(D^H S + rho F(Y - U));  Xr = alpha X + (1 - alpha) Y;
 *   Y = shrink(Xr + U, lambda / rho);  U = U + Xr - Y.
 * X is never stored: channel by channel, the inverse transform's output is
 * consumed by the Y/U pass while it is in cache, which writes Y - U back
 * into the same buffer for the next iteration's forward transform, so an
 * iteration is the solve, then M x (c2r, one pass over Y and U, r2c).
 *
 * Masked iteration (mask decoupling; SPORCO's ConvBPDNMaskDcpl): A = [D; I],
 * c = [S; 0], A X - Y = c with Y = (Y0, Y1):
 *   (D^H D + I) X = D^H F(Y0 + S - U0) + F(Y1 - U1)   (rho-free: factored once)
 *   Y0 = rho (D Xr - S + U0) / (W^2 + rho),  Y1 = shrink(Xr + U1, lambda / rho).
 * Its dual residual is measured as rho ||Y_k - Y_{k-1}|| over both blocks
 * (normalised by rho ||U||) rather than through A^T, which would cost C + M
 * more transforms per iteration: exact for the Y1 block, the Y0 block is
 * measured before A^T (an approximation of Boyd's dual residual). */
#include "config.h"

/* The per-frequency loops and the code update are plain loops written for
 * the auto-vectoriser; -O2's very cheap cost model leaves most of them
 * scalar. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#endif

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <fftw3.h>

#include "csc/admm_impl.h"
#include "hcsc/error.h"
#include "hcsc/timer.h"

struct hcsc_admm_plan {
  const hcsc_dict *d;
  hcsc_admm_opts o;
  int M, C, R, Q;         /* atoms, channels, region rows and cols */
  int64_t N, nf, nfp;     /* pixels, frequencies R (Q/2 + 1), padded */
  float *hre, *him;       /* atom spectra H_cm: [C][M][nfp] */
  float *lre, *lim;       /* Cholesky factor of rho I + D D^H, packed lower [C(C+1)/2][nfp] */
  float *linv;            /* 1 / L_ii: [C][nfp] */
  double fact_rho;        /* rho the factor holds; < 0: none */
  float *sre, *sim;       /* D^H S: [M][nfp] */
  float *bre, *bim;       /* M spectra */
  float *wre, *wim;       /* C spectra */
  float *rbuf;            /* N: transform input/output (one channel) */
  fftwf_complex *cbuf;    /* R (Q/2 + 1): interleaved spectrum */
  float *Y, *U;           /* M x N */
  float *Y0, *U0, *DX;    /* C x N (masked case; DX also for the objective) */
  fftwf_plan fwd, inv;
};

void hcsc_admm_opts_default(hcsc_admm_opts *o)
{
  if (!o) return;
  memset(o, 0, sizeof *o);
  o->lambda = 0.1;
  o->iters = 500;
  o->rel_tol = 1e-3;
  o->rho = 0;
  o->alpha = 1.8;
  o->auto_rho = 1;
  o->rho_mu = 10;
  o->rho_tau = 2;
  o->rho_period = 1;
}

int hcsc_admm_good_size(int n)
{
  if (n < 1) return 1;
  for (int m = n;; m++) {
    int r = m;
    static const int primes[4] = {2, 3, 5, 7};
    for (int i = 0; i < 4; i++)
      while (r % primes[i] == 0) r /= primes[i];
    if (r == 1) return m;
  }
}

static float *falloc(size_t n)
{
  float *p = fftwf_malloc((n ? n : 1) * sizeof(float));
  if (p) memset(p, 0, (n ? n : 1) * sizeof(float));
  return p;
}

void hcsc_admm_plan_destroy(hcsc_admm_plan **pp)
{
  hcsc_admm_plan *p;
  if (!pp || !*pp) return;
  p = *pp;
  if (p->fwd) fftwf_destroy_plan(p->fwd);
  if (p->inv) fftwf_destroy_plan(p->inv);
  fftwf_free(p->cbuf);
  float *bufs[] = {p->hre, p->him, p->lre, p->lim, p->linv, p->sre, p->sim, p->bre, p->bim,
                   p->wre, p->wim, p->rbuf, p->Y, p->U, p->Y0, p->U0, p->DX};
  for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) fftwf_free(bufs[i]);
  free(p);
  *pp = NULL;
}

static int check_opts(const hcsc_admm_opts *o)
{
  int err = 0;
  if (!(o->lambda > 0) || !isfinite(o->lambda))
    HCSC_FAIL(HCSC_EINVAL, "admm: lambda must be a finite value > 0 (got %g)", o->lambda);
  if (o->iters < 0 || !(o->rel_tol >= 0) || !(o->rho >= 0) || !isfinite(o->rho))
    HCSC_FAIL(HCSC_EINVAL, "admm: iters %d, rel_tol %g and rho %g must be >= 0", o->iters, o->rel_tol,
              o->rho);
  if (!(o->alpha > 0 && o->alpha < 2))
    HCSC_FAIL(HCSC_EINVAL, "admm: relaxation alpha %g outside (0, 2)", o->alpha);
  if (o->auto_rho && (!(o->rho_mu > 1) || !(o->rho_tau > 1) || o->rho_period < 1))
    HCSC_FAIL(HCSC_EINVAL, "admm: residual balancing needs mu > 1, tau > 1, period >= 1 (got %g, %g, %d)",
              o->rho_mu, o->rho_tau, o->rho_period);
  if (o->overlap < 0) HCSC_FAIL(HCSC_EINVAL, "admm: overlap %d < 0", o->overlap);
cleanup:
  return err;
}

/* re + i im = add + scale F(rbuf) (add may be NULL). */
static void fwd_buf(hcsc_admm_plan *p, float *restrict re, float *restrict im, float scale,
                    const float *restrict are, const float *restrict aim)
{
  fftwf_execute(p->fwd);
  const float *restrict cb = (const float *)p->cbuf;
  if (are)
    for (int64_t f = 0; f < p->nf; f++) {
      re[f] = are[f] + scale * cb[2 * f];
      im[f] = aim[f] + scale * cb[2 * f + 1];
    }
  else
    for (int64_t f = 0; f < p->nf; f++) {
      re[f] = scale * cb[2 * f];
      im[f] = scale * cb[2 * f + 1];
    }
}

/* rbuf = N F^{-1}(re + i im) (unnormalised c2r). */
static void inv_buf(hcsc_admm_plan *p, const float *restrict re, const float *restrict im)
{
  float *restrict cb = (float *)p->cbuf;
  for (int64_t f = 0; f < p->nf; f++) {
    cb[2 * f] = re[f];
    cb[2 * f + 1] = im[f];
  }
  fftwf_execute(p->inv);
}

/* Atom spectra H_cm: the atom as a circular filter h with tap (i, j) at
 * ((a - i) mod R, (a - j) mod Q), so that (h conv z)(p) = sum d(i, j)
 * z(p + (i - a, j - a)), the correlation of conv.h. */
int hcsc_admm_plan_update(hcsc_admm_plan *p)
{
  const hcsc_dict *d = p->d;
  const int k = d->ksize, a = (k - 1) / 2;
  for (int m = 0; m < p->M; m++)
    for (int c = 0; c < p->C; c++) {
      memset(p->rbuf, 0, sizeof(float) * (size_t)p->N);
      for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++) {
          const int64_t r = ((a - i) % p->R + p->R) % p->R, q = ((a - j) % p->Q + p->Q) % p->Q;
          p->rbuf[r * p->Q + q] += HCSC_ATOM(d, m, c, i, j);
        }
      const int64_t off = ((int64_t)c * p->M + m) * p->nfp;
      fwd_buf(p, p->hre + off, p->him + off, 1.0f, NULL, NULL);
    }
  p->fact_rho = -1;
  return 0;
}

int hcsc_admm_plan_set_lambda(hcsc_admm_plan *p, double lambda)
{
  if (!p || !(lambda > 0) || !isfinite(lambda))
    return HCSC_ERR(HCSC_EINVAL, "admm: lambda must be a finite value > 0 (got %g)", lambda);
  p->o.lambda = lambda;
  return 0;
}

int hcsc_admm_plan_create(const hcsc_dict *d, int rows, int cols, const hcsc_admm_opts *o,
                          hcsc_admm_plan **out)
{
  int err = 0;
  hcsc_admm_plan *p = NULL;
  const char *env = getenv("HCSC_FFTW_MEASURE");
  const unsigned flags = (env && env[0] == '1') ? FFTW_MEASURE : FFTW_ESTIMATE;
  if (!d || !d->atoms || !o || !out) HCSC_FAIL(HCSC_EINVAL, "admm: missing dictionary, options or output");
  *out = NULL;
  HCSC_CHECK(check_opts(o));
  if (d->scale != 1) HCSC_FAIL(HCSC_ENOTSUP, "admm: dictionary scale %d (only 1)", d->scale);
  if (d->natoms < 1 || d->nchan < 1 || d->ksize < 1)
    HCSC_FAIL(HCSC_EINVAL, "admm: empty dictionary (%d atoms, %d channels, k %d)", d->natoms, d->nchan,
              d->ksize);
  if (rows < 1 || cols < 1) HCSC_FAIL(HCSC_EINVAL, "admm: empty region %d x %d", rows, cols);
  HCSC_CALLOC(p, 1);
  p->d = d;
  p->o = *o;
  p->o.mask = NULL;
  p->M = d->natoms;
  p->C = d->nchan;
  p->R = rows;
  p->Q = cols;
  p->N = (int64_t)rows * cols;
  p->nf = (int64_t)rows * (cols / 2 + 1);
  p->nfp = (p->nf + 7) / 8 * 8;
  {
    const size_t M = (size_t)p->M, C = (size_t)p->C, nfp = (size_t)p->nfp, N = (size_t)p->N;
    p->hre = falloc(C * M * nfp);
    p->him = falloc(C * M * nfp);
    p->lre = falloc(C * (C + 1) / 2 * nfp);
    p->lim = falloc(C * (C + 1) / 2 * nfp);
    p->linv = falloc(C * nfp);
    p->sre = falloc(M * nfp);
    p->sim = falloc(M * nfp);
    p->bre = falloc(M * nfp);
    p->bim = falloc(M * nfp);
    p->wre = falloc(C * nfp);
    p->wim = falloc(C * nfp);
    p->rbuf = falloc(N);
    p->cbuf = fftwf_malloc(sizeof(fftwf_complex) * (size_t)p->nf);
    p->Y = falloc(M * N);
    p->U = falloc(M * N);
    p->DX = falloc(C * N);
    p->Y0 = falloc(C * N);
    p->U0 = falloc(C * N);
    if (!p->Y0 || !p->U0 || !p->hre || !p->him || !p->lre || !p->lim || !p->linv || !p->sre || !p->sim || !p->bre ||
        !p->bim || !p->wre || !p->wim || !p->rbuf || !p->cbuf || !p->Y || !p->U || !p->DX)
      HCSC_FAIL(HCSC_ENOMEM, "admm: out of memory for a %d x %d region with %d atoms x %d channels", rows,
                cols, p->M, p->C);
  }
  hcsc_timer_start(HCSC_PHASE_SETUP);
  p->fwd = fftwf_plan_dft_r2c_2d(rows, cols, p->rbuf, p->cbuf, flags);
  p->inv = fftwf_plan_dft_c2r_2d(rows, cols, p->cbuf, p->rbuf, flags);
  hcsc_timer_stop(HCSC_PHASE_SETUP);
  if (!p->fwd || !p->inv)
    HCSC_FAIL(HCSC_EFFTW, "admm: FFTW could not plan %d x %d real transforms (single precision)", rows, cols);
  HCSC_CHECK(hcsc_admm_plan_update(p));
  *out = p;
  p = NULL;
cleanup:
  hcsc_admm_plan_destroy(&p);
  return err;
}

/* Factor rho I + D D^H = L L^H at every frequency (lower L, packed rows:
 * entry (i, j), j <= i, at i (i + 1) / 2 + j), frequency innermost. */
static void factor(hcsc_admm_plan *p, double rho)
{
  const int M = p->M, C = p->C;
  const int64_t nfp = p->nfp;
  const float frho = (float)rho;
  float *restrict lre = p->lre, *restrict lim = p->lim, *restrict linv = p->linv;
  const float *restrict hre = p->hre, *restrict him = p->him;
  hcsc_timer_start(HCSC_PHASE_COMPUTE);
  /* A_ij = rho delta_ij + sum_m H_im conj(H_jm), lower part. */
  for (int i = 0; i < C; i++)
    for (int j = 0; j <= i; j++) {
      float *restrict are = lre + (int64_t)(i * (i + 1) / 2 + j) * nfp;
      float *restrict aim = lim + (int64_t)(i * (i + 1) / 2 + j) * nfp;
      for (int64_t f = 0; f < nfp; f++) are[f] = aim[f] = 0;
      for (int m = 0; m < M; m++) {
        const float *restrict ar = hre + ((int64_t)i * M + m) * nfp, *restrict ai = him + ((int64_t)i * M + m) * nfp;
        const float *restrict br = hre + ((int64_t)j * M + m) * nfp, *restrict bi = him + ((int64_t)j * M + m) * nfp;
        for (int64_t f = 0; f < nfp; f++) {
          are[f] += ar[f] * br[f] + ai[f] * bi[f];
          aim[f] += ai[f] * br[f] - ar[f] * bi[f];
        }
      }
      if (i == j)
        for (int64_t f = 0; f < nfp; f++) are[f] += frho;
    }
  /* Cholesky, column by column (the factor overwrites A). */
  for (int j = 0; j < C; j++) {
    float *restrict djr = lre + (int64_t)(j * (j + 1) / 2 + j) * nfp;
    float *restrict li = linv + (int64_t)j * nfp;
    for (int kk = 0; kk < j; kk++) {
      const float *restrict xr = lre + (int64_t)(j * (j + 1) / 2 + kk) * nfp;
      const float *restrict xi = lim + (int64_t)(j * (j + 1) / 2 + kk) * nfp;
      for (int64_t f = 0; f < nfp; f++) djr[f] -= xr[f] * xr[f] + xi[f] * xi[f];
    }
    for (int64_t f = 0; f < nfp; f++) {
      const float v = djr[f] > 0 ? djr[f] : frho; /* padding lanes: keep finite */
      djr[f] = sqrtf(v);
      li[f] = 1.0f / djr[f];
    }
    for (int i = j + 1; i < C; i++) {
      float *restrict yr = lre + (int64_t)(i * (i + 1) / 2 + j) * nfp;
      float *restrict yi = lim + (int64_t)(i * (i + 1) / 2 + j) * nfp;
      for (int kk = 0; kk < j; kk++) {
        /* A_ij -= L_ik conj(L_jk) */
        const float *restrict ar = lre + (int64_t)(i * (i + 1) / 2 + kk) * nfp;
        const float *restrict ai = lim + (int64_t)(i * (i + 1) / 2 + kk) * nfp;
        const float *restrict br = lre + (int64_t)(j * (j + 1) / 2 + kk) * nfp;
        const float *restrict bi = lim + (int64_t)(j * (j + 1) / 2 + kk) * nfp;
        for (int64_t f = 0; f < nfp; f++) {
          yr[f] -= ar[f] * br[f] + ai[f] * bi[f];
          yi[f] -= ai[f] * br[f] - ar[f] * bi[f];
        }
      }
      for (int64_t f = 0; f < nfp; f++) {
        yr[f] *= li[f];
        yi[f] *= li[f];
      }
    }
  }
  hcsc_timer_stop(HCSC_PHASE_COMPUTE);
  p->fact_rho = rho;
}

/* w_c = sum_m H_cm b_m for all c (b: M spectra, w: C spectra), at the
 * frequencies [f0, f1). */
static void apply_D(const hcsc_admm_plan *p, const float *br, const float *bi, float *wr, float *wi,
                    int64_t f0, int64_t f1)
{
  const int M = p->M, C = p->C;
  const int64_t nfp = p->nfp;
  for (int c = 0; c < C; c++) {
    float *restrict yr = wr + (int64_t)c * nfp, *restrict yi = wi + (int64_t)c * nfp;
    for (int64_t f = f0; f < f1; f++) yr[f] = yi[f] = 0;
    for (int m = 0; m < M; m++) {
      const float *restrict hr = p->hre + ((int64_t)c * M + m) * nfp, *restrict hi = p->him + ((int64_t)c * M + m) * nfp;
      const float *restrict xr = br + (int64_t)m * nfp, *restrict xi = bi + (int64_t)m * nfp;
      for (int64_t f = f0; f < f1; f++) {
        yr[f] += hr[f] * xr[f] - hi[f] * xi[f];
        yi[f] += hr[f] * xi[f] + hi[f] * xr[f];
      }
    }
  }
}

/* b_m = post (pre b_m + sum_c conj(H_cm) w_c) at the frequencies [f0, f1)
 * (pre 0: overwrite b). */
static void apply_DH(const hcsc_admm_plan *p, const float *wr, const float *wi, float pre, float post,
                     float *br, float *bi, int64_t f0, int64_t f1)
{
  const int M = p->M, C = p->C;
  const int64_t nfp = p->nfp;
  for (int m = 0; m < M; m++) {
    float *restrict yr = br + (int64_t)m * nfp, *restrict yi = bi + (int64_t)m * nfp;
    if (pre == 0)
      for (int64_t f = f0; f < f1; f++) yr[f] = yi[f] = 0;
    else if (pre != 1)
      for (int64_t f = f0; f < f1; f++) {
        yr[f] *= pre;
        yi[f] *= pre;
      }
    for (int c = 0; c < C; c++) {
      const float *restrict hr = p->hre + ((int64_t)c * M + m) * nfp, *restrict hi = p->him + ((int64_t)c * M + m) * nfp;
      const float *restrict xr = wr + (int64_t)c * nfp, *restrict xi = wi + (int64_t)c * nfp;
      if (c == C - 1 && post != 1) /* last channel: fold the scaling into this pass */
        for (int64_t f = f0; f < f1; f++) {
          yr[f] = post * (yr[f] + hr[f] * xr[f] + hi[f] * xi[f]);
          yi[f] = post * (yi[f] + hr[f] * xi[f] - hi[f] * xr[f]);
        }
      else
        for (int64_t f = f0; f < f1; f++) {
          yr[f] += hr[f] * xr[f] + hi[f] * xi[f];
          yi[f] += hr[f] * xi[f] - hi[f] * xr[f];
        }
    }
  }
}

/* Frequencies per block of the solve: the M + C spectra and the C M atom
 * spectra of a block stay in L2 between the passes D b and D^H y, so H and
 * b stream from memory once per solve. */
#define SOLVE_BLOCK 128

/* b <- (D^H D + rho I)^{-1} b by Woodbury (see the top of the file); w is
 * scratch.  The factor must hold rho. */
static void solve(hcsc_admm_plan *p, double rho)
{
  const int C = p->C;
  const int64_t nfp = p->nfp;
  float *wr = p->wre, *wi = p->wim;
  for (int64_t f0 = 0; f0 < nfp; f0 += SOLVE_BLOCK) {
    const int64_t f1 = f0 + SOLVE_BLOCK < nfp ? f0 + SOLVE_BLOCK : nfp;
    apply_D(p, p->bre, p->bim, wr, wi, f0, f1);
    /* L v = w, then L^H y = v, in place in w. */
    for (int i = 0; i < C; i++) {
      float *restrict vr = wr + (int64_t)i * nfp, *restrict vi = wi + (int64_t)i * nfp;
      for (int kk = 0; kk < i; kk++) {
        const float *restrict lr = p->lre + (int64_t)(i * (i + 1) / 2 + kk) * nfp;
        const float *restrict li = p->lim + (int64_t)(i * (i + 1) / 2 + kk) * nfp;
        const float *restrict xr = wr + (int64_t)kk * nfp, *restrict xi = wi + (int64_t)kk * nfp;
        for (int64_t f = f0; f < f1; f++) {
          vr[f] -= lr[f] * xr[f] - li[f] * xi[f];
          vi[f] -= lr[f] * xi[f] + li[f] * xr[f];
        }
      }
      const float *restrict dinv = p->linv + (int64_t)i * nfp;
      for (int64_t f = f0; f < f1; f++) {
        vr[f] *= dinv[f];
        vi[f] *= dinv[f];
      }
    }
    for (int i = C - 1; i >= 0; i--) {
      float *restrict vr = wr + (int64_t)i * nfp, *restrict vi = wi + (int64_t)i * nfp;
      for (int kk = i + 1; kk < C; kk++) {
        /* v_i -= conj(L_ki) y_k, with y_k stored negated (below) */
        const float *restrict lr = p->lre + (int64_t)(kk * (kk + 1) / 2 + i) * nfp;
        const float *restrict li = p->lim + (int64_t)(kk * (kk + 1) / 2 + i) * nfp;
        const float *restrict xr = wr + (int64_t)kk * nfp, *restrict xi = wi + (int64_t)kk * nfp;
        for (int64_t f = f0; f < f1; f++) {
          vr[f] += lr[f] * xr[f] + li[f] * xi[f];
          vi[f] += lr[f] * xi[f] - li[f] * xr[f];
        }
      }
      /* y negated so that x = (b - D^H y) / rho is one accumulation. */
      const float *restrict dinv = p->linv + (int64_t)i * nfp;
      for (int64_t f = f0; f < f1; f++) {
        vr[f] *= -dinv[f];
        vi[f] *= -dinv[f];
      }
    }
    apply_DH(p, wr, wi, 1.0f, (float)(1.0 / rho), p->bre, p->bim, f0, f1);
  }
}

/* out (C x N) = D v for v (M x N) in spatial arrays. */
static void synth_circ(hcsc_admm_plan *p, const float *v, float *out)
{
  const int64_t N = p->N, nfp = p->nfp;
  for (int m = 0; m < p->M; m++) {
    memcpy(p->rbuf, v + m * N, sizeof(float) * (size_t)N);
    fwd_buf(p, p->bre + m * nfp, p->bim + m * nfp, 1.0f, NULL, NULL);
  }
  apply_D(p, p->bre, p->bim, p->wre, p->wim, 0, nfp);
  const float s = (float)(1.0 / (double)N);
  for (int c = 0; c < p->C; c++) {
    inv_buf(p, p->wre + c * nfp, p->wim + c * nfp);
    for (int64_t q = 0; q < N; q++) out[c * N + q] = s * p->rbuf[q];
  }
}

static inline float shrink(float v, float t, int nonneg)
{
  if (nonneg) return v > t ? v - t : 0.0f;
  return v > t ? v - t : (v < -t ? v + t : 0.0f);
}

/* b = D^H S + rho F(Y - U), channel by channel. */
static void rhs_plain(hcsc_admm_plan *p, double rho)
{
  const int64_t N = p->N, nfp = p->nfp;
  for (int m = 0; m < p->M; m++) {
    for (int64_t q = 0; q < N; q++) p->rbuf[q] = p->Y[m * N + q] - p->U[m * N + q];
    fwd_buf(p, p->bre + m * nfp, p->bim + m * nfp, (float)rho, p->sre + m * nfp, p->sim + m * nfp);
  }
}

/* The Y and U steps of code channel m from X = invN rbuf (over-relaxed,
 * soft threshold), accumulating r2, s2, ||X||^2, ||Y||^2, ||U||^2 into sums;
 * rbuf = Y - U afterwards when write_rhs (the next forward transform's
 * input). */
static void update_codes(hcsc_admm_plan *p, int m, float thr, float alpha, float invN, int nonneg,
                         int write_rhs, double sums[5])
{
  const int64_t N = p->N;
  const float beta = 1.0f - alpha, neg = nonneg ? 0.0f : 1.0f;
  float *restrict rb = p->rbuf, *restrict Y = p->Y + m * N, *restrict U = p->U + m * N;
  /* Eight independent float lanes per sum (so the loop vectorises without
   * reassociation), flushed into the double sums every chunk. */
  enum { LANES = 8, CHUNK = 1024 };
  for (int64_t q0 = 0; q0 < N; q0 += CHUNK) {
    const int64_t q1 = q0 + CHUNK < N ? q0 + CHUNK : N;
    float acc[5][LANES];
    memset(acc, 0, sizeof acc);
    int64_t q = q0;
    for (; q + LANES <= q1; q += LANES)
      for (int l = 0; l < LANES; l++) {
        const float X = invN * rb[q + l], y = Y[q + l], u = U[q + l];
        const float xr = alpha * X + beta * y, v = xr + u;
        /* soft threshold: max(v - t, 0) + min(v + t, 0) (second term off
         * when non-negative) */
        const float hi = v - thr, lo = v + thr;
        const float yn = (hi > 0 ? hi : 0.0f) + neg * (lo < 0 ? lo : 0.0f);
        const float un = u + xr - yn;
        acc[0][l] += (X - yn) * (X - yn);
        acc[1][l] += (yn - y) * (yn - y);
        acc[2][l] += X * X;
        acc[3][l] += yn * yn;
        acc[4][l] += un * un;
        Y[q + l] = yn;
        U[q + l] = un;
        if (write_rhs) rb[q + l] = yn - un;
      }
    for (; q < q1; q++) {
      const float X = invN * rb[q], y = Y[q], u = U[q];
      const float xr = alpha * X + beta * y;
      const float yn = shrink(xr + u, thr, nonneg);
      const float un = u + xr - yn;
      acc[0][0] += (X - yn) * (X - yn);
      acc[1][0] += (yn - y) * (yn - y);
      acc[2][0] += X * X;
      acc[3][0] += yn * yn;
      acc[4][0] += un * un;
      Y[q] = yn;
      U[q] = un;
      if (write_rhs) rb[q] = yn - un;
    }
    for (int k = 0; k < 5; k++)
      for (int l = 0; l < LANES; l++) sums[k] += acc[k][l];
  }
}

static double safe_ratio(double a, double b) { return a == 0 ? 0 : (b > 0 ? a / b : INFINITY); }

int hcsc_admm_plan_iterate(hcsc_admm_plan *p, const float *x, const float *mask, int nmask, float *z,
                           MPI_Comm comm, hcsc_admm_stats *st)
{
  int err = 0;
  const int M = p->M, C = p->C, masked = mask != NULL;
  const int64_t N = p->N, nfp = p->nfp;
  const hcsc_admm_opts *o = &p->o;
  const float alpha = (float)o->alpha, beta = 1.0f - alpha, invN = (float)(1.0 / (double)N);
  double rho = o->rho > 0 ? o->rho : 50 * o->lambda + 1;
  double pr = 0, du = 0;
  int iter = 0, changes = 0;
  if (st) memset(st, 0, sizeof *st);
  if (masked && nmask != 1 && nmask != C)
    return HCSC_ERR(HCSC_EINVAL, "admm: mask has %d channels (1 or %d expected)", nmask, C);

  /* Start: Y (or Y1) = z, U = 0; masked: Y0 = D z - S, U0 = 0; else D^H S
   * and the first right-hand side. */
  hcsc_timer_start(HCSC_PHASE_COMPUTE);
  for (int64_t q = 0; q < M * N; q++) {
    p->Y[q] = o->nonneg && z[q] < 0 ? 0.0f : z[q];
    p->U[q] = 0;
  }
  if (masked) {
    synth_circ(p, p->Y, p->DX);
    for (int64_t q = 0; q < C * N; q++) {
      p->Y0[q] = p->DX[q] - x[q];
      p->U0[q] = 0;
    }
    if (p->fact_rho != 1.0) factor(p, 1.0);
  } else {
    for (int c = 0; c < C; c++) {
      memcpy(p->rbuf, x + c * N, sizeof(float) * (size_t)N);
      fwd_buf(p, p->wre + c * nfp, p->wim + c * nfp, 1.0f, NULL, NULL);
    }
    apply_DH(p, p->wre, p->wim, 0.0f, 1.0f, p->sre, p->sim, 0, nfp);
    if (p->fact_rho != rho) factor(p, rho);
    rhs_plain(p, rho);
  }
  hcsc_timer_stop(HCSC_PHASE_COMPUTE);

  for (iter = 0; iter < o->iters;) {
    const float thr = (float)(o->lambda / rho), frho = (float)rho;
    double sums[5] = {0, 0, 0, 0, 0}, c2 = 0; /* r2, s2, ||AX||^2, ||Y||^2, ||U||^2 */
    hcsc_timer_start(HCSC_PHASE_COMPUTE);
    if (!masked) {
      /* b holds D^H S + rho F(Y - U). */
      solve(p, rho);
      for (int m = 0; m < M; m++) {
        inv_buf(p, p->bre + m * nfp, p->bim + m * nfp);
        update_codes(p, m, thr, alpha, invN, o->nonneg, 1, sums);
        fwd_buf(p, p->bre + m * nfp, p->bim + m * nfp, frho, p->sre + m * nfp, p->sim + m * nfp);
      }
    } else {
      /* RHS: D^H F(Y0 + S - U0) + F(Y1 - U1); the system has rho = 1. */
      for (int c = 0; c < C; c++) {
        for (int64_t q = 0; q < N; q++) p->rbuf[q] = p->Y0[c * N + q] + x[c * N + q] - p->U0[c * N + q];
        fwd_buf(p, p->wre + c * nfp, p->wim + c * nfp, 1.0f, NULL, NULL);
      }
      for (int m = 0; m < M; m++) {
        for (int64_t q = 0; q < N; q++) p->rbuf[q] = p->Y[m * N + q] - p->U[m * N + q];
        fwd_buf(p, p->bre + m * nfp, p->bim + m * nfp, 1.0f, NULL, NULL);
      }
      apply_DH(p, p->wre, p->wim, 1.0f, 1.0f, p->bre, p->bim, 0, nfp);
      solve(p, 1.0);
      apply_D(p, p->bre, p->bim, p->wre, p->wim, 0, nfp);
      for (int c = 0; c < C; c++) {
        inv_buf(p, p->wre + c * nfp, p->wim + c * nfp);
        for (int64_t q = 0; q < N; q++) p->DX[c * N + q] = invN * p->rbuf[q];
      }
      for (int c = 0; c < C; c++) {
        const float *restrict w = mask + (nmask == 1 ? 0 : (int64_t)c * N);
        float *restrict Y0 = p->Y0 + (int64_t)c * N, *restrict U0 = p->U0 + (int64_t)c * N;
        const float *restrict DX = p->DX + (int64_t)c * N, *restrict S = x + (int64_t)c * N;
        for (int64_t q = 0; q < N; q++) {
          const float dxr = alpha * DX[q] + beta * (Y0[q] + S[q]);
          const float yn = frho * (dxr - S[q] + U0[q]) / (w[q] * w[q] + frho);
          const float un = U0[q] + dxr - S[q] - yn;
          const float e = DX[q] - S[q] - yn;
          sums[0] += (double)e * e;
          sums[1] += (double)(yn - Y0[q]) * (yn - Y0[q]);
          sums[2] += (double)DX[q] * DX[q];
          sums[3] += (double)yn * yn;
          sums[4] += (double)un * un;
          c2 += (double)S[q] * S[q];
          Y0[q] = yn;
          U0[q] = un;
        }
      }
      for (int m = 0; m < M; m++) {
        inv_buf(p, p->bre + m * nfp, p->bim + m * nfp);
        update_codes(p, m, thr, alpha, invN, o->nonneg, 0, sums);
      }
    }
    const double r2 = sums[0], s2 = sums[1], ax2 = sums[2], y2 = sums[3], u2 = sums[4];
    hcsc_timer_stop(HCSC_PHASE_COMPUTE);
    iter++;
    /* Normalised residuals (Boyd et al. §3.3; SPORCO's rsdl_rn, rsdl_sn):
     * U is the scaled dual, so rho ||U|| / (rho ||U||) cancels rho. */
    double res[2];
    res[0] = safe_ratio(sqrt(r2), fmax(sqrt(ax2), fmax(sqrt(y2), sqrt(c2))));
    res[1] = safe_ratio(sqrt(s2), sqrt(u2));
    if (comm != MPI_COMM_NULL) {
      hcsc_timer_start(HCSC_PHASE_REDUCE);
      const int rc = MPI_Allreduce(MPI_IN_PLACE, res, 2, MPI_DOUBLE, MPI_MAX, comm);
      hcsc_timer_stop(HCSC_PHASE_REDUCE);
      if (rc != MPI_SUCCESS) HCSC_FAIL(HCSC_EMPI, "admm: MPI_Allreduce of the residuals failed");
    }
    pr = res[0];
    du = res[1];
    const int done = o->rel_tol > 0 && pr <= o->rel_tol && du <= o->rel_tol;
    /* Residual balancing (Boyd et al. §3.4.1) on the reduced values, so rho
     * stays the same on every rank; U is rescaled to keep rho U fixed. */
    if (!done && o->auto_rho && iter % o->rho_period == 0 && iter < o->iters) {
      double nr = rho;
      if (pr > o->rho_mu * du) nr = rho * o->rho_tau;
      else if (du > o->rho_mu * pr) nr = rho / o->rho_tau;
      if (nr != rho) {
        const float s = (float)(rho / nr);
        hcsc_timer_start(HCSC_PHASE_COMPUTE);
        for (int64_t q = 0; q < M * N; q++) p->U[q] *= s;
        if (masked) {
          for (int64_t q = 0; q < C * N; q++) p->U0[q] *= s;
        } else {
          factor(p, nr);
          rhs_plain(p, nr);
        }
        hcsc_timer_stop(HCSC_PHASE_COMPUTE);
        rho = nr;
        changes++;
      }
    }
    if (o->monitor && o->monitor(o->monitor_ctx, iter, pr, du, rho)) break;
    if (done) break;
  }

  /* Result: Y, and the circular objective on the region. */
  memcpy(z, p->Y, sizeof(float) * (size_t)(M * N));
  if (st) {
    double l1 = 0, nnz = 0, e2 = 0;
    for (int64_t q = 0; q < M * N; q++) {
      l1 += fabs((double)z[q]);
      nnz += z[q] != 0;
    }
    synth_circ(p, z, p->DX);
    for (int c = 0; c < C; c++)
      for (int64_t q = 0; q < N; q++) {
        const double w = masked ? mask[(nmask == 1 ? 0 : (int64_t)c * N) + q] : 1.0;
        const double e = w * ((double)p->DX[(int64_t)c * N + q] - x[(int64_t)c * N + q]);
        e2 += e * e;
      }
    st->iters = iter;
    st->rho_changes = changes;
    st->rho = rho;
    st->primal = pr;
    st->dual = du;
    st->objective = 0.5 * e2 + o->lambda * l1;
    st->sparsity = nnz / ((double)M * (double)N);
  }
cleanup:
  return err;
}

int hcsc_admm_plan_run(hcsc_admm_plan *p, const float *x, const float *mask, int nmask, float *z,
                       hcsc_admm_stats *st)
{
  if (!p || !x || !z) return HCSC_ERR(HCSC_EINVAL, "admm: missing plan, scene or codes");
  return hcsc_admm_plan_iterate(p, x, mask, nmask, z, MPI_COMM_NULL, st);
}

int hcsc_admm_plan_synth(hcsc_admm_plan *p, const float *z, float *out)
{
  if (!p || !z || !out) return HCSC_ERR(HCSC_EINVAL, "admm: missing plan, codes or output");
  hcsc_timer_start(HCSC_PHASE_COMPUTE);
  synth_circ(p, z, out);
  hcsc_timer_stop(HCSC_PHASE_COMPUTE);
  return 0;
}
