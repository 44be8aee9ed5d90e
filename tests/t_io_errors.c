/* t_io_errors: every bad input or output gives the right code, the same on
 * every rank, with the file named in the message; after every failed
 * write nothing is left at the target path and no temporary directory. */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gdal.h>

#include "hypercsc.h"
#include "testutil.h"

enum { NB = 6, NR = 30, NC = 40 };

/* rc must be code on this rank and the same on all ranks; the message
 * must contain what. */
static void expect(int rc, int code, const char *what, const char *label)
{
  test_expect_error(rc, code, what, label);
}

/* Nothing named base, base's .hdr or a temporary directory in dir. */
static void expect_clean(const char *dir, const char *base, const char *label)
{
  if (test_rank() != 0) return;
  DIR *d = opendir(dir);
  struct dirent *e;
  char stem[256];
  snprintf(stem, sizeof stem, "%s", base);
  char *dot = strrchr(stem, '.');
  if (dot) *dot = '\0';
  while (d && (e = readdir(d))) {
    TEST_ASSERT(strstr(e->d_name, "hcsc-tmp") == NULL, "%s: temporary %s left", label, e->d_name);
    TEST_ASSERT(strncmp(e->d_name, stem, strlen(stem)) != 0, "%s: %s left at the target", label,
                e->d_name);
  }
  if (d) closedir(d);
}

static void make_raster(const char *path, const char *driver, GDALDataType t)
{
  GDALDatasetH ds = GDALCreate(GDALGetDriverByName(driver), path, NC, NR, NB, t, NULL);
  float *buf = malloc(sizeof(float) * NR * NC);
  if (!ds || !buf) exit(TEST_HARD);
  for (int b = 0; b < NB; b++) {
    for (int i = 0; i < NR * NC; i++) buf[i] = (float)(b * 3 + i % 97);
    if (GDALRasterIO(GDALGetRasterBand(ds, b + 1), GF_Write, 0, 0, NC, NR, buf, NC, NR, GDT_Float32, 0,
                     0) != CE_None)
      exit(TEST_HARD);
  }
  GDALClose(ds);
  free(buf);
}

static void copy_truncated(const char *from, const char *to, double frac)
{
  FILE *f = fopen(from, "rb"), *g = fopen(to, "wb");
  if (!f || !g) exit(TEST_HARD);
  fseek(f, 0, SEEK_END);
  long n = ftell(f), keep = (long)(n * frac);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)n);
  if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) exit(TEST_HARD);
  fwrite(buf, 1, (size_t)keep, g);
  fclose(f);
  fclose(g);
  free(buf);
}

/* Open (and if that works, read all of) path: the first error. */
static int open_read(const char *path)
{
  hcsc_scene *s = NULL;
  hcsc_grid *g = NULL;
  hcsc_tile t = {0};
  int rc = hcsc_scene_open(MPI_COMM_WORLD, path, &s);
  if (rc) return rc;
  const hcsc_meta *m = hcsc_scene_meta(s);
  rc = hcsc_grid_create(MPI_COMM_WORLD, m->bands, m->rows, m->cols, NULL, &g);
  if (!rc) {
    hcsc_box box = hcsc_grid_box(g);
    hcsc_tile_alloc(&t, &box, box.nb, 0);
    rc = hcsc_scene_read(s, NULL, g, &t);
  }
  hcsc_tile_free(&t);
  hcsc_grid_destroy(&g);
  hcsc_scene_close(&s);
  return rc;
}

int main(int argc, char **argv)
{
  test_init(&argc, &argv);
  int rank = test_rank();
  const char *tmp = test_tmp_dir();
  char good[1024], p[1024], q[1024];
  GDALAllRegister();
  CPLSetErrorHandler(CPLQuietErrorHandler);

  snprintf(good, sizeof good, "%s/good.tif", tmp);
  if (rank == 0) {
    make_raster(good, "GTiff", GDT_Int16);
    snprintf(p, sizeof p, "%s/short.bsq", tmp);
    make_raster(p, "ENVI", GDT_Float32);
    if (truncate(p, NB * NR * NC * 4 / 2) != 0) exit(TEST_HARD);
    snprintf(p, sizeof p, "%s/u32.tif", tmp);
    make_raster(p, "GTiff", GDT_UInt32);
    snprintf(p, sizeof p, "%s/trunc.tif", tmp);
    copy_truncated(good, p, 0.5);
    snprintf(p, sizeof p, "%s/notes.txt", tmp);
    FILE *f = fopen(p, "w");
    fputs("not a raster\n", f);
    fclose(f);
    snprintf(p, sizeof p, "%s/afile", tmp);
    f = fopen(p, "w");
    fclose(f);
  }
  MPI_Barrier(MPI_COMM_WORLD);

  snprintf(p, sizeof p, "%s/missing.tif", tmp);
  expect(open_read(p), HCSC_ENOENT, "missing.tif", "missing file");
  snprintf(p, sizeof p, "%s/notes.txt", tmp);
  expect(open_read(p), HCSC_EFORMAT, "notes.txt", "text file");
  snprintf(p, sizeof p, "%s/trunc.tif", tmp);
  expect(open_read(p), HCSC_EFORMAT, "trunc.tif", "truncated GeoTIFF");
  snprintf(p, sizeof p, "%s/short.bsq", tmp);
  expect(open_read(p), HCSC_EFORMAT, "header promises", "short ENVI");
  snprintf(p, sizeof p, "%s/u32.tif", tmp);
  expect(open_read(p), HCSC_ETYPE, "u32.tif", "uint32");

  /* Selections out of range. */
  hcsc_scene *s = NULL;
  hcsc_grid *g = NULL;
  hcsc_tile t = {0};
  TEST_OK(hcsc_scene_open(MPI_COMM_WORLD, good, &s));
  int64_t bad_band[1] = {NB};
  hcsc_selection sel = {bad_band, 1, {0, 0, 0, 0}};
  TEST_OK(hcsc_grid_create(MPI_COMM_WORLD, 1, NR, NC, NULL, &g));
  hcsc_box box = hcsc_grid_box(g);
  TEST_OK(hcsc_tile_alloc(&t, &box, box.nb, 0));
  expect(hcsc_scene_read(s, &sel, g, &t), HCSC_ERANGE, "band 7", "band out of range");
  hcsc_tile_free(&t);
  hcsc_grid_destroy(&g);
  hcsc_selection win = {NULL, 0, {25, 0, 10, NC}};
  TEST_OK(hcsc_grid_create(MPI_COMM_WORLD, NB, 10, NC, NULL, &g));
  box = hcsc_grid_box(g);
  TEST_OK(hcsc_tile_alloc(&t, &box, box.nb, 0));
  expect(hcsc_scene_read(s, &win, g, &t), HCSC_ERANGE, "good.tif", "window out of range");
  hcsc_tile_free(&t);
  hcsc_grid_destroy(&g);

  /* Outputs. */
  const hcsc_meta *m = hcsc_scene_meta(s);
  TEST_OK(hcsc_grid_create(MPI_COMM_WORLD, NB, NR, NC, NULL, &g));
  box = hcsc_grid_box(g);
  TEST_OK(hcsc_tile_alloc(&t, &box, box.nb, 1));
  TEST_OK(hcsc_scene_read(s, NULL, g, &t));
  snprintf(p, sizeof p, "%s/out.bsq", tmp);
  TEST_OK(hcsc_scene_write(p, m, g, &t, NULL));
  expect(hcsc_scene_write(p, m, g, &t, NULL), HCSC_EEXIST, "out.bsq", "output exists");
  hcsc_write_opts force = {HCSC_FMT_AUTO, HCSC_DT_NONE, 1, NULL};
  TEST_OK(hcsc_scene_write(p, m, g, &t, &force));
  snprintf(p, sizeof p, "%s/nodir/out.bsq", tmp);
  expect(hcsc_scene_write(p, m, g, &t, NULL), HCSC_ENOENT, "nodir", "missing directory");
  snprintf(p, sizeof p, "%s/afile/out.bsq", tmp);
  expect(hcsc_scene_write(p, m, g, &t, NULL), HCSC_ENOENT, "afile", "directory is a file");
  if (geteuid() != 0) {
    snprintf(q, sizeof q, "%s/ro", tmp);
    if (rank == 0) mkdir(q, 0555);
    MPI_Barrier(MPI_COMM_WORLD);
    snprintf(p, sizeof p, "%s/ro/out.bsq", tmp);
    expect(hcsc_scene_write(p, m, g, &t, NULL), HCSC_EACCES, "ro", "read-only directory");
  }

  /* Disk full: a file size limit on every rank (the library must ignore
   * SIGXFSZ itself). */
  struct rlimit old, lim;
  getrlimit(RLIMIT_FSIZE, &old);
  lim = old;
  lim.rlim_cur = 4096;
  setrlimit(RLIMIT_FSIZE, &lim);
  snprintf(p, sizeof p, "%s/full.bsq", tmp);
  expect(hcsc_scene_write(p, m, g, &t, NULL), HCSC_ENOSPC, "full.bsq", "disk full");
  hcsc_write_opts fl = {HCSC_FMT_AUTO, HCSC_DT_FLOAT64, 1, NULL};
  snprintf(p, sizeof p, "%s/out.bsq", tmp);
  expect(hcsc_scene_write(p, m, g, &t, &fl), HCSC_ENOSPC, "out.bsq", "disk full with --force");
  setrlimit(RLIMIT_FSIZE, &old);
  expect_clean(tmp, "full.bsq", "disk full");
  if (rank == 0) {
    /* The earlier complete out.bsq survives a failed --force rewrite. */
    struct stat st;
    TEST_ASSERT(stat(p, &st) == 0 && st.st_size == NB * NR * NC * 2, "out.bsq damaged by a failed rewrite");
  }
  hcsc_tile_free(&t);
  hcsc_grid_destroy(&g);
  hcsc_scene_close(&s);
  return test_finish("t_io_errors");
}
