/* tests/sim/test_adversary_pouw.c -- the PoUW attacks end the way the
 * protocol says (PROTOCOL.md s5.6, s5.7, s7.6): each cheating block refused
 * by the honest nodes that judge it, with bad-ml-work and the matching ML
 * verdict, none connected anywhere honest; the attacker's stake taken where
 * the fault is provable; the supply conserved; the same seed byte-identical
 * outputs; and nothing changed when the attack is configured but never
 * starts.  The runs are scenarios/attacks/<type>.yaml (about a second each). */
#include <stdlib.h>
#include <string.h>

#include "sim/adversary/adversary.h"
#include "sim/invariants.h"
#include "tests/harness.h"
#include "tests/simutil.h"

#define COIN INT64_C(100000000)

/* The text of scenarios/attacks/<type>.yaml with `extra` (NULL: nothing)
 * added to its adversary's flow mapping (free() it). */
static char *scenario(const char *type, const char *extra)
{
    char path[128];
    snprintf(path, sizeof path, "scenarios/attacks/%s.yaml", type);
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *text = calloc(1, 16384);
    size_t n = text ? fread(text, 1, 16384 - 256, f) : 0;
    fclose(f);
    if (!text)
        return NULL;
    text[n] = '\0';
    char *entry = strstr(text, "{type: ");
    char *close = entry ? strchr(entry, '}') : NULL;
    if (!close) {
        free(text);
        return NULL;
    }
    if (extra) {
        size_t el = strlen(extra);
        memmove(close + el, close, strlen(close) + 1);
        memcpy(close, extra, el);
    }
    return text;
}

/* One PoUW attack and what the protocol says of it. */
typedef struct pouw_case {
    const char *type, *extra;  /* scenario, and what is added to its adversary */
    const char *verdict;       /* pu_pouw_reason_str of its blocks' ML work */
    bool slashable;            /* the fault is provable: its stake is taken */
} pouw_case;

static const pouw_case cases[] = {
    {"forged_work", NULL, "metrics-mismatch", true},
    {"forged_work", ", mode: update", "reexec-mismatch", true},
    {"nonce_range", NULL, "nonce-range", true},
    {"wrong_template", NULL, "bad-commitment", true},
    {"wrong_batch", NULL, "bad-batch", true},
    {"replay", NULL, "bad-signature", false},
};
#define N_CASES (sizeof cases / sizeof cases[0])

/* The refusals of attack 0 by object: *blocks with bad-ml-work, *work with
 * `verdict`; *other counts every other row. */
static void refusals(const char *h5, const char *verdict, uint64_t *blocks, uint64_t *work, uint64_t *other)
{
    *blocks = *work = *other = 0;
    sim_h5read_tab *t = su_table(h5, "/attack_refusals");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    for (uint64_t r = 0; r < sim_h5read_tab_rows(t); r++) {
        char obj[8], why[32];
        su_col_str(t, r, "object", obj, sizeof obj);
        su_col_str(t, r, "reason", why, sizeof why);
        uint64_t n = su_col_u64(t, r, "count");
        if (!strcmp(obj, "block") && !strcmp(why, "bad-ml-work"))
            *blocks += n;
        else if (!strcmp(obj, "work") && !strcmp(why, verdict))
            *work += n;
        else
            *other += n;
    }
    sim_h5read_tab_free(t);
}

/* No node connected a block that some node refused with `code`: the
 * attacker's blocks are refused wherever they are judged (the attacker's
 * own node never judges its cheating blocks: it does not keep them). */
static uint64_t accepted_cheats(const char *h5, uint64_t code)
{
    sim_h5read_tab *t = su_table(h5, "/ml/verifications");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    uint64_t rows = sim_h5read_tab_rows(t), accepted = 0;
    for (uint64_t r = 0; r < rows; r++) {
        if (su_col_u64(t, r, "outcome") != code)
            continue;
        uint64_t b = su_col_u64(t, r, "block");
        for (uint64_t q = 0; q < rows; q++)
            accepted += su_col_u64(t, q, "block") == b && su_col_u64(t, q, "outcome") == 0;
    }
    sim_h5read_tab_free(t);
    return accepted;
}

static int verdict_code(const char *name)
{
    for (int r = 0; r < PU_POUW_REASON_COUNT; r++)
        if (!strcmp(pu_pouw_reason_str((pu_pouw_reason)r), name))
            return r;
    return -1;
}

/* Every case: refused with the right reason by (nearly) every honest node,
 * by none accepted, stake slashed where provable, supply conserved, and the
 * same file from a second run. */
static void test_refused_and_slashed(void)
{
    for (size_t c = 0; c < N_CASES; c++) {
        const pouw_case *k = &cases[c];
        char *yaml = scenario(k->type, k->extra);
        CU_ASSERT_PTR_NOT_NULL_FATAL(yaml);
        char h5[64], h5b[64], pa[512], pb[512];
        snprintf(h5, sizeof h5, "pouwatk_%zu_1.h5", c);
        snprintf(h5b, sizeof h5b, "pouwatk_%zu_2.h5", c);
        sim_params p;
        sim_summary s;
        sim_ctx *ctx = su_run(yaml, h5, &p, &s);
        CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);
        uint64_t honest = ctx->n - 1;
        /* supply and the ledgers, on every tip (sim_run checked them too) */
        sim_inv_report inv;
        char err[300];
        CU_ASSERT_EQUAL(sim_invariants_check(ctx, &s, &inv, err, sizeof err), PU_OK);
        sim_free(ctx);
        sim_params_release(&p);

        sim_h5read_tab *t = su_table(h5, "/attacks");
        CU_ASSERT_PTR_NOT_NULL_FATAL(t);
        uint64_t attempts = su_col_u64(t, 0, "attempts");
        uint64_t successes = su_col_u64(t, 0, "successes");
        int64_t slashed = (int64_t)su_col_u64(t, 0, "stake_slashed");
        uint64_t refused_blocks = su_col_u64(t, 0, "refused_blocks");
        uint64_t refused_work = su_col_u64(t, 0, "refused_work");
        sim_h5read_tab_free(t);
        uint64_t blocks, work, other;
        refusals(h5, k->verdict, &blocks, &work, &other);
        if (attempts == 0 || other || blocks != work || slashed != (k->slashable ? COIN : 0)
            || blocks * 10 < attempts * honest * 9 || blocks > attempts * honest)
            fprintf(stderr, "%s%s: attempts %llu refused %llu/%llu other %llu slashed %lld\n", k->type,
                    k->extra ? k->extra : "", (unsigned long long)attempts, (unsigned long long)blocks,
                    (unsigned long long)work, (unsigned long long)other, (long long)slashed);
        CU_ASSERT(attempts >= 1);
        CU_ASSERT_EQUAL(successes, 0);             /* none in the reference chain */
        CU_ASSERT_EQUAL(other, 0);                 /* no refusal for another reason */
        CU_ASSERT_EQUAL(blocks, work);             /* every bad-ml-work is this verdict */
        CU_ASSERT_EQUAL(refused_blocks, blocks);
        CU_ASSERT_EQUAL(refused_work, work);
        /* every honest node judges nearly every block (a node whose tip is
         * a sibling stores it unjudged), and none more than once */
        CU_ASSERT(blocks * 10 >= attempts * honest * 9);
        CU_ASSERT(blocks <= attempts * honest);
        CU_ASSERT_EQUAL(accepted_cheats(h5, (uint64_t)verdict_code(k->verdict)), 0);
        CU_ASSERT_EQUAL(slashed, k->slashable ? COIN : 0);

        sim_ctx *again = su_run(yaml, h5b, &p, &s);
        CU_ASSERT_PTR_NOT_NULL_FATAL(again);
        sim_free(again);
        sim_params_release(&p);
        CU_ASSERT_TRUE(su_files_equal(th_path(pa, sizeof pa, h5), th_path(pb, sizeof pb, h5b)));
        free(yaml);
    }
}

/* Configured and never started (start = the end of the run): every honest
 * table of the run, the PoUW ones included, as without the adversary. */
static void test_inert_when_never_started(void)
{
    static const char *const pouw_tables[] = {"/tasks", "/economics", "/ml/iterations", "/ml/verifications",
                                              NULL};
    char *honest = scenario("forged_work", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(honest);
    *strstr(honest, "\nadversaries:") = '\0'; /* the same run, no adversary */
    sim_params p;
    sim_summary s1, s2;
    sim_ctx *ctx = su_run(honest, "pouwatk_honest.h5", &p, &s1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);
    sim_free(ctx);
    sim_params_release(&p);
    static const char *const types[] = {"forged_work", "nonce_range", "wrong_template", "wrong_batch", "replay"};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        char *yaml = scenario(types[i], ", start: 20min");
        CU_ASSERT_PTR_NOT_NULL_FATAL(yaml);
        char h5[64];
        snprintf(h5, sizeof h5, "pouwatk_never_%zu.h5", i);
        ctx = su_run(yaml, h5, &p, &s2);
        CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);
        sim_free(ctx);
        sim_params_release(&p);
        for (int k = 0; su_honest_tables[k]; k++) {
            bool eq = su_tables_equal("pouwatk_honest.h5", h5, su_honest_tables[k]);
            if (!eq)
                fprintf(stderr, "%s never started: %s differs\n", types[i], su_honest_tables[k]);
            CU_ASSERT_TRUE(eq);
        }
        for (int k = 0; pouw_tables[k]; k++) {
            bool eq = su_tables_equal("pouwatk_honest.h5", h5, pouw_tables[k]);
            if (!eq)
                fprintf(stderr, "%s never started: %s differs\n", types[i], pouw_tables[k]);
            CU_ASSERT_TRUE(eq);
        }
        CU_ASSERT_EQUAL(s1.blocks_mined, s2.blocks_mined);
        CU_ASSERT_EQUAL(s1.messages, s2.messages);
        sim_h5read_tab *t = su_table(h5, "/attacks");
        CU_ASSERT_PTR_NOT_NULL_FATAL(t);
        CU_ASSERT_EQUAL(su_col_u64(t, 0, "started_ns"), UINT64_MAX);
        CU_ASSERT_EQUAL(su_col_u64(t, 0, "attempts"), 0);
        CU_ASSERT_EQUAL(su_col_u64(t, 0, "stake_slashed"), 0);
        sim_h5read_tab_free(t);
        free(yaml);
    }
    free(honest);
}

/* A seated-miner attack on a node that runs no PoUW miner says which nodes
 * do; a PoUW attack on a proof-of-work chain is a scenario error. */
static void test_wrong_node_and_consensus(void)
{
    char *yaml = scenario("nonce_range", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(yaml);
    char *node = strstr(yaml, "node: 22");
    CU_ASSERT_PTR_NOT_NULL_FATAL(node);
    memcpy(node, "node: 21", 8);
    sim_params p;
    CU_ASSERT_FATAL(su_load(&p, yaml) == 0);
    sim_run_opts o = {"", "", 0, {NULL, NULL}};
    sim_ctx *ctx = NULL;
    char err[300] = "";
    CU_ASSERT_NOT_EQUAL(sim_new(&p, yaml, &o, &ctx, err, sizeof err), PU_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "adversaries[0].node: node 21 runs no PoUW miner with this seed; "
                                       "the miner nodes are: 22, 26"));
    sim_free(ctx);
    sim_params_release(&p);
    free(yaml);

    CU_ASSERT_FATAL(sim_params_init_defaults(&p) == PU_OK);
    sim_diag d;
    sim_diag_clear(&d);
    static const char y[] = "adversaries:\n  - {type: wrong_batch, node: 2}\n";
    CU_ASSERT_EQUAL(sim_scenario_apply_text(&p, "f.yaml", y, strlen(y), &d), PU_OK);
    CU_ASSERT_EQUAL(sim_params_check(&p, &d), PU_ERR_RANGE);
    char buf[300];
    sim_diag_format(&d, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "f.yaml:2:12: error: adversaries[0].type: 'wrong_batch' attacks proof of "
                                "useful work: it needs consensus: pouw");
    sim_params_release(&p);
}

TSUITE(adversary_pouw)
{
    CU_pSuite s = CU_add_suite("adversary_pouw", NULL, NULL);
    if (!s)
        return CU_get_error();
    TADD(s, test_refused_and_slashed);
    TADD(s, test_inert_when_never_started);
    TADD(s, test_wrong_node_and_consensus);
    return CUE_SUCCESS;
}
