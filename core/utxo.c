/* core/utxo.c -- versioned outpoint map + address balance map: a tree of
 * per-block diffs over one materialised base (see utxo.h). */
#include "core/utxo.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/hmap.h"
#include "core/tx.h"

#define NONE UINT32_MAX

/* One outpoint a block touched: indices into the state's coins (NONE =
 * absent before / after the block). */
typedef struct cdiff {
    uint32_t before, after;
} cdiff;

/* One address whose balance a block changed. */
typedef struct bdiff {
    pu_amount before, after;
} bdiff;

struct pu_utxo_state {
    uint32_t refs;
    uint32_t holders;      /* views at this state (drafts do not count) */
    uint32_t depth;        /* genesis = 1; the empty set before it is 0 */
    bool sealed;
    pu_utxo_state *parent; /* reference held */
    pu_hmap *cd;           /* outpoint -> cdiff */
    pu_hmap *bd;           /* address -> bdiff */
    pu_coin *coins;        /* the coins cdiff entries point at */
    uint32_t n_coins, cap_coins;
    size_t count, n_addr;  /* absolute, after the block */
    pu_amount total, locked;
};

struct pu_utxo_tree {
    pu_hmap *coins;      /* base: outpoint -> pu_coin */
    pu_hmap *bals;       /* base: address -> pu_amount (nonzero only) */
    pu_utxo_state *base; /* the state the base materialises (reference held); NULL = empty */
    uint64_t epoch;      /* bumps whenever the base moves */
    uint64_t moves;
};

/* The lowest common ancestor of a view's state and the base, cached until
 * either moves.  Kept behind a pointer so that const readers may refresh it:
 * it is a memo, not part of the view's value. */
typedef struct lca_memo {
    uint64_t epoch; /* tree epoch it was computed at; 0 = stale */
    const pu_utxo_state *lca;
} lca_memo;

struct pu_utxo {
    pu_utxo_tree *t;
    pu_utxo_state *st;    /* committed state (reference held); NULL = empty */
    pu_utxo_state *draft; /* open draft on st, or NULL */
    lca_memo *memo;
};

/* ---- states --------------------------------------------------------------- */

size_t pu_utxo_state_bytes(const pu_utxo_state *s)
{
    return sizeof *s + (s->cd ? pu_hmap_bytes(s->cd) : 0) + (s->bd ? pu_hmap_bytes(s->bd) : 0)
           + (size_t)s->cap_coins * sizeof(pu_coin);
}

static pu_err state_new(pu_utxo_state *parent, pu_utxo_state **out)
{
    *out = NULL;
    pu_utxo_state *s = calloc(1, sizeof *s);
    if (!s)
        return PU_ERR_NOMEM;
    if (pu_hmap_new(36, sizeof(cdiff), 64, &s->cd) != PU_OK
        || pu_hmap_new(20, sizeof(bdiff), 16, &s->bd) != PU_OK) {
        pu_hmap_free(s->cd);
        free(s);
        return PU_ERR_NOMEM;
    }
    s->refs = 1;
    if (parent) {
        s->parent = pu_utxo_state_ref(parent);
        s->depth = parent->depth + 1;
        s->count = parent->count;
        s->n_addr = parent->n_addr;
        s->total = parent->total;
        s->locked = parent->locked;
    } else {
        s->depth = 1;
    }
    *out = s;
    return PU_OK;
}

pu_utxo_state *pu_utxo_state_ref(pu_utxo_state *s)
{
    assert(s->refs > 0);
    s->refs++;
    return s;
}

void pu_utxo_state_unref(pu_utxo_state *s)
{
    while (s && --s->refs == 0) { /* iterative: long chains of states free without recursion */
        pu_utxo_state *parent = s->parent;
        pu_hmap_free(s->cd);
        pu_hmap_free(s->bd);
        free(s->coins);
        free(s);
        s = parent;
    }
}

static pu_err push_coin(pu_utxo_state *s, const pu_coin *c, uint32_t *idx)
{
    if (s->n_coins == s->cap_coins) {
        uint32_t cap = s->cap_coins ? s->cap_coins * 2 : 32;
        pu_coin *nc = realloc(s->coins, cap * sizeof *nc);
        if (!nc)
            return PU_ERR_NOMEM;
        s->coins = nc;
        s->cap_coins = cap;
    }
    s->coins[s->n_coins] = *c;
    *idx = s->n_coins++;
    return PU_OK;
}

static const cdiff *cd_get(const pu_utxo_state *s, const uint8_t *k)
{
    return s->cd ? pu_hmap_get(s->cd, k) : NULL;
}

static const bdiff *bd_get(const pu_utxo_state *s, const uint8_t *a)
{
    return s->bd ? pu_hmap_get(s->bd, a) : NULL;
}

static const pu_coin *coin_at(const pu_utxo_state *s, uint32_t i)
{
    return i == NONE ? NULL : &s->coins[i];
}

/* ---- the tree and its base ------------------------------------------------ */

pu_err pu_utxo_tree_new(pu_utxo_tree **out)
{
    *out = NULL;
    pu_utxo_tree *t = calloc(1, sizeof *t);
    if (!t)
        return PU_ERR_NOMEM;
    if (pu_hmap_new(36, sizeof(pu_coin), 64, &t->coins) != PU_OK
        || pu_hmap_new(20, sizeof(pu_amount), 64, &t->bals) != PU_OK) {
        pu_utxo_tree_free(t);
        return PU_ERR_NOMEM;
    }
    t->epoch = 1;
    *out = t;
    return PU_OK;
}

void pu_utxo_tree_free(pu_utxo_tree *t)
{
    if (!t)
        return;
    pu_utxo_state_unref(t->base);
    pu_hmap_free(t->coins);
    pu_hmap_free(t->bals);
    free(t);
}

size_t pu_utxo_tree_bytes(const pu_utxo_tree *t)
{
    return sizeof *t + pu_hmap_bytes(t->coins) + pu_hmap_bytes(t->bals);
}

uint64_t pu_utxo_tree_moves(const pu_utxo_tree *t) { return t->moves; }

static size_t depth_of(const pu_utxo_state *s) { return s ? s->depth : 0; }

static const pu_utxo_state *lca_of(const pu_utxo_state *a, const pu_utxo_state *b)
{
    while (depth_of(a) > depth_of(b))
        a = a->parent;
    while (depth_of(b) > depth_of(a))
        b = b->parent;
    while (a != b) {
        a = a->parent;
        b = b->parent;
    }
    return a;
}

/* Write one side of a state's diff into the base.  The caller reserved room,
 * so puts cannot fail; removals cannot either. */
static void apply_diff(pu_utxo_tree *t, const pu_utxo_state *s, bool forward)
{
    size_t cur = 0;
    const void *k;
    void *v;
    while (pu_hmap_next(s->cd, &cur, &k, &v)) {
        const cdiff *e = v;
        const pu_coin *c = coin_at(s, forward ? e->after : e->before);
        if (!c) {
            PU_IGNORE(pu_hmap_remove(t->coins, k, NULL)); /* absent already: an in-block coin */
            continue;
        }
        void *slot;
        PU_IGNORE(pu_hmap_put(t->coins, k, &slot, NULL)); /* reserved: cannot fail */
        memcpy(slot, c, sizeof *c);
    }
    cur = 0;
    while (pu_hmap_next(s->bd, &cur, &k, &v)) {
        const bdiff *e = v;
        pu_amount a = forward ? e->after : e->before;
        if (a == 0) {
            PU_IGNORE(pu_hmap_remove(t->bals, k, NULL));
            continue;
        }
        void *slot;
        PU_IGNORE(pu_hmap_put(t->bals, k, &slot, NULL));
        *(pu_amount *)slot = a;
    }
}

/* Once the base has left the empty set for the genesis state it never goes
 * back (the base only moves to states views move to), and no look-up reads
 * the genesis diff again: a path between two states of the tree meets the
 * genesis state at most as their common ancestor, whose own diff no walk
 * reads.  So the genesis coins live once, in the base, not twice. */
static void drop_root_diff(pu_utxo_state *root)
{
    pu_hmap_free(root->cd);
    pu_hmap_free(root->bd);
    free(root->coins);
    root->cd = root->bd = NULL;
    root->coins = NULL;
    root->n_coins = root->cap_coins = 0;
}

/* Move the base to `to`: revert the diffs from the base up to the common
 * ancestor, then apply those from there down to `to`.  All-or-nothing: room
 * is reserved first, and when that fails the base simply stays (look-ups
 * stay correct, only longer). */
static void move_base(pu_utxo_tree *t, pu_utxo_state *to)
{
    const pu_utxo_state *lca = lca_of(t->base, to);
    size_t grow_c = 0, grow_b = 0, n_down = 0;
    for (const pu_utxo_state *s = t->base; s != lca; s = s->parent) {
        grow_c += pu_hmap_count(s->cd);
        grow_b += pu_hmap_count(s->bd);
    }
    for (const pu_utxo_state *s = to; s != lca; s = s->parent) {
        grow_c += pu_hmap_count(s->cd);
        grow_b += pu_hmap_count(s->bd);
        n_down++;
    }
    const pu_utxo_state **down = malloc((n_down ? n_down : 1) * sizeof *down);
    if (!down || pu_hmap_reserve(t->coins, pu_hmap_count(t->coins) + grow_c) != PU_OK
        || pu_hmap_reserve(t->bals, pu_hmap_count(t->bals) + grow_b) != PU_OK) {
        free(down);
        return;
    }
    for (const pu_utxo_state *s = t->base; s != lca; s = s->parent)
        apply_diff(t, s, false);
    size_t i = n_down;
    for (const pu_utxo_state *s = to; s != lca; s = s->parent)
        down[--i] = s;
    for (i = 0; i < n_down; i++)
        apply_diff(t, down[i], true);
    free(down);
    pu_utxo_state *old = t->base;
    t->base = pu_utxo_state_ref(to);
    pu_utxo_state_unref(old);
    t->epoch++;
    t->moves++;
    if (!old && !to->parent) /* genesis, now in the base: see drop_root_diff */
        drop_root_diff(to);
}

/* The base follows the state most views hold, with hysteresis so that two
 * tips held by similar numbers of views do not make it swing back and forth. */
static void maybe_move_base(pu_utxo_tree *t, pu_utxo_state *s)
{
    if (s && s != t->base && s->holders > 2 * (t->base ? t->base->holders : 0))
        move_base(t, s);
}

/* ---- views ------------------------------------------------------------------ */

pu_err pu_utxo_view_new(pu_utxo_tree *t, pu_utxo_state *s, pu_utxo **out)
{
    *out = NULL;
    pu_utxo *u = calloc(1, sizeof *u);
    lca_memo *m = calloc(1, sizeof *m);
    if (!u || !m) {
        free(u);
        free(m);
        return PU_ERR_NOMEM;
    }
    u->t = t;
    u->memo = m;
    if (s) {
        u->st = pu_utxo_state_ref(s);
        s->holders++;
        maybe_move_base(t, s);
    }
    *out = u;
    return PU_OK;
}

static void draft_free(pu_utxo *u)
{
    if (!u->draft)
        return;
    pu_utxo_state_unref(u->draft);
    u->draft = NULL;
}

void pu_utxo_free(pu_utxo *u)
{
    if (!u)
        return;
    draft_free(u);
    if (u->st) {
        u->st->holders--;
        pu_utxo_state_unref(u->st);
    }
    free(u->memo);
    free(u);
}

void pu_utxo_set_state(pu_utxo *u, pu_utxo_state *s)
{
    assert(!u->draft);
    if (s == u->st)
        return;
    if (s) {
        pu_utxo_state_ref(s);
        s->holders++;
    }
    if (u->st) {
        u->st->holders--;
        pu_utxo_state_unref(u->st);
    }
    u->st = s;
    u->memo->epoch = 0;
    maybe_move_base(u->t, s);
}

pu_utxo_state *pu_utxo_state_of(const pu_utxo *u) { return u->st; }

pu_err pu_utxo_begin(pu_utxo *u)
{
    if (u->draft)
        return PU_ERR_STATE;
    return state_new(u->st, &u->draft);
}

pu_err pu_utxo_commit(pu_utxo *u, pu_utxo_state **out)
{
    *out = NULL;
    if (!u->draft)
        return PU_ERR_STATE;
    pu_utxo_state *s = u->draft;
    u->draft = NULL;
    s->sealed = true;
    pu_utxo_set_state(u, s);
    *out = s; /* the draft's own reference passes to the caller */
    return PU_OK;
}

void pu_utxo_abort(pu_utxo *u) { draft_free(u); }

/* The committed state's lowest common ancestor with the base, memoised per
 * base position (views are re-pointed by set_state, which clears it). */
static const pu_utxo_state *view_lca(const pu_utxo *u)
{
    if (u->memo->epoch != u->t->epoch) {
        u->memo->lca = lca_of(u->st, u->t->base);
        u->memo->epoch = u->t->epoch;
    }
    return u->memo->lca;
}

/* ---- reading ---------------------------------------------------------------- */

/* The coin at outpoint key k as of the view: the draft, then the diffs from
 * the view's state up to the common ancestor with the base (the nearest
 * block that touched k says what it became), then the diffs from the base up
 * to that ancestor (the one nearest the ancestor says what k was before the
 * base's branch touched it), then the base itself. */
static const pu_coin *find_key(const pu_utxo *u, const uint8_t *k)
{
    const cdiff *e;
    if (u->draft && (e = cd_get(u->draft, k)) != NULL)
        return coin_at(u->draft, e->after);
    if (!u->st)
        return NULL; /* the empty set before genesis */
    const pu_utxo_state *lca = view_lca(u);
    for (const pu_utxo_state *s = u->st; s != lca; s = s->parent)
        if ((e = cd_get(s, k)) != NULL)
            return coin_at(s, e->after);
    const pu_coin *before = NULL;
    bool hit = false;
    for (const pu_utxo_state *s = u->t->base; s != lca; s = s->parent)
        if ((e = cd_get(s, k)) != NULL) {
            before = coin_at(s, e->before);
            hit = true;
        }
    return hit ? before : pu_hmap_get(u->t->coins, k);
}

const pu_coin *pu_utxo_find(const pu_utxo *u, const pu_outpoint *op)
{
    uint8_t k[36];
    pu_outpoint_bytes(op, k);
    return find_key(u, k);
}

pu_amount pu_utxo_balance(const pu_utxo *u, const pu_addr *a)
{
    const bdiff *e;
    if (u->draft && (e = pu_hmap_get(u->draft->bd, a->b)) != NULL)
        return e->after;
    if (!u->st)
        return 0;
    const pu_utxo_state *lca = view_lca(u);
    for (const pu_utxo_state *s = u->st; s != lca; s = s->parent)
        if ((e = bd_get(s, a->b)) != NULL)
            return e->after;
    pu_amount before = 0;
    bool hit = false;
    for (const pu_utxo_state *s = u->t->base; s != lca; s = s->parent)
        if ((e = bd_get(s, a->b)) != NULL) {
            before = e->before;
            hit = true;
        }
    if (hit)
        return before;
    const pu_amount *bal = pu_hmap_get(u->t->bals, a->b);
    return bal ? *bal : 0;
}

static const pu_utxo_state *cur_state(const pu_utxo *u) { return u->draft ? u->draft : u->st; }

size_t pu_utxo_count(const pu_utxo *u) { return cur_state(u) ? cur_state(u)->count : 0; }
pu_amount pu_utxo_total(const pu_utxo *u) { return cur_state(u) ? cur_state(u)->total : 0; }
pu_amount pu_utxo_locked(const pu_utxo *u) { return cur_state(u) ? cur_state(u)->locked : 0; }
size_t pu_utxo_n_addresses(const pu_utxo *u) { return cur_state(u) ? cur_state(u)->n_addr : 0; }

size_t pu_utxo_bytes(const pu_utxo *u)
{
    return sizeof *u + sizeof *u->memo + (u->draft ? pu_utxo_state_bytes(u->draft) : 0);
}

/* ---- writing (drafts) --------------------------------------------------------- */

/* Record a balance change of a in the draft; `prev` is the balance before
 * this write (which is the parent's when the draft has no entry yet). */
static pu_err set_balance(pu_utxo_state *d, const pu_addr *a, pu_amount prev, pu_amount next)
{
    void *slot;
    bool created;
    if (pu_hmap_put(d->bd, a->b, &slot, &created) != PU_OK)
        return PU_ERR_NOMEM;
    bdiff *e = slot;
    if (created)
        e->before = prev;
    e->after = next;
    if (prev == 0 && next != 0)
        d->n_addr++;
    else if (prev != 0 && next == 0)
        d->n_addr--;
    return PU_OK;
}

pu_err pu_utxo_add(pu_utxo *u, const pu_outpoint *op, const pu_coin *coin)
{
    pu_utxo_state *d = u->draft;
    if (!d)
        return PU_ERR_STATE;
    uint8_t k[36];
    pu_outpoint_bytes(op, k);
    if (find_key(u, k))
        return PU_ERR_EXISTS;
    bool locked = coin->flags & PU_COIN_LOCKED;
    pu_amount *sum = locked ? &d->locked : &d->total, nsum, bal = 0, nbal = 0;
    if (pu_amount_add(*sum, coin->amount, &nsum) != PU_OK)
        return PU_ERR_RANGE;
    if (!locked) {
        bal = pu_utxo_balance(u, &coin->addr);
        if (pu_amount_add(bal, coin->amount, &nbal) != PU_OK)
            return PU_ERR_RANGE;
    }
    /* Reserve every slot first so that no failure leaves half a write. */
    if (pu_hmap_reserve(d->cd, pu_hmap_count(d->cd) + 1) != PU_OK
        || pu_hmap_reserve(d->bd, pu_hmap_count(d->bd) + 1) != PU_OK)
        return PU_ERR_NOMEM;
    uint32_t idx;
    if (push_coin(d, coin, &idx) != PU_OK)
        return PU_ERR_NOMEM;
    void *slot;
    bool created;
    PU_IGNORE(pu_hmap_put(d->cd, k, &slot, &created)); /* reserved */
    cdiff *e = slot;
    if (created)
        e->before = NONE; /* absent at the parent, or find_key would have seen it */
    e->after = idx;
    if (!locked)
        PU_IGNORE(set_balance(d, &coin->addr, bal, nbal)); /* reserved */
    *sum = nsum;
    d->count++;
    return PU_OK;
}

pu_err pu_utxo_spend(pu_utxo *u, const pu_outpoint *op, pu_coin *spent)
{
    pu_utxo_state *d = u->draft;
    if (!d)
        return PU_ERR_STATE;
    uint8_t k[36];
    pu_outpoint_bytes(op, k);
    const pu_coin *found = find_key(u, k);
    if (!found)
        return PU_ERR_NOTFOUND;
    pu_coin c = *found; /* the draft's coin array may move below */
    bool locked = c.flags & PU_COIN_LOCKED;
    pu_amount bal = locked ? 0 : pu_utxo_balance(u, &c.addr);
    if (pu_hmap_reserve(d->cd, pu_hmap_count(d->cd) + 1) != PU_OK
        || pu_hmap_reserve(d->bd, pu_hmap_count(d->bd) + 1) != PU_OK)
        return PU_ERR_NOMEM;
    cdiff *e = pu_hmap_get(d->cd, k);
    if (e && e->before == NONE) {
        PU_IGNORE(pu_hmap_remove(d->cd, k, NULL)); /* created and spent in this block: no net change */
    } else if (e) {
        e->after = NONE;
    } else {
        uint32_t idx;
        if (push_coin(d, &c, &idx) != PU_OK)
            return PU_ERR_NOMEM;
        void *slot;
        PU_IGNORE(pu_hmap_put(d->cd, k, &slot, NULL)); /* reserved */
        *(cdiff *)slot = (cdiff){idx, NONE};
    }
    if (locked)
        d->locked -= c.amount;
    else {
        d->total -= c.amount;
        /* every unlocked coin was counted in on add, so bal >= amount */
        PU_IGNORE(set_balance(d, &c.addr, bal, bal - c.amount)); /* reserved */
    }
    d->count--;
    if (spent)
        *spent = c;
    return PU_OK;
}

/* ---- whole-set walks ---------------------------------------------------------- */

typedef struct { uint8_t key[36]; const pu_coin *coin; } sorted_entry;

static int entry_cmp(const void *a, const void *b)
{
    return memcmp(((const sorted_entry *)a)->key, ((const sorted_entry *)b)->key, 36);
}

static pu_err mark_touched(pu_hmap *touched, const pu_utxo_state *s)
{
    size_t cur = 0;
    const void *k;
    void *v, *slot;
    while (s->cd && pu_hmap_next(s->cd, &cur, &k, &v))
        if (pu_hmap_put(touched, k, &slot, NULL) != PU_OK)
            return PU_ERR_NOMEM;
    return PU_OK;
}

/* Every outpoint some diff between the view and the base touched: those are
 * answered by find_key, the rest straight from the base. */
static pu_err touched_keys(const pu_utxo *u, pu_hmap *touched)
{
    pu_err rc = u->draft ? mark_touched(touched, u->draft) : PU_OK;
    if (!u->st)
        return rc;
    const pu_utxo_state *lca = view_lca(u);
    for (const pu_utxo_state *s = u->st; rc == PU_OK && s != lca; s = s->parent)
        rc = mark_touched(touched, s);
    for (const pu_utxo_state *s = u->t->base; rc == PU_OK && s != lca; s = s->parent)
        rc = mark_touched(touched, s);
    return rc;
}

static pu_err collect(const pu_utxo *u, const pu_hmap *touched, sorted_entry **out, size_t *n_out)
{
    size_t cap = pu_hmap_count(touched) + (u->st ? pu_hmap_count(u->t->coins) : 0), n = 0, cur = 0;
    sorted_entry *v = malloc((cap ? cap : 1) * sizeof *v);
    if (!v)
        return PU_ERR_NOMEM;
    const void *k;
    void *val;
    while (u->st && pu_hmap_next(u->t->coins, &cur, &k, &val))
        if (!pu_hmap_get(touched, k)) {
            memcpy(v[n].key, k, 36);
            v[n++].coin = val;
        }
    cur = 0;
    while (pu_hmap_next(touched, &cur, &k, &val)) {
        const pu_coin *c = find_key(u, k);
        if (c) {
            memcpy(v[n].key, k, 36);
            v[n++].coin = c;
        }
    }
    *out = v;
    *n_out = n;
    return PU_OK;
}

pu_err pu_utxo_foreach_sorted(const pu_utxo *u, pu_utxo_visit_fn fn, void *ctx)
{
    pu_hmap *touched = NULL;
    sorted_entry *v = NULL;
    size_t n = 0;
    pu_err rc = pu_hmap_new(36, 0, 64, &touched);
    if (rc == PU_OK)
        rc = touched_keys(u, touched);
    if (rc == PU_OK)
        rc = collect(u, touched, &v, &n);
    if (rc == PU_OK)
        qsort(v, n, sizeof *v, entry_cmp);
    for (size_t i = 0; i < n && rc == PU_OK; i++) {
        pu_outpoint op;
        memcpy(op.txid.b, v[i].key, 32);
        op.index = pu_get_be32(v[i].key + 32);
        rc = fn(ctx, &op, v[i].coin);
    }
    free(v);
    pu_hmap_free(touched);
    return rc;
}
typedef struct { pu_buf buf; } digest_ctx;

static pu_err digest_visit(void *ctx, const pu_outpoint *op, const pu_coin *coin)
{
    digest_ctx *d = ctx;
    uint8_t k[36], c[PU_COIN_SIZE];
    pu_outpoint_bytes(op, k);
    pu_coin_serialize(coin, c);
    pu_buf_put(&d->buf, k, sizeof k);
    pu_buf_put(&d->buf, c, sizeof c);
    return d->buf.oom ? PU_ERR_NOMEM : PU_OK;
}

pu_err pu_utxo_digest(pu_crypto *c, const pu_utxo *u, pu_hash32 *out)
{
    digest_ctx d;
    pu_buf_init(&d.buf);
    pu_err rc = pu_utxo_foreach_sorted(u, digest_visit, &d);
    if (rc == PU_OK)
        pu_sha256(c, d.buf.p, d.buf.len, out);
    pu_buf_release(&d.buf);
    return rc;
}

void pu_coin_serialize(const pu_coin *c, uint8_t out[PU_COIN_SIZE])
{
    pu_put_be64(out, (uint64_t)c->amount);
    memcpy(out + 8, c->addr.b, 20);
    pu_put_be32(out + 28, c->height);
    out[32] = c->flags;
}

pu_err pu_coin_parse(const uint8_t *buf, size_t len, pu_coin *out)
{
    if (len != PU_COIN_SIZE)
        return PU_ERR_PARSE;
    memset(out, 0, sizeof *out);
    out->amount = (pu_amount)pu_get_be64(buf);
    memcpy(out->addr.b, buf + 8, 20);
    out->height = pu_get_be32(buf + 28);
    out->flags = buf[32];
    if (out->amount <= 0 || !pu_amount_valid(out->amount)
        || (out->flags & ~(PU_COIN_COINBASE | PU_COIN_LOCKED)) != 0)
        return PU_ERR_PARSE;
    return PU_OK;
}

void pu_outpoint_key(const pu_outpoint *op, char *buf, size_t n)
{
    char hex[65];
    pu_hash_hex(&op->txid, hex);
    snprintf(buf, n, "%s:%u", hex, (unsigned)op->index);
}
