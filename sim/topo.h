/* sim/topo.h -- undirected peer graphs and region assignment.
 *
 * A sim_topo is a compressed sparse row (CSR) graph over nodes 0..n-1: an
 * offsets array (n + 1 u32) and one sorted neighbour list per node (u32 ids),
 * each undirected edge stored in both lists.  Memory: 4 (n + 1) + 8 E bytes
 * (E undirected edges).  u32 offsets bound 2E below 2^32 (PU_ERR_RANGE).
 *
 * Every generator is a pure function of its parameters and of the rng stream
 * passed in (it advances that stream), and returns a connected graph with no
 * self loops or duplicate edges.  Where the random construction leaves
 * several components they are joined deterministically: components are
 * ordered by their smallest node id, and component c (c >= 1) gets one edge
 * from a uniformly drawn member of it to a uniformly drawn member of
 * components 0..c-1.
 *
 * Run-time changes (eclipse attacks rewiring a victim) use sim_topo_add_edge
 * and sim_topo_remove_edge, which shift the CSR arrays: O(n + E) each, about
 * a millisecond at 100,000 nodes x 8 peers -- fine for rare rewiring, not
 * for churn-heavy workloads (those would want per-node slack in the lists).
 * Neighbour pointers returned earlier are invalid after a change. */
#ifndef SIM_TOPO_H
#define SIM_TOPO_H

#include "core/types.h"
#include "sim/rng.h"

typedef struct sim_topo sim_topo;

/** Default inbound cap of the Bitcoin-like generator (Bitcoin Core's 125). */
#define SIM_TOPO_BITCOIN_MAX_INBOUND 125u

/** Every pair connected.  PU_ERR_RANGE if n == 0 or n (n - 1) >= 2^32. */
PU_NODISCARD pu_err sim_topo_new_full(uint32_t n, sim_topo **out);

/** Random graph in which every node has degree >= d (d is capped at n - 1).
 * Nodes are processed in id order; a node short of d peers links to nodes
 * drawn uniformly from those still short of d (excluding itself and current
 * neighbours), and only when none is left, from all other nodes.  So the
 * graph is nearly d-regular: degrees d or d + 1 except for a few nodes.
 * PU_ERR_RANGE if n == 0 or d == 0 with n > 1. */
PU_NODISCARD pu_err sim_topo_new_random(uint32_t n, uint32_t d, sim_rng *rng, sim_topo **out);

/** Bitcoin-like: node v (in id order) draws an outbound count k from the
 * cumulative distribution cdf[0..ncdf-1] (P(k <= i + 1) = cdf[i]; NULL means
 * the 2015 measurement of Miller et al., k in 1..20) and connects to k
 * distinct peers drawn uniformly among nodes that are not v, not already
 * linked to v (either direction) and have fewer than max_inbound inbound
 * links.  Fewer than k if not enough peers qualify.  Edges are undirected.
 * PU_ERR_RANGE for n == 0, max_inbound == 0, or a cdf that is not
 * non-decreasing in [0, 1] ending at 1. */
PU_NODISCARD pu_err sim_topo_new_bitcoin(uint32_t n, uint32_t max_inbound, const double *cdf,
                                         uint32_t ncdf, sim_rng *rng, sim_topo **out);

/** Watts-Strogatz: ring lattice where each node links to its k/2 nearest
 * neighbours on each side, then for j = 1..k/2 and each node i in order,
 * with probability beta the edge (i, i + j mod n) -- if still present -- is
 * replaced by (i, w), w uniform among nodes not i and not linked to i.
 * PU_ERR_RANGE unless k is even, 2 <= k < n, 0 <= beta <= 1. */
PU_NODISCARD pu_err sim_topo_new_small_world(uint32_t n, uint32_t k, double beta, sim_rng *rng,
                                             sim_topo **out);

/** Barabasi-Albert: starts from a clique on nodes 0..m; each later node v
 * links to m distinct earlier nodes drawn with probability proportional to
 * their degree (uniform draws from the list of edge endpoints).  Degree
 * tail P(deg >= k) ~ m (m + 1) / (k (k + 1)).  PU_ERR_RANGE unless
 * 1 <= m < n. */
PU_NODISCARD pu_err sim_topo_new_scale_free(uint32_t n, uint32_t m, sim_rng *rng, sim_topo **out);

/** Edge list text: one "a b" pair of decimal node ids per line, separated by
 * spaces or tabs; '#' starts a comment (whole line or after the pair); blank
 * lines are skipped.  Ids must be < n.  A self loop ("a a") is an error;
 * a duplicate edge, in either orientation, is ignored (edge lists often list
 * both directions).  If the graph is not connected: with join_rng, the
 * components are joined as described above; with join_rng NULL it is an
 * error.  Errors are PU_ERR_PARSE (with the 1-based line in msg, e.g.
 * "line 7: node id 12 >= n (10)") or PU_ERR_INVALID (not connected); msg may
 * be NULL.  text need not be NUL-terminated. */
PU_NODISCARD pu_err sim_topo_parse_edges(const char *text, size_t len, uint32_t n,
                                         sim_rng *join_rng, sim_topo **out, char *msg,
                                         size_t msg_cap);
/** As sim_topo_parse_edges, reading a file (PU_ERR_IO if unreadable); msg
 * starts with the path ("edges.txt: line 7: ..."). */
PU_NODISCARD pu_err sim_topo_load_edges(const char *path, uint32_t n, sim_rng *join_rng,
                                        sim_topo **out, char *msg, size_t msg_cap);

void sim_topo_free(sim_topo *t);

uint32_t sim_topo_n(const sim_topo *t);
/** Number of undirected edges. */
uint64_t sim_topo_edges(const sim_topo *t);
/** Degree of v (0 if v >= n). */
uint32_t sim_topo_degree(const sim_topo *t, uint32_t v);
/** v's neighbours in increasing id order; *count gets the degree.  Borrowed,
 * valid until the topology is changed or freed.  NULL, 0 if v >= n. */
const uint32_t *sim_topo_neighbors(const sim_topo *t, uint32_t v, uint32_t *count);
/** True if a and b are linked (binary search). */
bool sim_topo_has_edge(const sim_topo *t, uint32_t a, uint32_t b);
/** *out = whether every node is reachable from node 0.  PU_ERR_NOMEM. */
PU_NODISCARD pu_err sim_topo_connected(const sim_topo *t, bool *out);

/** Add the edge a-b.  PU_ERR_RANGE (ids, self loop), PU_ERR_EXISTS,
 * PU_ERR_NOMEM. */
PU_NODISCARD pu_err sim_topo_add_edge(sim_topo *t, uint32_t a, uint32_t b);
/** Remove the edge a-b.  PU_ERR_NOTFOUND if absent.  May disconnect the
 * graph: that is the caller's intent (eclipse) or responsibility. */
PU_NODISCARD pu_err sim_topo_remove_edge(sim_topo *t, uint32_t a, uint32_t b);

/** Region of each node: exact counts by largest remainder of n * share / sum
 * (ties to the lower region index), laid out region by region and then
 * shuffled with rng (Fisher-Yates).  out has n entries.  PU_ERR_RANGE if
 * nregions is 0 or > 256, or a share is negative / not finite, or the sum is
 * not > 0. */
PU_NODISCARD pu_err sim_topo_regions(uint32_t n, const double *shares, uint32_t nregions,
                                     sim_rng *rng, uint8_t *out);

/** The 2015 Bitcoin outbound-degree CDF (Miller et al. 2015), 20 entries. */
const double *sim_topo_bitcoin_degree_cdf(uint32_t *count);
/** Bitcoin node share per region, 2019 (SimBlock's measured data; order NA, EU,
 * SA, AP, JP, AU), 6 entries. */
const double *sim_topo_bitcoin_region_shares(uint32_t *count);

#endif
