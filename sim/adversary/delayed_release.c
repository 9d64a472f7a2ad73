/* sim/adversary/delayed_release.c -- the attacker publishes each block it
 * finds only `delay` after finding it.
 *
 * It mines with `share` of the hash power on a private branch (branch.h)
 * holding its own unpublished blocks, so it builds on them; when the public
 * chain it sees grows longer than its branch it adopts the public chain and
 * the blocks it still held are lost.  A block whose delay is up is
 * published with the ones below it (they are older).  With a delay short
 * against the block interval this is an honest miner with a slow link; a
 * long one turns it into a blind selfish miner (it never reacts to honest
 * blocks by publishing) whose revenue share falls below its hash power share
 * (the outcome's revenue_share against share).  At stop it publishes what
 * it holds and mines honestly on. */
#include <stdlib.h>

#include "sim/adversary/adversary.h"
#include "sim/adversary/branch.h"
#include "sim/mining.h"
#include "sim/node.h"

typedef struct delayed {
    sim_branch_user u;        /* first: the node's behaviour state */
    sim_adversary *adv;
    uint32_t node, miner;
    bool busy;                /* publishing: its own tip changes are not news */
} delayed;

static void publish(sim_ctx *ctx, delayed *d, uint32_t max_height)
{
    d->busy = true;
    sim_adversary_outcome(d->adv)->blocks_released += sim_branch_publish(ctx, d->u.br, max_height);
    d->busy = false;
}

static void found(sim_ctx *ctx, sim_branch_user *u, pu_block *b)
{
    delayed *d = (delayed *)u;
    sim_branch_add_own(ctx, u->br, b);
    /* the timer names the block by its height: published then with all below */
    sim_adversary_set_timer(ctx, d->adv, ctx->now + sim_adversary_params(d->adv)->delay_ns,
                            sim_branch_height(u->br));
}

static void on_timer(sim_ctx *ctx, sim_adversary *adv, uint64_t height)
{
    delayed *d = sim_adversary_state(adv);
    if (sim_adversary_active(adv))
        publish(ctx, d, (uint32_t)height); /* nothing if adopting dropped it */
}

static void on_event(sim_ctx *ctx, sim_adversary *adv, const sim_obs *ev)
{
    delayed *d = sim_adversary_state(adv);
    if (ev->node != d->node || d->busy || !sim_adversary_active(adv))
        return;
    if (pu_chain_height(ctx->nodes[d->node].chain) > sim_branch_height(d->u.br)) {
        sim_branch_adopt(ctx, d->u.br); /* behind: its held blocks are lost */
        sim_mining_reschedule(ctx, &ctx->nodes[d->node]);
    }
}

static pu_err create(sim_ctx *ctx, sim_adversary *adv, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    delayed *d = calloc(1, sizeof *d);
    if (!d)
        return PU_ERR_NOMEM;
    sim_adversary_set_state(adv, d);
    d->adv = adv;
    d->node = (uint32_t)sim_adversary_params(adv)->node;
    snprintf(sim_adversary_outcome(adv)->detail, sizeof sim_adversary_outcome(adv)->detail,
             "delay_ns=%llu", (unsigned long long)sim_adversary_params(adv)->delay_ns);
    return sim_branch_user_init(ctx, adv, d->node, &d->u, found, &d->miner);
}

static void start(sim_ctx *ctx, sim_adversary *adv)
{
    delayed *d = sim_adversary_state(adv);
    sim_branch_adopt(ctx, d->u.br);
    sim_adversary_set_share(ctx, adv, d->miner, sim_adversary_params(adv)->share);
    sim_mining_reschedule(ctx, &ctx->nodes[d->node]);
}

static void stop(sim_ctx *ctx, sim_adversary *adv)
{
    delayed *d = sim_adversary_state(adv);
    publish(ctx, d, UINT32_MAX);
    sim_mining_reschedule(ctx, &ctx->nodes[d->node]);
}

static void finish(sim_ctx *ctx, sim_adversary *adv)
{
    (void)ctx;
    delayed *d = sim_adversary_state(adv);
    sim_adversary_outcome(adv)->blocks_withheld = sim_branch_withheld(d->u.br);
}

static void free_state(void *state)
{
    delayed *d = state;
    if (!d)
        return;
    sim_branch_free(d->u.br);
    free(d);
}

const sim_strategy sim_strategy_delayed_release = {
    SIM_PARAMS_ADV_DELAYED_RELEASE, create, start, stop, on_event, SIM_OBS_BIT(SIM_OBS_TIP_CHANGED),
    on_timer, finish, free_state,
};
