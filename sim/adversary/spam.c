/* sim/adversary/spam.c -- floods: the attacker's node sends its targets
 * (`nodes`, or its neighbours when it starts) `rate` messages per second
 * (Poisson), one target after the other, of the kind `mode` says:
 *
 *   low_fee        valid payments paying `fee` (the minimum by default) that
 *                  spend its coins back to itself: they fill mempools, which
 *                  evict the lowest fee rate once full (chain.mempool_capacity)
 *                  and block space;
 *   conflicting    two valid payments of one coin, sent at once to two
 *                  different targets: the network splits over which it
 *                  keeps, every node refuses the other (double-spend);
 *   oversized      transaction messages of `size` bytes, larger than any
 *                  transaction may be: refused unread (tx-too-large), but
 *                  their bytes cross the links and sit in the receiver's
 *                  buffer for the sender (network.peer_buffer);
 *   malformed      payments with a broken signature: each one costs its
 *                  first receiver a signature check before it is refused
 *                  (bad-signature), and goes no further;
 *   orphan_blocks  blocks meeting their own target whose parent nobody has
 *                  (a made-up hash): each receiver parks them in its orphan
 *                  pool (chain.orphan_limit evicts the oldest) and asks the
 *                  attacker for the parent, in vain.
 *
 * Its coins are those of workload wallet `wallet`, taken over at start: the
 * first message of the payment modes splits the wallet's coin into 500, and
 * later payments spend those into two coins each (spent in turn once
 * confirmed).
 *
 * Bounded memories: at every message the strategy looks at every honest
 * node and keeps the largest mempool and orphan pool it saw; the largest
 * buffer one peer had at a node is the node's own record (peer_peak).  The
 * outcome gives each peak beside its bound (peak_* and bound_*), attempts =
 * messages sent, successes = its payments that made it into the reference
 * chain, and the refusals of its objects by honest nodes by reason. */
#include <stdlib.h>
#include <string.h>

#include "core/u256.h"
#include "sim/adversary/adversary.h"
#include "sim/mining.h"
#include "sim/node.h"
#include "sim/wallet.h"

#define FANOUT 500u                 /* outputs of the first, splitting payment */
#define COIN_REUSE_NS (UINT64_C(600) * 1000000000u) /* retry a coin whose payment vanished */

typedef struct scoin {
    pu_outpoint op;
    pu_amount amount;
    uint64_t used_ns;               /* last spent by a flood payment (0: never) */
} scoin;

typedef struct spam {
    sim_adversary *adv;
    uint32_t node;
    int mode;
    uint32_t *targets;
    size_t n_targets, next;
    sim_rng rng;
    pu_keypair key;
    bool keyed, split;
    scoin *coins;
    size_t n_coins, cap_coins;
    pu_tx *dummy;                   /* oversized: the (tiny) transaction inside */
    pu_hmap *sent;                  /* txid -> nothing: its payments, for successes */
    uint64_t peak_mempool, peak_orphans;
} spam;

static pu_err add_coin(spam *s, const pu_outpoint *op, pu_amount amount)
{
    if (s->n_coins == s->cap_coins) {
        size_t cap = s->cap_coins ? 2 * s->cap_coins : 1024;
        scoin *c = realloc(s->coins, cap * sizeof *c);
        if (!c)
            return PU_ERR_NOMEM;
        s->coins = c;
        s->cap_coins = cap;
    }
    s->coins[s->n_coins++] = (scoin){*op, amount, 0};
    return PU_OK;
}

/* A coin of its own the node's chain has confirmed and no recent payment
 * spent; NULL when none. */
static scoin *pick_coin(sim_ctx *ctx, spam *s, pu_amount min)
{
    const pu_utxo *u = pu_chain_utxo(ctx->nodes[s->node].chain);
    for (size_t k = 0; k < s->n_coins; k++) {
        size_t i = (size_t)sim_rng_below(&s->rng, s->n_coins);
        scoin *c = &s->coins[i];
        if (c->amount >= min && (!c->used_ns || ctx->now - c->used_ns > COIN_REUSE_NS)
            && pu_utxo_find(u, &c->op))
            return c;
    }
    return NULL;
}

/* A payment of coin c to itself in n equal outputs (minus the fee). */
static pu_tx *pay_self(sim_ctx *ctx, spam *s, const scoin *c, uint32_t n, pu_amount fee, bool break_sig)
{
    pu_amount each = (c->amount - fee) / n;
    pu_tx *tx = NULL;
    if (each <= 0 || pu_tx_new(PU_TX_PAYMENT, 1, n, 0, &tx) != PU_OK)
        return NULL;
    pu_tx_in_mut(tx, 0)->prev = c->op;
    for (uint32_t i = 0; i < n; i++) {
        pu_tx_out_mut(tx, i)->amount = each;
        pu_tx_out_mut(tx, i)->addr = s->key.addr;
    }
    /* distinct ids for payments of one coin (conflicting pairs) */
    pu_tx_set_timestamp(tx, sim_now_s(ctx) + sim_rng_below(&s->rng, 1u << 20));
    const pu_keypair *k = &s->key;
    if (pu_tx_sign_all(ctx->crypto, tx, &k, 1) != PU_OK) {
        pu_tx_unref(tx);
        return NULL;
    }
    if (break_sig)
        pu_tx_in_mut(tx, 0)->sig[7] ^= 0x40;
    if (pu_tx_finalize(ctx->crypto, tx) != PU_OK) {
        pu_tx_unref(tx);
        return NULL;
    }
    return tx;
}

static uint32_t next_target(spam *s)
{
    uint32_t t = s->targets[s->next];
    s->next = (s->next + 1) % s->n_targets;
    return t;
}

/* Send tx to one target as its own object; its outputs become coins. */
static void send_tx(sim_ctx *ctx, spam *s, pu_tx *tx, uint32_t to, uint64_t size)
{
    void *v;
    if (sim_adversary_own_tx(s->adv, tx) != PU_OK || pu_hmap_put(s->sent, pu_tx_id(tx)->b, &v, NULL) != PU_OK)
        sim_fail(ctx, PU_ERR_NOMEM, "spam");
    bool takes = !size && s->mode != SIM_PARAMS_MODE_MALFORMED; /* outputs that may exist */
    for (uint32_t i = 0; takes && i < pu_tx_n_out(tx); i++) {
        pu_outpoint op = {*pu_tx_id(tx), i};
        if (add_coin(s, &op, pu_tx_out(tx, i)->amount) != PU_OK)
            sim_fail(ctx, PU_ERR_NOMEM, "spam");
    }
    sim_node_send_tx(ctx, &ctx->nodes[s->node], to, tx, size);
    sim_adversary_outcome(s->adv)->attempts++;
}

static void flood_payment(sim_ctx *ctx, spam *s)
{
    const sim_params_adversary *a = sim_adversary_params(s->adv);
    sim_node *nd = &ctx->nodes[s->node];
    if (!s->split) { /* one coin into FANOUT, through the node's own mempool */
        pu_outpoint op;
        pu_amount amt;
        if (!sim_wallets_coin(ctx, (uint32_t)a->wallet, pu_chain_utxo(nd->chain), &op, &amt))
            return;
        scoin c = {op, amt, 0};
        pu_tx *tx = pay_self(ctx, s, &c, FANOUT, ctx->p->transactions.fee, false);
        if (tx && sim_node_submit_tx(ctx, nd, tx)) {
            s->split = true;
            for (uint32_t i = 0; i < FANOUT; i++)
                if (add_coin(s, &(pu_outpoint){*pu_tx_id(tx), i}, pu_tx_out(tx, i)->amount) != PU_OK)
                    sim_fail(ctx, PU_ERR_NOMEM, "spam");
        }
        pu_tx_unref(tx);
        return;
    }
    scoin *c = pick_coin(ctx, s, 2 * a->fee + 4);
    if (!c)
        return; /* nothing confirmed yet */
    bool broken = s->mode == SIM_PARAMS_MODE_MALFORMED;
    c->used_ns = broken ? 0 : ctx->now; /* a payment nobody takes leaves its coin free */
    bool conflict = s->mode == SIM_PARAMS_MODE_CONFLICTING && s->n_targets > 1;
    /* two outputs: every payment that confirms gives it two coins to spend */
    pu_tx *tx = pay_self(ctx, s, c, 2, a->fee, broken);
    pu_tx *tw = conflict ? pay_self(ctx, s, c, 2, a->fee + 1, false) : NULL;
    if (tx)
        send_tx(ctx, s, tx, next_target(s), 0);
    if (tw)
        send_tx(ctx, s, tw, next_target(s), 0);
    pu_tx_unref(tx);
    pu_tx_unref(tw);
}

/* A block meeting its own (easiest) target on a parent that does not exist. */
static void orphan_block(sim_ctx *ctx, spam *s)
{
    pu_header h;
    memset(&h, 0, sizeof h);
    h.version = PU_BLOCK_VERSION;
    for (int i = 0; i < 32; i += 8) {
        uint64_t r = sim_rng_u64(&s->rng);
        for (int j = 0; j < 8; j++)
            h.prev.b[i + j] = (uint8_t)(r >> (8 * j));
    }
    h.timestamp = sim_now_s(ctx);
    h.bits = pu_bits_from_target(&ctx->cp.pow_limit);
    pu_block *b = NULL;
    pu_tx *cb = NULL;
    pu_err rc = pu_block_new(&h, &b);
    if (rc == PU_OK) rc = pu_tx_new(PU_TX_COINBASE, 0, 1, 4, &cb);
    if (rc == PU_OK) {
        pu_tx_out_mut(cb, 0)->amount = 1;
        pu_tx_out_mut(cb, 0)->addr = s->key.addr;
        rc = pu_tx_finalize(ctx->crypto, cb);
    }
    if (rc == PU_OK) rc = pu_block_add_tx(b, cb);
    if (rc == PU_OK) rc = pu_block_update_merkle(ctx->crypto, b);
    if (rc == PU_OK) {
        sim_mining_grind(ctx, pu_block_header_mut(b), sim_rng_u64(&s->rng));
        rc = pu_block_finalize(ctx->crypto, b);
    }
    if (rc == PU_OK) rc = sim_adversary_own_block(s->adv, b);
    if (rc == PU_OK) {
        sim_node_send_block(ctx, &ctx->nodes[s->node], next_target(s), SIM_MSG_BLOCK_DATA, b);
        sim_adversary_outcome(s->adv)->attempts++;
    } else {
        sim_fail(ctx, rc, "spam: orphan block");
    }
    pu_tx_unref(cb);
    pu_block_unref(b);
}

/* The largest mempool and orphan pool among honest nodes now. */
static void look(sim_ctx *ctx, spam *s)
{
    for (uint32_t v = 0; v < ctx->n; v++) {
        if (sim_adversary_controls(ctx, v))
            continue;
        uint64_t mp = pu_chain_mempool_size(ctx->nodes[v].chain);
        uint64_t orph = pu_chain_n_orphans(ctx->nodes[v].chain);
        s->peak_mempool = mp > s->peak_mempool ? mp : s->peak_mempool;
        s->peak_orphans = orph > s->peak_orphans ? orph : s->peak_orphans;
    }
}

static void schedule_next(sim_ctx *ctx, spam *s)
{
    double rate = sim_adversary_params(s->adv)->rate;
    if (rate > 0)
        sim_adversary_set_timer(ctx, s->adv, ctx->now + 1 + sim_rng_exp_ns(&s->rng, 1e9 / rate), 0);
}

static void on_timer(sim_ctx *ctx, sim_adversary *adv, uint64_t arg)
{
    (void)arg;
    spam *s = sim_adversary_state(adv);
    if (!sim_adversary_active(adv) || !s->n_targets)
        return;
    switch (s->mode) {
    case SIM_PARAMS_MODE_ORPHAN_BLOCKS: orphan_block(ctx, s); break;
    case SIM_PARAMS_MODE_OVERSIZED:
        send_tx(ctx, s, s->dummy, next_target(s), sim_adversary_params(adv)->size);
        break;
    default: flood_payment(ctx, s); break;
    }
    look(ctx, s);
    schedule_next(ctx, s);
}

static pu_err create(sim_ctx *ctx, sim_adversary *adv, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    const sim_params_adversary *a = sim_adversary_params(adv);
    spam *s = calloc(1, sizeof *s);
    if (!s)
        return PU_ERR_NOMEM;
    sim_adversary_set_state(adv, s);
    s->adv = adv;
    s->node = (uint32_t)a->node;
    s->mode = sim_params_adversary_mode_of(a);
    s->rng = sim_adversary_rng(ctx, adv, 1);
    pu_err rc = pu_hmap_new(32, 0, 1024, &s->sent);
    if (rc == PU_OK)
        rc = sim_adversary_take_node(ctx, adv, s->node, &sim_behavior_honest, NULL);
    static const char modes[SIM_PARAMS_MODE_COUNT][16] = {"", "", "", "", "low_fee", "conflicting",
                                                          "oversized", "malformed", "orphan_blocks"};
    snprintf(sim_adversary_outcome(adv)->detail, sizeof sim_adversary_outcome(adv)->detail,
             "mode=%s rate=%g fee=%lld size=%llu", modes[s->mode], a->rate, (long long)a->fee,
             (unsigned long long)a->size);
    return rc;
}

static void start(sim_ctx *ctx, sim_adversary *adv)
{
    spam *s = sim_adversary_state(adv);
    const sim_params_adversary *a = sim_adversary_params(adv);
    if (!s->keyed && sim_wallets_take(ctx, (uint32_t)a->wallet, &s->key) != PU_OK) {
        sim_fail(ctx, PU_ERR_RANGE, "spam: wallet");
        return;
    }
    s->keyed = true;
    if (!s->targets) { /* its targets: the listed nodes, or its neighbours now */
        uint32_t deg;
        const uint32_t *nb = sim_net_neighbors(ctx->net, s->node, &deg);
        s->n_targets = a->nodes.n ? a->nodes.n : deg;
        s->targets = malloc((s->n_targets ? s->n_targets : 1) * sizeof *s->targets);
        if (!s->targets) {
            sim_fail(ctx, PU_ERR_NOMEM, "spam");
            return;
        }
        for (size_t i = 0; i < s->n_targets; i++)
            s->targets[i] = a->nodes.n ? (uint32_t)a->nodes.v[i] : nb[i];
    }
    if (s->mode == SIM_PARAMS_MODE_OVERSIZED && !s->dummy) {
        scoin c = {{{{0}}, 0}, 2 * a->fee + 2, 0};
        s->dummy = pay_self(ctx, s, &c, 1, a->fee, false);
        if (!s->dummy) {
            sim_fail(ctx, PU_ERR_NOMEM, "spam");
            return;
        }
    }
    schedule_next(ctx, s);
}

/* Its payments in the reference chain. */
static void finish(sim_ctx *ctx, sim_adversary *adv)
{
    spam *s = sim_adversary_state(adv);
    sim_attack_outcome *o = sim_adversary_outcome(adv);
    const pu_chain *best = sim_best_chain(ctx);
    for (uint32_t h = pu_chain_height(best); h > 0; h--) {
        const pu_block *b = pu_chain_block_at(best, h);
        for (uint32_t t = 1; t < pu_block_n_tx(b); t++)
            o->successes += pu_hmap_get(s->sent, pu_tx_id(pu_block_tx(b, t))->b) != NULL;
    }
    o->success_rate = o->attempts ? (double)o->successes / (double)o->attempts : o->success_rate;
    uint64_t peer = 0;
    for (uint32_t v = 0; v < ctx->n; v++)
        if (!sim_adversary_controls(ctx, v) && ctx->nodes[v].peer_peak > peer)
            peer = ctx->nodes[v].peer_peak;
    o->peak_mempool = s->peak_mempool;
    o->bound_mempool = ctx->p->chain.mempool_capacity;
    o->peak_orphans = s->peak_orphans;
    o->bound_orphans = ctx->p->chain.orphan_limit;
    o->peak_queue = peer;
    o->bound_queue = ctx->p->network.peer_buffer;
}

static void free_state(void *state)
{
    spam *s = state;
    if (!s)
        return;
    free(s->targets);
    free(s->coins);
    pu_tx_unref(s->dummy);
    pu_hmap_free(s->sent);
    free(s);
}

const sim_strategy sim_strategy_spam = {
    SIM_PARAMS_ADV_SPAM, create, start, NULL, NULL, 0, on_timer, finish, free_state,
};
