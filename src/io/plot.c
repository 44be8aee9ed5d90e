/* hypercsc — line plots through gnuplot (see hcsc/plot.h).
 *
 * The script goes to gnuplot's standard input over a socket pair rather
 * than a pipe: send(MSG_NOSIGNAL) then reports a gnuplot that died early as
 * EPIPE instead of killing this process with SIGPIPE, without touching the
 * process's signal mask (MPI may run threads).  gnuplot's messages go to a
 * temporary file beside the output (a pipe could fill up while we are still
 * writing the script), whose first error line becomes our message. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hcsc/error.h"
#include "hcsc/plot.h"
#include "hcsc/timer.h"

extern char **environ;

#define PLOT_PATH 4096

/* The script under construction (grows as needed). */
typedef struct {
  char *s;
  size_t len, cap;
  int oom;
} plot_buf;

static void buf_add(plot_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void buf_add(plot_buf *b, const char *fmt, ...)
{
  va_list ap;
  if (b->oom) return;
  for (;;) {
    size_t room = b->cap - b->len;
    va_start(ap, fmt);
    int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? room : 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
      b->oom = 1;
      return;
    }
    if (b->s && (size_t)n < room) {
      b->len += (size_t)n;
      return;
    }
    size_t cap = b->cap ? 2 * b->cap : 4096;
    while (cap < b->len + (size_t)n + 1) cap *= 2;
    char *s = realloc(b->s, cap);
    if (!s) {
      b->oom = 1;
      return;
    }
    b->s = s;
    b->cap = cap;
  }
}

/* A gnuplot single-quoted string: no escapes are processed there except ''
 * for a quote; line breaks would end the command, so they become spaces. */
static void buf_quoted(plot_buf *b, const char *text)
{
  buf_add(b, "'");
  for (const char *c = text ? text : ""; *c; c++) {
    if (*c == '\'') buf_add(b, "''");
    else if (*c == '\n' || *c == '\r') buf_add(b, " ");
    else buf_add(b, "%c", *c);
  }
  buf_add(b, "'");
}

/* Whether prog is an executable file in a directory of PATH (what
 * posix_spawnp will search). */
static int on_path(const char *prog)
{
  const char *p = getenv("PATH");
  char dir[PLOT_PATH + 64];
  if (!p) p = "/usr/bin:/bin";
  while (*p) {
    size_t n = strcspn(p, ":");
    if (n < PLOT_PATH) {
      snprintf(dir, sizeof dir, "%.*s/%s", (int)n, n ? p : ".", prog);
      if (n == 0) snprintf(dir, sizeof dir, "./%s", prog);
      if (access(dir, X_OK) == 0) return 1;
    }
    p += n;
    if (*p == ':') p++;
  }
  return 0;
}

static int usable(double y, int log_y) { return isfinite(y) && (!log_y || y > 0); }

/* The gnuplot script: terminal, output tmp, labels, one inline datablock
 * per curve, the plot command. */
static int make_script(plot_buf *b, const char *path, const char *tmp, const char *title,
                       const char *xlabel, const char *ylabel, const double *x,
                       const double *const *y, int ncurves, int n, const char *const *labels,
                       int log_y)
{
  int points = 0;
  buf_add(b, "set terminal pngcairo size %d,%d noenhanced font ',10'\nset output ", HCSC_PLOT_WIDTH,
          HCSC_PLOT_HEIGHT);
  buf_quoted(b, tmp);
  buf_add(b, "\nset grid\nset key top right\n");
  if (title) buf_add(b, "set title "), buf_quoted(b, title), buf_add(b, "\n");
  if (xlabel) buf_add(b, "set xlabel "), buf_quoted(b, xlabel), buf_add(b, "\n");
  if (ylabel) buf_add(b, "set ylabel "), buf_quoted(b, ylabel), buf_add(b, "\n");
  if (log_y) buf_add(b, "set logscale y\nset format y '%%g'\n");
  for (int c = 0; c < ncurves; c++) {
    int gap = 0;
    buf_add(b, "$curve%d << EOD\n", c);
    for (int i = 0; i < n; i++) {
      /* A blank line breaks the line where a value is missing. */
      if (!isfinite(x[i]) || !usable(y[c][i], log_y)) {
        if (!gap) buf_add(b, "\n");
        gap = 1;
        continue;
      }
      buf_add(b, "%.17g %.17g\n", x[i], y[c][i]);
      gap = 0;
      points++;
    }
    buf_add(b, "EOD\n");
  }
  if (!points)
    return HCSC_ERR(HCSC_EVALUE, "%s: nothing to plot (no finite%s values)", path, log_y ? " positive" : "");
  buf_add(b, "plot ");
  for (int c = 0; c < ncurves; c++) {
    char def[32];
    snprintf(def, sizeof def, "curve %d", c + 1);
    buf_add(b, "%s$curve%d using 1:2 with lines linewidth 2 title ", c ? ", " : "", c);
    buf_quoted(b, labels && labels[c] ? labels[c] : def);
  }
  buf_add(b, "\nunset output\n");
  if (b->oom) return HCSC_ERR(HCSC_ENOMEM, "%s: out of memory for the gnuplot script", path);
  return 0;
}

/* The first line of gnuplot's messages that looks like an error (else the
 * last non-empty line), for our one-line message. */
static void first_error(int fd, char *line, size_t n)
{
  char buf[8192];
  ssize_t got;
  line[0] = 0;
  if (lseek(fd, 0, SEEK_SET) < 0 || (got = read(fd, buf, sizeof buf - 1)) <= 0) return;
  buf[got] = 0;
  for (char *s = strtok(buf, "\n"); s; s = strtok(NULL, "\n")) {
    while (*s == ' ' || *s == '\t' || *s == '^') s++;
    if (!*s) continue;
    snprintf(line, n, "%s", s);
    if (strstr(s, "rror") || strstr(s, "annot")) return;
  }
}

/* See plot.h.  Not collective. */
int hcsc_plot_curves(const char *path, const char *title, const char *xlabel, const char *ylabel,
                     const double *x, const double *const *y, int ncurves, int n,
                     const char *const *labels, int log_y, int force)
{
  int err = 0, sv[2] = {-1, -1}, errfd = -1, spawned = 0, status = 0;
  char tmp[PLOT_PATH + 64], errpath[PLOT_PATH + 64], msg[512];
  plot_buf b = {NULL, 0, 0, 0};
  posix_spawn_file_actions_t fa;
  int fa_made = 0;
  pid_t pid = -1;
  struct stat st;
  tmp[0] = errpath[0] = 0;
  hcsc_timer_start(HCSC_PHASE_IO_WRITE);
  if (!path || !path[0] || strlen(path) >= PLOT_PATH)
    HCSC_FAIL(HCSC_EINVAL, "hcsc_plot_curves: no path or a path too long");
  if (!x || !y || ncurves < 1 || n < 1)
    HCSC_FAIL(HCSC_EINVAL, "%s: need x, at least one curve and one point (%d curves, %d points)", path,
              ncurves, n);
  for (int c = 0; c < ncurves; c++)
    if (!y[c]) HCSC_FAIL(HCSC_EINVAL, "%s: curve %d has no values", path, c + 1);
  if (stat(path, &st) == 0 && (S_ISDIR(st.st_mode) || !force))
    HCSC_FAIL(HCSC_EEXIST, "%s: exists%s", path, S_ISDIR(st.st_mode) ? " and is a directory" : " (use --force to overwrite)");
  if (!on_path("gnuplot"))
    HCSC_FAIL(HCSC_ENOTSUP, "%s: gnuplot is not installed (not on PATH); install the Debian package "
              "gnuplot-nox to draw plots", path);
  snprintf(tmp, sizeof tmp, "%s.hcsc-tmp-%ld", path, (long)getpid());
  snprintf(errpath, sizeof errpath, "%s.hcsc-tmp-%ld.log", path, (long)getpid());
  HCSC_CHECK(make_script(&b, path, tmp, title, xlabel, ylabel, x, y, ncurves, n, labels, log_y));

  errfd = open(errpath, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (errfd < 0) {
    errpath[0] = 0;
    err = HCSC_ERR_ERRNO(path, "cannot create a temporary file beside");
    goto cleanup;
  }
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    err = HCSC_ERR_ERRNO(path, "cannot make a socket pair for gnuplot writing");
    goto cleanup;
  }
  if (posix_spawn_file_actions_init(&fa) != 0) HCSC_FAIL(HCSC_ENOMEM, "%s: posix_spawn_file_actions_init", path);
  fa_made = 1;
  /* dup2 clears close-on-exec on the copies; everything else of ours is
   * closed in gnuplot. */
  if (posix_spawn_file_actions_adddup2(&fa, sv[1], 0) || posix_spawn_file_actions_adddup2(&fa, errfd, 1) ||
      posix_spawn_file_actions_adddup2(&fa, errfd, 2))
    HCSC_FAIL(HCSC_ENOMEM, "%s: posix_spawn_file_actions_adddup2", path);
  {
    char arg0[] = "gnuplot";
    char *argv[] = {arg0, NULL};
    int e = posix_spawnp(&pid, "gnuplot", &fa, NULL, argv, environ);
    if (e != 0) {
      errno = e;
      err = HCSC_ERR_ERRNO(path, "cannot run gnuplot (Debian package gnuplot-nox) to write");
      goto cleanup;
    }
    spawned = 1;
  }
  close(sv[1]);
  sv[1] = -1;
  {
    size_t off = 0;
    while (off < b.len) {
      ssize_t w = send(sv[0], b.s + off, b.len - off, MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) break; /* gnuplot stopped reading: its status says why */
      off += (size_t)w;
    }
  }
  close(sv[0]);
  sv[0] = -1;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) {
      err = HCSC_ERR_ERRNO(path, "cannot wait for gnuplot writing");
      spawned = 0;
      goto cleanup;
    }
  spawned = 0;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    first_error(errfd, msg, sizeof msg);
    HCSC_FAIL(HCSC_EIO, "%s: gnuplot failed (%s %d): %s", path, WIFEXITED(status) ? "exit status" : "signal",
              WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), msg[0] ? msg : "no message");
  }
  if (stat(tmp, &st) != 0 || st.st_size == 0) {
    first_error(errfd, msg, sizeof msg);
    HCSC_FAIL(HCSC_EIO, "%s: gnuplot wrote no picture%s%s", path, msg[0] ? ": " : "", msg);
  }
  if (rename(tmp, path) != 0) {
    err = HCSC_ERR_ERRNO(path, "cannot rename the finished plot to");
    goto cleanup;
  }
cleanup:
  if (sv[0] >= 0) close(sv[0]);
  if (sv[1] >= 0) close(sv[1]);
  if (spawned) waitpid(pid, &status, 0);
  if (fa_made) posix_spawn_file_actions_destroy(&fa);
  if (errfd >= 0) close(errfd);
  if (errpath[0]) unlink(errpath);
  if (err < 0 && tmp[0]) unlink(tmp);
  free(b.s);
  hcsc_timer_stop(HCSC_PHASE_IO_WRITE);
  return err;
}
