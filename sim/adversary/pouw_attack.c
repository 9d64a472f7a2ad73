/* sim/adversary/pouw_attack.c -- the shared part of the PoUW attacks
 * (pouw_attack.h). */
#include "sim/adversary/pouw_attack.h"

#include <stdlib.h>
#include <string.h>

#include "core/hmap.h"

typedef struct attack_box {
    sim_pouw_attack a;
    pu_hmap *cheated;          /* hashes of the blocks it published cheating */
    pu_keypair own;            /* its key when its node runs no PoUW worker */
} attack_box;

static void beh_block_found(sim_ctx *ctx, sim_node *nd, pu_block *b)
{
    sim_pouw_attack *a = nd->beh_state;
    if (a->cheating && sim_adversary_active(a->adv) && pu_header_is_pouw(pu_block_header(b)))
        sim_pouw_attack_publish(ctx, a, b); /* its own node knows better than to keep it */
    else
        sim_node_default_block_found(ctx, nd, b);
}

static const sim_behavior pouw_cheater = {
    "pouw_cheater", sim_node_default_message, beh_block_found, sim_node_default_timer, NULL,
};

static void role_name(int role, char *buf, size_t n)
{
    static const char names[5][12] = {"client", "miner", "supervisor", "evaluator", "verifier"};
    snprintf(buf, n, "%s", role >= 0 && role < 5 ? names[role] : "?");
}

pu_err sim_pouw_attack_new(sim_ctx *ctx, sim_adversary *adv, int role, const sim_pouw_cheat *cheat,
                           char *err, size_t errlen)
{
    const sim_params_adversary *cfg = sim_adversary_params(adv);
    uint32_t node = (uint32_t)cfg->node, idx = sim_adversary_index(adv);
    int have = -1;
    const pu_keypair *key = NULL;
    bool worker = sim_pouw_worker(ctx, node, &have, &key);
    if (role >= 0 && (!worker || (role && have != role))) {
        /* the roles are dealt with the run's seed: say where they are */
        uint32_t nodes[16];
        size_t n = sim_pouw_role_nodes(ctx, role, nodes, 16);
        char list[128] = "", rn[16];
        size_t used = 0;
        for (size_t i = 0; i < n && i < 16 && used < sizeof list - 12; i++)
            used += (size_t)snprintf(list + used, sizeof list - used, "%s%u", i ? ", " : "", nodes[i]);
        role_name(role, rn, sizeof rn);
        snprintf(err, errlen,
                 "adversaries[%u].node: node %u runs no PoUW %s with this seed; the %s nodes are: %s",
                 idx, node, rn, rn, n ? list : "none (pouw.miners is 0)");
        return PU_ERR_INVALID;
    }
    attack_box *box = calloc(1, sizeof *box);
    if (!box)
        return PU_ERR_NOMEM;
    sim_pouw_attack *a = &box->a;
    a->adv = adv;
    a->node = node;
    a->key = key;
    a->rng = sim_adversary_rng(ctx, adv, 1);
    sim_adversary_set_state(adv, box);
    pu_err rc = PU_OK;
    if (!worker) {
        pu_hash32 seed;
        sim_rng kr = sim_adversary_rng(ctx, adv, 2);
        for (int i = 0; i < 32; i++)
            seed.b[i] = (uint8_t)sim_rng_u64(&kr);
        rc = pu_key_from_seed(ctx->crypto, seed.b, &box->own);
        a->key = &box->own;
    }
    if (rc == PU_OK)
        rc = pu_hmap_new(32, 0, 16, &box->cheated);
    if (rc == PU_OK)
        rc = sim_adversary_take_node(ctx, adv, node, &pouw_cheater, a);
    if (rc == PU_OK && cheat) {
        sim_pouw_cheat c = *cheat;
        c.self = a;
        rc = sim_pouw_set_cheat(ctx, node, &c);
    }
    return rc;
}

void sim_pouw_attack_free(void *state)
{
    attack_box *box = state;
    if (!box)
        return;
    pu_hmap_free(box->cheated);
    free(box);
}

bool sim_pouw_attack_roll(sim_ctx *ctx, sim_pouw_attack *a)
{
    (void)ctx;
    a->cheating = false;
    if (!sim_adversary_active(a->adv))
        return false;
    a->opportunities++;
    double p = sim_adversary_params(a->adv)->probability;
    a->cheating = sim_rng_unit(&a->rng) < p;
    a->cheats += a->cheating;
    return a->cheating;
}

void sim_pouw_attack_publish(sim_ctx *ctx, sim_pouw_attack *a, pu_block *b)
{
    attack_box *box = (attack_box *)a;
    void *v;
    if (pu_hmap_put(box->cheated, pu_block_hash(b)->b, &v, NULL) != PU_OK
        || sim_adversary_own_block(a->adv, b) != PU_OK) {
        sim_fail(ctx, PU_ERR_NOMEM, "pouw attack");
        return;
    }
    sim_adversary_outcome(a->adv)->attempts++;
    sim_node *nd = &ctx->nodes[a->node];
    for (uint32_t v2 = 0; v2 < ctx->n; v2++)
        if (v2 != a->node)
            sim_node_send_block(ctx, nd, v2, SIM_MSG_BLOCK_DATA, b);
}

void sim_pouw_attack_finish(sim_ctx *ctx, sim_adversary *adv)
{
    attack_box *box = sim_adversary_state(adv);
    sim_pouw_attack *a = &box->a;
    sim_attack_outcome *o = sim_adversary_outcome(adv);
    const pu_chain *best = sim_best_chain(ctx);
    for (uint32_t h = pu_chain_height(best); h > 0; h--)
        o->successes += pu_hmap_get(box->cheated, pu_block_hash(pu_chain_block_at(best, h))->b) != NULL;
    sim_pouw_fate f;
    pu_err rc = sim_pouw_worker_fate(ctx, a->node, &f);
    if (rc != PU_OK) {
        sim_fail(ctx, rc, "pouw attack outcome");
        return;
    }
    o->stake_slashed = f.slashed;
    size_t n = strlen(o->detail);
    snprintf(o->detail + n, sizeof o->detail - n,
             "%sopportunities=%llu cheats=%llu seats=%u staked=%lld proven=%u reason=%s", n ? " " : "",
             (unsigned long long)a->opportunities, (unsigned long long)a->cheats, f.seats,
             (long long)f.staked, f.proven, pu_pouw_reason_str((pu_pouw_reason)f.proven_reason));
}
