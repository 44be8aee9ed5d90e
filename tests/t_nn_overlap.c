/* The network forward with the halo exchange overlapped (the default)
 * equals, bit for bit, the forward with plain exchanges (HCSC_NN_OVERLAP=0),
 * for lista, fista and mlista (two layers) with 3 x 3 and 5 x 5 atoms on
 * the direct backend (HCSC_CONV=direct: the backend that overlaps) on a
 * 30 x 40 x 6 scene over every rank of the world, and both equal the
 * 1-rank forward of the whole scene (MPI_COMM_SELF, computed here) to float
 * rounding (|d| <= 1e-5 max(1, |ref|)). */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hypercsc.h"
#include "testutil.h"

#define B 6
#define H 30
#define W 40

static float xval(int64_t b, int64_t r, int64_t c)
{
  return (float)(0.5 + 0.2 * hcsc_rng_normal(3, (uint64_t)b, 0, r, c));
}

static int make_net(hcsc_nn_arch a, int k, hcsc_nn **out)
{
  hcsc_nn_config c;
  hcsc_nn_config_default(a, B, &c);
  c.iters = 3;
  c.natoms[0] = 4;
  c.ksize[0] = k;
  if (a == HCSC_NN_MLISTA) {
    c.nlayers = 2;
    c.natoms[1] = 5;
    c.ksize[1] = 3;
  }
  int err = hcsc_nn_create(&c, out);
  if (!err) err = hcsc_nn_init(*out, 17, NULL, 0, NULL);
  return err;
}

/* Forward of net on grid g (x filled from xval on g's box) into y. */
static void forward(hcsc_nn *net, const hcsc_grid *g, const char *overlap, hcsc_tile *y)
{
  hcsc_nn_exec *e = NULL;
  hcsc_tile x = {0};
  const hcsc_box box = hcsc_grid_box(g);
  setenv("HCSC_NN_OVERLAP", overlap, 1);
  TEST_OK(hcsc_tile_alloc(&x, &box, B, 0));
  TEST_OK(hcsc_tile_alloc(y, &box, B, 0));
  TEST_OK(hcsc_nn_exec_create(net, g, 0, &e));
  if (x.data && y->data && e) {
    for (int64_t b = 0; b < B; b++)
      for (int64_t r = 0; r < box.nr; r++)
        for (int64_t c = 0; c < box.nc; c++)
          HCSC_TILE_AT(&x, b, r, c) = xval(b, box.r0 + r, box.c0 + c);
    TEST_OK(hcsc_nn_forward(e, &x, NULL, y));
  }
  hcsc_nn_exec_destroy(&e);
  hcsc_tile_free(&x);
}

int main(int argc, char **argv)
{
  static const hcsc_nn_arch archs[3] = {HCSC_NN_LISTA, HCSC_NN_FISTA, HCSC_NN_MLISTA};
  test_init(&argc, &argv);
  setenv("HCSC_CONV", "direct", 1);
  int dims[3] = {1, 0, 0};
  hcsc_grid *g = NULL, *g1 = NULL;
  const int d1[3] = {1, 1, 1};
  TEST_OK(hcsc_grid_create(MPI_COMM_WORLD, B, H, W, dims, &g));
  TEST_OK(hcsc_grid_create(MPI_COMM_SELF, B, H, W, d1, &g1));
  if (!g || !g1) return test_finish("t_nn_overlap");
  for (int a = 0; a < 3; a++)
    for (int k = 3; k <= 5; k += 2) {
      hcsc_nn *net = NULL;
      hcsc_tile y1 = {0}, y0 = {0}, ys = {0};
      TEST_OK(make_net(archs[a], k, &net));
      if (!net) continue;
      forward(net, g, "1", &y1);
      forward(net, g, "0", &y0);
      forward(net, g1, "1", &ys);
      int same = 1;
      double emax = 0.0;
      for (int64_t b = 0; y1.data && y0.data && ys.data && b < B; b++)
        for (int64_t r = 0; r < y1.box.nr; r++) {
          if (memcmp(&HCSC_TILE_AT(&y1, b, r, 0), &HCSC_TILE_AT(&y0, b, r, 0),
                     sizeof(float) * (size_t)y1.box.nc))
            same = 0;
          for (int64_t c = 0; c < y1.box.nc; c++) {
            const double ref = HCSC_TILE_AT(&ys, b, y1.box.r0 + r, y1.box.c0 + c);
            const double d = (HCSC_TILE_AT(&y1, b, r, c) - ref) / (fabs(ref) > 1 ? fabs(ref) : 1);
            if (fabs(d) > emax) emax = fabs(d);
          }
        }
      TEST_ASSERT(same, "arch %d k %d: overlapped forward differs from the plain one", a, k);
      TEST_ASSERT(emax <= 1e-5, "arch %d k %d: distributed forward differs from the 1-rank one by "
                  "%g (relative)", a, k, emax);
      hcsc_tile_free(&y1);
      hcsc_tile_free(&y0);
      hcsc_tile_free(&ys);
      hcsc_nn_destroy(&net);
    }
  hcsc_grid_destroy(&g1);
  hcsc_grid_destroy(&g);
  return test_finish("t_nn_overlap");
}
