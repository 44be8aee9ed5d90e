/* t_io_roundtrip: fixtures of every supported type, written with GDAL on
 * rank 0 (ENVI and GeoTIFF), read on every grid shape that fits the rank
 * count, written to ENVI (GeoTIFF/NetCDF when available) and read back:
 * pixels must match exactly and the metadata must survive. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_string.h>
#include <gdal.h>
#include <ogr_srs_api.h>

#include "hypercsc.h"
#include "testutil.h"

enum { NB = 3, NR = 7, NC = 5 };
static const double GT[6] = {500000.0, 30.0, 0.0, 4600000.0, 0.0, -30.0};
static const double WL[NB] = {450.5, 550.25, 650.125};
static const double FW[NB] = {10.5, 11.0, 12.25};
static const int BBL[NB] = {1, 0, 1};
static const char *NAMES[NB] = {"blue band", "green band", "red band"};
static char *crs_wkt;

/* The fixture's stored value at (b, r, c) for type t. */
static double value(hcsc_dtype t, int b, int r, int c)
{
  double v = b * 50 + r * 7 + c;
  if (t == HCSC_DT_INT16 || t == HCSC_DT_INT32) v -= 60;
  if (t == HCSC_DT_FLOAT32 || t == HCSC_DT_FLOAT64) v = v - 60.25;
  return v;
}
/* Nodata is the value of pixel (0, 0, 1), so one pixel per fixture maps to NaN. */
static double nodata_of(hcsc_dtype t) { return value(t, 0, 0, 1); }
/* What a reader must return: the value as float, nodata as NaN. */
static float expect(hcsc_dtype t, int b, int r, int c)
{
  double v = value(t, b, r, c);
  return v == nodata_of(t) ? NAN : (float)v;
}

static GDALDataType gdt(hcsc_dtype t)
{
  static const GDALDataType m[] = {GDT_Unknown, GDT_Byte, GDT_Int16, GDT_UInt16,
                                   GDT_Int32, GDT_Float32, GDT_Float64};
  return m[t];
}

static void make_fixture(const char *path, const char *driver, hcsc_dtype t)
{
  GDALDatasetH ds = GDALCreate(GDALGetDriverByName(driver), path, NC, NR, NB, gdt(t), NULL);
  double buf[NR * NC];
  char item[256];
  if (!ds) {
    fprintf(stderr, "cannot create fixture %s\n", path);
    exit(TEST_HARD);
  }
  GDALSetGeoTransform(ds, (double *)GT);
  GDALSetProjection(ds, crs_wkt);
  for (int b = 0; b < NB; b++) {
    GDALRasterBandH h = GDALGetRasterBand(ds, b + 1);
    for (int r = 0; r < NR; r++)
      for (int c = 0; c < NC; c++) buf[r * NC + c] = value(t, b, r, c);
    if (GDALRasterIO(h, GF_Write, 0, 0, NC, NR, buf, NC, NR, GDT_Float64, 0, 0) != CE_None)
      exit(TEST_HARD);
    GDALSetRasterNoDataValue(h, nodata_of(t));
    GDALSetDescription(h, NAMES[b]);
    if (strcmp(driver, "GTiff") == 0) {
      snprintf(item, sizeof item, "%.17g", WL[b]);
      GDALSetMetadataItem(h, "wavelength", item, NULL);
      snprintf(item, sizeof item, "%.17g", FW[b]);
      GDALSetMetadataItem(h, "fwhm", item, NULL);
      snprintf(item, sizeof item, "%d", BBL[b]);
      GDALSetMetadataItem(h, "bbl", item, NULL);
    }
  }
  if (strcmp(driver, "ENVI") == 0) {
    snprintf(item, sizeof item, "{%.17g, %.17g, %.17g}", WL[0], WL[1], WL[2]);
    GDALSetMetadataItem(ds, "wavelength", item, "ENVI");
    snprintf(item, sizeof item, "{ %.17g,%.17g , %.17g }", FW[0], FW[1], FW[2]);
    GDALSetMetadataItem(ds, "fwhm", item, "ENVI");
    snprintf(item, sizeof item, "{%d, %d, %d}", BBL[0], BBL[1], BBL[2]);
    GDALSetMetadataItem(ds, "bbl", item, "ENVI");
    GDALSetMetadataItem(ds, "wavelength_units", "Nanometers", "ENVI");
  } else {
    GDALSetMetadataItem(ds, "wavelength_units", "Nanometers", NULL);
  }
  GDALClose(ds);
}

/* Rank 0: read back a written file with GDAL alone and compare with the
 * fixture restricted to bands[] (nb) and the window w. */
static void check_written(const char *path, hcsc_dtype t, const int64_t *bands, int nb,
                          const int64_t w[4])
{
  GDALDatasetH ds = GDALOpen(path, GA_ReadOnly);
  TEST_ASSERT(ds != NULL, "cannot reopen %s", path);
  if (!ds) return;
  int rows = (int)w[2], cols = (int)w[3];
  TEST_ASSERT(GDALGetRasterCount(ds) == nb && GDALGetRasterYSize(ds) == rows &&
                  GDALGetRasterXSize(ds) == cols, "%s: wrong size", path);
  if (GDALGetRasterCount(ds) != nb) goto done;
  double gt[6], *buf = malloc(sizeof(double) * (size_t)(rows * cols));
  TEST_ASSERT(GDALGetGeoTransform(ds, gt) == CE_None, "%s: no geotransform", path);
  TEST_ASSERT(gt[0] == GT[0] + w[1] * GT[1] && gt[3] == GT[3] + w[0] * GT[5] && gt[1] == GT[1] &&
                  gt[5] == GT[5], "%s: geotransform %g %g %g %g", path, gt[0], gt[1], gt[3], gt[5]);
  OGRSpatialReferenceH a = OSRNewSpatialReference(crs_wkt);
  OGRSpatialReferenceH bsr = OSRNewSpatialReference(GDALGetProjectionRef(ds));
  TEST_ASSERT(OSRIsSame(a, bsr), "%s: CRS differs: %s", path, GDALGetProjectionRef(ds));
  OSRDestroySpatialReference(a);
  OSRDestroySpatialReference(bsr);
  for (int i = 0; i < nb; i++) {
    GDALRasterBandH h = GDALGetRasterBand(ds, i + 1);
    int fb = (int)bands[i], has = 0;
    TEST_ASSERT(GDALGetRasterDataType(h) == gdt(t), "%s: type %s", path,
                GDALGetDataTypeName(GDALGetRasterDataType(h)));
    double nd = GDALGetRasterNoDataValue(h, &has);
    TEST_ASSERT(has && nd == nodata_of(t), "%s: nodata %g", path, nd);
    /* GDAL's ENVI reader decorates the header's band name with
     * " (<wavelength> <units>)"; the library strips it (checked below). */
    TEST_ASSERT(strncmp(GDALGetDescription(h), NAMES[fb], strlen(NAMES[fb])) == 0,
                "%s: band %d name \"%s\"", path, i + 1, GDALGetDescription(h));
    TEST_ASSERT(GDALRasterIO(h, GF_Read, 0, 0, cols, rows, buf, cols, rows, GDT_Float64, 0, 0) == CE_None,
                "%s: read band %d", path, i + 1);
    int bad = 0;
    for (int r = 0; r < rows; r++)
      for (int c = 0; c < cols; c++)
        if (buf[r * cols + c] != value(t, fb, (int)w[0] + r, (int)w[1] + c)) bad++;
    TEST_ASSERT(bad == 0, "%s: band %d: %d pixels differ", path, i + 1, bad);
  }
  free(buf);
done:
  GDALClose(ds);
}

/* Metadata read back by the library from a written file. */
static void check_meta(const hcsc_meta *m, const char *path, const int64_t *bands, int nb)
{
  TEST_ASSERT(m->wavelength && m->fwhm && m->bbl && m->band_names, "%s: spectral metadata lost", path);
  if (!(m->wavelength && m->fwhm && m->bbl && m->band_names)) return;
  for (int i = 0; i < nb; i++) {
    int b = (int)bands[i];
    TEST_ASSERT(m->wavelength[i] == WL[b] && m->fwhm[i] == FW[b] && m->bbl[i] == BBL[b],
                "%s: band %d: wavelength %g fwhm %g bbl %d", path, i, m->wavelength[i], m->fwhm[i],
                m->bbl[i]);
    TEST_ASSERT(strcmp(m->band_names[i], NAMES[b]) == 0, "%s: band name %s", path, m->band_names[i]);
  }
  TEST_ASSERT(m->wavelength_units && strcmp(m->wavelength_units, "Nanometers") == 0,
              "%s: wavelength units %s", path, m->wavelength_units ? m->wavelength_units : "(none)");
}

/* Read the tile of this rank and compare with the fixture. */
static void check_tile(const hcsc_tile *t, hcsc_dtype dt, const int64_t *bands, const int64_t w[4],
                       const char *what)
{
  int bad = 0;
  for (int64_t b = 0; b < t->box.nb; b++)
    for (int64_t r = 0; r < t->box.nr; r++)
      for (int64_t c = 0; c < t->box.nc; c++) {
        float e = expect(dt, (int)bands[t->box.b0 + b], (int)(w[0] + t->box.r0 + r),
                         (int)(w[1] + t->box.c0 + c));
        float v = HCSC_TILE_AT(t, b, r, c);
        if (!(v == e || (isnan(v) && isnan(e)))) bad++;
      }
  TEST_ASSERT(bad == 0, "%s: %d pixels of the tile differ", what, bad);
}

static void test_dtype(void)
{
  float src[] = {2.5f, -2.5f, 0.49f, 300.0f, -7.0f, NAN, 65535.6f};
  uint8_t u8[7];
  int16_t i16[7];
  float f32[7];
  TEST_ASSERT(hcsc_dtype_from_float(HCSC_DT_UINT8, src, u8, 7, 1, 255) == 4, "uint8 clip count");
  TEST_ASSERT(u8[0] == 3 && u8[1] == 0 && u8[2] == 0 && u8[3] == 255 && u8[4] == 0 && u8[5] == 255 &&
                  u8[6] == 255, "uint8 conversion");
  hcsc_dtype_from_float(HCSC_DT_INT16, src, i16, 7, 0, 0);
  TEST_ASSERT(i16[0] == 3 && i16[1] == -3 && i16[3] == 300 && i16[5] == 0 && i16[6] == 32767,
              "int16 conversion (ties away from zero, NaN -> 0)");
  hcsc_dtype_from_float(HCSC_DT_FLOAT32, src, f32, 7, 0, 0);
  TEST_ASSERT(isnan(f32[5]) && f32[0] == 2.5f, "float32 keeps NaN without nodata");
  hcsc_dtype_from_float(HCSC_DT_FLOAT32, src, f32, 7, 1, -9999);
  TEST_ASSERT(f32[5] == -9999.0f, "float32 NaN -> nodata");
  hcsc_dtype t;
  TEST_OK(hcsc_dtype_parse("Int16", &t));
  TEST_ASSERT(t == HCSC_DT_INT16, "parse");
  TEST_ASSERT(hcsc_dtype_parse("complex64", &t) == HCSC_ETYPE, "parse rejects complex64");
}

int main(int argc, char **argv)
{
  test_init(&argc, &argv);
  int rank = test_rank(), np = test_size();
  const char *tmp = test_tmp_dir();
  char path[1024], out[2048];
  static const char *drivers[2] = {"ENVI", "GTiff"};
  static const char *ext[2] = {"bsq", "tif"};
  GDALAllRegister();
  OGRSpatialReferenceH srs = OSRNewSpatialReference(NULL);
  OSRImportFromEPSG(srs, 32633);
  OSRExportToWkt(srs, &crs_wkt);
  OSRDestroySpatialReference(srs);
  test_dtype();

  if (rank == 0)
    for (int t = HCSC_DT_UINT8; t <= HCSC_DT_FLOAT64; t++)
      for (int d = 0; d < 2; d++) {
        snprintf(path, sizeof path, "%s/fix_%s.%s", tmp, hcsc_dtype_name((hcsc_dtype)t), ext[d]);
        make_fixture(path, drivers[d], (hcsc_dtype)t);
      }
  MPI_Barrier(MPI_COMM_WORLD);

  int64_t all[NB] = {0, 1, 2};
  int nwritten = 0;
  for (int t = HCSC_DT_UINT8; t <= HCSC_DT_FLOAT64; t++)
    for (int d = 0; d < 2; d++) {
      hcsc_dtype dt = (hcsc_dtype)t;
      hcsc_scene *s = NULL;
      snprintf(path, sizeof path, "%s/fix_%s.%s", tmp, hcsc_dtype_name(dt), ext[d]);
      TEST_OK(hcsc_scene_open(MPI_COMM_WORLD, path, &s));
      if (!s) continue;
      const hcsc_meta *m = hcsc_scene_meta(s);
      TEST_ASSERT(m->dtype == dt && m->bands == NB && m->rows == NR && m->cols == NC, "%s: meta", path);
      TEST_ASSERT(m->has_nodata && m->nodata == nodata_of(dt), "%s: nodata", path);
      check_meta(m, path, all, NB);
      /* Every grid G x P x Q = np that fits the 3 x 7 x 5 scene, and one
       * selection (bands 3,1 and a window) on the automatic grid. */
      for (int G = 1; G <= np; G++)
        for (int P = 1; P <= np; P++) {
          if (np % (G * P)) continue;
          int Q = np / (G * P);
          if (G > NB || P > NR || Q > NC) continue;
          int dims[3] = {G, P, Q};
          hcsc_grid *g = NULL;
          hcsc_tile tile = {0};
          TEST_OK(hcsc_grid_create(MPI_COMM_WORLD, NB, NR, NC, dims, &g));
          hcsc_box box = hcsc_grid_box(g);
          TEST_OK(hcsc_tile_alloc(&tile, &box, box.nb, 1));
          TEST_OK(hcsc_scene_read(s, NULL, g, &tile));
          int64_t whole[4] = {0, 0, NR, NC};
          snprintf(out, sizeof out, "%s read on %dx%dx%d", path, G, P, Q);
          check_tile(&tile, dt, all, whole, out);
          static const hcsc_format fmts[3] = {HCSC_FMT_ENVI, HCSC_FMT_GTIFF, HCSC_FMT_NETCDF};
          static const char *oext[3] = {"bsq", "tif", "nc"};
          for (int f = 0; f < 3; f++) {
            hcsc_write_opts o = {fmts[f], HCSC_DT_NONE, 0, NULL};
            snprintf(out, sizeof out, "%s/out_%s_%s_%dx%dx%d.%s", tmp, hcsc_dtype_name(dt), ext[d], G,
                     P, Q, oext[f]);
            int rc = hcsc_scene_write(out, m, g, &tile, &o);
            if (rc == HCSC_ENOTSUP) continue; /* writer not there yet */
            TEST_OK(rc);
            if (rc) continue;
            nwritten++;
            if (rank == 0 && f != 2) check_written(out, dt, all, NB, whole);
            hcsc_scene *w = NULL;
            TEST_OK(hcsc_scene_open(MPI_COMM_WORLD, out, &w));
            if (w) {
              check_meta(hcsc_scene_meta(w), out, all, NB);
              hcsc_tile t2 = {0};
              TEST_OK(hcsc_tile_alloc(&t2, &box, box.nb, 0));
              TEST_OK(hcsc_scene_read(w, NULL, g, &t2));
              check_tile(&t2, dt, all, whole, out);
              hcsc_tile_free(&t2);
              hcsc_scene_close(&w);
            }
          }
          hcsc_tile_free(&tile);
          hcsc_grid_destroy(&g);
        }

      /* A selection: bands 3 and 1 (reordered), window rows 1-5, cols 1-3. */
      int64_t bsel[2] = {2, 0};
      hcsc_selection sel = {bsel, 2, {1, 1, 5, 3}};
      hcsc_meta sm;
      hcsc_grid *g = NULL;
      hcsc_tile tile = {0};
      TEST_OK(hcsc_meta_select(&sm, m, bsel, 2, sel.window));
      TEST_OK(hcsc_grid_create(MPI_COMM_WORLD, 2, 5, 3, NULL, &g));
      if (g) {
        hcsc_box box = hcsc_grid_box(g);
        TEST_OK(hcsc_tile_alloc(&tile, &box, box.nb, 2));
        TEST_OK(hcsc_scene_read(s, &sel, g, &tile));
        check_tile(&tile, dt, bsel, sel.window, "selection");
        snprintf(out, sizeof out, "%s/sel_%s_%s.bsq", tmp, hcsc_dtype_name(dt), ext[d]);
        TEST_OK(hcsc_scene_write(out, &sm, g, &tile, NULL));
        if (rank == 0) check_written(out, dt, bsel, 2, sel.window);
        hcsc_scene *w = NULL;
        TEST_OK(hcsc_scene_open(MPI_COMM_WORLD, out, &w));
        if (w) check_meta(hcsc_scene_meta(w), out, bsel, 2);
        hcsc_scene_close(&w);
        hcsc_tile_free(&tile);
        hcsc_grid_destroy(&g);
      }
      hcsc_meta_free(&sm);
      hcsc_scene_close(&s);
    }
  TEST_ASSERT(nwritten > 0, "nothing written");

  /* Writing NaN into an integer type without nodata gives 0; with nodata,
   * the nodata value (checked above via the fixtures' NaN pixel). */
  CPLFree(crs_wkt);
  return test_finish("t_io_roundtrip");
}
