/* tests/sim/test_txflood.c -- the flood transaction model: exact arrival
 * times on a line, implicit mempools against blocks, whole runs (no
 * transaction messages, payments confirmed, deterministic); the wire
 * abstractions next to it: chain.block_fill and BIP152 high-bandwidth relay. */
#include <stdlib.h>
#include <string.h>

#include "sim/scenario.h"
#include "sim/txflood.h"
#include "tests/harness.h"
#include "tests/simutil.h"

#define MS UINT64_C(1000000)
#define US UINT64_C(1000)

typedef struct fixture {
    pu_crypto *c;
    sim_rng_root root;
    sim_topo *topo;
    sim_latency *lat;
    sim_net *net;
    pu_valcache *vc;
} fixture;

/* 0 - 1 - 2, constant latency 10 ms, 8 Mbit/s everywhere (1 byte = 1 us). */
static void fx_line(fixture *f)
{
    memset(f, 0, sizeof *f);
    CU_ASSERT_FATAL(pu_crypto_new(&f->c) == PU_OK);
    sim_rng_root_init(&f->root, f->c, 11);
    const char *edges = "0 1\n1 2\n";
    CU_ASSERT_FATAL(sim_topo_parse_edges(edges, strlen(edges), 3, NULL, &f->topo, NULL, 0) == PU_OK);
    sim_latency_params lp;
    memset(&lp, 0, sizeof lp);
    lp.kind = SIM_LAT_CONSTANT;
    lp.const_ns = 10 * MS;
    pu_hash32 key;
    sim_rng_key(&f->root, SIM_RNG_LATENCY, SIM_RNG_OWNER_GLOBAL, &key);
    CU_ASSERT_FATAL(sim_latency_new(&lp, &key, &f->lat) == PU_OK);
    sim_net_params np;
    memset(&np, 0, sizeof np);
    np.n = 3;
    np.topo = f->topo;
    np.latency = f->lat;
    np.bw_kind = SIM_NET_BW_UNIFORM;
    np.up_bps = np.down_bps = 8000000;
    CU_ASSERT_FATAL(sim_net_new(&np, &f->root, &f->net) == PU_OK);
    CU_ASSERT_FATAL(pu_valcache_new(&f->vc) == PU_OK);
}

static void fx_release(fixture *f)
{
    pu_valcache_free(f->vc);
    sim_net_free(f->net);
    sim_latency_free(f->lat);
    sim_topo_free(f->topo);
    pu_crypto_free(f->c);
}

/* A finalized payment, distinct per tag (not signed: the flood never checks). */
static pu_tx *tx_tagged(pu_crypto *c, uint8_t tag)
{
    pu_tx *tx;
    CU_ASSERT_FATAL(pu_tx_new(PU_TX_PAYMENT, 1, 1, 0, &tx) == PU_OK);
    pu_tx_in_mut(tx, 0)->prev.txid.b[0] = tag;
    pu_tx_out_mut(tx, 0)->amount = 1000;
    CU_ASSERT_FATAL(pu_tx_finalize(c, tx) == PU_OK);
    return tx;
}

/* coinbase + the given transactions (timestamp = n: distinct hashes) */
static pu_block *block_of(pu_crypto *c, pu_tx *const *txs, size_t n)
{
    pu_header h;
    memset(&h, 0, sizeof h);
    h.version = PU_BLOCK_VERSION;
    h.timestamp = n;
    pu_block *b;
    pu_tx *cb;
    CU_ASSERT_FATAL(pu_block_new(&h, &b) == PU_OK);
    CU_ASSERT_FATAL(pu_tx_new(PU_TX_COINBASE, 0, 1, 4, &cb) == PU_OK);
    pu_tx_out_mut(cb, 0)->amount = 5;
    CU_ASSERT_FATAL(pu_tx_finalize(c, cb) == PU_OK);
    CU_ASSERT_FATAL(pu_block_add_tx(b, cb) == PU_OK);
    pu_tx_unref(cb);
    for (size_t i = 0; i < n; i++)
        CU_ASSERT_FATAL(pu_block_add_tx(b, txs[i]) == PU_OK);
    CU_ASSERT_FATAL(pu_block_finalize(c, b) == PU_OK);
    return b;
}

/* Push relay: each hop is latency + the transaction's transfer + the CPU
 * check, exactly; implicit mempools follow. */
static void test_push_line(void)
{
    fixture f;
    fx_line(&f);
    sim_txflood_params fp = {false, 0, 100 * US, 1};
    sim_txflood *fl;
    CU_ASSERT_EQUAL_FATAL(sim_txflood_new(&fp, f.net, f.lat, f.vc, &f.root, &fl), PU_OK);
    pu_tx *tx = tx_tagged(f.c, 1), *other = tx_tagged(f.c, 2);
    uint64_t t0 = 1000 * MS, hop = 10 * MS + SIM_TXFLOOD_TX_BYTES * US + 100 * US;
    CU_ASSERT_EQUAL(sim_txflood_add(fl, tx, 0, UINT32_MAX, t0), PU_OK);
    CU_ASSERT_EQUAL(sim_txflood_add(fl, tx, 0, UINT32_MAX, t0), PU_ERR_EXISTS);
    CU_ASSERT_EQUAL(sim_txflood_arrival(fl, pu_tx_id(tx), 0), t0);
    CU_ASSERT_EQUAL(sim_txflood_arrival(fl, pu_tx_id(tx), 1), t0 + hop);
    CU_ASSERT_EQUAL(sim_txflood_arrival(fl, pu_tx_id(tx), 2), t0 + 2 * hop);
    CU_ASSERT_EQUAL(sim_txflood_arrival(fl, pu_tx_id(other), 1), SIM_TXFLOOD_NEVER);
    /* a block with tx and a transaction that never flooded, seen before tx
     * reached node 2: node 2 lacks both, node 1 only the other one */
    pu_tx *both[2] = {tx, other};
    pu_block *b = block_of(f.c, both, 2);
    sim_txflood_missing m;
    uint64_t now = t0 + hop + hop / 2;
    CU_ASSERT_EQUAL(sim_txflood_missing_in(fl, b, 2, now, &m), PU_OK);
    CU_ASSERT_EQUAL(m.n, 2);
    CU_ASSERT_EQUAL(m.bytes, pu_tx_size(tx) + pu_tx_size(other));
    CU_ASSERT_EQUAL(m.inputs, 2);
    CU_ASSERT_EQUAL(sim_txflood_missing_in(fl, b, 1, now, &m), PU_OK);
    CU_ASSERT_EQUAL(m.n, 1);
    CU_ASSERT_EQUAL(sim_txflood_missing_in(fl, b, 2, t0 + 2 * hop, &m), PU_OK);
    CU_ASSERT_EQUAL(m.n, 1); /* tx arrived: only the one that never floods */
    /* implicit mempool sizes: a tip that does not confirm tx, then one that does */
    pu_block *empty = block_of(f.c, NULL, 0);
    uint64_t n;
    CU_ASSERT_EQUAL(sim_txflood_pending(fl, empty, 0, t0, &n), PU_OK);
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_EQUAL(sim_txflood_pending(fl, empty, 2, now, &n), PU_OK);
    CU_ASSERT_EQUAL(n, 0);
    CU_ASSERT_EQUAL(sim_txflood_pending(fl, empty, 2, t0 + 2 * hop, &n), PU_OK);
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_EQUAL(sim_txflood_pending(fl, b, 1, t0 + 2 * hop, &n), PU_OK);
    CU_ASSERT_EQUAL(n, 0); /* confirmed in its chain */
    CU_ASSERT_EQUAL(sim_txflood_profiles(fl), 1);
    CU_ASSERT(sim_txflood_bytes(fl) > 0);
    pu_block_unref(b);
    pu_block_unref(empty);
    pu_tx_unref(tx);
    pu_tx_unref(other);
    sim_txflood_free(fl);
    fx_release(&f);
}

typedef struct told {
    uint32_t n, node[4];
    uint64_t at[4];
} told;

static void on_accept(void *arg, const pu_tx *tx, uint32_t v, uint64_t at_ns)
{
    told *t = arg;
    (void)tx;
    if (t->n < 4) {
        t->node[t->n] = v;
        t->at[t->n++] = at_ns;
    }
}

/* A transaction spending a coin of block 5: a node that connects block 5
 * before the transaction reaches it takes it (and is told then); one that
 * connects it later never has it. */
static void test_dependency(void)
{
    fixture f;
    fx_line(&f);
    sim_txflood_params fp = {false, 0, 100 * US, 1};
    sim_txflood *fl;
    CU_ASSERT_EQUAL_FATAL(sim_txflood_new(&fp, f.net, f.lat, f.vc, &f.root, &fl), PU_OK);
    uint64_t t0 = 1000 * MS, hop = 10 * MS + SIM_TXFLOOD_TX_BYTES * US + 100 * US;
    told t = {0, {0}, {0}};
    CU_ASSERT_EQUAL(sim_txflood_connected(fl, 5, 0, t0 - 1, on_accept, &t), PU_OK);
    pu_tx *tx = tx_tagged(f.c, 3);
    CU_ASSERT_EQUAL(sim_txflood_add(fl, tx, 0, 5, t0), PU_OK);
    bool acc;
    CU_ASSERT_TRUE(sim_txflood_decided(fl, pu_tx_id(tx), 0, &acc));
    CU_ASSERT_TRUE(acc);
    CU_ASSERT_FALSE(sim_txflood_decided(fl, pu_tx_id(tx), 1, &acc));
    CU_ASSERT_EQUAL(sim_txflood_connected(fl, 5, 1, t0 + hop / 2, on_accept, &t), PU_OK);
    CU_ASSERT_EQUAL(t.n, 1);
    CU_ASSERT_EQUAL(t.node[0], 1);
    CU_ASSERT_EQUAL(t.at[0], t0 + hop);
    CU_ASSERT_EQUAL(sim_txflood_connected(fl, 5, 2, t0 + 3 * hop, on_accept, &t), PU_OK);
    CU_ASSERT_EQUAL(t.n, 1); /* too late for node 2 */
    CU_ASSERT_EQUAL(sim_txflood_connected(fl, 5, 1, t0 + 4 * hop, on_accept, &t), PU_OK);
    CU_ASSERT_EQUAL(t.n, 1); /* the first connection counts */
    pu_block *b = block_of(f.c, &tx, 1);
    sim_txflood_missing m;
    CU_ASSERT_EQUAL(sim_txflood_missing_in(fl, b, 1, t0 + 5 * hop, &m), PU_OK);
    CU_ASSERT_EQUAL(m.n, 0);
    CU_ASSERT_EQUAL(sim_txflood_missing_in(fl, b, 2, t0 + 5 * hop, &m), PU_OK);
    CU_ASSERT_EQUAL(m.n, 1); /* refused: still lacking long after it passed by */
    pu_block_unref(b);
    pu_tx_unref(tx);
    sim_txflood_free(fl);
    fx_release(&f);
}

/* Announce relay: a hop is a trickle wait, then announcement, request and
 * transfer (three latencies); the waits come from seeded streams, so two
 * floods agree, and each hop costs at least its three latencies. */
static void test_announce_line(void)
{
    fixture f;
    fx_line(&f);
    sim_txflood_params fp = {true, 2000 * MS, 100 * US, 2};
    sim_txflood *a, *b;
    CU_ASSERT_EQUAL_FATAL(sim_txflood_new(&fp, f.net, f.lat, f.vc, &f.root, &a), PU_OK);
    CU_ASSERT_EQUAL_FATAL(sim_txflood_new(&fp, f.net, f.lat, f.vc, &f.root, &b), PU_OK);
    uint64_t min_hop = 30 * MS + (64 + 64 + SIM_TXFLOOD_TX_BYTES) * US + 100 * US;
    bool parity[2] = {false, false};
    for (uint8_t tag = 1; tag <= 8; tag++) {
        pu_tx *tx = tx_tagged(f.c, tag);
        CU_ASSERT_EQUAL(sim_txflood_add(a, tx, 1, UINT32_MAX, 0), PU_OK);
        CU_ASSERT_EQUAL(sim_txflood_add(b, tx, 1, UINT32_MAX, 0), PU_OK);
        uint64_t t0 = sim_txflood_arrival(a, pu_tx_id(tx), 0), t2 = sim_txflood_arrival(a, pu_tx_id(tx), 2);
        CU_ASSERT_EQUAL(t0, sim_txflood_arrival(b, pu_tx_id(tx), 0));
        CU_ASSERT_EQUAL(t2, sim_txflood_arrival(b, pu_tx_id(tx), 2));
        CU_ASSERT(t0 >= min_hop); /* a trickle wait of node 1, then three latencies */
        CU_ASSERT_EQUAL(t0, t2);  /* node 1 announces to both at once on equal links */
        parity[pu_tx_id(tx)->b[31] % 2] = true;
        pu_tx_unref(tx);
    }
    CU_ASSERT_EQUAL(sim_txflood_profiles(a), (uint64_t)parity[0] + parity[1]); /* one flood per sample used */
    sim_txflood_free(a);
    sim_txflood_free(b);
    fx_release(&f);
}

static const char flood_yaml[] =
    "seed: 5\n"
    "duration: 8min\n"
    "network: {nodes: 30, topology: {model: random, degree: 5}, relay: compact, tx_model: flood}\n"
    "chain: {block_interval: 30s, retarget_interval: 1000, coinbase_maturity: 5}\n"
    "mining: {miners: 4, placement: first}\n"
    "transactions: {rate: 3, wallets: 60, outputs: 3}\n"
    "output: {tx_arrivals: true, progress: false}\n";

/* Column `field` (count, bytes) of the /messages row of `kind` (0 if none). */
static uint64_t msg_field(sim_h5read_tab *t, const char *kind, const char *field)
{
    size_t col;
    CU_ASSERT_FATAL(sim_h5read_tab_col(t, "kind", &col) == PU_OK);
    for (uint64_t i = 0; i < sim_h5read_tab_rows(t); i++) {
        char k[32];
        if (strcmp(sim_h5read_tab_str(t, i, col, k, sizeof k), kind) == 0)
            return su_col_u64(t, i, field);
    }
    return 0;
}

static uint64_t msg_count(sim_h5read_tab *t, const char *kind) { return msg_field(t, kind, "count"); }
static uint64_t msg_bytes(sim_h5read_tab *t, const char *kind) { return msg_field(t, kind, "bytes"); }

/* A flood run: no transaction messages at all, payments confirmed, every
 * (payment, node) arrival recorded, the same bytes twice. */
static void test_flood_run(void)
{
    sim_params p;
    sim_summary s;
    sim_ctx *ctx = su_run(flood_yaml, "flood1.h5", &p, &s);
    CU_ASSERT_FATAL(ctx != NULL);
    CU_ASSERT(s.txs_created > 500);
    CU_ASSERT(s.txs_confirmed > s.txs_created / 2);
    CU_ASSERT(s.blocks_mined >= 8);
    sim_free(ctx);
    sim_params_release(&p);
    sim_h5read_tab *m = su_table("flood1.h5", "/messages");
    CU_ASSERT_FATAL(m != NULL);
    CU_ASSERT_EQUAL(msg_count(m, "new_tx") + msg_count(m, "tx_inv") + msg_count(m, "get_tx")
                        + msg_count(m, "tx_data") + msg_count(m, "request_mempool"),
                    0);
    CU_ASSERT(msg_count(m, "cmpct_block") > 0);
    sim_h5read_tab_free(m);
    sim_h5read_tab *ta = su_table("flood1.h5", "/tx_arrivals");
    CU_ASSERT_FATAL(ta != NULL);
    /* every payment its origin accepted, at every node: the miners' own
     * acceptances are told when the payment reaches them (before the end) */
    uint64_t rows = sim_h5read_tab_rows(ta);
    CU_ASSERT(rows <= s.txs_created * 30 && rows >= s.txs_created * 30 * 9 / 10);
    sim_h5read_tab_free(ta);
    ctx = su_run(flood_yaml, "flood2.h5", &p, &s);
    CU_ASSERT_FATAL(ctx != NULL);
    sim_free(ctx);
    sim_params_release(&p);
    char a[512], b[512];
    CU_ASSERT_TRUE(su_files_equal(th_path(a, sizeof a, "flood1.h5"), th_path(b, sizeof b, "flood2.h5")));
}

/* PoUW roles build blocks on nodes the flood does not know of: refused. */
static void test_flood_pouw_refused(void)
{
    sim_params p;
    CU_ASSERT_FATAL(sim_params_init_defaults(&p) == PU_OK);
    sim_diag d;
    sim_diag_clear(&d);
    CU_ASSERT_EQUAL(sim_params_set(&p, "consensus", "pouw", &d), PU_OK);
    CU_ASSERT_EQUAL(sim_params_set(&p, "network.tx_model", "flood", &d), PU_OK);
    CU_ASSERT_NOT_EQUAL(sim_params_check(&p, &d), PU_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(d.msg, "network.tx_model: flood is implemented for consensus pow only"));
    sim_params_release(&p);
}

/* Adversaries act on transaction messages the flood does not send: refused. */
static void test_flood_adversary_refused(void)
{
    static const char y[] = "network: {nodes: 20, tx_model: flood}\n"
                            "adversaries:\n  - {type: selfish, node: 2, share: 0.3}\n";
    sim_params p;
    sim_diag d;
    sim_diag_clear(&d);
    CU_ASSERT_NOT_EQUAL(sim_scenario_load_text("adv.yaml", y, sizeof y - 1, NULL, 0, &p, &d), PU_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(d.msg, "network.tx_model: flood is implemented for honest networks only"));
    CU_ASSERT_EQUAL(d.line, 1);
}

static const char fill_yaml[] =
    "seed: 2\n"
    "duration: 3min\n"
    "network: {nodes: 12, topology: {model: random, degree: 4}, relay: push}\n"
    "chain: {block_interval: 20s, retarget_interval: 1000, block_fill: 100kB}\n"
    "mining: {miners: 2, placement: first}\n"
    "transactions: {rate: 0}\n"
    "output: {progress: false}\n";

/* chain.block_fill: every full block weighs the fill on the wire. */
static void test_block_fill(void)
{
    sim_params p;
    sim_summary s;
    sim_ctx *ctx = su_run(fill_yaml, "fill.h5", &p, &s);
    CU_ASSERT_FATAL(ctx != NULL);
    sim_free(ctx);
    sim_params_release(&p);
    sim_h5read_tab *m = su_table("fill.h5", "/messages");
    CU_ASSERT_FATAL(m != NULL);
    CU_ASSERT(msg_count(m, "block_data") > 0);
    CU_ASSERT_EQUAL(msg_bytes(m, "block_data"), msg_count(m, "block_data") * (24 + 100000));
    sim_h5read_tab_free(m);
}

static const char hb_yaml[] =
    "seed: 9\n"
    "duration: 10min\n"
    "network: {nodes: 60, topology: {model: random, degree: 8}, relay: compact, compact_hb_peers: 3}\n"
    "chain: {block_interval: 30s, retarget_interval: 1000}\n"
    "mining: {miners: 4}\n"
    "transactions: {rate: 0}\n"
    "output: {progress: false}\n";

/* BIP152: compact blocks only to the peers that chose the sender, the
 * others announce and fetch the compact form; every node still gets every
 * block, with fewer compact blocks on the wire than pushing to all. */
static void test_compact_hb(void)
{
    sim_params p;
    sim_summary s3, s0;
    sim_ctx *ctx = su_run(hb_yaml, "hb3.h5", &p, &s3);
    CU_ASSERT_FATAL(ctx != NULL);
    CU_ASSERT_EQUAL(s3.stale_blocks, 0);
    CU_ASSERT(s3.prop90_blocks >= s3.blocks_mined - 1); /* all but maybe the last reach 90 % */
    sim_free(ctx);
    sim_params_release(&p);
    char yaml0[sizeof hb_yaml];
    memcpy(yaml0, hb_yaml, sizeof hb_yaml);
    memcpy(strstr(yaml0, "compact_hb_peers: 3"), "compact_hb_peers: 0", 19);
    ctx = su_run(yaml0, "hb0.h5", &p, &s0);
    CU_ASSERT_FATAL(ctx != NULL);
    sim_free(ctx);
    sim_params_release(&p);
    sim_h5read_tab *m3 = su_table("hb3.h5", "/messages"), *m0 = su_table("hb0.h5", "/messages");
    CU_ASSERT_FATAL(m3 && m0);
    CU_ASSERT(msg_count(m3, "new_block") > 0);
    CU_ASSERT_EQUAL(msg_count(m0, "new_block"), 0);
    CU_ASSERT(msg_count(m3, "cmpct_block") < msg_count(m0, "cmpct_block") / 2);
    CU_ASSERT_EQUAL(msg_count(m3, "block_data"), 0); /* fetched as compact blocks */
    sim_h5read_tab_free(m3);
    sim_h5read_tab_free(m0);
}

TSUITE(txflood)
{
    CU_pSuite s = CU_add_suite("txflood", NULL, NULL);
    if (!s)
        return CU_get_error();
    TADD(s, test_push_line);
    TADD(s, test_dependency);
    TADD(s, test_announce_line);
    TADD(s, test_flood_run);
    TADD(s, test_flood_pouw_refused);
    TADD(s, test_flood_adversary_refused);
    TADD(s, test_block_fill);
    TADD(s, test_compact_hb);
    return CUE_SUCCESS;
}
