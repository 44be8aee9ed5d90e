/* hypercsc — synthetic hyperspectral scenes (see include/hcsc/synth.h).
 *
 * Everything is a pure function of global position: field centres come from
 * the counter RNG keyed on the cell index, texture is value noise from a
 * hash of the lattice index, roads and the river are analytic curves whose
 * parameters depend only on the seed and the scene size.  Speed comes from
 * computing the six abundances once per pixel and then each band as a mix of
 * endmember spectra precomputed per band. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ogr_srs_api.h>
#include <cpl_conv.h>

#include "hcsc/error.h"
#include "hcsc/rng.h"
#include "hcsc/synth.h"
#include "hcsc/timer.h"

enum { EM_VEG = 0, EM_DRY, EM_SOIL, EM_WATER, EM_CONCRETE, EM_ASPHALT, NEM = HCSC_SYNTH_NENDMEMBERS };

/* RNG streams of the synthetic scene (noise uses others, see noise.c). */
enum { STREAM_CELL = 0x53590001u, STREAM_ROAD, STREAM_RIVER };
/* Value-noise layers. */
enum { LAYER_TEXTURE = 1, LAYER_SOIL = 2, LAYER_SHADE = 3 };

#define MAX_ROADS 8

static const char *const em_names[NEM] = {"green vegetation", "dry vegetation", "soil",
                                          "water",            "concrete",       "asphalt"};

static double gauss(double x, double mu, double s)
{
  double t = (x - mu) / s;
  return exp(-0.5 * t * t);
}

static double sigm(double x, double mu, double s) { return 1.0 / (1.0 + exp(-(x - mu) / s)); }

static double clamp(double v, double lo, double hi) { return v < lo ? lo : v > hi ? hi : v; }

double hcsc_synth_endmember(int k, double wl)
{
  double r = 0;
  switch (k) {
  case EM_VEG: {
    /* Chlorophyll: green peak at 550, absorption at ~670; red edge at
     * ~715 nm up to the NIR plateau, which falls in the SWIR; leaf water
     * absorptions at 970, 1200, 1450 and 1940 nm. */
    double vis = 0.05 + 0.06 * gauss(wl, 550, 40) - 0.03 * gauss(wl, 672, 20);
    double plateau = 0.46 - 0.15 * sigm(wl, 1400, 60) - 0.10 * sigm(wl, 1900, 60) -
                     0.05 * sigm(wl, 2350, 50);
    double edge = sigm(wl, 715, 14);
    r = vis * (1 - edge) + plateau * edge - 0.03 * gauss(wl, 970, 30) -
        0.05 * gauss(wl, 1200, 40) - 0.19 * gauss(wl, 1450, 60) - 0.17 * gauss(wl, 1940, 70);
    break;
  }
  case EM_DRY: /* rising smoothly; cellulose/lignin near 2100, 1730; weak water */
    r = 0.07 + 0.30 * (1 - exp(-(wl - 400) / 500)) - 0.06 * gauss(wl, 2100, 50) -
        0.02 * gauss(wl, 1730, 40) - 0.04 * gauss(wl, 1450, 50) - 0.05 * gauss(wl, 1940, 60);
    break;
  case EM_SOIL: /* rising smoothly, weak hydroxyl and clay features */
    r = 0.06 + 0.32 * (1 - exp(-(wl - 400) / 700)) - 0.03 * gauss(wl, 1420, 40) -
        0.04 * gauss(wl, 1920, 50) - 0.04 * gauss(wl, 2200, 30);
    break;
  case EM_WATER: /* dark and decreasing */
    r = 0.005 + 0.07 * exp(-(wl - 400) / 150);
    break;
  case EM_CONCRETE: /* bright, flat, a carbonate feature near 2330 */
    r = 0.26 + 0.06 * sigm(wl, 500, 60) + 0.02 * (wl - 400) / 2100 - 0.03 * gauss(wl, 2330, 40);
    break;
  case EM_ASPHALT: /* dark, flat, slowly rising */
    r = 0.05 + 0.05 * (wl - 400) / 2100;
    break;
  default:
    return 0;
  }
  return clamp(r, 0.005, 1.0);
}

const char *hcsc_synth_endmember_name(int k)
{
  return k >= 0 && k < NEM ? em_names[k] : "?";
}

void hcsc_synth_opts_init(hcsc_synth_opts *o, int64_t bands, int64_t rows, int64_t cols,
                          uint64_t seed)
{
  memset(o, 0, sizeof *o);
  o->seed = seed;
  o->bands = bands;
  o->rows = rows;
  o->cols = cols;
  o->wl_min = 400;
  o->wl_max = 2500;
  o->field_size = 24;
}

static double wavelength(const hcsc_synth_opts *o, int64_t b)
{
  if (o->bands <= 1) return 0.5 * (o->wl_min + o->wl_max);
  return o->wl_min + (o->wl_max - o->wl_min) * (double)b / (double)(o->bands - 1);
}

/* splitmix64 finaliser: a cheap, well-mixed hash for value-noise lattices. */
static uint64_t mix64(uint64_t z)
{
  z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
  return z ^ (z >> 31);
}

static double lattice(uint64_t seed, int layer, int64_t i, int64_t j)
{
  uint64_t h = mix64(seed ^ mix64((uint64_t)layer * UINT64_C(0x9E3779B97F4A7C15) ^
                                  mix64((uint64_t)i * UINT64_C(0xD6E8FEB86659FD93) ^
                                        (uint64_t)j)));
  return (double)(h >> 11) * (1.0 / 9007199254740992.0);
}

/* Value noise in [0, 1]: lattice values at spacing period, smoothstep
 * interpolation. */
static double value_noise(uint64_t seed, int layer, double r, double c, double period)
{
  double fr = r / period, fc = c / period;
  double ir = floor(fr), ic = floor(fc);
  double tr = fr - ir, tc = fc - ic;
  tr = tr * tr * (3 - 2 * tr);
  tc = tc * tc * (3 - 2 * tc);
  int64_t i = (int64_t)ir, j = (int64_t)ic;
  double v00 = lattice(seed, layer, i, j), v01 = lattice(seed, layer, i, j + 1);
  double v10 = lattice(seed, layer, i + 1, j), v11 = lattice(seed, layer, i + 1, j + 1);
  double a = v00 + (v01 - v00) * tc, b = v10 + (v11 - v10) * tc;
  return a + (b - a) * tr;
}

static double fractal(uint64_t seed, int layer, double r, double c, double period)
{
  return 0.5 * value_noise(seed, layer * 16 + 0, r, c, period) +
         0.3 * value_noise(seed, layer * 16 + 1, r, c, period / 2) +
         0.2 * value_noise(seed, layer * 16 + 2, r, c, period / 4);
}

typedef struct {
  double pr, pc;   /* field centre (global pixel coordinates) */
  int dom, sec;    /* dominant and secondary material */
  double frac;     /* dominant fraction */
} field;

static void field_of_cell(const hcsc_synth_opts *o, int64_t ci, int64_t cj, field *f)
{
  uint32_t w[4];
  /* +2 keeps the index of the cell above/left of the scene away from
   * HCSC_RNG_ANY's bit pattern. */
  hcsc_rng_bits(o->seed, STREAM_CELL, HCSC_RNG_ANY, ci + 2, cj + 2, w);
  const double s = 1.0 / 4294967296.0;
  double u0 = w[0] * s, u1 = w[1] * s, u2 = w[2] * s, u3 = w[3] * s;
  f->pr = ((double)ci + 0.1 + 0.8 * u0) * o->field_size;
  f->pc = ((double)cj + 0.1 + 0.8 * u1) * o->field_size;
  /* Land cover proportions: crops and forest, bare soil, fallow, built-up,
   * a few ponds. */
  f->dom = u2 < 0.35 ? EM_VEG : u2 < 0.55 ? EM_DRY : u2 < 0.80 ? EM_SOIL : u2 < 0.92 ? EM_CONCRETE
                                                                                  : EM_WATER;
  static const int others[3] = {EM_VEG, EM_DRY, EM_SOIL};
  int k = (int)(u3 * 3) % 3;
  f->sec = others[k] == f->dom ? others[(k + 1) % 3] : others[k];
  f->frac = 0.6 + 0.35 * fmod(u3 * 3, 1.0);
}

typedef struct {
  double nr, nc, off, half; /* |nr*r + nc*c - off| < half: on the line */
  int mat;
} line;

static int make_roads(const hcsc_synth_opts *o, line *roads)
{
  int64_t n = 1 + (o->rows + o->cols) / 150;
  if (n > MAX_ROADS) n = MAX_ROADS;
  for (int64_t k = 0; k < n; k++) {
    uint32_t w[4];
    hcsc_rng_bits(o->seed, STREAM_ROAD, k, HCSC_RNG_ANY, HCSC_RNG_ANY, w);
    const double s = 1.0 / 4294967296.0;
    double th = 3.141592653589793 * w[0] * s;
    double pr = o->rows * (w[1] * s), pc = o->cols * (w[2] * s);
    roads[k].nr = cos(th);
    roads[k].nc = sin(th);
    roads[k].off = roads[k].nr * pr + roads[k].nc * pc;
    roads[k].half = 0.6 + 0.9 * ((w[3] >> 8) * (1.0 / 16777216.0));
    roads[k].mat = (w[3] & 0xff) < 77 ? EM_CONCRETE : EM_ASPHALT;
  }
  return (int)n;
}

/* Replace a fraction alpha of the mix by material mat. */
static void paint(double a[NEM], int mat, double alpha)
{
  for (int k = 0; k < NEM; k++) a[k] *= 1 - alpha;
  a[mat] += alpha;
}

static double coverage(double dist, double half) { return clamp(half + 0.5 - dist, 0, 1); }

int hcsc_synth_fill(const hcsc_synth_opts *o, hcsc_tile *t)
{
  int err = 0;
  double *em = NULL, *ab = NULL;
  field *cells = NULL;
  const hcsc_box *bx = &t->box;
  hcsc_timer_start(HCSC_PHASE_COMPUTE);
  if (o->bands < 1 || o->rows < 1 || o->cols < 1 || !(o->field_size >= 1))
    HCSC_FAIL(HCSC_EINVAL, "synthetic scene %lldx%lldx%lld (field size %g): sizes must be positive",
              (long long)o->rows, (long long)o->cols, (long long)o->bands, o->field_size);
  if (bx->b0 < 0 || bx->r0 < 0 || bx->c0 < 0 || bx->nb < 0 || bx->nr < 0 || bx->nc < 0 ||
      bx->b0 + bx->nb > o->bands || bx->r0 + bx->nr > o->rows || bx->c0 + bx->nc > o->cols)
    HCSC_FAIL(HCSC_ERANGE, "synthetic scene: box bands %lld+%lld rows %lld+%lld cols %lld+%lld "
              "outside the %lldx%lldx%lld scene", (long long)bx->b0, (long long)bx->nb,
              (long long)bx->r0, (long long)bx->nr, (long long)bx->c0, (long long)bx->nc,
              (long long)o->rows, (long long)o->cols, (long long)o->bands);
  if (t->nchan != bx->nb) HCSC_FAIL(HCSC_ESIZE, "synthetic scene: tile has %lld channels for %lld bands",
                                    (long long)t->nchan, (long long)bx->nb);
  if (bx->nb == 0 || bx->nr == 0 || bx->nc == 0) goto cleanup;

  const int64_t nb = bx->nb, nr = bx->nr, nc = bx->nc;
  HCSC_CALLOC(em, NEM * nb);
  for (int64_t b = 0; b < nb; b++) {
    double wl = wavelength(o, bx->b0 + b);
    for (int k = 0; k < NEM; k++) em[k * nb + b] = hcsc_synth_endmember(k, wl);
  }
  HCSC_CALLOC(ab, NEM * nc);

  /* Fields of every cell the tile's pixels can see (their own and the 8
   * neighbours), computed once. */
  const double S = o->field_size;
  int64_t ci0 = (int64_t)floor(bx->r0 / S) - 1, ci1 = (int64_t)floor((bx->r0 + nr - 1) / S) + 1;
  int64_t cj0 = (int64_t)floor(bx->c0 / S) - 1, cj1 = (int64_t)floor((bx->c0 + nc - 1) / S) + 1;
  int64_t ncr = ci1 - ci0 + 1, ncc = cj1 - cj0 + 1;
  HCSC_CALLOC(cells, ncr * ncc);
  for (int64_t i = 0; i < ncr; i++)
    for (int64_t j = 0; j < ncc; j++) field_of_cell(o, ci0 + i, cj0 + j, &cells[i * ncc + j]);

  line roads[MAX_ROADS];
  int nroads = make_roads(o, roads);
  /* The river meanders down the scene: column = centre + two sines. */
  uint32_t rw[4];
  hcsc_rng_bits(o->seed, STREAM_RIVER, HCSC_RNG_ANY, HCSC_RNG_ANY, HCSC_RNG_ANY, rw);
  const double s32 = 1.0 / 4294967296.0;
  const int has_river = o->rows >= 16 && o->cols >= 16;
  const double rv_c = o->cols * (0.2 + 0.6 * rw[0] * s32);
  const double rv_a1 = o->cols * 0.08 * rw[1] * s32, rv_p1 = 40 + 120 * rw[2] * s32;
  const double rv_a2 = 3 + 5.0 * ((rw[3] >> 16) * (1.0 / 65536.0)), rv_p2 = 13 + 10.0 * ((rw[3] & 0xffff) * (1.0 / 65536.0));
  const double rv_half = 1.0 + (rw[3] & 0xff) * (1.0 / 256.0);

  for (int64_t r = 0; r < nr; r++) {
    const double gr = (double)(bx->r0 + r);
    const int64_t ci = (int64_t)floor(gr / S);
    const double rv_centre = rv_c + rv_a1 * sin(6.283185307179586 * gr / rv_p1) +
                             rv_a2 * sin(6.283185307179586 * gr / rv_p2 + 1.0);
    for (int64_t c = 0; c < nc; c++) {
      const double gc = (double)(bx->c0 + c);
      const int64_t cj = (int64_t)floor(gc / S);
      const field *best = NULL;
      double d1 = INFINITY;
      for (int64_t di = -1; di <= 1; di++)
        for (int64_t dj = -1; dj <= 1; dj++) {
          const field *f = &cells[(ci + di - ci0) * ncc + (cj + dj - cj0)];
          double d = (gr - f->pr) * (gr - f->pr) + (gc - f->pc) * (gc - f->pc);
          if (d < d1) d1 = d, best = f;
        }
      double a[NEM] = {0};
      double tex = fractal(o->seed, LAYER_TEXTURE, gr, gc, 16.0) - 0.5;
      a[best->dom] = best->frac + 0.3 * tex;
      a[best->sec] += 1 - best->frac - 0.3 * tex;
      if (best->dom != EM_WATER) a[EM_SOIL] += 0.15 * fractal(o->seed, LAYER_SOIL, gr, gc, 32.0);
      double sum = 0;
      for (int k = 0; k < NEM; k++) {
        if (a[k] < 0) a[k] = 0;
        sum += a[k];
      }
      for (int k = 0; k < NEM; k++) a[k] /= sum;
      for (int k = 0; k < nroads; k++) {
        double cov = coverage(fabs(roads[k].nr * gr + roads[k].nc * gc - roads[k].off), roads[k].half);
        if (cov > 0) paint(a, roads[k].mat, cov);
      }
      if (has_river) {
        double cov = coverage(fabs(gc - rv_centre), rv_half);
        if (cov > 0) paint(a, EM_WATER, cov);
      }
      /* Illumination: +-4 %, smooth. */
      double shade = 1 + 0.08 * (value_noise(o->seed, LAYER_SHADE * 16, gr, gc, 64.0) - 0.5);
      for (int k = 0; k < NEM; k++) ab[k * nc + c] = a[k] * shade;
    }
    for (int64_t b = 0; b < nb; b++) {
      float *row = &HCSC_TILE_AT(t, b, r, 0);
      const double e0 = em[0 * nb + b], e1 = em[1 * nb + b], e2 = em[2 * nb + b];
      const double e3 = em[3 * nb + b], e4 = em[4 * nb + b], e5 = em[5 * nb + b];
      for (int64_t c = 0; c < nc; c++) {
        double v = ab[c] * e0 + ab[nc + c] * e1 + ab[2 * nc + c] * e2 + ab[3 * nc + c] * e3 +
                   ab[4 * nc + c] * e4 + ab[5 * nc + c] * e5;
        row[c] = (float)(v < 0 ? 0 : v > 1 ? 1 : v);
      }
    }
  }

cleanup:
  free(em);
  free(ab);
  free(cells);
  hcsc_timer_stop(HCSC_PHASE_COMPUTE);
  return err;
}

/* WKT of EPSG:32633, used when PROJ's database is unavailable. */
static const char utm33n_wkt[] =
    "PROJCS[\"WGS 84 / UTM zone 33N\",GEOGCS[\"WGS 84\",DATUM[\"WGS_1984\",SPHEROID[\"WGS 84\","
    "6378137,298.257223563,AUTHORITY[\"EPSG\",\"7030\"]],AUTHORITY[\"EPSG\",\"6326\"]],"
    "PRIMEM[\"Greenwich\",0,AUTHORITY[\"EPSG\",\"8901\"]],UNIT[\"degree\",0.0174532925199433,"
    "AUTHORITY[\"EPSG\",\"9122\"]],AUTHORITY[\"EPSG\",\"4326\"]],PROJECTION[\"Transverse_Mercator\"],"
    "PARAMETER[\"latitude_of_origin\",0],PARAMETER[\"central_meridian\",15],"
    "PARAMETER[\"scale_factor\",0.9996],PARAMETER[\"false_easting\",500000],"
    "PARAMETER[\"false_northing\",0],UNIT[\"metre\",1,AUTHORITY[\"EPSG\",\"9001\"]],"
    "AXIS[\"Easting\",EAST],AXIS[\"Northing\",NORTH],AUTHORITY[\"EPSG\",\"32633\"]]";

static char *utm33n(void)
{
  char *out = NULL, *wkt = NULL;
  OGRSpatialReferenceH srs = OSRNewSpatialReference(NULL);
  if (srs && OSRImportFromEPSG(srs, 32633) == OGRERR_NONE && OSRExportToWkt(srs, &wkt) == OGRERR_NONE &&
      wkt)
    out = strdup(wkt);
  if (wkt) CPLFree(wkt);
  if (srs) OSRDestroySpatialReference(srs);
  return out ? out : strdup(utm33n_wkt);
}

int hcsc_synth_meta(const hcsc_synth_opts *o, hcsc_meta *m)
{
  int err = 0;
  memset(m, 0, sizeof *m);
  if (o->bands < 1 || o->rows < 1 || o->cols < 1)
    HCSC_FAIL(HCSC_EINVAL, "synthetic scene %lldx%lldx%lld: sizes must be positive",
              (long long)o->rows, (long long)o->cols, (long long)o->bands);
  m->bands = o->bands;
  m->rows = o->rows;
  m->cols = o->cols;
  m->dtype = HCSC_DT_FLOAT32;
  m->has_geotransform = 1;
  /* A fixed corner near Berlin in UTM 33N, 30 m pixels, north up. */
  const double gt[6] = {390000.0, 30.0, 0.0, 5825000.0, 0.0, -30.0};
  memcpy(m->geotransform, gt, sizeof gt);
  m->crs_wkt = utm33n();
  m->wavelength_units = strdup("Nanometers");
  char desc[128];
  snprintf(desc, sizeof desc, "hypercsc synthetic scene, seed %llu", (unsigned long long)o->seed);
  m->description = strdup(desc);
  if (!m->crs_wkt || !m->wavelength_units || !m->description)
    HCSC_FAIL(HCSC_ENOMEM, "out of memory making synthetic scene metadata");
  HCSC_CALLOC(m->wavelength, o->bands);
  HCSC_CALLOC(m->fwhm, o->bands);
  HCSC_CALLOC(m->band_names, o->bands);
  const double spacing = o->bands > 1 ? (o->wl_max - o->wl_min) / (double)(o->bands - 1)
                                      : o->wl_max - o->wl_min;
  for (int64_t b = 0; b < o->bands; b++) {
    char name[64];
    m->wavelength[b] = wavelength(o, b);
    m->fwhm[b] = spacing;
    snprintf(name, sizeof name, "Band %lld (%.0f nm)", (long long)(b + 1), m->wavelength[b]);
    m->band_names[b] = strdup(name);
    if (!m->band_names[b]) HCSC_FAIL(HCSC_ENOMEM, "out of memory making synthetic band names");
  }
cleanup:
  return err;
}
