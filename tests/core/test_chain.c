/* tests/core/test_chain.c -- add_tx / add_block pipelines: every reason code,
 * orphans, reorganisations restoring exact state, supply conservation. */
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "tests/harness.h"
#include "tests/testutil.h"

static tu_env E;
static int setup(void) { return tu_env_init(&E); }
static int teardown(void) { tu_env_release(&E); return 0; }

#define FEE (2 * PU_COIN / 1000) /* 0.002 coin, above the 0.0001 minimum */

static pu_reason add_tx(pu_chain *ch, pu_tx *tx)
{
    pu_reason why = PU_R_OK;
    pu_err rc = pu_chain_add_tx(ch, tx, &why);
    CU_ASSERT(rc == PU_OK || rc == PU_ERR_INVALID);
    CU_ASSERT_EQUAL(rc == PU_OK, why == PU_R_OK);
    return why;
}

static pu_reason add_block(pu_chain *ch, pu_block *b, uint64_t now)
{
    pu_add_result res;
    pu_err rc = pu_chain_add_block(ch, b, now, &res);
    CU_ASSERT(rc == PU_OK || rc == PU_ERR_INVALID || rc == PU_ERR_EXISTS);
    return res.reason;
}

/* Outpoint of wallet w's first genesis coin (50 coins). */
static pu_outpoint gen_coin(int w, int k)
{
    pu_outpoint op = {*pu_tx_id(pu_block_tx(E.genesis, 0)), (uint32_t)(2 * w + k)};
    return op;
}

static void test_queries_and_mining(void)
{
    pu_chain *ch = tu_chain(&E, true);
    CU_ASSERT_FATAL(ch != NULL);
    CU_ASSERT_EQUAL(pu_chain_length(ch), 1);
    CU_ASSERT_EQUAL(pu_chain_balance(ch, &E.w[3].addr), 100 * PU_COIN);
    CU_ASSERT_EQUAL(pu_chain_supply(ch), 800 * PU_COIN);
    pu_tx *p = tu_pay(&E, ch, 0, &E.w[1].addr, 10 * PU_COIN, FEE);
    CU_ASSERT_EQUAL(add_tx(ch, p), PU_R_OK);
    CU_ASSERT_EQUAL(pu_chain_mempool_size(ch), 1);
    pu_block *b;
    CU_ASSERT_EQUAL(tu_mine_add(&E, ch, NULL, 0, 7, 2000, &b), PU_R_OK); /* template from mempool */
    CU_ASSERT_EQUAL(pu_block_n_tx(b), 2);
    CU_ASSERT_EQUAL(pu_chain_length(ch), 2);
    CU_ASSERT_TRUE(pu_hash_eq(pu_chain_tip_hash(ch), pu_block_hash(b)));
    CU_ASSERT_EQUAL(pu_chain_mempool_size(ch), 0);
    CU_ASSERT_EQUAL(pu_chain_balance(ch, &E.w[1].addr), 110 * PU_COIN);
    CU_ASSERT_EQUAL(pu_chain_balance(ch, &E.w[0].addr), 90 * PU_COIN - FEE);
    /* miner: reward + fee */
    CU_ASSERT_EQUAL(pu_chain_balance(ch, &E.w[7].addr), 100 * PU_COIN + 1250000000 + FEE);
    CU_ASSERT_EQUAL(pu_chain_supply(ch), 800 * PU_COIN + 1250000000);
    CU_ASSERT_EQUAL(add_block(ch, b, 2000), PU_R_DUPLICATE_BLOCK);
    pu_block_unref(b);
    pu_tx_unref(p);
    pu_chain_free(ch);
}

static void test_mempool_reasons(void)
{
    pu_params saved = E.params;
    E.params.mempool_capacity = 3;
    E.params.coinbase_maturity = 5;
    pu_chain *ch = tu_chain(&E, false);
    E.params = saved;
    pu_tx *tx;
    /* context-free: payment without inputs */
    CU_ASSERT_FATAL(pu_tx_new(PU_TX_PAYMENT, 0, 1, 0, &tx) == PU_OK);
    pu_tx_out_mut(tx, 0)->amount = 1;
    CU_ASSERT_FATAL(pu_tx_finalize(E.crypto, tx) == PU_OK);
    CU_ASSERT_EQUAL(add_tx(ch, tx), PU_R_TX_BAD_KIND);
    pu_tx_unref(tx);
    /* loose coinbase */
    CU_ASSERT_EQUAL(add_tx(ch, pu_block_tx(E.genesis, 0)), PU_R_COINBASE_LOOSE);
    /* missing input */
    pu_outpoint nowhere = {{{0xEE}}, 3};
    tx = tu_pay_from(&E, &nowhere, 50 * PU_COIN, 0, &E.w[1].addr, PU_COIN, FEE);
    CU_ASSERT_EQUAL(add_tx(ch, tx), PU_R_MISSING_INPUT);
    pu_tx_unref(tx);
    /* wrong key: wallet 1 signs wallet 0's coin */
    pu_outpoint c00 = gen_coin(0, 0);
    tx = tu_pay_from(&E, &c00, 50 * PU_COIN, 1, &E.w[1].addr, PU_COIN, FEE);
    CU_ASSERT_EQUAL(add_tx(ch, tx), PU_R_WRONG_KEY);
    pu_tx_unref(tx);
    /* inflation: claims the coin is worth more than it is */
    tx = tu_pay_from(&E, &c00, 60 * PU_COIN, 0, &E.w[1].addr, 55 * PU_COIN, FEE);
    CU_ASSERT_EQUAL(add_tx(ch, tx), PU_R_INFLATION);
    pu_tx_unref(tx);
    /* fee below the minimum */
    tx = tu_pay_from(&E, &c00, 50 * PU_COIN, 0, &E.w[1].addr, PU_COIN, E.params.min_fee - 1);
    CU_ASSERT_EQUAL(add_tx(ch, tx), PU_R_FEE_TOO_LOW);
    pu_tx_unref(tx);
    /* bad signature: flip a bit of an otherwise valid transaction's signature */
    pu_tx *good = tu_pay_from(&E, &c00, 50 * PU_COIN, 0, &E.w[1].addr, PU_COIN, FEE);
    uint8_t *buf;
    size_t len;
    pu_reason why;
    CU_ASSERT_FATAL(pu_tx_serialize(good, &buf, &len) == PU_OK);
    buf[9 + 69 + 40] ^= 0x01;
    CU_ASSERT_FATAL(pu_tx_parse(E.crypto, buf, len, &tx, &why) == PU_OK);
    free(buf);
    CU_ASSERT_EQUAL(add_tx(ch, tx), PU_R_BAD_SIGNATURE);
    pu_tx_unref(tx);
    /* accepted, then duplicate, then double spend of the same coin */
    CU_ASSERT_EQUAL(add_tx(ch, good), PU_R_OK);
    CU_ASSERT_EQUAL(add_tx(ch, good), PU_R_TX_DUPLICATE);
    tx = tu_pay_from(&E, &c00, 50 * PU_COIN, 0, &E.w[2].addr, 2 * PU_COIN, FEE);
    CU_ASSERT_EQUAL(add_tx(ch, tx), PU_R_DOUBLE_SPEND);
    pu_tx_unref(tx);
    /* fill the mempool (capacity 3), then: equal fee refused, higher fee evicts */
    pu_outpoint c10 = gen_coin(1, 0), c20 = gen_coin(2, 0), c30 = gen_coin(3, 0);
    pu_tx *t1 = tu_pay_from(&E, &c10, 50 * PU_COIN, 1, &E.w[5].addr, PU_COIN, FEE);
    pu_tx *t2 = tu_pay_from(&E, &c20, 50 * PU_COIN, 2, &E.w[5].addr, PU_COIN, FEE);
    CU_ASSERT_EQUAL(add_tx(ch, t1), PU_R_OK);
    CU_ASSERT_EQUAL(add_tx(ch, t2), PU_R_OK);
    CU_ASSERT_EQUAL(pu_chain_mempool_size(ch), 3);
    tx = tu_pay_from(&E, &c30, 50 * PU_COIN, 3, &E.w[5].addr, PU_COIN, FEE);
    CU_ASSERT_EQUAL(add_tx(ch, tx), PU_R_MEMPOOL_FULL);
    pu_tx_unref(tx);
    tx = tu_pay_from(&E, &c30, 50 * PU_COIN, 3, &E.w[5].addr, PU_COIN, 2 * FEE);
    CU_ASSERT_EQUAL(add_tx(ch, tx), PU_R_OK);
    CU_ASSERT_EQUAL(pu_chain_mempool_size(ch), 3);
    /* the newest of the equal-fee entries (t2) was evicted */
    CU_ASSERT_TRUE(pu_mempool_has(pu_chain_mempool(ch), pu_tx_id(good)));
    CU_ASSERT_TRUE(pu_mempool_has(pu_chain_mempool(ch), pu_tx_id(t1)));
    CU_ASSERT_FALSE(pu_mempool_has(pu_chain_mempool(ch), pu_tx_id(t2)));
    pu_tx_unref(tx);
    pu_tx_unref(t1);
    pu_tx_unref(t2);
    pu_tx_unref(good);
    /* immature coinbase: mine a block to wallet 4, spend its coinbase at once */
    pu_block *b;
    CU_ASSERT_EQUAL(tu_mine_add(&E, ch, NULL, 0, 4, 2000, &b), PU_R_OK);
    pu_outpoint cbop = {*pu_tx_id(pu_block_tx(b, 0)), 0};
    tx = tu_pay_from(&E, &cbop, pu_tx_out(pu_block_tx(b, 0), 0)->amount, 4, &E.w[1].addr, PU_COIN, FEE);
    CU_ASSERT_EQUAL(add_tx(ch, tx), PU_R_IMMATURE);
    pu_tx_unref(tx);
    pu_block_unref(b);
    pu_chain_free(ch);
}

static void test_locks(void)
{
    pu_chain *ch = tu_chain(&E, true);
    pu_outpoint c50 = gen_coin(5, 0);
    pu_tx *tk;
    CU_ASSERT_FATAL(pu_tx_new(PU_TX_BUY_TICKETS, 1, 1, PU_TICKETS_BODY_SIZE, &tk) == PU_OK);
    pu_tx_in_mut(tk, 0)->prev = c50;
    pu_tx_out_mut(tk, 0)->amount = 40 * PU_COIN;
    pu_tx_out_mut(tk, 0)->addr = E.w[5].addr;
    pu_tickets t = {PU_ROLE_MINER, 9 * PU_COIN, {{0}}};
    pu_tickets_encode(&t, pu_tx_body_mut(tk));
    const pu_keypair *k = &E.w[5];
    CU_ASSERT_FATAL(pu_tx_sign_all(E.crypto, tk, &k, 1) == PU_OK);
    CU_ASSERT_FATAL(pu_tx_finalize(E.crypto, tk) == PU_OK);
    CU_ASSERT_EQUAL(add_tx(ch, tk), PU_R_OK);
    CU_ASSERT_EQUAL(tu_mine_add(&E, ch, NULL, 0, 6, 2000, NULL), PU_R_OK);
    /* 50 in, 40 out, 9 locked: fee 1 coin */
    CU_ASSERT_EQUAL(pu_utxo_locked(pu_chain_utxo(ch)), 9 * PU_COIN);
    CU_ASSERT_EQUAL(pu_chain_balance(ch, &E.w[5].addr), 90 * PU_COIN);
    CU_ASSERT_EQUAL(pu_chain_supply(ch), 800 * PU_COIN + 1250000000);
    pu_outpoint lock = {*pu_tx_id(tk), PU_LOCK_INDEX};
    const pu_coin *lc = pu_utxo_find(pu_chain_utxo(ch), &lock);
    CU_ASSERT_FATAL(lc != NULL);
    CU_ASSERT_EQUAL(lc->flags, PU_COIN_STAKE);
    CU_ASSERT_EQUAL(memcmp(lc->addr.b, E.w[5].addr.b, 20), 0);
    /* a payment may not spend a lock */
    pu_tx *steal = tu_pay_from(&E, &lock, 9 * PU_COIN, 5, &E.w[1].addr, PU_COIN, FEE);
    CU_ASSERT_EQUAL(add_tx(ch, steal), PU_R_LOCKED_OUTPUT);
    pu_tx_unref(steal);
    /* a settlement is only valid inside a block */
    pu_tx *st;
    CU_ASSERT_FATAL(pu_tx_new(PU_TX_SETTLEMENT, 1, 1, 32, &st) == PU_OK);
    pu_tx_in_mut(st, 0)->prev = lock;
    pu_tx_out_mut(st, 0)->amount = 9 * PU_COIN;
    pu_tx_out_mut(st, 0)->addr = E.w[5].addr;
    CU_ASSERT_FATAL(pu_tx_finalize(E.crypto, st) == PU_OK);
    CU_ASSERT_EQUAL(add_tx(ch, st), PU_R_COINBASE_LOOSE);
    /* in a block, a settlement that pays out exactly the lock is accepted */
    CU_ASSERT_EQUAL(tu_mine_add(&E, ch, &st, 1, 6, 2001, NULL), PU_R_OK);
    CU_ASSERT_EQUAL(pu_utxo_locked(pu_chain_utxo(ch)), 0);
    CU_ASSERT_EQUAL(pu_chain_balance(ch, &E.w[5].addr), 99 * PU_COIN);
    CU_ASSERT_EQUAL(pu_chain_supply(ch), 800 * PU_COIN + 2 * INT64_C(1250000000));
    pu_tx_unref(st);
    pu_tx_unref(tk);
    pu_chain_free(ch);
}

/* A block on ch's tip with header edits applied before grinding. */
typedef void (*edit_fn)(pu_header *h, void *arg);

static pu_block *crafted(pu_chain *ch, pu_tx *const *txs, size_t n, uint64_t ts, edit_fn edit, void *arg)
{
    pu_block *b;
    CU_ASSERT_FATAL(pu_chain_create_block(ch, txs, n, &E.w[7].addr, NULL, 0, ts, &b) == PU_OK);
    if (edit)
        edit(pu_block_header_mut(b), arg);
    tu_grind(&E, b);
    return b;
}

static void set_bits(pu_header *h, void *arg) { h->bits = *(uint32_t *)arg; }
static void set_time(pu_header *h, void *arg) { h->timestamp = *(uint64_t *)arg; }
static void bad_merkle(pu_header *h, void *arg) { (void)arg; h->merkle.b[0] ^= 1; }
static void pouw_header(pu_header *h, void *arg) { (void)arg; h->ml_task_id.b[0] = 1; }

/* A block with a hand-made coinbase paying `value` at `height`, plus txs. */
static pu_block *custom_cb(pu_chain *ch, uint32_t height, pu_amount value, int n_cb, pu_tx *const *txs,
                           size_t n, uint64_t ts)
{
    pu_header h;
    memset(&h, 0, sizeof h);
    h.version = PU_BLOCK_VERSION;
    h.prev = *pu_chain_tip_hash(ch);
    h.timestamp = ts;
    h.bits = pu_chain_next_bits(ch);
    pu_block *b;
    CU_ASSERT_FATAL(pu_block_new(&h, &b) == PU_OK);
    for (int k = 0; k < n_cb; k++) {
        pu_tx *cb;
        CU_ASSERT_FATAL(pu_tx_new(PU_TX_COINBASE, 0, 1, 4, &cb) == PU_OK);
        pu_put_be32(pu_tx_body_mut(cb), height);
        pu_tx_out_mut(cb, 0)->amount = value - k;
        pu_tx_out_mut(cb, 0)->addr = E.w[7].addr;
        CU_ASSERT_FATAL(pu_tx_finalize(E.crypto, cb) == PU_OK);
        CU_ASSERT_FATAL(pu_block_add_tx(b, cb) == PU_OK);
        pu_tx_unref(cb);
        if (k == 0)
            for (size_t i = 0; i < n; i++)
                CU_ASSERT_FATAL(pu_block_add_tx(b, txs[i]) == PU_OK);
    }
    CU_ASSERT_FATAL(pu_block_update_merkle(E.crypto, b) == PU_OK);
    tu_grind(&E, b);
    return b;
}

static void test_block_reasons(void)
{
    pu_params saved = E.params;
    E.params.max_block_size = 2000;
    pu_chain *ch = tu_chain(&E, false);
    E.params = saved;
    pu_block *b;
    uint64_t now = 5000;
    /* high hash: a nonce whose hash misses the target */
    CU_ASSERT_FATAL(pu_chain_create_block(ch, NULL, 0, &E.w[7].addr, NULL, 0, now, &b) == PU_OK);
    for (;; pu_block_header_mut(b)->nonce++) {
        pu_hash32 hh;
        pu_header_hash(E.crypto, pu_block_header(b), &hh);
        if (!pu_hash_meets_bits(&hh, pu_block_header(b)->bits))
            break;
    }
    CU_ASSERT_FATAL(pu_block_finalize(E.crypto, b) == PU_OK);
    CU_ASSERT_EQUAL(add_block(ch, b, now), PU_R_HIGH_HASH);
    pu_block_unref(b);
    /* wrong difficulty: an easier target than the rule's */
    uint32_t easy = 0x2100ffff;
    b = crafted(ch, NULL, 0, now, set_bits, &easy);
    CU_ASSERT_EQUAL(add_block(ch, b, now), PU_R_BAD_DIFFICULTY);
    pu_block_unref(b);
    /* timestamps: not after the median time past; too far in the future */
    uint64_t old = 1000;
    b = crafted(ch, NULL, 0, now, set_time, &old);
    CU_ASSERT_EQUAL(add_block(ch, b, now), PU_R_TIME_TOO_OLD);
    pu_block_unref(b);
    uint64_t future = now + E.params.max_future_s + 1;
    b = crafted(ch, NULL, 0, now, set_time, &future);
    CU_ASSERT_EQUAL(add_block(ch, b, now), PU_R_TIME_TOO_NEW);
    CU_ASSERT_EQUAL(add_block(ch, b, future), PU_R_OK); /* valid once the clock catches up */
    pu_block_unref(b);
    now = future + 1;
    /* merkle root */
    b = crafted(ch, NULL, 0, now, bad_merkle, NULL);
    CU_ASSERT_EQUAL(add_block(ch, b, now), PU_R_BAD_MERKLE);
    pu_block_unref(b);
    /* coinbase: none, two, wrong height, too much */
    uint32_t h1 = pu_chain_height(ch) + 1;
    pu_amount reward = E.params.block_reward;
    pu_tx *p = tu_pay(&E, ch, 0, &E.w[1].addr, PU_COIN, FEE);
    b = custom_cb(ch, h1, reward, 0, &p, 1, now);
    CU_ASSERT_EQUAL(add_block(ch, b, now), PU_R_NO_COINBASE);
    pu_block_unref(b);
    b = custom_cb(ch, h1, reward, 2, NULL, 0, now);
    CU_ASSERT_EQUAL(add_block(ch, b, now), PU_R_EXTRA_COINBASE);
    pu_block_unref(b);
    b = custom_cb(ch, h1 + 1, reward, 1, NULL, 0, now);
    CU_ASSERT_EQUAL(add_block(ch, b, now), PU_R_BAD_COINBASE_HEIGHT);
    pu_block_unref(b);
    b = custom_cb(ch, h1, reward + FEE + 1, 1, &p, 1, now);
    CU_ASSERT_EQUAL(add_block(ch, b, now), PU_R_BAD_COINBASE_AMOUNT);
    pu_block_unref(b);
    b = custom_cb(ch, h1, reward + FEE, 1, &p, 1, now); /* exactly reward + fees is fine */
    pu_block *side = b;
    /* double spend inside one block; the same transaction twice */
    pu_outpoint c20 = gen_coin(2, 0);
    pu_tx *d1 = tu_pay_from(&E, &c20, 50 * PU_COIN, 2, &E.w[3].addr, PU_COIN, FEE);
    pu_tx *d2 = tu_pay_from(&E, &c20, 50 * PU_COIN, 2, &E.w[4].addr, PU_COIN, FEE);
    pu_tx *pair[2] = {d1, d2};
    b = crafted(ch, pair, 2, now, NULL, NULL);
    CU_ASSERT_EQUAL(add_block(ch, b, now), PU_R_BLOCK_DOUBLE_SPEND);
    pu_block_unref(b);
    pair[1] = d1;
    b = crafted(ch, pair, 2, now, NULL, NULL);
    CU_ASSERT_EQUAL(add_block(ch, b, now), PU_R_DUPLICATE_TX);
    pu_block_unref(b);
    /* inflation and a missing input inside a block */
    pu_outpoint c30 = gen_coin(3, 0), nowhere = {{{0xEE}}, 1};
    pu_tx *inf = tu_pay_from(&E, &c30, 70 * PU_COIN, 3, &E.w[1].addr, 60 * PU_COIN, FEE);
    b = crafted(ch, &inf, 1, now, NULL, NULL);
    CU_ASSERT_EQUAL(add_block(ch, b, now), PU_R_INFLATION);
    pu_block_unref(b);
    pu_tx *miss = tu_pay_from(&E, &nowhere, 70 * PU_COIN, 3, &E.w[1].addr, PU_COIN, FEE);
    b = crafted(ch, &miss, 1, now, NULL, NULL);
    CU_ASSERT_EQUAL(add_block(ch, b, now), PU_R_MISSING_INPUT);
    /* a child of that invalid block is refused as such */
    pu_chain *ch2 = tu_chain(&E, false);
    pu_block *child;
    (void)ch2;
    {
        pu_header h = *pu_block_header(b);
        h.prev = *pu_block_hash(b);
        h.timestamp = now + 1;
        pu_tx *cb;
        CU_ASSERT_FATAL(pu_tx_new(PU_TX_COINBASE, 0, 1, 4, &cb) == PU_OK);
        pu_put_be32(pu_tx_body_mut(cb), h1 + 1);
        pu_tx_out_mut(cb, 0)->amount = reward;
        CU_ASSERT_FATAL(pu_tx_finalize(E.crypto, cb) == PU_OK);
        CU_ASSERT_FATAL(pu_block_new(&h, &child) == PU_OK);
        CU_ASSERT_FATAL(pu_block_add_tx(child, cb) == PU_OK);
        pu_tx_unref(cb);
        CU_ASSERT_FATAL(pu_block_update_merkle(E.crypto, child) == PU_OK);
        tu_grind(&E, child);
    }
    CU_ASSERT_EQUAL(add_block(ch, child, now + 1), PU_R_INVALID_ANCESTOR);
    pu_block_unref(child);
    pu_chain_free(ch2);
    pu_block_unref(b);
    /* a block above the size limit (2000 bytes here) */
    pu_tx *many[40];
    int nm = 0;
    for (int w = 0; w < 8 && nm < 40; w++)
        for (int k = 0; k < 2 && nm < 40; k++) {
            pu_outpoint op = gen_coin(w, k);
            many[nm++] = tu_pay_from(&E, &op, 50 * PU_COIN, w, &E.w[(w + 1) % 8].addr, PU_COIN, FEE);
        }
    b = crafted(ch, many, (size_t)nm, now, NULL, NULL);
    CU_ASSERT(pu_block_size(b) > 2000);
    CU_ASSERT_EQUAL(add_block(ch, b, now), PU_R_BLOCK_TOO_LARGE);
    pu_block_unref(b);
    for (int i = 0; i < nm; i++)
        pu_tx_unref(many[i]);
    /* a PoUW header with no PoUW rules installed */
    b = crafted(ch, NULL, 0, now, pouw_header, NULL);
    CU_ASSERT_EQUAL(add_block(ch, b, now), PU_R_ML_WORK);
    pu_block_unref(b);
    /* and the good side block is still accepted after all that */
    CU_ASSERT_EQUAL(add_block(ch, side, now), PU_R_OK);
    CU_ASSERT_TRUE(pu_hash_eq(pu_chain_tip_hash(ch), pu_block_hash(side)));
    pu_block_unref(side);
    pu_tx_unref(miss);
    pu_tx_unref(inf);
    pu_tx_unref(d1);
    pu_tx_unref(d2);
    pu_tx_unref(p);
    pu_chain_free(ch);
}

/* A full mempool: the template takes what fits, block encoding included,
 * and the block is valid (no block ever exceeds max_block_size). */
static void test_template_fits(void)
{
    pu_params saved = E.params;
    E.params.max_block_size = 2000;
    pu_chain *ch = tu_chain(&E, false);
    E.params = saved;
    int added = 0;
    for (int w = 0; w < 8; w++)
        for (int k = 0; k < 2; k++) {
            pu_outpoint op = gen_coin(w, k);
            pu_tx *tx = tu_pay_from(&E, &op, 50 * PU_COIN, w, &E.w[(w + 3) % 8].addr, PU_COIN, FEE);
            added += add_tx(ch, tx) == PU_R_OK;
            pu_tx_unref(tx);
        }
    CU_ASSERT_EQUAL(added, 16); /* ~3.3 kB waiting, 2 kB blocks */
    pu_block *b;
    CU_ASSERT_EQUAL(tu_mine_add(&E, ch, NULL, 0, 1, 2000, &b), PU_R_OK);
    CU_ASSERT(pu_block_size(b) <= 2000);
    CU_ASSERT(pu_block_n_tx(b) > 5); /* and it is not empty either */
    CU_ASSERT_EQUAL(pu_chain_mempool_size(ch), 16 - (pu_block_n_tx(b) - 1));
    pu_block_unref(b);
    pu_chain_free(ch);
}

static void test_orphans(void)
{
    pu_chain *src = tu_chain(&E, true), *dst = tu_chain(&E, true);
    pu_block *b[4];
    for (int i = 0; i < 4; i++)
        CU_ASSERT_EQUAL(tu_mine_add(&E, src, NULL, 0, i, 3000 + (uint64_t)i, &b[i]), PU_R_OK);
    pu_add_result res;
    /* children first: parked as orphans, request names the missing block */
    CU_ASSERT_EQUAL(pu_chain_add_block(dst, b[3], 4000, &res), PU_OK);
    CU_ASSERT_EQUAL(res.reason, PU_R_ORPHAN);
    CU_ASSERT_TRUE(pu_hash_eq(&res.request, pu_block_hash(b[2])));
    CU_ASSERT_EQUAL(pu_chain_add_block(dst, b[2], 4000, &res), PU_OK);
    CU_ASSERT_EQUAL(res.reason, PU_R_ORPHAN);
    CU_ASSERT_TRUE(pu_hash_eq(&res.request, pu_block_hash(b[1]))); /* root of the parked chain */
    CU_ASSERT_EQUAL(pu_chain_add_block(dst, b[1], 4000, &res), PU_OK);
    CU_ASSERT_TRUE(pu_hash_eq(&res.request, pu_block_hash(b[0])));
    CU_ASSERT_EQUAL(pu_chain_n_orphans(dst), 3);
    CU_ASSERT_TRUE(pu_chain_knows(dst, pu_block_hash(b[2])));
    CU_ASSERT_EQUAL(pu_chain_add_block(dst, b[2], 4000, &res), PU_ERR_EXISTS);
    CU_ASSERT_EQUAL(pu_chain_length(dst), 1);
    /* the parent arrives: the whole parked branch connects */
    CU_ASSERT_EQUAL(pu_chain_add_block(dst, b[0], 4000, &res), PU_OK);
    CU_ASSERT_EQUAL(res.reason, PU_R_OK);
    CU_ASSERT_EQUAL(res.orphans_resolved, 3);
    CU_ASSERT_EQUAL(pu_chain_n_orphans(dst), 0);
    CU_ASSERT_EQUAL(pu_chain_length(dst), 5);
    CU_ASSERT_TRUE(pu_hash_eq(pu_chain_tip_hash(dst), pu_chain_tip_hash(src)));
    for (int i = 0; i < 4; i++)
        pu_block_unref(b[i]);
    pu_chain_free(src);
    pu_chain_free(dst);
}

/* Mine a branch of n blocks on `builder`, each paying from wallet pay_from[i]. */
static void branch(pu_chain *builder, int n, const int *pay_from, int to, uint64_t t0, pu_block **out,
                   pu_tx **txs)
{
    for (int i = 0; i < n; i++) {
        txs[i] = tu_pay(&E, builder, pay_from[i], &E.w[to].addr, (pu_amount)(i + 1) * PU_COIN, FEE);
        CU_ASSERT_FATAL(txs[i] != NULL);
        CU_ASSERT_EQUAL(tu_mine_add(&E, builder, &txs[i], 1, to, t0 + (uint64_t)i, &out[i]), PU_R_OK);
    }
}

static void test_reorg_restores_state(void)
{
    pu_chain *A = tu_chain(&E, true), *B = tu_chain(&E, true), *X = tu_chain(&E, true);
    pu_block *a[5], *bb[4];
    pu_tx *ta[5], *tb[4];
    int fa[5] = {0, 1, 2, 3, 0}, fb[4] = {0, 4, 5, 6}; /* wallet 0 pays on both branches */
    branch(A, 3, fa, 7, 6000, a, ta);
    branch(B, 4, fb, 6, 6100, bb, tb);
    pu_add_result res;
    for (int i = 0; i < 3; i++)
        CU_ASSERT_EQUAL(pu_chain_add_block(X, a[i], 9000, &res), PU_OK);
    /* a genesis coin, valid on both branches: stays in the mempool throughout */
    pu_outpoint c70 = gen_coin(7, 0);
    pu_tx *pending = tu_pay_from(&E, &c70, 50 * PU_COIN, 7, &E.w[3].addr, PU_COIN / 2, FEE);
    CU_ASSERT_EQUAL(add_tx(X, pending), PU_R_OK);
    for (int i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL(pu_chain_add_block(X, bb[i], 9000, &res), PU_OK);
        CU_ASSERT_FALSE(res.tip_changed); /* equal work: the first seen stays */
    }
    CU_ASSERT_EQUAL(pu_chain_add_block(X, bb[3], 9000, &res), PU_OK);
    CU_ASSERT_TRUE(res.tip_changed);
    CU_ASSERT_EQUAL(res.disconnected, 3);
    CU_ASSERT_EQUAL(res.connected, 4);
    /* reference: a node that only ever saw branch B, then heard the same
     * transactions (branch A's and the pending one) */
    pu_chain *R = tu_chain(&E, false);
    for (int i = 0; i < 4; i++)
        CU_ASSERT_EQUAL(pu_chain_add_block(R, bb[i], 9000, &res), PU_OK);
    for (int i = 0; i < 3; i++) {
        pu_reason why;
        pu_err rc = pu_chain_add_tx(R, ta[i], &why);
        CU_ASSERT(rc == PU_OK || rc == PU_ERR_INVALID);
    }
    pu_reason why;
    pu_err rc = pu_chain_add_tx(R, pending, &why);
    CU_ASSERT(rc == PU_OK || rc == PU_ERR_INVALID);
    pu_hash32 dx, dr;
    tu_state_digest(&E, X, &dx);
    tu_state_digest(&E, R, &dr);
    CU_ASSERT_TRUE(pu_hash_eq(&dx, &dr));
    CU_ASSERT_EQUAL(pu_chain_mempool_size(X), pu_chain_mempool_size(R));
    CU_ASSERT(pu_chain_mempool_size(X) >= 2); /* A's txs from wallets 1 and 2 came back */
    for (int w = 0; w < TU_WALLETS; w++)
        CU_ASSERT_EQUAL(pu_chain_balance(X, &E.w[w].addr), pu_chain_balance(R, &E.w[w].addr));
    CU_ASSERT_EQUAL(pu_chain_supply(X), 800 * PU_COIN + 4 * E.params.block_reward);
    /* and back again: branch A grows to 5 blocks */
    branch(A, 2, fa + 3, 7, 6003, a + 3, ta + 3);
    CU_ASSERT_EQUAL(pu_chain_add_block(X, a[3], 9000, &res), PU_OK);
    CU_ASSERT_FALSE(res.tip_changed);
    CU_ASSERT_EQUAL(pu_chain_add_block(X, a[4], 9000, &res), PU_OK);
    CU_ASSERT_TRUE(res.tip_changed);
    CU_ASSERT_EQUAL(res.disconnected, 4);
    pu_chain *R2 = tu_chain(&E, false);
    for (int i = 0; i < 5; i++)
        CU_ASSERT_EQUAL(pu_chain_add_block(R2, a[i], 9000, &res), PU_OK);
    for (int i = 0; i < 4; i++) {
        rc = pu_chain_add_tx(R2, tb[i], &why);
        CU_ASSERT(rc == PU_OK || rc == PU_ERR_INVALID);
    }
    rc = pu_chain_add_tx(R2, pending, &why);
    CU_ASSERT(rc == PU_OK || rc == PU_ERR_INVALID);
    tu_state_digest(&E, X, &dx);
    tu_state_digest(&E, R2, &dr);
    CU_ASSERT_TRUE(pu_hash_eq(&dx, &dr));
    CU_ASSERT_TRUE(pu_hash_eq(pu_chain_tip_hash(X), pu_block_hash(a[4])));
    CU_ASSERT_EQUAL(pu_chain_supply(X), 800 * PU_COIN + 5 * E.params.block_reward);
    for (int i = 0; i < 5; i++) {
        pu_block_unref(a[i]);
        pu_tx_unref(ta[i]);
    }
    for (int i = 0; i < 4; i++) {
        pu_block_unref(bb[i]);
        pu_tx_unref(tb[i]);
    }
    pu_tx_unref(pending);
    pu_chain_free(A);
    pu_chain_free(B);
    pu_chain_free(X);
    pu_chain_free(R);
    pu_chain_free(R2);
}

/* chain.tie_break random: among tips of equal work a chain keeps the one
 * its salt ranks first, whichever it saw first; over many salts the choice
 * is a fair coin. */
static void test_tie_break_random(void)
{
    pu_chain *A = tu_chain(&E, true), *B = tu_chain(&E, true);
    pu_block *a = tu_mine(&E, A, NULL, 0, 1, 7000), *b = tu_mine(&E, B, NULL, 0, 2, 7000);
    CU_ASSERT_FATAL(a && b);
    int picks_a = 0;
    for (uint64_t salt = 1; salt <= 200; salt++) {
        pu_block *first[2] = {a, b};
        const pu_hash32 *tip[2];
        for (int order = 0; order < 2; order++) { /* a then b, b then a */
            pu_chain_opts o = {&E.params, E.crypto, E.sigcache, E.valcache, NULL};
            pu_chain *X = NULL;
            CU_ASSERT_FATAL(pu_chain_new(&o, E.genesis, &X) == PU_OK);
            pu_chain_set_tie_break(X, PU_TIE_RANDOM, salt * 0x9e3779b97f4a7c15u);
            pu_add_result res;
            CU_ASSERT_EQUAL(pu_chain_add_block(X, first[order], 9000, &res), PU_OK);
            CU_ASSERT_EQUAL(pu_chain_add_block(X, first[1 - order], 9000, &res), PU_OK);
            tip[order] = pu_hash_eq(pu_chain_tip_hash(X), pu_block_hash(a)) ? pu_block_hash(a)
                                                                            : pu_block_hash(b);
            pu_chain_free(X);
        }
        CU_ASSERT_TRUE(pu_hash_eq(tip[0], tip[1])); /* arrival order does not matter */
        picks_a += pu_hash_eq(tip[0], pu_block_hash(a));
    }
    CU_ASSERT(picks_a > 100 - 30 && picks_a < 100 + 30); /* binomial(200, 1/2): sd 7 */
    pu_block_unref(a);
    pu_block_unref(b);
    pu_chain_free(A);
    pu_chain_free(B);
}

/* A reorganisation onto a branch whose second block is invalid falls back to
 * the old branch and remembers the bad block. */
static void test_reorg_into_invalid_branch(void)
{
    pu_chain *A = tu_chain(&E, true), *X = tu_chain(&E, false);
    pu_block *a[2];
    CU_ASSERT_EQUAL(tu_mine_add(&E, A, NULL, 0, 1, 7000, &a[0]), PU_R_OK);
    CU_ASSERT_EQUAL(tu_mine_add(&E, A, NULL, 0, 1, 7001, &a[1]), PU_R_OK);
    pu_add_result res;
    CU_ASSERT_EQUAL(pu_chain_add_block(X, a[0], 9000, &res), PU_OK);
    CU_ASSERT_EQUAL(pu_chain_add_block(X, a[1], 9000, &res), PU_OK);
    /* branch C: c0 valid, c1 spends a missing coin, c2 on top */
    pu_chain *Cb = tu_chain(&E, false);
    pu_block *c0, *c1, *c2;
    CU_ASSERT_EQUAL(tu_mine_add(&E, Cb, NULL, 0, 2, 7100, &c0), PU_R_OK);
    pu_outpoint nowhere = {{{0xEE}}, 1};
    pu_tx *miss = tu_pay_from(&E, &nowhere, 70 * PU_COIN, 3, &E.w[1].addr, PU_COIN, FEE);
    CU_ASSERT_FATAL(pu_chain_create_block(Cb, &miss, 1, &E.w[2].addr, NULL, 0, 7101, &c1) == PU_OK);
    tu_grind(&E, c1);
    {
        pu_header h;
        memset(&h, 0, sizeof h);
        h.version = PU_BLOCK_VERSION;
        h.prev = *pu_block_hash(c1);
        h.timestamp = 7102;
        h.bits = pu_block_header(c1)->bits;
        pu_tx *cb;
        CU_ASSERT_FATAL(pu_tx_new(PU_TX_COINBASE, 0, 1, 4, &cb) == PU_OK);
        pu_put_be32(pu_tx_body_mut(cb), 3);
        pu_tx_out_mut(cb, 0)->amount = E.params.block_reward;
        CU_ASSERT_FATAL(pu_tx_finalize(E.crypto, cb) == PU_OK);
        CU_ASSERT_FATAL(pu_block_new(&h, &c2) == PU_OK);
        CU_ASSERT_FATAL(pu_block_add_tx(c2, cb) == PU_OK);
        pu_tx_unref(cb);
        CU_ASSERT_FATAL(pu_block_update_merkle(E.crypto, c2) == PU_OK);
        tu_grind(&E, c2);
    }
    pu_hash32 before;
    tu_state_digest(&E, X, &before);
    CU_ASSERT_EQUAL(pu_chain_add_block(X, c0, 9000, &res), PU_OK);
    CU_ASSERT_EQUAL(pu_chain_add_block(X, c1, 9000, &res), PU_OK); /* equal work: not tried yet */
    CU_ASSERT_EQUAL(pu_chain_add_block(X, c2, 9000, &res), PU_ERR_INVALID);
    CU_ASSERT_EQUAL(res.reason, PU_R_INVALID_ANCESTOR);
    CU_ASSERT_FALSE(res.tip_changed);
    CU_ASSERT_TRUE(pu_hash_eq(pu_chain_tip_hash(X), pu_block_hash(a[1])));
    pu_hash32 after;
    tu_state_digest(&E, X, &after);
    CU_ASSERT_TRUE(pu_hash_eq(&before, &after));
    CU_ASSERT_PTR_NULL(pu_chain_get(X, pu_block_hash(c1), NULL, NULL)); /* remembered invalid */
    pu_block_unref(a[0]);
    pu_block_unref(a[1]);
    pu_block_unref(c0);
    pu_block_unref(c1);
    pu_block_unref(c2);
    pu_tx_unref(miss);
    pu_chain_free(A);
    pu_chain_free(Cb);
    pu_chain_free(X);
}

static void test_retarget(void)
{
    pu_params p = E.params;
    E.params.fixed_target = false;
    E.params.retarget_interval = 4;
    E.params.target_spacing_s = 10;
    E.params.retarget_clamp = 4;
    pu_params_set_hashes(&E.params, 8); /* limit easier than genesis (16 hashes) */
    pu_chain *ch = tu_chain(&E, false);
    E.params = p;
    uint32_t g = pu_block_header(pu_chain_tip(ch))->bits;
    /* blocks 1..3 keep the genesis target; block 4 retargets from the span
     * between block 0 and block 3: 3 blocks in 60 s vs 40 s expected -> x1.5 */
    for (int i = 1; i <= 3; i++) {
        CU_ASSERT_EQUAL(pu_chain_next_bits(ch), g);
        CU_ASSERT_EQUAL(tu_mine_add(&E, ch, NULL, 0, 1, 1000 + 20 * (uint64_t)i, NULL), PU_R_OK);
    }
    pu_u256 t0, t1, want;
    CU_ASSERT_EQUAL(pu_target_from_bits(g, &t0), PU_OK);
    CU_ASSERT_EQUAL(pu_target_from_bits(pu_chain_next_bits(ch), &t1), PU_OK);
    pu_u256_div64(&t0, 40, &want);
    CU_ASSERT_FALSE(pu_u256_mul64(&want, 60, &want));
    CU_ASSERT_EQUAL(pu_chain_next_bits(ch), pu_bits_from_target(&want));
    CU_ASSERT(pu_u256_cmp(&t1, &t0) > 0); /* slower blocks: easier target */
    pu_chain_free(ch);
}

static void test_locator(void)
{
    pu_chain *ch = tu_chain(&E, true);
    for (int i = 0; i < 30; i++)
        CU_ASSERT_EQUAL(tu_mine_add(&E, ch, NULL, 0, 1, 2000 + (uint64_t)i, NULL), PU_R_OK);
    pu_hash32 loc[32];
    size_t n = pu_chain_locator(ch, loc, 32);
    CU_ASSERT_TRUE(pu_hash_eq(&loc[0], pu_chain_tip_hash(ch)));
    CU_ASSERT_TRUE(pu_hash_eq(&loc[n - 1], pu_block_hash(E.genesis)));
    CU_ASSERT(n < 20); /* exponential steps */
    CU_ASSERT_EQUAL(pu_chain_locate(ch, loc, n), 30);
    CU_ASSERT_EQUAL(pu_chain_locate(ch, loc + 5, n - 5), 25);
    pu_chain_free(ch);
}

/* Mempool observer calls: added with the fee, and each way of leaving. */
typedef struct mp_log {
    int added, left[6];
    pu_amount fee;
    pu_hash32 last_left;
} mp_log;

static void log_added(void *c, const pu_tx *tx, pu_amount fee)
{
    mp_log *l = c;
    (void)tx;
    l->added++;
    l->fee = fee;
}

static void log_removed(void *c, const pu_tx *tx, pu_mempool_exit why)
{
    mp_log *l = c;
    CU_ASSERT(why >= PU_MEMPOOL_CONFIRMED && why <= PU_MEMPOOL_EXPIRED);
    l->left[why]++;
    l->last_left = *pu_tx_id(tx);
}

static void test_mempool_observer(void)
{
    pu_params saved = E.params;
    E.params.mempool_capacity = 2;
    pu_chain *ch = tu_chain(&E, false), *other = tu_chain(&E, false);
    E.params = saved;
    mp_log log;
    memset(&log, 0, sizeof log);
    pu_chain_observer obs = {.tx_added = log_added, .tx_removed = log_removed, .ctx = &log};
    CU_ASSERT_FATAL(pu_chain_add_observer(ch, &obs) == PU_OK);
    pu_outpoint c00 = gen_coin(0, 0), c10 = gen_coin(1, 0), c20 = gen_coin(2, 0);
    pu_tx *a = tu_pay_from(&E, &c00, 50 * PU_COIN, 0, &E.w[5].addr, PU_COIN, FEE);
    pu_tx *b = tu_pay_from(&E, &c10, 50 * PU_COIN, 1, &E.w[5].addr, PU_COIN, FEE);
    pu_tx *c = tu_pay_from(&E, &c20, 50 * PU_COIN, 2, &E.w[5].addr, PU_COIN, 3 * FEE);
    CU_ASSERT_EQUAL(add_tx(ch, a), PU_R_OK);
    CU_ASSERT_EQUAL(log.added, 1);
    CU_ASSERT_EQUAL(log.fee, FEE);
    CU_ASSERT_EQUAL(add_tx(ch, b), PU_R_OK);
    CU_ASSERT_EQUAL(add_tx(ch, c), PU_R_OK); /* full: the newest equal-fee entry goes */
    CU_ASSERT_EQUAL(log.added, 3);
    CU_ASSERT_EQUAL(log.left[PU_MEMPOOL_EVICTED], 1);
    CU_ASSERT_TRUE(pu_hash_eq(&log.last_left, pu_tx_id(b)));
    /* a block (mined elsewhere) holding c and a conflicting spend of a's coin */
    pu_tx *a2 = tu_pay_from(&E, &c00, 50 * PU_COIN, 0, &E.w[6].addr, 2 * PU_COIN, FEE);
    pu_tx *const txs[] = {c, a2};
    pu_block *blk;
    CU_ASSERT_EQUAL(tu_mine_add(&E, other, txs, 2, 3, 3000, &blk), PU_R_OK);
    CU_ASSERT_EQUAL(add_block(ch, blk, 3000), PU_R_OK);
    CU_ASSERT_EQUAL(log.left[PU_MEMPOOL_CONFIRMED], 1);
    CU_ASSERT_EQUAL(log.left[PU_MEMPOOL_CONFLICT], 1);
    CU_ASSERT_EQUAL(pu_chain_mempool_size(ch), 0);
    CU_ASSERT_EQUAL(log.added, 3); /* a block's own transactions enter no mempool */
    pu_block_unref(blk);
    pu_tx_unref(a);
    pu_tx_unref(a2);
    pu_tx_unref(b);
    pu_tx_unref(c);
    pu_chain_free(ch);
    pu_chain_free(other);
}

TSUITE(chain)
{
    CU_pSuite s = CU_add_suite("chain", setup, teardown);
    if (!s)
        return CU_get_error();
    TADD(s, test_queries_and_mining);
    TADD(s, test_mempool_reasons);
    TADD(s, test_locks);
    TADD(s, test_block_reasons);
    TADD(s, test_template_fits);
    TADD(s, test_orphans);
    TADD(s, test_reorg_restores_state);
    TADD(s, test_reorg_into_invalid_branch);
    TADD(s, test_tie_break_random);
    TADD(s, test_retarget);
    TADD(s, test_locator);
    TADD(s, test_mempool_observer);
    return CUE_SUCCESS;
}
