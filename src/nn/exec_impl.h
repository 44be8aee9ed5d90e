/* hypercsc — unrolled networks: the executor's private state, shared by
 * src/nn/exec.c (create, buffers, forward), exec_backward.c and
 * exec_noise.c.  See exec.c for the design. */
#ifndef HCSC_NN_EXEC_IMPL_H
#define HCSC_NN_EXEC_IMPL_H

#include "nn/nn_impl.h"

enum { HALO_NONE = 0, HALO_MIRROR, HALO_ZERO };

/* Bands of one noise-estimate chunk (a tile of this many bands with a halo
 * of 1 instead of a copy of the whole input). */
#define NOISE_BANDS 16

typedef struct {
  int halo;
  int64_t nchan;
  hcsc_halo *h;
} plan_ent;

struct hcsc_nn_exec {
  hcsc_nn *net;
  const hcsc_grid *grid;
  MPI_Comm comm;
  int nranks, train;
  hcsc_box box;
  int64_t rows, cols;
  int nt, nops;
  int *halo;      /* [nt] */
  int *last;      /* [nt] last op reading the tensor (nops: keep) */
  int *hstate;    /* [nt] what the halo of t[i] holds */
  int *gset;      /* [nt] gradient written */
  hcsc_tile *t, *g;
  int nplans;
  plan_ent *plans;
  hcsc_conv **conv; /* [nparams] */
  hcsc_dict *dict;  /* [nparams] views into net->params */
  uint64_t version;
  float *bw;        /* [B] band_w * wt of the last forward */
  double *wt;       /* [B] */
  double level;
  const hcsc_tile *mask; /* data mask W (1 or B channels), by reference, or NULL */
  double *dscr;     /* [max channels] */
  float *gloc;      /* [net->size] this backward's parameter gradients */
  int nscr;
  hcsc_tile *scr;   /* conv outputs to be added, by channel count */
  float **pool;
  size_t *pool_cap;
  int npool, cap_pool;
  double *dbuf;     /* serial noise estimate: the pair differences of a band */
  int64_t dbuf_n;
  float *work;      /* analysis scratch shared by the conv plans */
  const float *ext_in; /* the caller's x as tensor 0 (never pooled) */
  float *ext_out;      /* the caller's y: pooled during a forward, never freed */
  hcsc_nn_timings tm;
  int overlap;      /* halo exchange overlapped (HCSC_NN_OVERLAP=0: off) */
  char *bar_label;  /* progress over the ops of a forward, or NULL */
  int have_fwd;
  double bytes, flops, dens_sum;
  int dens_n;
};

/* Fill the halo of t (a tensor, or a tile with a tensor's shape) for a
 * convolution: mirrored (HALO_MIRROR, synthesis) or also zeroed outside the
 * scene (HALO_ZERO, analysis).  The ranks agree on err first; state (the
 * same on every rank: it follows the op list) skips repeated exchanges.
 * Collective on the grid's comm. */
int nn_exec_fill_halo(hcsc_nn_exec *e, hcsc_tile *t, int *state, int want, int err);
/* t is tensor `tensor`'s channels on the exec's box.  Not collective. */
int nn_exec_check_io(const hcsc_nn_exec *e, const hcsc_tile *t, int tensor, const char *what);
/* The coefficients of a LINCOMB op; the pixels of the exec's box. */
void nn_exec_lincomb_coef(const hcsc_nn *net, const nn_op *op, float *coef);
double nn_exec_npix(const hcsc_nn_exec *e);

#endif
