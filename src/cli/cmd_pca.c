/* hypercsc pca: the spectral subspace of a scene (PCA of the band
 * covariance) and, optionally, its low-rank reconstruction, the first
 * conventional denoising baseline.  See include/hcsc/pca.h. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"

static const hcsc_cmd_desc info = {
    "pca", "SCENE -o SUBSPACE.nc [--recon OUT] [--rank R | --variance V | --noise-aware] [options]",
    "spectral subspace (PCA of the band covariance) and low-rank reconstruction",
    "The band mean and covariance are accumulated over the valid pixels (pixels with\n"
    "a NaN or nodata value in any band are skipped) on every rank and reduced; the\n"
    "eigen-decomposition runs through LAPACK (dsyevd, redundantly on every rank) or\n"
    "ScaLAPACK (pdsyevd on a BLACS grid over all ranks); auto picks ScaLAPACK from\n"
    "256 bands.  Eigenvalues are sorted in descending order and every eigenvector has\n"
    "its largest entry positive, so the result does not depend on the solver or the\n"
    "number of ranks beyond rounding.\n"
    "The number of components r (default: --variance 0.999):\n"
    "  --rank R         r = R\n"
    "  --variance V     smallest r whose explained variance is at least V\n"
    "  --noise-aware    r = number of leading components whose eigenvalue exceeds\n"
    "                   F times the noise variance along them, sum_b v_b^2 sigma_b^2,\n"
    "                   sigma_b the per-band noise estimate of 'hypercsc info' (MAD of\n"
    "                   horizontal differences); F = --noise-factor (default 2)\n"
    "SUBSPACE.nc (NetCDF) holds mean(band), eigenvalues(component),\n"
    "components(component, band), wavelength(band) and the attributes rank, method,\n"
    "explained_variance, bands, pixels, eigensolver; all components are kept, the\n"
    "chosen r is the attribute 'rank'.  --recon OUT writes mean + P^T P (x - mean)\n"
    "with P the first r components, with the input's metadata and type (unless\n"
    "--type), and reports its RMSE against the input.",
    1, 1};

int hcsc_cmd_pca(hcsc_cli *cli, int argc, char **argv)
{
  int err = 0, noise_aware = 0;
  const char *out = NULL, *recon = NULL, *solver_name = "auto", *type = NULL, *compress = NULL;
  int64_t want_rank = 0;
  double variance = 0, factor = 2.0;
  char **pos = NULL;
  int npos = 0;
  hcsc_scene *in = NULL;
  hcsc_grid *g = NULL;
  hcsc_tile tile = {0}, z = {0}, xr = {0};
  hcsc_stats st = {0};
  hcsc_pca p = {0};
  hcsc_meta rmeta;
  hcsc_meta_init(&rmeta);
  const hcsc_opt opts[] = {
      {"output", 'o', HCSC_OPT_STRING, &out, "SUBSPACE.nc", "subspace file to write (required)"},
      {"recon", 0, HCSC_OPT_STRING, &recon, "OUT", "write the rank-r reconstruction as a scene"},
      {"rank", 'r', HCSC_OPT_INT64, &want_rank, "R", "keep R components"},
      {"variance", 0, HCSC_OPT_DOUBLE, &variance, "V", "keep the explained variance V (0 < V <= 1)"},
      {"noise-aware", 0, HCSC_OPT_FLAG, &noise_aware, NULL, "keep the components above the noise floor"},
      {"noise-factor", 0, HCSC_OPT_DOUBLE, &factor, "F", "noise floor factor for --noise-aware (default 2)"},
      {"eigensolver", 0, HCSC_OPT_STRING, &solver_name, "S", "lapack, scalapack or auto (default)"},
      {"type", 0, HCSC_OPT_STRING, &type, "T", "reconstruction type (default: the input's)"},
      {"compress", 0, HCSC_OPT_STRING, &compress, "C", "GeoTIFF compression of the reconstruction"},
      {NULL, 0, HCSC_OPT_FLAG, NULL, NULL, NULL}};
  err = hcsc_cli_parse(cli, &info, opts, argc, argv, &pos, &npos);
  if (err) return err;

  /* Every rank parsed the same argv: these checks agree without messages. */
  hcsc_eigensolver solver;
  hcsc_dtype dtype = HCSC_DT_NONE;
  if (!out) HCSC_FAIL(HCSC_EINVAL, "pca: -o SUBSPACE.nc is required");
  if ((want_rank != 0) + (variance != 0) + (noise_aware != 0) > 1)
    HCSC_FAIL(HCSC_EINVAL, "pca: give one of --rank, --variance, --noise-aware");
  if (want_rank < 0) HCSC_FAIL(HCSC_EINVAL, "pca: --rank %lld must be at least 1", (long long)want_rank);
  if (variance != 0 && !(variance > 0 && variance <= 1))
    HCSC_FAIL(HCSC_EINVAL, "pca: --variance %g must be in (0, 1]", variance);
  if (!(factor > 0)) HCSC_FAIL(HCSC_EINVAL, "pca: --noise-factor %g must be positive", factor);
  HCSC_CHECK(hcsc_eigensolver_parse(solver_name, &solver));
  if (type) HCSC_CHECK(hcsc_dtype_parse(type, &dtype));
  HCSC_CHECK(hcsc_output_check(cli->comm, out, cli->force));
  if (recon) HCSC_CHECK(hcsc_output_check(cli->comm, recon, cli->force));

  HCSC_CHECK(hcsc_scene_open(cli->comm, pos[0], &in));
  const hcsc_meta *meta = hcsc_scene_meta(in);
  if (want_rank > meta->bands)
    HCSC_FAIL(HCSC_EINVAL, "pca: --rank %lld exceeds the %lld bands of %s", (long long)want_rank,
              (long long)meta->bands, pos[0]);
  HCSC_CHECK(hcsc_grid_create(cli->comm, meta->bands, meta->rows, meta->cols, cli->dims, &g));
  hcsc_box box = hcsc_grid_box(g);
  /* The noise estimate needs one column of halo to be the same on every
   * decomposition. */
  HCSC_CHECK(hcsc_scene_load(in, NULL, g, noise_aware ? 1 : 0, &tile));

  double t0 = MPI_Wtime();
  HCSC_CHECK(hcsc_pca_compute(g, &tile, solver, &p));
  double tpca = MPI_Wtime() - t0;
  if (meta->wavelength) {
    p.wavelength = malloc((size_t)meta->bands * sizeof *p.wavelength);
    HCSC_CHECK(hcsc_error_agree(cli->comm, p.wavelength ? 0 : HCSC_ERR(HCSC_ENOMEM, "pca: out of memory")));
    for (int64_t b = 0; b < meta->bands; b++) p.wavelength[b] = meta->wavelength[b];
  }
  if (noise_aware) {
    HCSC_CHECK(hcsc_stats_compute(hcsc_grid_comm(g), &tile, meta->bands, meta->cols, 1, &st));
    HCSC_CHECK(hcsc_error_agree(cli->comm, hcsc_pca_choose_rank(&p, HCSC_PCA_NOISE, factor, st.noise)));
  } else if (want_rank > 0) {
    HCSC_CHECK(hcsc_error_agree(cli->comm, hcsc_pca_choose_rank(&p, HCSC_PCA_RANK, (double)want_rank, NULL)));
  } else {
    HCSC_CHECK(hcsc_error_agree(cli->comm, hcsc_pca_choose_rank(&p, HCSC_PCA_VARIANCE,
                                                                variance > 0 ? variance : 0.999, NULL)));
  }
  HCSC_CHECK(hcsc_pca_save(cli->comm, &p, out, cli->force));

  double rmse = NAN;
  if (recon) {
    HCSC_CHECK(hcsc_error_agree(cli->comm, hcsc_tile_alloc(&z, &box, p.rank, 0)));
    HCSC_CHECK(hcsc_error_agree(cli->comm, hcsc_tile_alloc(&xr, &box, box.nb, 0)));
    HCSC_CHECK(hcsc_pca_project(g, &p, p.rank, &tile, &z));
    HCSC_CHECK(hcsc_error_agree(cli->comm, hcsc_pca_reconstruct(g, &p, p.rank, &z, &xr)));
    /* Error of the reconstruction over the valid values, in double. */
    double acc[2] = {0, 0};
    hcsc_timer_start(HCSC_PHASE_COMPUTE);
    for (int64_t b = 0; b < box.nb; b++)
      for (int64_t r = 0; r < box.nr; r++)
        for (int64_t c = 0; c < box.nc; c++) {
          double x = HCSC_TILE_AT(&tile, b, r, c), y = HCSC_TILE_AT(&xr, b, r, c);
          if (!isnan(y)) acc[0] += (x - y) * (x - y), acc[1] += 1;
        }
    hcsc_timer_stop(HCSC_PHASE_COMPUTE);
    HCSC_CHECK(hcsc_error_agree(cli->comm, hcsc_grid_allreduce(g, HCSC_SCOPE_ALL, acc, 2, MPI_DOUBLE, MPI_SUM)));
    rmse = acc[1] > 0 ? sqrt(acc[0] / acc[1]) : NAN;
    HCSC_CHECK(hcsc_meta_copy(&rmeta, meta));
    hcsc_write_opts wo = {HCSC_FMT_AUTO, dtype, cli->force, compress};
    HCSC_CHECK(hcsc_scene_write(recon, &rmeta, g, &xr, &wo));
  }

  if (cli->rank == 0) {
    int64_t show = p.bands < 10 ? p.bands : 10;
    if (cli->json) {
      printf("{\"input\": \"%s\", \"output\": \"%s\", \"bands\": %lld, \"pixels\": %lld, \"eigensolver\": \"%s\", "
             "\"rank\": %lld, \"method\": \"%s\", \"explained_variance\": %.17g, \"seconds\": %.6f, "
             "\"eigenvalues\": [",
             pos[0], out, (long long)p.bands, (long long)p.npixels, hcsc_eigensolver_name(p.solver),
             (long long)p.rank, p.method, hcsc_pca_explained(&p, p.rank), tpca);
      for (int64_t k = 0; k < p.bands; k++) printf("%s%.17g", k ? ", " : "", p.eigenvalues[k]);
      printf("]");
      if (recon) printf(", \"recon\": \"%s\", \"recon_rmse\": %.17g", recon, rmse);
      printf("}\n");
    } else if (cli->level >= HCSC_LOG_INFO) {
      printf("pca: %s: %lld bands, %lld valid pixels, %s eigensolver, %.3f s\n", pos[0], (long long)p.bands,
             (long long)p.npixels, hcsc_eigensolver_name(p.solver), tpca);
      printf("%10s %16s %10s %10s\n", "component", "eigenvalue", "variance", "cumulative");
      for (int64_t k = 0; k < show; k++)
        printf("%10lld %16.8g %10.6f %10.6f\n", (long long)(k + 1), p.eigenvalues[k],
               hcsc_pca_explained(&p, k + 1) - hcsc_pca_explained(&p, k), hcsc_pca_explained(&p, k + 1));
      if (show < p.bands)
        printf("%10s %16.8g  (smallest)\n", "...", p.eigenvalues[p.bands - 1]);
      printf("pca: rank %lld (%s), explained variance %.6f -> %s\n", (long long)p.rank, p.method,
             hcsc_pca_explained(&p, p.rank), out);
      if (recon) printf("pca: reconstruction with %lld components, RMSE %.6g -> %s\n", (long long)p.rank, rmse, recon);
    }
    fflush(stdout);
  }
cleanup:
  hcsc_meta_free(&rmeta);
  hcsc_pca_free(&p);
  hcsc_stats_free(&st);
  hcsc_tile_free(&xr);
  hcsc_tile_free(&z);
  hcsc_tile_free(&tile);
  hcsc_grid_destroy(&g);
  hcsc_scene_close(&in);
  free(pos);
  return err;
}
