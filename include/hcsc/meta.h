/* hypercsc — scene metadata and data types.
 *
 * Everything a scene carries besides its pixels: sizes, storage type,
 * georeferencing, the spectral description and nodata.  Read on rank 0 and
 * broadcast; written unchanged by every writer so that it survives round
 * trips between GeoTIFF, ENVI and NetCDF. */
#ifndef HCSC_META_H
#define HCSC_META_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  HCSC_DT_NONE = 0,
  HCSC_DT_UINT8,
  HCSC_DT_INT16,
  HCSC_DT_UINT16,
  HCSC_DT_INT32,
  HCSC_DT_FLOAT32,
  HCSC_DT_FLOAT64
} hcsc_dtype;

/* "uint8", "int16", ... ; parse accepts those names (case-insensitive) and
 * returns HCSC_ETYPE otherwise.  Not collective. */
const char *hcsc_dtype_name(hcsc_dtype t);
int hcsc_dtype_parse(const char *name, hcsc_dtype *t);
size_t hcsc_dtype_size(hcsc_dtype t);
/* Representable range of an integer type (float types: +-FLT/DBL_MAX). */
void hcsc_dtype_range(hcsc_dtype t, double *lo, double *hi);
/* Convert n floats to type t in dst: integer types are clipped to their
 * range and rounded to nearest, ties away from zero (C round()); NaN becomes
 * nodata when has_nodata, else 0.  Returns the number of values that were
 * clipped.  Not collective. */
int64_t hcsc_dtype_from_float(hcsc_dtype t, const float *src, void *dst, size_t n, int has_nodata,
                              double nodata);

typedef struct {
  int64_t bands, rows, cols;
  hcsc_dtype dtype;          /* storage type of the file */
  int has_geotransform;
  double geotransform[6];    /* GDAL convention */
  char *crs_wkt;             /* NULL when none */
  double *wavelength;        /* [bands] or NULL */
  double *fwhm;              /* [bands] or NULL */
  char *wavelength_units;    /* e.g. "Nanometers"; NULL when unknown */
  int *bbl;                  /* [bands] 1 = good, 0 = bad; NULL: all good */
  char **band_names;         /* [bands] or NULL */
  int has_nodata;
  double nodata;
  double *scale, *offset;    /* [bands] or NULL (1 and 0): physical = raw*scale+offset */
  char *description;         /* NULL when none */
} hcsc_meta;

/* Not collective. */
void hcsc_meta_init(hcsc_meta *m);
void hcsc_meta_free(hcsc_meta *m); /* frees members, re-initialises */
int hcsc_meta_copy(hcsc_meta *dst, const hcsc_meta *src);
/* dst = src restricted to the listed bands (nb entries, 0-based, any order;
 * NULL = all) and the window {row0, col0, rows, cols} (NULL = whole), the
 * geotransform shifted to the window's corner.  Range errors are
 * HCSC_ERANGE.  Not collective. */
int hcsc_meta_select(hcsc_meta *dst, const hcsc_meta *src, const int64_t *bands, int64_t nb,
                     const int64_t window[4]);
/* Broadcast m from root to all ranks (m on non-root ranks is overwritten).
 * Collective on comm. */
int hcsc_meta_bcast(hcsc_meta *m, int root, MPI_Comm comm);

#ifdef __cplusplus
}
#endif
#endif
