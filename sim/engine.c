/* sim/engine.c -- failure and scheduling, the services every part of a run
 * uses (see sim/engine.h). */
#include "sim/engine.h"

#include <stdio.h>
#include <stdlib.h>

void sim_fail(sim_ctx *ctx, pu_err rc, const char *what)
{
    if (ctx->fatal != PU_OK)
        return;
    ctx->fatal = rc;
    ctx->stop = true;
    if (!ctx->err[0])
        snprintf(ctx->err, sizeof ctx->err, "%s: %s", what, pu_strerror(rc));
}

void sim_fail_key(sim_ctx *ctx, pu_err rc, const char *key, const char *why)
{
    if (ctx->fatal != PU_OK)
        return;
    sim_diag d;
    sim_diag_clear(&d);
    sim_params_diag_at(ctx->p, key, &d);
    if (!d.path[0])
        snprintf(d.path, sizeof d.path, "%s", ctx->p->name); /* a default: name the scenario */
    snprintf(d.msg, sizeof d.msg, "%.60s: %.96s", key, why);
    sim_diag_format(&d, ctx->err, sizeof ctx->err);
    ctx->fatal_input = true;
    sim_fail(ctx, rc, key);
}

pu_err sim_schedule(sim_ctx *ctx, uint64_t at_ns, uint32_t type, uint32_t node, uint64_t arg,
                    void *data, sim_evq_id *id)
{
    sim_event ev = {at_ns, 0, type, node, arg, data};
    pu_err rc = sim_evq_push(ctx->evq, &ev, id);
    if (rc != PU_OK)
        sim_fail(ctx, rc, "event queue");
    return rc;
}

uint64_t sim_now_s(const sim_ctx *ctx) { return ctx->now / 1000000000u; }

pu_err sim_add_link_filter(sim_ctx *ctx, const sim_link_filter *f)
{
    sim_link_filter *a = realloc(ctx->filters, (ctx->n_filters + 1) * sizeof *a);
    if (!a)
        return PU_ERR_NOMEM;
    ctx->filters = a;
    ctx->filters[ctx->n_filters++] = *f;
    return PU_OK;
}
