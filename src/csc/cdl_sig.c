/* CDL: the numerics of one training signal (a circular region), see
 * cdl_impl.h for the layouts and hcsc/cdl.h for the algorithm.
 *
 * Code step X-solve, per frequency (H: C x M atom spectra of g):
 *   (H^H H + rho I) x = b  by Woodbury,  x = (b - H^H (rho I + H H^H)^{-1} H b) / rho,
 * the C x C Hermitian system Cholesky-factored in double once per outer
 * iteration (and rho change), stored in float.  C = 1 is Sherman-Morrison.
 * Dictionary step, per frequency and channel c (z: the M code spectra):
 *   (conj(z) z^T + rho I) d_c = b_c,  d_c = (b_c - conj(z) (z^T b_c) / (rho + ||z||^2)) / rho. */
#include "config.h"

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3")
#endif

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "csc/cdl_impl.h"
#include "hcsc/error.h"
#include "hcsc/rng.h"

static float *falloc(size_t n)
{
  float *p = fftwf_malloc((n ? n : 1) * sizeof(float));
  if (p) memset(p, 0, (n ? n : 1) * sizeof(float));
  return p;
}

static fftwf_complex *calloc_c(size_t n)
{
  fftwf_complex *p = fftwf_malloc((n ? n : 1) * sizeof(fftwf_complex));
  if (p) memset(p, 0, (n ? n : 1) * sizeof(fftwf_complex));
  return p;
}

void cdl_sig_free(cdl_sig *q)
{
  if (q->fwd) fftwf_destroy_plan(q->fwd);
  if (q->inv) fftwf_destroy_plan(q->inv);
  float *f[] = {q->tile, q->xs, q->Y, q->U, q->du, q->sp, q->ga, q->gb, q->pl, q->en, q->L};
  for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) fftwf_free(f[i]);
  fftwf_complex *c[] = {q->XF, q->ZF, q->BF, q->HF};
  for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) fftwf_free(c[i]);
  memset(q, 0, sizeof *q);
}

/* Transpose block edge (complex elements): two 32 x 32 blocks, 16 KB,
 * stay in L1 while one is read by rows and the other written by columns. */
enum { TB = 32 };

/* T[p][f] (n planes) -> out[f][n], in cache blocks. */
static void to_freq_major(hcsc_cdl *s, cdl_sig *q, int n, fftwf_complex *out)
{
  const int64_t nf = q->nf;
  fftwf_complex *T = s->T;
  for (int64_t f0 = 0; f0 < nf; f0 += TB)
    for (int p0 = 0; p0 < n; p0 += TB) {
      const int64_t f1 = f0 + TB < nf ? f0 + TB : nf;
      const int p1 = p0 + TB < n ? p0 + TB : n;
      for (int64_t f = f0; f < f1; f++)
        for (int p = p0; p < p1; p++) {
          out[f * n + p][0] = T[(int64_t)p * nf + f][0];
          out[f * n + p][1] = T[(int64_t)p * nf + f][1];
        }
    }
}

/* n planes -> spectra [f][n]: each plane through the plain 2-D r2c plan
 * into T[p][f], then a blocked transpose. */
static void fwd_planes(hcsc_cdl *s, cdl_sig *q, int n, float *in, fftwf_complex *out)
{
  const int64_t N = q->N, nf = q->nf;
  for (int p = 0; p < n; p++) fftwf_execute_dft_r2c(q->fwd, in + (int64_t)p * N, s->T + (int64_t)p * nf);
  to_freq_major(s, q, n, out);
}

/* Spectra [f][n] -> n planes (unnormalised c2r); in is left untouched. */
static void inv_planes(hcsc_cdl *s, cdl_sig *q, int n, fftwf_complex *in, float *out)
{
  const int64_t N = q->N, nf = q->nf;
  fftwf_complex *T = s->T;
  for (int p0 = 0; p0 < n; p0 += TB)
    for (int64_t f0 = 0; f0 < nf; f0 += TB) {
      const int64_t f1 = f0 + TB < nf ? f0 + TB : nf;
      const int p1 = p0 + TB < n ? p0 + TB : n;
      for (int p = p0; p < p1; p++)
        for (int64_t f = f0; f < f1; f++) {
          T[(int64_t)p * nf + f][0] = in[f * n + p][0];
          T[(int64_t)p * nf + f][1] = in[f * n + p][1];
        }
    }
  for (int p = 0; p < n; p++) fftwf_execute_dft_c2r(q->inv, T + (int64_t)p * nf, out + (int64_t)p * N);
}

int cdl_sig_setup(hcsc_cdl *s, cdl_sig *q, const hcsc_tile *t, int index)
{
  int err = 0;
  const int M = s->M, C = s->C, MC = M * C;
  memset(q, 0, sizeof *q);
  q->index = index;
  q->tR = (int)t->box.nr;
  q->tQ = (int)t->box.nc;
  q->tr0 = q->r0 = t->box.r0;
  q->tc0 = q->c0 = t->box.c0;
  q->R = s->o.crop > 0 ? s->o.crop : q->tR;
  q->Q = s->o.crop > 0 ? s->o.crop : q->tQ;
  q->N = (int64_t)q->R * q->Q;
  q->nf = (int64_t)q->R * (q->Q / 2 + 1);
  const size_t N = (size_t)q->N, nf = (size_t)q->nf, tN = (size_t)q->tR * (size_t)q->tQ;
  q->tile = falloc(C * tN);
  q->xs = falloc(C * N);
  q->Y = falloc(M * N);
  q->U = falloc(M * N);
  q->du = falloc(MC * N);
  q->sp = falloc(MC * N);
  q->ga = falloc(N);
  q->gb = falloc(N);
  q->pl = falloc(N);
  if (s->o.reseed_every > 0) q->en = falloc(N);
  q->XF = calloc_c(nf * C);
  q->ZF = calloc_c(nf * M);
  q->BF = calloc_c(nf * (M > C ? M : C));
  q->HF = calloc_c(nf * MC);
  q->L = falloc(nf * 2 * (size_t)C * C);
  q->fact_rho = -1;
  if (!q->tile || !q->xs || !q->Y || !q->U || !q->du || !q->sp || !q->ga || !q->gb || !q->pl ||
      (s->o.reseed_every > 0 && !q->en) || !q->L || !q->XF || !q->ZF || !q->BF || !q->HF)
    HCSC_FAIL(HCSC_ENOMEM, "cdl: out of memory for a %d x %d signal (%d atoms x %d channels)", q->R, q->Q, M,
              C);
  for (int c = 0; c < C; c++)
    for (int i = 0; i < q->tR; i++)
      for (int j = 0; j < q->tQ; j++) {
        const float v = HCSC_TILE_AT(t, c, i, j);
        if (!isfinite(v))
          HCSC_FAIL(HCSC_EVALUE, "cdl: training signal %d has a non-finite value at band %d, row %lld, col %lld",
                    index, c, (long long)(t->box.r0 + i), (long long)(t->box.c0 + j));
        q->tile[((size_t)c * q->tR + i) * q->tQ + j] = v;
      }
  {
    /* Shared scratch for the plane-major spectra, sized for the largest
     * signal (plans are made with it; new-array execute later). */
    const size_t need = nf * (size_t)(MC > C ? MC : C);
    if (need > s->Tn) {
      fftwf_free(s->T);
      s->Tn = 0;
      if (!(s->T = calloc_c(need)))
        HCSC_FAIL(HCSC_ENOMEM, "cdl: out of memory for the %d x %d spectra of %d planes", q->R, q->Q, MC);
      s->Tn = need;
    }
  }
  {
    /* Planes are executed at offsets p N (floats) and p nf (complex) from
     * fftwf_malloc'd bases: if those offsets break FFTW's SIMD alignment,
     * the plans must not assume it. */
    const int unaligned = fftwf_alignment_of(q->xs + N) != fftwf_alignment_of(q->xs) ||
                          fftwf_alignment_of((float *)(s->T + nf)) != fftwf_alignment_of((float *)s->T);
    const unsigned flags = FFTW_ESTIMATE | (unaligned ? FFTW_UNALIGNED : 0u);
    q->fwd = fftwf_plan_dft_r2c_2d(q->R, q->Q, q->sp, s->T, flags);
    q->inv = fftwf_plan_dft_c2r_2d(q->R, q->Q, s->T, q->sp, flags);
  }
  if (!q->fwd || !q->inv) HCSC_FAIL(HCSC_EFFTW, "cdl: FFTW could not plan %d x %d real transforms", q->R, q->Q);
cleanup:
  return err;
}

/* Offset of tap (i, j) on a padded plane. */
static int64_t tap_at(const hcsc_cdl *s, const cdl_sig *q, int i, int j)
{
  const int64_t r = ((s->a - i) % q->R + q->R) % q->R, c = ((s->a - j) % q->Q + q->Q) % q->Q;
  return r * q->Q + c;
}

/* Spectra [f][M C] of the atoms d (M C planes of k x k) placed on the
 * region, or, when du is given, of rho (pad d - du).  Plane by plane
 * through one cached N-plane buffer: the M C x N padded array is never
 * written (same float operations as padding all planes first). */
static void fwd_atoms(hcsc_cdl *s, cdl_sig *q, const float *d, const float *du, float frho, fftwf_complex *out)
{
  const int k = s->k, n = s->M * s->C;
  const int64_t N = q->N, nf = q->nf;
  float *buf = q->pl;
  for (int p = 0; p < n; p++) {
    memset(buf, 0, sizeof(float) * (size_t)N);
    for (int i = 0; i < k; i++)
      for (int j = 0; j < k; j++) buf[tap_at(s, q, i, j)] += d[((int64_t)p * k + i) * k + j];
    if (du) {
      const float *u = du + (int64_t)p * N;
      for (int64_t x = 0; x < N; x++) buf[x] = frho * (buf[x] - u[x]);
    }
    fftwf_execute_dft_r2c(q->fwd, buf, s->T + (int64_t)p * nf);
  }
  to_freq_major(s, q, n, out);
}

void cdl_sig_begin(hcsc_cdl *s, cdl_sig *q)
{
  const int C = s->C, M = s->M;
  int oy = 0, ox = 0;
  if (s->o.crop > 0) {
    /* Keyed on (seed, iteration, the signal's global position and size):
     * the same crops on a resumed run and for the same signal whatever the
     * rank count or the rank's other signals (two signals with the same box,
     * e.g. of two scenes, get the same crops). */
    const uint32_t it = (uint32_t)s->iter;
    const int64_t sz = (int64_t)q->tR * 65536 + q->tQ;
    oy = (int)(hcsc_rng_uniform(s->o.seed, it, 2 * sz, q->tr0, q->tc0) * (q->tR - q->R + 1));
    ox = (int)(hcsc_rng_uniform(s->o.seed, it, 2 * sz + 1, q->tr0, q->tc0) * (q->tQ - q->Q + 1));
    if (oy > q->tR - q->R) oy = q->tR - q->R;
    if (ox > q->tQ - q->Q) ox = q->tQ - q->Q;
    memset(q->Y, 0, sizeof(float) * (size_t)M * (size_t)q->N);
    memset(q->U, 0, sizeof(float) * (size_t)M * (size_t)q->N);
  }
  q->r0 = q->tr0 + oy;
  q->c0 = q->tc0 + ox;
  for (int c = 0; c < C; c++)
    for (int i = 0; i < q->R; i++)
      memcpy(q->xs + ((int64_t)c * q->R + i) * q->Q, q->tile + ((int64_t)c * q->tR + oy + i) * q->tQ + ox,
             sizeof(float) * (size_t)q->Q);
  fwd_planes(s, q, C, q->xs, q->XF);
  fwd_atoms(s, q, s->g.atoms, NULL, 1.0f, q->HF);
  q->fact_rho = -1; /* new atom spectra */
}

/* Factor rho I + H H^H = L L^H at every frequency (H: the atom spectra of
 * g), kept in q->L until g or rho change: the code step runs code_iters
 * iterations with the same dictionary, and building the factor (C^2 M / 2
 * complex multiply-adds per frequency) costs more than a solve (2 C M). */
static void code_factor(hcsc_cdl *s, cdl_sig *q, double rho)
{
  const int M = s->M, C = s->C, MC = M * C;
  double *A = s->wk, *hr = A + 2 * C * C + 2 * C + 2 * M, *hi = hr + MC;
  double *Ar = hi + 3 * MC, *Ai = Ar + C * C;
  for (int64_t f = 0; f < q->nf; f++) {
    const float *H = (const float *)(q->HF + f * MC);
    for (int t = 0; t < MC; t++) {
      hr[t] = H[2 * t];
      hi[t] = H[2 * t + 1];
    }
    /* A = rho I + sum_m h_m h_m^H, m outer so that the inner loop runs
     * over contiguous channels (vectorised); only i >= j is computed. */
    for (int t = 0; t < C * C; t++) Ar[t] = Ai[t] = 0;
    for (int i = 0; i < C; i++) Ar[i * C + i] = rho;
    for (int m = 0; m < M; m++) {
      const double *yr = hr + m * C, *yi = hi + m * C;
      for (int i = 0; i < C; i++) {
        const double xr = yr[i], xi = yi[i];
        double *restrict ar = Ar + i * C, *restrict ai = Ai + i * C;
        for (int j = 0; j <= i; j++) {
          ar[j] += xr * yr[j] + xi * yi[j];
          ai[j] += xi * yr[j] - xr * yi[j];
        }
      }
    }
    for (int i = 0; i < C; i++)
      for (int j = 0; j <= i; j++) {
        A[2 * (i * C + j)] = Ar[i * C + j];
        A[2 * (i * C + j) + 1] = Ai[i * C + j];
      }
    for (int j = 0; j < C; j++) {
      double djj = A[2 * (j * C + j)];
      for (int kk = 0; kk < j; kk++)
        djj -= A[2 * (j * C + kk)] * A[2 * (j * C + kk)] + A[2 * (j * C + kk) + 1] * A[2 * (j * C + kk) + 1];
      djj = sqrt(djj > 0 ? djj : rho);
      A[2 * (j * C + j)] = djj;
      A[2 * (j * C + j) + 1] = 0;
      for (int i = j + 1; i < C; i++) {
        double yr = A[2 * (i * C + j)], yi = A[2 * (i * C + j) + 1];
        for (int kk = 0; kk < j; kk++) {
          const double ar = A[2 * (i * C + kk)], ai = A[2 * (i * C + kk) + 1];
          const double br = A[2 * (j * C + kk)], bi = A[2 * (j * C + kk) + 1];
          yr -= ar * br + ai * bi;
          yi -= ai * br - ar * bi;
        }
        A[2 * (i * C + j)] = yr / djj;
        A[2 * (i * C + j) + 1] = yi / djj;
      }
    }
    float *L = q->L + f * 2 * C * C;
    for (int t = 0; t < 2 * C * C; t++) L[t] = (float)A[t];
  }
  q->fact_rho = rho;
}

void cdl_sig_code_iter(hcsc_cdl *s, cdl_sig *q, double rho, double sums[5])
{
  const int M = s->M, C = s->C, MC = M * C;
  const int64_t N = q->N, nf = q->nf;
  /* Split (re, im) double copies of the frequency's atom spectra, [m][c]
   * and [c][m], so that every loop below runs over a contiguous index
   * without a reduction in its inner loop (vectorised), summing in the
   * same order as the textbook loops. */
  double *A = s->wk, *vr = A + 2 * C * C, *vi = vr + C, *br = vi + C, *bi = br + M;
  double *hr = bi + M, *hi = hr + MC, *tr = hi + MC, *ti = tr + MC;
  if (q->fact_rho != rho) code_factor(s, q, rho);
  for (int64_t p = 0; p < (int64_t)M * N; p++) q->sp[p] = q->Y[p] - q->U[p];
  fwd_planes(s, q, M, q->sp, q->BF);
  for (int64_t f = 0; f < nf; f++) {
    const float *H = (const float *)(q->HF + f * MC), *X = (const float *)(q->XF + f * C);
    const float *L = q->L + f * 2 * C * C;
    float *B = (float *)(q->BF + f * M);
    for (int m = 0; m < M; m++)
      for (int c = 0; c < C; c++) {
        const double re = H[2 * (m * C + c)], im = H[2 * (m * C + c) + 1];
        hr[m * C + c] = re;
        hi[m * C + c] = im;
        tr[c * M + m] = re;
        ti[c * M + m] = im;
      }
    /* b = H^H X + rho B */
    for (int m = 0; m < M; m++) {
      br[m] = rho * B[2 * m];
      bi[m] = rho * B[2 * m + 1];
    }
    for (int c = 0; c < C; c++) {
      const double xr = X[2 * c], xi = X[2 * c + 1];
      const double *restrict hrc = tr + c * M, *restrict hic = ti + c * M;
      for (int m = 0; m < M; m++) {
        br[m] += hrc[m] * xr + hic[m] * xi;
        bi[m] += hrc[m] * xi - hic[m] * xr;
      }
    }
    /* v = H b; then L w = v, L^H y = w with the stored factor */
    for (int i = 0; i < C; i++) vr[i] = vi[i] = 0;
    for (int m = 0; m < M; m++) {
      const double bmr = br[m], bmi = bi[m];
      const double *restrict hrm = hr + m * C, *restrict him = hi + m * C;
      for (int i = 0; i < C; i++) {
        vr[i] += hrm[i] * bmr - him[i] * bmi;
        vi[i] += hrm[i] * bmi + him[i] * bmr;
      }
    }
    for (int t = 0; t < 2 * C * C; t++) A[t] = L[t];
    for (int i = 0; i < C; i++) {
      double wr = vr[i], wi = vi[i];
      for (int kk = 0; kk < i; kk++) {
        const double lr = A[2 * (i * C + kk)], li = A[2 * (i * C + kk) + 1];
        wr -= lr * vr[kk] - li * vi[kk];
        wi -= lr * vi[kk] + li * vr[kk];
      }
      vr[i] = wr / A[2 * (i * C + i)];
      vi[i] = wi / A[2 * (i * C + i)];
    }
    for (int i = C - 1; i >= 0; i--) {
      double wr = vr[i], wi = vi[i];
      for (int kk = i + 1; kk < C; kk++) {
        const double lr = A[2 * (kk * C + i)], li = A[2 * (kk * C + i) + 1]; /* conj(L_ki) */
        wr -= lr * vr[kk] + li * vi[kk];
        wi -= lr * vi[kk] - li * vr[kk];
      }
      vr[i] = wr / A[2 * (i * C + i)];
      vi[i] = wi / A[2 * (i * C + i)];
    }
    /* x = (b - H^H y) / rho */
    for (int c = 0; c < C; c++) {
      const double yr = vr[c], yi = vi[c];
      const double *restrict hrc = tr + c * M, *restrict hic = ti + c * M;
      for (int m = 0; m < M; m++) {
        br[m] -= hrc[m] * yr + hic[m] * yi;
        bi[m] -= hrc[m] * yi - hic[m] * yr;
      }
    }
    for (int m = 0; m < M; m++) {
      B[2 * m] = (float)(br[m] / rho);
      B[2 * m + 1] = (float)(bi[m] / rho);
    }
  }
  inv_planes(s, q, M, q->BF, q->sp);
  const float invN = (float)(1.0 / (double)N), alpha = (float)s->o.alpha, beta = 1.0f - alpha;
  const float thr = (float)(s->o.lambda / rho);
  const int nonneg = s->o.nonneg;
  double r2 = 0, s2 = 0, x2 = 0, y2 = 0, u2 = 0;
  for (int64_t p = 0; p < (int64_t)M * N; p++) {
    const float X = invN * q->sp[p], y = q->Y[p], u = q->U[p];
    const float xr = alpha * X + beta * y, w = xr + u;
    const float yn = w > thr ? w - thr : (!nonneg && w < -thr ? w + thr : 0.0f);
    const float un = u + xr - yn;
    r2 += (double)(X - yn) * (X - yn);
    s2 += (double)(yn - y) * (yn - y);
    x2 += (double)X * X;
    y2 += (double)yn * yn;
    u2 += (double)un * un;
    q->Y[p] = yn;
    q->U[p] = un;
  }
  sums[0] += r2;
  sums[1] += s2;
  sums[2] += x2;
  sums[3] += y2;
  sums[4] += u2;
}

/* Parseval weight of r2c column col: the columns that have no mirror
 * partner in the half spectrum count once. */
static double col_weight(int col, int Q) { return (col == 0 || (Q % 2 == 0 && col == Q / 2)) ? 1.0 : 2.0; }

double cdl_sig_codes_done(hcsc_cdl *s, cdl_sig *q, double *e2, double *l1, double *nnz, double *atom_nnz)
{
  const int M = s->M, C = s->C, MC = M * C, Qh = q->Q / 2 + 1;
  const int64_t N = q->N, nf = q->nf;
  double lips = 0, err2 = 0;
  for (int m = 0; m < M; m++) {
    double n1 = 0, cnt = 0;
    const float *y = q->Y + (int64_t)m * N;
    for (int64_t p = 0; p < N; p++) {
      n1 += fabs((double)y[p]);
      cnt += y[p] != 0;
    }
    *l1 += n1;
    *nnz += cnt;
    atom_nnz[m] += cnt;
  }
  fwd_planes(s, q, M, q->Y, q->ZF);
  for (int64_t f = 0; f < nf; f++) {
    const float *H = (const float *)(q->HF + f * MC), *X = (const float *)(q->XF + f * C);
    const float *Z = (const float *)(q->ZF + f * M);
    double zz = 0;
    for (int m = 0; m < M; m++) zz += (double)Z[2 * m] * Z[2 * m] + (double)Z[2 * m + 1] * Z[2 * m + 1];
    if (zz > lips) lips = zz;
    double e = 0;
    for (int c = 0; c < C; c++) {
      double rr = -X[2 * c], ri = -X[2 * c + 1];
      for (int m = 0; m < M; m++) {
        const double hr = H[2 * (m * C + c)], hi = H[2 * (m * C + c) + 1];
        rr += hr * Z[2 * m] - hi * Z[2 * m + 1];
        ri += hr * Z[2 * m + 1] + hi * Z[2 * m];
      }
      e += rr * rr + ri * ri;
    }
    err2 += col_weight((int)(f % Qh), q->Q) * e;
  }
  *e2 += 0.5 * err2 / (double)N;
  return lips;
}

void cdl_sig_dict_solve(hcsc_cdl *s, cdl_sig *q, double rho, double *acc)
{
  const int M = s->M, C = s->C, MC = M * C, k = s->k;
  const int64_t N = q->N, nf = q->nf;
  const float frho = (float)rho;
  /* b = F(rho (pad g - u_s)) + conj(z) X, solved in place */
  fwd_atoms(s, q, s->g.atoms, q->du, frho, q->HF);
  for (int64_t f = 0; f < nf; f++) {
    float *D = (float *)(q->HF + f * MC);
    const float *X = (const float *)(q->XF + f * C), *Z = (const float *)(q->ZF + f * M);
    double zz = 0;
    for (int m = 0; m < M; m++) zz += (double)Z[2 * m] * Z[2 * m] + (double)Z[2 * m + 1] * Z[2 * m + 1];
    for (int c = 0; c < C; c++) {
      double tr = 0, ti = 0;
      for (int m = 0; m < M; m++) {
        const double zr = Z[2 * m], zi = Z[2 * m + 1];
        const double br = D[2 * (m * C + c)] + zr * X[2 * c] + zi * X[2 * c + 1];
        const double bi = D[2 * (m * C + c) + 1] + zr * X[2 * c + 1] - zi * X[2 * c];
        D[2 * (m * C + c)] = (float)br;
        D[2 * (m * C + c) + 1] = (float)bi;
        tr += zr * br - zi * bi;
        ti += zr * bi + zi * br;
      }
      const double sc = 1.0 / (rho + zz);
      tr *= sc;
      ti *= sc;
      for (int m = 0; m < M; m++) {
        const double zr = Z[2 * m], zi = Z[2 * m + 1];
        const double br = D[2 * (m * C + c)], bi = D[2 * (m * C + c) + 1];
        D[2 * (m * C + c)] = (float)((br - (zr * tr + zi * ti)) / rho);
        D[2 * (m * C + c) + 1] = (float)((bi - (zr * ti - zi * tr)) / rho);
      }
    }
  }
  inv_planes(s, q, MC, q->HF, q->sp);
  const float invN = (float)(1.0 / (double)N);
  for (int64_t p = 0; p < (int64_t)MC * N; p++) q->sp[p] *= invN;
  const double alpha = s->o.alpha;
  for (int p = 0; p < MC; p++)
    for (int i = 0; i < k; i++)
      for (int j = 0; j < k; j++) {
        const int64_t at = (int64_t)p * N + tap_at(s, q, i, j), t = ((int64_t)p * k + i) * k + j;
        acc[t] += alpha * q->sp[at] + (1 - alpha) * s->gold[t] + q->du[at];
      }
}

void cdl_sig_dict_dual(hcsc_cdl *s, cdl_sig *q, double sums[3])
{
  const int MC = s->M * s->C, k = s->k;
  const int64_t N = q->N;
  const float alpha = (float)s->o.alpha, beta = 1.0f - alpha;
  double r2 = 0, d2 = 0, u2 = 0;
  for (int p = 0; p < MC; p++) {
    /* The padded atoms of this plane, old and new, for one pass. */
    for (int i = 0; i < k; i++)
      for (int j = 0; j < k; j++) {
        const int64_t at = tap_at(s, q, i, j), t = ((int64_t)p * k + i) * k + j;
        q->ga[at] = s->gold[t];
        q->gb[at] = s->g.atoms[t];
      }
    const float *d = q->sp + (int64_t)p * N;
    float *u = q->du + (int64_t)p * N;
    for (int64_t x = 0; x < N; x++) {
      const float dr = alpha * d[x] + beta * q->ga[x];
      u[x] += dr - q->gb[x];
      r2 += (double)(d[x] - q->gb[x]) * (d[x] - q->gb[x]);
      d2 += (double)d[x] * d[x];
      u2 += (double)u[x] * u[x];
    }
    for (int i = 0; i < k; i++)
      for (int j = 0; j < k; j++) {
        const int64_t at = tap_at(s, q, i, j);
        q->ga[at] = q->gb[at] = 0;
      }
  }
  sums[0] += r2;
  sums[1] += d2;
  sums[2] += u2;
}

void cdl_sig_grad(hcsc_cdl *s, cdl_sig *q, const float *v, double *acc)
{
  const int M = s->M, C = s->C, MC = M * C, k = s->k;
  const int64_t N = q->N, nf = q->nf;
  fwd_atoms(s, q, v, NULL, 1.0f, q->HF);
  for (int64_t f = 0; f < nf; f++) {
    float *D = (float *)(q->HF + f * MC);
    const float *X = (const float *)(q->XF + f * C), *Z = (const float *)(q->ZF + f * M);
    for (int c = 0; c < C; c++) {
      double rr = -X[2 * c], ri = -X[2 * c + 1];
      for (int m = 0; m < M; m++) {
        const double zr = Z[2 * m], zi = Z[2 * m + 1], dr = D[2 * (m * C + c)], di = D[2 * (m * C + c) + 1];
        rr += zr * dr - zi * di;
        ri += zr * di + zi * dr;
      }
      for (int m = 0; m < M; m++) {
        const double zr = Z[2 * m], zi = Z[2 * m + 1];
        D[2 * (m * C + c)] = (float)(zr * rr + zi * ri);
        D[2 * (m * C + c) + 1] = (float)(zr * ri - zi * rr);
      }
    }
  }
  inv_planes(s, q, MC, q->HF, q->sp);
  const double invN = 1.0 / (double)N;
  for (int p = 0; p < MC; p++)
    for (int i = 0; i < k; i++)
      for (int j = 0; j < k; j++)
        acc[((int64_t)p * k + i) * k + j] += invN * q->sp[(int64_t)p * N + tap_at(s, q, i, j)];
}

void cdl_sig_residual_energy(hcsc_cdl *s, cdl_sig *q)
{
  const int M = s->M, C = s->C, MC = M * C, k = s->k;
  const int64_t N = q->N, nf = q->nf;
  fwd_atoms(s, q, s->g.atoms, NULL, 1.0f, q->HF);
  for (int64_t f = 0; f < nf; f++) {
    const float *H = (const float *)(q->HF + f * MC), *X = (const float *)(q->XF + f * C);
    const float *Z = (const float *)(q->ZF + f * M);
    float *B = (float *)(q->BF + f * C);
    for (int c = 0; c < C; c++) {
      double rr = X[2 * c], ri = X[2 * c + 1];
      for (int m = 0; m < M; m++) {
        const double hr = H[2 * (m * C + c)], hi = H[2 * (m * C + c) + 1];
        rr -= hr * Z[2 * m] - hi * Z[2 * m + 1];
        ri -= hr * Z[2 * m + 1] + hi * Z[2 * m];
      }
      B[2 * c] = (float)rr;
      B[2 * c + 1] = (float)ri;
    }
  }
  inv_planes(s, q, C, q->BF, q->sp);
  const float invN = (float)(1.0 / (double)N);
  for (int64_t p = 0; p < (int64_t)C * N; p++) q->sp[p] *= invN;
  /* Energy of the k x k patch whose top-left corner is (r, c); patches
   * that would wrap around the region are excluded. */
  for (int r = 0; r < q->R; r++)
    for (int c = 0; c < q->Q; c++) {
      double e = -1;
      if (r + k <= q->R && c + k <= q->Q) {
        e = 0;
        for (int ch = 0; ch < C; ch++)
          for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++) {
              const float v = q->sp[((int64_t)ch * q->R + r + i) * q->Q + c + j];
              e += (double)v * v;
            }
      }
      q->en[(int64_t)r * q->Q + c] = (float)e;
    }
}

void cdl_project(float *g, int M, int C, int k)
{
  const int64_t n = (int64_t)C * k * k;
  for (int m = 0; m < M; m++) {
    double s2 = 0;
    for (int64_t t = 0; t < n; t++) s2 += (double)g[m * n + t] * g[m * n + t];
    if (s2 > 1) {
      const double sc = 1.0 / sqrt(s2);
      for (int64_t t = 0; t < n; t++) g[m * n + t] = (float)(g[m * n + t] * sc);
    }
  }
}
