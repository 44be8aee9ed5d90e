/* hypercsc — the convolution plan: checks, backend choice (cost model),
 * synthesis and analysis on tiles with the scene-edge rule, and
 * hcsc_tile_zero_outside.  The kernels are in conv_direct.c and conv_fft.c.
 *
 * Synthesis reads z straight from its tile (its halo holds the symmetric
 * extension).  Analysis is the adjoint of "extend, then correlate": the
 * correlation's adjoint is computed on the tile grown by the out-of-scene
 * band where contributions land (a rows above / left of the scene, h rows
 * below / right), from a zero-padded copy of r, and the sums that landed
 * outside the scene are added onto their mirror images (the adjoint of the
 * extension).  Mirrors of that band lie within h of the edge, so in the
 * same tile when every tile is at least h wide. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hcsc/conv.h"
#include "hcsc/error.h"
#include "hcsc/timer.h"
#include "la/conv_impl.h"

struct hcsc_conv {
  const hcsc_dict *d;
  hcsc_box box;
  int64_t rows, cols;
  int M, C, k, a, h;
  hcsc_conv_backend backend;
  float *wsyn; /* [C][M][k][k]: d transposed (direct backend) */
  float *wana; /* [M][C][k][k]: d with flipped taps (direct backend) */
  /* Analysis region, tile coordinates: rows [lo_r, hi_r), cols [lo_c, hi_c). */
  int64_t lo_r, hi_r, lo_c, hi_c;
  /* Analysis scratch: rpad, C x (hi_r - lo_r + k - 1) x (hi_c - lo_c + k - 1),
   * then u, M x (hi_r - lo_r) x (hi_c - lo_c).  The plan's own (allocated at
   * the first analysis) or the caller's (hcsc_conv_set_work). */
  float *own, *work;
  size_t nwork;
  hcsc_conv_fft *fft;
  int fft_block;
};

/* ------------------------------------------------------------ cost model */

/* Rates of the model, from bench/conv.c on the development machine (AMD
 * EPYC, 2 cores at 2.1 GHz, one rank, 256 x 256 tile, FFTW_ESTIMATE; the
 * machine was shared, figures vary by about 30%):
 *   direct: 2 M C k^2 flops per pixel; measured 20-40 GFLOP/s (45-60 in
 *           an isolated kernel test), modelled at 45;
 *   FFT:    per B x B block, M + C transforms of 2.5 n log2 n flops
 *           (n = B^2) at 7 GFLOP/s-equivalent, and M C complex
 *           multiply-accumulates of 8 flops per frequency at 12 GFLOP/s.
 * Measured switch point (time of FFT / direct, synthesis + analysis):
 *   C = 16: FFT faster from k = 5 (ratio 0.8 at M = 16, 0.3 at k = 11);
 *   C = 1:  direct faster up to k = 9; at k = 11 the two are even for
 *           M = 32 and FFT is about 2x faster for M = 64.
 * With these constants AUTO picks FFT for C = 16, k >= 5 and direct for
 * C = 1 (including k = 11, where it loses at most 2x).  Only the ratio of
 * the rates matters. */
#define COST_DIRECT_FLOPS 45e9
#define COST_FFT_FLOPS 7e9
#define COST_MAC_FLOPS 12e9
#define FFT_SPECTRA_LIMIT (256.0 * 1024 * 1024)

static double cost_direct(int M, int C, int k, int64_t nr, int64_t nc)
{
  return 2.0 * M * C * k * k * (double)nr * nc / COST_DIRECT_FLOPS;
}

static double cost_fft(int M, int C, int k, int B, int64_t nr, int64_t nc)
{
  const int Bo = B - k + 1;
  const double nb = (double)((nr + Bo - 1) / Bo) * (double)((nc + Bo - 1) / Bo);
  const double n = (double)B * B;
  const double tr = 2.5 * n * log2(n) / COST_FFT_FLOPS;
  const double mac = 8.0 * B * (B / 2 + 1) / COST_MAC_FLOPS;
  return nb * ((M + C) * tr + (double)M * C * mac);
}

/* The cheapest block size for the region: sizes with small prime factors
 * (FFTW's fast cases), at least 2k - 1 so that a block yields at least k
 * outputs per axis, spectra under FFT_SPECTRA_LIMIT.  0 when none fits. */
static int best_block(int M, int C, int k, int64_t nr, int64_t nc, double *cost)
{
  static const int sizes[] = {8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512};
  int best = 0;
  double bc = 0.0;
  const int64_t ext = (nr > nc ? nr : nc) + k - 1;
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    const int B = sizes[i];
    if (B - k + 1 < k) continue;
    if (hcsc_conv_fft_spectra_bytes(M, C, B) > FFT_SPECTRA_LIMIT) continue;
    const double c = cost_fft(M, C, k, B, nr, nc);
    if (!best || c < bc) {
      best = B;
      bc = c;
    }
    if (B >= ext) break; /* one block covers the region: larger only costs more */
  }
  *cost = bc;
  return best;
}

/* ------------------------------------------------------------ the plan */

void hcsc_conv_destroy(hcsc_conv **pop)
{
  hcsc_conv *op;
  if (!pop || !*pop) return;
  op = *pop;
  free(op->wsyn);
  free(op->wana);
  free(op->own);
  hcsc_conv_fft_destroy(&op->fft);
  free(op);
  *pop = NULL;
}

/* Re-read the atoms.  Not collective. */
int hcsc_conv_update(hcsc_conv *op)
{
  int err = 0;
  const hcsc_dict *d;
  if (!op) return HCSC_ERR(HCSC_EINVAL, "hcsc_conv_update: no operator");
  d = op->d;
  if (!d->atoms || d->natoms != op->M || d->nchan != op->C || d->ksize != op->k)
    return HCSC_ERR(HCSC_EINVAL, "hcsc_conv_update: the dictionary's shape changed since "
                    "hcsc_conv_create (%d x %d x %d now, %d x %d x %d planned)", d->natoms,
                    d->nchan, d->ksize, op->M, op->C, op->k);
  if (op->backend == HCSC_CONV_FFT) {
    hcsc_timer_start(HCSC_PHASE_SETUP);
    err = hcsc_conv_fft_set_atoms(op->fft, d);
    hcsc_timer_stop(HCSC_PHASE_SETUP);
    return err;
  }
  const int M = op->M, C = op->C, k = op->k;
  for (int m = 0; m < M; m++)
    for (int c = 0; c < C; c++)
      for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++) {
          const float v = HCSC_ATOM(d, m, c, i, j);
          op->wsyn[(((int64_t)c * M + m) * k + i) * k + j] = v;
          op->wana[(((int64_t)m * C + c) * k + (k - 1 - i)) * k + (k - 1 - j)] = v;
        }
  return 0;
}

static const char *backend_name(hcsc_conv_backend b)
{
  return b == HCSC_CONV_FFT ? "fft" : b == HCSC_CONV_DIRECT ? "direct" : "auto";
}

/* See conv.h.  Not collective.  The caller owns *out (hcsc_conv_destroy);
 * d stays the caller's and must outlive the plan. */
int hcsc_conv_create(const hcsc_dict *d, const hcsc_box *box, int64_t rows, int64_t cols,
                     hcsc_conv_backend backend, hcsc_conv **out)
{
  int err = 0;
  hcsc_conv *op = NULL;
  if (!out) return HCSC_ERR(HCSC_EINVAL, "hcsc_conv_create: no output");
  *out = NULL;
  if (!d || !d->atoms || !box || d->natoms < 1 || d->nchan < 1 || d->ksize < 1 || d->ksize > 64)
    HCSC_FAIL(HCSC_EINVAL, "hcsc_conv_create: no dictionary, or not a valid one");
  if (d->scale != 1)
    HCSC_FAIL(HCSC_ENOTSUP, "hcsc_conv_create: atoms at scale %d need the strided operators "
              "(not available yet)", d->scale);
  if (rows < 1 || cols < 1 || box->nr < 1 || box->nc < 1 || box->r0 < 0 || box->c0 < 0 ||
      box->r0 + box->nr > rows || box->c0 + box->nc > cols)
    HCSC_FAIL(HCSC_EINVAL, "hcsc_conv_create: tile rows %lld+%lld, cols %lld+%lld is not inside "
              "a %lld x %lld scene", (long long)box->r0, (long long)box->nr, (long long)box->c0,
              (long long)box->nc, (long long)rows, (long long)cols);
  HCSC_CALLOC(op, 1);
  op->d = d;
  op->box = *box;
  op->rows = rows;
  op->cols = cols;
  op->M = d->natoms;
  op->C = d->nchan;
  op->k = d->ksize;
  op->a = (op->k - 1) / 2;
  op->h = op->k - 1 - op->a;
  if (box->nr < op->h || box->nc < op->h)
    HCSC_FAIL(HCSC_EINVAL, "hcsc_conv_create: tile of %lld x %lld pixels (rows %lld.., cols "
              "%lld..) is thinner than the halo %d of %d x %d atoms: use fewer ranks along that "
              "axis", (long long)box->nr, (long long)box->nc, (long long)box->r0,
              (long long)box->c0, op->h, op->k, op->k);
  /* D^T r lands at p + (i - a): up to a rows above the scene and h below. */
  op->lo_r = box->r0 == 0 ? -op->a : 0;
  op->hi_r = box->nr + (box->r0 + box->nr == rows ? op->h : 0);
  op->lo_c = box->c0 == 0 ? -op->a : 0;
  op->hi_c = box->nc + (box->c0 + box->nc == cols ? op->h : 0);

  /* Backend: the argument, else HCSC_CONV=direct|fft, else the cost model
   * on the larger (analysis) region. */
  {
    const char *env = getenv("HCSC_CONV");
    const int64_t enr = op->hi_r - op->lo_r, enc = op->hi_c - op->lo_c;
    double cf = 0.0;
    int B = best_block(op->M, op->C, op->k, enr, enc, &cf);
    if (backend == HCSC_CONV_AUTO && env && env[0]) {
      if (!strcasecmp(env, "direct")) backend = HCSC_CONV_DIRECT;
      else if (!strcasecmp(env, "fft")) backend = HCSC_CONV_FFT;
      else if (strcasecmp(env, "auto"))
        HCSC_FAIL(HCSC_EINVAL, "HCSC_CONV=%s: expected direct, fft or auto", env);
    }
    if (backend == HCSC_CONV_AUTO)
      backend = (B && cf < cost_direct(op->M, op->C, op->k, enr, enc)) ? HCSC_CONV_FFT
                                                                         : HCSC_CONV_DIRECT;
    if (backend != HCSC_CONV_DIRECT && backend != HCSC_CONV_FFT)
      HCSC_FAIL(HCSC_EINVAL, "hcsc_conv_create: unknown backend %d", (int)backend);
    if (backend == HCSC_CONV_FFT && !B)
      HCSC_FAIL(HCSC_ENOMEM, "hcsc_conv_create: the atom spectra of %d atoms x %d channels "
                "exceed %.0f MiB for every block size: use the direct backend", op->M, op->C,
                FFT_SPECTRA_LIMIT / 1048576.0);
    op->backend = backend;
    op->fft_block = B;
  }

  /* No analysis scratch here: synthesis-only plans never need one, and
   * the plans of one network share a single buffer (hcsc_conv_set_work). */
  hcsc_timer_start(HCSC_PHASE_SETUP);
  if (op->backend == HCSC_CONV_FFT) {
    err = hcsc_conv_fft_create(op->M, op->C, op->k, op->fft_block, &op->fft);
  } else {
    const size_t nw = (size_t)op->M * op->C * op->k * op->k;
    op->wsyn = malloc(nw * sizeof(float));
    op->wana = malloc(nw * sizeof(float));
    if (!op->wsyn || !op->wana) err = HCSC_ERR(HCSC_ENOMEM, "out of memory for convolution weights");
  }
  hcsc_timer_stop(HCSC_PHASE_SETUP);
  HCSC_CHECK(err);
  HCSC_CHECK(hcsc_conv_update(op));
  *out = op;
  op = NULL;
cleanup:
  hcsc_conv_destroy(&op);
  return err;
}

hcsc_conv_backend hcsc_conv_get_backend(const hcsc_conv *op) { return op ? op->backend : HCSC_CONV_AUTO; }

int hcsc_conv_halo(const hcsc_conv *op) { return op ? op->h : 0; }

double hcsc_conv_flops(const hcsc_conv *op)
{
  if (!op) return 0.0;
  return 2.0 * op->M * op->C * op->k * op->k * (double)op->box.nr * (double)op->box.nc;
}

int hcsc_conv_block(const hcsc_conv *op) { return op && op->backend == HCSC_CONV_FFT ? op->fft_block : 0; }

const char *hcsc_conv_backend_name(hcsc_conv_backend b) { return backend_name(b); }

/* A tile operand: same rows and columns as the plan, nchan channels, a
 * halo of at least need. */
static int check_tile(const hcsc_conv *op, const hcsc_tile *t, int64_t nchan, int need,
                      const char *what)
{
  if (!t || !t->data)
    return HCSC_ERR(HCSC_EINVAL, "convolution: %s tile not allocated", what);
  if (t->box.r0 != op->box.r0 || t->box.nr != op->box.nr || t->box.c0 != op->box.c0 ||
      t->box.nc != op->box.nc)
    return HCSC_ERR(HCSC_ESIZE, "convolution: %s tile covers rows %lld+%lld, cols %lld+%lld; the "
                    "operator was planned for rows %lld+%lld, cols %lld+%lld", what,
                    (long long)t->box.r0, (long long)t->box.nr, (long long)t->box.c0,
                    (long long)t->box.nc, (long long)op->box.r0, (long long)op->box.nr,
                    (long long)op->box.c0, (long long)op->box.nc);
  if (t->nchan != nchan)
    return HCSC_ERR(HCSC_ESIZE, "convolution: %s tile has %lld channels, the dictionary needs %lld",
                    what, (long long)t->nchan, (long long)nchan);
  if (t->halo < need)
    return HCSC_ERR(HCSC_EINVAL, "convolution: %s tile has a halo of %d, %d needed", what,
                    t->halo, need);
  return 0;
}

size_t hcsc_conv_work_size(const hcsc_conv *op)
{
  if (!op) return 0;
  const int64_t enr = op->hi_r - op->lo_r, enc = op->hi_c - op->lo_c;
  return (size_t)op->C * (size_t)(enr + op->k - 1) * (size_t)(enc + op->k - 1) +
         (size_t)op->M * (size_t)enr * (size_t)enc;
}

/* Not collective.  work stays the caller's. */
int hcsc_conv_set_work(hcsc_conv *op, float *work, size_t n)
{
  if (!op) return HCSC_ERR(HCSC_EINVAL, "hcsc_conv_set_work: no operator");
  if (work && n < hcsc_conv_work_size(op))
    return HCSC_ERR(HCSC_ESIZE, "hcsc_conv_set_work: %zu floats given, the analysis of %d atoms x %d "
                    "channels on this tile needs %zu", n, op->M, op->C, hcsc_conv_work_size(op));
  op->work = work ? work : op->own;
  op->nwork = work ? n : (op->own ? hcsc_conv_work_size(op) : 0);
  return 0;
}

/* The analysis scratch: the caller's, else the plan's own, made now.
 * malloc, not calloc + memset: every cell read is written first, and
 * untouched pages of a large tile cost nothing. */
static int get_work(hcsc_conv *op)
{
  if (op->work) return 0;
  const size_t n = hcsc_conv_work_size(op);
  op->own = malloc((n ? n : 1) * sizeof(float));
  if (!op->own)
    return HCSC_ERR(HCSC_ENOMEM, "convolution: out of memory for the analysis scratch (%.1f MiB)",
                    (double)n * sizeof(float) / 1048576.0);
  op->work = op->own;
  op->nwork = n;
  return 0;
}

/* Output rows [r0, r1) x cols [c0, c1) of a part of the region rows [R0, R1)
 * x cols [C0, C1): the inner box is the region shrunk by lo before and hi
 * after (clamped to the region: empty when it is thinner than lo + hi);
 * the border is the region minus the inner box, as up to four strips
 * (full-width top and bottom, then left and right).  Returns the number of
 * boxes written into b (4 ints each). */
static int part_boxes(hcsc_conv_part part, int64_t R0, int64_t R1, int64_t C0, int64_t C1,
                      int64_t r_lo, int64_t r_hi, int64_t c_lo, int64_t c_hi, int64_t b[4][4])
{
  int64_t ir0 = R0 + r_lo, ir1 = R1 - r_hi, ic0 = C0 + c_lo, ic1 = C1 - c_hi;
  int n = 0;
  if (ir1 <= ir0 || ic1 <= ic0) ir0 = ir1 = R0, ic0 = ic1 = C0; /* no inner box */
  if (part == HCSC_CONV_WHOLE) {
    b[0][0] = R0, b[0][1] = R1, b[0][2] = C0, b[0][3] = C1;
    return 1;
  }
  if (part == HCSC_CONV_INNER) {
    if (ir1 <= ir0) return 0;
    b[0][0] = ir0, b[0][1] = ir1, b[0][2] = ic0, b[0][3] = ic1;
    return 1;
  }
  if (ir1 <= ir0) {
    b[0][0] = R0, b[0][1] = R1, b[0][2] = C0, b[0][3] = C1;
    return 1;
  }
  const int64_t s[4][4] = {{R0, ir0, C0, C1}, {ir1, R1, C0, C1}, {ir0, ir1, C0, ic0},
                           {ir0, ir1, ic1, C1}};
  for (int i = 0; i < 4; i++)
    if (s[i][1] > s[i][0] && s[i][3] > s[i][2]) {
      for (int j = 0; j < 4; j++) b[n][j] = s[i][j];
      n++;
    }
  return n;
}

/* Not collective. */
int hcsc_conv_synth_part(hcsc_conv *op, const hcsc_tile *z, hcsc_tile *x, hcsc_conv_part part)
{
  int err = 0;
  if (!op) return HCSC_ERR(HCSC_EINVAL, "hcsc_conv_synth: no operator");
  if (part != HCSC_CONV_WHOLE && part != HCSC_CONV_INNER && part != HCSC_CONV_BORDER)
    return HCSC_ERR(HCSC_EINVAL, "hcsc_conv_synth: unknown part %d", (int)part);
  HCSC_CHECK(check_tile(op, z, op->M, op->h, "code (z)"));
  HCSC_CHECK(check_tile(op, x, op->C, 0, "output (x)"));
  /* FFT: no overlap, everything after the halo. */
  if (op->backend == HCSC_CONV_FFT && part == HCSC_CONV_INNER) return 0;
  hcsc_timer_start(HCSC_PHASE_COMPUTE);
  {
    const int64_t ip = z->ldr * z->ldc, opl = x->ldr * x->ldc;
    if (op->backend == HCSC_CONV_FFT) {
      hcsc_conv_fft_run(op->fft, 0, &HCSC_TILE_AT(z, 0, -op->a, -op->a), ip, z->ldc,
                        op->box.nr + op->k - 1, op->box.nc + op->k - 1, &HCSC_TILE_AT(x, 0, 0, 0),
                        opl, x->ldc, op->box.nr, op->box.nc);
    } else {
      /* Output row r reads z rows r - a .. r + h: rows [a, nr - h) need no halo. */
      int64_t b[4][4];
      const int nb = part_boxes(part, 0, op->box.nr, 0, op->box.nc, op->a, op->h, op->a, op->h, b);
      for (int i = 0; i < nb; i++)
        hcsc_conv_direct_run(op->C, op->M, op->k, op->wsyn,
                             &HCSC_TILE_AT(z, 0, b[i][0] - op->a, b[i][2] - op->a), ip, z->ldc,
                             &HCSC_TILE_AT(x, 0, b[i][0], b[i][2]), opl, x->ldc, b[i][1] - b[i][0],
                             b[i][3] - b[i][2]);
    }
  }
  hcsc_timer_stop(HCSC_PHASE_COMPUTE);
cleanup:
  return err;
}

int hcsc_conv_synth(hcsc_conv *op, const hcsc_tile *z, hcsc_tile *x)
{
  return hcsc_conv_synth_part(op, z, x, HCSC_CONV_WHOLE);
}

/* r on the analysis input region (tile rows lo_r - h .. hi_r + a - 1), zero
 * outside the scene and outside r's halo (never needed there: see the top);
 * interior = 1: only the cells of r's interior (the inner part's input). */
static void fill_rpad(hcsc_conv *op, const hcsc_tile *r, int interior)
{
  const int k = op->k, h = op->h;
  const int64_t enr = op->hi_r - op->lo_r, enc = op->hi_c - op->lo_c;
  const int64_t pnr = enr + k - 1, pnc = enc + k - 1, nr = op->box.nr, nc = op->box.nc;
  for (int64_t c = 0; c < op->C; c++)
    for (int64_t i = 0; i < pnr; i++) {
      const int64_t tr = op->lo_r - h + i, gr = op->box.r0 + tr;
      float *dst = op->work + (c * pnr + i) * pnc;
      if (interior) {
        if (tr < 0 || tr >= nr) continue;
        memcpy(dst + (h - op->lo_c), &HCSC_TILE_AT(r, c, tr, 0), sizeof(float) * (size_t)nc);
        continue;
      }
      if (tr < -r->halo || tr >= nr + r->halo || gr < 0 || gr >= op->rows) {
        memset(dst, 0, sizeof(float) * (size_t)pnc);
        continue;
      }
      for (int64_t j = 0; j < pnc; j++) {
        const int64_t tc = op->lo_c - h + j, gc = op->box.c0 + tc;
        dst[j] = (tc < -r->halo || tc >= nc + r->halo || gc < 0 || gc >= op->cols)
                     ? 0.0f
                     : HCSC_TILE_AT(r, c, tr, tc);
      }
    }
}

/* Not collective. */
int hcsc_conv_analysis_part(hcsc_conv *op, const hcsc_tile *r, hcsc_tile *g, hcsc_conv_part part)
{
  int err = 0;
  if (!op) return HCSC_ERR(HCSC_EINVAL, "hcsc_conv_analysis: no operator");
  if (part != HCSC_CONV_WHOLE && part != HCSC_CONV_INNER && part != HCSC_CONV_BORDER)
    return HCSC_ERR(HCSC_EINVAL, "hcsc_conv_analysis: unknown part %d", (int)part);
  HCSC_CHECK(check_tile(op, r, op->C, op->h, "residual (r)"));
  HCSC_CHECK(check_tile(op, g, op->M, 0, "output (g)"));
  if (op->backend == HCSC_CONV_FFT && part == HCSC_CONV_INNER) return 0;
  HCSC_CHECK(get_work(op));
  hcsc_timer_start(HCSC_PHASE_COMPUTE);
  {
    const int k = op->k;
    const int64_t enr = op->hi_r - op->lo_r, enc = op->hi_c - op->lo_c;
    const int64_t pnr = enr + k - 1, pnc = enc + k - 1;
    const int64_t nr = op->box.nr, nc = op->box.nc;
    float *rpad = op->work, *u0 = op->work + (size_t)op->C * pnr * pnc;
    const int fft = op->backend == HCSC_CONV_FFT;
    fill_rpad(op, r, part == HCSC_CONV_INNER);
    if (fft) {
      hcsc_conv_fft_run(op->fft, 1, rpad, pnr * pnc, pnc, pnr, pnc, u0, enr * enc, enc, enr, enc);
    } else {
      /* u at tile row tr reads r rows tr - h .. tr + a, and the fold adds
       * into rows [0, a) and [nr - h, nr) at a scene edge: rows [h, nr - h)
       * (h >= a) need no halo and are final once computed.  The border part
       * holds every row that receives a fold. */
      int64_t b[4][4];
      const int nb = part_boxes(part, op->lo_r, op->hi_r, op->lo_c, op->hi_c, op->h - op->lo_r,
                                op->h + op->hi_r - nr, op->h - op->lo_c, op->h + op->hi_c - nc, b);
      for (int i = 0; i < nb; i++) {
        const int64_t ur = b[i][0] - op->lo_r, uc = b[i][2] - op->lo_c;
        hcsc_conv_direct_run(op->M, op->C, k, op->wana, rpad + ur * pnc + uc, pnr * pnc, pnc,
                             u0 + ur * enc + uc, enr * enc, enc, b[i][1] - b[i][0],
                             b[i][3] - b[i][2]);
      }
    }
    if (part == HCSC_CONV_INNER) {
      /* The inner box of u is final (no fold reaches it): straight into g. */
      int64_t b[4][4];
      if (part_boxes(part, op->lo_r, op->hi_r, op->lo_c, op->hi_c, op->h - op->lo_r,
                     op->h + op->hi_r - nr, op->h - op->lo_c, op->h + op->hi_c - nc, b))
        for (int64_t m = 0; m < op->M; m++)
          for (int64_t tr = b[0][0]; tr < b[0][1]; tr++)
            memcpy(&HCSC_TILE_AT(g, m, tr, b[0][2]),
                   u0 + (m * enr + tr - op->lo_r) * enc + b[0][2] - op->lo_c,
                   sizeof(float) * (size_t)(b[0][3] - b[0][2]));
      goto done;
    }
    /* Fold (the adjoint of the symmetric extension): rows over the full
     * region width first, then columns over the interior rows, so that
     * corner sums travel to their mirrored rows and then columns.  The
     * border part copies only what the inner part did not. */
    int64_t ib[4][4] = {{0}};
    const int have_inner =
        part == HCSC_CONV_BORDER && !fft &&
        part_boxes(HCSC_CONV_INNER, op->lo_r, op->hi_r, op->lo_c, op->hi_c, op->h - op->lo_r,
                   op->h + op->hi_r - nr, op->h - op->lo_c, op->h + op->hi_c - nc, ib);
    for (int64_t m = 0; m < op->M; m++) {
      float *u = u0 + m * enr * enc;
#define U(tr, tc) u[((tr) - op->lo_r) * enc + ((tc) - op->lo_c)]
      for (int64_t tr = op->lo_r; tr < op->hi_r; tr++) {
        if (tr >= 0 && tr < nr) continue;
        const int64_t to = hcsc_mirror_index(op->box.r0 + tr, op->rows) - op->box.r0;
        for (int64_t tc = op->lo_c; tc < op->hi_c; tc++) U(to, tc) += U(tr, tc);
      }
      for (int64_t tr = 0; tr < nr; tr++)
        for (int64_t tc = op->lo_c; tc < op->hi_c; tc++) {
          if (tc >= 0 && tc < nc) continue;
          const int64_t to = hcsc_mirror_index(op->box.c0 + tc, op->cols) - op->box.c0;
          U(tr, to) += U(tr, tc);
        }
      for (int64_t tr = 0; tr < nr; tr++) {
        if (have_inner && tr >= ib[0][0] && tr < ib[0][1]) {
          memcpy(&HCSC_TILE_AT(g, m, tr, 0), &U(tr, 0), sizeof(float) * (size_t)ib[0][2]);
          memcpy(&HCSC_TILE_AT(g, m, tr, ib[0][3]), &U(tr, ib[0][3]),
                 sizeof(float) * (size_t)(nc - ib[0][3]));
          continue;
        }
        memcpy(&HCSC_TILE_AT(g, m, tr, 0), &U(tr, 0), sizeof(float) * (size_t)nc);
      }
#undef U
    }
  }
done:
  hcsc_timer_stop(HCSC_PHASE_COMPUTE);
cleanup:
  return err;
}

int hcsc_conv_analysis(hcsc_conv *op, const hcsc_tile *r, hcsc_tile *g)
{
  return hcsc_conv_analysis_part(op, r, g, HCSC_CONV_WHOLE);
}

/* Not collective. */
void hcsc_tile_zero_outside(hcsc_tile *t, int64_t rows, int64_t cols)
{
  if (!t || !t->data) return;
  for (int64_t ch = 0; ch < t->nchan; ch++)
    for (int64_t r = -t->halo; r < t->box.nr + t->halo; r++) {
      const int64_t gr = t->box.r0 + r;
      float *row = &HCSC_TILE_AT(t, ch, r, -t->halo);
      if (gr < 0 || gr >= rows) {
        memset(row, 0, sizeof(float) * (size_t)t->ldc);
        continue;
      }
      for (int64_t c = -t->halo; c < t->box.nc + t->halo; c++) {
        const int64_t gc = t->box.c0 + c;
        if (gc < 0 || gc >= cols) row[c + t->halo] = 0.0f;
      }
    }
}
