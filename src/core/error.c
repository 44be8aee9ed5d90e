/* hypercsc — error table, recorded messages and collective agreement. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "hcsc/error.h"

static const struct {
  const char *name;
  const char *msg;
} table[] = {
    {"HCSC_SUCCESS", "success"},
    {"HCSC_ENOMEM", "out of memory"},
    {"HCSC_EINVAL", "invalid argument"},
    {"HCSC_EIO", "input/output error"},
    {"HCSC_EMPI", "MPI error"},
    {"HCSC_EGDAL", "GDAL error"},
    {"HCSC_ENETCDF", "NetCDF error"},
    {"HCSC_EFFTW", "FFTW error"},
    {"HCSC_ELAPACK", "LAPACK error"},
    {"HCSC_ENOENT", "no such file or directory"},
    {"HCSC_EEXIST", "output exists (use --force to overwrite)"},
    {"HCSC_EACCES", "permission denied"},
    {"HCSC_ENOSPC", "no space left on device or file size limit reached"},
    {"HCSC_EFORMAT", "not a readable raster or corrupt file"},
    {"HCSC_ETYPE", "unsupported data type"},
    {"HCSC_ERANGE", "out of range"},
    {"HCSC_ESIZE", "sizes do not match"},
    {"HCSC_EVALUE", "invalid value"},
    {"HCSC_ENOTSUP", "not supported"},
    {"HCSC_EINTERRUPT", "interrupted by a signal"},
    {"HCSC_EPEER", "another rank failed"},
};

#define NCODES ((int)(sizeof(table) / sizeof(table[0])))
#define MSG_LEN 1024

static char last_msg[MSG_LEN];
static char last_loc[256];

const char *hcsc_strerror(int code)
{
  return (code <= 0 && -code < NCODES) ? table[-code].msg : "unknown error";
}

const char *hcsc_errname(int code)
{
  return (code <= 0 && -code < NCODES) ? table[-code].name : "HCSC_E?";
}

int hcsc_error_set(int code, const char *file, int line, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(last_msg, sizeof last_msg, fmt, ap);
  va_end(ap);
  /* One line: messages from GDAL or MPI sometimes end with a newline. */
  for (char *p = last_msg; *p; p++)
    if (*p == '\n' || *p == '\r') *p = ' ';
  snprintf(last_loc, sizeof last_loc, "%s:%d", file, line);
  return code;
}

const char *hcsc_error_message(void) { return last_msg; }
const char *hcsc_error_location(void) { return last_loc; }

void hcsc_error_clear(void)
{
  last_msg[0] = '\0';
  last_loc[0] = '\0';
}

int hcsc_error_errno(int errnum, const char *file, int line, const char *path,
                     const char *what)
{
  int code;
  switch (errnum) {
  case ENOENT: case ENOTDIR: code = HCSC_ENOENT; break;
  case EACCES: case EPERM: case EROFS: code = HCSC_EACCES; break;
  case ENOSPC: case EFBIG: case EDQUOT: code = HCSC_ENOSPC; break;
  case EEXIST: code = HCSC_EEXIST; break;
  case ENOMEM: code = HCSC_ENOMEM; break;
  default: code = HCSC_EIO; break;
  }
  return hcsc_error_set(code, file, line, "%s: %s%s%s", path, what ? what : "",
                        what ? ": " : "", strerror(errnum));
}

int hcsc_error_mpi(int mpierr, const char *file, int line, const char *call)
{
  char buf[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(mpierr, buf, &len) != MPI_SUCCESS) snprintf(buf, sizeof buf, "code %d", mpierr);
  return hcsc_error_set(HCSC_EMPI, file, line, "MPI error in %.120s: %s", call, buf);
}

int hcsc_error_agree(MPI_Comm comm, int err)
{
  int rank, size, failing, lowest;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  /* The lowest failing rank speaks for all: its code and its message. */
  failing = err < 0 ? rank : size;
  if (MPI_Allreduce(&failing, &lowest, 1, MPI_INT, MPI_MIN, comm) != MPI_SUCCESS)
    return HCSC_ERR(HCSC_EMPI, "MPI_Allreduce failed while agreeing on an error");
  if (lowest == size) return HCSC_SUCCESS;
  int code = err;
  char buf[MSG_LEN];
  if (rank == lowest) {
    snprintf(buf, sizeof buf, "%s", last_msg);
    if (!buf[0]) snprintf(buf, sizeof buf, "%s", hcsc_strerror(err));
  }
  MPI_Bcast(&code, 1, MPI_INT, lowest, comm);
  MPI_Bcast(buf, (int)sizeof buf, MPI_CHAR, lowest, comm);
  if (rank != lowest) {
    snprintf(last_msg, sizeof last_msg, "%s", buf);
    snprintf(last_loc, sizeof last_loc, "rank %d", lowest);
  }
  return code;
}
