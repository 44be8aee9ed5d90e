/* hypercsc — progress bar (terminal) or periodic lines (batch). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hcsc/log.h"
#include "hcsc/progress.h"

struct hcsc_progress {
  int speak;       /* rank 0 and not quiet */
  int tty;         /* stderr is a terminal */
  double t0, last; /* start, last print */
  double interval; /* seconds between plain lines */
  int64_t total;
  char label[64];
  char unit[32];
};

hcsc_progress *hcsc_progress_create(MPI_Comm comm, const char *label, int64_t total,
                                    const char *unit)
{
  hcsc_progress *p = calloc(1, sizeof *p);
  if (!p) return NULL;
  int rank = 0;
  MPI_Comm_rank(comm, &rank);
  p->speak = rank == 0 && hcsc_log_get_level() >= HCSC_LOG_INFO;
  p->tty = isatty(STDERR_FILENO);
  p->t0 = p->last = MPI_Wtime();
  const char *iv = getenv("HCSC_PROGRESS_INTERVAL");
  p->interval = p->tty ? 0.2 : (iv ? atof(iv) : 10.0);
  p->total = total > 0 ? total : 1;
  snprintf(p->label, sizeof p->label, "%s", label ? label : "");
  snprintf(p->unit, sizeof p->unit, "%s", unit ? unit : "units");
  return p;
}

static void fmt_time(char *buf, size_t n, double s)
{
  if (s < 0 || s > 1e7) {
    snprintf(buf, n, "--:--");
    return;
  }
  int h = (int)(s / 3600), m = (int)(s / 60) % 60, sec = (int)s % 60;
  if (h)
    snprintf(buf, n, "%d:%02d:%02d", h, m, sec);
  else
    snprintf(buf, n, "%02d:%02d", m, sec);
}

static void print_line(hcsc_progress *p, int64_t done, const char *extra, int final)
{
  double now = MPI_Wtime(), el = now - p->t0;
  double rate = el > 0 ? done / el : 0;
  double eta = rate > 0 ? (p->total - done) / rate : -1;
  double frac = (double)done / (double)p->total;
  char etab[32], elb[32];
  fmt_time(etab, sizeof etab, eta);
  fmt_time(elb, sizeof elb, el);
  if (frac > 1) frac = 1;
  if (p->tty) {
    char bar[31];
    int fill = (int)(frac * 30);
    for (int i = 0; i < 30; i++) bar[i] = i < fill ? '#' : '.';
    bar[30] = '\0';
    fprintf(stderr, "\r%s [%s] %5.1f%% %.3g %s/s %s %s%s%s", p->label, bar, 100 * frac, rate,
            p->unit, final ? "in" : "ETA", final ? elb : etab, extra ? "  " : "",
            extra ? extra : "");
    fprintf(stderr, final ? "\n" : "\033[K");
  } else {
    fprintf(stderr, "%s: %lld/%lld %s (%.1f%%), %.3g %s/s, %s %s%s%s\n", p->label,
            (long long)done, (long long)p->total, p->unit, 100 * frac, rate, p->unit,
            final ? "done in" : "ETA", final ? elb : etab, extra ? ", " : "", extra ? extra : "");
  }
  fflush(stderr);
  p->last = now;
}

void hcsc_progress_update(hcsc_progress *p, int64_t done, const char *extra)
{
  if (!p || !p->speak) return;
  if (MPI_Wtime() - p->last < p->interval) return;
  print_line(p, done, extra, 0);
}

void hcsc_progress_finish(hcsc_progress **pp)
{
  if (!pp || !*pp) return;
  hcsc_progress *p = *pp;
  /* A bar is always closed; in batch mode short loops stay silent. */
  if (p->speak && (p->tty || MPI_Wtime() - p->t0 >= p->interval)) print_line(p, p->total, NULL, 1);
  free(p);
  *pp = NULL;
}
