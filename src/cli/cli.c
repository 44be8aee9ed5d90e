/* hypercsc — option parsing shared by every command.
 *
 * A small declarative parser: each command lists its options in a table;
 * the common options (--grid, --force, --json, --timings, -v, -q, --help)
 * are appended here so that every command accepts them the same way.
 * Every rank parses the same argv, so no communication is needed, and all
 * ranks reach the same verdict. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static const char *grid_spec;
static int verbose_count, quiet_flag, help_flag;
static const char *timings_spec;

static const hcsc_opt common_opts[] = {
    {"grid", 0, HCSC_OPT_STRING, &grid_spec, "GxPxQ",
     "decomposition: G band slices x P row blocks x Q column blocks (default: automatic)"},
    {"force", 0, HCSC_OPT_FLAG, NULL, NULL, "overwrite an existing output"},
    {"json", 0, HCSC_OPT_FLAG, NULL, NULL, "report as JSON on standard output"},
    {"timings", 0, HCSC_OPT_STRING, &timings_spec, "[=json]",
     "print per-phase timings (compute, halo, reduce, I/O) at the end"},
    {"verbose", 'v', HCSC_OPT_FLAG, &verbose_count, NULL, "more messages (debug)"},
    {"quiet", 'q', HCSC_OPT_FLAG, &quiet_flag, NULL, "errors only"},
    {"help", 'h', HCSC_OPT_FLAG, &help_flag, NULL, "show this help"},
    {NULL, 0, 0, NULL, NULL, NULL}};

static void print_opts(FILE *f, const hcsc_opt *opts)
{
  for (const hcsc_opt *o = opts; o && o->name; o++) {
    char left[96];
    int n = 0;
    if (o->short_name)
      n = snprintf(left, sizeof left, "-%c, --%s", o->short_name, o->name);
    else
      n = snprintf(left, sizeof left, "    --%s", o->name);
    if (o->metavar && n < (int)sizeof left)
      snprintf(left + n, sizeof left - (size_t)n, "%s%s", o->metavar[0] == '[' ? "" : " ",
               o->metavar);
    fprintf(f, "  %-30s %s\n", left, o->help ? o->help : "");
  }
}

/* Print text wrapped at 79 columns: a single line break in the text is a
 * space, a blank line starts a new paragraph, and a line that starts with
 * a space (a table, a list) is printed as it is. */
static void print_wrapped(FILE *f, const char *text)
{
  int col = 0;
  const char *p = text;
  while (*p) {
    if (p[0] == '\n' && p[1] == '\n') {
      fputs("\n\n", f);
      col = 0;
      p += 2;
      continue;
    }
    if ((p == text || p[-1] == '\n') && *p == ' ') {
      size_t n = strcspn(p, "\n");
      if (col > 0) fputc('\n', f);
      fwrite(p, 1, n, f);
      fputc('\n', f);
      col = 0;
      p += n;
      if (*p == '\n') p++;
      continue;
    }
    if (*p == '\n' || *p == ' ') {
      p++;
      continue;
    }
    size_t w = strcspn(p, " \n");
    if (col > 0 && col + 1 + (int)w > 79) {
      fputc('\n', f);
      col = 0;
    } else if (col > 0) {
      fputc(' ', f);
      col++;
    }
    fwrite(p, 1, w, f);
    col += (int)w;
    p += w;
  }
  fputc('\n', f);
}

void hcsc_cli_usage(const hcsc_cli *cli, const hcsc_cmd_desc *info, const hcsc_opt *opts, FILE *f)
{
  if (cli->rank != 0) return;
  fprintf(f, "usage: hypercsc %s %s\n\n%s\n", info->name, info->usage, info->summary);
  if (info->details) {
    fputc('\n', f);
    print_wrapped(f, info->details);
  }
  if (opts && opts->name) {
    fprintf(f, "\noptions:\n");
    print_opts(f, opts);
  }
  fprintf(f, "\ncommon options:\n");
  print_opts(f, common_opts);
  fprintf(f, "\nRun under MPI as: mpiexec -n N hypercsc %s ... (or srun hypercsc %s ...)\n",
          info->name, info->name);
}

static int bad(const hcsc_cli *cli, const char *fmt, const char *a, const char *b)
{
  if (cli->rank == 0) {
    fprintf(stderr, "hypercsc %s: ", cli->cmd);
    fprintf(stderr, fmt, a, b);
    fprintf(stderr, " (see 'hypercsc %s --help')\n", cli->cmd);
  }
  return HCSC_ERR(HCSC_EINVAL, "invalid command line");
}

static int set_value(const hcsc_cli *cli, const hcsc_opt *o, const char *val)
{
  char *end = NULL;
  errno = 0;
  switch (o->kind) {
  case HCSC_OPT_FLAG:
    if (o->dest) (*(int *)o->dest)++;
    return 0;
  case HCSC_OPT_STRING:
    *(const char **)o->dest = val;
    return 0;
  case HCSC_OPT_INT: {
    long v = strtol(val, &end, 10);
    if (errno || end == val || *end || v < -2147483647L || v > 2147483647L)
      return bad(cli, "--%s: '%s' is not an integer", o->name, val);
    *(int *)o->dest = (int)v;
    return 0;
  }
  case HCSC_OPT_INT64: {
    long long v = strtoll(val, &end, 10);
    if (errno || end == val || *end) return bad(cli, "--%s: '%s' is not an integer", o->name, val);
    *(int64_t *)o->dest = (int64_t)v;
    return 0;
  }
  case HCSC_OPT_U64: {
    if (val[0] == '-') return bad(cli, "--%s: '%s' is not a non-negative integer", o->name, val);
    unsigned long long v = strtoull(val, &end, 0);
    if (errno || end == val || *end)
      return bad(cli, "--%s: '%s' is not a non-negative integer", o->name, val);
    *(uint64_t *)o->dest = (uint64_t)v;
    return 0;
  }
  case HCSC_OPT_DOUBLE: {
    double v = strtod(val, &end);
    if (errno || end == val || *end) return bad(cli, "--%s: '%s' is not a number", o->name, val);
    *(double *)o->dest = v;
    return 0;
  }
  }
  return 0;
}

/* Find an option by long name (exact) or short letter in both tables. */
static const hcsc_opt *find(const hcsc_opt *opts, const char *name, size_t len, char letter)
{
  const hcsc_opt *tables[2] = {opts, common_opts};
  for (int t = 0; t < 2; t++)
    for (const hcsc_opt *o = tables[t]; o && o->name; o++) {
      if (letter && o->short_name == letter) return o;
      if (!letter && strlen(o->name) == len && strncmp(o->name, name, len) == 0) return o;
    }
  return NULL;
}

int hcsc_cli_parse(hcsc_cli *cli, const hcsc_cmd_desc *info, const hcsc_opt *opts, int argc,
                   char **argv, char ***pos, int *npos)
{
  int n = 0, force_seen = 0, json_seen = 0, only_pos = 0;
  char **p = calloc((size_t)argc + 1, sizeof *p);
  if (!p) return HCSC_ERR(HCSC_ENOMEM, "out of memory parsing the command line");
  grid_spec = NULL;
  timings_spec = NULL;
  verbose_count = quiet_flag = help_flag = 0;
  cli->cmd = info->name;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (only_pos || a[0] != '-' || a[1] == '\0') {
      p[n++] = argv[i];
      continue;
    }
    if (strcmp(a, "--") == 0) {
      only_pos = 1;
      continue;
    }
    const hcsc_opt *o;
    const char *val = NULL;
    if (a[1] == '-') {
      const char *name = a + 2, *eq = strchr(name, '=');
      size_t len = eq ? (size_t)(eq - name) : strlen(name);
      o = find(opts, name, len, 0);
      if (!o) {
        free(p);
        return bad(cli, "unknown option '%s'%s", a, "");
      }
      if (eq) val = eq + 1;
    } else {
      /* Short options; GDAL-style single-dash long names (-of) also work. */
      o = a[2] ? find(opts, a + 1, strlen(a + 1), 0) : find(opts, NULL, 0, a[1]);
      if (!o) {
        free(p);
        return bad(cli, "unknown option '%s'%s", a, "");
      }
    }
    if (o->dest == &timings_spec) {
      timings_spec = val ? val : "table";
      continue;
    }
    if (o->kind == HCSC_OPT_FLAG) {
      if (val) {
        free(p);
        return bad(cli, "option --%s takes no value%s", o->name, "");
      }
      if (strcmp(o->name, "force") == 0 && o->dest == NULL) force_seen = 1;
      if (strcmp(o->name, "json") == 0 && o->dest == NULL) json_seen = 1;
      set_value(cli, o, NULL);
      continue;
    }
    if (!val) {
      if (i + 1 >= argc) {
        free(p);
        return bad(cli, "option --%s needs a value (%s)", o->name, o->metavar ? o->metavar : "");
      }
      val = argv[++i];
    }
    int err = set_value(cli, o, val);
    if (err) {
      free(p);
      return err;
    }
  }
  if (help_flag) {
    hcsc_cli_usage(cli, info, opts, stdout);
    free(p);
    return 1;
  }
  cli->force = force_seen;
  cli->json = json_seen;
  cli->level = quiet_flag ? HCSC_LOG_QUIET : verbose_count ? HCSC_LOG_DEBUG : HCSC_LOG_INFO;
  hcsc_log_init(cli->comm, cli->level);
  cli->timings = 0;
  if (timings_spec) {
    if (strcmp(timings_spec, "table") == 0)
      cli->timings = 1;
    else if (strcmp(timings_spec, "json") == 0)
      cli->timings = 2;
    else {
      free(p);
      return bad(cli, "--timings=%s: expected --timings or --timings=json%s", timings_spec, "");
    }
  }
  cli->dims[0] = cli->dims[1] = cli->dims[2] = 0;
  if (grid_spec && hcsc_grid_parse(grid_spec, cli->dims) != 0) {
    free(p);
    return bad(cli, "--grid '%s': expected GxPxQ or PxQ with positive integers%s", grid_spec, "");
  }
  if (n < info->min_pos || (info->max_pos >= 0 && n > info->max_pos)) {
    char want[64];
    if (info->max_pos < 0)
      snprintf(want, sizeof want, "at least %d", info->min_pos);
    else if (info->min_pos == info->max_pos)
      snprintf(want, sizeof want, "%d", info->min_pos);
    else
      snprintf(want, sizeof want, "%d to %d", info->min_pos, info->max_pos);
    char got[32];
    snprintf(got, sizeof got, "%d", n);
    free(p);
    return bad(cli, "expected %s argument(s), got %s; usage: see below", want, got);
  }
  *pos = p;
  *npos = n;
  return 0;
}

int hcsc_cli_parse_bands(const char *spec, int64_t **bands, int64_t *nb)
{
  int err = 0;
  int64_t cap = 16, n = 0;
  int64_t *b = NULL;
  const char *s = spec;
  HCSC_CALLOC(b, cap);
  while (*s) {
    char *end;
    errno = 0;
    long long lo = strtoll(s, &end, 10), hi;
    if (end == s || errno || lo < 1) HCSC_FAIL(HCSC_EINVAL, "--bands '%s': bands are numbered from 1", spec);
    hi = lo;
    s = end;
    if (*s == '-') {
      s++;
      hi = strtoll(s, &end, 10);
      if (end == s || errno || hi < lo) HCSC_FAIL(HCSC_EINVAL, "--bands '%s': bad range", spec);
      s = end;
    }
    for (long long k = lo; k <= hi; k++) {
      if (n == cap) {
        int64_t *nbuf = realloc(b, (size_t)(cap *= 2) * sizeof *b);
        if (!nbuf) HCSC_FAIL(HCSC_ENOMEM, "out of memory parsing --bands");
        b = nbuf;
      }
      b[n++] = (int64_t)(k - 1);
    }
    if (*s == ',')
      s++;
    else if (*s)
      HCSC_FAIL(HCSC_EINVAL, "--bands '%s': expected a list like 1-10,15", spec);
  }
  if (n == 0) HCSC_FAIL(HCSC_EINVAL, "--bands '%s': empty list", spec);
  *bands = b;
  *nb = n;
  return 0;
cleanup:
  free(b);
  return err;
}

static int parse_ints(const char *spec, char sep, int64_t *v, int count)
{
  const char *s = spec;
  for (int i = 0; i < count; i++) {
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (end == s || errno) return -1;
    v[i] = (int64_t)x;
    s = end;
    if (i + 1 < count) {
      if (*s != sep && !(sep == 'x' && *s == 'X')) return i + 1;
      s++;
    }
  }
  return *s ? -1 : count;
}

int hcsc_cli_parse_window(const char *spec, int64_t window[4])
{
  if (parse_ints(spec, ',', window, 4) != 4 || window[0] < 0 || window[1] < 0 || window[2] <= 0 ||
      window[3] <= 0)
    return HCSC_ERR(HCSC_EINVAL,
                    "--window '%s': expected ROW0,COL0,ROWS,COLS (offsets >= 0, sizes > 0)", spec);
  return 0;
}

int hcsc_cli_parse_size(const char *spec, int64_t *rows, int64_t *cols, int64_t *bands)
{
  int64_t v[3] = {0, 0, 1};
  int got = parse_ints(spec, 'x', v, 3);
  if (got == 2) {
    /* "HxW": parse_ints stopped after two values; re-parse strictly. */
    if (parse_ints(spec, 'x', v, 2) != 2) got = -1;
    v[2] = 1;
  }
  if ((got != 2 && got != 3) || v[0] <= 0 || v[1] <= 0 || v[2] <= 0)
    return HCSC_ERR(HCSC_EINVAL, "--size '%s': expected HxWxB with positive integers", spec);
  *rows = v[0];
  *cols = v[1];
  *bands = v[2];
  return 0;
}

void hcsc_cli_report_timings(const hcsc_cli *cli)
{
  if (!cli->timings) return;
  hcsc_timer_stop(HCSC_PHASE_TOTAL);
  hcsc_timers_report(cli->comm, cli->timings == 2 ? stdout : stderr, cli->timings == 2);
}
