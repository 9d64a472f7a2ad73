/* sim/trace.c -- /trace tables (see trace.h; layout in analysis/README.md). */
#include "sim/trace.h"

#include <stdlib.h>
#include <string.h>

#include "core/hmap.h"
#include "core/mix.h"
#include "sim/h5.h"
#include "sim/metrics.h"

/* /trace/tx_events.event */
enum {
    EV_CREATED = 1,     /* made by the payment workload at its home node */
    EV_ENTERED = 2,     /* entered the node's mempool */
    EV_LEFT = 3,        /* left it; detail = pu_mempool_exit */
    EV_REFUSED = 4,     /* refused by the node; detail = pu_reason */
    EV_CONFIRMED = 5,   /* in a block that joined the node's active chain; detail = height */
    EV_UNCONFIRMED = 6, /* that block left the active chain; detail = height */
};

typedef struct msg_row {
    uint64_t seq;
    char kind[17];
    uint32_t from, to;
    uint64_t bytes, sent_ns, t_ns;
    uint8_t fate;
    char object[17];
} msg_row;

typedef struct tx_row {
    uint64_t tx;
    char txid[65];
    uint8_t kind;
    uint32_t size, n_in, n_out;
    uint64_t first_ns;
    uint32_t first_node;
} tx_row;

typedef struct ev_row {
    uint64_t tx;
    uint32_t node;
    uint64_t t_ns;
    uint8_t event;
    uint32_t detail;
} ev_row;

static const sim_h5_col msg_cols[] = {
    SIM_H5_COL(msg_row, seq), SIM_H5_COL_STR(msg_row, kind), SIM_H5_COL(msg_row, from),
    SIM_H5_COL(msg_row, to), SIM_H5_COL(msg_row, bytes), SIM_H5_COL(msg_row, sent_ns),
    SIM_H5_COL(msg_row, t_ns), SIM_H5_COL(msg_row, fate), SIM_H5_COL_STR(msg_row, object),
};
static const sim_h5_col tx_cols[] = {
    SIM_H5_COL(tx_row, tx), SIM_H5_COL_STR(tx_row, txid), SIM_H5_COL(tx_row, kind),
    SIM_H5_COL(tx_row, size), SIM_H5_COL(tx_row, n_in), SIM_H5_COL(tx_row, n_out),
    SIM_H5_COL(tx_row, first_ns), SIM_H5_COL(tx_row, first_node),
};
static const sim_h5_col ev_cols[] = {
    SIM_H5_COL(ev_row, tx), SIM_H5_COL(ev_row, node), SIM_H5_COL(ev_row, t_ns),
    SIM_H5_COL(ev_row, event), SIM_H5_COL(ev_row, detail),
};

#define NCOLS(a) (sizeof(a) / sizeof((a)[0]))
#define PPM 1000000u

struct sim_trace {
    sim_h5_table *msgs, *txs, *events; /* NULL when that trace is off */
    uint64_t key;
    uint32_t msg_ppm, tx_ppm;          /* PPM: everything */
    pu_hmap *tx_row;                   /* txid -> u64 row of /trace/txs */
};

static bool sampled(const sim_trace *t, uint64_t x, uint32_t ppm)
{
    return ppm >= PPM || pu_mix64(t->key ^ x) % PPM < ppm;
}

static void append(sim_ctx *ctx, sim_h5_table *tab, const void *row)
{
    if (sim_h5_table_append(tab, row) != PU_OK)
        sim_fail(ctx, PU_ERR_IO, "trace output");
}

static void on_message(sim_ctx *ctx, sim_trace *t, const sim_obs_msg *m)
{
    if (!sampled(t, m->seq, t->msg_ppm))
        return;
    msg_row r;
    memset(&r, 0, sizeof r);
    r.seq = m->seq;
    snprintf(r.kind, sizeof r.kind, "%s", sim_msg_kind_name(m->kind));
    r.from = m->from;
    r.to = m->to;
    r.bytes = m->bytes;
    r.sent_ns = m->sent_ns;
    r.t_ns = m->t_ns;
    r.fate = m->fate;
    if (m->object)
        pu_hex_encode(m->object->b, 8, r.object);
    append(ctx, t->msgs, &r);
}

/* Row of tx in /trace/txs, written when a followed transaction is first
 * met; UINT64_MAX when it is not followed (or on failure). */
static uint64_t tx_of(sim_ctx *ctx, sim_trace *t, const pu_tx *tx, uint32_t node)
{
    const pu_hash32 *id = pu_tx_id(tx);
    if (!sampled(t, pu_hash_fp(id), t->tx_ppm))
        return UINT64_MAX;
    void *slot;
    bool created;
    if (pu_hmap_put(t->tx_row, id->b, &slot, &created) != PU_OK) {
        sim_fail(ctx, PU_ERR_NOMEM, "trace");
        return UINT64_MAX;
    }
    if (!created)
        return *(uint64_t *)slot;
    tx_row r;
    memset(&r, 0, sizeof r);
    r.tx = sim_h5_table_rows(t->txs);
    pu_hash_hex(id, r.txid);
    r.kind = (uint8_t)pu_tx_kind_of(tx);
    r.size = pu_tx_size(tx);
    r.n_in = pu_tx_n_in(tx);
    r.n_out = pu_tx_n_out(tx);
    r.first_ns = ctx->now;
    r.first_node = node;
    *(uint64_t *)slot = r.tx;
    append(ctx, t->txs, &r);
    return r.tx;
}

static void tx_event(sim_ctx *ctx, sim_trace *t, const pu_tx *tx, uint32_t node, uint8_t event,
                     uint32_t detail)
{
    uint64_t row = tx_of(ctx, t, tx, node);
    if (row == UINT64_MAX)
        return;
    ev_row r;
    memset(&r, 0, sizeof r);
    r.tx = row;
    r.node = node;
    r.t_ns = ctx->now;
    r.event = event;
    r.detail = detail;
    append(ctx, t->events, &r);
}

static void block_txs(sim_ctx *ctx, sim_trace *t, const sim_obs *ev, uint8_t event)
{
    for (uint32_t i = 0; i < pu_block_n_tx(ev->block); i++)
        tx_event(ctx, t, pu_block_tx(ev->block, i), ev->node, event, ev->height);
}

static void on_event(void *self, sim_ctx *ctx, const sim_obs *ev)
{
    sim_trace *t = self;
    switch (ev->kind) {
    case SIM_OBS_MESSAGE: on_message(ctx, t, ev->u.msg); break;
    case SIM_OBS_TX_CREATED:
        tx_event(ctx, t, ev->tx, ev->node, EV_CREATED, ev->u.tx_created.accepted);
        break;
    case SIM_OBS_TX_ENTERED: tx_event(ctx, t, ev->tx, ev->node, EV_ENTERED, 0); break;
    case SIM_OBS_TX_LEFT: tx_event(ctx, t, ev->tx, ev->node, EV_LEFT, (uint32_t)ev->reason); break;
    case SIM_OBS_TX_REFUSED:
        tx_event(ctx, t, ev->tx, ev->node, EV_REFUSED, (uint32_t)ev->reason);
        break;
    case SIM_OBS_BLOCK_CONNECTED: block_txs(ctx, t, ev, EV_CONFIRMED); break;
    case SIM_OBS_BLOCK_DISCONNECTED: block_txs(ctx, t, ev, EV_UNCONFIRMED); break;
    default: break;
    }
}

static pu_err create(sim_ctx *ctx, sim_trace *t, sim_h5 *h, uint32_t *mask)
{
    const sim_params *p = ctx->p;
    pu_err rc = PU_OK;
    if (p->output.messages != SIM_TRACE_NONE) {
        t->msg_ppm = p->output.messages == SIM_TRACE_ALL ? PPM : p->output.message_sample_ppm;
        rc = sim_h5_table_create(h, "/trace/messages", msg_cols, NCOLS(msg_cols), 8192, 0,
                                 &t->msgs);
        *mask |= SIM_OBS_BIT(SIM_OBS_MESSAGE);
    }
    if (rc == PU_OK && p->output.tx_lifecycle != SIM_TRACE_NONE) {
        t->tx_ppm = p->output.tx_lifecycle == SIM_TRACE_ALL ? PPM : p->output.tx_sample_ppm;
        rc = pu_hmap_new(32, sizeof(uint64_t), 1024, &t->tx_row);
        if (rc == PU_OK)
            rc = sim_h5_table_create(h, "/trace/txs", tx_cols, NCOLS(tx_cols), 4096, 0, &t->txs);
        if (rc == PU_OK)
            rc = sim_h5_table_create(h, "/trace/tx_events", ev_cols, NCOLS(ev_cols), 8192, 0,
                                     &t->events);
        *mask |= SIM_OBS_BIT(SIM_OBS_TX_CREATED) | SIM_OBS_BIT(SIM_OBS_TX_ENTERED)
                 | SIM_OBS_BIT(SIM_OBS_TX_LEFT) | SIM_OBS_BIT(SIM_OBS_TX_REFUSED)
                 | SIM_OBS_BIT(SIM_OBS_BLOCK_CONNECTED) | SIM_OBS_BIT(SIM_OBS_BLOCK_DISCONNECTED);
    }
    if (rc != PU_OK && rc != PU_ERR_NOMEM)
        snprintf(ctx->err, sizeof ctx->err, "HDF5 output: %.200s", sim_h5_errmsg(h));
    return rc;
}

pu_err sim_trace_new(sim_ctx *ctx, sim_trace **out)
{
    *out = NULL;
    const sim_params *p = ctx->p;
    sim_h5 *h = ctx->metrics ? sim_metrics_h5(ctx->metrics) : NULL;
    if (!h || (p->output.messages == SIM_TRACE_NONE && p->output.tx_lifecycle == SIM_TRACE_NONE))
        return PU_OK;
    sim_trace *t = calloc(1, sizeof *t);
    if (!t)
        return PU_ERR_NOMEM;
    pu_hash32 k;
    sim_rng_key(&ctx->root, SIM_RNG_TRACE, SIM_RNG_OWNER_GLOBAL, &k);
    t->key = pu_hash_fp(&k);
    uint32_t mask = 0;
    pu_err rc = create(ctx, t, h, &mask);
    if (rc == PU_OK) {
        sim_observer l = {on_event, mask, t};
        rc = sim_observers_add(ctx->obs, &l);
    }
    if (rc != PU_OK) {
        sim_trace_free(t);
        return rc;
    }
    *out = t;
    return PU_OK;
}

void sim_trace_free(sim_trace *t)
{
    if (!t)
        return;
    pu_hmap_free(t->tx_row); /* the tables belong to the run file */
    free(t);
}
