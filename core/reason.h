/* core/reason.h -- why a transaction or block was refused.
 *
 * pu_err says *that* a consensus rule failed (PU_ERR_INVALID); pu_reason says
 * *which* one.  Every acceptance rule of PROTOCOL.md s2/s3 has its own code so tests
 * and metrics can tell them apart.  Values are stable: they are written to
 * HDF5 outputs, so append new codes at the end of their group. */
#ifndef PU_REASON_H
#define PU_REASON_H

typedef enum pu_reason {
    PU_R_OK = 0,

    /* transactions: encoding and context-free checks */
    PU_R_TX_MALFORMED = 1,      /* does not decode, or trailing bytes */
    PU_R_TX_TOO_LARGE,          /* serialised size above the limit */
    PU_R_TX_BAD_KIND,           /* structure wrong for its kind (inputs/outputs/body) */
    PU_R_TX_DUP_INPUT,          /* the same outpoint twice in one transaction */
    PU_R_TX_BAD_AMOUNT,         /* output amount <= 0 or above the money range */
    PU_R_TX_BAD_OPRET,          /* OP_RETURN does not decode or disagrees with the body */
    /* transactions: mempool policy */
    PU_R_TX_DUPLICATE = 20,     /* txid already in the mempool (or chain) */
    PU_R_MEMPOOL_FULL,          /* full and the fee does not beat the lowest entry */
    PU_R_FEE_TOO_LOW,           /* fee below the minimum relay fee */
    PU_R_COINBASE_LOOSE,        /* coinbase or settlement outside a block */
    /* transactions: contextual (mempool and block) */
    PU_R_BAD_SIGNATURE = 40,    /* an input signature does not verify */
    PU_R_MISSING_INPUT,         /* an input is not in the UTXO set */
    PU_R_DOUBLE_SPEND,          /* input already spent by a mempool transaction */
    PU_R_INFLATION,             /* outputs + locked > inputs */
    PU_R_WRONG_KEY,             /* input public key does not hash to the output address */
    PU_R_IMMATURE,              /* spends a coinbase before coinbase_maturity */
    PU_R_LOCKED_OUTPUT,         /* spends an escrow/stake lock outside a settlement */
    PU_R_BAD_SETTLEMENT,        /* settlement does not match the rules of PROTOCOL.md s7 */
    PU_R_KIND_RULE,             /* another kind-specific rule (PoUW rules hook) */

    /* blocks */
    PU_R_BLOCK_MALFORMED = 60,  /* does not decode, trailing bytes */
    PU_R_BLOCK_TOO_LARGE,
    PU_R_DUPLICATE_BLOCK,       /* already known */
    PU_R_ORPHAN,                /* parent unknown: kept in the orphan pool */
    PU_R_HIGH_HASH,             /* header hash does not meet its own target */
    PU_R_BAD_DIFFICULTY,        /* target differs from the difficulty rule */
    PU_R_TIME_TOO_OLD,          /* timestamp <= median of the previous 11 */
    PU_R_TIME_TOO_NEW,          /* too far in the future of the receiver's clock */
    PU_R_BAD_MERKLE,            /* merkle root mismatch */
    PU_R_NO_COINBASE,           /* first transaction is not a coinbase */
    PU_R_EXTRA_COINBASE,        /* a coinbase after the first position */
    PU_R_BAD_COINBASE_HEIGHT,   /* coinbase body height != block height */
    PU_R_BAD_COINBASE_AMOUNT,   /* coinbase pays more than reward + fees */
    PU_R_BLOCK_DOUBLE_SPEND,    /* two transactions of the block spend one outpoint */
    PU_R_DUPLICATE_TX,          /* a txid twice in one block, or still unspent in the chain */
    PU_R_INVALID_ANCESTOR,      /* descends from a block known to be invalid */
    PU_R_ML_WORK,               /* PoUW: the useful-work proof did not verify */
    PU_R_ORPHAN_LIMIT,          /* orphan pool full (oldest evicted) */
    PU_R_BAD_GENESIS,           /* genesis block does not match the chain's */

    PU_R_COUNT_
} pu_reason;

/** Short stable identifier, e.g. "bad-signature": never NULL. */
const char *pu_reason_str(pu_reason r);

#endif
