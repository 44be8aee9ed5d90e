/* hypercsc — stopping cleanly on SIGTERM / SIGUSR1 (batch time limits,
 * preemption).
 *
 * A long run (dictionary learning, training) installs the handlers once,
 * calls hcsc_signal_agree() once per iteration, and when it reports a
 * signal every rank stops at that same iteration, writes a checkpoint and
 * the program exits with HCSC_EXIT_SIGNALLED.  The handler only stores the
 * signal number in a volatile sig_atomic_t (async-signal-safe); all work is
 * done at the next hcsc_signal_agree().
 *
 * How the signal reaches the ranks (Open MPI 4.1.4 here; the mpirun(1) man
 * page, "Signal Propagation", says the same; tests/signal_mpiexec.sh checks
 * the first point):
 *   - SIGUSR1 (and SIGUSR2, SIGTSTP, SIGCONT, SIGALRM, SIGABRT) sent to
 *     mpiexec is forwarded to every rank (MCA ess_base_forward_signals; more
 *     signals can be added there).  The job goes on: its ranks stop at the
 *     agreed iteration, write the checkpoint however long it takes, and
 *     mpiexec returns their exit status, 75.
 *   - SIGTERM (or SIGINT) sent to mpiexec aborts the job: mpiexec sends
 *     SIGTERM to the ranks, SIGKILL a moment later (odls_base_sigkill_timeout,
 *     1 s by default; measured: all ranks gone 2.1 s after the kill) and
 *     exits with status 1.  Ranks that stop within that moment do so
 *     cleanly, but a checkpoint that takes longer is cut off (the temporary
 *     name protects the previous one).  Send SIGUSR1 to mpiexec instead.
 *   - Under SLURM: `#SBATCH --signal=B:USR1@120` signals the batch shell
 *     only, which must forward it: start `mpiexec ... &`, then
 *     `trap 'kill -USR1 $pid' USR1; wait $pid; wait $pid` (the first wait
 *     returns when the trap runs).  `#SBATCH --signal=USR1@120` (no B:)
 *     signals the job steps: with `srun` the ranks themselves get SIGUSR1.
 *     At the time limit SLURM sends SIGTERM to every task of every step,
 *     then SIGKILL KillWait seconds later (30 s by default): with srun the
 *     ranks catch the SIGTERM directly and stop at the next iteration.
 *
 * SIGTERM and SIGUSR1 are caught by the library; the exit status below says
 * "a checkpoint was written; resubmit with --resume CHECKPOINT". */
#ifndef HCSC_SIGNAL_H
#define HCSC_SIGNAL_H

#include <mpi.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Exit status of a run stopped by SIGTERM/SIGUSR1 after writing its
 * checkpoint: 75 = EX_TEMPFAIL of <sysexits.h> ("try again later"). */
#define HCSC_EXIT_SIGNALLED 75

/* Catch SIGTERM and SIGUSR1 with sigaction (SA_RESTART, so interrupted
 * system calls resume), keeping the previous actions for
 * hcsc_signal_restore().  Installing twice is harmless.  Clears any pending
 * signal.  Not collective (call it on every rank). */
int hcsc_signal_install(void);

/* The signal number caught by this process since install (the latest one),
 * 0 when none.  Not collective; async-signal-safe to read. */
int hcsc_signal_pending(void);

/* Whether any rank of comm has caught a signal: *signo = the largest signal
 * number pending on any rank (SIGTERM outranks SIGUSR1), 0 when none, the
 * same on every rank.  One MPI_Allreduce of one int: cheap enough to call
 * every iteration.  Pending signals stay pending.  Collective on comm. */
int hcsc_signal_agree(MPI_Comm comm, int *signo);

/* Put back the actions that were in place before hcsc_signal_install() and
 * clear the pending signal.  Harmless when nothing was installed.  Not
 * collective. */
int hcsc_signal_restore(void);

#ifdef __cplusplus
}
#endif
#endif
