/* sim/node.h -- simulated nodes: message kinds and the behaviour interface.
 *
 * Every node runs the real ledger (core/chain) and the protocol of PROTOCOL.md s8.
 * What a node *does* -- on each processed message, on each block its miner
 * finds, when its tip changes -- goes through a sim_behavior, so adversarial
 * strategies (selfish mining, eclipse, ...) and PoUW roles plug in without
 * touching the engine.  A behaviour can call the honest defaults
 * (sim_node_default_*) for whatever it does not change. */
#ifndef SIM_NODE_H
#define SIM_NODE_H

#include "core/block.h"
#include "core/chain.h"
#include "core/hmap.h"
#include "sim/rng.h"

typedef enum sim_msg_kind {
    SIM_MSG_NEW_BLOCK = 0,   /* announce a block hash (announce policy) */
    SIM_MSG_REQUEST_BLOCK,   /* ask for blocks by hash */
    SIM_MSG_BLOCK_DATA,      /* a full block */
    SIM_MSG_CMPCT_BLOCK,     /* header + short ids + coinbase (compact policy) */
    SIM_MSG_GET_BLOCK_TXN,   /* the transactions a compact block lacked */
    SIM_MSG_BLOCK_TXN,
    SIM_MSG_NEW_TRANSACTION, /* a full transaction */
    SIM_MSG_REQUEST_MEMPOOL,
    SIM_MSG_MEMPOOL_STATE,
    SIM_MSG_CHAIN_SYNC,      /* block locator */
    SIM_MSG_CHAIN_STATUS,    /* headers after the fork point */
    SIM_MSG_TX_INV,          /* txids a peer newly accepted (announce tx relay) */
    SIM_MSG_GET_TX,          /* the announced transactions a node lacks */
    SIM_MSG_TX_DATA,         /* those transactions */
    SIM_MSG_TASK,            /* PoUW task-group traffic (iteration messages, ...) */
    SIM_MSG_POUW_GETDATA,    /* ask for the objects a PoUW block's check needs */
    SIM_MSG_POUW_DATA,       /* those objects (model states, residuals, updates) */
    SIM_MSG_KIND_COUNT
} sim_msg_kind;

/** Stable lower-case name ("new_block", ...). */
const char *sim_msg_kind_name(int kind);

typedef struct sim_ctx sim_ctx;
typedef struct sim_node sim_node;
typedef struct sim_msg sim_msg;
typedef struct sim_behavior sim_behavior;

/* Envelope of every message on the wire (Bitcoin's is 24 bytes too). */
#define SIM_MSG_HEADER 24u
/* A requested block that has not arrived after this long may be asked of
 * another peer that announces it. */
#define SIM_INFLIGHT_TIMEOUT_NS UINT64_C(5000000000)
/* Headers per CHAIN_STATUS answer (Bitcoin: 2000). */
#define SIM_SYNC_MAX_HEADERS 2000u
#define SIM_LOCATOR_MAX 32u
/* Most high-bandwidth compact-block peers of a node (network.compact_hb_peers;
 * BIP152 uses 3). */
#define SIM_HB_MAX 8u

struct sim_msg {
    uint8_t kind;        /* sim_msg_kind */
    uint32_t from, to;
    uint64_t size;       /* bytes on the wire, envelope included */
    uint64_t sent_ns;
    uint64_t seq;        /* number in sending order (sim_ctx.msg_seq) */
    pu_block *block;     /* BLOCK_DATA, CMPCT_BLOCK, BLOCK_TXN (reference held) */
    pu_tx *tx;           /* NEW_TRANSACTION (reference held) */
    pu_hash32 hash;      /* NEW_BLOCK, single REQUEST_BLOCK, GET_BLOCK_TXN */
    uint32_t count;      /* entries of `items` */
    void *items;         /* pu_hash32[] (REQUEST_BLOCK, CHAIN_SYNC, CHAIN_STATUS, TX_INV,
                          * GET_TX) or pu_tx*[] (MEMPOOL_STATE, TX_DATA; references held) */
    uint64_t app;        /* behaviour-defined (PoUW task messages) */
    bool resumed;        /* delivered again after the roles held it (sim_hooks.hold) */
    bool queued;         /* counted in the receiver's buffer for the sender */
};

/* One simulated node.  Fields are the engine's; behaviours read them (id,
 * chain, online) and change them only through the functions below. */
typedef struct sim_peer_bytes {
    uint32_t from;
    uint64_t bytes;
} sim_peer_bytes;

struct sim_node {
    sim_ctx *ctx;             /* back pointer for chain observer callbacks */
    uint32_t id;
    uint32_t cur_from;        /* sender of the block being added (relay skips it) */
    bool online;
    uint32_t chain_idx;       /* pu_chain_index(chain): its bit in block records */
    pu_chain *chain;
    uint64_t cpu_free_ns;     /* when this node's CPU is next idle */
    pu_hmap *inflight;        /* block hash -> sim_inflight */
    const sim_behavior *beh;
    void *beh_state;
    sim_rng rng;              /* this node's own draws (trickle delays) */
    pu_tx **ann;              /* transactions to announce at the next trickle */
    uint32_t *ann_from;       /* the peer each came from (not told again) */
    uint32_t n_ann, cap_ann;
    bool trickle_pending;
    bool relay_all;           /* relay every block stored now (sim_node_publish_block) */
    bool lazy;                /* its rules do not re-execute PoUW work: not charged for it */
    pu_hmap *tx_inflight;     /* txid -> u64 time it was requested */
    pu_hmap *charged;         /* blocks whose validation CPU time is already charged */
    struct sim_peer_bytes *pending; /* senders with bytes on their way here or waiting
                               * for the CPU (network.peer_buffer), unordered */
    uint32_t n_pending, cap_pending;
    uint64_t peer_peak;       /* most such bytes from one sender, ever */
    bool keeps_mempool;       /* tx_model flood: it builds blocks, so its mempool is real */
    uint32_t hb[SIM_HB_MAX];  /* compact_hb_peers > 0: the peers that push it compact
                               * blocks, the most recent first deliverer first */
    uint32_t n_hb;
};

typedef struct sim_inflight {
    uint64_t since_ns;
    uint32_t peer;
} sim_inflight;

struct sim_behavior {
    const char *name;
    /** A message finished its CPU check at this node. */
    void (*on_message)(sim_ctx *ctx, sim_node *nd, const sim_msg *m);
    /** This node's miner found b (already finalized, not yet added). */
    void (*on_block_found)(sim_ctx *ctx, sim_node *nd, pu_block *b);
    /** A behaviour timer (sim_node_set_timer) fired. */
    void (*on_timer)(sim_ctx *ctx, sim_node *nd, uint64_t arg);
    /** The chain this node's miner builds on (a private branch, for
     * instance); NULL, or a NULL result: the node's own chain.  A behaviour
     * whose mining chain changes tip calls sim_mining_reschedule. */
    pu_chain *(*mining_chain)(sim_ctx *ctx, sim_node *nd);
};

/** The honest protocol. */
extern const sim_behavior sim_behavior_honest;

void sim_node_default_message(sim_ctx *ctx, sim_node *nd, const sim_msg *m);
void sim_node_default_block_found(sim_ctx *ctx, sim_node *nd, pu_block *b);
/** The honest protocol sets no timers: nothing to do. */
void sim_node_default_timer(sim_ctx *ctx, sim_node *nd, uint64_t arg);

/** Offer a block to the node's chain as if received from `from` (UINT32_MAX
 * for its own); relays it per the relay policy when stored.  Returns the
 * add result reason. */
int sim_node_accept_block(sim_ctx *ctx, sim_node *nd, pu_block *b, uint32_t from);
/** Offer a block of this node's own (one it withheld, say) to its chain and
 * relay it to every neighbour however old it is (sim_node_accept_block
 * relays only blocks near the tip).  Returns the add result reason. */
int sim_node_publish_block(sim_ctx *ctx, sim_node *nd, pu_block *b);
/** The chain nd's miner builds on (see sim_behavior.mining_chain). */
pu_chain *sim_node_mining_chain(sim_ctx *ctx, sim_node *nd);
/** Relay a stored block to every neighbour but `except`. */
void sim_node_relay_block(sim_ctx *ctx, sim_node *nd, pu_block *b, uint32_t except);
/** Send a message of `kind` carrying block/tx/hash to one peer (sizes are
 * computed from the contents). */
void sim_node_send_block(sim_ctx *ctx, sim_node *nd, uint32_t to, int kind, pu_block *b);
/** Send tx to one peer as a NEW_TRANSACTION message of `size` bytes (0: its
 * real size; a larger size is refused by the receiver as oversized). */
void sim_node_send_tx(sim_ctx *ctx, sim_node *nd, uint32_t to, pu_tx *tx, uint64_t size);
/** A transaction created at this node (a wallet's): into its mempool and,
 * if accepted, gossiped to its neighbours.  Returns whether it was accepted. */
bool sim_node_submit_tx(sim_ctx *ctx, sim_node *nd, pu_tx *tx);
void sim_node_set_timer(sim_ctx *ctx, sim_node *nd, uint64_t at_ns, uint64_t arg);
/** Under network.tx_model flood, nd builds blocks and keeps a real mempool
 * (transactions enter it at their flood arrival times); every other node's
 * mempool is implicit (sim/txflood.h).  No effect in the messages model,
 * where every mempool is real. */
void sim_node_keep_mempool(sim_ctx *ctx, sim_node *nd);
/** Transactions in nd's mempool now (real or implicit). */
uint64_t sim_node_mempool_size(sim_ctx *ctx, const sim_node *nd);
/** A flooding transaction reached nd, which keeps a mempool (SIM_EV_FLOOD). */
void sim_node_flood_arrival(sim_ctx *ctx, sim_node *nd, pu_tx *tx);
/** A finalized block found at nd (by its PoW miner or from PoUW work):
 * reported (SIM_OBS_BLOCK_MINED), then handed to the node's behaviour. */
void sim_node_block_found(sim_ctx *ctx, sim_node *nd, pu_block *b);

/* ---- the engine's side (sim.c and the event loop) ---- */
PU_NODISCARD pu_err sim_node_init(sim_ctx *ctx, sim_node *nd, uint32_t id);
/** Before the run: rebuild nd's chain (still at genesis) with other rules
 * and block records of its own (shared records belong to one set of rules:
 * core/valcache.h).  lazy: its rules do not re-execute PoUW work (a lazy
 * verifier, sim/adversary/lazy_verifier.c), so that CPU is not charged.
 * PU_ERR_STATE once the chain has grown; errors of pu_chain_new. */
PU_NODISCARD pu_err sim_node_set_rules(sim_ctx *ctx, sim_node *nd, const pu_rules *rules, bool lazy);
void sim_node_release(sim_node *nd);
void sim_node_deliver(sim_ctx *ctx, sim_msg *m);
void sim_node_process(sim_ctx *ctx, sim_msg *m);
void sim_msg_free(sim_msg *m);
/** Catch up with the neighbours (headers first), and ask one of them for its
 * mempool: when a node comes back online or a partition heals. */
void sim_node_sync(sim_ctx *ctx, sim_node *nd, bool with_mempool);
void sim_node_trickle(sim_ctx *ctx, sim_node *nd);
/** Hand a complete message (size set) to the network. */
void sim_node_send(sim_ctx *ctx, sim_msg *m);
/** The reference chain: the node with the most work, lowest id on ties. */
const pu_chain *sim_best_chain(const sim_ctx *ctx);

#endif
