/* sim/observe.c -- the listener list of a run (see sim/observe.h). */
#include "sim/observe.h"

#include <stdlib.h>

struct sim_observers {
    sim_observer *l;
    size_t n, cap;
    uint32_t any;             /* union of the masks: most events have no listener */
};

pu_err sim_observers_new(sim_observers **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? PU_OK : PU_ERR_NOMEM;
}

void sim_observers_free(sim_observers *o)
{
    if (!o)
        return;
    free(o->l);
    free(o);
}

pu_err sim_observers_add(sim_observers *o, const sim_observer *l)
{
    if (o->n == o->cap) {
        size_t cap = o->cap ? 2 * o->cap : 8;
        sim_observer *a = realloc(o->l, cap * sizeof *a);
        if (!a)
            return PU_ERR_NOMEM;
        o->l = a;
        o->cap = cap;
    }
    o->l[o->n++] = *l;
    o->any |= l->mask;
    return PU_OK;
}

bool sim_observers_wants(const sim_observers *o, sim_obs_kind kind)
{
    return (o->any & SIM_OBS_BIT(kind)) != 0;
}

void sim_observers_emit(const sim_observers *o, sim_ctx *ctx, const sim_obs *ev)
{
    uint32_t bit = SIM_OBS_BIT(ev->kind);
    if (!(o->any & bit))
        return;
    for (size_t i = 0; i < o->n; i++)
        if (o->l[i].mask & bit)
            o->l[i].on_event(o->l[i].self, ctx, ev);
}
