/* Helper of tests/signal_mpiexec.sh (not a test by itself): installs the
 * handlers, writes $HCSC_TMP/ready, then iterates (10 ms each, at most
 * 60 s) calling hcsc_signal_agree; when a signal is agreed, rank 0 prints
 * "stopped at iteration I by signal S on all N ranks" (after checking that
 * every rank stopped at the same iteration) and every rank exits with
 * HCSC_EXIT_SIGNALLED.  Never signalled: exit 1.  With HCSC_STOP_SECONDS=S
 * in the environment the ranks first spend S seconds (a checkpoint being
 * written) and rank 0 prints "checkpoint written". */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "hypercsc.h"
#include "testutil.h"

int main(int argc, char **argv)
{
  int rank, size, signo = 0, it, lo, hi;
  char path[4200];
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (hcsc_signal_install() < 0) {
    fprintf(stderr, "t_signal_loop: %s\n", hcsc_error_message());
    MPI_Abort(MPI_COMM_WORLD, 99);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank == 0) {
    snprintf(path, sizeof path, "%s/ready", test_tmp_dir());
    FILE *f = fopen(path, "w");
    if (f) fclose(f);
  }
  for (it = 0; it < 6000; it++) {
    struct timespec ts = {0, 10000000L};
    nanosleep(&ts, NULL);
    if (hcsc_signal_agree(MPI_COMM_WORLD, &signo) < 0) MPI_Abort(MPI_COMM_WORLD, 99);
    if (signo) break;
  }
  if (signo && getenv("HCSC_STOP_SECONDS")) {
    struct timespec ts = {atoi(getenv("HCSC_STOP_SECONDS")), 0};
    nanosleep(&ts, NULL);
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank == 0) printf("checkpoint written\n");
  }
  MPI_Allreduce(&it, &lo, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  MPI_Allreduce(&it, &hi, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (rank == 0) {
    if (!signo) printf("never signalled\n");
    else if (lo != hi) printf("ranks stopped at iterations %d..%d\n", lo, hi);
    else printf("stopped at iteration %d by signal %d on all %d ranks\n", it, signo, size);
    fflush(stdout);
  }
  MPI_Finalize();
  return signo && lo == hi ? HCSC_EXIT_SIGNALLED : 1;
}
