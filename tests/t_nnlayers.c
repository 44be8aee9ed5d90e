/* Layers of unrolled networks (src/nn): every layer's backward against
 * central finite differences, for the input and for the parameters, on a
 * grid over MPI_COMM_WORLD (13 x 11 scene, uneven splits at 2 and 4 ranks);
 * the synthesis layer against hcsc_conv_synth; nn_wgrad against a naive
 * loop; a small chain on the world grid against the same chain on a
 * whole-scene MPI_COMM_SELF grid (forward, parameter gradients summed over
 * ranks, input gradient); a train = 0 executor against a train = 1 one.
 *
 * Finite differences.  L = <f(x), R> (R a fixed random tile, so dL/dy = R)
 * accumulated in double and summed over ranks.  Every layer is linear or
 * piecewise linear in each of its inputs, and the loss is linear in y, so
 * along a direction v, L(p + e v) is a polynomial of low degree (up to 3
 * in the chain: spectral x analysis x synthesis) as long as no threshold
 * kink is crossed; the central difference then has no truncation error but
 * O(e^2) from the cubic terms, and rounding error ~ 1e-7 sum |y R| / e.
 * With e = 1e-2 on O(1) data (1e-3 in the chain) both stay far below
 * 1e-3 of the scale S = sum_i |g_i v_i| of the directional derivative
 * (observed: <= 5e-4); we require
 *   |fd - <g, v>| <= 1e-3 S + 1e-6 sum |y R| / e
 * (the second term bounds the rounding of float outputs, ~16 ulp per
 * value), per parameter tensor and for the input (NN_VERBOSE=1 prints the
 * errors relative to S).  Kinks: the threshold tests draw inputs whose
 * magnitudes stay >= 0.2 away from the threshold (perturbations move them
 * by <= 0.01); the chain picks each atom's threshold in the widest gap of
 * its input magnitudes and verifies the active set is the same at +-e.
 *
 * Distributed equality: the same float operations run in the same order
 * per pixel except the sums over pixels (parameter gradients: partial sums
 * per rank), so we require 1e-5 relative to the largest reference value. */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hypercsc.h"
#include "nn/nn_impl.h"
#include "testutil.h"

#define H 13
#define W 11
#define TOL 1e-3   /* relative error of directional derivatives: see the top */
#define ROUND 1e-6 /* float rounding of the loss, relative to sum |y R| */

static hcsc_grid *wgrid(int64_t B)
{
  hcsc_grid *g = NULL;
  int dims[3] = {1, 0, 0};
  if (test_size() == 4) dims[1] = dims[2] = 2; /* 7+6 rows x 6+5 cols: uneven both ways */
  TEST_OK(hcsc_grid_create(MPI_COMM_WORLD, B, H, W, dims, &g));
  return g;
}

static hcsc_grid *sgrid(int64_t B)
{
  hcsc_grid *g = NULL;
  int dims[3] = {1, 1, 1};
  TEST_OK(hcsc_grid_create(MPI_COMM_SELF, B, H, W, dims, &g));
  return g;
}

static hcsc_nn *new_net(int B, int nonneg)
{
  hcsc_nn_config cfg;
  hcsc_nn *net = NULL;
  memset(&cfg, 0, sizeof(cfg));
  cfg.arch = HCSC_NN_LISTA;
  cfg.bands = B;
  cfg.iters = 1;
  cfg.nlayers = 1;
  cfg.nonneg = nonneg;
  cfg.adapt = 0;
  TEST_OK(nn_create_empty(&cfg, &net));
  return net;
}

static int add4(hcsc_nn *net, const char *name, int64_t a, int64_t b, int64_t c, int64_t d)
{
  int64_t s[4] = {a, b, c, d};
  int nd = d ? 4 : c ? 3 : b ? 2 : 1;
  return nn_param_add(net, name, nd, s);
}

static void randomize(hcsc_nn *net, uint64_t seed, double scale)
{
  for (int64_t i = 0; i < net->size; i++)
    net->params[i] = (float)(scale * hcsc_rng_normal(seed, 7, i, 0, 0));
  hcsc_nn_touch(net);
}

/* Interior of t from a function of (channel, global row, global col). */
typedef double (*valfn)(uint64_t seed, int64_t ch, int64_t r, int64_t c);
static double v_normal(uint64_t s, int64_t ch, int64_t r, int64_t c)
{
  return hcsc_rng_normal(s, 1, ch, r, c);
}
static double v_unif(uint64_t s, int64_t ch, int64_t r, int64_t c)
{
  return 2.0 * hcsc_rng_uniform(s, 2, ch, r, c) - 1.0;
}
/* Magnitudes in [0.05, 0.3] or [0.7, 1.5], random sign: >= 0.2 from the
 * kink 0.5 and >= 0.05 from the kink 0 of a non-negative threshold 0. */
static double v_gap(uint64_t s, int64_t ch, int64_t r, int64_t c)
{
  double u = hcsc_rng_uniform(s, 3, ch, r, c), m = hcsc_rng_uniform(s, 4, ch, r, c);
  double mag = u < 0.5 ? 0.05 + 0.25 * m : 0.7 + 0.8 * m;
  return hcsc_rng_uniform(s, 5, ch, r, c) < 0.5 ? -mag : mag;
}
static void fill(hcsc_tile *t, valfn f, uint64_t seed)
{
  for (int64_t ch = 0; ch < t->nchan; ch++)
    for (int64_t r = 0; r < t->box.nr; r++)
      for (int64_t c = 0; c < t->box.nc; c++)
        HCSC_TILE_AT(t, ch, r, c) = (float)f(seed, ch, t->box.r0 + r, t->box.c0 + c);
}
static double dot_all(const hcsc_tile *a, const hcsc_tile *b, MPI_Comm comm, double *abs_sum)
{
  double s[2] = {0.0, 0.0};
  for (int64_t ch = 0; ch < a->nchan; ch++)
    for (int64_t r = 0; r < a->box.nr; r++)
      for (int64_t c = 0; c < a->box.nc; c++) {
        double p = (double)HCSC_TILE_AT(a, ch, r, c) * HCSC_TILE_AT(b, ch, r, c);
        s[0] += p;
        s[1] += fabs(p);
      }
  MPI_Allreduce(MPI_IN_PLACE, s, 2, MPI_DOUBLE, MPI_SUM, comm);
  if (abs_sum) *abs_sum = s[1];
  return s[0];
}

typedef struct {
  hcsc_nn *net;
  hcsc_nn_exec *e;
  hcsc_grid *grid;
  hcsc_tile x, y, R, dx;
  const hcsc_nn_noise *nz;
  double labs; /* sum |y R| of the last loss */
} fixture;

static double loss_at(fixture *f, const hcsc_tile *x)
{
  TEST_OK(hcsc_nn_forward(f->e, x, f->nz, &f->y));
  return dot_all(&f->y, &f->R, hcsc_grid_comm(f->grid), &f->labs);
}

/* Set up a fixture: exec on grid, x from xf, R random. */
static void fx_init(fixture *f, hcsc_nn *net, hcsc_grid *grid, valfn xf, const hcsc_nn_noise *nz)
{
  hcsc_box box = hcsc_grid_box(grid);
  const nn_graph *g = net->graph;
  memset(&f->x, 0, sizeof(f->x) * 4);
  f->net = net;
  f->grid = grid;
  f->nz = nz;
  f->e = NULL;
  TEST_OK(hcsc_nn_exec_create(net, grid, 1, &f->e));
  TEST_OK(hcsc_tile_alloc(&f->x, &box, g->tensors[0].nchan, 1));
  TEST_OK(hcsc_tile_alloc(&f->dx, &box, g->tensors[0].nchan, 0));
  TEST_OK(hcsc_tile_alloc(&f->y, &box, g->tensors[g->output].nchan, 0));
  TEST_OK(hcsc_tile_alloc(&f->R, &box, g->tensors[g->output].nchan, 2));
  fill(&f->x, xf, 21);
  fill(&f->R, v_normal, 22);
}

static void fx_free(fixture *f)
{
  hcsc_nn_exec_destroy(&f->e);
  hcsc_tile_free(&f->x);
  hcsc_tile_free(&f->y);
  hcsc_tile_free(&f->R);
  hcsc_tile_free(&f->dx);
}

/* Directional derivatives along random directions of the params and of x
 * against central differences (see the top for eps and the tolerance). */
static void gradcheck(fixture *f, const char *label, double eps)
{
  hcsc_nn *net = f->net;
  MPI_Comm comm = hcsc_grid_comm(f->grid);
  float *save = malloc(sizeof(float) * (size_t)net->size);
  hcsc_tile xs, vx;
  double an = 0.0, S = 0.0, Lp = 0.0, Lm = 0.0, fd;
  hcsc_box box = hcsc_grid_box(f->grid);
  memset(&xs, 0, sizeof(xs));
  memset(&vx, 0, sizeof(vx));
  TEST_OK(hcsc_nn_forward(f->e, &f->x, f->nz, &f->y));
  hcsc_nn_zero_grad(net);
  TEST_OK(hcsc_nn_backward(f->e, &f->R, &f->dx));
  /* parameters, one tensor at a time (a wrong element weighs more in a
   * smaller sum) */
  memcpy(save, net->params, sizeof(float) * (size_t)net->size);
  for (int t = 0; t < net->nparams; t++) {
    const int64_t o = net->table[t].offset, n = net->table[t].count;
    an = S = 0.0;
    for (int64_t i = o; i < o + n; i++) {
      double v = 2.0 * hcsc_rng_uniform(99, 5, i, 0, 0) - 1.0;
      an += net->grads[i] * v;
      S += fabs(net->grads[i] * v);
    }
    for (int sign = -1; sign <= 1; sign += 2) {
      for (int64_t i = o; i < o + n; i++)
        net->params[i] = (float)(save[i] + sign * eps * (2.0 * hcsc_rng_uniform(99, 5, i, 0, 0) - 1.0));
      hcsc_nn_touch(net);
      if (sign < 0) Lm = loss_at(f, &f->x);
      else Lp = loss_at(f, &f->x);
    }
    memcpy(net->params, save, sizeof(float) * (size_t)net->size);
    hcsc_nn_touch(net);
    fd = (Lp - Lm) / (2.0 * eps);
    if (getenv("NN_VERBOSE") && test_rank() == 0)
      printf("%s %s rel %.3g\n", label, net->table[t].name, fabs(fd - an) / S);
    /* single elements (index 1 and a spread of 11 more): a wrong element
     * is a small part of a large directional sum */
    for (int j = 0; j < 12 && j < n; j++) {
      const int64_t i = o + (j == 0 ? 1 % n : (j * (n - 1)) / 11);
      double L2[2], fe;
      for (int sign = -1; sign <= 1; sign += 2) {
        net->params[i] = (float)(save[i] + sign * eps);
        hcsc_nn_touch(net);
        L2[(sign + 1) / 2] = loss_at(f, &f->x);
      }
      net->params[i] = save[i];
      hcsc_nn_touch(net);
      fe = (L2[1] - L2[0]) / (2.0 * eps);
      TEST_ASSERT(fabs(fe - net->grads[i]) <= TOL * fabs(fe) + ROUND * f->labs / eps,
                  "%s: %s[%lld]: fd %.9g, backward %.9g", label, net->table[t].name,
                  (long long)(i - o), fe, (double)net->grads[i]);
    }
    if (S == 0.0 && fd == 0.0) continue; /* e.g. a theta row no op reads */
    TEST_ASSERT(fabs(fd - an) <= TOL * S + ROUND * f->labs / eps, "%s: %s: fd %.9g, backward %.9g (scale %.3g)", label,
                net->table[t].name, fd, an, S);
  }
  /* input */
  TEST_OK(hcsc_tile_alloc(&xs, &box, f->x.nchan, 0));
  TEST_OK(hcsc_tile_alloc(&vx, &box, f->x.nchan, 0));
  fill(&vx, v_unif, 31);
  an = dot_all(&f->dx, &vx, comm, &S);
  for (int sign = -1; sign <= 1; sign += 2) {
    for (int64_t ch = 0; ch < xs.nchan; ch++)
      for (int64_t r = 0; r < box.nr; r++)
        for (int64_t c = 0; c < box.nc; c++)
          HCSC_TILE_AT(&xs, ch, r, c) =
              (float)(HCSC_TILE_AT(&f->x, ch, r, c) + sign * eps * HCSC_TILE_AT(&vx, ch, r, c));
    if (sign < 0) Lm = loss_at(f, &xs);
    else Lp = loss_at(f, &xs);
  }
  fd = (Lp - Lm) / (2.0 * eps);
  if (getenv("NN_VERBOSE") && test_rank() == 0) printf("%s input rel %.3g\n", label, fabs(fd - an) / S);
  TEST_ASSERT(S > 0.0, "%s: zero input gradient", label);
  TEST_ASSERT(fabs(fd - an) <= TOL * S + ROUND * f->labs / eps, "%s: input: fd %.9g, backward %.9g (scale %.3g)", label,
              fd, an, S);
  hcsc_tile_free(&xs);
  hcsc_tile_free(&vx);
  free(save);
}

static void noise_fixed(hcsc_nn_noise *nz, int B, double level)
{
  nz->bands = B;
  nz->sigma = calloc((size_t)B, sizeof(double));
  nz->wt = calloc((size_t)B, sizeof(double));
  for (int b = 0; b < B; b++) {
    nz->sigma[b] = 0.1 * (b + 1);
    nz->wt[b] = 1.0 / ((b + 1) * (b + 1));
  }
  nz->level = level;
}

/* SYNTH (M = 4 -> C = 3) and ANALYSIS (C = 3 -> M = 4), k = 3 and 5; the
 * synthesis output also against hcsc_conv_synth. */
static void test_conv(int synth, int k)
{
  const int M = 4, C = 3;
  char label[64];
  hcsc_nn *net = new_net(synth ? M : C, 0);
  hcsc_grid *grid;
  fixture f;
  int p = add4(net, "D", M, C, k, k);
  TEST_ASSERT(p == 0, "param index %d", p);
  TEST_ASSERT((synth ? nn_synth(net, p, 0) : nn_analysis(net, p, 0)) == 1, "builder");
  TEST_OK(nn_alloc_params(net));
  randomize(net, 40 + k, 0.3);
  grid = wgrid(synth ? M : C);
  fx_init(&f, net, grid, v_normal, NULL);
  snprintf(label, sizeof(label), "%s k=%d", synth ? "synth" : "analysis", k);
  gradcheck(&f, label, 1e-2);
  if (synth) {
    hcsc_dict d = {M, C, k, 1, net->params};
    hcsc_conv *op = NULL;
    hcsc_halo *h = NULL;
    hcsc_tile z, ref;
    hcsc_box box = hcsc_grid_box(grid);
    double emax = 0.0, rmax = 0.0;
    memset(&z, 0, sizeof(z));
    memset(&ref, 0, sizeof(ref));
    TEST_OK(hcsc_tile_alloc(&z, &box, M, k - 1 - (k - 1) / 2));
    TEST_OK(hcsc_tile_alloc(&ref, &box, C, 0));
    fill(&z, v_normal, 21);
    TEST_OK(hcsc_halo_create(grid, z.halo, M, &h));
    TEST_OK(hcsc_halo_exchange(h, &z));
    TEST_OK(hcsc_conv_create(&d, &box, H, W, HCSC_CONV_AUTO, &op));
    TEST_OK(hcsc_conv_synth(op, &z, &ref));
    TEST_OK(hcsc_nn_forward(f.e, &f.x, NULL, &f.y));
    for (int64_t ch = 0; ch < C; ch++)
      for (int64_t r = 0; r < box.nr; r++)
        for (int64_t c = 0; c < box.nc; c++) {
          emax = fmax(emax, fabs(HCSC_TILE_AT(&f.y, ch, r, c) - HCSC_TILE_AT(&ref, ch, r, c)));
          rmax = fmax(rmax, fabs(HCSC_TILE_AT(&ref, ch, r, c)));
        }
    TEST_ASSERT(emax == 0.0, "%s: layer output differs from hcsc_conv_synth by %g (max %g)", label,
                emax, rmax);
    hcsc_conv_destroy(&op);
    hcsc_halo_destroy(&h);
    hcsc_tile_free(&z);
    hcsc_tile_free(&ref);
  }
  fx_free(&f);
  hcsc_grid_destroy(&grid);
  hcsc_nn_destroy(&net);
}

/* THRESH (soft and non-negative), theta row 1 of [2, 4], noise level 0.8:
 * the kink s th = 0.5 for the atoms with theta = 0.625; atom 3 has
 * theta < 0 (no threshold, zero gradient). */
static void test_thresh(int nonneg)
{
  const int B = 4;
  hcsc_nn *net = new_net(B, nonneg);
  hcsc_grid *grid = wgrid(B);
  hcsc_nn_noise nz;
  fixture f;
  int p = add4(net, "theta", 2, B, 0, 0);
  TEST_ASSERT(nn_thresh(net, p, 1, B, 0) == 1, "builder");
  TEST_OK(nn_alloc_params(net));
  for (int i = 0; i < 2 * B; i++) net->params[i] = 9.0f; /* row 0 unused */
  for (int m = 0; m < 3; m++) net->params[B + m] = 0.625f;
  net->params[B + 3] = -0.3f;
  noise_fixed(&nz, B, 0.8);
  fx_init(&f, net, grid, v_gap, &nz);
  gradcheck(&f, nonneg ? "thresh nonneg" : "thresh soft", 1e-2);
  /* the unused row and the negative theta get no gradient */
  for (int i = 0; i < B; i++) TEST_ASSERT(net->grads[i] == 0.0f, "theta row 0 gradient %g", net->grads[i]);
  TEST_ASSERT(net->grads[B + 3] == 0.0f, "negative theta has gradient %g", net->grads[B + 3]);
  TEST_ASSERT(net->grads[B] != 0.0f, "theta gradient is zero");
  {
    hcsc_nn_figures fig;
    hcsc_nn_exec_figures(f.e, &fig);
    TEST_ASSERT(fig.code_density > 0.1 && fig.code_density < 0.9, "code density %g",
                fig.code_density);
  }
  hcsc_nn_noise_free(&nz);
  fx_free(&f);
  hcsc_grid_destroy(&grid);
  hcsc_nn_destroy(&net);
}

/* LINCOMB 0.5 x - 2 eta[1] (Om x) with x read twice (accumulation into dx):
 * a learned scalar; BANDWEIGHT with noise weights wt_b = 1 / (b + 1)^2. */
static void test_lincomb_bandweight(void)
{
  const int B = 3;
  hcsc_nn *net = new_net(B, 0);
  hcsc_grid *grid = wgrid(B);
  hcsc_nn_noise nz;
  fixture f;
  int pe = add4(net, "eta", 3, 0, 0, 0), pw = add4(net, "band_w", B, 0, 0, 0), t1, t2;
  nn_term terms[3] = {{0, -1, 0, 0.5f}, {0, 0, 1, -2.0f}, {0, -1, 0, 0.0f}};
  t1 = nn_bandweight(net, pw, 0);
  terms[1].param = pe;
  terms[2].tensor = t1;
  terms[2].c = 1.5f;
  terms[2].param = pe;
  terms[2].poff = 2;
  t2 = nn_lincomb(net, 3, terms);
  TEST_ASSERT(t1 == 1 && t2 == 2, "builders %d %d", t1, t2);
  TEST_OK(nn_alloc_params(net));
  randomize(net, 50, 1.0);
  noise_fixed(&nz, B, 1.0);
  fx_init(&f, net, grid, v_normal, &nz);
  gradcheck(&f, "lincomb+bandweight", 1e-2);
  TEST_ASSERT(net->grads[0] == 0.0f, "unused eta[0] has gradient %g", net->grads[0]);
  hcsc_nn_noise_free(&nz);
  fx_free(&f);
  hcsc_grid_destroy(&grid);
  hcsc_nn_destroy(&net);
}

/* SPECTRAL 4 -> 5 channels (no halo: one sgemm) and LATTICE s = 2. */
static void test_spectral_lattice(void)
{
  const int B = 4;
  hcsc_nn *net = new_net(B, 0);
  hcsc_grid *grid = wgrid(B);
  fixture f;
  int p = add4(net, "P", 5, B, 0, 0), t1, t2;
  t1 = nn_spectral(net, p, 0);
  t2 = nn_lattice(net, 2, t1);
  TEST_ASSERT(t1 == 1 && t2 == 2, "builders %d %d", t1, t2);
  TEST_OK(nn_alloc_params(net));
  randomize(net, 51, 0.5);
  fx_init(&f, net, grid, v_normal, NULL);
  gradcheck(&f, "spectral+lattice", 1e-2);
  TEST_OK(hcsc_nn_forward(f.e, &f.x, NULL, &f.y));
  {
    hcsc_box box = hcsc_grid_box(grid);
    int bad = 0;
    for (int64_t ch = 0; ch < 5; ch++)
      for (int64_t r = 0; r < box.nr; r++)
        for (int64_t c = 0; c < box.nc; c++) {
          const int on = (box.r0 + r) % 2 == 0 && (box.c0 + c) % 2 == 0;
          double ref = 0.0;
          for (int b = 0; b < B; b++)
            ref += (double)net->params[ch * B + b] * HCSC_TILE_AT(&f.x, b, r, c);
          if (!on) ref = 0.0;
          bad += fabs(HCSC_TILE_AT(&f.y, ch, r, c) - ref) > 1e-5 * (1.0 + fabs(ref));
        }
    TEST_ASSERT(bad == 0, "spectral+lattice: %d values differ from the reference", bad);
  }
  fx_free(&f);
  hcsc_grid_destroy(&grid);
  hcsc_nn_destroy(&net);
}

/* The chain: x (3) -> spectral P [3, 3] -> analysis W1 [4, 3, 3, 3] ->
 * thresh theta [1, 4] -> synthesis W2 [4, 3, 5, 5] -> + eta[0] x.
 * *tan: the analysis tensor. */
static hcsc_nn *chain_net(int *tan)
{
  hcsc_nn *net = new_net(3, 0);
  int pP = add4(net, "P", 3, 3, 0, 0), pW1 = add4(net, "W1", 4, 3, 3, 3);
  int pth = add4(net, "theta", 1, 4, 0, 0), pW2 = add4(net, "W2", 4, 3, 5, 5);
  int pe = add4(net, "eta", 1, 0, 0, 0), t;
  nn_term terms[2] = {{0, -1, 0, 1.0f}, {0, 0, 0, 1.0f}};
  t = nn_spectral(net, pP, 0);
  t = *tan = nn_analysis(net, pW1, t);
  t = nn_thresh(net, pth, 0, 4, t);
  t = nn_synth(net, pW2, t);
  terms[0].tensor = t;
  terms[1].param = pe;
  TEST_ASSERT(nn_lincomb(net, 2, terms) == 5, "chain builders");
  TEST_OK(nn_alloc_params(net));
  randomize(net, 60, 0.4);
  net->params[hcsc_nn_find(net, "eta")->offset] = 0.7f;
  return net;
}

/* The analysis output of the chain on the whole scene (every rank), with
 * params moved by e * dir (dir = 0: none) and x by ex * vx. */
static void chain_probe(hcsc_nn *net, int tan, double e, double ex, float *out)
{
  hcsc_grid *g = sgrid(3);
  hcsc_box box = hcsc_grid_box(g);
  hcsc_nn_exec *ex_ = NULL;
  hcsc_tile x, y;
  int save_out = net->graph->output;
  float *save = malloc(sizeof(float) * (size_t)net->size);
  memset(&x, 0, sizeof(x));
  memset(&y, 0, sizeof(y));
  memcpy(save, net->params, sizeof(float) * (size_t)net->size);
  for (int64_t i = 0; i < net->size; i++)
    net->params[i] = (float)(save[i] + e * (2.0 * hcsc_rng_uniform(99, 5, i, 0, 0) - 1.0));
  hcsc_nn_touch(net);
  nn_graph_output(net, tan);
  TEST_OK(hcsc_nn_exec_create(net, g, 0, &ex_));
  TEST_OK(hcsc_tile_alloc(&x, &box, 3, 0));
  TEST_OK(hcsc_tile_alloc(&y, &box, 4, 0));
  for (int64_t ch = 0; ch < 3; ch++)
    for (int64_t r = 0; r < H; r++)
      for (int64_t c = 0; c < W; c++)
        HCSC_TILE_AT(&x, ch, r, c) = (float)(v_normal(21, ch, r, c) + ex * v_unif(31, ch, r, c));
  TEST_OK(hcsc_nn_forward(ex_, &x, NULL, &y));
  memcpy(out, y.data, sizeof(float) * 4 * H * W);
  nn_graph_output(net, save_out);
  memcpy(net->params, save, sizeof(float) * (size_t)net->size);
  hcsc_nn_touch(net);
  hcsc_nn_exec_destroy(&ex_);
  hcsc_tile_free(&x);
  hcsc_tile_free(&y);
  hcsc_grid_destroy(&g);
  free(save);
}

static int cmp_float(const void *a, const void *b)
{
  float x = *(const float *)a, y = *(const float *)b;
  return (x > y) - (x < y);
}

/* Values whose side of the threshold differs between the base point and
 * params + e dir, x + ex vx (v0: the base analysis output). */
static int64_t chain_pattern_diff(hcsc_nn *net, int tan, double e, double ex, const float *v0)
{
  float *v = malloc(sizeof(float) * 4 * H * W);
  const int64_t off = hcsc_nn_find(net, "theta")->offset;
  int64_t diff = 0;
  chain_probe(net, tan, e, ex, v);
  for (int m = 0; m < 4; m++) {
    const double th0 = net->params[off + m];
    const double th = th0 + e * (2.0 * hcsc_rng_uniform(99, 5, off + m, 0, 0) - 1.0);
    for (int64_t p = 0; p < H * W; p++)
      diff += (fabs(v[m * H * W + p]) > th) != (fabs(v0[m * H * W + p]) > th0);
  }
  free(v);
  return diff;
}

/* Gradient check of the chain, thresholds in the widest gap of each atom's
 * input magnitudes (between the 30% and 70% quantiles). */
static void test_chain(void)
{
  int tan = -1;
  hcsc_nn *net = chain_net(&tan);
  hcsc_grid *grid = wgrid(3);
  float *v0 = malloc(sizeof(float) * 4 * H * W), *a = malloc(sizeof(float) * H * W);
  const int64_t off = hcsc_nn_find(net, "theta")->offset;
  const double eps = 1e-3;
  fixture f;
  chain_probe(net, tan, 0.0, 0.0, v0);
  for (int m = 0; m < 4; m++) {
    double best = -1.0, th = 0.0;
    for (int64_t p = 0; p < H * W; p++) a[p] = fabsf(v0[m * H * W + p]);
    qsort(a, H * W, sizeof(float), cmp_float);
    for (int64_t p = (int64_t)(0.3 * H * W); p < (int64_t)(0.7 * H * W); p++)
      if (a[p + 1] - a[p] > best) {
        best = a[p + 1] - a[p];
        th = 0.5 * ((double)a[p] + a[p + 1]);
      }
    net->params[off + m] = (float)th;
  }
  hcsc_nn_touch(net);
  /* eps = 1e-3: the gaps are ~1e-2 wide, the perturbations move values by
   * ~1e-3; checked, not assumed: */
  TEST_ASSERT(chain_pattern_diff(net, tan, eps, 0.0, v0) == 0 &&
              chain_pattern_diff(net, tan, -eps, 0.0, v0) == 0 &&
              chain_pattern_diff(net, tan, 0.0, eps, v0) == 0 &&
              chain_pattern_diff(net, tan, 0.0, -eps, v0) == 0,
              "chain: the finite-difference steps cross a threshold kink");
  fx_init(&f, net, grid, v_normal, NULL);
  gradcheck(&f, "chain", eps);
  fx_free(&f);
  hcsc_grid_destroy(&grid);
  hcsc_nn_destroy(&net);
  free(v0);
  free(a);
}

/* Largest |a - ref| and |ref| over this rank's box of a local tile a and a
 * whole-scene tile ref (no halo), reduced over the world. */
static void box_diff(const hcsc_tile *a, const hcsc_tile *ref, double *emax, double *rmax)
{
  double m[2] = {0.0, 0.0};
  for (int64_t ch = 0; ch < a->nchan; ch++)
    for (int64_t r = 0; r < a->box.nr; r++)
      for (int64_t c = 0; c < a->box.nc; c++) {
        const double v = HCSC_TILE_AT(ref, ch, a->box.r0 + r, a->box.c0 + c);
        m[0] = fmax(m[0], fabs(HCSC_TILE_AT(a, ch, r, c) - v));
        m[1] = fmax(m[1], fabs(v));
      }
  MPI_Allreduce(MPI_IN_PLACE, m, 2, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  *emax = m[0];
  *rmax = m[1];
}

/* The chain with noise adaptivity (estimates made inside the forward) on
 * the world grid against a whole-scene MPI_COMM_SELF grid. */
static void test_distributed(void)
{
  int tan = -1;
  hcsc_nn *net = chain_net(&tan);
  hcsc_grid *gw = wgrid(3), *gs = sgrid(3);
  fixture fw, fs;
  float *gref = malloc(sizeof(float) * (size_t)net->size);
  double emax, rmax, gmax = 0.0, gerr = 0.0;
  net->cfg.adapt = 1;
  fx_init(&fw, net, gw, v_normal, NULL);
  fx_init(&fs, net, gs, v_normal, NULL);
  TEST_OK(hcsc_nn_forward(fs.e, &fs.x, NULL, &fs.y));
  hcsc_nn_zero_grad(net);
  TEST_OK(hcsc_nn_backward(fs.e, &fs.R, &fs.dx));
  memcpy(gref, net->grads, sizeof(float) * (size_t)net->size);
  TEST_OK(hcsc_nn_forward(fw.e, &fw.x, NULL, &fw.y));
  hcsc_nn_zero_grad(net);
  TEST_OK(hcsc_nn_backward(fw.e, &fw.R, &fw.dx));
  box_diff(&fw.y, &fs.y, &emax, &rmax);
  TEST_ASSERT(rmax > 0.0 && emax <= 1e-5 * rmax, "distributed forward: max diff %g (max %g)", emax,
              rmax);
  box_diff(&fw.dx, &fs.dx, &emax, &rmax);
  TEST_ASSERT(rmax > 0.0 && emax <= 1e-5 * rmax, "distributed dx: max diff %g (max %g)", emax, rmax);
  for (int64_t i = 0; i < net->size; i++) {
    gmax = fmax(gmax, fabs(gref[i]));
    gerr = fmax(gerr, fabs(net->grads[i] - gref[i]));
  }
  TEST_ASSERT(gmax > 0.0 && gerr <= 1e-5 * gmax, "distributed param grads: max diff %g (max %g)",
              gerr, gmax);
  /* every rank holds the same summed gradients */
  {
    double mn = gerr, mx = gerr;
    MPI_Allreduce(MPI_IN_PLACE, &mn, 1, MPI_DOUBLE, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(MPI_IN_PLACE, &mx, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    TEST_ASSERT(mn == mx, "ranks hold different gradients");
  }
  /* noise estimates: the same on every decomposition, formulas of nn.h */
  {
    hcsc_nn_noise nw, ns;
    double smin = INFINITY, num = 0.0, den = 0.0;
    memset(&nw, 0, sizeof(nw));
    memset(&ns, 0, sizeof(ns));
    TEST_OK(hcsc_nn_noise_estimate(fw.e, &fw.x, &nw));
    TEST_OK(hcsc_nn_noise_estimate(fs.e, &fs.x, &ns));
    for (int b = 0; b < 3; b++) {
      TEST_ASSERT(nw.sigma[b] == ns.sigma[b] && nw.sigma[b] > 0.5 && nw.sigma[b] < 2.0,
                  "sigma[%d] %g on the grid, %g whole", b, nw.sigma[b], ns.sigma[b]);
      smin = fmin(smin, nw.sigma[b]);
    }
    for (int b = 0; b < 3; b++) {
      const double wt = smin * smin / (nw.sigma[b] * nw.sigma[b]);
      TEST_NEAR(nw.wt[b], wt, 1e-12);
      num += wt * wt * nw.sigma[b] * nw.sigma[b];
      den += wt * wt;
    }
    TEST_NEAR(nw.level, sqrt(num / den), 1e-12);
    TEST_NEAR(nw.level, ns.level, 0.0);
    hcsc_nn_noise_free(&nw);
    hcsc_nn_noise_free(&ns);
  }
  /* errors are agreed: one rank's bad output tile fails every rank */
  {
    hcsc_tile bad;
    hcsc_box box = hcsc_grid_box(gw);
    int rc;
    memset(&bad, 0, sizeof(bad));
    TEST_OK(hcsc_tile_alloc(&bad, &box, test_rank() == test_size() - 1 ? 2 : 3, 0));
    rc = hcsc_nn_forward(fw.e, &fw.x, NULL, &bad);
    test_expect_error(rc, HCSC_ESIZE, "output tile", "forward with a bad tile on the last rank");
    hcsc_tile_free(&bad);
  }
  fx_free(&fw);
  fx_free(&fs);
  hcsc_grid_destroy(&gw);
  hcsc_grid_destroy(&gs);
  hcsc_nn_destroy(&net);
  free(gref);
}

/* A 3-iteration LISTA by hand (A = W1, Bm = Cm = W2, k = 3 and 5): the
 * train = 0 exec (buffers recycled) gives exactly the train = 1 output and
 * holds less memory. */
static void test_recycle(void)
{
  const int B = 3, M = 6;
  hcsc_nn *net = new_net(B, 1);
  hcsc_grid *grid = wgrid(B);
  hcsc_box box = hcsc_grid_box(grid);
  hcsc_nn_exec *e0 = NULL, *e1 = NULL;
  hcsc_nn_figures f0, f1;
  hcsc_tile x, y0, y1;
  int pA = add4(net, "A", M, B, 3, 3), pB = add4(net, "Bm", M, B, 5, 5);
  int pth = add4(net, "theta", 3, M, 0, 0), z, t, iters = 3;
  double emax = 0.0;
  memset(&x, 0, sizeof(x));
  memset(&y0, 0, sizeof(y0));
  memset(&y1, 0, sizeof(y1));
  z = nn_thresh(net, pth, 0, M, nn_analysis(net, pA, 0));
  for (int it = 1; it < iters; it++) {
    nn_term r[2] = {{0, -1, 0, 1.0f}, {0, -1, 0, -1.0f}}, v[2] = {{0, -1, 0, 1.0f}, {0, -1, 0, 1.0f}};
    r[1].tensor = nn_synth(net, pB, z);
    t = nn_analysis(net, pA, nn_lincomb(net, 2, r));
    v[0].tensor = z;
    v[1].tensor = t;
    z = nn_thresh(net, pth, it, M, nn_lincomb(net, 2, v));
  }
  TEST_ASSERT(nn_synth(net, pB, z) > 0, "recycle builders");
  TEST_OK(nn_alloc_params(net));
  randomize(net, 70, 0.3);
  for (int i = 0; i < 3 * M; i++) net->params[net->table[pth].offset + i] = 0.05f * (i % 4);
  TEST_OK(hcsc_nn_exec_create(net, grid, 0, &e0));
  TEST_OK(hcsc_nn_exec_create(net, grid, 1, &e1));
  TEST_OK(hcsc_tile_alloc(&x, &box, B, 0));
  TEST_OK(hcsc_tile_alloc(&y0, &box, B, 0));
  TEST_OK(hcsc_tile_alloc(&y1, &box, B, 1));
  fill(&x, v_normal, 21);
  TEST_OK(hcsc_nn_forward(e0, &x, NULL, &y0));
  TEST_OK(hcsc_nn_forward(e1, &x, NULL, &y1));
  TEST_OK(hcsc_nn_forward(e0, &x, NULL, &y0)); /* second run on recycled buffers */
  for (int64_t ch = 0; ch < B; ch++)
    for (int64_t r = 0; r < box.nr; r++)
      for (int64_t c = 0; c < box.nc; c++)
        emax = fmax(emax, fabs(HCSC_TILE_AT(&y0, ch, r, c) - HCSC_TILE_AT(&y1, ch, r, c)));
  TEST_ASSERT(emax == 0.0, "train = 0 output differs from train = 1 by %g", emax);
  hcsc_nn_exec_figures(e0, &f0);
  hcsc_nn_exec_figures(e1, &f1);
  TEST_ASSERT(f0.bytes > 0.0 && f0.bytes < 0.5 * f1.bytes, "bytes held: train=0 %g, train=1 %g",
              f0.bytes, f1.bytes);
  TEST_NEAR(f0.flops, f1.flops, 0.0);
  TEST_NEAR(f0.flops, 2.0 * (3 * M * B * 9 + 3 * M * B * 25) * box.nr * box.nc, 1e-12);
  TEST_ASSERT(f0.code_density > 0.0 && f0.code_density < 1.0, "code density %g", f0.code_density);
  /* backward needs a train exec */
  {
    int rc = hcsc_nn_backward(e0, &y0, NULL);
    TEST_ASSERT(rc == HCSC_EINVAL, "backward on a train = 0 exec: %d", rc);
  }
  hcsc_nn_exec_destroy(&e0);
  hcsc_nn_exec_destroy(&e1);
  hcsc_tile_free(&x);
  hcsc_tile_free(&y0);
  hcsc_tile_free(&y1);
  hcsc_grid_destroy(&grid);
  hcsc_nn_destroy(&net);
}

/* nn_wgrad against the definition, on this rank's tile of the world grid
 * (halo mirrored at the scene edge), adding into a non-zero dW. */
static void test_wgrad(int k)
{
  const int M = 3, C = 2, anc = (k - 1) / 2, h = k - 1 - anc;
  hcsc_grid *grid = wgrid(C);
  hcsc_box box = hcsc_grid_box(grid);
  hcsc_halo *hp = NULL;
  hcsc_tile a, b;
  float *dW = malloc(sizeof(float) * (size_t)(M * C * k * k));
  double emax = 0.0, rmax = 0.0;
  memset(&a, 0, sizeof(a));
  memset(&b, 0, sizeof(b));
  TEST_OK(hcsc_tile_alloc(&a, &box, M, h));
  TEST_OK(hcsc_tile_alloc(&b, &box, C, 1));
  fill(&a, v_normal, 81);
  fill(&b, v_normal, 82);
  TEST_OK(hcsc_halo_create(grid, h, M, &hp));
  TEST_OK(hcsc_halo_exchange(hp, &a));
  for (int i = 0; i < M * C * k * k; i++) dW[i] = 1.0f;
  TEST_OK(nn_wgrad(&a, &b, k, dW));
  for (int m = 0; m < M; m++)
    for (int c = 0; c < C; c++)
      for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++) {
          double ref = 1.0;
          for (int64_t r = 0; r < box.nr; r++)
            for (int64_t q = 0; q < box.nc; q++)
              ref += (double)HCSC_TILE_AT(&b, c, r, q) *
                     v_normal(81, m, hcsc_mirror_index(box.r0 + r + i - anc, H),
                              hcsc_mirror_index(box.c0 + q + j - anc, W));
          emax = fmax(emax, fabs(dW[((m * C + c) * k + i) * k + j] - ref));
          rmax = fmax(rmax, fabs(ref));
        }
  TEST_ASSERT(emax <= 1e-5 * rmax, "wgrad k=%d: max diff %g (max %g)", k, emax, rmax);
  hcsc_halo_destroy(&hp);
  hcsc_tile_free(&a);
  hcsc_tile_free(&b);
  free(dW);
  hcsc_grid_destroy(&grid);
}

int main(int argc, char **argv)
{
  test_init(&argc, &argv);
  test_wgrad(3);
  test_wgrad(5);
  for (int k = 3; k <= 5; k += 2) {
    test_conv(1, k);
    test_conv(0, k);
  }
  test_thresh(0);
  test_thresh(1);
  test_lincomb_bandweight();
  test_spectral_lattice();
  test_chain();
  test_distributed();
  test_recycle();
  return test_finish("t_nnlayers");
}
