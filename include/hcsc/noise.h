/* hypercsc — the noise protocol of hyperspectral denoising papers.
 *
 * Models (spec strings):
 *   gaussian:SIGMA  iid Gaussian, SIGMA on the 0-255 scale (e.g. 30, 50, 70)
 *   blind           iid Gaussian, sigma ~ U[10, 70] per scene (from the seed)
 *   noniid          Gaussian, per-band sigma drawn from {10, 30, 50, 70}
 *   stripes         noniid, plus stripes on a third of the bands: 5-15 % of
 *                   the columns of such a band shifted by a constant per
 *                   column drawn in [-0.25, 0.25] * range
 *   deadlines       noniid, plus dead columns (set to 0) on a third of the
 *                   bands: 5-15 % of their columns
 *   impulse[:RATIO] noniid, plus salt and pepper on a third of the bands:
 *                   a fraction RATIO of their pixels (default: per band from
 *                   {0.1, 0.3, 0.5, 0.7}) set to the scene min or max
 *   mixture         noniid on all bands; stripes, dead lines and impulse
 *                   (ratio per band from {0.1, 0.3, 0.5, 0.7}) each on one of
 *                   three disjoint thirds of the bands
 * Sigma on the 0-255 scale maps to data units as
 *   sigma_data = sigma / 255 * range,  range = max - min of the clean scene.
 * Order per pixel: Gaussian is added, then the stripe shift; dead columns
 * and impulse pixels then replace the value.
 *
 * Every draw comes from the counter RNG keyed on (seed, band, global row,
 * global column, stream), per-band and per-column choices with HCSC_RNG_ANY
 * for the unused coordinates, so a noisy scene is bit-for-bit the same for
 * any decomposition.  Subsets of bands come from a seeded permutation of
 * all bands (the same on every rank); the columns of a striped or dead
 * band are the k columns with the smallest per-column uniforms (k exactly
 * round(fraction * cols), at least 1). */
#ifndef HCSC_NOISE_H
#define HCSC_NOISE_H

#include <mpi.h>
#include <stdint.h>

#include "hcsc/grid.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Components of a model (bit mask). */
enum {
  HCSC_NOISE_GAUSS = 1 << 0,    /* Gaussian (iid, blind or non-iid) */
  HCSC_NOISE_STRIPES = 1 << 1,
  HCSC_NOISE_DEADLINES = 1 << 2,
  HCSC_NOISE_IMPULSE = 1 << 3
};

typedef enum {
  HCSC_NOISE_KIND_GAUSSIAN = 0,
  HCSC_NOISE_KIND_BLIND,
  HCSC_NOISE_KIND_NONIID,
  HCSC_NOISE_KIND_STRIPES,
  HCSC_NOISE_KIND_DEADLINES,
  HCSC_NOISE_KIND_IMPULSE,
  HCSC_NOISE_KIND_MIXTURE
} hcsc_noise_kind;

typedef struct {
  hcsc_noise_kind kind;
  int components;       /* HCSC_NOISE_* mask; tests may clear bits to isolate one */
  double sigma;         /* gaussian: sigma on the 0-255 scale */
  double impulse_ratio; /* impulse: fixed ratio, or 0 for a per-band draw */
  char spec[64];        /* the spec as parsed (for reports) */
} hcsc_noise_model;

/* Parse a spec string (see above; names are case-insensitive).  Errors are
 * HCSC_EINVAL with a message naming the spec.  Not collective. */
int hcsc_noise_parse(const char *spec, hcsc_noise_model *m);

/* What a model does to one band. */
typedef struct {
  int components;       /* HCSC_NOISE_* bits applied to this band */
  double sigma;         /* Gaussian sigma on the 0-255 scale (0: none) */
  double sigma_data;    /* ... in data units: sigma / 255 * range */
  int64_t ncols;        /* stripes / dead lines: number of affected columns */
  double impulse_ratio; /* impulse: fraction of pixels replaced */
} hcsc_noise_band;

/* Fill bands[0..bands_total) with what model m with seed does to each
 * band of a scene with cols_total columns and the given range (max - min).
 * Not collective. */
int hcsc_noise_describe(const hcsc_noise_model *m, uint64_t seed, int64_t bands_total,
                        int64_t cols_total, double range, hcsc_noise_band *bands);

/* Whether column col of band b is striped (shift in *shift, data units) or
 * dead under m; for checks and reports.  Not collective. */
int hcsc_noise_column(const hcsc_noise_model *m, uint64_t seed, int64_t bands_total,
                      int64_t cols_total, double range, int64_t band, int64_t col,
                      int *striped, double *shift, int *dead);

/* Add noise to the interior of tile t (nchan = box.nb), a box of a
 * bands_total x rows_total x cols_total scene.  range: max - min of the
 * clean scene in data units, or <= 0 to compute it from the tiles over comm
 * (comm must hold every tile of the scene exactly once per pixel and band).
 * The scene min and max (reduced over comm) give the pepper and salt values
 * (with range given: min and min + range).  NaN pixels are left untouched.
 * Collective on comm. */
int hcsc_noise_apply(MPI_Comm comm, const hcsc_noise_model *m, uint64_t seed, int64_t bands_total,
                     int64_t rows_total, int64_t cols_total, double range, hcsc_tile *t);

/* Global min and max of the non-NaN interior values of the tiles over comm
 * (NaN, NaN when there are none).  Collective on comm. */
int hcsc_noise_minmax(MPI_Comm comm, const hcsc_tile *t, double minmax[2]);

#ifdef __cplusplus
}
#endif
#endif
