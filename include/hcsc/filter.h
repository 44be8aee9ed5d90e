/* hypercsc — spatial filters on decomposed scenes.
 *
 * Convolutional sparse coding represents the detail of an image; its
 * smooth part (the local mean that zero-mean atoms cannot build, and that
 * a circular model cannot reach through the scene edges) is usually taken
 * out first and added back after the reconstruction (Wohlberg's SPORCO
 * examples use a Tikhonov low-pass; a Gaussian low-pass serves the same
 * purpose and needs only a halo, so it distributes exactly). */
#ifndef HCSC_FILTER_H
#define HCSC_FILTER_H

#include "hcsc/grid.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Radius of the truncated Gaussian of standard deviation sigma (pixels):
 * ceil(3 sigma), 0 for sigma <= 0.  Not collective. */
int hcsc_gauss_radius(double sigma);

/* out = G_sigma * x per channel (separable Gaussian truncated at
 * hcsc_gauss_radius, weights normalised to sum 1), with the scene-edge rule
 * (half-sample symmetric extension), so the result is the same on every
 * decomposition.  x: a tile of grid g with a halo >= the radius (its halo is
 * filled here by an exchange); out: a tile on the same box and channel count
 * (interior written).  sigma <= 0 copies x.  Collective on the grid's comm. */
int hcsc_gauss_lowpass(const hcsc_grid *g, hcsc_tile *x, double sigma, hcsc_tile *out);

/* Take the smooth part out of x before coding: x <- x - xl, xl = G_sigma x
 * (hcsc_gauss_lowpass; xl allocated here on x's box without halo); with a mask,
 * the normalised convolution G(W x) / G(W), so that missing values do not
 * leak into it and missing pixels get the weighted local mean.  x's halo
 * must be >= hcsc_gauss_radius(sigma); where W = 0, x is left as it is.
 * Used by hypercsc code --lowpass, denoise/inpaint --solver --lowpass and
 * networks with a low-pass split (nn.h): zero-mean atoms cannot build a
 * scene's local mean.  Collective on the grid's comm. */
int hcsc_gauss_split(const hcsc_grid *g, hcsc_tile *x, const hcsc_tile *mask, double sigma, hcsc_tile *xl);

#ifdef __cplusplus
}
#endif
#endif
