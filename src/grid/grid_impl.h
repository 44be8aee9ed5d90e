/* hypercsc — private layout of a grid, shared by the grid sources (the
 * decomposition and the halo exchange).  Not installed. */
#ifndef HCSC_GRID_IMPL_H
#define HCSC_GRID_IMPL_H

#include "hcsc/grid.h"

struct hcsc_grid {
  MPI_Comm cart;     /* Cartesian G x P x Q, ranks as in the caller's comm */
  MPI_Comm spectral; /* same (p, q), varying g; rank = g */
  MPI_Comm spatial;  /* same g, Cartesian P x Q */
  int rank, size;
  int dims[3], coords[3];
  int64_t bands, rows, cols;
  hcsc_box box;
  /* spatial_of[p * Q + q]: rank in the spatial comm of the tile (p, q);
   * pq_of[2 * s], pq_of[2 * s + 1]: the (p, q) of spatial rank s. */
  int *spatial_of;
  int *pq_of;
};

/* Choose and check {G, P, Q} for a bands x rows x cols scene over size
 * ranks (0 entries are chosen).  Records a message naming the problem.
 * Not collective: every rank computes the same answer. */
int hcsc_grid_choose_dims(int size, int64_t bands, int64_t rows, int64_t cols, const int in[3],
                          int out[3]);

#endif
