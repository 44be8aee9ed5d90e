/* Distributed ISTA / FISTA for one convolutional layer (hcsc/pursuit.h).
 *
 * Per iteration: one analysis (gradient D^T (w W^2 o (D y - x)) at the
 * extrapolated point y), one synthesis (D z_{k+1}) and one Allreduce of six
 * doubles (objective terms, step norms, restart test, nonzeros).
 *
 * Spectral groups (G > 1): the G ranks of a spatial tile hold the same
 * M-channel codes and each synthesises only its own bands with a copy of
 * the dictionary restricted to those channels; the analysis of its
 * residual is a partial sum over its channels, completed by one Allreduce
 * of the M-channel interior over the spectral comm.  Every rank of the
 * group then applies the same update.  Sums of code terms (l1 norm, step
 * norms, nonzeros) are contributed by the first rank of each group only,
 * so one Allreduce over all ranks still gives the global values.  D y is not synthesised:
 * by linearity D y = D z_{k+1} + beta (D z_{k+1} - D z_k), from the two
 * latest syntheses kept on the C channels, so FISTA costs what ISTA costs
 * and the objective reported each iteration is that of z_{k+1} itself. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hcsc/error.h"
#include "hcsc/pursuit.h"
#include "hcsc/rng.h"
#include "hcsc/timer.h"
#include "pursuit_impl.h"

#define PURSUIT_SEED 0x70757273756974ULL /* "pursuit" */
#define PURSUIT_SAFETY 1.05

void hcsc_pursuit_opts_default(hcsc_pursuit_opts *o)
{
  if (!o) return;
  memset(o, 0, sizeof *o);
  o->solver = HCSC_PURSUIT_FISTA;
  o->lambda = 0.1;
  o->iters = 100;
  o->tol = 1e-4;
  o->nonneg = 0;
  o->backend = HCSC_CONV_AUTO;
  o->power_iters = 30;
}

void hcsc_pursuit_stats_free(hcsc_pursuit_stats *st)
{
  if (!st) return;
  free(st->objective);
  memset(st, 0, sizeof *st);
}

/* Local checks of the arguments; the caller agrees on the result. */
static int check_args(const hcsc_grid *g, const hcsc_dict *d, const hcsc_tile *x,
                      const hcsc_tile *z, const hcsc_pursuit_opts *o)
{
  int err = 0;
  int64_t bands, rows, cols;
  int dims[3];
  if (!d || !x || !z || !o || !d->atoms || !x->data || !z->data)
    HCSC_FAIL(HCSC_EINVAL, "pursuit: missing dictionary, tile or options");
  hcsc_grid_scene(g, &bands, &rows, &cols);
  hcsc_grid_dims(g, dims);
  const hcsc_box gb = hcsc_grid_box(g);
  if (o->solver != HCSC_PURSUIT_ISTA && o->solver != HCSC_PURSUIT_FISTA)
    HCSC_FAIL(HCSC_EINVAL, "pursuit: unknown solver %d", (int)o->solver);
  if (!(o->lambda > 0) || !isfinite(o->lambda))
    HCSC_FAIL(HCSC_EINVAL, "pursuit: lambda must be a finite value > 0 (got %g)", o->lambda);
  if (o->iters < 0 || o->power_iters < 0 || !(o->tol >= 0))
    HCSC_FAIL(HCSC_EINVAL, "pursuit: iters %d, power_iters %d and tol %g must be >= 0", o->iters,
              o->power_iters, o->tol);
  if (d->scale != 1) HCSC_FAIL(HCSC_ENOTSUP, "pursuit: dictionary scale %d (only 1)", d->scale);
  /* G = 1: x may be any array on the grid's box (a code map of a lower
   * layer, say) with the dictionary's channels.  G > 1: x is the band
   * slice of a scene with the dictionary's channels. */
  if (dims[0] == 1 && d->nchan != x->nchan)
    HCSC_FAIL(HCSC_EINVAL, "pursuit: dictionary has %d channels, scene tile %lld", d->nchan,
              (long long)x->nchan);
  if (dims[0] > 1 && d->nchan != bands)
    HCSC_FAIL(HCSC_EINVAL, "pursuit: dictionary has %d channels, the scene %lld bands", d->nchan,
              (long long)bands);
  if (dims[0] > 1 && x->nchan != gb.nb)
    HCSC_FAIL(HCSC_EINVAL, "pursuit: scene tile has %lld channels, this rank's band slice %lld",
              (long long)x->nchan, (long long)gb.nb);
  if (d->natoms != z->nchan)
    HCSC_FAIL(HCSC_EINVAL, "pursuit: dictionary has %d atoms, code tile %lld channels", d->natoms,
              (long long)z->nchan);
  if (!hcsc_box_same_area(&gb, &x->box) || !hcsc_box_same_area(&gb, &z->box))
    HCSC_FAIL(HCSC_EINVAL, "pursuit: scene or code tile is not this rank's box of the grid");
  const int h = d->ksize - 1 - (d->ksize - 1) / 2;
  if (z->halo < h) HCSC_FAIL(HCSC_EINVAL, "pursuit: code tile halo %d < %d", z->halo, h);
  if (o->band_weights) {
    double wmax = 0;
    for (int64_t c = 0; c < d->nchan; c++) {
      const double wc = o->band_weights[c];
      if (!(wc >= 0) || !isfinite(wc))
        HCSC_FAIL(HCSC_EINVAL, "pursuit: band weight %lld is %g (must be finite and >= 0)",
                  (long long)c, wc);
      wmax = wc > wmax ? wc : wmax;
    }
    if (!(wmax > 0)) HCSC_FAIL(HCSC_EINVAL, "pursuit: every band weight is 0");
  }
  const hcsc_tile *mk = o->mask;
  if (mk) {
    if (!mk->data || !hcsc_box_same_area(&gb, &mk->box))
      HCSC_FAIL(HCSC_EINVAL, "pursuit: mask tile is not on this rank's box of the grid (rows "
                "%lld+%lld, cols %lld+%lld)", (long long)mk->box.r0, (long long)mk->box.nr,
                (long long)mk->box.c0, (long long)mk->box.nc);
    if (mk->nchan != 1 && mk->nchan != x->nchan)
      HCSC_FAIL(HCSC_EINVAL, "pursuit: mask has %lld channels (1 or the tile's %lld bands)",
                (long long)mk->nchan, (long long)x->nchan);
    for (int64_t c = 0; c < mk->nchan; c++)
      for (int64_t i = 0; i < mk->box.nr; i++)
        for (int64_t j = 0; j < mk->box.nc; j++) {
          const float v = HCSC_TILE_AT(mk, c, i, j);
          if (!(v >= 0 && v <= 1))
            HCSC_FAIL(HCSC_EINVAL, "pursuit: mask value %g at channel %lld, row %lld, col %lld "
                      "is not in [0, 1]", (double)v, (long long)c, (long long)(mk->box.r0 + i),
                      (long long)(mk->box.c0 + j));
        }
  }
  /* Missing data arrive as NaN: only pixels the mask keeps must be finite. */
  for (int64_t c = 0; c < x->nchan; c++)
    for (int64_t i = 0; i < x->box.nr; i++)
      for (int64_t j = 0; j < x->box.nc; j++)
        if (!isfinite(HCSC_TILE_AT(x, c, i, j)) &&
            (!mk || HCSC_TILE_AT(mk, mk->nchan == 1 ? 0 : c, i, j) > 0))
          HCSC_FAIL(HCSC_EVALUE, "pursuit: non-finite value in the scene at band %lld, row %lld, col %lld",
                    (long long)(x->box.b0 + c), (long long)(x->box.r0 + i), (long long)(x->box.c0 + j));
cleanup:
  return err;
}

/* Working state of one solve. */
typedef struct {
  const hcsc_grid *g;
  hcsc_conv *op;
  hcsc_halo *hm, *hc; /* plans: M and C channels */
  int64_t rows, cols;
  int G;              /* band slices */
  int lead;           /* 1 on the first rank of the spectral group: it adds the code terms */
  hcsc_dict sub;      /* the dictionary on this rank's channels (G > 1) */
  const hcsc_tile *mask; /* W or NULL */
  float *wl;          /* w_c of this rank's channels, or NULL (all 1) */
  hcsc_tile v;        /* M channels, halo: the point to synthesise */
  hcsc_tile r;        /* C channels, halo: synthesis / residual */
  hcsc_tile grad;     /* M channels: analysis output */
} work;

/* r = D v (v's halo exchanged here).  Collective on the spatial comm. */
static int apply_synth(work *w)
{
  int err = 0;
  HCSC_CHECK(hcsc_halo_exchange(w->hm, &w->v));
  HCSC_CHECK(hcsc_conv_synth(w->op, &w->v, &w->r));
cleanup:
  return err;
}

/* grad = D^T r (r's halo exchanged and zeroed outside here); with band
 * slices the partial sums over this rank's channels are added up over the
 * spectral comm (grad has no halo: its interior is contiguous).
 * Collective on the grid's comm. */
static int apply_analysis(work *w)
{
  int err = 0;
  HCSC_CHECK(hcsc_halo_exchange(w->hc, &w->r));
  hcsc_tile_zero_outside(&w->r, w->rows, w->cols);
  HCSC_CHECK(hcsc_conv_analysis(w->op, &w->r, &w->grad));
  if (w->G > 1) {
    const int64_t n = w->grad.nchan * w->grad.box.nr * w->grad.box.nc;
    const int64_t chunk = (int64_t)1 << 28; /* MPI counts are int */
    for (int64_t off = 0; off < n; off += chunk) {
      const int cnt = (int)(n - off < chunk ? n - off : chunk);
      HCSC_CHECK(hcsc_grid_allreduce(w->g, HCSC_SCOPE_SPECTRAL, w->grad.data + off, cnt, MPI_FLOAT,
                                     MPI_SUM));
    }
  }
cleanup:
  return err;
}

/* L = safety * ||D^T D v|| after n power iterations from an RNG start.
 * Norms of the (group-replicated) codes: the group's lead adds them. */
static int estimate_lipschitz(work *w, int n, double *L)
{
  int err = 0;
  const hcsc_box b = w->v.box;
  const int64_t M = w->v.nchan;
  double nrm = 0;
  for (int64_t m = 0; m < M; m++)
    for (int64_t i = 0; i < b.nr; i++)
      for (int64_t j = 0; j < b.nc; j++) {
        float val = (float)hcsc_rng_normal(PURSUIT_SEED, 1, m, b.r0 + i, b.c0 + j);
        HCSC_TILE_AT(&w->v, m, i, j) = val;
        nrm += (double)val * val;
      }
  if (!w->lead) nrm = 0;
  HCSC_CHECK(hcsc_grid_allreduce(w->g, HCSC_SCOPE_ALL, &nrm, 1, MPI_DOUBLE, MPI_SUM));
  nrm = sqrt(nrm);
  for (int it = 0; it < n && nrm > 0; it++) {
    const float s = (float)(1.0 / nrm);
    for (int64_t m = 0; m < M; m++)
      for (int64_t i = 0; i < b.nr; i++)
        for (int64_t j = 0; j < b.nc; j++) HCSC_TILE_AT(&w->v, m, i, j) *= s;
    HCSC_CHECK(apply_synth(w));
    HCSC_CHECK(apply_analysis(w));
    nrm = 0;
    hcsc_timer_start(HCSC_PHASE_COMPUTE);
    for (int64_t m = 0; m < M; m++)
      for (int64_t i = 0; i < b.nr; i++)
        for (int64_t j = 0; j < b.nc; j++) {
          const float val = HCSC_TILE_AT(&w->grad, m, i, j);
          HCSC_TILE_AT(&w->v, m, i, j) = val;
          nrm += (double)val * val;
        }
    hcsc_timer_stop(HCSC_PHASE_COMPUTE);
    if (!w->lead) nrm = 0;
    HCSC_CHECK(hcsc_grid_allreduce(w->g, HCSC_SCOPE_ALL, &nrm, 1, MPI_DOUBLE, MPI_SUM));
    nrm = sqrt(nrm);
  }
  *L = PURSUIT_SAFETY * nrm;
cleanup:
  return err;
}

/* Row i of mask channel c for x's channel c, or NULL without a mask. */
static const float *mask_row(const work *w, int64_t c, int64_t i)
{
  const hcsc_tile *mk = w->mask;
  return mk ? &HCSC_TILE_AT(mk, mk->nchan == 1 ? 0 : c, i, 0) : NULL;
}

/* Weighted residual w_c W^2 o (s - x) into r's interior, s packed (C
 * channels).  Where W = 0 the residual is 0 whatever x holds (NaN there
 * means missing). */
static void weighted_residual(work *w, const float *s, const hcsc_tile *x)
{
  const hcsc_box b = w->r.box;
  for (int64_t c = 0; c < w->r.nchan; c++) {
    const float wc = w->wl ? w->wl[c] : 1.0f;
    for (int64_t i = 0; i < b.nr; i++) {
      const float *mr = mask_row(w, c, i), *xr = &HCSC_TILE_AT(x, c, i, 0);
      const float *sr = s + (c * b.nr + i) * b.nc;
      float *rr = &HCSC_TILE_AT(&w->r, c, i, 0);
      if (!mr) {
        for (int64_t j = 0; j < b.nc; j++) rr[j] = wc * (sr[j] - xr[j]);
      } else {
        for (int64_t j = 0; j < b.nc; j++)
          rr[j] = mr[j] > 0 ? wc * mr[j] * mr[j] * (sr[j] - xr[j]) : 0.0f;
      }
    }
  }
}

/* sum_c w_c ||W_c o (r - x)_c||^2 over this rank's interior, r = a
 * synthesis in w->r. */
static double data_term(const work *w, const hcsc_tile *x)
{
  const hcsc_box b = w->r.box;
  double sum = 0;
  for (int64_t c = 0; c < w->r.nchan; c++) {
    double sc = 0;
    for (int64_t i = 0; i < b.nr; i++) {
      const float *mr = mask_row(w, c, i), *xr = &HCSC_TILE_AT(x, c, i, 0);
      const float *sr = &HCSC_TILE_AT(&w->r, c, i, 0);
      for (int64_t j = 0; j < b.nc; j++) {
        if (mr && !(mr[j] > 0)) continue;
        const double e = ((double)sr[j] - xr[j]) * (mr ? mr[j] : 1.0f);
        sc += e * e;
      }
    }
    sum += (w->wl ? w->wl[c] : 1.0) * sc;
  }
  return sum;
}

double hcsc_fista_beta(int restart, double *t, int *restarts)
{
  if (restart) {
    *t = 1;
    (*restarts)++;
    return 0;
  }
  const double tn = 0.5 * (1 + sqrt(1 + 4 * *t * *t));
  const double beta = (*t - 1) / tn;
  *t = tn;
  return beta;
}

void hcsc_fista_momentum(const hcsc_tile *v, int64_t nchan, float beta, float *y, float *prev)
{
  const int64_t nr = v->box.nr, nc = v->box.nc;
  for (int64_t ch = 0; ch < nchan; ch++)
    for (int64_t i = 0; i < nr; i++)
      for (int64_t j = 0; j < nc; j++) {
        const int64_t k = (ch * nr + i) * nc + j;
        const float vn = HCSC_TILE_AT(v, ch, i, j);
        y[k] = vn + beta * (vn - prev[k]);
        prev[k] = vn;
      }
}

/* The operator of this rank: d itself, or (band slices) a copy of d's
 * channels [b0, b0 + nb) in w->sub.  Not collective. */
static int plan_operator(work *w, const hcsc_dict *d, const hcsc_box *box, hcsc_conv_backend be)
{
  int err = 0;
  const hcsc_dict *dd = d;
  if (w->G > 1) {
    HCSC_CHECK(hcsc_dict_alloc(&w->sub, d->natoms, (int)box->nb, d->ksize, d->scale));
    for (int m = 0; m < d->natoms; m++)
      for (int c = 0; c < (int)box->nb; c++)
        memcpy(&HCSC_ATOM(&w->sub, m, c, 0, 0), &HCSC_ATOM(d, m, box->b0 + c, 0, 0),
               sizeof(float) * (size_t)d->ksize * (size_t)d->ksize);
    dd = &w->sub;
  }
  HCSC_CHECK(hcsc_conv_create(dd, box, w->rows, w->cols, be, &w->op));
cleanup:
  return err;
}

int hcsc_pursuit_solve(const hcsc_grid *g, const hcsc_dict *d, const hcsc_tile *x, hcsc_tile *z,
                       const hcsc_pursuit_opts *o, hcsc_pursuit_stats *st)
{
  int err = 0;
  work w;
  float *zk = NULL, *yk = NULL, *az = NULL, *ay = NULL;
  double *obj = NULL;
  memset(&w, 0, sizeof w);
  if (st) memset(st, 0, sizeof *st);
  if (!g) return HCSC_ERR(HCSC_EINVAL, "pursuit: no grid");
  MPI_Comm comm = hcsc_grid_comm(g);
  {
    int dims[3], coords[3];
    hcsc_grid_dims(g, dims);
    hcsc_grid_coords(g, coords);
    w.G = dims[0];
    w.lead = coords[0] == 0;
  }

  /* Local checks first, agreed before any collective. */
  err = check_args(g, d, x, z, o);
  if (!err) {
    const hcsc_box box = hcsc_grid_box(g);
    int64_t bands;
    hcsc_grid_scene(g, &bands, &w.rows, &w.cols);
    err = plan_operator(&w, d, &box, o->backend);
  }
  HCSC_CHECK(hcsc_error_agree(comm, err));

  w.g = g;
  w.mask = o->mask;
  const hcsc_box b = x->box;
  const int64_t M = d->natoms, C = x->nchan, np = b.nr * b.nc;
  const int h = hcsc_conv_halo(w.op), hw = h > 0 ? h : 1;
  double wmax = 1;
  err = hcsc_tile_alloc(&w.v, &b, M, hw);
  if (!err) err = hcsc_tile_alloc(&w.r, &b, C, hw);
  if (!err) err = hcsc_tile_alloc(&w.grad, &b, M, 0);
  if (!err) {
    zk = calloc((size_t)(M * np) + 1, sizeof *zk);
    yk = calloc((size_t)(M * np) + 1, sizeof *yk);
    az = calloc((size_t)(C * np) + 1, sizeof *az);
    ay = calloc((size_t)(C * np) + 1, sizeof *ay);
    obj = calloc((size_t)o->iters + 1, sizeof *obj);
    if (o->band_weights) w.wl = calloc((size_t)C + 1, sizeof *w.wl);
    if (!zk || !yk || !az || !ay || !obj || (o->band_weights && !w.wl))
      err = HCSC_ERR(HCSC_ENOMEM, "pursuit: out of memory for a %lld x %lld tile of %lld codes",
                     (long long)b.nr, (long long)b.nc, (long long)M);
  }
  if (!err && o->band_weights) {
    /* ||diag(sqrt(w)) W D||^2 <= max_c w_c ||D||^2 since 0 <= W <= 1: the
     * step stays safe with the unweighted power estimate. */
    wmax = 0;
    for (int64_t c = 0; c < d->nchan; c++) wmax = fmax(wmax, o->band_weights[c]);
    for (int64_t c = 0; c < C; c++) w.wl[c] = (float)o->band_weights[b.b0 + c];
  }
  HCSC_CHECK(hcsc_error_agree(comm, err));
  HCSC_CHECK(hcsc_halo_create(g, hw, M, &w.hm));
  HCSC_CHECK(hcsc_halo_create(g, hw, C, &w.hc));

  double L = 0;
  HCSC_CHECK(estimate_lipschitz(&w, o->power_iters > 0 ? o->power_iters : 30, &L));
  if (!(L > 0) || !isfinite(L))
    HCSC_FAIL(HCSC_EVALUE, "pursuit: dictionary operator norm estimate %g (all-zero atoms?)", L);
  L *= wmax;
  const float step = (float)(1.0 / L), thr = (float)(o->lambda / L);

/* Interior element (ch, i, j) of a packed M or C channel array. */
#define PK(a, ch, i, j) ((a)[((ch) * b.nr + (i)) * b.nc + (j)])

  /* Start: z_0 from the caller, its synthesis and objective. */
  double l1 = 0, sum[6];
  for (int64_t m = 0; m < M; m++)
    for (int64_t i = 0; i < b.nr; i++)
      for (int64_t j = 0; j < b.nc; j++) {
        float val = HCSC_TILE_AT(z, m, i, j);
        if (o->nonneg && val < 0) val = 0;
        PK(zk, m, i, j) = PK(yk, m, i, j) = HCSC_TILE_AT(&w.v, m, i, j) = val;
        l1 += fabs((double)val);
      }
  HCSC_CHECK(apply_synth(&w));
  for (int64_t c = 0; c < C; c++)
    for (int64_t i = 0; i < b.nr; i++)
      for (int64_t j = 0; j < b.nc; j++) PK(az, c, i, j) = PK(ay, c, i, j) = HCSC_TILE_AT(&w.r, c, i, j);
  sum[0] = data_term(&w, x);
  sum[1] = w.lead ? l1 : 0;
  HCSC_CHECK(hcsc_grid_allreduce(g, HCSC_SCOPE_ALL, sum, 2, MPI_DOUBLE, MPI_SUM));
  obj[0] = 0.5 * sum[0] + o->lambda * sum[1];

  const double hb0 = hcsc_timer_bytes(HCSC_PHASE_HALO), rb0 = hcsc_timer_bytes(HCSC_PHASE_REDUCE);
  double t = 1;
  int iter = 0, restarts = 0;
  for (iter = 0; iter < o->iters;) {
    /* Gradient at y: weighted residual w W^2 (D y - x), then its analysis. */
    hcsc_timer_start(HCSC_PHASE_COMPUTE);
    weighted_residual(&w, ay, x);
    hcsc_timer_stop(HCSC_PHASE_COMPUTE);
    HCSC_CHECK(apply_analysis(&w));

    /* Proximal step z_{k+1} = S(y - grad / L); restart and step terms. */
    double dz2 = 0, z2 = 0, rs = 0, nz = 0;
    l1 = 0;
    hcsc_timer_start(HCSC_PHASE_COMPUTE);
    for (int64_t m = 0; m < M; m++)
      for (int64_t i = 0; i < b.nr; i++)
        for (int64_t j = 0; j < b.nc; j++) {
          const float y = PK(yk, m, i, j);
          const float u = y - step * HCSC_TILE_AT(&w.grad, m, i, j);
          float zn;
          if (o->nonneg)
            zn = u > thr ? u - thr : 0.0f;
          else
            zn = u > thr ? u - thr : (u < -thr ? u + thr : 0.0f);
          const double dz = (double)zn - PK(zk, m, i, j);
          dz2 += dz * dz;
          z2 += (double)zn * zn;
          rs += ((double)y - zn) * dz;
          l1 += fabs((double)zn);
          nz += zn != 0;
          HCSC_TILE_AT(&w.v, m, i, j) = zn;
        }
    hcsc_timer_stop(HCSC_PHASE_COMPUTE);
    HCSC_CHECK(apply_synth(&w));
    hcsc_timer_start(HCSC_PHASE_COMPUTE);
    const double r2 = data_term(&w, x);
    hcsc_timer_stop(HCSC_PHASE_COMPUTE);
    const double lead = w.lead ? 1.0 : 0.0;
    sum[0] = r2;
    sum[1] = lead * l1;
    sum[2] = lead * dz2;
    sum[3] = lead * z2;
    sum[4] = lead * rs;
    sum[5] = lead * nz;
    HCSC_CHECK(hcsc_grid_allreduce(g, HCSC_SCOPE_ALL, sum, 6, MPI_DOUBLE, MPI_SUM));
    iter++;
    obj[iter] = 0.5 * sum[0] + o->lambda * sum[1];

    /* Momentum: beta = 0 for ISTA and on a restart (the test is on the
     * reduced value, so every rank takes the same branch). */
    const double beta = o->solver == HCSC_PURSUIT_FISTA ? hcsc_fista_beta(sum[4] > 0, &t, &restarts) : 0;
    const float fb = (float)beta;
    hcsc_timer_start(HCSC_PHASE_COMPUTE);
    hcsc_fista_momentum(&w.v, M, fb, yk, zk);
    hcsc_fista_momentum(&w.r, C, fb, ay, az);
    hcsc_timer_stop(HCSC_PHASE_COMPUTE);
    const double rel = sum[3] > 0 ? sqrt(sum[2] / sum[3]) : (sum[2] > 0 ? INFINITY : 0);
    if (o->monitor &&
        o->monitor(o->monitor_ctx, iter, obj[iter], sum[5] / ((double)M * (double)w.rows * (double)w.cols),
                   rel))
      break;
    if (o->tol > 0 && sqrt(sum[2]) <= o->tol * sqrt(sum[3])) break;
  }
  const double halo_bytes = hcsc_timer_bytes(HCSC_PHASE_HALO) - hb0;
  const double reduce_bytes = hcsc_timer_bytes(HCSC_PHASE_REDUCE) - rb0;

  /* Result and statistics. */
  double nnz = 0;
  for (int64_t m = 0; m < M; m++)
    for (int64_t i = 0; i < b.nr; i++)
      for (int64_t j = 0; j < b.nc; j++) {
        HCSC_TILE_AT(z, m, i, j) = PK(zk, m, i, j);
        if (PK(zk, m, i, j) != 0) nnz += 1;
      }
#undef PK
  if (!w.lead) nnz = 0;
  HCSC_CHECK(hcsc_grid_allreduce(g, HCSC_SCOPE_ALL, &nnz, 1, MPI_DOUBLE, MPI_SUM));
  if (st) {
    st->iters = iter;
    st->restarts = restarts;
    st->lipschitz = L;
    st->sparsity = nnz / ((double)M * (double)w.rows * (double)w.cols);
    st->halo_bytes = iter > 0 ? halo_bytes / iter : 0;
    st->reduce_bytes = iter > 0 ? reduce_bytes / iter : 0;
    st->objective = obj;
    obj = NULL;
  }

cleanup:
  hcsc_halo_destroy(&w.hm);
  hcsc_halo_destroy(&w.hc);
  hcsc_conv_destroy(&w.op);
  hcsc_dict_free(&w.sub);
  hcsc_tile_free(&w.v);
  hcsc_tile_free(&w.r);
  hcsc_tile_free(&w.grad);
  free(w.wl);
  free(zk);
  free(yk);
  free(az);
  free(ay);
  free(obj);
  return g ? hcsc_error_agree(hcsc_grid_comm(g), err) : err;
}
