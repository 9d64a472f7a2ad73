/* tests/testutil.c -- see testutil.h. */
#include "tests/testutil.h"

#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"

int tu_env_init(tu_env *e)
{
    memset(e, 0, sizeof *e);
    if (pu_crypto_new(&e->crypto) != PU_OK || pu_sigcache_new(1 << 12, &e->sigcache) != PU_OK
        || pu_valcache_new(&e->valcache) != PU_OK)
        return -1;
    pu_params_default(&e->params);
    e->params.coinbase_maturity = 0;
    e->params.target_spacing_s = 1;
    e->params.fixed_target = true;
    pu_params_set_hashes(&e->params, 16);
    for (int i = 0; i < TU_WALLETS; i++) {
        uint8_t seed[32] = {0};
        seed[0] = 0xA5;
        seed[31] = (uint8_t)(i + 1);
        if (pu_key_from_seed(e->crypto, seed, &e->w[i]) != PU_OK)
            return -1;
    }
    pu_tx *cb;
    if (pu_tx_new(PU_TX_COINBASE, 0, 2 * TU_WALLETS, 4, &cb) != PU_OK)
        return -1;
    for (int i = 0; i < 2 * TU_WALLETS; i++) {
        pu_tx_out_mut(cb, (uint32_t)i)->amount = 50 * PU_COIN;
        pu_tx_out_mut(cb, (uint32_t)i)->addr = e->w[i / 2].addr;
    }
    if (pu_tx_finalize(e->crypto, cb) != PU_OK)
        return -1;
    pu_header h;
    memset(&h, 0, sizeof h);
    h.version = PU_BLOCK_VERSION;
    h.timestamp = 1000;
    h.bits = pu_bits_from_target(&e->params.pow_limit);
    if (pu_block_new(&h, &e->genesis) != PU_OK || pu_block_add_tx(e->genesis, cb) != PU_OK
        || pu_block_update_merkle(e->crypto, e->genesis) != PU_OK)
        return -1;
    pu_tx_unref(cb);
    tu_grind(e, e->genesis);
    return 0;
}

void tu_env_release(tu_env *e)
{
    pu_block_unref(e->genesis);
    pu_valcache_free(e->valcache);
    pu_sigcache_free(e->sigcache);
    pu_crypto_free(e->crypto);
}

pu_chain *tu_chain(tu_env *e, bool share_valcache)
{
    pu_chain_opts o = {&e->params, e->crypto, e->sigcache, share_valcache ? e->valcache : NULL, NULL};
    pu_chain *ch = NULL;
    if (pu_chain_new(&o, e->genesis, &ch) != PU_OK)
        return NULL;
    return ch;
}

void tu_grind(tu_env *e, pu_block *draft)
{
    pu_header *h = pu_block_header_mut(draft);
    for (;; h->nonce++) {
        pu_hash32 hh;
        pu_header_hash(e->crypto, h, &hh);
        if (pu_hash_meets_bits(&hh, h->bits))
            break;
    }
    if (pu_block_finalize(e->crypto, draft) != PU_OK)
        abort(); /* test helper: a programming error */
}

typedef struct { const pu_addr *a; pu_outpoint ops[64]; pu_amount amt[64]; int n; } coin_scan;

static pu_err scan(void *ctx, const pu_outpoint *op, const pu_coin *c)
{
    coin_scan *s = ctx;
    if (s->n < 64 && !(c->flags & PU_COIN_LOCKED) && memcmp(c->addr.b, s->a->b, 20) == 0) {
        s->ops[s->n] = *op;
        s->amt[s->n++] = c->amount;
    }
    return PU_OK;
}

static pu_tx *build_pay(tu_env *e, const pu_outpoint *ops, int n_ops, pu_amount in_sum, int from,
                        const pu_addr *to, pu_amount amount, pu_amount fee)
{
    pu_amount change = in_sum - amount - fee;
    pu_tx *tx;
    if (change < 0 || pu_tx_new(PU_TX_PAYMENT, (uint32_t)n_ops, change ? 2 : 1, 0, &tx) != PU_OK)
        return NULL;
    for (int i = 0; i < n_ops; i++)
        pu_tx_in_mut(tx, (uint32_t)i)->prev = ops[i];
    pu_tx_out_mut(tx, 0)->amount = amount;
    pu_tx_out_mut(tx, 0)->addr = *to;
    if (change) {
        pu_tx_out_mut(tx, 1)->amount = change;
        pu_tx_out_mut(tx, 1)->addr = e->w[from].addr;
    }
    const pu_keypair *k = &e->w[from];
    if (pu_tx_sign_all(e->crypto, tx, &k, 1) != PU_OK)
        abort();
    if (pu_tx_finalize(e->crypto, tx) != PU_OK)
        abort();
    return tx;
}

pu_tx *tu_pay(tu_env *e, const pu_chain *ch, int from, const pu_addr *to, pu_amount amount,
              pu_amount fee)
{
    coin_scan s = {&e->w[from].addr, {{{{0}}, 0}}, {0}, 0};
    if (pu_utxo_foreach_sorted(pu_chain_utxo(ch), scan, &s) != PU_OK)
        return NULL;
    pu_outpoint ops[64];
    pu_amount sum = 0;
    int n = 0;
    for (int i = 0; i < s.n && sum < amount + fee; i++) { /* sorted order is deterministic */
        ops[n++] = s.ops[i];
        sum += s.amt[i];
    }
    if (sum < amount + fee)
        return NULL;
    return build_pay(e, ops, n, sum, from, to, amount, fee);
}

pu_tx *tu_pay_from(tu_env *e, const pu_outpoint *op, pu_amount in_amount, int from,
                   const pu_addr *to, pu_amount amount, pu_amount fee)
{
    return build_pay(e, op, 1, in_amount, from, to, amount, fee);
}

pu_block *tu_mine(tu_env *e, pu_chain *ch, pu_tx *const *txs, size_t n, int miner, uint64_t now_s)
{
    pu_block *b;
    if (pu_chain_create_block(ch, txs, n, &e->w[miner].addr, NULL, 0, now_s, &b) != PU_OK)
        return NULL;
    tu_grind(e, b);
    return b;
}

pu_reason tu_mine_add(tu_env *e, pu_chain *ch, pu_tx *const *txs, size_t n, int miner,
                      uint64_t now_s, pu_block **out)
{
    pu_block *b = tu_mine(e, ch, txs, n, miner, now_s);
    pu_add_result res;
    if (!b)
        return PU_R_BLOCK_MALFORMED;
    pu_err rc = pu_chain_add_block(ch, b, now_s, &res);
    if (rc != PU_OK && rc != PU_ERR_INVALID && rc != PU_ERR_EXISTS)
        res.reason = PU_R_BLOCK_MALFORMED;
    if (out)
        *out = b;
    else
        pu_block_unref(b);
    return res.reason;
}

static int hash_cmp(const void *a, const void *b) { return memcmp(a, b, 32); }

void tu_state_digest(tu_env *e, const pu_chain *ch, pu_hash32 *out)
{
    pu_hash32 parts[2];
    if (pu_utxo_digest(e->crypto, pu_chain_utxo(ch), &parts[0]) != PU_OK)
        abort();
    parts[1] = *pu_chain_tip_hash(ch);
    size_t n = pu_mempool_count(pu_chain_mempool(ch));
    pu_hash32 *ids = calloc(n + 2, sizeof *ids);
    memcpy(ids, parts, sizeof parts);
    for (size_t i = 0; i < n; i++)
        ids[i + 2] = *pu_tx_id(pu_mempool_at(pu_chain_mempool(ch), i, NULL));
    qsort(ids + 2, n, sizeof *ids, hash_cmp);
    pu_sha256(e->crypto, ids, (n + 2) * sizeof *ids, out);
    free(ids);
}
