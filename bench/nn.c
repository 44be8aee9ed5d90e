/* Unrolled-network benchmark (hcsc/nn.h).
 *
 *   mpiexec -n P bench_nn [--arch lista|ssc|...] [--bands 200] [--mode infer|train|both]
 *       [--size 128] [--split] [--infer-reps 3] [--train-size 64] [--batch 8]
 *       [--train-reps 2] [--warmup 1] [--seed 1] [--dump DIR]
 *       [--momentum] [--nonneg] [--no-adapt]     (configuration switches of nn.h)
 *       [--model M.nc]   a trained model instead (its arch, sizes and bands)
 *
 * Builds a network of the architecture's reference size (nn.h defaults on
 * --bands bands), initialised by hcsc_nn_init (ssc: the PCA basis of the
 * first input) and then perturbed (every parameter times 1 + 0.1 N(0, 1),
 * keyed on the seed) so that the untied operators differ and every path
 * matters: random but fixed, the same on every rank.  Inputs are synthetic
 * scenes (hcsc/synth.h, one per sample) plus non-iid Gaussian noise
 * (sigma_b from 0.01 to 0.07 of the [0, 1] range, band-dependent).
 *
 * Inference (--mode infer): each rank runs its own --size x --size patch
 * (data-parallel; --split instead splits ONE patch over the ranks on a
 * grid over MPI_COMM_WORLD: distributed inference with halos); --warmup
 * untimed forwards, then the mean of --infer-reps forwards, max over ranks.
 * Throughput in Mpixel*bands/s of all ranks together, code density, GFLOP/s
 * (hcsc_nn_exec_figures' forward count) against the estimated peak.
 *
 * Training step (--mode train): a GLOBAL batch of --batch patches of
 * --train-size; rank r processes samples r, r + P, ...: forward (train
 * exec on an MPI_COMM_SELF grid whose scene is the patch), loss
 * (hcsc_nn_mse, n = values of one patch), backward; one MPI_Allreduce of
 * the gradients, divided by the batch; Adam (beta1 0.9, beta2 0.999, eps
 * 1e-8, bias correction, lr 1e-4) written inline, the same update on every
 * rank.  Mean of --train-reps steps after --warmup untimed ones; split
 * forward / backward / Allreduce / Adam.  GFLOP/s counts a step as 3x the
 * forward flops (the backward of a convolution is one convolution for the
 * input and one for the weights).
 *
 * --dump DIR (1 rank, with --mode train): the first step's parameters
 * (before Adam), batch-averaged gradients, inputs, clean targets, outputs,
 * loss, code density and noise estimates, as raw float32 + layout.txt for
 * bench/reference/check_torch.py. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hypercsc.h"
#include "machine.h"

typedef struct {
  const char *arch, *mode, *dump, *model;
  int bands, size, split, ireps, tsize, batch, treps, warmup;
  int momentum, nonneg, noadapt;
  uint64_t seed;
} opts;

/* Clean synthetic scene of sample j on the tile's box (a scene of
 * rows x cols), and its noisy version. */
static int make_sample(const opts *o, int j, int64_t rows, int64_t cols, hcsc_tile *clean,
                       hcsc_tile *noisy)
{
  int err = 0;
  hcsc_synth_opts so;
  hcsc_synth_opts_init(&so, o->bands, rows, cols, o->seed + 1000 * (uint64_t)j);
  HCSC_CHECK(hcsc_synth_fill(&so, clean));
  const hcsc_box *b = &clean->box;
  for (int64_t c = 0; c < b->nb; c++) {
    const double sigma = 0.01 + 0.06 * (double)((b->b0 + c) % 7) / 6.0;
    for (int64_t r = 0; r < b->nr; r++)
      for (int64_t q = 0; q < b->nc; q++)
        HCSC_TILE_AT(noisy, c, r, q) =
            HCSC_TILE_AT(clean, c, r, q) +
            (float)(sigma * hcsc_rng_normal(o->seed + 7, (uint32_t)j, b->b0 + c, b->r0 + r, b->c0 + q));
  }
cleanup:
  return err;
}

/* The network of the reference size, initialised and perturbed. */
static int make_net(const opts *o, hcsc_nn **out)
{
  int err = 0;
  hcsc_nn_arch a;
  hcsc_nn_config cfg;
  hcsc_nn *net = NULL;
  hcsc_grid *g = NULL;
  hcsc_tile clean, noisy;
  hcsc_pca pca;
  double *basis = NULL;
  memset(&clean, 0, sizeof clean);
  memset(&noisy, 0, sizeof noisy);
  memset(&pca, 0, sizeof pca);
  HCSC_CHECK(hcsc_nn_arch_parse(o->arch, &a));
  hcsc_nn_config_default(a, o->bands, &cfg);
  cfg.momentum = o->momentum;
  cfg.nonneg = o->nonneg;
  if (o->noadapt) cfg.adapt = 0;
  HCSC_CHECK(hcsc_nn_create(&cfg, &net));
  if (a == HCSC_NN_SSC) {
    /* The PCA basis of a 64 x 64 noisy sample: what `hypercsc train` does
     * with its training scene. */
    const int64_t n = 64;
    HCSC_CHECK(hcsc_grid_create(MPI_COMM_SELF, o->bands, n, n, NULL, &g));
    hcsc_box box = hcsc_grid_box(g);
    HCSC_CHECK(hcsc_tile_alloc(&clean, &box, o->bands, 0));
    HCSC_CHECK(hcsc_tile_alloc(&noisy, &box, o->bands, 0));
    HCSC_CHECK(make_sample(o, 999, n, n, &clean, &noisy));
    HCSC_CHECK(hcsc_pca_compute(g, &noisy, HCSC_EIG_LAPACK, &pca));
    basis = pca.components; /* component-major = column-major B x r */
  }
  HCSC_CHECK(hcsc_nn_init(net, o->seed, NULL, 0, basis));
  for (int64_t i = 0; i < net->size; i++)
    net->params[i] *= (float)(1.0 + 0.1 * hcsc_rng_normal(o->seed, 4242, 0, 0, i));
  hcsc_nn_touch(net);
  *out = net;
  net = NULL;
cleanup:
  hcsc_pca_free(&pca);
  hcsc_tile_free(&clean);
  hcsc_tile_free(&noisy);
  hcsc_grid_destroy(&g);
  hcsc_nn_destroy(&net);
  return err;
}

/* ---- inference ------------------------------------------------------ */

static int infer(const opts *o, hcsc_nn *net, double peak, int rank, int size)
{
  int err = 0;
  hcsc_grid *g = NULL;
  hcsc_nn_exec *e = NULL;
  hcsc_tile clean, x, y;
  memset(&clean, 0, sizeof clean);
  memset(&x, 0, sizeof x);
  memset(&y, 0, sizeof y);
  const int64_t S = o->size;
  double sec = 0;
  hcsc_box box;
  /* --split: one patch over all ranks; else each rank its own patch. */
  HCSC_CHECK(hcsc_grid_create(o->split ? MPI_COMM_WORLD : MPI_COMM_SELF, o->bands, S, S, NULL, &g));
  box = hcsc_grid_box(g);
  HCSC_CHECK(hcsc_tile_alloc(&clean, &box, o->bands, 0));
  HCSC_CHECK(hcsc_tile_alloc(&x, &box, o->bands, 0));
  HCSC_CHECK(hcsc_tile_alloc(&y, &box, o->bands, 0));
  HCSC_CHECK(make_sample(o, o->split ? 0 : rank, S, S, &clean, &x));
  HCSC_CHECK(hcsc_nn_exec_create(net, g, 0, &e));
  for (int r = 0; r < o->warmup; r++) /* warm-up: plans, first touch */
    HCSC_CHECK(hcsc_nn_forward(e, &x, NULL, &y));
  MPI_Barrier(MPI_COMM_WORLD);
  const double t0 = bench_now();
  for (int r = 0; r < o->ireps; r++) HCSC_CHECK(hcsc_nn_forward(e, &x, NULL, &y));
  sec = (bench_now() - t0) / o->ireps;
cleanup:
  err = hcsc_error_agree(MPI_COMM_WORLD, err);
  if (!err) {
    hcsc_nn_figures f;
    hcsc_nn_exec_figures(e, &f);
    double v[3] = {f.flops, f.code_density, f.bytes};
    MPI_Allreduce(MPI_IN_PLACE, &sec, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    MPI_Allreduce(MPI_IN_PLACE, v, 3, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    const double patches = o->split ? 1 : size;
    const double vals = patches * (double)S * (double)S * o->bands;
    if (rank == 0) {
      printf("inference: %s, %d ranks (%s), %lld x %lld x %d, %.3f s per forward, %.2f "
             "Mpixel*bands/s, code density %.4f, %.2f GFLOP/s (%.1f%% of %d x %.1f peak), "
             "%.0f MB of tensors per rank\n",
             o->arch, size, o->split ? "one patch split" : "a patch per rank", (long long)S,
             (long long)S, o->bands, sec, vals / sec * 1e-6, v[1] / size, v[0] / sec * 1e-9,
             100.0 * v[0] / sec * 1e-9 / (peak * size), size, peak, v[2] / size / 1e6);
      printf("RESULT impl=c arch=%s mode=infer ranks=%d batch=%d size=%lld bands=%d sec=%.4f "
             "mpxb_s=%.3f gflops=%.2f density=%.4f split=%d model=%d\n",
             o->arch, size, (int)patches, (long long)S, o->bands, sec, vals / sec * 1e-6,
             v[0] / sec * 1e-9, v[1] / size, o->split, o->model != NULL);
      fflush(stdout);
    }
  }
  hcsc_nn_exec_destroy(&e);
  hcsc_tile_free(&clean);
  hcsc_tile_free(&x);
  hcsc_tile_free(&y);
  hcsc_grid_destroy(&g);
  return err;
}

/* ---- training step -------------------------------------------------- */

/* Write the interior of t to f as float32 (channel, row, column order). */
static int write_tile(FILE *f, const hcsc_tile *t)
{
  for (int64_t c = 0; c < t->nchan; c++)
    for (int64_t r = 0; r < t->box.nr; r++)
      if (fwrite(&HCSC_TILE_AT(t, c, r, 0), sizeof(float), (size_t)t->box.nc, f) !=
          (size_t)t->box.nc)
        return -1;
  return 0;
}

static int dump_file(const char *dir, const char *name, const float *v, int64_t n,
                     const hcsc_tile *tiles, int ntiles)
{
  int err = 0;
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (!f) return HCSC_ERR_ERRNO(path, "bench_nn --dump: cannot create");
  if (v && fwrite(v, sizeof *v, (size_t)n, f) != (size_t)n) err = -1;
  for (int i = 0; i < ntiles && !err; i++) err = write_tile(f, &tiles[i]);
  if (fclose(f) || err) return HCSC_ERR(HCSC_EIO, "bench_nn --dump: write error on %s", path);
  return 0;
}

/* The dump of one step for check_torch.py (see hcsc_torch.load_dump). */
static int dump(const opts *o, const hcsc_nn *net, const hcsc_tile *x, const hcsc_tile *clean,
                const hcsc_tile *y, const hcsc_nn_noise *nz, int n, double loss, double density)
{
  int err = 0;
  char path[4096];
  if (mkdir(o->dump, 0777) && errno != EEXIST) return HCSC_ERR_ERRNO(o->dump, "bench_nn --dump");
  snprintf(path, sizeof path, "%s/layout.txt", o->dump);
  FILE *f = fopen(path, "w");
  if (!f) return HCSC_ERR_ERRNO(path, "bench_nn --dump: cannot create");
  const hcsc_nn_config *c = &net->cfg;
  fprintf(f, "arch %s\nbands %d\niters %d\nrank %d\nnlayers %d\n", hcsc_nn_arch_name(c->arch),
          c->bands, c->iters, c->rank, c->nlayers);
  fprintf(f, "natoms %d %d %d\nksize %d %d %d\nscales %d %d %d\n", c->natoms[0], c->natoms[1],
          c->natoms[2], c->ksize[0], c->ksize[1], c->ksize[2], c->scales[0], c->scales[1],
          c->scales[2]);
  fprintf(f, "momentum %d\nnonneg %d\nadapt %d\nbatch %d\nrows %lld\ncols %lld\n", c->momentum,
          c->nonneg, c->adapt, n, (long long)x[0].box.nr, (long long)x[0].box.nc);
  fprintf(f, "loss %.17g\ncode_density %.6f\n", loss, density);
  for (int i = 0; i < net->nparams; i++) {
    const hcsc_nn_param *p = &net->table[i];
    fprintf(f, "param %s %d", p->name, p->ndim);
    for (int d = 0; d < 4; d++) fprintf(f, " %lld", d < p->ndim ? (long long)p->shape[d] : 0LL);
    fprintf(f, " %lld %lld\n", (long long)p->offset, (long long)p->count);
  }
  for (int j = 0; j < n; j++) {
    fprintf(f, "noise %d %.17g", j, nz[j].level);
    for (int b = 0; b < nz[j].bands; b++) fprintf(f, " %.17g", nz[j].sigma[b]);
    fprintf(f, "\n");
  }
  if (fclose(f)) return HCSC_ERR(HCSC_EIO, "bench_nn --dump: write error on %s", path);
  HCSC_CHECK(dump_file(o->dump, "params.f32", net->params, net->size, NULL, 0));
  HCSC_CHECK(dump_file(o->dump, "grads.f32", net->grads, net->size, NULL, 0));
  HCSC_CHECK(dump_file(o->dump, "input.f32", NULL, 0, x, n));
  HCSC_CHECK(dump_file(o->dump, "clean.f32", NULL, 0, clean, n));
  HCSC_CHECK(dump_file(o->dump, "output.f32", NULL, 0, y, n));
cleanup:
  return err;
}

static int train(const opts *o, hcsc_nn *net, double peak, int rank, int size)
{
  int err = 0, nloc = 0;
  hcsc_grid *g = NULL;
  hcsc_nn_exec *e = NULL;
  hcsc_tile *x = NULL, *clean = NULL, *y = NULL, dy;
  hcsc_nn_noise *nz = NULL;
  float *m = NULL, *v = NULL;
  memset(&dy, 0, sizeof dy);
  const int64_t S = o->tsize;
  const double n = (double)S * (double)S * o->bands;
  double tsum[5] = {0, 0, 0, 0, 0}, loss = 0, density = 0, flops = 0;
  hcsc_box box;
  if (o->dump && size > 1) HCSC_FAIL(HCSC_EINVAL, "bench_nn: --dump runs at 1 rank only");
  for (int j = rank; j < o->batch; j += size) nloc++;
  HCSC_CALLOC(x, nloc);
  HCSC_CALLOC(clean, nloc);
  HCSC_CALLOC(y, nloc);
  HCSC_CALLOC(nz, nloc);
  HCSC_CALLOC(m, net->size);
  HCSC_CALLOC(v, net->size);
  HCSC_CHECK(hcsc_grid_create(MPI_COMM_SELF, o->bands, S, S, NULL, &g));
  box = hcsc_grid_box(g);
  for (int i = 0; i < nloc; i++) {
    HCSC_CHECK(hcsc_tile_alloc(&x[i], &box, o->bands, 0));
    HCSC_CHECK(hcsc_tile_alloc(&clean[i], &box, o->bands, 0));
    HCSC_CHECK(hcsc_tile_alloc(&y[i], &box, o->bands, 0));
    HCSC_CHECK(make_sample(o, 100 + rank + i * size, S, S, &clean[i], &x[i]));
  }
  HCSC_CHECK(hcsc_tile_alloc(&dy, &box, o->bands, 0));
  HCSC_CHECK(hcsc_nn_exec_create(net, g, 1, &e));
  const int steps = o->warmup + o->treps;
  for (int step = 0; step < steps; step++) {
    double t[5], lsum = 0, dsum = 0;
    hcsc_nn_zero_grad(net);
    t[0] = bench_now();
    double tf = 0, tb = 0;
    for (int i = 0; i < nloc; i++) {
      const double a = bench_now();
      hcsc_nn_noise_free(&nz[i]);
      HCSC_CHECK(hcsc_nn_noise_estimate(e, &x[i], &nz[i]));
      HCSC_CHECK(hcsc_nn_forward(e, &x[i], &nz[i], &y[i]));
      double li;
      HCSC_CHECK(hcsc_nn_mse(MPI_COMM_SELF, &y[i], &clean[i], (int64_t)n, &dy, &li));
      hcsc_nn_figures f;
      hcsc_nn_exec_figures(e, &f);
      dsum += f.code_density;
      flops = f.flops;
      const double b = bench_now();
      HCSC_CHECK(hcsc_nn_backward(e, &dy, NULL));
      tf += b - a;
      tb += bench_now() - b;
      lsum += li;
    }
    t[1] = t[0] + tf;
    t[2] = t[1] + tb;
    /* One Allreduce of the gradients (and of the loss and density sums):
     * the data-parallel step every rank then applies identically. */
    const double r0 = bench_now();
    if (size > 1)
      HCSC_MPI(MPI_Allreduce(MPI_IN_PLACE, net->grads, (int)net->size, MPI_FLOAT, MPI_SUM,
                             MPI_COMM_WORLD));
    double ld[2] = {lsum, dsum};
    HCSC_MPI(MPI_Allreduce(MPI_IN_PLACE, ld, 2, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD));
    const double r1 = bench_now();
    const float inv = 1.0f / (float)o->batch;
    for (int64_t i = 0; i < net->size; i++) net->grads[i] *= inv;
    loss = ld[0] / o->batch;
    density = ld[1] / o->batch;
    if (o->dump && step == 0) HCSC_CHECK(dump(o, net, x, clean, y, nz, nloc, loss, density));
    /* Adam with bias correction (Kingma & Ba 2015, Algorithm 1). */
    const double lr = 1e-4, b1 = 0.9, b2 = 0.999, eps = 1e-8;
    const double c1 = 1.0 - pow(b1, step + 1), c2 = 1.0 - pow(b2, step + 1);
    for (int64_t i = 0; i < net->size; i++) {
      const double gi = net->grads[i];
      m[i] = (float)(b1 * m[i] + (1 - b1) * gi);
      v[i] = (float)(b2 * v[i] + (1 - b2) * gi * gi);
      net->params[i] -= (float)(lr * (m[i] / c1) / (sqrt(v[i] / c2) + eps));
    }
    hcsc_nn_touch(net);
    const double r2 = bench_now();
    if (step >= o->warmup) {
      tsum[0] += r2 - t[0];
      tsum[1] += tf;
      tsum[2] += tb;
      tsum[3] += r1 - r0;
      tsum[4] += r2 - r1;
    }
    if (rank == 0) {
      printf("  step %d%s: %.3f s, loss %.6g, code density %.4f\n", step,
             step < o->warmup ? " (warm-up)" : "", r2 - t[0], loss, density);
      fflush(stdout);
    }
  }
cleanup:
  err = hcsc_error_agree(MPI_COMM_WORLD, err);
  if (!err) {
    for (int i = 0; i < 5; i++) tsum[i] /= o->treps;
    MPI_Allreduce(MPI_IN_PLACE, tsum, 5, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    const double fl = 3.0 * flops * o->batch;
    if (rank == 0) {
      printf("training step: %s, %d ranks, batch %d of %lld x %lld x %d: %.3f s per step "
             "(forward %.3f, backward %.3f, Allreduce %.4f, Adam %.4f; max over ranks), "
             "%.2f Mpixel*bands/s, code density %.4f, %.2f GFLOP/s (3 x forward; %.1f%% of "
             "%d x %.1f peak), %lld parameters\n",
             o->arch, size, o->batch, (long long)S, (long long)S, o->bands, tsum[0], tsum[1],
             tsum[2], tsum[3], tsum[4], o->batch * n / tsum[0] * 1e-6, density,
             fl / tsum[0] * 1e-9, 100.0 * fl / tsum[0] * 1e-9 / (peak * size), size, peak,
             (long long)net->size);
      printf("RESULT impl=c arch=%s mode=train ranks=%d batch=%d size=%lld bands=%d sec=%.4f "
             "mpxb_s=%.3f gflops=%.2f density=%.4f fwd=%.4f bwd=%.4f reduce=%.4f adam=%.4f\n",
             o->arch, size, o->batch, (long long)S, o->bands, tsum[0],
             o->batch * n / tsum[0] * 1e-6, fl / tsum[0] * 1e-9, density, tsum[1], tsum[2],
             tsum[3], tsum[4]);
      fflush(stdout);
    }
  }
  for (int i = 0; i < nloc; i++) {
    if (x) hcsc_tile_free(&x[i]);
    if (clean) hcsc_tile_free(&clean[i]);
    if (y) hcsc_tile_free(&y[i]);
    if (nz) hcsc_nn_noise_free(&nz[i]);
  }
  free(x);
  free(clean);
  free(y);
  free(nz);
  free(m);
  free(v);
  hcsc_tile_free(&dy);
  hcsc_nn_exec_destroy(&e);
  hcsc_grid_destroy(&g);
  return err;
}

static int usage(void)
{
  fprintf(stderr,
          "usage: bench_nn [--arch A] [--bands B] [--mode infer|train|both] [--size N] [--split]\n"
          "                [--infer-reps R] [--train-size n] [--batch b] [--train-reps R]\n"
          "                [--warmup W] [--seed S] [--dump DIR] [--momentum] [--nonneg]\n"
          "                [--no-adapt] [--model M.nc]\n");
  return 2;
}

int main(int argc, char **argv)
{
  int err = 0, rank, size;
  opts o = {"lista", "both", NULL, NULL, 200, 128, 0, 3, 64, 8, 2, 1, 0, 0, 0, 1};
  hcsc_nn *net = NULL;
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  for (int i = 1; i < argc; i++) {
    const char *k = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(k, "--split") || !strcmp(k, "--momentum") || !strcmp(k, "--nonneg") ||
        !strcmp(k, "--no-adapt")) {
      *(!strcmp(k, "--split") ? &o.split
        : !strcmp(k, "--momentum") ? &o.momentum
        : !strcmp(k, "--nonneg") ? &o.nonneg : &o.noadapt) = 1;
      continue;
    }
    if (!val) {
      if (rank == 0) usage();
      MPI_Finalize();
      return 2;
    }
    i++;
    if (!strcmp(k, "--arch")) o.arch = val;
    else if (!strcmp(k, "--mode")) o.mode = val;
    else if (!strcmp(k, "--dump")) o.dump = val;
    else if (!strcmp(k, "--model")) o.model = val;
    else if (!strcmp(k, "--bands")) o.bands = atoi(val);
    else if (!strcmp(k, "--size")) o.size = atoi(val);
    else if (!strcmp(k, "--infer-reps")) o.ireps = atoi(val);
    else if (!strcmp(k, "--train-size")) o.tsize = atoi(val);
    else if (!strcmp(k, "--batch")) o.batch = atoi(val);
    else if (!strcmp(k, "--train-reps")) o.treps = atoi(val);
    else if (!strcmp(k, "--warmup")) o.warmup = atoi(val);
    else if (!strcmp(k, "--seed")) o.seed = (uint64_t)strtoull(val, NULL, 10);
    else {
      if (rank == 0) usage();
      MPI_Finalize();
      return 2;
    }
  }
  if (o.bands < 1 || o.size < 1 || o.tsize < 1 || o.batch < 1 || o.ireps < 1 || o.treps < 1 ||
      o.warmup < 0) {
    if (rank == 0) usage();
    MPI_Finalize();
    return 2;
  }
  double peak = 0;
  if (rank == 0) peak = bench_machine(NULL);
  MPI_Bcast(&peak, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
  if (o.model) {
    /* A trained model (hypercsc train): its architecture, sizes and bands. */
    err = hcsc_nn_load(MPI_COMM_WORLD, o.model, &net, NULL);
    if (!err) {
      o.arch = hcsc_nn_arch_name(net->cfg.arch);
      o.bands = net->cfg.bands;
    }
  } else {
    err = hcsc_error_agree(MPI_COMM_WORLD, make_net(&o, &net));
  }
  if (!err && rank == 0) {
    const hcsc_nn_config *c = &net->cfg;
    printf("network %s%s%s: B = %d, T = %d, M = %d, k = %d%s, %lld parameters; OPENBLAS_NUM_THREADS=%s, "
           "HCSC_CONV=%s\n",
           o.arch, o.model ? " from " : " (init, perturbed)", o.model ? o.model : "", c->bands, c->iters, c->natoms[0], c->ksize[0],
           c->arch == HCSC_NN_SSC ? " (ssc)" : "", (long long)net->size,
           getenv("OPENBLAS_NUM_THREADS") ? getenv("OPENBLAS_NUM_THREADS") : "unset",
           getenv("HCSC_CONV") ? getenv("HCSC_CONV") : "unset");
    if (c->arch == HCSC_NN_SSC) printf("  ssc rank r = %d\n", c->rank);
    fflush(stdout);
  }
  if (!err && strcmp(o.mode, "train")) err = infer(&o, net, peak, rank, size);
  if (!err && strcmp(o.mode, "infer")) err = train(&o, net, peak, rank, size);
  if (err && rank == 0) fprintf(stderr, "bench_nn: %s\n", hcsc_error_message());
  hcsc_nn_destroy(&net);
  MPI_Finalize();
  return err ? 1 : 0;
}
