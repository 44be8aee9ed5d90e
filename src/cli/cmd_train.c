/* hypercsc train: data-parallel training of an unrolled network on scenes
 * read distributed over the ranks (hcsc/train.h), with validation, a CSV
 * log, checkpoints, resume and a clean stop on SIGTERM/SIGUSR1; --eval-only
 * runs a saved model on validation patches.  Also the model branch of
 * `hypercsc info`. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "hcsc/train.h"

static const hcsc_cmd_desc info = {
    "train", "--arch A --train S1[,S2..] --noise SPEC -o MODEL.nc [options] | --eval-only --model M.nc --val V..",
    "train an unrolled network (data-parallel), or evaluate one (--eval-only)",
    "Trains the unrolled network --arch (lista, fista, ladmm, mlista, multiscale, ssc; sizes\n"
    "from --iters, --atoms, --size, --layers, --scales, --rank, else the defaults of nn.h) to\n"
    "denoise --noise SPEC (the noise protocol of 'hypercsc noise') on patches of the --train\n"
    "scenes, which are read distributed over the ranks (never gathered) and need the same\n"
    "band count.  Step t draws the GLOBAL batch of --batch patches (--patch side) from a\n"
    "counter RNG keyed on (--seed, t, sample): scene (by training area), position, flips, noise\n"
    "seed; sample j runs on rank j %% ranks, which receives its patch from the tiles holding it\n"
    "(one Alltoallv per step).  Forward/backward per sample, loss 1/2 mean squared error\n"
    "divided by the scene's clean range squared (data as on [0, 1]), one bucketed\n"
    "Allreduce of the gradients, the mean over the batch clipped to --clip global\n"
    "norm, Adam (0.9, 0.999, 1e-8, bias-corrected) with --lr, cosine to 0.05 lr (--schedule\n"
    "const: constant) after --warmup linear steps.  The same pairs at any rank count: runs at\n"
    "1 and 2 ranks reach the same parameters up to summation order.\n"
    "Validation every --epoch-steps steps and at the end: --val scenes, or the bottom\n"
    "--val-fraction (default 0.2) of each training scene's rows, cut into --val-patch\n"
    "squares with fixed noise; MPSNR over bands, peak = the scene's clean range.\n"
    "--log CSV: step,epoch,loss,psnr,lr,grad_norm,step_s,reduce_s,val_mpsnr.  --checkpoint F\n"
    "every --checkpoint-every steps and at the end; --resume F continues bit for bit at the\n"
    "same rank count (the same options).  SIGTERM/SIGUSR1: every rank stops at the same step,\n"
    "writes the checkpoint (default MODEL.ckpt) and exits 75.  Init: --init-dict D.nc (its\n"
    "layers as the dictionaries) or random (--seed); ssc: P, Q from the PCA of the first\n"
    "training scene.  --lowpass S: the model becomes y = G_S x + f(x - G_S x) (Gaussian\n"
    "low-pass of S pixels, nn.h), so the codes need not build the local mean.  The model (NetCDF, 'ncmpidump -h' or 'hypercsc info' explain it) keeps\n"
    "the sizes, wavelengths, noise, scenes, command, steps and last validation MPSNR.\n"
    "--eval-only --model M.nc --val V.. --noise SPEC: MPSNR of the model and of the noisy\n"
    "input, time and code density on the validation patches (-o OUT.csv: one CSV row).",
    0, 0};

/* Split a comma list into a malloc'ed array of pointers into a copy. */
static int split_list(const char *opt, const char *s, char **buf, char ***items, int *n)
{
  int err = 0, cap = 1;
  *items = NULL;
  *n = 0;
  if (!(*buf = strdup(s))) HCSC_FAIL(HCSC_ENOMEM, "train: out of memory");
  for (const char *p = s; *p; p++) cap += *p == ',';
  HCSC_CALLOC(*items, cap);
  for (char *tok = strtok(*buf, ","); tok; tok = strtok(NULL, ",")) (*items)[(*n)++] = tok;
  if (*n == 0) HCSC_FAIL(HCSC_EINVAL, "train: --%s '%s': expected a comma-separated list", opt, s);
cleanup:
  return err;
}

/* Parse a list of at most max integers >= 1. */
static int int_list(const char *opt, const char *s, int *v, int max, int *n)
{
  int err = 0;
  const char *p = s;
  *n = 0;
  for (;;) {
    char *end;
    long x = strtol(p, &end, 10);
    if (end == p || x < 1 || x > 100000 || (*end != ',' && *end != '\0') || *n == max)
      HCSC_FAIL(HCSC_EINVAL, "train: --%s '%s': expected at most %d integers >= 1 separated by commas", opt,
                s, max);
    v[(*n)++] = (int)x;
    if (!*end) break;
    p = end + 1;
  }
cleanup:
  return err;
}

/* Model description for `hypercsc info MODEL.nc`.  Collective. */
int hcsc_cli_info_model(hcsc_cli *cli, const char *path)
{
  int err = 0;
  hcsc_nn *net = NULL;
  hcsc_nn_meta m;
  memset(&m, 0, sizeof m);
  HCSC_CHECK(hcsc_nn_load(cli->comm, path, &net, &m));
  if (cli->rank == 0) {
    const hcsc_nn_config *c = &net->cfg;
    if (cli->json) {
      printf("{\"file\": \"%s\", \"kind\": \"model\", \"arch\": \"%s\", \"bands\": %d, \"iters\": %d, "
             "\"rank\": %d, \"nlayers\": %d, \"natoms\": [", path, hcsc_nn_arch_name(c->arch), c->bands,
             c->iters, c->rank, c->nlayers);
      for (int l = 0; l < c->nlayers; l++) printf("%s%d", l ? ", " : "", c->natoms[l]);
      printf("], \"ksize\": [");
      for (int l = 0; l < c->nlayers; l++) printf("%s%d", l ? ", " : "", c->ksize[l]);
      printf("], \"scales\": [");
      for (int l = 0; l < c->nlayers; l++) printf("%s%d", l ? ", " : "", c->scales[l]);
      printf("], \"momentum\": %d, \"nonneg\": %d, \"adapt\": %d, \"lowpass\": %g, \"parameters\": %lld, "
             "\"steps\": %lld, \"val_mpsnr\": ", c->momentum, c->nonneg, c->adapt, c->lowpass, (long long)net->size,
             (long long)m.steps);
      if (isfinite(m.val_mpsnr)) printf("%.6f", m.val_mpsnr);
      else printf("null");
      printf(", \"train_seconds\": %.3f, \"noise\": \"%s\", \"wavelengths\": %s, \"params\": [", m.train_seconds,
             m.noise, m.wavelength ? "true" : "false");
      for (int p = 0; p < net->nparams; p++) {
        const hcsc_nn_param *e = &net->table[p];
        double s2 = 0;
        for (int64_t i = 0; i < e->count; i++) s2 += (double)net->params[e->offset + i] * net->params[e->offset + i];
        printf("%s{\"name\": \"%s\", \"shape\": [", p ? ", " : "", e->name);
        for (int d = 0; d < e->ndim; d++) printf("%s%lld", d ? ", " : "", (long long)e->shape[d]);
        printf("], \"norm\": %.9g}", sqrt(s2));
      }
      printf("]}\n");
    } else {
      printf("%s\n  model      %s, %d bands, %d iterations", path, hcsc_nn_arch_name(c->arch), c->bands,
             c->iters);
      if (c->rank) printf(", rank %d", c->rank);
      printf("\n  layers     %d:", c->nlayers);
      for (int l = 0; l < c->nlayers; l++)
        printf(" %d atoms of %d x %d (scale %d)%s", c->natoms[l], c->ksize[l], c->ksize[l], c->scales[l],
               l + 1 < c->nlayers ? "," : "");
      printf("\n  options    momentum %d, nonneg %d, noise adaptivity %d", c->momentum, c->nonneg, c->adapt);
      if (c->lowpass > 0) printf(", low-pass split %g px (y = G x + f(x - G x))", c->lowpass);
      printf("\n");
      printf("  params     %lld in %d entries:", (long long)net->size, net->nparams);
      for (int p = 0; p < net->nparams; p++) {
        const hcsc_nn_param *e = &net->table[p];
        printf(" %s[", e->name);
        for (int d = 0; d < e->ndim; d++) printf("%s%lld", d ? "," : "", (long long)e->shape[d]);
        printf("]");
      }
      printf("\n  trained    %lld steps, %.1f s, validation MPSNR %.3f dB, noise %s\n", (long long)m.steps,
             m.train_seconds, m.val_mpsnr, m.noise[0] ? m.noise : "-");
      printf("  on         %s\n  command    %s\n  normalise  %s\n  wavelength %s\n", m.trained_on[0] ? m.trained_on : "-",
             m.command[0] ? m.command : "-", m.normalisation[0] ? m.normalisation : "-",
             m.wavelength ? "yes" : "unknown");
    }
    fflush(stdout);
  }
cleanup:
  hcsc_nn_meta_free(&m);
  hcsc_nn_destroy(&net);
  return err;
}

/* Open a temporary log on rank 0 (renamed when the run ends).  Collective. */
static int log_open(hcsc_cli *cli, const char *path, char *tmp, size_t n, FILE **f)
{
  int err = 0;
  if (path && cli->rank == 0) {
    if (snprintf(tmp, n, "%s.hcsc-tmp-%ld", path, (long)getpid()) >= (int)n)
      err = HCSC_ERR(HCSC_EINVAL, "%.200s...: path too long", path);
    else if (!(*f = fopen(tmp, "w")))
      err = HCSC_ERR_ERRNO(path, "cannot write the log");
  }
  return hcsc_error_agree(cli->comm, err);
}

static int log_close(hcsc_cli *cli, const char *path, char *tmp, FILE **f)
{
  int err = 0;
  if (*f) {
    int bad = ferror(*f) || fflush(*f) != 0;
    bad = (fclose(*f) != 0) || bad;
    *f = NULL;
    if (bad) err = HCSC_ERR(HCSC_EIO, "%s: cannot write the log: %s", path, strerror(errno));
    else if (rename(tmp, path) != 0) err = HCSC_ERR_ERRNO(path, "cannot rename the finished log to");
    else tmp[0] = '\0';
  }
  return hcsc_error_agree(cli->comm, err);
}

static int eval_only(hcsc_cli *cli, const char *model, char **vals, int nval, const hcsc_noise_model *nm,
                     uint64_t seed, int val_patch, const char *out)
{
  int err = 0;
  hcsc_nn *net = NULL;
  hcsc_train_set *vs = NULL;
  hcsc_train_eval_result ev;
  if (out) HCSC_CHECK(hcsc_output_check(cli->comm, out, cli->force));
  HCSC_CHECK(hcsc_nn_load(cli->comm, model, &net, NULL));
  HCSC_CHECK(hcsc_train_set_open(cli->comm, (const char *const *)vals, nval, cli->dims, 0, &vs));
  if (hcsc_train_set_bands(vs) != net->cfg.bands)
    HCSC_FAIL(HCSC_ESIZE, "%s has %lld bands but model %s has %d", vals[0], (long long)hcsc_train_set_bands(vs),
              model, net->cfg.bands);
  HCSC_CHECK(hcsc_train_eval(net, vs, 0, val_patch, nm, seed, &ev));
  if (out) {
    char tmp[4200] = "";
    FILE *f = NULL;
    HCSC_CHECK(log_open(cli, out, tmp, sizeof tmp, &f));
    if (f) fprintf(f, "model,arch,noise,patches,mpsnr,noisy_mpsnr,seconds,code_density\n%s,%s,%s,%lld,%.6f,%.6f,%.6f,%.6f\n",
                   model, hcsc_nn_arch_name(net->cfg.arch), nm->spec, (long long)ev.patches, ev.mpsnr,
                   ev.noisy_mpsnr, ev.seconds, ev.code_density);
    err = log_close(cli, out, tmp, &f);
    if (f) fclose(f);
    if (tmp[0]) unlink(tmp);
    HCSC_CHECK(err);
  }
  if (cli->rank == 0) {
    if (cli->json) {
      if (ev.patches > 0)
        printf("{\"model\": \"%s\", \"patches\": %lld, \"mpsnr\": %.6f, \"noisy_mpsnr\": %.6f, \"seconds\": %.6f, "
               "\"code_density\": %.6f}\n", model, (long long)ev.patches, ev.mpsnr, ev.noisy_mpsnr, ev.seconds,
               ev.code_density);
      else
        printf("{\"model\": \"%s\", \"patches\": 0, \"mpsnr\": null, \"noisy_mpsnr\": null}\n", model);
    }
    else if (cli->level >= HCSC_LOG_INFO)
      printf("eval: %s on %lld patches: MPSNR %.3f dB (noisy input %.3f dB), %.3f s, code density %.4f\n",
             model, (long long)ev.patches, ev.mpsnr, ev.noisy_mpsnr, ev.seconds, ev.code_density);
    fflush(stdout);
  }
cleanup:
  hcsc_train_set_destroy(&vs);
  hcsc_nn_destroy(&net);
  return err;
}

int hcsc_cmd_train(hcsc_cli *cli, int argc, char **argv)
{
  int err = 0, npos = 0, ntrain = 0, nval = 0, eval = 0, nonneg = 0, no_adapt = 0, momentum = 0;
  int iters = 0, layers = 0, rank_r = 0, na = 0, nk = 0, ns = 0, nd = 0, signals_on = 0;
  int atoms_v[HCSC_NN_MAX_LAYERS], size_v[HCSC_NN_MAX_LAYERS], scale_v[HCSC_NN_MAX_LAYERS];
  const char *arch_s = NULL, *train_s = NULL, *val_s = NULL, *noise_s = NULL, *out = NULL, *model = NULL,
             *init_dict = NULL, *atoms_s = NULL, *size_s = NULL, *scales_s = NULL, *sched_s = "cosine",
             *log_path = NULL;
  double val_fraction = -1, lowpass = 0;
  char **pos = NULL, **trains = NULL, **vals = NULL, *tbuf = NULL, *vbuf = NULL;
  char tmplog[4200] = "", def_ckpt[4200] = "";
  FILE *logf = NULL;
  hcsc_train_opts o;
  hcsc_train_result res;
  hcsc_train_set *ts = NULL, *vs = NULL;
  hcsc_nn *net = NULL;
  hcsc_nn_config cfg;
  hcsc_nn_arch arch = HCSC_NN_LISTA;
  hcsc_dict *dl = NULL;
  double *basis = NULL;
  hcsc_nn_meta meta;
  memset(&meta, 0, sizeof meta);
  hcsc_train_opts_default(&o);
  int64_t steps = o.steps, every = 0;
  const hcsc_opt opts[] = {
      {"arch", 0, HCSC_OPT_STRING, &arch_s, "A", "lista, fista, ladmm, mlista, multiscale or ssc"},
      {"train", 0, HCSC_OPT_STRING, &train_s, "S1[,S2..]", "training scenes (same band count)"},
      {"val", 0, HCSC_OPT_STRING, &val_s, "V1[,V2..]", "validation scenes (default: held-out rows)"},
      {"val-fraction", 0, HCSC_OPT_DOUBLE, &val_fraction, "F", "bottom fraction of rows held out (0.2)"},
      {"noise", 0, HCSC_OPT_STRING, &noise_s, "SPEC[,SPEC..]", "noise model(s) (required): each training sample draws one of the list; validation uses the first"},
      {"output", 'o', HCSC_OPT_STRING, &out, "MODEL.nc", "model to write (eval-only: CSV)"},
      {"patch", 0, HCSC_OPT_INT, &o.patch, "P", "training patch side (64)"},
      {"batch", 0, HCSC_OPT_INT, &o.batch, "N", "GLOBAL batch (8)"},
      {"steps", 0, HCSC_OPT_INT64, &steps, "N", "optimizer steps in all (1000)"},
      {"epoch-steps", 0, HCSC_OPT_INT64, &o.epoch_steps, "E", "steps per epoch (50)"},
      {"lr", 0, HCSC_OPT_DOUBLE, &o.lr, "LR", "learning rate (1e-3)"},
      {"schedule", 0, HCSC_OPT_STRING, &sched_s, "S", "cosine (default) or const"},
      {"warmup", 0, HCSC_OPT_INT64, &o.warmup, "N", "linear warmup steps (0)"},
      {"clip", 0, HCSC_OPT_DOUBLE, &o.clip, "C", "global gradient norm clip, 0: off (1)"},
      {"seed", 0, HCSC_OPT_U64, &o.seed, "S", "seed of init, sampling and noise (1)"},
      {"init-dict", 0, HCSC_OPT_STRING, &init_dict, "D.nc", "initial dictionaries"},
      {"iters", 0, HCSC_OPT_INT, &iters, "T", "unrolled iterations"},
      {"atoms", 0, HCSC_OPT_STRING, &atoms_s, "M[,M2..]", "atoms per layer or set"},
      {"size", 0, HCSC_OPT_STRING, &size_s, "k[,k2..]", "atom size per layer or set (odd)"},
      {"layers", 0, HCSC_OPT_INT, &layers, "L", "mlista layers (2 or 3)"},
      {"scales", 0, HCSC_OPT_STRING, &scales_s, "1,2,4", "multiscale scales"},
      {"rank", 0, HCSC_OPT_INT, &rank_r, "r", "ssc spectral channels"},
      {"nonneg", 0, HCSC_OPT_FLAG, &nonneg, NULL, "non-negative thresholds"},
      {"no-adapt", 0, HCSC_OPT_FLAG, &no_adapt, NULL, "no noise adaptivity"},
      {"lowpass", 0, HCSC_OPT_DOUBLE, &lowpass, "S",
       "low-pass split: y = G_S x + f(x - G_S x), S pixels (0: none, default)"},
      {"momentum", 0, HCSC_OPT_FLAG, &momentum, NULL, "mlista: ML-FISTA"},
      {"val-patch", 0, HCSC_OPT_INT, &o.val_patch, "P", "validation patch side (64)"},
      {"checkpoint", 0, HCSC_OPT_STRING, &o.checkpoint, "F", "checkpoint file (also at the end)"},
      {"checkpoint-every", 0, HCSC_OPT_INT64, &every, "N", "checkpoint every N steps"},
      {"resume", 0, HCSC_OPT_STRING, &o.resume, "F", "continue from a checkpoint"},
      {"log", 0, HCSC_OPT_STRING, &log_path, "CSV", "per-step log"},
      {"eval-only", 0, HCSC_OPT_FLAG, &eval, NULL, "evaluate --model on --val"},
      {"model", 0, HCSC_OPT_STRING, &model, "M.nc", "model for --eval-only"},
      {NULL, 0, HCSC_OPT_FLAG, NULL, NULL, NULL}};
  err = hcsc_cli_parse(cli, &info, opts, argc, argv, &pos, &npos);
  if (err) return err;
  o.steps = steps;
  o.checkpoint_every = every;
  o.progress = cli->level >= HCSC_LOG_INFO && !cli->json;

  /* Every rank parsed the same argv: these checks agree without messages. */
  if (!noise_s) HCSC_FAIL(HCSC_EINVAL, "train: --noise SPEC is required");
  {
    /* --noise A[,B..]: the first is also the validation noise. */
    char spec[256];
    char *save = NULL, *tok;
    int k = 0;
    if (strlen(noise_s) >= sizeof spec) HCSC_FAIL(HCSC_EINVAL, "train: --noise: list too long");
    strcpy(spec, noise_s);
    for (tok = strtok_r(spec, ",", &save); tok; tok = strtok_r(NULL, ",", &save), k++) {
      if (k >= HCSC_TRAIN_MAX_NOISE)
        HCSC_FAIL(HCSC_EINVAL, "train: --noise: at most %d models", HCSC_TRAIN_MAX_NOISE);
      HCSC_CHECK(hcsc_noise_parse(tok, k ? &o.extra[k - 1] : &o.noise));
    }
    if (k == 0) HCSC_FAIL(HCSC_EINVAL, "train: --noise: empty list");
    o.nextra = k - 1;
  }
  if (val_s) HCSC_CHECK(split_list("val", val_s, &vbuf, &vals, &nval));
  if (eval) {
    if (!model || !val_s) HCSC_FAIL(HCSC_EINVAL, "train: --eval-only needs --model M.nc and --val V..");
    err = eval_only(cli, model, vals, nval, &o.noise, o.seed, o.val_patch, out);
    goto cleanup;
  }
  if (!arch_s || !train_s || !out) HCSC_FAIL(HCSC_EINVAL, "train: --arch, --train and -o MODEL.nc are required");
  HCSC_CHECK(hcsc_nn_arch_parse(arch_s, &arch));
  HCSC_CHECK(split_list("train", train_s, &tbuf, &trains, &ntrain));
  if (strcmp(sched_s, "cosine") == 0) o.schedule = HCSC_SCHEDULE_COSINE;
  else if (strcmp(sched_s, "const") == 0) o.schedule = HCSC_SCHEDULE_CONST;
  else HCSC_FAIL(HCSC_EINVAL, "train: --schedule '%s' (cosine or const)", sched_s);
  if (val_s && val_fraction >= 0) HCSC_FAIL(HCSC_EINVAL, "train: --val and --val-fraction exclude each other");
  if (val_fraction < 0) val_fraction = val_s ? 0 : 0.2;
  if (!(val_fraction < 1)) HCSC_FAIL(HCSC_EINVAL, "train: --val-fraction %g must be in [0, 1)", val_fraction);
  if (every < 0 || (every > 0 && !o.checkpoint))
    HCSC_FAIL(HCSC_EINVAL, "train: --checkpoint-every needs --checkpoint FILE and N >= 0");
  if (atoms_s) HCSC_CHECK(int_list("atoms", atoms_s, atoms_v, HCSC_NN_MAX_LAYERS, &na));
  if (size_s) HCSC_CHECK(int_list("size", size_s, size_v, HCSC_NN_MAX_LAYERS, &nk));
  if (scales_s) HCSC_CHECK(int_list("scales", scales_s, scale_v, HCSC_NN_MAX_LAYERS, &ns));
  {
    size_t n = strlen(out);
    int nc = n > 3 && strcmp(out + n - 3, ".nc") == 0;
    snprintf(def_ckpt, sizeof def_ckpt, "%.*s.ckpt", (int)(nc ? n - 3 : n), out);
    o.default_checkpoint = def_ckpt;
  }
  HCSC_CHECK(hcsc_output_check(cli->comm, out, cli->force));
  if (log_path) HCSC_CHECK(hcsc_output_check(cli->comm, log_path, cli->force));
  if (o.checkpoint && !(o.resume && strcmp(o.resume, o.checkpoint) == 0))
    HCSC_CHECK(hcsc_output_check(cli->comm, o.checkpoint, cli->force));

  HCSC_CHECK(hcsc_train_set_open(cli->comm, (const char *const *)trains, ntrain, cli->dims, val_fraction, &ts));
  if (vals) {
    HCSC_CHECK(hcsc_train_set_open(cli->comm, (const char *const *)vals, nval, cli->dims, 0, &vs));
    if (hcsc_train_set_bands(vs) != hcsc_train_set_bands(ts))
      HCSC_FAIL(HCSC_ESIZE, "train: validation scene %s has %lld bands, the training scenes %lld", vals[0],
                (long long)hcsc_train_set_bands(vs), (long long)hcsc_train_set_bands(ts));
  }

  /* The configuration: defaults of the architecture, then the options. */
  hcsc_nn_config_default(arch, (int)hcsc_train_set_bands(ts), &cfg);
  if (iters) cfg.iters = iters;
  if (layers) cfg.nlayers = layers;
  if (ns) {
    cfg.nlayers = ns;
    for (int l = 0; l < ns; l++) cfg.scales[l] = scale_v[l];
  }
  for (int l = 0; na && l < cfg.nlayers; l++) cfg.natoms[l] = atoms_v[na == 1 ? 0 : l < na ? l : na - 1];
  for (int l = 0; nk && l < cfg.nlayers; l++) cfg.ksize[l] = size_v[nk == 1 ? 0 : l < nk ? l : nk - 1];
  if ((na > 1 && na != cfg.nlayers) || (nk > 1 && nk != cfg.nlayers))
    HCSC_FAIL(HCSC_EINVAL, "train: --atoms/--size need one value or one per layer/set (%d)", cfg.nlayers);
  if (rank_r) cfg.rank = rank_r;
  if (nonneg) cfg.nonneg = 1;
  if (no_adapt) cfg.adapt = 0;
  cfg.lowpass = lowpass;
  if (momentum) cfg.momentum = 1;
  HCSC_CHECK(hcsc_nn_config_check(&cfg));
  HCSC_CHECK(hcsc_error_agree(cli->comm, hcsc_nn_create(&cfg, &net)));
  if (init_dict) HCSC_CHECK(hcsc_dict_load(cli->comm, init_dict, &dl, &nd));
  if (arch == HCSC_NN_SSC) HCSC_CHECK(hcsc_train_set_basis(ts, cfg.rank, &basis));
  HCSC_CHECK(hcsc_error_agree(cli->comm, hcsc_nn_init(net, o.seed, dl, nd, basis)));

  HCSC_CHECK(log_open(cli, log_path, tmplog, sizeof tmplog, &logf));
  o.log = logf;
  HCSC_CHECK(hcsc_error_agree(cli->comm, hcsc_signal_install()));
  signals_on = 1;
  err = hcsc_train_run(net, ts, vs, &o, &res);
  {
    /* The log is kept on a signal too: it says where the run stopped. */
    int e2 = log_close(cli, log_path, tmplog, &logf);
    if (!err) err = e2;
  }
  HCSC_CHECK(err);

  /* The model and what it says about itself. */
  {
    const hcsc_meta *m0 = hcsc_train_set_meta(ts, 0);
    size_t k = 0;
    meta.wavelength = m0->wavelength; /* borrowed: save only reads it */
    snprintf(meta.normalisation, sizeof meta.normalisation, "none: the network is positively homogeneous (nn.h)");
    snprintf(meta.noise, sizeof meta.noise, "%s", noise_s);
    for (int i = 0; i < ntrain && k + 1 < sizeof meta.trained_on; i++)
      k += (size_t)snprintf(meta.trained_on + k, sizeof meta.trained_on - k, "%s%s", i ? "," : "", trains[i]);
    k = (size_t)snprintf(meta.command, sizeof meta.command, "hypercsc");
    for (int i = 0; i < argc && k + 1 < sizeof meta.command; i++)
      k += (size_t)snprintf(meta.command + k, sizeof meta.command - k, " %s", argv[i]);
    meta.steps = res.steps_done;
    meta.val_mpsnr = res.val_mpsnr;
    meta.train_seconds = res.seconds;
    err = hcsc_nn_save(cli->comm, out, net, &meta, cli->force);
    meta.wavelength = NULL;
    HCSC_CHECK(err);
  }
  if (cli->rank == 0) {
    if (cli->json) {
      /* JSON has no NaN: figures that do not exist are null. */
      const char *jn[] = {"first_loss", "last_loss", "val_mpsnr", "noisy_mpsnr", "seconds", "reduce_seconds"};
      const double jv[] = {res.first_loss, res.last_loss, res.val_mpsnr, res.noisy_mpsnr, res.seconds,
                           res.reduce_seconds};
      printf("{\"output\": \"%s\", \"arch\": \"%s\", \"parameters\": %lld, \"steps\": %lld, \"resumed_at\": %lld",
             out, hcsc_nn_arch_name(arch), (long long)net->size, (long long)res.steps_done,
             (long long)res.first_step);
      for (int i = 0; i < 6; i++) {
        if (isfinite(jv[i])) printf(", \"%s\": %.9g", jn[i], jv[i]);
        else printf(", \"%s\": null", jn[i]);
      }
      printf("}\n");
    }
    else if (cli->level >= HCSC_LOG_INFO) {
      printf("train: %s, %lld parameters, %lld steps (from %lld), loss %.6g -> %.6g, %.3f s (reduce %.3f s)\n",
             hcsc_nn_arch_name(arch), (long long)net->size, (long long)res.steps_done, (long long)res.first_step,
             res.first_loss, res.last_loss, res.seconds, res.reduce_seconds);
      if (isfinite(res.val_mpsnr))
        printf("train: validation MPSNR %.3f dB (noisy input %.3f dB)\n", res.val_mpsnr, res.noisy_mpsnr);
      printf("train: model -> %s\n", out);
    }
    fflush(stdout);
  }
cleanup:
  if (signals_on) hcsc_signal_restore();
  if (logf) fclose(logf);
  if (tmplog[0]) unlink(tmplog);
  hcsc_dict_free_layers(&dl, nd);
  free(basis);
  hcsc_nn_destroy(&net);
  hcsc_train_set_destroy(&vs);
  hcsc_train_set_destroy(&ts);
  free(trains);
  free(vals);
  free(tbuf);
  free(vbuf);
  free(pos);
  return err;
}
