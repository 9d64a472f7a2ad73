/* sim/node.h -- simulated nodes: message kinds and the behaviour interface.
 *
 * Every node runs the real ledger (core/chain) and the protocol of SPEC s8.
 * What a node *does* -- on each processed message, on each block its miner
 * finds, when its tip changes -- goes through a sim_behavior, so adversarial
 * strategies (selfish mining, eclipse, ...) and PoUW roles plug in without
 * touching the engine.  A behaviour can call the honest defaults
 * (sim_node_default_*) for whatever it does not change. */
#ifndef SIM_NODE_H
#define SIM_NODE_H

#include "core/block.h"

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
    SIM_MSG_KIND_COUNT
} sim_msg_kind;

/** Stable lower-case name ("new_block", ...). */
const char *sim_msg_kind_name(int kind);

typedef struct sim_ctx sim_ctx;
typedef struct sim_node sim_node;
typedef struct sim_msg sim_msg;

typedef struct sim_behavior {
    const char *name;
    /** A message finished its CPU check at this node. */
    void (*on_message)(sim_ctx *ctx, sim_node *nd, const sim_msg *m);
    /** This node's miner found b (already finalized, not yet added). */
    void (*on_block_found)(sim_ctx *ctx, sim_node *nd, pu_block *b);
    /** A behaviour timer (sim_node_set_timer) fired. */
    void (*on_timer)(sim_ctx *ctx, sim_node *nd, uint64_t arg);
} sim_behavior;

/** The honest protocol. */
extern const sim_behavior sim_behavior_honest;

void sim_node_default_message(sim_ctx *ctx, sim_node *nd, const sim_msg *m);
void sim_node_default_block_found(sim_ctx *ctx, sim_node *nd, pu_block *b);

/** Offer a block to the node's chain as if received from `from` (UINT32_MAX
 * for its own); relays it per the relay policy when stored.  Returns the
 * add result reason. */
int sim_node_accept_block(sim_ctx *ctx, sim_node *nd, pu_block *b, uint32_t from);
/** Relay a stored block to every neighbour but `except`. */
void sim_node_relay_block(sim_ctx *ctx, sim_node *nd, pu_block *b, uint32_t except);
/** Send a message of `kind` carrying block/tx/hash to one peer (sizes are
 * computed from the contents). */
void sim_node_send_block(sim_ctx *ctx, sim_node *nd, uint32_t to, int kind, pu_block *b);
/** A transaction created at this node (a wallet's): into its mempool and,
 * if accepted, gossiped to its neighbours.  Returns whether it was accepted. */
bool sim_node_submit_tx(sim_ctx *ctx, sim_node *nd, pu_tx *tx);
void sim_node_set_timer(sim_ctx *ctx, sim_node *nd, uint64_t at_ns, uint64_t arg);

#endif
