/* sim/net.c -- the transport model.  See net.h for the model. */
#include "sim/net.h"

#include <stdlib.h>
#include <string.h>

#include "core/detmath.h"

__extension__ typedef unsigned __int128 u128;

/* Mbit/s of SimBlock's 2019 measured data, in bits/s (22.8 Mbit/s = 22,800,000). */
static const uint64_t BITCOIN_DOWN_BPS[6] = {52000000, 40000000, 18000000,
                                             22800000, 22800000, 29900000};
static const uint64_t BITCOIN_UP_BPS[6] = {19200000, 20700000, 5800000,
                                           15700000, 10200000, 11300000};

const uint64_t *sim_net_bitcoin_down_bps(uint32_t *count)
{
    *count = 6;
    return BITCOIN_DOWN_BPS;
}

const uint64_t *sim_net_bitcoin_up_bps(uint32_t *count)
{
    *count = 6;
    return BITCOIN_UP_BPS;
}

/* Structure of arrays: a send touches two nodes' entries in a few arrays,
 * and per-node records would drag unrelated fields into cache. */
struct sim_net {
    uint32_t n;
    const sim_topo *topo;
    const sim_latency *lat;
    uint64_t inter_bps;
    double loss_prob;
    double log_loss;       /* ln(loss_prob), precomputed (deterministic log) */
    uint64_t loss_timeout;
    uint64_t *up_free, *down_free;
    uint64_t *up_bps, *down_bps;
    uint32_t *group;
    uint8_t *region;
    uint8_t *online;
    sim_rng *lat_rng, *loss_rng;
};

size_t sim_net_bytes_per_node(void)
{
    return 4 * sizeof(uint64_t) + sizeof(uint32_t) + 2 * sizeof(uint8_t) + 2 * sizeof(sim_rng);
}

uint64_t sim_net_ser_ns(uint64_t size_bytes, uint64_t bps)
{
    if (bps == 0)
        return UINT64_MAX;
    u128 bits_ns = (u128)size_bytes * 8u * 1000000000u;
    u128 t = (bits_ns + bps - 1) / bps;
    return t > UINT64_MAX ? UINT64_MAX : (uint64_t)t;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t sat_mul(uint64_t a, uint64_t b)
{
    return a && b > UINT64_MAX / a ? UINT64_MAX : a * b;
}

static uint64_t max64(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

static pu_err check_params(const sim_net_params *p, uint32_t nreg)
{
    if (p->n == 0 || !p->topo || !p->latency || sim_topo_n(p->topo) != p->n || nreg > 256)
        return PU_ERR_RANGE;
    if (!(p->loss_prob >= 0.0 && p->loss_prob < 1.0))
        return PU_ERR_RANGE;
    for (uint32_t i = 0; p->region && i < p->n; i++)
        if (p->region[i] >= nreg)
            return PU_ERR_RANGE;
    switch (p->bw_kind) {
    case SIM_NET_BW_UNIFORM:
        return p->up_bps && p->down_bps ? PU_OK : PU_ERR_RANGE;
    case SIM_NET_BW_REGION:
        if (!p->region_up_bps || !p->region_down_bps)
            return PU_ERR_RANGE;
        for (uint32_t r = 0; r < nreg; r++)
            if (!p->region_up_bps[r] || !p->region_down_bps[r])
                return PU_ERR_RANGE;
        return PU_OK;
    case SIM_NET_BW_PER_NODE:
        if (!p->node_up_bps || !p->node_down_bps)
            return PU_ERR_RANGE;
        for (uint32_t i = 0; i < p->n; i++)
            if (!p->node_up_bps[i] || !p->node_down_bps[i])
                return PU_ERR_RANGE;
        return PU_OK;
    }
    return PU_ERR_RANGE;
}

static void fill_bandwidth(sim_net *net, const sim_net_params *p)
{
    for (uint32_t i = 0; i < net->n; i++) {
        switch (p->bw_kind) {
        case SIM_NET_BW_UNIFORM:
            net->up_bps[i] = p->up_bps;
            net->down_bps[i] = p->down_bps;
            break;
        case SIM_NET_BW_REGION:
            net->up_bps[i] = p->region_up_bps[net->region[i]];
            net->down_bps[i] = p->region_down_bps[net->region[i]];
            break;
        case SIM_NET_BW_PER_NODE:
            net->up_bps[i] = p->node_up_bps[i];
            net->down_bps[i] = p->node_down_bps[i];
            break;
        }
    }
}

pu_err sim_net_new(const sim_net_params *p, const sim_rng_root *root, sim_net **out)
{
    *out = NULL;
    uint32_t nreg = p->nregions ? p->nregions : 1;
    pu_err rc = check_params(p, nreg);
    if (rc != PU_OK)
        return rc;
    sim_net *net = calloc(1, sizeof *net);
    if (!net)
        return PU_ERR_NOMEM;
    size_t n = p->n;
    net->n = p->n;
    net->topo = p->topo;
    net->lat = p->latency;
    net->inter_bps = p->inter_region_bps;
    net->loss_prob = p->loss_prob;
    net->log_loss = p->loss_prob > 0.0 ? pu_det_log(p->loss_prob) : 0.0;
    net->loss_timeout = p->loss_timeout_ns;
    net->up_free = calloc(n, sizeof(uint64_t));
    net->down_free = calloc(n, sizeof(uint64_t));
    net->up_bps = malloc(n * sizeof(uint64_t));
    net->down_bps = malloc(n * sizeof(uint64_t));
    net->group = calloc(n, sizeof(uint32_t));
    net->region = calloc(n, 1);
    net->online = malloc(n);
    net->lat_rng = malloc(n * sizeof(sim_rng));
    net->loss_rng = malloc(n * sizeof(sim_rng));
    if (!net->up_free || !net->down_free || !net->up_bps || !net->down_bps || !net->group ||
        !net->region || !net->online || !net->lat_rng || !net->loss_rng) {
        sim_net_free(net);
        return PU_ERR_NOMEM;
    }
    if (p->region)
        memcpy(net->region, p->region, n);
    memset(net->online, 1, n);
    fill_bandwidth(net, p);
    for (uint32_t i = 0; i < net->n; i++) {
        net->lat_rng[i] = sim_rng_stream(root, SIM_RNG_LATENCY, i);
        net->loss_rng[i] = sim_rng_stream(root, SIM_RNG_LOSS, i);
    }
    *out = net;
    return PU_OK;
}

void sim_net_free(sim_net *net)
{
    if (!net)
        return;
    free(net->up_free);
    free(net->down_free);
    free(net->up_bps);
    free(net->down_bps);
    free(net->group);
    free(net->region);
    free(net->online);
    free(net->lat_rng);
    free(net->loss_rng);
    free(net);
}

sim_net_reach sim_net_reachable(const sim_net *net, uint32_t from, uint32_t to)
{
    if (from >= net->n || !net->online[from])
        return SIM_NET_SENDER_OFFLINE;
    if (to >= net->n || !net->online[to])
        return SIM_NET_RECEIVER_OFFLINE;
    if (net->group[from] != net->group[to])
        return SIM_NET_PARTITIONED;
    return SIM_NET_REACHABLE;
}

/* K ~ Geometric: floor(ln U / ln p) with U in (0, 1] has P(K >= k) = p^k. */
static uint64_t draw_losses(sim_net *net, uint32_t from)
{
    if (net->loss_prob <= 0.0)
        return 0;
    double u = 1.0 - sim_rng_unit(&net->loss_rng[from]);
    double k = pu_det_log(u) / net->log_loss;
    return k >= (double)SIM_NET_MAX_LOSSES ? SIM_NET_MAX_LOSSES : (uint64_t)k;
}

/* The two ends' bandwidths of a from -> to transfer, inter-region cap applied. */
static void link_bps(const sim_net *net, uint32_t from, uint32_t to, uint64_t *up, uint64_t *down)
{
    *up = net->up_bps[from];
    *down = net->down_bps[to];
    if (net->inter_bps && net->region[from] != net->region[to]) {
        *up = *up < net->inter_bps ? *up : net->inter_bps;
        *down = *down < net->inter_bps ? *down : net->inter_bps;
    }
}

uint64_t sim_net_idle_ns(const sim_net *net, uint32_t from, uint32_t to, uint64_t size_bytes,
                         uint64_t lat_ns)
{
    uint64_t up, down;
    link_bps(net, from, to, &up, &down);
    return sat_add(lat_ns, max64(sim_net_ser_ns(size_bytes, up), sim_net_ser_ns(size_bytes, down)));
}

pu_err sim_net_send(sim_net *net, uint64_t now_ns, uint32_t from, uint32_t to,
                    uint64_t size_bytes, uint64_t *arrival_ns)
{
    *arrival_ns = SIM_NET_NEVER;
    if (from >= net->n || to >= net->n || from == to)
        return PU_ERR_RANGE;
    if (sim_net_reachable(net, from, to) != SIM_NET_REACHABLE)
        return PU_ERR_STATE;
    uint64_t up, down;
    link_bps(net, from, to, &up, &down);
    uint64_t lat;
    pu_err rc = sim_latency_sample(net->lat, &net->lat_rng[from], from, to, net->region[from],
                                   net->region[to], &lat);
    if (rc != PU_OK)
        return rc;
    uint64_t up_start = max64(now_ns, net->up_free[from]);
    uint64_t up_end = sat_add(up_start, sim_net_ser_ns(size_bytes, up));
    uint64_t down_start = max64(sat_add(up_start, lat), net->down_free[to]);
    uint64_t down_end = sat_add(down_start, sim_net_ser_ns(size_bytes, down));
    net->up_free[from] = up_end;
    net->down_free[to] = down_end;
    uint64_t arrival = max64(down_end, sat_add(up_end, lat));
    uint64_t k = draw_losses(net, from);
    if (k)
        arrival = sat_add(arrival, sat_mul(k, net->loss_timeout));
    *arrival_ns = arrival;
    return PU_OK;
}

uint32_t sim_net_n(const sim_net *net)
{
    return net->n;
}

const uint32_t *sim_net_neighbors(const sim_net *net, uint32_t v, uint32_t *count)
{
    return sim_topo_neighbors(net->topo, v, count);
}

uint32_t sim_net_degree(const sim_net *net, uint32_t v)
{
    return sim_topo_degree(net->topo, v);
}

uint8_t sim_net_region(const sim_net *net, uint32_t v)
{
    return v < net->n ? net->region[v] : 0;
}

pu_err sim_net_set_online(sim_net *net, uint32_t v, bool online)
{
    if (v >= net->n)
        return PU_ERR_RANGE;
    net->online[v] = online ? 1 : 0;
    return PU_OK;
}

bool sim_net_online(const sim_net *net, uint32_t v)
{
    return v < net->n && net->online[v];
}

void sim_net_set_partition(sim_net *net, const uint32_t *groups)
{
    if (groups)
        memcpy(net->group, groups, (size_t)net->n * sizeof *groups);
    else
        memset(net->group, 0, (size_t)net->n * sizeof *net->group);
}

uint32_t sim_net_group(const sim_net *net, uint32_t v)
{
    return v < net->n ? net->group[v] : 0;
}

uint64_t sim_net_uplink_free(const sim_net *net, uint32_t v)
{
    return v < net->n ? net->up_free[v] : 0;
}

uint64_t sim_net_downlink_free(const sim_net *net, uint32_t v)
{
    return v < net->n ? net->down_free[v] : 0;
}
