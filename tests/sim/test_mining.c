/* tests/sim/test_mining.c -- proof-of-work miners: a `hashpower` share is a
 * share of the scheduled total (the others scale, the block rate stays). */
#include <math.h>
#include <stdlib.h>

#include "sim/mining.h"
#include "tests/harness.h"
#include "tests/simutil.h"

static const char base_yaml[] =
    "seed: 11\n"
    "duration: 4000s\n"
    "network: {nodes: 10, topology: {model: random, degree: 4},\n"
    "          latency: {model: constant, mean: 10ms}, relay: push}\n"
    "chain: {block_interval: 10s, fixed_target: true}\n"
    "mining: {miners: 4, placement: first}\n"
    "transactions: {rate: 0}\n";

static double total_rate(sim_ctx *ctx)
{
    double t = 0;
    for (uint32_t i = 0; i < sim_mining_count(ctx); i++)
        t += sim_mining_rate(ctx, i);
    return t;
}

/* The arithmetic of set_share on a built (not yet run) context. */
static void test_share_rescales_others(void)
{
    sim_params p;
    CU_ASSERT_FATAL(su_load(&p, base_yaml) == 0);
    sim_run_opts o = {"", NULL, 0, {NULL, NULL}};
    sim_ctx *ctx = NULL;
    char err[300];
    CU_ASSERT_FATAL(sim_new(&p, base_yaml, &o, &ctx, err, sizeof err) == PU_OK);
    double T = sim_mining_total0(ctx);
    CU_ASSERT_DOUBLE_EQUAL(T, 256.0 / 10, 1e-12); /* pow_hashes_per_block / interval */
    CU_ASSERT_DOUBLE_EQUAL(total_rate(ctx), T, 1e-9);
    sim_mining_set_share(ctx, 0, 0.9);
    CU_ASSERT_DOUBLE_EQUAL(sim_mining_rate(ctx, 0), 0.9 * T, 1e-9);
    for (uint32_t i = 1; i < 4; i++)
        CU_ASSERT_DOUBLE_EQUAL(sim_mining_rate(ctx, i), 0.1 / 3 * T, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(total_rate(ctx), T, 1e-9);
    /* the others keep their proportions: miner 0 holds 27x each of 2 and 3 */
    sim_mining_set_share(ctx, 1, 0.5);
    CU_ASSERT_DOUBLE_EQUAL(sim_mining_rate(ctx, 1), 0.5 * T, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(sim_mining_rate(ctx, 0), 0.5 * T * 27 / 29, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(sim_mining_rate(ctx, 2), 0.5 * T / 29, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(total_rate(ctx), T, 1e-9);
    /* switching everyone off one by one: the last one takes the total down */
    for (uint32_t i = 0; i < 3; i++) {
        sim_mining_set_share(ctx, i, 0);
        CU_ASSERT_DOUBLE_EQUAL(total_rate(ctx), T, 1e-9);
    }
    CU_ASSERT_DOUBLE_EQUAL(sim_mining_rate(ctx, 3), T, 1e-9);
    sim_mining_set_share(ctx, 3, 0);
    CU_ASSERT_DOUBLE_EQUAL(total_rate(ctx), 0, 1e-12);
    sim_free(ctx);
    sim_params_release(&p);
}

/* The bug this replaces: "share 0.9" gave 53 % of the blocks and raised the
 * block rate 1.8x.  ~400 blocks: the count is Poisson (sd 20), miner 0's
 * fraction binomial (sd 0.015); tolerances are 4 sd. */
static void test_share_of_blocks(void)
{
    char yaml[1024];
    snprintf(yaml, sizeof yaml, "%stimeline:\n  - {at: 0s, action: hashpower, miner: 0, share: 0.9}\n",
             base_yaml);
    sim_params p;
    sim_summary s;
    sim_ctx *ctx = su_run(yaml, "hashpower.h5", &p, &s);
    CU_ASSERT_FATAL(ctx != NULL);
    sim_h5read_tab *b = su_table("hashpower.h5", "/blocks");
    CU_ASSERT_FATAL(b != NULL);
    uint64_t n = sim_h5read_tab_rows(b), mine = 0;
    uint32_t node0 = sim_mining_node(ctx, 0);
    for (uint64_t i = 0; i < n; i++)
        mine += su_col_u64(b, i, "miner") == node0;
    CU_ASSERT(n > 400 - 80 && n < 400 + 80);
    CU_ASSERT(fabs((double)mine / (double)n - 0.9) < 0.06);
    sim_h5read_tab_free(b);
    sim_free(ctx);
    sim_params_release(&p);
}

TSUITE(mining)
{
    CU_pSuite s = CU_add_suite("mining", NULL, NULL);
    if (!s)
        return CU_get_error();
    TADD(s, test_share_rescales_others);
    TADD(s, test_share_of_blocks);
    return CUE_SUCCESS;
}
