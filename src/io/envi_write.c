/* hypercsc — ENVI output: GDAL writes the header, all ranks write the raw
 * band-sequential file with one collective MPI-IO subarray write. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cpl_string.h>
#include <gdal.h>

#include "hcsc/error.h"
#include "hcsc/timer.h"
#include "io/io_impl.h"

/* See io_impl.h. */
int hcsc_io_mpiio_error(int mpierr, const char *path, const char *call)
{
  char buf[MPI_MAX_ERROR_STRING];
  int len = 0, cls = 0;
  MPI_Error_class(mpierr, &cls);
  if (MPI_Error_string(mpierr, buf, &len) != MPI_SUCCESS) buf[0] = '\0';
  int code = (cls == MPI_ERR_NO_SPACE || cls == MPI_ERR_QUOTA) ? HCSC_ENOSPC : HCSC_EIO;
  return HCSC_ERR(code, "%s: %s failed: %s", path, call, buf);
}

/* GDAL 3.6 writes "description = {FILE}" with the (temporary) file name:
 * replace it with the base name so no header names a temporary path. */
static void fix_header_description(const char *path)
{
  char hdr[4200], *text = NULL;
  const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
  const char *dot = strrchr(base, '.');
  FILE *f = NULL;
  snprintf(hdr, sizeof hdr, "%.*s.hdr", (int)(dot ? dot - path : (long)strlen(path)), path);
  if (!(f = fopen(hdr, "rb"))) return;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  if (n > 0 && (text = malloc((size_t)n + 1)) && fread(text, 1, (size_t)n, f) == (size_t)n) {
    text[n] = '\0';
    fclose(f);
    f = NULL;
    char *p = strstr(text, path);
    if (p && (f = fopen(hdr, "wb"))) {
      fwrite(text, 1, (size_t)(p - text), f);
      fputs(base, f);
      fputs(p + strlen(path), f);
    }
  }
  if (f) fclose(f);
  free(text);
}

/* Rank 0: create the header and a raw file of the exact final size with
 * GDAL's ENVI driver.  Reserving the blocks up front (posix_fallocate)
 * makes a full disk or a file size limit fail here, with errno, rather
 * than as a vague MPI-IO error in the middle of the collective write. */
static int create_envi(const char *path, const hcsc_meta *m, hcsc_dtype dtype)
{
  int err = 0, fd = -1;
  GDALDatasetH ds = NULL;
  char **opts = NULL;
  GDALDriverH drv = GDALGetDriverByName("ENVI");
  if (!drv) HCSC_FAIL(HCSC_EGDAL, "%s: GDAL has no ENVI driver", path);
  opts = CSLSetNameValue(opts, "INTERLEAVE", "BSQ");
  CPLErrorReset();
  errno = 0;
  ds = GDALCreate(drv, path, (int)m->cols, (int)m->rows, (int)m->bands, hcsc_io_dtype_to_gdal(dtype),
                  opts);
  if (!ds) {
    if (errno == ENOSPC || errno == EFBIG || errno == EDQUOT)
      HCSC_FAIL(HCSC_ENOSPC, "%s: cannot create: %s", path, strerror(errno));
    HCSC_FAIL(HCSC_EGDAL, "%s: cannot create ENVI file: %s", path, hcsc_io_gdal_last_error());
  }
  hcsc_meta mm = *m;
  mm.dtype = dtype;
  HCSC_CHECK(hcsc_io_gdal_set_meta(ds, &mm));
  errno = 0;
  CPLErrorReset();
  GDALClose(ds);
  ds = NULL;
  if (CPLGetLastErrorType() >= CE_Failure) {
    if (errno == ENOSPC || errno == EFBIG || errno == EDQUOT)
      HCSC_FAIL(HCSC_ENOSPC, "%s: writing the header failed: %s", path, strerror(errno));
    HCSC_FAIL(HCSC_EGDAL, "%s: writing the header failed: %s", path, hcsc_io_gdal_last_error());
  }
  fix_header_description(path);
  off_t total = (off_t)(m->bands * m->rows * m->cols * (int64_t)hcsc_dtype_size(dtype));
  fd = open(path, O_WRONLY);
  if (fd < 0) {
    err = HCSC_ERR_ERRNO(path, "cannot open the raw file");
    goto cleanup;
  }
  int rc = posix_fallocate(fd, 0, total);
  /* Filesystems without fallocate support report EOPNOTSUPP/EINVAL: the
   * final size check still catches a short write there. */
  if (rc && rc != EOPNOTSUPP && rc != EINVAL) {
    err = hcsc_error_errno(rc, __FILE__, __LINE__, path, "cannot reserve space");
    goto cleanup;
  }
  if (ftruncate(fd, total) != 0) {
    err = HCSC_ERR_ERRNO(path, "cannot set the file size");
    goto cleanup;
  }
cleanup:
  if (fd >= 0 && close(fd) != 0 && !err) err = HCSC_ERR_ERRNO(path, "close");
  if (ds) GDALClose(ds);
  CSLDestroy(opts);
  return err;
}

/* Byte-swap n values of size sz in place (big-endian hosts only). */
static void to_little_endian(void *buf, size_t sz, size_t n)
{
  const uint16_t one = 1;
  if (*(const uint8_t *)&one == 1 || sz == 1) return;
  uint8_t *p = buf;
  for (size_t i = 0; i < n; i++, p += sz)
    for (size_t a = 0, b = sz - 1; a < b; a++, b--) {
      uint8_t t = p[a];
      p[a] = p[b];
      p[b] = t;
    }
}

/* Values converted and written per collective call: bounded memory (the
 * tile plus one chunk, never a second copy of the tile) and every MPI
 * count well below INT_MAX.  HCSC_IO_CHUNK (bytes) overrides it: the tests
 * set it tiny to exercise many rounds, benchmarks to tune. */
int64_t hcsc_io_chunk_bytes(void)
{
  const char *e = getenv("HCSC_IO_CHUNK");
  long long b = e ? atoll(e) : 0;
  /* 16 MiB: large requests for the file system, yet below glibc's 32 MiB
   * mmap threshold so the buffers of every layer are reused. */
  return b > 0 && b <= (1LL << 30) ? (int64_t)b : (int64_t)16 << 20;
}

/* See io_impl.h.  Collective on the grid's comm; returns a local code
 * (the dispatcher agrees it) but agrees internally before every
 * collective so no rank waits in one alone.
 *
 * The file view is this rank's subarray of the (band, row, col) file, set
 * once; consecutive MPI_File_write_all calls then fill it in order, one
 * chunk of whole tile rows at a time.  Every rank makes the same number of
 * calls (the largest tile's), writing nothing once its tile is done. */
int hcsc_io_envi_write(const char *path, const hcsc_meta *m, const hcsc_grid *g,
                       const hcsc_tile *tile, hcsc_dtype dtype)
{
  int err = 0, rank = hcsc_grid_rank(g);
  MPI_Comm comm = hcsc_grid_comm(g);
  MPI_File fh = MPI_FILE_NULL;
  MPI_Datatype el = MPI_DATATYPE_NULL, ft = MPI_DATATYPE_NULL;
  void *buf = NULL;
  hcsc_box box = hcsc_grid_box(g);
  size_t es = hcsc_dtype_size(dtype);
  const int64_t n = box.nb * box.nr * box.nc, nrows = box.nb * box.nr;
  int64_t chunk_rows = box.nc > 0 ? hcsc_io_chunk_bytes() / (box.nc * (int64_t)es) : 1;
  if (chunk_rows < 1) chunk_rows = 1;
  int64_t rounds = (nrows + chunk_rows - 1) / chunk_rows, max_rounds = 0;

  hcsc_io_gdal_init();
  if (rank == 0) err = create_envi(path, m, dtype);
  if (!err && chunk_rows * box.nc > INT_MAX)
    err = HCSC_ERR(HCSC_ESIZE, "%s: a row of %lld values is too large for one MPI write", path,
                   (long long)box.nc);
  if (!err && !(buf = malloc((size_t)(chunk_rows < nrows ? chunk_rows : nrows) * (size_t)box.nc * es + 1)))
    err = HCSC_ERR(HCSC_ENOMEM, "out of memory converting a tile for %s", path);
  HCSC_CHECK(hcsc_error_agree(comm, err));
  HCSC_MPI(MPI_Allreduce(&rounds, &max_rounds, 1, MPI_INT64_T, MPI_MAX, comm));

  hcsc_timer_start(HCSC_PHASE_IO_WRITE);
  char mpath[4200];
  int mpierr = MPI_File_open(comm, hcsc_io_mpi_path(path, mpath, sizeof mpath), MPI_MODE_WRONLY,
                             MPI_INFO_NULL, &fh);
  /* MPI_File_open is collective and fails on all ranks together. */
  if (mpierr != MPI_SUCCESS) {
    fh = MPI_FILE_NULL;
    err = hcsc_io_mpiio_error(mpierr, path, "MPI_File_open");
    goto timed;
  }
  int sizes[3] = {(int)m->bands, (int)m->rows, (int)m->cols};
  int sub[3] = {(int)box.nb, (int)box.nr, (int)box.nc};
  int start[3] = {(int)box.b0, (int)box.r0, (int)box.c0};
  MPI_Type_contiguous((int)es, MPI_BYTE, &el);
  MPI_Type_commit(&el);
  MPI_Type_create_subarray(3, sizes, sub, start, MPI_ORDER_C, el, &ft);
  MPI_Type_commit(&ft);
  mpierr = MPI_File_set_view(fh, 0, el, ft, "native", MPI_INFO_NULL);
  if (mpierr != MPI_SUCCESS) {
    err = hcsc_io_mpiio_error(mpierr, path, "MPI_File_set_view");
    goto timed;
  }
  int64_t written = 0;
  for (int64_t k = 0; k < max_rounds; k++) {
    /* Tile rows [r0, r1) in (band, row) order, interior only. */
    int64_t r0 = k * chunk_rows, r1 = r0 + chunk_rows < nrows ? r0 + chunk_rows : nrows;
    int count = r1 > r0 ? (int)((r1 - r0) * box.nc) : 0;
    hcsc_timer_stop(HCSC_PHASE_IO_WRITE);
    hcsc_timer_start(HCSC_PHASE_COMPUTE);
    for (int64_t r = r0; r < r1; r++)
      hcsc_dtype_from_float(dtype, &HCSC_TILE_AT(tile, r / box.nr, r % box.nr, 0),
                            (char *)buf + (size_t)((r - r0) * box.nc) * es, (size_t)box.nc,
                            m->has_nodata, m->nodata);
    to_little_endian(buf, es, (size_t)count);
    hcsc_timer_stop(HCSC_PHASE_COMPUTE);
    hcsc_timer_start(HCSC_PHASE_IO_WRITE);
    MPI_Status st;
    /* After a local failure keep taking part with empty writes: the calls
     * are collective. */
    mpierr = MPI_File_write_all(fh, buf, err ? 0 : count, el, &st);
    if (mpierr != MPI_SUCCESS) {
      if (!err) err = hcsc_io_mpiio_error(mpierr, path, "MPI_File_write_all");
    } else if (!err) {
      int cnt = 0;
      MPI_Get_count(&st, el, &cnt);
      if (cnt != count)
        err = HCSC_ERR(HCSC_ENOSPC, "%s: short write (%d of %d values; disk full?)", path, cnt,
                       count);
      written += cnt;
    }
  }
  hcsc_timer_add_bytes(HCSC_PHASE_IO_WRITE, (double)written * (double)es);
  if (!err && written != n)
    err = HCSC_ERR(HCSC_EIO, "%s: wrote %lld of %lld values", path, (long long)written, (long long)n);
timed:
  if (fh != MPI_FILE_NULL) {
    /* Every rank's data on stable storage before the output is renamed
     * into place (collective; on a parallel file system rank 0's fsync
     * would not cover other nodes' caches). */
    mpierr = MPI_File_sync(fh);
    if (mpierr != MPI_SUCCESS && !err) err = hcsc_io_mpiio_error(mpierr, path, "MPI_File_sync");
    mpierr = MPI_File_close(&fh);
    if (mpierr != MPI_SUCCESS && !err) err = hcsc_io_mpiio_error(mpierr, path, "MPI_File_close");
  }
  hcsc_timer_stop(HCSC_PHASE_IO_WRITE);
  HCSC_CHECK(hcsc_error_agree(comm, err));
  if (rank == 0) {
    /* A silent short write would leave a file of the wrong size. */
    struct stat sb;
    off_t want = (off_t)(m->bands * m->rows * m->cols * (int64_t)es);
    if (stat(path, &sb) != 0)
      err = HCSC_ERR_ERRNO(path, "stat after writing");
    else if (sb.st_size != want)
      err = HCSC_ERR(HCSC_ENOSPC, "%s: has %lld bytes after writing, expected %lld (disk full?)", path,
                     (long long)sb.st_size, (long long)want);
  }
cleanup:
  if (ft != MPI_DATATYPE_NULL) MPI_Type_free(&ft);
  if (el != MPI_DATATYPE_NULL) MPI_Type_free(&el);
  free(buf);
  return err;
}
