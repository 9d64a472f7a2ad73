/* sim/pouw_data.c -- the data a PoUW block's check needs, over the network.
 *
 * Re-executing the iteration a PoUW block claims needs the miner's model
 * state and residual at the start of the iteration and the peer updates it
 * applied (core/pouw.h; the batch is named by the task's public data set).
 * The task's record (pu_pouw_store) holds every such object once for the
 * whole run -- it is what consensus code reads -- but a node may only
 * validate once the objects it lacks have reached it:
 *
 *   - every node keeps a bounded set of the objects it holds (pouw.data_cache
 *     entries, oldest dropped first): a miner its own states and updates, a
 *     task-group member the updates it received, any node what it fetched
 *     or validated with;
 *   - a block-carrying message (BLOCK_DATA, BLOCK_TXN, CMPCT_BLOCK) of a
 *     PoUW block whose objects the node lacks is held back (the engine's
 *     hold hook) and a POUW_GETDATA goes to the peer that sent it; its
 *     POUW_DATA answer carries the objects it holds, each as its hash and
 *     its serialised bytes, through the bandwidth model; what is still
 *     missing is asked once more of the block's miner, and then the block is
 *     released to validation whatever came (a block whose data exist nowhere
 *     is refused as UNKNOWN_DATA, as it should be);
 *   - the node's validation CPU starts when the message is delivered again,
 *     so the verification delay of a block at a node (first message naming
 *     it -> connected) contains the fetch and the re-execution.
 * Per (node, block) the bytes fetched and the first-heard time go into the
 * VERIFIED event (/ml/verifications). */
#include <stdlib.h>
#include <string.h>

#include "sim/pouw_int.h"

#define MAX_NEEDS (2u + PU_POUW_MAX_PEERS)
#define FETCH_SWEEP 512u                 /* fetch entries per node before stale ones go */
#define FETCH_STALE_NS UINT64_C(3600000000000)

typedef struct needs {                   /* what checking one PoUW block needs */
    uint32_t n;
    uint32_t miner_node;                 /* who holds it all (UINT32_MAX: unknown) */
    pu_hash32 obj[MAX_NEEDS];
} needs;

typedef struct fetch {                   /* one PoUW block at one node */
    uint64_t heard_ns;                   /* first message naming it */
    uint64_t asked_ns;                   /* last POUW_GETDATA sent, 0: none */
    uint64_t bytes;                      /* POUW_DATA received for it */
    sim_msg *parked;                     /* the message held back (owned) */
    uint8_t rounds;                      /* requests sent */
    bool ready;                          /* nothing more to wait for */
} fetch;

typedef struct pw_node {
    pu_hmap *held;                       /* object hash -> (nothing) */
    pu_hash32 *ring;                     /* held, oldest first (FIFO eviction) */
    uint32_t next, used;
    pu_hmap *fetches;                    /* block hash -> fetch */
} pw_node;

struct pw_data {
    pw_node *nodes;
    uint32_t n, cap;                     /* nodes; held objects per node */
    pu_hmap *needs;                      /* PoUW block hash -> needs */
};

pu_err pw_data_new(sim_ctx *ctx, pw_data **out)
{
    *out = NULL;
    pw_data *d = calloc(1, sizeof *d);
    if (!d)
        return PU_ERR_NOMEM;
    d->n = ctx->n;
    d->cap = (uint32_t)ctx->p->pouw.data_cache;
    d->nodes = calloc(d->n, sizeof *d->nodes);
    pu_err rc = d->nodes ? pu_hmap_new(32, sizeof(needs), 256, &d->needs) : PU_ERR_NOMEM;
    for (uint32_t i = 0; rc == PU_OK && i < d->n; i++) {
        pw_node *nd = &d->nodes[i];
        nd->ring = malloc(d->cap * sizeof *nd->ring);
        rc = nd->ring ? pu_hmap_new(32, 0, 64, &nd->held) : PU_ERR_NOMEM;
        if (rc == PU_OK)
            rc = pu_hmap_new(32, sizeof(fetch), 8, &nd->fetches);
    }
    if (rc != PU_OK) {
        pw_data_free(d);
        return rc;
    }
    *out = d;
    return PU_OK;
}

void pw_data_free(pw_data *d)
{
    if (!d)
        return;
    for (uint32_t i = 0; d->nodes && i < d->n; i++) {
        pw_node *nd = &d->nodes[i];
        size_t cur = 0;
        const void *k;
        void *v;
        while (nd->fetches && pu_hmap_next(nd->fetches, &cur, &k, &v))
            sim_msg_free(((fetch *)v)->parked);
        pu_hmap_free(nd->fetches);
        pu_hmap_free(nd->held);
        free(nd->ring);
    }
    free(d->nodes);
    pu_hmap_free(d->needs);
    free(d);
}

bool pw_data_holds(const pw_data *d, uint32_t node, const pu_hash32 *h)
{
    return pu_hmap_get(d->nodes[node].held, h->b) != NULL;
}

void pw_data_hold(sim_ctx *ctx, uint32_t node, const pu_hash32 *h)
{
    pw_data *d = ctx->pouw->data;
    pw_node *nd = &d->nodes[node];
    bool created;
    void *slot;
    if (!d->cap || pu_hmap_put(nd->held, h->b, &slot, &created) != PU_OK || !created)
        return; /* a node that cannot remember an object fetches it again */
    if (nd->used == d->cap)
        PU_IGNORE(pu_hmap_remove(nd->held, nd->ring[nd->next].b, NULL));
    else
        nd->used++;
    nd->ring[nd->next] = *h;
    nd->next = (nd->next + 1) % d->cap;
}

/* Serialised size of a record object (0: not in the record). */
static uint64_t object_bytes(const pu_pouw_store *s, const pu_hash32 *h)
{
    const pu_ml_model *m = pu_pouw_store_model(s, h);
    if (m)
        return pu_ml_model_serialized_len(m);
    const pu_ml_resid *r = pu_pouw_store_resid(s, h);
    if (r)
        return pu_ml_resid_serialized_len(r);
    const pu_ml_update *u = pu_pouw_store_update(s, h);
    return u ? pu_ml_update_serialized_len(u) : 0;
}

void pw_data_block(sim_ctx *ctx, uint32_t miner_node, const pu_block *b)
{
    pw_data *d = ctx->pouw->data;
    uint32_t len;
    const uint8_t *proof = pu_block_proof(b, &len);
    pu_pouw_proof pr;
    void *slot;
    bool created;
    if (pu_hmap_put(d->needs, pu_block_hash(b)->b, &slot, &created) != PU_OK) {
        sim_fail(ctx, PU_ERR_NOMEM, "pouw data");
        return;
    }
    needs *nd = slot;
    if (!created)
        return;
    memset(nd, 0, sizeof *nd);
    nd->miner_node = miner_node;
    if (pu_pouw_proof_decode(proof, len, &pr) != PU_OK)
        return; /* nothing to fetch: it is refused as malformed */
    nd->obj[nd->n++] = pr.msg.model_start;
    nd->obj[nd->n++] = pr.msg.resid_start;
    for (uint32_t i = 0; i < pr.msg.n_peers && nd->n < MAX_NEEDS; i++)
        nd->obj[nd->n++] = pr.msg.peers[i].update_hash;
    pu_pouw_proof_release(&pr);
    for (uint32_t i = 0; miner_node != UINT32_MAX && i < nd->n; i++)
        pw_data_hold(ctx, miner_node, &nd->obj[i]);
}

static void send_hashes(sim_ctx *ctx, uint32_t from, uint32_t to, int kind, const pu_hash32 *block,
                        const pu_hash32 *h, uint32_t n, uint64_t bytes)
{
    sim_msg *m = calloc(1, sizeof *m);
    pu_hash32 *items = malloc((n ? n : 1) * sizeof *items);
    if (!m || !items) {
        free(m);
        free(items);
        sim_fail(ctx, PU_ERR_NOMEM, "pouw data message");
        return;
    }
    memcpy(items, h, n * sizeof *items);
    m->kind = (uint8_t)kind;
    m->from = from;
    m->to = to;
    m->sent_ns = ctx->now;
    m->hash = *block;
    m->items = items;
    m->count = n;
    m->size = SIM_MSG_HEADER + 36 + bytes;
    sim_node_send(ctx, m);
}

/* Ask `peer` for what node lacks of block bh; false when it lacks nothing. */
static bool ask(sim_ctx *ctx, uint32_t node, uint32_t peer, const pu_hash32 *bh, const needs *nd,
                fetch *f)
{
    const pw_data *d = ctx->pouw->data;
    pu_hash32 want[MAX_NEEDS];
    uint32_t k = 0;
    for (uint32_t i = 0; i < nd->n; i++)
        if (!pw_data_holds(d, node, &nd->obj[i]))
            want[k++] = nd->obj[i];
    if (!k || peer == node || peer >= d->n)
        return false;
    send_hashes(ctx, node, peer, SIM_MSG_POUW_GETDATA, bh, want, k, 32ull * k);
    f->asked_ns = ctx->now;
    f->rounds++;
    return true;
}

/* Stale entries of blocks this node never validated (side branches). */
static void sweep(sim_ctx *ctx, pw_node *pn)
{
    if (pu_hmap_count(pn->fetches) < FETCH_SWEEP)
        return;
    pu_hash32 *old = malloc(pu_hmap_count(pn->fetches) * sizeof *old);
    size_t n = 0, cur = 0;
    const void *k;
    void *v;
    while (old && pu_hmap_next(pn->fetches, &cur, &k, &v)) {
        const fetch *f = v;
        if (!f->parked && f->heard_ns + FETCH_STALE_NS < ctx->now)
            memcpy(old[n++].b, k, 32);
    }
    for (size_t i = 0; i < n; i++)
        PU_IGNORE(pu_hmap_remove(pn->fetches, old[i].b, NULL));
    free(old);
}

static fetch *fetch_of(sim_ctx *ctx, uint32_t node, const pu_hash32 *bh)
{
    pw_node *pn = &ctx->pouw->data->nodes[node];
    void *slot;
    bool created;
    sweep(ctx, pn);
    if (pu_hmap_put(pn->fetches, bh->b, &slot, &created) != PU_OK) {
        sim_fail(ctx, PU_ERR_NOMEM, "pouw data");
        return NULL;
    }
    fetch *f = slot;
    if (created) {
        memset(f, 0, sizeof *f);
        f->heard_ns = ctx->now;
    }
    return f;
}

bool pw_data_hold_message(sim_ctx *ctx, sim_node *nd, sim_msg *m)
{
    pw_data *d = ctx->pouw->data;
    const pu_hash32 *bh = m->kind == SIM_MSG_NEW_BLOCK ? &m->hash
                          : (m->kind == SIM_MSG_BLOCK_DATA || m->kind == SIM_MSG_BLOCK_TXN
                             || m->kind == SIM_MSG_CMPCT_BLOCK) && m->block ? pu_block_hash(m->block)
                                                                             : NULL;
    const needs *need = bh ? pu_hmap_get(d->needs, bh->b) : NULL;
    if (!need || pu_chain_knows(nd->chain, bh))
        return false; /* not a PoUW block, or nothing to check */
    fetch *f = fetch_of(ctx, nd->id, bh);
    if (!f || f->ready || m->kind == SIM_MSG_NEW_BLOCK)
        return false; /* an announcement: the block itself comes next */
    if (f->parked) {
        /* another copy while waiting: ask its sender if the first is slow */
        if (ctx->now - f->asked_ns >= SIM_INFLIGHT_TIMEOUT_NS)
            PU_IGNORE(ask(ctx, nd->id, m->from, bh, need, f));
        sim_msg_free(m);
        return true;
    }
    if (!ask(ctx, nd->id, m->from, bh, need, f)) {
        f->ready = true;
        return false;
    }
    f->parked = m;
    return true;
}

/* Deliver the held message again: its CPU check starts now. */
static void release(sim_ctx *ctx, uint32_t node, fetch *f)
{
    sim_msg *m = f->parked;
    f->parked = NULL;
    f->ready = true;
    if (!m)
        return;
    m->resumed = true;
    if (sim_schedule(ctx, ctx->now, SIM_EV_DELIVER, node, 0, m, NULL) != PU_OK)
        sim_msg_free(m);
}

static void on_getdata(sim_ctx *ctx, sim_node *nd, const sim_msg *m)
{
    const pw_data *d = ctx->pouw->data;
    const pu_pouw_store *s = ctx->pouw->store;
    const pu_hash32 *h = m->items;
    pu_hash32 have[MAX_NEEDS];
    uint32_t k = 0;
    uint64_t bytes = 0;
    for (uint32_t i = 0; i < m->count && k < MAX_NEEDS; i++) {
        uint64_t b = object_bytes(s, &h[i]);
        if (b && pw_data_holds(d, nd->id, &h[i])) {
            have[k++] = h[i];
            bytes += 32 + b;
        }
    }
    send_hashes(ctx, nd->id, m->from, SIM_MSG_POUW_DATA, &m->hash, have, k, bytes);
}

static void on_data(sim_ctx *ctx, sim_node *nd, const sim_msg *m)
{
    pw_data *d = ctx->pouw->data;
    const pu_hash32 *h = m->items;
    for (uint32_t i = 0; i < m->count; i++)
        pw_data_hold(ctx, nd->id, &h[i]);
    fetch *f = pu_hmap_get(d->nodes[nd->id].fetches, m->hash.b);
    const needs *need = pu_hmap_get(d->needs, m->hash.b);
    if (!f || !need || f->ready)
        return; /* validated meanwhile, or a late answer */
    f->bytes += m->size;
    /* still short: the miner holds all of it, once; then go ahead */
    if (f->rounds < 2 && ask(ctx, nd->id, need->miner_node, &m->hash, need, f))
        return;
    release(ctx, nd->id, f);
}

void pw_data_message(sim_ctx *ctx, sim_node *nd, const sim_msg *m)
{
    if (m->kind == SIM_MSG_POUW_GETDATA)
        on_getdata(ctx, nd, m);
    else if (m->kind == SIM_MSG_POUW_DATA)
        on_data(ctx, nd, m);
}

void pw_data_done(sim_ctx *ctx, uint32_t node, const pu_block *b, uint64_t *bytes, uint64_t *heard_ns)
{
    pw_data *d = ctx->pouw->data;
    const pu_hash32 *bh = pu_block_hash(b);
    pw_node *pn = &d->nodes[node];
    const needs *need = pu_hmap_get(d->needs, bh->b);
    fetch *f = pu_hmap_get(pn->fetches, bh->b);
    *bytes = f ? f->bytes : 0;
    *heard_ns = f ? f->heard_ns : ctx->now; /* none: its own block */
    if (f && f->parked)
        return; /* another path validated it (the chain had it from sync): keep the copy's fate */
    if (f)
        PU_IGNORE(pu_hmap_remove(pn->fetches, bh->b, NULL));
    for (uint32_t i = 0; need && i < need->n; i++)
        pw_data_hold(ctx, node, &need->obj[i]); /* validated with it: it holds it now */
}
