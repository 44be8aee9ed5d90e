/* hypercsc — line plots for people (objective curves, spectral signatures
 * of atoms) as PNG files, drawn by gnuplot.
 *
 * gnuplot (Debian package gnuplot-nox, 5.4) runs as a subprocess
 * (posix_spawnp, found on PATH) reading a script on its standard input with
 * the data inline; its "pngcairo" terminal draws the picture (gnuplot-nox
 * also has the libgd "png" terminal; pngcairo antialiases).  The PNG is
 * written to "<path>.hcsc-tmp-<pid>" and renamed to path when gnuplot has
 * finished successfully. */
#ifndef HCSC_PLOT_H
#define HCSC_PLOT_H

#ifdef __cplusplus
extern "C" {
#endif

/* Size of the PNG written by hcsc_plot_curves, in pixels. */
#define HCSC_PLOT_WIDTH 800
#define HCSC_PLOT_HEIGHT 500

/* Plot ncurves curves y[c][0..n-1] against x[0..n-1] (iterations, or
 * wavelengths for spectral signatures) to the PNG path, with a title, axis
 * labels and one legend label per curve (labels may be NULL: "curve 1",
 * ...; any text may be NULL: none).  log_y: logarithmic y axis (values
 * <= 0 or non-finite are then left out, as are non-finite values
 * otherwise).  An existing path is HCSC_EEXIST unless force.  gnuplot not
 * on PATH: HCSC_ENOTSUP naming gnuplot and its Debian package; gnuplot
 * failing: HCSC_EIO with its first error line.  Not collective (call it on
 * one rank); the caller owns every argument. */
int hcsc_plot_curves(const char *path, const char *title, const char *xlabel, const char *ylabel,
                     const double *x, const double *const *y, int ncurves, int n,
                     const char *const *labels, int log_y, int force);

#ifdef __cplusplus
}
#endif
#endif
