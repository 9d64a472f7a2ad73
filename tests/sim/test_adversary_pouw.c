/* tests/sim/test_adversary_pouw.c -- the PoUW attacks end the way the
 * protocol says (PROTOCOL.md s5.6, s5.7, s7.6): each cheating block refused
 * by the honest nodes that judge it, with bad-ml-work and the matching ML
 * verdict, none connected anywhere honest; the attacker's stake taken where
 * the fault is provable (for forged work, on the supervisor's evidence and
 * no vote); the supply conserved; the same seed byte-identical
 * outputs; and nothing changed when the attack is configured but never
 * starts.  The runs are scenarios/attacks/<type>.yaml (about a second each). */
#include <stdlib.h>
#include <string.h>

#include "core/econ.h"
#include "core/opret.h"
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
    {"poisoning", NULL, "reexec-mismatch", true},
};
#define N_CASES (sizeof cases / sizeof cases[0])

/* The refusals of attack 0 by object: *blocks with bad-ml-work, *work with
 * `verdict`; *other counts every other row of attack 0. */
static void refusals(const char *h5, const char *verdict, uint64_t *blocks, uint64_t *work, uint64_t *other)
{
    *blocks = *work = *other = 0;
    sim_h5read_tab *t = su_table(h5, "/attack_refusals");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    for (uint64_t r = 0; r < sim_h5read_tab_rows(t); r++) {
        char obj[8], why[32];
        if (su_col_u64(t, r, "attack") != 0)
            continue;
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

/* Run yaml twice into <stem>.h5 and <stem>_2.h5: the ledgers hold (supply
 * conserved, every tip valid from genesis: sim/invariants.h) and the files
 * are byte-identical.  Returns the run's node count (0 on failure). */
static uint32_t run_twice(const char *yaml, const char *stem)
{
    char a[64], b[64], pa[512], pb[512], err[300];
    snprintf(a, sizeof a, "%s.h5", stem);
    snprintf(b, sizeof b, "%s_2.h5", stem);
    sim_params p;
    sim_summary s;
    sim_ctx *ctx = su_run(yaml, a, &p, &s);
    CU_ASSERT_PTR_NOT_NULL(ctx);
    if (!ctx)
        return 0;
    uint32_t n = ctx->n;
    sim_inv_report inv;
    CU_ASSERT_EQUAL(sim_invariants_check(ctx, &s, &inv, err, sizeof err), PU_OK);
    sim_free(ctx);
    sim_params_release(&p);
    ctx = su_run(yaml, b, &p, &s);
    CU_ASSERT_PTR_NOT_NULL(ctx);
    if (!ctx)
        return 0;
    sim_free(ctx);
    sim_params_release(&p);
    CU_ASSERT_TRUE(su_files_equal(th_path(pa, sizeof pa, a), th_path(pb, sizeof pb, b)));
    return n;
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
        char stem[32], h5[40];
        snprintf(stem, sizeof stem, "pouwatk_%zu", c);
        snprintf(h5, sizeof h5, "%s.h5", stem);
        uint32_t nodes = run_twice(yaml, stem);
        CU_ASSERT_FATAL(nodes > 0);
        uint64_t honest = nodes - 1;
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
        free(yaml);
    }
}

/* What the reference chain holds of one task's records: the first
 * EVIDENCE transaction (the one that proves: later ones about the same
 * miner are refused, or ignored in the same block), the audit votes. */
typedef struct task_records {
    uint32_t evidence, audit_votes;      /* EVIDENCE transactions; ITERATION votes */
    uint8_t evidence_node[20], audit_node[20];
    uint8_t evidence_reason, audit_vote, audit_reason;
    uint32_t evidence_miner, evidence_seq;
    const pu_tx *settlement;
    pu_opret_msg econ;
} task_records;

static void read_records(const pu_chain *best, pu_opret_codec *codec, task_records *r)
{
    memset(r, 0, sizeof *r);
    for (uint32_t h = 1; h <= pu_chain_height(best); h++) {
        const pu_block *b = pu_chain_block_at(best, h);
        for (uint32_t i = 1; i < pu_block_n_tx(b); i++) {
            const pu_tx *tx = pu_block_tx(b, i);
            const uint8_t *op = pu_tx_opret(tx);
            pu_opret_msg m;
            pu_opret_status st;
            if (!op || pu_opret_decode(codec, op, PU_OPRET_SIZE, &m, &st) != PU_OK)
                continue;
            if (m.op == PU_OPRET_ECONOMIC_EVENT && pu_tx_kind_of(tx) == PU_TX_SETTLEMENT) {
                r->settlement = tx;
                r->econ = m;
            }
            if (m.op != PU_OPRET_CONSENSUS_VOTE)
                continue;
            if (m.vote.subject == PU_OPRET_SUBJ_MISCONDUCT && pu_tx_kind_of(tx) == PU_TX_EVIDENCE) {
                if (!r->evidence++) {
                    memcpy(r->evidence_node, m.node_id_hash, 20);
                    r->evidence_reason = m.vote.reason;
                    r->evidence_miner = m.vote.epoch;
                    r->evidence_seq = m.vote.iteration;
                }
            } else if (m.vote.subject == PU_OPRET_SUBJ_ITERATION) {
                r->audit_votes++;
                memcpy(r->audit_node, m.node_id_hash, 20);
                r->audit_vote = m.vote.vote;
                r->audit_reason = m.vote.reason;
            }
        }
    }
}

/* A supervisor's report of forged work leads to the slashing (SPEC s7):
 * for both forgeries of forged_work, its audit of the forger's messages
 * (node 22's) ends in MESSAGE evidence against the first forged message
 * (seq 0) -- the first EVIDENCE transaction of the reference chain, so the
 * one that proves the misconduct (the verifiers' BLOCK evidence of the
 * forged blocks follows in the same block and counts no more) -- and its
 * audit vote is no with the same reason.  The misconduct is proven against
 * the forger only, and the settlement takes its whole stake (1 coin, the
 * only stake slashed), pays it nothing, and pays the supervisor its stake
 * back and its share of the auditors' quota. */
static void test_supervisor_reports_forgery(void)
{
    pu_opret_codec *codec = NULL;
    pu_crypto *crypto = NULL;
    CU_ASSERT_FATAL(pu_opret_codec_new(&codec) == PU_OK && pu_crypto_new(&crypto) == PU_OK);
    for (size_t c = 0; c < 2; c++) {
        const pouw_case *k = &cases[c];
        CU_ASSERT_FATAL(!strcmp(k->type, "forged_work"));
        char *yaml = scenario(k->type, k->extra);
        CU_ASSERT_PTR_NOT_NULL_FATAL(yaml);
        char h5[40], err[300];
        snprintf(h5, sizeof h5, "pouwatk_sup%zu.h5", c);
        sim_params p;
        sim_summary s;
        sim_ctx *ctx = su_run(yaml, h5, &p, &s);
        CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);
        sim_inv_report inv;
        CU_ASSERT_EQUAL(sim_invariants_check(ctx, &s, &inv, err, sizeof err), PU_OK); /* supply */
        /* the forger's seat: the miner index of node 22's iterations */
        sim_h5read_tab *it = su_table(h5, "/ml/iterations");
        CU_ASSERT_PTR_NOT_NULL_FATAL(it);
        uint32_t forger = UINT32_MAX;
        for (uint64_t r = 0; r < sim_h5read_tab_rows(it); r++)
            if (su_col_u64(it, r, "miner_node") == 22)
                forger = (uint32_t)su_col_u64(it, r, "miner_index");
        sim_h5read_tab_free(it);
        CU_ASSERT_FATAL(forger < 2);
        const pu_chain *best = su_best_chain(ctx);
        pu_econ *e = sim_econ(ctx);
        pu_hash32 id;
        CU_ASSERT_FATAL(pu_econ_tasks(e, best, PU_PHASE_SETTLED, &id, 1) == 1);
        pu_task_state st;
        CU_ASSERT_FATAL(pu_econ_task_state(e, best, &id, &st) == PU_OK);
        CU_ASSERT_EQUAL_FATAL(st.n_seats[PU_ROLE_MINER - 1], 2);
        CU_ASSERT_EQUAL_FATAL(st.n_seats[PU_ROLE_SUPERVISOR - 1], 1);
        int verdict = verdict_code(k->verdict);
        CU_ASSERT_EQUAL(st.proven[forger], verdict);
        CU_ASSERT_EQUAL(st.proven[1 - forger], 0);
        CU_ASSERT_EQUAL(st.n_votes, 1);
        const pu_worker *sup = &st.seat[PU_ROLE_SUPERVISOR - 1][0];
        uint8_t sup_node[20];
        pu_opret_node_id_hash(crypto, sup->pub, sup_node);
        task_records r;
        read_records(best, codec, &r);
        if (r.evidence < 1 || memcmp(r.evidence_node, sup_node, 20) || r.audit_vote != PU_OPRET_VOTE_NO)
            fprintf(stderr, "\n  %s%s: %u evidence (supervisor's: %d), audit vote %u reason %u\n", k->type,
                    k->extra ? k->extra : "", r.evidence, !memcmp(r.evidence_node, sup_node, 20),
                    r.audit_vote, r.audit_reason);
        CU_ASSERT(r.evidence >= 1);
        CU_ASSERT_EQUAL(memcmp(r.evidence_node, sup_node, 20), 0); /* the supervisor's */
        CU_ASSERT_EQUAL(r.evidence_seq, 0);
        CU_ASSERT_EQUAL(r.evidence_reason, verdict);
        CU_ASSERT_EQUAL(r.evidence_miner, forger);
        CU_ASSERT_EQUAL(r.audit_votes, 1);
        CU_ASSERT_EQUAL(memcmp(r.audit_node, sup_node, 20), 0);
        CU_ASSERT_EQUAL(r.audit_vote, PU_OPRET_VOTE_NO);
        CU_ASSERT_EQUAL(r.audit_reason, verdict);
        /* the settlement: the forger's stake, and only it, slashed; the
         * supervisor paid its stake back and its share of the quota */
        CU_ASSERT_PTR_NOT_NULL_FATAL(r.settlement);
        CU_ASSERT_EQUAL(r.econ.econ.slashed, st.seat[PU_ROLE_MINER - 1][forger].stake);
        CU_ASSERT_EQUAL(r.econ.econ.slashed, COIN);
        CU_ASSERT_EQUAL(r.econ.econ.n_slashed, 1);
        CU_ASSERT_EQUAL(r.econ.econ.n_miners, 1);
        CU_ASSERT_FATAL(r.econ.econ.n_supervisors >= 1);
        pu_amount to_sup = 0, to_forger = 0;
        for (uint32_t o = 0; o < pu_tx_n_out(r.settlement); o++) {
            const pu_txout *out = pu_tx_out(r.settlement, o);
            if (!memcmp(out->addr.b, sup->addr.b, 20))
                to_sup += out->amount;
            if (!memcmp(out->addr.b, st.seat[PU_ROLE_MINER - 1][forger].addr.b, 20))
                to_forger += out->amount;
        }
        CU_ASSERT_EQUAL(to_sup, sup->stake + r.econ.econ.to_supervisors / r.econ.econ.n_supervisors);
        CU_ASSERT(r.econ.econ.to_supervisors > 0);
        CU_ASSERT_EQUAL(to_forger, 0);
        CU_ASSERT_EQUAL(s.pouw_phase_at_end, PU_PHASE_SETTLED);
        sim_free(ctx);
        sim_params_release(&p);
        free(yaml);
    }
    pu_crypto_free(crypto);
    pu_opret_codec_free(codec);
}

/* A detail figure "key=N" of attack `row`. */
static uint64_t detail_figure(const char *h5, uint64_t row, const char *key)
{
    sim_h5read_tab *t = su_table(h5, "/attacks");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    char d[200], pat[40];
    su_col_str(t, row, "detail", d, sizeof d);
    sim_h5read_tab_free(t);
    snprintf(pat, sizeof pat, "%s=", key);
    const char *at = strstr(d, pat);
    return at ? strtoull(at + strlen(pat), NULL, 10) : UINT64_MAX;
}

/* A lazy verifier beside a forger: it connects the forged blocks the honest
 * nodes refuse, mines on them and loses those blocks; the forger is still
 * refused by every honest node and slashed. */
static void test_lazy_verifier(void)
{
    char *yaml = scenario("lazy_verifier", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(yaml);
    uint32_t nodes = run_twice(yaml, "pouwatk_lazy");
    CU_ASSERT_FATAL(nodes > 0);
    uint64_t honest = nodes - 2;
    uint64_t blocks, work, other;
    refusals("pouwatk_lazy.h5", "metrics-mismatch", &blocks, &work, &other);
    sim_h5read_tab *t = su_table("pouwatk_lazy.h5", "/attacks");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    uint64_t forged = su_col_u64(t, 0, "attempts");
    CU_ASSERT(forged >= 1);
    CU_ASSERT_EQUAL(other, 0);
    CU_ASSERT_EQUAL(blocks, work);
    CU_ASSERT(blocks * 10 >= forged * honest * 9 && blocks <= forged * honest);
    CU_ASSERT_EQUAL((int64_t)su_col_u64(t, 0, "stake_slashed"), COIN);
    /* the lazy verifier: every PoUW block it took on trust is counted once,
     * as accepted by the honest nodes, refused by them (let through) or
     * never judged by them */
    uint64_t trusted = su_col_u64(t, 1, "attempts"), good = su_col_u64(t, 1, "successes");
    uint64_t mined = su_col_u64(t, 1, "blocks_mined"), main = su_col_u64(t, 1, "main_blocks");
    uint64_t refused = su_col_u64(t, 1, "refused_blocks");
    sim_h5read_tab_free(t);
    uint64_t let = detail_figure("pouwatk_lazy.h5", 1, "let_through");
    uint64_t unjudged = detail_figure("pouwatk_lazy.h5", 1, "unjudged");
    uint64_t orphaned = detail_figure("pouwatk_lazy.h5", 1, "orphaned");
    CU_ASSERT_EQUAL(good + let + unjudged, trusted);
    CU_ASSERT(let >= 1);                     /* a forged block got through */
    CU_ASSERT(let <= forged);
    CU_ASSERT_EQUAL(orphaned, mined - main);
    CU_ASSERT(orphaned >= 1);                /* and cost it blocks */
    CU_ASSERT(refused >= 1);
    /* its blocks are refused only as descendants of the forged ones */
    t = su_table("pouwatk_lazy.h5", "/attack_refusals");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    uint64_t ancestor = 0;
    for (uint64_t r = 0; r < sim_h5read_tab_rows(t); r++) {
        char why[32];
        if (su_col_u64(t, r, "attack") == 1 && !strcmp(su_col_str(t, r, "reason", why, sizeof why), "invalid-ancestor"))
            ancestor += su_col_u64(t, r, "count");
    }
    sim_h5read_tab_free(t);
    CU_ASSERT_EQUAL(ancestor, refused);
    free(yaml);
}

/* False reports: the evaluator's inverted results are refused wherever
 * they are checked (its own node first), the task ends unevaluated and its
 * stake is taken; the supervisor's inverted vote goes through, unpunished. */
static void test_false_report(void)
{
    char *yaml = scenario("false_report", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(yaml);
    CU_ASSERT_FATAL(run_twice(yaml, "pouwatk_false") > 0);
    sim_h5read_tab *t = su_table("pouwatk_false.h5", "/attacks");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    uint64_t results = su_col_u64(t, 0, "attempts");
    CU_ASSERT(results >= 1);
    CU_ASSERT_EQUAL(su_col_u64(t, 0, "successes"), 0);
    CU_ASSERT_EQUAL((int64_t)su_col_u64(t, 0, "stake_slashed"), COIN);
    CU_ASSERT_EQUAL(su_col_u64(t, 1, "attempts"), 1);
    CU_ASSERT_EQUAL(su_col_u64(t, 1, "successes"), 1);
    CU_ASSERT_EQUAL(su_col_u64(t, 1, "stake_slashed"), 0);
    sim_h5read_tab_free(t);
    CU_ASSERT_EQUAL(detail_figure("pouwatk_false.h5", 0, "refused"), results);
    char d[200];
    t = su_table("pouwatk_false.h5", "/attacks");
    CU_ASSERT_PTR_NOT_NULL(strstr(su_col_str(t, 0, "detail", d, sizeof d), "first=false-result"));
    sim_h5read_tab_free(t);
    t = su_table("pouwatk_false.h5", "/tasks");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_EQUAL(su_col_u64(t, 0, "outcome"), 3); /* unevaluated */
    sim_h5read_tab_free(t);
    free(yaml);
}

/* Sybil tickets: its identities' tickets are its stake share of the task,
 * and the ledger's lottery seats them in that share when split, less on
 * one key (one seat per key). */
static void test_sybil(void)
{
    char *yaml = scenario("sybil", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(yaml);
    CU_ASSERT_FATAL(run_twice(yaml, "pouwatk_sybil") > 0);
    sim_h5read_tab *t = su_table("pouwatk_sybil.h5", "/attacks");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    uint64_t tickets = su_col_u64(t, 0, "attempts"), won = su_col_u64(t, 0, "successes");
    double share = su_col_f64(t, 0, "expected");
    int64_t slashed = (int64_t)su_col_u64(t, 0, "stake_slashed");
    sim_h5read_tab_free(t);
    uint64_t seats = detail_figure("pouwatk_sybil.h5", 0, "of");
    CU_ASSERT_EQUAL(tickets, 6);                  /* every identity bought */
    CU_ASSERT_DOUBLE_EQUAL(share, 6.0 / 9.0, 1e-12); /* 6 of 9 one-unit miner tickets */
    CU_ASSERT_EQUAL(seats, 2);
    CU_ASSERT(won <= seats);
    CU_ASSERT_EQUAL(slashed, (int64_t)won * COIN); /* a seated identity does no work */
    char d[200];
    t = su_table("pouwatk_sybil.h5", "/attacks");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    su_col_str(t, 0, "detail", d, sizeof d);
    sim_h5read_tab_free(t);
    const char *a = strstr(d, "lottery_split="), *b = strstr(d, "lottery_one_key=");
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    double split = strtod(a + 14, NULL), one = strtod(b + 16, NULL);
    /* 4000 seat draws: sd of the share about 0.0075 */
    CU_ASSERT_DOUBLE_EQUAL(split, share, 0.04);
    CU_ASSERT(one <= 0.5);                        /* one key, one of two seats at most */
    CU_ASSERT(one < split - 0.1);
    free(yaml);
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
    /* each attack alone, starting when the run ends */
    static const char *const entries[] = {
        "{type: forged_work, node: 22, start: 20min}", "{type: nonce_range, node: 22, start: 20min}",
        "{type: wrong_template, node: 22, start: 20min}", "{type: wrong_batch, node: 22, start: 20min}",
        "{type: replay, node: 5, start: 20min}", "{type: lazy_verifier, node: 5, share: 0.2, start: 20min}",
        "{type: poisoning, node: 22, start: 20min}", "{type: false_report, node: 2, start: 20min}",
        "{type: false_report, node: 27, start: 20min}", "{type: sybil, node: 22, count: 6, start: 20min}"};
    for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++) {
        size_t n = strlen(honest) + 200;
        char *yaml = malloc(n);
        CU_ASSERT_PTR_NOT_NULL_FATAL(yaml);
        snprintf(yaml, n, "%s\nadversaries:\n  - %s\n", honest, entries[i]);
        char h5[64];
        snprintf(h5, sizeof h5, "pouwatk_never_%zu.h5", i);
        ctx = su_run(yaml, h5, &p, &s2);
        CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);
        sim_free(ctx);
        sim_params_release(&p);
        for (int k = 0; su_honest_tables[k]; k++) {
            bool eq = su_tables_equal("pouwatk_honest.h5", h5, su_honest_tables[k]);
            if (!eq)
                fprintf(stderr, "%s never started: %s differs\n", entries[i], su_honest_tables[k]);
            CU_ASSERT_TRUE(eq);
        }
        for (int k = 0; pouw_tables[k]; k++) {
            bool eq = su_tables_equal("pouwatk_honest.h5", h5, pouw_tables[k]);
            if (!eq)
                fprintf(stderr, "%s never started: %s differs\n", entries[i], pouw_tables[k]);
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
    TADD(s, test_supervisor_reports_forgery);
    TADD(s, test_lazy_verifier);
    TADD(s, test_false_report);
    TADD(s, test_sybil);
    TADD(s, test_inert_when_never_started);
    TADD(s, test_wrong_node_and_consensus);
    return CUE_SUCCESS;
}
