/* hypercsc — unrolled networks: the network object (parameter table,
 * flat parameter and gradient arrays), noise estimates and the loss. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hcsc/error.h"
#include "hcsc/timer.h"
#include "nn/nn_impl.h"

/* Not collective. */
int nn_create_empty(const hcsc_nn_config *cfg, hcsc_nn **out)
{
  int err = 0;
  hcsc_nn *net = NULL;
  if (!cfg || !out) return HCSC_ERR(HCSC_EINVAL, "nn_create_empty: NULL argument");
  *out = NULL;
  if (cfg->bands < 1) return HCSC_ERR(HCSC_EINVAL, "network: %d bands", cfg->bands);
  HCSC_CALLOC(net, 1);
  net->cfg = *cfg;
  HCSC_CHECK(nn_graph_new(&net->graph, cfg->bands));
  *out = net;
  net = NULL;
cleanup:
  hcsc_nn_destroy(&net);
  return err;
}

/* Not collective. */
int nn_alloc_params(hcsc_nn *net)
{
  int err = 0;
  if (!net) return HCSC_ERR(HCSC_EINVAL, "nn_alloc_params: no network");
  if (net->params) return HCSC_ERR(HCSC_EINVAL, "nn_alloc_params: parameters already allocated");
  HCSC_CALLOC(net->params, (size_t)net->size);
  HCSC_CALLOC(net->grads, (size_t)net->size);
cleanup:
  if (err) {
    free(net->params);
    net->params = NULL;
  }
  return err;
}

/* Not collective. */
int nn_param_add(hcsc_nn *net, const char *name, int ndim, const int64_t *shape)
{
  hcsc_nn_param *p;
  int64_t count = 1;
  if (!net || !name || !shape || ndim < 1 || ndim > 4)
    return HCSC_ERR(HCSC_EINVAL, "nn_param_add: invalid arguments (ndim %d)", ndim);
  if (net->params)
    return HCSC_ERR(HCSC_EINVAL, "nn_param_add: parameter %s added after allocation", name);
  if (strlen(name) >= sizeof(p->name))
    return HCSC_ERR(HCSC_EINVAL, "nn_param_add: name %s longer than %zu characters", name,
                    sizeof(p->name) - 1);
  for (int i = 0; i < net->nparams; i++)
    if (!strcmp(net->table[i].name, name))
      return HCSC_ERR(HCSC_EINVAL, "nn_param_add: parameter %s registered twice", name);
  for (int d = 0; d < ndim; d++) {
    if (shape[d] < 1)
      return HCSC_ERR(HCSC_EINVAL, "nn_param_add: parameter %s has extent %lld in dimension %d",
                      name, (long long)shape[d], d);
    count *= shape[d];
  }
  p = realloc(net->table, sizeof(*p) * (size_t)(net->nparams + 1));
  if (!p) return HCSC_ERR(HCSC_ENOMEM, "nn_param_add: out of memory growing the table");
  net->table = p;
  p = &net->table[net->nparams];
  memset(p, 0, sizeof(*p));
  strcpy(p->name, name);
  p->ndim = ndim;
  for (int d = 0; d < ndim; d++) p->shape[d] = shape[d];
  p->offset = net->size;
  p->count = count;
  net->size += count;
  return net->nparams++;
}

/* Not collective. */
int hcsc_nn_create(const hcsc_nn_config *cfg, hcsc_nn **out)
{
  int err = 0;
  hcsc_nn *net = NULL;
  if (!out) return HCSC_ERR(HCSC_EINVAL, "hcsc_nn_create: NULL output");
  *out = NULL;
  HCSC_CHECK(nn_create_empty(cfg, &net));
  HCSC_CHECK(nn_arch_build(net));
  if (!net->params) HCSC_CHECK(nn_alloc_params(net));
  *out = net;
  net = NULL;
cleanup:
  hcsc_nn_destroy(&net);
  return err;
}

/* Not collective. */
void hcsc_nn_destroy(hcsc_nn **pnet)
{
  hcsc_nn *net;
  if (!pnet || !*pnet) return;
  net = *pnet;
  nn_graph_free(&net->graph);
  free(net->table);
  free(net->params);
  free(net->grads);
  free(net);
  *pnet = NULL;
}

/* Not collective. */
const hcsc_nn_param *hcsc_nn_find(const hcsc_nn *net, const char *name)
{
  if (!net || !name) return NULL;
  for (int i = 0; i < net->nparams; i++)
    if (!strcmp(net->table[i].name, name)) return &net->table[i];
  return NULL;
}

/* Not collective. */
void hcsc_nn_touch(hcsc_nn *net)
{
  if (net) net->version++;
}

/* Not collective. */
void hcsc_nn_zero_grad(hcsc_nn *net)
{
  if (net && net->grads) memset(net->grads, 0, sizeof(float) * (size_t)net->size);
}

/* Not collective. */
int hcsc_nn_init(hcsc_nn *net, uint64_t seed, const hcsc_dict *layers, int nlayers,
                 const double *basis)
{
  int err = 0;
  if (!net || !net->params) return HCSC_ERR(HCSC_EINVAL, "hcsc_nn_init: network not allocated");
  HCSC_CHECK(nn_arch_init(net, seed, layers, nlayers, basis));
  hcsc_nn_touch(net);
cleanup:
  return err;
}

/* Not collective. */
void hcsc_nn_noise_free(hcsc_nn_noise *nz)
{
  if (!nz) return;
  free(nz->sigma);
  free(nz->wt);
  memset(nz, 0, sizeof(*nz));
}

/* Collective on comm. */
int hcsc_nn_mse(MPI_Comm comm, const hcsc_tile *y, const hcsc_tile *clean, int64_t n,
                hcsc_tile *dy, double *loss)
{
  int err = 0;
  double acc = 0.0;
  if (!y || !clean || !y->data || !clean->data || n < 1)
    err = HCSC_ERR(HCSC_EINVAL, "hcsc_nn_mse: missing tile or count %lld", (long long)n);
  else if (!hcsc_box_same_area(&y->box, &clean->box) || y->nchan != clean->nchan ||
           (dy && (!dy->data || !hcsc_box_same_area(&y->box, &dy->box) || dy->nchan != y->nchan)))
    err = HCSC_ERR(HCSC_ESIZE, "hcsc_nn_mse: output, clean and gradient tiles differ in shape");
  HCSC_CHECK(hcsc_error_agree(comm, err));
  hcsc_timer_start(HCSC_PHASE_COMPUTE);
  {
    const int64_t nr = y->box.nr, nc = y->box.nc;
    const float inv = (float)(1.0 / (double)n);
    for (int64_t ch = 0; ch < y->nchan; ch++)
      for (int64_t r = 0; r < nr; r++) {
        const float *restrict a = &HCSC_TILE_AT(y, ch, r, 0);
        const float *restrict b = &HCSC_TILE_AT(clean, ch, r, 0);
        double racc = 0.0;
        if (dy) {
          float *restrict d = &HCSC_TILE_AT(dy, ch, r, 0);
          for (int64_t c = 0; c < nc; c++) d[c] = (a[c] - b[c]) * inv;
        }
        for (int64_t c = 0; c < nc; c++) {
          const double e = (double)a[c] - (double)b[c];
          racc += e * e;
        }
        acc += racc;
      }
  }
  hcsc_timer_stop(HCSC_PHASE_COMPUTE);
  hcsc_timer_start(HCSC_PHASE_REDUCE);
  err = MPI_Allreduce(MPI_IN_PLACE, &acc, 1, MPI_DOUBLE, MPI_SUM, comm);
  hcsc_timer_stop(HCSC_PHASE_REDUCE);
  if (err != MPI_SUCCESS) err = hcsc_error_mpi(err, __FILE__, __LINE__, "MPI_Allreduce");
  err = hcsc_error_agree(comm, err);
  if (!err && loss) *loss = 0.5 * acc / (double)n;
cleanup:
  return err;
}
