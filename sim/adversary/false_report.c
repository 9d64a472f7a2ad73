/* sim/adversary/false_report.c -- a seated supervisor or evaluator that
 * reports false results (PROTOCOL.md s7.4 TASK_RESULT and CONSENSUS_VOTE,
 * s7.6 settlement).
 *
 * Fields: node (a node running a PoUW evaluator or supervisor), start, stop,
 * probability (chance per report).  What it does by its role:
 *   evaluator   reports every miner's accuracy inverted (a becomes 1 - a,
 *               so the worst model ranks first) in each TASK_RESULT it
 *               posts.  Caught: every node re-evaluates the anchored final
 *               models, so the result is refused (its own node first, the
 *               mempool rule `kind-rule`, detailed `false-result`); it posts
 *               again at each new tip and is refused again; the task gets no
 *               result, ends unevaluated at hc + task_timeout blocks, the
 *               escrow goes back to the client, and the absent evaluator's
 *               stake is taken.
 *   supervisor  votes "no: reexec-mismatch" when its audit found nothing,
 *               "yes" when it found misconduct.  Not caught: the rules check
 *               who votes and when, not what the vote says (a vote cannot be
 *               re-checked without the supervisor's whole record), and the
 *               settlement pays every supervisor who voted; miners are paid
 *               by evidence and evaluation, which the vote does not touch, so
 *               the lie changes no payout either.
 * Outcome: attempts = false reports posted, successes = those its node's
 * rules accepted; detail: role, refused (and the detailed reason of the
 * first refusal), and the seat figures of every PoUW attack. */
#include <stdlib.h>
#include <string.h>

#include "core/econ.h"
#include "sim/adversary/pouw_attack.h"

typedef struct liar {
    int role;
    uint64_t refused;
    uint8_t first_reason;      /* pu_econ_reason of its first refused report */
} liar;

static void result(void *self, sim_ctx *ctx, uint32_t node, uint32_t *acc, uint32_t n)
{
    (void)node;
    sim_pouw_attack *a = self;
    if (!sim_pouw_attack_roll(ctx, a))
        return;
    for (uint32_t i = 0; i < n; i++)
        if (acc[i] != UINT32_MAX)
            acc[i] = 1000000u - acc[i];
    sim_adversary_outcome(a->adv)->attempts++;
}

static void vote(void *self, sim_ctx *ctx, uint32_t node, uint8_t *found)
{
    (void)node;
    sim_pouw_attack *a = self;
    if (!sim_pouw_attack_roll(ctx, a))
        return;
    *found = *found ? PU_POUW_OK : PU_POUW_REEXEC_MISMATCH;
    sim_adversary_outcome(a->adv)->attempts++;
}

/* Its own node refusing what it posted: a false report caught at once. */
static void on_event(sim_ctx *ctx, sim_adversary *adv, const sim_obs *ev)
{
    sim_pouw_attack *a = sim_adversary_state(adv);
    liar *l = a->strategy;
    if (ev->node != a->node || !a->cheating || !sim_adversary_active(adv))
        return;
    pu_econ_reason why;
    if (!pu_econ_tx_verdict(sim_pouw_econ(ctx->pouw), pu_tx_id(ev->tx), &why))
        return; /* not refused by the PoUW rules: not its report */
    if (!l->refused++)
        l->first_reason = (uint8_t)why;
    a->cheating = false; /* one refusal per report */
}

static pu_err create(sim_ctx *ctx, sim_adversary *adv, char *err, size_t errlen)
{
    int role = -1;
    const pu_keypair *key;
    uint32_t node = (uint32_t)sim_adversary_params(adv)->node;
    if (!sim_pouw_worker(ctx, node, &role, &key) || (role != PU_ROLE_EVALUATOR && role != PU_ROLE_SUPERVISOR)) {
        uint32_t ev[8], sv[8];
        size_t ne = sim_pouw_role_nodes(ctx, PU_ROLE_EVALUATOR, ev, 8);
        size_t ns = sim_pouw_role_nodes(ctx, PU_ROLE_SUPERVISOR, sv, 8);
        snprintf(err, errlen,
                 "adversaries[%u].node: node %u runs no PoUW evaluator or supervisor with this seed; the "
                 "evaluator nodes are: %s%u%s, the supervisor nodes: %s%u%s",
                 sim_adversary_index(adv), node, ne ? "" : "none", ne ? ev[0] : 0, ne > 1 ? ", ..." : "",
                 ns ? "" : "none", ns ? sv[0] : 0, ns > 1 ? ", ..." : "");
        return PU_ERR_INVALID;
    }
    sim_pouw_cheat c = {.result = result, .vote = vote};
    pu_err rc = sim_pouw_attack_new(ctx, adv, role, &c, err, errlen);
    liar *l = rc == PU_OK ? calloc(1, sizeof *l) : NULL;
    if (rc == PU_OK && !l)
        rc = PU_ERR_NOMEM;
    if (rc == PU_OK) {
        l->role = role;
        ((sim_pouw_attack *)sim_adversary_state(adv))->strategy = l;
    }
    return rc;
}

static void finish(sim_ctx *ctx, sim_adversary *adv)
{
    sim_pouw_attack *a = sim_adversary_state(adv);
    liar *l = a->strategy;
    sim_attack_outcome *o = sim_adversary_outcome(adv);
    o->successes = o->attempts - l->refused;
    o->success_rate = o->attempts ? (double)o->successes / (double)o->attempts : o->success_rate;
    snprintf(o->detail, sizeof o->detail, "role=%s refused=%llu first=%s",
             l->role == PU_ROLE_EVALUATOR ? "evaluator" : "supervisor", (unsigned long long)l->refused,
             l->refused ? pu_econ_reason_str((pu_econ_reason)l->first_reason) : "none");
    sim_pouw_attack_finish(ctx, adv);
}

static void free_state(void *state)
{
    sim_pouw_attack *a = state;
    if (a)
        free(a->strategy);
    sim_pouw_attack_free(state);
}

const sim_strategy sim_strategy_false_report = {
    .type = SIM_PARAMS_ADV_FALSE_REPORT,
    .create = create,
    .on_event = on_event,
    .obs_mask = SIM_OBS_BIT(SIM_OBS_TX_REFUSED),
    .finish = finish,
    .free_state = free_state,
};
