/* Sparse pursuit (ISTA / FISTA) on a 17 x 13 scene, C = 5, M = 4, k = 5,
 * random dictionary, direct backend:
 *  - the 1-rank result (computed on rank 0 over MPI_COMM_SELF, broadcast)
 *    equals the distributed one on every G x P x Q grid of the rank count
 *    (spectral groups included; 5 bands give uneven band slices), within
 *    1e-4 of the largest coefficient, same objective (1e-5 relative);
 *  - bytes per iteration: 6 reduced doubles with G = 1, plus the M-channel
 *    gradient interior (4 M nr nc bytes) with G > 1; halo bytes > 0 when the
 *    spatial grid has more than one tile;
 *  - ISTA's objective is non-increasing (1e-6 relative), FISTA's after N
 *    iterations is <= ISTA's;
 *  - a planted sparse code (spikes convolved with the dictionary, small
 *    lambda) is recovered: its support holds the largest coefficients with
 *    the right signs (signed and non-negative);
 *  - lambda <= 0, a NaN in one rank's scene and a dictionary with the wrong
 *    channel count fail with the same code on every rank; with G = 1 the
 *    input may be an array of the dictionary's channels on a grid made for
 *    another band count (multi-layer use). */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hypercsc.h"
#include "testutil.h"

#define H 17
#define W 13
#define C 5
#define M 4
#define K 5
#define NIT 40

static double xval(int64_t c, int64_t r, int64_t col) { return hcsc_rng_normal(21, 3, c, r, col); }

/* Fill x's interior from the global function. */
static void fill_x(hcsc_tile *x)
{
  for (int64_t c = 0; c < x->nchan; c++)
    for (int64_t i = 0; i < x->box.nr; i++)
      for (int64_t j = 0; j < x->box.nc; j++)
        HCSC_TILE_AT(x, c, i, j) = (float)xval(x->box.b0 + c, x->box.r0 + i, x->box.c0 + j);
}

/* Solve on grid g from z = 0; z_out (M*H*W, global layout) gets this
 * rank's interior, zeros elsewhere. */
static int solve_on(hcsc_grid *g, const hcsc_dict *d, hcsc_pursuit_solver s, float *z_out,
                    hcsc_pursuit_stats *st)
{
  hcsc_box box = hcsc_grid_box(g);
  hcsc_tile x, z;
  memset(&x, 0, sizeof x);
  memset(&z, 0, sizeof z);
  TEST_OK(hcsc_tile_alloc(&x, &box, box.nb, 1));
  TEST_OK(hcsc_tile_alloc(&z, &box, M, 2));
  fill_x(&x);
  hcsc_pursuit_opts o;
  hcsc_pursuit_opts_default(&o);
  o.solver = s;
  o.lambda = 0.1;
  o.iters = NIT;
  o.tol = 0;
  o.backend = HCSC_CONV_DIRECT;
  int rc = hcsc_pursuit_solve(g, d, &x, &z, &o, st);
  memset(z_out, 0, sizeof(float) * M * H * W);
  for (int64_t m = 0; m < M; m++)
    for (int64_t i = 0; i < box.nr; i++)
      for (int64_t j = 0; j < box.nc; j++)
        z_out[(m * H + box.r0 + i) * W + box.c0 + j] = HCSC_TILE_AT(&z, m, i, j);
  hcsc_tile_free(&x);
  hcsc_tile_free(&z);
  return rc;
}

static void check_grids(const hcsc_dict *d)
{
  const int size = test_size();
  float *zref[2], *z = malloc(sizeof(float) * M * H * W);
  double obj[2][NIT + 1];
  for (int s = 0; s < 2; s++) zref[s] = calloc(M * H * W, sizeof(float));

  if (test_rank() == 0) {
    hcsc_grid *g1 = NULL;
    int dims[3] = {1, 1, 1};
    TEST_OK(hcsc_grid_create(MPI_COMM_SELF, C, H, W, dims, &g1));
    for (int s = 0; s < 2; s++) {
      hcsc_pursuit_stats st;
      TEST_OK(solve_on(g1, d, (hcsc_pursuit_solver)s, zref[s], &st));
      TEST_ASSERT(st.iters == NIT, "iters %d", st.iters);
      for (int i = 0; i <= NIT; i++) obj[s][i] = st.objective ? st.objective[i] : 0;
      hcsc_pursuit_stats_free(&st);
    }
    hcsc_grid_destroy(&g1);
  }
  MPI_Bcast(zref[0], M * H * W, MPI_FLOAT, 0, MPI_COMM_WORLD);
  MPI_Bcast(zref[1], M * H * W, MPI_FLOAT, 0, MPI_COMM_WORLD);
  MPI_Bcast(obj, 2 * (NIT + 1), MPI_DOUBLE, 0, MPI_COMM_WORLD);

  /* Properties of the reference. */
  for (int i = 0; i < NIT; i++)
    TEST_ASSERT(obj[0][i + 1] <= obj[0][i] + 1e-6 * fabs(obj[0][i]),
                "ISTA objective increased at %d: %.9g -> %.9g", i, obj[0][i], obj[0][i + 1]);
  TEST_ASSERT(obj[1][NIT] <= obj[0][NIT], "FISTA %.9g > ISTA %.9g after %d iterations",
              obj[1][NIT], obj[0][NIT], NIT);
  TEST_ASSERT(obj[0][NIT] < 0.9 * obj[0][0], "ISTA made no progress: %g -> %g", obj[0][0],
              obj[0][NIT]);

  /* Every G x P x Q factorisation of the rank count. */
  for (int G = 1; G <= size; G++)
    for (int P = 1; P <= size; P++) {
      if (size % (G * P)) continue;
      int dims[3] = {G, P, size / (G * P)};
      hcsc_grid *g = NULL;
      TEST_OK(hcsc_grid_create(MPI_COMM_WORLD, C, H, W, dims, &g));
      if (!g) continue;
      for (int s = 0; s < 2; s++) {
        hcsc_pursuit_stats st;
        TEST_OK(solve_on(g, d, (hcsc_pursuit_solver)s, z, &st));
        hcsc_box box = hcsc_grid_box(g);
        double emax, zmax;
        test_box_maxdiff(z, zref[s], M, H, W, &box, &emax, &zmax);
        TEST_ASSERT(zmax > 0 && emax <= 1e-4 * zmax, "%s on %dx%dx%d: max diff %g (max |z| %g)",
                    s ? "FISTA" : "ISTA", dims[0], dims[1], dims[2], emax, zmax);
        const double rb = 6.0 * sizeof(double) +
                          (G > 1 ? (double)sizeof(float) * M * (double)box.nr * box.nc : 0.0);
        TEST_ASSERT(fabs(st.reduce_bytes - rb) < 0.5,
                    "%dx%dx%d: reduce bytes %g per iteration, expected %g", dims[0], dims[1],
                    dims[2], st.reduce_bytes, rb);
        TEST_ASSERT(size / G > 1 ? st.halo_bytes > 0 : st.halo_bytes >= 0,
                    "%dx%dx%d: halo bytes %g per iteration", dims[0], dims[1], dims[2],
                    st.halo_bytes);
        if (test_rank() == 0 && s == 1)
          printf("%dx%dx%d: FISTA max diff %.3g (max |z| %.3g), rank 0 per iteration: halo %.0f B, "
                 "reduce %.0f B\n",
                 dims[0], dims[1], dims[2], emax, zmax, st.halo_bytes, st.reduce_bytes);
        TEST_ASSERT(st.iters == NIT && st.objective, "iters %d", st.iters);
        if (st.objective) TEST_NEAR(st.objective[NIT], obj[s][NIT], 1e-5);
        TEST_ASSERT(st.sparsity > 0 && st.sparsity < 1, "sparsity %g", st.sparsity);
        hcsc_pursuit_stats_free(&st);
      }
      hcsc_grid_destroy(&g);
    }
  free(z);
  free(zref[0]);
  free(zref[1]);
}

/* Planted spikes: (atom, row, col, amplitude). */
static const struct {
  int m, r, c;
  float a;
} spikes[] = {
    {0, 3, 3, 1.5f}, {1, 12, 9, -1.2f}, {2, 8, 2, 1.0f}, {3, 13, 3, -1.8f}, {1, 4, 10, 1.3f}};
#define NSPIKES ((int)(sizeof spikes / sizeof spikes[0]))

static void check_planted(const hcsc_dict *d, int nonneg)
{
  hcsc_grid *g = NULL;
  hcsc_conv *op = NULL;
  hcsc_halo *hz = NULL;
  hcsc_tile x, z;
  memset(&x, 0, sizeof x);
  memset(&z, 0, sizeof z);
  TEST_OK(hcsc_grid_create(MPI_COMM_WORLD, C, H, W, NULL, &g));
  hcsc_box box = hcsc_grid_box(g);
  TEST_OK(hcsc_tile_alloc(&x, &box, C, 0));
  TEST_OK(hcsc_tile_alloc(&z, &box, M, 2));
  TEST_OK(hcsc_halo_create(g, 2, M, &hz));
  TEST_OK(hcsc_conv_create(d, &box, H, W, HCSC_CONV_DIRECT, &op));
  for (int s = 0; s < NSPIKES; s++) {
    const int64_t i = spikes[s].r - box.r0, j = spikes[s].c - box.c0;
    const float a = nonneg ? fabsf(spikes[s].a) : spikes[s].a;
    if (i >= 0 && i < box.nr && j >= 0 && j < box.nc) HCSC_TILE_AT(&z, spikes[s].m, i, j) = a;
  }
  TEST_OK(hcsc_halo_exchange(hz, &z));
  TEST_OK(hcsc_conv_synth(op, &z, &x));
  memset(z.data, 0, sizeof(float) * (size_t)(z.nchan * z.ldr * z.ldc));

  hcsc_pursuit_opts o;
  hcsc_pursuit_opts_default(&o);
  o.solver = HCSC_PURSUIT_FISTA;
  o.lambda = 0.01;
  o.iters = 2000;
  o.tol = 1e-7;
  o.nonneg = nonneg;
  o.backend = HCSC_CONV_DIRECT;
  hcsc_pursuit_stats st;
  TEST_OK(hcsc_pursuit_solve(g, d, &x, &z, &o, &st));

  /* min |z| on the support (right sign) vs max |z| off it. */
  double on_min = 1e30, off_max = 0, zmin = 0;
  for (int64_t m = 0; m < M; m++)
    for (int64_t i = 0; i < box.nr; i++)
      for (int64_t j = 0; j < box.nc; j++) {
        const float v = HCSC_TILE_AT(&z, m, i, j);
        int on = -1;
        for (int s = 0; s < NSPIKES; s++)
          if (spikes[s].m == m && spikes[s].r == box.r0 + i && spikes[s].c == box.c0 + j) on = s;
        zmin = fmin(zmin, v);
        if (on >= 0) {
          const float a = nonneg ? fabsf(spikes[on].a) : spikes[on].a;
          on_min = fmin(on_min, v * (a > 0 ? 1.0 : -1.0));
        } else {
          off_max = fmax(off_max, fabs(v));
        }
      }
  MPI_Allreduce(MPI_IN_PLACE, &on_min, 1, MPI_DOUBLE, MPI_MIN, MPI_COMM_WORLD);
  MPI_Allreduce(MPI_IN_PLACE, &off_max, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  MPI_Allreduce(MPI_IN_PLACE, &zmin, 1, MPI_DOUBLE, MPI_MIN, MPI_COMM_WORLD);
  TEST_ASSERT(on_min > 0.5 && on_min > 4 * off_max,
              "planted (nonneg %d): smallest spike %g, largest off-support %g (iters %d)", nonneg,
              on_min, off_max, st.iters);
  if (nonneg) TEST_ASSERT(zmin >= 0, "nonneg code has %g", zmin);
  if (test_rank() == 0)
    printf("planted nonneg=%d: %d iterations, %d restarts, smallest spike %.4f, off-support %.4f\n",
           nonneg, st.iters, st.restarts, on_min, off_max);
  hcsc_pursuit_stats_free(&st);
  hcsc_conv_destroy(&op);
  hcsc_halo_destroy(&hz);
  hcsc_tile_free(&x);
  hcsc_tile_free(&z);
  hcsc_grid_destroy(&g);
}

static void check_errors(const hcsc_dict *d)
{
  const int size = test_size(), rank = test_rank();
  hcsc_grid *g = NULL;
  hcsc_tile x, z;
  hcsc_dict d3;
  memset(&x, 0, sizeof x);
  memset(&z, 0, sizeof z);
  memset(&d3, 0, sizeof d3);
  TEST_OK(hcsc_grid_create(MPI_COMM_WORLD, C, H, W, NULL, &g));
  hcsc_box box = hcsc_grid_box(g);
  TEST_OK(hcsc_tile_alloc(&x, &box, C, 0));
  TEST_OK(hcsc_tile_alloc(&z, &box, M, 2));
  fill_x(&x);
  hcsc_pursuit_opts o;
  hcsc_pursuit_opts_default(&o);
  o.iters = 5;
  hcsc_pursuit_stats st;

  o.lambda = 0;
  int rc = hcsc_pursuit_solve(g, d, &x, &z, &o, &st);
  TEST_ASSERT(rc == HCSC_EINVAL, "lambda 0: rc %d", rc);
  TEST_ASSERT(strstr(hcsc_error_message(), "lambda") != NULL, "message: %s", hcsc_error_message());
  o.lambda = -1;
  rc = hcsc_pursuit_solve(g, d, &x, &z, &o, &st);
  TEST_ASSERT(rc == HCSC_EINVAL, "lambda -1: rc %d", rc);
  o.lambda = 0.1;

  if (rank == size - 1) HCSC_TILE_AT(&x, 1, box.nr - 1, 0) = NAN;
  rc = hcsc_pursuit_solve(g, d, &x, &z, &o, &st);
  TEST_ASSERT(rc == HCSC_EVALUE, "NaN: rc %d", rc);
  TEST_ASSERT(strstr(hcsc_error_message(), "non-finite") != NULL, "message: %s", hcsc_error_message());
  fill_x(&x);

  TEST_OK(hcsc_dict_alloc(&d3, M, 3, K, 1));
  TEST_OK(hcsc_dict_init_random(&d3, 9));
  rc = hcsc_pursuit_solve(g, &d3, &x, &z, &o, &st);
  TEST_ASSERT(rc == HCSC_EINVAL, "3-channel dictionary: rc %d", rc);
  TEST_ASSERT(strstr(hcsc_error_message(), "channels") != NULL, "message: %s", hcsc_error_message());
  hcsc_error_clear();

  /* And still fine afterwards. */
  TEST_OK(hcsc_pursuit_solve(g, d, &x, &z, &o, &st));
  TEST_ASSERT(st.iters >= 1 && st.iters <= 5, "iters %d", st.iters);
  hcsc_pursuit_stats_free(&st);

  /* G = 1: x may be any C-channel array on the box of a grid made for
   * another band count (the codes of a lower layer). */
  {
    hcsc_grid *g1 = NULL;
    TEST_OK(hcsc_grid_create(MPI_COMM_WORLD, 1, H, W, NULL, &g1));
    TEST_OK(hcsc_pursuit_solve(g1, d, &x, &z, &o, NULL));
    hcsc_grid_destroy(&g1);
  }
  hcsc_dict_free(&d3);
  hcsc_tile_free(&x);
  hcsc_tile_free(&z);
  hcsc_grid_destroy(&g);
}

int main(int argc, char **argv)
{
  test_init(&argc, &argv);
  hcsc_dict d;
  memset(&d, 0, sizeof d);
  TEST_OK(hcsc_dict_alloc(&d, M, C, K, 1));
  TEST_OK(hcsc_dict_init_random(&d, 5));
  check_grids(&d);
  check_planted(&d, 0);
  check_planted(&d, 1);
  check_errors(&d);
  hcsc_dict_free(&d);
  return test_finish("t_pursuit");
}
