/* hypercsc eval: compare a test scene against a reference (MPSNR, MSSIM,
 * SAM, ERGAS; see include/hcsc/metrics.h). */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"

static const hcsc_cmd_desc info = {
    "eval", "REF TEST [options]", "compare two scenes: MPSNR, MSSIM, SAM, ERGAS",
    "MPSNR: mean over bands of 10 log10(peak^2 / MSE_b), peak = max - min of REF unless\n"
    "--peak; a band identical in both scenes has PSNR inf (JSON: null).  MSSIM: mean\n"
    "per-band SSIM (Gaussian window sigma 1.5, 11 x 11, K1 0.01, K2 0.03), with the\n"
    "scene edges extended symmetrically.  SAM: mean spectral angle in radians (degrees\n"
    "too), pixels with a zero spectrum skipped.  ERGAS: 100 sqrt(mean_b MSE_b / mu_b^2).\n"
    "Nodata/NaN values in either scene are skipped and counted.  The scenes must have the\n"
    "same size; the result does not depend on the number of ranks (up to 1e-9).",
    2, 2};

static void num(FILE *f, double v)
{
  if (isfinite(v))
    fprintf(f, "%.10g", v);
  else
    fprintf(f, "null");
}

int hcsc_cmd_eval(hcsc_cli *cli, int argc, char **argv)
{
  int err = 0;
  double peak = 0;
  int per_band = 0;
  const char *csv = NULL;
  char **pos = NULL;
  int npos = 0;
  hcsc_scene *ref = NULL, *test = NULL;
  hcsc_grid *g = NULL;
  hcsc_tile tr = {0}, tt = {0};
  hcsc_metrics m = {0};
  const hcsc_opt opts[] = {
      {"peak", 0, HCSC_OPT_DOUBLE, &peak, "P", "peak for PSNR and SSIM (default: max - min of REF)"},
      {"per-band", 0, HCSC_OPT_FLAG, &per_band, NULL, "also report PSNR, SSIM, RMSE per band"},
      {"csv", 0, HCSC_OPT_STRING, &csv, "FILE", "write the per-band table as CSV to FILE"},
      {NULL, 0, HCSC_OPT_FLAG, NULL, NULL, NULL}};
  err = hcsc_cli_parse(cli, &info, opts, argc, argv, &pos, &npos);
  if (err) return err;
  HCSC_CHECK(hcsc_scene_open(cli->comm, pos[0], &ref));
  HCSC_CHECK(hcsc_scene_open(cli->comm, pos[1], &test));
  const hcsc_meta *a = hcsc_scene_meta(ref), *b = hcsc_scene_meta(test);
  if (a->bands != b->bands || a->rows != b->rows || a->cols != b->cols)
    HCSC_FAIL(HCSC_ESIZE, "eval: %s is %lldx%lldx%lld but %s is %lldx%lldx%lld (rows x cols x bands)",
              pos[0], (long long)a->rows, (long long)a->cols, (long long)a->bands, pos[1],
              (long long)b->rows, (long long)b->cols, (long long)b->bands);
  HCSC_CHECK(hcsc_grid_create(cli->comm, a->bands, a->rows, a->cols, cli->dims, &g));
  /* SSIM's 11 x 11 window needs 5 pixels of the neighbours (or of the
   * mirrored scene edge). */
  HCSC_CHECK(hcsc_scene_load(ref, NULL, g, 5, &tr));
  HCSC_CHECK(hcsc_scene_load(test, NULL, g, 5, &tt));
  hcsc_metrics_opts mo;
  hcsc_metrics_opts_init(&mo);
  mo.peak = peak;
  HCSC_CHECK(hcsc_metrics_compute(hcsc_grid_comm(g), hcsc_grid_spectral_comm(g), &tr, &tt, a->bands,
                                  &mo, &m));

  int werr = 0;
  if (cli->rank == 0) {
    if (cli->json) {
      printf("{\"reference\": \"%s\", \"test\": \"%s\", \"peak\": ", pos[0], pos[1]);
      num(stdout, m.peak);
      printf(", \"mpsnr\": "), num(stdout, m.mpsnr);
      printf(", \"mssim\": "), num(stdout, m.mssim);
      printf(", \"sam\": "), num(stdout, m.sam);
      printf(", \"sam_deg\": "), num(stdout, m.sam_deg);
      printf(", \"ergas\": "), num(stdout, m.ergas);
      printf(", \"nan_skipped\": %lld, \"sam_skipped\": %lld", (long long)m.nan_skipped,
             (long long)m.sam_skipped);
      if (per_band) {
        printf(", \"bands\": [");
        for (int64_t k = 0; k < m.bands; k++) {
          printf("%s{\"band\": %lld, \"psnr\": ", k ? ", " : "", (long long)(k + 1));
          num(stdout, m.psnr[k]);
          printf(", \"ssim\": "), num(stdout, m.ssim[k]);
          printf(", \"rmse\": "), num(stdout, m.rmse[k]);
          printf("}");
        }
        printf("]");
      }
      printf("}\n");
    } else {
      printf("eval: %s vs %s (%lld x %lld x %lld, peak %.6g)\n", pos[1], pos[0], (long long)a->rows,
             (long long)a->cols, (long long)a->bands, m.peak);
      printf("  MPSNR  %10.4f dB\n  MSSIM  %10.6f\n  SAM    %10.6f rad (%.4f deg)\n  ERGAS  %10.4f\n",
             m.mpsnr, m.mssim, m.sam, m.sam_deg, m.ergas);
      if (m.nan_skipped || m.sam_skipped)
        printf("  skipped: %lld NaN/nodata values, %lld pixels in SAM\n", (long long)m.nan_skipped,
               (long long)m.sam_skipped);
      if (per_band) {
        printf("  %6s %10s %10s %12s\n", "band", "PSNR", "SSIM", "RMSE");
        for (int64_t k = 0; k < m.bands; k++)
          printf("  %6lld %10.4f %10.6f %12.6g\n", (long long)(k + 1), m.psnr[k], m.ssim[k], m.rmse[k]);
      }
    }
    fflush(stdout);
    if (csv) {
      FILE *f = fopen(csv, "w");
      if (!f) {
        werr = HCSC_ERR_ERRNO(csv, "cannot write the CSV table");
      } else {
        fprintf(f, "band,psnr,ssim,rmse,mse,mean_ref\n");
        for (int64_t k = 0; k < m.bands; k++)
          fprintf(f, "%lld,%.10g,%.10g,%.10g,%.10g,%.10g\n", (long long)(k + 1), m.psnr[k], m.ssim[k],
                  m.rmse[k], m.mse[k], m.mean_ref[k]);
        if (fclose(f) != 0) werr = HCSC_ERR_ERRNO(csv, "cannot write the CSV table");
      }
    }
  }
  HCSC_CHECK(hcsc_error_agree(cli->comm, werr));
cleanup:
  hcsc_metrics_free(&m);
  hcsc_tile_free(&tr);
  hcsc_tile_free(&tt);
  hcsc_grid_destroy(&g);
  hcsc_scene_close(&ref);
  hcsc_scene_close(&test);
  free(pos);
  return err;
}
