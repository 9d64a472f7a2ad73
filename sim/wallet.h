/* sim/wallet.h -- simulated wallets and the payment workload (see the
 * comment at the top of wallet.c).  Every payment a wallet makes is reported
 * as SIM_OBS_TX_CREATED. */
#ifndef SIM_WALLET_H
#define SIM_WALLET_H

#include "sim/engine.h"

/** Wallets with deterministic keys (transactions.wallets of them), each with
 * a home node. */
PU_NODISCARD pu_err sim_wallets_new(sim_ctx *ctx, sim_wallets **out);
void sim_wallets_free(sim_wallets *w);
/** Genesis coinbase transactions funding every wallet. */
PU_NODISCARD pu_err sim_wallets_genesis(sim_ctx *ctx, sim_wallets *w, pu_block *genesis);
/** SIM_EV_TXGEN: the next payment. */
void sim_wallets_fire(sim_ctx *ctx);
/** (Re)start the Poisson stream at ctx->tx_rate. */
void sim_wallets_schedule(sim_ctx *ctx);

/** An attacker takes wallet k over: the workload stops paying from it (a
 * payment that would draw it as sender is skipped, so the other wallets'
 * draws do not move) and *key gets its key.  PU_ERR_RANGE for no such
 * wallet. */
PU_NODISCARD pu_err sim_wallets_take(sim_ctx *ctx, uint32_t k, pu_keypair *key);
/** The largest coin wallet k knows of that the UTXO set u holds; false when
 * there is none. */
bool sim_wallets_coin(const sim_ctx *ctx, uint32_t k, const pu_utxo *u, pu_outpoint *op,
                      pu_amount *amount);

#endif
