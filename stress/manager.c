/* The manager scenario: many client processes share a dict, a list, a
 * queue, a lock and a value held by one manager server. */
#include "stress.h"

#include <string.h>

#define MGR_CLIENTS_MAX 32
#define MGR_MAX_ITEMS (1u << 16)

/* A client increments the value under the manager's lock and then its own
 * tally; a client killed by chaos while holding the lock makes the next
 * acquirer get EOWNERDEAD, which repairs (value = sum of tallies), so the
 * final value is exact.  List appends and queue items are (client, seq):
 * each client's appends must be in the list once each, in order; queue
 * items are checked as in the queue scenario. */
struct mgr_state {
  mproc_manager *m;
  mproc_proxy *lock, *value, *list, *dict, *queue, *event;
  int nclients;
  uint64_t tally[MGR_CLIENTS_MAX];
  _Atomic uint64_t list_acked[MGR_CLIENTS_MAX], dict_last[MGR_CLIENTS_MAX];
  _Atomic uint64_t q_acked[MGR_CLIENTS_MAX], repairs;
  _Atomic uint8_t q_seen[MGR_CLIENTS_MAX][MGR_MAX_ITEMS / 8];
};

static mproc_obj *pair(int64_t a, int64_t b)
{
  mproc_obj *l = mproc_obj_list();
  mproc_obj_list_append(l, mproc_obj_int(a));
  mproc_obj_list_append(l, mproc_obj_int(b));
  return l;
}

static bool get_pair(const mproc_obj *o, int64_t *a, int64_t *b)
{
  return mproc_obj_len(o) == 2 &&
         mproc_obj_get_int(mproc_obj_list_get(o, 0), a) == 0 &&
         mproc_obj_get_int(mproc_obj_list_get(o, 1), b) == 0;
}

static void mgr_repair(st_ctx *ctx, struct mgr_state *s)
{
  uint64_t sum = 0;
  mproc_obj *v;
  for (int i = 0; i < MGR_CLIENTS_MAX; i++)
    sum += s->tally[i];
  v = mproc_obj_int((int64_t)sum);
  ST_OK(ctx, mproc_proxy_value_set(s->value, v));
  mproc_obj_free(v);
  atomic_fetch_add(&s->repairs, 1);
}

static bool mgr_take(st_ctx *ctx, struct mgr_state *s, const mproc_obj *item,
                     int64_t *next)
{
  int64_t c, q;
  if (!get_pair(item, &c, &q) || c < 0 || c >= s->nclients || q < 0 ||
      q >= MGR_MAX_ITEMS) {
    st_fail(ctx, "a queue item was never put");
    return false;
  }
  if (next != NULL) {
    ST_CHECK(ctx, q >= next[c], "client %lld's item %lld came after %lld",
             (long long)c, (long long)q, (long long)next[c] - 1);
    next[c] = q + 1;
  }
  if (atomic_fetch_or(&s->q_seen[c][q / 8], (uint8_t)(1u << q % 8)) &
      (1u << q % 8))
    st_fail(ctx, "client %lld's item %lld was taken twice", (long long)c,
            (long long)q);
  return true;
}

static void mgr_client(st_ctx *ctx, int me, void *arg)
{
  struct mgr_state *s = arg;
  uint64_t list_seq = 0, q_seq = 0;
  int64_t next[MGR_CLIENTS_MAX] = {0};
  for (uint64_t n = 0; st_more(ctx, n); n++) {
    uint64_t k = st_rng_below(&ctx->rng, 100);
    bool timed_out = false;
    int rc;
    if (k < 30) {
      double t = st_rng_timeout(&ctx->rng, ctx->cfg->chaos, true);
      mproc_obj *v = NULL, *w;
      int64_t x = 0;
      st_op(ctx, "proxy lock acquire (timeout %g)", t);
      rc = mproc_proxy_lock_acquire(s->lock, t);
      if (rc == MPROC_EAGAIN || rc == MPROC_ETIMEDOUT) {
        st_done(ctx, true);
        continue;
      }
      if (rc == MPROC_EOWNERDEAD) {
        ST_CHECK(ctx, ctx->cfg->chaos, "EOWNERDEAD without chaos");
        mgr_repair(ctx, s);
      } else if (rc != 0) {
        st_fail(ctx, "proxy lock acquire returned %s", mproc_err_name(rc));
        return;
      }
      st_op(ctx, "proxy value get/set");
      ST_OK(ctx, mproc_proxy_value_get(s->value, &v));
      ST_OK(ctx, mproc_obj_get_int(v, &x));
      w = mproc_obj_int(x + 1);
      ST_OK(ctx, mproc_proxy_value_set(s->value, w));
      s->tally[me]++;
      mproc_obj_free(v);
      mproc_obj_free(w);
      st_op(ctx, "proxy lock release");
      ST_OK(ctx, mproc_proxy_lock_release(s->lock));
    } else if (k < 50) {
      mproc_obj *p = pair(me, (int64_t)list_seq);
      st_op(ctx, "proxy list append");
      ST_OK(ctx, mproc_proxy_list_append(s->list, p));
      mproc_obj_free(p);
      atomic_store(&s->list_acked[me], ++list_seq);
    } else if (k < 65) {
      mproc_obj *key = mproc_obj_int(me), *val = mproc_obj_int((int64_t)n);
      st_op(ctx, "proxy dict set");
      ST_OK(ctx, mproc_proxy_dict_set(s->dict, key, val));
      atomic_store(&s->dict_last[me], n + 1);
      mproc_obj_free(key);
      mproc_obj_free(val);
    } else if (k < 85 && me % 2 == 0 && q_seq < MGR_MAX_ITEMS) {
      /* Bounded: the consumers may have finished (or been killed). */
      double t = st_rng_timeout(&ctx->rng, ctx->cfg->chaos, false);
      mproc_obj *p = pair(me, (int64_t)q_seq);
      st_op(ctx, "proxy queue put (timeout %g)", t);
      rc = mproc_proxy_queue_put(s->queue, p, t);
      mproc_obj_free(p);
      if (rc == 0)
        atomic_store(&s->q_acked[me], ++q_seq);
      else if (rc == MPROC_EFULL)
        timed_out = true;
      else
        st_fail(ctx, "proxy queue put returned %s", mproc_err_name(rc));
    } else if (k < 85) {
      double t = st_rng_timeout(&ctx->rng, ctx->cfg->chaos, false);
      mproc_obj *item = NULL;
      st_op(ctx, "proxy queue get (timeout %g)", t);
      rc = mproc_proxy_queue_get(s->queue, &item, t);
      if (rc == 0)
        mgr_take(ctx, s, item, next);
      else if (rc == MPROC_EEMPTY)
        timed_out = true;
      else
        st_fail(ctx, "proxy queue get returned %s", mproc_err_name(rc));
      mproc_obj_free(item);
    } else {
      size_t len = 0;
      bool set = false;
      st_op(ctx, "proxy reads");
      ST_OK(ctx, mproc_proxy_list_len(s->list, &len));
      ST_OK(ctx, mproc_proxy_dict_len(s->dict, &len));
      ST_OK(ctx, mproc_proxy_event_is_set(s->event, &set));
      ST_CHECK(ctx, !set, "the event was never set");
    }
    st_done(ctx, timed_out);
  }
}

static void mgr_check(st_ctx *ctx, struct mgr_state *s, const bool *killed,
                      int consumers_killed)
{
  mproc_obj *list = NULL, *v = NULL, *item;
  uint64_t sum = 0, lost = 0, got[MGR_CLIENTS_MAX] = {0};
  int64_t x = -1;
  int rc;

  st_op(ctx, "final checks");
  rc = mproc_proxy_lock_acquire(s->lock, MPROC_FOREVER);
  if (rc == MPROC_EOWNERDEAD)
    mgr_repair(ctx, s);
  else
    ST_OK(ctx, rc);
  for (int i = 0; i < MGR_CLIENTS_MAX; i++)
    sum += s->tally[i];
  ST_OK(ctx, mproc_proxy_value_get(s->value, &v));
  ST_CHECK(ctx, mproc_obj_get_int(v, &x) == 0 && x == (int64_t)sum,
           "the value is %lld, the clients counted %llu", (long long)x,
           (unsigned long long)sum);
  mproc_obj_free(v);
  ST_OK(ctx, mproc_proxy_lock_release(s->lock));

  ST_OK(ctx, mproc_proxy_list_copy(s->list, &list));
  for (size_t i = 0; i < mproc_obj_len(list); i++) {
    int64_t c, q;
    if (!get_pair(mproc_obj_list_get(list, i), &c, &q) || c < 0 ||
        c >= s->nclients) {
      st_fail(ctx, "list item %zu is not a (client, seq) pair", i);
      break;
    }
    ST_CHECK(ctx, (uint64_t)q == got[c],
             "client %lld's list items: %lld where %llu was due",
             (long long)c, (long long)q, (unsigned long long)got[c]);
    got[c] = (uint64_t)q + 1;
  }
  for (int c = 0; c < s->nclients; c++) {
    uint64_t acked = atomic_load(&s->list_acked[c]);
    ST_CHECK(ctx, got[c] == acked || (killed[c] && got[c] == acked + 1),
             "client %d appended %llu items, the list has %llu", c,
             (unsigned long long)acked, (unsigned long long)got[c]);
  }
  mproc_obj_free(list);

  for (int c = 0; c < s->nclients; c++) {
    uint64_t last = atomic_load(&s->dict_last[c]);
    mproc_obj *key = mproc_obj_int(c), *dv = NULL;
    int64_t y = -1;
    if (last == 0)
      continue;
    ST_OK(ctx, mproc_proxy_dict_get(s->dict, key, NULL, &dv));
    mproc_obj_get_int(dv, &y);
    ST_CHECK(ctx, (uint64_t)y == last - 1 || (killed[c] && (uint64_t)y >= last),
             "client %d last set %llu in the dict, it holds %lld", c,
             (unsigned long long)last - 1, (long long)y);
    mproc_obj_free(key);
    mproc_obj_free(dv);
  }

  while (mproc_proxy_queue_get(s->queue, &item, 0) == 0) {
    mgr_take(ctx, s, item, NULL);
    mproc_obj_free(item);
  }
  for (int c = 0; c < s->nclients; c += 2) {
    uint64_t acked = atomic_load(&s->q_acked[c]);
    for (uint64_t q = 0; q < acked; q++)
      lost += !(atomic_load(&s->q_seen[c][q / 8]) & (1u << q % 8));
    if (acked < MGR_MAX_ITEMS &&
        (atomic_load(&s->q_seen[c][acked / 8]) & (1u << acked % 8)))
      ST_CHECK(ctx, killed[c], "client %d's queue item %llu was taken but "
                               "its put never returned 0",
               c, (unsigned long long)acked);
  }
  ST_CHECK(ctx, lost <= (uint64_t)consumers_killed,
           "%llu queue items were lost (%d consumers killed)",
           (unsigned long long)lost, consumers_killed);
  st_done(ctx, false);
}

void st_scenario_manager(st_ctx *ctx)
{
  struct mgr_state *s = st_share(sizeof *s);
  st_group *g = st_group_new();
  bool killed[ST_SLOTS] = {false};
  mproc_process agent;
  mproc_obj *zero = mproc_obj_int(0);
  int consumers_killed = 0;
  s->nclients = ctx->cfg->procs > MGR_CLIENTS_MAX ? MGR_CLIENTS_MAX
                                                  : ctx->cfg->procs;
  st_op(ctx, "manager start");
  ST_OK(ctx, mproc_manager_start(&s->m, NULL));
  ST_OK(ctx, mproc_manager_lock(s->m, &s->lock));
  ST_OK(ctx, mproc_manager_value(s->m, zero, &s->value));
  ST_OK(ctx, mproc_manager_list(s->m, &s->list));
  ST_OK(ctx, mproc_manager_dict(s->m, &s->dict));
  ST_OK(ctx, mproc_manager_queue(s->m, st_rng_below(&ctx->rng, 16),
                                 &s->queue));
  ST_OK(ctx, mproc_manager_event(s->m, &s->event));
  st_done(ctx, false);
  mproc_obj_free(zero);
  st_count_name(ctx, 0, "repairs");
  st_start(ctx, g, s->nclients, "client",
           ST_STORM | ST_STOPPABLE | ST_KILLABLE, mgr_client, s);
  if (ctx->cfg->chaos)
    st_chaos_start(ctx, &agent, ctx->cfg->procs / 2);
  st_join(ctx, g, killed);
  if (ctx->cfg->chaos)
    st_chaos_stop(ctx, &agent);
  for (int c = 1; c < s->nclients; c += 2)
    consumers_killed += killed[c];
  mgr_check(ctx, s, killed, consumers_killed);
  st_count(ctx, 0, atomic_load(&s->repairs));
  mproc_proxy_free(s->lock);
  mproc_proxy_free(s->value);
  mproc_proxy_free(s->list);
  mproc_proxy_free(s->dict);
  mproc_proxy_free(s->queue);
  mproc_proxy_free(s->event);
  st_op(ctx, "manager shutdown");
  ST_OK(ctx, mproc_manager_shutdown(s->m));
  mproc_manager_free(s->m);
  st_done(ctx, false);
  st_group_free(g);
  st_unshare(s, sizeof *s);
}
