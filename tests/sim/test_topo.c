/* tests/sim/test_topo.c -- generators (degrees, connectivity, determinism),
 * edge-list parsing, run-time edge changes, region assignment. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "sim/topo.h"
#include "tests/harness.h"

typedef struct fixture { pu_crypto *c; sim_rng_root root; } fixture;

static void fx_init(fixture *f, uint64_t seed)
{
    CU_ASSERT_FATAL(pu_crypto_new(&f->c) == PU_OK);
    sim_rng_root_init(&f->root, f->c, seed);
}

static sim_rng fx_rng(const fixture *f, uint64_t owner)
{
    return sim_rng_stream(&f->root, SIM_RNG_TOPOLOGY, owner);
}

/* Structural invariants every topology must satisfy: sorted, no self loops
 * or duplicates, symmetric, degree sum = 2E, connected. */
static void check_valid(const sim_topo *t)
{
    uint32_t n = sim_topo_n(t);
    uint64_t sum = 0;
    int bad = 0;
    for (uint32_t v = 0; v < n; v++) {
        uint32_t d;
        const uint32_t *nb = sim_topo_neighbors(t, v, &d);
        sum += d;
        for (uint32_t i = 0; i < d; i++) {
            bad += nb[i] == v || nb[i] >= n;
            bad += i > 0 && nb[i] <= nb[i - 1];
            bad += !sim_topo_has_edge(t, nb[i], v);
        }
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(sum, 2 * sim_topo_edges(t));
    bool conn = false;
    CU_ASSERT(sim_topo_connected(t, &conn) == PU_OK);
    CU_ASSERT(conn);
}

static bool same_graph(const sim_topo *a, const sim_topo *b)
{
    if (sim_topo_n(a) != sim_topo_n(b) || sim_topo_edges(a) != sim_topo_edges(b))
        return false;
    for (uint32_t v = 0; v < sim_topo_n(a); v++) {
        uint32_t da, db;
        const uint32_t *na = sim_topo_neighbors(a, v, &da), *nb = sim_topo_neighbors(b, v, &db);
        if (da != db || (da && memcmp(na, nb, da * sizeof *na) != 0))
            return false;
    }
    return true;
}

static void degree_stats(const sim_topo *t, uint32_t *mn, uint32_t *mx, double *mean)
{
    uint32_t n = sim_topo_n(t);
    *mn = UINT32_MAX;
    *mx = 0;
    for (uint32_t v = 0; v < n; v++) {
        uint32_t d = sim_topo_degree(t, v);
        *mn = d < *mn ? d : *mn;
        *mx = d > *mx ? d : *mx;
    }
    *mean = 2.0 * (double)sim_topo_edges(t) / n;
}

static void test_full(void)
{
    sim_topo *t;
    CU_ASSERT_FATAL(sim_topo_new_full(10, &t) == PU_OK);
    check_valid(t);
    CU_ASSERT_EQUAL(sim_topo_edges(t), 45);
    for (uint32_t v = 0; v < 10; v++)
        CU_ASSERT_EQUAL(sim_topo_degree(t, v), 9);
    CU_ASSERT(!sim_topo_has_edge(t, 3, 3));
    CU_ASSERT(!sim_topo_has_edge(t, 3, 10));
    CU_ASSERT_EQUAL(sim_topo_degree(t, 10), 0);
    sim_topo_free(t);
    CU_ASSERT_EQUAL(sim_topo_new_full(0, &t), PU_ERR_RANGE);
    CU_ASSERT_EQUAL(sim_topo_new_full(70000, &t), PU_ERR_RANGE); /* 2E >= 2^32 */
    CU_ASSERT(t == NULL);
    CU_ASSERT_FATAL(sim_topo_new_full(1, &t) == PU_OK);
    check_valid(t);
    sim_topo_free(t);
}

static void test_random(void)
{
    fixture f;
    fx_init(&f, 11);
    sim_rng r = fx_rng(&f, 0), r2 = fx_rng(&f, 0), r3 = fx_rng(&f, 1);
    sim_topo *t, *t2, *t3;
    CU_ASSERT_FATAL(sim_topo_new_random(2000, 8, &r, &t) == PU_OK);
    CU_ASSERT_FATAL(sim_topo_new_random(2000, 8, &r2, &t2) == PU_OK);
    CU_ASSERT_FATAL(sim_topo_new_random(2000, 8, &r3, &t3) == PU_OK);
    check_valid(t);
    uint32_t mn, mx;
    double mean;
    degree_stats(t, &mn, &mx, &mean);
    CU_ASSERT(mn >= 8);
    CU_ASSERT(mx <= 10);
    CU_ASSERT(mean >= 8.0 && mean < 8.1); /* nearly 8-regular */
    CU_ASSERT(same_graph(t, t2));          /* pure function of the stream */
    CU_ASSERT(!same_graph(t, t3));
    sim_topo_free(t);
    sim_topo_free(t2);
    sim_topo_free(t3);
    /* d = 1 leaves a perfect matching of many components: joined. */
    CU_ASSERT_FATAL(sim_topo_new_random(100, 1, &r, &t) == PU_OK);
    check_valid(t);
    degree_stats(t, &mn, &mx, &mean);
    CU_ASSERT(mn >= 1);
    sim_topo_free(t);
    /* d >= n - 1 is a full mesh. */
    CU_ASSERT_FATAL(sim_topo_new_random(6, 9, &r, &t) == PU_OK);
    CU_ASSERT_EQUAL(sim_topo_edges(t), 15);
    sim_topo_free(t);
    CU_ASSERT_EQUAL(sim_topo_new_random(10, 0, &r, &t), PU_ERR_RANGE);
    pu_crypto_free(f.c);
}

static void test_bitcoin(void)
{
    fixture f;
    fx_init(&f, 12);
    sim_rng r = fx_rng(&f, 0);
    sim_topo *t;
    CU_ASSERT_FATAL(sim_topo_new_bitcoin(5000, SIM_TOPO_BITCOIN_MAX_INBOUND, NULL, 0, &r, &t) ==
                    PU_OK);
    check_valid(t);
    /* Expected outbound count: sum over k >= 1 of P(K >= k). */
    uint32_t nc;
    const double *cdf = sim_topo_bitcoin_degree_cdf(&nc);
    CU_ASSERT_EQUAL(nc, 20);
    double ek = 1.0;
    for (uint32_t i = 0; i + 1 < nc; i++)
        ek += 1.0 - cdf[i];
    uint32_t mn, mx;
    double mean;
    degree_stats(t, &mn, &mx, &mean);
    /* Each node adds its outbound links; the sd of the mean of 5000
     * outbound counts is ~0.06. */
    CU_ASSERT(mean > 2 * (ek - 0.2) && mean < 2 * (ek + 0.2) + 0.01);
    CU_ASSERT(mn >= 1);
    CU_ASSERT(mx <= 20 + SIM_TOPO_BITCOIN_MAX_INBOUND);
    sim_topo_free(t);
    /* Exactly 8 outbound, at most 8 inbound: degree <= 16 everywhere. */
    double eight[8] = {0, 0, 0, 0, 0, 0, 0, 1};
    CU_ASSERT_FATAL(sim_topo_new_bitcoin(300, 8, eight, 8, &r, &t) == PU_OK);
    check_valid(t);
    degree_stats(t, &mn, &mx, &mean);
    CU_ASSERT(mn >= 8);
    CU_ASSERT(mx <= 16);
    sim_topo_free(t);
    double badcdf[3] = {0.5, 0.4, 1.0};
    CU_ASSERT_EQUAL(sim_topo_new_bitcoin(300, 8, badcdf, 3, &r, &t), PU_ERR_RANGE);
    CU_ASSERT_EQUAL(sim_topo_new_bitcoin(300, 8, badcdf, 2, &r, &t), PU_ERR_RANGE);
    CU_ASSERT_EQUAL(sim_topo_new_bitcoin(300, 0, NULL, 0, &r, &t), PU_ERR_RANGE);
    pu_crypto_free(f.c);
}

static void test_small_world(void)
{
    fixture f;
    fx_init(&f, 13);
    sim_rng r = fx_rng(&f, 0);
    sim_topo *t;
    CU_ASSERT_FATAL(sim_topo_new_small_world(1000, 6, 0.0, &r, &t) == PU_OK);
    check_valid(t);
    int bad = 0;
    for (uint32_t v = 0; v < 1000; v++) {
        bad += sim_topo_degree(t, v) != 6;
        for (uint32_t j = 1; j <= 3; j++)
            bad += !sim_topo_has_edge(t, v, (v + j) % 1000);
    }
    CU_ASSERT_EQUAL(bad, 0);
    sim_topo_free(t);
    CU_ASSERT_FATAL(sim_topo_new_small_world(1000, 6, 0.2, &r, &t) == PU_OK);
    check_valid(t);
    uint32_t lattice = 0;
    for (uint32_t v = 0; v < 1000; v++)
        for (uint32_t j = 1; j <= 3; j++)
            lattice += sim_topo_has_edge(t, v, (v + j) % 1000);
    /* Rewiring keeps the edge count; ~20 % of lattice edges moved (3000
     * trials, sd ~22), a few may land back on lattice positions. */
    CU_ASSERT(sim_topo_edges(t) >= 3000 && sim_topo_edges(t) <= 3001);
    CU_ASSERT(3000 - lattice > 480 && 3000 - lattice < 720);
    sim_topo_free(t);
    CU_ASSERT_EQUAL(sim_topo_new_small_world(10, 3, 0.1, &r, &t), PU_ERR_RANGE);
    CU_ASSERT_EQUAL(sim_topo_new_small_world(10, 10, 0.1, &r, &t), PU_ERR_RANGE);
    CU_ASSERT_EQUAL(sim_topo_new_small_world(10, 4, 1.5, &r, &t), PU_ERR_RANGE);
    pu_crypto_free(f.c);
}

static void test_scale_free(void)
{
    fixture f;
    fx_init(&f, 14);
    sim_rng r = fx_rng(&f, 0);
    sim_topo *t;
    const uint32_t n = 20000, m = 3;
    CU_ASSERT_FATAL(sim_topo_new_scale_free(n, m, &r, &t) == PU_OK);
    check_valid(t);
    CU_ASSERT_EQUAL(sim_topo_edges(t), 6 + (uint64_t)(n - m - 1) * m);
    uint32_t mn, mx;
    double mean;
    degree_stats(t, &mn, &mx, &mean);
    CU_ASSERT_EQUAL(mn, m);
    CU_ASSERT(mx > 150); /* hubs: ~m sqrt(n) = 424 expected */
    /* Tail P(deg >= k) ~ m (m + 1) / (k (k + 1)): 0.0129 at k = 30,
     * 0.0033 at k = 60 -- a power law with exponent -2 (a random graph of
     * the same mean degree would have essentially none). */
    uint32_t c30 = 0, c60 = 0;
    for (uint32_t v = 0; v < n; v++) {
        c30 += sim_topo_degree(t, v) >= 30;
        c60 += sim_topo_degree(t, v) >= 60;
    }
    double p30 = (double)c30 / n, p60 = (double)c60 / n;
    CU_ASSERT(p30 > 0.0129 * 0.75 && p30 < 0.0129 * 1.3);
    CU_ASSERT(p60 > 0.0033 * 0.65 && p60 < 0.0033 * 1.5);
    CU_ASSERT(p30 / p60 > 2.8 && p30 / p60 < 5.5); /* ~4 for exponent -2 */
    sim_topo_free(t);
    CU_ASSERT_EQUAL(sim_topo_new_scale_free(3, 3, &r, &t), PU_ERR_RANGE);
    CU_ASSERT_EQUAL(sim_topo_new_scale_free(3, 0, &r, &t), PU_ERR_RANGE);
    pu_crypto_free(f.c);
}

static void test_parse_edges(void)
{
    char msg[160];
    sim_topo *t;
    const char *good = "# a line\n0 1\n\n1\t2   # trailing comment\r\n2 3\n1 0\n3 2\n  4 3\n0 4";
    CU_ASSERT_FATAL(sim_topo_parse_edges(good, strlen(good), 5, NULL, &t, msg, sizeof msg) ==
                    PU_OK);
    check_valid(t);
    CU_ASSERT_EQUAL(sim_topo_edges(t), 5); /* duplicates "1 0", "3 2" ignored */
    CU_ASSERT(sim_topo_has_edge(t, 4, 0));
    sim_topo_free(t);
    struct { const char *text; pu_err rc; const char *msg; } bad[] = {
        {"0 1\n1 2\n1 x\n", PU_ERR_PARSE, "line 3: expected two node ids 'a b'"},
        {"0 1\n1\n", PU_ERR_PARSE, "line 2: expected two node ids 'a b'"},
        {"0 1 2\n", PU_ERR_PARSE, "line 1: expected two node ids 'a b'"},
        {"0 1\n\n# c\n2 7\n", PU_ERR_PARSE, "line 4: node id 7 >= n (5)"},
        {"0 99999999999\n", PU_ERR_PARSE, "line 1: expected two node ids 'a b'"},
        {"0 1\n2 2\n", PU_ERR_PARSE, "line 2: self loop on node 2"},
        {"0 1\n1 2\n3 4\n", PU_ERR_INVALID,
         "graph is not connected: node 3 is not reachable from node 0"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        msg[0] = 0;
        CU_ASSERT_EQUAL(sim_topo_parse_edges(bad[i].text, strlen(bad[i].text), 5, NULL, &t, msg,
                                             sizeof msg),
                        bad[i].rc);
        CU_ASSERT_STRING_EQUAL(msg, bad[i].msg);
        CU_ASSERT(t == NULL);
    }
    /* With a stream the components are joined (and msg may be NULL). */
    fixture f;
    fx_init(&f, 15);
    sim_rng r = fx_rng(&f, 0), r2 = fx_rng(&f, 0);
    sim_topo *t2;
    const char *split = "0 1\n1 2\n3 4\n";
    CU_ASSERT_FATAL(sim_topo_parse_edges(split, strlen(split), 7, &r, &t, NULL, 0) == PU_OK);
    CU_ASSERT_FATAL(sim_topo_parse_edges(split, strlen(split), 7, &r2, &t2, NULL, 0) == PU_OK);
    check_valid(t);
    CU_ASSERT_EQUAL(sim_topo_edges(t), 3 + 3); /* 4 components -> 3 joins */
    CU_ASSERT(same_graph(t, t2));
    sim_topo_free(t);
    sim_topo_free(t2);
    pu_crypto_free(f.c);
}

static void test_load_edges(void)
{
    char path[300], msg[400];
    th_path(path, sizeof path, "line.edges");
    FILE *fp = fopen(path, "w");
    CU_ASSERT_FATAL(fp != NULL);
    fputs("# a-b-c\n0 1\n1 2\n", fp);
    fclose(fp);
    sim_topo *t;
    CU_ASSERT_FATAL(sim_topo_load_edges(path, 3, NULL, &t, msg, sizeof msg) == PU_OK);
    CU_ASSERT_EQUAL(sim_topo_edges(t), 2);
    CU_ASSERT(sim_topo_has_edge(t, 1, 2));
    sim_topo_free(t);
    th_path(path, sizeof path, "missing.edges");
    CU_ASSERT_EQUAL(sim_topo_load_edges(path, 3, NULL, &t, msg, sizeof msg), PU_ERR_IO);
    CU_ASSERT(strstr(msg, "missing.edges: cannot open: ") != NULL);
    /* Parse errors name the file and the line. */
    th_path(path, sizeof path, "bad.edges");
    fp = fopen(path, "w");
    CU_ASSERT_FATAL(fp != NULL);
    fputs("0 1\n1 9\n", fp);
    fclose(fp);
    char want[400];
    snprintf(want, sizeof want, "%s: line 2: node id 9 >= n (3)", path);
    CU_ASSERT_EQUAL(sim_topo_load_edges(path, 3, NULL, &t, msg, sizeof msg), PU_ERR_PARSE);
    CU_ASSERT_STRING_EQUAL(msg, want);
}

static void test_add_remove(void)
{
    sim_topo *t;
    const char *line = "0 1\n1 2\n2 3\n";
    CU_ASSERT_FATAL(sim_topo_parse_edges(line, strlen(line), 4, NULL, &t, NULL, 0) == PU_OK);
    CU_ASSERT_EQUAL(sim_topo_add_edge(t, 3, 0), PU_OK);
    CU_ASSERT_EQUAL(sim_topo_add_edge(t, 0, 2), PU_OK);
    CU_ASSERT_EQUAL(sim_topo_add_edge(t, 2, 0), PU_ERR_EXISTS);
    CU_ASSERT_EQUAL(sim_topo_add_edge(t, 1, 1), PU_ERR_RANGE);
    CU_ASSERT_EQUAL(sim_topo_add_edge(t, 1, 4), PU_ERR_RANGE);
    check_valid(t);
    CU_ASSERT_EQUAL(sim_topo_edges(t), 5);
    uint32_t d;
    const uint32_t *nb = sim_topo_neighbors(t, 0, &d);
    CU_ASSERT_EQUAL(d, 3);
    CU_ASSERT(nb[0] == 1 && nb[1] == 2 && nb[2] == 3);
    /* Eclipse-style: cut node 2 off from everyone but 3. */
    CU_ASSERT_EQUAL(sim_topo_remove_edge(t, 2, 1), PU_OK);
    CU_ASSERT_EQUAL(sim_topo_remove_edge(t, 0, 2), PU_OK);
    CU_ASSERT_EQUAL(sim_topo_remove_edge(t, 0, 2), PU_ERR_NOTFOUND);
    nb = sim_topo_neighbors(t, 2, &d);
    CU_ASSERT(d == 1 && nb[0] == 3);
    nb = sim_topo_neighbors(t, 1, &d);
    CU_ASSERT(d == 1 && nb[0] == 0);
    check_valid(t);
    CU_ASSERT_EQUAL(sim_topo_edges(t), 3);
    CU_ASSERT_EQUAL(sim_topo_remove_edge(t, 0, 1), PU_OK);
    bool conn = true;
    CU_ASSERT(sim_topo_connected(t, &conn) == PU_OK);
    CU_ASSERT(!conn); /* node 1 is isolated now: removal may disconnect */
    CU_ASSERT_EQUAL(sim_topo_degree(t, 1), 0);
    sim_topo_free(t);
}

static void test_regions(void)
{
    fixture f;
    fx_init(&f, 16);
    uint32_t nr;
    const double *shares = sim_topo_bitcoin_region_shares(&nr);
    CU_ASSERT_EQUAL(nr, 6);
    uint8_t *a = malloc(1000), *b = malloc(1000);
    CU_ASSERT_FATAL(a && b);
    sim_rng r = sim_rng_stream(&f.root, SIM_RNG_REGION, 0), r2 = r;
    CU_ASSERT_FATAL(sim_topo_regions(1000, shares, nr, &r, a) == PU_OK);
    CU_ASSERT_FATAL(sim_topo_regions(1000, shares, nr, &r2, b) == PU_OK);
    CU_ASSERT_EQUAL(memcmp(a, b, 1000), 0);
    /* floors 331 499 9 117 22 19 (997); remainders .6 .8 .0 .7 .4 .5 */
    uint32_t cnt[6] = {0}, runs = 0;
    for (int i = 0; i < 1000; i++) {
        cnt[a[i]]++;
        runs += i > 0 && a[i] != a[i - 1];
    }
    const uint32_t want[6] = {332, 500, 9, 118, 22, 19};
    for (int i = 0; i < 6; i++)
        CU_ASSERT_EQUAL(cnt[i], want[i]);
    CU_ASSERT(runs > 300); /* shuffled, not laid out in blocks */
    /* Ties go to the lower index: 3 nodes over 2 equal shares. */
    const double half[2] = {1, 1};
    CU_ASSERT_FATAL(sim_topo_regions(3, half, 2, &r, a) == PU_OK);
    CU_ASSERT_EQUAL(a[0] + a[1] + a[2], 1);
    const double neg[2] = {1, -1};
    CU_ASSERT_EQUAL(sim_topo_regions(3, neg, 2, &r, a), PU_ERR_RANGE);
    CU_ASSERT_EQUAL(sim_topo_regions(3, half, 0, &r, a), PU_ERR_RANGE);
    free(a);
    free(b);
    pu_crypto_free(f.c);
}

/* CRC-32 of the CSR serialised as big-endian (degree, neighbours...) per
 * node: a fingerprint of the exact graph. */
static uint32_t topo_crc(const sim_topo *t)
{
    size_t len = 4 * ((size_t)sim_topo_n(t) + 2 * sim_topo_edges(t));
    uint8_t *buf = malloc(len), *p = buf;
    CU_ASSERT_FATAL(buf != NULL);
    for (uint32_t v = 0; v < sim_topo_n(t); v++) {
        uint32_t d;
        const uint32_t *nb = sim_topo_neighbors(t, v, &d);
        pu_put_be32(p, d);
        p += 4;
        for (uint32_t i = 0; i < d; i++, p += 4)
            pu_put_be32(p, nb[i]);
    }
    uint32_t crc = pu_crc32(buf, len);
    free(buf);
    return crc;
}

/* Pinned graphs: a change here means every run with these parameters
 * changes, which must be deliberate (same values under gcc and clang,
 * -O0 to -O3). */
static void test_pinned_graphs(void)
{
    fixture f;
    fx_init(&f, 2024);
    sim_rng r = fx_rng(&f, 0);
    sim_topo *t;
    CU_ASSERT_FATAL(sim_topo_new_random(300, 4, &r, &t) == PU_OK);
    CU_ASSERT_EQUAL(topo_crc(t), 0x4ffb1cc9u);
    sim_topo_free(t);
    CU_ASSERT_FATAL(sim_topo_new_bitcoin(300, 125, NULL, 0, &r, &t) == PU_OK);
    CU_ASSERT_EQUAL(topo_crc(t), 0x592f7a2fu);
    sim_topo_free(t);
    CU_ASSERT_FATAL(sim_topo_new_small_world(300, 4, 0.3, &r, &t) == PU_OK);
    CU_ASSERT_EQUAL(topo_crc(t), 0x6e5b09e0u);
    sim_topo_free(t);
    CU_ASSERT_FATAL(sim_topo_new_scale_free(300, 2, &r, &t) == PU_OK);
    CU_ASSERT_EQUAL(topo_crc(t), 0x11c15cd4u);
    sim_topo_free(t);
    uint8_t reg[300];
    uint32_t nr;
    sim_rng rr = sim_rng_stream(&f.root, SIM_RNG_REGION, 0);
    CU_ASSERT_FATAL(sim_topo_regions(300, sim_topo_bitcoin_region_shares(&nr), 6, &rr, reg) ==
                    PU_OK);
    CU_ASSERT_EQUAL(pu_crc32(reg, sizeof reg), 0x4aab9c59u);
    pu_crypto_free(f.c);
}

TSUITE(topo)
{
    CU_pSuite s = CU_add_suite("topo", NULL, NULL);
    if (!s)
        return CU_get_error();
    TADD(s, test_full);
    TADD(s, test_random);
    TADD(s, test_bitcoin);
    TADD(s, test_small_world);
    TADD(s, test_scale_free);
    TADD(s, test_parse_edges);
    TADD(s, test_load_edges);
    TADD(s, test_add_remove);
    TADD(s, test_regions);
    TADD(s, test_pinned_graphs);
    return CUE_SUCCESS;
}
