/* Multi-scale pursuit on a 30 x 26 scene, C = 2; sets: 3 atoms 5 x 5 at
 * scale 1, 2 atoms 9 x 9 at scale 2 (and 2 atoms 7 x 7 at scale 4 for the
 * operator checks), random dictionaries, direct backend:
 *  - adjoint identity <A z, r> = <z, A^T r> (relative 1e-5) on the default
 *    grid, and A^T r is zero off each set's lattice;
 *  - ISTA and FISTA on every P x Q grid equal the 1-rank solve (1e-4 of the
 *    largest coefficient; final objective 1e-5 relative); the codes are zero
 *    off their lattices; ISTA's objective is non-increasing (1e-6 relative)
 *    and FISTA ends below ISTA;
 *  - a planted code (spikes at scale 1 and 2) is recovered;
 *  - a set at scale 3 and sets with different channel counts fail on every
 *    rank. */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hypercsc.h"
#include "testutil.h"

#define H 30
#define W 26
#define C 2
#define NIT 30

static const int MS[3] = {3, 2, 2}, KS[3] = {5, 9, 7}, SC[3] = {1, 2, 4};

static void fill(hcsc_tile *t, uint32_t stream)
{
  for (int64_t c = 0; c < t->nchan; c++)
    for (int64_t i = 0; i < t->box.nr; i++)
      for (int64_t j = 0; j < t->box.nc; j++)
        HCSC_TILE_AT(t, c, i, j) = (float)hcsc_rng_normal(41, stream, c, t->box.r0 + i, t->box.c0 + j);
}

static double dot(const hcsc_tile *a, const hcsc_tile *b)
{
  double s = 0;
  for (int64_t c = 0; c < a->nchan; c++)
    for (int64_t i = 0; i < a->box.nr; i++)
      for (int64_t j = 0; j < a->box.nc; j++)
        s += (double)HCSC_TILE_AT(a, c, i, j) * HCSC_TILE_AT(b, c, i, j);
  return s;
}

/* Count of nonzeros off the lattice of scale s (local). */
static int off_lattice(const hcsc_tile *t, int s)
{
  int n = 0;
  for (int64_t c = 0; c < t->nchan; c++)
    for (int64_t i = 0; i < t->box.nr; i++)
      for (int64_t j = 0; j < t->box.nc; j++)
        if (((t->box.r0 + i) % s || (t->box.c0 + j) % s) && HCSC_TILE_AT(t, c, i, j) != 0) n++;
  return n;
}

static void check_adjoint(const hcsc_dict *sets)
{
  hcsc_grid *g = NULL;
  hcsc_ms_op *op = NULL;
  hcsc_tile x, r, z[3], gz[3];
  memset(&x, 0, sizeof x);
  memset(&r, 0, sizeof r);
  memset(z, 0, sizeof z);
  memset(gz, 0, sizeof gz);
  TEST_OK(hcsc_grid_create(MPI_COMM_WORLD, C, H, W, NULL, &g));
  hcsc_box box = hcsc_grid_box(g);
  TEST_OK(hcsc_tile_alloc(&x, &box, C, 0));
  TEST_OK(hcsc_tile_alloc(&r, &box, C, 1));
  for (int s = 0; s < 3; s++) {
    TEST_OK(hcsc_tile_alloc(&z[s], &box, MS[s], 0));
    TEST_OK(hcsc_tile_alloc(&gz[s], &box, MS[s], 2));
    fill(&z[s], 10 + (uint32_t)s);
    /* Keep z on its lattice so that <z, A^T r> pairs the same entries. */
    for (int64_t m = 0; m < MS[s]; m++)
      for (int64_t i = 0; i < box.nr; i++)
        for (int64_t j = 0; j < box.nc; j++)
          if ((box.r0 + i) % SC[s] || (box.c0 + j) % SC[s]) HCSC_TILE_AT(&z[s], m, i, j) = 0;
  }
  fill(&r, 20);
  TEST_OK(hcsc_ms_op_create(g, sets, 3, HCSC_CONV_DIRECT, &op));
  TEST_OK(hcsc_ms_op_synth(op, z, &x));
  TEST_OK(hcsc_ms_op_analysis(op, &r, gz));
  double d[2] = {dot(&x, &r), 0};
  int off = 0;
  for (int s = 0; s < 3; s++) {
    d[1] += dot(&z[s], &gz[s]);
    off += off_lattice(&gz[s], SC[s]);
  }
  MPI_Allreduce(MPI_IN_PLACE, d, 2, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  MPI_Allreduce(MPI_IN_PLACE, &off, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  TEST_ASSERT(fabs(d[0] - d[1]) <= 1e-5 * fabs(d[0]), "<Az,r> %.9g vs <z,A^T r> %.9g", d[0], d[1]);
  TEST_ASSERT(off == 0, "A^T r has %d values off the lattices", off);
  if (test_rank() == 0)
    printf("adjoint: <Az,r> = %.9g, <z,A^T r> = %.9g, relative difference %.2g\n", d[0], d[1],
           fabs(d[0] - d[1]) / fabs(d[0]));
  hcsc_ms_op_destroy(&op);
  hcsc_tile_free(&x);
  hcsc_tile_free(&r);
  for (int s = 0; s < 3; s++) {
    hcsc_tile_free(&z[s]);
    hcsc_tile_free(&gz[s]);
  }
  hcsc_grid_destroy(&g);
}

/* Solve with sets 0 and 1 from zero; out[s] global layout. */
static int solve_on(hcsc_grid *g, const hcsc_dict *sets, hcsc_pursuit_solver sv, float **out,
                    hcsc_pursuit_stats *st, int *off)
{
  hcsc_box box = hcsc_grid_box(g);
  hcsc_tile x, z[2];
  memset(&x, 0, sizeof x);
  memset(z, 0, sizeof z);
  TEST_OK(hcsc_tile_alloc(&x, &box, C, 0));
  fill(&x, 3);
  hcsc_pursuit_opts o;
  hcsc_pursuit_opts_default(&o);
  o.solver = sv;
  o.lambda = 0.1;
  o.iters = NIT;
  o.tol = 0;
  o.backend = HCSC_CONV_DIRECT;
  for (int s = 0; s < 2; s++) TEST_OK(hcsc_tile_alloc(&z[s], &box, MS[s], 1));
  int rc = hcsc_ms_solve(g, sets, 2, &x, z, &o, st);
  *off = 0;
  for (int s = 0; s < 2; s++) {
    *off += off_lattice(&z[s], SC[s]);
    memset(out[s], 0, sizeof(float) * MS[s] * H * W);
    for (int64_t m = 0; m < MS[s]; m++)
      for (int64_t i = 0; i < box.nr; i++)
        for (int64_t j = 0; j < box.nc; j++)
          out[s][(m * H + box.r0 + i) * W + box.c0 + j] = HCSC_TILE_AT(&z[s], m, i, j);
    hcsc_tile_free(&z[s]);
  }
  hcsc_tile_free(&x);
  return rc;
}

static void check_grids(const hcsc_dict *sets)
{
  const int size = test_size();
  float *ref[2][2], *z[2];
  double obj[2][NIT + 1];
  memset(obj, 0, sizeof obj);
  for (int s = 0; s < 2; s++) {
    z[s] = calloc((size_t)MS[s] * H * W, sizeof(float));
    for (int v = 0; v < 2; v++) ref[v][s] = calloc((size_t)MS[s] * H * W, sizeof(float));
  }
  if (test_rank() == 0) {
    hcsc_grid *g1 = NULL;
    int dims[3] = {1, 1, 1}, off;
    TEST_OK(hcsc_grid_create(MPI_COMM_SELF, C, H, W, dims, &g1));
    for (int v = 0; v < 2; v++) {
      hcsc_pursuit_stats st;
      TEST_OK(solve_on(g1, sets, (hcsc_pursuit_solver)v, ref[v], &st, &off));
      TEST_ASSERT(off == 0, "1 rank: %d values off the lattices", off);
      TEST_ASSERT(st.iters == NIT && st.objective, "iters %d", st.iters);
      for (int i = 0; i <= NIT && st.objective; i++) obj[v][i] = st.objective[i];
      printf("%s: objective %.6f -> %.6f, L %.4f, sparsity %.3f\n", v ? "FISTA" : "ISTA", obj[v][0],
             obj[v][NIT], st.lipschitz, st.sparsity);
      hcsc_pursuit_stats_free(&st);
    }
    hcsc_grid_destroy(&g1);
  }
  for (int s = 0; s < 2; s++)
    for (int v = 0; v < 2; v++) MPI_Bcast(ref[v][s], MS[s] * H * W, MPI_FLOAT, 0, MPI_COMM_WORLD);
  MPI_Bcast(obj, 2 * (NIT + 1), MPI_DOUBLE, 0, MPI_COMM_WORLD);
  for (int i = 0; i < NIT; i++)
    TEST_ASSERT(obj[0][i + 1] <= obj[0][i] + 1e-6 * fabs(obj[0][i]), "ISTA rose at %d: %.9g -> %.9g",
                i, obj[0][i], obj[0][i + 1]);
  TEST_ASSERT(obj[0][NIT] < 0.9 * obj[0][0], "ISTA made no progress");
  TEST_ASSERT(obj[1][NIT] <= obj[0][NIT], "FISTA %.9g > ISTA %.9g", obj[1][NIT], obj[0][NIT]);

  for (int P = 1; P <= size; P++) {
    if (size % P) continue;
    int dims[3] = {1, P, size / P}, off;
    hcsc_grid *g = NULL;
    TEST_OK(hcsc_grid_create(MPI_COMM_WORLD, C, H, W, dims, &g));
    if (!g) continue;
    hcsc_box box = hcsc_grid_box(g);
    for (int v = 0; v < 2; v++) {
      hcsc_pursuit_stats st;
      TEST_OK(solve_on(g, sets, (hcsc_pursuit_solver)v, z, &st, &off));
      MPI_Allreduce(MPI_IN_PLACE, &off, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
      TEST_ASSERT(off == 0, "%dx%d: %d values off the lattices", P, size / P, off);
      for (int s = 0; s < 2; s++) {
        double emax, zmax;
        test_box_maxdiff(z[s], ref[v][s], MS[s], H, W, &box, &emax, &zmax);
        TEST_ASSERT(zmax > 0 && emax <= 1e-4 * zmax, "%s set %d on %dx%d: diff %g (max %g)",
                    v ? "FISTA" : "ISTA", s, P, size / P, emax, zmax);
      }
      TEST_ASSERT(st.iters == NIT && st.objective, "iters %d", st.iters);
      if (st.objective) TEST_NEAR(st.objective[NIT], obj[v][NIT], 1e-5);
      hcsc_pursuit_stats_free(&st);
    }
    hcsc_grid_destroy(&g);
  }
  for (int s = 0; s < 2; s++) {
    free(z[s]);
    for (int v = 0; v < 2; v++) free(ref[v][s]);
  }
}

/* Planted spikes (set, atom, row, col, amplitude); scale-2 ones on even
 * coordinates. */
static const struct {
  int s, m, r, c;
  float a;
} spikes[] = {{0, 0, 5, 4, 1.5f}, {0, 2, 23, 19, -1.3f}, {0, 1, 14, 9, 1.2f},
              {1, 0, 8, 18, 1.6f}, {1, 1, 22, 6, -1.4f}};
#define NSPIKES ((int)(sizeof spikes / sizeof spikes[0]))

static void check_planted(const hcsc_dict *sets)
{
  hcsc_grid *g = NULL;
  hcsc_ms_op *op = NULL;
  hcsc_tile x, z[2];
  memset(&x, 0, sizeof x);
  memset(z, 0, sizeof z);
  TEST_OK(hcsc_grid_create(MPI_COMM_WORLD, C, H, W, NULL, &g));
  hcsc_box box = hcsc_grid_box(g);
  TEST_OK(hcsc_tile_alloc(&x, &box, C, 0));
  for (int s = 0; s < 2; s++) TEST_OK(hcsc_tile_alloc(&z[s], &box, MS[s], 0));
  for (int k = 0; k < NSPIKES; k++) {
    const int64_t i = spikes[k].r - box.r0, j = spikes[k].c - box.c0;
    if (i >= 0 && i < box.nr && j >= 0 && j < box.nc) HCSC_TILE_AT(&z[spikes[k].s], spikes[k].m, i, j) = spikes[k].a;
  }
  TEST_OK(hcsc_ms_op_create(g, sets, 2, HCSC_CONV_DIRECT, &op));
  TEST_OK(hcsc_ms_op_synth(op, z, &x));
  for (int s = 0; s < 2; s++) memset(z[s].data, 0, sizeof(float) * (size_t)(z[s].nchan * z[s].ldr * z[s].ldc));
  hcsc_pursuit_opts o;
  hcsc_pursuit_opts_default(&o);
  o.lambda = 0.01;
  o.iters = 1500;
  o.tol = 1e-7;
  o.backend = HCSC_CONV_DIRECT;
  hcsc_pursuit_stats st;
  TEST_OK(hcsc_ms_solve(g, sets, 2, &x, z, &o, &st));
  double on_min = 1e30, off_max = 0;
  for (int s = 0; s < 2; s++)
    for (int64_t m = 0; m < MS[s]; m++)
      for (int64_t i = 0; i < box.nr; i++)
        for (int64_t j = 0; j < box.nc; j++) {
          const float v = HCSC_TILE_AT(&z[s], m, i, j);
          int on = -1;
          for (int k = 0; k < NSPIKES; k++)
            if (spikes[k].s == s && spikes[k].m == m && spikes[k].r == box.r0 + i && spikes[k].c == box.c0 + j) on = k;
          if (on >= 0)
            on_min = fmin(on_min, v * (spikes[on].a > 0 ? 1.0 : -1.0));
          else
            off_max = fmax(off_max, fabs(v));
        }
  MPI_Allreduce(MPI_IN_PLACE, &on_min, 1, MPI_DOUBLE, MPI_MIN, MPI_COMM_WORLD);
  MPI_Allreduce(MPI_IN_PLACE, &off_max, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  TEST_ASSERT(on_min > 0.5 && on_min > 4 * off_max, "planted: smallest spike %g, off-support %g (iters %d)",
              on_min, off_max, st.iters);
  TEST_ASSERT(st.objective && st.objective[st.iters] < st.objective[0], "objective did not decrease");
  if (test_rank() == 0)
    printf("planted multi-scale: %d iterations, smallest spike %.4f, off-support %.4f\n", st.iters,
           on_min, off_max);
  hcsc_pursuit_stats_free(&st);
  hcsc_ms_op_destroy(&op);
  hcsc_tile_free(&x);
  for (int s = 0; s < 2; s++) hcsc_tile_free(&z[s]);
  hcsc_grid_destroy(&g);
}

static void check_errors(const hcsc_dict *sets)
{
  hcsc_grid *g = NULL;
  hcsc_tile x, z[2];
  memset(&x, 0, sizeof x);
  memset(z, 0, sizeof z);
  TEST_OK(hcsc_grid_create(MPI_COMM_WORLD, C, H, W, NULL, &g));
  hcsc_box box = hcsc_grid_box(g);
  TEST_OK(hcsc_tile_alloc(&x, &box, C, 0));
  fill(&x, 3);
  for (int s = 0; s < 2; s++) TEST_OK(hcsc_tile_alloc(&z[s], &box, MS[s], 0));
  hcsc_pursuit_opts o;
  hcsc_pursuit_opts_default(&o);
  o.iters = 3;
  hcsc_pursuit_stats st;
  hcsc_dict bad[2];
  memcpy(bad, sets, sizeof bad);
  bad[1].scale = 3;
  int rc = hcsc_ms_solve(g, bad, 2, &x, z, &o, &st);
  test_expect_error(rc, HCSC_EINVAL, "scale", "scale 3");
  memcpy(bad, sets, sizeof bad);
  bad[1].nchan = 1; /* the atoms array is larger than needed: harmless */
  rc = hcsc_ms_solve(g, bad, 2, &x, z, &o, &st);
  test_expect_error(rc, HCSC_EINVAL, "channels", "channel mismatch");
  hcsc_error_clear();
  TEST_OK(hcsc_ms_solve(g, sets, 2, &x, z, &o, &st));
  TEST_ASSERT(st.iters == 3, "iters %d", st.iters);
  hcsc_pursuit_stats_free(&st);
  hcsc_tile_free(&x);
  for (int s = 0; s < 2; s++) hcsc_tile_free(&z[s]);
  hcsc_grid_destroy(&g);
}

int main(int argc, char **argv)
{
  test_init(&argc, &argv);
  hcsc_dict sets[3];
  memset(sets, 0, sizeof sets);
  for (int s = 0; s < 3; s++) {
    TEST_OK(hcsc_dict_alloc(&sets[s], MS[s], C, KS[s], SC[s]));
    TEST_OK(hcsc_dict_init_random(&sets[s], 50 + (uint64_t)s));
  }
  check_adjoint(sets);
  check_grids(sets);
  check_planted(sets);
  check_errors(sets);
  for (int s = 0; s < 3; s++) hcsc_dict_free(&sets[s]);
  return test_finish("t_mspursuit");
}
