/* sim/wallet.c -- simulated wallets and the transaction workload.
 *
 * Wallets hold deterministic keys (from the run seed) and are funded by the
 * genesis block.  A Poisson stream (transactions.rate per second) picks a
 * sender and recipients; the sender spends coins its home node sees as
 * confirmed (the mempool refuses chains of unconfirmed transactions, PROTOCOL.md
 * s2), signs for real and submits at its home node, which gossips it.
 *
 * A wallet tracks candidate coins without an address index: coins it
 * created or received are listed; a coin is spendable when the home node's
 * UTXO set has it; a coin missing from that set for longer than
 * COIN_FORGET_NS (spent, or never confirmed) is forgotten. */
#include "sim/wallet.h"

#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"

#define COIN_FORGET_NS (UINT64_C(3600) * 1000000000u)
#define PENDING_NS (UINT64_C(3600) * 1000000000u)
#define MAX_INPUTS 100u /* bound of transactions.max_inputs */
#define GENESIS_OUTPUTS_PER_TX 3000u /* keeps each genesis tx under PU_TX_MAX_SIZE */

typedef struct wcoin {
    pu_outpoint op;
    pu_amount amount;
    uint64_t since_ns;     /* when the wallet learned of it */
    uint64_t pending_until; /* spent by our own unconfirmed tx until then */
} wcoin;

typedef struct wallet {
    pu_keypair key;
    uint32_t home;
    bool taken;            /* an attacker's now: the workload leaves it alone */
    uint32_t n, cap;
    wcoin *coins;
} wallet;

struct sim_wallets {
    uint32_t n;
    wallet *w;
    sim_rng rng;
    uint64_t n_skipped;
    sim_evq_id next;
};

static pu_err add_coin(wallet *w, const pu_outpoint *op, pu_amount amount, uint64_t now)
{
    if (w->n == w->cap) {
        uint32_t cap = w->cap ? w->cap * 2 : 4;
        wcoin *c = realloc(w->coins, cap * sizeof *c);
        if (!c)
            return PU_ERR_NOMEM;
        w->coins = c;
        w->cap = cap;
    }
    w->coins[w->n++] = (wcoin){*op, amount, now, 0};
    return PU_OK;
}

pu_err sim_wallets_new(sim_ctx *ctx, sim_wallets **out)
{
    *out = NULL;
    sim_wallets *ws = calloc(1, sizeof *ws);
    if (!ws)
        return PU_ERR_NOMEM;
    ws->n = (uint32_t)ctx->p->transactions.wallets;
    ws->w = calloc(ws->n ? ws->n : 1, sizeof *ws->w);
    pu_err rc = ws->w ? PU_OK : PU_ERR_NOMEM;
    sim_rng homes = sim_rng_stream(&ctx->root, SIM_RNG_WORKLOAD, SIM_RNG_OWNER_GLOBAL);
    for (uint32_t i = 0; rc == PU_OK && i < ws->n; i++) {
        pu_hash32 seed;
        sim_rng_key(&ctx->root, SIM_RNG_WORKLOAD, i, &seed); /* wallet i's key seed */
        rc = pu_key_from_seed(ctx->crypto, seed.b, &ws->w[i].key);
        ws->w[i].home = (uint32_t)sim_rng_below(&homes, ctx->n);
    }
    ws->rng = sim_rng_stream(&ctx->root, SIM_RNG_TXGEN, SIM_RNG_OWNER_GLOBAL);
    ws->next = SIM_EVQ_NO_ID;
    if (rc != PU_OK) {
        sim_wallets_free(ws);
        return rc;
    }
    *out = ws;
    return PU_OK;
}

void sim_wallets_free(sim_wallets *ws)
{
    if (!ws)
        return;
    for (uint32_t i = 0; i < ws->n; i++)
        free(ws->w[i].coins);
    free(ws->w);
    free(ws);
}

pu_err sim_wallets_genesis(sim_ctx *ctx, sim_wallets *ws, pu_block *genesis)
{
    pu_amount bal = ctx->p->transactions.initial_balance;
    pu_err rc = PU_OK;
    for (uint32_t first = 0, part = 0; rc == PU_OK && (first < ws->n || part == 0); part++) {
        uint32_t k = ws->n - first < GENESIS_OUTPUTS_PER_TX ? ws->n - first : GENESIS_OUTPUTS_PER_TX;
        pu_tx *cb = NULL;
        /* an empty wallet list still needs one output: a burn to the zero address */
        rc = pu_tx_new(PU_TX_COINBASE, 0, k ? k : 1, 4, &cb);
        if (rc != PU_OK)
            break;
        pu_put_be32(pu_tx_body_mut(cb), part); /* distinct ids for each part */
        for (uint32_t j = 0; j < k; j++) {
            pu_tx_out_mut(cb, j)->amount = bal;
            pu_tx_out_mut(cb, j)->addr = ws->w[first + j].key.addr;
        }
        if (!k)
            pu_tx_out_mut(cb, 0)->amount = 1;
        rc = pu_tx_finalize(ctx->crypto, cb);
        if (rc == PU_OK)
            rc = pu_block_add_tx(genesis, cb);
        for (uint32_t j = 0; rc == PU_OK && j < k; j++) {
            pu_outpoint op = {*pu_tx_id(cb), j};
            rc = add_coin(&ws->w[first + j], &op, bal, 0);
        }
        pu_tx_unref(cb);
        first += k;
    }
    return rc;
}

void sim_wallets_schedule(sim_ctx *ctx)
{
    sim_wallets *ws = ctx->wallets;
    if (ws->next != SIM_EVQ_NO_ID)
        PU_IGNORE(sim_evq_cancel(ctx->evq, ws->next)); /* NOTFOUND when it fired */
    ws->next = SIM_EVQ_NO_ID;
    if (ctx->tx_rate <= 0 || ws->n < 2)
        return;
    uint64_t dt = sim_rng_exp_ns(&ws->rng, 1e9 / ctx->tx_rate);
    if (sim_schedule(ctx, ctx->now + dt + 1, SIM_EV_TXGEN, 0, 0, NULL, &ws->next) != PU_OK)
        ws->next = SIM_EVQ_NO_ID;
}

/* Pick up to MAX_INPUTS spendable coins of w; forget stale ones. */
static uint32_t pick_coins(sim_ctx *ctx, wallet *w, uint32_t *idx, pu_amount *sum)
{
    const pu_utxo *u = pu_chain_utxo(ctx->nodes[w->home].chain);
    uint32_t k = 0, max = (uint32_t)ctx->p->transactions.max_inputs;
    *sum = 0;
    for (uint32_t i = 0; i < w->n && k < max && k < MAX_INPUTS;) {
        wcoin *c = &w->coins[i];
        bool there = pu_utxo_find(u, &c->op) != NULL;
        if (!there && ctx->now - c->since_ns > COIN_FORGET_NS) {
            w->coins[i] = w->coins[--w->n]; /* swap-remove; order is not part of results */
            continue;
        }
        if (there && c->pending_until <= ctx->now) {
            idx[k++] = i;
            *sum += c->amount;
        }
        i++;
    }
    return k;
}

static pu_tx *build_tx(sim_ctx *ctx, sim_wallets *ws, uint32_t s, const uint32_t *idx, uint32_t k,
                       pu_amount in_sum, uint32_t *recipients, uint32_t *n_pay_out)
{
    const sim_params *p = ctx->p;
    wallet *w = &ws->w[s];
    pu_amount fee = p->transactions.fee, avail = in_sum - fee;
    uint32_t n_out = (uint32_t)(p->transactions.outputs ? p->transactions.outputs : 1);
    uint32_t n_pay = n_out > 1 ? n_out - 1 : 1;
    /* pay 10-50 % of what the inputs hold, split over the payees */
    pu_amount pay = (pu_amount)((double)avail * (0.1 + 0.4 * sim_rng_unit(&ws->rng)));
    pu_amount each = pay / n_pay;
    if (avail <= 0 || each <= 0)
        return NULL;
    pu_amount change = n_out > 1 ? avail - each * n_pay : 0;
    if (n_out == 1)
        each = avail;
    pu_tx *tx;
    if (pu_tx_new(PU_TX_PAYMENT, k, change > 0 ? n_pay + 1 : n_pay, 0, &tx) != PU_OK)
        return NULL;
    for (uint32_t i = 0; i < k; i++)
        pu_tx_in_mut(tx, i)->prev = w->coins[idx[i]].op;
    for (uint32_t j = 0; j < n_pay; j++) {
        uint32_t r = (uint32_t)sim_rng_below(&ws->rng, ws->n - 1);
        r += r >= s; /* anyone but the sender */
        recipients[j] = r;
        pu_tx_out_mut(tx, j)->amount = each;
        pu_tx_out_mut(tx, j)->addr = ws->w[r].key.addr;
    }
    if (change > 0) {
        pu_tx_out_mut(tx, n_pay)->amount = change;
        pu_tx_out_mut(tx, n_pay)->addr = w->key.addr;
    }
    pu_tx_set_timestamp(tx, sim_now_s(ctx));
    *n_pay_out = n_pay;
    const pu_keypair *key = &w->key;
    if (pu_tx_sign_all(ctx->crypto, tx, &key, 1) != PU_OK || pu_tx_finalize(ctx->crypto, tx) != PU_OK) {
        pu_tx_unref(tx);
        return NULL;
    }
    return tx;
}

void sim_wallets_fire(sim_ctx *ctx)
{
    sim_wallets *ws = ctx->wallets;
    ws->next = SIM_EVQ_NO_ID;
    uint32_t s = (uint32_t)sim_rng_below(&ws->rng, ws->n);
    wallet *w = &ws->w[s];
    uint32_t idx[MAX_INPUTS], recipients[256], n_pay = 0;
    pu_amount in_sum;
    uint32_t k = w->taken ? 0 : pick_coins(ctx, w, idx, &in_sum);
    pu_tx *tx = k && ctx->p->transactions.outputs <= 257
                    ? build_tx(ctx, ws, s, idx, k, in_sum, recipients, &n_pay) : NULL;
    if (!tx) {
        ws->n_skipped++; /* no confirmed funds yet: try again at the next tick */
        sim_wallets_schedule(ctx);
        return;
    }
    bool accepted = sim_node_submit_tx(ctx, &ctx->nodes[w->home], tx);
    sim_obs ev = {.kind = SIM_OBS_TX_CREATED, .node = w->home, .tx = tx};
    ev.u.tx_created.wallet = s;
    ev.u.tx_created.accepted = accepted;
    sim_observe(ctx, &ev);
    if (accepted) {
        for (uint32_t i = 0; i < k; i++)
            w->coins[idx[i]].pending_until = ctx->now + PENDING_NS;
        for (uint32_t j = 0; j < pu_tx_n_out(tx); j++) {
            pu_outpoint op = {*pu_tx_id(tx), j};
            wallet *to = j < n_pay ? &ws->w[recipients[j]] : w;
            if (add_coin(to, &op, pu_tx_out(tx, j)->amount, ctx->now) != PU_OK)
                sim_fail(ctx, PU_ERR_NOMEM, "wallet");
        }
    }
    pu_tx_unref(tx);
    sim_wallets_schedule(ctx);
}

pu_err sim_wallets_take(sim_ctx *ctx, uint32_t k, pu_keypair *key)
{
    sim_wallets *ws = ctx->wallets;
    if (k >= ws->n)
        return PU_ERR_RANGE;
    ws->w[k].taken = true;
    *key = ws->w[k].key;
    return PU_OK;
}

bool sim_wallets_coin(const sim_ctx *ctx, uint32_t k, const pu_utxo *u, pu_outpoint *op,
                      pu_amount *amount)
{
    const sim_wallets *ws = ctx->wallets;
    bool found = false;
    *amount = 0;
    for (uint32_t i = 0; k < ws->n && i < ws->w[k].n; i++) {
        const wcoin *c = &ws->w[k].coins[i];
        if (c->amount > *amount && pu_utxo_find(u, &c->op)) {
            *op = c->op;
            *amount = c->amount;
            found = true;
        }
    }
    return found;
}
