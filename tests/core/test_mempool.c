/* tests/core/test_mempool.c -- mempools sharing one transaction pool: each
 * keeps its own contents, order, conflicts and eviction order; the pool
 * holds a transaction while some mempool does. */
#include <stdlib.h>
#include <string.h>

#include "core/mempool.h"
#include "tests/harness.h"

static pu_crypto *C;
static int setup(void) { return pu_crypto_new(&C) == PU_OK ? 0 : -1; }
static int teardown(void) { pu_crypto_free(C); return 0; }

/* A payment spending outpoint (src, idx) (unsigned: the mempool does not
 * validate), size growing with `pad` outputs. */
static pu_tx *tx_spending(uint8_t src, uint32_t idx, uint32_t pad)
{
    pu_tx *tx;
    if (pu_tx_new(PU_TX_PAYMENT, 1, 1 + pad, 0, &tx) != PU_OK)
        return NULL;
    pu_tx_in_mut(tx, 0)->prev.txid.b[0] = src;
    pu_tx_in_mut(tx, 0)->prev.index = idx;
    for (uint32_t j = 0; j <= pad; j++)
        pu_tx_out_mut(tx, j)->amount = 1000 + j;
    pu_tx_set_timestamp(tx, (uint64_t)src * 100 + idx);
    if (pu_tx_finalize(C, tx) != PU_OK) {
        pu_tx_unref(tx);
        return NULL;
    }
    return tx;
}

static void test_shared_pool(void)
{
    pu_txpool *pool;
    pu_mempool *a, *b;
    CU_ASSERT_EQUAL_FATAL(pu_txpool_new(&pool), PU_OK);
    CU_ASSERT_EQUAL_FATAL(pu_mempool_new(pool, &a), PU_OK);
    CU_ASSERT_EQUAL_FATAL(pu_mempool_new(pool, &b), PU_OK);
    pu_tx *t[6];
    for (int i = 0; i < 6; i++) {
        t[i] = tx_spending((uint8_t)(10 + i), 0, (uint32_t)i % 3);
        CU_ASSERT_PTR_NOT_NULL_FATAL(t[i]);
    }
    /* a gets 0..4 in order, b gets 4..1 backwards: same fees */
    for (int i = 0; i < 5; i++)
        CU_ASSERT_EQUAL(pu_mempool_insert(a, t[i], 500 * (i + 1)), PU_OK);
    for (int i = 4; i >= 1; i--)
        CU_ASSERT_EQUAL(pu_mempool_insert(b, t[i], 500 * (i + 1)), PU_OK);
    CU_ASSERT_EQUAL(pu_txpool_count(pool), 5);
    CU_ASSERT_EQUAL(pu_mempool_insert(a, t[2], 1500), PU_ERR_EXISTS);
    CU_ASSERT_EQUAL(pu_mempool_count(a), 5);
    CU_ASSERT_EQUAL(pu_mempool_count(b), 4);
    CU_ASSERT_PTR_EQUAL(pu_mempool_at(a, 0, NULL), t[0]); /* own storage order */
    CU_ASSERT_PTR_EQUAL(pu_mempool_at(b, 0, NULL), t[4]);
    CU_ASSERT_TRUE(pu_mempool_has(a, pu_tx_id(t[0])));
    CU_ASSERT_FALSE(pu_mempool_has(b, pu_tx_id(t[0])));
    CU_ASSERT_FALSE(pu_mempool_has(a, pu_tx_id(t[5]))); /* not in the pool at all */
    /* a removal in one mempool leaves the other alone */
    CU_ASSERT_EQUAL(pu_mempool_remove(b, pu_tx_id(t[3])), PU_OK);
    CU_ASSERT_EQUAL(pu_mempool_remove(b, pu_tx_id(t[3])), PU_ERR_NOTFOUND);
    CU_ASSERT_TRUE(pu_mempool_has(a, pu_tx_id(t[3])));
    CU_ASSERT_EQUAL(pu_txpool_count(pool), 5);
    CU_ASSERT_EQUAL(pu_mempool_remove(a, pu_tx_id(t[0])), PU_OK); /* held by a only: leaves the pool */
    CU_ASSERT_EQUAL(pu_txpool_count(pool), 4);
    /* eviction order per mempool: lowest fee rate */
    pu_amount fee;
    CU_ASSERT_PTR_EQUAL(pu_mempool_lowest(a, &fee), t[1]);
    CU_ASSERT_EQUAL(fee, 1000);
    CU_ASSERT_EQUAL(pu_mempool_remove(b, pu_tx_id(t[1])), PU_OK);
    CU_ASSERT_PTR_EQUAL(pu_mempool_lowest(b, &fee), t[2]);
    CU_ASSERT_EQUAL(pu_mempool_bytes(a), pu_tx_size(t[1]) + pu_tx_size(t[2]) + pu_tx_size(t[3]) + pu_tx_size(t[4]));
    CU_ASSERT(pu_mempool_mem_bytes(a) < 2048); /* 64 entries of 20 bytes + ids: no transactions */
    pu_mempool_free(a);
    CU_ASSERT_EQUAL(pu_txpool_count(pool), 2); /* t2, t4 still in b */
    pu_mempool_free(b);
    CU_ASSERT_EQUAL(pu_txpool_count(pool), 0);
    for (int i = 0; i < 6; i++)
        pu_tx_unref(t[i]);
    pu_txpool_free(pool);
}

/* Two transactions spending the same outpoint: each mempool may hold one of
 * them, never both, and finds its own spender. */
static void test_conflicts_per_mempool(void)
{
    pu_txpool *pool;
    pu_mempool *a, *b;
    CU_ASSERT_EQUAL_FATAL(pu_txpool_new(&pool), PU_OK);
    CU_ASSERT_EQUAL_FATAL(pu_mempool_new(pool, &a), PU_OK);
    CU_ASSERT_EQUAL_FATAL(pu_mempool_new(pool, &b), PU_OK);
    pu_tx *x = tx_spending(7, 1, 0), *y = tx_spending(7, 1, 1), *z = tx_spending(7, 2, 0);
    CU_ASSERT_FATAL(x && y && z);
    CU_ASSERT_FALSE(pu_hash_eq(pu_tx_id(x), pu_tx_id(y)));
    CU_ASSERT_EQUAL(pu_mempool_insert(a, x, 100), PU_OK);
    CU_ASSERT_EQUAL(pu_mempool_insert(b, y, 200), PU_OK);
    CU_ASSERT_EQUAL(pu_mempool_insert(a, y, 200), PU_ERR_INVALID);
    CU_ASSERT_EQUAL(pu_mempool_insert(b, x, 100), PU_ERR_INVALID);
    CU_ASSERT_EQUAL(pu_mempool_insert(a, z, 100), PU_OK); /* another outpoint */
    const pu_outpoint *op = &pu_tx_in(x, 0)->prev;
    CU_ASSERT_PTR_EQUAL(pu_mempool_spender(a, op), x);
    CU_ASSERT_PTR_EQUAL(pu_mempool_spender(b, op), y);
    CU_ASSERT_EQUAL(pu_mempool_remove(a, pu_tx_id(x)), PU_OK);
    CU_ASSERT_PTR_NULL(pu_mempool_spender(a, op));
    CU_ASSERT_PTR_EQUAL(pu_mempool_spender(b, op), y); /* b's list entry survives */
    CU_ASSERT_EQUAL(pu_mempool_insert(a, y, 200), PU_OK); /* now a may take y */
    pu_tx **tm;
    size_t n;
    pu_amount fees;
    CU_ASSERT_EQUAL_FATAL(pu_mempool_template(a, 1u << 20, 4, &tm, &n, &fees), PU_OK);
    CU_ASSERT_EQUAL(n, 2);
    CU_ASSERT_EQUAL(fees, 300);
    CU_ASSERT_PTR_EQUAL(tm[0], y); /* higher fee rate first */
    free(tm);
    pu_mempool_free(a);
    pu_mempool_free(b);
    CU_ASSERT_EQUAL(pu_txpool_count(pool), 0);
    pu_tx_unref(x);
    pu_tx_unref(y);
    pu_tx_unref(z);
    pu_txpool_free(pool);
}

/* Many entries through one mempool: the id table grows, swap-removes keep
 * every index right. */
static void test_many_entries(void)
{
    pu_txpool *pool;
    pu_mempool *a;
    CU_ASSERT_EQUAL_FATAL(pu_txpool_new(&pool), PU_OK);
    CU_ASSERT_EQUAL_FATAL(pu_mempool_new(pool, &a), PU_OK);
    enum { N = 600 };
    static pu_tx *t[N];
    for (int i = 0; i < N; i++) {
        t[i] = tx_spending((uint8_t)(i % 250), (uint32_t)(i / 250), 0);
        CU_ASSERT_EQUAL_FATAL(pu_mempool_insert(a, t[i], 10 + i % 37), PU_OK);
    }
    for (int i = 0; i < N; i += 3)
        CU_ASSERT_EQUAL(pu_mempool_remove(a, pu_tx_id(t[i])), PU_OK);
    CU_ASSERT_EQUAL(pu_mempool_count(a), N - N / 3);
    for (int i = 0; i < N; i++)
        CU_ASSERT_EQUAL(pu_mempool_has(a, pu_tx_id(t[i])), i % 3 != 0);
    for (size_t i = 0; i < pu_mempool_count(a); i++) {
        pu_tx *tx = pu_mempool_at(a, i, NULL);
        CU_ASSERT_PTR_EQUAL(pu_mempool_get(a, pu_tx_id(tx)), tx);
    }
    pu_amount low;
    CU_ASSERT_PTR_NOT_NULL(pu_mempool_lowest(a, &low));
    CU_ASSERT_EQUAL(low, 10); /* fee 10 at i = 0 (removed) and i = 37 (kept) */
    pu_mempool_free(a);
    for (int i = 0; i < N; i++)
        pu_tx_unref(t[i]);
    pu_txpool_free(pool);
}

TSUITE(mempool)
{
    CU_pSuite s = CU_add_suite("mempool", setup, teardown);
    if (!s)
        return CU_get_error();
    TADD(s, test_shared_pool);
    TADD(s, test_conflicts_per_mempool);
    TADD(s, test_many_entries);
    return CUE_SUCCESS;
}
