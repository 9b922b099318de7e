/* Values as MessagePack, through msgpack-c.
 *
 * msgpack-c allocates a container's element array as soon as it reads the
 * container's header, before the elements arrive, so a few hostile bytes
 * announcing 2^32 elements would make it allocate gigabytes.  Before
 * handing bytes to msgpack-c, scan() walks the headers only and rejects
 * any container that announces more elements than bytes remain (every
 * element takes at least one byte), any length that runs past the end,
 * extension types, and nesting deeper than MPROC_OBJ_MAX_DEPTH. */
#include "internal.h"

#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

/* ---- encode ---- */

/* `depth` counts the containers around `o`. */
static int pack(msgpack_packer *pk, const mproc_obj *o, int depth) {
  if ((o->type == MPROC_OBJ_LIST || o->type == MPROC_OBJ_DICT) &&
      depth >= MPROC_OBJ_MAX_DEPTH)
    return MPROC_EINVAL;
  int rc = 0;
  switch (o->type) {
  case MPROC_OBJ_NONE:
    rc = msgpack_pack_nil(pk);
    break;
  case MPROC_OBJ_BOOL:
    rc = o->u.b ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
    break;
  case MPROC_OBJ_INT:
    rc = msgpack_pack_int64(pk, o->u.i);
    break;
  case MPROC_OBJ_FLOAT:
    rc = msgpack_pack_double(pk, o->u.f);
    break;
  case MPROC_OBJ_STR:
    if (o->u.s.n > UINT32_MAX)
      return MPROC_EINVAL;
    rc = msgpack_pack_str_with_body(pk, o->u.s.p, o->u.s.n);
    break;
  case MPROC_OBJ_BYTES:
    if (o->u.s.n > UINT32_MAX)
      return MPROC_EINVAL;
    rc = msgpack_pack_bin_with_body(pk, o->u.s.p, o->u.s.n);
    break;
  case MPROC_OBJ_LIST:
    if (o->u.c.n > UINT32_MAX)
      return MPROC_EINVAL;
    if (msgpack_pack_array(pk, o->u.c.n) != 0)
      return MPROC_ENOMEM;
    for (size_t i = 0; rc == 0 && i < o->u.c.n; i++)
      rc = pack(pk, o->u.c.items[i], depth + 1);
    return rc;
  case MPROC_OBJ_DICT:
    if (o->u.c.n > UINT32_MAX)
      return MPROC_EINVAL;
    if (msgpack_pack_map(pk, o->u.c.n) != 0)
      return MPROC_ENOMEM;
    for (size_t i = 0; rc == 0 && i < o->u.c.n; i++) {
      rc = pack(pk, o->u.c.items[i], depth + 1);
      if (rc == 0)
        rc = pack(pk, o->u.c.items[o->u.c.cap + i], depth + 1);
    }
    return rc;
  }
  /* msgpack-c's writers report a failed buffer write as non-zero; our
   * writer fails only when memory runs out. */
  return rc == 0 ? 0 : MPROC_ENOMEM;
}

/* msgpack-c writes through this into a buffer of ours, so that the
 * caller frees with the same allocator that made it. */
typedef struct outbuf {
  char *p;
  size_t n, cap;
} outbuf;

static int out_write(void *data, const char *bytes, size_t len) {
  outbuf *b = data;
  if (len > SIZE_MAX / 2 - b->n)
    return -1;
  if (b->n + len > b->cap) {
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->n + len)
      cap *= 2;
    char *p = realloc(b->p, cap);
    if (p == NULL)
      return -1;
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->n, bytes, len);
  b->n += len;
  return 0;
}

int mproc_obj_encode(const mproc_obj *o, void **buf, size_t *len) {
  if (o == NULL || buf == NULL || len == NULL)
    return MPROC_EINVAL;
  outbuf b = {0};
  msgpack_packer pk;
  msgpack_packer_init(&pk, &b, out_write);
  int rc = pack(&pk, o, 0);
  if (rc != 0) {
    free(b.p);
    return rc;
  }
  *len = b.n;
  *buf = b.p;
  return 0;
}

/* ---- structural scan ---- */

static uint64_t be(const unsigned char *p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; i++)
    v = (v << 8) | p[i];
  return v;
}

static int scan(const unsigned char *p, size_t len) {
  uint64_t left[MPROC_OBJ_MAX_DEPTH + 2]; /* values still due per level */
  int depth = 0;
  left[0] = 1;
  size_t off = 0;
  while (depth >= 0) {
    if (left[depth] == 0) {
      depth--;
      continue;
    }
    left[depth]--;
    if (off >= len)
      return MPROC_EPROTO;
    unsigned c = p[off++];
    size_t rest = len - off;
    uint64_t blob = 0, items = 0;
    int hdr = 0;
    bool container = false;
    if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3) {
      continue; /* fixints, nil, booleans */
    } else if (c >= 0x80 && c <= 0x8f) {
      items = 2u * (c & 0x0f), container = true;
    } else if (c >= 0x90 && c <= 0x9f) {
      items = c & 0x0f, container = true;
    } else if (c >= 0xa0 && c <= 0xbf) {
      blob = c & 0x1f;
    } else {
      switch (c) {
      case 0xc4: case 0xd9: hdr = 1; break; /* bin8, str8 */
      case 0xc5: case 0xda: hdr = 2; break;
      case 0xc6: case 0xdb: hdr = 4; break;
      case 0xca: blob = 4; break;            /* float32 */
      case 0xcb: blob = 8; break;            /* float64 */
      case 0xcc: case 0xd0: blob = 1; break; /* 8-bit ints */
      case 0xcd: case 0xd1: blob = 2; break;
      case 0xce: case 0xd2: blob = 4; break;
      case 0xcf: case 0xd3: blob = 8; break;
      case 0xdc: case 0xde: hdr = 2; container = true; break;
      case 0xdd: case 0xdf: hdr = 4; container = true; break;
      default:
        return MPROC_EPROTO; /* 0xc1, extension types */
      }
      if (hdr > 0) {
        if (rest < (size_t)hdr)
          return MPROC_EPROTO;
        uint64_t n = be(p + off, hdr);
        off += hdr;
        rest -= hdr;
        if (container)
          items = (c == 0xde || c == 0xdf) ? 2 * n : n;
        else
          blob = n;
      }
    }
    if (container) {
      if (items > rest)
        return MPROC_EPROTO; /* announces more than can follow */
      /* An empty container still takes a level of msgpack-c's stack. */
      if (depth + 1 > MPROC_OBJ_MAX_DEPTH)
        return MPROC_EPROTO;
      if (items > 0)
        left[++depth] = items;
    } else {
      if (blob > rest)
        return MPROC_EPROTO;
      off += blob;
    }
  }
  return off == len ? 0 : MPROC_EPROTO;
}

/* ---- decode ---- */

static int convert(const msgpack_object *m, mproc_obj **out) {
  mproc_obj *o = NULL;
  switch (m->type) {
  case MSGPACK_OBJECT_NIL:
    o = mproc_obj_none();
    break;
  case MSGPACK_OBJECT_BOOLEAN:
    o = mproc_obj_bool(m->via.boolean);
    break;
  case MSGPACK_OBJECT_POSITIVE_INTEGER:
    if (m->via.u64 > INT64_MAX)
      return MPROC_EPROTO;
    o = mproc_obj_int((int64_t)m->via.u64);
    break;
  case MSGPACK_OBJECT_NEGATIVE_INTEGER:
    o = mproc_obj_int(m->via.i64);
    break;
  case MSGPACK_OBJECT_FLOAT32:
  case MSGPACK_OBJECT_FLOAT64:
    o = mproc_obj_float(m->via.f64);
    break;
  case MSGPACK_OBJECT_STR:
    if (!mproc__utf8_valid((const unsigned char *)m->via.str.ptr,
                           m->via.str.size))
      return MPROC_EPROTO;
    o = mproc_obj_strn(m->via.str.ptr, m->via.str.size);
    break;
  case MSGPACK_OBJECT_BIN:
    o = mproc_obj_bytes(m->via.bin.ptr, m->via.bin.size);
    break;
  case MSGPACK_OBJECT_ARRAY:
    o = mproc_obj_list();
    for (uint32_t i = 0; o != NULL && i < m->via.array.size; i++) {
      mproc_obj *item = NULL;
      int rc = convert(&m->via.array.ptr[i], &item);
      if (rc == 0)
        rc = mproc_obj_list_append(o, item);
      if (rc != 0) {
        mproc_obj_free(o);
        return rc;
      }
    }
    break;
  case MSGPACK_OBJECT_MAP:
    o = mproc_obj_dict();
    for (uint32_t i = 0; o != NULL && i < m->via.map.size; i++) {
      mproc_obj *k = NULL, *v = NULL;
      int rc = convert(&m->via.map.ptr[i].key, &k);
      if (rc == 0 && k->type != MPROC_OBJ_STR && k->type != MPROC_OBJ_INT)
        rc = MPROC_EPROTO;
      if (rc == 0)
        rc = convert(&m->via.map.ptr[i].val, &v);
      if (rc == 0)
        rc = mproc_obj_dict_set(o, k, v);
      else {
        mproc_obj_free(k);
        mproc_obj_free(v);
      }
      if (rc != 0) {
        mproc_obj_free(o);
        return rc;
      }
    }
    break;
  default:
    return MPROC_EPROTO;
  }
  if (o == NULL)
    return MPROC_ENOMEM;
  *out = o;
  return 0;
}

int mproc_obj_decode(const void *buf, size_t len, mproc_obj **out) {
  if ((buf == NULL && len > 0) || out == NULL)
    return MPROC_EINVAL;
  if (len == 0)
    return MPROC_EPROTO;
  int rc = scan(buf, len);
  if (rc != 0)
    return rc;
  msgpack_unpacked u;
  msgpack_unpacked_init(&u);
  size_t off = 0;
  msgpack_unpack_return r = msgpack_unpack_next(&u, buf, len, &off);
  if (r == MSGPACK_UNPACK_SUCCESS && off == len)
    rc = convert(&u.data, out);
  else
    rc = r == MSGPACK_UNPACK_NOMEM_ERROR ? MPROC_ENOMEM : MPROC_EPROTO;
  msgpack_unpacked_destroy(&u);
  return rc;
}
