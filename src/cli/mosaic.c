/* hypercsc — the atom mosaic shared by "dict show" and "learn": the atoms
 * of a dictionary layer as tiles of a picture (see cli.h). */
#include "config.h"

#include <math.h>
#include <stdlib.h>

#include "cli/cli.h"

/* See cli.h.  Not collective. */
int hcsc_cli_mosaic(const hcsc_dict *d, const int *ch, int nc, int s, unsigned char **out, int *w, int *h)
{
  int err = 0;
  const int M = d->natoms, k = d->ksize, t = k * s + 1;
  int gc = (int)ceil(sqrt((double)M));
  if (gc < 1) gc = 1;
  int gr = (M + gc - 1) / gc;
  *w = gc * t + 1;
  *h = gr * t + 1;
  if ((double)*w * *h * nc > 1e9) HCSC_FAIL(HCSC_ESIZE, "mosaic: a %d x %d picture of atoms is too large", *w, *h);
  unsigned char *px = NULL;
  HCSC_CALLOC(px, (size_t)*w * *h * nc);
  for (int m = 0; m < M; m++) {
    double amax = 0;
    for (int c = 0; c < nc; c++)
      for (int i = 0; i < k; i++)
        for (int j = 0; j < k; j++) amax = fmax(amax, fabs(HCSC_ATOM(d, m, ch[c], i, j)));
    int y0 = (m / gc) * t + 1, x0 = (m % gc) * t + 1;
    for (int c = 0; c < nc; c++)
      for (int i = 0; i < k * s; i++)
        for (int j = 0; j < k * s; j++) {
          double v = HCSC_ATOM(d, m, ch[c], i / s, j / s);
          px[((size_t)c * *h + y0 + i) * *w + x0 + j] =
              (unsigned char)lround(128.0 + (amax > 0 ? 127.0 * v / amax : 0.0));
        }
  }
  *out = px;
cleanup:
  return err;
}
