/* hypercsc denoise / inpaint: the before | after quicklook (see
 * restore_common.h). */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/restore_common.h"

#define QL_MAX 2048

/* Shared with hypercsc code (moved from cmd_code.c). */

/* The three bands of the picture (global, 0-based). */
static int pick_bands(const hcsc_meta *m, const char *rgb_nm, int64_t ch[3])
{
  double nm[3] = {640, 550, 460};
  if (rgb_nm && sscanf(rgb_nm, "%lf,%lf,%lf", &nm[0], &nm[1], &nm[2]) != 3)
    return HCSC_ERR(HCSC_EINVAL, "quicklook: --rgb-nm '%s': expected three wavelengths R,G,B in nm", rgb_nm);
  for (int i = 0; i < 3; i++) {
    ch[i] = (int64_t)((double)(m->bands - 1) * (3 - i) / 4.0 + 0.5);
    if (m->wavelength) {
      double best = INFINITY;
      for (int64_t b = 0; b < m->bands; b++) {
        const double dist = fabs(m->wavelength[b] - nm[i]);
        if ((!m->bbl || m->bbl[b]) && dist < best) best = dist, ch[i] = b;
      }
    }
  }
  return 0;
}

int hcsc_restore_quicklook(const hcsc_grid *g, const hcsc_meta *m, const hcsc_tile *before,
                           const hcsc_tile *after, const char *rgb_nm, const char *path, int force)
{
  int err = 0, rank;
  MPI_Comm comm = hcsc_grid_comm(g);
  const hcsc_box box = hcsc_grid_box(g);
  int64_t ch[3], n[6] = {0}, k[6], tot[3];
  double *v[6] = {NULL}, lim[6];
  unsigned char *pix = NULL;
  MPI_Comm_rank(comm, &rank);
  err = pick_bands(m, rgb_nm, ch);
  /* The stretch: 2 and 98 % of the valid values of each band before. */
  for (int i = 0; i < 3 && !err; i++) {
    const int64_t b = ch[i] - box.b0;
    if (b < 0 || b >= box.nb) continue;
    if (!(v[i] = malloc(sizeof(double) * (size_t)(box.nr * box.nc + 1)))) {
      err = HCSC_ERR(HCSC_ENOMEM, "quicklook: out of memory");
      break;
    }
    for (int64_t r = 0; r < box.nr; r++)
      for (int64_t c = 0; c < box.nc; c++) {
        const float x = HCSC_TILE_AT(before, b, r, c);
        if (!isnan(x)) v[i][n[i]++] = x;
      }
  }
  HCSC_CHECK(hcsc_error_agree(comm, err));
  for (int i = 0; i < 3; i++) tot[i] = n[i];
  HCSC_CHECK(hcsc_grid_allreduce(g, HCSC_SCOPE_ALL, tot, 3, MPI_INT64_T, MPI_SUM));
  for (int i = 0; i < 3; i++) {
    v[i + 3] = v[i];
    n[i + 3] = n[i];
    k[i] = tot[i] > 0 ? (int64_t)floor(0.02 * (double)(tot[i] - 1)) : -1;
    k[i + 3] = tot[i] > 0 ? (int64_t)floor(0.98 * (double)(tot[i] - 1)) : -1;
  }
  HCSC_CHECK(hcsc_stats_select(comm, 6, v, n, k, lim));
  {
    const int64_t s = (m->rows > m->cols ? m->rows : m->cols) > QL_MAX
                          ? ((m->rows > m->cols ? m->rows : m->cols) + QL_MAX - 1) / QL_MAX
                          : 1;
    const int64_t h = (m->rows + s - 1) / s, w = (m->cols + s - 1) / s, W2 = 2 * w;
    const size_t npix = (size_t)(3 * h * W2);
    pix = calloc(npix, 1);
    HCSC_CHECK(hcsc_error_agree(comm, pix ? 0 : HCSC_ERR(HCSC_ENOMEM, "quicklook: out of memory")));
    for (int i = 0; i < 3; i++) {
      const int64_t b = ch[i] - box.b0;
      const double lo = lim[i], hi = lim[i + 3], span = hi > lo ? hi - lo : 1.0;
      if (b < 0 || b >= box.nb || isnan(lo)) continue;
      for (int64_t py = (box.r0 + s - 1) / s; py * s < box.r0 + box.nr; py++)
        for (int64_t px = (box.c0 + s - 1) / s; px * s < box.c0 + box.nc; px++)
          for (int half = 0; half < 2; half++) {
            const float x = HCSC_TILE_AT(half ? after : before, b, py * s - box.r0, px * s - box.c0);
            double u = isnan(x) ? 0.0 : (x - lo) / span * 255.0;
            u = u < 0 ? 0 : u > 255 ? 255 : u;
            pix[((size_t)i * h + py) * W2 + half * w + px] = (unsigned char)(u + 0.5);
          }
    }
    hcsc_timer_start(HCSC_PHASE_REDUCE);
    err = MPI_Reduce(rank == 0 ? MPI_IN_PLACE : pix, pix, (int)npix, MPI_UNSIGNED_CHAR, MPI_MAX, 0, comm);
    hcsc_timer_stop(HCSC_PHASE_REDUCE);
    if (err != MPI_SUCCESS) err = hcsc_error_mpi(err, __FILE__, __LINE__, "MPI_Reduce");
    if (!err && rank == 0) {
      hcsc_timer_start(HCSC_PHASE_IO_WRITE);
      err = hcsc_picture_write_png(path, pix, (int)W2, (int)h, 3, force);
      hcsc_timer_stop(HCSC_PHASE_IO_WRITE);
    }
  }
cleanup:
  free(pix);
  for (int i = 0; i < 3; i++) free(v[i]);
  return hcsc_error_agree(comm, err);
}
