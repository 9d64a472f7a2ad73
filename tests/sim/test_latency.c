/* tests/sim/test_latency.c -- empirical moments of each model against the
 * analytic values, per-link stability, the region matrix, parameter checks. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "sim/latency.h"
#include "tests/harness.h"

#define NS 100000

typedef struct fixture {
    pu_crypto *c;
    sim_rng_root root;
    pu_hash32 key;
    sim_rng msg;
} fixture;

static void fx_init(fixture *f, uint64_t seed)
{
    CU_ASSERT_FATAL(pu_crypto_new(&f->c) == PU_OK);
    sim_rng_root_init(&f->root, f->c, seed);
    sim_rng_key(&f->root, SIM_RNG_LATENCY, SIM_RNG_OWNER_GLOBAL, &f->key);
    f->msg = sim_rng_stream(&f->root, SIM_RNG_LATENCY, 0);
}

static sim_latency *make(const fixture *f, const sim_latency_params *p)
{
    sim_latency *m = NULL;
    CU_ASSERT_FATAL(sim_latency_new(p, &f->key, &m) == PU_OK);
    return m;
}

typedef struct stats { double mean, sd, se_mean, se_sd; uint64_t min, max; } stats;

/* n per-message samples on the link 0 -> 1 (regions fr -> to). */
static stats sample(fixture *f, const sim_latency *m, uint32_t fr, uint32_t to, size_t n)
{
    double *x = malloc(n * sizeof *x);
    CU_ASSERT_FATAL(x != NULL);
    stats s = {0, 0, 0, 0, UINT64_MAX, 0};
    for (size_t i = 0; i < n; i++) {
        uint64_t v;
        CU_ASSERT_FATAL(sim_latency_sample(m, &f->msg, 0, 1, fr, to, &v) == PU_OK);
        s.min = v < s.min ? v : s.min;
        s.max = v > s.max ? v : s.max;
        x[i] = (double)v;
        s.mean += x[i];
    }
    s.mean /= (double)n;
    double m2 = 0, m4 = 0;
    for (size_t i = 0; i < n; i++) {
        double d = x[i] - s.mean;
        m2 += d * d;
        m4 += d * d * d * d;
    }
    m2 /= (double)n;
    m4 /= (double)n;
    s.sd = sqrt(m2);
    s.se_mean = sqrt(m2 / (double)n);
    s.se_sd = sqrt((m4 - m2 * m2) / (double)n) / (2 * s.sd); /* delta method */
    free(x);
    return s;
}

/* Analytic mean and sd within 5 standard errors. */
static void check(const stats *s, double mean, double sd)
{
    CU_ASSERT(fabs(s->mean - mean) < 5 * s->se_mean);
    CU_ASSERT(fabs(s->sd - sd) < 5 * s->se_sd);
}

static void test_constant_uniform(void)
{
    fixture f;
    fx_init(&f, 1);
    sim_latency_params p;
    memset(&p, 0, sizeof p);
    p.kind = SIM_LAT_CONSTANT;
    p.const_ns = 50000000;
    sim_latency *m = make(&f, &p);
    uint64_t v;
    CU_ASSERT_EQUAL(sim_latency_sample(m, NULL, 3, 4, 0, 0, &v), PU_OK); /* no stream needed */
    CU_ASSERT_EQUAL(v, 50000000);
    stats s = sample(&f, m, 0, 0, 1000);
    CU_ASSERT(s.min == 50000000 && s.max == 50000000);
    sim_latency_free(m);
    p.kind = SIM_LAT_UNIFORM;
    p.min_ns = 100;
    p.max_ns = 200;
    m = make(&f, &p);
    s = sample(&f, m, 0, 0, NS);
    CU_ASSERT(s.min == 100 && s.max == 200); /* both ends included */
    check(&s, 150.0, sqrt((101.0 * 101.0 - 1) / 12));
    CU_ASSERT_EQUAL(sim_latency_sample(m, NULL, 0, 1, 0, 0, &v), PU_ERR_STATE);
    sim_latency_free(m);
    pu_crypto_free(f.c);
}

static double pdf(double z)
{
    return exp(-0.5 * z * z) / sqrt(2 * 3.14159265358979323846);
}

static void test_normal_lognormal_pareto(void)
{
    fixture f;
    fx_init(&f, 2);
    sim_latency_params p;
    memset(&p, 0, sizeof p);
    /* Normal(50 ms, 10 ms) truncated at 45 ms: a = -0.5. */
    p.kind = SIM_LAT_NORMAL;
    p.mean_ns = 50e6;
    p.sd_ns = 10e6;
    p.floor_ns = 45000000;
    sim_latency *m = make(&f, &p);
    stats s = sample(&f, m, 0, 0, NS);
    double a = -0.5, lam = pdf(a) / (0.5 * erfc(a / sqrt(2.0)));
    check(&s, 50e6 + 10e6 * lam, 10e6 * sqrt(1 + a * lam - lam * lam));
    CU_ASSERT(s.min >= 45000000);
    sim_latency_free(m);
    /* Lognormal with mean 100 ms, sigma 0.5. */
    memset(&p, 0, sizeof p);
    p.kind = SIM_LAT_LOGNORMAL;
    p.mean_ns = 100e6;
    p.sigma = 0.5;
    m = make(&f, &p);
    s = sample(&f, m, 0, 0, NS);
    check(&s, 100e6, 100e6 * sqrt(exp(0.25) - 1));
    sim_latency_free(m);
    /* Pareto with mean 100 ms, shape 5: scale 80 ms. */
    memset(&p, 0, sizeof p);
    p.kind = SIM_LAT_PARETO;
    p.mean_ns = 100e6;
    p.shape = 5.0;
    m = make(&f, &p);
    s = sample(&f, m, 0, 0, NS);
    double xm = 80e6;
    check(&s, 100e6, xm / 4.0 * sqrt(5.0 / 3.0));
    CU_ASSERT(s.min >= 80000000);
    sim_latency_free(m);
    pu_crypto_free(f.c);
}

/* SimBlock's rule on the 2019 matrix: each cell's mean is preserved; the sd
 * of Pareto(scale, shape) is scale / (shape - 1) * sqrt(shape / (shape - 2)). */
static void test_region_matrix(void)
{
    fixture f;
    fx_init(&f, 3);
    uint32_t nr;
    const double *ms = sim_latency_bitcoin_region_ms(&nr);
    CU_ASSERT_EQUAL(nr, 6);
    CU_ASSERT_EQUAL(ms[0 * 6 + 1], 124.0); /* NA -> EU */
    CU_ASSERT_EQUAL(ms[2 * 6 + 3], 325.0); /* SA -> AP */
    sim_latency_params p;
    memset(&p, 0, sizeof p);
    p.kind = SIM_LAT_REGION;
    p.nregions = nr;
    p.region_mean_ms = ms;
    sim_latency *m = make(&f, &p);
    int bad = 0;
    for (uint32_t i = 0; i < nr; i++)
        for (uint32_t j = 0; j < nr; j++) {
            double mean = ms[i * nr + j] * 1e6, shape = 0.2 * ms[i * nr + j];
            double scale = mean - 5e6;
            stats s = sample(&f, m, i, j, 20000);
            /* The heavy-tailed cells (shape ~2.2) have an unreliable
             * sample sd: use the analytic one for the mean's tolerance. */
            double sd = scale / (shape - 1) * sqrt(shape / (shape - 2));
            bad += fabs(s.mean - mean) > 5 * sd / sqrt(20000.0);
            bad += s.min < (uint64_t)scale;
        }
    CU_ASSERT_EQUAL(bad, 0);
    uint64_t v;
    CU_ASSERT_EQUAL(sim_latency_sample(m, &f.msg, 0, 1, 6, 0, &v), PU_ERR_RANGE);
    sim_latency_free(m);
    /* Means below 10 ms use the shape floor and keep their mean. */
    const double small[4] = {4.0, 0.0, 8.0, 2.0};
    p.nregions = 2;
    p.region_mean_ms = small;
    m = make(&f, &p);
    stats s = sample(&f, m, 0, 0, NS);
    CU_ASSERT(fabs(s.mean - 4e6) < 0.05 * 4e6);
    CU_ASSERT(s.min >= 2000000); /* scale = mean / 2 at shape 2 */
    s = sample(&f, m, 0, 1, 100);
    CU_ASSERT(s.max == 0); /* a 0 entry is a constant 0 */
    sim_latency_free(m);
    pu_crypto_free(f.c);
}

static void test_per_link(void)
{
    fixture f;
    fx_init(&f, 4);
    sim_latency_params p;
    memset(&p, 0, sizeof p);
    p.kind = SIM_LAT_PARETO;
    p.jitter = SIM_LAT_PER_LINK;
    p.mean_ns = 100e6;
    p.shape = 5.0;
    sim_latency *m = make(&f, &p), *m2 = make(&f, &p);
    /* The same link gives the same value every time, with or without a
     * stream, in any order, from another model instance with the key. */
    uint64_t first[50], v;
    int bad = 0, asym = 0;
    for (uint32_t b = 0; b < 50; b++)
        CU_ASSERT_FATAL(sim_latency_sample(m, NULL, 7, b + 100, 0, 0, &first[b]) == PU_OK);
    for (uint32_t b = 50; b-- > 0;) {
        CU_ASSERT_FATAL(sim_latency_sample(m2, &f.msg, 7, b + 100, 0, 0, &v) == PU_OK);
        bad += v != first[b];
        CU_ASSERT_FATAL(sim_latency_sample(m, NULL, b + 100, 7, 0, 0, &v) == PU_OK);
        asym += v != first[b];
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT(asym > 45); /* ordered pairs: b -> a is its own draw */
    /* Across many links the fixed values follow the model's distribution. */
    double sum = 0;
    for (uint32_t a = 0; a < 300; a++)
        for (uint32_t b = 0; b < 300; b++) {
            CU_ASSERT_FATAL(sim_latency_sample(m, NULL, a, b, 0, 0, &v) == PU_OK);
            sum += (double)v;
        }
    double mean = sum / 90000, sd = 80e6 / 4.0 * sqrt(5.0 / 3.0);
    CU_ASSERT(fabs(mean - 100e6) < 5 * sd / 300.0);
    /* A different key gives different links. */
    pu_hash32 k2 = f.key;
    k2.b[0] ^= 1;
    sim_latency *m3;
    CU_ASSERT_FATAL(sim_latency_new(&p, &k2, &m3) == PU_OK);
    int same = 0;
    for (uint32_t b = 0; b < 50; b++) {
        CU_ASSERT_FATAL(sim_latency_sample(m3, NULL, 7, b + 100, 0, 0, &v) == PU_OK);
        same += v == first[b];
    }
    CU_ASSERT(same < 3);
    sim_latency_free(m);
    sim_latency_free(m2);
    sim_latency_free(m3);
    pu_crypto_free(f.c);
}

static void test_invalid(void)
{
    fixture f;
    fx_init(&f, 5);
    sim_latency *m;
    sim_latency_params p;
    memset(&p, 0, sizeof p);
    p.kind = SIM_LAT_UNIFORM;
    p.min_ns = 5;
    p.max_ns = 4;
    CU_ASSERT_EQUAL(sim_latency_new(&p, &f.key, &m), PU_ERR_RANGE);
    CU_ASSERT(m == NULL);
    memset(&p, 0, sizeof p);
    p.kind = SIM_LAT_PARETO;
    p.mean_ns = 1e6;
    p.shape = 1.0;
    CU_ASSERT_EQUAL(sim_latency_new(&p, &f.key, &m), PU_ERR_RANGE);
    memset(&p, 0, sizeof p);
    p.kind = SIM_LAT_LOGNORMAL;
    p.mean_ns = 0;
    p.sigma = 0.5;
    CU_ASSERT_EQUAL(sim_latency_new(&p, &f.key, &m), PU_ERR_RANGE);
    memset(&p, 0, sizeof p);
    p.kind = SIM_LAT_NORMAL;
    p.mean_ns = 1e6;
    p.sd_ns = NAN;
    CU_ASSERT_EQUAL(sim_latency_new(&p, &f.key, &m), PU_ERR_RANGE);
    memset(&p, 0, sizeof p);
    p.kind = SIM_LAT_CONSTANT;
    p.const_ns = SIM_LATENCY_MAX_NS + 1;
    CU_ASSERT_EQUAL(sim_latency_new(&p, &f.key, &m), PU_ERR_RANGE);
    const double negm[1] = {-1.0};
    memset(&p, 0, sizeof p);
    p.kind = SIM_LAT_REGION;
    p.nregions = 1;
    p.region_mean_ms = negm;
    CU_ASSERT_EQUAL(sim_latency_new(&p, &f.key, &m), PU_ERR_RANGE);
    p.nregions = 0;
    CU_ASSERT_EQUAL(sim_latency_new(&p, &f.key, &m), PU_ERR_RANGE);
    memset(&p, 0, sizeof p);
    p.kind = (sim_latency_kind)99;
    CU_ASSERT_EQUAL(sim_latency_new(&p, &f.key, &m), PU_ERR_RANGE);
    pu_crypto_free(f.c);
}

/* CRC-32 of 1000 samples (as big-endian u64) of the region model: pins the
 * whole path seed -> SHA-256 -> taus2 -> detmath -> ns rounding, per
 * message and per link.  Identical under gcc and clang, -O0 to -O3. */
static uint32_t trace_crc(const sim_latency *m, sim_rng *msg)
{
    uint8_t buf[8 * 1000];
    for (uint32_t i = 0; i < 1000; i++) {
        uint64_t v = 0;
        CU_ASSERT(sim_latency_sample(m, msg, i, i + 1, i % 6, (i / 6) % 6, &v) == PU_OK);
        pu_put_be64(buf + 8 * i, v);
    }
    return pu_crc32(buf, sizeof buf);
}

static void test_pinned_trace(void)
{
    fixture f;
    fx_init(&f, 6);
    sim_latency_params p;
    memset(&p, 0, sizeof p);
    p.kind = SIM_LAT_REGION;
    p.region_mean_ms = sim_latency_bitcoin_region_ms(&p.nregions);
    sim_latency *m = make(&f, &p);
    CU_ASSERT_EQUAL(trace_crc(m, &f.msg), 0x5c8bdaf3u);
    sim_latency_free(m);
    p.jitter = SIM_LAT_PER_LINK;
    m = make(&f, &p);
    CU_ASSERT_EQUAL(trace_crc(m, NULL), 0xf84d68e1u);
    sim_latency_free(m);
    pu_crypto_free(f.c);
}

TSUITE(latency)
{
    CU_pSuite s = CU_add_suite("latency", NULL, NULL);
    if (!s)
        return CU_get_error();
    TADD(s, test_constant_uniform);
    TADD(s, test_normal_lognormal_pareto);
    TADD(s, test_region_matrix);
    TADD(s, test_per_link);
    TADD(s, test_invalid);
    TADD(s, test_pinned_trace);
    return CUE_SUCCESS;
}
