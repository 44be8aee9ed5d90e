/* hypercsc code: sparse codes of a scene for a dictionary (convolutional
 * basis pursuit by ISTA or FISTA, hcsc/pursuit.h), their reconstruction
 * D z and a per-iteration log. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/restore_common.h"

static const hcsc_cmd_desc info = {
    "code", "SCENE --dict D.nc -o CODES.nc [--recon OUT] [--solver S] [--lambda L] [options]",
    "sparse codes of a scene for a dictionary (ISTA/FISTA/ADMM, multi-layer, multi-scale)",
    "Solves  min_z 1/2 || W o (sum_m d_m * z_m - x) ||^2 + lambda sum_m ||z_m||_1  on the\n"
    "decomposed scene.  ista/fista (one-layer dictionaries): halos of the atoms' width are\n"
    "exchanged every iteration and the step 1/L comes from a power iteration, so the codes\n"
    "are the same, up to float rounding, for any number of ranks and grid (spectral groups\n"
    "included).  admm: DFT-domain ADMM per tile on the tile plus --overlap pixels (default\n"
    "4 k), the overlap discarded; the codes differ between decompositions by the circular\n"
    "wrap at tile borders, which falls quickly as the overlap grows.  Multi-layer\n"
    "dictionaries (dict init --layers): lt, lbp, mlista, mlfista for the ML-LASSO with\n"
    "--lambdas per layer; CODES.nc holds the deepest layer's codes.  Multi-scale sets (dict\n"
    "init --scales): ista/fista over all sets; CODES.nc stacks the sets' codes, each on its\n"
    "lattice at full resolution.  The first layer must have as many channels as the scene\n"
    "has bands.\n"
    "CODES.nc: a NetCDF scene (bands atom_0 ..) on the scene's grid and georeferencing.\n"
    "--recon OUT: the reconstruction with the scene's metadata (format by extension).\n"
    "--log CSV: one line per iteration, iter,objective,nnz_fraction,rel_change,seconds\n"
    "(admm: iter,primal,dual,rho,seconds; rank 0 writes it).  --mask MASK (ista, fista,\n"
    "admm): a scene of 1 band or the scene's band count, same rows x columns, 0 = missing\n"
    "value (inpainting).  --band-weights FILE (ista, fista): one weight >= 0 per band\n"
    "(whitespace separated) for the data term.  --lowpass SIGMA: code the detail of the\n"
    "scene (minus its Gaussian low-pass, normalised by the mask where there is one) and add\n"
    "the low-pass back to the reconstruction; zero-mean atoms (dict init --method patches)\n"
    "cannot build a scene's local mean, so use it with them (e.g. --lowpass 3).",
    1, 1};

/* One solve of the command: inputs, the options every solver shares
 * (po: lambda, iters, tol, nonneg, backend, mask, band weights, monitor)
 * and the solver-specific ones; outputs the codes z (code_channels()
 * channels on the grid's box), the reconstruction xr (C channels, or
 * NULL: not wanted) and the figures printed at the end. */
typedef struct {
  const hcsc_grid *g;
  const hcsc_dict *layers;
  int nlayers, structure;
  const hcsc_tile *x;
  hcsc_tile *z, *xr;
  hcsc_pursuit_opts *po;
  double lambdas[HCSC_ML_MAX_LAYERS];
  int overlap;
  double rel_tol;
  /* results */
  int iters, restarts;
  double objective, sparsity;
} code_job;

/* A solver of the command: name, the dictionary structure it takes and its
 * function.  Collective on the grid's comm. */
typedef int (*code_solver_fn)(code_job *j);

/* Reconstruction D_1 z_1 for the single-layer and multi-layer solvers (z_1
 * is the first layer's code).  Collective on the grid's comm. */
static int synth_first_layer(code_job *j, hcsc_tile *z1)
{
  int err = 0;
  hcsc_conv *op = NULL;
  hcsc_halo *hz = NULL;
  int64_t bands, rows, cols;
  const hcsc_box box = hcsc_grid_box(j->g);
  hcsc_grid_scene(j->g, &bands, &rows, &cols);
  err = hcsc_conv_create(&j->layers[0], &box, rows, cols, j->po->backend, &op);
  HCSC_CHECK(hcsc_error_agree(hcsc_grid_comm(j->g), err));
  HCSC_CHECK(hcsc_halo_create(j->g, hcsc_conv_halo(op), (int)z1->nchan, &hz));
  HCSC_CHECK(hcsc_halo_exchange(hz, z1));
  hcsc_timer_start(HCSC_PHASE_COMPUTE);
  err = hcsc_conv_synth(op, z1, j->xr);
  hcsc_timer_stop(HCSC_PHASE_COMPUTE);
  HCSC_CHECK(hcsc_error_agree(hcsc_grid_comm(j->g), err));
cleanup:
  hcsc_halo_destroy(&hz);
  hcsc_conv_destroy(&op);
  return err;
}

static int solve_pursuit(code_job *j, hcsc_pursuit_solver solver)
{
  int err = 0;
  hcsc_pursuit_stats st = {0};
  j->po->solver = solver;
  HCSC_CHECK(hcsc_pursuit_solve(j->g, &j->layers[0], j->x, j->z, j->po, &st));
  j->iters = st.iters;
  j->restarts = st.restarts;
  j->objective = st.objective ? st.objective[st.iters] : NAN;
  j->sparsity = st.sparsity;
  if (j->xr) HCSC_CHECK(synth_first_layer(j, j->z));
cleanup:
  hcsc_pursuit_stats_free(&st);
  return err;
}

static int solve_ista(code_job *j) { return solve_pursuit(j, HCSC_PURSUIT_ISTA); }
static int solve_fista(code_job *j) { return solve_pursuit(j, HCSC_PURSUIT_FISTA); }

/* ADMM's monitor reports residuals, not the objective: the log's columns
 * are then iter,primal,dual,rho,seconds (see the help). */
static int admm_monitor(void *ctx, int iter, double primal, double dual, double rho)
{
  const code_job *j = ctx;
  return j->po->monitor(j->po->monitor_ctx, iter, primal, dual, rho);
}

static int solve_admm(code_job *j)
{
  int err = 0;
  hcsc_admm_opts ao;
  hcsc_admm_stats st = {0};
  hcsc_admm_opts_default(&ao);
  ao.lambda = j->po->lambda;
  ao.iters = j->po->iters;
  ao.rel_tol = j->rel_tol;
  ao.overlap = j->overlap;
  ao.nonneg = j->po->nonneg;
  ao.mask = j->po->mask;
  if (j->po->band_weights)
    HCSC_FAIL(HCSC_ENOTSUP, "code: --band-weights is not supported by --solver admm (use ista or fista)");
  if (j->po->monitor) {
    ao.monitor = admm_monitor;
    ao.monitor_ctx = j;
  }
  HCSC_CHECK(hcsc_admm_solve(j->g, &j->layers[0], j->x, j->z, &ao, &st));
  j->iters = st.iters;
  j->objective = st.objective;
  j->sparsity = st.sparsity;
  if (j->xr) HCSC_CHECK(synth_first_layer(j, j->z));
cleanup:
  return err;
}

/* Multi-layer pursuit: z receives the deepest code, the reconstruction is
 * D_1 z_1 with z_1 = D_2 .. D_L z_L (ML-ISTA/FISTA) or the layered
 * estimate (LT, LBP). */
static int solve_ml(code_job *j, hcsc_ml_method method)
{
  int err = 0;
  const int L = j->nlayers;
  hcsc_tile codes[HCSC_ML_MAX_LAYERS];
  memset(codes, 0, sizeof codes);
  hcsc_ml_opts mo;
  hcsc_ml_stats st = {0};
  const hcsc_box box = hcsc_grid_box(j->g);
  hcsc_ml_opts_default(&mo);
  mo.method = method;
  for (int l = 0; l < L; l++) mo.lambdas[l] = j->lambdas[l];
  mo.iters = j->po->iters;
  mo.tol = j->po->tol;
  mo.nonneg = j->po->nonneg;
  mo.backend = j->po->backend;
  mo.monitor = j->po->monitor;
  mo.monitor_ctx = j->po->monitor_ctx;
  for (int l = 0; l < L - 1 && !err; l++) {
    const int k = j->layers[0].ksize;
    err = hcsc_tile_alloc(&codes[l], &box, j->layers[l].natoms, l == 0 ? k - 1 - (k - 1) / 2 : 0);
  }
  HCSC_CHECK(hcsc_error_agree(hcsc_grid_comm(j->g), err));
  codes[L - 1] = *j->z; /* borrowed: the deepest code is the command's output */
  err = hcsc_ml_solve(j->g, j->layers, L, j->x, codes, &mo, &st);
  codes[L - 1] = (hcsc_tile){0};
  HCSC_CHECK(err);
  j->iters = st.iters;
  j->restarts = st.restarts;
  j->objective = st.objective ? st.objective[st.iters] : NAN;
  j->sparsity = st.sparsity[L - 1];
  if (j->xr) HCSC_CHECK(synth_first_layer(j, &codes[0]));
cleanup:
  hcsc_ml_stats_free(&st);
  for (int l = 0; l < L; l++) hcsc_tile_free(&codes[l]);
  return err;
}

static int solve_lt(code_job *j) { return solve_ml(j, HCSC_ML_LT); }
static int solve_lbp(code_job *j) { return solve_ml(j, HCSC_ML_LBP); }
static int solve_mlista(code_job *j) { return solve_ml(j, HCSC_ML_ISTA); }
static int solve_mlfista(code_job *j) { return solve_ml(j, HCSC_ML_FISTA); }

/* Multi-scale ISTA/FISTA: the output stacks the sets' codes (set 0's atoms
 * first), each on its lattice at full resolution. */
static int solve_ms(code_job *j, hcsc_pursuit_solver solver)
{
  int err = 0;
  const int S = j->nlayers;
  hcsc_tile codes[HCSC_ML_MAX_LAYERS + 5];
  memset(codes, 0, sizeof codes);
  hcsc_pursuit_stats st = {0};
  hcsc_ms_op *op = NULL;
  const hcsc_box box = hcsc_grid_box(j->g);
  if (S > (int)(sizeof codes / sizeof codes[0]))
    HCSC_FAIL(HCSC_ENOTSUP, "code: %d atom sets (at most %d)", S, (int)(sizeof codes / sizeof codes[0]));
  for (int s = 0; s < S && !err; s++) err = hcsc_tile_alloc(&codes[s], &box, j->layers[s].natoms, 0);
  HCSC_CHECK(hcsc_error_agree(hcsc_grid_comm(j->g), err));
  j->po->solver = solver;
  HCSC_CHECK(hcsc_ms_solve(j->g, j->layers, S, j->x, codes, j->po, &st));
  for (int s = 0, m0 = 0; s < S; m0 += j->layers[s].natoms, s++)
    for (int64_t m = 0; m < codes[s].nchan; m++)
      for (int64_t r = 0; r < box.nr; r++)
        for (int64_t c = 0; c < box.nc; c++) HCSC_TILE_AT(j->z, m0 + m, r, c) = HCSC_TILE_AT(&codes[s], m, r, c);
  j->iters = st.iters;
  j->restarts = st.restarts;
  j->objective = st.objective ? st.objective[st.iters] : NAN;
  j->sparsity = st.sparsity;
  if (j->xr) {
    HCSC_CHECK(hcsc_ms_op_create(j->g, j->layers, S, j->po->backend, &op));
    HCSC_CHECK(hcsc_ms_op_synth(op, codes, j->xr));
  }
cleanup:
  hcsc_ms_op_destroy(&op);
  hcsc_pursuit_stats_free(&st);
  for (int s = 0; s < S; s++) hcsc_tile_free(&codes[s]);
  return err;
}

static int solve_msista(code_job *j) { return solve_ms(j, HCSC_PURSUIT_ISTA); }
static int solve_msfista(code_job *j) { return solve_ms(j, HCSC_PURSUIT_FISTA); }

/* The solvers by dictionary structure: a one-layer dictionary takes ista,
 * fista (default) and admm; a multi-layer stack lt, lbp, mlista and mlfista
 * (default); a multi-scale set ista and fista (default) over all sets. */
static const struct {
  const char *name;
  int structure;
  code_solver_fn solve;
} solvers[] = {
    {"ista", HCSC_DICT_SINGLE, solve_ista},     {"fista", HCSC_DICT_SINGLE, solve_fista},
    {"admm", HCSC_DICT_SINGLE, solve_admm},     {"lt", HCSC_DICT_STACK, solve_lt},
    {"lbp", HCSC_DICT_STACK, solve_lbp},        {"mlista", HCSC_DICT_STACK, solve_mlista},
    {"mlfista", HCSC_DICT_STACK, solve_mlfista}, {"ista", HCSC_DICT_SCALES, solve_msista},
    {"fista", HCSC_DICT_SCALES, solve_msfista},
};
#define NSOLVERS ((int)(sizeof solvers / sizeof solvers[0]))
static const char *const structure_names[] = {"one-layer", "multi-layer", "multi-scale"};
static const char *const solver_lists[] = {"ista, fista or admm", "lt, lbp, mlista or mlfista",
                                           "ista or fista"};

/* State of the monitor: the log file (rank 0) and the progress bar. */
typedef struct {
  FILE *log;
  hcsc_progress *bar;
  double t0;
  int werr; /* rank 0: a failed write (reported after the solve) */
} monitor_ctx;

static int monitor(void *ctx, int iter, double objective, double nnz, double rel)
{
  monitor_ctx *m = ctx;
  char extra[64];
  if (m->log && fprintf(m->log, "%d,%.17g,%.17g,%.17g,%.6f\n", iter, objective, nnz, rel,
                        MPI_Wtime() - m->t0) < 0)
    m->werr = 1;
  snprintf(extra, sizeof extra, "objective %.6g", objective);
  hcsc_progress_update(m->bar, iter, extra);
  return 0;
}

/* Rank 0 reads FILE (one weight per band) and broadcasts it.  Collective
 * on comm. */
static int read_weights(MPI_Comm comm, const char *path, int64_t bands, double **out)
{
  int err = 0, rank;
  double *w = NULL;
  MPI_Comm_rank(comm, &rank);
  w = calloc((size_t)bands, sizeof *w);
  if (!w) err = HCSC_ERR(HCSC_ENOMEM, "code: out of memory for band weights");
  if (!err && rank == 0) {
    FILE *f = fopen(path, "r");
    int64_t n = 0;
    double v;
    if (!f) {
      err = HCSC_ERR_ERRNO(path, "cannot read band weights");
    } else {
      while (n <= bands && fscanf(f, "%lf", &v) == 1) {
        if (n < bands) w[n] = v;
        if (!(v >= 0) || !isfinite(v)) err = HCSC_ERR(HCSC_EVALUE, "%s: weight %lld is %g (must be >= 0)",
                                                        path, (long long)(n + 1), v);
        n++;
      }
      if (!err && (n != bands || !feof(f)))
        err = HCSC_ERR(HCSC_ESIZE, "%s: expected %lld band weights (numbers), found %s%lld", path,
                       (long long)bands, n > bands ? "more than " : "", (long long)(n > bands ? bands : n));
      fclose(f);
    }
  }
  HCSC_CHECK(hcsc_error_agree(comm, err));
  HCSC_MPI(MPI_Bcast(w, (int)bands, MPI_DOUBLE, 0, comm));
  *out = w;
  w = NULL;
cleanup:
  free(w);
  return hcsc_error_agree(comm, err);
}

/* The codes' metadata: the scene's grid and georeferencing, M float bands
 * named atom_m.  Not collective. */
static int code_meta(const hcsc_meta *m, int64_t natoms, hcsc_meta *c)
{
  int err = 0;
  char name[32];
  hcsc_meta_init(c);
  c->bands = natoms;
  c->rows = m->rows;
  c->cols = m->cols;
  c->dtype = HCSC_DT_FLOAT32;
  c->has_geotransform = m->has_geotransform;
  memcpy(c->geotransform, m->geotransform, sizeof c->geotransform);
  if (m->crs_wkt && !(c->crs_wkt = strdup(m->crs_wkt))) HCSC_FAIL(HCSC_ENOMEM, "code: out of memory");
  HCSC_CALLOC(c->band_names, natoms);
  for (int64_t b = 0; b < natoms; b++) {
    snprintf(name, sizeof name, "atom_%lld", (long long)b);
    if (!(c->band_names[b] = strdup(name))) HCSC_FAIL(HCSC_ENOMEM, "code: out of memory");
  }
cleanup:
  return err;
}

int hcsc_cmd_code(hcsc_cli *cli, int argc, char **argv)
{
  int err = 0, nonneg = 0, nd = 0;
  const char *out = NULL, *dpath = NULL, *recon = NULL, *solver_name = NULL, *mask_path = NULL,
             *weights_path = NULL, *log_path = NULL, *backend_name = "auto", *type = NULL,
             *lambdas_arg = NULL;
  double lambda = 0.1, tol = 1e-4, rel_tol = 1e-3, lowpass = 0;
  int iters = 100, overlap = -1;
  char **pos = NULL;
  int npos = 0;
  char tmplog[4200] = "";
  hcsc_scene *in = NULL, *min = NULL;
  hcsc_grid *g = NULL, *gz = NULL, *gm = NULL;
  hcsc_tile x = {0}, z = {0}, mask = {0}, xr = {0}, xl = {0};
  hcsc_dict *d = NULL;
  hcsc_dict_info dinfo = {0};
  double *weights = NULL;
  code_job job;
  memset(&job, 0, sizeof job);
  monitor_ctx mon = {NULL, NULL, 0, 0};
  hcsc_meta cmeta, rmeta;
  hcsc_meta_init(&cmeta);
  hcsc_meta_init(&rmeta);
  const hcsc_opt opts[] = {
      {"dict", 'd', HCSC_OPT_STRING, &dpath, "D.nc", "dictionary (required)"},
      {"output", 'o', HCSC_OPT_STRING, &out, "CODES.nc", "codes to write, NetCDF (required)"},
      {"recon", 0, HCSC_OPT_STRING, &recon, "OUT", "write the reconstruction D z as a scene"},
      {"solver", 0, HCSC_OPT_STRING, &solver_name, "S",
       "one layer: ista, fista (default), admm; multi-layer: lt, lbp, mlista, mlfista (default); "
       "multi-scale: ista, fista (default)"},
      {"lambda", 0, HCSC_OPT_DOUBLE, &lambda, "L", "sparsity weight, > 0 (default 0.1)"},
      {"lambdas", 0, HCSC_OPT_STRING, &lambdas_arg, "L1,L2[,L3]",
       "multi-layer: one weight per layer (default: --lambda for each)"},
      {"overlap", 0, HCSC_OPT_INT, &overlap, "N", "admm: pixels solved beyond each tile (default 4 k)"},
      {"rel-tol", 0, HCSC_OPT_DOUBLE, &rel_tol, "T", "admm: residual tolerance (default 1e-3; 0: never)"},
      {"iters", 0, HCSC_OPT_INT, &iters, "N", "maximum iterations (default 100)"},
      {"tol", 0, HCSC_OPT_DOUBLE, &tol, "T", "stop at relative change <= T (default 1e-4; 0: never)"},
      {"nonneg", 0, HCSC_OPT_FLAG, &nonneg, NULL, "non-negative codes"},
      {"lowpass", 0, HCSC_OPT_DOUBLE, &lowpass, "SIGMA",
       "code the detail x - G_SIGMA x, add the Gaussian low-pass back to the reconstruction (0: off)"},
      {"mask", 0, HCSC_OPT_STRING, &mask_path, "MASK", "data mask scene (0 = missing)"},
      {"band-weights", 0, HCSC_OPT_STRING, &weights_path, "FILE", "one data weight per band"},
      {"log", 0, HCSC_OPT_STRING, &log_path, "CSV", "per-iteration log"},
      {"backend", 0, HCSC_OPT_STRING, &backend_name, "B", "convolutions: auto (default), direct, fft"},
      {"type", 0, HCSC_OPT_STRING, &type, "T", "reconstruction type (default: the scene's)"},
      {NULL, 0, HCSC_OPT_FLAG, NULL, NULL, NULL}};
  err = hcsc_cli_parse(cli, &info, opts, argc, argv, &pos, &npos);
  if (err) return err;

  /* Every rank parsed the same argv: these checks agree without messages. */
  code_solver_fn solve = NULL;
  int nlambdas = 0;
  hcsc_pursuit_opts po;
  hcsc_dtype dtype = HCSC_DT_NONE;
  hcsc_pursuit_opts_default(&po);
  if (!out || !dpath) HCSC_FAIL(HCSC_EINVAL, "code: --dict D.nc and -o CODES.nc are required");
  if (lambdas_arg) {
    const char *p = lambdas_arg;
    char *end;
    while (*p) {
      if (nlambdas == HCSC_ML_MAX_LAYERS)
        HCSC_FAIL(HCSC_EINVAL, "code: --lambdas '%s': at most %d values", lambdas_arg, HCSC_ML_MAX_LAYERS);
      job.lambdas[nlambdas] = strtod(p, &end);
      if (end == p || !(job.lambdas[nlambdas] > 0) || !isfinite(job.lambdas[nlambdas]) ||
          (*end && *end != ','))
        HCSC_FAIL(HCSC_EINVAL, "code: --lambdas '%s': expected values > 0 separated by commas", lambdas_arg);
      nlambdas++;
      p = *end ? end + 1 : end;
    }
  }
  if (overlap < -1) HCSC_FAIL(HCSC_EINVAL, "code: --overlap %d must be >= 0", overlap);
  if (!(rel_tol >= 0)) HCSC_FAIL(HCSC_EINVAL, "code: --rel-tol %g must be >= 0", rel_tol);
  if (!(lowpass >= 0) || !isfinite(lowpass))
    HCSC_FAIL(HCSC_EINVAL, "code: --lowpass %g must be >= 0 (pixels)", lowpass);
  if (!(lambda > 0) || !isfinite(lambda)) HCSC_FAIL(HCSC_EINVAL, "code: --lambda %g must be > 0", lambda);
  if (iters < 0) HCSC_FAIL(HCSC_EINVAL, "code: --iters %d must be >= 0", iters);
  if (!(tol >= 0)) HCSC_FAIL(HCSC_EINVAL, "code: --tol %g must be >= 0", tol);
  if (strcmp(backend_name, "auto") == 0) po.backend = HCSC_CONV_AUTO;
  else if (strcmp(backend_name, "direct") == 0) po.backend = HCSC_CONV_DIRECT;
  else if (strcmp(backend_name, "fft") == 0) po.backend = HCSC_CONV_FFT;
  else HCSC_FAIL(HCSC_EINVAL, "code: unknown --backend '%s' (auto, direct or fft)", backend_name);
  if (type) HCSC_CHECK(hcsc_dtype_parse(type, &dtype));
  po.lambda = lambda;
  po.iters = iters;
  po.tol = tol;
  po.nonneg = nonneg;
  HCSC_CHECK(hcsc_output_check(cli->comm, out, cli->force));
  if (recon) HCSC_CHECK(hcsc_output_check(cli->comm, recon, cli->force));
  if (log_path) HCSC_CHECK(hcsc_output_check(cli->comm, log_path, cli->force));

  HCSC_CHECK(hcsc_scene_open(cli->comm, pos[0], &in));
  const hcsc_meta *meta = hcsc_scene_meta(in);
  HCSC_CHECK(hcsc_dict_load_info(cli->comm, dpath, &d, &nd, &dinfo));
  /* The dictionary is replicated: every rank reaches the same verdict. */
  if (d[0].nchan != meta->bands)
    HCSC_FAIL(HCSC_ESIZE, "code: dictionary %s has %d channels but scene %s has %lld bands", dpath,
              d[0].nchan, pos[0], (long long)meta->bands);
  if (dinfo.structure < HCSC_DICT_SINGLE || dinfo.structure > HCSC_DICT_SCALES)
    HCSC_FAIL(HCSC_EFORMAT, "code: dictionary %s: its %d layers are neither a multi-layer stack nor a "
              "multi-scale set", dpath, nd);
  if (!solver_name) solver_name = dinfo.structure == HCSC_DICT_STACK ? "mlfista" : "fista";
  for (int i = 0; i < NSOLVERS; i++)
    if (solvers[i].structure == dinfo.structure && strcmp(solver_name, solvers[i].name) == 0)
      solve = solvers[i].solve;
  if (!solve)
    HCSC_FAIL(HCSC_EINVAL, "code: --solver '%s' does not apply to the %s dictionary %s (%s)", solver_name,
              structure_names[dinfo.structure], dpath, solver_lists[dinfo.structure]);
  if (lambdas_arg && (dinfo.structure != HCSC_DICT_STACK || nlambdas != nd))
    HCSC_FAIL(HCSC_EINVAL, "code: --lambdas needs a multi-layer dictionary and one value per layer "
              "(%s has %d layer%s, %d values given)", dpath, nd, nd == 1 ? "" : "s", nlambdas);
  for (int l = nlambdas; l < HCSC_ML_MAX_LAYERS; l++) job.lambdas[l] = lambda;
  const int k = d[0].ksize, halo = k - 1 - (k - 1) / 2;
  int M = d[0].natoms;
  if (dinfo.structure == HCSC_DICT_STACK) M = d[nd - 1].natoms;
  if (dinfo.structure == HCSC_DICT_SCALES)
    for (int s = 1; s < nd; s++) M += d[s].natoms;
  if (overlap < 0) overlap = 4 * k;
  if (mask_path) {
    HCSC_CHECK(hcsc_scene_open(cli->comm, mask_path, &min));
    const hcsc_meta *mm = hcsc_scene_meta(min);
    if (mm->rows != meta->rows || mm->cols != meta->cols || (mm->bands != 1 && mm->bands != meta->bands))
      HCSC_FAIL(HCSC_ESIZE, "code: mask %s is %lldx%lldx%lld but scene %s is %lldx%lldx%lld (rows x cols "
                "x bands; the mask needs 1 or %lld bands)", mask_path, (long long)mm->rows,
                (long long)mm->cols, (long long)mm->bands, pos[0], (long long)meta->rows,
                (long long)meta->cols, (long long)meta->bands, (long long)meta->bands);
  }
  if (weights_path) HCSC_CHECK(read_weights(cli->comm, weights_path, meta->bands, &weights));

  HCSC_CHECK(hcsc_grid_create(cli->comm, meta->bands, meta->rows, meta->cols, cli->dims, &g));
  int dims[3];
  hcsc_grid_dims(g, dims);
  /* The codes (M channels) and the mask live on the same spatial tiles:
   * grids of the same shape split rows and columns identically. */
  HCSC_CHECK(hcsc_grid_create(cli->comm, M, meta->rows, meta->cols, dims, &gz));
  hcsc_box box = hcsc_grid_box(g), zbox = hcsc_grid_box(gz);
  const int R = hcsc_gauss_radius(lowpass);
  HCSC_CHECK(hcsc_scene_load(in, NULL, g, halo > R ? halo : R, &x));
  if (min) {
    HCSC_CHECK(hcsc_grid_create(cli->comm, hcsc_scene_meta(min)->bands, meta->rows, meta->cols, dims, &gm));
    HCSC_CHECK(hcsc_scene_load(min, NULL, gm, 0, &mask));
    po.mask = &mask;
  }
  if (lowpass > 0) HCSC_CHECK(hcsc_gauss_split(g, &x, min ? &mask : NULL, lowpass, &xl));
  po.band_weights = weights;
  HCSC_CHECK(hcsc_error_agree(cli->comm, hcsc_tile_alloc(&z, &zbox, M, halo)));

  /* The log goes to a temporary name, renamed after a successful solve. */
  if (log_path && cli->rank == 0) {
    if (snprintf(tmplog, sizeof tmplog, "%s.hcsc-tmp-%ld", log_path, (long)getpid()) >= (int)sizeof tmplog)
      err = HCSC_ERR(HCSC_EINVAL, "%.200s...: path too long", log_path);
    else if (!(mon.log = fopen(tmplog, "w")))
      err = HCSC_ERR_ERRNO(log_path, "cannot write the log");
    else if (fprintf(mon.log, strcmp(solver_name, "admm") == 0 ? "iter,primal,dual,rho,seconds\n"
                                                                : "iter,objective,nnz_fraction,rel_change,seconds\n") < 0)
      mon.werr = 1;
  }
  HCSC_CHECK(hcsc_error_agree(cli->comm, err));
  mon.bar = hcsc_progress_create(cli->comm, "code", iters, "iters");
  mon.t0 = MPI_Wtime();
  po.monitor = monitor;
  po.monitor_ctx = &mon;
  if (recon) HCSC_CHECK(hcsc_error_agree(cli->comm, hcsc_tile_alloc(&xr, &box, box.nb, 0)));
  job.g = g;
  job.layers = d;
  job.nlayers = nd;
  job.structure = dinfo.structure;
  job.x = &x;
  job.z = &z;
  job.xr = recon ? &xr : NULL;
  job.po = &po;
  job.overlap = overlap;
  job.rel_tol = rel_tol;
  HCSC_CHECK(solve(&job));
  hcsc_progress_finish(&mon.bar);
  double tsolve = MPI_Wtime() - mon.t0;
  if (mon.log) {
    int bad = mon.werr || fflush(mon.log) != 0;
    bad = (fclose(mon.log) != 0) || bad;
    mon.log = NULL;
    if (bad) err = HCSC_ERR(HCSC_EIO, "%s: cannot write the log: %s", log_path, strerror(errno));
    else if (rename(tmplog, log_path) != 0) err = HCSC_ERR_ERRNO(log_path, "cannot rename the finished log to");
    else tmplog[0] = '\0';
  }
  HCSC_CHECK(hcsc_error_agree(cli->comm, err));

  HCSC_CHECK(hcsc_error_agree(cli->comm, code_meta(meta, M, &cmeta)));
  {
    hcsc_write_opts wo = {HCSC_FMT_NETCDF, HCSC_DT_FLOAT32, cli->force, NULL};
    HCSC_CHECK(hcsc_scene_write(out, &cmeta, gz, &z, &wo));
  }
  double rmse = NAN;
  if (recon) {
    double acc[2] = {0, 0};
    for (int64_t b = 0; b < box.nb; b++)
      for (int64_t r = 0; r < box.nr; r++)
        for (int64_t c = 0; c < box.nc; c++) {
          double a = HCSC_TILE_AT(&x, b, r, c), y = HCSC_TILE_AT(&xr, b, r, c);
          if (!po.mask || HCSC_TILE_AT(&mask, mask.nchan == 1 ? 0 : b, r, c) > 0)
            acc[0] += (a - y) * (a - y), acc[1] += 1;
        }
    HCSC_CHECK(hcsc_error_agree(cli->comm, hcsc_grid_allreduce(g, HCSC_SCOPE_ALL, acc, 2, MPI_DOUBLE, MPI_SUM)));
    rmse = acc[1] > 0 ? sqrt(acc[0] / acc[1]) : NAN;
    if (lowpass > 0)
      for (int64_t b = 0; b < box.nb; b++)
        for (int64_t r = 0; r < box.nr; r++)
          for (int64_t c = 0; c < box.nc; c++) HCSC_TILE_AT(&xr, b, r, c) += HCSC_TILE_AT(&xl, b, r, c);
    HCSC_CHECK(hcsc_meta_copy(&rmeta, meta));
    hcsc_write_opts wo = {HCSC_FMT_AUTO, dtype, cli->force, NULL};
    HCSC_CHECK(hcsc_scene_write(recon, &rmeta, g, &xr, &wo));
  }

  if (cli->rank == 0) {
    const double obj = job.objective;
    if (cli->json) {
      printf("{\"scene\": \"%s\", \"dict\": \"%s\", \"output\": \"%s\", \"solver\": \"%s\", \"lambda\": %.17g, "
             "\"iters\": %d, \"restarts\": %d, \"objective\": %.17g, "
             "\"sparsity\": %.17g, \"seconds\": %.6f",
             pos[0], dpath, out, solver_name, lambda, job.iters, job.restarts, obj, job.sparsity, tsolve);
      if (recon) printf(", \"recon\": \"%s\", \"recon_rmse\": %.17g", recon, rmse);
      printf("}\n");
    } else if (cli->level >= HCSC_LOG_INFO) {
      printf("code: %s with %s: %d layer%s/set%s, %d code channels, %s, lambda %g\n", pos[0], dpath, nd,
             nd == 1 ? "" : "s", nd == 1 ? "" : "s", M, solver_name, lambda);
      printf("code: %d iterations (%d restarts), objective %.8g, nonzero fraction %.4f, %.3f s -> %s\n",
             job.iters, job.restarts, obj, job.sparsity, tsolve, out);
      if (recon) printf("code: reconstruction RMSE %.6g -> %s\n", rmse, recon);
    }
    fflush(stdout);
  }
cleanup:
  if (mon.log) fclose(mon.log);
  if (tmplog[0]) unlink(tmplog);
  hcsc_progress_finish(&mon.bar);
  hcsc_dict_info_free(&dinfo);
  hcsc_meta_free(&cmeta);
  hcsc_meta_free(&rmeta);
  free(weights);
  hcsc_tile_free(&xr);
  hcsc_tile_free(&xl);
  hcsc_tile_free(&mask);
  hcsc_tile_free(&z);
  hcsc_tile_free(&x);
  hcsc_dict_free_layers(&d, nd);
  hcsc_grid_destroy(&gm);
  hcsc_grid_destroy(&gz);
  hcsc_grid_destroy(&g);
  hcsc_scene_close(&min);
  hcsc_scene_close(&in);
  free(pos);
  return err;
}
