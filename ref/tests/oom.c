/* Out-of-memory paths of the reference library, by fault injection:
 * every allocation the library makes goes through the wrappers below
 * (linked with -Wl,--wrap), and each scenario is run again and again with
 * its 1st, 2nd, 3rd ... allocation failing, until a run sees no injected
 * failure.  Each run must return an error (not crash, not hang) and give
 * back every byte (the heap's in-use size returns to where it was).
 * This is a unit test of ref/, not a conformance test: other
 * implementations have their own allocation strategies. */
#include <check.h>
#include <mproc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* Atomic: a pool's result thread allocates too. */
static _Atomic long countdown = -1; /* fail when it reaches 0; -1: never */
static _Atomic long injected;
static _Atomic long live; /* blocks allocated through the wrappers, not freed */

static bool fail_now(void) {
  if (countdown < 0)
    return false;
  if (countdown-- == 0) {
    injected++;
    return true;
  }
  return false;
}


#include "alloc_wrap.h"

typedef int (*scenario_fn)(void);

/* Runs `fn` with the k-th allocation failing, k = 0, 1, 2 ... until a
 * run injects nothing; returns the number of failing runs. */
static long exhaust(scenario_fn fn, const char *name) {
  long runs = 0;
  for (long k = 0;; k++) {
    long before = live;
    injected = 0;
    countdown = k;
    int rc = fn();
    countdown = -1;
    ck_assert_msg(live == before, "%s: allocation %ld failing leaked %ld blocks",
                  name, k, live - before);
    if (injected == 0) {
      ck_assert_msg(rc == 0, "%s: without failures it returned %s", name,
                    mproc_err_name(rc));
      return runs;
    }
    runs++;
    ck_assert_msg(rc == 0 || rc == MPROC_ENOMEM || rc == MPROC_EBROKEN ||
                      rc == MPROC_EEOF || rc == MPROC_ERESOURCE,
                  "%s: allocation %ld failing gave %s", name, k,
                  mproc_err_name(rc));
  }
}

/* ---- scenarios: each cleans up whatever it made ---- */

static mproc_obj *sample(void) {
  mproc_obj *d = mproc_obj_dict();
  mproc_obj_dict_set(d, mproc_obj_str("name"), mproc_obj_str("item_3"));
  mproc_obj_dict_set(d, mproc_obj_int(7), mproc_obj_float(1.5));
  mproc_obj *l = mproc_obj_list();
  for (int i = 0; i < 20; i++)
    mproc_obj_list_append(l, mproc_obj_int(i));
  mproc_obj_list_append(l, mproc_obj_bytes("\x00\x01", 2));
  mproc_obj_list_append(l, mproc_obj_none());
  mproc_obj_list_append(l, mproc_obj_bool(true));
  mproc_obj_dict_set(d, mproc_obj_str("list"), l);
  mproc_obj_dict_set(d, mproc_obj_str("name"), mproc_obj_str("replaced"));
  return d;
}

static int obj_scenario(void) {
  mproc_obj *d = sample();
  if (d == NULL)
    return MPROC_ENOMEM;
  int rc = 0;
  mproc_obj *c = mproc_obj_copy(d);
  char *r = mproc_obj_repr(d);
  void *buf = NULL;
  size_t len = 0;
  int erc = mproc_obj_encode(d, &buf, &len);
  mproc_obj *back = NULL;
  int drc = erc == 0 ? mproc_obj_decode(buf, len, &back) : erc;
  if (c == NULL || r == NULL || erc != 0 || drc != 0)
    rc = MPROC_ENOMEM;
  else if (!mproc_obj_equal(d, back))
    rc = MPROC_EPROTO; /* a half-built value compared equal: a bug */
  free(buf);
  free(r);
  mproc_obj_free(back);
  mproc_obj_free(c);
  mproc_obj_free(d);
  return rc;
}

static int pipe_scenario(void) {
  mproc_conn *a = NULL, *b = NULL;
  int rc = mproc_pipe(&a, &b, NULL);
  if (rc != 0)
    return rc;
  mproc_obj *o = sample();
  rc = o == NULL ? MPROC_ENOMEM : mproc_conn_send(a, o);
  mproc_obj *got = NULL;
  if (rc == 0)
    rc = mproc_conn_poll(b, 1);
  if (rc == 0) {
    bool ready[2];
    mproc_conn *both[2] = {b, a};
    rc = mproc_conn_wait(both, 2, 1, ready);
  }
  if (rc == 0)
    rc = mproc_conn_recv(b, &got, 1);
  if (rc == 0 && !mproc_obj_equal(o, got))
    rc = MPROC_EPROTO;
  mproc_obj_free(got);
  mproc_obj_free(o);
  mproc_conn_free(a);
  mproc_conn_free(b);
  return rc;
}

static int queue_scenario(void) {
  mproc_queue *q = NULL;
  mproc_queue_options opts = {.capacity = 1 << 20};
  int rc = mproc_joinable_queue_new(&q, &opts);
  if (rc != 0)
    return rc;
  mproc_obj *o = sample();
  rc = o == NULL ? MPROC_ENOMEM : mproc_queue_put(q, o, 0);
  mproc_obj *got = NULL;
  if (rc == 0) {
    rc = mproc_queue_get(q, &got, 0);
    if (rc == MPROC_ENOMEM) /* the item stays: a second get finds it */
      rc = mproc_queue_get(q, &got, 0);
  }
  if (rc == 0 && !mproc_obj_equal(o, got))
    rc = MPROC_EPROTO;
  if (rc == 0)
    rc = mproc_queue_task_done(q);
  mproc_obj_free(got);
  mproc_obj_free(o);
  mproc_queue_free(q);
  return rc == MPROC_EEMPTY ? MPROC_ENOMEM : rc;
}

static int never_run(void *arg) {
  (void)arg;
  return 0;
}

static int process_scenario(void) {
  mproc_process p;
  mproc_process_options o = {.target = never_run,
                             .name = "a name"};
  int rc = mproc_process_init(&p, &o);
  if (rc != 0)
    return rc;
  return mproc_process_close(&p);
}

static int pool_scenario(void) {
  mproc_pool *p = NULL;
  mproc_pool_options o = {.processes = 1};
  int rc = mproc_pool_new(&p, &o);
  if (rc != 0)
    return rc;
  mproc_pool_free(p);
  return 0;
}

START_TEST(oom_values_fail_cleanly) {
  ck_assert_int_gt(exhaust(obj_scenario, "values"), 10);
}
END_TEST

START_TEST(oom_pipes_fail_cleanly) {
  ck_assert_int_gt(exhaust(pipe_scenario, "pipes"), 5);
}
END_TEST

START_TEST(oom_queues_fail_cleanly) {
  ck_assert_int_gt(exhaust(queue_scenario, "queues"), 3);
}
END_TEST

START_TEST(oom_processes_fail_cleanly) {
  ck_assert_int_gt(exhaust(process_scenario, "processes"), 1);
}
END_TEST

START_TEST(oom_pools_fail_cleanly) {
  ck_assert_int_gt(exhaust(pool_scenario, "pools"), 1);
}
END_TEST

int main(void) {
  Suite *s = suite_create("oom");
  TCase *tc = tcase_create("oom");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, oom_values_fail_cleanly);
  tcase_add_test(tc, oom_pipes_fail_cleanly);
  tcase_add_test(tc, oom_queues_fail_cleanly);
  tcase_add_test(tc, oom_processes_fail_cleanly);
  tcase_add_test(tc, oom_pools_fail_cleanly);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int run = srunner_ntests_run(sr), failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  printf("%d passed, %d failed\n", run - failed, failed);
  return failed == 0 ? 0 : 1;
}
