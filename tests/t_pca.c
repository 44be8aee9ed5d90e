/* PCA of the band covariance.
 *
 * Fixture: B = 12 bands, 21 x 17 pixels, three planted spectra mixed with
 * known abundances, a large mean (200) to exercise the centring, uniform
 * noise of amplitude 1e-3 and a few pixels with one NaN band.  Checked
 * against a serial reference computed here (plain double loops over the
 * whole fixture, LAPACK on its covariance), for every grid G x P x Q that
 * fits the rank count (spectral groups included):
 *   - mean and covariance (relative 1e-12), eigenvalues (1e-10 relative to
 *     the largest: the backward error bound of a symmetric eigensolver),
 *     leading eigenvectors (1e-8; they are sign-normalised), 3 dominant
 *     eigenvalues, their span contains the planted spectra;
 *   - codes on 3 components equal the serial projection; r = B projection
 *     then reconstruction is the identity (1e-5 relative), NaN pixels stay
 *     NaN;
 * plus LAPACK against ScaLAPACK on a matrix with known eigenvalues
 * (B = 40, several block sizes) and on the fixture's covariance; the rank
 * criteria; save and load; bad input (r out of range, a NaN-only scene, a
 * corrupt subspace file) failing with the same code on every rank. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hypercsc.h"
#include "testutil.h"

enum { B = 12, H = 21, W = 17, NPLANT = 3 };
static const double NOISE_AMP = 1e-3, OFFSET = 200.0;

/* Deterministic uniform in [-1, 1) from an integer key (splitmix64). */
static double hash_unit(uint64_t k)
{
  k += 0x9e3779b97f4a7c15ULL;
  k = (k ^ (k >> 30)) * 0xbf58476d1ce4e5b9ULL;
  k = (k ^ (k >> 27)) * 0x94d049bb133111ebULL;
  k ^= k >> 31;
  return (double)(k >> 11) / 4503599627370496.0 - 1.0;
}

static double planted(int j, int b)
{
  double t = (double)b / (B - 1);
  switch (j) {
  case 0: return 1.0 + 0.5 * t;
  case 1: return sin(3.0 * t) + 0.2;
  default: return exp(-8.0 * (t - 0.6) * (t - 0.6));
  }
}

static void make_scene(float *s)
{
  static const double amp[NPLANT] = {10.0, 4.0, 1.5};
  for (int r = 0; r < H; r++)
    for (int c = 0; c < W; c++) {
      double a[NPLANT];
      for (int j = 0; j < NPLANT; j++) a[j] = amp[j] * hash_unit((uint64_t)(j * 1000003 + r * W + c));
      for (int b = 0; b < B; b++) {
        double v = OFFSET;
        for (int j = 0; j < NPLANT; j++) v += a[j] * planted(j, b);
        v += NOISE_AMP * hash_unit((uint64_t)(77777777 + (b * H + r) * W + c));
        s[((int64_t)b * H + r) * W + c] = (float)v;
      }
    }
  /* A few invalid pixels, with the NaN in different band slices. */
  s[((int64_t)0 * H + 3) * W + 4] = NAN;
  s[((int64_t)(B - 1) * H + 10) * W + 16] = NAN;
  s[((int64_t)(B / 2) * H + 20) * W + 0] = NAN;
}

static int pixel_valid(const float *s, int r, int c)
{
  for (int b = 0; b < B; b++)
    if (isnan(s[((int64_t)b * H + r) * W + c])) return 0;
  return 1;
}

/* Serial mean and covariance, two passes in double. */
static int64_t serial_cov(const float *s, double *mu, double *cov)
{
  int64_t n = 0;
  memset(mu, 0, B * sizeof *mu);
  memset(cov, 0, B * B * sizeof *cov);
  for (int r = 0; r < H; r++)
    for (int c = 0; c < W; c++)
      if (pixel_valid(s, r, c)) {
        n++;
        for (int b = 0; b < B; b++) mu[b] += s[((int64_t)b * H + r) * W + c];
      }
  for (int b = 0; b < B; b++) mu[b] /= (double)n;
  for (int r = 0; r < H; r++)
    for (int c = 0; c < W; c++)
      if (pixel_valid(s, r, c))
        for (int i = 0; i < B; i++)
          for (int j = 0; j < B; j++)
            cov[i * B + j] += (s[((int64_t)i * H + r) * W + c] - mu[i]) * (s[((int64_t)j * H + r) * W + c] - mu[j]);
  for (int i = 0; i < B * B; i++) cov[i] /= (double)(n - 1);
  return n;
}

static void fill_tile(hcsc_tile *t, const float *s)
{
  for (int64_t b = 0; b < t->box.nb; b++)
    for (int64_t r = 0; r < t->box.nr; r++)
      for (int64_t c = 0; c < t->box.nc; c++)
        HCSC_TILE_AT(t, b, r, c) = s[((t->box.b0 + b) * H + t->box.r0 + r) * W + t->box.c0 + c];
}

/* Residual of planted spectrum j outside the span of the first k rows of v. */
static double span_residual(const double *v, int k, int j)
{
  double x[B], nx = 0, nr = 0;
  for (int b = 0; b < B; b++) x[b] = planted(j, b), nx += x[b] * x[b];
  for (int i = 0; i < k; i++) {
    double d = 0;
    for (int b = 0; b < B; b++) d += v[i * B + b] * x[b];
    for (int b = 0; b < B; b++) x[b] -= d * v[i * B + b];
  }
  for (int b = 0; b < B; b++) nr += x[b] * x[b];
  return sqrt(nr / nx);
}

/* LAPACK and ScaLAPACK on A = Q diag(1..n) Q^T, Q a Householder reflection. */
static void check_solvers_known(int n, int nb)
{
  double *a = calloc((size_t)n * n, sizeof *a), *u = calloc((size_t)n, sizeof *u);
  double *w1 = calloc((size_t)n, sizeof *w1), *w2 = calloc((size_t)n, sizeof *w2);
  double *v1 = calloc((size_t)n * n, sizeof *v1), *v2 = calloc((size_t)n * n, sizeof *v2);
  double uu = 0;
  for (int i = 0; i < n; i++) u[i] = hash_unit((uint64_t)(5 + i)), uu += u[i] * u[i];
  /* Q[i][k] = delta - 2 u_i u_k / uu; A = sum_k (k + 1) q_k q_k^T. */
  for (int i = 0; i < n; i++)
    for (int j = 0; j < n; j++) {
      double s = 0;
      for (int k = 0; k < n; k++) {
        double qi = (i == k) - 2 * u[i] * u[k] / uu, qj = (j == k) - 2 * u[j] * u[k] / uu;
        s += (k + 1) * qi * qj;
      }
      a[i * n + j] = s;
    }
  TEST_OK(hcsc_pca_eig_lapack(n, a, w1, v1));
  TEST_OK(hcsc_pca_eig_scalapack(MPI_COMM_WORLD, n, a, nb, w2, v2));
  double maxangle = 0;
  for (int k = 0; k < n; k++) {
    TEST_NEAR(w1[k], (double)(n - k), 1e-10);
    TEST_NEAR(w2[k], w1[k], 1e-10);
    double d = 0;
    for (int i = 0; i < n; i++) d += v1[k * n + i] * v2[k * n + i];
    /* Sign-normalised: the same vector, not merely up to sign. */
    TEST_ASSERT(fabs(d - 1) < 1e-10, "n %d nb %d: eigenvector %d: LAPACK . ScaLAPACK = %.15g", n, nb, k, d);
  }
  /* Largest principal angle between the leading 5-dim subspaces:
   * sin^2 = 1 - smallest singular value^2 of V1 V2^T; bounded here by
   * the Frobenius residual of projecting V2 on span V1. */
  for (int k = 0; k < 5 && k < n; k++) {
    double r2 = 0;
    for (int i = 0; i < n; i++) {
      double x = v2[k * n + i];
      for (int l = 0; l < 5 && l < n; l++) {
        double d = 0;
        for (int m = 0; m < n; m++) d += v1[l * n + m] * v2[k * n + m];
        x -= d * v1[l * n + i];
      }
      r2 += x * x;
    }
    if (sqrt(r2) > maxangle) maxangle = sqrt(r2);
  }
  TEST_ASSERT(maxangle < 1e-10, "n %d nb %d: subspace angle %g", n, nb, maxangle);
  free(a), free(u), free(w1), free(w2), free(v1), free(v2);
}

int main(int argc, char **argv)
{
  test_init(&argc, &argv);
  const int rank = test_rank(), size = test_size();
  float *s = malloc((size_t)B * H * W * sizeof *s);
  double mu[B], cov[B * B], wref[B], vref[B * B];
  make_scene(s);
  int64_t nref = serial_cov(s, mu, cov);
  TEST_OK(hcsc_pca_eig_lapack(B, cov, wref, vref));
  /* The planted structure: 3 dominant eigenvalues, spectra in their span. */
  TEST_ASSERT(wref[2] > 1e3 * wref[3], "eigenvalues %g %g %g | %g: not 3 dominant", wref[0], wref[1], wref[2],
              wref[3]);
  for (int j = 0; j < NPLANT; j++)
    TEST_ASSERT(span_residual(vref, 3, j) < 1e-4, "planted spectrum %d outside the leading subspace (%g)", j,
                span_residual(vref, 3, j));
  /* The reference decomposition itself: A v = lambda v, orthonormal. */
  for (int k = 0; k < B; k++)
    for (int i = 0; i < B; i++) {
      double av = 0;
      for (int j = 0; j < B; j++) av += cov[i * B + j] * vref[k * B + j];
      TEST_ASSERT(fabs(av - wref[k] * vref[k * B + i]) < 1e-12 * wref[0], "residual k %d i %d", k, i);
    }

  /* Solvers: LAPACK against ScaLAPACK. */
  check_solvers_known(40, 0);
  check_solvers_known(40, 4);
  check_solvers_known(7, 2);
  {
    double w2[B], v2[B * B];
    TEST_OK(hcsc_pca_eig_scalapack(MPI_COMM_WORLD, B, cov, 0, w2, v2));
    for (int k = 0; k < B; k++) TEST_ASSERT(fabs(w2[k] - wref[k]) < 1e-10 * wref[0], "fixture eigenvalue %d", k);
    for (int k = 0; k < NPLANT; k++)
      for (int i = 0; i < B; i++) TEST_NEAR(v2[k * B + i], vref[k * B + i], 1e-8);
  }

  int shapes = 0;
  for (int g = 1; g <= size; g++)
    for (int p = 1; p <= size; p++) {
      if (size % (g * p)) continue;
      int dims[3] = {g, p, size / (g * p)};
      hcsc_grid *grid = NULL;
      hcsc_tile t = {0}, z = {0}, xr = {0};
      hcsc_pca pc = {0}, ps = {0};
      TEST_OK(hcsc_grid_create(MPI_COMM_WORLD, B, H, W, dims, &grid));
      if (!grid) continue;
      shapes++;
      hcsc_box box = hcsc_grid_box(grid);
      TEST_OK(hcsc_tile_alloc(&t, &box, box.nb, (g + p) % 2)); /* with and without a halo */
      TEST_OK(hcsc_tile_alloc(&z, &box, B, 0));
      TEST_OK(hcsc_tile_alloc(&xr, &box, box.nb, 1));
      fill_tile(&t, s);

      double dmu[B], dcov[B * B];
      int64_t n = 0;
      TEST_OK(hcsc_pca_covariance(grid, &t, dmu, dcov, &n));
      TEST_ASSERT(n == nref, "grid %dx%dx%d: %lld valid pixels, expected %lld", g, p, dims[2], (long long)n,
                  (long long)nref);
      for (int i = 0; i < B; i++) TEST_NEAR(dmu[i], mu[i], 1e-12);
      for (int i = 0; i < B * B; i++)
        TEST_ASSERT(fabs(dcov[i] - cov[i]) <= 1e-12 * cov[0], "grid %dx%dx%d: cov[%d] %.17g vs %.17g", g, p,
                    dims[2], i, dcov[i], cov[i]);

      for (int solver = HCSC_EIG_LAPACK; solver <= HCSC_EIG_SCALAPACK; solver++) {
        hcsc_pca *pp = solver == HCSC_EIG_LAPACK ? &pc : &ps;
        TEST_OK(hcsc_pca_compute(grid, &t, (hcsc_eigensolver)solver, pp));
        if (!pp->components) continue;
        TEST_ASSERT(pp->solver == (hcsc_eigensolver)solver, "solver recorded");
        for (int k = 0; k < B; k++)
          TEST_ASSERT(fabs(pp->eigenvalues[k] - wref[k]) <= 1e-10 * wref[0], "grid %dx%dx%d %s: eigenvalue %d",
                      g, p, dims[2], hcsc_eigensolver_name(pp->solver), k);
        for (int k = 0; k < NPLANT; k++)
          for (int i = 0; i < B; i++) TEST_NEAR(pp->components[k * B + i], vref[k * B + i], 1e-8);
      }
      if (!pc.components) goto next;

      /* Codes on 3 components against the serial projection. */
      TEST_OK(hcsc_pca_project(grid, &pc, NPLANT, &t, &z));
      for (int64_t r = 0; r < box.nr; r++)
        for (int64_t c = 0; c < box.nc; c++) {
          int64_t gr = box.r0 + r, gc = box.c0 + c;
          int ok = pixel_valid(s, (int)gr, (int)gc);
          for (int k = 0; k < NPLANT; k++) {
            double zs = 0;
            for (int b = 0; b < B; b++) zs += vref[k * B + b] * (s[((int64_t)b * H + gr) * W + gc] - mu[b]);
            float zd = HCSC_TILE_AT(&z, k, r, c);
            if (!ok) TEST_ASSERT(isnan(zd), "NaN pixel (%lld, %lld) has code %g", (long long)gr, (long long)gc, zd);
            else TEST_ASSERT(fabs(zd - zs) <= 1e-5 * fmax(1, fabs(zs)), "code %d at (%lld, %lld): %.9g vs %.9g",
                             k, (long long)gr, (long long)gc, zd, zs);
          }
        }
      /* r = B: projection then reconstruction is the identity. */
      TEST_OK(hcsc_pca_project(grid, &pc, B, &t, &z));
      TEST_OK(hcsc_pca_reconstruct(grid, &pc, B, &z, &xr));
      for (int64_t b = 0; b < box.nb; b++)
        for (int64_t r = 0; r < box.nr; r++)
          for (int64_t c = 0; c < box.nc; c++) {
            float x = HCSC_TILE_AT(&t, b, r, c), y = HCSC_TILE_AT(&xr, b, r, c);
            if (!pixel_valid(s, (int)(box.r0 + r), (int)(box.c0 + c))) TEST_ASSERT(isnan(y), "NaN lost");
            else TEST_ASSERT(fabs(x - y) <= 1e-5 * fabs(x), "round trip (%lld %lld %lld): %.9g vs %.9g",
                             (long long)(box.b0 + b), (long long)(box.r0 + r), (long long)(box.c0 + c), y, x);
          }
      /* Bad ranks: the same error on every rank. */
      TEST_ASSERT(hcsc_pca_project(grid, &pc, B + 1, &t, &z) == HCSC_EINVAL, "r > B accepted");
      TEST_ASSERT(hcsc_pca_project(grid, &pc, 0, &t, &z) == HCSC_EINVAL, "r = 0 accepted");
      TEST_ASSERT(strstr(hcsc_error_message(), "rank 0 out of range") != NULL, "message: %s", hcsc_error_message());
      /* A NaN-only scene. */
      for (int64_t i = 0; i < t.nchan * t.ldr * t.ldc; i++) t.data[i] = NAN;
      hcsc_pca pn = {0};
      int rc = hcsc_pca_compute(grid, &t, HCSC_EIG_LAPACK, &pn);
      TEST_ASSERT(rc == HCSC_EVALUE, "NaN-only scene: %d (%s)", rc, hcsc_error_message());
      TEST_ASSERT(strstr(hcsc_error_message(), "0 valid pixel") != NULL, "message: %s", hcsc_error_message());
    next:
      hcsc_pca_free(&pc);
      hcsc_pca_free(&ps);
      hcsc_tile_free(&t);
      hcsc_tile_free(&z);
      hcsc_tile_free(&xr);
      hcsc_grid_destroy(&grid);
    }
  TEST_ASSERT(shapes >= 1, "no grid shape tried");

  /* Rank criteria, save and load, on the serial reference. */
  hcsc_pca ref = {0}, back = {0};
  ref.bands = B;
  ref.npixels = nref;
  ref.mean = calloc(B, sizeof(double));
  ref.eigenvalues = calloc(B, sizeof(double));
  ref.components = calloc(B * B, sizeof(double));
  memcpy(ref.mean, mu, sizeof mu);
  memcpy(ref.eigenvalues, wref, sizeof wref);
  memcpy(ref.components, vref, sizeof vref);
  ref.solver = HCSC_EIG_LAPACK;
  double sigma[B];
  for (int b = 0; b < B; b++) sigma[b] = NOISE_AMP / sqrt(3.0); /* uniform noise std */
  TEST_OK(hcsc_pca_choose_rank(&ref, HCSC_PCA_NOISE, 0, sigma));
  TEST_ASSERT(ref.rank == NPLANT, "noise-aware rank %lld, expected %d", (long long)ref.rank, NPLANT);
  TEST_OK(hcsc_pca_choose_rank(&ref, HCSC_PCA_VARIANCE, 0.999, NULL));
  TEST_ASSERT(ref.rank >= 2 && ref.rank <= NPLANT, "variance rank %lld", (long long)ref.rank);
  TEST_ASSERT(hcsc_pca_explained(&ref, ref.rank) >= 0.999, "explained");
  TEST_ASSERT(hcsc_pca_choose_rank(&ref, HCSC_PCA_RANK, B + 1, NULL) == HCSC_EINVAL, "rank B+1 accepted");
  TEST_ASSERT(hcsc_pca_choose_rank(&ref, HCSC_PCA_RANK, 0, NULL) == HCSC_EINVAL, "rank 0 accepted");
  TEST_ASSERT(hcsc_pca_choose_rank(&ref, HCSC_PCA_VARIANCE, 1.5, NULL) == HCSC_EINVAL, "variance 1.5 accepted");
  TEST_OK(hcsc_pca_choose_rank(&ref, HCSC_PCA_RANK, 5, NULL));
  TEST_ASSERT(ref.rank == 5, "rank 5");

  char path[1024], bad[1024];
  snprintf(path, sizeof path, "%s/sub.nc", test_tmp_dir());
  snprintf(bad, sizeof bad, "%s/bad.nc", test_tmp_dir());
  TEST_OK(hcsc_pca_save(MPI_COMM_WORLD, &ref, path, 0));
  TEST_ASSERT(hcsc_pca_save(MPI_COMM_WORLD, &ref, path, 0) == HCSC_EEXIST, "overwrite without force");
  TEST_OK(hcsc_pca_save(MPI_COMM_WORLD, &ref, path, 1));
  TEST_OK(hcsc_pca_load(MPI_COMM_WORLD, path, &back));
  if (back.components) {
    TEST_ASSERT(back.bands == B && back.rank == 5 && back.npixels == nref, "header");
    TEST_ASSERT(memcmp(back.components, vref, sizeof vref) == 0, "components not bit-exact");
    TEST_ASSERT(memcmp(back.eigenvalues, wref, sizeof wref) == 0, "eigenvalues not bit-exact");
    TEST_ASSERT(memcmp(back.mean, mu, sizeof mu) == 0, "mean not bit-exact");
    TEST_ASSERT(strcmp(back.method, "rank") == 0, "method '%s'", back.method);
  }
  hcsc_pca_free(&back);
  /* A corrupt file: the saved one truncated, and one that is not NetCDF. */
  if (rank == 0) {
    FILE *in = fopen(path, "rb"), *out = fopen(bad, "wb");
    char buf[300];
    size_t got = in ? fread(buf, 1, sizeof buf, in) : 0;
    if (out) fwrite(buf, 1, got, out), fclose(out);
    if (in) fclose(in);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  int rc = hcsc_pca_load(MPI_COMM_WORLD, bad, &back);
  TEST_ASSERT(rc == HCSC_EFORMAT, "truncated subspace: %d (%s)", rc, hcsc_error_message());
  TEST_ASSERT(strstr(hcsc_error_message(), "bad.nc") != NULL, "message does not name the file: %s",
              hcsc_error_message());
  if (rank == 0) {
    FILE *out = fopen(bad, "wb");
    if (out) fputs("not a netcdf file\n", out), fclose(out);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  rc = hcsc_pca_load(MPI_COMM_WORLD, bad, &back);
  TEST_ASSERT(rc == HCSC_EFORMAT, "text file as subspace: %d (%s)", rc, hcsc_error_message());
  snprintf(bad, sizeof bad, "%s/missing.nc", test_tmp_dir());
  rc = hcsc_pca_load(MPI_COMM_WORLD, bad, &back);
  TEST_ASSERT(rc == HCSC_ENOENT, "missing subspace: %d (%s)", rc, hcsc_error_message());
  hcsc_pca_free(&ref);
  free(s);
  return test_finish("t_pca");
}
