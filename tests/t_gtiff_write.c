/* GeoTIFF writer: on every grid shape that fits the rank count, a 5 x 9 x 7
 * scene in uint8/int16/float32, with and without DEFLATE, and a 2 x 300 x 20
 * scene (two block strips), are written by hcsc_io_gtiff_write and read back
 * by GDAL on rank 0: every pixel against the serial expectation, metadata,
 * tiling and block size, compression, BigTIFF magic.  Failures (missing
 * directory, a file size limit on rank 0 mid-write) must give the same
 * error on every rank and never hang. */
#include "config.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <cpl_conv.h>
#include <gdal.h>
#include <ogr_srs_api.h>

#include "hypercsc.h"
#include "io/io_impl.h"
#include "testutil.h"

static double expected(hcsc_dtype t, int64_t b, int64_t r, int64_t c)
{
  if ((b == 1 && r == 4 && c == 3) || (b == 0 && r == 0 && c == 0)) return NAN;
  switch (t) {
  case HCSC_DT_UINT8: return (double)((b * 50 + r * 7 + c * 3) % 250);
  case HCSC_DT_INT16: return (double)(b * 1000 - r * 37 + c * 31 - 50);
  default: return b * 100.0 + r * 0.5 + c * 0.25 - 3.0;
  }
}

static double nodata_of(hcsc_dtype t)
{
  return t == HCSC_DT_UINT8 ? 255.0 : t == HCSC_DT_INT16 ? -32768.0 : -9999.0;
}

static void make_meta(hcsc_meta *m, hcsc_dtype t, int64_t nb, int64_t nr, int64_t nc)
{
  static const double gt[6] = {300000.0, 2.5, 0.0, 5000000.0, 0.0, -2.5};
  char *wkt = NULL;
  OGRSpatialReferenceH srs = OSRNewSpatialReference(NULL);
  hcsc_meta_init(m);
  m->bands = nb, m->rows = nr, m->cols = nc, m->dtype = t;
  m->has_geotransform = 1;
  memcpy(m->geotransform, gt, sizeof gt);
  OSRImportFromEPSG(srs, 32632);
  OSRExportToWkt(srs, &wkt);
  m->crs_wkt = strdup(wkt);
  CPLFree(wkt);
  OSRDestroySpatialReference(srs);
  m->wavelength = calloc((size_t)nb, sizeof(double));
  m->fwhm = calloc((size_t)nb, sizeof(double));
  m->band_names = calloc((size_t)nb, sizeof(char *));
  for (int64_t b = 0; b < nb; b++) {
    char name[32];
    m->wavelength[b] = 450.0 + 12.5 * (double)b;
    m->fwhm[b] = 10.0 + 0.5 * (double)b;
    snprintf(name, sizeof name, "band %lld", (long long)b + 1);
    m->band_names[b] = strdup(name);
  }
  m->wavelength_units = strdup("Nanometers");
  m->has_nodata = 1;
  m->nodata = nodata_of(t);
}

static void fill_tile(hcsc_tile *t, hcsc_dtype dt)
{
  for (int64_t b = 0; b < t->nchan; b++)
    for (int64_t r = -t->halo; r < t->box.nr + t->halo; r++)
      for (int64_t c = -t->halo; c < t->box.nc + t->halo; c++) {
        int in = r >= 0 && r < t->box.nr && c >= 0 && c < t->box.nc;
        HCSC_TILE_AT(t, b, r, c) =
            in ? (float)expected(dt, t->box.b0 + b, t->box.r0 + r, t->box.c0 + c) : 123.0f;
      }
}

static int block_of(int64_t n) { return n >= 256 ? 256 : (int)((n + 15) / 16 * 16); }

/* Rank 0: everything GDAL sees in the file. */
static void check_file(const char *path, const hcsc_meta *m, hcsc_dtype dt, const char *compress)
{
  unsigned char magic[4] = {0};
  FILE *f = fopen(path, "rb");
  TEST_ASSERT(f && fread(magic, 1, 4, f) == 4, "cannot read %s", path);
  if (f) fclose(f);
  TEST_ASSERT(magic[0] == 'I' && magic[1] == 'I' && magic[2] == 0x2B && magic[3] == 0, "%s: not a BigTIFF", path);

  GDALDatasetH ds = GDALOpen(path, GA_ReadOnly);
  TEST_ASSERT(ds != NULL, "GDAL cannot open %s", path);
  if (!ds) return;
  TEST_ASSERT(GDALGetRasterCount(ds) == m->bands && GDALGetRasterXSize(ds) == m->cols &&
                  GDALGetRasterYSize(ds) == m->rows, "%s: sizes", path);
  const char *cmp = GDALGetMetadataItem(ds, "COMPRESSION", "IMAGE_STRUCTURE");
  if (compress)
    TEST_ASSERT(cmp && !strcmp(cmp, compress), "%s: compression %s", path, cmp ? cmp : "(none)");
  else
    TEST_ASSERT(!cmp, "%s: unexpected compression %s", path, cmp);
  const char *il = GDALGetMetadataItem(ds, "INTERLEAVE", "IMAGE_STRUCTURE");
  TEST_ASSERT(m->bands == 1 || (il && !strcmp(il, "BAND")), "%s: interleave %s", path, il ? il : "(none)");

  hcsc_meta got;
  hcsc_meta_init(&got);
  TEST_OK(hcsc_io_gdal_get_meta(ds, path, &got));
  TEST_ASSERT(got.dtype == dt, "%s: type %s", path, hcsc_dtype_name(got.dtype));
  TEST_ASSERT(got.has_geotransform && !memcmp(got.geotransform, m->geotransform, sizeof m->geotransform),
              "%s: geotransform", path);
  {
    OGRSpatialReferenceH a = OSRNewSpatialReference(m->crs_wkt), b = OSRNewSpatialReference(got.crs_wkt);
    TEST_ASSERT(got.crs_wkt && OSRIsSame(a, b), "%s: CRS differs", path);
    OSRDestroySpatialReference(a);
    OSRDestroySpatialReference(b);
  }
  TEST_ASSERT(got.has_nodata && got.nodata == m->nodata, "%s: nodata %g", path, got.nodata);
  for (int64_t b = 0; b < m->bands; b++) {
    TEST_ASSERT(got.wavelength && got.wavelength[b] == m->wavelength[b], "%s: wavelength %lld", path, (long long)b);
    TEST_ASSERT(got.fwhm && got.fwhm[b] == m->fwhm[b], "%s: fwhm %lld", path, (long long)b);
    TEST_ASSERT(got.band_names && got.band_names[b] && !strcmp(got.band_names[b], m->band_names[b]),
                "%s: band name %lld", path, (long long)b);
  }
  hcsc_meta_free(&got);

  double *row = malloc((size_t)m->cols * sizeof *row);
  int bad = 0;
  for (int b = 0; b < m->bands; b++) {
    GDALRasterBandH h = GDALGetRasterBand(ds, b + 1);
    int bx = 0, by = 0;
    GDALGetBlockSize(h, &bx, &by);
    TEST_ASSERT(bx == block_of(m->cols) && by == block_of(m->rows), "%s: block %dx%d", path, bx, by);
    for (int r = 0; r < m->rows; r++) {
      if (GDALRasterIO(h, GF_Read, 0, r, (int)m->cols, 1, row, (int)m->cols, 1, GDT_Float64, 0, 0) != CE_None)
        bad++;
      for (int c = 0; c < m->cols; c++) {
        double e = expected(dt, b, r, c);
        if (row[c] != (isnan(e) ? m->nodata : (double)(float)e)) bad++;
      }
    }
  }
  TEST_ASSERT(bad == 0, "%s: %d pixels differ", path, bad);
  free(row);
  GDALClose(ds);
}

static void write_and_check(hcsc_dtype dt, const char *compress, int64_t nb, int64_t nr, int64_t nc,
                            const int dims[3])
{
  char path[1024];
  hcsc_meta m;
  hcsc_grid *g = NULL;
  hcsc_tile t = {0};
  make_meta(&m, dt, nb, nr, nc);
  snprintf(path, sizeof path, "%s/w_%s_%s_%lldx%lldx%lld_%dx%dx%d.tif", test_tmp_dir(), hcsc_dtype_name(dt),
           compress ? compress : "none", (long long)nb, (long long)nr, (long long)nc, dims[0], dims[1], dims[2]);
  TEST_OK(hcsc_grid_create(MPI_COMM_WORLD, nb, nr, nc, dims, &g));
  if (g) {
    hcsc_box box = hcsc_grid_box(g);
    TEST_OK(hcsc_tile_alloc(&t, &box, box.nb, 2));
    fill_tile(&t, dt);
    TEST_OK(hcsc_io_gtiff_write(path, &m, g, &t, dt, compress));
    if (test_rank() == 0) check_file(path, &m, dt, compress);
  }
  hcsc_tile_free(&t);
  hcsc_grid_destroy(&g);
  hcsc_meta_free(&m);
}

/* The same non-zero code on every rank, and nobody hangs. */
static void check_agreed(int rc, int want, const char *what)
{
  test_expect_error(rc, want, NULL, what);
}

static void failures(void)
{
  char path[1024];
  hcsc_meta m;
  hcsc_grid *g = NULL;
  hcsc_tile t = {0};
  make_meta(&m, HCSC_DT_FLOAT32, 2, 300, 20);
  TEST_OK(hcsc_grid_create(MPI_COMM_WORLD, 2, 300, 20, NULL, &g));
  if (!g) goto done;
  hcsc_box box = hcsc_grid_box(g);
  TEST_OK(hcsc_tile_alloc(&t, &box, box.nb, 0));
  fill_tile(&t, HCSC_DT_FLOAT32);

  snprintf(path, sizeof path, "%s/no/such/dir/x.tif", test_tmp_dir());
  check_agreed(hcsc_io_gtiff_write(path, &m, g, &t, HCSC_DT_FLOAT32, NULL), 0, "missing directory");

  /* A file size limit on rank 0 only: creation succeeds, strip writes or
   * the flush at close fail while the other ranks are still sending. */
  snprintf(path, sizeof path, "%s/limited.tif", test_tmp_dir());
  struct rlimit old, lim;
  if (test_rank() == 0) {
    signal(SIGXFSZ, SIG_IGN);
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = 8192;
    setrlimit(RLIMIT_FSIZE, &lim);
  }
  int rc = hcsc_io_gtiff_write(path, &m, g, &t, HCSC_DT_FLOAT32, NULL);
  if (test_rank() == 0) setrlimit(RLIMIT_FSIZE, &old);
  check_agreed(rc, HCSC_ENOSPC, "file size limit");
done:
  hcsc_tile_free(&t);
  hcsc_grid_destroy(&g);
  hcsc_meta_free(&m);
}

int main(int argc, char **argv)
{
  test_init(&argc, &argv);
  hcsc_io_gdal_init();
  int np = test_size();
  static const hcsc_dtype types[3] = {HCSC_DT_UINT8, HCSC_DT_INT16, HCSC_DT_FLOAT32};
  for (int gi = 1; gi <= np; gi++)
    for (int pi = 1; pi <= np; pi++) {
      if (np % (gi * pi)) continue;
      int dims[3] = {gi, pi, np / (gi * pi)};
      if (gi <= 5 && pi <= 9 && dims[2] <= 7)
        for (int k = 0; k < 3; k++) {
          write_and_check(types[k], NULL, 5, 9, 7, dims);
          write_and_check(types[k], "DEFLATE", 5, 9, 7, dims);
        }
      if (gi <= 2 && pi <= 300 && dims[2] <= 20) write_and_check(HCSC_DT_FLOAT32, "DEFLATE", 2, 300, 20, dims);
    }
  failures();
  return test_finish("t_gtiff_write");
}
