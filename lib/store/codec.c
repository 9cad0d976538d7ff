/*
 * Command codec of the replicated store: the bytes that go into raft log
 * entries.  An entry is a format version byte, the body length as a varint,
 * the body (command type byte and its fields) and zero padding up to a
 * multiple of 8 bytes, which libraft wants for entry buffers.
 *
 * The decoder runs on every node for every entry, so it is strict and
 * total: every length is checked against what is left of the buffer before
 * use, varints must be in their shortest form, flags may not carry unknown
 * bits, padding must be zero and nothing may trail.  Strictness makes the
 * encoding canonical (decode then encode gives the same bytes back), which
 * the tests use to check that a corrupted entry is either refused or is a
 * different well-formed command, never something half-read.
 *
 * Limits: the decoder enforces only the format's own bounds (key
 * 1..STORE_KEY_MAX, values up to STORE_VALUE_CEILING); the configurable
 * store limits are checked by the encoder, at proposal time, so that nodes
 * with different settings still apply the same log the same way.
 */
#include <inttypes.h>
#include <string.h>

#include "store.h"

void store_limits_default(store_limits *lim) {
  lim->key_max = STORE_KEY_MAX;
  lim->value_max = STORE_VALUE_MAX_DEFAULT;
}

const char *store_cmd_name(int type) {
  switch (type) {
#define X(name, code, str) \
  case STORE_CMD_##name:   \
    return str;
    STORE_CMD_MAP(X)
#undef X
    default:
      return "unknown";
  }
}

const char *store_status_str(int status) {
  switch (status) {
#define X(name, code, str) \
  case STORE_##name:       \
    return str;
    STORE_STATUS_MAP(X)
#undef X
    default:
      return "unknown status";
  }
}

/* ---- field table
 * -------------------------------------------------------------
 *
 * Each command is a fixed sequence of fields; one table drives sizing,
 * encoding, decoding and limit checks so they cannot disagree. */

enum field_kind {
  F_KEY,   /* bytes, 1..key limit */
  F_VALUE, /* bytes, 0..value limit */
  F_NAME,  /* bytes, 0..key limit (addresses) */
  F_U64,   /* varint */
  F_I64,   /* zigzag varint */
  F_FLAGS, /* CAS flag byte; makes the next two F_VALUEs optional */
};

typedef struct field {
  enum field_kind kind;
  const char *name;
  size_t off; /* offset of the store_slice / integer in store_cmd */
} field;

#define FOFF(member) offsetof(store_cmd, u.member)

static const field put_fields[] = {{F_KEY, "key", FOFF(put.key)},
                                   {F_VALUE, "value", FOFF(put.value)}};
static const field del_fields[] = {{F_KEY, "key", FOFF(del.key)}};
static const field cas_fields[] = {{F_KEY, "key", FOFF(cas.key)},
                                   {F_FLAGS, "flags", FOFF(cas.flags)},
                                   {F_VALUE, "expected", FOFF(cas.expected)},
                                   {F_VALUE, "value", FOFF(cas.value)}};
static const field incr_fields[] = {{F_KEY, "key", FOFF(incrby.key)},
                                    {F_I64, "delta", FOFF(incrby.delta)}};
static const field pput_fields[] = {
    {F_KEY, "name", FOFF(pipeline_put.name)},
    {F_VALUE, "definition", FOFF(pipeline_put.definition)}};
static const field pdel_fields[] = {
    {F_KEY, "name", FOFF(pipeline_delete.name)}};
static const field pstate_fields[] = {
    {F_KEY, "name", FOFF(pipeline_state.name)},
    {F_U64, "paused", FOFF(pipeline_state.paused)}};
static const field ckpt_fields[] = {
    {F_KEY, "pipeline", FOFF(checkpoint.pipeline)},
    {F_KEY, "source", FOFF(checkpoint.source)},
    {F_VALUE, "position", FOFF(checkpoint.position)},
    {F_U64, "term", FOFF(checkpoint.term)}};
static const field member_fields[] = {
    {F_U64, "id", FOFF(member.id)},
    {F_NAME, "raft address", FOFF(member.raft_addr)},
    {F_NAME, "http address", FOFF(member.http_addr)}};

/* kv commands (16..40): fields of u.kv, see store.h. */
static const field kvset_fields[] = {{F_KEY, "key", FOFF(kv.key)},
                                     {F_VALUE, "value", FOFF(kv.value)},
                                     {F_U64, "flags", FOFF(kv.flags)},
                                     {F_U64, "now", FOFF(kv.now)},
                                     {F_U64, "expire", FOFF(kv.expire)}};
static const field kvmset_fields[] = {{F_VALUE, "pairs", FOFF(kv.value)},
                                      {F_U64, "flags", FOFF(kv.flags)},
                                      {F_U64, "now", FOFF(kv.now)}};
static const field kvappend_fields[] = {{F_KEY, "key", FOFF(kv.key)},
                                        {F_VALUE, "value", FOFF(kv.value)},
                                        {F_U64, "now", FOFF(kv.now)}};
static const field kvkey_fields[] = {{F_KEY, "key", FOFF(kv.key)},
                                     {F_U64, "now", FOFF(kv.now)}};
static const field kvexpire_fields[] = {{F_KEY, "key", FOFF(kv.key)},
                                        {F_U64, "flags", FOFF(kv.flags)},
                                        {F_U64, "now", FOFF(kv.now)},
                                        {F_U64, "expire", FOFF(kv.expire)}};
static const field kvincr_fields[] = {{F_KEY, "key", FOFF(kv.key)},
                                      {F_I64, "delta", FOFF(kv.delta)},
                                      {F_U64, "now", FOFF(kv.now)}};
static const field kvflush_fields[] = {{F_U64, "now", FOFF(kv.now)}};
static const field kvrename_fields[] = {{F_KEY, "key", FOFF(kv.key)},
                                        {F_KEY, "destination", FOFF(kv.value)},
                                        {F_U64, "flags", FOFF(kv.flags)},
                                        {F_U64, "now", FOFF(kv.now)}};
static const field kvcheck_fields[] = {{F_KEY, "key", FOFF(kv.key)},
                                       {F_VALUE, "value", FOFF(kv.value)},
                                       {F_U64, "flags", FOFF(kv.flags)},
                                       {F_U64, "now", FOFF(kv.now)},
                                       {F_U64, "span", FOFF(kv.span)}};
static const field mresp_fields[] = {
    {F_U64, "id", FOFF(member.id)},
    {F_NAME, "resp address", FOFF(member.resp_addr)}};

typedef struct cmd_spec {
  const field *fields;
  size_t n;
} cmd_spec;

/* Indexed by type; BATCH has its own code. */
static const cmd_spec *spec_of(int type) {
  static const cmd_spec specs[] = {
      [STORE_CMD_PUT] = {put_fields, WIRE_ARRAY_SIZE(put_fields)},
      [STORE_CMD_DELETE] = {del_fields, WIRE_ARRAY_SIZE(del_fields)},
      [STORE_CMD_CAS] = {cas_fields, WIRE_ARRAY_SIZE(cas_fields)},
      [STORE_CMD_INCRBY] = {incr_fields, WIRE_ARRAY_SIZE(incr_fields)},
      [STORE_CMD_PIPELINE_PUT] = {pput_fields, WIRE_ARRAY_SIZE(pput_fields)},
      [STORE_CMD_PIPELINE_DELETE] = {pdel_fields, WIRE_ARRAY_SIZE(pdel_fields)},
      [STORE_CMD_CHECKPOINT] = {ckpt_fields, WIRE_ARRAY_SIZE(ckpt_fields)},
      [STORE_CMD_MEMBER_META] = {member_fields, WIRE_ARRAY_SIZE(member_fields)},
      [STORE_CMD_PIPELINE_STATE] = {pstate_fields,
                                    WIRE_ARRAY_SIZE(pstate_fields)},
      [STORE_CMD_PIPELINE_CREATE] = {pput_fields, WIRE_ARRAY_SIZE(pput_fields)},
      [STORE_CMD_KV_SET] = {kvset_fields, WIRE_ARRAY_SIZE(kvset_fields)},
      [STORE_CMD_KV_MSET] = {kvmset_fields, WIRE_ARRAY_SIZE(kvmset_fields)},
      [STORE_CMD_KV_APPEND] = {kvappend_fields,
                               WIRE_ARRAY_SIZE(kvappend_fields)},
      [STORE_CMD_KV_GETDEL] = {kvkey_fields, WIRE_ARRAY_SIZE(kvkey_fields)},
      [STORE_CMD_KV_EXPIRE] = {kvexpire_fields,
                               WIRE_ARRAY_SIZE(kvexpire_fields)},
      [STORE_CMD_KV_DEL] = {kvkey_fields, WIRE_ARRAY_SIZE(kvkey_fields)},
      [STORE_CMD_KV_INCRBY] = {kvincr_fields, WIRE_ARRAY_SIZE(kvincr_fields)},
      [STORE_CMD_KV_FLUSH] = {kvflush_fields, WIRE_ARRAY_SIZE(kvflush_fields)},
      [STORE_CMD_KV_EXPIRED] = {kvkey_fields, WIRE_ARRAY_SIZE(kvkey_fields)},
      [STORE_CMD_MEMBER_RESP] = {mresp_fields, WIRE_ARRAY_SIZE(mresp_fields)},
      [STORE_CMD_KV_GET] = {kvkey_fields, WIRE_ARRAY_SIZE(kvkey_fields)},
      [STORE_CMD_KV_CHECK] = {kvcheck_fields, WIRE_ARRAY_SIZE(kvcheck_fields)},
      [STORE_CMD_KV_RENAME] = {kvrename_fields,
                               WIRE_ARRAY_SIZE(kvrename_fields)},
      [STORE_CMD_KV_INCRBYFLOAT] = {kvappend_fields,
                                    WIRE_ARRAY_SIZE(kvappend_fields)},
  };
  if (type <= 0 || (size_t)type >= WIRE_ARRAY_SIZE(specs)) return NULL;
  return specs[type].fields ? &specs[type] : NULL;
}

static store_slice *slice_at(store_cmd *c, size_t off) {
  return (store_slice *)(void *)((char *)c + off);
}
static const store_slice *cslice_at(const store_cmd *c, size_t off) {
  return (const store_slice *)(const void *)((const char *)c + off);
}

/* ---- varints
 * ------------------------------------------------------------------ */

static size_t varint_size(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    n++;
  }
  return n;
}

static char *varint_put(char *p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = (char)(0x80 | (v & 0x7f));
    v >>= 7;
  }
  *p++ = (char)v;
  return p;
}

static uint64_t zigzag(int64_t v) {
  return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}
static int64_t unzigzag(uint64_t v) {
  return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* Reader over [p, end): every read checks bounds and records why it failed. */
typedef struct reader {
  const char *start, *p, *end;
  char *err;
  size_t errsz;
} reader;

static int rd_fail(reader *r, int code, const char *what, const char *why) {
  return core_msg(r->err, r->errsz, code, "command: %s at byte %zu: %s", what,
                  (size_t)(r->p - r->start), why);
}

static int rd_varint(reader *r, const char *what, uint64_t *out) {
  uint64_t v = 0;
  for (unsigned i = 0; i < 10; i++) {
    if (r->p >= r->end) return rd_fail(r, WIRE_EPARSE, what, "truncated");
    unsigned char b = (unsigned char)*r->p++;
    if (i == 9 && b > 1)
      return rd_fail(r, WIRE_EPARSE, what, "varint overflows 64 bits");
    v |= (uint64_t)(b & 0x7f) << (7 * i);
    if (!(b & 0x80)) {
      if (b == 0 && i > 0)
        return rd_fail(r, WIRE_EPARSE, what, "overlong varint");
      *out = v;
      return WIRE_OK;
    }
  }
  return rd_fail(r, WIRE_EPARSE, what, "varint longer than 10 bytes");
}

static int rd_bytes(reader *r, const char *what, size_t min, size_t max,
                    store_slice *out) {
  uint64_t n = 0; /* -O3 cannot see rd_varint sets it */
  int rc = rd_varint(r, what, &n);
  if (rc) return rc;
  if (n > (uint64_t)(r->end - r->p))
    return rd_fail(r, WIRE_EPARSE, what, "length runs past the end");
  if (n < min) return rd_fail(r, WIRE_EPARSE, what, "empty");
  if (n > max)
    return rd_fail(r, WIRE_EPARSE, what, "longer than the format allows");
  out->ptr = r->p;
  out->len = (size_t)n;
  r->p += n;
  return WIRE_OK;
}

/* ---- sizing and encoding
 * -------------------------------------------------------- */

static size_t bytes_size(store_slice s) { return varint_size(s.len) + s.len; }

/* Only CAS has optional fields: expected (index 2) and value (index 3). */
static bool field_present(const store_cmd *c, size_t i) {
  if (c->type != STORE_CMD_CAS || i < 2) return true;
  unsigned flags = c->u.cas.flags;
  return i == 2 ? (flags & STORE_CAS_EXPECTED) != 0
                : (flags & STORE_CAS_NEW) != 0;
}

static size_t fields_size(const store_cmd *c, const cmd_spec *sp) {
  size_t n = 1; /* type byte */
  for (size_t i = 0; i < sp->n; i++) {
    const field *fd = &sp->fields[i];
    if (!field_present(c, i)) continue;
    switch (fd->kind) {
      case F_KEY:
      case F_VALUE:
      case F_NAME:
        n += bytes_size(*cslice_at(c, fd->off));
        break;
      case F_U64:
        n += varint_size(
            *(const uint64_t *)(const void *)((const char *)c + fd->off));
        break;
      case F_I64:
        n += varint_size(zigzag(
            *(const int64_t *)(const void *)((const char *)c + fd->off)));
        break;
      case F_FLAGS:
        n += 1;
        break;
    }
  }
  return n;
}

/* Body size of one command (0: not encodable). */
static size_t body_size(const store_cmd *c, bool nested) {
  if (c->type == STORE_CMD_BATCH) {
    if (nested || c->u.batch.count == 0 || !c->u.batch.items) return 0;
    size_t n = 1 + varint_size(c->u.batch.count);
    for (size_t i = 0; i < c->u.batch.count; i++) {
      size_t s = body_size(&c->u.batch.items[i], true);
      if (!s) return 0;
      n += s;
    }
    return n;
  }
  const cmd_spec *sp = spec_of(c->type);
  return sp ? fields_size(c, sp) : 0;
}

static size_t entry_size(size_t body) {
  size_t n = 1 + varint_size(body) + body;
  return (n + 7) & ~(size_t)7;
}

size_t store_cmd_encoded_size(const store_cmd *cmd) {
  size_t body = body_size(cmd, false);
  return body ? entry_size(body) : 0;
}

static int check_len(const char *what, size_t len, size_t min, size_t max,
                     const char *cmdname, char *err, size_t errsz) {
  if (len < min)
    return core_msg(err, errsz, WIRE_EINVAL, "%s: empty %s refused", cmdname,
                    what);
  if (len > max)
    return core_msg(err, errsz, WIRE_ETOOBIG,
                    "%s: %s of %zu bytes exceeds the limit of %zu bytes",
                    cmdname, what, len, max);
  return WIRE_OK;
}

/* Validate one (non-batch) command against the limits. */
static int check_cmd(const store_cmd *c, const store_limits *lim, bool nested,
                     char *err, size_t errsz) {
  const char *name = store_cmd_name(c->type);
  if (c->type == STORE_CMD_BATCH) {
    if (nested)
      return core_msg(err, errsz, WIRE_EINVAL, "batch: a batch cannot nest");
    if (c->u.batch.count == 0 || !c->u.batch.items)
      return core_msg(err, errsz, WIRE_EINVAL, "batch: no commands");
    for (size_t i = 0; i < c->u.batch.count; i++) {
      int rc = check_cmd(&c->u.batch.items[i], lim, true, err, errsz);
      if (rc) return rc;
    }
    return WIRE_OK;
  }
  const cmd_spec *sp = spec_of(c->type);
  if (!sp)
    return core_msg(err, errsz, WIRE_EINVAL, "unknown command type %d",
                    (int)c->type);
  if (c->type == STORE_CMD_CAS &&
      (c->u.cas.flags & ~(unsigned)(STORE_CAS_EXPECTED | STORE_CAS_NEW)))
    return core_msg(err, errsz, WIRE_EINVAL, "cas: unknown flags 0x%x",
                    c->u.cas.flags);
  if ((c->type == STORE_CMD_MEMBER_META || c->type == STORE_CMD_MEMBER_RESP) &&
      c->u.member.id == 0)
    return core_msg(err, errsz, WIRE_EINVAL, "%s: id 0 is invalid", name);
  for (size_t i = 0; i < sp->n; i++) {
    const field *fd = &sp->fields[i];
    if (!field_present(c, i)) continue;
    int rc = WIRE_OK;
    if (fd->kind == F_KEY)
      rc = check_len(fd->name, cslice_at(c, fd->off)->len, 1, lim->key_max,
                     name, err, errsz);
    else if (fd->kind == F_VALUE)
      rc = check_len(fd->name, cslice_at(c, fd->off)->len, 0, lim->value_max,
                     name, err, errsz);
    else if (fd->kind == F_NAME)
      rc = check_len(fd->name, cslice_at(c, fd->off)->len, 0, lim->key_max,
                     name, err, errsz);
    if (rc) return rc;
    const store_slice *s =
        (fd->kind == F_KEY || fd->kind == F_VALUE || fd->kind == F_NAME)
            ? cslice_at(c, fd->off)
            : NULL;
    if (s && s->len && !s->ptr)
      return core_msg(err, errsz, WIRE_EINVAL, "%s: %s is NULL", name,
                      fd->name);
  }
  return WIRE_OK;
}

static char *put_body(char *p, const store_cmd *c) {
  *p++ = (char)c->type;
  if (c->type == STORE_CMD_BATCH) {
    p = varint_put(p, c->u.batch.count);
    for (size_t i = 0; i < c->u.batch.count; i++)
      p = put_body(p, &c->u.batch.items[i]);
    return p;
  }
  const cmd_spec *sp = spec_of(c->type);
  for (size_t i = 0; i < sp->n; i++) {
    const field *fd = &sp->fields[i];
    if (!field_present(c, i)) continue;
    const char *base = (const char *)c + fd->off;
    switch (fd->kind) {
      case F_KEY:
      case F_VALUE:
      case F_NAME: {
        const store_slice *s = (const store_slice *)(const void *)base;
        p = varint_put(p, s->len);
        if (s->len) memcpy(p, s->ptr, s->len);
        p += s->len;
        break;
      }
      case F_U64:
        p = varint_put(p, *(const uint64_t *)(const void *)base);
        break;
      case F_I64:
        p = varint_put(p, zigzag(*(const int64_t *)(const void *)base));
        break;
      case F_FLAGS:
        *p++ = (char)*(const unsigned *)(const void *)base;
        break;
    }
  }
  return p;
}

int store_cmd_encode(const store_cmd *cmd, const store_limits *lim,
                     core_buf *out, char *err, size_t errsz) {
  store_limits def;
  if (!lim) {
    store_limits_default(&def);
    lim = &def;
  }
  store_limits eff = {WIRE_MIN(lim->key_max, (size_t)STORE_KEY_MAX),
                      WIRE_MIN(lim->value_max, (size_t)STORE_VALUE_CEILING)};
  int rc = check_cmd(cmd, &eff, false, err, errsz);
  if (rc) return rc;
  size_t body = body_size(cmd, false);
  size_t total = entry_size(body);
  if (core_buf_reserve(out, total))
    return core_msg(err, errsz, WIRE_ENOMEM, "command: out of memory");
  char *start = out->data + out->len;
  char *p = start;
  *p++ = (char)STORE_FORMAT_VERSION;
  p = varint_put(p, body);
  p = put_body(p, cmd);
  memset(p, 0, total - (size_t)(p - start));
  out->len += total;
  return WIRE_OK;
}

/* ---- decoding
 * ------------------------------------------------------------------------ */

static int decode_fields(reader *r, store_cmd *c, const cmd_spec *sp) {
  for (size_t i = 0; i < sp->n; i++) {
    const field *fd = &sp->fields[i];
    if (!field_present(c, i)) {
      *slice_at(c, fd->off) = (store_slice){NULL, 0};
      continue;
    }
    int rc = WIRE_OK;
    char *base = (char *)c + fd->off;
    uint64_t v = 0;
    switch (fd->kind) {
      case F_KEY:
        rc = rd_bytes(r, fd->name, 1, STORE_KEY_MAX, slice_at(c, fd->off));
        break;
      case F_VALUE:
        rc =
            rd_bytes(r, fd->name, 0, STORE_VALUE_CEILING, slice_at(c, fd->off));
        break;
      case F_NAME:
        rc = rd_bytes(r, fd->name, 0, STORE_KEY_MAX, slice_at(c, fd->off));
        break;
      case F_U64:
        rc = rd_varint(r, fd->name, &v);
        if (!rc) *(uint64_t *)(void *)base = v;
        break;
      case F_I64:
        rc = rd_varint(r, fd->name, &v);
        if (!rc) *(int64_t *)(void *)base = unzigzag(v);
        break;
      case F_FLAGS: {
        if (r->p >= r->end)
          return rd_fail(r, WIRE_EPARSE, fd->name, "truncated");
        unsigned f = (unsigned char)*r->p;
        if (f & ~(unsigned)(STORE_CAS_EXPECTED | STORE_CAS_NEW))
          return rd_fail(r, WIRE_EPARSE, fd->name, "unknown flag bits");
        r->p++;
        *(unsigned *)(void *)base = f;
        break;
      }
    }
    if (rc) return rc;
  }
  if ((c->type == STORE_CMD_MEMBER_META || c->type == STORE_CMD_MEMBER_RESP) &&
      c->u.member.id == 0)
    return rd_fail(r, WIRE_EPARSE, "id", "member id 0");
  return WIRE_OK;
}

/* One command body at r->p; a batch only when !nested. */
static int decode_body(reader *r, store_cmd *c, bool nested) {
  if (r->p >= r->end) return rd_fail(r, WIRE_EPARSE, "type", "truncated");
  int type = (unsigned char)*r->p;
  memset(c, 0, sizeof *c);
  if (type == STORE_CMD_BATCH) {
    if (nested) return rd_fail(r, WIRE_EPARSE, "type", "batch inside a batch");
    r->p++;
    c->type = STORE_CMD_BATCH;
    uint64_t count;
    int rc = rd_varint(r, "batch count", &count);
    if (rc) return rc;
    if (count == 0) return rd_fail(r, WIRE_EPARSE, "batch count", "zero");
    /* Each command takes at least two bytes: a cheap early bound. */
    if (count > (uint64_t)(r->end - r->p) / 2)
      return rd_fail(r, WIRE_EPARSE, "batch count", "more than the bytes hold");
    const char *raw = r->p;
    for (uint64_t i = 0; i < count; i++) {
      store_cmd sub;
      rc = decode_body(r, &sub, true);
      if (rc) return rc;
    }
    c->u.batch.count = (size_t)count;
    c->u.batch.raw = (store_slice){raw, (size_t)(r->p - raw)};
    return WIRE_OK;
  }
  const cmd_spec *sp = spec_of(type);
  if (!sp) return rd_fail(r, WIRE_EUNSUPPORTED, "type", "unknown command type");
  r->p++;
  c->type = (store_cmd_type)type;
  return decode_fields(r, c, sp);
}

int store_cmd_decode(const void *buf, size_t len, store_cmd *out, char *err,
                     size_t errsz) {
  if (!buf || len == 0)
    return core_msg(err, errsz, WIRE_EPARSE, "command: empty entry");
  reader r = {buf, buf, (const char *)buf + len, err, errsz};
  unsigned version = (unsigned char)*r.p;
  if (version != STORE_FORMAT_VERSION)
    return core_msg(err, errsz, WIRE_EUNSUPPORTED,
                    "command: format version %u not supported (this node "
                    "reads version %d)",
                    version, STORE_FORMAT_VERSION);
  r.p++;
  uint64_t body;
  int rc = rd_varint(&r, "length", &body);
  if (rc) return rc;
  if (body > (uint64_t)(r.end - r.p))
    return rd_fail(&r, WIRE_EPARSE, "length", "body runs past the end");
  size_t used = (size_t)(r.p - r.start) + (size_t)body;
  size_t padded = (used + 7) & ~(size_t)7;
  if (len != padded)
    return core_msg(err, errsz, WIRE_EPARSE,
                    "command: entry of %zu bytes, expected %zu for a body of "
                    "%" PRIu64 " bytes",
                    len, padded, body);
  for (size_t i = used; i < len; i++)
    if (r.start[i] != 0)
      return core_msg(err, errsz, WIRE_EPARSE,
                      "command: non-zero padding at byte %zu", i);
  r.end = r.start + used;
  rc = decode_body(&r, out, false);
  if (rc) return rc;
  if (r.p != r.end)
    return rd_fail(&r, WIRE_EPARSE, "body", "trailing bytes after the command");
  return WIRE_OK;
}

void store_batch_iter_init(store_batch_iter *it, const store_cmd *batch) {
  it->p = batch->u.batch.raw.ptr;
  it->end = it->p ? it->p + batch->u.batch.raw.len : NULL;
  it->left = batch->u.batch.count;
}

int store_batch_iter_next(store_batch_iter *it, store_cmd *out) {
  if (it->left == 0) return 0;
  reader r = {it->p, it->p, it->end, NULL, 0};
  int rc = decode_body(&r, out, true);
  if (rc) return rc;
  it->p = r.p;
  it->left--;
  return 1;
}
