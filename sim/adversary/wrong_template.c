/* sim/adversary/wrong_template.c -- a seated PoUW miner that mines on a
 * template other than the one it committed to (PROTOCOL.md s5.4
 * "Commitment": at seq i a miner announces the zero-nonce hash of the
 * header it will mine with at seq i + k, so a lucky nonce cannot be paired
 * with other block contents).
 *
 * Fields: node (a PoUW miner's node), start, stop, probability (chance per
 * iteration).  A cheating iteration builds a fresh template on its tip (the
 * transactions and time of now) and mines it while its header still names
 * the commitment; it also mines when the tip moved since the commitment,
 * where an honest miner lets the iteration pass.  What the protocol does:
 * every honest node refuses the block (bad-ml-work, BAD_COMMITMENT: the
 * recomputed zero-nonce hash is not the committed one); the task's verifiers
 * post BLOCK evidence, the settlement takes the miner's stake. */
#include "sim/adversary/pouw_attack.h"

static void mine(void *self, sim_ctx *ctx, uint32_t node, uint64_t allowed, uint64_t *first, bool *fresh)
{
    (void)node;
    (void)allowed;
    (void)first;
    if (sim_pouw_attack_roll(ctx, self))
        *fresh = true;
}

static pu_err create(sim_ctx *ctx, sim_adversary *adv, char *err, size_t errlen)
{
    sim_pouw_cheat c = {.mine = mine};
    return sim_pouw_attack_new(ctx, adv, PU_ROLE_MINER, &c, err, errlen);
}

const sim_strategy sim_strategy_wrong_template = {
    .type = SIM_PARAMS_ADV_WRONG_TEMPLATE,
    .create = create,
    .finish = sim_pouw_attack_finish,
    .free_state = sim_pouw_attack_free,
};
