/* hypercsc — data-parallel training of unrolled networks: the step loop
 * (sampling, forward/backward per sample, one bucketed gradient Allreduce,
 * Adam), validation, checkpoints and signals.  See hcsc/train.h. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hcsc/checkpoint.h"
#include "hcsc/error.h"
#include "hcsc/progress.h"
#include "hcsc/rng.h"
#include "hcsc/signal.h"
#include "hcsc/timer.h"
#include "io/io_impl.h"
#include "nn/train_impl.h"

/* Floats per Iallreduce bucket: 4 MB. */
#define BUCKET (1 << 20)
#define STREAM_SAMPLE 0x73616d70u
#define SALT_NOISE 0x6e6f697365ULL
#define SALT_VAL 0x76616c6964ULL

void hcsc_train_opts_default(hcsc_train_opts *o)
{
  memset(o, 0, sizeof *o);
  o->patch = 64;
  o->batch = 8;
  o->steps = 1000;
  o->epoch_steps = 50;
  o->lr = 1e-3;
  o->schedule = HCSC_SCHEDULE_COSINE;
  o->clip = 1.0;
  o->seed = 1;
  o->flips = 1;
  o->val_patch = 64;
  hcsc_noise_parse("gaussian:30", &o->noise);
  o->progress = 1;
}

/* Learning rate of step t (0-based): linear warmup to lr, then cosine
 * from lr to 0.05 lr at the last step (or constant). */
static double lr_at(const hcsc_train_opts *o, int64_t t)
{
  if (t < o->warmup) return o->lr * (double)(t + 1) / (double)o->warmup;
  if (o->schedule == HCSC_SCHEDULE_CONST) return o->lr;
  const int64_t span = o->steps - o->warmup - 1;
  const double p = span > 0 ? (double)(t - o->warmup) / (double)span : 1.0;
  const double lo = 0.05 * o->lr;
  return lo + (o->lr - lo) * 0.5 * (1.0 + cos(M_PI * (p < 1 ? p : 1)));
}

/* FNV-1a 64 of everything that shapes the trajectory: the configuration,
 * the parameter count and the options that change a step.  The step count
 * shapes the cosine schedule only: with a constant one a resumed run may
 * go on for more steps than the first asked for. */
static uint64_t fingerprint(const hcsc_nn *net, const hcsc_train_opts *o)
{
  char buf[1024];
  const hcsc_nn_config *c = &net->cfg;
  int n = snprintf(buf, sizeof buf,
                   "%s B%d T%d r%d L%d M%d,%d,%d k%d,%d,%d s%d,%d,%d mo%d nn%d ad%d lp%.17g size%lld "
                   "patch%d batch%d steps%lld lr%.17g sch%d wu%lld clip%.17g seed%llu flips%d noise %s",
                   hcsc_nn_arch_name(c->arch), c->bands, c->iters, c->rank, c->nlayers, c->natoms[0],
                   c->natoms[1], c->natoms[2], c->ksize[0], c->ksize[1], c->ksize[2], c->scales[0],
                   c->scales[1], c->scales[2], c->momentum, c->nonneg, c->adapt, c->lowpass, (long long)net->size,
                   o->patch, o->batch, o->schedule == HCSC_SCHEDULE_CONST ? -1LL : (long long)o->steps, o->lr, (int)o->schedule, (long long)o->warmup,
                   o->clip, (unsigned long long)o->seed, o->flips, o->noise.spec);
  for (int i = 0; i < o->nextra && n < (int)sizeof buf; i++)
    n += snprintf(buf + n, sizeof buf - (size_t)n, ",%s", o->extra[i].spec);
  if (n > (int)sizeof buf) n = (int)sizeof buf;
  return hcsc_fnv1a(HCSC_FNV_BASIS, buf, (size_t)n);
}

/* Sample j of step t: scene (weighted by training area), position, flips
 * and noise seed, from the counter RNG only. */
static void draw(const hcsc_train_set *s, const hcsc_train_opts *o, int64_t t, int j, nn_patch_req *q,
                 int *flip, uint64_t *nseed)
{
  hcsc_rng r;
  double total = 0, u;
  int i = 0;
  hcsc_rng_init(&r, nn_mix(o->seed, (uint64_t)t, (uint64_t)j), STREAM_SAMPLE);
  for (int k = 0; k < s->n; k++) total += (double)s->train_rows[k] * (double)hcsc_scene_meta(s->scenes[k])->cols;
  u = hcsc_rng_next_uniform(&r) * total;
  for (i = 0; i < s->n - 1; i++) {
    const double a = (double)s->train_rows[i] * (double)hcsc_scene_meta(s->scenes[i])->cols;
    if (u < a) break;
    u -= a;
  }
  const int64_t cols = hcsc_scene_meta(s->scenes[i])->cols;
  q->scene = i;
  q->nr = q->nc = o->patch;
  q->r0 = (int64_t)hcsc_rng_next_below(&r, (uint64_t)(s->train_rows[i] - o->patch + 1));
  q->c0 = (int64_t)hcsc_rng_next_below(&r, (uint64_t)(cols - o->patch + 1));
  *flip = o->flips ? (int)(hcsc_rng_next_u32(&r) & 3u) : 0;
  *nseed = nn_mix(o->seed ^ SALT_NOISE, (uint64_t)t, (uint64_t)j);
}

/* Flip a patch in place: bit 0 mirrors the columns, bit 1 the rows. */
static void flip_patch(hcsc_tile *t, int flip)
{
  const int64_t nr = t->box.nr, nc = t->box.nc;
  for (int64_t b = 0; b < t->nchan; b++) {
    if (flip & 1)
      for (int64_t r = 0; r < nr; r++)
        for (int64_t c = 0; c < nc / 2; c++) {
          float v = HCSC_TILE_AT(t, b, r, c);
          HCSC_TILE_AT(t, b, r, c) = HCSC_TILE_AT(t, b, r, nc - 1 - c);
          HCSC_TILE_AT(t, b, r, nc - 1 - c) = v;
        }
    if (flip & 2)
      for (int64_t r = 0; r < nr / 2; r++)
        for (int64_t c = 0; c < nc; c++) {
          float v = HCSC_TILE_AT(t, b, r, c);
          HCSC_TILE_AT(t, b, r, c) = HCSC_TILE_AT(t, b, nr - 1 - r, c);
          HCSC_TILE_AT(t, b, nr - 1 - r, c) = v;
        }
  }
}

/* noisy = clean + noise of model m (the patch treated as a whole scene on
 * MPI_COMM_SELF, range = the scene's clean range).  Not collective. */
static int make_noisy(const hcsc_tile *clean, const hcsc_noise_model *m, uint64_t seed, double range,
                      hcsc_tile *noisy)
{
  int err = 0;
  HCSC_CHECK(hcsc_tile_alloc(noisy, &clean->box, clean->nchan, 0));
  memcpy(noisy->data, clean->data, (size_t)(clean->nchan * clean->ldr * clean->ldc) * sizeof(float));
  HCSC_CHECK(hcsc_noise_apply(MPI_COMM_SELF, m, seed, clean->nchan, clean->box.nr, clean->box.nc, range,
                              noisy));
cleanup:
  return err;
}

/* An exec on a grid over MPI_COMM_SELF whose scene is a B x nr x nc patch,
 * re-made only when the shape changes. */
typedef struct {
  hcsc_grid *grid;
  hcsc_nn_exec *exec;
  int64_t nr, nc;
  hcsc_tile y, dy;
} patch_exec;

static void patch_exec_free(patch_exec *p)
{
  hcsc_nn_exec_destroy(&p->exec);
  hcsc_grid_destroy(&p->grid);
  hcsc_tile_free(&p->y);
  hcsc_tile_free(&p->dy);
  p->nr = p->nc = 0;
}

static int patch_exec_get(patch_exec *p, hcsc_nn *net, int64_t nr, int64_t nc, int train)
{
  int err = 0;
  const int dims[3] = {1, 1, 1};
  const int64_t B = net->cfg.bands;
  if (p->exec && p->nr == nr && p->nc == nc) return 0;
  patch_exec_free(p);
  HCSC_CHECK(hcsc_grid_create(MPI_COMM_SELF, B, nr, nc, dims, &p->grid));
  HCSC_CHECK(hcsc_nn_exec_create(net, p->grid, train, &p->exec));
  HCSC_CHECK(hcsc_tile_alloc(&p->y, &(hcsc_box){0, B, 0, nr, 0, nc}, B, 0));
  if (train) HCSC_CHECK(hcsc_tile_alloc(&p->dy, &(hcsc_box){0, B, 0, nr, 0, nc}, B, 0));
  p->nr = nr, p->nc = nc;
cleanup:
  if (err) patch_exec_free(p);
  return err;
}

/* See train.h.  Collective on the set's comm. */
int hcsc_train_eval(hcsc_nn *net, hcsc_train_set *val, int holdout_only, int val_patch,
                    const hcsc_noise_model *noise, uint64_t seed, hcsc_train_eval_result *res)
{
  int err = 0, np = 0;
  const int P = val->size, me = val->rank;
  const int64_t B = val->bands;
  nn_patch_req *list = NULL, *round = NULL;
  hcsc_tile *pt = NULL, noisy = {0};
  double *acc = NULL; /* per patch: [B] output errors, [B] noisy errors, count, density */
  patch_exec pe;
  double t0 = MPI_Wtime(), tf = 0;
  memset(&pe, 0, sizeof pe);
  memset(res, 0, sizeof *res);
  res->mpsnr = res->noisy_mpsnr = NAN;
  if (B != net->cfg.bands)
    err = HCSC_ERR(HCSC_ESIZE, "%s has %lld bands, the model %d", val->paths[0], (long long)B, net->cfg.bands);
  if (!err && val_patch < 1) err = HCSC_ERR(HCSC_EINVAL, "validation patch side %d must be >= 1", val_patch);
  /* The patch list, the same on every rank. */
  for (int pass = 0; !err && pass < 2; pass++) {
    np = 0;
    for (int i = 0; i < val->n; i++) {
      const hcsc_meta *m = hcsc_scene_meta(val->scenes[i]);
      const int64_t ra = holdout_only ? val->train_rows[i] : 0, nrr = m->rows - ra;
      if (nrr < 1) continue;
      const int64_t pr = val_patch < nrr ? val_patch : nrr, pc = val_patch < m->cols ? val_patch : m->cols;
      for (int64_t a = 0; a + pr <= nrr; a += pr)
        for (int64_t b = 0; b + pc <= m->cols; b += pc) {
          if (pass) list[np] = (nn_patch_req){i, ra + a, b, pr, pc, np % P};
          np++;
        }
    }
    if (!pass && !(list = calloc((size_t)np + 1, sizeof *list))) err = HCSC_ERR(HCSC_ENOMEM, "validation: out of memory");
  }
  if (!err && !(acc = calloc((size_t)np * (size_t)(2 * B + 2) + 1, sizeof *acc)))
    err = HCSC_ERR(HCSC_ENOMEM, "validation: out of memory");
  if (!err && !(pt = calloc((size_t)P, sizeof *pt))) err = HCSC_ERR(HCSC_ENOMEM, "validation: out of memory");
  HCSC_CHECK(hcsc_error_agree(val->comm, err));
  /* Rounds of one patch per rank: memory of one patch per rank. */
  for (int k0 = 0; k0 < np; k0 += P) {
    const int nk = np - k0 < P ? np - k0 : P;
    HCSC_CHECK(nn_set_fetch(val, list + k0, nk, pt));
    for (int q = 0; q < nk; q++) {
      const nn_patch_req *r = &list[k0 + q];
      if (r->dest != me) continue;
      const double range = val->range[r->scene], rr = range * range;
      double *a = acc + (size_t)(k0 + q) * (size_t)(2 * B + 2);
      hcsc_nn_figures fig;
      err = make_noisy(&pt[q], noise, nn_mix(seed ^ SALT_VAL, (uint64_t)(k0 + q), 0), range, &noisy);
      if (!err) err = patch_exec_get(&pe, net, r->nr, r->nc, 0);
      if (!err) {
        double tq = MPI_Wtime();
        err = hcsc_nn_apply(pe.exec, pe.grid, &noisy, NULL, NULL, &pe.y);
        tf += MPI_Wtime() - tq;
      }
      if (err) break;
      hcsc_timer_start(HCSC_PHASE_COMPUTE);
      for (int64_t b = 0; b < B; b++) {
        double se = 0, sn = 0;
        for (int64_t i = 0; i < r->nr; i++)
          for (int64_t j = 0; j < r->nc; j++) {
            const double c = HCSC_TILE_AT(&pt[q], b, i, j);
            const double d = HCSC_TILE_AT(&pe.y, b, i, j) - c, e = HCSC_TILE_AT(&noisy, b, i, j) - c;
            se += d * d, sn += e * e;
          }
        a[b] = se / rr, a[B + b] = sn / rr;
      }
      hcsc_timer_stop(HCSC_PHASE_COMPUTE);
      hcsc_nn_exec_figures(pe.exec, &fig);
      a[2 * B] = (double)(r->nr * r->nc);
      a[2 * B + 1] = fig.code_density;
      hcsc_tile_free(&noisy);
    }
    for (int q = 0; q < nk; q++) hcsc_tile_free(&pt[q]);
    HCSC_CHECK(hcsc_error_agree(val->comm, err));
  }
  /* One rank filled each patch's entries: the sum is exact, and the sums
   * over patches below run in patch order on every rank. */
  {
    const size_t n = (size_t)np * (size_t)(2 * B + 2);
    for (size_t i = 0; i < n; i += 1u << 28)
      HCSC_CHECK(hcsc_error_agree(val->comm, MPI_Allreduce(MPI_IN_PLACE, acc + i,
                                                           (int)(n - i < (1u << 28) ? n - i : (1u << 28)),
                                                           MPI_DOUBLE, MPI_SUM, val->comm) == MPI_SUCCESS
                                                   ? 0 : HCSC_ERR(HCSC_EMPI, "validation: MPI_Allreduce failed")));
  }
  if (np > 0) {
    double cnt = 0, dens = 0, ps = 0, pn = 0;
    for (int q = 0; q < np; q++) {
      cnt += acc[(size_t)q * (2 * B + 2) + 2 * B];
      dens += acc[(size_t)q * (2 * B + 2) + 2 * B + 1];
    }
    for (int64_t b = 0; b < B; b++) {
      double se = 0, sn = 0;
      for (int q = 0; q < np; q++) {
        se += acc[(size_t)q * (2 * B + 2) + b];
        sn += acc[(size_t)q * (2 * B + 2) + B + b];
      }
      ps += 10 * log10(cnt / (se > 0 ? se : 1e-300));
      pn += 10 * log10(cnt / (sn > 0 ? sn : 1e-300));
    }
    res->mpsnr = ps / (double)B;
    res->noisy_mpsnr = pn / (double)B;
    res->code_density = dens / np;
  }
  res->patches = np;
  (void)t0;
  HCSC_MPI(MPI_Allreduce(&tf, &res->seconds, 1, MPI_DOUBLE, MPI_MAX, val->comm));
cleanup:
  hcsc_tile_free(&noisy);
  for (int q = 0; pt && q < P; q++) hcsc_tile_free(&pt[q]);
  patch_exec_free(&pe);
  free(pt);
  free(list);
  free(round);
  free(acc);
  return hcsc_error_agree(val->comm, err);
}

/* ---- checkpoints ------------------------------------------------------- */

static const char *const ck_names[] = {"step", "fingerprint_hi", "fingerprint_lo", "arch", "val_mpsnr",
                                       "train_seconds", "nparams"};
enum { CK_STEP, CK_FHI, CK_FLO, CK_ARCH, CK_VAL, CK_SECS, CK_SIZE, CK_N };

typedef struct {
  hcsc_nn *net;
  float *m, *v;
  int64_t step;
  double val_mpsnr, seconds;
  uint64_t fp;
} train_state;

static int ckpt_save(MPI_Comm comm, const char *path, const train_state *s)
{
  int err = 0;
  double secs = s->seconds;
  /* Wall times differ between ranks; the checkpoint's scalars may not. */
  HCSC_MPI(MPI_Bcast(&secs, 1, MPI_DOUBLE, 0, comm));
  const hcsc_state_var vars[] = {{"params", s->net->params, s->net->size, 1},
                                 {"adam_m", s->m, s->net->size, 1},
                                 {"adam_v", s->v, s->net->size, 1}};
  const double sc[CK_N] = {(double)s->step, (double)(s->fp >> 32), (double)(s->fp & 0xffffffffu),
                           (double)s->net->cfg.arch, s->val_mpsnr, secs, (double)s->net->size};
  err = hcsc_ckpt_write(comm, path, "train", vars, 3, ck_names, sc, CK_N, 1);
cleanup:
  return err;
}

static int ckpt_load(MPI_Comm comm, const char *path, train_state *s)
{
  int err = 0;
  double sc[CK_N];
  const hcsc_state_var vars[] = {{"params", s->net->params, s->net->size, 1},
                                 {"adam_m", s->m, s->net->size, 1},
                                 {"adam_v", s->v, s->net->size, 1}};
  HCSC_CHECK(hcsc_ckpt_read(comm, path, "train", NULL, 0, ck_names, sc, CK_N));
  /* Every rank read the same scalars: the verdicts agree. */
  if (sc[CK_ARCH] != (double)s->net->cfg.arch || sc[CK_SIZE] != (double)s->net->size)
    HCSC_FAIL(HCSC_EINVAL, "checkpoint %s was made for another architecture (%s, %.0f parameters); this run "
              "trains %s with %lld parameters", path,
              sc[CK_ARCH] >= 0 && sc[CK_ARCH] < HCSC_NN_NARCH ? hcsc_nn_arch_name((hcsc_nn_arch)sc[CK_ARCH]) : "?",
              sc[CK_SIZE], hcsc_nn_arch_name(s->net->cfg.arch), (long long)s->net->size);
  if (sc[CK_FHI] != (double)(s->fp >> 32) || sc[CK_FLO] != (double)(s->fp & 0xffffffffu))
    HCSC_FAIL(HCSC_EINVAL, "checkpoint %s was made with another configuration or options (sizes, patch, "
              "batch, steps, learning rate, schedule, clip, seed or noise differ)", path);
  HCSC_CHECK(hcsc_ckpt_read(comm, path, "train", vars, 3, ck_names, sc, CK_N));
  s->step = (int64_t)sc[CK_STEP];
  s->val_mpsnr = sc[CK_VAL];
  s->seconds = sc[CK_SECS];
  hcsc_nn_touch(s->net);
cleanup:
  return err;
}

/* ---- the step loop ----------------------------------------------------- */

/* Sum net->grads over the ranks: buckets of ~4 MB posted as
 * MPI_Iallreduce and waited together (the network overlaps them). */
static int reduce_grads(MPI_Comm comm, hcsc_nn *net, MPI_Request *req, int nb)
{
  int err = 0;
  hcsc_timer_start(HCSC_PHASE_REDUCE);
  for (int b = 0; b < nb; b++) {
    const int64_t o = (int64_t)b * BUCKET, n = net->size - o < BUCKET ? net->size - o : BUCKET;
    HCSC_MPI(MPI_Iallreduce(MPI_IN_PLACE, net->grads + o, (int)n, MPI_FLOAT, MPI_SUM, comm, &req[b]));
  }
  HCSC_MPI(MPI_Waitall(nb, req, MPI_STATUSES_IGNORE));
cleanup:
  hcsc_timer_stop(HCSC_PHASE_REDUCE);
  return err;
}

/* Forward, loss and backward of this rank's samples of one step: sums of
 * the sample losses and PSNRs in acc[0..1].  Local (MPI_COMM_SELF). */
static int local_samples(hcsc_nn *net, hcsc_train_set *s, const hcsc_train_opts *o, const nn_patch_req *req,
                         const int *flips, const uint64_t *nseeds, hcsc_tile *pt, patch_exec *pe, double acc[2])
{
  int err = 0;
  hcsc_tile noisy = {0}, xh = {0}, xl = {0};
  const int64_t n = net->cfg.bands * (int64_t)o->patch * o->patch;
  for (int j = 0; j < o->batch; j++) {
    if (req[j].dest != s->rank) continue;
    double loss = 0;
    const double range = s->range[req[j].scene];
    flip_patch(&pt[j], flips[j]);
    {
      const int which = (int)(nseeds[j] % (uint64_t)(1 + o->nextra));
      HCSC_CHECK(make_noisy(&pt[j], which ? &o->extra[which - 1] : &o->noise, nseeds[j], range, &noisy));
    }
    if (net->cfg.lowpass > 0) {
      /* y = G x + f(x - G x): f learns the clean patch minus G x (G x is
       * a constant of the parameters). */
      HCSC_CHECK(hcsc_nn_split(net, pe->grid, &noisy, NULL, &xh, &xl));
      for (int64_t i = 0; i < xl.nchan * xl.ldr * xl.ldc; i++) xl.data[i] = pt[j].data[i] - xl.data[i];
      HCSC_CHECK(hcsc_nn_forward(pe->exec, &xh, NULL, &pe->y));
      HCSC_CHECK(hcsc_nn_mse(MPI_COMM_SELF, &pe->y, &xl, n, &pe->dy, &loss));
      hcsc_tile_free(&xh);
      hcsc_tile_free(&xl);
    } else {
      HCSC_CHECK(hcsc_nn_forward(pe->exec, &noisy, NULL, &pe->y));
      HCSC_CHECK(hcsc_nn_mse(MPI_COMM_SELF, &pe->y, &pt[j], n, &pe->dy, &loss));
    }
    /* The loss is taken on data scaled to the scene's clean range (as the
     * noise protocol's [0, 1]), so its size, the gradient clip and Adam's
     * early steps do not depend on the sensor's units: L / range^2. */
    {
      const double inv = range > 0 ? 1.0 / (range * range) : 1.0;
      const int64_t len = pe->dy.nchan * pe->dy.ldr * pe->dy.ldc;
      for (int64_t i = 0; i < len; i++) pe->dy.data[i] = (float)(pe->dy.data[i] * inv);
      loss *= inv;
    }
    HCSC_CHECK(hcsc_nn_backward(pe->exec, &pe->dy, NULL));
    acc[0] += loss;
    acc[1] += 10 * log10(1.0 / (2 * loss > 0 ? 2 * loss : 1e-300));
    hcsc_tile_free(&noisy);
  }
cleanup:
  hcsc_tile_free(&noisy);
  hcsc_tile_free(&xh);
  hcsc_tile_free(&xl);
  return err;
}

/* See train.h.  Collective on the sets' comm. */
int hcsc_train_run(hcsc_nn *net, hcsc_train_set *train, hcsc_train_set *val, const hcsc_train_opts *o,
                   hcsc_train_result *res)
{
  int err = 0, signo = 0, nb = 0;
  MPI_Comm comm = train->comm;
  const int B = net->cfg.bands;
  train_state st;
  nn_patch_req *req = NULL;
  int *flips = NULL;
  uint64_t *nseeds = NULL;
  hcsc_tile *pt = NULL;
  MPI_Request *rq = NULL;
  patch_exec pe;
  hcsc_progress *bar = NULL;
  hcsc_train_eval_result ev;
  hcsc_train_set *vs = val ? val : train;
  int have_val = 0;
  memset(&pe, 0, sizeof pe);
  memset(&st, 0, sizeof st);
  memset(res, 0, sizeof *res);
  res->first_loss = res->last_loss = res->val_mpsnr = res->noisy_mpsnr = NAN;
  st.net = net;
  st.val_mpsnr = NAN;
  /* Checks that every rank makes alike (same options, same metadata). */
  if (train->bands != B)
    HCSC_FAIL(HCSC_ESIZE, "%s has %lld bands, the network %d", train->paths[0], (long long)train->bands, B);
  if (val && val->bands != B)
    HCSC_FAIL(HCSC_ESIZE, "%s has %lld bands, the network %d", val->paths[0], (long long)val->bands, B);
  if (o->patch < 1 || o->batch < 1 || o->steps < 0 || o->epoch_steps < 1 || !(o->lr > 0) || o->warmup < 0)
    HCSC_FAIL(HCSC_EINVAL, "train: --patch, --batch, --epoch-steps and --lr must be positive, --steps and "
              "--warmup >= 0");
  for (int i = 0; i < train->n; i++)
    if (train->train_rows[i] < o->patch || hcsc_scene_meta(train->scenes[i])->cols < o->patch)
      HCSC_FAIL(HCSC_ESIZE, "%s: a %d x %d patch does not fit its training region (%lld rows x %lld cols)",
                train->paths[i], o->patch, o->patch, (long long)train->train_rows[i],
                (long long)hcsc_scene_meta(train->scenes[i])->cols);
  for (int i = 0; i < vs->n; i++)
    if (hcsc_scene_meta(vs->scenes[i])->rows > (val ? 0 : vs->train_rows[i])) have_val = 1;
  st.fp = fingerprint(net, o);
  nb = (int)((net->size + BUCKET - 1) / BUCKET);
  /* Allocations fail locally: agree before the first collective. */
  st.m = calloc((size_t)net->size + 1, sizeof *st.m);
  st.v = calloc((size_t)net->size + 1, sizeof *st.v);
  req = calloc((size_t)o->batch, sizeof *req);
  flips = calloc((size_t)o->batch, sizeof *flips);
  nseeds = calloc((size_t)o->batch, sizeof *nseeds);
  pt = calloc((size_t)o->batch, sizeof *pt);
  rq = calloc((size_t)nb + 1, sizeof *rq);
  if (!st.m || !st.v || !req || !flips || !nseeds || !pt || !rq)
    err = HCSC_ERR(HCSC_ENOMEM, "train: out of memory");
  else
    err = patch_exec_get(&pe, net, o->patch, o->patch, 1);
  HCSC_CHECK(hcsc_error_agree(comm, err));
  if (o->resume) HCSC_CHECK(ckpt_load(comm, o->resume, &st));
  res->first_step = st.step;
  if (o->log && train->rank == 0)
    fprintf(o->log, "step,epoch,loss,psnr,lr,grad_norm,step_s,reduce_s,val_mpsnr\n");
  if (o->progress) bar = hcsc_progress_create(comm, "train", o->steps, "steps");
  double t_run = MPI_Wtime();
  while (st.step < o->steps) {
    const int64_t t = st.step;
    double t0 = MPI_Wtime(), acc[2] = {0, 0}, norm = 0, scale = 1, tr;
    HCSC_CHECK(hcsc_signal_agree(comm, &signo));
    if (signo) break;
    hcsc_nn_zero_grad(net);
    for (int j = 0; j < o->batch; j++) {
      draw(train, o, t, j, &req[j], &flips[j], &nseeds[j]);
      req[j].dest = j % train->size;
    }
    HCSC_CHECK(nn_set_fetch(train, req, o->batch, pt));
    err = local_samples(net, train, o, req, flips, nseeds, pt, &pe, acc);
    for (int j = 0; j < o->batch; j++) hcsc_tile_free(&pt[j]);
    HCSC_CHECK(hcsc_error_agree(comm, err));
    tr = MPI_Wtime();
    HCSC_CHECK(reduce_grads(comm, net, rq, nb));
    tr = MPI_Wtime() - tr;
    HCSC_MPI(MPI_Allreduce(MPI_IN_PLACE, acc, 2, MPI_DOUBLE, MPI_SUM, comm));
    /* Adam (Kingma & Ba) on the mean gradient, clipped by its global norm;
     * every rank holds the same sums, so every rank makes the same step. */
    hcsc_timer_start(HCSC_PHASE_COMPUTE);
    for (int64_t i = 0; i < net->size; i++) {
      const double g = (double)net->grads[i] / o->batch;
      norm += g * g;
    }
    norm = sqrt(norm);
    if (o->clip > 0 && norm > o->clip) scale = o->clip / norm;
    {
      const double lr = lr_at(o, t), b1 = 0.9, b2 = 0.999, eps = 1e-8;
      const double c1 = 1 - pow(b1, (double)(t + 1)), c2 = 1 - pow(b2, (double)(t + 1));
      for (int64_t i = 0; i < net->size; i++) {
        const double g = (double)net->grads[i] / o->batch * scale;
        const double m = b1 * st.m[i] + (1 - b1) * g, v = b2 * st.v[i] + (1 - b2) * g * g;
        st.m[i] = (float)m, st.v[i] = (float)v;
        net->params[i] = (float)(net->params[i] - lr * ((double)st.m[i] / c1) / (sqrt((double)st.v[i] / c2) + eps));
      }
    }
    hcsc_timer_stop(HCSC_PHASE_COMPUTE);
    hcsc_nn_touch(net);
    st.step++;
    const double loss = acc[0] / o->batch, psnr = acc[1] / o->batch, dt = MPI_Wtime() - t0;
    if (isnan(res->first_loss)) res->first_loss = loss;
    res->last_loss = loss;
    res->reduce_seconds += tr;
    int epoch_end = st.step % o->epoch_steps == 0 || st.step == o->steps;
    double vm = NAN;
    if (epoch_end && have_val) {
      HCSC_CHECK(hcsc_train_eval(net, vs, val == NULL, o->val_patch, &o->noise, o->seed, &ev));
      vm = st.val_mpsnr = ev.mpsnr;
      res->noisy_mpsnr = ev.noisy_mpsnr;
    }
    if (o->log && train->rank == 0) {
      fprintf(o->log, "%lld,%lld,%.9g,%.6f,%.9g,%.9g,%.6f,%.6f,", (long long)st.step,
              (long long)((st.step - 1) / o->epoch_steps + 1), loss, psnr, lr_at(o, t), norm, dt, tr);
      if (isfinite(vm)) fprintf(o->log, "%.6f", vm);
      fprintf(o->log, "\n");
      fflush(o->log);
    }
    {
      char extra[128];
      const double eta = dt * (double)(o->steps - st.step);
      snprintf(extra, sizeof extra, "loss %.4g psnr %.2f dB step %.3f s eta %.0f s", loss, psnr, dt, eta);
      hcsc_progress_update(bar, st.step, extra);
    }
    if (o->checkpoint && o->checkpoint_every > 0 && st.step % o->checkpoint_every == 0 && st.step < o->steps) {
      st.seconds += MPI_Wtime() - t_run;
      t_run = MPI_Wtime();
      HCSC_CHECK(ckpt_save(comm, o->checkpoint, &st));
    }
  }
  st.seconds += MPI_Wtime() - t_run;
  res->seconds = st.seconds;
  res->steps_done = st.step;
  res->val_mpsnr = st.val_mpsnr;
  if (signo) {
    const char *cp = o->checkpoint ? o->checkpoint : o->default_checkpoint;
    res->signalled = signo;
    if (!cp) HCSC_FAIL(HCSC_EINTERRUPT, "train: stopped by signal %d at step %lld; no checkpoint path", signo,
                       (long long)st.step);
    HCSC_CHECK(ckpt_save(comm, cp, &st));
    HCSC_FAIL(HCSC_EINTERRUPT, "train: stopped by signal %d at step %lld of %lld; checkpoint %s written "
              "(continue with --resume %s)", signo, (long long)st.step, (long long)o->steps, cp, cp);
  }
  if (o->checkpoint) HCSC_CHECK(ckpt_save(comm, o->checkpoint, &st));
  if (!have_val) res->val_mpsnr = NAN;
cleanup:
  hcsc_progress_finish(&bar);
  for (int j = 0; pt && j < o->batch; j++) hcsc_tile_free(&pt[j]);
  patch_exec_free(&pe);
  free(st.m);
  free(st.v);
  free(req);
  free(flips);
  free(nseeds);
  free(pt);
  free(rq);
  return hcsc_error_agree(comm, err);
}
