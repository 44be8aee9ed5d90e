/* hypercsc — scene open/read dispatch, output checks and the safe write
 * protocol (temporary directory, agreement, rename). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cpl_string.h>
#include <gdal.h>

#include "hcsc/error.h"
#include "hcsc/timer.h"
#include "io/io_impl.h"

struct hcsc_scene {
  MPI_Comm comm;
  char *path;
  hcsc_meta meta;
  int netcdf;
  int bsq;        /* ENVI band-sequential: read with MPI-IO */
  hcsc_raw raw;   /* its layout */
};

#define PATH_BUF 4096

/* ---- formats ------------------------------------------------------------ */

int hcsc_format_parse(const char *name, hcsc_format *f)
{
  if (!name) return HCSC_ERR(HCSC_EINVAL, "no output format given");
  if (!strcasecmp(name, "GTiff") || !strcasecmp(name, "tif") || !strcasecmp(name, "tiff") ||
      !strcasecmp(name, "GeoTIFF"))
    *f = HCSC_FMT_GTIFF;
  else if (!strcasecmp(name, "ENVI"))
    *f = HCSC_FMT_ENVI;
  else if (!strcasecmp(name, "netCDF") || !strcasecmp(name, "nc"))
    *f = HCSC_FMT_NETCDF;
  else if (!strcasecmp(name, "auto"))
    *f = HCSC_FMT_AUTO;
  else
    return HCSC_ERR(HCSC_EINVAL, "unknown format \"%s\" (use GTiff, ENVI or netCDF)", name);
  return 0;
}

static const char *extension(const char *path)
{
  const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
  return (dot && (!slash || dot > slash)) ? dot + 1 : "";
}

hcsc_format hcsc_format_from_path(const char *path)
{
  const char *e = extension(path);
  if (!strcasecmp(e, "tif") || !strcasecmp(e, "tiff")) return HCSC_FMT_GTIFF;
  if (!strcasecmp(e, "nc") || !strcasecmp(e, "nc4")) return HCSC_FMT_NETCDF;
  return HCSC_FMT_ENVI;
}

const char *hcsc_format_name(hcsc_format f)
{
  switch (f) {
  case HCSC_FMT_GTIFF: return "GTiff";
  case HCSC_FMT_ENVI: return "ENVI";
  case HCSC_FMT_NETCDF: return "netCDF";
  default: return "auto";
  }
}

int64_t hcsc_io_sel_band(const hcsc_selection *sel, int64_t b)
{
  return (sel && sel->bands) ? sel->bands[b] : b;
}

/* ---- open --------------------------------------------------------------- */

/* ENVI: the raw file must hold what the header promises (GDAL would read
 * zeros or fail late otherwise). */
static int check_envi_size(GDALDatasetH ds, const char *path, const hcsc_meta *m)
{
  int err = 0;
  char **files = GDALGetFileList(ds);
  const char *raw = files && files[0] ? files[0] : path;
  const char *ho = GDALGetMetadataItem(ds, "header_offset", "ENVI");
  int64_t want = (ho ? atoll(ho) : 0) +
                 m->bands * m->rows * m->cols * (int64_t)hcsc_dtype_size(m->dtype);
  struct stat st;
  if (stat(raw, &st) != 0) {
    err = HCSC_ERR_ERRNO(raw, "ENVI raw file");
    goto cleanup;
  }
  if ((int64_t)st.st_size < want)
    HCSC_FAIL(HCSC_EFORMAT, "%s: ENVI header promises %lld bytes, file has %lld", raw,
              (long long)want, (long long)st.st_size);
cleanup:
  CSLDestroy(files);
  return err;
}

/* An ENVI scene is often named by its header: "x.hdr" stands for the data
 * file beside it ("x", "x.bsq", "x.img", "x.dat", "x.raw", "x.bil",
 * "x.bip").  Returns a malloc'ed path: the data file when the header has
 * one, else a copy of path (the open then fails with GDAL's message). */
static char *resolve_envi_header(const char *path)
{
  static const char *ext[] = {"", ".bsq", ".img", ".dat", ".raw", ".bil", ".bip",
                              ".BSQ", ".IMG", ".DAT", ".RAW", ".BIL", ".BIP"};
  size_t n = strlen(path);
  if (n > 4 && strcasecmp(path + n - 4, ".hdr") == 0) {
    char *cand = malloc(n + 8);
    if (!cand) return NULL;
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
      struct stat st;
      snprintf(cand, n + 8, "%.*s%s", (int)(n - 4), path, ext[i]);
      if (stat(cand, &st) == 0 && S_ISREG(st.st_mode)) return cand;
    }
    free(cand);
  }
  return strdup(path);
}

/* See io_impl.h. */
const char *hcsc_io_mpi_path(const char *path, char *buf, size_t n)
{
  const char *io = getenv("OMPI_MCA_io");
  if (!strchr(path, ':') || !io || strncmp(io, "romio", 5) != 0) return path;
  if ((size_t)snprintf(buf, n, "ufs:%s", path) >= n) return path;
  return buf;
}

/* Rank 0's part of open: probe the file and fill m. */
static int probe(const char *path, hcsc_meta *m, int *netcdf, int *bsq, hcsc_raw *raw)
{
  int err = 0;
  GDALDatasetH ds = NULL;
  struct stat st;
  *netcdf = 0;
  if (stat(path, &st) != 0) {
    err = HCSC_ERR_ERRNO(path, "cannot open");
    goto cleanup;
  }
  if (S_ISDIR(st.st_mode)) HCSC_FAIL(HCSC_EFORMAT, "%s: is a directory, not a raster", path);
  if (access(path, R_OK) != 0) {
    err = HCSC_ERR_ERRNO(path, "cannot read");
    goto cleanup;
  }
  if (hcsc_format_from_path(path) == HCSC_FMT_NETCDF) {
    *netcdf = 1;
    HCSC_CHECK(hcsc_io_nc_probe(path, m));
    goto cleanup;
  }
  hcsc_io_gdal_init();
  CPLErrorReset();
  ds = GDALOpen(path, GA_ReadOnly);
  if (!ds) {
    const char *why = hcsc_io_gdal_last_error();
    HCSC_FAIL(HCSC_EFORMAT, "%s: not a raster GDAL can read (%s)", path,
              *why ? why : "no driver recognises it");
  }
  HCSC_CHECK(hcsc_io_gdal_get_meta(ds, path, m));
  const char *drv = GDALGetDriverShortName(GDALGetDatasetDriver(ds));
  if (drv && !strcasecmp(drv, "ENVI")) {
    HCSC_CHECK(check_envi_size(ds, path, m));
    const char *il = GDALGetMetadataItem(ds, "interleave", "ENVI");
    const char *ho = GDALGetMetadataItem(ds, "header_offset", "ENVI");
    const char *bo = GDALGetMetadataItem(ds, "byte_order", "ENVI");
    char **files = GDALGetFileList(ds);
    /* The raw file is the one GDAL opened: the path itself. */
    *bsq = (!il || !strcasecmp(il, "bsq")) && files && files[0] && !strcmp(files[0], path);
    CSLDestroy(files);
    raw->offset = ho ? atoll(ho) : 0;
    raw->big_endian = bo && atoi(bo) == 1;
  }
cleanup:
  if (ds) GDALClose(ds);
  return err;
}

/* See scene.h.  Collective on comm; the scene keeps a duplicate of comm. */
int hcsc_scene_open(MPI_Comm comm, const char *path, hcsc_scene **out)
{
  int err = 0, rank, flag = 0;
  hcsc_scene *s = NULL;
  *out = NULL;
  MPI_Comm_rank(comm, &rank);
  s = calloc(1, sizeof *s);
  if (!s || !(s->path = strdup(path))) err = HCSC_ERR(HCSC_ENOMEM, "out of memory opening %s", path);
  if (s) {
    s->comm = MPI_COMM_NULL;
    hcsc_meta_init(&s->meta);
  }
  if (!err && rank == 0) {
    char *data = resolve_envi_header(path);
    if (!data) {
      err = HCSC_ERR(HCSC_ENOMEM, "out of memory opening %s", path);
    } else {
      free(s->path);
      s->path = data;
      hcsc_timer_start(HCSC_PHASE_IO_READ);
      err = probe(s->path, &s->meta, &flag, &s->bsq, &s->raw);
      hcsc_timer_stop(HCSC_PHASE_IO_READ);
    }
  }
  HCSC_CHECK(hcsc_error_agree(comm, err));
  {
    /* Every rank reads the file rank 0 resolved. */
    int len = rank == 0 ? (int)strlen(s->path) + 1 : 0;
    HCSC_MPI(MPI_Bcast(&len, 1, MPI_INT, 0, comm));
    char *p = rank == 0 ? s->path : malloc((size_t)len);
    err = p ? 0 : HCSC_ERR(HCSC_ENOMEM, "out of memory opening %s", path);
    HCSC_CHECK(hcsc_error_agree(comm, err));
    HCSC_MPI(MPI_Bcast(p, len, MPI_CHAR, 0, comm));
    if (rank != 0) {
      free(s->path);
      s->path = p;
    }
  }
  HCSC_MPI(MPI_Bcast(&flag, 1, MPI_INT, 0, comm));
  s->netcdf = flag;
  {
    long long lay[3] = {s->bsq, s->raw.offset, s->raw.big_endian};
    HCSC_MPI(MPI_Bcast(lay, 3, MPI_LONG_LONG, 0, comm));
    s->bsq = (int)lay[0], s->raw.offset = lay[1], s->raw.big_endian = (int)lay[2];
  }
  HCSC_CHECK(hcsc_meta_bcast(&s->meta, 0, comm));
  HCSC_MPI(MPI_Comm_dup(comm, &s->comm));
  *out = s;
  s = NULL;
cleanup:
  if (s) {
    hcsc_meta_free(&s->meta);
    free(s->path);
    free(s);
  }
  return hcsc_error_agree(comm, err);
}

/* Collective on the scene's comm (frees its duplicate); accepts NULL. */
void hcsc_scene_close(hcsc_scene **s)
{
  if (!s || !*s) return;
  hcsc_meta_free(&(*s)->meta);
  if ((*s)->comm != MPI_COMM_NULL) MPI_Comm_free(&(*s)->comm);
  free((*s)->path);
  free(*s);
  *s = NULL;
}

const hcsc_meta *hcsc_scene_meta(const hcsc_scene *s) { return &s->meta; }
const char *hcsc_scene_path(const hcsc_scene *s) { return s->path; }

/* ---- read --------------------------------------------------------------- */

/* Validate a selection against the file; same verdict on every rank since
 * every rank has the same metadata. */
static int check_selection(const hcsc_scene *s, const hcsc_selection *sel, int64_t *nb,
                           int64_t *rows, int64_t *cols)
{
  const hcsc_meta *m = &s->meta;
  *nb = m->bands, *rows = m->rows, *cols = m->cols;
  if (!sel) return 0;
  if (sel->bands) {
    if (sel->nbands <= 0) return HCSC_ERR(HCSC_ERANGE, "%s: empty band list", s->path);
    for (int64_t i = 0; i < sel->nbands; i++)
      if (sel->bands[i] < 0 || sel->bands[i] >= m->bands)
        return HCSC_ERR(HCSC_ERANGE, "%s: band %lld out of range (valid: 1-%lld)", s->path,
                        (long long)sel->bands[i] + 1, (long long)m->bands);
    *nb = sel->nbands;
  }
  const int64_t *w = sel->window;
  if (w[0] || w[1] || w[2] || w[3]) {
    if (w[0] < 0 || w[1] < 0 || w[2] <= 0 || w[3] <= 0 || w[0] + w[2] > m->rows ||
        w[1] + w[3] > m->cols)
      return HCSC_ERR(HCSC_ERANGE,
                      "%s: window %lld,%lld,%lld,%lld (row0,col0,rows,cols) out of range: the "
                      "scene has rows 0-%lld and columns 0-%lld",
                      s->path, (long long)w[0], (long long)w[1], (long long)w[2], (long long)w[3],
                      (long long)m->rows - 1, (long long)m->cols - 1);
    *rows = w[2], *cols = w[3];
  }
  return 0;
}

/* See scene.h.  Collective on the grid's comm. */
int hcsc_scene_load(hcsc_scene *s, const hcsc_selection *sel, const hcsc_grid *g, int halo,
                    hcsc_tile *tile)
{
  int err = 0;
  hcsc_halo *plan = NULL;
  hcsc_box box = hcsc_grid_box(g);
  HCSC_CHECK(hcsc_error_agree(hcsc_grid_comm(g), hcsc_tile_alloc(tile, &box, box.nb, halo)));
  HCSC_CHECK(hcsc_scene_read(s, sel, g, tile));
  if (halo > 0) {
    HCSC_CHECK(hcsc_halo_create(g, halo, box.nb, &plan));
    HCSC_CHECK(hcsc_halo_exchange(plan, tile));
  }
cleanup:
  hcsc_halo_destroy(&plan);
  if (err) hcsc_tile_free(tile);
  return err;
}

/* See scene.h.  Collective on the grid's comm. */
int hcsc_scene_read(hcsc_scene *s, const hcsc_selection *sel, const hcsc_grid *g, hcsc_tile *tile)
{
  int err = 0;
  int64_t nb, rows, cols, gb, gr, gc;
  MPI_Comm comm = hcsc_grid_comm(g);
  hcsc_box box = hcsc_grid_box(g);
  err = check_selection(s, sel, &nb, &rows, &cols);
  hcsc_grid_scene(g, &gb, &gr, &gc);
  if (!err && (gb != nb || gr != rows || gc != cols))
    err = HCSC_ERR(HCSC_ESIZE, "%s: grid made for %lldx%lldx%lld, selection is %lldx%lldx%lld", s->path,
                   (long long)gb, (long long)gr, (long long)gc, (long long)nb, (long long)rows,
                   (long long)cols);
  if (!err && (!tile->data || tile->box.b0 != box.b0 || tile->box.nb != box.nb ||
               tile->box.r0 != box.r0 || tile->box.nr != box.nr || tile->box.c0 != box.c0 ||
               tile->box.nc != box.nc || tile->nchan != box.nb))
    err = HCSC_ERR(HCSC_ESIZE, "%s: tile was not allocated for this rank's grid box", s->path);
  HCSC_CHECK(hcsc_error_agree(comm, err));

  hcsc_selection whole = {NULL, 0, {0, 0, 0, 0}};
  if (!sel) sel = &whole;
  /* The MPI-IO path is collective: every rank must take it, or none. */
  int mpiio_ok = hcsc_io_envi_can_read(sel, &box);
  HCSC_MPI(MPI_Allreduce(MPI_IN_PLACE, &mpiio_ok, 1, MPI_INT, MPI_MIN, comm));
  hcsc_timer_start(HCSC_PHASE_IO_READ);
  if (s->netcdf)
    err = hcsc_io_nc_read(s->path, &s->meta, sel, g, tile);
  else if (s->bsq && !getenv("HCSC_READ_WITH_GDAL") && mpiio_ok)
    err = hcsc_io_envi_read(s->path, &s->meta, &s->raw, sel, g, tile);
  else
    err = hcsc_io_gdal_read(s->path, &s->meta, sel, g, tile);
  if (!err)
    hcsc_timer_add_bytes(HCSC_PHASE_IO_READ, (double)(box.nb * box.nr * box.nc) *
                                                 (double)hcsc_dtype_size(s->meta.dtype));
  hcsc_timer_stop(HCSC_PHASE_IO_READ);
cleanup:
  return hcsc_error_agree(comm, err);
}

/* ---- write -------------------------------------------------------------- */

/* Split path into its directory ("." when none) and base name. */
static int split_path(const char *path, char *dir, char *base)
{
  const char *slash = strrchr(path, '/');
  if (strlen(path) >= PATH_BUF) return HCSC_ERR(HCSC_EINVAL, "%.200s...: path too long", path);
  if (!slash) {
    strcpy(dir, ".");
    strcpy(base, path);
  } else {
    size_t n = (size_t)(slash - path);
    if (n == 0) n = 1; /* "/file" */
    memcpy(dir, path, n);
    dir[n] = '\0';
    strcpy(base, slash + 1);
  }
  if (!*base) return HCSC_ERR(HCSC_EINVAL, "%s: output path names a directory", path);
  return 0;
}

/* See scene.h.  Collective on comm: rank 0 checks, the verdict is agreed. */
int hcsc_io_temp_file(const char *path, char *tmp, size_t n)
{
  const char *slash = strrchr(path, '/');
  const int dl = slash ? (int)(slash - path) + (slash == path) : 1;
  if (snprintf(tmp, n, "%.*s/.%s.hcsc-tmp-XXXXXX", dl, slash ? path : ".", slash ? slash + 1 : path) >= (int)n)
    return HCSC_ERR(HCSC_EINVAL, "%s: path too long", path);
  const int fd = mkstemp(tmp);
  if (fd < 0) {
    const int e = HCSC_ERR_ERRNO(tmp, "cannot create a temporary file");
    tmp[0] = '\0';
    return e;
  }
  const mode_t mask = umask(0);
  umask(mask);
  if (fchmod(fd, 0666 & ~mask) != 0) {
    const int e = HCSC_ERR_ERRNO(tmp, "cannot set the mode of");
    close(fd);
    unlink(tmp);
    tmp[0] = '\0';
    return e;
  }
  close(fd);
  return 0;
}

int hcsc_output_check(MPI_Comm comm, const char *path, int force)
{
  int err = 0, rank;
  MPI_Comm_rank(comm, &rank);
  if (rank == 0) {
    char dir[PATH_BUF], base[PATH_BUF];
    struct stat st;
    HCSC_CHECK(split_path(path, dir, base));
    if (stat(path, &st) == 0) {
      if (S_ISDIR(st.st_mode)) HCSC_FAIL(HCSC_EEXIST, "%s: exists and is a directory", path);
      if (!force) HCSC_FAIL(HCSC_EEXIST, "%s: exists (use --force to overwrite)", path);
    }
    if (stat(dir, &st) != 0) HCSC_FAIL(HCSC_ENOENT, "%s: directory %s does not exist", path, dir);
    if (!S_ISDIR(st.st_mode)) HCSC_FAIL(HCSC_ENOENT, "%s: %s is not a directory", path, dir);
    if (access(dir, W_OK | X_OK) != 0)
      HCSC_FAIL(HCSC_EACCES, "%s: directory %s is not writable (%s)", path, dir, strerror(errno));
  }
cleanup:
  return hcsc_error_agree(comm, err);
}

/* Remove every file in dir, then dir.  Best effort (used on failure). */
static void remove_tree(const char *dir)
{
  DIR *d = opendir(dir);
  if (d) {
    struct dirent *e;
    char p[2 * PATH_BUF];
    while ((e = readdir(d)))
      if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
      }
    closedir(d);
  }
  rmdir(dir);
}

/* Flush a finished file (or directory) to stable storage: a rename that
 * reaches the disk before the data would leave a complete-looking name
 * over an incomplete file after a crash. */
static int sync_path(const char *path)
{
  int fd = open(path, O_RDONLY);
  if (fd < 0) return HCSC_ERR_ERRNO(path, "cannot open to flush");
  int rc = fsync(fd);
  int e = errno;
  close(fd);
  /* Some file systems cannot fsync a directory: that is not a failure. */
  if (rc != 0 && e != EINVAL && e != EROFS) {
    errno = e;
    return HCSC_ERR_ERRNO(path, "cannot flush to disk");
  }
  return 0;
}

/* Move every file of tmp into dir (rename: same filesystem, atomic per
 * file, replaces an existing target only now that the output is complete
 * and flushed). */
static int move_all(const char *tmp, const char *dir)
{
  int err = 0;
  DIR *d = opendir(tmp);
  struct dirent *e;
  char from[2 * PATH_BUF], to[2 * PATH_BUF];
  if (!d) {
    err = HCSC_ERR_ERRNO(tmp, "cannot list the temporary directory");
    goto cleanup;
  }
  hcsc_timer_start(HCSC_PHASE_IO_WRITE);
  while (!err && (e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    snprintf(from, sizeof from, "%s/%s", tmp, e->d_name);
    err = sync_path(from);
  }
  hcsc_timer_stop(HCSC_PHASE_IO_WRITE);
  if (err) goto cleanup;
  rewinddir(d);
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    snprintf(from, sizeof from, "%s/%s", tmp, e->d_name);
    snprintf(to, sizeof to, "%s/%s", dir, e->d_name);
    if (rename(from, to) != 0) {
      err = HCSC_ERR_ERRNO(to, "cannot move the finished output into place");
      goto cleanup;
    }
  }
  sync_path(dir); /* the new names themselves */
cleanup:
  if (d) closedir(d);
  return err;
}

/* Messages from writers name the temporary file; users know the target. */
static void retarget_message(int err, const char *tmp, const char *dir)
{
  char msg[1024], out[2048];
  const char *p;
  snprintf(msg, sizeof msg, "%s", hcsc_error_message());
  size_t n = strlen(tmp);
  if (!(p = strstr(msg, tmp))) return;
  snprintf(out, sizeof out, "%.*s%s%s", (int)(p - msg), msg, dir, p + n);
  hcsc_error_set(err, __FILE__, __LINE__, "%s", out);
}

/* See scene.h.  Collective on the grid's comm. */
int hcsc_scene_write(const char *path, const hcsc_meta *meta, const hcsc_grid *g,
                     const hcsc_tile *tile, const hcsc_write_opts *opts)
{
  int err = 0, rank = hcsc_grid_rank(g), made = 0;
  MPI_Comm comm = hcsc_grid_comm(g);
  char dir[PATH_BUF] = ".", base[PATH_BUF] = "", tmp[PATH_BUF] = "", target[2 * PATH_BUF + 2];
  hcsc_write_opts o = {HCSC_FMT_AUTO, HCSC_DT_NONE, 0, NULL};
  int64_t gb, gr, gc;
  if (opts) o = *opts;
  hcsc_io_gdal_init(); /* also ignores SIGXFSZ on every rank */
  hcsc_format fmt = o.format == HCSC_FMT_AUTO ? hcsc_format_from_path(path) : o.format;
  hcsc_dtype dt = o.dtype != HCSC_DT_NONE ? o.dtype : meta->dtype;
  hcsc_box box = hcsc_grid_box(g);
  hcsc_grid_scene(g, &gb, &gr, &gc);
  err = split_path(path, dir, base);
  if (!err && hcsc_dtype_size(dt) == 0)
    err = HCSC_ERR(HCSC_ETYPE, "%s: no output data type", path);
  if (!err && (meta->bands != gb || meta->rows != gr || meta->cols != gc))
    err = HCSC_ERR(HCSC_ESIZE, "%s: metadata is %lldx%lldx%lld, grid is %lldx%lldx%lld", path,
                   (long long)meta->bands, (long long)meta->rows, (long long)meta->cols,
                   (long long)gb, (long long)gr, (long long)gc);
  if (!err && (!tile || !tile->data || tile->box.nb != box.nb || tile->box.nr != box.nr ||
               tile->box.nc != box.nc || tile->box.b0 != box.b0 || tile->box.r0 != box.r0 ||
               tile->box.c0 != box.c0))
    err = HCSC_ERR(HCSC_ESIZE, "%s: tile does not match this rank's grid box", path);
  HCSC_CHECK(hcsc_error_agree(comm, err));
  HCSC_CHECK(hcsc_output_check(comm, path, o.force));

  if (rank == 0) {
    /* Beside the target, so the final rename stays on one filesystem. */
    if (snprintf(tmp, sizeof tmp, "%s/.%s.hcsc-tmp-XXXXXX", dir, base) >= (int)sizeof tmp)
      err = HCSC_ERR(HCSC_EINVAL, "%s: path too long", path);
    else if (!mkdtemp(tmp))
      err = HCSC_ERR_ERRNO(tmp, "cannot create a temporary directory");
    else
      made = 1;
  }
  HCSC_CHECK(hcsc_error_agree(comm, err));
  HCSC_MPI(MPI_Bcast(tmp, (int)sizeof tmp, MPI_CHAR, 0, comm));
  snprintf(target, sizeof target, "%s/%s", tmp, base);

  switch (fmt) {
  case HCSC_FMT_ENVI: err = hcsc_io_envi_write(target, meta, g, tile, dt); break;
  case HCSC_FMT_GTIFF: err = hcsc_io_gtiff_write(target, meta, g, tile, dt, o.compress); break;
  case HCSC_FMT_NETCDF: err = hcsc_io_nc_write(target, meta, g, tile, dt); break;
  default: err = HCSC_ERR(HCSC_EINVAL, "%s: unknown output format", path); break;
  }
  err = hcsc_error_agree(comm, err);
  if (!err && rank == 0) err = move_all(tmp, dir);
  err = hcsc_error_agree(comm, err);
cleanup:
  /* On success tmp is empty now; on failure everything in it goes. */
  if (rank == 0 && made) remove_tree(tmp);
  if (err && tmp[0]) retarget_message(err, tmp, dir);
  return err;
}
