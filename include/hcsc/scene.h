/* hypercsc — distributed scene input and output.
 *
 * Reading: rank 0 opens the file and broadcasts its metadata; then every
 * rank reads only its own window and band range (GDAL RasterIO for GDAL
 * rasters, collective PnetCDF for NetCDF).  Pixels are converted to
 * float32; pixels equal to nodata become NaN (and NaN becomes nodata again
 * on output), so nodata never takes part in arithmetic by accident.
 *
 * Writing (all collective, no rank ever holds more than its tile plus one
 * block strip):
 *   ENVI    the raw band-sequential file is written by all ranks with one
 *           collective MPI-IO subarray write; GDAL writes only the header.
 *   GeoTIFF tiled, BIGTIFF=YES, band-interleaved, optional compression;
 *           rank 0 writes strips of blocks that the owning ranks send it.
 *   NetCDF  CF-1.8, CDF-5, variable (band, y, x) with wavelength coordinate
 *           and grid mapping, nonblocking collective writes.
 * Output goes to a temporary directory beside the target and is renamed
 * into place only when complete and agreed by all ranks; an existing target
 * is an HCSC_EEXIST error unless force is set. */
#ifndef HCSC_SCENE_H
#define HCSC_SCENE_H

#include <mpi.h>

#include "hcsc/grid.h"
#include "hcsc/meta.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  HCSC_FMT_AUTO = 0, /* from the file name: .tif/.tiff, .nc, anything else ENVI */
  HCSC_FMT_GTIFF,
  HCSC_FMT_ENVI,
  HCSC_FMT_NETCDF
} hcsc_format;

/* "GTiff", "ENVI", "netCDF" (case-insensitive, also "tif", "nc").
 * Not collective. */
int hcsc_format_parse(const char *name, hcsc_format *f);
hcsc_format hcsc_format_from_path(const char *path);
const char *hcsc_format_name(hcsc_format f);

typedef struct hcsc_scene hcsc_scene;

/* Open a scene for reading: rank 0 probes the file, all ranks receive the
 * metadata.  A missing file, a file that is not a raster, a truncated file,
 * an unsupported type or a zero-size scene is an error on every rank whose
 * message names the file.  Collective on comm. */
int hcsc_scene_open(MPI_Comm comm, const char *path, hcsc_scene **out);
void hcsc_scene_close(hcsc_scene **s);
const hcsc_meta *hcsc_scene_meta(const hcsc_scene *s);
const char *hcsc_scene_path(const hcsc_scene *s);

/* A selection of the file: bands (0-based list, NULL = all) and a window
 * {row0, col0, rows, cols} (all zero = whole scene). */
typedef struct {
  const int64_t *bands;
  int64_t nbands;
  int64_t window[4];
} hcsc_selection;

/* Read this rank's interior (grid box) of the selected scene into tile,
 * which must have been allocated with the grid box and nchan = box.nb; the
 * halo is left for hcsc_halo_exchange.  The grid must have been made for the
 * selection's sizes.  Collective on the grid's comm. */
int hcsc_scene_read(hcsc_scene *s, const hcsc_selection *sel, const hcsc_grid *g, hcsc_tile *tile);

/* Allocate this rank's tile of the selection (grid box, nchan = box.nb)
 * with a halo of width halo, read it, and fill the halo from the
 * neighbours and the scene-edge rule (hcsc_halo_exchange) when halo > 0.
 * On error the tile is freed.  Collective on the grid's comm. */
int hcsc_scene_load(hcsc_scene *s, const hcsc_selection *sel, const hcsc_grid *g, int halo,
                    hcsc_tile *tile);

typedef struct {
  hcsc_format format;  /* AUTO: from the path */
  hcsc_dtype dtype;    /* NONE: meta->dtype */
  int force;           /* overwrite an existing output */
  const char *compress;/* GeoTIFF: NULL/"NONE", "DEFLATE", "LZW", "ZSTD" */
} hcsc_write_opts;

/* Write the tiles of a scene with metadata meta (its bands/rows/cols must
 * match the grid) to path.  meta->dtype is ignored in favour of opts->dtype
 * when set.  Collective on the grid's comm. */
int hcsc_scene_write(const char *path, const hcsc_meta *meta, const hcsc_grid *g,
                     const hcsc_tile *tile, const hcsc_write_opts *opts);

/* Output-path helpers shared by every writer (models, dictionaries, ...).
 * check: fails with HCSC_EEXIST if path exists and !force, HCSC_EACCES /
 * HCSC_ENOENT if its directory cannot take the file.  Collective (rank 0
 * checks, the verdict is agreed). */
int hcsc_output_check(MPI_Comm comm, const char *path, int force);

#ifdef __cplusplus
}
#endif
#endif
