/* core/utxo.h -- the set of unspent outputs, keyed by outpoint, with a
 * per-address balance index, versioned by block so that many chains share
 * one copy.
 *
 * Besides ordinary outputs the set holds *locks*: the task escrow of a
 * PAY_FOR_TASK and the stake of a BUY_TICKETS, stored at outpoint
 * (txid, PU_LOCK_INDEX) with a lock flag and the owner's address.  Locks are
 * spendable only by a SETTLEMENT, count towards pu_utxo_locked() and not
 * towards balances; so "balances + locked = issuance" is checkable at any
 * height (PROTOCOL.md s7).
 *
 * Versions.  The set after block B on parent P is the same at every node
 * that connects B, so it is computed once and shared:
 *   - a pu_utxo_tree holds every version of one ledger (one genesis);
 *   - a pu_utxo_state is one version: its parent version plus the diff of one
 *     block (for each outpoint the block touched: the coin before and after;
 *     for each address: the balance before and after), and the absolute
 *     totals.  States are immutable once committed and reference-counted; a
 *     state costs only its block's changes;
 *   - a pu_utxo is a view: the set as of one state (a chain's tip).  Moving a
 *     view to another state (connect, disconnect, reorganise) is O(1).
 * One version is materialised as full hash maps (the *base*).  A look-up at
 * a view walks the diffs on the tree path between the view's state and the
 * base (nearest first), then the base: a view at the base costs one probe, a
 * view one block away two.  The base follows the state most views hold (it
 * moves when a state has more than twice the base's holders), so in a
 * network that agrees on its tip nearly every look-up is one probe.  Where
 * the base is never changes an answer, only how fast it comes.
 *
 * Writing: pu_utxo_begin opens a *draft* on the view's state; add/spend go to
 * the draft (the view reads through it); pu_utxo_commit seals it into a new
 * state and moves the view there, pu_utxo_abort drops it.  Only core/chain
 * writes.
 *
 * All look-ups are O(path length) hash probes, O(1) for a view at or next to
 * the base.  Nothing here knows of blocks: core/chain applies them. */
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

typedef struct pu_utxo_tree pu_utxo_tree;
typedef struct pu_utxo_state pu_utxo_state;
typedef struct pu_utxo pu_utxo;

/* ---- the shared tree ---- */

PU_NODISCARD pu_err pu_utxo_tree_new(pu_utxo_tree **out);
/** Frees the base.  Every view must be freed and every state unreferenced
 * first (a state keeps its ancestors alive, not the tree). */
void pu_utxo_tree_free(pu_utxo_tree *t);
/** Memory of the base (the states are counted by their owners). */
size_t pu_utxo_tree_bytes(const pu_utxo_tree *t);
/** Times the base moved (one block applied or reverted per step), for
 * benchmarks. */
uint64_t pu_utxo_tree_moves(const pu_utxo_tree *t);

pu_utxo_state *pu_utxo_state_ref(pu_utxo_state *s);
void pu_utxo_state_unref(pu_utxo_state *s); /* NULL is fine */
/** Memory of one state: its block's diff. */
size_t pu_utxo_state_bytes(const pu_utxo_state *s);

/* ---- views ---- */

/** A view of t at state s (NULL: the empty set before genesis); takes its
 * own reference on s. */
PU_NODISCARD pu_err pu_utxo_view_new(pu_utxo_tree *t, pu_utxo_state *s, pu_utxo **out);
void pu_utxo_free(pu_utxo *u); /* drops an open draft; NULL is fine */
/** Moves the view to state s of the same tree (no draft may be open). */
void pu_utxo_set_state(pu_utxo *u, pu_utxo_state *s);
/** The committed state the view is at (borrowed; NULL before genesis). */
pu_utxo_state *pu_utxo_state_of(const pu_utxo *u);

/** Opens a draft on the view's state.  PU_ERR_STATE if one is open. */
PU_NODISCARD pu_err pu_utxo_begin(pu_utxo *u);
/** Seals the draft into a new state, moves the view there and returns a
 * new reference to it in *out.  PU_ERR_STATE without a draft. */
PU_NODISCARD pu_err pu_utxo_commit(pu_utxo *u, pu_utxo_state **out);
/** Drops the draft: the view is back at its state, as if nothing was written. */
void pu_utxo_abort(pu_utxo *u);

/* ---- reading (any view) and writing (a view with an open draft) ---- */

/** Borrowed pointer to the coin, or NULL.  Valid until the next change of
 * any view of the tree (a view moving may move the base). */
const pu_coin *pu_utxo_find(const pu_utxo *u, const pu_outpoint *op);
/** PU_ERR_EXISTS if the outpoint is present; PU_ERR_RANGE if totals would
 * overflow; PU_ERR_STATE without an open draft. */
PU_NODISCARD pu_err pu_utxo_add(pu_utxo *u, const pu_outpoint *op, const pu_coin *coin);
/** Removes the coin, copying it to *spent when non-NULL.  PU_ERR_NOTFOUND if
 * absent; PU_ERR_STATE without an open draft. */
PU_NODISCARD pu_err pu_utxo_spend(pu_utxo *u, const pu_outpoint *op, pu_coin *spent);

size_t pu_utxo_count(const pu_utxo *u);
/** Sum of unlocked coins, and of locks. */
pu_amount pu_utxo_total(const pu_utxo *u);
pu_amount pu_utxo_locked(const pu_utxo *u);
/** Spendable balance of an address (locks excluded), O(path length). */
pu_amount pu_utxo_balance(const pu_utxo *u, const pu_addr *a);
/** Number of addresses with a nonzero balance. */
size_t pu_utxo_n_addresses(const pu_utxo *u);
/** Memory held by this view alone (its path cache and open draft; the
 * shared states and base are pu_utxo_tree_bytes). */
size_t pu_utxo_bytes(const pu_utxo *u);

/** Digest of the full set: SHA-256 over every (outpoint, coin) in outpoint
 * order, so two sets are equal iff their digests are (barring collisions). */
PU_NODISCARD pu_err pu_utxo_digest(pu_crypto *c, const pu_utxo *u, pu_hash32 *out);

/** Visit every coin in outpoint order (sorted: deterministic output).  The
 * view must not change during the visit. */
typedef pu_err (*pu_utxo_visit_fn)(void *ctx, const pu_outpoint *op, const pu_coin *coin);
PU_NODISCARD pu_err pu_utxo_foreach_sorted(const pu_utxo *u, pu_utxo_visit_fn fn, void *ctx);

void pu_coin_serialize(const pu_coin *c, uint8_t out[PU_COIN_SIZE]);
PU_NODISCARD pu_err pu_coin_parse(const uint8_t *buf, size_t len, pu_coin *out);
/** Key text "txid_hex:index" as in the seed's SQLite schema (buf >= 76 bytes). */
void pu_outpoint_key(const pu_outpoint *op, char *buf, size_t n);

#endif
