/* hypercsc — convolutional dictionaries: allocation, projection onto the
 * unit-norm constraint set, random and patch initialisation.  File I/O is
 * in dict_io.c. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hcsc/dict.h"
#include "hcsc/error.h"
#include "hcsc/rng.h"
#include "hcsc/timer.h"

/* RNG streams of the initialisations (see rng.h: one stream per use). */
#define DICT_STREAM_RANDOM 0x44430001u
#define DICT_STREAM_PATCHES 0x44430002u

/* Validate sizes, allocate zeroed atoms.  Not collective.  The caller owns
 * d->atoms and releases it with hcsc_dict_free. */
int hcsc_dict_alloc(hcsc_dict *d, int natoms, int nchan, int ksize, int scale)
{
  int err = 0;
  if (!d) return HCSC_ERR(HCSC_EINVAL, "hcsc_dict_alloc: no dictionary");
  memset(d, 0, sizeof *d);
  if (natoms < 1 || nchan < 1 || ksize < 1 || ksize > 64)
    HCSC_FAIL(HCSC_EINVAL, "dictionary of %d atoms x %d channels x %d x %d taps: invalid size "
              "(atoms and channels >= 1, 1 <= k <= 64)", natoms, nchan, ksize, ksize);
  if (scale != 1 && scale != 2 && scale != 4)
    HCSC_FAIL(HCSC_EINVAL, "dictionary scale %d: must be 1, 2 or 4", scale);
  /* 64 * 64 taps: natoms * nchan below 2^31 / 4096 keeps every index in int64
   * and the allocation far from size_t overflow. */
  if ((int64_t)natoms * nchan > (int64_t)1 << 24)
    HCSC_FAIL(HCSC_EINVAL, "dictionary of %d atoms x %d channels: too large", natoms, nchan);
  HCSC_CALLOC(d->atoms, (size_t)natoms * nchan * ksize * ksize);
  d->natoms = natoms;
  d->nchan = nchan;
  d->ksize = ksize;
  d->scale = scale;
cleanup:
  return err;
}

/* Not collective; accepts a zeroed or freed dictionary and NULL. */
void hcsc_dict_free(hcsc_dict *d)
{
  if (!d) return;
  free(d->atoms);
  memset(d, 0, sizeof *d);
}

/* Deep copy; dst is overwritten (not freed first).  Not collective. */
int hcsc_dict_copy(hcsc_dict *dst, const hcsc_dict *src)
{
  int err = 0;
  if (!dst || !src || !src->atoms) return HCSC_ERR(HCSC_EINVAL, "hcsc_dict_copy: no dictionary");
  HCSC_CHECK(hcsc_dict_alloc(dst, src->natoms, src->nchan, src->ksize, src->scale));
  memcpy(dst->atoms, src->atoms,
         sizeof(float) * (size_t)src->natoms * src->nchan * src->ksize * src->ksize);
cleanup:
  return err;
}

void hcsc_dict_free_layers(hcsc_dict **layers, int nlayers)
{
  if (!layers || !*layers) return;
  for (int l = 0; l < nlayers; l++) hcsc_dict_free(&(*layers)[l]);
  free(*layers);
  *layers = NULL;
}

/* Not collective.  Norms in double so that the result does not depend on
 * the summation order's float rounding more than necessary. */
void hcsc_dict_normalize(hcsc_dict *d)
{
  if (!d || !d->atoms) return;
  int64_t n = (int64_t)d->nchan * d->ksize * d->ksize;
  for (int m = 0; m < d->natoms; m++) {
    float *a = d->atoms + m * n;
    double s = 0.0;
    for (int64_t i = 0; i < n; i++) s += (double)a[i] * a[i];
    if (s > 0.0) {
      double inv = 1.0 / sqrt(s);
      for (int64_t i = 0; i < n; i++) a[i] = (float)(a[i] * inv);
    }
  }
}

/* Each tap is the normal draw keyed on (atom * C + channel, i, j): a pure
 * function of the seed, identical on every rank.  Not collective. */
int hcsc_dict_init_random(hcsc_dict *d, uint64_t seed)
{
  if (!d || !d->atoms) return HCSC_ERR(HCSC_EINVAL, "hcsc_dict_init_random: dictionary not allocated");
  for (int m = 0; m < d->natoms; m++)
    for (int c = 0; c < d->nchan; c++)
      for (int i = 0; i < d->ksize; i++)
        for (int j = 0; j < d->ksize; j++)
          HCSC_ATOM(d, m, c, i, j) =
              (float)hcsc_rng_normal(seed, DICT_STREAM_RANDOM, (int64_t)m * d->nchan + c, i, j);
  hcsc_dict_normalize(d);
  return 0;
}

/* Patch m is centred (at the anchor) on a pixel drawn uniformly over the
 * scene; its taps are the scene under the edge rule, read from the tile of
 * the rank that owns the centre (whose halo holds the rest).  Every other
 * rank contributes zeros, so one sum shares the patches exactly.
 * Collective on comm. */
int hcsc_dict_init_patches(hcsc_dict *d, MPI_Comm comm, const hcsc_tile *t, int64_t rows,
                           int64_t cols, uint64_t seed)
{
  int err = 0, contribute = 0;
  int64_t c0 = 0;
  size_t n = 0;
  if (!d || !d->atoms || !t || !t->data) {
    err = HCSC_ERR(HCSC_EINVAL, "hcsc_dict_init_patches: dictionary or tile not allocated");
    goto agree;
  }
  const int k = d->ksize, h = k - 1 - (k - 1) / 2;
  n = (size_t)d->natoms * d->nchan * k * k;
  if (rows < 1 || cols < 1 || t->box.r0 + t->box.nr > rows || t->box.c0 + t->box.nc > cols) {
    err = HCSC_ERR(HCSC_EINVAL, "hcsc_dict_init_patches: tile [%lld+%lld, %lld+%lld] outside a "
                   "%lld x %lld scene", (long long)t->box.r0, (long long)t->box.nr,
                   (long long)t->box.c0, (long long)t->box.nc, (long long)rows, (long long)cols);
    goto agree;
  }
  if (t->halo < h) {
    err = HCSC_ERR(HCSC_EINVAL, "hcsc_dict_init_patches: tile halo %d is narrower than the %d "
                   "that %d x %d patches need", t->halo, h, k, k);
    goto agree;
  }
  /* Which channels this rank holds: all C of them, or (scene data split in
   * band slices) channels [b0, b0 + nb) of C.  With all channels, only the
   * first band slice contributes, so spectral groups do not add twice. */
  if (t->nchan == d->nchan) {
    contribute = t->box.b0 == 0;
  } else if (t->box.nb == t->nchan && t->box.b0 + t->box.nb <= d->nchan) {
    contribute = 1;
    c0 = t->box.b0;
  } else {
    err = HCSC_ERR(HCSC_EINVAL, "hcsc_dict_init_patches: dictionary has %d channels, the tile %lld "
                   "(bands %lld..%lld): channels must match the tile or the scene's bands",
                   d->nchan, (long long)t->nchan, (long long)t->box.b0,
                   (long long)(t->box.b0 + t->box.nb - 1));
    goto agree;
  }
agree:
  HCSC_CHECK(hcsc_error_agree(comm, err));

  memset(d->atoms, 0, n * sizeof(float));
  {
    const int kk = d->ksize, a = (kk - 1) / 2;
    hcsc_rng rng;
    hcsc_rng_init(&rng, seed, DICT_STREAM_PATCHES);
    for (int m = 0; m < d->natoms; m++) {
      /* Drawn on every rank, contributing or not, so the streams agree. */
      int64_t pr = (int64_t)hcsc_rng_next_below(&rng, (uint64_t)rows);
      int64_t pc = (int64_t)hcsc_rng_next_below(&rng, (uint64_t)cols);
      int64_t lr = pr - t->box.r0, lc = pc - t->box.c0;
      if (!contribute || lr < 0 || lr >= t->box.nr || lc < 0 || lc >= t->box.nc) continue;
      for (int64_t ch = 0; ch < t->nchan; ch++)
        for (int i = 0; i < kk; i++)
          for (int j = 0; j < kk; j++)
            HCSC_ATOM(d, m, c0 + ch, i, j) = HCSC_TILE_AT(t, ch, lr + i - a, lc + j - a);
    }
  }
  hcsc_timer_start(HCSC_PHASE_REDUCE);
  hcsc_timer_add_bytes(HCSC_PHASE_REDUCE, (double)n * sizeof(float));
  /* Exactly one rank holds each value (the others add 0): the float sum is
   * exact and the same on every decomposition. */
  err = MPI_Allreduce(MPI_IN_PLACE, d->atoms, (int)n, MPI_FLOAT, MPI_SUM, comm);
  hcsc_timer_stop(HCSC_PHASE_REDUCE);
  if (err != MPI_SUCCESS) {
    err = hcsc_error_mpi(err, __FILE__, __LINE__, "MPI_Allreduce(patches)");
    goto cleanup;
  }
  {
    const int64_t kk = (int64_t)d->ksize * d->ksize;
    for (int m = 0; m < d->natoms; m++)
      for (int c = 0; c < d->nchan; c++) {
        float *p = &HCSC_ATOM(d, m, c, 0, 0);
        double s = 0.0;
        for (int64_t i = 0; i < kk; i++) s += p[i];
        s /= (double)kk;
        for (int64_t i = 0; i < kk; i++) p[i] = (float)(p[i] - s);
      }
  }
  hcsc_dict_normalize(d);
cleanup:
  return hcsc_error_agree(comm, err);
}

/* See dict.h.  Not collective. */
int hcsc_dict_check_structure(const hcsc_dict *layers, int nlayers, int structure, const char *what)
{
  if (!layers || nlayers < 1)
    return HCSC_ERR(HCSC_EINVAL, "%s: no dictionary layers", what);
  switch (structure) {
  case HCSC_DICT_SINGLE:
    if (nlayers != 1)
      return HCSC_ERR(HCSC_EINVAL, "%s: a single dictionary has 1 layer, not %d", what, nlayers);
    break;
  case HCSC_DICT_STACK:
    for (int l = 0; l + 1 < nlayers; l++)
      if (layers[l + 1].nchan != layers[l].natoms)
        return HCSC_ERR(HCSC_EINVAL, "%s: multi-layer stack: layer %d has %d channels, layer %d has %d "
                        "atoms (they must match)", what, l + 1, layers[l + 1].nchan, l, layers[l].natoms);
    break;
  case HCSC_DICT_SCALES:
    for (int l = 1; l < nlayers; l++)
      if (layers[l].nchan != layers[0].nchan)
        return HCSC_ERR(HCSC_EINVAL, "%s: multi-scale set: layer %d has %d channels, layer 0 has %d "
                        "(they must match)", what, l, layers[l].nchan, layers[0].nchan);
    break;
  default:
    return HCSC_ERR(HCSC_EINVAL, "%s: unknown dictionary structure %d", what, structure);
  }
  return 0;
}

/* See dict.h.  Not collective. */
void hcsc_dict_info_free(hcsc_dict_info *info)
{
  if (!info) return;
  free(info->wavelength);
  memset(info, 0, sizeof *info);
}
