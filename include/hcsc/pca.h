/* hypercsc — the spectral subspace: PCA of the band covariance.
 *
 * Covariance.  Every rank accumulates, over the valid pixels of its tile
 * (a pixel is valid when none of its B bands is NaN), the band sums and
 * the cross products of the centred pixels, in double.  The mean is
 * reduced first (B + 1 doubles: sums and the pixel count) and the
 * products are then taken about it and reduced with one MPI_Allreduce of
 * the B x B matrix; this is algebraically (S - n mu mu^T) / (n - 1), but
 * centring before the products avoids the cancellation of S - n mu mu^T
 * on data whose mean is large against its spread (radiance counts).
 *
 * Spectral groups (G > 1): a rank holds only some bands of its tile.  The
 * validity mask is combined over the spectral comm (a pixel is valid when
 * it is valid in every band slice), and the off-diagonal blocks X_i X_j^T
 * are assembled by passing the band blocks round the spectral comm (G - 1
 * MPI_Sendrecv steps; a rank holds its tile plus one other band block).
 * Each rank fills its rows of the B x B matrix and the final Allreduce over
 * all ranks sums the blocks: no scene or tile is ever gathered.
 *
 * Eigensolver.  The B x B covariance is replicated after the reduction, so
 * LAPACK dsyevd runs redundantly on every rank: the same input gives the
 * same output bit for bit (same library, same thread count), and no
 * broadcast of B x B eigenvectors is needed.  ScaLAPACK pdsyevd on a
 * near-square BLACS grid over the grid's ranks serves large band counts;
 * its eigenvectors are gathered back by one sum reduction.  Eigenvalues
 * are sorted in descending order and each eigenvector is sign-normalised
 * (its component of largest magnitude is positive; the first such on a
 * tie), so that results are deterministic across solvers and rank counts.
 *
 * Projection.  z = P (x - mu), P = the first r eigenvectors (r x B), and
 * x^ = mu + P^T z (the decoder Q = P^T).  With spectral groups, z is a
 * partial sum over the rank's bands reduced over the spectral comm; the
 * reconstruction of a rank's bands needs only z and its own rows of P^T.
 * Pixels with any NaN band give NaN codes and NaN reconstructions. */
#ifndef HCSC_PCA_H
#define HCSC_PCA_H

#include <mpi.h>
#include <stdint.h>

#include "hcsc/grid.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  HCSC_EIG_AUTO = 0,  /* ScaLAPACK when bands >= HCSC_PCA_SCALAPACK_BANDS */
  HCSC_EIG_LAPACK,
  HCSC_EIG_SCALAPACK
} hcsc_eigensolver;

#define HCSC_PCA_SCALAPACK_BANDS 256

/* "auto", "lapack", "scalapack".  Not collective. */
int hcsc_eigensolver_parse(const char *name, hcsc_eigensolver *e);
const char *hcsc_eigensolver_name(hcsc_eigensolver e);

/* A spectral subspace.  components[k * bands + b] is band b of eigenvector
 * k (component-major: row k of P).  Plain data, owned by the struct; free
 * with hcsc_pca_free. */
typedef struct {
  int64_t bands;
  int64_t npixels;       /* valid pixels used */
  double *mean;          /* [bands] */
  double *eigenvalues;   /* [bands] descending */
  double *components;    /* [bands * bands] */
  double *wavelength;    /* [bands] or NULL */
  int64_t rank;          /* chosen number of components r (0: not chosen) */
  char method[64];       /* how r was chosen: "rank", "variance 0.999", ... */
  hcsc_eigensolver solver; /* the solver that was used */
} hcsc_pca;

/* Not collective; accepts a zeroed p and sets it to zeros. */
void hcsc_pca_free(hcsc_pca *p);

/* Band mean and covariance of the valid pixels of the scene held by the
 * grid's tiles t (nchan = box.nb, any halo; only interiors are read).
 * mean[bands] and cov[bands * bands] (full symmetric, row-major) are
 * allocated by the caller and filled on every rank; *npixels gets the
 * number of valid pixels.  Fewer than 2 valid pixels is HCSC_EVALUE.
 * Collective on the grid's comm. */
int hcsc_pca_covariance(const hcsc_grid *g, const hcsc_tile *t, double *mean, double *cov,
                        int64_t *npixels);

/* Eigen-decomposition of the symmetric n x n matrix a (row-major, full):
 * eigenvalues w[n] descending, eigenvectors v[n * n] with v[k * n + i] the
 * i-th entry of eigenvector k, sign-normalised.  LAPACK dsyevd.
 * Not collective. */
int hcsc_pca_eig_lapack(int64_t n, const double *a, double *w, double *v);

/* The same through ScaLAPACK pdsyevd on a near-square BLACS grid over the
 * ranks of comm, with square blocks of nb (0: choose, at most 64).  a must
 * be the same on every rank; w and v are returned on every rank.
 * Collective on comm. */
int hcsc_pca_eig_scalapack(MPI_Comm comm, int64_t n, const double *a, int nb, double *w,
                           double *v);

/* Covariance and eigen-decomposition of the grid's scene into out (all
 * components kept, out->rank = 0).  Collective on the grid's comm. */
int hcsc_pca_compute(const hcsc_grid *g, const hcsc_tile *t, hcsc_eigensolver solver,
                     hcsc_pca *out);

/* How to choose the number of components r. */
typedef enum {
  HCSC_PCA_RANK = 0,  /* r = value (1 <= r <= bands) */
  HCSC_PCA_VARIANCE,  /* the smallest r whose explained variance >= value (0 < value <= 1) */
  HCSC_PCA_NOISE      /* noise-aware, see hcsc_pca_choose_rank */
} hcsc_pca_criterion;

/* Set p->rank and p->method.
 *   RANK:     r = value.
 *   VARIANCE: the smallest r with sum_{k<r} lambda_k / sum_k lambda_k >= value.
 *   NOISE:    with per-band noise standard deviations sigma[bands] (e.g.
 *             hcsc_stats noise; NaN entries count as 0), the noise variance
 *             along eigenvector v_k is nu_k = sum_b v_kb^2 sigma_b^2, and r is
 *             the number of leading components with lambda_k > value * nu_k
 *             (value: a safety factor, 0 means 2), at least 1.  White noise
 *             alone would give lambda_k close to nu_k; a component well above
 *             its noise share carries signal.
 * Bad values (r out of range, variance outside (0, 1], sigma NULL or
 * negative) are HCSC_EINVAL.  Not collective (same input, same r). */
int hcsc_pca_choose_rank(hcsc_pca *p, hcsc_pca_criterion crit, double value, const double *sigma);

/* Explained variance of the first r components (sum of the first r
 * eigenvalues over the sum of all).  Not collective. */
double hcsc_pca_explained(const hcsc_pca *p, int64_t r);

/* Codes z = P (x - mu) of the tiles x of the grid's scene on r components:
 * z must be allocated on x's box with nchan >= r (any halo; only the
 * interior is written).  Collective on the grid's spectral comm (a
 * partial sum over the rank's bands, reduced there); all ranks of the grid
 * call it. */
int hcsc_pca_project(const hcsc_grid *g, const hcsc_pca *p, int64_t r, const hcsc_tile *x,
                     hcsc_tile *z);

/* Reconstruction xr = mu + P^T z of this rank's bands (xr on the grid box,
 * nchan = box.nb) from codes z on r components (as hcsc_pca_project makes
 * them).  Not collective; a local error is returned as is, so callers agree
 * it before the next collective. */
int hcsc_pca_reconstruct(const hcsc_grid *g, const hcsc_pca *p, int64_t r, const hcsc_tile *z,
                         hcsc_tile *xr);

/* Save p as NetCDF (CDF-5): variables mean(band), eigenvalues(component),
 * components(component, band), wavelength(band) when known; attributes
 * rank, method, explained_variance, bands, pixels, eigensolver.  Rank 0
 * writes a temporary file beside path and renames it when complete; an
 * existing path is HCSC_EEXIST unless force.  Collective on comm. */
int hcsc_pca_save(MPI_Comm comm, const hcsc_pca *p, const char *path, int force);

/* Load a subspace saved by hcsc_pca_save: rank 0 reads, every rank gets
 * it.  A file that is not such a subspace (missing or mis-sized variables,
 * non-finite values, a rank out of range) is HCSC_EFORMAT naming the file.
 * Collective on comm. */
int hcsc_pca_load(MPI_Comm comm, const char *path, hcsc_pca *out);

#ifdef __cplusplus
}
#endif
#endif
