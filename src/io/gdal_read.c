/* hypercsc — windowed reads of GDAL rasters into float32 tiles. */
#include "config.h"

#include <math.h>

#include <gdal.h>

#include "hcsc/error.h"
#include "io/io_impl.h"

/* See io_impl.h.  Each rank opens the file itself: GDAL handles are not
 * shareable between processes, and only the window is read.
 * Not collective. */
int hcsc_io_gdal_read(const char *path, const hcsc_meta *m, const hcsc_selection *sel,
                      const hcsc_grid *g, hcsc_tile *tile)
{
  int err = 0;
  GDALDatasetH ds = NULL;
  hcsc_box box = hcsc_grid_box(g);
  int64_t r_off = sel ? sel->window[0] : 0, c_off = sel ? sel->window[1] : 0;
  hcsc_io_gdal_init();
  CPLErrorReset();
  ds = GDALOpen(path, GA_ReadOnly);
  if (!ds) HCSC_FAIL(HCSC_EFORMAT, "%s: cannot open for reading (%s)", path, hcsc_io_gdal_last_error());
  if (GDALGetRasterCount(ds) != m->bands || GDALGetRasterYSize(ds) != m->rows ||
      GDALGetRasterXSize(ds) != m->cols)
    HCSC_FAIL(HCSC_ESIZE, "%s: changed since it was opened", path);
  if (box.nr <= 0 || box.nc <= 0) goto cleanup;
  float nd = (float)m->nodata;
  for (int64_t b = 0; b < box.nb; b++) {
    int64_t fb = hcsc_io_sel_band(sel, box.b0 + b);
    GDALRasterBandH h = GDALGetRasterBand(ds, (int)fb + 1);
    float *dst = &HCSC_TILE_AT(tile, b, 0, 0);
    CPLErr e = GDALRasterIOEx(h, GF_Read, (int)(c_off + box.c0), (int)(r_off + box.r0), (int)box.nc,
                              (int)box.nr, dst, (int)box.nc, (int)box.nr, GDT_Float32,
                              (GSpacing)sizeof(float), (GSpacing)(tile->ldc * (int64_t)sizeof(float)),
                              NULL);
    if (e != CE_None)
      HCSC_FAIL(HCSC_EFORMAT, "%s: reading band %lld rows %lld-%lld failed (file truncated or corrupt?): %s",
                path, (long long)fb + 1, (long long)(r_off + box.r0),
                (long long)(r_off + box.r0 + box.nr - 1), hcsc_io_gdal_last_error());
    if (m->has_nodata && !isnan(nd))
      for (int64_t r = 0; r < box.nr; r++)
        for (int64_t c = 0; c < box.nc; c++) {
          float *v = &HCSC_TILE_AT(tile, b, r, c);
          if (*v == nd) *v = NAN;
        }
  }
cleanup:
  if (ds) GDALClose(ds);
  return err;
}
