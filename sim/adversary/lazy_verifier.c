/* sim/adversary/lazy_verifier.c -- a node that accepts PoUW blocks without
 * re-executing their work (PROTOCOL.md s5.6: every validating node runs
 * verify_ml_work; re-execution is what a PoUW block costs its checkers).
 *
 * Fields: node (any node), share (optional: its share of the hash power
 * while active, 0 = it does not mine), start, stop.  While active its chain
 * takes every PoUW block of a task in training on trust (every other rule
 * still applies: core/econ.h trust_ml_work) and its node is not charged the
 * re-execution's CPU time; it relays and mines on what it accepted like any
 * node.  Inactive, it checks like an honest node.
 *
 * What it lets through shows when someone publishes bad work (a forged_work
 * attacker in scenarios/attacks/lazy_verifier.yaml): it connects the bad
 * block, mines on it, and the honest nodes refuse its blocks as descendants
 * of an invalid block (invalid-ancestor), so its hash power is wasted until
 * a longer honest branch takes it back.  Outcome: attempts = PoUW blocks it
 * connected on trust while active, successes = those the honest nodes'
 * verification accepts; detail: let_through (those an honest node refused
 * for their work), unjudged (no honest node judged them), orphaned (blocks
 * it mined while active that the reference chain does not hold),
 * cpu_saved_ns (re-execution time it skipped); its own blocks' refusals by
 * reason and its revenue share are the generic columns. */
#include <stdlib.h>
#include <string.h>

#include "core/hmap.h"
#include "sim/adversary/adversary.h"
#include "sim/mining.h"
#include "sim/node.h"
#include "sim/pouw.h"

typedef struct lazy {
    sim_adversary *adv;
    uint32_t node, miner;
    const pu_rules *honest, *trusting;
    pu_rules rules;            /* this node's: one of the two by activity */
    pu_hmap *trusted;          /* PoUW blocks connected on trust: hash -> nothing */
    uint64_t cpu_saved_ns;
} lazy;

static pu_reason check_tx(void *c, const pu_chain *ch, const pu_tx *tx, uint32_t height)
{
    const lazy *l = c;
    return l->honest->check_tx(l->honest->ctx, ch, tx, height);
}

static pu_reason check_block(void *c, const pu_chain *ch, const pu_block *b, uint32_t height)
{
    const lazy *l = c;
    const pu_rules *r = sim_adversary_active(l->adv) ? l->trusting : l->honest;
    return r->check_block(r->ctx, ch, b, height);
}

static pu_err create(sim_ctx *ctx, sim_adversary *adv, char *err, size_t errlen)
{
    if (!ctx->pouw || !ctx->rules) {
        snprintf(err, errlen, "adversaries[%u]: lazy_verifier needs consensus: pouw", sim_adversary_index(adv));
        return PU_ERR_INVALID;
    }
    lazy *l = calloc(1, sizeof *l);
    if (!l)
        return PU_ERR_NOMEM;
    sim_adversary_set_state(adv, l);
    l->adv = adv;
    l->node = (uint32_t)sim_adversary_params(adv)->node;
    l->miner = UINT32_MAX;
    l->honest = ctx->rules;
    l->rules = (pu_rules){check_tx, check_block, l};
    pu_err rc = sim_pouw_lazy_rules(ctx, &l->trusting);
    if (rc == PU_OK)
        rc = pu_hmap_new(32, 0, 16, &l->trusted);
    if (rc == PU_OK && sim_adversary_params(adv)->share > 0)
        rc = sim_adversary_miner(ctx, adv, l->node, &l->miner);
    if (rc == PU_OK)
        rc = sim_adversary_take_node(ctx, adv, l->node, &sim_behavior_honest, l);
    if (rc == PU_OK)
        rc = sim_node_set_rules(ctx, &ctx->nodes[l->node], &l->rules, false);
    return rc;
}

static void start(sim_ctx *ctx, sim_adversary *adv)
{
    lazy *l = sim_adversary_state(adv);
    ctx->nodes[l->node].lazy = true;
    if (l->miner != UINT32_MAX)
        sim_adversary_set_share(ctx, adv, l->miner, sim_adversary_params(adv)->share);
}

static void stop(sim_ctx *ctx, sim_adversary *adv)
{
    lazy *l = sim_adversary_state(adv);
    ctx->nodes[l->node].lazy = false; /* it checks again, keeping its hash power */
}

static void on_event(sim_ctx *ctx, sim_adversary *adv, const sim_obs *ev)
{
    lazy *l = sim_adversary_state(adv);
    if (ev->node != l->node || !sim_adversary_active(adv) || !pu_header_is_pouw(pu_block_header(ev->block)))
        return;
    void *v;
    bool fresh;
    if (pu_hmap_put(l->trusted, pu_block_hash(ev->block)->b, &v, &fresh) != PU_OK) {
        sim_fail(ctx, PU_ERR_NOMEM, "lazy verifier");
        return;
    }
    if (fresh && ctx->ask.verify_cost)
        l->cpu_saved_ns += ctx->ask.verify_cost(ctx->ask.self, ev->block);
}

static void finish(sim_ctx *ctx, sim_adversary *adv)
{
    lazy *l = sim_adversary_state(adv);
    sim_attack_outcome *o = sim_adversary_outcome(adv);
    const pu_econ *e = sim_pouw_econ(ctx->pouw);
    uint64_t let_through = 0, unjudged = 0;
    for (size_t it = 0;;) {
        const void *key;
        void *val;
        if (!pu_hmap_next(l->trusted, &it, &key, &val))
            break;
        pu_hash32 h;
        memcpy(h.b, key, 32);
        pu_pouw_reason why;
        o->attempts++;
        if (!pu_econ_ml_verdict(e, &h, &why, NULL))
            unjudged++;
        else if (why == PU_POUW_OK)
            o->successes++;
        else
            let_through++;
    }
    o->success_rate = o->attempts ? (double)o->successes / (double)o->attempts : o->success_rate;
    snprintf(o->detail, sizeof o->detail, "let_through=%llu unjudged=%llu orphaned=%llu cpu_saved_ns=%llu",
             (unsigned long long)let_through, (unsigned long long)unjudged,
             (unsigned long long)(o->blocks_mined - o->main_blocks), (unsigned long long)l->cpu_saved_ns);
}

static void free_state(void *state)
{
    lazy *l = state;
    if (l)
        pu_hmap_free(l->trusted);
    free(l);
}

const sim_strategy sim_strategy_lazy_verifier = {
    .type = SIM_PARAMS_ADV_LAZY_VERIFIER,
    .create = create,
    .start = start,
    .stop = stop,
    .on_event = on_event,
    .obs_mask = SIM_OBS_BIT(SIM_OBS_BLOCK_CONNECTED),
    .finish = finish,
    .free_state = free_state,
};
