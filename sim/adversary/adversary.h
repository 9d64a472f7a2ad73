/* sim/adversary/adversary.h -- attackers: one small interface that every
 * attack strategy implements, and the outcome record every attack reports.
 *
 * A scenario's `adversaries:` list configures attackers (sim/params.h: the
 * fields, which ones each type takes, scenarios/README.md for users).  Each
 * entry becomes a sim_adversary run by the strategy of its type, one file per
 * strategy in this directory (selfish.c, double_spend.c, ...).  A type
 * without a strategy is a scenario error ("not implemented yet"), never
 * silently ignored: sim_params_adversary_implemented() and the table of
 * strategies in adversary.c must agree (tests/sim/test_adversary.c checks).
 *
 * ## Life of an adversary
 *
 *   create   at sim_new, after the nodes, miners and PoUW roles exist.  The
 *            strategy allocates its state and takes over what it controls:
 *            a node's behaviour (sim_adversary_take_node), a miner slot
 *            (sim_adversary_miner), its own random streams
 *            (sim_adversary_rng).  Creating must change nothing observable:
 *            no draws from shared streams, no events, no messages, no new
 *            hash power -- a configured adversary that never starts leaves
 *            every honest part of the run byte-identical (a test checks it
 *            for every strategy).
 *   start    at its `start` time, or at a timeline `adversary_start`.  The
 *            attack begins: its hash power joins (sim_adversary_set_share:
 *            the honest miners scale to the rest), its timers start.
 *   stop     at its `stop` time, or a timeline `adversary_stop`.  The
 *            strategy ends its attack (a withholding miner publishes what it
 *            holds) and its node behaves honestly from then on.  An
 *            adversary may be started again.
 *   finish   at the end of the run: the strategy completes its outcome
 *            record (the framework fills the generic columns first), which
 *            is then reported as a SIM_OBS_ATTACK_END event: sim/metrics
 *            writes it to /attacks and /attack_refusals and to the summary.
 *
 * ## What a strategy may use
 *
 * Only the interfaces of the layers below it (Makefile, `make layers`):
 * node behaviours and the honest defaults (sim/node.h), the miners
 * (sim/mining.h), the wallets (sim/wallet.h), the events (sim/observe.h),
 * the core library.  It never reaches into the engine's internals: when a
 * strategy needs a seam that does not exist, add the seam (a behaviour hook,
 * a node function, an event kind) where it belongs and use it.
 *
 * Its node behaviour: sim_adversary_take_node(ctx, adv, node, &beh, state)
 * installs a sim_behavior on a node; the behaviour's functions receive the
 * node, and nd->beh_state is the state given.  While the adversary is not
 * active a behaviour must act exactly as sim_behavior_honest does (call the
 * sim_node_default_* functions) so that a configured, never started
 * adversary changes nothing.
 *
 * Events: the strategy's on_event receives the kinds of its obs_mask, in the
 * order listeners were added (metrics, miners, PoUW roles, then adversaries
 * by index).  Timers: sim_adversary_set_timer, delivered to on_timer.
 *
 * ## The outcome
 *
 * The framework keeps, for every adversary, the generic part of its record:
 * when it was active; every block its node mined while active and whether
 * the reference chain (the node with the most work at the end) holds it, so
 * its revenue share; the refusals of its objects -- blocks and transactions
 * it registered with sim_adversary_own_block / sim_adversary_own_tx -- by
 * honest nodes, by pu_reason, and the ML-work verdicts (pu_pouw_reason) of
 * its PoUW blocks.  The strategy adds what only it knows (attempts,
 * successes, withheld blocks, gamma, the victims' loss, stake slashed, peaks
 * of bounded memories, the closed form to compare with) by writing the
 * fields of sim_adversary_outcome(adv) as the run goes, or in finish.
 *
 * Adding a field: to sim_attack_outcome below, a column in sim/metrics.c's
 * /attacks table, its description in analysis/README.md.
 *
 * ## Writing a strategy (the checklist)
 *
 *  1. sim/params.c: the type's line in the type table (fields it takes,
 *     modes, implemented = true) and its checks in check_adversary_fields;
 *  2. sim/adversary/<type>.c: `const sim_strategy sim_strategy_<type>`,
 *     registered in the table of adversary.c;
 *  3. scenarios/attacks/<type>.yaml with its expected outcome in the header;
 *  4. tests: the outcome asserted against what the protocol (or a closed
 *     form) says, byte-identical outputs for one seed, and the honest run
 *     unchanged when the adversary is configured but never started
 *     (tests/sim/test_adversary.c has helpers for the last two). */
#ifndef SIM_ADVERSARY_H
#define SIM_ADVERSARY_H

#include "core/pouw.h"
#include "sim/engine.h"

/** What one attack achieved (a row of /attacks; analysis/README.md). */
typedef struct sim_attack_outcome {
    /* configuration */
    uint32_t index;            /* in adversaries */
    int type;                  /* sim_params_adversary_type */
    uint32_t node;             /* the attacker's node (UINT32_MAX: none, e.g. routing) */
    double share;              /* hash power share while active (0: none) */
    /* activity (framework) */
    uint64_t started_ns;       /* first start; SIM_NEVER: never started */
    uint64_t stopped_ns;       /* last stop; SIM_NEVER: active to the end, or never */
    uint64_t active_ns;        /* total time active */
    /* blocks (framework, PoW and PoUW alike) */
    uint64_t blocks_mined;     /* by the attacker's node while active */
    uint64_t main_blocks;      /* of those, in the reference chain at the end */
    uint64_t main_total;       /* reference-chain blocks mined by anyone while active */
    double revenue_share;      /* main_blocks / main_total (NaN when main_total is 0) */
    /* blocks (strategy) */
    uint64_t blocks_withheld;  /* still unpublished at the end */
    uint64_t blocks_released;  /* published after being withheld */
    /* attempts (strategy: double spend attempts, spam messages, forged blocks, ...) */
    uint64_t attempts, successes;
    double success_rate;       /* successes / attempts (NaN without attempts) */
    /* ties (selfish): honest blocks found on either side of a tie */
    uint64_t ties, ties_won;   /* ... and those found on the attacker's side */
    double gamma;              /* ties_won / ties (NaN without ties) */
    double expected;           /* the closed form for this outcome (NaN: none): */
                               /* selfish: Eyal-Sirer R(share, gamma); double_spend: */
                               /* Nakamoto P(share, confirmations) */
    /* money */
    pu_amount loss;            /* the victims' loss (a merchant's goods) */
    pu_amount stake_slashed;   /* the attacker's stake taken by the rules (PoUW) */
    /* refusals of the attacker's own objects by honest nodes (framework) */
    uint64_t refused_block[PU_R_COUNT_];      /* by pu_reason */
    uint64_t refused_tx[PU_R_COUNT_];         /* by pu_reason */
    uint64_t refused_work[PU_POUW_REASON_COUNT]; /* ML verdicts of its PoUW blocks */
    /* network interference (eclipse, partition) */
    uint64_t msgs_dropped, msgs_delayed;
    /* bounded memories under attack (strategy): peaks over honest nodes
     * while active, and the bounds they must stay under */
    uint64_t peak_mempool, bound_mempool;     /* transactions */
    uint64_t peak_orphans, bound_orphans;     /* blocks */
    uint64_t peak_queue, bound_queue;         /* bytes waiting from one peer */
    /* free text: the strategy's own parameters and figures, "key=value ..." */
    char detail[160];
} sim_attack_outcome;

typedef struct sim_adversary sim_adversary;
typedef struct sim_adversaries sim_adversaries;

/** A strategy: what an adversary type does.  Every member but type and
 * create may be NULL. */
typedef struct sim_strategy {
    int type;                  /* sim_params_adversary_type */
    /** Allocate state (sim_adversary_set_state) and take over nodes and
     * miners; see "Life of an adversary".  Errors stop the run before it
     * starts (err gets a message). */
    pu_err (*create)(sim_ctx *ctx, sim_adversary *adv, char *err, size_t errlen);
    void (*start)(sim_ctx *ctx, sim_adversary *adv);
    void (*stop)(sim_ctx *ctx, sim_adversary *adv);
    /** Events of the kinds in obs_mask (whether active or not). */
    void (*on_event)(sim_ctx *ctx, sim_adversary *adv, const sim_obs *ev);
    uint32_t obs_mask;
    void (*on_timer)(sim_ctx *ctx, sim_adversary *adv, uint64_t arg);
    /** End of run: complete sim_adversary_outcome(adv). */
    void (*finish)(sim_ctx *ctx, sim_adversary *adv);
    void (*free_state)(void *state);
} sim_strategy;

/* The strategies, one file each (registered in adversary.c's table). */
extern const sim_strategy sim_strategy_selfish;
extern const sim_strategy sim_strategy_double_spend;
extern const sim_strategy sim_strategy_partition;
extern const sim_strategy sim_strategy_eclipse;
extern const sim_strategy sim_strategy_withholding;
extern const sim_strategy sim_strategy_delayed_release;
extern const sim_strategy sim_strategy_spam;
/* PoUW (the seated-miner ones share pouw_attack.h) */
extern const sim_strategy sim_strategy_forged_work;
extern const sim_strategy sim_strategy_replay;
extern const sim_strategy sim_strategy_nonce_range;
extern const sim_strategy sim_strategy_wrong_template;
extern const sim_strategy sim_strategy_wrong_batch;
extern const sim_strategy sim_strategy_lazy_verifier;
extern const sim_strategy sim_strategy_poisoning;
extern const sim_strategy sim_strategy_false_report;
extern const sim_strategy sim_strategy_sybil;

/* ---- the run's side (sim.c) ---- */

/** Build every adversary of the scenario (ctx->adversaries).  After the
 * nodes, miners and PoUW roles; listeners are added after theirs. */
PU_NODISCARD pu_err sim_adversaries_new(sim_ctx *ctx, char *err, size_t errlen);
void sim_adversaries_free(sim_adversaries *as);
/** Timeline actions adversary_start / adversary_stop. */
void sim_adversaries_set_active(sim_ctx *ctx, uint32_t index, bool active);
/** SIM_EV_ADVERSARY. */
void sim_adversaries_fire(sim_ctx *ctx, const sim_event *ev);
/** End of run: finish every adversary and report it (SIM_OBS_ATTACK_END). */
void sim_adversaries_report(sim_ctx *ctx);
/** Whether type t has a strategy in this build. */
bool sim_adversaries_have_strategy(int t);

/* ---- for strategies ---- */

const sim_params_adversary *sim_adversary_params(const sim_adversary *adv);
uint32_t sim_adversary_index(const sim_adversary *adv);
bool sim_adversary_active(const sim_adversary *adv);
void *sim_adversary_state(const sim_adversary *adv);
void sim_adversary_set_state(sim_adversary *adv, void *state);
/** The live outcome record (the strategy writes its fields). */
sim_attack_outcome *sim_adversary_outcome(sim_adversary *adv);
/** The adversary a behaviour's node belongs to (NULL for an honest node). */
sim_adversary *sim_adversary_of_node(const sim_ctx *ctx, uint32_t node);
/** Whether node v is run by an adversary (any). */
bool sim_adversary_controls(const sim_ctx *ctx, uint32_t v);

/** A random stream of this adversary's own: (SIM_RNG_ADVERSARY, index,
 * sub), independent of every other stream. */
sim_rng sim_adversary_rng(const sim_ctx *ctx, const sim_adversary *adv, uint32_t sub);
/** Call the strategy's on_timer(arg) at at_ns. */
void sim_adversary_set_timer(sim_ctx *ctx, sim_adversary *adv, uint64_t at_ns, uint64_t arg);

/** Install behaviour beh (with state) on node v: the node is the
 * attacker's from now on (honest-node statistics leave it out). */
PU_NODISCARD pu_err sim_adversary_take_node(sim_ctx *ctx, sim_adversary *adv, uint32_t v,
                                            const sim_behavior *beh, void *state);
/** Make node v a miner if it is not one (with no hash power until
 * sim_adversary_set_share); *miner gets its miner index. */
PU_NODISCARD pu_err sim_adversary_miner(sim_ctx *ctx, sim_adversary *adv, uint32_t v,
                                        uint32_t *miner);
/** Give the adversary's miner `share` of the total hash power (the honest
 * miners scale to hold the rest: sim_mining_set_share). */
void sim_adversary_set_share(sim_ctx *ctx, sim_adversary *adv, uint32_t miner, double share);

/** Register a block / transaction as the attacker's own, so that honest
 * nodes' refusals of it are counted by reason.  Blocks the attacker's node
 * mines are registered by the framework. */
PU_NODISCARD pu_err sim_adversary_own_block(sim_adversary *adv, const pu_block *b);
PU_NODISCARD pu_err sim_adversary_own_tx(sim_adversary *adv, const pu_tx *tx);
bool sim_adversary_is_own_block(const sim_adversary *adv, const pu_hash32 *h);

/* ---- closed forms (also used by tests and analysis) ---- */

/** Eyal and Sirer 2014: the relative revenue of a selfish pool of share
 * alpha when a share gamma of honest miners mine on its block in a tie. */
double sim_attack_selfish_revenue(double alpha, double gamma);
/** Nakamoto 2008, s11: the probability that an attacker of share q ever
 * catches up when the merchant waits z confirmations. */
double sim_attack_nakamoto(double q, uint64_t z);
/** The same race without Nakamoto's Poisson approximation: the attacker's
 * blocks while the honest miners find z are negative binomial (what
 * sim/adversary/double_spend.c simulates, without its give-up limit). */
double sim_attack_nakamoto_exact(double q, uint64_t z);

#endif
