/* sim/limits.c -- memory, event-rate and money-supply estimates of a
 * scenario (see limits.h).
 *
 * Measurements behind the memory model (peak RSS, GNU time %M, 2-core
 * Debian 12 VM, this build -- blocks connected once and shared, mempools
 * as id sets into one pool, issue 11; random topology of degree 8 unless
 * said):
 *   nodes 100 / 400 / 1,600 / 6,400 / 25,600, 1 wallet, no payments, 10 s:
 *     13 / 14 / 20 / 46 / 151 MB      -> ~5.5 kB per node, ~13 MB fixed
 *   400 nodes, wallets 1 / 80,000: 19 / 97 MB -> ~1 kB per wallet (keys,
 *     coin lists; genesis coins live once, in the shared UTXO base)
 *   400 nodes, 1 s blocks for 100 / 1,600 s: 16 / 52 MB -> ~60 B per block and node
 *   400 nodes, 10 s blocks, rate 10, 200 / 800 s: 52 / 139 MB -> ~5 kB per
 *     payment shared (the transaction, its UTXO diff) + ~24 B per payment and node
 *   same under tx_model flood: 31 / 59 MB -> ~4.7 kB per payment, nothing per node
 *   a pending payment in a mempool: a pool id, its order and heap slots, ~36 B
 *   scenarios/simblock.yaml (6,000 nodes, 100 blocks, 52,802 payments, flood):
 *     508 MB (bench_sim, no HDF5 output)
 *   Bitcoin profile, 1,000 nodes, one day (results/bench.md).
 *   pouw-fashion-mnist (results/README.md): 223 MB, mostly the data set.
 * The coefficients below round these up (about 1.2-2x) so that the
 * estimate stays on the high side.  Under tx_model flood a node keeps no
 * per-payment state; the floods cost 4 bytes per node per (origin, sample),
 * 24 bytes per link per sample and 8 bytes per node per block. */
#include "sim/limits.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define KB 1e3
#define MB 1e6
#define GB 1e9

/* Per node */
#define NODE_BASE   (10 * KB)
#define PER_LINK    64.0
#define PER_BLOCK   64.0
#define PER_TX      32.0  /* relay state, per payment and node (messages model) */
#define PER_POOLED  48.0  /* one pending payment in one mempool (messages model) */
/* Whole run */
#define FIXED       (50 * MB) /* libraries, signature cache, buffers */
#define PER_WALLET  1500.0    /* keys, coin list, records */
#define PER_COIN    100.0     /* one genesis coin (once, in the shared UTXO base) */
#define PER_TX_RUN  (6 * KB)  /* the shared transaction, its UTXO diff, its records */

typedef struct shape {
    double n, links, rate, dur_s, interval_s, blocks, txs, pooled;
} shape;

/* The highest payment rate the scenario asks for, timeline included. */
static double max_rate(const sim_params *p)
{
    double r = p->transactions.rate;
    for (size_t i = 0; i < p->n_timeline; i++)
        if (p->timeline[i].action == SIM_ACTION_TX_RATE && p->timeline[i].rate > r)
            r = p->timeline[i].rate;
    return r;
}

/* Links per node (both directions) of the chosen topology. */
static double links_per_node(const sim_params *p)
{
    double n = (double)p->network.nodes, d = (double)p->network.topology.degree;
    switch (p->network.topology.model) {
    case SIM_TOPO_FULL: return n - 1;
    case SIM_TOPO_RANDOM: return fmin(2 * d, n - 1);
    case SIM_TOPO_BITCOIN: return fmin(17, n - 1); /* 8 outbound + inbound on average */
    default: return fmin(d > 8 ? d : 8, n - 1);    /* small world, scale free, a file */
    }
}

static void shape_of(const sim_params *p, shape *s)
{
    s->n = (double)p->network.nodes;
    s->links = links_per_node(p);
    s->rate = max_rate(p);
    s->dur_s = (double)p->duration_ns / 1e9;
    s->interval_s = (double)p->chain.block_interval_ns / 1e9;
    double t = s->dur_s;
    if (p->stop_after_blocks) /* mining stops then; the run ends soon after */
        t = fmin(t, ((double)p->stop_after_blocks + 2) * s->interval_s * 2);
    s->blocks = ceil(t / s->interval_s * 1.5) + 10;
    if (p->stop_after_blocks)
        s->blocks = fmin(s->blocks, (double)p->stop_after_blocks * 1.5 + 10);
    s->txs = s->rate * t;
    s->pooled = fmin(fmin((double)p->chain.mempool_capacity, s->rate * s->interval_s * 3 + 100),
                     s->txs);
}

static double dataset_bytes(const sim_params *p)
{
    if (p->consensus != SIM_CONSENSUS_POUW)
        return 0;
    switch (p->pouw.task.dataset) {
    case SIM_POUW_FMNIST: return 70000.0 * 784 * 6;
    case SIM_POUW_MNIST: return 10000.0 * 784 * 6;
    default:
        return ((double)p->pouw.task.train_size + (double)p->pouw.task.test_size) *
               (double)p->pouw.task.features * 6;
    }
}

void sim_limits_estimate(const sim_params *p, sim_limits_cost *out)
{
    shape s;
    shape_of(p, &s);
    out->blocks = s.blocks;
    bool flood = p->network.tx_model == SIM_TX_MODEL_FLOOD;
    out->node_bytes = NODE_BASE + s.links * PER_LINK + s.blocks * PER_BLOCK;
    if (flood) { /* per node: arrival times per (origin, sample), links' draws, connections */
        double samples = (double)p->network.tx_flood_samples;
        double origins = fmin(s.n, (double)p->transactions.wallets);
        out->node_bytes += s.rate > 0 ? origins * samples * 4 + s.links * samples * 24 + s.blocks * 8 : 0;
    } else {
        out->node_bytes += s.txs * PER_TX + s.pooled * PER_POOLED;
    }
    double block_bytes = fmin((double)p->chain.max_block_size, 300 + s.rate * s.interval_s * 300);
    double wallets = (double)p->transactions.wallets;
    out->mem_bytes = FIXED + s.n * out->node_bytes + wallets * PER_WALLET +
                     wallets * ((double)p->transactions.outputs + 1) * PER_COIN +
                     s.txs * PER_TX_RUN + s.blocks * block_bytes + dataset_bytes(p);
    double lossy = 1.0 / (1.0 - (double)p->network.loss_ppm / 1e6);
    double gossip = s.links * 2 + 6; /* events per node for one object */
    /* flood: a payment is an event per miner, not messages on every link */
    double per_tx = flood ? (double)p->mining.miners + 2 : s.n * gossip;
    double ev = s.rate * per_tx + s.n * gossip / s.interval_s;
    if (p->consensus == SIM_CONSENSUS_POUW) {
        double it_s = p->pouw.iteration_time_ns ? (double)p->pouw.iteration_time_ns / 1e9 : 0.01;
        ev += (double)p->pouw.miners / it_s * s.n * 2;
    }
    ev *= lossy;
    if (!flood)
        ev += s.n / ((double)p->network.tx_trickle_ns / 1e9);
    ev += s.n / ((double)p->output.sample_interval_ns / 1e9);
    out->events_per_sim_s = ev;
}

/* "1.25 GB", "340 MB", "17 kB" */
static void fmt_bytes(double b, char *buf, size_t n)
{
    if (b >= GB)
        snprintf(buf, n, "%.1f GB", b / GB);
    else if (b >= MB)
        snprintf(buf, n, "%.0f MB", b / MB);
    else
        snprintf(buf, n, "%.0f kB", b / KB);
}

/* The message is about `key`: point at it. */
static pu_err refuse(const sim_params *p, const char *key, sim_diag *d, const char *msg)
{
    if (d) {
        sim_params_diag_at(p, key, d);
        snprintf(d->msg, sizeof d->msg, "%.159s", msg);
    }
    return PU_ERR_RANGE;
}

static pu_err check_events(const sim_params *p, const sim_limits_cost *c, sim_diag *d)
{
    if (c->events_per_sim_s <= SIM_LIMITS_EVENTS_MAX)
        return PU_OK;
    shape s;
    shape_of(p, &s);
    char msg[256];
    const char *key = "network.nodes";
    if (s.rate * s.n * (s.links * 2 + 6) >= c->events_per_sim_s / 3)
        key = "transactions.rate";
    else if (s.n / ((double)p->output.sample_interval_ns / 1e9) >= c->events_per_sim_s / 3)
        key = "output.sample_interval";
    else if (s.n / ((double)p->network.tx_trickle_ns / 1e9) >= c->events_per_sim_s / 3)
        key = "network.tx_trickle";
    else if (s.n / s.interval_s * (s.links * 2 + 6) >= c->events_per_sim_s / 3)
        key = "chain.block_interval";
    snprintf(msg, sizeof msg,
             "%s: ~%.2g events per simulated second; simulated time would all but stop "
             "(limit %.0g)", key, c->events_per_sim_s, SIM_LIMITS_EVENTS_MAX);
    return refuse(p, key, d, msg);
}

static pu_err check_memory(const sim_params *p, const sim_limits_cost *c, uint64_t mem_total,
                           unsigned flags, char *warn, size_t warnlen, sim_diag *d)
{
    if (!mem_total || c->mem_bytes <= SIM_LIMITS_MEM_SHARE * (double)mem_total)
        return PU_OK;
    char need[32], have[32], per[32], msg[320];
    fmt_bytes(c->mem_bytes, need, sizeof need);
    fmt_bytes((double)mem_total, have, sizeof have);
    fmt_bytes(c->node_bytes, per, sizeof per);
    double nodes_part = (double)p->network.nodes * c->node_bytes;
    const char *key = nodes_part >= c->mem_bytes / 2 ? "network.nodes" : "transactions.wallets";
    if (dataset_bytes(p) >= c->mem_bytes / 2)
        key = "pouw.task.dataset";
    snprintf(msg, sizeof msg,
             "%s: needs ~%s of memory, over %.0f %% of this machine's %s (%s per node; "
             "rate, duration, wallets add)", key, need, SIM_LIMITS_MEM_SHARE * 100, have, per);
    if (!(flags & SIM_LIMITS_MEM_WARN))
        return refuse(p, key, d, msg);
    if (warn && warnlen)
        snprintf(warn, warnlen, "warning: %s (going on: --force)", msg);
    return PU_OK;
}

static pu_err check_supply(const sim_params *p, const sim_limits_cost *c, sim_diag *d)
{
    double genesis = (double)p->transactions.wallets * (double)p->transactions.initial_balance;
    double minted = (double)p->chain.block_reward * c->blocks;
    if (genesis + minted <= (double)PU_MAX_MONEY)
        return PU_OK;
    char msg[256];
    snprintf(msg, sizeof msg,
             "chain.block_reward: %.8g coins x up to %.0f blocks, on %.8g coins in the wallets, "
             "exceeds the 21000000-coin money supply",
             (double)p->chain.block_reward / PU_COIN, c->blocks, genesis / PU_COIN);
    return refuse(p, "chain.block_reward", d, msg);
}

pu_err sim_limits_check(const sim_params *p, uint64_t mem_total, unsigned flags, char *warn,
                        size_t warnlen, sim_diag *d)
{
    sim_limits_cost c;
    if (warn && warnlen)
        warn[0] = '\0';
    sim_limits_estimate(p, &c);
    pu_err rc = check_events(p, &c, d);
    if (rc == PU_OK)
        rc = check_supply(p, &c, d);
    if (rc == PU_OK)
        rc = check_memory(p, &c, mem_total, flags, warn, warnlen, d);
    return rc;
}
