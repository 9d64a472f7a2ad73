/* core/pouw.c -- proof of useful work: iteration messages, mining proofs,
 * the task's content-addressed record and verify_ml_work (PROTOCOL.md s5).
 *
 * Verification is a pipeline of small checks in the order core/pouw.h
 * documents; each returns a pu_pouw_reason so a block gets exactly one
 * verdict, and system errors (memory) travel separately as pu_err.  The
 * expensive check is the re-execution of the training step (~25 ms for
 * the seed task); it is a pure function of its inputs, so its outputs are
 * cached under a hash of all of them and any further block claiming that
 * step compares against the cached hashes instead of training again.
 * The next costs, the batch hash (~270 us) and two ECDSA verifications
 * (~50 us each), are memoised the same way, which leaves ~30 us of wall
 * time per repeated verification (tests/bench/bench_pouw.c).  Per block,
 * the chains' shared valcache already asks once; these tables pay off
 * across blocks of one step and for callers without a valcache. */
#include "core/pouw.h"

#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/hmap.h"

/* Encoding sizes (see the file comment of core/pouw.h). */
#define MSG_FIXED_LEN 437u /* everything but the peers */
#define MSG_PEER_LEN 64u
#define MSG_TAIL_LEN 128u /* commit | prev | sig after the peers */
#define MSG_MAX_LEN (MSG_FIXED_LEN + PU_POUW_MAX_PEERS * MSG_PEER_LEN)
#define E9 UINT64_C(1000000000)

/* ---- iteration messages ---------------------------------------------------- */

static size_t msg_len_of(uint32_t n_peers) { return MSG_FIXED_LEN + (size_t)n_peers * MSG_PEER_LEN; }

size_t pu_iter_msg_size(const pu_iter_msg *m) { return msg_len_of(m->n_peers); }

static uint8_t *put32(uint8_t *p, uint32_t v) { pu_put_be32(p, v); return p + 4; }
static uint8_t *put64(uint8_t *p, uint64_t v) { pu_put_be64(p, v); return p + 8; }
static uint8_t *puth(uint8_t *p, const pu_hash32 *h) { memcpy(p, h->b, 32); return p + 32; }

/* Writes the encoding into p (room for MSG_MAX_LEN); the caller checked
 * n_peers.  With zero_sig the signature field is written as zeros: the
 * signing hash.  Returns the length. */
static size_t msg_write(const pu_iter_msg *m, bool zero_sig, uint8_t *p)
{
    uint8_t *q = put32(p, m->version);
    q = puth(q, &m->task_id);
    memcpy(q, m->miner_pub, 33);
    q += 33;
    q = put32(q, m->miner_index);
    q = put32(q, m->seq);
    q = put32(q, m->epoch);
    q = put32(q, m->iter);
    q = puth(q, &m->batch_hash);
    q = put32(q, m->batch_n);
    q = puth(q, &m->update_hash);
    q = put32(q, m->update_count);
    q = put64(q, m->loss_e9);
    q = put32(q, m->correct);
    q = put64(q, m->lr_e9);
    q = puth(q, &m->model_start);
    q = puth(q, &m->resid_start);
    q = puth(q, &m->model_end);
    q = puth(q, &m->resid_end);
    q = put32(q, m->n_peers);
    for (uint32_t i = 0; i < m->n_peers; i++) {
        q = puth(q, &m->peers[i].msg_id);
        q = puth(q, &m->peers[i].update_hash);
    }
    q = puth(q, &m->commit);
    q = puth(q, &m->prev);
    if (zero_sig)
        memset(q, 0, 64);
    else
        memcpy(q, m->sig, 64);
    q += 64;
    return (size_t)(q - p);
}

pu_err pu_iter_msg_encode(const pu_iter_msg *m, uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    if (m->n_peers > PU_POUW_MAX_PEERS)
        return PU_ERR_RANGE;
    uint8_t *buf = malloc(msg_len_of(m->n_peers));
    if (!buf)
        return PU_ERR_NOMEM;
    *len = msg_write(m, false, buf);
    *out = buf;
    return PU_OK;
}

static void geth(const uint8_t **p, pu_hash32 *h) { memcpy(h->b, *p, 32); *p += 32; }
static uint32_t get32(const uint8_t **p) { uint32_t v = pu_get_be32(*p); *p += 4; return v; }
static uint64_t get64(const uint8_t **p) { uint64_t v = pu_get_be64(*p); *p += 8; return v; }

pu_err pu_iter_msg_decode(const uint8_t *buf, size_t len, pu_iter_msg *out)
{
    memset(out, 0, sizeof *out);
    /* The length is fixed by n_peers, so it is checked once up front and
     * the fields are then read without per-field bounds checks. */
    if (len < MSG_FIXED_LEN)
        return PU_ERR_PARSE;
    const uint32_t n_peers = pu_get_be32(buf + MSG_FIXED_LEN - MSG_TAIL_LEN - 4);
    if (pu_get_be32(buf) != PU_POUW_MSG_VERSION || n_peers > PU_POUW_MAX_PEERS
        || len != msg_len_of(n_peers))
        return PU_ERR_PARSE;
    const uint8_t *p = buf;
    out->version = get32(&p);
    geth(&p, &out->task_id);
    memcpy(out->miner_pub, p, 33);
    p += 33;
    out->miner_index = get32(&p);
    out->seq = get32(&p);
    out->epoch = get32(&p);
    out->iter = get32(&p);
    geth(&p, &out->batch_hash);
    out->batch_n = get32(&p);
    geth(&p, &out->update_hash);
    out->update_count = get32(&p);
    out->loss_e9 = get64(&p);
    out->correct = get32(&p);
    out->lr_e9 = get64(&p);
    geth(&p, &out->model_start);
    geth(&p, &out->resid_start);
    geth(&p, &out->model_end);
    geth(&p, &out->resid_end);
    out->n_peers = get32(&p);
    for (uint32_t i = 0; i < n_peers; i++) {
        geth(&p, &out->peers[i].msg_id);
        geth(&p, &out->peers[i].update_hash);
    }
    geth(&p, &out->commit);
    geth(&p, &out->prev);
    memcpy(out->sig, p, 64);
    return PU_OK;
}

static pu_err msg_hash(pu_crypto *c, const pu_iter_msg *m, bool zero_sig, pu_hash32 *out)
{
    uint8_t buf[MSG_MAX_LEN];
    memset(out, 0, sizeof *out);
    if (m->n_peers > PU_POUW_MAX_PEERS)
        return PU_ERR_RANGE;
    size_t n = msg_write(m, zero_sig, buf);
    pu_sha256d(c, buf, n, out);
    return pu_crypto_failed(c) ? PU_ERR_CRYPTO : PU_OK;
}

pu_err pu_iter_msg_sign(pu_crypto *c, pu_iter_msg *m, const pu_keypair *k)
{
    memcpy(m->miner_pub, k->pub, 33);
    pu_hash32 h;
    pu_err rc = msg_hash(c, m, true, &h);
    if (rc == PU_OK)
        rc = pu_key_sign(c, k, &h, m->sig);
    return rc;
}

bool pu_iter_msg_sig_ok(pu_crypto *c, const pu_iter_msg *m)
{
    pu_hash32 h;
    return msg_hash(c, m, true, &h) == PU_OK && pu_sig_verify(m->miner_pub, &h, m->sig);
}

pu_err pu_iter_msg_id(pu_crypto *c, const pu_iter_msg *m, pu_hash32 *out)
{
    return msg_hash(c, m, false, out);
}

/* ---- nonces ----------------------------------------------------------------- */

uint64_t pu_pouw_nonce_base(pu_crypto *c, const pu_hash32 *model_end, const pu_hash32 *update_hash)
{
    pu_hash32 h;
    pu_sha256d_2(c, model_end->b, 32, update_hash->b, 32, &h);
    return pu_get_be64(h.b);
}

/* w * x, saturating at UINT64_MAX. */
static uint64_t mul_sat(uint64_t w, uint64_t x)
{
    return x && w > UINT64_MAX / x ? UINT64_MAX : w * x;
}

uint64_t pu_pouw_nonce_count(const pu_params *p, const pu_task *t, uint32_t batch_n)
{
    pu_ml_arch a;
    uint32_t np = 0;
    pu_task_arch(t, &a);
    if (pu_ml_arch_check(&a, &np) != PU_OK)
        np = 0;
    uint64_t bb = (uint64_t)batch_n * ((uint64_t)t->features + 1);
    uint64_t x = mul_sat(p->pouw_w_batch_e9, bb), y = mul_sat(p->pouw_w_param_e9, np);
    /* Saturation only bites for weights of ~2^30 nonces per byte, where
     * every nonce is allowed anyway; floor((x + y) / 1e9) is then exact
     * because x + y is an integer count of 1e-9 nonces. */
    uint64_t a_e9 = x > UINT64_MAX - y ? UINT64_MAX : x + y;
    uint64_t n = a_e9 / E9;
    return n ? n : 1;
}

/* ---- mining proofs ------------------------------------------------------------ */

pu_err pu_pouw_proof_encode(const pu_pouw_proof *p, uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    if (p->msg.n_peers > PU_POUW_MAX_PEERS || p->commit_msg.n_peers > PU_POUW_MAX_PEERS
        || p->n_hist > PU_POUW_MAX_HISTORY || (p->n_hist && !p->hist))
        return PU_ERR_RANGE;
    uint8_t m[MSG_MAX_LEN];
    pu_buf b;
    pu_buf_init(&b);
    pu_buf_u8(&b, PU_POUW_PROOF_VERSION);
    size_t n = msg_write(&p->msg, false, m);
    pu_buf_u32(&b, (uint32_t)n);
    pu_buf_put(&b, m, n);
    n = msg_write(&p->commit_msg, false, m);
    pu_buf_u32(&b, (uint32_t)n);
    pu_buf_put(&b, m, n);
    pu_buf_u32(&b, p->n_hist);
    for (uint32_t i = 0; i < p->n_hist; i++)
        pu_buf_put(&b, p->hist[i].b, 32);
    pu_buf_put(&b, p->block_sig, 64);
    return pu_buf_finish(&b, out, len);
}

static pu_err read_msg(pu_reader *r, pu_iter_msg *out)
{
    uint32_t n;
    const uint8_t *v;
    pu_err rc = pu_read_u32(r, &n);
    if (rc == PU_OK && n > MSG_MAX_LEN)
        rc = PU_ERR_PARSE;
    if (rc == PU_OK)
        rc = pu_read_view(r, n, &v);
    if (rc == PU_OK)
        rc = pu_iter_msg_decode(v, n, out);
    return rc;
}

pu_err pu_pouw_proof_decode(const uint8_t *buf, size_t len, pu_pouw_proof *out)
{
    memset(out, 0, sizeof *out);
    pu_reader r;
    uint8_t ver = 0;
    uint32_t n = 0;
    pu_reader_init(&r, buf, len);
    pu_err rc = pu_read_u8(&r, &ver);
    if (rc == PU_OK && ver != PU_POUW_PROOF_VERSION)
        rc = PU_ERR_PARSE;
    if (rc == PU_OK)
        rc = read_msg(&r, &out->msg);
    if (rc == PU_OK)
        rc = read_msg(&r, &out->commit_msg);
    if (rc == PU_OK)
        rc = pu_read_count(&r, 32, &n); /* an absurd count fails before malloc */
    if (rc == PU_OK && (n > PU_POUW_MAX_HISTORY || pu_reader_left(&r) != (size_t)n * 32 + 64))
        rc = PU_ERR_PARSE;
    if (rc == PU_OK && !(out->hist = malloc((n ? n : 1) * sizeof *out->hist)))
        rc = PU_ERR_NOMEM;
    for (uint32_t i = 0; rc == PU_OK && i < n; i++)
        rc = pu_read_bytes(&r, out->hist[i].b, 32);
    if (rc == PU_OK)
        rc = pu_read_bytes(&r, out->block_sig, 64);
    if (rc != PU_OK) {
        pu_pouw_proof_release(out);
        return rc;
    }
    out->n_hist = n;
    return PU_OK;
}

void pu_pouw_proof_release(pu_pouw_proof *p)
{
    free(p->hist);
    memset(p, 0, sizeof *p);
}

/* What a miner signs: its block's hash under a tag of its own, so that no
 * block signature can stand for an iteration message's or a transaction's. */
static void block_sighash(pu_crypto *c, const pu_header *h, pu_hash32 *out)
{
    static const char TAG[] = "pouwsim-block-signature-v1";
    uint8_t buf[sizeof TAG + 32];
    pu_hash32 bh;
    pu_header_hash(c, h, &bh);
    memcpy(buf, TAG, sizeof TAG);
    memcpy(buf + sizeof TAG, bh.b, 32);
    pu_sha256d(c, buf, sizeof buf, out);
}

pu_err pu_pouw_sign_block(pu_crypto *c, const pu_header *h, const pu_keypair *k, uint8_t sig[64])
{
    pu_hash32 m;
    block_sighash(c, h, &m);
    return pu_key_sign(c, k, &m, sig);
}

static bool block_sig_ok(pu_crypto *c, const pu_header *h, const uint8_t pub[33], const uint8_t sig[64])
{
    pu_hash32 m;
    block_sighash(c, h, &m);
    return pu_sig_verify(pub, &m, sig);
}

pu_err pu_pouw_set_header(pu_crypto *c, const pu_pouw_proof *p, pu_header *h)
{
    pu_hash32 root, id;
    if (p->n_hist > PU_POUW_MAX_HISTORY || (p->n_hist && !p->hist))
        return PU_ERR_RANGE;
    pu_err rc = pu_merkle_root(c, p->hist, p->n_hist, &root);
    if (rc == PU_OK)
        rc = pu_iter_msg_id(c, &p->msg, &id);
    if (rc != PU_OK)
        return rc;
    h->ml_task_id = p->msg.task_id;
    h->msg_history = root;
    h->iter_msg = id;
    h->zero_nonce = p->commit_msg.commit;
    return PU_OK;
}

/* ---- the task's record ----------------------------------------------------------- */

/* Three maps from content hash to an owned object.  Separate maps rather
 * than one tagged map: a lookup of the wrong kind must miss, and the three
 * encodings never share a hash anyway. */
struct pu_pouw_store {
    pu_hmap *models, *resids, *updates; /* pu_hash32 -> object pointer */
    pu_hmap *model_prefix;              /* first 8 bytes -> the first model's hash */
    size_t obj_bytes;
};

pu_err pu_pouw_store_new(pu_pouw_store **out)
{
    *out = NULL;
    pu_pouw_store *s = calloc(1, sizeof *s);
    if (!s)
        return PU_ERR_NOMEM;
    pu_err rc = pu_hmap_new(32, sizeof(void *), 64, &s->models);
    if (rc == PU_OK)
        rc = pu_hmap_new(32, sizeof(void *), 64, &s->resids);
    if (rc == PU_OK)
        rc = pu_hmap_new(32, sizeof(void *), 256, &s->updates);
    if (rc == PU_OK)
        rc = pu_hmap_new(8, 32, 64, &s->model_prefix);
    if (rc != PU_OK) {
        pu_pouw_store_free(s);
        return rc;
    }
    *out = s;
    return PU_OK;
}

typedef void (*free_fn)(void *obj);
static void free_model(void *o) { pu_ml_model_free(o); }
static void free_resid(void *o) { pu_ml_resid_free(o); }
static void free_update(void *o) { pu_ml_update_free(o); }

static void map_free(pu_hmap *m, free_fn fr)
{
    if (!m)
        return;
    size_t cur = 0;
    const void *k;
    void *v;
    while (pu_hmap_next(m, &cur, &k, &v)) {
        void *obj;
        memcpy(&obj, v, sizeof obj);
        fr(obj);
    }
    pu_hmap_free(m);
}

void pu_pouw_store_free(pu_pouw_store *s)
{
    if (!s)
        return;
    map_free(s->models, free_model);
    map_free(s->resids, free_resid);
    map_free(s->updates, free_update);
    pu_hmap_free(s->model_prefix);
    free(s);
}

static const void *map_get(const pu_hmap *m, const pu_hash32 *h)
{
    const void *v = pu_hmap_get(m, h->b);
    const void *obj = NULL;
    if (v)
        memcpy(&obj, v, sizeof obj);
    return obj;
}

/* Takes obj: stores it under h, or frees it when the slot cannot be made. */
static pu_err map_take(pu_pouw_store *s, pu_hmap *m, const pu_hash32 *h, void *obj, size_t bytes,
                       free_fn fr)
{
    void *slot;
    bool created;
    pu_err rc = pu_hmap_put(m, h->b, &slot, &created);
    if (rc != PU_OK) {
        fr(obj);
        return rc;
    }
    memcpy(slot, &obj, sizeof obj);
    s->obj_bytes += bytes;
    return PU_OK;
}

pu_err pu_pouw_store_put_model(pu_pouw_store *s, pu_crypto *c, pu_ml_ws *ws,
                               const pu_ml_model *m, pu_hash32 *h_out)
{
    pu_hash32 h;
    pu_ml_model *copy = NULL;
    pu_err rc = pu_ml_model_hash(m, c, ws, &h);
    if (rc == PU_OK && h_out)
        *h_out = h;
    if (rc != PU_OK || map_get(s->models, &h))
        return rc; /* immutable: an object already present is this one */
    rc = pu_ml_model_clone(m, &copy);
    if (rc == PU_OK)
        rc = map_take(s, s->models, &h, copy, pu_ml_model_mem(copy), free_model);
    void *slot;
    bool created;
    if (rc == PU_OK && (rc = pu_hmap_put(s->model_prefix, h.b, &slot, &created)) == PU_OK && created)
        memcpy(slot, h.b, 32); /* the first model with a prefix keeps it */
    return rc;
}

pu_err pu_pouw_store_put_resid(pu_pouw_store *s, pu_crypto *c, pu_ml_ws *ws,
                               const pu_ml_resid *r, pu_hash32 *h_out)
{
    pu_hash32 h;
    pu_ml_resid *copy = NULL;
    pu_err rc = pu_ml_resid_hash(r, c, ws, &h);
    if (rc == PU_OK && h_out)
        *h_out = h;
    if (rc != PU_OK || map_get(s->resids, &h))
        return rc;
    rc = pu_ml_resid_new(pu_ml_resid_nparams(r), &copy);
    if (rc == PU_OK)
        rc = pu_ml_resid_copy(copy, r);
    if (rc != PU_OK) {
        pu_ml_resid_free(copy);
        return rc;
    }
    /* core/ml has no pu_ml_resid_mem; the values dominate (8 bytes each). */
    return map_take(s, s->resids, &h, copy, pu_ml_resid_serialized_len(copy), free_resid);
}

pu_err pu_pouw_store_put_update(pu_pouw_store *s, pu_crypto *c, pu_ml_ws *ws,
                                const pu_ml_update *u, pu_hash32 *h_out)
{
    pu_hash32 h;
    pu_ml_update *copy = NULL;
    pu_err rc = pu_ml_update_hash(u, c, ws, &h);
    if (rc == PU_OK && h_out)
        *h_out = h;
    if (rc != PU_OK || map_get(s->updates, &h))
        return rc;
    /* A fresh message sized to its entries: a miner's working message keeps
     * capacity for P entries, which would cost 4P bytes per stored update. */
    rc = pu_ml_update_new(&copy);
    if (rc == PU_OK)
        rc = pu_ml_update_set(copy, pu_ml_update_nparams(u), pu_ml_update_entries(u),
                              pu_ml_update_count(u));
    if (rc != PU_OK) {
        pu_ml_update_free(copy);
        return rc;
    }
    return map_take(s, s->updates, &h, copy, pu_ml_update_serialized_len(copy), free_update);
}

const pu_ml_model *pu_pouw_store_model(const pu_pouw_store *s, const pu_hash32 *h)
{
    return map_get(s->models, h);
}

const pu_ml_model *pu_pouw_store_model_prefix(const pu_pouw_store *s, const uint8_t prefix[8],
                                              pu_hash32 *h_out)
{
    const uint8_t *full = pu_hmap_get(s->model_prefix, prefix);
    if (!full)
        return NULL;
    if (h_out)
        memcpy(h_out->b, full, 32);
    pu_hash32 h;
    memcpy(h.b, full, 32);
    return map_get(s->models, &h);
}

const pu_ml_resid *pu_pouw_store_resid(const pu_pouw_store *s, const pu_hash32 *h)
{
    return map_get(s->resids, h);
}

const pu_ml_update *pu_pouw_store_update(const pu_pouw_store *s, const pu_hash32 *h)
{
    return map_get(s->updates, h);
}

size_t pu_pouw_store_bytes(const pu_pouw_store *s)
{
    return sizeof *s + s->obj_bytes + pu_hmap_bytes(s->models) + pu_hmap_bytes(s->resids)
           + pu_hmap_bytes(s->updates) + pu_hmap_bytes(s->model_prefix);
}

/* ---- reasons ----------------------------------------------------------------------- */

/* Inline char arrays, not pointers: a pointer table would need relocations
 * and land in writable .data.rel.ro under PIE (STYLE s7). */
static const char REASON_NAMES[PU_POUW_REASON_COUNT][20] = {
    "ok",           "malformed",   "unknown-task",     "not-selected",
    "bad-signature", "bad-history", "nonce-range",      "bad-commitment",
    "bad-batch",    "unknown-data", "reexec-mismatch", "metrics-mismatch",
    "below-threshold",
};

bool pu_pouw_reason_slashable(pu_pouw_reason r)
{
    switch (r) {
    case PU_POUW_BAD_HISTORY:
    case PU_POUW_NONCE_RANGE:
    case PU_POUW_BAD_COMMITMENT:
    case PU_POUW_BAD_BATCH:
    case PU_POUW_REEXEC_MISMATCH:
    case PU_POUW_METRICS_MISMATCH:
    case PU_POUW_BELOW_THRESHOLD:
        return true;
    default:
        return false;
    }
}

const char *pu_pouw_reason_str(pu_pouw_reason r)
{
    return (unsigned)r < PU_POUW_REASON_COUNT ? REASON_NAMES[r] : "unknown-reason";
}

/* ---- the batch of an iteration ----------------------------------------------------- */

/* Position of `seq` in the task's batch schedule, and its batch indices
 * (idx has room for t->batch_size).  PU_ERR_RANGE when the schedule has no
 * such batch (bad index, a view whose sizes contradict the task). */
static pu_err seq_batch(const pu_pouw_task_view *view, uint32_t miner_index, uint32_t seq,
                        uint32_t *epoch, uint32_t *iter, uint32_t *idx)
{
    const pu_task *t = view->task;
    uint32_t ipe = 0;
    pu_err rc = pu_dataset_iters_per_epoch(pu_dataset_size(view->train), view->n_miners,
                                           t->batch_size, &ipe);
    if (rc != PU_OK)
        return rc;
    *epoch = seq / ipe;
    *iter = seq % ipe;
    return pu_dataset_batch(view->train, t->task_seed, *epoch, *iter, miner_index, view->n_miners,
                            t->batch_size, idx);
}

/* ---- the honest miner's iteration ----------------------------------------------------- */

static void fill_msg(const pu_pouw_task_view *view, uint32_t miner_index, uint32_t seq,
                     const pu_iter_peer *peer_ids, size_t n_peers, pu_iter_msg *msg)
{
    msg->version = PU_POUW_MSG_VERSION;
    msg->task_id = view->task_id;
    msg->miner_index = miner_index;
    msg->seq = seq;
    msg->batch_n = view->task->batch_size;
    msg->lr_e9 = view->task->lr_e9;
    msg->n_peers = (uint32_t)n_peers;
    for (size_t i = 0; i < n_peers; i++)
        msg->peers[i] = peer_ids[i];
}

pu_err pu_pouw_iterate(pu_crypto *c, pu_ml_ws *ws, const pu_pouw_task_view *view,
                       uint32_t miner_index, uint32_t seq, const pu_ml_model *model_in,
                       const pu_ml_resid *resid_in, const pu_ml_update *const *peers,
                       const pu_iter_peer *peer_ids, size_t n_peers, pu_ml_model *model_out,
                       pu_ml_resid *resid_out, pu_ml_update *update_out, pu_iter_msg *msg)
{
    return pu_pouw_iterate_known(c, ws, view, miner_index, seq, model_in, NULL, resid_in, NULL, peers,
                                 peer_ids, n_peers, model_out, resid_out, update_out, msg);
}

pu_err pu_pouw_iterate_known(pu_crypto *c, pu_ml_ws *ws, const pu_pouw_task_view *view,
                             uint32_t miner_index, uint32_t seq, const pu_ml_model *model_in,
                             const pu_hash32 *model_in_hash, const pu_ml_resid *resid_in,
                             const pu_hash32 *resid_in_hash, const pu_ml_update *const *peers,
                             const pu_iter_peer *peer_ids, size_t n_peers, pu_ml_model *model_out,
                             pu_ml_resid *resid_out, pu_ml_update *update_out, pu_iter_msg *msg)
{
    if (n_peers > PU_POUW_MAX_PEERS || !view->task || !view->train)
        return PU_ERR_RANGE;
    const pu_task *t = view->task;
    uint32_t *idx = malloc((size_t)t->batch_size * sizeof *idx);
    if (!idx)
        return PU_ERR_NOMEM;
    pu_ml_hyper hy;
    pu_ml_metrics mt;
    pu_task_hyper(t, &hy);
    /* The start hashes first: the step may run in place. */
    pu_err rc = seq_batch(view, miner_index, seq, &msg->epoch, &msg->iter, idx);
    if (rc == PU_OK && model_in_hash)
        msg->model_start = *model_in_hash;
    else if (rc == PU_OK)
        rc = pu_ml_model_hash(model_in, c, ws, &msg->model_start);
    if (rc == PU_OK && resid_in_hash)
        msg->resid_start = *resid_in_hash;
    else if (rc == PU_OK)
        rc = pu_ml_resid_hash(resid_in, c, ws, &msg->resid_start);
    if (rc == PU_OK)
        rc = pu_dataset_batch_hash(view->train, c, idx, t->batch_size, &msg->batch_hash);
    if (rc == PU_OK) {
        pu_ml_batch b = {view->train, idx, t->batch_size};
        rc = pu_ml_step(ws, model_in, resid_in, &b, peers, n_peers, &hy, model_out, resid_out,
                        update_out, &mt);
    }
    if (rc == PU_OK)
        rc = pu_ml_model_hash(model_out, c, ws, &msg->model_end);
    if (rc == PU_OK)
        rc = pu_ml_resid_hash(resid_out, c, ws, &msg->resid_end);
    if (rc == PU_OK)
        rc = pu_ml_update_hash(update_out, c, ws, &msg->update_hash);
    if (rc == PU_OK) {
        fill_msg(view, miner_index, seq, peer_ids, n_peers, msg);
        msg->update_count = pu_ml_update_count(update_out);
        msg->loss_e9 = mt.loss_e9;
        msg->correct = mt.correct;
    }
    free(idx);
    return rc;
}

/* ---- verifier: memo tables and re-execution scratch --------------------------------------- */

/* What a re-execution yields: everything the later checks compare. */
typedef struct step_result {
    pu_hash32 model_end, resid_end, update_hash;
    uint32_t update_count;
    uint32_t correct;
    uint64_t loss_e9;
    uint8_t ran; /* 0: the step refused its inputs (shapes disagree with the task) */
} step_result;

/* A bounded memo table: key hash -> fixed-size value, at most `cap`
 * entries, FIFO eviction through `ring` (grown on demand up to cap).
 * FIFO rather than LRU: insertion order is a function of the verification
 * sequence alone, so two runs evict the same entries -- and a memo never
 * changes a verdict, only how fast it is reached. */
typedef struct memo {
    pu_hmap *map;
    pu_hash32 *ring;
    size_t cap, used, ring_cap, next;
} memo;

struct pu_pouw_verifier {
    pu_crypto *c;         /* borrowed */
    pu_pouw_store *store; /* borrowed */
    memo steps;           /* step inputs -> step_result */
    memo batches;         /* (task id, miners, miner, seq) -> batch hash */
    memo sigs;            /* message id -> signature verdict (1 byte) */
    /* Scratch for the task shape currently verified, rebuilt on change. */
    pu_ml_arch arch;
    bool momentum;
    uint32_t batch;
    pu_ml_ws *ws;
    pu_ml_model *model;
    pu_ml_resid *resid;
    pu_ml_update *update;
    uint32_t *idx;
};

static pu_err memo_init(memo *m, size_t cap, size_t val_size)
{
    memset(m, 0, sizeof *m);
    m->cap = cap;
    return cap ? pu_hmap_new(32, val_size, cap < 256 ? cap : 256, &m->map) : PU_OK;
}

static void memo_release(memo *m)
{
    pu_hmap_free(m->map);
    free(m->ring);
    memset(m, 0, sizeof *m);
}

static const void *memo_get(const memo *m, const pu_hash32 *key)
{
    return m->cap ? pu_hmap_get(m->map, key->b) : NULL;
}

/* A failed insert only loses a memo entry, never a verdict: no error. */
static void memo_put(memo *m, const pu_hash32 *key, const void *val, size_t val_size)
{
    if (!m->cap || pu_hmap_get(m->map, key->b))
        return;
    if (m->used == m->ring_cap && m->used < m->cap) {
        size_t nc = m->ring_cap ? 2 * m->ring_cap : 64;
        nc = nc < m->cap ? nc : m->cap;
        pu_hash32 *nr = realloc(m->ring, nc * sizeof *nr);
        if (!nr)
            return;
        m->ring = nr;
        m->ring_cap = nc;
    }
    void *slot;
    bool created;
    if (pu_hmap_put(m->map, key->b, &slot, &created) != PU_OK)
        return;
    memcpy(slot, val, val_size);
    if (m->used < m->cap) {
        m->ring[m->used++] = *key;
        return;
    }
    /* Full: the oldest entry goes and its ring slot takes the new key. */
    PU_IGNORE(pu_hmap_remove(m->map, m->ring[m->next].b, NULL)); /* present by construction */
    m->ring[m->next] = *key;
    m->next = (m->next + 1) % m->cap;
}

pu_err pu_pouw_verifier_new(pu_crypto *c, pu_pouw_store *store, size_t cache_entries,
                            pu_pouw_verifier **out)
{
    *out = NULL;
    pu_pouw_verifier *v = calloc(1, sizeof *v);
    if (!v)
        return PU_ERR_NOMEM;
    v->c = c;
    v->store = store;
    pu_err rc = memo_init(&v->steps, cache_entries, sizeof(step_result));
    if (rc == PU_OK)
        rc = memo_init(&v->batches, cache_entries, sizeof(pu_hash32));
    if (rc == PU_OK)
        rc = memo_init(&v->sigs, cache_entries, 1);
    if (rc != PU_OK) {
        pu_pouw_verifier_free(v);
        return rc;
    }
    *out = v;
    return PU_OK;
}

pu_pouw_store *pu_pouw_verifier_store(const pu_pouw_verifier *v) { return v->store; }

static void scratch_release(pu_pouw_verifier *v)
{
    pu_ml_ws_free(v->ws);
    pu_ml_model_free(v->model);
    pu_ml_resid_free(v->resid);
    pu_ml_update_free(v->update);
    free(v->idx);
    v->ws = NULL;
    v->model = NULL;
    v->resid = NULL;
    v->update = NULL;
    v->idx = NULL;
}

void pu_pouw_verifier_free(pu_pouw_verifier *v)
{
    if (!v)
        return;
    scratch_release(v);
    memo_release(&v->steps);
    memo_release(&v->batches);
    memo_release(&v->sigs);
    free(v);
}

/* Scratch objects shaped like task t (kept while the shape stays). */
static pu_err scratch_for(pu_pouw_verifier *v, const pu_task *t)
{
    pu_ml_arch a;
    uint32_t np;
    bool mom = t->momentum_e9 != 0;
    pu_task_arch(t, &a);
    if (v->ws && pu_ml_arch_eq(&a, &v->arch) && mom == v->momentum && t->batch_size <= v->batch)
        return PU_OK;
    scratch_release(v);
    pu_err rc = pu_ml_arch_check(&a, &np);
    if (rc == PU_OK)
        rc = pu_ml_ws_new(&a, t->batch_size, &v->ws);
    if (rc == PU_OK)
        rc = pu_ml_model_new(&a, mom, &v->model);
    if (rc == PU_OK)
        rc = pu_ml_resid_new(np, &v->resid);
    if (rc == PU_OK)
        rc = pu_ml_update_new(&v->update);
    if (rc == PU_OK && !(v->idx = malloc((size_t)t->batch_size * sizeof *v->idx)))
        rc = PU_ERR_NOMEM;
    if (rc != PU_OK) {
        scratch_release(v);
        return rc;
    }
    v->arch = a;
    v->momentum = mom;
    v->batch = t->batch_size;
    return PU_OK;
}

/* ---- verify_ml_work ------------------------------------------------------------------------- */

/* One verification in progress. */
typedef struct vjob {
    pu_pouw_verifier *v;
    const pu_params *p;
    const pu_header *h;
    const pu_pouw_task_view *view;
    const uint8_t *pb; /* the proof bytes */
    size_t plen;
    pu_pouw_proof pr;
    pu_hash32 msg_id, commit_id, batch_hash;
    const pu_ml_model *m0;
    const pu_ml_resid *r0;
    const pu_ml_update *peers[PU_POUW_MAX_PEERS];
    step_result res;
    pu_pouw_cost *cost;
} vjob;

/* Each check_* returns PU_OK with *why set (PU_POUW_OK: passed) or a system
 * error, and runs only if every earlier check passed. */

static pu_err check_structure(vjob *j, pu_pouw_reason *why)
{
    const pu_iter_msg *m = &j->pr.msg, *cm = &j->pr.commit_msg;
    *why = PU_POUW_MALFORMED;
    pu_err rc = pu_pouw_proof_decode(j->pb, j->plen, &j->pr);
    if (rc == PU_ERR_PARSE)
        return PU_OK;
    if (rc == PU_OK)
        rc = pu_iter_msg_id(j->v->c, m, &j->msg_id);
    if (rc == PU_OK)
        rc = pu_iter_msg_id(j->v->c, cm, &j->commit_id);
    if (rc != PU_OK)
        return rc;
    if (pu_header_is_pouw(j->h) && pu_hash_eq(&j->h->ml_task_id, &m->task_id)
        && pu_hash_eq(&j->h->iter_msg, &j->msg_id) && pu_hash_eq(&cm->task_id, &m->task_id)
        && cm->miner_index == m->miner_index && memcmp(cm->miner_pub, m->miner_pub, 33) == 0)
        *why = PU_POUW_OK;
    return PU_OK;
}

static pu_err check_task(vjob *j, pu_pouw_reason *why)
{
    const pu_pouw_task_view *vw = j->view;
    const pu_iter_msg *m = &j->pr.msg;
    *why = PU_POUW_UNKNOWN_TASK;
    if (!vw || !vw->task || !vw->active || !pu_hash_eq(&vw->task_id, &m->task_id))
        return PU_OK;
    if (!vw->train)
        return PU_ERR_STATE; /* the caller's view is incomplete: not the block's fault */
    /* Iterations past the task's budget are not work the client asked for. */
    if (m->seq < vw->task->max_iterations)
        *why = PU_POUW_OK;
    return PU_OK;
}

static pu_err check_selected(vjob *j, pu_pouw_reason *why)
{
    const pu_iter_msg *m = &j->pr.msg;
    bool ok = m->miner_index < j->view->n_miners && j->view->miner_pubs
              && memcmp(j->view->miner_pubs[m->miner_index], m->miner_pub, 33) == 0;
    *why = ok ? PU_POUW_OK : PU_POUW_NOT_SELECTED;
    return PU_OK;
}

/* The message id is H2 of the whole encoding, signature included, so it
 * names the (message, signature) pair and can key the verdict. */
static bool sig_ok_memo(pu_pouw_verifier *v, const pu_iter_msg *m, const pu_hash32 *id)
{
    const uint8_t *hit = memo_get(&v->sigs, id);
    if (hit)
        return *hit;
    uint8_t ok = pu_iter_msg_sig_ok(v->c, m);
    memo_put(&v->sigs, id, &ok, 1);
    return ok;
}

/* Both messages, and the block: its miner signs it, so every later
 * failure is that key's doing (pu_pouw_reason_slashable). */
static pu_err check_signatures(vjob *j, pu_pouw_reason *why)
{
    bool ok = sig_ok_memo(j->v, &j->pr.msg, &j->msg_id)
              && sig_ok_memo(j->v, &j->pr.commit_msg, &j->commit_id)
              && block_sig_ok(j->v->c, j->h, j->pr.msg.miner_pub, j->pr.block_sig);
    *why = ok ? PU_POUW_OK : PU_POUW_BAD_SIGNATURE;
    return PU_OK;
}

/* hist[i] must be id and hist[i-1] its prev link (zero at i = 0). */
static bool hist_links(const pu_pouw_proof *pr, uint32_t i, const pu_hash32 *id,
                       const pu_hash32 *prev)
{
    if (i >= pr->n_hist || !pu_hash_eq(&pr->hist[i], id))
        return false;
    return i == 0 ? pu_hash_is_zero(prev) : pu_hash_eq(&pr->hist[i - 1], prev);
}

static pu_err check_history(vjob *j, pu_pouw_reason *why)
{
    const pu_pouw_proof *pr = &j->pr;
    *why = PU_POUW_BAD_HISTORY;
    if ((uint64_t)pr->n_hist != (uint64_t)pr->msg.seq + 1
        || !hist_links(pr, pr->msg.seq, &j->msg_id, &pr->msg.prev)
        || !hist_links(pr, pr->commit_msg.seq, &j->commit_id, &pr->commit_msg.prev))
        return PU_OK;
    pu_hash32 root;
    pu_err rc = pu_merkle_root(j->v->c, pr->hist, pr->n_hist, &root);
    if (rc == PU_OK && pu_hash_eq(&root, &j->h->msg_history))
        *why = PU_POUW_OK;
    return rc;
}

static pu_err check_nonce(vjob *j, pu_pouw_reason *why)
{
    const pu_iter_msg *m = &j->pr.msg;
    uint64_t base = pu_pouw_nonce_base(j->v->c, &m->model_end, &m->update_hash);
    uint64_t a = pu_pouw_nonce_count(j->p, j->view->task, m->batch_n);
    /* Unsigned wrap-around makes this [base, base + a) modulo 2^64. */
    *why = j->h->nonce - base < a ? PU_POUW_OK : PU_POUW_NONCE_RANGE;
    return PU_OK;
}

static pu_err check_commitment(vjob *j, pu_pouw_reason *why)
{
    const pu_iter_msg *m = &j->pr.msg, *cm = &j->pr.commit_msg;
    pu_hash32 zn;
    pu_header_zero_nonce_hash(j->v->c, j->h, &zn);
    bool ok = (uint64_t)cm->seq + j->p->pouw_commit_lag == m->seq
              && pu_hash_eq(&j->h->zero_nonce, &cm->commit) && pu_hash_eq(&zn, &cm->commit);
    *why = ok ? PU_POUW_OK : PU_POUW_BAD_COMMITMENT;
    return PU_OK;
}

/* The batch hash hashes batch_size examples (~390 KB for the seed task,
 * more than everything else a cached verification does), so it is
 * memoised per (task id, miner count, miner, seq): the task id names the
 * data set, which makes the batch a function of that tuple. */
static pu_err batch_hash_memo(vjob *j, const uint32_t *idx)
{
    static const char TAG[] = "pouwsim-batch-v1";
    const pu_iter_msg *m = &j->pr.msg;
    uint8_t buf[sizeof TAG + 32 + 6 * 4];
    uint8_t *p = buf;
    pu_hash32 key;
    memcpy(p, TAG, sizeof TAG);
    p = puth(p + sizeof TAG, &m->task_id);
    p = put32(p, j->view->n_miners);
    p = put32(p, m->miner_index);
    p = put32(p, m->seq);
    p = put32(p, j->view->task->batch_size);
    p = put32(p, pu_dataset_size(j->view->train));
    p = put32(p, pu_dataset_dim(j->view->train));
    pu_sha256(j->v->c, buf, (size_t)(p - buf), &key);
    const pu_hash32 *hit = memo_get(&j->v->batches, &key);
    if (hit) {
        j->batch_hash = *hit;
        return PU_OK;
    }
    pu_err rc = pu_dataset_batch_hash(j->view->train, j->v->c, idx, j->view->task->batch_size,
                                      &j->batch_hash);
    if (rc == PU_OK)
        memo_put(&j->v->batches, &key, &j->batch_hash, sizeof j->batch_hash);
    return rc;
}

static pu_err check_batch(vjob *j, pu_pouw_reason *why)
{
    const pu_iter_msg *m = &j->pr.msg;
    const pu_task *t = j->view->task;
    uint32_t epoch, iter;
    *why = PU_POUW_BAD_BATCH;
    if (m->batch_n != t->batch_size)
        return PU_OK;
    pu_err rc = scratch_for(j->v, t);
    if (rc != PU_OK)
        return rc;
    rc = seq_batch(j->view, m->miner_index, m->seq, &epoch, &iter, j->v->idx);
    if (rc == PU_OK)
        rc = batch_hash_memo(j, j->v->idx);
    if (rc == PU_ERR_RANGE) /* the schedule has no such batch */
        return PU_OK;
    if (rc == PU_OK && epoch == m->epoch && iter == m->iter && pu_hash_eq(&j->batch_hash, &m->batch_hash))
        *why = PU_POUW_OK;
    return rc;
}

static pu_err check_data(vjob *j, pu_pouw_reason *why)
{
    const pu_iter_msg *m = &j->pr.msg;
    const pu_pouw_store *s = j->v->store;
    *why = PU_POUW_UNKNOWN_DATA;
    j->m0 = pu_pouw_store_model(s, &m->model_start);
    j->r0 = pu_pouw_store_resid(s, &m->resid_start);
    if (!j->m0 || !j->r0)
        return PU_OK;
    /* Bytes a real verifier would fetch from the supervisors' record. */
    uint64_t bytes = pu_ml_model_serialized_len(j->m0) + pu_ml_resid_serialized_len(j->r0);
    for (uint32_t i = 0; i < m->n_peers; i++) {
        j->peers[i] = pu_pouw_store_update(s, &m->peers[i].update_hash);
        if (!j->peers[i])
            return PU_OK;
        bytes += pu_ml_update_serialized_len(j->peers[i]);
    }
    j->cost->bytes = bytes;
    *why = PU_POUW_OK;
    return PU_OK;
}

/* Floating-point operations of pu_ml_step on a batch of n: forward 2nW
 * (products) + 2nB (bias, ReLU), softmax ~30 per logit (pu_det_exp is a
 * degree-13 polynomial), backward 2nW for the weight gradients + 2n(W - W0)
 * for the activation gradients (none for the input layer) + 2nB (bias
 * sums, ReLU'), then 4P for residual and quantisation (2P more with
 * momentum) and one per peer entry applied.  W = sum of fan_in * fan_out,
 * B = sum of layer widths, W0 = the input layer's W.  An estimate for CPU
 * accounting, within tens of percent of the real count, and a pure
 * function of the inputs, so every node is charged the same. */
static uint64_t step_flops(const pu_ml_arch *a, bool momentum, uint32_t n,
                           const pu_ml_update *const *peers, uint32_t n_peers)
{
    uint64_t w = 0, w0 = 0, bsum = 0, np = 0, nn = n;
    uint32_t in = a->input;
    for (uint32_t l = 0; l <= a->n_hidden; l++) {
        uint32_t out = l < a->n_hidden ? a->hidden[l] : a->output;
        uint64_t wl = (uint64_t)in * out;
        w += wl;
        w0 = l == 0 ? wl : w0;
        bsum += out;
        np += wl + out;
        in = out;
    }
    uint64_t f = 2 * nn * w + 2 * nn * bsum + 30 * nn * a->output /* forward, softmax */
                 + 2 * nn * w + 2 * nn * (w - w0) + 2 * nn * bsum    /* backward */
                 + 4 * np + (momentum ? 2 * np : 0);               /* residual, update */
    for (uint32_t i = 0; i < n_peers; i++)
        f += pu_ml_update_count(peers[i]);
    return f;
}

/* Hash of every input of the step: start model and residual (their content
 * hashes), the batch (its hash names indices and data), the peer updates
 * in the order applied, the hyperparameters and the architecture. */
static void step_key(vjob *j, pu_hash32 *key)
{
    static const char TAG[] = "pouwsim-step-v1";
    const pu_iter_msg *m = &j->pr.msg;
    const pu_task *t = j->view->task;
    const pu_ml_arch *a = &j->v->arch;
    uint8_t buf[sizeof TAG + 3 * 32 + 8 + PU_POUW_MAX_PEERS * 32 + 24 + 12 + 4 * PU_ML_MAX_HIDDEN];
    uint8_t *p = buf;
    memcpy(p, TAG, sizeof TAG);
    p += sizeof TAG;
    p = puth(p, &m->model_start);
    p = puth(p, &m->resid_start);
    p = puth(p, &j->batch_hash);
    p = put32(p, t->batch_size);
    p = put32(p, m->n_peers);
    for (uint32_t i = 0; i < m->n_peers; i++)
        p = puth(p, &m->peers[i].update_hash);
    p = put64(p, t->lr_e9);
    p = put64(p, t->tau_e9);
    p = put64(p, t->momentum_e9);
    p = put32(p, a->input);
    p = put32(p, a->n_hidden);
    for (uint32_t i = 0; i < a->n_hidden; i++)
        p = put32(p, a->hidden[i]);
    p = put32(p, a->output);
    pu_sha256(j->v->c, buf, (size_t)(p - buf), key);
}

/* Re-execute the step into the verifier's scratch.  A step that refuses
 * its inputs (stored objects of another shape than the task's) is a
 * result too: ran = 0, which no message can match. */
static pu_err run_step(vjob *j, step_result *res)
{
    pu_pouw_verifier *v = j->v;
    const pu_task *t = j->view->task;
    pu_ml_hyper hy;
    pu_ml_metrics mt;
    pu_ml_batch b = {j->view->train, v->idx, t->batch_size};
    memset(res, 0, sizeof *res);
    pu_task_hyper(t, &hy);
    pu_err rc = pu_ml_step(v->ws, j->m0, j->r0, &b, j->peers, j->pr.msg.n_peers, &hy, v->model,
                           v->resid, v->update, &mt);
    if (rc == PU_ERR_INVALID || rc == PU_ERR_RANGE)
        return PU_OK;
    if (rc == PU_OK)
        rc = pu_ml_model_hash(v->model, v->c, v->ws, &res->model_end);
    if (rc == PU_OK)
        rc = pu_ml_resid_hash(v->resid, v->c, v->ws, &res->resid_end);
    if (rc == PU_OK)
        rc = pu_ml_update_hash(v->update, v->c, v->ws, &res->update_hash);
    if (rc != PU_OK)
        return rc;
    res->update_count = pu_ml_update_count(v->update);
    res->correct = mt.correct;
    res->loss_e9 = mt.loss_e9;
    res->ran = 1;
    return PU_OK;
}

static pu_err check_reexec(vjob *j, pu_pouw_reason *why)
{
    pu_pouw_verifier *v = j->v;
    const pu_iter_msg *m = &j->pr.msg;
    pu_hash32 key;
    pu_err rc = PU_OK;
    j->cost->flops = step_flops(&v->arch, v->momentum, m->batch_n, j->peers, m->n_peers);
    step_key(j, &key);
    const step_result *hit = memo_get(&v->steps, &key);
    if (hit) {
        j->res = *hit;
    } else {
        rc = run_step(j, &j->res);
        if (rc != PU_OK)
            return rc;
        j->cost->reexecuted = true;
        memo_put(&v->steps, &key, &j->res, sizeof j->res);
    }
    const step_result *r = &j->res;
    bool ok = r->ran && pu_hash_eq(&r->model_end, &m->model_end)
              && pu_hash_eq(&r->resid_end, &m->resid_end)
              && pu_hash_eq(&r->update_hash, &m->update_hash) && r->update_count == m->update_count
              && m->lr_e9 == j->view->task->lr_e9;
    *why = ok ? PU_POUW_OK : PU_POUW_REEXEC_MISMATCH;
    return PU_OK;
}

static pu_err check_metrics(vjob *j, pu_pouw_reason *why)
{
    bool ok = j->res.loss_e9 == j->pr.msg.loss_e9 && j->res.correct == j->pr.msg.correct;
    *why = ok ? PU_POUW_OK : PU_POUW_METRICS_MISMATCH;
    return PU_OK;
}

static pu_err check_threshold(vjob *j, pu_pouw_reason *why)
{
    const pu_iter_msg *m = &j->pr.msg;
    bool ok = m->correct >= pu_task_min_correct(j->view->task, m->seq, m->batch_n);
    *why = ok ? PU_POUW_OK : PU_POUW_BELOW_THRESHOLD;
    return PU_OK;
}

pu_err pu_pouw_verify(pu_pouw_verifier *v, const pu_params *p, const pu_header *h,
                      const uint8_t *proof, size_t proof_len, const pu_pouw_task_view *view,
                      pu_pouw_reason *why, pu_pouw_cost *cost)
{
    vjob j;
    memset(&j, 0, sizeof j);
    memset(cost, 0, sizeof *cost);
    j.v = v;
    j.p = p;
    j.h = h;
    j.view = view;
    j.pb = proof;
    j.plen = proof_len;
    j.cost = cost;
    /* Plain calls rather than a table of function pointers: a const
     * pointer table needs relocations, i.e. writable data under PIE. */
    pu_err rc = check_structure(&j, why);
#define NEXT(fn) if (rc == PU_OK && *why == PU_POUW_OK) rc = fn(&j, why)
    NEXT(check_task);
    NEXT(check_selected);
    NEXT(check_signatures);
    NEXT(check_history);
    NEXT(check_nonce);
    NEXT(check_commitment);
    NEXT(check_batch);
    NEXT(check_data);
    NEXT(check_reexec);
    NEXT(check_metrics);
    NEXT(check_threshold);
#undef NEXT
    pu_pouw_proof_release(&j.pr);
    if (rc != PU_OK)
        *why = PU_POUW_MALFORMED; /* no verdict: the caller must look at rc */
    return rc;
}

/* ---- evidence of misconduct ---------------------------------------------------------- */

#define EVIDENCE_VERSION 1u

static pu_err evidence_encode(uint8_t kind, const uint8_t *a, size_t alen, const uint8_t *b,
                              size_t blen, uint8_t **out, size_t *len)
{
    pu_buf buf;
    pu_buf_init(&buf);
    pu_buf_u8(&buf, EVIDENCE_VERSION);
    pu_buf_u8(&buf, kind);
    pu_buf_u32(&buf, (uint32_t)alen);
    pu_buf_put(&buf, a, alen);
    pu_buf_u32(&buf, (uint32_t)blen);
    if (blen)
        pu_buf_put(&buf, b, blen);
    return pu_buf_finish(&buf, out, len);
}

pu_err pu_pouw_evidence_block(const pu_header *h, const uint8_t *proof, size_t proof_len, uint8_t **out,
                              size_t *len)
{
    uint8_t hb[PU_HEADER_SIZE];
    *out = NULL;
    *len = 0;
    if (proof_len > PU_POUW_EVIDENCE_MAX)
        return PU_ERR_RANGE;
    pu_header_serialize(h, hb);
    return evidence_encode(PU_POUW_EV_BLOCK, hb, sizeof hb, proof, proof_len, out, len);
}

pu_err pu_pouw_evidence_message(const pu_iter_msg *m, uint8_t **out, size_t *len)
{
    uint8_t mb[MSG_MAX_LEN];
    *out = NULL;
    *len = 0;
    if (m->n_peers > PU_POUW_MAX_PEERS)
        return PU_ERR_RANGE;
    size_t n = msg_write(m, false, mb);
    return evidence_encode(PU_POUW_EV_MESSAGE, mb, n, NULL, 0, out, len);
}

pu_err pu_pouw_evidence_history(const pu_iter_msg *a, const pu_iter_msg *b, uint8_t **out, size_t *len)
{
    uint8_t ab[MSG_MAX_LEN], bb[MSG_MAX_LEN];
    *out = NULL;
    *len = 0;
    if (a->n_peers > PU_POUW_MAX_PEERS || b->n_peers > PU_POUW_MAX_PEERS)
        return PU_ERR_RANGE;
    size_t na = msg_write(a, false, ab), nb = msg_write(b, false, bb);
    return evidence_encode(PU_POUW_EV_HISTORY, ab, na, bb, nb, out, len);
}

/* The start a miner's seq 0 must name: the task's initial model and a zero
 * residual, memoised per task id (their hashes cost a model init). */
static pu_err initial_state(pu_pouw_verifier *v, const pu_pouw_task_view *vw, pu_hash32 *model,
                            pu_hash32 *resid)
{
    static const char TAG[] = "pouwsim-initial-state-v1";
    uint8_t buf[sizeof TAG + 32];
    pu_hash32 key;
    memcpy(buf, TAG, sizeof TAG);
    memcpy(buf + sizeof TAG, vw->task_id.b, 32);
    pu_sha256(v->c, buf, sizeof buf, &key);
    const step_result *hit = memo_get(&v->steps, &key);
    if (hit) {
        *model = hit->model_end;
        *resid = hit->resid_end;
        return PU_OK;
    }
    pu_err rc = scratch_for(v, vw->task);
    if (rc != PU_OK)
        return rc;
    step_result r;
    memset(&r, 0, sizeof r);
    pu_ml_model_init(v->model, vw->task->task_seed);
    pu_ml_resid *zero = NULL;
    rc = pu_ml_model_hash(v->model, v->c, v->ws, &r.model_end);
    if (rc == PU_OK)
        rc = pu_ml_resid_new(pu_ml_resid_nparams(v->resid), &zero);
    if (rc == PU_OK)
        rc = pu_ml_resid_hash(zero, v->c, v->ws, &r.resid_end);
    pu_ml_resid_free(zero);
    if (rc != PU_OK)
        return rc;
    memo_put(&v->steps, &key, &r, sizeof r);
    *model = r.model_end;
    *resid = r.resid_end;
    return PU_OK;
}

/* The checks of one signed message on its own: the miner is seated and
 * signed it (else nothing is attributable), then its start (seq 0), batch,
 * inputs, re-execution and metrics.  *why is the first failure. */
static pu_err audit_message(vjob *j, pu_pouw_reason *why)
{
    const pu_iter_msg *m = &j->pr.msg;
    pu_err rc = pu_iter_msg_id(j->v->c, m, &j->msg_id);
    *why = PU_POUW_OK;
    if (rc == PU_OK)
        rc = check_task(j, why);
    if (rc == PU_OK && *why == PU_POUW_OK)
        rc = check_selected(j, why);
    if (rc == PU_OK && *why == PU_POUW_OK && !sig_ok_memo(j->v, m, &j->msg_id))
        *why = PU_POUW_BAD_SIGNATURE;
    if (rc == PU_OK && *why == PU_POUW_OK && m->seq == 0) {
        pu_hash32 m0, r0;
        rc = initial_state(j->v, j->view, &m0, &r0);
        if (rc == PU_OK && (!pu_hash_eq(&m0, &m->model_start) || !pu_hash_eq(&r0, &m->resid_start)))
            *why = PU_POUW_BAD_HISTORY;
    }
#define NEXT(fn) if (rc == PU_OK && *why == PU_POUW_OK) rc = fn(j, why)
    NEXT(check_batch);
    NEXT(check_data);
    NEXT(check_reexec);
    NEXT(check_metrics);
#undef NEXT
    return rc;
}

static pu_err read_part(pu_reader *r, const uint8_t **v, uint32_t *n)
{
    pu_err rc = pu_read_u32(r, n);
    if (rc == PU_OK && *n > PU_POUW_EVIDENCE_MAX)
        rc = PU_ERR_PARSE;
    return rc == PU_OK ? pu_read_view(r, *n, v) : rc;
}

/* Two signed messages of one seated miner, b right after a in its
 * history, whose states do not join: b does not start where a ended. */
static pu_err audit_history(vjob *j, const pu_iter_msg *a, pu_pouw_reason *why)
{
    const pu_iter_msg *b = &j->pr.msg;
    pu_hash32 ida;
    pu_err rc = pu_iter_msg_id(j->v->c, a, &ida);
    if (rc == PU_OK)
        rc = pu_iter_msg_id(j->v->c, b, &j->msg_id);
    *why = PU_POUW_OK;
    if (rc == PU_OK)
        rc = check_task(j, why);
    if (rc == PU_OK && *why == PU_POUW_OK)
        rc = check_selected(j, why);
    if (rc != PU_OK || *why != PU_POUW_OK)
        return rc;
    if (!pu_hash_eq(&a->task_id, &b->task_id) || a->miner_index != b->miner_index
        || memcmp(a->miner_pub, b->miner_pub, 33) != 0 || !sig_ok_memo(j->v, a, &ida)
        || !sig_ok_memo(j->v, b, &j->msg_id)) {
        *why = PU_POUW_BAD_SIGNATURE; /* not one miner's two signed messages */
        return PU_OK;
    }
    if ((uint64_t)a->seq + 1 == b->seq && pu_hash_eq(&b->prev, &ida)
        && (!pu_hash_eq(&b->model_start, &a->model_end) || !pu_hash_eq(&b->resid_start, &a->resid_end)))
        *why = PU_POUW_BAD_HISTORY;
    return PU_OK;
}

pu_err pu_pouw_evidence_check(pu_pouw_verifier *v, const pu_params *p, const pu_pouw_task_view *view,
                              const uint8_t *buf, size_t len, pu_pouw_finding *out)
{
    memset(out, 0, sizeof *out);
    out->reason = PU_POUW_MALFORMED;
    pu_reader r;
    uint8_t ver = 0, kind = 0;
    const uint8_t *a = NULL, *b = NULL;
    uint32_t na = 0, nb = 0;
    pu_reader_init(&r, buf, len);
    pu_err rc = pu_read_u8(&r, &ver);
    if (rc == PU_OK) rc = pu_read_u8(&r, &kind);
    if (rc == PU_OK) rc = read_part(&r, &a, &na);
    if (rc == PU_OK) rc = read_part(&r, &b, &nb);
    if (rc != PU_OK || ver != EVIDENCE_VERSION || pu_reader_left(&r) != 0)
        return PU_OK;
    /* Misconduct stays misconduct once the task left training: judge it as
     * of the task's training phase. */
    pu_pouw_task_view vw = view ? *view : (pu_pouw_task_view){0};
    vw.active = view != NULL;
    vjob j;
    memset(&j, 0, sizeof j);
    pu_pouw_cost cost;
    j.v = v;
    j.p = p;
    j.view = &vw;
    j.cost = &cost;
    memset(&cost, 0, sizeof cost);
    pu_pouw_reason why = PU_POUW_MALFORMED;
    out->kind = kind;
    if (kind == PU_POUW_EV_BLOCK) {
        pu_header h;
        if (pu_header_parse(a, na, &h) != PU_OK)
            return PU_OK;
        rc = pu_pouw_verify(v, p, &h, b, nb, &vw, &why, &cost);
        pu_pouw_proof pr;
        if (rc == PU_OK && pu_pouw_proof_decode(b, nb, &pr) == PU_OK) {
            out->miner_index = pr.msg.miner_index;
            out->seq = pr.msg.seq;
            pu_pouw_proof_release(&pr);
        }
        pu_header_hash(v->c, &h, &out->object);
    } else if (kind == PU_POUW_EV_MESSAGE && nb == 0) {
        if (pu_iter_msg_decode(a, na, &j.pr.msg) != PU_OK)
            return PU_OK;
        rc = audit_message(&j, &why);
        out->object = j.msg_id;
    } else if (kind == PU_POUW_EV_HISTORY) {
        pu_iter_msg first;
        if (pu_iter_msg_decode(a, na, &first) != PU_OK || pu_iter_msg_decode(b, nb, &j.pr.msg) != PU_OK)
            return PU_OK;
        rc = audit_history(&j, &first, &why);
        out->object = j.msg_id;
    } else {
        return PU_OK;
    }
    if (kind != PU_POUW_EV_BLOCK) {
        out->miner_index = j.pr.msg.miner_index;
        out->seq = j.pr.msg.seq;
    }
    if (rc != PU_OK)
        return rc;
    out->reason = why;
    out->proven = pu_pouw_reason_slashable(why)
                  && (kind == PU_POUW_EV_BLOCK || why != PU_POUW_BELOW_THRESHOLD);
    return PU_OK;
}

/* ---- final models -------------------------------------------------------------------- */

pu_err pu_pouw_evaluate(pu_pouw_verifier *v, const pu_task *t, const pu_dataset *test,
                        const pu_hash32 *model_hash, uint32_t *correct, uint32_t *n)
{
    static const char TAG[] = "pouwsim-evaluate-v1";
    uint8_t buf[sizeof TAG + 32 + PU_TASK_ENCODED_LEN];
    pu_hash32 key;
    *correct = 0;
    *n = 0;
    pu_err rc = pu_task_encode(t, buf + sizeof TAG + 32);
    if (rc != PU_OK)
        return rc;
    memcpy(buf, TAG, sizeof TAG);
    memcpy(buf + sizeof TAG, model_hash->b, 32);
    pu_sha256(v->c, buf, sizeof buf, &key);
    const step_result *hit = memo_get(&v->steps, &key);
    if (hit) {
        *correct = hit->correct;
        *n = hit->update_count;
        return hit->ran ? PU_OK : PU_ERR_INVALID;
    }
    const pu_ml_model *m = pu_pouw_store_model(v->store, model_hash);
    if (!m)
        return PU_ERR_NOTFOUND; /* not cached: it may be stored later */
    step_result r;
    memset(&r, 0, sizeof r);
    pu_ml_metrics mt;
    if ((rc = scratch_for(v, t)) != PU_OK)
        return rc;
    rc = pu_ml_evaluate(v->ws, m, test, 0, pu_dataset_size(test), &mt);
    if (rc != PU_OK && rc != PU_ERR_INVALID && rc != PU_ERR_RANGE)
        return rc;
    r.ran = rc == PU_OK;
    r.correct = r.ran ? mt.correct : 0;
    r.update_count = r.ran ? mt.n : 0;
    memo_put(&v->steps, &key, &r, sizeof r);
    *correct = r.correct;
    *n = r.update_count;
    return r.ran ? PU_OK : PU_ERR_INVALID;
}
