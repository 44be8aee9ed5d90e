/* hypercsc — helpers for the self-checking MPI test programs. */
#ifndef HCSC_TESTUTIL_H
#define HCSC_TESTUTIL_H
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

#include "hcsc/grid.h"

/* Exit codes of automake's parallel harness. */
#define TEST_PASS 0
#define TEST_SKIP 77
#define TEST_HARD 99

/* Each check that fails prints "file:line: rank R: message" and counts a
 * failure on this rank; test_finish() reduces the counts over all ranks. */
extern int test_failures;

#define TEST_ASSERT(cond, ...)                                            \
  do {                                                                    \
    if (!(cond)) {                                                        \
      test_fail_at(__FILE__, __LINE__, #cond, __VA_ARGS__);               \
    }                                                                     \
  } while (0)

/* Check a library call returns 0; on failure print the recorded message. */
#define TEST_OK(expr)                                                     \
  do {                                                                    \
    int test_rc_ = (expr);                                                \
    if (test_rc_ != 0) test_fail_call(__FILE__, __LINE__, #expr, test_rc_); \
  } while (0)

/* |a - b| <= tol * max(1, |b|) */
#define TEST_NEAR(a, b, tol) \
  TEST_ASSERT(test_near((double)(a), (double)(b), (tol)), "%s = %.9g, expected %.9g (tol %g)", #a, (double)(a), (double)(b), (double)(tol))

void test_init(int *argc, char ***argv);
void test_fail_at(const char *file, int line, const char *cond, const char *fmt, ...);
void test_fail_call(const char *file, int line, const char *expr, int rc);
int test_near(double a, double b, double tol);
/* Reduce failures over MPI_COMM_WORLD, print one verdict on rank 0,
 * finalize MPI and return the exit code for main(). */
int test_finish(const char *name);
/* A collective call failed as it should: rc is the same on every rank,
 * equals code (any negative code when code is 0), and the recorded message
 * contains what (unless NULL).  Collective on MPI_COMM_WORLD. */
void test_expect_error(int rc, int code, const char *what, const char *label);
/* Skip (77) on every rank, with a reason printed on rank 0. */
int test_skip(const char *reason);
/* Directory of the shared scenes (HCSC_DATA/hsi), or NULL if absent. */
const char *test_data_dir(void);
/* Scratch directory for this test (HCSC_TMP, else "."). */
const char *test_tmp_dir(void);
/* The largest |a - ref| (*emax) and |ref| (*rmax) over this rank's box
 * (its rows and columns) of nchan channels of two whole-scene arrays laid
 * out (nchan, H, W), reduced (max) over MPI_COMM_WORLD: a distributed
 * result gathered into a scene-sized array against the 1-rank one.
 * Collective on MPI_COMM_WORLD. */
void test_box_maxdiff(const float *a, const float *ref, int64_t nchan, int64_t H, int64_t W,
                      const hcsc_box *box, double *emax, double *rmax);

int test_rank(void);
int test_size(void);
#endif
