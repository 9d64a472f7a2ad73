/* sim/adversary/poisoning.c -- a seated PoUW miner that sends poisoned
 * gradient updates to the other miners (PROTOCOL.md s5.4: each iteration's
 * update message is applied by the peers at the start of their next one).
 *
 * Fields: node (a PoUW miner's node), start, stop, probability (chance per
 * iteration).  A poisoning iteration trains honestly (its own model takes
 * the true update) and sends the update with every sign flipped: the
 * peers who apply it move their parameters up the gradient.  Its message
 * names the update it sent, so it is signed and attributable.
 *
 * What the protocol catches: the update is not what re-executing the
 * iteration gives, so the supervisor's audit finds REEXEC_MISMATCH and its
 * MESSAGE evidence proves it on chain; any block mined from such a message
 * is refused (bad-ml-work, reexec-mismatch) by every honest node; the
 * settlement takes the miner's stake; once the misconduct is proven on a
 * miner's branch, the honest miners stop applying its updates.
 * What it does not: the poisoned updates applied before the proof is
 * confirmed stay in the honest models (there is no rollback of training),
 * so the task's accuracy can suffer: compare /tasks.best_accuracy with the
 * honest run (the scenario's header has both).  attempts = poisoned
 * blocks published, detail `cheats` = poisoned updates sent. */
#include <stdlib.h>

#include "sim/adversary/pouw_attack.h"

static bool poison(void *self, sim_ctx *ctx, uint32_t node, pu_ml_update *u)
{
    (void)node;
    if (!sim_pouw_attack_roll(ctx, self))
        return false;
    uint32_t n = pu_ml_update_count(u);
    const uint32_t *e = pu_ml_update_entries(u);
    uint32_t *flipped = malloc((n ? n : 1) * sizeof *flipped);
    if (!flipped) {
        sim_fail(ctx, PU_ERR_NOMEM, "poisoning");
        return false;
    }
    for (uint32_t i = 0; i < n; i++)
        flipped[i] = e[i] ^ PU_ML_UPDATE_NEG;
    pu_err rc = pu_ml_update_set(u, pu_ml_update_nparams(u), flipped, n);
    free(flipped);
    if (rc != PU_OK)
        sim_fail(ctx, rc, "poisoning");
    return rc == PU_OK;
}

static pu_err create(sim_ctx *ctx, sim_adversary *adv, char *err, size_t errlen)
{
    sim_pouw_cheat c = {.update = poison};
    return sim_pouw_attack_new(ctx, adv, PU_ROLE_MINER, &c, err, errlen);
}

const sim_strategy sim_strategy_poisoning = {
    .type = SIM_PARAMS_ADV_POISONING,
    .create = create,
    .finish = sim_pouw_attack_finish,
    .free_state = sim_pouw_attack_free,
};
