/* Helpers shared by every fuzz target (see fuzz.h). */
#define _GNU_SOURCE
#include "fuzz.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void fuzz_fail(const char *file, int line, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  fprintf(stderr, "FUZZ FINDING %s:%d (pid %ld): %s\n", file, line,
          (long)getpid(), msg);
  fflush(stderr);
  abort();
}

int fuzz_count_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  if (d == NULL)
    return -1;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    if (e->d_name[0] != '.')
      n++;
  closedir(d);
  return n - 1; /* the directory stream's own descriptor */
}

bool fuzz_known(const char *tag) {
  const char *p = getenv("FUZZ_KNOWN");
  size_t n = strlen(tag);
  while (p != NULL && *p != '\0') {
    if (strncmp(p, tag, n) == 0 && (p[n] == ',' || p[n] == '\0'))
      return true;
    p = strchr(p, ',');
    if (p != NULL)
      p++;
  }
  return false;
}

double fuzz_time_scale(double seconds) {
  static double factor;
  if (factor == 0) {
    const char *s = getenv("MPROC_TIME_SCALE");
    char *end;
    double f = s != NULL ? strtod(s, &end) : 1;
    if (s != NULL && (end == s || !(f > 0)))
      f = 1;
    factor = f;
  }
  return seconds * factor;
}

bool fuzz_obj_same(const mproc_obj *a, const mproc_obj *b) {
  mproc_obj_type t = mproc_obj_type_of(a);
  if (t != mproc_obj_type_of(b) || (a == NULL) != (b == NULL))
    return false;
  size_t n = mproc_obj_len(a);
  switch (t) {
  case MPROC_OBJ_NONE:
    return true;
  case MPROC_OBJ_BOOL: {
    bool x = false, y = false;
    mproc_obj_get_bool(a, &x);
    mproc_obj_get_bool(b, &y);
    return x == y;
  }
  case MPROC_OBJ_INT: {
    int64_t x = 0, y = 0;
    mproc_obj_get_int(a, &x);
    mproc_obj_get_int(b, &y);
    return x == y;
  }
  case MPROC_OBJ_FLOAT: {
    double x = 0, y = 0;
    mproc_obj_get_float(a, &x);
    mproc_obj_get_float(b, &y);
    return memcmp(&x, &y, sizeof x) == 0;
  }
  case MPROC_OBJ_STR:
    return n == mproc_obj_len(b) &&
           memcmp(mproc_obj_str_value(a), mproc_obj_str_value(b), n + 1) == 0;
  case MPROC_OBJ_BYTES: {
    size_t la = 0, lb = 0;
    const void *pa = mproc_obj_bytes_value(a, &la);
    const void *pb = mproc_obj_bytes_value(b, &lb);
    return la == n && lb == la && pa != NULL && pb != NULL &&
           memcmp(pa, pb, la) == 0;
  }
  case MPROC_OBJ_LIST:
    if (n != mproc_obj_len(b))
      return false;
    for (size_t i = 0; i < n; i++)
      if (!fuzz_obj_same(mproc_obj_list_get(a, i), mproc_obj_list_get(b, i)))
        return false;
    return true;
  case MPROC_OBJ_DICT:
    if (n != mproc_obj_len(b))
      return false;
    for (size_t i = 0; i < n; i++)
      if (!fuzz_obj_same(mproc_obj_dict_key(a, i), mproc_obj_dict_key(b, i)) ||
          !fuzz_obj_same(mproc_obj_dict_value(a, i),
                         mproc_obj_dict_value(b, i)))
        return false;
    return true;
  }
  return false;
}
