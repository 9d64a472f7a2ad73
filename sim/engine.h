/* sim/engine.h -- the context of one run and the services every part of the
 * simulator uses: simulated time, the event queue, failure, the listeners
 * (sim/observe.h) and the hooks through which the engine asks the roles what
 * it does not know.  Internal to sim/; nothing outside sim/ includes it.
 *
 * Dependency direction (the layer list in the Makefile, `make check-layers`):
 * this header and the node protocol form the engine layer; miners and the
 * wallet workload act on nodes above it, PoUW roles and adversaries above
 * those, metrics listens above them all and sim.c assembles a run at the
 * top.  The context holds pointers to those higher parts only as opaque
 * handles owned by the run (sim.c); a lower layer never calls into them --
 * it reports an event or asks a hook. */
#ifndef SIM_ENGINE_H
#define SIM_ENGINE_H

#include "core/chain.h"
#include "core/store.h"
#include "sim/evq.h"
#include "sim/latency.h"
#include "sim/net.h"
#include "sim/node.h"
#include "sim/observe.h"
#include "sim/params.h"
#include "sim/rng.h"
#include "sim/summary.h"
#include "sim/topo.h"
#include "sim/txflood.h"

/* Event types of the queue. */
enum {
    SIM_EV_DELIVER = 1, /* a message reached its receiver: data = sim_msg */
    SIM_EV_PROCESS,     /* the receiver's CPU finished checking it: data = sim_msg */
    SIM_EV_MINE,        /* a miner found a block: node = miner's node, arg = generation */
    SIM_EV_TXGEN,       /* the workload submits its next transaction */
    SIM_EV_TIMELINE,    /* arg = index into params->timeline */
    SIM_EV_SAMPLE,      /* periodic time series sample */
    SIM_EV_TIMER,       /* behaviour timer: node, arg */
    SIM_EV_TRICKLE,     /* a node announces its queued transactions */
    SIM_EV_POUW,        /* PoUW role timers: node, arg (sim/pouw.c) */
    SIM_EV_END,         /* the run's simulated end */
    SIM_EV_ADVERSARY,   /* node = adversary index, arg = start/stop/timer (sim/adversary) */
    SIM_EV_FLOOD,       /* a flooding transaction reaches a node keeping a mempool: node, data = pu_tx */
};

/* "Did not happen" in time columns. */
#define SIM_NEVER UINT64_MAX

typedef struct sim_ctx sim_ctx;
typedef struct sim_mining sim_mining;
typedef struct sim_wallets sim_wallets;
typedef struct sim_metrics sim_metrics;
typedef struct sim_pouw sim_pouw;
typedef struct sim_trace sim_trace;
typedef struct sim_adversaries sim_adversaries;

/** Questions the engine asks the roles (set by sim/pouw when consensus is
 * pouw; every member may be NULL). */
typedef struct sim_hooks {
    /** Simulated CPU to verify the role-specific work of b (0: none). */
    uint64_t (*verify_cost)(void *self, const pu_block *b);
    /** Transactions the rules call for in a block nd builds now (borrowed
     * references valid until the next call); returns the count (<= max). */
    size_t (*block_extras)(void *self, sim_ctx *ctx, sim_node *nd, pu_tx **out, size_t max);
    /** A SIM_MSG_TASK, POUW_GETDATA or POUW_DATA message finished its CPU
     * check at nd. */
    void (*task_message)(void *self, sim_ctx *ctx, sim_node *nd, const sim_msg *m);
    /** A message reached nd: true if the roles keep it back until what its
     * check needs has arrived (they own it then, and deliver it again with
     * m->resumed set, which skips this question). */
    bool (*hold)(void *self, sim_ctx *ctx, sim_node *nd, sim_msg *m);
    /** Extra delay before nd's proof-of-work miner starts on its tip. */
    uint64_t (*mining_delay)(void *self, sim_ctx *ctx, const sim_node *nd);
    void *self;
} sim_hooks;

/** What a link filter makes of a message about to be sent (eclipse and
 * routing attacks sit on links). */
typedef enum sim_link_verdict {
    SIM_LINK_PASS = 0,        /* sent as usual */
    SIM_LINK_DROP,            /* lost on its link: never arrives (no bandwidth used) */
    SIM_LINK_DELAY,           /* arrives *extra_ns later than the network alone says */
} sim_link_verdict;

typedef struct sim_link_filter {
    sim_link_verdict (*fn)(void *self, sim_ctx *ctx, const sim_msg *m, uint64_t *extra_ns);
    void *self;
} sim_link_filter;

struct sim_ctx {
    const sim_params *p;
    const char *scenario_text;
    char *params_dump;
    sim_run_hooks hooks;
    pu_crypto *crypto;
    pu_sigcache *sigcache;
    pu_valcache *valcache;
    pu_params cp;             /* chain params of every node */
    const pu_rules *rules;    /* chain rules of every node (PoUW), or NULL */
    uint8_t tie_break;        /* PU_TIE_* of every node's chain (chain.tie_break) */
    sim_hooks ask;
    sim_rng_root root;
    sim_evq *evq;
    uint64_t now;             /* simulated ns */
    uint64_t end_ns;
    sim_topo *topo;
    sim_latency *lat;
    sim_net *net;
    uint32_t n;
    sim_node *nodes;
    sim_observers *obs;
    sim_link_filter *filters; /* asked about every message, in order (sim_add_link_filter) */
    uint32_t n_filters;
    sim_txflood *flood;       /* network.tx_model flood, else NULL */
    uint32_t *keepers;        /* flood: nodes keeping a real mempool */
    uint32_t n_keepers;
    /* the run's parts above the engine (opaque here; owned by sim.c) */
    sim_mining *mining;
    sim_wallets *wallets;
    sim_metrics *metrics;
    sim_pouw *pouw;
    sim_trace *trace;         /* /trace tables, or NULL (output.messages, output.tx_lifecycle) */
    sim_adversaries *adversaries;
    pu_block *genesis;
    pu_store *store;          /* SQLite ledger of one node (--db), or NULL */
    double tx_rate;           /* current workload rate, tx/s */
    sim_rng misc_rng;
    uint64_t events;
    uint64_t blocks_mined;
    uint64_t msg_count[SIM_MSG_KIND_COUNT], msg_bytes[SIM_MSG_KIND_COUNT];
    uint64_t msg_seq;         /* messages handed to the network so far, sent or not */
    bool stop;
    pu_err fatal;             /* first internal failure: stops the run */
    bool fatal_input;         /* ... caused by a scenario value (sim_fail_key) */
    char err[256];
};

/** Record the first internal failure and stop the run. */
void sim_fail(sim_ctx *ctx, pu_err rc, const char *what);
/** Record the first failure as caused by the value of scenario key `key`
 * (e.g. "chain.block_reward"): ctx->err becomes "FILE:LINE:COL: error: KEY:
 * why" at the position the key was given (sim_params_diag_at), and the run
 * reports it as input (sim_failed_on_input). */
void sim_fail_key(sim_ctx *ctx, pu_err rc, const char *key, const char *why);
/** Queue an event; a failure is also recorded with sim_fail. */
pu_err sim_schedule(sim_ctx *ctx, uint64_t at_ns, uint32_t type, uint32_t node, uint64_t arg,
                    void *data, sim_evq_id *id);
uint64_t sim_now_s(const sim_ctx *ctx);

/** Add a link filter after the existing ones; every message sent from now
 * on is shown to each filter in order (the first drop wins; delays add up).
 * PU_ERR_NOMEM. */
PU_NODISCARD pu_err sim_add_link_filter(sim_ctx *ctx, const sim_link_filter *f);

/** Tell the run's listeners. */
static inline void sim_observe(sim_ctx *ctx, const sim_obs *ev)
{
    sim_observers_emit(ctx->obs, ctx, ev);
}

#endif
