/* sim/adversary/wrong_batch.c -- a seated PoUW miner that trains on a batch
 * other than the one assigned to it (PROTOCOL.md s5.2: iteration seq of
 * miner m has its own batch of the epoch's permutation, disjoint from the
 * other miners').
 *
 * Fields: node (a PoUW miner's node), start, stop, probability (chance per
 * iteration).  A cheating iteration trains on the next miner's batch for the
 * same seq (index + 1 modulo the seated miners; with one miner there is no
 * other batch and it cheats never) and publishes the message as its own:
 * what a miner does that found an easier batch, or saves reading its own
 * data.  What the protocol does: every honest node refuses its blocks
 * (bad-ml-work, BAD_BATCH: the batch hash is not the schedule's); the
 * supervisor posts MESSAGE evidence of the message and the verifiers BLOCK
 * evidence, the settlement takes the miner's stake. */
#include "sim/adversary/pouw_attack.h"

static void batch(void *self, sim_ctx *ctx, uint32_t node, uint32_t n_miners, uint32_t *miner_index)
{
    (void)node;
    if (n_miners > 1 && sim_pouw_attack_roll(ctx, self))
        *miner_index = (*miner_index + 1) % n_miners;
}

static pu_err create(sim_ctx *ctx, sim_adversary *adv, char *err, size_t errlen)
{
    sim_pouw_cheat c = {.batch = batch};
    return sim_pouw_attack_new(ctx, adv, PU_ROLE_MINER, &c, err, errlen);
}

const sim_strategy sim_strategy_wrong_batch = {
    .type = SIM_PARAMS_ADV_WRONG_BATCH,
    .create = create,
    .finish = sim_pouw_attack_finish,
    .free_state = sim_pouw_attack_free,
};
