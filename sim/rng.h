/* sim/rng.h -- named, seeded random streams and the variates drawn from them.
 *
 * A stream is identified by (run seed, purpose, owner) and seeded from
 * SHA-256(seed u64 BE || purpose u32 BE || owner u64 BE), so a stream's draws
 * depend only on its identity and on how often it was itself drawn from:
 * adding a new consumer (a new purpose, a new node) never shifts what an
 * existing one draws (STYLE s8).
 *
 * Generator: L'Ecuyer's three-component Tausworthe generator (1996, "taus88"),
 * as GSL's gsl_rng_taus2, period ~2^88.  Chosen over mt19937 because its state
 * is 12 bytes (mt19937: 2.5 KB; 100,000 nodes x ~10 streams would be 2.5 GB),
 * it is ~2.5x faster in our measurement, and a stream can then live by value
 * inside a node's struct.  The recurrence is implemented here rather than via
 * gsl_rng_alloc (one heap object per stream, 24-byte unsigned-long state);
 * tests/sim/test_rng.c checks it bit for bit against GSL's gsl_rng_taus2.
 * Seeding is ours (from SHA-256), not GSL's LCG-based gsl_rng_set.
 *
 * Every variate goes through core/detmath (never libm's log/exp/pow), so the
 * same stream gives the same doubles on every machine.  Draw functions cannot
 * fail; their parameter preconditions are stated per function, and a
 * violated precondition gives the documented value, never UB. */
#ifndef SIM_RNG_H
#define SIM_RNG_H

#include "core/crypto.h"
#include "core/types.h"

/** What a stream is for.  The numbers enter the seed hash: never renumber. */
typedef enum sim_rng_purpose {
    SIM_RNG_TOPOLOGY = 1,
    SIM_RNG_REGION = 2,
    SIM_RNG_LATENCY = 3,
    SIM_RNG_BANDWIDTH = 4,
    SIM_RNG_LOSS = 5,
    SIM_RNG_MINING = 6,
    SIM_RNG_TXGEN = 7,
    SIM_RNG_CHURN = 8,
    SIM_RNG_ADVERSARY = 9,
    SIM_RNG_ML = 10,
    SIM_RNG_WORKLOAD = 11,
    SIM_RNG_MISC = 12,
    SIM_RNG_TRACE = 13, /* the key of sim/trace's sampling hash (no draws) */
    SIM_RNG_FORK = 14,        /* a node's coin for chain.tie_break: random */
    SIM_RNG_FLOOD = 15,       /* transaction floods (network.tx_model: flood) */
} sim_rng_purpose;

/** Owner id for streams that belong to the run rather than to one node. */
#define SIM_RNG_OWNER_GLOBAL UINT64_MAX

/** One stream: a plain 12-byte value, embed it by value.  Never all-zero in
 * the bits the recurrence uses (s1 >= 2, s2 >= 8, s3 >= 16); the init
 * functions guarantee it. */
typedef struct sim_rng {
    uint32_t s1, s2, s3;
} sim_rng;

/** The run's root: its seed and a borrowed hashing context (which must
 * outlive the root's use).  A plain value, typically inside sim_ctx. */
typedef struct sim_rng_root {
    uint64_t seed;
    pu_crypto *crypto;
} sim_rng_root;

void sim_rng_root_init(sim_rng_root *root, pu_crypto *crypto, uint64_t seed);

/** out = SHA-256(seed BE8 || purpose BE4 || owner BE8): the stream's key. */
void sim_rng_key(const sim_rng_root *root, sim_rng_purpose purpose, uint64_t owner,
                 pu_hash32 *out);
/** Seed r from a 32-byte key (its first 12 bytes, big-endian words). */
void sim_rng_init_key(sim_rng *r, const pu_hash32 *key);
/** The stream (root seed, purpose, owner), ready to draw. */
sim_rng sim_rng_stream(const sim_rng_root *root, sim_rng_purpose purpose, uint64_t owner);
/** A cheap sub-stream of a key indexed by two integers, without hashing:
 * a and b are mixed with the key's first 16 bytes by a 64-bit finaliser
 * (xor-shift-multiply).  Meant for per-link values recomputed on every
 * message (sim/latency); the result depends only on (key, a, b). */
void sim_rng_init_mix(sim_rng *r, const pu_hash32 *key, uint64_t a, uint64_t b);

/** Next 32 random bits (the taus2 recurrence; same output as gsl_rng_get). */
static inline uint32_t sim_rng_u32(sim_rng *r)
{
    r->s1 = ((r->s1 & 0xfffffffeu) << 12) ^ (((r->s1 << 13) ^ r->s1) >> 19);
    r->s2 = ((r->s2 & 0xfffffff8u) << 4) ^ (((r->s2 << 2) ^ r->s2) >> 25);
    r->s3 = ((r->s3 & 0xfffffff0u) << 17) ^ (((r->s3 << 3) ^ r->s3) >> 11);
    return r->s1 ^ r->s2 ^ r->s3;
}

/** 64 bits: the first u32 drawn is the high half. */
uint64_t sim_rng_u64(sim_rng *r);
/** Uniform in [0, n), unbiased (rejection of the short top range).  Uses one
 * u32 per attempt when n <= 2^32, else one u64.  n == 0 gives 0, no draw. */
uint64_t sim_rng_below(sim_rng *r, uint64_t n);
/** Uniform in [0, 1) on the grid k * 2^-53 (one u64, top 53 bits). */
double sim_rng_unit(sim_rng *r);
/** True with probability p (unit() < p; p <= 0 never, p >= 1 always;
 * one draw in every case). */
bool sim_rng_bernoulli(sim_rng *r, double p);
/** Exponential with the given mean: -mean * log(1 - unit()), >= 0. */
double sim_rng_exp(sim_rng *r, double mean);
/** Exponential duration in integer ns: sim_rng_exp(mean_ns) rounded half up
 * to the nearest ns, saturating at UINT64_MAX.  mean_ns <= 0 or NaN gives 0
 * without drawing. */
uint64_t sim_rng_exp_ns(sim_rng *r, double mean_ns);
/** Normal(mean, sd) by Marsaglia's polar method.  The second variate of each
 * accepted pair is discarded: caching it would grow the stream's state and
 * make a draw depend on whether the previous call was a normal.  sd <= 0
 * returns mean (after drawing one pair). */
double sim_rng_normal(sim_rng *r, double mean, double sd);
/** Normal(mean, sd) conditioned on >= lo.  Plain rejection while lo is at
 * most 0.5 sd above the mean (acceptance >= 31 %), else Robert's (1995)
 * exponential-proposal rejection, whose acceptance stays high however far
 * out lo is.  sd <= 0 returns max(mean, lo) without drawing; a NaN
 * argument (which would reject forever) returns NaN without drawing. */
double sim_rng_normal_min(sim_rng *r, double mean, double sd, double lo);
/** exp(Normal(mu, sigma)): mu and sigma are those of the logarithm (as GSL's
 * gsl_ran_lognormal).  Mean exp(mu + sigma^2/2). */
double sim_rng_lognormal(sim_rng *r, double mu, double sigma);
/** Pareto type I: scale * U^(-1/shape), U uniform in (0, 1], so >= scale.
 * Mean shape*scale/(shape-1) for shape > 1.  shape <= 0 returns scale. */
double sim_rng_pareto(sim_rng *r, double scale, double shape);
/** Fisher-Yates: for i = n-1 down to 1, swap a[i] with a[below(i+1)]. */
void sim_rng_shuffle(sim_rng *r, uint32_t *a, size_t n);
/** Index i with probability w[i] / sum(w): x = unit() * sum, first i whose
 * running sum (left to right) exceeds x.  PU_ERR_RANGE (no draw) if n == 0,
 * any weight is negative or not finite, or the sum is not > 0 and finite. */
PU_NODISCARD pu_err sim_rng_weighted(sim_rng *r, const double *w, size_t n, size_t *out);

#endif
