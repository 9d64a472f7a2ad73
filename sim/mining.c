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
#include "sim/sim_int.h"

#include <stdlib.h>
#include <string.h>

static double next_work(const sim_node *nd)
{
    pu_u256 t, w;
    if (pu_target_from_bits(pu_chain_next_bits(nd->chain), &t) != PU_OK)
        return 1.0;
    pu_u256_work(&t, &w);
    return pu_u256_to_double(&w);
}

void sim_mining_stop(sim_ctx *ctx, sim_node *nd)
{
    if (!nd->is_miner)
        return;
    sim_miner *mi = &ctx->miners[nd->miner];
    if (mi->ev != SIM_EVQ_NO_ID)
        PU_IGNORE(sim_evq_cancel(ctx->evq, mi->ev)); /* NOTFOUND: already fired */
    mi->ev = SIM_EVQ_NO_ID;
    mi->generation++;
}

/* Enough blocks: no more mining, and the run ends once the last block had
 * one block interval to spread. */
static void stop_all(sim_ctx *ctx)
{
    ctx->mining_over = true;
    for (uint32_t i = 0; i < ctx->n_miners; i++)
        sim_mining_stop(ctx, &ctx->nodes[ctx->miners[i].node]);
    uint64_t end = ctx->now + ctx->p->chain.block_interval_ns;
    if (end < ctx->end_ns) {
        ctx->end_ns = end;
        PU_IGNORE(sim_schedule(ctx, end, SIM_EV_END, 0, 0, NULL, NULL)); /* failure stops the run */
    }
}

void sim_mining_reschedule(sim_ctx *ctx, sim_node *nd)
{
    if (!nd->is_miner)
        return;
    sim_mining_stop(ctx, nd);
    sim_miner *mi = &ctx->miners[nd->miner];
    if (ctx->mining_over || !nd->online || mi->hashrate <= 0)
        return;
    double mean_ns = next_work(nd) / mi->hashrate * 1e9;
    uint64_t dt = sim_rng_exp_ns(&mi->rng, mean_ns);
    if (dt == 0)
        dt = 1; /* strictly after the tip change that caused it */
    if (sim_schedule(ctx, ctx->now + dt, SIM_EV_MINE, nd->id, mi->generation, NULL, &mi->ev) != PU_OK)
        mi->ev = SIM_EVQ_NO_ID;
}

/* Grind the nonce from a random start until the header meets its target. */
static void grind(sim_ctx *ctx, sim_miner *mi, pu_block *b)
{
    pu_header *h = pu_block_header_mut(b);
    h->nonce = sim_rng_u64(&mi->rng);
    for (;; h->nonce++) {
        pu_hash32 hh;
        pu_header_hash(ctx->crypto, h, &hh);
        if (pu_hash_meets_bits(&hh, h->bits))
            return;
    }
}

void sim_mining_fire(sim_ctx *ctx, const sim_event *ev)
{
    sim_node *nd = &ctx->nodes[ev->node];
    sim_miner *mi = &ctx->miners[nd->miner];
    if (ev->arg != mi->generation || !nd->online)
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
    size_t ne = sim_pouw_block_extras(ctx, nd, extra, 4);
    pu_err rc = pu_chain_create_template(nd->chain, extra, ne, 0, &addr, sim_now_s(ctx), &b);
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
    sim_block_found(ctx, nd, b);
    pu_block_unref(b);
    if (mi->ev == SIM_EVQ_NO_ID) /* a behaviour that withheld it keeps mining */
        sim_mining_reschedule(ctx, nd);
    if (ctx->p->stop_after_blocks && !ctx->mining_over
        && pu_chain_height(nd->chain) >= ctx->p->stop_after_blocks)
        stop_all(ctx);
}

void sim_block_found(sim_ctx *ctx, sim_node *nd, pu_block *b)
{
    uint32_t idx;
    ctx->blocks_mined++;
    pu_err rc = sim_metrics_block_mined(ctx, b, nd->id, &idx);
    if (rc != PU_OK)
        sim_fail(ctx, rc, "metrics");
    nd->beh->on_block_found(ctx, nd, b);
}

void sim_mining_set_share(sim_ctx *ctx, uint32_t miner, double share)
{
    if (miner >= ctx->n_miners)
        return;
    ctx->miners[miner].hashrate = share * ctx->total_hashrate0;
    sim_mining_reschedule(ctx, &ctx->nodes[ctx->miners[miner].node]);
}

pu_err sim_mining_init(sim_ctx *ctx)
{
    const sim_params *p = ctx->p;
    uint32_t m = (uint32_t)p->mining.miners;
    if (m > ctx->n)
        m = ctx->n;
    ctx->n_miners = m;
    ctx->miners = calloc(m ? m : 1, sizeof *ctx->miners);
    uint32_t *order = malloc(ctx->n * sizeof *order);
    if (!ctx->miners || !order) {
        free(order);
        return PU_ERR_NOMEM;
    }
    for (uint32_t i = 0; i < ctx->n; i++)
        order[i] = i;
    if (p->mining.placement == SIM_PLACE_RANDOM) {
        sim_rng r = sim_rng_stream(&ctx->root, SIM_RNG_MINING, SIM_RNG_OWNER_GLOBAL);
        sim_rng_shuffle(&r, order, ctx->n);
    }
    double interval_s = (double)p->chain.block_interval_ns / 1e9;
    ctx->total_hashrate0 = (double)p->chain.pow_hashes_per_block / interval_s;
    if (p->consensus == SIM_CONSENSUS_POUW) /* useful work carries the chain; PoW keeps it alive */
        ctx->total_hashrate0 *= p->pouw.pow_share;
    double sum = 0;
    for (uint32_t i = 0; i < m; i++)
        sum += p->mining.hashpower.n ? p->mining.hashpower.v[i] : 1.0;
    for (uint32_t i = 0; i < m; i++) {
        sim_miner *mi = &ctx->miners[i];
        double share = (p->mining.hashpower.n ? p->mining.hashpower.v[i] : 1.0) / sum;
        mi->node = order[i];
        mi->hashrate = share * ctx->total_hashrate0;
        mi->ev = SIM_EVQ_NO_ID;
        mi->rng = sim_rng_stream(&ctx->root, SIM_RNG_MINING, i);
        ctx->nodes[mi->node].is_miner = true;
        ctx->nodes[mi->node].miner = i;
    }
    free(order);
    for (uint32_t i = 0; i < m; i++)
        sim_mining_reschedule(ctx, &ctx->nodes[ctx->miners[i].node]);
    return PU_OK;
}
