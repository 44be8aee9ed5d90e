/* Convolutional dictionary learning by consensus ADMM (hcsc/cdl.h): the
 * learner object, the outer iteration and its reductions, re-seeding and
 * the checkpoint state.  The per-signal numerics are in cdl_sig.c.
 *
 * Communication per outer iteration: one Allreduce of 5 doubles per code
 * iteration (residual balancing in lockstep), one of M C k^2 floats per
 * consensus iteration (PGRAD: M C k^2 + 1), and one of M + 7 doubles plus
 * one of 3 doubles (times, MAX) for the report.  Re-seeding, when it
 * happens, adds three small Allreduces per atom. */
#include "config.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csc/cdl_impl.h"
#include "hcsc/error.h"
#include "hcsc/timer.h"

void hcsc_cdl_opts_default(hcsc_cdl_opts *o)
{
  if (!o) return;
  memset(o, 0, sizeof *o);
  o->method = HCSC_CDL_CONSENSUS;
  o->lambda = 0.1;
  o->code_iters = 1;
  o->dict_iters = 1;
  o->auto_rho = 1;
  o->alpha = 1.8;
  o->seed = 1;
}

static int check_local(const hcsc_tile *x, int nsig, const hcsc_dict *init, const hcsc_cdl_opts *o)
{
  int err = 0;
  if (!init || !init->atoms || !o || (nsig > 0 && !x) || nsig < 0)
    HCSC_FAIL(HCSC_EINVAL, "cdl: missing dictionary, options or training signals (nsig %d)", nsig);
  if (!(o->lambda > 0) || !isfinite(o->lambda))
    HCSC_FAIL(HCSC_EINVAL, "cdl: lambda must be a finite value > 0 (got %g)", o->lambda);
  if (o->method != HCSC_CDL_CONSENSUS && o->method != HCSC_CDL_PGRAD)
    HCSC_FAIL(HCSC_EINVAL, "cdl: unknown dictionary update method %d", (int)o->method);
  if (o->code_iters < 1 || o->dict_iters < 1)
    HCSC_FAIL(HCSC_EINVAL, "cdl: code_iters %d and dict_iters %d must be >= 1", o->code_iters, o->dict_iters);
  if (!(o->rho_code >= 0) || !(o->rho_dict >= 0) || !isfinite(o->rho_code) || !isfinite(o->rho_dict))
    HCSC_FAIL(HCSC_EINVAL, "cdl: rho_code %g and rho_dict %g must be finite and >= 0", o->rho_code, o->rho_dict);
  if (!(o->alpha > 0 && o->alpha < 2)) HCSC_FAIL(HCSC_EINVAL, "cdl: relaxation alpha %g outside (0, 2)", o->alpha);
  if (!(o->tol >= 0) || o->crop < 0 || o->reseed_every < 0)
    HCSC_FAIL(HCSC_EINVAL, "cdl: tol %g, crop %d and reseed_every %d must be >= 0", o->tol, o->crop,
              o->reseed_every);
  if (init->scale != 1) HCSC_FAIL(HCSC_ENOTSUP, "cdl: dictionary scale %d (only 1)", init->scale);
  if (init->natoms < 1 || init->nchan < 1 || init->ksize < 1)
    HCSC_FAIL(HCSC_EINVAL, "cdl: empty dictionary (%d atoms, %d channels, k %d)", init->natoms, init->nchan,
              init->ksize);
  for (int i = 0; i < nsig; i++) {
    const hcsc_tile *t = &x[i];
    if (!t->data) HCSC_FAIL(HCSC_EINVAL, "cdl: training signal %d has no data", i);
    if (t->nchan != init->nchan)
      HCSC_FAIL(HCSC_EINVAL, "cdl: dictionary has %d channels, training signal %d has %lld", init->nchan, i,
                (long long)t->nchan);
    if (t->box.nr < init->ksize || t->box.nc < init->ksize)
      HCSC_FAIL(HCSC_EINVAL, "cdl: %d x %d atoms larger than training signal %d (%lld x %lld tile)",
                init->ksize, init->ksize, i, (long long)t->box.nr, (long long)t->box.nc);
    if (o->crop > 0 && (t->box.nr < o->crop || t->box.nc < o->crop || o->crop < init->ksize))
      HCSC_FAIL(HCSC_EINVAL, "cdl: crop %d does not fit training signal %d (%lld x %lld) or the %d x %d atoms",
                o->crop, i, (long long)t->box.nr, (long long)t->box.nc, init->ksize, init->ksize);
  }
cleanup:
  return err;
}

void hcsc_cdl_destroy(hcsc_cdl **sp)
{
  hcsc_cdl *s;
  if (!sp || !*sp) return;
  s = *sp;
  if (s->sig)
    for (int i = 0; i < s->nsig; i++) cdl_sig_free(&s->sig[i]);
  free(s->sig);
  hcsc_dict_free(&s->g);
  free(s->gold);
  free(s->acc);
  free(s->vfista);
  free(s->gprev);
  free(s->idle);
  free(s->wk);
  fftwf_free(s->T);
  free(s->dacc);
  free(s->rsum);
  free(s->vars);
  free(s->names);
  if (s->comm != MPI_COMM_NULL) MPI_Comm_free(&s->comm);
  free(s);
  *sp = NULL;
}

int hcsc_cdl_create(MPI_Comm comm, const hcsc_tile *x, int nsig, const hcsc_dict *init, const hcsc_cdl_opts *o,
                    hcsc_cdl **out)
{
  int err = 0;
  hcsc_cdl *s = NULL;
  if (out) *out = NULL;
  err = out ? check_local(x, nsig, init, o) : HCSC_ERR(HCSC_EINVAL, "cdl: missing output");
  if (!err && !(s = calloc(1, sizeof *s))) err = HCSC_ERR(HCSC_ENOMEM, "cdl: out of memory");
  if (s) s->comm = MPI_COMM_NULL;
  HCSC_CHECK(hcsc_error_agree(comm, err));
  /* Duplicated so that the learner's reductions never match a message of
   * the caller's on the same communicator. */
  HCSC_MPI(MPI_Comm_dup(comm, &s->comm));
  s->o = *o;
  s->M = init->natoms;
  s->C = init->nchan;
  s->k = init->ksize;
  s->a = (s->k - 1) / 2;
  s->rho_code = o->rho_code > 0 ? o->rho_code : 50 * o->lambda + 1;
  s->rho_dict = o->rho_dict > 0 ? o->rho_dict : 1.0;
  {
    long long n = nsig;
    HCSC_MPI(MPI_Allreduce(&n, &s->nsig_total, 1, MPI_LONG_LONG, MPI_SUM, s->comm));
  }
  if (s->nsig_total < 1) HCSC_FAIL(HCSC_EINVAL, "cdl: no training signal on any rank");
  {
    const size_t nd = (size_t)s->M * s->C * s->k * s->k;
    err = hcsc_dict_copy(&s->g, init);
    if (!err) {
      s->gold = calloc(nd, sizeof(float));
      s->acc = calloc(nd + 1, sizeof(float));
      s->vfista = calloc(nd, sizeof(float));
      s->gprev = calloc(nd, sizeof(float));
      s->idle = calloc((size_t)s->M, sizeof(float));
      s->dacc = calloc(nd, sizeof(double));
      s->rsum = calloc((size_t)s->M + 7, sizeof(double));
      /* Woodbury scratch (cdl_sig.c): factor, v, b, then the frequency's
       * atom spectra split and in both orders, and the split factor sums. */
      s->wk = calloc((size_t)(4 * s->C * s->C + 2 * s->C + 2 * s->M + 4 * s->M * s->C), sizeof(double));
      s->sig = calloc((size_t)(nsig > 0 ? nsig : 1), sizeof(cdl_sig));
      if (!s->gold || !s->acc || !s->vfista || !s->gprev || !s->idle || !s->wk || !s->sig || !s->dacc || !s->rsum)
        err = HCSC_ERR(HCSC_ENOMEM, "cdl: out of memory for the dictionary buffers");
    }
    if (!err) cdl_project(s->g.atoms, s->M, s->C, s->k);
    hcsc_timer_start(HCSC_PHASE_SETUP);
    for (int i = 0; i < nsig && !err; i++) {
      err = cdl_sig_setup(s, &s->sig[i], &x[i], i);
      s->nsig = i + 1;
    }
    hcsc_timer_stop(HCSC_PHASE_SETUP);
  }
  HCSC_CHECK(hcsc_error_agree(s->comm, err));
  *out = s;
  s = NULL;
cleanup:
  if (s) {
    /* Collective failure path: every rank gets here together (agreed). */
    hcsc_cdl_destroy(&s);
  }
  return err;
}

const hcsc_dict *hcsc_cdl_dictionary(const hcsc_cdl *s) { return s ? &s->g : NULL; }

int hcsc_cdl_iteration(const hcsc_cdl *s) { return s ? s->iter : 0; }

static int allreduce(hcsc_cdl *s, void *buf, int n, MPI_Datatype type, MPI_Op op, size_t elsize)
{
  int err = 0;
  const double t0 = MPI_Wtime();
  hcsc_timer_start(HCSC_PHASE_REDUCE);
  const int rc = MPI_Allreduce(MPI_IN_PLACE, buf, n, type, op, s->comm);
  hcsc_timer_stop(HCSC_PHASE_REDUCE);
  s->t_reduce += MPI_Wtime() - t0;
  s->bytes += (double)n * (double)elsize;
  if (rc != MPI_SUCCESS) err = hcsc_error_mpi(rc, __FILE__, __LINE__, "MPI_Allreduce");
  return err;
}

static double safe_ratio(double a, double b) { return a == 0 ? 0 : (b > 0 ? a / b : INFINITY); }

/* Code step: code_iters ADMM iterations on every signal, rho balanced on
 * the residuals reduced over all ranks.  res[0..1]: last normalised
 * residuals. */
static int code_step(hcsc_cdl *s, double res[2])
{
  int err = 0;
  for (int it = 0; it < s->o.code_iters; it++) {
    double sums[5] = {0, 0, 0, 0, 0};
    hcsc_timer_start(HCSC_PHASE_COMPUTE);
    for (int i = 0; i < s->nsig; i++) cdl_sig_code_iter(s, &s->sig[i], s->rho_code, sums);
    hcsc_timer_stop(HCSC_PHASE_COMPUTE);
    HCSC_CHECK(allreduce(s, sums, 5, MPI_DOUBLE, MPI_SUM, sizeof(double)));
    res[0] = safe_ratio(sqrt(sums[0]), fmax(sqrt(sums[2]), sqrt(sums[3])));
    res[1] = safe_ratio(sqrt(sums[1]), sqrt(sums[4]));
    if (s->o.auto_rho) {
      /* Residual balancing (Boyd et al. §3.4.1); U is the scaled dual, so
       * it is rescaled to keep rho U fixed. */
      double nr = s->rho_code;
      if (res[0] > 10 * res[1]) nr *= 2;
      else if (res[1] > 10 * res[0]) nr /= 2;
      if (nr != s->rho_code) {
        const float sc = (float)(s->rho_code / nr);
        for (int i = 0; i < s->nsig; i++)
          for (int64_t p = 0; p < (int64_t)s->M * s->sig[i].N; p++) s->sig[i].U[p] *= sc;
        s->rho_code = nr;
      }
    }
  }
cleanup:
  return err;
}

/* Consensus dictionary step; out: ||d - g||^2, ||d||^2, ||u||^2 summed over
 * this rank's signals (the caller reduces), and S ||g - gold||^2 scaled. */
static int dict_consensus(hcsc_cdl *s, double dsums[3], double *dg2)
{
  int err = 0;
  const int64_t nd = (int64_t)s->M * s->C * s->k * s->k;
  double *acc = s->dacc;
  for (int it = 0; it < s->o.dict_iters; it++) {
    memcpy(s->gold, s->g.atoms, sizeof(float) * (size_t)nd);
    memset(acc, 0, sizeof(double) * (size_t)nd);
    hcsc_timer_start(HCSC_PHASE_COMPUTE);
    for (int i = 0; i < s->nsig; i++) cdl_sig_dict_solve(s, &s->sig[i], s->rho_dict, acc);
    for (int64_t t = 0; t < nd; t++) s->acc[t] = (float)acc[t];
    hcsc_timer_stop(HCSC_PHASE_COMPUTE);
    HCSC_CHECK(allreduce(s, s->acc, (int)nd, MPI_FLOAT, MPI_SUM, sizeof(float)));
    hcsc_timer_start(HCSC_PHASE_COMPUTE);
    for (int64_t t = 0; t < nd; t++) s->g.atoms[t] = (float)(s->acc[t] / (double)s->nsig_total);
    cdl_project(s->g.atoms, s->M, s->C, s->k);
    dsums[0] = dsums[1] = dsums[2] = 0;
    for (int i = 0; i < s->nsig; i++) cdl_sig_dict_dual(s, &s->sig[i], dsums);
    hcsc_timer_stop(HCSC_PHASE_COMPUTE);
  }
  *dg2 = 0;
  for (int64_t t = 0; t < nd; t++) *dg2 += ((double)s->g.atoms[t] - s->gold[t]) * ((double)s->g.atoms[t] - s->gold[t]);
cleanup:
  return err;
}

/* Projected gradient with FISTA momentum (restarted each outer iteration:
 * the codes changed).  lips: this rank's sum of the signals' constants. */
static int dict_pgrad(hcsc_cdl *s, double lips, double *dg2, double *g2)
{
  int err = 0;
  const int64_t nd = (int64_t)s->M * s->C * s->k * s->k;
  double *acc = s->dacc, t = 1;
  memcpy(s->gold, s->g.atoms, sizeof(float) * (size_t)nd);
  memcpy(s->vfista, s->g.atoms, sizeof(float) * (size_t)nd);
  for (int it = 0; it < s->o.dict_iters; it++) {
    memset(acc, 0, sizeof(double) * (size_t)nd);
    hcsc_timer_start(HCSC_PHASE_COMPUTE);
    for (int i = 0; i < s->nsig; i++) cdl_sig_grad(s, &s->sig[i], s->vfista, acc);
    for (int64_t q = 0; q < nd; q++) s->acc[q] = (float)acc[q];
    s->acc[nd] = (float)lips;
    hcsc_timer_stop(HCSC_PHASE_COMPUTE);
    HCSC_CHECK(allreduce(s, s->acc, (int)nd + 1, MPI_FLOAT, MPI_SUM, sizeof(float)));
    const double L = s->acc[nd] > 0 ? s->acc[nd] : 1.0;
    memcpy(s->gprev, s->g.atoms, sizeof(float) * (size_t)nd);
    for (int64_t q = 0; q < nd; q++) s->g.atoms[q] = (float)(s->vfista[q] - s->acc[q] / L);
    cdl_project(s->g.atoms, s->M, s->C, s->k);
    const double tn = 0.5 * (1 + sqrt(1 + 4 * t * t)), mom = (t - 1) / tn;
    for (int64_t q = 0; q < nd; q++)
      s->vfista[q] = (float)(s->g.atoms[q] + mom * ((double)s->g.atoms[q] - s->gprev[q]));
    t = tn;
  }
  *dg2 = *g2 = 0;
  for (int64_t q = 0; q < nd; q++) {
    *dg2 += ((double)s->g.atoms[q] - s->gold[q]) * ((double)s->g.atoms[q] - s->gold[q]);
    *g2 += (double)s->g.atoms[q] * s->g.atoms[q];
  }
cleanup:
  return err;
}

/* Re-seed atom m from the highest-energy residual patch over all ranks:
 * max energy, then lowest global key (signal index, row, col), so the same
 * patch is chosen on every rank; its owner contributes it to a sum. */
static int reseed_atom(hcsc_cdl *s, int m)
{
  int err = 0;
  const int C = s->C, k = s->k;
  const int64_t na = (int64_t)C * k * k;
  double best = -1;
  long long key = LLONG_MAX;
  int bi = -1, br = 0, bc = 0;
  for (int i = 0; i < s->nsig; i++) {
    const cdl_sig *q = &s->sig[i];
    for (int r = 0; r < q->R; r++)
      for (int c = 0; c < q->Q; c++) {
        const double e = q->en[(int64_t)r * q->Q + c];
        const long long kk = ((long long)i << 42) | ((long long)(q->r0 + r) << 21) | (long long)(q->c0 + c);
        if (e > best || (e == best && e >= 0 && kk < key)) {
          best = e;
          key = kk;
          bi = i;
          br = r;
          bc = c;
        }
      }
  }
  double gbest = best;
  HCSC_CHECK(allreduce(s, &gbest, 1, MPI_DOUBLE, MPI_MAX, sizeof(double)));
  long long gkey = (best == gbest && best >= 0) ? key : LLONG_MAX;
  HCSC_CHECK(allreduce(s, &gkey, 1, MPI_LONG_LONG, MPI_MIN, sizeof(long long)));
  if (gbest < 0 || gkey == LLONG_MAX) goto cleanup; /* no patch anywhere */
  float *patch = s->acc;
  memset(patch, 0, sizeof(float) * (size_t)na);
  if (bi >= 0 && key == gkey && best == gbest) {
    cdl_sig *q = &s->sig[bi];
    for (int c = 0; c < C; c++)
      for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++)
          patch[((int64_t)c * k + i) * k + j] = q->sp[((int64_t)c * q->R + br + i) * q->Q + bc + j];
    /* The patch is used: patches overlapping it are not chosen again. */
    for (int r = br - k + 1; r < br + k; r++)
      for (int c = bc - k + 1; c < bc + k; c++)
        if (r >= 0 && c >= 0 && r < q->R && c < q->Q) q->en[(int64_t)r * q->Q + c] = -1;
  }
  HCSC_CHECK(allreduce(s, patch, (int)na, MPI_FLOAT, MPI_SUM, sizeof(float)));
  double n2 = 0;
  for (int c = 0; c < C; c++) {
    double mean = 0;
    for (int t = 0; t < k * k; t++) mean += patch[c * k * k + t];
    mean /= k * k;
    for (int t = 0; t < k * k; t++) {
      patch[c * k * k + t] = (float)(patch[c * k * k + t] - mean);
      n2 += (double)patch[c * k * k + t] * patch[c * k * k + t];
    }
  }
  if (n2 > 0)
    for (int64_t t = 0; t < na; t++) s->g.atoms[m * na + t] = (float)(patch[t] / sqrt(n2));
  /* The atom starts afresh: its consensus duals and (zero) codes. */
  for (int i = 0; i < s->nsig; i++) {
    cdl_sig *q = &s->sig[i];
    memset(q->du + (int64_t)m * C * q->N, 0, sizeof(float) * (size_t)(C * q->N));
    memset(q->Y + (int64_t)m * q->N, 0, sizeof(float) * (size_t)q->N);
    memset(q->U + (int64_t)m * q->N, 0, sizeof(float) * (size_t)q->N);
  }
cleanup:
  return err;
}

int hcsc_cdl_step(hcsc_cdl *s, hcsc_cdl_report *rep)
{
  int err = 0;
  const int M = s->M;
  double *sums = s ? s->rsum : NULL, cres[2] = {0, 0}, dsums[3] = {0, 0, 0}, dg2 = 0, g2 = 0, lips = 0;
  double tm[3];
  int reseeded = 0;
  if (!s) return HCSC_ERR(HCSC_EINVAL, "cdl: missing learner");
  s->bytes = 0;
  s->t_reduce = 0;
  memset(sums, 0, sizeof(double) * (size_t)(M + 7));
  const double t0 = MPI_Wtime();
  hcsc_timer_start(HCSC_PHASE_COMPUTE);
  for (int i = 0; i < s->nsig; i++) cdl_sig_begin(s, &s->sig[i]);
  hcsc_timer_stop(HCSC_PHASE_COMPUTE);
  HCSC_CHECK(code_step(s, cres));
  /* sums: e2, l1, nnz, pixels, atom nnz (M) */
  hcsc_timer_start(HCSC_PHASE_COMPUTE);
  for (int i = 0; i < s->nsig; i++) {
    lips += cdl_sig_codes_done(s, &s->sig[i], &sums[0], &sums[1], &sums[2], sums + 4);
    sums[3] += (double)M * s->sig[i].N;
  }
  hcsc_timer_stop(HCSC_PHASE_COMPUTE);
  const double t1 = MPI_Wtime(), tr1 = s->t_reduce;
  if (s->o.method == HCSC_CDL_CONSENSUS) HCSC_CHECK(dict_consensus(s, dsums, &dg2));
  else HCSC_CHECK(dict_pgrad(s, lips, &dg2, &g2));
  const double t2 = MPI_Wtime();
  /* One reduction for the report: the objective's parts, the atoms' use
   * and the consensus residuals' parts. */
  sums[M + 4] = dsums[0];
  sums[M + 5] = dsums[1];
  sums[M + 6] = dsums[2];
  HCSC_CHECK(allreduce(s, sums, M + 7, MPI_DOUBLE, MPI_SUM, sizeof(double)));
  dsums[0] = sums[M + 4];
  dsums[1] = sums[M + 5];
  dsums[2] = sums[M + 6];
  s->iter++;
  double pr, du;
  const double S = (double)s->nsig_total;
  if (s->o.method == HCSC_CDL_CONSENSUS) {
    double gn2 = 0;
    for (int64_t t = 0; t < (int64_t)M * s->C * s->k * s->k; t++) gn2 += (double)s->g.atoms[t] * s->g.atoms[t];
    pr = safe_ratio(sqrt(dsums[0]), fmax(sqrt(dsums[1]), sqrt(S * gn2)));
    du = safe_ratio(sqrt(S * dg2), sqrt(dsums[2]));
    if (s->o.auto_rho) {
      double nr = s->rho_dict;
      if (pr > 10 * du) nr *= 2;
      else if (du > 10 * pr) nr /= 2;
      if (nr != s->rho_dict) {
        const float sc = (float)(s->rho_dict / nr);
        for (int i = 0; i < s->nsig; i++)
          for (int64_t p = 0; p < (int64_t)M * s->C * s->sig[i].N; p++) s->sig[i].du[p] *= sc;
        s->rho_dict = nr;
      }
    }
  } else {
    pr = safe_ratio(sqrt(dg2), sqrt(g2));
    du = 0;
  }
  for (int m = 0; m < M; m++) s->idle[m] = sums[4 + m] > 0 ? 0.0f : s->idle[m] + 1.0f;
  if (s->o.reseed_every > 0) {
    int any = 0;
    for (int m = 0; m < M; m++) any |= s->idle[m] >= s->o.reseed_every;
    if (any) {
      hcsc_timer_start(HCSC_PHASE_COMPUTE);
      for (int i = 0; i < s->nsig; i++) cdl_sig_residual_energy(s, &s->sig[i]);
      hcsc_timer_stop(HCSC_PHASE_COMPUTE);
      for (int m = 0; m < M; m++)
        if (s->idle[m] >= s->o.reseed_every) {
          HCSC_CHECK(reseed_atom(s, m));
          s->idle[m] = 0;
          reseeded++;
        }
    }
  }
  tm[0] = t1 - t0;
  tm[1] = t2 - t1;
  tm[2] = s->t_reduce - tr1;
  {
    const double bytes = s->bytes;
    HCSC_CHECK(allreduce(s, tm, 3, MPI_DOUBLE, MPI_MAX, sizeof(double)));
    s->bytes = bytes;
  }
  if (rep) {
    memset(rep, 0, sizeof *rep);
    rep->iter = s->iter;
    rep->objective = sums[0] + s->o.lambda * sums[1];
    rep->sparsity = sums[3] > 0 ? sums[2] / sums[3] : 0;
    rep->code_primal = cres[0];
    rep->code_dual = cres[1];
    rep->rho_code = s->rho_code;
    rep->primal = pr;
    rep->dual = du;
    rep->rho_dict = s->rho_dict;
    rep->converged = s->o.tol > 0 && pr <= s->o.tol && du <= s->o.tol;
    rep->reseeded = reseeded;
    rep->t_code = tm[0];
    rep->t_dict = tm[1];
    rep->t_reduce = tm[2];
    rep->bytes_reduced = s->bytes;
  }
cleanup:
  return hcsc_error_agree(s->comm, err);
}

int hcsc_cdl_state(hcsc_cdl *s, hcsc_state_var **vars, int *nvars, double *scalars, int *nscalars)
{
  int err = 0;
  if (!s || !vars || !nvars || !scalars || !nscalars)
    HCSC_FAIL(HCSC_EINVAL, "cdl: missing learner or state outputs");
  if (*nscalars < HCSC_CDL_NSCALARS)
    HCSC_FAIL(HCSC_EINVAL, "cdl: room for %d scalars, the state has %d", *nscalars, HCSC_CDL_NSCALARS);
  if (!s->vars) {
    const int nv = 2 + 3 * s->nsig;
    enum { NAMELEN = 32 };
    HCSC_CALLOC(s->vars, nv);
    HCSC_CALLOC(s->names, (size_t)nv * NAMELEN);
    const int64_t nd = (int64_t)s->M * s->C * s->k * s->k;
    s->vars[0] = (hcsc_state_var){"g", s->g.atoms, nd, 1};
    s->vars[1] = (hcsc_state_var){"atom_idle", s->idle, s->M, 1};
    for (int i = 0; i < s->nsig; i++) {
      cdl_sig *q = &s->sig[i];
      char *n = s->names + (size_t)(3 * i) * NAMELEN;
      snprintf(n, NAMELEN, "code_y_%d", i);
      snprintf(n + NAMELEN, NAMELEN, "code_u_%d", i);
      snprintf(n + 2 * NAMELEN, NAMELEN, "dict_u_%d", i);
      s->vars[2 + 3 * i] = (hcsc_state_var){n, q->Y, (int64_t)s->M * q->N, 0};
      s->vars[3 + 3 * i] = (hcsc_state_var){n + NAMELEN, q->U, (int64_t)s->M * q->N, 0};
      s->vars[4 + 3 * i] = (hcsc_state_var){n + 2 * NAMELEN, q->du, (int64_t)s->M * s->C * q->N, 0};
    }
    s->nvars = nv;
  }
  *vars = s->vars;
  *nvars = s->nvars;
  scalars[0] = s->iter;
  scalars[1] = s->rho_code;
  scalars[2] = s->rho_dict;
  *nscalars = HCSC_CDL_NSCALARS;
cleanup:
  return err;
}

int hcsc_cdl_state_loaded(hcsc_cdl *s, const double *scalars, int nscalars)
{
  int err = 0;
  if (!s) return HCSC_ERR(HCSC_EINVAL, "cdl: missing learner");
  if (!scalars || nscalars != HCSC_CDL_NSCALARS)
    err = HCSC_ERR(HCSC_EINVAL, "cdl: restore needs %d scalars (got %d)", HCSC_CDL_NSCALARS, nscalars);
  else if (!(scalars[0] >= 0) || scalars[0] > INT32_MAX || !(scalars[1] > 0) || !(scalars[2] > 0) ||
           !isfinite(scalars[1]) || !isfinite(scalars[2]))
    err = HCSC_ERR(HCSC_EVALUE, "cdl: restored scalars out of range (iteration %g, rho_code %g, rho_dict %g)",
                   scalars[0], scalars[1], scalars[2]);
  HCSC_CHECK(hcsc_error_agree(s->comm, err));
  {
    /* The replicated values must agree: compare min and max over ranks of
     * the scalars and of a weighted checksum of g. */
    double v[4] = {scalars[0], scalars[1], scalars[2], 0}, w[4];
    for (int64_t t = 0; t < (int64_t)s->M * s->C * s->k * s->k; t++) v[3] += s->g.atoms[t] * (t % 7 + 1.0);
    for (int i = 0; i < 4; i++) w[i] = -v[i];
    HCSC_MPI(MPI_Allreduce(MPI_IN_PLACE, v, 4, MPI_DOUBLE, MPI_MAX, s->comm));
    HCSC_MPI(MPI_Allreduce(MPI_IN_PLACE, w, 4, MPI_DOUBLE, MPI_MAX, s->comm));
    for (int i = 0; i < 4; i++)
      if (v[i] != -w[i]) HCSC_FAIL(HCSC_EVALUE, "cdl: restored state differs across ranks (value %d)", i);
  }
  /* Nothing else is cached across steps: the atom spectra, crops and code
   * spectra are recomputed at the start of each step. */
  s->iter = (int)scalars[0];
  s->rho_code = scalars[1];
  s->rho_dict = scalars[2];
cleanup:
  return hcsc_error_agree(s->comm, err);
}
