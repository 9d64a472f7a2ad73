/* core/ml.h -- deterministic MLP training: the useful work of PoUW.
 *
 * A block is valid only if the training iteration that produced its nonce
 * re-executes bit for bit at every verifier (PROTOCOL.md s5), so every
 * floating-point result here is a fixed sequence of IEEE-754 double
 * operations (+ - * / sqrt only, each correctly rounded):
 *   - matrix products use kernels of this module, compiled with the
 *     project's -ffp-contract=off, whose per-element summation order is
 *     that of GSL's reference CBLAS dgemm (see ml.c).  They are *not*
 *     delegated to libgslcblas at run time: the distribution builds that
 *     library with the compiler's default contraction, which on aarch64
 *     fuses c += t*g into fmadd and changes the bits.  On x86_64 both give
 *     identical bits (tested: PU_ML_KERNEL_GSL);
 *   - softmax and cross-entropy use pu_det_exp / pu_det_log (core/detmath), never
 *     libm's exp/log, whose last bit differs between libm builds;
 *   - single thread, fixed loop order, no -ffast-math.
 * Any IEEE-754 machine evaluating doubles without excess precision (x86_64
 * SSE2, aarch64) therefore produces identical model, residual and update
 * hashes.  Accuracy is an integer count of correct predictions.
 *
 * Network: input -> hidden layers (ReLU) -> output logits, softmax
 * cross-entropy loss (mean over the batch).  Parameters live in one
 * contiguous double array: for each layer l in order, the weight matrix
 * W_l (fan_in x fan_out, row-major, so z = a W_l + b_l) then the bias b_l.
 *
 * Memory (P = parameter count, 109,386 for 784-128-64-10):
 *   pu_ml_model   8P bytes (16P with momentum) + ~100 bytes  (875 KB / 1.75 MB)
 *   pu_ml_resid   8P bytes                                  (875 KB)
 *   pu_ml_update  4 bytes per entry sent, capacity kept for reuse (<= 4P)
 *   pu_ml_ws      8 * (max_batch * (input + sum of other widths + 2 * widest
 *                 non-input width) + P), plus the serialised size of the
 *                 largest object hashed through it (seed net, batch 500:
 *                 5.8 MB + 0.9 MB)
 * A simulator therefore holds per miner one model + one residual (~1.75 MB)
 * and shares one workspace per thread. */
#ifndef PU_ML_H
#define PU_ML_H

#include "core/crypto.h"
#include "core/dataset.h"
#include "core/types.h"

#define PU_ML_MAX_HIDDEN 8u
#define PU_ML_MAX_WIDTH  65536u              /* any layer, input included */
#define PU_ML_MAX_PARAMS (UINT32_C(1) << 26) /* 512 MB per model: beyond that is a typo */
#define PU_ML_MAX_BATCH  65536u

typedef struct pu_ml_ws pu_ml_ws; /* opaque scratch: activations, gradient, buffers */

/** Architecture: plain value.  Entries hidden[n_hidden..] are ignored. */
typedef struct pu_ml_arch {
    uint32_t input;                    /* features, 1..PU_ML_MAX_WIDTH */
    uint32_t n_hidden;                 /* 0..PU_ML_MAX_HIDDEN */
    uint32_t hidden[PU_ML_MAX_HIDDEN]; /* widths, 1..PU_ML_MAX_WIDTH */
    uint32_t output;                   /* classes, 2..PU_DATASET_MAX_CLASSES */
} pu_ml_arch;

/** PU_OK and the parameter count if the architecture is within the limits
 * above (and P <= PU_ML_MAX_PARAMS), else PU_ERR_RANGE. */
PU_NODISCARD pu_err pu_ml_arch_check(const pu_ml_arch *a, uint32_t *nparams_out);
/** Same layer widths (hidden entries beyond n_hidden are not compared). */
bool pu_ml_arch_eq(const pu_ml_arch *a, const pu_ml_arch *b);

/** Optimiser settings in exact integer units of 1e-9 (a task's encoding).
 * The doubles used are lr_e9 / 1e9 etc., one correctly rounded division. */
typedef struct pu_ml_hyper {
    uint64_t lr_e9;       /* learning rate: 1..10^10 (i.e. up to 10) */
    uint64_t tau_e9;      /* update threshold tau: 1..10^9; pu_ml_step only */
    uint64_t momentum_e9; /* 0 (plain SGD) .. 10^9 - 1; needs a momentum model */
} pu_ml_hyper;

/** PU_ERR_RANGE if a field is outside the ranges above. */
PU_NODISCARD pu_err pu_ml_hyper_check(const pu_ml_hyper *h);

/** A mini-batch: borrowed views, valid for the call. */
typedef struct pu_ml_batch {
    const pu_dataset *ds;
    const uint32_t *idx; /* n example indices into ds */
    uint32_t n;          /* 1..workspace max_batch */
} pu_ml_batch;

/** Metrics of one forward pass (training batch or evaluation set). */
typedef struct pu_ml_metrics {
    uint32_t n;       /* examples */
    uint32_t correct; /* argmax of the logits == label (ties: lowest class) */
    double loss;      /* mean cross-entropy in nats; deterministic bits */
    uint64_t loss_e9; /* floor(loss * 1e9), UINT64_MAX if not finite or huge */
} pu_ml_metrics;

/* ---- model ---------------------------------------------------------------- */

typedef struct pu_ml_model pu_ml_model; /* opaque */

/** New model of architecture a with all parameters zero.  With momentum, a
 * velocity vector (P doubles) is part of the model: it is serialised and
 * hashed with the parameters.  PU_ERR_RANGE (bad arch), PU_ERR_NOMEM. */
PU_NODISCARD pu_err pu_ml_model_new(const pu_ml_arch *a, bool momentum, pu_ml_model **out);
void pu_ml_model_free(pu_ml_model *m);
/** Deterministic initialisation from seed: weights of layers followed by a
 * ReLU uniform in +-sqrt(6 / fan_in) (He), of the output layer uniform in
 * +-sqrt(6 / (fan_in + fan_out)) (Glorot); biases and velocity zero.  Each
 * weight is a pure function of (seed, parameter index). */
void pu_ml_model_init(pu_ml_model *m, uint64_t seed);
PU_NODISCARD pu_err pu_ml_model_clone(const pu_ml_model *m, pu_ml_model **out);

const pu_ml_arch *pu_ml_model_arch(const pu_ml_model *m); /* borrowed, lives with m */
uint32_t pu_ml_model_nparams(const pu_ml_model *m);
bool pu_ml_model_has_momentum(const pu_ml_model *m);
/** Borrowed parameter array (P doubles, layout in the file comment). */
const double *pu_ml_model_params(const pu_ml_model *m);
/** Writable parameters: for tests and adversaries that tamper with a model. */
double *pu_ml_model_params_mut(pu_ml_model *m);
/** Borrowed velocity (P doubles) or NULL without momentum. */
const double *pu_ml_model_velocity(const pu_ml_model *m);
/** Bytes of memory held by the model. */
size_t pu_ml_model_mem(const pu_ml_model *m);

/** Canonical encoding, all integers big-endian:
 *   "PUML" | version u8 (1) | flags u8 (bit 0: momentum) | n_hidden u8 | 0 u8
 *   | input u32 | hidden u32 x n_hidden | output u32 | P u32
 *   | P x u64 IEEE-754 bits of the parameters | (momentum) P x u64 velocity
 * Every bit pattern round-trips (NaNs included), so parse o serialize is
 * the identity on valid encodings. */
size_t pu_ml_model_serialized_len(const pu_ml_model *m);
/** Malloc'd canonical bytes (free() them).  PU_ERR_NOMEM. */
PU_NODISCARD pu_err pu_ml_model_serialize(const pu_ml_model *m, uint8_t **out, size_t *out_len);
/** Strict: PU_ERR_PARSE for bad magic/version/flags/reserved byte,
 * truncation, trailing bytes or a P that disagrees with the arch;
 * PU_ERR_RANGE for an arch out of limits; PU_ERR_NOMEM. */
PU_NODISCARD pu_err pu_ml_model_parse(const uint8_t *buf, size_t len, pu_ml_model **out);
/** Model hash = SHA-256 of the canonical encoding.  ws (any workspace, or
 * NULL) provides the scratch buffer; with NULL one is malloc'd for the
 * call.  PU_ERR_NOMEM, PU_ERR_CRYPTO. */
PU_NODISCARD pu_err pu_ml_model_hash(const pu_ml_model *m, pu_crypto *c, pu_ml_ws *ws,
                                     pu_hash32 *out);

/* ---- gradient residual ------------------------------------------------------ */

typedef struct pu_ml_resid pu_ml_resid; /* opaque: P doubles */

/** Zero residual for nparams parameters (1..PU_ML_MAX_PARAMS). */
PU_NODISCARD pu_err pu_ml_resid_new(uint32_t nparams, pu_ml_resid **out);
void pu_ml_resid_free(pu_ml_resid *r);
/** dst := src; PU_ERR_INVALID if the sizes differ. */
PU_NODISCARD pu_err pu_ml_resid_copy(pu_ml_resid *dst, const pu_ml_resid *src);
uint32_t pu_ml_resid_nparams(const pu_ml_resid *r);
/** Bytes of memory held by the residual (8P + a few). */
size_t pu_ml_resid_mem(const pu_ml_resid *r);
const double *pu_ml_resid_values(const pu_ml_resid *r); /* borrowed */
double *pu_ml_resid_values_mut(pu_ml_resid *r);
/** "PURS" | version u8 (1) | P u32 | P x u64 IEEE-754 bits. */
size_t pu_ml_resid_serialized_len(const pu_ml_resid *r);
PU_NODISCARD pu_err pu_ml_resid_serialize(const pu_ml_resid *r, uint8_t **out, size_t *out_len);
/** PU_ERR_PARSE (format, length), PU_ERR_RANGE (P = 0 or too big), NOMEM. */
PU_NODISCARD pu_err pu_ml_resid_parse(const uint8_t *buf, size_t len, pu_ml_resid **out);
PU_NODISCARD pu_err pu_ml_resid_hash(const pu_ml_resid *r, pu_crypto *c, pu_ml_ws *ws,
                                     pu_hash32 *out);

/* ---- update messages ---------------------------------------------------------- */

/** An update message: a set of parameter indices, each with a sign; entry
 * (i, +) means "parameter i -= tau", (i, -) means "parameter i += tau"
 * (tau is the task's).  Encoded per entry as one u32: the index in bits
 * 0..30, bit 31 set for '-'.  Entries are strictly increasing in index. */
#define PU_ML_UPDATE_NEG 0x80000000u

typedef struct pu_ml_update pu_ml_update; /* opaque */

/** An empty message (P = 0 until a step or parse fills it). */
PU_NODISCARD pu_err pu_ml_update_new(pu_ml_update **out);
void pu_ml_update_free(pu_ml_update *u);
uint32_t pu_ml_update_nparams(const pu_ml_update *u);
uint32_t pu_ml_update_count(const pu_ml_update *u);
/** Borrowed entries (count u32s, format above); valid until u next changes. */
const uint32_t *pu_ml_update_entries(const pu_ml_update *u);
/** Replace the contents by P and entries[0..count); PU_ERR_PARSE unless
 * strictly increasing with indices < P; PU_ERR_RANGE for P; NOMEM. */
PU_NODISCARD pu_err pu_ml_update_set(pu_ml_update *u, uint32_t nparams, const uint32_t *entries,
                                     uint32_t count);
/** version u8 (1) | P u32 | count u32 | count x u32 entries: 9 + 4 count bytes. */
size_t pu_ml_update_serialized_len(const pu_ml_update *u);
PU_NODISCARD pu_err pu_ml_update_serialize(const pu_ml_update *u, uint8_t **out, size_t *out_len);
/** Strict: PU_ERR_PARSE for version, truncation, trailing bytes, count > P,
 * indices not strictly increasing or >= P; PU_ERR_RANGE for P. */
PU_NODISCARD pu_err pu_ml_update_parse(const uint8_t *buf, size_t len, pu_ml_update **out);
/** SHA-256 of the canonical encoding. */
PU_NODISCARD pu_err pu_ml_update_hash(const pu_ml_update *u, pu_crypto *c, pu_ml_ws *ws,
                                      pu_hash32 *out);
/** Apply a message to a model: in entry order, p[i] = p[i] - tau or
 * p[i] = p[i] + tau.  PU_ERR_INVALID if P differs (model unchanged). */
PU_NODISCARD pu_err pu_ml_apply_update(pu_ml_model *m, const pu_ml_update *u, uint64_t tau_e9);

/* ---- workspace and training ---------------------------------------------------- */


/** Matrix kernels.  OWN (default) is the consensus path.  GSL calls
 * gsl_blas_dgemm for the same three products; it exists to prove on a given
 * machine that OWN reproduces GSL's reference CBLAS bit for bit, and to
 * measure it.  Never use GSL where a result is hashed. */
typedef enum pu_ml_kernel { PU_ML_KERNEL_OWN = 0, PU_ML_KERNEL_GSL = 1 } pu_ml_kernel;

/** Workspace for models of arch a and batches of up to max_batch examples
 * (1..PU_ML_MAX_BATCH).  Calls with a workspace never allocate (except the
 * first hash through it).  Not thread-safe: one per thread.
 * PU_ERR_RANGE, PU_ERR_NOMEM. */
PU_NODISCARD pu_err pu_ml_ws_new(const pu_ml_arch *a, uint32_t max_batch, pu_ml_ws **out);
void pu_ml_ws_free(pu_ml_ws *ws);
void pu_ml_ws_set_kernel(pu_ml_ws *ws, pu_ml_kernel k);
size_t pu_ml_ws_mem(const pu_ml_ws *ws);
uint32_t pu_ml_ws_max_batch(const pu_ml_ws *ws);

/** Forward and backward pass of m on a batch: metrics of the forward pass
 * and the gradient of the mean loss (borrowed, P doubles, valid until the
 * next call on ws).  Errors as for pu_ml_step. */
PU_NODISCARD pu_err pu_ml_grad(pu_ml_ws *ws, const pu_ml_model *m, const pu_ml_batch *b,
                               pu_ml_metrics *metrics_out, const double **grad_out);

/** Plain local SGD step (the non-PoUW trainer, for baselines and
 * evaluation): g = gradient; with momentum v = mu v + g, u = v, else u = g;
 * p = p - lr u.  Metrics are those of the forward pass before the update. */
PU_NODISCARD pu_err pu_ml_sgd_step(pu_ml_ws *ws, pu_ml_model *m, const pu_ml_batch *b,
                                   const pu_ml_hyper *h, pu_ml_metrics *metrics_out);

/** The PoUW iteration (PROTOCOL.md s5 item 3), a pure function used by miners and
 * verifiers alike.  From (model_in, resid_in, batch, peers, h):
 *   1. model := model_in, resid := resid_in;
 *   2. apply peers[0..n_peers) to the model, in array order (so the order is
 *      part of the input: the iteration message must fix it);
 *   3. forward + backward on the batch -> gradient g, metrics;
 *   4. with momentum v := mu v + g, u := v; else u := g;
 *      r[i] := r[i] + lr u[i] for every i;
 *   5. for i ascending: r[i] > tau  -> entry (i, +), r[i] := r[i] - tau;
 *                       r[i] < -tau -> entry (i, -), r[i] := r[i] + tau
 *      (one quantum per step, Strom 2015 / Lihu et al. 2020);
 *   6. apply that update message to the model (p[i] -/+= tau).
 * Outputs: model_out, resid_out, update_out (P set, entries replaced) and
 * the metrics of step 3 (the model after the peer updates, before the local
 * one).  model_out may be model_in and resid_out may be resid_in (in-place
 * step for miners); otherwise they must not overlap.
 * Errors, all detected before any output is touched: PU_ERR_INVALID if the
 * models, residual, peers or workspace disagree in arch / P / momentum, if
 * the data set's dim or classes do not fit the arch; PU_ERR_RANGE for a
 * batch size of 0 or above max_batch, an index out of the data set, bad
 * hyperparameters; PU_ERR_NOMEM if update_out cannot grow to P entries. */
PU_NODISCARD pu_err pu_ml_step(pu_ml_ws *ws, const pu_ml_model *model_in,
                               const pu_ml_resid *resid_in, const pu_ml_batch *b,
                               const pu_ml_update *const *peers, size_t n_peers,
                               const pu_ml_hyper *h, pu_ml_model *model_out,
                               pu_ml_resid *resid_out, pu_ml_update *update_out,
                               pu_ml_metrics *metrics_out);

/** Loss and correct count of m on examples first .. first+count-1 of ds,
 * processed in chunks of the workspace's max_batch; the result does not
 * depend on the chunk size.  PU_ERR_RANGE / PU_ERR_INVALID as above. */
PU_NODISCARD pu_err pu_ml_evaluate(pu_ml_ws *ws, const pu_ml_model *m, const pu_dataset *ds,
                                   uint32_t first, uint32_t count, pu_ml_metrics *out);

#endif
