/* hypercsc — command-line entry point: MPI start-up, command dispatch and
 * the exit status (0 success, 1 error, 2 bad command line, 75 stopped by a
 * signal after writing a checkpoint), the same on
 * every rank so that mpiexec and srun report failures. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

typedef struct {
  const char *name;
  int (*run)(hcsc_cli *cli, int argc, char **argv);
  const char *summary;
} command;

static const command commands[] = {
    {"info", hcsc_cmd_info, "describe a scene: size, georeferencing, bands, statistics, noise"},
    {"convert", hcsc_cmd_convert, "convert between GeoTIFF, ENVI and NetCDF (bands, window, type)"},
    {"synth", hcsc_cmd_synth, "generate a synthetic hyperspectral scene of any size in parallel"},
    {"noise", hcsc_cmd_noise, "add noise by the protocol of hyperspectral denoising papers"},
    {"eval", hcsc_cmd_eval, "compare two scenes: MPSNR, MSSIM, SAM, ERGAS"},
    {"pca", hcsc_cmd_pca, "spectral subspace (PCA of the band covariance), low-rank reconstruction"},
    {"dict", hcsc_cmd_dict, "make a dictionary (random, scene patches, file); draw its atoms (PNG)"},
    {"code", hcsc_cmd_code, "sparse codes of a scene for a dictionary (ISTA/FISTA), reconstruction"},
    {"learn", hcsc_cmd_learn, "learn a dictionary from scenes (consensus ADMM), checkpoints, resume"},
    {"train", hcsc_cmd_train, "train an unrolled network (data-parallel), or evaluate one"},
    {"denoise", hcsc_cmd_denoise, "denoise a whole scene (network, CBPDN or PCA), distributed"},
    {"inpaint", hcsc_cmd_inpaint, "fill missing values of a whole scene (masked network or CBPDN)"},
};
#define NCOMMANDS ((int)(sizeof commands / sizeof commands[0]))

static void usage(FILE *f)
{
  fprintf(f,
          "usage: hypercsc <command> [options]\n\n"
          "hypercsc %s: convolutional sparse coding for hyperspectral scenes, with MPI.\n\n"
          "commands:\n",
          PACKAGE_VERSION);
  for (int i = 0; i < NCOMMANDS; i++) fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
  fprintf(f, "\n'hypercsc <command> --help' describes a command.  Every command runs alone,\n"
             "under 'mpiexec -n N hypercsc ...' or under 'srun hypercsc ...'.\n");
}

int main(int argc, char **argv)
{
  int rank = 0, status = 0;
  /* Open MPI 4.1's default MPI-IO component (ompio) reports a failed
   * write (disk full, file size limit) as success; ROMIO returns the
   * error.  Choose ROMIO unless the user chose otherwise. */
  setenv("OMPI_MCA_io", "romio321", 0);
  MPI_Init(&argc, &argv);
  /* Errors come back as codes and are agreed across ranks: never abort. */
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  hcsc_log_init(MPI_COMM_WORLD, HCSC_LOG_INFO);
  hcsc_timers_reset();
  hcsc_timer_start(HCSC_PHASE_TOTAL);

  if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
      strcmp(argv[1], "help") == 0) {
    if (argc >= 3 && strcmp(argv[1], "help") == 0) {
      /* "hypercsc help CMD" is "hypercsc CMD --help". */
      char *hargv[] = {argv[2], "--help", NULL};
      for (int i = 0; i < NCOMMANDS; i++)
        if (strcmp(argv[2], commands[i].name) == 0) {
          hcsc_cli cli = {.comm = MPI_COMM_WORLD, .rank = rank};
          MPI_Comm_size(MPI_COMM_WORLD, &cli.size);
          commands[i].run(&cli, 2, hargv);
          MPI_Finalize();
          return 0;
        }
    }
    if (rank == 0) usage(argc < 2 ? stderr : stdout);
    MPI_Finalize();
    return argc < 2 ? 2 : 0;
  }
  if (strcmp(argv[1], "--version") == 0) {
    if (rank == 0) printf("hypercsc %s\n", PACKAGE_VERSION);
    MPI_Finalize();
    return 0;
  }
  const command *cmd = NULL;
  for (int i = 0; i < NCOMMANDS; i++)
    if (strcmp(argv[1], commands[i].name) == 0) cmd = &commands[i];
  if (!cmd) {
    if (rank == 0) fprintf(stderr, "hypercsc: unknown command '%s' (try 'hypercsc --help')\n", argv[1]);
    MPI_Finalize();
    return 2;
  }
  hcsc_cli cli = {.comm = MPI_COMM_WORLD, .rank = rank, .level = HCSC_LOG_INFO};
  MPI_Comm_size(MPI_COMM_WORLD, &cli.size);
  int err = cmd->run(&cli, argc - 1, argv + 1);
  if (err == 1) {
    status = 0; /* --help */
  } else if (err == HCSC_EINVAL && strcmp(hcsc_error_message(), "invalid command line") == 0) {
    status = 2; /* the parser already printed the reason */
  } else if (err == HCSC_EINTERRUPT) {
    /* Stopped by SIGTERM/SIGUSR1 after writing a checkpoint (hcsc/signal.h):
     * a distinct status so that a batch script can resubmit with --resume. */
    hcsc_log_error(err, 0);
    status = HCSC_EXIT_SIGNALLED;
  } else if (err < 0) {
    hcsc_log_error(err, 0);
    status = 1;
  } else {
    hcsc_cli_report_timings(&cli);
  }
  MPI_Finalize();
  return status;
}
