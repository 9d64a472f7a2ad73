/* sim/adversary/replay.c -- a node that passes another miner's iteration
 * off as its own work (PROTOCOL.md s5.5: the block signature "without it
 * anyone holding a miner's public messages could build blocks from them").
 *
 * Fields: node (any node; it signs with its PoUW worker's key if it runs
 * one, else with a key of its own), start, stop, probability (chance per
 * PoUW block of another miner that its node connects).  When its node
 * connects such a block B, it builds the next block on B: its own coinbase
 * (no other transaction), and B's PoUW fields and proof -- the iteration
 * message, commitment and history of B's miner -- signed with its own key.
 * It grinds the nonces that iteration allows (over up to 64 timestamps, as
 * it is its only freedom) until the header meets the target, then publishes
 * the block.  What the protocol does: every honest node refuses it
 * (bad-ml-work, BAD_SIGNATURE: the block signature is not the key of the
 * message's miner).  Not slashable (s5.6: codes 1-4 are nobody's provably;
 * the replayer's key signed no iteration of the task), so no stake is
 * taken: stake_slashed is 0 by the rules, and the attack costs the replayer
 * its grinding only.  attempts = replayed blocks published. */
#include <stdlib.h>
#include <string.h>

#include "sim/adversary/pouw_attack.h"

#define REPLAY_TIMESTAMPS 64u

/* Block nb (a draft on B) with B's PoUW fields; ground and signed: PU_OK and
 * *found when a nonce met the target. */
static pu_err grind(sim_ctx *ctx, const sim_pouw_attack *a, const pu_block *orig, pu_block *nb,
                    bool *found)
{
    uint32_t plen;
    const uint8_t *proof = pu_block_proof(orig, &plen);
    pu_pouw_proof pr;
    *found = false;
    if (pu_pouw_proof_decode(proof, plen, &pr) != PU_OK)
        return PU_OK; /* nothing to replay */
    const pu_header *ho = pu_block_header(orig);
    pu_header h = *pu_block_header(nb);
    h.ml_task_id = ho->ml_task_id;
    h.msg_history = ho->msg_history;
    h.iter_msg = ho->iter_msg;
    h.zero_nonce = ho->zero_nonce;
    uint64_t base = pu_pouw_nonce_base(ctx->crypto, &pr.msg.model_end, &pr.msg.update_hash);
    pu_task_state st; /* the task is public: its nonce count too */
    pu_err rc = pu_econ_task_state(sim_pouw_econ(ctx->pouw), ctx->nodes[a->node].chain, &ho->ml_task_id, &st);
    if (rc != PU_OK) {
        pu_pouw_proof_release(&pr);
        return rc == PU_ERR_NOTFOUND ? PU_OK : rc;
    }
    uint64_t allowed = pu_pouw_nonce_count(&ctx->cp, &st.def, pr.msg.batch_n);
    uint64_t t0 = h.timestamp;
    for (uint32_t d = 0; d < REPLAY_TIMESTAMPS && !*found; d++)
        for (uint64_t j = 0; j < allowed && !*found; j++) {
            pu_hash32 hh;
            h.timestamp = t0 + d;
            h.nonce = base + j;
            pu_header_hash(ctx->crypto, &h, &hh);
            *found = pu_hash_meets_bits(&hh, h.bits);
        }
    uint8_t *bytes = NULL;
    size_t len = 0;
    if (*found)
        rc = pu_pouw_sign_block(ctx->crypto, &h, a->key, pr.block_sig);
    if (*found && rc == PU_OK)
        rc = pu_pouw_proof_encode(&pr, &bytes, &len);
    if (*found && rc == PU_OK)
        rc = pu_block_set_proof(nb, bytes, len);
    if (*found && rc == PU_OK) {
        *pu_block_header_mut(nb) = h;
        rc = pu_block_finalize(ctx->crypto, nb);
    }
    free(bytes);
    pu_pouw_proof_release(&pr);
    return rc;
}

static void replay(sim_ctx *ctx, sim_pouw_attack *a, const pu_block *orig)
{
    sim_node *nd = &ctx->nodes[a->node];
    uint32_t plen;
    pu_block_proof(orig, &plen);
    pu_block *nb = NULL;
    /* a placeholder proof of the final size: the template leaves it room */
    uint8_t *room = calloc(1, plen);
    pu_err rc = room ? PU_OK : PU_ERR_NOMEM;
    /* no transactions: at this event B's are still in the node's mempool */
    pu_tx *none[1] = {NULL};
    if (rc == PU_OK)
        rc = pu_chain_create_block(nd->chain, none, 0, &a->key->addr, room, plen, sim_now_s(ctx), &nb);
    free(room);
    bool found = false;
    if (rc == PU_OK)
        rc = grind(ctx, a, orig, nb, &found);
    if (rc != PU_OK) {
        pu_block_unref(nb);
        sim_fail(ctx, rc, "replay");
        return;
    }
    if (found) {
        sim_pouw_block_made(ctx, a->node, nb);
        sim_pouw_attack_publish(ctx, a, nb);
    }
    pu_block_unref(nb);
}

static void on_event(sim_ctx *ctx, sim_adversary *adv, const sim_obs *ev)
{
    sim_pouw_attack *a = sim_adversary_state(adv);
    if (ev->node != a->node || !pu_header_is_pouw(pu_block_header(ev->block))
        || sim_adversary_is_own_block(adv, pu_block_hash(ev->block))
        || !pu_hash_eq(pu_chain_tip_hash(ctx->nodes[a->node].chain), pu_block_hash(ev->block)))
        return;
    if (sim_pouw_attack_roll(ctx, a))
        replay(ctx, a, ev->block);
    a->cheating = false; /* its node's own blocks are its miner's business */
}

static pu_err create(sim_ctx *ctx, sim_adversary *adv, char *err, size_t errlen)
{
    return sim_pouw_attack_new(ctx, adv, -1, NULL, err, errlen);
}

const sim_strategy sim_strategy_replay = {
    .type = SIM_PARAMS_ADV_REPLAY,
    .create = create,
    .on_event = on_event,
    .obs_mask = SIM_OBS_BIT(SIM_OBS_BLOCK_CONNECTED),
    .finish = sim_pouw_attack_finish,
    .free_state = sim_pouw_attack_free,
};
