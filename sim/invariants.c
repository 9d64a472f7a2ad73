/* sim/invariants.c -- the end-of-run checks of sim/invariants.h. */
#include "sim/invariants.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hmap.h"
#include "core/store.h" /* PU_STORE_RELOAD_NOW_S: a clock past every block */

static pu_err broken(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static pu_err broken(char *err, size_t errlen, const char *fmt, ...)
{
    int k = snprintf(err, errlen, "invariant violated: ");
    va_list ap;
    va_start(ap, fmt);
    if (k > 0 && (size_t)k < errlen)
        vsnprintf(err + k, errlen - (size_t)k, fmt, ap);
    va_end(ap);
    return PU_ERR_INVALID;
}

/* ---- the UTXO index ------------------------------------------------------- */

typedef struct coin_sums {
    pu_hmap *by_addr; /* addr -> pu_amount: unlocked coins */
    pu_amount unlocked, locked;
    uint64_t coins;
    bool overflow;
} coin_sums;

static pu_err add_coin(void *c, const pu_outpoint *op, const pu_coin *coin)
{
    coin_sums *s = c;
    (void)op;
    s->coins++;
    pu_amount *sum = coin->flags & PU_COIN_LOCKED ? &s->locked : &s->unlocked;
    if (pu_amount_add(*sum, coin->amount, sum) != PU_OK)
        s->overflow = true;
    if (coin->flags & PU_COIN_LOCKED)
        return PU_OK;
    void *v;
    bool created;
    pu_err rc = pu_hmap_put(s->by_addr, coin->addr.b, &v, &created);
    if (rc != PU_OK)
        return rc;
    if (created)
        memset(v, 0, sizeof(pu_amount));
    pu_amount a;
    memcpy(&a, v, sizeof a);
    if (pu_amount_add(a, coin->amount, &a) != PU_OK)
        s->overflow = true;
    memcpy(v, &a, sizeof a);
    return PU_OK;
}

/* Every coin once: the totals, counts and each address's balance. */
static pu_err check_index(const pu_chain *ch, uint32_t node, sim_inv_report *rep, char *err,
                          size_t errlen)
{
    const pu_utxo *u = pu_chain_utxo(ch);
    coin_sums s = {NULL, 0, 0, 0, false};
    pu_err rc = pu_hmap_new(sizeof(pu_addr), sizeof(pu_amount), 1024, &s.by_addr);
    if (rc == PU_OK)
        rc = pu_utxo_foreach_sorted(u, add_coin, &s);
    if (rc != PU_OK) {
        pu_hmap_free(s.by_addr);
        return rc;
    }
    rep->coins_checked += s.coins;
    if (s.overflow || s.unlocked != pu_utxo_total(u) || s.locked != pu_utxo_locked(u) ||
        s.coins != pu_utxo_count(u))
        rc = broken(err, errlen,
                    "node %u: UTXO totals disagree with its coins (%lld/%lld spendable, %lld/%lld "
                    "locked, %llu/%zu coins)", node, (long long)pu_utxo_total(u),
                    (long long)s.unlocked, (long long)pu_utxo_locked(u), (long long)s.locked,
                    (unsigned long long)s.coins, pu_utxo_count(u));
    size_t nonzero = 0, cur = 0;
    const void *k;
    void *v;
    while (rc == PU_OK && pu_hmap_next(s.by_addr, &cur, &k, &v)) {
        pu_addr a;
        pu_amount want;
        memcpy(a.b, k, sizeof a.b);
        memcpy(&want, v, sizeof want);
        nonzero += want != 0;
        pu_amount got = pu_utxo_balance(u, &a);
        if (got != want) {
            char hex[41];
            pu_hex_encode(a.b, 20, hex);
            rc = broken(err, errlen, "node %u: balance of %s is %lld in the index, %lld in its coins",
                        node, hex, (long long)got, (long long)want);
        }
    }
    if (rc == PU_OK && nonzero != pu_utxo_n_addresses(u))
        rc = broken(err, errlen, "node %u: %zu addresses hold coins, the index counts %zu", node,
                    nonzero, pu_utxo_n_addresses(u));
    pu_hmap_free(s.by_addr);
    return rc;
}

/* ---- valid from genesis, and the supply ----------------------------------- */

/* Connects the tip's chain block by block in a fresh chain without shared
 * verdicts (every block checked again); the replay must end at the same tip
 * with the same UTXO set, and the supply must be genesis + every reward. */
static pu_err replay(sim_ctx *ctx, const pu_chain *ch, uint32_t node, sim_inv_report *rep,
                     char *err, size_t errlen)
{
    pu_chain_opts o = {&ctx->cp, ctx->crypto, ctx->sigcache, NULL, ctx->rules};
    pu_chain *fresh = NULL;
    pu_err rc = pu_chain_new(&o, ctx->genesis, &fresh);
    if (rc != PU_OK)
        return broken(err, errlen, "node %u: a chain on the genesis block: %s", node,
                      pu_strerror(rc));
    pu_amount expect = pu_chain_supply(fresh);
    uint32_t h = pu_chain_height(ch);
    for (uint32_t i = 1; rc == PU_OK && i <= h; i++) {
        pu_add_result res;
        pu_block *b = pu_chain_block_at(ch, i);
        rc = pu_chain_add_block(fresh, b, PU_STORE_RELOAD_NOW_S, &res);
        if (rc != PU_OK || !res.tip_changed || pu_chain_height(fresh) != i) {
            char hex[65];
            pu_hash_hex(pu_block_hash(b), hex);
            rc = broken(err, errlen, "node %u: block %s at height %u is not valid from genesis (%s)",
                        node, hex, i, rc != PU_OK ? pu_strerror(rc) : pu_reason_str(res.reason));
            break;
        }
        if (pu_amount_add(expect, pu_params_reward(&ctx->cp, i), &expect) != PU_OK)
            rc = broken(err, errlen, "node %u: rewards up to height %u exceed the money supply",
                        node, i);
        rep->blocks_replayed++;
    }
    pu_hash32 d1, d2;
    if (rc == PU_OK && (rc = pu_utxo_digest(ctx->crypto, pu_chain_utxo(ch), &d1)) == PU_OK &&
        (rc = pu_utxo_digest(ctx->crypto, pu_chain_utxo(fresh), &d2)) == PU_OK &&
        !pu_hash_eq(&d1, &d2))
        rc = broken(err, errlen, "node %u: its UTXO set differs from a replay of its chain", node);
    if (rc == PU_OK && pu_chain_supply(ch) != expect)
        rc = broken(err, errlen, "node %u: %lld units exist at height %u, genesis + rewards = %lld",
                    node, (long long)pu_chain_supply(ch), h, (long long)expect);
    pu_chain_free(fresh);
    return rc;
}

/* ---- common prefix ---------------------------------------------------------- */

/* The nodes the common prefix is about: online, and following the honest
 * protocol (an adversary's node may hold a private branch on purpose). */
static bool counted(const sim_node *nd)
{
    return nd->online && nd->beh == &sim_behavior_honest;
}

/* Height of the deepest block every online node has on its active chain,
 * among heights <= low (prefixes: equal at h means equal below). */
static uint32_t common_height(const sim_ctx *ctx, uint32_t low)
{
    uint32_t lo = 0, hi = low; /* genesis is common */
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo + 1) / 2;
        const pu_hash32 *want = NULL;
        bool same = true;
        for (uint32_t i = 0; same && i < ctx->n; i++) {
            if (!counted(&ctx->nodes[i]))
                continue;
            const pu_hash32 *hh = pu_block_hash(pu_chain_block_at(ctx->nodes[i].chain, mid));
            if (!want)
                want = hh;
            else
                same = pu_hash_eq(want, hh);
        }
        if (same)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

static pu_err check_prefix(const sim_ctx *ctx, const sim_summary *sum, sim_inv_report *rep,
                           char *err, size_t errlen)
{
    uint32_t low = UINT32_MAX, online = 0;
    for (uint32_t i = 0; i < ctx->n; i++) {
        if (!counted(&ctx->nodes[i]))
            continue;
        online++;
        if (sim_net_group(ctx->net, i) != 0)
            return PU_OK; /* a partition is in force: the halves may differ */
        uint32_t h = pu_chain_height(ctx->nodes[i].chain);
        low = h < low ? h : low;
    }
    if (!sum || !online || !sum->prop90_blocks || isnan(sum->prop90_p90_s) ||
        !(sum->mean_interval_s > 0))
        return PU_OK;
    double per = sum->prop90_p90_s / sum->mean_interval_s;
    rep->prefix_limit = 6 + (uint32_t)fmin(4 * ceil(per), 1e6);
    rep->prefix_depth = low - common_height(ctx, low);
    rep->prefix_checked = true;
    if (rep->prefix_depth > rep->prefix_limit)
        return broken(err, errlen, "online nodes disagree %u blocks below their lowest tip "
                      "(height %u), more than propagation allows (%u)", rep->prefix_depth, low,
                      rep->prefix_limit);
    return PU_OK;
}

/* ---- all of it -------------------------------------------------------------- */

pu_err sim_invariants_check(sim_ctx *ctx, const sim_summary *sum, sim_inv_report *rep,
                            char *err, size_t errlen)
{
    memset(rep, 0, sizeof *rep);
    err[0] = '\0';
    pu_hmap *seen = NULL; /* tip hash: checked already */
    pu_err rc = pu_hmap_new(32, 0, 16, &seen);
    for (uint32_t i = 0; rc == PU_OK && i < ctx->n; i++) {
        const pu_chain *ch = ctx->nodes[i].chain;
        void *v;
        bool created;
        if ((rc = pu_hmap_put(seen, pu_chain_tip_hash(ch)->b, &v, &created)) != PU_OK || !created)
            continue;
        rep->tips++;
        rc = check_index(ch, i, rep, err, errlen);
        if (rc == PU_OK)
            rc = replay(ctx, ch, i, rep, err, errlen);
    }
    pu_hmap_free(seen);
    if (rc == PU_OK)
        rc = check_prefix(ctx, sum, rep, err, errlen);
    if (rc == PU_ERR_NOMEM && !err[0])
        snprintf(err, errlen, "invariants: out of memory");
    return rc;
}
