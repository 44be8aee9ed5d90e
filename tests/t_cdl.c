/* Convolutional dictionary learning by consensus ADMM (hcsc/cdl.h), on a
 * 96 x 80 scene synthesised from a planted dictionary (6 atoms, 5 x 5, one
 * band, random and tapered) with sparse codes from the counter RNG (the
 * same scene whatever the decomposition; codes only where the atom fits
 * inside the scene); 8 atoms learned from a random start, lambda 0.05, 200
 * outer iterations (one code and one dictionary iteration each).  At 48 x 40
 * too few occurrences per atom: recovery stalls in local minima (measured).
 *  - the objective decreases overall: no step rises by more than RISE
 *    (relative, ADMM is not monotone), the final is < 0.5 of the first;
 *  - the consensus primal residual falls below PRIMAL_TOL;
 *  - planted recovery: >= 90% of the planted atoms have a learned atom with
 *    |correlation| >= 0.9 over shifts within +-2 px and sign (printed);
 *  - the distributed learn (each rank's tile is its signal) against a
 *    1-rank learn on MPI_COMM_SELF over the whole scene: final objectives
 *    within OBJ_REL (the signals differ with the split: each tile is
 *    circular), the same planted atoms recovered by both; identical at 1 rank;
 *  - the projected-gradient update also decreases the objective (final <
 *    PGRAD_FINAL of the first: one gradient step per outer iteration is slower);
 *  - checkpoint state: saved in memory after iteration 5, the run continued
 *    to 10, restored into a fresh learner continued to 10: bit-identical g;
 *  - an atom that is never used (zero) is re-seeded from a residual patch,
 *    with unit norm and the same atoms on every rank;
 *  - two signals on one rank and none on another: runs in step, decreases;
 *  - crop mode runs and keeps g finite and in the constraint set;
 *  - bad input on every rank: lambda <= 0, dictionary channels != scene,
 *    atoms larger than a tile. */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hypercsc.h"
#include "testutil.h"

enum { H = 96, W = 80, MP = 6, M = 8, K = 5, MAXIT = 2000 };
static int ITERS = 200;
static double g_obj[MAXIT], g_obj_s[MAXIT], g_obj_pg[MAXIT], g_obj_m[MAXIT];
#define RISE 0.02
#define PRIMAL_TOL 2e-2
#define OBJ_REL 0.05
#define PGRAD_FINAL 0.6

static float g_scene[H * W];

static void make_scene(hcsc_dict *planted)
{
  TEST_OK(hcsc_dict_alloc(planted, MP, 1, K, 1));
  TEST_OK(hcsc_dict_init_random(planted, 7));
  /* Taper (Gaussian, sigma 1 px) so that an atom shifted by a pixel still
   * fits the k x k support: a learned atom is only defined up to a shift. */
  {
    for (int m = 0; m < MP; m++)
      for (int i = 0; i < K; i++)
        for (int j = 0; j < K; j++)
          HCSC_ATOM(planted, m, 0, i, j) *= (float)exp(-0.5 * ((i - 2) * (i - 2) + (j - 2) * (j - 2)));
    hcsc_dict_normalize(planted);
  }
  const int a = (K - 1) / 2;
  memset(g_scene, 0, sizeof g_scene);
  for (int m = 0; m < MP; m++)
    for (int r = K; r < H - K; r++)
      for (int c = K; c < W - K; c++) {
        if (hcsc_rng_uniform(2024, (uint32_t)m, 0, r, c) >= 0.012) continue;
        const double v = hcsc_rng_normal(2024, (uint32_t)(100 + m), 0, r, c);
        const float z = (float)(v >= 0 ? 1 + 0.5 * v : -1 + 0.5 * v);
        /* x(p) += d(i, j) z(q) with q = p + (i - a, j - a) */
        for (int i = 0; i < K; i++)
          for (int j = 0; j < K; j++) g_scene[(r - (i - a)) * W + c - (j - a)] += HCSC_ATOM(planted, m, 0, i, j) * z;
      }
}

static void fill_tile(hcsc_tile *t, const hcsc_box *box)
{
  TEST_OK(hcsc_tile_alloc(t, box, 1, 0));
  for (int64_t i = 0; i < box->nr; i++)
    for (int64_t j = 0; j < box->nc; j++) HCSC_TILE_AT(t, 0, i, j) = g_scene[(box->r0 + i) * W + box->c0 + j];
}

/* max over shifts within +-2 and sign of the normalised correlation */
static double atom_corr(const hcsc_dict *a, int ma, const hcsc_dict *b, int mb, int sh)
{
  const int k = a->ksize, C = a->nchan;
  double na = 0, nb = 0, best = 0;
  for (int c = 0; c < C; c++)
    for (int i = 0; i < k; i++)
      for (int j = 0; j < k; j++) {
        na += (double)HCSC_ATOM(a, ma, c, i, j) * HCSC_ATOM(a, ma, c, i, j);
        nb += (double)HCSC_ATOM(b, mb, c, i, j) * HCSC_ATOM(b, mb, c, i, j);
      }
  if (na == 0 || nb == 0) return 0;
  for (int dy = -sh; dy <= sh; dy++)
    for (int dx = -sh; dx <= sh; dx++) {
      double s = 0;
      for (int c = 0; c < C; c++)
        for (int i = 0; i < k; i++)
          for (int j = 0; j < k; j++) {
            const int i2 = i + dy, j2 = j + dx;
            if (i2 < 0 || j2 < 0 || i2 >= k || j2 >= k) continue;
            s += (double)HCSC_ATOM(a, ma, c, i, j) * HCSC_ATOM(b, mb, c, i2, j2);
          }
      s = fabs(s) / sqrt(na * nb);
      if (s > best) best = s;
    }
  return best;
}

/* Fraction of atoms of ref matched in d with |corr| >= 0.9; prints them. */
static double matched(const hcsc_dict *ref, const hcsc_dict *d, const char *what)
{
  int n = 0;
  if (test_rank() == 0) printf("%s:", what);
  for (int m = 0; m < ref->natoms; m++) {
    double best = 0;
    for (int l = 0; l < d->natoms; l++) {
      const double c = atom_corr(ref, m, d, l, 2);
      if (c > best) best = c;
    }
    n += best >= 0.9;
    if (test_rank() == 0) printf(" %.3f", best);
  }
  if (test_rank() == 0) printf("\n");
  return (double)n / ref->natoms;
}

/* The atoms learned distributed and on 1 rank differ in order and in the
 * unplanted extras: for each planted atom, both match it with |corr| >= 0.9
 * and their best matches correlate >= 0.9 (shifts within +-4). */
static double agree_on_planted(const hcsc_dict *ref, const hcsc_dict *a, const hcsc_dict *b)
{
  int n = 0;
  if (test_rank() == 0) printf("1-rank vs distributed (best matches of the planted atoms):");
  for (int m = 0; m < ref->natoms; m++) {
    int la = 0, lb = 0;
    double ba = -1, bb = -1;
    for (int l = 0; l < a->natoms; l++) {
      const double ca = atom_corr(ref, m, a, l, 2), cb = atom_corr(ref, m, b, l, 2);
      if (ca > ba) ba = ca, la = l;
      if (cb > bb) bb = cb, lb = l;
    }
    /* each may hold the planted atom shifted by up to 2 px: 4 between them */
    const double c = atom_corr(a, la, b, lb, 4);
    n += c >= 0.9 && ba >= 0.9 && bb >= 0.9;
    if (test_rank() == 0) printf(" %.3f", c);
  }
  if (test_rank() == 0) printf("\n");
  return (double)n / ref->natoms;
}

static void opts_for(hcsc_cdl_opts *o, hcsc_cdl_method method)
{
  hcsc_cdl_opts_default(o);
  o->method = method;
  o->lambda = 0.05;
}

/* Learn iters iterations; objectives into obj[iters] (may be NULL); the
 * learned dictionary copied into out. */
static void learn(MPI_Comm comm, const hcsc_tile *t, int nsig, const hcsc_dict *init, const hcsc_cdl_opts *o,
                  int iters, double *obj, hcsc_cdl_report *last, hcsc_dict *out)
{
  hcsc_cdl *s = NULL;
  hcsc_cdl_report rep;
  memset(&rep, 0, sizeof rep);
  TEST_OK(hcsc_cdl_create(comm, t, nsig, init, o, &s));
  if (!s) return;
  for (int it = 0; it < iters; it++) {
    TEST_OK(hcsc_cdl_step(s, &rep));
    if (obj) obj[it] = rep.objective;
  }
  TEST_ASSERT(hcsc_cdl_iteration(s) == iters, "iteration %d, expected %d", hcsc_cdl_iteration(s), iters);
  if (last) *last = rep;
  TEST_OK(hcsc_dict_copy(out, hcsc_cdl_dictionary(s)));
  hcsc_cdl_destroy(&s);
  TEST_ASSERT(s == NULL, "destroy did not clear the pointer");
}

static void check_decrease(const double *obj, int n, double fin, const char *what)
{
  double worst = 0;
  for (int i = 1; i < n; i++) {
    const double rise = (obj[i] - obj[i - 1]) / obj[i - 1];
    if (rise > worst) worst = rise;
  }
  if (test_rank() == 0)
    printf("%s: objective %.5g -> %.5g (iter 10 %.5g), worst rise %.2f%%\n", what, obj[0], obj[n - 1], obj[9],
           100 * worst);
  TEST_ASSERT(worst <= RISE, "%s: objective rose by %.1f%% in one step", what, 100 * worst);
  TEST_ASSERT(obj[n - 1] < fin * obj[0], "%s: final objective %g not < %g x first %g", what, obj[n - 1], fin, obj[0]);
}

/* g must be the same on every rank. */
static void check_replicated(const hcsc_dict *d, const char *what)
{
  const int64_t n = (int64_t)d->natoms * d->nchan * d->ksize * d->ksize;
  float *mx = malloc(sizeof(float) * (size_t)n), *mn = malloc(sizeof(float) * (size_t)n);
  MPI_Allreduce(d->atoms, mx, (int)n, MPI_FLOAT, MPI_MAX, MPI_COMM_WORLD);
  MPI_Allreduce(d->atoms, mn, (int)n, MPI_FLOAT, MPI_MIN, MPI_COMM_WORLD);
  TEST_ASSERT(memcmp(mx, mn, sizeof(float) * (size_t)n) == 0, "%s: dictionary differs across ranks", what);
  free(mx);
  free(mn);
}

static void check_state(const hcsc_tile *t, const hcsc_dict *init)
{
  hcsc_cdl_opts o;
  opts_for(&o, HCSC_CDL_CONSENSUS);
  o.code_iters = 2;
  hcsc_cdl *a = NULL, *b = NULL;
  TEST_OK(hcsc_cdl_create(MPI_COMM_WORLD, t, 1, init, &o, &a));
  TEST_OK(hcsc_cdl_create(MPI_COMM_WORLD, t, 1, init, &o, &b));
  if (!a || !b) return;
  for (int i = 0; i < 5; i++) TEST_OK(hcsc_cdl_step(a, NULL));
  hcsc_state_var *va = NULL, *vb = NULL;
  int na = 0, nb = 0, nsa = 8, nsb = 8;
  double sa[8], sb[8];
  TEST_OK(hcsc_cdl_state(a, &va, &na, sa, &nsa));
  TEST_ASSERT(nsa == HCSC_CDL_NSCALARS && na == 5, "state: %d vars, %d scalars", na, nsa);
  float **saved = calloc((size_t)na, sizeof(float *));
  for (int v = 0; v < na; v++) {
    saved[v] = malloc(sizeof(float) * (size_t)va[v].count);
    memcpy(saved[v], va[v].data, sizeof(float) * (size_t)va[v].count);
  }
  for (int i = 0; i < 5; i++) TEST_OK(hcsc_cdl_step(a, NULL));
  /* restore into b, a fresh learner, and continue */
  TEST_OK(hcsc_cdl_state(b, &vb, &nb, sb, &nsb));
  TEST_ASSERT(nb == na, "state: %d vars vs %d", nb, na);
  for (int v = 0; v < na && v < nb; v++) {
    TEST_ASSERT(strcmp(va[v].name, vb[v].name) == 0 && va[v].count == vb[v].count &&
                    va[v].replicated == vb[v].replicated,
                "state var %d: %s/%s", v, va[v].name, vb[v].name);
    if (va[v].count == vb[v].count) memcpy(vb[v].data, saved[v], sizeof(float) * (size_t)vb[v].count);
  }
  TEST_OK(hcsc_cdl_state_loaded(b, sa, nsa));
  TEST_ASSERT(hcsc_cdl_iteration(b) == 5, "restored iteration %d", hcsc_cdl_iteration(b));
  for (int i = 0; i < 5; i++) TEST_OK(hcsc_cdl_step(b, NULL));
  const hcsc_dict *ga = hcsc_cdl_dictionary(a), *gb = hcsc_cdl_dictionary(b);
  TEST_ASSERT(memcmp(ga->atoms, gb->atoms, sizeof(float) * M * K * K) == 0,
              "state: restored run differs from the continued run");
  if (test_rank() == 0) printf("state: %d arrays, restored run bit-identical after 5 + 5 iterations\n", na);
  /* wrong scalar count: refused on every rank */
  test_expect_error(hcsc_cdl_state_loaded(b, sa, 2), HCSC_EINVAL, "scalars", "state_loaded with 2 scalars");
  for (int v = 0; v < na; v++) free(saved[v]);
  free(saved);
  hcsc_cdl_destroy(&a);
  hcsc_cdl_destroy(&b);
}

static void check_reseed(const hcsc_tile *t, const hcsc_dict *init)
{
  hcsc_cdl_opts o;
  opts_for(&o, HCSC_CDL_CONSENSUS);
  o.reseed_every = 2;
  hcsc_dict d;
  memset(&d, 0, sizeof d);
  TEST_OK(hcsc_dict_copy(&d, init));
  memset(d.atoms, 0, sizeof(float) * K * K); /* atom 0 never used */
  hcsc_cdl *s = NULL;
  hcsc_cdl_report rep;
  int total = 0;
  TEST_OK(hcsc_cdl_create(MPI_COMM_WORLD, t, 1, &d, &o, &s));
  if (!s) return;
  for (int i = 0; i < 3; i++) {
    TEST_OK(hcsc_cdl_step(s, &rep));
    total += rep.reseeded;
  }
  const hcsc_dict *g = hcsc_cdl_dictionary(s);
  double n2 = 0;
  for (int q = 0; q < K * K; q++) n2 += (double)g->atoms[q] * g->atoms[q];
  if (test_rank() == 0) printf("reseed: %d atoms re-seeded, atom 0 norm %.4f\n", total, sqrt(n2));
  TEST_ASSERT(total >= 1, "reseed: the unused atom was not re-seeded");
  TEST_ASSERT(fabs(sqrt(n2) - 1) < 1e-3 || sqrt(n2) < 1, "reseed: atom 0 norm %g", sqrt(n2));
  TEST_ASSERT(n2 > 0.1, "reseed: atom 0 still (near) zero, norm^2 %g", n2);
  check_replicated(g, "reseed");
  hcsc_cdl_destroy(&s);
  hcsc_dict_free(&d);
}

/* Several signals on a rank and none on another: rank 1 passes its tile as
 * two row halves, rank 2 passes nothing (its part of the scene is not
 * learned from); the learner must still run in step and learn. */
static void check_multi(const hcsc_tile *t, const hcsc_dict *init, const hcsc_dict *planted)
{
  hcsc_cdl_opts o;
  opts_for(&o, HCSC_CDL_CONSENSUS);
  hcsc_tile half[2];
  int nsig = 1;
  const hcsc_tile *sig = t;
  if (test_rank() == 1 || test_size() == 1) {
    for (int h = 0; h < 2; h++) {
      half[h] = *t;
      half[h].box.nr = h == 0 ? t->box.nr / 2 : t->box.nr - t->box.nr / 2;
      half[h].box.r0 = t->box.r0 + (h == 0 ? 0 : t->box.nr / 2);
      half[h].data = t->data + (h == 0 ? 0 : (t->box.nr / 2) * t->ldc);
    }
    sig = half;
    nsig = 2;
  } else if (test_rank() == 2) {
    nsig = 0;
  }
  hcsc_dict d;
  memset(&d, 0, sizeof d);
  learn(MPI_COMM_WORLD, sig, nsig, init, &o, ITERS, g_obj_m, NULL, &d);
  if (!d.atoms) return;
  check_decrease(g_obj_m, ITERS, 0.5, "several signals per rank");
  check_replicated(&d, "several signals per rank");
  matched(planted, &d, "planted vs learned (several signals per rank)");
  hcsc_dict_free(&d);
}

static void check_crop(const hcsc_tile *t, const hcsc_dict *init)
{
  hcsc_cdl_opts o;
  opts_for(&o, HCSC_CDL_CONSENSUS);
  o.crop = 16;
  o.code_iters = 5;
  hcsc_dict d;
  memset(&d, 0, sizeof d);
  learn(MPI_COMM_WORLD, t, 1, init, &o, 10, NULL, NULL, &d);
  if (!d.atoms) return;
  int ok = 1;
  for (int m = 0; m < M; m++) {
    double n2 = 0;
    for (int q = 0; q < K * K; q++) {
      ok &= isfinite(d.atoms[m * K * K + q]);
      n2 += (double)d.atoms[m * K * K + q] * d.atoms[m * K * K + q];
    }
    ok &= n2 <= 1 + 1e-5;
  }
  TEST_ASSERT(ok, "crop: dictionary not finite or outside the unit ball");
  check_replicated(&d, "crop");
  hcsc_dict_free(&d);
}

static void check_errors(const hcsc_tile *t, const hcsc_dict *init)
{
  hcsc_cdl_opts o;
  hcsc_cdl *s = NULL;
  opts_for(&o, HCSC_CDL_CONSENSUS);
  o.lambda = 0;
  test_expect_error(hcsc_cdl_create(MPI_COMM_WORLD, t, 1, init, &o, &s), HCSC_EINVAL, "lambda", "lambda 0");
  o.lambda = -1;
  test_expect_error(hcsc_cdl_create(MPI_COMM_WORLD, t, 1, init, &o, &s), HCSC_EINVAL, "lambda", "lambda < 0");
  opts_for(&o, HCSC_CDL_CONSENSUS);
  hcsc_dict d2, big;
  memset(&d2, 0, sizeof d2);
  memset(&big, 0, sizeof big);
  TEST_OK(hcsc_dict_alloc(&d2, M, 2, K, 1));
  TEST_OK(hcsc_dict_init_random(&d2, 3));
  test_expect_error(hcsc_cdl_create(MPI_COMM_WORLD, t, 1, &d2, &o, &s), HCSC_EINVAL, "channels",
                    "dictionary channels != scene");
  /* A 4 x 6 tile on rank 0 only: the other ranks' signals are fine, and
   * they must still fail with the same code. */
  hcsc_tile small;
  memset(&small, 0, sizeof small);
  const hcsc_box sb = {0, 1, 0, 4, 0, 6};
  TEST_OK(hcsc_tile_alloc(&small, &sb, 1, 0));
  test_expect_error(hcsc_cdl_create(MPI_COMM_WORLD, test_rank() == 0 ? &small : t, 1, init, &o, &s), HCSC_EINVAL,
                    "larger", "atoms larger than a tile (rank 0)");
  hcsc_tile_free(&small);
  TEST_ASSERT(s == NULL, "failed create left an object");
  hcsc_dict_free(&d2);
  hcsc_dict_free(&big);
}

int main(int argc, char **argv)
{
  test_init(&argc, &argv);
  const int rank = test_rank(), np = test_size();
  hcsc_dict planted, init, dist, serial, pg;
  memset(&planted, 0, sizeof planted);
  memset(&init, 0, sizeof init);
  memset(&dist, 0, sizeof dist);
  memset(&serial, 0, sizeof serial);
  memset(&pg, 0, sizeof pg);
  make_scene(&planted);
  TEST_OK(hcsc_dict_alloc(&init, M, 1, K, 1));
  TEST_OK(hcsc_dict_init_random(&init, 99));

  hcsc_grid *grid = NULL;
  TEST_OK(hcsc_grid_create(MPI_COMM_WORLD, 1, H, W, NULL, &grid));
  if (!grid) return test_finish("t_cdl");
  const hcsc_box box = hcsc_grid_box(grid);
  hcsc_tile tile, whole;
  memset(&tile, 0, sizeof tile);
  memset(&whole, 0, sizeof whole);
  fill_tile(&tile, &box);
  const hcsc_box wbox = {0, 1, 0, H, 0, W};
  fill_tile(&whole, &wbox);

  hcsc_cdl_opts o;
    hcsc_cdl_report last, last_s, last_pg;
  const double t0 = MPI_Wtime();
  opts_for(&o, HCSC_CDL_CONSENSUS);
  learn(MPI_COMM_WORLD, &tile, 1, &init, &o, ITERS, g_obj, &last, &dist);
  const double t1 = MPI_Wtime();
  if (rank == 0)
    printf("np %d, tile %lld x %lld: consensus %d iterations in %.2f s; last: sparsity %.4f, primal %.3g, dual "
           "%.3g, rho_dict %g, rho_code %g, bytes reduced %.0f, t_code %.2g t_dict %.2g t_reduce %.2g\n",
           np, (long long)box.nr, (long long)box.nc, ITERS, t1 - t0, last.sparsity, last.primal, last.dual,
           last.rho_dict, last.rho_code, last.bytes_reduced, last.t_code, last.t_dict, last.t_reduce);
  check_decrease(g_obj, ITERS, 0.5, "consensus");
  TEST_ASSERT(last.primal < PRIMAL_TOL, "consensus primal residual %g not < %g", last.primal, PRIMAL_TOL);
  TEST_ASSERT(last.bytes_reduced >= sizeof(float) * M * K * K, "bytes reduced %g", last.bytes_reduced);
  check_replicated(&dist, "consensus");
  const double frac = matched(&planted, &dist, "planted vs learned (distributed)");
  TEST_ASSERT(frac >= 0.9, "planted recovery: only %.0f%% of atoms with |corr| >= 0.9", 100 * frac);

  /* 1-rank reference over the whole scene, on every rank. */
  learn(MPI_COMM_SELF, &whole, 1, &init, &o, ITERS, g_obj_s, &last_s, &serial);
  const double rel = fabs(g_obj[ITERS - 1] - g_obj_s[ITERS - 1]) / g_obj_s[ITERS - 1];
  if (rank == 0) printf("final objective: np %d %.6g, 1-rank %.6g (rel diff %.4f)\n", np, g_obj[ITERS - 1], g_obj_s[ITERS - 1], rel);
  TEST_ASSERT(rel <= OBJ_REL, "distributed vs 1-rank objective: rel diff %g > %g", rel, OBJ_REL);
  if (np == 1)
    TEST_ASSERT(memcmp(dist.atoms, serial.atoms, sizeof(float) * M * K * K) == 0, "1 rank: world != self run");
  const double fs = agree_on_planted(&planted, &serial, &dist);
  TEST_ASSERT(fs >= 0.9, "distributed vs 1-rank atoms: only %.0f%% agree", 100 * fs);

  /* projected gradient */
  opts_for(&o, HCSC_CDL_PGRAD);
  o.dict_iters = 2;
  learn(MPI_COMM_WORLD, &tile, 1, &init, &o, ITERS, g_obj_pg, &last_pg, &pg);
  check_decrease(g_obj_pg, ITERS, PGRAD_FINAL, "pgrad");
  matched(&planted, &pg, "planted vs learned (pgrad)");
  check_replicated(&pg, "pgrad");

  check_state(&tile, &init);
  check_reseed(&tile, &init);
  check_multi(&tile, &init, &planted);
  check_crop(&tile, &init);
  check_errors(&tile, &init);

  hcsc_tile_free(&tile);
  hcsc_tile_free(&whole);
  hcsc_grid_destroy(&grid);
  hcsc_dict_free(&planted);
  hcsc_dict_free(&init);
  hcsc_dict_free(&dist);
  hcsc_dict_free(&serial);
  hcsc_dict_free(&pg);
  return test_finish("t_cdl");
}
