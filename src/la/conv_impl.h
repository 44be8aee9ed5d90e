/* hypercsc — private interface between the convolution files of src/la.
 *
 *   conv.c         the plan object: checks, cost model, analysis workspace
 *                  (zero-padded copy of r, fold of out-of-scene sums),
 *                  dispatch, hcsc_tile_zero_outside
 *   conv_direct.c  direct correlation kernel (vectorised, cache blocked)
 *   conv_fft.c     overlap-save FFT correlation (FFTW single precision)
 *
 * Both kernels compute one multi-channel correlation on a region:
 *   out_o(r, c) = sum_in sum_{i,j} w_{o,in}(i, j) in_in(r + i, c + j),
 * r in [0, nr), c in [0, nc), reading input rows [0, nr + k - 1) and
 * columns [0, nc + k - 1) (the caller points "in" at the region's origin
 * minus the anchor).  Synthesis is this with w = d (o = channel, in = atom,
 * anchor a); analysis with the taps flipped (o = atom, in = channel, anchor
 * h = k - 1 - a). */
#ifndef HCSC_CONV_IMPL_H
#define HCSC_CONV_IMPL_H

#include <stdint.h>

#include "hcsc/dict.h"

/* Direct kernel; w is [nout][nin][k][k].  Not collective. */
void hcsc_conv_direct_run(int nout, int nin, int k, const float *w, const float *in,
                          int64_t in_plane, int64_t in_ld, float *out, int64_t out_plane,
                          int64_t out_ld, int64_t nr, int64_t nc);

/* FFT engine for one dictionary shape and one block size B (B x B
 * transforms, B - k + 1 outputs per block and axis). */
typedef struct hcsc_conv_fft hcsc_conv_fft;
int hcsc_conv_fft_create(int natoms, int nchan, int k, int B, hcsc_conv_fft **out);
void hcsc_conv_fft_destroy(hcsc_conv_fft **f);
/* Atom spectra from d (same shape as at create). */
int hcsc_conv_fft_set_atoms(hcsc_conv_fft *f, const hcsc_dict *d);
/* analysis = 0: out (C planes) = correlation of in (M planes) with d;
 * analysis = 1: out (M planes) = correlation of in (C planes) with the
 * flipped taps of d.  in holds rows [0, in_nr) x [0, in_nc) valid and is
 * read as zero beyond (the block edges past the region only feed outputs
 * that are discarded). */
void hcsc_conv_fft_run(hcsc_conv_fft *f, int analysis, const float *in, int64_t in_plane,
                       int64_t in_ld, int64_t in_nr, int64_t in_nc, float *out, int64_t out_plane,
                       int64_t out_ld, int64_t nr, int64_t nc);
/* Bytes of atom spectra for a block size (for the memory bound). */
double hcsc_conv_fft_spectra_bytes(int natoms, int nchan, int B);

#endif
