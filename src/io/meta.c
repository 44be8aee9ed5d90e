/* hypercsc — scene metadata: init, free, copy, band/window selection and
 * broadcast. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "hcsc/error.h"
#include "hcsc/meta.h"

/* Not collective. */
void hcsc_meta_init(hcsc_meta *m)
{
  memset(m, 0, sizeof *m);
  m->dtype = HCSC_DT_NONE;
}

/* Frees every member and re-initialises m.  Not collective. */
void hcsc_meta_free(hcsc_meta *m)
{
  if (!m) return;
  free(m->crs_wkt);
  free(m->wavelength);
  free(m->fwhm);
  free(m->wavelength_units);
  free(m->bbl);
  if (m->band_names)
    for (int64_t b = 0; b < m->bands; b++) free(m->band_names[b]);
  free(m->band_names);
  free(m->scale);
  free(m->offset);
  free(m->description);
  hcsc_meta_init(m);
}

static int dup_str(char **dst, const char *src)
{
  *dst = NULL;
  if (!src) return 0;
  *dst = strdup(src);
  return *dst ? 0 : HCSC_ERR(HCSC_ENOMEM, "out of memory copying metadata");
}

/* dst[i] = src[idx[i]] for n entries of size sz (idx NULL: identity); NULL
 * src gives NULL. */
static int pick(void **dst, const void *src, size_t sz, const int64_t *idx, int64_t n)
{
  *dst = NULL;
  if (!src) return 0;
  *dst = malloc(sz * (size_t)(n > 0 ? n : 1));
  if (!*dst) return HCSC_ERR(HCSC_ENOMEM, "out of memory copying metadata");
  for (int64_t i = 0; i < n; i++)
    memcpy((char *)*dst + sz * (size_t)i, (const char *)src + sz * (size_t)(idx ? idx[i] : i), sz);
  return 0;
}

/* dst = src with bands idx (n of them).  dst must be initialised. */
static int copy_bands(hcsc_meta *dst, const hcsc_meta *src, const int64_t *idx, int64_t n)
{
  int err = 0;
  dst->bands = n;
  dst->rows = src->rows;
  dst->cols = src->cols;
  dst->dtype = src->dtype;
  dst->has_geotransform = src->has_geotransform;
  memcpy(dst->geotransform, src->geotransform, sizeof dst->geotransform);
  dst->has_nodata = src->has_nodata;
  dst->nodata = src->nodata;
  HCSC_CHECK(dup_str(&dst->crs_wkt, src->crs_wkt));
  HCSC_CHECK(dup_str(&dst->wavelength_units, src->wavelength_units));
  HCSC_CHECK(dup_str(&dst->description, src->description));
  HCSC_CHECK(pick((void **)&dst->wavelength, src->wavelength, sizeof(double), idx, n));
  HCSC_CHECK(pick((void **)&dst->fwhm, src->fwhm, sizeof(double), idx, n));
  HCSC_CHECK(pick((void **)&dst->bbl, src->bbl, sizeof(int), idx, n));
  HCSC_CHECK(pick((void **)&dst->scale, src->scale, sizeof(double), idx, n));
  HCSC_CHECK(pick((void **)&dst->offset, src->offset, sizeof(double), idx, n));
  if (src->band_names) {
    dst->band_names = calloc((size_t)(n > 0 ? n : 1), sizeof(char *));
    if (!dst->band_names) HCSC_FAIL(HCSC_ENOMEM, "out of memory copying band names");
    for (int64_t i = 0; i < n; i++)
      HCSC_CHECK(dup_str(&dst->band_names[i], src->band_names[idx ? idx[i] : i]));
  }
cleanup:
  if (err) hcsc_meta_free(dst);
  return err;
}

/* Deep copy; dst is overwritten (not freed first).  Not collective. */
int hcsc_meta_copy(hcsc_meta *dst, const hcsc_meta *src)
{
  hcsc_meta_init(dst);
  return copy_bands(dst, src, NULL, src->bands);
}

/* See meta.h.  Not collective; dst is overwritten and owned by the caller. */
int hcsc_meta_select(hcsc_meta *dst, const hcsc_meta *src, const int64_t *bands, int64_t nb,
                     const int64_t window[4])
{
  int err = 0;
  hcsc_meta_init(dst);
  if (bands) {
    if (nb <= 0) return HCSC_ERR(HCSC_ERANGE, "empty band list");
    for (int64_t i = 0; i < nb; i++)
      if (bands[i] < 0 || bands[i] >= src->bands)
        return HCSC_ERR(HCSC_ERANGE, "band %lld out of range (valid: 1-%lld)",
                        (long long)bands[i] + 1, (long long)src->bands);
  } else {
    nb = src->bands;
  }
  int whole = !window || (window[0] == 0 && window[1] == 0 && window[2] == 0 && window[3] == 0);
  if (!whole && (window[0] < 0 || window[1] < 0 || window[2] <= 0 || window[3] <= 0 ||
                 window[0] + window[2] > src->rows || window[1] + window[3] > src->cols))
    return HCSC_ERR(HCSC_ERANGE,
                    "window %lld,%lld,%lld,%lld out of range (scene is %lld rows x %lld cols)",
                    (long long)window[0], (long long)window[1], (long long)window[2],
                    (long long)window[3], (long long)src->rows, (long long)src->cols);
  HCSC_CHECK(copy_bands(dst, src, bands, nb));
  if (!whole) {
    dst->rows = window[2];
    dst->cols = window[3];
    if (dst->has_geotransform) {
      const double *gt = src->geotransform;
      double r = (double)window[0], c = (double)window[1];
      dst->geotransform[0] = gt[0] + c * gt[1] + r * gt[2];
      dst->geotransform[3] = gt[3] + c * gt[4] + r * gt[5];
    }
  }
cleanup:
  return err;
}

/* A growing byte buffer for packing. */
typedef struct {
  char *p;
  size_t len, cap;
  int oom;
} pbuf;

static void put(pbuf *b, const void *src, size_t n)
{
  if (b->oom) return;
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + n) cap *= 2;
    char *q = realloc(b->p, cap);
    if (!q) {
      b->oom = 1;
      return;
    }
    b->p = q;
    b->cap = cap;
  }
  if (n) memcpy(b->p + b->len, src, n);
  b->len += n;
}

/* A string as its length + 1 (0 for NULL) followed by the bytes. */
static void put_str(pbuf *b, const char *s)
{
  int64_t n = s ? (int64_t)strlen(s) + 1 : 0;
  put(b, &n, sizeof n);
  if (s) put(b, s, (size_t)n);
}

/* An optional array as a presence flag followed by n elements. */
static void put_arr(pbuf *b, const void *a, size_t sz, int64_t n)
{
  int32_t has = a != NULL;
  put(b, &has, sizeof has);
  if (a) put(b, a, sz * (size_t)n);
}

typedef struct {
  const char *p;
  size_t len, pos;
} rbuf;

static int get(rbuf *b, void *dst, size_t n)
{
  if (b->pos + n > b->len) return HCSC_ERR(HCSC_EMPI, "metadata broadcast: truncated buffer");
  memcpy(dst, b->p + b->pos, n);
  b->pos += n;
  return 0;
}

static int get_str(rbuf *b, char **s)
{
  int err = 0;
  int64_t n = 0;
  *s = NULL;
  HCSC_CHECK(get(b, &n, sizeof n));
  if (n > 0) {
    HCSC_CALLOC(*s, n);
    HCSC_CHECK(get(b, *s, (size_t)n));
  }
cleanup:
  return err;
}

static int get_arr(rbuf *b, void **a, size_t sz, int64_t n)
{
  int err = 0;
  int32_t has = 0;
  *a = NULL;
  HCSC_CHECK(get(b, &has, sizeof has));
  if (has) {
    *a = malloc(sz * (size_t)(n > 0 ? n : 1));
    if (!*a) HCSC_FAIL(HCSC_ENOMEM, "out of memory receiving metadata");
    HCSC_CHECK(get(b, *a, sz * (size_t)n));
  }
cleanup:
  return err;
}

/* See meta.h: root packs everything into one byte buffer; the length goes
 * first so receivers can allocate.  Collective on comm. */
int hcsc_meta_bcast(hcsc_meta *m, int root, MPI_Comm comm)
{
  int err = 0, rank;
  pbuf pb = {0};
  char *recv = NULL;
  int64_t len = 0;
  MPI_Comm_rank(comm, &rank);
  if (rank == root) {
    int32_t dt = (int32_t)m->dtype;
    put(&pb, &m->bands, sizeof m->bands);
    put(&pb, &m->rows, sizeof m->rows);
    put(&pb, &m->cols, sizeof m->cols);
    put(&pb, &dt, sizeof dt);
    put(&pb, &m->has_geotransform, sizeof m->has_geotransform);
    put(&pb, m->geotransform, sizeof m->geotransform);
    put(&pb, &m->has_nodata, sizeof m->has_nodata);
    put(&pb, &m->nodata, sizeof m->nodata);
    put_str(&pb, m->crs_wkt);
    put_str(&pb, m->wavelength_units);
    put_str(&pb, m->description);
    put_arr(&pb, m->wavelength, sizeof(double), m->bands);
    put_arr(&pb, m->fwhm, sizeof(double), m->bands);
    put_arr(&pb, m->bbl, sizeof(int), m->bands);
    put_arr(&pb, m->scale, sizeof(double), m->bands);
    put_arr(&pb, m->offset, sizeof(double), m->bands);
    int32_t has = m->band_names != NULL;
    put(&pb, &has, sizeof has);
    if (has)
      for (int64_t b = 0; b < m->bands; b++) put_str(&pb, m->band_names[b]);
    /* A failed pack is announced with a negative length so that no rank
     * waits for bytes that never come. */
    len = pb.oom ? -1 : (int64_t)pb.len;
  }
  HCSC_MPI(MPI_Bcast(&len, 1, MPI_INT64_T, root, comm));
  if (len < 0) HCSC_FAIL(HCSC_ENOMEM, "out of memory packing metadata for broadcast");
  if (len > INT32_MAX) HCSC_FAIL(HCSC_ESIZE, "metadata too large to broadcast (%lld bytes)", (long long)len);
  if (rank != root) {
    recv = malloc((size_t)len + 1);
  }
  /* Every rank must know that every receiver could allocate before the
   * byte broadcast starts, or a failing rank would leave root stuck in it. */
  {
    int ok = rank == root || recv != NULL, all = 0;
    HCSC_MPI(MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, comm));
    if (!all) HCSC_FAIL(HCSC_ENOMEM, "out of memory receiving metadata (%lld bytes)", (long long)len);
  }
  if (rank == root) {
    HCSC_MPI(MPI_Bcast(pb.p, (int)len, MPI_BYTE, root, comm));
  } else {
    HCSC_MPI(MPI_Bcast(recv, (int)len, MPI_BYTE, root, comm));
    hcsc_meta_free(m);
    rbuf rb = {recv, (size_t)len, 0};
    int32_t dt = 0, has = 0;
    HCSC_CHECK(get(&rb, &m->bands, sizeof m->bands));
    HCSC_CHECK(get(&rb, &m->rows, sizeof m->rows));
    HCSC_CHECK(get(&rb, &m->cols, sizeof m->cols));
    HCSC_CHECK(get(&rb, &dt, sizeof dt));
    m->dtype = (hcsc_dtype)dt;
    HCSC_CHECK(get(&rb, &m->has_geotransform, sizeof m->has_geotransform));
    HCSC_CHECK(get(&rb, m->geotransform, sizeof m->geotransform));
    HCSC_CHECK(get(&rb, &m->has_nodata, sizeof m->has_nodata));
    HCSC_CHECK(get(&rb, &m->nodata, sizeof m->nodata));
    HCSC_CHECK(get_str(&rb, &m->crs_wkt));
    HCSC_CHECK(get_str(&rb, &m->wavelength_units));
    HCSC_CHECK(get_str(&rb, &m->description));
    HCSC_CHECK(get_arr(&rb, (void **)&m->wavelength, sizeof(double), m->bands));
    HCSC_CHECK(get_arr(&rb, (void **)&m->fwhm, sizeof(double), m->bands));
    HCSC_CHECK(get_arr(&rb, (void **)&m->bbl, sizeof(int), m->bands));
    HCSC_CHECK(get_arr(&rb, (void **)&m->scale, sizeof(double), m->bands));
    HCSC_CHECK(get_arr(&rb, (void **)&m->offset, sizeof(double), m->bands));
    HCSC_CHECK(get(&rb, &has, sizeof has));
    if (has) {
      HCSC_CALLOC(m->band_names, m->bands);
      for (int64_t b = 0; b < m->bands; b++) HCSC_CHECK(get_str(&rb, &m->band_names[b]));
    }
  }
cleanup:
  free(pb.p);
  free(recv);
  return hcsc_error_agree(comm, err);
}
