/* hypercsc convert: read a scene (or a selection of it) and write it in
 * another format or type, in parallel. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static const hcsc_cmd_desc info = {
    "convert", "IN OUT [options]", "convert a scene between GeoTIFF, ENVI and NetCDF",
    "Reads IN (anything GDAL reads, or NetCDF) on all ranks, each rank its own tile, and writes "
    "OUT with the georeferencing, wavelengths, band names and nodata kept. The output format "
    "follows OUT's extension (.tif GeoTIFF, .nc NetCDF, anything else ENVI) unless -of is given. "
    "--bands takes 1-based bands and ranges (\"1-10,20\"); --window takes 0-based "
    "ROW0,COL0,ROWS,COLS. OUT is written to a temporary name and renamed when complete; an "
    "existing OUT is replaced only with --force.",
    2, 2};

/* See cli.h.  Collective on cli->comm. */
int hcsc_cmd_convert(hcsc_cli *cli, int argc, char **argv)
{
  int err = 0;
  const char *of = NULL, *bands_spec = NULL, *window_spec = NULL, *type = NULL, *compress = NULL;
  char **pos = NULL;
  int npos = 0;
  int64_t *bands = NULL, nb = 0;
  hcsc_selection sel = {NULL, 0, {0, 0, 0, 0}};
  hcsc_scene *s = NULL;
  hcsc_grid *g = NULL;
  hcsc_tile tile = {0};
  hcsc_meta out;
  hcsc_write_opts wo = {HCSC_FMT_AUTO, HCSC_DT_NONE, 0, NULL};
  const hcsc_opt opts[] = {
      {"of", 0, HCSC_OPT_STRING, &of, "FORMAT", "output format: GTiff, ENVI or netCDF"},
      {"bands", 0, HCSC_OPT_STRING, &bands_spec, "LIST", "bands to keep, 1-based (e.g. 1-10,20)"},
      {"window", 0, HCSC_OPT_STRING, &window_spec, "R0,C0,ROWS,COLS", "spatial window, 0-based"},
      {"type", 0, HCSC_OPT_STRING, &type, "T",
       "output type: uint8, int16, uint16, int32, float32, float64 (default: the input's)"},
      {"compress", 0, HCSC_OPT_STRING, &compress, "C", "GeoTIFF compression: NONE, DEFLATE, LZW, ZSTD"},
      {NULL, 0, HCSC_OPT_FLAG, NULL, NULL, NULL}};
  hcsc_meta_init(&out);

  int rc = hcsc_cli_parse(cli, &info, opts, argc, argv, &pos, &npos);
  if (rc) return rc > 0 ? 0 : rc;
  const char *in = pos[0], *outpath = pos[1];
  /* Option errors are the same on every rank (same argv): no agreement
   * needed before the first collective. */
  if (of) HCSC_CHECK(hcsc_format_parse(of, &wo.format));
  if (type) HCSC_CHECK(hcsc_dtype_parse(type, &wo.dtype));
  if (bands_spec) HCSC_CHECK(hcsc_cli_parse_bands(bands_spec, &bands, &nb));
  if (window_spec) HCSC_CHECK(hcsc_cli_parse_window(window_spec, sel.window));
  sel.bands = bands;
  sel.nbands = nb;
  wo.force = cli->force;
  wo.compress = compress;

  HCSC_CHECK(hcsc_scene_open(cli->comm, in, &s));
  /* Check the output before reading anything: a refused OUT should not
   * cost a full read. */
  HCSC_CHECK(hcsc_output_check(cli->comm, outpath, cli->force));
  err = hcsc_meta_select(&out, hcsc_scene_meta(s), bands, bands ? nb : 0,
                         window_spec ? sel.window : NULL);
  if (err) {
    char why[512];
    snprintf(why, sizeof why, "%s", hcsc_error_message());
    err = HCSC_ERR(err, "%s: %s", in, why);
  }
  HCSC_CHECK(err);
  HCSC_CHECK(hcsc_grid_create(cli->comm, out.bands, out.rows, out.cols, cli->dims, &g));
  HCSC_CHECK(hcsc_scene_load(s, &sel, g, 0, &tile));
  HCSC_CHECK(hcsc_scene_write(outpath, &out, g, &tile, &wo));
  if (cli->rank == 0 && cli->level > HCSC_LOG_QUIET) {
    int dims[3];
    hcsc_grid_dims(g, dims);
    hcsc_format f = wo.format == HCSC_FMT_AUTO ? hcsc_format_from_path(outpath) : wo.format;
    printf("wrote %s: %s, %lld bands x %lld rows x %lld cols, %s (grid %dx%dx%d)\n", outpath,
           hcsc_format_name(f), (long long)out.bands, (long long)out.rows, (long long)out.cols,
           hcsc_dtype_name(wo.dtype != HCSC_DT_NONE ? wo.dtype : out.dtype), dims[0], dims[1], dims[2]);
    fflush(stdout);
  }
cleanup:
  hcsc_tile_free(&tile);
  hcsc_grid_destroy(&g);
  hcsc_scene_close(&s);
  hcsc_meta_free(&out);
  free(bands);
  return err;
}
