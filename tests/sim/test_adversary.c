/* tests/sim/test_adversary.c -- attack strategies against what theory says:
 * selfish mining against Eyal and Sirer's closed form, its stubborn
 * variants against a reference race, double spending
 * against Nakamoto's formula, bounded memories under spam; for every
 * strategy byte-identical outputs for one seed, and the honest run unchanged
 * when the adversary is configured but never started. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim/adversary/adversary.h"
#include "tests/harness.h"
#include "tests/simutil.h"

/* ---- shared checks ---------------------------------------------------------- */

/* One row of /attacks as the test reads it. */
typedef struct attack_fig {
    double revenue, gamma, expected, success_rate;
    uint64_t main_blocks, main_total, attempts, successes, ties, started_ns;
    uint64_t blocks_mined, blocks_withheld, blocks_released, msgs_dropped, msgs_delayed;
    uint64_t refused_txs, refused_blocks, loss;
    uint64_t peak_mempool, bound_mempool, peak_orphans, bound_orphans, peak_queue, bound_queue;
} attack_fig;

static bool attack_row(const char *h5, uint64_t row, attack_fig *f)
{
    sim_h5read_tab *t = su_table(h5, "/attacks");
    if (!t || sim_h5read_tab_rows(t) <= row) {
        sim_h5read_tab_free(t);
        return false;
    }
    f->revenue = su_col_f64(t, row, "revenue_share");
    f->gamma = su_col_f64(t, row, "gamma");
    f->expected = su_col_f64(t, row, "expected");
    f->success_rate = su_col_f64(t, row, "success_rate");
    f->main_blocks = su_col_u64(t, row, "main_blocks");
    f->main_total = su_col_u64(t, row, "main_total");
    f->attempts = su_col_u64(t, row, "attempts");
    f->successes = su_col_u64(t, row, "successes");
    f->ties = su_col_u64(t, row, "ties");
    f->started_ns = su_col_u64(t, row, "started_ns");
    static const char *const names[] = {"blocks_mined", "blocks_withheld", "blocks_released",
                                        "msgs_dropped", "msgs_delayed", "refused_txs",
                                        "refused_blocks", "loss", "peak_mempool", "bound_mempool",
                                        "peak_orphans", "bound_orphans", "peak_queue", "bound_queue"};
    uint64_t *dst[] = {&f->blocks_mined, &f->blocks_withheld, &f->blocks_released, &f->msgs_dropped,
                       &f->msgs_delayed, &f->refused_txs, &f->refused_blocks, &f->loss,
                       &f->peak_mempool, &f->bound_mempool, &f->peak_orphans, &f->bound_orphans,
                       &f->peak_queue, &f->bound_queue};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        *dst[i] = su_col_u64(t, row, names[i]);
    sim_h5read_tab_free(t);
    return true;
}

/* Run yaml once; the summary is returned, the file kept under h5. */
static bool run_ok(const char *yaml, const char *h5, sim_summary *s)
{
    sim_params p;
    sim_ctx *ctx = su_run(yaml, h5, &p, s);
    if (!ctx)
        return false;
    sim_free(ctx);
    sim_params_release(&p);
    return true;
}

/* Same scenario and seed, twice: byte-identical files. */
static void check_deterministic(const char *yaml, const char *stem)
{
    char a[64], b[64], pa[512], pb[512];
    snprintf(a, sizeof a, "%s_1.h5", stem);
    snprintf(b, sizeof b, "%s_2.h5", stem);
    sim_summary s;
    CU_ASSERT_FATAL(run_ok(yaml, a, &s));
    CU_ASSERT_FATAL(run_ok(yaml, b, &s));
    CU_ASSERT_TRUE(su_files_equal(th_path(pa, sizeof pa, a), th_path(pb, sizeof pb, b)));
}

/* honest_yaml, and honest_yaml plus `adversary` (an adversaries: block whose
 * start is the end of the run, so it is configured and never starts): every
 * honest dataset identical, and the attack recorded as never started. */
static void check_never_started(const char *honest_yaml, const char *adversary, const char *stem)
{
    char y[4096], a[64], b[64];
    snprintf(y, sizeof y, "%s%s", honest_yaml, adversary);
    snprintf(a, sizeof a, "%s_h.h5", stem);
    snprintf(b, sizeof b, "%s_a.h5", stem);
    sim_summary s1, s2;
    CU_ASSERT_FATAL(run_ok(honest_yaml, a, &s1));
    CU_ASSERT_FATAL(run_ok(y, b, &s2));
    for (int i = 0; su_honest_tables[i]; i++) {
        bool eq = su_tables_equal(a, b, su_honest_tables[i]);
        if (!eq)
            fprintf(stderr, "%s: %s differs\n", stem, su_honest_tables[i]);
        CU_ASSERT_TRUE(eq);
    }
    CU_ASSERT_EQUAL(s1.blocks_mined, s2.blocks_mined);
    CU_ASSERT_EQUAL(s1.messages, s2.messages);
    attack_fig f;
    CU_ASSERT_FATAL(attack_row(b, 0, &f));
    CU_ASSERT_EQUAL(f.started_ns, UINT64_MAX);
    CU_ASSERT_EQUAL(f.main_total, 0);
}

/* ---- the interface -------------------------------------------------------------- */

/* A type is implemented (accepted by the scenario check) exactly when it
 * has a strategy. */
static void test_types_have_strategies(void)
{
    for (int t = 0; t < SIM_PARAMS_ADV_COUNT; t++)
        CU_ASSERT_EQUAL(sim_params_adversary_implemented(t), sim_adversaries_have_strategy(t));
    CU_ASSERT_TRUE(sim_adversaries_have_strategy(SIM_PARAMS_ADV_SELFISH));
}

/* The closed forms against the published tables (Eyal and Sirer 2014,
 * Nakamoto 2008 s11; the published.md files of scenarios/papers). */
static void test_closed_forms(void)
{
    CU_ASSERT_DOUBLE_EQUAL(sim_attack_selfish_revenue(0.25, 0.5), 0.2500, 5e-5);
    CU_ASSERT_DOUBLE_EQUAL(sim_attack_selfish_revenue(0.35, 0.0), 0.3665, 5e-5);
    CU_ASSERT_DOUBLE_EQUAL(sim_attack_selfish_revenue(0.40, 0.5), 0.5256, 5e-5);
    CU_ASSERT_DOUBLE_EQUAL(sim_attack_selfish_revenue(0.45, 1.0), 0.7094, 5e-5);
    CU_ASSERT_DOUBLE_EQUAL(sim_attack_selfish_revenue(0.10, 0.0), 0.0356, 5e-5);
    CU_ASSERT_DOUBLE_EQUAL(sim_attack_nakamoto(0.1, 0), 1.0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(sim_attack_nakamoto(0.1, 1), 0.2045873, 5e-8);
    CU_ASSERT_DOUBLE_EQUAL(sim_attack_nakamoto(0.1, 5), 0.0009137, 5e-8);
    CU_ASSERT_DOUBLE_EQUAL(sim_attack_nakamoto(0.3, 10), 0.0416605, 5e-8);
    CU_ASSERT_DOUBLE_EQUAL(sim_attack_nakamoto(0.3, 50), 0.0000006, 5e-8);
}

/* Every documented type has its strategy now, so the "not implemented yet"
 * error has no type left to show; a type's own field check is a scenario
 * error at the field, as it was. */
static void test_not_implemented(void)
{
    for (int t = 0; t < SIM_PARAMS_ADV_COUNT; t++)
        CU_ASSERT_TRUE(sim_params_adversary_implemented(t));
    sim_params p;
    CU_ASSERT_FATAL(sim_params_init_defaults(&p) == PU_OK);
    sim_diag d;
    sim_diag_clear(&d);
    static const char y[] = "consensus: pouw\nadversaries:\n  - {type: sybil, node: 2, count: 1}\n";
    CU_ASSERT_EQUAL(sim_scenario_apply_text(&p, "f.yaml", y, strlen(y), &d), PU_OK);
    CU_ASSERT_EQUAL(sim_params_check(&p, &d), PU_ERR_RANGE);
    char buf[300];
    sim_diag_format(&d, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "f.yaml:3:35: error: adversaries[0].count: sybil needs 2 .. 64 identities");
    sim_params_release(&p);
}

/* ---- selfish mining ------------------------------------------------------------- */

/* An idealised network: the attacker (node 2) and two honest miners, all
 * linked, no latency, no CPU cost.  The attacker hears an honest block
 * before it can publish its own, so every tie is decided by chain.tie_break
 * alone: first_seen gives gamma = 0 exactly (the honest block is always
 * seen first), random gives each honest node a fair coin (gamma = 1/2 on
 * average, and the revenue is linear in gamma within a tie, so the closed
 * form holds for the mean). */
static const char ideal_yaml[] =
    "network: {nodes: 3, topology: {model: full}, latency: {model: constant, mean: 0s, min: 0s},\n"
    "          bandwidth: {model: uniform, upload: 100Gbit/s, download: 100Gbit/s}, relay: push}\n"
    "chain: {block_interval: 10s, fixed_target: true}\n"
    "mining: {miners: 2, placement: first}\n"
    "transactions: {rate: 0, wallets: 2}\n"
    "cpu: {verify_signature: 0s, verify_tx: 0s, verify_header: 0s, connect_tx: 0s}\n"
    "output: {arrivals: false}\n";

/* Tolerance on a revenue share measured over n main-chain blocks: the
 * binomial standard deviation sqrt(r (1 - r) / n), times 3.5 because a
 * selfish miner's blocks come in correlated runs (over 20 seeds of 7,000
 * blocks each in this network the measured spread was 2.7 times the
 * binomial one at alpha 0.40 and gamma 0, 3.1 at gamma 1/2, 1.6 at alpha
 * 0.25; the means were within one standard error of the closed form),
 * times 4 standard deviations. */
static double revenue_tol(double r, uint64_t n)
{
    return 4 * 3.5 * sqrt(r * (1 - r) / (double)n);
}

static void selfish_point(double alpha, const char *tie, double gamma, const char *h5,
                          attack_fig *f)
{
    char y[2048];
    snprintf(y, sizeof y,
             "seed: 5\nduration: 150000s\n%schain.tie_break: %s\n"
             "adversaries:\n  - {type: selfish, node: 2, share: %g}\n",
             ideal_yaml, tie, alpha);
    sim_summary s;
    CU_ASSERT_FATAL(run_ok(y, h5, &s));
    CU_ASSERT_FATAL(attack_row(h5, 0, f));
    double r = sim_attack_selfish_revenue(alpha, gamma);
    double tol = revenue_tol(r, f->main_total);
    fprintf(stderr, "  selfish alpha %.2f gamma %.2f: revenue %.4f over %llu blocks, closed form %.4f "
            "(tolerance %.4f), gamma measured %.3f over %llu ties\n",
            alpha, gamma, f->revenue, (unsigned long long)f->main_total, r, tol, f->gamma,
            (unsigned long long)f->ties);
    CU_ASSERT(f->main_total > 10000);
    CU_ASSERT(fabs(f->revenue - r) < tol);
    CU_ASSERT_EQUAL(s.n_attacks, 1);
    CU_ASSERT_DOUBLE_EQUAL(s.attacks[0].revenue_share, f->revenue, 0);
}

static void test_selfish_eyal_sirer(void)
{
    attack_fig f;
    /* gamma = 0: the honest block always wins a tie */
    selfish_point(0.40, "first_seen", 0, "es_a.h5", &f);
    CU_ASSERT(f.ties > 500);
    CU_ASSERT_DOUBLE_EQUAL(f.gamma, 0, 0);
    CU_ASSERT(f.revenue > 0.40 + 0.04); /* above its share: selfish mining pays */
    /* gamma = 1/2: random tie-breaking */
    selfish_point(0.40, "random", 0.5, "es_b.h5", &f);
    CU_ASSERT(fabs(f.gamma - 0.5) < 4 * sqrt(0.25 / (double)f.ties) + 0.05);
    CU_ASSERT(f.revenue > 0.40 + 0.08);
}

/* Below the threshold (1/3 at gamma = 0) selfish mining gains nothing: the
 * attacker gets less than its share. */
static void test_selfish_below_threshold(void)
{
    attack_fig f;
    selfish_point(0.25, "first_seen", 0, "es_c.h5", &f);
    CU_ASSERT(f.revenue < 0.25 - 0.02);
}

/* ---- stubborn mining ------------------------------------------------------------ */

/* The stubborn strategies of Nayak, Kumar, Miller and Shi (2016) have no
 * closed form (the paper computes their revenue numerically).  The
 * reference here is the abstract race with gamma = 0 played block by block,
 * without a network: the attacker finds the next block with probability
 * alpha, and an honest miner never mines on the attacker's side of a tie.
 * It follows the rules written at the top of sim/adversary/selfish.c; with
 * no stubborn rule it must give Eyal and Sirer's closed form (checked
 * below), which is what makes it a reference.  a: the attacker's blocks
 * since the fork, k of them published; h: honest blocks since the fork;
 * tie: the height (since the fork) of a tie it made public, 0 for none. */
typedef struct stubborn_rules {
    bool lead, fork, trail;
    uint32_t trail_max;
} stubborn_rules;

static double reference_revenue(double alpha, stubborn_rules r, uint64_t blocks)
{
    uint64_t x = 7, att = 0, hon = 0;
    uint32_t a = 0, k = 0, h = 0, tie = 0;
    bool race = false;
    while (att + hon < blocks) {
        x = x * 6364136223846793005u + 1442695040888963407u;
        bool attacker = (double)(x >> 11) * 0x1p-53 < alpha;
        bool wins = false, loses = false;
        if (attacker) {
            bool was_race = race && k == a;
            a++;
            if (was_race && !r.fork) {
                wins = true;               /* 0': its next block wins the tie */
            } else if (a == h && a > tie) { /* caught up from behind: a tie */
                k = a;
                tie = h;
                race = true;
            }
        } else {
            h++;
            if (tie && h > tie) {          /* the tie is resolved */
                tie = 0;
                race = false;
            }
            int64_t lead = (int64_t)a - (int64_t)h;
            if (a == 0) {
                loses = true;              /* nothing of its own: follow */
            } else if (lead < 0) {
                loses = !(r.trail && (uint64_t)-lead <= r.trail_max);
            } else if (k == a) {
                /* all published and tying: the race goes on */
            } else if (lead == 0) {
                k = a;
                tie = h;
                race = true;
            } else if (lead == 1 && !r.lead) {
                wins = true;
            } else {
                k = h;                     /* match the public height */
                tie = h;
            }
        }
        if (wins || loses) {
            att += wins ? a : 0;
            hon += loses ? h : 0;
            a = k = h = tie = 0;
            race = false;
        }
    }
    return (double)att / (double)(att + hon);
}

/* The reference without stubborn rules is Eyal and Sirer's race. */
static void test_stubborn_reference(void)
{
    stubborn_rules none = {false, false, false, 0};
    /* 2 million blocks: the reference's own error is ~0.001 */
    CU_ASSERT_DOUBLE_EQUAL(reference_revenue(0.40, none, 2000000),
                           sim_attack_selfish_revenue(0.40, 0), 0.005);
    CU_ASSERT_DOUBLE_EQUAL(reference_revenue(0.25, none, 2000000),
                           sim_attack_selfish_revenue(0.25, 0), 0.005);
}

/* Each stubborn variant in the idealised network (first_seen: gamma = 0)
 * against the reference, within the tolerance of the classic strategy plus
 * the reference's own error.  Lead and equal-fork stubbornness earn less
 * than the classic strategy at gamma = 0 (they keep ties open, and no
 * honest miner ever mines on the attacker's side of one); with both the
 * attacker never publishes a longer chain and earns nothing. */
static void stubborn_point(const char *stubborn, stubborn_rules r, const char *h5, attack_fig *f)
{
    char y[2048];
    snprintf(y, sizeof y,
             "seed: 5\nduration: 150000s\n%schain.tie_break: first_seen\n"
             "adversaries:\n  - {type: selfish, node: 2, share: 0.4, stubborn: %s}\n",
             ideal_yaml, stubborn);
    sim_summary s;
    CU_ASSERT_FATAL(run_ok(y, h5, &s));
    CU_ASSERT_FATAL(attack_row(h5, 0, f));
    double ref = reference_revenue(0.40, r, 2000000);
    double tol = revenue_tol(ref > 0 ? ref : 0.01, f->main_total) + 0.005;
    fprintf(stderr, "  stubborn %s alpha 0.40 gamma 0: revenue %.4f over %llu blocks, reference %.4f "
            "(tolerance %.4f)\n", stubborn, f->revenue, (unsigned long long)f->main_total, ref, tol);
    CU_ASSERT(f->main_total > 8000);
    CU_ASSERT(fabs(f->revenue - ref) < tol);
    CU_ASSERT_DOUBLE_EQUAL(f->gamma, 0, 0);
}

static void test_stubborn_variants(void)
{
    attack_fig f;
    stubborn_point("[lead]", (stubborn_rules){true, false, false, 0}, "st_lead.h5", &f);
    CU_ASSERT(f.revenue < 0.40 - 0.05); /* worse than honest mining at gamma 0 */
    stubborn_point("[equal_fork]", (stubborn_rules){false, true, false, 0}, "st_fork.h5", &f);
    CU_ASSERT(f.blocks_released > 0);
    stubborn_point("[trail], trail: 2", (stubborn_rules){false, false, true, 2}, "st_trail.h5", &f);
    CU_ASSERT(f.revenue > 0.40);
    stubborn_point("[lead, equal_fork, trail], trail: 2", (stubborn_rules){true, true, true, 2},
                   "st_all.h5", &f);
    CU_ASSERT_EQUAL(f.main_blocks, 0);
    CU_ASSERT(f.blocks_mined > 5000);
}

/* A small realistic network: regions, random topology, payments. */
static const char small_yaml[] =
    "seed: 9\nduration: 10min\n"
    "network: {nodes: 12, topology: {model: random, degree: 4}, latency: {model: region},\n"
    "          relay: compact}\n"
    "chain: {block_interval: 15s, retarget_interval: 40, coinbase_maturity: 10}\n"
    "mining: {miners: 4}\n"
    "transactions: {rate: 2, wallets: 60}\n";

static void test_selfish_deterministic_and_inert(void)
{
    char y[4096];
    snprintf(y, sizeof y, "%sadversaries:\n  - {type: selfish, node: 5, share: 0.35, start: 2min}\n",
             small_yaml);
    check_deterministic(y, "sm_det");
    snprintf(y, sizeof y, "%sadversaries:\n  - {type: selfish, node: 5, share: 0.35, start: 2min,"
             " stubborn: [lead, equal_fork, trail], trail: 2}\n", small_yaml);
    check_deterministic(y, "sm_det2");
    check_never_started(small_yaml, "adversaries:\n  - {type: selfish, node: 5, share: 0.35, start: 10min}\n",
                        "sm_inert");
    check_never_started(small_yaml,
                        "adversaries:\n  - {type: selfish, node: 5, share: 0.35, start: 10min,"
                        " stubborn: [lead, equal_fork, trail], trail: 2}\n",
                        "sm_inert2");
}

/* ---- double spending -------------------------------------------------------- */

/* The same idealised network; the merchant is node 1 (an honest miner), the
 * attacker node 2 spends wallet 1's coins.  give_up is confirmations + 10:
 * catching up from 10 more blocks behind has probability (q/p)^10, at most
 * 2e-4 here, so the limit does not move the figure. */
static void double_spend_point(double q, uint64_t z, uint64_t duration_s, const char *h5)
{
    char y[2048];
    snprintf(y, sizeof y,
             "seed: 3\nduration: %llus\n%s"
             "transactions.initial_balance: 1000\nnetwork.tx_relay: push\n"
             "adversaries:\n  - {type: double_spend, node: 2, target: 1, share: %g, confirmations: %llu,"
             " give_up: %llu, amount: 0.01, wallet: 1}\n",
             (unsigned long long)duration_s, ideal_yaml, q, (unsigned long long)z,
             (unsigned long long)(z + 10));
    sim_summary s;
    CU_ASSERT_FATAL(run_ok(y, h5, &s));
    attack_fig f;
    CU_ASSERT_FATAL(attack_row(h5, 0, &f));
    double nak = sim_attack_nakamoto(q, z), exact = sim_attack_nakamoto_exact(q, z);
    double sd = sqrt(exact * (1 - exact) / (double)f.attempts);
    fprintf(stderr, "  double spend q %.2f z %llu: %llu of %llu attempts (%.4f), Nakamoto %.4f, "
            "exact %.4f, 4 sd %.4f\n", q, (unsigned long long)z, (unsigned long long)f.successes,
            (unsigned long long)f.attempts, f.success_rate, nak, exact, 4 * sd);
    CU_ASSERT(f.attempts >= 800);
    CU_ASSERT_DOUBLE_EQUAL(f.expected, nak, 1e-12);
    /* attempts are independent: binomial; against Nakamoto's formula the
     * tolerance adds the error of his Poisson approximation */
    CU_ASSERT(fabs(f.success_rate - exact) < 4 * sd);
    CU_ASSERT(fabs(f.success_rate - nak) < 4 * sd + fabs(exact - nak));
    CU_ASSERT_EQUAL(s.attacks[0].loss, (int64_t)f.successes * PU_COIN / 100);
}

static void test_double_spend_nakamoto(void)
{
    double_spend_point(0.1, 1, 240000, "ds_a.h5");
    double_spend_point(0.3, 2, 220000, "ds_b.h5");
}

static void test_double_spend_deterministic_and_inert(void)
{
    static const char adv[] = "adversaries:\n  - {type: double_spend, node: 5, target: 9, share: 0.3,"
                              " confirmations: 2, give_up: 6, amount: 1, wallet: 7%s}\n";
    char y[4096], a[256];
    snprintf(a, sizeof a, adv, ", start: 1min");
    snprintf(y, sizeof y, "%s%s", small_yaml, a);
    check_deterministic(y, "ds_det");
    snprintf(a, sizeof a, adv, ", start: 10min");
    check_never_started(small_yaml, a, "ds_inert");
}

/* ---- the other strategies ------------------------------------------------------- */

/* Each strategy (the part after "adversaries:\n  - ") with a start inside
 * small_yaml's 10 minutes; "%s" is where the start goes. */
static const char *const others[] = {
    "{type: withholding, node: 5, share: 0.3%s}",
    "{type: delayed_release, node: 5, share: 0.3, delay: 20s%s}",
    "{type: partition, nodes: [0, 1, 2, 3, 4, 5], mode: delay, delay: 3s%s}",
    "{type: eclipse, node: 5, nodes: [9, 10], mode: reorder, delay: 10s%s}",
    "{type: double_spend, node: 5, target: 9, share: 0.2, confirmations: 2, amount: 1, wallet: 7,"
    " eclipse: true%s}",
    "{type: spam, node: 5, mode: conflicting, rate: 5, wallet: 7%s}",
    /* the other modes of the same strategies */
    "{type: partition, nodes: [0, 1, 2, 3, 4, 5], mode: drop%s}",
    "{type: eclipse, node: 5, nodes: [9, 10], mode: drop%s}",
    "{type: eclipse, node: 5, nodes: [9, 10], mode: delay, delay: 10s%s}",
    "{type: spam, node: 5, mode: low_fee, rate: 2, wallet: 7%s}",
    "{type: spam, node: 5, mode: oversized, rate: 1, wallet: 7, size: 50kB%s}",
    "{type: spam, node: 5, mode: malformed, rate: 2, wallet: 7%s}",
    "{type: spam, node: 5, mode: orphan_blocks, rate: 2%s}",
};

static void test_others_deterministic_and_inert(void)
{
    char y[4096], a[512], stem[32];
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        snprintf(a, sizeof a, others[i], ", start: 1min");
        snprintf(y, sizeof y, "%sadversaries:\n  - %s\n", small_yaml, a);
        snprintf(stem, sizeof stem, "other%zu_det", i);
        check_deterministic(y, stem);
        snprintf(a, sizeof a, others[i], ", start: 10min");
        snprintf(y, sizeof y, "adversaries:\n  - %s\n", a);
        snprintf(stem, sizeof stem, "other%zu_inert", i);
        check_never_started(small_yaml, y, stem);
    }
}

/* A realistic network, for the strategies whose effect is not a closed form. */
static const char net_yaml[] =
    "seed: 4\nduration: 30min\n"
    "network: {nodes: 30, topology: {model: random, degree: 5}, latency: {model: region},\n"
    "          relay: compact}\n"
    "chain: {block_interval: 15s, retarget_interval: 100000, coinbase_maturity: 10}\n"
    "mining: {miners: 6}\n"
    "transactions: {rate: 1, wallets: 60}\n";

static void run_attack(const char *attack, const char *h5, sim_summary *s, attack_fig *f)
{
    char y[4096];
    snprintf(y, sizeof y, "%sadversaries:\n  - %s\n", net_yaml, attack);
    CU_ASSERT_FATAL(run_ok(y, h5, s));
    CU_ASSERT_FATAL(attack_row(h5, 0, f));
}

/* Withholding: every block it found is gone, it earns nothing. */
static void test_withholding(void)
{
    sim_summary s;
    attack_fig f;
    run_attack("{type: withholding, node: 3, share: 0.4}", "wh.h5", &s, &f);
    CU_ASSERT(f.blocks_mined > 20);
    CU_ASSERT_EQUAL(f.blocks_withheld, f.blocks_mined);
    CU_ASSERT_EQUAL(f.main_blocks, 0);
    /* the chain grows at (1 - 0.4) of its rate: 120 blocks expected in 30 min
     * (sd 11); without withholding 72 of them would be missing */
    CU_ASSERT(s.main_height < 120 - 15 && s.main_height > 72 - 30);
}

/* A routing attacker cutting half the network off drops what crosses the
 * cut; after it stops the two halves agree again. */
static void test_partition(void)
{
    sim_summary s;
    attack_fig f;
    sim_params p;
    char y[4096];
    snprintf(y, sizeof y, "%sadversaries:\n  - {type: partition, nodes: [0, 1, 2, 3, 4, 5, 6, 7, 8,"
             " 9, 10, 11, 12, 13, 14], start: 5min, stop: 20min}\n", net_yaml);
    sim_ctx *ctx = su_run(y, "pt.h5", &p, &s);
    CU_ASSERT_FATAL(ctx != NULL);
    CU_ASSERT_FATAL(attack_row("pt.h5", 0, &f));
    CU_ASSERT(f.msgs_dropped > 1000);
    CU_ASSERT(s.reorg_max_depth >= 3); /* the halves mined apart */
    const pu_hash32 *t0 = pu_chain_tip_hash(sim_node_chain(ctx, 0));
    for (uint32_t i = 1; i < sim_n_nodes(ctx); i++)
        CU_ASSERT_TRUE(pu_hash_eq(t0, pu_chain_tip_hash(sim_node_chain(ctx, i))));
    sim_free(ctx);
    sim_params_release(&p);
}

/* Eclipse, drop: the victim hears nothing and falls behind by about all the
 * blocks of the attack; the network does not notice. */
static void test_eclipse(void)
{
    sim_summary s;
    attack_fig f;
    sim_params p;
    char y[4096];
    snprintf(y, sizeof y, "%sadversaries:\n  - {type: eclipse, node: 3, target: 17, stop: 20min}\n",
             net_yaml);
    sim_ctx *ctx = su_run(y, "ec.h5", &p, &s);
    CU_ASSERT_FATAL(ctx != NULL);
    CU_ASSERT_FATAL(attack_row("ec.h5", 0, &f));
    CU_ASSERT(f.msgs_dropped > 100);
    sim_h5read_tab *t = su_table("ec.h5", "/attacks");
    CU_ASSERT_FATAL(t != NULL);
    /* detail "... peak_lag=N": 80 blocks expected in 20 minutes */
    const sim_h5read_col *cols = sim_h5read_tab_cols(t);
    size_t c;
    CU_ASSERT_FATAL(sim_h5read_tab_col(t, "detail", &c) == PU_OK);
    char detail[161] = {0};
    memcpy(detail, sim_h5read_tab_data(t) + cols[c].offset, cols[c].size < 160 ? cols[c].size : 160);
    const char *lag = strstr(detail, "peak_lag=");
    CU_ASSERT_FATAL(lag != NULL);
    CU_ASSERT(atoi(lag + 9) > 50);
    sim_h5read_tab_free(t);
    /* restored at 20 min: the victim caught up */
    CU_ASSERT_TRUE(pu_hash_eq(pu_chain_tip_hash(sim_node_chain(ctx, 17)),
                              pu_chain_tip_hash(sim_node_chain(ctx, 0))));
    sim_free(ctx);
    sim_params_release(&p);
}

/* Double spending against an eclipsed merchant succeeds every time, where
 * the race alone (the same attacker, 10 % of the hash power, 6
 * confirmations) almost never does: Nakamoto's P(0.1, 6) = 0.0002. */
static void test_eclipse_double_spend(void)
{
    sim_summary s;
    attack_fig f, g;
    run_attack("{type: double_spend, node: 3, target: 17, share: 0.1, confirmations: 6, amount: 1,"
               " wallet: 7, eclipse: true}", "eds.h5", &s, &f);
    fprintf(stderr, "  eclipsed merchant: %llu of %llu attempts, loss %llu\n",
            (unsigned long long)f.successes, (unsigned long long)f.attempts,
            (unsigned long long)f.loss);
    CU_ASSERT(f.attempts >= 2);
    CU_ASSERT_EQUAL(f.successes, f.attempts);
    CU_ASSERT_EQUAL(f.loss, f.successes * PU_COIN);
    CU_ASSERT(f.msgs_dropped > 0);
    run_attack("{type: double_spend, node: 3, target: 17, share: 0.1, confirmations: 6, amount: 1,"
               " wallet: 7}", "rds.h5", &s, &g);
    CU_ASSERT(g.attempts >= 2);
    CU_ASSERT_EQUAL(g.successes, 0);
}

/* Spam: each flood fills the memory it targets to its bound and no further. */
static void spam_run(const char *mode, const char *h5, attack_fig *f)
{
    char y[4096];
    snprintf(y, sizeof y,
             "seed: 4\nduration: 5min\n"
             "network: {nodes: 16, topology: {model: random, degree: 4}, latency: {model: region},\n"
             "          relay: compact, peer_buffer: 200kB}\n"
             "chain: {block_interval: 15s, retarget_interval: 100000, coinbase_maturity: 10,\n"
             "        mempool_capacity: 300, max_block_size: 20kB, orphan_limit: 20}\n"
             "mining: {miners: 4}\n"
             "transactions: {rate: 1, wallets: 50}\n"
             "adversaries:\n  - {type: spam, node: 3, mode: %s, rate: 30, wallet: 7, size: 150kB}\n",
             mode);
    sim_summary s;
    CU_ASSERT_FATAL(run_ok(y, h5, &s));
    CU_ASSERT_FATAL(attack_row(h5, 0, f));
    CU_ASSERT(f->attempts > 1000);
    CU_ASSERT(f->peak_mempool <= f->bound_mempool);
    CU_ASSERT(f->peak_orphans <= f->bound_orphans);
    CU_ASSERT(f->peak_queue <= f->bound_queue);
    CU_ASSERT_EQUAL(f->bound_mempool, 300);
    CU_ASSERT_EQUAL(f->bound_orphans, 20);
    CU_ASSERT_EQUAL(f->bound_queue, 200000);
}

static void test_spam_bounds(void)
{
    attack_fig f;
    spam_run("low_fee", "sp_low.h5", &f);
    CU_ASSERT_EQUAL(f.peak_mempool, 300); /* full, never over */
    CU_ASSERT(f.refused_txs > 1000);      /* mempool-full */
    spam_run("orphan_blocks", "sp_orph.h5", &f);
    CU_ASSERT_EQUAL(f.peak_orphans, 20);
    spam_run("oversized", "sp_big.h5", &f);
    CU_ASSERT(f.peak_queue > 150000);     /* one 150 kB message waiting, a second never */
    CU_ASSERT(f.refused_txs > 100);       /* tx-too-large */
    spam_run("malformed", "sp_bad.h5", &f);
    /* bad-signature at the first hop, no further (the last few are still in
     * flight when the run ends: 30/s against ~0.1 s of latency) */
    CU_ASSERT(f.refused_txs >= f.attempts - 10);
    CU_ASSERT(f.refused_txs <= f.attempts);
}

TSUITE(adversary)
{
    CU_pSuite s = CU_add_suite("adversary", NULL, NULL);
    if (!s)
        return CU_get_error();
    TADD(s, test_types_have_strategies);
    TADD(s, test_closed_forms);
    TADD(s, test_not_implemented);
    TADD(s, test_selfish_eyal_sirer);
    TADD(s, test_selfish_below_threshold);
    TADD(s, test_selfish_deterministic_and_inert);
    TADD(s, test_stubborn_reference);
    TADD(s, test_stubborn_variants);
    TADD(s, test_double_spend_nakamoto);
    TADD(s, test_double_spend_deterministic_and_inert);
    TADD(s, test_others_deterministic_and_inert);
    TADD(s, test_withholding);
    TADD(s, test_partition);
    TADD(s, test_eclipse);
    TADD(s, test_eclipse_double_spend);
    TADD(s, test_spam_bounds);
    return CUE_SUCCESS;
}
