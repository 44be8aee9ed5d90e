/* Block partitions, owners, the scene-edge rule, grid specs and tile
 * allocation: serial maths, checked on every rank. */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "hypercsc.h"
#include "testutil.h"

/* The scene-edge rule by its definition: reflect about -1/2 and n-1/2
 * until the index falls inside. */
static int64_t mirror_ref(int64_t x, int64_t n)
{
  while (x < 0 || x >= n) x = x < 0 ? -1 - x : 2 * n - 1 - x;
  return x;
}

static void check_partition(void)
{
  for (int64_t n = 1; n <= 70; n++)
    for (int p = 1; p <= 13; p++) {
      int64_t next = 0, total = 0;
      for (int i = 0; i < p; i++) {
        int64_t s, c;
        hcsc_partition(n, p, i, &s, &c);
        TEST_ASSERT(s == next, "n %lld p %d part %d starts at %lld, expected %lld", (long long)n, p,
                    i, (long long)s, (long long)next);
        int64_t want = n / p + (i < n % p ? 1 : 0);
        TEST_ASSERT(c == want, "n %lld p %d part %d has %lld items, expected %lld", (long long)n,
                    p, i, (long long)c, (long long)want);
        for (int64_t k = s; k < s + c; k++)
          TEST_ASSERT(hcsc_partition_owner(n, p, k) == i, "n %lld p %d: owner(%lld) = %d, not %d",
                      (long long)n, p, (long long)k, hcsc_partition_owner(n, p, k), i);
        next = s + c;
        total += c;
      }
      TEST_ASSERT(total == n, "n %lld p %d: parts hold %lld items", (long long)n, p,
                  (long long)total);
      TEST_ASSERT(hcsc_partition_owner(n, p, -1) < 0, "owner of -1 must be negative");
      TEST_ASSERT(hcsc_partition_owner(n, p, n) < 0, "owner of n must be negative");
    }
  /* Large n: sizes still differ by at most one. */
  int64_t s, c, s2, c2;
  hcsc_partition(INT64_C(10000000019), 7, 6, &s, &c);
  hcsc_partition(INT64_C(10000000019), 7, 0, &s2, &c2);
  TEST_ASSERT(s + c == INT64_C(10000000019) && c2 - c <= 1 && c2 >= c, "large partition");
  TEST_ASSERT(hcsc_partition_owner(INT64_C(10000000019), 7, INT64_C(10000000018)) == 6,
              "large owner");
  hcsc_partition(5, 0, 0, &s, &c);
  TEST_ASSERT(s == 0 && c == 0, "p = 0 gives an empty part");
}

static void check_mirror(void)
{
  for (int64_t n = 1; n <= 11; n++)
    for (int64_t x = -7 * n - 5; x <= 7 * n + 5; x++)
      TEST_ASSERT(hcsc_mirror_index(x, n) == mirror_ref(x, n),
                  "mirror(%lld, %lld) = %lld, not %lld",
                  (long long)x, (long long)n, (long long)hcsc_mirror_index(x, n),
                  (long long)mirror_ref(x, n));
  /* |x| >> n: periodic with period 2n, inside [0, n). */
  const int64_t big[] = {INT64_C(1000000000000007), -INT64_C(999999999999989), INT64_MAX - 3,
                         INT64_MIN + 5};
  for (int64_t n = 1; n <= 9; n++)
    for (size_t k = 0; k < sizeof big / sizeof big[0]; k++) {
      int64_t m = hcsc_mirror_index(big[k], n);
      TEST_ASSERT(m >= 0 && m < n, "mirror(%lld, %lld) = %lld out of range", (long long)big[k],
                  (long long)n, (long long)m);
      int64_t r = big[k] % (2 * n); /* same residue, small */
      TEST_ASSERT(m == mirror_ref(r, n), "mirror(%lld, %lld) = %lld, expected %lld",
                  (long long)big[k], (long long)n, (long long)m, (long long)mirror_ref(r, n));
    }
  TEST_ASSERT(hcsc_mirror_index(-1, 4) == 0 && hcsc_mirror_index(-2, 4) == 1 &&
                  hcsc_mirror_index(4, 4) == 3 && hcsc_mirror_index(9, 4) == 1,
              "mirror examples of grid.h");
}

static void check_parse(void)
{
  int d[3] = {-1, -1, -1};
  TEST_OK(hcsc_grid_parse("2x3x4", d));
  TEST_ASSERT(d[0] == 2 && d[1] == 3 && d[2] == 4, "2x3x4 -> %d %d %d", d[0], d[1], d[2]);
  TEST_OK(hcsc_grid_parse("3x5", d));
  TEST_ASSERT(d[0] == 1 && d[1] == 3 && d[2] == 5, "3x5 -> %d %d %d", d[0], d[1], d[2]);
  TEST_OK(hcsc_grid_parse("0x0x0", d));
  TEST_ASSERT(d[0] == 0 && d[1] == 0 && d[2] == 0, "0x0x0 -> %d %d %d", d[0], d[1], d[2]);
  TEST_OK(hcsc_grid_parse("2x0x1", d));
  TEST_ASSERT(d[0] == 2 && d[1] == 0 && d[2] == 1, "2x0x1 -> %d %d %d", d[0], d[1], d[2]);
  const char *bad[] = {"",     "x",       "4",        "2x",         "x2",      "2xx3",
                       "a",    "2x3x4x5", "-1x2",     "2 x3",       "2x3 ",    "1x2y",
                       "2x3x", "+2x3",    "2.5x3", "99999999999x1", "2x3\n"};
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    d[0] = d[1] = d[2] = 7;
    int rc = hcsc_grid_parse(bad[k], d);
    TEST_ASSERT(rc == HCSC_EINVAL, "parse('%s') returned %d", bad[k], rc);
    TEST_ASSERT(d[0] == 7 && d[1] == 7 && d[2] == 7, "parse('%s') wrote dims on failure", bad[k]);
    if (bad[k][0] && !strchr(bad[k], '\n'))
      TEST_ASSERT(strstr(hcsc_error_message(), bad[k]) != NULL,
                  "message '%s' does not name the spec '%s'", hcsc_error_message(), bad[k]);
  }
  TEST_ASSERT(hcsc_grid_parse(NULL, d) == HCSC_EINVAL, "parse(NULL)");
}

static void check_tile(void)
{
  hcsc_box box = {0, 3, 10, 7, 20, 5};
  hcsc_tile t;
  memset(&t, 0, sizeof t);
  hcsc_tile_free(&t); /* never allocated: fine */
  TEST_OK(hcsc_tile_alloc(&t, &box, 3, 2));
  TEST_ASSERT(t.ldr == 11 && t.ldc == 9 && t.halo == 2 && t.nchan == 3, "tile layout");
  int zero = 1;
  for (int64_t k = 0; k < 3 * 11 * 9; k++) zero &= t.data[k] == 0.0f;
  TEST_ASSERT(zero, "tile not zeroed");
  HCSC_TILE_AT(&t, 2, -2, -2) = 1.0f;
  HCSC_TILE_AT(&t, 2, 8, 6) = 2.0f;
  TEST_ASSERT(t.data[2 * 11 * 9] == 1.0f && t.data[3 * 11 * 9 - 1] == 2.0f, "HCSC_TILE_AT corners");
  hcsc_tile_free(&t);
  TEST_ASSERT(t.data == NULL, "free clears the tile");
  hcsc_box huge = {0, 1, 0, INT64_MAX / 4, 0, INT64_MAX / 4};
  TEST_ASSERT(hcsc_tile_alloc(&t, &huge, 1, 1) == HCSC_ENOMEM, "overflowing tile: %s",
              hcsc_error_message());
  TEST_ASSERT(t.data == NULL, "failed alloc leaves no data");
  hcsc_box wide = {0, 1, 0, 1 << 20, 0, 1 << 20};
  TEST_ASSERT(hcsc_tile_alloc(&t, &wide, INT64_MAX / 2, 0) == HCSC_ENOMEM, "overflowing channels");
  hcsc_box neg = {0, 1, 0, -1, 0, 3};
  TEST_ASSERT(hcsc_tile_alloc(&t, &neg, 1, 0) == HCSC_EINVAL, "negative rows");
  TEST_ASSERT(hcsc_tile_alloc(&t, &box, 0, 0) == HCSC_EINVAL, "no channels");
  TEST_ASSERT(hcsc_tile_alloc(&t, &box, 1, -1) == HCSC_EINVAL, "negative halo");
}

int main(int argc, char **argv)
{
  test_init(&argc, &argv);
  check_partition();
  check_mirror();
  check_parse();
  check_tile();
  return test_finish("t_partition");
}
