/* hypercsc — the command-line program: shared option parsing and the
 * command table.  Private to src/cli. */
#ifndef HCSC_CLI_H
#define HCSC_CLI_H

#include <mpi.h>
#include <stdint.h>

#include "hypercsc.h"

/* Options every command accepts (parsed by hcsc_cli_parse). */
typedef struct {
  MPI_Comm comm;    /* MPI_COMM_WORLD */
  int rank, size;
  int dims[3];      /* --grid GxPxQ (0 = automatic) */
  int force;        /* --force */
  int json;         /* --json */
  int timings;      /* --timings: 1 table, 2 JSON */
  hcsc_log_level level; /* -v / -q */
  const char *cmd;  /* command name */
} hcsc_cli;

typedef enum {
  HCSC_OPT_FLAG,   /* int, set to 1 */
  HCSC_OPT_INT,    /* int */
  HCSC_OPT_INT64,  /* int64_t */
  HCSC_OPT_U64,    /* uint64_t (seeds) */
  HCSC_OPT_DOUBLE, /* double */
  HCSC_OPT_STRING  /* const char * (points into argv) */
} hcsc_opt_kind;

typedef struct {
  const char *name;   /* long name without "--" */
  char short_name;    /* 0 for none */
  hcsc_opt_kind kind;
  void *dest;
  const char *metavar;
  const char *help;
} hcsc_opt;

typedef struct {
  const char *name;     /* "convert" */
  const char *usage;    /* "IN OUT [options]" */
  const char *summary;  /* one line */
  const char *details;  /* paragraph printed by --help, may be NULL */
  int min_pos, max_pos; /* positional argument counts (max -1: unbounded) */
} hcsc_cmd_desc;

/* Parse argv (argv[0] is the command name) against opts (terminated by an
 * entry with name NULL) plus the common options.  Positional arguments are
 * returned in pos/npos (pointers into argv).  Returns 0 to run the command,
 * 1 when --help was printed (exit 0), or HCSC_EINVAL after printing a
 * one-line error on rank 0 (exit 2).  Every rank parses the same argv, so
 * no communication is needed.  Not collective. */
int hcsc_cli_parse(hcsc_cli *cli, const hcsc_cmd_desc *info, const hcsc_opt *opts, int argc,
                   char **argv, char ***pos, int *npos);

/* Print the usage of a command on rank 0. */
void hcsc_cli_usage(const hcsc_cli *cli, const hcsc_cmd_desc *info, const hcsc_opt *opts,
                    FILE *f);

/* Parse "b0-b1,b2,..." (1-based, as users count bands) into a malloc'ed
 * 0-based list.  Not collective. */
int hcsc_cli_parse_bands(const char *spec, int64_t **bands, int64_t *nb);
/* Parse "ROW0,COL0,ROWS,COLS" (0-based) into window[4].  Not collective. */
int hcsc_cli_parse_window(const char *spec, int64_t window[4]);
/* Parse "HxWxB" (or "HxW", B = 1) into sizes.  Not collective. */
int hcsc_cli_parse_size(const char *spec, int64_t *rows, int64_t *cols, int64_t *bands);

/* Print the timers if --timings was given.  Collective. */
void hcsc_cli_report_timings(const hcsc_cli *cli);

/* Draw the atoms of layer d over channels ch[0..nc) (nc = 1: grey, 3:
 * red, green, blue; 0-based) into a new 8-bit picture *out (plane by plane,
 * as hcsc_picture_write_png takes it; the caller frees it) of *w x *h
 * pixels: tiles of k s x k s pixels on a grid of ceil(sqrt(M)) columns with
 * 1-pixel black lines between and around them; each atom stretched
 * symmetrically around 0 (128 + 127 v / max|atom| over the channels
 * shown).  Not collective (rank 0 draws). */
int hcsc_cli_mosaic(const hcsc_dict *d, const int *ch, int nc, int s, unsigned char **out, int *w,
                    int *h);

/* The commands.  Each returns 0 or a negative HCSC_E* code that is the same
 * on every rank (collective). */
int hcsc_cmd_info(hcsc_cli *cli, int argc, char **argv);
int hcsc_cmd_convert(hcsc_cli *cli, int argc, char **argv);
int hcsc_cmd_synth(hcsc_cli *cli, int argc, char **argv);
int hcsc_cmd_noise(hcsc_cli *cli, int argc, char **argv);
int hcsc_cmd_eval(hcsc_cli *cli, int argc, char **argv);
int hcsc_cmd_pca(hcsc_cli *cli, int argc, char **argv);
int hcsc_cmd_dict(hcsc_cli *cli, int argc, char **argv); /* "dict init", "dict show" */
int hcsc_cmd_code(hcsc_cli *cli, int argc, char **argv);
int hcsc_cmd_learn(hcsc_cli *cli, int argc, char **argv);
int hcsc_cmd_train(hcsc_cli *cli, int argc, char **argv);
int hcsc_cmd_denoise(hcsc_cli *cli, int argc, char **argv); /* cmd_restore.c */
int hcsc_cmd_inpaint(hcsc_cli *cli, int argc, char **argv);
/* `hypercsc info MODEL.nc` (cmd_train.c).  Collective. */
int hcsc_cli_info_model(hcsc_cli *cli, const char *path);

#endif
