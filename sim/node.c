/* sim/node.c -- the honest protocol of a simulated node (PROTOCOL.md s8): block
 * relay (push, announce-then-fetch, compact), transaction gossip, mempool
 * and chain synchronisation, CPU time per message. */
#include "sim/engine.h"

#include <stdlib.h>
#include <string.h>

const char *sim_msg_kind_name(int kind)
{
    static const char names[SIM_MSG_KIND_COUNT][16] = {
        "new_block", "request_block", "block_data", "cmpct_block", "get_block_txn",
        "block_txn", "new_tx", "request_mempool", "mempool_state", "chain_sync",
        "chain_status", "tx_inv", "get_tx", "tx_data", "task", "pouw_getdata", "pouw_data",
    };
    return kind >= 0 && kind < SIM_MSG_KIND_COUNT ? names[kind] : "unknown";
}

void sim_msg_free(sim_msg *m)
{
    if (!m)
        return;
    pu_block_unref(m->block);
    pu_tx_unref(m->tx);
    if (m->kind == SIM_MSG_MEMPOOL_STATE || m->kind == SIM_MSG_TX_DATA)
        for (uint32_t i = 0; i < m->count; i++)
            pu_tx_unref(((pu_tx **)m->items)[i]);
    free(m->items);
    free(m);
}

static sim_msg *msg_new(sim_ctx *ctx, int kind, uint32_t from, uint32_t to)
{
    sim_msg *m = calloc(1, sizeof *m);
    if (!m) {
        sim_fail(ctx, PU_ERR_NOMEM, "message");
        return NULL;
    }
    m->kind = (uint8_t)kind;
    m->from = from;
    m->to = to;
    m->sent_ns = ctx->now;
    return m;
}

/* Tells the listeners of SIM_OBS_MESSAGE (trace output) what became of m. */
static void tell_fate(sim_ctx *ctx, const sim_msg *m, sim_obs_msg_fate fate)
{
    if (!sim_observers_wants(ctx->obs, SIM_OBS_MESSAGE))
        return;
    const pu_hash32 *obj = NULL;
    if (m->block)
        obj = pu_block_hash(m->block);
    else if (m->tx)
        obj = pu_tx_id(m->tx);
    else if (m->kind == SIM_MSG_NEW_BLOCK || m->kind == SIM_MSG_GET_BLOCK_TXN
             || m->kind == SIM_MSG_POUW_GETDATA || m->kind == SIM_MSG_POUW_DATA
             || (m->kind == SIM_MSG_REQUEST_BLOCK && !m->count))
        obj = &m->hash;
    sim_obs_msg om = {m->seq, m->kind, (uint8_t)fate, m->from, m->to, m->size, m->sent_ns,
                      ctx->now, obj};
    sim_obs ev = {.kind = SIM_OBS_MESSAGE, .node = m->to, .u.msg = &om};
    sim_observe(ctx, &ev);
}

/* A block message (announcement, compact, full, missing transactions) to an
 * honest node that already holds the block in its tree has no effect: its
 * check costs no CPU and every handler ignores a known block.  Most copies
 * of a gossiped block are such duplicates (a node hears of it from most of
 * its peers), so delivery answers "have it?" first, from the block's own
 * record (one bit per chain, in cache while the block spreads), instead of
 * from the receiver's chain. */
static bool arrives_as_noop(const sim_ctx *ctx, const sim_msg *m)
{
    const pu_hash32 *h;
    switch (m->kind) {
    case SIM_MSG_NEW_BLOCK:
        h = &m->hash;
        break;
    case SIM_MSG_CMPCT_BLOCK:
    case SIM_MSG_BLOCK_DATA:
    case SIM_MSG_BLOCK_TXN:
        h = pu_block_hash(m->block);
        break;
    default:
        return false;
    }
    const sim_node *to = &ctx->nodes[m->to];
    if (to->beh != &sim_behavior_honest)
        return false; /* another behaviour may want to see duplicates */
    const pu_blockrec *r = pu_valcache_find(ctx->valcache, h);
    return r && pu_blockrec_held(r, to->chain_idx);
}

/* Hand a message to the network; it is delivered (or dropped) later. */
/* The receiver's buffer for the sender (network.peer_buffer): what one peer
 * has on its way to a node or waiting for its CPU.  A real node stops
 * reading from a peer that floods it; here the message is not taken.  A
 * node has bytes pending from few senders at a time (its busy neighbours),
 * so a short unordered list beats a hash map (measured: 15 % of the run time
 * of quickstart with one, nothing visible with this). */
static sim_peer_bytes *pending_of(sim_node *to, uint32_t from, bool add)
{
    for (uint32_t i = 0; i < to->n_pending; i++)
        if (to->pending[i].from == from)
            return &to->pending[i];
    if (!add)
        return NULL;
    if (to->n_pending == to->cap_pending) {
        uint32_t cap = to->cap_pending ? 2 * to->cap_pending : 8;
        sim_peer_bytes *a = realloc(to->pending, cap * sizeof *a);
        if (!a)
            return NULL;
        to->pending = a;
        to->cap_pending = cap;
    }
    to->pending[to->n_pending] = (sim_peer_bytes){from, 0};
    return &to->pending[to->n_pending++];
}

static bool enqueue(sim_ctx *ctx, sim_msg *m)
{
    uint64_t bound = ctx->p->network.peer_buffer;
    if (!bound)
        return true;
    sim_node *to = &ctx->nodes[m->to];
    sim_peer_bytes *p = pending_of(to, m->from, true);
    if (!p) {
        sim_fail(ctx, PU_ERR_NOMEM, "peer buffer");
        return false;
    }
    if (p->bytes + m->size > bound)
        return false;
    p->bytes += m->size;
    m->queued = true;
    if (p->bytes > to->peer_peak)
        to->peer_peak = p->bytes;
    return true;
}

static void dequeue(sim_ctx *ctx, sim_msg *m)
{
    if (!m->queued)
        return;
    sim_node *to = &ctx->nodes[m->to];
    sim_peer_bytes *p = pending_of(to, m->from, false);
    if (p && (p->bytes -= m->size) == 0)
        *p = to->pending[--to->n_pending]; /* order does not matter */
    m->queued = false;
}

/* Count m again (it was counted before the roles were asked to hold it). */
static void requeue(sim_ctx *ctx, sim_msg *m)
{
    sim_peer_bytes *p = pending_of(&ctx->nodes[m->to], m->from, true);
    if (!p) {
        sim_fail(ctx, PU_ERR_NOMEM, "peer buffer");
        return;
    }
    p->bytes += m->size;
    m->queued = true;
}

void sim_node_send(sim_ctx *ctx, sim_msg *m)
{
    uint64_t at, extra = 0;
    m->seq = ctx->msg_seq++;
    for (uint32_t i = 0; i < ctx->n_filters; i++) {
        uint64_t e = 0;
        sim_link_verdict v = ctx->filters[i].fn(ctx->filters[i].self, ctx, m, &e);
        if (v == SIM_LINK_DROP) {
            tell_fate(ctx, m, SIM_MSG_DROPPED);
            sim_msg_free(m);
            return;
        }
        extra += v == SIM_LINK_DELAY ? e : 0;
    }
    if (!enqueue(ctx, m)) {
        tell_fate(ctx, m, SIM_MSG_OVERFLOW);
        sim_msg_free(m);
        return;
    }
    pu_err rc = sim_net_send(ctx->net, ctx->now, m->from, m->to, m->size, &at);
    at += extra;
    if (rc != PU_OK) {
        if (rc == PU_ERR_STATE)
            tell_fate(ctx, m, SIM_MSG_NOT_SENT);
        dequeue(ctx, m);
        sim_msg_free(m);
        /* Offline or partitioned: the message is lost.  Anything else is a
         * bug in the caller or the model, not a network event. */
        if (rc != PU_ERR_STATE)
            sim_fail(ctx, rc, "network send");
        return;
    }
    ctx->msg_count[m->kind]++;
    ctx->msg_bytes[m->kind] += m->size;
    if (sim_schedule(ctx, at, SIM_EV_DELIVER, m->to, 0, m, NULL) != PU_OK) {
        dequeue(ctx, m);
        sim_msg_free(m);
    }
}

static uint64_t cmpct_size(const pu_block *b)
{
    uint32_t plen;
    pu_block_proof(b, &plen);
    return SIM_MSG_HEADER + PU_HEADER_SIZE + 8 + 4 + 6ull * (pu_block_n_tx(b) - 1) + 4
           + pu_tx_size(pu_block_tx(b, 0)) + 4 + plen;
}

void sim_node_send_block(sim_ctx *ctx, sim_node *nd, uint32_t to, int kind, pu_block *b)
{
    sim_msg *m = msg_new(ctx, kind, nd->id, to);
    if (!m)
        return;
    switch (kind) {
    case SIM_MSG_NEW_BLOCK:
        m->hash = *pu_block_hash(b);
        m->size = SIM_MSG_HEADER + 4 + 36;
        break;
    case SIM_MSG_CMPCT_BLOCK:
        m->block = pu_block_ref(b);
        m->size = cmpct_size(b) + (ctx->p->chain.block_fill ? ctx->p->chain.block_fill_compact : 0);
        break;
    default: { /* BLOCK_DATA; chain.block_fill pads it on the wire */
        uint64_t size = pu_block_size(b), fill = ctx->p->chain.block_fill;
        m->kind = SIM_MSG_BLOCK_DATA;
        m->block = pu_block_ref(b);
        m->size = SIM_MSG_HEADER + (size > fill ? size : fill);
        break;
    }
    }
    sim_node_send(ctx, m);
}

void sim_node_send_tx(sim_ctx *ctx, sim_node *nd, uint32_t to, pu_tx *tx, uint64_t size)
{
    sim_msg *m = msg_new(ctx, SIM_MSG_NEW_TRANSACTION, nd->id, to);
    if (!m)
        return;
    m->tx = pu_tx_ref(tx);
    m->size = size ? size : SIM_MSG_HEADER + pu_tx_size(tx);
    sim_node_send(ctx, m);
}

/* Compact relay as BIP152: high-bandwidth push to the peers that chose this
 * node, announcements to the others (network.compact_hb_peers > 0). */
static bool uses_hb(const sim_ctx *ctx)
{
    return ctx->p->network.relay == SIM_RELAY_COMPACT && ctx->p->network.compact_hb_peers > 0;
}

static bool is_hb_of(const sim_node *w, uint32_t v)
{
    for (uint32_t i = 0; i < w->n_hb; i++)
        if (w->hb[i] == v)
            return true;
    return false;
}

void sim_node_relay_block(sim_ctx *ctx, sim_node *nd, pu_block *b, uint32_t except)
{
    static const int kind_of[] = {SIM_MSG_BLOCK_DATA, SIM_MSG_NEW_BLOCK, SIM_MSG_CMPCT_BLOCK};
    int kind = kind_of[ctx->p->network.relay];
    bool bip152 = uses_hb(ctx);
    if (bip152)
        kind = SIM_MSG_NEW_BLOCK; /* to peers that did not choose us */
    uint32_t deg;
    const uint32_t *nb = sim_net_neighbors(ctx->net, nd->id, &deg);
    for (uint32_t i = 0; i < deg; i++) {
        const sim_node *w = &ctx->nodes[nb[i]];
        if (nb[i] == except || !w->online)
            continue;
        /* BIP152: compact push to the peers that chose us high-bandwidth */
        sim_node_send_block(ctx, nd, nb[i], bip152 && is_hb_of(w, nd->id) ? SIM_MSG_CMPCT_BLOCK : kind, b);
    }
}

/* BIP152: the peer that delivered a new block first becomes (or stays) one
 * of nd's high-bandwidth peers, the most recent first; the oldest of k
 * drops to announcements.  (The sendcmpct messages that tell a peer so are
 * not modelled: the choice takes effect at once.) */
static void note_first_deliverer(sim_node *nd, uint32_t from, uint32_t k)
{
    uint32_t i = 0;
    while (i < nd->n_hb && nd->hb[i] != from)
        i++;
    if (i == nd->n_hb && nd->n_hb < k)
        nd->n_hb++;
    if (i == k)
        i--;
    memmove(nd->hb + 1, nd->hb, i * sizeof nd->hb[0]);
    nd->hb[0] = from;
}

static void send_hashes(sim_ctx *ctx, sim_node *nd, uint32_t to, int kind, const pu_hash32 *h,
                        uint32_t n, uint64_t per_item, uint64_t fixed, uint64_t app);

/* Mempool acceptance at a node, counting refusals by reason (a transaction
 * already known is the normal fate of gossip and not counted); a system
 * failure stops the run.  Returns whether tx was accepted. */
static void tell_accepted(sim_ctx *ctx, const pu_tx *tx, uint32_t v, uint64_t at_ns)
{
    sim_obs ev = {.kind = SIM_OBS_TX_ACCEPTED, .node = v, .tx = tx, .u.accepted_ns = at_ns};
    sim_observe(ctx, &ev);
}

static bool take_tx(sim_ctx *ctx, sim_node *nd, pu_tx *tx)
{
    pu_reason why;
    pu_err rc = pu_chain_add_tx(nd->chain, tx, &why);
    if (rc == PU_ERR_INVALID && why != PU_R_TX_DUPLICATE && why < PU_R_COUNT_) {
        sim_obs ev = {.kind = SIM_OBS_TX_REFUSED, .node = nd->id, .tx = tx, .reason = (int)why};
        sim_observe(ctx, &ev);
    } else if (rc != PU_OK && rc != PU_ERR_INVALID)
        sim_fail(ctx, rc, "add_tx");
    if (rc == PU_OK)
        tell_accepted(ctx, tx, nd->id, ctx->now);
    return rc == PU_OK;
}

/* An empty batch message able to carry n transactions (MEMPOOL_STATE, TX_DATA). */
static sim_msg *tx_batch_new(sim_ctx *ctx, sim_node *nd, int kind, uint32_t to, size_t n)
{
    sim_msg *r = msg_new(ctx, kind, nd->id, to);
    if (!r)
        return NULL;
    r->items = malloc((n ? n : 1) * sizeof(pu_tx *));
    if (!r->items) {
        sim_msg_free(r);
        sim_fail(ctx, PU_ERR_NOMEM, "transaction batch");
        return NULL;
    }
    r->size = SIM_MSG_HEADER + 4;
    return r;
}

static void tx_batch_add(sim_msg *r, pu_tx *tx)
{
    ((pu_tx **)r->items)[r->count++] = pu_tx_ref(tx);
    r->size += pu_tx_size(tx);
}

/* Announce relay: queue the transaction; a Poisson "trickle" timer sends
 * every queued txid to every peer at once (as Bitcoin does), which batches
 * announcements and hides the order in which this node learnt them. */
static void queue_announce(sim_ctx *ctx, sim_node *nd, pu_tx *tx, uint32_t from)
{
    if (nd->n_ann == nd->cap_ann) {
        uint32_t cap = nd->cap_ann ? nd->cap_ann * 2 : 16;
        pu_tx **a = realloc(nd->ann, cap * sizeof *a);
        uint32_t *f = a ? realloc(nd->ann_from, cap * sizeof *f) : NULL;
        if (a)
            nd->ann = a;
        if (!a || !f) {
            sim_fail(ctx, PU_ERR_NOMEM, "announce queue");
            return;
        }
        nd->ann_from = f;
        nd->cap_ann = cap;
    }
    nd->ann[nd->n_ann] = pu_tx_ref(tx);
    nd->ann_from[nd->n_ann++] = from;
    if (!nd->trickle_pending) {
        uint64_t dt = sim_rng_exp_ns(&nd->rng, (double)ctx->p->network.tx_trickle_ns);
        nd->trickle_pending = true;
        PU_IGNORE(sim_schedule(ctx, ctx->now + dt + 1, SIM_EV_TRICKLE, nd->id, 0, NULL, NULL));
    }
}

void sim_node_trickle(sim_ctx *ctx, sim_node *nd)
{
    nd->trickle_pending = false;
    uint32_t deg;
    const uint32_t *nb = sim_net_neighbors(ctx->net, nd->id, &deg);
    pu_hash32 *ids = malloc((nd->n_ann ? nd->n_ann : 1) * sizeof *ids);
    if (!ids) {
        sim_fail(ctx, PU_ERR_NOMEM, "trickle");
        return;
    }
    for (uint32_t i = 0; nd->online && i < deg; i++) {
        if (!ctx->nodes[nb[i]].online)
            continue;
        uint32_t k = 0;
        for (uint32_t j = 0; j < nd->n_ann; j++)
            if (nd->ann_from[j] != nb[i])
                ids[k++] = *pu_tx_id(nd->ann[j]);
        if (k)
            send_hashes(ctx, nd, nb[i], SIM_MSG_TX_INV, ids, k, 36, 4, 0);
    }
    free(ids);
    for (uint32_t j = 0; j < nd->n_ann; j++)
        pu_tx_unref(nd->ann[j]);
    nd->n_ann = 0;
}

/* The newest block whose coin tx spends, as nd sees it (its record id):
 * nodes that have not connected it refuse tx (sim/txflood.h). */
static uint32_t flood_dep(const sim_ctx *ctx, const sim_node *nd, const pu_tx *tx)
{
    uint32_t h = 0;
    for (uint32_t i = 0; i < pu_tx_n_in(tx); i++) {
        const pu_coin *c = pu_utxo_find(pu_chain_utxo(nd->chain), &pu_tx_in(tx, i)->prev);
        if (c && c->height > h)
            h = c->height;
    }
    const pu_block *b = h ? pu_chain_block_at(nd->chain, h) : NULL;
    const pu_blockrec *r = b ? pu_valcache_find(ctx->valcache, pu_block_hash(b)) : NULL;
    return r ? r->id : UINT32_MAX;
}

/* sim_txflood_connected's report: a node connected a block in time to
 * accept a transaction depending on it (keepers report their own). */
static void flood_accepted_later(void *arg, const pu_tx *tx, uint32_t v, uint64_t at_ns)
{
    sim_ctx *ctx = arg;
    if (!ctx->nodes[v].keeps_mempool)
        tell_accepted(ctx, tx, v, at_ns);
}

/* tx_model flood: tx, accepted at its origin nd, spreads without messages;
 * nodes keeping a real mempool take it at their arrival time. */
static void flood_tx(sim_ctx *ctx, sim_node *nd, pu_tx *tx)
{
    pu_err rc = sim_txflood_add(ctx->flood, tx, nd->id, flood_dep(ctx, nd, tx), ctx->now);
    if (rc == PU_ERR_EXISTS)
        return; /* submitted twice: already spreading */
    if (rc != PU_OK) {
        sim_fail(ctx, rc, "transaction flood");
        return;
    }
    for (uint32_t i = 0; i < ctx->n_keepers; i++) {
        uint32_t k = ctx->keepers[i];
        uint64_t at = sim_txflood_arrival(ctx->flood, pu_tx_id(tx), k);
        if (k != nd->id && at != SIM_TXFLOOD_NEVER
            && sim_schedule(ctx, at, SIM_EV_FLOOD, k, 0, pu_tx_ref(tx), NULL) != PU_OK)
            pu_tx_unref(tx);
    }
    if (!sim_observers_wants(ctx->obs, SIM_OBS_TX_ACCEPTED))
        return;
    /* implicit mempools: told now, with each node's arrival time, where it
     * is decided (else when the node connects the block it needs in time);
     * keepers and the origin tell their own acceptance */
    for (uint32_t v = 0; v < ctx->n; v++) {
        bool accepts;
        if (v != nd->id && !ctx->nodes[v].keeps_mempool
            && sim_txflood_decided(ctx->flood, pu_tx_id(tx), v, &accepts) && accepts)
            tell_accepted(ctx, tx, v, sim_txflood_arrival(ctx->flood, pu_tx_id(tx), v));
    }
}

void sim_node_flood_arrival(sim_ctx *ctx, sim_node *nd, pu_tx *tx)
{
    /* offline or not, as if caught up on return (see sim/txflood.h) */
    (void)take_tx(ctx, nd, tx); /* a refusal is reported by take_tx */
}

static void relay_tx(sim_ctx *ctx, sim_node *nd, pu_tx *tx, uint32_t except)
{
    if (ctx->flood) {
        if (except == UINT32_MAX) /* only the origin relays: nothing else receives messages */
            flood_tx(ctx, nd, tx);
        return;
    }
    if (ctx->p->network.tx_relay == SIM_TX_RELAY_ANNOUNCE) {
        queue_announce(ctx, nd, tx, except);
        return;
    }
    uint32_t deg;
    const uint32_t *nb = sim_net_neighbors(ctx->net, nd->id, &deg);
    for (uint32_t i = 0; i < deg; i++) {
        if (nb[i] == except || !ctx->nodes[nb[i]].online)
            continue;
        sim_msg *m = msg_new(ctx, SIM_MSG_NEW_TRANSACTION, nd->id, nb[i]);
        if (!m)
            return;
        m->tx = pu_tx_ref(tx);
        m->size = SIM_MSG_HEADER + pu_tx_size(tx);
        sim_node_send(ctx, m);
    }
}

static void send_hashes(sim_ctx *ctx, sim_node *nd, uint32_t to, int kind, const pu_hash32 *h,
                        uint32_t n, uint64_t per_item, uint64_t fixed, uint64_t app)
{
    sim_msg *m = msg_new(ctx, kind, nd->id, to);
    if (!m)
        return;
    m->app = app; /* REQUEST_BLOCK: 1 = the compact form (BIP152) */
    if (n) {
        m->items = malloc(n * sizeof(pu_hash32));
        if (!m->items) {
            sim_msg_free(m);
            sim_fail(ctx, PU_ERR_NOMEM, "message");
            return;
        }
        memcpy(m->items, h, n * sizeof(pu_hash32));
    }
    m->count = n;
    m->size = SIM_MSG_HEADER + fixed + per_item * n;
    sim_node_send(ctx, m);
}

static void request_blocks(sim_ctx *ctx, sim_node *nd, uint32_t to, const pu_hash32 *h, uint32_t n,
                           bool compact)
{
    for (uint32_t i = 0; i < n; i++) {
        void *v;
        if (pu_hmap_put(nd->inflight, h[i].b, &v, NULL) == PU_OK)
            *(sim_inflight *)v = (sim_inflight){ctx->now, to};
    }
    send_hashes(ctx, nd, to, SIM_MSG_REQUEST_BLOCK, h, n, 36, 4, compact);
}

static void send_locator(sim_ctx *ctx, sim_node *nd, uint32_t to, const pu_hash32 *first)
{
    pu_hash32 loc[SIM_LOCATOR_MAX];
    uint32_t k = 0;
    if (first)
        loc[k++] = *first;
    k += (uint32_t)pu_chain_locator(nd->chain, loc + k, SIM_LOCATOR_MAX - k);
    send_hashes(ctx, nd, to, SIM_MSG_CHAIN_SYNC, loc, k, 32, 8, 0);
}

void sim_node_sync(sim_ctx *ctx, sim_node *nd, bool with_mempool)
{
    uint32_t deg;
    const uint32_t *nb = sim_net_neighbors(ctx->net, nd->id, &deg);
    bool asked = false;
    for (uint32_t i = 0; i < deg; i++) {
        if (!ctx->nodes[nb[i]].online)
            continue;
        send_locator(ctx, nd, nb[i], NULL);
        if (with_mempool && !asked && !ctx->flood) { /* flood: mempools need no catching up */
            send_hashes(ctx, nd, nb[i], SIM_MSG_REQUEST_MEMPOOL, NULL, 0, 0, 0, 0);
            asked = true;
        }
    }
}

int sim_node_accept_block(sim_ctx *ctx, sim_node *nd, pu_block *b, uint32_t from)
{
    pu_add_result res;
    nd->cur_from = from;
    pu_err rc = pu_chain_add_block(nd->chain, b, sim_now_s(ctx), &res);
    nd->cur_from = UINT32_MAX;
    PU_IGNORE(pu_hmap_remove(nd->inflight, pu_block_hash(b)->b, NULL));
    PU_IGNORE(pu_hmap_remove(nd->charged, pu_block_hash(b)->b, NULL)); /* absent: own block */
    if (rc == PU_ERR_RANGE) { /* the coins in circulation overflow the money supply */
        sim_fail_key(ctx, rc, "chain.block_reward", "more coins than the 21000000-coin money "
                     "supply after this many blocks (lower it, or duration)");
        return res.reason;
    }
    if (rc != PU_OK && rc != PU_ERR_INVALID && rc != PU_ERR_EXISTS) {
        sim_fail(ctx, rc, "add_block");
        return res.reason;
    }
    if (rc == PU_ERR_INVALID && res.reason < PU_R_COUNT_) {
        sim_obs ev = {.kind = SIM_OBS_BLOCK_REFUSED, .node = nd->id, .block = b, .reason = (int)res.reason};
        sim_observe(ctx, &ev);
    }
    if (rc == PU_OK && res.reason == PU_R_ORPHAN && from != UINT32_MAX)
        send_locator(ctx, nd, from, NULL); /* catch up headers-first from the sender */
    if (rc == PU_OK && res.reason == PU_R_OK && from != UINT32_MAX && uses_hb(ctx))
        note_first_deliverer(nd, from, (uint32_t)ctx->p->network.compact_hb_peers);
    if (res.tip_changed) {
        sim_obs ev = {.kind = SIM_OBS_TIP_CHANGED, .node = nd->id, .add = &res};
        sim_observe(ctx, &ev);
    }
    return res.reason;
}

/* ---- CPU cost of checking a message (PROTOCOL.md s8: validation costs simulated
 * time per node, while pure checks run once in wall time) ---- */

/* The transactions of b (coinbase excluded) that nd's mempool lacks now:
 * its real mempool, or under tx_model flood the implicit one. */
static sim_txflood_missing lacking(sim_ctx *ctx, const sim_node *nd, const pu_block *b)
{
    sim_txflood_missing r = {0, 0, 0};
    if (ctx->flood && !nd->keeps_mempool) {
        pu_err rc = sim_txflood_missing_in(ctx->flood, b, nd->id, ctx->now, &r);
        if (rc != PU_OK)
            sim_fail(ctx, rc, "transaction flood");
        return r;
    }
    pu_mempool *mp = pu_chain_mempool(nd->chain);
    for (uint32_t i = 1; i < pu_block_n_tx(b); i++) {
        const pu_tx *tx = pu_block_tx(b, i);
        if (!pu_mempool_has(mp, pu_tx_id(tx))) {
            r.n++;
            r.bytes += pu_tx_size(tx);
            r.inputs += pu_tx_n_in(tx);
        }
    }
    return r;
}

static uint64_t tx_cost(const sim_ctx *ctx, const pu_tx *tx)
{
    return ctx->p->cpu.verify_tx_ns + (uint64_t)pu_tx_n_in(tx) * ctx->p->cpu.verify_signature_ns;
}

/* Full validation cost of b at nd, charged once per block: a copy that
 * arrives while the first is still being checked costs nothing more. */
static uint64_t block_cost(sim_ctx *ctx, sim_node *nd, const pu_block *b)
{
    if (pu_chain_knows(nd->chain, pu_block_hash(b)))
        return 0;
    void *v;
    bool fresh;
    if (pu_hmap_put(nd->charged, pu_block_hash(b)->b, &v, &fresh) == PU_OK && !fresh)
        return 0;
    /* re-executing the iteration behind a PoUW block */
    uint64_t c = ctx->p->cpu.verify_header_ns
                 + (ctx->ask.verify_cost && !nd->lazy ? ctx->ask.verify_cost(ctx->ask.self, b) : 0);
    /* mempool ones were checked on arrival */
    sim_txflood_missing lack = lacking(ctx, nd, b);
    return c + pu_block_n_tx(b) * ctx->p->cpu.connect_tx_ns + lack.n * ctx->p->cpu.verify_tx_ns
           + lack.inputs * ctx->p->cpu.verify_signature_ns;
}

/* A compact block that lacks transactions only costs its header now: the
 * block is validated (and charged) when the missing ones arrive. */
static bool cmpct_complete(sim_ctx *ctx, const sim_node *nd, const pu_block *b)
{
    return lacking(ctx, nd, b).n == 0;
}

static uint64_t msg_cost(sim_ctx *ctx, sim_node *nd, const sim_msg *m)
{
    switch (m->kind) {
    case SIM_MSG_CMPCT_BLOCK:
        if (!cmpct_complete(ctx, nd, m->block))
            return pu_chain_knows(nd->chain, pu_block_hash(m->block)) ? 0 : ctx->p->cpu.verify_header_ns;
        return block_cost(ctx, nd, m->block);
    case SIM_MSG_BLOCK_DATA:
    case SIM_MSG_BLOCK_TXN:
        return block_cost(ctx, nd, m->block);
    case SIM_MSG_NEW_TRANSACTION:
        return pu_mempool_has(pu_chain_mempool(nd->chain), pu_tx_id(m->tx)) ? 0 : tx_cost(ctx, m->tx);
    case SIM_MSG_MEMPOOL_STATE:
    case SIM_MSG_TX_DATA: {
        uint64_t c = 0;
        for (uint32_t i = 0; i < m->count; i++)
            c += tx_cost(ctx, ((pu_tx **)m->items)[i]);
        return c;
    }
    default:
        return 0;
    }
}

void sim_node_deliver(sim_ctx *ctx, sim_msg *m)
{
    sim_node *nd = &ctx->nodes[m->to];
    /* a partition or a departure after sending cuts the transfer */
    if (!nd->online || sim_net_reachable(ctx->net, m->from, m->to) != SIM_NET_REACHABLE) {
        tell_fate(ctx, m, SIM_MSG_CUT);
        dequeue(ctx, m);
        sim_msg_free(m);
        return;
    }
    if (!m->resumed) {
        tell_fate(ctx, m, SIM_MSG_DELIVERED);
        /* a held message is the roles' (they may drop it): out of the buffer */
        bool counted = m->queued;
        dequeue(ctx, m);
        if (ctx->ask.hold && ctx->ask.hold(ctx->ask.self, ctx, nd, m))
            return; /* the roles deliver it again once its data is here */
        if (counted)
            requeue(ctx, m);
    }
    bool noop = arrives_as_noop(ctx, m);
    uint64_t start = nd->cpu_free_ns > ctx->now ? nd->cpu_free_ns : ctx->now;
    uint64_t done = start + (noop ? 0 : msg_cost(ctx, nd, m));
    nd->cpu_free_ns = done;
    if (done == ctx->now) {
        if (noop) {
            dequeue(ctx, m);
            sim_msg_free(m);
        } else
            sim_node_process(ctx, m);
        return;
    }
    if (sim_schedule(ctx, done, SIM_EV_PROCESS, m->to, 0, m, NULL) != PU_OK) {
        dequeue(ctx, m);
        sim_msg_free(m);
    }
}

void sim_node_process(sim_ctx *ctx, sim_msg *m)
{
    sim_node *nd = &ctx->nodes[m->to];
    dequeue(ctx, m);
    if (nd->online && !arrives_as_noop(ctx, m))
        nd->beh->on_message(ctx, nd, m);
    sim_msg_free(m);
}

/* ---- the honest handlers ---- */

static void on_new_block(sim_ctx *ctx, sim_node *nd, const sim_msg *m)
{
    if (pu_chain_knows(nd->chain, &m->hash))
        return;
    const sim_inflight *e = pu_hmap_get(nd->inflight, m->hash.b);
    if (e && ctx->now - e->since_ns < SIM_INFLIGHT_TIMEOUT_NS)
        return; /* already asked someone */
    request_blocks(ctx, nd, m->from, &m->hash, 1, uses_hb(ctx)); /* BIP152: the compact form */
}

static void on_request_block(sim_ctx *ctx, sim_node *nd, const sim_msg *m)
{
    const pu_hash32 *h = m->items;
    for (uint32_t i = 0; i < m->count; i++) {
        pu_block *b = pu_chain_get(nd->chain, &h[i], NULL, NULL);
        if (b)
            sim_node_send_block(ctx, nd, m->from, m->app == 1 ? SIM_MSG_CMPCT_BLOCK : SIM_MSG_BLOCK_DATA, b);
    }
}

static void on_cmpct_block(sim_ctx *ctx, sim_node *nd, const sim_msg *m)
{
    const pu_block *b = m->block;
    if (pu_chain_knows(nd->chain, pu_block_hash(b)))
        return;
    sim_txflood_missing lack = lacking(ctx, nd, b);
    uint32_t missing = lack.n;
    uint64_t bytes = lack.bytes;
    if (!missing) { /* reconstructed from the mempool */
        sim_node_accept_block(ctx, nd, m->block, m->from);
        return;
    }
    sim_msg *req = msg_new(ctx, SIM_MSG_GET_BLOCK_TXN, nd->id, m->from);
    if (!req)
        return;
    req->hash = *pu_block_hash(b);
    req->count = missing;
    req->app = bytes; /* what the answer will weigh */
    req->size = SIM_MSG_HEADER + 32 + 4 + 4ull * missing;
    void *v;
    if (pu_hmap_put(nd->inflight, req->hash.b, &v, NULL) == PU_OK)
        *(sim_inflight *)v = (sim_inflight){ctx->now, m->from};
    sim_node_send(ctx, req);
}

static void on_get_block_txn(sim_ctx *ctx, sim_node *nd, const sim_msg *m)
{
    pu_block *b = pu_chain_get(nd->chain, &m->hash, NULL, NULL);
    if (!b)
        return;
    sim_msg *r = msg_new(ctx, SIM_MSG_BLOCK_TXN, nd->id, m->from);
    if (!r)
        return;
    r->block = pu_block_ref(b);
    r->size = SIM_MSG_HEADER + 32 + 4 + m->app;
    sim_node_send(ctx, r);
}

/* A message larger than any transaction can be is refused before its
 * contents are looked at (a flood of oversized messages costs the receiver
 * bandwidth and buffer, not validation). */
static bool oversized(sim_ctx *ctx, sim_node *nd, const sim_msg *m)
{
    if (m->size <= SIM_MSG_HEADER + PU_TX_MAX_SIZE)
        return false;
    sim_obs ev = {.kind = SIM_OBS_TX_REFUSED, .node = nd->id, .tx = m->tx, .reason = PU_R_TX_TOO_LARGE};
    sim_observe(ctx, &ev);
    return true;
}

static void on_new_tx(sim_ctx *ctx, sim_node *nd, const sim_msg *m)
{
    if (oversized(ctx, nd, m))
        return;
    if (take_tx(ctx, nd, m->tx))
        relay_tx(ctx, nd, m->tx, m->from);
}

static void on_tx_inv(sim_ctx *ctx, sim_node *nd, const sim_msg *m)
{
    const pu_hash32 *h = m->items;
    pu_hash32 *want = malloc((m->count ? m->count : 1) * sizeof *want);
    if (!want) {
        sim_fail(ctx, PU_ERR_NOMEM, "tx inv");
        return;
    }
    pu_mempool *mp = pu_chain_mempool(nd->chain);
    uint32_t k = 0;
    for (uint32_t i = 0; i < m->count; i++) {
        if (pu_mempool_has(mp, &h[i]))
            continue;
        void *v;
        bool created;
        if (pu_hmap_put(nd->tx_inflight, h[i].b, &v, &created) != PU_OK)
            continue;
        if (!created && ctx->now - *(uint64_t *)v < SIM_INFLIGHT_TIMEOUT_NS)
            continue; /* asked someone else already */
        *(uint64_t *)v = ctx->now;
        want[k++] = h[i];
    }
    if (k)
        send_hashes(ctx, nd, m->from, SIM_MSG_GET_TX, want, k, 36, 4, 0);
    free(want);
}

static void on_get_tx(sim_ctx *ctx, sim_node *nd, const sim_msg *m)
{
    const pu_hash32 *h = m->items;
    pu_mempool *mp = pu_chain_mempool(nd->chain);
    sim_msg *r = tx_batch_new(ctx, nd, SIM_MSG_TX_DATA, m->from, m->count);
    if (!r)
        return;
    for (uint32_t i = 0; i < m->count; i++) {
        pu_tx *tx = pu_mempool_get(mp, &h[i]); /* gone if mined meanwhile */
        if (tx)
            tx_batch_add(r, tx);
    }
    if (!r->count) {
        sim_msg_free(r);
        return;
    }
    sim_node_send(ctx, r);
}

static void on_tx_data(sim_ctx *ctx, sim_node *nd, const sim_msg *m)
{
    for (uint32_t i = 0; i < m->count; i++) {
        pu_tx *tx = ((pu_tx **)m->items)[i];
        PU_IGNORE(pu_hmap_remove(nd->tx_inflight, pu_tx_id(tx)->b, NULL)); /* may be unsolicited */
        if (take_tx(ctx, nd, tx))
            relay_tx(ctx, nd, tx, m->from);
    }
}

static void on_request_mempool(sim_ctx *ctx, sim_node *nd, const sim_msg *m)
{
    pu_mempool *mp = pu_chain_mempool(nd->chain);
    size_t n = pu_mempool_count(mp);
    sim_msg *r = tx_batch_new(ctx, nd, SIM_MSG_MEMPOOL_STATE, m->from, n);
    if (!r)
        return;
    for (size_t i = 0; i < n; i++)
        tx_batch_add(r, pu_mempool_at(mp, i, NULL));
    sim_node_send(ctx, r);
}

static void on_mempool_state(sim_ctx *ctx, sim_node *nd, const sim_msg *m)
{
    for (uint32_t i = 0; i < m->count; i++)
        take_tx(ctx, nd, ((pu_tx **)m->items)[i]);
}

static void on_chain_sync(sim_ctx *ctx, sim_node *nd, const sim_msg *m)
{
    uint32_t fork = pu_chain_locate(nd->chain, m->items, m->count);
    uint32_t tip = pu_chain_height(nd->chain);
    uint32_t n = tip - fork < SIM_SYNC_MAX_HEADERS ? tip - fork : SIM_SYNC_MAX_HEADERS;
    pu_hash32 *h = malloc((n ? n : 1) * sizeof *h);
    if (!h) {
        sim_fail(ctx, PU_ERR_NOMEM, "chain status");
        return;
    }
    for (uint32_t i = 0; i < n; i++)
        h[i] = *pu_block_hash(pu_chain_block_at(nd->chain, fork + 1 + i));
    send_hashes(ctx, nd, m->from, SIM_MSG_CHAIN_STATUS, h, n, PU_HEADER_SIZE, 4, 0);
    free(h);
}

static void on_chain_status(sim_ctx *ctx, sim_node *nd, const sim_msg *m)
{
    const pu_hash32 *h = m->items;
    pu_hash32 *want = malloc((m->count ? m->count : 1) * sizeof *want);
    if (!want) {
        sim_fail(ctx, PU_ERR_NOMEM, "chain status");
        return;
    }
    uint32_t k = 0;
    for (uint32_t i = 0; i < m->count; i++) {
        const sim_inflight *e = pu_hmap_get(nd->inflight, h[i].b);
        if (!pu_chain_knows(nd->chain, &h[i])
            && (!e || ctx->now - e->since_ns >= SIM_INFLIGHT_TIMEOUT_NS))
            want[k++] = h[i];
    }
    if (k)
        request_blocks(ctx, nd, m->from, want, k, false);
    if (m->count == SIM_SYNC_MAX_HEADERS) /* more to come: continue from the last one */
        send_locator(ctx, nd, m->from, &h[m->count - 1]);
    free(want);
}

void sim_node_default_message(sim_ctx *ctx, sim_node *nd, const sim_msg *m)
{
    switch (m->kind) {
    case SIM_MSG_NEW_BLOCK: on_new_block(ctx, nd, m); break;
    case SIM_MSG_REQUEST_BLOCK: on_request_block(ctx, nd, m); break;
    case SIM_MSG_BLOCK_DATA:
    case SIM_MSG_BLOCK_TXN: sim_node_accept_block(ctx, nd, m->block, m->from); break;
    case SIM_MSG_CMPCT_BLOCK: on_cmpct_block(ctx, nd, m); break;
    case SIM_MSG_GET_BLOCK_TXN: on_get_block_txn(ctx, nd, m); break;
    case SIM_MSG_NEW_TRANSACTION: on_new_tx(ctx, nd, m); break;
    case SIM_MSG_REQUEST_MEMPOOL: on_request_mempool(ctx, nd, m); break;
    case SIM_MSG_MEMPOOL_STATE: on_mempool_state(ctx, nd, m); break;
    case SIM_MSG_CHAIN_SYNC: on_chain_sync(ctx, nd, m); break;
    case SIM_MSG_CHAIN_STATUS: on_chain_status(ctx, nd, m); break;
    case SIM_MSG_TX_INV: on_tx_inv(ctx, nd, m); break;
    case SIM_MSG_GET_TX: on_get_tx(ctx, nd, m); break;
    case SIM_MSG_TX_DATA: on_tx_data(ctx, nd, m); break;
    case SIM_MSG_TASK:
    case SIM_MSG_POUW_GETDATA:
    case SIM_MSG_POUW_DATA:
        if (ctx->ask.task_message)
            ctx->ask.task_message(ctx->ask.self, ctx, nd, m);
        break;
    default: break;
    }
}

void sim_node_default_block_found(sim_ctx *ctx, sim_node *nd, pu_block *b)
{
    sim_node_accept_block(ctx, nd, b, UINT32_MAX);
}

void sim_node_default_timer(sim_ctx *ctx, sim_node *nd, uint64_t arg)
{
    (void)ctx;
    (void)nd;
    (void)arg;
}

const sim_behavior sim_behavior_honest = {
    "honest", sim_node_default_message, sim_node_default_block_found, sim_node_default_timer, NULL,
};

pu_chain *sim_node_mining_chain(sim_ctx *ctx, sim_node *nd)
{
    pu_chain *c = nd->beh->mining_chain ? nd->beh->mining_chain(ctx, nd) : NULL;
    return c ? c : nd->chain;
}

int sim_node_publish_block(sim_ctx *ctx, sim_node *nd, pu_block *b)
{
    nd->relay_all = true;
    int r = sim_node_accept_block(ctx, nd, b, UINT32_MAX);
    nd->relay_all = false;
    return r;
}

void sim_node_set_timer(sim_ctx *ctx, sim_node *nd, uint64_t at_ns, uint64_t arg)
{
    PU_IGNORE(sim_schedule(ctx, at_ns, SIM_EV_TIMER, nd->id, arg, NULL, NULL)); /* sim_schedule records failures */
}

/* ---- chain observer: arrivals and relay of every newly stored block ---- */

static void obs_block_stored(void *c, const pu_block *b, uint32_t height)
{
    sim_node *nd = c;
    sim_ctx *ctx = nd->ctx;
    sim_obs ev = {.kind = SIM_OBS_BLOCK_STORED, .node = nd->id, .block = b, .height = height};
    sim_observe(ctx, &ev);
    /* Relay fresh blocks only: blocks fetched while catching up are old news
     * to the neighbours (Bitcoin does not announce during initial sync). */
    if (nd->relay_all || height + 2 >= pu_chain_height(nd->chain))
        sim_node_relay_block(ctx, nd, (pu_block *)b, nd->cur_from);
}

static void obs_connected(void *c, const pu_block *b, uint32_t height, const pu_undo *undo)
{
    sim_node *nd = c;
    if (nd->ctx->flood) {
        sim_ctx *ctx = nd->ctx;
        const pu_blockrec *r = pu_valcache_find(ctx->valcache, pu_block_hash(b));
        pu_err rc = r ? sim_txflood_connected(ctx->flood, r->id, nd->id, ctx->now,
                                              sim_observers_wants(ctx->obs, SIM_OBS_TX_ACCEPTED)
                                                  ? flood_accepted_later : NULL,
                                              ctx)
                      : PU_OK;
        if (rc != PU_OK)
            sim_fail(ctx, rc, "transaction flood");
    }
    (void)undo;
    sim_obs ev = {.kind = SIM_OBS_BLOCK_CONNECTED, .node = nd->id, .block = b, .height = height};
    sim_observe(nd->ctx, &ev);
}

static void obs_disconnected(void *c, const pu_block *b, uint32_t height, const pu_undo *undo)
{
    sim_node *nd = c;
    (void)undo;
    if (!sim_observers_wants(nd->ctx->obs, SIM_OBS_BLOCK_DISCONNECTED))
        return;
    sim_obs ev = {.kind = SIM_OBS_BLOCK_DISCONNECTED, .node = nd->id, .block = b, .height = height};
    sim_observe(nd->ctx, &ev);
}

static void obs_tx_added(void *c, const pu_tx *tx, pu_amount fee)
{
    sim_node *nd = c;
    (void)fee;
    if (!sim_observers_wants(nd->ctx->obs, SIM_OBS_TX_ENTERED))
        return;
    sim_obs ev = {.kind = SIM_OBS_TX_ENTERED, .node = nd->id, .tx = tx};
    sim_observe(nd->ctx, &ev);
}

static void obs_tx_removed(void *c, const pu_tx *tx, pu_mempool_exit why)
{
    sim_node *nd = c;
    if (!sim_observers_wants(nd->ctx->obs, SIM_OBS_TX_LEFT))
        return;
    sim_obs ev = {.kind = SIM_OBS_TX_LEFT, .node = nd->id, .tx = tx, .reason = (int)why};
    sim_observe(nd->ctx, &ev);
}

/* nd's chain from genesis with these rules and block records (vc; NULL:
 * its own), its tie-break coin and the engine's observer. */
static pu_err node_chain(sim_ctx *ctx, sim_node *nd, const pu_rules *rules, pu_valcache *vc)
{
    pu_chain_opts o = {&ctx->cp, ctx->crypto, ctx->sigcache, vc, rules};
    pu_err rc = pu_chain_new(&o, ctx->genesis, &nd->chain);
    if (rc != PU_OK)
        return rc;
    if (ctx->tie_break == PU_TIE_RANDOM) { /* each node its own coin */
        pu_hash32 k;
        uint64_t salt = 0;
        sim_rng_key(&ctx->root, SIM_RNG_FORK, nd->id, &k);
        for (int i = 0; i < 8; i++)
            salt = salt << 8 | k.b[i];
        pu_chain_set_tie_break(nd->chain, PU_TIE_RANDOM, salt);
    }
    pu_chain_observer obs = {.block_stored = obs_block_stored, .connected = obs_connected,
                             .disconnected = obs_disconnected, .tx_added = obs_tx_added,
                             .tx_removed = obs_tx_removed, .ctx = nd};
    rc = pu_chain_add_observer(nd->chain, &obs);
    if (rc != PU_OK) {
        pu_chain_free(nd->chain);
        nd->chain = NULL;
    }
    return rc;
}

pu_err sim_node_init(sim_ctx *ctx, sim_node *nd, uint32_t id)
{
    memset(nd, 0, sizeof *nd);
    nd->ctx = ctx;
    nd->id = id;
    nd->online = true;
    nd->cur_from = UINT32_MAX;
    nd->beh = &sim_behavior_honest;
    nd->rng = sim_rng_stream(&ctx->root, SIM_RNG_MISC, id);
    uint32_t deg, hb = uses_hb(ctx) ? (uint32_t)ctx->p->network.compact_hb_peers : 0;
    const uint32_t *nb = sim_net_neighbors(ctx->net, id, &deg); /* the first peers start high-bandwidth */
    for (nd->n_hb = 0; nd->n_hb < deg && nd->n_hb < hb; nd->n_hb++)
        nd->hb[nd->n_hb] = nb[nd->n_hb];
    pu_err rc = node_chain(ctx, nd, ctx->rules, ctx->valcache);
    if (rc == PU_OK)
        nd->chain_idx = pu_chain_index(nd->chain);
    if (rc == PU_OK)
        rc = pu_hmap_new(32, sizeof(sim_inflight), 8, &nd->inflight);
    if (rc == PU_OK)
        rc = pu_hmap_new(32, sizeof(uint64_t), 8, &nd->tx_inflight);
    if (rc == PU_OK)
        rc = pu_hmap_new(32, 0, 8, &nd->charged);
    return rc;
}

pu_err sim_node_set_rules(sim_ctx *ctx, sim_node *nd, const pu_rules *rules, bool lazy)
{
    if (pu_chain_height(nd->chain) != 0)
        return PU_ERR_STATE;
    pu_chain *old = nd->chain;
    pu_err rc = node_chain(ctx, nd, rules, NULL);
    if (rc != PU_OK) {
        nd->chain = old;
        return rc;
    }
    pu_chain_free(old);
    nd->chain_idx = UINT32_MAX; /* no shared cache: no block's bitmap names it */
    nd->lazy = lazy;
    return PU_OK;
}

void sim_node_release(sim_node *nd)
{
    pu_chain_free(nd->chain);
    pu_hmap_free(nd->inflight);
    pu_hmap_free(nd->tx_inflight);
    pu_hmap_free(nd->charged);
    free(nd->pending);
    for (uint32_t j = 0; j < nd->n_ann; j++)
        pu_tx_unref(nd->ann[j]);
    free(nd->ann);
    free(nd->ann_from);
    nd->chain = NULL;
    nd->inflight = NULL;
    nd->tx_inflight = NULL;
    nd->charged = NULL;
    nd->pending = NULL;
}

void sim_node_keep_mempool(sim_ctx *ctx, sim_node *nd)
{
    if (nd->keeps_mempool)
        return;
    uint32_t *k = realloc(ctx->keepers, (ctx->n_keepers + 1) * sizeof *k);
    if (!k) {
        sim_fail(ctx, PU_ERR_NOMEM, "mempool keepers");
        return;
    }
    k[ctx->n_keepers++] = nd->id;
    ctx->keepers = k;
    nd->keeps_mempool = true;
}

uint64_t sim_node_mempool_size(sim_ctx *ctx, const sim_node *nd)
{
    if (!ctx->flood || nd->keeps_mempool)
        return pu_chain_mempool_size(nd->chain);
    uint64_t n = 0;
    pu_err rc = sim_txflood_pending(ctx->flood, pu_chain_tip(nd->chain), nd->id, ctx->now, &n);
    if (rc != PU_OK)
        sim_fail(ctx, rc, "transaction flood");
    return n;
}

bool sim_node_submit_tx(sim_ctx *ctx, sim_node *nd, pu_tx *tx)
{
    if (!nd->online || !take_tx(ctx, nd, tx))
        return false;
    relay_tx(ctx, nd, tx, UINT32_MAX);
    return true;
}

void sim_node_block_found(sim_ctx *ctx, sim_node *nd, pu_block *b)
{
    ctx->blocks_mined++;
    uint32_t height = 0; /* the chain it was mined on knows the parent */
    if (pu_chain_get(sim_node_mining_chain(ctx, nd), &pu_block_header(b)->prev, &height, NULL))
        height++;
    sim_obs ev = {.kind = SIM_OBS_BLOCK_MINED, .node = nd->id, .block = b, .height = height};
    sim_observe(ctx, &ev);
    nd->beh->on_block_found(ctx, nd, b);
}

const pu_chain *sim_best_chain(const sim_ctx *ctx)
{
    const pu_chain *best = ctx->nodes[0].chain;
    for (uint32_t i = 1; i < ctx->n; i++)
        if (pu_u256_cmp(pu_chain_work(ctx->nodes[i].chain), pu_chain_work(best)) > 0)
            best = ctx->nodes[i].chain;
    return best;
}
