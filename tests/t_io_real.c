/* t_io_real: the real scenes of $HCSC_DATA/hsi (skipped when absent), as
 * ENVI and GeoTIFF, read on every grid that fits the rank count: each
 * rank's tile must equal what GDAL reads for that window; then written to
 * ENVI and read back, equal again. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gdal.h>

#include "hypercsc.h"
#include "testutil.h"

/* This rank's tile against GDAL's own read of the same window. */
static void compare(const char *path, const hcsc_tile *t, const hcsc_meta *m, const char *label)
{
  GDALDatasetH ds = GDALOpen(path, GA_ReadOnly);
  TEST_ASSERT(ds != NULL, "GDAL cannot open %s", path);
  if (!ds) return;
  const hcsc_box *b = &t->box;
  float *buf = malloc(sizeof(float) * (size_t)(b->nr * b->nc));
  int64_t bad = 0;
  for (int64_t k = 0; k < b->nb; k++) {
    if (GDALRasterIO(GDALGetRasterBand(ds, (int)(b->b0 + k) + 1), GF_Read, (int)b->c0, (int)b->r0,
                     (int)b->nc, (int)b->nr, buf, (int)b->nc, (int)b->nr, GDT_Float32, 0, 0) != CE_None) {
      bad++;
      continue;
    }
    for (int64_t r = 0; r < b->nr; r++)
      for (int64_t c = 0; c < b->nc; c++) {
        float e = buf[r * b->nc + c], v = HCSC_TILE_AT(t, k, r, c);
        if (m->has_nodata && e == (float)m->nodata) e = NAN;
        if (!(e == v || (isnan(e) && isnan(v)))) bad++;
      }
  }
  TEST_ASSERT(bad == 0, "%s: %lld values differ from GDAL's", label, (long long)bad);
  free(buf);
  GDALClose(ds);
}

int main(int argc, char **argv)
{
  test_init(&argc, &argv);
  const char *data = test_data_dir();
  if (!data) return test_skip("no HCSC_DATA/hsi");
  static const char *scenes[] = {"olinda_dem_111x111", "berlin_enmap_sim_60x80x244",
                                 "salinas_a_aviris_83x86x204"};
  static const char *ext[] = {"bsq", "tif"};
  int np = test_size();
  char path[2048], out[2048];
  GDALAllRegister();
  CPLSetErrorHandler(CPLQuietErrorHandler);
  for (int i = 0; i < 3; i++)
    for (int e = 0; e < 2; e++) {
      snprintf(path, sizeof path, "%s/%s.%s", data, scenes[i], ext[e]);
      hcsc_scene *s = NULL;
      TEST_OK(hcsc_scene_open(MPI_COMM_WORLD, path, &s));
      if (!s) continue;
      const hcsc_meta *m = hcsc_scene_meta(s);
      /* Two grids: all ranks spatial, and spectral groups when possible. */
      int shapes[2][3] = {{1, 0, 0}, {np, 0, 0}};
      int nshape = (np > 1 && m->bands >= np) ? 2 : 1;
      for (int k = 0; k < nshape; k++) {
        hcsc_grid *g = NULL;
        hcsc_tile t = {0}, t2 = {0};
        if (k == 1) shapes[1][1] = shapes[1][2] = 1;
        TEST_OK(hcsc_grid_create(MPI_COMM_WORLD, m->bands, m->rows, m->cols, shapes[k], &g));
        if (!g) continue;
        hcsc_box box = hcsc_grid_box(g);
        TEST_OK(hcsc_tile_alloc(&t, &box, box.nb, 2));
        TEST_OK(hcsc_scene_read(s, NULL, g, &t));
        compare(path, &t, m, path);
        snprintf(out, sizeof out, "%s/%s_%s_%d.bsq", test_tmp_dir(), scenes[i], ext[e], k);
        TEST_OK(hcsc_scene_write(out, m, g, &t, NULL));
        compare(out, &t, m, out);
        hcsc_scene *w = NULL;
        TEST_OK(hcsc_scene_open(MPI_COMM_WORLD, out, &w));
        if (w) {
          const hcsc_meta *wm = hcsc_scene_meta(w);
          TEST_ASSERT(wm->dtype == m->dtype && wm->bands == m->bands, "%s: type/bands", out);
          TEST_ASSERT(!m->wavelength || (wm->wavelength && wm->wavelength[m->bands - 1] ==
                                                                m->wavelength[m->bands - 1]),
                      "%s: wavelengths lost", out);
          TEST_ASSERT(m->has_geotransform == wm->has_geotransform, "%s: geotransform lost", out);
          TEST_OK(hcsc_tile_alloc(&t2, &box, box.nb, 0));
          TEST_OK(hcsc_scene_read(w, NULL, g, &t2));
          int64_t bad = 0;
          for (int64_t b = 0; b < box.nb; b++)
            for (int64_t r = 0; r < box.nr; r++)
              for (int64_t c = 0; c < box.nc; c++) {
                float x = HCSC_TILE_AT(&t, b, r, c), y = HCSC_TILE_AT(&t2, b, r, c);
                if (!(x == y || (isnan(x) && isnan(y)))) bad++;
              }
          TEST_ASSERT(bad == 0, "%s: %lld values differ after the ENVI round trip", out, (long long)bad);
          hcsc_tile_free(&t2);
          hcsc_scene_close(&w);
        }
        hcsc_tile_free(&t);
        hcsc_grid_destroy(&g);
      }
      hcsc_scene_close(&s);
    }
  return test_finish("t_io_real");
}
