/* hypercsc — GeoTIFF output without gathering the scene.
 *
 * libtiff cannot take writes from several processes, so rank 0 writes the
 * file alone, one band and one strip of block rows at a time: for each strip
 * the ranks whose tile holds part of it send their piece (converted to the
 * output type, interior only) and rank 0 writes the assembled strip with
 * GDALRasterIO.  Memory: each rank holds its tile plus one piece; rank 0
 * also one strip of one band.
 *
 * Errors: a failed write on rank 0 (disk full, file size limit) must not
 * leave the senders blocked.  Rank 0 keeps receiving every piece after a
 * failure (and simply stops writing), so the message pattern never depends
 * on the outcome; all ranks agree on the result at the end. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_error.h>
#include <cpl_string.h>
#include <gdal.h>

#include "hcsc/error.h"
#include "hcsc/progress.h"
#include "hcsc/timer.h"
#include "io/io_impl.h"

#define GTIFF_TAG 7301

static MPI_Datatype mpi_type_of(hcsc_dtype t)
{
  switch (t) {
  case HCSC_DT_UINT8: return MPI_UNSIGNED_CHAR;
  case HCSC_DT_INT16: return MPI_SHORT;
  case HCSC_DT_UINT16: return MPI_UNSIGNED_SHORT;
  case HCSC_DT_INT32: return MPI_INT;
  case HCSC_DT_FLOAT32: return MPI_FLOAT;
  case HCSC_DT_FLOAT64: return MPI_DOUBLE;
  default: return MPI_DATATYPE_NULL;
  }
}

/* TIFF tiles are multiples of 16: 256 for large scenes, the smallest
 * multiple of 16 that covers a small axis. */
static int block_size(int64_t n)
{
  int64_t b = (n + 15) / 16 * 16;
  return (int)(b < 256 ? b : 256);
}

/* GDAL's last error as an HCSC code: a full disk or a size limit is
 * HCSC_ENOSPC, anything else HCSC_EGDAL. */
static int gdal_fail(const char *path, const char *what, int line)
{
  const char *msg = CPLGetLastErrorMsg();
  int code = HCSC_EGDAL;
  if (msg && (strstr(msg, "No space") || strstr(msg, "File too large") || strstr(msg, "space left")))
    code = HCSC_ENOSPC;
  return hcsc_error_set(code, __FILE__, line, "%s: %s: %s", path, what,
                        (msg && msg[0]) ? msg : "GDAL error");
}

/* Rank 0: create the dataset with the creation options and metadata. */
static int gtiff_create(const char *path, const hcsc_meta *m, hcsc_dtype dtype, const char *compress,
                        int bx, int by, GDALDatasetH *out)
{
  int err = 0;
  char **opt = NULL, num[32];
  GDALDriverH drv;
  GDALDatasetH ds = NULL;

  *out = NULL;
  hcsc_io_gdal_init();
  CPLErrorReset();
  drv = GDALGetDriverByName("GTiff");
  if (!drv) HCSC_FAIL(HCSC_EGDAL, "%s: GDAL has no GTiff driver", path);
  if (m->bands > 65535 || m->rows > 2147483647LL || m->cols > 2147483647LL)
    HCSC_FAIL(HCSC_ESIZE, "%s: scene too large for GDAL's GTiff driver", path);
  opt = CSLSetNameValue(opt, "TILED", "YES");
  snprintf(num, sizeof num, "%d", bx);
  opt = CSLSetNameValue(opt, "BLOCKXSIZE", num);
  snprintf(num, sizeof num, "%d", by);
  opt = CSLSetNameValue(opt, "BLOCKYSIZE", num);
  opt = CSLSetNameValue(opt, "BIGTIFF", "YES");
  opt = CSLSetNameValue(opt, "INTERLEAVE", "BAND");
  opt = CSLSetNameValue(opt, "COMPRESS", (compress && compress[0]) ? compress : "NONE");
  ds = GDALCreate(drv, path, (int)m->cols, (int)m->rows, (int)m->bands, hcsc_io_dtype_to_gdal(dtype), opt);
  if (!ds) {
    err = gdal_fail(path, "cannot create GeoTIFF", __LINE__);
    goto cleanup;
  }
  HCSC_CHECK(hcsc_io_gdal_set_meta(ds, m));
  *out = ds;
  ds = NULL;
cleanup:
  if (ds) GDALClose(ds);
  CSLDestroy(opt);
  return err;
}

/* Write a scene as a tiled BigTIFF.  Collective on the grid's comm; rank 0
 * creates and writes the file, the others send it their pieces.  The caller
 * keeps ownership of all arguments.  compress: NULL or "NONE", "DEFLATE",
 * "LZW", "ZSTD" (any GDAL GTiff COMPRESS value). */
int hcsc_io_gtiff_write(const char *path, const hcsc_meta *m, const hcsc_grid *g, const hcsc_tile *tile,
                        hcsc_dtype dtype, const char *compress)
{
  int err = 0, rank, size, bx, by;
  MPI_Comm comm = hcsc_grid_comm(g);
  MPI_Datatype mt = mpi_type_of(dtype);
  hcsc_box box = hcsc_grid_box(g);
  GDALDatasetH ds = NULL;
  int64_t B, H, W;
  size_t esz = hcsc_dtype_size(dtype);
  char *piece = NULL, *strip = NULL;
  hcsc_progress *prog = NULL;

  hcsc_timer_start(HCSC_PHASE_IO_WRITE);
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  hcsc_grid_scene(g, &B, &H, &W);
  bx = block_size(W);
  by = block_size(H);

  /* Local checks and buffers, then rank 0's create: agreed before any
   * piece moves. */
  if (mt == MPI_DATATYPE_NULL)
    err = HCSC_ERR(HCSC_ETYPE, "%s: cannot write type %s to GeoTIFF", path, hcsc_dtype_name(dtype));
  else if (m->bands != B || m->rows != H || m->cols != W)
    err = HCSC_ERR(HCSC_ESIZE, "%s: metadata is %lld x %lld x %lld but the grid is %lld x %lld x %lld",
                   path, (long long)m->bands, (long long)m->rows, (long long)m->cols, (long long)B,
                   (long long)H, (long long)W);
  else if (!tile || !tile->data || tile->box.b0 != box.b0 || tile->box.nb != box.nb ||
           tile->box.r0 != box.r0 || tile->box.nr != box.nr || tile->box.c0 != box.c0 ||
           tile->box.nc != box.nc)
    err = HCSC_ERR(HCSC_EINVAL, "%s: tile does not match this rank's grid box", path);
  else if ((int64_t)by * box.nc > 2147483647LL || (int64_t)by * W > 2147483647LL)
    err = HCSC_ERR(HCSC_ESIZE, "%s: a strip of %d rows x %lld columns is too large for one message", path,
                   by, (long long)W);
  if (!err && !(piece = malloc((size_t)by * (size_t)box.nc * esz + 1)))
    err = HCSC_ERR(HCSC_ENOMEM, "%s: out of memory for a strip piece", path);
  if (!err && rank == 0 && !(strip = malloc((size_t)by * (size_t)W * esz + 1)))
    err = HCSC_ERR(HCSC_ENOMEM, "%s: out of memory for a strip", path);
  if (!err && rank == 0) err = gtiff_create(path, m, dtype, compress, bx, by, &ds);
  HCSC_CHECK(hcsc_error_agree(comm, err));

  /* Large scenes take a while through one writer: show it on rank 0. */
  const int64_t nstrips = (H + by - 1) / by;
  prog = hcsc_progress_create(comm, "GeoTIFF write", B * nstrips, "strips");
  for (int64_t b = 0; b < B; b++) {
    GDALRasterBandH band = rank == 0 ? GDALGetRasterBand(ds, (int)b + 1) : NULL;
    for (int64_t s0 = 0; s0 < H; s0 += by) {
      int64_t s1 = s0 + by < H ? s0 + by : H;
      /* The owners' side: this rank's rows of the strip, all its columns. */
      int64_t lo = s0 > box.r0 ? s0 : box.r0, hi = s1 < box.r0 + box.nr ? s1 : box.r0 + box.nr;
      int mine = b >= box.b0 && b < box.b0 + box.nb && lo < hi;
      if (mine) {
        for (int64_t r = lo; r < hi; r++)
          hcsc_dtype_from_float(dtype, &HCSC_TILE_AT(tile, b - box.b0, r - box.r0, 0),
                                piece + (size_t)((r - lo) * box.nc) * esz, (size_t)box.nc, m->has_nodata,
                                m->nodata);
        if (rank != 0) {
          HCSC_MPI(MPI_Send(piece, (int)((hi - lo) * box.nc), mt, 0, GTIFF_TAG, comm));
          hcsc_timer_add_bytes(HCSC_PHASE_IO_WRITE, (double)((hi - lo) * box.nc) * (double)esz);
        }
      }
      if (rank != 0) continue;
      /* Rank 0 assembles the strip from every owner, in rank order; each
       * owner sends its pieces in the same (band, strip) order, so the
       * receives always match. */
      for (int p = 0; p < size; p++) {
        hcsc_box pb = hcsc_grid_box_of(g, p);
        int64_t plo = s0 > pb.r0 ? s0 : pb.r0, phi = s1 < pb.r0 + pb.nr ? s1 : pb.r0 + pb.nr;
        if (b < pb.b0 || b >= pb.b0 + pb.nb || plo >= phi) continue;
        if (p == 0) {
          if (mine)
            for (int64_t r = plo; r < phi; r++)
              memcpy(strip + (size_t)((r - s0) * W + pb.c0) * esz, piece + (size_t)((r - plo) * pb.nc) * esz,
                     (size_t)pb.nc * esz);
          continue;
        }
        /* Received in place: the piece's rows land at their strip offsets. */
        MPI_Datatype rows;
        HCSC_MPI(MPI_Type_vector((int)(phi - plo), (int)pb.nc, (int)W, mt, &rows));
        HCSC_MPI(MPI_Type_commit(&rows));
        int rc = MPI_Recv(strip + (size_t)((plo - s0) * W + pb.c0) * esz, 1, rows, p, GTIFF_TAG, comm,
                          MPI_STATUS_IGNORE);
        MPI_Type_free(&rows);
        HCSC_MPI(rc);
      }
      /* After a failure rank 0 keeps draining pieces but stops writing. */
      if (!err && GDALRasterIO(band, GF_Write, 0, (int)s0, (int)W, (int)(s1 - s0), strip, (int)W,
                               (int)(s1 - s0), hcsc_io_dtype_to_gdal(dtype), 0, 0) != CE_None)
        err = gdal_fail(path, "writing GeoTIFF strip", __LINE__);
      hcsc_progress_update(prog, b * nstrips + s0 / by + 1, NULL);
    }
  }
  hcsc_progress_finish(&prog);
  if (rank == 0) {
    /* GDAL reports failed block writes (compressed flushes, disk full) at
     * close; GDALClose returns nothing in GDAL 3.6. */
    if (!err) CPLErrorReset();
    GDALClose(ds);
    ds = NULL;
    if (!err && (CPLGetLastErrorType() == CE_Failure || CPLGetLastErrorType() == CE_Fatal))
      err = gdal_fail(path, "closing GeoTIFF", __LINE__);
  }
  err = hcsc_error_agree(comm, err);

cleanup:
  if (ds) GDALClose(ds);
  free(piece);
  free(strip);
  hcsc_progress_finish(&prog);
  hcsc_timer_stop(HCSC_PHASE_IO_WRITE);
  return err;
}
