/* sim/latency.h -- one-way propagation latency of a message, in integer ns.
 *
 * A model is a distribution plus a jitter mode:
 *   SIM_LAT_PER_MESSAGE  every message draws afresh from the caller's stream
 *                        (sim/net passes the sender's SIM_RNG_LATENCY stream);
 *   SIM_LAT_PER_LINK     each ordered pair (from, to) gets one value, drawn
 *                        once and for all from a sub-stream keyed by
 *                        (model key, from, to) -- recomputed on every call,
 *                        so it is the same whatever the call order and needs
 *                        no per-link storage (SimBlock uses per-message
 *                        jitter, Gervais et al. per-link).
 *
 * Distributions (doubles are converted to ns rounding half up, then clamped
 * to [0, SIM_LATENCY_MAX_NS]):
 *   CONSTANT   const_ns.
 *   UNIFORM    integer uniform on [min_ns, max_ns], both included.
 *   NORMAL     Normal(mean_ns, sd_ns) conditioned on >= floor_ns (a
 *              truncated normal: its mean is above mean_ns when the floor
 *              cuts into the bell).
 *   LOGNORMAL  lognormal with mean mean_ns; sigma is the sd of its
 *              logarithm (mu = ln(mean_ns) - sigma^2/2).
 *   PARETO     Pareto type I with mean mean_ns and shape > 1
 *              (scale = mean_ns (shape - 1) / shape).
 *   REGION     an n x n matrix of mean latencies in ms (row = sender's
 *              region), sampled SimBlock's way: Pareto with shape
 *              0.2 * mean_ms and scale mean_ms - 5 ms, which keeps the mean
 *              exactly at mean_ms (SimBlock's Network.getLatency).  That
 *              rule needs mean_ms > 5; we floor the shape at
 *              SIM_LATENCY_REGION_MIN_SHAPE and set scale = mean (shape - 1)
 *              / shape, identical to SimBlock for every mean >= 10 ms (all of
 *              its table) and still mean-preserving below.  A 0 entry is a
 *              constant 0.
 *
 * A model is immutable after sim_latency_new; sampling only advances the
 * stream passed in, so one model may be shared by many senders. */
#ifndef SIM_LATENCY_H
#define SIM_LATENCY_H

#include "core/types.h"
#include "sim/rng.h"

/** Cap on any sampled latency: 10^15 ns (11.6 days).  Keeps heavy Pareto
 * tails from overflowing simulated time; reached with negligible
 * probability by any realistic model. */
#define SIM_LATENCY_MAX_NS UINT64_C(1000000000000000)
/** Smallest shape used by the REGION model (see above). */
#define SIM_LATENCY_REGION_MIN_SHAPE 2.0

typedef enum sim_latency_kind {
    SIM_LAT_CONSTANT = 0,
    SIM_LAT_UNIFORM,
    SIM_LAT_NORMAL,
    SIM_LAT_LOGNORMAL,
    SIM_LAT_PARETO,
    SIM_LAT_REGION,
} sim_latency_kind;

typedef enum sim_latency_jitter {
    SIM_LAT_PER_MESSAGE = 0,
    SIM_LAT_PER_LINK,
} sim_latency_jitter;

/** Parameters; only the fields of the chosen kind are read.  Zero-initialise
 * and fill in. */
typedef struct sim_latency_params {
    sim_latency_kind kind;
    sim_latency_jitter jitter;
    uint64_t const_ns;            /* CONSTANT */
    uint64_t min_ns, max_ns;      /* UNIFORM */
    double mean_ns;               /* NORMAL, LOGNORMAL, PARETO */
    double sd_ns;                 /* NORMAL */
    uint64_t floor_ns;            /* NORMAL: lower truncation point */
    double sigma;                 /* LOGNORMAL: sd of ln(latency) */
    double shape;                 /* PARETO: > 1 */
    uint32_t nregions;            /* REGION: 1..256 */
    const double *region_mean_ms; /* REGION: nregions^2, row-major, copied */
} sim_latency_params;

typedef struct sim_latency sim_latency;

/** link_key seeds the per-link values (use sim_rng_key(root, SIM_RNG_LATENCY,
 * SIM_RNG_OWNER_GLOBAL)); it is unused for PER_MESSAGE but still required.
 * PU_ERR_RANGE for invalid parameters (negative or non-finite values,
 * min > max, any ns value above SIM_LATENCY_MAX_NS, shape <= 1, lognormal
 * mean <= 0), PU_ERR_NOMEM. */
PU_NODISCARD pu_err sim_latency_new(const sim_latency_params *p, const pu_hash32 *link_key,
                                    sim_latency **out);
void sim_latency_free(sim_latency *m);

/** Latency of one message from node `from` (in region from_region) to node
 * `to`.  msg_rng is the stream per-message jitter draws from (may be NULL
 * for PER_LINK or CONSTANT; PU_ERR_STATE if needed and NULL).  Regions are
 * read by the REGION kind only (PU_ERR_RANGE if >= nregions).  On error
 * *out_ns = 0. */
PU_NODISCARD pu_err sim_latency_sample(const sim_latency *m, sim_rng *msg_rng, uint32_t from,
                                       uint32_t to, uint32_t from_region, uint32_t to_region,
                                       uint64_t *out_ns);

sim_latency_kind sim_latency_kind_of(const sim_latency *m);

/** The 6 x 6 Bitcoin 2019 mean latency matrix in ms (SimBlock's measured data,
 * order NA, EU, SA, AP, JP, AU).  *nregions = 6. */
const double *sim_latency_bitcoin_region_ms(uint32_t *nregions);

#endif
