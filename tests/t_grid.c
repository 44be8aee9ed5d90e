/* The grid: automatic and explicit dims, boxes that tile the scene exactly,
 * owners, coordinates, the three reduction scopes, and errors that every
 * rank agrees on. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hypercsc.h"
#include "testutil.h"

static int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* Check one grid of a B x H x W scene: boxes, owners, coords, comms,
 * reductions.  Every rank gathers every box and checks the lot. */
static void check_grid(const hcsc_grid *g, int64_t B, int64_t H, int64_t W)
{
  int size = test_size(), rank = test_rank(), dims[3], coords[3];
  int64_t b, h, w;
  hcsc_grid_dims(g, dims);
  hcsc_grid_coords(g, coords);
  hcsc_grid_scene(g, &b, &h, &w);
  TEST_ASSERT(b == B && h == H && w == W, "scene %lld x %lld x %lld", (long long)b, (long long)h,
              (long long)w);
  TEST_ASSERT(hcsc_grid_size(g) == size && hcsc_grid_rank(g) == rank, "grid rank %d size %d",
              hcsc_grid_rank(g), hcsc_grid_size(g));
  TEST_ASSERT((int64_t)dims[0] * dims[1] * dims[2] == size, "dims %dx%dx%d for %d ranks", dims[0],
              dims[1], dims[2], size);
  TEST_ASSERT(dims[0] <= B && dims[1] <= H && dims[2] <= W, "dims %dx%dx%d exceed the scene",
              dims[0], dims[1], dims[2]);

  hcsc_box mine = hcsc_grid_box(g);
  int64_t my[6] = {mine.b0, mine.nb, mine.r0, mine.nr, mine.c0, mine.nc};
  int64_t *all = malloc(sizeof(int64_t) * 6 * (size_t)size);
  int *allc = malloc(sizeof(int) * 3 * (size_t)size);
  MPI_Allgather(my, 6, MPI_INT64_T, all, 6, MPI_INT64_T, MPI_COMM_WORLD);
  MPI_Allgather(coords, 3, MPI_INT, allc, 3, MPI_INT, MPI_COMM_WORLD);
  TEST_ASSERT(mine.nb > 0 && mine.nr > 0 && mine.nc > 0, "empty box");
  /* Coverage count per cell: exactly one box holds each. */
  int *cover = calloc((size_t)(B * H * W), sizeof(int));
  int64_t vol = 0;
  for (int r = 0; r < size; r++) {
    const int64_t *x = all + 6 * r;
    hcsc_box o = hcsc_grid_box_of(g, r);
    TEST_ASSERT(o.b0 == x[0] && o.nb == x[1] && o.r0 == x[2] && o.nr == x[3] && o.c0 == x[4] &&
                    o.nc == x[5],
                "box_of(%d) differs from rank %d's own box", r, r);
    TEST_ASSERT(hcsc_grid_rank_at(g, allc[3 * r], allc[3 * r + 1], allc[3 * r + 2]) == r,
                "rank_at(coords of %d) = %d", r,
                hcsc_grid_rank_at(g, allc[3 * r], allc[3 * r + 1], allc[3 * r + 2]));
    /* The box is the partition block of the rank's coordinates. */
    int64_t s, c;
    hcsc_partition(B, dims[0], allc[3 * r], &s, &c);
    TEST_ASSERT(s == x[0] && c == x[1], "rank %d band block", r);
    hcsc_partition(H, dims[1], allc[3 * r + 1], &s, &c);
    TEST_ASSERT(s == x[2] && c == x[3], "rank %d row block", r);
    hcsc_partition(W, dims[2], allc[3 * r + 2], &s, &c);
    TEST_ASSERT(s == x[4] && c == x[5], "rank %d column block", r);
    vol += x[1] * x[3] * x[5];
    for (int64_t bb = x[0]; bb < x[0] + x[1]; bb++)
      for (int64_t rr = x[2]; rr < x[2] + x[3]; rr++)
        for (int64_t cc = x[4]; cc < x[4] + x[5]; cc++) {
          if (bb >= 0 && bb < B && rr >= 0 && rr < H && cc >= 0 && cc < W)
            cover[(bb * H + rr) * W + cc]++;
          else
            TEST_ASSERT(0, "rank %d box outside the scene", r);
          TEST_ASSERT(hcsc_grid_owner(g, bb, rr, cc) == r, "owner(%lld,%lld,%lld) = %d, not %d",
                      (long long)bb, (long long)rr, (long long)cc, hcsc_grid_owner(g, bb, rr, cc),
                      r);
        }
  }
  TEST_ASSERT(vol == B * H * W, "boxes hold %lld cells, scene %lld", (long long)vol,
              (long long)(B * H * W));
  int bad = 0;
  for (int64_t k = 0; k < B * H * W; k++) bad += cover[k] != 1;
  TEST_ASSERT(bad == 0, "%d cells not covered exactly once", bad);
  TEST_ASSERT(hcsc_grid_owner(g, B, 0, 0) < 0 && hcsc_grid_owner(g, 0, -1, 0) < 0,
              "owner outside the scene");
  TEST_ASSERT(hcsc_grid_rank_at(g, dims[0], 0, 0) < 0, "rank_at outside the grid");
  hcsc_box none = hcsc_grid_box_of(g, size);
  TEST_ASSERT(none.nb == 0 && none.nr == 0 && none.nc == 0, "box_of(size) is empty");

  /* Communicator sizes and the three reduction scopes against sums made
   * from the gathered coordinates. */
  int ss, sp;
  MPI_Comm_size(hcsc_grid_spectral_comm(g), &ss);
  MPI_Comm_size(hcsc_grid_spatial_comm(g), &sp);
  TEST_ASSERT(ss == dims[0] && sp == dims[1] * dims[2], "spectral %d, spatial %d ranks", ss, sp);
  double v[2] = {rank + 1.0, 1.0};
  double want[3] = {0, 0, 0};
  for (int r = 0; r < size; r++) {
    want[0] += r + 1.0;
    if (allc[3 * r + 1] == coords[1] && allc[3 * r + 2] == coords[2]) want[1] += r + 1.0;
    if (allc[3 * r] == coords[0]) want[2] += r + 1.0;
  }
  const hcsc_scope scopes[3] = {HCSC_SCOPE_ALL, HCSC_SCOPE_SPECTRAL, HCSC_SCOPE_SPATIAL};
  const double n_in[3] = {size, dims[0], (double)dims[1] * dims[2]};
  for (int k = 0; k < 3; k++) {
    v[0] = rank + 1.0;
    v[1] = 1.0;
    TEST_OK(hcsc_grid_allreduce(g, scopes[k], v, 2, MPI_DOUBLE, MPI_SUM));
    TEST_NEAR(v[0], want[k], 0);
    TEST_NEAR(v[1], n_in[k], 0);
  }
  free(cover);
  free(all);
  free(allc);
}

/* Smallest halo perimeter over all splits P x Q = s without empty blocks. */
static int64_t best_cost(int s, int64_t H, int64_t W)
{
  int64_t best = -1;
  for (int p = 1; p <= s; p++)
    if (s % p == 0 && p <= H && s / p <= W) {
      int64_t c = cdiv(H, p) + cdiv(W, s / p);
      if (best < 0 || c < best) best = c;
    }
  return best;
}

static void check_bad(const int *in, int64_t B, int64_t H, int64_t W, const char *needle);

static void check_auto(int64_t B, int64_t H, int64_t W)
{
  hcsc_grid *g = NULL;
  int dims[3];
  if (best_cost(test_size(), H, W) < 0) { /* no split without empty tiles */
    check_bad(NULL, B, H, W, "empty tiles");
    return;
  }
  TEST_OK(hcsc_grid_create(MPI_COMM_WORLD, B, H, W, NULL, &g));
  if (!g) return;
  hcsc_grid_dims(g, dims);
  TEST_ASSERT(dims[0] == 1, "auto G = %d", dims[0]);
  int64_t cost = cdiv(H, dims[1]) + cdiv(W, dims[2]);
  TEST_ASSERT(cost == best_cost(test_size(), H, W),
              "auto dims %dx%d on %lldx%lld: perimeter %lld, best %lld", dims[1], dims[2],
              (long long)H, (long long)W, (long long)cost, (long long)best_cost(test_size(), H, W));
  check_grid(g, B, H, W);
  hcsc_grid_destroy(&g);
  TEST_ASSERT(g == NULL, "destroy sets NULL");
}

static void check_explicit(const int in[3], int64_t B, int64_t H, int64_t W, const int want[3])
{
  hcsc_grid *g = NULL;
  int dims[3];
  TEST_OK(hcsc_grid_create(MPI_COMM_WORLD, B, H, W, in, &g));
  if (!g) return;
  hcsc_grid_dims(g, dims);
  TEST_ASSERT(dims[0] == want[0] && dims[1] == want[1] && dims[2] == want[2],
              "dims {%d,%d,%d} -> %dx%dx%d, expected %dx%dx%d", in[0], in[1], in[2], dims[0],
              dims[1], dims[2], want[0], want[1], want[2]);
  check_grid(g, B, H, W);
  hcsc_grid_destroy(&g);
}

/* A bad grid: the same code on every rank, no grid, the message names it. */
static void check_bad(const int *in, int64_t B, int64_t H, int64_t W, const char *needle)
{
  hcsc_grid *g = (hcsc_grid *)&g; /* must be reset to NULL */
  int rc = hcsc_grid_create(MPI_COMM_WORLD, B, H, W, in, &g);
  int lo, hi;
  MPI_Allreduce(&rc, &lo, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  MPI_Allreduce(&rc, &hi, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  TEST_ASSERT(rc == HCSC_EINVAL && lo == hi, "bad grid: rc %d (min %d max %d)", rc, lo, hi);
  TEST_ASSERT(g == NULL, "bad grid returned an object");
  TEST_ASSERT(strstr(hcsc_error_message(), needle) != NULL, "message '%s' lacks '%s'",
              hcsc_error_message(), needle);
  hcsc_error_clear();
}

int main(int argc, char **argv)
{
  test_init(&argc, &argv);
  int size = test_size();

  /* Automatic dims: uneven, elongated, tiny and one-row scenes. */
  check_auto(5, 7, 5);
  check_auto(4, 16, 9);
  check_auto(3, 30, 40);
  check_auto(2, 100, 3);
  check_auto(1, 1, 8);
  check_auto(1, 8, 1);
  check_auto(2, 3, 2); /* refused where no split fits, e.g. 5 ranks */

  /* Explicit dims, some to be completed. */
  {
    int in[3] = {1, size, 1}, want[3] = {1, size, 1};
    check_explicit(in, 3, size + 5, 4, want);
  }
  {
    int in[3] = {0, 1, 0}, want[3] = {1, 1, size};
    check_explicit(in, 3, 4, size + 5, want);
  }
  {
    int in[3] = {size, 0, 0}, want[3] = {size, 1, 1};
    check_explicit(in, size + 1, 6, 4, want);
  }
  {
    int in[3] = {0, 1, 1}, want[3] = {size, 1, 1}; /* G takes the rest */
    check_explicit(in, size, 6, 4, want);
  }
  if (size % 2 == 0) {
    int in[3] = {2, 1, 0}, want[3] = {2, 1, size / 2};
    check_explicit(in, 4, 7, size / 2 + 3, want);
    int in2[3] = {2, 0, 0};
    hcsc_grid *g = NULL;
    TEST_OK(hcsc_grid_create(MPI_COMM_WORLD, 6, 7, 5, in2, &g));
    if (g) {
      int d[3];
      hcsc_grid_dims(g, d);
      TEST_ASSERT(d[0] == 2 && d[1] * d[2] == size / 2, "2x0x0 -> %dx%dx%d", d[0], d[1], d[2]);
      check_grid(g, 6, 7, 5);
      hcsc_grid_destroy(&g);
    }
  }

  /* Errors, agreed on every rank. */
  {
    int in[3] = {size + 1, 1, 1};
    check_bad(in, 8, 8, 8, "ranks");
  }
  {
    int in[3] = {1, -1, 0};
    check_bad(in, 4, 4, 4, "negative");
  }
  check_bad(NULL, 3, 0, 4, "empty");
  check_bad(NULL, 0, 3, 4, "empty");
  if (size > 1) {
    int in[3] = {1, size, 1};
    check_bad(in, 2, size - 1, 5, "row blocks");
    int in2[3] = {1, 1, size};
    check_bad(in2, 2, 5, size - 1, "column blocks");
    int in3[3] = {size, 1, 1};
    check_bad(in3, size - 1, 5, 5, "band blocks");
    check_bad(NULL, 1, 1, size - 1, "empty tiles");
  }
  if (size == 3) {
    int in[3] = {2, 0, 0};
    check_bad(in, 4, 4, 4, "do not divide");
  }
  return test_finish("t_grid");
}
