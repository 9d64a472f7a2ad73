/* core/tx.h -- transactions: kinds, canonical encoding, txid, sighash, signing.
 *
 * Wire format (PROTOCOL.md s2; all integers big-endian):
 *   version u32 | kind u8 | n_in u32 | n_in x input | n_out u32 | n_out x output
 *   | has_opret u8 (0/1) [| opret 160] | timestamp u64 | body_len u32 | body
 *   input  = prev txid 32 | prev index u32 | pubkey 33 | signature 64   (133 bytes)
 *   output = amount i64 | address 20                                    (28 bytes)
 * txid = H2(serialisation).  Input i signs H2(serialisation with every
 * signature zeroed || i as u32).
 *
 * Kind bodies:
 *   PAYMENT       empty
 *   COINBASE      height u32 (so coinbase ids are unique); no inputs
 *   PAY_FOR_TASK  canonical task definition (core/task.h); its fee is locked
 *                 into the task escrow (outpoint txid:PU_LOCK_INDEX)
 *   BUY_TICKETS   role u8 (1 miner, 2 supervisor, 3 evaluator, 4 verifier)
 *                 | stake i64 | preferred task id 32 (zero = any); the stake is
 *                 locked at txid:PU_LOCK_INDEX
 *   SETTLEMENT    task id 32 | rule data (core/econ defines it); inputs spend
 *                 locks (index PU_LOCK_INDEX, zero key and signature)
 *   EVIDENCE      proof of a worker's misconduct (core/pouw.h defines it),
 *                 1..PU_TX_MAX_SIZE bytes; otherwise a payment (inputs for the
 *                 fee, change outputs); the rules hook judges it
 *
 * Lifetime: a transaction is built mutable (pu_tx_new + setters + signing),
 * then pu_tx_finalize computes its size, txid and sighashes and freezes it.
 * Finalized transactions are immutable and reference-counted so thousands
 * of simulated nodes share one copy: pu_tx_ref / pu_tx_unref.  Not
 * thread-safe (counts are plain integers; a run is single-threaded). */
#ifndef PU_TX_H
#define PU_TX_H

#include "core/bytes.h"
#include "core/crypto.h"
#include "core/reason.h"
#include "core/types.h"

typedef enum pu_tx_kind {
    PU_TX_PAYMENT = 1,
    PU_TX_COINBASE = 2,
    PU_TX_PAY_FOR_TASK = 3,
    PU_TX_BUY_TICKETS = 4,
    PU_TX_SETTLEMENT = 5,
    PU_TX_EVIDENCE = 6,
} pu_tx_kind;

typedef enum pu_role {
    PU_ROLE_MINER = 1,
    PU_ROLE_SUPERVISOR = 2,
    PU_ROLE_EVALUATOR = 3,
    PU_ROLE_VERIFIER = 4,
} pu_role;

#define PU_TX_VERSION      1u
#define PU_TX_MAX_SIZE     100000u  /* bytes; bounds decoding work */
#define PU_TX_INPUT_SIZE   133u
#define PU_TX_OUTPUT_SIZE  28u
#define PU_OPRET_SIZE      160u
#define PU_LOCK_INDEX      0xFFFFFFFFu /* outpoint index of a transaction's lock */
#define PU_TICKETS_BODY_SIZE 41u

typedef struct pu_txin {
    pu_outpoint prev;
    uint8_t pub[33];
    uint8_t sig[64];
} pu_txin;

typedef struct pu_txout {
    pu_amount amount;
    pu_addr addr;
} pu_txout;

typedef struct pu_tx pu_tx;

/** An outpoint's wire bytes, txid || index (big-endian): the key of every
 * outpoint-keyed map, so no struct padding reaches a hash. */
void pu_outpoint_bytes(const pu_outpoint *op, uint8_t out[36]);

/** A mutable draft with zeroed inputs/outputs/body; version PU_TX_VERSION. */
PU_NODISCARD pu_err pu_tx_new(pu_tx_kind kind, uint32_t n_in, uint32_t n_out, uint32_t body_len,
                              pu_tx **out);
/* Draft setters: only before pu_tx_finalize (asserted). */
pu_txin *pu_tx_in_mut(pu_tx *tx, uint32_t i);
pu_txout *pu_tx_out_mut(pu_tx *tx, uint32_t i);
uint8_t *pu_tx_body_mut(pu_tx *tx);
void pu_tx_set_opret(pu_tx *tx, const uint8_t opret[PU_OPRET_SIZE]); /* NULL removes */
void pu_tx_set_timestamp(pu_tx *tx, uint64_t ts);
void pu_tx_set_version(pu_tx *tx, uint32_t version);

/** Sighash of input i of a draft or finalized transaction. */
PU_NODISCARD pu_err pu_tx_sighash(pu_crypto *c, const pu_tx *tx, uint32_t i, pu_hash32 *out);
/** Signs input i with k.  The sighash covers every field but the signatures,
 * public keys included, so set all inputs' public keys (and everything else)
 * first; PU_ERR_STATE if input i's key is not k's.  pu_tx_sign_all does both. */
PU_NODISCARD pu_err pu_tx_sign_input(pu_crypto *c, pu_tx *tx, uint32_t i, const pu_keypair *k);
/** Sets every input's public key from keys[i] (or keys[0] for all when
 * n_keys == 1), then signs every input. */
PU_NODISCARD pu_err pu_tx_sign_all(pu_crypto *c, pu_tx *tx, const pu_keypair *const *keys,
                                   size_t n_keys);
/** Freeze: computes size, txid and every sighash.  PU_ERR_RANGE if the
 * serialisation exceeds PU_TX_MAX_SIZE. */
PU_NODISCARD pu_err pu_tx_finalize(pu_crypto *c, pu_tx *tx);

/** Strict decoder: the whole buffer must be one transaction.  On failure
 * *out is NULL and *why says which rule (PU_R_TX_MALFORMED/TOO_LARGE/BAD_KIND). */
PU_NODISCARD pu_err pu_tx_parse(pu_crypto *c, const uint8_t *buf, size_t len, pu_tx **out,
                                pu_reason *why);
/** Decode one transaction at the reader's position (used by blocks). */
PU_NODISCARD pu_err pu_tx_read(pu_crypto *c, pu_reader *r, pu_tx **out, pu_reason *why);
/** Canonical bytes of a transaction (free() them). */
PU_NODISCARD pu_err pu_tx_serialize(const pu_tx *tx, uint8_t **out, size_t *len);
void pu_tx_write(const pu_tx *tx, pu_buf *b);

pu_tx *pu_tx_ref(pu_tx *tx);
void pu_tx_unref(pu_tx *tx); /* NULL is fine */

/* Getters: borrowed pointers valid while the caller holds a reference. */
pu_tx_kind pu_tx_kind_of(const pu_tx *tx);
uint32_t pu_tx_version(const pu_tx *tx);
uint32_t pu_tx_n_in(const pu_tx *tx);
uint32_t pu_tx_n_out(const pu_tx *tx);
const pu_txin *pu_tx_in(const pu_tx *tx, uint32_t i);
const pu_txout *pu_tx_out(const pu_tx *tx, uint32_t i);
const uint8_t *pu_tx_body(const pu_tx *tx, uint32_t *len);
const uint8_t *pu_tx_opret(const pu_tx *tx); /* NULL when absent */
uint64_t pu_tx_timestamp(const pu_tx *tx);
/* Finalized transactions only: */
const pu_hash32 *pu_tx_id(const pu_tx *tx);
uint32_t pu_tx_size(const pu_tx *tx);
const pu_hash32 *pu_tx_sighash_at(const pu_tx *tx, uint32_t i);
bool pu_tx_is_final(const pu_tx *tx);

/** Sum of outputs (PU_ERR_RANGE on overflow). */
PU_NODISCARD pu_err pu_tx_output_sum(const pu_tx *tx, pu_amount *out);

/** The amount a transaction locks (task escrow or stake) and where: 0 when
 * it locks nothing.  PU_ERR_PARSE if the body does not decode. */
PU_NODISCARD pu_err pu_tx_locked(const pu_tx *tx, pu_amount *amount);

/** Decoded BUY_TICKETS body. */
typedef struct pu_tickets {
    uint8_t role;
    pu_amount stake;
    pu_hash32 task_pref;
} pu_tickets;
PU_NODISCARD pu_err pu_tx_tickets(const pu_tx *tx, pu_tickets *out);
void pu_tickets_encode(const pu_tickets *t, uint8_t out[PU_TICKETS_BODY_SIZE]);

/** Context-free checks (structure per kind, amounts, duplicate inputs,
 * size).  Returns PU_R_OK or the failed rule. */
pu_reason pu_tx_check(const pu_tx *tx);

#endif
