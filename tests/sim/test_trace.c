/* tests/sim/test_trace.c -- /trace tables: off by default; on, they change
 * nothing else in the run; a sample is exactly the rows of the full trace
 * that the documented hash rule selects; message fates add up with the
 * /messages counts; the transaction life cycle has a creation for every
 * payment, mempool entries and exits (evictions included), and a
 * confirmation at every node for every main-chain payment. */
#include <stdlib.h>
#include <string.h>

#include "core/mix.h"
#include "sim/rng.h"
#include "tests/harness.h"
#include "tests/simutil.h"

/* Small, busy, and with a tiny mempool so that evictions happen. */
#define BASE                                                                                    \
    "name: trace\n"                                                                             \
    "seed: 5\n"                                                                                 \
    "duration: 90s\n"                                                                           \
    "network: {nodes: 8, topology: {model: random, degree: 3}}\n"                               \
    "chain: {block_interval: 10s, mempool_capacity: 6}\n"                                       \
    "mining: {miners: 3}\n"                                                                     \
    "transactions: {rate: 3, wallets: 40}\n"

static bool run(const char *yaml, const char *h5)
{
    sim_params p;
    sim_summary sum;
    sim_ctx *ctx = su_run(yaml, h5, &p, &sum);
    if (!ctx)
        return false;
    sim_free(ctx);
    sim_params_release(&p);
    return true;
}

static bool tables_equal(const char *a, const char *b, const char *table)
{
    sim_h5read_tab *x = su_table(a, table), *y = su_table(b, table);
    bool eq = x && y && sim_h5read_tab_rows(x) == sim_h5read_tab_rows(y)
              && sim_h5read_tab_row_size(x) == sim_h5read_tab_row_size(y)
              && memcmp(sim_h5read_tab_data(x), sim_h5read_tab_data(y),
                        sim_h5read_tab_rows(x) * sim_h5read_tab_row_size(x)) == 0;
    sim_h5read_tab_free(x);
    sim_h5read_tab_free(y);
    return eq;
}

static int suite_init(void)
{
    return run(BASE, "tr_none.h5")
                   && run(BASE "output: {messages: all, tx_lifecycle: all}\n", "tr_all.h5")
                   && run(BASE "output: {messages: sample, message_sample: 0.1, tx_lifecycle: "
                               "sample, tx_sample: 0.25}\n",
                          "tr_sample.h5")
               ? 0
               : -1;
}

static void test_off_by_default_and_changes_nothing(void)
{
    sim_h5read_tab *t = su_table("tr_none.h5", "/trace/messages");
    CU_ASSERT_PTR_NULL(t);
    sim_h5read_tab_free(t);
    static const char *const tables[] = {"/blocks", "/arrivals", "/txs", "/reorgs",
                                         "/timeseries", "/block_outcomes", "/tx_confirmations",
                                         "/messages", "/refusals"};
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        CU_ASSERT(tables_equal("tr_none.h5", "tr_all.h5", tables[i]));
        CU_ASSERT(tables_equal("tr_none.h5", "tr_sample.h5", tables[i]));
    }
}

/* The sampling rule of sim/trace.h, recomputed from the seed. */
static uint64_t trace_key(uint64_t seed)
{
    pu_crypto *c;
    CU_ASSERT_FATAL(pu_crypto_new(&c) == PU_OK);
    sim_rng_root root;
    sim_rng_root_init(&root, c, seed);
    pu_hash32 k;
    sim_rng_key(&root, SIM_RNG_TRACE, SIM_RNG_OWNER_GLOBAL, &k);
    pu_crypto_free(c);
    return pu_hash_fp(&k);
}

static void test_messages(void)
{
    sim_h5read_tab *all = su_table("tr_all.h5", "/trace/messages");
    sim_h5read_tab *smp = su_table("tr_sample.h5", "/trace/messages");
    sim_h5read_tab *cnt = su_table("tr_all.h5", "/messages");
    CU_ASSERT_FATAL(all && smp && cnt);
    uint64_t n = sim_h5read_tab_rows(all), sent = 0, arrived = 0, not_sent = 0;
    for (uint64_t i = 0; i < sim_h5read_tab_rows(cnt); i++)
        sent += su_col_u64(cnt, i, "count");
    uint8_t *seen = calloc(n + sent + 1, 1);
    CU_ASSERT_FATAL(seen != NULL);
    bool unique = true, times_ok = true;
    uint64_t key = trace_key(5), want = 0;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t seq = su_col_u64(all, i, "seq");
        uint8_t fate = (uint8_t)su_col_u64(all, i, "fate");
        if (seq > n + sent || seen[seq])
            unique = false;
        else
            seen[seq] = 1;
        arrived += fate == 0 || fate == 2;
        not_sent += fate == 1;
        times_ok &= su_col_u64(all, i, "t_ns") >= su_col_u64(all, i, "sent_ns");
        want += pu_mix64(key ^ seq) % 1000000u < 100000u;
    }
    CU_ASSERT(unique);
    CU_ASSERT(times_ok);
    /* every sent message arrived or was cut, but for those in flight at the end */
    CU_ASSERT(arrived <= sent);
    CU_ASSERT(arrived >= sent - sent / 50);
    CU_ASSERT(n > 1000);
    /* the sample is exactly the rows the rule picks, in the same order */
    CU_ASSERT_EQUAL(sim_h5read_tab_rows(smp), want);
    uint64_t j = 0;
    bool same = true;
    for (uint64_t i = 0; i < n && j < sim_h5read_tab_rows(smp); i++) {
        uint64_t seq = su_col_u64(all, i, "seq");
        if (pu_mix64(key ^ seq) % 1000000u >= 100000u)
            continue;
        same &= su_col_u64(smp, j, "seq") == seq
                && su_col_u64(smp, j, "t_ns") == su_col_u64(all, i, "t_ns")
                && su_col_u64(smp, j, "bytes") == su_col_u64(all, i, "bytes");
        j++;
    }
    CU_ASSERT(same);
    CU_ASSERT(want > n / 20 && want < n / 5);
    free(seen);
    sim_h5read_tab_free(all);
    sim_h5read_tab_free(smp);
    sim_h5read_tab_free(cnt);
}

/* Row of /trace/txs holding txid, or UINT64_MAX. */
static uint64_t trace_row(const sim_h5read_tab *t, const char *txid)
{
    size_t c;
    char buf[80];
    if (sim_h5read_tab_col(t, "txid", &c) != PU_OK)
        return UINT64_MAX;
    for (uint64_t i = 0; i < sim_h5read_tab_rows(t); i++)
        if (!strcmp(sim_h5read_tab_str(t, i, c, buf, sizeof buf), txid))
            return i;
    return UINT64_MAX;
}

static void test_tx_lifecycle(void)
{
    sim_h5read_tab *txs = su_table("tr_all.h5", "/txs");
    sim_h5read_tab *ttx = su_table("tr_all.h5", "/trace/txs");
    sim_h5read_tab *ev = su_table("tr_all.h5", "/trace/tx_events");
    sim_h5read_tab *conf = su_table("tr_all.h5", "/tx_confirmations");
    CU_ASSERT_FATAL(txs && ttx && ev && conf);
    uint64_t nt = sim_h5read_tab_rows(ttx), ne = sim_h5read_tab_rows(ev);
    uint64_t *created = calloc(nt, sizeof *created), *confirmed = calloc(nt, sizeof *confirmed);
    uint64_t by_event[8] = {0}, evicted = 0;
    CU_ASSERT_FATAL(created && confirmed);
    for (uint64_t i = 0; i < ne; i++) {
        uint64_t tx = su_col_u64(ev, i, "tx");
        uint8_t e = (uint8_t)su_col_u64(ev, i, "event");
        CU_ASSERT_FATAL(tx < nt && e >= 1 && e <= 6);
        by_event[e]++;
        created[tx] += e == 1;
        confirmed[tx] += e == 5;
        evicted += e == 3 && su_col_u64(ev, i, "detail") == 3;
    }
    /* every payment of the workload was traced and created exactly once */
    size_t c;
    char id[80];
    CU_ASSERT_FATAL(sim_h5read_tab_col(txs, "txid", &c) == PU_OK);
    bool all_created = true;
    for (uint64_t i = 0; i < sim_h5read_tab_rows(txs); i++) {
        uint64_t r = trace_row(ttx, sim_h5read_tab_str(txs, i, c, id, sizeof id));
        all_created &= r != UINT64_MAX && created[r] == 1;
    }
    CU_ASSERT(all_created);
    CU_ASSERT_EQUAL(by_event[1], sim_h5read_tab_rows(txs));
    /* a payment confirmed in the main chain was confirmed at every node
     * that connected its block: at least at one, and at most once per
     * node per connection */
    CU_ASSERT_FATAL(sim_h5read_tab_col(txs, "txid", &c) == PU_OK);
    bool conf_ok = true;
    for (uint64_t i = 0; i < sim_h5read_tab_rows(conf); i++) {
        uint64_t tx = su_col_u64(conf, i, "tx");
        uint64_t r = trace_row(ttx, sim_h5read_tab_str(txs, tx, c, id, sizeof id));
        conf_ok &= r != UINT64_MAX && confirmed[r] >= 1;
    }
    CU_ASSERT(conf_ok);
    CU_ASSERT(by_event[2] > by_event[1]); /* entries at other nodes than the home one */
    CU_ASSERT(by_event[3] > 0);
    CU_ASSERT(evicted > 0);              /* the 6-entry mempools overflow */
    /* the sample follows whole transactions: the same events as the full
     * trace for the transactions it holds */
    sim_h5read_tab *stx = su_table("tr_sample.h5", "/trace/txs");
    sim_h5read_tab *sev = su_table("tr_sample.h5", "/trace/tx_events");
    CU_ASSERT_FATAL(stx && sev);
    CU_ASSERT(sim_h5read_tab_rows(stx) > 0 && sim_h5read_tab_rows(stx) < nt);
    uint64_t want = 0;
    CU_ASSERT_FATAL(sim_h5read_tab_col(stx, "txid", &c) == PU_OK);
    for (uint64_t i = 0; i < sim_h5read_tab_rows(stx); i++) {
        uint64_t r = trace_row(ttx, sim_h5read_tab_str(stx, i, c, id, sizeof id));
        CU_ASSERT_FATAL(r != UINT64_MAX);
        for (uint64_t k = 0; k < ne; k++)
            want += su_col_u64(ev, k, "tx") == r;
    }
    CU_ASSERT_EQUAL(sim_h5read_tab_rows(sev), want);
    free(created);
    free(confirmed);
    sim_h5read_tab_free(txs);
    sim_h5read_tab_free(ttx);
    sim_h5read_tab_free(ev);
    sim_h5read_tab_free(conf);
    sim_h5read_tab_free(stx);
    sim_h5read_tab_free(sev);
}

TSUITE(trace)
{
    CU_pSuite s = CU_add_suite("trace", suite_init, NULL);
    if (!s)
        return CU_get_error();
    TADD(s, test_off_by_default_and_changes_nothing);
    TADD(s, test_messages);
    TADD(s, test_tx_lifecycle);
    return CUE_SUCCESS;
}
