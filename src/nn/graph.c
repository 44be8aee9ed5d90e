/* hypercsc — unrolled networks: building the graph of layers (the ops and
 * tensors that nn_impl.h describes).  The builders check each op against
 * the parameter table (shapes, channel counts) so that a graph which builds
 * runs; the executor is src/nn/exec.c. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "hcsc/error.h"
#include "nn/nn_impl.h"

/* ---- building ---------------------------------------------------------- */

/* Not collective.  Replaces (frees) a graph already at *g. */
int nn_graph_new(nn_graph **g, int64_t input_channels)
{
  int err = 0;
  nn_graph *gr = NULL;
  if (!g || input_channels < 1)
    return HCSC_ERR(HCSC_EINVAL, "nn_graph_new: invalid input channel count %lld",
                    (long long)input_channels);
  nn_graph_free(g);
  HCSC_CALLOC(gr, 1);
  gr->cap_tensors = 16;
  HCSC_CALLOC(gr->tensors, gr->cap_tensors);
  gr->ntensors = 1;
  gr->tensors[0].nchan = input_channels;
  gr->output = 0;
  *g = gr;
  gr = NULL;
cleanup:
  nn_graph_free(&gr);
  return err;
}

/* Not collective. */
void nn_graph_free(nn_graph **g)
{
  if (!g || !*g) return;
  free((*g)->ops);
  free((*g)->tensors);
  free(*g);
  *g = NULL;
}

static int check_tensor(const nn_graph *g, int t, const char *what)
{
  if (t < 0 || t >= g->ntensors)
    return HCSC_ERR(HCSC_EINVAL, "network graph: %s reads tensor %d of %d", what, t, g->ntensors);
  return 0;
}

static int check_param(const hcsc_nn *net, int p, int ndim, const char *what)
{
  if (p < 0 || p >= net->nparams)
    return HCSC_ERR(HCSC_EINVAL, "network graph: %s uses parameter %d of %d", what, p,
                    net->nparams);
  if (ndim && net->table[p].ndim != ndim)
    return HCSC_ERR(HCSC_EINVAL, "network graph: %s needs a %d-d parameter, %s is %d-d", what,
                    ndim, net->table[p].name, net->table[p].ndim);
  return 0;
}

/* Append op (its out set here) with a new tensor of nchan channels. */
static int append(hcsc_nn *net, nn_op *op, int64_t nchan)
{
  nn_graph *g = net ? net->graph : NULL;
  if (!g) return HCSC_ERR(HCSC_EINVAL, "network graph: no graph (nn_graph_new first)");
  if (g->nops == g->cap_ops) {
    int cap = g->cap_ops ? 2 * g->cap_ops : 16;
    nn_op *o = realloc(g->ops, sizeof(*o) * (size_t)cap);
    if (!o) return HCSC_ERR(HCSC_ENOMEM, "network graph: out of memory for %d ops", cap);
    g->ops = o;
    g->cap_ops = cap;
  }
  if (g->ntensors == g->cap_tensors) {
    int cap = 2 * g->cap_tensors;
    nn_tensor_desc *t = realloc(g->tensors, sizeof(*t) * (size_t)cap);
    if (!t) return HCSC_ERR(HCSC_ENOMEM, "network graph: out of memory for %d tensors", cap);
    g->tensors = t;
    g->cap_tensors = cap;
  }
  op->out = g->ntensors;
  g->tensors[g->ntensors].nchan = nchan;
  g->ops[g->nops++] = *op;
  g->output = op->out;
  return g->ntensors++;
}

static int conv_op(hcsc_nn *net, nn_op_kind kind, int param, int in)
{
  int err = 0;
  nn_op op;
  const char *what = kind == NN_OP_SYNTH ? "synthesis" : "analysis";
  const hcsc_nn_param *p;
  int64_t need, give;
  if (!net || !net->graph) return HCSC_ERR(HCSC_EINVAL, "network graph: no graph");
  HCSC_CHECK(check_tensor(net->graph, in, what));
  HCSC_CHECK(check_param(net, param, 4, what));
  p = &net->table[param];
  if (p->shape[2] != p->shape[3] || p->shape[2] % 2 == 0)
    HCSC_FAIL(HCSC_EINVAL, "network graph: %s atoms %s are %lld x %lld, odd square expected",
              what, p->name, (long long)p->shape[2], (long long)p->shape[3]);
  need = kind == NN_OP_SYNTH ? p->shape[0] : p->shape[1];
  give = kind == NN_OP_SYNTH ? p->shape[1] : p->shape[0];
  if (net->graph->tensors[in].nchan != need)
    HCSC_FAIL(HCSC_EINVAL, "network graph: %s with %s needs %lld channels, tensor %d has %lld",
              what, p->name, (long long)need, in, (long long)net->graph->tensors[in].nchan);
  memset(&op, 0, sizeof(op));
  op.kind = kind;
  op.in = in;
  op.param = param;
  return append(net, &op, give);
cleanup:
  return err;
}

int nn_synth(hcsc_nn *net, int param, int in) { return conv_op(net, NN_OP_SYNTH, param, in); }
int nn_analysis(hcsc_nn *net, int param, int in) { return conv_op(net, NN_OP_ANALYSIS, param, in); }

int nn_thresh(hcsc_nn *net, int param, int64_t row, int64_t stride, int in)
{
  int err = 0;
  nn_op op;
  int64_t nchan;
  if (!net || !net->graph) return HCSC_ERR(HCSC_EINVAL, "network graph: no graph");
  HCSC_CHECK(check_tensor(net->graph, in, "threshold"));
  HCSC_CHECK(check_param(net, param, 0, "threshold"));
  nchan = net->graph->tensors[in].nchan;
  if (row < 0 || stride < nchan || row * stride + nchan > net->table[param].count)
    HCSC_FAIL(HCSC_EINVAL, "network graph: threshold row %lld (stride %lld) of %s does not hold "
              "%lld channels", (long long)row, (long long)stride, net->table[param].name,
              (long long)nchan);
  memset(&op, 0, sizeof(op));
  op.kind = NN_OP_THRESH;
  op.in = in;
  op.param = param;
  op.row = row;
  op.stride = stride;
  return append(net, &op, nchan);
cleanup:
  return err;
}

int nn_lincomb(hcsc_nn *net, int nterms, const nn_term *terms)
{
  int err = 0;
  nn_op op;
  int64_t nchan;
  if (!net || !net->graph || !terms || nterms < 1 || nterms > NN_MAX_TERMS)
    return HCSC_ERR(HCSC_EINVAL, "network graph: linear combination of %d terms", nterms);
  memset(&op, 0, sizeof(op));
  op.kind = NN_OP_LINCOMB;
  op.param = -1;
  op.in = terms[0].tensor;
  op.nterms = nterms;
  for (int i = 0; i < nterms; i++) {
    HCSC_CHECK(check_tensor(net->graph, terms[i].tensor, "linear combination"));
    if (net->graph->tensors[terms[i].tensor].nchan != net->graph->tensors[terms[0].tensor].nchan)
      HCSC_FAIL(HCSC_EINVAL, "network graph: linear combination of tensors with %lld and %lld "
                "channels", (long long)net->graph->tensors[terms[0].tensor].nchan,
                (long long)net->graph->tensors[terms[i].tensor].nchan);
    if (terms[i].param >= 0) {
      HCSC_CHECK(check_param(net, terms[i].param, 0, "linear combination"));
      if (terms[i].poff < 0 || terms[i].poff >= net->table[terms[i].param].count)
        HCSC_FAIL(HCSC_EINVAL, "network graph: element %lld of %s out of range",
                  (long long)terms[i].poff, net->table[terms[i].param].name);
    }
    op.terms[i] = terms[i];
  }
  nchan = net->graph->tensors[terms[0].tensor].nchan;
  return append(net, &op, nchan);
cleanup:
  return err;
}

int nn_bandweight(hcsc_nn *net, int param, int in)
{
  int err = 0;
  nn_op op;
  if (!net || !net->graph) return HCSC_ERR(HCSC_EINVAL, "network graph: no graph");
  HCSC_CHECK(check_tensor(net->graph, in, "band weights"));
  HCSC_CHECK(check_param(net, param, 0, "band weights"));
  if (net->table[param].count != net->graph->tensors[in].nchan ||
      net->graph->tensors[in].nchan != net->cfg.bands)
    HCSC_FAIL(HCSC_EINVAL, "network graph: band weights %s (%lld) on a tensor of %lld channels "
              "(%d bands)", net->table[param].name, (long long)net->table[param].count,
              (long long)net->graph->tensors[in].nchan, net->cfg.bands);
  memset(&op, 0, sizeof(op));
  op.kind = NN_OP_BANDWEIGHT;
  op.in = in;
  op.param = param;
  return append(net, &op, net->graph->tensors[in].nchan);
cleanup:
  return err;
}

int nn_spectral(hcsc_nn *net, int param, int in)
{
  int err = 0;
  nn_op op;
  if (!net || !net->graph) return HCSC_ERR(HCSC_EINVAL, "network graph: no graph");
  HCSC_CHECK(check_tensor(net->graph, in, "spectral layer"));
  HCSC_CHECK(check_param(net, param, 2, "spectral layer"));
  if (net->table[param].shape[1] != net->graph->tensors[in].nchan)
    HCSC_FAIL(HCSC_EINVAL, "network graph: spectral matrix %s takes %lld channels, tensor %d has "
              "%lld", net->table[param].name, (long long)net->table[param].shape[1], in,
              (long long)net->graph->tensors[in].nchan);
  memset(&op, 0, sizeof(op));
  op.kind = NN_OP_SPECTRAL;
  op.in = in;
  op.param = param;
  return append(net, &op, net->table[param].shape[0]);
cleanup:
  return err;
}

int nn_lattice(hcsc_nn *net, int scale, int in)
{
  int err = 0;
  nn_op op;
  if (!net || !net->graph) return HCSC_ERR(HCSC_EINVAL, "network graph: no graph");
  HCSC_CHECK(check_tensor(net->graph, in, "lattice"));
  if (scale < 1) HCSC_FAIL(HCSC_EINVAL, "network graph: lattice of scale %d", scale);
  memset(&op, 0, sizeof(op));
  op.kind = NN_OP_LATTICE;
  op.in = in;
  op.param = -1;
  op.scale = scale;
  return append(net, &op, net->graph->tensors[in].nchan);
cleanup:
  return err;
}

void nn_graph_output(hcsc_nn *net, int tensor)
{
  if (net && net->graph && tensor >= 0 && tensor < net->graph->ntensors)
    net->graph->output = tensor;
}
