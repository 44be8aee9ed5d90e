/* hypercsc — logging on rank 0 with levels. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>

#include "hcsc/error.h"
#include "hcsc/log.h"

static int log_rank = 0;
static hcsc_log_level log_level = HCSC_LOG_INFO;

void hcsc_log_init(MPI_Comm comm, hcsc_log_level level)
{
  int init = 0;
  MPI_Initialized(&init);
  if (init) MPI_Comm_rank(comm, &log_rank);
  log_level = level;
}

hcsc_log_level hcsc_log_get_level(void) { return log_level; }
int hcsc_log_rank(void) { return log_rank; }

static void vlog(FILE *f, const char *prefix, const char *fmt, va_list ap)
{
  fputs(prefix, f);
  vfprintf(f, fmt, ap);
  fputc('\n', f);
  fflush(f);
}

void hcsc_log_warn(const char *fmt, ...)
{
  if (log_rank != 0 || log_level < HCSC_LOG_WARN) return;
  va_list ap;
  va_start(ap, fmt);
  fflush(stdout);
  vlog(stderr, "hypercsc: warning: ", fmt, ap);
  va_end(ap);
}

void hcsc_log_info(const char *fmt, ...)
{
  if (log_rank != 0 || log_level < HCSC_LOG_INFO) return;
  va_list ap;
  va_start(ap, fmt);
  vlog(stdout, "", fmt, ap);
  va_end(ap);
}

void hcsc_log_debug(const char *fmt, ...)
{
  if (log_rank != 0 || log_level < HCSC_LOG_DEBUG) return;
  va_list ap;
  va_start(ap, fmt);
  vlog(stderr, "hypercsc: debug: ", fmt, ap);
  va_end(ap);
}

void hcsc_log_any(hcsc_log_level level, const char *fmt, ...)
{
  if (log_level < level) return;
  char prefix[64];
  snprintf(prefix, sizeof prefix, "hypercsc[rank %d]: ", log_rank);
  va_list ap;
  va_start(ap, fmt);
  vlog(stderr, prefix, fmt, ap);
  va_end(ap);
}

void hcsc_log_error(int err, int all_ranks)
{
  if (!all_ranks && log_rank != 0) return;
  const char *msg = hcsc_error_message();
  fflush(stdout);
  if (msg[0])
    fprintf(stderr, "hypercsc: error: %s\n", msg);
  else
    fprintf(stderr, "hypercsc: error: %s\n", hcsc_strerror(err));
  fflush(stderr);
}
