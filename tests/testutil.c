/* hypercsc — test helpers: failures are counted per rank and reduced into
 * one verdict so that every rank exits with the same code. */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

#include "hypercsc.h"
#include "testutil.h"

int test_failures = 0;
static int rank_ = 0, size_ = 1;

void test_init(int *argc, char ***argv)
{
  setenv("OMPI_MCA_io", "romio321", 0); /* as the program does: see main.c */
  MPI_Init(argc, argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  hcsc_log_init(MPI_COMM_WORLD, HCSC_LOG_WARN);
}

int test_rank(void) { return rank_; }
int test_size(void) { return size_; }

void test_fail_at(const char *file, int line, const char *cond, const char *fmt, ...)
{
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  fprintf(stderr, "%s:%d: rank %d: check failed: %s: %s\n", file, line, rank_, cond, msg);
  fflush(stderr);
  test_failures++;
}

void test_fail_call(const char *file, int line, const char *expr, int rc)
{
  fprintf(stderr, "%s:%d: rank %d: %s returned %d (%s): %s\n", file, line, rank_, expr, rc,
          hcsc_errname(rc), hcsc_error_message());
  fflush(stderr);
  test_failures++;
}

int test_near(double a, double b, double tol)
{
  if (isnan(a) || isnan(b)) return isnan(a) && isnan(b);
  double s = fabs(b) > 1 ? fabs(b) : 1;
  return fabs(a - b) <= tol * s;
}

int test_finish(const char *name)
{
  int total = 0;
  MPI_Allreduce(&test_failures, &total, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (rank_ == 0) {
    if (total)
      printf("%s: FAIL (%d failed checks over %d ranks)\n", name, total, size_);
    else
      printf("%s: PASS at %d rank%s\n", name, size_, size_ > 1 ? "s" : "");
  }
  MPI_Finalize();
  return total ? 1 : 0;
}

void test_expect_error(int rc, int code, const char *what, const char *label)
{
  int lo, hi;
  MPI_Allreduce(&rc, &lo, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  MPI_Allreduce(&rc, &hi, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  TEST_ASSERT(lo == hi, "%s: ranks disagree (%d..%d)", label, lo, hi);
  if (code)
    TEST_ASSERT(rc == code, "%s: got %s, expected %s (%s)", label, hcsc_errname(rc),
                hcsc_errname(code), hcsc_error_message());
  else
    TEST_ASSERT(rc < 0, "%s: succeeded, expected an error", label);
  if (what)
    TEST_ASSERT(strstr(hcsc_error_message(), what) != NULL, "%s: message \"%s\" does not name %s",
                label, hcsc_error_message(), what);
}

int test_skip(const char *reason)
{
  if (rank_ == 0) printf("SKIP: %s\n", reason);
  MPI_Finalize();
  return TEST_SKIP;
}

const char *test_data_dir(void)
{
  static char buf[4096];
  const char *d = getenv("HCSC_DATA");
  struct stat st;
  if (!d) return NULL;
  snprintf(buf, sizeof buf, "%s/hsi", d);
  if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode)) return NULL;
  return buf;
}

const char *test_tmp_dir(void)
{
  const char *d = getenv("HCSC_TMP");
  return d && *d ? d : ".";
}

void test_box_maxdiff(const float *a, const float *ref, int64_t nchan, int64_t H, int64_t W,
                      const hcsc_box *box, double *emax, double *rmax)
{
  double m[2] = {0, 0};
  for (int64_t c = 0; c < nchan; c++)
    for (int64_t i = box->r0; i < box->r0 + box->nr; i++)
      for (int64_t j = box->c0; j < box->c0 + box->nc; j++) {
        const int64_t q = (c * H + i) * W + j;
        m[0] = fmax(m[0], fabs((double)a[q] - ref[q]));
        m[1] = fmax(m[1], fabs((double)ref[q]));
      }
  MPI_Allreduce(MPI_IN_PLACE, m, 2, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  *emax = m[0];
  *rmax = m[1];
}
