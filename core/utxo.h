/* core/utxo.h -- the set of unspent outputs, keyed by outpoint, with a
 * per-address balance index.
 *
 * Besides ordinary outputs the set holds *locks*: the task escrow of a
 * PAY_FOR_TASK and the stake of a BUY_TICKETS, stored at outpoint
 * (txid, PU_LOCK_INDEX) with a lock flag and the owner's address.  Locks are
 * spendable only by a SETTLEMENT, count towards pu_utxo_locked() and not
 * towards balances; so "balances + locked = issuance" is checkable at any
 * height (SPEC s7).
 *
 * All operations are O(1) expected.  The set itself knows nothing of blocks:
 * core/chain applies blocks and keeps the undo records. */
#ifndef PU_UTXO_H
#define PU_UTXO_H

#include "core/crypto.h"
#include "core/types.h"

enum {
    PU_COIN_COINBASE = 1, /* output of a coinbase (maturity rule) */
    PU_COIN_ESCROW = 2,   /* task escrow lock */
    PU_COIN_STAKE = 4,    /* ticket stake lock */
};
#define PU_COIN_LOCKED (PU_COIN_ESCROW | PU_COIN_STAKE)
#define PU_COIN_SIZE 33u /* serialised: amount i64 | addr 20 | height u32 | flags u8 */

typedef struct pu_coin {
    pu_amount amount;
    pu_addr addr;
    uint32_t height; /* height of the block that created it */
    uint8_t flags;
} pu_coin;

typedef struct pu_utxo pu_utxo;

PU_NODISCARD pu_err pu_utxo_new(pu_utxo **out);
void pu_utxo_free(pu_utxo *u);

/** Borrowed pointer to the coin, or NULL.  Valid until the next change. */
const pu_coin *pu_utxo_find(const pu_utxo *u, const pu_outpoint *op);
/** PU_ERR_EXISTS if the outpoint is present; PU_ERR_RANGE if totals would overflow. */
PU_NODISCARD pu_err pu_utxo_add(pu_utxo *u, const pu_outpoint *op, const pu_coin *coin);
/** Removes the coin, copying it to *spent when non-NULL.  PU_ERR_NOTFOUND if absent. */
PU_NODISCARD pu_err pu_utxo_spend(pu_utxo *u, const pu_outpoint *op, pu_coin *spent);

size_t pu_utxo_count(const pu_utxo *u);
/** Sum of unlocked coins, and of locks. */
pu_amount pu_utxo_total(const pu_utxo *u);
pu_amount pu_utxo_locked(const pu_utxo *u);
/** Spendable balance of an address (locks excluded), O(1). */
pu_amount pu_utxo_balance(const pu_utxo *u, const pu_addr *a);
/** Number of addresses with a nonzero balance. */
size_t pu_utxo_n_addresses(const pu_utxo *u);
size_t pu_utxo_bytes(const pu_utxo *u);

/** Digest of the full set: SHA-256 over every (outpoint, coin) in outpoint
 * order, so two sets are equal iff their digests are (barring collisions). */
PU_NODISCARD pu_err pu_utxo_digest(pu_crypto *c, const pu_utxo *u, pu_hash32 *out);

/** Visit every coin in outpoint order (sorted: deterministic output). */
typedef pu_err (*pu_utxo_visit_fn)(void *ctx, const pu_outpoint *op, const pu_coin *coin);
PU_NODISCARD pu_err pu_utxo_foreach_sorted(const pu_utxo *u, pu_utxo_visit_fn fn, void *ctx);

void pu_coin_serialize(const pu_coin *c, uint8_t out[PU_COIN_SIZE]);
PU_NODISCARD pu_err pu_coin_parse(const uint8_t *buf, size_t len, pu_coin *out);
/** Key text "txid_hex:index" as in the seed's SQLite schema (buf >= 76 bytes). */
void pu_outpoint_key(const pu_outpoint *op, char *buf, size_t n);

#endif
