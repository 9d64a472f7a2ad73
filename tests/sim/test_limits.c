/* tests/sim/test_limits.c -- scenarios that would stall, exhaust memory or
 * overflow the money supply are refused before they run, naming the key at
 * the position it was given; a value that fails during the run names it
 * too; YAML aliases cannot blow a small file up. */
#include <stdlib.h>
#include <string.h>

#include "sim/limits.h"
#include "sim/scenario.h"
#include "sim/sim.h"
#include "tests/harness.h"

/* Defaults + text, then the usual checks (as the CLI loads a file). */
static pu_err load(sim_params *p, const char *yaml, sim_diag *d)
{
    sim_diag_clear(d);
    if (sim_params_init_defaults(p) != PU_OK)
        return PU_ERR_NOMEM;
    pu_err rc = sim_scenario_apply_text(p, "t.yaml", yaml, strlen(yaml), d);
    if (rc == PU_OK) {
        sim_diag_at(d, "t.yaml", 0, 0);
        rc = sim_params_check(p, d);
    }
    return rc;
}

static pu_err limits(const char *yaml, uint64_t mem, unsigned flags, char *warn, sim_diag *d)
{
    sim_params p;
    pu_err rc = load(&p, yaml, d);
    CU_ASSERT_EQUAL_FATAL(rc, PU_OK);
    sim_diag_at(d, "t.yaml", 0, 0);
    rc = sim_limits_check(&p, mem, flags, warn, 400, d);
    sim_params_release(&p);
    return rc;
}

#define GIB (UINT64_C(1) << 30)

static void test_event_rate(void)
{
    char warn[400];
    sim_diag d;
    /* every value in range, together a stall: 100,000 tx/s over 2,000 nodes */
    CU_ASSERT_EQUAL(limits("network:\n  nodes: 2000\ntransactions:\n  rate: 100000\n", 24 * GIB,
                           0, warn, &d), PU_ERR_RANGE);
    CU_ASSERT_STRING_EQUAL(d.path, "t.yaml");
    CU_ASSERT_EQUAL(d.line, 4);
    CU_ASSERT_EQUAL(d.col, 9);
    CU_ASSERT_PTR_NOT_NULL(strstr(d.msg, "transactions.rate: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(d.msg, "simulated time would all but stop"));
    /* a sample of every node each millisecond at 100,000 nodes */
    CU_ASSERT_EQUAL(limits("network: {nodes: 200000}\ntransactions: {rate: 0}\n"
                           "output: {sample_interval: 1ms}\n", 0, 0, warn, &d), PU_ERR_RANGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(d.msg, "output.sample_interval"));
    CU_ASSERT_EQUAL(d.line, 3);
    /* the shipped scenarios pass */
    CU_ASSERT_EQUAL(limits("duration: 30min\n", 24 * GIB, 0, warn, &d), PU_OK);
    CU_ASSERT_STRING_EQUAL(warn, "");
}

static void test_memory(void)
{
    char warn[400];
    sim_diag d;
    CU_ASSERT_EQUAL(limits("network:\n  nodes: 1000000\n", 24 * GIB, 0, warn, &d), PU_ERR_RANGE);
    CU_ASSERT_EQUAL(d.line, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(d.msg, "network.nodes: needs ~"));
    CU_ASSERT_PTR_NOT_NULL(strstr(d.msg, "GB of memory"));
    /* --force: a warning, and the run may go on */
    CU_ASSERT_EQUAL(limits("network:\n  nodes: 1000000\n", 24 * GIB, SIM_LIMITS_MEM_WARN, warn, &d),
                    PU_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(warn, "network.nodes: needs ~"));
    /* unknown memory: not judged */
    CU_ASSERT_EQUAL(limits("network:\n  nodes: 1000000\n", 0, 0, warn, &d), PU_OK);
}

/* The model stays on the high side of measured peaks (limits.c lists them). */
static void test_estimates_bracket_measurements(void)
{
    static const struct {
        const char *yaml;
        double measured_mb;
    } runs[] = { /* measured after blocks and mempools became shared (issue 11) */
        {"duration: 10s\nnetwork: {nodes: 6400}\nchain: {block_interval: 600s}\n"
         "transactions: {rate: 0, wallets: 1, outputs: 1}\n", 48},
        {"duration: 10s\nnetwork: {nodes: 400}\nchain: {block_interval: 600s}\n"
         "transactions: {rate: 0, wallets: 80000, outputs: 1}\n", 97},
        {"duration: 800s\nnetwork: {nodes: 400}\n"
         "chain: {block_interval: 10s, retarget_interval: 1000, coinbase_maturity: 10}\n"
         "transactions: {rate: 10, wallets: 400}\n", 145},
        {"duration: 800s\nnetwork: {nodes: 400, tx_model: flood}\n"
         "chain: {block_interval: 10s, retarget_interval: 1000, coinbase_maturity: 10}\n"
         "transactions: {rate: 10, wallets: 400}\n", 65},
        {"duration: 30d\nstop_after_blocks: 100\n"
         "network: {nodes: 6000, topology: {model: bitcoin}, relay: compact, tx_model: flood}\n"
         "chain: {block_interval: 600s, fixed_target: true}\n"
         "transactions: {rate: 1.45, wallets: 1000, outputs: 6, max_inputs: 10, initial_balance: 1000}\n",
         508},
    };
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        sim_params p;
        sim_diag d;
        CU_ASSERT_EQUAL_FATAL(load(&p, runs[i].yaml, &d), PU_OK);
        sim_limits_cost c;
        sim_limits_estimate(&p, &c);
        double mb = c.mem_bytes / 1e6;
        CU_ASSERT(mb >= runs[i].measured_mb);
        CU_ASSERT(mb <= runs[i].measured_mb * 3);
        sim_params_release(&p);
    }
}

static void test_money_supply(void)
{
    char warn[400];
    sim_diag d;
    CU_ASSERT_EQUAL(limits("duration: 1h\nchain:\n  block_interval: 60s\n  block_reward: 21000000\n",
                           0, 0, warn, &d), PU_ERR_RANGE);
    CU_ASSERT_EQUAL(d.line, 4);
    CU_ASSERT_EQUAL(d.col, 17);
    CU_ASSERT_PTR_NOT_NULL(strstr(d.msg, "chain.block_reward"));
    CU_ASSERT_PTR_NOT_NULL(strstr(d.msg, "money supply"));
    CU_ASSERT_EQUAL(limits("duration: 1h\nchain:\n  block_interval: 60s\n  block_reward: 50\n", 0,
                           0, warn, &d), PU_OK);
}

/* A value that passes the checks but fails during the run still names its
 * key and position (the run is driven here without sim_limits_check). */
static void test_runtime_failure_names_key(void)
{
    static const char yaml[] = "seed: 3\nduration: 20min\nnetwork: {nodes: 6, topology: {degree: 2}}\n"
                               "chain:\n  block_interval: 30s\n  block_reward: 10000000\n"
                               "mining: {miners: 2}\ntransactions: {rate: 0, wallets: 2}\n";
    sim_params p;
    sim_diag d;
    CU_ASSERT_EQUAL_FATAL(load(&p, yaml, &d), PU_OK);
    sim_run_opts o = {NULL, NULL, 0, {NULL, NULL}};
    sim_ctx *ctx = NULL;
    char err[300];
    CU_ASSERT_FATAL(sim_new(&p, yaml, &o, &ctx, err, sizeof err) == PU_OK);
    sim_summary sum;
    CU_ASSERT_EQUAL(sim_run(ctx, &sum, err, sizeof err), PU_ERR_RANGE);
    CU_ASSERT_TRUE(sim_failed_on_input(ctx));
    CU_ASSERT_EQUAL(strncmp(err, "t.yaml:6:17: error: chain.block_reward: ", 40), 0);
    sim_free(ctx);
    sim_params_release(&p);
}

/* A 20,000-item row reused 20,000 times (400 million values from 280 kB)
 * and a timeline of aliased entries with long node lists: refused at once. */
static void test_alias_expansion_bounded(void)
{
    size_t n = 20000, cap = n * 40 + 4096, len = 0;
    char *y = malloc(cap);
    CU_ASSERT_FATAL(y != NULL);
    len += (size_t)snprintf(y + len, cap - len, "network:\n  regions:\n    latency_ms:\n      - &r [");
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(y + len, cap - len, i ? ", 1" : "1");
    len += (size_t)snprintf(y + len, cap - len, "]\n");
    for (size_t i = 1; i < n; i++)
        len += (size_t)snprintf(y + len, cap - len, "      - *r\n");
    sim_params p;
    sim_diag d;
    sim_diag_clear(&d);
    CU_ASSERT_FATAL(sim_params_init_defaults(&p) == PU_OK);
    CU_ASSERT_EQUAL(sim_scenario_apply_text(&p, "a.yaml", y, len, &d), PU_ERR_RANGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(d.msg, "YAML aliases expand"));
    CU_ASSERT_EQUAL(d.line, 4);
    sim_params_release(&p);
    /* a modest reuse is fine: one row for six regions */
    static const char ok[] = "network:\n  regions:\n    latency_ms:\n"
                             "      - &r [1, 2, 3, 4, 5, 6]\n      - *r\n      - *r\n      - *r\n"
                             "      - *r\n      - *r\n";
    CU_ASSERT_EQUAL(load(&p, ok, &d), PU_OK);
    sim_params_release(&p);
    free(y);
}

/* Shapes the topology builders refuse, and a loss that never delivers:
 * errors at the key, not "topology: value out of range" at none. */
static void test_topology_and_loss(void)
{
    sim_params p;
    sim_diag d;
    CU_ASSERT_EQUAL(load(&p, "network:\n  topology: {model: small_world, degree: 3}\n", &d),
                    PU_ERR_RANGE);
    CU_ASSERT_EQUAL(d.line, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(d.msg, "even degree"));
    sim_params_release(&p);
    CU_ASSERT_EQUAL(load(&p, "network:\n  nodes: 70000\n  topology: {model: full}\n", &d),
                    PU_ERR_RANGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(d.msg, "full mesh"));
    sim_params_release(&p);
    CU_ASSERT_EQUAL(load(&p, "network:\n  loss: 1\n", &d), PU_ERR_RANGE);
    CU_ASSERT_EQUAL(d.line, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(d.msg, "network.loss"));
    sim_params_release(&p);
    CU_ASSERT_EQUAL(load(&p, "chain:\n  pow_hashes_per_block: 4294967296\n", &d), PU_ERR_RANGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(d.msg, "chain.pow_hashes_per_block"));
    sim_params_release(&p);
    CU_ASSERT_EQUAL(load(&p, "transactions:\n  rate: 1e12\n", &d), PU_ERR_RANGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(d.msg, "transactions.rate"));
    sim_params_release(&p);
}

TSUITE(limits)
{
    CU_pSuite s = CU_add_suite("limits", NULL, NULL);
    if (!s)
        return CU_get_error();
    TADD(s, test_event_rate);
    TADD(s, test_memory);
    TADD(s, test_estimates_bracket_measurements);
    TADD(s, test_money_supply);
    TADD(s, test_runtime_failure_names_key);
    TADD(s, test_alias_expansion_bounded);
    TADD(s, test_topology_and_loss);
    return CUE_SUCCESS;
}
