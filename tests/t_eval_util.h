/* hypercsc — private helpers of the eval tests: tiles on plain boxes, a
 * block split of our own and a serial halo fill by the scene-edge rule, so
 * that the tests do not need the grid implementation. */
#ifndef T_EVAL_UTIL_H
#define T_EVAL_UTIL_H
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hypercsc.h"

static inline void tu_split(int64_t n, int p, int i, int64_t *start, int64_t *count)
{
  int64_t q = n / p, r = n % p;
  *count = q + (i < r);
  *start = i * q + (i < r ? i : r);
}

static inline int64_t tu_mirror(int64_t x, int64_t n)
{
  int64_t period = 2 * n;
  x %= period;
  if (x < 0) x += period;
  return x < n ? x : period - 1 - x;
}

static inline int tu_tile_alloc(hcsc_tile *t, hcsc_box box, int halo)
{
  memset(t, 0, sizeof *t);
  t->box = box;
  t->nchan = box.nb;
  t->halo = halo;
  t->ldr = box.nr + 2 * halo;
  t->ldc = box.nc + 2 * halo;
  size_t n = (size_t)(box.nb > 0 ? box.nb : 1) * (size_t)t->ldr * (size_t)t->ldc;
  t->data = calloc(n ? n : 1, sizeof(float));
  return t->data ? 0 : -1;
}

static inline void tu_tile_free(hcsc_tile *t)
{
  free(t->data);
  t->data = NULL;
}

/* Fill tile t (interior and halo) from a whole-scene array
 * scene[b][r][c] of a B x H x W scene, with the scene-edge rule. */
static inline void tu_fill_from(hcsc_tile *t, const float *scene, int64_t H, int64_t W)
{
  for (int64_t b = 0; b < t->box.nb; b++)
    for (int64_t r = -t->halo; r < t->box.nr + t->halo; r++)
      for (int64_t c = -t->halo; c < t->box.nc + t->halo; c++) {
        int64_t gr = tu_mirror(t->box.r0 + r, H), gc = tu_mirror(t->box.c0 + c, W);
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
  tu_split(B, g, gi, &box->b0, &box->nb);
  tu_split(H, p, pi, &box->r0, &box->nr);
  tu_split(W, q, qi, &box->c0, &box->nc);
  return 1;
}

static inline void tu_meta_free(hcsc_meta *m)
{
  free(m->crs_wkt);
  free(m->wavelength);
  free(m->fwhm);
  free(m->wavelength_units);
  free(m->bbl);
  if (m->band_names)
    for (int64_t b = 0; b < m->bands; b++) free(m->band_names[b]);
  free(m->band_names);
  free(m->scale);
  free(m->offset);
  free(m->description);
  memset(m, 0, sizeof *m);
}
#endif
