/* core/utxo.c -- outpoint map + address balance map. */
#include "core/utxo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/hmap.h"
#include "core/tx.h"

struct pu_utxo {
    pu_hmap *coins;    /* outpoint key (36 bytes) -> pu_coin */
    pu_hmap *balances; /* address (20 bytes) -> pu_amount */
    pu_amount total, locked;
};

pu_err pu_utxo_new(pu_utxo **out)
{
    *out = NULL;
    pu_utxo *u = calloc(1, sizeof *u);
    if (!u)
        return PU_ERR_NOMEM;
    if (pu_hmap_new(36, sizeof(pu_coin), 64, &u->coins) != PU_OK
        || pu_hmap_new(20, sizeof(pu_amount), 64, &u->balances) != PU_OK) {
        pu_utxo_free(u);
        return PU_ERR_NOMEM;
    }
    *out = u;
    return PU_OK;
}

void pu_utxo_free(pu_utxo *u)
{
    if (!u)
        return;
    pu_hmap_free(u->coins);
    pu_hmap_free(u->balances);
    free(u);
}

const pu_coin *pu_utxo_find(const pu_utxo *u, const pu_outpoint *op)
{
    uint8_t k[36];
    pu_outpoint_bytes(op, k);
    return pu_hmap_get(u->coins, k);
}

pu_err pu_utxo_add(pu_utxo *u, const pu_outpoint *op, const pu_coin *coin)
{
    uint8_t k[36];
    pu_outpoint_bytes(op, k);
    if (pu_hmap_get(u->coins, k))
        return PU_ERR_EXISTS;
    bool locked = coin->flags & PU_COIN_LOCKED;
    pu_amount *sum = locked ? &u->locked : &u->total, nsum, nbal = 0;
    if (pu_amount_add(*sum, coin->amount, &nsum) != PU_OK)
        return PU_ERR_RANGE;
    pu_amount *bal = NULL;
    if (!locked) {
        bal = pu_hmap_get(u->balances, coin->addr.b);
        if (pu_amount_add(bal ? *bal : 0, coin->amount, &nbal) != PU_OK)
            return PU_ERR_RANGE;
        void *slot;
        if (pu_hmap_put(u->balances, coin->addr.b, &slot, NULL) != PU_OK)
            return PU_ERR_NOMEM;
        bal = slot;
    }
    void *slot;
    if (pu_hmap_put(u->coins, k, &slot, NULL) != PU_OK) {
        if (bal && *bal == 0) /* undo the empty balance slot we made */
            (void)pu_hmap_remove(u->balances, coin->addr.b, NULL);
        return PU_ERR_NOMEM;
    }
    memcpy(slot, coin, sizeof *coin);
    if (bal) /* re-find: inserting a coin never moves balance slots, but be exact */
        *(pu_amount *)pu_hmap_get(u->balances, coin->addr.b) = nbal;
    *sum = nsum;
    return PU_OK;
}

pu_err pu_utxo_spend(pu_utxo *u, const pu_outpoint *op, pu_coin *spent)
{
    uint8_t k[36];
    pu_coin c;
    pu_outpoint_bytes(op, k);
    if (pu_hmap_remove(u->coins, k, &c) != PU_OK)
        return PU_ERR_NOTFOUND;
    if (c.flags & PU_COIN_LOCKED) {
        u->locked -= c.amount;
    } else {
        u->total -= c.amount;
        pu_amount *bal = pu_hmap_get(u->balances, c.addr.b);
        /* bal exists: every unlocked coin was counted in on add */
        *bal -= c.amount;
        if (*bal == 0)
            (void)pu_hmap_remove(u->balances, c.addr.b, NULL);
    }
    if (spent)
        *spent = c;
    return PU_OK;
}

size_t pu_utxo_count(const pu_utxo *u) { return pu_hmap_count(u->coins); }
pu_amount pu_utxo_total(const pu_utxo *u) { return u->total; }
pu_amount pu_utxo_locked(const pu_utxo *u) { return u->locked; }
size_t pu_utxo_n_addresses(const pu_utxo *u) { return pu_hmap_count(u->balances); }

size_t pu_utxo_bytes(const pu_utxo *u)
{
    return sizeof *u + pu_hmap_bytes(u->coins) + pu_hmap_bytes(u->balances);
}

pu_amount pu_utxo_balance(const pu_utxo *u, const pu_addr *a)
{
    const pu_amount *bal = pu_hmap_get(u->balances, a->b);
    return bal ? *bal : 0;
}

typedef struct { uint8_t key[36]; const pu_coin *coin; } sorted_entry;

static int entry_cmp(const void *a, const void *b)
{
    return memcmp(((const sorted_entry *)a)->key, ((const sorted_entry *)b)->key, 36);
}

pu_err pu_utxo_foreach_sorted(const pu_utxo *u, pu_utxo_visit_fn fn, void *ctx)
{
    size_t n = pu_hmap_count(u->coins), i = 0, cur = 0;
    sorted_entry *v = malloc((n ? n : 1) * sizeof *v);
    if (!v)
        return PU_ERR_NOMEM;
    const void *key;
    void *val;
    while (pu_hmap_next(u->coins, &cur, &key, &val)) {
        memcpy(v[i].key, key, 36);
        v[i++].coin = val;
    }
    qsort(v, n, sizeof *v, entry_cmp);
    pu_err rc = PU_OK;
    for (i = 0; i < n && rc == PU_OK; i++) {
        pu_outpoint op;
        memcpy(op.txid.b, v[i].key, 32);
        op.index = pu_get_be32(v[i].key + 32);
        rc = fn(ctx, &op, v[i].coin);
    }
    free(v);
    return rc;
}

typedef struct { pu_buf buf; } digest_ctx;

static pu_err digest_visit(void *ctx, const pu_outpoint *op, const pu_coin *coin)
{
    digest_ctx *d = ctx;
    uint8_t k[36], c[PU_COIN_SIZE];
    pu_outpoint_bytes(op, k);
    pu_coin_serialize(coin, c);
    pu_buf_put(&d->buf, k, sizeof k);
    pu_buf_put(&d->buf, c, sizeof c);
    return d->buf.oom ? PU_ERR_NOMEM : PU_OK;
}

pu_err pu_utxo_digest(pu_crypto *c, const pu_utxo *u, pu_hash32 *out)
{
    digest_ctx d;
    pu_buf_init(&d.buf);
    pu_err rc = pu_utxo_foreach_sorted(u, digest_visit, &d);
    if (rc == PU_OK)
        pu_sha256(c, d.buf.p, d.buf.len, out);
    pu_buf_release(&d.buf);
    return rc;
}

void pu_coin_serialize(const pu_coin *c, uint8_t out[PU_COIN_SIZE])
{
    pu_put_be64(out, (uint64_t)c->amount);
    memcpy(out + 8, c->addr.b, 20);
    pu_put_be32(out + 28, c->height);
    out[32] = c->flags;
}

pu_err pu_coin_parse(const uint8_t *buf, size_t len, pu_coin *out)
{
    if (len != PU_COIN_SIZE)
        return PU_ERR_PARSE;
    memset(out, 0, sizeof *out);
    out->amount = (pu_amount)pu_get_be64(buf);
    memcpy(out->addr.b, buf + 8, 20);
    out->height = pu_get_be32(buf + 28);
    out->flags = buf[32];
    if (out->amount <= 0 || !pu_amount_valid(out->amount)
        || (out->flags & ~(PU_COIN_COINBASE | PU_COIN_LOCKED)) != 0)
        return PU_ERR_PARSE;
    return PU_OK;
}

void pu_outpoint_key(const pu_outpoint *op, char *buf, size_t n)
{
    char hex[65];
    pu_hash_hex(&op->txid, hex);
    snprintf(buf, n, "%s:%u", hex, (unsigned)op->index);
}
