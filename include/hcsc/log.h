/* hypercsc — messages for people.  Rank 0 speaks; other ranks stay quiet
 * unless hcsc_log_any() is used for something only they know. */
#ifndef HCSC_LOG_H
#define HCSC_LOG_H

#include <mpi.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  HCSC_LOG_QUIET = 0, /* errors only */
  HCSC_LOG_WARN = 1,
  HCSC_LOG_INFO = 2,  /* default */
  HCSC_LOG_DEBUG = 3
} hcsc_log_level;

/* Set the communicator whose rank 0 speaks and the level.  The
 * communicator is not duplicated (only its rank is read).  Not collective. */
void hcsc_log_init(MPI_Comm comm, hcsc_log_level level);
hcsc_log_level hcsc_log_get_level(void);
int hcsc_log_rank(void);

#if defined(__GNUC__)
#define HCSC_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define HCSC_PRINTF(a, b)
#endif

/* Rank 0 only, to stderr (warn/debug, "hypercsc: warning: ...") or stdout
 * (info).  Not collective. */
void hcsc_log_warn(const char *fmt, ...) HCSC_PRINTF(1, 2);
void hcsc_log_info(const char *fmt, ...) HCSC_PRINTF(1, 2);
void hcsc_log_debug(const char *fmt, ...) HCSC_PRINTF(1, 2);
/* Any rank, prefixed by its rank, to stderr, at level >= level. */
void hcsc_log_any(hcsc_log_level level, const char *fmt, ...) HCSC_PRINTF(2, 3);
/* Print the recorded error ("hypercsc: error: MESSAGE") on rank 0, or on
 * any rank when all_ranks is set. */
void hcsc_log_error(int err, int all_ranks);

#ifdef __cplusplus
}
#endif
#endif
