/* hypercsc — per-phase wall-clock timers. */
#include "config.h"

#include <stdio.h>
#include <sys/resource.h>

#include "hcsc/error.h"
#include "hcsc/timer.h"

static double acc[HCSC_NPHASES], started[HCSC_NPHASES], bytes[HCSC_NPHASES];
static int depth[HCSC_NPHASES];

static const char *names[HCSC_NPHASES] = {"total",   "compute",  "halo",  "reduce",
                                          "io_read", "io_write", "setup"};

const char *hcsc_phase_name(hcsc_phase p)
{
  return (p >= 0 && p < HCSC_NPHASES) ? names[p] : "?";
}

void hcsc_timers_reset(void)
{
  for (int i = 0; i < HCSC_NPHASES; i++) acc[i] = started[i] = bytes[i] = 0, depth[i] = 0;
}

/* Re-entrant per phase: only the outermost start/stop pair counts, so a
 * phase called from inside the same phase is not counted twice. */
void hcsc_timer_start(hcsc_phase p)
{
  if (depth[p]++ == 0) started[p] = MPI_Wtime();
}

void hcsc_timer_stop(hcsc_phase p)
{
  if (depth[p] > 0 && --depth[p] == 0) acc[p] += MPI_Wtime() - started[p];
}

double hcsc_timer_seconds(hcsc_phase p)
{
  return acc[p] + (depth[p] > 0 ? MPI_Wtime() - started[p] : 0.0);
}

void hcsc_timer_add_bytes(hcsc_phase p, double b) { bytes[p] += b; }
double hcsc_timer_bytes(hcsc_phase p) { return bytes[p]; }

double hcsc_peak_rss_bytes(void)
{
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
  return (double)ru.ru_maxrss * 1024.0; /* Linux reports KiB */
}

int hcsc_timers_report(MPI_Comm comm, FILE *f, int json)
{
  double t[HCSC_NPHASES], tmin[HCSC_NPHASES], tmax[HCSC_NPHASES], tsum[HCSC_NPHASES];
  double bsum[HCSC_NPHASES];
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  for (int i = 0; i < HCSC_NPHASES; i++) t[i] = hcsc_timer_seconds((hcsc_phase)i);
  MPI_Reduce(t, tmin, HCSC_NPHASES, MPI_DOUBLE, MPI_MIN, 0, comm);
  MPI_Reduce(t, tmax, HCSC_NPHASES, MPI_DOUBLE, MPI_MAX, 0, comm);
  MPI_Reduce(t, tsum, HCSC_NPHASES, MPI_DOUBLE, MPI_SUM, 0, comm);
  MPI_Reduce(bytes, bsum, HCSC_NPHASES, MPI_DOUBLE, MPI_SUM, 0, comm);
  double rss = hcsc_peak_rss_bytes(), rss_min, rss_max;
  MPI_Reduce(&rss, &rss_min, 1, MPI_DOUBLE, MPI_MIN, 0, comm);
  MPI_Reduce(&rss, &rss_max, 1, MPI_DOUBLE, MPI_MAX, 0, comm);
  if (rank != 0) return HCSC_SUCCESS;
  if (json) {
    fprintf(f, "{\"ranks\": %d, \"phases\": {", size);
    for (int i = 0; i < HCSC_NPHASES; i++)
      fprintf(f, "%s\"%s\": {\"min_s\": %.6f, \"mean_s\": %.6f, \"max_s\": %.6f, \"bytes\": %.0f}",
              i ? ", " : "", names[i], tmin[i], tsum[i] / size, tmax[i], bsum[i]);
    fprintf(f, "}, \"peak_rss_bytes\": {\"min\": %.0f, \"max\": %.0f}}\n", rss_min, rss_max);
  } else {
    fprintf(f, "timings over %d rank%s (seconds; bytes summed over ranks)\n", size,
            size > 1 ? "s" : "");
    fprintf(f, "  %-10s %10s %10s %10s %14s\n", "phase", "min", "mean", "max", "bytes");
    for (int i = 0; i < HCSC_NPHASES; i++)
      fprintf(f, "  %-10s %10.4f %10.4f %10.4f %14.0f\n", names[i], tmin[i], tsum[i] / size,
              tmax[i], bsum[i]);
    fprintf(f, "  peak memory per rank: min %.1f MiB, max %.1f MiB\n", rss_min / 1048576.0,
            rss_max / 1048576.0);
  }
  fflush(f);
  return HCSC_SUCCESS;
}
