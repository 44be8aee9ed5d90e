/* hypercsc — the Cartesian grid of ranks over a scene: communicators,
 * boxes, owners and reductions. */
#include "config.h"

#include <stdlib.h>

#include "hcsc/error.h"
#include "hcsc/timer.h"
#include "grid_impl.h"

static hcsc_box box_at(const hcsc_grid *g, const int c[3])
{
  hcsc_box b;
  hcsc_partition(g->bands, g->dims[0], c[0], &b.b0, &b.nb);
  hcsc_partition(g->rows, g->dims[1], c[1], &b.r0, &b.nr);
  hcsc_partition(g->cols, g->dims[2], c[2], &b.c0, &b.nc);
  return b;
}

/* The local part of create: dims and tables.  Not collective. */
static int grid_setup(hcsc_grid *g, int size, int64_t bands, int64_t rows, int64_t cols,
                      const int dims[3])
{
  int err = 0;
  g->bands = bands;
  g->rows = rows;
  g->cols = cols;
  g->size = size;
  HCSC_CHECK(hcsc_grid_choose_dims(size, bands, rows, cols, dims, g->dims));
  HCSC_CALLOC(g->spatial_of, (size_t)g->dims[1] * g->dims[2]);
  HCSC_CALLOC(g->pq_of, 2 * (size_t)g->dims[1] * g->dims[2]);
cleanup:
  return err;
}

/* The collective part of create: the Cartesian comm and its two slices. */
static int grid_comms(hcsc_grid *g, MPI_Comm dup)
{
  int err = 0, periods[3] = {0, 0, 0};
  int remain_spec[3] = {1, 0, 0}, remain_spat[3] = {0, 1, 1};
  /* No reorder: grid rank r is rank r of the caller's comm, so callers keep
   * their own rank numbers (and logs name the same ranks). */
  HCSC_MPI(MPI_Cart_create(dup, 3, g->dims, periods, 0, &g->cart));
  HCSC_MPI(MPI_Comm_rank(g->cart, &g->rank));
  HCSC_MPI(MPI_Cart_coords(g->cart, g->rank, 3, g->coords));
  HCSC_MPI(MPI_Cart_sub(g->cart, remain_spec, &g->spectral));
  HCSC_MPI(MPI_Cart_sub(g->cart, remain_spat, &g->spatial));
  /* MPI_Cart_sub keeps a Cartesian topology on the spatial slice; ask it
   * for the numbering rather than assuming row-major order. */
  for (int p = 0; p < g->dims[1]; p++)
    for (int q = 0; q < g->dims[2]; q++) {
      int c2[2] = {p, q}, s;
      HCSC_MPI(MPI_Cart_rank(g->spatial, c2, &s));
      g->spatial_of[p * g->dims[2] + q] = s;
      g->pq_of[2 * s] = p;
      g->pq_of[2 * s + 1] = q;
    }
  g->box = box_at(g, g->coords);
cleanup:
  return err;
}

/* Create a grid for a bands x rows x cols scene over comm; see grid.h for
 * the choice of dims.  Collective on comm.  The caller owns *out and frees
 * it with hcsc_grid_destroy (collective). */
int hcsc_grid_create(MPI_Comm comm, int64_t bands, int64_t rows, int64_t cols, const int dims[3],
                     hcsc_grid **out)
{
  int err = 0, size = 0;
  MPI_Comm dup = MPI_COMM_NULL;
  hcsc_grid *g = NULL;
  if (out) *out = NULL;
  /* The grid talks on its own communicator: the agreements below and every
   * later halo message or reduction must never match a message the caller
   * has in flight on comm.  The duplicate also gives the agreement a
   * communicator before the Cartesian one exists. */
  HCSC_MPI(MPI_Comm_dup(comm, &dup));
  HCSC_MPI(MPI_Comm_size(dup, &size));
  if (!out)
    err = HCSC_ERR(HCSC_EINVAL, "hcsc_grid_create: no output pointer");
  else if (!(g = calloc(1, sizeof *g)))
    err = HCSC_ERR(HCSC_ENOMEM, "out of memory allocating %zu bytes", sizeof *g);
  else {
    g->cart = g->spectral = g->spatial = MPI_COMM_NULL;
    err = grid_setup(g, size, bands, rows, cols, dims);
  }
  /* The checks give the same answer on every rank, but a memory failure
   * may not: agree before any rank enters the collectives below. */
  HCSC_CHECK(hcsc_error_agree(dup, err));
  err = grid_comms(g, dup);
  HCSC_CHECK(hcsc_error_agree(dup, err));
  *out = g;
  g = NULL;
cleanup:
  hcsc_grid_destroy(&g);
  /* The Cartesian comm is a communicator of its own; the duplicate has
   * served its purpose. */
  if (dup != MPI_COMM_NULL) MPI_Comm_free(&dup);
  return err;
}

/* Free the grid's communicators.  Collective on the grid's comm; accepts
 * NULL and sets *gp to NULL. */
void hcsc_grid_destroy(hcsc_grid **gp)
{
  if (!gp || !*gp) return;
  hcsc_grid *g = *gp;
  if (g->spatial != MPI_COMM_NULL) MPI_Comm_free(&g->spatial);
  if (g->spectral != MPI_COMM_NULL) MPI_Comm_free(&g->spectral);
  if (g->cart != MPI_COMM_NULL) MPI_Comm_free(&g->cart);
  free(g->spatial_of);
  free(g->pq_of);
  free(g);
  *gp = NULL;
}

/* Queries: Not collective; g must be a created grid. */
MPI_Comm hcsc_grid_comm(const hcsc_grid *g) { return g->cart; }
MPI_Comm hcsc_grid_spectral_comm(const hcsc_grid *g) { return g->spectral; }
MPI_Comm hcsc_grid_spatial_comm(const hcsc_grid *g) { return g->spatial; }
int hcsc_grid_rank(const hcsc_grid *g) { return g->rank; }
int hcsc_grid_size(const hcsc_grid *g) { return g->size; }

void hcsc_grid_dims(const hcsc_grid *g, int dims[3])
{
  for (int i = 0; i < 3; i++) dims[i] = g->dims[i];
}

void hcsc_grid_coords(const hcsc_grid *g, int coords[3])
{
  for (int i = 0; i < 3; i++) coords[i] = g->coords[i];
}

void hcsc_grid_scene(const hcsc_grid *g, int64_t *bands, int64_t *rows, int64_t *cols)
{
  if (bands) *bands = g->bands;
  if (rows) *rows = g->rows;
  if (cols) *cols = g->cols;
}

hcsc_box hcsc_grid_box(const hcsc_grid *g) { return g->box; }

/* Interior of any rank of the grid's comm; an empty box at 0 for a rank
 * outside [0, size).  Not collective. */
hcsc_box hcsc_grid_box_of(const hcsc_grid *g, int rank)
{
  hcsc_box b = {0, 0, 0, 0, 0, 0};
  int c[3];
  if (rank < 0 || rank >= g->size) return b;
  if (MPI_Cart_coords(g->cart, rank, 3, c) != MPI_SUCCESS) return b;
  return box_at(g, c);
}

/* Rank at grid coordinates (gi, pi, qi); HCSC_ERANGE (negative) when the
 * coordinates are outside the grid.  Not collective. */
int hcsc_grid_rank_at(const hcsc_grid *g, int gi, int pi, int qi)
{
  int c[3] = {gi, pi, qi}, r;
  for (int i = 0; i < 3; i++)
    if (c[i] < 0 || c[i] >= g->dims[i]) return HCSC_ERANGE;
  if (MPI_Cart_rank(g->cart, c, &r) != MPI_SUCCESS) return HCSC_EMPI;
  return r;
}

/* Rank whose interior holds (band, row, col); HCSC_ERANGE (negative) for a
 * cell outside the scene.  Not collective. */
int hcsc_grid_owner(const hcsc_grid *g, int64_t band, int64_t row, int64_t col)
{
  int gi = hcsc_partition_owner(g->bands, g->dims[0], band);
  int pi = hcsc_partition_owner(g->rows, g->dims[1], row);
  int qi = hcsc_partition_owner(g->cols, g->dims[2], col);
  if (gi < 0 || pi < 0 || qi < 0) return HCSC_ERANGE;
  return hcsc_grid_rank_at(g, gi, pi, qi);
}

/* In-place allreduce over a scope.  Collective on the scope's comm.
 * It does not agree on errors afterwards: it sits in inner loops (norms,
 * step sizes, gradients) where a second collective would double its
 * latency, MPI already requires count, type and op to match on every rank,
 * and an MPI failure inside MPI_Allreduce is reported by MPI itself. */
int hcsc_grid_allreduce(const hcsc_grid *g, hcsc_scope scope, void *buf, int count,
                        MPI_Datatype type, MPI_Op op)
{
  int err = 0, tsize = 0;
  MPI_Comm c;
  hcsc_timer_start(HCSC_PHASE_REDUCE);
  if (!g || count < 0 || (count > 0 && !buf))
    HCSC_FAIL(HCSC_EINVAL, "hcsc_grid_allreduce: invalid grid, buffer or count %d", count);
  switch (scope) {
  case HCSC_SCOPE_ALL: c = g->cart; break;
  case HCSC_SCOPE_SPECTRAL: c = g->spectral; break;
  case HCSC_SCOPE_SPATIAL: c = g->spatial; break;
  default: HCSC_FAIL(HCSC_EINVAL, "hcsc_grid_allreduce: unknown scope %d", (int)scope);
  }
  HCSC_MPI(MPI_Allreduce(MPI_IN_PLACE, buf, count, type, op, c));
  HCSC_MPI(MPI_Type_size(type, &tsize));
  hcsc_timer_add_bytes(HCSC_PHASE_REDUCE, (double)count * tsize);
cleanup:
  hcsc_timer_stop(HCSC_PHASE_REDUCE);
  return err;
}
