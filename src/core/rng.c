/* hypercsc — Philox4x32-10 counter-based generator.
 * Constants from Salmon, Moraes, Dror, Shaw (SC 2011), table 2. */
#include "config.h"

#include <math.h>

#include "hcsc/rng.h"

#define PHILOX_M0 UINT32_C(0xD2511F53)
#define PHILOX_M1 UINT32_C(0xCD9E8D57)
#define PHILOX_W0 UINT32_C(0x9E3779B9)
#define PHILOX_W1 UINT32_C(0xBB67AE85)

static inline void mulhilo(uint32_t a, uint32_t b, uint32_t *hi, uint32_t *lo)
{
  uint64_t p = (uint64_t)a * b;
  *hi = (uint32_t)(p >> 32);
  *lo = (uint32_t)p;
}

void hcsc_rng_philox(uint64_t key, const uint32_t ctr[4], uint32_t out[4])
{
  uint32_t k0 = (uint32_t)key, k1 = (uint32_t)(key >> 32);
  uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
  for (int round = 0; round < 10; round++) {
    uint32_t hi0, lo0, hi1, lo1;
    mulhilo(PHILOX_M0, c0, &hi0, &lo0);
    mulhilo(PHILOX_M1, c2, &hi1, &lo1);
    c0 = hi1 ^ c1 ^ k0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = lo0;
    k0 += PHILOX_W0;
    k1 += PHILOX_W1;
  }
  out[0] = c0, out[1] = c1, out[2] = c2, out[3] = c3;
}

void hcsc_rng_bits(uint64_t seed, uint32_t stream, int64_t band, int64_t row, int64_t col,
                   uint32_t out[4])
{
  const uint32_t ctr[4] = {(uint32_t)band, (uint32_t)row, (uint32_t)col, stream};
  hcsc_rng_philox(seed, ctr, out);
}

/* 53 random bits mapped to the open interval (0, 1): (k + 0.5) / 2^53. */
static inline double to_open01(uint32_t a, uint32_t b)
{
  uint64_t k = ((uint64_t)a << 21) ^ (uint64_t)(b >> 11);
  k &= (UINT64_C(1) << 53) - 1;
  return ((double)k + 0.5) * (1.0 / 9007199254740992.0);
}

void hcsc_rng_uniform2(uint64_t seed, uint32_t stream, int64_t band, int64_t row, int64_t col,
                       double u[2])
{
  uint32_t w[4];
  hcsc_rng_bits(seed, stream, band, row, col, w);
  u[0] = to_open01(w[0], w[1]);
  u[1] = to_open01(w[2], w[3]);
}

double hcsc_rng_uniform(uint64_t seed, uint32_t stream, int64_t band, int64_t row, int64_t col)
{
  double u[2];
  hcsc_rng_uniform2(seed, stream, band, row, col, u);
  return u[0];
}

static inline double box_muller(const double u[2])
{
  return sqrt(-2.0 * log(u[0])) * cos(6.283185307179586476925 * u[1]);
}

double hcsc_rng_normal(uint64_t seed, uint32_t stream, int64_t band, int64_t row, int64_t col)
{
  double u[2];
  hcsc_rng_uniform2(seed, stream, band, row, col, u);
  return box_muller(u);
}

void hcsc_rng_init(hcsc_rng *r, uint64_t seed, uint32_t stream)
{
  r->seed = seed;
  r->stream = stream;
  r->counter = 0;
}

static void next_block(hcsc_rng *r, uint32_t w[4])
{
  const uint32_t ctr[4] = {(uint32_t)r->counter, (uint32_t)(r->counter >> 32), 0xA5A5A5A5u,
                           r->stream};
  hcsc_rng_philox(r->seed, ctr, w);
  r->counter++;
}

uint32_t hcsc_rng_next_u32(hcsc_rng *r)
{
  uint32_t w[4];
  next_block(r, w);
  return w[0];
}

double hcsc_rng_next_uniform(hcsc_rng *r)
{
  uint32_t w[4];
  next_block(r, w);
  return to_open01(w[0], w[1]);
}

double hcsc_rng_next_normal(hcsc_rng *r)
{
  uint32_t w[4];
  next_block(r, w);
  const double u[2] = {to_open01(w[0], w[1]), to_open01(w[2], w[3])};
  return box_muller(u);
}

uint64_t hcsc_rng_next_below(hcsc_rng *r, uint64_t n)
{
  if (n <= 1) return 0;
  /* Rejection on 64 bits: unbiased for every n. */
  uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  for (;;) {
    uint32_t w[4];
    next_block(r, w);
    uint64_t x = ((uint64_t)w[0] << 32) | w[1];
    if (x < limit) return x % n;
  }
}
