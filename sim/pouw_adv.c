/* sim/pouw_adv.c -- what attack strategies (sim/adversary) may ask of and
 * plug into the PoUW engine: a seated miner's cheat, the workers, the fate
 * of their stakes (declarations and contracts in sim/pouw.h).  Kept apart
 * from the honest roles so the engine's own files carry only the three
 * questions a miner asks its cheat. */
#include <stdlib.h>
#include <string.h>

#include "sim/pouw_int.h"

pu_err sim_pouw_set_cheat(sim_ctx *ctx, uint32_t node, const sim_pouw_cheat *c)
{
    sim_pouw *pw = ctx->pouw;
    if (!pw || node >= ctx->n)
        return PU_ERR_RANGE;
    if (!pw->cheats) {
        pw->cheats = calloc(ctx->n, sizeof *pw->cheats);
        if (!pw->cheats)
            return PU_ERR_NOMEM;
    }
    if (c)
        pw->cheats[node] = *c;
    else
        memset(&pw->cheats[node], 0, sizeof pw->cheats[node]);
    return PU_OK;
}

const sim_pouw_cheat *pw_cheat_of(const sim_pouw *pw, uint32_t node)
{
    if (!pw->cheats)
        return NULL;
    const sim_pouw_cheat *c = &pw->cheats[node];
    return c->batch || c->update || c->message || c->mine || c->result || c->vote || c->tickets ? c : NULL;
}

bool sim_pouw_worker(const sim_ctx *ctx, uint32_t node, int *role, const pu_keypair **key)
{
    const sim_pouw *pw = ctx->pouw;
    if (!pw || node >= ctx->n || pw->worker_of[node] == PW_NONE)
        return false;
    const pw_worker *w = &pw->workers[pw->worker_of[node]];
    *role = w->role;
    *key = &w->key;
    return true;
}

size_t sim_pouw_role_nodes(const sim_ctx *ctx, int role, uint32_t *out, size_t max)
{
    const sim_pouw *pw = ctx->pouw;
    size_t n = 0;
    for (uint32_t i = 0; pw && i < pw->n_workers; i++)
        if (pw->workers[i].role == role) {
            if (n < max)
                out[n] = pw->workers[i].node;
            n++;
        }
    return n;
}

/* The settlement of task st on chain ch (the block above the closing one
 * that carries it), or NULL. */
static const pu_tx *settlement_of(const pu_chain *ch, const pu_task_state *st)
{
    for (uint32_t h = st->close_height + 1; h <= pu_chain_height(ch); h++) {
        const pu_block *b = pu_chain_block_at(ch, h);
        for (uint32_t i = 0; i < pu_block_n_tx(b); i++) {
            const pu_tx *tx = pu_block_tx(b, i);
            uint32_t len;
            const uint8_t *body = pu_tx_body(tx, &len);
            if (pu_tx_kind_of(tx) == PU_TX_SETTLEMENT && len >= 32 && !memcmp(body, st->id.b, 32))
                return tx;
        }
    }
    return NULL;
}

pu_err sim_pouw_worker_fate(sim_ctx *ctx, uint32_t node, sim_pouw_fate *out)
{
    memset(out, 0, sizeof *out);
    sim_pouw *pw = ctx->pouw;
    if (!pw || node >= ctx->n || pw->worker_of[node] == PW_NONE)
        return PU_OK;
    return sim_pouw_key_fate(ctx, pw->workers[pw->worker_of[node]].key.pub, out);
}

pu_err sim_pouw_key_fate(sim_ctx *ctx, const uint8_t pub[33], sim_pouw_fate *out)
{
    memset(out, 0, sizeof *out);
    sim_pouw *pw = ctx->pouw;
    if (!pw)
        return PU_OK;
    const pu_chain *best = sim_best_chain(ctx);
    for (uint32_t ti = 0; ti < pw->n_tasks; ti++) {
        pu_task_state st;
        pu_err rc = pu_econ_task_state(pw->econ, best, &pw->tasks[ti].id, &st);
        if (rc == PU_ERR_NOTFOUND)
            continue;
        if (rc != PU_OK)
            return rc;
        for (uint32_t r = 0; r < PU_TASK_N_ROLES; r++)
            for (uint32_t i = 0; i < st.n_seats[r]; i++) {
                const pu_worker *s = &st.seat[r][i];
                if (memcmp(s->pub, pub, 33) != 0)
                    continue;
                out->seats++;
                out->staked += s->stake;
                if (r == PU_TASK_ROLE_MINER && st.proven[i]) {
                    out->proven++;
                    if (!out->proven_reason)
                        out->proven_reason = st.proven[i];
                }
                if (st.phase != PU_PHASE_SETTLED)
                    continue;
                /* what the settlement paid back to the seat's address: a
                 * stake returned comes with any share earned, so less than
                 * the stake means the stake was taken */
                const pu_tx *set = settlement_of(best, &st);
                pu_amount back = 0;
                for (uint32_t o = 0; set && o < pu_tx_n_out(set); o++)
                    if (!memcmp(&pu_tx_out(set, o)->addr, &s->addr, sizeof s->addr))
                        back += pu_tx_out(set, o)->amount;
                if (set && back < s->stake)
                    out->slashed += s->stake - back;
            }
    }
    return PU_OK;
}

pu_err sim_pouw_lazy_rules(sim_ctx *ctx, const pu_rules **out)
{
    sim_pouw *pw = ctx->pouw;
    if (!pw->lazy_econ) {
        pu_econ_config ec;
        pw_econ_config(ctx, pw, &ec);
        ec.trust_ml_work = true;
        pu_err rc = pu_econ_new(&ec, &pw->lazy_econ);
        if (rc != PU_OK)
            return rc;
    }
    *out = pu_econ_rules(pw->lazy_econ);
    return PU_OK;
}

bool sim_pouw_fund(sim_ctx *ctx, uint32_t node, const pu_addr *to, uint32_t n, pu_amount each, pu_hash32 *txid)
{
    sim_pouw *pw = ctx->pouw;
    if (!pw || node >= ctx->n || pw->worker_of[node] == PW_NONE || !n)
        return false;
    pw_worker *w = &pw->workers[pw->worker_of[node]];
    pu_econ_inputs in;
    uint32_t slot;
    if (!pw_inputs(ctx, w, each * n, &in, &slot))
        return false;
    pu_tx *tx;
    if (pu_tx_new(PU_TX_PAYMENT, 1, n + 1, 0, &tx) != PU_OK) {
        sim_fail(ctx, PU_ERR_NOMEM, "pouw fund");
        return false;
    }
    pu_tx_in_mut(tx, 0)->prev = in.ops[0];
    for (uint32_t i = 0; i < n; i++)
        *pu_tx_out_mut(tx, i) = (pu_txout){each, to[i]};
    *pu_tx_out_mut(tx, n) = (pu_txout){in.amounts[0] - each * n - in.fee, w->key.addr}; /* change last */
    pu_tx_set_timestamp(tx, sim_now_s(ctx));
    const pu_keypair *key = &w->key;
    pu_err rc = pu_tx_sign_all(ctx->crypto, tx, &key, 1);
    if (rc == PU_OK)
        rc = pu_tx_finalize(ctx->crypto, tx);
    if (rc != PU_OK) {
        pu_tx_unref(tx);
        sim_fail(ctx, rc, "pouw fund");
        return false;
    }
    *txid = *pu_tx_id(tx);
    bool ok = pw_submit(ctx, w, slot, tx);
    pu_tx_unref(tx);
    return ok;
}

void sim_pouw_block_made(sim_ctx *ctx, uint32_t node, const pu_block *b)
{
    if (ctx->pouw)
        pw_data_block(ctx, node, b);
}
