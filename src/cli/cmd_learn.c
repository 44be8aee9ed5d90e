/* hypercsc learn: convolutional dictionary learning over whole scenes split
 * across ranks (consensus ADMM, hcsc/cdl.h), with a per-iteration log,
 * checkpoints, resume, a clean stop on SIGTERM/SIGUSR1 (hcsc/signal.h) and
 * pictures of the result. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

static const hcsc_cmd_desc info = {
    "learn", "SCENE... -o DICT.nc --atoms M --size k [--channels r] [--iters N] [options]",
    "learn a dictionary from scenes (consensus ADMM), checkpoints, resume",
    "Learns M atoms d_m of k x k taps over C channels from the signals x_s (each rank's tile\n"
    "of each scene is one signal; with --crop c, one random c x c crop of it per iteration):\n"
    "  min_{d,z} sum_s 1/2 || sum_m d_m * z_{s,m} - x_s ||^2 + lambda sum_{s,m} ||z_{s,m}||_1,\n"
    "  ||d_m|| <= 1, supp(d_m) in k x k: ADMM code steps, then consensus ADMM over the signals.\n"
    "One code step and one dictionary step per iteration (SPORCO's interleaving); the\n"
    "dictionary step reduces M k^2 C floats with one Allreduce.  --method pgrad: projected\n"
    "gradient (FISTA) on the reduced gradients instead.  The signals depend on the split, so\n"
    "runs at different rank counts reach close but not identical dictionaries.\n"
    "All scenes need the same band count.  --channels r: learn on the r leading components\n"
    "of the first scene's PCA (each tile projected, mean removed); the subspace is written\n"
    "beside the dictionary as --subspace FILE (default: DICT with '_subspace.nc' in place of\n"
    "'.nc'), 'hypercsc pca' format.  Otherwise the atoms span all bands and the dictionary\n"
    "keeps the scene's wavelengths.  --init random (counter RNG, --seed), patches (of the\n"
    "first scene, the same on any rank count) or a dictionary FILE (its layer 0).\n"
    "Stops after --iters iterations in all, or when the consensus residuals reach --tol.\n"
    "--log CSV: iter,objective,sparsity,primal,dual,rho_dict,t_code,t_dict,t_reduce,\n"
    "bytes_reduced,layer per iteration (rank 0 writes it, renamed into place at the end).\n"
    "Checkpoints (--checkpoint FILE): every --checkpoint-every N iterations and at the end,\n"
    "replaced atomically.  --resume FILE continues a checkpoint of the same inputs, options\n"
    "and rank count bit for bit (--iters counts all iterations, those before included).\n"
    "Signals: on SIGTERM or SIGUSR1 every rank stops at the same iteration, writes the\n"
    "checkpoint (--checkpoint, default DICT.ckpt), writes no dictionary and exits with\n"
    "status 75; send SIGUSR1 to mpiexec (it forwards it; SIGTERM makes mpiexec kill the\n"
    "ranks within about 2 s), or let srun deliver SIGTERM/SIGUSR1 to the ranks.\n"
    "--png PREFIX: PREFIX_atoms.png (mosaic: false colour from three channels when C >= 3,\n"
    "grey otherwise), PREFIX_objective.png (objective per iteration, log scale) and\n"
    "PREFIX_spectra.png (per atom and channel, the channel's energy signed like its centre\n"
    "tap, mapped back through the subspace with --channels, against wavelength when known);\n"
    "the plots need gnuplot (skipped with a warning without it).\n"
    "--layers L --atoms M1,M2 --size k1,k2 [--lambdas l1,l2]: a multi-layer stack: layer 1 as\n"
    "above, then each scene's tile coded with it (FISTA, 100 iterations, lambda l1, on the\n"
    "grid with the operator's halo) and layer 2 learned on those M1-channel codes, and so on;\n"
    "written as a stack (structure 1) for 'hypercsc code --solver mlfista'.  Layer l + 1 starts\n"
    "from random atoms (--seed + l).  --scales 1,2[,4] --atoms M1,M2 --size k1,k2: one set\n"
    "per scale s, learned on each rank's tile box-filtered (s x s, clipped at the tile's\n"
    "edge) and subsampled by s: a pyramid approximation of the joint model\n"
    "x = sum_s U_s(D_s z_s), not its exact learning; a set's k x k coarse atoms are stored\n"
    "as sk x sk full-resolution taps (nearest neighbour, renormalised) at scale s in a\n"
    "multi-scale file (structure 2) for 'hypercsc code'.  The log's last column is the layer\n"
    "(or set) number; --png, the JSON and summary figures describe layer/set 1.\n"
    "Checkpoints cover layer/set 1 only: --checkpoint holds its state (written at its end),\n"
    "a signal during a later layer/set rewrites it and exits 75, and --resume continues\n"
    "layer 1 then learns the later layers/sets from their start.",
    1, -1};

/* Scalars stored in a checkpoint besides the learner's own (the first
 * HCSC_CDL_NSCALARS): what the run was asked for, to refuse a resume with
 * other options, and how long the objective history is. */
static const char *const scalar_names[] = {"iteration", "rho_code", "rho_dict", "iters_requested",
                                           "lambda", "method", "atoms", "ksize", "channels",
                                           "history_len", "last_objective"};
#define NSCALARS ((int)(sizeof scalar_names / sizeof scalar_names[0]))
enum { S_ITERS = HCSC_CDL_NSCALARS, S_LAMBDA, S_METHOD, S_ATOMS, S_KSIZE, S_CHANNELS, S_HLEN, S_LASTOBJ };

typedef struct {
  hcsc_cli *cli;
  hcsc_cdl *cdl;
  hcsc_cdl_opts co;
  int atoms, ksize, nchan, iters;
  float *hist; /* objective per iteration, replicated (checkpointed) */
  int nhist, hist_cap;
  double last_objective;
} learn_run;

#define MAX_STAGES HCSC_ML_MAX_LAYERS

/* Append to the objective history.  Not collective (same on every rank). */
static int hist_push(learn_run *r, double v)
{
  int err = 0;
  if (r->nhist == r->hist_cap) {
    int cap = r->hist_cap ? 2 * r->hist_cap : 64;
    float *h = realloc(r->hist, (size_t)cap * sizeof *h);
    if (!h) HCSC_FAIL(HCSC_ENOMEM, "learn: out of memory for the objective history");
    r->hist = h;
    r->hist_cap = cap;
  }
  r->hist[r->nhist++] = (float)v;
cleanup:
  return err;
}

/* Write the learner's state and the run's scalars to path (replacing it).
 * Collective on the command's comm. */
static int ckpt_save(learn_run *r, const char *path)
{
  int err = 0, nv = 0, ns = HCSC_CDL_NSCALARS;
  hcsc_state_var *vars = NULL, *all = NULL;
  double sc[NSCALARS];
  float dummy = 0;
  err = hcsc_cdl_state(r->cdl, &vars, &nv, sc, &ns);
  if (!err && !(all = malloc((size_t)(nv + 1) * sizeof *all)))
    err = HCSC_ERR(HCSC_ENOMEM, "learn: out of memory for the checkpoint");
  HCSC_CHECK(hcsc_error_agree(r->cli->comm, err));
  memcpy(all, vars, (size_t)nv * sizeof *all);
  all[nv] = (hcsc_state_var){"objective_history", r->nhist ? r->hist : &dummy, r->nhist, 1};
  sc[S_ITERS] = r->iters;
  sc[S_LAMBDA] = r->co.lambda;
  sc[S_METHOD] = r->co.method;
  sc[S_ATOMS] = r->atoms;
  sc[S_KSIZE] = r->ksize;
  sc[S_CHANNELS] = r->nchan;
  sc[S_HLEN] = r->nhist;
  sc[S_LASTOBJ] = r->last_objective;
  HCSC_CHECK(hcsc_ckpt_write(r->cli->comm, path, "cdl", all, nv + 1, scalar_names, sc, NSCALARS, 1));
cleanup:
  free(all);
  return err;
}

/* Restore the learner from path: the scalars first (to size the history
 * and refuse other options), then every array.  Collective. */
static int ckpt_load(learn_run *r, const char *path)
{
  int err = 0, nv = 0, ns = HCSC_CDL_NSCALARS;
  hcsc_state_var *vars = NULL, *all = NULL;
  double sc[NSCALARS], cur[NSCALARS];
  float dummy = 0;
  HCSC_CHECK(hcsc_ckpt_read(r->cli->comm, path, "cdl", NULL, 0, scalar_names, sc, NSCALARS));
  /* Every rank read the same scalars: these verdicts agree. */
  if (sc[S_LAMBDA] != r->co.lambda || sc[S_METHOD] != r->co.method || sc[S_ATOMS] != r->atoms ||
      sc[S_KSIZE] != r->ksize || sc[S_CHANNELS] != r->nchan)
    HCSC_FAIL(HCSC_EINVAL, "learn: checkpoint %s was made with --lambda %g, --method %s, %g atoms of "
              "%g x %g over %g channels; this run asks for --lambda %g, --method %s, %d atoms of %d x "
              "%d over %d channels", path, sc[S_LAMBDA], sc[S_METHOD] ? "pgrad" : "consensus",
              sc[S_ATOMS], sc[S_KSIZE], sc[S_KSIZE], sc[S_CHANNELS], r->co.lambda,
              r->co.method ? "pgrad" : "consensus", r->atoms, r->ksize, r->ksize, r->nchan);
  if (!(sc[S_HLEN] >= 0 && sc[S_HLEN] <= 1e8 && sc[S_HLEN] == floor(sc[S_HLEN])))
    HCSC_FAIL(HCSC_EFORMAT, "learn: checkpoint %s: bad history length %g", path, sc[S_HLEN]);
  r->nhist = 0;
  for (int i = 0; i < (int)sc[S_HLEN]; i++) HCSC_CHECK(hcsc_error_agree(r->cli->comm, hist_push(r, 0)));
  err = hcsc_cdl_state(r->cdl, &vars, &nv, cur, &ns);
  if (!err && !(all = malloc((size_t)(nv + 1) * sizeof *all)))
    err = HCSC_ERR(HCSC_ENOMEM, "learn: out of memory for the checkpoint");
  HCSC_CHECK(hcsc_error_agree(r->cli->comm, err));
  memcpy(all, vars, (size_t)nv * sizeof *all);
  all[nv] = (hcsc_state_var){"objective_history", r->nhist ? r->hist : &dummy, r->nhist, 1};
  HCSC_CHECK(hcsc_ckpt_read(r->cli->comm, path, "cdl", all, nv + 1, scalar_names, sc, NSCALARS));
  HCSC_CHECK(hcsc_cdl_state_loaded(r->cdl, sc, HCSC_CDL_NSCALARS));
  r->last_objective = sc[S_LASTOBJ];
cleanup:
  free(all);
  return err;
}

/* Rank 0: the pictures of --png.  A missing gnuplot skips the plots with a
 * warning (the dictionary is the result; the plots are a convenience).
 * Not collective. */
static int write_pngs(const learn_run *r, const char *prefix, const hcsc_dict *d, const hcsc_pca *sub,
                      const double *wl, int force)
{
  int err = 0, w = 0, h = 0, nc = 1, ch[3] = {0, 0, 0};
  const int M = d->natoms, C = d->nchan, k = d->ksize, a = (k - 1) / 2;
  const int B = sub ? (int)sub->bands : C;
  unsigned char *px = NULL;
  char path[4200];
  double *x = NULL, *y = NULL, *yy = NULL, **curves = NULL;
  char **labels = NULL;
  if (C >= 3) {
    /* Full bands: last, middle, first band as red, green, blue (the long
     * wavelengths red when bands ascend); subspace: components 1, 2, 3. */
    nc = 3;
    if (!sub) ch[0] = C - 1, ch[1] = C / 2, ch[2] = 0;
    else ch[0] = 0, ch[1] = 1, ch[2] = 2;
  }
  HCSC_CHECK(hcsc_cli_mosaic(d, ch, nc, 32 / k > 1 ? 32 / k : 1, &px, &w, &h));
  snprintf(path, sizeof path, "%s_atoms.png", prefix);
  HCSC_CHECK(hcsc_picture_write_png(path, px, w, h, nc, force));

  int n = r->nhist > 0 ? r->nhist : 1;
  HCSC_CALLOC(x, n > B ? n : B);
  HCSC_CALLOC(y, n);
  for (int i = 0; i < r->nhist; i++) x[i] = i + 1, y[i] = r->hist[i];
  snprintf(path, sizeof path, "%s_objective.png", prefix);
  {
    const double *yc[1] = {y};
    err = hcsc_plot_curves(path, "dictionary learning", "iteration", "objective", x, yc, 1, r->nhist,
                           NULL, 1, force);
  }
  if (err == HCSC_ENOTSUP) {
    hcsc_log_warn("learn: %s: PNG plots skipped", hcsc_error_message());
    err = 0;
    goto cleanup;
  }
  HCSC_CHECK(err);

  HCSC_CALLOC(yy, (size_t)M * B);
  HCSC_CALLOC(curves, M);
  HCSC_CALLOC(labels, M);
  for (int b = 0; b < B; b++) x[b] = wl ? wl[b] : b + 1;
  for (int m = 0; m < M; m++) {
    curves[m] = yy + (size_t)m * B;
    HCSC_CALLOC(labels[m], 16);
    snprintf(labels[m], 16, "atom %d", m + 1);
    for (int c = 0; c < C; c++) {
      double e = 0;
      for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++) e += (double)HCSC_ATOM(d, m, c, i, j) * HCSC_ATOM(d, m, c, i, j);
      e = HCSC_ATOM(d, m, c, a, a) < 0 ? -sqrt(e) : sqrt(e);
      if (!sub) curves[m][c] = e;
      else
        for (int b = 0; b < B; b++) curves[m][b] += e * sub->components[(size_t)c * B + b];
    }
  }
  snprintf(path, sizeof path, "%s_spectra.png", prefix);
  HCSC_CHECK(hcsc_plot_curves(path, "spectral signatures of the atoms", wl ? "wavelength" : "band",
                              "signed channel energy", x, (const double *const *)curves, M, B,
                              (const char *const *)labels, 0, force));
cleanup:
  if (labels)
    for (int m = 0; m < M; m++) free(labels[m]);
  free(labels);
  free(curves);
  free(yy);
  free(y);
  free(x);
  free(px);
  return err;
}

/* Parse --OPT's comma list of at most max numbers into v (*n of them):
 * integers >= 1 when isint, else finite values > 0.  Not collective. */
static int parse_list(const char *opt, const char *s, int isint, double *v, int max, int *n)
{
  int err = 0;
  const char *p = s;
  *n = 0;
  for (;;) {
    char *end = NULL;
    if (*n == max) HCSC_FAIL(HCSC_EINVAL, "learn: --%s '%s': at most %d values", opt, s, max);
    double x = strtod(p, &end);
    if (end == p || !isfinite(x) || !(x > 0) || (isint && (x != floor(x) || x > 1e6)) ||
        (*end != ',' && *end != '\0'))
      HCSC_FAIL(HCSC_EINVAL, "learn: --%s '%s': expected %s separated by commas", opt, s,
                isint ? "integers >= 1" : "values > 0");
    v[(*n)++] = x;
    if (*end == '\0') break;
    p = end + 1;
  }
cleanup:
  return err;
}

/* The scale-s training signal of a tile: the s x s box average of x at
 * every lattice pixel (global row % s == 0, col % s == 0) of the tile, the
 * box clipped at the tile's edge (each rank filters its own tile, without
 * halo: an approximation next to tile borders).  y is allocated here, on
 * the coarse box (rows r0/s...), no halo.  Not collective. */
static int subsample_tile(const hcsc_tile *x, int s, hcsc_tile *y)
{
  int err = 0;
  const hcsc_box *b = &x->box;
  const int64_t i0 = (b->r0 + s - 1) / s, i1 = (b->r0 + b->nr - 1) / s;
  const int64_t j0 = (b->c0 + s - 1) / s, j1 = (b->c0 + b->nc - 1) / s;
  hcsc_box cb = {b->b0, b->nb, i0, i1 - i0 + 1, j0, j1 - j0 + 1};
  if (cb.nr < 1 || cb.nc < 1)
    HCSC_FAIL(HCSC_ESIZE, "learn: a %lld x %lld tile has no pixel at scale %d", (long long)b->nr,
              (long long)b->nc, s);
  HCSC_CHECK(hcsc_tile_alloc(y, &cb, x->nchan, 0));
  hcsc_timer_start(HCSC_PHASE_COMPUTE);
  for (int64_t ch = 0; ch < x->nchan; ch++)
    for (int64_t i = 0; i < cb.nr; i++)
      for (int64_t j = 0; j < cb.nc; j++) {
        const int64_t r0 = (i0 + i) * s - b->r0, c0 = (j0 + j) * s - b->c0;
        double acc = 0;
        int cnt = 0;
        for (int64_t r = r0; r < r0 + s && r < b->nr; r++)
          for (int64_t c = c0; c < c0 + s && c < b->nc; c++, cnt++) acc += HCSC_TILE_AT(x, ch, r, c);
        HCSC_TILE_AT(y, ch, i, j) = (float)(acc / cnt);
      }
  hcsc_timer_stop(HCSC_PHASE_COMPUTE);
cleanup:
  return err;
}

/* Atoms learned on the s-times coarser grid, put on the full-resolution
 * grid the multi-scale coder uses (lattice codes, full-resolution taps):
 * each coarse tap replicated over s x s taps (nearest neighbour), so a
 * k x k coarse atom becomes sk x sk, then normalised.  Not collective. */
static int upsample_atoms(const hcsc_dict *c, int s, hcsc_dict *out)
{
  int err = 0;
  const int k = c->ksize;
  HCSC_CHECK(hcsc_dict_alloc(out, c->natoms, c->nchan, s * k, s));
  for (int m = 0; m < c->natoms; m++)
    for (int ch = 0; ch < c->nchan; ch++)
      for (int i = 0; i < s * k; i++)
        for (int j = 0; j < s * k; j++) HCSC_ATOM(out, m, ch, i, j) = HCSC_ATOM(c, m, ch, i / s, j / s);
  hcsc_dict_normalize(out);
cleanup:
  return err;
}

/* Outer iterations of the learner r->cdl until r->iters, a signal (*signo)
 * or convergence; one log line per iteration with its layer (or set)
 * number; the checkpoint of --checkpoint-every only for layer 1.
 * Collective on the command's comm. */
static int run_stage(learn_run *r, int layer, FILE *logf, int *werr, const char *ckpt, int ckpt_every,
                     int *signo, int *converged, int *steps, hcsc_cdl_report *rep)
{
  int err = 0;
  char label[32];
  snprintf(label, sizeof label, layer > 1 ? "learn %d" : "learn", layer);
  hcsc_progress *bar = hcsc_progress_create(r->cli->comm, label, r->iters, "iters");
  while (hcsc_cdl_iteration(r->cdl) < r->iters) {
    HCSC_CHECK(hcsc_signal_agree(r->cli->comm, signo));
    if (*signo) break;
    HCSC_CHECK(hcsc_cdl_step(r->cdl, rep));
    (*steps)++;
    r->last_objective = rep->objective;
    HCSC_CHECK(hcsc_error_agree(r->cli->comm, hist_push(r, rep->objective)));
    if (logf && fprintf(logf, "%d,%.17g,%.17g,%.17g,%.17g,%.17g,%.6f,%.6f,%.6f,%.0f,%d\n", rep->iter,
                        rep->objective, rep->sparsity, rep->primal, rep->dual, rep->rho_dict, rep->t_code,
                        rep->t_dict, rep->t_reduce, rep->bytes_reduced, layer) < 0)
      *werr = 1;
    /* Flushed every line: people (and the signal test) watch it grow. */
    if (logf && fflush(logf) != 0) *werr = 1;
    char extra[96];
    snprintf(extra, sizeof extra, "objective %.6g primal %.2g", rep->objective, rep->primal);
    hcsc_progress_update(bar, rep->iter, extra);
    if (rep->converged) {
      *converged = 1;
      break;
    }
    if (layer == 1 && ckpt && ckpt_every > 0 && rep->iter % ckpt_every == 0 && rep->iter < r->iters)
      HCSC_CHECK(ckpt_save(r, ckpt));
  }
cleanup:
  hcsc_progress_finish(&bar);
  return err;
}

/* Check the output paths: the dictionary, log, subspace, pictures and the
 * checkpoint (unless it is the one being resumed, which the run replaces).
 * Collective. */
static int check_outputs(hcsc_cli *cli, const char *out, const char *log_path, const char *sub_path,
                         const char *png, const char *ckpt, const char *resume)
{
  int err = 0;
  char path[4200];
  static const char *const kinds[] = {"atoms", "objective", "spectra"};
  HCSC_CHECK(hcsc_output_check(cli->comm, out, cli->force));
  if (log_path) HCSC_CHECK(hcsc_output_check(cli->comm, log_path, cli->force));
  if (sub_path) HCSC_CHECK(hcsc_output_check(cli->comm, sub_path, cli->force));
  for (int i = 0; png && i < 3; i++) {
    snprintf(path, sizeof path, "%s_%s.png", png, kinds[i]);
    HCSC_CHECK(hcsc_output_check(cli->comm, path, cli->force));
  }
  if (ckpt && !(resume && strcmp(resume, ckpt) == 0))
    HCSC_CHECK(hcsc_output_check(cli->comm, ckpt, cli->force));
cleanup:
  return err;
}

int hcsc_cmd_learn(hcsc_cli *cli, int argc, char **argv)
{
  int err = 0, nd = 0, signo = 0, nscenes = 0, ckpt_every = 0, nonneg = 0, channels = 0;
  const char *out = NULL, *method_s = "consensus", *init = "random", *log_path = NULL, *ckpt = NULL,
             *resume = NULL, *png = NULL, *sub_opt = NULL, *atoms_s = NULL, *size_s = NULL,
             *lambdas_s = NULL, *scales_s = NULL, *scale_s = "auto";
  double data_scale = 1.0;
  int nlayers = 1, nst = 1, nscales = 0, nv = 0;
  double atoms_v[MAX_STAGES], size_v[MAX_STAGES], lambda_v[MAX_STAGES], scale_v[MAX_STAGES] = {1, 1, 1};
  hcsc_dict stage_d[MAX_STAGES], coarse = {0};
  hcsc_tile *xs = NULL;
  learn_run rs;
  char **pos = NULL;
  int npos = 0;
  char tmplog[4200] = "", sub_path[4200] = "", def_ckpt[4200] = "";
  FILE *logf = NULL;
  int werr = 0, signals_on = 0;
  hcsc_scene **in = NULL;
  hcsc_grid **grids = NULL;
  hcsc_tile *x = NULL, raw = {0};
  hcsc_halo *halo_plan = NULL;
  hcsc_dict d0 = {0}, *dl = NULL;
  hcsc_dict_info dinfo = {0, 0, NULL};
  hcsc_pca sub = {0};
  learn_run r;
  memset(&r, 0, sizeof r);
  memset(&rs, 0, sizeof rs);
  memset(stage_d, 0, sizeof stage_d);
  r.cli = cli;
  r.last_objective = NAN;
  hcsc_cdl_opts_default(&r.co);
  r.iters = 50;
  const hcsc_opt opts[] = {
      {"output", 'o', HCSC_OPT_STRING, &out, "DICT.nc", "dictionary to write (required)"},
      {"atoms", 0, HCSC_OPT_STRING, &atoms_s, "M[,M2..]", "atoms (per layer or set; required)"},
      {"size", 0, HCSC_OPT_STRING, &size_s, "k[,k2..]", "atoms are k x k (per layer or set; required)"},
      {"layers", 0, HCSC_OPT_INT, &nlayers, "L", "learn a stack of L layers (1..3; default 1)"},
      {"scales", 0, HCSC_OPT_STRING, &scales_s, "s1,s2..", "learn one set per scale (1, 2, 4)"},
      {"lambdas", 0, HCSC_OPT_STRING, &lambdas_s, "L1,L2..", "lambda per layer or set (default --lambda)"},
      {"channels", 0, HCSC_OPT_INT, &channels, "r", "learn on r PCA components (default: all bands)"},
      {"subspace", 0, HCSC_OPT_STRING, &sub_opt, "SUB.nc", "where --channels writes the subspace"},
      {"iters", 0, HCSC_OPT_INT, &r.iters, "N", "outer iterations in all (default 50)"},
      {"lambda", 0, HCSC_OPT_DOUBLE, &r.co.lambda, "L", "sparsity weight, > 0 (default 0.1)"},
      {"method", 0, HCSC_OPT_STRING, &method_s, "M", "consensus (default) or pgrad"},
      {"code-iters", 0, HCSC_OPT_INT, &r.co.code_iters, "n", "code ADMM iterations per iteration (1)"},
      {"crop", 0, HCSC_OPT_INT, &r.co.crop, "c", "train on one random c x c crop per tile per iteration"},
      {"reseed-every", 0, HCSC_OPT_INT, &r.co.reseed_every, "n", "re-seed atoms unused for n iterations"},
      {"init", 0, HCSC_OPT_STRING, &init, "I", "random (default), patches or a dictionary FILE"},
      {"seed", 0, HCSC_OPT_U64, &r.co.seed, "S", "seed of the initial atoms and crops (default 1)"},
      {"tol", 0, HCSC_OPT_DOUBLE, &r.co.tol, "T", "stop when the consensus residuals <= T (default 0)"},
      {"nonneg", 0, HCSC_OPT_FLAG, &nonneg, NULL, "non-negative codes"},
      {"log", 0, HCSC_OPT_STRING, &log_path, "CSV", "per-iteration log"},
      {"checkpoint", 0, HCSC_OPT_STRING, &ckpt, "FILE", "checkpoint file (also written at the end)"},
      {"checkpoint-every", 0, HCSC_OPT_INT, &ckpt_every, "N", "checkpoint every N iterations"},
      {"resume", 0, HCSC_OPT_STRING, &resume, "FILE", "continue from a checkpoint"},
      {"png", 0, HCSC_OPT_STRING, &png, "PREFIX", "pictures PREFIX_{atoms,objective,spectra}.png"},
      {"data-scale", 0, HCSC_OPT_STRING, &scale_s, "auto|none|S",
       "multiply the training data by S; auto (default): 1 / their RMS, so lambda and rho are "
       "relative to unit-RMS data"},
      {NULL, 0, HCSC_OPT_FLAG, NULL, NULL, NULL}};
  err = hcsc_cli_parse(cli, &info, opts, argc, argv, &pos, &npos);
  if (err) return err;
  if (strcmp(scale_s, "auto") != 0 && strcmp(scale_s, "none") != 0) {
    char *end;
    data_scale = strtod(scale_s, &end);
    if (end == scale_s || *end || !(data_scale > 0) || !isfinite(data_scale))
      HCSC_FAIL(HCSC_EINVAL, "learn: --data-scale '%s': expected auto, none or a number > 0", scale_s);
  }

  /* Every rank parsed the same argv: these checks agree without messages. */
  nscenes = npos;
  r.co.nonneg = nonneg;
  if (!out) HCSC_FAIL(HCSC_EINVAL, "learn: -o DICT.nc is required");
  if (!atoms_s || !size_s) HCSC_FAIL(HCSC_EINVAL, "learn: --atoms and --size are required");
  if (nlayers < 1 || nlayers > HCSC_ML_MAX_LAYERS)
    HCSC_FAIL(HCSC_EINVAL, "learn: --layers %d must be in 1..%d", nlayers, HCSC_ML_MAX_LAYERS);
  if (scales_s) {
    HCSC_CHECK(parse_list("scales", scales_s, 1, scale_v, MAX_STAGES, &nscales));
    for (int i = 0; i < nscales; i++)
      if ((scale_v[i] != 1 && scale_v[i] != 2 && scale_v[i] != 4) || (i > 0 && scale_v[i] <= scale_v[i - 1]))
        HCSC_FAIL(HCSC_EINVAL, "learn: --scales '%s': scales are 1, 2 or 4, increasing", scales_s);
    if (nlayers > 1) HCSC_FAIL(HCSC_EINVAL, "learn: --layers and --scales do not combine (one or the other)");
  }
  nst = nscales > nlayers ? nscales : nlayers;
  {
    /* "--atoms 0" parses as a list of one bad value: name the count. */
    char *e = NULL;
    double a = strtod(atoms_s, &e);
    if (*e == '\0' && a < 1) HCSC_FAIL(HCSC_EINVAL, "learn: --atoms %s must be at least 1", atoms_s);
  }
  HCSC_CHECK(parse_list("atoms", atoms_s, 1, atoms_v, MAX_STAGES, &nv));
  if (nv != nst)
    HCSC_FAIL(HCSC_EINVAL, "learn: --atoms '%s' has %d value%s, expected %d (one per %s)", atoms_s, nv,
              nv == 1 ? "" : "s", nst, nscales > 1 ? "scale" : "layer");
  HCSC_CHECK(parse_list("size", size_s, 1, size_v, MAX_STAGES, &nv));
  if (nv != nst)
    HCSC_FAIL(HCSC_EINVAL, "learn: --size '%s' has %d value%s, expected %d (one per %s)", size_s, nv,
              nv == 1 ? "" : "s", nst, nscales > 1 ? "scale" : "layer");
  for (int i = 0; i < nst; i++) {
    lambda_v[i] = r.co.lambda;
    if (size_v[i] * scale_v[i] > 64)
      HCSC_FAIL(HCSC_EINVAL, "learn: --size %g must be in 1..64 (times its scale)", size_v[i]);
  }
  if (lambdas_s) {
    HCSC_CHECK(parse_list("lambdas", lambdas_s, 0, lambda_v, MAX_STAGES, &nv));
    if (nv != nst)
      HCSC_FAIL(HCSC_EINVAL, "learn: --lambdas '%s' has %d value%s, expected %d", lambdas_s, nv,
                nv == 1 ? "" : "s", nst);
    r.co.lambda = lambda_v[0];
  }
  r.atoms = (int)atoms_v[0];
  r.ksize = (int)size_v[0];
  if (nst > 1 && strcmp(init, "random") != 0 && scale_v[0] != 1)
    HCSC_FAIL(HCSC_EINVAL, "learn: --init %s needs the first scale to be 1", init);
  if (channels < 0) HCSC_FAIL(HCSC_EINVAL, "learn: --channels %d must be at least 1", channels);
  if (r.iters < 0) HCSC_FAIL(HCSC_EINVAL, "learn: --iters %d must be >= 0", r.iters);
  if (ckpt_every < 0) HCSC_FAIL(HCSC_EINVAL, "learn: --checkpoint-every %d must be >= 0", ckpt_every);
  if (ckpt_every > 0 && !ckpt) HCSC_FAIL(HCSC_EINVAL, "learn: --checkpoint-every needs --checkpoint FILE");
  if (sub_opt && !channels) HCSC_FAIL(HCSC_EINVAL, "learn: --subspace goes with --channels r");
  if (strcmp(method_s, "consensus") == 0) r.co.method = HCSC_CDL_CONSENSUS;
  else if (strcmp(method_s, "pgrad") == 0) r.co.method = HCSC_CDL_PGRAD;
  else HCSC_FAIL(HCSC_EINVAL, "learn: --method '%s' (consensus or pgrad)", method_s);
  if (!(r.co.lambda > 0) || !isfinite(r.co.lambda))
    HCSC_FAIL(HCSC_EINVAL, "learn: --lambda %g must be > 0", r.co.lambda);
  if (cli->dims[0] > 1)
    HCSC_FAIL(HCSC_EINVAL, "learn: every signal needs all its channels on one rank: no spectral "
              "groups (--grid 1xPxQ)");
  if (channels) {
    if (sub_opt) snprintf(sub_path, sizeof sub_path, "%s", sub_opt);
    else {
      size_t n = strlen(out);
      int nc = n > 3 && strcmp(out + n - 3, ".nc") == 0;
      snprintf(sub_path, sizeof sub_path, "%.*s_subspace.nc", (int)(nc ? n - 3 : n), out);
    }
  }
  if (!ckpt) {
    /* The signal checkpoint beside the dictionary: DICT.nc -> DICT.ckpt. */
    size_t n = strlen(out);
    int nc = n > 3 && strcmp(out + n - 3, ".nc") == 0;
    snprintf(def_ckpt, sizeof def_ckpt, "%.*s.ckpt", (int)(nc ? n - 3 : n), out);
  }
  HCSC_CHECK(check_outputs(cli, out, log_path, channels ? sub_path : NULL, png, ckpt, resume));

  /* Scenes: same band count; a grid per scene (they may differ in size). */
  HCSC_CALLOC(in, nscenes);
  HCSC_CALLOC(grids, nscenes);
  HCSC_CALLOC(x, nscenes);
  for (int i = 0; i < nscenes; i++) {
    HCSC_CHECK(hcsc_scene_open(cli->comm, pos[i], &in[i]));
    const hcsc_meta *mi = hcsc_scene_meta(in[i]), *m0 = hcsc_scene_meta(in[0]);
    if (mi->bands != m0->bands)
      HCSC_FAIL(HCSC_ESIZE, "learn: scene %s has %lld bands but %s has %lld: all scenes need the same "
                "band count", pos[i], (long long)mi->bands, pos[0], (long long)m0->bands);
  }
  const hcsc_meta *meta = hcsc_scene_meta(in[0]);
  const int64_t B = meta->bands;
  if (channels > B)
    HCSC_FAIL(HCSC_EINVAL, "learn: --channels %d exceeds the %lld bands of %s", channels, (long long)B, pos[0]);
  r.nchan = channels ? channels : (int)B;
  int patches = strcmp(init, "patches") == 0, random_init = strcmp(init, "random") == 0;
  const int halo = r.ksize - 1 - (r.ksize - 1) / 2;
  for (int i = 0; i < nscenes; i++) {
    const hcsc_meta *mi = hcsc_scene_meta(in[i]);
    const int h = i == 0 && patches ? halo : 0; /* patches read across tile borders */
    HCSC_CHECK(hcsc_grid_create(cli->comm, B, mi->rows, mi->cols, cli->dims, &grids[i]));
    hcsc_box box = hcsc_grid_box(grids[i]);
    if (!channels) {
      HCSC_CHECK(hcsc_scene_load(in[i], NULL, grids[i], h, &x[i]));
      continue;
    }
    HCSC_CHECK(hcsc_scene_load(in[i], NULL, grids[i], 0, &raw));
    if (i == 0) {
      HCSC_CHECK(hcsc_pca_compute(grids[0], &raw, HCSC_EIG_AUTO, &sub));
      HCSC_CHECK(hcsc_error_agree(cli->comm, hcsc_pca_choose_rank(&sub, HCSC_PCA_RANK, channels, NULL)));
    }
    HCSC_CHECK(hcsc_error_agree(cli->comm, hcsc_tile_alloc(&x[i], &box, channels, h)));
    HCSC_CHECK(hcsc_pca_project(grids[i], &sub, channels, &raw, &x[i]));
    hcsc_tile_free(&raw);
    if (h > 0) {
      HCSC_CHECK(hcsc_halo_create(grids[i], h, channels, &halo_plan));
      HCSC_CHECK(hcsc_halo_exchange(halo_plan, &x[i]));
      hcsc_halo_destroy(&halo_plan);
    }
  }

  /* Scale the training data: with auto, to unit RMS over every tile of
   * every scene (one Allreduce), so the defaults of lambda and of the
   * penalties fit radiance and reflectance alike.  Halos are scaled too
   * (patch init reads them). */
  if (strcmp(scale_s, "auto") == 0) {
    double acc[2] = {0, 0};
    for (int i = 0; i < nscenes; i++) {
      const hcsc_box b = x[i].box;
      for (int64_t c = 0; c < x[i].nchan; c++)
        for (int64_t rr = 0; rr < b.nr; rr++)
          for (int64_t cc = 0; cc < b.nc; cc++) {
            const double v = HCSC_TILE_AT(&x[i], c, rr, cc);
            acc[0] += v * v;
            acc[1] += 1;
          }
    }
    HCSC_MPI(MPI_Allreduce(MPI_IN_PLACE, acc, 2, MPI_DOUBLE, MPI_SUM, cli->comm));
    data_scale = acc[0] > 0 && isfinite(acc[0]) ? 1.0 / sqrt(acc[0] / acc[1]) : 1.0;
  }
  if (data_scale != 1.0)
    for (int i = 0; i < nscenes; i++) {
      const int64_t n = x[i].nchan * x[i].ldr * x[i].ldc;
      for (int64_t q = 0; q < n; q++) x[i].data[q] = (float)(x[i].data[q] * data_scale);
    }

  /* The starting dictionary, the same on every rank. */
  if (patches || random_init) {
    HCSC_CHECK(hcsc_error_agree(cli->comm, hcsc_dict_alloc(&d0, r.atoms, r.nchan, r.ksize, 1)));
    if (random_init) HCSC_CHECK(hcsc_error_agree(cli->comm, hcsc_dict_init_random(&d0, r.co.seed)));
    else HCSC_CHECK(hcsc_dict_init_patches(&d0, cli->comm, &x[0], meta->rows, meta->cols, r.co.seed));
  } else {
    HCSC_CHECK(hcsc_dict_load_info(cli->comm, init, &dl, &nd, NULL));
    if (dl[0].natoms != r.atoms || dl[0].ksize != r.ksize || dl[0].nchan != r.nchan)
      HCSC_FAIL(HCSC_ESIZE, "learn: --init %s has %d atoms of %d x %d over %d channels, the run needs %d "
                "of %d x %d over %d", init, dl[0].natoms, dl[0].ksize, dl[0].ksize, dl[0].nchan, r.atoms,
                r.ksize, r.ksize, r.nchan);
    HCSC_CHECK(hcsc_error_agree(cli->comm, hcsc_dict_copy(&d0, &dl[0])));
  }
  if (scale_v[0] > 1) {
    /* The first set at a coarser scale: its signals are the subsampled tiles. */
    HCSC_CALLOC(xs, nscenes);
    for (int i = 0; i < nscenes; i++)
      HCSC_CHECK(hcsc_error_agree(cli->comm, subsample_tile(&x[i], (int)scale_v[0], &xs[i])));
  }
  HCSC_CHECK(hcsc_cdl_create(cli->comm, xs ? xs : x, nscenes, &d0, &r.co, &r.cdl));
  /* The learner holds copies; later layers and sets need the tiles. */
  for (int i = 0; nst == 1 && i < nscenes; i++) hcsc_tile_free(&x[i]);
  if (resume) HCSC_CHECK(ckpt_load(&r, resume));
  const int first_iter = hcsc_cdl_iteration(r.cdl);

  /* The log goes to a temporary name, renamed when the run ends. */
  if (log_path && cli->rank == 0) {
    if (snprintf(tmplog, sizeof tmplog, "%s.hcsc-tmp-%ld", log_path, (long)getpid()) >= (int)sizeof tmplog)
      err = HCSC_ERR(HCSC_EINVAL, "%.200s...: path too long", log_path);
    else if (!(logf = fopen(tmplog, "w")))
      err = HCSC_ERR_ERRNO(log_path, "cannot write the log");
    else if (fprintf(logf, "iter,objective,sparsity,primal,dual,rho_dict,t_code,t_dict,t_reduce,"
                           "bytes_reduced,layer\n") < 0)
      werr = 1;
  }
  HCSC_CHECK(hcsc_error_agree(cli->comm, err));

  HCSC_CHECK(hcsc_error_agree(cli->comm, hcsc_signal_install()));
  signals_on = 1;
  hcsc_cdl_report rep = {0};
  int steps = 0, converged = 0;
  double t0 = MPI_Wtime();
  HCSC_CHECK(run_stage(&r, 1, logf, &werr, ckpt, ckpt_every, &signo, &converged, &steps, &rep));
  if (ckpt || signo) HCSC_CHECK(ckpt_save(&r, ckpt ? ckpt : def_ckpt));
  for (int st = 1; st < nst && !signo; st++) {
    /* Layer st + 1 learns on the codes of layer st (FISTA on each scene's
     * tile, with the operator's halo: the same codes on any split, up to
     * rounding); set st + 1 on the scenes subsampled by its scale. */
    const hcsc_dict *prev = st == 1 ? hcsc_cdl_dictionary(r.cdl) : &stage_d[st - 1];
    if (st == 1) HCSC_CHECK(hcsc_error_agree(cli->comm, hcsc_dict_copy(&stage_d[0], prev)));
    prev = &stage_d[st - 1];
    if (!xs) HCSC_CALLOC(xs, nscenes);
    for (int i = 0; i < nscenes; i++) {
      hcsc_tile t = {0};
      if (nlayers > 1) {
        const hcsc_tile *in_t = st == 1 ? &x[i] : &xs[i];
        hcsc_box box = hcsc_grid_box(grids[i]);
        hcsc_pursuit_opts po;
        hcsc_pursuit_opts_default(&po);
        po.lambda = lambda_v[st - 1];
        po.nonneg = r.co.nonneg;
        HCSC_CHECK(hcsc_error_agree(cli->comm, hcsc_tile_alloc(&t, &box, prev->natoms,
                                                               prev->ksize - 1 - (prev->ksize - 1) / 2)));
        err = hcsc_pursuit_solve(grids[i], prev, in_t, &t, &po, NULL);
      } else {
        err = hcsc_error_agree(cli->comm, subsample_tile(&x[i], (int)scale_v[st], &t));
      }
      if (err) {
        hcsc_tile_free(&t);
        goto cleanup;
      }
      hcsc_tile_free(&xs[i]);
      xs[i] = t;
    }
    hcsc_cdl_destroy(&rs.cdl);
    free(rs.hist);
    memset(&rs, 0, sizeof rs);
    rs.cli = cli;
    rs.co = r.co;
    rs.co.lambda = lambda_v[st];
    rs.co.seed = r.co.seed + (uint64_t)st;
    rs.atoms = (int)atoms_v[st];
    rs.ksize = (int)size_v[st];
    rs.nchan = nlayers > 1 ? prev->natoms : r.nchan;
    rs.iters = r.iters;
    hcsc_dict_free(&d0);
    HCSC_CHECK(hcsc_error_agree(cli->comm, hcsc_dict_alloc(&d0, rs.atoms, rs.nchan, rs.ksize, 1)));
    HCSC_CHECK(hcsc_error_agree(cli->comm, hcsc_dict_init_random(&d0, rs.co.seed)));
    HCSC_CHECK(hcsc_cdl_create(cli->comm, xs, nscenes, &d0, &rs.co, &rs.cdl));
    HCSC_CHECK(run_stage(&rs, st + 1, logf, &werr, NULL, 0, &signo, &converged, &steps, &rep));
    if (signo) {
      /* Only layer 1 is checkpointed: write its final state again (a
       * --resume of it learns layer/set st + 1 from its start). */
      const char *cp = ckpt ? ckpt : def_ckpt;
      HCSC_CHECK(ckpt_save(&r, cp));
      HCSC_FAIL(HCSC_EINTERRUPT, "learn: stopped by signal %d in %s %d at iteration %d of %d; checkpoint %s "
                "holds layer 1 only (--resume %s learns %s %d again from its start)", signo,
                nlayers > 1 ? "layer" : "set", st + 1, hcsc_cdl_iteration(rs.cdl), r.iters, cp, cp,
                nlayers > 1 ? "layer" : "set", st + 1);
    }
    HCSC_CHECK(hcsc_error_agree(cli->comm, hcsc_dict_copy(&stage_d[st], hcsc_cdl_dictionary(rs.cdl))));
  }
  const double tlearn = MPI_Wtime() - t0;
  if (logf) {
    int bad = werr || fflush(logf) != 0;
    bad = (fclose(logf) != 0) || bad;
    logf = NULL;
    if (bad) err = HCSC_ERR(HCSC_EIO, "%s: cannot write the log: %s", log_path, strerror(errno));
    else if (rename(tmplog, log_path) != 0) err = HCSC_ERR_ERRNO(log_path, "cannot rename the finished log to");
    else tmplog[0] = '\0';
  }
  HCSC_CHECK(hcsc_error_agree(cli->comm, err));
  if (signo) {
    const char *cp = ckpt ? ckpt : def_ckpt;
    HCSC_FAIL(HCSC_EINTERRUPT, "learn: stopped by signal %d at iteration %d of %d; checkpoint %s written "
              "(continue with --resume %s)", signo, hcsc_cdl_iteration(r.cdl), r.iters, cp, cp);
  }

  /* The dictionary and, with --channels, its subspace. */
  const hcsc_dict *g = hcsc_cdl_dictionary(r.cdl);
  if (nst > 1) {
    /* Sets at scale s > 1 were learned on the coarse grid: put their taps
     * on the full-resolution grid of the multi-scale coder. */
    for (int st = 0; nscales > 1 && st < nst; st++) {
      if (scale_v[st] == 1) continue;
      hcsc_dict_free(&coarse);
      coarse = stage_d[st];
      memset(&stage_d[st], 0, sizeof stage_d[st]);
      HCSC_CHECK(hcsc_error_agree(cli->comm, upsample_atoms(&coarse, (int)scale_v[st], &stage_d[st])));
    }
    dinfo.structure = nlayers > 1 ? HCSC_DICT_STACK : HCSC_DICT_SCALES;
  }
  if (!channels && meta->wavelength) {
    dinfo.wavelength = meta->wavelength; /* borrowed: save only reads it */
    dinfo.nwavelength = (int)B;
  }
  {
    hcsc_dict_attr attrs[] = {{"lambda", r.co.lambda},
                              {"iterations", hcsc_cdl_iteration(r.cdl)},
                              {"method", r.co.method},
                              {"objective", r.last_objective},
                              {"code_iters", r.co.code_iters},
                              {"crop", r.co.crop},
                              {"seed", (double)r.co.seed},
                              {"subspace_channels", channels},
                              {"data_scale", data_scale},
                              {"lambda_2", nst > 1 ? lambda_v[1] : 0},
                              {"lambda_3", nst > 2 ? lambda_v[2] : 0}};
    HCSC_CHECK(hcsc_dict_save_info(cli->comm, out, nst > 1 ? stage_d : g, nst, &dinfo, attrs, (int)(sizeof attrs / sizeof attrs[0]),
                                   cli->force));
  }
  if (channels) {
    if (meta->wavelength) {
      HCSC_CHECK(hcsc_error_agree(cli->comm, (sub.wavelength = malloc((size_t)B * sizeof(double)))
                                                 ? 0 : HCSC_ERR(HCSC_ENOMEM, "learn: out of memory")));
      memcpy(sub.wavelength, meta->wavelength, (size_t)B * sizeof(double));
    }
    HCSC_CHECK(hcsc_pca_save(cli->comm, &sub, sub_path, cli->force));
  }
  if (png) {
    if (cli->rank == 0)
      err = write_pngs(&r, png, g, channels ? &sub : NULL, meta->wavelength, cli->force);
    HCSC_CHECK(hcsc_error_agree(cli->comm, err));
  }

  if (cli->rank == 0) {
    const char *why = converged ? "converged" : "iterations done";
    double obj0 = r.nhist ? r.hist[0] : NAN;
    if (cli->json) {
      printf("{\"output\": \"%s\", \"scenes\": %d, \"atoms\": %d, \"size\": %d, \"channels\": %d, "
             "\"subspace\": %s%s%s, \"method\": \"%s\", \"lambda\": %.17g, \"iterations\": %d, "
             "\"resumed_at\": %d, \"converged\": %s, \"first_objective\": %.9g, \"objective\": %.17g, "
             "\"sparsity\": %.17g, \"seconds\": %.6f}\n",
             out, nscenes, r.atoms, r.ksize, r.nchan, channels ? "\"" : "", channels ? sub_path : "null",
             channels ? "\"" : "", method_s, r.co.lambda, hcsc_cdl_iteration(r.cdl), first_iter,
             converged ? "true" : "false", obj0, r.last_objective, steps ? rep.sparsity : NAN, tlearn);
    } else if (cli->level >= HCSC_LOG_INFO) {
      printf("learn: %d scene(s), %d atoms of %d x %d over %d %s, %s, lambda %g\n", nscenes, r.atoms,
             r.ksize, r.ksize, r.nchan, channels ? "PCA components" : "bands", method_s, r.co.lambda);
      printf("learn: %d iterations (%d this run, %s), objective %.8g (first %.8g), %.3f s -> %s\n",
             hcsc_cdl_iteration(r.cdl), steps, why, r.last_objective, obj0, tlearn, out);
      if (nst > 1)
        printf("learn: %d %s (%s), layer/set 1 above; later ones in the log -> %s\n", nst,
               nlayers > 1 ? "layers" : "scale sets", nlayers > 1 ? "multi-layer stack" : "multi-scale",
               out);
      if (channels) printf("learn: spectral subspace (%d components) -> %s\n", channels, sub_path);
      if (ckpt) printf("learn: checkpoint -> %s\n", ckpt);
    }
    fflush(stdout);
  }
cleanup:
  if (signals_on) hcsc_signal_restore();
  if (logf) fclose(logf);
  if (tmplog[0]) unlink(tmplog);
  hcsc_cdl_destroy(&r.cdl);
  free(r.hist);
  hcsc_cdl_destroy(&rs.cdl);
  free(rs.hist);
  for (int i = 0; i < MAX_STAGES; i++) hcsc_dict_free(&stage_d[i]);
  hcsc_dict_free(&coarse);
  for (int i = 0; xs && i < nscenes; i++) hcsc_tile_free(&xs[i]);
  free(xs);
  hcsc_pca_free(&sub);
  hcsc_dict_free(&d0);
  hcsc_dict_free_layers(&dl, nd);
  hcsc_halo_destroy(&halo_plan);
  hcsc_tile_free(&raw);
  for (int i = 0; i < nscenes; i++) {
    if (x) hcsc_tile_free(&x[i]);
    if (grids) hcsc_grid_destroy(&grids[i]);
    if (in) hcsc_scene_close(&in[i]);
  }
  free(x);
  free(grids);
  free(in);
  free(pos);
  return err;
}
