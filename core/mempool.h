/* core/mempool.h -- storage and ordering of unconfirmed transactions.
 *
 * This module only stores: acceptance rules live in core/chain
 * (pu_chain_add_tx), which owns one mempool and knows the UTXO set, params
 * and caches.  Invariants kept here: no two entries spend the same outpoint;
 * entries are ordered by fee rate (fee per byte) with ties broken by arrival
 * order, for block templates (highest first) and eviction (lowest first,
 * newest first among equals).  All operations are O(log n) or better.
 *
 * Shared storage.  Thousands of mempools in one process hold mostly the same
 * transactions, so a transaction is stored once, in a pu_txpool shared by
 * the mempools of one ledger (core/valcache owns it): the transaction, its
 * fee and size, and which transactions spend each outpoint.  A mempool is a
 * compact set of pool ids with its own arrival order and eviction heap
 * (about 36 bytes per entry).  A pool entry lives while some mempool holds
 * it.  Sharing changes no answer: every mempool keeps its own contents and
 * order, exactly as if it stored the transactions itself. */
#ifndef PU_MEMPOOL_H
#define PU_MEMPOOL_H

#include "core/tx.h"

typedef struct pu_mempool pu_mempool;
typedef struct pu_txpool pu_txpool;

PU_NODISCARD pu_err pu_txpool_new(pu_txpool **out);
/** Every mempool on p must be freed first. */
void pu_txpool_free(pu_txpool *p);
/** Transactions held by at least one mempool. */
size_t pu_txpool_count(const pu_txpool *p);
size_t pu_txpool_bytes(const pu_txpool *p);

/** An empty mempool storing its transactions in pool (borrowed; outlives it). */
PU_NODISCARD pu_err pu_mempool_new(pu_txpool *pool, pu_mempool **out);
void pu_mempool_free(pu_mempool *mp);

/** Adds tx (the pool takes a reference) with its fee.  PU_ERR_EXISTS for a
 * known txid; PU_ERR_INVALID if an input is already spent by an entry.  A fee
 * is a function of the transaction (its inputs name their coins), so the
 * first mempool to hold a transaction sets the pool's copy. */
PU_NODISCARD pu_err pu_mempool_insert(pu_mempool *mp, pu_tx *tx, pu_amount fee);
/** Removes by txid (drops the reference).  PU_ERR_NOTFOUND if absent. */
pu_err pu_mempool_remove(pu_mempool *mp, const pu_hash32 *txid);

bool pu_mempool_has(const pu_mempool *mp, const pu_hash32 *txid);
/** The entry with this txid (borrowed), or NULL. */
pu_tx *pu_mempool_get(const pu_mempool *mp, const pu_hash32 *txid);
/** The entry spending op, or NULL (borrowed). */
pu_tx *pu_mempool_spender(const pu_mempool *mp, const pu_outpoint *op);
/** Lowest entry by fee rate (the eviction candidate), or NULL when empty. */
pu_tx *pu_mempool_lowest(const pu_mempool *mp, pu_amount *fee);
/** True iff (fee, size) has a strictly higher fee rate than (fee2, size2). */
bool pu_feerate_gt(pu_amount fee, uint32_t size, pu_amount fee2, uint32_t size2);

size_t pu_mempool_count(const pu_mempool *mp);
uint64_t pu_mempool_bytes(const pu_mempool *mp); /* sum of tx sizes */
/** Entry i in storage order (0 <= i < count), for scans; borrowed. */
pu_tx *pu_mempool_at(const pu_mempool *mp, size_t i, pu_amount *fee);

/** Highest fee rate first, ties by arrival, taking every transaction that
 * still fits in max_bytes, each counted as its size plus per_tx bytes (the
 * block encoding's length prefix).  *txs is a malloc'd array of borrowed
 * pointers (valid until the mempool changes); free() it. */
PU_NODISCARD pu_err pu_mempool_template(const pu_mempool *mp, uint64_t max_bytes, uint32_t per_tx,
                                        pu_tx ***txs, size_t *n, pu_amount *total_fee);
size_t pu_mempool_mem_bytes(const pu_mempool *mp);

#endif
