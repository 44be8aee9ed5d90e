/* hypercsc — private interfaces between the training files of src/nn:
 * sample.c (training sets and patch assembly) and train.c (the optimizer
 * loop, validation, checkpoints). */
#ifndef HCSC_TRAIN_IMPL_H
#define HCSC_TRAIN_IMPL_H

#include "hcsc/grid.h"
#include "hcsc/scene.h"
#include "hcsc/train.h"

struct hcsc_train_set {
  MPI_Comm comm;        /* the caller's (not duplicated: the grids hold duplicates) */
  int rank, size;
  int n;                /* scenes */
  int64_t bands;
  char **paths;         /* [n] */
  hcsc_scene **scenes;  /* [n] */
  hcsc_grid **grids;    /* [n], over comm */
  hcsc_tile *tiles;     /* [n], this rank's box, no halo */
  int64_t *train_rows;  /* [n] rows 0..train_rows-1 train; the rest are held out */
  double *lo, *range;   /* [n] clean min and max - min */
};

/* One patch of a scene and the rank that assembles it. */
typedef struct {
  int scene;
  int64_t r0, c0, nr, nc;
  int dest;
} nn_patch_req;

/* Assemble the patches req[0..nreq) (all bands) with one MPI_Alltoallv:
 * every rank sends the parts of its tiles, rank req[q].dest receives
 * patch q into out[q], allocated here (box: bands 0..B, rows 0..nr, cols
 * 0..nc in patch coordinates, no halo).  Entries of other ranks are left
 * zeroed.  Collective on the set's comm; the caller frees out[q]. */
int nn_set_fetch(hcsc_train_set *s, const nn_patch_req *req, int nreq, hcsc_tile *out);

/* splitmix64 finaliser: a well-mixed 64-bit key from several inputs. */
uint64_t nn_mix(uint64_t a, uint64_t b, uint64_t c);

#endif
