/* hypercsc — convolutional operators on tiles: synthesis D z and analysis
 * D^T r, planned once per (dictionary, tile shape) and executed many times.
 *
 * Definitions, for a dictionary of M atoms over C channels with k x k taps
 * and anchor a = (k - 1) / 2, on a scene of H x W pixels:
 *
 *   synthesis   x_c(p) = sum_m sum_{i,j} d_{m,c}(i,j) z~_m(p + (i - a, j - a))
 *   analysis    g_m(q) = sum_c sum_p sum_{i,j} d_{m,c}(i,j) r_c(p) [E(p + (i-a, j-a)) = q]
 *
 * where z~ is z extended by the scene-edge rule (half-sample symmetric
 * extension, grid.h) and E maps an index to its mirror inside the scene.
 * Analysis is the exact adjoint of synthesis: <D z, r> = <z, D^T r>.
 *
 * On tiles: synthesis needs z with a halo of h = k - 1 - a filled by
 * hcsc_halo_exchange (mirrored at the scene edge).  Analysis needs r with a
 * halo of h filled by hcsc_halo_exchange and then zeroed outside the scene
 * (hcsc_tile_zero_outside); the contributions that fall outside the scene
 * are folded back onto their mirror images, which lie in the same tile as
 * long as every tile is at least h wide (hcsc_conv_create refuses thinner
 * tiles).  With these rules a distributed operator equals the serial one to
 * float rounding on every decomposition.
 *
 * Backends: direct (loops blocked for cache and vectorised over columns) and
 * FFT (FFTW single precision, overlap-save on blocks of the tile, plans and
 * atom spectra made at create and reused).  HCSC_CONV_AUTO picks one with a
 * cost model from M, C, k and the tile size.
 *
 * Overlap with the halo exchange: the _part variants split one operator
 * into the outputs that read no halo (HCSC_CONV_INNER: synthesis rows and
 * columns [a, n - h), analysis [h, n - h), where also no fold lands) and
 * the rest (HCSC_CONV_BORDER), so a caller can run INNER between
 * hcsc_halo_begin and hcsc_halo_end and BORDER after.  INNER then BORDER
 * gives exactly (bit for bit) the WHOLE result.  Only the direct backend
 * overlaps: for FFT, INNER does nothing and BORDER computes everything.
 *
 * Memory: synthesis needs no scratch.  Analysis needs
 * hcsc_conv_work_size floats (a zero-padded copy of r and the result on
 * the tile grown by the out-of-scene band, about (C + M) x tile), made at
 * its first call unless the caller lends one buffer to several plans that
 * never run at the same time (hcsc_conv_set_work). */
#ifndef HCSC_CONV_H
#define HCSC_CONV_H

#include <stddef.h>
#include <stdint.h>

#include "hcsc/dict.h"
#include "hcsc/grid.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { HCSC_CONV_AUTO = 0, HCSC_CONV_DIRECT, HCSC_CONV_FFT } hcsc_conv_backend;

typedef struct hcsc_conv hcsc_conv;

/* Plan the operators of dictionary d (kept by reference: the caller keeps d
 * alive and may change its atoms, then calls hcsc_conv_update) for tiles of
 * box (interior) in a scene of rows x cols.  Not collective. */
int hcsc_conv_create(const hcsc_dict *d, const hcsc_box *box, int64_t rows, int64_t cols,
                     hcsc_conv_backend backend, hcsc_conv **out);
void hcsc_conv_destroy(hcsc_conv **op);
/* Re-read the atoms after they changed (FFT: recompute their spectra). */
int hcsc_conv_update(hcsc_conv *op);
hcsc_conv_backend hcsc_conv_get_backend(const hcsc_conv *op);
/* Halo width the operands need: k - 1 - a. */
int hcsc_conv_halo(const hcsc_conv *op);

/* x (C channels) = D z (z: M channels, halo >= hcsc_conv_halo, filled).
 * Interior of x written; its halo untouched.  Not collective. */
int hcsc_conv_synth(hcsc_conv *op, const hcsc_tile *z, hcsc_tile *x);
/* g (M channels) = D^T r (r: C channels, halo filled and zeroed outside the
 * scene).  Interior of g written.  Not collective. */
int hcsc_conv_analysis(hcsc_conv *op, const hcsc_tile *r, hcsc_tile *g);

/* Parts of an operator (see the top). */
typedef enum { HCSC_CONV_WHOLE = 0, HCSC_CONV_INNER, HCSC_CONV_BORDER } hcsc_conv_part;
/* hcsc_conv_synth / hcsc_conv_analysis on a part of the output: INNER
 * needs only the operand's interior (its halo may be in flight), BORDER
 * needs the halo filled (and zeroed outside the scene for analysis) and,
 * for analysis, runs after INNER on the same plan with no other analysis
 * of a plan sharing its scratch in between.  Not collective. */
int hcsc_conv_synth_part(hcsc_conv *op, const hcsc_tile *z, hcsc_tile *x, hcsc_conv_part part);
int hcsc_conv_analysis_part(hcsc_conv *op, const hcsc_tile *r, hcsc_tile *g, hcsc_conv_part part);

/* Floats of analysis scratch the plan needs (see the top).  Not collective. */
size_t hcsc_conv_work_size(const hcsc_conv *op);
/* Use work (n >= hcsc_conv_work_size floats, the caller's: it must outlive
 * the plan's use of it) as the analysis scratch; NULL: the plan's own
 * again (made at the next analysis).  Not collective. */
int hcsc_conv_set_work(hcsc_conv *op, float *work, size_t n);

/* Set the halo cells of t that lie outside the scene (rows x cols) to 0.
 * Not collective. */
void hcsc_tile_zero_outside(hcsc_tile *t, int64_t rows, int64_t cols);

/* Flops of one synthesis (= one analysis) on the tile, for throughput
 * figures: 2 M C k^2 nr nc for the direct backend. */
double hcsc_conv_flops(const hcsc_conv *op);

/* The FFT block size (B x B transforms) of an FFT plan, 0 for direct; the
 * name of a backend ("direct", "fft", "auto").  Not collective. */
int hcsc_conv_block(const hcsc_conv *op);
const char *hcsc_conv_backend_name(hcsc_conv_backend b);

#ifdef __cplusplus
}
#endif
#endif
