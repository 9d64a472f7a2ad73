/* sim/adversary/nonce_range.c -- a seated PoUW miner that mines with nonces
 * beyond the range its iteration allows (PROTOCOL.md s5.4 "Nonces": a
 * = max(1, floor((w_B batch_bytes + w_M P) / 1e9)) nonces per iteration,
 * so that the hash power a block needs is bought with training).
 *
 * Fields: node (a PoUW miner's node), start, stop, probability (chance per
 * iteration).  A cheating iteration tries the a nonces just past the
 * allowed ones, [base + a, base + 2a): the same number of tries as an honest
 * miner, so it finds blocks at the honest rate, and each is out of range.
 * What the protocol does: every honest node refuses the block
 * (bad-ml-work, NONCE_RANGE); the task's verifiers post BLOCK evidence
 * (NONCE_RANGE is the signer's fault: its block signature covers the
 * nonce), the settlement takes the miner's stake.  Its iteration messages
 * are honest, so the supervisor finds nothing. */
#include "sim/adversary/pouw_attack.h"

static void mine(void *self, sim_ctx *ctx, uint32_t node, uint64_t allowed, uint64_t *first, bool *fresh)
{
    (void)node;
    (void)fresh;
    if (sim_pouw_attack_roll(ctx, self))
        *first = allowed;
}

static pu_err create(sim_ctx *ctx, sim_adversary *adv, char *err, size_t errlen)
{
    sim_pouw_cheat c = {.mine = mine};
    return sim_pouw_attack_new(ctx, adv, PU_ROLE_MINER, &c, err, errlen);
}

const sim_strategy sim_strategy_nonce_range = {
    .type = SIM_PARAMS_ADV_NONCE_RANGE,
    .create = create,
    .finish = sim_pouw_attack_finish,
    .free_state = sim_pouw_attack_free,
};
