/* sim/net.h -- the transport model: when a message of a given size sent now
 * from one node to another is completely received.  No message contents.
 *
 * Model of sim_net_send(now, from, to, size):
 *   up    = from's upload bandwidth, down = to's download bandwidth, each
 *           capped at inter_region_bps when the two nodes' regions differ;
 *   ser(b) = ceil(size * 8 * 10^9 / b) ns, exact integer arithmetic;
 *   lat   = sim_latency_sample(from, to) (per-message jitter draws from the
 *           sender's own SIM_RNG_LATENCY stream, owner = node id);
 *   up_start   = max(now, uplink_free[from]);   uplink FIFO per sender
 *   up_end     = up_start + ser(up);             uplink_free[from] = up_end
 *   down_start = max(up_start + lat, downlink_free[to]);  FIFO per receiver
 *   down_end   = down_start + ser(down);         downlink_free[to] = down_end
 *   arrival    = max(down_end, up_end + lat) + K * loss_timeout_ns.
 * The transfer is cut-through: the first bit reaches the receiver lat after
 * it left, the last bit cannot arrive before up_end + lat, and the receiver
 * cannot take it faster than its downlink, so the slower side dominates
 * (latency + size / min(up, down) for an idle pair; not store-and-forward,
 * which would count the size twice).  Each link direction is charged only
 * its own serialisation time: a slow sender does not block a fast receiver
 * from taking other messages in parallel.
 * K, the number of losses, is geometric: P(K >= k) = loss_prob^k, drawn
 * from the sender's SIM_RNG_LOSS stream (no draw when loss_prob == 0).  A
 * loss is modelled as pure delay (a retransmission timeout); it does not
 * re-occupy the links and does not delay later messages.
 *
 * Drops: a message whose sender or receiver is offline, or whose ends are
 * in different partition groups, is not sent: sim_net_send returns
 * PU_ERR_STATE, sets *arrival_ns = SIM_NET_NEVER and changes no state (no
 * uplink time, no draws).  The check is made at send time; a simulator that
 * wants in-flight messages cut by a later partition checks
 * sim_net_reachable again at delivery.
 *
 * The transport does not require from and to to be neighbours in the
 * topology (fetches may go to any peer); the topology is kept for
 * neighbour queries.
 *
 * Memory: 62 bytes per node in flat arrays (uplink/downlink free times and
 * bandwidths 4 x 8, partition group 4, region 1, online 1, two 12-byte rng
 * streams) plus the borrowed topology and latency model. */
#ifndef SIM_NET_H
#define SIM_NET_H

#include "core/types.h"
#include "sim/latency.h"
#include "sim/rng.h"
#include "sim/topo.h"

/** Arrival time of a dropped message. */
#define SIM_NET_NEVER UINT64_MAX
/** Cap on retransmissions of one message (only reachable when loss_prob is
 * close to 1). */
#define SIM_NET_MAX_LOSSES 1000u

typedef enum sim_net_bw_kind {
    SIM_NET_BW_UNIFORM = 0, /* up_bps / down_bps for every node */
    SIM_NET_BW_REGION,      /* region_up_bps[region] / region_down_bps[region] */
    SIM_NET_BW_PER_NODE,    /* node_up_bps[i] / node_down_bps[i] */
} sim_net_bw_kind;

/** Zero-initialise and fill in.  Arrays are copied; topo and latency are
 * borrowed and must outlive the net.  All bandwidths in bits/s, > 0. */
typedef struct sim_net_params {
    uint32_t n;
    const sim_topo *topo;          /* sim_topo_n(topo) == n */
    const sim_latency *latency;
    const uint8_t *region;         /* n entries < nregions; NULL = all 0 */
    uint32_t nregions;             /* 1..256 (0 is read as 1) */
    sim_net_bw_kind bw_kind;
    uint64_t up_bps, down_bps;                       /* UNIFORM */
    const uint64_t *region_up_bps, *region_down_bps; /* REGION: nregions each */
    const uint64_t *node_up_bps, *node_down_bps;     /* PER_NODE: n each */
    uint64_t inter_region_bps;     /* cap between different regions; 0 = none */
    double loss_prob;              /* per transmission, in [0, 1) */
    uint64_t loss_timeout_ns;      /* delay per loss */
} sim_net_params;

/** Why a message would be dropped. */
typedef enum sim_net_reach {
    SIM_NET_REACHABLE = 0,
    SIM_NET_SENDER_OFFLINE,
    SIM_NET_RECEIVER_OFFLINE,
    SIM_NET_PARTITIONED,
} sim_net_reach;

typedef struct sim_net sim_net;

/** root seeds each node's SIM_RNG_LATENCY and SIM_RNG_LOSS streams (owner =
 * node id).  All nodes start online, in partition group 0, with idle links.
 * PU_ERR_RANGE for inconsistent parameters, PU_ERR_NOMEM. */
PU_NODISCARD pu_err sim_net_new(const sim_net_params *p, const sim_rng_root *root,
                                sim_net **out);
void sim_net_free(sim_net *net);

/** See the model above.  PU_OK: *arrival_ns is when `to` has the whole
 * message.  PU_ERR_STATE: dropped (offline or partitioned), *arrival_ns =
 * SIM_NET_NEVER.  PU_ERR_RANGE: from or to >= n, or from == to, or (REGION
 * latency) a node's region lies outside the latency matrix. */
PU_NODISCARD pu_err sim_net_send(sim_net *net, uint64_t now_ns, uint32_t from, uint32_t to,
                                 uint64_t size_bytes, uint64_t *arrival_ns);
/** Whether a message from -> to would be delivered now (an id >= n counts
 * as offline). */
sim_net_reach sim_net_reachable(const sim_net *net, uint32_t from, uint32_t to);

uint32_t sim_net_n(const sim_net *net);
/** Neighbours in the topology (borrowed from it; see sim_topo_neighbors). */
const uint32_t *sim_net_neighbors(const sim_net *net, uint32_t v, uint32_t *count);
uint32_t sim_net_degree(const sim_net *net, uint32_t v);
uint8_t sim_net_region(const sim_net *net, uint32_t v);

/** PU_ERR_RANGE if v >= n. */
PU_NODISCARD pu_err sim_net_set_online(sim_net *net, uint32_t v, bool online);
bool sim_net_online(const sim_net *net, uint32_t v);
/** groups: n group ids, copied; NULL heals (everyone in group 0). */
void sim_net_set_partition(sim_net *net, const uint32_t *groups);
uint32_t sim_net_group(const sim_net *net, uint32_t v);

/** When v's uplink / downlink finishes its queued transfers. */
uint64_t sim_net_uplink_free(const sim_net *net, uint32_t v);
uint64_t sim_net_downlink_free(const sim_net *net, uint32_t v);

/** Exact transfer time in ns of size_bytes at bps: ceil(size * 8e9 / bps),
 * saturating at UINT64_MAX (bps == 0 gives UINT64_MAX). */
uint64_t sim_net_ser_ns(uint64_t size_bytes, uint64_t bps);

/** Time for size_bytes from -> to on idle links with one-way latency lat_ns:
 * lat + the slower side's serialisation (the model above without queueing
 * or loss).  UINT64_MAX (saturated) for impossible values. */
uint64_t sim_net_idle_ns(const sim_net *net, uint32_t from, uint32_t to, uint64_t size_bytes,
                         uint64_t lat_ns);

/** Bytes held per node by a sim_net (the flat arrays). */
size_t sim_net_bytes_per_node(void);

/** Bitcoin 2019 per-region bandwidth (SimBlock's measured data, order NA, EU, SA,
 * AP, JP, AU), bits/s, 6 entries each; and the 6 Mbit/s inter-region cap. */
const uint64_t *sim_net_bitcoin_down_bps(uint32_t *count);
const uint64_t *sim_net_bitcoin_up_bps(uint32_t *count);
#define SIM_NET_BITCOIN_INTER_REGION_BPS UINT64_C(6000000)

#endif
