/* sim/adversary/eclipse.c -- the eclipse attack: the attacker's node takes
 * every peer slot of its victims (`target`, or the nodes of `nodes`) and
 * filters what they see.
 *
 * At start each victim's links are cut and replaced by one link to the
 * attacker's node (eclipse.h), which keeps running the honest protocol;
 * while active, every message from the attacker's node to a victim that
 * carries or names blocks or transactions is, by `mode`:
 *   drop     dropped: the victim sees nothing of the network;
 *   delay    delayed by `delay`;
 *   reorder  delayed by a uniform draw in [0, `delay`] from the adversary's
 *            own stream, so the victim sees messages out of order.
 * Requests and sync locators pass.  The outcome counts msgs_dropped /
 * msgs_delayed, and `detail` gives how far behind the attacker's view a
 * victim fell at worst (peak_lag, blocks).  At stop the victims get their
 * links back and sync.  Double spending against an eclipsed merchant is
 * double_spend with `eclipse: true` (double_spend.c). */
#include <stdlib.h>
#include <string.h>

#include "sim/adversary/eclipse.h"
#include "sim/node.h"

/* ---- isolation (eclipse.h) ---- */

typedef struct edge {
    uint32_t a, b;
} edge;

struct sim_eclipse {
    uint32_t attacker;
    uint32_t *victims;
    size_t n;
    edge *cut;                /* links removed */
    size_t n_cut;
    edge *added;              /* links added */
    size_t n_added;
};

static pu_err push_edge(edge **v, size_t *n, uint32_t a, uint32_t b)
{
    edge *e = realloc(*v, (*n + 1) * sizeof *e);
    if (!e)
        return PU_ERR_NOMEM;
    *v = e;
    e[(*n)++] = (edge){a, b};
    return PU_OK;
}

void sim_eclipse_free(sim_eclipse *e)
{
    if (!e)
        return;
    free(e->victims);
    free(e->cut);
    free(e->added);
    free(e);
}

bool sim_eclipse_victim(const sim_eclipse *e, uint32_t v)
{
    for (size_t i = 0; e && i < e->n; i++)
        if (e->victims[i] == v)
            return true;
    return false;
}

/* Cut v's links except the one to the attacker; link it to the attacker. */
static pu_err isolate_one(sim_ctx *ctx, sim_eclipse *e, uint32_t v)
{
    pu_err rc = PU_OK;
    for (;;) {
        uint32_t deg;
        const uint32_t *nb = sim_topo_neighbors(ctx->topo, v, &deg);
        uint32_t k = 0;
        while (k < deg && nb[k] == e->attacker)
            k++;
        if (k == deg)
            break;
        uint32_t u = nb[k]; /* the array changes with every removal: look again */
        rc = push_edge(&e->cut, &e->n_cut, v, u);
        if (rc == PU_OK)
            rc = sim_topo_remove_edge(ctx->topo, v, u);
        if (rc != PU_OK)
            return rc;
    }
    if (!sim_topo_has_edge(ctx->topo, v, e->attacker)) {
        rc = push_edge(&e->added, &e->n_added, v, e->attacker);
        if (rc == PU_OK)
            rc = sim_topo_add_edge(ctx->topo, v, e->attacker);
    }
    return rc;
}

pu_err sim_eclipse_isolate(sim_ctx *ctx, uint32_t attacker, const uint32_t *victims, size_t n,
                           sim_eclipse **out)
{
    sim_eclipse *e = calloc(1, sizeof *e);
    *out = NULL;
    if (!e)
        return PU_ERR_NOMEM;
    e->attacker = attacker;
    e->victims = malloc((n ? n : 1) * sizeof *e->victims);
    pu_err rc = e->victims ? PU_OK : PU_ERR_NOMEM;
    for (size_t i = 0; rc == PU_OK && i < n; i++) {
        e->victims[e->n++] = victims[i];
        rc = isolate_one(ctx, e, victims[i]);
    }
    if (rc != PU_OK) {
        sim_eclipse_restore(ctx, e);
        return rc;
    }
    *out = e;
    return PU_OK;
}

void sim_eclipse_restore(sim_ctx *ctx, sim_eclipse *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->n_added; i++)
        PU_IGNORE(sim_topo_remove_edge(ctx->topo, e->added[i].a, e->added[i].b));
    for (size_t i = 0; i < e->n_cut; i++)
        PU_IGNORE(sim_topo_add_edge(ctx->topo, e->cut[i].a, e->cut[i].b)); /* EXISTS: harmless */
    for (size_t i = 0; i < e->n; i++)
        if (ctx->nodes[e->victims[i]].online)
            sim_node_sync(ctx, &ctx->nodes[e->victims[i]], true);
    sim_eclipse_free(e);
}

bool sim_eclipse_is_content(const sim_msg *m)
{
    switch (m->kind) {
    case SIM_MSG_NEW_BLOCK: case SIM_MSG_BLOCK_DATA: case SIM_MSG_CMPCT_BLOCK:
    case SIM_MSG_BLOCK_TXN: case SIM_MSG_NEW_TRANSACTION: case SIM_MSG_MEMPOOL_STATE:
    case SIM_MSG_CHAIN_STATUS: case SIM_MSG_TX_INV: case SIM_MSG_TX_DATA:
        return true;
    default:
        return false;
    }
}

/* ---- the strategy ---- */

typedef struct eclipse {
    sim_adversary *adv;
    uint32_t node;
    int mode;
    uint64_t delay_ns;
    uint32_t *victims;
    size_t n;
    sim_eclipse *iso;         /* while active */
    sim_rng rng;              /* reorder draws */
    uint64_t peak_lag;
} eclipse;

static sim_link_verdict filter(void *self, sim_ctx *ctx, const sim_msg *m, uint64_t *extra_ns)
{
    (void)ctx;
    eclipse *e = self;
    if (!e->iso || m->from != e->node || !sim_eclipse_victim(e->iso, m->to) || !sim_eclipse_is_content(m))
        return SIM_LINK_PASS;
    sim_attack_outcome *o = sim_adversary_outcome(e->adv);
    if (e->mode == SIM_PARAMS_MODE_DROP) {
        o->msgs_dropped++;
        return SIM_LINK_DROP;
    }
    o->msgs_delayed++;
    *extra_ns = e->mode == SIM_PARAMS_MODE_DELAY ? e->delay_ns : sim_rng_below(&e->rng, e->delay_ns + 1);
    return SIM_LINK_DELAY;
}

static pu_err create(sim_ctx *ctx, sim_adversary *adv, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    const sim_params_adversary *a = sim_adversary_params(adv);
    eclipse *e = calloc(1, sizeof *e);
    if (!e)
        return PU_ERR_NOMEM;
    sim_adversary_set_state(adv, e);
    e->adv = adv;
    e->node = (uint32_t)a->node;
    e->mode = sim_params_adversary_mode_of(a);
    e->delay_ns = a->delay_ns;
    e->rng = sim_adversary_rng(ctx, adv, 1);
    e->n = a->nodes.n ? a->nodes.n : 1;
    e->victims = malloc(e->n * sizeof *e->victims);
    if (!e->victims)
        return PU_ERR_NOMEM;
    for (size_t i = 0; i < e->n; i++)
        e->victims[i] = (uint32_t)(a->nodes.n ? a->nodes.v[i] : a->target);
    sim_link_filter f = {filter, e};
    pu_err rc = sim_adversary_take_node(ctx, adv, e->node, &sim_behavior_honest, NULL);
    if (rc == PU_OK)
        rc = sim_add_link_filter(ctx, &f);
    return rc;
}

static void start(sim_ctx *ctx, sim_adversary *adv)
{
    eclipse *e = sim_adversary_state(adv);
    if (sim_eclipse_isolate(ctx, e->node, e->victims, e->n, &e->iso) != PU_OK)
        sim_fail(ctx, PU_ERR_NOMEM, "eclipse");
}

static void stop(sim_ctx *ctx, sim_adversary *adv)
{
    eclipse *e = sim_adversary_state(adv);
    sim_eclipse_restore(ctx, e->iso);
    e->iso = NULL;
}

/* How far behind the attacker's view its victims are. */
static void on_event(sim_ctx *ctx, sim_adversary *adv, const sim_obs *ev)
{
    eclipse *e = sim_adversary_state(adv);
    if (!e->iso || ev->node != e->node)
        return;
    uint32_t h = pu_chain_height(ctx->nodes[e->node].chain);
    for (size_t i = 0; i < e->n; i++) {
        uint32_t hv = pu_chain_height(ctx->nodes[e->victims[i]].chain);
        if (h > hv && h - hv > e->peak_lag)
            e->peak_lag = h - hv;
    }
}

static void finish(sim_ctx *ctx, sim_adversary *adv)
{
    (void)ctx;
    eclipse *e = sim_adversary_state(adv);
    static const char modes[4][8] = {"", "drop", "delay", "reorder"};
    snprintf(sim_adversary_outcome(adv)->detail, sizeof sim_adversary_outcome(adv)->detail,
             "mode=%s victims=%zu delay_ns=%llu peak_lag=%llu", modes[e->mode & 3], e->n,
             (unsigned long long)e->delay_ns, (unsigned long long)e->peak_lag);
}

static void free_state(void *state)
{
    eclipse *e = state;
    if (!e)
        return;
    sim_eclipse_free(e->iso);
    free(e->victims);
    free(e);
}

const sim_strategy sim_strategy_eclipse = {
    SIM_PARAMS_ADV_ECLIPSE, create, start, stop, on_event, SIM_OBS_BIT(SIM_OBS_TIP_CHANGED), NULL,
    finish, free_state,
};
