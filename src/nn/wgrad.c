/* hypercsc — unrolled networks: weight gradients of convolutions.
 *
 * dW[m, c, i, j] += sum_p b_c(p) a~_m(p + (i - a, j - a)) is a matrix
 * product once the shifted copies of a are laid out as columns (im2col):
 *   col[(m, i, j), p] = a~_m(p + (i - a, j - a)),   bcol[c, p] = b_c(p)
 *   G[(m, i, j), c] = col bcol^T                     (one sgemm)
 * over blocks of rows (at most ~8 MB of columns per block, so a whole-scene
 * tile needs bounded memory), G accumulated over the blocks and scattered
 * into dW's [M, C, k, k] layout at the end. */
#include "config.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "hcsc/error.h"
#include "hcsc/timer.h"
#include "nn/nn_impl.h"

#define WGRAD_BLOCK_BYTES (8 << 20)

/* Not collective. */
int nn_wgrad(const hcsc_tile *a, const hcsc_tile *b, int ksize, float *dW)
{
  int err = 0;
  float *col = NULL, *bcol = NULL, *G = NULL;
  const int k = ksize, anc = (k - 1) / 2, h = k - 1 - anc, k2 = k * k;
  int64_t M, C, nr, nc, rows_blk;
  if (!a || !b || !a->data || !b->data || !dW || k < 1)
    return HCSC_ERR(HCSC_EINVAL, "nn_wgrad: missing operand or k = %d", k);
  M = a->nchan;
  C = b->nchan;
  nr = b->box.nr;
  nc = b->box.nc;
  if (!hcsc_box_same_area(&a->box, &b->box))
    return HCSC_ERR(HCSC_ESIZE, "nn_wgrad: operands cover different boxes");
  if (a->halo < h)
    return HCSC_ERR(HCSC_EINVAL, "nn_wgrad: halo %d of the code side is below %d for k = %d",
                    a->halo, h, k);
  if (nr == 0 || nc == 0) return 0;
  rows_blk = WGRAD_BLOCK_BYTES / (int64_t)(sizeof(float) * (size_t)((M * k2 + C) * nc));
  if (rows_blk < 1) rows_blk = 1;
  if (rows_blk > nr) rows_blk = nr;
  hcsc_timer_start(HCSC_PHASE_COMPUTE);
  /* malloc, not calloc: every entry is written before it is read. */
  col = malloc(sizeof(float) * (size_t)(M * k2 * rows_blk * nc));
  bcol = malloc(sizeof(float) * (size_t)(C * rows_blk * nc));
  if (!col || !bcol)
    HCSC_FAIL(HCSC_ENOMEM, "nn_wgrad: out of memory for %lld x %lld columns",
              (long long)(M * k2 + C), (long long)(rows_blk * nc));
  HCSC_CALLOC(G, (size_t)(M * k2 * C));
  for (int64_t r0 = 0; r0 < nr; r0 += rows_blk) {
    const int64_t nrb = r0 + rows_blk <= nr ? rows_blk : nr - r0, np = nrb * nc;
    for (int64_t m = 0; m < M; m++)
      for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++) {
          float *dst = col + ((m * k + i) * k + j) * np;
          for (int64_t r = 0; r < nrb; r++)
            memcpy(dst + r * nc, &HCSC_TILE_AT(a, m, r0 + r + i - anc, j - anc),
                   sizeof(float) * (size_t)nc);
        }
    for (int64_t c = 0; c < C; c++)
      for (int64_t r = 0; r < nrb; r++)
        memcpy(bcol + c * np + r * nc, &HCSC_TILE_AT(b, c, r0 + r, 0), sizeof(float) * (size_t)nc);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)(M * k2), (int)C, (int)np, 1.0f, col,
                (int)np, bcol, (int)np, 1.0f, G, (int)C);
  }
  for (int64_t m = 0; m < M; m++)
    for (int64_t c = 0; c < C; c++)
      for (int t = 0; t < k2; t++) dW[(m * C + c) * k2 + t] += G[(m * k2 + t) * C + c];
cleanup:
  hcsc_timer_stop(HCSC_PHASE_COMPUTE);
  free(col);
  free(bcol);
  free(G);
  return err;
}
