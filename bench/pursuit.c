/* Pursuit benchmark (FISTA, hcsc_pursuit_solve).
 *
 *   bench_pursuit scaling [N [C [M [k [iters]]]]]   run with mpiexec -n 1, 2, ...
 *     FISTA on an N x N x C synthetic scene generated in memory from the
 *     counter RNG (default 2048 x 2048 x 16, M = 16, k = 5, 5 iterations),
 *     on the automatic grid: seconds per iteration (slowest rank), time
 *     split compute / halo / reduce per iteration, halo and reduction bytes
 *     per iteration per rank.  Speed-up = the 1-rank figure over the n-rank
 *     one.
 *   bench_pursuit throughput [N [C [iters]]]        one rank
 *     FISTA iterations/s on an N x N x C tile (default 256 x 256 x 1) for
 *     the direct and FFT backends, k = 3..11, M = 16..128, and GFLOP/s
 *     counting 2 operator applications per iteration at the direct cost
 *     (hcsc_conv_flops of a direct plan) against the estimated peak; the
 *     backend AUTO picks.
 *
 * Iteration times come from the monitor callback (time between the first
 * and the last iteration), so the power iterations and the set-up are not
 * in them. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hypercsc.h"
#include "machine.h"

/* Monitor: timestamps and timer snapshots at the first and last iteration. */
typedef struct {
  int first, last;
  double t[2], cpu[2], ph[2][3];
} clock_ctx;

/* CPU seconds of this process: on a shared, oversubscribed machine it
 * shows the work per rank when wall time mostly shows the contention. */
static double cpu_seconds(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int on_iter(void *ctx, int iter, double objective, double nnz, double rel)
{
  clock_ctx *c = ctx;
  const int k = c->first ? 1 : 0;
  (void)objective;
  (void)nnz;
  (void)rel;
  if (!c->first) c->first = iter;
  c->last = iter;
  c->t[k] = MPI_Wtime();
  c->cpu[k] = cpu_seconds();
  c->ph[k][0] = hcsc_timer_seconds(HCSC_PHASE_COMPUTE);
  c->ph[k][1] = hcsc_timer_seconds(HCSC_PHASE_HALO);
  c->ph[k][2] = hcsc_timer_seconds(HCSC_PHASE_REDUCE);
  return 0;
}

/* One FISTA solve on grid g; per-iteration seconds and phase split. */
static int run(const hcsc_grid *g, const hcsc_dict *d, hcsc_conv_backend be, int iters, double *sec,
               double *cpu, double ph[3], hcsc_pursuit_stats *st)
{
  int err = 0;
  hcsc_box box = hcsc_grid_box(g);
  hcsc_tile x, z;
  memset(&x, 0, sizeof x);
  memset(&z, 0, sizeof z);
  const int h = d->ksize - 1 - (d->ksize - 1) / 2;
  HCSC_CHECK(hcsc_tile_alloc(&x, &box, box.nb, 0));
  HCSC_CHECK(hcsc_tile_alloc(&z, &box, d->natoms, h));
  for (int64_t c = 0; c < box.nb; c++)
    for (int64_t i = 0; i < box.nr; i++)
      for (int64_t j = 0; j < box.nc; j++)
        HCSC_TILE_AT(&x, c, i, j) =
            (float)hcsc_rng_normal(3, 1, box.b0 + c, box.r0 + i, box.c0 + j);
  hcsc_pursuit_opts o;
  hcsc_pursuit_opts_default(&o);
  o.iters = iters;
  o.tol = 0;
  o.lambda = 0.1;
  o.power_iters = 2;
  o.backend = be;
  clock_ctx c;
  memset(&c, 0, sizeof c);
  o.monitor = on_iter;
  o.monitor_ctx = &c;
  HCSC_CHECK(hcsc_pursuit_solve(g, d, &x, &z, &o, st));
  const int n = c.last - c.first;
  *sec = n > 0 ? (c.t[1] - c.t[0]) / n : 0;
  *cpu = n > 0 ? (c.cpu[1] - c.cpu[0]) / n : 0;
  for (int p = 0; p < 3; p++)
    ph[p] = n > 0 ? (c.ph[1][p] - c.ph[0][p]) / n : 0;
cleanup:
  hcsc_tile_free(&x);
  hcsc_tile_free(&z);
  return err;
}

static int scaling(int argc, char **argv)
{
  int err = 0, size, rank;
  const int N = argc > 2 ? atoi(argv[2]) : 2048, C = argc > 3 ? atoi(argv[3]) : 16;
  const int M = argc > 4 ? atoi(argv[4]) : 16, k = argc > 5 ? atoi(argv[5]) : 5;
  const int iters = argc > 6 ? atoi(argv[6]) : 5;
  hcsc_grid *g = NULL;
  hcsc_dict d;
  hcsc_conv *op = NULL;
  hcsc_pursuit_stats st;
  memset(&d, 0, sizeof d);
  memset(&st, 0, sizeof st);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank == 0) bench_machine(NULL);
  HCSC_CHECK(hcsc_grid_create(MPI_COMM_WORLD, C, N, N, NULL, &g));
  HCSC_CHECK(hcsc_dict_alloc(&d, M, C, k, 1));
  HCSC_CHECK(hcsc_dict_init_random(&d, 1));
  int dims[3];
  hcsc_grid_dims(g, dims);
  hcsc_box box = hcsc_grid_box(g);
  HCSC_CHECK(hcsc_conv_create(&d, &box, N, N, HCSC_CONV_AUTO, &op));
  double sec, cpu, ph[3];
  hcsc_timers_reset();
  HCSC_CHECK(run(g, &d, HCSC_CONV_AUTO, iters, &sec, &cpu, ph, &st));
  double mx[5] = {sec, ph[0], ph[1], ph[2], cpu},
         mean[3] = {st.halo_bytes, st.reduce_bytes, hcsc_peak_rss_bytes()};
  MPI_Allreduce(MPI_IN_PLACE, mx, 5, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  MPI_Allreduce(MPI_IN_PLACE, mean, 3, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  if (rank == 0) {
    printf(
        "FISTA scaling: %d x %d x %d scene, M = %d, k = %d, %d ranks (grid %dx%dx%d), backend %s "
        "(AUTO), %d iterations (timed %d)\n",
        N, N, C, M, k, size, dims[0], dims[1], dims[2],
        hcsc_conv_backend_name(hcsc_conv_get_backend(op)), iters, st.iters - 1);
    printf("  s/iteration %.3f (slowest rank); per iteration, max over ranks: compute %.3f s, "
           "halo %.4f s, reduce %.4f s\n",
           mx[0], mx[1], mx[2], mx[3]);
    printf("  per iteration per rank (mean over ranks): halo %.0f bytes, reduce %.0f bytes; "
           "peak RSS %.2f GB per rank\n",
           mean[0] / size, mean[1] / size, mean[2] / size / 1e9);
    printf("  CPU s/iteration of the busiest rank %.3f (wall/CPU %.2f: > 1 when the cores are "
           "shared)\n",
           mx[4], mx[4] > 0 ? mx[0] / mx[4] : 0);
    printf("  RESULT ranks=%d s_per_iter=%.4f cpu_s_per_iter=%.4f\n", size, mx[0], mx[4]);
  }
cleanup:
  hcsc_pursuit_stats_free(&st);
  hcsc_conv_destroy(&op);
  hcsc_dict_free(&d);
  hcsc_grid_destroy(&g);
  return err;
}

static int throughput(int argc, char **argv)
{
  int err = 0;
  const int N = argc > 2 ? atoi(argv[2]) : 256, C = argc > 3 ? atoi(argv[3]) : 1;
  const int iters = argc > 4 ? atoi(argv[4]) : 6;
  const int ks[] = {3, 5, 7, 9, 11}, Ms[] = {16, 32, 64, 128};
  hcsc_grid *g = NULL;
  int dims[3] = {1, 1, 1};
  const double peak = bench_machine(NULL);
  HCSC_CHECK(hcsc_grid_create(MPI_COMM_SELF, C, N, N, dims, &g));
  printf("FISTA throughput: %d x %d x %d tile, one rank, %d iterations per case; GFLOP/s = 2 "
         "operator applications per iteration at the direct cost (peak %.1f per core)\n",
         N, N, C, iters, peak);
  printf("%4s %3s | %9s %8s | %9s %8s | %6s %7s\n", "M", "k", "dir it/s", "GF/s", "fft it/s",
         "GF/s", "auto", "%peak");
  for (size_t mi = 0; mi < sizeof Ms / sizeof Ms[0]; mi++)
    for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++) {
      hcsc_dict d;
      hcsc_conv *op = NULL, *opa = NULL;
      hcsc_box box = hcsc_grid_box(g);
      double sec[2], cpu, ph[3];
      memset(&d, 0, sizeof d);
      HCSC_CHECK(hcsc_dict_alloc(&d, Ms[mi], C, ks[ki], 1));
      HCSC_CHECK(hcsc_dict_init_random(&d, 1));
      HCSC_CHECK(hcsc_conv_create(&d, &box, N, N, HCSC_CONV_DIRECT, &op));
      HCSC_CHECK(hcsc_conv_create(&d, &box, N, N, HCSC_CONV_AUTO, &opa));
      const double fl = 2.0 * hcsc_conv_flops(op);
      for (int b = 0; b < 2; b++) {
        hcsc_pursuit_stats st;
        HCSC_CHECK(run(g, &d, b ? HCSC_CONV_FFT : HCSC_CONV_DIRECT, iters, &sec[b], &cpu, ph, &st));
        hcsc_pursuit_stats_free(&st);
      }
      const double best = sec[0] < sec[1] ? sec[0] : sec[1];
      printf("%4d %3d | %9.2f %8.2f | %9.2f %8.2f | %6s %6.1f%%\n", Ms[mi], ks[ki], 1 / sec[0],
             fl / sec[0] * 1e-9, 1 / sec[1], fl / sec[1] * 1e-9,
             hcsc_conv_backend_name(hcsc_conv_get_backend(opa)), 100 * fl / best * 1e-9 / peak);
      fflush(stdout);
      hcsc_conv_destroy(&op);
      hcsc_conv_destroy(&opa);
      hcsc_dict_free(&d);
    }
cleanup:
  hcsc_grid_destroy(&g);
  return err;
}

int main(int argc, char **argv)
{
  int err = 0, rank;
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (argc > 1 && !strcmp(argv[1], "scaling")) {
    err = scaling(argc, argv);
  } else if (argc > 1 && !strcmp(argv[1], "throughput")) {
    if (rank == 0) err = throughput(argc, argv);
  } else if (rank == 0) {
    fprintf(stderr,
            "usage: bench_pursuit scaling [N [C [M [k [iters]]]]] | throughput [N [C [iters]]]\n");
    err = 1;
  }
  if (err < 0) fprintf(stderr, "bench_pursuit: %s\n", hcsc_error_message());
  MPI_Finalize();
  return err ? 1 : 0;
}
