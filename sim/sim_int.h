/* sim/sim_int.h -- internals shared by the simulator's core modules
 * (sim.c, node.c, mining.c, wallet.c, metrics.c, and the behaviours that
 * plug into nodes).  Nothing outside sim/ includes this header. */
#ifndef SIM_SIM_INT_H
#define SIM_SIM_INT_H

#include "core/chain.h"
#include "core/hmap.h"
#include "core/store.h"
#include "sim/evq.h"
#include "sim/latency.h"
#include "sim/net.h"
#include "sim/node.h"
#include "sim/params.h"
#include "sim/pouw.h"
#include "sim/rng.h"
#include "sim/sim.h"
#include "sim/topo.h"

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
};

/* "Did not happen" in time columns. */
#define SIM_NEVER UINT64_MAX

/* Envelope of every message on the wire (Bitcoin's is 24 bytes too). */
#define SIM_MSG_HEADER 24u
/* A requested block that has not arrived after this long may be asked of
 * another peer that announces it. */
#define SIM_INFLIGHT_TIMEOUT_NS UINT64_C(5000000000)
/* Headers per CHAIN_STATUS answer (Bitcoin: 2000). */
#define SIM_SYNC_MAX_HEADERS 2000u
#define SIM_LOCATOR_MAX 32u

typedef struct sim_msg {
    uint8_t kind;        /* sim_msg_kind */
    uint32_t from, to;
    uint64_t size;       /* bytes on the wire, envelope included */
    uint64_t sent_ns;
    pu_block *block;     /* BLOCK_DATA, CMPCT_BLOCK, BLOCK_TXN (reference held) */
    pu_tx *tx;           /* NEW_TRANSACTION (reference held) */
    pu_hash32 hash;      /* NEW_BLOCK, single REQUEST_BLOCK, GET_BLOCK_TXN */
    uint32_t count;      /* entries of `items` */
    void *items;         /* pu_hash32[] (REQUEST_BLOCK, CHAIN_SYNC, CHAIN_STATUS, TX_INV,
                          * GET_TX) or pu_tx*[] (MEMPOOL_STATE, TX_DATA; references held) */
    uint64_t app;        /* behaviour-defined (PoUW task messages) */
} sim_msg;

struct sim_node {
    sim_ctx *ctx;             /* back pointer for chain observer callbacks */
    uint32_t id;
    uint32_t cur_from;        /* sender of the block being added (relay skips it) */
    bool online;
    bool is_miner;
    uint32_t miner;           /* index into ctx->miners when is_miner */
    pu_chain *chain;
    uint64_t cpu_free_ns;     /* when this node's CPU is next idle */
    pu_hmap *inflight;        /* block hash -> inflight_entry */
    const sim_behavior *beh;
    void *beh_state;
    uint64_t msgs_in, bytes_in;
    sim_rng rng;              /* this node's own draws (trickle delays) */
    pu_tx **ann;              /* transactions to announce at the next trickle */
    uint32_t *ann_from;       /* the peer each came from (not told again) */
    uint32_t n_ann, cap_ann;
    bool trickle_pending;
    pu_hmap *tx_inflight;     /* txid -> u64 time it was requested */
    pu_hmap *charged;         /* blocks whose validation CPU time is already charged */
};

typedef struct inflight_entry {
    uint64_t since_ns;
    uint32_t peer;
} inflight_entry;

typedef struct sim_miner {
    uint32_t node;
    double hashrate;          /* expected hashes per second (scaled units) */
    sim_evq_id ev;            /* pending SIM_EV_MINE, or SIM_EVQ_NO_ID */
    uint64_t generation;      /* bumps on every reschedule */
    sim_rng rng;
    uint64_t found;
} sim_miner;

/* What the metrics know of every block ever mined in the run. */
typedef struct sim_block_info {
    pu_block *block;          /* reference held */
    uint32_t miner_node;
    uint32_t height;
    uint64_t mined_ns;
    uint32_t reached;         /* nodes that stored it */
    uint64_t t50_ns, t90_ns, t100_ns; /* delay until 50/90/100 % of nodes had it; SIM_NEVER = never */
} sim_block_info;

typedef struct sim_wallets sim_wallets;
typedef struct sim_metrics sim_metrics;

struct sim_ctx {
    const sim_params *p;
    const char *scenario_text;
    char *params_dump;
    sim_run_hooks hooks;
    pu_crypto *crypto;
    pu_sigcache *sigcache;
    pu_valcache *valcache;
    pu_params cp;             /* chain params of every node */
    sim_rng_root root;
    sim_evq *evq;
    uint64_t now;             /* simulated ns */
    uint64_t end_ns;
    sim_topo *topo;
    sim_latency *lat;
    sim_net *net;
    uint32_t n;
    sim_node *nodes;
    uint32_t n_miners;
    sim_miner *miners;
    double total_hashrate0;   /* at start: pow_hashes_per_block / interval */
    sim_wallets *wallets;
    pu_block *genesis;
    sim_metrics *metrics;
    pu_store *store;          /* SQLite ledger of one node (--db), or NULL */
    sim_pouw *pouw;           /* consensus pouw: roles and task life cycle */
    pu_hmap *block_idx;       /* block hash -> u32 index into blocks */
    sim_block_info *blocks;
    uint32_t n_blocks, cap_blocks;
    double tx_rate;           /* current workload rate, tx/s */
    sim_rng misc_rng;
    uint64_t events;
    uint64_t blocks_mined;
    uint64_t msg_count[SIM_MSG_KIND_COUNT], msg_bytes[SIM_MSG_KIND_COUNT];
    uint64_t reorgs, reorg_max_depth;
    uint64_t block_refused[PU_R_COUNT_], tx_refused[PU_R_COUNT_]; /* by pu_reason, all nodes */
    bool stop;
    bool mining_over;         /* stop_after_blocks reached */
    pu_err fatal;             /* first internal failure: stops the run */
    char err[256];
};

/* sim.c */
void sim_fail(sim_ctx *ctx, pu_err rc, const char *what);
pu_err sim_schedule(sim_ctx *ctx, uint64_t at_ns, uint32_t type, uint32_t node, uint64_t arg,
                    void *data, sim_evq_id *id);
uint64_t sim_now_s(const sim_ctx *ctx);

/* node.c */
pu_err sim_node_init(sim_ctx *ctx, sim_node *nd, uint32_t id);
void sim_node_release(sim_node *nd);
void sim_node_deliver(sim_ctx *ctx, sim_msg *m);
void sim_node_process(sim_ctx *ctx, sim_msg *m);
void sim_msg_free(sim_msg *m);
/** Called by sim.c when a node comes back online or a partition heals. */
void sim_node_sync(sim_ctx *ctx, sim_node *nd, bool with_mempool);
void sim_node_trickle(sim_ctx *ctx, sim_node *nd);
/** Hand a complete message (size set) to the network. */
void sim_node_send(sim_ctx *ctx, sim_msg *m);

/* mining.c */
pu_err sim_mining_init(sim_ctx *ctx);
void sim_mining_reschedule(sim_ctx *ctx, sim_node *nd);
void sim_mining_fire(sim_ctx *ctx, const sim_event *ev);
void sim_mining_stop(sim_ctx *ctx, sim_node *nd);
void sim_mining_set_share(sim_ctx *ctx, uint32_t miner, double share);
/** A finalized block found by nd (PoW or PoUW): recorded, then handed to the
 * node's behaviour. */
void sim_block_found(sim_ctx *ctx, sim_node *nd, pu_block *b);

/* wallet.c */
pu_err sim_wallets_new(sim_ctx *ctx, sim_wallets **out);
void sim_wallets_free(sim_wallets *w);
/** Genesis coinbase transactions funding every wallet. */
pu_err sim_wallets_genesis(sim_ctx *ctx, sim_wallets *w, pu_block *genesis);
void sim_wallets_fire(sim_ctx *ctx);
void sim_wallets_schedule(sim_ctx *ctx);
/** Creation time of a workload transaction (for confirmation latency). */
bool sim_wallets_created(const sim_wallets *w, const pu_hash32 *txid, uint64_t *t_ns,
                         uint64_t *row);
uint64_t sim_wallets_n_created(const sim_wallets *w);

/* metrics.c */
pu_err sim_metrics_new(sim_ctx *ctx, const char *path, sim_metrics **out);
void sim_metrics_free(sim_metrics *m);
pu_err sim_metrics_block_mined(sim_ctx *ctx, pu_block *b, uint32_t node, uint32_t *idx);
void sim_metrics_block_stored(sim_ctx *ctx, const pu_block *b, uint32_t node);
void sim_metrics_reorg(sim_ctx *ctx, uint32_t node, const pu_add_result *res);
void sim_metrics_tx_created(sim_ctx *ctx, const pu_tx *tx, uint32_t node, uint32_t wallet,
                            bool accepted);
void sim_metrics_sample(sim_ctx *ctx);
pu_err sim_metrics_checkpoint(sim_ctx *ctx);
pu_err sim_metrics_finish(sim_ctx *ctx, sim_summary *sum);
/** The run's HDF5 file (NULL when there is none), for other modules' tables. */
struct sim_h5 *sim_metrics_h5(sim_metrics *m);
/** The reference chain: the node with the most work, lowest id on ties. */
const pu_chain *sim_best_chain(const sim_ctx *ctx);

#endif
