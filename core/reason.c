/* core/reason.c -- names of rejection reasons (stable: written to outputs). */
#include "core/reason.h"

const char *pu_reason_str(pu_reason r)
{
    switch (r) {
    case PU_R_OK: return "ok";
    case PU_R_TX_MALFORMED: return "tx-malformed";
    case PU_R_TX_TOO_LARGE: return "tx-too-large";
    case PU_R_TX_BAD_KIND: return "tx-bad-kind";
    case PU_R_TX_DUP_INPUT: return "tx-duplicate-input";
    case PU_R_TX_BAD_AMOUNT: return "tx-bad-amount";
    case PU_R_TX_BAD_OPRET: return "tx-bad-op-return";
    case PU_R_TX_DUPLICATE: return "tx-already-known";
    case PU_R_MEMPOOL_FULL: return "mempool-full";
    case PU_R_FEE_TOO_LOW: return "fee-too-low";
    case PU_R_COINBASE_LOOSE: return "coinbase-outside-block";
    case PU_R_BAD_SIGNATURE: return "bad-signature";
    case PU_R_MISSING_INPUT: return "missing-input";
    case PU_R_DOUBLE_SPEND: return "double-spend";
    case PU_R_INFLATION: return "inflation";
    case PU_R_WRONG_KEY: return "wrong-key";
    case PU_R_IMMATURE: return "immature-coinbase";
    case PU_R_LOCKED_OUTPUT: return "locked-output";
    case PU_R_BAD_SETTLEMENT: return "bad-settlement";
    case PU_R_KIND_RULE: return "kind-rule";
    case PU_R_BLOCK_MALFORMED: return "block-malformed";
    case PU_R_BLOCK_TOO_LARGE: return "block-too-large";
    case PU_R_DUPLICATE_BLOCK: return "duplicate-block";
    case PU_R_ORPHAN: return "orphan";
    case PU_R_HIGH_HASH: return "high-hash";
    case PU_R_BAD_DIFFICULTY: return "bad-difficulty";
    case PU_R_TIME_TOO_OLD: return "time-too-old";
    case PU_R_TIME_TOO_NEW: return "time-too-new";
    case PU_R_BAD_MERKLE: return "bad-merkle-root";
    case PU_R_NO_COINBASE: return "no-coinbase";
    case PU_R_EXTRA_COINBASE: return "extra-coinbase";
    case PU_R_BAD_COINBASE_HEIGHT: return "bad-coinbase-height";
    case PU_R_BAD_COINBASE_AMOUNT: return "bad-coinbase-amount";
    case PU_R_BLOCK_DOUBLE_SPEND: return "block-double-spend";
    case PU_R_DUPLICATE_TX: return "duplicate-tx";
    case PU_R_INVALID_ANCESTOR: return "invalid-ancestor";
    case PU_R_ML_WORK: return "bad-ml-work";
    case PU_R_ORPHAN_LIMIT: return "orphan-limit";
    case PU_R_BAD_GENESIS: return "bad-genesis";
    case PU_R_COUNT_: break;
    }
    return "unknown";
}
