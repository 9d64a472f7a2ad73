/* core/chain.c -- block tree, fork choice, connect/disconnect, mempool policy. */
#include "core/chain.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/hmap.h"
#include "core/mix.h"

/* A chain's own view of the shared block records (core/valcache): which
 * blocks it knows, which it found invalid, which are on its active branch,
 * and in which order it first saw them.  Indexed by record id. */
enum { BN_KNOWN = 1, BN_INVALID = 2, BN_ACTIVE = 4 };

typedef pu_blockrec bnode; /* a tree node of this chain is a shared record */

typedef struct cslot {
    uint32_t seq;  /* first-seen order: the tie-break of equal work */
    uint8_t status;
} cslot;

typedef struct nodevec {
    bnode **v;
    size_t n, cap;
} nodevec;

struct pu_chain {
    pu_params params;
    pu_crypto *crypto;
    pu_sigcache *sigcache;
    pu_valcache *vc;         /* shared, or this chain's own */
    bool own_vc;
    uint32_t index;          /* this chain's number in vc */
    const pu_rules *rules;
    int tie_break;           /* PU_TIE_* */
    uint64_t tie_salt;
    pu_chain_observer obs[PU_CHAIN_MAX_OBSERVERS];
    uint32_t n_obs;
    cslot *slot;             /* by record id */
    uint32_t n_slot;
    size_t n_known;
    bnode **active;          /* active[h] for h <= tip height */
    uint32_t n_active, cap_active;
    pu_utxo *utxo;           /* view of the tip's state (a draft while validating) */
    pu_mempool *mp;
    pu_block **orphans;      /* FIFO, oldest first */
    uint32_t n_orphans;
    uint32_t next_seq;
};

/* ---- small helpers ---------------------------------------------------- */

static pu_err vec_push(nodevec *v, bnode *n)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 16;
        bnode **nv = realloc(v->v, cap * sizeof *nv);
        if (!nv)
            return PU_ERR_NOMEM;
        v->v = nv;
        v->cap = cap;
    }
    v->v[v->n++] = n;
    return PU_OK;
}

static uint8_t status_of(const pu_chain *ch, const bnode *n)
{
    return n->id < ch->n_slot ? ch->slot[n->id].status : 0;
}

static bool has_status(const pu_chain *ch, const bnode *n, uint8_t flag)
{
    return (status_of(ch, n) & flag) != 0;
}

static void set_status(pu_chain *ch, const bnode *n, uint8_t flag) { ch->slot[n->id].status |= flag; }
static void clear_status(pu_chain *ch, const bnode *n, uint8_t flag)
{
    ch->slot[n->id].status &= (uint8_t)~flag;
}

/* The record of a block this chain knows, or NULL. */
static bnode *lookup(const pu_chain *ch, const pu_hash32 *h)
{
    bnode *n = pu_valcache_find(ch->vc, h);
    return n && has_status(ch, n, BN_KNOWN) ? n : NULL;
}

static bnode *tip_node(const pu_chain *ch) { return ch->active[ch->n_active - 1]; }

static const pu_hash32 *node_hash(const bnode *n) { return pu_block_hash(n->block); }

static bnode *ancestor(const pu_chain *ch, bnode *n, uint32_t height)
{
    if (height > n->height)
        return NULL;
    if (has_status(ch, n, BN_ACTIVE) && height < ch->n_active)
        return ch->active[height];
    while (n && n->height > height)
        n = n->parent;
    return n;
}

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Median timestamp of n and its mtp_window-1 ancestors. */
static uint64_t mtp_of(const pu_params *p, const bnode *n)
{
    uint64_t ts[64];
    uint32_t k = 0, w = p->mtp_window ? p->mtp_window : 1;
    if (w > 64)
        w = 64;
    for (; n && k < w; n = n->parent)
        ts[k++] = pu_block_header(n->block)->timestamp;
    qsort(ts, k, sizeof ts[0], u64_cmp);
    return ts[k / 2];
}

/* Bitcoin's retarget: every interval blocks, scale the target by the
 * actual/expected timespan, clamped, capped at the proof-of-work limit.
 * The target a child of `parent` must carry. */
static uint32_t required_bits(const pu_chain *ch, bnode *parent)
{
    const pu_params *p = &ch->params;
    uint32_t pbits = pu_block_header(parent->block)->bits;
    uint32_t height = parent->height + 1;
    if (p->fixed_target || !p->retarget_interval || height % p->retarget_interval != 0
        || height < p->retarget_interval)
        return pbits;
    bnode *first = ancestor(ch, parent, height - p->retarget_interval);
    uint64_t t1 = pu_block_header(parent->block)->timestamp;
    uint64_t t0 = pu_block_header(first->block)->timestamp;
    uint64_t expect = (uint64_t)p->retarget_interval * p->target_spacing_s;
    uint64_t actual = t1 > t0 ? t1 - t0 : 0;
    uint64_t clamp = p->retarget_clamp ? p->retarget_clamp : 1;
    if (actual < expect / clamp)
        actual = expect / clamp;
    if (actual > expect * clamp)
        actual = expect * clamp;
    if (actual == 0)
        actual = 1;
    pu_u256 t, nt;
    if (pu_target_from_bits(pbits, &t) != PU_OK)
        return pbits;
    /* Multiply first for precision; a target near the limit would overflow,
     * then divide first (those low bits do not matter at such targets). */
    if (pu_u256_mul64(&t, actual, &nt)) {
        pu_u256_div64(&t, expect, &nt);
        if (pu_u256_mul64(&nt, actual, &nt))
            nt = p->pow_limit;
    } else {
        pu_u256_div64(&nt, expect, &nt);
    }
    if (pu_u256_cmp(&nt, &p->pow_limit) > 0)
        nt = p->pow_limit;
    if (pu_u256_is_zero(&nt))
        pu_u256_from_u64(1, &nt);
    return pu_bits_from_target(&nt);
}

/* ---- transaction checks against the UTXO set --------------------------- */

/* Inputs exist, are spendable by this kind, mature and owned; amounts add up.
 * `spent` (optional) holds outpoints already spent earlier in the block, to
 * tell an in-block double spend from a missing input. */
static pu_reason check_inputs(pu_chain *ch, const pu_tx *tx, uint32_t height, const pu_hmap *spent,
                              pu_amount *fee)
{
    bool settle = pu_tx_kind_of(tx) == PU_TX_SETTLEMENT;
    pu_amount in_sum = 0, out_sum, locked, need;
    for (uint32_t i = 0; i < pu_tx_n_in(tx); i++) {
        const pu_txin *in = pu_tx_in(tx, i);
        const pu_coin *coin = pu_utxo_find(ch->utxo, &in->prev);
        if (!coin) {
            uint8_t k[36];
            pu_outpoint_bytes(&in->prev, k);
            return spent && pu_hmap_get(spent, k) ? PU_R_BLOCK_DOUBLE_SPEND : PU_R_MISSING_INPUT;
        }
        bool is_lock = coin->flags & PU_COIN_LOCKED;
        if (is_lock != settle)
            return settle ? PU_R_BAD_SETTLEMENT : PU_R_LOCKED_OUTPUT;
        if ((coin->flags & PU_COIN_COINBASE) && height - coin->height < ch->params.coinbase_maturity)
            return PU_R_IMMATURE;
        if (!settle) {
            pu_addr a;
            pu_addr_from_pub(ch->crypto, in->pub, &a);
            if (memcmp(a.b, coin->addr.b, 20) != 0)
                return PU_R_WRONG_KEY;
        }
        if (pu_amount_add(in_sum, coin->amount, &in_sum) != PU_OK)
            return PU_R_INFLATION;
    }
    if (pu_tx_output_sum(tx, &out_sum) != PU_OK || pu_tx_locked(tx, &locked) != PU_OK
        || pu_amount_add(out_sum, locked, &need) != PU_OK || need > in_sum)
        return PU_R_INFLATION;
    if (settle && need != in_sum) /* a settlement pays out exactly what it unlocks */
        return PU_R_BAD_SETTLEMENT;
    *fee = in_sum - need;
    return PU_R_OK;
}

static pu_reason check_sigs(pu_chain *ch, const pu_tx *tx)
{
    if (pu_tx_kind_of(tx) == PU_TX_SETTLEMENT)
        return PU_R_OK; /* spends locks: authorised by the settlement rules */
    for (uint32_t i = 0; i < pu_tx_n_in(tx); i++) {
        const pu_txin *in = pu_tx_in(tx, i);
        if (!pu_sigcache_verify(ch->sigcache, ch->crypto, in->pub, pu_tx_sighash_at(tx, i), in->sig))
            return PU_R_BAD_SIGNATURE;
    }
    return PU_R_OK;
}

static bool needs_rules(const pu_tx *tx)
{
    pu_tx_kind k = pu_tx_kind_of(tx);
    return k == PU_TX_PAY_FOR_TASK || k == PU_TX_BUY_TICKETS || k == PU_TX_SETTLEMENT
           || k == PU_TX_EVIDENCE || pu_tx_opret(tx) != NULL;
}

static pu_reason check_rules_tx(pu_chain *ch, const pu_tx *tx, uint32_t height)
{
    if (!needs_rules(tx) || !ch->rules || !ch->rules->check_tx)
        return PU_R_OK;
    return ch->rules->check_tx(ch->rules->ctx, ch, tx, height);
}

/* ---- applying blocks to the UTXO set ----------------------------------- */

/* Spend tx's inputs (recording them in undo when given) and add its outputs
 * and lock.  Inputs must exist (checked before, or guaranteed by a cached
 * verdict for the same ancestry). */
static pu_err apply_tx(pu_chain *ch, const pu_tx *tx, uint32_t height, bool coinbase_flag,
                       pu_undo *undo, pu_hmap *spent)
{
    pu_err rc;
    pu_addr owner;
    memset(&owner, 0, sizeof owner);
    if (pu_tx_n_in(tx) > 0) {
        const pu_coin *c0 = pu_utxo_find(ch->utxo, &pu_tx_in(tx, 0)->prev);
        if (!c0)
            return PU_ERR_STATE;
        owner = c0->addr;
    }
    for (uint32_t i = 0; i < pu_tx_n_in(tx); i++) {
        const pu_outpoint *op = &pu_tx_in(tx, i)->prev;
        pu_coin c;
        if ((rc = pu_utxo_spend(ch->utxo, op, &c)) != PU_OK)
            return PU_ERR_STATE;
        if (undo && (rc = pu_undo_push(undo, op, &c)) != PU_OK)
            return rc;
        if (spent) {
            uint8_t k[36];
            void *v;
            pu_outpoint_bytes(op, k);
            if ((rc = pu_hmap_put(spent, k, &v, NULL)) != PU_OK)
                return rc;
        }
    }
    pu_outpoint op = {*pu_tx_id(tx), 0};
    for (uint32_t j = 0; j < pu_tx_n_out(tx); j++) {
        const pu_txout *o = pu_tx_out(tx, j);
        pu_coin c = {o->amount, o->addr, height, coinbase_flag ? PU_COIN_COINBASE : 0};
        op.index = j;
        if ((rc = pu_utxo_add(ch->utxo, &op, &c)) != PU_OK)
            return rc;
    }
    pu_amount locked;
    if (pu_tx_locked(tx, &locked) == PU_OK && locked > 0) {
        uint8_t flag = pu_tx_kind_of(tx) == PU_TX_PAY_FOR_TASK ? PU_COIN_ESCROW : PU_COIN_STAKE;
        pu_coin c = {locked, owner, height, flag};
        op.index = PU_LOCK_INDEX;
        if ((rc = pu_utxo_add(ch->utxo, &op, &c)) != PU_OK)
            return rc;
    }
    return PU_OK;
}

/* Full validation of n->block on top of the current tip (its parent), in a
 * draft of the tip's UTXO state: on success the draft becomes the shared
 * state after the block (*state_out) and the view moves there; on failure
 * the draft is dropped and the view is back at the tip. */
static pu_err validate_and_apply(pu_chain *ch, bnode *n, pu_reason *why, uint32_t *bad_tx,
                                 pu_undo **undo_out, pu_utxo_state **state_out)
{
    const pu_block *b = n->block;
    uint32_t height = n->height, ntx = pu_block_n_tx(b);
    pu_reason r = PU_R_OK;
    pu_amount fees = 0;
    pu_undo *undo = NULL;
    pu_hmap *spent = NULL;
    *state_out = NULL;
    pu_err rc = pu_undo_new(&undo);
    if (rc == PU_OK)
        rc = pu_hmap_new(36, 0, 64, &spent);
    if (rc == PU_OK)
        rc = pu_utxo_begin(ch->utxo);
    *bad_tx = 0;
    const pu_tx *cb = pu_block_tx(b, 0);
    uint32_t blen;
    const uint8_t *body = pu_tx_body(cb, &blen);
    if (rc == PU_OK && pu_get_be32(body) != height)
        r = PU_R_BAD_COINBASE_HEIGHT;
    for (uint32_t i = 1; rc == PU_OK && r == PU_R_OK && i < ntx; i++) {
        const pu_tx *tx = pu_block_tx(b, i);
        pu_amount fee = 0;
        *bad_tx = i;
        pu_outpoint op = {*pu_tx_id(tx), 0};
        for (uint32_t j = 0; j < pu_tx_n_out(tx) && r == PU_R_OK; j++) {
            op.index = j;
            if (pu_utxo_find(ch->utxo, &op))
                r = PU_R_DUPLICATE_TX;
        }
        if (r == PU_R_OK)
            r = check_inputs(ch, tx, height, spent, &fee);
        if (r == PU_R_OK)
            r = check_sigs(ch, tx);
        if (r == PU_R_OK)
            r = check_rules_tx(ch, tx, height);
        if (r == PU_R_OK && (rc = apply_tx(ch, tx, height, false, undo, spent)) == PU_OK)
            fees += fee; /* each fee <= PU_MAX_MONEY; block sizes bound the count */
    }
    if (rc == PU_OK && r == PU_R_OK) {
        pu_amount cb_out, allowed;
        *bad_tx = 0;
        if (pu_tx_output_sum(cb, &cb_out) != PU_OK
            || pu_amount_add(pu_params_reward(&ch->params, height), fees, &allowed) != PU_OK
            || cb_out > allowed)
            r = PU_R_BAD_COINBASE_AMOUNT;
    }
    if (rc == PU_OK && r == PU_R_OK) /* coinbase last: its outputs cannot be spent inside its own block */
        rc = apply_tx(ch, cb, height, true, undo, NULL);
    /* Block-level rules run for every block when installed (PoUW task
     * limits); a PoUW header without rules cannot have its work checked.
     * They see the chain at the parent with the block applied to its set. */
    if (rc == PU_OK && r == PU_R_OK) {
        if (ch->rules && ch->rules->check_block)
            r = ch->rules->check_block(ch->rules->ctx, ch, b, height);
        else if (pu_header_is_pouw(pu_block_header(b)))
            r = PU_R_ML_WORK;
    }
    if (rc == PU_OK && r == PU_R_OK)
        rc = pu_utxo_commit(ch->utxo, state_out);
    if (rc != PU_OK || r != PU_R_OK) {
        pu_utxo_abort(ch->utxo); /* no effect when the draft never opened */
        pu_undo_unref(undo);
        undo = NULL;
    } else {
        pu_undo_set_fees(undo, fees);
    }
    pu_hmap_free(spent);
    *why = r;
    *undo_out = undo;
    return rc;
}

/* The verdict of n on its parent (the tip): shared when any chain already
 * validated it, else found by full validation and shared. */
static pu_err verdict_of(pu_chain *ch, bnode *n)
{
    bool hit = n->validated;
    pu_valcache_note(ch->vc, hit);
    if (hit)
        return PU_OK;
    pu_reason r;
    uint32_t bad_tx;
    pu_undo *undo = NULL;
    pu_utxo_state *state = NULL;
    pu_err rc = validate_and_apply(ch, n, &r, &bad_tx, &undo, &state);
    if (rc != PU_OK)
        return rc;
    n->validated = true;
    n->reason = (uint8_t)r;
    n->bad_tx = bad_tx;
    n->undo = undo;
    n->state = state;
    return PU_OK;
}

/* Connect n (a child of the tip): move the view to the state after it. */
static pu_err connect_node(pu_chain *ch, bnode *n, pu_reason *why, uint32_t *bad_tx)
{
    *bad_tx = 0;
    pu_err rc = verdict_of(ch, n);
    if (rc != PU_OK)
        return rc;
    *why = (pu_reason)n->reason;
    *bad_tx = n->bad_tx;
    if (n->reason != PU_R_OK)
        return PU_OK;
    if (ch->n_active == ch->cap_active) {
        uint32_t cap = ch->cap_active * 2;
        bnode **a = realloc(ch->active, cap * sizeof *a);
        if (!a) { /* keep the state consistent: the view stays at the tip */
            pu_utxo_set_state(ch->utxo, tip_node(ch)->state);
            return PU_ERR_NOMEM;
        }
        ch->active = a;
        ch->cap_active = cap;
    }
    pu_utxo_set_state(ch->utxo, n->state); /* already there when this chain validated it */
    set_status(ch, n, BN_ACTIVE);
    ch->active[ch->n_active++] = n;
    for (uint32_t i = 0; i < ch->n_obs; i++)
        if (ch->obs[i].connected)
            ch->obs[i].connected(ch->obs[i].ctx, n->block, n->height, n->undo);
    return PU_OK;
}

static void disconnect_tip(pu_chain *ch)
{
    bnode *n = tip_node(ch);
    assert(ch->n_active > 1 && n->undo);
    pu_utxo_set_state(ch->utxo, n->parent->state);
    for (uint32_t i = 0; i < ch->n_obs; i++)
        if (ch->obs[i].disconnected)
            ch->obs[i].disconnected(ch->obs[i].ctx, n->block, n->height, n->undo);
    clear_status(ch, n, BN_ACTIVE);
    ch->n_active--;
}

/* Mark n and every descendant this chain knows invalid.  Records are
 * numbered parents first, so one pass in id order reaches every descendant. */
static void mark_invalid(pu_chain *ch, bnode *n)
{
    set_status(ch, n, BN_INVALID);
    uint32_t end = pu_valcache_count(ch->vc) < ch->n_slot ? pu_valcache_count(ch->vc) : ch->n_slot;
    for (uint32_t id = n->id + 1; id < end; id++) {
        bnode *m = pu_valcache_at(ch->vc, id);
        if (has_status(ch, m, BN_KNOWN) && !has_status(ch, m, BN_INVALID) && m->parent
            && has_status(ch, m->parent, BN_INVALID))
            set_status(ch, m, BN_INVALID);
    }
}

/* Rank of a block among tips of equal work under PU_TIE_RANDOM: the salted
 * mix of its hash (all 32 bytes, so leading zero bytes do not matter). */
static uint64_t tie_rank(const pu_chain *ch, const bnode *n)
{
    const uint8_t *h = node_hash(n)->b;
    uint64_t x = ch->tie_salt;
    for (int w = 0; w < 4; w++) {
        uint64_t v = 0;
        for (int i = 0; i < 8; i++)
            v = v << 8 | h[8 * w + i];
        x = pu_mix64(x ^ v);
    }
    return x;
}

static bool better(const pu_chain *ch, const bnode *a, const bnode *b)
{
    int c = pu_u256_cmp(&a->work, &b->work);
    if (c != 0 || a == b)
        return c > 0;
    if (ch->tie_break == PU_TIE_RANDOM)
        return tie_rank(ch, a) < tie_rank(ch, b);
    return ch->slot[a->id].seq < ch->slot[b->id].seq;
}

static bnode *best_valid(const pu_chain *ch)
{
    bnode *best = tip_node(ch);
    uint32_t end = pu_valcache_count(ch->vc) < ch->n_slot ? pu_valcache_count(ch->vc) : ch->n_slot;
    for (uint32_t id = 0; id < end; id++) {
        bnode *m = pu_valcache_at(ch->vc, id);
        if (has_status(ch, m, BN_KNOWN) && !has_status(ch, m, BN_INVALID) && better(ch, m, best))
            best = m;
    }
    return best;
}

/* Switch the active chain to `target`: disconnect to the fork point, then
 * connect target's branch.  A block failing validation is marked invalid
 * (with its descendants); the caller then picks the next best branch. */
static pu_err switch_to(pu_chain *ch, bnode *target, const pu_hash32 *submitted, pu_add_result *res,
                        nodevec *conn, nodevec *disc, bool *hit_invalid)
{
    *hit_invalid = false;
    bnode *fork = target;
    while (!has_status(ch, fork, BN_ACTIVE))
        fork = fork->parent;
    pu_err rc = PU_OK;
    while (tip_node(ch) != fork) {
        if ((rc = vec_push(disc, tip_node(ch))) != PU_OK)
            return rc;
        disconnect_tip(ch);
    }
    nodevec path = {0};
    for (bnode *n = target; n != fork; n = n->parent)
        if ((rc = vec_push(&path, n)) != PU_OK)
            goto out;
    for (size_t i = path.n; i-- > 0;) {
        bnode *n = path.v[i];
        pu_reason why;
        uint32_t bad_tx;
        if ((rc = connect_node(ch, n, &why, &bad_tx)) != PU_OK)
            goto out;
        if (why != PU_R_OK) {
            mark_invalid(ch, n);
            *hit_invalid = true;
            if (pu_hash_eq(node_hash(n), submitted)) {
                res->reason = why;
                res->bad_tx = bad_tx;
            }
            break;
        }
        if ((rc = vec_push(conn, n)) != PU_OK)
            goto out;
    }
out:
    free(path.v);
    return rc;
}

static pu_err mempool_after_reorg(pu_chain *ch, const nodevec *conn, const nodevec *disc);

/* Make the best valid branch active.  Called when a new block may have more
 * work than the tip. */
static pu_err activate_best(pu_chain *ch, bnode *candidate, const pu_hash32 *submitted,
                            pu_add_result *res)
{
    bnode *old_tip = tip_node(ch);
    nodevec conn = {0}, disc = {0};
    pu_err rc = PU_OK;
    for (uint32_t i = 0; i < ch->n_obs; i++)
        if (ch->obs[i].begin)
            ch->obs[i].begin(ch->obs[i].ctx);
    bnode *target = candidate;
    while (rc == PU_OK && target != tip_node(ch)) {
        bool hit_invalid;
        rc = switch_to(ch, target, submitted, res, &conn, &disc, &hit_invalid);
        if (rc == PU_OK && hit_invalid) /* rare: rescan the tree for the best valid branch */
            target = best_valid(ch);
    }
    for (uint32_t i = 0; i < ch->n_obs; i++)
        if (ch->obs[i].commit)
            ch->obs[i].commit(ch->obs[i].ctx);
    bnode *tip = tip_node(ch);
    if (tip != old_tip) {
        bnode *f = old_tip;
        while (!has_status(ch, f, BN_ACTIVE))
            f = f->parent;
        res->tip_changed = true;
        res->disconnected = old_tip->height - f->height;
        res->connected += tip->height - f->height;
    }
    if (rc == PU_OK)
        rc = mempool_after_reorg(ch, &conn, &disc);
    free(conn.v);
    free(disc.v);
    return rc;
}

/* ---- mempool maintenance ------------------------------------------------ */

/* Removes a member of the mempool, telling the observers first (the entry
 * holds the reference that keeps tx alive during the calls). */
static void mp_remove(pu_chain *ch, const pu_tx *tx, pu_mempool_exit why)
{
    for (uint32_t i = 0; i < ch->n_obs; i++)
        if (ch->obs[i].tx_removed)
            ch->obs[i].tx_removed(ch->obs[i].ctx, tx, why);
    PU_IGNORE(pu_mempool_remove(ch->mp, pu_tx_id(tx))); /* a member: cannot be missing */
}

/* Where each transaction and each spent outpoint of n's block stands in the
 * removal order below: (i << 32) for transaction i, (i << 32) + 1 + k for its
 * input k.  Built once per block, kept in its shared record. */
static pu_err block_keys(bnode *n)
{
    if (n->tx_keys)
        return PU_OK;
    const pu_block *b = n->block;
    uint32_t ntx = pu_block_n_tx(b), nin = 0;
    for (uint32_t i = 1; i < ntx; i++)
        nin += pu_tx_n_in(pu_block_tx(b, i));
    pu_hmap *tk = NULL, *sk = NULL;
    pu_err rc = pu_hmap_new(32, sizeof(uint64_t), ntx, &tk);
    if (rc == PU_OK)
        rc = pu_hmap_new(36, sizeof(uint64_t), nin, &sk);
    for (uint32_t i = 1; rc == PU_OK && i < ntx; i++) {
        const pu_tx *tx = pu_block_tx(b, i);
        void *v;
        bool created;
        if ((rc = pu_hmap_put(tk, pu_tx_id(tx)->b, &v, &created)) == PU_OK && created)
            *(uint64_t *)v = (uint64_t)i << 32;
        for (uint32_t k = 0; rc == PU_OK && k < pu_tx_n_in(tx); k++) {
            uint8_t key[36];
            pu_outpoint_bytes(&pu_tx_in(tx, k)->prev, key);
            if ((rc = pu_hmap_put(sk, key, &v, &created)) == PU_OK && created)
                *(uint64_t *)v = ((uint64_t)i << 32) + 1 + k;
        }
    }
    if (rc != PU_OK) {
        pu_hmap_free(tk);
        pu_hmap_free(sk);
        return rc;
    }
    n->tx_keys = tk;
    n->spend_keys = sk;
    return PU_OK;
}

typedef struct doomed {
    uint64_t key;
    pu_hash32 txid;
} doomed;

static int doomed_cmp(const void *a, const void *b)
{
    uint64_t x = ((const doomed *)a)->key, y = ((const doomed *)b)->key;
    return x < y ? -1 : x > y;
}

/* The removals of the loop in mempool_remove_block_txs, found from the
 * mempool's side (each entry's earliest position, if any) and done in the
 * same order: a mempool much smaller than the block -- the usual case for
 * most nodes under sim/'s flood model -- costs its own size, not the
 * block's.  PU_ERR_NOMEM leaves the mempool untouched. */
static pu_err remove_from_mempool_side(pu_chain *ch, bnode *n)
{
    pu_err rc = block_keys(n);
    size_t cnt = pu_mempool_count(ch->mp), k = 0;
    doomed *d = rc == PU_OK ? malloc(cnt * sizeof *d) : NULL;
    if (!d)
        return rc != PU_OK ? rc : PU_ERR_NOMEM;
    for (size_t e = 0; e < cnt; e++) {
        const pu_tx *tx = pu_mempool_at(ch->mp, e, NULL);
        const uint64_t *v = pu_hmap_get(n->tx_keys, pu_tx_id(tx)->b);
        uint64_t key = v ? *v : UINT64_MAX;
        for (uint32_t i = 0; i < pu_tx_n_in(tx); i++) {
            uint8_t op[36];
            pu_outpoint_bytes(&pu_tx_in(tx, i)->prev, op);
            v = pu_hmap_get(n->spend_keys, op);
            if (v && *v < key)
                key = *v;
        }
        if (key != UINT64_MAX)
            d[k++] = (doomed){key, *pu_tx_id(tx)};
    }
    qsort(d, k, sizeof *d, doomed_cmp);
    for (size_t i = 0; i < k; i++) /* present: found above; slot 0 is the block's own copy */
        mp_remove(ch, pu_mempool_get(ch->mp, &d[i].txid),
                  (d[i].key & 0xffffffffu) == 0 ? PU_MEMPOOL_CONFIRMED : PU_MEMPOOL_CONFLICT);
    free(d);
    return PU_OK;
}

static void mempool_remove_block_txs(pu_chain *ch, bnode *n)
{
    const pu_block *b = n->block;
    size_t cnt = pu_mempool_count(ch->mp);
    if (cnt == 0)
        return;
    if (cnt < pu_block_n_tx(b) && remove_from_mempool_side(ch, n) == PU_OK)
        return;
    for (uint32_t i = 1; i < pu_block_n_tx(b); i++) {
        const pu_tx *tx = pu_block_tx(b, i);
        const pu_tx *mine = pu_mempool_get(ch->mp, pu_tx_id(tx));
        if (mine)
            mp_remove(ch, mine, PU_MEMPOOL_CONFIRMED);
        for (uint32_t k = 0; k < pu_tx_n_in(tx); k++) { /* conflicting spenders */
            pu_tx *other = pu_mempool_spender(ch->mp, &pu_tx_in(tx, k)->prev);
            if (other)
                mp_remove(ch, other, PU_MEMPOOL_CONFLICT);
        }
    }
}

/* After a reorganisation some entries may spend coins that no longer exist
 * (or became immature); drop them. */
static void mempool_drop_invalid(pu_chain *ch)
{
    uint32_t height = ch->n_active; /* spend height of the next block */
    for (size_t i = pu_mempool_count(ch->mp); i-- > 0;) {
        pu_tx *tx = pu_mempool_at(ch->mp, i, NULL);
        pu_amount fee;
        if (check_inputs(ch, tx, height, NULL, &fee) != PU_R_OK)
            mp_remove(ch, tx, PU_MEMPOOL_INVALID);
    }
}

/* Rule-dependent entries (tickets, results) can expire when the chain
 * moves on (registration closes, a deadline passes): drop those the rules
 * no longer accept, so templates never carry them. */
static void mempool_drop_expired(pu_chain *ch)
{
    uint32_t height = ch->n_active;
    for (size_t i = pu_mempool_count(ch->mp); i-- > 0;) {
        pu_tx *tx = pu_mempool_at(ch->mp, i, NULL);
        if (needs_rules(tx) && check_rules_tx(ch, tx, height) != PU_R_OK)
            mp_remove(ch, tx, PU_MEMPOOL_EXPIRED);
    }
}

static pu_err mempool_after_reorg(pu_chain *ch, const nodevec *conn, const nodevec *disc)
{
    for (size_t i = 0; i < conn->n; i++)
        if (has_status(ch, conn->v[i], BN_ACTIVE))
            mempool_remove_block_txs(ch, conn->v[i]);
    if (ch->rules && ch->rules->check_tx)
        mempool_drop_expired(ch);
    if (!disc->n)
        return PU_OK;
    mempool_drop_invalid(ch);
    /* disc is newest first; return transactions oldest block first. */
    for (size_t i = disc->n; i-- > 0;) {
        const bnode *n = disc->v[i];
        if (has_status(ch, n, BN_ACTIVE))
            continue;
        for (uint32_t t = 1; t < pu_block_n_tx(n->block); t++) {
            pu_reason why;
            pu_err rc = pu_chain_add_tx(ch, pu_block_tx(n->block, t), &why);
            if (rc != PU_OK && rc != PU_ERR_INVALID)
                return rc;
        }
    }
    return PU_OK;
}

/* ---- add_block ------------------------------------------------------------ */

/* Checks that need nothing but the block itself; memoised in the block
 * because every node that receives it would compute the same answer. */
static pu_reason check_block_memo(pu_chain *ch, const pu_block *b, uint32_t *bad_tx)
{
    const pu_header *h = pu_block_header(b);
    *bad_tx = 0;
    if (!pu_hash_meets_bits(pu_block_hash(b), h->bits))
        return PU_R_HIGH_HASH;
    uint32_t ntx = pu_block_n_tx(b);
    if (ntx == 0 || pu_tx_kind_of(pu_block_tx(b, 0)) != PU_TX_COINBASE)
        return PU_R_NO_COINBASE;
    pu_hash32 *ids = malloc(ntx * sizeof *ids);
    pu_hmap *seen = NULL;
    if (!ids || pu_hmap_new(32, 0, ntx, &seen) != PU_OK) {
        free(ids);
        return PU_R_BLOCK_MALFORMED; /* out of memory: refuse, never crash */
    }
    pu_reason r = PU_R_OK;
    for (uint32_t i = 0; i < ntx; i++)
        ids[i] = *pu_tx_id(pu_block_tx(b, i));
    pu_hash32 root;
    if (pu_merkle_root(ch->crypto, ids, ntx, &root) != PU_OK || !pu_hash_eq(&root, &h->merkle))
        r = PU_R_BAD_MERKLE;
    for (uint32_t i = 0; i < ntx && r == PU_R_OK; i++) {
        const pu_tx *tx = pu_block_tx(b, i);
        void *v;
        bool created;
        *bad_tx = i;
        if (i > 0 && pu_tx_kind_of(tx) == PU_TX_COINBASE)
            r = PU_R_EXTRA_COINBASE;
        else if ((r = pu_tx_check(tx)) != PU_R_OK)
            ;
        else if (pu_hmap_put(seen, ids[i].b, &v, &created) != PU_OK || !created)
            r = PU_R_DUPLICATE_TX;
    }
    if (r == PU_R_OK)
        *bad_tx = 0;
    free(ids);
    pu_hmap_free(seen);
    return r;
}

static pu_reason check_block_alone(pu_chain *ch, pu_block *b, uint32_t *bad_tx)
{
    *bad_tx = 0;
    if (pu_block_size(b) > ch->params.max_block_size)
        return PU_R_BLOCK_TOO_LARGE;
    if (pu_block_header(b)->version != PU_BLOCK_VERSION)
        return PU_R_BLOCK_MALFORMED;
    pu_reason r;
    if (!pu_block_memo_get(b, &r, bad_tx)) {
        r = check_block_memo(ch, b, bad_tx);
        if (r != PU_R_BLOCK_MALFORMED) /* never memoise an out-of-memory refusal */
            pu_block_memo_set(b, r, *bad_tx);
    }
    return r;
}

/* The shared record of b under parent: found, or created with the facts
 * every chain would compute (height, work, median time past, the target its
 * children need). */
static pu_err record_of(pu_chain *ch, pu_block *b, bnode *parent, bnode **out)
{
    bnode *n = pu_valcache_find(ch->vc, pu_block_hash(b));
    if (n) {
        *out = n;
        return PU_OK;
    }
    pu_err rc = pu_valcache_insert(ch->vc, b, parent, &n);
    if (rc != PU_OK)
        return rc;
    n->height = parent ? parent->height + 1 : 0;
    pu_u256 target, w;
    if (pu_target_from_bits(pu_block_header(b)->bits, &target) == PU_OK)
        pu_u256_work(&target, &w);
    else
        pu_u256_from_u64(0, &w);
    if (parent)
        (void)pu_u256_add(&parent->work, &w, &n->work);
    else
        n->work = w;
    n->mtp = mtp_of(&ch->params, n);
    n->next_bits = required_bits(ch, n);
    *out = n;
    return PU_OK;
}

/* Room for record ids below `id` in this chain's slots. */
static pu_err reserve_slots(pu_chain *ch, uint32_t id)
{
    if (id < ch->n_slot)
        return PU_OK;
    uint32_t n = ch->n_slot ? ch->n_slot : 16;
    while (n <= id)
        n *= 2;
    cslot *s = realloc(ch->slot, n * sizeof *s);
    if (!s)
        return PU_ERR_NOMEM;
    memset(s + ch->n_slot, 0, (n - ch->n_slot) * sizeof *s);
    ch->slot = s;
    ch->n_slot = n;
    return PU_OK;
}

static pu_err insert_node(pu_chain *ch, pu_block *b, bnode *parent, uint8_t status, bnode **out)
{
    bnode *n;
    pu_err rc = record_of(ch, b, parent, &n);
    if (rc == PU_OK)
        rc = reserve_slots(ch, n->id);
    if (rc == PU_OK)
        rc = pu_blockrec_hold(n, ch->index);
    if (rc != PU_OK)
        return rc;
    ch->slot[n->id] = (cslot){ch->next_seq++, (uint8_t)(status | BN_KNOWN)};
    ch->n_known++;
    for (uint32_t i = 0; !(status & BN_INVALID) && i < ch->n_obs; i++)
        if (ch->obs[i].block_stored)
            ch->obs[i].block_stored(ch->obs[i].ctx, b, n->height);
    *out = n;
    return PU_OK;
}

static const pu_hash32 *orphan_parent(const pu_block *o) { return &pu_block_header(o)->prev; }

static void orphan_request(const pu_chain *ch, const pu_hash32 *prev, pu_hash32 *out)
{
    *out = *prev;
    for (uint32_t guard = 0; guard <= ch->n_orphans; guard++) {
        bool found = false;
        for (uint32_t i = 0; i < ch->n_orphans && !found; i++)
            if (pu_hash_eq(pu_block_hash(ch->orphans[i]), out)) {
                *out = *orphan_parent(ch->orphans[i]);
                found = true;
            }
        if (!found)
            return;
    }
}

static pu_err add_orphan(pu_chain *ch, pu_block *b)
{
    if (!ch->params.orphan_limit)
        return PU_OK;
    if (ch->n_orphans == ch->params.orphan_limit) { /* evict the oldest */
        pu_block_unref(ch->orphans[0]);
        memmove(ch->orphans, ch->orphans + 1, (ch->n_orphans - 1) * sizeof *ch->orphans);
        ch->n_orphans--;
    }
    ch->orphans[ch->n_orphans++] = pu_block_ref(b);
    return PU_OK;
}

static pu_err add_one(pu_chain *ch, pu_block *b, uint64_t now_s, pu_add_result *res);

/* Parked blocks whose parent just arrived are added in arrival order,
 * breadth first, so a whole parked branch connects in one call. */
static pu_err resolve_orphans(pu_chain *ch, const pu_hash32 *first, uint64_t now_s,
                              pu_add_result *res)
{
    pu_hash32 *queue = malloc((ch->n_orphans + 1) * sizeof *queue);
    if (!queue)
        return PU_ERR_NOMEM;
    size_t qh = 0, qt = 0;
    queue[qt++] = *first;
    pu_err rc = PU_OK;
    while (qh < qt && rc == PU_OK) {
        pu_hash32 parent = queue[qh++];
        for (uint32_t i = 0; i < ch->n_orphans && rc == PU_OK;) {
            if (!pu_hash_eq(orphan_parent(ch->orphans[i]), &parent)) {
                i++;
                continue;
            }
            pu_block *ob = ch->orphans[i];
            memmove(ch->orphans + i, ch->orphans + i + 1, (ch->n_orphans - i - 1) * sizeof *ch->orphans);
            ch->n_orphans--;
            pu_add_result sub;
            rc = add_one(ch, ob, now_s, &sub);
            if (rc == PU_OK) {
                res->orphans_resolved++;
                res->connected += sub.connected;
                res->tip_changed |= sub.tip_changed;
                if (sub.disconnected > res->disconnected)
                    res->disconnected = sub.disconnected;
                queue[qt++] = *pu_block_hash(ob);
            } else if (rc == PU_ERR_INVALID || rc == PU_ERR_EXISTS) {
                rc = PU_OK;
            }
            pu_block_unref(ob);
        }
    }
    free(queue);
    return rc;
}

static pu_err add_one(pu_chain *ch, pu_block *b, uint64_t now_s, pu_add_result *res)
{
    memset(res, 0, sizeof *res);
    const pu_hash32 *hash = pu_block_hash(b);
    const pu_header *h = pu_block_header(b);
    if (lookup(ch, hash) || pu_chain_has_orphan(ch, hash)) {
        res->reason = PU_R_DUPLICATE_BLOCK;
        return PU_ERR_EXISTS;
    }
    res->reason = check_block_alone(ch, b, &res->bad_tx);
    if (res->reason != PU_R_OK)
        return PU_ERR_INVALID;
    bnode *parent = lookup(ch, &h->prev);
    if (!parent) {
        orphan_request(ch, &h->prev, &res->request);
        res->reason = PU_R_ORPHAN;
        return add_orphan(ch, b);
    }
    bnode *n;
    pu_err rc;
    if (has_status(ch, parent, BN_INVALID))
        res->reason = PU_R_INVALID_ANCESTOR;
    else if (h->bits != parent->next_bits)
        res->reason = PU_R_BAD_DIFFICULTY;
    else if (h->timestamp <= parent->mtp)
        res->reason = PU_R_TIME_TOO_OLD;
    else if (h->timestamp > now_s + ch->params.max_future_s) {
        res->reason = PU_R_TIME_TOO_NEW; /* may become valid later: not remembered */
        return PU_ERR_INVALID;
    }
    if (res->reason != PU_R_OK) { /* remember it so descendants are refused fast */
        rc = insert_node(ch, b, parent, BN_INVALID, &n);
        return rc == PU_OK ? PU_ERR_INVALID : rc;
    }
    if ((rc = insert_node(ch, b, parent, 0, &n)) != PU_OK)
        return rc;
    if (better(ch, n, tip_node(ch))) {
        rc = activate_best(ch, n, hash, res);
        if (rc != PU_OK)
            return rc;
        if (res->reason == PU_R_OK && has_status(ch, n, BN_INVALID))
            res->reason = PU_R_INVALID_ANCESTOR; /* an ancestor failed on the way */
        if (res->reason != PU_R_OK)
            return PU_ERR_INVALID;
    }
    return PU_OK;
}

pu_err pu_chain_add_block(pu_chain *ch, pu_block *b, uint64_t now_s, pu_add_result *res)
{
    pu_err rc = add_one(ch, b, now_s, res);
    if (rc == PU_OK && res->reason == PU_R_OK && ch->n_orphans)
        rc = resolve_orphans(ch, pu_block_hash(b), now_s, res);
    return rc;
}

/* ---- mempool acceptance ----------------------------------------------------- */

pu_err pu_chain_add_tx(pu_chain *ch, pu_tx *tx, pu_reason *why)
{
    uint32_t height = ch->n_active; /* the block that would include it */
    pu_amount fee = 0, low_fee;
    pu_reason r = pu_tx_check(tx);
    if (r == PU_R_OK && pu_mempool_has(ch->mp, pu_tx_id(tx)))
        r = PU_R_TX_DUPLICATE;
    if (r == PU_R_OK && (pu_tx_kind_of(tx) == PU_TX_COINBASE || pu_tx_kind_of(tx) == PU_TX_SETTLEMENT))
        r = PU_R_COINBASE_LOOSE;
    if (r == PU_R_OK)
        r = check_inputs(ch, tx, height, NULL, &fee);
    for (uint32_t i = 0; r == PU_R_OK && i < pu_tx_n_in(tx); i++)
        if (pu_mempool_spender(ch->mp, &pu_tx_in(tx, i)->prev))
            r = PU_R_DOUBLE_SPEND;
    pu_tx *lowest = NULL;
    if (r == PU_R_OK && pu_mempool_count(ch->mp) >= ch->params.mempool_capacity) {
        lowest = pu_mempool_lowest(ch->mp, &low_fee);
        if (!lowest || !pu_feerate_gt(fee, pu_tx_size(tx), low_fee, pu_tx_size(lowest)))
            r = PU_R_MEMPOOL_FULL;
    }
    if (r == PU_R_OK && fee < ch->params.min_fee)
        r = PU_R_FEE_TOO_LOW;
    if (r == PU_R_OK)
        r = check_sigs(ch, tx);
    if (r == PU_R_OK)
        r = check_rules_tx(ch, tx, height);
    *why = r;
    if (r != PU_R_OK)
        return PU_ERR_INVALID;
    if (lowest)
        mp_remove(ch, lowest, PU_MEMPOOL_EVICTED);
    pu_err rc = pu_mempool_insert(ch->mp, tx, fee);
    if (rc == PU_OK)
        for (uint32_t i = 0; i < ch->n_obs; i++)
            if (ch->obs[i].tx_added)
                ch->obs[i].tx_added(ch->obs[i].ctx, tx, fee);
    return rc == PU_ERR_INVALID || rc == PU_ERR_EXISTS ? PU_ERR_STATE : rc;
}

/* ---- block templates ------------------------------------------------------ */

uint64_t pu_chain_template_room(const pu_chain *ch, size_t proof_len)
{
    /* header, tx count, proof length and the proof, and a coinbase with one
     * output (its encoding is 4 + 4 + 1 + 4 + 4 + 28 + 1 + 8 + 4 + 4 bytes) */
    uint64_t fixed = PU_HEADER_SIZE + 4 + 4 + (uint64_t)proof_len + PU_BLOCK_TX_OVERHEAD + 62;
    return ch->params.max_block_size > fixed ? ch->params.max_block_size - fixed : 0;
}

/* Fee of tx when it follows `prior` in a block: inputs from the UTXO set or
 * from outputs of earlier transactions of the same block.  Unresolvable
 * inputs count as zero (the block would be refused anyway). */
static pu_amount template_fee(const pu_chain *ch, const pu_tx *tx, pu_tx *const *prior, size_t n)
{
    pu_amount in_sum = 0, out_sum, locked;
    for (uint32_t i = 0; i < pu_tx_n_in(tx); i++) {
        const pu_outpoint *op = &pu_tx_in(tx, i)->prev;
        const pu_coin *c = pu_utxo_find(ch->utxo, op);
        pu_amount a = c ? c->amount : 0;
        for (size_t k = 0; !c && k < n; k++)
            if (pu_hash_eq(pu_tx_id(prior[k]), &op->txid) && op->index < pu_tx_n_out(prior[k]))
                a = pu_tx_out(prior[k], op->index)->amount;
        if (pu_amount_add(in_sum, a, &in_sum) != PU_OK)
            return 0;
    }
    if (pu_tx_output_sum(tx, &out_sum) != PU_OK || pu_tx_locked(tx, &locked) != PU_OK
        || out_sum + locked > in_sum)
        return 0;
    return in_sum - out_sum - locked;
}

/* Coinbase (reward + fees to miner) followed by head[0..nh) and tail[0..nt),
 * on the tip, with the required target and a timestamp past the MTP. */
static pu_err assemble(pu_chain *ch, pu_tx *const *head, size_t nh, pu_tx *const *tail, size_t nt,
                       pu_amount fees, const pu_addr *miner, const uint8_t *proof, size_t proof_len,
                       uint64_t now_s, pu_block **out)
{
    uint32_t height = ch->n_active;
    pu_amount value;
    pu_tx *cb = NULL;
    pu_block *b = NULL;
    pu_err rc = PU_OK;
    if (pu_amount_add(pu_params_reward(&ch->params, height), fees, &value) != PU_OK)
        rc = PU_ERR_RANGE;
    uint64_t mtp = pu_chain_mtp(ch), ts = now_s > mtp ? now_s : mtp + 1;
    if (rc == PU_OK && (rc = pu_tx_new(PU_TX_COINBASE, 0, 1, 4, &cb)) == PU_OK) {
        pu_put_be32(pu_tx_body_mut(cb), height);
        pu_tx_out_mut(cb, 0)->amount = value;
        pu_tx_out_mut(cb, 0)->addr = *miner;
        pu_tx_set_timestamp(cb, ts);
        rc = pu_tx_finalize(ch->crypto, cb);
    }
    if (rc == PU_OK) {
        pu_header h;
        memset(&h, 0, sizeof h);
        h.version = PU_BLOCK_VERSION;
        h.prev = *pu_chain_tip_hash(ch);
        h.timestamp = ts;
        h.bits = pu_chain_next_bits(ch);
        rc = pu_block_new(&h, &b);
    }
    if (rc == PU_OK)
        rc = pu_block_add_tx(b, cb);
    for (size_t i = 0; rc == PU_OK && i < nh; i++)
        rc = pu_block_add_tx(b, head[i]);
    for (size_t i = 0; rc == PU_OK && i < nt; i++)
        rc = pu_block_add_tx(b, tail[i]);
    if (rc == PU_OK && proof_len)
        rc = pu_block_set_proof(b, proof, proof_len);
    if (rc == PU_OK)
        rc = pu_block_update_merkle(ch->crypto, b);
    pu_tx_unref(cb);
    if (rc != PU_OK) {
        pu_block_unref(b);
        return rc;
    }
    *out = b;
    return PU_OK;
}

pu_err pu_chain_create_block(pu_chain *ch, pu_tx *const *txs, size_t n_txs, const pu_addr *miner,
                             const uint8_t *proof, size_t proof_len, uint64_t now_s, pu_block **out)
{
    *out = NULL;
    if (!txs) {
        pu_err rc = pu_chain_create_template(ch, NULL, 0, proof_len, miner, now_s, out);
        if (rc == PU_OK && proof_len && (rc = pu_block_set_proof(*out, proof, proof_len)) != PU_OK) {
            pu_block_unref(*out);
            *out = NULL;
        }
        return rc;
    }
    pu_amount fees = 0;
    for (size_t i = 0; i < n_txs; i++)
        fees += template_fee(ch, txs[i], txs, i);
    return assemble(ch, txs, n_txs, NULL, 0, fees, miner, proof, proof_len, now_s, out);
}

pu_err pu_chain_create_template(pu_chain *ch, pu_tx *const *extras, size_t n_extras,
                                size_t proof_room, const pu_addr *miner, uint64_t now_s,
                                pu_block **out)
{
    *out = NULL;
    uint64_t room = pu_chain_template_room(ch, proof_room);
    pu_amount fees = 0;
    for (size_t i = 0; i < n_extras; i++) {
        uint64_t c = pu_tx_size(extras[i]) + PU_BLOCK_TX_OVERHEAD;
        room = room > c ? room - c : 0;
        fees += template_fee(ch, extras[i], extras, i);
    }
    pu_tx **tmpl = NULL;
    size_t n = 0;
    pu_amount tfees = 0;
    pu_err rc = pu_mempool_template(ch->mp, room, PU_BLOCK_TX_OVERHEAD, &tmpl, &n, &tfees);
    if (rc == PU_OK) /* the mempool knows its entries' fees: no second look-up */
        rc = assemble(ch, tmpl, n, extras, n_extras, fees + tfees, miner, NULL, 0, now_s, out);
    free(tmpl);
    return rc;
}

/* ---- lifetime and queries -------------------------------------------------- */

/* The first chain of a valcache creates the genesis record and its state:
 * the genesis transactions applied to the empty set without checks other
 * than the block's structure (initial funds, spendable at once).  Every
 * other chain shares them: genesis coins are never copied per chain. */
static pu_err genesis_record(pu_chain *ch, pu_block *genesis, bnode **out)
{
    bnode *g;
    pu_err rc = record_of(ch, genesis, NULL, &g);
    if (rc == PU_OK)
        rc = pu_utxo_begin(ch->utxo);
    for (uint32_t i = 0; rc == PU_OK && i < pu_block_n_tx(genesis); i++)
        rc = apply_tx(ch, pu_block_tx(genesis, i), 0, false, NULL, NULL);
    pu_undo *undo = NULL;
    if (rc == PU_OK)
        rc = pu_undo_new(&undo);
    if (rc == PU_OK)
        rc = pu_utxo_commit(ch->utxo, &g->state);
    if (rc != PU_OK) {
        pu_utxo_abort(ch->utxo);
        pu_undo_unref(undo);
        return rc;
    }
    g->undo = undo;
    g->validated = true;
    g->reason = PU_R_OK;
    *out = g;
    return PU_OK;
}

/* Binds ch to its valcache and finds (or makes) the genesis record. */
static pu_err attach_genesis(pu_chain *ch, pu_block *genesis, bnode **out)
{
    bool fresh;
    pu_err rc = pu_valcache_bind(ch->vc, &ch->params, ch->rules, &fresh, &ch->index);
    if (rc != PU_OK)
        return rc;
    pu_utxo_tree *t = pu_valcache_utxo(ch->vc);
    if (fresh) {
        rc = pu_utxo_view_new(t, NULL, &ch->utxo);
        return rc == PU_OK ? genesis_record(ch, genesis, out) : rc;
    }
    bnode *g = pu_valcache_at(ch->vc, 0);
    if (!g || !g->state || !pu_hash_eq(node_hash(g), pu_block_hash(genesis)))
        return PU_ERR_STATE; /* another ledger, or its first chain failed */
    *out = g;
    return pu_utxo_view_new(t, g->state, &ch->utxo);
}

pu_err pu_chain_new(const pu_chain_opts *opts, pu_block *genesis, pu_chain **out)
{
    *out = NULL;
    pu_chain *ch = calloc(1, sizeof *ch);
    if (!ch)
        return PU_ERR_NOMEM;
    ch->params = *opts->params;
    ch->crypto = opts->crypto;
    ch->sigcache = opts->sigcache;
    ch->vc = opts->valcache;
    ch->rules = opts->rules;
    ch->cap_active = 64;
    ch->active = malloc(ch->cap_active * sizeof *ch->active);
    ch->orphans = calloc(ch->params.orphan_limit ? ch->params.orphan_limit : 1, sizeof *ch->orphans);
    pu_err rc = ch->active && ch->orphans ? PU_OK : PU_ERR_NOMEM;
    if (rc == PU_OK && !ch->vc) {
        rc = pu_valcache_new(&ch->vc);
        ch->own_vc = rc == PU_OK;
    }
    if (rc == PU_OK)
        rc = pu_mempool_new(pu_valcache_txpool(ch->vc), &ch->mp);
    /* Genesis: structure only.  Its coinbase may allocate initial funds. */
    if (rc == PU_OK && (pu_block_n_tx(genesis) < 1
                        || pu_tx_kind_of(pu_block_tx(genesis, 0)) != PU_TX_COINBASE))
        rc = PU_ERR_INVALID;
    bnode *g = NULL;
    if (rc == PU_OK)
        rc = attach_genesis(ch, genesis, &g);
    if (rc == PU_OK)
        rc = reserve_slots(ch, g->id);
    if (rc == PU_OK)
        rc = pu_blockrec_hold(g, ch->index);
    if (rc != PU_OK) {
        pu_chain_free(ch);
        return rc;
    }
    ch->slot[g->id] = (cslot){ch->next_seq++, BN_KNOWN | BN_ACTIVE};
    ch->n_known = 1;
    ch->active[ch->n_active++] = g;
    *out = ch;
    return PU_OK;
}

void pu_chain_free(pu_chain *ch)
{
    if (!ch)
        return;
    for (uint32_t i = 0; i < ch->n_orphans; i++)
        pu_block_unref(ch->orphans[i]);
    free(ch->orphans);
    free(ch->active);
    free(ch->slot);
    pu_utxo_free(ch->utxo); /* before the valcache that owns its tree */
    pu_mempool_free(ch->mp);
    if (ch->own_vc)
        pu_valcache_free(ch->vc);
    free(ch);
}

void pu_chain_set_tie_break(pu_chain *ch, int rule, uint64_t salt)
{
    ch->tie_break = rule;
    ch->tie_salt = salt;
}

int pu_chain_tie_break(const pu_chain *ch, uint64_t *salt)
{
    if (salt)
        *salt = ch->tie_salt;
    return ch->tie_break;
}

pu_err pu_chain_add_observer(pu_chain *ch, const pu_chain_observer *obs)
{
    if (ch->n_obs == PU_CHAIN_MAX_OBSERVERS)
        return PU_ERR_RANGE;
    ch->obs[ch->n_obs++] = *obs;
    return PU_OK;
}

void pu_chain_remove_observer(pu_chain *ch, const void *ctx)
{
    for (uint32_t i = 0; i < ch->n_obs; i++)
        if (ch->obs[i].ctx == ctx) {
            memmove(&ch->obs[i], &ch->obs[i + 1], (ch->n_obs - i - 1) * sizeof ch->obs[0]);
            ch->n_obs--;
            return;
        }
}

uint32_t pu_chain_height(const pu_chain *ch) { return ch->n_active - 1; }
uint32_t pu_chain_length(const pu_chain *ch) { return ch->n_active; }
pu_block *pu_chain_tip(const pu_chain *ch) { return tip_node(ch)->block; }
const pu_hash32 *pu_chain_tip_hash(const pu_chain *ch) { return node_hash(tip_node(ch)); }
size_t pu_chain_mempool_size(const pu_chain *ch) { return pu_mempool_count(ch->mp); }
pu_amount pu_chain_balance(const pu_chain *ch, const pu_addr *a) { return pu_utxo_balance(ch->utxo, a); }
const pu_utxo *pu_chain_utxo(const pu_chain *ch) { return ch->utxo; }
pu_mempool *pu_chain_mempool(const pu_chain *ch) { return ch->mp; }
const pu_params *pu_chain_params(const pu_chain *ch) { return &ch->params; }
pu_crypto *pu_chain_crypto(const pu_chain *ch) { return ch->crypto; }
size_t pu_chain_n_blocks(const pu_chain *ch) { return ch->n_known; }
uint32_t pu_chain_index(const pu_chain *ch) { return ch->index; }
pu_valcache *pu_chain_valcache(const pu_chain *ch) { return ch->vc; }
size_t pu_chain_n_orphans(const pu_chain *ch) { return ch->n_orphans; }
uint32_t pu_chain_next_bits(const pu_chain *ch) { return tip_node(ch)->next_bits; }
uint64_t pu_chain_mtp(const pu_chain *ch) { return tip_node(ch)->mtp; }
const pu_u256 *pu_chain_work(const pu_chain *ch) { return &tip_node(ch)->work; }

pu_amount pu_chain_supply(const pu_chain *ch)
{
    return pu_utxo_total(ch->utxo) + pu_utxo_locked(ch->utxo);
}

pu_block *pu_chain_block_at(const pu_chain *ch, uint32_t height)
{
    return height < ch->n_active ? ch->active[height]->block : NULL;
}

pu_block *pu_chain_get(const pu_chain *ch, const pu_hash32 *hash, uint32_t *height, bool *active)
{
    bnode *n = lookup(ch, hash);
    if (!n || has_status(ch, n, BN_INVALID))
        return NULL;
    if (height)
        *height = n->height;
    if (active)
        *active = has_status(ch, n, BN_ACTIVE);
    return n->block;
}

bool pu_chain_has_orphan(const pu_chain *ch, const pu_hash32 *hash)
{
    for (uint32_t i = 0; i < ch->n_orphans; i++)
        if (pu_hash_eq(pu_block_hash(ch->orphans[i]), hash))
            return true;
    return false;
}

bool pu_chain_knows(const pu_chain *ch, const pu_hash32 *hash)
{
    return lookup(ch, hash) || pu_chain_has_orphan(ch, hash);
}

size_t pu_chain_locator(const pu_chain *ch, pu_hash32 *out, size_t max)
{
    size_t k = 0;
    uint64_t step = 1;
    int64_t h = (int64_t)ch->n_active - 1;
    while (k < max && h > 0) {
        out[k++] = *node_hash(ch->active[h]);
        if (k >= 10)
            step *= 2;
        h -= (int64_t)step;
    }
    if (k < max)
        out[k++] = *node_hash(ch->active[0]);
    else if (max)
        out[max - 1] = *node_hash(ch->active[0]);
    return k;
}

uint32_t pu_chain_locate(const pu_chain *ch, const pu_hash32 *loc, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        bnode *b = lookup(ch, &loc[i]);
        if (b && has_status(ch, b, BN_ACTIVE))
            return b->height;
    }
    return 0;
}

size_t pu_chain_mem_bytes(const pu_chain *ch)
{
    return sizeof *ch + ch->n_slot * sizeof(cslot) + ch->cap_active * sizeof(bnode *)
           + pu_utxo_bytes(ch->utxo) + pu_mempool_mem_bytes(ch->mp)
           + ch->params.orphan_limit * sizeof(pu_block *) + (ch->own_vc ? pu_chain_shared_bytes(ch) : 0);
}

size_t pu_chain_shared_bytes(const pu_chain *ch)
{
    pu_valcache_stats st;
    pu_valcache_get_stats(ch->vc, &st);
    return st.bytes;
}
