/* Multi-layer pursuit (hcsc/mlcsc.h): layered thresholding, layered basis
 * pursuit, ML-ISTA and ML-FISTA, distributed on a spatial grid.
 *
 * The codes of the layers live on "levels" of work tiles, all on this
 * rank's box: level 0 holds the scene's C channels, level l the M_l
 * channels of z_l.  Layer l maps level l to level l - 1 (synthesis) and
 * back (analysis).  Every operator application exchanges its input's halo
 * first (analysis also zeroes the halo outside the scene, conv.h), so each
 * layer behaves as its serial operator on any decomposition.
 *
 * ML-ISTA/FISTA per iteration: L analyses (one per layer, from the data
 * side inwards) and L syntheses (the chain of the new deepest code, which
 * gives the objective and, by linearity, the chain at the next
 * extrapolated point), plus one Allreduce of L + 5 doubles. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hcsc/error.h"
#include "hcsc/mlcsc.h"
#include "hcsc/rng.h"
#include "hcsc/timer.h"
#include "pursuit_impl.h"

#define ML_SEED 0x6d6c637363ULL /* "mlcsc" */
#define ML_SAFETY 1.05
#define LMAX HCSC_ML_MAX_LAYERS

void hcsc_ml_opts_default(hcsc_ml_opts *o)
{
  if (!o) return;
  memset(o, 0, sizeof *o);
  o->method = HCSC_ML_FISTA;
  for (int l = 0; l < LMAX; l++) o->lambdas[l] = 0.1;
  o->iters = 100;
  o->tol = 1e-4;
  o->backend = HCSC_CONV_AUTO;
  o->power_iters = 30;
}

void hcsc_ml_stats_free(hcsc_ml_stats *st)
{
  if (!st) return;
  free(st->objective);
  memset(st, 0, sizeof *st);
}

/* Local checks; the caller agrees on the result. */
static int check_args(const hcsc_grid *g, const hcsc_dict *layers, int nl, const hcsc_tile *x,
                      const hcsc_tile *codes, const hcsc_ml_opts *o)
{
  int err = 0;
  int dims[3];
  if (!layers || !x || !codes || !o || !x->data)
    HCSC_FAIL(HCSC_EINVAL, "ml pursuit: missing dictionaries, tiles or options");
  if (nl < 1 || nl > LMAX)
    HCSC_FAIL(HCSC_EINVAL, "ml pursuit: %d layers (1 to %d supported)", nl, LMAX);
  hcsc_grid_dims(g, dims);
  if (dims[0] != 1)
    HCSC_FAIL(HCSC_ENOTSUP, "ml pursuit: grids with band slices (G = %d) not supported", dims[0]);
  if (o->method < HCSC_ML_LT || o->method > HCSC_ML_FISTA)
    HCSC_FAIL(HCSC_EINVAL, "ml pursuit: unknown method %d", (int)o->method);
  if (o->iters < 0 || o->power_iters < 0 || !(o->tol >= 0))
    HCSC_FAIL(HCSC_EINVAL, "ml pursuit: iters %d, power_iters %d and tol %g must be >= 0",
              o->iters, o->power_iters, o->tol);
  hcsc_box gb = hcsc_grid_box(g);
  if (!hcsc_box_same_area(&gb, &x->box))
    HCSC_FAIL(HCSC_EINVAL, "ml pursuit: scene tile is not this rank's box of the grid");
  for (int l = 0; l < nl; l++) {
    const hcsc_dict *d = &layers[l];
    if (!d->atoms || d->natoms < 1 || d->nchan < 1 || d->ksize < 1)
      HCSC_FAIL(HCSC_EINVAL, "ml pursuit: layer %d is not a valid dictionary", l + 1);
    if (d->scale != 1)
      HCSC_FAIL(HCSC_ENOTSUP, "ml pursuit: layer %d has scale %d (only 1)", l + 1, d->scale);
    const int64_t want = l == 0 ? x->nchan : layers[l - 1].natoms;
    if (d->nchan != want)
      HCSC_FAIL(HCSC_EINVAL,
                "ml pursuit: layer %d has %d channels, expected %lld (%s) in the channel chain",
                l + 1, d->nchan, (long long)want, l == 0 ? "scene bands" : "atoms of the layer above");
    if (!(o->lambdas[l] > 0) || !isfinite(o->lambdas[l]))
      HCSC_FAIL(HCSC_EINVAL, "ml pursuit: lambda of layer %d must be a finite value > 0 (got %g)",
                l + 1, o->lambdas[l]);
    if (!codes[l].data || codes[l].nchan != d->natoms || !hcsc_box_same_area(&gb, &codes[l].box))
      HCSC_FAIL(HCSC_EINVAL, "ml pursuit: code tile %d must have %d channels on this rank's box",
                l + 1, d->natoms);
  }
  for (int64_t c = 0; c < x->nchan; c++)
    for (int64_t i = 0; i < x->box.nr; i++)
      for (int64_t j = 0; j < x->box.nc; j++)
        if (!isfinite(HCSC_TILE_AT(x, c, i, j)))
          HCSC_FAIL(HCSC_EVALUE,
                    "ml pursuit: non-finite value in the scene at band %lld, row %lld, col %lld",
                    (long long)c, (long long)(x->box.r0 + i), (long long)(x->box.c0 + j));
cleanup:
  return err;
}

/* Working state: levels 0..L. */
typedef struct {
  const hcsc_grid *g;
  int L;
  int64_t rows, cols, np;
  int64_t nch[LMAX + 1];
  hcsc_conv *op[LMAX];      /* layer l + 1 */
  hcsc_halo *halo[LMAX + 1]; /* per level */
  hcsc_tile t[LMAX + 1];    /* per level, with halo */
  hcsc_tile grad[LMAX + 1]; /* per level 1..L, no halo: analysis output */
} mlw;

/* t[l-1] = D_l t[l].  Collective on the spatial comm. */
static int synth(mlw *w, int l)
{
  int err = 0;
  HCSC_CHECK(hcsc_halo_exchange(w->halo[l], &w->t[l]));
  HCSC_CHECK(hcsc_conv_synth(w->op[l - 1], &w->t[l], &w->t[l - 1]));
cleanup:
  return err;
}

/* t[l-1] .. t[0] = chain of t[l]. */
static int chain(mlw *w, int l)
{
  int err = 0;
  for (; l >= 1; l--) HCSC_CHECK(synth(w, l));
cleanup:
  return err;
}

/* grad[l] = D_l^T t[l-1]. */
static int analysis(mlw *w, int l)
{
  int err = 0;
  HCSC_CHECK(hcsc_halo_exchange(w->halo[l - 1], &w->t[l - 1]));
  hcsc_tile_zero_outside(&w->t[l - 1], w->rows, w->cols);
  HCSC_CHECK(hcsc_conv_analysis(w->op[l - 1], &w->t[l - 1], &w->grad[l]));
cleanup:
  return err;
}

/* Interior of a tile to / from a packed array (nchan x nr x nc). */
static void pack(const hcsc_tile *t, float *a)
{
  const int64_t nr = t->box.nr, nc = t->box.nc;
  for (int64_t ch = 0; ch < t->nchan; ch++)
    for (int64_t i = 0; i < nr; i++)
      memcpy(a + (ch * nr + i) * nc, &HCSC_TILE_AT(t, ch, i, 0), sizeof(float) * (size_t)nc);
}

static void unpack(const float *a, hcsc_tile *t)
{
  const int64_t nr = t->box.nr, nc = t->box.nc;
  for (int64_t ch = 0; ch < t->nchan; ch++)
    for (int64_t i = 0; i < nr; i++)
      memcpy(&HCSC_TILE_AT(t, ch, i, 0), a + (ch * nr + i) * nc, sizeof(float) * (size_t)nc);
}

static float soft(float u, float thr, int nonneg)
{
  if (nonneg) return u > thr ? u - thr : 0.0f;
  return u > thr ? u - thr : (u < -thr ? u + thr : 0.0f);
}

static double tile_l1(const hcsc_tile *t, double *nnz)
{
  double s = 0, n = 0;
  for (int64_t ch = 0; ch < t->nchan; ch++)
    for (int64_t i = 0; i < t->box.nr; i++)
      for (int64_t j = 0; j < t->box.nc; j++) {
        const float v = HCSC_TILE_AT(t, ch, i, j);
        s += fabs((double)v);
        n += v != 0;
      }
  if (nnz) *nnz = n;
  return s;
}

static double resid2(const hcsc_tile *r, const hcsc_tile *x)
{
  double s = 0;
  for (int64_t c = 0; c < x->nchan; c++)
    for (int64_t i = 0; i < x->box.nr; i++)
      for (int64_t j = 0; j < x->box.nc; j++) {
        const double e = (double)HCSC_TILE_AT(r, c, i, j) - HCSC_TILE_AT(x, c, i, j);
        s += e * e;
      }
  return s;
}

/* F of the deepest code in t[L]: chain, then reduce.  Leaves the chain in
 * t[0..L-1]. */
static int objective(mlw *w, const hcsc_tile *x, const hcsc_ml_opts *o, double *F)
{
  int err = 0;
  double s[LMAX + 1];
  HCSC_CHECK(chain(w, w->L));
  hcsc_timer_start(HCSC_PHASE_COMPUTE);
  s[0] = resid2(&w->t[0], x);
  for (int l = 1; l <= w->L; l++) s[l] = tile_l1(&w->t[l], NULL);
  hcsc_timer_stop(HCSC_PHASE_COMPUTE);
  HCSC_CHECK(hcsc_grid_allreduce(w->g, HCSC_SCOPE_ALL, s, w->L + 1, MPI_DOUBLE, MPI_SUM));
  *F = 0.5 * s[0];
  for (int l = 1; l <= w->L; l++) *F += o->lambdas[l - 1] * s[l];
cleanup:
  return err;
}

/* L_l = safety ||D_1 .. D_l||^2 by n power iterations from an RNG start on
 * level l (keyed on global coordinates: the same on any decomposition). */
static int estimate_lipschitz(mlw *w, int l, int n, double *Lip)
{
  int err = 0;
  hcsc_tile *v = &w->t[l];
  const hcsc_box b = v->box;
  double nrm = 0;
  for (int64_t m = 0; m < v->nchan; m++)
    for (int64_t i = 0; i < b.nr; i++)
      for (int64_t j = 0; j < b.nc; j++) {
        const float val = (float)hcsc_rng_normal(ML_SEED, (uint32_t)l, m, b.r0 + i, b.c0 + j);
        HCSC_TILE_AT(v, m, i, j) = val;
        nrm += (double)val * val;
      }
  HCSC_CHECK(hcsc_grid_allreduce(w->g, HCSC_SCOPE_ALL, &nrm, 1, MPI_DOUBLE, MPI_SUM));
  nrm = sqrt(nrm);
  for (int it = 0; it < n && nrm > 0; it++) {
    const float s = (float)(1.0 / nrm);
    for (int64_t m = 0; m < v->nchan; m++)
      for (int64_t i = 0; i < b.nr; i++)
        for (int64_t j = 0; j < b.nc; j++) HCSC_TILE_AT(v, m, i, j) *= s;
    HCSC_CHECK(chain(w, l));
    for (int k = 1; k <= l; k++) {
      HCSC_CHECK(analysis(w, k));
      const hcsc_tile *gk = &w->grad[k];
      for (int64_t m = 0; m < gk->nchan; m++)
        for (int64_t i = 0; i < b.nr; i++)
          memcpy(&HCSC_TILE_AT(&w->t[k], m, i, 0), &HCSC_TILE_AT(gk, m, i, 0),
                 sizeof(float) * (size_t)b.nc);
    }
    nrm = 0;
    for (int64_t m = 0; m < v->nchan; m++)
      for (int64_t i = 0; i < b.nr; i++)
        for (int64_t j = 0; j < b.nc; j++) nrm += (double)HCSC_TILE_AT(v, m, i, j) * HCSC_TILE_AT(v, m, i, j);
    HCSC_CHECK(hcsc_grid_allreduce(w->g, HCSC_SCOPE_ALL, &nrm, 1, MPI_DOUBLE, MPI_SUM));
    nrm = sqrt(nrm);
  }
  *Lip = ML_SAFETY * nrm;
  if (!(*Lip > 0) || !isfinite(*Lip))
    HCSC_FAIL(HCSC_EVALUE, "ml pursuit: operator norm estimate %g of layers 1..%d (all-zero atoms?)",
              *Lip, l);
cleanup:
  return err;
}

static void copy_interior(const hcsc_tile *src, hcsc_tile *dst)
{
  for (int64_t ch = 0; ch < src->nchan; ch++)
    for (int64_t i = 0; i < src->box.nr; i++)
      memcpy(&HCSC_TILE_AT(dst, ch, i, 0), &HCSC_TILE_AT(src, ch, i, 0),
             sizeof(float) * (size_t)src->box.nc);
}

/* Layered thresholding into t[1..L]. */
static int solve_lt(mlw *w, const hcsc_tile *x, const hcsc_ml_opts *o)
{
  int err = 0;
  copy_interior(x, &w->t[0]);
  for (int l = 1; l <= w->L; l++) {
    HCSC_CHECK(analysis(w, l));
    const float thr = (float)o->lambdas[l - 1];
    hcsc_timer_start(HCSC_PHASE_COMPUTE);
    for (int64_t m = 0; m < w->nch[l]; m++)
      for (int64_t i = 0; i < x->box.nr; i++)
        for (int64_t j = 0; j < x->box.nc; j++)
          HCSC_TILE_AT(&w->t[l], m, i, j) = soft(HCSC_TILE_AT(&w->grad[l], m, i, j), thr, o->nonneg);
    hcsc_timer_stop(HCSC_PHASE_COMPUTE);
  }
cleanup:
  return err;
}

/* Layered basis pursuit into t[1..L] (t[L] holds the warm start). */
static int solve_lbp(mlw *w, const hcsc_dict *layers, const hcsc_tile *x, const hcsc_ml_opts *o,
                     hcsc_ml_stats *st)
{
  int err = 0;
  hcsc_pursuit_stats ps;
  memset(&ps, 0, sizeof ps);
  for (int l = 1; l <= w->L; l++) {
    hcsc_pursuit_opts po;
    hcsc_pursuit_opts_default(&po);
    po.solver = HCSC_PURSUIT_FISTA;
    po.lambda = o->lambdas[l - 1];
    po.iters = o->iters;
    po.tol = o->tol;
    po.nonneg = o->nonneg;
    po.backend = o->backend;
    po.power_iters = o->power_iters;
    po.monitor = o->monitor;
    po.monitor_ctx = o->monitor_ctx;
    HCSC_CHECK(hcsc_pursuit_solve(w->g, &layers[l - 1], l == 1 ? x : &w->t[l - 1], &w->t[l], &po, &ps));
    if (st) st->layer_iters[l - 1] = ps.iters;
    hcsc_pursuit_stats_free(&ps);
  }
cleanup:
  hcsc_pursuit_stats_free(&ps);
  return err;
}

/* ML-ISTA / ML-FISTA (see the header for the iteration). */
static int solve_mlista(mlw *w, const hcsc_tile *x, const hcsc_ml_opts *o, double *obj,
                        hcsc_ml_stats *st, float **gz)
{
  int err = 0;
  const int L = w->L;
  const int64_t np = w->np;
  const hcsc_box b = x->box;
  float *gy[LMAX + 1], *gam[LMAX + 1];
  for (int l = 0; l <= LMAX; l++) gy[l] = gam[l] = NULL;
  for (int l = 0; l <= L; l++) {
    gy[l] = calloc((size_t)(w->nch[l] * np) + 1, sizeof(float));
    gam[l] = calloc((size_t)(w->nch[l] * np) + 1, sizeof(float));
    if (!gy[l] || !gam[l]) err = HCSC_ERR(HCSC_ENOMEM, "ml pursuit: out of memory for level %d", l);
  }
  HCSC_CHECK(hcsc_error_agree(hcsc_grid_comm(w->g), err));

  double mu[LMAX + 1];
  mu[0] = 1;
  for (int l = 1; l <= L; l++) {
    double Lip;
    HCSC_CHECK(estimate_lipschitz(w, l, o->power_iters > 0 ? o->power_iters : 30, &Lip));
    mu[l] = 1.0 / Lip;
    if (st) st->lipschitz[l - 1] = Lip;
  }

  /* Start: z_0 (in gz[L], clamped if nonneg) and its chain. */
  if (o->nonneg)
    for (int64_t k = 0; k < w->nch[L] * np; k++) gz[L][k] = gz[L][k] > 0 ? gz[L][k] : 0;
  unpack(gz[L], &w->t[L]);
  HCSC_CHECK(objective(w, x, o, &obj[0]));
  for (int l = 0; l <= L; l++) {
    pack(&w->t[l], gz[l]);
    memcpy(gy[l], gz[l], sizeof(float) * (size_t)(w->nch[l] * np));
  }
  pack(x, gam[0]); /* gamma_0 = x */

  double t = 1, sum[LMAX + 5];
  int iter = 0, restarts = 0;
  const int ns = L + 5;
  for (iter = 0; iter < o->iters;) {
    double dz2 = 0, z2 = 0, rs = 0, nz = 0;
    for (int l = 1; l <= L; l++) {
      /* t[l-1] = g_{l-1} - gamma_{l-1}, then D_l^T of it. */
      hcsc_timer_start(HCSC_PHASE_COMPUTE);
      for (int64_t ch = 0; ch < w->nch[l - 1]; ch++)
        for (int64_t i = 0; i < b.nr; i++)
          for (int64_t j = 0; j < b.nc; j++) {
            const int64_t k = (ch * b.nr + i) * b.nc + j;
            HCSC_TILE_AT(&w->t[l - 1], ch, i, j) = gy[l - 1][k] - gam[l - 1][k];
          }
      hcsc_timer_stop(HCSC_PHASE_COMPUTE);
      HCSC_CHECK(analysis(w, l));
      const float fac = (float)(mu[l] / mu[l - 1]), thr = (float)(mu[l] * o->lambdas[l - 1]);
      hcsc_timer_start(HCSC_PHASE_COMPUTE);
      for (int64_t ch = 0; ch < w->nch[l]; ch++)
        for (int64_t i = 0; i < b.nr; i++)
          for (int64_t j = 0; j < b.nc; j++) {
            const int64_t k = (ch * b.nr + i) * b.nc + j;
            const float y = gy[l][k];
            const float zn = soft(y - fac * HCSC_TILE_AT(&w->grad[l], ch, i, j), thr, o->nonneg);
            if (l < L) {
              gam[l][k] = zn;
              continue;
            }
            const double dz = (double)zn - gz[L][k];
            dz2 += dz * dz;
            z2 += (double)zn * zn;
            rs += ((double)y - zn) * dz;
            nz += zn != 0;
            HCSC_TILE_AT(&w->t[L], ch, i, j) = zn;
          }
      hcsc_timer_stop(HCSC_PHASE_COMPUTE);
    }
    HCSC_CHECK(chain(w, L));
    hcsc_timer_start(HCSC_PHASE_COMPUTE);
    sum[0] = resid2(&w->t[0], x);
    for (int l = 1; l <= L; l++) sum[l] = tile_l1(&w->t[l], NULL);
    sum[L + 1] = dz2;
    sum[L + 2] = z2;
    sum[L + 3] = rs;
    sum[L + 4] = nz;
    hcsc_timer_stop(HCSC_PHASE_COMPUTE);
    HCSC_CHECK(hcsc_grid_allreduce(w->g, HCSC_SCOPE_ALL, sum, ns, MPI_DOUBLE, MPI_SUM));
    iter++;
    obj[iter] = 0.5 * sum[0];
    for (int l = 1; l <= L; l++) obj[iter] += o->lambdas[l - 1] * sum[l];

    /* Momentum on z_L and, by linearity, on its chain; restart on the
     * reduced test so every rank takes the same branch. */
    const double beta = o->method == HCSC_ML_FISTA ? hcsc_fista_beta(sum[L + 3] > 0, &t, &restarts) : 0;
    hcsc_timer_start(HCSC_PHASE_COMPUTE);
    for (int l = 0; l <= L; l++) hcsc_fista_momentum(&w->t[l], w->t[l].nchan, (float)beta, gy[l], gz[l]);
    hcsc_timer_stop(HCSC_PHASE_COMPUTE);
    const double rel =
        sum[L + 2] > 0 ? sqrt(sum[L + 1] / sum[L + 2]) : (sum[L + 1] > 0 ? INFINITY : 0);
    if (o->monitor &&
        o->monitor(o->monitor_ctx, iter, obj[iter],
                   sum[L + 4] / ((double)w->nch[L] * (double)w->rows * (double)w->cols), rel))
      break;
    if (o->tol > 0 && sqrt(sum[L + 1]) <= o->tol * sqrt(sum[L + 2])) break;
  }
  if (st) {
    st->iters = iter;
    st->restarts = restarts;
  }
cleanup:
  for (int l = 0; l <= LMAX; l++) {
    free(gy[l]);
    free(gam[l]);
  }
  return err;
}

int hcsc_ml_solve(const hcsc_grid *g, const hcsc_dict *layers, int nlayers, const hcsc_tile *x,
                  hcsc_tile *codes, const hcsc_ml_opts *o, hcsc_ml_stats *st)
{
  int err = 0;
  mlw w;
  double *obj = NULL;
  float *gz[LMAX + 1];
  for (int l = 0; l <= LMAX; l++) gz[l] = NULL;
  memset(&w, 0, sizeof w);
  if (st) memset(st, 0, sizeof *st);
  if (!g) return HCSC_ERR(HCSC_EINVAL, "ml pursuit: no grid");
  MPI_Comm comm = hcsc_grid_comm(g);

  err = check_args(g, layers, nlayers, x, codes, o);
  const hcsc_box box = hcsc_grid_box(g);
  int hw = 1;
  if (!err) {
    int64_t bands;
    hcsc_grid_scene(g, &bands, &w.rows, &w.cols);
    w.g = g;
    w.L = nlayers;
    w.np = box.nr * box.nc;
    w.nch[0] = x->nchan;
    for (int l = 0; l < nlayers && !err; l++) {
      w.nch[l + 1] = layers[l].natoms;
      err = hcsc_conv_create(&layers[l], &box, w.rows, w.cols, o->backend, &w.op[l]);
      if (!err && hcsc_conv_halo(w.op[l]) > hw) hw = hcsc_conv_halo(w.op[l]);
    }
    for (int l = 0; l <= nlayers && !err; l++) {
      err = hcsc_tile_alloc(&w.t[l], &box, w.nch[l], hw);
      if (!err && l > 0) err = hcsc_tile_alloc(&w.grad[l], &box, w.nch[l], 0);
      if (!err) {
        gz[l] = calloc((size_t)(w.nch[l] * w.np) + 1, sizeof(float));
        if (!gz[l]) err = HCSC_ERR(HCSC_ENOMEM, "ml pursuit: out of memory for level %d", l);
      }
    }
    if (!err) {
      const int n = o->method >= HCSC_ML_ISTA ? o->iters : 0;
      obj = calloc((size_t)n + 1, sizeof *obj);
      if (!obj) err = HCSC_ERR(HCSC_ENOMEM, "ml pursuit: out of memory");
    }
  }
  HCSC_CHECK(hcsc_error_agree(comm, err));
  for (int l = 0; l <= nlayers; l++) HCSC_CHECK(hcsc_halo_create(g, hw, w.nch[l], &w.halo[l]));

  const int L = nlayers;
  if (o->method == HCSC_ML_LT || o->method == HCSC_ML_LBP) {
    if (o->method == HCSC_ML_LT) {
      HCSC_CHECK(solve_lt(&w, x, o));
    } else {
      copy_interior(&codes[L - 1], &w.t[L]);
      HCSC_CHECK(solve_lbp(&w, layers, x, o, st));
    }
    /* The layered estimates are the result; F is that of their deepest
     * code (the chain overwrites the other levels, so copy first). */
    for (int l = 1; l <= L; l++) copy_interior(&w.t[l], &codes[l - 1]);
    HCSC_CHECK(objective(&w, x, o, &obj[0]));
  } else {
    pack(&codes[L - 1], gz[L]);
    HCSC_CHECK(solve_mlista(&w, x, o, obj, st, gz));
    for (int l = 1; l <= L; l++) unpack(gz[l], &codes[l - 1]);
  }

  if (st) {
    double nnz[LMAX];
    for (int l = 0; l < L; l++) tile_l1(&codes[l], &nnz[l]);
    HCSC_CHECK(hcsc_grid_allreduce(g, HCSC_SCOPE_ALL, nnz, L, MPI_DOUBLE, MPI_SUM));
    for (int l = 0; l < L; l++)
      st->sparsity[l] = nnz[l] / ((double)w.nch[l + 1] * (double)w.rows * (double)w.cols);
    st->objective = obj;
    obj = NULL;
  }

cleanup:
  for (int l = 0; l <= LMAX; l++) {
    if (l < LMAX) hcsc_conv_destroy(&w.op[l]);
    hcsc_halo_destroy(&w.halo[l]);
    hcsc_tile_free(&w.t[l]);
    hcsc_tile_free(&w.grad[l]);
    free(gz[l]);
  }
  free(obj);
  return hcsc_error_agree(comm, err);
}
