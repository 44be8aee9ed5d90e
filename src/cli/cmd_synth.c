/* hypercsc synth: a synthetic hyperspectral scene of any size, made in
 * parallel (each rank fills its own tile) and written collectively. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"

static const hcsc_cmd_desc info = {
    "synth", "-o OUT --size HxWxB [options]",
    "generate a synthetic hyperspectral scene of any size in parallel",
    "Makes a B-band H x W reflectance scene (float32, values in [0, 1]) from six analytic\n"
    "endmember spectra (green and dry vegetation, soil, water, concrete, asphalt) mixed by\n"
    "abundance maps with fields, texture, roads and a river.  Wavelengths are evenly\n"
    "spaced over 400-2500 nm; the scene sits on a fixed UTM 33N grid with 30 m pixels.\n"
    "Every pixel is a pure function of (seed, band, row, column): the same seed gives the\n"
    "same file for any number of ranks and any --grid.  The output format follows the\n"
    "file name (.tif GeoTIFF, .nc NetCDF, anything else ENVI).",
    0, 0};

int hcsc_cmd_synth(hcsc_cli *cli, int argc, char **argv)
{
  int err = 0;
  const char *out = NULL, *size = NULL, *type = NULL, *compress = NULL;
  uint64_t seed = 1;
  char **pos = NULL;
  int npos = 0;
  hcsc_grid *g = NULL;
  hcsc_tile tile = {0};
  hcsc_meta meta;
  hcsc_meta_init(&meta);
  const hcsc_opt opts[] = {
      {"output", 'o', HCSC_OPT_STRING, &out, "OUT", "output scene (required)"},
      {"size", 0, HCSC_OPT_STRING, &size, "HxWxB", "rows x columns x bands (required)"},
      {"seed", 0, HCSC_OPT_U64, &seed, "S", "random seed (default 1)"},
      {"type", 0, HCSC_OPT_STRING, &type, "T",
       "storage type: float32 (default), uint16, int16, uint8, ...; integer types are\n"
       "rounded and clipped"},
      {"compress", 0, HCSC_OPT_STRING, &compress, "C", "GeoTIFF compression: NONE, DEFLATE, LZW, ZSTD"},
      {NULL, 0, HCSC_OPT_FLAG, NULL, NULL, NULL}};
  err = hcsc_cli_parse(cli, &info, opts, argc, argv, &pos, &npos);
  if (err) return err;
  int64_t rows = 0, cols = 0, bands = 0;
  hcsc_dtype dtype = HCSC_DT_FLOAT32;
  if (!out || !size) HCSC_FAIL(HCSC_EINVAL, "synth: -o OUT and --size HxWxB are required");
  HCSC_CHECK(hcsc_cli_parse_size(size, &rows, &cols, &bands));
  if (type) HCSC_CHECK(hcsc_dtype_parse(type, &dtype));

  hcsc_synth_opts so;
  hcsc_synth_opts_init(&so, bands, rows, cols, seed);
  HCSC_CHECK(hcsc_output_check(cli->comm, out, cli->force));
  HCSC_CHECK(hcsc_grid_create(cli->comm, bands, rows, cols, cli->dims, &g));
  hcsc_box box = hcsc_grid_box(g);
  int local = hcsc_tile_alloc(&tile, &box, box.nb, 0);
  HCSC_CHECK(hcsc_error_agree(cli->comm, local));
  local = hcsc_synth_meta(&so, &meta);
  HCSC_CHECK(hcsc_error_agree(cli->comm, local));
  meta.dtype = dtype;

  MPI_Barrier(cli->comm);
  double t0 = MPI_Wtime();
  local = hcsc_synth_fill(&so, &tile);
  HCSC_CHECK(hcsc_error_agree(cli->comm, local));
  double tfill = MPI_Wtime() - t0, tmax = 0;
  MPI_Reduce(&tfill, &tmax, 1, MPI_DOUBLE, MPI_MAX, 0, cli->comm);

  hcsc_write_opts wo = {HCSC_FMT_AUTO, dtype, cli->force, compress};
  HCSC_CHECK(hcsc_scene_write(out, &meta, g, &tile, &wo));
  double total = MPI_Wtime() - t0;
  const double values = (double)rows * (double)cols * (double)bands;
  if (cli->rank == 0) {
    double rate = tmax > 0 ? values / tmax / 1e6 : 0;
    if (cli->json)
      printf("{\"output\": \"%s\", \"rows\": %lld, \"cols\": %lld, \"bands\": %lld, \"seed\": %llu, "
             "\"type\": \"%s\", \"ranks\": %d, \"fill_s\": %.6f, \"total_s\": %.6f, "
             "\"rate_mpix_band_per_s\": %.3f}\n",
             out, (long long)rows, (long long)cols, (long long)bands, (unsigned long long)seed,
             hcsc_dtype_name(dtype), cli->size, tmax, total, rate);
    else if (cli->level >= HCSC_LOG_INFO)
      printf("synth: %s: %lld x %lld x %lld (%s, %.1f MB), seed %llu, %d ranks\n"
             "synth: filled in %.3f s (%.1f Mpixel*band/s, %.1f per rank), written in %.3f s\n",
             out, (long long)rows, (long long)cols, (long long)bands, hcsc_dtype_name(dtype),
             values * (double)hcsc_dtype_size(dtype) / 1e6, (unsigned long long)seed, cli->size,
             tmax, rate, rate / cli->size, total - tmax);
    fflush(stdout);
  }
cleanup:
  hcsc_tile_free(&tile);
  hcsc_meta_free(&meta);
  hcsc_grid_destroy(&g);
  free(pos);
  return err;
}
