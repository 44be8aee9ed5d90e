/* Dictionary-learning benchmark (hcsc/cdl.h).
 *
 *   mpiexec -n P bench_cdl [N [C [M [k [sub [crop [iters [code_iters]]]]]]]]
 *
 * An N x N x C synthetic scene (default 1024 x 1024 x 16) made in memory
 * from the counter RNG (M random atoms, sparse codes, a little noise; each
 * rank makes only its tile, so the scene is the same at any rank count),
 * split over the ranks by the automatic grid; each rank's tile is cut into
 * sub x sub training signals (default 256), and every iteration learns on
 * one crop x crop window of each (default 96: the state of a signal is
 * about 3 M C crop^2 floats, so whole 1024 x 1024 tiles with 64 atoms x 16
 * channels would need 13 GB).  M atoms of k x k (default 64 of 8 x 8), 3
 * code iterations per outer iteration (crops restart their codes).
 *
 * Prints the machine and its load, then for the consensus and the
 * projected-gradient dictionary update: seconds per outer iteration (max
 * over ranks) and its split code / dictionary / Allreduce, bytes reduced
 * per iteration per rank, the objective per iteration and the time each
 * method needs to reach the objective the consensus run ends with. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hypercsc.h"
#include "machine.h"

/* The rank's tile of the scene: x = sum_m d_m * z_m + noise, codes with
 * density 0.002 keyed on (atom, global row, global col). */
static int make_tile(hcsc_tile *t, const hcsc_box *box, const hcsc_dict *d)
{
  const int k = d->ksize, a = (k - 1) / 2, M = d->natoms, C = d->nchan;
  int err = hcsc_tile_alloc(t, box, C, 0);
  if (err) return err;
  for (int64_t r = box->r0 - k; r < box->r0 + box->nr + k; r++)
    for (int64_t c = box->c0 - k; c < box->c0 + box->nc + k; c++)
      for (int m = 0; m < M; m++) {
        if (hcsc_rng_uniform(77, (uint32_t)m, 0, r, c) >= 0.002) continue;
        const float z = (float)hcsc_rng_normal(77, (uint32_t)(1000 + m), 0, r, c);
        for (int i = 0; i < k; i++)
          for (int j = 0; j < k; j++) {
            const int64_t pr = r - (i - a) - box->r0, pc = c - (j - a) - box->c0;
            if (pr < 0 || pc < 0 || pr >= box->nr || pc >= box->nc) continue;
            for (int ch = 0; ch < C; ch++) HCSC_TILE_AT(t, ch, pr, pc) += HCSC_ATOM(d, m, ch, i, j) * z;
          }
      }
  for (int ch = 0; ch < C; ch++)
    for (int64_t i = 0; i < box->nr; i++)
      for (int64_t j = 0; j < box->nc; j++)
        HCSC_TILE_AT(t, ch, i, j) += 0.01f * (float)hcsc_rng_normal(78, 0, ch, box->r0 + i, box->c0 + j);
  return 0;
}

typedef struct {
  double t_iter, t_code, t_dict, t_reduce, bytes, total;
  double obj[64], tcum[64];
} run_result;

static int run(MPI_Comm comm, const hcsc_tile *sig, int nsig, const hcsc_dict *init, hcsc_cdl_method method,
               int crop, int iters, int code_iters, run_result *res)
{
  int err = 0;
  hcsc_cdl *s = NULL;
  hcsc_cdl_opts o;
  hcsc_cdl_opts_default(&o);
  o.method = method;
  o.lambda = 0.05;
  o.crop = crop;
  o.code_iters = code_iters;
  o.dict_iters = method == HCSC_CDL_PGRAD ? 2 : 1;
  memset(res, 0, sizeof *res);
  err = hcsc_cdl_create(comm, sig, nsig, init, &o, &s);
  if (err) return err;
  for (int it = 0; it < iters && it < 64; it++) {
    hcsc_cdl_report rep;
    MPI_Barrier(comm);
    const double t0 = MPI_Wtime();
    err = hcsc_cdl_step(s, &rep);
    if (err) break;
    double dt = MPI_Wtime() - t0;
    MPI_Allreduce(MPI_IN_PLACE, &dt, 1, MPI_DOUBLE, MPI_MAX, comm);
    res->total += dt;
    res->obj[it] = rep.objective;
    res->tcum[it] = res->total;
    if (it > 0 || iters == 1) { /* the first iteration includes cold caches */
      res->t_iter += dt;
      res->t_code += rep.t_code;
      res->t_dict += rep.t_dict;
      res->t_reduce += rep.t_reduce;
      res->bytes += rep.bytes_reduced;
    }
  }
  const int n = iters > 1 ? iters - 1 : 1;
  res->t_iter /= n;
  res->t_code /= n;
  res->t_dict /= n;
  res->t_reduce /= n;
  res->bytes /= n;
  hcsc_cdl_destroy(&s);
  return err;
}

int main(int argc, char **argv)
{
  MPI_Init(&argc, &argv);
  int rank, np, err = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &np);
  const int N = argc > 1 ? atoi(argv[1]) : 1024, C = argc > 2 ? atoi(argv[2]) : 16;
  const int M = argc > 3 ? atoi(argv[3]) : 64, k = argc > 4 ? atoi(argv[4]) : 8;
  const int sub = argc > 5 ? atoi(argv[5]) : 256, crop = argc > 6 ? atoi(argv[6]) : 96;
  const int iters = argc > 7 ? atoi(argv[7]) : 4, code_iters = argc > 8 ? atoi(argv[8]) : 3;
  hcsc_grid *g = NULL;
  hcsc_dict planted, init;
  hcsc_tile tile;
  hcsc_tile *sig = NULL;
  int nsig = 0;
  memset(&planted, 0, sizeof planted);
  memset(&init, 0, sizeof init);
  memset(&tile, 0, sizeof tile);
  if (rank == 0) {
    bench_machine(NULL);
    printf("%d ranks\n", np);
    printf("scene %d x %d x %d, %d atoms %d x %d, signals %d x %d cut from each tile, crop %d, %d code "
           "iterations per outer iteration, %d outer iterations (first not timed)\n",
           N, N, C, M, k, k, sub, sub, crop, code_iters, iters);
  }
  err = hcsc_grid_create(MPI_COMM_WORLD, C, N, N, NULL, &g);
  if (!err) err = hcsc_dict_alloc(&planted, M, C, k, 1);
  if (!err) err = hcsc_dict_init_random(&planted, 5);
  if (!err) err = hcsc_dict_alloc(&init, M, C, k, 1);
  if (!err) err = hcsc_dict_init_random(&init, 6);
  const double t0 = MPI_Wtime();
  const hcsc_box box = g ? hcsc_grid_box(g) : (hcsc_box){0, 0, 0, 0, 0, 0};
  if (!err) err = make_tile(&tile, &box, &planted);
  if (!err) {
    const int nr = (int)((box.nr + sub - 1) / sub), nc = (int)((box.nc + sub - 1) / sub);
    sig = calloc((size_t)nr * nc, sizeof *sig);
    for (int i = 0; i < nr && sig; i++)
      for (int j = 0; j < nc; j++) {
        /* a sub-window of the tile, sharing its storage */
        hcsc_tile *s = &sig[nsig++];
        *s = tile;
        s->box.r0 = box.r0 + (int64_t)i * sub;
        s->box.c0 = box.c0 + (int64_t)j * sub;
        s->box.nr = box.nr - (int64_t)i * sub < sub ? box.nr - (int64_t)i * sub : sub;
        s->box.nc = box.nc - (int64_t)j * sub < sub ? box.nc - (int64_t)j * sub : sub;
        s->data = tile.data + (int64_t)i * sub * tile.ldc + (int64_t)j * sub;
      }
  }
  err = hcsc_error_agree(MPI_COMM_WORLD, err);
  if (rank == 0 && !err)
    printf("scene made in %.1f s; %d signals on rank 0\n", MPI_Wtime() - t0, nsig);
  run_result rc, rp;
  const char *names[2] = {"consensus", "pgrad"};
  for (int meth = 0; meth < 2 && !err; meth++) {
    run_result *r = meth == 0 ? &rc : &rp;
    err = run(MPI_COMM_WORLD, sig, nsig, &init, meth == 0 ? HCSC_CDL_CONSENSUS : HCSC_CDL_PGRAD, crop, iters,
              code_iters, r);
    if (!err && rank == 0) {
      printf("%-9s: %.3f s/iteration (code %.3f, dictionary %.3f of which Allreduce %.4f), %.0f bytes reduced "
             "per iteration per rank\n           objective:",
             names[meth], r->t_iter, r->t_code, r->t_dict, r->t_reduce, r->bytes);
      for (int it = 0; it < iters && it < 64; it++) printf(" %.5g", r->obj[it]);
      printf("\n");
    }
  }
  if (!err && rank == 0) {
    const double target = rc.obj[(iters < 64 ? iters : 64) - 1];
    for (int meth = 0; meth < 2; meth++) {
      const run_result *r = meth == 0 ? &rc : &rp;
      int hit = -1;
      for (int it = 0; it < iters && it < 64; it++)
        if (r->obj[it] <= target) {
          hit = it;
          break;
        }
      if (hit >= 0)
        printf("%-9s reaches objective %.5g after %d iterations, %.2f s\n", names[meth], target, hit + 1,
               r->tcum[hit]);
      else
        printf("%-9s does not reach objective %.5g in %d iterations (%.2f s)\n", names[meth], target, iters,
               r->total);
    }
  }
  if (err && rank == 0) fprintf(stderr, "bench_cdl: %s\n", hcsc_error_message());
  free(sig);
  hcsc_tile_free(&tile);
  hcsc_dict_free(&planted);
  hcsc_dict_free(&init);
  hcsc_grid_destroy(&g);
  MPI_Finalize();
  return err ? 1 : 0;
}
