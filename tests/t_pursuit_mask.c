/* Sparse pursuit with data-term weights (mask W and band weights w) on a
 * 30 x 40 scene of C = 6 bands synthesised from a random dictionary (M = 8,
 * k = 5) and sparse codes:
 *  - inpainting: half of the pixels missing (mask from the counter RNG,
 *    missing pixels NaN in x); FISTA with the mask recovers them: RMSE of
 *    D z against the clean scene there < 0.3 x the RMSE of zero fill;
 *  - the distributed solve equals the 1-rank one (1e-4 of the largest
 *    coefficient, objective 1e-5) on the default grid and on spectral
 *    grids, with a 1-channel mask and band weights, and with a per-band
 *    mask;
 *  - a band of weight 0 does not influence the codes (the same codes when
 *    that band is replaced by noise), while with weight 1 it does;
 *  - bad masks (another box, a value > 1, a NaN value, the wrong channel
 *    count), a negative band weight and NaN in x where W > 0 fail with the
 *    same code on every rank. */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hypercsc.h"
#include "testutil.h"

#define H    30
#define W    40
#define C    6
#define M    8
#define K    5
#define SEED 77

static float clean[C * H * W]; /* the clean scene, global layout (band, row, col) */

/* Sparse codes (1.5% nonzero, Gaussian amplitudes) through the dictionary,
 * computed on every rank over MPI_COMM_SELF (the scene is small). */
static void make_scene(const hcsc_dict *d)
{
  hcsc_grid *g = NULL;
  hcsc_conv *op = NULL;
  hcsc_halo *hz = NULL;
  hcsc_tile z, x;
  int dims[3] = {1, 1, 1};
  memset(&z, 0, sizeof z);
  memset(&x, 0, sizeof x);
  TEST_OK(hcsc_grid_create(MPI_COMM_SELF, C, H, W, dims, &g));
  hcsc_box box = hcsc_grid_box(g);
  TEST_OK(hcsc_tile_alloc(&z, &box, M, 2));
  TEST_OK(hcsc_tile_alloc(&x, &box, C, 0));
  TEST_OK(hcsc_halo_create(g, 2, M, &hz));
  TEST_OK(hcsc_conv_create(d, &box, H, W, HCSC_CONV_DIRECT, &op));
  for (int m = 0; m < M; m++)
    for (int i = 0; i < H; i++)
      for (int j = 0; j < W; j++)
        if (hcsc_rng_uniform(SEED, 1, m, i, j) < 0.015)
          HCSC_TILE_AT(&z, m, i, j) = (float)(2.0 * hcsc_rng_normal(SEED, 2, m, i, j));
  TEST_OK(hcsc_halo_exchange(hz, &z));
  TEST_OK(hcsc_conv_synth(op, &z, &x));
  for (int c = 0; c < C; c++)
    for (int i = 0; i < H; i++)
      for (int j = 0; j < W; j++)
        clean[(c * H + i) * W + j] = HCSC_TILE_AT(&x, c, i, j);
  hcsc_conv_destroy(&op);
  hcsc_halo_destroy(&hz);
  hcsc_tile_free(&z);
  hcsc_tile_free(&x);
  hcsc_grid_destroy(&g);
}

/* Missing pixel?  per_band 0: one mask for all bands (50%); 1: each band
 * its own (40%). */
static int missing(int per_band, int64_t c, int64_t i, int64_t j)
{
  return per_band ? hcsc_rng_uniform(SEED, 4, c, i, j) < 0.4
                  : hcsc_rng_uniform(SEED, 3, 0, i, j) < 0.5;
}

/* This rank's scene tile (NaN where missing if mask) and mask tile
 * (mask_ch channels: 1, or the band slice). */
static void make_tiles(const hcsc_grid *g, int per_band, int use_mask, hcsc_tile *x, hcsc_tile *mk)
{
  hcsc_box box = hcsc_grid_box(g);
  TEST_OK(hcsc_tile_alloc(x, &box, box.nb, 1));
  TEST_OK(hcsc_tile_alloc(mk, &box, per_band ? box.nb : 1, 0));
  for (int64_t c = 0; c < box.nb; c++)
    for (int64_t i = 0; i < box.nr; i++)
      for (int64_t j = 0; j < box.nc; j++) {
        const int64_t b = box.b0 + c, r = box.r0 + i, q = box.c0 + j;
        const int miss = use_mask && missing(per_band, b, r, q);
        HCSC_TILE_AT(x, c, i, j) = miss ? NAN : clean[(b * H + r) * W + q];
        if (per_band || c == 0) HCSC_TILE_AT(mk, per_band ? c : 0, i, j) = miss ? 0.0f : 1.0f;
      }
}

static void opts(hcsc_pursuit_opts *o, double lambda, int iters)
{
  hcsc_pursuit_opts_default(o);
  o->solver = HCSC_PURSUIT_FISTA;
  o->lambda = lambda;
  o->iters = iters;
  o->tol = 0;
  o->backend = HCSC_CONV_DIRECT;
}

/* Inpainting on the default grid. */
static void check_inpaint(const hcsc_dict *d)
{
  hcsc_grid *g = NULL;
  hcsc_conv *op = NULL;
  hcsc_halo *hz = NULL;
  hcsc_tile x, mk, z, s;
  memset(&x, 0, sizeof x);
  memset(&mk, 0, sizeof mk);
  memset(&z, 0, sizeof z);
  memset(&s, 0, sizeof s);
  TEST_OK(hcsc_grid_create(MPI_COMM_WORLD, C, H, W, NULL, &g));
  hcsc_box box = hcsc_grid_box(g);
  make_tiles(g, 0, 1, &x, &mk);
  TEST_OK(hcsc_tile_alloc(&z, &box, M, 2));
  TEST_OK(hcsc_tile_alloc(&s, &box, C, 0));
  hcsc_pursuit_opts o;
  opts(&o, 0.005, 400);
  o.mask = &mk;
  hcsc_pursuit_stats st;
  TEST_OK(hcsc_pursuit_solve(g, d, &x, &z, &o, &st));
  TEST_OK(hcsc_halo_create(g, 2, M, &hz));
  TEST_OK(hcsc_conv_create(d, &box, H, W, HCSC_CONV_DIRECT, &op));
  TEST_OK(hcsc_halo_exchange(hz, &z));
  TEST_OK(hcsc_conv_synth(op, &z, &s));
  double e[3] = {0, 0, 0}; /* recovered error^2, zero-fill error^2, count */
  for (int64_t c = 0; c < C; c++)
    for (int64_t i = 0; i < box.nr; i++)
      for (int64_t j = 0; j < box.nc; j++) {
        if (HCSC_TILE_AT(&mk, 0, i, j) > 0) continue;
        const double t = clean[(c * H + box.r0 + i) * W + box.c0 + j];
        const double r = HCSC_TILE_AT(&s, c, i, j) - t;
        e[0] += r * r;
        e[1] += t * t;
        e[2] += 1;
      }
  MPI_Allreduce(MPI_IN_PLACE, e, 3, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  const double rmse = sqrt(e[0] / e[2]), rmse0 = sqrt(e[1] / e[2]);
  TEST_ASSERT(e[2] > 0.4 * C * H * W && e[2] < 0.6 * C * H * W, "missing count %g", e[2]);
  TEST_ASSERT(rmse < 0.3 * rmse0, "inpainting RMSE %g vs zero fill %g (ratio %g)", rmse, rmse0,
              rmse / rmse0);
  if (test_rank() == 0)
    printf("inpainting, %.0f%% missing: RMSE %.4g, zero fill %.4g, ratio %.3f (%d iterations)\n",
           100.0 * e[2] / (C * H * W), rmse, rmse0, rmse / rmse0, st.iters);
  hcsc_pursuit_stats_free(&st);
  hcsc_conv_destroy(&op);
  hcsc_halo_destroy(&hz);
  hcsc_tile_free(&x);
  hcsc_tile_free(&mk);
  hcsc_tile_free(&z);
  hcsc_tile_free(&s);
  hcsc_grid_destroy(&g);
}

#define NIT 60

/* Solve variant v (0: 1-channel mask + band weights, 1: per-band mask) on
 * grid g; z_out (M*H*W, global layout) gets this rank's interior. */
static int solve_variant(const hcsc_grid *g, const hcsc_dict *d, int v, float *z_out,
                         hcsc_pursuit_stats *st)
{
  static const double bw[C] = {1.0, 0.5, 2.0, 0.25, 1.5, 0.75};
  hcsc_box box = hcsc_grid_box(g);
  hcsc_tile x, mk, z;
  memset(&x, 0, sizeof x);
  memset(&mk, 0, sizeof mk);
  memset(&z, 0, sizeof z);
  make_tiles(g, v, 1, &x, &mk);
  TEST_OK(hcsc_tile_alloc(&z, &box, M, 2));
  hcsc_pursuit_opts o;
  opts(&o, 0.02, NIT);
  o.mask = &mk;
  o.band_weights = v == 0 ? bw : NULL;
  int rc = hcsc_pursuit_solve(g, d, &x, &z, &o, st);
  memset(z_out, 0, sizeof(float) * M * H * W);
  for (int64_t m = 0; m < M; m++)
    for (int64_t i = 0; i < box.nr; i++)
      for (int64_t j = 0; j < box.nc; j++)
        z_out[(m * H + box.r0 + i) * W + box.c0 + j] = HCSC_TILE_AT(&z, m, i, j);
  hcsc_tile_free(&x);
  hcsc_tile_free(&mk);
  hcsc_tile_free(&z);
  return rc;
}

static void check_distributed(const hcsc_dict *d)
{
  const int size = test_size();
  float *zref = malloc(sizeof(float) * M * H * W), *z = malloc(sizeof(float) * M * H * W);
  int grids[3][3] = {{1, 0, 0}, {size, 1, 1}, {2, 2, 1}};
  const int ngrids = size == 1 ? 1 : (size == 4 ? 3 : 2);
  for (int v = 0; v < 2; v++) {
    double objref = 0;
    if (test_rank() == 0) {
      hcsc_grid *g1 = NULL;
      int dims[3] = {1, 1, 1};
      hcsc_pursuit_stats st;
      TEST_OK(hcsc_grid_create(MPI_COMM_SELF, C, H, W, dims, &g1));
      TEST_OK(solve_variant(g1, d, v, zref, &st));
      objref = st.objective ? st.objective[NIT] : 0;
      TEST_ASSERT(st.objective && st.objective[NIT] < 0.5 * st.objective[0],
                  "no progress: %g -> %g", st.objective ? st.objective[0] : 0, objref);
      hcsc_pursuit_stats_free(&st);
      hcsc_grid_destroy(&g1);
    }
    MPI_Bcast(zref, M * H * W, MPI_FLOAT, 0, MPI_COMM_WORLD);
    MPI_Bcast(&objref, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    for (int gi = 0; gi < ngrids; gi++) {
      hcsc_grid *g = NULL;
      hcsc_pursuit_stats st;
      TEST_OK(hcsc_grid_create(MPI_COMM_WORLD, C, H, W, grids[gi], &g));
      if (!g) continue;
      int dims[3];
      hcsc_grid_dims(g, dims);
      TEST_OK(solve_variant(g, d, v, z, &st));
      hcsc_box box = hcsc_grid_box(g);
      double emax, zmax;
      test_box_maxdiff(z, zref, M, H, W, &box, &emax, &zmax);
      TEST_ASSERT(zmax > 0 && emax <= 1e-4 * zmax,
                  "variant %d on %dx%dx%d: max diff %g (max |z| %g)", v, dims[0], dims[1], dims[2],
                  emax, zmax);
      if (st.objective) TEST_NEAR(st.objective[NIT], objref, 1e-5);
      if (test_rank() == 0)
        printf("%s on %dx%dx%d: max diff %.3g (max |z| %.3g)\n",
               v ? "per-band mask" : "mask + band weights", dims[0], dims[1], dims[2], emax, zmax);
      hcsc_pursuit_stats_free(&st);
      hcsc_grid_destroy(&g);
    }
  }
  free(zref);
  free(z);
}

/* Max |z_a - z_b| over this rank's codes, reduced. */
static double code_diff(const hcsc_tile *a, const hcsc_tile *b, double *zmax)
{
  double e[2] = {0, 0};
  for (int64_t m = 0; m < M; m++)
    for (int64_t i = 0; i < a->box.nr; i++)
      for (int64_t j = 0; j < a->box.nc; j++) {
        e[0] = fmax(e[0], fabs((double)HCSC_TILE_AT(a, m, i, j) - HCSC_TILE_AT(b, m, i, j)));
        e[1] = fmax(e[1], fabs((double)HCSC_TILE_AT(a, m, i, j)));
      }
  MPI_Allreduce(MPI_IN_PLACE, e, 2, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  *zmax = e[1];
  return e[0];
}

/* Band 2 weighted 0: replacing it by noise changes nothing. */
static void check_zero_weight(const hcsc_dict *d)
{
  const double bw[C] = {1, 1, 0, 1, 1, 1};
  hcsc_grid *g = NULL;
  hcsc_tile x, xn, mk, za, zb;
  memset(&x, 0, sizeof x);
  memset(&xn, 0, sizeof xn);
  memset(&mk, 0, sizeof mk);
  memset(&za, 0, sizeof za);
  memset(&zb, 0, sizeof zb);
  const int size = test_size();
  /* Band slices, so that only some ranks see the noisy band. */
  int dims[3] = {size % 2 ? size : 2, 0, 0};
  TEST_OK(hcsc_grid_create(MPI_COMM_WORLD, C, H, W, dims, &g));
  if (!g) return;
  hcsc_box box = hcsc_grid_box(g);
  make_tiles(g, 0, 0, &x, &mk);
  hcsc_tile_free(&mk);
  make_tiles(g, 0, 0, &xn, &mk);
  for (int64_t c = 0; c < box.nb; c++)
    if (box.b0 + c == 2)
      for (int64_t i = 0; i < box.nr; i++)
        for (int64_t j = 0; j < box.nc; j++)
          HCSC_TILE_AT(&xn, c, i, j) =
              (float)(3.0 * hcsc_rng_normal(SEED, 9, 2, box.r0 + i, box.c0 + j));
  TEST_OK(hcsc_tile_alloc(&za, &box, M, 2));
  TEST_OK(hcsc_tile_alloc(&zb, &box, M, 2));
  hcsc_pursuit_opts o;
  opts(&o, 0.02, 40);
  o.band_weights = bw;
  TEST_OK(hcsc_pursuit_solve(g, d, &x, &za, &o, NULL));
  TEST_OK(hcsc_pursuit_solve(g, d, &xn, &zb, &o, NULL));
  double zmax, e = code_diff(&za, &zb, &zmax);
  TEST_ASSERT(zmax > 0 && e <= 1e-6 * zmax, "band of weight 0 changed the codes by %g (max |z| %g)",
              e, zmax);
  /* Control: with weight 1 the noise does change them. */
  memset(za.data, 0, sizeof(float) * (size_t)(za.nchan * za.ldr * za.ldc));
  memset(zb.data, 0, sizeof(float) * (size_t)(zb.nchan * zb.ldr * zb.ldc));
  o.band_weights = NULL;
  TEST_OK(hcsc_pursuit_solve(g, d, &x, &za, &o, NULL));
  TEST_OK(hcsc_pursuit_solve(g, d, &xn, &zb, &o, NULL));
  const double e1 = code_diff(&za, &zb, &zmax);
  TEST_ASSERT(e1 > 1e-2 * zmax, "noise on an unweighted band changed the codes by only %g", e1);
  if (test_rank() == 0)
    printf("band 2 replaced by noise: code change %.3g with weight 0, %.3g with weight 1\n", e, e1);
  hcsc_tile_free(&x);
  hcsc_tile_free(&xn);
  hcsc_tile_free(&mk);
  hcsc_tile_free(&za);
  hcsc_tile_free(&zb);
  hcsc_grid_destroy(&g);
}

static void check_errors(const hcsc_dict *d)
{
  const int last = test_rank() == test_size() - 1;
  hcsc_grid *g = NULL;
  hcsc_tile x, mk, z, bad;
  memset(&x, 0, sizeof x);
  memset(&mk, 0, sizeof mk);
  memset(&z, 0, sizeof z);
  memset(&bad, 0, sizeof bad);
  TEST_OK(hcsc_grid_create(MPI_COMM_WORLD, C, H, W, NULL, &g));
  hcsc_box box = hcsc_grid_box(g);
  make_tiles(g, 0, 1, &x, &mk);
  TEST_OK(hcsc_tile_alloc(&z, &box, M, 2));
  hcsc_pursuit_opts o;
  opts(&o, 0.02, 3);
  o.mask = &mk;
  int rc;

  /* Another box on the last rank. */
  hcsc_box ob = box;
  ob.r0 += 1;
  TEST_OK(hcsc_tile_alloc(&bad, &ob, 1, 0));
  for (int64_t i = 0; i < bad.ldr * bad.ldc; i++)
    bad.data[i] = 1.0f;
  o.mask = last ? &bad : &mk;
  rc = hcsc_pursuit_solve(g, d, &x, &z, &o, NULL);
  test_expect_error(rc, HCSC_EINVAL, "mask", "mask on another box");
  hcsc_tile_free(&bad);

  /* Wrong channel count (2 of 6) on the last rank. */
  TEST_OK(hcsc_tile_alloc(&bad, &box, 2, 0));
  for (int64_t i = 0; i < bad.nchan * bad.ldr * bad.ldc; i++)
    bad.data[i] = 1.0f;
  o.mask = last ? &bad : &mk;
  rc = hcsc_pursuit_solve(g, d, &x, &z, &o, NULL);
  test_expect_error(rc, HCSC_EINVAL, "mask", "mask with 2 channels");
  hcsc_tile_free(&bad);
  o.mask = &mk;

  /* Values > 1, NaN. */
  const float keep = HCSC_TILE_AT(&mk, 0, 0, 0);
  if (last) HCSC_TILE_AT(&mk, 0, 0, 0) = 1.5f;
  rc = hcsc_pursuit_solve(g, d, &x, &z, &o, NULL);
  test_expect_error(rc, HCSC_EINVAL, "mask", "mask value 1.5");
  if (last) HCSC_TILE_AT(&mk, 0, 0, 0) = NAN;
  rc = hcsc_pursuit_solve(g, d, &x, &z, &o, NULL);
  test_expect_error(rc, HCSC_EINVAL, "mask", "mask value NaN");
  if (last) HCSC_TILE_AT(&mk, 0, 0, 0) = keep;

  /* NaN in x where the mask keeps the pixel. */
  int64_t bi = -1, bj = -1;
  for (int64_t i = 0; i < box.nr && bi < 0; i++)
    for (int64_t j = 0; j < box.nc && bi < 0; j++)
      if (HCSC_TILE_AT(&mk, 0, i, j) > 0) bi = i, bj = j;
  if (last && bi >= 0) HCSC_TILE_AT(&x, 1, bi, bj) = NAN;
  rc = hcsc_pursuit_solve(g, d, &x, &z, &o, NULL);
  test_expect_error(rc, HCSC_EVALUE, "non-finite", "NaN where W > 0");
  if (last && bi >= 0) HCSC_TILE_AT(&x, 1, bi, bj) = clean[(1 * H + box.r0 + bi) * W + box.c0 + bj];

  /* A negative band weight. */
  const double bw[C] = {1, 1, -1, 1, 1, 1};
  o.band_weights = bw;
  rc = hcsc_pursuit_solve(g, d, &x, &z, &o, NULL);
  test_expect_error(rc, HCSC_EINVAL, "weight", "negative band weight");
  o.band_weights = NULL;
  hcsc_error_clear();

  /* And fine again (NaN where W = 0 is accepted). */
  TEST_OK(hcsc_pursuit_solve(g, d, &x, &z, &o, NULL));
  hcsc_tile_free(&x);
  hcsc_tile_free(&mk);
  hcsc_tile_free(&z);
  hcsc_grid_destroy(&g);
}

int main(int argc, char **argv)
{
  test_init(&argc, &argv);
  hcsc_dict d;
  memset(&d, 0, sizeof d);
  TEST_OK(hcsc_dict_alloc(&d, M, C, K, 1));
  TEST_OK(hcsc_dict_init_random(&d, 11));
  make_scene(&d);
  check_inpaint(&d);
  check_distributed(&d);
  check_zero_weight(&d);
  check_errors(&d);
  hcsc_dict_free(&d);
  return test_finish("t_pursuit_mask");
}
