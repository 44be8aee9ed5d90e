/* hypercsc — a spectral subspace as a NetCDF file (PnetCDF, CDF-5).
 *
 * The file is small (B x B doubles at most), so rank 0 writes and reads it
 * alone on MPI_COMM_SELF and the others receive it by broadcast; what the
 * collective functions keep in step is the verdict, agreed before every
 * broadcast.  Layout (ncmpidump -h explains it):
 *   dimensions band = B, component = B
 *   mean(band), eigenvalues(component), components(component, band),
 *   wavelength(band) when known
 *   global attributes: rank, method, explained_variance, bands, pixels,
 *   eigensolver, Conventions, title */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pnetcdf.h>

#include "hcsc/error.h"
#include "hcsc/pca.h"
#include "hcsc/scene.h"
#include "hcsc/timer.h"
#include "io/io_impl.h"

#define PCA_TRY(call, code, what)                                                            \
  do {                                                                                       \
    int st_ = (call);                                                                        \
    if (st_ != NC_NOERR) {                                                                   \
      err = hcsc_error_set((code), __FILE__, __LINE__, "%s: %s: %s", path, (what),           \
                           ncmpi_strerror(st_));                                             \
      goto cleanup;                                                                          \
    }                                                                                        \
  } while (0)

static int put_text(int ncid, const char *name, const char *s)
{
  return ncmpi_put_att_text(ncid, NC_GLOBAL, name, (MPI_Offset)strlen(s), s);
}

/* Write p to path (rank 0 alone).  Not collective. */
static int write_file(const hcsc_pca *p, const char *path)
{
  int err = 0, ncid = -1, dband, dcomp, vmean, veig, vcomp, vwl = -1;
  char mpath[4096];
  long long rank = p->rank, bands = p->bands, pixels = p->npixels;
  double expl = hcsc_pca_explained(p, p->rank > 0 ? p->rank : p->bands);
  PCA_TRY(ncmpi_create(MPI_COMM_SELF, hcsc_io_mpi_path(path, mpath, sizeof mpath), NC_CLOBBER | NC_64BIT_DATA,
                       MPI_INFO_NULL, &ncid), HCSC_EIO, "cannot create");
  PCA_TRY(ncmpi_def_dim(ncid, "band", p->bands, &dband), HCSC_ENETCDF, "defining band");
  PCA_TRY(ncmpi_def_dim(ncid, "component", p->bands, &dcomp), HCSC_ENETCDF, "defining component");
  int d2[2] = {dcomp, dband};
  PCA_TRY(ncmpi_def_var(ncid, "mean", NC_DOUBLE, 1, &dband, &vmean), HCSC_ENETCDF, "defining mean");
  PCA_TRY(ncmpi_def_var(ncid, "eigenvalues", NC_DOUBLE, 1, &dcomp, &veig), HCSC_ENETCDF, "defining eigenvalues");
  PCA_TRY(ncmpi_def_var(ncid, "components", NC_DOUBLE, 2, d2, &vcomp), HCSC_ENETCDF, "defining components");
  if (p->wavelength)
    PCA_TRY(ncmpi_def_var(ncid, "wavelength", NC_DOUBLE, 1, &dband, &vwl), HCSC_ENETCDF, "defining wavelength");
  PCA_TRY(ncmpi_put_att_text(ncid, vmean, "long_name", 14, "mean of band b"), HCSC_ENETCDF, "writing attributes");
  PCA_TRY(ncmpi_put_att_text(ncid, veig, "long_name", 38, "band covariance eigenvalue, descending"),
          HCSC_ENETCDF, "writing attributes");
  PCA_TRY(put_text(ncid, "Conventions", "CF-1.8"), HCSC_ENETCDF, "writing attributes");
  PCA_TRY(put_text(ncid, "title", "hypercsc spectral subspace (PCA of the band covariance); "
                   "codes z = components[0:rank] (x - mean), x = mean + components[0:rank]^T z"),
          HCSC_ENETCDF, "writing attributes");
  PCA_TRY(ncmpi_put_att_longlong(ncid, NC_GLOBAL, "rank", NC_INT64, 1, &rank), HCSC_ENETCDF, "writing rank");
  PCA_TRY(ncmpi_put_att_longlong(ncid, NC_GLOBAL, "bands", NC_INT64, 1, &bands), HCSC_ENETCDF, "writing bands");
  PCA_TRY(ncmpi_put_att_longlong(ncid, NC_GLOBAL, "pixels", NC_INT64, 1, &pixels), HCSC_ENETCDF, "writing pixels");
  PCA_TRY(ncmpi_put_att_double(ncid, NC_GLOBAL, "explained_variance", NC_DOUBLE, 1, &expl), HCSC_ENETCDF,
          "writing explained_variance");
  PCA_TRY(put_text(ncid, "method", p->method[0] ? p->method : "none"), HCSC_ENETCDF, "writing method");
  PCA_TRY(put_text(ncid, "eigensolver", hcsc_eigensolver_name(p->solver)), HCSC_ENETCDF, "writing eigensolver");
  PCA_TRY(ncmpi_enddef(ncid), HCSC_ENETCDF, "ending define mode");
  PCA_TRY(ncmpi_put_var_double_all(ncid, vmean, p->mean), HCSC_EIO, "writing mean");
  PCA_TRY(ncmpi_put_var_double_all(ncid, veig, p->eigenvalues), HCSC_EIO, "writing eigenvalues");
  PCA_TRY(ncmpi_put_var_double_all(ncid, vcomp, p->components), HCSC_EIO, "writing components");
  if (vwl >= 0) PCA_TRY(ncmpi_put_var_double_all(ncid, vwl, p->wavelength), HCSC_EIO, "writing wavelength");
  PCA_TRY(ncmpi_sync(ncid), HCSC_EIO, "flushing");
  {
    int st = ncmpi_close(ncid);
    ncid = -1;
    PCA_TRY(st, HCSC_EIO, "closing");
  }
cleanup:
  if (ncid >= 0) ncmpi_abort(ncid);
  return err;
}

int hcsc_pca_save(MPI_Comm comm, const hcsc_pca *p, const char *path, int force)
{
  int err = 0, rank = 0;
  char tmp[4096] = "";
  MPI_Comm_rank(comm, &rank);
  if (!p || !p->mean || !p->eigenvalues || !p->components || p->bands < 1 || !path)
    err = HCSC_ERR(HCSC_EINVAL, "PCA save: no subspace or no path");
  HCSC_CHECK(hcsc_error_agree(comm, err));
  HCSC_CHECK(hcsc_output_check(comm, path, force));
  hcsc_timer_start(HCSC_PHASE_IO_WRITE);
  if (rank == 0) {
    /* A unique temporary name beside the target, so the rename stays on
     * one file system and a failed run leaves nothing at path. */
    err = hcsc_io_temp_file(path, tmp, sizeof tmp);
    if (!err) err = write_file(p, tmp);
    if (!err && rename(tmp, path) != 0) err = HCSC_ERR_ERRNO(path, "cannot rename the temporary file to");
    if (err && tmp[0]) unlink(tmp);
    hcsc_timer_add_bytes(HCSC_PHASE_IO_WRITE, (double)(p->bands * (p->bands + 3)) * sizeof(double));
  }
  hcsc_timer_stop(HCSC_PHASE_IO_WRITE);
cleanup:
  return hcsc_error_agree(comm, err);
}

/* Read path into p (rank 0 alone).  Anything that is not a subspace as
 * hcsc_pca_save writes it is HCSC_EFORMAT.  Not collective. */
static int read_file(const char *path, hcsc_pca *p)
{
  int err = 0, ncid = -1, dband, dcomp, vmean, veig, vcomp, vwl;
  char mpath[4096];
  MPI_Offset nb = 0, ncomp = 0, len = 0;
  long long rank = 0, pixels = 0;
  nc_type t;
  if (access(path, F_OK) != 0) return HCSC_ERR_ERRNO(path, "cannot open subspace");
  PCA_TRY(ncmpi_open(MPI_COMM_SELF, hcsc_io_mpi_path(path, mpath, sizeof mpath), NC_NOWRITE, MPI_INFO_NULL,
                     &ncid), HCSC_EFORMAT, "not a readable NetCDF subspace");
  PCA_TRY(ncmpi_inq_dimid(ncid, "band", &dband), HCSC_EFORMAT, "no dimension band");
  PCA_TRY(ncmpi_inq_dimid(ncid, "component", &dcomp), HCSC_EFORMAT, "no dimension component");
  PCA_TRY(ncmpi_inq_dimlen(ncid, dband, &nb), HCSC_EFORMAT, "reading dimension band");
  PCA_TRY(ncmpi_inq_dimlen(ncid, dcomp, &ncomp), HCSC_EFORMAT, "reading dimension component");
  if (nb < 1 || nb > 46340 || ncomp != nb)
    HCSC_FAIL(HCSC_EFORMAT, "%s: not a subspace: %lld bands and %lld components", path, (long long)nb,
              (long long)ncomp);
  PCA_TRY(ncmpi_inq_varid(ncid, "mean", &vmean), HCSC_EFORMAT, "no variable mean");
  PCA_TRY(ncmpi_inq_varid(ncid, "eigenvalues", &veig), HCSC_EFORMAT, "no variable eigenvalues");
  PCA_TRY(ncmpi_inq_varid(ncid, "components", &vcomp), HCSC_EFORMAT, "no variable components");
  {
    int nd = 0, ids[2] = {-1, -1};
    PCA_TRY(ncmpi_inq_varndims(ncid, vcomp, &nd), HCSC_EFORMAT, "reading components");
    if (nd == 2) PCA_TRY(ncmpi_inq_vardimid(ncid, vcomp, ids), HCSC_EFORMAT, "reading components");
    if (nd != 2 || ids[0] != dcomp || ids[1] != dband)
      HCSC_FAIL(HCSC_EFORMAT, "%s: components is not (component, band)", path);
    PCA_TRY(ncmpi_inq_varndims(ncid, vmean, &nd), HCSC_EFORMAT, "reading mean");
    if (nd == 1) PCA_TRY(ncmpi_inq_vardimid(ncid, vmean, ids), HCSC_EFORMAT, "reading mean");
    if (nd != 1 || ids[0] != dband) HCSC_FAIL(HCSC_EFORMAT, "%s: mean is not (band)", path);
    PCA_TRY(ncmpi_inq_varndims(ncid, veig, &nd), HCSC_EFORMAT, "reading eigenvalues");
    if (nd == 1) PCA_TRY(ncmpi_inq_vardimid(ncid, veig, ids), HCSC_EFORMAT, "reading eigenvalues");
    if (nd != 1 || ids[0] != dcomp) HCSC_FAIL(HCSC_EFORMAT, "%s: eigenvalues is not (component)", path);
  }
  PCA_TRY(ncmpi_get_att_longlong(ncid, NC_GLOBAL, "rank", &rank), HCSC_EFORMAT, "no attribute rank");
  if (ncmpi_get_att_longlong(ncid, NC_GLOBAL, "pixels", &pixels) != NC_NOERR) pixels = 0;
  if (rank < 0 || rank > nb) HCSC_FAIL(HCSC_EFORMAT, "%s: rank %lld out of range (0 .. %lld)", path, rank, (long long)nb);
  p->bands = nb;
  p->rank = rank;
  p->npixels = pixels;
  HCSC_CALLOC(p->mean, nb);
  HCSC_CALLOC(p->eigenvalues, nb);
  HCSC_CALLOC(p->components, nb * nb);
  PCA_TRY(ncmpi_get_var_double_all(ncid, vmean, p->mean), HCSC_EFORMAT, "reading mean");
  PCA_TRY(ncmpi_get_var_double_all(ncid, veig, p->eigenvalues), HCSC_EFORMAT, "reading eigenvalues");
  PCA_TRY(ncmpi_get_var_double_all(ncid, vcomp, p->components), HCSC_EFORMAT, "reading components");
  for (MPI_Offset i = 0; i < nb * nb; i++)
    if (!isfinite(p->components[i]) || (i < nb && (!isfinite(p->mean[i]) || !isfinite(p->eigenvalues[i]))))
      HCSC_FAIL(HCSC_EFORMAT, "%s: non-finite values in the subspace", path);
  if (ncmpi_inq_varid(ncid, "wavelength", &vwl) == NC_NOERR) {
    HCSC_CALLOC(p->wavelength, nb);
    PCA_TRY(ncmpi_get_var_double_all(ncid, vwl, p->wavelength), HCSC_EFORMAT, "reading wavelength");
  }
  if (ncmpi_inq_att(ncid, NC_GLOBAL, "method", &t, &len) == NC_NOERR && t == NC_CHAR &&
      len < (MPI_Offset)sizeof p->method)
    ncmpi_get_att_text(ncid, NC_GLOBAL, "method", p->method);
  if (ncmpi_inq_att(ncid, NC_GLOBAL, "eigensolver", &t, &len) == NC_NOERR && t == NC_CHAR && len < 32) {
    char s[32] = "";
    ncmpi_get_att_text(ncid, NC_GLOBAL, "eigensolver", s);
    if (hcsc_eigensolver_parse(s, &p->solver) != 0) {
      p->solver = HCSC_EIG_AUTO;
      hcsc_error_clear();
    }
  }
cleanup:
  if (ncid >= 0) ncmpi_close(ncid);
  return err;
}

int hcsc_pca_load(MPI_Comm comm, const char *path, hcsc_pca *out)
{
  int err = 0, rank = 0;
  long long hdr[5] = {0};
  MPI_Comm_rank(comm, &rank);
  if (!out || !path) return hcsc_error_agree(comm, HCSC_ERR(HCSC_EINVAL, "PCA load: no path or output"));
  memset(out, 0, sizeof *out);
  hcsc_timer_start(HCSC_PHASE_IO_READ);
  if (rank == 0) {
    err = read_file(path, out);
    hdr[0] = out->bands;
    hdr[1] = out->rank;
    hdr[2] = out->npixels;
    hdr[3] = out->solver;
    hdr[4] = out->wavelength != NULL;
  }
  hcsc_timer_stop(HCSC_PHASE_IO_READ);
  HCSC_CHECK(hcsc_error_agree(comm, err));
  HCSC_MPI(MPI_Bcast(hdr, 5, MPI_LONG_LONG, 0, comm));
  HCSC_MPI(MPI_Bcast(out->method, (int)sizeof out->method, MPI_CHAR, 0, comm));
  int64_t B = hdr[0];
  if (rank != 0) {
    out->bands = B;
    out->rank = hdr[1];
    out->npixels = hdr[2];
    out->solver = (hcsc_eigensolver)hdr[3];
    out->mean = calloc((size_t)B, sizeof(double));
    out->eigenvalues = calloc((size_t)B, sizeof(double));
    out->components = calloc((size_t)(B * B), sizeof(double));
    if (hdr[4]) out->wavelength = calloc((size_t)B, sizeof(double));
    if (!out->mean || !out->eigenvalues || !out->components || (hdr[4] && !out->wavelength))
      err = HCSC_ERR(HCSC_ENOMEM, "%s: out of memory for the subspace", path);
  }
  HCSC_CHECK(hcsc_error_agree(comm, err));
  HCSC_MPI(MPI_Bcast(out->mean, (int)B, MPI_DOUBLE, 0, comm));
  HCSC_MPI(MPI_Bcast(out->eigenvalues, (int)B, MPI_DOUBLE, 0, comm));
  HCSC_MPI(MPI_Bcast(out->components, (int)(B * B), MPI_DOUBLE, 0, comm));
  if (hdr[4]) HCSC_MPI(MPI_Bcast(out->wavelength, (int)B, MPI_DOUBLE, 0, comm));
cleanup:
  if (err) hcsc_pca_free(out);
  return err;
}
