/* tests/bench/bench_core.c -- speed of the ledger core, for the figures the
 * lead quotes (a program printing labelled lines, not a test).
 *
 * Workload: a chain of BLOCKS blocks of TXS_PER_BLOCK payments each (one
 * input, two outputs, real secp256k1 signatures), mined at a low fixed
 * target, built once by a producer chain.  Then:
 *   1. signature checks: pu_sig_verify alone, and through a shared
 *      pu_sigcache that already holds every signature (hits only);
 *   2. blocks connected by pu_chain_add_block with no cache (every signature
 *      verified), and with a warm shared sigcache;
 *   3. CHAINS chain instances receiving every block, sharing one valcache
 *      and one sigcache (the first instance validates, the rest apply the
 *      cached undo record), reported as blocks x chains connected per second,
 *      against a few instances sharing only the sigcache;
 *   4. blocks persisted to SQLite through an attached core/store (file in
 *      /tmp, WAL, synchronous=NORMAL, one commit per block), the store's own
 *      cost per block, and a reload with full re-validation.
 * Wall-clock timing is the point of a benchmark, so this program reads the
 * monotonic clock; nothing in core/ does. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/bytes.h"
#include "core/store.h"

#define WALLETS       64
#define GENESIS_OUTS  2000
#define BLOCKS        500
#define TXS_PER_BLOCK 10
#define CHAINS        100
#define FEE           (PU_COIN / 1000)

typedef struct coinref {
    pu_outpoint op;
    pu_amount amount;
    int owner;
} coinref;

typedef struct bench {
    pu_crypto *crypto;
    pu_params params;
    pu_keypair w[WALLETS];
    pu_block *genesis;
    pu_block *blocks[BLOCKS];
    coinref *pool; /* spendable coins, spent first in, first out */
    size_t head, n, cap;
} bench;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int fail(const char *what, pu_err rc)
{
    fprintf(stderr, "bench_core: %s: %s\n", what, pu_strerror(rc));
    return 1;
}

static void grind(bench *B, pu_block *draft)
{
    pu_header *h = pu_block_header_mut(draft);
    for (;; h->nonce++) {
        pu_hash32 hh;
        pu_header_hash(B->crypto, h, &hh);
        if (pu_hash_meets_bits(&hh, h->bits))
            return;
    }
}

static void pool_push(bench *B, const pu_outpoint *op, pu_amount amount, int owner)
{
    B->pool[B->n++] = (coinref){*op, amount, owner};
}

/* Wallets from fixed seeds; a genesis paying GENESIS_OUTS coins round-robin. */
static pu_err setup(bench *B)
{
    pu_err rc = pu_crypto_new(&B->crypto);
    pu_params_default(&B->params);
    B->params.coinbase_maturity = 0;
    B->params.target_spacing_s = 1;
    B->params.fixed_target = true;
    pu_params_set_hashes(&B->params, 16);
    for (int i = 0; rc == PU_OK && i < WALLETS; i++) {
        uint8_t seed[32] = {0};
        seed[0] = 0xBE;
        seed[31] = (uint8_t)i;
        rc = pu_key_from_seed(B->crypto, seed, &B->w[i]);
    }
    B->cap = GENESIS_OUTS + 2 * (size_t)BLOCKS * TXS_PER_BLOCK;
    B->pool = calloc(B->cap, sizeof *B->pool);
    pu_tx *cb = NULL;
    if (rc == PU_OK && !B->pool)
        rc = PU_ERR_NOMEM;
    if (rc == PU_OK)
        rc = pu_tx_new(PU_TX_COINBASE, 0, GENESIS_OUTS, 4, &cb);
    for (uint32_t i = 0; rc == PU_OK && i < GENESIS_OUTS; i++) {
        pu_tx_out_mut(cb, i)->amount = 1000 * PU_COIN;
        pu_tx_out_mut(cb, i)->addr = B->w[i % WALLETS].addr;
    }
    if (rc == PU_OK)
        rc = pu_tx_finalize(B->crypto, cb);
    pu_header h;
    memset(&h, 0, sizeof h);
    h.version = PU_BLOCK_VERSION;
    h.timestamp = 1000;
    h.bits = pu_bits_from_target(&B->params.pow_limit);
    if (rc == PU_OK)
        rc = pu_block_new(&h, &B->genesis);
    if (rc == PU_OK)
        rc = pu_block_add_tx(B->genesis, cb);
    if (rc == PU_OK)
        rc = pu_block_update_merkle(B->crypto, B->genesis);
    if (rc == PU_OK) {
        grind(B, B->genesis);
        rc = pu_block_finalize(B->crypto, B->genesis);
    }
    for (uint32_t i = 0; rc == PU_OK && i < GENESIS_OUTS; i++) {
        pu_outpoint op = {*pu_tx_id(cb), i};
        pool_push(B, &op, 1000 * PU_COIN, (int)(i % WALLETS));
    }
    pu_tx_unref(cb);
    return rc;
}

/* Spends the oldest pool coin: half to the next wallet, the rest back as change. */
static pu_err payment(bench *B, pu_tx **out)
{
    coinref c = B->pool[B->head++];
    pu_amount pay = c.amount / 2, change = c.amount - pay - FEE;
    int to = (c.owner + 1) % WALLETS;
    pu_tx *tx;
    pu_err rc = pu_tx_new(PU_TX_PAYMENT, 1, 2, 0, &tx);
    if (rc != PU_OK)
        return rc;
    pu_tx_in_mut(tx, 0)->prev = c.op;
    pu_tx_out_mut(tx, 0)->amount = pay;
    pu_tx_out_mut(tx, 0)->addr = B->w[to].addr;
    pu_tx_out_mut(tx, 1)->amount = change;
    pu_tx_out_mut(tx, 1)->addr = B->w[c.owner].addr;
    const pu_keypair *k = &B->w[c.owner];
    rc = pu_tx_sign_all(B->crypto, tx, &k, 1);
    if (rc == PU_OK)
        rc = pu_tx_finalize(B->crypto, tx);
    if (rc != PU_OK) {
        pu_tx_unref(tx);
        return rc;
    }
    pu_outpoint op = {*pu_tx_id(tx), 0};
    pool_push(B, &op, pay, to);
    op.index = 1;
    pool_push(B, &op, change, c.owner);
    *out = tx;
    return PU_OK;
}

/* The producer chain mines every block (its time is not measured). */
static pu_err produce(bench *B)
{
    pu_chain_opts o = {&B->params, B->crypto, NULL, NULL, NULL};
    pu_chain *p;
    pu_err rc = pu_chain_new(&o, B->genesis, &p);
    for (int i = 0; rc == PU_OK && i < BLOCKS; i++) {
        pu_tx *txs[TXS_PER_BLOCK] = {0};
        for (int t = 0; rc == PU_OK && t < TXS_PER_BLOCK; t++)
            rc = payment(B, &txs[t]);
        pu_block *b = NULL;
        if (rc == PU_OK)
            rc = pu_chain_create_block(p, txs, TXS_PER_BLOCK, &B->w[i % WALLETS].addr, NULL, 0,
                                       2000 + (uint64_t)i, &b);
        if (rc == PU_OK) {
            grind(B, b);
            rc = pu_block_finalize(B->crypto, b);
        }
        pu_add_result res;
        if (rc == PU_OK && (rc = pu_chain_add_block(p, b, UINT64_MAX / 2, &res)) == PU_OK
            && !res.tip_changed)
            rc = PU_ERR_STATE;
        B->blocks[i] = b;
        for (int t = 0; t < TXS_PER_BLOCK; t++)
            pu_tx_unref(txs[t]);
    }
    pu_chain_free(p);
    return rc;
}

/* Adds every block to ch; PU_OK only if each one became the tip. */
static pu_err feed_all(pu_chain *ch, const bench *B)
{
    for (int i = 0; i < BLOCKS; i++) {
        pu_add_result res;
        pu_err rc = pu_chain_add_block(ch, B->blocks[i], UINT64_MAX / 2, &res);
        if (rc != PU_OK)
            return rc;
        if (!res.tip_changed)
            return PU_ERR_STATE;
    }
    return PU_OK;
}

/* ---- 1. signatures ------------------------------------------------------ */

static bool check_one(pu_sigcache *sc, pu_crypto *c, const pu_tx *tx)
{
    const pu_txin *in = pu_tx_in(tx, 0);
    return sc ? pu_sigcache_verify(sc, c, in->pub, pu_tx_sighash_at(tx, 0), in->sig)
              : pu_sig_verify(in->pub, pu_tx_sighash_at(tx, 0), in->sig);
}

/* Raw verification, a cache fill (misses), then timed passes over the
 * entries the cache kept (pure hits). */
static int bench_sigs(bench *B, pu_sigcache **warm_out)
{
    size_t n = (size_t)BLOCKS * TXS_PER_BLOCK, k = 0, ok = 0, n_hit = 0;
    const pu_tx **txs = malloc(n * sizeof *txs), **hit = malloc(n * sizeof *hit);
    pu_sigcache *sc = NULL;
    pu_err rc = txs && hit ? pu_sigcache_new(8 * n, &sc) : PU_ERR_NOMEM;
    if (rc != PU_OK) {
        free(txs);
        free(hit);
        return fail("sigcache", rc);
    }
    for (int i = 0; i < BLOCKS; i++)
        for (uint32_t t = 1; t < pu_block_n_tx(B->blocks[i]); t++)
            txs[k++] = pu_block_tx(B->blocks[i], t);
    double t0 = now_s();
    for (size_t i = 0; i < n; i++)
        ok += check_one(NULL, B->crypto, txs[i]);
    double raw = now_s() - t0;
    t0 = now_s();
    for (size_t i = 0; i < n; i++) /* fill: one miss each */
        ok += check_one(sc, B->crypto, txs[i]);
    double miss = now_s() - t0;
    pu_sigcache_stats s0, s1;
    for (size_t i = 0; i < n; i++) { /* which entries the cache kept */
        pu_sigcache_get_stats(sc, &s0);
        ok += check_one(sc, B->crypto, txs[i]);
        pu_sigcache_get_stats(sc, &s1);
        if (s1.hits > s0.hits)
            hit[n_hit++] = txs[i];
    }
    const int passes = 20;
    t0 = now_s();
    for (int p = 0; p < passes; p++)
        for (size_t i = 0; i < n_hit; i++)
            ok += check_one(sc, B->crypto, hit[i]);
    double hits = now_s() - t0;
    printf("signatures: %zu distinct (pub, sighash, sig), %zu valid checks in all\n", n, ok);
    printf("  sig verify, no cache (pu_sig_verify):           %10.0f /s\n", (double)n / raw);
    printf("  sig verify, shared pu_sigcache, misses (fill):  %10.0f /s\n", (double)n / miss);
    printf("  sig verify, shared pu_sigcache, hits:           %10.0f /s  (cache of %zu entries "
           "kept %.1f %% of %zu after one fill)\n", (double)passes * (double)n_hit / hits, 8 * n,
           100.0 * (double)n_hit / (double)n, n);
    free(txs);
    free(hit);
    *warm_out = sc;
    return 0;
}

/* ---- 2. one chain ---------------------------------------------------------- */

static int bench_connect(bench *B, pu_sigcache *warm)
{
    pu_chain_opts o = {&B->params, B->crypto, NULL, NULL, NULL};
    const char *label[2] = {"no cache (every signature verified)", "warm shared sigcache"};
    printf("connect: %d blocks of %d payments (+ coinbase), one chain instance\n", BLOCKS,
           TXS_PER_BLOCK);
    for (int v = 0; v < 2; v++) {
        pu_chain *ch;
        o.sigcache = v ? warm : NULL;
        pu_err rc = pu_chain_new(&o, B->genesis, &ch);
        double t0 = now_s();
        if (rc == PU_OK)
            rc = feed_all(ch, B);
        double dt = now_s() - t0;
        pu_chain_free(ch);
        if (rc != PU_OK)
            return fail("connect", rc);
        printf("  blocks connected/s, %-37s %8.0f /s  (%.0f tx/s)\n", label[v], BLOCKS / dt,
               (double)BLOCKS * TXS_PER_BLOCK / dt);
    }
    return 0;
}

/* ---- 3. many chains ----------------------------------------------------------- */

/* Every block to each of n chains (block-major, as a broadcast arrives). */
static pu_err feed_many(bench *B, pu_sigcache *sc, pu_valcache *vc, int n, double *dt,
                        size_t *mem_per_chain)
{
    pu_chain_opts o = {&B->params, B->crypto, sc, vc, NULL};
    pu_chain **ch = calloc((size_t)n, sizeof *ch);
    pu_err rc = ch ? PU_OK : PU_ERR_NOMEM;
    for (int c = 0; rc == PU_OK && c < n; c++)
        rc = pu_chain_new(&o, B->genesis, &ch[c]);
    double t0 = now_s();
    for (int i = 0; rc == PU_OK && i < BLOCKS; i++)
        for (int c = 0; rc == PU_OK && c < n; c++) {
            pu_add_result res;
            rc = pu_chain_add_block(ch[c], B->blocks[i], UINT64_MAX / 2, &res);
            if (rc == PU_OK && !res.tip_changed)
                rc = PU_ERR_STATE;
        }
    *dt = now_s() - t0;
    *mem_per_chain = rc == PU_OK ? pu_chain_mem_bytes(ch[0]) : 0;
    for (int c = 0; ch && c < n; c++)
        pu_chain_free(ch[c]);
    free(ch);
    return rc;
}

static int bench_many(bench *B, pu_valcache **vc_out)
{
    pu_sigcache *sc = NULL;
    pu_valcache *vc = NULL;
    double dt;
    size_t mem;
    pu_err rc = pu_sigcache_new(1u << 16, &sc);
    if (rc == PU_OK)
        rc = pu_valcache_new(&vc);
    if (rc == PU_OK)
        rc = feed_many(B, sc, vc, CHAINS, &dt, &mem);
    if (rc != PU_OK)
        return fail("many chains", rc);
    pu_valcache_stats vs;
    pu_valcache_get_stats(vc, &vs);
    printf("many chains: every block to each of %d chain instances\n", CHAINS);
    printf("  blocks x chains connected/s, shared valcache+sigcache: %8.0f /s  (%.2f s; valcache "
           "hits %llu, misses %llu; %zu KiB per chain)\n", (double)BLOCKS * CHAINS / dt, dt,
           (unsigned long long)vs.hits, (unsigned long long)vs.misses, mem >> 10);
    pu_sigcache_free(sc);
    /* the same without the valcache: every instance re-validates (signatures cached) */
    const int few = 5;
    rc = pu_sigcache_new(1u << 16, &sc);
    if (rc == PU_OK)
        rc = feed_many(B, sc, NULL, few, &dt, &mem);
    pu_sigcache_free(sc);
    if (rc != PU_OK)
        return fail("many chains without valcache", rc);
    printf("  blocks x chains connected/s, shared sigcache only:     %8.0f /s  (%d chains)\n",
           (double)BLOCKS * few / dt, few);
    *vc_out = vc;
    return 0;
}

/* ---- 4. store --------------------------------------------------------------------- */

static void remove_db(const char *path)
{
    char p[320];
    unlink(path);
    snprintf(p, sizeof p, "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", path);
    unlink(p);
}

/* Connects every block to a chain sharing vc (so validation is nearly free
 * and the difference is the store), with or without a store at path. */
static pu_err timed_store_run(bench *B, pu_valcache *vc, const char *path, double *dt,
                              pu_store_stats *stats)
{
    pu_chain_opts o = {&B->params, B->crypto, NULL, vc, NULL};
    pu_chain *ch;
    pu_store *st = NULL;
    char err[512] = "";
    pu_err rc = pu_chain_new(&o, B->genesis, &ch);
    if (rc == PU_OK && path && (rc = pu_store_open(path, &st, err, sizeof err)) == PU_OK)
        rc = pu_store_attach(st, ch, err, sizeof err);
    double t0 = now_s();
    if (rc == PU_OK)
        rc = feed_all(ch, B);
    if (rc == PU_OK && st)
        rc = pu_store_flush(st, err, sizeof err);
    *dt = now_s() - t0;
    if (st)
        pu_store_get_stats(st, stats);
    if (err[0])
        fprintf(stderr, "bench_core: %s\n", err);
    pu_store_close(st);
    pu_chain_free(ch);
    return rc;
}

static int bench_store(bench *B, pu_valcache *vc)
{
    char dir[] = "/tmp/pu-bench.XXXXXX", path[300], err[512] = "";
    if (!mkdtemp(dir))
        return fail("mkdtemp", PU_ERR_IO);
    snprintf(path, sizeof path, "%s/chain.db", dir);
    double base, with, load;
    pu_store_stats s;
    memset(&s, 0, sizeof s);
    pu_err rc = timed_store_run(B, vc, NULL, &base, &s);
    if (rc == PU_OK)
        rc = timed_store_run(B, vc, path, &with, &s);
    pu_store *st = NULL;
    pu_chain *ch = NULL;
    pu_chain_opts o = {&B->params, B->crypto, NULL, NULL, NULL};
    double t0 = now_s();
    if (rc == PU_OK && (rc = pu_store_open(path, &st, err, sizeof err)) == PU_OK)
        rc = pu_store_load(st, &o, B->genesis, &ch, err, sizeof err);
    load = now_s() - t0;
    pu_store_close(st);
    if (rc == PU_OK && pu_chain_height(ch) != BLOCKS)
        rc = PU_ERR_STATE;
    pu_chain_free(ch);
    FILE *f = fopen(path, "rb");
    long size = 0;
    if (f && fseek(f, 0, SEEK_END) == 0)
        size = ftell(f);
    if (f)
        fclose(f);
    remove_db(path);
    rmdir(dir);
    if (rc != PU_OK) {
        fprintf(stderr, "bench_core: %s\n", err);
        return fail("store", rc);
    }
    printf("store: SQLite file, WAL, synchronous=NORMAL, one commit per block (%llu commits, %llu "
           "utxos rows written, %llu deleted; file %ld KiB)\n", (unsigned long long)s.commits,
           (unsigned long long)s.utxo_puts, (unsigned long long)s.utxo_dels, size >> 10);
    printf("  blocks connected/s, valcache hit, no store:    %10.0f /s\n", BLOCKS / base);
    printf("  blocks persisted/s (connect + store commit):   %10.0f /s\n", BLOCKS / with);
    printf("  store cost per block:                          %10.1f us  (%.0f blocks/s for the "
           "store alone)\n", 1e6 * (with - base) / BLOCKS, BLOCKS / (with - base));
    printf("  reload with full re-validation (pu_store_load): %9.0f blocks/s\n", BLOCKS / load);
    return 0;
}

int main(void)
{
    bench *B = calloc(1, sizeof *B);
    if (!B)
        return fail("setup", PU_ERR_NOMEM);
    pu_err rc = setup(B);
    double t0 = now_s();
    if (rc == PU_OK)
        rc = produce(B);
    if (rc != PU_OK)
        return fail("building the workload", rc);
    printf("bench_core: workload of %d blocks x %d payments built in %.2f s\n", BLOCKS,
           TXS_PER_BLOCK, now_s() - t0);
    pu_sigcache *warm = NULL;
    pu_valcache *vc = NULL;
    int bad = bench_sigs(B, &warm);
    if (!bad)
        bad = bench_connect(B, warm);
    if (!bad)
        bad = bench_many(B, &vc);
    if (!bad)
        bad = bench_store(B, vc);
    pu_valcache_free(vc);
    pu_sigcache_free(warm);
    for (int i = 0; i < BLOCKS; i++)
        pu_block_unref(B->blocks[i]);
    pu_block_unref(B->genesis);
    free(B->pool);
    pu_crypto_free(B->crypto);
    free(B);
    return bad;
}
