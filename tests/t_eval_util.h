/* hypercsc — private helpers of the eval tests: tiles on plain boxes, a
 * serial halo fill by the scene-edge rule and every rank's box of a
 * g x p x q split, without creating grids (so a test can try every shape
 * cheaply). */
#ifndef T_EVAL_UTIL_H
#define T_EVAL_UTIL_H
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hypercsc.h"

/* Tiles on plain boxes: the library's own allocation. */
static inline int tu_tile_alloc(hcsc_tile *t, hcsc_box box, int halo)
{
  return hcsc_tile_alloc(t, &box, box.nb > 0 ? box.nb : 1, halo);
}

/* Fill tile t (interior and halo) from a whole-scene array
 * scene[b][r][c] of a B x H x W scene, with the scene-edge rule. */
static inline void tu_fill_from(hcsc_tile *t, const float *scene, int64_t H, int64_t W)
{
  for (int64_t b = 0; b < t->box.nb; b++)
    for (int64_t r = -t->halo; r < t->box.nr + t->halo; r++)
      for (int64_t c = -t->halo; c < t->box.nc + t->halo; c++) {
        int64_t gr = hcsc_mirror_index(t->box.r0 + r, H), gc = hcsc_mirror_index(t->box.c0 + c, W);
        HCSC_TILE_AT(t, b, r, c) = scene[((t->box.b0 + b) * H + gr) * W + gc];
      }
}

/* Every rank's box for a split of a B x H x W scene into g x p x q blocks
 * (ranks in order g, p, q); returns 0 if the grid does not fit. */
static inline int tu_box(int64_t B, int64_t H, int64_t W, int g, int p, int q, int rank,
                         hcsc_box *box)
{
  if (g > B || p > H || q > W) return 0;
  int gi = rank / (p * q), pi = (rank / q) % p, qi = rank % q;
  hcsc_partition(B, g, gi, &box->b0, &box->nb);
  hcsc_partition(H, p, pi, &box->r0, &box->nr);
  hcsc_partition(W, q, qi, &box->c0, &box->nc);
  return 1;
}

#endif
