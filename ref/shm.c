/* Shared memory for primitives: each object gets its own anonymous
 * MAP_SHARED mapping, which children forked later inherit at the same
 * address.  A small header records the mapping's size for munmap. */
#include "internal.h"

#include <errno.h>
#include <sys/mman.h>

typedef struct shm_header {
  size_t size;
  char pad[64 - sizeof(size_t)]; /* keeps the payload cache-line aligned */
} shm_header;

void *mproc__shm_alloc(size_t size, int *err) {
  if (size > SIZE_MAX - sizeof(shm_header)) { /* LCOV_EXCL_START: a guard: callers pass fixed sizes, and mproc_array_new refuses lengths that come near SIZE_MAX (ERANGE) */
    *err = MPROC_ENOMEM;
    return NULL;
  } /* LCOV_EXCL_STOP */
  size_t total = size + sizeof(shm_header);
  void *p = mmap(NULL, total, PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    *err = errno == ENOMEM ? MPROC_ENOMEM : MPROC_ERESOURCE; /* LCOV_EXCL_BR_LINE: an anonymous shared mmap(2) fails with ENOMEM (address space or map count; tests provoke the first) or with ENFILE, the system-wide file table, which a test cannot fill */
    return NULL;
  }
  shm_header *h = p;
  h->size = total;
  return h + 1;
}

void mproc__shm_free(void *p) {
  if (p == NULL)
    return;
  shm_header *h = (shm_header *)p - 1;
  munmap(h, h->size);
}
