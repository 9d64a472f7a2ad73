/* sim/mining.c -- proof-of-work mining.
 *
 * Each miner has a hash rate h (scaled hashes per second).  The time to its
 * next block is exponential with mean work(target) / h, where work is the
 * real expected number of header hashes for the target the chain requires
 * next; the timer restarts whenever the miner's tip changes (memoryless, so
 * restarting is exact).  When it fires the miner builds a real block from
 * its mempool template and grinds a real nonce against the real target.
 *
 * Why scaled: Bitcoin's real target needs ~10^23 hashes per block.  The
 * scenario key chain.pow_hashes_per_block (default 256) sets the easiest
 * target so that a block needs that many hashes on average: every node then
 * checks genuine proof of work through the same code path, and the
 * simulator spends microseconds, not years, per block.  Block *timing* comes
 * from the simulated hash rates, not from how long the grinding took. */
#include "sim/mining.h"

#include <stdlib.h>
#include <string.h>

typedef struct sim_miner {
    uint32_t node;
    double hashrate;          /* expected hashes per second (scaled units) */
    sim_evq_id ev;            /* pending SIM_EV_MINE, or SIM_EVQ_NO_ID */
    uint64_t generation;      /* bumps on every reschedule */
    sim_rng rng;
    uint64_t found;
} sim_miner;

struct sim_mining {
    uint32_t n;
    sim_miner *m;
    uint32_t *miner_of;       /* node -> miner index, UINT32_MAX: none */
    double total0;            /* at start: pow_hashes_per_block / interval */
    bool over;                /* stop_after_blocks reached */
};

static sim_miner *miner_at(const sim_ctx *ctx, const sim_node *nd)
{
    uint32_t i = ctx->mining->miner_of[nd->id];
    return i == UINT32_MAX ? NULL : &ctx->mining->m[i];
}

static double next_work(sim_ctx *ctx, sim_node *nd)
{
    pu_u256 t, w;
    if (pu_target_from_bits(pu_chain_next_bits(sim_node_mining_chain(ctx, nd)), &t) != PU_OK)
        return 1.0;
    pu_u256_work(&t, &w);
    return pu_u256_to_double(&w);
}

void sim_mining_stop(sim_ctx *ctx, sim_node *nd)
{
    sim_miner *mi = miner_at(ctx, nd);
    if (!mi)
        return;
    if (mi->ev != SIM_EVQ_NO_ID)
        PU_IGNORE(sim_evq_cancel(ctx->evq, mi->ev)); /* NOTFOUND: already fired */
    mi->ev = SIM_EVQ_NO_ID;
    mi->generation++;
}

/* Enough blocks: no more mining, and the run ends once the last block had
 * one block interval to spread. */
static void stop_all(sim_ctx *ctx)
{
    sim_mining *mg = ctx->mining;
    mg->over = true;
    for (uint32_t i = 0; i < mg->n; i++)
        sim_mining_stop(ctx, &ctx->nodes[mg->m[i].node]);
    uint64_t end = ctx->now + ctx->p->chain.block_interval_ns;
    if (end < ctx->end_ns) {
        ctx->end_ns = end;
        PU_IGNORE(sim_schedule(ctx, end, SIM_EV_END, 0, 0, NULL, NULL)); /* failure stops the run */
    }
}

void sim_mining_reschedule(sim_ctx *ctx, sim_node *nd)
{
    sim_miner *mi = miner_at(ctx, nd);
    if (!mi)
        return;
    sim_mining_stop(ctx, nd);
    if (ctx->mining->over || !nd->online || mi->hashrate <= 0)
        return;
    double mean_ns = next_work(ctx, nd) / mi->hashrate * 1e9;
    uint64_t dt = sim_rng_exp_ns(&mi->rng, mean_ns);
    if (dt == 0)
        dt = 1; /* strictly after the tip change that caused it */
    /* memoryless: a delayed start is the same clock started later */
    if (ctx->ask.mining_delay)
        dt += ctx->ask.mining_delay(ctx->ask.self, ctx, nd);
    if (sim_schedule(ctx, ctx->now + dt, SIM_EV_MINE, nd->id, mi->generation, NULL, &mi->ev) != PU_OK)
        mi->ev = SIM_EVQ_NO_ID;
}

/* The target is decoded once: decoding it per nonce was half the run time
 * of small networks. */
void sim_mining_grind(const sim_ctx *ctx, pu_header *h, uint64_t nonce)
{
    pu_u256 target, v;
    bool ok = pu_target_from_bits(h->bits, &target) == PU_OK;
    for (h->nonce = nonce;; h->nonce++) {
        pu_hash32 hh;
        pu_header_hash(ctx->crypto, h, &hh);
        pu_u256_from_hash(&hh, &v);
        if (ok ? pu_u256_cmp(&v, &target) <= 0 : pu_hash_meets_bits(&hh, h->bits))
            return;
    }
}

/* Grind the nonce from a random start until the header meets its target. */
static void grind(sim_ctx *ctx, sim_miner *mi, pu_block *b)
{
    sim_mining_grind(ctx, pu_block_header_mut(b), sim_rng_u64(&mi->rng));
}

void sim_mining_fire(sim_ctx *ctx, const sim_event *ev)
{
    sim_node *nd = &ctx->nodes[ev->node];
    sim_miner *mi = miner_at(ctx, nd);
    if (!mi || ev->arg != mi->generation || !nd->online)
        return; /* superseded */
    mi->ev = SIM_EVQ_NO_ID;
    pu_block *b = NULL;
    pu_addr addr;
    /* Miners are paid to an address derived from their node id. */
    memset(&addr, 0, sizeof addr);
    for (int i = 0; i < 4; i++)
        addr.b[i] = (uint8_t)(nd->id >> (24 - 8 * i));
    addr.b[19] = 0x4d; /* 'M' */
    pu_tx *extra[4];
    size_t ne = ctx->ask.block_extras ? ctx->ask.block_extras(ctx->ask.self, ctx, nd, extra, 4) : 0;
    pu_err rc = pu_chain_create_template(sim_node_mining_chain(ctx, nd), extra, ne, 0, &addr,
                                         sim_now_s(ctx), &b);
    if (rc == PU_ERR_RANGE) /* reward + fees beyond the money supply */
        sim_fail_key(ctx, rc, "chain.block_reward", "a coinbase (reward + fees) above the "
                     "21000000-coin money supply");
    if (rc != PU_OK) {
        sim_fail(ctx, rc, "create_block");
        return;
    }
    grind(ctx, mi, b);
    if ((rc = pu_block_finalize(ctx->crypto, b)) != PU_OK) {
        pu_block_unref(b);
        sim_fail(ctx, rc, "finalize");
        return;
    }
    mi->found++;
    sim_node_block_found(ctx, nd, b);
    pu_block_unref(b);
    if (mi->ev == SIM_EVQ_NO_ID) /* a behaviour that withheld it keeps mining */
        sim_mining_reschedule(ctx, nd);
    if (ctx->p->stop_after_blocks && !ctx->mining->over
        && pu_chain_height(nd->chain) >= ctx->p->stop_after_blocks)
        stop_all(ctx);
}

void sim_mining_set_share(sim_ctx *ctx, uint32_t miner, double share)
{
    sim_mining *mg = ctx->mining;
    if (miner >= mg->n)
        return;
    double others = 0;
    for (uint32_t i = 0; i < mg->n; i++)
        others += i == miner ? 0 : mg->m[i].hashrate;
    mg->m[miner].hashrate = share * mg->total0;
    /* the others keep their proportions and together hold the rest */
    double scale = others > 0 ? (1 - share) * mg->total0 / others : 0;
    for (uint32_t i = 0; i < mg->n; i++) {
        if (i != miner && others > 0 && mg->m[i].hashrate > 0) {
            mg->m[i].hashrate *= scale;
            sim_mining_reschedule(ctx, &ctx->nodes[mg->m[i].node]);
        } else if (i == miner)
            sim_mining_reschedule(ctx, &ctx->nodes[mg->m[i].node]);
    }
}

pu_err sim_mining_add(sim_ctx *ctx, uint32_t v, sim_rng rng, uint32_t *miner)
{
    sim_mining *mg = ctx->mining;
    if (mg->miner_of[v] != UINT32_MAX)
        return PU_ERR_EXISTS;
    sim_miner *a = realloc(mg->m, (mg->n + 1) * sizeof *a);
    if (!a)
        return PU_ERR_NOMEM;
    mg->m = a;
    mg->m[mg->n] = (sim_miner){v, 0, SIM_EVQ_NO_ID, 0, rng, 0};
    mg->miner_of[v] = mg->n;
    *miner = mg->n++;
    return PU_OK;
}

uint32_t sim_mining_count(const sim_ctx *ctx) { return ctx->mining->n; }
uint32_t sim_mining_node(const sim_ctx *ctx, uint32_t miner) { return ctx->mining->m[miner].node; }
uint32_t sim_mining_miner_of(const sim_ctx *ctx, uint32_t v) { return ctx->mining->miner_of[v]; }
double sim_mining_rate(const sim_ctx *ctx, uint32_t miner) { return ctx->mining->m[miner].hashrate; }
double sim_mining_total0(const sim_ctx *ctx) { return ctx->mining->total0; }

/* A miner restarts on every tip change of its node. */
static void on_event(void *self, sim_ctx *ctx, const sim_obs *ev)
{
    (void)self;
    sim_mining_reschedule(ctx, &ctx->nodes[ev->node]);
}

void sim_mining_free(sim_mining *m)
{
    if (!m)
        return;
    free(m->m);
    free(m->miner_of);
    free(m);
}

pu_err sim_mining_init(sim_ctx *ctx)
{
    const sim_params *p = ctx->p;
    uint32_t m = (uint32_t)p->mining.miners;
    if (m > ctx->n)
        m = ctx->n;
    sim_mining *mg = calloc(1, sizeof *mg);
    if (!mg)
        return PU_ERR_NOMEM;
    ctx->mining = mg;
    mg->n = m;
    mg->m = calloc(m ? m : 1, sizeof *mg->m);
    mg->miner_of = malloc(ctx->n * sizeof *mg->miner_of);
    uint32_t *order = malloc(ctx->n * sizeof *order);
    if (!mg->m || !mg->miner_of || !order) {
        free(order);
        return PU_ERR_NOMEM;
    }
    for (uint32_t i = 0; i < ctx->n; i++) {
        order[i] = i;
        mg->miner_of[i] = UINT32_MAX;
    }
    if (p->mining.placement == SIM_PLACE_RANDOM) {
        sim_rng r = sim_rng_stream(&ctx->root, SIM_RNG_MINING, SIM_RNG_OWNER_GLOBAL);
        sim_rng_shuffle(&r, order, ctx->n);
    }
    double interval_s = (double)p->chain.block_interval_ns / 1e9;
    mg->total0 = (double)p->chain.pow_hashes_per_block / interval_s;
    if (p->consensus == SIM_CONSENSUS_POUW) /* useful work carries the chain; PoW keeps it alive */
        mg->total0 *= p->pouw.pow_share;
    double sum = 0;
    for (uint32_t i = 0; i < m; i++)
        sum += p->mining.hashpower.n ? p->mining.hashpower.v[i] : 1.0;
    for (uint32_t i = 0; i < m; i++) {
        sim_miner *mi = &mg->m[i];
        double share = (p->mining.hashpower.n ? p->mining.hashpower.v[i] : 1.0) / sum;
        mi->node = order[i];
        mi->hashrate = share * mg->total0;
        mi->ev = SIM_EVQ_NO_ID;
        mi->rng = sim_rng_stream(&ctx->root, SIM_RNG_MINING, i);
        mg->miner_of[mi->node] = i;
        sim_node_keep_mempool(ctx, &ctx->nodes[mi->node]); /* its templates need a real one */
    }
    free(order);
    sim_observer l = {on_event, SIM_OBS_BIT(SIM_OBS_TIP_CHANGED), mg};
    pu_err rc = sim_observers_add(ctx->obs, &l);
    for (uint32_t i = 0; rc == PU_OK && i < m; i++)
        sim_mining_reschedule(ctx, &ctx->nodes[mg->m[i].node]);
    return rc;
}
