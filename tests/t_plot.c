/* Plots: two curves with a log y axis -> a PNG that GDAL opens with the
 * documented size and 3 or 4 bands, no temporary files left; an existing
 * output without force -> HCSC_EEXIST; nothing plottable -> HCSC_EVALUE;
 * PATH without gnuplot -> HCSC_ENOTSUP naming gnuplot and gnuplot-nox.
 * Skips (77) when gnuplot is not installed. */
#include "config.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gdal.h>

#include "hypercsc.h"
#include "testutil.h"

static int tmp_files_left(const char *dir)
{
  int n = 0;
  DIR *d = opendir(dir);
  struct dirent *e;
  while (d && (e = readdir(d)))
    if (strstr(e->d_name, "hcsc-tmp")) n++;
  if (d) closedir(d);
  return n;
}

int main(int argc, char **argv)
{
  char path[4200], save[8192];
  double x[50], y0[50], y1[50];
  const double *y[2] = {y0, y1};
  const char *labels[2] = {"ISTA", "FISTA's curve"};
  const char *dir = test_tmp_dir(), *p;
  int rc;
  test_init(&argc, &argv);
  /* Every rank decides (test_skip finalizes on every rank); rank 0 plots. */
  if (system("command -v gnuplot >/dev/null 2>&1") != 0) return test_skip("gnuplot is not installed");
  if (test_rank() != 0) return test_finish("t_plot");

  for (int i = 0; i < 50; i++) {
    x[i] = i + 1;
    y0[i] = 100.0 * exp(-0.05 * i) + 1;
    y1[i] = 100.0 / ((i + 1.0) * (i + 1.0)) + 0.5;
  }
  y1[7] = NAN; /* a gap */
  y0[3] = -1;  /* left out on a log axis */
  snprintf(path, sizeof path, "%s/objective.png", dir);
  TEST_OK(hcsc_plot_curves(path, "objective", "iteration", "1/2 ||Dz - x||^2 + lambda ||z||_1", x, y, 2,
                           50, labels, 1, 0));
  GDALAllRegister();
  GDALDatasetH ds = GDALOpen(path, GA_ReadOnly);
  TEST_ASSERT(ds != NULL, "GDAL cannot open %s", path);
  if (ds) {
    TEST_ASSERT(GDALGetRasterXSize(ds) == HCSC_PLOT_WIDTH && GDALGetRasterYSize(ds) == HCSC_PLOT_HEIGHT,
                "%s is %d x %d, expected %d x %d", path, GDALGetRasterXSize(ds), GDALGetRasterYSize(ds),
                HCSC_PLOT_WIDTH, HCSC_PLOT_HEIGHT);
    TEST_ASSERT(GDALGetRasterCount(ds) >= 3, "%d bands", GDALGetRasterCount(ds));
    TEST_ASSERT(!strcmp(GDALGetDriverShortName(GDALGetDatasetDriver(ds)), "PNG"), "not a PNG");
    GDALClose(ds);
  }
  TEST_ASSERT(tmp_files_left(dir) == 0, "temporary files left in %s", dir);

  rc = hcsc_plot_curves(path, NULL, NULL, NULL, x, y, 1, 50, NULL, 0, 0);
  TEST_ASSERT(rc == HCSC_EEXIST, "existing output without force: %s", hcsc_errname(rc));
  /* Spectral signature style: wavelengths on x, linear y, no labels, force. */
  for (int i = 0; i < 50; i++) x[i] = 400 + 10 * i;
  TEST_OK(hcsc_plot_curves(path, "atom 3", "wavelength (nm)", NULL, x, y, 2, 50, NULL, 0, 1));
  {
    double neg[3] = {-1, 0, -2}, xs[3] = {1, 2, 3};
    const double *yn[1] = {neg};
    snprintf(path, sizeof path, "%s/nothing.png", dir);
    rc = hcsc_plot_curves(path, "t", NULL, NULL, xs, yn, 1, 3, NULL, 1, 0);
    TEST_ASSERT(rc == HCSC_EVALUE, "nothing positive on a log axis: %s", hcsc_errname(rc));
    TEST_ASSERT(access(path, F_OK) != 0, "a failed plot left %s", path);
  }

  /* No gnuplot on PATH. */
  p = getenv("PATH");
  snprintf(save, sizeof save, "%s", p ? p : "");
  setenv("PATH", dir, 1);
  snprintf(path, sizeof path, "%s/missing.png", dir);
  rc = hcsc_plot_curves(path, "t", NULL, NULL, x, y, 2, 50, labels, 0, 0);
  TEST_ASSERT(rc == HCSC_ENOTSUP, "without gnuplot: %s (%s)", hcsc_errname(rc), hcsc_error_message());
  TEST_ASSERT(strstr(hcsc_error_message(), "gnuplot") && strstr(hcsc_error_message(), "gnuplot-nox"),
              "message \"%s\" names neither gnuplot nor gnuplot-nox", hcsc_error_message());
  TEST_ASSERT(access(path, F_OK) != 0, "a failed plot left %s", path);
  setenv("PATH", save, 1);
  TEST_ASSERT(tmp_files_left(dir) == 0, "temporary files left in %s", dir);
  return test_finish("t_plot");
}
