/* hypercsc — checkpoints as CDF-5 files through PnetCDF (layout and
 * checksums in hcsc/checkpoint.h).
 *
 * Every step that can fail on one rank only is followed by an agreement
 * (hcsc_error_agree) before the next collective, so no rank is left inside
 * a PnetCDF collective.  ncmpi_create/ncmpi_open are entered only after the
 * path has been checked on rank 0 and agreed; they then succeed or fail on
 * every rank together (the header is read or written by rank 0 and shared),
 * which keeps "ncid open" the same on every rank for the collective close. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pnetcdf.h>

#include "hcsc/checkpoint.h"
#include "hcsc/error.h"
#include "hcsc/scene.h"
#include "hcsc/timer.h"
#include "io/io_impl.h"

#define CK_PATH 4096
#define CK_NAME 256

static const uint64_t fnv_basis = HCSC_FNV_BASIS, fnv_prime = 0x100000001b3ULL;

/* See io_impl.h. */
uint64_t hcsc_fnv1a(uint64_t h, const void *p, size_t n)
{
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++) h = (h ^ b[i]) * fnv_prime;
  return h;
}

/* FNV-1a over 64-bit values, least significant byte first (the same on any
 * host, unlike hashing the uint64_t's memory). */
static uint64_t fnv1a_u64(uint64_t h, uint64_t v)
{
  for (int i = 0; i < 8; i++) h = (h ^ ((v >> (8 * i)) & 0xffu)) * fnv_prime;
  return h;
}

/* A PnetCDF failure: keep PnetCDF's text, the file and what was done. */
static int nc_error(int st, int code, const char *path, const char *what)
{
  if (st == NC_ENO_SPACE && code == HCSC_ENETCDF) code = HCSC_ENOSPC;
  if (st == NC_EWRITE && code == HCSC_ENETCDF)
    return HCSC_ERR(HCSC_EIO, "%s: %s: %s (disk full, quota or file size limit?)", path, what,
                    ncmpi_strerror(st));
  return HCSC_ERR(code, "%s: %s: %s", path, what, ncmpi_strerror(st));
}
#define NC_TRY(call, code, what)                                            \
  do {                                                                      \
    int nc_st_ = (call);                                                    \
    if (nc_st_ != NC_NOERR) {                                               \
      err = nc_error(nc_st_, (code), path, (what));                         \
      goto cleanup;                                                         \
    }                                                                       \
  } while (0)

static int name_ok(const char *s)
{
  if (!s || !s[0] || strlen(s) >= CK_NAME - 16 || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
    return 0;
  for (const char *c = s; *c; c++)
    if (!isalnum((unsigned char)*c) && *c != '_') return 0;
  return strcmp(s, "rank") != 0;
}

/* Arguments a rank can check alone (names, counts, duplicates). */
static int check_args(const char *path, const char *kind, const hcsc_state_var *vars, int nvars,
                      const char *const *snames, const void *scalars, int nscalars)
{
  if (!path || !path[0] || strlen(path) >= CK_PATH - 64)
    return HCSC_ERR(HCSC_EINVAL, "checkpoint: no path or a path too long");
  if (!kind || !name_ok(kind))
    return HCSC_ERR(HCSC_EINVAL, "%s: checkpoint kind \"%s\" is not a name", path, kind ? kind : "");
  if (nvars < 0 || nscalars < 0 || (nvars && !vars) || (nscalars && (!snames || !scalars)))
    return HCSC_ERR(HCSC_EINVAL, "%s: %d arrays and %d scalars with missing lists", path, nvars, nscalars);
  for (int v = 0; v < nvars; v++) {
    if (!name_ok(vars[v].name))
      return HCSC_ERR(HCSC_EINVAL, "%s: array %d: \"%s\" is not a valid name (letters, digits, _)",
                      path, v, vars[v].name ? vars[v].name : "");
    if (vars[v].count < 0 || (vars[v].count > 0 && !vars[v].data))
      return HCSC_ERR(HCSC_EINVAL, "%s: array %s: count %lld without data", path, vars[v].name,
                      (long long)vars[v].count);
    for (int w = 0; w < v; w++)
      if (!strcmp(vars[w].name, vars[v].name))
        return HCSC_ERR(HCSC_EINVAL, "%s: array name %s given twice", path, vars[v].name);
  }
  for (int s = 0; s < nscalars; s++) {
    if (!name_ok(snames[s]))
      return HCSC_ERR(HCSC_EINVAL, "%s: scalar %d: \"%s\" is not a valid name", path, s,
                      snames[s] ? snames[s] : "");
    for (int w = 0; w < s; w++)
      if (!strcmp(snames[w], snames[s]))
        return HCSC_ERR(HCSC_EINVAL, "%s: scalar name %s given twice", path, snames[s]);
  }
  return 0;
}

/* Per-variable checksums (see checkpoint.h) and, in *same, whether every
 * rank has the same replicated data and the same descriptor hash desc (the
 * first differing array's index, or -1 when all agree; nvars for desc).
 * One Allgather of nvars + 1 hashes.  Collective on comm. */
static int checksums(MPI_Comm comm, const hcsc_state_var *vars, int nvars, uint64_t desc,
                     uint64_t *sum, int *differs)
{
  int err = 0, size;
  uint64_t *mine = NULL, *all = NULL;
  MPI_Comm_size(comm, &size);
  *differs = -1;
  HCSC_CALLOC(mine, nvars + 1);
  HCSC_CALLOC(all, (size_t)size * (nvars + 1));
  hcsc_timer_start(HCSC_PHASE_COMPUTE);
  for (int v = 0; v < nvars; v++)
    mine[v] = hcsc_fnv1a(fnv_basis, vars[v].data, (size_t)vars[v].count * sizeof(float));
  mine[nvars] = desc;
  hcsc_timer_stop(HCSC_PHASE_COMPUTE);
  hcsc_timer_start(HCSC_PHASE_REDUCE);
  err = MPI_Allgather(mine, nvars + 1, MPI_UINT64_T, all, nvars + 1, MPI_UINT64_T, comm);
  hcsc_timer_stop(HCSC_PHASE_REDUCE);
  if (err != MPI_SUCCESS) {
    err = hcsc_error_mpi(err, __FILE__, __LINE__, "MPI_Allgather");
    goto cleanup;
  }
  for (int r = 0; r < size && *differs < 0; r++)
    if (all[(size_t)r * (nvars + 1) + nvars] != desc) *differs = nvars;
  for (int v = 0; v < nvars; v++) {
    uint64_t h = fnv_basis;
    for (int r = 0; r < size; r++) {
      uint64_t x = all[(size_t)r * (nvars + 1) + v];
      if (vars[v].replicated && x != mine[v] && *differs < 0) *differs = v;
      h = fnv1a_u64(h, x);
    }
    sum[v] = vars[v].replicated ? mine[v] : h;
  }
cleanup:
  free(mine);
  free(all);
  return err;
}

/* One float slice to move between memory and the file. */
typedef struct {
  int varid;
  int64_t start, count;
  float *p;
} ck_piece;

/* Move the pieces with nonblocking PnetCDF calls in rounds of at most
 * hcsc_io_chunk_bytes() per rank (bounding the byte-swap buffers), one
 * ncmpi_wait_all per round, the same number of rounds on every rank.
 * Collective on comm; returns an agreed code. */
static int transfer(MPI_Comm comm, int ncid, const char *path, ck_piece *pc, int npc, int writing)
{
  int err = 0, *req = NULL, *st = NULL, k = 0;
  int64_t chunk = hcsc_io_chunk_bytes() / (int64_t)sizeof(float), mine = 0, rounds = 0, done = 0;
  if (chunk < 1) chunk = 1;
  if (chunk > INT_MAX / 4) chunk = INT_MAX / 4;
  for (int i = 0; i < npc; i++) mine += (pc[i].count + chunk - 1) / chunk;
  /* A round takes at most one chunk of each piece: as many requests as pieces. */
  HCSC_CALLOC(req, npc);
  HCSC_CALLOC(st, npc);
  HCSC_MPI(MPI_Allreduce(&mine, &rounds, 1, MPI_INT64_T, MPI_MAX, comm));
  hcsc_timer_start(writing ? HCSC_PHASE_IO_WRITE : HCSC_PHASE_IO_READ);
  for (int64_t r = 0; r < rounds; r++) {
    int nreq = 0;
    /* Pieces one after another: piece k from element done. */
    int64_t budget = chunk;
    while (!err && k < npc && budget > 0) {
      int64_t n = pc[k].count - done < budget ? pc[k].count - done : budget;
      MPI_Offset s = (MPI_Offset)(pc[k].start + done), c = (MPI_Offset)n;
      int e = n == 0 ? NC_NOERR
                     : writing ? ncmpi_iput_vara_float(ncid, pc[k].varid, &s, &c, pc[k].p + done, &req[nreq])
                               : ncmpi_iget_vara_float(ncid, pc[k].varid, &s, &c, pc[k].p + done, &req[nreq]);
      if (e != NC_NOERR) err = nc_error(e, HCSC_ENETCDF, path, writing ? "posting a write" : "posting a read");
      else if (n > 0) nreq++;
      done += n;
      budget -= n;
      if (done == pc[k].count) {
        k++;
        done = 0;
      }
    }
    int e = ncmpi_wait_all(ncid, nreq, req, st);
    if (!err && e != NC_NOERR) err = nc_error(e, HCSC_ENETCDF, path, writing ? "writing" : "reading");
    for (int i = 0; i < nreq && !err; i++)
      if (st[i] != NC_NOERR) err = nc_error(st[i], HCSC_ENETCDF, path, writing ? "writing" : "reading");
    if (writing && !err) hcsc_timer_add_bytes(HCSC_PHASE_IO_WRITE, 4.0 * (double)(chunk - budget));
    err = hcsc_error_agree(comm, err);
    if (err) break;
  }
  hcsc_timer_stop(writing ? HCSC_PHASE_IO_WRITE : HCSC_PHASE_IO_READ);
cleanup:
  free(req);
  free(st);
  return hcsc_error_agree(comm, err);
}

/* Hash of what must be the same on every rank: kind, names, flags, the
 * counts of replicated arrays, scalar names and values. */
static uint64_t descriptor(const char *kind, const hcsc_state_var *vars, int nvars,
                           const char *const *snames, const double *scalars, int nscalars)
{
  uint64_t h = hcsc_fnv1a(fnv_basis, kind, strlen(kind) + 1);
  h = fnv1a_u64(h, (uint64_t)nvars);
  for (int v = 0; v < nvars; v++) {
    h = hcsc_fnv1a(h, vars[v].name, strlen(vars[v].name) + 1);
    h = fnv1a_u64(h, (uint64_t)(vars[v].replicated ? 1 : 0));
    if (vars[v].replicated) h = fnv1a_u64(h, (uint64_t)vars[v].count);
  }
  h = fnv1a_u64(h, (uint64_t)nscalars);
  for (int s = 0; s < nscalars; s++) {
    h = hcsc_fnv1a(h, snames[s], strlen(snames[s]) + 1);
    if (scalars) h = hcsc_fnv1a(h, &scalars[s], sizeof(double));
  }
  return h;
}

static int put_text(int ncid, int varid, const char *name, const char *text)
{
  return ncmpi_put_att_text(ncid, varid, name, (MPI_Offset)strlen(text), text);
}

/* Define every dimension, variable and attribute; identical calls on every
 * rank.  ids: nvars array ids, nvars count-variable ids, nscalars scalar ids. */
static int define(int ncid, const char *path, const char *kind, int size, const hcsc_state_var *vars,
                  int nvars, const int64_t *total, const uint64_t *sum, const char *const *snames,
                  const uint64_t *ssum, int nscalars, int *ids)
{
  int err = 0, rankdim, dim, one = 1, zero = 0, version = HCSC_CKPT_VERSION;
  char name[CK_NAME];
  NC_TRY(put_text(ncid, NC_GLOBAL, "Conventions", "CF-1.8"), HCSC_ENETCDF, "writing attributes");
  NC_TRY(put_text(ncid, NC_GLOBAL, "title", "hypercsc checkpoint"), HCSC_ENETCDF, "writing attributes");
  NC_TRY(put_text(ncid, NC_GLOBAL, "hypercsc_version", PACKAGE_VERSION), HCSC_ENETCDF, "writing attributes");
  NC_TRY(put_text(ncid, NC_GLOBAL, "checkpoint_kind", kind), HCSC_ENETCDF, "writing attributes");
  NC_TRY(ncmpi_put_att_int(ncid, NC_GLOBAL, "checkpoint_version", NC_INT, 1, &version), HCSC_ENETCDF,
         "writing attributes");
  NC_TRY(ncmpi_put_att_int(ncid, NC_GLOBAL, "nranks", NC_INT, 1, &size), HCSC_ENETCDF, "writing attributes");
  NC_TRY(ncmpi_def_dim(ncid, "rank", size, &rankdim), HCSC_ENETCDF, "defining dimension rank");
  for (int v = 0; v < nvars; v++) {
    long long cnt = (long long)total[v];
    unsigned long long cs = (unsigned long long)sum[v];
    snprintf(name, sizeof name, "%s_len", vars[v].name);
    NC_TRY(ncmpi_def_dim(ncid, name, total[v] > 0 ? total[v] : 1, &dim), HCSC_ENETCDF, vars[v].name);
    NC_TRY(ncmpi_def_var(ncid, vars[v].name, NC_FLOAT, 1, &dim, &ids[v]), HCSC_ENETCDF, vars[v].name);
    NC_TRY(ncmpi_put_att_int(ncid, ids[v], "replicated", NC_INT, 1, vars[v].replicated ? &one : &zero),
           HCSC_ENETCDF, vars[v].name);
    NC_TRY(ncmpi_put_att_longlong(ncid, ids[v], "count", NC_INT64, 1, &cnt), HCSC_ENETCDF, vars[v].name);
    NC_TRY(ncmpi_put_att_ulonglong(ncid, ids[v], "checksum_fnv1a64", NC_UINT64, 1, &cs), HCSC_ENETCDF,
           vars[v].name);
    ids[nvars + v] = -1;
    if (!vars[v].replicated) {
      snprintf(name, sizeof name, "%s_rank_count", vars[v].name);
      NC_TRY(ncmpi_def_var(ncid, name, NC_INT64, 1, &rankdim, &ids[nvars + v]), HCSC_ENETCDF, name);
    }
  }
  for (int s = 0; s < nscalars; s++) {
    unsigned long long cs = (unsigned long long)ssum[s];
    snprintf(name, sizeof name, "scalar_%s", snames[s]);
    NC_TRY(ncmpi_def_var(ncid, name, NC_DOUBLE, 0, NULL, &ids[2 * nvars + s]), HCSC_ENETCDF, name);
    NC_TRY(ncmpi_put_att_ulonglong(ncid, ids[2 * nvars + s], "checksum_fnv1a64", NC_UINT64, 1, &cs),
           HCSC_ENETCDF, name);
  }
cleanup:
  return err;
}

/* Flush a file to stable storage (best effort where a file system cannot
 * fsync, e.g. a directory on some). */
static int sync_path(const char *p)
{
  int fd = open(p, O_RDONLY);
  if (fd < 0) return HCSC_ERR_ERRNO(p, "cannot open to flush");
  int rc = fsync(fd), e = errno;
  close(fd);
  if (rc != 0 && e != EINVAL && e != EROFS) {
    errno = e;
    return HCSC_ERR_ERRNO(p, "cannot flush to disk");
  }
  return 0;
}

/* See checkpoint.h.  Collective on comm. */
int hcsc_ckpt_write(MPI_Comm comm, const char *path, const char *kind, const hcsc_state_var *vars,
                    int nvars, const char *const *scalar_names, const double *scalars, int nscalars,
                    int force)
{
  int err = 0, rank, size, ncid = -1, made = 0, differs = -1, npc = 0;
  char tmp[2 * CK_PATH + 32], dir[CK_PATH], mpath[2 * CK_PATH + 64];
  int64_t *cnt = NULL, *total = NULL;
  uint64_t *sum = NULL, *ssum = NULL;
  int *ids = NULL;
  ck_piece *pc = NULL;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  tmp[0] = 0;
  err = check_args(path, kind, vars, nvars, scalar_names, scalars, nscalars);
  if (!err) {
    cnt = calloc((size_t)size * nvars + 1, sizeof *cnt);
    total = calloc((size_t)nvars + 1, sizeof *total);
    sum = calloc((size_t)nvars + 1, sizeof *sum);
    ssum = calloc((size_t)nscalars + 1, sizeof *ssum);
    ids = calloc((size_t)(2 * nvars + nscalars) + 1, sizeof *ids);
    pc = calloc((size_t)nvars + 1, sizeof *pc);
    if (!cnt || !total || !sum || !ssum || !ids || !pc)
      err = HCSC_ERR(HCSC_ENOMEM, "%s: out of memory for the checkpoint layout", path);
  }
  HCSC_CHECK(hcsc_error_agree(comm, err));

  {
    int64_t *mine = calloc((size_t)nvars + 1, sizeof *mine);
    if (!mine) err = HCSC_ERR(HCSC_ENOMEM, "%s: out of memory", path);
    HCSC_CHECK(hcsc_error_agree(comm, err));
    for (int v = 0; v < nvars; v++) mine[v] = vars[v].count;
    err = MPI_Allgather(mine, nvars, MPI_INT64_T, cnt, nvars, MPI_INT64_T, comm);
    free(mine);
    if (err != MPI_SUCCESS) err = hcsc_error_mpi(err, __FILE__, __LINE__, "MPI_Allgather");
    HCSC_CHECK(hcsc_error_agree(comm, err));
  }
  HCSC_CHECK(checksums(comm, vars, nvars, descriptor(kind, vars, nvars, scalar_names, scalars, nscalars),
                       sum, &differs));
  if (differs == nvars)
    HCSC_FAIL(HCSC_EINVAL, "%s: the ranks pass different checkpoint contents (kind, array names or "
              "flags, replicated sizes, scalar names or values)", path);
  if (differs >= 0)
    HCSC_FAIL(HCSC_EINVAL, "%s: replicated array %s differs between ranks", path, vars[differs].name);
  for (int s = 0; s < nscalars; s++) ssum[s] = hcsc_fnv1a(fnv_basis, &scalars[s], sizeof(double));
  for (int v = 0; v < nvars; v++) {
    int64_t before = 0;
    for (int r = 0; r < size; r++) {
      if (r == rank) before = total[v];
      total[v] += cnt[(size_t)r * nvars + v];
    }
    if (vars[v].replicated) {
      total[v] = vars[v].count;
      before = 0;
    }
    if (!vars[v].replicated || rank == 0)
      pc[npc++] = (ck_piece){0, before, vars[v].count, vars[v].data};
  }

  HCSC_CHECK(hcsc_output_check(comm, path, force));
  if (rank == 0) {
    /* Beside the target, so the final rename stays on one file system; dir
     * is synced after the rename. */
    const char *slash = strrchr(path, '/');
    if (slash) snprintf(dir, sizeof dir, "%.*s", (int)(slash - path) + (slash == path), path);
    else snprintf(dir, sizeof dir, ".");
    err = hcsc_io_temp_file(path, tmp, sizeof tmp);
    made = !err;
  }
  HCSC_CHECK(hcsc_error_agree(comm, err));
  HCSC_MPI(MPI_Bcast(tmp, (int)sizeof tmp, MPI_CHAR, 0, comm));

  hcsc_timer_start(HCSC_PHASE_IO_WRITE);
  err = ncmpi_create(comm, hcsc_io_mpi_path(tmp, mpath, sizeof mpath), NC_CLOBBER | NC_64BIT_DATA,
                     MPI_INFO_NULL, &ncid);
  hcsc_timer_stop(HCSC_PHASE_IO_WRITE);
  if (err != NC_NOERR) {
    ncid = -1;
    err = nc_error(err, HCSC_ENETCDF, path, "cannot create the checkpoint");
  }
  HCSC_CHECK(hcsc_error_agree(comm, err));
  err = define(ncid, path, kind, size, vars, nvars, total, sum, scalar_names, ssum, nscalars, ids);
  HCSC_CHECK(hcsc_error_agree(comm, err));
  {
    int e = ncmpi_enddef(ncid);
    if (e != NC_NOERR) err = nc_error(e, HCSC_ENETCDF, path, "ending define mode");
  }
  HCSC_CHECK(hcsc_error_agree(comm, err));
  for (int v = 0, i = 0; v < nvars; v++)
    if (!vars[v].replicated || rank == 0) pc[i++].varid = ids[v];
  HCSC_CHECK(transfer(comm, ncid, path, pc, npc, 1));
  {
    /* Small: counts (each rank its own entry) and scalars (rank 0). */
    int *req = calloc((size_t)(nvars + nscalars) + 1, sizeof *req), *st = NULL, nreq = 0, e;
    st = calloc((size_t)(nvars + nscalars) + 1, sizeof *st);
    if (!req || !st) err = HCSC_ERR(HCSC_ENOMEM, "%s: out of memory", path);
    for (int v = 0; v < nvars && !err; v++)
      if (!vars[v].replicated) {
        MPI_Offset s = rank, c = 1;
        long long n = (long long)vars[v].count;
        if ((e = ncmpi_iput_vara_longlong(ncid, ids[nvars + v], &s, &c, &n, &req[nreq])) != NC_NOERR)
          err = nc_error(e, HCSC_ENETCDF, path, "writing counts");
        else nreq++;
      }
    for (int s = 0; s < nscalars && rank == 0 && !err; s++) {
      if ((e = ncmpi_iput_var_double(ncid, ids[2 * nvars + s], &scalars[s], &req[nreq])) != NC_NOERR)
        err = nc_error(e, HCSC_ENETCDF, path, "writing scalars");
      else nreq++;
    }
    /* Every rank waits, even one that failed to post: wait_all is collective. */
    e = ncmpi_wait_all(ncid, req && st ? nreq : 0, req, st);
    if (!err && e != NC_NOERR) err = nc_error(e, HCSC_ENETCDF, path, "writing counts and scalars");
    for (int i = 0; i < nreq && !err; i++)
      if (st[i] != NC_NOERR) err = nc_error(st[i], HCSC_ENETCDF, path, "writing counts and scalars");
    free(req);
    free(st);
  }
  HCSC_CHECK(hcsc_error_agree(comm, err));
  hcsc_timer_start(HCSC_PHASE_IO_WRITE);
  err = ncmpi_close(ncid);
  ncid = -1;
  if (err != NC_NOERR) err = nc_error(err, HCSC_ENETCDF, path, "closing the checkpoint");
  /* On disk before the rename: after a crash the name must never point at
   * an incomplete file; then the directory entry itself. */
  if (!err && rank == 0) err = sync_path(tmp);
  if (!err && rank == 0 && rename(tmp, path) != 0)
    err = HCSC_ERR_ERRNO(path, "cannot rename the finished checkpoint to");
  if (!err && rank == 0) {
    made = 0;
    err = sync_path(dir);
  }
  hcsc_timer_stop(HCSC_PHASE_IO_WRITE);
cleanup:
  if (ncid >= 0) ncmpi_close(ncid);
  if (rank == 0 && made) unlink(tmp);
  free(cnt);
  free(total);
  free(sum);
  free(ssum);
  free(ids);
  free(pc);
  return hcsc_error_agree(comm, err);
}

/* Checks of the header, each rank the same (deterministic on the shared
 * header).  ids as in define; fsize: the file's length in bytes. */
static int check_header(int ncid, const char *path, const char *kind, int size, const hcsc_state_var *vars,
                        int nvars, const char *const *snames, int nscalars, long long fsize, int *ids,
                        uint64_t *sum, int64_t *total)
{
  int err = 0, ival, nr;
  nc_type type;
  MPI_Offset len;
  char text[CK_NAME], name[CK_NAME];
  /* PnetCDF opens a file cut inside its header (it reads zeros past the
   * end): compare the length with the header's size first. */
  NC_TRY(ncmpi_inq_header_size(ncid, &len), HCSC_EFORMAT, "reading the header size");
  if (fsize < (long long)len)
    HCSC_FAIL(HCSC_EFORMAT, "%s: truncated (%lld bytes, the header alone takes %lld)", path, fsize,
              (long long)len);
  /* PnetCDF takes any file with a valid header; a foreign file is caught
   * by the attributes. */
  if (ncmpi_inq_att(ncid, NC_GLOBAL, "checkpoint_kind", &type, &len) != NC_NOERR || type != NC_CHAR ||
      len >= (MPI_Offset)sizeof text)
    HCSC_FAIL(HCSC_EFORMAT, "%s: not a hypercsc checkpoint (no checkpoint_kind attribute)", path);
  NC_TRY(ncmpi_get_att_text(ncid, NC_GLOBAL, "checkpoint_kind", text), HCSC_EFORMAT, "checkpoint_kind");
  text[len] = 0;
  if (strcmp(text, kind))
    HCSC_FAIL(HCSC_EFORMAT, "%s: a checkpoint of kind \"%s\", expected \"%s\"", path, text, kind);
  NC_TRY(ncmpi_get_att_int(ncid, NC_GLOBAL, "checkpoint_version", &ival), HCSC_EFORMAT,
         "attribute checkpoint_version");
  if (ival < 1 || ival > HCSC_CKPT_VERSION)
    HCSC_FAIL(HCSC_EFORMAT, "%s: checkpoint format version %d, this build reads up to %d", path, ival,
              HCSC_CKPT_VERSION);
  NC_TRY(ncmpi_get_att_int(ncid, NC_GLOBAL, "nranks", &nr), HCSC_EFORMAT, "attribute nranks");
  if (nr != size)
    HCSC_FAIL(HCSC_EFORMAT, "%s: written by %d ranks, read by %d: resume at the same rank count", path,
              nr, size);
  for (int v = 0; v < nvars + nscalars; v++) {
    const int is_s = v >= nvars;
    const char *nm = is_s ? snames[v - nvars] : vars[v].name;
    int varid, ndims, rep = 0;
    long long cnt = 1;
    unsigned long long cs;
    MPI_Offset off;
    snprintf(name, sizeof name, is_s ? "scalar_%s" : "%s", nm);
    if (ncmpi_inq_varid(ncid, name, &varid) != NC_NOERR)
      HCSC_FAIL(HCSC_EFORMAT, "%s: no %s %s in the checkpoint", path, is_s ? "scalar" : "array", nm);
    NC_TRY(ncmpi_inq_var(ncid, varid, NULL, &type, &ndims, NULL, NULL), HCSC_EFORMAT, name);
    if (type != (is_s ? NC_DOUBLE : NC_FLOAT) || ndims != (is_s ? 0 : 1))
      HCSC_FAIL(HCSC_EFORMAT, "%s: %s is not a %s", path, name, is_s ? "double scalar" : "1-D float array");
    NC_TRY(ncmpi_get_att_ulonglong(ncid, varid, "checksum_fnv1a64", &cs), HCSC_EFORMAT, name);
    if (!is_s) {
      NC_TRY(ncmpi_get_att_int(ncid, varid, "replicated", &rep), HCSC_EFORMAT, name);
      NC_TRY(ncmpi_get_att_longlong(ncid, varid, "count", &cnt), HCSC_EFORMAT, name);
      if (!rep != !vars[v].replicated)
        HCSC_FAIL(HCSC_EFORMAT, "%s: array %s is %s in the file, %s here", path, nm,
                  rep ? "replicated" : "per rank", rep ? "per rank" : "replicated");
      if (rep && cnt != vars[v].count)
        HCSC_FAIL(HCSC_EFORMAT, "%s: array %s has %lld elements in the file, %lld expected", path, nm,
                  cnt, (long long)vars[v].count);
      ids[nvars + v] = -1;
      if (!rep) {
        snprintf(name, sizeof name, "%s_rank_count", nm);
        if (ncmpi_inq_varid(ncid, name, &ids[nvars + v]) != NC_NOERR)
          HCSC_FAIL(HCSC_EFORMAT, "%s: no %s in the checkpoint", path, name);
      }
      total[v] = cnt;
    }
    ids[is_s ? nvars + v : v] = varid;
    sum[v] = (uint64_t)cs;
    /* PnetCDF reads past the end of a file as fill values: check the
     * length against the layout. */
    NC_TRY(ncmpi_inq_varoffset(ncid, varid, &off), HCSC_EFORMAT, name);
    if ((long long)off + (long long)(is_s ? 8 : 4) * cnt > fsize)
      HCSC_FAIL(HCSC_EFORMAT, "%s: truncated (%lld bytes; %s ends at byte %lld)", path, fsize, nm,
                (long long)off + (long long)(is_s ? 8 : 4) * cnt);
  }
cleanup:
  return err;
}

/* See checkpoint.h.  Collective on comm. */
int hcsc_ckpt_read(MPI_Comm comm, const char *path, const char *kind, const hcsc_state_var *vars,
                   int nvars, const char *const *scalar_names, double *scalars, int nscalars)
{
  int err = 0, rank, size, ncid = -1, npc = 0, differs = -1;
  long long fsize = 0;
  char mpath[CK_PATH + 16];
  int *ids = NULL;
  uint64_t *sum = NULL, *got = NULL;
  int64_t *total = NULL;
  long long *cnt = NULL;
  ck_piece *pc = NULL;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  err = check_args(path, kind, vars, nvars, scalar_names, scalars, nscalars);
  if (!err) {
    ids = calloc((size_t)(2 * nvars + nscalars) + 1, sizeof *ids);
    sum = calloc((size_t)(nvars + nscalars) + 1, sizeof *sum);
    got = calloc((size_t)nvars + 1, sizeof *got);
    total = calloc((size_t)nvars + 1, sizeof *total);
    cnt = calloc((size_t)size + 1, sizeof *cnt);
    pc = calloc((size_t)nvars + 1, sizeof *pc);
    if (!ids || !sum || !got || !total || !cnt || !pc)
      err = HCSC_ERR(HCSC_ENOMEM, "%s: out of memory for the checkpoint layout", path);
  }
  if (!err && rank == 0) {
    struct stat st;
    if (stat(path, &st) != 0) err = HCSC_ERR_ERRNO(path, "cannot open checkpoint");
    else if (!S_ISREG(st.st_mode)) err = HCSC_ERR(HCSC_EFORMAT, "%s: not a regular file", path);
    else fsize = (long long)st.st_size;
  }
  HCSC_CHECK(hcsc_error_agree(comm, err));
  HCSC_MPI(MPI_Bcast(&fsize, 1, MPI_LONG_LONG, 0, comm));

  hcsc_timer_start(HCSC_PHASE_IO_READ);
  err = ncmpi_open(comm, hcsc_io_mpi_path(path, mpath, sizeof mpath), NC_NOWRITE, MPI_INFO_NULL, &ncid);
  hcsc_timer_stop(HCSC_PHASE_IO_READ);
  if (err != NC_NOERR) {
    ncid = -1;
    err = err == NC_EACCESS || err == NC_EPERM
              ? HCSC_ERR(HCSC_EACCES, "%s: cannot open checkpoint: %s", path, ncmpi_strerror(err))
              : HCSC_ERR(HCSC_EFORMAT, "%s: not a NetCDF checkpoint, or its header is truncated or "
                         "corrupted (%s)", path, ncmpi_strerror(err));
  }
  HCSC_CHECK(hcsc_error_agree(comm, err));
  err = check_header(ncid, path, kind, size, vars, nvars, scalar_names, nscalars, fsize, ids, sum, total);
  HCSC_CHECK(hcsc_error_agree(comm, err));

  for (int v = 0; v < nvars; v++) {
    int64_t before = 0, all = 0;
    if (vars[v].replicated) {
      pc[npc++] = (ck_piece){ids[v], 0, vars[v].count, vars[v].data};
      continue;
    }
    {
      int e;
      hcsc_timer_start(HCSC_PHASE_IO_READ);
      e = ncmpi_get_var_longlong_all(ncid, ids[nvars + v], cnt);
      hcsc_timer_stop(HCSC_PHASE_IO_READ);
      if (e != NC_NOERR) err = nc_error(e, HCSC_EFORMAT, path, "reading the counts per rank");
    }
    HCSC_CHECK(hcsc_error_agree(comm, err));
    for (int r = 0; r < size; r++) {
      if (cnt[r] < 0) HCSC_FAIL(HCSC_EFORMAT, "%s: array %s: negative count on rank %d", path, vars[v].name, r);
      if (r == rank) before = all;
      all += cnt[r];
    }
    if (all != total[v])
      HCSC_FAIL(HCSC_EFORMAT, "%s: array %s: the counts per rank sum to %lld, the file holds %lld", path,
                vars[v].name, (long long)all, (long long)total[v]);
    if (cnt[rank] != vars[v].count)
      err = HCSC_ERR(HCSC_EFORMAT, "%s: array %s has %lld elements on rank %d in the file, %lld expected",
                     path, vars[v].name, cnt[rank], rank, (long long)vars[v].count);
    HCSC_CHECK(hcsc_error_agree(comm, err));
    pc[npc++] = (ck_piece){ids[v], before, vars[v].count, vars[v].data};
  }
  HCSC_CHECK(transfer(comm, ncid, path, pc, npc, 0));
  for (int s = 0; s < nscalars && !err; s++) {
    int e = ncmpi_get_var_double_all(ncid, ids[2 * nvars + s], &scalars[s]);
    if (e != NC_NOERR) err = nc_error(e, HCSC_EFORMAT, path, scalar_names[s]);
  }
  HCSC_CHECK(hcsc_error_agree(comm, err));
  HCSC_CHECK(checksums(comm, vars, nvars, 0, got, &differs));
  for (int v = 0; v < nvars + nscalars; v++) {
    uint64_t h = v < nvars ? got[v] : hcsc_fnv1a(fnv_basis, &scalars[v - nvars], sizeof(double));
    if (h != sum[v])
      HCSC_FAIL(HCSC_EFORMAT, "%s: checksum mismatch in %s %s: the checkpoint is corrupted", path,
                v < nvars ? "array" : "scalar", v < nvars ? vars[v].name : scalar_names[v - nvars]);
  }
cleanup:
  if (ncid >= 0) ncmpi_close(ncid);
  free(ids);
  free(sum);
  free(got);
  free(total);
  free(cnt);
  free(pc);
  return hcsc_error_agree(comm, err);
}
