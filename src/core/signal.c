/* hypercsc — catching SIGTERM / SIGUSR1 and agreeing on them across ranks
 * (see hcsc/signal.h). */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>

#include "hcsc/error.h"
#include "hcsc/signal.h"
#include "hcsc/timer.h"

static const int caught[] = {SIGTERM, SIGUSR1};
#define NCAUGHT ((int)(sizeof caught / sizeof caught[0]))

/* Written by the handler, read by the program: the only type the C standard
 * lets a handler store into. */
static volatile sig_atomic_t pending_signo = 0;
static struct sigaction previous[NCAUGHT];
static int installed = 0;

static void on_signal(int signo) { pending_signo = (sig_atomic_t)signo; }

/* See signal.h.  Not collective. */
int hcsc_signal_install(void)
{
  int err = 0, done = 0;
  struct sigaction sa;
  if (installed) {
    pending_signo = 0;
    return 0;
  }
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  /* Interrupted reads and writes resume: the run only looks at the flag
   * between iterations. */
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  for (int i = 0; i < NCAUGHT; i++) sigaddset(&sa.sa_mask, caught[i]);
  pending_signo = 0;
  for (done = 0; done < NCAUGHT; done++)
    if (sigaction(caught[done], &sa, &previous[done]) != 0)
      HCSC_FAIL(HCSC_EINVAL, "cannot catch signal %d (%s): %s", caught[done], strsignal(caught[done]),
                strerror(errno));
  installed = 1;
cleanup:
  if (err < 0)
    while (done-- > 0) sigaction(caught[done], &previous[done], NULL);
  return err;
}

/* See signal.h.  Not collective. */
int hcsc_signal_pending(void) { return (int)pending_signo; }

/* See signal.h.  Collective on comm. */
int hcsc_signal_agree(MPI_Comm comm, int *signo)
{
  int err = 0, mine = (int)pending_signo, any = 0;
  if (signo) *signo = 0;
  /* No hcsc_error_agree at the end: the Allreduce is the only thing that
   * can fail, and a second collective per iteration would double the cost
   * for nothing (MPI's own error handler is fatal by default anyway). */
  hcsc_timer_start(HCSC_PHASE_REDUCE);
  HCSC_MPI(MPI_Allreduce(&mine, &any, 1, MPI_INT, MPI_MAX, comm));
  if (signo) *signo = any;
cleanup:
  hcsc_timer_stop(HCSC_PHASE_REDUCE);
  return err;
}

/* See signal.h.  Not collective. */
int hcsc_signal_restore(void)
{
  int err = 0;
  if (installed) {
    for (int i = 0; i < NCAUGHT; i++)
      if (sigaction(caught[i], &previous[i], NULL) != 0 && !err)
        err = HCSC_ERR(HCSC_EINVAL, "cannot restore the action of signal %d: %s", caught[i],
                       strerror(errno));
    installed = 0;
  }
  pending_signo = 0;
  return err;
}
