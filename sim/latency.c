/* sim/latency.c -- latency models.  See latency.h for the contract. */
#include "sim/latency.h"

#include <math.h>
#include <stdlib.h>

#include "core/detmath.h"

static const double BITCOIN_REGION_MS[36] = {
    32, 124, 184, 198, 151, 189,   /* NA */
    124, 11, 227, 237, 252, 294,   /* EU */
    184, 227, 88, 325, 301, 322,   /* SA */
    198, 237, 325, 85, 58, 198,    /* AP */
    151, 252, 301, 58, 12, 126,    /* JP */
    189, 294, 322, 198, 126, 16};  /* AU */

/* SimBlock: shape = 0.2 * mean in ms. */
static const double REGION_SHAPE_PER_MS = 0.2;
static const double NS_PER_MS = 1e6;

struct sim_latency {
    sim_latency_kind kind;
    sim_latency_jitter jitter;
    pu_hash32 key;
    uint64_t lo_ns, hi_ns; /* CONSTANT: lo; UNIFORM: [lo, hi]; NORMAL: floor = lo */
    double p1, p2;         /* NORMAL mean, sd; LOGNORMAL mu, sigma; PARETO scale, shape */
    uint32_t nreg;
    double *reg_scale_ns;  /* REGION: per (from, to) Pareto scale, 0 = constant 0 */
    double *reg_shape;
};

const double *sim_latency_bitcoin_region_ms(uint32_t *nregions)
{
    *nregions = 6;
    return BITCOIN_REGION_MS;
}

static bool finite_nonneg(double x)
{
    return x >= 0.0 && x < INFINITY;
}

static pu_err setup_region(sim_latency *m, const sim_latency_params *p)
{
    if (p->nregions == 0 || p->nregions > 256 || !p->region_mean_ms)
        return PU_ERR_RANGE;
    size_t nn = (size_t)p->nregions * p->nregions;
    for (size_t i = 0; i < nn; i++)
        if (!finite_nonneg(p->region_mean_ms[i]) ||
            p->region_mean_ms[i] * NS_PER_MS > (double)SIM_LATENCY_MAX_NS)
            return PU_ERR_RANGE;
    m->reg_scale_ns = malloc(nn * sizeof(double));
    m->reg_shape = malloc(nn * sizeof(double));
    if (!m->reg_scale_ns || !m->reg_shape)
        return PU_ERR_NOMEM;
    m->nreg = p->nregions;
    for (size_t i = 0; i < nn; i++) {
        double mean_ms = p->region_mean_ms[i];
        double shape = REGION_SHAPE_PER_MS * mean_ms;
        if (shape < SIM_LATENCY_REGION_MIN_SHAPE)
            shape = SIM_LATENCY_REGION_MIN_SHAPE;
        m->reg_shape[i] = shape;
        m->reg_scale_ns[i] = mean_ms * NS_PER_MS * (shape - 1.0) / shape;
    }
    return PU_OK;
}

/* Check the kind's parameters and precompute what sampling needs. */
static pu_err setup(sim_latency *m, const sim_latency_params *p)
{
    const double max = (double)SIM_LATENCY_MAX_NS;
    switch (p->kind) {
    case SIM_LAT_CONSTANT:
        m->lo_ns = p->const_ns;
        return p->const_ns <= SIM_LATENCY_MAX_NS ? PU_OK : PU_ERR_RANGE;
    case SIM_LAT_UNIFORM:
        m->lo_ns = p->min_ns;
        m->hi_ns = p->max_ns;
        return p->min_ns <= p->max_ns && p->max_ns <= SIM_LATENCY_MAX_NS ? PU_OK : PU_ERR_RANGE;
    case SIM_LAT_NORMAL:
        m->p1 = p->mean_ns;
        m->p2 = p->sd_ns;
        m->lo_ns = p->floor_ns;
        return finite_nonneg(p->mean_ns) && p->mean_ns <= max && finite_nonneg(p->sd_ns) &&
                       p->floor_ns <= SIM_LATENCY_MAX_NS
                   ? PU_OK
                   : PU_ERR_RANGE;
    case SIM_LAT_LOGNORMAL:
        if (!(p->mean_ns > 0.0 && p->mean_ns <= max && finite_nonneg(p->sigma)))
            return PU_ERR_RANGE;
        m->p1 = pu_det_log(p->mean_ns) - 0.5 * p->sigma * p->sigma;
        m->p2 = p->sigma;
        return PU_OK;
    case SIM_LAT_PARETO:
        if (!(p->mean_ns > 0.0 && p->mean_ns <= max && p->shape > 1.0 && p->shape < INFINITY))
            return PU_ERR_RANGE;
        m->p1 = p->mean_ns * (p->shape - 1.0) / p->shape;
        m->p2 = p->shape;
        return PU_OK;
    case SIM_LAT_REGION:
        return setup_region(m, p);
    }
    return PU_ERR_RANGE;
}

pu_err sim_latency_new(const sim_latency_params *p, const pu_hash32 *link_key, sim_latency **out)
{
    *out = NULL;
    if (p->jitter != SIM_LAT_PER_MESSAGE && p->jitter != SIM_LAT_PER_LINK)
        return PU_ERR_RANGE;
    sim_latency *m = calloc(1, sizeof *m);
    if (!m)
        return PU_ERR_NOMEM;
    m->kind = p->kind;
    m->jitter = p->jitter;
    m->key = *link_key;
    pu_err rc = setup(m, p);
    if (rc != PU_OK) {
        sim_latency_free(m);
        return rc;
    }
    *out = m;
    return PU_OK;
}

void sim_latency_free(sim_latency *m)
{
    if (!m)
        return;
    free(m->reg_scale_ns);
    free(m->reg_shape);
    free(m);
}

sim_latency_kind sim_latency_kind_of(const sim_latency *m)
{
    return m->kind;
}

/* Round half up to ns, clamped to [0, SIM_LATENCY_MAX_NS]; NaN -> 0. */
static uint64_t to_ns(double x)
{
    if (!(x > 0.0))
        return 0;
    x += 0.5;
    if (!(x < (double)SIM_LATENCY_MAX_NS))
        return SIM_LATENCY_MAX_NS;
    return (uint64_t)x;
}

static uint64_t draw(const sim_latency *m, sim_rng *r, size_t cell)
{
    switch (m->kind) {
    case SIM_LAT_CONSTANT:
        return m->lo_ns;
    case SIM_LAT_UNIFORM:
        return m->lo_ns + sim_rng_below(r, m->hi_ns - m->lo_ns + 1);
    case SIM_LAT_NORMAL:
        return to_ns(sim_rng_normal_min(r, m->p1, m->p2, (double)m->lo_ns));
    case SIM_LAT_LOGNORMAL:
        return to_ns(sim_rng_lognormal(r, m->p1, m->p2));
    case SIM_LAT_PARETO:
        return to_ns(sim_rng_pareto(r, m->p1, m->p2));
    case SIM_LAT_REGION:
        if (m->reg_scale_ns[cell] == 0.0)
            return 0;
        return to_ns(sim_rng_pareto(r, m->reg_scale_ns[cell], m->reg_shape[cell]));
    }
    return 0;
}

pu_err sim_latency_sample(const sim_latency *m, sim_rng *msg_rng, uint32_t from, uint32_t to,
                          uint32_t from_region, uint32_t to_region, uint64_t *out_ns)
{
    *out_ns = 0;
    size_t cell = 0;
    if (m->kind == SIM_LAT_REGION) {
        if (from_region >= m->nreg || to_region >= m->nreg)
            return PU_ERR_RANGE;
        cell = (size_t)from_region * m->nreg + to_region;
    }
    if (m->kind == SIM_LAT_CONSTANT) {
        *out_ns = m->lo_ns;
        return PU_OK;
    }
    if (m->jitter == SIM_LAT_PER_LINK) {
        sim_rng link;
        sim_rng_init_mix(&link, &m->key, from, to);
        *out_ns = draw(m, &link, cell);
        return PU_OK;
    }
    if (!msg_rng)
        return PU_ERR_STATE;
    *out_ns = draw(m, msg_rng, cell);
    return PU_OK;
}
