/* ADMM CBPDN benchmark (one rank, overlap 0): time per iteration of the
 * serial plan (hcsc_admm_plan_run, fixed iterations, rel_tol 0, rho fixed
 * so that no refactorisation is timed) on
 *   A: 512 x 512, 1 channel, 64 atoms of 8 x 8;
 *   B: 256 x 256, 16 channels, 32 atoms of 8 x 8 x 16;
 * and the time of the bare FFTW transforms one iteration needs (M r2c + M
 * c2r of the region, plain 2-D single-precision plans, timed alone), and
 * the ratio.  Prints the machine.  Usage: bench_admm [iters [A|B|AB]]
 * (HCSC_FFTW_MEASURE=1 for measured FFTW plans, here and in the baseline). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <fftw3.h>

#include "hypercsc.h"
#include "machine.h"

/* Seconds of M forward + M inverse plain r2c/c2r transforms of R x Q. */
static double bare_fft(int R, int Q, int M, int reps)
{
  const char *env = getenv("HCSC_FFTW_MEASURE");
  const unsigned flags = (env && env[0] == '1') ? FFTW_MEASURE : FFTW_ESTIMATE;
  float *r = fftwf_malloc(sizeof(float) * (size_t)R * Q);
  fftwf_complex *c = fftwf_malloc(sizeof(fftwf_complex) * (size_t)R * (Q / 2 + 1));
  fftwf_plan fw = fftwf_plan_dft_r2c_2d(R, Q, r, c, flags), iv = fftwf_plan_dft_c2r_2d(R, Q, c, r, flags);
  for (int64_t i = 0; i < (int64_t)R * Q; i++) r[i] = (float)(i % 7) - 3.0f;
  fftwf_execute(fw);
  fftwf_execute(iv);
  double best = 1e30;
  for (int rep = 0; rep < reps; rep++) {
    const double t0 = bench_now();
    for (int m = 0; m < M; m++) {
      fftwf_execute(fw);
      fftwf_execute(iv);
    }
    const double t = bench_now() - t0;
    if (t < best) best = t;
  }
  fftwf_destroy_plan(fw);
  fftwf_destroy_plan(iv);
  fftwf_free(r);
  fftwf_free(c);
  return best;
}

static int run_case(const char *name, int R, int Q, int C, int M, int k, int iters)
{
  int err = 0;
  hcsc_dict d;
  hcsc_admm_plan *p = NULL;
  memset(&d, 0, sizeof d);
  float *x = malloc(sizeof(float) * (size_t)C * R * Q), *z = calloc((size_t)M * R * Q, sizeof(float));
  if (!x || !z) return HCSC_ENOMEM;
  err = hcsc_dict_alloc(&d, M, C, k, 1);
  if (!err) err = hcsc_dict_init_random(&d, 1);
  for (int64_t i = 0; i < (int64_t)C * R * Q; i++) x[i] = (float)hcsc_rng_normal(2, 0, 0, i / Q, i % Q);
  hcsc_admm_opts o;
  hcsc_admm_opts_default(&o);
  o.lambda = 0.1;
  o.rel_tol = 0;
  o.auto_rho = 0;
  hcsc_admm_stats st;
  memset(&st, 0, sizeof st);
  double tplan = 0, tsetup = 1e30, trun = 1e30;
  /* Setup alone (D^H S and the factorisation: a 0-iteration run), then
   * setup + iterations; best of two runs each. */
  for (int pass = 0; pass < 2 && !err; pass++) {
    o.iters = pass ? iters : 0;
    double t0 = bench_now();
    err = hcsc_admm_plan_create(&d, R, Q, &o, &p);
    if (pass) tplan = bench_now() - t0;
    for (int rep = 0; rep < 2 && !err; rep++) {
      memset(z, 0, sizeof(float) * (size_t)M * R * Q);
      t0 = bench_now();
      err = hcsc_admm_plan_run(p, x, NULL, 0, z, NULL);
      const double t = bench_now() - t0;
      if (pass && t < trun) trun = t;
      if (!pass && t < tsetup) tsetup = t;
    }
    if (!err && pass) err = hcsc_admm_plan_run(p, x, NULL, 0, z, &st);
    hcsc_admm_plan_destroy(&p);
  }
  if (err) {
    fprintf(stderr, "bench_admm: %s\n", hcsc_error_message());
    goto done;
  }
  {
    const double tit = (trun - tsetup) / iters, tfft = bare_fft(R, Q, M, 3);
    printf("%s: %d x %d x %d channels, %d atoms %d x %d: plan %.3f s, setup %.3f s, "
           "%.2f ms/iteration (%d iterations), bare FFTW %d r2c + %d c2r %.2f ms, ratio %.2f\n",
           name, R, Q, C, M, k, k, tplan, tsetup, 1e3 * tit, iters, M, M, 1e3 * tfft, tit / tfft);
    printf("%s: sparsity %.4f, objective %.6g (circular)\n", name, st.sparsity, st.objective);
  }
done:
  hcsc_admm_plan_destroy(&p);
  hcsc_dict_free(&d);
  free(x);
  free(z);
  return err;
}

int main(int argc, char **argv)
{
  MPI_Init(&argc, &argv);
  const int iters = argc > 1 ? atoi(argv[1]) : 20;
  bench_machine(NULL);
  printf("1 rank, 1 thread\n");
  const char *which = argc > 2 ? argv[2] : "AB";
  int err = 0;
  if (strchr(which, 'A')) err = run_case("A", 512, 512, 1, 64, 8, iters > 0 ? iters : 20);
  if (!err && strchr(which, 'B')) err = run_case("B", 256, 256, 16, 32, 8, iters > 0 ? iters : 20);
  MPI_Finalize();
  return err ? 1 : 0;
}
