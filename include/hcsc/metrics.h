/* hypercsc — quality metrics of a test scene against a reference, computed
 * in parallel on tiles.
 *
 *   MPSNR  mean over bands of PSNR_b = 10 log10(peak^2 / MSE_b); peak is the
 *          reference's global max - min unless given.  A band with MSE_b = 0
 *          has PSNR_b = +inf, and MPSNR is then +inf too (identical bands
 *          are reported as such, not capped; the commands print "inf" and
 *          JSON null).
 *   MSSIM  mean over bands of the mean SSIM map (Wang et al. 2004): Gaussian
 *          window sigma 1.5, 11 x 11, K1 = 0.01, K2 = 0.03, L = peak,
 *          population (co)variances.  Tiles need a halo >= 5 filled by the
 *          scene-edge rule (half-sample symmetric extension, grid.h; the
 *          caller runs hcsc_halo_exchange), so the map is defined at every
 *          pixel including the scene border, and averaged over all valid
 *          pixels (skimage crops a 5-pixel border instead; values differ
 *          slightly there).  A map pixel whose window touches a NaN is
 *          invalid.
 *   SAM    mean over pixels of the spectral angle acos(<a,b> / |a||b|), in
 *          radians (sam) and degrees (sam_deg).  Pixels where either
 *          spectrum is zero or has a NaN are skipped.  With spectral groups,
 *          the dot products are partial sums reduced over spectral_comm.
 *   ERGAS  100 sqrt(mean_b MSE_b / mu_b^2), mu_b the reference band mean
 *          (no resolution-ratio factor, as DESIGN.md defines it).
 * NaN values in either scene are skipped (per band and value for MSE and
 * means) and counted.  All sums are in double and reduced with
 * MPI_Allreduce, so results agree for any decomposition up to summation
 * order (1e-9 relative). */
#ifndef HCSC_METRICS_H
#define HCSC_METRICS_H

#include <mpi.h>
#include <stdint.h>

#include "hcsc/grid.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  double peak;  /* <= 0: the reference's global max - min */
  int ssim;     /* compute SSIM (tiles need halo >= 5); 0 skips it */
} hcsc_metrics_opts;

typedef struct {
  int64_t bands;
  double peak;
  double mpsnr, mssim, sam, sam_deg, ergas;
  double *psnr, *ssim, *mse, *mean_ref, *rmse; /* [bands], malloc'ed */
  int64_t *count;       /* [bands] values used per band */
  int64_t nan_skipped;  /* band values skipped for a NaN in either scene */
  int64_t sam_pixels;   /* pixels in the SAM mean */
  int64_t sam_skipped;  /* pixels skipped by SAM (zero spectrum or NaN) */
} hcsc_metrics;

/* Defaults: peak from the reference, SSIM on.  Not collective. */
void hcsc_metrics_opts_init(hcsc_metrics_opts *o);

/* Compare tile test against tile ref (same box, nchan = box.nb) of a scene
 * with bands_total bands.  comm: every rank holding a tile of the scene
 * (each band value exactly once); spectral_comm: the ranks holding the other
 * bands of this rank's spatial tile (MPI_COMM_NULL or a 1-rank comm when
 * bands are not split).  Per-band arrays cover all bands on every rank.
 * out is filled (free with hcsc_metrics_free).  Collective on comm and
 * spectral_comm. */
int hcsc_metrics_compute(MPI_Comm comm, MPI_Comm spectral_comm, const hcsc_tile *ref,
                         const hcsc_tile *test, int64_t bands_total, const hcsc_metrics_opts *o,
                         hcsc_metrics *out);
/* Free the arrays of m (accepts a zeroed m).  Not collective. */
void hcsc_metrics_free(hcsc_metrics *m);

#ifdef __cplusplus
}
#endif
#endif
