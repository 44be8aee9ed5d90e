/* hypercsc — TEMPORARY minimal grid for the I/O branch.
 *
 * TEMPORARY: this file exists only so that the scene I/O layer can be built
 * and tested before the real src/grid lands (another branch).  It
 * implements the block partition, the Cartesian grid over {G, P, Q} and
 * tile allocation; no halo exchange.  It is dropped at merge. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hcsc/error.h"
#include "hcsc/grid.h"
#include "hcsc/timer.h"

struct hcsc_grid {
  MPI_Comm comm, spectral, spatial;
  int rank, size, dims[3], coords[3];
  int64_t bands, rows, cols;
};

void hcsc_partition(int64_t n, int p, int i, int64_t *start, int64_t *count)
{
  int64_t q = n / p, r = n % p;
  *count = q + (i < r ? 1 : 0);
  *start = i * q + (i < r ? i : r);
}

int hcsc_partition_owner(int64_t n, int p, int64_t idx)
{
  int64_t q = n / p, r = n % p;
  if (idx < r * (q + 1)) return (int)(idx / (q + 1));
  return (int)(r + (idx - r * (q + 1)) / q);
}

int64_t hcsc_mirror_index(int64_t x, int64_t n)
{
  int64_t m = x % (2 * n);
  if (m < 0) m += 2 * n;
  return m < n ? m : 2 * n - 1 - m;
}

int hcsc_grid_parse(const char *spec, int dims[3])
{
  int a = 0, b = 0, c = 0, k;
  char tail;
  k = sscanf(spec, "%dx%dx%d%c", &a, &b, &c, &tail);
  if (k == 3 && a >= 0 && b >= 0 && c >= 0) {
    dims[0] = a, dims[1] = b, dims[2] = c;
    return 0;
  }
  k = sscanf(spec, "%dx%d%c", &a, &b, &tail);
  if (k == 2 && a >= 0 && b >= 0) {
    dims[0] = 1, dims[1] = a, dims[2] = b;
    return 0;
  }
  return HCSC_ERR(HCSC_EINVAL, "--grid %s: expected GxPxQ or PxQ", spec);
}

int hcsc_grid_create(MPI_Comm comm, int64_t bands, int64_t rows, int64_t cols, const int dims[3],
                     hcsc_grid **out)
{
  int err = 0, size, d[3] = {0, 0, 0}, periods[3] = {0, 0, 0};
  hcsc_grid *g = NULL;
  *out = NULL;
  MPI_Comm_size(comm, &size);
  if (dims) memcpy(d, dims, sizeof d);
  if (!d[0]) d[0] = 1;
  if (size % d[0]) HCSC_FAIL(HCSC_EINVAL, "grid: %d spectral groups do not divide %d ranks", d[0], size);
  int n = size / d[0];
  if (!d[1] && !d[2]) {
    /* Smallest perimeter P*cols + Q*rows among tiles that fit. */
    double best = -1;
    for (int p = 1; p <= n; p++) {
      if (n % p) continue;
      int q = n / p;
      if (p > rows || q > cols) continue;
      double cost = (double)rows / p + (double)cols / q;
      if (best < 0 || cost < best) best = cost, d[1] = p, d[2] = q;
    }
    if (best < 0) d[1] = n, d[2] = 1;
  } else if (!d[1]) {
    d[1] = d[2] && n % d[2] == 0 ? n / d[2] : 0;
  } else if (!d[2]) {
    d[2] = n % d[1] == 0 ? n / d[1] : 0;
  }
  if ((int64_t)d[0] * d[1] * d[2] != size)
    HCSC_FAIL(HCSC_EINVAL, "grid %dx%dx%d does not match %d ranks", d[0], d[1], d[2], size);
  if (d[0] > bands || d[1] > rows || d[2] > cols)
    HCSC_FAIL(HCSC_EINVAL, "grid %dx%dx%d has more blocks than the %lldx%lldx%lld scene", d[0], d[1],
              d[2], (long long)bands, (long long)rows, (long long)cols);
cleanup:
  err = hcsc_error_agree(comm, err);
  if (err) return err;
  g = calloc(1, sizeof *g);
  if (!g) err = HCSC_ERR(HCSC_ENOMEM, "out of memory creating grid");
  err = hcsc_error_agree(comm, err);
  if (err) {
    free(g);
    return err;
  }
  memcpy(g->dims, d, sizeof d);
  g->bands = bands, g->rows = rows, g->cols = cols;
  MPI_Cart_create(comm, 3, d, periods, 0, &g->comm);
  MPI_Comm_rank(g->comm, &g->rank);
  MPI_Comm_size(g->comm, &g->size);
  MPI_Cart_coords(g->comm, g->rank, 3, g->coords);
  int keep_spec[3] = {1, 0, 0}, keep_spat[3] = {0, 1, 1};
  MPI_Cart_sub(g->comm, keep_spec, &g->spectral);
  MPI_Cart_sub(g->comm, keep_spat, &g->spatial);
  *out = g;
  return 0;
}

void hcsc_grid_destroy(hcsc_grid **g)
{
  if (!g || !*g) return;
  MPI_Comm_free(&(*g)->spectral);
  MPI_Comm_free(&(*g)->spatial);
  MPI_Comm_free(&(*g)->comm);
  free(*g);
  *g = NULL;
}

MPI_Comm hcsc_grid_comm(const hcsc_grid *g) { return g->comm; }
MPI_Comm hcsc_grid_spectral_comm(const hcsc_grid *g) { return g->spectral; }
MPI_Comm hcsc_grid_spatial_comm(const hcsc_grid *g) { return g->spatial; }
int hcsc_grid_rank(const hcsc_grid *g) { return g->rank; }
int hcsc_grid_size(const hcsc_grid *g) { return g->size; }
void hcsc_grid_dims(const hcsc_grid *g, int dims[3]) { memcpy(dims, g->dims, sizeof g->dims); }
void hcsc_grid_coords(const hcsc_grid *g, int coords[3]) { memcpy(coords, g->coords, sizeof g->coords); }

void hcsc_grid_scene(const hcsc_grid *g, int64_t *bands, int64_t *rows, int64_t *cols)
{
  if (bands) *bands = g->bands;
  if (rows) *rows = g->rows;
  if (cols) *cols = g->cols;
}

static hcsc_box box_at(const hcsc_grid *g, const int c[3])
{
  hcsc_box b;
  hcsc_partition(g->bands, g->dims[0], c[0], &b.b0, &b.nb);
  hcsc_partition(g->rows, g->dims[1], c[1], &b.r0, &b.nr);
  hcsc_partition(g->cols, g->dims[2], c[2], &b.c0, &b.nc);
  return b;
}

hcsc_box hcsc_grid_box(const hcsc_grid *g) { return box_at(g, g->coords); }

hcsc_box hcsc_grid_box_of(const hcsc_grid *g, int rank)
{
  int c[3];
  MPI_Cart_coords(g->comm, rank, 3, c);
  return box_at(g, c);
}

int hcsc_grid_rank_at(const hcsc_grid *g, int gi, int pi, int qi)
{
  int c[3] = {gi, pi, qi}, r = -1;
  MPI_Cart_rank(g->comm, c, &r);
  return r;
}

int hcsc_grid_owner(const hcsc_grid *g, int64_t band, int64_t row, int64_t col)
{
  return hcsc_grid_rank_at(g, hcsc_partition_owner(g->bands, g->dims[0], band),
                           hcsc_partition_owner(g->rows, g->dims[1], row),
                           hcsc_partition_owner(g->cols, g->dims[2], col));
}

int hcsc_grid_allreduce(const hcsc_grid *g, hcsc_scope scope, void *buf, int count,
                        MPI_Datatype type, MPI_Op op)
{
  int err = 0;
  MPI_Comm c = scope == HCSC_SCOPE_SPECTRAL ? g->spectral
               : scope == HCSC_SCOPE_SPATIAL ? g->spatial : g->comm;
  hcsc_timer_start(HCSC_PHASE_REDUCE);
  HCSC_MPI(MPI_Allreduce(MPI_IN_PLACE, buf, count, type, op, c));
cleanup:
  hcsc_timer_stop(HCSC_PHASE_REDUCE);
  return err;
}

int hcsc_tile_alloc(hcsc_tile *t, const hcsc_box *box, int64_t nchan, int halo)
{
  int err = 0;
  memset(t, 0, sizeof *t);
  t->box = *box;
  t->nchan = nchan;
  t->halo = halo;
  t->ldr = box->nr + 2 * halo;
  t->ldc = box->nc + 2 * halo;
  HCSC_CALLOC(t->data, nchan * t->ldr * t->ldc);
cleanup:
  return err;
}

void hcsc_tile_free(hcsc_tile *t)
{
  if (!t) return;
  free(t->data);
  t->data = NULL;
}
