/* Halo exchange against the serial symmetric extension: every cell of
 * every padded tile, for uneven scenes, tiles smaller than the halo, halos
 * wider than the scene, 1 and 3 channels, and every grid shape that fits
 * the rank count.  Also begin / interior work / end, and a mismatched tile
 * on one rank that must not leave the others waiting. */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "hypercsc.h"
#include "testutil.h"

#define BANDS 4

/* Exactly representable in float for the sizes used here. */
static float value(int64_t ch, int64_t r, int64_t c) { return (float)((ch * 64 + r) * 64 + c + 1); }

/* Fill the interior with value(), the halo with a sentinel. */
static void fill(hcsc_tile *t)
{
  for (int64_t ch = 0; ch < t->nchan; ch++)
    for (int64_t r = -t->halo; r < t->box.nr + t->halo; r++)
      for (int64_t c = -t->halo; c < t->box.nc + t->halo; c++) {
        int in = r >= 0 && r < t->box.nr && c >= 0 && c < t->box.nc;
        HCSC_TILE_AT(t, ch, r, c) =
            in ? value(t->box.b0 * 8 + ch, t->box.r0 + r, t->box.c0 + c) : -1.0f;
      }
}

/* Compare every cell of the padded tile with the serial extension. */
static int compare(const hcsc_tile *t, int64_t H, int64_t W)
{
  int bad = 0;
  for (int64_t ch = 0; ch < t->nchan; ch++)
    for (int64_t r = -t->halo; r < t->box.nr + t->halo; r++)
      for (int64_t c = -t->halo; c < t->box.nc + t->halo; c++) {
        float want = value(t->box.b0 * 8 + ch, hcsc_mirror_index(t->box.r0 + r, H),
                           hcsc_mirror_index(t->box.c0 + c, W));
        float got = HCSC_TILE_AT(t, ch, r, c);
        if (got != want) {
          if (bad < 3)
            fprintf(stderr, "rank %d: cell (%lld,%lld,%lld) local (%lld,%lld) = %g, want %g\n",
                    test_rank(), (long long)ch, (long long)(t->box.r0 + r),
                    (long long)(t->box.c0 + c), (long long)r, (long long)c, got, want);
          bad++;
        }
      }
  return bad;
}

static void check_case(const int dims[3], int64_t H, int64_t W, int halo, int64_t nchan)
{
  hcsc_grid *g = NULL;
  hcsc_halo *h = NULL;
  hcsc_tile t;
  memset(&t, 0, sizeof t);
  TEST_OK(hcsc_grid_create(MPI_COMM_WORLD, BANDS, H, W, dims, &g));
  if (!g) return;
  hcsc_box box = hcsc_grid_box(g);
  TEST_OK(hcsc_halo_create(g, halo, nchan, &h));
  TEST_OK(hcsc_tile_alloc(&t, &box, nchan, halo));
  if (!h || !t.data) goto done;

  fill(&t);
  TEST_OK(hcsc_halo_exchange(h, &t));
  int bad = compare(&t, H, W);
  TEST_ASSERT(bad == 0, "grid %dx%dx%d scene %lldx%lld halo %d nchan %lld: %d cells wrong",
              dims[0], dims[1], dims[2], (long long)H, (long long)W, halo, (long long)nchan, bad);

  /* Split phases: read interior cells farther than halo from the edge
   * while messages fly; the result must be the same. */
  fill(&t);
  TEST_OK(hcsc_halo_begin(h, &t));
  double sum = 0, want = 0;
  for (int64_t ch = 0; ch < nchan; ch++)
    for (int64_t r = halo; r < box.nr - halo; r++)
      for (int64_t c = halo; c < box.nc - halo; c++) {
        sum += HCSC_TILE_AT(&t, ch, r, c);
        want += value(box.b0 * 8 + ch, box.r0 + r, box.c0 + c);
      }
  TEST_OK(hcsc_halo_end(h, &t));
  TEST_NEAR(sum, want, 0);
  bad = compare(&t, H, W);
  TEST_ASSERT(bad == 0, "begin/end: grid %dx%dx%d scene %lldx%lld halo %d nchan %lld: %d wrong",
              dims[0], dims[1], dims[2], (long long)H, (long long)W, halo, (long long)nchan, bad);
  /* A second exchange with the same plan (plans are reused). */
  fill(&t);
  TEST_OK(hcsc_halo_exchange(h, &t));
  TEST_ASSERT(compare(&t, H, W) == 0, "reused plan");
done:
  hcsc_tile_free(&t);
  hcsc_halo_destroy(&h);
  TEST_ASSERT(h == NULL, "destroy sets NULL");
  hcsc_grid_destroy(&g);
}

/* Rank 0 passes a tile of the wrong shape: it alone fails, nobody hangs,
 * and the others still get a complete exchange. */
static void check_mismatch(void)
{
  int size = test_size(), rank = test_rank();
  int dims[3] = {1, 0, 0};
  hcsc_grid *g = NULL;
  hcsc_halo *h = NULL;
  hcsc_tile t;
  memset(&t, 0, sizeof t);
  TEST_OK(hcsc_grid_create(MPI_COMM_WORLD, 2, 16, 9, dims, &g));
  if (!g) return;
  hcsc_box box = hcsc_grid_box(g);
  TEST_OK(hcsc_halo_create(g, 2, 2, &h));
  TEST_OK(hcsc_tile_alloc(&t, &box, rank == 0 ? 1 : 2, 2));
  if (h && t.data) {
    fill(&t);
    int rc = hcsc_halo_exchange(h, &t);
    if (rank == 0)
      TEST_ASSERT(rc == HCSC_EINVAL, "mismatched tile: rc %d", rc);
    else
      TEST_ASSERT(rc == 0, "well-formed tile next to a bad one: rc %d", rc);
    /* Rank 0's zeros must arrive exactly where rank 0's data would go. */
    if (rank != 0 && size > 1) {
      int64_t H = 16, W = 9, bad = 0;
      hcsc_box b0 = hcsc_grid_box_of(g, 0);
      for (int64_t ch = 0; ch < 2; ch++)
        for (int64_t r = -2; r < box.nr + 2; r++)
          for (int64_t c = -2; c < box.nc + 2; c++) {
            int64_t sr = hcsc_mirror_index(box.r0 + r, H), sc = hcsc_mirror_index(box.c0 + c, W);
            int from0 = sr >= b0.r0 && sr < b0.r0 + b0.nr && sc >= b0.c0 && sc < b0.c0 + b0.nc;
            float want = from0 ? 0.0f : value(box.b0 * 8 + ch, sr, sc);
            bad += HCSC_TILE_AT(&t, ch, r, c) != want;
          }
      TEST_ASSERT(bad == 0, "%lld cells wrong next to a bad tile", (long long)bad);
    }
    hcsc_error_clear();
    /* The plan is still usable afterwards. */
    if (rank == 0) {
      hcsc_tile_free(&t);
      TEST_OK(hcsc_tile_alloc(&t, &box, 2, 2));
    }
    fill(&t);
    TEST_OK(hcsc_halo_exchange(h, &t));
    TEST_ASSERT(compare(&t, 16, 9) == 0, "exchange after a failed one");
  }
  hcsc_tile_free(&t);
  hcsc_halo_destroy(&h);
  hcsc_grid_destroy(&g);
}

int main(int argc, char **argv)
{
  test_init(&argc, &argv);
  int size = test_size();
  const int64_t scenes[][2] = {{7, 5}, {16, 9}, {3, 2}, {1, 6}, {6, 1}};
  const int widths[] = {0, 1, 2, 3, 5, 9};
  int ncase = 0;
  for (size_t s = 0; s < sizeof scenes / sizeof scenes[0]; s++) {
    int64_t H = scenes[s][0], W = scenes[s][1];
    /* Every grid G x P x Q = size without empty blocks. */
    for (int G = 1; G <= size; G++)
      for (int P = 1; P <= size; P++) {
        if (size % (G * P)) continue;
        int Q = size / (G * P);
        if (G > BANDS || P > H || Q > W) continue;
        int dims[3] = {G, P, Q};
        for (size_t k = 0; k < sizeof widths / sizeof widths[0]; k++)
          for (int64_t nchan = 1; nchan <= 3; nchan += 2) {
            check_case(dims, H, W, widths[k], nchan);
            ncase++;
          }
      }
  }
  TEST_ASSERT(ncase > 0, "no case run");
  check_mismatch();
  return test_finish("t_halo");
}
