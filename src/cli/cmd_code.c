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

static const hcsc_cmd_desc info = {
    "code", "SCENE --dict D.nc -o CODES.nc [--recon OUT] [--solver S] [--lambda L] [options]",
    "sparse codes of a scene for a dictionary (ISTA/FISTA), reconstruction",
    "Solves  min_z 1/2 || W o (sum_m d_m * z_m - x) ||^2 + lambda sum_m ||z_m||_1  on the\n"
    "decomposed scene (halos of the atoms' width are exchanged every iteration), with\n"
    "the step 1/L from a power iteration, so the codes are the same, up to float rounding,\n"
    "for any number of ranks and grid.  The dictionary must have one layer with as many\n"
    "channels as the scene has bands.\n"
    "CODES.nc: an M-band NetCDF scene (bands atom_0 .. atom_{M-1}) on the scene's grid and\n"
    "georeferencing.  --recon OUT: D z with the scene's metadata (format by extension).\n"
    "--log CSV: one line per iteration, iter,objective,nnz_fraction,rel_change,seconds\n"
    "(rank 0 writes it).  --mask MASK: a scene of 1 band or the scene's band count, same\n"
    "rows x columns, 0 = missing value (inpainting).  --band-weights FILE: one weight >= 0\n"
    "per band (whitespace separated) for the data term.",
    1, 1};

/* A solver of the command: name and function.  Multi-layer and ADMM
 * solvers become one entry each.  Collective on the grid's comm. */
typedef int (*code_solver_fn)(const hcsc_grid *g, const hcsc_dict *layers, int nlayers,
                              const hcsc_tile *x, hcsc_tile *z, hcsc_pursuit_opts *o,
                              hcsc_pursuit_stats *st);

static int single_layer(const hcsc_dict *layers, int nlayers, const char *name)
{
  if (nlayers != 1)
    return HCSC_ERR(HCSC_ENOTSUP, "code: solver %s takes a one-layer dictionary, this one has %d layers",
                    name, nlayers);
  return 0;
}

static int solve_ista(const hcsc_grid *g, const hcsc_dict *layers, int nlayers, const hcsc_tile *x,
                      hcsc_tile *z, hcsc_pursuit_opts *o, hcsc_pursuit_stats *st)
{
  int err = hcsc_error_agree(hcsc_grid_comm(g), single_layer(layers, nlayers, "ista"));
  if (err) return err;
  o->solver = HCSC_PURSUIT_ISTA;
  return hcsc_pursuit_solve(g, &layers[0], x, z, o, st);
}

static int solve_fista(const hcsc_grid *g, const hcsc_dict *layers, int nlayers, const hcsc_tile *x,
                       hcsc_tile *z, hcsc_pursuit_opts *o, hcsc_pursuit_stats *st)
{
  int err = hcsc_error_agree(hcsc_grid_comm(g), single_layer(layers, nlayers, "fista"));
  if (err) return err;
  o->solver = HCSC_PURSUIT_FISTA;
  return hcsc_pursuit_solve(g, &layers[0], x, z, o, st);
}

static const struct {
  const char *name;
  code_solver_fn solve;
} solvers[] = {
    {"ista", solve_ista},
    {"fista", solve_fista},
};
#define NSOLVERS ((int)(sizeof solvers / sizeof solvers[0]))

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
  const char *out = NULL, *dpath = NULL, *recon = NULL, *solver_name = "fista", *mask_path = NULL,
             *weights_path = NULL, *log_path = NULL, *backend_name = "auto", *type = NULL;
  double lambda = 0.1, tol = 1e-4;
  int iters = 100;
  char **pos = NULL;
  int npos = 0;
  char tmplog[4200] = "";
  hcsc_scene *in = NULL, *min = NULL;
  hcsc_grid *g = NULL, *gz = NULL, *gm = NULL;
  hcsc_tile x = {0}, z = {0}, mask = {0}, xr = {0};
  hcsc_dict *d = NULL;
  hcsc_halo *hz = NULL;
  hcsc_conv *op = NULL;
  double *weights = NULL;
  hcsc_pursuit_stats st = {0};
  monitor_ctx mon = {NULL, NULL, 0, 0};
  hcsc_meta cmeta, rmeta;
  hcsc_meta_init(&cmeta);
  hcsc_meta_init(&rmeta);
  const hcsc_opt opts[] = {
      {"dict", 'd', HCSC_OPT_STRING, &dpath, "D.nc", "dictionary (required)"},
      {"output", 'o', HCSC_OPT_STRING, &out, "CODES.nc", "codes to write, NetCDF (required)"},
      {"recon", 0, HCSC_OPT_STRING, &recon, "OUT", "write the reconstruction D z as a scene"},
      {"solver", 0, HCSC_OPT_STRING, &solver_name, "S", "ista or fista (default)"},
      {"lambda", 0, HCSC_OPT_DOUBLE, &lambda, "L", "sparsity weight, > 0 (default 0.1)"},
      {"iters", 0, HCSC_OPT_INT, &iters, "N", "maximum iterations (default 100)"},
      {"tol", 0, HCSC_OPT_DOUBLE, &tol, "T", "stop at relative change <= T (default 1e-4; 0: never)"},
      {"nonneg", 0, HCSC_OPT_FLAG, &nonneg, NULL, "non-negative codes"},
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
  hcsc_pursuit_opts po;
  hcsc_dtype dtype = HCSC_DT_NONE;
  hcsc_pursuit_opts_default(&po);
  if (!out || !dpath) HCSC_FAIL(HCSC_EINVAL, "code: --dict D.nc and -o CODES.nc are required");
  for (int i = 0; i < NSOLVERS; i++)
    if (strcmp(solver_name, solvers[i].name) == 0) solve = solvers[i].solve;
  if (!solve) HCSC_FAIL(HCSC_EINVAL, "code: unknown --solver '%s' (ista or fista)", solver_name);
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
  HCSC_CHECK(hcsc_dict_load(cli->comm, dpath, &d, &nd));
  /* The dictionary is replicated: every rank reaches the same verdict. */
  if (d[0].nchan != meta->bands)
    HCSC_FAIL(HCSC_ESIZE, "code: dictionary %s has %d channels but scene %s has %lld bands", dpath,
              d[0].nchan, pos[0], (long long)meta->bands);
  const int M = d[0].natoms, k = d[0].ksize, halo = k - 1 - (k - 1) / 2;
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
  HCSC_CHECK(hcsc_scene_load(in, NULL, g, halo, &x));
  if (min) {
    HCSC_CHECK(hcsc_grid_create(cli->comm, hcsc_scene_meta(min)->bands, meta->rows, meta->cols, dims, &gm));
    HCSC_CHECK(hcsc_scene_load(min, NULL, gm, 0, &mask));
    po.mask = &mask;
  }
  po.band_weights = weights;
  HCSC_CHECK(hcsc_error_agree(cli->comm, hcsc_tile_alloc(&z, &zbox, M, halo)));

  /* The log goes to a temporary name, renamed after a successful solve. */
  if (log_path && cli->rank == 0) {
    if (snprintf(tmplog, sizeof tmplog, "%s.hcsc-tmp-%ld", log_path, (long)getpid()) >= (int)sizeof tmplog)
      err = HCSC_ERR(HCSC_EINVAL, "%.200s...: path too long", log_path);
    else if (!(mon.log = fopen(tmplog, "w")))
      err = HCSC_ERR_ERRNO(log_path, "cannot write the log");
    else if (fprintf(mon.log, "iter,objective,nnz_fraction,rel_change,seconds\n") < 0)
      mon.werr = 1;
  }
  HCSC_CHECK(hcsc_error_agree(cli->comm, err));
  mon.bar = hcsc_progress_create(cli->comm, "code", iters, "iters");
  mon.t0 = MPI_Wtime();
  po.monitor = monitor;
  po.monitor_ctx = &mon;
  HCSC_CHECK(solve(g, d, nd, &x, &z, &po, &st));
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
    HCSC_CHECK(hcsc_error_agree(cli->comm, hcsc_tile_alloc(&xr, &box, box.nb, 0)));
    HCSC_CHECK(hcsc_error_agree(cli->comm, hcsc_conv_create(&d[0], &box, meta->rows, meta->cols, po.backend, &op)));
    HCSC_CHECK(hcsc_halo_create(g, halo, M, &hz));
    HCSC_CHECK(hcsc_halo_exchange(hz, &z));
    hcsc_timer_start(HCSC_PHASE_COMPUTE);
    err = hcsc_conv_synth(op, &z, &xr);
    double acc[2] = {0, 0};
    for (int64_t b = 0; b < box.nb && !err; b++)
      for (int64_t r = 0; r < box.nr; r++)
        for (int64_t c = 0; c < box.nc; c++) {
          double a = HCSC_TILE_AT(&x, b, r, c), y = HCSC_TILE_AT(&xr, b, r, c);
          acc[0] += (a - y) * (a - y), acc[1] += 1;
        }
    hcsc_timer_stop(HCSC_PHASE_COMPUTE);
    HCSC_CHECK(hcsc_error_agree(cli->comm, err));
    HCSC_CHECK(hcsc_error_agree(cli->comm, hcsc_grid_allreduce(g, HCSC_SCOPE_ALL, acc, 2, MPI_DOUBLE, MPI_SUM)));
    rmse = acc[1] > 0 ? sqrt(acc[0] / acc[1]) : NAN;
    HCSC_CHECK(hcsc_meta_copy(&rmeta, meta));
    hcsc_write_opts wo = {HCSC_FMT_AUTO, dtype, cli->force, NULL};
    HCSC_CHECK(hcsc_scene_write(recon, &rmeta, g, &xr, &wo));
  }

  if (cli->rank == 0) {
    double obj = st.objective ? st.objective[st.iters] : NAN;
    if (cli->json) {
      printf("{\"scene\": \"%s\", \"dict\": \"%s\", \"output\": \"%s\", \"solver\": \"%s\", \"lambda\": %.17g, "
             "\"iters\": %d, \"restarts\": %d, \"lipschitz\": %.17g, \"objective\": %.17g, "
             "\"sparsity\": %.17g, \"seconds\": %.6f",
             pos[0], dpath, out, solver_name, lambda, st.iters, st.restarts, st.lipschitz, obj,
             st.sparsity, tsolve);
      if (recon) printf(", \"recon\": \"%s\", \"recon_rmse\": %.17g", recon, rmse);
      printf("}\n");
    } else if (cli->level >= HCSC_LOG_INFO) {
      printf("code: %s with %s: %d atoms of %d x %d, %s, lambda %g\n", pos[0], dpath, M, k, k, solver_name,
             lambda);
      printf("code: %d iterations (%d restarts), objective %.8g, nonzero fraction %.4f, %.3f s -> %s\n",
             st.iters, st.restarts, obj, st.sparsity, tsolve, out);
      if (recon) printf("code: reconstruction RMSE %.6g -> %s\n", rmse, recon);
    }
    fflush(stdout);
  }
cleanup:
  if (mon.log) fclose(mon.log);
  if (tmplog[0]) unlink(tmplog);
  hcsc_progress_finish(&mon.bar);
  hcsc_pursuit_stats_free(&st);
  hcsc_conv_destroy(&op);
  hcsc_halo_destroy(&hz);
  hcsc_meta_free(&cmeta);
  hcsc_meta_free(&rmeta);
  free(weights);
  hcsc_tile_free(&xr);
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
