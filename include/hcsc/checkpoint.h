/* hypercsc — checkpoints: the state of a long run (dictionary learning,
 * training) as a NetCDF file (PnetCDF, CDF-5), to resume at the same rank
 * count and continue bit for bit.
 *
 * The state is a list of named float arrays, each either replicated (the
 * same on every rank: stored once) or one slice per rank, plus named double
 * scalars.  File layout (`ncmpidump -h` explains it):
 *   dimension  rank = communicator size
 *   replicated array NAME:   float NAME(NAME_len)
 *   per-rank array NAME:     float NAME(NAME_len)   the ranks' slices in rank
 *                            order (offset = exclusive scan of the counts);
 *                            int64 NAME_rank_count(rank)
 *   scalar NAME:             double scalar_NAME      (0-d variable)
 *   every variable: int replicated, int64 count (elements in all; NAME_len
 *     is max(count, 1) since a 0 length would mean "unlimited"), uint64
 *     checksum_fnv1a64 (see below)
 *   global: Conventions, title, hypercsc_version, checkpoint_kind (text),
 *     checkpoint_version (int, HCSC_CKPT_VERSION), nranks (int)
 * Checksums: FNV-1a 64 over the bytes of the data as they are in memory
 * (IEEE little-endian here).  For a per-rank array each rank hashes its
 * slice; the checksum is FNV-1a 64 over those rank hashes (8 bytes each,
 * least significant first) in rank order, so it is deterministic for a
 * given rank count (reading requires the same count).  Scalars are hashed
 * like replicated arrays. */
#ifndef HCSC_CHECKPOINT_H
#define HCSC_CHECKPOINT_H

#include <mpi.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Version of the layout above, stored in every file. */
#define HCSC_CKPT_VERSION 1

#ifndef HCSC_STATE_VAR_DEFINED
#define HCSC_STATE_VAR_DEFINED
/* One named float array of a run's state (the contract of dictionary
 * learning, hcsc_cdl_state).  Names are NetCDF names (letters, digits,
 * '_'; not "rank"). */
typedef struct {
  const char *name;   /* e.g. "g", "u_local", "code_y_0" */
  float *data;        /* owned by the caller */
  int64_t count;      /* elements on this rank */
  int replicated;     /* 1: the same on every rank (stored once) */
} hcsc_state_var;
#endif

/* Write a checkpoint of kind ("cdl", "train", ...) to path: the arrays vars
 * (same names, order and replicated flags on every rank; a replicated array
 * has the same count and data on every rank, checked through its checksum)
 * and the scalars (same names and values on every rank; rank 0's are
 * written).  The file is written to a temporary name in path's directory
 * (".NAME.hcsc-tmp-XXXXXX"), flushed to disk, and renamed to path once every
 * rank agrees it is complete: a failed or interrupted write never leaves a
 * partial file at path and leaves an older checkpoint there intact.  An
 * existing path is HCSC_EEXIST unless force (a run replacing its own
 * previous checkpoint passes force = 1: the replacement is atomic).
 * Collective on comm; the same code on every rank.  The caller owns
 * everything passed. */
int hcsc_ckpt_write(MPI_Comm comm, const char *path, const char *kind, const hcsc_state_var *vars,
                    int nvars, const char *const *scalar_names, const double *scalars, int nscalars,
                    int force);

/* Read a checkpoint written by hcsc_ckpt_write into the caller's arrays:
 * vars give the names, replicated flags and the counts expected on this
 * rank, and data (count floats, filled); scalars (nscalars doubles, filled)
 * by scalar_names.  Checks, each a one-line HCSC_EFORMAT naming the file and
 * what differs: another kind, a newer format version, another rank count, a
 * missing variable or scalar, another replicated flag or count (on which
 * rank), a checksum mismatch (corrupted), a file shorter than its header
 * says (truncated) or not a NetCDF file.  A missing file is HCSC_ENOENT.
 * Variables in the file that are not asked for are ignored.  Collective on
 * comm; the same code on every rank; on failure the arrays' contents are
 * undefined. */
int hcsc_ckpt_read(MPI_Comm comm, const char *path, const char *kind, const hcsc_state_var *vars,
                   int nvars, const char *const *scalar_names, double *scalars, int nscalars);

#ifdef __cplusplus
}
#endif
#endif
