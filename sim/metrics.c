/* sim/metrics.c -- run records: HDF5 tables (streamed where a killed run
 * should still show them) and the in-memory figures of the summary.
 * Layout: analysis/README.md. */
#include "sim/metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim/adversary/adversary.h"
#include "core/econ.h"
#include "core/opret.h"
#include "sim/h5.h"

#ifndef POUWSIM_VERSION
#define POUWSIM_VERSION "0.1.0"
#endif

typedef struct block_row {
    uint64_t idx;
    char hash[65], parent[65];
    uint32_t height, miner, size, n_tx;
    uint64_t mined_ns;
} block_row;

typedef struct outcome_row {
    uint64_t idx;
    uint8_t main;
    uint32_t reached;
    uint64_t t50_ns, t90_ns, t100_ns;
} outcome_row;

typedef struct arrival_row {
    uint64_t block;
    uint32_t node;
    uint64_t t_ns;
} arrival_row;

typedef struct tx_row {
    uint64_t idx;
    char txid[65];
    uint64_t created_ns;
    uint32_t wallet, node, size, n_in, n_out;
    uint8_t accepted;
} tx_row;

typedef struct conf_row {
    uint64_t tx, block;
    uint32_t height;
    uint64_t confirmed_ns;
    uint64_t latency_ns;
} conf_row;

typedef struct reorg_row {
    uint64_t t_ns;
    uint32_t node, depth, connected, new_height;
} reorg_row;

typedef struct msg_row {
    char kind[17];
    uint64_t count, bytes;
} msg_row;

typedef struct refusal_row {
    char object[6];   /* "block" or "tx" */
    char reason[24];  /* pu_reason_str */
    uint32_t code;    /* pu_reason */
    uint64_t count;   /* refusals summed over nodes */
} refusal_row;

typedef struct ts_row {
    uint64_t t_ns;
    uint32_t max_height, min_height;
    double mean_height, mean_mempool;
    uint64_t blocks_mined, txs_created, messages, bytes, events;
    uint32_t online;
} ts_row;

static const sim_h5_col block_cols[] = {
    SIM_H5_COL(block_row, idx), SIM_H5_COL_STR(block_row, hash), SIM_H5_COL_STR(block_row, parent),
    SIM_H5_COL(block_row, height), SIM_H5_COL(block_row, miner), SIM_H5_COL(block_row, mined_ns),
    SIM_H5_COL(block_row, size), SIM_H5_COL(block_row, n_tx),
};
static const sim_h5_col outcome_cols[] = {
    SIM_H5_COL(outcome_row, idx), SIM_H5_COL(outcome_row, main), SIM_H5_COL(outcome_row, reached),
    SIM_H5_COL(outcome_row, t50_ns), SIM_H5_COL(outcome_row, t90_ns), SIM_H5_COL(outcome_row, t100_ns),
};
static const sim_h5_col arrival_cols[] = {
    SIM_H5_COL(arrival_row, block), SIM_H5_COL(arrival_row, node), SIM_H5_COL(arrival_row, t_ns),
};
typedef struct tx_arrival_row {
    uint64_t tx;
    uint32_t node;
    uint64_t t_ns;
} tx_arrival_row;

static const sim_h5_col tx_arrival_cols[] = {
    SIM_H5_COL(tx_arrival_row, tx), SIM_H5_COL(tx_arrival_row, node), SIM_H5_COL(tx_arrival_row, t_ns),
};
static const sim_h5_col tx_cols[] = {
    SIM_H5_COL(tx_row, idx), SIM_H5_COL_STR(tx_row, txid), SIM_H5_COL(tx_row, created_ns),
    SIM_H5_COL(tx_row, wallet), SIM_H5_COL(tx_row, node), SIM_H5_COL(tx_row, size),
    SIM_H5_COL(tx_row, n_in), SIM_H5_COL(tx_row, n_out), SIM_H5_COL(tx_row, accepted),
};
static const sim_h5_col conf_cols[] = {
    SIM_H5_COL(conf_row, tx), SIM_H5_COL(conf_row, block), SIM_H5_COL(conf_row, height),
    SIM_H5_COL(conf_row, confirmed_ns), SIM_H5_COL(conf_row, latency_ns),
};
static const sim_h5_col reorg_cols[] = {
    SIM_H5_COL(reorg_row, t_ns), SIM_H5_COL(reorg_row, node), SIM_H5_COL(reorg_row, depth),
    SIM_H5_COL(reorg_row, connected), SIM_H5_COL(reorg_row, new_height),
};
static const sim_h5_col msg_cols[] = {
    SIM_H5_COL_STR(msg_row, kind), SIM_H5_COL(msg_row, count), SIM_H5_COL(msg_row, bytes),
};
static const sim_h5_col refusal_cols[] = {
    SIM_H5_COL_STR(refusal_row, object), SIM_H5_COL_STR(refusal_row, reason),
    SIM_H5_COL(refusal_row, code), SIM_H5_COL(refusal_row, count),
};
static const sim_h5_col ts_cols[] = {
    SIM_H5_COL(ts_row, t_ns), SIM_H5_COL(ts_row, max_height), SIM_H5_COL(ts_row, min_height),
    SIM_H5_COL(ts_row, mean_height), SIM_H5_COL(ts_row, mean_mempool),
    SIM_H5_COL(ts_row, blocks_mined), SIM_H5_COL(ts_row, txs_created), SIM_H5_COL(ts_row, messages),
    SIM_H5_COL(ts_row, bytes), SIM_H5_COL(ts_row, events), SIM_H5_COL(ts_row, online),
};

/* consensus pouw (events from sim/pouw.c) */
typedef struct iter_row {
    uint32_t miner_node, miner_index, seq, epoch, iter, peers;
    double loss, accuracy;
    uint64_t t_ns;
    uint8_t block;
} iter_row;

typedef struct verif_row {
    uint32_t node;
    uint64_t block;
    uint32_t outcome;        /* pu_pouw_reason: 0 ok */
    uint64_t cost_ns;
    uint64_t t_ns;
    uint64_t bytes;          /* fetched for the check */
    uint64_t heard_ns;       /* first message naming the block */
} verif_row;

typedef struct task_row {
    char task_id[65];
    uint64_t submitted_ns, training_ns, result_ns, settled_ns;
    uint32_t miners, iterations, blocks;
    double best_accuracy;
    uint64_t arrival_ns, end_ns;
    uint32_t supervisors, evaluators, verifiers;
    uint64_t iterations_run;
    uint32_t outcome;
    int64_t fee;
} task_row;

typedef struct opret_row {
    char op[24];
    uint32_t code;
    uint64_t written, written_bytes, confirmed, confirmed_bytes;
} opret_row;

typedef struct record_refusal_row {
    char op[24];      /* pu_opret_op_name, "none" without a record */
    uint32_t op_code;
    char reason[24];  /* pu_econ_reason_str */
    uint32_t code;
    uint64_t count;   /* refusals summed over nodes */
} record_refusal_row;

typedef struct econ_row {
    uint32_t node;
    char role[12];
    uint8_t selected;
    int64_t balance_start, balance_end, locked_end;
} econ_row;

static const sim_h5_col iter_cols[] = {
    SIM_H5_COL(iter_row, miner_node), SIM_H5_COL(iter_row, miner_index), SIM_H5_COL(iter_row, seq),
    SIM_H5_COL(iter_row, epoch), SIM_H5_COL(iter_row, iter), SIM_H5_COL(iter_row, peers),
    SIM_H5_COL(iter_row, loss), SIM_H5_COL(iter_row, accuracy), SIM_H5_COL(iter_row, t_ns),
    SIM_H5_COL(iter_row, block),
};
static const sim_h5_col verif_cols[] = {
    SIM_H5_COL(verif_row, node), SIM_H5_COL(verif_row, block), SIM_H5_COL(verif_row, outcome),
    SIM_H5_COL(verif_row, cost_ns), SIM_H5_COL(verif_row, t_ns), SIM_H5_COL(verif_row, bytes),
    SIM_H5_COL(verif_row, heard_ns),
};
static const sim_h5_col task_cols[] = {
    SIM_H5_COL_STR(task_row, task_id), SIM_H5_COL(task_row, submitted_ns),
    SIM_H5_COL(task_row, training_ns), SIM_H5_COL(task_row, result_ns),
    SIM_H5_COL(task_row, settled_ns), SIM_H5_COL(task_row, miners), SIM_H5_COL(task_row, iterations),
    SIM_H5_COL(task_row, blocks), SIM_H5_COL(task_row, best_accuracy),
    SIM_H5_COL(task_row, arrival_ns), SIM_H5_COL(task_row, end_ns), SIM_H5_COL(task_row, supervisors),
    SIM_H5_COL(task_row, evaluators), SIM_H5_COL(task_row, verifiers),
    SIM_H5_COL(task_row, iterations_run), SIM_H5_COL(task_row, outcome), SIM_H5_COL(task_row, fee),
};
static const sim_h5_col opret_cols[] = {
    SIM_H5_COL_STR(opret_row, op), SIM_H5_COL(opret_row, code), SIM_H5_COL(opret_row, written),
    SIM_H5_COL(opret_row, written_bytes), SIM_H5_COL(opret_row, confirmed),
    SIM_H5_COL(opret_row, confirmed_bytes),
};
static const sim_h5_col record_refusal_cols[] = {
    SIM_H5_COL_STR(record_refusal_row, op), SIM_H5_COL(record_refusal_row, op_code),
    SIM_H5_COL_STR(record_refusal_row, reason), SIM_H5_COL(record_refusal_row, code),
    SIM_H5_COL(record_refusal_row, count),
};
static const sim_h5_col econ_cols[] = {
    SIM_H5_COL(econ_row, node), SIM_H5_COL_STR(econ_row, role), SIM_H5_COL(econ_row, selected),
    SIM_H5_COL(econ_row, balance_start), SIM_H5_COL(econ_row, balance_end),
    SIM_H5_COL(econ_row, locked_end),
};

/* adversaries (events from sim/adversary) */
typedef struct attack_row {
    uint32_t idx;
    char type[24];
    uint32_t node;
    double share;
    uint64_t started_ns, stopped_ns, active_ns;
    uint64_t blocks_mined, main_blocks, main_total;
    double revenue_share;
    uint64_t blocks_withheld, blocks_released;
    uint64_t attempts, successes;
    double success_rate;
    uint64_t ties, ties_won;
    double gamma, expected;
    int64_t loss, stake_slashed;
    uint64_t refused_blocks, refused_txs, refused_work;
    uint64_t msgs_dropped, msgs_delayed;
    uint64_t peak_mempool, bound_mempool, peak_orphans, bound_orphans, peak_queue, bound_queue;
    char detail[160];
} attack_row;

typedef struct attack_refusal_row {
    uint32_t attack;
    char object[6];   /* "block", "tx" or "work" (a PoUW block's ML verdict) */
    char reason[24];  /* pu_reason_str / pu_pouw_reason_str */
    uint32_t code;
    uint64_t count;   /* refusals by honest nodes, summed over nodes */
} attack_refusal_row;

static const sim_h5_col attack_cols[] = {
    SIM_H5_COL(attack_row, idx), SIM_H5_COL_STR(attack_row, type), SIM_H5_COL(attack_row, node),
    SIM_H5_COL(attack_row, share), SIM_H5_COL(attack_row, started_ns),
    SIM_H5_COL(attack_row, stopped_ns), SIM_H5_COL(attack_row, active_ns),
    SIM_H5_COL(attack_row, blocks_mined), SIM_H5_COL(attack_row, main_blocks),
    SIM_H5_COL(attack_row, main_total), SIM_H5_COL(attack_row, revenue_share),
    SIM_H5_COL(attack_row, blocks_withheld), SIM_H5_COL(attack_row, blocks_released),
    SIM_H5_COL(attack_row, attempts), SIM_H5_COL(attack_row, successes),
    SIM_H5_COL(attack_row, success_rate), SIM_H5_COL(attack_row, ties),
    SIM_H5_COL(attack_row, ties_won), SIM_H5_COL(attack_row, gamma),
    SIM_H5_COL(attack_row, expected), SIM_H5_COL(attack_row, loss),
    SIM_H5_COL(attack_row, stake_slashed), SIM_H5_COL(attack_row, refused_blocks),
    SIM_H5_COL(attack_row, refused_txs), SIM_H5_COL(attack_row, refused_work),
    SIM_H5_COL(attack_row, msgs_dropped), SIM_H5_COL(attack_row, msgs_delayed),
    SIM_H5_COL(attack_row, peak_mempool), SIM_H5_COL(attack_row, bound_mempool),
    SIM_H5_COL(attack_row, peak_orphans), SIM_H5_COL(attack_row, bound_orphans),
    SIM_H5_COL(attack_row, peak_queue), SIM_H5_COL(attack_row, bound_queue),
    SIM_H5_COL_STR(attack_row, detail),
};
static const sim_h5_col attack_refusal_cols[] = {
    SIM_H5_COL(attack_refusal_row, attack), SIM_H5_COL_STR(attack_refusal_row, object),
    SIM_H5_COL_STR(attack_refusal_row, reason), SIM_H5_COL(attack_refusal_row, code),
    SIM_H5_COL(attack_refusal_row, count),
};

#define NCOLS(a) (sizeof(a) / sizeof((a)[0]))

/* What the metrics know of every block ever mined in the run. */
typedef struct block_info {
    pu_block *block;          /* reference held */
    uint32_t miner_node;
    uint32_t height;
    uint64_t mined_ns;
    uint32_t reached;         /* nodes that stored it */
    uint64_t t50_ns, t90_ns, t100_ns; /* delay until 50/90/100 % of nodes had it; SIM_NEVER = never */
} block_info;

typedef struct created_info {
    uint64_t t_ns;
    uint64_t row;
} created_info;

struct sim_metrics {
    sim_h5 *h5; /* NULL: no HDF5 output, figures only */
    bool sampled;
    uint64_t last_sample_ns;
    sim_h5_table *blocks, *outcomes, *arrivals, *txs, *confs, *t_reorgs, *msgs, *ts, *refusals;
    sim_h5_table *tx_arrivals;
    /* acceptances told before the payment's TX_CREATED (at its origin, and
     * under tx_model flood at every node): held until then */
    pu_hash32 early_txid;
    tx_arrival_row *early;
    size_t n_early, cap_early;
    sim_h5_table *t_iter, *t_verif, *t_tasks, *t_econ, *t_opret, *t_rec_refused; /* consensus pouw */
    uint64_t *v_bytes, *v_delay;  /* per verification by a node other than the miner */
    size_t n_v, cap_v;
    uint64_t pouw_tasks, pouw_settled, pouw_dropped;
    sim_h5_table *t_attacks, *t_attack_refusals;       /* adversaries */
    uint32_t n_attacks;
    sim_summary_attack attacks[SIM_SUMMARY_MAX_ATTACKS];
    pu_hmap *block_idx;       /* block hash -> u32 index into blocks */
    block_info *blocks_v;
    uint32_t n_blocks, cap_blocks;
    pu_hmap *created;         /* txid -> created_info: the workload's payments */
    uint64_t n_created;
    uint64_t reorgs, reorg_max_depth;
    uint64_t block_refused[PU_R_COUNT_], tx_refused[PU_R_COUNT_]; /* by pu_reason, all nodes */
    bool have_task;
    sim_obs_task task;        /* the tasks' outcomes summed (end of run): counts
                               * added, best accuracy the highest, phase the last
                               * submitted task's */
};

static void on_event(void *self, sim_ctx *ctx, const sim_obs *ev);

static pu_err h5_fail(sim_ctx *ctx, pu_err rc)
{
    if (rc != PU_OK && ctx->metrics && ctx->metrics->h5)
        snprintf(ctx->err, sizeof ctx->err, "HDF5 output: %.200s", sim_h5_errmsg(ctx->metrics->h5));
    return rc;
}

static pu_err run_attrs(sim_ctx *ctx, sim_h5 *h)
{
    const sim_params *p = ctx->p;
    pu_err rc = sim_h5_attr_str(h, "/run", "version", POUWSIM_VERSION);
    if (rc == PU_OK) rc = sim_h5_attr_u64(h, "/run", "layout", SIM_METRICS_LAYOUT);
    if (rc == PU_OK) rc = sim_h5_attr_str(h, "/run", "name", p->name ? p->name : "");
    if (rc == PU_OK) rc = sim_h5_attr_u64(h, "/run", "seed", p->seed);
    if (rc == PU_OK) rc = sim_h5_attr_str(h, "/run", "consensus", p->consensus == SIM_CONSENSUS_POUW ? "pouw" : "pow");
    if (rc == PU_OK) rc = sim_h5_attr_u64(h, "/run", "nodes", ctx->n);
    if (rc == PU_OK) rc = sim_h5_attr_str(h, "/run", "scenario", ctx->scenario_text ? ctx->scenario_text : "");
    if (rc == PU_OK) rc = sim_h5_attr_str(h, "/run", "parameters", ctx->params_dump);
    /* Every checkpoint says "unfinished" until the run completes: a file
     * left by a killed or stopped run cannot pass for a whole one. */
    if (rc == PU_OK) rc = sim_h5_attr_u64(h, "/run", "finished", 0);
    if (rc == PU_OK) rc = sim_h5_attr_str(h, "/run", "stop_reason", "");
    if (rc == PU_OK) {
        char hex[65];
        pu_hash_hex(pu_block_hash(ctx->genesis), hex);
        rc = sim_h5_attr_str(h, "/run", "genesis", hex);
    }
    return rc;
}

static pu_err create_tables(sim_ctx *ctx, sim_metrics *m)
{
    sim_h5 *h = m->h5;
    pu_err rc = run_attrs(ctx, h);
    if (rc == PU_OK) rc = sim_h5_table_create(h, "/blocks", block_cols, NCOLS(block_cols), 1024, 0, &m->blocks);
    if (rc == PU_OK && ctx->p->output.arrivals)
        rc = sim_h5_table_create(h, "/arrivals", arrival_cols, NCOLS(arrival_cols), 8192, 0, &m->arrivals);
    if (rc == PU_OK) rc = sim_h5_table_create(h, "/txs", tx_cols, NCOLS(tx_cols), 4096, 0, &m->txs);
    if (rc == PU_OK && ctx->p->output.tx_arrivals)
        rc = sim_h5_table_create(h, "/tx_arrivals", tx_arrival_cols, NCOLS(tx_arrival_cols), 8192, 0,
                                 &m->tx_arrivals);
    if (rc == PU_OK) rc = sim_h5_table_create(h, "/reorgs", reorg_cols, NCOLS(reorg_cols), 1024, 0, &m->t_reorgs);
    if (rc == PU_OK) rc = sim_h5_table_create(h, "/timeseries", ts_cols, NCOLS(ts_cols), 1024, 0, &m->ts);
    if (rc == PU_OK) rc = sim_h5_table_create(h, "/block_outcomes", outcome_cols, NCOLS(outcome_cols), 1024, 0, &m->outcomes);
    if (rc == PU_OK) rc = sim_h5_table_create(h, "/tx_confirmations", conf_cols, NCOLS(conf_cols), 4096, 0, &m->confs);
    if (rc == PU_OK) rc = sim_h5_table_create(h, "/messages", msg_cols, NCOLS(msg_cols), 64, 0, &m->msgs);
    if (rc == PU_OK) rc = sim_h5_table_create(h, "/refusals", refusal_cols, NCOLS(refusal_cols), 64, 0, &m->refusals);
    if (rc == PU_OK && ctx->p->consensus == SIM_CONSENSUS_POUW) {
        rc = sim_h5_table_create(h, "/ml/iterations", iter_cols, NCOLS(iter_cols), 4096, 0, &m->t_iter);
        if (rc == PU_OK) rc = sim_h5_table_create(h, "/ml/verifications", verif_cols, NCOLS(verif_cols), 8192, 0, &m->t_verif);
        if (rc == PU_OK) rc = sim_h5_table_create(h, "/tasks", task_cols, NCOLS(task_cols), 16, 0, &m->t_tasks);
        if (rc == PU_OK) rc = sim_h5_table_create(h, "/economics", econ_cols, NCOLS(econ_cols), 256, 0, &m->t_econ);
        if (rc == PU_OK) rc = sim_h5_table_create(h, "/opret", opret_cols, NCOLS(opret_cols), 16, 0, &m->t_opret);
        if (rc == PU_OK)
            rc = sim_h5_table_create(h, "/record_refusals", record_refusal_cols, NCOLS(record_refusal_cols),
                                     64, 0, &m->t_rec_refused);
    }
    if (rc == PU_OK && ctx->p->n_adversaries) {
        rc = sim_h5_table_create(h, "/attacks", attack_cols, NCOLS(attack_cols), 16, 0, &m->t_attacks);
        if (rc == PU_OK)
            rc = sim_h5_table_create(h, "/attack_refusals", attack_refusal_cols,
                                     NCOLS(attack_refusal_cols), 64, 0, &m->t_attack_refusals);
    }
    return rc;
}

pu_err sim_metrics_new(sim_ctx *ctx, const char *path, sim_metrics **out)
{
    *out = NULL;
    sim_metrics *m = calloc(1, sizeof *m);
    if (!m)
        return PU_ERR_NOMEM;
    *out = m;
    ctx->metrics = m;
    pu_err rc = pu_hmap_new(32, sizeof(uint32_t), 1024, &m->block_idx);
    if (rc == PU_OK)
        rc = pu_hmap_new(32, sizeof(created_info), 1024, &m->created);
    if (rc == PU_OK) {
        sim_observer l = {on_event,
                          SIM_OBS_BIT(SIM_OBS_BLOCK_MINED) | SIM_OBS_BIT(SIM_OBS_BLOCK_STORED)
                              | SIM_OBS_BIT(SIM_OBS_BLOCK_REFUSED) | SIM_OBS_BIT(SIM_OBS_TIP_CHANGED)
                              | SIM_OBS_BIT(SIM_OBS_TX_CREATED) | SIM_OBS_BIT(SIM_OBS_TX_REFUSED)
                              | SIM_OBS_BIT(SIM_OBS_ITERATION) | SIM_OBS_BIT(SIM_OBS_VERIFIED)
                              | SIM_OBS_BIT(SIM_OBS_TASK_END) | SIM_OBS_BIT(SIM_OBS_ROLE_END)
                              | SIM_OBS_BIT(SIM_OBS_ATTACK_END) | SIM_OBS_BIT(SIM_OBS_RECORDS)
                              | (ctx->p->output.tx_arrivals && path && *path ? SIM_OBS_BIT(SIM_OBS_TX_ACCEPTED) : 0),
                          m};
        rc = sim_observers_add(ctx->obs, &l);
    }
    if (rc != PU_OK || !path || !*path)
        return rc;
    char err[SIM_H5_ERRLEN];
    rc = sim_h5_new(path, SIM_H5_NOSYNC, &m->h5, err, sizeof err);
    if (rc != PU_OK) {
        snprintf(ctx->err, sizeof ctx->err, "%s", err);
        return rc;
    }
    rc = create_tables(ctx, m);
    /* A first checkpoint at once: from here on the file of a killed run is
     * a run file (its /run attributes, finished = 0, every table). */
    if (rc == PU_OK)
        rc = sim_h5_checkpoint(m->h5);
    return h5_fail(ctx, rc);
}

struct sim_h5 *sim_metrics_h5(const sim_metrics *m) { return m->h5; }

void sim_metrics_free(sim_metrics *m)
{
    if (!m)
        return;
    sim_h5_free(m->h5); /* abandoned run: the file keeps its last checkpoint */
    for (uint32_t i = 0; i < m->n_blocks; i++)
        pu_block_unref(m->blocks_v[i].block);
    free(m->blocks_v);
    pu_hmap_free(m->block_idx);
    pu_hmap_free(m->created);
    free(m->v_bytes);
    free(m->v_delay);
    free(m->early);
    free(m);
}

static void append(sim_ctx *ctx, sim_h5_table *t, const void *row, const char *what)
{
    if (t && sim_h5_table_append(t, row) != PU_OK)
        sim_fail(ctx, h5_fail(ctx, PU_ERR_IO), what);
}

static pu_err block_mined(sim_ctx *ctx, sim_metrics *m, const pu_block *b, uint32_t node,
                          uint32_t height)
{
    if (m->n_blocks == m->cap_blocks) {
        uint32_t cap = m->cap_blocks ? m->cap_blocks * 2 : 256;
        block_info *nb = realloc(m->blocks_v, cap * sizeof *nb);
        if (!nb)
            return PU_ERR_NOMEM;
        m->blocks_v = nb;
        m->cap_blocks = cap;
    }
    void *v;
    bool created;
    pu_err rc = pu_hmap_put(m->block_idx, pu_block_hash(b)->b, &v, &created);
    if (rc != PU_OK)
        return rc;
    if (!created) /* the same block mined twice cannot happen; keep the first */
        return PU_OK;
    uint32_t idx = m->n_blocks;
    *(uint32_t *)v = idx;
    m->blocks_v[m->n_blocks++] = (block_info){pu_block_ref((pu_block *)b), node, height, ctx->now, 0,
                                              SIM_NEVER, SIM_NEVER, SIM_NEVER};
    if (!m->h5)
        return PU_OK;
    block_row r;
    memset(&r, 0, sizeof r);
    r.idx = idx;
    pu_hash_hex(pu_block_hash(b), r.hash);
    pu_hash_hex(&pu_block_header(b)->prev, r.parent);
    r.height = height;
    r.miner = node;
    r.mined_ns = ctx->now;
    r.size = pu_block_size(b);
    r.n_tx = pu_block_n_tx(b);
    return h5_fail(ctx, sim_h5_table_append(m->blocks, &r));
}

static void block_stored(sim_ctx *ctx, sim_metrics *m, const pu_block *b, uint32_t node)
{
    const uint32_t *v = pu_hmap_get(m->block_idx, pu_block_hash(b)->b);
    if (!v)
        return; /* genesis */
    block_info *bi = &m->blocks_v[*v];
    bi->reached++;
    uint64_t dt = ctx->now - bi->mined_ns;
    /* thresholds: 50 % and 90 % of all nodes, rounded up */
    if (bi->reached == (ctx->n + 1) / 2)
        bi->t50_ns = dt;
    if (bi->reached == (uint32_t)(((uint64_t)ctx->n * 9 + 9) / 10))
        bi->t90_ns = dt;
    if (bi->reached == ctx->n)
        bi->t100_ns = dt;
    arrival_row r = {*v, node, ctx->now};
    append(ctx, m->arrivals, &r, "HDF5 arrivals");
}

static void reorg(sim_ctx *ctx, sim_metrics *m, uint32_t node, const pu_add_result *res)
{
    m->reorgs++;
    if (res->disconnected > m->reorg_max_depth)
        m->reorg_max_depth = res->disconnected;
    reorg_row r = {ctx->now, node, res->disconnected, res->connected,
                   pu_chain_height(ctx->nodes[node].chain)};
    append(ctx, m->t_reorgs, &r, "HDF5 reorgs");
}

/* A node has a payment (output.tx_arrivals).  Acceptances told before the
 * payment is known as created are held; any other transaction's are
 * dropped when the next one starts. */
static void tx_accepted(sim_ctx *ctx, sim_metrics *m, const sim_obs *ev)
{
    const created_info *c = pu_hmap_get(m->created, pu_tx_id(ev->tx)->b);
    tx_arrival_row r = {c ? c->row : 0, ev->node, ev->u.accepted_ns};
    if (c) {
        append(ctx, m->tx_arrivals, &r, "HDF5 tx_arrivals");
        return;
    }
    if (!pu_hash_eq(&m->early_txid, pu_tx_id(ev->tx))) {
        m->early_txid = *pu_tx_id(ev->tx);
        m->n_early = 0;
    }
    if (m->n_early == m->cap_early) {
        size_t cap = m->cap_early ? 2 * m->cap_early : 64;
        tx_arrival_row *a = realloc(m->early, cap * sizeof *a);
        if (!a) {
            sim_fail(ctx, PU_ERR_NOMEM, "metrics");
            return;
        }
        m->early = a;
        m->cap_early = cap;
    }
    m->early[m->n_early++] = r;
}

static void tx_created(sim_ctx *ctx, sim_metrics *m, const sim_obs *ev)
{
    void *v;
    if (pu_hmap_put(m->created, pu_tx_id(ev->tx)->b, &v, NULL) == PU_OK)
        *(created_info *)v = (created_info){ctx->now, m->n_created};
    if (m->n_early && pu_hash_eq(&m->early_txid, pu_tx_id(ev->tx))) {
        for (size_t i = 0; i < m->n_early; i++) {
            m->early[i].tx = m->n_created;
            append(ctx, m->tx_arrivals, &m->early[i], "HDF5 tx_arrivals");
        }
        m->n_early = 0;
    }
    m->n_created++;
    if (!m->txs)
        return;
    tx_row r;
    memset(&r, 0, sizeof r);
    r.idx = m->n_created - 1;
    pu_hash_hex(pu_tx_id(ev->tx), r.txid);
    r.created_ns = ctx->now;
    r.wallet = ev->u.tx_created.wallet;
    r.node = ev->node;
    r.size = pu_tx_size(ev->tx);
    r.n_in = pu_tx_n_in(ev->tx);
    r.n_out = pu_tx_n_out(ev->tx);
    r.accepted = ev->u.tx_created.accepted;
    append(ctx, m->txs, &r, "HDF5 txs");
}

static void iteration(sim_ctx *ctx, sim_metrics *m, uint32_t node, const sim_obs_iteration *it)
{
    iter_row r = {node, it->miner_index, it->seq, it->epoch, it->iter, it->peers,
                  it->loss, it->accuracy, ctx->now, it->block};
    append(ctx, m->t_iter, &r, "HDF5 /ml/iterations");
}

static void verified(sim_ctx *ctx, sim_metrics *m, const sim_obs *ev)
{
    const uint32_t *bi = pu_hmap_get(m->block_idx, pu_block_hash(ev->block)->b);
    const sim_obs_verified *v = &ev->u.verified;
    verif_row r = {ev->node, bi ? *bi : UINT64_MAX, (uint32_t)ev->reason, v->cost_ns, ctx->now,
                   v->bytes, v->heard_ns};
    append(ctx, m->t_verif, &r, "HDF5 /ml/verifications");
    if (bi && m->blocks_v[*bi].miner_node == ev->node)
        return; /* the miner checks its own block with what it has: no sample */
    if (m->n_v == m->cap_v) {
        size_t cap = m->cap_v ? 2 * m->cap_v : 1024;
        uint64_t *b = realloc(m->v_bytes, cap * sizeof *b);
        uint64_t *d = b ? realloc(m->v_delay, cap * sizeof *d) : NULL;
        if (b)
            m->v_bytes = b;
        if (!b || !d) {
            sim_fail(ctx, PU_ERR_NOMEM, "metrics");
            return;
        }
        m->v_delay = d;
        m->cap_v = cap;
    }
    m->v_bytes[m->n_v] = v->bytes;
    m->v_delay[m->n_v++] = ctx->now - v->heard_ns;
}

static void records(sim_ctx *ctx, sim_metrics *m, const sim_obs_records *rec)
{
    for (uint8_t op = 1; op <= 8; op++) {
        opret_row r;
        memset(&r, 0, sizeof r);
        snprintf(r.op, sizeof r.op, "%s", pu_opret_op_name(op));
        r.code = op;
        r.written = rec->written[op];
        r.written_bytes = rec->written_bytes[op];
        r.confirmed = rec->confirmed[op];
        r.confirmed_bytes = rec->confirmed_bytes[op];
        append(ctx, m->t_opret, &r, "HDF5 /opret");
    }
    for (uint8_t op = 0; op <= 8; op++)
        for (int k = 0; k < SIM_OBS_ECON_REASONS; k++) {
            if (!rec->refused[k][op])
                continue;
            record_refusal_row r;
            memset(&r, 0, sizeof r);
            snprintf(r.op, sizeof r.op, "%s", op ? pu_opret_op_name(op) : "none");
            r.op_code = op;
            snprintf(r.reason, sizeof r.reason, "%s", pu_econ_reason_str((pu_econ_reason)k));
            r.code = (uint32_t)k;
            r.count = rec->refused[k][op];
            append(ctx, m->t_rec_refused, &r, "HDF5 /record_refusals");
        }
}

static void task_end(sim_ctx *ctx, sim_metrics *m, const sim_obs_task *t)
{
    sim_obs_task *a = &m->task;
    if (!m->have_task)
        *a = *t;
    else {
        a->iterations += t->iterations;
        a->blocks += t->blocks;
        a->verifications += t->verifications;
        a->verify_failures += t->verify_failures;
        if (t->best_accuracy > a->best_accuracy)
            a->best_accuracy = t->best_accuracy;
        if (t->submitted_ns)
            a->phase = t->phase;
    }
    m->have_task = true;
    task_row r;
    memset(&r, 0, sizeof r);
    pu_hash_hex(&t->task_id, r.task_id);
    r.submitted_ns = t->submitted_ns;
    r.training_ns = t->training_ns;
    r.result_ns = t->result_ns;
    r.settled_ns = t->settled_ns;
    r.miners = t->miners;
    r.iterations = t->max_iterations;
    r.blocks = (uint32_t)t->blocks;
    r.best_accuracy = t->best_accuracy;
    r.arrival_ns = t->arrival_ns;
    r.end_ns = t->end_ns;
    r.supervisors = t->supervisors;
    r.evaluators = t->evaluators;
    r.verifiers = t->verifiers;
    r.iterations_run = t->iterations;
    r.outcome = t->outcome;
    r.fee = t->fee;
    m->pouw_tasks++;
    m->pouw_settled += t->settled_ns != 0;
    m->pouw_dropped += t->outcome == 5;
    append(ctx, m->t_tasks, &r, "HDF5 /tasks");
}

static void role_end(sim_ctx *ctx, sim_metrics *m, uint32_t node, const sim_obs_role *ro)
{
    econ_row r;
    memset(&r, 0, sizeof r);
    r.node = node;
    snprintf(r.role, sizeof r.role, "%s", ro->role);
    r.selected = ro->selected;
    r.balance_start = ro->balance_start;
    r.balance_end = ro->balance_end;
    r.locked_end = ro->locked_end;
    append(ctx, m->t_econ, &r, "HDF5 /economics");
}

static void attack_refusals(sim_ctx *ctx, sim_metrics *m, const sim_attack_outcome *a)
{
    static const char objects[3][6] = {"block", "tx", "work"};
    const uint64_t *counts[3] = {a->refused_block, a->refused_tx, a->refused_work};
    const int n[3] = {PU_R_COUNT_, PU_R_COUNT_, PU_POUW_REASON_COUNT};
    for (int o = 0; o < 3; o++)
        for (int k = 0; k < n[o]; k++) {
            if (!counts[o][k])
                continue;
            attack_refusal_row r;
            memset(&r, 0, sizeof r);
            r.attack = a->index;
            memcpy(r.object, objects[o], sizeof r.object);
            snprintf(r.reason, sizeof r.reason, "%s",
                     o == 2 ? pu_pouw_reason_str((pu_pouw_reason)k) : pu_reason_str((pu_reason)k));
            r.code = (uint32_t)k;
            r.count = counts[o][k];
            append(ctx, m->t_attack_refusals, &r, "HDF5 /attack_refusals");
        }
}

static uint64_t sum_u64(const uint64_t *v, int n)
{
    uint64_t t = 0;
    for (int i = 0; i < n; i++)
        t += v[i];
    return t;
}

static void attack_end(sim_ctx *ctx, sim_metrics *m, const sim_attack_outcome *a)
{
    attack_row r;
    memset(&r, 0, sizeof r);
    char type[24];
    sim_params_adversary_type_name(a->type, type, sizeof type);
    r.idx = a->index;
    memcpy(r.type, type, sizeof r.type);
    r.node = a->node;
    r.share = a->share;
    r.started_ns = a->started_ns;
    r.stopped_ns = a->stopped_ns;
    r.active_ns = a->active_ns;
    r.blocks_mined = a->blocks_mined;
    r.main_blocks = a->main_blocks;
    r.main_total = a->main_total;
    r.revenue_share = a->revenue_share;
    r.blocks_withheld = a->blocks_withheld;
    r.blocks_released = a->blocks_released;
    r.attempts = a->attempts;
    r.successes = a->successes;
    r.success_rate = a->success_rate;
    r.ties = a->ties;
    r.ties_won = a->ties_won;
    r.gamma = a->gamma;
    r.expected = a->expected;
    r.loss = a->loss;
    r.stake_slashed = a->stake_slashed;
    r.refused_blocks = sum_u64(a->refused_block, PU_R_COUNT_);
    r.refused_txs = sum_u64(a->refused_tx, PU_R_COUNT_);
    r.refused_work = sum_u64(a->refused_work, PU_POUW_REASON_COUNT);
    r.msgs_dropped = a->msgs_dropped;
    r.msgs_delayed = a->msgs_delayed;
    r.peak_mempool = a->peak_mempool;
    r.bound_mempool = a->bound_mempool;
    r.peak_orphans = a->peak_orphans;
    r.bound_orphans = a->bound_orphans;
    r.peak_queue = a->peak_queue;
    r.bound_queue = a->bound_queue;
    snprintf(r.detail, sizeof r.detail, "%s", a->detail);
    append(ctx, m->t_attacks, &r, "HDF5 /attacks");
    attack_refusals(ctx, m, a);
    if (m->n_attacks == SIM_SUMMARY_MAX_ATTACKS)
        return;
    sim_summary_attack *s = &m->attacks[m->n_attacks++];
    memcpy(s->type, type, sizeof s->type);
    s->share = a->share;
    s->blocks_mined = a->blocks_mined;
    s->main_blocks = a->main_blocks;
    s->main_total = a->main_total;
    s->revenue_share = a->revenue_share;
    s->gamma = a->gamma;
    s->expected = a->expected;
    s->attempts = a->attempts;
    s->successes = a->successes;
    s->success_rate = a->success_rate;
    s->loss = a->loss;
    s->stake_slashed = a->stake_slashed;
    s->refused = r.refused_blocks + r.refused_txs;
    s->peak_mempool = a->peak_mempool;
    s->peak_orphans = a->peak_orphans;
    s->peak_queue = a->peak_queue;
}

static void on_event(void *self, sim_ctx *ctx, const sim_obs *ev)
{
    sim_metrics *m = self;
    switch (ev->kind) {
    case SIM_OBS_BLOCK_MINED:
        if (block_mined(ctx, m, ev->block, ev->node, ev->height) != PU_OK)
            sim_fail(ctx, PU_ERR_NOMEM, "metrics");
        break;
    case SIM_OBS_BLOCK_STORED: block_stored(ctx, m, ev->block, ev->node); break;
    case SIM_OBS_BLOCK_REFUSED: m->block_refused[ev->reason]++; break;
    case SIM_OBS_TIP_CHANGED:
        if (ev->add->disconnected)
            reorg(ctx, m, ev->node, ev->add);
        break;
    case SIM_OBS_TX_CREATED: tx_created(ctx, m, ev); break;
    case SIM_OBS_TX_ACCEPTED: tx_accepted(ctx, m, ev); break;
    case SIM_OBS_TX_REFUSED: m->tx_refused[ev->reason]++; break;
    case SIM_OBS_ITERATION: iteration(ctx, m, ev->node, ev->u.iteration); break;
    case SIM_OBS_VERIFIED: verified(ctx, m, ev); break;
    case SIM_OBS_TASK_END: task_end(ctx, m, ev->u.task); break;
    case SIM_OBS_RECORDS: records(ctx, m, ev->u.records); break;
    case SIM_OBS_ROLE_END: role_end(ctx, m, ev->node, ev->u.role); break;
    case SIM_OBS_ATTACK_END: attack_end(ctx, m, ev->u.attack); break;
    default: break;
    }
}

void sim_metrics_sample(sim_ctx *ctx)
{
    sim_metrics *m = ctx->metrics;
    if (m->sampled && m->last_sample_ns == ctx->now)
        return; /* the final sample coincides with a periodic one */
    m->sampled = true;
    m->last_sample_ns = ctx->now;
    ts_row r;
    memset(&r, 0, sizeof r);
    r.t_ns = ctx->now;
    r.min_height = UINT32_MAX;
    double hsum = 0, msum = 0;
    for (uint32_t i = 0; i < ctx->n; i++) {
        const sim_node *nd = &ctx->nodes[i];
        uint32_t h = pu_chain_height(nd->chain);
        r.max_height = h > r.max_height ? h : r.max_height;
        r.min_height = h < r.min_height ? h : r.min_height;
        hsum += h;
        msum += (double)sim_node_mempool_size(ctx, nd);
        r.online += nd->online;
    }
    r.mean_height = hsum / ctx->n;
    r.mean_mempool = msum / ctx->n;
    r.blocks_mined = ctx->blocks_mined;
    r.txs_created = m->n_created;
    for (int k = 0; k < SIM_MSG_KIND_COUNT; k++) {
        r.messages += ctx->msg_count[k];
        r.bytes += ctx->msg_bytes[k];
    }
    r.events = ctx->events;
    append(ctx, m->ts, &r, "HDF5 timeseries");
}

pu_err sim_metrics_checkpoint(sim_ctx *ctx)
{
    sim_metrics *m = ctx->metrics;
    return m->h5 ? h5_fail(ctx, sim_h5_checkpoint(m->h5)) : PU_OK;
}

pu_err sim_metrics_mark_partial(sim_ctx *ctx, const char *reason)
{
    sim_metrics *m = ctx->metrics;
    if (!m || !m->h5)
        return PU_OK;
    pu_err rc = sim_h5_attr_str(m->h5, "/run", "stop_reason", reason);
    if (rc == PU_OK)
        rc = sim_h5_attr_u64(m->h5, "/run", "stopped_at_ns", ctx->now);
    if (rc == PU_OK)
        rc = sim_h5_checkpoint(m->h5);
    return h5_fail(ctx, rc);
}

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank quantile of the values (sorted here); NaN without values
 * (a figure of no data is no figure, never 0). */
static double quantile(uint64_t *v, size_t n, double q)
{
    if (!n)
        return NAN;
    qsort(v, n, sizeof *v, u64_cmp);
    size_t k = (size_t)(q * (double)n);
    if (k >= n)
        k = n - 1;
    return (double)v[k];
}

/* The same of nanoseconds, in seconds. */
static double quantile_s(uint64_t *v, size_t n, double q) { return quantile(v, n, q) / 1e9; }

static pu_err finish_blocks(sim_ctx *ctx, const pu_chain *best, sim_summary *s, uint8_t *main)
{
    sim_metrics *m = ctx->metrics;
    uint64_t *t50 = malloc((m->n_blocks + 1) * sizeof *t50);
    uint64_t *t90 = malloc((m->n_blocks + 1) * sizeof *t90);
    if (!t50 || !t90) {
        free(t50);
        free(t90);
        return PU_ERR_NOMEM;
    }
    size_t n50 = 0, n90 = 0;
    pu_err rc = PU_OK;
    for (uint32_t i = 0; i < m->n_blocks; i++) {
        const block_info *bi = &m->blocks_v[i];
        if (bi->t50_ns != SIM_NEVER)
            t50[n50++] = bi->t50_ns;
        if (bi->t90_ns != SIM_NEVER)
            t90[n90++] = bi->t90_ns;
        s->stale_blocks += !main[i];
        if (m->outcomes && rc == PU_OK) {
            outcome_row r = {i, main[i], bi->reached, bi->t50_ns, bi->t90_ns, bi->t100_ns};
            rc = sim_h5_table_append(m->outcomes, &r);
        }
    }
    s->prop50_median_s = quantile_s(t50, n50, 0.5);
    s->prop50_p90_s = quantile_s(t50, n50, 0.9);
    s->prop90_median_s = quantile_s(t90, n90, 0.5);
    s->prop90_p90_s = quantile_s(t90, n90, 0.9);
    s->prop50_blocks = n50;
    s->prop90_blocks = n90;
    s->stale_rate = m->n_blocks ? (double)s->stale_blocks / m->n_blocks : NAN;
    s->main_height = pu_chain_height(best);
    s->mean_interval_s = NAN;
    for (uint32_t h = 1; h <= s->main_height; h++)
        s->pouw_main_blocks += pu_header_is_pouw(pu_block_header(pu_chain_block_at(best, h)));
    s->pouw_block_share = s->main_height ? (double)s->pouw_main_blocks / s->main_height : NAN;
    if (s->main_height)
        s->mean_interval_s = (double)m->blocks_v[*(const uint32_t *)pu_hmap_get(
                                 m->block_idx, pu_chain_tip_hash(best)->b)].mined_ns
                             / 1e9 / s->main_height;
    free(t50);
    free(t90);
    return rc;
}

static pu_err finish_txs(sim_ctx *ctx, const pu_chain *best, sim_summary *s)
{
    sim_metrics *m = ctx->metrics;
    uint64_t n = m->n_created;
    uint64_t *lat = malloc((n + 1) * sizeof *lat);
    if (!lat)
        return PU_ERR_NOMEM;
    size_t k = 0;
    pu_err rc = PU_OK;
    for (uint32_t h = 1; h <= pu_chain_height(best); h++) {
        const pu_block *b = pu_chain_block_at(best, h);
        const uint32_t *bi = pu_hmap_get(m->block_idx, pu_block_hash(b)->b);
        if (!bi)
            continue; /* every block after genesis is recorded when mined */
        uint64_t mined = m->blocks_v[*bi].mined_ns;
        for (uint32_t t = 1; t < pu_block_n_tx(b); t++) {
            const created_info *c = pu_hmap_get(m->created, pu_tx_id(pu_block_tx(b, t))->b);
            if (!c)
                continue;
            lat[k++] = mined - c->t_ns;
            if (m->confs && rc == PU_OK) {
                conf_row r = {c->row, *bi, h, mined, mined - c->t_ns};
                rc = sim_h5_table_append(m->confs, &r);
            }
        }
    }
    s->txs_created = n;
    s->txs_confirmed = k;
    s->conf_median_s = quantile_s(lat, k, 0.5);
    s->conf_p90_s = quantile_s(lat, k, 0.9);
    free(lat);
    return rc;
}

static pu_err summary_attrs(sim_h5 *h, const sim_summary *s)
{
    pu_err rc = sim_h5_attr_u64(h, "/summary", "nodes", s->nodes);
    if (rc == PU_OK) rc = sim_h5_attr_u64(h, "/summary", "blocks_mined", s->blocks_mined);
    if (rc == PU_OK) rc = sim_h5_attr_u64(h, "/summary", "stale_blocks", s->stale_blocks);
    if (rc == PU_OK) rc = sim_h5_attr_f64(h, "/summary", "mean_interval_s", s->mean_interval_s);
    if (rc == PU_OK) rc = sim_h5_attr_f64(h, "/summary", "bytes_per_block", s->bytes_per_block);
    if (rc == PU_OK) rc = sim_h5_attr_u64(h, "/summary", "prop50_blocks", s->prop50_blocks);
    if (rc == PU_OK) rc = sim_h5_attr_u64(h, "/summary", "prop90_blocks", s->prop90_blocks);
    if (rc == PU_OK) rc = sim_h5_attr_f64(h, "/summary", "conf_p90_s", s->conf_p90_s);
    if (rc == PU_OK) rc = sim_h5_attr_u64(h, "/summary", "messages", s->messages);
    if (rc == PU_OK) rc = sim_h5_attr_u64(h, "/summary", "message_bytes", s->message_bytes);
    if (rc == PU_OK) rc = sim_h5_attr_u64(h, "/summary", "mem_bytes_per_node", s->mem_bytes_per_node);
    if (rc == PU_OK) rc = sim_h5_attr_u64(h, "/summary", "main_height", s->main_height);
    if (rc == PU_OK) rc = sim_h5_attr_f64(h, "/summary", "stale_rate", s->stale_rate);
    if (rc == PU_OK) rc = sim_h5_attr_f64(h, "/summary", "prop50_median_s", s->prop50_median_s);
    if (rc == PU_OK) rc = sim_h5_attr_f64(h, "/summary", "prop50_p90_s", s->prop50_p90_s);
    if (rc == PU_OK) rc = sim_h5_attr_f64(h, "/summary", "prop90_median_s", s->prop90_median_s);
    if (rc == PU_OK) rc = sim_h5_attr_f64(h, "/summary", "prop90_p90_s", s->prop90_p90_s);
    if (rc == PU_OK) rc = sim_h5_attr_u64(h, "/summary", "txs_created", s->txs_created);
    if (rc == PU_OK) rc = sim_h5_attr_u64(h, "/summary", "txs_confirmed", s->txs_confirmed);
    if (rc == PU_OK) rc = sim_h5_attr_f64(h, "/summary", "conf_median_s", s->conf_median_s);
    if (rc == PU_OK) rc = sim_h5_attr_u64(h, "/summary", "reorgs", s->reorgs);
    if (rc == PU_OK) rc = sim_h5_attr_u64(h, "/summary", "blocks_refused", s->blocks_refused);
    if (rc == PU_OK) rc = sim_h5_attr_u64(h, "/summary", "reorg_max_depth", s->reorg_max_depth);
    if (rc == PU_OK) rc = sim_h5_attr_u64(h, "/summary", "events", s->events);
    if (rc == PU_OK) rc = sim_h5_attr_u64(h, "/summary", "end_ns", s->end_ns);
    if (rc == PU_OK && s->pouw) {
        rc = sim_h5_attr_u64(h, "/summary", "pouw_blocks", s->pouw_blocks);
        if (rc == PU_OK) rc = sim_h5_attr_u64(h, "/summary", "pouw_iterations", s->pouw_iterations);
        if (rc == PU_OK) rc = sim_h5_attr_u64(h, "/summary", "pouw_verifications", s->pouw_verifications);
        if (rc == PU_OK) rc = sim_h5_attr_u64(h, "/summary", "pouw_verify_failures", s->pouw_verify_failures);
        if (rc == PU_OK) rc = sim_h5_attr_f64(h, "/summary", "pouw_best_accuracy", s->pouw_best_accuracy);
        if (rc == PU_OK) rc = sim_h5_attr_u64(h, "/summary", "pouw_phase_at_end", (uint64_t)s->pouw_phase_at_end);
    }
    return rc;
}

static pu_err finish_counts(sim_ctx *ctx, sim_summary *s)
{
    sim_metrics *m = ctx->metrics;
    pu_err rc = PU_OK;
    uint64_t block_bytes = 0;
    for (int k = 0; k < SIM_MSG_KIND_COUNT; k++) {
        s->messages += ctx->msg_count[k];
        s->message_bytes += ctx->msg_bytes[k];
        if (k <= SIM_MSG_BLOCK_TXN || k == SIM_MSG_POUW_GETDATA || k == SIM_MSG_POUW_DATA)
            block_bytes += ctx->msg_bytes[k];
        if (m->msgs && rc == PU_OK) {
            msg_row r;
            memset(&r, 0, sizeof r);
            snprintf(r.kind, sizeof r.kind, "%s", sim_msg_kind_name(k));
            r.count = ctx->msg_count[k];
            r.bytes = ctx->msg_bytes[k];
            rc = sim_h5_table_append(m->msgs, &r);
        }
    }
    s->bytes_per_block = s->blocks_mined ? (double)block_bytes / (double)s->blocks_mined : NAN;
    for (int k = 0; k < PU_R_COUNT_ && rc == PU_OK; k++) {
        const uint64_t counts[2] = {m->block_refused[k], m->tx_refused[k]};
        for (int o = 0; o < 2 && rc == PU_OK; o++) {
            if (!counts[o])
                continue;
            if (o == 0 && k != PU_R_DUPLICATE_BLOCK && k != PU_R_TIME_TOO_NEW)
                s->blocks_refused += counts[o];
            if (!m->refusals)
                continue;
            refusal_row r;
            memset(&r, 0, sizeof r);
            memcpy(r.object, o ? "tx" : "block", o ? 3 : 6);
            snprintf(r.reason, sizeof r.reason, "%s", pu_reason_str((pu_reason)k));
            r.code = (uint32_t)k;
            r.count = counts[o];
            rc = sim_h5_table_append(m->refusals, &r);
        }
    }
    return rc;
}

pu_err sim_metrics_finish(sim_ctx *ctx, sim_summary *s)
{
    sim_metrics *m = ctx->metrics;
    memset(s, 0, sizeof *s);
    const pu_chain *best = sim_best_chain(ctx);
    uint8_t *main = calloc(m->n_blocks + 1, 1);
    if (!main)
        return PU_ERR_NOMEM;
    for (uint32_t h = 1; h <= pu_chain_height(best); h++) {
        const uint32_t *bi = pu_hmap_get(m->block_idx, pu_block_hash(pu_chain_block_at(best, h))->b);
        if (bi)
            main[*bi] = 1;
    }
    s->nodes = ctx->n;
    s->events = ctx->events;
    s->end_ns = ctx->now;
    s->blocks_mined = m->n_blocks;
    s->reorgs = m->reorgs;
    s->reorg_max_depth = m->reorg_max_depth;
    pu_err rc = finish_blocks(ctx, best, s, main);
    free(main);
    if (rc == PU_OK)
        rc = finish_txs(ctx, best, s);
    /* every node's own ledger state plus its share of what they share */
    size_t mem = pu_chain_shared_bytes(ctx->nodes[0].chain);
    for (uint32_t i = 0; i < ctx->n; i++)
        mem += pu_chain_mem_bytes(ctx->nodes[i].chain);
    s->mem_bytes_per_node = mem / ctx->n + sim_net_bytes_per_node();
    if (rc == PU_OK)
        rc = finish_counts(ctx, s);
    return h5_fail(ctx, rc);
}

/* /summary attributes attack<i>_<figure> of the summary's attacks. */
static pu_err attack_attrs(sim_h5 *h, uint32_t i, const sim_summary_attack *a)
{
    char k[48];
#define ATTR(kind, name, v)                                            \
    (snprintf(k, sizeof k, "attack%u_%s", i, name), sim_h5_attr_##kind(h, "/summary", k, v))
    pu_err rc = ATTR(str, "type", a->type);
    if (rc == PU_OK) rc = ATTR(f64, "share", a->share);
    if (rc == PU_OK) rc = ATTR(f64, "revenue_share", a->revenue_share);
    if (rc == PU_OK) rc = ATTR(f64, "gamma", a->gamma);
    if (rc == PU_OK) rc = ATTR(f64, "expected", a->expected);
    if (rc == PU_OK) rc = ATTR(u64, "attempts", a->attempts);
    if (rc == PU_OK) rc = ATTR(u64, "successes", a->successes);
    if (rc == PU_OK) rc = ATTR(f64, "success_rate", a->success_rate);
    if (rc == PU_OK) rc = ATTR(u64, "loss", (uint64_t)a->loss);
    if (rc == PU_OK) rc = ATTR(u64, "stake_slashed", (uint64_t)a->stake_slashed);
    if (rc == PU_OK) rc = ATTR(u64, "refused", a->refused);
#undef ATTR
    return rc;
}

static pu_err pouw_attrs(sim_h5 *h, const sim_summary *s)
{
    pu_err rc = sim_h5_attr_u64(h, "/summary", "pouw_tasks", s->pouw_tasks);
    if (rc == PU_OK) rc = sim_h5_attr_u64(h, "/summary", "pouw_tasks_settled", s->pouw_tasks_settled);
    if (rc == PU_OK) rc = sim_h5_attr_u64(h, "/summary", "pouw_tasks_dropped", s->pouw_tasks_dropped);
    if (rc == PU_OK) rc = sim_h5_attr_u64(h, "/summary", "pouw_main_blocks", s->pouw_main_blocks);
    if (rc == PU_OK) rc = sim_h5_attr_f64(h, "/summary", "pouw_block_share", s->pouw_block_share);
    if (rc == PU_OK) rc = sim_h5_attr_u64(h, "/summary", "pouw_fetch_samples", s->pouw_fetch_samples);
    if (rc == PU_OK) rc = sim_h5_attr_f64(h, "/summary", "pouw_fetch_bytes_median", s->pouw_fetch_bytes_median);
    if (rc == PU_OK) rc = sim_h5_attr_f64(h, "/summary", "pouw_fetch_bytes_p90", s->pouw_fetch_bytes_p90);
    if (rc == PU_OK) rc = sim_h5_attr_f64(h, "/summary", "pouw_verify_delay_median_s", s->pouw_verify_delay_median_s);
    if (rc == PU_OK) rc = sim_h5_attr_f64(h, "/summary", "pouw_verify_delay_p90_s", s->pouw_verify_delay_p90_s);
    return rc;
}

static pu_err task_attrs(sim_h5 *h, const sim_obs_task *t)
{
    pu_err rc = sim_h5_attr_u64(h, "/tasks", "pouw_blocks_found", t->blocks);
    if (rc == PU_OK) rc = sim_h5_attr_u64(h, "/tasks", "verifications", t->verifications);
    if (rc == PU_OK) rc = sim_h5_attr_u64(h, "/tasks", "verification_failures", t->verify_failures);
    if (rc == PU_OK) rc = sim_h5_attr_u64(h, "/tasks", "phase_at_end", (uint64_t)t->phase);
    return rc;
}

pu_err sim_metrics_close(sim_ctx *ctx, sim_summary *s)
{
    sim_metrics *m = ctx->metrics;
    pu_err rc = ctx->fatal;
    if (m->have_task) {
        s->pouw = true;
        s->pouw_blocks = m->task.blocks;
        s->pouw_iterations = m->task.iterations;
        s->pouw_verifications = m->task.verifications;
        s->pouw_verify_failures = m->task.verify_failures;
        s->pouw_phase_at_end = m->task.phase;
        s->pouw_best_accuracy = m->task.best_accuracy;
        s->pouw_tasks = m->pouw_tasks;
        s->pouw_tasks_settled = m->pouw_settled;
        s->pouw_tasks_dropped = m->pouw_dropped;
        s->pouw_fetch_samples = m->n_v;
        s->pouw_fetch_bytes_median = quantile(m->v_bytes, m->n_v, 0.5);
        s->pouw_fetch_bytes_p90 = quantile(m->v_bytes, m->n_v, 0.9);
        s->pouw_verify_delay_median_s = quantile_s(m->v_delay, m->n_v, 0.5);
        s->pouw_verify_delay_p90_s = quantile_s(m->v_delay, m->n_v, 0.9);
        if (rc == PU_OK && m->h5)
            rc = task_attrs(m->h5, &m->task);
        if (rc == PU_OK && m->h5)
            rc = pouw_attrs(m->h5, s);
    }
    s->n_attacks = m->n_attacks;
    memcpy(s->attacks, m->attacks, sizeof s->attacks);
    if (rc == PU_OK && m->h5)
        rc = summary_attrs(m->h5, s);
    for (uint32_t i = 0; rc == PU_OK && m->h5 && i < s->n_attacks; i++)
        rc = attack_attrs(m->h5, i, &s->attacks[i]);
    if (rc == PU_OK && m->h5)
        rc = sim_h5_attr_u64(m->h5, "/run", "finished", 1);
    if (rc == PU_OK && m->h5) {
        char err[SIM_H5_ERRLEN];
        rc = sim_h5_close(m->h5, err, sizeof err);
        m->h5 = NULL;
        if (rc != PU_OK)
            snprintf(ctx->err, sizeof ctx->err, "HDF5 output: %.200s", err);
    }
    return h5_fail(ctx, rc);
}
