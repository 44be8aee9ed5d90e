/* hypercsc — direct multi-channel correlation kernel (see conv_impl.h).
 *
 * The work is a sum of axpys over rows: out row += w * shifted input row.
 * Done naively each multiply-add loads and stores the output, which caps
 * the kernel at the load/store ports (about a third of the FMA peak).
 * Here a strip of 64 output columns lives in eight 8-float vector
 * registers while every (input channel, i, j) tap is added to it, so each
 * FMA costs one unaligned load of the input; the output strip is stored
 * once.  Rows are processed in blocks so that the k input rows a strip
 * reads stay in cache from one output row to the next.
 *
 * The vectors are GCC's generic vector extension (no intrinsics, so any
 * target compiles it); with GCC on x86-64 the kernel is cloned for
 * AVX-512, AVX2+FMA and the baseline and the loader picks one at run time.
 * This file is built with -ffp-contract=fast (src/la/local.mk): -std=c11
 * otherwise forbids fusing a * b + c into an FMA.
 *
 * Measured on this machine (AMD EPYC, 1 core, 256 x 256 tile): 45-60
 * GFLOP/s for M = 16..64, k = 5..11, against 24 for the same loop written
 * with a plain float accumulator array at -O3 and 10 at -O2 (bench/conv.c). */
#include "config.h"

#include <stdint.h>

#include "la/conv_impl.h"

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define KERNEL_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define KERNEL_CLONES
#endif

/* 8 floats, alignment of a float: loads through it may be unaligned. */
typedef float vf8 __attribute__((vector_size(32), aligned(4)));

#define STRIP 64 /* output columns held in registers */
#define ROWBLK 16

/* One output row of one output channel, columns [c0, c0 + STRIP). */
static inline void strip64(int nin, int k, const float *restrict w, const float *restrict in,
                           int64_t in_plane, int64_t in_ld, float *restrict y)
{
  vf8 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, a4 = {0}, a5 = {0}, a6 = {0}, a7 = {0};
  for (int m = 0; m < nin; m++)
    for (int i = 0; i < k; i++) {
      const float *restrict x = in + m * in_plane + i * in_ld;
      const float *restrict wr = w + ((int64_t)m * k + i) * k;
      for (int j = 0; j < k; j++) {
        const float wv = wr[j];
        const vf8 *p = (const vf8 *)(x + j);
        a0 += wv * p[0];
        a1 += wv * p[1];
        a2 += wv * p[2];
        a3 += wv * p[3];
        a4 += wv * p[4];
        a5 += wv * p[5];
        a6 += wv * p[6];
        a7 += wv * p[7];
      }
    }
  vf8 *q = (vf8 *)y;
  q[0] = a0;
  q[1] = a1;
  q[2] = a2;
  q[3] = a3;
  q[4] = a4;
  q[5] = a5;
  q[6] = a6;
  q[7] = a7;
}

/* Columns [c0, c0 + 8). */
static inline void strip8(int nin, int k, const float *restrict w, const float *restrict in,
                          int64_t in_plane, int64_t in_ld, float *restrict y)
{
  vf8 a0 = {0};
  for (int m = 0; m < nin; m++)
    for (int i = 0; i < k; i++) {
      const float *restrict x = in + m * in_plane + i * in_ld;
      const float *restrict wr = w + ((int64_t)m * k + i) * k;
      for (int j = 0; j < k; j++) a0 += wr[j] * *(const vf8 *)(x + j);
    }
  *(vf8 *)y = a0;
}

/* One column (the ragged end of a row). */
static inline void strip1(int nin, int k, const float *restrict w, const float *restrict in,
                          int64_t in_plane, int64_t in_ld, float *restrict y)
{
  float s = 0.0f;
  for (int m = 0; m < nin; m++)
    for (int i = 0; i < k; i++) {
      const float *restrict x = in + m * in_plane + i * in_ld;
      const float *restrict wr = w + ((int64_t)m * k + i) * k;
      for (int j = 0; j < k; j++) s += wr[j] * x[j];
    }
  *y = s;
}

KERNEL_CLONES
void hcsc_conv_direct_run(int nout, int nin, int k, const float *w, const float *in,
                          int64_t in_plane, int64_t in_ld, float *out, int64_t out_plane,
                          int64_t out_ld, int64_t nr, int64_t nc)
{
  const int64_t wstride = (int64_t)nin * k * k;
  for (int64_t r0 = 0; r0 < nr; r0 += ROWBLK) {
    const int64_t r1 = r0 + ROWBLK < nr ? r0 + ROWBLK : nr;
    int64_t c = 0;
    for (; c + STRIP <= nc; c += STRIP)
      for (int o = 0; o < nout; o++)
        for (int64_t r = r0; r < r1; r++)
          strip64(nin, k, w + o * wstride, in + r * in_ld + c, in_plane, in_ld,
                  out + o * out_plane + r * out_ld + c);
    for (; c + 8 <= nc; c += 8)
      for (int o = 0; o < nout; o++)
        for (int64_t r = r0; r < r1; r++)
          strip8(nin, k, w + o * wstride, in + r * in_ld + c, in_plane, in_ld,
                 out + o * out_plane + r * out_ld + c);
    for (; c < nc; c++)
      for (int o = 0; o < nout; o++)
        for (int64_t r = r0; r < r1; r++)
          strip1(nin, k, w + o * wstride, in + r * in_ld + c, in_plane, in_ld,
                 out + o * out_plane + r * out_ld + c);
  }
}
