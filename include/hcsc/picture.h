/* hypercsc — pictures for people: 8-bit PNG files (atom mosaics, quick
 * looks), written through GDAL's PNG driver. */
#ifndef HCSC_PICTURE_H
#define HCSC_PICTURE_H

#ifdef __cplusplus
extern "C" {
#endif

/* Write an 8-bit picture of width x height pixels with nbands planes (1:
 * grey, 3: RGB), stored plane by plane, row-major:
 *   pixel (b, y, x) is pixels[(b * height + y) * width + x].
 * The PNG is made in a GDAL MEM dataset, copied with the PNG driver to
 * "<path>.hcsc-tmp-<pid>" and renamed to path when complete, so no partial
 * file ever carries the requested name.  An existing path is HCSC_EEXIST
 * unless force.  Not collective (one process writes); the caller owns
 * pixels. */
int hcsc_picture_write_png(const char *path, const unsigned char *pixels, int width, int height,
                           int nbands, int force);

#ifdef __cplusplus
}
#endif
#endif
