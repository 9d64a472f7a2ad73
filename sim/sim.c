/* sim/sim.c -- building a run from its parameters, the event loop, the
 * timeline of scenario events. */
#include "sim/engine.h"
#include "sim/invariants.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "sim/adversary/adversary.h"
#include "sim/metrics.h"
#include "sim/mining.h"
#include "sim/pouw.h"
#include "sim/sim.h"
#include "sim/trace.h"
#include "sim/wallet.h"

uint64_t sim_now_ns(const sim_ctx *ctx) { return ctx->now; }
struct pu_econ *sim_econ(const sim_ctx *ctx) { return ctx->pouw ? sim_pouw_econ(ctx->pouw) : NULL; }
const pu_hash32 *sim_genesis_hash(const sim_ctx *ctx) { return pu_block_hash(ctx->genesis); }

void sim_perf_get(const sim_ctx *ctx, sim_perf *out)
{
    memset(out, 0, sizeof *out);
    pu_sigcache_stats sc;
    pu_valcache_stats vc;
    pu_sigcache_get_stats(ctx->sigcache, &sc);
    pu_valcache_get_stats(ctx->valcache, &vc);
    out->sig_checks = sc.hits + sc.misses;
    out->sig_verifications = sc.verifications;
    out->blocks_validated = vc.misses;
    out->verdicts_shared = vc.hits;
    out->base_moves = vc.base_moves;
    out->shared_bytes = vc.bytes;
    for (uint32_t i = 0; ctx->nodes && i < ctx->n; i++)
        out->nodes_bytes += pu_chain_mem_bytes(ctx->nodes[i].chain);
    if (ctx->flood) {
        out->flood_bytes = sim_txflood_bytes(ctx->flood);
        out->flood_profiles = sim_txflood_profiles(ctx->flood);
    }
}
uint32_t sim_n_nodes(const sim_ctx *ctx) { return ctx->n; }
bool sim_failed_on_input(const sim_ctx *ctx) { return ctx->fatal_input; }
struct pu_chain *sim_node_chain(const sim_ctx *ctx, uint32_t i) { return ctx->nodes[i].chain; }

/* ---- setup ---------------------------------------------------------------- */

static void chain_params(const sim_params *p, pu_params *cp)
{
    pu_params_default(cp);
    cp->block_reward = p->chain.block_reward;
    cp->min_fee = p->chain.min_fee;
    cp->mempool_capacity = (uint32_t)p->chain.mempool_capacity;
    cp->max_block_size = (uint32_t)p->chain.max_block_size;
    cp->coinbase_maturity = (uint32_t)p->chain.coinbase_maturity;
    cp->max_future_s = p->chain.max_future_time_ns / 1000000000u;
    cp->orphan_limit = (uint32_t)p->chain.orphan_limit;
    cp->target_spacing_s = p->chain.block_interval_ns / 1000000000u;
    if (cp->target_spacing_s == 0)
        cp->target_spacing_s = 1; /* header time has 1 s resolution */
    cp->retarget_interval = (uint32_t)p->chain.retarget_interval;
    cp->retarget_clamp = (uint32_t)p->chain.retarget_clamp;
    cp->fixed_target = p->chain.fixed_target;
    pu_params_set_hashes(cp, p->chain.pow_hashes_per_block);
    if (p->chain.pow_limit_factor > 1) { /* genesis keeps the start (build_genesis) */
        pu_u256 lim;
        if (pu_u256_mul64(&cp->pow_limit, p->chain.pow_limit_factor, &lim))
            memset(&lim, 0xff, sizeof lim); /* beyond 2^256: every hash meets it */
        cp->pow_limit = lim;
    }
    /* consensus integers from the decimal scenario values: one rounding */
    cp->pouw_commit_lag = (uint32_t)p->pouw.commit_lag;
    cp->pouw_w_batch_e9 = (uint64_t)(p->pouw.nonces_per_batch_byte * 1e9 + 0.5);
    cp->pouw_w_param_e9 = (uint64_t)(p->pouw.nonces_per_param * 1e9 + 0.5);
    cp->pouw_min_task_fee = p->pouw.min_task_fee;
}

static pu_err build_topology(sim_ctx *ctx, char *err, size_t errlen)
{
    const sim_params *p = ctx->p;
    uint32_t n = ctx->n, d = (uint32_t)p->network.topology.degree;
    sim_rng r = sim_rng_stream(&ctx->root, SIM_RNG_TOPOLOGY, SIM_RNG_OWNER_GLOBAL);
    uint32_t ncdf;
    const double *cdf = sim_topo_bitcoin_degree_cdf(&ncdf);
    switch (p->network.topology.model) {
    case SIM_TOPO_FULL: return sim_topo_new_full(n, &ctx->topo);
    case SIM_TOPO_RANDOM: return sim_topo_new_random(n, d < n ? d : n - 1, &r, &ctx->topo);
    case SIM_TOPO_BITCOIN:
        return sim_topo_new_bitcoin(n, (uint32_t)p->network.topology.max_inbound, cdf, ncdf, &r,
                                    &ctx->topo);
    case SIM_TOPO_SMALL_WORLD:
        return sim_topo_new_small_world(n, d, p->network.topology.rewire, &r, &ctx->topo);
    case SIM_TOPO_SCALE_FREE: return sim_topo_new_scale_free(n, d / 2 ? d / 2 : 1, &r, &ctx->topo);
    default:
        return sim_topo_load_edges(p->network.topology.file, n, &r, &ctx->topo, err, errlen);
    }
}

static pu_err build_network(sim_ctx *ctx, char *err, size_t errlen)
{
    const sim_params *p = ctx->p;
    pu_err rc = build_topology(ctx, err, errlen);
    if (rc != PU_OK) {
        if (!err[0])
            snprintf(err, errlen, "topology: %s", pu_strerror(rc));
        return rc;
    }
    uint32_t nreg = (uint32_t)p->network.regions.shares.n;
    uint8_t *region = calloc(ctx->n, 1);
    if (!region)
        return PU_ERR_NOMEM;
    sim_rng rr = sim_rng_stream(&ctx->root, SIM_RNG_REGION, SIM_RNG_OWNER_GLOBAL);
    if (nreg)
        rc = sim_topo_regions(ctx->n, p->network.regions.shares.v, nreg, &rr, region);
    sim_latency_params lp;
    memset(&lp, 0, sizeof lp);
    lp.kind = (sim_latency_kind)p->network.latency.model;
    lp.jitter = p->network.latency.jitter == SIM_JITTER_PER_LINK ? SIM_LAT_PER_LINK : SIM_LAT_PER_MESSAGE;
    lp.const_ns = p->network.latency.mean_ns;
    lp.min_ns = p->network.latency.min_ns;
    lp.max_ns = p->network.latency.max_ns;
    lp.mean_ns = (double)p->network.latency.mean_ns;
    lp.sd_ns = (double)p->network.latency.stddev_ns;
    lp.sigma = p->network.latency.sigma;
    lp.shape = p->network.latency.shape;
    lp.nregions = nreg ? nreg : 1;
    lp.region_mean_ms = p->network.regions.latency_ms.v;
    pu_hash32 key;
    sim_rng_key(&ctx->root, SIM_RNG_LATENCY, SIM_RNG_OWNER_GLOBAL, &key);
    if (rc == PU_OK)
        rc = sim_latency_new(&lp, &key, &ctx->lat);
    sim_net_params np;
    memset(&np, 0, sizeof np);
    np.n = ctx->n;
    np.topo = ctx->topo;
    np.latency = ctx->lat;
    np.region = region;
    np.nregions = lp.nregions;
    if (p->network.bandwidth.model == SIM_BW_REGION && nreg) {
        np.bw_kind = SIM_NET_BW_REGION;
        np.region_up_bps = p->network.regions.upload.v;
        np.region_down_bps = p->network.regions.download.v;
        np.inter_region_bps = p->network.regions.inter_region_cap;
    } else {
        np.bw_kind = SIM_NET_BW_UNIFORM;
        np.up_bps = p->network.bandwidth.upload;
        np.down_bps = p->network.bandwidth.download;
    }
    np.loss_prob = p->network.loss_ppm / 1e6;
    np.loss_timeout_ns = p->network.retransmit_timeout_ns;
    if (rc == PU_OK)
        rc = sim_net_new(&np, &ctx->root, &ctx->net);
    free(region);
    if (rc != PU_OK && !err[0])
        snprintf(err, errlen, "network: %s", pu_strerror(rc));
    return rc;
}

static pu_err build_genesis(sim_ctx *ctx)
{
    pu_header h;
    memset(&h, 0, sizeof h);
    h.version = PU_BLOCK_VERSION;
    pu_params start = ctx->cp; /* the start's target: pow_limit before pow_limit_factor */
    pu_params_set_hashes(&start, ctx->p->chain.pow_hashes_per_block);
    h.bits = pu_bits_from_target(&start.pow_limit);
    pu_err rc = pu_block_new(&h, &ctx->genesis);
    if (rc == PU_OK)
        rc = sim_wallets_genesis(ctx, ctx->wallets, ctx->genesis);
    if (rc == PU_OK && ctx->pouw)
        rc = sim_pouw_genesis(ctx, ctx->genesis);
    if (rc == PU_OK)
        rc = pu_block_update_merkle(ctx->crypto, ctx->genesis);
    pu_header *hm = ctx->genesis ? pu_block_header_mut(ctx->genesis) : NULL;
    for (; rc == PU_OK; hm->nonce++) { /* genesis meets its own target too */
        pu_hash32 hh;
        pu_header_hash(ctx->crypto, hm, &hh);
        if (pu_hash_meets_bits(&hh, hm->bits))
            break;
    }
    if (rc == PU_OK)
        rc = pu_block_finalize(ctx->crypto, ctx->genesis);
    return rc;
}

static pu_err schedule_initial(sim_ctx *ctx)
{
    const sim_params *p = ctx->p;
    pu_err rc = PU_OK;
    for (size_t i = 0; rc == PU_OK && i < p->n_timeline; i++)
        rc = sim_schedule(ctx, p->timeline[i].at_ns, SIM_EV_TIMELINE, 0, i, NULL, NULL);
    if (rc == PU_OK && p->output.sample_interval_ns)
        rc = sim_schedule(ctx, p->output.sample_interval_ns, SIM_EV_SAMPLE, 0, 0, NULL, NULL);
    if (rc == PU_OK)
        rc = sim_schedule(ctx, ctx->end_ns, SIM_EV_END, 0, 0, NULL, NULL);
    if (rc == PU_OK) {
        ctx->tx_rate = p->transactions.rate;
        sim_wallets_schedule(ctx);
        rc = sim_mining_init(ctx);
    }
    return rc;
}

/* What a reader of the database needs beside the blocks and parameters the
 * store records itself: which run and node wrote it, and the ledger rules
 * (pouwsim chain verify rebuilds the PoUW rules from 'pouw_rules').  The
 * keys are documented in core/PROTOCOL.md, section 9. */
static pu_err describe_store(sim_ctx *ctx, uint32_t node, char *err, size_t errlen)
{
    const sim_params *p = ctx->p;
    char seed[24], id[16], rules[160] = "";
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)p->seed);
    snprintf(id, sizeof id, "%u", node);
    if (ctx->pouw)
        sim_pouw_describe_rules(ctx->pouw, rules, sizeof rules);
    const char *kv[][2] = {{"scenario", p->name}, {"seed", seed}, {"node", id},
                           {"consensus", ctx->pouw ? "pouw" : "pow"}, {"pouw_rules", rules},
                           {"parameters", ctx->params_dump}};
    pu_err rc = PU_OK;
    for (size_t i = 0; rc == PU_OK && i < sizeof kv / sizeof kv[0]; i++)
        if (kv[i][1][0])
            rc = pu_store_set_meta(ctx->store, kv[i][0], kv[i][1], err, errlen);
    return rc;
}

/* One node's ledger in SQLite: every block it stores and every UTXO change
 * it makes, one SQL transaction per tip update.  The file is new: the
 * caller (sim/cmd_run.c, through sim/outfile) hands a fresh empty file and
 * decides where it ends up, so nothing here removes or replaces a file. */
static pu_err open_store(sim_ctx *ctx, const sim_run_opts *o, char *err, size_t errlen)
{
    pu_err rc = pu_store_open(o->db_path, &ctx->store, err, errlen);
    if (rc == PU_OK)
        rc = pu_store_attach(ctx->store, ctx->nodes[o->db_node].chain, err, errlen);
    if (rc == PU_OK)
        rc = describe_store(ctx, o->db_node, err, errlen);
    return rc;
}

/* Asks the hook whether to go on while the network is built (a large one
 * takes seconds, and a signal should not wait for the first event). */
static pu_err setup_progress(sim_ctx *ctx, uint32_t built, char *err, size_t errlen)
{
    if (!ctx->hooks.progress || built % 256 != 0)
        return PU_OK;
    sim_progress pr = {0, ctx->end_ns, 0, 0, 0, ""};
    if (ctx->hooks.progress(ctx->hooks.ctx, &pr) != SIM_HOOK_STOP)
        return PU_OK;
    snprintf(err, errlen, "stopped while building the network: %s", pr.stop_reason);
    return PU_ERR_STATE;
}

/* network.tx_model flood: what one hop of the tx_relay policy costs. */
static pu_err build_flood(sim_ctx *ctx)
{
    const sim_params *p = ctx->p;
    sim_txflood_params fp = {p->network.tx_relay == SIM_TX_RELAY_ANNOUNCE, p->network.tx_trickle_ns,
                             p->cpu.verify_tx_ns + p->cpu.verify_signature_ns,
                             (uint32_t)p->network.tx_flood_samples};
    return sim_txflood_new(&fp, ctx->net, ctx->lat, ctx->valcache, &ctx->root, &ctx->flood);
}

pu_err sim_new(const sim_params *p, const char *scenario_text, const sim_run_opts *o, sim_ctx **out,
               char *err, size_t errlen)
{
    *out = NULL;
    err[0] = '\0';
    sim_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return PU_ERR_NOMEM;
    ctx->p = p;
    ctx->scenario_text = scenario_text;
    ctx->hooks = o->hooks;
    ctx->n = (uint32_t)p->network.nodes;
    ctx->end_ns = p->duration_ns;
    chain_params(p, &ctx->cp);
    ctx->tie_break = p->chain.tie_break == SIM_TIE_RANDOM ? PU_TIE_RANDOM : PU_TIE_FIRST_SEEN;
    pu_err rc = sim_params_dump(p, &ctx->params_dump);
    if (rc == PU_OK) rc = pu_crypto_new(&ctx->crypto);
    if (rc == PU_OK) rc = pu_sigcache_new(1u << 20, &ctx->sigcache);
    if (rc == PU_OK) rc = pu_valcache_new(&ctx->valcache);
    if (rc == PU_OK) rc = sim_evq_new(&ctx->evq);
    if (rc == PU_OK) rc = sim_observers_new(&ctx->obs);
    if (rc == PU_OK) {
        sim_rng_root_init(&ctx->root, ctx->crypto, p->seed);
        ctx->misc_rng = sim_rng_stream(&ctx->root, SIM_RNG_MISC, SIM_RNG_OWNER_GLOBAL);
        rc = build_network(ctx, err, errlen);
    }
    if (rc == PU_OK && p->network.tx_model == SIM_TX_MODEL_FLOOD)
        rc = build_flood(ctx);
    if (rc == PU_OK) rc = sim_wallets_new(ctx, &ctx->wallets);
    if (rc == PU_OK && p->consensus == SIM_CONSENSUS_POUW) {
        rc = sim_pouw_new(ctx, &ctx->pouw, err, errlen);
        if (rc == PU_OK)
            ctx->rules = sim_pouw_rules(ctx->pouw);
    }
    if (rc == PU_OK) rc = build_genesis(ctx);
    if (rc == PU_OK) {
        ctx->nodes = calloc(ctx->n, sizeof *ctx->nodes);
        rc = ctx->nodes ? PU_OK : PU_ERR_NOMEM;
    }
    for (uint32_t i = 0; rc == PU_OK && i < ctx->n; i++) {
        rc = sim_node_init(ctx, &ctx->nodes[i], i);
        if (rc == PU_OK)
            rc = setup_progress(ctx, i + 1, err, errlen);
    }
    if (rc == PU_OK && o->db_path && o->db_path[0]) {
        if (o->db_node >= ctx->n) {
            snprintf(err, errlen, "--db-node %u: no such node", o->db_node);
            rc = PU_ERR_RANGE;
        }
        if (rc == PU_OK)
            rc = open_store(ctx, o, err, errlen);
    }
    if (rc == PU_OK) {
        sim_metrics *m;
        rc = sim_metrics_new(ctx, o->out_h5, &m);
    }
    if (rc == PU_OK)
        rc = sim_trace_new(ctx, &ctx->trace);
    if (rc == PU_OK)
        rc = schedule_initial(ctx);
    if (rc == PU_OK && ctx->pouw)
        rc = sim_pouw_start(ctx);
    if (rc == PU_OK) /* their listeners after the roles' (sim/observe.h) */
        rc = sim_adversaries_new(ctx, err, errlen);
    if (rc != PU_OK) {
        if (!err[0])
            snprintf(err, errlen, "%s", ctx->err[0] ? ctx->err : pu_strerror(rc));
        sim_free(ctx);
        return rc;
    }
    *out = ctx;
    return PU_OK;
}

void sim_free(sim_ctx *ctx)
{
    if (!ctx)
        return;
    /* pending messages own references: drain the queue first */
    sim_event ev;
    while (ctx->evq && sim_evq_pop(ctx->evq, &ev) == PU_OK)
        if (ev.type == SIM_EV_DELIVER || ev.type == SIM_EV_PROCESS)
            sim_msg_free(ev.data);
        else if (ev.type == SIM_EV_FLOOD)
            pu_tx_unref(ev.data);
    pu_store_close(ctx->store); /* before the chain it observes goes */
    sim_adversaries_free(ctx->adversaries);
    for (uint32_t i = 0; ctx->nodes && i < ctx->n; i++)
        sim_node_release(&ctx->nodes[i]);
    free(ctx->nodes);
    sim_metrics_free(ctx->metrics);
    sim_trace_free(ctx->trace);
    sim_mining_free(ctx->mining);
    sim_wallets_free(ctx->wallets);
    sim_pouw_free(ctx->pouw);
    pu_block_unref(ctx->genesis);
    sim_txflood_free(ctx->flood);
    free(ctx->keepers);
    sim_net_free(ctx->net);
    sim_latency_free(ctx->lat);
    sim_topo_free(ctx->topo);
    sim_evq_free(ctx->evq);
    sim_observers_free(ctx->obs);
    free(ctx->filters);
    pu_valcache_free(ctx->valcache);
    pu_sigcache_free(ctx->sigcache);
    pu_crypto_free(ctx->crypto);
    free(ctx->params_dump);
    free(ctx);
}

/* ---- timeline -------------------------------------------------------------- */

/* Nodes chosen by an event: explicit ids, else a fraction of all nodes
 * from a shuffled order (a stream per event, so adding events does not move
 * others' choices).  A join by fraction brings back nodes that are offline,
 * a leave by fraction takes nodes that are online. */
static uint32_t pick_nodes(sim_ctx *ctx, const sim_timeline_event *e, size_t idx, uint32_t *out)
{
    if (e->nodes.n) {
        uint32_t k = 0;
        for (size_t i = 0; i < e->nodes.n; i++)
            if (e->nodes.v[i] < ctx->n)
                out[k++] = (uint32_t)e->nodes.v[i];
        return k;
    }
    for (uint32_t i = 0; i < ctx->n; i++)
        out[i] = i;
    sim_rng r = sim_rng_stream(&ctx->root, SIM_RNG_CHURN, idx);
    sim_rng_shuffle(&r, out, ctx->n);
    uint32_t want = (uint32_t)(e->fraction * ctx->n + 0.5);
    if (e->action != SIM_ACTION_JOIN && e->action != SIM_ACTION_LEAVE)
        return want;
    bool need_online = e->action == SIM_ACTION_LEAVE;
    uint32_t k = 0;
    for (uint32_t i = 0; i < ctx->n && k < want; i++)
        if (ctx->nodes[out[i]].online == need_online)
            out[k++] = out[i];
    return k;
}

static void set_online(sim_ctx *ctx, uint32_t v, bool on)
{
    sim_node *nd = &ctx->nodes[v];
    if (nd->online == on)
        return;
    nd->online = on;
    PU_IGNORE(sim_net_set_online(ctx->net, v, on)); /* v < n */
    if (!on) {
        sim_mining_stop(ctx, nd);
        return;
    }
    nd->cpu_free_ns = ctx->now;
    sim_node_sync(ctx, nd, true); /* rejoin: headers-first catch-up + mempool */
    sim_mining_reschedule(ctx, nd);
}

static void do_partition(sim_ctx *ctx, const sim_timeline_event *e, size_t idx, uint32_t *order)
{
    uint32_t *groups = calloc(ctx->n, sizeof *groups);
    if (!groups) {
        sim_fail(ctx, PU_ERR_NOMEM, "partition");
        return;
    }
    if (e->nodes.n) {
        uint32_t k = pick_nodes(ctx, e, idx, order);
        for (uint32_t i = 0; i < k; i++)
            groups[order[i]] = 1;
    } else {
        pick_nodes(ctx, e, idx, order);
        uint32_t at = 0;
        double acc = 0;
        for (size_t g = 0; g < e->groups.n; g++) {
            acc += e->groups.v[g];
            uint32_t end = g + 1 == e->groups.n ? ctx->n : (uint32_t)(acc * ctx->n + 0.5);
            for (; at < end && at < ctx->n; at++)
                groups[order[at]] = (uint32_t)g;
        }
    }
    sim_net_set_partition(ctx->net, groups);
    free(groups);
}

static void timeline_fire(sim_ctx *ctx, size_t idx)
{
    const sim_timeline_event *e = &ctx->p->timeline[idx];
    uint32_t *order = malloc(ctx->n * sizeof *order);
    if (!order) {
        sim_fail(ctx, PU_ERR_NOMEM, "timeline");
        return;
    }
    switch (e->action) {
    case SIM_ACTION_PARTITION:
        do_partition(ctx, e, idx, order);
        break;
    case SIM_ACTION_HEAL:
        sim_net_set_partition(ctx->net, NULL);
        for (uint32_t i = 0; i < ctx->n; i++)
            if (ctx->nodes[i].online)
                sim_node_sync(ctx, &ctx->nodes[i], false);
        break;
    case SIM_ACTION_LEAVE:
    case SIM_ACTION_JOIN: {
        uint32_t k = pick_nodes(ctx, e, idx, order);
        for (uint32_t i = 0; i < k; i++)
            set_online(ctx, order[i], e->action == SIM_ACTION_JOIN);
        break;
    }
    case SIM_ACTION_HASHPOWER:
        sim_mining_set_share(ctx, (uint32_t)e->miner, e->share);
        break;
    case SIM_ACTION_TX_RATE:
        ctx->tx_rate = e->rate;
        sim_wallets_schedule(ctx);
        break;
    case SIM_ACTION_ADVERSARY_START:
    case SIM_ACTION_ADVERSARY_STOP:
        sim_adversaries_set_active(ctx, (uint32_t)e->adversary, e->action == SIM_ACTION_ADVERSARY_START);
        break;
    default:
        break;
    }
    free(order);
}

/* ---- the loop ---------------------------------------------------------------- */

static void dispatch(sim_ctx *ctx, const sim_event *ev)
{
    switch (ev->type) {
    case SIM_EV_DELIVER: sim_node_deliver(ctx, ev->data); break;
    case SIM_EV_PROCESS: sim_node_process(ctx, ev->data); break;
    case SIM_EV_MINE: sim_mining_fire(ctx, ev); break;
    case SIM_EV_TXGEN: sim_wallets_fire(ctx); break;
    case SIM_EV_TIMELINE: timeline_fire(ctx, ev->arg); break;
    case SIM_EV_SAMPLE:
        sim_metrics_sample(ctx);
        PU_IGNORE(sim_schedule(ctx, ctx->now + ctx->p->output.sample_interval_ns, SIM_EV_SAMPLE,
                               0, 0, NULL, NULL)); /* failures stop the run via sim_fail */
        break;
    case SIM_EV_TIMER: {
        sim_node *nd = &ctx->nodes[ev->node];
        if (nd->online)
            nd->beh->on_timer(ctx, nd, ev->arg);
        break;
    }
    case SIM_EV_TRICKLE: sim_node_trickle(ctx, &ctx->nodes[ev->node]); break;
    case SIM_EV_FLOOD:
        sim_node_flood_arrival(ctx, &ctx->nodes[ev->node], ev->data);
        pu_tx_unref(ev->data);
        break;
    case SIM_EV_POUW: sim_pouw_fire(ctx, ev); break;
    case SIM_EV_END: ctx->stop = true; break;
    case SIM_EV_ADVERSARY: sim_adversaries_fire(ctx, ev); break;
    default: break;
    }
}

static uint64_t max_height(const sim_ctx *ctx)
{
    uint64_t m = 0;
    for (uint32_t i = 0; i < ctx->n; i++) {
        uint64_t h = pu_chain_height(ctx->nodes[i].chain);
        m = h > m ? h : m;
    }
    return m;
}

/* The hook between events: a checkpoint, or the end of the run. */
static void ask_hook(sim_ctx *ctx, char *stop_reason, size_t n)
{
    sim_progress pr = {ctx->now, ctx->end_ns, ctx->events, ctx->blocks_mined, max_height(ctx), ""};
    sim_hook_reply r = ctx->hooks.progress(ctx->hooks.ctx, &pr);
    if (r == SIM_HOOK_CHECKPOINT) {
        pu_err rc = sim_metrics_checkpoint(ctx);
        if (rc != PU_OK)
            sim_fail(ctx, rc, "checkpoint");
    } else if (r == SIM_HOOK_STOP) {
        snprintf(stop_reason, n, "%s", pr.stop_reason[0] ? pr.stop_reason : "stopped");
        ctx->stop = true;
    }
}

/* A run that ends early keeps what it has: the store commits up to its tip,
 * the HDF5 file gets a last checkpoint marked unfinished (best effort: the
 * failure may be the HDF5 file's own). */
static void keep_partial(sim_ctx *ctx, const char *reason)
{
    if (ctx->store) {
        char serr[256];
        PU_IGNORE(pu_store_flush(ctx->store, serr, sizeof serr)); /* the sticky error is ours */
    }
    PU_IGNORE(sim_metrics_mark_partial(ctx, reason)); /* nothing better to do on failure */
}

pu_err sim_run(sim_ctx *ctx, sim_summary *sum, char *err, size_t errlen)
{
    sim_event ev;
    char stop_reason[96] = "";
    memset(sum, 0, sizeof *sum);
    while (!ctx->stop && sim_evq_pop(ctx->evq, &ev) == PU_OK) {
        ctx->now = ev.at_ns;
        dispatch(ctx, &ev);
        ctx->events++;
        if ((ctx->events & 4095) == 0 && ctx->hooks.progress)
            ask_hook(ctx, stop_reason, sizeof stop_reason);
    }
    pu_err rc = ctx->fatal;
    if (rc == PU_OK && stop_reason[0]) {
        keep_partial(ctx, stop_reason);
        snprintf(err, errlen, "%s", stop_reason);
        return PU_ERR_STATE;
    }
    if (rc == PU_OK && ctx->store) {
        char serr[256];
        rc = pu_store_flush(ctx->store, serr, sizeof serr); /* also the sticky error */
        if (rc != PU_OK)
            snprintf(ctx->err, sizeof ctx->err, "%s", serr);
    }
    if (rc == PU_OK) {
        sim_metrics_sample(ctx); /* the final state */
        rc = sim_metrics_finish(ctx, sum);
    }
    if (rc == PU_OK && ctx->pouw)
        sim_pouw_report(ctx); /* end-of-run events */
    if (rc == PU_OK) { /* the ledgers are right, or no figure of this run is */
        sim_inv_report inv;
        rc = sim_invariants_check(ctx, sum, &inv, ctx->err, sizeof ctx->err);
    }
    if (rc == PU_OK)
        sim_adversaries_report(ctx);
    if (rc == PU_OK)
        rc = sim_metrics_close(ctx, sum);
    if (rc != PU_OK) {
        snprintf(err, errlen, "%s", ctx->err[0] ? ctx->err : pu_strerror(rc));
        keep_partial(ctx, err);
    }
    return rc;
}

/* A figure that may be undefined (NaN): "n/a" then. */
static void put_fig(FILE *f, const char *label, double v, const char *fmt)
{
    fprintf(f, "%s", label);
    if (v == v)
        fprintf(f, fmt, v);
    else
        fprintf(f, "n/a");
}

static void print_attack(const sim_summary_attack *a, uint32_t i, FILE *f)
{
    fprintf(f, "attack %u: %-12s share %.3f, blocks %llu mined, %llu of %llu main-chain blocks",
            i, a->type, a->share, (unsigned long long)a->blocks_mined,
            (unsigned long long)a->main_blocks, (unsigned long long)a->main_total);
    /* the closed form goes with the figure it predicts: the success rate
     * when the attack counts attempts, else the revenue share */
    bool per_attempt = a->attempts > 0;
    put_fig(f, ", revenue share ", a->revenue_share, "%.4f");
    if (!per_attempt && a->expected == a->expected)
        fprintf(f, " (closed form %.4f)", a->expected);
    if (a->gamma == a->gamma)
        fprintf(f, ", gamma %.3f", a->gamma);
    fprintf(f, "\n");
    if (per_attempt || a->loss || a->refused || a->stake_slashed) {
        fprintf(f, "attack %u: attempts %llu, successes %llu", i, (unsigned long long)a->attempts,
                (unsigned long long)a->successes);
        put_fig(f, " (rate ", a->success_rate, "%.4f");
        if (per_attempt && a->expected == a->expected)
            fprintf(f, ", closed form %.4f", a->expected);
        fprintf(f, "), loss %.8g coin, refused %llu, stake slashed %.8g coin\n",
                (double)a->loss / 1e8, (unsigned long long)a->refused, (double)a->stake_slashed / 1e8);
    }
    if (a->peak_mempool || a->peak_orphans || a->peak_queue)
        fprintf(f, "attack %u: peaks at honest nodes: mempool %llu tx, orphans %llu, peer queue %llu B\n",
                i, (unsigned long long)a->peak_mempool, (unsigned long long)a->peak_orphans,
                (unsigned long long)a->peak_queue);
}

/* "median 1.234 s, p90 2.345 s", or what stands in for it when no value
 * exists: a figure without data is said to be missing, never printed as 0. */
static void put_quantiles(FILE *f, double med, double p90, uint64_t n, const char *none,
                          const char *fmt)
{
    if (!n || isnan(med)) {
        fprintf(f, "%s\n", none);
        return;
    }
    fprintf(f, fmt, med, p90);
    fputc('\n', f);
}

void sim_summary_print(const sim_summary *s, FILE *f)
{
    fprintf(f, "nodes                 %llu\n", (unsigned long long)s->nodes);
    fprintf(f, "simulated time        %.1f s\n", (double)s->end_ns / 1e9);
    if (s->main_height)
        fprintf(f, "blocks mined          %llu (main chain height %llu, mean interval %.2f s)\n",
                (unsigned long long)s->blocks_mined, (unsigned long long)s->main_height,
                s->mean_interval_s);
    else
        fprintf(f, "blocks mined          %llu (main chain height 0: no interval)\n",
                (unsigned long long)s->blocks_mined);
    if (s->blocks_mined)
        fprintf(f, "stale blocks          %llu (stale rate %.3f %%)\n",
                (unsigned long long)s->stale_blocks, 100 * s->stale_rate);
    else
        fprintf(f, "stale blocks          0 (no block mined: no stale rate)\n");
    fputs("propagation to 50 %   ", f);
    put_quantiles(f, s->prop50_median_s, s->prop50_p90_s, s->prop50_blocks,
                  "never: no block reached 50 % of nodes", "median %.3f s, p90 %.3f s");
    fputs("propagation to 90 %   ", f);
    put_quantiles(f, s->prop90_median_s, s->prop90_p90_s, s->prop90_blocks,
                  "never: no block reached 90 % of nodes", "median %.3f s, p90 %.3f s");
    fprintf(f, "transactions          %llu created, %llu confirmed in the main chain\n",
            (unsigned long long)s->txs_created, (unsigned long long)s->txs_confirmed);
    fputs("confirmation latency  ", f);
    put_quantiles(f, s->conf_median_s, s->conf_p90_s, s->txs_confirmed,
                  "none: no transaction was confirmed", "median %.2f s, p90 %.2f s");
    fprintf(f, "reorganisations       %llu (deepest %llu)\n", (unsigned long long)s->reorgs,
            (unsigned long long)s->reorg_max_depth);
    if (s->blocks_refused)
        fprintf(f, "blocks refused        %llu by nodes (see /refusals)\n",
                (unsigned long long)s->blocks_refused);
    fprintf(f, "messages              %llu (%.1f MB)\n", (unsigned long long)s->messages,
            (double)s->message_bytes / 1e6);
    if (s->blocks_mined)
        fprintf(f, "block bytes           %.0f per block mined (announcements, blocks, PoUW data)\n",
                s->bytes_per_block);
    fprintf(f, "events                %llu\n", (unsigned long long)s->events);
    fprintf(f, "memory per node       %.1f kB (ledger state)\n", (double)s->mem_bytes_per_node / 1e3);
    for (uint32_t i = 0; i < s->n_attacks; i++)
        print_attack(&s->attacks[i], i, f);
    if (s->pouw) {
        static const char phases[5][14] = {"none", "registration", "training", "finalisation", "settled"};
        fprintf(f, "pouw: iterations      %llu, blocks from useful work %llu\n",
                (unsigned long long)s->pouw_iterations, (unsigned long long)s->pouw_blocks);
        fprintf(f, "pouw: verifications   %llu (%llu refused)\n",
                (unsigned long long)s->pouw_verifications, (unsigned long long)s->pouw_verify_failures);
        fprintf(f, "pouw: best accuracy   %.4f (test split), task %s\n", s->pouw_best_accuracy,
                phases[s->pouw_phase_at_end >= 0 && s->pouw_phase_at_end < 5 ? s->pouw_phase_at_end : 0]);
        fprintf(f, "pouw: tasks           %llu arrived, %llu settled, %llu dropped\n",
                (unsigned long long)s->pouw_tasks, (unsigned long long)s->pouw_tasks_settled,
                (unsigned long long)s->pouw_tasks_dropped);
        fprintf(f, "pouw: main chain      %llu PoUW blocks of %llu", (unsigned long long)s->pouw_main_blocks,
                (unsigned long long)s->main_height);
        put_fig(f, " (", 100 * s->pouw_block_share, "%.1f %%)");
        fputs("\npouw: data fetched    ", f);
        put_quantiles(f, s->pouw_fetch_bytes_median, s->pouw_fetch_bytes_p90, s->pouw_fetch_samples,
                      "none: no node checked another's PoUW block",
                      "median %.0f B, p90 %.0f B per node and PoUW block");
        fputs("pouw: verify delay    ", f);
        put_quantiles(f, s->pouw_verify_delay_median_s, s->pouw_verify_delay_p90_s, s->pouw_fetch_samples,
                      "none: no node checked another's PoUW block",
                      "median %.3f s, p90 %.3f s (first heard -> verified)");
    }
}
