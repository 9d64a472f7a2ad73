/* core/pouw.h -- proof of useful work: iteration messages, commitments,
 * nonces, mining proofs and verify_ml_work (PROTOCOL.md s5).
 *
 * ## Iteration message (canonical encoding, big-endian, fixed order)
 *   version u32 | task_id 32 | miner_pub 33 | miner_index u32 | seq u32
 *   | epoch u32 | iter u32 | batch_hash 32 | batch_n u32
 *   | update_hash 32 | update_count u32 | loss_e9 u64 | correct u32 | lr_e9 u64
 *   | model_start 32 | resid_start 32 | model_end 32 | resid_end 32
 *   | n_peers u32 | n_peers x (peer msg id 32 | peer update hash 32)
 *   | commit 32 | prev 32 | sig 64
 * seq is the miner's iteration counter in the task (0, 1, ...); (epoch,
 * iter) = (seq / iters_per_epoch, seq % iters_per_epoch) locate the batch
 * (pu_dataset_batch with the task seed, miner_index and the task's miner
 * count, which is pu_pouw_task_view.n_miners: the miners actually
 * selected; iters_per_epoch = pu_dataset_iters_per_epoch(size of the
 * training split, n_miners, batch_size)).  batch_n is the task's
 * batch_size and lr_e9 the task's lr_e9 (a verifier rejects others).
 * update_count is the number of entries of the update message.  The peers
 * are the update messages applied at the start of the iteration, in the
 * order applied.  commit is the zero-nonce block hash the miner will mine
 * with at seq + k (zero: none).  prev is the id of the
 * miner's message seq - 1 (zero at seq 0): the message history chain.
 * sig signs H2(encoding with sig zeroed) with the miner's key; the message
 * id is H2(full encoding) and is the header's iteration_message_hash.
 *
 * ## Mining proof (a PoUW block's proof bytes), version 2
 *   version u8 (2) | msg_len u32 | msg | commit_len u32 | commit msg
 *   | n_hist u32 | n_hist x id 32 | block_sig 64
 * block_sig is the miner's signature of the finished block
 * (pu_pouw_sign_block): without it anyone holding a miner's public
 * messages could build blocks from them (replay) and no failure could be
 * pinned on a key; with it every failure found after the signatures is the
 * signer's (pu_pouw_reason_slashable).  Version 1 (no signature) is refused.
 * msg is the iteration message of seq i that produced the nonce; the commit
 * message is the same miner's message of seq i - k that announced the
 * header's zero-nonce hash; hist lists the ids of the miner's messages
 * 0..i, so that header.message_history_hash = merkle root (pu_merkle_root)
 * of hist, hist[i] = id(msg), hist[i-1] = msg.prev, hist[i-k] = id(commit).
 * Model states, residuals and update messages are not in the block: the
 * proof names them by content hash and verifiers resolve them from the
 * task's record (pu_pouw_store), as PROTOCOL.md s5 allows.
 *
 * ## Nonces
 * nonce_base = first 8 bytes (big-endian) of H2(model_end || update_hash);
 * the miner may try nonce_base + j (mod 2^64) for 0 <= j < a, with
 * a = max(1, floor((w_B * batch_bytes + w_M * parameters) / 1e9)),
 * batch_bytes = batch_n * (features + 1), weights in pu_params (e9 units);
 * the products and the sum saturate at 2^64 - 1 (then every nonce is
 * allowed).
 *
 * ## What verification does not check
 * The verifier checks one iteration, not the task's whole record: that
 * model_start is the previous message's model_end, the history ids other
 * than the four it links (hist[i], hist[i-1], hist[i-k], hist[i-k-1]),
 * and the peer message ids (only their update hashes are resolved) are
 * bound by the miner's signatures and audited by the supervisors, whose
 * record holds every message (PROTOCOL.md s5). */
#ifndef PU_POUW_H
#define PU_POUW_H

#include "core/block.h"
#include "core/ml.h"
#include "core/params.h"
#include "core/task.h"

#define PU_POUW_MSG_VERSION 1u
#define PU_POUW_PROOF_VERSION 2u
#define PU_POUW_MAX_PEERS 16u
#define PU_POUW_MAX_HISTORY 1000000u

typedef struct pu_iter_peer {
    pu_hash32 msg_id;
    pu_hash32 update_hash;
} pu_iter_peer;

typedef struct pu_iter_msg {
    uint32_t version;
    pu_hash32 task_id;
    uint8_t miner_pub[33];
    uint32_t miner_index;
    uint32_t seq;
    uint32_t epoch, iter;
    pu_hash32 batch_hash;
    uint32_t batch_n;
    pu_hash32 update_hash;
    uint32_t update_count;
    uint64_t loss_e9;
    uint32_t correct;
    uint64_t lr_e9;
    pu_hash32 model_start, resid_start, model_end, resid_end;
    uint32_t n_peers;
    pu_iter_peer peers[PU_POUW_MAX_PEERS];
    pu_hash32 commit;
    pu_hash32 prev;
    uint8_t sig[64];
} pu_iter_msg;

/** Canonical bytes (free() them).  PU_ERR_RANGE if n_peers > max, NOMEM. */
PU_NODISCARD pu_err pu_iter_msg_encode(const pu_iter_msg *m, uint8_t **out, size_t *len);
/** Strict decoder: exact length, version, n_peers <= max.  PU_ERR_PARSE. */
PU_NODISCARD pu_err pu_iter_msg_decode(const uint8_t *buf, size_t len, pu_iter_msg *out);
/** Sets miner_pub from k and signs.  PU_ERR_RANGE if n_peers > max. */
PU_NODISCARD pu_err pu_iter_msg_sign(pu_crypto *c, pu_iter_msg *m, const pu_keypair *k);
/** False also for n_peers > max. */
bool pu_iter_msg_sig_ok(pu_crypto *c, const pu_iter_msg *m);
/** H2(full encoding).  PU_ERR_RANGE if n_peers > max. */
PU_NODISCARD pu_err pu_iter_msg_id(pu_crypto *c, const pu_iter_msg *m, pu_hash32 *out);
/** Bytes of the encoding (what a task message weighs on the wire). */
size_t pu_iter_msg_size(const pu_iter_msg *m);

/** First 8 bytes of H2(model_end || update_hash), big-endian. */
uint64_t pu_pouw_nonce_base(pu_crypto *c, const pu_hash32 *model_end, const pu_hash32 *update_hash);
/** a for a task and batch size (see the file comment); >= 1. */
uint64_t pu_pouw_nonce_count(const pu_params *p, const pu_task *t, uint32_t batch_n);

/** Mining proof.  decode allocates hist: release with pu_pouw_proof_release.
 * The decoder is strict: version, each message's length prefix equal to
 * its exact decoding, n_hist <= PU_POUW_MAX_HISTORY and backed by the
 * remaining bytes (checked before allocating), no trailing bytes;
 * PU_ERR_PARSE otherwise (*out zeroed), PU_ERR_NOMEM.  encode: PU_ERR_RANGE
 * for n_peers or n_hist over their maxima. */
typedef struct pu_pouw_proof {
    pu_iter_msg msg;
    pu_iter_msg commit_msg;
    uint32_t n_hist;
    pu_hash32 *hist;
    uint8_t block_sig[64]; /* the miner's signature of the block (pu_pouw_sign_block) */
} pu_pouw_proof;

PU_NODISCARD pu_err pu_pouw_proof_encode(const pu_pouw_proof *p, uint8_t **out, size_t *len);
PU_NODISCARD pu_err pu_pouw_proof_decode(const uint8_t *buf, size_t len, pu_pouw_proof *out);
void pu_pouw_proof_release(pu_pouw_proof *p);
/** Fill a header's PoUW fields from a proof: ml_task_id, message_history_hash
 * (merkle root of hist), iteration_message_hash (id of msg), and
 * zero_nonce_block_hash = commit_msg.commit. */
PU_NODISCARD pu_err pu_pouw_set_header(pu_crypto *c, const pu_pouw_proof *p, pu_header *h);
/** The miner's block signature (the proof's block_sig): k signs
 * H2("pouwsim-block-signature-v1" NUL || block hash) of the finished header
 * (nonce included).  Errors of pu_key_sign. */
PU_NODISCARD pu_err pu_pouw_sign_block(pu_crypto *c, const pu_header *h, const pu_keypair *k,
                                       uint8_t sig[64]);

/* ---- the task's record: content-addressed model states, residuals and
 * update messages, shared by every node of a run (the supervisors'
 * record of the task group, PROTOCOL.md s5).  Objects are immutable once put. */
typedef struct pu_pouw_store pu_pouw_store;
PU_NODISCARD pu_err pu_pouw_store_new(pu_pouw_store **out);
void pu_pouw_store_free(pu_pouw_store *s);
/** Store a copy under the object's own hash (computed here); *h_out optional.
 * Putting an object already present does nothing (same hash, same bytes).
 * Errors of the hash functions, PU_ERR_NOMEM. */
PU_NODISCARD pu_err pu_pouw_store_put_model(pu_pouw_store *s, pu_crypto *c, pu_ml_ws *ws,
                                            const pu_ml_model *m, pu_hash32 *h_out);
PU_NODISCARD pu_err pu_pouw_store_put_resid(pu_pouw_store *s, pu_crypto *c, pu_ml_ws *ws,
                                            const pu_ml_resid *r, pu_hash32 *h_out);
PU_NODISCARD pu_err pu_pouw_store_put_update(pu_pouw_store *s, pu_crypto *c, pu_ml_ws *ws,
                                             const pu_ml_update *u, pu_hash32 *h_out);
/** Borrowed objects (valid while the store lives), or NULL. */
const pu_ml_model *pu_pouw_store_model(const pu_pouw_store *s, const pu_hash32 *h);
const pu_ml_resid *pu_pouw_store_resid(const pu_pouw_store *s, const pu_hash32 *h);
/** The first model stored whose hash starts with these 8 bytes (what an
 * OP_RETURN record names), its full hash in *h_out (optional), or NULL. */
const pu_ml_model *pu_pouw_store_model_prefix(const pu_pouw_store *s, const uint8_t prefix[8],
                                              pu_hash32 *h_out);
const pu_ml_update *pu_pouw_store_update(const pu_pouw_store *s, const pu_hash32 *h);
/** Memory held: the objects (model memory, 8 bytes per residual value,
 * 4 per update entry, plus headers) and the index tables. */
size_t pu_pouw_store_bytes(const pu_pouw_store *s);

/** What the chain says about a task at a block's parent (filled by
 * core/econ from the ledger; borrowed pointers valid for the call). */
typedef struct pu_pouw_task_view {
    const pu_task *task;
    pu_hash32 task_id;
    bool active;                     /* training phase on this branch */
    uint32_t n_miners;               /* selected miners */
    const uint8_t (*miner_pubs)[33]; /* in selection order: index = miner_index */
    const pu_dataset *train;         /* the task's training split (needed when active) */
    const pu_dataset *test;          /* its hidden test split (evaluators; NULL if not loaded) */
} pu_pouw_task_view;

/** Outcomes of verify_ml_work; one code per failure (stable numbers). */
typedef enum pu_pouw_reason {
    PU_POUW_OK = 0,
    PU_POUW_MALFORMED,        /* proof does not decode, or fields disagree with the header */
    PU_POUW_UNKNOWN_TASK,     /* no such task on this branch, or not in training */
    PU_POUW_NOT_SELECTED,     /* the signer is not the task's miner of that index */
    PU_POUW_BAD_SIGNATURE,    /* iteration or commitment message signature */
    PU_POUW_BAD_HISTORY,      /* history root, links or ids inconsistent */
    PU_POUW_NONCE_RANGE,      /* nonce outside [base, base + a) */
    PU_POUW_BAD_COMMITMENT,   /* zero-nonce hash not the one committed k iterations earlier */
    PU_POUW_BAD_BATCH,        /* batch hash or size not the task's batch for (epoch, iter) */
    PU_POUW_UNKNOWN_DATA,     /* model state, residual or a peer update cannot be resolved */
    PU_POUW_REEXEC_MISMATCH,  /* re-execution gives another model/residual/update hash */
    PU_POUW_METRICS_MISMATCH, /* reported loss or accuracy differ from re-execution */
    PU_POUW_BELOW_THRESHOLD,  /* accuracy under the task's dynamic threshold */
    PU_POUW_REASON_COUNT
} pu_pouw_reason;
const char *pu_pouw_reason_str(pu_pouw_reason r);
/** Whether a refusal for r proves misconduct of the block's miner: the
 * failures found after every signature checked (BAD_HISTORY, NONCE_RANGE,
 * BAD_COMMITMENT, BAD_BATCH, REEXEC_MISMATCH, METRICS_MISMATCH,
 * BELOW_THRESHOLD).  The earlier ones are not attributable to a seated key
 * (anyone can send a malformed proof, name an unknown task, or replay
 * another miner's messages without its signature on the block), and
 * UNKNOWN_DATA cannot be proven: a verifier cannot show that data exists
 * nowhere. */
bool pu_pouw_reason_slashable(pu_pouw_reason r);

/** Cost of one verification, for the simulator's CPU accounting.  Every
 * field is a pure function of (proof, header, view, store contents), never
 * of the cache, except `reexecuted`.  A block rejected before the
 * re-execution check costs flops = 0 (nothing was trained); bytes are
 * counted once every input resolved. */
typedef struct pu_pouw_cost {
    bool reexecuted;   /* true: trained in wall time; false: cache hit or no re-execution */
    uint64_t flops;    /* estimate for the step (see pouw.c), charged hit or miss */
    uint64_t bytes;    /* serialised model state, residual and peer updates resolved */
} pu_pouw_cost;

/** Verification context: a workspace and a re-execution cache keyed by the
 * hash of every input of the step, not by block: blocks that claim the same
 * step (other nonces of one iteration, forged variants of a block) cost one
 * re-execution in wall time, and so do N calls for one block when no
 * pu_valcache stands in front (a chain with a shared valcache asks once per
 * block already, as in the simulator).  Not thread-safe.
 * Besides step results, the verifier memoises the two other costly pure
 * results: signature verdicts (keyed by message id, which covers the
 * signature) and batch hashes (keyed by task id, miner count, miner index
 * and seq: the task id names the data set, so view->train must be the
 * task's training split, as pu_task_load_data gives it).  cache_entries
 * bounds each of the three tables (oldest entry evicted first; 0 disables
 * them all, so every call does the full work).  A memo never changes a
 * verdict or a cost figure.  c and store are borrowed and must outlive v.
 * The workspace is built for the first task verified and rebuilt when a
 * task of another shape comes (one verifier per thread of a run is the
 * intended use).  Memory: ~200 bytes per table entry, plus one model,
 * residual and workspace of the task's shape. */
typedef struct pu_pouw_verifier pu_pouw_verifier;
PU_NODISCARD pu_err pu_pouw_verifier_new(pu_crypto *c, pu_pouw_store *store, size_t cache_entries,
                                         pu_pouw_verifier **out);
void pu_pouw_verifier_free(pu_pouw_verifier *v);
/** The record v resolves objects from (borrowed). */
pu_pouw_store *pu_pouw_verifier_store(const pu_pouw_verifier *v);

/** verify_ml_work (PROTOCOL.md s5): returns PU_OK with *why (PU_POUW_OK or the
 * failed check), or a system error (PU_ERR_NOMEM...).  Checks, in order:
 * proof decodes and matches the header's PoUW fields (MALFORMED); the task
 * is active (UNKNOWN_TASK); the signer is the selected miner of its index
 * (NOT_SELECTED); signatures, the block's included (BAD_SIGNATURE); history (BAD_HISTORY); nonce
 * range (NONCE_RANGE); the header's zero-nonce hash recomputed equals the
 * commit message's commitment, seq difference == k (BAD_COMMITMENT); batch
 * (BAD_BATCH); inputs resolvable (UNKNOWN_DATA); re-execution hashes
 * (REEXEC_MISMATCH); loss/accuracy (METRICS_MISMATCH); threshold
 * (BELOW_THRESHOLD).  Precisely:
 *   MALFORMED      the proof does not decode; the header has no task id,
 *                  or its ml_task_id or iteration_message_hash is not the
 *                  message's; the two messages name different tasks,
 *                  miner indices or miner keys;
 *   UNKNOWN_TASK   view NULL, no task, not active, another task id, or
 *                  msg.seq >= task.max_iterations (work beyond the
 *                  client's budget);
 *   NOT_SELECTED   miner_index >= n_miners or its key is not miner_pub;
 *   BAD_SIGNATURE  either message's signature, or block_sig is not
 *                  miner_pub's signature of this header;
 *   BAD_HISTORY    n_hist != seq + 1, hist[seq] != id(msg),
 *                  hist[seq-1] != msg.prev (prev != 0 at seq 0), the same
 *                  two links for the commit message at its own seq, or
 *                  merkle root of hist != header.message_history_hash;
 *   NONCE_RANGE    nonce - nonce_base(msg) mod 2^64 >= a(task, batch_n);
 *   BAD_COMMITMENT commit.seq + k != msg.seq, header.zero_nonce_block_hash
 *                  != commit.commit, or the recomputed zero-nonce hash !=
 *                  commit.commit;
 *   BAD_BATCH      batch_n != task batch_size, (epoch, iter) not seq's,
 *                  the schedule has no such batch, or batch_hash differs;
 *   UNKNOWN_DATA   model_start, resid_start or a peer update hash not in
 *                  the store;
 *   REEXEC_MISMATCH  model_end, resid_end, update_hash or update_count
 *                  differ from the re-execution, lr_e9 is not the task's,
 *                  or the resolved objects do not fit the task's shape;
 *   METRICS_MISMATCH loss_e9 or correct differ;
 *   BELOW_THRESHOLD  correct < pu_task_min_correct(task, seq, batch_n).
 * The header's proof of work (hash vs target) is core/chain's check.
 * System errors: PU_ERR_NOMEM, PU_ERR_CRYPTO, PU_ERR_STATE for an active
 * view without training data; *why is then PU_POUW_MALFORMED and means
 * nothing.  *cost is always written. */
PU_NODISCARD pu_err pu_pouw_verify(pu_pouw_verifier *v, const pu_params *p, const pu_header *h,
                                   const uint8_t *proof, size_t proof_len,
                                   const pu_pouw_task_view *view, pu_pouw_reason *why,
                                   pu_pouw_cost *cost);

/** One honest iteration of a miner (used by the simulator's miners and by
 * tests): from model_in/resid_in and the peer updates, run pu_ml_step on
 * the task batch of `seq`, and fill msg (everything but commit, prev and
 * sig; miner_pub left as is).  Outputs as pu_ml_step (model_out may be
 * model_in and resid_out resid_in).  ws must fit the task's arch and batch.
 * Errors: PU_ERR_RANGE (n_peers > max, view without task or data, no batch
 * for seq), errors of pu_ml_step and the hash functions; msg and the
 * outputs are unspecified then. */
PU_NODISCARD pu_err pu_pouw_iterate(pu_crypto *c, pu_ml_ws *ws, const pu_pouw_task_view *view,
                                    uint32_t miner_index, uint32_t seq, const pu_ml_model *model_in,
                                    const pu_ml_resid *resid_in, const pu_ml_update *const *peers,
                                    const pu_iter_peer *peer_ids, size_t n_peers,
                                    pu_ml_model *model_out, pu_ml_resid *resid_out,
                                    pu_ml_update *update_out, pu_iter_msg *msg);
/** pu_pouw_iterate for a caller that knows the hashes of model_in and
 * resid_in (the end hashes of the step that produced them): they are taken
 * as msg->model_start and resid_start instead of being computed (NULL:
 * computed).  Wrong hashes make a wrong message, nothing else. */
PU_NODISCARD pu_err pu_pouw_iterate_known(pu_crypto *c, pu_ml_ws *ws, const pu_pouw_task_view *view,
                                          uint32_t miner_index, uint32_t seq,
                                          const pu_ml_model *model_in, const pu_hash32 *model_in_hash,
                                          const pu_ml_resid *resid_in, const pu_hash32 *resid_in_hash,
                                          const pu_ml_update *const *peers,
                                          const pu_iter_peer *peer_ids, size_t n_peers,
                                          pu_ml_model *model_out, pu_ml_resid *resid_out,
                                          pu_ml_update *update_out, pu_iter_msg *msg);

/* ---- evidence of misconduct (PROTOCOL.md s7: stakes are slashed for proven
 * misbehaviour) -----------------------------------------------------------------
 *
 * Encoding (the body of an EVIDENCE transaction, core/tx.h):
 *   version u8 (1) | kind u8 | len_a u32 | a | len_b u32 | b
 *   BLOCK    a = the header (PU_HEADER_SIZE bytes), b = its mining proof
 *   MESSAGE  a = one iteration message, b empty
 *   HISTORY  a = a message at seq s, b = the same miner's message at s + 1
 * Each part is at most PU_POUW_EVIDENCE_MAX bytes.
 *
 * What each proves (pu_pouw_evidence_check, against the task's view as of
 * its training phase, whatever the phase now):
 *   BLOCK    pu_pouw_verify fails with a slashable reason: the block was
 *            signed by the seated miner it names (the header need not meet
 *            its target: a signed forgery is misconduct found or not).
 *   MESSAGE  a message signed by the seated miner it names whose seq-0 start
 *            is not the task's initial state (BAD_HISTORY), whose batch is not
 *            its schedule's (BAD_BATCH), or whose re-execution from its named
 *            inputs gives other hashes (REEXEC_MISMATCH) or metrics
 *            (METRICS_MISMATCH).  Its inputs must be in the record (else
 *            UNKNOWN_DATA, nothing proven).  The accuracy threshold applies to
 *            blocks only: an honest miner's unlucky batch is not misconduct,
 *            mining with it is.
 *   HISTORY  two messages signed by the same seated miner, b.seq = a.seq + 1
 *            and b.prev = id(a), where b does not start from a's end state
 *            (model or residual): BAD_HISTORY.
 * The finding names the miner index, the seq of the (later) message, the
 * reason and the object: the block hash, or the (later) message's id. */
#define PU_POUW_EVIDENCE_MAX 2000000u

enum { PU_POUW_EV_BLOCK = 1, PU_POUW_EV_MESSAGE = 2, PU_POUW_EV_HISTORY = 3 };

typedef struct pu_pouw_finding {
    bool proven;             /* the evidence proves misconduct */
    uint8_t kind;            /* PU_POUW_EV_* */
    uint32_t miner_index, seq;
    pu_pouw_reason reason;   /* the failed check (MALFORMED: does not decode) */
    pu_hash32 object;        /* block hash or message id */
} pu_pouw_finding;

/** Evidence bytes (free() them).  PU_ERR_RANGE for a part over the
 * maximum or too many peers, PU_ERR_NOMEM. */
PU_NODISCARD pu_err pu_pouw_evidence_block(const pu_header *h, const uint8_t *proof, size_t proof_len,
                                           uint8_t **out, size_t *len);
PU_NODISCARD pu_err pu_pouw_evidence_message(const pu_iter_msg *m, uint8_t **out, size_t *len);
PU_NODISCARD pu_err pu_pouw_evidence_history(const pu_iter_msg *a, const pu_iter_msg *b, uint8_t **out,
                                             size_t *len);
/** Judge evidence for the task of view (NULL: no such task; nothing is
 * proven then).  PU_OK with *out filled (out->proven false for evidence that
 * does not decode or proves nothing), or a system error as pu_pouw_verify. */
PU_NODISCARD pu_err pu_pouw_evidence_check(pu_pouw_verifier *v, const pu_params *p,
                                           const pu_pouw_task_view *view, const uint8_t *buf,
                                           size_t len, pu_pouw_finding *out);

/** Correct predictions of the stored model model_hash on all of test (the
 * task's test split), out of *n: what an evaluator reports and every node
 * re-checks (memoised per task and model).  PU_ERR_NOTFOUND if the model is
 * not in the record, PU_ERR_INVALID if it does not fit the task's
 * architecture; errors of the ML engine. */
PU_NODISCARD pu_err pu_pouw_evaluate(pu_pouw_verifier *v, const pu_task *t, const pu_dataset *test,
                                     const pu_hash32 *model_hash, uint32_t *correct, uint32_t *n);

#endif
