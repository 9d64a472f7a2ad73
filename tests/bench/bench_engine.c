/* tests/bench/bench_engine.c -- speed of the engine core (not a test).
 *
 * Prints: event-queue push+pop pairs/s in the "hold" model (pop the earliest
 * event, push one a random time later) with 1k and 1M pending; rng draws/s;
 * deterministic log/exp calls/s; net sends/s on a 10,000-node Bitcoin-like
 * network with the 2019 region latency and bandwidth tables.  Wall-clock
 * timing is fine here: this program measures, it does not simulate. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/detmath.h"
#include "sim/evq.h"
#include "sim/net.h"
#include "sim/rng.h"
#include "sim/topo.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int bench_evq(sim_rng *r, size_t pending, size_t ops)
{
    sim_evq *q;
    if (sim_evq_new(&q) != PU_OK)
        return 1;
    sim_event e = {0, 0, 1, 0, 0, NULL};
    for (size_t i = 0; i < pending; i++) {
        e.at_ns = sim_rng_exp_ns(r, 1e9);
        if (sim_evq_push(q, &e, NULL) != PU_OK)
            return 1;
    }
    double t0 = now_s();
    uint64_t check = 0;
    for (size_t i = 0; i < ops; i++) {
        sim_event out;
        if (sim_evq_pop(q, &out) != PU_OK)
            return 1;
        check += out.at_ns;
        e.at_ns = out.at_ns + sim_rng_exp_ns(r, 1e9);
        if (sim_evq_push(q, &e, NULL) != PU_OK)
            return 1;
    }
    double dt = now_s() - t0;
    printf("evq hold, %8zu pending: %6.2f M push+pop pairs/s   (check %llu)\n", pending,
           (double)ops / dt / 1e6, (unsigned long long)(check % 1000));
    sim_evq_free(q);
    return 0;
}

static void bench_rng(sim_rng *r)
{
    const size_t n = 50000000;
    uint64_t acc = 0;
    double t0 = now_s();
    for (size_t i = 0; i < n; i++)
        acc += sim_rng_u32(r);
    double dt = now_s() - t0;
    printf("rng u32:          %7.1f M draws/s  (%llu)\n", n / dt / 1e6,
           (unsigned long long)(acc & 0xff));
    double s = 0;
    t0 = now_s();
    for (size_t i = 0; i < n / 5; i++)
        s += sim_rng_unit(r);
    dt = now_s() - t0;
    printf("rng unit:         %7.1f M draws/s  (%.3f)\n", n / 5 / dt / 1e6, s / (double)(n / 5));
    t0 = now_s();
    for (size_t i = 0; i < n / 10; i++)
        acc += sim_rng_below(r, 1000003);
    dt = now_s() - t0;
    printf("rng below(1e6+3): %7.1f M draws/s\n", n / 10 / dt / 1e6);
    t0 = now_s();
    for (size_t i = 0; i < n / 10; i++)
        acc += sim_rng_exp_ns(r, 6e11);
    dt = now_s() - t0;
    printf("rng exp_ns:       %7.1f M draws/s\n", n / 10 / dt / 1e6);
    t0 = now_s();
    for (size_t i = 0; i < n / 10; i++)
        s += sim_rng_normal(r, 0, 1);
    dt = now_s() - t0;
    printf("rng normal:       %7.1f M draws/s\n", n / 10 / dt / 1e6);
    t0 = now_s();
    for (size_t i = 0; i < n / 10; i++)
        s += sim_rng_pareto(r, 1, 2.5);
    dt = now_s() - t0;
    printf("rng pareto:       %7.1f M draws/s  (%g)\n", n / 10 / dt / 1e6, s > 0 ? 1.0 : 0.0);
}

static void bench_detmath(void)
{
    const size_t n = 20000000;
    double s = 0, x = 1.2345;
    double t0 = now_s();
    for (size_t i = 0; i < n; i++) {
        s += pu_det_log(x);
        x += 1e-7;
    }
    double dt = now_s() - t0;
    printf("pu_det_log:      %7.1f M calls/s\n", n / dt / 1e6);
    t0 = now_s();
    for (size_t i = 0; i < n; i++) {
        s += pu_det_exp(x);
        x -= 1e-7;
    }
    dt = now_s() - t0;
    printf("pu_det_exp:      %7.1f M calls/s  (%g)\n", n / dt / 1e6, s > 0 ? 1.0 : 0.0);
}

static int bench_net(sim_rng_root *root)
{
    const uint32_t n = 10000;
    sim_rng tr = sim_rng_stream(root, SIM_RNG_TOPOLOGY, 0);
    sim_rng rr = sim_rng_stream(root, SIM_RNG_REGION, 0);
    sim_topo *topo;
    if (sim_topo_new_bitcoin(n, SIM_TOPO_BITCOIN_MAX_INBOUND, NULL, 0, &tr, &topo) != PU_OK)
        return 1;
    uint32_t nr;
    const double *shares = sim_topo_bitcoin_region_shares(&nr);
    uint8_t *region = malloc(n);
    if (!region || sim_topo_regions(n, shares, nr, &rr, region) != PU_OK)
        return 1;
    sim_latency_params lp = {0};
    lp.kind = SIM_LAT_REGION;
    lp.region_mean_ms = sim_latency_bitcoin_region_ms(&lp.nregions);
    pu_hash32 key;
    sim_rng_key(root, SIM_RNG_LATENCY, SIM_RNG_OWNER_GLOBAL, &key);
    sim_latency *lat;
    if (sim_latency_new(&lp, &key, &lat) != PU_OK)
        return 1;
    sim_net_params p = {0};
    p.n = n;
    p.topo = topo;
    p.latency = lat;
    p.region = region;
    p.nregions = nr;
    p.bw_kind = SIM_NET_BW_REGION;
    p.region_up_bps = sim_net_bitcoin_up_bps(&nr);
    p.region_down_bps = sim_net_bitcoin_down_bps(&nr);
    p.inter_region_bps = SIM_NET_BITCOIN_INTER_REGION_BPS;
    p.loss_prob = 0.01;
    p.loss_timeout_ns = 200000000;
    sim_net *net;
    double t0 = now_s();
    if (sim_net_new(&p, root, &net) != PU_OK)
        return 1;
    double setup = now_s() - t0;
    sim_rng pick = sim_rng_stream(root, SIM_RNG_MISC, 0);
    const size_t sends = 5000000;
    uint64_t acc = 0, now = 0;
    t0 = now_s();
    for (size_t i = 0; i < sends; i++) {
        uint32_t from = (uint32_t)sim_rng_below(&pick, n), d;
        const uint32_t *nb = sim_net_neighbors(net, from, &d);
        uint32_t to = nb[sim_rng_below(&pick, d)];
        uint64_t at;
        if (sim_net_send(net, now, from, to, 250, &at) != PU_OK)
            return 1;
        acc += at - now;
        now += 1000;
    }
    double dt = now_s() - t0;
    printf("net send (10k nodes, region Pareto latency, loss 1%%): %5.2f M sends/s, "
           "mean delay %.1f ms, setup %.0f ms\n",
           sends / dt / 1e6, (double)acc / sends / 1e6, setup * 1e3);
    printf("net memory: %zu bytes/node (+ topology %.1f bytes/node here)\n",
           sim_net_bytes_per_node(),
           (4.0 * (n + 1) + 8.0 * (double)sim_topo_edges(topo)) / n);
    sim_net_free(net);
    sim_latency_free(lat);
    sim_topo_free(topo);
    free(region);
    return 0;
}

int main(void)
{
    pu_crypto *c;
    if (pu_crypto_new(&c) != PU_OK)
        return 1;
    sim_rng_root root;
    sim_rng_root_init(&root, c, 1);
    sim_rng r = sim_rng_stream(&root, SIM_RNG_MISC, 1);
    int rc = bench_evq(&r, 1000, 20000000) || bench_evq(&r, 1000000, 5000000);
    if (!rc) {
        bench_rng(&r);
        bench_detmath();
        rc = bench_net(&root);
    }
    pu_crypto_free(c);
    return rc;
}
