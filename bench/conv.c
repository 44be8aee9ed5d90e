/* Convolution benchmark: synthesis and analysis time on a 256 x 256 tile
 * (one rank), direct and FFT backends, k = 3..11, M = 16..128, C = 1 and 16;
 * GFLOP/s of the direct backend (2 M C k^2 H W flops per operator), the
 * FFT/direct time ratio (where the cost model should switch) and the
 * backend AUTO picks.  Prints the machine and an estimate of its
 * single-precision peak.  Usage: bench_conv [N] [C values...]
 * (HCSC_FFTW_MEASURE=1 for measured FFTW plans). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hypercsc.h"
#include "machine.h"

/* Median-free simple timing: warm-up call, then repeat until 0.2 s. */
static double time_op(hcsc_conv *op, int analysis, hcsc_tile *in, hcsc_tile *out)
{
  int n = 0;
  double t0, t;
  if (analysis) hcsc_conv_analysis(op, in, out);
  else hcsc_conv_synth(op, in, out);
  t0 = bench_now();
  do {
    if (analysis) hcsc_conv_analysis(op, in, out);
    else hcsc_conv_synth(op, in, out);
    n++;
    t = bench_now() - t0;
  } while (t < 0.2 && n < 1000);
  return t / n;
}

int main(int argc, char **argv)
{
  int N = 256;
  int Cs[8] = {1, 16}, nC = 2;
  const int ks[] = {3, 5, 7, 9, 11}, Ms[] = {16, 32, 64, 128};
  MPI_Init(&argc, &argv);
  if (argc > 1) N = atoi(argv[1]);
  if (argc > 2) {
    nC = 0;
    for (int i = 2; i < argc && nC < 8; i++) Cs[nC++] = atoi(argv[i]);
  }
  bench_machine(NULL);
  printf("tile %d x %d, one rank, float32; times per operator call in ms\n", N, N);
  printf("%3s %3s %3s | %9s %9s %7s | %9s %9s %5s | %6s %6s | %s\n", "C", "M", "k", "dir-syn",
         "dir-ana", "GF/s", "fft-syn", "fft-ana", "B", "fft/d", "", "auto");
  for (int ci = 0; ci < nC; ci++)
    for (size_t mi = 0; mi < sizeof Ms / sizeof Ms[0]; mi++)
      for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++) {
        const int C = Cs[ci], M = Ms[mi], k = ks[ki], h = k - 1 - (k - 1) / 2;
        hcsc_dict d;
        hcsc_box box = {0, C, 0, N, 0, N};
        hcsc_tile z, x, r, g;
        hcsc_conv *opd = NULL, *opf = NULL, *opa = NULL;
        double td[2] = {0, 0}, tf[2] = {0, 0};
        if (hcsc_dict_alloc(&d, M, C, k, 1) || hcsc_dict_init_random(&d, 1)) return 1;
        /* Tiles are pre-faulted by hcsc_tile_alloc; fill them (warm). */
        if (hcsc_tile_alloc(&z, &box, M, h) || hcsc_tile_alloc(&x, &box, C, 0) ||
            hcsc_tile_alloc(&r, &box, C, h) || hcsc_tile_alloc(&g, &box, M, 0)) {
          fprintf(stderr, "%s\n", hcsc_error_message());
          return 1;
        }
        for (int64_t i = 0; i < M * z.ldr * z.ldc; i++) z.data[i] = (float)((i * 7) % 13) - 6.0f;
        for (int64_t i = 0; i < C * r.ldr * r.ldc; i++) r.data[i] = (float)((i * 5) % 11) - 5.0f;
        hcsc_tile_zero_outside(&r, N, N);
        if (hcsc_conv_create(&d, &box, N, N, HCSC_CONV_DIRECT, &opd) == 0) {
          td[0] = time_op(opd, 0, &z, &x);
          td[1] = time_op(opd, 1, &r, &g);
        }
        int B = 0;
        if (hcsc_conv_create(&d, &box, N, N, HCSC_CONV_FFT, &opf) == 0) {
          B = hcsc_conv_block(opf);
          tf[0] = time_op(opf, 0, &z, &x);
          tf[1] = time_op(opf, 1, &r, &g);
        }
        hcsc_conv_create(&d, &box, N, N, HCSC_CONV_AUTO, &opa);
        const double fl = 2.0 * M * C * k * k * (double)N * N;
        const double ratio = (tf[0] + tf[1]) / (td[0] + td[1]);
        printf("%3d %3d %3d | %9.3f %9.3f %7.1f | %9.3f %9.3f %5d | %6.2f %6s | %s\n", C, M, k,
               td[0] * 1e3, td[1] * 1e3, 2 * fl / (td[0] + td[1]) * 1e-9, tf[0] * 1e3, tf[1] * 1e3,
               B, ratio, ratio < 1 ? "fft" : "direct",
               opa ? hcsc_conv_backend_name(hcsc_conv_get_backend(opa)) : "?");
        fflush(stdout);
        hcsc_conv_destroy(&opd);
        hcsc_conv_destroy(&opf);
        hcsc_conv_destroy(&opa);
        hcsc_tile_free(&z);
        hcsc_tile_free(&x);
        hcsc_tile_free(&r);
        hcsc_tile_free(&g);
        hcsc_dict_free(&d);
      }
  MPI_Finalize();
  return 0;
}
