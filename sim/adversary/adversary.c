/* sim/adversary/adversary.c -- the adversaries of a run: life cycle, the
 * generic part of every outcome, the table of strategies (adversary.h). */
#include "sim/adversary/adversary.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/detmath.h"
#include "sim/mining.h"

/* One strategy per implemented type; NULL: not implemented (the scenario
 * check refuses the type, see sim_params_adversary_implemented). */
static const sim_strategy *strategy_of(int type)
{
    switch (type) {
    case SIM_PARAMS_ADV_SELFISH: return &sim_strategy_selfish;
    case SIM_PARAMS_ADV_DOUBLE_SPEND: return &sim_strategy_double_spend;
    case SIM_PARAMS_ADV_PARTITION: return &sim_strategy_partition;
    case SIM_PARAMS_ADV_ECLIPSE: return &sim_strategy_eclipse;
    case SIM_PARAMS_ADV_WITHHOLDING: return &sim_strategy_withholding;
    case SIM_PARAMS_ADV_DELAYED_RELEASE: return &sim_strategy_delayed_release;
    case SIM_PARAMS_ADV_SPAM: return &sim_strategy_spam;
    case SIM_PARAMS_ADV_FORGED_WORK: return &sim_strategy_forged_work;
    case SIM_PARAMS_ADV_REPLAY: return &sim_strategy_replay;
    case SIM_PARAMS_ADV_NONCE_RANGE: return &sim_strategy_nonce_range;
    case SIM_PARAMS_ADV_WRONG_TEMPLATE: return &sim_strategy_wrong_template;
    case SIM_PARAMS_ADV_WRONG_BATCH: return &sim_strategy_wrong_batch;
    case SIM_PARAMS_ADV_LAZY_VERIFIER: return &sim_strategy_lazy_verifier;
    case SIM_PARAMS_ADV_POISONING: return &sim_strategy_poisoning;
    case SIM_PARAMS_ADV_FALSE_REPORT: return &sim_strategy_false_report;
    case SIM_PARAMS_ADV_SYBIL: return &sim_strategy_sybil;
    default: return NULL;
    }
}

bool sim_adversaries_have_strategy(int t) { return strategy_of(t) != NULL; }

enum { EV_START = 0, EV_STOP = 1, EV_TIMER0 = 2 }; /* SIM_EV_ADVERSARY arg */

#define FRAMEWORK_MASK                                                                  \
    (SIM_OBS_BIT(SIM_OBS_BLOCK_MINED) | SIM_OBS_BIT(SIM_OBS_BLOCK_REFUSED)             \
     | SIM_OBS_BIT(SIM_OBS_TX_REFUSED) | SIM_OBS_BIT(SIM_OBS_VERIFIED))

struct sim_adversary {
    uint32_t index;
    const sim_params_adversary *cfg;
    const sim_strategy *st;
    void *state;
    bool active;
    uint64_t since_ns;        /* start of the current active period */
    sim_attack_outcome out;
    pu_hmap *own_blocks, *own_txs; /* hash -> nothing: the attacker's objects */
    pu_hmap *window;          /* blocks mined while active: hash -> u8 (1: its own) */
};

struct sim_adversaries {
    uint32_t n;
    sim_adversary *a;
    uint32_t *owner;          /* node -> adversary index + 1; 0: honest */
};

/* ---- accessors ---------------------------------------------------------------- */

const sim_params_adversary *sim_adversary_params(const sim_adversary *adv) { return adv->cfg; }
uint32_t sim_adversary_index(const sim_adversary *adv) { return adv->index; }
bool sim_adversary_active(const sim_adversary *adv) { return adv->active; }
void *sim_adversary_state(const sim_adversary *adv) { return adv->state; }
void sim_adversary_set_state(sim_adversary *adv, void *state) { adv->state = state; }
sim_attack_outcome *sim_adversary_outcome(sim_adversary *adv) { return &adv->out; }

sim_adversary *sim_adversary_of_node(const sim_ctx *ctx, uint32_t node)
{
    const sim_adversaries *as = ctx->adversaries;
    if (!as || node >= ctx->n || !as->owner[node])
        return NULL;
    return &as->a[as->owner[node] - 1];
}

bool sim_adversary_controls(const sim_ctx *ctx, uint32_t v)
{
    return sim_adversary_of_node(ctx, v) != NULL;
}

sim_rng sim_adversary_rng(const sim_ctx *ctx, const sim_adversary *adv, uint32_t sub)
{
    return sim_rng_stream(&ctx->root, SIM_RNG_ADVERSARY, (uint64_t)adv->index << 16 | sub);
}

void sim_adversary_set_timer(sim_ctx *ctx, sim_adversary *adv, uint64_t at_ns, uint64_t arg)
{
    PU_IGNORE(sim_schedule(ctx, at_ns, SIM_EV_ADVERSARY, adv->index, EV_TIMER0 + arg, NULL, NULL));
}

pu_err sim_adversary_take_node(sim_ctx *ctx, sim_adversary *adv, uint32_t v, const sim_behavior *beh,
                               void *state)
{
    sim_adversaries *as = ctx->adversaries;
    if (v >= ctx->n)
        return PU_ERR_RANGE;
    if (as->owner[v] && as->owner[v] != adv->index + 1)
        return PU_ERR_EXISTS; /* two adversaries cannot run one node */
    as->owner[v] = adv->index + 1;
    ctx->nodes[v].beh = beh;
    ctx->nodes[v].beh_state = state;
    return PU_OK;
}

pu_err sim_adversary_miner(sim_ctx *ctx, sim_adversary *adv, uint32_t v, uint32_t *miner)
{
    *miner = sim_mining_miner_of(ctx, v);
    if (*miner != UINT32_MAX)
        return PU_OK;
    return sim_mining_add(ctx, v, sim_adversary_rng(ctx, adv, 0xffff), miner);
}

void sim_adversary_set_share(sim_ctx *ctx, sim_adversary *adv, uint32_t miner, double share)
{
    adv->out.share = share;
    sim_mining_set_share(ctx, miner, share);
}

static pu_err put_hash(pu_hmap *m, const pu_hash32 *h)
{
    void *v;
    return pu_hmap_put(m, h->b, &v, NULL);
}

pu_err sim_adversary_own_block(sim_adversary *adv, const pu_block *b)
{
    return put_hash(adv->own_blocks, pu_block_hash(b));
}

pu_err sim_adversary_own_tx(sim_adversary *adv, const pu_tx *tx)
{
    return put_hash(adv->own_txs, pu_tx_id(tx));
}

bool sim_adversary_is_own_block(const sim_adversary *adv, const pu_hash32 *h)
{
    return pu_hmap_get(adv->own_blocks, h->b) != NULL;
}

/* ---- the generic record --------------------------------------------------------- */

static void account(sim_ctx *ctx, sim_adversary *adv, const sim_obs *ev)
{
    bool mine = sim_adversary_of_node(ctx, ev->node) == adv;
    bool honest = !sim_adversary_controls(ctx, ev->node);
    switch (ev->kind) {
    case SIM_OBS_BLOCK_MINED: {
        if (!adv->active)
            break;
        void *v;
        if (pu_hmap_put(adv->window, pu_block_hash(ev->block)->b, &v, NULL) != PU_OK
            || (mine && sim_adversary_own_block(adv, ev->block) != PU_OK)) {
            sim_fail(ctx, PU_ERR_NOMEM, "adversary record");
            break;
        }
        *(uint8_t *)v = mine;
        adv->out.blocks_mined += mine;
        break;
    }
    case SIM_OBS_BLOCK_REFUSED:
        if (honest && sim_adversary_is_own_block(adv, pu_block_hash(ev->block)))
            adv->out.refused_block[ev->reason]++;
        break;
    case SIM_OBS_TX_REFUSED:
        if (honest && pu_hmap_get(adv->own_txs, pu_tx_id(ev->tx)->b))
            adv->out.refused_tx[ev->reason]++;
        break;
    case SIM_OBS_VERIFIED:
        if (honest && ev->reason > 0 && ev->reason < PU_POUW_REASON_COUNT
            && sim_adversary_is_own_block(adv, pu_block_hash(ev->block)))
            adv->out.refused_work[ev->reason]++;
        break;
    default: break;
    }
}

static void on_event(void *self, sim_ctx *ctx, const sim_obs *ev)
{
    sim_adversary *adv = self;
    if (FRAMEWORK_MASK & SIM_OBS_BIT(ev->kind))
        account(ctx, adv, ev);
    if (adv->st->on_event && (adv->st->obs_mask & SIM_OBS_BIT(ev->kind)))
        adv->st->on_event(ctx, adv, ev);
}

/* Revenue: the reference chain's blocks mined while the attack was on. */
static void finish_generic(sim_ctx *ctx, sim_adversary *adv)
{
    sim_attack_outcome *o = &adv->out;
    if (adv->active)
        o->active_ns += ctx->now - adv->since_ns;
    const pu_chain *best = sim_best_chain(ctx);
    for (uint32_t h = pu_chain_height(best); h > 0; h--) {
        const uint8_t *v = pu_hmap_get(adv->window, pu_block_hash(pu_chain_block_at(best, h))->b);
        if (v) {
            o->main_total++;
            o->main_blocks += *v;
        }
    }
    o->revenue_share = o->main_total ? (double)o->main_blocks / (double)o->main_total : NAN;
    o->success_rate = o->attempts ? (double)o->successes / (double)o->attempts : NAN;
    o->gamma = o->ties ? (double)o->ties_won / (double)o->ties : NAN;
}

/* ---- life cycle ---------------------------------------------------------------- */

static void set_active(sim_ctx *ctx, sim_adversary *adv, bool on)
{
    if (adv->active == on)
        return;
    adv->active = on;
    if (on) {
        adv->since_ns = ctx->now;
        if (adv->out.started_ns == SIM_NEVER)
            adv->out.started_ns = ctx->now;
        adv->out.stopped_ns = SIM_NEVER;
        if (adv->st->start)
            adv->st->start(ctx, adv);
    } else {
        adv->out.active_ns += ctx->now - adv->since_ns;
        adv->out.stopped_ns = ctx->now;
        if (adv->st->stop)
            adv->st->stop(ctx, adv);
    }
}

void sim_adversaries_set_active(sim_ctx *ctx, uint32_t index, bool active)
{
    sim_adversaries *as = ctx->adversaries;
    if (as && index < as->n)
        set_active(ctx, &as->a[index], active);
}

void sim_adversaries_fire(sim_ctx *ctx, const sim_event *ev)
{
    sim_adversaries *as = ctx->adversaries;
    if (!as || ev->node >= as->n)
        return;
    sim_adversary *adv = &as->a[ev->node];
    if (ev->arg == EV_START || ev->arg == EV_STOP)
        set_active(ctx, adv, ev->arg == EV_START);
    else if (adv->st->on_timer)
        adv->st->on_timer(ctx, adv, ev->arg - EV_TIMER0);
}

/* Whether a timeline action of this kind names adversary i. */
static bool timeline_has(const sim_params *p, size_t i, int action)
{
    for (size_t k = 0; k < p->n_timeline; k++)
        if (p->timeline[k].action == action && p->timeline[k].adversary == i)
            return true;
    return false;
}

static pu_err create_one(sim_ctx *ctx, sim_adversary *adv, uint32_t i, char *err, size_t errlen)
{
    const sim_params *p = ctx->p;
    adv->index = i;
    adv->cfg = &p->adversaries[i];
    adv->st = strategy_of(adv->cfg->type);
    sim_attack_outcome *o = &adv->out;
    o->index = i;
    o->type = adv->cfg->type;
    o->node = (uint32_t)adv->cfg->node;
    o->started_ns = o->stopped_ns = SIM_NEVER;
    o->revenue_share = o->success_rate = o->gamma = o->expected = NAN;
    if (!adv->st) { /* the scenario check refuses these: a caller that skipped it */
        snprintf(err, errlen, "adversaries[%u]: type not implemented yet", i);
        return PU_ERR_INVALID;
    }
    pu_err rc = pu_hmap_new(32, 0, 64, &adv->own_blocks);
    if (rc == PU_OK) rc = pu_hmap_new(32, 0, 64, &adv->own_txs);
    if (rc == PU_OK) rc = pu_hmap_new(32, 1, 256, &adv->window);
    if (rc == PU_OK)
        rc = adv->st->create(ctx, adv, err, errlen);
    if (rc == PU_OK && !timeline_has(p, i, SIM_ACTION_ADVERSARY_START))
        rc = sim_schedule(ctx, adv->cfg->start_ns, SIM_EV_ADVERSARY, i, EV_START, NULL, NULL);
    if (rc == PU_OK && adv->cfg->stop_ns && !timeline_has(p, i, SIM_ACTION_ADVERSARY_STOP))
        rc = sim_schedule(ctx, adv->cfg->stop_ns, SIM_EV_ADVERSARY, i, EV_STOP, NULL, NULL);
    if (rc == PU_OK) {
        sim_observer l = {on_event, FRAMEWORK_MASK | adv->st->obs_mask, adv};
        rc = sim_observers_add(ctx->obs, &l);
    }
    if (rc != PU_OK && !err[0])
        snprintf(err, errlen, "adversaries[%u]: %s", i, pu_strerror(rc));
    return rc;
}

pu_err sim_adversaries_new(sim_ctx *ctx, char *err, size_t errlen)
{
    const sim_params *p = ctx->p;
    sim_adversaries *as = calloc(1, sizeof *as);
    if (!as)
        return PU_ERR_NOMEM;
    ctx->adversaries = as;
    as->n = (uint32_t)p->n_adversaries;
    as->a = calloc(as->n ? as->n : 1, sizeof *as->a);
    as->owner = calloc(ctx->n, sizeof *as->owner);
    if (!as->a || !as->owner)
        return PU_ERR_NOMEM;
    pu_err rc = PU_OK;
    for (uint32_t i = 0; rc == PU_OK && i < as->n; i++)
        rc = create_one(ctx, &as->a[i], i, err, errlen);
    return rc;
}

void sim_adversaries_free(sim_adversaries *as)
{
    if (!as)
        return;
    for (uint32_t i = 0; as->a && i < as->n; i++) {
        sim_adversary *adv = &as->a[i];
        if (adv->st && adv->st->free_state)
            adv->st->free_state(adv->state);
        pu_hmap_free(adv->own_blocks);
        pu_hmap_free(adv->own_txs);
        pu_hmap_free(adv->window);
    }
    free(as->a);
    free(as->owner);
    free(as);
}

void sim_adversaries_report(sim_ctx *ctx)
{
    sim_adversaries *as = ctx->adversaries;
    for (uint32_t i = 0; as && i < as->n && ctx->fatal == PU_OK; i++) {
        sim_adversary *adv = &as->a[i];
        finish_generic(ctx, adv);
        if (adv->st->finish)
            adv->st->finish(ctx, adv);
        sim_obs ev = {.kind = SIM_OBS_ATTACK_END, .node = adv->out.node};
        ev.u.attack = &adv->out;
        sim_observe(ctx, &ev);
    }
}

/* ---- closed forms ------------------------------------------------------------- */

double sim_attack_selfish_revenue(double a, double g)
{
    double num = a * (1 - a) * (1 - a) * (4 * a + g * (1 - 2 * a)) - a * a * a;
    return num / (1 - a * (1 + (2 - a) * a));
}

/* The closed forms go to the run file: pu_det_* keeps their bits the same on
 * every machine (libm's log/exp/lgamma are not specified to the last bit). */
double sim_attack_nakamoto(double q, uint64_t z)
{
    double p = 1 - q, lambda = (double)z * q / p, sum = 1, logfact = 0;
    for (uint64_t k = 0; k <= z; k++) {
        /* Poisson term in log space: large z stays finite */
        if (k)
            logfact += pu_det_log((double)k);
        double poisson = lambda > 0 ? pu_det_exp(-lambda + (double)k * pu_det_log(lambda) - logfact)
                                    : (k == 0);
        sum -= poisson * (1 - pu_det_pow(q / p, (double)(z - k)));
    }
    return sum;
}

double sim_attack_nakamoto_exact(double q, uint64_t z)
{
    double p = 1 - q, sum = 1, logc = 0; /* log C(z+k-1, k) */
    for (uint64_t k = 0; k < z; k++) {
        /* P(k attacker blocks before the z-th honest one) = C(z+k-1, k) p^z q^k */
        if (k)
            logc += pu_det_log((double)(z + k - 1)) - pu_det_log((double)k);
        double nb = pu_det_exp(logc + (double)z * pu_det_log(p) + (k ? (double)k * pu_det_log(q) : 0));
        sum -= nb * (1 - pu_det_pow(q / p, (double)(z - k)));
    }
    return sum;
}
