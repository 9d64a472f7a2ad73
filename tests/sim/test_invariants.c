/* tests/sim/test_invariants.c -- the end-of-run invariants hold on real
 * runs (PoW with payments, partitions and churn; PoUW with escrows, stakes
 * and settlement), and each check fails when what it guards is broken. */
#include <stdlib.h>
#include <string.h>

#include "sim/engine.h" /* the run's context: the tests break it on purpose */
#include "sim/invariants.h"
#include "sim/scenario.h"
#include "sim/sim.h"
#include "tests/harness.h"

static const char pow_yaml[] =
    "seed: 11\nduration: 20min\n"
    "network: {nodes: 30, topology: {degree: 4}}\n"
    "chain: {block_interval: 30s}\nmining: {miners: 4}\n"
    "transactions: {rate: 2, wallets: 40}\n"
    "timeline:\n"
    "  - {at: 2min, action: partition, groups: [0.5, 0.5]}\n"
    "  - {at: 6min, action: heal}\n"
    "  - {at: 8min, action: leave, fraction: 0.2}\n"
    "  - {at: 12min, action: join, fraction: 0.2}\n";

/* Built and run to the end (sim_run checks the invariants itself). */
static sim_ctx *run(const char *yaml, sim_params *p, sim_summary *sum)
{
    sim_diag d;
    sim_diag_clear(&d);
    if (sim_params_init_defaults(p) != PU_OK ||
        sim_scenario_apply_text(p, "inv.yaml", yaml, strlen(yaml), &d) != PU_OK ||
        sim_params_check(p, &d) != PU_OK) {
        fprintf(stderr, "inv.yaml:%u:%u: %s\n", (unsigned)d.line, (unsigned)d.col, d.msg);
        return NULL;
    }
    sim_run_opts o = {NULL, NULL, 0, {NULL, NULL}};
    sim_ctx *ctx = NULL;
    char err[300];
    if (sim_new(p, yaml, &o, &ctx, err, sizeof err) != PU_OK) {
        fprintf(stderr, "sim_new: %s\n", err);
        return NULL;
    }
    if (sim_run(ctx, sum, err, sizeof err) != PU_OK) {
        fprintf(stderr, "sim_run: %s\n", err);
        sim_free(ctx);
        return NULL;
    }
    return ctx;
}

static void test_pow_run_holds(void)
{
    sim_params p;
    sim_summary sum;
    sim_ctx *ctx = run(pow_yaml, &p, &sum);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);
    sim_inv_report r;
    char err[300];
    CU_ASSERT_EQUAL(sim_invariants_check(ctx, &sum, &r, err, sizeof err), PU_OK);
    CU_ASSERT(r.tips >= 1);
    CU_ASSERT(r.blocks_replayed >= sum.main_height);
    CU_ASSERT(r.coins_checked > 40);
    CU_ASSERT_TRUE(r.prefix_checked);
    CU_ASSERT(r.prefix_depth <= r.prefix_limit);
    CU_ASSERT(r.prefix_limit >= 6);

    /* the supply check: with another reward the same chain is wrong */
    ctx->cp.block_reward += 1;
    CU_ASSERT_EQUAL(sim_invariants_check(ctx, &sum, &r, err, sizeof err), PU_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "genesis + rewards"));
    ctx->cp.block_reward -= 1;
    /* valid from genesis: under rules that forbid its blocks, it is not */
    uint32_t mbs = ctx->cp.max_block_size;
    ctx->cp.max_block_size = 200;
    CU_ASSERT_EQUAL(sim_invariants_check(ctx, &sum, &r, err, sizeof err), PU_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "is not valid from genesis"));
    ctx->cp.max_block_size = mbs;
    CU_ASSERT_EQUAL(sim_invariants_check(ctx, &sum, &r, err, sizeof err), PU_OK);
    sim_free(ctx);
    sim_params_release(&p);
}

/* A partition that lasts to the end: the halves may disagree, and the
 * check says nothing; the same nodes seen as one network disagree. */
static void test_common_prefix(void)
{
    static const char yaml[] =
        "seed: 5\nduration: 30min\nnetwork: {nodes: 20, topology: {degree: 4}}\n"
        "chain: {block_interval: 20s}\nmining: {miners: 4, placement: first}\n"
        "transactions: {rate: 0}\n"
        "timeline:\n  - {at: 1min, action: partition, nodes: [0, 1]}\n";
    sim_params p;
    sim_summary sum;
    sim_ctx *ctx = run(yaml, &p, &sum);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);
    sim_inv_report r;
    char err[300];
    CU_ASSERT_EQUAL(sim_invariants_check(ctx, &sum, &r, err, sizeof err), PU_OK);
    CU_ASSERT_FALSE(r.prefix_checked);
    sim_net_set_partition(ctx->net, NULL); /* healed, but no one has synced yet */
    CU_ASSERT_EQUAL(sim_invariants_check(ctx, &sum, &r, err, sizeof err), PU_ERR_INVALID);
    CU_ASSERT_TRUE(r.prefix_checked);
    CU_ASSERT(r.prefix_depth > r.prefix_limit);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "disagree"));
    sim_free(ctx);
    sim_params_release(&p);
}

/* PoUW: escrow, stakes and the settlement move coins into and out of
 * locks; the supply still adds up and every PoUW block replays. */
static void test_pouw_run_holds(void)
{
    FILE *f = fopen("scenarios/pouw-quick.yaml", "r");
    CU_ASSERT_FATAL(f != NULL);
    static char yaml[16384];
    size_t n = fread(yaml, 1, sizeof yaml - 1, f);
    fclose(f);
    yaml[n] = '\0';
    sim_params p;
    sim_summary sum;
    sim_ctx *ctx = run(yaml, &p, &sum);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);
    sim_inv_report r;
    char err[300];
    CU_ASSERT_EQUAL(sim_invariants_check(ctx, &sum, &r, err, sizeof err), PU_OK);
    CU_ASSERT(r.blocks_replayed >= sum.main_height);
    CU_ASSERT(sum.pouw_blocks > 0);
    sim_free(ctx);
    sim_params_release(&p);
}

TSUITE(invariants)
{
    CU_pSuite s = CU_add_suite("invariants", NULL, NULL);
    if (!s)
        return CU_get_error();
    TADD(s, test_pow_run_holds);
    TADD(s, test_common_prefix);
    TADD(s, test_pouw_run_holds);
    return CUE_SUCCESS;
}
