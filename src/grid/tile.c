/* hypercsc — tiles: a box of the scene with channels and a halo. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hcsc/error.h"
#include "hcsc/grid.h"
#include "hcsc/timer.h"

/* Allocate a zeroed tile of nchan channels over box with a halo of width
 * halo.  Not collective.  The caller owns t->data and releases it with
 * hcsc_tile_free. */
int hcsc_box_same_area(const hcsc_box *a, const hcsc_box *b)
{
  return a->r0 == b->r0 && a->nr == b->nr && a->c0 == b->c0 && a->nc == b->nc;
}

int hcsc_tile_alloc(hcsc_tile *t, const hcsc_box *box, int64_t nchan, int halo)
{
  int err = 0;
  int64_t ldr, ldc;
  size_t n;
  if (!t || !box) return HCSC_ERR(HCSC_EINVAL, "hcsc_tile_alloc: no tile or box");
  memset(t, 0, sizeof *t);
  if (box->nr < 0 || box->nc < 0 || nchan < 1 || halo < 0)
    HCSC_FAIL(HCSC_EINVAL, "tile of %lld channels x %lld x %lld with halo %d: invalid size",
              (long long)nchan, (long long)box->nr, (long long)box->nc, halo);
  /* Every product below is checked against SIZE_MAX / sizeof(float) before
   * it is formed, so a huge box is an error and never a short buffer. */
  if (box->nr > INT64_MAX / 2 - halo || box->nc > INT64_MAX / 2 - halo)
    HCSC_FAIL(HCSC_ENOMEM, "tile of %lld x %lld with halo %d: size overflows",
              (long long)box->nr, (long long)box->nc, halo);
  ldr = box->nr + 2 * (int64_t)halo;
  ldc = box->nc + 2 * (int64_t)halo;
  {
    const uint64_t lim = SIZE_MAX / sizeof(float);
    uint64_t r = (uint64_t)ldr, c = (uint64_t)ldc, ch = (uint64_t)nchan;
    if (r > lim || (r != 0 && c > lim / r) || (r * c != 0 && ch > lim / (r * c)))
      HCSC_FAIL(HCSC_ENOMEM,
                "tile of %lld channels x %lld x %lld floats: size overflows the address space",
                (long long)nchan, (long long)ldr, (long long)ldc);
  }
  n = (size_t)nchan * (size_t)ldr * (size_t)ldc;
  hcsc_timer_start(HCSC_PHASE_SETUP);
  t->data = malloc((n ? n : 1) * sizeof(float));
  /* Zero it now rather than through calloc's lazily mapped pages: the page
   * faults of a large tile are paid here, once, and timed as setup, instead
   * of inside whatever first touches the tile (a read, a kernel) and
   * blurring that phase's timing. */
  if (t->data) {
    /* Through a volatile pointer: the compiler would otherwise fuse
     * malloc + memset into calloc and leave the pages unmapped. */
    volatile float *v = t->data;
    for (size_t i = 0; i < n; i++) v[i] = 0.0f;
  }
  hcsc_timer_stop(HCSC_PHASE_SETUP);
  if (!t->data)
    HCSC_FAIL(HCSC_ENOMEM, "out of memory allocating a tile of %zu bytes", n * sizeof(float));
  t->box = *box;
  t->nchan = nchan;
  t->halo = halo;
  t->ldr = ldr;
  t->ldc = ldc;
cleanup:
  return err;
}

/* Free a tile's data and zero it.  Not collective.  Accepts a zeroed tile
 * that was never allocated, and NULL. */
void hcsc_tile_free(hcsc_tile *t)
{
  if (!t) return;
  free(t->data);
  memset(t, 0, sizeof *t);
}
