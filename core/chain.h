/* core/chain.h -- one node's view of the ledger: block tree, fork choice,
 * UTXO set, mempool, and the add_block / add_tx pipelines (PROTOCOL.md s2-s3).
 *
 * A chain knows nothing of simulated time or networks: callers pass the
 * node's clock (seconds) where a rule needs it.  Many chains live in one
 * process and share immutable blocks/transactions and the caches they are
 * given (signature cache, block verdict cache).
 *
 * add_block order of checks (each failure its own pu_reason):
 *   duplicate; size; hash meets its own target (cheap, before anything is
 *   stored); merkle root; exactly one coinbase and context-free transaction
 *   checks; parent known (else the block waits in the bounded orphan pool and
 *   the caller should request the missing ancestor); parent not invalid;
 *   target equals the difficulty rule; timestamp > median-time-past and not
 *   too far in the future of the receiver's clock; then, when the block's
 *   branch becomes the best by cumulative work, full validation against the
 *   parent's UTXO set (coinbase height, inputs, signatures, no double spend in
 *   the block, coinbase <= reward + fees, PoUW rules hook).
 * Fork choice: most cumulative work; on equal work the first seen stays
 * (pu_chain_set_tie_break PU_TIE_RANDOM: the tip ranking first under the
 * chain's salt, a random choice per chain; see below).
 *
 * Connect once: everything above that depends only on a block and its
 * ancestry -- height, work, median time past, the target its children need,
 * the verdict of full validation, and the UTXO state after it -- lives in
 * the shared core/valcache, computed by the first chain that needs it.
 * Connecting a block another chain already validated moves this chain's
 * UTXO view to the shared state in O(1); every chain still refuses exactly
 * what it would refuse alone.  A chain's own memory is its view of the tree
 * (which blocks it knows, first-seen order, its active branch), its mempool
 * and its orphans.
 *
 * add_tx (mempool) order: context-free checks; duplicate; coinbase or
 * settlement outside a block; inputs exist, are mature, are not locks, keys
 * match, not spent by another mempool entry; no inflation; mempool full unless
 * the fee rate beats the lowest entry (which is evicted); minimum fee;
 * signatures; kind rules.  (The seed's description checks signatures before
 * the inputs; here the fee and the inflation check need the inputs' amounts,
 * and the expensive signature check goes last so that cheap failures stay
 * cheap: PROTOCOL.md s2.3.) */
#ifndef PU_CHAIN_H
#define PU_CHAIN_H

#include "core/block.h"
#include "core/mempool.h"
#include "core/params.h"
#include "core/sigcache.h"
#include "core/undo.h"
#include "core/utxo.h"
#include "core/valcache.h"

typedef struct pu_chain pu_chain;

/** Hooks for rules core/chain does not know (PoUW, PROTOCOL.md s5-s7).  Each must
 * be a pure function of the chain state it is shown and the object checked,
 * because verdicts are shared between nodes through the valcache. */
typedef struct pu_rules {
    /** Extra checks of a PAY_FOR_TASK, BUY_TICKETS or SETTLEMENT transaction,
     * or any transaction carrying an OP_RETURN, at the given spend height. */
    pu_reason (*check_tx)(void *ctx, const pu_chain *chain, const pu_tx *tx, uint32_t height);
    /** Checks of a whole block (ML work of a PoUW header) on top of the
     * chain's current tip (its parent). */
    pu_reason (*check_block)(void *ctx, const pu_chain *chain, const pu_block *b, uint32_t height);
    void *ctx;
} pu_rules;

/** Why a transaction left the mempool (pu_chain_observer.tx_removed). */
typedef enum pu_mempool_exit {
    PU_MEMPOOL_CONFIRMED = 1, /* a connected block holds it */
    PU_MEMPOOL_CONFLICT = 2,  /* a connected block spends one of its inputs */
    PU_MEMPOOL_EVICTED = 3,   /* full: a transaction of higher fee rate took its place */
    PU_MEMPOOL_INVALID = 4,   /* after a reorganisation an input is gone or immature */
    PU_MEMPOOL_EXPIRED = 5,   /* the rules no longer accept it (registration closed, ...) */
} pu_mempool_exit;

/** Notified of every change, e.g. by core/store to persist it.  begin/commit
 * bracket each tip update (one block or a whole reorganisation).  Any
 * member may be NULL.  tx_added: tx entered the mempool (with its fee);
 * tx_removed: tx is about to leave it (still a member during the call),
 * why a pu_mempool_exit.  Transactions of a block connected without having
 * been in the mempool cause no mempool call. */
typedef struct pu_chain_observer {
    void (*block_stored)(void *ctx, const pu_block *b, uint32_t height);
    void (*begin)(void *ctx);
    void (*connected)(void *ctx, const pu_block *b, uint32_t height, const pu_undo *undo);
    void (*disconnected)(void *ctx, const pu_block *b, uint32_t height, const pu_undo *undo);
    void (*commit)(void *ctx);
    void (*tx_added)(void *ctx, const pu_tx *tx, pu_amount fee);
    void (*tx_removed)(void *ctx, const pu_tx *tx, pu_mempool_exit why);
    void *ctx;
} pu_chain_observer;

/* Fork choice between tips of equal work, a node's policy rather than a
 * consensus rule.  PU_TIE_FIRST_SEEN keeps the branch seen first (Bitcoin,
 * PROTOCOL.md s3).  PU_TIE_RANDOM prefers the tip whose hash ranks first under the
 * chain's salt: a uniform random choice per chain that does not depend on
 * arrival order (Eyal and Sirer's countermeasure to selfish mining, under
 * which half the honest miners follow either branch of a tie). */
enum { PU_TIE_FIRST_SEEN = 0, PU_TIE_RANDOM = 1 };

typedef struct pu_chain_opts {
    const pu_params *params;   /* copied */
    pu_crypto *crypto;         /* borrowed; outlives the chain */
    pu_sigcache *sigcache;     /* borrowed, shared; may be NULL */
    pu_valcache *valcache;     /* borrowed, shared (records, verdicts, UTXO states);
                                * NULL: the chain keeps a private one */
    const pu_rules *rules;     /* borrowed; may be NULL (PoUW blocks then fail) */
} pu_chain_opts;

/** A chain holding only the genesis block (connected without checks other
 * than its own structure: its coinbase may allocate any initial funds, and
 * its outputs are spendable at once).  PU_ERR_STATE when opts->valcache
 * already serves another genesis, other consensus params or other rules. */
PU_NODISCARD pu_err pu_chain_new(const pu_chain_opts *opts, pu_block *genesis, pu_chain **out);
void pu_chain_free(pu_chain *ch);
/** The tie-break rule (PU_TIE_*, first seen for a new chain) and, for
 * PU_TIE_RANDOM, this chain's salt (its coin: one per node).  Set it before
 * the first block is added. */
void pu_chain_set_tie_break(pu_chain *ch, int rule, uint64_t salt);
/** The chain's tie-break rule, and its salt in *salt (may be NULL). */
int pu_chain_tie_break(const pu_chain *ch, uint64_t *salt);
/** Observers are called in the order added (at most PU_CHAIN_MAX_OBSERVERS;
 * PU_ERR_RANGE beyond).  Copied; obs->ctx identifies it for removal. */
#define PU_CHAIN_MAX_OBSERVERS 4u
PU_NODISCARD pu_err pu_chain_add_observer(pu_chain *ch, const pu_chain_observer *obs);
/** Removes the observer whose ctx is ctx (no effect if none). */
void pu_chain_remove_observer(pu_chain *ch, const void *ctx);

typedef struct pu_add_result {
    pu_reason reason;          /* PU_R_OK, or why the block was refused / parked */
    uint32_t bad_tx;           /* index of the offending transaction, if any */
    bool tip_changed;
    uint32_t disconnected;     /* blocks disconnected (reorganisation depth) */
    uint32_t connected;        /* blocks connected, this one and resolved orphans included */
    uint32_t orphans_resolved; /* parked blocks that found their parent now */
    pu_hash32 request;         /* PU_R_ORPHAN: the missing ancestor to ask for */
} pu_add_result;

/** Runs the add_block pipeline.  Returns PU_OK when the block was stored in
 * the tree (whether or not it became the tip) or parked as an orphan
 * (res->reason == PU_R_ORPHAN), PU_ERR_EXISTS for a known block, and
 * PU_ERR_INVALID with res->reason for a refused one; other codes are system
 * failures.  Invalid blocks found while switching branches are remembered and
 * their descendants refused.  b gets a new reference if kept. */
PU_NODISCARD pu_err pu_chain_add_block(pu_chain *ch, pu_block *b, uint64_t now_s, pu_add_result *res);

/** Mempool acceptance.  PU_OK, or PU_ERR_INVALID with *why. */
PU_NODISCARD pu_err pu_chain_add_tx(pu_chain *ch, pu_tx *tx, pu_reason *why);

/** The seed's create_block: a draft on top of the tip with a coinbase paying
 * reward + fees to miner, the given transactions (NULL: the mempool's
 * template up to the size limit), merkle root, required target, and
 * timestamp max(now_s, median-time-past + 1).  The caller sets the nonce
 * (and PoUW fields), then pu_block_finalize. */
PU_NODISCARD pu_err pu_chain_create_block(pu_chain *ch, pu_tx *const *txs, size_t n_txs,
                                          const pu_addr *miner, const uint8_t *proof,
                                          size_t proof_len, uint64_t now_s, pu_block **out);

/** A template for miners: the mempool's best transactions that fit beside
 * `extras` and a proof of proof_room bytes (set later with
 * pu_block_set_proof), then `extras` (e.g. a settlement the rules call
 * for), coinbase paying reward + fees to miner.  The caller grinds and
 * finalizes.  Extras go last because a block's transactions are checked
 * in order against the state the earlier ones left: a settlement ends its
 * task, so a record of that task placed after it would make the block
 * invalid, although both were valid at the tip. */
PU_NODISCARD pu_err pu_chain_create_template(pu_chain *ch, pu_tx *const *extras, size_t n_extras,
                                             size_t proof_room, const pu_addr *miner,
                                             uint64_t now_s, pu_block **out);

/** Bytes left for transactions (each counted with PU_BLOCK_TX_OVERHEAD) in
 * a block of this chain carrying a proof of proof_len bytes. */
uint64_t pu_chain_template_room(const pu_chain *ch, size_t proof_len);

/* Queries (the seed's: chain length, latest block, mempool size, balance). */
uint32_t pu_chain_height(const pu_chain *ch);              /* tip height; genesis = 0 */
uint32_t pu_chain_length(const pu_chain *ch);              /* height + 1 */
pu_block *pu_chain_tip(const pu_chain *ch);                /* borrowed */
const pu_hash32 *pu_chain_tip_hash(const pu_chain *ch);
size_t pu_chain_mempool_size(const pu_chain *ch);
pu_amount pu_chain_balance(const pu_chain *ch, const pu_addr *a);
const pu_utxo *pu_chain_utxo(const pu_chain *ch);
pu_mempool *pu_chain_mempool(const pu_chain *ch);          /* read it; change it via add_tx */
const pu_params *pu_chain_params(const pu_chain *ch);
pu_crypto *pu_chain_crypto(const pu_chain *ch);
/** Block of the active chain at a height, or NULL. */
pu_block *pu_chain_block_at(const pu_chain *ch, uint32_t height);
/** Any block of the tree (not orphans), or NULL; *height and *active optional. */
pu_block *pu_chain_get(const pu_chain *ch, const pu_hash32 *hash, uint32_t *height, bool *active);
bool pu_chain_has_orphan(const pu_chain *ch, const pu_hash32 *hash);
/** Known anywhere: tree (valid or invalid) or orphan pool. */
bool pu_chain_knows(const pu_chain *ch, const pu_hash32 *hash);
size_t pu_chain_n_blocks(const pu_chain *ch);              /* tree size */
/** The chain's number in its valcache: pu_blockrec_held(record, index)
 * answers "is this block in the chain's tree" from the block's record. */
uint32_t pu_chain_index(const pu_chain *ch);
pu_valcache *pu_chain_valcache(const pu_chain *ch);        /* borrowed */
size_t pu_chain_n_orphans(const pu_chain *ch);
/** Compact target required for a child of the tip. */
uint32_t pu_chain_next_bits(const pu_chain *ch);
/** Median time past of the tip (the next block must be later). */
uint64_t pu_chain_mtp(const pu_chain *ch);
/** Cumulative work of the tip. */
const pu_u256 *pu_chain_work(const pu_chain *ch);

/** Block locator: hashes of the active chain from the tip back, step 1 for
 * 10 entries then doubling, always ending with genesis.  Returns the count
 * written (<= max). */
size_t pu_chain_locator(const pu_chain *ch, pu_hash32 *out, size_t max);
/** Height of the last active block named in a locator (0 = genesis). */
uint32_t pu_chain_locate(const pu_chain *ch, const pu_hash32 *loc, size_t n);

/** Sum of all spendable coins and locks (issuance check, PROTOCOL.md s7). */
pu_amount pu_chain_supply(const pu_chain *ch);
/** Memory held by this chain instance alone (shared objects excluded; a
 * private valcache counts as this chain's). */
size_t pu_chain_mem_bytes(const pu_chain *ch);
/** Memory of the block records, verdicts and UTXO states of the chain's
 * valcache (shared with every chain of that valcache).  O(blocks). */
size_t pu_chain_shared_bytes(const pu_chain *ch);

#endif
