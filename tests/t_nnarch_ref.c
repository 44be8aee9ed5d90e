/* t_nnarch's references (t_nnarch_ref.h): nn.h's formulas, written
 * independently of src/nn/arch.c. */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "hypercsc.h"
#include "t_nnarch_ref.h"
#include "testutil.h"

void mirror_halo(hcsc_tile *t)
{
  const int h = t->halo;
  for (int64_t ch = 0; ch < t->nchan; ch++)
    for (int64_t i = -h; i < t->box.nr + h; i++)
      for (int64_t j = -h; j < t->box.nc + h; j++)
        if (i < 0 || i >= t->box.nr || j < 0 || j >= t->box.nc)
          HCSC_TILE_AT(t, ch, i, j) =
              HCSC_TILE_AT(t, ch, hcsc_mirror_index(i, t->box.nr), hcsc_mirror_index(j, t->box.nc));
}

static float soft(float v, float th) { return v > th ? v - th : (v < -th ? v + th : 0.0f); }

/* FISTA (momentum = 1) or ISTA without restart on the whole patch: step
 * eta, threshold th, T iterations from 0, y = D z_T. */
void ref_solver(const hcsc_nn *net, const char *dname, double eta, double th, int momentum,
                       const hcsc_tile *x, hcsc_tile *y)
{
  const hcsc_nn_config *c = &net->cfg;
  const hcsc_nn_param *P = hcsc_nn_find(net, dname);
  hcsc_dict d;
  hcsc_conv *op = NULL;
  hcsc_tile z = {0}, zp = {0}, v = {0}, r = {0}, gr = {0};
  const hcsc_box box = x->box;
  const int64_t M = c->natoms[0], B = c->bands;
  TEST_ASSERT(P != NULL, "no parameter %s", dname);
  if (!P) return;
  TEST_OK(hcsc_dict_alloc(&d, (int)M, B, c->ksize[0], 1));
  memcpy(d.atoms, net->params + P->offset, sizeof(float) * (size_t)P->count);
  TEST_OK(hcsc_conv_create(&d, &box, box.nr, box.nc, HCSC_CONV_DIRECT, &op));
  const int h = hcsc_conv_halo(op);
  TEST_OK(hcsc_tile_alloc(&z, &box, M, 0));
  TEST_OK(hcsc_tile_alloc(&zp, &box, M, 0));
  TEST_OK(hcsc_tile_alloc(&v, &box, M, h));
  TEST_OK(hcsc_tile_alloc(&r, &box, B, h));
  TEST_OK(hcsc_tile_alloc(&gr, &box, M, 0));
  double tau = 1.0;
  for (int t = 0; t < c->iters; t++) {
    const double next = (1.0 + sqrt(1.0 + 4.0 * tau * tau)) / 2.0;
    const double beta = (momentum && t > 0) ? (tau - 1.0) / next : 0.0;
    if (t > 0) tau = next;
    for (int64_t m = 0; m < M; m++)
      for (int64_t i = 0; i < box.nr; i++)
        for (int64_t j = 0; j < box.nc; j++)
          HCSC_TILE_AT(&v, m, i, j) = (float)(HCSC_TILE_AT(&z, m, i, j) +
                                              beta * (HCSC_TILE_AT(&z, m, i, j) - HCSC_TILE_AT(&zp, m, i, j)));
    mirror_halo(&v);
    TEST_OK(hcsc_conv_synth(op, &v, &r));
    for (int64_t b = 0; b < B; b++)
      for (int64_t i = 0; i < box.nr; i++)
        for (int64_t j = 0; j < box.nc; j++)
          HCSC_TILE_AT(&r, b, i, j) = HCSC_TILE_AT(x, b, i, j) - HCSC_TILE_AT(&r, b, i, j);
    hcsc_tile_zero_outside(&r, box.nr, box.nc);
    TEST_OK(hcsc_conv_analysis(op, &r, &gr));
    for (int64_t m = 0; m < M; m++)
      for (int64_t i = 0; i < box.nr; i++)
        for (int64_t j = 0; j < box.nc; j++) {
          HCSC_TILE_AT(&zp, m, i, j) = HCSC_TILE_AT(&z, m, i, j);
          HCSC_TILE_AT(&z, m, i, j) =
              soft((float)(HCSC_TILE_AT(&v, m, i, j) + eta * HCSC_TILE_AT(&gr, m, i, j)), (float)th);
        }
  }
  for (int64_t m = 0; m < M; m++)
    for (int64_t i = 0; i < box.nr; i++)
      for (int64_t j = 0; j < box.nc; j++) HCSC_TILE_AT(&v, m, i, j) = HCSC_TILE_AT(&z, m, i, j);
  mirror_halo(&v);
  TEST_OK(hcsc_conv_synth(op, &v, y));
  hcsc_conv_destroy(&op);
  hcsc_tile_free(&z);
  hcsc_tile_free(&zp);
  hcsc_tile_free(&v);
  hcsc_tile_free(&r);
  hcsc_tile_free(&gr);
  hcsc_dict_free(&d);
}

/* ---- the formulas of nn.h, written directly --------------------------- */


hcsc_tile rnew(const hcsc_box *box, int64_t n)
{
  hcsc_tile t = {0};
  TEST_OK(hcsc_tile_alloc(&t, box, n, RH));
  return t;
}

float *pget(const hcsc_nn *net, const char *name)
{
  const hcsc_nn_param *P = hcsc_nn_find(net, name);
  TEST_ASSERT(P != NULL, "no parameter %s", name);
  return P ? net->params + P->offset : NULL;
}

/* out = D in (synth) or D^T in (analysis), D the parameter pname. */
static void r_conv(const hcsc_nn *net, const char *pname, int synth, hcsc_tile *in, hcsc_tile *out)
{
  const hcsc_nn_param *P = hcsc_nn_find(net, pname);
  hcsc_conv *op = NULL;
  if (!P) return;
  hcsc_dict d = {.natoms = (int)P->shape[0], .nchan = (int)P->shape[1], .ksize = (int)P->shape[2],
                 .scale = 1, .atoms = net->params + P->offset};
  TEST_OK(hcsc_conv_create(&d, &in->box, in->box.nr, in->box.nc, HCSC_CONV_DIRECT, &op));
  if (!op) return;
  if (synth) {
    mirror_halo(in);
    TEST_OK(hcsc_conv_synth(op, in, out));
  } else {
    hcsc_tile_zero_outside(in, in->box.nr, in->box.nc);
    TEST_OK(hcsc_conv_analysis(op, in, out));
  }
  hcsc_conv_destroy(&op);
}

#define FOR_T(t) \
  for (int64_t ch = 0; ch < (t)->nchan; ch++) \
    for (int64_t i = 0; i < (t)->box.nr; i++) \
      for (int64_t j = 0; j < (t)->box.nc; j++)

/* out = a X + b Y (X, Y may be NULL: zero); out may alias X or Y. */
static void r_axpby(hcsc_tile *out, double a, const hcsc_tile *X, double b, const hcsc_tile *Y)
{
  FOR_T(out) {
    const double v = (X ? a * HCSC_TILE_AT(X, ch, i, j) : 0.0) + (Y ? b * HCSC_TILE_AT(Y, ch, i, j) : 0.0);
    HCSC_TILE_AT(out, ch, i, j) = (float)v;
  }
}

static void r_bw(const hcsc_nn *net, const hcsc_nn_noise *nz, const hcsc_tile *in, hcsc_tile *out)
{
  const float *w = pget(net, "band_w");
  FOR_T(out) HCSC_TILE_AT(out, ch, i, j) = (float)(w[ch] * nz->wt[ch] * HCSC_TILE_AT(in, ch, i, j));
}

static void r_thresh(const hcsc_nn *net, const char *pname, int64_t row, int64_t stride, double s,
                     hcsc_tile *t)
{
  const float *th = pget(net, pname) + row * stride;
  FOR_T(t) {
    const float tv = (float)(s * fmax(th[ch], 0.0)), v = HCSC_TILE_AT(t, ch, i, j);
    HCSC_TILE_AT(t, ch, i, j) = net->cfg.nonneg ? (v > tv ? v - tv : 0.0f) : soft(v, tv);
  }
}

static void r_spec(const hcsc_nn *net, const char *pname, const hcsc_tile *in, hcsc_tile *out)
{
  const float *W = pget(net, pname);
  FOR_T(out) {
    double v = 0;
    for (int64_t c = 0; c < in->nchan; c++) v += (double)W[ch * in->nchan + c] * HCSC_TILE_AT(in, c, i, j);
    HCSC_TILE_AT(out, ch, i, j) = (float)v;
  }
}

static void r_lattice(hcsc_tile *t, int s)
{
  FOR_T(t) if ((t->box.r0 + i) % s || (t->box.c0 + j) % s) HCSC_TILE_AT(t, ch, i, j) = 0.0f;
}

static double fbeta(int t) /* beta_t, t >= 1 */
{
  double tau = 1.0;
  for (int i = 1; i < t; i++) tau = (1.0 + sqrt(1.0 + 4.0 * tau * tau)) / 2.0;
  return (tau - 1.0) / ((1.0 + sqrt(1.0 + 4.0 * tau * tau)) / 2.0);
}

/* y = f(x) by nn.h's formulas for every architecture. */
void ref_forward(const hcsc_nn *net, const hcsc_nn_noise *nz, const hcsc_tile *x0, hcsc_tile *y)
{
  const hcsc_nn_config *c = &net->cfg;
  const hcsc_box *bx = &x0->box;
  const double s = nz->level;
  const int T = c->iters;
  const int64_t B = c->bands;
  hcsc_tile x = rnew(bx, B), r = rnew(bx, B), w = rnew(bx, B), out = rnew(bx, B);
  r_axpby(&x, 1, x0, 0, NULL);
  char nm[16];
  if (c->arch == HCSC_NN_LISTA || c->arch == HCSC_NN_SSC) {
    const int ssc = c->arch == HCSC_NN_SSC;
    const int64_t M = c->natoms[0], C = ssc ? c->rank : B;
    hcsc_tile z = rnew(bx, M), g = rnew(bx, M), q = rnew(bx, C);
    for (int t = 0; t < T; t++) {
      if (t == 0) {
        r_axpby(&r, 1, &x, 0, NULL);
      } else {
        r_conv(net, "Bm", 1, &z, ssc ? &q : &w);
        if (ssc) r_spec(net, "Q", &q, &w);
        r_axpby(&r, 1, &x, -1, &w);
      }
      r_bw(net, nz, &r, &w);
      if (ssc) {
        r_spec(net, "P", &w, &q);
        r_conv(net, "A", 0, &q, &g);
      } else {
        r_conv(net, "A", 0, &w, &g);
      }
      r_axpby(&z, 1, &z, 1, &g);
      r_thresh(net, "theta", t, M, s, &z);
    }
    r_conv(net, "Cm", 1, &z, ssc ? &q : y);
    if (ssc) r_spec(net, "Q", &q, y);
    hcsc_tile_free(&z);
    hcsc_tile_free(&g);
    hcsc_tile_free(&q);
  } else if (c->arch == HCSC_NN_FISTA) {
    const int64_t M = c->natoms[0];
    const float *eta = pget(net, "eta");
    hcsc_tile z = rnew(bx, M), zp = rnew(bx, M), v = rnew(bx, M), g = rnew(bx, M);
    for (int t = 0; t < T; t++) { /* computes z_{t+1} from v_t */
      const double beta = t >= 1 ? fbeta(t) : 0.0;
      r_axpby(&v, 1 + beta, &z, -beta, &zp);
      r_conv(net, "D", 1, &v, &w);
      r_axpby(&r, 1, &x, -1, &w);
      r_bw(net, nz, &r, &w);
      r_conv(net, "D", 0, &w, &g);
      r_axpby(&zp, 1, &z, 0, NULL);
      r_axpby(&z, 1, &v, eta[t], &g);
      r_thresh(net, "theta", t, M, s, &z);
    }
    r_conv(net, "D", 1, &z, y);
    hcsc_tile_free(&z);
    hcsc_tile_free(&zp);
    hcsc_tile_free(&v);
    hcsc_tile_free(&g);
  } else if (c->arch == HCSC_NN_LADMM) {
    const int64_t M = c->natoms[0];
    const float *eta = pget(net, "eta"), *rho = pget(net, "rho");
    hcsc_tile z = rnew(bx, M), q = rnew(bx, M), u = rnew(bx, M), g = rnew(bx, M), e = rnew(bx, M);
    for (int t = 0; t < T; t++) {
      r_conv(net, "D", 1, &z, &w);
      r_axpby(&r, 1, &x, -1, &w);
      r_bw(net, nz, &r, &w);
      r_conv(net, "D", 0, &w, &g);
      r_axpby(&e, 1, &z, -1, &q);
      r_axpby(&e, 1, &e, 1, &u);
      r_axpby(&g, 1, &g, -rho[t], &e);
      r_axpby(&z, 1, &z, eta[t], &g);
      r_axpby(&q, 1, &z, 1, &u);
      r_thresh(net, "theta", t, M, s, &q);
      r_axpby(&u, 1, &u, 1, &z);
      r_axpby(&u, 1, &u, -1, &q);
    }
    r_conv(net, "D", 1, &q, y);
    hcsc_tile_free(&z);
    hcsc_tile_free(&q);
    hcsc_tile_free(&u);
    hcsc_tile_free(&g);
    hcsc_tile_free(&e);
  } else if (c->arch == HCSC_NN_MLISTA) {
    const int L = c->nlayers;
    const float *eta = pget(net, "eta");
    hcsc_tile h[4], u[4], gp, v, a[4];
    for (int l = 0; l < L; l++) {
      h[l + 1] = rnew(bx, c->natoms[l]);
      u[l] = rnew(bx, l == 0 ? B : c->natoms[l - 1]);
      a[l] = rnew(bx, c->natoms[l]);
    }
    gp = rnew(bx, c->natoms[L - 1]);
    v = rnew(bx, c->natoms[L - 1]);
    hcsc_tile *g = &h[L];
    for (int t = 0; t < T; t++) {
      /* v = g_t + beta_t (g_t - g_{t-1}) (momentum), g_0 = 0 */
      const double beta = (c->momentum && t >= 1) ? fbeta(t) : 0.0;
      r_axpby(&v, 1 + beta, g, -beta, &gp);
      r_axpby(&gp, 1, g, 0, NULL);
      /* u[l] = D(l+1..L) v (0-based l: D_{l+1} ... D_L v); u[L] = v */
      hcsc_tile *prev = &v;
      for (int l = L - 1; l >= 0; l--) {
        r_conv(net, (snprintf(nm, sizeof nm, "D%d", l + 1), nm), 1, prev, &u[l]);
        prev = &u[l];
      }
      for (int l = 0; l < L; l++) {
        hcsc_tile *in = l == 0 ? &x : &h[l];
        hcsc_tile *rl = l == 0 ? &r : &a[l - 1];
        hcsc_tile tmp = rnew(bx, in->nchan);
        r_axpby(&tmp, 1, in, -1, &u[l]); /* h_{l-1} - D(l..L) v */
        if (l == 0) r_bw(net, nz, &tmp, rl); else r_axpby(rl, 1, &tmp, 0, NULL);
        r_conv(net, (snprintf(nm, sizeof nm, "D%d", l + 1), nm), 0, rl, &a[l]);
        r_axpby(&h[l + 1], 1, l + 1 < L ? &u[l + 1] : &v, eta[l], &a[l]);
        r_thresh(net, (snprintf(nm, sizeof nm, "theta%d", l + 1), nm), 0, c->natoms[l], s, &h[l + 1]);
        hcsc_tile_free(&tmp);
      }
    }
    hcsc_tile *prev = g;
    for (int l = L - 1; l >= 0; l--) {
      r_conv(net, (snprintf(nm, sizeof nm, "D%d", l + 1), nm), 1, prev, l == 0 ? y : &u[l]);
      prev = &u[l];
    }
    for (int l = 0; l < L; l++) {
      hcsc_tile_free(&h[l + 1]);
      hcsc_tile_free(&u[l]);
      hcsc_tile_free(&a[l]);
    }
    hcsc_tile_free(&gp);
    hcsc_tile_free(&v);
  } else if (c->arch == HCSC_NN_MULTISCALE) {
    const int n = c->nlayers;
    const float *eta = pget(net, "eta");
    int64_t Mmax = 0;
    hcsc_tile z[3], g[3];
    for (int l = 0; l < n; l++) {
      z[l] = rnew(bx, c->natoms[l]);
      g[l] = rnew(bx, c->natoms[l]);
      if (c->natoms[l] > Mmax) Mmax = c->natoms[l];
    }
    for (int t = 0; t < T; t++) {
      r_axpby(&r, 1, &x, 0, NULL);
      for (int l = 0; l < n; l++) {
        r_conv(net, (snprintf(nm, sizeof nm, "D%d", l + 1), nm), 1, &z[l], &w);
        r_axpby(&r, 1, &r, -1, &w);
      }
      r_bw(net, nz, &r, &w);
      for (int l = 0; l < n; l++) {
        r_conv(net, (snprintf(nm, sizeof nm, "D%d", l + 1), nm), 0, &w, &g[l]);
        r_axpby(&z[l], 1, &z[l], eta[t], &g[l]);
        r_thresh(net, "theta", (int64_t)t * n + l, Mmax, s, &z[l]);
        r_lattice(&z[l], c->scales[l]);
      }
    }
    r_axpby(y, 0, NULL, 0, NULL);
    for (int l = 0; l < n; l++) {
      r_conv(net, (snprintf(nm, sizeof nm, "D%d", l + 1), nm), 1, &z[l], &w);
      r_axpby(y, 1, y, 1, &w);
    }
    for (int l = 0; l < n; l++) {
      hcsc_tile_free(&z[l]);
      hcsc_tile_free(&g[l]);
    }
  }
  hcsc_tile_free(&x);
  hcsc_tile_free(&r);
  hcsc_tile_free(&w);
  hcsc_tile_free(&out);
}

/* ||D||^2 of parameter pname by 200 power iterations on a 32 x 32 patch
 * from another start than the library's: 1 / eta must be 1.05 times it
 * (the library runs 30 iterations: a slightly lower estimate). */
double ref_opnorm2(const hcsc_nn *net, const char *pname)
{
  const hcsc_nn_param *P = hcsc_nn_find(net, pname);
  hcsc_conv *op = NULL;
  if (!P) return 0;
  const hcsc_box box = {0, P->shape[1], 0, 32, 0, 32};
  hcsc_dict d = {.natoms = (int)P->shape[0], .nchan = (int)P->shape[1], .ksize = (int)P->shape[2],
                 .scale = 1, .atoms = net->params + P->offset};
  hcsc_tile v = rnew(&box, P->shape[0]), x = rnew(&box, P->shape[1]);
  TEST_OK(hcsc_conv_create(&d, &box, 32, 32, HCSC_CONV_DIRECT, &op));
  double nrm = 0;
  FOR_T(&v) HCSC_TILE_AT(&v, ch, i, j) = (float)hcsc_rng_normal(5, 9, ch, i, j);
  for (int it = 0; it < 200 && op; it++) {
    nrm = 0;
    FOR_T(&v) nrm += (double)HCSC_TILE_AT(&v, ch, i, j) * HCSC_TILE_AT(&v, ch, i, j);
    nrm = sqrt(nrm);
    FOR_T(&v) HCSC_TILE_AT(&v, ch, i, j) /= (float)nrm;
    r_conv(net, pname, 1, &v, &x);
    r_conv(net, pname, 0, &x, &v);
  }
  nrm = 0;
  FOR_T(&v) nrm += (double)HCSC_TILE_AT(&v, ch, i, j) * HCSC_TILE_AT(&v, ch, i, j);
  hcsc_conv_destroy(&op);
  hcsc_tile_free(&v);
  hcsc_tile_free(&x);
  return sqrt(nrm);
}


void perturb_params(hcsc_nn *net)
{
  hcsc_rng g;
  hcsc_rng_init(&g, 4321, 7);
  for (int64_t i = 0; i < net->size; i++)
    net->params[i] *= (float)(1.0 + 0.3 * (2.0 * hcsc_rng_next_uniform(&g) - 1.0));
  for (int p = 0; p < net->nparams; p++)
    if (strncmp(net->table[p].name, "theta", 5) == 0)
      for (int64_t i = 0; i < net->table[p].count; i++) net->params[net->table[p].offset + i] *= 0.5f;
  hcsc_nn_touch(net);
}

int small_net(hcsc_nn_arch arch, double lowpass, hcsc_nn **out)
{
  enum { NB = 4 };
  hcsc_nn_config c;
  double U[NB * 2];
  hcsc_nn_config_default(arch, NB, &c);
  c.iters = 3;
  c.natoms[0] = 4;
  c.ksize[0] = 3;
  c.lowpass = lowpass;
  if (arch == HCSC_NN_SSC) c.rank = 2;
  int err = hcsc_nn_create(&c, out);
  if (err) return err;
  /* An orthonormal pair of spectral components (ssc). */
  for (int b = 0; b < NB; b++) {
    U[b] = 0.5;
    U[NB + b] = (b < 2 ? 0.5 : -0.5);
  }
  err = hcsc_nn_init(*out, 4242, NULL, 0, arch == HCSC_NN_SSC ? U : NULL);
  if (err) return err;
  perturb_params(*out);
  return 0;
}
