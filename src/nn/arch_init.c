/* hypercsc — initial parameters of the unrolled architectures (nn.h,
 * hcsc_nn_init): dictionaries from files or random atoms, Lipschitz
 * constants by power iteration, steps and thresholds so that every
 * network starts as its solver. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hcsc/error.h"
#include "hcsc/rng.h"
#include "hcsc/timer.h"
#include "nn_impl.h"

#define NN_POWER_ITERS 30
#define NN_POWER_PATCH 32
#define NN_L_SAFETY 1.05
#define NN_POWER_STREAM 0x6e6e4c50u /* "nnLP" */
#define NN_LAMBDA0 1.0

static float *pdata(hcsc_nn *net, const char *name, int64_t *count)
{
  for (int i = 0; i < net->nparams; i++)
    if (strcmp(net->table[i].name, name) == 0) {
      if (count) *count = net->table[i].count;
      return net->params + net->table[i].offset;
    }
  return NULL;
}

static void fill(float *p, int64_t n, double v)
{
  for (int64_t i = 0; i < n; i++) p[i] = (float)v;
}

/* Fill the halo of a whole-scene tile by the scene-edge rule. */
static void mirror_halo(hcsc_tile *t)
{
  const int h = t->halo;
  const int64_t nr = t->box.nr, nc = t->box.nc;
  for (int64_t ch = 0; ch < t->nchan; ch++)
    for (int64_t i = -h; i < nr + h; i++)
      for (int64_t j = -h; j < nc + h; j++)
        if (i < 0 || i >= nr || j < 0 || j >= nc)
          HCSC_TILE_AT(t, ch, i, j) = HCSC_TILE_AT(t, ch, hcsc_mirror_index(i, nr), hcsc_mirror_index(j, nc));
}

static double norm2_interior(const hcsc_tile *t)
{
  double s = 0.0;
  for (int64_t ch = 0; ch < t->nchan; ch++)
    for (int64_t i = 0; i < t->box.nr; i++)
      for (int64_t j = 0; j < t->box.nc; j++) {
        const double v = HCSC_TILE_AT(t, ch, i, j);
        s += v * v;
      }
  return s;
}

/* L = 1.05 ||A||^2 with A z = sum_s D_s Lam_s z_s (one set: A = D), by
 * power iteration on A^T A over a 32 x 32 patch (a whole scene on this
 * process, no communication), from a fixed start keyed on seed.  Codes of
 * a set at scale s live on the lattice of rows and columns divisible by s
 * (mspursuit.c's convention). */
static int power_lipschitz(const hcsc_dict *sets, int n, uint64_t seed, double *L)
{
  int err = 0;
  hcsc_conv *op[HCSC_NN_MAX_LAYERS] = {NULL};
  hcsc_dict view[HCSC_NN_MAX_LAYERS];
  hcsc_tile v[HCSC_NN_MAX_LAYERS], x = {0}, tmp = {0};
  const int64_t P = NN_POWER_PATCH;
  const hcsc_box box = {0, sets[0].nchan, 0, P, 0, P};
  int hw = 0;
  hcsc_rng rng;
  memset(v, 0, sizeof v);
  hcsc_timer_start(HCSC_PHASE_COMPUTE);
  for (int s = 0; s < n; s++) {
    view[s] = sets[s];
    view[s].scale = 1; /* full-resolution convolution on lattice codes */
    HCSC_CHECK(hcsc_conv_create(&view[s], &box, P, P, HCSC_CONV_DIRECT, &op[s]));
    if (hcsc_conv_halo(op[s]) > hw) hw = hcsc_conv_halo(op[s]);
  }
  for (int s = 0; s < n; s++) HCSC_CHECK(hcsc_tile_alloc(&v[s], &box, sets[s].natoms, hw));
  HCSC_CHECK(hcsc_tile_alloc(&x, &box, sets[0].nchan, hw));
  HCSC_CHECK(hcsc_tile_alloc(&tmp, &box, sets[0].nchan, 0));
  hcsc_rng_init(&rng, seed, NN_POWER_STREAM);
  double nrm = 0.0;
  for (int s = 0; s < n; s++) {
    const int sc = sets[s].scale > 0 ? sets[s].scale : 1;
    for (int64_t m = 0; m < v[s].nchan; m++)
      for (int64_t i = 0; i < P; i++)
        for (int64_t j = 0; j < P; j++)
          HCSC_TILE_AT(&v[s], m, i, j) =
              (i % sc == 0 && j % sc == 0) ? (float)hcsc_rng_next_normal(&rng) : 0.0f;
    nrm += norm2_interior(&v[s]);
  }
  nrm = sqrt(nrm);
  for (int it = 0; it < NN_POWER_ITERS && nrm > 0; it++) {
    for (int s = 0; s < n; s++) {
      for (int64_t m = 0; m < v[s].nchan; m++)
        for (int64_t i = 0; i < P; i++)
          for (int64_t j = 0; j < P; j++) HCSC_TILE_AT(&v[s], m, i, j) /= (float)nrm;
      mirror_halo(&v[s]);
      HCSC_CHECK(hcsc_conv_synth(op[s], &v[s], s == 0 ? &x : &tmp));
      if (s > 0)
        for (int64_t c = 0; c < x.nchan; c++)
          for (int64_t i = 0; i < P; i++)
            for (int64_t j = 0; j < P; j++) HCSC_TILE_AT(&x, c, i, j) += HCSC_TILE_AT(&tmp, c, i, j);
    }
    /* The patch is the whole scene: its halo is all outside. */
    hcsc_tile_zero_outside(&x, P, P);
    nrm = 0.0;
    for (int s = 0; s < n; s++) {
      const int sc = sets[s].scale > 0 ? sets[s].scale : 1;
      HCSC_CHECK(hcsc_conv_analysis(op[s], &x, &v[s]));
      for (int64_t m = 0; m < v[s].nchan; m++)
        for (int64_t i = 0; i < P; i++)
          for (int64_t j = 0; j < P; j++)
            if (i % sc || j % sc) HCSC_TILE_AT(&v[s], m, i, j) = 0.0f;
      nrm += norm2_interior(&v[s]);
    }
    nrm = sqrt(nrm);
  }
  *L = NN_L_SAFETY * nrm;
  if (!(*L > 0) || !isfinite(*L))
    HCSC_FAIL(HCSC_EVALUE, "network init: operator norm estimate %g (all-zero atoms?)", *L);
cleanup:
  hcsc_timer_stop(HCSC_PHASE_COMPUTE);
  for (int s = 0; s < n && s < HCSC_NN_MAX_LAYERS; s++) {
    hcsc_conv_destroy(&op[s]);
    hcsc_tile_free(&v[s]);
  }
  hcsc_tile_free(&x);
  hcsc_tile_free(&tmp);
  return err;
}

/* The dictionaries the config asks for: copies of layers (checked) or
 * random atoms.  d[0..n) allocated here. */
static int make_dicts(const hcsc_nn_config *c, uint64_t seed, const hcsc_dict *layers, int nlayers,
                      hcsc_dict *d, int n)
{
  int err = 0;
  const char *an = hcsc_nn_arch_name(c->arch);
  if (layers && nlayers != n)
    HCSC_FAIL(HCSC_EINVAL, "network init (%s): %d dictionary layers given, %d expected", an, nlayers, n);
  for (int l = 0; l < n; l++) {
    int C = c->bands;
    if (c->arch == HCSC_NN_SSC) C = c->rank;
    if (c->arch == HCSC_NN_MLISTA && l > 0) C = c->natoms[l - 1];
    const int sc = c->arch == HCSC_NN_MULTISCALE ? c->scales[l] : 1;
    if (layers) {
      const hcsc_dict *g = &layers[l];
      if (!g->atoms)
        HCSC_FAIL(HCSC_EINVAL, "network init (%s): dictionary layer %d has no atoms", an, l);
      if (g->natoms != c->natoms[l])
        HCSC_FAIL(HCSC_EINVAL, "network init (%s): dictionary layer %d has %d atoms, config %d", an,
                  l, g->natoms, c->natoms[l]);
      if (g->nchan != C)
        HCSC_FAIL(HCSC_EINVAL, "network init (%s): dictionary layer %d has %d channels, %d expected%s",
                  an, l, g->nchan, C, c->arch == HCSC_NN_SSC ? " (the rank r)" : "");
      if (g->ksize != c->ksize[l])
        HCSC_FAIL(HCSC_EINVAL, "network init (%s): dictionary layer %d has ksize %d, config %d", an,
                  l, g->ksize, c->ksize[l]);
      if (c->arch == HCSC_NN_MULTISCALE && g->scale != sc)
        HCSC_FAIL(HCSC_EINVAL, "network init (multiscale): dictionary layer %d has scale %d, config %d",
                  l, g->scale, sc);
      HCSC_CHECK(hcsc_dict_copy(&d[l], g));
    } else {
      HCSC_CHECK(hcsc_dict_alloc(&d[l], c->natoms[l], C, c->ksize[l], sc));
      HCSC_CHECK(hcsc_dict_init_random(&d[l], seed + 0x9e3779b97f4a7c15ULL * (uint64_t)(l + 1)));
    }
    d[l].scale = sc;
  }
cleanup:
  return err;
}

static int put_dict(hcsc_nn *net, const char *name, const hcsc_dict *d, double scale)
{
  int err = 0;
  int64_t n = 0;
  float *p = pdata(net, name, &n);
  const int64_t want = (int64_t)d->natoms * d->nchan * d->ksize * d->ksize;
  if (!p || n != want)
    HCSC_FAIL(HCSC_EINVAL, "network init: parameter %s missing or of %lld values (%lld expected)",
              name, (long long)n, (long long)want);
  for (int64_t i = 0; i < n; i++) p[i] = (float)(scale * d->atoms[i]);
cleanup:
  return err;
}

static int put_const(hcsc_nn *net, const char *name, double v)
{
  int err = 0;
  int64_t n = 0;
  float *p = pdata(net, name, &n);
  if (!p) HCSC_FAIL(HCSC_EINVAL, "network init: parameter %s missing", name);
  fill(p, n, v);
cleanup:
  return err;
}

int nn_arch_init(hcsc_nn *net, uint64_t seed, const hcsc_dict *layers, int nlayers,
                 const double *basis)
{
  int err = 0;
  hcsc_dict d[HCSC_NN_MAX_LAYERS];
  memset(d, 0, sizeof d);
  if (!net || !net->params) HCSC_FAIL(HCSC_EINVAL, "network init: no network or parameters");
  HCSC_CHECK(hcsc_nn_config_check(&net->cfg));
  const hcsc_nn_config *c = &net->cfg;
  const int n = c->nlayers;
  if (c->arch == HCSC_NN_SSC && !basis)
    HCSC_FAIL(HCSC_EINVAL, "network init (ssc): a spectral basis (PCA, B x r) is required");
  HCSC_CHECK(make_dicts(c, seed, layers, nlayers, d, n));
  double L = 0.0;
  char name[32];
  switch (c->arch) {
  case HCSC_NN_LISTA:
  case HCSC_NN_SSC:
    /* For ssc L is that of Q D, which equals L of D with Q orthonormal. */
    HCSC_CHECK(power_lipschitz(d, 1, seed, &L));
    HCSC_CHECK(put_dict(net, "A", &d[0], 1.0 / L));
    HCSC_CHECK(put_dict(net, "Bm", &d[0], 1.0));
    HCSC_CHECK(put_dict(net, "Cm", &d[0], 1.0));
    HCSC_CHECK(put_const(net, "theta", NN_LAMBDA0 / L));
    if (c->arch == HCSC_NN_SSC) {
      int64_t np = 0, nq = 0;
      float *P = pdata(net, "P", &np), *Q = pdata(net, "Q", &nq);
      const int64_t B = c->bands, R = c->rank;
      if (!P || !Q || np != R * B || nq != B * R)
        HCSC_FAIL(HCSC_EINVAL, "network init (ssc): parameters P, Q missing or misshapen");
      for (int64_t j = 0; j < R; j++)
        for (int64_t b = 0; b < B; b++) {
          P[j * B + b] = (float)basis[j * B + b];
          Q[b * R + j] = (float)basis[j * B + b];
        }
    }
    break;
  case HCSC_NN_FISTA:
    HCSC_CHECK(power_lipschitz(d, 1, seed, &L));
    HCSC_CHECK(put_dict(net, "D", &d[0], 1.0));
    HCSC_CHECK(put_const(net, "eta", 1.0 / L));
    HCSC_CHECK(put_const(net, "theta", NN_LAMBDA0 / L));
    break;
  case HCSC_NN_LADMM: {
    const double rho = 1.0;
    HCSC_CHECK(power_lipschitz(d, 1, seed, &L));
    HCSC_CHECK(put_dict(net, "D", &d[0], 1.0));
    HCSC_CHECK(put_const(net, "eta", 1.0 / (L + rho)));
    HCSC_CHECK(put_const(net, "rho", rho));
    HCSC_CHECK(put_const(net, "theta", NN_LAMBDA0 / rho));
    break;
  }
  case HCSC_NN_MLISTA: {
    int64_t ne = 0;
    float *eta = pdata(net, "eta", &ne);
    if (!eta || ne != n) HCSC_FAIL(HCSC_EINVAL, "network init (mlista): parameter eta missing");
    /* Layer l's pursuit works on layer l-1's code, whose noise is the
     * input's scaled by 1 / (L_1 ... L_{l-1}): thresholds follow it. */
    double lambda = NN_LAMBDA0;
    for (int l = 0; l < n; l++) {
      HCSC_CHECK(power_lipschitz(&d[l], 1, seed + (uint64_t)l, &L));
      snprintf(name, sizeof name, "D%d", l + 1);
      HCSC_CHECK(put_dict(net, name, &d[l], 1.0));
      snprintf(name, sizeof name, "theta%d", l + 1);
      HCSC_CHECK(put_const(net, name, lambda / L));
      eta[l] = (float)(1.0 / L);
      lambda /= L;
    }
    break;
  }
  case HCSC_NN_MULTISCALE:
    HCSC_CHECK(power_lipschitz(d, n, seed, &L));
    for (int l = 0; l < n; l++) {
      snprintf(name, sizeof name, "D%d", l + 1);
      HCSC_CHECK(put_dict(net, name, &d[l], 1.0));
    }
    HCSC_CHECK(put_const(net, "eta", 1.0 / L));
    HCSC_CHECK(put_const(net, "theta", NN_LAMBDA0 / L));
    break;
  default:
    HCSC_FAIL(HCSC_EINVAL, "network init: arch %d unknown", (int)c->arch);
  }
  HCSC_CHECK(put_const(net, "band_w", 1.0));
cleanup:
  for (int l = 0; l < HCSC_NN_MAX_LAYERS; l++) hcsc_dict_free(&d[l]);
  return err;
}
