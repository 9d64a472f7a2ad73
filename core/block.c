/* core/block.c -- headers, merkle roots, block encoding. */
#include "core/block.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"

struct pu_block {
    uint32_t refs;
    bool final;
    pu_header hdr;
    pu_hash32 hash;
    uint32_t size;
    uint32_t n_tx, cap_tx;
    pu_tx **txs;
    uint8_t *proof;
    uint32_t proof_len;
    bool memo_set;         /* context-free verdict, see pu_block_memo_get */
    uint8_t memo_reason;
    uint32_t memo_bad_tx;
};

void pu_header_serialize(const pu_header *h, uint8_t out[PU_HEADER_SIZE])
{
    uint8_t *p = out;
    pu_put_be32(p, h->version); p += 4;
    memcpy(p, h->prev.b, 32); p += 32;
    memcpy(p, h->merkle.b, 32); p += 32;
    pu_put_be64(p, h->timestamp); p += 8;
    pu_put_be32(p, h->bits); p += 4;
    pu_put_be64(p, h->nonce); p += 8;
    memcpy(p, h->ml_task_id.b, 32); p += 32;
    memcpy(p, h->msg_history.b, 32); p += 32;
    memcpy(p, h->iter_msg.b, 32); p += 32;
    memcpy(p, h->zero_nonce.b, 32); p += 32;
    assert(p == out + PU_HEADER_SIZE);
}

pu_err pu_header_parse(const uint8_t *buf, size_t len, pu_header *out)
{
    if (len != PU_HEADER_SIZE)
        return PU_ERR_PARSE;
    const uint8_t *p = buf;
    out->version = pu_get_be32(p); p += 4;
    memcpy(out->prev.b, p, 32); p += 32;
    memcpy(out->merkle.b, p, 32); p += 32;
    out->timestamp = pu_get_be64(p); p += 8;
    out->bits = pu_get_be32(p); p += 4;
    out->nonce = pu_get_be64(p); p += 8;
    memcpy(out->ml_task_id.b, p, 32); p += 32;
    memcpy(out->msg_history.b, p, 32); p += 32;
    memcpy(out->iter_msg.b, p, 32); p += 32;
    memcpy(out->zero_nonce.b, p, 32);
    return PU_OK;
}

void pu_header_hash(pu_crypto *c, const pu_header *h, pu_hash32 *out)
{
    uint8_t buf[PU_HEADER_SIZE];
    pu_header_serialize(h, buf);
    pu_sha256d(c, buf, sizeof buf, out);
}

void pu_header_zero_nonce_hash(pu_crypto *c, const pu_header *h, pu_hash32 *out)
{
    pu_header z = *h;
    z.nonce = 0;
    memset(&z.ml_task_id, 0, sizeof z.ml_task_id);
    memset(&z.msg_history, 0, sizeof z.msg_history);
    memset(&z.iter_msg, 0, sizeof z.iter_msg);
    memset(&z.zero_nonce, 0, sizeof z.zero_nonce);
    pu_header_hash(c, &z, out);
}

bool pu_hash_meets_bits(const pu_hash32 *hash, uint32_t bits)
{
    pu_u256 target, h;
    if (pu_target_from_bits(bits, &target) != PU_OK)
        return false;
    pu_u256_from_hash(hash, &h);
    return pu_u256_cmp(&h, &target) <= 0;
}

bool pu_header_is_pouw(const pu_header *h) { return !pu_hash_is_zero(&h->ml_task_id); }

pu_err pu_merkle_root(pu_crypto *c, const pu_hash32 *ids, size_t n, pu_hash32 *out)
{
    memset(out, 0, sizeof *out);
    if (n == 0)
        return PU_OK;
    pu_hash32 *level = malloc(n * sizeof *level);
    if (!level)
        return PU_ERR_NOMEM;
    memcpy(level, ids, n * sizeof *level);
    while (n > 1) {
        size_t m = (n + 1) / 2;
        for (size_t i = 0; i < m; i++) {
            const pu_hash32 *l = &level[2 * i];
            const pu_hash32 *r = 2 * i + 1 < n ? &level[2 * i + 1] : l;
            pu_sha256d_2(c, l->b, 32, r->b, 32, &level[i]);
        }
        n = m;
    }
    *out = level[0];
    free(level);
    return PU_OK;
}

pu_err pu_block_new(const pu_header *h, pu_block **out)
{
    *out = NULL;
    pu_block *b = calloc(1, sizeof *b);
    if (!b)
        return PU_ERR_NOMEM;
    b->refs = 1;
    b->hdr = *h;
    *out = b;
    return PU_OK;
}

pu_err pu_block_add_tx(pu_block *b, pu_tx *tx)
{
    if (b->final || !pu_tx_is_final(tx))
        return PU_ERR_STATE;
    if (b->n_tx == PU_BLOCK_MAX_TXS)
        return PU_ERR_RANGE;
    if (b->n_tx == b->cap_tx) {
        uint32_t cap = b->cap_tx ? b->cap_tx * 2 : 8;
        pu_tx **n = realloc(b->txs, cap * sizeof *n);
        if (!n)
            return PU_ERR_NOMEM;
        b->txs = n;
        b->cap_tx = cap;
    }
    b->txs[b->n_tx++] = pu_tx_ref(tx);
    return PU_OK;
}

pu_err pu_block_set_proof(pu_block *b, const uint8_t *proof, size_t len)
{
    if (b->final)
        return PU_ERR_STATE;
    if (len > PU_PROOF_MAX_SIZE)
        return PU_ERR_RANGE;
    uint8_t *p = NULL;
    if (len) {
        p = malloc(len);
        if (!p)
            return PU_ERR_NOMEM;
        memcpy(p, proof, len);
    }
    free(b->proof);
    b->proof = p;
    b->proof_len = (uint32_t)len;
    return PU_OK;
}

pu_header *pu_block_header_mut(pu_block *b) { assert(!b->final); return &b->hdr; }

pu_err pu_block_update_merkle(pu_crypto *c, pu_block *b)
{
    if (b->final)
        return PU_ERR_STATE;
    pu_hash32 *ids = malloc((b->n_tx ? b->n_tx : 1) * sizeof *ids);
    if (!ids)
        return PU_ERR_NOMEM;
    for (uint32_t i = 0; i < b->n_tx; i++)
        ids[i] = *pu_tx_id(b->txs[i]);
    pu_err rc = pu_merkle_root(c, ids, b->n_tx, &b->hdr.merkle);
    free(ids);
    return rc;
}

static size_t block_size(const pu_block *b)
{
    size_t sz = PU_HEADER_SIZE + 4 + 4 + b->proof_len;
    for (uint32_t i = 0; i < b->n_tx; i++)
        sz += 4 + pu_tx_size(b->txs[i]);
    return sz;
}

pu_err pu_block_finalize(pu_crypto *c, pu_block *b)
{
    if (b->final)
        return PU_ERR_STATE;
    size_t sz = block_size(b);
    if (sz > UINT32_MAX)
        return PU_ERR_RANGE;
    b->size = (uint32_t)sz;
    pu_header_hash(c, &b->hdr, &b->hash);
    b->final = true;
    return PU_OK;
}

pu_err pu_block_serialize(const pu_block *b, uint8_t **out, size_t *len)
{
    pu_buf buf;
    pu_buf_init(&buf);
    uint8_t *h = pu_buf_reserve(&buf, PU_HEADER_SIZE);
    if (h) {
        pu_header_serialize(&b->hdr, h);
        buf.len += PU_HEADER_SIZE;
    }
    pu_buf_u32(&buf, b->n_tx);
    for (uint32_t i = 0; i < b->n_tx; i++) {
        size_t at = buf.len;
        pu_buf_u32(&buf, 0); /* length patched below */
        pu_tx_write(b->txs[i], &buf);
        if (!buf.oom)
            pu_put_be32(buf.p + at, (uint32_t)(buf.len - at - 4));
    }
    pu_buf_u32(&buf, b->proof_len);
    pu_buf_put(&buf, b->proof, b->proof_len);
    return pu_buf_finish(&buf, out, len);
}

pu_err pu_block_parse(pu_crypto *c, const uint8_t *buf, size_t len, pu_block **out, pu_reason *why)
{
    *out = NULL;
    *why = PU_R_BLOCK_MALFORMED;
    pu_reader r;
    pu_reader_init(&r, buf, len);
    const uint8_t *hb;
    pu_header h;
    uint32_t n_tx;
    if (pu_read_view(&r, PU_HEADER_SIZE, &hb) != PU_OK
        || pu_header_parse(hb, PU_HEADER_SIZE, &h) != PU_OK
        || pu_read_count(&r, 4, &n_tx) != PU_OK || n_tx > PU_BLOCK_MAX_TXS)
        return PU_ERR_PARSE;
    pu_block *b;
    pu_err rc = pu_block_new(&h, &b);
    if (rc != PU_OK)
        return rc;
    for (uint32_t i = 0; i < n_tx && rc == PU_OK; i++) {
        uint32_t tlen;
        const uint8_t *tb;
        pu_tx *tx = NULL;
        pu_reason tr;
        if (pu_read_u32(&r, &tlen) != PU_OK || pu_read_view(&r, tlen, &tb) != PU_OK) {
            rc = PU_ERR_PARSE;
            break;
        }
        rc = pu_tx_parse(c, tb, tlen, &tx, &tr);
        if (rc == PU_OK) {
            rc = pu_block_add_tx(b, tx);
            pu_tx_unref(tx);
        } else if (rc == PU_ERR_PARSE) {
            *why = tr;
        }
    }
    uint32_t plen = 0;
    const uint8_t *proof = NULL;
    if (rc == PU_OK
        && (pu_read_u32(&r, &plen) != PU_OK || plen > PU_PROOF_MAX_SIZE
            || pu_read_view(&r, plen, &proof) != PU_OK || pu_reader_left(&r) != 0)) {
        *why = PU_R_BLOCK_MALFORMED;
        rc = PU_ERR_PARSE;
    }
    if (rc == PU_OK)
        rc = pu_block_set_proof(b, proof, plen);
    if (rc == PU_OK)
        rc = pu_block_finalize(c, b);
    if (rc != PU_OK) {
        pu_block_unref(b);
        return rc;
    }
    *why = PU_R_OK;
    *out = b;
    return PU_OK;
}

pu_block *pu_block_ref(pu_block *b)
{
    assert(b->refs > 0 && b->refs < UINT32_MAX);
    b->refs++;
    return b;
}

void pu_block_unref(pu_block *b)
{
    if (!b || --b->refs > 0)
        return;
    for (uint32_t i = 0; i < b->n_tx; i++)
        pu_tx_unref(b->txs[i]);
    free(b->txs);
    free(b->proof);
    free(b);
}

const pu_header *pu_block_header(const pu_block *b) { return &b->hdr; }
const pu_hash32 *pu_block_hash(const pu_block *b) { assert(b->final); return &b->hash; }
uint32_t pu_block_size(const pu_block *b) { assert(b->final); return b->size; }
uint32_t pu_block_n_tx(const pu_block *b) { return b->n_tx; }
pu_tx *pu_block_tx(const pu_block *b, uint32_t i) { return i < b->n_tx ? b->txs[i] : NULL; }

const uint8_t *pu_block_proof(const pu_block *b, uint32_t *len)
{
    *len = b->proof_len;
    return b->proof;
}

bool pu_block_memo_get(const pu_block *b, pu_reason *r, uint32_t *bad_tx)
{
    if (!b->memo_set)
        return false;
    *r = (pu_reason)b->memo_reason;
    *bad_tx = b->memo_bad_tx;
    return true;
}

void pu_block_memo_set(pu_block *b, pu_reason r, uint32_t bad_tx)
{
    b->memo_set = true;
    b->memo_reason = (uint8_t)r;
    b->memo_bad_tx = bad_tx;
}
