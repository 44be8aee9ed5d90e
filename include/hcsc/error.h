/* hypercsc — error codes and the checking convention.
 *
 * Every library function returns an int: 0 on success, a negative HCSC_E*
 * code on failure.  The function that detects a failure records a one-line
 * message (naming the file or object and the reason) with HCSC_ERR(); its
 * callers propagate the code with HCSC_CHECK(), which jumps to the caller's
 * single "cleanup:" label.  Collective functions finish with
 * hcsc_error_agree() so that every rank returns the same code and message.
 */
#ifndef HCSC_ERROR_H
#define HCSC_ERROR_H

#include <mpi.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
  HCSC_SUCCESS = 0,
  HCSC_ENOMEM = -1,     /* out of memory */
  HCSC_EINVAL = -2,     /* invalid argument or option */
  HCSC_EIO = -3,        /* input/output error */
  HCSC_EMPI = -4,       /* MPI error */
  HCSC_EGDAL = -5,      /* GDAL error */
  HCSC_ENETCDF = -6,    /* PnetCDF error */
  HCSC_EFFTW = -7,      /* FFTW planning error */
  HCSC_ELAPACK = -8,    /* LAPACK/ScaLAPACK error */
  HCSC_ENOENT = -9,     /* no such file */
  HCSC_EEXIST = -10,    /* output exists */
  HCSC_EACCES = -11,    /* permission denied */
  HCSC_ENOSPC = -12,    /* no space left / file size limit */
  HCSC_EFORMAT = -13,   /* not a readable raster / corrupt file */
  HCSC_ETYPE = -14,     /* unsupported data type */
  HCSC_ERANGE = -15,    /* band, window or index out of range */
  HCSC_ESIZE = -16,     /* sizes do not match / empty scene */
  HCSC_EVALUE = -17,    /* invalid value (NaN where not allowed, ...) */
  HCSC_ENOTSUP = -18,   /* not supported */
  HCSC_EINTERRUPT = -19,/* stopped by a signal */
  HCSC_EPEER = -20,     /* another rank failed */
  HCSC_ERROR_LAST = -21
};

/* Name ("HCSC_EIO") and generic message of an error code. Not collective. */
const char *hcsc_strerror(int code);
const char *hcsc_errname(int code);

/* Record an error: code, where it was detected and a printf-style one-line
 * message.  Returns code, so that "return HCSC_ERR(...)" works.  The latest
 * message is kept per process.  Not collective. */
int hcsc_error_set(int code, const char *file, int line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
#define HCSC_ERR(code, ...) hcsc_error_set((code), __FILE__, __LINE__, __VA_ARGS__)

/* The latest recorded message ("" when none) and where it was recorded.
 * Not collective. */
const char *hcsc_error_message(void);
const char *hcsc_error_location(void);
void hcsc_error_clear(void);

/* Map errno (after a failed system call on path) to an HCSC code and record
 * "path: strerror(errno)" prefixed by what.  Not collective. */
int hcsc_error_errno(int errnum, const char *file, int line, const char *path,
                     const char *what);
#define HCSC_ERR_ERRNO(path, what) \
  hcsc_error_errno(errno, __FILE__, __LINE__, (path), (what))

/* Wrap a failed MPI call, keeping MPI's own message.  Not collective. */
int hcsc_error_mpi(int mpierr, const char *file, int line, const char *call);
#define HCSC_MPI(call)                                                   \
  do {                                                                   \
    int hcsc_mpierr_ = (call);                                           \
    if (hcsc_mpierr_ != MPI_SUCCESS) {                                   \
      err = hcsc_error_mpi(hcsc_mpierr_, __FILE__, __LINE__, #call);     \
      goto cleanup;                                                      \
    }                                                                    \
  } while (0)

/* Agree on an error across comm: every rank passes its local code; every
 * rank gets back the same code (the one of the lowest failing rank) and the
 * same message (broadcast from that rank).  Ranks that did not fail get
 * that rank's code and message.  Collective on comm. */
int hcsc_error_agree(MPI_Comm comm, int err);

/* Propagate an error: requires a local "int err" and a "cleanup:" label. */
#define HCSC_CHECK(expr)          \
  do {                            \
    err = (expr);                 \
    if (err < 0) goto cleanup;    \
  } while (0)

/* Fail with a message: requires "int err" and "cleanup:". */
#define HCSC_FAIL(code, ...)                     \
  do {                                           \
    err = HCSC_ERR((code), __VA_ARGS__);         \
    goto cleanup;                                \
  } while (0)

/* Allocate n elements of *p (zeroed) or fail with HCSC_ENOMEM. */
#define HCSC_CALLOC(p, n)                                                    \
  do {                                                                       \
    size_t hcsc_n_ = (size_t)(n);                                            \
    (p) = calloc(hcsc_n_ ? hcsc_n_ : 1, sizeof(*(p)));                       \
    if (!(p)) HCSC_FAIL(HCSC_ENOMEM, "out of memory allocating %zu bytes",   \
                        hcsc_n_ * sizeof(*(p)));                             \
  } while (0)

#ifdef __cplusplus
}
#endif
#endif
