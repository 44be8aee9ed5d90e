/* ADMM convolutional BPDN (hcsc/admm.h):
 *  - the plan's circular D equals hcsc_conv_synth on the interior of a
 *    region (k = 4 and 5, C = 3), so atoms are placed as in conv.h;
 *  - ADMM, ISTA and FISTA reach the same objective (relative 1e-4), C = 1
 *    and C = 3.  ISTA/FISTA use the symmetric scene edge and ADMM a padded
 *    circular one, so the fixture has x = 0 on a margin of 2k at the edges
 *    (planted codes and noise inside): the optimum has zero codes near the
 *    edge and the two boundary models have the same optimum;
 *  - distributed ADMM vs 1-rank ADMM (same overlap, fixed rho and
 *    iterations) on every P x Q grid: the max difference shrinks as the
 *    overlap grows (2k, 4k, 8k) and is small at 8k;
 *  - inpainting with 50% of the pixels missing (counter-RNG mask) on a scene
 *    synthesised from the dictionary: RMSE of D z on the missing pixels is
 *    far below zero fill (ratio < 0.3);
 *  - residual balancing from a bad rho changes rho and still converges;
 *  - bad input on every rank: lambda <= 0, NaN, mask of another size,
 *    dictionary channels != scene channels. */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hypercsc.h"
#include "testutil.h"

/* Copy a global array (nch x H x W) into a tile's interior. */
static void to_tile(const float *a, int64_t H, int64_t W, hcsc_tile *t)
{
  (void)H;
  for (int64_t c = 0; c < t->nchan; c++)
    for (int64_t i = 0; i < t->box.nr; i++)
      for (int64_t j = 0; j < t->box.nc; j++)
        HCSC_TILE_AT(t, c, i, j) = a[(c * H + t->box.r0 + i) * W + t->box.c0 + j];
}

/* ---- circular D vs hcsc_conv_synth ---- */
static void check_circular(int k)
{
  const int R = 20, Q = 18, C = 3, M = 4;
  hcsc_dict d;
  hcsc_admm_plan *p = NULL;
  hcsc_conv *op = NULL;
  hcsc_tile zt, xt;
  memset(&d, 0, sizeof d);
  memset(&zt, 0, sizeof zt);
  memset(&xt, 0, sizeof xt);
  TEST_OK(hcsc_dict_alloc(&d, M, C, k, 1));
  TEST_OK(hcsc_dict_init_random(&d, 11));
  hcsc_admm_opts o;
  hcsc_admm_opts_default(&o);
  TEST_OK(hcsc_admm_plan_create(&d, R, Q, &o, &p));
  hcsc_box box = {0, C, 0, R, 0, Q};
  TEST_OK(hcsc_conv_create(&d, &box, R, Q, HCSC_CONV_DIRECT, &op));
  const int h = hcsc_conv_halo(op);
  TEST_OK(hcsc_tile_alloc(&zt, &box, M, h));
  TEST_OK(hcsc_tile_alloc(&xt, &box, C, 0));
  float *z = malloc(sizeof(float) * M * R * Q), *x = malloc(sizeof(float) * C * R * Q);
  for (int m = 0; m < M; m++)
    for (int i = 0; i < R; i++)
      for (int j = 0; j < Q; j++)
        z[(m * R + i) * Q + j] = HCSC_TILE_AT(&zt, m, i, j) = (float)hcsc_rng_normal(3, 1, m, i, j);
  /* Fill the halo by the scene-edge rule (only the interior is compared). */
  for (int m = 0; m < M; m++)
    for (int i = -h; i < R + h; i++)
      for (int j = -h; j < Q + h; j++)
        HCSC_TILE_AT(&zt, m, i, j) = z[(m * R + hcsc_mirror_index(i, R)) * Q + hcsc_mirror_index(j, Q)];
  TEST_OK(hcsc_conv_synth(op, &zt, &xt));
  TEST_OK(hcsc_admm_plan_synth(p, z, x));
  double emax = 0, xmax = 0;
  for (int c = 0; c < C; c++)
    for (int i = k; i < R - k; i++)
      for (int j = k; j < Q - k; j++) {
        emax = fmax(emax, fabs((double)x[(c * R + i) * Q + j] - HCSC_TILE_AT(&xt, c, i, j)));
        xmax = fmax(xmax, fabs((double)HCSC_TILE_AT(&xt, c, i, j)));
      }
  TEST_ASSERT(xmax > 0 && emax <= 1e-5 * xmax, "k %d: circular D vs conv_synth: max diff %g (max %g)", k,
              emax, xmax);
  if (test_rank() == 0) printf("circular D vs hcsc_conv_synth, k = %d: max diff %.3g (max |x| %.3g)\n", k, emax, xmax);
  free(z);
  free(x);
  hcsc_tile_free(&zt);
  hcsc_tile_free(&xt);
  hcsc_conv_destroy(&op);
  hcsc_admm_plan_destroy(&p);
  hcsc_dict_free(&d);
}

/* ---- ADMM vs ISTA / FISTA ---- */
#define OH 40
#define OW 36
static void check_objective(int C)
{
  const int M = 4, k = 5, margin = 2 * k;
  const double lambda = 0.05;
  hcsc_dict d;
  memset(&d, 0, sizeof d);
  TEST_OK(hcsc_dict_alloc(&d, M, C, k, 1));
  TEST_OK(hcsc_dict_init_random(&d, 7));
  double obj[3] = {0, 0, 0};
  int its[3] = {0, 0, 0};
  if (test_rank() == 0) {
    hcsc_grid *g = NULL;
    int dims[3] = {1, 1, 1};
    TEST_OK(hcsc_grid_create(MPI_COMM_SELF, C, OH, OW, dims, &g));
    hcsc_box box = hcsc_grid_box(g);
    hcsc_tile x, z, zp;
    memset(&x, 0, sizeof x);
    memset(&z, 0, sizeof z);
    memset(&zp, 0, sizeof zp);
    TEST_OK(hcsc_tile_alloc(&x, &box, C, 0));
    TEST_OK(hcsc_tile_alloc(&z, &box, M, 3));
    TEST_OK(hcsc_tile_alloc(&zp, &box, M, 3));
    /* Planted codes at least margin + k from the edges, so D z vanishes on
     * the margin; noise on the inside only. */
    hcsc_conv *op = NULL;
    TEST_OK(hcsc_conv_create(&d, &box, OH, OW, HCSC_CONV_DIRECT, &op));
    for (int s = 0; s < 12; s++) {
      const int m = s % M, i = margin + k + (int)(hcsc_rng_uniform(5, 2, s, 0, 0) * (OH - 2 * (margin + k)));
      const int j = margin + k + (int)(hcsc_rng_uniform(5, 2, s, 1, 0) * (OW - 2 * (margin + k)));
      HCSC_TILE_AT(&zp, m, i, j) = (float)(hcsc_rng_normal(5, 3, s, 0, 0) + (s % 2 ? 1.5 : -1.5));
    }
    TEST_OK(hcsc_conv_synth(op, &zp, &x));
    for (int c = 0; c < C; c++)
      for (int i = margin; i < OH - margin; i++)
        for (int j = margin; j < OW - margin; j++)
          HCSC_TILE_AT(&x, c, i, j) += (float)(0.05 * hcsc_rng_normal(5, 4, c, i, j));
    for (int s = 0; s < 2; s++) {
      memset(z.data, 0, sizeof(float) * (size_t)(z.nchan * z.ldr * z.ldc));
      hcsc_pursuit_opts po;
      hcsc_pursuit_opts_default(&po);
      po.solver = s ? HCSC_PURSUIT_FISTA : HCSC_PURSUIT_ISTA;
      po.lambda = lambda;
      po.iters = s ? 3000 : 20000;
      po.tol = 1e-9;
      po.backend = HCSC_CONV_DIRECT;
      hcsc_pursuit_stats pst;
      TEST_OK(hcsc_pursuit_solve(g, &d, &x, &z, &po, &pst));
      obj[s] = pst.objective ? pst.objective[pst.iters] : 0;
      its[s] = pst.iters;
      hcsc_pursuit_stats_free(&pst);
    }
    memset(z.data, 0, sizeof(float) * (size_t)(z.nchan * z.ldr * z.ldc));
    hcsc_admm_opts ao;
    hcsc_admm_opts_default(&ao);
    ao.lambda = lambda;
    ao.iters = 5000;
    ao.rel_tol = 1e-5;
    hcsc_admm_stats ast;
    TEST_OK(hcsc_admm_solve(g, &d, &x, &z, &ao, &ast));
    obj[2] = ast.objective;
    its[2] = ast.iters;
    /* Codes near the edge are zero at the optimum (the premise above). */
    double edge = 0;
    for (int m = 0; m < M; m++)
      for (int i = 0; i < OH; i++)
        for (int j = 0; j < OW; j++)
          if (i < k || j < k || i >= OH - k || j >= OW - k) edge = fmax(edge, fabs(HCSC_TILE_AT(&z, m, i, j)));
    TEST_ASSERT(edge < 1e-3, "ADMM codes near the edge: max %g", edge);
    hcsc_conv_destroy(&op);
    hcsc_tile_free(&x);
    hcsc_tile_free(&z);
    hcsc_tile_free(&zp);
    hcsc_grid_destroy(&g);
    printf("C = %d: objective ISTA %.9g (%d it), FISTA %.9g (%d it), ADMM %.9g (%d it, rho %g)\n", C, obj[0],
           its[0], obj[1], its[1], obj[2], its[2], ast.rho);
  }
  MPI_Bcast(obj, 3, MPI_DOUBLE, 0, MPI_COMM_WORLD);
  TEST_ASSERT(obj[2] > 0, "ADMM objective %g", obj[2]);
  TEST_ASSERT(fabs(obj[2] - obj[1]) <= 1e-4 * obj[1], "C %d: ADMM %.9g vs FISTA %.9g", C, obj[2], obj[1]);
  TEST_ASSERT(fabs(obj[0] - obj[1]) <= 1e-4 * obj[1], "C %d: ISTA %.9g vs FISTA %.9g", C, obj[0], obj[1]);
  hcsc_dict_free(&d);
}

/* ---- distributed vs 1 rank ---- */
#define DH 30
#define DW 40
static int admm_on(hcsc_grid *g, const hcsc_dict *d, const float *xg, int overlap, float *zg)
{
  hcsc_box box = hcsc_grid_box(g);
  hcsc_tile x, z;
  memset(&x, 0, sizeof x);
  memset(&z, 0, sizeof z);
  TEST_OK(hcsc_tile_alloc(&x, &box, d->nchan, 0));
  TEST_OK(hcsc_tile_alloc(&z, &box, d->natoms, 0));
  to_tile(xg, DH, DW, &x);
  hcsc_admm_opts o;
  hcsc_admm_opts_default(&o);
  o.lambda = 0.1;
  o.iters = 150;
  o.rel_tol = 0;
  o.auto_rho = 0; /* the same rho sequence on every decomposition */
  o.overlap = overlap;
  hcsc_admm_stats st;
  const int rc = hcsc_admm_solve(g, d, &x, &z, &o, &st);
  TEST_ASSERT(rc || st.iters == 150, "iters %d", st.iters);
  memset(zg, 0, sizeof(float) * d->natoms * DH * DW);
  for (int64_t m = 0; m < d->natoms; m++)
    for (int64_t i = 0; i < box.nr; i++)
      for (int64_t j = 0; j < box.nc; j++) zg[(m * DH + box.r0 + i) * DW + box.c0 + j] = HCSC_TILE_AT(&z, m, i, j);
  hcsc_tile_free(&x);
  hcsc_tile_free(&z);
  return rc;
}

static void check_distributed(void)
{
  const int M = 4, k = 3, size = test_size();
  const int ovs[3] = {2 * k, 4 * k, 8 * k};
  hcsc_dict d;
  memset(&d, 0, sizeof d);
  TEST_OK(hcsc_dict_alloc(&d, M, 1, k, 1));
  TEST_OK(hcsc_dict_init_random(&d, 17));
  float *xg = malloc(sizeof(float) * DH * DW), *zref = malloc(sizeof(float) * M * DH * DW),
        *z = malloc(sizeof(float) * M * DH * DW);
  for (int i = 0; i < DH; i++)
    for (int j = 0; j < DW; j++) xg[i * DW + j] = (float)hcsc_rng_normal(23, 1, 0, i, j);
  for (int P = 1; P <= size; P++) {
    if (size % P) continue;
    int dims[3] = {1, P, size / P};
    double diff[3] = {0, 0, 0};
    hcsc_grid *g = NULL;
    TEST_OK(hcsc_grid_create(MPI_COMM_WORLD, 1, DH, DW, dims, &g));
    for (int v = 0; v < 3; v++) {
      if (test_rank() == 0) {
        hcsc_grid *g1 = NULL;
        int d1[3] = {1, 1, 1};
        TEST_OK(hcsc_grid_create(MPI_COMM_SELF, 1, DH, DW, d1, &g1));
        TEST_OK(admm_on(g1, &d, xg, ovs[v], zref));
        hcsc_grid_destroy(&g1);
      }
      MPI_Bcast(zref, M * DH * DW, MPI_FLOAT, 0, MPI_COMM_WORLD);
      TEST_OK(admm_on(g, &d, xg, ovs[v], z));
      MPI_Allreduce(MPI_IN_PLACE, z, M * DH * DW, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD); /* tiles -> scene */
      double zmax = 0;
      for (int q = 0; q < M * DH * DW; q++) {
        diff[v] = fmax(diff[v], fabs((double)z[q] - zref[q]));
        zmax = fmax(zmax, fabs((double)zref[q]));
      }
      MPI_Allreduce(MPI_IN_PLACE, &diff[v], 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
      diff[v] /= zmax > 0 ? zmax : 1;
    }
    if (test_rank() == 0)
      printf("grid %dx%d: max |z - z_1rank| / max|z| at overlap %d, %d, %d: %.3g %.3g %.3g\n", P, size / P,
             ovs[0], ovs[1], ovs[2], diff[0], diff[1], diff[2]);
    if (size == 1) {
      /* Same computation; only FFTW's alignment-dependent codelets may differ. */
      TEST_ASSERT(diff[0] <= 1e-5 && diff[2] <= 1e-5, "1 rank differs from itself: %g %g", diff[0], diff[2]);
    } else {
      TEST_ASSERT(diff[2] < diff[0] || diff[2] <= 1e-6, "%dx%d: no decrease with the overlap: %g -> %g", P,
                  size / P, diff[0], diff[2]);
      TEST_ASSERT(diff[2] <= 1e-3, "%dx%d: difference %g at overlap %d", P, size / P, diff[2], ovs[2]);
    }
    hcsc_grid_destroy(&g);
  }
  free(xg);
  free(zref);
  free(z);
  hcsc_dict_free(&d);
}

/* ---- inpainting ---- */
#define MH 36
#define MW 32
static void check_mask(void)
{
  const int M = 4, k = 5;
  hcsc_dict d;
  hcsc_grid *g = NULL;
  hcsc_conv *op = NULL;
  hcsc_halo *hz = NULL;
  hcsc_tile x, z, w, r;
  memset(&d, 0, sizeof d);
  memset(&x, 0, sizeof x);
  memset(&z, 0, sizeof z);
  memset(&w, 0, sizeof w);
  memset(&r, 0, sizeof r);
  TEST_OK(hcsc_dict_alloc(&d, M, 1, k, 1));
  /* Smooth atoms (oriented Gaussian blobs, one with a sign change): a
   * scene made of them is predictable from half of its pixels, as natural
   * images are; random-noise atoms would make inpainting ill-posed. */
  for (int m = 0; m < M; m++)
    for (int i = 0; i < k; i++)
      for (int j = 0; j < k; j++) {
        const double u = i - (k - 1) / 2.0, v = j - (k - 1) / 2.0;
        const double su = m == 2 ? 0.8 : 1.3, sv = m == 3 ? 0.8 : 1.3;
        HCSC_ATOM(&d, m, 0, i, j) = (float)(exp(-0.5 * (u * u / (su * su) + v * v / (sv * sv))) * (m == 1 ? u : 1.0));
      }
  hcsc_dict_normalize(&d);
  TEST_OK(hcsc_grid_create(MPI_COMM_WORLD, 1, MH, MW, NULL, &g));
  hcsc_box box = hcsc_grid_box(g);
  TEST_OK(hcsc_conv_create(&d, &box, MH, MW, HCSC_CONV_DIRECT, &op));
  TEST_OK(hcsc_tile_alloc(&x, &box, 1, 0));
  TEST_OK(hcsc_tile_alloc(&r, &box, 1, 0));
  TEST_OK(hcsc_tile_alloc(&w, &box, 1, 0));
  TEST_OK(hcsc_tile_alloc(&z, &box, M, 2));
  TEST_OK(hcsc_halo_create(g, 2, M, &hz));
  /* Sparse codes (1% density) from the counter RNG: the same scene on
   * every decomposition. */
  for (int m = 0; m < M; m++)
    for (int64_t i = 0; i < box.nr; i++)
      for (int64_t j = 0; j < box.nc; j++)
        if (hcsc_rng_uniform(31, 1, m, box.r0 + i, box.c0 + j) < 0.01)
          HCSC_TILE_AT(&z, m, i, j) = (float)hcsc_rng_normal(31, 2, m, box.r0 + i, box.c0 + j);
  TEST_OK(hcsc_halo_exchange(hz, &z));
  TEST_OK(hcsc_conv_synth(op, &z, &x));
  double e[3] = {0, 0, 0}; /* squared errors on missing: ADMM, zero fill; count */
  for (int64_t i = 0; i < box.nr; i++)
    for (int64_t j = 0; j < box.nc; j++) {
      const int miss = hcsc_rng_uniform(37, 1, 0, box.r0 + i, box.c0 + j) < 0.5;
      HCSC_TILE_AT(&w, 0, i, j) = miss ? 0.0f : 1.0f;
      HCSC_TILE_AT(&r, 0, i, j) = HCSC_TILE_AT(&x, 0, i, j); /* truth */
      if (miss) HCSC_TILE_AT(&x, 0, i, j) = 0;
    }
  memset(z.data, 0, sizeof(float) * (size_t)(z.nchan * z.ldr * z.ldc));
  hcsc_admm_opts o;
  hcsc_admm_opts_default(&o);
  o.lambda = 0.002;
  o.iters = 2000;
  o.rel_tol = 1e-4;
  o.overlap = 2 * k;
  o.mask = &w;
  hcsc_admm_stats st;
  TEST_OK(hcsc_admm_solve(g, &d, &x, &z, &o, &st));
  TEST_OK(hcsc_halo_exchange(hz, &z));
  TEST_OK(hcsc_conv_synth(op, &z, &x));
  for (int64_t i = 0; i < box.nr; i++)
    for (int64_t j = 0; j < box.nc; j++)
      if (HCSC_TILE_AT(&w, 0, i, j) == 0) {
        const double t = HCSC_TILE_AT(&r, 0, i, j), a = HCSC_TILE_AT(&x, 0, i, j);
        e[0] += (a - t) * (a - t);
        e[1] += t * t;
        e[2] += 1;
      }
  MPI_Allreduce(MPI_IN_PLACE, e, 3, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  const double ratio = sqrt(e[0] / e[1]);
  if (test_rank() == 0)
    printf("inpainting, %.0f of %d pixels missing: RMSE ADMM %.4g, zero fill %.4g, ratio %.4f (%d it, rho %g)\n",
           e[2], MH * MW, sqrt(e[0] / e[2]), sqrt(e[1] / e[2]), ratio, st.iters, st.rho);
  TEST_ASSERT(e[2] > 0.4 * MH * MW && e[2] < 0.6 * MH * MW, "missing pixels %g", e[2]);
  TEST_ASSERT(ratio < 0.3, "inpainting RMSE ratio to zero fill %g", ratio);

  /* Residual balancing from a poor rho: rho moves, the solve converges. */
  o.mask = NULL;
  o.rho = 500;
  o.iters = 2000;
  o.rel_tol = 1e-3;
  o.overlap = k;
  memset(z.data, 0, sizeof(float) * (size_t)(z.nchan * z.ldr * z.ldc));
  TEST_OK(hcsc_admm_solve(g, &d, &x, &z, &o, &st));
  if (test_rank() == 0)
    printf("residual balancing from rho 500: %d rho changes, final rho %g, %d it, primal %.3g dual %.3g\n",
           st.rho_changes, st.rho, st.iters, st.primal, st.dual);
  TEST_ASSERT(st.rho_changes > 0 && st.rho < 500, "rho changes %d, rho %g", st.rho_changes, st.rho);
  TEST_ASSERT(st.iters < 2000 && st.primal <= 1e-3 && st.dual <= 1e-3, "not converged: %d it, %g %g",
              st.iters, st.primal, st.dual);

  hcsc_halo_destroy(&hz);
  hcsc_conv_destroy(&op);
  hcsc_tile_free(&x);
  hcsc_tile_free(&z);
  hcsc_tile_free(&w);
  hcsc_tile_free(&r);
  hcsc_grid_destroy(&g);
  hcsc_dict_free(&d);
}

/* ---- errors ---- */
static void check_errors(void)
{
  const int size = test_size(), rank = test_rank(), M = 3, k = 3;
  hcsc_dict d, d3;
  hcsc_grid *g = NULL;
  hcsc_tile x, z, w;
  memset(&d, 0, sizeof d);
  memset(&d3, 0, sizeof d3);
  memset(&x, 0, sizeof x);
  memset(&z, 0, sizeof z);
  memset(&w, 0, sizeof w);
  TEST_OK(hcsc_dict_alloc(&d, M, 2, k, 1));
  TEST_OK(hcsc_dict_init_random(&d, 1));
  TEST_OK(hcsc_dict_alloc(&d3, M, 3, k, 1));
  TEST_OK(hcsc_dict_init_random(&d3, 1));
  TEST_OK(hcsc_grid_create(MPI_COMM_WORLD, 2, 14, 12, NULL, &g));
  hcsc_box box = hcsc_grid_box(g);
  TEST_OK(hcsc_tile_alloc(&x, &box, 2, 0));
  TEST_OK(hcsc_tile_alloc(&z, &box, M, 0));
  for (int64_t c = 0; c < 2; c++)
    for (int64_t i = 0; i < box.nr; i++)
      for (int64_t j = 0; j < box.nc; j++) HCSC_TILE_AT(&x, c, i, j) = (float)hcsc_rng_normal(2, 0, c, box.r0 + i, box.c0 + j);
  hcsc_admm_opts o;
  hcsc_admm_opts_default(&o);
  o.iters = 5;
  hcsc_admm_stats st;
  o.lambda = 0;
  test_expect_error(hcsc_admm_solve(g, &d, &x, &z, &o, &st), HCSC_EINVAL, "lambda", "lambda 0");
  o.lambda = -1;
  test_expect_error(hcsc_admm_solve(g, &d, &x, &z, &o, &st), HCSC_EINVAL, "lambda", "lambda -1");
  o.lambda = 0.1;
  const float keep = HCSC_TILE_AT(&x, 1, box.nr - 1, 0);
  if (rank == size - 1) HCSC_TILE_AT(&x, 1, box.nr - 1, 0) = NAN;
  test_expect_error(hcsc_admm_solve(g, &d, &x, &z, &o, &st), HCSC_EVALUE, "non-finite", "NaN");
  HCSC_TILE_AT(&x, 1, box.nr - 1, 0) = keep;
  /* A mask one row short on rank 0 only. */
  hcsc_box mb = box;
  if (rank == 0) mb.nr -= 1;
  TEST_OK(hcsc_tile_alloc(&w, &mb, 1, 0));
  o.mask = &w;
  test_expect_error(hcsc_admm_solve(g, &d, &x, &z, &o, &st), HCSC_EINVAL, "mask", "mask size");
  o.mask = NULL;
  test_expect_error(hcsc_admm_solve(g, &d3, &x, &z, &o, &st), HCSC_EINVAL, "channels", "dictionary channels");
  hcsc_error_clear();
  TEST_OK(hcsc_admm_solve(g, &d, &x, &z, &o, &st));
  TEST_ASSERT(st.iters >= 1 && st.iters <= 5, "iters %d", st.iters);
  hcsc_tile_free(&x);
  hcsc_tile_free(&z);
  hcsc_tile_free(&w);
  hcsc_grid_destroy(&g);
  hcsc_dict_free(&d);
  hcsc_dict_free(&d3);
}

int main(int argc, char **argv)
{
  test_init(&argc, &argv);
  check_circular(4);
  check_circular(5);
  check_objective(1);
  check_objective(3);
  check_distributed();
  check_mask();
  check_errors();
  return test_finish("t_admm");
}
