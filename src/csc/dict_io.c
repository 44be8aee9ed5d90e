/* hypercsc — dictionaries as NetCDF files (PnetCDF, CDF-5).
 *
 * Layout: per layer L, dimensions atom_L, channel_L, ky_L, kx_L and a float
 * variable atoms_L(atom_L, channel_L, ky_L, kx_L) with int attributes
 * natoms, nchan, ksize, scale; global attributes Conventions, title,
 * nlayers, structure (0 single, 1 multi-layer stack, 2 multi-scale set),
 * optionally wavelength (double[nchan of layer 0]), hypercsc_version and the
 * caller's hyperparameters (double).
 *
 * Dictionaries are small and replicated: rank 0 does all the file work on
 * MPI_COMM_SELF (no collective I/O over comm that a failure could leave
 * half-entered), then the outcome is agreed and, for load, broadcast. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pnetcdf.h>

#include "hcsc/dict.h"
#include "hcsc/error.h"
#include "hcsc/scene.h"
#include "hcsc/timer.h"
#include "io/io_impl.h"

#define DICT_MAX_LAYERS 64


/* While reading, whatever PnetCDF rejects in a file that exists and opens is
 * a corrupt or foreign file: HCSC_EFORMAT naming it. */
#define NC_R(call, what)                                                                    \
  do {                                                                                      \
    int nc_st_ = (call);                                                                    \
    if (nc_st_ != NC_NOERR)                                                                 \
      HCSC_FAIL(HCSC_EFORMAT, "%s: not a hypercsc dictionary (%s: %s)", path, (what),       \
                ncmpi_strerror(nc_st_));                                                    \
  } while (0)

static int dict_valid(const hcsc_dict *d, int l, const char *path)
{
  if (!d->atoms || d->natoms < 1 || d->nchan < 1 || d->ksize < 1 || d->ksize > 64 ||
      (d->scale != 1 && d->scale != 2 && d->scale != 4))
    return HCSC_ERR(HCSC_EINVAL, "%s: layer %d (%d atoms x %d channels x %d taps, scale %d) is not "
                    "a valid dictionary", path, l, d->natoms, d->nchan, d->ksize, d->scale);
  return 0;
}

/* Rank 0's part of save: write tmp completely, flush it, rename it. */
static int save_local(const char *path, const hcsc_dict *layers, int nlayers,
                      const hcsc_dict_info *info, const hcsc_dict_attr *attrs, int nattrs)
{
  int err = 0, ncid = -1, *varid = NULL, created = 0;
  char tmp[4200], mpath[4300], name[64];
  if (snprintf(tmp, sizeof tmp, "%s.hcsc-tmp-%ld", path, (long)getpid()) >= (int)sizeof tmp)
    HCSC_FAIL(HCSC_EINVAL, "%.200s...: path too long", path);
  HCSC_CALLOC(varid, nlayers);
  NC_W(ncmpi_create(MPI_COMM_SELF, hcsc_io_mpi_path(tmp, mpath, sizeof mpath),
                    NC_CLOBBER | NC_64BIT_DATA, MPI_INFO_NULL, &ncid),
       "cannot create");
  created = 1;
  NC_W(ncmpi_put_att_text(ncid, NC_GLOBAL, "Conventions", 6, "CF-1.8"), "writing Conventions");
  {
    const char *title = "hypercsc convolutional dictionary";
    NC_W(ncmpi_put_att_text(ncid, NC_GLOBAL, "title", (MPI_Offset)strlen(title), title), "writing title");
  }
  NC_W(ncmpi_put_att_text(ncid, NC_GLOBAL, "hypercsc_version", (MPI_Offset)strlen(PACKAGE_VERSION),
                          PACKAGE_VERSION), "writing hypercsc_version");
  NC_W(ncmpi_put_att_int(ncid, NC_GLOBAL, "nlayers", NC_INT, 1, &nlayers), "writing nlayers");
  if (info->structure >= 0)
    NC_W(ncmpi_put_att_int(ncid, NC_GLOBAL, "structure", NC_INT, 1, &info->structure), "writing structure");
  if (info->nwavelength > 0)
    NC_W(ncmpi_put_att_double(ncid, NC_GLOBAL, "wavelength", NC_DOUBLE, info->nwavelength,
                              info->wavelength), "writing wavelength");
  for (int i = 0; i < nattrs; i++) {
    if (!attrs[i].name || !attrs[i].name[0])
      HCSC_FAIL(HCSC_EINVAL, "%s: hyperparameter %d has no name", path, i);
    NC_W(ncmpi_put_att_double(ncid, NC_GLOBAL, attrs[i].name, NC_DOUBLE, 1, &attrs[i].value),
         attrs[i].name);
  }
  for (int l = 0; l < nlayers; l++) {
    const hcsc_dict *d = &layers[l];
    int dims[4], v[4] = {d->natoms, d->nchan, d->ksize, d->scale};
    const char *dn[4] = {"atom", "channel", "ky", "kx"};
    const MPI_Offset len[4] = {d->natoms, d->nchan, d->ksize, d->ksize};
    for (int i = 0; i < 4; i++) {
      snprintf(name, sizeof name, "%s_%d", dn[i], l);
      NC_W(ncmpi_def_dim(ncid, name, len[i], &dims[i]), "defining a dimension");
    }
    snprintf(name, sizeof name, "atoms_%d", l);
    NC_W(ncmpi_def_var(ncid, name, NC_FLOAT, 4, dims, &varid[l]), "defining atoms");
    {
      const char *ln = "dictionary atoms (atom, channel, row offset, column offset); anchor (k-1)/2";
      NC_W(ncmpi_put_att_text(ncid, varid[l], "long_name", (MPI_Offset)strlen(ln), ln), "writing long_name");
    }
    const char *an[4] = {"natoms", "nchan", "ksize", "scale"};
    for (int i = 0; i < 4; i++)
      NC_W(ncmpi_put_att_int(ncid, varid[l], an[i], NC_INT, 1, &v[i]), "writing layer attributes");
  }
  NC_W(ncmpi_enddef(ncid), "ending define mode");
  for (int l = 0; l < nlayers; l++)
    NC_W(ncmpi_put_var_float_all(ncid, varid[l], layers[l].atoms), "writing atoms");
  HCSC_CHECK(hcsc_io_nc_finish(&ncid, tmp, path, "file"));
cleanup:
  if (ncid >= 0) ncmpi_close(ncid);
  if (err < 0 && created) unlink(tmp);
  free(varid);
  return err;
}

/* See dict.h.  Collective on comm. */
int hcsc_dict_save(MPI_Comm comm, const char *path, const hcsc_dict *layers, int nlayers,
                   const hcsc_dict_attr *attrs, int nattrs, int force)
{
  return hcsc_dict_save_info(comm, path, layers, nlayers, NULL, attrs, nattrs, force);
}

/* The structure the shapes imply for a file without the attribute, or -1
 * when the layers are neither a stack nor a set of scales (hcsc_dict_save
 * has always accepted any layers). */
static int implied_structure(const hcsc_dict *layers, int nlayers)
{
  int stack = 1, scales = 1;
  if (nlayers <= 1) return HCSC_DICT_SINGLE;
  for (int l = 0; l + 1 < nlayers; l++) {
    if (layers[l + 1].nchan != layers[l].natoms) stack = 0;
    if (layers[l + 1].nchan != layers[0].nchan) scales = 0;
  }
  return stack ? HCSC_DICT_STACK : scales ? HCSC_DICT_SCALES : -1;
}

/* See dict.h.  Collective on comm. */
int hcsc_dict_save_info(MPI_Comm comm, const char *path, const hcsc_dict *layers, int nlayers,
                        const hcsc_dict_info *info, const hcsc_dict_attr *attrs, int nattrs,
                        int force)
{
  int err = 0, rank;
  hcsc_dict_info def = {0, 0, NULL};
  MPI_Comm_rank(comm, &rank);
  if (!path || !layers || nlayers < 1 || nlayers > DICT_MAX_LAYERS || nattrs < 0 || (nattrs && !attrs)) {
    err = HCSC_ERR(HCSC_EINVAL, "hcsc_dict_save: %s: need 1..%d layers", path ? path : "(no path)",
                   DICT_MAX_LAYERS);
  } else {
    for (int l = 0; l < nlayers && !err; l++) err = dict_valid(&layers[l], l, path);
    if (!err) {
      if (info) def = *info;
      else def.structure = implied_structure(layers, nlayers);
      if (def.structure != -1 || info) err = hcsc_dict_check_structure(layers, nlayers, def.structure, path);
    }
    if (!err && def.nwavelength != 0 && (def.nwavelength != layers[0].nchan || !def.wavelength))
      err = HCSC_ERR(HCSC_EINVAL, "%s: %d wavelengths for %d channels", path, def.nwavelength,
                     layers[0].nchan);
  }
  HCSC_CHECK(hcsc_error_agree(comm, err));
  HCSC_CHECK(hcsc_output_check(comm, path, force));
  if (rank == 0) {
    hcsc_timer_start(HCSC_PHASE_IO_WRITE);
    err = save_local(path, layers, nlayers, &def, attrs, nattrs);
    hcsc_timer_stop(HCSC_PHASE_IO_WRITE);
  }
cleanup:
  return hcsc_error_agree(comm, err);
}

/* Rank 0's part of load: open, check every dimension and attribute against
 * the data, and the file's length against the layout (PnetCDF reads a
 * truncated variable as fill values), read, check values are finite. */
static int load_local(const char *path, hcsc_dict **out, int *nout, hcsc_dict_info *info)
{
  int err = 0, ncid = -1, nl = 0;
  hcsc_dict *layers = NULL;
  char mpath[4300], name[64];
  struct stat st;
  if (stat(path, &st) != 0) {
    err = HCSC_ERR_ERRNO(path, "cannot open dictionary");
    goto cleanup;
  }
  {
    int s = ncmpi_open(MPI_COMM_SELF, hcsc_io_mpi_path(path, mpath, sizeof mpath), NC_NOWRITE,
                       MPI_INFO_NULL, &ncid);
    if (s != NC_NOERR) {
      ncid = -1;
      if (s == NC_EACCESS || s == NC_EPERM)
        HCSC_FAIL(HCSC_EACCES, "%s: cannot open dictionary: %s", path, ncmpi_strerror(s));
      NC_R(s, "cannot open as NetCDF");
    }
  }
  NC_R(ncmpi_get_att_int(ncid, NC_GLOBAL, "nlayers", &nl), "attribute nlayers");
  if (nl < 1 || nl > DICT_MAX_LAYERS)
    HCSC_FAIL(HCSC_EFORMAT, "%s: not a hypercsc dictionary (nlayers = %d)", path, nl);
  HCSC_CALLOC(layers, nl);
  for (int l = 0; l < nl; l++) {
    int varid, ndims, dimids[4], v[4];
    nc_type type;
    MPI_Offset len[4], off;
    const char *an[4] = {"natoms", "nchan", "ksize", "scale"};
    snprintf(name, sizeof name, "atoms_%d", l);
    NC_R(ncmpi_inq_varid(ncid, name, &varid), name);
    NC_R(ncmpi_inq_var(ncid, varid, NULL, &type, &ndims, NULL, NULL), name);
    if (type != NC_FLOAT || ndims != 4)
      HCSC_FAIL(HCSC_EFORMAT, "%s: %s is not a 4-D float variable", path, name);
    NC_R(ncmpi_inq_vardimid(ncid, varid, dimids), name);
    for (int i = 0; i < 4; i++) {
      NC_R(ncmpi_inq_dimlen(ncid, dimids[i], &len[i]), name);
      NC_R(ncmpi_get_att_int(ncid, varid, an[i], &v[i]), an[i]);
    }
    if (v[0] < 1 || v[1] < 1 || v[2] < 1 || v[2] > 64 || (v[3] != 1 && v[3] != 2 && v[3] != 4))
      HCSC_FAIL(HCSC_EFORMAT, "%s: %s: invalid sizes (natoms %d, nchan %d, ksize %d, scale %d; "
                "k must be 1..64)", path, name, v[0], v[1], v[2], v[3]);
    if (len[0] != v[0] || len[1] != v[1] || len[2] != v[2] || len[3] != v[2])
      HCSC_FAIL(HCSC_EFORMAT, "%s: %s has dimensions %lld x %lld x %lld x %lld, its attributes say "
                "%d x %d x %d x %d", path, name, (long long)len[0], (long long)len[1],
                (long long)len[2], (long long)len[3], v[0], v[1], v[2], v[2]);
    NC_R(ncmpi_inq_varoffset(ncid, varid, &off), name);
    if ((long long)st.st_size < (long long)off + (long long)sizeof(float) * v[0] * v[1] * v[2] * v[2])
      HCSC_FAIL(HCSC_EFORMAT, "%s: truncated (%lld bytes, %s ends at byte %lld)", path,
                (long long)st.st_size, name,
                (long long)off + (long long)sizeof(float) * v[0] * v[1] * v[2] * v[2]);
    {
      int e = hcsc_dict_alloc(&layers[l], v[0], v[1], v[2], v[3]);
      if (e < 0) HCSC_FAIL(e == HCSC_ENOMEM ? e : HCSC_EFORMAT, "%s: %s: %s", path, name, hcsc_error_message());
    }
    NC_R(ncmpi_get_var_float_all(ncid, varid, layers[l].atoms), name);
    {
      size_t n = (size_t)v[0] * v[1] * v[2] * v[2];
      for (size_t i = 0; i < n; i++)
        if (!isfinite(layers[l].atoms[i]))
          HCSC_FAIL(HCSC_EFORMAT, "%s: %s holds a non-finite value (entry %zu)", path, name, i);
    }
  }
  {
    /* Optional attributes: absent in files of older versions. */
    int structure;
    MPI_Offset wl = 0;
    nc_type type;
    if (ncmpi_get_att_int(ncid, NC_GLOBAL, "structure", &structure) != NC_NOERR)
      structure = implied_structure(layers, nl);
    if (structure != -1 && hcsc_dict_check_structure(layers, nl, structure, path) < 0)
      HCSC_FAIL(HCSC_EFORMAT, "%s: not a valid dictionary: %s", path, hcsc_error_message());
    info->structure = structure;
    if (ncmpi_inq_att(ncid, NC_GLOBAL, "wavelength", &type, &wl) == NC_NOERR) {
      if (wl != layers[0].nchan)
        HCSC_FAIL(HCSC_EFORMAT, "%s: %lld wavelengths for %d channels", path, (long long)wl,
                  layers[0].nchan);
      HCSC_CALLOC(info->wavelength, wl);
      info->nwavelength = (int)wl;
      NC_R(ncmpi_get_att_double(ncid, NC_GLOBAL, "wavelength", info->wavelength), "wavelength");
    }
  }
  *out = layers;
  *nout = nl;
  layers = NULL;
cleanup:
  if (ncid >= 0) ncmpi_close(ncid);
  hcsc_dict_free_layers(&layers, nl);
  return err;
}

/* See dict.h.  Collective on comm. */
int hcsc_dict_load(MPI_Comm comm, const char *path, hcsc_dict **out, int *nout)
{
  return hcsc_dict_load_info(comm, path, out, nout, NULL);
}

/* See dict.h.  Collective on comm. */
int hcsc_dict_load_info(MPI_Comm comm, const char *path, hcsc_dict **out, int *nout,
                        hcsc_dict_info *info_out)
{
  int err = 0, rank, nl = 0, hdr[4 * DICT_MAX_LAYERS + 3];
  hcsc_dict *layers = NULL;
  hcsc_dict_info info = {0, 0, NULL};
  MPI_Comm_rank(comm, &rank);
  if (!path || !out || !nout) {
    err = HCSC_ERR(HCSC_EINVAL, "hcsc_dict_load: no path or output");
  } else {
    *out = NULL;
    *nout = 0;
  }
  HCSC_CHECK(hcsc_error_agree(comm, err));
  hcsc_timer_start(HCSC_PHASE_IO_READ);
  if (rank == 0) err = load_local(path, &layers, &nl, &info);
  hcsc_timer_stop(HCSC_PHASE_IO_READ);
  HCSC_CHECK(hcsc_error_agree(comm, err));
  if (rank == 0) {
    hdr[0] = nl;
    hdr[4 * DICT_MAX_LAYERS + 1] = info.structure;
    hdr[4 * DICT_MAX_LAYERS + 2] = info.nwavelength;
    for (int l = 0; l < nl; l++) {
      hdr[1 + 4 * l] = layers[l].natoms;
      hdr[2 + 4 * l] = layers[l].nchan;
      hdr[3 + 4 * l] = layers[l].ksize;
      hdr[4 + 4 * l] = layers[l].scale;
    }
  }
  HCSC_MPI(MPI_Bcast(hdr, 4 * DICT_MAX_LAYERS + 3, MPI_INT, 0, comm));
  if (rank != 0) {
    nl = hdr[0];
    info.structure = hdr[4 * DICT_MAX_LAYERS + 1];
    info.nwavelength = hdr[4 * DICT_MAX_LAYERS + 2];
    if (info.nwavelength > 0) {
      info.wavelength = calloc((size_t)info.nwavelength, sizeof *info.wavelength);
      if (!info.wavelength) err = HCSC_ERR(HCSC_ENOMEM, "%s: out of memory for wavelengths", path);
    }
    layers = calloc((size_t)nl, sizeof *layers);
    if (!layers) err = HCSC_ERR(HCSC_ENOMEM, "%s: out of memory for %d dictionary layers", path, nl);
    for (int l = 0; l < nl && !err; l++)
      err = hcsc_dict_alloc(&layers[l], hdr[1 + 4 * l], hdr[2 + 4 * l], hdr[3 + 4 * l], hdr[4 + 4 * l]);
  }
  HCSC_CHECK(hcsc_error_agree(comm, err));
  for (int l = 0; l < nl; l++) {
    int n = layers[l].natoms * layers[l].nchan * layers[l].ksize * layers[l].ksize;
    HCSC_MPI(MPI_Bcast(layers[l].atoms, n, MPI_FLOAT, 0, comm));
  }
  if (info.nwavelength > 0) HCSC_MPI(MPI_Bcast(info.wavelength, info.nwavelength, MPI_DOUBLE, 0, comm));
cleanup:
  err = hcsc_error_agree(comm, err);
  if (!err) {
    *out = layers;
    *nout = nl;
    layers = NULL;
    if (info_out) {
      *info_out = info;
      memset(&info, 0, sizeof info);
    }
  }
  hcsc_dict_free_layers(&layers, nl);
  hcsc_dict_info_free(&info);
  return err;
}
