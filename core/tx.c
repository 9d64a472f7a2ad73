/* core/tx.c -- transaction encoding, ids, signing and context-free checks. */
#include "core/tx.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/task.h"

struct pu_tx {
    uint32_t refs;
    uint32_t version;
    uint8_t kind;
    bool has_opret;
    bool final;
    uint32_t n_in, n_out, body_len;
    uint32_t size;
    uint64_t timestamp;
    pu_hash32 txid;
    pu_txin *in;
    pu_txout *out;
    pu_hash32 *sighash; /* n_in entries, filled by finalize */
    uint8_t *body;
    uint8_t opret[PU_OPRET_SIZE];
};

/* One allocation per transaction: the struct followed by its arrays, so a
 * shared transaction costs one malloc and stays contiguous in cache. */
static pu_tx *tx_alloc(uint32_t n_in, uint32_t n_out, uint32_t body_len)
{
    size_t sz = sizeof(pu_tx) + (size_t)n_in * (sizeof(pu_txin) + sizeof(pu_hash32))
                + (size_t)n_out * sizeof(pu_txout) + body_len;
    pu_tx *tx = calloc(1, sz);
    if (!tx)
        return NULL;
    uint8_t *p = (uint8_t *)(tx + 1);
    tx->in = (pu_txin *)p;
    p += (size_t)n_in * sizeof(pu_txin);
    tx->out = (pu_txout *)p;
    p += (size_t)n_out * sizeof(pu_txout);
    tx->sighash = (pu_hash32 *)p;
    p += (size_t)n_in * sizeof(pu_hash32);
    tx->body = p;
    tx->n_in = n_in;
    tx->n_out = n_out;
    tx->body_len = body_len;
    tx->refs = 1;
    tx->version = PU_TX_VERSION;
    return tx;
}

pu_err pu_tx_new(pu_tx_kind kind, uint32_t n_in, uint32_t n_out, uint32_t body_len, pu_tx **out)
{
    *out = NULL;
    /* Bound the draft by what could ever serialise under the size limit. */
    if ((uint64_t)n_in * PU_TX_INPUT_SIZE + (uint64_t)n_out * PU_TX_OUTPUT_SIZE + body_len
        > PU_TX_MAX_SIZE)
        return PU_ERR_RANGE;
    pu_tx *tx = tx_alloc(n_in, n_out, body_len);
    if (!tx)
        return PU_ERR_NOMEM;
    tx->kind = (uint8_t)kind;
    *out = tx;
    return PU_OK;
}

pu_txin *pu_tx_in_mut(pu_tx *tx, uint32_t i) { assert(!tx->final && i < tx->n_in); return &tx->in[i]; }
pu_txout *pu_tx_out_mut(pu_tx *tx, uint32_t i) { assert(!tx->final && i < tx->n_out); return &tx->out[i]; }
uint8_t *pu_tx_body_mut(pu_tx *tx) { assert(!tx->final); return tx->body; }
void pu_tx_set_timestamp(pu_tx *tx, uint64_t ts) { assert(!tx->final); tx->timestamp = ts; }
void pu_tx_set_version(pu_tx *tx, uint32_t v) { assert(!tx->final); tx->version = v; }

void pu_tx_set_opret(pu_tx *tx, const uint8_t opret[PU_OPRET_SIZE])
{
    assert(!tx->final);
    tx->has_opret = opret != NULL;
    if (opret)
        memcpy(tx->opret, opret, PU_OPRET_SIZE);
    else
        memset(tx->opret, 0, PU_OPRET_SIZE);
}

static void write_tx(const pu_tx *tx, pu_buf *b, bool zero_sigs)
{
    static const uint8_t zsig[64];
    pu_buf_u32(b, tx->version);
    pu_buf_u8(b, tx->kind);
    pu_buf_u32(b, tx->n_in);
    for (uint32_t i = 0; i < tx->n_in; i++) {
        const pu_txin *in = &tx->in[i];
        pu_buf_put(b, in->prev.txid.b, 32);
        pu_buf_u32(b, in->prev.index);
        pu_buf_put(b, in->pub, 33);
        pu_buf_put(b, zero_sigs ? zsig : in->sig, 64);
    }
    pu_buf_u32(b, tx->n_out);
    for (uint32_t i = 0; i < tx->n_out; i++) {
        pu_buf_i64(b, tx->out[i].amount);
        pu_buf_put(b, tx->out[i].addr.b, 20);
    }
    pu_buf_u8(b, tx->has_opret ? 1 : 0);
    if (tx->has_opret)
        pu_buf_put(b, tx->opret, PU_OPRET_SIZE);
    pu_buf_u64(b, tx->timestamp);
    pu_buf_u32(b, tx->body_len);
    pu_buf_put(b, tx->body, tx->body_len);
}

void pu_tx_write(const pu_tx *tx, pu_buf *b) { write_tx(tx, b, false); }

pu_err pu_tx_serialize(const pu_tx *tx, uint8_t **out, size_t *len)
{
    pu_buf b;
    pu_buf_init(&b);
    write_tx(tx, &b, false);
    return pu_buf_finish(&b, out, len);
}

/* All sighashes share the zeroed serialisation; only the index suffix differs. */
static pu_err sighashes(pu_crypto *c, const pu_tx *tx, uint32_t first, uint32_t count,
                        pu_hash32 *out)
{
    pu_buf b;
    pu_buf_init(&b);
    write_tx(tx, &b, true);
    if (b.oom) {
        pu_buf_release(&b);
        return PU_ERR_NOMEM;
    }
    for (uint32_t k = 0; k < count; k++) {
        uint8_t idx[4];
        pu_put_be32(idx, first + k);
        pu_sha256d_2(c, b.p, b.len, idx, 4, &out[k]);
    }
    pu_buf_release(&b);
    return PU_OK;
}

pu_err pu_tx_sighash(pu_crypto *c, const pu_tx *tx, uint32_t i, pu_hash32 *out)
{
    if (i >= tx->n_in)
        return PU_ERR_RANGE;
    if (tx->final) {
        *out = tx->sighash[i];
        return PU_OK;
    }
    return sighashes(c, tx, i, 1, out);
}

pu_err pu_tx_sign_input(pu_crypto *c, pu_tx *tx, uint32_t i, const pu_keypair *k)
{
    if (tx->final || i >= tx->n_in || memcmp(tx->in[i].pub, k->pub, 33) != 0)
        return PU_ERR_STATE;
    pu_hash32 h;
    pu_err rc = sighashes(c, tx, i, 1, &h);
    if (rc == PU_OK)
        rc = pu_key_sign(c, k, &h, tx->in[i].sig);
    return rc;
}

pu_err pu_tx_sign_all(pu_crypto *c, pu_tx *tx, const pu_keypair *const *keys, size_t n_keys)
{
    if (tx->final || !n_keys || (n_keys != 1 && n_keys != tx->n_in))
        return PU_ERR_STATE;
    for (uint32_t i = 0; i < tx->n_in; i++)
        memcpy(tx->in[i].pub, keys[n_keys == 1 ? 0 : i]->pub, 33);
    pu_err rc = PU_OK;
    for (uint32_t i = 0; i < tx->n_in && rc == PU_OK; i++)
        rc = pu_tx_sign_input(c, tx, i, keys[n_keys == 1 ? 0 : i]);
    return rc;
}

pu_err pu_tx_finalize(pu_crypto *c, pu_tx *tx)
{
    if (tx->final)
        return PU_ERR_STATE;
    pu_buf b;
    pu_buf_init(&b);
    write_tx(tx, &b, false);
    if (b.oom) {
        pu_buf_release(&b);
        return PU_ERR_NOMEM;
    }
    if (b.len > PU_TX_MAX_SIZE) {
        pu_buf_release(&b);
        return PU_ERR_RANGE;
    }
    pu_sha256d(c, b.p, b.len, &tx->txid);
    tx->size = (uint32_t)b.len;
    pu_buf_release(&b);
    pu_err rc = sighashes(c, tx, 0, tx->n_in, tx->sighash);
    if (rc == PU_OK)
        tx->final = true;
    return rc;
}

pu_err pu_tx_read(pu_crypto *c, pu_reader *r, pu_tx **out, pu_reason *why)
{
    *out = NULL;
    *why = PU_R_TX_MALFORMED;
    size_t start = r->off;
    uint32_t version, n_in, n_out, body_len;
    uint8_t kind, has_opret;
    pu_err rc = pu_read_u32(r, &version);
    if (rc == PU_OK) rc = pu_read_u8(r, &kind);
    if (rc == PU_OK) rc = pu_read_count(r, PU_TX_INPUT_SIZE, &n_in);
    if (rc != PU_OK)
        return PU_ERR_PARSE;
    if (kind < PU_TX_PAYMENT || kind > PU_TX_EVIDENCE)
        return PU_ERR_PARSE;
    /* Inputs are parsed into a draft only after the counts are known, so
     * peek ahead: skip inputs, read n_out, then come back. */
    const uint8_t *in_bytes;
    if (pu_read_view(r, (size_t)n_in * PU_TX_INPUT_SIZE, &in_bytes) != PU_OK
        || pu_read_count(r, PU_TX_OUTPUT_SIZE, &n_out) != PU_OK)
        return PU_ERR_PARSE;
    const uint8_t *out_bytes, *opret = NULL, *body;
    uint64_t ts;
    if (pu_read_view(r, (size_t)n_out * PU_TX_OUTPUT_SIZE, &out_bytes) != PU_OK
        || pu_read_u8(r, &has_opret) != PU_OK || has_opret > 1
        || (has_opret && pu_read_view(r, PU_OPRET_SIZE, &opret) != PU_OK)
        || pu_read_u64(r, &ts) != PU_OK || pu_read_count(r, 1, &body_len) != PU_OK
        || pu_read_view(r, body_len, &body) != PU_OK)
        return PU_ERR_PARSE;
    size_t size = r->off - start;
    if (size > PU_TX_MAX_SIZE) {
        *why = PU_R_TX_TOO_LARGE;
        return PU_ERR_PARSE;
    }
    pu_tx *tx = tx_alloc(n_in, n_out, body_len);
    if (!tx)
        return PU_ERR_NOMEM;
    tx->version = version;
    tx->kind = kind;
    for (uint32_t i = 0; i < n_in; i++) {
        const uint8_t *p = in_bytes + (size_t)i * PU_TX_INPUT_SIZE;
        memcpy(tx->in[i].prev.txid.b, p, 32);
        tx->in[i].prev.index = pu_get_be32(p + 32);
        memcpy(tx->in[i].pub, p + 36, 33);
        memcpy(tx->in[i].sig, p + 69, 64);
    }
    for (uint32_t i = 0; i < n_out; i++) {
        const uint8_t *p = out_bytes + (size_t)i * PU_TX_OUTPUT_SIZE;
        tx->out[i].amount = (pu_amount)pu_get_be64(p);
        memcpy(tx->out[i].addr.b, p + 8, 20);
    }
    if (has_opret)
        pu_tx_set_opret(tx, opret);
    tx->timestamp = ts;
    if (body_len)
        memcpy(tx->body, body, body_len);
    rc = pu_tx_finalize(c, tx);
    if (rc != PU_OK) {
        pu_tx_unref(tx);
        return rc;
    }
    *why = PU_R_OK;
    *out = tx;
    return PU_OK;
}

pu_err pu_tx_parse(pu_crypto *c, const uint8_t *buf, size_t len, pu_tx **out, pu_reason *why)
{
    *out = NULL;
    if (len > PU_TX_MAX_SIZE) {
        *why = PU_R_TX_TOO_LARGE;
        return PU_ERR_PARSE;
    }
    pu_reader r;
    pu_reader_init(&r, buf, len);
    pu_err rc = pu_tx_read(c, &r, out, why);
    if (rc == PU_OK && pu_reader_left(&r) != 0) { /* trailing bytes */
        pu_tx_unref(*out);
        *out = NULL;
        *why = PU_R_TX_MALFORMED;
        return PU_ERR_PARSE;
    }
    return rc;
}

void pu_outpoint_bytes(const pu_outpoint *op, uint8_t out[36])
{
    memcpy(out, op->txid.b, 32);
    pu_put_be32(out + 32, op->index);
}

pu_tx *pu_tx_ref(pu_tx *tx)
{
    assert(tx->refs > 0 && tx->refs < UINT32_MAX);
    tx->refs++;
    return tx;
}

void pu_tx_unref(pu_tx *tx)
{
    if (tx && --tx->refs == 0)
        free(tx);
}

pu_tx_kind pu_tx_kind_of(const pu_tx *tx) { return (pu_tx_kind)tx->kind; }
uint32_t pu_tx_version(const pu_tx *tx) { return tx->version; }
uint32_t pu_tx_n_in(const pu_tx *tx) { return tx->n_in; }
uint32_t pu_tx_n_out(const pu_tx *tx) { return tx->n_out; }
const pu_txin *pu_tx_in(const pu_tx *tx, uint32_t i) { return i < tx->n_in ? &tx->in[i] : NULL; }
const pu_txout *pu_tx_out(const pu_tx *tx, uint32_t i) { return i < tx->n_out ? &tx->out[i] : NULL; }
const uint8_t *pu_tx_opret(const pu_tx *tx) { return tx->has_opret ? tx->opret : NULL; }
uint64_t pu_tx_timestamp(const pu_tx *tx) { return tx->timestamp; }
const pu_hash32 *pu_tx_id(const pu_tx *tx) { assert(tx->final); return &tx->txid; }
uint32_t pu_tx_size(const pu_tx *tx) { assert(tx->final); return tx->size; }
bool pu_tx_is_final(const pu_tx *tx) { return tx->final; }

const pu_hash32 *pu_tx_sighash_at(const pu_tx *tx, uint32_t i)
{
    assert(tx->final && i < tx->n_in);
    return &tx->sighash[i];
}

const uint8_t *pu_tx_body(const pu_tx *tx, uint32_t *len)
{
    *len = tx->body_len;
    return tx->body;
}

pu_err pu_tx_output_sum(const pu_tx *tx, pu_amount *out)
{
    pu_amount sum = 0;
    for (uint32_t i = 0; i < tx->n_out; i++)
        if (pu_amount_add(sum, tx->out[i].amount, &sum) != PU_OK)
            return PU_ERR_RANGE;
    *out = sum;
    return PU_OK;
}

void pu_tickets_encode(const pu_tickets *t, uint8_t out[PU_TICKETS_BODY_SIZE])
{
    out[0] = t->role;
    pu_put_be64(out + 1, (uint64_t)t->stake);
    memcpy(out + 9, t->task_pref.b, 32);
}

pu_err pu_tx_tickets(const pu_tx *tx, pu_tickets *out)
{
    if (tx->kind != PU_TX_BUY_TICKETS || tx->body_len != PU_TICKETS_BODY_SIZE)
        return PU_ERR_PARSE;
    out->role = tx->body[0];
    out->stake = (pu_amount)pu_get_be64(tx->body + 1);
    memcpy(out->task_pref.b, tx->body + 9, 32);
    if (out->role < PU_ROLE_MINER || out->role > PU_ROLE_VERIFIER || out->stake <= 0
        || !pu_amount_valid(out->stake))
        return PU_ERR_PARSE;
    return PU_OK;
}

pu_err pu_tx_locked(const pu_tx *tx, pu_amount *amount)
{
    *amount = 0;
    if (tx->kind == PU_TX_BUY_TICKETS) {
        pu_tickets t;
        pu_err rc = pu_tx_tickets(tx, &t);
        if (rc == PU_OK)
            *amount = t.stake;
        return rc;
    }
    if (tx->kind == PU_TX_PAY_FOR_TASK) {
        pu_task task;
        pu_err rc = pu_task_decode(tx->body, tx->body_len, &task);
        if (rc != PU_OK)
            return PU_ERR_PARSE;
        if (task.fee <= 0 || !pu_amount_valid(task.fee))
            return PU_ERR_PARSE;
        *amount = task.fee;
    }
    return PU_OK;
}

static bool kind_shape_ok(const pu_tx *tx)
{
    static const uint8_t zero[97];
    switch ((pu_tx_kind)tx->kind) {
    case PU_TX_PAYMENT:
        return tx->n_in >= 1 && tx->n_out >= 1 && tx->body_len == 0;
    case PU_TX_EVIDENCE:
        return tx->n_in >= 1 && tx->n_out >= 1 && tx->body_len >= 1;
    case PU_TX_COINBASE:
        return tx->n_in == 0 && tx->n_out >= 1 && tx->body_len == 4;
    case PU_TX_PAY_FOR_TASK:
    case PU_TX_BUY_TICKETS: {
        pu_amount locked;
        return tx->n_in >= 1 && pu_tx_locked(tx, &locked) == PU_OK && locked > 0;
    }
    case PU_TX_SETTLEMENT:
        if (tx->n_in < 1 || tx->body_len < 32)
            return false;
        /* Settlements spend locks only; locks carry no key or signature. */
        for (uint32_t i = 0; i < tx->n_in; i++)
            if (tx->in[i].prev.index != PU_LOCK_INDEX
                || memcmp(tx->in[i].pub, zero, 33) || memcmp(tx->in[i].sig, zero, 64))
                return false;
        return true;
    }
    return false;
}

static int outpoint_cmp(const void *a, const void *b)
{
    const pu_outpoint *x = a, *y = b;
    int c = memcmp(x->txid.b, y->txid.b, 32);
    if (c)
        return c;
    return x->index < y->index ? -1 : x->index > y->index;
}

static bool has_dup_inputs(const pu_tx *tx)
{
    if (tx->n_in < 2)
        return false;
    if (tx->n_in <= 8) { /* the common case: no allocation */
        for (uint32_t i = 0; i < tx->n_in; i++)
            for (uint32_t j = i + 1; j < tx->n_in; j++)
                if (outpoint_cmp(&tx->in[i].prev, &tx->in[j].prev) == 0)
                    return true;
        return false;
    }
    pu_outpoint *ops = malloc(tx->n_in * sizeof *ops);
    if (!ops)
        return true; /* refuse rather than accept unchecked */
    for (uint32_t i = 0; i < tx->n_in; i++)
        ops[i] = tx->in[i].prev;
    qsort(ops, tx->n_in, sizeof *ops, outpoint_cmp);
    bool dup = false;
    for (uint32_t i = 1; i < tx->n_in && !dup; i++)
        dup = outpoint_cmp(&ops[i - 1], &ops[i]) == 0;
    free(ops);
    return dup;
}

pu_reason pu_tx_check(const pu_tx *tx)
{
    if (!tx->final)
        return PU_R_TX_MALFORMED;
    if (tx->size > PU_TX_MAX_SIZE)
        return PU_R_TX_TOO_LARGE;
    if (tx->version != PU_TX_VERSION)
        return PU_R_TX_MALFORMED;
    if (!kind_shape_ok(tx))
        return PU_R_TX_BAD_KIND;
    for (uint32_t i = 0; i < tx->n_out; i++)
        if (tx->out[i].amount <= 0 || !pu_amount_valid(tx->out[i].amount))
            return PU_R_TX_BAD_AMOUNT;
    pu_amount sum;
    if (pu_tx_output_sum(tx, &sum) != PU_OK)
        return PU_R_TX_BAD_AMOUNT;
    if (has_dup_inputs(tx))
        return PU_R_TX_DUP_INPUT;
    return PU_R_OK;
}
