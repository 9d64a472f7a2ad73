/* sim/pouw_int.h -- internals shared by the files of the sim/pouw module
 * (pouw.c: the engine's entry points, the worker pool and the task stream;
 * pouw_miner.c: training and mining; pouw_roles.c: the transactions of
 * clients and workers and the evaluator).  Nothing outside them includes it.
 *
 * The model: a fixed pool of PoUW nodes (clients and workers of each role,
 * picked once from the network's nodes) serves a stream of tasks.  Tasks
 * arrive (one at pouw.submit_at, or a Poisson stream), wait in a queue, and
 * are admitted when enough workers are idle; every idle worker then buys a
 * ticket for the admitted task, the lottery seats some of them, and the
 * others are idle again once the selection is on their tip.  A seated
 * worker serves its task until it sees the task settled.  So seats of
 * concurrent tasks are disjoint, and a worker's messages concern one task. */
#ifndef SIM_POUW_INT_H
#define SIM_POUW_INT_H

#include "core/econ.h"
#include "sim/engine.h"
#include "sim/pouw.h"

/* SIM_EV_POUW arg: kind (8 bits) | miner index (8 bits) << 8 | task << 16. */
enum { PW_EV_ARRIVE = 1, PW_EV_ITER, PW_EV_EVAL, PW_EV_VOTE, PW_EV_STATUS };
#define PW_EV_ARG(kind, miner, task) ((uint64_t)(kind) | (uint64_t)(miner) << 8 | (uint64_t)(task) << 16)
#define PW_NONE UINT32_MAX
/* blocks on top of a task's closing block before an unseated worker is free */
#define PW_SEAT_DEPTH 6u

/* Task-group message kinds (SIM_MSG_TASK payload). */
enum { PW_TM_ITER = 1, PW_TM_FINAL };

typedef struct pw_payload {
    uint8_t kind;
    uint32_t task;           /* index into the run's tasks */
    uint32_t miner_index;
    pu_hash32 msg_id, update_hash, model_hash;
    uint32_t iterations;     /* FINAL: iterations the miner ran */
    pu_iter_msg msg;         /* ITER: the signed iteration message */
} pw_payload;

/* Genesis coins of each PoUW node: a transaction spends one, and its
 * change is spendable again once confirmed, so a node can have this many
 * transactions in flight. */
#define PW_COINS 16u

typedef struct pw_coin {
    pu_outpoint op;          /* the coin (the change of `spender` while pending) */
    pu_amount amount;
    pu_outpoint prev;        /* what `spender` spent: back to it if spender vanishes */
    pu_amount prev_amount;
    pu_hash32 spender;
    bool pending;            /* op is the unconfirmed change of spender */
} pw_coin;

/* A PoUW node: a client (role 0) or a worker of one role. */
typedef struct pw_worker {
    uint32_t node;
    uint8_t role;            /* pu_role; 0 for a client */
    pu_keypair key;
    pw_coin coins[PW_COINS];
    uint32_t task;           /* worker: the task it is engaged in, PW_NONE when idle */
    bool ticket_sent;        /* for its task */
    bool result_sent;        /* evaluator: its TASK_RESULT for its task is out */
} pw_worker;

/* A supervisor's copy of one miner's training, advanced by re-executing
 * each of its iteration messages in order. */
#define PW_HOLD 16u
typedef struct pw_replica {
    pu_ml_model *model, *model_next;
    pu_ml_resid *resid, *resid_next;
    pu_ml_update *update;
    uint32_t next_seq;       /* the seq it audits next */
    uint32_t final_iters;    /* iterations the miner says it ran; UINT32_MAX: not yet */
    bool stopped;            /* misconduct found (or not provable): audited no further */
    bool have_last;
    pu_iter_msg last;        /* the last message audited (for HISTORY evidence) */
    pu_iter_msg held[PW_HOLD]; /* arrived ahead of next_seq */
    uint32_t n_held;
} pw_replica;

/* A seated supervisor's audit of its task (PROTOCOL.md s5: supervisors record every
 * message of the task group and audit it). */
typedef struct pw_audit {
    uint32_t worker;
    pw_replica *rep;         /* by miner index */
    pu_hash32 *ids;          /* audited message ids, in audit order (the vote's root) */
    uint32_t n_ids, cap_ids;
    uint8_t found;           /* pu_pouw_reason of the first misconduct found, 0 none */
    bool voted, vote_scheduled, timed_out;
} pw_audit;

typedef struct pw_commit {
    pu_block *draft;         /* template the commitment covers */
    pu_hash32 zn, tip;
} pw_commit;

typedef struct pw_miner {
    uint32_t worker;         /* index into workers; PW_NONE if no worker holds the seat */
    uint32_t index;          /* miner index in the task's selection */
    bool started, finished;
    uint32_t seq;
    pu_ml_model *model, *model_next;
    pu_ml_resid *resid, *resid_next;
    pu_ml_update *update;
    pu_hash32 *hist;
    uint32_t n_hist, cap_hist;
    pu_iter_msg *ring;       /* the last k + 1 messages */
    pw_commit *slots;        /* the last k + 1 commitments */
    pu_iter_peer pending[PU_POUW_MAX_PEERS];
    uint32_t pending_from[PU_POUW_MAX_PEERS]; /* sender's miner index */
    uint32_t n_pending;
    uint32_t *correct;       /* correct count of each iteration (convergence) */
    bool anchored;           /* its final model's CONSENSUS_VOTE is out */
    bool claimed_other;      /* its last message claimed an end state it did not reach (a cheat) */
    uint64_t blocks;
} pw_miner;

typedef enum pw_task_state {
    PW_QUEUED = 0,           /* arrived, waiting for workers */
    PW_SUBMITTED,            /* PAY_FOR_TASK sent */
    PW_DONE,                 /* settled (seen by one of its nodes) */
    PW_DROPPED,              /* the queue was full on arrival */
} pw_task_state;

typedef struct pw_task {
    pu_task def;
    pu_hash32 id;
    uint32_t client;         /* worker index of its client */
    pw_task_state state;
    pu_ml_ws *ws;            /* the miners' workspace (task shape) */
    uint32_t nparams;
    uint64_t step_flops, iter_ns;
    uint64_t verify_ns;      /* simulated CPU to re-execute one iteration */
    pw_miner *miners;        /* by miner index, once training starts */
    uint32_t n_miners;
    pw_audit *audits;        /* one per seated supervisor, once training starts */
    uint32_t n_audits;
    /* evaluation */
    bool result_sent, eval_scheduled;
    bool eval_due;           /* every final model is in, or the evaluator stopped waiting */
    uint32_t finals_seen;    /* bit i: miner i's final model reached the evaluator */
    uint32_t eval_until;     /* if not 0: stop waiting for votes at this height */
    uint32_t accuracy_ppm[PU_ECON_MAX_SEATS];
    /* outcome */
    uint64_t t_arrive, t_submit, t_training, t_result, t_settled;
    uint64_t t_last_iter;    /* its miners' last iteration */
    uint64_t blocks_found;
    uint64_t verifications, verify_failures; /* of its blocks, over all nodes */
} pw_task;

typedef struct pw_data pw_data; /* pouw_data.c */

struct sim_pouw {
    pw_data *data;              /* the data PoUW blocks' checks need, per node */
    pu_task_data_dirs data_dirs; /* borrowed strings of the params; econ borrows this */
    pu_opret_codec *opret;
    pu_pouw_store *store;
    pu_pouw_verifier *verifier;
    pu_econ *econ;
    uint32_t k, k1;             /* commit lag, ring size k + 1 */
    pw_worker *workers;
    uint32_t n_workers, n_clients;
    uint32_t *worker_of;        /* node -> worker index, PW_NONE: none */
    pw_task *tasks;             /* every task that arrived, in arrival order */
    uint32_t n_tasks, cap_tasks;
    uint32_t *queue;            /* task indices waiting for admission, FIFO */
    uint32_t q_head, q_len;
    uint32_t in_flight;         /* submitted and not settled */
    uint32_t next_client;
    sim_rng arrivals;           /* the task stream's draws */
    pu_tx *extras[4];
    size_t n_extras;
    uint64_t rec_written[9], rec_bytes[9]; /* OP_RETURN records submitted, by op code */
    uint64_t rec_refused[SIM_OBS_ECON_REASONS][9]; /* refused by the rules: reason, op code */
    pu_econ *lazy_econ;         /* a lazy verifier's rules (pouw_adv.c), or NULL */
    sim_pouw_cheat *cheats;     /* per node once an attack installs one (pouw_adv.c), else NULL */
};

/* pouw.c */
/** The econ configuration of the run's chain rules. */
void pw_econ_config(const sim_ctx *ctx, sim_pouw *pw, pu_econ_config *out);
/** How long an evaluator or supervisor waits for the last miner: 20
 * iterations and 10 block intervals (the final models' votes must be
 * confirmed, and after training only proof of work makes blocks). */
uint64_t pw_patience(const sim_ctx *ctx, const pw_task *t);
/** Task of a worker, or NULL. */
pw_task *pw_task_of(sim_pouw *pw, const pw_worker *w);
/** A worker is free again: try to admit queued tasks. */
void pw_release(sim_ctx *ctx, pw_worker *w);

/* pouw_roles.c */
/** A confirmed coin of w worth at least `need` for a new transaction's
 * inputs (in->ops/amounts point into w), or false when none is free. */
bool pw_inputs(const sim_ctx *ctx, pw_worker *w, pu_amount need, pu_econ_inputs *in, uint32_t *slot);
/** Submit tx (spending coin `slot`) at the worker's node; its change takes
 * the slot.  Returns whether the node's mempool accepted it. */
bool pw_submit(sim_ctx *ctx, pw_worker *w, uint32_t slot, pu_tx *tx);
/** PAY_FOR_TASK of t by its client; false when the client has no free coin. */
bool pw_client_submit(sim_ctx *ctx, pw_task *t);
void pw_buy_ticket(sim_ctx *ctx, pw_worker *w, pw_task *t);
/** Whether w holds a seat of task role tr of t on its own node's branch. */
bool pw_seated(sim_ctx *ctx, const pw_worker *w, const pw_task *t, int tr);
void pw_evaluate(sim_ctx *ctx, pw_worker *w, pw_task *t);
void pw_final_received(sim_ctx *ctx, sim_node *nd, const pw_payload *pl);
/* The evaluator's patience timer at `node`: true when it stops waiting
 * (t->eval_due set), false when votes of final models it received are
 * still unconfirmed: it then waits PW_EVAL_BLOCKS more blocks for them. */
#define PW_EVAL_BLOCKS 6u
bool pw_eval_timer(sim_ctx *ctx, uint32_t node, pw_task *t);

/** Post the record m (pu_econ_record) about task t (NULL: none) from w;
 * false when w has no free coin or its node refused it. */
bool pw_post_record(sim_ctx *ctx, pw_worker *w, const pw_task *t, const pu_opret_msg *m);
/** Post evidence (pu_pouw_evidence_* bytes) that finding f states. */
bool pw_post_evidence(sim_ctx *ctx, pw_worker *w, const pw_task *t, const pu_pouw_finding *f,
                      const uint8_t *body, size_t len);
/** The seated miner's final model vote (CONSENSUS_VOTE, subject MODEL). */
void pw_anchor(sim_ctx *ctx, pw_task *t, pw_miner *m);
/** The gradient share of msg (GRADIENT_SHARE). */
void pw_share(sim_ctx *ctx, pw_task *t, pw_miner *m, const pu_iter_msg *msg);
/** A node's periodic status (NETWORK_STATE). */
void pw_status(sim_ctx *ctx, pw_worker *w);

/* pouw_audit.c: supervisors and verifier seats */
/** An iteration or final message reached supervisor worker w. */
void pw_audit_message(sim_ctx *ctx, pw_worker *w, const pw_payload *pl);
/** Post the audit vote if due (all final messages audited, or the timer). */
void pw_audit_vote(sim_ctx *ctx, pw_worker *w, pw_task *t, bool timer);
void pw_audits_free(pw_task *t);
/** A PoUW block of t connected (ok) or was refused at verifier worker w's node. */
void pw_attest(sim_ctx *ctx, pw_worker *w, pw_task *t, const pu_block *b, int reason);

/* pouw_adv.c */
/** The cheat of the miner on node, or NULL (honest). */
const sim_pouw_cheat *pw_cheat_of(const sim_pouw *pw, uint32_t node);

/* pouw_data.c: verification data over the network */
PU_NODISCARD pu_err pw_data_new(sim_ctx *ctx, pw_data **out);
void pw_data_free(pw_data *d);
/** node now holds object h (its own, received or validated with). */
void pw_data_hold(sim_ctx *ctx, uint32_t node, const pu_hash32 *h);
bool pw_data_holds(const pw_data *d, uint32_t node, const pu_hash32 *h);
/** A PoUW block was made at miner_node (UINT32_MAX: unknown): what checking
 * it needs, all held by its miner. */
void pw_data_block(sim_ctx *ctx, uint32_t miner_node, const pu_block *b);
/** The engine's hold hook (file comment of pouw_data.c). */
bool pw_data_hold_message(sim_ctx *ctx, sim_node *nd, sim_msg *m);
/** POUW_GETDATA and POUW_DATA at nd. */
void pw_data_message(sim_ctx *ctx, sim_node *nd, const sim_msg *m);
/** node validated b: the bytes it fetched for it and when it first heard
 * of it (now for its own block); node now holds b's objects. */
void pw_data_done(sim_ctx *ctx, uint32_t node, const pu_block *b, uint64_t *bytes, uint64_t *heard_ns);

/* pouw_miner.c */
/** Registration closed on nd's branch: start training if nd holds a seat. */
void pw_start_training(sim_ctx *ctx, sim_node *nd, pw_task *t, const pu_task_state *st);
void pw_miner_iterate(sim_ctx *ctx, pw_task *t, pw_miner *m);
void pw_iteration_received(sim_pouw *pw, uint32_t worker, const pw_payload *pl);
/** Release the training state of t's miners (once the task is settled). */
void pw_miners_free(const sim_pouw *pw, pw_task *t);
void pw_send_task(sim_ctx *ctx, uint32_t from, uint32_t to, const pw_payload *pl, uint64_t bytes);

#endif
