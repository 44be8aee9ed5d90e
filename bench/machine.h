/* hypercsc benchmarks — the machine a figure was measured on. */
#ifndef HCSC_BENCH_MACHINE_H
#define HCSC_BENCH_MACHINE_H

/* Print host, CPU model, cores online, clock (cpu MHz of /proc/cpuinfo),
 * load average and the estimated single-precision peak (GHz x 32
 * flops/cycle: AVX2 FMA, two 8-lane units).  *cores may be NULL.  Returns
 * the peak per core in GFLOP/s.  Not collective (call on one rank). */
double bench_machine(long *cores);

/* Monotonic seconds. */
double bench_now(void);

#endif
