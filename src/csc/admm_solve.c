/* Distributed ADMM CBPDN (hcsc_admm_solve, hcsc/admm.h).
 *
 * Each rank solves on its tile grown by `overlap` pixels on each side and
 * then to an FFT-friendly size (the extra goes on the bottom/right side).
 * The grown region is read from tiles with a halo wide enough for the
 * largest growth on any rank (hcsc_halo_create wants one width everywhere),
 * filled by hcsc_halo_exchange: neighbours' pixels, from ranks further away
 * when a tile is narrower than the overlap, and the mirror image at the
 * scene edge.  The same construction on 1 rank pads the whole scene by the
 * mirror, so decompositions differ only by the circular wrap of each
 * region at interior tile boundaries.
 *
 * The final objective is that of the kept codes under the project's exact
 * operator (hcsc_conv, symmetric scene edge), so it can be compared with
 * ISTA/FISTA's. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "csc/admm_impl.h"
#include "hcsc/conv.h"
#include "hcsc/error.h"
#include "hcsc/timer.h"

static int check_args(const hcsc_grid *g, const hcsc_dict *d, const hcsc_tile *x, const hcsc_tile *z,
                      const hcsc_admm_opts *o)
{
  int err = 0;
  int dims[3];
  if (!d || !x || !z || !o || !d->atoms || !x->data || !z->data)
    HCSC_FAIL(HCSC_EINVAL, "admm: missing dictionary, tile or options");
  hcsc_grid_dims(g, dims);
  if (dims[0] != 1) HCSC_FAIL(HCSC_ENOTSUP, "admm: grids with band slices (G = %d) not supported", dims[0]);
  if (!(o->lambda > 0) || !isfinite(o->lambda))
    HCSC_FAIL(HCSC_EINVAL, "admm: lambda must be a finite value > 0 (got %g)", o->lambda);
  if (d->scale != 1) HCSC_FAIL(HCSC_ENOTSUP, "admm: dictionary scale %d (only 1)", d->scale);
  if (d->nchan != x->nchan)
    HCSC_FAIL(HCSC_EINVAL, "admm: dictionary has %d channels, scene tile %lld", d->nchan,
              (long long)x->nchan);
  if (d->natoms != z->nchan)
    HCSC_FAIL(HCSC_EINVAL, "admm: dictionary has %d atoms, code tile %lld channels", d->natoms,
              (long long)z->nchan);
  hcsc_box gb = hcsc_grid_box(g);
  if (!hcsc_box_same_area(&gb, &x->box) || !hcsc_box_same_area(&gb, &z->box))
    HCSC_FAIL(HCSC_EINVAL, "admm: scene or code tile is not this rank's box of the grid");
  if (o->mask) {
    if (!o->mask->data || !hcsc_box_same_area(&gb, &o->mask->box))
      HCSC_FAIL(HCSC_EINVAL, "admm: mask tile is not on this rank's box (%lld x %lld at %lld,%lld)",
                (long long)o->mask->box.nr, (long long)o->mask->box.nc, (long long)o->mask->box.r0,
                (long long)o->mask->box.c0);
    if (o->mask->nchan != 1 && o->mask->nchan != x->nchan)
      HCSC_FAIL(HCSC_EINVAL, "admm: mask has %lld channels (1 or %lld expected)", (long long)o->mask->nchan,
                (long long)x->nchan);
    for (int64_t c = 0; c < o->mask->nchan; c++)
      for (int64_t i = 0; i < gb.nr; i++)
        for (int64_t j = 0; j < gb.nc; j++) {
          const float w = HCSC_TILE_AT(o->mask, c, i, j);
          if (!(w >= 0 && w <= 1))
            HCSC_FAIL(HCSC_EVALUE, "admm: mask value %g outside [0, 1] at row %lld, col %lld", w,
                      (long long)(gb.r0 + i), (long long)(gb.c0 + j));
        }
  }
  for (int64_t c = 0; c < x->nchan; c++)
    for (int64_t i = 0; i < x->box.nr; i++)
      for (int64_t j = 0; j < x->box.nc; j++)
        if (!isfinite(HCSC_TILE_AT(x, c, i, j)))
          HCSC_FAIL(HCSC_EVALUE, "admm: non-finite value in the scene at band %lld, row %lld, col %lld",
                    (long long)c, (long long)(x->box.r0 + i), (long long)(x->box.c0 + j));
cleanup:
  return err;
}

/* Copy the interior of src into a halo-hw tile, exchange, and pack the
 * region rows [-ov, R - ov), cols [-ov, Q - ov) into out (nchan x R x Q). */
static int grow(const hcsc_grid *g, const hcsc_tile *src, int hw, int ov, int R, int Q, hcsc_tile *t,
                float *out)
{
  int err = 0;
  hcsc_halo *h = NULL;
  const hcsc_box b = src->box;
  HCSC_CHECK(hcsc_halo_create(g, hw, src->nchan, &h));
  for (int64_t c = 0; c < src->nchan; c++)
    for (int64_t i = 0; i < b.nr; i++)
      memcpy(&HCSC_TILE_AT(t, c, i, 0), &HCSC_TILE_AT(src, c, i, 0), sizeof(float) * (size_t)b.nc);
  HCSC_CHECK(hcsc_halo_exchange(h, t));
  for (int64_t c = 0; c < src->nchan; c++)
    for (int64_t i = 0; i < R; i++)
      memcpy(out + (c * R + i) * Q, &HCSC_TILE_AT(t, c, i - ov, -ov), sizeof(float) * (size_t)Q);
cleanup:
  hcsc_halo_destroy(&h);
  return err;
}

/* Objective of z (interior) under hcsc_conv, with the mask's weights, and
 * the fraction of nonzero codes.  Collective on the grid's comm. */
static int exact_objective(const hcsc_grid *g, const hcsc_dict *d, const hcsc_tile *x, const hcsc_tile *z,
                           const hcsc_admm_opts *o, double *obj, double *sparsity)
{
  int err = 0;
  hcsc_conv *op = NULL;
  hcsc_halo *h = NULL;
  hcsc_tile zt, r;
  int64_t bands, rows, cols;
  memset(&zt, 0, sizeof zt);
  memset(&r, 0, sizeof r);
  hcsc_grid_scene(g, &bands, &rows, &cols);
  const hcsc_box b = x->box;
  err = hcsc_conv_create(d, &b, rows, cols, HCSC_CONV_AUTO, &op);
  int hw = 1;
  if (!err) {
    hw = hcsc_conv_halo(op) > 0 ? hcsc_conv_halo(op) : 1;
    err = hcsc_tile_alloc(&zt, &b, d->natoms, hw);
  }
  if (!err) err = hcsc_tile_alloc(&r, &b, d->nchan, 0);
  HCSC_CHECK(hcsc_error_agree(hcsc_grid_comm(g), err));
  HCSC_CHECK(hcsc_halo_create(g, hw, d->natoms, &h));
  double sum[3] = {0, 0, 0};
  for (int64_t m = 0; m < d->natoms; m++)
    for (int64_t i = 0; i < b.nr; i++)
      for (int64_t j = 0; j < b.nc; j++) {
        const float v = HCSC_TILE_AT(z, m, i, j);
        HCSC_TILE_AT(&zt, m, i, j) = v;
        sum[1] += fabs((double)v);
        sum[2] += v != 0;
      }
  HCSC_CHECK(hcsc_halo_exchange(h, &zt));
  HCSC_CHECK(hcsc_conv_synth(op, &zt, &r));
  hcsc_timer_start(HCSC_PHASE_COMPUTE);
  for (int64_t c = 0; c < d->nchan; c++)
    for (int64_t i = 0; i < b.nr; i++)
      for (int64_t j = 0; j < b.nc; j++) {
        const double w = o->mask ? HCSC_TILE_AT(o->mask, o->mask->nchan == 1 ? 0 : c, i, j) : 1.0;
        const double e = w * ((double)HCSC_TILE_AT(&r, c, i, j) - HCSC_TILE_AT(x, c, i, j));
        sum[0] += e * e;
      }
  hcsc_timer_stop(HCSC_PHASE_COMPUTE);
  HCSC_CHECK(hcsc_grid_allreduce(g, HCSC_SCOPE_ALL, sum, 3, MPI_DOUBLE, MPI_SUM));
  *obj = 0.5 * sum[0] + o->lambda * sum[1];
  *sparsity = sum[2] / ((double)d->natoms * (double)rows * (double)cols);
cleanup:
  hcsc_halo_destroy(&h);
  hcsc_conv_destroy(&op);
  hcsc_tile_free(&zt);
  hcsc_tile_free(&r);
  return err;
}

int hcsc_admm_solve(const hcsc_grid *g, const hcsc_dict *d, const hcsc_tile *x, hcsc_tile *z,
                    const hcsc_admm_opts *o, hcsc_admm_stats *st)
{
  int err = 0;
  hcsc_admm_plan *plan = NULL;
  hcsc_tile xt, zt, mt;
  float *xr = NULL, *zr = NULL, *mr = NULL;
  memset(&xt, 0, sizeof xt);
  memset(&zt, 0, sizeof zt);
  memset(&mt, 0, sizeof mt);
  if (st) memset(st, 0, sizeof *st);
  if (!g) return HCSC_ERR(HCSC_EINVAL, "admm: no grid");
  MPI_Comm comm = hcsc_grid_comm(g);

  err = check_args(g, d, x, z, o);
  if (!err) {
    /* Options are checked by plan_create too, but only after the agreement
     * below would be too late for the halo width. */
    hcsc_admm_plan *probe = NULL;
    err = hcsc_admm_plan_create(d, 1, 1, o, &probe);
    hcsc_admm_plan_destroy(&probe);
  }
  HCSC_CHECK(hcsc_error_agree(comm, err));

  const hcsc_box b = x->box;
  const int ov = o->overlap;
  const int R = hcsc_admm_good_size((int)b.nr + 2 * ov), Q = hcsc_admm_good_size((int)b.nc + 2 * ov);
  const int C = d->nchan, M = d->natoms, nmask = o->mask ? (int)o->mask->nchan : 0;
  int hw = R - (int)b.nr - ov;
  if (Q - (int)b.nc - ov > hw) hw = Q - (int)b.nc - ov;
  if (ov > hw) hw = ov;
  HCSC_CHECK(hcsc_grid_allreduce(g, HCSC_SCOPE_ALL, &hw, 1, MPI_INT, MPI_MAX));
  if (hw < 1) hw = 1;

  err = hcsc_tile_alloc(&xt, &b, C, hw);
  if (!err) err = hcsc_tile_alloc(&zt, &b, M, hw);
  if (!err && nmask) err = hcsc_tile_alloc(&mt, &b, nmask, hw);
  if (!err) {
    xr = malloc(sizeof(float) * (size_t)C * R * Q);
    zr = malloc(sizeof(float) * (size_t)M * R * Q);
    if (nmask) mr = malloc(sizeof(float) * (size_t)nmask * R * Q);
    if (!xr || !zr || (nmask && !mr))
      err = HCSC_ERR(HCSC_ENOMEM, "admm: out of memory for a %d x %d region", R, Q);
  }
  if (!err) err = hcsc_admm_plan_create(d, R, Q, o, &plan);
  HCSC_CHECK(hcsc_error_agree(comm, err));

  HCSC_CHECK(grow(g, x, hw, ov, R, Q, &xt, xr));
  HCSC_CHECK(grow(g, z, hw, ov, R, Q, &zt, zr));
  if (nmask) HCSC_CHECK(grow(g, o->mask, hw, ov, R, Q, &mt, mr));

  hcsc_admm_stats s;
  HCSC_CHECK(hcsc_admm_plan_iterate(plan, xr, mr, nmask, zr, comm, &s));
  for (int64_t m = 0; m < M; m++)
    for (int64_t i = 0; i < b.nr; i++)
      memcpy(&HCSC_TILE_AT(z, m, i, 0), zr + (m * R + i + ov) * Q + ov, sizeof(float) * (size_t)b.nc);

  double obj = 0, sp = 0;
  HCSC_CHECK(exact_objective(g, d, x, z, o, &obj, &sp));
  if (st) {
    *st = s;
    st->objective = obj;
    st->sparsity = sp;
  }

cleanup:
  hcsc_admm_plan_destroy(&plan);
  hcsc_tile_free(&xt);
  hcsc_tile_free(&zt);
  hcsc_tile_free(&mt);
  free(xr);
  free(zr);
  free(mr);
  return hcsc_error_agree(comm, err);
}
