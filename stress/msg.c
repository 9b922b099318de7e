/* Scenarios for messaging: Pipe, Queue, JoinableQueue.  Every item is a
 * self-checking payload (stress.h): a header naming its producer and
 * sequence number and a pattern derived from both. */
#include "stress.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* pipe                                                                     */
/* ------------------------------------------------------------------------ */

/* Pairs of processes.  Even pairs use a duplex pipe as ping-pong (the
 * sender checks the echo); odd pairs a one-way pipe streamed as fast as
 * the socket takes it.  Receives use random, often very short, timeouts:
 * a message cut short is completed by the next call.  Both sides check
 * every message; the end is an end-of-file.  Chaos may kill either side:
 * the survivor must then see EEOF or EBROKEN, never a corrupt message. */
#define PIPE_PAIRS_MAX 16

struct pipe_state {
  mproc_conn *end[PIPE_PAIRS_MAX][2];
  int pairs;
};

/* Receives message `want_seq` and checks it; *keep (when not NULL) gets
 * the message (the caller frees it). */
static int recv_checked(st_ctx *ctx, mproc_conn *c, uint64_t want_seq,
                        uint32_t want_producer, size_t *bytes, void **keep,
                        size_t *keep_len)
{
  for (;;) {
    void *buf = NULL;
    size_t len = 0;
    double t = st_rng_timeout(&ctx->rng, ctx->cfg->chaos, true);
    int rc;
    st_op(ctx, "recv_bytes message %llu (timeout %g)",
          (unsigned long long)want_seq, t);
    rc = mproc_conn_recv_bytes(c, &buf, &len, t);
    if (rc == MPROC_EAGAIN || rc == MPROC_ETIMEDOUT) {
      st_done(ctx, true);
      continue;
    }
    if (rc != 0)
      return rc;
    st_payload_hdr h;
    const char *bad = st_payload_check(buf, len, &h);
    if (bad != NULL)
      st_fail(ctx, "message %llu: %s", (unsigned long long)want_seq, bad);
    else if (h.seq != want_seq || h.producer != want_producer)
      st_fail(ctx, "expected message %llu of %u, got %llu of %u",
              (unsigned long long)want_seq, want_producer,
              (unsigned long long)h.seq, h.producer);
    *bytes += len;
    if (keep != NULL) {
      *keep = buf;
      *keep_len = len;
    } else {
      free(buf);
    }
    st_done(ctx, false);
    return 0;
  }
}

/* A worker closes its copies of every end but its own, so that end of
 * file means what it says. */
static mproc_conn *keep_end(struct pipe_state *s, int pair, int end)
{
  for (int p = 0; p < s->pairs; p++)
    for (int e = 0; e < 2; e++)
      if (p != pair || e != end)
        mproc_conn_free(s->end[p][e]);
  return s->end[pair][end];
}

static bool peer_gone(int rc) { return rc == MPROC_EEOF || rc == MPROC_EBROKEN; }

static void pipe_sender(st_ctx *ctx, int index, void *arg)
{
  struct pipe_state *s = arg;
  bool duplex = index % 2 == 0;
  mproc_conn *c = keep_end(s, index, duplex ? 0 : 1);
  size_t bytes = 0;
  uint64_t seq;
  for (seq = 0; st_more(ctx, seq); seq++) {
    size_t len = st_rng_size(&ctx->rng, ctx->cfg->max_message);
    void *msg;
    int rc;
    if (len < sizeof(st_payload_hdr))
      len = sizeof(st_payload_hdr);
    msg = st_payload_make((uint32_t)index, seq, len);
    if (msg == NULL) {
      st_fail(ctx, "out of memory");
      break;
    }
    st_op(ctx, "send_bytes message %llu (%zu bytes)", (unsigned long long)seq,
          len);
    rc = mproc_conn_send_bytes(c, msg, len);
    free(msg);
    if (rc != 0) {
      ST_CHECK(ctx, ctx->cfg->chaos && peer_gone(rc),
               "send_bytes returned %s", mproc_err_name(rc));
      break;
    }
    bytes += len;
    st_done(ctx, false);
    if (duplex && (rc = recv_checked(ctx, c, seq, (uint32_t)index, &bytes,
                                       NULL, NULL))) {
      ST_CHECK(ctx, ctx->cfg->chaos && peer_gone(rc),
               "receiving the echo returned %s", mproc_err_name(rc));
      break;
    }
  }
  st_count(ctx, 0, seq);
  st_count(ctx, 1, bytes);
  mproc_conn_free(c);
}

static void pipe_receiver(st_ctx *ctx, int index, void *arg)
{
  struct pipe_state *s = arg;
  bool duplex = index % 2 == 0;
  mproc_conn *c = keep_end(s, index, duplex ? 1 : 0);
  size_t bytes = 0;
  for (uint64_t seq = 0;; seq++) {
    void *msg = NULL;
    size_t len = 0;
    int rc = recv_checked(ctx, c, seq, (uint32_t)index, &bytes,
                          duplex ? &msg : NULL, &len);
    if (rc == MPROC_EEOF)
      break; /* the sender finished (or, under chaos, died) */
    if (rc != 0) {
      ST_CHECK(ctx, ctx->cfg->chaos && rc == MPROC_EBROKEN,
               "recv_bytes returned %s", mproc_err_name(rc));
      break;
    }
    if (duplex) {
      st_op(ctx, "echo message %llu (%zu bytes)", (unsigned long long)seq,
            len);
      rc = mproc_conn_send_bytes(c, msg, len);
      free(msg);
      if (rc != 0) {
        ST_CHECK(ctx, ctx->cfg->chaos && peer_gone(rc),
                 "sending the echo returned %s", mproc_err_name(rc));
        break;
      }
      st_done(ctx, false);
    }
  }
  st_count(ctx, 1, bytes);
  mproc_conn_free(c);
}

void st_scenario_pipe(st_ctx *ctx)
{
  struct pipe_state *s = st_share(sizeof *s);
  st_group *g = st_group_new();
  mproc_process agent;
  int flags = ST_STORM | ST_STOPPABLE | ST_KILLABLE;
  s->pairs = ctx->cfg->procs / 2 > PIPE_PAIRS_MAX ? PIPE_PAIRS_MAX
                                                  : ctx->cfg->procs / 2;
  for (int p = 0; p < s->pairs; p++) {
    mproc_pipe_options o = {.one_way = p % 2 == 1};
    ST_OK(ctx, mproc_pipe(&s->end[p][0], &s->end[p][1], &o));
  }
  st_count_name(ctx, 0, "messages");
  st_count_name(ctx, 1, "bytes");
  st_start(ctx, g, s->pairs, "sender", flags, pipe_sender, s);
  st_start(ctx, g, s->pairs, "receiver", flags, pipe_receiver, s);
  for (int p = 0; p < s->pairs; p++)
    for (int e = 0; e < 2; e++)
      mproc_conn_free(s->end[p][e]);
  if (ctx->cfg->chaos)
    st_chaos_start(ctx, &agent, ctx->cfg->procs / 2);
  st_join(ctx, g, NULL);
  if (ctx->cfg->chaos)
    st_chaos_stop(ctx, &agent);
  st_group_free(g);
  st_unshare(s, sizeof *s);
}

/* ------------------------------------------------------------------------ */
/* queue                                                                    */
/* ------------------------------------------------------------------------ */

/* Producers put numbered payloads of mixed sizes (a few bytes to
 * max_message) with random, often very short, timeouts; consumers take
 * them and check content, per-producer order (each consumer sees a
 * producer's items in increasing order) and uniqueness (a shared bitmap).
 * A producer counts an item as put once put returned 0.  At the end every
 * counted item must have been taken exactly once.  Under chaos: a killed
 * producer's last item may or may not be there (never torn); a killed
 * consumer may take one item with it; nothing is ever duplicated,
 * corrupted or reordered. */
#define Q_MAX_ITEMS (1u << 20)
#define Q_PRODUCERS_MAX 16

struct queue_state {
  mproc_queue *q;
  int np;
  _Atomic uint64_t acked[Q_PRODUCERS_MAX];
  _Atomic uint64_t taken, task_done;
  _Atomic uint8_t seen[Q_PRODUCERS_MAX][Q_MAX_ITEMS / 8];
  bool joinable;
};

static void queue_producer(st_ctx *ctx, int index, void *arg)
{
  struct queue_state *s = arg;
  size_t bytes = 0;
  uint64_t seq = 0;
  for (uint64_t n = 0; seq < Q_MAX_ITEMS && st_more(ctx, n); n++) {
    size_t len = st_rng_size(&ctx->rng, ctx->cfg->max_message);
    void *p = st_payload_make((uint32_t)index, seq, len);
    mproc_obj *item = p != NULL ? mproc_obj_bytes(p, len < sizeof(st_payload_hdr) ? sizeof(st_payload_hdr) : len) : NULL;
    int rc;
    free(p);
    if (item == NULL) {
      st_fail(ctx, "out of memory");
      return;
    }
    do {
      /* Under chaos every consumer may be killed: no unbounded put. */
      double t = st_rng_timeout(&ctx->rng, ctx->cfg->chaos, !ctx->cfg->chaos);
      st_op(ctx, "queue put item %llu (%zu bytes, timeout %g)",
            (unsigned long long)seq, len, t);
      rc = mproc_queue_put(s->q, item, t);
      st_done(ctx, rc == MPROC_EFULL);
    } while (rc == MPROC_EFULL && st_more(ctx, n));
    mproc_obj_free(item);
    if (rc == 0) {
      seq++;
      atomic_store(&s->acked[index], seq);
      bytes += len;
    } else if (rc != MPROC_EFULL) {
      st_fail(ctx, "queue put returned %s", mproc_err_name(rc));
      return;
    }
  }
  st_count(ctx, 0, seq);
  st_count(ctx, 1, bytes);
}

/* Checks and records one item taken from the queue; false for the
 * sentinel (None). */
static bool queue_take(st_ctx *ctx, struct queue_state *s, mproc_obj *item,
                       uint64_t *next)
{
  size_t len = 0;
  const void *p = mproc_obj_bytes_value(item, &len);
  st_payload_hdr h;
  const char *bad;
  if (mproc_obj_type_of(item) == MPROC_OBJ_NONE)
    return false;
  bad = p != NULL ? st_payload_check(p, len, &h) : "not a bytes item";
  if (bad != NULL) {
    st_fail(ctx, "queue item: %s", bad);
    return true;
  }
  if (h.producer >= (uint32_t)s->np || h.seq >= Q_MAX_ITEMS) {
    st_fail(ctx, "item %llu of producer %u was never put",
            (unsigned long long)h.seq, h.producer);
    return true;
  }
  if (next != NULL) {
    ST_CHECK(ctx, h.seq >= next[h.producer],
             "producer %u's item %llu came after its item %llu", h.producer,
             (unsigned long long)h.seq,
             (unsigned long long)next[h.producer] - 1);
    next[h.producer] = h.seq + 1;
  }
  if (atomic_fetch_or(&s->seen[h.producer][h.seq / 8],
                      (uint8_t)(1u << h.seq % 8)) &
      (1u << h.seq % 8))
    st_fail(ctx, "producer %u's item %llu was taken twice", h.producer,
            (unsigned long long)h.seq);
  atomic_fetch_add(&s->taken, 1);
  return true;
}

static void queue_consumer(st_ctx *ctx, int index, void *arg)
{
  struct queue_state *s = arg;
  uint64_t next[Q_PRODUCERS_MAX] = {0};
  (void)index;
  for (;;) {
    /* A JoinableQueue consumer ends on the leader's word, not on a
     * sentinel, so its gets must time out now and then. */
    double t = st_rng_timeout(&ctx->rng, ctx->cfg->chaos,
                              !ctx->cfg->chaos && !s->joinable);
    mproc_obj *item = NULL;
    bool more;
    int rc;
    st_op(ctx, "queue get (timeout %g)", t);
    rc = mproc_queue_get(s->q, &item, t);
    if (rc == MPROC_EEMPTY) {
      st_done(ctx, true);
      if (s->joinable && atomic_load(&ctx->board->stop))
        return;
      continue;
    }
    if (rc != 0) {
      st_fail(ctx, "queue get returned %s", mproc_err_name(rc));
      return;
    }
    more = queue_take(ctx, s, item, next);
    mproc_obj_free(item);
    if (s->joinable) {
      st_op(ctx, "queue task_done");
      atomic_fetch_add(&s->task_done, 1); /* before: join may return at once */
      ST_OK(ctx, mproc_queue_task_done(s->q));
    }
    st_done(ctx, false);
    if (!more)
      return;
  }
}

/* The final accounting, after every process ended and the queue was
 * drained. */
static void queue_account(st_ctx *ctx, struct queue_state *s,
                          const bool *producer_killed, int consumers_killed)
{
  uint64_t lost = 0, first_q = 0;
  int first_p = -1;
  for (int p = 0; p < s->np; p++) {
    uint64_t acked = atomic_load(&s->acked[p]);
    for (uint64_t q = 0; q < acked; q++)
      if (!(atomic_load(&s->seen[p][q / 8]) & (1u << q % 8)) && lost++ == 0) {
        first_p = p;
        first_q = q;
      }
    for (uint64_t q = acked; q < acked + 4 && q < Q_MAX_ITEMS; q++)
      if (atomic_load(&s->seen[p][q / 8]) & (1u << q % 8))
        ST_CHECK(ctx, producer_killed[p] && q == acked,
                 "producer %d's item %llu was taken but its put never "
                 "returned 0",
                 p, (unsigned long long)q);
  }
  ST_CHECK(ctx, lost <= (uint64_t)consumers_killed,
           "%llu items put were never taken (%d consumers killed), the "
           "first: producer %d's item %llu",
           (unsigned long long)lost, consumers_killed, first_p,
           (unsigned long long)first_q);
  st_count(ctx, 2, lost);
}

static void queue_drain(st_ctx *ctx, struct queue_state *s)
{
  mproc_obj *item;
  st_op(ctx, "drain the queue");
  while (mproc_queue_get(s->q, &item, 0) == 0) {
    queue_take(ctx, s, item, NULL);
    mproc_obj_free(item);
    if (s->joinable) {
      atomic_fetch_add(&s->task_done, 1);
      ST_OK(ctx, mproc_queue_task_done(s->q));
    }
  }
  st_done(ctx, false);
}

static void queue_run(st_ctx *ctx, bool joinable)
{
  struct queue_state *s = st_share(sizeof *s);
  st_group *prod = st_group_new(), *cons = st_group_new();
  bool pkilled[ST_SLOTS] = {false}, ckilled[ST_SLOTS] = {false};
  mproc_queue_options o = {0};
  mproc_process agent;
  st_rng rng;
  int nc, ckills = 0;
  st_rng_init(&rng, ctx->cfg->seed, (uint64_t)ctx->index, 1, 0);
  s->np = ctx->cfg->procs / 2 > Q_PRODUCERS_MAX ? Q_PRODUCERS_MAX
                                                : ctx->cfg->procs / 2;
  nc = ctx->cfg->procs - s->np;
  s->joinable = joinable;
  o.maxsize = st_rng_chance(&rng, 30) ? 0 : 1 + st_rng_below(&rng, 32);
  o.capacity = ((size_t)16 << 20) + 2 * ctx->cfg->max_message + 4096;
  o.max_message = ctx->cfg->max_message + 4096;
  if (joinable)
    ST_OK(ctx, mproc_joinable_queue_new(&s->q, &o));
  else
    ST_OK(ctx, mproc_queue_new(&s->q, &o));
  st_count_name(ctx, 0, "items");
  st_count_name(ctx, 1, "bytes");
  st_count_name(ctx, 2, "lost_by_killed");
  st_count_name(ctx, 3, "maxsize");
  st_count(ctx, 3, o.maxsize);
  st_start(ctx, prod, s->np, "producer",
           ST_STORM | ST_STOPPABLE | ST_KILLABLE, queue_producer, s);
  /* JoinableQueue consumers are not killed: an item taken by a dead
   * consumer never gets its task_done, and join would wait forever, as
   * documented. */
  st_start(ctx, cons, nc, "consumer",
           ST_STORM | ST_STOPPABLE | (joinable ? 0 : ST_KILLABLE),
           queue_consumer, s);
  if (ctx->cfg->chaos)
    st_chaos_start(ctx, &agent, ctx->cfg->procs / 2);
  st_join(ctx, prod, pkilled);
  if (joinable) {
    int rc;
    st_op(ctx, "joinable queue join");
    rc = mproc_queue_join(s->q, MPROC_FOREVER);
    uint64_t put = 0;
    for (int p = 0; p < s->np; p++)
      put += atomic_load(&s->acked[p]);
    ST_CHECK(ctx, rc == 0, "queue join returned %s", mproc_err_name(rc));
    ST_CHECK(ctx, atomic_load(&s->task_done) >= put,
             "join returned with %llu items put, %llu task_done",
             (unsigned long long)put,
             (unsigned long long)atomic_load(&s->task_done));
    st_done(ctx, false);
    atomic_store(&ctx->board->stop, 1);
  } else {
    /* One sentinel per consumer; consumers killed by chaos leave theirs. */
    mproc_obj *none = mproc_obj_none();
    for (int i = 0; i < nc; i++) {
      int rc;
      st_op(ctx, "queue put sentinel %d", i);
      do {
        bool alive = false;
        rc = mproc_queue_put(s->q, none, st_scale(0.1));
        for (int k = 0; k < cons->n; k++)
          alive = alive || mproc_process_is_alive(&cons->proc[k]);
        if (!alive)
          break;
      } while (rc == MPROC_EFULL);
      st_done(ctx, false);
    }
    mproc_obj_free(none);
  }
  st_join(ctx, cons, ckilled);
  if (ctx->cfg->chaos)
    st_chaos_stop(ctx, &agent);
  for (int i = 0; i < nc; i++)
    ckills += ckilled[i];
  queue_drain(ctx, s);
  queue_account(ctx, s, pkilled, ckills);
  if (joinable) {
    ST_CHECK(ctx, atomic_load(&s->task_done) == atomic_load(&s->taken),
             "%llu items taken, %llu task_done",
             (unsigned long long)atomic_load(&s->taken),
             (unsigned long long)atomic_load(&s->task_done));
    ST_CHECK(ctx, mproc_queue_task_done(s->q) == MPROC_ESTATE,
             "an extra task_done did not give ESTATE");
    ST_OK(ctx, mproc_queue_join(s->q, 0));
  }
  ST_CHECK(ctx, mproc_queue_empty(s->q), "the queue is not empty at the end");
  mproc_queue_free(s->q);
  st_group_free(prod);
  st_group_free(cons);
  st_unshare(s, sizeof *s);
}

void st_scenario_queue(st_ctx *ctx) { queue_run(ctx, false); }
void st_scenario_joinable(st_ctx *ctx) { queue_run(ctx, true); }
