/* tests/sim/test_net.c -- exact arrival times on small topologies, link
 * queueing, bottlenecks, the inter-region cap, drops, and loss. */
#include <math.h>
#include <string.h>

#include "sim/net.h"
#include "tests/harness.h"

#define MS UINT64_C(1000000)

typedef struct fixture {
    pu_crypto *c;
    sim_rng_root root;
    sim_topo *topo;
    sim_latency *lat;
    sim_net_params p;
    sim_net *net;
} fixture;

/* a(0) - b(1) - c(2), constant latency lat_ns, uniform bandwidth bps. */
static void fx_line(fixture *f, uint64_t lat_ns, uint64_t bps)
{
    memset(f, 0, sizeof *f);
    CU_ASSERT_FATAL(pu_crypto_new(&f->c) == PU_OK);
    sim_rng_root_init(&f->root, f->c, 77);
    const char *edges = "0 1\n1 2\n";
    CU_ASSERT_FATAL(sim_topo_parse_edges(edges, strlen(edges), 3, NULL, &f->topo, NULL, 0) ==
                    PU_OK);
    sim_latency_params lp;
    memset(&lp, 0, sizeof lp);
    lp.kind = SIM_LAT_CONSTANT;
    lp.const_ns = lat_ns;
    pu_hash32 key;
    sim_rng_key(&f->root, SIM_RNG_LATENCY, SIM_RNG_OWNER_GLOBAL, &key);
    CU_ASSERT_FATAL(sim_latency_new(&lp, &key, &f->lat) == PU_OK);
    f->p.n = 3;
    f->p.topo = f->topo;
    f->p.latency = f->lat;
    f->p.bw_kind = SIM_NET_BW_UNIFORM;
    f->p.up_bps = bps;
    f->p.down_bps = bps;
}

static void fx_open(fixture *f)
{
    CU_ASSERT_FATAL(sim_net_new(&f->p, &f->root, &f->net) == PU_OK);
}

static void fx_release(fixture *f)
{
    sim_net_free(f->net);
    sim_latency_free(f->lat);
    sim_topo_free(f->topo);
    pu_crypto_free(f->c);
}

static void test_ser_ns(void)
{
    CU_ASSERT_EQUAL(sim_net_ser_ns(100000, 8000000), 100 * MS);
    CU_ASSERT_EQUAL(sim_net_ser_ns(1, 3), 2666666667u); /* ceil(8e9 / 3) */
    CU_ASSERT_EQUAL(sim_net_ser_ns(0, 3), 0);
    CU_ASSERT_EQUAL(sim_net_ser_ns(1, 0), UINT64_MAX);
    /* 2^61 bytes at 1 bit/s overflows u64 ns: saturates (128-bit inside). */
    CU_ASSERT_EQUAL(sim_net_ser_ns(UINT64_C(1) << 61, 1), UINT64_MAX);
    /* 1 MB block at 22.8 Mbit/s: 8e15 / 22.8e6 = 350877192.98 -> 350877193. */
    CU_ASSERT_EQUAL(sim_net_ser_ns(1000000, 22800000), 350877193u);
}

/* L = 50 ms, B = 8 Mbit/s, m = 100 kB: T = 100 ms per hop. */
static void test_line_forward(void)
{
    fixture f;
    fx_line(&f, 50 * MS, 8000000);
    fx_open(&f);
    uint64_t at_b, at_c;
    CU_ASSERT_EQUAL(sim_net_send(f.net, 0, 0, 1, 100000, &at_b), PU_OK);
    CU_ASSERT_EQUAL(at_b, 150 * MS);
    CU_ASSERT_EQUAL(sim_net_send(f.net, at_b, 1, 2, 100000, &at_c), PU_OK);
    CU_ASSERT_EQUAL(at_c, 300 * MS);
    CU_ASSERT_EQUAL(sim_net_uplink_free(f.net, 0), 100 * MS);
    CU_ASSERT_EQUAL(sim_net_uplink_free(f.net, 1), 250 * MS);
    CU_ASSERT_EQUAL(sim_net_downlink_free(f.net, 2), 300 * MS);
    uint32_t d;
    const uint32_t *nb = sim_net_neighbors(f.net, 1, &d);
    CU_ASSERT(d == 2 && nb[0] == 0 && nb[1] == 2);
    CU_ASSERT_EQUAL(sim_net_degree(f.net, 0), 1);
    CU_ASSERT_EQUAL(sim_net_n(f.net), 3);
    uint64_t x;
    CU_ASSERT_EQUAL(sim_net_send(f.net, 0, 1, 1, 10, &x), PU_ERR_RANGE);
    CU_ASSERT_EQUAL(sim_net_send(f.net, 0, 1, 3, 10, &x), PU_ERR_RANGE);
    CU_ASSERT_EQUAL(x, SIM_NET_NEVER);
    fx_release(&f);
}

static void test_uplink_queue(void)
{
    fixture f;
    fx_line(&f, 50 * MS, 8000000);
    fx_open(&f);
    uint64_t t1, t2, t3;
    CU_ASSERT_EQUAL(sim_net_send(f.net, 0, 1, 0, 100000, &t1), PU_OK);
    CU_ASSERT_EQUAL(sim_net_send(f.net, 0, 1, 0, 100000, &t2), PU_OK);
    CU_ASSERT_EQUAL(t1, 150 * MS);
    CU_ASSERT_EQUAL(t2 - t1, 100 * MS); /* size * 8 / B later */
    /* Different receivers share the sender's uplink too. */
    CU_ASSERT_EQUAL(sim_net_send(f.net, 0, 1, 2, 100000, &t3), PU_OK);
    CU_ASSERT_EQUAL(t3, 350 * MS);
    /* Once the uplink is idle again a send starts at once. */
    CU_ASSERT_EQUAL(sim_net_send(f.net, 1000 * MS, 1, 2, 100000, &t3), PU_OK);
    CU_ASSERT_EQUAL(t3, 1150 * MS);
    fx_release(&f);
}

static void test_download_bottleneck(void)
{
    fixture f;
    fx_line(&f, 50 * MS, 8000000);
    const uint64_t up[3] = {8000000, 8000000, 8000000};
    const uint64_t down[3] = {8000000, 2000000, 8000000}; /* b downloads at B/4 */
    f.p.bw_kind = SIM_NET_BW_PER_NODE;
    f.p.node_up_bps = up;
    f.p.node_down_bps = down;
    fx_open(&f);
    uint64_t t1, t2;
    CU_ASSERT_EQUAL(sim_net_send(f.net, 0, 0, 1, 100000, &t1), PU_OK);
    CU_ASSERT_EQUAL(t1, 450 * MS); /* L + 4T */
    /* c -> b at once: c's uplink is free, b's downlink busy until 450 ms. */
    CU_ASSERT_EQUAL(sim_net_send(f.net, 0, 2, 1, 100000, &t2), PU_OK);
    CU_ASSERT_EQUAL(t2, 850 * MS);
    /* The slow side decides either way: b (fast up) -> a (fast down). */
    CU_ASSERT_EQUAL(sim_net_send(f.net, 0, 1, 0, 100000, &t1), PU_OK);
    CU_ASSERT_EQUAL(t1, 150 * MS);
    fx_release(&f);
}

static void test_region_bandwidth_cap(void)
{
    fixture f;
    fx_line(&f, 10 * MS, 1);
    uint32_t nb;
    const uint64_t *down = sim_net_bitcoin_down_bps(&nb), *up = sim_net_bitcoin_up_bps(&nb);
    CU_ASSERT_EQUAL(nb, 6);
    CU_ASSERT_EQUAL(down[3], 22800000u);
    CU_ASSERT_EQUAL(up[2], 5800000u);
    const uint8_t region[3] = {0, 0, 1}; /* a, b in NA; c in EU */
    f.p.region = region;
    f.p.nregions = 6;
    f.p.bw_kind = SIM_NET_BW_REGION;
    f.p.region_up_bps = up;
    f.p.region_down_bps = down;
    f.p.inter_region_bps = SIM_NET_BITCOIN_INTER_REGION_BPS;
    fx_open(&f);
    CU_ASSERT_EQUAL(sim_net_region(f.net, 2), 1);
    uint64_t t;
    /* Inside NA: up 19.2, down 52 -> upload-bound. */
    CU_ASSERT_EQUAL(sim_net_send(f.net, 0, 0, 1, 1000000, &t), PU_OK);
    CU_ASSERT_EQUAL(t, 10 * MS + sim_net_ser_ns(1000000, 19200000));
    /* NA -> EU: both legs capped at 6 Mbit/s. */
    CU_ASSERT_EQUAL(sim_net_send(f.net, 0, 1, 2, 1000000, &t), PU_OK);
    CU_ASSERT_EQUAL(t, 10 * MS + sim_net_ser_ns(1000000, 6000000));
    fx_release(&f);
}

static void test_partition_offline(void)
{
    fixture f;
    fx_line(&f, 50 * MS, 8000000);
    fx_open(&f);
    const uint32_t groups[3] = {0, 0, 1};
    sim_net_set_partition(f.net, groups);
    CU_ASSERT_EQUAL(sim_net_group(f.net, 2), 1);
    uint64_t t;
    CU_ASSERT_EQUAL(sim_net_send(f.net, 0, 1, 2, 100000, &t), PU_ERR_STATE);
    CU_ASSERT_EQUAL(t, SIM_NET_NEVER);
    CU_ASSERT_EQUAL(sim_net_reachable(f.net, 1, 2), SIM_NET_PARTITIONED);
    CU_ASSERT_EQUAL(sim_net_uplink_free(f.net, 1), 0); /* a drop costs nothing */
    CU_ASSERT_EQUAL(sim_net_send(f.net, 0, 0, 1, 100000, &t), PU_OK);
    CU_ASSERT_EQUAL(t, 150 * MS);
    sim_net_set_partition(f.net, NULL); /* heal */
    CU_ASSERT_EQUAL(sim_net_send(f.net, 0, 1, 2, 100000, &t), PU_OK);
    CU_ASSERT_EQUAL(t, 150 * MS);
    CU_ASSERT_EQUAL(sim_net_set_online(f.net, 2, false), PU_OK);
    CU_ASSERT(!sim_net_online(f.net, 2));
    CU_ASSERT_EQUAL(sim_net_reachable(f.net, 1, 2), SIM_NET_RECEIVER_OFFLINE);
    CU_ASSERT_EQUAL(sim_net_reachable(f.net, 2, 1), SIM_NET_SENDER_OFFLINE);
    CU_ASSERT_EQUAL(sim_net_send(f.net, 0, 1, 2, 100000, &t), PU_ERR_STATE);
    CU_ASSERT_EQUAL(sim_net_send(f.net, 0, 2, 1, 100000, &t), PU_ERR_STATE);
    CU_ASSERT_EQUAL(sim_net_set_online(f.net, 2, true), PU_OK);
    CU_ASSERT_EQUAL(sim_net_reachable(f.net, 1, 2), SIM_NET_REACHABLE);
    CU_ASSERT_EQUAL(sim_net_set_online(f.net, 3, true), PU_ERR_RANGE);
    fx_release(&f);
}

static void test_loss(void)
{
    fixture f;
    fx_line(&f, 10 * MS, UINT64_C(1000000000000)); /* serialisation negligible */
    f.p.loss_prob = 0.2;
    f.p.loss_timeout_ns = 1000 * MS;
    fx_open(&f);
    const int n = 20000;
    int lost = 0, bad = 0;
    uint64_t total_k = 0;
    for (int i = 0; i < n; i++) {
        uint64_t now = (uint64_t)i * 10000 * MS, t;
        CU_ASSERT_FATAL(sim_net_send(f.net, now, 0, 1, 100, &t) == PU_OK);
        /* 100 bytes at 1 Tbit/s: 1 ns on each leg, overlapping. */
        uint64_t extra = t - now - 10 * MS - 1;
        uint64_t k = extra / (1000 * MS);
        bad += extra % (1000 * MS) != 0; /* whole timeouts only */
        lost += k > 0;
        total_k += k;
    }
    CU_ASSERT_EQUAL(bad, 0);
    /* P(K >= 1) = 0.2: sd of the count is 57. */
    CU_ASSERT(lost > 0.2 * n - 5 * 57 && lost < 0.2 * n + 5 * 57);
    /* E[K] = p / (1 - p) = 0.25, var = p / (1 - p)^2 = 0.3125. */
    double mean_k = (double)total_k / n;
    CU_ASSERT(fabs(mean_k - 0.25) < 5 * sqrt(0.3125 / n));
    fx_release(&f);
}

/* Per-message jitter draws from the sender's stream: identical seeds give
 * identical arrivals, and another sender's traffic does not shift them. */
static void test_determinism(void)
{
    fixture f, g;
    fx_line(&f, 0, 8000000);
    fx_line(&g, 0, 8000000);
    sim_latency_params lp;
    memset(&lp, 0, sizeof lp);
    lp.kind = SIM_LAT_LOGNORMAL;
    lp.mean_ns = 80e6;
    lp.sigma = 0.6;
    pu_hash32 key;
    sim_rng_key(&f.root, SIM_RNG_LATENCY, SIM_RNG_OWNER_GLOBAL, &key);
    sim_latency_free(f.lat);
    sim_latency_free(g.lat);
    CU_ASSERT_FATAL(sim_latency_new(&lp, &key, &f.lat) == PU_OK);
    CU_ASSERT_FATAL(sim_latency_new(&lp, &key, &g.lat) == PU_OK);
    f.p.latency = f.lat;
    g.p.latency = g.lat;
    fx_open(&f);
    fx_open(&g);
    int bad = 0, varied = 0;
    uint64_t prev = 0;
    for (int i = 0; i < 200; i++) {
        uint64_t now = (uint64_t)i * 10000 * MS, a, b, dummy;
        CU_ASSERT_FATAL(sim_net_send(f.net, now, 0, 1, 1000, &a) == PU_OK);
        CU_ASSERT_FATAL(sim_net_send(g.net, now, 2, 0, 1000, &dummy) == PU_OK); /* extra */
        CU_ASSERT_FATAL(sim_net_send(g.net, now, 0, 1, 1000, &b) == PU_OK);
        bad += a != b;
        varied += (a - now) != prev;
        prev = a - now;
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT(varied > 190);
    fx_release(&f);
    fx_release(&g);
}

static void test_params(void)
{
    fixture f;
    fx_line(&f, 50 * MS, 8000000);
    sim_net *net;
    f.p.loss_prob = 1.0;
    CU_ASSERT_EQUAL(sim_net_new(&f.p, &f.root, &net), PU_ERR_RANGE);
    f.p.loss_prob = 0;
    f.p.n = 4; /* topology has 3 */
    CU_ASSERT_EQUAL(sim_net_new(&f.p, &f.root, &net), PU_ERR_RANGE);
    f.p.n = 3;
    f.p.up_bps = 0;
    CU_ASSERT_EQUAL(sim_net_new(&f.p, &f.root, &net), PU_ERR_RANGE);
    f.p.up_bps = 1;
    const uint8_t region[3] = {0, 2, 0};
    f.p.region = region;
    f.p.nregions = 2;
    CU_ASSERT_EQUAL(sim_net_new(&f.p, &f.root, &net), PU_ERR_RANGE);
    CU_ASSERT(net == NULL);
    /* The per-node footprint the simulator budgets with (see net.h). */
    CU_ASSERT_EQUAL(sim_net_bytes_per_node(), 62);
    fx_release(&f);
}

TSUITE(net)
{
    CU_pSuite s = CU_add_suite("net", NULL, NULL);
    if (!s)
        return CU_get_error();
    TADD(s, test_ser_ns);
    TADD(s, test_line_forward);
    TADD(s, test_uplink_queue);
    TADD(s, test_download_bottleneck);
    TADD(s, test_region_bandwidth_cap);
    TADD(s, test_partition_offline);
    TADD(s, test_loss);
    TADD(s, test_determinism);
    TADD(s, test_params);
    return CUE_SUCCESS;
}
