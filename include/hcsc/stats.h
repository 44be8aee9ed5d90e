/* hypercsc — per-band statistics and noise estimates of a distributed scene.
 *
 * Per band: min, max, mean, population standard deviation (two passes: the
 * mean first, then the sum of squared deviations), the count of valid
 * (non-NaN) values, and a noise estimate
 *     sigma = 1.4826 * MAD(d),  d = (x[r][c] - x[r][c+1]) / sqrt(2)
 * over horizontal neighbour pairs inside the scene with both values valid
 * (MAD: median of |d - median(d)|).  Pairs across a column-tile border use
 * the tile's halo when it has one (halo >= 1, filled by the caller with
 * hcsc_halo_exchange); without a halo those pairs are left out and the
 * estimate then depends slightly on the decomposition.
 *
 * The medians are exact and decomposition-independent: a distributed radix
 * selection.  Each double is mapped to a 64-bit key with the same order;
 * eight passes each fix the next 8 bits of the key of the wanted order
 * statistic from a 256-bin histogram (of the values whose key agrees with
 * the bits fixed so far) summed over comm with one MPI_Allreduce for all
 * bands at once.  After eight passes the key, hence the value, is exactly
 * the k-th smallest of all values of the band, as a serial sort would give.
 * The median of an even count is the mean of the two middle values. */
#ifndef HCSC_STATS_H
#define HCSC_STATS_H

#include <mpi.h>
#include <stdint.h>

#include "hcsc/grid.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  int64_t bands;
  double *min, *max, *mean, *std; /* [bands]; NaN when a band has no valid value */
  double *noise;                  /* [bands] 1.4826 MAD estimate; NaN with < 2 pairs */
  int64_t *count;                 /* [bands] valid values */
  int64_t *npairs;                /* [bands] pairs in the noise estimate */
} hcsc_stats;

/* Statistics of the interiors of tiles t (nchan = box.nb) of a scene of
 * bands_total bands and cols_total columns, over comm (every value held by
 * exactly one rank).  noise = 0 skips the noise estimate (NaN).  out is
 * filled on every rank; free with hcsc_stats_free.  Collective on comm. */
int hcsc_stats_compute(MPI_Comm comm, const hcsc_tile *t, int64_t bands_total, int64_t cols_total,
                       int noise, hcsc_stats *out);
/* Not collective; accepts a zeroed s. */
void hcsc_stats_free(hcsc_stats *s);

/* The noise estimate alone: noise[ch] (ch < t->nchan) as above for
 * channel ch of tiles t over comm (every rank passes the same channels of
 * the scene, nchan alike, its own rows and columns; halo >= 1 filled to
 * count the pairs across column tiles).  Same values as
 * hcsc_stats_compute.  Memory: the pair differences of at most 16
 * channels at a time, in double (hcsc_stats_compute's noise works the
 * same way, band chunk by band chunk).  Collective on comm. */
int hcsc_stats_noise(MPI_Comm comm, const hcsc_tile *t, int64_t cols_total, double *noise);

/* Exact k-th smallest (0-based) of the values of each of nsets sets
 * distributed over comm: set i has n[i] local values v[i][0..n[i]) (no NaN)
 * and the global order statistic k[i] (< total count; a negative k gives
 * NaN).  Results in out[i] on every rank.  Collective on comm. */
int hcsc_stats_select(MPI_Comm comm, int nsets, double *const *v, const int64_t *n,
                      const int64_t *k, double *out);

#ifdef __cplusplus
}
#endif
#endif
