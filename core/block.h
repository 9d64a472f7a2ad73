/* core/block.h -- block headers, blocks, merkle roots, proof-of-work checks.
 *
 * Header wire format (PROTOCOL.md s3), 216 bytes, big-endian:
 *   version u32 | previous_hash 32 | merkle_root 32 | timestamp u64 | bits u32
 *   | nonce u64 | ml_task_id 32 | message_history_hash 32
 *   | iteration_message_hash 32 | zero_nonce_block_hash 32
 * Block hash = H2(header).  The hash is compared with the target as a
 * big-endian 256-bit number (byte 0 most significant).
 *
 * Block wire format: header | n_tx u32 | n_tx x (len u32 | transaction)
 *   | proof_len u32 | mining proof (opaque here; core/pouw gives it meaning).
 *
 * Blocks are built mutable (pu_block_new + pu_block_add_tx + header edits),
 * then frozen by pu_block_finalize, after which they are immutable and
 * reference-counted like transactions. */
#ifndef PU_BLOCK_H
#define PU_BLOCK_H

#include "core/crypto.h"
#include "core/reason.h"
#include "core/tx.h"
#include "core/u256.h"

#define PU_HEADER_SIZE 216u
#define PU_BLOCK_VERSION 1u
#define PU_BLOCK_MAX_TXS 1000000u
#define PU_PROOF_MAX_SIZE (4u << 20) /* a mining proof may carry a model state */
#define PU_BLOCK_TX_OVERHEAD 4u       /* length prefix of each transaction in a block */

typedef struct pu_header {
    uint32_t version;
    pu_hash32 prev;
    pu_hash32 merkle;
    uint64_t timestamp; /* seconds of simulated time */
    uint32_t bits;      /* compact target */
    uint64_t nonce;
    pu_hash32 ml_task_id;       /* zero for a plain proof-of-work block */
    pu_hash32 msg_history;      /* merkle root of the miner's messages so far */
    pu_hash32 iter_msg;         /* H2 of the iteration message */
    pu_hash32 zero_nonce;       /* committed zero-nonce block hash */
} pu_header;

void pu_header_serialize(const pu_header *h, uint8_t out[PU_HEADER_SIZE]);
PU_NODISCARD pu_err pu_header_parse(const uint8_t *buf, size_t len, pu_header *out);
void pu_header_hash(pu_crypto *c, const pu_header *h, pu_hash32 *out);
/** H2 of the header with nonce and the four PoUW fields zeroed: covers
 * version, parent, merkle root, timestamp and target (PROTOCOL.md s5 item 4). */
void pu_header_zero_nonce_hash(pu_crypto *c, const pu_header *h, pu_hash32 *out);
/** True iff hash <= target(bits); false also for an invalid bits encoding. */
bool pu_hash_meets_bits(const pu_hash32 *hash, uint32_t bits);
/** True iff a PoUW header (ml_task_id nonzero). */
bool pu_header_is_pouw(const pu_header *h);

/** Bitcoin-style merkle root of n ids: pairwise H2(left || right), the last
 * element of an odd level paired with itself.  n == 0 gives all zeros. */
PU_NODISCARD pu_err pu_merkle_root(pu_crypto *c, const pu_hash32 *ids, size_t n, pu_hash32 *out);

typedef struct pu_block pu_block;

/** A mutable draft with the given header and no transactions. */
PU_NODISCARD pu_err pu_block_new(const pu_header *h, pu_block **out);
/** Appends tx (takes a new reference; the caller keeps its own). */
PU_NODISCARD pu_err pu_block_add_tx(pu_block *b, pu_tx *tx);
/** Copies the mining proof bytes into the draft. */
PU_NODISCARD pu_err pu_block_set_proof(pu_block *b, const uint8_t *proof, size_t len);
/** The draft's header, editable (nonce grinding, merkle root) until finalize. */
pu_header *pu_block_header_mut(pu_block *b);
/** Recomputes the draft's merkle root from its transactions. */
PU_NODISCARD pu_err pu_block_update_merkle(pu_crypto *c, pu_block *b);
/** Freeze: computes hash and size. */
PU_NODISCARD pu_err pu_block_finalize(pu_crypto *c, pu_block *b);

/** Strict decoder (finalized result).  *why gets PU_R_BLOCK_MALFORMED,
 * PU_R_BLOCK_TOO_LARGE or a transaction's reason. */
PU_NODISCARD pu_err pu_block_parse(pu_crypto *c, const uint8_t *buf, size_t len, pu_block **out,
                                   pu_reason *why);
PU_NODISCARD pu_err pu_block_serialize(const pu_block *b, uint8_t **out, size_t *len);

pu_block *pu_block_ref(pu_block *b);
void pu_block_unref(pu_block *b);

const pu_header *pu_block_header(const pu_block *b);
const pu_hash32 *pu_block_hash(const pu_block *b); /* finalized only */
uint32_t pu_block_size(const pu_block *b);         /* finalized only */
uint32_t pu_block_n_tx(const pu_block *b);
pu_tx *pu_block_tx(const pu_block *b, uint32_t i); /* borrowed */
const uint8_t *pu_block_proof(const pu_block *b, uint32_t *len);

/** Memo of the block's context-free checks (merkle root, coinbase structure,
 * transaction checks): a pure function of the block, evaluated once and read
 * by every chain instance that receives it.  get returns false until set. */
bool pu_block_memo_get(const pu_block *b, pu_reason *r, uint32_t *bad_tx);
void pu_block_memo_set(pu_block *b, pu_reason r, uint32_t bad_tx);

#endif
