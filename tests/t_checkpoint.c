/* Checkpoints: write/read round trip of replicated and per-rank arrays
 * (uneven counts, a rank with none, special floats, several I/O rounds)
 * and scalars, bit for bit; existing file without force -> HCSC_EEXIST,
 * with force replaced; reading with another rank count, kind, a missing
 * array or scalar, another size or replicated flag -> HCSC_EFORMAT naming
 * the file and the difference, the same on every rank; bytes flipped in
 * the data section -> checksum mismatch; a file truncated to half -> a
 * "truncated" error, to a few bytes or garbage -> not a checkpoint; a
 * failed write (missing directory, the file size limit hit midway) leaves
 * no file at the final name, no temporary file, and an older checkpoint
 * intact. */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <pnetcdf.h>

#include "hypercsc.h"
#include "testutil.h"

#define NV 4
#define NS 3
static float *data[NV], *back[NV];
static hcsc_state_var vars[NV], rvars[NV];
static const char *snames[NS] = {"iter", "rho", "seed"};
static double scal[NS], sback[NS];
static char path[4200];

static float value(int v, int r, int64_t i)
{
  if (i == 1) return -0.0f;
  if (i == 2) return 1e-42f; /* denormal */
  return (float)sin(0.37 * (double)i + 1.3 * v + 0.11 * r) * (float)(1 + v);
}

static void make_state(void)
{
  const int r = test_rank();
  const int64_t count[NV] = {37, 5 + 3 * r, r % 2 ? 11 : 0, 60000 + 17 * r};
  const char *names[NV] = {"g", "u_local", "code_y_0", "code_x_0"};
  for (int v = 0; v < NV; v++) {
    data[v] = calloc((size_t)count[v] + 1, sizeof(float));
    back[v] = calloc((size_t)count[v] + 1, sizeof(float));
    for (int64_t i = 0; i < count[v]; i++) data[v][i] = value(v, v == 0 ? 0 : r, i);
    vars[v] = (hcsc_state_var){names[v], data[v], count[v], v == 0};
    rvars[v] = (hcsc_state_var){names[v], back[v], count[v], v == 0};
  }
  scal[0] = 17;
  scal[1] = 1.2345678901234567;
  scal[2] = 9007199254740993.0;
}

static int tmp_files_left(const char *dir)
{
  int n = 0;
  DIR *d = opendir(dir);
  struct dirent *e;
  while (d && (e = readdir(d)))
    if (strstr(e->d_name, "hcsc-tmp")) n++;
  if (d) closedir(d);
  return n;
}

static int read_back(const char *p, const char *kind, hcsc_state_var *rv, int nv, const char *const *sn, int ns)
{
  for (int v = 0; v < NV; v++) memset(back[v], 0xa5, sizeof(float) * (size_t)(vars[v].count + 1) - sizeof(float));
  return hcsc_ckpt_read(MPI_COMM_WORLD, p, kind, rv, nv, sn, sback, ns);
}

static void check_same(const char *label)
{
  for (int v = 0; v < NV; v++)
    TEST_ASSERT(!memcmp(data[v], back[v], sizeof(float) * (size_t)vars[v].count), "%s: array %s differs",
                label, vars[v].name);
  TEST_ASSERT(!memcmp(scal, sback, sizeof scal), "%s: scalars differ", label);
}

/* Rank 0 copies path to dst (then everyone waits). */
static void copy_file(const char *dst)
{
  if (test_rank() == 0) {
    FILE *in = fopen(path, "rb"), *out = fopen(dst, "wb");
    char buf[65536];
    size_t n;
    TEST_ASSERT(in && out, "cannot copy %s", path);
    while (in && out && (n = fread(buf, 1, sizeof buf, in)) > 0) fwrite(buf, 1, n, out);
    if (in) fclose(in);
    if (out) fclose(out);
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

/* Rank 0 flips a byte of variable name's data at element index i in file p. */
static void flip(const char *p, const char *name, int64_t i)
{
  if (test_rank() == 0) {
    int ncid, varid;
    MPI_Offset off = 0;
    TEST_ASSERT(ncmpi_open(MPI_COMM_SELF, p, NC_NOWRITE, MPI_INFO_NULL, &ncid) == NC_NOERR, "open %s", p);
    TEST_ASSERT(ncmpi_inq_varid(ncid, name, &varid) == NC_NOERR, "%s in %s", name, p);
    ncmpi_inq_varoffset(ncid, varid, &off);
    ncmpi_close(ncid);
    int fd = open(p, O_RDWR);
    unsigned char b = 0;
    TEST_ASSERT(fd >= 0 && pread(fd, &b, 1, off + 4 * i + 2) == 1, "read %s", p);
    b ^= 0x5a;
    TEST_ASSERT(pwrite(fd, &b, 1, off + 4 * i + 2) == 1, "pwrite %s", p);
    close(fd);
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

static void check_mismatches(void)
{
  char p2[4300];
  hcsc_state_var w[NV + 1];
  const char *sn2[NS + 1] = {"iter", "rho", "seed", "lambda"};
  int rc;
  /* Another kind. */
  rc = read_back(path, "train", rvars, NV, snames, NS);
  test_expect_error(rc, HCSC_EFORMAT, "kind \"cdl\", expected \"train\"", "another kind");
  test_expect_error(rc, HCSC_EFORMAT, path, "another kind names the file");
  /* A missing array, a missing scalar. */
  memcpy(w, rvars, sizeof rvars);
  w[NV] = (hcsc_state_var){"d_local", back[1], rvars[1].count, 0};
  rc = read_back(path, "cdl", w, NV + 1, snames, NS);
  test_expect_error(rc, HCSC_EFORMAT, "no array d_local", "missing array");
  rc = read_back(path, "cdl", rvars, NV, sn2, NS + 1);
  test_expect_error(rc, HCSC_EFORMAT, "no scalar lambda", "missing scalar");
  /* Another size on the last rank; another replicated size; another flag. */
  memcpy(w, rvars, sizeof rvars);
  if (test_rank() == test_size() - 1) w[1].count--;
  rc = read_back(path, "cdl", w, NV, snames, NS);
  snprintf(p2, sizeof p2, "u_local has %d elements on rank %d in the file, %d expected",
           5 + 3 * (test_size() - 1), test_size() - 1, 4 + 3 * (test_size() - 1));
  test_expect_error(rc, HCSC_EFORMAT, p2, "another per-rank size");
  memcpy(w, rvars, sizeof rvars);
  w[0].count = 36;
  rc = read_back(path, "cdl", w, NV, snames, NS);
  test_expect_error(rc, HCSC_EFORMAT, "g has 37 elements in the file, 36 expected", "another size");
  memcpy(w, rvars, sizeof rvars);
  w[1].replicated = 1;
  w[1].count = rvars[1].count; /* still valid locally */
  rc = read_back(path, "cdl", w, NV, snames, NS);
  test_expect_error(rc, HCSC_EFORMAT, "u_local is per rank in the file", "another flag");

  /* Another rank count: the world's file read by two sub-communicators. */
  if (test_size() > 1) {
    MPI_Comm sub;
    MPI_Comm_split(MPI_COMM_WORLD, test_rank() == 0, 0, &sub);
    rc = hcsc_ckpt_read(sub, path, "cdl", rvars, NV, snames, sback, NS);
    snprintf(p2, sizeof p2, "written by %d ranks, read by %d", test_size(), test_rank() == 0 ? 1 : test_size() - 1);
    TEST_ASSERT(rc == HCSC_EFORMAT && strstr(hcsc_error_message(), p2), "another rank count: %s (%s)",
                hcsc_errname(rc), hcsc_error_message());
    MPI_Comm_free(&sub);
  }
  /* ... and a file that says another rank count (its attribute edited). */
  snprintf(p2, sizeof p2, "%s/ranks.nc", test_tmp_dir());
  copy_file(p2);
  if (test_rank() == 0) {
    int ncid, n = test_size() + 1;
    TEST_ASSERT(ncmpi_open(MPI_COMM_SELF, p2, NC_WRITE, MPI_INFO_NULL, &ncid) == NC_NOERR, "open %s", p2);
    ncmpi_redef(ncid);
    TEST_ASSERT(ncmpi_put_att_int(ncid, NC_GLOBAL, "nranks", NC_INT, 1, &n) == NC_NOERR, "edit nranks");
    ncmpi_close(ncid);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  rc = read_back(p2, "cdl", rvars, NV, snames, NS);
  test_expect_error(rc, HCSC_EFORMAT, "resume at the same rank count", "another rank count (file)");
}

static void check_damage(void)
{
  char p2[4300];
  int rc;
  /* Corrupted: a byte flipped in the last rank's slice, in the replicated array. */
  snprintf(p2, sizeof p2, "%s/flip.nc", test_tmp_dir());
  copy_file(p2);
  flip(p2, "code_x_0", (int64_t)(test_size() - 1) * 60000 + 5);
  rc = read_back(p2, "cdl", rvars, NV, snames, NS);
  test_expect_error(rc, HCSC_EFORMAT, "checksum mismatch in array code_x_0", "corrupted per-rank array");
  test_expect_error(rc, HCSC_EFORMAT, "corrupted", "corrupted says so");
  copy_file(p2);
  flip(p2, "g", 36);
  rc = read_back(p2, "cdl", rvars, NV, snames, NS);
  test_expect_error(rc, HCSC_EFORMAT, "checksum mismatch in array g", "corrupted replicated array");
  /* Truncated to half, to 10 bytes; garbage. */
  copy_file(p2);
  if (test_rank() == 0) {
    FILE *f = fopen(p2, "rb");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    TEST_ASSERT(truncate(p2, n / 2) == 0, "truncate");
  }
  MPI_Barrier(MPI_COMM_WORLD);
  rc = read_back(p2, "cdl", rvars, NV, snames, NS);
  test_expect_error(rc, HCSC_EFORMAT, "truncated", "truncated to half");
  test_expect_error(rc, HCSC_EFORMAT, p2, "truncated names the file");
  if (test_rank() == 0) TEST_ASSERT(truncate(p2, 10) == 0, "truncate");
  MPI_Barrier(MPI_COMM_WORLD);
  rc = read_back(p2, "cdl", rvars, NV, snames, NS);
  test_expect_error(rc, HCSC_EFORMAT, "truncated", "truncated to 10 bytes");
  if (test_rank() == 0) {
    FILE *f = fopen(p2, "wb");
    for (int i = 0; i < 4000; i++) fputc((i * 7919) & 0xff, f);
    fclose(f);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  rc = read_back(p2, "cdl", rvars, NV, snames, NS);
  test_expect_error(rc, HCSC_EFORMAT, "not a NetCDF checkpoint", "garbage");
  snprintf(p2, sizeof p2, "%s/absent.nc", test_tmp_dir());
  rc = read_back(p2, "cdl", rvars, NV, snames, NS);
  test_expect_error(rc, HCSC_ENOENT, "absent.nc", "missing file");
}

static void check_failed_writes(void)
{
  char p2[4300];
  int rc;
  struct rlimit old, lim;
  /* Missing directory. */
  snprintf(p2, sizeof p2, "%s/no/such/dir/ck.nc", test_tmp_dir());
  rc = hcsc_ckpt_write(MPI_COMM_WORLD, p2, "cdl", vars, NV, snames, scal, NS, 1);
  test_expect_error(rc, HCSC_ENOENT, "does not exist", "missing directory");
  TEST_ASSERT(access(p2, F_OK) != 0, "%s exists after a failed write", p2);
  /* The file size limit hit in the middle of overwriting the checkpoint:
   * the older one stays, readable, and no temporary file remains. */
  signal(SIGXFSZ, SIG_IGN);
  getrlimit(RLIMIT_FSIZE, &old);
  lim = old;
  lim.rlim_cur = 65536;
  setrlimit(RLIMIT_FSIZE, &lim);
  scal[0] = 18;
  rc = hcsc_ckpt_write(MPI_COMM_WORLD, path, "cdl", vars, NV, snames, scal, NS, 1);
  setrlimit(RLIMIT_FSIZE, &old);
  scal[0] = 17;
  test_expect_error(rc, 0, path, "file size limit");
  if (test_rank() == 0) printf("file size limit: %s\n", hcsc_error_message());
  rc = read_back(path, "cdl", rvars, NV, snames, NS);
  TEST_ASSERT(rc == 0, "the older checkpoint is damaged: %s", hcsc_error_message());
  if (rc == 0) check_same("older checkpoint after a failed write");
  MPI_Barrier(MPI_COMM_WORLD);
  TEST_ASSERT(tmp_files_left(test_tmp_dir()) == 0, "temporary files left in %s", test_tmp_dir());
  /* Replicated arrays that differ between ranks, bad names. */
  if (test_size() > 1) {
    if (test_rank() == 1) data[0][3] += 1;
    rc = hcsc_ckpt_write(MPI_COMM_WORLD, path, "cdl", vars, NV, snames, scal, NS, 1);
    test_expect_error(rc, HCSC_EINVAL, "replicated array g differs between ranks", "replicated differs");
    if (test_rank() == 1) data[0][3] -= 1;
  }
  {
    hcsc_state_var w[NV];
    memcpy(w, vars, sizeof vars);
    w[2].name = "u_local";
    rc = hcsc_ckpt_write(MPI_COMM_WORLD, path, "cdl", w, NV, snames, scal, NS, 1);
    test_expect_error(rc, HCSC_EINVAL, "given twice", "duplicate name");
    w[2].name = "bad name";
    rc = hcsc_ckpt_write(MPI_COMM_WORLD, path, "cdl", w, NV, snames, scal, NS, 1);
    test_expect_error(rc, HCSC_EINVAL, "not a valid name", "bad name");
  }
}

int main(int argc, char **argv)
{
  int rc;
  test_init(&argc, &argv);
  /* Small I/O rounds, so the big array takes several. */
  setenv("HCSC_IO_CHUNK", "65536", 1);
  make_state();
  snprintf(path, sizeof path, "%s/ck.nc", test_tmp_dir());

  TEST_OK(hcsc_ckpt_write(MPI_COMM_WORLD, path, "cdl", vars, NV, snames, scal, NS, 0));
  TEST_OK(read_back(path, "cdl", rvars, NV, snames, NS));
  check_same("round trip");
  rc = hcsc_ckpt_write(MPI_COMM_WORLD, path, "cdl", vars, NV, snames, scal, NS, 0);
  test_expect_error(rc, HCSC_EEXIST, path, "existing checkpoint without force");
  scal[0] = 20;
  data[0][0] = 42;
  TEST_OK(hcsc_ckpt_write(MPI_COMM_WORLD, path, "cdl", vars, NV, snames, scal, NS, 1));
  TEST_OK(read_back(path, "cdl", rvars, NV, snames, NS));
  check_same("replaced with force");
  scal[0] = 17;
  data[0][0] = value(0, 0, 0);
  TEST_OK(hcsc_ckpt_write(MPI_COMM_WORLD, path, "cdl", vars, NV, snames, scal, NS, 1));
  /* Only some arrays asked for, no scalars: fine. */
  TEST_OK(read_back(path, "cdl", rvars + 1, 2, NULL, 0));
  MPI_Barrier(MPI_COMM_WORLD);
  TEST_ASSERT(tmp_files_left(test_tmp_dir()) == 0, "temporary files left in %s", test_tmp_dir());

  check_mismatches();
  check_damage();
  check_failed_writes();
  for (int v = 0; v < NV; v++) {
    free(data[v]);
    free(back[v]);
  }
  return test_finish("t_checkpoint");
}
