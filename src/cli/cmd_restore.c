/* hypercsc denoise / inpaint: whole-scene restoration on the decomposed
 * scene with an unrolled network (default), a classical CBPDN solver
 * (--solver fista|admm --dict D.nc) or the PCA low-rank baseline (--method
 * pca), all through the same command.
 *
 * Distributed: the scene is read with a grid over the world (each rank
 * its tile), the method runs on that grid and the result is written in
 * parallel by hcsc_scene_write: nothing is gathered but the small 3-band
 * quicklook.  Values that pass through untouched (copied from the input):
 * bad bands (bbl = 0), nodata pixels (any band NaN after reading, i.e.
 * equal to nodata) when denoising, and the valid values (W = 1) when
 * inpainting.  Those values are also left out of the data term (W = 0) so
 * that they do not pollute their neighbours. */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/restore_common.h"

#ifndef HCSC_MODELDIR
#define HCSC_MODELDIR ""
#endif
#ifndef HCSC_SRCMODELDIR
#define HCSC_SRCMODELDIR ""
#endif

static const char *const details =
    "Methods: an unrolled network (--model M.nc; without it the first model whose band count\n"
    "equals the scene's in $HCSC_MODELS, then " HCSC_MODELDIR ", then " HCSC_SRCMODELDIR ",\n"
    "names starting with \"ssc\" first, then in name order), a classical CBPDN solver\n"
    "(--solver fista|admm --dict D.nc [--lambda L] [--iters N] [--lowpass SIGMA]) or the PCA\n"
    "low-rank baseline (--method pca [--rank r]; denoise only).  A model must have the scene's band\n"
    "count (no spectral resampling).  Networks need G = 1 (--grid 1xPxQ): every layer\n"
    "mixes all the bands of a pixel.  The output equals the 1-rank output to float\n"
    "rounding on every decomposition (networks, fista, pca; admm runs per tile with an\n"
    "overlap, so its output depends slightly on the tiles).\n"
    "Pass-through (copied from the input, and left out of the data term): bad bands\n"
    "(bbl = 0), nodata pixels (denoise), valid values (inpaint).  Noise: estimated per band\n"
    "by the network, or --sigma S (data units, every band).\n"
    "Inpaint masks (W = 0: to fill): --mask MASK (same rows x cols, 1 or B bands, non-zero =\n"
    "valid), --dead-lines \"b1-b2:c1,c2,..[;...]\" (1-based bands, 0-based columns),\n"
    "--missing-bands \"b1,b2-b3\" (1-based), and nodata values (always).\n"
    "--quicklook PNG: before | after in false colour (bands nearest --rgb-nm, default\n"
    "640,550,460; else bands at 3/4, 1/2, 1/4), each channel stretched 2-98 % over the\n"
    "input, subsampled to at most 2048 pixels a side.";

static const hcsc_cmd_desc denoise_info = {
    "denoise", "IN -o OUT [--model M.nc | --solver S --dict D.nc | --method pca] [options]",
    "denoise a whole scene (unrolled network, CBPDN or PCA), distributed", NULL, 1, 1};
static const hcsc_cmd_desc inpaint_info = {
    "inpaint",
    "IN -o OUT [--mask MASK | --dead-lines SPEC | --missing-bands LIST] [--model M.nc | ...]",
    "fill missing values of a whole scene (masked unrolled network or masked CBPDN)", NULL, 1, 1};

typedef struct {
  hcsc_cli *cli;
  int inpaint;
  const char *in, *out, *model, *dict, *solver, *method, *mask, *dead, *missing, *quicklook, *rgb,
      *type, *compress;
  double sigma, lambda, lowpass;
  int iters;
  int64_t rank;
  int64_t codes; /* channels of the network's first code tensor */
  char model_path[4096];
} restore_job;

/* ---- default model ---------------------------------------------------- */

static int name_cmp(const void *a, const void *b)
{
  const char *x = *(const char *const *)a, *y = *(const char *const *)b;
  const int sx = strncmp(x, "ssc", 3) == 0, sy = strncmp(y, "ssc", 3) == 0;
  if (sx != sy) return sy - sx;
  return strcmp(x, y);
}

/* Rank 0: the first model in dir for bands (path in out), 1 if found. */
static int scan_dir(const char *dir, int64_t bands, char *out, size_t cap)
{
  DIR *d = dir && *dir ? opendir(dir) : NULL;
  struct dirent *de;
  char **names = NULL;
  int n = 0, cap_n = 0, found = 0;
  if (!d) return 0;
  while ((de = readdir(d))) {
    const size_t L = strlen(de->d_name);
    if (L < 4 || strcmp(de->d_name + L - 3, ".nc") != 0) continue;
    if (n == cap_n) {
      char **q = realloc(names, sizeof(*q) * (size_t)(cap_n = cap_n ? 2 * cap_n : 16));
      if (!q) break;
      names = q;
    }
    if (!(names[n] = strdup(de->d_name))) break;
    n++;
  }
  closedir(d);
  if (n) qsort(names, (size_t)n, sizeof(*names), name_cmp);
  for (int i = 0; i < n && !found; i++) {
    hcsc_nn *net = NULL;
    snprintf(out, cap, "%s/%s", dir, names[i]);
    if (hcsc_nn_load(MPI_COMM_SELF, out, &net, NULL) == 0 && net->cfg.bands == bands) found = 1;
    hcsc_nn_destroy(&net);
  }
  for (int i = 0; i < n; i++) free(names[i]);
  free(names);
  return found;
}

/* The default model for a scene of bands bands into j->model_path.
 * Collective on comm. */
static int find_model(restore_job *j, MPI_Comm comm, int64_t bands)
{
  int err = 0, found = 0;
  const char *env = getenv("HCSC_MODELS");
  const char *dirs[3] = {env ? env : "", HCSC_MODELDIR, HCSC_SRCMODELDIR};
  if (j->cli->rank == 0)
    for (int i = 0; i < 3 && !found; i++)
      found = scan_dir(dirs[i], bands, j->model_path, sizeof j->model_path);
  HCSC_MPI(MPI_Bcast(&found, 1, MPI_INT, 0, comm));
  if (!found)
    HCSC_FAIL(HCSC_ENOENT, "%s: no model for %lld bands in $HCSC_MODELS (%s), %s or %s (give --model)",
              j->cli->cmd, (long long)bands, env ? env : "unset", HCSC_MODELDIR, HCSC_SRCMODELDIR);
  HCSC_MPI(MPI_Bcast(j->model_path, (int)sizeof j->model_path, MPI_CHAR, 0, comm));
cleanup:
  return hcsc_error_agree(comm, err);
}

/* ---- masks ------------------------------------------------------------ */

/* "b1-b2:c1,c2,..[;...]" into W (B channels, global bands from box.b0).
 * Not collective (every rank parses the same text). */
static int apply_dead_lines(const char *spec, const hcsc_meta *m, hcsc_tile *W)
{
  int err = 0;
  char *copy = strdup(spec), *save = NULL;
  int64_t *bands = NULL, nb = 0;
  if (!copy) HCSC_FAIL(HCSC_ENOMEM, "inpaint: out of memory");
  for (char *grp = strtok_r(copy, ";", &save); grp; grp = strtok_r(NULL, ";", &save)) {
    char *colon = strchr(grp, ':'), *p, *end;
    if (!colon)
      HCSC_FAIL(HCSC_EINVAL, "inpaint: --dead-lines '%s': expected BANDS:COLUMNS, e.g. 5-9:10,31", spec);
    *colon = '\0';
    free(bands);
    bands = NULL;
    HCSC_CHECK(hcsc_cli_parse_bands(grp, &bands, &nb));
    for (p = colon + 1; *p;) {
      long long c = strtoll(p, &end, 10);
      if (end == p || (*end && *end != ',') || c < 0 || c >= m->cols)
        HCSC_FAIL(HCSC_EINVAL, "inpaint: --dead-lines '%s': columns must be 0-based integers below %lld",
                  spec, (long long)m->cols);
      for (int64_t i = 0; i < nb; i++) {
        if (bands[i] < 0 || bands[i] >= m->bands)
          HCSC_FAIL(HCSC_EINVAL, "inpaint: --dead-lines '%s': band %lld outside 1..%lld", spec,
                    (long long)bands[i] + 1, (long long)m->bands);
        const int64_t b = bands[i] - W->box.b0, lc = c - W->box.c0;
        if (b < 0 || b >= W->nchan || lc < 0 || lc >= W->box.nc) continue;
        for (int64_t r = 0; r < W->box.nr; r++) HCSC_TILE_AT(W, b, r, lc) = 0.0f;
      }
      p = *end ? end + 1 : end;
    }
  }
cleanup:
  free(bands);
  free(copy);
  return err;
}

/* W (box.nb channels): 0 where the data term must ignore a value; freed
 * (W->data NULL: no mask) when it holds no zero anywhere.  Also
 * reads --mask.  *nodata (allocated here): per pixel of the box, 1 when
 * any band of the scene is NaN (combined over the spectral comm: with
 * G > 1 a rank holds only some bands).  *holes: values to fill (inpaint),
 * summed over comm.  Collective on the grid's comm. */
static int build_mask(restore_job *j, hcsc_scene *in, const hcsc_grid *g, const hcsc_tile *x,
                      hcsc_tile *W, unsigned char **nodata, int64_t *holes)
{
  int err = 0, dims[3];
  const hcsc_meta *m = hcsc_scene_meta(in);
  const hcsc_box box = hcsc_grid_box(g);
  hcsc_scene *ms = NULL;
  hcsc_grid *gm = NULL;
  hcsc_tile mt = {0};
  int64_t *mb = NULL, nmb = 0, cnt[2] = {0, 0};
  MPI_Comm comm = hcsc_grid_comm(g);
  hcsc_grid_dims(g, dims);
  if (!(*nodata = calloc((size_t)(box.nr * box.nc + 1), 1)))
    err = HCSC_ERR(HCSC_ENOMEM, "%s: out of memory", j->cli->cmd);
  HCSC_CHECK(hcsc_error_agree(comm, err));
  /* band by band: a band's rows are contiguous in the tile */
  for (int64_t b = 0; b < box.nb; b++)
    for (int64_t r = 0; r < box.nr; r++) {
      const float *row = &HCSC_TILE_AT(x, b, r, 0);
      unsigned char *nd = *nodata + r * box.nc;
      for (int64_t c = 0; c < box.nc; c++) nd[c] |= isnan(row[c]);
    }
  HCSC_CHECK(hcsc_grid_allreduce(g, HCSC_SCOPE_SPECTRAL, *nodata, (int)(box.nr * box.nc), MPI_UNSIGNED_CHAR,
                                 MPI_MAX));
  {
    /* W = 1 everywhere (the usual denoising case: no bad band, no mask
     * source, no nodata): no mask, no memory, no pass over the scene. */
    int64_t any = j->mask || j->missing || j->dead;
    for (int64_t b = 0; !any && m->bbl && b < m->bands; b++) any = !m->bbl[b];
    for (int64_t i = 0; !any && i < box.nr * box.nc; i++) any = (*nodata)[i];
    HCSC_CHECK(hcsc_grid_allreduce(g, HCSC_SCOPE_ALL, &any, 1, MPI_INT64_T, MPI_MAX));
    if (!any) {
      *holes = 0;
      goto cleanup;
    }
  }
  HCSC_CHECK(hcsc_error_agree(comm, hcsc_tile_alloc(W, &box, box.nb, 0)));
  if (j->mask) {
    HCSC_CHECK(hcsc_scene_open(comm, j->mask, &ms));
    const hcsc_meta *mm = hcsc_scene_meta(ms);
    if (mm->rows != m->rows || mm->cols != m->cols || (mm->bands != 1 && mm->bands != m->bands))
      HCSC_FAIL(HCSC_ESIZE, "inpaint: mask %s is %lldx%lldx%lld but scene %s is %lldx%lldx%lld (rows x cols "
                "x bands; the mask needs 1 or %lld bands)", j->mask, (long long)mm->rows,
                (long long)mm->cols, (long long)mm->bands, j->in, (long long)m->rows, (long long)m->cols,
                (long long)m->bands, (long long)m->bands);
    HCSC_CHECK(hcsc_grid_create(comm, mm->bands, m->rows, m->cols, dims, &gm));
    HCSC_CHECK(hcsc_scene_load(ms, NULL, gm, 0, &mt));
  }
  if (j->missing) HCSC_CHECK(hcsc_cli_parse_bands(j->missing, &mb, &nmb));
  for (int64_t i = 0; i < nmb; i++)
    if (mb[i] < 0 || mb[i] >= m->bands)
      HCSC_FAIL(HCSC_EINVAL, "inpaint: --missing-bands '%s': band %lld outside 1..%lld", j->missing,
                (long long)mb[i] + 1, (long long)m->bands);
  hcsc_timer_start(HCSC_PHASE_COMPUTE);
  for (int64_t b = 0; b < box.nb; b++)
    for (int64_t r = 0; r < box.nr; r++)
      for (int64_t c = 0; c < box.nc; c++) {
        const int nd = (*nodata)[r * box.nc + c];
        float w = 1.0f;
        if (m->bbl && !m->bbl[box.b0 + b]) w = 0.0f;
        else if (j->inpaint ? isnan(HCSC_TILE_AT(x, b, r, c)) : nd) w = 0.0f;
        if (mt.data) {
          const float v = HCSC_TILE_AT(&mt, mt.nchan == 1 ? 0 : b, r, c);
          if (v == 0.0f || isnan(v)) w = 0.0f;
        }
        HCSC_TILE_AT(W, b, r, c) = w;
      }
  for (int64_t i = 0; i < nmb; i++)
    if (mb[i] >= box.b0 && mb[i] < box.b0 + box.nb)
      for (int64_t r = 0; r < box.nr; r++)
        for (int64_t c = 0; c < box.nc; c++) HCSC_TILE_AT(W, mb[i] - box.b0, r, c) = 0.0f;
  hcsc_timer_stop(HCSC_PHASE_COMPUTE);
  if (j->dead) err = apply_dead_lines(j->dead, m, W);
  for (int64_t b = 0; !err && b < box.nb; b++)
    for (int64_t r = 0; r < box.nr; r++)
      for (int64_t c = 0; c < box.nc; c++)
        if (HCSC_TILE_AT(W, b, r, c) == 0.0f) {
          cnt[0] += !(m->bbl && !m->bbl[box.b0 + b]);
          cnt[1]++;
        }
  HCSC_CHECK(hcsc_error_agree(comm, err));
  HCSC_CHECK(hcsc_grid_allreduce(g, HCSC_SCOPE_ALL, cnt, 2, MPI_INT64_T, MPI_SUM));
  *holes = cnt[0];
  /* W = 1 everywhere (the usual denoising case): no mask, no memory. */
  if (cnt[1] == 0) hcsc_tile_free(W);
cleanup:
  free(mb);
  hcsc_tile_free(&mt);
  hcsc_grid_destroy(&gm);
  hcsc_scene_close(&ms);
  if (err) {
    hcsc_tile_free(W);
    free(*nodata);
    *nodata = NULL;
  }
  return err;
}

/* ---- methods ---------------------------------------------------------- */

static int run_network(restore_job *j, const hcsc_grid *g, const hcsc_tile *x, const hcsc_tile *W,
                       hcsc_tile *y, hcsc_nn_figures *fig, hcsc_nn_timings *tm)
{
  int err = 0, dims[3];
  hcsc_nn *net = NULL;
  hcsc_nn_exec *e = NULL;
  hcsc_nn_noise nz = {0};
  int64_t bands;
  MPI_Comm comm = hcsc_grid_comm(g);
  hcsc_grid_scene(g, &bands, NULL, NULL);
  hcsc_grid_dims(g, dims);
  if (dims[0] != 1)
    HCSC_FAIL(HCSC_EINVAL, "%s: networks need G = 1 (--grid 1xPxQ), not %d spectral groups: every layer "
              "mixes all the bands of a pixel", j->cli->cmd, dims[0]);
  HCSC_CHECK(hcsc_nn_load(comm, j->model_path, &net, NULL));
  if (net->cfg.bands != bands)
    HCSC_FAIL(HCSC_ESIZE, "%s: model %s is for %d bands but scene %s has %lld (no spectral resampling)",
              j->cli->cmd, j->model_path, net->cfg.bands, j->in, (long long)bands);
  j->codes = net->cfg.natoms[0];
  HCSC_CHECK(hcsc_nn_exec_create(net, g, 0, &e));
  HCSC_CHECK(hcsc_error_agree(comm, hcsc_nn_exec_set_mask(e, W->data ? W : NULL)));
  {
    char label[64];
    snprintf(label, sizeof label, "%s: network", j->cli->cmd);
    HCSC_CHECK(hcsc_error_agree(comm, hcsc_nn_exec_set_progress(e, label)));
  }
  if (j->sigma > 0) {
    /* nn.h's formulas with sigma_b = S for every band: wt_b = 1, s = S. */
    nz.bands = (int)bands;
    nz.sigma = calloc((size_t)bands, sizeof(double));
    nz.wt = calloc((size_t)bands, sizeof(double));
    err = nz.sigma && nz.wt ? 0 : HCSC_ERR(HCSC_ENOMEM, "%s: out of memory", j->cli->cmd);
    HCSC_CHECK(hcsc_error_agree(comm, err));
    for (int64_t b = 0; b < bands; b++) nz.sigma[b] = j->sigma, nz.wt[b] = 1.0;
    nz.level = net->cfg.adapt ? j->sigma : 1.0;
  }
  HCSC_CHECK(hcsc_nn_apply(e, g, x, W->data ? W : NULL, j->sigma > 0 ? &nz : NULL, y));
  hcsc_nn_exec_figures(e, fig);
  hcsc_nn_exec_timings(e, tm);
cleanup:
  hcsc_nn_noise_free(&nz);
  hcsc_nn_exec_destroy(&e);
  hcsc_nn_destroy(&net);
  return err;
}

static int run_solver(restore_job *j, const hcsc_grid *g, const hcsc_tile *x, const hcsc_tile *W,
                      hcsc_tile *y)
{
  int err = 0, nd = 0;
  hcsc_dict *d = NULL;
  hcsc_dict_info di = {0};
  hcsc_tile xh = {0}, z = {0}, xl = {0};
  hcsc_conv *op = NULL;
  hcsc_halo *hz = NULL;
  int64_t bands, rows, cols;
  const hcsc_box box = hcsc_grid_box(g);
  MPI_Comm comm = hcsc_grid_comm(g);
  hcsc_grid_scene(g, &bands, &rows, &cols);
  int dims[3];
  hcsc_grid_dims(g, dims);
  if (!j->dict) HCSC_FAIL(HCSC_EINVAL, "%s: --solver %s needs --dict D.nc", j->cli->cmd, j->solver);
  if (dims[0] != 1)
    HCSC_FAIL(HCSC_EINVAL, "%s: --solver needs G = 1 (--grid 1xPxQ), not %d spectral groups", j->cli->cmd,
              dims[0]);
  HCSC_CHECK(hcsc_dict_load_info(comm, j->dict, &d, &nd, &di));
  if (nd != 1 || d[0].nchan != bands || d[0].scale != 1)
    HCSC_FAIL(HCSC_ESIZE, "%s: dictionary %s must be one layer of %lld channels (scene %s); it has %d "
              "layer%s of %d channels", j->cli->cmd, j->dict, (long long)bands, j->in, nd, nd == 1 ? "" : "s",
              d[0].nchan);
  const int halo = d[0].ksize - 1 - (d[0].ksize - 1) / 2, R = hcsc_gauss_radius(j->lowpass);
  err = hcsc_tile_alloc(&xh, &box, box.nb, halo > R ? halo : R);
  if (!err) err = hcsc_tile_alloc(&z, &box, d[0].natoms, halo);
  HCSC_CHECK(hcsc_error_agree(comm, err));
  for (int64_t b = 0; b < box.nb; b++)
    for (int64_t r = 0; r < box.nr; r++)
      for (int64_t c = 0; c < box.nc; c++) HCSC_TILE_AT(&xh, b, r, c) = HCSC_TILE_AT(x, b, r, c);
  if (j->lowpass > 0) HCSC_CHECK(hcsc_gauss_split(g, &xh, W->data ? W : NULL, j->lowpass, &xl));
  if (strcmp(j->solver, "fista") == 0) {
    hcsc_pursuit_opts po;
    hcsc_pursuit_opts_default(&po);
    po.lambda = j->lambda;
    po.iters = j->iters;
    po.mask = W->data ? W : NULL;
    HCSC_CHECK(hcsc_pursuit_solve(g, &d[0], &xh, &z, &po, NULL));
  } else {
    hcsc_admm_opts ao;
    hcsc_admm_opts_default(&ao);
    ao.lambda = j->lambda;
    ao.iters = j->iters;
    ao.overlap = 4 * d[0].ksize;
    ao.mask = W->data ? W : NULL;
    HCSC_CHECK(hcsc_admm_solve(g, &d[0], &xh, &z, &ao, NULL));
  }
  err = hcsc_conv_create(&d[0], &box, rows, cols, HCSC_CONV_AUTO, &op);
  HCSC_CHECK(hcsc_error_agree(comm, err));
  HCSC_CHECK(hcsc_halo_create(g, hcsc_conv_halo(op), z.nchan, &hz));
  HCSC_CHECK(hcsc_halo_exchange(hz, &z));
  hcsc_timer_start(HCSC_PHASE_COMPUTE);
  err = hcsc_conv_synth(op, &z, y);
  if (!err && xl.data)
    for (int64_t b = 0; b < box.nb; b++)
      for (int64_t r = 0; r < box.nr; r++)
        for (int64_t c = 0; c < box.nc; c++) HCSC_TILE_AT(y, b, r, c) += HCSC_TILE_AT(&xl, b, r, c);
  hcsc_timer_stop(HCSC_PHASE_COMPUTE);
  HCSC_CHECK(hcsc_error_agree(comm, err));
cleanup:
  hcsc_tile_free(&xl);
  hcsc_halo_destroy(&hz);
  hcsc_conv_destroy(&op);
  hcsc_tile_free(&xh);
  hcsc_tile_free(&z);
  hcsc_dict_info_free(&di);
  hcsc_dict_free_layers(&d, nd);
  return err;
}

static int run_pca(restore_job *j, const hcsc_grid *g, const hcsc_tile *x, hcsc_tile *y)
{
  int err = 0;
  hcsc_pca p = {0};
  hcsc_stats st = {0};
  hcsc_tile z = {0}, xn = {0};
  const hcsc_box box = hcsc_grid_box(g);
  int64_t bands, cols;
  hcsc_grid_scene(g, &bands, NULL, &cols);
  HCSC_CHECK(hcsc_pca_compute(g, x, HCSC_EIG_AUTO, &p));
  if (j->rank > 0) {
    HCSC_CHECK(hcsc_error_agree(hcsc_grid_comm(g), hcsc_pca_choose_rank(&p, HCSC_PCA_RANK, (double)j->rank, NULL)));
  } else {
    /* Noise-aware rank: a halo of one column makes the estimate the same
     * on every decomposition (stats.h). */
    hcsc_halo *h = NULL;
    HCSC_CHECK(hcsc_error_agree(hcsc_grid_comm(g), hcsc_tile_alloc(&xn, &box, box.nb, 1)));
    for (int64_t b = 0; b < box.nb; b++)
      for (int64_t r = 0; r < box.nr; r++)
        for (int64_t c = 0; c < box.nc; c++) HCSC_TILE_AT(&xn, b, r, c) = HCSC_TILE_AT(x, b, r, c);
    HCSC_CHECK(hcsc_halo_create(g, 1, box.nb, &h));
    err = hcsc_halo_exchange(h, &xn);
    hcsc_halo_destroy(&h);
    HCSC_CHECK(err);
    HCSC_CHECK(hcsc_stats_compute(hcsc_grid_comm(g), &xn, bands, cols, 1, &st));
    HCSC_CHECK(hcsc_error_agree(hcsc_grid_comm(g), hcsc_pca_choose_rank(&p, HCSC_PCA_NOISE, 0, st.noise)));
  }
  HCSC_CHECK(hcsc_error_agree(hcsc_grid_comm(g), hcsc_tile_alloc(&z, &box, p.rank, 0)));
  HCSC_CHECK(hcsc_pca_project(g, &p, p.rank, x, &z));
  HCSC_CHECK(hcsc_error_agree(hcsc_grid_comm(g), hcsc_pca_reconstruct(g, &p, p.rank, &z, y)));
cleanup:
  hcsc_stats_free(&st);
  hcsc_pca_free(&p);
  hcsc_tile_free(&z);
  hcsc_tile_free(&xn);
  return err;
}

/* Copy the pass-through values from x into y (see the file comment). */
static void pass_through(const restore_job *j, const hcsc_meta *m, const hcsc_tile *x, const hcsc_tile *W,
                         const unsigned char *nd, hcsc_tile *y)
{
  const hcsc_box box = x->box;
  hcsc_timer_start(HCSC_PHASE_COMPUTE);
  for (int64_t b = 0; b < box.nb; b++) {
    const int bad = m->bbl && !m->bbl[box.b0 + b];
    for (int64_t r = 0; r < box.nr; r++)
      for (int64_t c = 0; c < box.nc; c++) {
        int keep = bad;
        if (!keep) keep = j->inpaint ? !W->data || HCSC_TILE_AT(W, b, r, c) != 0.0f : nd[r * box.nc + c];
        if (keep) HCSC_TILE_AT(y, b, r, c) = HCSC_TILE_AT(x, b, r, c);
      }
  }
  hcsc_timer_stop(HCSC_PHASE_COMPUTE);
}


/* ---- the command -------------------------------------------------------- */

static int restore(hcsc_cli *cli, int argc, char **argv, int inpaint)
{
  int err = 0, npos = 0;
  char **pos = NULL;
  restore_job J;
  memset(&J, 0, sizeof J);
  J.cli = cli;
  J.inpaint = inpaint;
  J.lambda = 0.1;
  J.iters = 100;
  hcsc_scene *in = NULL;
  hcsc_grid *g = NULL;
  hcsc_tile x = {0}, y = {0}, W = {0};
  hcsc_meta om;
  hcsc_meta_init(&om);
  hcsc_nn_figures fig = {0, 0, 0};
  hcsc_nn_timings tm;
  memset(&tm, 0, sizeof tm);
  hcsc_progress *bar = NULL;
  unsigned char *nodata = NULL;
  const hcsc_opt opts[] = {
      {"output", 'o', HCSC_OPT_STRING, &J.out, "OUT", "restored scene (format by extension; required)"},
      {"model", 'm', HCSC_OPT_STRING, &J.model, "M.nc", "unrolled network (default: a shipped model)"},
      {"solver", 0, HCSC_OPT_STRING, &J.solver, "S", "classical CBPDN instead: fista or admm (needs --dict)"},
      {"dict", 'd', HCSC_OPT_STRING, &J.dict, "D.nc", "dictionary of --solver"},
      {"lambda", 0, HCSC_OPT_DOUBLE, &J.lambda, "L", "--solver: sparsity weight (default 0.1)"},
      {"iters", 0, HCSC_OPT_INT, &J.iters, "N", "--solver: iterations (default 100)"},
      {"lowpass", 0, HCSC_OPT_DOUBLE, &J.lowpass, "SIGMA",
       "--solver: code x - G_SIGMA x (masked), add the low-pass back (as hypercsc code; 0: off)"},
      {"method", 0, HCSC_OPT_STRING, &J.method, "M", "net (default) or pca (denoise)"},
      {"rank", 0, HCSC_OPT_INT64, &J.rank, "r", "pca: components (default: noise-aware choice)"},
      {"sigma", 0, HCSC_OPT_DOUBLE, &J.sigma, "S", "network: noise sigma in data units for every band"},
      {"mask", 0, HCSC_OPT_STRING, &J.mask, "MASK", "inpaint: valid-data raster (non-zero = valid)"},
      {"dead-lines", 0, HCSC_OPT_STRING, &J.dead, "SPEC", "inpaint: dead columns b1-b2:c1,c2,.."},
      {"missing-bands", 0, HCSC_OPT_STRING, &J.missing, "LIST", "inpaint: missing bands b1,b2-b3"},
      {"quicklook", 0, HCSC_OPT_STRING, &J.quicklook, "PNG", "before | after false-colour picture"},
      {"rgb-nm", 0, HCSC_OPT_STRING, &J.rgb, "R,G,B", "quicklook wavelengths (default 640,550,460)"},
      {"type", 0, HCSC_OPT_STRING, &J.type, "T", "output type (default: the input's)"},
      {"compress", 0, HCSC_OPT_STRING, &J.compress, "C", "GeoTIFF compression"},
      {NULL, 0, HCSC_OPT_FLAG, NULL, NULL, NULL}};
  hcsc_cmd_desc desc = inpaint ? inpaint_info : denoise_info;
  desc.details = details;
  err = hcsc_cli_parse(cli, &desc, opts, argc, argv, &pos, &npos);
  if (err) return err;
  J.in = pos[0];

  /* Every rank parsed the same argv: these checks agree without messages. */
  enum { M_NET, M_SOLVER, M_PCA } method = M_NET;
  hcsc_dtype dtype = HCSC_DT_NONE;
  if (!J.out) HCSC_FAIL(HCSC_EINVAL, "%s: -o OUT is required", cli->cmd);
  if (J.method && strcmp(J.method, "pca") == 0) method = M_PCA;
  else if (J.method && strcmp(J.method, "net") != 0)
    HCSC_FAIL(HCSC_EINVAL, "%s: unknown --method '%s' (net or pca)", cli->cmd, J.method);
  if (J.solver) {
    if (strcmp(J.solver, "fista") != 0 && strcmp(J.solver, "admm") != 0)
      HCSC_FAIL(HCSC_EINVAL, "%s: unknown --solver '%s' (fista or admm)", cli->cmd, J.solver);
    if (method == M_PCA || J.model)
      HCSC_FAIL(HCSC_EINVAL, "%s: give one of --model, --solver, --method pca", cli->cmd);
    method = M_SOLVER;
  }
  if (method == M_PCA && J.model) HCSC_FAIL(HCSC_EINVAL, "%s: give one of --model, --solver, --method pca", cli->cmd);
  if (method == M_PCA && inpaint)
    HCSC_FAIL(HCSC_ENOTSUP, "inpaint: --method pca cannot fill missing values (use a model or --solver)");
  if (!inpaint && (J.mask || J.dead || J.missing))
    HCSC_FAIL(HCSC_EINVAL, "denoise: --mask, --dead-lines and --missing-bands belong to inpaint");
  if (J.sigma < 0 || !isfinite(J.sigma)) HCSC_FAIL(HCSC_EINVAL, "%s: --sigma %g must be > 0", cli->cmd, J.sigma);
  if (!(J.lambda > 0)) HCSC_FAIL(HCSC_EINVAL, "%s: --lambda %g must be > 0", cli->cmd, J.lambda);
  if (method != M_NET && J.sigma > 0)
    HCSC_FAIL(HCSC_EINVAL, "%s: --sigma applies to networks (not --solver or --method pca)", cli->cmd);
  if (J.dict && method != M_SOLVER) HCSC_FAIL(HCSC_EINVAL, "%s: --dict needs --solver fista|admm", cli->cmd);
  if (J.rank && method != M_PCA) HCSC_FAIL(HCSC_EINVAL, "%s: --rank belongs to --method pca", cli->cmd);
  if (!(J.lowpass >= 0) || !isfinite(J.lowpass))
    HCSC_FAIL(HCSC_EINVAL, "%s: --lowpass %g must be >= 0 (pixels)", cli->cmd, J.lowpass);
  if (J.iters < 1) HCSC_FAIL(HCSC_EINVAL, "%s: --iters %d must be >= 1", cli->cmd, J.iters);
  if (J.type) HCSC_CHECK(hcsc_dtype_parse(J.type, &dtype));
  HCSC_CHECK(hcsc_output_check(cli->comm, J.out, cli->force));
  if (J.quicklook) HCSC_CHECK(hcsc_output_check(cli->comm, J.quicklook, cli->force));

  double t0 = MPI_Wtime();
  HCSC_CHECK(hcsc_scene_open(cli->comm, J.in, &in));
  const hcsc_meta *meta = hcsc_scene_meta(in);
  if (method == M_NET) {
    if (J.model) snprintf(J.model_path, sizeof J.model_path, "%s", J.model);
    else HCSC_CHECK(find_model(&J, cli->comm, meta->bands));
  }
  bar = hcsc_progress_create(cli->comm, cli->cmd, 4, "stages");
  HCSC_CHECK(hcsc_grid_create(cli->comm, meta->bands, meta->rows, meta->cols, cli->dims, &g));
  const hcsc_box box = hcsc_grid_box(g);
  HCSC_CHECK(hcsc_scene_load(in, NULL, g, 0, &x));
  hcsc_progress_update(bar, 1, "read");
  int64_t holes = 0;
  HCSC_CHECK(build_mask(&J, in, g, &x, &W, &nodata, &holes));
  HCSC_CHECK(hcsc_error_agree(cli->comm, hcsc_tile_alloc(&y, &box, box.nb, 0)));
  hcsc_progress_update(bar, 2, "mask");
  double t1 = MPI_Wtime();
  if (method == M_NET) HCSC_CHECK(run_network(&J, g, &x, &W, &y, &fig, &tm));
  else if (method == M_SOLVER) HCSC_CHECK(run_solver(&J, g, &x, &W, &y));
  else HCSC_CHECK(run_pca(&J, g, &x, &y));
  double trun = MPI_Wtime() - t1;
  hcsc_progress_update(bar, 3, method == M_NET ? "network" : method == M_SOLVER ? "solver" : "pca");
  pass_through(&J, meta, &x, &W, nodata, &y);
  if (J.quicklook) HCSC_CHECK(hcsc_restore_quicklook(g, meta, &x, &y, J.rgb, J.quicklook, cli->force));
  HCSC_CHECK(hcsc_meta_copy(&om, meta));
  {
    hcsc_write_opts wo = {HCSC_FMT_AUTO, dtype, cli->force, J.compress};
    HCSC_CHECK(hcsc_scene_write(J.out, &om, g, &y, &wo));
  }
  hcsc_progress_update(bar, 4, "written");
  hcsc_progress_finish(&bar);
  /* Peak memory against the rank's tile and one code tensor (B + M
   * channels of the tile; B alone without a network): the max over ranks. */
  double pk[2] = {hcsc_peak_rss_bytes(), 0.0};
  pk[1] = pk[0] / ((double)box.nr * (double)box.nc * sizeof(float) * (double)(box.nb + J.codes));
  HCSC_CHECK(hcsc_grid_allreduce(g, HCSC_SCOPE_ALL, pk, 2, MPI_DOUBLE, MPI_MAX));
  const double peak = pk[0];
  /* Network time by kind, the slowest rank's (the others wait for it). */
  double tk[5] = {tm.conv, tm.halo, tm.spectral, tm.elementwise, tm.noise};
  HCSC_CHECK(hcsc_grid_allreduce(g, HCSC_SCOPE_ALL, tk, 5, MPI_DOUBLE, MPI_MAX));
  const double tlayers = tk[0] + tk[1] + tk[2] + tk[3];
  const double hshare = tlayers > 0 ? tk[1] / tlayers : 0.0;
  double ttot = MPI_Wtime() - t0;
  const double mpb = (double)meta->rows * (double)meta->cols * (double)meta->bands / 1e6;
  if (cli->rank == 0) {
    const char *mname = method == M_NET ? "net" : method == M_SOLVER ? J.solver : "pca";
    if (cli->json) {
      printf("{\"command\": \"%s\", \"input\": \"%s\", \"output\": \"%s\", \"method\": \"%s\", \"model\": \"%s\", "
             "\"ranks\": %d, \"holes\": %lld, \"seconds\": %.6f, \"total_seconds\": %.6f, "
             "\"mpixel_bands_per_s\": %.6g, \"peak_rss_bytes\": %.0f, \"peak_over_tile\": %.4g, "
             "\"code_density\": %.6g, \"conv_seconds\": %.6f, \"halo_seconds\": %.6f, "
             "\"spectral_seconds\": %.6f, \"elementwise_seconds\": %.6f, \"noise_seconds\": %.6f, "
             "\"halo_share\": %.6f}\n",
             cli->cmd, J.in, J.out, mname, method == M_NET ? J.model_path : (J.dict ? J.dict : ""), cli->size,
             (long long)holes, trun, ttot, mpb / trun, peak, pk[1], fig.code_density, tk[0], tk[1], tk[2],
             tk[3], tk[4], hshare);
    } else if (cli->level >= HCSC_LOG_INFO) {
      printf("%s: %s -> %s, %s%s%s, %lld x %lld x %lld on %d rank%s, %.3f s (%.3g Mpixel*bands/s)\n", cli->cmd,
             J.in, J.out, mname, method == M_NET ? " " : "", method == M_NET ? J.model_path : "",
             (long long)meta->rows, (long long)meta->cols, (long long)meta->bands, cli->size,
             cli->size == 1 ? "" : "s", trun, mpb / trun);
      if (inpaint) printf("%s: %lld values filled\n", cli->cmd, (long long)holes);
      if (cli->timings) {
        printf("%s: peak memory (VmHWM, max over ranks) %.1f MiB, %.2fx the rank's tile (B%s x rows x "
               "cols floats)\n", cli->cmd, peak / 1048576.0, pk[1], method == M_NET ? " + M" : "");
        if (method == M_NET)
          printf("%s: network (slowest rank): conv %.3f s in %d ops, halo wait %.3f s (%.1f%% of the "
                 "layer time), spectral %.3f s, elementwise %.3f s, noise estimate %.3f s\n",
                 cli->cmd, tk[0], tm.nconv, tk[1], 100.0 * hshare, tk[2], tk[3], tk[4]);
      }
    }
    fflush(stdout);
  }
cleanup:
  free(nodata);
  hcsc_progress_finish(&bar);
  hcsc_meta_free(&om);
  hcsc_tile_free(&x);
  hcsc_tile_free(&y);
  hcsc_tile_free(&W);
  hcsc_grid_destroy(&g);
  hcsc_scene_close(&in);
  free(pos);
  return err;
}

int hcsc_cmd_denoise(hcsc_cli *cli, int argc, char **argv) { return restore(cli, argc, argv, 0); }
int hcsc_cmd_inpaint(hcsc_cli *cli, int argc, char **argv) { return restore(cli, argc, argv, 1); }
