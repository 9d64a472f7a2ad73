/* tests/sim/test_pouwsim.c -- a whole PoUW task life cycle over the
 * simulated network (scenarios/pouw-quick.yaml): blocks from useful work,
 * verification at every node, settlement, supply conservation, and
 * byte-identical outputs for one seed. */
#include <stdlib.h>
#include <string.h>

#include "core/chain.h"
#include "core/econ.h"
#include "core/opret.h"
#include "sim/scenario.h"
#include "sim/sim.h"
#include "tests/harness.h"

static sim_ctx *run_quick(const char *h5name, const char *const *sets, size_t n_sets, sim_params *p,
                          sim_summary *s)
{
    char *text = NULL;
    sim_diag d;
    sim_diag_clear(&d);
    if (sim_scenario_load_with("scenarios/pouw-quick.yaml", sets, n_sets, p, &text, &d) != PU_OK) {
        char buf[600];
        sim_diag_format(&d, buf, sizeof buf);
        fprintf(stderr, "%s\n", buf);
        return NULL;
    }
    char path[512] = "";
    if (h5name)
        th_path(path, sizeof path, h5name);
    sim_run_opts o = {path, NULL, 0, {NULL, NULL}};
    sim_ctx *ctx = NULL;
    char err[300];
    pu_err rc = sim_new(p, text, &o, &ctx, err, sizeof err);
    if (rc == PU_OK)
        rc = sim_run(ctx, s, err, sizeof err);
    free(text);
    if (rc != PU_OK) {
        fprintf(stderr, "pouw-quick: %s\n", err);
        sim_free(ctx);
        sim_params_release(p);
        return NULL;
    }
    return ctx;
}

static bool same_file(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    bool eq = fa && fb;
    for (int ca = 0, cb = 0; eq && ca != EOF;) {
        ca = fgetc(fa);
        cb = fgetc(fb);
        eq = ca == cb;
    }
    if (fa) fclose(fa);
    if (fb) fclose(fb);
    return eq;
}

static const pu_chain *best_chain(const sim_ctx *ctx)
{
    const pu_chain *best = sim_node_chain(ctx, 0);
    for (uint32_t i = 1; i < sim_n_nodes(ctx); i++)
        if (pu_u256_cmp(pu_chain_work(sim_node_chain(ctx, i)), pu_chain_work(best)) > 0)
            best = sim_node_chain(ctx, i);
    return best;
}

/* Supply: balances + locks == genesis + block rewards. */
static void check_supply(const pu_chain *best, pu_amount reward)
{
    pu_amount genesis = 0;
    const pu_block *g = pu_chain_block_at(best, 0);
    for (uint32_t t = 0; t < pu_block_n_tx(g); t++) {
        pu_amount v;
        CU_ASSERT_FATAL(pu_tx_output_sum(pu_block_tx(g, t), &v) == PU_OK);
        genesis += v;
    }
    CU_ASSERT_EQUAL(pu_chain_supply(best), genesis + (pu_amount)pu_chain_height(best) * reward);
}

static bool share_a_key(const pu_task_state *a, const pu_task_state *b)
{
    for (uint32_t r = 0; r < PU_TASK_N_ROLES; r++)
        for (uint32_t i = 0; i < a->n_seats[r]; i++)
            for (uint32_t q = 0; q < PU_TASK_N_ROLES; q++)
                for (uint32_t j = 0; j < b->n_seats[q]; j++)
                    if (!memcmp(a->seat[r][i].pub, b->seat[q][j].pub, 33))
                        return true;
    return false;
}

static void test_life_cycle(void)
{
    sim_params p;
    sim_summary s;
    sim_ctx *ctx = run_quick("pq1.h5", NULL, 0, &p, &s);
    CU_ASSERT_FATAL(ctx != NULL);
    CU_ASSERT_TRUE(s.pouw);
    CU_ASSERT(s.pouw_iterations > 0);
    CU_ASSERT(s.pouw_blocks > 0);                 /* blocks came from useful work */
    CU_ASSERT(s.pouw_verifications >= s.pouw_blocks);
    CU_ASSERT_EQUAL(s.pouw_verify_failures, 0);   /* honest miners: every block verifies */
    CU_ASSERT_EQUAL(s.blocks_refused, 0);
    CU_ASSERT(s.pouw_best_accuracy >= 0.8);       /* the task's min accuracy */
    CU_ASSERT_EQUAL(s.pouw_phase_at_end, PU_PHASE_SETTLED);
    check_supply(best_chain(ctx), p.chain.block_reward);
    sim_free(ctx);
    sim_params_release(&p);
}

/* A stream of tasks: several are in training at once, on disjoint seats,
 * and each settles on its own; not a coin is created or lost. */
static void test_concurrent_tasks(void)
{
    sim_params p;
    sim_summary s;
    const char *sets[] = {"duration=1h", "pouw.workload.rate=30", "pouw.miners=8", "pouw.supervisors=3",
                          "pouw.evaluators=3", "pouw.workload.max_concurrent=3"};
    sim_ctx *ctx = run_quick(NULL, sets, sizeof sets / sizeof sets[0], &p, &s);
    CU_ASSERT_FATAL(ctx != NULL);
    const pu_chain *best = best_chain(ctx);
    pu_econ *e = sim_econ(ctx);
    CU_ASSERT_FATAL(e != NULL);
    pu_hash32 ids[64];
    size_t n = pu_econ_tasks(e, best, PU_PHASE_SETTLED, ids, 64);
    CU_ASSERT(n >= 4);
    pu_task_state st[64];
    for (size_t i = 0; i < n; i++)
        CU_ASSERT_FATAL(pu_econ_task_state(e, best, &ids[i], &st[i]) == PU_OK);
    /* Tasks whose registration closed before the other's settlement were in
     * flight together; their seats are disjoint. */
    int overlapping = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            uint32_t s_i = 0, s_j = 0; /* heights of their settlements */
            for (uint32_t h = st[i].close_height; h <= pu_chain_height(best) && (!s_i || !s_j); h++) {
                const pu_block *b = pu_chain_block_at(best, h);
                for (uint32_t k = 1; k < pu_block_n_tx(b); k++) {
                    const pu_tx *tx = pu_block_tx(b, k);
                    uint32_t len;
                    const uint8_t *body = pu_tx_body(tx, &len);
                    if (pu_tx_kind_of(tx) != PU_TX_SETTLEMENT)
                        continue;
                    if (!memcmp(body, ids[i].b, 32)) s_i = h;
                    if (!memcmp(body, ids[j].b, 32)) s_j = h;
                }
            }
            CU_ASSERT(s_i > st[i].close_height && s_j > st[j].close_height);
            if (st[j].close_height < s_i && st[i].close_height < s_j) {
                overlapping++;
                CU_ASSERT_FALSE(share_a_key(&st[i], &st[j]));
            }
        }
    CU_ASSERT(overlapping >= 2);
    check_supply(best, p.chain.block_reward);
    sim_free(ctx);
    sim_params_release(&p);
}

/* The settlement of the reference chain's first task: its body's outcome
 * byte (1 evaluated, 2 void, 3 unevaluated, 4 missed), 0 if none. */
static int settled_outcome(const pu_chain *best)
{
    for (uint32_t h = 1; h <= pu_chain_height(best); h++) {
        const pu_block *b = pu_chain_block_at(best, h);
        for (uint32_t i = 1; i < pu_block_n_tx(b); i++) {
            uint32_t len;
            const uint8_t *body = pu_tx_body(pu_block_tx(b, i), &len);
            if (pu_tx_kind_of(pu_block_tx(b, i)) == PU_TX_SETTLEMENT && len > 33)
                return body[33];
        }
    }
    return 0;
}

/* A client asking more than the miners deliver: settled as missed (no miner
 * paid, the miners' part back to the client), every coin accounted for. */
static void test_min_accuracy_missed(void)
{
    sim_params p;
    sim_summary s;
    const char *sets[] = {"pouw.task.min_accuracy=0.99"};
    sim_ctx *ctx = run_quick(NULL, sets, 1, &p, &s);
    CU_ASSERT_FATAL(ctx != NULL);
    CU_ASSERT_EQUAL(s.pouw_phase_at_end, PU_PHASE_SETTLED);
    CU_ASSERT(s.pouw_best_accuracy > 0.5 && s.pouw_best_accuracy < 0.99);
    const pu_chain *best = best_chain(ctx);
    CU_ASSERT_EQUAL(settled_outcome(best), 4);
    check_supply(best, p.chain.block_reward);
    sim_free(ctx);
    sim_params_release(&p);
}

/* Every op code travels: written by the roles, relayed, confirmed, decoded
 * by every node (check_tx) -- counted on the reference chain. */
static void test_op_codes_on_chain(void)
{
    sim_params p;
    sim_summary s;
    const char *sets[] = {"pouw.gradient_share_every=10", "pouw.status_interval=3min"};
    sim_ctx *ctx = run_quick(NULL, sets, 2, &p, &s);
    CU_ASSERT_FATAL(ctx != NULL);
    const pu_chain *best = best_chain(ctx);
    pu_opret_codec *codec = NULL;
    CU_ASSERT_FATAL(pu_opret_codec_new(&codec) == PU_OK);
    uint32_t count[PU_OPRET_OP_COUNT + 1] = {0};
    for (uint32_t h = 1; h <= pu_chain_height(best); h++) {
        const pu_block *b = pu_chain_block_at(best, h);
        for (uint32_t i = 1; i < pu_block_n_tx(b); i++) {
            const uint8_t *op = pu_tx_opret(pu_block_tx(b, i));
            pu_opret_msg m;
            pu_opret_status st;
            if (op && pu_opret_decode(codec, op, PU_OPRET_SIZE, &m, &st) == PU_OK)
                count[m.op]++;
        }
    }
    for (uint8_t op = 1; op <= PU_OPRET_OP_COUNT; op++) {
        if (!count[op])
            fprintf(stderr, "\n  no %s record on chain\n", pu_opret_op_name(op));
        CU_ASSERT(count[op] > 0);
    }
    CU_ASSERT_EQUAL(count[PU_OPRET_TASK_SUBMISSION], 1);
    CU_ASSERT_EQUAL(count[PU_OPRET_ECONOMIC_EVENT], 1);
    CU_ASSERT_EQUAL(count[PU_OPRET_TASK_RESULT], 1);
    CU_ASSERT(count[PU_OPRET_CONSENSUS_VOTE] >= 3); /* two final models, one audit vote */
    CU_ASSERT_EQUAL(s.blocks_refused, 0);
    pu_opret_codec_free(codec);
    sim_free(ctx);
    sim_params_release(&p);
}

static void test_deterministic(void)
{
    const char *names[2] = {"pq2.h5", "pq3.h5"};
    for (int i = 0; i < 2; i++) {
        sim_params p;
        sim_summary s;
        const char *sets[] = {"duration=12min"};
        sim_ctx *ctx = run_quick(names[i], sets, 1, &p, &s);
        CU_ASSERT_FATAL(ctx != NULL);
        sim_free(ctx);
        sim_params_release(&p);
    }
    char a[512], b[512];
    CU_ASSERT_TRUE(same_file(th_path(a, sizeof a, names[0]), th_path(b, sizeof b, names[1])));
}

/* The same life cycle on the real MNIST digits (build/mnist, from `make
 * deps`): the simulator and every node's economics load the pinned data,
 * and every PoUW block re-executes at every node. */
static void test_mnist_life_cycle(void)
{
    sim_params p;
    sim_summary s;
    const char *sets[] = {"pouw.task.dataset=mnist", "pouw.task.max_iterations=40",
                          "pouw.task.min_accuracy=0.7", "pouw.task.lr=0.3",
                          "pouw.nonces_per_param=0.02"};
    sim_ctx *ctx = run_quick(NULL, sets, sizeof sets / sizeof sets[0], &p, &s);
    CU_ASSERT_FATAL(ctx != NULL);
    CU_ASSERT_EQUAL(s.pouw_iterations, 80u); /* two miners (the score of a 784-16-8-10 net) */
    CU_ASSERT(s.pouw_blocks > 0);
    CU_ASSERT(s.pouw_verifications >= s.pouw_blocks);
    CU_ASSERT_EQUAL(s.pouw_verify_failures, 0);
    CU_ASSERT_EQUAL(s.blocks_refused, 0);
    CU_ASSERT(s.pouw_best_accuracy >= 0.7);
    CU_ASSERT_EQUAL(s.pouw_phase_at_end, PU_PHASE_SETTLED);
    sim_free(ctx);
    sim_params_release(&p);
}

TSUITE(pouwsim)
{
    CU_pSuite s = CU_add_suite("pouwsim", NULL, NULL);
    if (!s)
        return CU_get_error();
    TADD(s, test_life_cycle);
    TADD(s, test_concurrent_tasks);
    TADD(s, test_min_accuracy_missed);
    TADD(s, test_op_codes_on_chain);
    TADD(s, test_deterministic);
    TADD(s, test_mnist_life_cycle);
    return CUE_SUCCESS;
}
