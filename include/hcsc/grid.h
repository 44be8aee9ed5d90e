/* hypercsc — decomposition of a scene over ranks, tiles with halos, halo
 * exchange and reductions.
 *
 * A scene of B bands x H rows x W columns is split over a Cartesian grid of
 * G band slices x P row blocks x Q column blocks (G*P*Q = ranks).  Each
 * dimension is split in contiguous blocks whose sizes differ by at most
 * one (the first n % p blocks get one more), so uneven splits work and a
 * block may be empty only when there are more blocks than items (refused).
 *
 * Two sub-communicators come with a grid:
 *   spectral comm: the G ranks that share one spatial tile and split its
 *                  bands; partial sums over bands (a spectral projection,
 *                  D z summed over channels) are reduced here.
 *   spatial comm:  the P*Q ranks that hold the same band slice; halos are
 *                  exchanged and spatial statistics reduced here.
 *
 * Scene-edge rule (used everywhere: halos, convolutions, filters):
 * half-sample symmetric extension, x[-1] = x[0], x[-2] = x[1], x[H] = x[H-1],
 * repeated with period 2H when a halo is wider than the scene. */
#ifndef HCSC_GRID_H
#define HCSC_GRID_H

#include <mpi.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A box of the scene in global coordinates: bands [b0, b0+nb), rows
 * [r0, r0+nr), columns [c0, c0+nc). */
typedef struct {
  int64_t b0, nb, r0, nr, c0, nc;
} hcsc_box;

/* 1 when a and b cover the same rows and columns (bands ignored): tiles of
 * different channel counts on one rank's area.  Not collective. */
int hcsc_box_same_area(const hcsc_box *a, const hcsc_box *b);

/* Block partition of n items into p parts: part i is [*start, *start+*count).
 * Not collective. */
void hcsc_partition(int64_t n, int p, int i, int64_t *start, int64_t *count);
/* The part that holds item idx.  Not collective. */
int hcsc_partition_owner(int64_t n, int p, int64_t idx);
/* Index of x under the scene-edge rule for an axis of length n.
 * Not collective. */
int64_t hcsc_mirror_index(int64_t x, int64_t n);

typedef struct hcsc_grid hcsc_grid;

/* Parse "GxPxQ" (or "PxQ", G = 1) into dims[3]; 0 entries mean "choose".
 * Not collective. */
int hcsc_grid_parse(const char *spec, int dims[3]);

/* Create a grid for a B x H x W scene over comm.  dims: {G, P, Q}, any of
 * them 0 (or dims NULL) to choose automatically: G = 1 unless set, and P x Q
 * balancing tiles and minimising halo volume.  A grid whose product is not
 * the rank count, or with more blocks than items in a dimension, is an
 * HCSC_EINVAL error.  comm is duplicated (the grid's messages never mix with
 * the caller's).  Collective on comm. */
int hcsc_grid_create(MPI_Comm comm, int64_t bands, int64_t rows, int64_t cols, const int dims[3],
                     hcsc_grid **out);
/* Collective on the grid's comm; accepts NULL, sets *g to NULL. */
void hcsc_grid_destroy(hcsc_grid **g);

/* Queries; Not collective. */
MPI_Comm hcsc_grid_comm(const hcsc_grid *g);          /* all ranks (Cartesian) */
MPI_Comm hcsc_grid_spectral_comm(const hcsc_grid *g); /* same spatial tile */
MPI_Comm hcsc_grid_spatial_comm(const hcsc_grid *g);  /* same band slice */
int hcsc_grid_rank(const hcsc_grid *g);
int hcsc_grid_size(const hcsc_grid *g);
void hcsc_grid_dims(const hcsc_grid *g, int dims[3]);   /* G, P, Q */
void hcsc_grid_coords(const hcsc_grid *g, int coords[3]); /* g, p, q of this rank */
void hcsc_grid_scene(const hcsc_grid *g, int64_t *bands, int64_t *rows, int64_t *cols);
hcsc_box hcsc_grid_box(const hcsc_grid *g);                /* this rank's interior */
hcsc_box hcsc_grid_box_of(const hcsc_grid *g, int rank);   /* any rank's interior */
int hcsc_grid_owner(const hcsc_grid *g, int64_t band, int64_t row, int64_t col);
/* Rank (in the grid's comm) at grid coordinates (g, p, q). */
int hcsc_grid_rank_at(const hcsc_grid *g, int gi, int pi, int qi);

typedef enum {
  HCSC_SCOPE_ALL = 0, /* every rank */
  HCSC_SCOPE_SPECTRAL, /* ranks sharing this rank's spatial tile */
  HCSC_SCOPE_SPATIAL   /* ranks sharing this rank's band slice */
} hcsc_scope;

/* In-place MPI_Allreduce over a scope, timed as HCSC_PHASE_REDUCE.
 * Collective on the scope's communicator. */
int hcsc_grid_allreduce(const hcsc_grid *g, hcsc_scope scope, void *buf, int count,
                        MPI_Datatype type, MPI_Op op);

/* A tile: a box of the scene with nchan channels and a halo of width halo
 * on all four spatial sides, stored channel-major, row-major:
 *   element (ch, r, c), r in [-halo, nr+halo), c in [-halo, nc+halo)
 *   is data[(ch * ldr + (r + halo)) * ldc + (c + halo)],
 * ldr = nr + 2 halo, ldc = nc + 2 halo.  nchan is box.nb for scene data,
 * or another count (atoms, code maps) for other arrays on the same box. */
typedef struct {
  hcsc_box box;
  int64_t nchan;
  int halo;
  int64_t ldr, ldc;
  float *data;
} hcsc_tile;

#define HCSC_TILE_AT(t, ch, r, c) \
  ((t)->data[((int64_t)(ch) * (t)->ldr + (r) + (t)->halo) * (t)->ldc + (c) + (t)->halo])

/* Allocate (zeroed) / free a tile.  Not collective.  Free accepts a tile
 * that was never allocated if it was zero-initialised. */
int hcsc_tile_alloc(hcsc_tile *t, const hcsc_box *box, int64_t nchan, int halo);
void hcsc_tile_free(hcsc_tile *t);

/* Halo exchange plan for tiles of this grid with width halo and nchan
 * channels (the same on all ranks of a band slice).  Sources of every halo
 * cell are found through the scene-edge rule, so halos wider than the
 * neighbouring tiles (data from ranks further away) and mirrored cells at
 * the scene edge are filled exactly as a serial symmetric extension would.
 * Collective on the grid's comm. */
typedef struct hcsc_halo hcsc_halo;
int hcsc_halo_create(const hcsc_grid *g, int halo, int64_t nchan, hcsc_halo **out);
void hcsc_halo_destroy(hcsc_halo **h);
/* Start the exchange (pack and post nonblocking sends and receives); the
 * caller may compute on the interior, away from the halo, before end.
 * End waits, unpacks and fills the mirrored cells.  Timed as
 * HCSC_PHASE_HALO.  Collective on the spatial comm. */
int hcsc_halo_begin(hcsc_halo *h, hcsc_tile *t);
int hcsc_halo_end(hcsc_halo *h, hcsc_tile *t);
int hcsc_halo_exchange(hcsc_halo *h, hcsc_tile *t);

#ifdef __cplusplus
}
#endif
#endif
