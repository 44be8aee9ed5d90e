/* hypercsc — private interfaces between the I/O files of src/io.
 *
 *   scene.c        open/read dispatch, hcsc_scene_write dispatch (temporary
 *                  directory, error agreement, rename), hcsc_output_check
 *   gdal_meta.c    metadata <-> GDAL dataset (both directions), GDAL init
 *   gdal_read.c    windowed GDAL reads
 *   envi_write.c   ENVI: header by GDAL, raw file by collective MPI-IO
 *   gtiff_write.c  GeoTIFF writer (rank 0 writes strips the owners send)
 *   netcdf.c       PnetCDF probe/read/write
 *   dtype.c, meta.c  data types and hcsc_meta helpers
 *
 * Format writers are called by hcsc_scene_write with a path inside a
 * temporary directory; they return a local error code (the dispatcher
 * agrees it over the grid's comm and removes the temporary directory on
 * failure).  Each writer is collective on the grid's comm and must not
 * leave any rank inside a collective when another rank fails: check
 * local conditions first and agree (hcsc_error_agree) before collectives. */
#ifndef HCSC_IO_IMPL_H
#define HCSC_IO_IMPL_H

#include <gdal.h>

#include "hcsc/grid.h"
#include "hcsc/meta.h"
#include "hcsc/scene.h"

/* Register GDAL drivers once, set a per-rank block cache size and install an
 * error handler that keeps GDAL's last message for our error text (GDAL
 * otherwise prints to stderr on every rank).  Not collective. */
void hcsc_io_gdal_init(void);
/* GDAL's last error message ("" if none). */
const char *hcsc_io_gdal_last_error(void);
/* GDALDataType <-> hcsc_dtype; unsupported GDAL types give HCSC_DT_NONE. */
hcsc_dtype hcsc_io_dtype_from_gdal(GDALDataType t);
GDALDataType hcsc_io_dtype_to_gdal(hcsc_dtype t);

/* Fill m from an open GDAL dataset: sizes, type, geotransform, CRS WKT,
 * wavelengths/fwhm/units/bbl (per band "wavelength" items and the "ENVI"
 * domain), band names (descriptions), nodata, scale/offset, description.
 * Not collective. */
int hcsc_io_gdal_get_meta(GDALDatasetH ds, const char *path, hcsc_meta *m);
/* Write m's georeferencing, spectral metadata, band names and nodata to a
 * dataset being created, in the form the driver keeps (the ENVI domain for
 * ENVI, band metadata items for GeoTIFF).  Not collective. */
int hcsc_io_gdal_set_meta(GDALDatasetH ds, const hcsc_meta *m);

/* Windowed read of bands/rows/cols of a GDAL raster into a float32 tile
 * interior.  Not collective (each rank opens the file read-only). */
int hcsc_io_gdal_read(const char *path, const hcsc_meta *m, const hcsc_selection *sel,
                      const hcsc_grid *g, hcsc_tile *tile);

/* NetCDF (PnetCDF).  probe: open on MPI_COMM_SELF (rank 0 only) and fill
 * m.  read: collective on the grid's comm, each rank its own box.  write:
 * create a CF-1.8 CDF-5 file at path.  */
int hcsc_io_nc_probe(const char *path, hcsc_meta *m);
int hcsc_io_nc_read(const char *path, const hcsc_meta *m, const hcsc_selection *sel,
                    const hcsc_grid *g, hcsc_tile *tile);
int hcsc_io_nc_write(const char *path, const hcsc_meta *m, const hcsc_grid *g,
                     const hcsc_tile *tile, hcsc_dtype dtype);

/* Wrap a failed MPI-IO call on path: MPI's own text kept, a full disk or
 * quota as HCSC_ENOSPC, anything else HCSC_EIO.  Not collective. */
int hcsc_io_mpiio_error(int mpierr, const char *path, const char *call);

/* Layout of a raw band-sequential (ENVI BSQ) file. */
typedef struct {
  int64_t offset; /* header offset in bytes */
  int big_endian; /* ENVI "byte order = 1" */
} hcsc_raw;

/* Whether the bands of box under sel are consecutive ascending file bands
 * (what the MPI-IO reader needs).  Not collective. */
int hcsc_io_envi_can_read(const hcsc_selection *sel, const hcsc_box *box);
/* Read this rank's box of a BSQ file with collective MPI-IO (see
 * envi_read.c).  Returns a local code, agreed internally before every
 * collective.  Collective on the grid's comm. */
int hcsc_io_envi_read(const char *path, const hcsc_meta *m, const hcsc_raw *raw,
                      const hcsc_selection *sel, const hcsc_grid *g, hcsc_tile *tile);

/* ENVI and GeoTIFF writers (see above). */
int hcsc_io_envi_write(const char *path, const hcsc_meta *m, const hcsc_grid *g,
                       const hcsc_tile *tile, hcsc_dtype dtype);
int hcsc_io_gtiff_write(const char *path, const hcsc_meta *m, const hcsc_grid *g,
                        const hcsc_tile *tile, hcsc_dtype dtype, const char *compress);

/* The name to give MPI-IO (and PnetCDF) for path.  ROMIO reads a prefix
 * ending in ':' as a file-system type, so a path with a colon must be
 * written "ufs:path" there; Open MPI's ompio takes the path as is.  The
 * component is the one main() selected (OMPI_MCA_io).  Returns path or buf.
 * Not collective. */
const char *hcsc_io_mpi_path(const char *path, char *buf, size_t n);

/* Create an empty file ".BASE.hcsc-tmp-XXXXXX" beside path (the same
 * directory, so the final rename stays on one file system) with the mode a
 * new file gets (0666 less the umask: mkstemp's 0600 would hide an output
 * from the job's group).  tmp (n bytes) receives its name.  Not collective. */
int hcsc_io_temp_file(const char *path, char *tmp, size_t n);

/* Bytes converted and moved per collective I/O call (16 MiB unless the
 * environment variable HCSC_IO_CHUNK gives another count of bytes).
 * Not collective. */
int64_t hcsc_io_chunk_bytes(void);

/* Map a tile band index (0..box.nb-1 of the grid box) to the file band of a
 * selection (sel->bands or identity) and the window offsets. */
int64_t hcsc_io_sel_band(const hcsc_selection *sel, int64_t b);

/* FNV-1a 64 of n bytes continuing from h (start with HCSC_FNV_BASIS): the
 * checksum of checkpoints and model files, and configuration fingerprints.
 * Not collective. */
#define HCSC_FNV_BASIS 0xcbf29ce484222325ULL
uint64_t hcsc_fnv1a(uint64_t h, const void *p, size_t n);

/* A PnetCDF failure while writing `path` (a variable in scope): keep
 * PnetCDF's text and the file name; no space is HCSC_ENOSPC.  For
 * functions with a cleanup label that include <pnetcdf.h>. */
#define NC_W(call, what)                                                                    \
  do {                                                                                      \
    int nc_st_ = (call);                                                                    \
    if (nc_st_ != NC_NOERR)                                                                 \
      HCSC_FAIL(nc_st_ == NC_ENO_SPACE ? HCSC_ENOSPC : HCSC_ENETCDF, "%s: %s: %s", path, (what), \
                ncmpi_strerror(nc_st_));                                                    \
  } while (0)

/* Finish a NetCDF file written (through PnetCDF) under the temporary name
 * tmp: flush it to stable storage, close it and rename it to path, so a
 * crash never leaves a complete-looking name over an incomplete file.
 * *ncid is -1 afterwards, whatever happens; errors name path (what: "model",
 * "dictionary", ...).  Collective on the file's communicator; the rename
 * is done by every calling rank (call it from the writing rank). */
int hcsc_io_nc_finish(int *ncid, const char *tmp, const char *path, const char *what);

#endif
