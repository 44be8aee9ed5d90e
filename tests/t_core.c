/* Core library: error table and agreement across ranks, Philox known-answer
 * vectors, RNG distribution sanity, timers and the progress reporter. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hypercsc.h"
#include "testutil.h"

static void test_errors(void)
{
  for (int c = 0; c > HCSC_ERROR_LAST; c--) {
    TEST_ASSERT(strcmp(hcsc_strerror(c), "unknown error") != 0, "code %d has no message", c);
    TEST_ASSERT(strncmp(hcsc_errname(c), "HCSC_", 5) == 0, "code %d has no name", c);
  }
  TEST_ASSERT(strcmp(hcsc_strerror(HCSC_ERROR_LAST), "unknown error") == 0, "past the table");
  int rc = HCSC_ERR(HCSC_EIO, "file %s: line\nbreak", "x.tif");
  TEST_ASSERT(rc == HCSC_EIO, "HCSC_ERR returns its code");
  TEST_ASSERT(strchr(hcsc_error_message(), '\n') == NULL, "messages are one line");

  /* Only the last rank fails: every rank must get its code and message. */
  int rank = test_rank(), size = test_size();
  int local = 0;
  hcsc_error_clear();
  if (rank == size - 1) local = HCSC_ERR(HCSC_ENOSPC, "rank %d: disk full on out.bsq", rank);
  int agreed = hcsc_error_agree(MPI_COMM_WORLD, local);
  TEST_ASSERT(agreed == HCSC_ENOSPC, "agreed code %d", agreed);
  char want[64];
  snprintf(want, sizeof want, "rank %d: disk full on out.bsq", size - 1);
  TEST_ASSERT(strcmp(hcsc_error_message(), want) == 0, "agreed message '%s'", hcsc_error_message());
  /* Two ranks fail with different codes: the lowest failing rank wins. */
  local = rank >= size / 2 ? HCSC_ERR(rank == size / 2 ? HCSC_EFORMAT : HCSC_EIO, "r%d", rank) : 0;
  agreed = hcsc_error_agree(MPI_COMM_WORLD, local);
  TEST_ASSERT(agreed == HCSC_EFORMAT, "lowest failing rank's code, got %d", agreed);
  TEST_ASSERT(hcsc_error_agree(MPI_COMM_WORLD, 0) == 0, "no failure, no error");
}

static void test_philox(void)
{
  /* Known-answer vectors of Philox4x32-10 (Random123's kat_vectors):
   * counter, key (k0, k1), expected output. */
  static const uint32_t kat[3][10] = {
      {0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
      {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0x408f276d,
       0x41c83b0e, 0xa20bc7c6, 0x6d5451fd},
      {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, 0xd16cfe09,
       0x94fdcceb, 0x5001e420, 0x24126ea1}};
  for (int v = 0; v < 3; v++) {
    uint32_t out[4];
    uint64_t key = (uint64_t)kat[v][4] | ((uint64_t)kat[v][5] << 32);
    hcsc_rng_philox(key, kat[v], out);
    for (int i = 0; i < 4; i++)
      TEST_ASSERT(out[i] == kat[v][6 + i], "vector %d word %d: %08x, expected %08x", v, i, out[i],
                  kat[v][6 + i]);
  }
}

static void test_rng_stats(void)
{
  /* Uniforms in (0,1), normals with mean 0 and variance 1: 20000 draws. */
  const int n = 20000;
  double su = 0, sn = 0, sn2 = 0, umin = 1, umax = 0;
  for (int i = 0; i < n; i++) {
    double u = hcsc_rng_uniform(42, 3, i % 7, i / 7, i % 13);
    double z = hcsc_rng_normal(42, 4, i % 7, i / 7, i % 13);
    su += u, sn += z, sn2 += z * z;
    umin = u < umin ? u : umin, umax = u > umax ? u : umax;
  }
  TEST_ASSERT(umin > 0 && umax < 1, "uniforms in (0,1): [%g, %g]", umin, umax);
  TEST_ASSERT(fabs(su / n - 0.5) < 0.01, "uniform mean %g", su / n);
  TEST_ASSERT(fabs(sn / n) < 0.03, "normal mean %g", sn / n);
  TEST_ASSERT(fabs(sn2 / n - 1) < 0.04, "normal variance %g", sn2 / n);
  /* A draw depends only on its coordinates. */
  TEST_ASSERT(hcsc_rng_uniform(1, 2, 3, 4, 5) == hcsc_rng_uniform(1, 2, 3, 4, 5), "pure function");
  TEST_ASSERT(hcsc_rng_uniform(1, 2, 3, 4, 5) != hcsc_rng_uniform(1, 2, 3, 4, 6), "column changes");
  TEST_ASSERT(hcsc_rng_uniform(1, 2, 3, 4, 5) != hcsc_rng_uniform(2, 2, 3, 4, 5), "seed changes");
  /* Sequential streams: reproducible, and below() stays below. */
  hcsc_rng a, b;
  hcsc_rng_init(&a, 9, 1);
  hcsc_rng_init(&b, 9, 1);
  int hist[5] = {0};
  for (int i = 0; i < 5000; i++) {
    uint64_t x = hcsc_rng_next_below(&a, 5);
    TEST_ASSERT(x < 5, "below 5: %llu", (unsigned long long)x);
    if (x < 5) hist[x]++;
    TEST_ASSERT(x == hcsc_rng_next_below(&b, 5), "same seed, same stream");
  }
  for (int i = 0; i < 5; i++) TEST_ASSERT(hist[i] > 850 && hist[i] < 1150, "bin %d: %d", i, hist[i]);
}

static void test_timers_progress(void)
{
  hcsc_timers_reset();
  hcsc_timer_start(HCSC_PHASE_COMPUTE);
  hcsc_timer_start(HCSC_PHASE_COMPUTE); /* nested: counted once */
  struct timespec ts = {0, 20000000};
  nanosleep(&ts, NULL);
  hcsc_timer_stop(HCSC_PHASE_COMPUTE);
  hcsc_timer_stop(HCSC_PHASE_COMPUTE);
  double t = hcsc_timer_seconds(HCSC_PHASE_COMPUTE);
  TEST_ASSERT(t >= 0.015 && t < 1.0, "compute timer %g s", t);
  hcsc_timer_add_bytes(HCSC_PHASE_HALO, 100);
  TEST_ASSERT(hcsc_timer_bytes(HCSC_PHASE_HALO) == 100, "bytes");
  TEST_ASSERT(hcsc_peak_rss_bytes() > 1e6, "peak RSS %g", hcsc_peak_rss_bytes());

  /* The JSON report is one line with every phase (rank 0 writes it). */
  char path[4096];
  snprintf(path, sizeof path, "%s/timings.json", test_tmp_dir());
  FILE *f = test_rank() == 0 ? fopen(path, "w") : NULL;
  TEST_OK(hcsc_timers_report(MPI_COMM_WORLD, f ? f : stderr, 1));
  if (f) {
    fclose(f);
    char buf[2048] = {0};
    f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f) fclose(f);
    TEST_ASSERT(n > 0 && strstr(buf, "\"compute\"") && strstr(buf, "\"io_write\"") &&
                    strstr(buf, "\"peak_rss_bytes\""),
                "timings JSON: %s", buf);
  }

  /* Progress, not on a terminal: plain lines at the interval, rank 0 only. */
  setenv("HCSC_PROGRESS_INTERVAL", "0", 1);
  hcsc_log_init(MPI_COMM_WORLD, HCSC_LOG_INFO);
  snprintf(path, sizeof path, "%s/progress-%d.txt", test_tmp_dir(), test_rank());
  fflush(stderr);
  int saved = dup(2);
  FILE *pf = fopen(path, "w");
  TEST_ASSERT(pf != NULL, "open %s", path);
  if (!pf) return;
  dup2(fileno(pf), 2);
  hcsc_progress *p = hcsc_progress_create(MPI_COMM_WORLD, "test", 4, "steps");
  for (int i = 1; i <= 4; i++) hcsc_progress_update(p, i, "loss 1.0");
  hcsc_progress_finish(&p);
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  fclose(pf);
  hcsc_log_init(MPI_COMM_WORLD, HCSC_LOG_WARN);
  TEST_ASSERT(p == NULL, "finish clears the pointer");
  pf = fopen(path, "r");
  int lines = 0, eta = 0, done = 0;
  char line[512];
  while (pf && fgets(line, sizeof line, pf)) {
    lines++;
    if (strstr(line, "ETA") && strstr(line, "steps/s") && strstr(line, "loss 1.0")) eta++;
    if (strstr(line, "4/4") && strstr(line, "done in")) done++;
  }
  if (pf) fclose(pf);
  if (test_rank() == 0)
    TEST_ASSERT(lines == 5 && eta == 4 && done == 1, "progress lines %d, eta %d, done %d", lines, eta,
                done);
  else
    TEST_ASSERT(lines == 0, "rank %d printed %d progress lines", test_rank(), lines);
}

int main(int argc, char **argv)
{
  test_init(&argc, &argv);
  test_errors();
  test_philox();
  test_rng_stats();
  test_timers_progress();
  return test_finish("t_core");
}
