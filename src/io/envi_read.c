/* hypercsc — ENVI band-sequential input read directly with MPI-IO.
 *
 * A BSQ file is raw (band, row, col) values after a header offset, so each
 * rank can read its own window without going through GDAL's block cache:
 * in rounds of whole tile rows (hcsc_io_chunk_bytes()), each rank describes
 * the file segments of its rows with one hindexed type, sets it as the file
 * view and reads with MPI_File_read_all; then it converts to float32
 * (byte order, nodata -> NaN) straight into the tile.  Every rank takes part
 * in the same number of rounds.  BIL and BIP files are read through GDAL. */
#include "config.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hcsc/error.h"
#include "hcsc/timer.h"
#include "io/io_impl.h"

static int mpiio_fail(int mpierr, const char *path, const char *call)
{
  char buf[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(mpierr, buf, &len) != MPI_SUCCESS) buf[0] = '\0';
  return HCSC_ERR(HCSC_EIO, "%s: %s failed: %s", path, call, buf);
}

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

typedef struct {
  MPI_Aint file, mem;
  int len;
} segment;

static int seg_cmp(const void *a, const void *b)
{
  MPI_Aint x = ((const segment *)a)->file, y = ((const segment *)b)->file;
  return x < y ? -1 : x > y;
}

/* See io_impl.h.  Collective on the grid's comm. */
int hcsc_io_envi_read(const char *path, const hcsc_meta *m, const hcsc_raw *raw,
                      const hcsc_selection *sel, const hcsc_grid *g, hcsc_tile *tile)
{
  int err = 0;
  MPI_Comm comm = hcsc_grid_comm(g);
  MPI_File fh = MPI_FILE_NULL;
  MPI_Datatype ft = MPI_DATATYPE_NULL, mt = MPI_DATATYPE_NULL;
  hcsc_box box = hcsc_grid_box(g);
  const size_t es = hcsc_dtype_size(m->dtype);
  const int64_t wr = sel ? sel->window[0] : 0, wc = sel ? sel->window[1] : 0;
  const int64_t nrows = box.nb * box.nr;
  int64_t chunk_rows = box.nc > 0 ? hcsc_io_chunk_bytes() / (box.nc * (int64_t)(es + 4)) : 1;
  if (chunk_rows < 1) chunk_rows = 1;
  if (chunk_rows > nrows) chunk_rows = nrows > 0 ? nrows : 1;
  int64_t rounds = (nrows + chunk_rows - 1) / chunk_rows, max_rounds = 0;
  char *buf = NULL;
  int *lens = NULL;
  MPI_Aint *disps = NULL, *mdisps = NULL;
  segment *seg = NULL;
  const int swap = raw->big_endian != host_is_big_endian();

  if (chunk_rows * box.nc * (int64_t)es > INT_MAX)
    err = HCSC_ERR(HCSC_ESIZE, "%s: a row of %lld values is too large for one MPI read", path,
                   (long long)box.nc);
  if (!err && (!(buf = malloc((size_t)(chunk_rows * box.nc) * es + 1)) ||
               !(lens = malloc((size_t)chunk_rows * sizeof *lens)) ||
               !(disps = malloc((size_t)chunk_rows * sizeof *disps)) ||
               !(mdisps = malloc((size_t)chunk_rows * sizeof *mdisps)) ||
               !(seg = malloc((size_t)chunk_rows * sizeof *seg))))
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
  for (int64_t k = 0; k < max_rounds; k++) {
    int64_t q0 = k * chunk_rows, q1 = q0 + chunk_rows < nrows ? q0 + chunk_rows : nrows;
    /* One segment per tile row.  A file view needs nondecreasing offsets,
     * but a band list may be in any order: sort the segments by file
     * offset and let a memory type put each where its row belongs. */
    int nseg = 0;
    for (int64_t q = q0; q < q1; q++) {
      int64_t b = q / box.nr, r = q % box.nr;
      int64_t fb = hcsc_io_sel_band(sel, box.b0 + b);
      seg[nseg].file = (MPI_Aint)raw->offset +
                       (MPI_Aint)(((fb * m->rows + wr + box.r0 + r) * m->cols + wc + box.c0) * (int64_t)es);
      seg[nseg].mem = (MPI_Aint)((q - q0) * box.nc * (int64_t)es);
      seg[nseg++].len = (int)(box.nc * (int64_t)es);
    }
    qsort(seg, (size_t)nseg, sizeof *seg, seg_cmp);
    int n = 0; /* merged: contiguous in the file and in memory */
    for (int i = 0; i < nseg; i++) {
      if (n > 0 && disps[n - 1] + lens[n - 1] == seg[i].file && mdisps[n - 1] + lens[n - 1] == seg[i].mem)
        lens[n - 1] += seg[i].len;
      else
        disps[n] = seg[i].file, mdisps[n] = seg[i].mem, lens[n++] = seg[i].len;
    }
    int count = (int)((q1 > q0 ? q1 - q0 : 0) * box.nc * (int64_t)es);
    MPI_Type_create_hindexed(n, lens, disps, MPI_BYTE, &ft);
    MPI_Type_commit(&ft);
    MPI_Type_create_hindexed(n, lens, mdisps, MPI_BYTE, &mt);
    MPI_Type_commit(&mt);
    mpierr = MPI_File_set_view(fh, 0, MPI_BYTE, ft, "native", MPI_INFO_NULL);
    if (mpierr == MPI_SUCCESS) {
      MPI_Status st;
      mpierr = MPI_File_read_all(fh, buf, n > 0 ? 1 : 0, mt, &st);
      int got = 0;
      if (mpierr == MPI_SUCCESS && !err) {
        MPI_Get_count(&st, MPI_BYTE, &got);
        if (n > 0 && got != count)
          err = HCSC_ERR(HCSC_EFORMAT, "%s: short read (%d of %d bytes): file truncated?", path, got,
                         count);
      }
    }
    MPI_Type_free(&mt);
    if (mpierr != MPI_SUCCESS && !err) err = mpiio_fail(mpierr, path, "MPI_File_read_all");
    MPI_Type_free(&ft);
    ft = MPI_DATATYPE_NULL;
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
  free(buf);
  free(lens);
  free(disps);
  free(mdisps);
  free(seg);
  return err;
}
