/* sim/adversary/branch.c -- a private branch beside a node's public chain
 * (see branch.h). */
#include "sim/adversary/branch.h"

#include <stdlib.h>

#include "sim/node.h"

typedef struct held {
    pu_block *b;              /* reference held */
    uint32_t height;
} held;

struct sim_branch {
    uint32_t node;
    pu_chain *chain;
    held *w;                  /* withheld, lowest first */
    uint32_t n, cap;
};

pu_err sim_branch_new(sim_ctx *ctx, uint32_t node, sim_branch **out)
{
    *out = NULL;
    sim_branch *br = calloc(1, sizeof *br);
    if (!br)
        return PU_ERR_NOMEM;
    /* first seen (the default): its own blocks stay its tip on ties */
    pu_chain_opts o = {&ctx->cp, ctx->crypto, ctx->sigcache, ctx->valcache, ctx->rules};
    br->node = node;
    pu_err rc = pu_chain_new(&o, ctx->genesis, &br->chain);
    if (rc != PU_OK) {
        free(br);
        return rc;
    }
    *out = br;
    return PU_OK;
}

static void forget(sim_branch *br, uint32_t from)
{
    for (uint32_t i = from; i < br->n; i++)
        pu_block_unref(br->w[i].b);
    br->n = from;
}

void sim_branch_free(sim_branch *br)
{
    if (!br)
        return;
    forget(br, 0);
    free(br->w);
    pu_chain_free(br->chain);
    free(br);
}

pu_chain *sim_branch_chain(const sim_branch *br) { return br->chain; }
uint32_t sim_branch_height(const sim_branch *br) { return pu_chain_height(br->chain); }
uint32_t sim_branch_withheld(const sim_branch *br) { return br->n; }
uint32_t sim_branch_first_withheld(const sim_branch *br) { return br->n ? br->w[0].height : 0; }

static void add(sim_ctx *ctx, sim_branch *br, pu_block *b, const char *what)
{
    pu_add_result res;
    pu_err rc = pu_chain_add_block(br->chain, b, sim_now_s(ctx), &res);
    if (rc != PU_OK && rc != PU_ERR_EXISTS)
        sim_fail(ctx, rc, what); /* the attacker's own view refused a block: a model bug */
}

void sim_branch_add_own(sim_ctx *ctx, sim_branch *br, pu_block *b)
{
    if (br->n == br->cap) {
        uint32_t cap = br->cap ? 2 * br->cap : 16;
        held *w = realloc(br->w, cap * sizeof *w);
        if (!w) {
            sim_fail(ctx, PU_ERR_NOMEM, "private branch");
            return;
        }
        br->w = w;
        br->cap = cap;
    }
    add(ctx, br, b, "private branch: own block");
    br->w[br->n++] = (held){pu_block_ref(b), pu_chain_height(br->chain)};
}

bool sim_branch_add_tx(sim_branch *br, pu_tx *tx)
{
    pu_reason why;
    return pu_chain_add_tx(br->chain, tx, &why) == PU_OK;
}

uint32_t sim_branch_adopt(sim_ctx *ctx, sim_branch *br)
{
    return sim_branch_adopt_from(ctx, br, ctx->nodes[br->node].chain);
}

uint32_t sim_branch_adopt_from(sim_ctx *ctx, sim_branch *br, const pu_chain *pub)
{
    uint32_t top = pu_chain_height(pub), fork = top;
    while (fork > 0 && !pu_chain_get(br->chain, pu_block_hash(pu_chain_block_at(pub, fork)), NULL, NULL))
        fork--;
    for (uint32_t h = fork + 1; h <= top && ctx->fatal == PU_OK; h++)
        add(ctx, br, pu_chain_block_at(pub, h), "private branch: adopt");
    /* withheld blocks that left the branch's active chain are orphaned */
    uint32_t keep = 0;
    while (keep < br->n) {
        const pu_block *at = pu_chain_block_at(br->chain, br->w[keep].height);
        if (!at || !pu_hash_eq(pu_block_hash(at), pu_block_hash(br->w[keep].b)))
            break;
        keep++;
    }
    uint32_t lost = br->n - keep;
    forget(br, keep);
    return lost;
}

uint32_t sim_branch_publish(sim_ctx *ctx, sim_branch *br, uint32_t max_height)
{
    sim_node *nd = &ctx->nodes[br->node];
    uint32_t k = 0;
    while (k < br->n && br->w[k].height <= max_height) {
        sim_node_publish_block(ctx, nd, br->w[k].b);
        k++;
    }
    for (uint32_t i = 0; i < k; i++)
        pu_block_unref(br->w[i].b);
    for (uint32_t i = k; i < br->n; i++)
        br->w[i - k] = br->w[i];
    br->n -= k;
    return k;
}

/* ---- the behaviour of a node mining in private ---- */

static void on_block_found(sim_ctx *ctx, sim_node *nd, pu_block *b)
{
    sim_branch_user *u = nd->beh_state;
    if (sim_adversary_active(u->adv))
        u->found(ctx, u, b);
    else
        sim_node_default_block_found(ctx, nd, b);
}

static pu_chain *mining_chain(sim_ctx *ctx, sim_node *nd)
{
    (void)ctx;
    const sim_branch_user *u = nd->beh_state;
    return sim_adversary_active(u->adv) ? sim_branch_chain(u->br) : NULL;
}

const sim_behavior sim_branch_behavior = {
    "private-miner", sim_node_default_message, on_block_found, sim_node_default_timer, mining_chain,
};

pu_err sim_branch_user_init(sim_ctx *ctx, sim_adversary *adv, uint32_t v, sim_branch_user *u,
                            void (*found)(sim_ctx *, sim_branch_user *, pu_block *), uint32_t *miner)
{
    *u = (sim_branch_user){adv, NULL, found};
    pu_err rc = sim_branch_new(ctx, v, &u->br);
    if (rc == PU_OK)
        rc = sim_adversary_miner(ctx, adv, v, miner);
    if (rc == PU_OK)
        rc = sim_adversary_take_node(ctx, adv, v, &sim_branch_behavior, u);
    return rc;
}
