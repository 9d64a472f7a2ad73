/* sim/pouw.c -- PoUW roles and the task life cycle over the simulated
 * network (see sim/pouw.h). */
#include "sim/pouw.h"

#include <stdlib.h>
#include <string.h>

#include "core/econ.h"

enum { EV_SUBMIT = 1, EV_ITER, EV_EVAL };   /* SIM_EV_POUW arg */
enum { TM_ITER = 1, TM_FINAL };             /* task message kinds */
enum { R_CLIENT = 0 };                      /* roles[0] is the client */

#define START_FUNDS (1000 * PU_COIN)

typedef struct task_payload {
    uint8_t kind;
    uint32_t miner_index;
    pu_hash32 msg_id, update_hash, model_hash;
} task_payload;

typedef struct role_node {
    uint32_t node;
    uint8_t role;            /* pu_role; 0 for the client */
    pu_keypair key;
    pu_outpoint coin;        /* the coin its next transaction spends */
    pu_amount coin_amount;
    bool ticket_sent;
    bool result_sent;        /* evaluator: its TASK_RESULT is out */
} role_node;

typedef struct commit_slot {
    pu_block *draft;         /* template the commitment covers */
    pu_hash32 zn, tip;
} commit_slot;

typedef struct miner_state {
    uint32_t role;           /* index into roles */
    uint32_t index;          /* miner index in the task's selection */
    bool started, finished;
    uint32_t seq;
    pu_ml_model *model, *model_next;
    pu_ml_resid *resid, *resid_next;
    pu_ml_update *update;
    pu_hash32 *hist;
    uint32_t n_hist, cap_hist;
    pu_iter_msg *ring;       /* the last k + 1 messages */
    commit_slot *slots;      /* the last k + 1 commitments */
    pu_iter_peer pending[PU_POUW_MAX_PEERS];
    uint32_t n_pending;
    uint64_t blocks;
} miner_state;

struct sim_pouw {
    pu_task task;
    pu_hash32 task_id;
    pu_opret_codec *opret;
    pu_pouw_store *store;
    pu_pouw_verifier *verifier;
    pu_econ *econ;
    pu_task_data_dirs data_dirs; /* borrowed strings of the params; econ borrows this */
    pu_dataset *train, *test;
    pu_ml_ws *ws;
    uint32_t nparams;
    uint32_t k, k1;             /* commit lag, ring size k + 1 */
    uint64_t step_flops, iter_ns;
    uint64_t verify_ns;         /* simulated CPU to re-execute one iteration */
    role_node *roles;
    uint32_t n_roles;
    uint32_t *role_of;          /* node -> role index, UINT32_MAX: none */
    miner_state *miners;        /* by miner index, once training starts */
    uint32_t n_miners;
    /* evaluation */
    pu_hash32 final_model[PU_ECON_MAX_SEATS];
    bool have_final[PU_ECON_MAX_SEATS];
    bool result_sent, eval_scheduled;
    uint32_t accuracy_ppm[PU_ECON_MAX_SEATS];
    /* outcome */
    uint64_t t_submit, t_training, t_result, t_settled;
    uint64_t blocks_found, verifications, verify_failures;
    pu_tx *extras[4];
    size_t n_extras;
};

/* ---- setup ------------------------------------------------------------------ */

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

static pu_err build_task(const sim_params *p, pu_task *t)
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
    t->convergence_ppm = 10000;
    t->fee = p->pouw.task.fee;
    t->stake[PU_TASK_ROLE_MINER] = p->pouw.task.stake;
    t->stake[PU_TASK_ROLE_SUPERVISOR] = p->pouw.task.stake;
    t->stake[PU_TASK_ROLE_EVALUATOR] = p->pouw.task.stake;
    t->stake[PU_TASK_ROLE_VERIFIER] = p->pouw.task.verifier_stake;
    t->registration_blocks = (uint32_t)p->pouw.task.registration_blocks;
    return pu_task_check(t);
}

static pu_err assign_roles(sim_ctx *ctx, sim_pouw *pw)
{
    const sim_params *p = ctx->p;
    uint32_t counts[5] = {1, (uint32_t)p->pouw.miners, (uint32_t)p->pouw.supervisors,
                          (uint32_t)p->pouw.evaluators, (uint32_t)p->pouw.verifiers};
    static const uint8_t role_of_kind[5] = {0, PU_ROLE_MINER, PU_ROLE_SUPERVISOR, PU_ROLE_EVALUATOR,
                                            PU_ROLE_VERIFIER};
    pw->n_roles = counts[0] + counts[1] + counts[2] + counts[3] + counts[4];
    if (pw->n_roles > ctx->n)
        return PU_ERR_RANGE;
    pw->roles = calloc(pw->n_roles, sizeof *pw->roles);
    pw->role_of = malloc(ctx->n * sizeof *pw->role_of);
    uint32_t *order = malloc(ctx->n * sizeof *order);
    if (!pw->roles || !pw->role_of || !order) {
        free(order);
        return PU_ERR_NOMEM;
    }
    for (uint32_t i = 0; i < ctx->n; i++) {
        order[i] = i;
        pw->role_of[i] = UINT32_MAX;
    }
    sim_rng r = sim_rng_stream(&ctx->root, SIM_RNG_ML, SIM_RNG_OWNER_GLOBAL);
    sim_rng_shuffle(&r, order, ctx->n);
    pu_err rc = PU_OK;
    uint32_t k = 0;
    for (int kind = 0; kind < 5 && rc == PU_OK; kind++)
        for (uint32_t j = 0; j < counts[kind] && rc == PU_OK; j++, k++) {
            role_node *rn = &pw->roles[k];
            rn->node = order[k];
            rn->role = role_of_kind[kind];
            pw->role_of[rn->node] = k;
            pu_hash32 seed;
            sim_rng_key(&ctx->root, SIM_RNG_ML, 1000000u + k, &seed);
            rc = pu_key_from_seed(ctx->crypto, seed.b, &rn->key);
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

pu_err sim_pouw_new(sim_ctx *ctx, sim_pouw **out, char *err, size_t errlen)
{
    *out = NULL;
    sim_pouw *pw = calloc(1, sizeof *pw);
    if (!pw)
        return PU_ERR_NOMEM;
    const sim_params *p = ctx->p;
    pu_err rc = build_task(p, &pw->task);
    if (rc != PU_OK)
        snprintf(err, errlen, "pouw.task: not a valid task (%s): check sizes, batch and miners",
                 pu_strerror(rc));
    if (rc == PU_OK && (rc = pu_task_id(&pw->task, ctx->crypto, &pw->task_id)) != PU_OK)
        snprintf(err, errlen, "pouw.task: %s", pu_strerror(rc));
    if (rc == PU_OK && (rc = assign_roles(ctx, pw)) != PU_OK)
        snprintf(err, errlen, "pouw: the roles need %u distinct nodes, network.nodes is %u",
                 pw->n_roles, ctx->n);
    pw->data_dirs.fashion_mnist = p->pouw.fmnist_dir;
    pw->data_dirs.mnist = p->pouw.mnist_dir;
    if (rc == PU_OK && (rc = pu_task_load_data(&pw->task, &pw->data_dirs, &pw->train, &pw->test)) != PU_OK)
        data_error(p, rc, err, errlen);
    pu_ml_arch arch;
    pu_task_arch(&pw->task, &arch);
    if (rc == PU_OK)
        rc = pu_ml_arch_check(&arch, &pw->nparams);
    if (rc == PU_OK)
        rc = pu_ml_ws_new(&arch, pw->task.batch_size, &pw->ws);
    if (rc == PU_OK) rc = pu_opret_codec_new(&pw->opret);
    if (rc == PU_OK) rc = pu_pouw_store_new(&pw->store);
    if (rc == PU_OK) rc = pu_pouw_verifier_new(ctx->crypto, pw->store, 4096, &pw->verifier);
    if (rc == PU_OK) {
        /* one supervisor and one evaluator seat per task (econ's default);
         * the other candidates' stakes are refunded at settlement */
        pu_econ_config ec = {ctx->crypto, pw->opret, pw->verifier, &pw->data_dirs,
                             (uint32_t)p->pouw.task_timeout, 1, 1};
        rc = pu_econ_new(&ec, &pw->econ);
    }
    if (rc != PU_OK) {
        if (!err[0])
            snprintf(err, errlen, "pouw: %s", pu_strerror(rc));
        sim_pouw_free(pw);
        return rc;
    }
    pw->k = (uint32_t)p->pouw.commit_lag;
    pw->k1 = pw->k + 1;
    /* forward + backward: ~6 flops per parameter per example */
    pw->step_flops = 6ull * pw->nparams * pw->task.batch_size;
    pw->iter_ns = p->pouw.iteration_time_ns
                      ? p->pouw.iteration_time_ns
                      : (uint64_t)((double)pw->step_flops / p->pouw.gflops + 0.5);
    if (!pw->iter_ns)
        pw->iter_ns = 1;
    pw->verify_ns = (uint64_t)((double)pw->step_flops / p->pouw.verify_gflops + 0.5);
    *out = pw;
    return PU_OK;
}

static void miner_release(const sim_pouw *pw, miner_state *m)
{
    pu_ml_model_free(m->model);
    pu_ml_model_free(m->model_next);
    pu_ml_resid_free(m->resid);
    pu_ml_resid_free(m->resid_next);
    pu_ml_update_free(m->update);
    free(m->hist);
    free(m->ring);
    if (m->slots)
        for (uint32_t i = 0; i < pw->k1; i++)
            pu_block_unref(m->slots[i].draft);
    free(m->slots);
}

void sim_pouw_free(sim_pouw *pw)
{
    if (!pw)
        return;
    for (uint32_t i = 0; pw->miners && i < pw->n_miners; i++)
        miner_release(pw, &pw->miners[i]);
    free(pw->miners);
    for (size_t i = 0; i < pw->n_extras; i++)
        pu_tx_unref(pw->extras[i]);
    pu_econ_free(pw->econ);
    pu_pouw_verifier_free(pw->verifier);
    pu_pouw_store_free(pw->store);
    pu_opret_codec_free(pw->opret);
    pu_ml_ws_free(pw->ws);
    pu_dataset_free(pw->train);
    pu_dataset_free(pw->test);
    free(pw->roles);
    free(pw->role_of);
    free(pw);
}

pu_err sim_pouw_genesis(sim_ctx *ctx, pu_block *genesis)
{
    sim_pouw *pw = ctx->pouw;
    pu_tx *cb;
    pu_err rc = pu_tx_new(PU_TX_COINBASE, 0, pw->n_roles, 4, &cb);
    if (rc != PU_OK)
        return rc;
    pu_put_be32(pu_tx_body_mut(cb), 0x504f5557u); /* "POUW": distinct from the wallet parts */
    for (uint32_t i = 0; i < pw->n_roles; i++) {
        pu_tx_out_mut(cb, i)->amount = START_FUNDS;
        pu_tx_out_mut(cb, i)->addr = pw->roles[i].key.addr;
    }
    rc = pu_tx_finalize(ctx->crypto, cb);
    if (rc == PU_OK)
        rc = pu_block_add_tx(genesis, cb);
    for (uint32_t i = 0; rc == PU_OK && i < pw->n_roles; i++) {
        pw->roles[i].coin = (pu_outpoint){*pu_tx_id(cb), i};
        pw->roles[i].coin_amount = START_FUNDS;
    }
    pu_tx_unref(cb);
    return rc;
}

const pu_rules *sim_pouw_rules(sim_pouw *pw) { return pu_econ_rules(pw->econ); }

static void on_event(void *self, sim_ctx *ctx, const sim_obs *ev);
static uint64_t verify_cost(void *self, const pu_block *b);
static size_t block_extras(void *self, sim_ctx *ctx, sim_node *nd, pu_tx **out, size_t max);
static void task_message(void *self, sim_ctx *ctx, sim_node *nd, const sim_msg *m);

pu_err sim_pouw_start(sim_ctx *ctx)
{
    sim_pouw *pw = ctx->pouw;
    ctx->ask = (sim_hooks){verify_cost, block_extras, task_message, pw};
    sim_observer l = {on_event,
                      SIM_OBS_BIT(SIM_OBS_TIP_CHANGED) | SIM_OBS_BIT(SIM_OBS_BLOCK_CONNECTED)
                          | SIM_OBS_BIT(SIM_OBS_BLOCK_REFUSED),
                      pw};
    pu_err rc = sim_observers_add(ctx->obs, &l);
    if (rc == PU_OK)
        rc = sim_schedule(ctx, ctx->p->pouw.submit_at_ns, SIM_EV_POUW, pw->roles[R_CLIENT].node,
                          EV_SUBMIT, NULL, NULL);
    return rc;
}

/* ---- role transactions -------------------------------------------------------- */

/* Submit tx at the role's node and move its coin to the change output. */
static void submit(sim_ctx *ctx, role_node *rn, pu_tx *tx)
{
    uint32_t last = pu_tx_n_out(tx) - 1;
    if (pu_tx_n_out(tx) && !memcmp(pu_tx_out(tx, last)->addr.b, rn->key.addr.b, 20)) {
        rn->coin = (pu_outpoint){*pu_tx_id(tx), last};
        rn->coin_amount = pu_tx_out(tx, last)->amount;
    }
    sim_node_submit_tx(ctx, &ctx->nodes[rn->node], tx);
}

static pu_econ_inputs inputs_of(const sim_ctx *ctx, const role_node *rn)
{
    pu_econ_inputs in = {&rn->coin, &rn->coin_amount, 1, &rn->key, ctx->p->transactions.fee,
                         sim_now_s(ctx)};
    return in;
}

static void client_submit(sim_ctx *ctx)
{
    sim_pouw *pw = ctx->pouw;
    role_node *rn = &pw->roles[R_CLIENT];
    pu_econ_inputs in = inputs_of(ctx, rn);
    pu_tx *tx = NULL;
    pu_err rc = pu_econ_pay_for_task(pw->econ, &pw->task, &in, &tx);
    if (rc != PU_OK) {
        sim_fail(ctx, rc, "pay_for_task");
        return;
    }
    pw->t_submit = ctx->now;
    submit(ctx, rn, tx);
    pu_tx_unref(tx);
}

static void buy_ticket(sim_ctx *ctx, role_node *rn)
{
    sim_pouw *pw = ctx->pouw;
    int tr = rn->role == PU_ROLE_MINER ? PU_TASK_ROLE_MINER : rn->role == PU_ROLE_SUPERVISOR
             ? PU_TASK_ROLE_SUPERVISOR : rn->role == PU_ROLE_EVALUATOR ? PU_TASK_ROLE_EVALUATOR
             : PU_TASK_ROLE_VERIFIER;
    pu_econ_inputs in = inputs_of(ctx, rn);
    pu_tx *tx = NULL;
    pu_err rc = pu_econ_buy_tickets(pw->econ, &pw->task_id, (pu_role)rn->role, pw->task.stake[tr],
                                    &in, &tx);
    if (rc != PU_OK) {
        sim_fail(ctx, rc, "buy_tickets");
        return;
    }
    rn->ticket_sent = true;
    submit(ctx, rn, tx);
    pu_tx_unref(tx);
}

/* ---- training ------------------------------------------------------------------ */

static pu_err miner_init(sim_ctx *ctx, miner_state *m, uint32_t role, uint32_t index)
{
    sim_pouw *pw = ctx->pouw;
    pu_ml_arch arch;
    pu_task_arch(&pw->task, &arch);
    bool mom = pw->task.momentum_e9 != 0;
    m->role = role;
    m->index = index;
    pu_err rc = pu_ml_model_new(&arch, mom, &m->model);
    if (rc == PU_OK) rc = pu_ml_model_new(&arch, mom, &m->model_next);
    if (rc == PU_OK) rc = pu_ml_resid_new(pw->nparams, &m->resid);
    if (rc == PU_OK) rc = pu_ml_resid_new(pw->nparams, &m->resid_next);
    if (rc == PU_OK) rc = pu_ml_update_new(&m->update);
    if (rc == PU_OK) {
        m->ring = calloc(pw->k1, sizeof *m->ring);
        m->slots = calloc(pw->k1, sizeof *m->slots);
        rc = m->ring && m->slots ? PU_OK : PU_ERR_NOMEM;
    }
    if (rc == PU_OK)
        pu_ml_model_init(m->model, pw->task.task_seed); /* every miner starts from the task's model */
    return rc;
}

static void send_task(sim_ctx *ctx, uint32_t from, uint32_t to, const task_payload *pl, uint64_t bytes)
{
    sim_msg *m = calloc(1, sizeof *m);
    task_payload *copy = malloc(sizeof *copy);
    if (!m || !copy) {
        free(m);
        free(copy);
        sim_fail(ctx, PU_ERR_NOMEM, "task message");
        return;
    }
    *copy = *pl;
    m->kind = SIM_MSG_TASK;
    m->from = from;
    m->to = to;
    m->sent_ns = ctx->now;
    m->items = copy;
    m->size = SIM_MSG_HEADER + bytes;
    sim_node_send(ctx, m);
}

/* The task group: the other selected miners and the supervisors. */
static void broadcast_iteration(sim_ctx *ctx, const miner_state *m, const task_payload *pl, uint64_t bytes)
{
    sim_pouw *pw = ctx->pouw;
    uint32_t from = pw->roles[m->role].node;
    for (uint32_t i = 0; i < pw->n_miners; i++)
        if (i != m->index && pw->miners[i].role != UINT32_MAX)
            send_task(ctx, from, pw->roles[pw->miners[i].role].node, pl, bytes);
    for (uint32_t i = 0; i < pw->n_roles; i++)
        if (pw->roles[i].role == PU_ROLE_SUPERVISOR)
            send_task(ctx, from, pw->roles[i].node, pl, bytes);
}

/* Commit now to the template this miner will mine with k iterations later. */
static void commit_template(sim_ctx *ctx, sim_node *nd, miner_state *m, pu_iter_msg *msg)
{
    sim_pouw *pw = ctx->pouw;
    commit_slot *sl = &m->slots[m->seq % pw->k1];
    pu_block_unref(sl->draft);
    sl->draft = NULL;
    pu_tx *extra[4];
    size_t ne = block_extras(pw, ctx, nd, extra, 4);
    pu_block *b = NULL;
    pu_addr addr = pw->roles[m->role].key.addr;
    /* the proof at seq + k: two iteration messages and seq + k + 1 history ids */
    size_t proof_room = 1 + 8 + 2 * (437 + 64 * PU_POUW_MAX_PEERS) + 4
                        + 32 * ((size_t)m->seq + pw->k + 1);
    pu_err rc = pu_chain_create_template(nd->chain, extra, ne, proof_room, &addr, sim_now_s(ctx), &b);
    if (rc != PU_OK) {
        sim_fail(ctx, rc, "pouw template");
        return;
    }
    pu_header_zero_nonce_hash(ctx->crypto, pu_block_header(b), &sl->zn);
    sl->tip = *pu_chain_tip_hash(nd->chain);
    sl->draft = b;
    msg->commit = sl->zn;
}

/* Try the iteration's nonces on the template committed k iterations ago. */
static void try_mine(sim_ctx *ctx, sim_node *nd, miner_state *m, const pu_iter_msg *msg,
                     const pu_hash32 *msg_id)
{
    sim_pouw *pw = ctx->pouw;
    if (m->seq < pw->k)
        return;
    commit_slot *sl = &m->slots[(m->seq - pw->k) % pw->k1];
    if (!sl->draft || !pu_hash_eq(&sl->tip, pu_chain_tip_hash(nd->chain)))
        return; /* a new tip invalidated the commitment */
    const pu_iter_msg *cmsg = &m->ring[(m->seq - pw->k) % pw->k1];
    pu_header h = *pu_block_header(sl->draft);
    h.ml_task_id = pw->task_id;
    if (pu_merkle_root(ctx->crypto, m->hist, m->n_hist, &h.msg_history) != PU_OK) {
        sim_fail(ctx, PU_ERR_NOMEM, "history root");
        return;
    }
    h.iter_msg = *msg_id;
    h.zero_nonce = sl->zn;
    uint64_t base = pu_pouw_nonce_base(ctx->crypto, &msg->model_end, &msg->update_hash);
    uint64_t a = pu_pouw_nonce_count(&ctx->cp, &pw->task, msg->batch_n);
    bool found = false;
    for (uint64_t j = 0; j < a && !found; j++) {
        pu_hash32 hh;
        h.nonce = base + j;
        pu_header_hash(ctx->crypto, &h, &hh);
        found = pu_hash_meets_bits(&hh, h.bits);
    }
    if (!found)
        return;
    /* Verifiers resolve the iteration's inputs from the task record. */
    pu_hash32 hm, hr;
    pu_err rc = pu_pouw_store_put_model(pw->store, ctx->crypto, pw->ws, m->model, &hm);
    if (rc == PU_OK)
        rc = pu_pouw_store_put_resid(pw->store, ctx->crypto, pw->ws, m->resid, &hr);
    pu_pouw_proof proof = {*msg, *cmsg, m->n_hist, m->hist};
    uint8_t *bytes = NULL;
    size_t len = 0;
    if (rc == PU_OK)
        rc = pu_pouw_proof_encode(&proof, &bytes, &len);
    pu_block *b = sl->draft;
    sl->draft = NULL;
    if (rc == PU_OK)
        rc = pu_block_set_proof(b, bytes, len);
    free(bytes);
    if (rc == PU_OK) {
        *pu_block_header_mut(b) = h;
        rc = pu_block_finalize(ctx->crypto, b);
    }
    if (rc != PU_OK) {
        pu_block_unref(b);
        sim_fail(ctx, rc, "pouw block");
        return;
    }
    m->blocks++;
    pw->blocks_found++;
    sim_node_block_found(ctx, nd, b);
    pu_block_unref(b);
}

static pu_err hist_push(miner_state *m, const pu_hash32 *id)
{
    if (m->n_hist == m->cap_hist) {
        uint32_t cap = m->cap_hist ? m->cap_hist * 2 : 64;
        pu_hash32 *h = realloc(m->hist, cap * sizeof *h);
        if (!h)
            return PU_ERR_NOMEM;
        m->hist = h;
        m->cap_hist = cap;
    }
    m->hist[m->n_hist++] = *id;
    return PU_OK;
}

static void record_iteration(sim_ctx *ctx, const miner_state *m, const pu_iter_msg *msg, bool block)
{
    sim_pouw *pw = ctx->pouw;
    sim_obs_iteration it = {m->index, msg->seq, msg->epoch, msg->iter, msg->n_peers,
                            (double)msg->loss_e9 / 1e9,
                            msg->batch_n ? (double)msg->correct / msg->batch_n : 0, block};
    sim_obs ev = {.kind = SIM_OBS_ITERATION, .node = pw->roles[m->role].node};
    ev.u.iteration = &it;
    sim_observe(ctx, &ev);
}

static void send_final_model(sim_ctx *ctx, miner_state *m)
{
    sim_pouw *pw = ctx->pouw;
    task_payload pl;
    memset(&pl, 0, sizeof pl);
    pl.kind = TM_FINAL;
    pl.miner_index = m->index;
    if (pu_pouw_store_put_model(pw->store, ctx->crypto, pw->ws, m->model, &pl.model_hash) != PU_OK) {
        sim_fail(ctx, PU_ERR_NOMEM, "final model");
        return;
    }
    uint64_t bytes = pu_ml_model_serialized_len(m->model);
    for (uint32_t i = 0; i < pw->n_roles; i++)
        if (pw->roles[i].role == PU_ROLE_EVALUATOR)
            send_task(ctx, pw->roles[m->role].node, pw->roles[i].node, &pl, bytes);
}

/* One training iteration of a selected miner (SPEC s5 item 3). */
static void miner_iterate(sim_ctx *ctx, miner_state *m)
{
    sim_pouw *pw = ctx->pouw;
    sim_node *nd = &ctx->nodes[pw->roles[m->role].node];
    pu_pouw_task_view view;
    if (m->finished || !nd->online
        || pu_econ_task_view(pw->econ, nd->chain, &pw->task_id, &view) != PU_OK || !view.active) {
        /* offline, or the task left training on this branch: try again later */
        if (!m->finished)
            PU_IGNORE(sim_schedule(ctx, ctx->now + pw->iter_ns, SIM_EV_POUW, nd->id,
                                   EV_ITER | (uint64_t)m->index << 8, NULL, NULL));
        return;
    }
    const pu_ml_update *peers[PU_POUW_MAX_PEERS];
    pu_iter_peer ids[PU_POUW_MAX_PEERS];
    size_t np = 0;
    for (uint32_t i = 0; i < m->n_pending; i++) {
        const pu_ml_update *u = pu_pouw_store_update(pw->store, &m->pending[i].update_hash);
        if (u) {
            peers[np] = u;
            ids[np++] = m->pending[i];
        }
    }
    m->n_pending = 0;
    pu_iter_msg msg;
    memset(&msg, 0, sizeof msg);
    memcpy(msg.miner_pub, pw->roles[m->role].key.pub, 33);
    pu_err rc = pu_pouw_iterate(ctx->crypto, pw->ws, &view, m->index, m->seq, m->model, m->resid,
                                peers, ids, np, m->model_next, m->resid_next, m->update, &msg);
    pu_hash32 uh;
    if (rc == PU_OK)
        rc = pu_pouw_store_put_update(pw->store, ctx->crypto, pw->ws, m->update, &uh);
    if (rc != PU_OK) {
        sim_fail(ctx, rc, "pouw iteration");
        return;
    }
    commit_template(ctx, nd, m, &msg);
    msg.prev = m->n_hist ? m->hist[m->n_hist - 1] : (pu_hash32){{0}};
    pu_hash32 id;
    rc = pu_iter_msg_sign(ctx->crypto, &msg, &pw->roles[m->role].key);
    if (rc == PU_OK)
        rc = pu_iter_msg_id(ctx->crypto, &msg, &id);
    if (rc == PU_OK)
        rc = hist_push(m, &id);
    if (rc != PU_OK) {
        sim_fail(ctx, rc, "iteration message");
        return;
    }
    m->ring[m->seq % pw->k1] = msg;
    uint64_t before = pw->blocks_found;
    try_mine(ctx, nd, m, &msg, &id);
    record_iteration(ctx, m, &msg, pw->blocks_found != before);
    task_payload pl;
    memset(&pl, 0, sizeof pl);
    pl.kind = TM_ITER;
    pl.miner_index = m->index;
    pl.msg_id = id;
    pl.update_hash = uh;
    broadcast_iteration(ctx, m, &pl, pu_iter_msg_size(&msg) + pu_ml_update_serialized_len(m->update));
    /* the end state becomes the next iteration's start */
    pu_ml_model *tm = m->model;
    m->model = m->model_next;
    m->model_next = tm;
    pu_ml_resid *tr = m->resid;
    m->resid = m->resid_next;
    m->resid_next = tr;
    m->seq++;
    if (m->seq >= pw->task.max_iterations) {
        m->finished = true;
        send_final_model(ctx, m);
        return;
    }
    PU_IGNORE(sim_schedule(ctx, ctx->now + pw->iter_ns, SIM_EV_POUW, nd->id,
                           EV_ITER | (uint64_t)m->index << 8, NULL, NULL));
}

/* Registration closed on this node's branch: if it holds a miner seat,
 * start training. */
static void maybe_start_training(sim_ctx *ctx, sim_node *nd, const pu_task_state *st)
{
    sim_pouw *pw = ctx->pouw;
    if (!pw->t_training)
        pw->t_training = ctx->now;
    if (!pw->miners) {
        pw->n_miners = st->n_seats[PU_TASK_ROLE_MINER];
        pw->miners = calloc(pw->n_miners ? pw->n_miners : 1, sizeof *pw->miners);
        if (!pw->miners) {
            sim_fail(ctx, PU_ERR_NOMEM, "miners");
            return;
        }
        /* every seat's node is known now, so iteration messages reach the
         * miners that have not started yet (they queue the updates) */
        for (uint32_t i = 0; i < pw->n_miners; i++) {
            pw->miners[i].role = UINT32_MAX;
            for (uint32_t r = 0; r < pw->n_roles; r++)
                if (!memcmp(st->seat[PU_TASK_ROLE_MINER][i].pub, pw->roles[r].key.pub, 33))
                    pw->miners[i].role = r;
        }
    }
    uint32_t role = pw->role_of[nd->id];
    for (uint32_t i = 0; i < pw->n_miners; i++) {
        if (memcmp(st->seat[PU_TASK_ROLE_MINER][i].pub, pw->roles[role].key.pub, 33) != 0)
            continue;
        miner_state *m = &pw->miners[i];
        if (m->started)
            return;
        pu_err rc = miner_init(ctx, m, role, i);
        if (rc != PU_OK) {
            sim_fail(ctx, rc, "miner");
            return;
        }
        m->started = true;
        PU_IGNORE(sim_schedule(ctx, ctx->now + pw->iter_ns, SIM_EV_POUW, nd->id,
                               EV_ITER | (uint64_t)i << 8, NULL, NULL));
        return;
    }
}

static void tip_changed(sim_ctx *ctx, sim_node *nd)
{
    sim_pouw *pw = ctx->pouw;
    uint32_t role = pw->role_of[nd->id];
    if (role == UINT32_MAX)
        return;
    pu_task_state st;
    if (pu_econ_task_state(pw->econ, nd->chain, &pw->task_id, &st) != PU_OK)
        return;
    role_node *rn = &pw->roles[role];
    if (st.phase == PU_PHASE_REGISTRATION && rn->role && !rn->ticket_sent)
        buy_ticket(ctx, rn);
    else if (st.phase == PU_PHASE_TRAINING && rn->role == PU_ROLE_MINER)
        maybe_start_training(ctx, nd, &st);
    if (st.phase == PU_PHASE_SETTLED && !pw->t_settled)
        pw->t_settled = ctx->now;
}

/* ---- evaluation ------------------------------------------------------------------ */

/* Whether rn holds a seat of task role tr on its own node's branch. */
static bool seated(sim_ctx *ctx, const role_node *rn, int tr)
{
    sim_pouw *pw = ctx->pouw;
    pu_task_state st;
    if (pu_econ_task_state(pw->econ, ctx->nodes[rn->node].chain, &pw->task_id, &st) != PU_OK)
        return false;
    for (uint32_t i = 0; i < st.n_seats[tr]; i++)
        if (!memcmp(st.seat[tr][i].pub, rn->key.pub, 33))
            return true;
    return false;
}

static void evaluate(sim_ctx *ctx, role_node *rn)
{
    sim_pouw *pw = ctx->pouw;
    if (rn->result_sent || !seated(ctx, rn, PU_TASK_ROLE_EVALUATOR))
        return; /* only a seated evaluator's result counts */
    pu_hash32 best = {{0}};
    uint32_t best_acc = 0;
    for (uint32_t i = 0; i < pw->n_miners && i < PU_ECON_MAX_SEATS; i++) {
        pw->accuracy_ppm[i] = UINT32_MAX; /* no model */
        const pu_ml_model *mdl = pw->have_final[i] ? pu_pouw_store_model(pw->store, &pw->final_model[i]) : NULL;
        pu_ml_metrics mt;
        if (!mdl || pu_ml_evaluate(pw->ws, mdl, pw->test, 0, pu_dataset_size(pw->test), &mt) != PU_OK)
            continue;
        pw->accuracy_ppm[i] = (uint32_t)((uint64_t)mt.correct * 1000000u / mt.n);
        if (pw->accuracy_ppm[i] >= best_acc) {
            best_acc = pw->accuracy_ppm[i];
            best = pw->final_model[i];
        }
    }
    pu_econ_inputs in = inputs_of(ctx, rn);
    pu_tx *tx = NULL;
    pu_err rc = pu_econ_task_result(pw->econ, &pw->task_id, pw->accuracy_ppm, pw->n_miners, &best, &in, &tx);
    if (rc != PU_OK) {
        sim_fail(ctx, rc, "task result");
        return;
    }
    rn->result_sent = true;
    pw->result_sent = true;
    if (!pw->t_result)
        pw->t_result = ctx->now;
    submit(ctx, rn, tx);
    pu_tx_unref(tx);
}

static void task_message(void *self, sim_ctx *ctx, sim_node *nd, const sim_msg *msg)
{
    sim_pouw *pw = self;
    const task_payload *pl = msg->items;
    uint32_t role = pw->role_of[nd->id];
    if (!pl || role == UINT32_MAX)
        return;
    role_node *rn = &pw->roles[role];
    if (pl->kind == TM_ITER && rn->role == PU_ROLE_MINER) {
        for (uint32_t i = 0; pw->miners && i < pw->n_miners; i++) {
            miner_state *m = &pw->miners[i];
            if (m->role != role || m->n_pending == PU_POUW_MAX_PEERS)
                continue; /* a miner that has not started yet keeps them for its first step */
            m->pending[m->n_pending++] = (pu_iter_peer){pl->msg_id, pl->update_hash};
        }
    } else if (pl->kind == TM_FINAL && rn->role == PU_ROLE_EVALUATOR && pl->miner_index < PU_ECON_MAX_SEATS) {
        pw->final_model[pl->miner_index] = pl->model_hash;
        pw->have_final[pl->miner_index] = true;
        uint32_t have = 0;
        for (uint32_t i = 0; i < pw->n_miners; i++)
            have += pw->have_final[i];
        if (have == pw->n_miners)
            evaluate(ctx, rn);
        else if (!pw->eval_scheduled) { /* do not wait forever for a silent miner */
            pw->eval_scheduled = true;
            PU_IGNORE(sim_schedule(ctx, ctx->now + 20 * pw->iter_ns + 60000000000ull, SIM_EV_POUW,
                                   nd->id, EV_EVAL, NULL, NULL));
        }
    }
}

void sim_pouw_fire(sim_ctx *ctx, const sim_event *ev)
{
    sim_pouw *pw = ctx->pouw;
    switch (ev->arg & 0xff) {
    case EV_SUBMIT:
        client_submit(ctx);
        break;
    case EV_ITER: {
        uint32_t i = (uint32_t)(ev->arg >> 8);
        if (pw->miners && i < pw->n_miners)
            miner_iterate(ctx, &pw->miners[i]);
        break;
    }
    case EV_EVAL: {
        uint32_t role = pw->role_of[ev->node];
        if (role != UINT32_MAX)
            evaluate(ctx, &pw->roles[role]);
        break;
    }
    default:
        break;
    }
}

/* ---- verification, block extras, outcome ---------------------------------------- */

static uint64_t verify_cost(void *self, const pu_block *b)
{
    const sim_pouw *pw = self;
    return pu_header_is_pouw(pu_block_header(b)) ? pw->verify_ns : 0;
}

/* A node connected (reason 0) or refused (nonzero) a PoUW block: counted and
 * reported with verify_ml_work's detailed reason for a refusal. */
static void verified(sim_ctx *ctx, uint32_t node, const pu_block *b, int reason)
{
    sim_pouw *pw = ctx->pouw;
    if (!pu_header_is_pouw(pu_block_header(b)))
        return;
    pw->verifications++;
    pw->verify_failures += reason != 0;
    pu_pouw_reason why;
    pu_pouw_cost cost;
    if (reason != 0 && pu_econ_ml_verdict(pw->econ, pu_block_hash(b), &why, &cost))
        reason = (int)why; /* the detailed verify_ml_work outcome (the valcache shares it) */
    sim_obs ev = {.kind = SIM_OBS_VERIFIED, .node = node, .block = b, .reason = reason};
    ev.u.verified.cost_ns = verify_cost(pw, b);
    sim_observe(ctx, &ev);
}

static void on_event(void *self, sim_ctx *ctx, const sim_obs *ev)
{
    (void)self;
    switch (ev->kind) {
    case SIM_OBS_TIP_CHANGED: tip_changed(ctx, &ctx->nodes[ev->node]); break;
    case SIM_OBS_BLOCK_CONNECTED: verified(ctx, ev->node, ev->block, 0); break; /* the work verified */
    case SIM_OBS_BLOCK_REFUSED:
        if (ev->reason == PU_R_ML_WORK)
            verified(ctx, ev->node, ev->block, 255); /* refused: the work did not verify */
        break;
    default: break;
    }
}

static size_t block_extras(void *self, sim_ctx *ctx, sim_node *nd, pu_tx **out, size_t max)
{
    sim_pouw *pw = self;
    (void)ctx;
    if (!max)
        return 0;
    pu_task_state st;
    if (pu_econ_task_state(pw->econ, nd->chain, &pw->task_id, &st) != PU_OK
        || st.phase != PU_PHASE_FINALISATION)
        return 0;
    pu_tx *tx = NULL;
    if (pu_econ_settlement(pw->econ, nd->chain, &pw->task_id, &tx) != PU_OK)
        return 0;
    /* keep the reference until the next call: the caller borrows it */
    for (size_t i = 0; i < pw->n_extras; i++)
        pu_tx_unref(pw->extras[i]);
    pw->extras[0] = tx;
    pw->n_extras = 1;
    out[0] = tx;
    return 1;
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

void sim_pouw_report(sim_ctx *ctx)
{
    sim_pouw *pw = ctx->pouw;
    const pu_chain *best = sim_best_chain(ctx);
    pu_task_state st;
    bool have_state = pu_econ_task_state(pw->econ, best, &pw->task_id, &st) == PU_OK;
    sim_obs_task t;
    memset(&t, 0, sizeof t);
    t.task_id = pw->task_id;
    t.submitted_ns = pw->t_submit;
    t.training_ns = pw->t_training;
    t.result_ns = pw->t_result;
    t.settled_ns = pw->t_settled;
    t.miners = pw->n_miners;
    t.max_iterations = pw->task.max_iterations;
    for (uint32_t i = 0; pw->miners && i < pw->n_miners; i++)
        t.iterations += pw->miners[i].seq;
    t.blocks = pw->blocks_found;
    t.verifications = pw->verifications;
    t.verify_failures = pw->verify_failures;
    uint32_t bestacc = 0;
    for (uint32_t i = 0; i < pw->n_miners; i++)
        if (pw->accuracy_ppm[i] != UINT32_MAX && pw->accuracy_ppm[i] > bestacc)
            bestacc = pw->accuracy_ppm[i];
    t.best_accuracy = pw->result_sent ? bestacc / 1e6 : 0;
    t.phase = have_state ? (int)st.phase : 0;
    sim_obs ev = {.kind = SIM_OBS_TASK_END, .node = pw->roles[R_CLIENT].node};
    ev.u.task = &t;
    sim_observe(ctx, &ev);
    static const char names[5][12] = {"client", "miner", "supervisor", "evaluator", "verifier"};
    for (uint32_t i = 0; i < pw->n_roles && ctx->fatal == PU_OK; i++) {
        const role_node *rn = &pw->roles[i];
        sim_obs_role r;
        memset(&r, 0, sizeof r);
        r.role = names[rn->role <= 4 ? rn->role : 0];
        for (int ro = 0; have_state && ro < (int)PU_TASK_N_ROLES; ro++)
            for (uint32_t k = 0; k < st.n_seats[ro]; k++)
                r.selected |= !memcmp(st.seat[ro][k].pub, rn->key.pub, 33);
        r.balance_start = START_FUNDS;
        r.balance_end = pu_chain_balance(best, &rn->key.addr);
        lock_sum ls = {&rn->key.addr, 0}; /* escrow or stakes still locked */
        pu_err rc = pu_utxo_foreach_sorted(pu_chain_utxo(best), add_lock, &ls);
        if (rc != PU_OK) {
            sim_fail(ctx, rc, "pouw accounts");
            return;
        }
        r.locked_end = ls.sum;
        sim_obs e = {.kind = SIM_OBS_ROLE_END, .node = rn->node};
        e.u.role = &r;
        sim_observe(ctx, &e);
    }
}
