/* hypercsc — the arithmetic of the decomposition: block partitions, the
 * scene-edge (half-sample symmetric) index rule, grid specs and the choice
 * of grid dimensions.  Everything here is serial and deterministic, so every
 * rank reaches the same answer without communicating. */
#include "config.h"

#include <ctype.h>
#include <limits.h>
#include <stdlib.h>

#include "hcsc/error.h"
#include "grid_impl.h"

/* Part i of n items split in p blocks: the first n % p blocks hold one
 * item more.  Out-of-range arguments give an empty part at 0.
 * Not collective. */
void hcsc_partition(int64_t n, int p, int i, int64_t *start, int64_t *count)
{
  int64_t s = 0, c = 0;
  if (n > 0 && p > 0 && i >= 0 && i < p) {
    int64_t base = n / p, rem = n % p;
    s = (int64_t)i * base + (i < rem ? i : rem);
    c = base + (i < rem ? 1 : 0);
  }
  if (start) *start = s;
  if (count) *count = c;
}

/* The part of hcsc_partition(n, p, .) that holds item idx; a negative
 * HCSC_ERANGE when idx is outside [0, n) or p < 1.  Not collective. */
int hcsc_partition_owner(int64_t n, int p, int64_t idx)
{
  if (n <= 0 || p <= 0 || idx < 0 || idx >= n) return HCSC_ERANGE;
  int64_t base = n / p, rem = n % p;
  int64_t big = rem * (base + 1); /* items held by the larger blocks */
  if (idx < big) return (int)(idx / (base + 1));
  /* base > 0 here: when p > n every item lies in the larger blocks. */
  return (int)(rem + (idx - big) / base);
}

/* Half-sample symmetric extension of an axis of length n: the sequence
 * 0 1 .. n-1 n-1 .. 1 0 repeats with period 2n, so any x (however far
 * outside, negative or not) maps into [0, n).  n < 1 gives 0.
 * Not collective. */
int64_t hcsc_mirror_index(int64_t x, int64_t n)
{
  if (n <= 1) return 0;
  int64_t period = 2 * n;
  int64_t m = x % period;
  if (m < 0) m += period;
  return m < n ? m : period - 1 - m;
}

/* Parse one non-negative decimal field ending at a 'x' or the end. */
static int parse_field(const char **p, int *val)
{
  const char *s = *p;
  long v = 0;
  if (!isdigit((unsigned char)*s)) return -1;
  while (isdigit((unsigned char)*s)) {
    v = v * 10 + (*s - '0');
    if (v > INT_MAX) return -1;
    s++;
  }
  *val = (int)v;
  *p = s;
  return 0;
}

/* Parse "GxPxQ" or "PxQ" (G = 1); 0 means "choose".  dims is written only
 * on success.  Not collective. */
int hcsc_grid_parse(const char *spec, int dims[3])
{
  int err = 0, v[3], n = 0;
  const char *p = spec;
  if (!spec || !dims) HCSC_FAIL(HCSC_EINVAL, "grid spec: no spec given");
  for (;;) {
    /* Each field, including one after a separator, must be present. */
    if (n == 3 || parse_field(&p, &v[n]) != 0) {
      n = -1;
      break;
    }
    n++;
    if (*p == '\0') break;
    if (*p != 'x' && *p != 'X') {
      n = -1;
      break;
    }
    p++;
  }
  if (n < 2)
    HCSC_FAIL(HCSC_EINVAL,
              "invalid grid spec '%s': expected GxPxQ or PxQ (bands x rows x cols, "
              "non-negative integers, 0 = choose)",
              spec);
  if (n == 2) {
    dims[0] = 1;
    dims[1] = v[0];
    dims[2] = v[1];
  } else {
    dims[0] = v[0];
    dims[1] = v[1];
    dims[2] = v[2];
  }
cleanup:
  return err;
}

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* P x Q = s minimising the largest tile's halo perimeter
 * ceil(rows/P) + ceil(cols/Q); ties go to the smaller largest tile (better
 * balance), then to the first P.  Only splits with no empty block count. */
static int choose_pq(int s, int64_t rows, int64_t cols, int *pp, int *qq)
{
  int64_t best_cost = -1, best_area = -1;
  for (int p = 1; p <= s; p++) {
    if (s % p) continue;
    int q = s / p;
    if (p > rows || q > cols) continue;
    int64_t hr = ceil_div(rows, p), hc = ceil_div(cols, q);
    int64_t cost = hr + hc, area = hr * hc;
    if (best_cost < 0 || cost < best_cost || (cost == best_cost && area < best_area)) {
      best_cost = cost;
      best_area = area;
      *pp = p;
      *qq = q;
    }
  }
  return best_cost < 0 ? -1 : 0;
}

int hcsc_grid_choose_dims(int size, int64_t bands, int64_t rows, int64_t cols, const int in[3],
                          int out[3])
{
  int err = 0, d[3] = {0, 0, 0};
  static const char *const what[3] = {"band", "row", "column"};
  const int64_t items[3] = {bands, rows, cols};
  if (bands < 1 || rows < 1 || cols < 1)
    HCSC_FAIL(HCSC_EINVAL, "grid: scene of %lld bands x %lld rows x %lld cols is empty",
              (long long)bands, (long long)rows, (long long)cols);
  if (in)
    for (int i = 0; i < 3; i++) d[i] = in[i];
  for (int i = 0; i < 3; i++)
    if (d[i] < 0)
      HCSC_FAIL(HCSC_EINVAL, "grid %dx%dx%d: negative number of %s blocks", d[0], d[1], d[2],
                what[i]);
  /* Bands are split only on request; with P and Q fixed, G takes the rest. */
  if (d[0] == 0) {
    int64_t pq = (int64_t)d[1] * d[2];
    d[0] = (pq > 0 && pq <= size && size % pq == 0) ? (int)(size / pq) : 1;
  }
  if (size % d[0])
    HCSC_FAIL(HCSC_EINVAL, "grid %dx%dx%d: %d band slices do not divide %d ranks", d[0], d[1],
              d[2], d[0], size);
  {
    int s = size / d[0];
    if (d[1] == 0 && d[2] == 0) {
      if (choose_pq(s, rows, cols, &d[1], &d[2]) != 0)
        HCSC_FAIL(HCSC_EINVAL,
                  "grid: cannot split a %lld x %lld scene over %d ranks per band slice "
                  "without empty tiles; use fewer ranks",
                  (long long)rows, (long long)cols, s);
    } else if (d[1] == 0 || d[2] == 0) {
      int known = d[1] ? d[1] : d[2];
      if (s % known)
        HCSC_FAIL(HCSC_EINVAL, "grid %dx%dx%d: %d %s blocks do not divide %d ranks per band slice",
                  d[0], d[1], d[2], known, d[1] ? "row" : "column", s);
      if (d[1] == 0)
        d[1] = s / known;
      else
        d[2] = s / known;
    }
  }
  if ((int64_t)d[0] * d[1] * d[2] != size)
    HCSC_FAIL(HCSC_EINVAL, "grid %dx%dx%d needs %lld ranks, the communicator has %d", d[0], d[1],
              d[2], (long long)d[0] * d[1] * d[2], size);
  for (int i = 0; i < 3; i++)
    if (d[i] > items[i])
      HCSC_FAIL(HCSC_EINVAL, "grid %dx%dx%d: %d %s blocks for %lld %ss (a tile would be empty)",
                d[0], d[1], d[2], d[i], what[i], (long long)items[i], what[i]);
  for (int i = 0; i < 3; i++) out[i] = d[i];
cleanup:
  return err;
}
