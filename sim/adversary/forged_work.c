/* sim/adversary/forged_work.c -- a seated PoUW miner that claims work it
 * did not do (PROTOCOL.md s5.6, s5.7, s7.6).
 *
 * Fields: node (a PoUW miner's node), start, stop, probability (chance that
 * an iteration is forged), mode:
 *   metrics  the message claims the whole batch right and a near-zero loss:
 *            what a miner does to mine with a batch whose accuracy is under
 *            the task's threshold (an honest miner does not sign such a
 *            block).  Re-execution gives other metrics: METRICS_MISMATCH.
 *   update   the message claims a made-up update message and end state (the
 *            hashes of work never done).  Re-execution gives other hashes:
 *            REEXEC_MISMATCH.
 * Either way the miner mines from the forged message as usual (committed
 * template, nonces from its claimed end state) and publishes what it finds.
 * What the protocol does: every honest node refuses the block (bad-ml-work
 * with the reason above), the task's verifiers post BLOCK evidence and its
 * supervisor MESSAGE evidence of the forged message, so the misconduct is
 * proven on chain and the settlement takes the miner's stake.  Outcome:
 * attempts = forged blocks published, successes = those in the reference
 * chain (0 expected), refusals by reason, stake_slashed. */
#include <string.h>

#include "sim/adversary/pouw_attack.h"

static void forge(void *self, sim_ctx *ctx, uint32_t node, pu_iter_msg *msg)
{
    (void)node;
    sim_pouw_attack *a = self;
    if (!sim_pouw_attack_roll(ctx, a))
        return;
    if (sim_params_adversary_mode_of(sim_adversary_params(a->adv)) == SIM_PARAMS_MODE_METRICS) {
        msg->correct = msg->batch_n;
        msg->loss_e9 = msg->loss_e9 / 100;
        return;
    }
    /* made-up hashes: deterministic, and no real update or model has them */
    pu_hash32 h;
    pu_sha256(ctx->crypto, msg->update_hash.b, 32, &h);
    msg->update_hash = h;
    pu_sha256(ctx->crypto, msg->model_end.b, 32, &h);
    msg->model_end = h;
}

static pu_err create(sim_ctx *ctx, sim_adversary *adv, char *err, size_t errlen)
{
    sim_pouw_cheat c = {.message = forge};
    return sim_pouw_attack_new(ctx, adv, PU_ROLE_MINER, &c, err, errlen);
}

const sim_strategy sim_strategy_forged_work = {
    .type = SIM_PARAMS_ADV_FORGED_WORK,
    .create = create,
    .finish = sim_pouw_attack_finish,
    .free_state = sim_pouw_attack_free,
};
