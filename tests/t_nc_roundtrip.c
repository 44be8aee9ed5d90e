/* NetCDF round trip: a 5 x 9 x 7 scene (float32 with a NaN pixel and
 * nodata, int16 with per-band scale) with full metadata is written through
 * hcsc_scene_write on every grid shape that fits the rank count, read back
 * through hcsc_scene_open/read (whole and a band list + window), by GDAL on
 * rank 0, and its header checked through the PnetCDF API.  Expected pixels
 * are computed serially in the test. */
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
#include <pnetcdf.h>

#include "hypercsc.h"
#include "io/io_impl.h"
#include "testutil.h"

enum { NB = 5, NR = 9, NC = 7 };

/* The stored value of pixel (b, r, c) for type t; NaN marks nodata. */
static double expected(hcsc_dtype t, int64_t b, int64_t r, int64_t c)
{
  if ((b == 2 && r == 4 && c == 3) || (b == 4 && r == 8 && c == 6)) return NAN;
  if (t == HCSC_DT_INT16) return (double)(b * 1000 - r * 377 + c * 31 - 50);
  return b * 100.0 + r * 10.0 + c + 0.25 * (double)(c % 4) - 0.125 * (double)r;
}

static char *wkt_utm(void)
{
  char *wkt = NULL, *out;
  OGRSpatialReferenceH srs = OSRNewSpatialReference(NULL);
  OSRImportFromEPSG(srs, 32633);
  OSRExportToWkt(srs, &wkt);
  out = strdup(wkt);
  CPLFree(wkt);
  OSRDestroySpatialReference(srs);
  return out;
}

static void make_meta(hcsc_meta *m, hcsc_dtype t)
{
  static const double gt[6] = {500000.0, 30.0, 0.0, 4100000.0, 0.0, -30.0};
  hcsc_meta_init(m);
  m->bands = NB, m->rows = NR, m->cols = NC, m->dtype = t;
  m->has_geotransform = 1;
  memcpy(m->geotransform, gt, sizeof gt);
  m->crs_wkt = wkt_utm();
  m->wavelength = calloc(NB, sizeof(double));
  m->fwhm = calloc(NB, sizeof(double));
  m->bbl = calloc(NB, sizeof(int));
  m->band_names = calloc(NB, sizeof(char *));
  m->scale = calloc(NB, sizeof(double));
  m->offset = calloc(NB, sizeof(double));
  for (int b = 0; b < NB; b++) {
    char name[32];
    m->wavelength[b] = 400.5 + 10.25 * b;
    m->fwhm[b] = 9.5 + 0.125 * b;
    m->bbl[b] = b != 2;
    snprintf(name, sizeof name, b % 2 ? "Band %d" : "Long band name %d", b + 1);
    m->band_names[b] = strdup(name);
    /* int16: per-band scale (variables); float32: uniform (attributes). */
    m->scale[b] = t == HCSC_DT_INT16 ? 0.001 * (b + 1) : 2.0;
    m->offset[b] = t == HCSC_DT_INT16 ? 0.0 : 1.5;
  }
  m->wavelength_units = strdup("Nanometers");
  m->has_nodata = 1;
  m->nodata = t == HCSC_DT_INT16 ? -32768.0 : -9999.0;
  m->description = strdup("hypercsc NetCDF round-trip fixture");
}

static int same_d(const double *a, const double *b, int64_t n)
{
  if (!a || !b) return a == b;
  for (int64_t i = 0; i < n; i++)
    if (a[i] != b[i]) return 0;
  return 1;
}

static void check_meta(const hcsc_meta *got, const hcsc_meta *want, hcsc_dtype t, int64_t nb)
{
  TEST_ASSERT(got->bands == nb && got->rows == want->rows && got->cols == want->cols, "sizes %lld %lld %lld",
              (long long)got->bands, (long long)got->rows, (long long)got->cols);
  TEST_ASSERT(got->dtype == t, "dtype %s", hcsc_dtype_name(got->dtype));
  TEST_ASSERT(got->has_geotransform && same_d(got->geotransform, want->geotransform, 6), "geotransform");
  TEST_ASSERT(got->crs_wkt && !strcmp(got->crs_wkt, want->crs_wkt), "crs %s", got->crs_wkt ? got->crs_wkt : "(none)");
  if (nb != want->bands) return;
  TEST_ASSERT(same_d(got->wavelength, want->wavelength, nb), "wavelength");
  TEST_ASSERT(same_d(got->fwhm, want->fwhm, nb), "fwhm");
  TEST_ASSERT(got->wavelength_units && !strcmp(got->wavelength_units, "Nanometers"), "units %s",
              got->wavelength_units ? got->wavelength_units : "(none)");
  TEST_ASSERT(same_d(got->scale, want->scale, nb) && same_d(got->offset, want->offset, nb), "scale/offset");
  TEST_ASSERT(got->has_nodata && got->nodata == want->nodata, "nodata %g", got->nodata);
  TEST_ASSERT(got->description && !strcmp(got->description, want->description), "description");
  for (int64_t b = 0; b < nb; b++) {
    TEST_ASSERT(got->bbl && got->bbl[b] == want->bbl[b], "bbl[%lld]", (long long)b);
    TEST_ASSERT(got->band_names && got->band_names[b] && !strcmp(got->band_names[b], want->band_names[b]),
                "band name %lld: %s", (long long)b, got->band_names && got->band_names[b] ? got->band_names[b] : "");
  }
}

/* Compare a tile interior (selection bands/window) with expected(). */
static void check_tile(const hcsc_tile *t, hcsc_dtype dt, const int64_t *bands, const int64_t *win, const char *what)
{
  int bad = 0;
  for (int64_t b = 0; b < t->box.nb; b++)
    for (int64_t r = 0; r < t->box.nr; r++)
      for (int64_t c = 0; c < t->box.nc; c++) {
        int64_t fb = bands ? bands[t->box.b0 + b] : t->box.b0 + b;
        double e = expected(dt, fb, win[0] + t->box.r0 + r, win[1] + t->box.c0 + c);
        float v = HCSC_TILE_AT(t, b, r, c);
        if (isnan(e) ? !isnan(v) : v != (float)e) bad++;
      }
  TEST_ASSERT(bad == 0, "%s: %d pixels differ", what, bad);
}

static void fill_tile(hcsc_tile *t, hcsc_dtype dt)
{
  for (int64_t b = 0; b < t->nchan; b++)
    for (int64_t r = -t->halo; r < t->box.nr + t->halo; r++)
      for (int64_t c = -t->halo; c < t->box.nc + t->halo; c++) {
        int in = r >= 0 && r < t->box.nr && c >= 0 && c < t->box.nc;
        /* The halo holds junk that must never reach the file. */
        HCSC_TILE_AT(t, b, r, c) =
            in ? (float)expected(dt, t->box.b0 + b, t->box.r0 + r, t->box.c0 + c) : 7777.0f;
      }
}

/* Debian's GDAL 3.6 does not recognise CDF-5 files.  To still check that
 * GDAL reads our conventions (GeoTransform, grid mapping, _FillValue,
 * band order), rank 0 copies the file to CDF-2 with PnetCDF (same
 * dimensions, variables, attributes and values) and opens the copy. */
static int copy_cdf2(const char *in, const char *out)
{
  int a, b, nd, nv, na, ndim, dims[3], v2;
  char name[NC_MAX_NAME + 1];
  nc_type xt;
  MPI_Offset len, n;
  if (ncmpi_open(MPI_COMM_SELF, in, NC_NOWRITE, MPI_INFO_NULL, &a) != NC_NOERR) return -1;
  if (ncmpi_create(MPI_COMM_SELF, out, NC_CLOBBER | NC_64BIT_OFFSET, MPI_INFO_NULL, &b) != NC_NOERR) return -1;
  ncmpi_inq(a, &nd, &nv, &na, NULL);
  for (int d = 0; d < nd; d++) {
    ncmpi_inq_dim(a, d, name, &len);
    ncmpi_def_dim(b, name, len, &v2);
  }
  for (int i = 0; i < na; i++) {
    ncmpi_inq_attname(a, NC_GLOBAL, i, name);
    ncmpi_copy_att(a, NC_GLOBAL, name, b, NC_GLOBAL);
  }
  for (int v = 0; v < nv; v++) {
    ncmpi_inq_var(a, v, name, &xt, &ndim, dims, &na);
    ncmpi_def_var(b, name, xt, ndim, dims, &v2);
    for (int i = 0; i < na; i++) {
      ncmpi_inq_attname(a, v, i, name);
      ncmpi_copy_att(a, v, name, b, v2);
    }
  }
  if (ncmpi_enddef(b) != NC_NOERR) return -1;
  for (int v = 0; v < nv; v++) {
    ncmpi_inq_var(a, v, name, &xt, &ndim, dims, &na);
    n = 1;
    for (int d = 0; d < ndim; d++) {
      ncmpi_inq_dimlen(a, dims[d], &len);
      n *= len;
    }
    if (xt == NC_CHAR) {
      char *t = calloc((size_t)n + 1, 1);
      ncmpi_get_var_text_all(a, v, t);
      ncmpi_put_var_text_all(b, v, t);
      free(t);
    } else {
      double *t = calloc((size_t)n + 1, sizeof *t);
      ncmpi_get_var_double_all(a, v, t);
      ncmpi_put_var_double_all(b, v, t);
      free(t);
    }
  }
  ncmpi_close(a);
  return ncmpi_close(b) == NC_NOERR ? 0 : -1;
}

/* Rank 0: GDAL's netCDF driver sees the same pixels and georeferencing. */
static void check_gdal(const char *path, hcsc_dtype dt, const hcsc_meta *m)
{
  char name[1200];
  double gt[6], *row = malloc(NC * sizeof *row);
  char copy[1100];
  snprintf(copy, sizeof copy, "%s.cdf2.nc", path);
  TEST_ASSERT(copy_cdf2(path, copy) == 0, "copying %s to CDF-2", path);
  snprintf(name, sizeof name, "NETCDF:\"%s\":data", copy);
  GDALDatasetH ds = GDALOpen(name, GA_ReadOnly);
  TEST_ASSERT(ds != NULL, "GDAL cannot open %s", name);
  if (!ds) {
    free(row);
    return;
  }
  TEST_ASSERT(GDALGetRasterCount(ds) == NB && GDALGetRasterXSize(ds) == NC && GDALGetRasterYSize(ds) == NR,
              "GDAL sizes");
  TEST_ASSERT(GDALGetGeoTransform(ds, gt) == CE_None && same_d(gt, m->geotransform, 6),
              "GDAL geotransform %g %g %g %g %g %g", gt[0], gt[1], gt[2], gt[3], gt[4], gt[5]);
  int bad = 0;
  for (int b = 0; b < NB && GDALGetRasterCount(ds) == NB; b++) {
    GDALRasterBandH h = GDALGetRasterBand(ds, b + 1);
    int has = 0;
    double nd = GDALGetRasterNoDataValue(h, &has);
    if (!has || nd != m->nodata) bad++;
    for (int r = 0; r < NR; r++) {
      if (GDALRasterIO(h, GF_Read, 0, r, NC, 1, row, NC, 1, GDT_Float64, 0, 0) != CE_None) bad++;
      for (int c = 0; c < NC; c++) {
        double e = expected(dt, b, r, c);
        double want = isnan(e) ? m->nodata : (double)(float)e;
        if (row[c] != want) bad++;
      }
    }
  }
  TEST_ASSERT(bad == 0, "GDAL read of %s: %d values differ", path, bad);
  GDALClose(ds);
  free(row);
}

/* Rank 0: header facts an `ncmpidump -h` reader relies on. */
static void check_header(const char *path, hcsc_dtype dt)
{
  int ncid, fmt = 0, v;
  char buf[64] = "";
  nc_type xt;
  TEST_ASSERT(ncmpi_open(MPI_COMM_SELF, path, NC_NOWRITE, MPI_INFO_NULL, &ncid) == NC_NOERR, "open %s", path);
  TEST_ASSERT(ncmpi_inq_format(ncid, &fmt) == NC_NOERR && fmt == NC_FORMAT_CDF5, "format %d", fmt);
  MPI_Offset len = 0;
  TEST_ASSERT(ncmpi_inq_attlen(ncid, NC_GLOBAL, "Conventions", &len) == NC_NOERR && len < 63 &&
                  ncmpi_get_att_text(ncid, NC_GLOBAL, "Conventions", buf) == NC_NOERR &&
                  !strncmp(buf, "CF-1.8", 6) && len == 6,
              "Conventions %s", buf);
  TEST_ASSERT(ncmpi_inq_varid(ncid, "wavelength", &v) == NC_NOERR, "wavelength variable");
  memset(buf, 0, sizeof buf);
  TEST_ASSERT(ncmpi_get_att_text(ncid, v, "units", buf) == NC_NOERR && !strcmp(buf, "nm"), "units %s", buf);
  TEST_ASSERT(ncmpi_inq_varid(ncid, "data", &v) == NC_NOERR && ncmpi_inq_vartype(ncid, v, &xt) == NC_NOERR &&
                  xt == (dt == HCSC_DT_INT16 ? NC_SHORT : NC_FLOAT),
              "data type");
  memset(buf, 0, sizeof buf);
  TEST_ASSERT(ncmpi_get_att_text(ncid, v, "grid_mapping", buf) == NC_NOERR && !strcmp(buf, "crs"), "grid_mapping");
  TEST_ASSERT(ncmpi_inq_varid(ncid, "crs", &v) == NC_NOERR && ncmpi_inq_att(ncid, v, "GeoTransform", NULL, NULL) ==
                  NC_NOERR && ncmpi_inq_att(ncid, v, "crs_wkt", NULL, NULL) == NC_NOERR,
              "crs attributes");
  ncmpi_close(ncid);
}

static void roundtrip(hcsc_dtype dt, const int dims[3])
{
  const char *tmp = test_tmp_dir();
  char path[1024];
  hcsc_meta m;
  hcsc_grid *g = NULL, *g2 = NULL;
  hcsc_scene *s = NULL;
  hcsc_tile t = {0}, back = {0}, sub = {0};
  hcsc_write_opts o = {HCSC_FMT_NETCDF, dt, 1, NULL};
  int64_t whole[4] = {0, 0, 0, 0};

  make_meta(&m, dt);
  snprintf(path, sizeof path, "%s/rt_%s_%dx%dx%d.nc", tmp, hcsc_dtype_name(dt), dims[0], dims[1], dims[2]);
  TEST_OK(hcsc_grid_create(MPI_COMM_WORLD, NB, NR, NC, dims, &g));
  if (!g) goto done;
  hcsc_box box = hcsc_grid_box(g);
  TEST_OK(hcsc_tile_alloc(&t, &box, box.nb, 1));
  TEST_OK(hcsc_tile_alloc(&back, &box, box.nb, 0));
  fill_tile(&t, dt);
  TEST_OK(hcsc_scene_write(path, &m, g, &t, &o));

  TEST_OK(hcsc_scene_open(MPI_COMM_WORLD, path, &s));
  if (!s) goto done;
  check_meta(hcsc_scene_meta(s), &m, dt, NB);
  TEST_OK(hcsc_scene_read(s, NULL, g, &back));
  check_tile(&back, dt, NULL, whole, "whole scene");

  /* A band list out of order with a gap, and a window. */
  {
    static const int64_t bands[3] = {3, 1, 2};
    hcsc_selection sel = {bands, 3, {2, 1, 5, 4}};
    TEST_OK(hcsc_grid_create(MPI_COMM_WORLD, 3, 5, 4, NULL, &g2));
    if (g2) {
      hcsc_box b2 = hcsc_grid_box(g2);
      TEST_OK(hcsc_tile_alloc(&sub, &b2, b2.nb, 2));
      TEST_OK(hcsc_scene_read(s, &sel, g2, &sub));
      check_tile(&sub, dt, bands, sel.window, "band list + window");
    }
  }
  if (test_rank() == 0) {
    check_gdal(path, dt, &m);
    check_header(path, dt);
  }
done:
  hcsc_scene_close(&s);
  hcsc_tile_free(&t);
  hcsc_tile_free(&back);
  hcsc_tile_free(&sub);
  hcsc_grid_destroy(&g2);
  hcsc_grid_destroy(&g);
  hcsc_meta_free(&m);
}

/* A 2-D (y, x) variable is a one-band scene; files without a scene
 * variable or that are not NetCDF are HCSC_EFORMAT on every rank. */
static void other_files(void)
{
  const char *tmp = test_tmp_dir();
  char p2d[1024], pnone[1024], ptxt[1024], pmiss[1024];
  hcsc_scene *s = NULL;
  snprintf(p2d, sizeof p2d, "%s/plain2d.nc", tmp);
  snprintf(pnone, sizeof pnone, "%s/novar.nc", tmp);
  snprintf(ptxt, sizeof ptxt, "%s/text.nc", tmp);
  snprintf(pmiss, sizeof pmiss, "%s/missing.nc", tmp);
  if (test_rank() == 0) {
    int ncid, d[2], v;
    float vals[NR * NC];
    for (int i = 0; i < NR * NC; i++) vals[i] = (float)i * 0.5f;
    ncmpi_create(MPI_COMM_SELF, p2d, NC_CLOBBER, MPI_INFO_NULL, &ncid);
    ncmpi_def_dim(ncid, "y", NR, &d[0]);
    ncmpi_def_dim(ncid, "x", NC, &d[1]);
    ncmpi_def_var(ncid, "refl", NC_FLOAT, 2, d, &v);
    ncmpi_enddef(ncid);
    ncmpi_put_var_float_all(ncid, v, vals);
    ncmpi_close(ncid);
    ncmpi_create(MPI_COMM_SELF, pnone, NC_CLOBBER, MPI_INFO_NULL, &ncid);
    ncmpi_def_dim(ncid, "n", 4, &d[0]);
    ncmpi_def_var(ncid, "v", NC_INT, 1, d, &v);
    ncmpi_close(ncid);
    FILE *f = fopen(ptxt, "w");
    if (f) {
      fputs("this is not a NetCDF file\n", f);
      fclose(f);
    }
  }
  MPI_Barrier(MPI_COMM_WORLD);

  TEST_OK(hcsc_scene_open(MPI_COMM_WORLD, p2d, &s));
  if (s) {
    const hcsc_meta *m = hcsc_scene_meta(s);
    TEST_ASSERT(m->bands == 1 && m->rows == NR && m->cols == NC && m->dtype == HCSC_DT_FLOAT32, "2-D sizes");
    hcsc_grid *g = NULL;
    hcsc_tile t = {0};
    TEST_OK(hcsc_grid_create(MPI_COMM_WORLD, 1, NR, NC, NULL, &g));
    if (g) {
      hcsc_box box = hcsc_grid_box(g);
      TEST_OK(hcsc_tile_alloc(&t, &box, 1, 0));
      TEST_OK(hcsc_scene_read(s, NULL, g, &t));
      int bad = 0;
      for (int64_t r = 0; r < box.nr; r++)
        for (int64_t c = 0; c < box.nc; c++)
          if (HCSC_TILE_AT(&t, 0, r, c) != (float)((box.r0 + r) * NC + box.c0 + c) * 0.5f) bad++;
      TEST_ASSERT(bad == 0, "2-D read: %d pixels differ", bad);
    }
    hcsc_tile_free(&t);
    hcsc_grid_destroy(&g);
    hcsc_scene_close(&s);
  }
  int rc = hcsc_scene_open(MPI_COMM_WORLD, pnone, &s);
  TEST_ASSERT(rc == HCSC_EFORMAT && strstr(hcsc_error_message(), "novar.nc"), "no data variable: %s (%s)",
              hcsc_errname(rc), hcsc_error_message());
  hcsc_scene_close(&s);
  rc = hcsc_scene_open(MPI_COMM_WORLD, ptxt, &s);
  TEST_ASSERT(rc == HCSC_EFORMAT && strstr(hcsc_error_message(), "text.nc"), "not NetCDF: %s (%s)",
              hcsc_errname(rc), hcsc_error_message());
  hcsc_scene_close(&s);
  rc = hcsc_scene_open(MPI_COMM_WORLD, pmiss, &s);
  TEST_ASSERT(rc == HCSC_ENOENT, "missing file: %s (%s)", hcsc_errname(rc), hcsc_error_message());
  hcsc_scene_close(&s);
}

/* A file size limit on rank 0 only: the header or the data write fails
 * there, and every rank must return the same error without hanging. */
static void write_failure(void)
{
  char path[1024];
  hcsc_meta m;
  hcsc_grid *g = NULL;
  hcsc_tile t = {0};
  struct rlimit old, lim;
  make_meta(&m, HCSC_DT_FLOAT32);
  snprintf(path, sizeof path, "%s/limited.nc", test_tmp_dir());
  TEST_OK(hcsc_grid_create(MPI_COMM_WORLD, NB, NR, NC, NULL, &g));
  if (g) {
    hcsc_box box = hcsc_grid_box(g);
    TEST_OK(hcsc_tile_alloc(&t, &box, box.nb, 0));
    fill_tile(&t, HCSC_DT_FLOAT32);
    if (test_rank() == 0) {
      signal(SIGXFSZ, SIG_IGN);
      getrlimit(RLIMIT_FSIZE, &old);
      lim = old;
      lim.rlim_cur = 1024;
      setrlimit(RLIMIT_FSIZE, &lim);
    }
    int rc = hcsc_io_nc_write(path, &m, g, &t, HCSC_DT_FLOAT32);
    if (test_rank() == 0) setrlimit(RLIMIT_FSIZE, &old);
    test_expect_error(rc, 0, "limited.nc", "file size limit");
  }
  hcsc_tile_free(&t);
  hcsc_grid_destroy(&g);
  hcsc_meta_free(&m);
}

int main(int argc, char **argv)
{
  test_init(&argc, &argv);
  hcsc_io_gdal_init();
  int np = test_size();
  static const hcsc_dtype types[2] = {HCSC_DT_FLOAT32, HCSC_DT_INT16};
  for (int k = 0; k < 2; k++)
    for (int gi = 1; gi <= np; gi++)
      for (int pi = 1; pi <= np; pi++) {
        if (np % (gi * pi) || gi > NB || pi > NR || np / (gi * pi) > NC) continue;
        int dims[3] = {gi, pi, np / (gi * pi)};
        roundtrip(types[k], dims);
      }
  other_files();
  write_failure();
  return test_finish("t_nc_roundtrip");
}
