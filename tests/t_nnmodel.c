/* Model files (src/nn/model_io.c): a save/load round trip of every
 * architecture (parameters bit-identical, configuration and meta equal),
 * HCSC_EEXIST without force, and bad files, each a one-line HCSC_EFORMAT
 * naming the problem, the same code and message on every rank:
 * corrupted (a flipped byte in a parameter: checksum), truncated (data,
 * then header), not a model (a NetCDF scene-like file), a newer version,
 * and an inconsistent file (a parameter of another shape). */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pnetcdf.h>

#include "hypercsc.h"
#include "testutil.h"

#define B 5

static void small_config(hcsc_nn_arch a, hcsc_nn_config *c)
{
  hcsc_nn_config_default(a, B, c);
  c->iters = 2;
  for (int l = 0; l < HCSC_NN_MAX_LAYERS; l++) c->natoms[l] = 4, c->ksize[l] = 3;
  if (a == HCSC_NN_MLISTA) c->nlayers = 2, c->momentum = 1;
  if (a == HCSC_NN_MULTISCALE) c->nlayers = 2, c->scales[0] = 1, c->scales[1] = 2, c->ksize[1] = 5;
  if (a == HCSC_NN_SSC) c->rank = 2, c->nonneg = 1, c->lowpass = 2.5; /* model_version 2 */
  if (a == HCSC_NN_FISTA) c->adapt = 0;
}

/* Every rank agrees the message is the same (length and bytes). */
static void same_message(const char *label)
{
  const char *m = hcsc_error_message();
  unsigned long h = 5381, lo, hi;
  for (const char *p = m; *p; p++) h = h * 33 + (unsigned char)*p;
  MPI_Allreduce(&h, &lo, 1, MPI_UNSIGNED_LONG, MPI_MIN, MPI_COMM_WORLD);
  MPI_Allreduce(&h, &hi, 1, MPI_UNSIGNED_LONG, MPI_MAX, MPI_COMM_WORLD);
  TEST_ASSERT(lo == hi, "%s: ranks report different messages (rank %d: %s)", label, test_rank(), m);
  TEST_ASSERT(strchr(m, '\n') == NULL, "%s: message is not one line: %s", label, m);
  if (test_rank() == 0) printf("  %s: %s\n", label, m);
}

static int copy_file(const char *from, const char *to)
{
  FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
  char buf[4096];
  size_t n;
  int ok = a && b;
  while (ok && (n = fread(buf, 1, sizeof buf, a)) > 0) ok = fwrite(buf, 1, n, b) == n;
  if (a) fclose(a);
  if (b && fclose(b) != 0) ok = 0;
  return ok ? 0 : -1;
}

static long file_size(const char *p)
{
  FILE *f = fopen(p, "rb");
  long n = -1;
  if (f && fseek(f, 0, SEEK_END) == 0) n = ftell(f);
  if (f) fclose(f);
  return n;
}

int main(int argc, char **argv)
{
  char path[1024], bad[1024];
  const char *tmp;
  test_init(&argc, &argv);
  tmp = test_tmp_dir();
  const int rank = test_rank();
  double basis[B * 2];
  memset(basis, 0, sizeof basis);
  basis[0] = 1, basis[B + 1] = 1; /* two unit vectors: an orthonormal B x 2 basis */
  hcsc_nn *keep = NULL;

  for (int a = 0; a < HCSC_NN_NARCH; a++) {
    hcsc_nn_config c;
    hcsc_nn *net = NULL, *back = NULL;
    hcsc_nn_meta m, mb;
    double wl[B];
    memset(&m, 0, sizeof m);
    memset(&mb, 0, sizeof mb);
    small_config((hcsc_nn_arch)a, &c);
    TEST_OK(hcsc_nn_create(&c, &net));
    if (!net) break;
    TEST_OK(hcsc_nn_init(net, 7, NULL, 0, a == HCSC_NN_SSC ? basis : NULL));
    /* Values with every bit pattern class: negatives, tiny, non-round. */
    for (int64_t i = 0; i < net->size; i++) net->params[i] += (float)(sin(1.7 * (double)i) * 1e-3);
    for (int b = 0; b < B; b++) wl[b] = 400.5 + 10 * b;
    m.wavelength = a % 2 ? NULL : wl;
    snprintf(m.normalisation, sizeof m.normalisation, "none (homogeneous)");
    snprintf(m.noise, sizeof m.noise, "noniid");
    snprintf(m.trained_on, sizeof m.trained_on, "a.nc,b.nc");
    snprintf(m.command, sizeof m.command, "hypercsc train --arch %s", hcsc_nn_arch_name((hcsc_nn_arch)a));
    m.steps = 1234567890123LL;
    m.val_mpsnr = a == 3 ? NAN : 31.25 + a;
    m.train_seconds = 12.5;
    snprintf(path, sizeof path, "%s/model_%s.nc", tmp, hcsc_nn_arch_name((hcsc_nn_arch)a));
    TEST_OK(hcsc_nn_save(MPI_COMM_WORLD, path, net, &m, 1));
    test_expect_error(hcsc_nn_save(MPI_COMM_WORLD, path, net, &m, 0), HCSC_EEXIST, NULL, "save without force");
    TEST_OK(hcsc_nn_load(MPI_COMM_WORLD, path, &back, &mb));
    if (back) {
      const hcsc_nn_config *x = &net->cfg, *y = &back->cfg;
      int same = x->arch == y->arch && x->bands == y->bands && x->iters == y->iters && x->rank == y->rank &&
                 x->nlayers == y->nlayers && x->momentum == y->momentum && x->nonneg == y->nonneg &&
                 x->adapt == y->adapt && x->lowpass == y->lowpass;
      for (int l = 0; l < x->nlayers; l++)
        same = same && x->natoms[l] == y->natoms[l] && x->ksize[l] == y->ksize[l] && x->scales[l] == y->scales[l];
      TEST_ASSERT(same, "%s: configuration differs after the round trip", hcsc_nn_arch_name((hcsc_nn_arch)a));
      TEST_ASSERT(back->size == net->size && memcmp(back->params, net->params, (size_t)net->size * 4) == 0,
                  "%s: parameters not bit-identical", hcsc_nn_arch_name((hcsc_nn_arch)a));
      TEST_ASSERT(strcmp(mb.normalisation, m.normalisation) == 0 && strcmp(mb.noise, m.noise) == 0 &&
                  strcmp(mb.trained_on, m.trained_on) == 0 && strcmp(mb.command, m.command) == 0 &&
                  mb.steps == m.steps && mb.train_seconds == m.train_seconds &&
                  (mb.val_mpsnr == m.val_mpsnr || (isnan(mb.val_mpsnr) && isnan(m.val_mpsnr))),
                  "%s: meta differs after the round trip", hcsc_nn_arch_name((hcsc_nn_arch)a));
      TEST_ASSERT(!m.wavelength == !mb.wavelength, "wavelengths lost or invented");
      for (int b = 0; m.wavelength && mb.wavelength && b < B; b++)
        TEST_ASSERT(mb.wavelength[b] == wl[b], "wavelength %d", b);
    }
    if (rank == 0) printf("  %s: %lld parameters round trip\n", hcsc_nn_arch_name((hcsc_nn_arch)a),
                          (long long)net->size);
    hcsc_nn_meta_free(&mb);
    hcsc_nn_destroy(&back);
    if (a == HCSC_NN_LISTA) keep = net;
    else hcsc_nn_destroy(&net);
  }

  /* Bad files, made by rank 0 from the lista model. */
  snprintf(path, sizeof path, "%s/model_lista.nc", tmp);
  const long size = file_size(path);
  hcsc_nn *x = NULL;

  snprintf(bad, sizeof bad, "%s/corrupt.nc", tmp);
  if (rank == 0 && copy_file(path, bad) == 0) {
    FILE *f = fopen(bad, "r+b");
    int ch;
    /* The last variable's data end the file (non-record, no padding for floats). */
    fseek(f, size - 3, SEEK_SET);
    ch = fgetc(f);
    fseek(f, size - 3, SEEK_SET);
    fputc(ch ^ 0x10, f);
    fclose(f);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  test_expect_error(hcsc_nn_load(MPI_COMM_WORLD, bad, &x, NULL), HCSC_EFORMAT, "corrupted", "corrupted");
  same_message("corrupted");

  snprintf(bad, sizeof bad, "%s/trunc.nc", tmp);
  if (rank == 0 && copy_file(path, bad) == 0) TEST_ASSERT(truncate(bad, size - 16) == 0, "truncate");
  MPI_Barrier(MPI_COMM_WORLD);
  test_expect_error(hcsc_nn_load(MPI_COMM_WORLD, bad, &x, NULL), HCSC_EFORMAT, "truncated", "truncated data");
  same_message("truncated data");

  snprintf(bad, sizeof bad, "%s/trunc_hdr.nc", tmp);
  if (rank == 0 && copy_file(path, bad) == 0) TEST_ASSERT(truncate(bad, 60) == 0, "truncate");
  MPI_Barrier(MPI_COMM_WORLD);
  test_expect_error(hcsc_nn_load(MPI_COMM_WORLD, bad, &x, NULL), HCSC_EFORMAT, "truncated", "truncated header");
  same_message("truncated header");

  /* A NetCDF file of a scene's shape, not a model. */
  snprintf(bad, sizeof bad, "%s/scene.nc", tmp);
  if (rank == 0) {
    int ncid, dims[3], v;
    float px[2 * 3 * 4] = {0};
    ncmpi_create(MPI_COMM_SELF, bad, NC_CLOBBER | NC_64BIT_DATA, MPI_INFO_NULL, &ncid);
    ncmpi_def_dim(ncid, "band", 2, &dims[0]);
    ncmpi_def_dim(ncid, "y", 3, &dims[1]);
    ncmpi_def_dim(ncid, "x", 4, &dims[2]);
    ncmpi_def_var(ncid, "data", NC_FLOAT, 3, dims, &v);
    ncmpi_put_att_text(ncid, NC_GLOBAL, "Conventions", 6, "CF-1.8");
    ncmpi_enddef(ncid);
    ncmpi_put_var_float_all(ncid, v, px);
    ncmpi_close(ncid);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  test_expect_error(hcsc_nn_load(MPI_COMM_WORLD, bad, &x, NULL), HCSC_EFORMAT, "not a model", "not a model");
  same_message("not a model");
  {
    int yes = 1;
    TEST_OK(hcsc_nn_is_model(MPI_COMM_WORLD, bad, &yes));
    TEST_ASSERT(yes == 0, "a scene taken for a model");
    TEST_OK(hcsc_nn_is_model(MPI_COMM_WORLD, path, &yes));
    TEST_ASSERT(yes == 1, "a model not recognised");
  }

  /* A newer model version, and a parameter of another shape. */
  snprintf(bad, sizeof bad, "%s/newer.nc", tmp);
  if (rank == 0 && copy_file(path, bad) == 0) {
    int ncid, v = 3; /* MODEL_VERSION + 1 */
    ncmpi_open(MPI_COMM_SELF, bad, NC_WRITE, MPI_INFO_NULL, &ncid);
    ncmpi_redef(ncid);
    ncmpi_put_att_int(ncid, NC_GLOBAL, "model_version", NC_INT, 1, &v);
    ncmpi_close(ncid);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  test_expect_error(hcsc_nn_load(MPI_COMM_WORLD, bad, &x, NULL), HCSC_EFORMAT, "newer", "newer version");
  same_message("newer version");

  snprintf(bad, sizeof bad, "%s/inconsistent.nc", tmp);
  if (rank == 0 && keep) {
    /* The lista hyperparameters with 5 atoms: every dictionary has 4. */
    hcsc_nn_config c = keep->cfg;
    int ncid, v = 5;
    TEST_OK(hcsc_nn_save(MPI_COMM_SELF, bad, keep, NULL, 1));
    ncmpi_open(MPI_COMM_SELF, bad, NC_WRITE, MPI_INFO_NULL, &ncid);
    ncmpi_redef(ncid);
    ncmpi_put_att_int(ncid, NC_GLOBAL, "natoms", NC_INT, 1, &v);
    ncmpi_close(ncid);
    (void)c;
  }
  MPI_Barrier(MPI_COMM_WORLD);
  test_expect_error(hcsc_nn_load(MPI_COMM_WORLD, bad, &x, NULL), HCSC_EFORMAT, "inconsistent", "inconsistent");
  same_message("inconsistent");

  snprintf(bad, sizeof bad, "%s/missing.nc", tmp);
  test_expect_error(hcsc_nn_load(MPI_COMM_WORLD, bad, &x, NULL), HCSC_ENOENT, NULL, "missing");
  TEST_ASSERT(x == NULL, "a failed load returned a network");

  hcsc_nn_destroy(&keep);
  return test_finish("t_nnmodel");
}
