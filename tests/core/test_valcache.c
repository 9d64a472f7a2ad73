/* tests/core/test_valcache.c -- shared block records: one validation per
 * block whatever the number of chains, identical state at every chain, and
 * a cache that refuses a chain of another ledger. */
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "tests/harness.h"
#include "tests/testutil.h"

static tu_env E;
static int setup(void) { return tu_env_init(&E); }
static int teardown(void) { tu_env_release(&E); return 0; }

#define FEE (2 * PU_COIN / 1000)

static pu_chain *chain_on(pu_valcache *vc, const pu_params *p, const pu_rules *rules, pu_block *g)
{
    pu_chain_opts o = {p, E.crypto, E.sigcache, vc, rules};
    pu_chain *ch = NULL;
    return pu_chain_new(&o, g, &ch) == PU_OK ? ch : NULL;
}

static pu_reason offer(pu_chain *ch, pu_block *b, uint64_t now)
{
    pu_add_result res;
    pu_err rc = pu_chain_add_block(ch, b, now, &res);
    CU_ASSERT(rc == PU_OK || rc == PU_ERR_INVALID);
    return res.reason;
}

static void test_binding(void)
{
    pu_valcache *vc;
    CU_ASSERT_EQUAL_FATAL(pu_valcache_new(&vc), PU_OK);
    pu_chain *a = chain_on(vc, &E.params, NULL, E.genesis);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    pu_chain *b = chain_on(vc, &E.params, NULL, E.genesis);
    CU_ASSERT_PTR_NOT_NULL(b);
    /* policy may differ ... */
    pu_params p = E.params;
    p.min_fee *= 2;
    p.mempool_capacity = 7;
    pu_chain *c = chain_on(vc, &p, NULL, E.genesis);
    CU_ASSERT_PTR_NOT_NULL(c);
    /* ... consensus may not */
    p = E.params;
    p.coinbase_maturity = 3;
    CU_ASSERT_PTR_NULL(chain_on(vc, &p, NULL, E.genesis));
    pu_rules rules = {NULL, NULL, NULL};
    CU_ASSERT_PTR_NULL(chain_on(vc, &E.params, &rules, E.genesis));
    /* another genesis is another ledger */
    pu_header h = *pu_block_header(E.genesis);
    h.timestamp++;
    pu_block *g2;
    CU_ASSERT_EQUAL_FATAL(pu_block_new(&h, &g2), PU_OK);
    CU_ASSERT_EQUAL_FATAL(pu_block_add_tx(g2, pu_block_tx(E.genesis, 0)), PU_OK);
    tu_grind(&E, g2);
    CU_ASSERT_PTR_NULL(chain_on(vc, &E.params, NULL, g2));
    pu_chain *own = chain_on(NULL, &E.params, NULL, g2); /* a private cache takes any ledger */
    CU_ASSERT_PTR_NOT_NULL(own);
    pu_chain_free(own);
    pu_block_unref(g2);
    pu_chain_free(c);
    pu_chain_free(b);
    pu_chain_free(a);
    pu_valcache_free(vc);
}

/* A mines five blocks of payments; B gets them as a peer would.  B never
 * validates (five hits, no miss), ends at the same state, and holds almost
 * nothing of its own. */
static void test_connect_once(void)
{
    pu_valcache *vc;
    CU_ASSERT_EQUAL_FATAL(pu_valcache_new(&vc), PU_OK);
    pu_chain *a = chain_on(vc, &E.params, NULL, E.genesis), *b = chain_on(vc, &E.params, NULL, E.genesis);
    CU_ASSERT_FATAL(a && b);
    pu_block *blocks[5];
    for (int i = 0; i < 5; i++) {
        pu_tx *tx = tu_pay(&E, a, i, &E.w[i + 1].addr, PU_COIN, FEE);
        CU_ASSERT_FATAL(tx != NULL);
        pu_reason why;
        CU_ASSERT_EQUAL(pu_chain_add_tx(a, tx, &why), PU_OK);
        CU_ASSERT_EQUAL(tu_mine_add(&E, a, NULL, 0, 7, 2000 + (uint64_t)i, &blocks[i]), PU_R_OK);
        pu_tx_unref(tx);
    }
    pu_valcache_stats before, after;
    pu_valcache_get_stats(vc, &before);
    CU_ASSERT_EQUAL(before.misses, 5);
    CU_ASSERT_EQUAL(before.records, 6);
    for (int i = 0; i < 5; i++)
        CU_ASSERT_EQUAL(offer(b, blocks[i], 3000), PU_R_OK);
    pu_valcache_get_stats(vc, &after);
    CU_ASSERT_EQUAL(after.misses, 5);
    CU_ASSERT_EQUAL(after.hits, before.hits + 5);
    pu_hash32 da, db;
    tu_state_digest(&E, a, &da);
    tu_state_digest(&E, b, &db);
    CU_ASSERT_TRUE(pu_hash_eq(&da, &db));
    CU_ASSERT_EQUAL(pu_u256_cmp(pu_chain_work(a), pu_chain_work(b)), 0);
    CU_ASSERT_EQUAL(pu_chain_mtp(a), pu_chain_mtp(b));
    CU_ASSERT_EQUAL(pu_chain_next_bits(a), pu_chain_next_bits(b));
    CU_ASSERT_EQUAL(pu_chain_balance(b, &E.w[7].addr), pu_chain_balance(a, &E.w[7].addr));
    /* B's own memory does not grow with the UTXO set: the states are shared */
    CU_ASSERT(pu_chain_mem_bytes(b) < pu_chain_shared_bytes(b));
    CU_ASSERT_EQUAL(pu_chain_shared_bytes(a), pu_chain_shared_bytes(b));
    for (int i = 0; i < 5; i++)
        pu_block_unref(blocks[i]);
    pu_chain_free(a);
    pu_chain_free(b);
    pu_valcache_free(vc);
}

/* A block whose payment carries a broken signature: refused by the first
 * chain after one verification, refused by the second from the record. */
static void test_refusal_shared(void)
{
    pu_valcache *vc;
    pu_sigcache *sc;
    CU_ASSERT_EQUAL_FATAL(pu_valcache_new(&vc), PU_OK);
    CU_ASSERT_EQUAL_FATAL(pu_sigcache_new(64, &sc), PU_OK);
    pu_chain_opts o = {&E.params, E.crypto, sc, vc, NULL};
    pu_chain *a = NULL, *b = NULL;
    CU_ASSERT_FATAL(pu_chain_new(&o, E.genesis, &a) == PU_OK && pu_chain_new(&o, E.genesis, &b) == PU_OK);
    pu_tx *good = tu_pay(&E, a, 2, &E.w[3].addr, PU_COIN, FEE);
    CU_ASSERT_FATAL(good != NULL);
    /* same payment, one signature bit flipped */
    pu_tx *bad;
    CU_ASSERT_EQUAL_FATAL(pu_tx_new(PU_TX_PAYMENT, pu_tx_n_in(good), pu_tx_n_out(good), 0, &bad), PU_OK);
    for (uint32_t i = 0; i < pu_tx_n_in(good); i++)
        *pu_tx_in_mut(bad, i) = *pu_tx_in(good, i);
    for (uint32_t j = 0; j < pu_tx_n_out(good); j++)
        *pu_tx_out_mut(bad, j) = *pu_tx_out(good, j);
    pu_tx_in_mut(bad, 0)->sig[5] ^= 1;
    CU_ASSERT_EQUAL_FATAL(pu_tx_finalize(E.crypto, bad), PU_OK);
    pu_block *blk = tu_mine(&E, a, &bad, 1, 4, 2100);
    CU_ASSERT_FATAL(blk != NULL);
    CU_ASSERT_EQUAL(offer(a, blk, 2100), PU_R_BAD_SIGNATURE);
    pu_sigcache_stats s1, s2;
    pu_sigcache_get_stats(sc, &s1);
    CU_ASSERT_EQUAL(offer(b, blk, 2100), PU_R_BAD_SIGNATURE);
    pu_sigcache_get_stats(sc, &s2);
    CU_ASSERT_EQUAL(s2.verifications, s1.verifications); /* not verified again */
    CU_ASSERT_EQUAL(s2.hits + s2.misses, s1.hits + s1.misses); /* not even asked */
    CU_ASSERT_EQUAL(pu_chain_height(b), 0);
    CU_ASSERT_PTR_NULL(pu_chain_get(b, pu_block_hash(blk), NULL, NULL));
    pu_block_unref(blk);
    pu_tx_unref(bad);
    pu_tx_unref(good);
    pu_chain_free(a);
    pu_chain_free(b);
    pu_sigcache_free(sc);
    pu_valcache_free(vc);
}

TSUITE(valcache)
{
    CU_pSuite s = CU_add_suite("valcache", setup, teardown);
    if (!s)
        return CU_get_error();
    TADD(s, test_binding);
    TADD(s, test_connect_once);
    TADD(s, test_refusal_shared);
    return CUE_SUCCESS;
}
