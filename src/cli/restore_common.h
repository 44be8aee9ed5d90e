/* hypercsc denoise / inpaint: helpers shared by the restoration commands
 * (src/cli/restore_common.c).  Private to src/cli. */
#ifndef HCSC_CLI_RESTORE_COMMON_H
#define HCSC_CLI_RESTORE_COMMON_H

#include "cli/cli.h"

/* The quicklook of a restoration: before | after side by side, false
 * colour from the bands nearest rgb_nm ("R,G,B" nm, NULL: 640,550,460)
 * when the scene has wavelengths, else the bands at 3/4, 1/2 and 1/4 of
 * the range; each channel stretched linearly between the 2 and 98 %
 * percentiles of the BEFORE image's valid values (exact, distributed:
 * hcsc_stats_select), the same stretch for both halves; scenes larger than
 * 2048 pixels a side are subsampled (every s-th row and column).  Only the
 * small 3-band picture is gathered (a max-reduction onto rank 0, each
 * rank filling the pixels it holds), rank 0 writes the PNG (picture.h);
 * NaN shows black.  Collective on the grid's comm. */
int hcsc_restore_quicklook(const hcsc_grid *g, const hcsc_meta *m, const hcsc_tile *before,
                           const hcsc_tile *after, const char *rgb_nm, const char *path, int force);


#endif
