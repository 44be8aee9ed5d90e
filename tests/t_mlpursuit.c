/* Multi-layer pursuit on a 24 x 19 scene, C = 2, layers of 4 (k = 5),
 * 6 (k = 3) and 5 (k = 3) atoms, random dictionaries, direct backend:
 *  - LT, LBP, ML-ISTA and ML-FISTA with 2 and 3 layers: every code of the
 *    distributed solve equals the 1-rank one (computed on rank 0 over
 *    MPI_COMM_SELF) on every P x Q grid, within 1e-4 of the largest
 *    coefficient of that layer; same final objective (1e-5 relative);
 *  - ML-ISTA's objective decreases (each step may rise by at most 1e-6
 *    relative: ML-ISTA is not a descent method on ML-LASSO in general, but
 *    it is on these fixtures), and ML-FISTA's final objective is below
 *    ML-ISTA's after the same number of iterations (both printed);
 *  - LT recovers the support and signs of a planted 2-layer code at low
 *    noise: the smallest response on the support (right sign) exceeds 1.2x
 *    the largest off it (random atoms are coherent at small shifts, so the
 *    margin is modest);
 *  - a broken channel chain, lambda <= 0 and 4 layers fail on every rank. */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hypercsc.h"
#include "testutil.h"

#define H 24
#define W 19
#define C 2
#define NIT 30

static const int MS[3] = {4, 6, 5}, KS[3] = {5, 3, 3};
static const char *mname[4] = {"LT", "LBP", "ML-ISTA", "ML-FISTA"};

static void fill_x(hcsc_tile *x)
{
  for (int64_t c = 0; c < x->nchan; c++)
    for (int64_t i = 0; i < x->box.nr; i++)
      for (int64_t j = 0; j < x->box.nc; j++)
        HCSC_TILE_AT(x, c, i, j) = (float)hcsc_rng_normal(31, 3, c, x->box.r0 + i, x->box.c0 + j);
}

static void set_opts(hcsc_ml_opts *o, hcsc_ml_method m)
{
  hcsc_ml_opts_default(o);
  o->method = m;
  o->lambdas[0] = 0.1;
  o->lambdas[1] = 0.05;
  o->lambdas[2] = 0.05;
  o->iters = NIT;
  o->tol = 0;
  o->backend = HCSC_CONV_DIRECT;
}

/* Solve from zero codes; out[l] (M_l*H*W, global layout) gets this rank's
 * interior, zeros elsewhere. */
static int solve_on(hcsc_grid *g, const hcsc_dict *ly, int nl, hcsc_ml_method m, float **out,
                    hcsc_ml_stats *st)
{
  hcsc_box box = hcsc_grid_box(g);
  hcsc_tile x, z[3];
  memset(&x, 0, sizeof x);
  memset(z, 0, sizeof z);
  TEST_OK(hcsc_tile_alloc(&x, &box, C, 1));
  for (int l = 0; l < nl; l++) TEST_OK(hcsc_tile_alloc(&z[l], &box, MS[l], l));
  fill_x(&x);
  hcsc_ml_opts o;
  set_opts(&o, m);
  int rc = hcsc_ml_solve(g, ly, nl, &x, z, &o, st);
  for (int l = 0; l < nl; l++) {
    memset(out[l], 0, sizeof(float) * MS[l] * H * W);
    for (int64_t a = 0; a < MS[l]; a++)
      for (int64_t i = 0; i < box.nr; i++)
        for (int64_t j = 0; j < box.nc; j++)
          out[l][(a * H + box.r0 + i) * W + box.c0 + j] = HCSC_TILE_AT(&z[l], a, i, j);
    hcsc_tile_free(&z[l]);
  }
  hcsc_tile_free(&x);
  return rc;
}

static void check_grids(const hcsc_dict *ly, int nl)
{
  const int size = test_size();
  float *ref[4][3], *z[3];
  double obj[4][NIT + 1];
  memset(obj, 0, sizeof obj);
  for (int l = 0; l < nl; l++) {
    z[l] = calloc((size_t)MS[l] * H * W, sizeof(float));
    for (int m = 0; m < 4; m++) ref[m][l] = calloc((size_t)MS[l] * H * W, sizeof(float));
  }
  if (test_rank() == 0) {
    hcsc_grid *g1 = NULL;
    int dims[3] = {1, 1, 1};
    TEST_OK(hcsc_grid_create(MPI_COMM_SELF, C, H, W, dims, &g1));
    for (int m = 0; m < 4; m++) {
      hcsc_ml_stats st;
      TEST_OK(solve_on(g1, ly, nl, (hcsc_ml_method)m, ref[m], &st));
      const int n = m >= HCSC_ML_ISTA ? NIT : 0;
      TEST_ASSERT(st.iters == n && st.objective, "%s: iters %d", mname[m], st.iters);
      for (int i = 0; i <= n && st.objective; i++) obj[m][i] = st.objective[i];
      printf("%d layers %-8s: objective start %.6f end %.6f, sparsity z1 %.3f z%d %.3f\n", nl,
             mname[m], obj[m][0], obj[m][n], st.sparsity[0], nl, st.sparsity[nl - 1]);
      hcsc_ml_stats_free(&st);
    }
    hcsc_grid_destroy(&g1);
  }
  for (int l = 0; l < nl; l++)
    for (int m = 0; m < 4; m++) MPI_Bcast(ref[m][l], MS[l] * H * W, MPI_FLOAT, 0, MPI_COMM_WORLD);
  MPI_Bcast(obj, 4 * (NIT + 1), MPI_DOUBLE, 0, MPI_COMM_WORLD);

  /* Objectives of the reference. */
  double rise = 0, frise = 0;
  for (int i = 0; i < NIT; i++) rise = fmax(rise, (obj[2][i + 1] - obj[2][i]) / fabs(obj[2][i]));
  /* ML-FISTA is not monotone by design: its rises are reported, and the
   * restart keeps them small (checked at 1e-2 relative). */
  for (int i = 0; i < NIT; i++) frise = fmax(frise, (obj[3][i + 1] - obj[3][i]) / fabs(obj[3][i]));
  TEST_ASSERT(frise <= 1e-2, "%d layers: ML-FISTA objective rose by %g (relative)", nl, frise);
  TEST_ASSERT(rise <= 1e-6, "%d layers: ML-ISTA objective rose by %g (relative)", nl, rise);
  TEST_ASSERT(obj[2][NIT] < 0.9 * obj[2][0], "ML-ISTA made no progress: %g -> %g", obj[2][0],
              obj[2][NIT]);
  TEST_ASSERT(obj[3][NIT] < obj[3][0], "ML-FISTA made no progress: %g -> %g", obj[3][0], obj[3][NIT]);
  TEST_ASSERT(obj[3][NIT] < obj[2][NIT], "ML-FISTA %.9g >= ML-ISTA %.9g after %d iterations",
              obj[3][NIT], obj[2][NIT], NIT);
  if (test_rank() == 0)
    printf("%d layers, %d iterations: ML-ISTA %.6f, ML-FISTA %.6f (largest rise: ML-ISTA %.2g, "
           "ML-FISTA %.2g)\n", nl, NIT, obj[2][NIT], obj[3][NIT], rise, frise);

  for (int P = 1; P <= size; P++) {
    if (size % P) continue;
    int dims[3] = {1, P, size / P};
    hcsc_grid *g = NULL;
    TEST_OK(hcsc_grid_create(MPI_COMM_WORLD, C, H, W, dims, &g));
    if (!g) continue;
    hcsc_box box = hcsc_grid_box(g);
    for (int m = 0; m < 4; m++) {
      hcsc_ml_stats st;
      TEST_OK(solve_on(g, ly, nl, (hcsc_ml_method)m, z, &st));
      for (int l = 0; l < nl; l++) {
        double emax, zmax;
        test_box_maxdiff(z[l], ref[m][l], MS[l], H, W, &box, &emax, &zmax);
        TEST_ASSERT(zmax > 0 && emax <= 1e-4 * zmax, "%s, %d layers, z%d on %dx%d: diff %g (max %g)",
                    mname[m], nl, l + 1, P, size / P, emax, zmax);
      }
      const int n = m >= HCSC_ML_ISTA ? NIT : 0;
      TEST_ASSERT(st.iters == n && st.objective, "%s: iters %d", mname[m], st.iters);
      if (st.objective) TEST_NEAR(st.objective[n], obj[m][n], 1e-5);
      hcsc_ml_stats_free(&st);
    }
    hcsc_grid_destroy(&g);
  }
  for (int l = 0; l < nl; l++) {
    free(z[l]);
    for (int m = 0; m < 4; m++) free(ref[m][l]);
  }
}

/* Planted 2-layer code: spikes in z2 (atom, row, col, amplitude), z1 = D2
 * z2, x = D1 z1 + 0.01 noise. */
static const struct {
  int m, r, c;
  float a;
} spikes[] = {{0, 4, 4, 2.0f}, {3, 12, 13, -2.0f}, {5, 19, 5, 1.8f}, {2, 18, 15, -1.6f}};
#define NSPIKES ((int)(sizeof spikes / sizeof spikes[0]))

static void check_planted(const hcsc_dict *ly)
{
  hcsc_grid *g = NULL;
  hcsc_conv *op1 = NULL, *op2 = NULL;
  hcsc_halo *h1 = NULL, *h2 = NULL;
  hcsc_tile x, z1, z2, c[2];
  memset(&x, 0, sizeof x);
  memset(&z1, 0, sizeof z1);
  memset(&z2, 0, sizeof z2);
  memset(c, 0, sizeof c);
  TEST_OK(hcsc_grid_create(MPI_COMM_WORLD, C, H, W, NULL, &g));
  hcsc_box box = hcsc_grid_box(g);
  TEST_OK(hcsc_tile_alloc(&x, &box, C, 0));
  TEST_OK(hcsc_tile_alloc(&z1, &box, MS[0], 2));
  TEST_OK(hcsc_tile_alloc(&z2, &box, MS[1], 2));
  TEST_OK(hcsc_tile_alloc(&c[0], &box, MS[0], 0));
  TEST_OK(hcsc_tile_alloc(&c[1], &box, MS[1], 0));
  TEST_OK(hcsc_halo_create(g, 2, MS[0], &h1));
  TEST_OK(hcsc_halo_create(g, 2, MS[1], &h2));
  TEST_OK(hcsc_conv_create(&ly[0], &box, H, W, HCSC_CONV_DIRECT, &op1));
  TEST_OK(hcsc_conv_create(&ly[1], &box, H, W, HCSC_CONV_DIRECT, &op2));
  for (int s = 0; s < NSPIKES; s++) {
    const int64_t i = spikes[s].r - box.r0, j = spikes[s].c - box.c0;
    if (i >= 0 && i < box.nr && j >= 0 && j < box.nc) HCSC_TILE_AT(&z2, spikes[s].m, i, j) = spikes[s].a;
  }
  TEST_OK(hcsc_halo_exchange(h2, &z2));
  TEST_OK(hcsc_conv_synth(op2, &z2, &z1));
  TEST_OK(hcsc_halo_exchange(h1, &z1));
  TEST_OK(hcsc_conv_synth(op1, &z1, &x));
  for (int64_t ch = 0; ch < C; ch++)
    for (int64_t i = 0; i < box.nr; i++)
      for (int64_t j = 0; j < box.nc; j++)
        HCSC_TILE_AT(&x, ch, i, j) += 0.01f * (float)hcsc_rng_normal(77, 1, ch, box.r0 + i, box.c0 + j);

  hcsc_ml_opts o;
  set_opts(&o, HCSC_ML_LT);
  o.lambdas[0] = 0.1;
  o.lambdas[1] = 0.1;
  hcsc_ml_stats st;
  TEST_OK(hcsc_ml_solve(g, ly, 2, &x, c, &o, &st));
  double on_min = 1e30, off_max = 0;
  for (int64_t m = 0; m < MS[1]; m++)
    for (int64_t i = 0; i < box.nr; i++)
      for (int64_t j = 0; j < box.nc; j++) {
        const float v = HCSC_TILE_AT(&c[1], m, i, j);
        int on = -1;
        for (int s = 0; s < NSPIKES; s++)
          if (spikes[s].m == m && spikes[s].r == box.r0 + i && spikes[s].c == box.c0 + j) on = s;
        if (on >= 0)
          on_min = fmin(on_min, v * (spikes[on].a > 0 ? 1.0 : -1.0));
        else
          off_max = fmax(off_max, fabs(v));
      }
  MPI_Allreduce(MPI_IN_PLACE, &on_min, 1, MPI_DOUBLE, MPI_MIN, MPI_COMM_WORLD);
  MPI_Allreduce(MPI_IN_PLACE, &off_max, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  TEST_ASSERT(on_min > 0.5 && on_min > 1.2 * off_max,
              "LT planted: smallest spike response %g, largest off-support %g", on_min, off_max);
  if (test_rank() == 0)
    printf("LT planted 2-layer code: smallest spike response %.4f (right sign), largest off-support %.4f\n",
           on_min, off_max);
  hcsc_ml_stats_free(&st);
  hcsc_conv_destroy(&op1);
  hcsc_conv_destroy(&op2);
  hcsc_halo_destroy(&h1);
  hcsc_halo_destroy(&h2);
  hcsc_tile_free(&x);
  hcsc_tile_free(&z1);
  hcsc_tile_free(&z2);
  hcsc_tile_free(&c[0]);
  hcsc_tile_free(&c[1]);
  hcsc_grid_destroy(&g);
}

static void check_errors(const hcsc_dict *ly)
{
  hcsc_grid *g = NULL;
  hcsc_tile x, z[4];
  hcsc_dict bad[4];
  memset(&x, 0, sizeof x);
  memset(z, 0, sizeof z);
  memset(bad, 0, sizeof bad);
  TEST_OK(hcsc_grid_create(MPI_COMM_WORLD, C, H, W, NULL, &g));
  hcsc_box box = hcsc_grid_box(g);
  TEST_OK(hcsc_tile_alloc(&x, &box, C, 0));
  for (int l = 0; l < 3; l++) TEST_OK(hcsc_tile_alloc(&z[l], &box, MS[l], 0));
  TEST_OK(hcsc_tile_alloc(&z[3], &box, MS[2], 0));
  fill_x(&x);
  hcsc_ml_opts o;
  set_opts(&o, HCSC_ML_ISTA);
  o.iters = 3;
  hcsc_ml_stats st;

  /* Layer 2 with 5 channels after a 4-atom layer 1. */
  TEST_OK(hcsc_dict_copy(&bad[0], &ly[0]));
  TEST_OK(hcsc_dict_alloc(&bad[1], MS[1], MS[0] + 1, 3, 1));
  TEST_OK(hcsc_dict_init_random(&bad[1], 4));
  int rc = hcsc_ml_solve(g, bad, 2, &x, z, &o, &st);
  test_expect_error(rc, HCSC_EINVAL, "channel chain", "chain mismatch");
  hcsc_dict_free(&bad[1]);

  o.lambdas[1] = 0;
  rc = hcsc_ml_solve(g, ly, 2, &x, z, &o, &st);
  test_expect_error(rc, HCSC_EINVAL, "lambda", "lambda 0");
  o.lambdas[1] = -1;
  rc = hcsc_ml_solve(g, ly, 2, &x, z, &o, &st);
  test_expect_error(rc, HCSC_EINVAL, "lambda", "lambda -1");
  o.lambdas[1] = 0.05;

  hcsc_dict four[4];
  memcpy(four, ly, 3 * sizeof *ly);
  four[3] = ly[2];
  four[3].nchan = MS[2];
  rc = hcsc_ml_solve(g, four, 4, &x, z, &o, &st);
  test_expect_error(rc, HCSC_EINVAL, "layers", "4 layers");
  hcsc_error_clear();

  TEST_OK(hcsc_ml_solve(g, ly, 3, &x, z, &o, &st));
  TEST_ASSERT(st.iters == 3, "iters %d", st.iters);
  hcsc_ml_stats_free(&st);
  hcsc_dict_free(&bad[0]);
  hcsc_tile_free(&x);
  for (int l = 0; l < 4; l++) hcsc_tile_free(&z[l]);
  hcsc_grid_destroy(&g);
}

int main(int argc, char **argv)
{
  test_init(&argc, &argv);
  hcsc_dict ly[3];
  memset(ly, 0, sizeof ly);
  for (int l = 0; l < 3; l++) {
    TEST_OK(hcsc_dict_alloc(&ly[l], MS[l], l ? MS[l - 1] : C, KS[l], 1));
    TEST_OK(hcsc_dict_init_random(&ly[l], 11 + (uint64_t)l));
  }
  check_grids(ly, 2);
  check_grids(ly, 3);
  check_planted(ly);
  check_errors(ly);
  for (int l = 0; l < 3; l++) hcsc_dict_free(&ly[l]);
  return test_finish("t_mlpursuit");
}
