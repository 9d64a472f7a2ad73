/* sim/cmd_chain.h -- `pouwsim chain FILE.sqlite ...`: read the SQLite chain
 * database a run wrote with --db (core/store), without changing it.
 *
 *   summary (default)   what wrote it (scenario, seed, node, consensus), the
 *                       rules (meta params), tip, blocks stored (active
 *                       chain and side branches), transactions by kind, PoUW
 *                       blocks, UTXO set size, supply and locks
 *   blocks [--from H] [--to H]
 *                       every stored block with a height in [H, H]: hash,
 *                       time, transactions, bytes, PoUW or not, active or side
 *   block HASH|HEIGHT   header field by field, the PoUW proof's iteration,
 *                       every transaction (HASH may be a unique prefix of 8+
 *                       hex digits; a height means the active chain's block)
 *   tx TXID             kind, body, inputs (with the coins they spend when the
 *                       database holds them), outputs (spent or not), fee,
 *                       locks, the blocks holding it, its OP_RETURN decoded
 *   balance ADDRESS     the address's coins in the stored UTXO set: spendable
 *                       (immature coinbase outputs counted apart) and locked
 *   verify              rebuilds the chain from genesis with core/store's
 *                       reload: every block re-validated by core/chain under
 *                       the recorded parameters and (consensus pouw) the
 *                       recorded PoUW ledger rules, then tip and UTXO set
 *                       compared row by row; the first failure is named.  A
 *                       database holds no model states, so PoUW proofs are
 *                       checked up to data resolution and not re-executed
 *                       (counted in the report).  --fmnist-dir DIR and
 *                       --mnist-dir DIR: where the real data sets are, for
 *                       the batch checks (defaults as in core/task).
 *
 * Text by default, --json for scripts (sim/report).  The file is opened
 * read-only and never created.  Exit status: 0 ok; 1 verify found the
 * database invalid, or a system failure; 2 bad usage, a file that is not a
 * pouwsim chain database, or an item that is not there. */
#ifndef SIM_CMD_CHAIN_H
#define SIM_CMD_CHAIN_H

#include <stdio.h>

/** Runs `chain ARGS...` (argv[0] is the database path). */
int sim_cmd_chain(int argc, char **argv, FILE *out, FILE *err);

extern const char sim_cmd_chain_usage[];

#endif
