/* sim/txflood.h -- transaction propagation without a message per link
 * (network.tx_model: flood).
 *
 * In the messages model every transaction crosses every link as real
 * messages (an announcement, a request, the transaction): at N nodes and a
 * steady payment rate that is O(N x degree) events per transaction, hundreds
 * of millions per simulated day at 1,000 nodes.  The flood model computes,
 * for a transaction accepted at its origin o at time t, when it reaches
 * every node v: t + D_o(v), the first-passage time of the relay policy over
 * the topology:
 *   announce (network.tx_relay): a node that accepted it waits T (its next
 *     trickle: exponential, mean network.tx_trickle), then announces it to
 *     all its peers at once; a peer asks the first announcer and has the
 *     transaction a round trip later:
 *       D(w) = [min over peers v: D(v) + T_v + lat(v,w) + inv] (first announcer v*)
 *              + lat(w,v*) + getdata + lat(v*,w) + tx + CPU check at w
 *   push: D(w) = min over peers v: D(v) + lat(v,w) + tx + CPU check at w
 * where lat is a latency drawn from the latency model (per-message jitter:
 * a draw per message; per-link: the link's own value), inv, getdata and tx
 * are serialisation times on idle links from the bandwidth model
 * (SIM_TXFLOOD_TX_BYTES for a transaction), and the CPU check is
 * cpu.verify_tx + cpu.verify_signature (one input).  D_o is computed by
 * Dijkstra once per origin and *sample*: there are network.tx_flood_samples
 * samples, each one draw of every link's three message latencies (shared by
 * all origins; stream SIM_RNG_FLOOD, owner 2^64 - 2 - sample) and, per
 * origin, one draw of every node's trickle wait (owner = origin x samples +
 * sample); a transaction uses the sample picked by its txid, so transactions
 * of one origin follow one of a few flood patterns rather than each its own.
 *
 * Relays that lag.  A transaction spending a coin of block B is refused by
 * a node that has not connected B when the transaction reaches it (in the
 * messages model: missing-input, and the node never asks again, since every
 * peer announces once).  The flood keeps, per block, when each node first
 * connected it (sim_txflood_connected) and a transaction's dependency (the
 * newest block whose coin it spends, at its origin): a node whose arrival
 * comes before it connected that block never has the transaction in its
 * implicit mempool.  Its neighbours still receive it from it: refusals do
 * not cut the flood.
 *
 * Left out (use tx_model: messages to study them): queueing behind other
 * transfers on a link and behind other work at a node's CPU (and so the
 * order of a transaction and a block on one link); loss; churn and partitions (a transaction reaches a node
 * that is offline or cut off as if it were not -- roughly what the messages
 * model's mempool request on rejoin restores); any other refusal at relays
 * (every node takes what its origin accepted); a refusal cutting the flood;
 * mempool capacity; a transaction confirmed in a node's chain before it
 * reached the node.
 *
 * Mempools.  A node that builds blocks (the engine marks it keeps_mempool:
 * every miner) keeps a real mempool: a transaction enters it through
 * pu_chain_add_tx at its arrival time (an event per miner and transaction).
 * Every other node's mempool is implicit: it holds a transaction from its
 * arrival there until the node's chain confirms it.  Compact-block
 * reconstruction and the validation CPU charged per block ask the implicit
 * mempool.  The origin itself takes the transaction through its real
 * pu_chain_add_tx, so every refusal rule still applies where it is created.
 *
 * Memory: 4 bytes per node per (origin, sample), allocated at an origin's
 * first transaction; 24 bytes per directed link per sample; 8 bytes per node
 * per block (connection times); 64 bytes per transaction; a small record per
 * block. */
#ifndef SIM_TXFLOOD_H
#define SIM_TXFLOOD_H

#include "core/block.h"
#include "core/valcache.h"
#include "sim/latency.h"
#include "sim/net.h"
#include "sim/rng.h"

/** Size of the transaction whose transfer time the flood charges per hop. */
#define SIM_TXFLOOD_TX_BYTES 600u

typedef struct sim_txflood sim_txflood;

/** How a hop works: the costs a flood is computed from. */
typedef struct sim_txflood_params {
    bool announce;               /* network.tx_relay announce (else push) */
    uint64_t trickle_ns;         /* announce: mean wait before announcing */
    uint64_t check_ns;           /* CPU check of a transaction at the receiver */
    uint32_t samples;            /* patterns per origin, >= 1 */
} sim_txflood_params;

/** net, lat and vc are borrowed and must outlive the flood.  root seeds the
 * SIM_RNG_FLOOD streams. */
PU_NODISCARD pu_err sim_txflood_new(const sim_txflood_params *p, const sim_net *net,
                                    const sim_latency *lat, pu_valcache *vc,
                                    const sim_rng_root *root, sim_txflood **out);
void sim_txflood_free(sim_txflood *f);

/** tx was accepted at its origin at now_ns: from now on it reaches every
 * node at its flood arrival time.  dep: the record id of the newest block
 * whose coin it spends (UINT32_MAX: none worth tracking, e.g. genesis).
 * PU_ERR_EXISTS if already flooding. */
PU_NODISCARD pu_err sim_txflood_add(sim_txflood *f, const pu_tx *tx, uint32_t origin,
                                    uint32_t dep, uint64_t now_ns);
/** Node v connected the block of record id `id` for the first time, now.
 * With accept (may be NULL), called for every flooding transaction that
 * depends on that block and reaches v at or after now: v will accept it at
 * that arrival time (told once, here: see sim_txflood_decided). */
typedef void (*sim_txflood_accept_fn)(void *arg, const pu_tx *tx, uint32_t v, uint64_t at_ns);
PU_NODISCARD pu_err sim_txflood_connected(sim_txflood *f, uint32_t id, uint32_t v, uint64_t now_ns,
                                          sim_txflood_accept_fn accept, void *arg);
/** Whether v's acceptance of a flooding transaction is decided now: true
 * with *accepts when it has no dependency or v connected it already (then
 * it accepts), false while v has not (sim_txflood_connected tells later if
 * it does in time).  Call when the transaction starts flooding. */
bool sim_txflood_decided(const sim_txflood *f, const pu_hash32 *txid, uint32_t v, bool *accepts);
/** When tx reaches node v (SIM_TXFLOOD_NEVER for a transaction that is not
 * flooding); whether v accepts it then is another matter (dependencies). */
#define SIM_TXFLOOD_NEVER UINT64_MAX
uint64_t sim_txflood_arrival(const sim_txflood *f, const pu_hash32 *txid, uint32_t v);

/** The transactions of block b (coinbase excluded) that node v's implicit
 * mempool lacks at now_ns: count, bytes and inputs.  Transactions that are
 * not flooding count as lacking.  Per-block work is done once (a record per
 * block of the transactions still spreading when it was first asked about);
 * later calls look only at those. */
typedef struct sim_txflood_missing {
    uint32_t n;
    uint64_t bytes, inputs;
} sim_txflood_missing;
PU_NODISCARD pu_err sim_txflood_missing_in(sim_txflood *f, const pu_block *b, uint32_t v,
                                           uint64_t now_ns, sim_txflood_missing *out);

/** Size of node v's implicit mempool at now_ns when its tip is `tip`:
 * transactions that reached v and are not in the chain ending at tip. */
PU_NODISCARD pu_err sim_txflood_pending(sim_txflood *f, const pu_block *tip, uint32_t v,
                                        uint64_t now_ns, uint64_t *out);

/** Memory held (profiles, transactions, block records), for figures. */
size_t sim_txflood_bytes(const sim_txflood *f);
/** Floods computed (origin, sample pairs). */
uint64_t sim_txflood_profiles(const sim_txflood *f);

#endif
