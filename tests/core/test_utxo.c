/* tests/core/test_utxo.c -- the versioned UTXO set against a plain model:
 * a random tree of states, views moved among them (so the shared base moves
 * back and forth across branches), every answer compared with the model's. */
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/tx.h"
#include "core/utxo.h"
#include "tests/harness.h"

#define MAXOP 1500   /* distinct outpoints ever used */
#define NADDR 7
#define MAXST 90     /* states in the tree */
#define NVIEW 5

typedef struct model {
    bool present[MAXOP];
    pu_coin coin[MAXOP];
} model;

typedef struct world {
    pu_utxo_tree *t;
    pu_utxo_state *st[MAXST];
    model *m[MAXST];
    int n_st;
    pu_utxo *v[NVIEW];
    int at[NVIEW];       /* state index of each view; -1 = empty set */
    int next_op;
    uint64_t rng;
} world;

static uint64_t rnd(world *w)
{
    w->rng ^= w->rng << 13;
    w->rng ^= w->rng >> 7;
    w->rng ^= w->rng << 17;
    return w->rng;
}

static pu_outpoint op_of(int k)
{
    pu_outpoint op;
    memset(&op, 0, sizeof op);
    pu_put_be32(op.txid.b, (uint32_t)k * 2654435761u); /* spread keys over the table */
    op.txid.b[31] = (uint8_t)k;
    op.index = (uint32_t)(k % 3);
    return op;
}

static pu_addr addr_of(int a)
{
    pu_addr x;
    memset(&x, 0, sizeof x);
    x.b[0] = (uint8_t)(a + 1);
    return x;
}

static pu_amount model_balance(const model *m, int a)
{
    pu_addr x = addr_of(a);
    pu_amount s = 0;
    for (int k = 0; k < MAXOP; k++)
        if (m->present[k] && !(m->coin[k].flags & PU_COIN_LOCKED) && !memcmp(m->coin[k].addr.b, x.b, 20))
            s += m->coin[k].amount;
    return s;
}

typedef struct digest_acc { uint8_t buf[MAXOP * 69]; size_t len; } digest_acc;

static pu_err acc_visit(void *ctx, const pu_outpoint *op, const pu_coin *coin)
{
    digest_acc *d = ctx;
    pu_outpoint_bytes(op, d->buf + d->len);
    pu_coin_serialize(coin, d->buf + d->len + 36);
    d->len += 69;
    return PU_OK;
}

typedef struct sorted { uint8_t k[36]; int op; } sorted;
static int sorted_cmp(const void *a, const void *b) { return memcmp(a, b, 36); }

/* Every answer of view v against model m. */
static void check_view(const pu_utxo *v, const model *m, bool full)
{
    size_t count = 0, n_addr = 0;
    pu_amount total = 0, locked = 0;
    for (int k = 0; k < MAXOP; k++) {
        pu_outpoint op = op_of(k);
        const pu_coin *c = pu_utxo_find(v, &op);
        CU_ASSERT_EQUAL(c != NULL, m->present[k]);
        if (c && m->present[k]) {
            CU_ASSERT_EQUAL(c->amount, m->coin[k].amount);
            CU_ASSERT_EQUAL(c->flags, m->coin[k].flags);
            CU_ASSERT_EQUAL(memcmp(c->addr.b, m->coin[k].addr.b, 20), 0);
        }
        if (m->present[k]) {
            count++;
            if (m->coin[k].flags & PU_COIN_LOCKED)
                locked += m->coin[k].amount;
            else
                total += m->coin[k].amount;
        }
    }
    for (int a = 0; a < NADDR; a++) {
        pu_addr x = addr_of(a);
        pu_amount b = model_balance(m, a);
        CU_ASSERT_EQUAL(pu_utxo_balance(v, &x), b);
        n_addr += b != 0;
    }
    CU_ASSERT_EQUAL(pu_utxo_count(v), count);
    CU_ASSERT_EQUAL(pu_utxo_total(v), total);
    CU_ASSERT_EQUAL(pu_utxo_locked(v), locked);
    CU_ASSERT_EQUAL(pu_utxo_n_addresses(v), n_addr);
    if (!full)
        return;
    /* the sorted walk yields exactly the model's coins in outpoint order */
    static digest_acc got, want;
    static sorted s[MAXOP];
    got.len = want.len = 0;
    CU_ASSERT_EQUAL_FATAL(pu_utxo_foreach_sorted(v, acc_visit, &got), PU_OK);
    size_t n = 0;
    for (int k = 0; k < MAXOP; k++)
        if (m->present[k]) {
            pu_outpoint op = op_of(k);
            pu_outpoint_bytes(&op, s[n].k);
            s[n++].op = k;
        }
    qsort(s, n, sizeof s[0], sorted_cmp);
    for (size_t i = 0; i < n; i++) {
        pu_outpoint op = op_of(s[i].op);
        PU_IGNORE(acc_visit(&want, &op, &m->coin[s[i].op]));
    }
    CU_ASSERT_EQUAL(got.len, want.len);
    CU_ASSERT_EQUAL(memcmp(got.buf, want.buf, want.len), 0);
}

static void move_view(world *w, int i, int st)
{
    pu_utxo_set_state(w->v[i], st < 0 ? NULL : w->st[st]);
    w->at[i] = st;
}

/* A random block on state p through view i: spends and adds mirrored on a
 * copy of p's model; committed (a new state) or aborted. */
static void grow(world *w, int i, int p)
{
    move_view(w, i, p);
    pu_utxo *v = w->v[i];
    model *m = malloc(sizeof *m);
    CU_ASSERT_FATAL(m != NULL);
    *m = *w->m[p];
    CU_ASSERT_EQUAL_FATAL(pu_utxo_begin(v), PU_OK);
    CU_ASSERT_EQUAL(pu_utxo_begin(v), PU_ERR_STATE);
    int ops = 3 + (int)(rnd(w) % 25);
    for (int j = 0; j < ops; j++) {
        int k = (int)(rnd(w) % (uint64_t)(w->next_op + 1));
        pu_outpoint op = op_of(k);
        if (k < w->next_op && m->present[k] && rnd(w) % 3) {
            pu_coin c;
            CU_ASSERT_EQUAL(pu_utxo_spend(v, &op, &c), PU_OK);
            CU_ASSERT_EQUAL(c.amount, m->coin[k].amount);
            m->present[k] = false;
            CU_ASSERT_EQUAL(pu_utxo_spend(v, &op, NULL), PU_ERR_NOTFOUND);
        } else if (!m->present[k] && (k < w->next_op || w->next_op < MAXOP - 1)) {
            if (k == w->next_op)
                w->next_op++;
            pu_coin c = {(pu_amount)(1 + rnd(w) % 1000), addr_of((int)(rnd(w) % NADDR)),
                         (uint32_t)w->n_st, (uint8_t)(rnd(w) % 8 == 0 ? PU_COIN_STAKE : 0)};
            CU_ASSERT_EQUAL(pu_utxo_add(v, &op, &c), PU_OK);
            CU_ASSERT_EQUAL(pu_utxo_add(v, &op, &c), PU_ERR_EXISTS);
            m->present[k] = true;
            m->coin[k] = c;
        }
    }
    check_view(v, m, false); /* the draft reads its own writes */
    if (rnd(w) % 5 == 0 || w->n_st == MAXST) {
        pu_utxo_abort(v);
        check_view(v, w->m[p], false);
        free(m);
        return;
    }
    pu_utxo_state *s;
    CU_ASSERT_EQUAL_FATAL(pu_utxo_commit(v, &s), PU_OK);
    CU_ASSERT_EQUAL(pu_utxo_state_of(v), s);
    w->st[w->n_st] = s;
    w->m[w->n_st] = m;
    w->at[i] = w->n_st++;
}

static void test_versions_match_model(void)
{
    static world w;
    memset(&w, 0, sizeof w);
    w.rng = 0x9E3779B97F4A7C15u;
    CU_ASSERT_EQUAL_FATAL(pu_utxo_tree_new(&w.t), PU_OK);
    for (int i = 0; i < NVIEW; i++) {
        CU_ASSERT_EQUAL_FATAL(pu_utxo_view_new(w.t, NULL, &w.v[i]), PU_OK);
        w.at[i] = -1;
    }
    pu_outpoint op0 = op_of(0);
    pu_coin c0 = {5, addr_of(0), 0, 0};
    CU_ASSERT_EQUAL(pu_utxo_add(w.v[0], &op0, &c0), PU_ERR_STATE); /* no draft */
    /* genesis: 60 coins */
    model *g = calloc(1, sizeof *g);
    CU_ASSERT_FATAL(g != NULL);
    CU_ASSERT_EQUAL_FATAL(pu_utxo_begin(w.v[0]), PU_OK);
    for (int k = 0; k < 60; k++) {
        pu_outpoint op = op_of(k);
        pu_coin c = {(pu_amount)(100 + k), addr_of(k % NADDR), 0, 0};
        CU_ASSERT_EQUAL(pu_utxo_add(w.v[0], &op, &c), PU_OK);
        g->present[k] = true;
        g->coin[k] = c;
    }
    w.next_op = 60;
    CU_ASSERT_EQUAL_FATAL(pu_utxo_commit(w.v[0], &w.st[0]), PU_OK);
    w.m[0] = g;
    w.n_st = 1;
    w.at[0] = 0;
    check_view(w.v[0], g, true);
    check_view(w.v[1], &(model){{0}, {{0}}}, false); /* still the empty set */
    for (int step = 0; step < 400; step++) {
        int i = (int)(rnd(&w) % NVIEW);
        if (rnd(&w) % 3 == 0 && w.n_st < MAXST) {
            /* extend mostly near the newest states, sometimes an old fork */
            int p = rnd(&w) % 4 ? w.n_st - 1 - (int)(rnd(&w) % (uint64_t)(w.n_st < 3 ? w.n_st : 3))
                                : (int)(rnd(&w) % (uint64_t)w.n_st);
            grow(&w, i, p);
        } else {
            move_view(&w, i, (int)(rnd(&w) % (uint64_t)w.n_st));
        }
        int j = (int)(rnd(&w) % NVIEW);
        if (w.at[j] >= 0)
            check_view(w.v[j], w.m[w.at[j]], step % 25 == 0);
    }
    CU_ASSERT(w.n_st > 40);
    CU_ASSERT(pu_utxo_tree_moves(w.t) > 20); /* the base really travelled */
    for (int s = 0; s < w.n_st; s++) { /* a view anywhere reads that version */
        move_view(&w, 0, s);
        check_view(w.v[0], w.m[s], s % 10 == 0);
    }
    for (int i = 0; i < NVIEW; i++)
        pu_utxo_free(w.v[i]);
    for (int s = 0; s < w.n_st; s++) {
        pu_utxo_state_unref(w.st[s]);
        free(w.m[s]);
    }
    pu_utxo_tree_free(w.t);
}

/* Balances: a spend that empties an address removes it from the count, and
 * coins created and spent inside one draft leave no trace. */
static void test_draft_net_effect(void)
{
    pu_utxo_tree *t;
    pu_utxo *v;
    CU_ASSERT_EQUAL_FATAL(pu_utxo_tree_new(&t), PU_OK);
    CU_ASSERT_EQUAL_FATAL(pu_utxo_view_new(t, NULL, &v), PU_OK);
    CU_ASSERT_EQUAL_FATAL(pu_utxo_begin(v), PU_OK);
    pu_outpoint a = op_of(1), b = op_of(2);
    pu_coin ca = {70, addr_of(1), 0, 0}, cb = {30, addr_of(2), 0, PU_COIN_ESCROW};
    CU_ASSERT_EQUAL(pu_utxo_add(v, &a, &ca), PU_OK);
    CU_ASSERT_EQUAL(pu_utxo_add(v, &b, &cb), PU_OK);
    pu_utxo_state *s0, *s1;
    CU_ASSERT_EQUAL_FATAL(pu_utxo_commit(v, &s0), PU_OK);
    CU_ASSERT_EQUAL(pu_utxo_n_addresses(v), 1); /* locks are not balances */
    CU_ASSERT_EQUAL(pu_utxo_locked(v), 30);
    CU_ASSERT_EQUAL_FATAL(pu_utxo_begin(v), PU_OK);
    pu_outpoint c = op_of(3);
    pu_coin cc = {5, addr_of(3), 1, 0};
    CU_ASSERT_EQUAL(pu_utxo_add(v, &c, &cc), PU_OK);
    CU_ASSERT_EQUAL(pu_utxo_spend(v, &c, NULL), PU_OK); /* created and spent: net nothing */
    CU_ASSERT_EQUAL(pu_utxo_spend(v, &a, NULL), PU_OK);
    CU_ASSERT_EQUAL(pu_utxo_commit(v, &s1), PU_OK);
    pu_addr x1 = addr_of(1), x3 = addr_of(3);
    CU_ASSERT_EQUAL(pu_utxo_balance(v, &x1), 0);
    CU_ASSERT_EQUAL(pu_utxo_balance(v, &x3), 0);
    CU_ASSERT_EQUAL(pu_utxo_n_addresses(v), 0);
    CU_ASSERT_EQUAL(pu_utxo_count(v), 1);
    CU_ASSERT_PTR_NULL(pu_utxo_find(v, &c));
    pu_utxo_set_state(v, s0); /* back: a is there again, from the reverse diff */
    CU_ASSERT_EQUAL(pu_utxo_balance(v, &x1), 70);
    CU_ASSERT_PTR_NOT_NULL(pu_utxo_find(v, &a));
    CU_ASSERT(pu_utxo_state_bytes(s1) > 0 && pu_utxo_tree_bytes(t) > 0);
    pu_utxo_free(v);
    pu_utxo_state_unref(s1);
    pu_utxo_state_unref(s0);
    pu_utxo_tree_free(t);
}

TSUITE(utxo)
{
    CU_pSuite s = CU_add_suite("utxo", NULL, NULL);
    if (!s)
        return CU_get_error();
    TADD(s, test_versions_match_model);
    TADD(s, test_draft_net_effect);
    return CUE_SUCCESS;
}
