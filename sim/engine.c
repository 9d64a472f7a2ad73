/* sim/engine.c -- failure and scheduling, the services every part of a run
 * uses (see sim/engine.h). */
#include "sim/engine.h"

#include <stdio.h>

void sim_fail(sim_ctx *ctx, pu_err rc, const char *what)
{
    if (ctx->fatal != PU_OK)
        return;
    ctx->fatal = rc;
    ctx->stop = true;
    if (!ctx->err[0])
        snprintf(ctx->err, sizeof ctx->err, "%s: %s", what, pu_strerror(rc));
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
