/* hypercsc — GDAL set-up and the translation between hcsc_meta and GDAL
 * datasets (both directions). */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cpl_conv.h>
#include <gdal.h>

#include "hcsc/error.h"
#include "hcsc/log.h"
#include "io/io_impl.h"

static char gdal_msg[1024];

/* GDAL would print every message on every rank; keep the last failure for
 * our own one-line error instead, and show warnings only when debugging. */
static void store_error(CPLErr cls, CPLErrorNum num, const char *msg)
{
  (void)num;
  if (cls >= CE_Failure) {
    snprintf(gdal_msg, sizeof gdal_msg, "%s", msg ? msg : "");
  } else if (cls == CE_Warning && hcsc_log_get_level() >= HCSC_LOG_DEBUG) {
    hcsc_log_any(HCSC_LOG_DEBUG, "GDAL warning: %s", msg ? msg : "");
  }
}

/* GDAL's ENVI reader reports a band's description as the header's band
 * name followed by " (<wavelength> <units>)".  Remove that decoration so
 * that band names survive an ENVI round trip unchanged. */
static void strip_envi_suffix(char *name, const char *units)
{
  size_t n = strlen(name);
  char *open = strrchr(name, '(');
  if (n < 4 || name[n - 1] != ')' || !open || open == name || open[-1] != ' ') return;
  char *end = NULL;
  strtod(open + 1, &end);
  if (end == open + 1) return;
  const char *rest = end;
  if (*rest == ' ') {
    rest++;
    size_t ul = strlen(rest) - 1; /* without ')' */
    if (!units || strlen(units) != ul || strncmp(rest, units, ul) != 0) return;
  } else if (*rest != ')' || rest[1] != '\0') {
    return;
  }
  open[-1] = '\0';
}

/* See io_impl.h.  Not collective. */
void hcsc_io_gdal_init(void)
{
  static int done = 0;
  if (done) return;
  done = 1;
  GDALAllRegister();
  /* Everything hypercsc writes is kept by the format itself (ENVI header,
   * GeoTIFF tags, NetCDF attributes); GDAL's .aux.xml side files would only
   * duplicate it beside every output.  A user's own setting wins. */
  if (!CPLGetConfigOption("GDAL_PAM_ENABLED", NULL)) CPLSetConfigOption("GDAL_PAM_ENABLED", "NO");
  /* Each rank has its own block cache: keep it modest so that many ranks
   * per node do not exhaust memory. */
  GDALSetCacheMax64((GIntBig)256 * 1024 * 1024);
  CPLSetErrorHandler(store_error);
  /* A write past RLIMIT_FSIZE must fail with EFBIG, not kill the rank. */
  signal(SIGXFSZ, SIG_IGN);
}

const char *hcsc_io_gdal_last_error(void) { return gdal_msg; }

hcsc_dtype hcsc_io_dtype_from_gdal(GDALDataType t)
{
  switch (t) {
  case GDT_Byte: return HCSC_DT_UINT8;
  case GDT_Int16: return HCSC_DT_INT16;
  case GDT_UInt16: return HCSC_DT_UINT16;
  case GDT_Int32: return HCSC_DT_INT32;
  case GDT_Float32: return HCSC_DT_FLOAT32;
  case GDT_Float64: return HCSC_DT_FLOAT64;
  default: return HCSC_DT_NONE;
  }
}

GDALDataType hcsc_io_dtype_to_gdal(hcsc_dtype t)
{
  switch (t) {
  case HCSC_DT_UINT8: return GDT_Byte;
  case HCSC_DT_INT16: return GDT_Int16;
  case HCSC_DT_UINT16: return GDT_UInt16;
  case HCSC_DT_INT32: return GDT_Int32;
  case HCSC_DT_FLOAT32: return GDT_Float32;
  case HCSC_DT_FLOAT64: return GDT_Float64;
  default: return GDT_Unknown;
  }
}

/* Parse an ENVI list "{ 400.0, 410.0 , ...}" of exactly n numbers into a
 * new array; NULL (no error) when absent or of another length, since a
 * malformed optional list should not make the scene unreadable. */
static double *parse_list(const char *s, int64_t n)
{
  if (!s) return NULL;
  double *v = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
  if (!v) return NULL;
  const char *p = s;
  while (*p == ' ' || *p == '{') p++;
  int64_t k = 0;
  while (*p && *p != '}') {
    char *end;
    double x = strtod(p, &end);
    if (end == p) break;
    if (k < n) v[k] = x;
    k++;
    p = end;
    while (*p == ' ' || *p == ',' || *p == '\n' || *p == '\t') p++;
  }
  if (k != n) {
    free(v);
    return NULL;
  }
  return v;
}

static char *strip_braces(const char *s)
{
  while (*s == ' ' || *s == '{') s++;
  char *d = strdup(s);
  if (!d) return NULL;
  size_t n = strlen(d);
  while (n && (d[n - 1] == '}' || d[n - 1] == ' ')) d[--n] = '\0';
  return d;
}

/* See io_impl.h.  Not collective. */
int hcsc_io_gdal_get_meta(GDALDatasetH ds, const char *path, hcsc_meta *m)
{
  int err = 0;
  double *bbl = NULL;
  int64_t nb = GDALGetRasterCount(ds);
  hcsc_meta_init(m);
  m->bands = nb;
  m->rows = GDALGetRasterYSize(ds);
  m->cols = GDALGetRasterXSize(ds);
  if (nb <= 0 || m->rows <= 0 || m->cols <= 0)
    HCSC_FAIL(HCSC_ESIZE, "%s: empty scene (%lld bands, %lld rows, %lld columns)", path,
              (long long)nb, (long long)m->rows, (long long)m->cols);
  GDALDataType gt0 = GDALGetRasterDataType(GDALGetRasterBand(ds, 1));
  for (int b = 2; b <= nb; b++)
    if (GDALGetRasterDataType(GDALGetRasterBand(ds, b)) != gt0)
      HCSC_FAIL(HCSC_ETYPE, "%s: bands have different data types (band 1 %s, band %d %s)", path,
                GDALGetDataTypeName(gt0), b,
                GDALGetDataTypeName(GDALGetRasterDataType(GDALGetRasterBand(ds, b))));
  m->dtype = hcsc_io_dtype_from_gdal(gt0);
  if (m->dtype == HCSC_DT_NONE)
    HCSC_FAIL(HCSC_ETYPE,
              "%s: unsupported data type %s (supported: uint8, int16, uint16, int32, float32, float64)",
              path, GDALGetDataTypeName(gt0));

  if (GDALGetGeoTransform(ds, m->geotransform) == CE_None) m->has_geotransform = 1;
  const char *wkt = GDALGetProjectionRef(ds);
  if (wkt && *wkt && !(m->crs_wkt = strdup(wkt))) HCSC_FAIL(HCSC_ENOMEM, "out of memory");

  /* Spectral description: the ENVI domain first (ENVI headers), then per
   * band items (GeoTIFF and GDAL's own ENVI band metadata). */
  m->wavelength = parse_list(GDALGetMetadataItem(ds, "wavelength", "ENVI"), nb);
  m->fwhm = parse_list(GDALGetMetadataItem(ds, "fwhm", "ENVI"), nb);
  bbl = parse_list(GDALGetMetadataItem(ds, "bbl", "ENVI"), nb);
  const char *units = GDALGetMetadataItem(ds, "wavelength_units", "ENVI");
  if (!units) units = GDALGetMetadataItem(ds, "wavelength_units", NULL);
  if (!units) units = GDALGetMetadataItem(GDALGetRasterBand(ds, 1), "wavelength_units", NULL);
  if (units && *units && !(m->wavelength_units = strip_braces(units)))
    HCSC_FAIL(HCSC_ENOMEM, "out of memory");
  const char *items[3] = {"wavelength", "fwhm", "bbl"};
  double **dst[3] = {&m->wavelength, &m->fwhm, &bbl};
  for (int k = 0; k < 3; k++) {
    if (*dst[k]) continue;
    int all = 1;
    for (int b = 1; b <= nb && all; b++)
      all = GDALGetMetadataItem(GDALGetRasterBand(ds, b), items[k], NULL) != NULL;
    if (!all) continue;
    HCSC_CALLOC(*dst[k], nb);
    for (int b = 1; b <= nb; b++)
      (*dst[k])[b - 1] = atof(GDALGetMetadataItem(GDALGetRasterBand(ds, b), items[k], NULL));
  }
  if (bbl) {
    HCSC_CALLOC(m->bbl, nb);
    for (int64_t b = 0; b < nb; b++) m->bbl[b] = bbl[b] != 0;
  }

  const int is_envi = EQUAL(GDALGetDriverShortName(GDALGetDatasetDriver(ds)), "ENVI");
  int any_name = 0, any_scale = 0;
  for (int b = 1; b <= nb; b++) {
    GDALRasterBandH h = GDALGetRasterBand(ds, b);
    const char *d = GDALGetDescription(h);
    if (d && *d) any_name = 1;
    int ok1 = 0, ok2 = 0;
    double s = GDALGetRasterScale(h, &ok1), o = GDALGetRasterOffset(h, &ok2);
    if ((ok1 && s != 1.0) || (ok2 && o != 0.0)) any_scale = 1;
  }
  if (any_name) {
    HCSC_CALLOC(m->band_names, nb);
    for (int b = 1; b <= nb; b++) {
      const char *d = GDALGetDescription(GDALGetRasterBand(ds, b));
      if (!(m->band_names[b - 1] = strdup(d ? d : ""))) HCSC_FAIL(HCSC_ENOMEM, "out of memory");
      if (is_envi) strip_envi_suffix(m->band_names[b - 1], m->wavelength_units);
    }
  }
  if (any_scale) {
    HCSC_CALLOC(m->scale, nb);
    HCSC_CALLOC(m->offset, nb);
    for (int b = 1; b <= nb; b++) {
      m->scale[b - 1] = GDALGetRasterScale(GDALGetRasterBand(ds, b), NULL);
      m->offset[b - 1] = GDALGetRasterOffset(GDALGetRasterBand(ds, b), NULL);
    }
  }
  int has = 0;
  double nd = GDALGetRasterNoDataValue(GDALGetRasterBand(ds, 1), &has);
  if (has) m->has_nodata = 1, m->nodata = nd;

  const char *desc = GDALGetMetadataItem(ds, "DESCRIPTION", NULL);
  if (!desc) desc = GDALGetMetadataItem(ds, "description", "ENVI");
  if (desc && *desc && !(m->description = strip_braces(desc))) HCSC_FAIL(HCSC_ENOMEM, "out of memory");
cleanup:
  free(bbl);
  if (err) hcsc_meta_free(m);
  return err;
}

/* "{ v1, v2, ... }" of n values with %.17g (exact round trip of doubles). */
static char *format_list(const double *v, const int *iv, int64_t n)
{
  size_t cap = 8 + (size_t)n * 26, len = 0;
  char *s = malloc(cap);
  if (!s) return NULL;
  len += (size_t)snprintf(s + len, cap - len, "{");
  for (int64_t i = 0; i < n; i++) {
    if (v)
      len += (size_t)snprintf(s + len, cap - len, "%s%.17g", i ? ", " : " ", v[i]);
    else
      len += (size_t)snprintf(s + len, cap - len, "%s%d", i ? ", " : " ", iv[i]);
  }
  snprintf(s + len, cap - len, " }");
  return s;
}

/* See io_impl.h.  Not collective. */
int hcsc_io_gdal_set_meta(GDALDatasetH ds, const hcsc_meta *m)
{
  int err = 0;
  char *list = NULL;
  const char *drv = GDALGetDriverShortName(GDALGetDatasetDriver(ds));
  int envi = drv && strcasecmp(drv, "ENVI") == 0;
  int64_t nb = m->bands;
  if (nb != GDALGetRasterCount(ds))
    HCSC_FAIL(HCSC_ESIZE, "%s: %d bands in the dataset, %lld in the metadata", GDALGetDescription(ds),
              GDALGetRasterCount(ds), (long long)nb);
  if (m->has_geotransform && GDALSetGeoTransform(ds, (double *)m->geotransform) != CE_None)
    HCSC_FAIL(HCSC_EGDAL, "%s: cannot set the geotransform: %s", GDALGetDescription(ds), gdal_msg);
  if (m->crs_wkt && GDALSetProjection(ds, m->crs_wkt) != CE_None)
    HCSC_FAIL(HCSC_EGDAL, "%s: cannot set the CRS: %s", GDALGetDescription(ds), gdal_msg);
  for (int b = 1; b <= nb; b++) {
    GDALRasterBandH h = GDALGetRasterBand(ds, b);
    if (m->has_nodata) GDALSetRasterNoDataValue(h, m->nodata);
    if (m->band_names && m->band_names[b - 1]) GDALSetDescription(h, m->band_names[b - 1]);
    if (m->scale) GDALSetRasterScale(h, m->scale[b - 1]);
    if (m->offset) GDALSetRasterOffset(h, m->offset[b - 1]);
  }
  if (envi) {
    /* GDAL's ENVI driver writes the items of the ENVI domain into the .hdr. */
    const double *arr[2] = {m->wavelength, m->fwhm};
    const char *key[2] = {"wavelength", "fwhm"};
    for (int k = 0; k < 2; k++) {
      if (!arr[k]) continue;
      if (!(list = format_list(arr[k], NULL, nb))) HCSC_FAIL(HCSC_ENOMEM, "out of memory");
      GDALSetMetadataItem(ds, key[k], list, "ENVI");
      free(list);
      list = NULL;
    }
    if (m->bbl) {
      if (!(list = format_list(NULL, m->bbl, nb))) HCSC_FAIL(HCSC_ENOMEM, "out of memory");
      GDALSetMetadataItem(ds, "bbl", list, "ENVI");
    }
    if (m->wavelength_units) GDALSetMetadataItem(ds, "wavelength_units", m->wavelength_units, "ENVI");
    /* Without one, GDAL would write the (temporary) file name. */
    const char *desc = m->description ? m->description : "written by hypercsc";
    free(list);
    size_t n = strlen(desc) + 3;
    if (!(list = malloc(n))) HCSC_FAIL(HCSC_ENOMEM, "out of memory");
    snprintf(list, n, "{%s}", desc);
    GDALSetMetadataItem(ds, "description", desc, NULL);
  } else {
    char buf[64];
    for (int b = 1; b <= nb; b++) {
      GDALRasterBandH h = GDALGetRasterBand(ds, b);
      if (m->wavelength) {
        snprintf(buf, sizeof buf, "%.17g", m->wavelength[b - 1]);
        GDALSetMetadataItem(h, "wavelength", buf, NULL);
      }
      if (m->fwhm) {
        snprintf(buf, sizeof buf, "%.17g", m->fwhm[b - 1]);
        GDALSetMetadataItem(h, "fwhm", buf, NULL);
      }
      if (m->bbl) {
        snprintf(buf, sizeof buf, "%d", m->bbl[b - 1]);
        GDALSetMetadataItem(h, "bbl", buf, NULL);
      }
      if (m->wavelength_units) GDALSetMetadataItem(h, "wavelength_units", m->wavelength_units, NULL);
    }
    if (m->wavelength_units) GDALSetMetadataItem(ds, "wavelength_units", m->wavelength_units, NULL);
    if (m->description) GDALSetMetadataItem(ds, "DESCRIPTION", m->description, NULL);
  }
cleanup:
  free(list);
  return err;
}
