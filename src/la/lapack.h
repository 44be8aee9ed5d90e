/* hypercsc — private prototypes of the Fortran BLAS, LAPACK, ScaLAPACK and
 * BLACS routines src/la calls.  Debian ships no ScaLAPACK header.
 *
 * Fortran conventions: every argument by reference, column-major arrays,
 * 1-based indices, and one hidden trailing size_t length per CHARACTER
 * argument (gfortran's ABI), in the order of the character arguments. */
#ifndef HCSC_LA_LAPACK_H
#define HCSC_LA_LAPACK_H

#include <stddef.h>
#include <stdint.h>

#include <mpi.h>

/* BLAS */
void dsyrk_(const char *uplo, const char *trans, const int *n, const int *k, const double *alpha,
            const double *a, const int *lda, const double *beta, double *c, const int *ldc,
            size_t luplo, size_t ltrans);
void dgemm_(const char *transa, const char *transb, const int *m, const int *n, const int *k,
            const double *alpha, const double *a, const int *lda, const double *b, const int *ldb,
            const double *beta, double *c, const int *ldc, size_t lta, size_t ltb);

/* LAPACK: symmetric eigenproblem, divide and conquer. */
void dsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *lda, double *w,
             double *work, const int *lwork, int *iwork, const int *liwork, int *info,
             size_t ljobz, size_t luplo);

/* BLACS (C interface, inside libscalapack-openmpi) */
void Cblacs_pinfo(int *mypnum, int *nprocs);
void Cblacs_get(int icontxt, int what, int *val);
int Csys2blacs_handle(MPI_Comm comm);
void Cfree_blacs_system_handle(int handle);
void Cblacs_gridinit(int *icontxt, const char *order, int nprow, int npcol);
void Cblacs_gridinfo(int icontxt, int *nprow, int *npcol, int *myrow, int *mycol);
void Cblacs_gridexit(int icontxt);

/* ScaLAPACK */
int numroc_(const int *n, const int *nb, const int *iproc, const int *isrcproc, const int *nprocs);
void descinit_(int *desc, const int *m, const int *n, const int *mb, const int *nb, const int *irsrc,
               const int *icsrc, const int *ictxt, const int *lld, int *info);
void pdsyevd_(const char *jobz, const char *uplo, const int *n, double *a, const int *ia,
              const int *ja, const int *desca, double *w, double *z, const int *iz, const int *jz,
              const int *descz, double *work, const int *lwork, int *iwork, const int *liwork,
              int *info, size_t ljobz, size_t luplo);

/* Shared by the LAPACK and ScaLAPACK paths: from ascending eigenvalues
 * wasc[n] and eigenvectors z (column-major n x n, column j = eigenvector j)
 * make descending w[n] and component-major, sign-normalised v[k * n + i]
 * (largest |entry| positive).  Not collective. */
void hcsc_la_eig_finish(int64_t n, const double *wasc, const double *z, double *w, double *v);

#endif
