/* Multi-scale CSC (hcsc/mlcsc.h): the operator A z = sum_s D_s P_s z_s, its
 * adjoint, and ISTA/FISTA over the codes of all sets.
 *
 * Codes of a set at scale s are full-resolution tiles that are zero off
 * the lattice of global rows and columns divisible by s.  Because the
 * lattice is defined in global coordinates, the masked operators inherit
 * the decomposition invariance of hcsc/conv.h on any split, uneven ones
 * included.  The price is that the convolutions run on every pixel (a
 * factor s^2 of wasted work for a set at scale s); a strided kernel would
 * remove it without changing any result. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hcsc/error.h"
#include "hcsc/mlcsc.h"
#include "hcsc/rng.h"
#include "hcsc/timer.h"
#include "pursuit_impl.h"

#define MS_SEED 0x6d7363736353ULL /* "mscscS" */
#define MS_SAFETY 1.05
#define MS_MAX_SETS 8

struct hcsc_ms_op {
  const hcsc_grid *g;
  const hcsc_dict *sets;
  /* Scale-1 views of the sets (same atoms): the convolution acts at full
   * resolution on lattice-supported codes, and conv.c plans only scale 1. */
  hcsc_dict view[MS_MAX_SETS];
  int n, C, hw;
  int64_t rows, cols;
  hcsc_conv *op[MS_MAX_SETS];
  hcsc_halo *hz[MS_MAX_SETS], *hr;
  hcsc_tile zs[MS_MAX_SETS]; /* masked code with halo */
  hcsc_tile r;               /* residual with halo */
  hcsc_tile tmp;             /* one set's synthesis */
};

static int on_lattice(int64_t r, int64_t c, int s) { return r % s == 0 && c % s == 0; }

static int check_sets(const hcsc_grid *g, const hcsc_dict *sets, int n)
{
  int err = 0, dims[3];
  if (!g || !sets) HCSC_FAIL(HCSC_EINVAL, "multi-scale: no grid or atom sets");
  if (n < 1 || n > MS_MAX_SETS)
    HCSC_FAIL(HCSC_EINVAL, "multi-scale: %d atom sets (1 to %d supported)", n, MS_MAX_SETS);
  hcsc_grid_dims(g, dims);
  if (dims[0] != 1)
    HCSC_FAIL(HCSC_ENOTSUP, "multi-scale: grids with band slices (G = %d) not supported", dims[0]);
  for (int s = 0; s < n; s++) {
    const hcsc_dict *d = &sets[s];
    if (!d->atoms || d->natoms < 1 || d->nchan < 1 || d->ksize < 1)
      HCSC_FAIL(HCSC_EINVAL, "multi-scale: set %d is not a valid dictionary", s);
    if (d->scale != 1 && d->scale != 2 && d->scale != 4)
      HCSC_FAIL(HCSC_EINVAL, "multi-scale: set %d has scale %d (1, 2 or 4 expected)", s, d->scale);
    if (d->nchan != sets[0].nchan)
      HCSC_FAIL(HCSC_EINVAL, "multi-scale: set %d has %d channels, set 0 has %d (sets must share "
                "the scene's channels)", s, d->nchan, sets[0].nchan);
  }
cleanup:
  return err;
}

int hcsc_ms_op_create(const hcsc_grid *g, const hcsc_dict *sets, int nsets,
                      hcsc_conv_backend backend, hcsc_ms_op **out)
{
  int err = 0;
  hcsc_ms_op *p = NULL;
  if (!g || !out) return HCSC_ERR(HCSC_EINVAL, "hcsc_ms_op_create: no grid or output");
  *out = NULL;
  err = check_sets(g, sets, nsets);
  if (!err) {
    p = calloc(1, sizeof *p);
    if (!p) err = HCSC_ERR(HCSC_ENOMEM, "multi-scale: out of memory");
  }
  if (!err) {
    int64_t bands;
    const hcsc_box box = hcsc_grid_box(g);
    p->g = g;
    p->sets = sets;
    p->n = nsets;
    p->C = sets[0].nchan;
    p->hw = 1;
    hcsc_grid_scene(g, &bands, &p->rows, &p->cols);
    for (int s = 0; s < nsets && !err; s++) {
      p->view[s] = sets[s];
      p->view[s].scale = 1;
      err = hcsc_conv_create(&p->view[s], &box, p->rows, p->cols, backend, &p->op[s]);
      if (!err && hcsc_conv_halo(p->op[s]) > p->hw) p->hw = hcsc_conv_halo(p->op[s]);
    }
    for (int s = 0; s < nsets && !err; s++) err = hcsc_tile_alloc(&p->zs[s], &box, sets[s].natoms, p->hw);
    if (!err) err = hcsc_tile_alloc(&p->r, &box, p->C, p->hw);
    if (!err) err = hcsc_tile_alloc(&p->tmp, &box, p->C, 0);
  }
  HCSC_CHECK(hcsc_error_agree(hcsc_grid_comm(g), err));
  for (int s = 0; s < nsets; s++) HCSC_CHECK(hcsc_halo_create(g, p->hw, sets[s].natoms, &p->hz[s]));
  HCSC_CHECK(hcsc_halo_create(g, p->hw, p->C, &p->hr));
  *out = p;
  p = NULL;
cleanup:
  hcsc_ms_op_destroy(&p);
  return hcsc_error_agree(hcsc_grid_comm(g), err);
}

void hcsc_ms_op_destroy(hcsc_ms_op **op)
{
  if (!op || !*op) return;
  hcsc_ms_op *p = *op;
  for (int s = 0; s < MS_MAX_SETS; s++) {
    hcsc_conv_destroy(&p->op[s]);
    hcsc_halo_destroy(&p->hz[s]);
    hcsc_tile_free(&p->zs[s]);
  }
  hcsc_halo_destroy(&p->hr);
  hcsc_tile_free(&p->r);
  hcsc_tile_free(&p->tmp);
  free(p);
  *op = NULL;
}

/* Unchecked synthesis: x = sum_s D_s P_s z_s. */
static int ms_synth(hcsc_ms_op *p, const hcsc_tile *z, hcsc_tile *x)
{
  int err = 0;
  const hcsc_box b = p->r.box;
  for (int s = 0; s < p->n; s++) {
    const int sc = p->sets[s].scale;
    hcsc_tile *v = &p->zs[s];
    hcsc_timer_start(HCSC_PHASE_COMPUTE);
    for (int64_t m = 0; m < v->nchan; m++)
      for (int64_t i = 0; i < b.nr; i++)
        for (int64_t j = 0; j < b.nc; j++)
          HCSC_TILE_AT(v, m, i, j) =
              on_lattice(b.r0 + i, b.c0 + j, sc) ? HCSC_TILE_AT(&z[s], m, i, j) : 0.0f;
    hcsc_timer_stop(HCSC_PHASE_COMPUTE);
    HCSC_CHECK(hcsc_halo_exchange(p->hz[s], v));
    HCSC_CHECK(hcsc_conv_synth(p->op[s], v, &p->tmp));
    hcsc_timer_start(HCSC_PHASE_COMPUTE);
    for (int64_t c = 0; c < p->C; c++)
      for (int64_t i = 0; i < b.nr; i++)
        for (int64_t j = 0; j < b.nc; j++) {
          const float t = HCSC_TILE_AT(&p->tmp, c, i, j);
          HCSC_TILE_AT(x, c, i, j) = s ? HCSC_TILE_AT(x, c, i, j) + t : t;
        }
    hcsc_timer_stop(HCSC_PHASE_COMPUTE);
  }
cleanup:
  return err;
}

/* Unchecked analysis: g_s = P_s D_s^T r (one halo exchange for all sets). */
static int ms_analysis(hcsc_ms_op *p, const hcsc_tile *r, hcsc_tile *g)
{
  int err = 0;
  const hcsc_box b = p->r.box;
  for (int64_t c = 0; c < p->C; c++)
    for (int64_t i = 0; i < b.nr; i++)
      memcpy(&HCSC_TILE_AT(&p->r, c, i, 0), &HCSC_TILE_AT(r, c, i, 0), sizeof(float) * (size_t)b.nc);
  HCSC_CHECK(hcsc_halo_exchange(p->hr, &p->r));
  hcsc_tile_zero_outside(&p->r, p->rows, p->cols);
  for (int s = 0; s < p->n; s++) {
    const int sc = p->sets[s].scale;
    HCSC_CHECK(hcsc_conv_analysis(p->op[s], &p->r, &g[s]));
    if (sc == 1) continue;
    hcsc_timer_start(HCSC_PHASE_COMPUTE);
    for (int64_t m = 0; m < g[s].nchan; m++)
      for (int64_t i = 0; i < b.nr; i++)
        for (int64_t j = 0; j < b.nc; j++)
          if (!on_lattice(b.r0 + i, b.c0 + j, sc)) HCSC_TILE_AT(&g[s], m, i, j) = 0.0f;
    hcsc_timer_stop(HCSC_PHASE_COMPUTE);
  }
cleanup:
  return err;
}

/* Shapes of the operands of an application (local). */
static int check_operands(const hcsc_ms_op *p, const hcsc_tile *z, const hcsc_tile *x)
{
  int err = 0;
  if (!z || !x || !x->data) HCSC_FAIL(HCSC_EINVAL, "multi-scale: missing code or scene tiles");
  if (x->nchan != p->C || !hcsc_box_same_area(&x->box, &p->r.box))
    HCSC_FAIL(HCSC_EINVAL, "multi-scale: scene tile must have %d channels on this rank's box", p->C);
  for (int s = 0; s < p->n; s++)
    if (!z[s].data || z[s].nchan != p->sets[s].natoms || !hcsc_box_same_area(&z[s].box, &p->r.box))
      HCSC_FAIL(HCSC_EINVAL, "multi-scale: code tile %d must have %d channels on this rank's box", s,
                p->sets[s].natoms);
cleanup:
  return err;
}

int hcsc_ms_op_synth(hcsc_ms_op *op, const hcsc_tile *z, hcsc_tile *x)
{
  int err = 0;
  if (!op) return HCSC_ERR(HCSC_EINVAL, "hcsc_ms_op_synth: no operator");
  HCSC_CHECK(hcsc_error_agree(hcsc_grid_comm(op->g), check_operands(op, z, x)));
  HCSC_CHECK(ms_synth(op, z, x));
cleanup:
  return hcsc_error_agree(hcsc_grid_comm(op->g), err);
}

int hcsc_ms_op_analysis(hcsc_ms_op *op, const hcsc_tile *r, hcsc_tile *g)
{
  int err = 0;
  if (!op) return HCSC_ERR(HCSC_EINVAL, "hcsc_ms_op_analysis: no operator");
  HCSC_CHECK(hcsc_error_agree(hcsc_grid_comm(op->g), check_operands(op, g, r)));
  HCSC_CHECK(ms_analysis(op, r, g));
cleanup:
  return hcsc_error_agree(hcsc_grid_comm(op->g), err);
}

/* Local checks of the solver's arguments. */
static int check_solve(const hcsc_grid *g, const hcsc_dict *sets, int n, const hcsc_tile *x,
                       const hcsc_tile *codes, const hcsc_pursuit_opts *o)
{
  int err = 0;
  HCSC_CHECK(check_sets(g, sets, n));
  if (!x || !codes || !o || !x->data) HCSC_FAIL(HCSC_EINVAL, "multi-scale: missing tiles or options");
  if (o->solver != HCSC_PURSUIT_ISTA && o->solver != HCSC_PURSUIT_FISTA)
    HCSC_FAIL(HCSC_EINVAL, "multi-scale: unknown solver %d", (int)o->solver);
  if (!(o->lambda > 0) || !isfinite(o->lambda))
    HCSC_FAIL(HCSC_EINVAL, "multi-scale: lambda must be a finite value > 0 (got %g)", o->lambda);
  if (o->iters < 0 || o->power_iters < 0 || !(o->tol >= 0))
    HCSC_FAIL(HCSC_EINVAL, "multi-scale: iters %d, power_iters %d and tol %g must be >= 0", o->iters,
              o->power_iters, o->tol);
  if (o->mask || o->band_weights)
    HCSC_FAIL(HCSC_ENOTSUP, "multi-scale: masks and band weights are not implemented yet");
  const hcsc_box gb = hcsc_grid_box(g);
  if (x->nchan != sets[0].nchan || !hcsc_box_same_area(&gb, &x->box))
    HCSC_FAIL(HCSC_EINVAL, "multi-scale: scene tile must have %d channels on this rank's box",
              sets[0].nchan);
  for (int s = 0; s < n; s++)
    if (!codes[s].data || codes[s].nchan != sets[s].natoms || !hcsc_box_same_area(&gb, &codes[s].box))
      HCSC_FAIL(HCSC_EINVAL, "multi-scale: code tile %d must have %d channels on this rank's box", s,
                sets[s].natoms);
  for (int64_t c = 0; c < x->nchan; c++)
    for (int64_t i = 0; i < x->box.nr; i++)
      for (int64_t j = 0; j < x->box.nc; j++)
        if (!isfinite(HCSC_TILE_AT(x, c, i, j)))
          HCSC_FAIL(HCSC_EVALUE,
                    "multi-scale: non-finite value in the scene at band %lld, row %lld, col %lld",
                    (long long)c, (long long)(x->box.r0 + i), (long long)(x->box.c0 + j));
cleanup:
  return err;
}

/* ||v||^2 over all sets (local). */
static double codes_norm2(const hcsc_tile *v, int n)
{
  double s2 = 0;
  for (int s = 0; s < n; s++)
    for (int64_t m = 0; m < v[s].nchan; m++)
      for (int64_t i = 0; i < v[s].box.nr; i++)
        for (int64_t j = 0; j < v[s].box.nc; j++)
          s2 += (double)HCSC_TILE_AT(&v[s], m, i, j) * HCSC_TILE_AT(&v[s], m, i, j);
  return s2;
}

/* L = safety ||A||^2: power iterations on A^T A, start drawn from the RNG
 * on global coordinates, on the lattices. */
static int estimate_lipschitz(hcsc_ms_op *p, hcsc_tile *v, hcsc_tile *xs, int iters, double *L)
{
  int err = 0;
  const hcsc_box b = xs->box;
  for (int s = 0; s < p->n; s++)
    for (int64_t m = 0; m < v[s].nchan; m++)
      for (int64_t i = 0; i < b.nr; i++)
        for (int64_t j = 0; j < b.nc; j++)
          HCSC_TILE_AT(&v[s], m, i, j) =
              on_lattice(b.r0 + i, b.c0 + j, p->sets[s].scale)
                  ? (float)hcsc_rng_normal(MS_SEED, (uint32_t)s + 1, m, b.r0 + i, b.c0 + j)
                  : 0.0f;
  double nrm = codes_norm2(v, p->n);
  HCSC_CHECK(hcsc_grid_allreduce(p->g, HCSC_SCOPE_ALL, &nrm, 1, MPI_DOUBLE, MPI_SUM));
  nrm = sqrt(nrm);
  for (int it = 0; it < iters && nrm > 0; it++) {
    const float sc = (float)(1.0 / nrm);
    for (int s = 0; s < p->n; s++)
      for (int64_t m = 0; m < v[s].nchan; m++)
        for (int64_t i = 0; i < b.nr; i++)
          for (int64_t j = 0; j < b.nc; j++) HCSC_TILE_AT(&v[s], m, i, j) *= sc;
    HCSC_CHECK(ms_synth(p, v, xs));
    HCSC_CHECK(ms_analysis(p, xs, v));
    nrm = codes_norm2(v, p->n);
    HCSC_CHECK(hcsc_grid_allreduce(p->g, HCSC_SCOPE_ALL, &nrm, 1, MPI_DOUBLE, MPI_SUM));
    nrm = sqrt(nrm);
  }
  *L = MS_SAFETY * nrm;
  if (!(*L > 0) || !isfinite(*L))
    HCSC_FAIL(HCSC_EVALUE, "multi-scale: operator norm estimate %g (all-zero atoms?)", *L);
cleanup:
  return err;
}

int hcsc_ms_solve(const hcsc_grid *g, const hcsc_dict *sets, int nsets, const hcsc_tile *x,
                  hcsc_tile *codes, const hcsc_pursuit_opts *o, hcsc_pursuit_stats *st)
{
  int err = 0;
  hcsc_ms_op *p = NULL;
  hcsc_tile v[MS_MAX_SETS], gr[MS_MAX_SETS], res;
  float *zk[MS_MAX_SETS], *yk[MS_MAX_SETS], *az = NULL, *ay = NULL;
  double *obj = NULL;
  memset(v, 0, sizeof v);
  memset(gr, 0, sizeof gr);
  memset(&res, 0, sizeof res);
  for (int s = 0; s < MS_MAX_SETS; s++) zk[s] = yk[s] = NULL;
  if (st) memset(st, 0, sizeof *st);
  if (!g) return HCSC_ERR(HCSC_EINVAL, "multi-scale: no grid");
  MPI_Comm comm = hcsc_grid_comm(g);

  HCSC_CHECK(hcsc_error_agree(comm, check_solve(g, sets, nsets, x, codes, o)));
  HCSC_CHECK(hcsc_ms_op_create(g, sets, nsets, o->backend, &p));
  const hcsc_box b = x->box;
  const int64_t np = b.nr * b.nc, C = p->C;
  for (int s = 0; s < nsets && !err; s++) {
    err = hcsc_tile_alloc(&v[s], &b, sets[s].natoms, 0);
    if (!err) err = hcsc_tile_alloc(&gr[s], &b, sets[s].natoms, 0);
    if (!err) {
      zk[s] = calloc((size_t)(sets[s].natoms * np) + 1, sizeof(float));
      yk[s] = calloc((size_t)(sets[s].natoms * np) + 1, sizeof(float));
      if (!zk[s] || !yk[s]) err = HCSC_ERR(HCSC_ENOMEM, "multi-scale: out of memory for set %d", s);
    }
  }
  if (!err) err = hcsc_tile_alloc(&res, &b, C, 0);
  if (!err) {
    az = calloc((size_t)(C * np) + 1, sizeof *az);
    ay = calloc((size_t)(C * np) + 1, sizeof *ay);
    obj = calloc((size_t)o->iters + 1, sizeof *obj);
    if (!az || !ay || !obj) err = HCSC_ERR(HCSC_ENOMEM, "multi-scale: out of memory");
  }
  HCSC_CHECK(hcsc_error_agree(comm, err));

  double L = 0;
  HCSC_CHECK(estimate_lipschitz(p, v, &res, o->power_iters > 0 ? o->power_iters : 30, &L));
  const float step = (float)(1.0 / L), thr = (float)(o->lambda / L);

  /* Lattice points of all sets, for the nonzero fraction. */
  double npts = 0;
  for (int s = 0; s < nsets; s++) {
    const int sc = sets[s].scale;
    npts += (double)sets[s].natoms * (double)((p->rows + sc - 1) / sc) * (double)((p->cols + sc - 1) / sc);
  }

#define PK(a, ch, i, j) ((a)[((ch) * b.nr + (i)) * b.nc + (j)])
  /* Start: the warm start projected on the lattices (and z >= 0). */
  double sum[6];
  sum[1] = 0;
  for (int s = 0; s < nsets; s++)
    for (int64_t m = 0; m < sets[s].natoms; m++)
      for (int64_t i = 0; i < b.nr; i++)
        for (int64_t j = 0; j < b.nc; j++) {
          float val = on_lattice(b.r0 + i, b.c0 + j, sets[s].scale) ? HCSC_TILE_AT(&codes[s], m, i, j) : 0.0f;
          if (o->nonneg && val < 0) val = 0;
          PK(zk[s], m, i, j) = PK(yk[s], m, i, j) = HCSC_TILE_AT(&v[s], m, i, j) = val;
          sum[1] += fabs((double)val);
        }
  HCSC_CHECK(ms_synth(p, v, &res));
  sum[0] = 0;
  for (int64_t c = 0; c < C; c++)
    for (int64_t i = 0; i < b.nr; i++)
      for (int64_t j = 0; j < b.nc; j++) {
        const float a = HCSC_TILE_AT(&res, c, i, j);
        PK(az, c, i, j) = PK(ay, c, i, j) = a;
        const double e = (double)a - HCSC_TILE_AT(x, c, i, j);
        sum[0] += e * e;
      }
  HCSC_CHECK(hcsc_grid_allreduce(g, HCSC_SCOPE_ALL, sum, 2, MPI_DOUBLE, MPI_SUM));
  obj[0] = 0.5 * sum[0] + o->lambda * sum[1];

  double t = 1;
  int iter = 0, restarts = 0;
  for (iter = 0; iter < o->iters;) {
    hcsc_timer_start(HCSC_PHASE_COMPUTE);
    for (int64_t c = 0; c < C; c++)
      for (int64_t i = 0; i < b.nr; i++)
        for (int64_t j = 0; j < b.nc; j++)
          HCSC_TILE_AT(&res, c, i, j) = PK(ay, c, i, j) - HCSC_TILE_AT(x, c, i, j);
    hcsc_timer_stop(HCSC_PHASE_COMPUTE);
    HCSC_CHECK(ms_analysis(p, &res, gr));

    /* Off the lattices y and the gradient are 0, so z stays 0 there. */
    double dz2 = 0, z2 = 0, rs = 0, nz = 0, l1 = 0;
    hcsc_timer_start(HCSC_PHASE_COMPUTE);
    for (int s = 0; s < nsets; s++)
      for (int64_t m = 0; m < sets[s].natoms; m++)
        for (int64_t i = 0; i < b.nr; i++)
          for (int64_t j = 0; j < b.nc; j++) {
            const float y = PK(yk[s], m, i, j);
            const float u = y - step * HCSC_TILE_AT(&gr[s], m, i, j);
            float zn;
            if (o->nonneg)
              zn = u > thr ? u - thr : 0.0f;
            else
              zn = u > thr ? u - thr : (u < -thr ? u + thr : 0.0f);
            const double dz = (double)zn - PK(zk[s], m, i, j);
            dz2 += dz * dz;
            z2 += (double)zn * zn;
            rs += ((double)y - zn) * dz;
            l1 += fabs((double)zn);
            nz += zn != 0;
            HCSC_TILE_AT(&v[s], m, i, j) = zn;
          }
    hcsc_timer_stop(HCSC_PHASE_COMPUTE);
    HCSC_CHECK(ms_synth(p, v, &res));
    double r2 = 0;
    hcsc_timer_start(HCSC_PHASE_COMPUTE);
    for (int64_t c = 0; c < C; c++)
      for (int64_t i = 0; i < b.nr; i++)
        for (int64_t j = 0; j < b.nc; j++) {
          const double e = (double)HCSC_TILE_AT(&res, c, i, j) - HCSC_TILE_AT(x, c, i, j);
          r2 += e * e;
        }
    hcsc_timer_stop(HCSC_PHASE_COMPUTE);
    sum[0] = r2;
    sum[1] = l1;
    sum[2] = dz2;
    sum[3] = z2;
    sum[4] = rs;
    sum[5] = nz;
    HCSC_CHECK(hcsc_grid_allreduce(g, HCSC_SCOPE_ALL, sum, 6, MPI_DOUBLE, MPI_SUM));
    iter++;
    obj[iter] = 0.5 * sum[0] + o->lambda * sum[1];

    const double beta = o->solver == HCSC_PURSUIT_FISTA ? hcsc_fista_beta(sum[4] > 0, &t, &restarts) : 0;
    hcsc_timer_start(HCSC_PHASE_COMPUTE);
    for (int s = 0; s < nsets; s++) hcsc_fista_momentum(&v[s], v[s].nchan, (float)beta, yk[s], zk[s]);
    hcsc_fista_momentum(&res, res.nchan, (float)beta, ay, az);
    hcsc_timer_stop(HCSC_PHASE_COMPUTE);
    const double rel = sum[3] > 0 ? sqrt(sum[2] / sum[3]) : (sum[2] > 0 ? INFINITY : 0);
    if (o->monitor && o->monitor(o->monitor_ctx, iter, obj[iter], sum[5] / npts, rel)) break;
    if (o->tol > 0 && sqrt(sum[2]) <= o->tol * sqrt(sum[3])) break;
  }

  double nnz = 0;
  for (int s = 0; s < nsets; s++)
    for (int64_t m = 0; m < sets[s].natoms; m++)
      for (int64_t i = 0; i < b.nr; i++)
        for (int64_t j = 0; j < b.nc; j++) {
          HCSC_TILE_AT(&codes[s], m, i, j) = PK(zk[s], m, i, j);
          nnz += PK(zk[s], m, i, j) != 0;
        }
#undef PK
  HCSC_CHECK(hcsc_grid_allreduce(g, HCSC_SCOPE_ALL, &nnz, 1, MPI_DOUBLE, MPI_SUM));
  if (st) {
    st->iters = iter;
    st->restarts = restarts;
    st->lipschitz = L;
    st->sparsity = nnz / npts;
    st->objective = obj;
    obj = NULL;
  }

cleanup:
  hcsc_ms_op_destroy(&p);
  for (int s = 0; s < MS_MAX_SETS; s++) {
    hcsc_tile_free(&v[s]);
    hcsc_tile_free(&gr[s]);
    free(zk[s]);
    free(yk[s]);
  }
  hcsc_tile_free(&res);
  free(az);
  free(ay);
  free(obj);
  return hcsc_error_agree(comm, err);
}
