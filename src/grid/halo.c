/* hypercsc — halo exchange.
 *
 * A halo cell (r, c) of a tile, in global coordinates r in [r0-h, r0+nr+h)
 * and c in [c0-h, c0+nc+h), takes the value of the scene at
 * (mirror(r), mirror(c)) (hcsc_mirror_index): the serial symmetric
 * extension, whatever the decomposition.  The row map and the column map
 * are independent, so each axis of the padded tile is cut into runs of
 * consecutive padded indices whose sources are evenly spaced (step +1,
 * or -1 where mirrored, 0 on a one-pixel axis) and held by one block of
 * that axis.  A (row run) x (column run) block then has its whole source in
 * one rank's interior.  The interior's own runs are kept separate, so every
 * block is either the interior (skipped) or pure halo.
 *
 * The partition is global, so each rank enumerates the blocks of every
 * tile of its band slice, in one fixed order: the blocks it must receive
 * (its own tile, source elsewhere), send (another tile, source here) and
 * copy locally (its own tile, source in its own interior: mirrors at the
 * scene edge, every block of a one-rank slice).  Sender and receiver list a
 * message's blocks in the same order, so the plan needs no communication,
 * and halos wider than the neighbouring tiles simply draw blocks from ranks
 * further away. */
#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "hcsc/error.h"
#include "hcsc/timer.h"
#include "grid_impl.h"

/* One tag for all halo messages.  Two exchanges on the same grid may be in
 * flight at once only if every rank begins them in the same order (MPI
 * matches same-tag messages between two ranks in posting order); the
 * simple rule is one exchange in flight per grid at a time. */
#define HALO_TAG 4143

/* Runs along one axis of a padded tile. */
typedef struct {
  int64_t pad0, len; /* padded indices [pad0, pad0+len) */
  int64_t src0, step; /* global source index of the first, and the step */
  int owner;          /* block of this axis that holds the sources */
  int interior;       /* the run is the tile's interior */
} run;

/* A rectangular block: destination in padded coordinates of the receiving
 * tile; source in interior coordinates of the sending tile. */
typedef struct {
  int64_t di, dj, si, sj, nr, nc, rs, cs;
} blk;

typedef struct {
  blk *b;
  int n, cap;
  int64_t elems; /* floats per channel */
} blk_list;

typedef struct {
  int rank; /* in the spatial comm */
  blk_list send, recv;
  int64_t send_off, recv_off; /* into the buffers, in floats */
} peer;

struct hcsc_halo {
  MPI_Comm comm; /* the grid's spatial comm, borrowed */
  int halo;
  int64_t nchan;
  hcsc_box box;
  int npeer;
  peer *peers;
  blk_list local;
  float *sendbuf, *recvbuf;
  MPI_Request *reqs;
  int nreq, active;
};

static int list_push(blk_list *l, const blk *b)
{
  int err = 0;
  if (l->n == l->cap) {
    int cap = l->cap ? 2 * l->cap : 8;
    blk *nb = realloc(l->b, (size_t)cap * sizeof *nb);
    if (!nb) HCSC_FAIL(HCSC_ENOMEM, "out of memory growing a halo plan to %d blocks", cap);
    l->b = nb;
    l->cap = cap;
  }
  l->b[l->n++] = *b;
  l->elems += b->nr * b->nc;
cleanup:
  return err;
}

/* Cut the padded axis [a0-h, a0+n+h) of a scene axis of length len split
 * in nblk blocks into runs.  *runs is allocated (n + 2h entries at most). */
static int axis_runs(int64_t a0, int64_t n, int h, int64_t len, int nblk, run **runs, int *nrun)
{
  int err = 0, k = -1;
  int64_t L = n + 2 * (int64_t)h;
  run *r = NULL;
  HCSC_CALLOC(r, L);
  for (int64_t i = 0; i < L; i++) {
    int64_t s = hcsc_mirror_index(a0 - h + i, len);
    int o = hcsc_partition_owner(len, nblk, s);
    int in = i >= h && i < h + n;
    int extend = k >= 0 && i != h && i != h + n && r[k].owner == o &&
                 (r[k].len == 1 || s == r[k].src0 + r[k].len * r[k].step);
    if (extend) {
      if (r[k].len == 1) r[k].step = s - r[k].src0;
      r[k].len++;
    } else {
      k++;
      r[k].pad0 = i;
      r[k].len = 1;
      r[k].src0 = s;
      r[k].step = 0;
      r[k].owner = o;
      r[k].interior = in;
    }
  }
  *runs = r;
  *nrun = k + 1;
  r = NULL;
cleanup:
  free(r);
  return err;
}

/* Enumerate the halo blocks of tile (p, q) in the fixed order and file the
 * ones that concern this rank (me, with interior origin (mr0, mc0)). */
static int plan_tile(const hcsc_grid *g, int halo, int p, int q, int me, int64_t mr0, int64_t mc0,
                     blk_list *recv_from, blk_list *send_to, blk_list *local)
{
  int err = 0, nrr = 0, ncr = 0, P = g->dims[1], Q = g->dims[2];
  int d = g->spatial_of[p * Q + q];
  int64_t r0, nr, c0, nc;
  run *rr = NULL, *cr = NULL;
  hcsc_partition(g->rows, P, p, &r0, &nr);
  hcsc_partition(g->cols, Q, q, &c0, &nc);
  HCSC_CHECK(axis_runs(r0, nr, halo, g->rows, P, &rr, &nrr));
  HCSC_CHECK(axis_runs(c0, nc, halo, g->cols, Q, &cr, &ncr));
  for (int i = 0; i < nrr; i++)
    for (int j = 0; j < ncr; j++) {
      if (rr[i].interior && cr[j].interior) continue;
      int src = g->spatial_of[rr[i].owner * Q + cr[j].owner];
      if (d != me && src != me) continue;
      blk b = {rr[i].pad0, cr[j].pad0, rr[i].src0 - mr0, cr[j].src0 - mc0,
               rr[i].len,  cr[j].len,  rr[i].step,        cr[j].step};
      if (d == me)
        HCSC_CHECK(list_push(src == me ? local : &recv_from[src], &b));
      else
        HCSC_CHECK(list_push(&send_to[d], &b));
    }
cleanup:
  free(rr);
  free(cr);
  return err;
}

static int halo_plan(const hcsc_grid *g, hcsc_halo *h)
{
  int err = 0, me = 0, n = g->dims[1] * g->dims[2];
  blk_list *recv_from = NULL, *send_to = NULL;
  int64_t soff = 0, roff = 0;
  HCSC_MPI(MPI_Comm_rank(g->spatial, &me));
  HCSC_CALLOC(recv_from, n);
  HCSC_CALLOC(send_to, n);
  for (int p = 0; p < g->dims[1]; p++)
    for (int q = 0; q < g->dims[2]; q++)
      HCSC_CHECK(plan_tile(g, h->halo, p, q, me, h->box.r0, h->box.c0, recv_from, send_to,
                           &h->local));
  for (int s = 0; s < n; s++)
    if (recv_from[s].n || send_to[s].n) h->npeer++;
  HCSC_CALLOC(h->peers, h->npeer);
  HCSC_CALLOC(h->reqs, 2 * (size_t)h->npeer);
  h->npeer = 0;
  for (int s = 0; s < n; s++) {
    if (!recv_from[s].n && !send_to[s].n) continue;
    peer *pe = &h->peers[h->npeer++];
    pe->rank = s;
    pe->send = send_to[s];
    pe->recv = recv_from[s];
    memset(&send_to[s], 0, sizeof send_to[s]);
    memset(&recv_from[s], 0, sizeof recv_from[s]);
    /* MPI counts are ints. */
    if (pe->send.elems > INT_MAX / h->nchan || pe->recv.elems > INT_MAX / h->nchan)
      HCSC_FAIL(HCSC_ENOTSUP,
                "halo of width %d with %lld channels: a message to spatial rank %d exceeds "
                "INT_MAX floats",
                h->halo, (long long)h->nchan, s);
    pe->send_off = soff;
    pe->recv_off = roff;
    soff += pe->send.elems * h->nchan;
    roff += pe->recv.elems * h->nchan;
  }
  HCSC_CALLOC(h->sendbuf, soff);
  HCSC_CALLOC(h->recvbuf, roff);
cleanup:
  for (int s = 0; recv_from && s < n; s++) free(recv_from[s].b);
  for (int s = 0; send_to && s < n; s++) free(send_to[s].b);
  free(recv_from);
  free(send_to);
  return err;
}

/* Build the exchange plan for tiles of this rank's box with width halo and
 * nchan channels.  No messages beyond the error agreement: every rank
 * derives the plan from the global partition.  Collective on the grid's
 * comm.  The caller owns *out (hcsc_halo_destroy); the grid must outlive
 * the plan, whose messages go over the grid's spatial comm. */
int hcsc_halo_create(const hcsc_grid *g, int halo, int64_t nchan, hcsc_halo **out)
{
  int err = 0;
  hcsc_halo *h = NULL;
  if (!g) return HCSC_ERR(HCSC_EINVAL, "hcsc_halo_create: no grid");
  if (out) *out = NULL;
  if (!out || halo < 0 || nchan < 1)
    HCSC_FAIL(HCSC_EINVAL, "halo plan: invalid width %d or channel count %lld", halo,
              (long long)nchan);
  HCSC_CALLOC(h, 1);
  h->comm = g->spatial;
  h->halo = halo;
  h->nchan = nchan;
  h->box = g->box;
  if (halo > 0) HCSC_CHECK(halo_plan(g, h));
cleanup:
  err = hcsc_error_agree(g->cart, err);
  if (err < 0)
    hcsc_halo_destroy(&h);
  else
    *out = h;
  return err;
}

/* Free a plan, first completing an exchange left in flight.  Not
 * collective; accepts NULL and sets *hp to NULL. */
void hcsc_halo_destroy(hcsc_halo **hp)
{
  if (!hp || !*hp) return;
  hcsc_halo *h = *hp;
  if (h->active && h->nreq) MPI_Waitall(h->nreq, h->reqs, MPI_STATUSES_IGNORE);
  for (int i = 0; i < h->npeer; i++) {
    free(h->peers[i].send.b);
    free(h->peers[i].recv.b);
  }
  free(h->peers);
  free(h->local.b);
  free(h->sendbuf);
  free(h->recvbuf);
  free(h->reqs);
  free(h);
  *hp = NULL;
}

static int tile_matches(const hcsc_halo *h, const hcsc_tile *t)
{
  if (!t || !t->data) return HCSC_ERR(HCSC_EINVAL, "halo exchange: tile not allocated");
  if (t->halo != h->halo || t->nchan != h->nchan || t->box.r0 != h->box.r0 ||
      t->box.nr != h->box.nr || t->box.c0 != h->box.c0 || t->box.nc != h->box.nc)
    return HCSC_ERR(HCSC_EINVAL,
                    "halo exchange: tile (rows %lld+%lld, cols %lld+%lld, halo %d, %lld channels) "
                    "does not match the plan (rows %lld+%lld, cols %lld+%lld, halo %d, %lld "
                    "channels)",
                    (long long)t->box.r0, (long long)t->box.nr, (long long)t->box.c0,
                    (long long)t->box.nc, t->halo, (long long)t->nchan, (long long)h->box.r0,
                    (long long)h->box.nr, (long long)h->box.c0, (long long)h->box.nc, h->halo,
                    (long long)h->nchan);
  return 0;
}

/* Copy the blocks of l between a tile and a packed buffer: pack reads the
 * sources, unpack writes the destinations, copy does both in the tile. */
enum { PACK, UNPACK, COPY };

static void move_blocks(const blk_list *l, hcsc_tile *t, float *buf, int mode)
{
  const int64_t hw = t->halo, ldr = t->ldr, ldc = t->ldc;
  float *d = t->data;
  for (int k = 0; k < l->n; k++) {
    const blk *b = &l->b[k];
    for (int64_t ch = 0; ch < t->nchan; ch++) {
      float *base = d + ch * ldr * ldc;
      for (int64_t i = 0; i < b->nr; i++) {
        const float *src = base + (b->si + i * b->rs + hw) * ldc + b->sj + hw;
        float *dst = base + (b->di + i) * ldc + b->dj;
        if (mode == PACK)
          for (int64_t j = 0; j < b->nc; j++) *buf++ = src[j * b->cs];
        else if (mode == UNPACK)
          for (int64_t j = 0; j < b->nc; j++) dst[j] = *buf++;
        else
          for (int64_t j = 0; j < b->nc; j++) dst[j] = src[j * b->cs];
      }
    }
  }
}

/* Post the receives, pack and post the sends.  Collective on the grid's
 * spatial comm (every rank of it must begin and end the exchange).  Does
 * not agree on errors, to keep the exchange free of extra collectives:
 * a rank whose tile does not match the plan still sends (zeros) and
 * receives, completes its messages here and returns HCSC_EINVAL, so no
 * other rank is left waiting; the others see their exchange succeed. */
int hcsc_halo_begin(hcsc_halo *h, hcsc_tile *t)
{
  int err = 0;
  if (!h) return HCSC_ERR(HCSC_EINVAL, "hcsc_halo_begin: no plan");
  if (h->active) return HCSC_ERR(HCSC_EINVAL, "hcsc_halo_begin: an exchange is already in flight");
  hcsc_timer_start(HCSC_PHASE_HALO);
  int bad = tile_matches(h, t);
  double bytes = 0;
  h->nreq = 0;
  for (int i = 0; i < h->npeer; i++) {
    peer *pe = &h->peers[i];
    if (pe->recv.n)
      HCSC_MPI(MPI_Irecv(h->recvbuf + pe->recv_off, (int)(pe->recv.elems * h->nchan), MPI_FLOAT,
                         pe->rank, HALO_TAG, h->comm, &h->reqs[h->nreq++]));
  }
  for (int i = 0; i < h->npeer; i++) {
    peer *pe = &h->peers[i];
    if (!pe->send.n) continue;
    int count = (int)(pe->send.elems * h->nchan);
    if (bad)
      memset(h->sendbuf + pe->send_off, 0, (size_t)count * sizeof(float));
    else
      move_blocks(&pe->send, t, h->sendbuf + pe->send_off, PACK);
    HCSC_MPI(MPI_Isend(h->sendbuf + pe->send_off, count, MPI_FLOAT, pe->rank, HALO_TAG, h->comm,
                       &h->reqs[h->nreq++]));
    bytes += (double)count * sizeof(float);
  }
  hcsc_timer_add_bytes(HCSC_PHASE_HALO, bytes);
  if (bad) {
    /* Complete the messages now: the caller will not call end. */
    HCSC_MPI(MPI_Waitall(h->nreq, h->reqs, MPI_STATUSES_IGNORE));
    err = bad;
  } else {
    h->active = 1;
  }
cleanup:
  hcsc_timer_stop(HCSC_PHASE_HALO);
  return err;
}

/* Wait for the messages, unpack them and fill the cells whose source is
 * this rank's own interior.  Collective on the grid's spatial comm (see
 * begin).  t must be the tile given to begin. */
int hcsc_halo_end(hcsc_halo *h, hcsc_tile *t)
{
  int err = 0;
  if (!h || !h->active) return HCSC_ERR(HCSC_EINVAL, "hcsc_halo_end: no exchange in flight");
  hcsc_timer_start(HCSC_PHASE_HALO);
  h->active = 0;
  HCSC_MPI(MPI_Waitall(h->nreq, h->reqs, MPI_STATUSES_IGNORE));
  HCSC_CHECK(tile_matches(h, t));
  for (int i = 0; i < h->npeer; i++) {
    const peer *pe = &h->peers[i];
    if (pe->recv.n) move_blocks(&pe->recv, t, h->recvbuf + pe->recv_off, UNPACK);
  }
  move_blocks(&h->local, t, NULL, COPY);
cleanup:
  hcsc_timer_stop(HCSC_PHASE_HALO);
  return err;
}

/* begin + end.  Collective on the grid's spatial comm. */
int hcsc_halo_exchange(hcsc_halo *h, hcsc_tile *t)
{
  int err = 0;
  HCSC_CHECK(hcsc_halo_begin(h, t));
  HCSC_CHECK(hcsc_halo_end(h, t));
cleanup:
  return err;
}
