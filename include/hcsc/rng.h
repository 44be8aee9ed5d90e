/* hypercsc — counter-based random numbers (Philox4x32-10, Salmon et al.,
 * "Parallel random numbers: as easy as 1, 2, 3", SC 2011).
 *
 * A draw is a pure function of (seed, stream, band, global row, global
 * column): no state is carried from one pixel to the next, so a noisy or
 * synthetic scene is bit-for-bit the same whatever the decomposition.
 * "stream" separates independent uses (one per noise model component, per
 * synth layer, ...); pass HCSC_RNG_ANY for a coordinate that does not apply.
 * All functions are Not collective and thread-safe. */
#ifndef HCSC_RNG_H
#define HCSC_RNG_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HCSC_RNG_ANY ((int64_t)0xffffffff)

/* Raw Philox4x32-10 block: 4 x 32 random bits for a 128-bit counter under
 * a 64-bit key. */
void hcsc_rng_philox(uint64_t key, const uint32_t ctr[4], uint32_t out[4]);

/* Four 32-bit words for (seed, stream, band, row, col). */
void hcsc_rng_bits(uint64_t seed, uint32_t stream, int64_t band, int64_t row, int64_t col,
                   uint32_t out[4]);
/* Uniform in the open interval (0, 1), 53-bit resolution. */
double hcsc_rng_uniform(uint64_t seed, uint32_t stream, int64_t band, int64_t row, int64_t col);
/* Two independent uniforms in (0, 1) from one block. */
void hcsc_rng_uniform2(uint64_t seed, uint32_t stream, int64_t band, int64_t row, int64_t col,
                       double u[2]);
/* Standard normal (Box-Muller on the block's two uniforms). */
double hcsc_rng_normal(uint64_t seed, uint32_t stream, int64_t band, int64_t row, int64_t col);

/* A sequential stream for things that are not per pixel (patch positions,
 * initialisations): the i-th draw is block (seed, stream, i).  Its whole
 * state is {seed, stream, counter}, so it checkpoints as three integers. */
typedef struct {
  uint64_t seed;
  uint32_t stream;
  uint64_t counter;
} hcsc_rng;

void hcsc_rng_init(hcsc_rng *r, uint64_t seed, uint32_t stream);
uint32_t hcsc_rng_next_u32(hcsc_rng *r);
double hcsc_rng_next_uniform(hcsc_rng *r);          /* (0, 1) */
double hcsc_rng_next_normal(hcsc_rng *r);
uint64_t hcsc_rng_next_below(hcsc_rng *r, uint64_t n); /* [0, n), unbiased */

#ifdef __cplusplus
}
#endif
#endif
