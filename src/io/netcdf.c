/* hypercsc — NetCDF scenes through PnetCDF: CF-1.8, CDF-5, a variable
 * data(band, y, x) with wavelength/fwhm/bbl/band_name along band, x/y
 * projection coordinates (pixel centres) and a grid-mapping variable "crs"
 * that carries the WKT and GDAL's GeoTransform, so that GDAL's netCDF
 * driver georeferences the file too.
 *
 * Error discipline: PnetCDF's create/open/enddef/wait_all/close are
 * collective and fail together; the puts and gets between them are local.
 * Every step that can fail on one rank alone is followed by
 * hcsc_error_agree() before the next collective call, and after a failure
 * every rank takes the same path to ncmpi_close/ncmpi_abort. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include <ogr_srs_api.h>
#include <pnetcdf.h>

#include "hcsc/error.h"
#include "hcsc/log.h"
#include "hcsc/timer.h"
#include "io/io_impl.h"

/* ---------------------------------------------------------------- errors */

/* See io_impl.h. */
int hcsc_io_nc_finish(int *ncid, const char *tmp, const char *path, const char *what)
{
  int err = 0, st;
  NC_W(ncmpi_sync(*ncid), "flushing");
  st = ncmpi_close(*ncid);
  *ncid = -1;
  NC_W(st, "closing");
  if (rename(tmp, path) != 0) {
    char msg[128];
    snprintf(msg, sizeof msg, "cannot rename the finished %s to", what);
    err = HCSC_ERR_ERRNO(path, msg);
  }
cleanup:
  if (*ncid >= 0) {
    ncmpi_close(*ncid);
    *ncid = -1;
  }
  return err;
}

static int nc_code(int st)
{
  switch (st) {
  case NC_ENOENT: case NC_ENOTFOUND: return HCSC_ENOENT;
  case NC_EACCESS: case NC_EPERM: return HCSC_EACCES;
  case NC_EEXIST: return HCSC_EEXIST;
  case NC_ENOTNC: case NC_ETRUNC: case NC_ENULLPAD: return HCSC_EFORMAT;
  case NC_ENO_SPACE: case NC_EQUOTA: return HCSC_ENOSPC;
  case NC_ENOMEM: return HCSC_ENOMEM;
  case NC_ERANGE: return HCSC_ERANGE;
  case NC_EFILE: case NC_EREAD: case NC_EWRITE: case NC_EOFILE: case NC_EIO: return HCSC_EIO;
  default: return HCSC_ENETCDF;
  }
}

/* Wrap a PnetCDF status with its own text and the file name; needs "err",
 * "path" and "cleanup:". */
#define NC_TRY(call, what)                                                              \
  do {                                                                                  \
    int nc_st_ = (call);                                                                \
    if (nc_st_ != NC_NOERR) {                                                           \
      err = hcsc_error_set(nc_code(nc_st_), __FILE__, __LINE__, "%s: %s: %s", path, (what), \
                           ncmpi_strerror(nc_st_));                                     \
      goto cleanup;                                                                     \
    }                                                                                   \
  } while (0)

/* A PnetCDF status as an HCSC code (0 for NC_NOERR), recording the reason
 * with the file name. */
static int nc_status(int st, const char *path, const char *what, int line)
{
  if (st == NC_NOERR) return 0;
  return hcsc_error_set(nc_code(st), __FILE__, line, "%s: %s: %s", path, what, ncmpi_strerror(st));
}

/* ------------------------------------------------------------ data types */

static nc_type nc_type_of(hcsc_dtype t)
{
  switch (t) {
  case HCSC_DT_UINT8: return NC_UBYTE;
  case HCSC_DT_INT16: return NC_SHORT;
  case HCSC_DT_UINT16: return NC_USHORT;
  case HCSC_DT_INT32: return NC_INT;
  case HCSC_DT_FLOAT32: return NC_FLOAT;
  case HCSC_DT_FLOAT64: return NC_DOUBLE;
  default: return NC_NAT;
  }
}

static hcsc_dtype dtype_of_nc(nc_type t)
{
  switch (t) {
  case NC_UBYTE: return HCSC_DT_UINT8;
  case NC_SHORT: return HCSC_DT_INT16;
  case NC_USHORT: return HCSC_DT_UINT16;
  case NC_INT: return HCSC_DT_INT32;
  case NC_FLOAT: return HCSC_DT_FLOAT32;
  case NC_DOUBLE: return HCSC_DT_FLOAT64;
  default: return HCSC_DT_NONE;
  }
}

/* ---------------------------------------------------------------- writing */

/* Variable ids of a file being defined; -1 when absent. */
typedef struct {
  int d_band, d_y, d_x, d_nchar;
  int data, band, wl, fwhm, bbl, name, x, y, crs, scale, offset;
} nc_ids;

static int all_equal(const double *v, int64_t n)
{
  for (int64_t i = 1; i < n; i++)
    if (v[i] != v[0]) return 0;
  return 1;
}

/* CF name of the wavelength units kept in hcsc_meta (ENVI's words). */
static const char *cf_units(const char *u)
{
  if (!u || !u[0] || !strcasecmp(u, "Nanometers") || !strcasecmp(u, "nanometer")) return "nm";
  if (!strcasecmp(u, "Micrometers") || !strcasecmp(u, "micrometer") || !strcasecmp(u, "Microns"))
    return "um";
  return u;
}

/* The linear unit of a projected CRS for the x/y coordinates: "m" for
 * metres, GDAL's unit name otherwise; NULL for a geographic or no CRS. */
static int crs_projected(const char *wkt, char *unit, size_t len)
{
  int projected = 0;
  OGRSpatialReferenceH srs = NULL;
  if (!wkt || !wkt[0]) return 0;
  srs = OSRNewSpatialReference(NULL);
  if (srs && OSRImportFromWkt(srs, (char **)&wkt) == OGRERR_NONE && OSRIsProjected(srs)) {
    char *name = NULL;
    double f = OSRGetLinearUnits(srs, &name);
    projected = 1;
    snprintf(unit, len, "%s", (f == 1.0 || !name) ? "m" : name);
  }
  if (srs) OSRDestroySpatialReference(srs);
  return projected;
}

static int put_text(int ncid, int varid, const char *name, const char *s)
{
  return ncmpi_put_att_text(ncid, varid, name, (MPI_Offset)strlen(s), s);
}

/* Define dimensions, variables and attributes (local, in define mode).
 * stamp: the creation time agreed on rank 0, so that every rank writes
 * an identical header (PnetCDF checks it at enddef). */
static int nc_define(int ncid, const char *path, const hcsc_meta *m, hcsc_dtype dtype,
                     long long stamp, int64_t nchar, nc_ids *id)
{
  int err = 0, dims[3];
  char buf[512], unit[64];
  nc_type xt = nc_type_of(dtype);
  int projected = crs_projected(m->crs_wkt, unit, sizeof unit);
  time_t tt = (time_t)stamp;
  struct tm tmv;

  id->wl = id->fwhm = id->bbl = id->name = id->x = id->y = id->crs = -1;
  id->scale = id->offset = id->d_nchar = -1;
  NC_TRY(ncmpi_def_dim(ncid, "band", m->bands, &id->d_band), "defining dimension band");
  NC_TRY(ncmpi_def_dim(ncid, "y", m->rows, &id->d_y), "defining dimension y");
  NC_TRY(ncmpi_def_dim(ncid, "x", m->cols, &id->d_x), "defining dimension x");

  NC_TRY(put_text(ncid, NC_GLOBAL, "Conventions", "CF-1.8"), "writing Conventions");
  NC_TRY(put_text(ncid, NC_GLOBAL, "title", m->description ? m->description : "hypercsc scene"),
         "writing title");
  if (m->description)
    NC_TRY(put_text(ncid, NC_GLOBAL, "description", m->description), "writing description");
  gmtime_r(&tt, &tmv);
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tmv);
  {
    char hist[600];
    snprintf(hist, sizeof hist, "%s: written by hypercsc %s", buf, PACKAGE_VERSION);
    NC_TRY(put_text(ncid, NC_GLOBAL, "history", hist), "writing history");
  }
  NC_TRY(put_text(ncid, NC_GLOBAL, "hypercsc_version", PACKAGE_VERSION), "writing hypercsc_version");

  /* band: an integer coordinate (1-based band numbers) so every band has a
   * label even without wavelengths; spectral values are auxiliary
   * coordinates along it. */
  NC_TRY(ncmpi_def_var(ncid, "band", NC_INT, 1, &id->d_band, &id->band), "defining band");
  NC_TRY(put_text(ncid, id->band, "long_name", "band number (1-based)"), "writing band attributes");
  if (m->wavelength) {
    NC_TRY(ncmpi_def_var(ncid, "wavelength", NC_DOUBLE, 1, &id->d_band, &id->wl), "defining wavelength");
    NC_TRY(put_text(ncid, id->wl, "standard_name", "radiation_wavelength"), "writing wavelength attributes");
    NC_TRY(put_text(ncid, id->wl, "long_name", "band centre wavelength"), "writing wavelength attributes");
    NC_TRY(put_text(ncid, id->wl, "units", cf_units(m->wavelength_units)), "writing wavelength units");
    /* ENVI's own word ("Nanometers"), so that round trips keep it. */
    if (m->wavelength_units)
      NC_TRY(put_text(ncid, id->wl, "wavelength_units", m->wavelength_units), "writing wavelength units");
  }
  if (m->fwhm) {
    NC_TRY(ncmpi_def_var(ncid, "fwhm", NC_DOUBLE, 1, &id->d_band, &id->fwhm), "defining fwhm");
    NC_TRY(put_text(ncid, id->fwhm, "long_name", "band full width at half maximum"), "writing fwhm attributes");
    NC_TRY(put_text(ncid, id->fwhm, "units", cf_units(m->wavelength_units)), "writing fwhm units");
  }
  if (m->bbl) {
    NC_TRY(ncmpi_def_var(ncid, "bbl", NC_INT, 1, &id->d_band, &id->bbl), "defining bbl");
    NC_TRY(put_text(ncid, id->bbl, "long_name", "bad band list (1 = good, 0 = bad)"), "writing bbl attributes");
  }
  if (m->band_names) {
    int d2[2];
    NC_TRY(ncmpi_def_dim(ncid, "name_strlen", nchar, &id->d_nchar), "defining dimension name_strlen");
    d2[0] = id->d_band;
    d2[1] = id->d_nchar;
    NC_TRY(ncmpi_def_var(ncid, "band_name", NC_CHAR, 2, d2, &id->name), "defining band_name");
    NC_TRY(put_text(ncid, id->name, "long_name", "band name"), "writing band_name attributes");
  }
  /* Per-band scale/offset that differ between bands cannot be CF
   * attributes: keep them as variables along band. */
  if ((m->scale && !all_equal(m->scale, m->bands)) || (m->offset && !all_equal(m->offset, m->bands))) {
    NC_TRY(ncmpi_def_var(ncid, "band_scale", NC_DOUBLE, 1, &id->d_band, &id->scale), "defining band_scale");
    NC_TRY(ncmpi_def_var(ncid, "band_offset", NC_DOUBLE, 1, &id->d_band, &id->offset), "defining band_offset");
  }

  if (m->has_geotransform) {
    NC_TRY(ncmpi_def_var(ncid, "x", NC_DOUBLE, 1, &id->d_x, &id->x), "defining x");
    NC_TRY(ncmpi_def_var(ncid, "y", NC_DOUBLE, 1, &id->d_y, &id->y), "defining y");
    if (projected || !m->crs_wkt) {
      NC_TRY(put_text(ncid, id->x, "standard_name", "projection_x_coordinate"), "writing x attributes");
      NC_TRY(put_text(ncid, id->y, "standard_name", "projection_y_coordinate"), "writing y attributes");
      if (projected) {
        NC_TRY(put_text(ncid, id->x, "units", unit), "writing x units");
        NC_TRY(put_text(ncid, id->y, "units", unit), "writing y units");
      }
    } else {
      NC_TRY(put_text(ncid, id->x, "standard_name", "longitude"), "writing x attributes");
      NC_TRY(put_text(ncid, id->y, "standard_name", "latitude"), "writing y attributes");
      NC_TRY(put_text(ncid, id->x, "units", "degrees_east"), "writing x units");
      NC_TRY(put_text(ncid, id->y, "units", "degrees_north"), "writing y units");
    }
    NC_TRY(put_text(ncid, id->x, "long_name", "x coordinate of pixel centre"), "writing x attributes");
    NC_TRY(put_text(ncid, id->y, "long_name", "y coordinate of pixel centre"), "writing y attributes");
  }
  if (m->has_geotransform || m->crs_wkt) {
    NC_TRY(ncmpi_def_var(ncid, "crs", NC_INT, 0, NULL, &id->crs), "defining crs");
    if (m->crs_wkt) {
      NC_TRY(put_text(ncid, id->crs, "crs_wkt", m->crs_wkt), "writing crs_wkt");
      NC_TRY(put_text(ncid, id->crs, "spatial_ref", m->crs_wkt), "writing spatial_ref");
    }
    if (m->has_geotransform) {
      const double *g = m->geotransform;
      snprintf(buf, sizeof buf, "%.17g %.17g %.17g %.17g %.17g %.17g", g[0], g[1], g[2], g[3], g[4], g[5]);
      NC_TRY(put_text(ncid, id->crs, "GeoTransform", buf), "writing GeoTransform");
    }
  }

  dims[0] = id->d_band;
  dims[1] = id->d_y;
  dims[2] = id->d_x;
  NC_TRY(ncmpi_def_var(ncid, "data", xt, 3, dims, &id->data), "defining data");
  NC_TRY(put_text(ncid, id->data, "long_name", m->description ? m->description : "scene data"),
         "writing data attributes");
  if (id->crs >= 0) NC_TRY(put_text(ncid, id->data, "grid_mapping", "crs"), "writing grid_mapping");
  if (m->wavelength) NC_TRY(put_text(ncid, id->data, "coordinates", "wavelength"), "writing coordinates");
  if (m->has_nodata) {
    double lo, hi;
    hcsc_dtype_range(dtype, &lo, &hi);
    /* An integer file cannot hold a NaN or out-of-range fill value. */
    if (isnan(m->nodata) ? (dtype == HCSC_DT_FLOAT32 || dtype == HCSC_DT_FLOAT64)
                         : (m->nodata >= lo && m->nodata <= hi))
      NC_TRY(ncmpi_put_att_double(ncid, id->data, "_FillValue", xt, 1, &m->nodata), "writing _FillValue");
    else
      hcsc_log_warn("%s: nodata %g does not fit type %s; no _FillValue written", path, m->nodata,
                    hcsc_dtype_name(dtype));
  }
  if (id->scale < 0) {
    if (m->scale) NC_TRY(ncmpi_put_att_double(ncid, id->data, "scale_factor", NC_DOUBLE, 1, m->scale),
                         "writing scale_factor");
    if (m->offset) NC_TRY(ncmpi_put_att_double(ncid, id->data, "add_offset", NC_DOUBLE, 1, m->offset),
                          "writing add_offset");
  }
cleanup:
  return err;
}

/* Post the nonblocking put of this rank's box (buf: interior, contiguous,
 * already converted to dtype). */
static int nc_iput_data(int ncid, int varid, hcsc_dtype t, const MPI_Offset *st, const MPI_Offset *ct,
                        const void *buf, int *req)
{
  switch (t) {
  case HCSC_DT_UINT8: return ncmpi_iput_vara_uchar(ncid, varid, st, ct, buf, req);
  case HCSC_DT_INT16: return ncmpi_iput_vara_short(ncid, varid, st, ct, buf, req);
  case HCSC_DT_UINT16: return ncmpi_iput_vara_ushort(ncid, varid, st, ct, buf, req);
  case HCSC_DT_INT32: return ncmpi_iput_vara_int(ncid, varid, st, ct, buf, req);
  case HCSC_DT_FLOAT32: return ncmpi_iput_vara_float(ncid, varid, st, ct, buf, req);
  case HCSC_DT_FLOAT64: return ncmpi_iput_vara_double(ncid, varid, st, ct, buf, req);
  default: return NC_EBADTYPE;
  }
}

/* Coordinate values, filled and posted by rank 0 only. */
typedef struct {
  int *band, *bbl;
  double *x, *y;
  double *so; /* band_scale then band_offset */
  char *names;
  int zero;
} nc_coords;

static void coords_free(nc_coords *c)
{
  free(c->band);
  free(c->bbl);
  free(c->x);
  free(c->y);
  free(c->names);
  free(c->so);
  memset(c, 0, sizeof *c);
}

static int coords_make(nc_coords *c, const hcsc_meta *m, int64_t nchar)
{
  int err = 0;
  const double *g = m->geotransform;
  HCSC_CALLOC(c->band, m->bands);
  for (int64_t b = 0; b < m->bands; b++) c->band[b] = (int)(b + 1);
  if (m->bbl) {
    HCSC_CALLOC(c->bbl, m->bands);
    for (int64_t b = 0; b < m->bands; b++) c->bbl[b] = m->bbl[b] ? 1 : 0;
  }
  if (m->band_names) {
    HCSC_CALLOC(c->names, m->bands * nchar);
    for (int64_t b = 0; b < m->bands; b++)
      if (m->band_names[b]) strncpy(c->names + b * nchar, m->band_names[b], (size_t)nchar);
  }
  if ((m->scale && !all_equal(m->scale, m->bands)) || (m->offset && !all_equal(m->offset, m->bands))) {
    HCSC_CALLOC(c->so, 2 * m->bands);
    for (int64_t b = 0; b < m->bands; b++) {
      c->so[b] = m->scale ? m->scale[b] : 1.0;
      c->so[m->bands + b] = m->offset ? m->offset[b] : 0.0;
    }
  }
  if (m->has_geotransform) {
    /* Pixel centres along the first row and column. */
    HCSC_CALLOC(c->x, m->cols);
    HCSC_CALLOC(c->y, m->rows);
    for (int64_t i = 0; i < m->cols; i++) c->x[i] = g[0] + (i + 0.5) * g[1] + 0.5 * g[2];
    for (int64_t j = 0; j < m->rows; j++) c->y[j] = g[3] + 0.5 * g[4] + (j + 0.5) * g[5];
  }
cleanup:
  return err;
}

static int coords_post(int ncid, const char *path, const nc_ids *id, const nc_coords *c, const hcsc_meta *m)
{
  int err = 0, req;
  NC_TRY(ncmpi_iput_var_int(ncid, id->band, c->band, &req), "writing band");
  if (id->wl >= 0) NC_TRY(ncmpi_iput_var_double(ncid, id->wl, m->wavelength, &req), "writing wavelength");
  if (id->fwhm >= 0) NC_TRY(ncmpi_iput_var_double(ncid, id->fwhm, m->fwhm, &req), "writing fwhm");
  if (id->bbl >= 0) NC_TRY(ncmpi_iput_var_int(ncid, id->bbl, c->bbl, &req), "writing bbl");
  if (id->name >= 0) NC_TRY(ncmpi_iput_var_text(ncid, id->name, c->names, &req), "writing band_name");
  if (id->x >= 0) NC_TRY(ncmpi_iput_var_double(ncid, id->x, c->x, &req), "writing x");
  if (id->y >= 0) NC_TRY(ncmpi_iput_var_double(ncid, id->y, c->y, &req), "writing y");
  if (id->crs >= 0) NC_TRY(ncmpi_iput_var_int(ncid, id->crs, &c->zero, &req), "writing crs");
  if (id->scale >= 0) {
    NC_TRY(ncmpi_iput_var_double(ncid, id->scale, c->so, &req), "writing band_scale");
    NC_TRY(ncmpi_iput_var_double(ncid, id->offset, c->so + m->bands, &req), "writing band_offset");
  }
cleanup:
  return err;
}

/* Write a scene as CF-1.8 CDF-5 NetCDF.  The tile interior goes out in
 * rounds of hcsc_io_chunk_bytes(): each rank converts a chunk of whole tile
 * rows to dtype, posts nonblocking puts (one per band the chunk touches;
 * rank 0 adds the coordinate variables in the first round) and one
 * collective wait_all writes them.  Every rank takes part in the same number
 * of rounds.  Memory: the tile plus one chunk; every request stays far
 * below PnetCDF's INT_MAX limit.
 * Collective on the grid's comm.  The caller keeps ownership of all
 * arguments. */
int hcsc_io_nc_write(const char *path, const hcsc_meta *m, const hcsc_grid *g, const hcsc_tile *tile,
                     hcsc_dtype dtype)
{
  char mpath[4200]; /* the path as MPI-IO wants it (hcsc_io_mpi_path) */
  int err = 0, ncid = -1, rank, req;
  MPI_Comm comm = hcsc_grid_comm(g);
  MPI_Info info = MPI_INFO_NULL;
  hcsc_box box = hcsc_grid_box(g);
  int64_t B, H, W, nchar = 1;
  long long stamp = 0;
  MPI_Offset dend = 0;
  void *buf = NULL;
  size_t esz = hcsc_dtype_size(dtype);
  nc_coords co;
  nc_ids id;

  memset(&co, 0, sizeof co);
  hcsc_timer_start(HCSC_PHASE_IO_WRITE);
  MPI_Comm_rank(comm, &rank);
  hcsc_grid_scene(g, &B, &H, &W);

  /* Local checks and allocations first: nothing collective yet. */
  if (nc_type_of(dtype) == NC_NAT)
    err = HCSC_ERR(HCSC_ETYPE, "%s: cannot write type %s to NetCDF", path, hcsc_dtype_name(dtype));
  else if (m->bands != B || m->rows != H || m->cols != W)
    err = HCSC_ERR(HCSC_ESIZE, "%s: metadata is %lld x %lld x %lld but the grid is %lld x %lld x %lld",
                   path, (long long)m->bands, (long long)m->rows, (long long)m->cols, (long long)B,
                   (long long)H, (long long)W);
  else if (!tile || !tile->data || tile->box.nb != box.nb || tile->box.nr != box.nr ||
           tile->box.nc != box.nc || tile->box.b0 != box.b0 || tile->box.r0 != box.r0 ||
           tile->box.c0 != box.c0)
    err = HCSC_ERR(HCSC_EINVAL, "%s: tile does not match this rank's grid box", path);
  const int64_t nrows = box.nb * box.nr;
  int64_t chunk_rows = box.nc > 0 ? hcsc_io_chunk_bytes() / (box.nc * (int64_t)esz) : 1;
  if (chunk_rows < 1) chunk_rows = 1;
  if (chunk_rows > nrows) chunk_rows = nrows > 0 ? nrows : 1;
  int64_t rounds = (nrows + chunk_rows - 1) / chunk_rows, max_rounds = 0;
  if (!err) {
    buf = malloc((size_t)(chunk_rows * box.nc) * esz + 1);
    if (!buf) err = HCSC_ERR(HCSC_ENOMEM, "%s: out of memory for the output buffer", path);
  }
  if (!err && m->band_names)
    for (int64_t b = 0; b < m->bands; b++)
      if (m->band_names[b] && (int64_t)strlen(m->band_names[b]) > nchar)
        nchar = (int64_t)strlen(m->band_names[b]);
  if (!err && rank == 0) err = coords_make(&co, m, nchar);
  stamp = (long long)time(NULL);
  MPI_Bcast(&stamp, 1, MPI_LONG_LONG, 0, comm);
  HCSC_CHECK(hcsc_error_agree(comm, err));
  HCSC_MPI(MPI_Allreduce(&rounds, &max_rounds, 1, MPI_INT64_T, MPI_MAX, comm));

  MPI_Info_create(&info);
  /* Align variables so the large data variable starts on a file-system
   * friendly boundary and the header can grow a little without moving it. */
  MPI_Info_set(info, "nc_var_align_size", "4096");
  MPI_Info_set(info, "nc_header_align_size", "4096");
  err = nc_status(ncmpi_create(comm, hcsc_io_mpi_path(path, mpath, sizeof mpath), NC_CLOBBER | NC_64BIT_DATA, info, &ncid), path,
                  "cannot create NetCDF file", __LINE__);
  if (err) ncid = -1;
  err = hcsc_error_agree(comm, err);
  if (err) {
    /* Closing a handle that only some ranks opened would hang: leak it. */
    ncid = -1;
    goto cleanup;
  }
  /* From here on every jump to cleanup follows an agreement, so all ranks
   * reach ncmpi_abort/ncmpi_close together. */
  err = nc_define(ncid, path, m, dtype, stamp, nchar, &id);
  HCSC_CHECK(hcsc_error_agree(comm, err));
  err = nc_status(ncmpi_enddef(ncid), path, "ending define mode", __LINE__);
  HCSC_CHECK(hcsc_error_agree(comm, err));

  for (int64_t k = 0; k < max_rounds; k++) {
    /* Tile rows [r0, r1) in (band, row) order: one put per band touched. */
    int64_t r0 = k * chunk_rows, r1 = r0 + chunk_rows < nrows ? r0 + chunk_rows : nrows;
    if (k == 0 && rank == 0) err = coords_post(ncid, path, &id, &co, m);
    hcsc_timer_start(HCSC_PHASE_COMPUTE);
    for (int64_t r = r0; !err && r < r1; r++)
      hcsc_dtype_from_float(dtype, &HCSC_TILE_AT(tile, r / box.nr, r % box.nr, 0),
                            (char *)buf + (size_t)((r - r0) * box.nc) * esz, (size_t)box.nc,
                            m->has_nodata, m->nodata);
    hcsc_timer_stop(HCSC_PHASE_COMPUTE);
    for (int64_t r = r0; !err && r < r1;) {
      int64_t b = r / box.nr, rr = r % box.nr;
      int64_t n = box.nr - rr < r1 - r ? box.nr - rr : r1 - r;
      MPI_Offset st[3] = {box.b0 + b, box.r0 + rr, box.c0}, ct[3] = {1, n, box.nc};
      err = nc_status(nc_iput_data(ncid, id.data, dtype, st, ct,
                                   (char *)buf + (size_t)((r - r0) * box.nc) * esz, &req),
                      path, "posting this rank's write", __LINE__);
      r += n;
    }
    HCSC_CHECK(hcsc_error_agree(comm, err));
    err = nc_status(ncmpi_wait_all(ncid, NC_REQ_ALL, NULL, NULL), path, "writing data", __LINE__);
    HCSC_CHECK(hcsc_error_agree(comm, err));
  }
  hcsc_timer_add_bytes(HCSC_PHASE_IO_WRITE, (double)(box.nb * box.nr * box.nc) * (double)esz);
  /* "data" is the last variable, so its end is the file's least size. */
  err = nc_status(ncmpi_inq_varoffset(ncid, id.data, &dend), path, "reading the data offset", __LINE__);
  dend += (MPI_Offset)(B * H * W) * (MPI_Offset)esz;
  HCSC_CHECK(hcsc_error_agree(comm, err));

cleanup:
  if (ncid >= 0) {
    if (err) {
      ncmpi_cancel(ncid, NC_REQ_ALL, NULL, NULL);
      ncmpi_abort(ncid);
    } else {
      /* Write errors may surface only when the last buffers are flushed;
       * the sync puts every rank's data on stable storage before the
       * output is renamed into place. */
      err = nc_status(ncmpi_sync(ncid), path, "flushing NetCDF file", __LINE__);
      int cerr = nc_status(ncmpi_close(ncid), path, "closing NetCDF file", __LINE__);
      if (!err) err = cerr;
      /* Open MPI 4.1's default MPI-IO component (ompio) reports a failed
       * pwritev (disk full, file size limit) on stderr but returns success,
       * so PnetCDF cannot see it: a file shorter than its layout is the
       * trace such a loss leaves. */
      struct stat sb;
      int chk;
      if (!err && rank == 0 && stat(path, &sb) == 0 && (MPI_Offset)sb.st_size < dend)
        err = HCSC_ERR(HCSC_ENOSPC, "%s: file has %lld bytes, its layout needs %lld: writes were lost "
                       "(disk full or file size limit?)", path, (long long)sb.st_size, (long long)dend);
      /* A lost header (rank 0 writes it) may hide behind a full-size file
       * that other ranks' data extended.  Lost data in the middle cannot
       * be seen without reading it back: run with OMPI_MCA_io=romio321,
       * which reports write errors, where that matters. */
      if (!err && rank == 0) {
        if (ncmpi_open(MPI_COMM_SELF, hcsc_io_mpi_path(path, mpath, sizeof mpath), NC_NOWRITE, MPI_INFO_NULL, &chk) != NC_NOERR)
          err = HCSC_ERR(HCSC_ENOSPC, "%s: the NetCDF header did not reach the file: writes were lost "
                         "(disk full or file size limit?)", path);
        else
          ncmpi_close(chk);
      }
      err = hcsc_error_agree(comm, err);
    }
  }
  if (info != MPI_INFO_NULL) MPI_Info_free(&info);
  coords_free(&co);
  free(buf);
  hcsc_timer_stop(HCSC_PHASE_IO_WRITE);
  return err;
}

/* ---------------------------------------------------------------- reading */

/* A text attribute as a new string (*out NULL when absent or not text). */
static int get_text_att(int ncid, int varid, const char *name, char **out)
{
  nc_type t;
  MPI_Offset len;
  *out = NULL;
  if (ncmpi_inq_att(ncid, varid, name, &t, &len) != NC_NOERR || t != NC_CHAR) return 0;
  char *s = calloc((size_t)len + 1, 1);
  if (!s) return HCSC_ERR(HCSC_ENOMEM, "out of memory reading attribute %s", name);
  if (len > 0 && ncmpi_get_att_text(ncid, varid, name, s) != NC_NOERR) {
    free(s);
    return 0;
  }
  *out = s;
  return 0;
}

/* A numeric scalar attribute; *found 0 when absent. */
static void get_num_att(int ncid, int varid, const char *name, double *v, int *found)
{
  nc_type t;
  MPI_Offset len;
  *found = ncmpi_inq_att(ncid, varid, name, &t, &len) == NC_NOERR && t != NC_CHAR && len >= 1 &&
           ncmpi_get_att_double(ncid, varid, name, v) == NC_NOERR;
}

static int dim_named(int ncid, int dimid, const char *a, const char *b)
{
  char name[NC_MAX_NAME + 1];
  if (ncmpi_inq_dimname(ncid, dimid, name) != NC_NOERR) return 0;
  return !strcmp(name, a) || (b && !strcmp(name, b));
}

/* The scene variable: "data" (2-D or 3-D), else the first 3-D variable
 * over (band, y, x), else the first 2-D variable over (y, x).  Not
 * collective. */
static int nc_find_data(int ncid, const char *path, int *varid, int *ndims, int dimids[3])
{
  int nvars = 0, nd, ids[3]; /* PnetCDF's NC_MAX_VAR_DIMS is INT_MAX */
  if (ncmpi_inq_varid(ncid, "data", varid) == NC_NOERR) {
    if (ncmpi_inq_varndims(ncid, *varid, &nd) != NC_NOERR || nd < 2 || nd > 3)
      return HCSC_ERR(HCSC_EFORMAT, "%s: variable \"data\" is not (band, y, x) nor (y, x)", path);
    ncmpi_inq_vardimid(ncid, *varid, dimids);
    *ndims = nd;
    return 0;
  }
  ncmpi_inq_nvars(ncid, &nvars);
  for (int want = 3; want >= 2; want--)
    for (int v = 0; v < nvars; v++) {
      if (ncmpi_inq_varndims(ncid, v, &nd) != NC_NOERR || nd != want) continue;
      ncmpi_inq_vardimid(ncid, v, ids);
      if (!dim_named(ncid, ids[nd - 1], "x", "lon") || !dim_named(ncid, ids[nd - 2], "y", "lat")) continue;
      if (nd == 3 && !dim_named(ncid, ids[0], "band", "bands")) continue;
      *varid = v;
      *ndims = nd;
      memcpy(dimids, ids, (size_t)nd * sizeof(int));
      return 0;
    }
  return HCSC_ERR(HCSC_EFORMAT, "%s: no NetCDF variable \"data\" (band, y, x) nor any (band, y, x) or (y, x) "
                  "variable", path);
}

/* The values of a 1-D variable named name along dimension dimid (n
 * values), as a new double array; NULL when absent or shaped otherwise.
 * Collective on the file's comm (all ranks call it with the same name). */
static int get_dim_var(int ncid, const char *name, int dimid, int64_t n, double **out)
{
  int v, nd, d;
  *out = NULL;
  if (ncmpi_inq_varid(ncid, name, &v) != NC_NOERR) return 0;
  if (ncmpi_inq_varndims(ncid, v, &nd) != NC_NOERR || nd != 1) return 0;
  ncmpi_inq_vardimid(ncid, v, &d);
  if (d != dimid) return 0;
  double *a = calloc((size_t)n, sizeof *a);
  if (!a) return HCSC_ERR(HCSC_ENOMEM, "out of memory reading %s", name);
  if (ncmpi_get_var_double_all(ncid, v, a) != NC_NOERR) {
    free(a);
    return 0;
  }
  *out = a;
  return 0;
}

/* Rows stored south-up: GDAL writes NetCDF bottom-up by default (y
 * increasing); the top image row is then the last file row. */
static int nc_bottom_up(const double *y, int64_t n) { return y && n >= 2 && y[1] > y[0]; }

/* Read the metadata of a NetCDF scene (ours or a CF/GDAL one) into m,
 * which is (re)initialised; free it with hcsc_meta_free.  Not collective
 * (opens the file on MPI_COMM_SELF). */
int hcsc_io_nc_probe(const char *path, hcsc_meta *m)
{
  char mpath[4200]; /* the path as MPI-IO wants it (hcsc_io_mpi_path) */
  int err = 0, ncid = -1, varid, nd, dimids[3], gm = -1;
  nc_type xt;
  MPI_Offset len;
  double *x = NULL, *y = NULL, v;
  int found, found2;
  char *s = NULL, *ours = NULL;

  hcsc_meta_init(m);
  NC_TRY(ncmpi_open(MPI_COMM_SELF, hcsc_io_mpi_path(path, mpath, sizeof mpath), NC_NOWRITE, MPI_INFO_NULL, &ncid), "cannot open as NetCDF");
  HCSC_CHECK(nc_find_data(ncid, path, &varid, &nd, dimids));
  m->bands = 1;
  if (nd == 3) {
    NC_TRY(ncmpi_inq_dimlen(ncid, dimids[0], &len), "reading dimension band");
    m->bands = len;
  }
  NC_TRY(ncmpi_inq_dimlen(ncid, dimids[nd - 2], &len), "reading dimension y");
  m->rows = len;
  NC_TRY(ncmpi_inq_dimlen(ncid, dimids[nd - 1], &len), "reading dimension x");
  m->cols = len;
  if (m->bands <= 0 || m->rows <= 0 || m->cols <= 0)
    HCSC_FAIL(HCSC_ESIZE, "%s: empty scene (%lld x %lld x %lld)", path, (long long)m->bands,
              (long long)m->rows, (long long)m->cols);
  NC_TRY(ncmpi_inq_vartype(ncid, varid, &xt), "reading the data type");
  m->dtype = dtype_of_nc(xt);
  if (m->dtype == HCSC_DT_NONE)
    HCSC_FAIL(HCSC_ETYPE, "%s: NetCDF type %d of the scene variable is not supported", path, (int)xt);

  HCSC_CHECK(get_text_att(ncid, NC_GLOBAL, "description", &m->description));
  HCSC_CHECK(get_text_att(ncid, NC_GLOBAL, "hypercsc_version", &ours));
  if (!m->description && !ours) HCSC_CHECK(get_text_att(ncid, NC_GLOBAL, "title", &m->description));

  get_num_att(ncid, varid, "_FillValue", &v, &found);
  if (found) {
    m->has_nodata = 1;
    m->nodata = v;
  }
  get_num_att(ncid, varid, "scale_factor", &v, &found);
  double off;
  get_num_att(ncid, varid, "add_offset", &off, &found2);
  if (found || found2) {
    HCSC_CALLOC(m->scale, m->bands);
    HCSC_CALLOC(m->offset, m->bands);
    for (int64_t b = 0; b < m->bands; b++) {
      m->scale[b] = found ? v : 1.0;
      m->offset[b] = found2 ? off : 0.0;
    }
  }

  /* Georeferencing: the grid-mapping variable's WKT and GeoTransform, else
   * the spacing of the x/y pixel-centre coordinates. */
  HCSC_CHECK(get_text_att(ncid, varid, "grid_mapping", &s));
  if (s && ncmpi_inq_varid(ncid, s, &gm) != NC_NOERR) gm = -1;
  free(s);
  s = NULL;
  if (gm >= 0) {
    HCSC_CHECK(get_text_att(ncid, gm, "crs_wkt", &m->crs_wkt));
    if (!m->crs_wkt) HCSC_CHECK(get_text_att(ncid, gm, "spatial_ref", &m->crs_wkt));
    HCSC_CHECK(get_text_att(ncid, gm, "GeoTransform", &s));
    if (s) {
      double *t = m->geotransform;
      m->has_geotransform = sscanf(s, "%lf %lf %lf %lf %lf %lf", t, t + 1, t + 2, t + 3, t + 4, t + 5) == 6;
    }
  }
  HCSC_CHECK(get_dim_var(ncid, "x", dimids[nd - 1], m->cols, &x));
  HCSC_CHECK(get_dim_var(ncid, "y", dimids[nd - 2], m->rows, &y));
  if (!m->has_geotransform && x && y && m->cols >= 2 && m->rows >= 2) {
    double dx = x[1] - x[0], dy = y[1] - y[0];
    if (nc_bottom_up(y, m->rows)) {
      dy = -dy;
      m->geotransform[3] = y[m->rows - 1] - 0.5 * dy;
    } else {
      m->geotransform[3] = y[0] - 0.5 * dy;
    }
    m->geotransform[0] = x[0] - 0.5 * dx;
    m->geotransform[1] = dx;
    m->geotransform[5] = dy;
    m->has_geotransform = 1;
  }

  if (nd == 3) {
    int vid, vnd, vd[2];
    HCSC_CHECK(get_dim_var(ncid, "wavelength", dimids[0], m->bands, &m->wavelength));
    HCSC_CHECK(get_dim_var(ncid, "fwhm", dimids[0], m->bands, &m->fwhm));
    if (m->wavelength && ncmpi_inq_varid(ncid, "wavelength", &vid) == NC_NOERR) {
      HCSC_CHECK(get_text_att(ncid, vid, "wavelength_units", &m->wavelength_units));
      if (!m->wavelength_units) {
        HCSC_CHECK(get_text_att(ncid, vid, "units", &s));
        if (s && (!strcmp(s, "nm") || !strcasecmp(s, "nanometers")))
          m->wavelength_units = strdup("Nanometers");
        else if (s && (!strcmp(s, "um") || !strcasecmp(s, "micrometers")))
          m->wavelength_units = strdup("Micrometers");
        else if (s)
          m->wavelength_units = strdup(s);
        free(s);
        s = NULL;
      }
    }
    double *tmp = NULL;
    HCSC_CHECK(get_dim_var(ncid, "bbl", dimids[0], m->bands, &tmp));
    if (tmp) {
      m->bbl = calloc((size_t)m->bands, sizeof *m->bbl);
      if (!m->bbl) {
        free(tmp);
        HCSC_FAIL(HCSC_ENOMEM, "%s: out of memory", path);
      }
      for (int64_t b = 0; b < m->bands; b++) m->bbl[b] = tmp[b] != 0;
      free(tmp);
    }
    double *sc = NULL, *of = NULL;
    HCSC_CHECK(get_dim_var(ncid, "band_scale", dimids[0], m->bands, &sc));
    HCSC_CHECK(get_dim_var(ncid, "band_offset", dimids[0], m->bands, &of));
    if (sc && of) {
      free(m->scale);
      free(m->offset);
      m->scale = sc;
      m->offset = of;
    } else {
      free(sc);
      free(of);
    }
    if (ncmpi_inq_varid(ncid, "band_name", &vid) == NC_NOERR &&
        ncmpi_inq_varndims(ncid, vid, &vnd) == NC_NOERR && vnd == 2 &&
        ncmpi_inq_vartype(ncid, vid, &xt) == NC_NOERR && xt == NC_CHAR) {
      ncmpi_inq_vardimid(ncid, vid, vd);
      NC_TRY(ncmpi_inq_dimlen(ncid, vd[1], &len), "reading band_name");
      if (vd[0] == dimids[0] && len > 0) {
        char *all = calloc((size_t)(m->bands * len), 1);
        if (!all) HCSC_FAIL(HCSC_ENOMEM, "%s: out of memory", path);
        err = nc_status(ncmpi_get_var_text_all(ncid, vid, all), path, "reading band_name", __LINE__);
        m->band_names = err ? NULL : calloc((size_t)m->bands, sizeof(char *));
        for (int64_t b = 0; m->band_names && b < m->bands; b++) {
          m->band_names[b] = calloc((size_t)len + 1, 1);
          if (m->band_names[b]) memcpy(m->band_names[b], all + b * len, (size_t)len);
          else err = HCSC_ERR(HCSC_ENOMEM, "%s: out of memory", path);
        }
        free(all);
        if (!err && !m->band_names) err = HCSC_ERR(HCSC_ENOMEM, "%s: out of memory", path);
        HCSC_CHECK(err);
      }
    }
  }

cleanup:
  if (ncid >= 0) ncmpi_close(ncid);
  if (err) hcsc_meta_free(m);
  free(s);
  free(ours);
  free(x);
  free(y);
  return err;
}

/* Read this rank's box of the selected scene into the tile interior as
 * float32; nodata becomes NaN.  Consecutive file bands are read as one
 * request, a non-contiguous band list as several.  Collective on the grid's
 * comm. */
int hcsc_io_nc_read(const char *path, const hcsc_meta *m, const hcsc_selection *sel, const hcsc_grid *g,
                    hcsc_tile *tile)
{
  char mpath[4200]; /* the path as MPI-IO wants it (hcsc_io_mpi_path) */
  int err = 0, ncid = -1, varid = -1, nd = 0, dimids[3], flip = 0, req;
  MPI_Comm comm = hcsc_grid_comm(g);
  hcsc_box box = hcsc_grid_box(g);
  int64_t wr = sel ? sel->window[0] : 0, wc = sel ? sel->window[1] : 0;
  const int64_t nrows = box.nb * box.nr;
  int64_t chunk_rows = box.nc > 0 ? hcsc_io_chunk_bytes() / (box.nc * (int64_t)sizeof(float)) : 1;
  if (chunk_rows < 1) chunk_rows = 1;
  if (chunk_rows > nrows) chunk_rows = nrows > 0 ? nrows : 1;
  int64_t rounds = (nrows + chunk_rows - 1) / chunk_rows, max_rounds = 0;
  float *buf = NULL;
  double *y = NULL;

  hcsc_timer_start(HCSC_PHASE_IO_READ);
  if (!tile || !tile->data || tile->box.b0 != box.b0 || tile->box.nb != box.nb || tile->box.r0 != box.r0 ||
      tile->box.nr != box.nr || tile->box.c0 != box.c0 || tile->box.nc != box.nc)
    err = HCSC_ERR(HCSC_EINVAL, "%s: tile does not match this rank's grid box", path);
  for (int64_t b = 0; !err && b < box.nb; b++) {
    int64_t fb = hcsc_io_sel_band(sel, box.b0 + b);
    if (fb < 0 || fb >= m->bands)
      err = HCSC_ERR(HCSC_ERANGE, "%s: band %lld out of range (1..%lld)", path, (long long)fb + 1,
                     (long long)m->bands);
  }
  if (!err && (wr < 0 || wc < 0 || wr + box.r0 + box.nr > m->rows || wc + box.c0 + box.nc > m->cols))
    err = HCSC_ERR(HCSC_ERANGE, "%s: window exceeds the %lld x %lld scene", path, (long long)m->rows,
                   (long long)m->cols);
  if (!err && !(buf = malloc((size_t)(chunk_rows * box.nc) * sizeof *buf + 1)))
    err = HCSC_ERR(HCSC_ENOMEM, "%s: out of memory for the read buffer", path);
  HCSC_CHECK(hcsc_error_agree(comm, err));
  HCSC_MPI(MPI_Allreduce(&rounds, &max_rounds, 1, MPI_INT64_T, MPI_MAX, comm));

  err = nc_status(ncmpi_open(comm, hcsc_io_mpi_path(path, mpath, sizeof mpath), NC_NOWRITE, MPI_INFO_NULL, &ncid), path, "cannot open as NetCDF",
                  __LINE__);
  if (err) ncid = -1;
  err = hcsc_error_agree(comm, err);
  if (err) {
    ncid = -1; /* see hcsc_io_nc_write: never close a handle only some ranks hold */
    goto cleanup;
  }
  err = nc_find_data(ncid, path, &varid, &nd, dimids);
  HCSC_CHECK(hcsc_error_agree(comm, err));
  err = get_dim_var(ncid, "y", dimids[nd - 2], m->rows, &y);
  HCSC_CHECK(hcsc_error_agree(comm, err));
  flip = nc_bottom_up(y, m->rows);

  /* Rounds of whole tile rows in (band, row) order, hcsc_io_chunk_bytes()
   * at a time, one request per band touched and one collective wait_all per
   * round; every rank takes part in the same number of rounds. */
  for (int64_t k = 0; k < max_rounds; k++) {
    int64_t q0 = k * chunk_rows, q1 = q0 + chunk_rows < nrows ? q0 + chunk_rows : nrows;
    for (int64_t q = q0; !err && q < q1;) {
      int64_t b = q / box.nr, rr = q % box.nr;
      int64_t n = box.nr - rr < q1 - q ? box.nr - rr : q1 - q;
      int64_t fb = hcsc_io_sel_band(sel, box.b0 + b);
      /* Bottom-up files: the run's rows are read reversed, flipped below. */
      int64_t fr = flip ? m->rows - (wr + box.r0 + rr + n) : wr + box.r0 + rr;
      MPI_Offset st[3], ct[3];
      if (nd == 3) {
        st[0] = fb, st[1] = fr, st[2] = wc + box.c0;
        ct[0] = 1, ct[1] = n, ct[2] = box.nc;
      } else {
        st[0] = fr, st[1] = wc + box.c0;
        ct[0] = n, ct[1] = box.nc;
      }
      err = nc_status(ncmpi_iget_vara_float(ncid, varid, st, ct, buf + (q - q0) * box.nc, &req), path,
                      "posting this rank's read", __LINE__);
      q += n;
    }
    HCSC_CHECK(hcsc_error_agree(comm, err));
    err = nc_status(ncmpi_wait_all(ncid, NC_REQ_ALL, NULL, NULL), path, "reading data", __LINE__);
    HCSC_CHECK(hcsc_error_agree(comm, err));
    const float nodata = (float)m->nodata;
    const int nanfill = m->has_nodata && !isnan(m->nodata);
    for (int64_t q = q0; q < q1;) {
      int64_t b = q / box.nr, rr = q % box.nr;
      int64_t n = box.nr - rr < q1 - q ? box.nr - rr : q1 - q;
      for (int64_t i = 0; i < n; i++) {
        const float *src = buf + (q - q0 + (flip ? n - 1 - i : i)) * box.nc;
        float *dst = &HCSC_TILE_AT(tile, b, rr + i, 0);
        for (int64_t c = 0; c < box.nc; c++) dst[c] = (nanfill && src[c] == nodata) ? NAN : src[c];
      }
      q += n;
    }
  }

cleanup:
  if (ncid >= 0) {
    if (err) ncmpi_cancel(ncid, NC_REQ_ALL, NULL, NULL);
    int cerr = nc_status(ncmpi_close(ncid), path, "closing NetCDF file", __LINE__);
    if (!err) err = hcsc_error_agree(comm, cerr);
  }
  free(buf);
  free(y);
  hcsc_timer_stop(HCSC_PHASE_IO_READ);
  return err;
}
