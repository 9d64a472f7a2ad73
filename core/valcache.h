/* core/valcache.h -- shared block records: what every chain instance would
 * compute the same way about a block, computed once.
 *
 * Everything here depends only on the block and its ancestry (the parent
 * hash commits to it) and on the consensus parameters and rules, never on
 * which node asks:
 *   - the block's place in the tree: parent, height, cumulative work;
 *   - per-block facts its children need: median time past, the target a
 *     child must carry;
 *   - the verdict of full validation on its parent: the reason, and for a
 *     valid block the undo record and the UTXO state after it (a version of
 *     core/utxo's shared tree: connecting a block at a node whose tip is the
 *     parent only moves that node's view to this state).
 * It also holds the pool that stores the transactions of the chains'
 * mempools once (core/mempool).
 * The first chain instance that meets a block creates its record; the first
 * that connects it validates it (signatures, ML work, everything) and stores
 * the verdict; every other instance reads the record instead of repeating the
 * work.  Node-specific checks (the future-time rule, orphan handling, first-
 * seen order) are never cached.  The simulator still charges every node its
 * simulated CPU time: the cache only saves wall time.
 *
 * One valcache serves chains with one genesis, one set of consensus
 * parameters and one rules table: pu_chain_new refuses a chain that differs
 * (PU_ERR_STATE), since a verdict made under other rules would not hold. */
#ifndef PU_VALCACHE_H
#define PU_VALCACHE_H

#include "core/block.h"
#include "core/mempool.h"
#include "core/params.h"
#include "core/reason.h"
#include "core/undo.h"
#include "core/utxo.h"

typedef struct pu_valcache pu_valcache;

/** One block's shared record.  Written by core/chain when it creates the
 * record (tree facts) and when it first validates the block (verdict);
 * read-only for everyone else.  Valid until the valcache is freed. */
typedef struct pu_blockrec {
    pu_block *block;            /* reference held */
    struct pu_blockrec *parent; /* NULL for genesis */
    uint32_t id;                /* dense, in creation order: a parent's id is below its children's */
    uint32_t height;
    pu_u256 work;               /* cumulative, genesis included */
    uint64_t mtp;               /* median time past: a child's timestamp must exceed it */
    uint32_t next_bits;         /* the compact target a child must carry */
    bool validated;             /* a verdict below is known */
    uint8_t reason;             /* pu_reason of full validation on the parent */
    uint32_t bad_tx;
    pu_undo *undo;              /* valid blocks: what connecting it spent (reference held) */
    pu_utxo_state *state;       /* valid blocks: the UTXO set after it (reference held) */
    uint8_t *holders;           /* bitmap by chain index: chains holding it in their tree */
    uint32_t holders_len;       /* bytes of holders */
    struct pu_hmap *tx_keys;    /* lazily, for core/chain's mempools: txid -> u64 and */
    struct pu_hmap *spend_keys; /* spent outpoint -> u64 position (owned) */
} pu_blockrec;

PU_NODISCARD pu_err pu_valcache_new(pu_valcache **out);
void pu_valcache_free(pu_valcache *vc);

/** Binds a chain to the cache: the first binding fixes the ledger, later
 * ones are checked against it (PU_ERR_STATE when params (consensus fields)
 * or rules differ).  *fresh tells the first binder, which must then create
 * the genesis record; *index is the chain's number in this cache (0, 1, ...
 * in order of binding, never reused). */
PU_NODISCARD pu_err pu_valcache_bind(pu_valcache *vc, const pu_params *p, const void *rules,
                                     bool *fresh, uint32_t *index);

/** Marks r as held in the tree of chain `index` (for good: a chain never
 * forgets a block of its tree).  PU_ERR_NOMEM. */
PU_NODISCARD pu_err pu_blockrec_hold(pu_blockrec *r, uint32_t index);
/** Whether chain `index` holds r in its tree: one bit of the block's own
 * bitmap, so asking it of many chains in a row stays in cache. */
static inline bool pu_blockrec_held(const pu_blockrec *r, uint32_t index)
{
    return index / 8 < r->holders_len && (r->holders[index / 8] >> (index % 8)) & 1;
}

/** The record of a block hash, or NULL. */
pu_blockrec *pu_valcache_find(const pu_valcache *vc, const pu_hash32 *hash);
/** The record with this id (< pu_valcache_count), or NULL. */
pu_blockrec *pu_valcache_at(const pu_valcache *vc, uint32_t id);
uint32_t pu_valcache_count(const pu_valcache *vc);
/** A new zeroed record of b under parent (NULL only for the genesis record,
 * which must be the first): block, parent and id are set, the rest is the
 * caller's to fill.  PU_ERR_EXISTS if b has one; PU_ERR_STATE for a second
 * genesis. */
PU_NODISCARD pu_err pu_valcache_insert(pu_valcache *vc, pu_block *b, pu_blockrec *parent,
                                       pu_blockrec **out);
/** The UTXO tree the records' states belong to. */
pu_utxo_tree *pu_valcache_utxo(pu_valcache *vc);
/** The transaction pool the chains' mempools store into (core/mempool). */
pu_txpool *pu_valcache_txpool(pu_valcache *vc);

/** Counts a verdict look-up (hit: the verdict was known). */
void pu_valcache_note(pu_valcache *vc, bool hit);
typedef struct pu_valcache_stats {
    uint64_t hits, misses, entries; /* entries: blocks with a verdict */
    uint64_t records;               /* blocks known to any chain */
    uint64_t base_moves;            /* steps the UTXO base moved */
    size_t bytes;                   /* records, states, UTXO base, transaction pool */
} pu_valcache_stats;
void pu_valcache_get_stats(const pu_valcache *vc, pu_valcache_stats *out);

#endif
