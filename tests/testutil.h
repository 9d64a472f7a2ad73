/* tests/testutil.h -- building small real chains in tests: wallets with
 * deterministic keys, a funded genesis, payments and mined blocks (real
 * signatures, real proof of work at a low target). */
#ifndef PU_TESTUTIL_H
#define PU_TESTUTIL_H

#include "core/chain.h"

#define TU_WALLETS 8

typedef struct tu_env {
    pu_crypto *crypto;
    pu_sigcache *sigcache;
    pu_valcache *valcache;
    pu_params params;
    pu_keypair w[TU_WALLETS];
    pu_block *genesis;
} tu_env;

/** Params for tests: maturity 0, 1-second spacing, fixed target at about 16
 * hashes per block; genesis pays 100 coins to each wallet (two outputs of
 * 50).  Returns 0 on success. */
int tu_env_init(tu_env *e);
void tu_env_release(tu_env *e);
/** A chain on e's genesis sharing e's caches (valcache may be skipped). */
pu_chain *tu_chain(tu_env *e, bool share_valcache);

/** Payment from wallet `from` to address `to` of `amount`, fee `fee`,
 * spending the smallest set of from's coins in ch's UTXO set (largest
 * first), change back to from.  NULL if funds are short. */
pu_tx *tu_pay(tu_env *e, const pu_chain *ch, int from, const pu_addr *to, pu_amount amount,
              pu_amount fee);
/** Same, spending exactly the given outpoint. */
pu_tx *tu_pay_from(tu_env *e, const pu_outpoint *op, pu_amount in_amount, int from,
                   const pu_addr *to, pu_amount amount, pu_amount fee);

/** Block on ch's tip with txs (NULL: mempool template) paid to wallet
 * `miner`, timestamp now_s, nonce ground until the target is met. */
pu_block *tu_mine(tu_env *e, pu_chain *ch, pu_tx *const *txs, size_t n, int miner, uint64_t now_s);
/** Grind the nonce of a draft and finalize it. */
void tu_grind(tu_env *e, pu_block *draft);
/** mine + add; returns the add result reason. */
pu_reason tu_mine_add(tu_env *e, pu_chain *ch, pu_tx *const *txs, size_t n, int miner,
                      uint64_t now_s, pu_block **out);
/** Full-state digest of a chain: UTXO digest || tip || sorted mempool ids. */
void tu_state_digest(tu_env *e, const pu_chain *ch, pu_hash32 *out);

#endif
