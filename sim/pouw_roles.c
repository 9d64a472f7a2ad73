/* sim/pouw_roles.c -- what clients and workers put on chain (PAY_FOR_TASK,
 * BUY_TICKETS, TASK_RESULT) and the evaluator's test of the final models. */
#include <stdlib.h>
#include <string.h>

#include "sim/pouw_int.h"

/* Whether coin c can be spent now on nd's branch; a pending change that
 * will never confirm (its spender left the mempool unconfirmed) falls back
 * to the coin it spent. */
static bool coin_free(const sim_node *nd, pw_coin *c)
{
    const pu_utxo *u = pu_chain_utxo(nd->chain);
    if (c->pending) {
        if (pu_utxo_find(u, &c->op))
            c->pending = false;
        else if (!pu_mempool_has(pu_chain_mempool(nd->chain), &c->spender) && pu_utxo_find(u, &c->prev)) {
            c->op = c->prev;
            c->amount = c->prev_amount;
            c->pending = false;
        }
        return !c->pending;
    }
    return c->amount > 0 && pu_utxo_find(u, &c->op) != NULL;
}

bool pw_inputs(const sim_ctx *ctx, pw_worker *w, pu_amount need, pu_econ_inputs *in, uint32_t *slot)
{
    const sim_node *nd = &ctx->nodes[w->node];
    pu_amount fee = ctx->p->transactions.fee;
    for (uint32_t i = 0; i < PW_COINS; i++) {
        pw_coin *c = &w->coins[i];
        if (!coin_free(nd, c) || c->amount - fee <= need)
            continue; /* strictly more: a PAYMENT keeps a change output */
        *in = (pu_econ_inputs){&c->op, &c->amount, 1, &w->key, fee, sim_now_s(ctx)};
        *slot = i;
        return true;
    }
    return false;
}

bool pw_submit(sim_ctx *ctx, pw_worker *w, uint32_t slot, pu_tx *tx)
{
    pw_coin *c = &w->coins[slot];
    pw_coin keep = *c;
    uint32_t last = pu_tx_n_out(tx) - 1;
    c->prev = c->op;
    c->prev_amount = c->amount;
    c->spender = *pu_tx_id(tx);
    c->pending = true;
    c->amount = 0; /* no change output: the slot is spent */
    if (pu_tx_n_out(tx) && !memcmp(pu_tx_out(tx, last)->addr.b, w->key.addr.b, 20)) {
        c->op = (pu_outpoint){*pu_tx_id(tx), last};
        c->amount = pu_tx_out(tx, last)->amount;
    }
    if (sim_node_submit_tx(ctx, &ctx->nodes[w->node], tx))
        return true;
    *c = keep;
    return false;
}

bool pw_client_submit(sim_ctx *ctx, pw_task *t)
{
    sim_pouw *pw = ctx->pouw;
    pw_worker *w = &pw->workers[t->client];
    pu_econ_inputs in;
    uint32_t slot;
    if (!pw_inputs(ctx, w, t->def.fee, &in, &slot))
        return false;
    pu_tx *tx = NULL;
    pu_err rc = pu_econ_pay_for_task(pw->econ, &t->def, &in, &tx);
    if (rc != PU_OK) {
        sim_fail(ctx, rc, "pay_for_task");
        return false;
    }
    bool ok = pw_submit(ctx, w, slot, tx);
    pu_tx_unref(tx);
    if (ok)
        t->t_submit = ctx->now;
    return ok;
}

static int task_role(uint8_t role)
{
    return role == PU_ROLE_MINER ? PU_TASK_ROLE_MINER
           : role == PU_ROLE_SUPERVISOR ? PU_TASK_ROLE_SUPERVISOR
           : role == PU_ROLE_EVALUATOR ? PU_TASK_ROLE_EVALUATOR
           : PU_TASK_ROLE_VERIFIER;
}

void pw_buy_ticket(sim_ctx *ctx, pw_worker *w, pw_task *t)
{
    sim_pouw *pw = ctx->pouw;
    pu_amount stake = t->def.stake[task_role(w->role)];
    pu_econ_inputs in;
    uint32_t slot;
    if (!pw_inputs(ctx, w, stake, &in, &slot))
        return; /* no free coin: again at the next tip */
    pu_tx *tx = NULL;
    pu_err rc = pu_econ_buy_tickets(pw->econ, &t->id, (pu_role)w->role, stake, &in, &tx);
    if (rc != PU_OK) {
        sim_fail(ctx, rc, "buy_tickets");
        return;
    }
    w->ticket_sent = pw_submit(ctx, w, slot, tx);
    pu_tx_unref(tx);
}

bool pw_seated(sim_ctx *ctx, const pw_worker *w, const pw_task *t, int tr)
{
    sim_pouw *pw = ctx->pouw;
    pu_task_state st;
    if (pu_econ_task_state(pw->econ, ctx->nodes[w->node].chain, &t->id, &st) != PU_OK)
        return false;
    for (uint32_t i = 0; i < st.n_seats[tr]; i++)
        if (!memcmp(st.seat[tr][i].pub, w->key.pub, 33))
            return true;
    return false;
}

/* Test every final model received on the task's hidden split and post the
 * TASK_RESULT (only a seated evaluator's result counts). */
void pw_evaluate(sim_ctx *ctx, pw_worker *w, pw_task *t)
{
    sim_pouw *pw = ctx->pouw;
    if (w->result_sent || pw_task_of(pw, w) != t || !pw_seated(ctx, w, t, PU_TASK_ROLE_EVALUATOR))
        return;
    pu_econ_inputs in;
    uint32_t slot;
    if (!pw_inputs(ctx, w, 0, &in, &slot))
        return; /* no free coin: again at the next tip */
    pu_pouw_task_view view;
    if (pu_econ_task_view(pw->econ, ctx->nodes[w->node].chain, &t->id, &view) != PU_OK || !view.test) {
        sim_fail(ctx, PU_ERR_STATE, "evaluator: no test split");
        return;
    }
    pu_hash32 best = {{0}};
    uint32_t best_acc = 0;
    for (uint32_t i = 0; i < t->n_miners && i < PU_ECON_MAX_SEATS; i++) {
        t->accuracy_ppm[i] = UINT32_MAX; /* no model */
        const pu_ml_model *mdl = t->have_final[i] ? pu_pouw_store_model(pw->store, &t->final_model[i]) : NULL;
        pu_ml_metrics mt;
        if (!mdl || pu_ml_evaluate(t->ws, mdl, view.test, 0, pu_dataset_size(view.test), &mt) != PU_OK)
            continue;
        t->accuracy_ppm[i] = (uint32_t)((uint64_t)mt.correct * 1000000u / mt.n);
        if (t->accuracy_ppm[i] >= best_acc) {
            best_acc = t->accuracy_ppm[i];
            best = t->final_model[i];
        }
    }
    pu_tx *tx = NULL;
    pu_err rc = pu_econ_task_result(pw->econ, &t->id, t->accuracy_ppm, t->n_miners, &best, &in, &tx);
    if (rc != PU_OK) {
        sim_fail(ctx, rc, "task result");
        return;
    }
    if (pw_submit(ctx, w, slot, tx)) {
        w->result_sent = true;
        t->result_sent = true;
        if (!t->t_result)
            t->t_result = ctx->now;
    }
    pu_tx_unref(tx);
}

void pw_final_received(sim_ctx *ctx, sim_node *nd, pw_worker *w, const pw_payload *pl)
{
    sim_pouw *pw = ctx->pouw;
    pw_task *t = &pw->tasks[pl->task];
    if (pl->miner_index >= PU_ECON_MAX_SEATS)
        return;
    t->final_model[pl->miner_index] = pl->model_hash;
    t->have_final[pl->miner_index] = true;
    uint32_t have = 0;
    for (uint32_t i = 0; i < t->n_miners; i++)
        have += t->have_final[i];
    if (have == t->n_miners) {
        t->eval_due = true;
        pw_evaluate(ctx, w, t);
    }
    else if (!t->eval_scheduled) { /* do not wait forever for a silent miner */
        t->eval_scheduled = true;
        PU_IGNORE(sim_schedule(ctx, ctx->now + 20 * t->iter_ns + 60000000000ull, SIM_EV_POUW, nd->id,
                               PW_EV_ARG(PW_EV_EVAL, 0, pl->task), NULL, NULL));
    }
}
