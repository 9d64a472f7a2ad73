/* sim/rng.c -- stream seeding and variates.  See rng.h for the contract. */
#include "sim/rng.h"

#include <math.h>

#include "core/bytes.h"
#include "core/detmath.h"
#include "core/mix.h"

/* A truncated normal whose bound lies more than this many sd above the mean
 * uses the exponential-tail sampler: below it plain rejection accepts at
 * least 1 - Phi(0.5) = 31 % of draws, which is cheaper than the tail
 * sampler's log + exp per attempt. */
static const double TAIL_SWITCH_SD = 0.5;

void sim_rng_root_init(sim_rng_root *root, pu_crypto *crypto, uint64_t seed)
{
    root->seed = seed;
    root->crypto = crypto;
}

void sim_rng_key(const sim_rng_root *root, sim_rng_purpose purpose, uint64_t owner,
                 pu_hash32 *out)
{
    uint8_t msg[20];
    pu_put_be64(msg, root->seed);
    pu_put_be32(msg + 8, (uint32_t)purpose);
    pu_put_be64(msg + 12, owner);
    pu_sha256(root->crypto, msg, sizeof msg, out);
}

/* The taus recurrence loses the low 1/3/4 bits of s1/s2/s3 (masked away)
 * and would stay at zero if the remaining bits were all zero; the same
 * repair as GSL's taus2 seeding keeps every state usable. */
static void set_state(sim_rng *r, uint32_t s1, uint32_t s2, uint32_t s3)
{
    r->s1 = s1 < 2u ? s1 + 2u : s1;
    r->s2 = s2 < 8u ? s2 + 8u : s2;
    r->s3 = s3 < 16u ? s3 + 16u : s3;
}

void sim_rng_init_key(sim_rng *r, const pu_hash32 *key)
{
    set_state(r, pu_get_be32(key->b), pu_get_be32(key->b + 4), pu_get_be32(key->b + 8));
}

sim_rng sim_rng_stream(const sim_rng_root *root, sim_rng_purpose purpose, uint64_t owner)
{
    pu_hash32 key;
    sim_rng r;
    sim_rng_key(root, purpose, owner, &key);
    sim_rng_init_key(&r, &key);
    return r;
}


void sim_rng_init_mix(sim_rng *r, const pu_hash32 *key, uint64_t a, uint64_t b)
{
    uint64_t k0 = pu_get_be64(key->b), k1 = pu_get_be64(key->b + 8);
    uint64_t h1 = pu_mix64(a ^ k0);
    uint64_t h2 = pu_mix64(h1 ^ b ^ k1);
    uint64_t h3 = pu_mix64(h2 + k0);
    set_state(r, (uint32_t)h2, (uint32_t)(h2 >> 32), (uint32_t)h3);
}

uint64_t sim_rng_u64(sim_rng *r)
{
    uint64_t hi = sim_rng_u32(r);
    return (hi << 32) | sim_rng_u32(r);
}

uint64_t sim_rng_below(sim_rng *r, uint64_t n)
{
    if (n == 0)
        return 0;
    if (n <= UINT64_C(0x100000000)) {
        /* Values below 2^32 mod n would make the low residues more likely:
         * reject them, so [t, 2^32) holds a whole number of periods of n. */
        uint64_t t = (UINT64_C(0x100000000) - n) % n;
        for (;;) {
            uint64_t v = sim_rng_u32(r);
            if (v >= t)
                return v % n;
        }
    }
    uint64_t t = (0 - n) % n; /* 2^64 mod n */
    for (;;) {
        uint64_t v = sim_rng_u64(r);
        if (v >= t)
            return v % n;
    }
}

double sim_rng_unit(sim_rng *r)
{
    return (double)(sim_rng_u64(r) >> 11) * 0x1p-53;
}

bool sim_rng_bernoulli(sim_rng *r, double p)
{
    return sim_rng_unit(r) < p;
}

/* -log(V) with V = 1 - unit() in (0, 1]: a standard exponential.  V is
 * exact (unit() is a multiple of 2^-53), and 0.0 - log keeps +0, not -0. */
static double std_exp(sim_rng *r)
{
    return 0.0 - pu_det_log(1.0 - sim_rng_unit(r));
}

double sim_rng_exp(sim_rng *r, double mean)
{
    return mean * std_exp(r);
}

uint64_t sim_rng_exp_ns(sim_rng *r, double mean_ns)
{
    if (!(mean_ns > 0.0))
        return 0;
    double x = sim_rng_exp(r, mean_ns) + 0.5;
    if (!(x < 0x1p64))
        return UINT64_MAX;
    return (uint64_t)x;
}

/* A standard normal variate (polar method). */
static double std_normal(sim_rng *r)
{
    for (;;) {
        double u = 2.0 * sim_rng_unit(r) - 1.0;
        double v = 2.0 * sim_rng_unit(r) - 1.0;
        double s = u * u + v * v;
        if (s < 1.0 && s > 0.0)
            return u * sqrt(-2.0 * pu_det_log(s) / s);
    }
}

double sim_rng_normal(sim_rng *r, double mean, double sd)
{
    double z = std_normal(r);
    return sd > 0.0 ? mean + sd * z : mean;
}

/* Standard normal conditioned on >= a, for a > TAIL_SWITCH_SD.  Proposal
 * a + Exp(alpha) with the acceptance-maximising rate
 * alpha = (a + sqrt(a^2 + 4)) / 2; accept with probability
 * exp(-(z - alpha)^2 / 2). */
static double std_normal_tail(sim_rng *r, double a)
{
    double alpha = 0.5 * (a + sqrt(a * a + 4.0));
    for (;;) {
        double z = a + std_exp(r) / alpha;
        double d = z - alpha;
        if (sim_rng_unit(r) <= pu_det_exp(-0.5 * d * d))
            return z;
    }
}

double sim_rng_normal_min(sim_rng *r, double mean, double sd, double lo)
{
    if (!(sd > 0.0))
        return mean > lo ? mean : lo;
    double a = (lo - mean) / sd;
    if (a != a) /* a NaN argument: no draw can ever be accepted */
        return a;
    if (a > TAIL_SWITCH_SD)
        return mean + sd * std_normal_tail(r, a);
    for (;;) {
        double x = mean + sd * std_normal(r);
        if (x >= lo)
            return x;
    }
}

double sim_rng_lognormal(sim_rng *r, double mu, double sigma)
{
    return pu_det_exp(sim_rng_normal(r, mu, sigma));
}

double sim_rng_pareto(sim_rng *r, double scale, double shape)
{
    double v = 1.0 - sim_rng_unit(r);
    if (!(shape > 0.0))
        return scale;
    return scale * pu_det_pow(v, -1.0 / shape);
}

void sim_rng_shuffle(sim_rng *r, uint32_t *a, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)sim_rng_below(r, i);
        uint32_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

pu_err sim_rng_weighted(sim_rng *r, const double *w, size_t n, size_t *out)
{
    *out = 0;
    double total = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (!(w[i] >= 0.0) || w[i] == INFINITY)
            return PU_ERR_RANGE;
        total += w[i];
    }
    if (n == 0 || !(total > 0.0) || total == INFINITY)
        return PU_ERR_RANGE;
    double x = sim_rng_unit(r) * total;
    double acc = 0.0;
    size_t last = 0;
    for (size_t i = 0; i < n; i++) {
        if (w[i] == 0.0)
            continue;
        last = i;
        acc += w[i];
        if (x < acc) {
            *out = i;
            return PU_OK;
        }
    }
    /* Rounding can leave x == the running total: the last positive weight. */
    *out = last;
    return PU_OK;
}
