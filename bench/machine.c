/* hypercsc benchmarks — the machine a figure was measured on. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "machine.h"

double bench_now(void)
{
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

double bench_machine(long *cores)
{
  char line[512], model[256] = "unknown", host[256] = "?";
  double mhz = 0.0, load[3] = {-1, -1, -1};
  FILE *f = fopen("/proc/cpuinfo", "r");
  while (f && fgets(line, sizeof line, f)) {
    char *p = strchr(line, ':');
    if (!p) continue;
    if (!strncmp(line, "model name", 10) && !strcmp(model, "unknown")) {
      snprintf(model, sizeof model, "%s", p + 2);
      model[strcspn(model, "\n")] = '\0';
    }
    if (!strncmp(line, "cpu MHz", 7) && mhz == 0.0) mhz = atof(p + 1);
  }
  if (f) fclose(f);
  gethostname(host, sizeof host - 1);
  const long n = sysconf(_SC_NPROCESSORS_ONLN);
  const double ghz = mhz / 1000.0;
  if ((f = fopen("/proc/loadavg", "r"))) {
    if (fscanf(f, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3) load[0] = -1;
    fclose(f);
  }
  printf("host %s: %s, %ld cores, %.2f GHz (cpu MHz of /proc/cpuinfo); load average %.2f %.2f %.2f\n", host,
         model, n, ghz, load[0], load[1], load[2]);
  printf("single-precision peak (estimate: GHz x 32 flops/cycle, AVX2 FMA): %.1f GFLOP/s per core, %.1f for "
         "%ld cores\n", ghz * 32.0, ghz * 32.0 * (double)n, n);
  if (cores) *cores = n;
  return ghz * 32.0;
}
