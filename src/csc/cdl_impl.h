/* hypercsc — private: state of the CDL learner (src/csc/cdl.c) and the
 * per-signal numerics (src/csc/cdl_sig.c).
 *
 * Layouts.  Spatial arrays are packed planes [plane][R][Q].  Spectra are
 * frequency-major, interleaved complex: [f][plane] with f = row (Q/2 + 1) +
 * col (r2c half spectrum of each plane, transposed to plane-fastest), so every
 * per-frequency solve reads one contiguous short vector.  The transforms
 * themselves run plane by plane (one plain 2-D r2c / c2r plan, new-array
 * execute) into the learner's plane-major scratch spectrum s->T, with a
 * cache-blocked transpose to or from [f][plane]: FFTW's batched plans with
 * that strided, interleaved output were several times slower (buffered
 * copies, fftwf_cpy2d, and per-execute buffer allocation).  Dictionary planes
 * are p = m C + c (atom-major, as hcsc_dict).  An atom is placed on the
 * circular region as in admm.c: tap (i, j) at ((a - i) mod R, (a - j) mod Q),
 * a = (k - 1) / 2, so (h (*) z)(p) = sum d(i, j) z(p + (i - a, j - a)). */
#ifndef HCSC_CDL_IMPL_H
#define HCSC_CDL_IMPL_H

#include <fftw3.h>
#include <mpi.h>

#include "hcsc/cdl.h"

typedef struct {
  int R, Q;              /* region (tile or crop) */
  int64_t N, nf;         /* pixels, frequencies R (Q/2 + 1) */
  int tR, tQ;            /* the tile */
  int64_t r0, c0;        /* global position of the region's first pixel */
  int64_t tr0, tc0;      /* global position of the tile */
  int index;             /* signal index on this rank */
  float *tile;           /* C x tR x tQ: the tile's interior (crop mode) */
  float *xs;             /* C x N: the signal */
  float *Y, *U;          /* M x N: codes and scaled dual of the code step */
  float *du;             /* M C x N: consensus dual u_s */
  float *sp;             /* M C x N: scratch (padded atoms, d_s) */
  float *ga, *gb;        /* N: one padded atom of g (old, new) */
  float *pl;             /* N: one padded plane on its way to the transform */
  float *en;             /* N: residual patch energy (re-seeding), or NULL */
  fftwf_complex *XF;     /* nf x C */
  fftwf_complex *ZF;     /* nf x M: spectrum of Y after the code step */
  fftwf_complex *BF;     /* nf x max(M, C): scratch spectra */
  fftwf_complex *HF;     /* nf x M C: spectra of g (code step), then of d_s */
  float *L;              /* nf x C x C complex: Cholesky factor of rho I + H H^H */
  double fact_rho;       /* rho of L; < 0: none (g changed) */
  fftwf_plan fwd, inv;    /* one R x Q plane: r2c into s->T, c2r from s->T */
} cdl_sig;

struct hcsc_cdl {
  MPI_Comm comm;
  hcsc_cdl_opts o;
  int M, C, k, a;
  int nsig;
  long long nsig_total;
  cdl_sig *sig;
  hcsc_dict g;           /* consensus dictionary */
  float *gold;           /* M C k^2: g before the dictionary step */
  float *acc;            /* M C k^2 + 1: reduction buffer */
  float *vfista, *gprev; /* PGRAD momentum point and previous iterate */
  float *idle;           /* M: iterations since each atom was last used */
  double *wk;            /* per-frequency scratch (Woodbury) */
  fftwf_complex *T;      /* plane-major spectra [plane][f], the largest signal's nf x M C */
  size_t Tn;             /* complex elements in T */
  double *dacc;          /* M C k^2: local sums before the reduction */
  double *rsum;          /* M + 7: the report's sums */
  int iter;
  double rho_code, rho_dict;
  double bytes;          /* reduced this iteration */
  double t_reduce;
  hcsc_state_var *vars;
  char *names;
  int nvars;
};

/* Per-signal numerics (cdl_sig.c); all not collective. */
int cdl_sig_setup(hcsc_cdl *s, cdl_sig *q, const hcsc_tile *t, int index);
void cdl_sig_free(cdl_sig *q);
/* Region for this iteration (crop: drawn from the counter RNG, codes reset)
 * and its spectrum; HF = F(pad g). */
void cdl_sig_begin(hcsc_cdl *s, cdl_sig *q);
/* One ADMM iteration of the code step; adds r2, s2, ||X||^2, ||Y||^2, ||U||^2. */
void cdl_sig_code_iter(hcsc_cdl *s, cdl_sig *q, double rho, double sums[5]);
/* ZF = F(Y); adds 1/2 ||g Y - x||^2, ||Y||_1, nnz and per-atom nnz (M);
 * returns max_f ||z(f)||^2 (the signal's Lipschitz constant). */
double cdl_sig_codes_done(hcsc_cdl *s, cdl_sig *q, double *e2, double *l1, double *nnz,
                          double *atom_nnz);
/* Consensus: d_s by Sherman-Morrison, add the support of alpha d_s +
 * (1 - alpha) g + u_s into acc (M C k^2). */
void cdl_sig_dict_solve(hcsc_cdl *s, cdl_sig *q, double rho, double *acc);
/* Consensus: u_s update with the new g (s->g) and old (s->gold); adds
 * ||d_s - g||^2, ||d_s||^2, ||u_s||^2. */
void cdl_sig_dict_dual(hcsc_cdl *s, cdl_sig *q, double sums[3]);
/* PGRAD: add the gradient at v (M C k^2) into acc. */
void cdl_sig_grad(hcsc_cdl *s, cdl_sig *q, const float *v, double *acc);
/* Residual x - g Y into q->sp (C planes) and the k x k patch energies into
 * q->en, excluded (-1) where the patch would wrap. */
void cdl_sig_residual_energy(hcsc_cdl *s, cdl_sig *q);
/* Project each atom of g onto ||d|| <= 1.  Not collective. */
void cdl_project(float *g, int M, int C, int k);

#endif
