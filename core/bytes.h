/* core/bytes.h -- big-endian wire helpers: a checked reader and a growable writer.
 *
 * Every integer on the wire is fixed width and big-endian (PROTOCOL.md s1), written
 * one byte at a time so host byte order and struct padding never reach a hash. */
#ifndef PU_BYTES_H
#define PU_BYTES_H

#include "core/types.h"

static inline void pu_put_be16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void pu_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);  p[3] = (uint8_t)v;
}
static inline void pu_put_be64(uint8_t *p, uint64_t v)
{
    pu_put_be32(p, (uint32_t)(v >> 32));
    pu_put_be32(p + 4, (uint32_t)v);
}
static inline uint16_t pu_get_be16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline uint32_t pu_get_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline uint64_t pu_get_be64(const uint8_t *p)
{
    return ((uint64_t)pu_get_be32(p) << 32) | pu_get_be32(p + 4);
}

/** Checked cursor over a borrowed buffer.  Any short read returns PU_ERR_PARSE
 * and leaves the cursor where it was. */
typedef struct pu_reader {
    const uint8_t *p;
    size_t len;
    size_t off;
} pu_reader;

static inline void pu_reader_init(pu_reader *r, const uint8_t *p, size_t len)
{
    r->p = p; r->len = len; r->off = 0;
}
static inline size_t pu_reader_left(const pu_reader *r) { return r->len - r->off; }

PU_NODISCARD pu_err pu_read_u8(pu_reader *r, uint8_t *out);
PU_NODISCARD pu_err pu_read_u16(pu_reader *r, uint16_t *out);
PU_NODISCARD pu_err pu_read_u32(pu_reader *r, uint32_t *out);
PU_NODISCARD pu_err pu_read_u64(pu_reader *r, uint64_t *out);
PU_NODISCARD pu_err pu_read_i64(pu_reader *r, int64_t *out);
PU_NODISCARD pu_err pu_read_bytes(pu_reader *r, void *out, size_t n);
/** Borrow n bytes in place (valid as long as the underlying buffer). */
PU_NODISCARD pu_err pu_read_view(pu_reader *r, size_t n, const uint8_t **out);
/** Reads a u32 count and checks count * min_item_size fits in what is left,
 * so absurd counts fail before any allocation. */
PU_NODISCARD pu_err pu_read_count(pu_reader *r, size_t min_item_size, uint32_t *out);

/** Growable output buffer.  Append calls never fail individually: an
 * allocation failure sets `oom`, later appends do nothing, and
 * pu_buf_finish reports PU_ERR_NOMEM.  This keeps serialisers linear. */
typedef struct pu_buf {
    uint8_t *p;
    size_t len;
    size_t cap;
    bool oom;
} pu_buf;

void pu_buf_init(pu_buf *b);
void pu_buf_release(pu_buf *b);
/** Ensure room for n more bytes; returns a pointer to them or NULL (oom). */
uint8_t *pu_buf_reserve(pu_buf *b, size_t n);
void pu_buf_put(pu_buf *b, const void *data, size_t n);
void pu_buf_u8(pu_buf *b, uint8_t v);
void pu_buf_u16(pu_buf *b, uint16_t v);
void pu_buf_u32(pu_buf *b, uint32_t v);
void pu_buf_u64(pu_buf *b, uint64_t v);
void pu_buf_i64(pu_buf *b, int64_t v);
/** Hand the bytes to the caller (free() them); PU_ERR_NOMEM if any append failed. */
PU_NODISCARD pu_err pu_buf_finish(pu_buf *b, uint8_t **out, size_t *out_len);
/** pu_buf_finish of text: a NUL is appended and *out is a C string (NULL on
 * PU_ERR_NOMEM). */
PU_NODISCARD pu_err pu_buf_finish_str(pu_buf *b, char **out);

#endif
