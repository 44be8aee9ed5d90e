/* hypercsc — TEMPORARY stubs for the NetCDF and GeoTIFF writers, which are
 * written on another branch.  They let the library link meanwhile; this
 * file is dropped at merge. */
#include "config.h"

#include "hcsc/error.h"
#include "io/io_impl.h"

int hcsc_io_nc_probe(const char *path, hcsc_meta *m)
{
  return HCSC_ERR(HCSC_ENOTSUP, "%s: NetCDF input not available yet", path);
}

int hcsc_io_nc_read(const char *path, const hcsc_meta *m, const hcsc_selection *sel,
                    const hcsc_grid *g, hcsc_tile *tile)
{
  return HCSC_ERR(HCSC_ENOTSUP, "%s: NetCDF input not available yet", path);
}

int hcsc_io_nc_write(const char *path, const hcsc_meta *m, const hcsc_grid *g,
                     const hcsc_tile *tile, hcsc_dtype dtype)
{
  return HCSC_ERR(HCSC_ENOTSUP, "%s: NetCDF output not available yet", path);
}

int hcsc_io_gtiff_write(const char *path, const hcsc_meta *m, const hcsc_grid *g,
                        const hcsc_tile *tile, hcsc_dtype dtype, const char *compress)
{
  return HCSC_ERR(HCSC_ENOTSUP, "%s: GeoTIFF output not available yet", path);
}
