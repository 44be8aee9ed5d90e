/* hypercsc — spatial filters on decomposed scenes (hcsc/filter.h). */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hcsc/error.h"
#include "hcsc/filter.h"
#include "hcsc/timer.h"

int hcsc_gauss_radius(double sigma) { return sigma > 0 ? (int)ceil(3.0 * sigma) : 0; }

int hcsc_gauss_lowpass(const hcsc_grid *g, hcsc_tile *x, double sigma, hcsc_tile *out)
{
  int err = 0;
  const int R = hcsc_gauss_radius(sigma);
  hcsc_halo *h = NULL;
  float *w = NULL, *row = NULL;
  if (!g || !x || !out || !x->data || !out->data)
    err = HCSC_ERR(HCSC_EINVAL, "lowpass: missing grid or tile");
  else if (!isfinite(sigma))
    err = HCSC_ERR(HCSC_EINVAL, "lowpass: sigma %g is not finite", sigma);
  else if (x->halo < R)
    err = HCSC_ERR(HCSC_EINVAL, "lowpass: tile halo %d is narrower than the filter radius %d (sigma %g)",
                   x->halo, R, sigma);
  else if (out->nchan != x->nchan || !hcsc_box_same_area(&out->box, &x->box))
    err = HCSC_ERR(HCSC_EINVAL, "lowpass: output tile is not on the input's box and channels");
  HCSC_CHECK(hcsc_error_agree(hcsc_grid_comm(g), err));
  const int64_t C = x->nchan, nr = x->box.nr, nc = x->box.nc;
  if (R == 0) {
    for (int64_t c = 0; c < C; c++)
      for (int64_t i = 0; i < nr; i++)
        memcpy(&HCSC_TILE_AT(out, c, i, 0), &HCSC_TILE_AT(x, c, i, 0), (size_t)nc * sizeof(float));
    goto cleanup;
  }
  HCSC_CHECK(hcsc_halo_create(g, R, C, &h));
  HCSC_CHECK(hcsc_halo_exchange(h, x));
  w = malloc((size_t)(2 * R + 1) * sizeof *w);
  /* One column pass result for the rows of the interior and the columns of
   * the interior plus the halo, then the row pass from it. */
  row = malloc((size_t)nr * (size_t)(nc + 2 * R) * sizeof *row);
  if (!w || !row) err = HCSC_ERR(HCSC_ENOMEM, "lowpass: out of memory");
  HCSC_CHECK(hcsc_error_agree(hcsc_grid_comm(g), err));
  {
    double sum = 0;
    for (int t = -R; t <= R; t++) sum += exp(-0.5 * t * t / (sigma * sigma));
    for (int t = -R; t <= R; t++) w[t + R] = (float)(exp(-0.5 * t * t / (sigma * sigma)) / sum);
  }
  hcsc_timer_start(HCSC_PHASE_COMPUTE);
  const int64_t wc = nc + 2 * R;
  for (int64_t c = 0; c < C; c++) {
    for (int64_t i = 0; i < nr; i++) {
      float *dst = row + i * wc;
      for (int64_t j = 0; j < wc; j++) dst[j] = 0;
      for (int t = -R; t <= R; t++) {
        const float *src = &HCSC_TILE_AT(x, c, i + t, -R);
        const float wt = w[t + R];
        for (int64_t j = 0; j < wc; j++) dst[j] += wt * src[j];
      }
    }
    for (int64_t i = 0; i < nr; i++) {
      const float *src = row + i * wc + R;
      float *dst = &HCSC_TILE_AT(out, c, i, 0);
      /* taps outer, columns inner (vectorised): each output still sums
       * its taps in the order t = -R..R, as a per-pixel loop would */
      for (int64_t j = 0; j < nc; j++) dst[j] = 0;
      for (int t = -R; t <= R; t++) {
        const float wt = w[t + R];
        const float *s = src + t;
        for (int64_t j = 0; j < nc; j++) dst[j] += wt * s[j];
      }
    }
  }
  hcsc_timer_stop(HCSC_PHASE_COMPUTE);
cleanup:
  free(row);
  free(w);
  hcsc_halo_destroy(&h);
  return err;
}

/* See filter.h.  Collective on the grid's comm. */
int hcsc_gauss_split(const hcsc_grid *g, hcsc_tile *x, const hcsc_tile *mask, double sigma, hcsc_tile *xl)
{
  int err = 0;
  const int R = hcsc_gauss_radius(sigma);
  const hcsc_box box = x->box;
  hcsc_tile num = {0}, den = {0}, dl = {0};
  HCSC_CHECK(hcsc_error_agree(hcsc_grid_comm(g), hcsc_tile_alloc(xl, &box, x->nchan, 0)));
  if (!mask) {
    HCSC_CHECK(hcsc_gauss_lowpass(g, x, sigma, xl));
  } else {
    err = hcsc_tile_alloc(&num, &box, x->nchan, R);
    if (!err) err = hcsc_tile_alloc(&den, &box, mask->nchan, R);
    if (!err) err = hcsc_tile_alloc(&dl, &box, mask->nchan, 0);
    HCSC_CHECK(hcsc_error_agree(hcsc_grid_comm(g), err));
    for (int64_t c = 0; c < x->nchan; c++)
      for (int64_t i = 0; i < box.nr; i++)
        for (int64_t j = 0; j < box.nc; j++) {
          const float w = HCSC_TILE_AT(mask, mask->nchan == 1 ? 0 : c, i, j);
          HCSC_TILE_AT(&num, c, i, j) = w > 0 ? w * HCSC_TILE_AT(x, c, i, j) : 0.0f;
          if (c < mask->nchan) HCSC_TILE_AT(&den, c, i, j) = w;
        }
    HCSC_CHECK(hcsc_gauss_lowpass(g, &num, sigma, xl));
    HCSC_CHECK(hcsc_gauss_lowpass(g, &den, sigma, &dl));
    for (int64_t c = 0; c < x->nchan; c++)
      for (int64_t i = 0; i < box.nr; i++)
        for (int64_t j = 0; j < box.nc; j++) {
          const float d = HCSC_TILE_AT(&dl, mask->nchan == 1 ? 0 : c, i, j);
          HCSC_TILE_AT(xl, c, i, j) = d > 1e-6f ? HCSC_TILE_AT(xl, c, i, j) / d : 0.0f;
        }
  }
  for (int64_t c = 0; c < x->nchan; c++)
    for (int64_t i = 0; i < box.nr; i++)
      for (int64_t j = 0; j < box.nc; j++)
        if (!mask || HCSC_TILE_AT(mask, mask->nchan == 1 ? 0 : c, i, j) > 0)
          HCSC_TILE_AT(x, c, i, j) -= HCSC_TILE_AT(xl, c, i, j);
cleanup:
  hcsc_tile_free(&num);
  hcsc_tile_free(&den);
  hcsc_tile_free(&dl);
  return err;
}
