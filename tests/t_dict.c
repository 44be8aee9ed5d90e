/* Dictionaries: alloc / normalize / random init (the same on every rank,
 * unit norms), patch init identical on every decomposition (against the
 * 1-rank result each rank computes on MPI_COMM_SELF), NetCDF save/load
 * round trip (exact, attributes readable with PnetCDF), corrupted files
 * (garbage, truncated, wrong dimensions) -> HCSC_EFORMAT naming the file on
 * every rank, existing output without force -> HCSC_EEXIST. */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pnetcdf.h>

#include "hypercsc.h"
#include "testutil.h"

static void check_alloc_random(void)
{
  hcsc_dict d, e;
  memset(&e, 0, sizeof e);
  TEST_ASSERT(hcsc_dict_alloc(&d, 0, 1, 3, 1) == HCSC_EINVAL, "0 atoms");
  TEST_ASSERT(hcsc_dict_alloc(&d, 2, 1, 65, 1) == HCSC_EINVAL, "k = 65");
  TEST_ASSERT(hcsc_dict_alloc(&d, 2, 1, 3, 3) == HCSC_EINVAL, "scale 3");
  hcsc_error_clear();
  TEST_OK(hcsc_dict_alloc(&d, 5, 3, 4, 1));
  for (int i = 0; i < 5 * 3 * 16; i++) TEST_ASSERT(d.atoms[i] == 0.0f, "zeroed");
  HCSC_ATOM(&d, 1, 2, 3, 0) = 3.0f;
  HCSC_ATOM(&d, 1, 0, 0, 1) = 4.0f;
  hcsc_dict_normalize(&d);
  TEST_NEAR(HCSC_ATOM(&d, 1, 2, 3, 0), 0.6, 1e-7);
  TEST_NEAR(HCSC_ATOM(&d, 1, 0, 0, 1), 0.8, 1e-7);
  TEST_ASSERT(HCSC_ATOM(&d, 0, 0, 0, 0) == 0.0f, "zero atom stays zero");

  TEST_OK(hcsc_dict_init_random(&d, 42));
  for (int m = 0; m < 5; m++) {
    double s = 0;
    for (int i = 0; i < 3 * 16; i++) s += (double)d.atoms[m * 48 + i] * d.atoms[m * 48 + i];
    TEST_NEAR(s, 1.0, 1e-6);
  }
  /* Same on every rank: rank 0's atoms broadcast and compared bitwise. */
  TEST_OK(hcsc_dict_copy(&e, &d));
  MPI_Bcast(e.atoms, 5 * 3 * 16, MPI_FLOAT, 0, MPI_COMM_WORLD);
  TEST_ASSERT(memcmp(e.atoms, d.atoms, sizeof(float) * 5 * 3 * 16) == 0, "random init differs between ranks");
  /* Another seed, another dictionary. */
  TEST_OK(hcsc_dict_init_random(&e, 43));
  TEST_ASSERT(memcmp(e.atoms, d.atoms, sizeof(float) * 5 * 3 * 16) != 0, "seed ignored");
  hcsc_dict_free(&e);
  hcsc_dict_free(&d);
  TEST_ASSERT(d.atoms == NULL, "free clears");
}

/* Scene value, exactly representable. */
static float sval(int64_t b, int64_t r, int64_t c) { return (float)((b * 37 + r * 11 + c * 5 + (r * c) % 7) % 23); }

/* Patch init over a grid of comm; d must be allocated. */
static void patches_on(MPI_Comm comm, const int dims[3], int64_t B, int64_t H, int64_t W, hcsc_dict *d)
{
  hcsc_grid *g = NULL;
  hcsc_halo *h = NULL;
  hcsc_tile t;
  const int halo = d->ksize - 1 - (d->ksize - 1) / 2;
  memset(&t, 0, sizeof t);
  TEST_OK(hcsc_grid_create(comm, B, H, W, dims, &g));
  if (!g) return;
  hcsc_box box = hcsc_grid_box(g);
  TEST_OK(hcsc_halo_create(g, halo, box.nb, &h));
  TEST_OK(hcsc_tile_alloc(&t, &box, box.nb, halo));
  for (int64_t b = 0; b < box.nb; b++)
    for (int64_t r = 0; r < box.nr; r++)
      for (int64_t c = 0; c < box.nc; c++) HCSC_TILE_AT(&t, b, r, c) = sval(box.b0 + b, box.r0 + r, box.c0 + c);
  TEST_OK(hcsc_halo_exchange(h, &t));
  TEST_OK(hcsc_dict_init_patches(d, hcsc_grid_comm(g), &t, H, W, 7));
  hcsc_tile_free(&t);
  hcsc_halo_destroy(&h);
  hcsc_grid_destroy(&g);
}

static void check_patches(void)
{
  const int size = test_size();
  const int64_t B = 3, H = 30, W = 40;
  for (int k = 2; k <= 5; k += 3) {
    hcsc_dict ref, d;
    const int one[3] = {1, 1, 1};
    TEST_OK(hcsc_dict_alloc(&ref, 6, (int)B, k, 1));
    patches_on(MPI_COMM_SELF, one, B, H, W, &ref);
    /* Zero-mean channels, unit norm, not all zero. */
    for (int m = 0; m < 6; m++) {
      double s2 = 0;
      for (int c = 0; c < B; c++) {
        double s = 0;
        for (int i = 0; i < k * k; i++) s += (&HCSC_ATOM(&ref, m, c, 0, 0))[i];
        TEST_NEAR(s, 0.0, 1e-5);
      }
      for (int i = 0; i < (int)B * k * k; i++) s2 += ref.atoms[m * B * k * k + i] * (double)ref.atoms[m * B * k * k + i];
      TEST_NEAR(s2, 1.0, 1e-5);
    }
    /* Every G x P x Q of the rank count, spectral groups included. */
    for (int G = 1; G <= size; G++)
      for (int P = 1; P <= size; P++) {
        if (size % (G * P) || G > B) continue;
        int dims[3] = {G, P, size / (G * P)};
        TEST_OK(hcsc_dict_alloc(&d, 6, (int)B, k, 1));
        patches_on(MPI_COMM_WORLD, dims, B, H, W, &d);
        TEST_ASSERT(memcmp(d.atoms, ref.atoms, sizeof(float) * 6 * B * k * k) == 0,
                    "patches on grid %dx%dx%d (k=%d) differ from 1 rank", G, P, size / (G * P), k);
        hcsc_dict_free(&d);
      }
    hcsc_dict_free(&ref);
  }
}

/* Expect HCSC_EFORMAT naming path on every rank. */
static void expect_format(const char *path, const char *what)
{
  hcsc_dict *ls = NULL;
  int nl = -1;
  int rc = hcsc_dict_load(MPI_COMM_WORLD, path, &ls, &nl);
  TEST_ASSERT(rc == HCSC_EFORMAT, "%s: rc %d (%s), want HCSC_EFORMAT", what, rc, hcsc_error_message());
  TEST_ASSERT(strstr(hcsc_error_message(), path) != NULL, "%s: message does not name the file: %s",
              what, hcsc_error_message());
  TEST_ASSERT(ls == NULL, "%s: layers returned on failure", what);
  hcsc_error_clear();
}

static void write_bytes(const char *path, const void *buf, size_t n)
{
  if (test_rank() == 0) {
    FILE *f = fopen(path, "wb");
    if (f) {
      fwrite(buf, 1, n, f);
      fclose(f);
    }
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

static void check_io(void)
{
  char path[1024], bad[1024];
  hcsc_dict L[2];
  hcsc_dict *ls = NULL;
  int nl = 0;
  const hcsc_dict_attr attrs[2] = {{"lambda", 0.05}, {"iterations", 200}};
  snprintf(path, sizeof path, "%s/dict.nc", test_tmp_dir());
  TEST_OK(hcsc_dict_alloc(&L[0], 4, 3, 5, 1));
  TEST_OK(hcsc_dict_alloc(&L[1], 6, 4, 3, 2));
  TEST_OK(hcsc_dict_init_random(&L[0], 1));
  TEST_OK(hcsc_dict_init_random(&L[1], 2));
  TEST_OK(hcsc_dict_save(MPI_COMM_WORLD, path, L, 2, attrs, 2, 0));
  TEST_OK(hcsc_dict_load(MPI_COMM_WORLD, path, &ls, &nl));
  TEST_ASSERT(nl == 2, "nlayers %d", nl);
  for (int l = 0; l < nl && ls; l++) {
    TEST_ASSERT(ls[l].natoms == L[l].natoms && ls[l].nchan == L[l].nchan &&
                    ls[l].ksize == L[l].ksize && ls[l].scale == L[l].scale,
                "layer %d shape", l);
    TEST_ASSERT(memcmp(ls[l].atoms, L[l].atoms,
                       sizeof(float) * L[l].natoms * L[l].nchan * L[l].ksize * L[l].ksize) == 0,
                "layer %d atoms not exact", l);
  }
  hcsc_dict_free_layers(&ls, nl);
  TEST_ASSERT(ls == NULL, "free_layers clears");
  /* The attributes, read by PnetCDF itself. */
  if (test_rank() == 0) {
    int ncid, v, nla = 0;
    double lam = 0, it = 0;
    TEST_ASSERT(ncmpi_open(MPI_COMM_SELF, path, NC_NOWRITE, MPI_INFO_NULL, &ncid) == NC_NOERR, "ncmpi_open");
    TEST_ASSERT(ncmpi_get_att_double(ncid, NC_GLOBAL, "lambda", &lam) == NC_NOERR && lam == 0.05, "lambda %g", lam);
    TEST_ASSERT(ncmpi_get_att_double(ncid, NC_GLOBAL, "iterations", &it) == NC_NOERR && it == 200, "iterations %g", it);
    TEST_ASSERT(ncmpi_get_att_int(ncid, NC_GLOBAL, "nlayers", &nla) == NC_NOERR && nla == 2, "nlayers %d", nla);
    TEST_ASSERT(ncmpi_inq_varid(ncid, "atoms_1", &v) == NC_NOERR, "atoms_1");
    int sc = 0;
    TEST_ASSERT(ncmpi_get_att_int(ncid, v, "scale", &sc) == NC_NOERR && sc == 2, "scale %d", sc);
    ncmpi_close(ncid);
  }
  /* No leftover temporary file. */
  {
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.hcsc-tmp-%ld", path, (long)getpid());
    TEST_ASSERT(access(tmp, F_OK) != 0, "temporary file left behind");
  }
  /* Existing output. */
  int rc = hcsc_dict_save(MPI_COMM_WORLD, path, L, 2, NULL, 0, 0);
  TEST_ASSERT(rc == HCSC_EEXIST, "existing output without force: rc %d", rc);
  hcsc_error_clear();
  TEST_OK(hcsc_dict_save(MPI_COMM_WORLD, path, L, 1, NULL, 0, 1));
  TEST_OK(hcsc_dict_load(MPI_COMM_WORLD, path, &ls, &nl));
  TEST_ASSERT(nl == 1, "overwritten file has %d layers", nl);
  hcsc_dict_free_layers(&ls, nl);
  /* Missing file. */
  snprintf(bad, sizeof bad, "%s/missing.nc", test_tmp_dir());
  rc = hcsc_dict_load(MPI_COMM_WORLD, bad, &ls, &nl);
  TEST_ASSERT(rc == HCSC_ENOENT, "missing file: rc %d", rc);
  hcsc_error_clear();

  /* Garbage bytes. */
  snprintf(bad, sizeof bad, "%s/garbage.nc", test_tmp_dir());
  {
    unsigned char g[4096];
    for (int i = 0; i < 4096; i++) g[i] = (unsigned char)(i * 97 + 13);
    write_bytes(bad, g, sizeof g);
    expect_format(bad, "garbage");
    /* A CDF-5 magic followed by garbage. */
    memcpy(g, "CDF\5", 4);
    write_bytes(bad, g, sizeof g);
    expect_format(bad, "magic + garbage");
  }
  /* Truncated: the full file cut before the end of its data. */
  TEST_OK(hcsc_dict_save(MPI_COMM_WORLD, path, L, 2, attrs, 2, 1));
  if (test_rank() == 0) {
    FILE *f = fopen(path, "rb");
    unsigned char *buf = malloc(1 << 16);
    size_t n = f ? fread(buf, 1, 1 << 16, f) : 0;
    if (f) fclose(f);
    snprintf(bad, sizeof bad, "%s/truncated.nc", test_tmp_dir());
    f = fopen(bad, "wb");
    if (f) {
      fwrite(buf, 1, n - 100, f);
      fclose(f);
    }
    free(buf);
  }
  snprintf(bad, sizeof bad, "%s/truncated.nc", test_tmp_dir());
  MPI_Barrier(MPI_COMM_WORLD);
  expect_format(bad, "truncated");
  /* Wrong dimensions: a variable whose dimensions disagree with its
   * attributes, a non-finite value, k > 64. */
  snprintf(bad, sizeof bad, "%s/wrongdims.nc", test_tmp_dir());
  for (int variant = 0; variant < 3; variant++) {
    if (test_rank() == 0) {
      int ncid, dims[4], v, one = 1, nla = 1, att[4] = {4, 3, 5, 1};
      const MPI_Offset len[4] = {4, 3, variant == 2 ? 65 : 5, variant == 2 ? 65 : 5};
      const char *dn[4] = {"atom_0", "channel_0", "ky_0", "kx_0"};
      if (variant == 0) att[1] = 2; /* 4 x 2 x 5 x 5 claimed, 4 x 3 x 5 x 5 stored */
      if (variant == 2) att[2] = 65;
      ncmpi_create(MPI_COMM_SELF, bad, NC_CLOBBER | NC_64BIT_DATA, MPI_INFO_NULL, &ncid);
      ncmpi_put_att_int(ncid, NC_GLOBAL, "nlayers", NC_INT, 1, &nla);
      for (int i = 0; i < 4; i++) ncmpi_def_dim(ncid, dn[i], len[i], &dims[i]);
      ncmpi_def_var(ncid, "atoms_0", NC_FLOAT, 4, dims, &v);
      const char *an[4] = {"natoms", "nchan", "ksize", "scale"};
      for (int i = 0; i < 4; i++) ncmpi_put_att_int(ncid, v, an[i], NC_INT, 1, &att[i]);
      ncmpi_enddef(ncid);
      size_t n = (size_t)(len[0] * len[1] * len[2] * len[3]);
      float *vals = calloc(n, sizeof(float));
      if (variant == 1) vals[7] = NAN;
      ncmpi_put_var_float_all(ncid, v, vals);
      free(vals);
      ncmpi_close(ncid);
      (void)one;
    }
    MPI_Barrier(MPI_COMM_WORLD);
    expect_format(bad, variant == 0 ? "wrong dims" : variant == 1 ? "NaN" : "k = 65");
  }
  hcsc_dict_free(&L[0]);
  hcsc_dict_free(&L[1]);
}

int main(int argc, char **argv)
{
  test_init(&argc, &argv);
  check_alloc_random();
  check_patches();
  check_io();
  return test_finish("t_dict");
}
