/* hypercsc — progress reports for long loops.
 *
 * Rank 0 draws a bar with rate and ETA when stderr is a terminal, and
 * prints a plain line at most every HCSC_PROGRESS_INTERVAL seconds
 * (default 10) otherwise (batch jobs: the SLURM output file stays
 * readable).  Silent at log level quiet.  Not collective: every rank may
 * call update, only rank 0 prints. */
#ifndef HCSC_PROGRESS_H
#define HCSC_PROGRESS_H

#include <mpi.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hcsc_progress hcsc_progress;

/* total: number of work units; unit: what a unit is ("rows", "iters").
 * Returns NULL only when out of memory (progress is then simply off). */
hcsc_progress *hcsc_progress_create(MPI_Comm comm, const char *label, int64_t total,
                                    const char *unit);
/* done: units completed so far; extra: optional text ("loss 0.12"). */
void hcsc_progress_update(hcsc_progress *p, int64_t done, const char *extra);
/* Final line with total time and rate; frees p and sets it to NULL. */
void hcsc_progress_finish(hcsc_progress **p);

#ifdef __cplusplus
}
#endif
#endif
