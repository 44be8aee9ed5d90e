/* hypercsc — ENVI band-sequential input read directly with MPI-IO.
 *
 * A BSQ file is raw (band, row, col) values after a header offset, so each
 * rank can read its own window without going through GDAL's block cache:
 * the file view is this rank's 3-D subarray (set once, as the writer does),
 * and consecutive MPI_File_read_all calls fetch it in rounds of whole tile
 * rows (hcsc_io_chunk_bytes()), each converted to float32 (byte order,
 * nodata -> NaN) straight into the tile.  Every rank takes part in the same
 * number of rounds.  A subarray needs the selected bands to be ascending
 * and consecutive in the file (all bands, or a range such as 10-50); other
 * band lists, and BIL/BIP files, are read through GDAL (see
 * hcsc_io_envi_can_read). */
#include "config.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hcsc/error.h"
#include "hcsc/timer.h"
#include "io/io_impl.h"


static int host_is_big_endian(void)
{
  const uint16_t one = 1;
  return *(const uint8_t *)&one == 0;
}

/* Convert n raw values of type t (byte-swapped first when swap) to float;
 * values equal to nodata become NaN. */
static void raw_to_float(hcsc_dtype t, void *src, float *dst, size_t n, int swap, int has_nodata,
                         double nodata)
{
  size_t es = hcsc_dtype_size(t);
  if (swap && es > 1) {
    uint8_t *p = src;
    for (size_t i = 0; i < n; i++, p += es)
      for (size_t a = 0, b = es - 1; a < b; a++, b--) {
        uint8_t x = p[a];
        p[a] = p[b];
        p[b] = x;
      }
  }
  const int nd = has_nodata && !isnan(nodata);
#define CONVERT(T)                                                        \
  do {                                                                    \
    const T *s = src;                                                     \
    for (size_t i = 0; i < n; i++)                                        \
      dst[i] = (nd && (double)s[i] == nodata) ? NAN : (float)s[i];        \
  } while (0)
  switch (t) {
  case HCSC_DT_UINT8: CONVERT(uint8_t); break;
  case HCSC_DT_INT16: CONVERT(int16_t); break;
  case HCSC_DT_UINT16: CONVERT(uint16_t); break;
  case HCSC_DT_INT32: CONVERT(int32_t); break;
  case HCSC_DT_FLOAT32: CONVERT(float); break;
  case HCSC_DT_FLOAT64: CONVERT(double); break;
  default: break;
  }
#undef CONVERT
}

/* See io_impl.h. */
int hcsc_io_envi_can_read(const hcsc_selection *sel, const hcsc_box *box)
{
  for (int64_t b = 1; b < box->nb; b++)
    if (hcsc_io_sel_band(sel, box->b0 + b) != hcsc_io_sel_band(sel, box->b0) + b) return 0;
  return 1;
}

/* See io_impl.h.  Collective on the grid's comm. */
int hcsc_io_envi_read(const char *path, const hcsc_meta *m, const hcsc_raw *raw,
                      const hcsc_selection *sel, const hcsc_grid *g, hcsc_tile *tile)
{
  int err = 0;
  MPI_Comm comm = hcsc_grid_comm(g);
  MPI_File fh = MPI_FILE_NULL;
  MPI_Datatype el = MPI_DATATYPE_NULL, ft = MPI_DATATYPE_NULL;
  hcsc_box box = hcsc_grid_box(g);
  const size_t es = hcsc_dtype_size(m->dtype);
  const int64_t wr = sel ? sel->window[0] : 0, wc = sel ? sel->window[1] : 0;
  const int64_t nrows = box.nb * box.nr;
  int64_t chunk_rows = box.nc > 0 ? hcsc_io_chunk_bytes() / (box.nc * (int64_t)(es + 4)) : 1;
  if (chunk_rows < 1) chunk_rows = 1;
  if (chunk_rows > nrows) chunk_rows = nrows > 0 ? nrows : 1;
  int64_t rounds = (nrows + chunk_rows - 1) / chunk_rows, max_rounds = 0;
  char *buf = NULL;
  const int swap = raw->big_endian != host_is_big_endian();

  if (chunk_rows * box.nc > INT_MAX)
    err = HCSC_ERR(HCSC_ESIZE, "%s: a row of %lld values is too large for one MPI read", path,
                   (long long)box.nc);
  if (!err && !(buf = malloc((size_t)(chunk_rows * box.nc) * es + 1)))
    err = HCSC_ERR(HCSC_ENOMEM, "%s: out of memory for the read buffer", path);
  HCSC_CHECK(hcsc_error_agree(comm, err));
  HCSC_MPI(MPI_Allreduce(&rounds, &max_rounds, 1, MPI_INT64_T, MPI_MAX, comm));

  char mpath[4200];
  int mpierr = MPI_File_open(comm, hcsc_io_mpi_path(path, mpath, sizeof mpath), MPI_MODE_RDONLY,
                             MPI_INFO_NULL, &fh);
  if (mpierr != MPI_SUCCESS) {
    fh = MPI_FILE_NULL;
    HCSC_FAIL(HCSC_EIO, "%s: cannot open for reading (MPI-IO)", path);
  }
  int sizes[3] = {(int)m->bands, (int)m->rows, (int)m->cols};
  int sub[3] = {(int)box.nb, (int)box.nr, (int)box.nc};
  int start[3] = {(int)hcsc_io_sel_band(sel, box.b0), (int)(wr + box.r0), (int)(wc + box.c0)};
  MPI_Type_contiguous((int)es, MPI_BYTE, &el);
  MPI_Type_commit(&el);
  MPI_Type_create_subarray(3, sizes, sub, start, MPI_ORDER_C, el, &ft);
  MPI_Type_commit(&ft);
  mpierr = MPI_File_set_view(fh, (MPI_Offset)raw->offset, el, ft, "native", MPI_INFO_NULL);
  if (mpierr != MPI_SUCCESS) err = hcsc_io_mpiio_error(mpierr, path, "MPI_File_set_view");
  HCSC_CHECK(hcsc_error_agree(comm, err));
  for (int64_t k = 0; k < max_rounds; k++) {
    int64_t q0 = k * chunk_rows, q1 = q0 + chunk_rows < nrows ? q0 + chunk_rows : nrows;
    int count = q1 > q0 ? (int)((q1 - q0) * box.nc) : 0;
    MPI_Status st;
    /* After a local failure keep taking part: the calls are collective. */
    mpierr = MPI_File_read_all(fh, buf, err ? 0 : count, el, &st);
    if (mpierr != MPI_SUCCESS) {
      if (!err) err = hcsc_io_mpiio_error(mpierr, path, "MPI_File_read_all");
    } else if (!err) {
      int got = 0;
      MPI_Get_count(&st, el, &got);
      if (got != count)
        err = HCSC_ERR(HCSC_EFORMAT, "%s: short read (%d of %d values): file truncated?", path, got,
                       count);
    }
    if (!err) {
      hcsc_timer_start(HCSC_PHASE_COMPUTE);
      for (int64_t q = q0; q < q1; q++)
        raw_to_float(m->dtype, buf + (size_t)((q - q0) * box.nc) * es,
                     &HCSC_TILE_AT(tile, q / box.nr, q % box.nr, 0), (size_t)box.nc, swap,
                     m->has_nodata, m->nodata);
      hcsc_timer_stop(HCSC_PHASE_COMPUTE);
    }
  }
cleanup:
  if (fh != MPI_FILE_NULL) MPI_File_close(&fh);
  if (ft != MPI_DATATYPE_NULL) MPI_Type_free(&ft);
  if (el != MPI_DATATYPE_NULL) MPI_Type_free(&el);
  free(buf);
  return err;
}
