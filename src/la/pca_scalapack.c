/* hypercsc — the eigen-decomposition of the band covariance through
 * ScaLAPACK pdsyevd on a BLACS grid, for band counts where a redundant
 * LAPACK solve on every rank would be the bottleneck.
 *
 * The covariance is replicated after its reduction, so each process copies
 * its own block-cyclic pieces out of it (no scatter).  The eigenvectors
 * come back by one MPI_Allreduce of an n x n array in which each process
 * has written only the entries it owns: every entry is its owner's value
 * plus zeros, hence exact.  BLACS runs on a handle of the caller's
 * communicator (Csys2blacs_handle), not on MPI_COMM_WORLD, so a grid over
 * a sub-communicator works. */
#include "config.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hcsc/error.h"
#include "hcsc/pca.h"
#include "hcsc/timer.h"
#include "la/lapack.h"

/* Global index of local index l in a block-cyclic distribution with
 * blocks of nb over np processes, this process at coordinate p (source
 * process 0): ScaLAPACK's INDXL2G. */
static int64_t l2g(int64_t l, int nb, int p, int np)
{
  return (l / nb) * (int64_t)nb * np + (int64_t)p * nb + l % nb;
}

int hcsc_pca_eig_scalapack(MPI_Comm comm, int64_t n, const double *a, int nb, double *w, double *v)
{
  int err = 0, size = 1, nprow = 1, npcol = 1, myrow = -1, mycol = -1, info = 0;
  int handle = -1, ctxt = -1, gridded = 0, me = 0, nprocs = 0;
  double *aloc = NULL, *zloc = NULL, *work = NULL, *zfull = NULL, *wasc = NULL;
  int *iwork = NULL;
  const int izero = 0, ione = 1;
  MPI_Comm_size(comm, &size);
  if (n < 1 || n > 46340 || !a || !w || !v)
    err = HCSC_ERR(HCSC_EINVAL, "ScaLAPACK eigensolver: invalid matrix order %lld or no output",
                   (long long)n);
  HCSC_CHECK(hcsc_error_agree(comm, err));
  int ni = (int)n;
  /* Near-square process grid over all ranks: nprow the largest divisor of
   * size not above its square root. */
  for (int d = 1; (int64_t)d * d <= size; d++)
    if (size % d == 0) nprow = d;
  npcol = size / nprow;
  if (nb <= 0) {
    /* Square blocks (pdsyevd needs MB == NB); small enough that every
     * process row and column gets some, at most 64 (faster than 32 at
     * n = 1024 here). */
    int big = nprow > npcol ? nprow : npcol;
    nb = (int)(n / big);
    if (nb > 64) nb = 64;
    if (nb < 1) nb = 1;
  }

  Cblacs_pinfo(&me, &nprocs);
  handle = Csys2blacs_handle(comm);
  ctxt = handle;
  Cblacs_gridinit(&ctxt, "Row", nprow, npcol);
  gridded = 1;
  Cblacs_gridinfo(ctxt, &nprow, &npcol, &myrow, &mycol);
  if (myrow < 0 || mycol < 0)
    err = HCSC_ERR(HCSC_ELAPACK, "BLACS: this rank is not in the %d x %d process grid", nprow, npcol);
  HCSC_CHECK(hcsc_error_agree(comm, err));

  int mloc = numroc_(&ni, &nb, &myrow, &izero, &nprow);
  int nloc = numroc_(&ni, &nb, &mycol, &izero, &npcol);
  int lld = mloc > 1 ? mloc : 1;
  int desca[9], descz[9];
  descinit_(desca, &ni, &ni, &nb, &nb, &izero, &izero, &ctxt, &lld, &info);
  if (info == 0) descinit_(descz, &ni, &ni, &nb, &nb, &izero, &izero, &ctxt, &lld, &info);
  if (info != 0) err = HCSC_ERR(HCSC_ELAPACK, "descinit: invalid argument %d", -info);
  if (!err) {
    size_t nl = (size_t)lld * (size_t)(nloc > 0 ? nloc : 1);
    aloc = calloc(nl, sizeof *aloc);
    zloc = calloc(nl, sizeof *zloc);
    zfull = calloc((size_t)(n * n), sizeof *zfull);
    wasc = calloc((size_t)n, sizeof *wasc);
    if (!aloc || !zloc || !zfull || !wasc)
      err = HCSC_ERR(HCSC_ENOMEM, "ScaLAPACK eigensolver: out of memory for order %lld", (long long)n);
  }
  HCSC_CHECK(hcsc_error_agree(comm, err));
  for (int lj = 0; lj < nloc; lj++) {
    int64_t gj = l2g(lj, nb, mycol, npcol);
    for (int li = 0; li < mloc; li++) aloc[li + (int64_t)lj * lld] = a[l2g(li, nb, myrow, nprow) * n + gj];
  }

  /* Workspace query (lwork = liwork = -1), then the solve. */
  double wq = 0;
  int iwq = 0, lwork = -1, liwork = -1;
  hcsc_timer_start(HCSC_PHASE_COMPUTE);
  pdsyevd_("V", "L", &ni, aloc, &ione, &ione, desca, wasc, zloc, &ione, &ione, descz, &wq, &lwork, &iwq,
           &liwork, &info, 1, 1);
  hcsc_timer_stop(HCSC_PHASE_COMPUTE);
  if (info != 0) err = HCSC_ERR(HCSC_ELAPACK, "pdsyevd workspace query failed (info %d)", info);
  if (!err) {
    /* Some ScaLAPACK versions under-report pdsyevd's workspace slightly
     * (the pdormtr part): leave a margin. */
    double lw = wq * 1.1 + 1024;
    if (lw > INT_MAX) err = HCSC_ERR(HCSC_ENOMEM, "pdsyevd: workspace of %.0f doubles too large", lw);
    lwork = (int)lw;
    liwork = iwq > 0 ? iwq : 1;
    if (!err) {
      work = calloc((size_t)lwork, sizeof *work);
      iwork = calloc((size_t)liwork, sizeof *iwork);
      if (!work || !iwork) err = HCSC_ERR(HCSC_ENOMEM, "pdsyevd: out of memory for the workspace");
    }
  }
  HCSC_CHECK(hcsc_error_agree(comm, err));
  hcsc_timer_start(HCSC_PHASE_COMPUTE);
  pdsyevd_("V", "L", &ni, aloc, &ione, &ione, desca, wasc, zloc, &ione, &ione, descz, work, &lwork, iwork,
           &liwork, &info, 1, 1);
  hcsc_timer_stop(HCSC_PHASE_COMPUTE);
  if (info < 0) err = HCSC_ERR(HCSC_ELAPACK, "pdsyevd: invalid argument %d", -info);
  else if (info > 0)
    err = HCSC_ERR(HCSC_ELAPACK, "pdsyevd failed to converge (info %d) on a %lld x %lld covariance", info,
                   (long long)n, (long long)n);
  HCSC_CHECK(hcsc_error_agree(comm, err));

  for (int lj = 0; lj < nloc; lj++) {
    int64_t gj = l2g(lj, nb, mycol, npcol);
    for (int li = 0; li < mloc; li++) zfull[gj * n + l2g(li, nb, myrow, nprow)] = zloc[li + (int64_t)lj * lld];
  }
  hcsc_timer_start(HCSC_PHASE_REDUCE);
  /* In rounds below INT_MAX elements (n * n can exceed it for n > 46340,
   * refused above, so one call does today; the loop keeps it honest). */
  for (int64_t off = 0; off < n * n && !err; off += INT_MAX / 2) {
    int cnt = (int)(n * n - off < INT_MAX / 2 ? n * n - off : INT_MAX / 2);
    int mpierr = MPI_Allreduce(MPI_IN_PLACE, zfull + off, cnt, MPI_DOUBLE, MPI_SUM, comm);
    if (mpierr != MPI_SUCCESS) err = hcsc_error_mpi(mpierr, __FILE__, __LINE__, "MPI_Allreduce");
  }
  hcsc_timer_add_bytes(HCSC_PHASE_REDUCE, (double)(n * n) * sizeof(double));
  hcsc_timer_stop(HCSC_PHASE_REDUCE);
  HCSC_CHECK(hcsc_error_agree(comm, err));
  /* pdsyevd returns the eigenvalues on every process of the grid. */
  hcsc_la_eig_finish(n, wasc, zfull, w, v);
cleanup:
  if (gridded) Cblacs_gridexit(ctxt);
  if (handle >= 0) Cfree_blacs_system_handle(handle);
  free(aloc);
  free(zloc);
  free(work);
  free(iwork);
  free(zfull);
  free(wasc);
  return err;
}
