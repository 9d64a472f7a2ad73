/* core/bytes.c -- checked big-endian reader and growable writer. */
#include "core/bytes.h"

#include <stdlib.h>
#include <string.h>

const char *pu_strerror(pu_err e)
{
    switch (e) {
    case PU_OK: return "ok";
    case PU_ERR_NOMEM: return "out of memory";
    case PU_ERR_IO: return "i/o error";
    case PU_ERR_PARSE: return "malformed input";
    case PU_ERR_RANGE: return "value out of range";
    case PU_ERR_INVALID: return "consensus rule violated";
    case PU_ERR_DB: return "database error";
    case PU_ERR_NOTFOUND: return "not found";
    case PU_ERR_EXISTS: return "already exists";
    case PU_ERR_CRYPTO: return "crypto library failure";
    case PU_ERR_STATE: return "not allowed in current state";
    }
    return "unknown error";
}

pu_err pu_read_view(pu_reader *r, size_t n, const uint8_t **out)
{
    if (pu_reader_left(r) < n)
        return PU_ERR_PARSE;
    *out = r->p + r->off;
    r->off += n;
    return PU_OK;
}

pu_err pu_read_bytes(pu_reader *r, void *out, size_t n)
{
    const uint8_t *v;
    pu_err rc = pu_read_view(r, n, &v);
    if (rc == PU_OK && n)
        memcpy(out, v, n);
    return rc;
}

pu_err pu_read_u8(pu_reader *r, uint8_t *out)
{
    const uint8_t *v;
    pu_err rc = pu_read_view(r, 1, &v);
    if (rc == PU_OK)
        *out = v[0];
    return rc;
}

pu_err pu_read_u16(pu_reader *r, uint16_t *out)
{
    const uint8_t *v;
    pu_err rc = pu_read_view(r, 2, &v);
    if (rc == PU_OK)
        *out = pu_get_be16(v);
    return rc;
}

pu_err pu_read_u32(pu_reader *r, uint32_t *out)
{
    const uint8_t *v;
    pu_err rc = pu_read_view(r, 4, &v);
    if (rc == PU_OK)
        *out = pu_get_be32(v);
    return rc;
}

pu_err pu_read_u64(pu_reader *r, uint64_t *out)
{
    const uint8_t *v;
    pu_err rc = pu_read_view(r, 8, &v);
    if (rc == PU_OK)
        *out = pu_get_be64(v);
    return rc;
}

pu_err pu_read_i64(pu_reader *r, int64_t *out)
{
    uint64_t u;
    pu_err rc = pu_read_u64(r, &u);
    if (rc == PU_OK)
        *out = (int64_t)u; /* two's complement on every platform we build for */
    return rc;
}

pu_err pu_read_count(pu_reader *r, size_t min_item_size, uint32_t *out)
{
    uint32_t n;
    size_t save = r->off;
    pu_err rc = pu_read_u32(r, &n);
    if (rc != PU_OK)
        return rc;
    if (min_item_size && (uint64_t)n * min_item_size > pu_reader_left(r)) {
        r->off = save;
        return PU_ERR_PARSE;
    }
    *out = n;
    return PU_OK;
}

void pu_buf_init(pu_buf *b)
{
    b->p = NULL; b->len = 0; b->cap = 0; b->oom = false;
}

void pu_buf_release(pu_buf *b)
{
    free(b->p);
    pu_buf_init(b);
}

uint8_t *pu_buf_reserve(pu_buf *b, size_t n)
{
    if (b->oom)
        return NULL;
    if (b->cap - b->len < n) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap - b->len < n) {
            if (cap > SIZE_MAX / 2) { b->oom = true; return NULL; }
            cap *= 2;
        }
        uint8_t *np = realloc(b->p, cap);
        if (!np) { b->oom = true; return NULL; }
        b->p = np;
        b->cap = cap;
    }
    return b->p + b->len;
}

void pu_buf_put(pu_buf *b, const void *data, size_t n)
{
    uint8_t *dst = pu_buf_reserve(b, n);
    if (!dst)
        return;
    if (n)
        memcpy(dst, data, n);
    b->len += n;
}

void pu_buf_u8(pu_buf *b, uint8_t v) { pu_buf_put(b, &v, 1); }
void pu_buf_u16(pu_buf *b, uint16_t v) { uint8_t t[2]; pu_put_be16(t, v); pu_buf_put(b, t, 2); }
void pu_buf_u32(pu_buf *b, uint32_t v) { uint8_t t[4]; pu_put_be32(t, v); pu_buf_put(b, t, 4); }
void pu_buf_u64(pu_buf *b, uint64_t v) { uint8_t t[8]; pu_put_be64(t, v); pu_buf_put(b, t, 8); }
void pu_buf_i64(pu_buf *b, int64_t v) { pu_buf_u64(b, (uint64_t)v); }

pu_err pu_buf_finish(pu_buf *b, uint8_t **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    if (b->oom) {
        pu_buf_release(b);
        return PU_ERR_NOMEM;
    }
    if (!b->p) { /* empty output still returns a freeable pointer */
        b->p = malloc(1);
        if (!b->p)
            return PU_ERR_NOMEM;
    }
    *out = b->p;
    *out_len = b->len;
    pu_buf_init(b);
    return PU_OK;
}

pu_err pu_buf_finish_str(pu_buf *b, char **out)
{
    pu_buf_u8(b, 0);
    uint8_t *bytes;
    size_t len;
    pu_err rc = pu_buf_finish(b, &bytes, &len);
    *out = (char *)bytes;
    return rc;
}
