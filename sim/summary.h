/* sim/summary.h -- what a run tells its caller: progress on the way and the
 * summary at the end (sim/sim.h runs it; sim_summary_print writes the text
 * form).  Plain values, every field deterministic except where noted. */
#ifndef SIM_SUMMARY_H
#define SIM_SUMMARY_H

#include "core/types.h"

/** What the progress hook answers. */
typedef enum sim_hook_reply {
    SIM_HOOK_CONTINUE = 0,
    SIM_HOOK_CHECKPOINT, /* write an HDF5 checkpoint now (the CLI: every few seconds) */
    SIM_HOOK_STOP,       /* end the run at this event boundary (the CLI: on a signal) */
} sim_hook_reply;

/** Passed to the progress hook every few thousand events, and every few
 * hundred nodes while sim_new builds the network (events 0). */
typedef struct sim_progress {
    uint64_t now_ns, end_ns;
    uint64_t events;
    uint64_t blocks;       /* mined so far */
    uint64_t max_height;   /* best tip among nodes */
    char stop_reason[96];  /* filled by a hook that answers SIM_HOOK_STOP */
} sim_progress;

typedef struct sim_run_hooks {
    sim_hook_reply (*progress)(void *ctx, sim_progress *p);
    void *ctx;
} sim_run_hooks;

/** Most adversaries the summary lists (the HDF5 /attacks table has them all). */
#define SIM_SUMMARY_MAX_ATTACKS 8

/** The key figures of one attack (the whole record: /attacks). */
typedef struct sim_summary_attack {
    char type[24];                    /* adversary type */
    double share;                     /* hash power while active */
    uint64_t blocks_mined, main_blocks, main_total;
    double revenue_share;             /* NaN: no block in the window */
    double gamma;                     /* measured (NaN: no tie) */
    double expected;                  /* closed form (NaN: none) */
    uint64_t attempts, successes;
    double success_rate;              /* NaN: no attempt */
    int64_t loss, stake_slashed;      /* base units */
    uint64_t refused;                 /* its blocks and transactions refused by honest nodes */
    uint64_t peak_mempool, peak_orphans, peak_queue;
} sim_summary_attack;

/** Simulated outcome of a run (every field deterministic). */
typedef struct sim_summary {
    uint64_t nodes, events, end_ns;
    uint64_t blocks_mined, main_height, stale_blocks;
    double stale_rate;                       /* stale / mined */
    double prop50_median_s, prop50_p90_s;    /* delay to 50 % of nodes */
    double prop90_median_s, prop90_p90_s;    /* delay to 90 % of nodes */
    uint64_t prop50_blocks, prop90_blocks;   /* blocks that reached 50 % / 90 % (the samples) */
    uint64_t txs_created, txs_confirmed;
    double conf_median_s, conf_p90_s;        /* creation -> inclusion in the main chain */
    uint64_t reorgs, reorg_max_depth;
    uint64_t blocks_refused;                 /* invalid blocks refused by nodes (all reasons
                                              * but duplicates and not-yet-valid times) */
    uint64_t messages, message_bytes;
    double mean_interval_s;                  /* main-chain block interval */
    double bytes_per_block;                 /* bytes of block messages (announcements, blocks,
                                              * compact parts, PoUW data) per block mined */
    uint64_t mem_bytes_per_node;             /* chain + mempool + net state, mean */
    /* consensus pouw */
    bool pouw;
    uint64_t pouw_blocks;                    /* blocks mined from training iterations */
    uint64_t pouw_iterations;                /* iterations run, all miners */
    uint64_t pouw_verifications, pouw_verify_failures;
    double pouw_best_accuracy;               /* best final test accuracy (evaluator) */
    int pouw_phase_at_end;                   /* pu_task_phase on the reference chain */
    uint64_t pouw_tasks, pouw_tasks_settled, pouw_tasks_dropped; /* arrived, settled, queue full */
    uint64_t pouw_main_blocks;               /* PoUW blocks in the main chain */
    double pouw_block_share;                 /* their share of the main chain's blocks */
    uint64_t pouw_fetch_samples;             /* verifications by nodes other than the miner */
    double pouw_fetch_bytes_median, pouw_fetch_bytes_p90; /* bytes one node fetched for one block */
    double pouw_verify_delay_median_s, pouw_verify_delay_p90_s; /* first heard -> verified */
    /* adversaries */
    uint32_t n_attacks;                      /* listed below (at most SIM_SUMMARY_MAX_ATTACKS) */
    sim_summary_attack attacks[SIM_SUMMARY_MAX_ATTACKS];
} sim_summary;

#endif
