/* sim/adversary/withholding.c -- block withholding: the attacker mines with
 * `share` of the hash power and never publishes a block it finds.
 *
 * This is the pool-sabotage attack of Rosenfeld (2011) and Eyal (2015) seen
 * from the network: hash power is spent and its blocks vanish, so while the
 * attack lasts the chain grows at (1 - share) of its rate, until a difficulty
 * retarget makes up for it; its revenue share is 0.  Its node keeps relaying
 * and validating like an honest one and mines on the public tip.  At stop it
 * mines honestly on (keeping its hash power).  The outcome: blocks_withheld
 * (all it found while active). */
#include <stdlib.h>

#include "sim/adversary/adversary.h"
#include "sim/node.h"

typedef struct withhold {
    sim_adversary *adv;
    uint32_t node, miner;
} withhold;

static void on_block_found(sim_ctx *ctx, sim_node *nd, pu_block *b)
{
    withhold *w = nd->beh_state;
    if (sim_adversary_active(w->adv))
        sim_adversary_outcome(w->adv)->blocks_withheld++; /* found, and dropped */
    else
        sim_node_default_block_found(ctx, nd, b);
}

static const sim_behavior withhold_behavior = {
    "withholding", sim_node_default_message, on_block_found, sim_node_default_timer, NULL,
};

static pu_err create(sim_ctx *ctx, sim_adversary *adv, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    withhold *w = calloc(1, sizeof *w);
    if (!w)
        return PU_ERR_NOMEM;
    sim_adversary_set_state(adv, w);
    w->adv = adv;
    w->node = (uint32_t)sim_adversary_params(adv)->node;
    pu_err rc = sim_adversary_miner(ctx, adv, w->node, &w->miner);
    if (rc == PU_OK)
        rc = sim_adversary_take_node(ctx, adv, w->node, &withhold_behavior, w);
    return rc;
}

static void start(sim_ctx *ctx, sim_adversary *adv)
{
    withhold *w = sim_adversary_state(adv);
    sim_adversary_set_share(ctx, adv, w->miner, sim_adversary_params(adv)->share);
}

const sim_strategy sim_strategy_withholding = {
    SIM_PARAMS_ADV_WITHHOLDING, create, start, NULL, NULL, 0, NULL, NULL, free,
};
