/* sim/adversary/partition.c -- a routing attacker: it controls chosen links
 * (an ISP, a BGP hijack) and, while active, drops or delays every message on
 * them, in both directions.
 *
 * The links are `links` ([a, b] rows) or every link between the nodes of
 * `nodes` and the rest of the network.  mode drop: the messages are lost on
 * the link (the sender's uplink is not charged); mode delay: they arrive
 * `delay` later than the network alone would deliver them.  Cutting links is
 * not cutting the network: messages still flow around the cut where the
 * topology has other paths (the outcome counts what the attacker touched,
 * msgs_dropped / msgs_delayed).  It runs on no node and mines nothing; at
 * stop the links carry messages again and the nodes catch up by themselves
 * (orphans fetch their parents, announcements resume). */
#include <stdlib.h>

#include "sim/adversary/adversary.h"
#include "sim/node.h"

typedef struct routing {
    sim_adversary *adv;
    int mode;                 /* SIM_PARAMS_MODE_DROP or _DELAY */
    uint64_t delay_ns;
    uint8_t *side;            /* nodes: 1 for the listed ones (NULL with links) */
    pu_hmap *links;           /* links: (min, max) id pair -> nothing (NULL with nodes) */
} routing;

static void link_key(uint32_t a, uint32_t b, uint8_t k[8])
{
    uint32_t lo = a < b ? a : b, hi = a < b ? b : a;
    for (int i = 0; i < 4; i++) {
        k[i] = (uint8_t)(lo >> (24 - 8 * i));
        k[4 + i] = (uint8_t)(hi >> (24 - 8 * i));
    }
}

static bool cut(const routing *r, uint32_t a, uint32_t b)
{
    if (r->side)
        return r->side[a] != r->side[b];
    uint8_t k[8];
    link_key(a, b, k);
    return pu_hmap_get(r->links, k) != NULL;
}

static sim_link_verdict filter(void *self, sim_ctx *ctx, const sim_msg *m, uint64_t *extra_ns)
{
    (void)ctx;
    routing *r = self;
    if (!sim_adversary_active(r->adv) || !cut(r, m->from, m->to))
        return SIM_LINK_PASS;
    sim_attack_outcome *o = sim_adversary_outcome(r->adv);
    if (r->mode == SIM_PARAMS_MODE_DELAY) {
        o->msgs_delayed++;
        *extra_ns = r->delay_ns;
        return SIM_LINK_DELAY;
    }
    o->msgs_dropped++;
    return SIM_LINK_DROP;
}

static pu_err create(sim_ctx *ctx, sim_adversary *adv, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    const sim_params_adversary *a = sim_adversary_params(adv);
    routing *r = calloc(1, sizeof *r);
    if (!r)
        return PU_ERR_NOMEM;
    sim_adversary_set_state(adv, r);
    r->adv = adv;
    r->mode = sim_params_adversary_mode_of(a);
    r->delay_ns = a->delay_ns;
    sim_attack_outcome *o = sim_adversary_outcome(adv);
    o->node = UINT32_MAX;
    pu_err rc = PU_OK;
    if (a->nodes.n) {
        r->side = calloc(ctx->n, 1);
        rc = r->side ? PU_OK : PU_ERR_NOMEM;
        for (size_t i = 0; rc == PU_OK && i < a->nodes.n; i++)
            r->side[a->nodes.v[i]] = 1;
    } else {
        rc = pu_hmap_new(8, 0, a->links.rows, &r->links);
        for (size_t i = 0; rc == PU_OK && i < a->links.rows; i++) {
            uint8_t k[8];
            void *v;
            link_key((uint32_t)a->links.v[2 * i], (uint32_t)a->links.v[2 * i + 1], k);
            rc = pu_hmap_put(r->links, k, &v, NULL);
        }
    }
    snprintf(o->detail, sizeof o->detail, "mode=%s %s=%zu delay_ns=%llu",
             r->mode == SIM_PARAMS_MODE_DELAY ? "delay" : "drop", r->side ? "nodes" : "links",
             r->side ? a->nodes.n : a->links.rows, (unsigned long long)r->delay_ns);
    sim_link_filter f = {filter, r};
    if (rc == PU_OK)
        rc = sim_add_link_filter(ctx, &f);
    return rc;
}

static void free_state(void *state)
{
    routing *r = state;
    if (!r)
        return;
    free(r->side);
    pu_hmap_free(r->links);
    free(r);
}

const sim_strategy sim_strategy_partition = {
    SIM_PARAMS_ADV_PARTITION, create, NULL, NULL, NULL, 0, NULL, NULL, free_state,
};
