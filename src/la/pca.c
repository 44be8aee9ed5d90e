/* hypercsc — PCA of the band covariance: distributed covariance (with
 * spectral groups), LAPACK eigensolver, choice of the rank, projection and
 * reconstruction.  The ScaLAPACK solver is in pca_scalapack.c, NetCDF
 * input and output in pca_io.c.  See include/hcsc/pca.h for the method. */
#include "config.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hcsc/error.h"
#include "hcsc/pca.h"
#include "hcsc/timer.h"
#include "la/lapack.h"

/* Pixels packed per BLAS call: bounds the double buffers to
 * (bands_i + bands_j) x PCA_CHUNK doubles whatever the tile size. */
#define PCA_CHUNK 2048

int hcsc_eigensolver_parse(const char *name, hcsc_eigensolver *e)
{
  if (!name || !e) return HCSC_ERR(HCSC_EINVAL, "eigensolver: no name given");
  if (strcasecmp(name, "auto") == 0) *e = HCSC_EIG_AUTO;
  else if (strcasecmp(name, "lapack") == 0) *e = HCSC_EIG_LAPACK;
  else if (strcasecmp(name, "scalapack") == 0) *e = HCSC_EIG_SCALAPACK;
  else return HCSC_ERR(HCSC_EINVAL, "unknown eigensolver '%s' (lapack, scalapack or auto)", name);
  return 0;
}

const char *hcsc_eigensolver_name(hcsc_eigensolver e)
{
  switch (e) {
  case HCSC_EIG_LAPACK: return "lapack";
  case HCSC_EIG_SCALAPACK: return "scalapack";
  default: return "auto";
  }
}

void hcsc_pca_free(hcsc_pca *p)
{
  if (!p) return;
  free(p->mean);
  free(p->eigenvalues);
  free(p->components);
  free(p->wavelength);
  memset(p, 0, sizeof *p);
}

/* ------------------------------------------------------------ eigensolver */

void hcsc_la_eig_finish(int64_t n, const double *wasc, const double *z, double *w, double *v)
{
  for (int64_t k = 0; k < n; k++) {
    const double *col = z + (n - 1 - k) * n;
    int64_t imax = 0;
    for (int64_t i = 1; i < n; i++)
      if (fabs(col[i]) > fabs(col[imax])) imax = i;
    double s = col[imax] < 0 ? -1.0 : 1.0;
    w[k] = wasc[n - 1 - k];
    for (int64_t i = 0; i < n; i++) v[k * n + i] = s * col[i];
  }
}

int hcsc_pca_eig_lapack(int64_t n, const double *a, double *w, double *v)
{
  int err = 0, info = 0, lwork = -1, liwork = -1, iwq = 0;
  double wq = 0, *work = NULL, *z = NULL, *wasc = NULL;
  int *iwork = NULL;
  if (n < 1 || n > 46340 || !a || !w || !v)
    HCSC_FAIL(HCSC_EINVAL, "LAPACK eigensolver: invalid matrix order %lld", (long long)n);
  int ni = (int)n;
  /* Symmetric: the row-major array is its own column-major transpose. */
  HCSC_CALLOC(z, n * n);
  HCSC_CALLOC(wasc, n);
  memcpy(z, a, (size_t)(n * n) * sizeof *z);
  hcsc_timer_start(HCSC_PHASE_COMPUTE);
  dsyevd_("V", "U", &ni, z, &ni, wasc, &wq, &lwork, &iwq, &liwork, &info, 1, 1);
  hcsc_timer_stop(HCSC_PHASE_COMPUTE);
  if (info != 0) HCSC_FAIL(HCSC_ELAPACK, "dsyevd workspace query failed (info %d)", info);
  lwork = (int)wq + 1;
  liwork = iwq;
  HCSC_CALLOC(work, lwork);
  HCSC_CALLOC(iwork, liwork);
  hcsc_timer_start(HCSC_PHASE_COMPUTE);
  dsyevd_("V", "U", &ni, z, &ni, wasc, work, &lwork, iwork, &liwork, &info, 1, 1);
  hcsc_timer_stop(HCSC_PHASE_COMPUTE);
  if (info < 0) HCSC_FAIL(HCSC_ELAPACK, "dsyevd: invalid argument %d", -info);
  if (info > 0)
    HCSC_FAIL(HCSC_ELAPACK, "dsyevd failed to converge (info %d) on a %lld x %lld covariance", info,
              (long long)n, (long long)n);
  hcsc_la_eig_finish(n, wasc, z, w, v);
cleanup:
  free(work);
  free(iwork);
  free(z);
  free(wasc);
  return err;
}

/* ------------------------------------------------------------- covariance */

/* Band b, row r of a band-major block: a tile interior or a packed
 * [nb][nr][nc] buffer received from another band slice. */
typedef struct {
  const float *base; /* element (0, 0, 0) */
  int64_t nb, bstride, rstride;
} block_view;

static block_view view_of_tile(const hcsc_tile *t)
{
  block_view v = {t->data + (int64_t)t->halo * t->ldc + t->halo, t->box.nb, t->ldr * t->ldc, t->ldc};
  return v;
}

/* Pack the valid pixels idx[0..m) of the bands of v, minus their mean, as
 * columns of X (nb x m, column-major). */
static void pack_centred(const block_view *v, int64_t nc, const int64_t *idx, int64_t m,
                         const double *mu, double *X)
{
  for (int64_t b = 0; b < v->nb; b++) {
    const float *band = v->base + b * v->bstride;
    for (int64_t j = 0; j < m; j++) {
      int64_t r = idx[j] / nc, c = idx[j] % nc;
      X[j * v->nb + b] = (double)band[r * v->rstride + c] - mu[b];
    }
  }
}

/* cov[rows of vi, cols of vj] += Xi Xj^T over the valid pixels, in chunks
 * of PCA_CHUNK pixels.  cov is B x B row-major; the block is written with
 * vi's bands as rows starting at bi0 and vj's as columns from bj0. */
static int accumulate_block(const block_view *vi, int64_t bi0, const block_view *vj, int64_t bj0,
                            int64_t nc, const int64_t *idx, int64_t nvalid, const double *mean,
                            int64_t B, double *cov)
{
  int err = 0;
  double *Xi = NULL, *Xj = NULL, *C = NULL;
  int same = vi->base == vj->base;
  int ni = (int)vi->nb, nj = (int)vj->nb;
  HCSC_CALLOC(Xi, vi->nb * PCA_CHUNK);
  if (!same) HCSC_CALLOC(Xj, vj->nb * PCA_CHUNK);
  HCSC_CALLOC(C, vi->nb * vj->nb);
  for (int64_t p0 = 0; p0 < nvalid; p0 += PCA_CHUNK) {
    int m = (int)(nvalid - p0 < PCA_CHUNK ? nvalid - p0 : PCA_CHUNK);
    const double one = 1.0;
    pack_centred(vi, nc, idx + p0, m, mean + bi0, Xi);
    if (same) {
      dsyrk_("U", "N", &ni, &m, &one, Xi, &ni, &one, C, &ni, 1, 1);
    } else {
      pack_centred(vj, nc, idx + p0, m, mean + bj0, Xj);
      dgemm_("N", "T", &ni, &nj, &m, &one, Xi, &ni, Xj, &nj, &one, C, &ni, 1, 1);
    }
  }
  /* C is column-major ni x nj (C[a + b ni]); dsyrk filled only a <= b. */
  for (int64_t b = 0; b < vj->nb; b++)
    for (int64_t a = 0; a < vi->nb; a++) {
      double c = (same && a > b) ? C[b + a * vi->nb] : C[a + b * vi->nb];
      cov[(bi0 + a) * B + bj0 + b] = c;
    }
cleanup:
  free(Xi);
  free(Xj);
  free(C);
  return err;
}

int hcsc_pca_covariance(const hcsc_grid *g, const hcsc_tile *t, double *mean, double *cov,
                        int64_t *npixels)
{
  int err = 0, dims[3], coords[3];
  int64_t B = 0, H = 0, W = 0, nvalid = 0, maxnb = 0;
  unsigned char *valid = NULL;
  int64_t *idx = NULL;
  double *sums = NULL;
  float *mine = NULL, *other = NULL;
  MPI_Comm comm = g ? hcsc_grid_comm(g) : MPI_COMM_NULL;
  if (!g) return HCSC_ERR(HCSC_EINVAL, "PCA covariance: no grid");
  hcsc_grid_dims(g, dims);
  hcsc_grid_coords(g, coords);
  hcsc_grid_scene(g, &B, &H, &W);
  hcsc_box box = hcsc_grid_box(g);
  int64_t npix = box.nr * box.nc;
  if (!t || !t->data || t->box.nb != box.nb || t->box.nr != box.nr || t->box.nc != box.nc ||
      !mean || !cov || !npixels)
    err = HCSC_ERR(HCSC_EINVAL, "PCA covariance: tile does not match the grid box or no output");
  else if (B > 46340)
    err = HCSC_ERR(HCSC_EINVAL, "PCA covariance: %lld bands is too many for a dense covariance",
                   (long long)B);
  for (int gi = 0; gi < dims[0] && !err; gi++) {
    int64_t s, n;
    hcsc_partition(B, dims[0], gi, &s, &n);
    if (n > maxnb) maxnb = n;
  }
  if (!err && dims[0] > 1 && maxnb * npix > INT_MAX)
    err = HCSC_ERR(HCSC_ESIZE, "PCA covariance: tile of %lld x %lld pixels too large to pass between "
                   "band slices; use more spatial blocks", (long long)box.nr, (long long)box.nc);
  if (!err) {
    valid = calloc((size_t)(npix ? npix : 1), 1);
    idx = calloc((size_t)(npix ? npix : 1), sizeof *idx);
    sums = calloc((size_t)B + 1, sizeof *sums);
    if (!valid || !idx || !sums) err = HCSC_ERR(HCSC_ENOMEM, "PCA covariance: out of memory");
  }
  HCSC_CHECK(hcsc_error_agree(comm, err));

  block_view vt = view_of_tile(t);
  hcsc_timer_start(HCSC_PHASE_COMPUTE);
  memset(valid, 1, (size_t)npix);
  for (int64_t b = 0; b < box.nb; b++)
    for (int64_t r = 0; r < box.nr; r++) {
      const float *row = vt.base + b * vt.bstride + r * vt.rstride;
      for (int64_t c = 0; c < box.nc; c++)
        if (isnan(row[c])) valid[r * box.nc + c] = 0;
    }
  hcsc_timer_stop(HCSC_PHASE_COMPUTE);
  /* A pixel counts only if no band slice of its tile has a NaN there. */
  if (dims[0] > 1 && npix > 0)
    HCSC_CHECK(hcsc_error_agree(comm, hcsc_grid_allreduce(g, HCSC_SCOPE_SPECTRAL, valid, (int)npix,
                                                          MPI_UNSIGNED_CHAR, MPI_MIN)));
  for (int64_t p = 0; p < npix; p++)
    if (valid[p]) idx[nvalid++] = p;

  /* Pass 1: band sums and the pixel count (counted once per tile, by the
   * first band slice). */
  hcsc_timer_start(HCSC_PHASE_COMPUTE);
  for (int64_t b = 0; b < box.nb; b++) {
    const float *band = vt.base + b * vt.bstride;
    double s = 0;
    for (int64_t j = 0; j < nvalid; j++) s += band[(idx[j] / box.nc) * vt.rstride + idx[j] % box.nc];
    sums[box.b0 + b] = s;
  }
  sums[B] = coords[0] == 0 ? (double)nvalid : 0.0;
  hcsc_timer_stop(HCSC_PHASE_COMPUTE);
  HCSC_CHECK(hcsc_error_agree(comm, hcsc_grid_allreduce(g, HCSC_SCOPE_ALL, sums, (int)B + 1,
                                                        MPI_DOUBLE, MPI_SUM)));
  double n = sums[B];
  if (n < 2)
    HCSC_CHECK(hcsc_error_agree(comm, HCSC_ERR(HCSC_EVALUE, "PCA: %.0f valid pixel(s) (pixels with "
                                               "a NaN or nodata band are skipped); need at least 2", n)));
  for (int64_t b = 0; b < B; b++) mean[b] = sums[b] / n;

  /* Pass 2: centred cross products, this rank's rows of the matrix. */
  memset(cov, 0, (size_t)(B * B) * sizeof *cov);
  hcsc_timer_start(HCSC_PHASE_COMPUTE);
  err = accumulate_block(&vt, box.b0, &vt, box.b0, box.nc, idx, nvalid, mean, B, cov);
  hcsc_timer_stop(HCSC_PHASE_COMPUTE);
  HCSC_CHECK(hcsc_error_agree(comm, err));
  if (dims[0] > 1) {
    MPI_Comm spec = hcsc_grid_spectral_comm(g);
    int G = dims[0], me = coords[0];
    mine = malloc((size_t)(box.nb * npix + 1) * sizeof *mine);
    other = malloc((size_t)(maxnb * npix + 1) * sizeof *other);
    HCSC_CHECK(hcsc_error_agree(comm, mine && other ? 0 : HCSC_ERR(HCSC_ENOMEM, "PCA covariance: out of memory")));
    for (int64_t b = 0; b < box.nb; b++)
      for (int64_t r = 0; r < box.nr; r++)
        memcpy(mine + (b * box.nr + r) * box.nc, vt.base + b * vt.bstride + r * vt.rstride,
               (size_t)box.nc * sizeof *mine);
    /* Round the ring: at step s, send to the slice s ahead and receive the
     * block of the slice s behind, so each rank forms X_me X_j^T for every
     * other slice j while holding one foreign block at a time. */
    for (int s = 1; s < G; s++) {
      int to = (me + s) % G, from = (me - s + G) % G;
      int64_t j0, nj;
      hcsc_partition(B, G, from, &j0, &nj);
      hcsc_timer_start(HCSC_PHASE_REDUCE);
      int mpierr = MPI_Sendrecv(mine, (int)(box.nb * npix), MPI_FLOAT, to, 17, other, (int)(nj * npix),
                                MPI_FLOAT, from, 17, spec, MPI_STATUS_IGNORE);
      hcsc_timer_stop(HCSC_PHASE_REDUCE);
      hcsc_timer_add_bytes(HCSC_PHASE_REDUCE, (double)box.nb * npix * sizeof(float));
      err = mpierr == MPI_SUCCESS ? 0 : hcsc_error_mpi(mpierr, __FILE__, __LINE__, "MPI_Sendrecv");
      block_view vo = {other, nj, box.nr * box.nc, box.nc};
      if (!err) {
        hcsc_timer_start(HCSC_PHASE_COMPUTE);
        err = accumulate_block(&vt, box.b0, &vo, j0, box.nc, idx, nvalid, mean, B, cov);
        hcsc_timer_stop(HCSC_PHASE_COMPUTE);
      }
      HCSC_CHECK(hcsc_error_agree(comm, err));
    }
  }
  if (B * B > INT_MAX)
    HCSC_CHECK(hcsc_error_agree(comm, HCSC_ERR(HCSC_ESIZE, "PCA covariance: %lld bands too many", (long long)B)));
  HCSC_CHECK(hcsc_error_agree(comm, hcsc_grid_allreduce(g, HCSC_SCOPE_ALL, cov, (int)(B * B), MPI_DOUBLE,
                                                        MPI_SUM)));
  for (int64_t i = 0; i < B * B; i++) cov[i] /= n - 1;
  /* Exact symmetry: the two triangles came from different ranks' sums. */
  for (int64_t i = 0; i < B; i++)
    for (int64_t j = 0; j < i; j++) {
      double s = 0.5 * (cov[i * B + j] + cov[j * B + i]);
      cov[i * B + j] = cov[j * B + i] = s;
    }
  *npixels = (int64_t)n;
cleanup:
  free(valid);
  free(idx);
  free(sums);
  free(mine);
  free(other);
  return err;
}

int hcsc_pca_compute(const hcsc_grid *g, const hcsc_tile *t, hcsc_eigensolver solver, hcsc_pca *out)
{
  int err = 0;
  int64_t B = 0, H, W;
  double *cov = NULL;
  MPI_Comm comm = g ? hcsc_grid_comm(g) : MPI_COMM_NULL;
  if (!g || !out) return HCSC_ERR(HCSC_EINVAL, "PCA: no grid or output");
  memset(out, 0, sizeof *out);
  hcsc_grid_scene(g, &B, &H, &W);
  out->bands = B;
  out->mean = calloc((size_t)B, sizeof(double));
  out->eigenvalues = calloc((size_t)B, sizeof(double));
  out->components = calloc((size_t)(B * B), sizeof(double));
  cov = calloc((size_t)(B * B), sizeof *cov);
  err = out->mean && out->eigenvalues && out->components && cov
            ? 0 : HCSC_ERR(HCSC_ENOMEM, "PCA: out of memory for %lld bands", (long long)B);
  HCSC_CHECK(hcsc_error_agree(comm, err));
  HCSC_CHECK(hcsc_pca_covariance(g, t, out->mean, cov, &out->npixels));
  if (solver == HCSC_EIG_AUTO)
    solver = B >= HCSC_PCA_SCALAPACK_BANDS ? HCSC_EIG_SCALAPACK : HCSC_EIG_LAPACK;
  out->solver = solver;
  if (solver == HCSC_EIG_SCALAPACK)
    HCSC_CHECK(hcsc_pca_eig_scalapack(comm, B, cov, 0, out->eigenvalues, out->components));
  else
    HCSC_CHECK(hcsc_error_agree(comm, hcsc_pca_eig_lapack(B, cov, out->eigenvalues, out->components)));
cleanup:
  free(cov);
  if (err) hcsc_pca_free(out);
  return err;
}

/* ------------------------------------------------------------ choosing r */

double hcsc_pca_explained(const hcsc_pca *p, int64_t r)
{
  double tot = 0, part = 0;
  for (int64_t k = 0; k < p->bands; k++) {
    double l = p->eigenvalues[k] > 0 ? p->eigenvalues[k] : 0;
    tot += l;
    if (k < r) part += l;
  }
  return tot > 0 ? part / tot : 1.0;
}

int hcsc_pca_choose_rank(hcsc_pca *p, hcsc_pca_criterion crit, double value, const double *sigma)
{
  int64_t B = p ? p->bands : 0, r = 0;
  if (!p || B < 1 || !p->eigenvalues) return HCSC_ERR(HCSC_EINVAL, "PCA: no subspace to choose a rank in");
  switch (crit) {
  case HCSC_PCA_RANK:
    if (!(value >= 1 && value <= (double)B) || value != floor(value))
      return HCSC_ERR(HCSC_EINVAL, "PCA: rank %g out of range (1 .. %lld bands)", value, (long long)B);
    r = (int64_t)value;
    snprintf(p->method, sizeof p->method, "rank");
    break;
  case HCSC_PCA_VARIANCE:
    if (!(value > 0 && value <= 1))
      return HCSC_ERR(HCSC_EINVAL, "PCA: explained variance %g must be in (0, 1]", value);
    for (r = 1; r < B && hcsc_pca_explained(p, r) < value; r++) {}
    snprintf(p->method, sizeof p->method, "variance %g", value);
    break;
  case HCSC_PCA_NOISE: {
    double f = value > 0 ? value : 2.0;
    if (!sigma) return HCSC_ERR(HCSC_EINVAL, "PCA: noise-aware rank needs per-band noise estimates");
    for (int64_t b = 0; b < B; b++)
      if (sigma[b] < 0) return HCSC_ERR(HCSC_EINVAL, "PCA: negative noise estimate for band %lld", (long long)b + 1);
    for (r = 0; r < B; r++) {
      double nu = 0;
      for (int64_t b = 0; b < B; b++) {
        double v = p->components[r * B + b], s = isnan(sigma[b]) ? 0 : sigma[b];
        nu += v * v * s * s;
      }
      if (!(p->eigenvalues[r] > f * nu)) break;
    }
    if (r < 1) r = 1;
    snprintf(p->method, sizeof p->method, "noise-aware factor %g", f);
    break;
  }
  default: return HCSC_ERR(HCSC_EINVAL, "PCA: unknown rank criterion %d", (int)crit);
  }
  p->rank = r;
  return 0;
}

/* ---------------------------------------------- projection, reconstruction */

static int check_codes(const hcsc_grid *g, const hcsc_pca *p, int64_t r, const hcsc_tile *z,
                       const char *what)
{
  int64_t B, H, W;
  hcsc_grid_scene(g, &B, &H, &W);
  hcsc_box box = hcsc_grid_box(g);
  if (!p || !p->components || p->bands != B)
    return HCSC_ERR(HCSC_ESIZE, "PCA %s: subspace has %lld bands, scene has %lld", what,
                    (long long)(p ? p->bands : 0), (long long)B);
  if (r < 1 || r > B)
    return HCSC_ERR(HCSC_EINVAL, "PCA %s: rank %lld out of range (1 .. %lld bands)", what, (long long)r,
                    (long long)B);
  if (!z || !z->data || z->nchan < r || z->box.nr != box.nr || z->box.nc != box.nc)
    return HCSC_ERR(HCSC_ESIZE, "PCA %s: code tile does not match the grid box or has fewer than %lld "
                    "channels", what, (long long)r);
  return 0;
}

int hcsc_pca_project(const hcsc_grid *g, const hcsc_pca *p, int64_t r, const hcsc_tile *x, hcsc_tile *z)
{
  int err = 0, dims[3] = {1, 1, 1};
  double *acc = NULL;
  MPI_Comm comm = g ? hcsc_grid_comm(g) : MPI_COMM_NULL;
  if (!g) return HCSC_ERR(HCSC_EINVAL, "PCA projection: no grid");
  hcsc_grid_dims(g, dims);
  hcsc_box box = hcsc_grid_box(g);
  err = check_codes(g, p, r, z, "projection");
  if (!err && (!x || !x->data || x->box.nb != box.nb || x->box.nr != box.nr || x->box.nc != box.nc))
    err = HCSC_ERR(HCSC_ESIZE, "PCA projection: scene tile does not match the grid box");
  int64_t nc = box.nc, rows = r > 0 && nc > 0 ? (1 << 20) / (r * nc) : 1;
  if (rows < 1) rows = 1;
  if (rows > box.nr) rows = box.nr;
  if (!err) {
    acc = calloc((size_t)(r * nc * (rows ? rows : 1)), sizeof *acc);
    if (!acc) err = HCSC_ERR(HCSC_ENOMEM, "PCA projection: out of memory");
  }
  HCSC_CHECK(hcsc_error_agree(comm, err));
  const int64_t B = p->bands;
  for (int64_t r0 = 0; r0 < box.nr; r0 += rows) {
    int64_t nr = box.nr - r0 < rows ? box.nr - r0 : rows, n = nr * nc;
    hcsc_timer_start(HCSC_PHASE_COMPUTE);
    memset(acc, 0, (size_t)(r * n) * sizeof *acc);
    for (int64_t b = 0; b < box.nb; b++) {
      double mu = p->mean[box.b0 + b];
      for (int64_t i = 0; i < nr; i++) {
        const float *xr = &HCSC_TILE_AT(x, b, r0 + i, 0);
        for (int64_t k = 0; k < r; k++) {
          double pk = p->components[k * B + box.b0 + b];
          double *a = acc + k * n + i * nc;
          for (int64_t c = 0; c < nc; c++) a[c] += pk * ((double)xr[c] - mu);
        }
      }
    }
    hcsc_timer_stop(HCSC_PHASE_COMPUTE);
    /* Every rank of a spectral group shares the box, so all take the same
     * number of chunks and the reductions pair up. */
    if (dims[0] > 1)
      HCSC_CHECK(hcsc_error_agree(hcsc_grid_spectral_comm(g),
                                  hcsc_grid_allreduce(g, HCSC_SCOPE_SPECTRAL, acc, (int)(r * n), MPI_DOUBLE,
                                                      MPI_SUM)));
    for (int64_t k = 0; k < r; k++)
      for (int64_t i = 0; i < nr; i++) {
        float *zr = &HCSC_TILE_AT(z, k, r0 + i, 0);
        for (int64_t c = 0; c < nc; c++) zr[c] = (float)acc[k * n + i * nc + c];
      }
  }
cleanup:
  free(acc);
  return err;
}

int hcsc_pca_reconstruct(const hcsc_grid *g, const hcsc_pca *p, int64_t r, const hcsc_tile *z,
                         hcsc_tile *xr)
{
  int err = 0;
  double *acc = NULL;
  if (!g) return HCSC_ERR(HCSC_EINVAL, "PCA reconstruction: no grid");
  hcsc_box box = hcsc_grid_box(g);
  HCSC_CHECK(check_codes(g, p, r, z, "reconstruction"));
  if (!xr || !xr->data || xr->box.nb != box.nb || xr->box.nr != box.nr || xr->box.nc != box.nc)
    HCSC_FAIL(HCSC_ESIZE, "PCA reconstruction: output tile does not match the grid box");
  const int64_t B = p->bands, nc = box.nc;
  HCSC_CALLOC(acc, nc);
  hcsc_timer_start(HCSC_PHASE_COMPUTE);
  for (int64_t b = 0; b < box.nb; b++) {
    double mu = p->mean[box.b0 + b];
    for (int64_t i = 0; i < box.nr; i++) {
      for (int64_t c = 0; c < nc; c++) acc[c] = mu;
      for (int64_t k = 0; k < r; k++) {
        double pk = p->components[k * B + box.b0 + b];
        const float *zr = &HCSC_TILE_AT(z, k, i, 0);
        for (int64_t c = 0; c < nc; c++) acc[c] += pk * zr[c];
      }
      float *o = &HCSC_TILE_AT(xr, b, i, 0);
      for (int64_t c = 0; c < nc; c++) o[c] = (float)acc[c];
    }
  }
  hcsc_timer_stop(HCSC_PHASE_COMPUTE);
cleanup:
  free(acc);
  return err;
}
