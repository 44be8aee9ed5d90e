/* hypercsc — training sets: scenes read distributed over a grid, held-out
 * rows, clean ranges, and the assembly of patches from the tiles that hold
 * them (one MPI_Alltoallv per batch). */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hcsc/error.h"
#include "hcsc/noise.h"
#include "hcsc/pca.h"
#include "hcsc/timer.h"
#include "nn/train_impl.h"

uint64_t nn_mix(uint64_t a, uint64_t b, uint64_t c)
{
  uint64_t z = a;
  const uint64_t in[2] = {b, c};
  for (int i = 0; i < 3; i++) {
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    if (i < 2) z ^= in[i] * 0xd6e8feb86659fd93ULL;
  }
  return z;
}

/* See train.h.  Collective on comm. */
int hcsc_train_set_open(MPI_Comm comm, const char *const *paths, int n, const int dims[3],
                        double holdout, hcsc_train_set **out)
{
  int err = 0;
  hcsc_train_set *s = NULL;
  if (!paths || n < 1 || !out || !(holdout >= 0 && holdout < 1))
    err = HCSC_ERR(HCSC_EINVAL, "hcsc_train_set_open: need at least one scene and 0 <= holdout < 1");
  HCSC_CHECK(hcsc_error_agree(comm, err));
  *out = NULL;
  s = calloc(1, sizeof *s);
  if (s) {
    s->comm = comm;
    s->n = n;
    s->paths = calloc((size_t)n, sizeof *s->paths);
    s->scenes = calloc((size_t)n, sizeof *s->scenes);
    s->grids = calloc((size_t)n, sizeof *s->grids);
    s->tiles = calloc((size_t)n, sizeof *s->tiles);
    s->train_rows = calloc((size_t)n, sizeof *s->train_rows);
    s->lo = calloc((size_t)n, sizeof *s->lo);
    s->range = calloc((size_t)n, sizeof *s->range);
  }
  if (!s || !s->paths || !s->scenes || !s->grids || !s->tiles || !s->train_rows || !s->lo || !s->range)
    err = HCSC_ERR(HCSC_ENOMEM, "training set: out of memory");
  for (int i = 0; !err && i < n; i++)
    if (!(s->paths[i] = strdup(paths[i]))) err = HCSC_ERR(HCSC_ENOMEM, "training set: out of memory");
  HCSC_CHECK(hcsc_error_agree(comm, err));
  MPI_Comm_rank(comm, &s->rank);
  MPI_Comm_size(comm, &s->size);
  for (int i = 0; i < n; i++) {
    HCSC_CHECK(hcsc_scene_open(comm, paths[i], &s->scenes[i]));
    const hcsc_meta *m = hcsc_scene_meta(s->scenes[i]), *m0 = hcsc_scene_meta(s->scenes[0]);
    if (m->bands != m0->bands)
      HCSC_FAIL(HCSC_ESIZE, "%s has %lld bands but %s has %lld: all scenes need the same band count",
                paths[i], (long long)m->bands, paths[0], (long long)m0->bands);
    s->train_rows[i] = m->rows - (int64_t)floor(holdout * (double)m->rows);
    HCSC_CHECK(hcsc_grid_create(comm, m->bands, m->rows, m->cols, dims, &s->grids[i]));
    HCSC_CHECK(hcsc_scene_load(s->scenes[i], NULL, s->grids[i], 0, &s->tiles[i]));
    {
      /* Checked once here: a NaN or an infinity would poison every step. */
      const hcsc_tile *t = &s->tiles[i];
      int64_t bad = 0;
      for (int64_t c = 0; c < t->nchan && !bad; c++)
        for (int64_t r = 0; r < t->box.nr && !bad; r++)
          for (int64_t q = 0; q < t->box.nc; q++)
            if (!isfinite(HCSC_TILE_AT(t, c, r, q))) {
              bad = 1;
              break;
            }
      if (bad)
        err = HCSC_ERR(HCSC_EVALUE, "%s: non-finite values (NaN, nodata or infinity) in a training scene",
                       paths[i]);
      HCSC_CHECK(hcsc_error_agree(comm, err));
    }
    {
      double mm[2];
      HCSC_CHECK(hcsc_noise_minmax(comm, &s->tiles[i], mm));
      s->lo[i] = mm[0];
      s->range[i] = mm[1] - mm[0] > 0 ? mm[1] - mm[0] : 1.0;
    }
  }
  s->bands = hcsc_scene_meta(s->scenes[0])->bands;
  *out = s;
  s = NULL;
cleanup:
  hcsc_train_set_destroy(&s);
  return hcsc_error_agree(comm, err);
}

void hcsc_train_set_destroy(hcsc_train_set **ps)
{
  hcsc_train_set *s = ps ? *ps : NULL;
  if (!s) return;
  for (int i = 0; i < s->n; i++) {
    if (s->tiles) hcsc_tile_free(&s->tiles[i]);
    if (s->grids) hcsc_grid_destroy(&s->grids[i]);
    if (s->scenes) hcsc_scene_close(&s->scenes[i]);
    if (s->paths) free(s->paths[i]);
  }
  free(s->tiles);
  free(s->grids);
  free(s->scenes);
  free(s->paths);
  free(s->train_rows);
  free(s->lo);
  free(s->range);
  free(s);
  *ps = NULL;
}

int hcsc_train_set_count(const hcsc_train_set *s) { return s->n; }
int64_t hcsc_train_set_bands(const hcsc_train_set *s) { return s->bands; }
const hcsc_meta *hcsc_train_set_meta(const hcsc_train_set *s, int i) { return hcsc_scene_meta(s->scenes[i]); }
int64_t hcsc_train_set_rows(const hcsc_train_set *s, int i) { return s->train_rows[i]; }

/* See train.h.  Collective on the set's comm. */
int hcsc_train_set_basis(hcsc_train_set *s, int r, double **basis)
{
  int err = 0;
  hcsc_pca p;
  memset(&p, 0, sizeof p);
  *basis = NULL;
  if (r < 1 || r > s->bands)
    err = HCSC_ERR(HCSC_EINVAL, "%s: rank %d must be in 1..%lld (its bands)", s->paths[0], r,
                   (long long)s->bands);
  HCSC_CHECK(hcsc_error_agree(s->comm, err));
  HCSC_CHECK(hcsc_pca_compute(s->grids[0], &s->tiles[0], HCSC_EIG_AUTO, &p));
  if (!(*basis = malloc((size_t)r * (size_t)s->bands * sizeof(double))))
    err = HCSC_ERR(HCSC_ENOMEM, "training set: out of memory for the PCA basis");
  else
    memcpy(*basis, p.components, (size_t)r * (size_t)s->bands * sizeof(double));
  err = hcsc_error_agree(s->comm, err);
cleanup:
  hcsc_pca_free(&p);
  return err;
}

/* Intersection of a tile box with patch q's box (all bands): 0 when empty. */
static int part_of(const hcsc_box *t, const nn_patch_req *q, hcsc_box *o)
{
  const int64_t r0 = t->r0 > q->r0 ? t->r0 : q->r0, c0 = t->c0 > q->c0 ? t->c0 : q->c0;
  const int64_t r1 = t->r0 + t->nr < q->r0 + q->nr ? t->r0 + t->nr : q->r0 + q->nr;
  const int64_t c1 = t->c0 + t->nc < q->c0 + q->nc ? t->c0 + t->nc : q->c0 + q->nc;
  if (r1 <= r0 || c1 <= c0 || t->nb < 1) return 0;
  *o = (hcsc_box){t->b0, t->nb, r0, r1 - r0, c0, c1 - c0};
  return 1;
}

static int64_t box_count(const hcsc_box *b) { return b->nb * b->nr * b->nc; }

/* Counts, displacements, buffers and the packed parts of nn_set_fetch
 * (local: the caller agrees on the outcome before the collective). */
typedef struct {
  int *scnt, *sdsp, *rcnt, *rdsp;
  float *sbuf, *rbuf;
} fetch_plan;

static int fetch_prep(hcsc_train_set *s, const nn_patch_req *req, int nreq, hcsc_tile *out, fetch_plan *f)
{
  int err = 0;
  const int P = s->size, me = s->rank;
  int64_t ns = 0, nr = 0, *pos = NULL;
  hcsc_box part;
  HCSC_CALLOC(f->scnt, P);
  HCSC_CALLOC(f->sdsp, P);
  HCSC_CALLOC(f->rcnt, P);
  HCSC_CALLOC(f->rdsp, P);
  HCSC_CALLOC(pos, P);
  /* Sizes: what this rank sends to each destination, what it receives from
   * each source (the layout of every rank's box is known from the grid). */
  for (int q = 0; q < nreq; q++) {
    const hcsc_grid *g = s->grids[req[q].scene];
    hcsc_box mine = hcsc_grid_box(g);
    if (part_of(&mine, &req[q], &part)) f->scnt[req[q].dest] += (int)box_count(&part);
    if (req[q].dest == me) {
      HCSC_CHECK(hcsc_tile_alloc(&out[q], &(hcsc_box){0, s->bands, 0, req[q].nr, 0, req[q].nc}, s->bands, 0));
      for (int p = 0; p < P; p++) {
        hcsc_box bp = hcsc_grid_box_of(g, p);
        if (part_of(&bp, &req[q], &part)) f->rcnt[p] += (int)box_count(&part);
      }
    }
  }
  for (int p = 0; p < P; p++) {
    f->sdsp[p] = (int)ns, ns += f->scnt[p];
    f->rdsp[p] = (int)nr, nr += f->rcnt[p];
    pos[p] = f->sdsp[p];
  }
  HCSC_CALLOC(f->sbuf, ns);
  HCSC_CALLOC(f->rbuf, nr);
  /* Pack by destination, patches in request order. */
  for (int q = 0; q < nreq; q++) {
    const hcsc_tile *t = &s->tiles[req[q].scene];
    if (!part_of(&t->box, &req[q], &part)) continue;
    float *w = f->sbuf + pos[req[q].dest];
    for (int64_t b = 0; b < part.nb; b++)
      for (int64_t r = 0; r < part.nr; r++) {
        memcpy(w, &HCSC_TILE_AT(t, b, part.r0 - t->box.r0 + r, part.c0 - t->box.c0),
               (size_t)part.nc * sizeof(float));
        w += part.nc;
      }
    pos[req[q].dest] += box_count(&part);
  }
cleanup:
  free(pos);
  return err;
}

/* See train_impl.h.  Collective on the set's comm. */
int nn_set_fetch(hcsc_train_set *s, const nn_patch_req *req, int nreq, hcsc_tile *out)
{
  int err = 0;
  const int P = s->size, me = s->rank;
  fetch_plan f;
  hcsc_box part;
  memset(&f, 0, sizeof f);
  HCSC_CHECK(hcsc_error_agree(s->comm, fetch_prep(s, req, nreq, out, &f)));
  hcsc_timer_start(HCSC_PHASE_HALO);
  err = MPI_Alltoallv(f.sbuf, f.scnt, f.sdsp, MPI_FLOAT, f.rbuf, f.rcnt, f.rdsp, MPI_FLOAT, s->comm);
  hcsc_timer_stop(HCSC_PHASE_HALO);
  if (err != MPI_SUCCESS) {
    err = hcsc_error_mpi(err, __FILE__, __LINE__, "MPI_Alltoallv");
    goto cleanup;
  }
  for (int p = 0; p < P; p++) {
    const float *rd = f.rbuf + f.rdsp[p];
    for (int q = 0; q < nreq; q++) {
      if (req[q].dest != me) continue;
      hcsc_box bp = hcsc_grid_box_of(s->grids[req[q].scene], p);
      if (!part_of(&bp, &req[q], &part)) continue;
      for (int64_t b = 0; b < part.nb; b++)
        for (int64_t r = 0; r < part.nr; r++) {
          memcpy(&HCSC_TILE_AT(&out[q], part.b0 + b, part.r0 - req[q].r0 + r, part.c0 - req[q].c0), rd,
                 (size_t)part.nc * sizeof(float));
          rd += part.nc;
        }
    }
  }
cleanup:
  free(f.sbuf);
  free(f.rbuf);
  free(f.scnt);
  free(f.sdsp);
  free(f.rcnt);
  free(f.rdsp);
  err = hcsc_error_agree(s->comm, err);
  if (err)
    for (int q = 0; q < nreq; q++) hcsc_tile_free(&out[q]);
  return err;
}
