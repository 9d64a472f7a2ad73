/* tests/sim/test_rng.c -- stream identity, bit equality with GSL's taus2,
 * pinned first values, and the moments of every variate. */
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sim/rng.h"
#include "tests/harness.h"

#define NS 100000

static sim_rng_root make_root(pu_crypto **c, uint64_t seed)
{
    sim_rng_root root;
    CU_ASSERT_FATAL(pu_crypto_new(c) == PU_OK);
    sim_rng_root_init(&root, *c, seed);
    return root;
}

/* GSL's taus state is three unsigned longs; read and write it directly. */
typedef struct { unsigned long s1, s2, s3; } gsl_taus_state;

static void test_gsl_bit_equality(void)
{
    gsl_rng *g = gsl_rng_alloc(gsl_rng_taus2);
    CU_ASSERT_FATAL(g != NULL);
    CU_ASSERT_FATAL(gsl_rng_size(g) == sizeof(gsl_taus_state));
    /* GSL seeds, we copy its state and follow it. */
    gsl_rng_set(g, 12345);
    gsl_taus_state *st = gsl_rng_state(g);
    sim_rng r = {(uint32_t)st->s1, (uint32_t)st->s2, (uint32_t)st->s3};
    int bad = 0;
    for (int i = 0; i < NS; i++)
        bad += sim_rng_u32(&r) != (uint32_t)gsl_rng_get(g);
    CU_ASSERT_EQUAL(bad, 0);
    /* We seed (from SHA-256), GSL follows our state. */
    pu_crypto *c;
    sim_rng_root root = make_root(&c, 99);
    r = sim_rng_stream(&root, SIM_RNG_MINING, 3);
    st->s1 = r.s1;
    st->s2 = r.s2;
    st->s3 = r.s3;
    bad = 0;
    for (int i = 0; i < NS; i++)
        bad += sim_rng_u32(&r) != (uint32_t)gsl_rng_get(g);
    CU_ASSERT_EQUAL(bad, 0);
    gsl_rng_free(g);
    pu_crypto_free(c);
}

/* Known first values: any change to seeding, hashing or the recurrence
 * shows up here. */
static void test_pinned_values(void)
{
    pu_crypto *c;
    sim_rng_root root = make_root(&c, 42);
    pu_hash32 key;
    sim_rng_key(&root, SIM_RNG_MINING, 7, &key);
    char hex[65];
    pu_hash_hex(&key, hex);
    /* SHA-256(00..2a | 00000006 | 00..07) */
    CU_ASSERT_STRING_EQUAL(hex, "527e74205e87f951334e614160545472870505a368f7ab7ec549d49c0a06d12d");
    sim_rng r = sim_rng_stream(&root, SIM_RNG_MINING, 7);
    CU_ASSERT_EQUAL(sim_rng_u32(&r), 3450380576u);
    CU_ASSERT_EQUAL(sim_rng_u32(&r), 3919208961u);
    CU_ASSERT_EQUAL(sim_rng_u64(&r), UINT64_C(8059684278609418433));
    CU_ASSERT_EQUAL(sim_rng_below(&r, 1000), 978u);
    CU_ASSERT_EQUAL(sim_rng_exp_ns(&r, 600e9), UINT64_C(443685000643));
    pu_crypto_free(c);
}

static void test_stream_identity(void)
{
    pu_crypto *c;
    sim_rng_root root = make_root(&c, 1);
    sim_rng a = sim_rng_stream(&root, SIM_RNG_LATENCY, 5);
    sim_rng a2 = sim_rng_stream(&root, SIM_RNG_LATENCY, 5);
    sim_rng b = sim_rng_stream(&root, SIM_RNG_LATENCY, 6);
    sim_rng d = sim_rng_stream(&root, SIM_RNG_LOSS, 5);
    sim_rng_root other = root;
    other.seed = 2;
    sim_rng e = sim_rng_stream(&other, SIM_RNG_LATENCY, 5);
    uint32_t va[64];
    int same_b = 0, same_d = 0, same_e = 0, diff_a2 = 0;
    for (int i = 0; i < 64; i++) {
        va[i] = sim_rng_u32(&a);
        diff_a2 += va[i] != sim_rng_u32(&a2);
        same_b += va[i] == sim_rng_u32(&b);
        same_d += va[i] == sim_rng_u32(&d);
        same_e += va[i] == sim_rng_u32(&e);
    }
    CU_ASSERT_EQUAL(diff_a2, 0);
    CU_ASSERT(same_b < 2 && same_d < 2 && same_e < 2);
    /* Interleaving draws from a new stream leaves this one unchanged. */
    sim_rng a3 = sim_rng_stream(&root, SIM_RNG_LATENCY, 5);
    sim_rng f = sim_rng_stream(&root, SIM_RNG_WORKLOAD, 1000);
    int diff = 0;
    for (int i = 0; i < 64; i++) {
        (void)sim_rng_u64(&f);
        diff += va[i] != sim_rng_u32(&a3);
    }
    CU_ASSERT_EQUAL(diff, 0);
    pu_crypto_free(c);
}

static void test_init_mix(void)
{
    pu_hash32 key;
    memset(key.b, 0x5a, sizeof key.b);
    sim_rng x, y, z;
    sim_rng_init_mix(&x, &key, 3, 9);
    sim_rng_init_mix(&y, &key, 3, 9);
    sim_rng_init_mix(&z, &key, 9, 3);
    CU_ASSERT(x.s1 == y.s1 && x.s2 == y.s2 && x.s3 == y.s3);
    CU_ASSERT(x.s1 != z.s1 || x.s2 != z.s2);
    /* Degenerate inputs still give a usable state. */
    pu_hash32 zero = {{0}};
    sim_rng_init_mix(&x, &zero, 0, 0);
    CU_ASSERT(x.s1 >= 2 && x.s2 >= 8 && x.s3 >= 16);
    int zeros = 0;
    for (int i = 0; i < 100; i++)
        zeros += sim_rng_u32(&x) == 0;
    CU_ASSERT(zeros < 2);
}

static void test_below(void)
{
    pu_crypto *c;
    sim_rng_root root = make_root(&c, 3);
    sim_rng r = sim_rng_stream(&root, SIM_RNG_MISC, 0);
    CU_ASSERT_EQUAL(sim_rng_below(&r, 0), 0);
    CU_ASSERT_EQUAL(sim_rng_below(&r, 1), 0);
    uint32_t cnt[7] = {0};
    for (int i = 0; i < 70000; i++) {
        uint64_t v = sim_rng_below(&r, 7);
        CU_ASSERT_FATAL(v < 7);
        cnt[v]++;
    }
    for (int i = 0; i < 7; i++) /* 10000 each, sd ~93 */
        CU_ASSERT(cnt[i] > 9500 && cnt[i] < 10500);
    /* n = 3 * 2^30: plain modulo would put half the mass below 2^30. */
    uint64_t n = UINT64_C(3) << 30, low = 0;
    for (int i = 0; i < 60000; i++) {
        uint64_t v = sim_rng_below(&r, n);
        CU_ASSERT_FATAL(v < n);
        low += v < (UINT64_C(1) << 30);
    }
    CU_ASSERT(low > 19400 && low < 20600); /* 1/3 of 60000, sd ~115 */
    /* n above 2^32 uses 64-bit draws and covers the high range. */
    uint64_t big = (UINT64_C(1) << 40) + 3, hi = 0;
    for (int i = 0; i < 10000; i++) {
        uint64_t v = sim_rng_below(&r, big);
        CU_ASSERT_FATAL(v < big);
        hi += v >= (UINT64_C(1) << 39);
    }
    CU_ASSERT(hi > 4800 && hi < 5200);
    /* Every value of a small range is reached. */
    uint8_t seen[1000] = {0};
    for (int i = 0; i < 20000; i++)
        seen[sim_rng_below(&r, 1000)] = 1;
    int all = 1;
    for (int i = 0; i < 1000; i++)
        all &= seen[i];
    CU_ASSERT(all);
    pu_crypto_free(c);
}

typedef struct moments { double mean, var, se_mean, se_var, min; } moments;

/* Sample moments with standard errors estimated from the sample itself
 * (the variance's from the 4th central moment). */
static moments sample_moments(const double *x, size_t n)
{
    moments m = {0, 0, 0, 0, INFINITY};
    for (size_t i = 0; i < n; i++) {
        m.mean += x[i];
        m.min = x[i] < m.min ? x[i] : m.min;
    }
    m.mean /= (double)n;
    double m2 = 0, m4 = 0;
    for (size_t i = 0; i < n; i++) {
        double d = x[i] - m.mean;
        m2 += d * d;
        m4 += d * d * d * d;
    }
    m2 /= (double)n;
    m4 /= (double)n;
    m.var = m2 * (double)n / (double)(n - 1);
    m.se_mean = sqrt(m2 / (double)n);
    m.se_var = sqrt((m4 - m2 * m2) / (double)n);
    return m;
}

/* True mean and variance must lie within 5 standard errors. */
static void check_moments(const double *x, double mean, double var)
{
    moments m = sample_moments(x, NS);
    CU_ASSERT(fabs(m.mean - mean) < 5 * m.se_mean);
    CU_ASSERT(fabs(m.var - var) < 5 * m.se_var);
}

static double std_normal_pdf(double z)
{
    return exp(-0.5 * z * z) / sqrt(2 * 3.14159265358979323846);
}

static double std_normal_sf(double z) /* 1 - Phi(z) */
{
    return 0.5 * erfc(z / sqrt(2.0));
}

static void test_variates(void)
{
    pu_crypto *c;
    sim_rng_root root = make_root(&c, 2024);
    sim_rng r = sim_rng_stream(&root, SIM_RNG_MISC, 1);
    double *x = malloc(NS * sizeof *x);
    CU_ASSERT_FATAL(x != NULL);
    int odd = 0;
    for (int i = 0; i < NS; i++) {
        x[i] = sim_rng_unit(&r);
        CU_ASSERT_FATAL(x[i] >= 0.0 && x[i] < 1.0);
        odd += ((uint64_t)(x[i] * 0x1p53) & 1) != 0; /* 53 bits, not 32 */
    }
    CU_ASSERT(odd > NS / 2 - 1000 && odd < NS / 2 + 1000);
    check_moments(x, 0.5, 1.0 / 12.0);
    for (int i = 0; i < NS; i++)
        x[i] = sim_rng_exp(&r, 3.0);
    check_moments(x, 3.0, 9.0);
    CU_ASSERT(sample_moments(x, NS).min >= 0.0);
    for (int i = 0; i < NS; i++)
        x[i] = sim_rng_normal(&r, 2.0, 3.0);
    check_moments(x, 2.0, 9.0);
    double mu = 0.5, s = 0.4;
    for (int i = 0; i < NS; i++)
        x[i] = sim_rng_lognormal(&r, mu, s);
    check_moments(x, exp(mu + s * s / 2), (exp(s * s) - 1) * exp(2 * mu + s * s));
    double xm = 2.0, a = 6.0;
    for (int i = 0; i < NS; i++)
        x[i] = sim_rng_pareto(&r, xm, a);
    check_moments(x, a * xm / (a - 1), xm * xm * a / ((a - 1) * (a - 1) * (a - 2)));
    CU_ASSERT(sample_moments(x, NS).min >= xm);
    free(x);
    pu_crypto_free(c);
}

/* Truncated normal: mean mu + sd lambda, var sd^2 (1 + a lambda - lambda^2)
 * with a = (lo - mu)/sd and lambda = pdf(a) / (1 - Phi(a)). */
static void check_truncated(sim_rng *r, double mu, double sd, double lo)
{
    double *x = malloc(NS * sizeof *x);
    CU_ASSERT_FATAL(x != NULL);
    for (int i = 0; i < NS; i++)
        x[i] = sim_rng_normal_min(r, mu, sd, lo);
    double a = (lo - mu) / sd, lam = std_normal_pdf(a) / std_normal_sf(a);
    check_moments(x, mu + sd * lam, sd * sd * (1 + a * lam - lam * lam));
    CU_ASSERT(sample_moments(x, NS).min >= lo);
    free(x);
}

static void test_truncated_normal(void)
{
    pu_crypto *c;
    sim_rng_root root = make_root(&c, 7);
    sim_rng r = sim_rng_stream(&root, SIM_RNG_MISC, 2);
    check_truncated(&r, 10.0, 2.0, 9.0);  /* rejection path */
    check_truncated(&r, 0.0, 1.0, 1.5);   /* tail path */
    check_truncated(&r, 0.0, 1.0, 4.0);   /* far tail: still fast */
    CU_ASSERT_EQUAL(sim_rng_normal_min(&r, 5.0, 0.0, 7.0), 7.0);
    CU_ASSERT_EQUAL(sim_rng_normal_min(&r, 5.0, 0.0, 3.0), 5.0);
    CU_ASSERT(isnan(sim_rng_normal_min(&r, NAN, 1.0, 3.0))); /* returns, no endless loop */
    CU_ASSERT(isnan(sim_rng_normal_min(&r, 5.0, 1.0, NAN)));
    pu_crypto_free(c);
}

static void test_exp_ns(void)
{
    pu_crypto *c;
    sim_rng_root root = make_root(&c, 8);
    sim_rng r = sim_rng_stream(&root, SIM_RNG_MINING, 0);
    double *x = malloc(NS * sizeof *x);
    CU_ASSERT_FATAL(x != NULL);
    int bad = 0;
    for (int i = 0; i < NS; i++) {
        sim_rng copy = r;
        double d = sim_rng_exp(&copy, 1234.5);
        uint64_t ns = sim_rng_exp_ns(&r, 1234.5);
        bad += ns != (uint64_t)(d + 0.5); /* rounded half up, same draw */
        x[i] = (double)ns;
    }
    CU_ASSERT_EQUAL(bad, 0);
    /* Rounding adds variance 1/12 to an exponential of mean 1234.5. */
    check_moments(x, 1234.5, 1234.5 * 1234.5 + 1.0 / 12);
    sim_rng before = r;
    CU_ASSERT_EQUAL(sim_rng_exp_ns(&r, 0.0), 0);
    CU_ASSERT_EQUAL(sim_rng_exp_ns(&r, NAN), 0);
    CU_ASSERT(r.s1 == before.s1 && r.s2 == before.s2); /* no draw */
    CU_ASSERT_EQUAL(sim_rng_exp_ns(&r, 1e300), UINT64_MAX);
    free(x);
    pu_crypto_free(c);
}

static void test_shuffle(void)
{
    pu_crypto *c;
    sim_rng_root root = make_root(&c, 9);
    sim_rng r = sim_rng_stream(&root, SIM_RNG_TOPOLOGY, 0);
    uint32_t pos0[5] = {0};
    for (int t = 0; t < 50000; t++) {
        uint32_t a[5] = {0, 1, 2, 3, 4};
        sim_rng_shuffle(&r, a, 5);
        uint32_t seen = 0;
        for (int i = 0; i < 5; i++) {
            seen |= 1u << a[i];
            if (a[i] == 0)
                pos0[i]++;
        }
        CU_ASSERT_FATAL(seen == 0x1f); /* a permutation */
    }
    for (int i = 0; i < 5; i++) /* 10000 each, sd ~89 */
        CU_ASSERT(pos0[i] > 9550 && pos0[i] < 10450);
    uint32_t one = 7;
    sim_rng_shuffle(&r, &one, 1);
    sim_rng_shuffle(&r, NULL, 0);
    CU_ASSERT_EQUAL(one, 7);
    pu_crypto_free(c);
}

static void test_weighted_bernoulli(void)
{
    pu_crypto *c;
    sim_rng_root root = make_root(&c, 10);
    sim_rng r = sim_rng_stream(&root, SIM_RNG_ADVERSARY, 0);
    const double w[] = {1.0, 0.0, 3.0};
    uint32_t cnt[3] = {0};
    size_t idx;
    for (int i = 0; i < 40000; i++) {
        CU_ASSERT_FATAL(sim_rng_weighted(&r, w, 3, &idx) == PU_OK);
        cnt[idx]++;
    }
    CU_ASSERT_EQUAL(cnt[1], 0);
    CU_ASSERT(cnt[2] > 29600 && cnt[2] < 30400); /* 0.75, sd ~87 */
    const double neg[] = {1.0, -1.0}, zero[] = {0.0, 0.0}, nan_w[] = {NAN, 1.0};
    CU_ASSERT_EQUAL(sim_rng_weighted(&r, neg, 2, &idx), PU_ERR_RANGE);
    CU_ASSERT_EQUAL(sim_rng_weighted(&r, zero, 2, &idx), PU_ERR_RANGE);
    CU_ASSERT_EQUAL(sim_rng_weighted(&r, nan_w, 2, &idx), PU_ERR_RANGE);
    CU_ASSERT_EQUAL(sim_rng_weighted(&r, w, 0, &idx), PU_ERR_RANGE);
    int hits = 0;
    for (int i = 0; i < 40000; i++)
        hits += sim_rng_bernoulli(&r, 0.1);
    CU_ASSERT(hits > 3700 && hits < 4300); /* sd 60 */
    CU_ASSERT(!sim_rng_bernoulli(&r, 0.0));
    CU_ASSERT(sim_rng_bernoulli(&r, 1.0));
    pu_crypto_free(c);
}

TSUITE(rng)
{
    CU_pSuite s = CU_add_suite("rng", NULL, NULL);
    if (!s)
        return CU_get_error();
    TADD(s, test_gsl_bit_equality);
    TADD(s, test_pinned_values);
    TADD(s, test_stream_identity);
    TADD(s, test_init_mix);
    TADD(s, test_below);
    TADD(s, test_variates);
    TADD(s, test_truncated_normal);
    TADD(s, test_exp_ns);
    TADD(s, test_shuffle);
    TADD(s, test_weighted_bernoulli);
    return CUE_SUCCESS;
}
