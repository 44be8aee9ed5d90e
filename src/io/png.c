/* hypercsc — PNG output through GDAL: the PNG driver has no Create, only
 * CreateCopy, so the picture is built in a MEM dataset and copied. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cpl_error.h>
#include <cpl_string.h>
#include <gdal.h>

#include "hcsc/error.h"
#include "hcsc/picture.h"
#include "hcsc/timer.h"
#include "io/io_impl.h"

static int gdal_fail(const char *path, const char *what)
{
  const char *msg = hcsc_io_gdal_last_error();
  return HCSC_ERR(HCSC_EGDAL, "%s: %s: %s", path, what, (msg && msg[0]) ? msg : "GDAL error");
}

/* See picture.h.  Not collective. */
int hcsc_picture_write_png(const char *path, const unsigned char *pixels, int width, int height,
                           int nbands, int force)
{
  int err = 0, created = 0;
  char tmp[4200], aux[4300];
  GDALDatasetH mem = NULL, png = NULL;
  GDALDriverH mdrv, pdrv;
  if (!path || !pixels || width < 1 || height < 1 || (nbands != 1 && nbands != 3))
    return HCSC_ERR(HCSC_EINVAL, "%s: cannot write a %d x %d picture with %d bands as PNG",
                    path ? path : "(no path)", width, height, nbands);
  if (!force && access(path, F_OK) == 0)
    return HCSC_ERR(HCSC_EEXIST, "%s: exists (use --force to overwrite)", path);
  if (snprintf(tmp, sizeof tmp, "%s.hcsc-tmp-%ld", path, (long)getpid()) >= (int)sizeof tmp)
    return HCSC_ERR(HCSC_EINVAL, "%.200s...: path too long", path);
  snprintf(aux, sizeof aux, "%s.aux.xml", tmp);
  hcsc_timer_start(HCSC_PHASE_IO_WRITE);
  hcsc_io_gdal_init();
  CPLErrorReset();
  mdrv = GDALGetDriverByName("MEM");
  pdrv = GDALGetDriverByName("PNG");
  if (!mdrv || !pdrv) HCSC_FAIL(HCSC_EGDAL, "%s: GDAL lacks the MEM or PNG driver", path);
  mem = GDALCreate(mdrv, "", width, height, nbands, GDT_Byte, NULL);
  if (!mem) {
    err = gdal_fail(path, "cannot create the picture in memory");
    goto cleanup;
  }
  for (int b = 0; b < nbands; b++) {
    GDALRasterBandH band = GDALGetRasterBand(mem, b + 1);
    if (GDALRasterIO(band, GF_Write, 0, 0, width, height,
                     (void *)(pixels + (size_t)b * width * height), width, height, GDT_Byte, 0,
                     0) != CE_None) {
      err = gdal_fail(path, "cannot fill the picture");
      goto cleanup;
    }
    if (nbands == 3)
      GDALSetRasterColorInterpretation(band, b == 0 ? GCI_RedBand : b == 1 ? GCI_GreenBand : GCI_BlueBand);
  }
  created = 1;
  png = GDALCreateCopy(pdrv, tmp, mem, FALSE, NULL, NULL, NULL);
  if (!png) {
    err = gdal_fail(path, "cannot write PNG");
    goto cleanup;
  }
  /* Closing flushes the file: only then is it complete. */
  GDALClose(png);
  png = NULL;
  if (CPLGetLastErrorType() == CE_Failure) {
    err = gdal_fail(path, "cannot write PNG");
    goto cleanup;
  }
  if (rename(tmp, path) != 0) {
    err = HCSC_ERR_ERRNO(path, "cannot rename the finished picture to");
    goto cleanup;
  }
cleanup:
  if (png) GDALClose(png);
  if (mem) GDALClose(mem);
  if (created) {
    if (err < 0) unlink(tmp);
    unlink(aux); /* GDAL may add one for the MEM dataset's statistics */
  }
  hcsc_timer_stop(HCSC_PHASE_IO_WRITE);
  return err;
}
