/* sim/adversary/selfish.c -- selfish mining (Eyal and Sirer 2014) and the
 * stubborn variants of Nayak, Kumar, Miller and Shi 2016.
 *
 * The attacker mines on a private branch (branch.h) with `share` of the hash
 * power and decides, whenever it finds a block or the public chain it sees
 * moves, what to publish.  With L = private height - public height after the
 * event (heights on the branch and on its node's public chain):
 *
 *   it finds a block    in a tie it made public with nothing withheld (the
 *                       state 0' of Eyal and Sirer): publish, win the tie;
 *                       equal_fork stubborn: keep it.  Caught up from
 *                       behind (trail, L = 0): publish, a tie.  Otherwise
 *                       keep it.
 *   the public chain    nothing withheld: adopt the public chain.  L < 0:
 *   moves (an honest    adopt (its withheld blocks are lost); trail
 *   block)              stubborn: keep mining privately while it trails
 *                       by at most `trail` blocks.  L = 0: publish all, a
 *                       tie (0').  L = 1: publish all, the private chain
 *                       wins; lead stubborn: publish only up to the public
 *                       height, a tie, keeping its lead.  L >= 2: publish up
 *                       to the public height (a tie the honest miners
 *                       split), keep the rest.
 *
 * gamma is measured, not assumed: every tie the attacker made public is
 * resolved by the next public block above it; when an honest block resolves
 * it, the tie counts, and it counts as won when that block is on the
 * attacker's side (ties / ties_won in the outcome).  It comes from the
 * attacker's connectivity, the latency and chain.tie_break.
 *
 * At stop it publishes everything it holds and mines honestly on (keeping
 * its hash power).  The outcome's `expected` is Eyal and Sirer's closed form
 * R(share, measured gamma) for the classic strategy (none for the stubborn
 * ones, whose revenue Nayak et al. computed numerically). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim/adversary/adversary.h"
#include "sim/adversary/branch.h"
#include "sim/mining.h"
#include "sim/node.h"

typedef struct selfish {
    sim_branch_user u;        /* first: the node's behaviour state */
    sim_adversary *adv;
    uint32_t node, miner;
    sim_branch *br;
    bool lead, fork, trail;   /* stubborn variants */
    uint32_t trail_max;
    uint32_t tie_height;      /* a tie it made public and not yet resolved (0: none) */
    bool race;                /* ... with nothing withheld: the state 0' */
    bool busy;                /* publishing: its own tip changes are not news */
} selfish;

static void publish(sim_ctx *ctx, selfish *s, uint32_t max_height)
{
    s->busy = true;
    sim_adversary_outcome(s->adv)->blocks_released += sim_branch_publish(ctx, s->br, max_height);
    s->busy = false;
}

static void adopt(sim_ctx *ctx, selfish *s)
{
    sim_branch_adopt(ctx, s->br);
    s->race = false;
    sim_mining_reschedule(ctx, &ctx->nodes[s->node]);
}

/* An honest block made the public chain move. */
static void public_moved(sim_ctx *ctx, selfish *s)
{
    sim_attack_outcome *o = sim_adversary_outcome(s->adv);
    const pu_chain *pub = ctx->nodes[s->node].chain;
    uint32_t hq = pu_chain_height(pub), hp = sim_branch_height(s->br);
    if (s->tie_height && hq > s->tie_height) { /* an honest block resolved the tie */
        o->ties++;
        o->ties_won += sim_adversary_is_own_block(s->adv, pu_block_hash(pu_chain_block_at(pub, s->tie_height)));
        s->tie_height = 0;
        s->race = false;
    }
    bool on_public = false; /* its branch's tip is on the public chain: no fork to fight */
    if (!pu_chain_get(pub, pu_chain_tip_hash(sim_branch_chain(s->br)), NULL, &on_public))
        on_public = false;
    int64_t lead = (int64_t)hp - (int64_t)hq;
    if (on_public || lead < 0) {
        if (!on_public && s->trail && (uint64_t)-lead <= s->trail_max)
            return; /* trail stubborn: keep mining on its own branch */
        if (hq > hp || !on_public)
            adopt(ctx, s);
        return;
    }
    if (!sim_branch_withheld(s->br))
        return; /* its published branch ties the public one: the race goes on */
    if (lead == 0) {
        publish(ctx, s, UINT32_MAX);
        s->tie_height = hq;
        s->race = true;
    } else if (lead == 1 && !s->lead) {
        publish(ctx, s, UINT32_MAX); /* longer: the private chain wins */
        s->tie_height = 0;
    } else {
        publish(ctx, s, hq);         /* match the public height, keep the lead */
        s->tie_height = hq;
    }
}

static void found(sim_ctx *ctx, selfish *s, pu_block *b)
{
    bool was_race = s->race && !sim_branch_withheld(s->br);
    sim_branch_add_own(ctx, s->br, b);
    uint32_t hq = pu_chain_height(ctx->nodes[s->node].chain), hp = sim_branch_height(s->br);
    if (was_race && !s->fork) {      /* 0': its next block wins the tie */
        publish(ctx, s, UINT32_MAX);
        s->tie_height = 0;
        s->race = false;
    } else if (hp == hq && hp > s->tie_height) { /* trail: caught up from behind */
        publish(ctx, s, UINT32_MAX);
        s->tie_height = hq;
        s->race = true;
    }
}

static void on_found(sim_ctx *ctx, sim_branch_user *u, pu_block *b)
{
    found(ctx, (selfish *)u, b);
}

/* ---- the strategy ---- */

static pu_err create(sim_ctx *ctx, sim_adversary *adv, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    const sim_params_adversary *a = sim_adversary_params(adv);
    selfish *s = calloc(1, sizeof *s);
    if (!s)
        return PU_ERR_NOMEM;
    sim_adversary_set_state(adv, s);
    s->adv = adv;
    s->node = (uint32_t)a->node;
    s->lead = sim_params_adversary_stubborn(a, "lead");
    s->fork = sim_params_adversary_stubborn(a, "equal_fork");
    s->trail = sim_params_adversary_stubborn(a, "trail");
    s->trail_max = (uint32_t)a->trail;
    pu_err rc = sim_branch_user_init(ctx, adv, s->node, &s->u, on_found, &s->miner);
    s->br = s->u.br;
    snprintf(sim_adversary_outcome(adv)->detail, sizeof sim_adversary_outcome(adv)->detail,
             "strategy=%s%s%s%s trail=%u", s->lead || s->fork || s->trail ? "stubborn" : "eyal-sirer",
             s->lead ? ",lead" : "", s->fork ? ",equal_fork" : "", s->trail ? ",trail" : "",
             s->trail ? s->trail_max : 0);
    return rc;
}

static void start(sim_ctx *ctx, sim_adversary *adv)
{
    selfish *s = sim_adversary_state(adv);
    sim_branch_adopt(ctx, s->br);
    s->tie_height = 0;
    s->race = false;
    sim_adversary_set_share(ctx, adv, s->miner, sim_adversary_params(adv)->share);
    sim_mining_reschedule(ctx, &ctx->nodes[s->node]);
}

static void stop(sim_ctx *ctx, sim_adversary *adv)
{
    selfish *s = sim_adversary_state(adv);
    publish(ctx, s, UINT32_MAX); /* honest from now on: what it holds goes out */
    s->tie_height = 0;
    s->race = false;
    sim_mining_reschedule(ctx, &ctx->nodes[s->node]); /* back on its public chain */
}

static void on_event(sim_ctx *ctx, sim_adversary *adv, const sim_obs *ev)
{
    selfish *s = sim_adversary_state(adv);
    if (ev->node == s->node && !s->busy && sim_adversary_active(adv))
        public_moved(ctx, s);
}

static void finish(sim_ctx *ctx, sim_adversary *adv)
{
    (void)ctx;
    selfish *s = sim_adversary_state(adv);
    sim_attack_outcome *o = sim_adversary_outcome(adv);
    o->blocks_withheld = sim_branch_withheld(s->br);
    if (!s->lead && !s->fork && !s->trail)
        o->expected = sim_attack_selfish_revenue(o->share, o->ties ? o->gamma : 0);
}

static void free_state(void *state)
{
    selfish *s = state;
    if (!s)
        return;
    sim_branch_free(s->br);
    free(s);
}

const sim_strategy sim_strategy_selfish = {
    SIM_PARAMS_ADV_SELFISH, create, start, stop, on_event, SIM_OBS_BIT(SIM_OBS_TIP_CHANGED), NULL,
    finish, free_state,
};
