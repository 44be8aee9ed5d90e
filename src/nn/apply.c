/* hypercsc — a network's whole model with its low-pass split (nn.h):
 * y = G_S x + f(x - G_S x), S = cfg.lowpass, f = hcsc_nn_forward. */
#include "config.h"

#include <string.h>

#include "hcsc/error.h"
#include "hcsc/filter.h"
#include "hcsc/nn.h"

/* See nn.h.  Collective on the grid's comm. */
int hcsc_nn_split(const hcsc_nn *net, const hcsc_grid *g, const hcsc_tile *x, const hcsc_tile *mask,
                  hcsc_tile *xh, hcsc_tile *xl)
{
  int err = 0;
  MPI_Comm comm = hcsc_grid_comm(g);
  const double S = net ? net->cfg.lowpass : 0;
  hcsc_tile w = {0};
  memset(xh, 0, sizeof *xh);
  memset(xl, 0, sizeof *xl);
  if (!net || !x || !x->data) err = HCSC_ERR(HCSC_EINVAL, "hcsc_nn_split: no network or input");
  else if (!(S > 0)) err = HCSC_ERR(HCSC_EINVAL, "hcsc_nn_split: the network has no low-pass split");
  /* The filter fills a halo of its radius: x (any halo) is copied into a
   * tile that has one; the copy becomes xh. */
  if (!err) err = hcsc_tile_alloc(&w, &x->box, x->nchan, hcsc_gauss_radius(S));
  HCSC_CHECK(hcsc_error_agree(comm, err));
  for (int64_t c = 0; c < x->nchan; c++)
    for (int64_t i = 0; i < x->box.nr; i++)
      memcpy(&HCSC_TILE_AT(&w, c, i, 0), &HCSC_TILE_AT(x, c, i, 0), (size_t)x->box.nc * sizeof(float));
  HCSC_CHECK(hcsc_gauss_split(g, &w, mask, S, xl));
  HCSC_CHECK(hcsc_error_agree(comm, hcsc_tile_alloc(xh, &x->box, x->nchan, 0)));
  for (int64_t c = 0; c < x->nchan; c++)
    for (int64_t i = 0; i < x->box.nr; i++)
      memcpy(&HCSC_TILE_AT(xh, c, i, 0), &HCSC_TILE_AT(&w, c, i, 0), (size_t)x->box.nc * sizeof(float));
cleanup:
  hcsc_tile_free(&w);
  if (err) {
    hcsc_tile_free(xh);
    hcsc_tile_free(xl);
  }
  return err;
}

/* See nn.h.  Collective on the grid's comm.  Memory: besides the
 * caller's x and y, one B-channel tile with the filter's halo while the
 * low-pass is made, then one without halo (x - G x, handed to the forward
 * with no halo so the exec reads it in place).  G x is not kept: after the
 * forward it is x - (x - G x) (one float rounding, about 1e-7 of x); at
 * W = 0 pixels, which the forward ignores, the tile holds G x itself. */
int hcsc_nn_apply(hcsc_nn_exec *e, const hcsc_grid *g, const hcsc_tile *x, const hcsc_tile *mask,
                  const hcsc_nn_noise *nz, hcsc_tile *y)
{
  int err = 0;
  hcsc_tile w = {0}, xh = {0};
  const hcsc_nn *net = hcsc_nn_exec_net(e);
  MPI_Comm comm;
  if (!net) return HCSC_ERR(HCSC_EINVAL, "hcsc_nn_apply: no executor");
  if (!(net->cfg.lowpass > 0)) return hcsc_nn_forward(e, x, nz, y);
  comm = hcsc_grid_comm(g);
  const int64_t C = x->nchan, nr = x->box.nr, nc = x->box.nc;
#define W_AT(c, i, j) (mask ? HCSC_TILE_AT(mask, mask->nchan == 1 ? 0 : (c), i, j) : 1.0f)
  HCSC_CHECK(hcsc_error_agree(comm, hcsc_tile_alloc(&w, &x->box, C, hcsc_gauss_radius(net->cfg.lowpass))));
  for (int64_t c = 0; c < C; c++)
    for (int64_t i = 0; i < nr; i++)
      memcpy(&HCSC_TILE_AT(&w, c, i, 0), &HCSC_TILE_AT(x, c, i, 0), (size_t)nc * sizeof(float));
  HCSC_CHECK(hcsc_gauss_split(g, &w, mask, net->cfg.lowpass, &xh));
  /* xh <- x - G x where W > 0 (w holds it); G x stays where W = 0 */
  for (int64_t c = 0; c < C; c++)
    for (int64_t i = 0; i < nr; i++)
      for (int64_t j = 0; j < nc; j++)
        if (W_AT(c, i, j) > 0) HCSC_TILE_AT(&xh, c, i, j) = HCSC_TILE_AT(&w, c, i, j);
  hcsc_tile_free(&w);
  HCSC_CHECK(hcsc_nn_forward(e, &xh, nz, y));
  for (int64_t c = 0; c < C; c++)
    for (int64_t i = 0; i < nr; i++)
      for (int64_t j = 0; j < nc; j++) {
        const float h = HCSC_TILE_AT(&xh, c, i, j);
        HCSC_TILE_AT(y, c, i, j) += W_AT(c, i, j) > 0 ? HCSC_TILE_AT(x, c, i, j) - h : h;
      }
#undef W_AT
cleanup:
  hcsc_tile_free(&w);
  hcsc_tile_free(&xh);
  return err;
}
