/* The allocation wrappers of the fault-injection tests (oom.c,
 * oom_processes.c), linked with -Wl,--wrap=malloc,calloc,realloc,free.
 * The including file defines, before including this:
 *   static bool fail_now(void);    whether this allocation fails;
 *   static _Atomic long live;      blocks allocated here, not yet freed. */
#ifndef MPROC_TESTS_ALLOC_WRAP_H
#define MPROC_TESTS_ALLOC_WRAP_H

#include <stddef.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t m);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t m);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);

static void *counted(void *p) {
  if (p != NULL)
    live++;
  return p;
}

void *__wrap_malloc(size_t n) {
  return fail_now() ? NULL : counted(__real_malloc(n));
}
void *__wrap_calloc(size_t n, size_t m) {
  return fail_now() ? NULL : counted(__real_calloc(n, m));
}
void *__wrap_realloc(void *p, size_t n) {
  if (fail_now())
    return NULL;
  void *q = __real_realloc(p, n);
  return p == NULL ? counted(q) : q;
}
void __wrap_free(void *p) {
  if (p != NULL)
    live--;
  __real_free(p);
}

#endif
