/* hypercsc — the six architectures of unrolled CSC networks: names,
 * configurations and the graphs (include/hcsc/nn.h defines them; the
 * initialisation is in arch_init.c).
 *
 * Every graph follows nn.h's formulas term for term: the band weights
 * (BANDWEIGHT: band_w * wt) act on x in the first iteration and on the
 * residuals after, thresholds are THRESH rows of theta, learned scalars
 * (eta, rho) are LINCOMB terms, fixed FISTA momenta are LINCOMB constants.
 * Zero initial states are not materialised: the first iteration of each
 * solver is written in its simplified form. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "hcsc/error.h"
#include "nn_impl.h"

static const char *const arch_names[HCSC_NN_NARCH] = {"lista",      "fista", "ladmm", "mlista",
                                                      "multiscale", "ssc"};

/* The name of an architecture ("?" when out of range).  Not collective. */
const char *hcsc_nn_arch_name(hcsc_nn_arch a)
{
  return ((int)a >= 0 && a < HCSC_NN_NARCH) ? arch_names[a] : "?";
}

/* Parse an architecture name (case-insensitive) into *a.  HCSC_EINVAL
 * naming an unknown name.  Not collective. */
int hcsc_nn_arch_parse(const char *name, hcsc_nn_arch *a)
{
  int err = 0;
  if (!name || !a) HCSC_FAIL(HCSC_EINVAL, "network architecture: no name given");
  for (int i = 0; i < HCSC_NN_NARCH; i++)
    if (strcasecmp(name, arch_names[i]) == 0) {
      *a = (hcsc_nn_arch)i;
      return 0;
    }
  HCSC_FAIL(HCSC_EINVAL,
            "network architecture '%s' unknown (lista, fista, ladmm, mlista, multiscale, ssc)",
            name);
cleanup:
  return err;
}

/* The reference sizes of nn.h for architecture a on B bands; ssc's rank is
 * min(16, B).  Not collective. */
void hcsc_nn_config_default(hcsc_nn_arch a, int bands, hcsc_nn_config *cfg)
{
  memset(cfg, 0, sizeof(*cfg));
  cfg->arch = a;
  cfg->bands = bands;
  cfg->nlayers = 1;
  cfg->adapt = 1;
  for (int l = 0; l < HCSC_NN_MAX_LAYERS; l++) cfg->scales[l] = 1;
  switch (a) {
  case HCSC_NN_SSC:
    cfg->rank = bands < 16 ? bands : 16;
    cfg->natoms[0] = 64;
    cfg->ksize[0] = 5;
    cfg->iters = 8;
    break;
  case HCSC_NN_MLISTA:
    cfg->nlayers = 2;
    cfg->natoms[0] = 32;
    cfg->natoms[1] = 64;
    cfg->ksize[0] = cfg->ksize[1] = 5;
    cfg->iters = 8;
    break;
  case HCSC_NN_MULTISCALE:
    cfg->nlayers = 3;
    for (int l = 0; l < 3; l++) {
      cfg->natoms[l] = 32;
      cfg->scales[l] = 1 << l;
    }
    cfg->ksize[0] = 5;
    cfg->ksize[1] = 9;
    cfg->ksize[2] = 17;
    cfg->iters = 8;
    break;
  default: /* lista, fista, ladmm */
    cfg->natoms[0] = 64;
    cfg->ksize[0] = 7;
    cfg->iters = 12;
    break;
  }
}

/* Validate a configuration: HCSC_EINVAL with one line naming the field
 * and its value.  Not collective. */
int hcsc_nn_config_check(const hcsc_nn_config *cfg)
{
  int err = 0;
  if (!cfg) HCSC_FAIL(HCSC_EINVAL, "network config: none given");
  if ((int)cfg->arch < 0 || cfg->arch >= HCSC_NN_NARCH)
    HCSC_FAIL(HCSC_EINVAL, "network config: arch %d unknown", (int)cfg->arch);
  const char *an = arch_names[cfg->arch];
  if (cfg->bands < 1) HCSC_FAIL(HCSC_EINVAL, "network config (%s): bands %d (>= 1 expected)", an, cfg->bands);
  if (cfg->iters < 1) HCSC_FAIL(HCSC_EINVAL, "network config (%s): iters %d (>= 1 expected)", an, cfg->iters);
  if (cfg->arch == HCSC_NN_MLISTA) {
    if (cfg->nlayers < 2 || cfg->nlayers > 3)
      HCSC_FAIL(HCSC_EINVAL, "network config (mlista): nlayers %d (2 or 3 expected)", cfg->nlayers);
  } else if (cfg->arch == HCSC_NN_MULTISCALE) {
    if (cfg->nlayers < 1 || cfg->nlayers > 3)
      HCSC_FAIL(HCSC_EINVAL, "network config (multiscale): nlayers %d (1 to 3 sets expected)",
                cfg->nlayers);
  } else if (cfg->nlayers != 1) {
    HCSC_FAIL(HCSC_EINVAL, "network config (%s): nlayers %d (1 expected)", an, cfg->nlayers);
  }
  for (int l = 0; l < cfg->nlayers; l++) {
    if (cfg->natoms[l] < 1)
      HCSC_FAIL(HCSC_EINVAL, "network config (%s): natoms[%d] %d (>= 1 expected)", an, l,
                cfg->natoms[l]);
    if (cfg->ksize[l] < 1 || cfg->ksize[l] % 2 == 0)
      HCSC_FAIL(HCSC_EINVAL, "network config (%s): ksize[%d] %d (odd, >= 1 expected)", an, l,
                cfg->ksize[l]);
  }
  if (cfg->arch == HCSC_NN_MULTISCALE)
    for (int l = 0; l < cfg->nlayers; l++) {
      const int s = cfg->scales[l];
      if (s != 1 && s != 2 && s != 4)
        HCSC_FAIL(HCSC_EINVAL, "network config (multiscale): scales[%d] %d (1, 2 or 4 expected)", l, s);
      if (l > 0 && s <= cfg->scales[l - 1])
        HCSC_FAIL(HCSC_EINVAL,
                  "network config (multiscale): scales[%d] %d not above scales[%d] %d (strictly "
                  "increasing expected)", l, s, l - 1, cfg->scales[l - 1]);
    }
  if (cfg->arch == HCSC_NN_SSC && (cfg->rank < 1 || cfg->rank > cfg->bands))
    HCSC_FAIL(HCSC_EINVAL, "network config (ssc): rank %d (1 to bands = %d expected)", cfg->rank,
              cfg->bands);
  if (cfg->adapt != 0 && cfg->adapt != 1)
    HCSC_FAIL(HCSC_EINVAL, "network config (%s): adapt %d (0 or 1 expected)", an, cfg->adapt);
  if (!(cfg->lowpass >= 0) || !isfinite(cfg->lowpass) || cfg->lowpass > 1000)
    HCSC_FAIL(HCSC_EINVAL, "network config (%s): lowpass %g (pixels, 0 to 1000 expected)", an, cfg->lowpass);
  if (cfg->nonneg != 0 && cfg->nonneg != 1)
    HCSC_FAIL(HCSC_EINVAL, "network config (%s): nonneg %d (0 or 1 expected)", an, cfg->nonneg);
  if (cfg->momentum != 0 && cfg->momentum != 1)
    HCSC_FAIL(HCSC_EINVAL, "network config (%s): momentum %d (0 or 1 expected)", an, cfg->momentum);
  if (cfg->momentum && cfg->arch != HCSC_NN_MLISTA)
    HCSC_FAIL(HCSC_EINVAL, "network config (%s): momentum 1 (only mlista has momentum)", an);
cleanup:
  return err;
}

/* ---- graph helpers -------------------------------------------------- */

/* A builder call that returns an id or a negative code. */
#define NN_TRY(var, expr)   \
  do {                      \
    (var) = (expr);         \
    if ((var) < 0) {        \
      err = (var);          \
      goto cleanup;         \
    }                       \
  } while (0)

static nn_term term(int tensor, float c, int param, int64_t poff)
{
  nn_term t;
  t.tensor = tensor;
  t.c = c;
  t.param = param;
  t.poff = poff;
  return t;
}

static int param4(hcsc_nn *net, const char *name, int ndim, int64_t a, int64_t b, int64_t c,
                  int64_t d)
{
  const int64_t shape[4] = {a, b, c, d};
  return nn_param_add(net, name, ndim, shape);
}

/* out = a - b */
static int diff(hcsc_nn *net, int a, int b)
{
  const nn_term t[2] = {term(a, 1.0f, -1, 0), term(b, -1.0f, -1, 0)};
  return nn_lincomb(net, 2, t);
}

/* out = a + eta[k] g (the gradient step of every solver here). */
static int step(hcsc_nn *net, int a, int g, int eta, int64_t k)
{
  const nn_term t[2] = {term(a, 1.0f, -1, 0), term(g, 1.0f, eta, k)};
  return nn_lincomb(net, 2, t);
}

/* out = eta[k] g */
static int scaled(hcsc_nn *net, int g, int eta, int64_t k)
{
  const nn_term t[1] = {term(g, 1.0f, eta, k)};
  return nn_lincomb(net, 1, t);
}

/* The fixed FISTA sequence: beta_t = (tau_t - 1) / tau_{t+1}, tau_1 = 1. */
static double fista_beta(int t)
{
  double tau = 1.0, next = 1.0;
  for (int i = 1; i <= t; i++) {
    next = (1.0 + sqrt(1.0 + 4.0 * tau * tau)) / 2.0;
    if (i < t) tau = next;
  }
  return (tau - 1.0) / next;
}

/* v = z + beta_t (z - zprev); v = z when beta_t = 0 or there is no zprev
 * (the zero initial state). */
static int extrapolate(hcsc_nn *net, int z, int zprev, int t)
{
  const float beta = (float)fista_beta(t);
  if (zprev < 0 || beta == 0.0f) return z;
  const nn_term tm[2] = {term(z, 1.0f + beta, -1, 0), term(zprev, -beta, -1, 0)};
  return nn_lincomb(net, 2, tm);
}

/* ---- the architectures ---------------------------------------------- */

static int build_lista(hcsc_nn *net)
{
  int err = 0, A, Bm, Cm, th, bw, w, a, z, r, s;
  const hcsc_nn_config *c = &net->cfg;
  const int64_t M = c->natoms[0], B = c->bands, k = c->ksize[0];
  NN_TRY(A, param4(net, "A", 4, M, B, k, k));
  NN_TRY(Bm, param4(net, "Bm", 4, M, B, k, k));
  NN_TRY(Cm, param4(net, "Cm", 4, M, B, k, k));
  NN_TRY(th, param4(net, "theta", 2, c->iters, M, 0, 0));
  NN_TRY(bw, param4(net, "band_w", 1, B, 0, 0, 0));
  NN_TRY(w, nn_bandweight(net, bw, 0));
  NN_TRY(a, nn_analysis(net, A, w));
  NN_TRY(z, nn_thresh(net, th, 0, M, a));
  for (int t = 1; t < c->iters; t++) {
    NN_TRY(s, nn_synth(net, Bm, z));
    NN_TRY(r, diff(net, 0, s));
    NN_TRY(w, nn_bandweight(net, bw, r));
    NN_TRY(a, nn_analysis(net, A, w));
    NN_TRY(s, step(net, z, a, -1, 0));
    NN_TRY(z, nn_thresh(net, th, t, M, s));
  }
  NN_TRY(s, nn_synth(net, Cm, z));
  nn_graph_output(net, s);
cleanup:
  return err;
}

static int build_fista(hcsc_nn *net)
{
  int err = 0, D, eta, th, bw, w, a, z, zprev = -1, v, r, s;
  const hcsc_nn_config *c = &net->cfg;
  const int64_t M = c->natoms[0], B = c->bands, k = c->ksize[0];
  NN_TRY(D, param4(net, "D", 4, M, B, k, k));
  NN_TRY(eta, param4(net, "eta", 1, c->iters, 0, 0, 0));
  NN_TRY(th, param4(net, "theta", 2, c->iters, M, 0, 0));
  NN_TRY(bw, param4(net, "band_w", 1, B, 0, 0, 0));
  NN_TRY(w, nn_bandweight(net, bw, 0));
  NN_TRY(a, nn_analysis(net, D, w));
  NN_TRY(s, scaled(net, a, eta, 0));
  NN_TRY(z, nn_thresh(net, th, 0, M, s));
  for (int t = 1; t < c->iters; t++) {
    NN_TRY(v, extrapolate(net, z, zprev, t));
    NN_TRY(s, nn_synth(net, D, v));
    NN_TRY(r, diff(net, 0, s));
    NN_TRY(w, nn_bandweight(net, bw, r));
    NN_TRY(a, nn_analysis(net, D, w));
    NN_TRY(s, step(net, v, a, eta, t));
    zprev = z;
    NN_TRY(z, nn_thresh(net, th, t, M, s));
  }
  NN_TRY(s, nn_synth(net, D, z));
  nn_graph_output(net, s);
cleanup:
  return err;
}

static int build_ladmm(hcsc_nn *net)
{
  int err = 0, D, eta, rho, th, bw, w, a, z, q, u = -1, r, s, e;
  const hcsc_nn_config *c = &net->cfg;
  const int64_t M = c->natoms[0], B = c->bands, k = c->ksize[0];
  NN_TRY(D, param4(net, "D", 4, M, B, k, k));
  NN_TRY(eta, param4(net, "eta", 1, c->iters, 0, 0, 0));
  NN_TRY(rho, param4(net, "rho", 1, c->iters, 0, 0, 0));
  NN_TRY(th, param4(net, "theta", 2, c->iters, M, 0, 0));
  NN_TRY(bw, param4(net, "band_w", 1, B, 0, 0, 0));
  /* t = 1 from z_0 = q_0 = u_0 = 0: z_1 = eta_1 D^T Om x, q_1 = S_1(z_1). */
  NN_TRY(w, nn_bandweight(net, bw, 0));
  NN_TRY(a, nn_analysis(net, D, w));
  NN_TRY(z, scaled(net, a, eta, 0));
  NN_TRY(q, nn_thresh(net, th, 0, M, z));
  for (int t = 1; t < c->iters; t++) {
    /* u_{t-1} = u_{t-2} + z_{t-1} - q_{t-1} (u_0 = 0), made only when read. */
    if (u < 0) {
      NN_TRY(u, diff(net, z, q));
    } else {
      const nn_term tu[3] = {term(u, 1.0f, -1, 0), term(z, 1.0f, -1, 0), term(q, -1.0f, -1, 0)};
      NN_TRY(u, nn_lincomb(net, 3, tu));
    }
    NN_TRY(s, nn_synth(net, D, z));
    NN_TRY(r, diff(net, 0, s));
    NN_TRY(w, nn_bandweight(net, bw, r));
    NN_TRY(a, nn_analysis(net, D, w));
    /* e = z - q + u; z_t = z + eta_t (a - rho_t e): two learned scalars in
     * one product, so two LINCOMBs. */
    const nn_term te[3] = {term(z, 1.0f, -1, 0), term(q, -1.0f, -1, 0), term(u, 1.0f, -1, 0)};
    NN_TRY(e, nn_lincomb(net, 3, te));
    const nn_term tg[2] = {term(a, 1.0f, -1, 0), term(e, -1.0f, rho, t)};
    NN_TRY(s, nn_lincomb(net, 2, tg));
    NN_TRY(z, step(net, z, s, eta, t));
    const nn_term tq[2] = {term(z, 1.0f, -1, 0), term(u, 1.0f, -1, 0)};
    NN_TRY(s, nn_lincomb(net, 2, tq));
    NN_TRY(q, nn_thresh(net, th, t, M, s));
  }
  NN_TRY(s, nn_synth(net, D, q));
  nn_graph_output(net, s);
cleanup:
  return err;
}

/* ML-ISTA / ML-FISTA (Sulam et al. 2019), weights shared across
 * iterations.  With g the deepest code and u_l = D(l..L) g (u_{L+1} = g):
 *   h_1 = S^1(u_2 + eta_1 D1^T Om (x - u_1))
 *   h_l = S^l(u_{l+1} + eta_l Dl^T (h_{l-1} - u_l))
 * and from g_0 = 0 the first iteration is the layered thresholding
 * h_1 = S^1(eta_1 D1^T Om x), h_l = S^l(eta_l Dl^T h_{l-1}). */
static int build_mlista(hcsc_nn *net)
{
  int err = 0, D[HCSC_NN_MAX_LAYERS], th[HCSC_NN_MAX_LAYERS], eta, bw, a, h, s, r;
  int u[HCSC_NN_MAX_LAYERS + 1], g = -1, gprev = -1, v;
  const hcsc_nn_config *c = &net->cfg;
  const int L = c->nlayers;
  char name[32];
  for (int l = 0; l < L; l++) {
    const int64_t C = l == 0 ? c->bands : c->natoms[l - 1];
    snprintf(name, sizeof name, "D%d", l + 1);
    NN_TRY(D[l], param4(net, name, 4, c->natoms[l], C, c->ksize[l], c->ksize[l]));
  }
  for (int l = 0; l < L; l++) {
    snprintf(name, sizeof name, "theta%d", l + 1);
    NN_TRY(th[l], param4(net, name, 1, c->natoms[l], 0, 0, 0));
  }
  NN_TRY(eta, param4(net, "eta", 1, L, 0, 0, 0));
  NN_TRY(bw, param4(net, "band_w", 1, c->bands, 0, 0, 0));
  for (int t = 0; t < c->iters; t++) {
    if (t == 0) {
      NN_TRY(h, nn_bandweight(net, bw, 0));
      for (int l = 0; l < L; l++) {
        NN_TRY(a, nn_analysis(net, D[l], h));
        NN_TRY(s, scaled(net, a, eta, l));
        NN_TRY(h, nn_thresh(net, th[l], 0, c->natoms[l], s));
      }
    } else {
      NN_TRY(v, c->momentum ? extrapolate(net, g, gprev, t) : g);
      u[L] = v;
      for (int l = L - 1; l >= 0; l--) NN_TRY(u[l], nn_synth(net, D[l], u[l + 1]));
      h = 0; /* h_0 = x */
      for (int l = 0; l < L; l++) {
        NN_TRY(r, diff(net, h, u[l]));
        if (l == 0) NN_TRY(r, nn_bandweight(net, bw, r));
        NN_TRY(a, nn_analysis(net, D[l], r));
        NN_TRY(s, step(net, u[l + 1], a, eta, l));
        NN_TRY(h, nn_thresh(net, th[l], 0, c->natoms[l], s));
      }
    }
    gprev = g;
    g = h;
  }
  for (int l = L - 1; l >= 0; l--) NN_TRY(g, nn_synth(net, D[l], g));
  nn_graph_output(net, g);
cleanup:
  return err;
}

static int build_multiscale(hcsc_nn *net)
{
  int err = 0, D[HCSC_NN_MAX_LAYERS], z[HCSC_NN_MAX_LAYERS], eta, th, bw, w, a, s, r;
  const hcsc_nn_config *c = &net->cfg;
  const int n = c->nlayers;
  int64_t Mmax = 0;
  char name[32];
  for (int l = 0; l < n; l++) {
    snprintf(name, sizeof name, "D%d", l + 1);
    NN_TRY(D[l], param4(net, name, 4, c->natoms[l], c->bands, c->ksize[l], c->ksize[l]));
    if (c->natoms[l] > Mmax) Mmax = c->natoms[l];
  }
  NN_TRY(eta, param4(net, "eta", 1, c->iters, 0, 0, 0));
  NN_TRY(th, param4(net, "theta", 3, c->iters, n, Mmax, 0));
  NN_TRY(bw, param4(net, "band_w", 1, c->bands, 0, 0, 0));
  NN_TRY(w, nn_bandweight(net, bw, 0));
  for (int t = 0; t < c->iters; t++) {
    if (t > 0) {
      nn_term tr[NN_MAX_TERMS];
      tr[0] = term(0, 1.0f, -1, 0);
      for (int l = 0; l < n; l++) {
        NN_TRY(s, nn_synth(net, D[l], z[l]));
        tr[l + 1] = term(s, -1.0f, -1, 0);
      }
      NN_TRY(r, nn_lincomb(net, n + 1, tr));
      NN_TRY(w, nn_bandweight(net, bw, r));
    }
    for (int l = 0; l < n; l++) {
      NN_TRY(a, nn_analysis(net, D[l], w));
      NN_TRY(s, t == 0 ? scaled(net, a, eta, 0) : step(net, z[l], a, eta, t));
      NN_TRY(s, nn_thresh(net, th, (int64_t)t * n + l, Mmax, s));
      if (c->scales[l] > 1) NN_TRY(s, nn_lattice(net, c->scales[l], s));
      z[l] = s;
    }
  }
  if (n == 1) {
    NN_TRY(s, nn_synth(net, D[0], z[0]));
  } else {
    nn_term ty[NN_MAX_TERMS];
    for (int l = 0; l < n; l++) {
      NN_TRY(s, nn_synth(net, D[l], z[l]));
      ty[l] = term(s, 1.0f, -1, 0);
    }
    NN_TRY(s, nn_lincomb(net, n, ty));
  }
  nn_graph_output(net, s);
cleanup:
  return err;
}

static int build_ssc(hcsc_nn *net)
{
  int err = 0, P, Q, A, Bm, Cm, th, bw, w, a, z, r, s;
  const hcsc_nn_config *c = &net->cfg;
  const int64_t M = c->natoms[0], B = c->bands, R = c->rank, k = c->ksize[0];
  NN_TRY(P, param4(net, "P", 2, R, B, 0, 0));
  NN_TRY(Q, param4(net, "Q", 2, B, R, 0, 0));
  NN_TRY(A, param4(net, "A", 4, M, R, k, k));
  NN_TRY(Bm, param4(net, "Bm", 4, M, R, k, k));
  NN_TRY(Cm, param4(net, "Cm", 4, M, R, k, k));
  NN_TRY(th, param4(net, "theta", 2, c->iters, M, 0, 0));
  NN_TRY(bw, param4(net, "band_w", 1, B, 0, 0, 0));
  NN_TRY(w, nn_bandweight(net, bw, 0));
  NN_TRY(s, nn_spectral(net, P, w));
  NN_TRY(a, nn_analysis(net, A, s));
  NN_TRY(z, nn_thresh(net, th, 0, M, a));
  for (int t = 1; t < c->iters; t++) {
    NN_TRY(s, nn_synth(net, Bm, z));
    NN_TRY(s, nn_spectral(net, Q, s));
    NN_TRY(r, diff(net, 0, s));
    NN_TRY(w, nn_bandweight(net, bw, r));
    NN_TRY(s, nn_spectral(net, P, w));
    NN_TRY(a, nn_analysis(net, A, s));
    NN_TRY(s, step(net, z, a, -1, 0));
    NN_TRY(z, nn_thresh(net, th, t, M, s));
  }
  NN_TRY(s, nn_synth(net, Cm, z));
  NN_TRY(s, nn_spectral(net, Q, s));
  nn_graph_output(net, s);
cleanup:
  return err;
}

int nn_arch_build(hcsc_nn *net)
{
  int err = 0;
  if (!net) HCSC_FAIL(HCSC_EINVAL, "network: none to build");
  HCSC_CHECK(hcsc_nn_config_check(&net->cfg));
  if (!net->graph) HCSC_CHECK(nn_graph_new(&net->graph, net->cfg.bands));
  switch (net->cfg.arch) {
  case HCSC_NN_LISTA: err = build_lista(net); break;
  case HCSC_NN_FISTA: err = build_fista(net); break;
  case HCSC_NN_LADMM: err = build_ladmm(net); break;
  case HCSC_NN_MLISTA: err = build_mlista(net); break;
  case HCSC_NN_MULTISCALE: err = build_multiscale(net); break;
  case HCSC_NN_SSC: err = build_ssc(net); break;
  default: HCSC_FAIL(HCSC_EINVAL, "network: arch %d unknown", (int)net->cfg.arch);
  }
cleanup:
  return err;
}
