/* hypercsc — synthetic hyperspectral scenes of any size, made in parallel.
 *
 * A synthetic scene of B bands x H rows x W columns is a pure function of
 * (seed, band, global row, global column): every rank fills its own box and
 * the bytes are the same whatever the decomposition.  Content: six analytic
 * endmember spectra (green vegetation, dry vegetation, soil, water,
 * concrete, asphalt) mixed per pixel by abundance maps that are
 * non-negative and sum to one: fields (a jittered-lattice Voronoi partition,
 * a dominant and a secondary material per field), smooth value-noise
 * texture inside fields, straight roads and a meandering river as thin
 * lines, and a small smooth illumination variation.  Reflectance is float32
 * in [0, 1]; wavelengths are evenly spaced over 400-2500 nm. */
#ifndef HCSC_SYNTH_H
#define HCSC_SYNTH_H

#include <stdint.h>

#include "hcsc/grid.h"
#include "hcsc/meta.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HCSC_SYNTH_NENDMEMBERS 6

typedef struct {
  uint64_t seed;
  int64_t bands, rows, cols; /* size of the whole scene */
  double wl_min, wl_max;     /* nm; default 400, 2500 */
  double field_size;         /* mean field (Voronoi cell) size in pixels; default 24 */
} hcsc_synth_opts;

/* Defaults for a bands x rows x cols scene.  Not collective. */
void hcsc_synth_opts_init(hcsc_synth_opts *o, int64_t bands, int64_t rows, int64_t cols,
                          uint64_t seed);

/* Fill the interior of tile t (its box, nchan = box.nb, must lie inside the
 * scene of o) with the synthetic scene; the halo is not touched.  A pure
 * function of (seed, band, global row, global column).  Not collective. */
int hcsc_synth_fill(const hcsc_synth_opts *o, hcsc_tile *t);

/* Metadata of the scene of o: sizes, float32, a fixed UTM 33N grid (EPSG:32633,
 * 30 m pixels), wavelengths and fwhm (= spacing) in nanometres, band names
 * "Band k (xxx nm)".  m is overwritten without being freed (pass an
 * initialised or zeroed meta); the caller frees it with hcsc_meta_free().
 * Not collective. */
int hcsc_synth_meta(const hcsc_synth_opts *o, hcsc_meta *m);

/* Reflectance of endmember k (0..5: green vegetation, dry vegetation, soil,
 * water, concrete, asphalt) at wavelength wl (nm), and its name.
 * Not collective. */
double hcsc_synth_endmember(int k, double wl);
const char *hcsc_synth_endmember_name(int k);

#ifdef __cplusplus
}
#endif
#endif
