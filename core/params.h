/* core/params.h -- consensus and policy constants of one chain.
 *
 * Everything a node must agree on lives here (no globals), so a scenario can
 * run a Bitcoin-like profile and a fast PoUW test chain in one process. */
#ifndef PU_PARAMS_H
#define PU_PARAMS_H

#include "core/types.h"
#include "core/u256.h"

typedef struct pu_params {
    pu_amount block_reward;      /* coinbase subsidy (seed: 12.5 coins) */
    uint32_t halving_interval;   /* blocks; 0 = constant reward */
    pu_amount min_fee;           /* minimum relay fee per transaction (seed: 0.0001 coin) */
    uint32_t mempool_capacity;   /* transactions (seed: 10,000) */
    uint32_t max_block_size;     /* bytes, whole serialised block */
    uint32_t coinbase_maturity;  /* blocks before a coinbase output is spendable */
    uint32_t mtp_window;         /* median-time-past window (Bitcoin: 11) */
    uint64_t max_future_s;       /* how far ahead of the receiver's clock a block may be */
    uint32_t orphan_limit;       /* orphan blocks kept while their parent is missing */
    /* difficulty */
    uint64_t target_spacing_s;   /* desired seconds per block */
    uint32_t retarget_interval;  /* blocks between retargets (Bitcoin: 2016) */
    uint32_t retarget_clamp;     /* max factor per retarget (Bitcoin: 4) */
    bool fixed_target;           /* never retarget */
    pu_u256 pow_limit;           /* easiest allowed target; genesis uses it */
    /* proof of useful work (PROTOCOL.md s5) */
    uint32_t pouw_commit_lag;    /* k: iterations between commitment and mining (default 5) */
    uint64_t pouw_w_batch_e9;    /* nonces per batch byte, in 1e-9 units */
    uint64_t pouw_w_param_e9;    /* nonces per model parameter, in 1e-9 units */
    pu_amount pouw_min_task_fee; /* a task's fee is at least this x its complexity score
                                  * (pu_task_fee; default 0: no minimum) */
} pu_params;

/** Bitcoin-like defaults with the seed's economics (12.5 coin reward,
 * 0.0001 coin minimum fee, 10,000-transaction mempool), and a proof-of-work
 * limit of 2^248 (about 256 hashes per block: see pu_params_set_hashes). */
void pu_params_default(pu_params *p);
/** Sets pow_limit so that a block needs about `hashes` header hashes on
 * average (target = 2^256 / hashes).  The simulator scales real proof of
 * work down this way so every node checks real hashes cheaply. */
void pu_params_set_hashes(pu_params *p, uint64_t hashes);
/** True iff a and b agree on every consensus field (what validation and
 * the per-block facts of core/valcache depend on); policy fields (fees,
 * mempool, block size, orphans, future time) may differ. */
bool pu_params_consensus_eq(const pu_params *a, const pu_params *b);
/** Canonical encoding of every field, PU_PARAMS_ENCODED_LEN bytes, big-endian,
 * in declaration order: version u8 (1) | block_reward i64 | halving_interval
 * u32 | min_fee i64 | mempool_capacity u32 | max_block_size u32 |
 * coinbase_maturity u32 | mtp_window u32 | max_future_s u64 | orphan_limit
 * u32 | target_spacing_s u64 | retarget_interval u32 | retarget_clamp u32 |
 * fixed_target u8 (0/1) | pow_limit 32 (big-endian 256-bit) |
 * pouw_commit_lag u32 | pouw_w_batch_e9 u64 | pouw_w_param_e9 u64 |
 * pouw_min_task_fee i64 (version 2).
 * A chain database records the parameters it was written under this way
 * (core/store), so a reader knows the rules without the scenario.  A new
 * field means a new version (params.c refuses to build when the struct
 * grows without it); the decoder also reads version 1 (118 bytes, without
 * the minimum task fee: 0). */
#define PU_PARAMS_ENCODED_LEN 126u
#define PU_PARAMS_V1_LEN 118u
#define PU_PARAMS_VERSION 2u
void pu_params_encode(const pu_params *p, uint8_t out[PU_PARAMS_ENCODED_LEN]);
/** Strict: length and version (2, or 1 with 118 bytes), fixed_target 0 or 1; PU_ERR_PARSE otherwise
 * (*out zeroed).  Values are not range-checked: they are what a run used. */
PU_NODISCARD pu_err pu_params_decode(const uint8_t *buf, size_t len, pu_params *out);

/** Block subsidy at a height. */
pu_amount pu_params_reward(const pu_params *p, uint32_t height);

#endif
