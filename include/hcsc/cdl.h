/* hypercsc — convolutional dictionary learning (CDL) by consensus ADMM.
 *
 * Each rank's training signals are its tiles of one or more scenes (or, with
 * opts.crop, one random crop x crop window of each tile per iteration, drawn
 * from the counter RNG keyed on (seed, iteration, the signal's global box):
 * the same crops whatever the rank count).
 * Every signal is a circular region, as SPORCO treats each training image.
 * One outer iteration (hcsc_cdl_step) is:
 *
 *   code step   code_iters ADMM iterations of CBPDN on every signal with the
 *               consensus dictionary g, warm-started from the previous
 *               iteration's codes and scaled dual (interleaved, as SPORCO's
 *               ConvBPDNDictLearn); rho_code is shared by all signals and
 *               balanced on the residuals reduced over all ranks;
 *   dictionary  consensus ADMM (Boyd et al. ch. 7; SPORCO's
 *   step        ConvCnstrMOD_Consensus), each signal s a member:
 *      d_s <- argmin 1/2 ||sum_m z_{s,m} * d_m - x_s||^2 + rho/2 ||d - g + u_s||^2
 *             (DFT domain, Sherman-Morrison per frequency: one code map per signal)
 *      g   <- Proj_C(mean_s(alpha d_s + (1 - alpha) g + u_s))
 *             one MPI_Allreduce of M k^2 C floats: only the k x k support
 *             survives the projection, so only it is reduced
 *      u_s <- u_s + alpha d_s + (1 - alpha) g_old - g
 *   C = atoms of norm <= 1 (SPORCO's ConvCnstrMOD) with k x k support.
 *   Alternative (HCSC_CDL_PGRAD): projected gradient with FISTA momentum on
 *   the same objective, step 1/L with L = sum_s max_f ||z_s(f)||^2, from the
 *   gradients reduced by one Allreduce of M k^2 C + 1 floats per inner
 *   iteration.
 *
 * In crop mode the codes restart from zero on each new crop (the code state
 * cannot follow a window that moves), so code_iters should be raised
 * (10-20).  With reseed_every > 0, an atom with no nonzero code anywhere for
 * that many iterations is replaced by the (mean-removed, normalised)
 * residual patch of highest energy over all ranks; the choice is reduced as
 * (energy, global position) pairs, max energy then lowest position, so it is
 * the same on every rank. */
#ifndef HCSC_CDL_H
#define HCSC_CDL_H

#include <mpi.h>
#include <stdint.h>

#include "hcsc/checkpoint.h" /* hcsc_state_var */
#include "hcsc/dict.h"
#include "hcsc/grid.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { HCSC_CDL_CONSENSUS = 0, HCSC_CDL_PGRAD } hcsc_cdl_method;

typedef struct {
  hcsc_cdl_method method; /* dictionary update */
  double lambda;          /* code sparsity weight, > 0 */
  int code_iters;         /* ADMM iterations of the code step per outer iteration (1) */
  int dict_iters;         /* dictionary-step iterations per outer iteration (1) */
  double rho_code;        /* 0: 50 lambda + 1 */
  double rho_dict;        /* 0: 1 (the data term's scale; residual balancing adapts it) */
  int auto_rho;           /* residual balancing (mu 10, tau 2) on both steps (1) */
  double alpha;           /* over-relaxation in (0, 2) (1.8) */
  double tol;             /* report converged when consensus primal and dual normalised
                             residuals <= tol; 0 never */
  int crop;               /* 0: whole tiles; > 0: one crop x crop random crop per tile per iteration */
  int reseed_every;       /* re-seed atoms unused for this many iterations; 0 off */
  uint64_t seed;          /* crops */
  int nonneg;             /* codes >= 0 */
} hcsc_cdl_opts;

typedef struct {          /* per outer iteration, reduced: the same on every rank */
  int iter;               /* outer iterations done (1-based) */
  double objective;       /* 1/2 sum ||g z - x||^2 + lambda ||z||_1 over all signals (circular,
                             dictionary g used by this iteration's code step, codes after it) */
  double sparsity;        /* fraction of nonzero codes */
  double code_primal, code_dual, rho_code; /* code step (normalised, max over its iterations' last) */
  double primal, dual;    /* consensus residuals ||d_s - g||, rho ||g - g_prev|| (normalised);
                             PGRAD: ||g - g_prev|| / ||g|| and 0 */
  double rho_dict;        /* rho of the next dictionary step */
  int converged;          /* tol > 0 and primal, dual <= tol */
  int reseeded;           /* atoms re-seeded this iteration */
  double t_code, t_dict, t_reduce; /* seconds (max over ranks); t_dict includes t_reduce */
  double bytes_reduced;   /* per rank, this iteration (all Allreduces) */
} hcsc_cdl_report;

typedef struct hcsc_cdl hcsc_cdl;

/* Defaults: consensus, lambda 0.1, 1 code and 1 dictionary iteration per
 * outer iteration, rho 0 (defaults above), auto_rho on, alpha 1.8, tol 0, no
 * crop, no re-seeding, seed 1, signed codes.  Not collective. */
void hcsc_cdl_opts_default(hcsc_cdl_opts *o);

/* Create a learner.  x: nsig >= 0 training tiles of this rank (C channels
 * each, any boxes and halos, interior copied here; at least one signal over
 * all ranks), e.g. the rank's tile of each scene.  init: the starting
 * dictionary (M atoms, C channels, k x k, scale 1), the same on every rank,
 * copied and projected onto the constraint set.  lambda <= 0, bad options,
 * a dictionary whose channels differ from a tile's, atoms (or crops) larger
 * than a tile, non-finite data fail with the same code on every rank.
 * Collective on comm (duplicated: the learner's messages never mix with the
 * caller's).  The caller owns *out (hcsc_cdl_destroy). */
int hcsc_cdl_create(MPI_Comm comm, const hcsc_tile *x, int nsig, const hcsc_dict *init,
                    const hcsc_cdl_opts *o, hcsc_cdl **out);

/* One outer iteration (code step, dictionary step, re-seeding); rep may be
 * NULL.  Collective on the learner's comm. */
int hcsc_cdl_step(hcsc_cdl *s, hcsc_cdl_report *rep);

/* The consensus dictionary g (replicated, owned by s, valid until the next
 * step or destroy).  Not collective. */
const hcsc_dict *hcsc_cdl_dictionary(const hcsc_cdl *s);

/* Outer iterations done.  Not collective. */
int hcsc_cdl_iteration(const hcsc_cdl *s);

/* Free everything.  Collective on the learner's comm (frees its duplicate);
 * accepts NULL, sets *s to NULL. */
void hcsc_cdl_destroy(hcsc_cdl **s);

/* Checkpoint state: everything a resumed run needs to continue bit for bit
 * at the same rank count and with the same inputs and options: the scalars
 * (iteration, rho_code, rho_dict, FISTA/PGRAD need none more) and named float
 * arrays: "g" (replicated), "atom_idle" (replicated: iterations since each
 * atom was last used), and per signal i of this rank "code_y_<i>",
 * "code_u_<i>" (codes and scaled dual) and "dict_u_<i>" (consensus dual).  hcsc_state_var: hcsc/checkpoint.h. */
#define HCSC_CDL_NSCALARS 3

/* Describe the state: *vars is owned by s (valid until destroy), *nvars its
 * length; scalars (room for at least *nscalars on entry, which must be >=
 * HCSC_CDL_NSCALARS) receives iteration, rho_code, rho_dict and *nscalars
 * their count.  Not collective. */
int hcsc_cdl_state(hcsc_cdl *s, hcsc_state_var **vars, int *nvars, double *scalars, int *nscalars);

/* After saved values were written into the arrays hcsc_cdl_state returned
 * (of a learner created with the same inputs), restore the scalars and
 * re-derive what is cached (the dictionary's constraint, its spectra are
 * recomputed at each step).  Values that differ across ranks or a scalar
 * count other than HCSC_CDL_NSCALARS fail with the same code on every rank.
 * Collective on the learner's comm. */
int hcsc_cdl_state_loaded(hcsc_cdl *s, const double *scalars, int nscalars);

#ifdef __cplusplus
}
#endif
#endif
