/* core/undo.c -- growable arrays of spent (outpoint, coin) pairs. */
#include "core/undo.h"

#include <assert.h>
#include <stdlib.h>

struct pu_undo {
    uint32_t refs, n, cap;
    pu_amount fees;
    pu_outpoint *ops;
    pu_coin *coins;
};

pu_err pu_undo_new(pu_undo **out)
{
    *out = calloc(1, sizeof **out);
    if (!*out)
        return PU_ERR_NOMEM;
    (*out)->refs = 1;
    return PU_OK;
}

pu_err pu_undo_push(pu_undo *u, const pu_outpoint *op, const pu_coin *coin)
{
    if (u->n == u->cap) {
        uint32_t cap = u->cap ? u->cap * 2 : 16;
        pu_outpoint *o = realloc(u->ops, cap * sizeof *o);
        if (!o)
            return PU_ERR_NOMEM;
        u->ops = o;
        pu_coin *c = realloc(u->coins, cap * sizeof *c);
        if (!c)
            return PU_ERR_NOMEM;
        u->coins = c;
        u->cap = cap;
    }
    u->ops[u->n] = *op;
    u->coins[u->n] = *coin;
    u->n++;
    return PU_OK;
}

pu_undo *pu_undo_ref(pu_undo *u)
{
    assert(u->refs > 0);
    u->refs++;
    return u;
}

void pu_undo_unref(pu_undo *u)
{
    if (!u || --u->refs > 0)
        return;
    free(u->ops);
    free(u->coins);
    free(u);
}

uint32_t pu_undo_count(const pu_undo *u) { return u->n; }
const pu_outpoint *pu_undo_op(const pu_undo *u, uint32_t i) { return &u->ops[i]; }
const pu_coin *pu_undo_coin(const pu_undo *u, uint32_t i) { return &u->coins[i]; }
pu_amount pu_undo_fees(const pu_undo *u) { return u->fees; }
void pu_undo_set_fees(pu_undo *u, pu_amount fees) { u->fees = fees; }

size_t pu_undo_bytes(const pu_undo *u)
{
    return sizeof *u + u->cap * (sizeof(pu_outpoint) + sizeof(pu_coin));
}
