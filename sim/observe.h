/* sim/observe.h -- what happens in a run, told to whoever listens.
 *
 * The actors of a run (nodes, miners, wallets, PoUW roles, adversaries)
 * report what happens -- a block mined, stored, connected or refused, a tip
 * that moved, a transaction created or refused, a training iteration, a
 * verification, the outcome of a task or of an attack -- as a sim_obs event.
 * Listeners subscribe to the kinds they want: sim/metrics records them, PoUW
 * roles and miners react to them.  An actor never calls a listener by name,
 * so recording is a listener, not a callee, and the dependency direction in
 * sim/ stays one way (the Makefile's layer list, `make check-layers`).  This
 * is the simulator's counterpart of core/chain.h's pu_chain_observer.
 *
 * Order.  Listeners are called in the order they were added, each to the
 * end before the next; the order is part of a run's determinism (a listener
 * may schedule events or draw from its own random streams), so sim_new adds
 * them at fixed points: metrics, mining, PoUW roles, adversaries.  A listener may not add
 * listeners while an event is being told.
 *
 * Lifetime.  Everything an event points to is borrowed for the call only; a
 * listener that keeps a block or transaction takes its own reference.
 *
 * Adding a kind: a constant below (before SIM_OBS_KIND_COUNT), its payload
 * (a common field or a struct in the union), a line in the table of kinds in
 * this comment.  Listeners ignore kinds they did not subscribe to, so adding
 * one changes nothing for the others.
 *
 *   kind                 node            payload
 *   BLOCK_MINED          the finder      block (finalized, before its
 *                                        behaviour decides what to do with it),
 *                                        height (in the chain it was mined on)
 *   BLOCK_STORED         the storer      block, height
 *   BLOCK_CONNECTED      the node        block, height (joined its active chain)
 *   BLOCK_REFUSED        the node        block, reason (pu_reason)
 *   TIP_CHANGED          the node        add (the pu_add_result; a reorg when
 *                                        add->disconnected > 0)
 *   TX_CREATED           home node       tx, u.tx_created (wallet, accepted)
 *   TX_REFUSED           the node        tx, reason (pu_reason; duplicates are
 *                                        not reported: gossip's normal fate)
 *   TX_ACCEPTED          the node        tx, u.accepted_ns: when the node has it
 *                                        (now; under tx_model flood, told for
 *                                        every node when the tx starts spreading,
 *                                        with each node's arrival time)
 *   ITERATION            miner's node    u.iteration
 *   VERIFIED             verifying node  block, reason (pu_pouw_reason, 0 ok),
 *                                        u.verified
 *   TASK_END             client's node   u.task (end of run)
 *   ROLE_END             worker's node   u.role (end of run, one per worker)
 *   BLOCK_DISCONNECTED   the node        block, height (left its active chain)
 *   TX_ENTERED           the node        tx (entered its mempool; reason = 0)
 *   TX_LEFT              the node        tx, reason (pu_mempool_exit: confirmed,
 *                                        conflict, evicted, invalid, expired)
 *   MESSAGE              the receiver    u.msg: a message's fate (delivered,
 *                                        not sent, cut at delivery)
 *   ATTACK_END           attacker's node u.attack (end of run, one per
 *                                        adversary; sim/adversary/adversary.h)
 *   RECORDS              0               u.records (end of run, consensus pouw)
 * BLOCK_DISCONNECTED, TX_ENTERED, TX_LEFT and MESSAGE are told only when
 * someone listens (sim_observers_wants): they are frequent, and building
 * them costs the engine nothing otherwise. */
#ifndef SIM_OBSERVE_H
#define SIM_OBSERVE_H

#include "core/block.h"
#include "core/chain.h"

typedef struct sim_ctx sim_ctx;

typedef enum sim_obs_kind {
    SIM_OBS_BLOCK_MINED = 0,
    SIM_OBS_BLOCK_STORED,
    SIM_OBS_BLOCK_CONNECTED,
    SIM_OBS_BLOCK_REFUSED,
    SIM_OBS_TIP_CHANGED,
    SIM_OBS_TX_CREATED,
    SIM_OBS_TX_REFUSED,
    SIM_OBS_ITERATION,
    SIM_OBS_VERIFIED,
    SIM_OBS_TASK_END,
    SIM_OBS_ROLE_END,
    SIM_OBS_BLOCK_DISCONNECTED,
    SIM_OBS_TX_ENTERED,
    SIM_OBS_TX_LEFT,
    SIM_OBS_MESSAGE,
    SIM_OBS_ATTACK_END,
    SIM_OBS_RECORDS,
    SIM_OBS_TX_ACCEPTED,
    SIM_OBS_KIND_COUNT
} sim_obs_kind;

/** Subscription mask bit of a kind. */
#define SIM_OBS_BIT(kind) (UINT32_C(1) << (kind))

/** One PoUW training iteration (PROTOCOL.md s5 item 3). */
typedef struct sim_obs_iteration {
    uint32_t miner_index, seq, epoch, iter, peers;
    double loss, accuracy;    /* on the iteration's batch */
    bool block;               /* its nonces made a block */
} sim_obs_iteration;

typedef struct sim_obs_verified {
    uint64_t cost_ns;         /* simulated CPU charged for the re-execution */
    uint64_t bytes;           /* fetched for it (POUW_DATA messages) by this node */
    uint64_t heard_ns;        /* when the node first heard of the block */
} sim_obs_verified;

/** A task's outcome at the end of the run. */
typedef struct sim_obs_task {
    pu_hash32 task_id;
    uint64_t arrival_ns;      /* when it arrived (the stream) */
    uint64_t submitted_ns, training_ns, result_ns, settled_ns; /* 0: did not happen */
    uint64_t end_ns;          /* its last training iteration, 0: none */
    uint32_t miners;          /* seats */
    uint32_t supervisors, evaluators, verifiers; /* seats */
    uint32_t max_iterations;  /* per miner, from the task definition */
    uint32_t outcome;         /* settlement body's outcome (1 evaluated, 2 void, 3
                               * unevaluated, 4 missed), 0 not settled, 5 dropped
                               * from the queue */
    pu_amount fee;
    uint64_t iterations;      /* run, all miners */
    uint64_t blocks;          /* PoUW blocks found */
    uint64_t verifications, verify_failures; /* over all nodes */
    double best_accuracy;     /* best final test accuracy; 0 without a result */
    int phase;                /* pu_task_phase on the reference chain */
} sim_obs_task;

/** OP_RETURN records by op code (index = op code, 1..8) at the end of the
 * run: written = in transactions the PoUW nodes submitted (accepted by
 * their own node), confirmed = in the reference chain; bytes = the sizes of
 * the transactions carrying them.  refused counts the transactions the
 * PoUW ledger rules refused at any node (mempool), by pu_econ_reason and
 * the op code of their record (0: none or undecodable). */
#define SIM_OBS_ECON_REASONS 16
typedef struct sim_obs_records {
    uint64_t written[9], written_bytes[9], confirmed[9], confirmed_bytes[9];
    uint64_t refused[SIM_OBS_ECON_REASONS][9];
} sim_obs_records;

/** A PoUW worker's (or the client's) account at the end of the run. */
typedef struct sim_obs_role {
    const char *role;         /* "client", "miner", ... (static) */
    bool selected;            /* holds a seat of the task */
    pu_amount balance_start, balance_end, locked_end;
} sim_obs_role;

/** What became of one message (plain values: no engine types here). */
typedef enum sim_obs_msg_fate {
    SIM_MSG_DELIVERED = 0,    /* reached the receiver at t_ns */
    SIM_MSG_NOT_SENT = 1,     /* an end offline or partitioned at sending (t_ns = sent_ns) */
    SIM_MSG_CUT = 2,          /* the receiver went offline or a partition came first */
    SIM_MSG_DROPPED = 3,      /* dropped on its link by an adversary (t_ns = sent_ns) */
    SIM_MSG_OVERFLOW = 4,     /* not taken: the receiver's buffer for the sender was full */
} sim_obs_msg_fate;

typedef struct sim_obs_msg {
    uint64_t seq;             /* number of the message in sending order, from 0 */
    uint8_t kind;             /* sim_msg_kind (sim/node.h) */
    uint8_t fate;             /* sim_obs_msg_fate */
    uint32_t from, to;
    uint64_t bytes, sent_ns, t_ns;
    const pu_hash32 *object;  /* the block or transaction it carries or names, or NULL */
} sim_obs_msg;
typedef struct sim_attack_outcome sim_attack_outcome; /* sim/adversary/adversary.h */

typedef struct sim_obs {
    sim_obs_kind kind;
    uint32_t node;
    const pu_block *block;
    const pu_tx *tx;
    uint32_t height;
    int reason;
    const pu_add_result *add;
    union {
        struct { uint32_t wallet; bool accepted; } tx_created;
        const sim_obs_iteration *iteration;
        sim_obs_verified verified;
        const sim_obs_task *task;
        const sim_obs_role *role;
        const sim_obs_records *records;
        const sim_obs_msg *msg;
        const sim_attack_outcome *attack;
        uint64_t accepted_ns;
    } u;
} sim_obs;

typedef struct sim_observer {
    /** Called for every event whose kind is in mask. */
    void (*on_event)(void *self, sim_ctx *ctx, const sim_obs *ev);
    uint32_t mask;            /* SIM_OBS_BIT(kind) | ... */
    void *self;
} sim_observer;

/** The listeners of one run. */
typedef struct sim_observers sim_observers;

PU_NODISCARD pu_err sim_observers_new(sim_observers **out);
void sim_observers_free(sim_observers *o);
/** Add a listener after the existing ones (copied).  PU_ERR_NOMEM. */
PU_NODISCARD pu_err sim_observers_add(sim_observers *o, const sim_observer *l);
/** True iff some listener subscribed to kind: callers skip building
 * frequent events nobody wants. */
bool sim_observers_wants(const sim_observers *o, sim_obs_kind kind);
/** Tell every listener subscribed to ev->kind, in order. */
void sim_observers_emit(const sim_observers *o, sim_ctx *ctx, const sim_obs *ev);

#endif
