/* hypercsc — per-phase timers (compute, halo exchange, reductions, I/O).
 *
 * One set of accumulating wall-clock timers per process, like PETSc's log
 * events.  Code brackets a phase with hcsc_timer_start/stop; nested phases
 * are allowed (each accumulates its own inclusive time).  Any command prints
 * the table or JSON with --timings: min/mean/max over ranks. */
#ifndef HCSC_TIMER_H
#define HCSC_TIMER_H

#include <mpi.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  HCSC_PHASE_TOTAL = 0,
  HCSC_PHASE_COMPUTE,
  HCSC_PHASE_HALO,
  HCSC_PHASE_REDUCE,
  HCSC_PHASE_IO_READ,
  HCSC_PHASE_IO_WRITE,
  HCSC_PHASE_SETUP,
  HCSC_NPHASES
} hcsc_phase;

const char *hcsc_phase_name(hcsc_phase p);
void hcsc_timers_reset(void);
void hcsc_timer_start(hcsc_phase p);
void hcsc_timer_stop(hcsc_phase p);
/* Seconds accumulated so far by this process in phase p. */
double hcsc_timer_seconds(hcsc_phase p);
/* Add bytes moved in a phase (halo messages, reduced data, file bytes). */
void hcsc_timer_add_bytes(hcsc_phase p, double bytes);
double hcsc_timer_bytes(hcsc_phase p);

/* Peak resident memory of this process in bytes (getrusage).  Not collective. */
double hcsc_peak_rss_bytes(void);

/* Print min/mean/max seconds and bytes per phase over comm on rank 0, as an
 * aligned table (json = 0) or a JSON object (json = 1).  Collective. */
int hcsc_timers_report(MPI_Comm comm, FILE *f, int json);

#ifdef __cplusplus
}
#endif
#endif
