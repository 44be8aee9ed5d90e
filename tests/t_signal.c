/* Signals: rank (np-1) raises SIGUSR1 on itself at iteration 3 of a loop
 * that calls hcsc_signal_agree every iteration: every rank stops at
 * iteration 3 with SIGUSR1; the same with SIGTERM from rank 0; nothing
 * pending -> 0 everywhere; hcsc_signal_restore puts back the handler that
 * was there before (a test handler counts its calls). */
#include "config.h"

#include <signal.h>
#include <string.h>

#include "hypercsc.h"
#include "testutil.h"

static volatile sig_atomic_t own_calls = 0;
static void own_handler(int signo)
{
  (void)signo;
  own_calls++;
}

/* Run up to 10 iterations; rank `who` raises sig at iteration 3.  Returns
 * the iteration where the loop stopped (10: never) and the agreed signal. */
static int loop_until_signal(int who, int sig, int *signo)
{
  int it;
  *signo = 0;
  for (it = 0; it < 10; it++) {
    if (it == 3 && test_rank() == who) raise(sig);
    TEST_OK(hcsc_signal_agree(MPI_COMM_WORLD, signo));
    if (*signo) break;
  }
  return it;
}

static void check_stop(int who, int sig)
{
  int signo, it, lo, hi;
  TEST_OK(hcsc_signal_install());
  TEST_ASSERT(hcsc_signal_pending() == 0, "pending right after install");
  it = loop_until_signal(who, sig, &signo);
  TEST_ASSERT(it == 3, "signal %d from rank %d: stopped at iteration %d, expected 3", sig, who, it);
  TEST_ASSERT(signo == sig, "agreed signal %d, expected %d", signo, sig);
  MPI_Allreduce(&it, &lo, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  MPI_Allreduce(&it, &hi, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  TEST_ASSERT(lo == hi, "ranks stopped at iterations %d..%d", lo, hi);
  TEST_ASSERT(hcsc_signal_pending() == (test_rank() == who ? sig : 0), "pending %d on rank %d",
              hcsc_signal_pending(), test_rank());
  TEST_OK(hcsc_signal_restore());
  TEST_ASSERT(hcsc_signal_pending() == 0, "restore clears the pending signal");
}

int main(int argc, char **argv)
{
  int signo = -1;
  struct sigaction sa;
  test_init(&argc, &argv);

  /* A handler of the program's own, to check restore puts it back. */
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = own_handler;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR1, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);

  TEST_OK(hcsc_signal_install());
  TEST_OK(hcsc_signal_install()); /* twice: harmless */
  TEST_OK(hcsc_signal_agree(MPI_COMM_WORLD, &signo));
  TEST_ASSERT(signo == 0, "no signal sent, agreed %d", signo);
  TEST_OK(hcsc_signal_restore());

  check_stop(test_size() - 1, SIGUSR1);
  check_stop(0, SIGTERM);
  /* Both at once on different ranks: every rank agrees on the larger. */
  TEST_OK(hcsc_signal_install());
  if (test_rank() == test_size() - 1) raise(SIGUSR1);
  if (test_rank() == 0) raise(SIGTERM);
  TEST_OK(hcsc_signal_agree(MPI_COMM_WORLD, &signo));
  TEST_ASSERT(signo == SIGTERM, "SIGTERM and SIGUSR1: agreed %d, expected SIGTERM", signo);
  TEST_OK(hcsc_signal_restore());

  TEST_ASSERT(own_calls == 0, "the program's handler ran %d times while ours was installed",
              (int)own_calls);
  raise(SIGUSR1);
  raise(SIGTERM);
  TEST_ASSERT(own_calls == 2, "after restore the program's handler ran %d times, expected 2",
              (int)own_calls);
  TEST_OK(hcsc_signal_restore()); /* nothing installed: harmless */
  return test_finish("t_signal");
}
