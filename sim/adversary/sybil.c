/* sim/adversary/sybil.c -- a PoUW miner that splits its stake over many
 * identities to win more seats (PROTOCOL.md s7.3: a ticket buys
 * floor(stake / unit) lottery entries, the lowest scores win, one seat per
 * distinct public key).
 *
 * Fields: node (a PoUW miner's node), count (identities, >= 2), start, stop.
 * At start its worker pays each of `count` fresh keys (its own, from its
 * random stream) one stake unit plus two fees (one PAYMENT); when the
 * worker would buy its ticket for a task, each identity buys a miner
 * ticket of one unit instead (the worker buys none), retrying at the next
 * tip while the payment is not spendable yet.  The same stake on one key
 * would buy the same entries and win at most one seat; split, it can win
 * as many seats as it has identities.  The selected identities run no
 * miner (the split buys seats, not work), so their seats stay idle and the
 * settlement takes their stakes as absent miners'.
 *
 * Outcome: attempts = its identities' miner tickets in the reference chain,
 * successes = miner seats they won; expected = its share of the task's
 * miner-ticket stake (what the lottery promises per seat); success_rate =
 * successes / the task's miner seats (the seat share to compare with
 * `expected`); stake_slashed = its identities' stakes the settlement took;
 * detail: identities, tickets, seats and miner seats of the task, stake of
 * its tickets and of all miner tickets. */
#include <stdlib.h>
#include <string.h>

#include "core/econ.h"
#include "sim/adversary/pouw_attack.h"
#include "sim/node.h"

typedef struct sybil {
    uint32_t k;
    pu_keypair *keys;
    pu_addr *addrs;
    bool funded, bought;
    pu_hash32 fund;            /* the PAYMENT funding the identities */
    pu_amount each;            /* paid to each */
} sybil;

static pu_amount unit(const sim_ctx *ctx) { return ctx->p->pouw.task.stake; }

static void fund(sim_ctx *ctx, sim_pouw_attack *a)
{
    sybil *s = a->strategy;
    if (!s->funded)
        s->funded = sim_pouw_fund(ctx, a->node, s->addrs, s->k, s->each, &s->fund);
}

static int tickets(void *self, sim_ctx *ctx, uint32_t node, const pu_hash32 *task_id, pu_amount stake)
{
    sim_pouw_attack *a = self;
    sybil *s = a->strategy;
    if (!sim_adversary_active(a->adv))
        return -1;
    if (s->bought)
        return 1;
    fund(ctx, a);
    if (!s->funded)
        return 0;
    sim_node *nd = &ctx->nodes[node];
    for (uint32_t i = 0; i < s->k; i++) {
        pu_outpoint op = {s->fund, i};
        pu_econ_inputs in = {&op, &s->each, 1, &s->keys[i], ctx->p->transactions.fee, sim_now_s(ctx)};
        pu_tx *tx = NULL;
        pu_err rc = pu_econ_buy_tickets(sim_pouw_econ(ctx->pouw), task_id, PU_ROLE_MINER, stake, &in, &tx);
        if (rc == PU_OK)
            rc = sim_adversary_own_tx(a->adv, tx);
        if (rc != PU_OK) {
            pu_tx_unref(tx);
            sim_fail(ctx, rc, "sybil tickets");
            return 1;
        }
        bool ok = sim_node_submit_tx(ctx, nd, tx);
        pu_tx_unref(tx);
        if (!ok && i == 0)
            return 0; /* the payment is not spendable at its node yet */
    }
    s->bought = true;
    return 1;
}

static pu_err create(sim_ctx *ctx, sim_adversary *adv, char *err, size_t errlen)
{
    const sim_params_adversary *cfg = sim_adversary_params(adv); /* count: 2 .. 64 (params.c) */
    sim_pouw_cheat c = {.tickets = tickets};
    pu_err rc = sim_pouw_attack_new(ctx, adv, PU_ROLE_MINER, &c, err, errlen);
    if (rc != PU_OK)
        return rc;
    sim_pouw_attack *a = sim_adversary_state(adv);
    sybil *s = calloc(1, sizeof *s);
    if (!s)
        return PU_ERR_NOMEM;
    a->strategy = s;
    s->k = (uint32_t)cfg->count;
    s->each = unit(ctx) + 2 * ctx->p->transactions.fee;
    s->keys = calloc(s->k, sizeof *s->keys);
    s->addrs = calloc(s->k, sizeof *s->addrs);
    if (!s->keys || !s->addrs)
        return PU_ERR_NOMEM;
    sim_rng kr = sim_adversary_rng(ctx, adv, 3);
    for (uint32_t i = 0; i < s->k && rc == PU_OK; i++) {
        uint8_t seed[32];
        for (int j = 0; j < 32; j++)
            seed[j] = (uint8_t)sim_rng_u64(&kr);
        rc = pu_key_from_seed(ctx->crypto, seed, &s->keys[i]);
        s->addrs[i] = s->keys[i].addr;
    }
    return rc;
}

static void start(sim_ctx *ctx, sim_adversary *adv)
{
    fund(ctx, sim_adversary_state(adv));
}

static bool is_identity(const sybil *s, const uint8_t pub[33])
{
    for (uint32_t i = 0; i < s->k; i++)
        if (!memcmp(s->keys[i].pub, pub, 33))
            return true;
    return false;
}

/* The lottery's own answer (pu_econ_select, the ledger's rule) for these
 * miner tickets over MC_DRAWS closing-block hashes: the mean share of the
 * miner seats the identities win, with the tickets as bought (split) and
 * with their stake on the first identity's one ticket (merged). */
#define MC_DRAWS 2000u
#define MC_MAX_TICKETS 512u

static pu_err lottery(sim_ctx *ctx, const sybil *s, const pu_task *task, const pu_econ_ticket *tk, size_t n,
                      double *split, double *merged)
{
    pu_econ *e = sim_pouw_econ(ctx->pouw);
    pu_econ_ticket *alt = calloc(n ? n : 1, sizeof *alt);
    if (!alt)
        return PU_ERR_NOMEM;
    size_t na = 0;
    pu_amount pooled = 0;
    for (size_t i = 0; i < n; i++)
        if (is_identity(s, tk[i].w.pub))
            pooled += tk[i].w.stake;
        else
            alt[na++] = tk[i];
    for (size_t i = 0; i < n; i++)
        if (is_identity(s, tk[i].w.pub)) { /* one identity holds it all */
            alt[na] = tk[i];
            alt[na++].w.stake = pooled;
            break;
        }
    uint64_t won_split = 0, won_merged = 0, seats = 0;
    pu_err rc = PU_OK;
    for (uint32_t d = 0; d < MC_DRAWS && rc == PU_OK; d++) {
        uint8_t b[4] = {(uint8_t)(d >> 24), (uint8_t)(d >> 16), (uint8_t)(d >> 8), (uint8_t)d};
        pu_hash32 seed;
        pu_sha256(ctx->crypto, b, 4, &seed);
        uint32_t ns[PU_TASK_N_ROLES];
        pu_worker seat[PU_TASK_N_ROLES][PU_ECON_MAX_SEATS];
        rc = pu_econ_select(e, task, &seed, tk, n, ns, seat);
        for (uint32_t i = 0; rc == PU_OK && i < ns[PU_TASK_ROLE_MINER]; i++)
            won_split += is_identity(s, seat[PU_TASK_ROLE_MINER][i].pub);
        seats += ns[PU_TASK_ROLE_MINER];
        if (rc == PU_OK)
            rc = pu_econ_select(e, task, &seed, alt, na, ns, seat);
        for (uint32_t i = 0; rc == PU_OK && i < ns[PU_TASK_ROLE_MINER]; i++)
            won_merged += is_identity(s, seat[PU_TASK_ROLE_MINER][i].pub);
    }
    free(alt);
    *split = seats ? (double)won_split / (double)seats : 0;
    *merged = seats ? (double)won_merged / (double)seats : 0;
    return rc;
}

static void finish(sim_ctx *ctx, sim_adversary *adv)
{
    sim_pouw_attack *a = sim_adversary_state(adv);
    sybil *s = a->strategy;
    sim_attack_outcome *o = sim_adversary_outcome(adv);
    const pu_chain *best = sim_best_chain(ctx);
    pu_econ *e = sim_pouw_econ(ctx->pouw);
    pu_econ_ticket *tkts = calloc(MC_MAX_TICKETS, sizeof *tkts);
    pu_hash32 *of = calloc(MC_MAX_TICKETS, sizeof *of);
    if (!tkts || !of) {
        free(tkts);
        free(of);
        sim_fail(ctx, PU_ERR_NOMEM, "sybil outcome");
        return;
    }
    /* the miner tickets in the reference chain; the task its identities
     * bought for (the first) */
    size_t n = 0;
    bool have_task = false;
    pu_hash32 task_id = {{0}};
    for (uint32_t h = 1; h <= pu_chain_height(best); h++) {
        const pu_block *b = pu_chain_block_at(best, h);
        for (uint32_t i = 0; i < pu_block_n_tx(b); i++) {
            const pu_tx *tx = pu_block_tx(b, i);
            pu_tickets tk;
            if (pu_tx_kind_of(tx) != PU_TX_BUY_TICKETS || pu_tx_tickets(tx, &tk) != PU_OK
                || tk.role != PU_ROLE_MINER || n == MC_MAX_TICKETS)
                continue;
            pu_econ_ticket *t = &tkts[n];
            memcpy(t->w.pub, pu_tx_in(tx, 0)->pub, 33);
            t->w.ticket = *pu_tx_id(tx);
            t->w.stake = tk.stake;
            t->role = tk.role;
            of[n++] = tk.task_pref;
            if (!have_task && is_identity(s, t->w.pub)) {
                have_task = true;
                task_id = tk.task_pref;
            }
        }
    }
    pu_amount mine = 0, all = 0;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) /* that task's tickets only */
        if (have_task && pu_hash_eq(&of[i], &task_id)) {
            all += tkts[i].w.stake;
            if (is_identity(s, tkts[i].w.pub)) {
                mine += tkts[i].w.stake;
                o->attempts++;
            }
            tkts[m++] = tkts[i];
        }
    free(of);
    uint64_t seats = 0, won = 0;
    double split = 0, merged = 0;
    pu_task_state st;
    pu_err rc = PU_OK;
    if (have_task && pu_econ_task_state(e, best, &task_id, &st) == PU_OK) {
        seats = st.n_seats[PU_TASK_ROLE_MINER];
        for (uint32_t i = 0; i < seats; i++)
            won += is_identity(s, st.seat[PU_TASK_ROLE_MINER][i].pub);
        rc = lottery(ctx, s, &st.def, tkts, m, &split, &merged);
    }
    free(tkts);
    for (uint32_t i = 0; rc == PU_OK && i < s->k; i++) {
        sim_pouw_fate f;
        rc = sim_pouw_key_fate(ctx, s->keys[i].pub, &f);
        o->stake_slashed += f.slashed;
    }
    if (rc != PU_OK) {
        sim_fail(ctx, rc, "sybil outcome");
        return;
    }
    o->successes = won;
    o->success_rate = seats ? (double)won / (double)seats : o->success_rate;
    o->expected = all ? (double)mine / (double)all : o->expected;
    snprintf(o->detail, sizeof o->detail,
             "identities=%u seats=%llu of=%llu stake=%lld of=%lld lottery_split=%.4f lottery_one_key=%.4f draws=%u",
             s->k, (unsigned long long)won, (unsigned long long)seats, (long long)mine, (long long)all, split,
             merged, MC_DRAWS);
}

static void free_state(void *state)
{
    sim_pouw_attack *a = state;
    sybil *s = a ? a->strategy : NULL;
    if (s) {
        free(s->keys);
        free(s->addrs);
        free(s);
    }
    sim_pouw_attack_free(state);
}

const sim_strategy sim_strategy_sybil = {
    .type = SIM_PARAMS_ADV_SYBIL,
    .create = create,
    .start = start,
    .finish = finish,
    .free_state = free_state,
};
