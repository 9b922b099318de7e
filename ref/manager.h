/* The manager's wire protocol, shared by the client (manager.c) and the
 * server (manager_server.c).  Internal.
 *
 * Handshake (raw frames), as the documented system's authkey exchange:
 *   server: "#CHALLENGE#" + 32 random bytes
 *   client: HMAC-SHA256(key, those 32 bytes)
 *   server: "#WELCOME#" or "#FAILURE#" (and closes)
 *   client: "#CHALLENGE#" + 32 random bytes
 *   server: HMAC-SHA256(key, those 32 bytes); the client checks it
 * Then requests and replies are values:
 *   request [op, object id, args...]
 *   reply   [0, result] or [1, MPROC_E* code, message] */
#ifndef MPROC_MANAGER_H
#define MPROC_MANAGER_H

#include "internal.h"

#define MGR_CHALLENGE "#CHALLENGE#"
#define MGR_WELCOME "#WELCOME#"
#define MGR_FAILURE "#FAILURE#"
#define MGR_NONCE 32
#define MGR_DIGEST 32
#define MGR_AUTH_MAX_MESSAGE 64
#define MGR_AUTH_SECONDS 5.0

enum mgr_kind {
  K_DICT = 1,
  K_LIST,
  K_NS,
  K_QUEUE,
  K_LOCK,
  K_EVENT,
  K_VALUE,
};

enum mgr_op {
  OP_CREATE = 1, /* [op, 0, kind, arg] -> id */
  OP_DICT_SET,
  OP_DICT_GET,   /* [op, id, key, has_default, default] */
  OP_DICT_DEL,
  OP_DICT_CONTAINS,
  OP_DICT_LEN,
  OP_DICT_KEYS,
  OP_DICT_ITEMS,
  OP_DICT_COPY,
  OP_LIST_APPEND,
  OP_LIST_EXTEND,
  OP_LIST_GET,
  OP_LIST_SET,
  OP_LIST_POP,
  OP_LIST_LEN,
  OP_LIST_COPY,
  OP_NS_SET,
  OP_NS_GET,
  OP_NS_DEL,
  OP_Q_PUT,      /* [op, id, value, timeout] */
  OP_Q_GET,      /* [op, id, timeout] */
  OP_Q_QSIZE,
  OP_LOCK_ACQUIRE, /* [op, id, timeout] */
  OP_LOCK_RELEASE,
  OP_EVENT_SET,
  OP_EVENT_CLEAR,
  OP_EVENT_IS_SET,
  OP_EVENT_WAIT, /* [op, id, timeout] */
  OP_VALUE_GET,
  OP_VALUE_SET,
  OP_SHUTDOWN,
  OP__COUNT
};

/* Runs the server on `listen_fd` until asked to stop, its parent dies or
 * it is terminated; removes `path` and `dir` on the way out. */
_Noreturn void mproc__manager_serve(int listen_fd, const char *dir,
                                    const char *path, const void *key,
                                    size_t keylen, size_t max_message,
                                    pid_t parent);

void mproc__hmac_sha256(const void *key, size_t keylen, const void *msg,
                        size_t msglen, unsigned char out[32]);
bool mproc__digest_equal(const unsigned char *a, const unsigned char *b,
                         size_t n);
/* Random bytes from the kernel; 0 or ERESOURCE. */
int mproc__random(void *buf, size_t n);

/* A connection over an existing socket descriptor (taken). */
mproc_conn *mproc__conn_wrap(int fd, size_t max_message);
/* Frees a connection inherited across fork without closing its
 * descriptor (the fork hook already closed it). */
void mproc__conn_forget(mproc_conn *c);
/* Writes the frame header for a message of `len` bytes into hdr; returns
 * its size (4, or 12 from 4 GiB on). */
size_t mproc__conn_header(size_t len, unsigned char hdr[12]);

#endif
