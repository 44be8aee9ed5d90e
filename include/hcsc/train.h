/* hypercsc — data-parallel training of unrolled networks (hcsc/nn.h).
 *
 * A training set is a list of scenes read distributed over a grid of the
 * communicator (never gathered); the bottom rows of each may be held out
 * for validation.  Step t draws the GLOBAL batch j = 0..batch-1 from the
 * counter RNG keyed on (seed, t, j): a scene (weighted by its training
 * area), a patch position inside its training rows, flips.  Sample j is
 * processed by rank j % size; the ranks holding parts of the patch send
 * them with one MPI_Alltoallv per step.  Noise (hcsc/noise.h) is added on
 * the receiving rank with a seed derived from (seed, t, j) and the scene's
 * clean range, so the (noisy, clean) pairs are the same for any rank
 * count.  Each rank runs forward/backward on its samples, one bucketed
 * Allreduce sums the gradients, and every rank applies the same Adam
 * step (bias-corrected; cosine or constant schedule with linear warmup;
 * clipping by the global gradient norm). */
#ifndef HCSC_TRAIN_H
#define HCSC_TRAIN_H

#include <mpi.h>
#include <stdint.h>
#include <stdio.h>

#include "hcsc/meta.h"
#include "hcsc/nn.h"
#include "hcsc/noise.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- scenes ------------------------------------------------------------ */

typedef struct hcsc_train_set hcsc_train_set;

/* Open and read the scenes paths[0..n) distributed over comm (grid dims,
 * NULL or zeros: automatic), check they all have the same band count (a
 * mismatch is HCSC_ESIZE naming the scene) and only finite values
 * (HCSC_EVALUE naming the scene), and compute each scene's clean min and
 * max.  holdout in [0, 1): the bottom floor(holdout * rows) rows of each
 * scene are kept out of training (validation rows).  Collective on comm.
 * Free with hcsc_train_set_destroy (collective; accepts NULL). */
int hcsc_train_set_open(MPI_Comm comm, const char *const *paths, int n, const int dims[3],
                        double holdout, hcsc_train_set **out);
void hcsc_train_set_destroy(hcsc_train_set **s);
/* Queries.  Not collective. */
int hcsc_train_set_count(const hcsc_train_set *s);
int64_t hcsc_train_set_bands(const hcsc_train_set *s);
const hcsc_meta *hcsc_train_set_meta(const hcsc_train_set *s, int i);
/* Training rows of scene i (rows - held out). */
int64_t hcsc_train_set_rows(const hcsc_train_set *s, int i);
/* The spectral subspace basis (B x r, component j at basis[j * B ..]) of
 * scene 0 for ssc, from hcsc_pca_compute on its tiles; *basis malloc'ed
 * (B * r doubles, caller frees).  Collective on the set's comm. */
int hcsc_train_set_basis(hcsc_train_set *s, int r, double **basis);

/* ---- training ---------------------------------------------------------- */

typedef enum { HCSC_SCHEDULE_COSINE = 0, HCSC_SCHEDULE_CONST } hcsc_schedule;

typedef struct {
  int patch;             /* training patch side (default 64) */
  int batch;             /* GLOBAL batch (default 8) */
  int64_t steps;         /* optimizer steps in all (default 1000) */
  int64_t epoch_steps;   /* steps per epoch: validation after each (default 50) */
  double lr;             /* peak learning rate (default 1e-3) */
  hcsc_schedule schedule;/* cosine from lr to 0.05 lr over the steps (default) */
  int64_t warmup;        /* linear warmup steps (default 0) */
  double clip;           /* global gradient norm clip, <= 0: off (default 1) */
  uint64_t seed;         /* sampling and noise (default 1) */
  int flips;             /* random horizontal/vertical flips (default 1) */
  int val_patch;         /* validation patch side (default 64) */
  hcsc_noise_model noise;/* training and validation noise (default gaussian:30) */
  /* More training noise models: sample j of a step uses model (its noise
   * seed mod (1 + nextra)), 0 being noise; validation uses noise only. */
#define HCSC_TRAIN_MAX_NOISE 8
  int nextra;
  hcsc_noise_model extra[HCSC_TRAIN_MAX_NOISE - 1];
  const char *checkpoint;      /* NULL: none (a signal still writes default_checkpoint) */
  const char *default_checkpoint; /* where a signal writes when checkpoint is NULL */
  int64_t checkpoint_every;    /* steps; 0: only at the end */
  const char *resume;          /* checkpoint to continue, or NULL */
  FILE *log;             /* rank 0: CSV rows are appended (header included), or NULL */
  int progress;          /* 1: progress bar */
} hcsc_train_opts;

/* Defaults as documented above.  Not collective. */
void hcsc_train_opts_default(hcsc_train_opts *o);

/* What a run did. */
typedef struct {
  int64_t steps_done;    /* optimizer steps in all (those resumed included) */
  int64_t first_step;    /* step the run started at (> 0 after --resume) */
  double first_loss;     /* batch loss of this run's first step (NaN if none) */
  double last_loss;      /* batch loss of its last step */
  double val_mpsnr;      /* last validation MPSNR (NaN: no validation) */
  double noisy_mpsnr;    /* MPSNR of the noisy validation input */
  double seconds;        /* wall time of the steps */
  double reduce_seconds; /* of which in the gradient Allreduce */
  int signalled;         /* signal number that stopped it (then HCSC_EINTERRUPT) */
} hcsc_train_result;

/* Validation / evaluation figures. */
typedef struct {
  int64_t patches;
  double mpsnr;          /* of the network's output (NaN: no patches) */
  double noisy_mpsnr;    /* of the noisy input */
  double seconds;        /* wall time of the forward passes */
  double code_density;   /* mean over patches (hcsc_nn_figures) */
} hcsc_train_eval_result;

/* Train net (initialised, the same on every rank) on the training rows of
 * train; validate every epoch_steps steps and at the end on val (all its
 * rows) or, when val is NULL, on train's held-out rows (none: no
 * validation).  Checkpoints (kind "train": params, Adam moments, step and a
 * fingerprint of the configuration and options) every checkpoint_every
 * steps and at the end; resume refuses a checkpoint of another
 * configuration (HCSC_EINVAL, one line).  SIGTERM/SIGUSR1 (after
 * hcsc_signal_install) are agreed once per step: all ranks write the
 * checkpoint and return HCSC_EINTERRUPT.  A patch larger than a scene's
 * training rows or columns is HCSC_ESIZE naming the scene.  Collective on
 * the sets' comm; net's params are updated in place. */
int hcsc_train_run(hcsc_nn *net, hcsc_train_set *train, hcsc_train_set *val,
                   const hcsc_train_opts *opts, hcsc_train_result *res);

/* Run net (train = 0 execs) on the validation patches of val (all rows
 * when holdout_only is 0, else the held-out rows only): non-overlapping
 * val_patch squares (clipped to the region), noise seeded by the patch
 * index (the same every call), processed round-robin by the ranks.  MPSNR
 * = mean over bands of 10 log10(1 / mse_b) with mse_b the band's squared
 * errors divided by the scene's squared clean range, summed over patches in
 * patch order (the same on any rank count).  Collective on the set's comm. */
int hcsc_train_eval(hcsc_nn *net, hcsc_train_set *val, int holdout_only, int val_patch,
                    const hcsc_noise_model *noise, uint64_t seed, hcsc_train_eval_result *res);

/* Whether path is a model file (NetCDF with hypercsc_kind = "model"):
 * *yes = 1 or 0, the same on every rank; a missing or unreadable file is
 * simply not a model.  Collective on comm (rank 0 looks). */
int hcsc_nn_is_model(MPI_Comm comm, const char *path, int *yes);

#ifdef __cplusplus
}
#endif
#endif
