/* hypercsc — convolutional dictionaries.
 *
 * A dictionary layer holds M atoms, each k x k spatial taps over C
 * channels, stored atom-major:  atom m, channel c, tap (i, j) is
 *   atoms[((m * C + c) * k + i) * k + j],   i = row offset, j = col offset.
 * The anchor of a k x k atom is a = (k - 1) / 2 (integer division): tap
 * (i, j) acts at offset (i - a, j - a) from the pixel (see conv.h).
 * A layer may act at a scale s (1, 2, 4): its codes live on a grid s times
 * coarser and reach the scene through a stride-s transposed convolution
 * (multi-scale CSC).  A model is a stack of layers (multi-layer CSC: layer
 * l + 1 has C = M of layer l) and/or a set of scales, plus an optional
 * spectral layer (hcsc/pca.h).  Dictionaries are small and replicated on
 * every rank. */
#ifndef HCSC_DICT_H
#define HCSC_DICT_H

#include <mpi.h>
#include <stdint.h>

#include "hcsc/grid.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
  int natoms;   /* M */
  int nchan;    /* C */
  int ksize;    /* k */
  int scale;    /* 1, 2 or 4 */
  float *atoms; /* M * C * k * k, layout above */
} hcsc_dict;

#define HCSC_ATOM(d, m, c, i, j) \
  ((d)->atoms[(((int64_t)(m) * (d)->nchan + (c)) * (d)->ksize + (i)) * (d)->ksize + (j)])

/* Allocate (zeroed) / free.  Not collective. */
int hcsc_dict_alloc(hcsc_dict *d, int natoms, int nchan, int ksize, int scale);
void hcsc_dict_free(hcsc_dict *d);
int hcsc_dict_copy(hcsc_dict *dst, const hcsc_dict *src);
/* Free an array of nlayers dictionaries (as hcsc_dict_load returns) and set
 * *layers to NULL.  Not collective; accepts NULL. */
void hcsc_dict_free_layers(hcsc_dict **layers, int nlayers);

/* Project each atom onto the constraint set: unit Euclidean norm over its
 * C k^2 taps (an all-zero atom is left zero).  Not collective. */
void hcsc_dict_normalize(hcsc_dict *d);

/* Random atoms (Gaussian, counter-based RNG keyed on seed: the same on
 * every rank without communication), then normalised.  Not collective. */
int hcsc_dict_init_random(hcsc_dict *d, uint64_t seed);

/* Atoms from image patches: M patches at positions drawn from seed over the
 * whole scene (bands_total x rows x cols, C must equal the tile's nchan or
 * bands_total), each patch's mean removed per channel, normalised.  The
 * owner of each patch contributes it and one Allreduce shares them, so the
 * result is identical on every decomposition.  The tile must have a halo
 * >= k - 1 - a filled by hcsc_halo_exchange.  Collective on comm. */
int hcsc_dict_init_patches(hcsc_dict *d, MPI_Comm comm, const hcsc_tile *t, int64_t rows,
                           int64_t cols, uint64_t seed);

/* NetCDF (PnetCDF, CDF-5): variable "atoms_L" (atom, channel, ky, kx) per
 * layer L, attributes natoms/nchan/ksize/scale per variable and the
 * caller's hyperparameters (lambda, solver, ...) as global attributes, so
 * ncmpidump -h explains the file.  save: rank 0 writes, every rank returns
 * the same code.  load: rank 0 reads and broadcasts; a corrupt or
 * mismatched file is HCSC_EFORMAT naming the file.  Collective on comm. */
typedef struct {
  const char *name;  /* attribute name */
  double value;
} hcsc_dict_attr;
int hcsc_dict_save(MPI_Comm comm, const char *path, const hcsc_dict *layers, int nlayers,
                   const hcsc_dict_attr *attrs, int nattrs, int force);
/* load: *layers is a new array of *nlayers dictionaries owned by the caller
 * (hcsc_dict_free_layers).  save refuses an existing path unless force
 * (HCSC_EEXIST) and writes "<path>.hcsc-tmp-<pid>" first, renamed when
 * complete. */
int hcsc_dict_load(MPI_Comm comm, const char *path, hcsc_dict **layers, int *nlayers);

/* How the layers of a file relate (global attribute "structure"):
 * single: one layer; stack: multi-layer CSC, layer l + 1 has nchan = natoms
 * of layer l; scales: a multi-scale set, every layer has the same nchan
 * and its own scale. */
typedef enum { HCSC_DICT_SINGLE = 0, HCSC_DICT_STACK = 1, HCSC_DICT_SCALES = 2 } hcsc_dict_structure;

/* What a dictionary file says besides its atoms.  wavelength: the
 * wavelengths of the channels of layer 0 (those of the scene it was made
 * for), nwavelength = layer 0's nchan, or NULL / 0 when unknown. */
typedef struct {
  int structure;        /* hcsc_dict_structure; load: -1 for a file of older
                           versions whose layers are neither a stack nor scales */
  int nwavelength;
  double *wavelength;   /* load: owned (hcsc_dict_info_free); save: borrowed */
} hcsc_dict_info;

/* Check that the layers fit the structure (stack: channels chain; scales:
 * same channels; single: one layer).  what names the file or object in the
 * message.  HCSC_EINVAL otherwise.  Not collective. */
int hcsc_dict_check_structure(const hcsc_dict *layers, int nlayers, int structure, const char *what);

/* hcsc_dict_save plus the structure and wavelength attributes of info
 * (NULL: single layer, or stack/scales as the layers' shapes say, no
 * wavelengths).  Collective on comm. */
int hcsc_dict_save_info(MPI_Comm comm, const char *path, const hcsc_dict *layers, int nlayers,
                        const hcsc_dict_info *info, const hcsc_dict_attr *attrs, int nattrs,
                        int force);
/* hcsc_dict_load plus the file's structure and wavelengths into info (may
 * be NULL).  A file written before these attributes existed loads with the
 * structure its shapes imply and no wavelengths; attributes that
 * contradict the layers are HCSC_EFORMAT naming the file.  Collective on
 * comm. */
int hcsc_dict_load_info(MPI_Comm comm, const char *path, hcsc_dict **layers, int *nlayers,
                        hcsc_dict_info *info);
/* Free info's wavelengths and zero it.  Not collective; accepts NULL. */
void hcsc_dict_info_free(hcsc_dict_info *info);

#ifdef __cplusplus
}
#endif
#endif
