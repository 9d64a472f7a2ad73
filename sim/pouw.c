/* sim/pouw.c -- PoUW over the simulated network (see sim/pouw.h): the
 * engine's entry points, the pool of PoUW nodes, the task stream with its
 * admission queue, and the run's PoUW outputs.  Training and mining live in
 * pouw_miner.c, the role transactions and the evaluator in pouw_roles.c
 * (shared internals: sim/pouw_int.h). */
#include "sim/pouw.h"

#include <stdlib.h>
#include <string.h>

#include "sim/pouw_int.h"

/* ---- tasks ------------------------------------------------------------------ */

/* The real data sets fix their shape; the synthetic.* keys do not apply. */
static void set_real_data(pu_task *t, const char *name, uint32_t train, uint32_t test)
{
    snprintf(t->dataset, sizeof t->dataset, "%s", name);
    t->train_size = train;
    t->test_size = test;
    t->features = 784;
    t->classes = 10;
    t->data_seed = 0;
}

/* The scenario's task (pouw.task.*), the shape every task of the stream
 * starts from. */
static void base_task(const sim_params *p, pu_task *t)
{
    memset(t, 0, sizeof *t);
    t->model = PU_TASK_MODEL_MLP;
    t->activation = PU_TASK_ACT_RELU;
    t->n_hidden = (uint8_t)(p->pouw.task.hidden.n <= PU_ML_MAX_HIDDEN ? p->pouw.task.hidden.n : 0);
    for (uint32_t i = 0; i < t->n_hidden; i++)
        t->hidden[i] = (uint32_t)p->pouw.task.hidden.v[i];
    switch (p->pouw.task.dataset) {
    case SIM_POUW_FMNIST:
        set_real_data(t, "fashion-mnist", 60000, 10000);
        break;
    case SIM_POUW_MNIST:
        set_real_data(t, "mnist", PU_DATASET_MNIST_TRAIN, PU_DATASET_MNIST_TEST);
        break;
    default:
        snprintf(t->dataset, sizeof t->dataset, "synthetic");
        t->train_size = (uint32_t)p->pouw.task.train_size;
        t->test_size = (uint32_t)p->pouw.task.test_size;
        t->features = (uint32_t)p->pouw.task.features;
        t->classes = (uint32_t)p->pouw.task.classes;
        t->data_seed = p->pouw.task.data_seed;
        break;
    }
    t->input_size = t->features;
    t->output_size = t->classes;
    /* exact integers from the decimal text: one rounding, the same everywhere */
    t->lr_e9 = (uint64_t)(p->pouw.task.lr * 1e9 + 0.5);
    t->tau_e9 = (uint64_t)(p->pouw.task.tau * 1e9 + 0.5);
    t->momentum_e9 = (uint64_t)(p->pouw.task.momentum * 1e9 + 0.5);
    t->batch_size = (uint32_t)p->pouw.task.batch_size;
    t->task_seed = p->pouw.task.seed;
    t->min_accuracy_ppm = p->pouw.task.min_accuracy_ppm;
    t->max_iterations = (uint32_t)p->pouw.task.max_iterations;
    t->convergence_ppm = p->pouw.task.convergence_ppm;
    t->stake[PU_TASK_ROLE_MINER] = p->pouw.task.stake;
    t->stake[PU_TASK_ROLE_SUPERVISOR] = p->pouw.task.stake;
    t->stake[PU_TASK_ROLE_EVALUATOR] = p->pouw.task.stake;
    t->stake[PU_TASK_ROLE_VERIFIER] = p->pouw.task.verifier_stake;
    t->registration_blocks = (uint32_t)p->pouw.task.registration_blocks;
    t->fee = pu_task_fee(t, p->pouw.task.fee); /* the seed: the fee follows the complexity */
}

/* Task j of the stream: the base task with its own seed (so its own id),
 * one of the scenario's shapes and sizes, and for synthetic data one of the
 * stream's data sets.  Task 0 of a single-task run is the base task. */
static void stream_task(sim_ctx *ctx, uint32_t j, pu_task *t)
{
    const sim_params *p = ctx->p;
    sim_pouw *pw = ctx->pouw;
    base_task(p, t);
    if (p->pouw.workload.rate <= 0)
        return;
    t->task_seed = p->pouw.task.seed + j;
    if (strcmp(t->dataset, "synthetic") == 0)
        t->data_seed = p->pouw.task.data_seed + j % p->pouw.workload.datasets;
    const sim_dlist *hs = &p->pouw.workload.hidden_scale;
    if (hs->n) {
        double f = hs->v[sim_rng_below(&pw->arrivals, hs->n)];
        for (uint32_t i = 0; i < t->n_hidden; i++) {
            double w = t->hidden[i] * f + 0.5;
            t->hidden[i] = w < 1 ? 1 : (uint32_t)w;
        }
    }
    const sim_ulist *mi = &p->pouw.workload.max_iterations;
    if (mi->n)
        t->max_iterations = (uint32_t)mi->v[sim_rng_below(&pw->arrivals, mi->n)];
    t->fee = pu_task_fee(t, p->pouw.task.fee);
}

static pu_err task_setup(sim_ctx *ctx, pw_task *t)
{
    const sim_params *p = ctx->p;
    pu_ml_arch arch;
    pu_task_arch(&t->def, &arch);
    pu_err rc = pu_task_id(&t->def, ctx->crypto, &t->id);
    if (rc == PU_OK)
        rc = pu_ml_arch_check(&arch, &t->nparams);
    if (rc == PU_OK)
        rc = pu_ml_ws_new(&arch, t->def.batch_size, &t->ws);
    if (rc != PU_OK)
        return rc;
    /* forward + backward: ~6 flops per parameter per example */
    t->step_flops = 6ull * t->nparams * t->def.batch_size;
    t->iter_ns = p->pouw.iteration_time_ns ? p->pouw.iteration_time_ns
                                           : (uint64_t)((double)t->step_flops / p->pouw.gflops + 0.5);
    if (!t->iter_ns)
        t->iter_ns = 1;
    t->verify_ns = (uint64_t)((double)t->step_flops / p->pouw.verify_gflops + 0.5);
    for (uint32_t i = 0; i < PU_ECON_MAX_SEATS; i++)
        t->accuracy_ppm[i] = UINT32_MAX;
    return PU_OK;
}

static pw_task *task_new(sim_ctx *ctx)
{
    sim_pouw *pw = ctx->pouw;
    if (pw->n_tasks == pw->cap_tasks) {
        uint32_t cap = pw->cap_tasks ? 2 * pw->cap_tasks : 16;
        pw_task *n = realloc(pw->tasks, cap * sizeof *n);
        uint32_t *q = n ? realloc(pw->queue, cap * sizeof *q) : NULL;
        if (n)
            pw->tasks = n;
        if (!n || !q) {
            sim_fail(ctx, PU_ERR_NOMEM, "task stream");
            return NULL;
        }
        pw->queue = q;
        pw->cap_tasks = cap;
    }
    pw_task *t = &pw->tasks[pw->n_tasks];
    memset(t, 0, sizeof *t);
    stream_task(ctx, pw->n_tasks, &t->def);
    pu_err rc = task_setup(ctx, t);
    if (rc != PU_OK) {
        pu_ml_ws_free(t->ws);
        sim_fail(ctx, rc, "task");
        return NULL;
    }
    pw->n_tasks++;
    return t;
}

uint64_t pw_patience(const sim_ctx *ctx, const pw_task *t)
{
    return 20 * t->iter_ns + 10 * ctx->p->chain.block_interval_ns;
}

pw_task *pw_task_of(sim_pouw *pw, const pw_worker *w)
{
    return w->task == PW_NONE ? NULL : &pw->tasks[w->task];
}

static uint32_t idle_count(const sim_pouw *pw, uint8_t role)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < pw->n_workers; i++)
        n += pw->workers[i].role == role && pw->workers[i].task == PW_NONE;
    return n;
}

static uint32_t pool_count(const sim_pouw *pw, uint8_t role)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < pw->n_workers; i++)
        n += pw->workers[i].role == role;
    return n;
}

/* Admission: a free slot under pouw.workload.max_concurrent, and idle
 * workers for the task's miner seats (pu_econ_miner_seats: pouw.miner_seats
 * or the task's required miners; all of the pool's miners when it has
 * fewer) and an evaluator seat; every idle worker then buys a ticket. */
static bool can_admit(const sim_ctx *ctx, const pw_task *t)
{
    const sim_pouw *pw = ctx->pouw;
    uint32_t need = pu_econ_miner_seats(pw->econ, &t->def), pool = pool_count(pw, PU_ROLE_MINER);
    return pw->in_flight < ctx->p->pouw.workload.max_concurrent
           && idle_count(pw, PU_ROLE_MINER) >= (need < pool ? need : pool)
           && idle_count(pw, PU_ROLE_EVALUATOR) >= 1;
}

static void try_admit(sim_ctx *ctx)
{
    sim_pouw *pw = ctx->pouw;
    while (pw->q_len) {
        uint32_t ti = pw->queue[pw->q_head];
        pw_task *t = &pw->tasks[ti];
        if (!can_admit(ctx, t))
            return;
        t->client = pw->next_client;
        if (!pw_client_submit(ctx, t))
            return; /* the client has no confirmed coin yet: at the next tip */
        pw->next_client = (pw->next_client + 1) % pw->n_clients;
        pw->q_head++;
        pw->q_len--;
        for (uint32_t i = pw->n_clients; i < pw->n_workers; i++)
            if (pw->workers[i].task == PW_NONE) {
                pw->workers[i].task = ti;
                pw->workers[i].ticket_sent = false;
                pw->workers[i].result_sent = false;
            }
        t->state = PW_SUBMITTED;
        pw->in_flight++;
    }
}

void pw_release(sim_ctx *ctx, pw_worker *w)
{
    w->task = PW_NONE;
    try_admit(ctx);
}

/* Each task enters the queue once, so queue[q_head .. q_head + q_len) never
 * runs past the tasks that exist (the array grows with them). */
static void arrive(sim_ctx *ctx)
{
    sim_pouw *pw = ctx->pouw;
    const sim_params *p = ctx->p;
    bool stream = p->pouw.workload.rate > 0;
    if (stream && (!p->pouw.workload.tasks || pw->n_tasks + 1 < p->pouw.workload.tasks)) {
        double mean_ns = 3600e9 / p->pouw.workload.rate;
        PU_IGNORE(sim_schedule(ctx, ctx->now + sim_rng_exp_ns(&pw->arrivals, mean_ns) + 1, SIM_EV_POUW,
                               0, PW_EV_ARRIVE, NULL, NULL));
    }
    uint32_t ti = pw->n_tasks;
    pw_task *t = task_new(ctx);
    if (!t)
        return;
    t->t_arrive = ctx->now;
    if (pw->q_len >= p->pouw.workload.queue_limit && stream) {
        t->state = PW_DROPPED;
        return;
    }
    pw->queue[pw->q_head + pw->q_len] = ti;
    pw->q_len++;
    try_admit(ctx);
}

/* ---- setup ------------------------------------------------------------------ */

static pu_err assign_workers(sim_ctx *ctx, sim_pouw *pw)
{
    const sim_params *p = ctx->p;
    uint32_t counts[5] = {(uint32_t)p->pouw.clients, (uint32_t)p->pouw.miners,
                          (uint32_t)p->pouw.supervisors, (uint32_t)p->pouw.evaluators,
                          (uint32_t)p->pouw.verifiers};
    static const uint8_t role_of_kind[5] = {0, PU_ROLE_MINER, PU_ROLE_SUPERVISOR, PU_ROLE_EVALUATOR,
                                            PU_ROLE_VERIFIER};
    pw->n_clients = counts[0];
    pw->n_workers = counts[0] + counts[1] + counts[2] + counts[3] + counts[4];
    if (pw->n_workers > ctx->n)
        return PU_ERR_RANGE;
    pw->workers = calloc(pw->n_workers, sizeof *pw->workers);
    pw->worker_of = malloc(ctx->n * sizeof *pw->worker_of);
    uint32_t *order = malloc(ctx->n * sizeof *order);
    if (!pw->workers || !pw->worker_of || !order) {
        free(order);
        return PU_ERR_NOMEM;
    }
    for (uint32_t i = 0; i < ctx->n; i++) {
        order[i] = i;
        pw->worker_of[i] = PW_NONE;
    }
    sim_rng r = sim_rng_stream(&ctx->root, SIM_RNG_ML, SIM_RNG_OWNER_GLOBAL);
    sim_rng_shuffle(&r, order, ctx->n);
    pu_err rc = PU_OK;
    uint32_t k = 0;
    for (int kind = 0; kind < 5 && rc == PU_OK; kind++)
        for (uint32_t j = 0; j < counts[kind] && rc == PU_OK; j++, k++) {
            pw_worker *w = &pw->workers[k];
            w->node = order[k];
            w->role = role_of_kind[kind];
            w->task = PW_NONE;
            pw->worker_of[w->node] = k;
            pu_hash32 seed;
            sim_rng_key(&ctx->root, SIM_RNG_ML, 1000000u + k, &seed);
            rc = pu_key_from_seed(ctx->crypto, seed.b, &w->key);
        }
    free(order);
    return rc;
}

static void data_error(const sim_params *p, pu_err rc, char *err, size_t errlen)
{
    if (p->pouw.task.dataset != SIM_POUW_MNIST)
        snprintf(err, errlen, "pouw.task: cannot load the data set (%s; pouw.fmnist_dir = %s)",
                 pu_strerror(rc), p->pouw.fmnist_dir);
    else if (rc == PU_ERR_IO)
        snprintf(err, errlen, "pouw.task: cannot read MNIST in pouw.mnist_dir = %s: run `make deps` "
                 "in the repository (it fetches and converts the digits) and run from there",
                 p->pouw.mnist_dir);
    else
        snprintf(err, errlen, "pouw.task: the MNIST files in pouw.mnist_dir = %s are not the pinned "
                 "digits of mnist 1.1.0 (%s): delete that directory and run `make deps`",
                 p->pouw.mnist_dir, pu_strerror(rc));
}

/* The scenario's task must be valid and its data loadable before the run
 * starts (errors name the keys); the data stay in econ's shared cache. */
static pu_err check_base_task(sim_ctx *ctx, sim_pouw *pw, char *err, size_t errlen)
{
    const sim_params *p = ctx->p;
    pu_task t;
    base_task(p, &t);
    pu_err rc = pu_task_check(&t);
    if (rc != PU_OK) {
        snprintf(err, errlen, "pouw.task: not a valid task (%s): check sizes, batch and miners",
                 pu_strerror(rc));
        return rc;
    }
    uint32_t seats = pu_econ_miner_seats(pw->econ, &t), ipe;
    if (pu_dataset_iters_per_epoch(t.train_size, seats, t.batch_size, &ipe) != PU_OK) {
        snprintf(err, errlen,
                 "pouw.miner_seats: %u miners leave no full batch of pouw.task.batch_size per "
                 "epoch of the training set",
                 seats);
        return PU_ERR_INVALID;
    }
    if ((rc = pu_econ_preload(pw->econ, &t)) != PU_OK)
        data_error(p, rc, err, errlen);
    return rc;
}

void pw_econ_config(const sim_ctx *ctx, sim_pouw *pw, pu_econ_config *out)
{
    /* one supervisor and one evaluator seat per task (econ's default); the
     * other candidates' stakes are refunded at settlement */
    *out = (pu_econ_config){ctx->crypto, pw->opret, pw->verifier, &pw->data_dirs,
                            (uint32_t)ctx->p->pouw.task_timeout, 1, 1, false, false,
                            (uint32_t)ctx->p->pouw.miner_seats};
}

pu_err sim_pouw_new(sim_ctx *ctx, sim_pouw **out, char *err, size_t errlen)
{
    *out = NULL;
    sim_pouw *pw = calloc(1, sizeof *pw);
    if (!pw)
        return PU_ERR_NOMEM;
    const sim_params *p = ctx->p;
    pw->data_dirs.fashion_mnist = p->pouw.fmnist_dir;
    pw->data_dirs.mnist = p->pouw.mnist_dir;
    pu_err rc = assign_workers(ctx, pw);
    if (rc == PU_ERR_RANGE)
        snprintf(err, errlen, "pouw: the roles need %u distinct nodes, network.nodes is %u",
                 pw->n_workers, ctx->n);
    if (rc == PU_OK) rc = pu_opret_codec_new(&pw->opret);
    if (rc == PU_OK) rc = pw_data_new(ctx, &pw->data);
    if (rc == PU_OK) rc = pu_pouw_store_new(&pw->store);
    if (rc == PU_OK) rc = pu_pouw_verifier_new(ctx->crypto, pw->store, 4096, &pw->verifier);
    if (rc == PU_OK) {
        pu_econ_config ec;
        pw_econ_config(ctx, pw, &ec);
        rc = pu_econ_new(&ec, &pw->econ);
    }
    if (rc == PU_OK)
        rc = check_base_task(ctx, pw, err, errlen);
    if (rc != PU_OK) {
        if (!err[0])
            snprintf(err, errlen, "pouw: %s", pu_strerror(rc));
        sim_pouw_free(pw);
        return rc;
    }
    pw->k = (uint32_t)p->pouw.commit_lag;
    pw->k1 = pw->k + 1;
    pw->arrivals = sim_rng_stream(&ctx->root, SIM_RNG_WORKLOAD, SIM_RNG_OWNER_GLOBAL);
    *out = pw;
    return PU_OK;
}

void sim_pouw_free(sim_pouw *pw)
{
    if (!pw)
        return;
    for (uint32_t i = 0; i < pw->n_tasks; i++) {
        pw_miners_free(pw, &pw->tasks[i]);
        pw_audits_free(&pw->tasks[i]);
        pu_ml_ws_free(pw->tasks[i].ws);
    }
    free(pw->tasks);
    free(pw->queue);
    for (size_t i = 0; i < pw->n_extras; i++)
        pu_tx_unref(pw->extras[i]);
    pw_data_free(pw->data);
    pu_econ_free(pw->econ);
    pu_econ_free(pw->lazy_econ);
    pu_pouw_verifier_free(pw->verifier);
    pu_pouw_store_free(pw->store);
    pu_opret_codec_free(pw->opret);
    free(pw->workers);
    free(pw->worker_of);
    free(pw->cheats);
    free(pw);
}

pu_err sim_pouw_genesis(sim_ctx *ctx, pu_block *genesis)
{
    sim_pouw *pw = ctx->pouw;
    pu_tx *cb;
    pu_amount part = ctx->p->pouw.funds / PW_COINS;
    pu_err rc = pu_tx_new(PU_TX_COINBASE, 0, pw->n_workers * PW_COINS, 4, &cb);
    if (rc != PU_OK)
        return rc;
    pu_put_be32(pu_tx_body_mut(cb), 0x504f5557u); /* "POUW": distinct from the wallet parts */
    for (uint32_t i = 0; i < pw->n_workers * PW_COINS; i++) {
        pu_tx_out_mut(cb, i)->amount = part;
        pu_tx_out_mut(cb, i)->addr = pw->workers[i / PW_COINS].key.addr;
    }
    rc = pu_tx_finalize(ctx->crypto, cb);
    if (rc == PU_OK)
        rc = pu_block_add_tx(genesis, cb);
    for (uint32_t i = 0; rc == PU_OK && i < pw->n_workers * PW_COINS; i++) {
        pw_coin *c = &pw->workers[i / PW_COINS].coins[i % PW_COINS];
        c->op = (pu_outpoint){*pu_tx_id(cb), i};
        c->amount = part;
    }
    pu_tx_unref(cb);
    return rc;
}

void sim_pouw_describe_rules(const sim_pouw *pw, char *buf, size_t n)
{
    pu_econ_describe(pw->econ, buf, n);
}

const pu_rules *sim_pouw_rules(sim_pouw *pw) { return pu_econ_rules(pw->econ); }

static void on_event(void *self, sim_ctx *ctx, const sim_obs *ev);
static uint64_t verify_cost(void *self, const pu_block *b);
static size_t block_extras(void *self, sim_ctx *ctx, sim_node *nd, pu_tx **out, size_t max);
static void task_message(void *self, sim_ctx *ctx, sim_node *nd, const sim_msg *m);

static bool hold(void *self, sim_ctx *ctx, sim_node *nd, sim_msg *m)
{
    (void)self;
    return pw_data_hold_message(ctx, nd, m);
}

/* The proof-of-work fallback (pouw.pow_fallback): while a task trains on
 * nd's tip, its PoW miner waits that long after each tip change, so PoW
 * blocks fill only the gaps PoUW leaves. */
static uint64_t mining_delay(void *self, sim_ctx *ctx, const sim_node *nd)
{
    sim_pouw *pw = self;
    pu_hash32 id;
    uint64_t d = ctx->p->pouw.pow_fallback_ns;
    return d && pu_econ_tasks(pw->econ, nd->chain, PU_PHASE_TRAINING, &id, 1) ? d : 0;
}

pu_err sim_pouw_start(sim_ctx *ctx)
{
    sim_pouw *pw = ctx->pouw;
    ctx->ask = (sim_hooks){verify_cost, block_extras, task_message, hold, mining_delay, pw};
    sim_observer l = {on_event,
                      SIM_OBS_BIT(SIM_OBS_TIP_CHANGED) | SIM_OBS_BIT(SIM_OBS_BLOCK_CONNECTED)
                          | SIM_OBS_BIT(SIM_OBS_BLOCK_REFUSED) | SIM_OBS_BIT(SIM_OBS_TX_REFUSED),
                      pw};
    pu_err rc = sim_observers_add(ctx->obs, &l);
    if (rc == PU_OK)
        rc = sim_schedule(ctx, ctx->p->pouw.submit_at_ns, SIM_EV_POUW, pw->workers[0].node,
                          PW_EV_ARRIVE, NULL, NULL);
    /* statuses spread over the interval, each node on its own phase */
    uint64_t every = ctx->p->pouw.status_interval_ns;
    for (uint32_t i = 0; every && rc == PU_OK && i < pw->n_workers; i++)
        rc = sim_schedule(ctx, every + every * i / pw->n_workers, SIM_EV_POUW, pw->workers[i].node,
                          PW_EV_STATUS, NULL, NULL);
    return rc;
}

struct pu_econ *sim_pouw_econ(const sim_pouw *pw) { return pw->econ; }

/* ---- the engine's entry points ------------------------------------------------- */

static bool seated_anywhere(const pw_worker *w, const pu_task_state *st)
{
    for (uint32_t r = 0; r < PU_TASK_N_ROLES; r++)
        for (uint32_t k = 0; k < st->n_seats[r]; k++)
            if (!memcmp(st->seat[r][k].pub, w->key.pub, 33))
                return true;
    return false;
}

/* What a worker does while its task trains, at every tip: a miner starts
 * or posts its final model's vote, a supervisor its audit vote, an
 * evaluator its result once the final models are on chain (each retried
 * until the transaction is out). */
static void duties(sim_ctx *ctx, sim_node *nd, pw_worker *w, pw_task *t, const pu_task_state *st)
{
    switch (w->role) {
    case PU_ROLE_MINER:
        pw_start_training(ctx, nd, t, st);
        for (uint32_t i = 0; t->miners && i < t->n_miners; i++)
            if (t->miners[i].worker == (uint32_t)(w - ctx->pouw->workers))
                pw_anchor(ctx, t, &t->miners[i]);
        break;
    case PU_ROLE_SUPERVISOR: pw_audit_vote(ctx, w, t, false); break;
    case PU_ROLE_EVALUATOR: pw_evaluate(ctx, w, t); break;
    default: break;
    }
}

/* A worker's task as its tip shows it: tickets while registration is
 * open, training once it closed, free again when unselected or settled. */
static void worker_tip(sim_ctx *ctx, sim_node *nd, pw_worker *w)
{
    sim_pouw *pw = ctx->pouw;
    pw_task *t = pw_task_of(pw, w);
    pu_task_state st;
    if (!t || pu_econ_task_state(pw->econ, nd->chain, &t->id, &st) != PU_OK)
        return;
    if (st.phase == PU_PHASE_REGISTRATION && !w->ticket_sent)
        pw_buy_ticket(ctx, w, t);
    else if (st.phase == PU_PHASE_TRAINING)
        duties(ctx, nd, w, t, &st);
    /* Unseated on this branch: free once the closing block is buried
     * (a fork of it may seat the worker on the branch that wins). */
    if (st.phase == PU_PHASE_SETTLED
        || (st.phase > PU_PHASE_REGISTRATION && !seated_anywhere(w, &st)
            && pu_chain_height(nd->chain) >= st.close_height + PW_SEAT_DEPTH))
        pw_release(ctx, w);
}

static void tip_changed(sim_ctx *ctx, sim_node *nd)
{
    sim_pouw *pw = ctx->pouw;
    uint32_t wi = pw->worker_of[nd->id];
    if (wi == PW_NONE)
        return;
    /* Any PoUW node seeing a task settled dates the settlement. */
    for (uint32_t i = 0; i < pw->n_tasks; i++) {
        pw_task *t = &pw->tasks[i];
        pu_task_state st;
        if (t->state != PW_SUBMITTED || pu_econ_task_state(pw->econ, nd->chain, &t->id, &st) != PU_OK
            || st.phase != PU_PHASE_SETTLED)
            continue;
        t->state = PW_DONE;
        t->t_settled = ctx->now;
        pw->in_flight--;
    }
    worker_tip(ctx, nd, &pw->workers[wi]);
    if (pw->in_flight < ctx->p->pouw.workload.max_concurrent)
        try_admit(ctx);
}

static void task_message(void *self, sim_ctx *ctx, sim_node *nd, const sim_msg *msg)
{
    sim_pouw *pw = self;
    if (msg->kind != SIM_MSG_TASK) {
        pw_data_message(ctx, nd, msg);
        return;
    }
    const pw_payload *pl = msg->items;
    uint32_t wi = pw->worker_of[nd->id];
    if (pl && pl->kind == PW_TM_ITER)
        pw_data_hold(ctx, nd->id, &pl->update_hash); /* the group holds the update */
    if (!pl || wi == PW_NONE || pl->task >= pw->n_tasks)
        return;
    pw_worker *w = &pw->workers[wi];
    if (pl->kind == PW_TM_ITER && w->role == PU_ROLE_MINER)
        pw_iteration_received(pw, wi, pl);
    else if (pl->kind == PW_TM_FINAL && w->role == PU_ROLE_EVALUATOR)
        pw_final_received(ctx, nd, pl);
    else if (w->role == PU_ROLE_SUPERVISOR)
        pw_audit_message(ctx, w, pl);
}

void sim_pouw_fire(sim_ctx *ctx, const sim_event *ev)
{
    sim_pouw *pw = ctx->pouw;
    uint32_t ti = (uint32_t)(ev->arg >> 16), mi = (uint32_t)(ev->arg >> 8) & 0xff;
    switch (ev->arg & 0xff) {
    case PW_EV_ARRIVE:
        arrive(ctx);
        break;
    case PW_EV_ITER: {
        pw_miner *m = ti < pw->n_tasks && pw->tasks[ti].miners && mi < PU_ECON_MAX_SEATS
                      ? &pw->tasks[ti].miners[mi] : NULL;
        /* the seat's events come from its worker's node (a seat that moved
         * to another worker leaves the old events without effect) */
        if (m && m->worker != PW_NONE && pw->workers[m->worker].node == ev->node)
            pw_miner_iterate(ctx, &pw->tasks[ti], m);
        break;
    }
    case PW_EV_EVAL: {
        uint32_t wi = pw->worker_of[ev->node];
        if (wi != PW_NONE && ti < pw->n_tasks && pw_eval_timer(ctx, ev->node, &pw->tasks[ti]))
            pw_evaluate(ctx, &pw->workers[wi], &pw->tasks[ti]);
        break;
    }
    case PW_EV_VOTE: {
        uint32_t wi = pw->worker_of[ev->node];
        if (wi != PW_NONE && ti < pw->n_tasks)
            pw_audit_vote(ctx, &pw->workers[wi], &pw->tasks[ti], true);
        break;
    }
    case PW_EV_STATUS: {
        uint32_t wi = pw->worker_of[ev->node];
        if (wi != PW_NONE && ctx->nodes[ev->node].online)
            pw_status(ctx, &pw->workers[wi]);
        PU_IGNORE(sim_schedule(ctx, ctx->now + ctx->p->pouw.status_interval_ns, SIM_EV_POUW, ev->node,
                               PW_EV_STATUS, NULL, NULL));
        break;
    }
    default:
        break;
    }
}

/* ---- verification, block extras, outcome ---------------------------------------- */

static const pw_task *task_by_id(const sim_pouw *pw, const pu_hash32 *id)
{
    for (uint32_t i = 0; i < pw->n_tasks; i++)
        if (pu_hash_eq(&pw->tasks[i].id, id))
            return &pw->tasks[i];
    return NULL;
}

static uint64_t verify_cost(void *self, const pu_block *b)
{
    const sim_pouw *pw = self;
    if (!pu_header_is_pouw(pu_block_header(b)))
        return 0;
    const pw_task *t = task_by_id(pw, &pu_block_header(b)->ml_task_id);
    return t ? t->verify_ns : 0;
}

/* A node connected (reason 0) or refused (nonzero) a PoUW block: counted and
 * reported with verify_ml_work's detailed reason for a refusal. */
static void verified(sim_ctx *ctx, uint32_t node, const pu_block *b, int reason)
{
    sim_pouw *pw = ctx->pouw;
    if (!pu_header_is_pouw(pu_block_header(b)))
        return;
    pw_task *t = (pw_task *)task_by_id(pw, &pu_block_header(b)->ml_task_id);
    if (t) {
        t->verifications++;
        t->verify_failures += reason != 0;
    }
    pu_pouw_reason why;
    pu_pouw_cost cost;
    if (reason != 0 && pu_econ_ml_verdict(pw->econ, pu_block_hash(b), &why, &cost))
        reason = (int)why; /* the detailed verify_ml_work outcome (the valcache shares it) */
    sim_obs ev = {.kind = SIM_OBS_VERIFIED, .node = node, .block = b, .reason = reason};
    ev.u.verified.cost_ns = verify_cost(pw, b);
    pw_data_done(ctx, node, b, &ev.u.verified.bytes, &ev.u.verified.heard_ns);
    sim_observe(ctx, &ev);
}

/* A verifier seat of the block's task at this node attests it. */
static void attest(sim_ctx *ctx, uint32_t node, const pu_block *b, int reason)
{
    sim_pouw *pw = ctx->pouw;
    uint32_t wi = pw->worker_of[node];
    if (wi == PW_NONE || pw->workers[wi].role != PU_ROLE_VERIFIER || !pu_header_is_pouw(pu_block_header(b)))
        return;
    pw_task *t = pw_task_of(pw, &pw->workers[wi]);
    if (t && pu_hash_eq(&t->id, &pu_block_header(b)->ml_task_id))
        pw_attest(ctx, &pw->workers[wi], t, b, reason);
}

/* A transaction the PoUW ledger rules refused, by their reason and its
 * record's op code. */
_Static_assert(PU_ECON_REASON_COUNT <= SIM_OBS_ECON_REASONS, "sim_obs_records.refused too small");
static void tx_refused(sim_pouw *pw, const pu_tx *tx)
{
    pu_econ_reason why;
    if (!pu_econ_tx_verdict(pw->econ, pu_tx_id(tx), &why) || (unsigned)why >= SIM_OBS_ECON_REASONS)
        return;
    const uint8_t *op = pu_tx_opret(tx);
    pu_opret_msg m;
    pu_opret_status st;
    uint8_t code = op && pu_opret_decode(pw->opret, op, PU_OPRET_SIZE, &m, &st) == PU_OK && m.op <= 8 ? m.op : 0;
    pw->rec_refused[why][code]++;
}

static void on_event(void *self, sim_ctx *ctx, const sim_obs *ev)
{
    sim_pouw *pw = self;
    pu_pouw_reason why;
    switch (ev->kind) {
    case SIM_OBS_TIP_CHANGED: tip_changed(ctx, &ctx->nodes[ev->node]); break;
    case SIM_OBS_BLOCK_CONNECTED: /* the work verified */
        verified(ctx, ev->node, ev->block, 0);
        attest(ctx, ev->node, ev->block, 0);
        break;
    case SIM_OBS_BLOCK_REFUSED:
        if (ev->reason != PU_R_ML_WORK)
            break;
        verified(ctx, ev->node, ev->block, 255); /* refused: the work did not verify */
        if (pu_econ_ml_verdict(pw->econ, pu_block_hash(ev->block), &why, NULL))
            attest(ctx, ev->node, ev->block, (int)why);
        break;
    case SIM_OBS_TX_REFUSED: tx_refused(pw, ev->tx); break;
    default: break;
    }
}

static size_t block_extras(void *self, sim_ctx *ctx, sim_node *nd, pu_tx **out, size_t max)
{
    sim_pouw *pw = self;
    (void)ctx;
    if (!max)
        return 0;
    pu_hash32 ids[4];
    size_t n = pu_econ_tasks(pw->econ, nd->chain, PU_PHASE_FINALISATION, ids, max < 4 ? max : 4);
    /* keep the references until the next call: the caller borrows them */
    for (size_t i = 0; i < pw->n_extras; i++)
        pu_tx_unref(pw->extras[i]);
    pw->n_extras = 0;
    for (size_t i = 0; i < n; i++) {
        pu_tx *tx = NULL;
        if (pu_econ_settlement(pw->econ, nd->chain, &ids[i], &tx) != PU_OK)
            continue;
        out[pw->n_extras] = tx;
        pw->extras[pw->n_extras++] = tx;
    }
    return pw->n_extras;
}

typedef struct lock_sum {
    const pu_addr *addr;
    pu_amount sum;
} lock_sum;

static pu_err add_lock(void *c, const pu_outpoint *op, const pu_coin *coin)
{
    lock_sum *ls = c;
    (void)op;
    if ((coin->flags & PU_COIN_LOCKED) && !memcmp(coin->addr.b, ls->addr->b, 20))
        ls->sum += coin->amount;
    return PU_OK;
}

static uint32_t task_best(const pw_task *t)
{
    uint32_t best = 0;
    for (uint32_t i = 0; t->result_sent && i < t->n_miners && i < PU_ECON_MAX_SEATS; i++)
        if (t->accuracy_ppm[i] != UINT32_MAX && t->accuracy_ppm[i] > best)
            best = t->accuracy_ppm[i];
    return best;
}

/* Whether w holds a seat of any task on chain ch. */
static bool ever_selected(const sim_pouw *pw, const pu_chain *ch, const pw_worker *w)
{
    for (uint32_t i = 0; i < pw->n_tasks; i++) {
        pu_task_state st;
        if (pu_econ_task_state(pw->econ, ch, &pw->tasks[i].id, &st) == PU_OK && seated_anywhere(w, &st))
            return true;
    }
    return false;
}

/* The outcome byte of t's settlement on ch (0: not settled there). */
static uint32_t settlement_outcome(const pu_chain *ch, const pu_task_state *st)
{
    for (uint32_t h = st->close_height; h <= pu_chain_height(ch); h++) {
        const pu_block *b = pu_chain_block_at(ch, h);
        for (uint32_t i = 1; i < pu_block_n_tx(b); i++) {
            uint32_t len;
            const uint8_t *body = pu_tx_body(pu_block_tx(b, i), &len);
            if (pu_tx_kind_of(pu_block_tx(b, i)) == PU_TX_SETTLEMENT && len > 33
                && !memcmp(body, st->id.b, 32))
                return body[33];
        }
    }
    return 0;
}

static void report_task(sim_ctx *ctx, const pu_chain *best, const pw_task *t)
{
    sim_pouw *pw = ctx->pouw;
    sim_obs_task r;
    memset(&r, 0, sizeof r);
    r.task_id = t->id;
    r.arrival_ns = t->t_arrive;
    r.end_ns = t->t_last_iter;
    r.fee = t->def.fee;
    r.outcome = t->state == PW_DROPPED ? 5 : 0;
    r.submitted_ns = t->t_submit;
    r.training_ns = t->t_training;
    r.result_ns = t->t_result;
    r.settled_ns = t->t_settled;
    r.miners = t->n_miners;
    r.max_iterations = t->def.max_iterations;
    for (uint32_t j = 0; t->miners && j < t->n_miners; j++)
        r.iterations += t->miners[j].seq;
    r.blocks = t->blocks_found;
    r.verifications = t->verifications;
    r.verify_failures = t->verify_failures;
    r.best_accuracy = t->result_sent ? task_best(t) / 1e6 : 0;
    pu_task_state st;
    if (t->state != PW_DROPPED && t->state != PW_QUEUED
        && pu_econ_task_state(pw->econ, best, &t->id, &st) == PU_OK) {
        r.phase = (int)st.phase;
        r.supervisors = st.n_seats[PU_TASK_ROLE_SUPERVISOR];
        r.evaluators = st.n_seats[PU_TASK_ROLE_EVALUATOR];
        r.verifiers = st.n_seats[PU_TASK_ROLE_VERIFIER];
        if (st.phase == PU_PHASE_SETTLED)
            r.outcome = settlement_outcome(best, &st);
    }
    sim_obs ev = {.kind = SIM_OBS_TASK_END, .node = pw->workers[t->client].node};
    ev.u.task = &r;
    sim_observe(ctx, &ev);
}

/* Records written (pw_submit counted them) and confirmed on ch. */
static void report_records(sim_ctx *ctx, const pu_chain *ch)
{
    sim_pouw *pw = ctx->pouw;
    sim_obs_records r;
    memset(&r, 0, sizeof r);
    memcpy(r.written, pw->rec_written, sizeof r.written);
    memcpy(r.refused, pw->rec_refused, sizeof r.refused);
    memcpy(r.written_bytes, pw->rec_bytes, sizeof r.written_bytes);
    for (uint32_t h = 1; h <= pu_chain_height(ch); h++) {
        const pu_block *b = pu_chain_block_at(ch, h);
        for (uint32_t i = 1; i < pu_block_n_tx(b); i++) {
            const pu_tx *tx = pu_block_tx(b, i);
            const uint8_t *op = pu_tx_opret(tx);
            pu_opret_msg m;
            pu_opret_status st;
            if (op && pu_opret_decode(pw->opret, op, PU_OPRET_SIZE, &m, &st) == PU_OK && m.op <= 8) {
                r.confirmed[m.op]++;
                r.confirmed_bytes[m.op] += pu_tx_size(tx);
            }
        }
    }
    sim_obs ev = {.kind = SIM_OBS_RECORDS, .node = 0};
    ev.u.records = &r;
    sim_observe(ctx, &ev);
}

void sim_pouw_report(sim_ctx *ctx)
{
    sim_pouw *pw = ctx->pouw;
    const pu_chain *best = sim_best_chain(ctx);
    for (uint32_t i = 0; i < pw->n_tasks && ctx->fatal == PU_OK; i++)
        report_task(ctx, best, &pw->tasks[i]);
    if (ctx->fatal == PU_OK)
        report_records(ctx, best);
    static const char names[5][12] = {"client", "miner", "supervisor", "evaluator", "verifier"};
    pu_amount funds = ctx->p->pouw.funds / PW_COINS * PW_COINS;
    for (uint32_t i = 0; i < pw->n_workers && ctx->fatal == PU_OK; i++) {
        const pw_worker *w = &pw->workers[i];
        sim_obs_role r;
        memset(&r, 0, sizeof r);
        r.role = names[w->role <= 4 ? w->role : 0];
        r.selected = ever_selected(pw, best, w);
        r.balance_start = funds;
        r.balance_end = pu_chain_balance(best, &w->key.addr);
        lock_sum ls = {&w->key.addr, 0}; /* escrow or stakes still locked */
        pu_err rc = pu_utxo_foreach_sorted(pu_chain_utxo(best), add_lock, &ls);
        if (rc != PU_OK) {
            sim_fail(ctx, rc, "pouw accounts");
            return;
        }
        r.locked_end = ls.sum;
        sim_obs e = {.kind = SIM_OBS_ROLE_END, .node = w->node};
        e.u.role = &r;
        sim_observe(ctx, &e);
    }
}
