/* sim/params.h -- every scenario parameter: typed values, defaults, a key table.
 *
 * sim_params is a plain struct that the simulator reads directly
 * (p->network.latency.mean_ns).  A static key table describes each key once:
 * its dotted path, type, the field it lives in, default, bounds, unit and a
 * one-line doc.  Parsing, defaults, the canonical dump and the reference
 * documentation (scenarios/README.md) are all driven by that table, so
 * adding a key is one struct field plus one table line in params.c.
 *
 * Lists of maps (the `timeline` of events and the `adversaries`) are
 * entries addressed as "timeline[2].at"; each entry kind has its own small
 * field table.  Timeline events are kept sorted by `at` (stable).
 *
 * Locations: every function taking a sim_diag reads diag->path/line/col as
 * the place the value came from (a file position, or "--set" with line 0)
 * and records it, so that sim_params_check can point back at the key that
 * makes a combination inconsistent.  On failure diag->msg names the key and
 * what was expected; the position is kept, or moved to the offending list
 * item.  diag may be NULL.
 *
 * Numbers that nodes must agree on are integers (durations in ns, sizes in
 * bytes, bandwidths in bit/s, amounts in base units, fractions in ppm);
 * doubles are used only for statistical shapes (shares, rates, latency
 * distribution parameters), parsed with strtod in the "C" locale. */
#ifndef SIM_PARAMS_H
#define SIM_PARAMS_H

#include <stdio.h>

#include "core/types.h"
#include "sim/diag.h"

/* ---- value containers (heap arrays owned by the sim_params) ---- */
typedef struct sim_dlist { double *v; size_t n; } sim_dlist;
typedef struct sim_ulist { uint64_t *v; size_t n; } sim_ulist;
typedef struct sim_slist { char **v; size_t n; } sim_slist;
/** Row-major rows x cols. */
typedef struct sim_dmatrix { double *v; size_t rows, cols; } sim_dmatrix;

/** Where a value came from: src indexes the sources recorded in the params
 * (1-based; 0 = default), line/col are 1-based (0 = no position). */
typedef struct sim_loc { uint32_t src, line, col; } sim_loc;

/* ---- enumerations: the order matches the names in the key table ---- */
typedef enum sim_consensus { SIM_CONSENSUS_POW, SIM_CONSENSUS_POUW } sim_consensus;
typedef enum sim_topology {
    SIM_TOPO_FULL, SIM_TOPO_RANDOM, SIM_TOPO_BITCOIN, SIM_TOPO_SMALL_WORLD,
    SIM_TOPO_SCALE_FREE, SIM_TOPO_FILE
} sim_topology;
/* Same order as sim_latency_kind in sim/latency.h, which sim/sim.c casts
 * this value to; the names differ only to avoid a clash in one build. */
typedef enum sim_params_latency_model {
    SIM_PARAMS_LAT_CONSTANT, SIM_PARAMS_LAT_UNIFORM, SIM_PARAMS_LAT_NORMAL,
    SIM_PARAMS_LAT_LOGNORMAL, SIM_PARAMS_LAT_PARETO, SIM_PARAMS_LAT_REGION
} sim_params_latency_model;
typedef enum sim_jitter { SIM_JITTER_PER_MESSAGE, SIM_JITTER_PER_LINK } sim_jitter;
typedef enum sim_bw_model { SIM_BW_REGION, SIM_BW_UNIFORM } sim_bw_model;
typedef enum sim_relay { SIM_RELAY_PUSH, SIM_RELAY_ANNOUNCE, SIM_RELAY_COMPACT } sim_relay;
/** output.messages and output.tx_lifecycle: which rows a trace records. */
typedef enum sim_trace_mode { SIM_TRACE_NONE, SIM_TRACE_SAMPLE, SIM_TRACE_ALL } sim_trace_mode;
typedef enum sim_tx_relay { SIM_TX_RELAY_PUSH, SIM_TX_RELAY_ANNOUNCE } sim_tx_relay;
typedef enum sim_tx_model { SIM_TX_MODEL_MESSAGES, SIM_TX_MODEL_FLOOD } sim_tx_model;
typedef enum sim_placement { SIM_PLACE_RANDOM, SIM_PLACE_FIRST } sim_placement;
typedef enum sim_pouw_dataset { SIM_POUW_FMNIST, SIM_POUW_SYNTHETIC, SIM_POUW_MNIST } sim_pouw_dataset;

/** Timeline actions.  To add one: a constant here (before SIM_ACTION_COUNT),
 * a line in the action table of params.c naming its fields. */
typedef enum sim_action {
    SIM_ACTION_PARTITION, SIM_ACTION_HEAL, SIM_ACTION_LEAVE, SIM_ACTION_JOIN,
    SIM_ACTION_HASHPOWER, SIM_ACTION_TX_RATE, SIM_ACTION_ADVERSARY_START,
    SIM_ACTION_ADVERSARY_STOP, SIM_ACTION_COUNT
} sim_action;

/** Adversary types.  Semantics live in sim/adversary (one file per
 * strategy); here the container, the fields each type takes, and whether it
 * is implemented (a type that is not is a scenario error).  To add one: a
 * constant here (before SIM_PARAMS_ADV_COUNT), its name in the `type` enum
 * and a line in the type table of params.c, a strategy in sim/adversary. */
typedef enum sim_params_adversary_type {
    SIM_PARAMS_ADV_SELFISH, SIM_PARAMS_ADV_DOUBLE_SPEND, SIM_PARAMS_ADV_ECLIPSE,
    SIM_PARAMS_ADV_PARTITION, SIM_PARAMS_ADV_FORGED_WORK, SIM_PARAMS_ADV_LAZY_VERIFIER,
    SIM_PARAMS_ADV_SYBIL, SIM_PARAMS_ADV_SPAM, SIM_PARAMS_ADV_WITHHOLDING,
    SIM_PARAMS_ADV_DELAYED_RELEASE, SIM_PARAMS_ADV_REPLAY, SIM_PARAMS_ADV_NONCE_RANGE,
    SIM_PARAMS_ADV_WRONG_TEMPLATE, SIM_PARAMS_ADV_WRONG_BATCH, SIM_PARAMS_ADV_FALSE_REPORT,
    SIM_PARAMS_ADV_POISONING, SIM_PARAMS_ADV_COUNT
} sim_params_adversary_type;

/** An adversary's `mode` (which ones a type takes: the type table). */
typedef enum sim_params_adversary_mode {
    SIM_PARAMS_MODE_DEFAULT, /* the type's own default (its first mode in the type table) */
    SIM_PARAMS_MODE_DROP, SIM_PARAMS_MODE_DELAY, SIM_PARAMS_MODE_REORDER,
    SIM_PARAMS_MODE_LOW_FEE, SIM_PARAMS_MODE_CONFLICTING, SIM_PARAMS_MODE_OVERSIZED,
    SIM_PARAMS_MODE_MALFORMED, SIM_PARAMS_MODE_ORPHAN_BLOCKS, SIM_PARAMS_MODE_METRICS,
    SIM_PARAMS_MODE_UPDATE, SIM_PARAMS_MODE_COUNT
} sim_params_adversary_mode;

/** Fork choice between branches of equal work (chain.tie_break). */
typedef enum sim_tie_break { SIM_TIE_FIRST_SEEN, SIM_TIE_RANDOM } sim_tie_break;

/** Most fields an entry kind may have (bit masks are uint32_t). */
#define SIM_ENTRY_MAX_FIELDS 32

/** One timeline event.  Only the fields of its action are meaningful. */
typedef struct sim_timeline_event {
    uint64_t at_ns;     /* simulated time of the event */
    int action;         /* sim_action */
    sim_dlist groups;   /* partition: fraction of nodes in each group */
    sim_ulist nodes;    /* partition: node ids of group 1; leave/join: node ids */
    double fraction;    /* leave/join: fraction of nodes */
    uint64_t miner;     /* hashpower: miner index */
    double share;       /* hashpower: new share of the total hash power */
    double rate;        /* tx_rate: transactions per second */
    uint64_t adversary; /* adversary_start/stop: index into adversaries */
    uint32_t given;     /* bit i: field i of the timeline field table was given */
    sim_loc where;      /* the entry */
    sim_loc field_at[SIM_ENTRY_MAX_FIELDS];
} sim_timeline_event;

/** One adversary.  Which fields a type takes: the type table in params.c
 * (scenarios/README.md lists them); the others keep their defaults. */
typedef struct sim_params_adversary {
    int type;               /* sim_params_adversary_type */
    double share;           /* share of the total hash power it controls */
    uint64_t node;          /* node it runs on */
    uint64_t start_ns;      /* active from */
    uint64_t stop_ns;       /* active until; 0 = end of run */
    uint64_t target;        /* victim node: double_spend's merchant, eclipse */
    uint64_t confirmations; /* double_spend: confirmations the merchant waits for */
    pu_amount amount;       /* double_spend: amount of the attacked payment */
    double rate;            /* spam: messages per second */
    uint64_t count;         /* double_spend: attempts (0 = until stopped); PoUW: identities */
    double probability;     /* PoUW attacks: chance per opportunity */
    uint64_t give_up;       /* double_spend: deficit (blocks) at which an attempt is abandoned */
    sim_slist stubborn;     /* selfish: stubborn variants ("lead", "equal_fork", "trail") */
    uint64_t trail;         /* selfish, trail stubborn: blocks it may trail by */
    int mode;               /* sim_params_adversary_mode */
    uint64_t delay_ns;      /* delayed_release, eclipse/partition delay mode */
    sim_ulist nodes;        /* eclipse: victims; partition: one side; spam: targets */
    sim_dmatrix links;      /* partition: links cut, rows [a, b] */
    pu_amount fee;          /* spam: fee of each flood transaction */
    uint64_t size;          /* spam oversized: bytes of each message */
    uint64_t wallet;        /* double_spend, spam: the workload wallet whose coins it spends */
    bool eclipse;           /* double_spend: eclipse the merchant too */
    uint32_t given;
    sim_loc where;
    sim_loc field_at[SIM_ENTRY_MAX_FIELDS];
} sim_params_adversary;

typedef struct sim_params_src sim_params_src; /* opaque: where values came from */

typedef struct sim_params {
    char *name;
    uint64_t seed;
    uint64_t duration_ns;
    uint64_t stop_after_blocks;
    int consensus; /* sim_consensus */
    struct {
        uint64_t nodes;
        struct {
            int model; /* sim_topology */
            uint64_t degree;
            double rewire;
            uint64_t max_inbound;
            char *file;
        } topology;
        struct {
            sim_slist names;
            sim_dlist shares;
            sim_dmatrix latency_ms;
            sim_ulist download, upload; /* bit/s */
            uint64_t inter_region_cap;  /* bit/s */
        } regions;
        struct {
            int model; /* sim_params_latency_model */
            uint64_t mean_ns, min_ns, max_ns, stddev_ns;
            double sigma, shape;
            int jitter; /* sim_jitter */
        } latency;
        struct {
            int model; /* sim_bw_model */
            uint64_t upload, download; /* bit/s */
        } bandwidth;
        uint32_t loss_ppm;
        uint64_t retransmit_timeout_ns;
        int relay; /* sim_relay */
        uint64_t compact_hb_peers; /* compact: 0 = push to every peer; k = BIP152 with k */
        int tx_relay; /* sim_tx_relay */
        uint64_t tx_trickle_ns;
        uint64_t peer_buffer; /* bytes; 0 = unbounded */
        int tx_model; /* sim_tx_model */
        uint64_t tx_flood_samples;
    } network;
    struct {
        uint64_t block_interval_ns;
        pu_amount block_reward, min_fee;
        uint64_t mempool_capacity;
        uint64_t max_block_size; /* bytes */
        uint64_t block_fill, block_fill_compact; /* bytes on the wire (an abstraction) */
        uint64_t retarget_interval, retarget_clamp;
        bool fixed_target;
        uint64_t pow_hashes_per_block;
        uint64_t pow_limit_factor; /* the easiest target: this x the start's */
        uint64_t coinbase_maturity;
        uint64_t max_future_time_ns;
        uint64_t orphan_limit;
        int tie_break; /* sim_tie_break */
    } chain;
    struct {
        uint64_t miners;
        sim_dlist hashpower;
        int placement; /* sim_placement */
    } mining;
    struct {
        double rate;
        uint64_t wallets, outputs, max_inputs;
        pu_amount initial_balance, fee;
    } transactions;
    struct {
        uint64_t verify_signature_ns, verify_tx_ns, verify_header_ns, connect_tx_ns;
    } cpu;
    struct {
        char *hdf5;
        uint64_t sample_interval_ns;
        bool arrivals;
        bool tx_arrivals;
        char *sqlite;
        uint64_t sqlite_node;
        bool progress;
        int messages;             /* sim_trace_mode */
        uint32_t message_sample_ppm;
        int tx_lifecycle;         /* sim_trace_mode */
        uint32_t tx_sample_ppm;
    } output;
    struct {
        struct {
            int dataset; /* sim_pouw_dataset */
            sim_ulist hidden;
            uint64_t train_size, test_size, features, classes, data_seed;
            uint64_t batch_size, max_iterations;
            double lr, tau, momentum;
            uint32_t min_accuracy_ppm, convergence_ppm;
            uint64_t seed;
            pu_amount fee, stake, verifier_stake;
            uint64_t registration_blocks;
        } task;
        uint64_t submit_at_ns;
        uint64_t miners, supervisors, evaluators, verifiers;
        uint64_t miner_seats; /* 0: the task's required miners */
        double gflops;
        uint64_t iteration_time_ns;
        double verify_gflops;
        double pow_share;
        uint64_t commit_lag;
        double nonces_per_batch_byte, nonces_per_param;
        uint64_t task_timeout;
        char *fmnist_dir;
        char *mnist_dir;
        uint64_t clients;
        pu_amount funds;
        pu_amount min_task_fee;
        uint64_t gradient_share_every;
        uint64_t status_interval_ns;
        uint64_t data_cache;
        uint64_t pow_fallback_ns;
        struct {
            double rate;             /* tasks per hour; 0: one task at submit_at */
            uint64_t tasks, max_concurrent, queue_limit, datasets;
            sim_dlist hidden_scale;
            sim_ulist max_iterations;
        } workload;
    } pouw;

    sim_timeline_event *timeline; /* sorted by at_ns, stable */
    size_t n_timeline;
    sim_params_adversary *adversaries;
    size_t n_adversaries;

    sim_params_src *src;
} sim_params;

/* ---- the key table ---- */
typedef enum sim_ptype {
    SIM_PT_SECTION, /* not a value: documents a group of keys */
    SIM_PT_BOOL, SIM_PT_U64, SIM_PT_I64, SIM_PT_DOUBLE, SIM_PT_PPM, SIM_PT_STRING, SIM_PT_ENUM,
    SIM_PT_DURATION, SIM_PT_SIZE, SIM_PT_BANDWIDTH, SIM_PT_AMOUNT,
    SIM_PT_DLIST, SIM_PT_ULIST, SIM_PT_SLIST, SIM_PT_BWLIST, SIM_PT_DMATRIX
} sim_ptype;

/** One key (or entry field).  Text is stored inline so the table is
 * read-only data (no relocated pointers).  Bounds are written in the value
 * syntax of the element type and apply to each element of a list. */
typedef struct sim_param_key {
    char path[48];
    sim_ptype type;
    size_t off;       /* offsetof into sim_params (or the entry struct) */
    char def[208];    /* default, in sim_params_set syntax */
    char min[24];     /* "" = unbounded */
    char max[24];
    char names[224];  /* enum: allowed names separated by '|'; index = value */
    char unit[16];    /* for the docs */
    char doc[160];    /* one line, says what the key means */
} sim_param_key;

size_t sim_params_key_count(void);
/** Borrowed, static; NULL when i is out of range. */
const sim_param_key *sim_params_key_at(size_t i);
/** The key with that exact dotted path (sections included), or NULL. */
const sim_param_key *sim_params_key_find(const char *path);
/** True when path is a section: a SECTION row or a proper prefix of a key. */
bool sim_params_is_section(const char *path);
/** True for the names of entry lists ("timeline", "adversaries"). */
bool sim_params_is_entry_list(const char *path);
/** True when the key takes a list of values (or a matrix). */
bool sim_params_type_is_list(sim_ptype t);
/** diag->msg = "unknown key 'path'" with a "did you mean" hint when a known
 * key, section or entry list is close (edit distance, or the same last
 * component in another section). */
void sim_params_unknown_key(const char *path, sim_diag *diag);
/** diag->msg = "<path>: expected <what the key takes>, got <got>" for a value
 * of the wrong shape (got is e.g. "a mapping"); path may name an entry field.
 * For an unknown path, the unknown-key message instead. */
void sim_params_wrong_shape(const sim_params *p, const char *path, const char *got,
                            sim_diag *diag);

/** Resolve a key or entry-field path ("timeline[0].at") to its table row;
 * PU_ERR_PARSE with diag->msg saying why not (unknown key with a hint, a
 * section, no such entry, unknown field) otherwise. */
PU_NODISCARD pu_err sim_params_lookup(const sim_params *p, const char *path,
                                      const sim_param_key **out, sim_diag *diag);

/* ---- lifecycle ---- */
/** All defaults.  p is uninitialised storage.  PU_ERR_NOMEM; on failure p is
 * left released (all zero). */
PU_NODISCARD pu_err sim_params_init_defaults(sim_params *p);
/** Free lists, strings, entries and locations; p becomes all zero.  NULL ok. */
void sim_params_release(sim_params *p);

/* ---- setting values ---- */
/** Set one key from text.  path is a dotted key ("network.latency.mean") or
 * an entry field ("timeline[0].at", "adversaries[1].share").  Lists and
 * matrices accept "[a, b, c]" and "[[1, 2], [3, 4]]" (strings may be
 * "double-quoted" with \" \\ \n \t escapes).  Returns PU_ERR_PARSE (unknown
 * key, malformed value), PU_ERR_RANGE (out of bounds, overflow, too fine),
 * PU_ERR_NOMEM.  On failure the old value is kept. */
PU_NODISCARD pu_err sim_params_set(sim_params *p, const char *path, const char *text,
                                   sim_diag *diag);
/** As sim_params_set, for text a parser has already decoded (a YAML scalar,
 * a file name): a string value is taken verbatim, quotes and backslashes
 * included.  List keys still read their "[a, b]" text syntax. */
PU_NODISCARD pu_err sim_params_set_decoded(sim_params *p, const char *path, const char *text,
                                           sim_diag *diag);

/** One list element given separately (a YAML sequence item).  For matrices,
 * row numbers the row (0, 1, ...; a skipped number is an empty row). */
typedef struct sim_params_item {
    const char *text;
    uint32_t line, col; /* 0 = use the diag's position */
    uint32_t row;
} sim_params_item;

/** Replace a list (or matrix) key with n items, each already decoded (string
 * items are taken verbatim); errors point at the item. */
PU_NODISCARD pu_err sim_params_set_list(sim_params *p, const char *path,
                                        const sim_params_item *items, size_t n,
                                        sim_diag *diag);

/** Append an empty entry to "timeline" or "adversaries" at the diag's
 * position; *idx receives its index.  Fill it with sim_params_set on
 * "list[idx].field", then call sim_params_entry_end. */
PU_NODISCARD pu_err sim_params_entry_begin(sim_params *p, const char *list, size_t *idx,
                                           sim_diag *diag);
/** Check the entry's required and allowed fields (errors point at the
 * offending field, or at the entry for a missing one) and, for the
 * timeline, move it to its place in `at` order after equal times. */
PU_NODISCARD pu_err sim_params_entry_end(sim_params *p, const char *list, size_t idx,
                                         sim_diag *diag);

/* ---- whole-scenario checks and output ---- */
/** Cross-field consistency (region lists agree, shares sum to 1 within 1e-6,
 * miners <= nodes, latency min <= max, events within the run, node / miner /
 * adversary references exist, ...).  PU_ERR_RANGE with diag at the recorded
 * position of the key the message is about, or of the other key involved
 * when that one kept its default; a diag->path set by the caller (the
 * scenario file) is kept, without a line, when neither was given.
 * Structural entry errors found here (a field foreign to its action after
 * an override) give PU_ERR_PARSE. */
PU_NODISCARD pu_err sim_params_check(const sim_params *p, sim_diag *diag);

/** Canonical "key = value\n" text of every resolved key, sorted bytewise by
 * key; entries appear under their list name in list order as
 * "timeline[0].at = 10min".  Same params -> same bytes.  *out is malloc'd,
 * NUL-terminated; PU_ERR_NOMEM. */
PU_NODISCARD pu_err sim_params_dump(const sim_params *p, char **out);

/** The canonical text of one key or entry field ("network.nodes",
 * "adversaries[0].share"), exactly as sim_params_dump writes its value:
 * setting the key to this text with sim_params_set gives the same value.
 * *out is malloc'd, NUL-terminated.  PU_ERR_PARSE (diag says why) for an
 * unknown key, a section or a missing entry; PU_ERR_NOMEM. */
PU_NODISCARD pu_err sim_params_value_text(const sim_params *p, const char *path, char **out,
                                          sim_diag *diag);

/** Write the scenario reference (scenarios/README.md): an introduction, the
 * units, timeline and adversary tables and one table per section with key,
 * type, unit, default, range and meaning.  PU_ERR_IO on a write error. */
PU_NODISCARD pu_err sim_params_markdown(FILE *f);

/** Whether adversary type t has a strategy (sim/adversary); the others are
 * scenario errors ("not implemented yet"). */
bool sim_params_adversary_implemented(int t);
/** Whether type t attacks proof of useful work (it needs consensus: pouw). */
bool sim_params_adversary_pouw(int t);
/** The scenario name of adversary type t ("selfish", ...) in buf. */
void sim_params_adversary_type_name(int t, char *buf, size_t n);
/** a->mode, or its type's default mode when a->mode is "default". */
int sim_params_adversary_mode_of(const sim_params_adversary *a);
/** Whether a->stubborn names variant v ("lead", "equal_fork", "trail"). */
bool sim_params_adversary_stubborn(const sim_params_adversary *a, const char *v);

/** The recorded location of a key or entry field (src 0 when default);
 * PU_ERR_NOTFOUND for an unknown path. */
PU_NODISCARD pu_err sim_params_origin(const sim_params *p, const char *path, sim_loc *out);
/** The text of source src (1-based) or NULL. */
const char *sim_params_source_name(const sim_params *p, uint32_t src);
/** Point d at where the key or entry field `path` was given (its source and
 * line:col, "--set" without a line); for a key left at its default, d keeps
 * its path and loses its position.  For errors found after loading -- a
 * resource limit, a failure during the run -- that a value causes. */
void sim_params_diag_at(const sim_params *p, const char *path, sim_diag *d);

#endif
