/* hypercsc — storage data types: names, sizes, ranges and the float32 ->
 * storage conversion used by every writer. */
#include "config.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "hcsc/error.h"
#include "hcsc/meta.h"

static const char *names[] = {"none", "uint8", "int16", "uint16", "int32", "float32", "float64"};

/* Name of a type ("uint8", ...; "none" for HCSC_DT_NONE).  Not collective. */
const char *hcsc_dtype_name(hcsc_dtype t)
{
  return (t >= HCSC_DT_NONE && t <= HCSC_DT_FLOAT64) ? names[t] : "unknown";
}

/* Parse a type name, case-insensitive; "byte", "float" and "double" are
 * accepted as the names GDAL and ENVI users know.  Not collective. */
int hcsc_dtype_parse(const char *name, hcsc_dtype *t)
{
  static const struct {
    const char *alias;
    hcsc_dtype t;
  } aliases[] = {{"byte", HCSC_DT_UINT8}, {"float", HCSC_DT_FLOAT32}, {"double", HCSC_DT_FLOAT64}};
  if (!name) return HCSC_ERR(HCSC_ETYPE, "no data type given");
  for (int i = HCSC_DT_UINT8; i <= HCSC_DT_FLOAT64; i++)
    if (strcasecmp(name, names[i]) == 0) {
      *t = (hcsc_dtype)i;
      return 0;
    }
  for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
    if (strcasecmp(name, aliases[i].alias) == 0) {
      *t = aliases[i].t;
      return 0;
    }
  return HCSC_ERR(HCSC_ETYPE,
                  "unsupported data type \"%s\" (use uint8, int16, uint16, int32, float32 or float64)",
                  name);
}

/* Bytes per value (0 for HCSC_DT_NONE).  Not collective. */
size_t hcsc_dtype_size(hcsc_dtype t)
{
  switch (t) {
  case HCSC_DT_UINT8: return 1;
  case HCSC_DT_INT16: case HCSC_DT_UINT16: return 2;
  case HCSC_DT_INT32: case HCSC_DT_FLOAT32: return 4;
  case HCSC_DT_FLOAT64: return 8;
  default: return 0;
  }
}

/* Representable range.  Not collective. */
void hcsc_dtype_range(hcsc_dtype t, double *lo, double *hi)
{
  double l = 0, h = 0;
  switch (t) {
  case HCSC_DT_UINT8: l = 0; h = UINT8_MAX; break;
  case HCSC_DT_INT16: l = INT16_MIN; h = INT16_MAX; break;
  case HCSC_DT_UINT16: l = 0; h = UINT16_MAX; break;
  case HCSC_DT_INT32: l = INT32_MIN; h = INT32_MAX; break;
  case HCSC_DT_FLOAT32: l = -FLT_MAX; h = FLT_MAX; break;
  case HCSC_DT_FLOAT64: l = -DBL_MAX; h = DBL_MAX; break;
  default: break;
  }
  if (lo) *lo = l;
  if (hi) *hi = h;
}

/* Clip and round one value for an integer type; NaN -> fill. */
static double to_int(float v, double lo, double hi, double fill, int64_t *clipped)
{
  if (isnan(v)) return fill;
  /* Round in double: float32 holds integers only up to 2^24, and int32's
   * range needs the exact bounds. */
  double r = round((double)v);
  if (r < lo) {
    (*clipped)++;
    return lo;
  }
  if (r > hi) {
    (*clipped)++;
    return hi;
  }
  return r;
}

/* Convert n floats to type t (see meta.h).  Returns the number of values
 * clipped.  Not collective. */
int64_t hcsc_dtype_from_float(hcsc_dtype t, const float *src, void *dst, size_t n, int has_nodata,
                              double nodata)
{
  double lo, hi;
  int64_t clipped = 0;
  hcsc_dtype_range(t, &lo, &hi);
  double fill = has_nodata ? nodata : 0.0;
  if (t != HCSC_DT_FLOAT32 && t != HCSC_DT_FLOAT64) {
    /* A nodata value outside the type would itself be clipped: clip it once. */
    fill = fill < lo ? lo : fill > hi ? hi : round(fill);
  }
  switch (t) {
  case HCSC_DT_UINT8: {
    uint8_t *d = dst;
    for (size_t i = 0; i < n; i++) d[i] = (uint8_t)to_int(src[i], lo, hi, fill, &clipped);
    break;
  }
  case HCSC_DT_INT16: {
    int16_t *d = dst;
    for (size_t i = 0; i < n; i++) d[i] = (int16_t)to_int(src[i], lo, hi, fill, &clipped);
    break;
  }
  case HCSC_DT_UINT16: {
    uint16_t *d = dst;
    for (size_t i = 0; i < n; i++) d[i] = (uint16_t)to_int(src[i], lo, hi, fill, &clipped);
    break;
  }
  case HCSC_DT_INT32: {
    int32_t *d = dst;
    for (size_t i = 0; i < n; i++) d[i] = (int32_t)to_int(src[i], lo, hi, fill, &clipped);
    break;
  }
  case HCSC_DT_FLOAT32: {
    float *d = dst;
    for (size_t i = 0; i < n; i++) d[i] = (isnan(src[i]) && has_nodata) ? (float)nodata : src[i];
    break;
  }
  case HCSC_DT_FLOAT64: {
    double *d = dst;
    for (size_t i = 0; i < n; i++) d[i] = (isnan(src[i]) && has_nodata) ? nodata : (double)src[i];
    break;
  }
  default: break;
  }
  return clipped;
}
