/* hypercsc — unrolled networks: the executor's backward pass
 * (hcsc_nn_backward): ops in reverse, each adding into the gradients of its
 * inputs and parameters (see nn_impl.h), one Allreduce of the parameter
 * gradients. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hcsc/error.h"
#include "hcsc/stats.h"
#include "hcsc/timer.h"
#include "nn/exec_impl.h"
#include "nn/layers.h"

/* A tile of nchan channels without halo for conv results to be added. */
static int scratch(hcsc_nn_exec *e, int64_t nchan, hcsc_tile **out)
{
  int err = 0;
  hcsc_tile *s;
  for (int i = 0; i < e->nscr; i++)
    if (e->scr[i].nchan == nchan) {
      *out = &e->scr[i];
      return 0;
    }
  s = realloc(e->scr, sizeof(*s) * (size_t)(e->nscr + 1));
  if (!s) return HCSC_ERR(HCSC_ENOMEM, "network executor: out of memory for scratch tiles");
  e->scr = s;
  memset(&s[e->nscr], 0, sizeof(*s));
  HCSC_CHECK(hcsc_tile_alloc(&s[e->nscr], &e->box, nchan, 0));
  e->bytes += (double)nchan * nn_exec_npix(e) * sizeof(float);
  *out = &s[e->nscr++];
cleanup:
  return err;
}

/* Backward of a convolution op: the adjoint into din, wgrad into gW. */
static int conv_backward(hcsc_nn_exec *e, const nn_op *op, int need_in, int err)
{
  const hcsc_nn_param *p = &e->net->table[op->param];
  hcsc_tile *dout = &e->g[op->out], *din = &e->g[op->in], *dst = din, *s = NULL;
  float *gW = e->gloc + p->offset;
  const int k = (int)p->shape[2];
  if (op->kind == NN_OP_SYNTH) {
    if (need_in) {
      if (!err && e->gset[op->in]) err = scratch(e, din->nchan, &s);
      err = nn_exec_fill_halo(e, dout, NULL, HALO_ZERO, err);
      if (err) return err;
      if (s) dst = s;
      err = hcsc_conv_analysis(e->conv[op->param], dout, dst);
      if (!err && s) nn_tile_axpy(din, 1.0f, s);
      e->gset[op->in] = 1;
    }
    /* wgrad reads the code side extended by the scene-edge rule. */
    err = nn_exec_fill_halo(e, &e->t[op->in], &e->hstate[op->in], HALO_MIRROR, err);
    if (!err) err = nn_wgrad(&e->t[op->in], dout, k, gW);
    return err;
  }
  if (need_in && !err && e->gset[op->in]) err = scratch(e, din->nchan, &s);
  err = nn_exec_fill_halo(e, dout, NULL, HALO_MIRROR, err);
  if (err) return err;
  if (need_in) {
    if (s) dst = s;
    err = hcsc_conv_synth(e->conv[op->param], dout, dst);
    if (!err && s) nn_tile_axpy(din, 1.0f, s);
    e->gset[op->in] = 1;
  }
  if (!err) err = nn_wgrad(dout, &e->t[op->in], k, gW);
  return err;
}

/* Backward of an elementwise / spectral op.  Not collective. */
static void op_backward(hcsc_nn_exec *e, const nn_op *op, int need0)
{
  hcsc_nn *net = e->net;
  const hcsc_nn_param *p = op->param >= 0 ? &net->table[op->param] : NULL;
  hcsc_tile *dout = &e->g[op->out];
  hcsc_tile *din = op->kind != NN_OP_LINCOMB && (op->in || need0) ? &e->g[op->in] : NULL;
  hcsc_timer_start(HCSC_PHASE_COMPUTE);
  if (din && !e->gset[op->in]) nn_tile_zero(din);
  switch (op->kind) {
  case NN_OP_THRESH: {
    const int64_t base = p->offset + op->row * op->stride;
    for (int64_t m = 0; m < dout->nchan; m++) e->dscr[m] = 0.0;
    nn_thresh_bwd(&e->t[op->out], dout, din, net->params + base, (float)e->level, e->dscr);
    for (int64_t m = 0; m < dout->nchan; m++) e->gloc[base + m] += (float)e->dscr[m];
    break;
  }
  case NN_OP_LINCOMB: {
    const hcsc_tile *ins[NN_MAX_TERMS];
    hcsc_tile *dins[NN_MAX_TERMS];
    float coef[NN_MAX_TERMS];
    int want[NN_MAX_TERMS];
    double dot[NN_MAX_TERMS];
    for (int i = 0; i < op->nterms; i++) {
      const int t = op->terms[i].tensor;
      ins[i] = &e->t[t];
      dins[i] = (t || need0) ? &e->g[t] : NULL;
      want[i] = op->terms[i].param >= 0;
      if (dins[i] && !e->gset[t]) nn_tile_zero(dins[i]);
      if (dins[i]) e->gset[t] = 1;
    }
    nn_exec_lincomb_coef(net, op, coef);
    nn_lincomb_bwd(op->nterms, ins, coef, dout, dins, want, dot);
    for (int i = 0; i < op->nterms; i++)
      if (want[i])
        e->gloc[net->table[op->terms[i].param].offset + op->terms[i].poff] +=
            (float)(op->terms[i].c * dot[i]);
    break;
  }
  case NN_OP_BANDWEIGHT:
    if (e->mask) nn_scale_mask_bwd(&e->t[op->in], e->bw, e->mask, dout, din, e->dscr);
    else nn_scale_bwd(&e->t[op->in], e->bw, dout, din, e->dscr);
    for (int b = 0; b < net->cfg.bands; b++) e->gloc[p->offset + b] += (float)(e->wt[b] * e->dscr[b]);
    break;
  case NN_OP_SPECTRAL:
    nn_spectral_bwd(&e->t[op->in], net->params + p->offset, dout, din, e->gloc + p->offset);
    break;
  case NN_OP_LATTICE:
    if (din) nn_lattice_apply(dout, op->scale, din, 1);
    break;
  default:
    break;
  }
  if (din) e->gset[op->in] = 1;
  hcsc_timer_stop(HCSC_PHASE_COMPUTE);
}

/* Collective on the grid's comm. */
int hcsc_nn_backward(hcsc_nn_exec *e, const hcsc_tile *dy, hcsc_tile *dx)
{
  int err = 0;
  const nn_graph *g;
  hcsc_nn *net;
  if (!e) return HCSC_ERR(HCSC_EINVAL, "hcsc_nn_backward: no executor");
  net = e->net;
  g = net->graph;
  if (!e->train)
    err = HCSC_ERR(HCSC_EINVAL, "hcsc_nn_backward: the executor was not made for training");
  else if (!e->have_fwd)
    err = HCSC_ERR(HCSC_EINVAL, "hcsc_nn_backward: no forward pass to backpropagate");
  if (!err) err = nn_exec_check_io(e, dy, g->output, "output gradient");
  if (!err && dx) err = nn_exec_check_io(e, dx, 0, "input gradient");
  HCSC_CHECK(hcsc_error_agree(e->comm, err));
  memset(e->gloc, 0, sizeof(float) * (size_t)net->size);
  /* Gradients are zeroed when first added into (a convolution writes its
   * first contribution directly), not all up front. */
  for (int i = 0; i < e->nt; i++) e->gset[i] = 0;
  nn_tile_copy(&e->g[g->output], dy);
  e->gset[g->output] = 1;
  for (int i = g->nops - 1; i >= 0; i--) {
    const nn_op *op = &g->ops[i];
    if (!e->gset[op->out]) continue; /* no path to the output: zero gradient */
    if (op->kind == NN_OP_SYNTH || op->kind == NN_OP_ANALYSIS)
      err = conv_backward(e, op, op->in != 0 || dx != NULL, err);
    else if (!err)
      op_backward(e, op, dx != NULL);
  }
  err = hcsc_error_agree(e->comm, err);
  if (err) goto cleanup;
  if (e->nranks > 1) {
    hcsc_timer_start(HCSC_PHASE_REDUCE);
    err = MPI_Allreduce(MPI_IN_PLACE, e->gloc, (int)net->size, MPI_FLOAT, MPI_SUM, e->comm);
    hcsc_timer_stop(HCSC_PHASE_REDUCE);
    hcsc_timer_add_bytes(HCSC_PHASE_REDUCE, (double)net->size * sizeof(float));
    if (err != MPI_SUCCESS) err = hcsc_error_mpi(err, __FILE__, __LINE__, "MPI_Allreduce");
    HCSC_CHECK(hcsc_error_agree(e->comm, err));
  }
  for (int64_t i = 0; i < net->size; i++) net->grads[i] += e->gloc[i];
  if (dx) {
    if (!e->gset[0]) nn_tile_zero(&e->g[0]);
    nn_tile_copy(dx, &e->g[0]);
  }
cleanup:
  return err;
}
