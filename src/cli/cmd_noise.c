/* hypercsc noise: add noise by the protocol of hyperspectral denoising
 * papers (see include/hcsc/noise.h). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"

static const hcsc_cmd_desc info = {
    "noise", "IN OUT --model SPEC --seed S [options]",
    "add noise by the protocol of hyperspectral denoising papers",
    "Models (sigma on the 0-255 scale of the scene's range, sigma_data = sigma/255 *\n"
    "(max - min) of the clean scene, or of --peak):\n"
    "  gaussian:SIGMA   iid Gaussian (the papers use 30, 50, 70)\n"
    "  blind            iid Gaussian, sigma ~ U[10, 70] from the seed\n"
    "  noniid           per-band sigma from {10, 30, 50, 70}\n"
    "  stripes          noniid + column stripes on a third of the bands\n"
    "  deadlines        noniid + dead (zero) columns on a third of the bands\n"
    "  impulse[:RATIO]  noniid + salt and pepper on a third of the bands\n"
    "  mixture          noniid + stripes, dead lines, impulse on disjoint thirds\n"
    "Every draw is keyed on (seed, band, row, column): the result is the same for any\n"
    "number of ranks.  Nodata pixels stay nodata.  The output has the input's type\n"
    "unless --type is given; float32 is recommended, integer outputs are rounded and\n"
    "clipped to the type's range.",
    2, 2};

int hcsc_cmd_noise(hcsc_cli *cli, int argc, char **argv)
{
  int err = 0;
  const char *spec = NULL, *type = NULL, *compress = NULL;
  uint64_t seed = 0;
  double peak = 0;
  char **pos = NULL;
  int npos = 0;
  hcsc_scene *in = NULL;
  hcsc_grid *g = NULL;
  hcsc_tile tile = {0};
  hcsc_noise_band *plan = NULL;
  const hcsc_opt opts[] = {
      {"model", 'm', HCSC_OPT_STRING, &spec, "SPEC", "noise model (required, see below)"},
      {"seed", 's', HCSC_OPT_U64, &seed, "S", "random seed (required)"},
      {"peak", 0, HCSC_OPT_DOUBLE, &peak, "RANGE", "data range for sigma (default: max - min of IN)"},
      {"type", 0, HCSC_OPT_STRING, &type, "T", "output type (default: the input's)"},
      {"compress", 0, HCSC_OPT_STRING, &compress, "C", "GeoTIFF compression"},
      {NULL, 0, HCSC_OPT_FLAG, NULL, NULL, NULL}};
  err = hcsc_cli_parse(cli, &info, opts, argc, argv, &pos, &npos);
  if (err) return err;
  hcsc_noise_model m;
  if (!spec) HCSC_FAIL(HCSC_EINVAL, "noise: --model SPEC is required");
  HCSC_CHECK(hcsc_noise_parse(spec, &m));
  hcsc_dtype dtype = HCSC_DT_NONE;
  if (type) HCSC_CHECK(hcsc_dtype_parse(type, &dtype));
  HCSC_CHECK(hcsc_output_check(cli->comm, pos[1], cli->force));
  HCSC_CHECK(hcsc_scene_open(cli->comm, pos[0], &in));
  const hcsc_meta *meta = hcsc_scene_meta(in);
  HCSC_CHECK(hcsc_grid_create(cli->comm, meta->bands, meta->rows, meta->cols, cli->dims, &g));
  HCSC_CHECK(hcsc_scene_load(in, NULL, g, 0, &tile));
  double mm[2];
  HCSC_CHECK(hcsc_noise_minmax(cli->comm, &tile, mm));
  double range = peak > 0 ? peak : mm[1] - mm[0];
  HCSC_CHECK(hcsc_noise_apply(cli->comm, &m, seed, meta->bands, meta->rows, meta->cols, range, &tile));
  hcsc_write_opts wo = {HCSC_FMT_AUTO, dtype, cli->force, compress};
  HCSC_CHECK(hcsc_scene_write(pos[1], meta, g, &tile, &wo));

  /* Report what each band got. */
  plan = calloc((size_t)meta->bands, sizeof *plan);
  HCSC_CHECK(hcsc_error_agree(cli->comm, plan ? 0 : HCSC_ERR(HCSC_ENOMEM, "noise: out of memory")));
  HCSC_CHECK(hcsc_noise_describe(&m, seed, meta->bands, meta->cols, range, plan));
  if (cli->rank == 0) {
    if (cli->json) {
      printf("{\"input\": \"%s\", \"output\": \"%s\", \"model\": \"%s\", \"seed\": %llu, "
             "\"range\": %.9g, \"bands\": [", pos[0], pos[1], m.spec, (unsigned long long)seed, range);
      for (int64_t b = 0; b < meta->bands; b++)
        printf("%s{\"band\": %lld, \"sigma\": %g, \"sigma_data\": %.9g, \"stripes\": %d, "
               "\"deadlines\": %d, \"impulse\": %d, \"columns\": %lld, \"impulse_ratio\": %g}",
               b ? ", " : "", (long long)(b + 1), plan[b].sigma, plan[b].sigma_data,
               !!(plan[b].components & HCSC_NOISE_STRIPES),
               !!(plan[b].components & HCSC_NOISE_DEADLINES),
               !!(plan[b].components & HCSC_NOISE_IMPULSE), (long long)plan[b].ncols,
               plan[b].impulse_ratio);
      printf("]}\n");
    } else if (cli->level >= HCSC_LOG_INFO) {
      printf("noise: %s -> %s, model %s, seed %llu, range %.6g\n", pos[0], pos[1], m.spec,
             (unsigned long long)seed, range);
      if (cli->level >= HCSC_LOG_DEBUG || m.kind >= HCSC_NOISE_KIND_NONIID) {
        printf("%6s %8s %12s  %s\n", "band", "sigma", "sigma_data", "other");
        for (int64_t b = 0; b < meta->bands; b++) {
          const hcsc_noise_band *p = &plan[b];
          printf("%6lld %8.1f %12.6g  ", (long long)(b + 1), p->sigma, p->sigma_data);
          if (p->components & HCSC_NOISE_STRIPES) printf("stripes (%lld columns)", (long long)p->ncols);
          if (p->components & HCSC_NOISE_DEADLINES) printf("dead lines (%lld columns)", (long long)p->ncols);
          if (p->components & HCSC_NOISE_IMPULSE) printf("impulse (ratio %.2f)", p->impulse_ratio);
          printf("\n");
        }
      } else {
        printf("noise: sigma %.2f (0-255 scale) = %.6g in data units, all bands\n", plan[0].sigma,
               plan[0].sigma_data);
      }
    }
    fflush(stdout);
  }
cleanup:
  free(plan);
  hcsc_tile_free(&tile);
  hcsc_grid_destroy(&g);
  hcsc_scene_close(&in);
  free(pos);
  return err;
}
