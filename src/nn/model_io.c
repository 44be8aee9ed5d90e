/* hypercsc — trained networks as NetCDF files (PnetCDF, CDF-5).
 *
 * Layout (`ncmpidump -h MODEL.nc` explains a model):
 *   global text  Conventions, title, hypercsc_version, hypercsc_kind = "model",
 *                arch, normalisation, noise, trained_on, command
 *   global int   model_version (MODEL_VERSION), bands, iters, rank, nlayers,
 *                natoms[nlayers], ksize[nlayers], scales[nlayers], momentum,
 *                nonneg, adapt, nparams
 *   global double lowpass (model_version 2: written when lowpass > 0, so
 *                that a reader of version 1 refuses the model instead of
 *                running it without its low-pass split)
 *   global int64 steps;  double val_mpsnr (NaN: none), train_seconds
 *   dimension band and double wavelength(band) when the wavelengths are known
 *   per parameter entry NAME (hcsc_nn_param): dimensions NAME_d0..NAME_d3
 *     and float NAME(NAME_d0, ...) with uint64 checksum_fnv1a64 (FNV-1a 64
 *     over the little-endian float bytes) and int index (table position).
 *
 * Models are small and replicated (every rank holds the same net): rank 0
 * does all the file work on MPI_COMM_SELF, the outcome is agreed, and a
 * load broadcasts the configuration, parameters and meta. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pnetcdf.h>

#include "hcsc/error.h"
#include "hcsc/nn.h"
#include "hcsc/scene.h"
#include "hcsc/timer.h"
#include "hcsc/train.h"
#include "io/io_impl.h"

#define MODEL_VERSION 2


/* Whatever PnetCDF rejects in a model that opened is an inconsistent file. */
#define NC_R(call, what)                                                                      \
  do {                                                                                        \
    int nc_st_ = (call);                                                                      \
    if (nc_st_ != NC_NOERR)                                                                   \
      HCSC_FAIL(HCSC_EFORMAT, "%s: inconsistent model file (%s: %s)", path, (what),           \
                ncmpi_strerror(nc_st_));                                                      \
  } while (0)

static uint64_t fnv1a64(const float *x, int64_t n)
{
  return hcsc_fnv1a(HCSC_FNV_BASIS, x, (size_t)n * sizeof(float));
}

void hcsc_nn_meta_free(hcsc_nn_meta *m)
{
  if (!m) return;
  free(m->wavelength);
  m->wavelength = NULL;
}

static int put_text(int ncid, const char *name, const char *s, const char *path)
{
  int err = 0;
  const char *v = s && s[0] ? s : "";
  /* A zero-length attribute reads back oddly in some tools: store " ". */
  NC_W(ncmpi_put_att_text(ncid, NC_GLOBAL, name, v[0] ? (MPI_Offset)strlen(v) : 1, v[0] ? v : " "), name);
cleanup:
  return err;
}

/* Rank 0's part of save: write tmp completely, flush, rename. */
static int save_local(const char *path, const hcsc_nn *net, const hcsc_nn_meta *meta)
{
  int err = 0, ncid = -1, created = 0, *varid = NULL, wlvar = -1;
  char tmp[4200], mpath[4300], name[64];
  const hcsc_nn_config *c = &net->cfg;
  const int nl = c->nlayers;
  if (snprintf(tmp, sizeof tmp, "%s.hcsc-tmp-%ld", path, (long)getpid()) >= (int)sizeof tmp)
    HCSC_FAIL(HCSC_EINVAL, "%.200s...: path too long", path);
  HCSC_CALLOC(varid, net->nparams);
  NC_W(ncmpi_create(MPI_COMM_SELF, hcsc_io_mpi_path(tmp, mpath, sizeof mpath), NC_CLOBBER | NC_64BIT_DATA,
                    MPI_INFO_NULL, &ncid),
       "cannot create");
  created = 1;
  HCSC_CHECK(put_text(ncid, "Conventions", "CF-1.8", path));
  HCSC_CHECK(put_text(ncid, "title", "hypercsc unrolled convolutional sparse-coding network", path));
  HCSC_CHECK(put_text(ncid, "hypercsc_version", PACKAGE_VERSION, path));
  HCSC_CHECK(put_text(ncid, "hypercsc_kind", "model", path));
  {
    const int version = c->lowpass > 0 ? 2 : 1, nparams = net->nparams;
    const int iv[] = {c->bands, c->iters, c->rank, c->nlayers, c->momentum, c->nonneg, c->adapt};
    const char *in[] = {"bands", "iters", "rank", "nlayers", "momentum", "nonneg", "adapt"};
    NC_W(ncmpi_put_att_int(ncid, NC_GLOBAL, "model_version", NC_INT, 1, &version), "model_version");
    HCSC_CHECK(put_text(ncid, "arch", hcsc_nn_arch_name(c->arch), path));
    for (int i = 0; i < 7; i++) NC_W(ncmpi_put_att_int(ncid, NC_GLOBAL, in[i], NC_INT, 1, &iv[i]), in[i]);
    NC_W(ncmpi_put_att_int(ncid, NC_GLOBAL, "natoms", NC_INT, nl, c->natoms), "natoms");
    NC_W(ncmpi_put_att_int(ncid, NC_GLOBAL, "ksize", NC_INT, nl, c->ksize), "ksize");
    NC_W(ncmpi_put_att_int(ncid, NC_GLOBAL, "scales", NC_INT, nl, c->scales), "scales");
    NC_W(ncmpi_put_att_int(ncid, NC_GLOBAL, "nparams", NC_INT, 1, &nparams), "nparams");
    if (c->lowpass > 0) NC_W(ncmpi_put_att_double(ncid, NC_GLOBAL, "lowpass", NC_DOUBLE, 1, &c->lowpass), "lowpass");
  }
  {
    hcsc_nn_meta none;
    memset(&none, 0, sizeof none);
    none.val_mpsnr = NAN;
    if (!meta) meta = &none;
    long long steps = meta->steps;
    HCSC_CHECK(put_text(ncid, "normalisation", meta->normalisation, path));
    HCSC_CHECK(put_text(ncid, "noise", meta->noise, path));
    HCSC_CHECK(put_text(ncid, "trained_on", meta->trained_on, path));
    HCSC_CHECK(put_text(ncid, "command", meta->command, path));
    NC_W(ncmpi_put_att_longlong(ncid, NC_GLOBAL, "steps", NC_INT64, 1, &steps), "steps");
    NC_W(ncmpi_put_att_double(ncid, NC_GLOBAL, "val_mpsnr", NC_DOUBLE, 1, &meta->val_mpsnr), "val_mpsnr");
    NC_W(ncmpi_put_att_double(ncid, NC_GLOBAL, "train_seconds", NC_DOUBLE, 1, &meta->train_seconds),
         "train_seconds");
    if (meta->wavelength) {
      int bdim;
      NC_W(ncmpi_def_dim(ncid, "band", c->bands, &bdim), "defining band");
      NC_W(ncmpi_def_var(ncid, "wavelength", NC_DOUBLE, 1, &bdim, &wlvar), "defining wavelength");
      NC_W(ncmpi_put_att_text(ncid, wlvar, "units", 2, "nm"), "wavelength units");
    }
  }
  for (int p = 0; p < net->nparams; p++) {
    const hcsc_nn_param *e = &net->table[p];
    int dims[4];
    unsigned long long ck = fnv1a64(net->params + e->offset, e->count);
    for (int d = 0; d < e->ndim; d++) {
      snprintf(name, sizeof name, "%s_d%d", e->name, d);
      NC_W(ncmpi_def_dim(ncid, name, e->shape[d], &dims[d]), "defining a parameter dimension");
    }
    NC_W(ncmpi_def_var(ncid, e->name, NC_FLOAT, e->ndim, dims, &varid[p]), e->name);
    NC_W(ncmpi_put_att_ulonglong(ncid, varid[p], "checksum_fnv1a64", NC_UINT64, 1, &ck), e->name);
    NC_W(ncmpi_put_att_int(ncid, varid[p], "index", NC_INT, 1, &p), e->name);
  }
  NC_W(ncmpi_enddef(ncid), "ending define mode");
  if (wlvar >= 0) NC_W(ncmpi_put_var_double_all(ncid, wlvar, meta->wavelength), "writing wavelength");
  for (int p = 0; p < net->nparams; p++)
    NC_W(ncmpi_put_var_float_all(ncid, varid[p], net->params + net->table[p].offset), net->table[p].name);
  HCSC_CHECK(hcsc_io_nc_finish(&ncid, tmp, path, "model"));
cleanup:
  if (ncid >= 0) ncmpi_close(ncid);
  if (err < 0 && created) unlink(tmp);
  free(varid);
  return err;
}

/* See nn.h.  Collective on comm. */
int hcsc_nn_save(MPI_Comm comm, const char *path, const hcsc_nn *net, const hcsc_nn_meta *meta,
                 int force)
{
  int err = 0, rank;
  MPI_Comm_rank(comm, &rank);
  if (!path || !net || !net->params || net->nparams < 1)
    err = HCSC_ERR(HCSC_EINVAL, "hcsc_nn_save: %s: no network to save", path ? path : "(no path)");
  HCSC_CHECK(hcsc_error_agree(comm, err));
  HCSC_CHECK(hcsc_output_check(comm, path, force));
  if (rank == 0) {
    hcsc_timer_start(HCSC_PHASE_IO_WRITE);
    err = save_local(path, net, meta);
    hcsc_timer_stop(HCSC_PHASE_IO_WRITE);
  }
cleanup:
  return hcsc_error_agree(comm, err);
}

static int get_text(int ncid, const char *name, char *buf, size_t n, const char *path)
{
  int err = 0;
  MPI_Offset len = 0;
  nc_type t;
  buf[0] = '\0';
  if (ncmpi_inq_att(ncid, NC_GLOBAL, name, &t, &len) != NC_NOERR) return 0; /* optional */
  if (t != NC_CHAR || len < 0 || (size_t)len >= n)
    HCSC_FAIL(HCSC_EFORMAT, "%s: inconsistent model file (attribute %s is not text of < %zu chars)", path,
              name, n);
  NC_R(ncmpi_get_att_text(ncid, NC_GLOBAL, name, buf), name);
  buf[len] = '\0';
  if (len == 1 && buf[0] == ' ') buf[0] = '\0';
cleanup:
  return err;
}

static int get_ints(int ncid, const char *name, int *v, int n, const char *path)
{
  int err = 0;
  MPI_Offset len = 0;
  nc_type t;
  NC_R(ncmpi_inq_att(ncid, NC_GLOBAL, name, &t, &len), name);
  if (len != n)
    HCSC_FAIL(HCSC_EFORMAT, "%s: inconsistent model file (attribute %s has %lld values, expected %d)", path,
              name, (long long)len, n);
  NC_R(ncmpi_get_att_int(ncid, NC_GLOBAL, name, v), name);
cleanup:
  return err;
}

/* Rank 0's part of load: every check, then the parameters and meta. */
static int load_local(const char *path, hcsc_nn **out, hcsc_nn_meta *meta)
{
  int err = 0, ncid = -1, version = 0, nparams = 0;
  char mpath[4300], text[64], name[64];
  hcsc_nn_config cfg;
  hcsc_nn *net = NULL;
  struct stat st;
  memset(&cfg, 0, sizeof cfg);
  if (stat(path, &st) != 0) {
    err = HCSC_ERR_ERRNO(path, "cannot open model");
    goto cleanup;
  }
  {
    int s = ncmpi_open(MPI_COMM_SELF, hcsc_io_mpi_path(path, mpath, sizeof mpath), NC_NOWRITE,
                       MPI_INFO_NULL, &ncid);
    if (s != NC_NOERR) {
      ncid = -1;
      if (s == NC_EACCESS || s == NC_EPERM)
        HCSC_FAIL(HCSC_EACCES, "%s: cannot open model: %s", path, ncmpi_strerror(s));
      HCSC_FAIL(HCSC_EFORMAT, "%s: not a model (not a NetCDF file, or its header is truncated: %s)", path,
                ncmpi_strerror(s));
    }
  }
  {
    MPI_Offset len = 0;
    nc_type t;
    if (ncmpi_inq_att(ncid, NC_GLOBAL, "hypercsc_kind", &t, &len) != NC_NOERR || t != NC_CHAR ||
        len >= (MPI_Offset)sizeof text)
      HCSC_FAIL(HCSC_EFORMAT, "%s: not a model (no hypercsc_kind attribute)", path);
    NC_R(ncmpi_get_att_text(ncid, NC_GLOBAL, "hypercsc_kind", text), "hypercsc_kind");
    text[len] = '\0';
    if (strcmp(text, "model") != 0)
      HCSC_FAIL(HCSC_EFORMAT, "%s: not a model (hypercsc_kind is \"%s\")", path, text);
  }
  HCSC_CHECK(get_ints(ncid, "model_version", &version, 1, path));
  if (version > MODEL_VERSION)
    HCSC_FAIL(HCSC_EFORMAT, "%s: model version %d is newer than this hypercsc reads (%d): upgrade hypercsc",
              path, version, MODEL_VERSION);
  if (version < 1) HCSC_FAIL(HCSC_EFORMAT, "%s: inconsistent model file (model_version %d)", path, version);
  HCSC_CHECK(get_text(ncid, "arch", text, sizeof text, path));
  if (hcsc_nn_arch_parse(text, &cfg.arch) < 0)
    HCSC_FAIL(HCSC_EFORMAT, "%s: inconsistent model file (unknown architecture \"%s\")", path, text);
  {
    int iv[7];
    const char *in[] = {"bands", "iters", "rank", "nlayers", "momentum", "nonneg", "adapt"};
    for (int i = 0; i < 7; i++) HCSC_CHECK(get_ints(ncid, in[i], &iv[i], 1, path));
    cfg.bands = iv[0], cfg.iters = iv[1], cfg.rank = iv[2], cfg.nlayers = iv[3];
    cfg.momentum = iv[4], cfg.nonneg = iv[5], cfg.adapt = iv[6];
    if (cfg.nlayers < 1 || cfg.nlayers > HCSC_NN_MAX_LAYERS)
      HCSC_FAIL(HCSC_EFORMAT, "%s: inconsistent model file (nlayers %d)", path, cfg.nlayers);
    HCSC_CHECK(get_ints(ncid, "natoms", cfg.natoms, cfg.nlayers, path));
    HCSC_CHECK(get_ints(ncid, "ksize", cfg.ksize, cfg.nlayers, path));
    HCSC_CHECK(get_ints(ncid, "scales", cfg.scales, cfg.nlayers, path));
    HCSC_CHECK(get_ints(ncid, "nparams", &nparams, 1, path));
    if (version >= 2) {
      MPI_Offset len = 0;
      nc_type t;
      NC_R(ncmpi_inq_att(ncid, NC_GLOBAL, "lowpass", &t, &len), "lowpass");
      if (len != 1)
        HCSC_FAIL(HCSC_EFORMAT, "%s: inconsistent model file (attribute lowpass has %lld values)", path,
                  (long long)len);
      NC_R(ncmpi_get_att_double(ncid, NC_GLOBAL, "lowpass", &cfg.lowpass), "lowpass");
    }
  }
  if (hcsc_nn_config_check(&cfg) < 0)
    HCSC_FAIL(HCSC_EFORMAT, "%s: inconsistent model file (%s)", path, hcsc_error_message());
  {
    int e = hcsc_nn_create(&cfg, &net);
    if (e < 0) HCSC_FAIL(e == HCSC_ENOMEM ? e : HCSC_EFORMAT, "%s: inconsistent model file (%s)", path,
                         hcsc_error_message());
  }
  if (nparams != net->nparams)
    HCSC_FAIL(HCSC_EFORMAT, "%s: inconsistent model file (%d parameter entries, the %s configuration has %d)",
              path, nparams, hcsc_nn_arch_name(cfg.arch), net->nparams);
  for (int p = 0; p < net->nparams; p++) {
    const hcsc_nn_param *e = &net->table[p];
    int varid, ndims, dimids[4];
    nc_type t;
    MPI_Offset off;
    unsigned long long ck = 0;
    if (ncmpi_inq_varid(ncid, e->name, &varid) != NC_NOERR)
      HCSC_FAIL(HCSC_EFORMAT, "%s: inconsistent model file (parameter %s missing)", path, e->name);
    NC_R(ncmpi_inq_var(ncid, varid, NULL, &t, &ndims, dimids, NULL), e->name);
    if (t != NC_FLOAT || ndims != e->ndim)
      HCSC_FAIL(HCSC_EFORMAT, "%s: inconsistent model file (%s is not a %d-D float variable)", path, e->name,
                e->ndim);
    for (int d = 0; d < ndims; d++) {
      MPI_Offset len;
      NC_R(ncmpi_inq_dimlen(ncid, dimids[d], &len), e->name);
      if (len != e->shape[d])
        HCSC_FAIL(HCSC_EFORMAT, "%s: inconsistent model file (%s has length %lld in dimension %d, the "
                  "hyperparameters say %lld)", path, e->name, (long long)len, d, (long long)e->shape[d]);
    }
    NC_R(ncmpi_inq_varoffset(ncid, varid, &off), e->name);
    if ((long long)st.st_size < (long long)off + (long long)sizeof(float) * e->count)
      HCSC_FAIL(HCSC_EFORMAT, "%s: truncated (%lld bytes, parameter %s ends at byte %lld)", path,
                (long long)st.st_size, e->name, (long long)off + (long long)sizeof(float) * e->count);
    NC_R(ncmpi_get_att_ulonglong(ncid, varid, "checksum_fnv1a64", &ck), e->name);
    NC_R(ncmpi_get_var_float_all(ncid, varid, net->params + e->offset), e->name);
    if (fnv1a64(net->params + e->offset, e->count) != ck)
      HCSC_FAIL(HCSC_EFORMAT, "%s: corrupted (checksum of parameter %s does not match)", path, e->name);
  }
  if (meta) {
    int wv;
    long long steps = 0;
    memset(meta, 0, sizeof *meta);
    meta->val_mpsnr = NAN;
    HCSC_CHECK(get_text(ncid, "normalisation", meta->normalisation, sizeof meta->normalisation, path));
    HCSC_CHECK(get_text(ncid, "noise", meta->noise, sizeof meta->noise, path));
    HCSC_CHECK(get_text(ncid, "trained_on", meta->trained_on, sizeof meta->trained_on, path));
    HCSC_CHECK(get_text(ncid, "command", meta->command, sizeof meta->command, path));
    if (ncmpi_get_att_longlong(ncid, NC_GLOBAL, "steps", &steps) == NC_NOERR) meta->steps = steps;
    if (ncmpi_get_att_double(ncid, NC_GLOBAL, "val_mpsnr", &meta->val_mpsnr) != NC_NOERR) meta->val_mpsnr = NAN;
    if (ncmpi_get_att_double(ncid, NC_GLOBAL, "train_seconds", &meta->train_seconds) != NC_NOERR)
      meta->train_seconds = 0;
    if (ncmpi_inq_varid(ncid, "wavelength", &wv) == NC_NOERR) {
      int nd, did;
      MPI_Offset len = 0;
      NC_R(ncmpi_inq_var(ncid, wv, NULL, NULL, &nd, &did, NULL), "wavelength");
      if (nd == 1) NC_R(ncmpi_inq_dimlen(ncid, did, &len), "wavelength");
      if (nd != 1 || len != cfg.bands)
        HCSC_FAIL(HCSC_EFORMAT, "%s: inconsistent model file (wavelength is not [%d])", path, cfg.bands);
      HCSC_CALLOC(meta->wavelength, cfg.bands);
      NC_R(ncmpi_get_var_double_all(ncid, wv, meta->wavelength), "wavelength");
    }
  }
  (void)name;
  *out = net;
  net = NULL;
cleanup:
  if (ncid >= 0) ncmpi_close(ncid);
  if (err < 0 && meta) hcsc_nn_meta_free(meta);
  hcsc_nn_destroy(&net);
  return err;
}

/* Broadcast a float array of any length in pieces that fit an int count. */
static int bcast_floats(float *x, int64_t n, MPI_Comm comm)
{
  int err = 0;
  for (int64_t i = 0; i < n; i += 1 << 28) {
    int cnt = (int)(n - i < (1 << 28) ? n - i : (1 << 28));
    HCSC_MPI(MPI_Bcast(x + i, cnt, MPI_FLOAT, 0, comm));
  }
cleanup:
  return err;
}

/* See nn.h.  Collective on comm. */
int hcsc_nn_load(MPI_Comm comm, const char *path, hcsc_nn **out, hcsc_nn_meta *meta)
{
  int err = 0, rank, hdr[6 + 3 * HCSC_NN_MAX_LAYERS + 2];
  hcsc_nn *net = NULL;
  hcsc_nn_meta m;
  double dv[4];
  memset(&m, 0, sizeof m);
  MPI_Comm_rank(comm, &rank);
  if (!path || !out) err = HCSC_ERR(HCSC_EINVAL, "hcsc_nn_load: no path or output");
  else *out = NULL;
  HCSC_CHECK(hcsc_error_agree(comm, err));
  hcsc_timer_start(HCSC_PHASE_IO_READ);
  if (rank == 0) err = load_local(path, &net, &m);
  hcsc_timer_stop(HCSC_PHASE_IO_READ);
  HCSC_CHECK(hcsc_error_agree(comm, err));
  if (rank == 0) {
    const hcsc_nn_config *c = &net->cfg;
    int k = 0;
    hdr[k++] = (int)c->arch, hdr[k++] = c->bands, hdr[k++] = c->iters, hdr[k++] = c->rank;
    hdr[k++] = c->nlayers, hdr[k++] = c->momentum;
    for (int l = 0; l < HCSC_NN_MAX_LAYERS; l++)
      hdr[k++] = c->natoms[l], hdr[k++] = c->ksize[l], hdr[k++] = c->scales[l];
    hdr[k++] = c->nonneg, hdr[k++] = c->adapt;
    dv[0] = (double)m.steps, dv[1] = m.val_mpsnr, dv[2] = m.train_seconds, dv[3] = c->lowpass;
  }
  HCSC_MPI(MPI_Bcast(hdr, (int)(sizeof hdr / sizeof hdr[0]), MPI_INT, 0, comm));
  HCSC_MPI(MPI_Bcast(dv, 4, MPI_DOUBLE, 0, comm));
  /* The text meta travels as the struct's fixed-size character arrays. */
  HCSC_MPI(MPI_Bcast(m.normalisation, (int)sizeof m.normalisation, MPI_CHAR, 0, comm));
  HCSC_MPI(MPI_Bcast(m.noise, (int)sizeof m.noise, MPI_CHAR, 0, comm));
  HCSC_MPI(MPI_Bcast(m.trained_on, (int)sizeof m.trained_on, MPI_CHAR, 0, comm));
  HCSC_MPI(MPI_Bcast(m.command, (int)sizeof m.command, MPI_CHAR, 0, comm));
  if (rank != 0) {
    hcsc_nn_config c;
    int k = 0;
    memset(&c, 0, sizeof c);
    c.arch = (hcsc_nn_arch)hdr[k++], c.bands = hdr[k++], c.iters = hdr[k++], c.rank = hdr[k++];
    c.nlayers = hdr[k++], c.momentum = hdr[k++];
    for (int l = 0; l < HCSC_NN_MAX_LAYERS; l++)
      c.natoms[l] = hdr[k++], c.ksize[l] = hdr[k++], c.scales[l] = hdr[k++];
    c.nonneg = hdr[k++], c.adapt = hdr[k++];
    m.steps = (int64_t)dv[0], m.val_mpsnr = dv[1], m.train_seconds = dv[2], c.lowpass = dv[3];
    err = hcsc_nn_create(&c, &net);
  }
  HCSC_CHECK(hcsc_error_agree(comm, err));
  {
    int haswl = rank == 0 && m.wavelength;
    HCSC_MPI(MPI_Bcast(&haswl, 1, MPI_INT, 0, comm));
    if (haswl && rank != 0 && !(m.wavelength = calloc((size_t)net->cfg.bands, sizeof(double))))
      err = HCSC_ERR(HCSC_ENOMEM, "%s: out of memory for wavelengths", path);
    HCSC_CHECK(hcsc_error_agree(comm, err));
    if (haswl) HCSC_MPI(MPI_Bcast(m.wavelength, net->cfg.bands, MPI_DOUBLE, 0, comm));
  }
  HCSC_CHECK(bcast_floats(net->params, net->size, comm));
  hcsc_nn_touch(net);
cleanup:
  err = hcsc_error_agree(comm, err);
  if (!err) {
    *out = net;
    net = NULL;
    if (meta) {
      *meta = m;
      memset(&m, 0, sizeof m);
    }
  }
  hcsc_nn_meta_free(&m);
  hcsc_nn_destroy(&net);
  return err;
}

/* See train.h.  Collective on comm. */
int hcsc_nn_is_model(MPI_Comm comm, const char *path, int *yes)
{
  int err = 0, rank, y = 0;
  MPI_Comm_rank(comm, &rank);
  if (rank == 0 && path) {
    char mpath[4300], text[16];
    int ncid;
    MPI_Offset len = 0;
    nc_type t;
    /* Quietly: a scene in another format is simply not a model. */
    if (ncmpi_open(MPI_COMM_SELF, hcsc_io_mpi_path(path, mpath, sizeof mpath), NC_NOWRITE, MPI_INFO_NULL,
                   &ncid) == NC_NOERR) {
      if (ncmpi_inq_att(ncid, NC_GLOBAL, "hypercsc_kind", &t, &len) == NC_NOERR && t == NC_CHAR &&
          len == 5 && ncmpi_get_att_text(ncid, NC_GLOBAL, "hypercsc_kind", text) == NC_NOERR &&
          memcmp(text, "model", 5) == 0)
        y = 1;
      ncmpi_close(ncid);
    }
  }
  HCSC_MPI(MPI_Bcast(&y, 1, MPI_INT, 0, comm));
  *yes = y;
cleanup:
  return err;
}
