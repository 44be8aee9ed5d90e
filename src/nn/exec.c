/* hypercsc — unrolled networks: the executor of a graph on one tile shape
 * (create, buffers, forward, figures; the backward is in exec_backward.c,
 * the noise estimate in exec_noise.c, the shared state in exec_impl.h).
 *
 * Tensors are tiles on the exec's box.  Each tensor's halo is the widest
 * any convolution needs of it: as the input of a SYNTH/ANALYSIS (forward)
 * or, in a train exec, as the output of one (its gradient is the operand
 * of the adjoint in the backward); gradients have the shape of their
 * tensors.  One halo plan
 * per (halo, channels) pair, one hcsc_conv plan per convolution parameter
 * (its dictionary points into net->params, never freed here).
 *
 * Errors: before every halo exchange the ranks agree on the error state,
 * so a rank that failed locally (memory, a plan) never leaves the others
 * waiting inside an exchange.
 *
 * Memory: a train exec keeps every tensor (the backward reads them) and a
 * gradient of each.  Otherwise a tensor's buffer goes back to a pool after
 * the last op that reads it (liveness from the op list) and is reused by
 * the next tensor that fits, so a deep network holds a few tensors; the
 * input tensor is the caller's x and the output tensor the caller's y
 * whenever their layouts allow (no copies of the scene), and the
 * convolution plans share one analysis scratch (they never run at once).
 * The noise estimate holds 16 bands at a time.
 *
 * Overlap: a convolution whose operand needs a halo exchange runs its
 * inner part (hcsc_conv_*_part) between hcsc_halo_begin and
 * hcsc_halo_end, its border after; the result is bit for bit the same.
 * HCSC_NN_OVERLAP=0 in the environment (read at create) turns it off, for
 * tests and measurements.  The forward records per-kind seconds
 * (hcsc_nn_exec_timings): the halo figure is the time spent waiting for
 * halos after that overlap. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hcsc/error.h"
#include "hcsc/progress.h"
#include "hcsc/timer.h"
#include "nn/layers.h"
#include "nn/exec_impl.h"
#include "nn/nn_impl.h"

static hcsc_halo *find_plan(const hcsc_nn_exec *e, int halo, int64_t nchan)
{
  for (int i = 0; i < e->nplans; i++)
    if (e->plans[i].halo == halo && e->plans[i].nchan == nchan) return e->plans[i].h;
  return NULL;
}

static int add_plan_key(hcsc_nn_exec *e, int halo, int64_t nchan)
{
  if (halo <= 0) return 0;
  for (int i = 0; i < e->nplans; i++)
    if (e->plans[i].halo == halo && e->plans[i].nchan == nchan) return 0;
  e->plans[e->nplans].halo = halo;
  e->plans[e->nplans].nchan = nchan;
  e->plans[e->nplans].h = NULL;
  e->nplans++;
  return 0;
}

/* A buffer of at least n floats: from the pool (the smallest that fits,
 * if it is not much larger: a code tensor parked in a B-channel buffer
 * would make the next B-channel tensor allocate one more) or new
 * (zeroed). */
static float *buf_get(hcsc_nn_exec *e, size_t n)
{
  int best = -1;
  float *p;
  for (int i = 0; i < e->npool; i++)
    if (e->pool_cap[i] >= n && e->pool_cap[i] - n <= n / 4 &&
        (best < 0 || e->pool_cap[i] < e->pool_cap[best]))
      best = i;
  if (best >= 0) {
    p = e->pool[best];
    e->pool[best] = e->pool[e->npool - 1];
    e->pool_cap[best] = e->pool_cap[e->npool - 1];
    e->npool--;
    return p;
  }
  p = calloc(n ? n : 1, sizeof(float));
  if (p) e->bytes += (double)n * sizeof(float);
  return p;
}

static int buf_put(hcsc_nn_exec *e, float *p, size_t n)
{
  if (!p || p == e->ext_in) return 0;
  if (e->npool == e->cap_pool) {
    int cap = e->cap_pool ? 2 * e->cap_pool : 8;
    float **q = realloc(e->pool, sizeof(*q) * (size_t)cap);
    size_t *c;
    if (!q) goto fail;
    e->pool = q;
    c = realloc(e->pool_cap, sizeof(*c) * (size_t)cap);
    if (!c) goto fail;
    e->pool_cap = c;
    e->cap_pool = cap;
  }
  e->pool[e->npool] = p;
  e->pool_cap[e->npool++] = n;
  return 0;
fail:
  if (p != e->ext_out) {
    free(p);
    e->bytes -= (double)n * sizeof(float);
  }
  return 0;
}

/* Take buffer p out of the pool: 1 if it was there. */
static int pool_take(hcsc_nn_exec *e, const float *p)
{
  for (int i = 0; i < e->npool; i++)
    if (e->pool[i] == p) {
      e->pool[i] = e->pool[e->npool - 1];
      e->pool_cap[i] = e->pool_cap[e->npool - 1];
      e->npool--;
      return 1;
    }
  return 0;
}

static size_t tile_len(const hcsc_tile *t) { return (size_t)(t->nchan * t->ldr * t->ldc); }

/* Give tile t (shape preset) a buffer. */
static int tile_get(hcsc_nn_exec *e, hcsc_tile *t)
{
  if (t->data) return 0;
  t->data = buf_get(e, tile_len(t));
  if (!t->data)
    return HCSC_ERR(HCSC_ENOMEM, "network executor: out of memory for a tensor of %lld x %lld x "
                    "%lld", (long long)t->nchan, (long long)t->ldr, (long long)t->ldc);
  return 0;
}

static void tile_put(hcsc_nn_exec *e, hcsc_tile *t)
{
  buf_put(e, t->data, tile_len(t));
  t->data = NULL;
}

static void tile_shape(hcsc_tile *t, const hcsc_box *box, int64_t nchan, int halo)
{
  memset(t, 0, sizeof(*t));
  t->box = *box;
  t->nchan = nchan;
  t->halo = halo;
  t->ldr = box->nr + 2 * halo;
  t->ldc = box->nc + 2 * halo;
}

/* Fill the halo of t (tensor or gradient with tensor i's shape) for a
 * convolution: mirrored (synthesis) or also zeroed outside (analysis).
 * The ranks agree on err first (one Allreduce) unless nothing is to be
 * exchanged; state (same on every rank: it follows the op list) skips
 * repeated exchanges of a tensor.  Collective on the grid's comm. */
int nn_exec_fill_halo(hcsc_nn_exec *e, hcsc_tile *t, int *state, int want, int err)
{
  hcsc_halo *h = NULL;
  if (state && *state == want) return err;
  if (t->halo > 0) {
    h = find_plan(e, t->halo, t->nchan);
    if (!h && !err)
      err = HCSC_ERR(HCSC_EINVAL, "network executor: no halo plan for %d x %lld", t->halo,
                     (long long)t->nchan);
  }
  if (e->nranks > 1) err = hcsc_error_agree(e->comm, err);
  if (err) return err;
  if (h) {
    err = hcsc_halo_exchange(h, t);
    if (!err && want == HALO_ZERO) hcsc_tile_zero_outside(t, e->rows, e->cols);
  }
  if (state && !err) *state = want;
  return err;
}

/* Not collective (halo plans hold no communicator of their own). */
void hcsc_nn_exec_destroy(hcsc_nn_exec **pe)
{
  hcsc_nn_exec *e;
  if (!pe || !*pe) return;
  e = *pe;
  for (int i = 0; i < e->nt; i++) {
    if (e->t) free(e->t[i].data);
    if (e->g) free(e->g[i].data);
  }
  for (int i = 0; i < e->npool; i++) free(e->pool[i]);
  for (int i = 0; i < e->nplans; i++) hcsc_halo_destroy(&e->plans[i].h);
  if (e->conv)
    for (int i = 0; i < e->net->nparams; i++) hcsc_conv_destroy(&e->conv[i]);
  for (int i = 0; i < e->nscr; i++) hcsc_tile_free(&e->scr[i]);
  free(e->scr);
  free(e->pool);
  free(e->pool_cap);
  free(e->plans);
  free(e->conv);
  free(e->dict);
  free(e->halo);
  free(e->last);
  free(e->hstate);
  free(e->gset);
  free(e->t);
  free(e->g);
  free(e->bw);
  free(e->wt);
  free(e->dscr);
  free(e->gloc);
  free(e->dbuf);
  free(e->work);
  free(e->bar_label);
  free(e);
  *pe = NULL;
}

/* Collective on the grid's comm.  The exec refers to net (its params and
 * graph) and to grid: both must outlive it.  A graph changed after create
 * needs a new exec; changed params need only hcsc_nn_touch. */
int hcsc_nn_exec_create(hcsc_nn *net, const hcsc_grid *grid, int train, hcsc_nn_exec **out)
{
  int err = 0, dims[3] = {1, 1, 1};
  hcsc_nn_exec *e = NULL;
  const nn_graph *g;
  int64_t bands = 0, maxch = 1;
  MPI_Comm comm = grid ? hcsc_grid_comm(grid) : MPI_COMM_SELF;
  if (out) *out = NULL;
  if (!net || !grid || !out || !net->graph || !net->params)
    HCSC_FAIL(HCSC_EINVAL, "hcsc_nn_exec_create: missing network, grid or output");
  g = net->graph;
  hcsc_grid_dims(grid, dims);
  hcsc_grid_scene(grid, &bands, NULL, NULL);
  if (dims[0] != 1)
    HCSC_FAIL(HCSC_EINVAL, "network executor: the grid splits bands in %d groups; networks need "
              "G = 1", dims[0]);
  if (bands != net->cfg.bands || g->tensors[0].nchan != net->cfg.bands)
    HCSC_FAIL(HCSC_ESIZE, "network executor: scene of %lld bands, network for %d",
              (long long)bands, net->cfg.bands);
  HCSC_CALLOC(e, 1);
  e->net = net;
  e->grid = grid;
  e->comm = comm;
  e->train = train ? 1 : 0;
  {
    const char *ov = getenv("HCSC_NN_OVERLAP");
    e->overlap = !(ov && strcmp(ov, "0") == 0);
  }
  e->box = hcsc_grid_box(grid);
  hcsc_grid_scene(grid, NULL, &e->rows, &e->cols);
  MPI_Comm_size(comm, &e->nranks);
  e->nt = g->ntensors;
  e->nops = g->nops;
  HCSC_CALLOC(e->halo, e->nt);
  HCSC_CALLOC(e->last, e->nt);
  HCSC_CALLOC(e->hstate, e->nt);
  HCSC_CALLOC(e->gset, e->nt);
  HCSC_CALLOC(e->t, e->nt);
  HCSC_CALLOC(e->conv, net->nparams);
  HCSC_CALLOC(e->dict, net->nparams);
  HCSC_CALLOC(e->bw, net->cfg.bands);
  HCSC_CALLOC(e->wt, net->cfg.bands);
  HCSC_CALLOC(e->plans, e->nt + 1);
  for (int i = 0; i < e->nt; i++) {
    e->last[i] = -1;
    if (g->tensors[i].nchan > maxch) maxch = g->tensors[i].nchan;
  }
  HCSC_CALLOC(e->dscr, maxch);
  for (int i = 0; i < e->nops; i++) {
    const nn_op *op = &g->ops[i];
    e->last[op->out] = i; /* a tensor nobody reads dies where it is made */
    if (op->kind == NN_OP_LINCOMB) {
      for (int j = 0; j < op->nterms; j++) e->last[op->terms[j].tensor] = i;
    } else {
      e->last[op->in] = i;
    }
    if (op->kind == NN_OP_SYNTH || op->kind == NN_OP_ANALYSIS) {
      const hcsc_nn_param *p = &net->table[op->param];
      const int k = (int)p->shape[2], h = k - 1 - (k - 1) / 2;
      if (h > e->halo[op->in]) e->halo[op->in] = h;
      /* The output's halo serves only its gradient (the backward's
       * operand): none for inference. */
      if (e->train && h > e->halo[op->out]) e->halo[op->out] = h;
      if (!e->conv[op->param]) {
        hcsc_dict *d = &e->dict[op->param];
        d->natoms = (int)p->shape[0];
        d->nchan = (int)p->shape[1];
        d->ksize = k;
        d->scale = 1;
        d->atoms = net->params + p->offset;
        HCSC_CHECK(hcsc_conv_create(d, &e->box, e->rows, e->cols, HCSC_CONV_AUTO,
                                    &e->conv[op->param]));
      }
    }
  }
  e->last[g->output] = e->nops;
  for (int i = 0; i < e->nt; i++) {
    tile_shape(&e->t[i], &e->box, g->tensors[i].nchan, e->halo[i]);
    add_plan_key(e, e->halo[i], g->tensors[i].nchan);
  }
  /* Noise estimates: chunks of NOISE_BANDS bands and the last, shorter one. */
  add_plan_key(e, 1, net->cfg.bands < NOISE_BANDS ? net->cfg.bands : NOISE_BANDS);
  if (net->cfg.bands % NOISE_BANDS) add_plan_key(e, 1, net->cfg.bands % NOISE_BANDS);
  {
    /* One analysis scratch for every plan that runs an analysis (in the
     * backward, synthesis plans do too).  malloc: pages are touched by the
     * first analysis, not here. */
    size_t need = 0;
    for (int i = 0; i < e->nops; i++) {
      const nn_op *op = &g->ops[i];
      if (op->kind != NN_OP_ANALYSIS && !(e->train && op->kind == NN_OP_SYNTH)) continue;
      const size_t n = hcsc_conv_work_size(e->conv[op->param]);
      if (n > need) need = n;
    }
    if (need) {
      e->work = malloc(need * sizeof(float));
      if (!e->work)
        HCSC_FAIL(HCSC_ENOMEM, "network executor: out of memory for the convolution scratch "
                  "(%.1f MiB)", (double)need * sizeof(float) / 1048576.0);
      e->bytes += (double)need * sizeof(float);
      for (int i = 0; i < net->nparams; i++)
        if (e->conv[i] && hcsc_conv_work_size(e->conv[i]) <= need)
          HCSC_CHECK(hcsc_conv_set_work(e->conv[i], e->work, need));
    }
  }
  e->version = net->version;
  if (e->train) {
    HCSC_CALLOC(e->g, e->nt);
    HCSC_CALLOC(e->gloc, net->size);
    for (int i = 0; i < e->nt; i++) {
      HCSC_CHECK(tile_get(e, &e->t[i]));
      e->g[i] = e->t[i];
      e->g[i].data = NULL;
      HCSC_CHECK(tile_get(e, &e->g[i]));
    }
  }
cleanup:
  err = hcsc_error_agree(comm, err);
  if (!err)
    for (int i = 0; i < e->nplans && !err; i++)
      err = hcsc_halo_create(grid, e->plans[i].halo, e->plans[i].nchan, &e->plans[i].h);
  if (e && !err) err = hcsc_error_agree(comm, err);
  if (err) hcsc_nn_exec_destroy(&e);
  if (out) *out = e;
  return err;
}

/* An input (tensor 0) or output-side tile: this rank's box and the
 * tensor's channels (B for every architecture; graphs built by hand in
 * tests may end on another channel count). */
int nn_exec_check_io(const hcsc_nn_exec *e, const hcsc_tile *t, int tensor, const char *what)
{
  const int64_t nchan = e->net->graph->tensors[tensor].nchan;
  if (!t || !t->data)
    return HCSC_ERR(HCSC_EINVAL, "network executor: %s tile not allocated", what);
  if (!hcsc_box_same_area(&t->box, &e->box) || t->nchan != nchan)
    return HCSC_ERR(HCSC_ESIZE, "network executor: %s tile is %lld channels on rows %lld+%lld, "
                    "cols %lld+%lld; expected %lld channels on rows %lld+%lld, cols %lld+%lld", what,
                    (long long)t->nchan, (long long)t->box.r0, (long long)t->box.nr,
                    (long long)t->box.c0, (long long)t->box.nc, (long long)nchan,
                    (long long)e->box.r0, (long long)e->box.nr, (long long)e->box.c0,
                    (long long)e->box.nc);
  return 0;
}

/* The coefficients of a LINCOMB op. */
void nn_exec_lincomb_coef(const hcsc_nn *net, const nn_op *op, float *coef)
{
  for (int i = 0; i < op->nterms; i++) {
    const nn_term *t = &op->terms[i];
    coef[i] = t->c;
    if (t->param >= 0) coef[i] *= net->params[net->table[t->param].offset + t->poff];
  }
}

double nn_exec_npix(const hcsc_nn_exec *e) { return (double)e->box.nr * (double)e->box.nc; }

/* ---- in place (inference) -------------------------------------------
 * An elementwise op whose input dies at it writes its output over that
 * input when both have one layout: a deep network then holds one buffer
 * less of each width (for ssc one B-channel tensor: 0.75 of the tile).
 * These kernels do the arithmetic of layers.c (same operations, same
 * order, same flags: the results are the same bits) without its restrict
 * promise, which in-place use would break. */

/* The input of op i to overwrite with its output, or -1. */
static int inplace_input(const hcsc_nn_exec *e, const nn_op *op, int i)
{
  const hcsc_tile *out = &e->t[op->out];
  const int n = op->kind == NN_OP_LINCOMB ? op->nterms : 1;
  if (e->train || out->data) return -1;
  if (op->kind != NN_OP_LINCOMB && op->kind != NN_OP_THRESH && op->kind != NN_OP_BANDWEIGHT)
    return -1;
  for (int j = 0; j < n; j++) {
    const int ti = op->kind == NN_OP_LINCOMB ? op->terms[j].tensor : op->in;
    const hcsc_tile *t = &e->t[ti];
    if (e->last[ti] == i && t->data && t->data != e->ext_in &&
        t->nchan == out->nchan && t->halo == out->halo)
      return ti;
  }
  return -1;
}

static void inplace_lincomb(int n, const hcsc_tile *const *in, const float *coef, hcsc_tile *out)
{
  const int64_t nr = out->box.nr, nc = out->box.nc;
  for (int64_t ch = 0; ch < out->nchan; ch++)
    for (int64_t r = 0; r < nr; r++) {
      float *o = &HCSC_TILE_AT(out, ch, r, 0);
      const float *a[NN_MAX_TERMS];
      for (int i = 0; i < n; i++) a[i] = &HCSC_TILE_AT(in[i], ch, r, 0);
      for (int64_t c = 0; c < nc; c++) {
        float v = coef[0] * a[0][c];
        for (int i = 1; i < n; i++) v += coef[i] * a[i][c];
        o[c] = v;
      }
    }
}

static void inplace_thresh(hcsc_tile *t, const float *theta, float s, int nonneg, int64_t *nnz)
{
  int64_t count = 0;
  for (int64_t ch = 0; ch < t->nchan; ch++) {
    const float th = s * (theta[ch] > 0.0f ? theta[ch] : 0.0f);
    for (int64_t r = 0; r < t->box.nr; r++) {
      float *v = &HCSC_TILE_AT(t, ch, r, 0);
      for (int64_t c = 0; c < t->box.nc; c++) {
        if (nonneg) {
          const float u = v[c] - th;
          v[c] = u > 0.0f ? u : 0.0f;
          count += u > 0.0f;
        } else {
          const float a = fabsf(v[c]) - th;
          v[c] = a > 0.0f ? copysignf(a, v[c]) : 0.0f;
          count += a > 0.0f;
        }
      }
    }
  }
  *nnz = count;
}

static void inplace_scale(hcsc_tile *t, const float *w)
{
  for (int64_t ch = 0; ch < t->nchan; ch++)
    for (int64_t r = 0; r < t->box.nr; r++) {
      float *v = &HCSC_TILE_AT(t, ch, r, 0);
      for (int64_t c = 0; c < t->box.nc; c++) v[c] = w[ch] * v[c];
    }
}

/* One op forward (outputs allocated by the caller; inplace: the output
 * holds the buffer of a dying input, see inplace_input). */
static int op_forward(hcsc_nn_exec *e, const nn_op *op, int inplace, int err)
{
  hcsc_nn *net = e->net;
  hcsc_tile *out = &e->t[op->out], *in = op->kind == NN_OP_LINCOMB ? NULL : &e->t[op->in];
  const hcsc_nn_param *p = op->param >= 0 ? &net->table[op->param] : NULL;
  switch (op->kind) {
  case NN_OP_SYNTH:
  case NN_OP_ANALYSIS: {
    const int syn = op->kind == NN_OP_SYNTH, want = syn ? HALO_MIRROR : HALO_ZERO;
    hcsc_conv *cv = e->conv[op->param];
    hcsc_halo *h = NULL;
    double t0 = MPI_Wtime(), t1;
    if (e->overlap && e->hstate[op->in] != want && in->halo > 0) {
      /* fill_halo split around the inner part: agree, begin, compute what
       * needs no halo, end, then the border. */
      h = find_plan(e, in->halo, in->nchan);
      if (!h && !err)
        err = HCSC_ERR(HCSC_EINVAL, "network executor: no halo plan for %d x %lld", in->halo,
                       (long long)in->nchan);
      if (e->nranks > 1) err = hcsc_error_agree(e->comm, err);
      if (err) return err;
      err = hcsc_halo_begin(h, in);
      const int began = !err; /* a failed begin completed its messages */
      t1 = MPI_Wtime();
      e->tm.halo += t1 - t0;
      if (!err)
        err = syn ? hcsc_conv_synth_part(cv, in, out, HCSC_CONV_INNER)
                  : hcsc_conv_analysis_part(cv, in, out, HCSC_CONV_INNER);
      t0 = MPI_Wtime();
      e->tm.conv += t0 - t1;
      /* End even after a local error in the inner part: the messages are
       * in flight. */
      if (began) {
        const int e2 = hcsc_halo_end(h, in);
        if (!err) err = e2;
      }
      if (!err && want == HALO_ZERO) hcsc_tile_zero_outside(in, e->rows, e->cols);
      if (!err) e->hstate[op->in] = want;
      t1 = MPI_Wtime();
      e->tm.halo += t1 - t0;
      if (!err)
        err = syn ? hcsc_conv_synth_part(cv, in, out, HCSC_CONV_BORDER)
                  : hcsc_conv_analysis_part(cv, in, out, HCSC_CONV_BORDER);
      e->tm.conv += MPI_Wtime() - t1;
    } else {
      err = nn_exec_fill_halo(e, in, &e->hstate[op->in], want, err);
      if (err) return err;
      t1 = MPI_Wtime();
      e->tm.halo += t1 - t0;
      err = syn ? hcsc_conv_synth(cv, in, out) : hcsc_conv_analysis(cv, in, out);
      e->tm.conv += MPI_Wtime() - t1;
    }
    e->tm.nconv++;
    e->flops += 2.0 * (double)p->count * nn_exec_npix(e);
    return err;
  }
  default:
    break;
  }
  if (err) return err;
  const double t0 = MPI_Wtime();
  hcsc_timer_start(HCSC_PHASE_COMPUTE);
  switch (op->kind) {
  case NN_OP_THRESH: {
    int64_t nnz = 0;
    if (inplace)
      inplace_thresh(out, net->params + p->offset + op->row * op->stride, (float)e->level,
                     net->cfg.nonneg, &nnz);
    else
      nn_thresh_fwd(in, out, net->params + p->offset + op->row * op->stride, (float)e->level,
                    net->cfg.nonneg, &nnz);
    if (out->nchan > 0 && nn_exec_npix(e) > 0) {
      e->dens_sum += (double)nnz / ((double)out->nchan * nn_exec_npix(e));
      e->dens_n++;
    }
    break;
  }
  case NN_OP_LINCOMB: {
    const hcsc_tile *ins[NN_MAX_TERMS];
    float coef[NN_MAX_TERMS];
    for (int i = 0; i < op->nterms; i++) ins[i] = &e->t[op->terms[i].tensor];
    nn_exec_lincomb_coef(net, op, coef);
    if (inplace) inplace_lincomb(op->nterms, ins, coef, out);
    else nn_lincomb_fwd(op->nterms, ins, coef, out);
    break;
  }
  case NN_OP_BANDWEIGHT:
    for (int b = 0; b < net->cfg.bands; b++)
      e->bw[b] = (float)(net->params[p->offset + b] * e->wt[b]);
    if (inplace) inplace_scale(out, e->bw);
    else nn_scale_fwd(in, e->bw, out);
    if (e->mask) nn_mask_mul(out, e->mask);
    break;
  case NN_OP_SPECTRAL:
    nn_spectral_fwd(in, net->params + p->offset, out);
    e->flops += 2.0 * (double)p->count * nn_exec_npix(e);
    break;
  case NN_OP_LATTICE:
    nn_lattice_apply(in, op->scale, out, 0);
    break;
  default:
    break;
  }
  hcsc_timer_stop(HCSC_PHASE_COMPUTE);
  if (op->kind == NN_OP_SPECTRAL) e->tm.spectral += MPI_Wtime() - t0;
  else e->tm.elementwise += MPI_Wtime() - t0;
  return 0;
}

/* Collective on the grid's comm. */
int hcsc_nn_forward(hcsc_nn_exec *e, const hcsc_tile *x, const hcsc_nn_noise *nz, hcsc_tile *y)
{
  int err = 0;
  hcsc_nn_noise own;
  const nn_graph *g;
  hcsc_progress *bar = NULL;
  memset(&own, 0, sizeof(own));
  if (!e) return HCSC_ERR(HCSC_EINVAL, "hcsc_nn_forward: no executor");
  memset(&e->tm, 0, sizeof e->tm);
  g = e->net->graph;
  err = nn_exec_check_io(e, x, 0, "input");
  if (!err) err = nn_exec_check_io(e, y, g->output, "output");
  if (!err && nz && (nz->bands != e->net->cfg.bands || !nz->wt))
    err = HCSC_ERR(HCSC_ESIZE, "hcsc_nn_forward: noise estimates of %d bands for %d", nz->bands,
                   e->net->cfg.bands);
  HCSC_CHECK(hcsc_error_agree(e->comm, err));
  if (!nz && e->net->cfg.adapt) {
    HCSC_CHECK(hcsc_nn_noise_estimate(e, x, &own));
    nz = &own;
  }
  for (int b = 0; b < e->net->cfg.bands; b++) e->wt[b] = nz ? nz->wt[b] : 1.0;
  e->level = nz ? nz->level : 1.0;
  e->have_fwd = 0;
  /* The caller's x is tensor 0 when nothing writes into it (no mask to
   * apply, no halo to fill) and the layouts agree.  y's buffer joins the
   * pool (the tensors before the output may use it) and becomes the
   * output tensor when it is free again at the output's op (else the
   * output is copied into y).  For ssc the scene is then never copied and
   * the B-channel tensors of the iterations live in y. */
  if (!e->train && !e->mask && e->halo[0] == 0 && x->halo == 0) {
    e->ext_in = x->data;
    e->t[0].data = (float *)x->data; /* read only: no op writes its inputs */
  }
  if (!e->train && g->output != 0 && y->halo == e->halo[g->output] && y->data != x->data) {
    e->ext_out = y->data;
    buf_put(e, y->data, tile_len(y));
  }
  if (e->bar_label) bar = hcsc_progress_create(e->comm, e->bar_label, g->nops, "ops");
  e->flops = e->dens_sum = 0.0;
  e->dens_n = 0;
  if (e->version != e->net->version) {
    for (int i = 0; i < e->net->nparams && !err; i++)
      if (e->conv[i]) err = hcsc_conv_update(e->conv[i]);
    e->version = e->net->version;
  }
  if (!err) err = tile_get(e, &e->t[0]);
  if (!err && e->t[0].data != x->data) {
    nn_tile_copy(&e->t[0], x);
    /* x may hold NaN (nodata, missing values) where W = 0: the data term
     * ignores those values, but 0 * NaN would not, so they become 0. */
    if (e->mask) nn_mask_zero(&e->t[0], e->mask);
    e->hstate[0] = HALO_NONE;
  }
  for (int i = 0; i < g->nops; i++) {
    const nn_op *op = &g->ops[i];
    if (op->out == g->output && e->ext_out && pool_take(e, e->ext_out))
      e->t[op->out].data = e->ext_out;
    const int ip = err ? -1 : inplace_input(e, op, i);
    hcsc_tile *src = NULL;
    if (ip >= 0) {
      /* The input's buffer moves to the output; ins[] below still read it
       * through the input tile, which keeps its pointer until after. */
      src = &e->t[ip];
      e->t[op->out].data = src->data;
    } else if (!err) {
      err = tile_get(e, &e->t[op->out]);
    }
    e->hstate[op->out] = HALO_NONE;
    /* op_forward agrees before an exchange and returns err untouched otherwise */
    err = op_forward(e, op, ip >= 0, err);
    if (src) src->data = NULL; /* owned by the output now: not pooled twice */
    if (!e->train) {
      if (op->kind == NN_OP_LINCOMB) {
        for (int j = 0; j < op->nterms; j++)
          if (e->last[op->terms[j].tensor] == i) tile_put(e, &e->t[op->terms[j].tensor]);
      } else if (e->last[op->in] == i) {
        tile_put(e, &e->t[op->in]);
      }
      if (e->last[op->out] == i) tile_put(e, &e->t[op->out]);
    }
    hcsc_progress_update(bar, i + 1, NULL);
  }
  if (!err && e->t[g->output].data != y->data) nn_tile_copy(y, &e->t[g->output]);
  if (!e->train)
    for (int i = 0; i < e->nt; i++) tile_put(e, &e->t[i]);
  if (e->ext_out) pool_take(e, e->ext_out); /* the caller's again */
  e->ext_in = NULL;
  e->ext_out = NULL;
  err = hcsc_error_agree(e->comm, err);
  if (!err) e->have_fwd = 1;
cleanup:
  hcsc_progress_finish(&bar);
  hcsc_nn_noise_free(&own);
  return err;
}

/* Not collective.  The mask is checked here and kept by reference. */
int hcsc_nn_exec_set_mask(hcsc_nn_exec *e, const hcsc_tile *mask)
{
  if (!e) return HCSC_ERR(HCSC_EINVAL, "hcsc_nn_exec_set_mask: no executor");
  if (mask) {
    if (!mask->data)
      return HCSC_ERR(HCSC_EINVAL, "hcsc_nn_exec_set_mask: mask tile not allocated");
    if (!hcsc_box_same_area(&mask->box, &e->box) ||
        (mask->nchan != 1 && mask->nchan != e->net->cfg.bands))
      return HCSC_ERR(HCSC_ESIZE, "hcsc_nn_exec_set_mask: mask of %lld channels on rows %lld+%lld, "
                      "cols %lld+%lld; expected 1 or %d channels on rows %lld+%lld, cols %lld+%lld",
                      (long long)mask->nchan, (long long)mask->box.r0, (long long)mask->box.nr,
                      (long long)mask->box.c0, (long long)mask->box.nc, e->net->cfg.bands,
                      (long long)e->box.r0, (long long)e->box.nr, (long long)e->box.c0,
                      (long long)e->box.nc);
  }
  e->mask = mask;
  return 0;
}

/* Not collective. */
void hcsc_nn_exec_figures(const hcsc_nn_exec *e, hcsc_nn_figures *f)
{
  if (!f) return;
  memset(f, 0, sizeof(*f));
  if (!e) return;
  f->flops = e->flops;
  f->code_density = e->dens_n ? e->dens_sum / e->dens_n : 0.0;
  f->bytes = e->bytes;
}

/* Not collective. */
const hcsc_nn *hcsc_nn_exec_net(const hcsc_nn_exec *e) { return e ? e->net : NULL; }

/* Not collective. */
void hcsc_nn_exec_timings(const hcsc_nn_exec *e, hcsc_nn_timings *t)
{
  if (!t) return;
  memset(t, 0, sizeof(*t));
  if (e) *t = e->tm;
}

/* Not collective (every rank may call it; only rank 0 prints). */
int hcsc_nn_exec_set_progress(hcsc_nn_exec *e, const char *label)
{
  if (!e) return HCSC_ERR(HCSC_EINVAL, "hcsc_nn_exec_set_progress: no executor");
  free(e->bar_label);
  e->bar_label = NULL;
  if (label && !(e->bar_label = strdup(label)))
    return HCSC_ERR(HCSC_ENOMEM, "hcsc_nn_exec_set_progress: out of memory");
  return 0;
}
