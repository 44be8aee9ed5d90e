/* hypercsc info: describe a scene (size, type, georeferencing, spectral
 * metadata, nodata) and, unless --no-stats, per-band statistics and noise
 * estimates computed in parallel. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "hcsc/train.h"

static const hcsc_cmd_desc info = {
    "info", "SCENE [options]", "describe a scene: size, georeferencing, bands, statistics, noise",
    "Prints the size, storage type, geotransform and CRS, wavelengths, bad bands and\n"
    "nodata of SCENE, then per band: min, max, mean, standard deviation (population), the\n"
    "count of valid values and a noise estimate sigma = 1.4826 MAD of horizontal\n"
    "differences (x[r][c] - x[r][c+1]) / sqrt(2).  Nodata values are left out.  Every\n"
    "rank reads its own tile; the medians are exact, so the numbers do not depend on the\n"
    "number of ranks.",
    1, 1};

/* The CRS name: the first quoted string of the WKT ("WGS 84 / UTM zone 33N"). */
static void crs_name(const char *wkt, char *buf, size_t n)
{
  const char *a = wkt ? strchr(wkt, '"') : NULL, *b = a ? strchr(a + 1, '"') : NULL;
  if (!a || !b) {
    snprintf(buf, n, "%s", wkt ? "(unnamed)" : "none");
    return;
  }
  snprintf(buf, n, "%.*s", (int)(b - a - 1), a + 1);
}

static void jnum(double v)
{
  if (isfinite(v))
    printf("%.10g", v);
  else
    printf("null");
}

static void jstr(const char *s)
{
  putchar('"');
  for (; s && *s; s++) {
    if (*s == '"' || *s == '\\')
      printf("\\%c", *s);
    else if ((unsigned char)*s < 0x20)
      printf("\\u%04x", *s);
    else
      putchar(*s);
  }
  putchar('"');
}

static void print_json(const char *path, const hcsc_meta *m, const hcsc_stats *st)
{
  char crs[256];
  crs_name(m->crs_wkt, crs, sizeof crs);
  printf("{\"file\": "), jstr(path);
  printf(", \"rows\": %lld, \"cols\": %lld, \"bands\": %lld, \"type\": \"%s\"", (long long)m->rows,
         (long long)m->cols, (long long)m->bands, hcsc_dtype_name(m->dtype));
  if (m->has_geotransform) {
    printf(", \"geotransform\": [");
    /* + 0.0 turns a negative zero into 0 (formats disagree on the sign of 0). */
    for (int i = 0; i < 6; i++) printf("%s%.15g", i ? ", " : "", m->geotransform[i] + 0.0);
    printf("]");
  }
  printf(", \"crs_name\": "), jstr(m->crs_wkt ? crs : NULL);
  printf(", \"crs_wkt\": ");
  if (m->crs_wkt)
    jstr(m->crs_wkt);
  else
    printf("null");
  printf(", \"nodata\": ");
  if (m->has_nodata)
    jnum(m->nodata);
  else
    printf("null");
  printf(", \"wavelength_units\": ");
  if (m->wavelength_units)
    jstr(m->wavelength_units);
  else
    printf("null");
  printf(", \"band_list\": [");
  for (int64_t b = 0; b < m->bands; b++) {
    printf("%s{\"band\": %lld", b ? ", " : "", (long long)(b + 1));
    if (m->band_names && m->band_names[b]) printf(", \"name\": "), jstr(m->band_names[b]);
    if (m->wavelength) printf(", \"wavelength\": "), jnum(m->wavelength[b]);
    if (m->fwhm) printf(", \"fwhm\": "), jnum(m->fwhm[b]);
    printf(", \"good\": %s", m->bbl && !m->bbl[b] ? "false" : "true");
    if (st) {
      printf(", \"count\": %lld, \"min\": ", (long long)st->count[b]);
      jnum(st->min[b]);
      printf(", \"max\": "), jnum(st->max[b]);
      printf(", \"mean\": "), jnum(st->mean[b]);
      printf(", \"std\": "), jnum(st->std[b]);
      printf(", \"noise\": "), jnum(st->noise[b]);
    }
    printf("}");
  }
  printf("]}\n");
}

static void print_text(const char *path, const hcsc_meta *m, const hcsc_stats *st)
{
  char crs[256];
  crs_name(m->crs_wkt, crs, sizeof crs);
  printf("%s\n  size       %lld rows x %lld cols x %lld bands, %s\n", path, (long long)m->rows,
         (long long)m->cols, (long long)m->bands, hcsc_dtype_name(m->dtype));
  if (m->has_geotransform) {
    const double *g = m->geotransform;
    printf("  origin     (%.6f, %.6f), pixel %.6g x %.6g", g[0], g[3], g[1], g[5]);
    if (g[2] != 0 || g[4] != 0) printf(", rotation %.6g %.6g", g[2], g[4]);
    printf("\n");
  } else {
    printf("  geotransform none\n");
  }
  printf("  CRS        %s\n", crs);
  if (m->wavelength && m->bands > 0) {
    double lo = m->wavelength[0], hi = lo;
    for (int64_t b = 1; b < m->bands; b++) lo = fmin(lo, m->wavelength[b]), hi = fmax(hi, m->wavelength[b]);
    printf("  wavelength %lld bands, %.6g - %.6g %s\n", (long long)m->bands, lo, hi,
           m->wavelength_units ? m->wavelength_units : "");
  } else {
    printf("  wavelength none\n");
  }
  int64_t bad = 0;
  if (m->bbl)
    for (int64_t b = 0; b < m->bands; b++) bad += !m->bbl[b];
  printf("  bad bands  %lld", (long long)bad);
  if (bad) {
    printf(":");
    for (int64_t b = 0, shown = 0; b < m->bands && shown < 40; b++)
      if (!m->bbl[b]) printf(" %lld", (long long)(b + 1)), shown++;
    if (bad > 40) printf(" ...");
  }
  printf("\n  nodata     ");
  if (m->has_nodata)
    printf("%.10g\n", m->nodata);
  else
    printf("none\n");
  if (!st) return;
  printf("\n  %5s %10s %12s %12s %12s %12s %12s %10s\n", "band", "wl", "min", "max", "mean", "std",
         "noise", "valid");
  for (int64_t b = 0; b < m->bands; b++) {
    printf("  %5lld ", (long long)(b + 1));
    if (m->wavelength)
      printf("%10.2f", m->wavelength[b]);
    else
      printf("%10s", "-");
    printf(" %12.6g %12.6g %12.6g %12.6g %12.6g %10lld%s\n", st->min[b], st->max[b], st->mean[b],
           st->std[b], st->noise[b], (long long)st->count[b], m->bbl && !m->bbl[b] ? " bad" : "");
  }
}

int hcsc_cmd_info(hcsc_cli *cli, int argc, char **argv)
{
  int err = 0, no_stats = 0;
  char **pos = NULL;
  int npos = 0;
  hcsc_scene *s = NULL;
  hcsc_grid *g = NULL;
  hcsc_tile tile = {0};
  hcsc_stats st = {0};
  const hcsc_opt opts[] = {
      {"no-stats", 0, HCSC_OPT_FLAG, &no_stats, NULL, "metadata only: do not read the pixels"},
      {NULL, 0, HCSC_OPT_FLAG, NULL, NULL, NULL}};
  err = hcsc_cli_parse(cli, &info, opts, argc, argv, &pos, &npos);
  if (err) return err;
  {
    int is_model = 0;
    HCSC_CHECK(hcsc_nn_is_model(cli->comm, pos[0], &is_model));
    if (is_model) {
      err = hcsc_cli_info_model(cli, pos[0]);
      goto cleanup;
    }
  }
  HCSC_CHECK(hcsc_scene_open(cli->comm, pos[0], &s));
  const hcsc_meta *m = hcsc_scene_meta(s);
  if (!no_stats) {
    HCSC_CHECK(hcsc_grid_create(cli->comm, m->bands, m->rows, m->cols, cli->dims, &g));
    /* A halo of one column makes the differences across tile borders,
     * hence the noise estimate, independent of the decomposition. */
    HCSC_CHECK(hcsc_scene_load(s, NULL, g, 1, &tile));
    HCSC_CHECK(hcsc_stats_compute(hcsc_grid_comm(g), &tile, m->bands, m->cols, 1, &st));
  }
  if (cli->rank == 0) {
    if (cli->json)
      print_json(pos[0], m, no_stats ? NULL : &st);
    else
      print_text(pos[0], m, no_stats ? NULL : &st);
    fflush(stdout);
  }
cleanup:
  hcsc_stats_free(&st);
  hcsc_tile_free(&tile);
  hcsc_grid_destroy(&g);
  hcsc_scene_close(&s);
  free(pos);
  return err;
}
