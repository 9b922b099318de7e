/* Error names and messages, generated from the single list in mproc.h. */
#include "internal.h"

const char *mproc_strerror(int err) {
  switch (err) {
  case 0:
    return "success";
#define MPROC__ERR_MSG(name, val, msg)                                        \
  case MPROC_##name:                                                          \
    return msg;
    MPROC_ERRNO_MAP(MPROC__ERR_MSG)
#undef MPROC__ERR_MSG
  }
  return "unknown error";
}

const char *mproc_err_name(int err) {
  switch (err) {
  case 0:
    return "OK";
#define MPROC__ERR_NAME(name, val, msg)                                       \
  case MPROC_##name:                                                          \
    return #name;
    MPROC_ERRNO_MAP(MPROC__ERR_NAME)
#undef MPROC__ERR_NAME
  }
  return "UNKNOWN";
}

const char *mproc_implementation(void) {
  return "mproc-ref " PACKAGE_VERSION;
}
