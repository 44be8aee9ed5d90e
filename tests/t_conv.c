/* Convolution operators against a plain serial reference (global arrays,
 * explicit mirror function), for k in {1,2,3,4,5,8}, M in {1,3}, C in
 * {1,2,4}, scenes 9 x 7 and 16 x 13, both backends, on every P x Q grid
 * that fits the rank count (G = 1: dictionaries act on all channels), with
 * halo exchange and zero_outside.  Also the adjoint identity summed over
 * ranks, direct vs FFT, and tiles thinner than the halo refused.
 *
 * Tolerance: a result value y = sum of terms t_i must satisfy
 *   |y - y_ref| <= 1e-5 * (S + S_mean),   S = sum |t_i| at that pixel,
 * S_mean the mean of S over the scene: float rounding of the direct sum is
 * bounded by a small multiple of eps * S; the FFT's rounding is relative to
 * the norm of a whole block, hence the S_mean term.  The reference is
 * computed in double.  Adjoint identity: relative 1e-5 of |<Dz,r>| + the
 * sum of |terms|. */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hypercsc.h"
#include "testutil.h"

/* Explicit half-sample symmetric mirror (written here, not the library's). */
static int64_t mirror(int64_t x, int64_t n)
{
  while (x < 0 || x >= n) {
    if (x < 0) x = -1 - x;
    if (x >= n) x = 2 * n - 1 - x;
  }
  return x;
}

static double zval(int64_t m, int64_t r, int64_t c) { return hcsc_rng_normal(11, 1, m, r, c); }
static double rval(int64_t ch, int64_t r, int64_t c) { return hcsc_rng_normal(12, 2, ch, r, c); }

typedef struct {
  int64_t H, W;
  int M, C, k;
  hcsc_dict d;
  double *x, *xs, *g, *gs; /* references and sums of |terms| */
  double xs_mean, gs_mean;
} ref_case;

static void ref_build(ref_case *rc)
{
  const int64_t H = rc->H, W = rc->W;
  const int M = rc->M, C = rc->C, k = rc->k, a = (k - 1) / 2;
  rc->x = calloc((size_t)C * H * W, sizeof(double));
  rc->xs = calloc((size_t)C * H * W, sizeof(double));
  rc->g = calloc((size_t)M * H * W, sizeof(double));
  rc->gs = calloc((size_t)M * H * W, sizeof(double));
  /* synthesis: x_c(p) = sum d_mc(i,j) z_m(E(p + (i-a, j-a))) */
  for (int c = 0; c < C; c++)
    for (int64_t pr = 0; pr < H; pr++)
      for (int64_t pc = 0; pc < W; pc++) {
        double s = 0, sa = 0;
        for (int m = 0; m < M; m++)
          for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++) {
              double t = HCSC_ATOM(&rc->d, m, c, i, j) *
                         (double)(float)zval(m, mirror(pr + i - a, H), mirror(pc + j - a, W));
              s += t;
              sa += fabs(t);
            }
        rc->x[(c * H + pr) * W + pc] = s;
        rc->xs[(c * H + pr) * W + pc] = sa;
        rc->xs_mean += sa / (double)(C * H * W);
      }
  /* analysis: scatter each r_c(p) d_mc(i,j) to q = E(p + (i-a, j-a)) */
  for (int m = 0; m < M; m++)
    for (int c = 0; c < C; c++)
      for (int64_t pr = 0; pr < H; pr++)
        for (int64_t pc = 0; pc < W; pc++)
          for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++) {
              int64_t q = (m * H + mirror(pr + i - a, H)) * W + mirror(pc + j - a, W);
              double t = HCSC_ATOM(&rc->d, m, c, i, j) * (double)(float)rval(c, pr, pc);
              rc->g[q] += t;
              rc->gs[q] += fabs(t);
            }
  for (int64_t i = 0; i < (int64_t)M * H * W; i++) rc->gs_mean += rc->gs[i] / (double)(M * H * W);
}

static void ref_free(ref_case *rc)
{
  free(rc->x);
  free(rc->xs);
  free(rc->g);
  free(rc->gs);
  hcsc_dict_free(&rc->d);
}

/* One grid, one case, one backend: returns through out_x / out_g the
 * interiors (for the direct vs FFT comparison). */
static void run_case(hcsc_grid *grid, ref_case *rc, hcsc_conv_backend be, float **out_x,
                     float **out_g)
{
  const int M = rc->M, C = rc->C, k = rc->k, h = k - 1 - (k - 1) / 2;
  const int halo = h > 0 ? h : 1;
  const int64_t H = rc->H, W = rc->W;
  hcsc_box box = hcsc_grid_box(grid);
  hcsc_conv *op = NULL;
  hcsc_halo *hz = NULL, *hr = NULL;
  hcsc_tile z, x, r, g;
  int dims[3];
  memset(&z, 0, sizeof z);
  memset(&x, 0, sizeof x);
  memset(&r, 0, sizeof r);
  memset(&g, 0, sizeof g);
  hcsc_grid_dims(grid, dims);

  /* Thin tiles: refused where they are, and agreed to fail everywhere. */
  int thin = 0;
  for (int q = 0; q < hcsc_grid_size(grid); q++) {
    hcsc_box b = hcsc_grid_box_of(grid, q);
    if (b.nr < h || b.nc < h) thin = 1;
  }
  int rcode = hcsc_conv_create(&rc->d, &box, H, W, be, &op);
  int mine_thin = box.nr < h || box.nc < h;
  TEST_ASSERT(mine_thin ? rcode == HCSC_EINVAL : rcode == 0, "create on tile %lldx%lld k=%d: rc %d",
              (long long)box.nr, (long long)box.nc, k, rcode);
  if (mine_thin)
    TEST_ASSERT(strstr(hcsc_error_message(), "thinner than the halo") != NULL, "message: %s",
                hcsc_error_message());
  rcode = hcsc_error_agree(hcsc_grid_comm(grid), rcode);
  TEST_ASSERT(thin ? rcode == HCSC_EINVAL : rcode == 0, "agreed create: rc %d (thin %d)", rcode, thin);
  hcsc_error_clear();
  if (thin) goto done;
  TEST_ASSERT(hcsc_conv_get_backend(op) == be, "backend %d", (int)hcsc_conv_get_backend(op));
  TEST_ASSERT(hcsc_conv_halo(op) == h, "halo %d, want %d", hcsc_conv_halo(op), h);

  TEST_OK(hcsc_halo_create(grid, halo, M, &hz));
  TEST_OK(hcsc_halo_create(grid, halo, C, &hr));
  TEST_OK(hcsc_tile_alloc(&z, &box, M, halo));
  TEST_OK(hcsc_tile_alloc(&r, &box, C, halo));
  TEST_OK(hcsc_tile_alloc(&x, &box, C, 0));
  TEST_OK(hcsc_tile_alloc(&g, &box, M, 1));
  for (int64_t m = 0; m < M; m++)
    for (int64_t i = 0; i < box.nr; i++)
      for (int64_t j = 0; j < box.nc; j++)
        HCSC_TILE_AT(&z, m, i, j) = (float)zval(m, box.r0 + i, box.c0 + j);
  for (int64_t c = 0; c < C; c++)
    for (int64_t i = 0; i < box.nr; i++)
      for (int64_t j = 0; j < box.nc; j++)
        HCSC_TILE_AT(&r, c, i, j) = (float)rval(c, box.r0 + i, box.c0 + j);
  TEST_OK(hcsc_halo_exchange(hz, &z));
  TEST_OK(hcsc_halo_exchange(hr, &r));
  hcsc_tile_zero_outside(&r, H, W);
  TEST_OK(hcsc_conv_synth(op, &z, &x));
  TEST_OK(hcsc_conv_analysis(op, &r, &g));
  /* Twice: plans and workspaces are reused. */
  TEST_OK(hcsc_conv_analysis(op, &r, &g));

  int bad = 0;
  double dzr = 0, zdr = 0, sabs = 0;
  for (int64_t c = 0; c < C; c++)
    for (int64_t i = 0; i < box.nr; i++)
      for (int64_t j = 0; j < box.nc; j++) {
        int64_t q = (c * H + box.r0 + i) * W + box.c0 + j;
        double got = HCSC_TILE_AT(&x, c, i, j), tol = 1e-5 * (rc->xs[q] + rc->xs_mean);
        if (!(fabs(got - rc->x[q]) <= tol) && bad++ < 3)
          fprintf(stderr, "rank %d: synth %s grid %dx%d %lldx%lld M%d C%d k%d (%lld,%lld,%lld): %.9g want %.9g\n",
                  test_rank(), hcsc_conv_backend_name(be), dims[1], dims[2], (long long)H,
                  (long long)W, M, C, k, (long long)c, (long long)(box.r0 + i),
                  (long long)(box.c0 + j), got, rc->x[q]);
        dzr += got * HCSC_TILE_AT(&r, c, i, j);
        sabs += rc->xs[q] * fabs(HCSC_TILE_AT(&r, c, i, j));
        out_x[0][q] = (float)got;
      }
  for (int64_t m = 0; m < M; m++)
    for (int64_t i = 0; i < box.nr; i++)
      for (int64_t j = 0; j < box.nc; j++) {
        int64_t q = (m * H + box.r0 + i) * W + box.c0 + j;
        double got = HCSC_TILE_AT(&g, m, i, j), tol = 1e-5 * (rc->gs[q] + rc->gs_mean);
        if (!(fabs(got - rc->g[q]) <= tol) && bad++ < 3)
          fprintf(stderr, "rank %d: analysis %s grid %dx%d %lldx%lld M%d C%d k%d (%lld,%lld,%lld): %.9g want %.9g\n",
                  test_rank(), hcsc_conv_backend_name(be), dims[1], dims[2], (long long)H,
                  (long long)W, M, C, k, (long long)m, (long long)(box.r0 + i),
                  (long long)(box.c0 + j), got, rc->g[q]);
        zdr += got * HCSC_TILE_AT(&z, m, i, j);
        out_g[0][q] = (float)got;
      }
  TEST_ASSERT(bad == 0, "%s grid %dx%d scene %lldx%lld M=%d C=%d k=%d: %d values off",
              hcsc_conv_backend_name(be), dims[1], dims[2], (long long)H, (long long)W, M, C, k, bad);
  double s[3] = {dzr, zdr, sabs};
  MPI_Allreduce(MPI_IN_PLACE, s, 3, MPI_DOUBLE, MPI_SUM, hcsc_grid_comm(grid));
  TEST_ASSERT(fabs(s[0] - s[1]) <= 1e-5 * (fabs(s[0]) + s[2]),
              "adjoint %s M=%d C=%d k=%d: <Dz,r> = %.12g, <z,D^T r> = %.12g",
              hcsc_conv_backend_name(be), M, C, k, s[0], s[1]);
done:
  hcsc_tile_free(&z);
  hcsc_tile_free(&x);
  hcsc_tile_free(&r);
  hcsc_tile_free(&g);
  hcsc_halo_destroy(&hz);
  hcsc_halo_destroy(&hr);
  hcsc_conv_destroy(&op);
  TEST_ASSERT(op == NULL, "destroy sets NULL");
}

/* Whole-scene arrays of both backends, gathered by summing (each rank
 * fills its own pixels, the others zeros), compared elementwise. */
static void compare_backends(MPI_Comm comm, ref_case *rc, float *xd, float *xf, float *gd,
                             float *gf)
{
  const int64_t nx = (int64_t)rc->C * rc->H * rc->W, ng = (int64_t)rc->M * rc->H * rc->W;
  MPI_Allreduce(MPI_IN_PLACE, xd, (int)nx, MPI_FLOAT, MPI_SUM, comm);
  MPI_Allreduce(MPI_IN_PLACE, xf, (int)nx, MPI_FLOAT, MPI_SUM, comm);
  MPI_Allreduce(MPI_IN_PLACE, gd, (int)ng, MPI_FLOAT, MPI_SUM, comm);
  MPI_Allreduce(MPI_IN_PLACE, gf, (int)ng, MPI_FLOAT, MPI_SUM, comm);
  int bad = 0;
  for (int64_t i = 0; i < nx; i++)
    bad += !(fabs((double)xd[i] - xf[i]) <= 2e-5 * (rc->xs[i] + rc->xs_mean));
  for (int64_t i = 0; i < ng; i++)
    bad += !(fabs((double)gd[i] - gf[i]) <= 2e-5 * (rc->gs[i] + rc->gs_mean));
  TEST_ASSERT(bad == 0, "direct vs fft M=%d C=%d k=%d %lldx%lld: %d values differ", rc->M, rc->C,
              rc->k, (long long)rc->H, (long long)rc->W, bad);
}

int main(int argc, char **argv)
{
  test_init(&argc, &argv);
  const int size = test_size();
  const int64_t scenes[2][2] = {{9, 7}, {16, 13}};
  const int ks[] = {1, 2, 3, 4, 5, 8}, Ms[] = {1, 3}, Cs[] = {1, 2, 4};
  int ncases = 0;
  for (int s = 0; s < 2; s++)
    for (int ki = 0; ki < 6; ki++)
      for (int mi = 0; mi < 2; mi++)
        for (int ci = 0; ci < 3; ci++) {
          ref_case rc;
          memset(&rc, 0, sizeof rc);
          rc.H = scenes[s][0];
          rc.W = scenes[s][1];
          rc.k = ks[ki];
          rc.M = Ms[mi];
          rc.C = Cs[ci];
          TEST_OK(hcsc_dict_alloc(&rc.d, rc.M, rc.C, rc.k, 1));
          TEST_OK(hcsc_dict_init_random(&rc.d, 1000 + (uint64_t)(s * 100 + ki * 10 + mi * 3 + ci)));
          ref_build(&rc);
          const int64_t nx = (int64_t)rc.C * rc.H * rc.W, ng = (int64_t)rc.M * rc.H * rc.W;
          for (int P = 1; P <= size; P++) {
            if (size % P) continue;
            int dims[3] = {1, P, size / P};
            hcsc_grid *grid = NULL;
            TEST_OK(hcsc_grid_create(MPI_COMM_WORLD, rc.C, rc.H, rc.W, dims, &grid));
            if (!grid) continue;
            float *xd = calloc((size_t)nx, 4), *xf = calloc((size_t)nx, 4);
            float *gd = calloc((size_t)ng, 4), *gf = calloc((size_t)ng, 4);
            run_case(grid, &rc, HCSC_CONV_DIRECT, &xd, &gd);
            run_case(grid, &rc, HCSC_CONV_FFT, &xf, &gf);
            compare_backends(hcsc_grid_comm(grid), &rc, xd, xf, gd, gf);
            free(xd);
            free(xf);
            free(gd);
            free(gf);
            hcsc_grid_destroy(&grid);
            ncases++;
          }
          ref_free(&rc);
        }
  TEST_ASSERT(ncases > 0, "no case ran");

  /* The environment override and AUTO give working plans. */
  {
    hcsc_dict d;
    hcsc_conv *op = NULL;
    hcsc_box box = {0, 1, 0, 30, 0, 40};
    TEST_OK(hcsc_dict_alloc(&d, 4, 2, 5, 1));
    TEST_OK(hcsc_dict_init_random(&d, 5));
    setenv("HCSC_CONV", "fft", 1);
    TEST_OK(hcsc_conv_create(&d, &box, 30, 40, HCSC_CONV_AUTO, &op));
    TEST_ASSERT(op && hcsc_conv_get_backend(op) == HCSC_CONV_FFT, "HCSC_CONV=fft");
    TEST_ASSERT(op && hcsc_conv_block(op) >= 9, "block %d", op ? hcsc_conv_block(op) : -1);
    hcsc_conv_destroy(&op);
    setenv("HCSC_CONV", "direct", 1);
    TEST_OK(hcsc_conv_create(&d, &box, 30, 40, HCSC_CONV_AUTO, &op));
    TEST_ASSERT(op && hcsc_conv_get_backend(op) == HCSC_CONV_DIRECT, "HCSC_CONV=direct");
    TEST_NEAR(hcsc_conv_flops(op), 2.0 * 4 * 2 * 25 * 30 * 40, 0);
    hcsc_conv_destroy(&op);
    setenv("HCSC_CONV", "bogus", 1);
    TEST_ASSERT(hcsc_conv_create(&d, &box, 30, 40, HCSC_CONV_AUTO, &op) == HCSC_EINVAL, "bad HCSC_CONV");
    unsetenv("HCSC_CONV");
    TEST_OK(hcsc_conv_create(&d, &box, 30, 40, HCSC_CONV_AUTO, &op));
    TEST_ASSERT(op != NULL, "auto");
    hcsc_conv_destroy(&op);
    hcsc_dict_free(&d);
    hcsc_error_clear();
  }
  return test_finish("t_conv");
}
