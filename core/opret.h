/* core/opret.h -- the 160-byte OP_RETURN record (PROTOCOL.md s4): typed payloads, their
 * canonical encoding, zstd compression with a shipped dictionary, and a strict
 * decoder that names the reason for every rejection.
 *
 * Record, format version 1 (all integers big-endian):
 *
 *   off  size  field
 *     0     1  version = 1
 *     1     1  op code (pu_opret_op, 1..8)
 *     2     4  timestamp u32, seconds of simulated time
 *     6    20  node id hash = SHA-1(node's 33-byte compressed public key)
 *    26    32  task id hash = SHA-256(raw 32-byte task id); all zero when the
 *              message concerns no task (NETWORK_STATE by convention;
 *              WORKER_REGISTRATION for "any task")
 *    58    98  payload area: H u8 | data (L = H & 0x7f bytes) | zero padding
 *   156     4  CRC-32 (zlib) of bytes 0..155
 *
 * Payload area: H u8 | L data bytes | zero padding, with L = H & 0x7f in
 * 1..97.  H & 0x80 set: the data is one zstd compressed block (RFC 8878
 * s3.1.1.3, the content of a Compressed_Block) made with the shipped
 * dictionary (pu_opret_dict, id PU_OPRET_DICT_ID, fixed by the format version);
 * clear: the data is the canonical payload itself, stored because zstd could
 * not make it shorter.  Decompressed, the payload is the op code's canonical
 * encoding below, at most PU_OPRET_RAW_MAX bytes; its layout determines where
 * it ends, so no raw length is stored (the parser reports truncated and
 * trailing payloads instead).
 *
 * Why a bare block and not a frame: the smallest zstd frame (magicless, no
 * checksum, dictionary id or content size) still spends 2 bytes on the frame
 * header and 3 on the block header, and everything they say is either fixed
 * by the format or already in H.  On these 19-117 byte payloads those 5 bytes
 * are 15-25 % of the compressed size, and an incompressible payload would
 * cost 6 bytes more than itself instead of 1.  The data is still standard
 * zstd: prefixing 00 00 (magicless frame header, 1 KiB window) and the block
 * header (last block, compressed, size L) gives a frame any zstd decoder with
 * the dictionary accepts (tested).
 *
 * Canonical payloads (fixed width, big-endian; counts u32 as PROTOCOL.md s1 says;
 * "prefix8" = first 8 bytes of a SHA-256 digest, enough to name an object
 * that is already on chain or in the task's message history; "ppm" = parts
 * per million; amounts i64 base units in [0, PU_MAX_MONEY]):
 *
 *  1 TASK_SUBMISSION (rides in PAY_FOR_TASK; task id hash = the task's)
 *      fee i64 | min_stake i64 | min_accuracy_ppm u32 | max_iterations u32
 *      | batch_size u32 | learning_rate_ppm u32 | required_miners u32
 *      | registration_blocks u32 | activation u8 | n_layers u32 (2..8)
 *      | layer u32 x n_layers (input .. output, each >= 1) | dataset_size u32
 *      | name_len u32 (1..32) | dataset name (printable ASCII)
 *  2 TASK_RESULT (evaluators' result)
 *      model_hash prefix8 (winning model) | test_samples u32
 *      | iterations_run u32 | n_ranked u32 (0..8)
 *      | (miner_index u8 | accuracy_ppm u32) x n_ranked, best first;
 *      miner_index is the position in the task's deterministic miner selection
 *      (an index, not a key hash: exact, and cannot be ground to collide)
 *  3 WORKER_REGISTRATION (rides in BUY_TICKETS; task id hash = SHA-256 of the
 *    preferred task id, or zero for "any task", as the body's task_pref)
 *      role u8 (1 miner, 2 supervisor, 3 evaluator, 4 verifier) | stake i64
 *      | min_task_fee i64 | throughput_sps u32 (claimed samples/s)
 *      | max_params u32 (largest model accepted, parameters)
 *  4 CONSENSUS_VOTE (task-group message anchored on chain)
 *      epoch u32 | iteration u32 | subject u8 (pu_opret_subject)
 *      | subject prefix8 | vote u8 (1 yes, 2 no, 3 abstain)
 *      | reason u8 (0 with yes; the voter's reason code otherwise)
 *  5 GRADIENT_SHARE (task-group message anchored on chain)
 *      epoch u32 | iteration u32 | update_hash prefix8 | update_size u32 (bytes)
 *      | n_entries u32 | tau_micro u32 | train_loss_micro u32
 *      | train_accuracy_ppm u32
 *  6 VERIFICATION_PROOF (a verifier's attestation)
 *      height u32 | block_hash prefix8 | outcome u8 (pu_opret_outcome)
 *      | iteration u32 | end_model prefix8 (re-executed end model hash)
 *      | reexec_us u32 (simulated CPU time charged for the re-execution)
 *    (core/econ uses subject MODEL for a miner's final model, ITERATION for
 *    a supervisor's audit vote, MISCONDUCT in EVIDENCE transactions)
 *  7 ECONOMIC_EVENT (rides in SETTLEMENT)
 *      kind u8 (pu_opret_econ) | total i64 | to_miners i64 | to_supervisors i64
 *      | to_evaluators i64 | slashed i64 | n_miners u32 | n_supervisors u32
 *      | n_evaluators u32 | n_slashed u32
 *  8 NETWORK_STATE (periodic node status)
 *      height u32 | tip_hash prefix8 | peers u32 | mempool_txs u32
 *      | mempool_bytes u32 | active_tasks u32
 *
 * Domains, enforced alike by encoder (PU_ERR_RANGE) and decoder
 * (PU_OPRET_E_FIELD): enums within their listed values; amounts in
 * [0, PU_MAX_MONEY]; ppm <= 10^6; 2..8 layers, each >= 1; dataset name 1..32
 * bytes of 0x20..0x7e; at most 8 ranked miners; a vote carries a reason iff it
 * is not YES.  Other integers are free here: what they must equal (fee =
 * escrow, stake = body stake, heights, counts) is for the modules that check
 * a record against its transaction.  The largest payload is 117 bytes.
 *
 * Agreement with a transaction body is checked on decoded fields (task id
 * hash, role, stake, fee ...), never by re-encoding and comparing bytes:
 * decoding is fixed by the zstd format, but the compressor's exact output may
 * change between libzstd releases, and the decoder accepts any valid form
 * (stored or compressed, any valid block), so one message can have several
 * records.  Encoding is deterministic for a given libzstd (the known-answer
 * test pins the bytes of 1.5.4).
 *
 * Not thread-safe: a codec holds zstd contexts; use one per thread or run. */
#ifndef PU_OPRET_H
#define PU_OPRET_H

#include "core/crypto.h"
#include "core/types.h"

#define PU_OPRET_SIZE         160u  /* same definition as core/tx.h */
#define PU_OPRET_VERSION      1u
#define PU_OPRET_OFF_OP       1u
#define PU_OPRET_OFF_TIME     2u
#define PU_OPRET_OFF_NODE     6u
#define PU_OPRET_OFF_TASK     26u
#define PU_OPRET_OFF_PAYLOAD  58u
#define PU_OPRET_PAYLOAD_SIZE 98u
#define PU_OPRET_OFF_CRC      156u
#define PU_OPRET_DATA_MAX     97u   /* payload area minus its header byte */
#define PU_OPRET_COMPRESSED   0x80u /* header bit: data is a zstd block */
#define PU_OPRET_RAW_MAX      160u  /* largest decompressed payload accepted */
#define PU_OPRET_PREFIX       8u    /* bytes of a hash prefix */
#define PU_OPRET_MAX_LAYERS   8u
#define PU_OPRET_MAX_NAME     32u
#define PU_OPRET_MAX_RANKED   8u
#define PU_OPRET_PPM          1000000u
/* Level the shipped dictionary was tuned for (tests/tools/opret_train). */
#define PU_OPRET_ZSTD_LEVEL   19
/* Part of format version 1: the id inside pu_opret_dict.  pu_opret_codec_new
 * refuses a build whose dictionary carries another id. */
#define PU_OPRET_DICT_ID      0x44ba55c8u

/** The shipped dictionary (core/opret_dict.c, generated by opret_train). */
extern const uint8_t pu_opret_dict[];
extern const size_t pu_opret_dict_len;
extern const uint32_t pu_opret_dict_id;

typedef enum pu_opret_op {
    PU_OPRET_TASK_SUBMISSION = 1,
    PU_OPRET_TASK_RESULT = 2,
    PU_OPRET_WORKER_REGISTRATION = 3,
    PU_OPRET_CONSENSUS_VOTE = 4,
    PU_OPRET_GRADIENT_SHARE = 5,
    PU_OPRET_VERIFICATION_PROOF = 6,
    PU_OPRET_ECONOMIC_EVENT = 7,
    PU_OPRET_NETWORK_STATE = 8,
} pu_opret_op;
#define PU_OPRET_OP_COUNT 8u

typedef enum pu_opret_activation {
    PU_OPRET_ACT_RELU = 1,
    PU_OPRET_ACT_SIGMOID = 2,
    PU_OPRET_ACT_TANH = 3,
} pu_opret_activation;

/* Same numbering as pu_role in core/tx.h (BUY_TICKETS body). */
typedef enum pu_opret_role {
    PU_OPRET_ROLE_MINER = 1,
    PU_OPRET_ROLE_SUPERVISOR = 2,
    PU_OPRET_ROLE_EVALUATOR = 3,
    PU_OPRET_ROLE_VERIFIER = 4,
} pu_opret_role;

/** What a CONSENSUS_VOTE is about. */
typedef enum pu_opret_subject {
    PU_OPRET_SUBJ_ITERATION = 1, /* a miner's iteration message */
    PU_OPRET_SUBJ_BLOCK = 2,     /* a PoUW block */
    PU_OPRET_SUBJ_MODEL = 3,     /* a final model */
    PU_OPRET_SUBJ_MISCONDUCT = 4 /* a proposal to slash a worker */
} pu_opret_subject;

typedef enum pu_opret_vote {
    PU_OPRET_VOTE_YES = 1,
    PU_OPRET_VOTE_NO = 2,
    PU_OPRET_VOTE_ABSTAIN = 3,
} pu_opret_vote;

/** verify_ml_work outcomes (PROTOCOL.md s5). */
typedef enum pu_opret_outcome {
    PU_OPRET_VERIFY_OK = 1,
    PU_OPRET_VERIFY_MALFORMED = 2,
    PU_OPRET_VERIFY_UNKNOWN_DATA = 3,
    PU_OPRET_VERIFY_BAD_REEXEC = 4,
} pu_opret_outcome;

typedef enum pu_opret_econ {
    PU_OPRET_ECON_SETTLEMENT = 1,   /* escrow paid out to the task's workers */
    PU_OPRET_ECON_STAKE_RETURN = 2, /* stakes released to honest workers */
    PU_OPRET_ECON_SLASH = 3,        /* stakes taken for proven misbehaviour */
    PU_OPRET_ECON_REFUND = 4,       /* escrow returned to the client */
} pu_opret_econ;

typedef struct pu_opret_task_submission {
    pu_amount fee;                 /* escrowed fee = PAY_FOR_TASK's locked amount */
    pu_amount min_stake;           /* stake each worker must lock */
    uint32_t min_accuracy_ppm;     /* <= PU_OPRET_PPM */
    uint32_t max_iterations;
    uint32_t batch_size;
    uint32_t learning_rate_ppm;    /* learning rate x 1e6 */
    uint32_t required_miners;
    uint32_t registration_blocks;  /* length of the registration window */
    uint8_t activation;            /* pu_opret_activation */
    uint32_t n_layers;             /* 2..PU_OPRET_MAX_LAYERS */
    uint32_t layers[PU_OPRET_MAX_LAYERS];
    uint32_t dataset_size;         /* samples */
    char dataset_name[PU_OPRET_MAX_NAME + 1]; /* NUL-terminated, 1..32 printable ASCII */
} pu_opret_task_submission;

typedef struct pu_opret_rank {
    uint8_t miner_index;           /* position in the task's miner selection */
    uint32_t accuracy_ppm;
} pu_opret_rank;

typedef struct pu_opret_task_result {
    uint8_t model_hash[PU_OPRET_PREFIX];
    uint32_t test_samples;
    uint32_t iterations_run;
    uint32_t n_ranked;             /* 0..PU_OPRET_MAX_RANKED */
    pu_opret_rank ranked[PU_OPRET_MAX_RANKED]; /* best first */
} pu_opret_task_result;

typedef struct pu_opret_worker_registration {
    uint8_t role;                  /* pu_opret_role */
    pu_amount stake;
    pu_amount min_task_fee;        /* smallest task fee this worker takes */
    uint32_t throughput_sps;
    uint32_t max_params;
} pu_opret_worker_registration;

typedef struct pu_opret_consensus_vote {
    uint32_t epoch;
    uint32_t iteration;
    uint8_t subject;               /* pu_opret_subject */
    uint8_t subject_hash[PU_OPRET_PREFIX];
    uint8_t vote;                  /* pu_opret_vote */
    uint8_t reason;                /* 0 iff vote is YES */
} pu_opret_consensus_vote;

typedef struct pu_opret_gradient_share {
    uint32_t epoch;
    uint32_t iteration;
    uint8_t update_hash[PU_OPRET_PREFIX];
    uint32_t update_size;
    uint32_t n_entries;
    uint32_t tau_micro;
    uint32_t train_loss_micro;
    uint32_t train_accuracy_ppm;   /* <= PU_OPRET_PPM */
} pu_opret_gradient_share;

typedef struct pu_opret_verification_proof {
    uint32_t height;
    uint8_t block_hash[PU_OPRET_PREFIX];
    uint8_t outcome;               /* pu_opret_outcome */
    uint32_t iteration;
    uint8_t end_model_hash[PU_OPRET_PREFIX];
    uint32_t reexec_us;
} pu_opret_verification_proof;

typedef struct pu_opret_economic_event {
    uint8_t kind;                  /* pu_opret_econ */
    pu_amount total;
    pu_amount to_miners;
    pu_amount to_supervisors;
    pu_amount to_evaluators;
    pu_amount slashed;
    uint32_t n_miners;
    uint32_t n_supervisors;
    uint32_t n_evaluators;
    uint32_t n_slashed;
} pu_opret_economic_event;

typedef struct pu_opret_network_state {
    uint32_t height;
    uint8_t tip_hash[PU_OPRET_PREFIX];
    uint32_t peers;
    uint32_t mempool_txs;
    uint32_t mempool_bytes;
    uint32_t active_tasks;
} pu_opret_network_state;

/** A decoded record: plain value.  `op` selects the union member.  Start from
 * pu_opret_msg_init so unused bytes are zero. */
typedef struct pu_opret_msg {
    uint8_t op;                    /* pu_opret_op */
    uint32_t timestamp;
    uint8_t node_id_hash[20];
    pu_hash32 task_id_hash;
    union {
        pu_opret_task_submission task;
        pu_opret_task_result result;
        pu_opret_worker_registration reg;
        pu_opret_consensus_vote vote;
        pu_opret_gradient_share grad;
        pu_opret_verification_proof proof;
        pu_opret_economic_event econ;
        pu_opret_network_state net;
    };
} pu_opret_msg;

/** Why a record was rejected.  Values are stable (they reach logs and HDF5). */
typedef enum pu_opret_status {
    PU_OPRET_OK = 0,
    PU_OPRET_E_LENGTH = 1,       /* not exactly 160 bytes */
    PU_OPRET_E_CRC = 2,          /* CRC-32 of bytes 0..155 does not match */
    PU_OPRET_E_VERSION = 3,      /* unknown format version */
    PU_OPRET_E_OPCODE = 4,       /* unknown op code */
    PU_OPRET_E_HEADER = 5,       /* payload header byte no record of this format has:
                                  * data length L = H & 0x7f is 0 or above 97 */
    PU_OPRET_E_PADDING = 6,      /* a nonzero byte after the data */
    PU_OPRET_E_DECOMPRESS = 7,   /* the data is not a valid zstd block for the dictionary */
    PU_OPRET_E_OVERRUN = 8,      /* decompresses to more than PU_OPRET_RAW_MAX bytes */
    PU_OPRET_E_TRUNCATED = 9,    /* typed payload ends before its last field */
    PU_OPRET_E_TRAILING = 10,    /* bytes left after the typed payload */
    PU_OPRET_E_FIELD = 11,       /* a field outside its domain (enum, count, amount, ppm, name) */
    PU_OPRET_E_ZLIB = 12,        /* the payload area starts with a zlib stream header where
                                  * the header byte H belongs: the envelope is valid, the
                                  * payload is another codec's (the Python implementation
                                  * elfateh4/PoUW writes zlib over JSON; core/opret_py) */
} pu_opret_status;
#define PU_OPRET_STATUS_COUNT 13u

/** True iff p[0], p[1] open a zlib stream (RFC 1950): compression method 8
 * (deflate), window at most 32 KiB, no preset dictionary, FCHECK making the
 * pair a multiple of 31.  The decoder asks only when the header byte is
 * invalid here (L = 0 or above 97), as 0x78 is (L = 120: the first byte of
 * every stream zlib writes with its default 32 KiB window), so a valid
 * record of this format is never taken for zlib. */
bool pu_opret_zlib_header(const uint8_t p[2]);

/** Static string naming a status: never NULL, never freed. */
const char *pu_opret_status_str(pu_opret_status s);
/** Static name of an op code ("TASK_SUBMISSION" ...), "UNKNOWN" otherwise. */
const char *pu_opret_op_name(uint8_t op);

/** Zero *m and set its op code. */
void pu_opret_msg_init(pu_opret_msg *m, pu_opret_op op);
/** True iff both messages are valid and carry the same header fields and the
 * same canonical payload (fields of the active union member only; padding and
 * inactive members are ignored).  An invalid message equals nothing. */
bool pu_opret_msg_eq(const pu_opret_msg *a, const pu_opret_msg *b);

/** Node id hash = SHA-1 of the 33-byte compressed public key. */
void pu_opret_node_id_hash(pu_crypto *c, const uint8_t pub[33], uint8_t out[20]);
/** Task id hash = SHA-256 of the raw 32-byte task id. */
void pu_opret_task_id_hash(pu_crypto *c, const pu_hash32 *task_id, pu_hash32 *out);

/** Canonical (uncompressed) payload of m into out; *out_len its length.
 * PU_ERR_RANGE if the op code is unknown or a field is outside its domain
 * (the same domain the decoder accepts). */
PU_NODISCARD pu_err pu_opret_payload_encode(const pu_opret_msg *m,
                                            uint8_t out[PU_OPRET_RAW_MAX], size_t *out_len);

typedef struct pu_opret_codec pu_opret_codec;

/** Codec of format version 1: the shipped dictionary at PU_OPRET_ZSTD_LEVEL.
 * PU_ERR_NOMEM; PU_ERR_STATE if the linked dictionary is not the one the
 * format names (id mismatch: core/opret_dict.c regenerated without a new
 * format version). */
PU_NODISCARD pu_err pu_opret_codec_new(pu_opret_codec **out);
/** Codec with another dictionary (dict may be NULL with dict_len 0: no
 * dictionary) and level 1..ZSTD_maxCLevel().  For the trainer and benchmarks
 * only: its records carry version 1 but only a codec with the same dictionary
 * decodes them.  PU_ERR_RANGE if dict is not a zstd dictionary (raw content
 * dictionaries are refused) or the level is out of range; PU_ERR_NOMEM. */
PU_NODISCARD pu_err pu_opret_codec_new_custom(const uint8_t *dict, size_t dict_len, int level,
                                              pu_opret_codec **out);
void pu_opret_codec_free(pu_opret_codec *c);

/** Encode m into exactly 160 bytes: compressed when that is shorter, stored
 * otherwise.  PU_ERR_RANGE if a field is invalid or the payload exceeds 97
 * bytes even compressed (never truncated); PU_ERR_NOMEM.  On failure out is
 * all zero. */
PU_NODISCARD pu_err pu_opret_encode(pu_opret_codec *c, const pu_opret_msg *m,
                                    uint8_t out[PU_OPRET_SIZE]);
/** Decode len bytes.  PU_OK with *status PU_OPRET_OK, or PU_ERR_PARSE with the
 * reason in *status and *out zeroed.  Allocates nothing. */
PU_NODISCARD pu_err pu_opret_decode(pu_opret_codec *c, const uint8_t *in, size_t len,
                                    pu_opret_msg *out, pu_opret_status *status);

/** Synthetic but representative message number `index` of op code `op`,
 * a pure function of (seed, op, index): round amounts, accuracies near
 * 0.8-0.9, small counts, the common layouts.  Feeds dictionary training
 * (tests/tools/opret_train), the tests and the benchmark; the protocol never
 * calls it.  PU_ERR_RANGE for an unknown op code. */
PU_NODISCARD pu_err pu_opret_sample(uint64_t seed, uint8_t op, uint64_t index, pu_opret_msg *out);

#endif
