/* core/opret.c -- 160-byte OP_RETURN records: canonical payloads, zstd with the
 * shipped dictionary, strict decoding.  Layouts are documented in opret.h. */
/* The block-level API (ZSTD_compressBlock / ZSTD_decompressBlock) is in zstd's
 * static-linking section; libzstd.so exports it.  Later releases mark it
 * deprecated, hence the second define: see opret.h for why we use it. */
#define ZSTD_STATIC_LINKING_ONLY
#define ZSTD_DISABLE_DEPRECATE_WARNINGS
#include "core/opret.h"

#include <stdlib.h>
#include <string.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "core/bytes.h"
#include "core/mix.h"

struct pu_opret_codec {
    ZSTD_CCtx *cctx;
    ZSTD_DCtx *dctx;
    ZSTD_CDict *cdict; /* NULL when the codec has no dictionary */
    ZSTD_DDict *ddict;
    int level;         /* used directly only without a dictionary */
};

const char *pu_opret_status_str(pu_opret_status s)
{
    switch (s) {
    case PU_OPRET_OK: return "ok";
    case PU_OPRET_E_LENGTH: return "record is not 160 bytes";
    case PU_OPRET_E_CRC: return "CRC-32 mismatch";
    case PU_OPRET_E_VERSION: return "unknown format version";
    case PU_OPRET_E_OPCODE: return "unknown op code";
    case PU_OPRET_E_HEADER: return "payload header byte no record of this format has";
    case PU_OPRET_E_PADDING: return "nonzero padding after the payload";
    case PU_OPRET_E_DECOMPRESS: return "payload does not decompress";
    case PU_OPRET_E_OVERRUN: return "decompressed payload too large";
    case PU_OPRET_E_TRUNCATED: return "typed payload truncated";
    case PU_OPRET_E_TRAILING: return "trailing bytes after the typed payload";
    case PU_OPRET_E_FIELD: return "payload field out of range";
    case PU_OPRET_E_ZLIB: return "payload is a zlib stream (the Python implementation's codec)";
    }
    return "unknown status";
}

const char *pu_opret_op_name(uint8_t op)
{
    /* A switch, not a table of pointers: pointer tables need relocations and
     * land in writable data, which check-globals forbids. */
    switch (op) {
    case PU_OPRET_TASK_SUBMISSION: return "TASK_SUBMISSION";
    case PU_OPRET_TASK_RESULT: return "TASK_RESULT";
    case PU_OPRET_WORKER_REGISTRATION: return "WORKER_REGISTRATION";
    case PU_OPRET_CONSENSUS_VOTE: return "CONSENSUS_VOTE";
    case PU_OPRET_GRADIENT_SHARE: return "GRADIENT_SHARE";
    case PU_OPRET_VERIFICATION_PROOF: return "VERIFICATION_PROOF";
    case PU_OPRET_ECONOMIC_EVENT: return "ECONOMIC_EVENT";
    case PU_OPRET_NETWORK_STATE: return "NETWORK_STATE";
    }
    return "UNKNOWN";
}

bool pu_opret_zlib_header(const uint8_t p[2])
{
    /* RFC 1950 s2.2: CMF = CINFO(4) | CM(4), FLG = FLEVEL(2) | FDICT(1) | FCHECK(5) */
    return (p[0] & 0x0fu) == 8u && (p[0] >> 4) <= 7u && !(p[1] & 0x20u)
           && ((unsigned)p[0] * 256u + p[1]) % 31u == 0;
}

void pu_opret_msg_init(pu_opret_msg *m, pu_opret_op op)
{
    memset(m, 0, sizeof *m);
    m->op = (uint8_t)op;
}

void pu_opret_node_id_hash(pu_crypto *c, const uint8_t pub[33], uint8_t out[20])
{
    pu_sha1(c, pub, 33, out);
}

void pu_opret_task_id_hash(pu_crypto *c, const pu_hash32 *task_id, pu_hash32 *out)
{
    pu_sha256(c, task_id->b, 32, out);
}

/* ---- field domains: one definition shared by encoder and decoder, so every
 * record the encoder accepts decodes and nothing else does. ---- */

static bool ppm_ok(uint32_t v) { return v <= PU_OPRET_PPM; }

static bool name_ok(const char *s)
{
    size_t n = 0;
    for (; n <= PU_OPRET_MAX_NAME && s[n]; n++) {
        unsigned char ch = (unsigned char)s[n]; /* same answer whatever char's sign */
        if (ch < 0x20 || ch > 0x7e)
            return false;
    }
    return n >= 1 && n <= PU_OPRET_MAX_NAME;
}

static bool task_ok(const pu_opret_task_submission *t)
{
    if (!pu_amount_valid(t->fee) || !pu_amount_valid(t->min_stake) || !ppm_ok(t->min_accuracy_ppm)
        || t->activation < PU_OPRET_ACT_RELU || t->activation > PU_OPRET_ACT_TANH
        || t->n_layers < 2 || t->n_layers > PU_OPRET_MAX_LAYERS)
        return false;
    for (uint32_t i = 0; i < t->n_layers; i++)
        if (t->layers[i] == 0)
            return false;
    return name_ok(t->dataset_name);
}

static bool result_ok(const pu_opret_task_result *r)
{
    if (r->n_ranked > PU_OPRET_MAX_RANKED)
        return false;
    for (uint32_t i = 0; i < r->n_ranked; i++)
        if (!ppm_ok(r->ranked[i].accuracy_ppm))
            return false;
    return true;
}

static bool econ_ok(const pu_opret_economic_event *e)
{
    return e->kind >= PU_OPRET_ECON_SETTLEMENT && e->kind <= PU_OPRET_ECON_REFUND
           && pu_amount_valid(e->total) && pu_amount_valid(e->to_miners)
           && pu_amount_valid(e->to_supervisors) && pu_amount_valid(e->to_evaluators)
           && pu_amount_valid(e->slashed);
}

static bool fields_ok(const pu_opret_msg *m)
{
    switch (m->op) {
    case PU_OPRET_TASK_SUBMISSION: return task_ok(&m->task);
    case PU_OPRET_TASK_RESULT: return result_ok(&m->result);
    case PU_OPRET_WORKER_REGISTRATION:
        return m->reg.role >= PU_OPRET_ROLE_MINER && m->reg.role <= PU_OPRET_ROLE_VERIFIER
               && pu_amount_valid(m->reg.stake) && pu_amount_valid(m->reg.min_task_fee);
    case PU_OPRET_CONSENSUS_VOTE:
        return m->vote.subject >= PU_OPRET_SUBJ_ITERATION
               && m->vote.subject <= PU_OPRET_SUBJ_MISCONDUCT
               && m->vote.vote >= PU_OPRET_VOTE_YES && m->vote.vote <= PU_OPRET_VOTE_ABSTAIN
               && (m->vote.vote == PU_OPRET_VOTE_YES) == (m->vote.reason == 0);
    case PU_OPRET_GRADIENT_SHARE: return ppm_ok(m->grad.train_accuracy_ppm);
    case PU_OPRET_VERIFICATION_PROOF:
        return m->proof.outcome >= PU_OPRET_VERIFY_OK
               && m->proof.outcome <= PU_OPRET_VERIFY_BAD_REEXEC;
    case PU_OPRET_ECONOMIC_EVENT: return econ_ok(&m->econ);
    case PU_OPRET_NETWORK_STATE: return true;
    }
    return false;
}

/* ---- canonical payload writer: bounded, never allocates ---- */

typedef struct wr {
    uint8_t *p;
    size_t len;
    bool over;
} wr;

static void w_bytes(wr *w, const void *d, size_t n)
{
    if (w->over || n > PU_OPRET_RAW_MAX - w->len) {
        w->over = true;
        return;
    }
    memcpy(w->p + w->len, d, n);
    w->len += n;
}
static void w_u8(wr *w, uint8_t v) { w_bytes(w, &v, 1); }
static void w_u32(wr *w, uint32_t v)
{
    uint8_t b[4];
    pu_put_be32(b, v);
    w_bytes(w, b, 4);
}
static void w_i64(wr *w, int64_t v)
{
    uint8_t b[8];
    pu_put_be64(b, (uint64_t)v);
    w_bytes(w, b, 8);
}

static void put_task(wr *w, const pu_opret_task_submission *t)
{
    uint32_t name_len = (uint32_t)strlen(t->dataset_name); /* fields_ok bounded it */
    w_i64(w, t->fee);
    w_i64(w, t->min_stake);
    w_u32(w, t->min_accuracy_ppm);
    w_u32(w, t->max_iterations);
    w_u32(w, t->batch_size);
    w_u32(w, t->learning_rate_ppm);
    w_u32(w, t->required_miners);
    w_u32(w, t->registration_blocks);
    w_u8(w, t->activation);
    w_u32(w, t->n_layers);
    for (uint32_t i = 0; i < t->n_layers; i++)
        w_u32(w, t->layers[i]);
    w_u32(w, t->dataset_size);
    w_u32(w, name_len);
    w_bytes(w, t->dataset_name, name_len);
}

static void put_result(wr *w, const pu_opret_task_result *r)
{
    w_bytes(w, r->model_hash, PU_OPRET_PREFIX);
    w_u32(w, r->test_samples);
    w_u32(w, r->iterations_run);
    w_u32(w, r->n_ranked);
    for (uint32_t i = 0; i < r->n_ranked; i++) {
        w_u8(w, r->ranked[i].miner_index);
        w_u32(w, r->ranked[i].accuracy_ppm);
    }
}

static void put_econ(wr *w, const pu_opret_economic_event *e)
{
    w_u8(w, e->kind);
    w_i64(w, e->total);
    w_i64(w, e->to_miners);
    w_i64(w, e->to_supervisors);
    w_i64(w, e->to_evaluators);
    w_i64(w, e->slashed);
    w_u32(w, e->n_miners);
    w_u32(w, e->n_supervisors);
    w_u32(w, e->n_evaluators);
    w_u32(w, e->n_slashed);
}

/* The four short fixed layouts. */
static void put_small(wr *w, const pu_opret_msg *m)
{
    switch (m->op) {
    case PU_OPRET_WORKER_REGISTRATION:
        w_u8(w, m->reg.role);
        w_i64(w, m->reg.stake);
        w_i64(w, m->reg.min_task_fee);
        w_u32(w, m->reg.throughput_sps);
        w_u32(w, m->reg.max_params);
        break;
    case PU_OPRET_CONSENSUS_VOTE:
        w_u32(w, m->vote.epoch);
        w_u32(w, m->vote.iteration);
        w_u8(w, m->vote.subject);
        w_bytes(w, m->vote.subject_hash, PU_OPRET_PREFIX);
        w_u8(w, m->vote.vote);
        w_u8(w, m->vote.reason);
        break;
    case PU_OPRET_GRADIENT_SHARE:
        w_u32(w, m->grad.epoch);
        w_u32(w, m->grad.iteration);
        w_bytes(w, m->grad.update_hash, PU_OPRET_PREFIX);
        w_u32(w, m->grad.update_size);
        w_u32(w, m->grad.n_entries);
        w_u32(w, m->grad.tau_micro);
        w_u32(w, m->grad.train_loss_micro);
        w_u32(w, m->grad.train_accuracy_ppm);
        break;
    case PU_OPRET_VERIFICATION_PROOF:
        w_u32(w, m->proof.height);
        w_bytes(w, m->proof.block_hash, PU_OPRET_PREFIX);
        w_u8(w, m->proof.outcome);
        w_u32(w, m->proof.iteration);
        w_bytes(w, m->proof.end_model_hash, PU_OPRET_PREFIX);
        w_u32(w, m->proof.reexec_us);
        break;
    default: /* NETWORK_STATE: fields_ok admitted only known op codes */
        w_u32(w, m->net.height);
        w_bytes(w, m->net.tip_hash, PU_OPRET_PREFIX);
        w_u32(w, m->net.peers);
        w_u32(w, m->net.mempool_txs);
        w_u32(w, m->net.mempool_bytes);
        w_u32(w, m->net.active_tasks);
        break;
    }
}

pu_err pu_opret_payload_encode(const pu_opret_msg *m, uint8_t out[PU_OPRET_RAW_MAX], size_t *out_len)
{
    *out_len = 0;
    if (!fields_ok(m))
        return PU_ERR_RANGE;
    wr w = {out, 0, false};
    if (m->op == PU_OPRET_TASK_SUBMISSION)
        put_task(&w, &m->task);
    else if (m->op == PU_OPRET_TASK_RESULT)
        put_result(&w, &m->result);
    else if (m->op == PU_OPRET_ECONOMIC_EVENT)
        put_econ(&w, &m->econ);
    else
        put_small(&w, m);
    if (w.over) /* cannot happen: the largest layout is 117 bytes */
        return PU_ERR_RANGE;
    *out_len = w.len;
    return PU_OK;
}

bool pu_opret_msg_eq(const pu_opret_msg *a, const pu_opret_msg *b)
{
    uint8_t ra[PU_OPRET_RAW_MAX], rb[PU_OPRET_RAW_MAX];
    size_t la, lb;
    if (pu_opret_payload_encode(a, ra, &la) != PU_OK || pu_opret_payload_encode(b, rb, &lb) != PU_OK)
        return false;
    return a->op == b->op && a->timestamp == b->timestamp
           && memcmp(a->node_id_hash, b->node_id_hash, 20) == 0
           && pu_hash_eq(&a->task_id_hash, &b->task_id_hash) && la == lb && memcmp(ra, rb, la) == 0;
}

/* ---- canonical payload reader: a short read sets a sticky flag, so each
 * layout reads straight through and is judged once at the end. ---- */

typedef struct rd {
    pu_reader r;
    bool short_read;
} rd;

static void r_bytes(rd *r, void *out, size_t n)
{
    if (pu_read_bytes(&r->r, out, n) != PU_OK) {
        r->short_read = true;
        memset(out, 0, n);
    }
}
static uint8_t r_u8(rd *r)
{
    uint8_t v;
    r_bytes(r, &v, 1);
    return v;
}
static uint32_t r_u32(rd *r)
{
    uint8_t b[4];
    r_bytes(r, b, 4);
    return pu_get_be32(b);
}
static int64_t r_i64(rd *r)
{
    uint8_t b[8];
    r_bytes(r, b, 8);
    return (int64_t)pu_get_be64(b);
}

static pu_opret_status get_task(rd *r, pu_opret_task_submission *t)
{
    t->fee = r_i64(r);
    t->min_stake = r_i64(r);
    t->min_accuracy_ppm = r_u32(r);
    t->max_iterations = r_u32(r);
    t->batch_size = r_u32(r);
    t->learning_rate_ppm = r_u32(r);
    t->required_miners = r_u32(r);
    t->registration_blocks = r_u32(r);
    t->activation = r_u8(r);
    t->n_layers = r_u32(r);
    if (t->n_layers > PU_OPRET_MAX_LAYERS) /* before the array is filled */
        return PU_OPRET_E_FIELD;
    for (uint32_t i = 0; i < t->n_layers; i++)
        t->layers[i] = r_u32(r);
    t->dataset_size = r_u32(r);
    uint32_t name_len = r_u32(r);
    if (name_len > PU_OPRET_MAX_NAME)
        return PU_OPRET_E_FIELD;
    r_bytes(r, t->dataset_name, name_len);
    t->dataset_name[name_len] = 0;
    /* An embedded NUL would make the name shorter than name_len and give a
     * second encoding of a different name; name_ok then sees the short name,
     * so compare lengths explicitly. */
    if (!r->short_read && strlen(t->dataset_name) != name_len)
        return PU_OPRET_E_FIELD;
    return PU_OPRET_OK;
}

static pu_opret_status get_result(rd *r, pu_opret_task_result *res)
{
    r_bytes(r, res->model_hash, PU_OPRET_PREFIX);
    res->test_samples = r_u32(r);
    res->iterations_run = r_u32(r);
    res->n_ranked = r_u32(r);
    if (res->n_ranked > PU_OPRET_MAX_RANKED)
        return PU_OPRET_E_FIELD;
    for (uint32_t i = 0; i < res->n_ranked; i++) {
        res->ranked[i].miner_index = r_u8(r);
        res->ranked[i].accuracy_ppm = r_u32(r);
    }
    return PU_OPRET_OK;
}

static void get_econ(rd *r, pu_opret_economic_event *e)
{
    e->kind = r_u8(r);
    e->total = r_i64(r);
    e->to_miners = r_i64(r);
    e->to_supervisors = r_i64(r);
    e->to_evaluators = r_i64(r);
    e->slashed = r_i64(r);
    e->n_miners = r_u32(r);
    e->n_supervisors = r_u32(r);
    e->n_evaluators = r_u32(r);
    e->n_slashed = r_u32(r);
}

static void get_small(rd *r, pu_opret_msg *m)
{
    switch (m->op) {
    case PU_OPRET_WORKER_REGISTRATION:
        m->reg.role = r_u8(r);
        m->reg.stake = r_i64(r);
        m->reg.min_task_fee = r_i64(r);
        m->reg.throughput_sps = r_u32(r);
        m->reg.max_params = r_u32(r);
        break;
    case PU_OPRET_CONSENSUS_VOTE:
        m->vote.epoch = r_u32(r);
        m->vote.iteration = r_u32(r);
        m->vote.subject = r_u8(r);
        r_bytes(r, m->vote.subject_hash, PU_OPRET_PREFIX);
        m->vote.vote = r_u8(r);
        m->vote.reason = r_u8(r);
        break;
    case PU_OPRET_GRADIENT_SHARE:
        m->grad.epoch = r_u32(r);
        m->grad.iteration = r_u32(r);
        r_bytes(r, m->grad.update_hash, PU_OPRET_PREFIX);
        m->grad.update_size = r_u32(r);
        m->grad.n_entries = r_u32(r);
        m->grad.tau_micro = r_u32(r);
        m->grad.train_loss_micro = r_u32(r);
        m->grad.train_accuracy_ppm = r_u32(r);
        break;
    case PU_OPRET_VERIFICATION_PROOF:
        m->proof.height = r_u32(r);
        r_bytes(r, m->proof.block_hash, PU_OPRET_PREFIX);
        m->proof.outcome = r_u8(r);
        m->proof.iteration = r_u32(r);
        r_bytes(r, m->proof.end_model_hash, PU_OPRET_PREFIX);
        m->proof.reexec_us = r_u32(r);
        break;
    default: /* NETWORK_STATE; the op code was range-checked by the caller */
        m->net.height = r_u32(r);
        r_bytes(r, m->net.tip_hash, PU_OPRET_PREFIX);
        m->net.peers = r_u32(r);
        m->net.mempool_txs = r_u32(r);
        m->net.mempool_bytes = r_u32(r);
        m->net.active_tasks = r_u32(r);
        break;
    }
}

/* Parse the decompressed payload into the union of m (m->op already set). */
static pu_opret_status payload_parse(const uint8_t *raw, size_t len, pu_opret_msg *m)
{
    rd r = {{raw, len, 0}, false};
    pu_opret_status st = PU_OPRET_OK;
    if (m->op == PU_OPRET_TASK_SUBMISSION)
        st = get_task(&r, &m->task);
    else if (m->op == PU_OPRET_TASK_RESULT)
        st = get_result(&r, &m->result);
    else if (m->op == PU_OPRET_ECONOMIC_EVENT)
        get_econ(&r, &m->econ);
    else
        get_small(&r, m);
    if (st != PU_OPRET_OK)
        return st;
    if (r.short_read)
        return PU_OPRET_E_TRUNCATED;
    if (pu_reader_left(&r.r))
        return PU_OPRET_E_TRAILING;
    return fields_ok(m) ? PU_OPRET_OK : PU_OPRET_E_FIELD;
}

/* ---- codec ---- */

static pu_err zstd_err(size_t r)
{
    /* With contexts created up front and parameters zstd accepted, the only
     * failures left are allocation and, for the block call, lack of room. */
    return ZSTD_getErrorCode(r) == ZSTD_error_memory_allocation ? PU_ERR_NOMEM : PU_ERR_RANGE;
}

pu_err pu_opret_codec_new_custom(const uint8_t *dict, size_t dict_len, int level, pu_opret_codec **out)
{
    *out = NULL;
    if (level < 1 || level > ZSTD_maxCLevel() || (dict_len && !dict))
        return PU_ERR_RANGE;
    if (dict_len && ZSTD_getDictID_fromDict(dict, dict_len) == 0)
        return PU_ERR_RANGE; /* not a zstd dictionary (raw content is not accepted) */
    pu_opret_codec *c = calloc(1, sizeof *c);
    if (!c)
        return PU_ERR_NOMEM;
    c->level = level;
    c->cctx = ZSTD_createCCtx();
    c->dctx = ZSTD_createDCtx();
    if (dict_len) {
        c->cdict = ZSTD_createCDict(dict, dict_len, level);
        c->ddict = ZSTD_createDDict(dict, dict_len);
    }
    if (!c->cctx || !c->dctx || (dict_len && (!c->cdict || !c->ddict))) {
        pu_opret_codec_free(c);
        return PU_ERR_NOMEM;
    }
    *out = c;
    return PU_OK;
}

pu_err pu_opret_codec_new(pu_opret_codec **out)
{
    *out = NULL;
    if (pu_opret_dict_id != PU_OPRET_DICT_ID || pu_opret_dict_len == 0
        || ZSTD_getDictID_fromDict(pu_opret_dict, pu_opret_dict_len) != PU_OPRET_DICT_ID)
        return PU_ERR_STATE;
    return pu_opret_codec_new_custom(pu_opret_dict, pu_opret_dict_len, PU_OPRET_ZSTD_LEVEL, out);
}

void pu_opret_codec_free(pu_opret_codec *c)
{
    if (!c)
        return;
    ZSTD_freeCCtx(c->cctx);
    ZSTD_freeDCtx(c->dctx);
    ZSTD_freeCDict(c->cdict);
    ZSTD_freeDDict(c->ddict);
    free(c);
}

/* Fill the payload area: the compressed block when it is shorter than the
 * payload, the payload itself otherwise (ties stored: cheaper to decode). */
static pu_err pack_payload(pu_opret_codec *c, const uint8_t *raw, size_t raw_len,
                           uint8_t area[PU_OPRET_PAYLOAD_SIZE])
{
    size_t r = c->cdict ? ZSTD_compressBegin_usingCDict(c->cctx, c->cdict)
                        : ZSTD_compressBegin(c->cctx, c->level);
    if (ZSTD_isError(r))
        return zstd_err(r);
    size_t n = ZSTD_compressBlock(c->cctx, area + 1, PU_OPRET_DATA_MAX, raw, raw_len);
    if (ZSTD_isError(n)) {
        if (ZSTD_getErrorCode(n) != ZSTD_error_dstSize_tooSmall)
            return zstd_err(n);
        n = 0; /* the block does not fit: storing may still */
    }
    if (n != 0 && n < raw_len) {
        area[0] = (uint8_t)(PU_OPRET_COMPRESSED | n);
    } else {
        if (raw_len > PU_OPRET_DATA_MAX)
            return PU_ERR_RANGE;
        memcpy(area + 1, raw, raw_len);
        area[0] = (uint8_t)raw_len;
        n = raw_len;
    }
    /* zstd uses the whole destination as scratch, so bytes past the block
     * (or past a stored payload, after a failed attempt) are not zero. */
    memset(area + 1 + n, 0, PU_OPRET_DATA_MAX - n);
    return PU_OK;
}

pu_err pu_opret_encode(pu_opret_codec *c, const pu_opret_msg *m, uint8_t out[PU_OPRET_SIZE])
{
    memset(out, 0, PU_OPRET_SIZE);
    uint8_t raw[PU_OPRET_RAW_MAX];
    size_t raw_len;
    pu_err rc = pu_opret_payload_encode(m, raw, &raw_len);
    if (rc == PU_OK)
        rc = pack_payload(c, raw, raw_len, out + PU_OPRET_OFF_PAYLOAD);
    if (rc != PU_OK) {
        memset(out, 0, PU_OPRET_SIZE); /* zstd may have written part of a block */
        return rc;
    }
    out[0] = PU_OPRET_VERSION;
    out[PU_OPRET_OFF_OP] = m->op;
    pu_put_be32(out + PU_OPRET_OFF_TIME, m->timestamp);
    memcpy(out + PU_OPRET_OFF_NODE, m->node_id_hash, 20);
    memcpy(out + PU_OPRET_OFF_TASK, m->task_id_hash.b, 32);
    pu_put_be32(out + PU_OPRET_OFF_CRC, pu_crc32(out, PU_OPRET_OFF_CRC));
    return PU_OK;
}

/* Checks that need no decompression.  The CRC comes before the version so
 * that a damaged record reads as damaged, not as a record of an unknown
 * future format: the CRC's place is fixed by PROTOCOL.md s4 for every version. */
static pu_opret_status check_envelope(const uint8_t *in, size_t len)
{
    if (len != PU_OPRET_SIZE)
        return PU_OPRET_E_LENGTH;
    if (pu_crc32(in, PU_OPRET_OFF_CRC) != pu_get_be32(in + PU_OPRET_OFF_CRC))
        return PU_OPRET_E_CRC;
    if (in[0] != PU_OPRET_VERSION)
        return PU_OPRET_E_VERSION;
    if (in[PU_OPRET_OFF_OP] < 1 || in[PU_OPRET_OFF_OP] > PU_OPRET_OP_COUNT)
        return PU_OPRET_E_OPCODE;
    const uint8_t *area = in + PU_OPRET_OFF_PAYLOAD;
    size_t dlen = area[0] & 0x7fu;
    if (dlen < 1 || dlen > PU_OPRET_DATA_MAX)
        return pu_opret_zlib_header(area) ? PU_OPRET_E_ZLIB : PU_OPRET_E_HEADER;
    for (size_t i = 1 + dlen; i < PU_OPRET_PAYLOAD_SIZE; i++)
        if (area[i])
            return PU_OPRET_E_PADDING;
    return PU_OPRET_OK;
}

/* The canonical payload from a checked payload area. */
static pu_opret_status unpack_payload(pu_opret_codec *c, const uint8_t *area,
                                      uint8_t raw[PU_OPRET_RAW_MAX], size_t *raw_len)
{
    size_t dlen = area[0] & 0x7fu;
    *raw_len = 0;
    if (!(area[0] & PU_OPRET_COMPRESSED)) {
        memcpy(raw, area + 1, dlen); /* dlen <= 97 < PU_OPRET_RAW_MAX */
        *raw_len = dlen;
        return PU_OPRET_OK;
    }
    /* Begin resets the context from the dictionary for every record: no
     * state from an earlier (possibly hostile) block survives. */
    if (ZSTD_isError(ZSTD_decompressBegin_usingDDict(c->dctx, c->ddict)))
        return PU_OPRET_E_DECOMPRESS;
    size_t n = ZSTD_decompressBlock(c->dctx, raw, PU_OPRET_RAW_MAX, area + 1, dlen);
    if (ZSTD_isError(n))
        return ZSTD_getErrorCode(n) == ZSTD_error_dstSize_tooSmall ? PU_OPRET_E_OVERRUN
                                                                   : PU_OPRET_E_DECOMPRESS;
    *raw_len = n;
    return PU_OPRET_OK;
}

pu_err pu_opret_decode(pu_opret_codec *c, const uint8_t *in, size_t len, pu_opret_msg *out,
                       pu_opret_status *status)
{
    memset(out, 0, sizeof *out);
    uint8_t raw[PU_OPRET_RAW_MAX];
    size_t raw_len = 0;
    pu_opret_status st = check_envelope(in, len);
    if (st == PU_OPRET_OK)
        st = unpack_payload(c, in + PU_OPRET_OFF_PAYLOAD, raw, &raw_len);
    if (st == PU_OPRET_OK) {
        out->op = in[PU_OPRET_OFF_OP];
        out->timestamp = pu_get_be32(in + PU_OPRET_OFF_TIME);
        memcpy(out->node_id_hash, in + PU_OPRET_OFF_NODE, 20);
        memcpy(out->task_id_hash.b, in + PU_OPRET_OFF_TASK, 32);
        st = payload_parse(raw, raw_len, out);
    }
    if (st != PU_OPRET_OK)
        memset(out, 0, sizeof *out);
    *status = st;
    return st == PU_OPRET_OK ? PU_OK : PU_ERR_PARSE;
}

/* ---- representative samples (training, tests, benchmark) ----
 * Distributions follow the uses in PROTOCOL.md s4-s7: fees and stakes in round coin
 * amounts, accuracies near 0.8-0.9 measured on test sets whose size divides
 * 10^6 (so ppm values are exact), the layouts named in PROTOCOL.md s6,
 * small counts.  Integer arithmetic only, so every machine draws the same
 * samples. */

typedef struct srng {
    uint64_t s;
} srng;

static uint64_t sr_next(srng *r) { return pu_mix64(r->s += PU_MIX_GOLDEN); } /* splitmix64 */
/* Uniform in [0, n) by multiply-shift (bias below 2^-32: irrelevant here). */
static uint32_t sr_below(srng *r, uint32_t n) { return (uint32_t)(((sr_next(r) >> 32) * n) >> 32); }
static uint32_t sr_range(srng *r, uint32_t lo, uint32_t hi) { return lo + sr_below(r, hi - lo + 1); }
static bool sr_pct(srng *r, uint32_t pct) { return sr_below(r, 100) < pct; }
static void sr_bytes(srng *r, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (uint8_t)(sr_next(r) >> 56);
}
#define PICK(r, arr) ((arr)[sr_below((r), (uint32_t)(sizeof(arr) / sizeof((arr)[0])))])

/* Index drawn with the given integer weights. */
static uint32_t sr_weighted(srng *r, const uint8_t *w, uint32_t n)
{
    uint32_t total = 0, i = 0;
    for (uint32_t k = 0; k < n; k++)
        total += w[k];
    uint32_t x = sr_below(r, total);
    while (x >= w[i])
        x -= w[i++];
    return i;
}

/* A round amount: whole coins from a short list, sometimes half a coin more. */
static pu_amount sr_coins(srng *r, const uint32_t *list, uint32_t n)
{
    pu_amount a = (pu_amount)list[sr_below(r, n)] * PU_COIN;
    return sr_pct(r, 15) ? a + PU_COIN / 2 : a;
}

typedef struct arch {
    uint32_t n;
    uint32_t layers[5];
} arch;

static const arch archs[] = {
    {4, {784, 128, 64, 10}},       /* the seed's example task */
    {5, {784, 256, 128, 100, 10}}, /* MLP 256-128-100 (Fashion-MNIST README) */
    {4, {784, 300, 100, 10}},      /* LeNet-300-100 */
    {4, {784, 256, 128, 10}},
    {3, {784, 512, 10}},
    {3, {784, 100, 10}},
    {4, {3072, 512, 256, 10}},     /* CIFAR-10 sized */
    {3, {32, 64, 2}},              /* seeded synthetic data sets */
    {4, {20, 32, 16, 4}},
    {4, {64, 128, 64, 8}},
};
static const uint8_t arch_w[] = {30, 15, 10, 10, 7, 7, 5, 6, 5, 5};

static void sample_dataset(srng *r, uint32_t input, pu_opret_task_submission *t)
{
    /* char arrays, not pointers: no relocations, so read-only data */
    static const char img[][16] = {"fashion-mnist", "fashion-mnist", "fashion-mnist", "mnist", "kmnist"};
    static const char syn[][16] = {"synthetic", "synth-blobs", "synth-moons", "synth-xor"};
    static const uint32_t syn_n[] = {1000, 2000, 5000, 10000, 20000, 50000};
    const char *name;
    if (input == 784) {
        name = PICK(r, img);
        t->dataset_size = 60000;
    } else if (input == 3072) {
        name = "cifar10";
        t->dataset_size = 50000;
    } else {
        name = PICK(r, syn);
        t->dataset_size = PICK(r, syn_n);
    }
    memcpy(t->dataset_name, name, strlen(name) + 1);
}

static void sample_task(srng *r, pu_opret_task_submission *t)
{
    static const uint32_t fees[] = {1, 2, 5, 10, 10, 20, 25, 50, 50, 100, 250, 500, 1000};
    static const uint32_t stakes[] = {1, 1, 2, 5, 10};
    static const uint32_t acc[] = {800000, 850000, 850000, 870000, 880000, 900000};
    static const uint32_t iters[] = {100, 100, 200, 500, 1000, 2000, 5000};
    static const uint32_t batch[] = {16, 32, 64, 64, 128, 128, 256};
    static const uint32_t lr[] = {1000, 2000, 5000, 10000, 10000, 50000, 100000};
    static const uint32_t window[] = {6, 10, 12, 12, 20, 24, 50, 144};
    static const uint8_t act_w[] = {70, 10, 20};
    const arch *a = &archs[sr_weighted(r, arch_w, sizeof arch_w)];
    t->fee = sr_coins(r, fees, sizeof fees / sizeof fees[0]);
    t->min_stake = sr_coins(r, stakes, sizeof stakes / sizeof stakes[0]);
    t->min_accuracy_ppm = sr_pct(r, 80) ? PICK(r, acc) : 1000 * sr_range(r, 700, 950);
    t->max_iterations = PICK(r, iters);
    t->batch_size = PICK(r, batch);
    t->learning_rate_ppm = PICK(r, lr);
    t->required_miners = sr_range(r, 1, 5);
    t->registration_blocks = PICK(r, window);
    t->activation = (uint8_t)(1 + sr_weighted(r, act_w, sizeof act_w));
    t->n_layers = a->n;
    for (uint32_t i = 0; i < a->n; i++)
        t->layers[i] = a->layers[i];
    sample_dataset(r, a->layers[0], t);
}

/* Accuracy on a test set of n samples, as ppm of a whole count of correct
 * predictions (n divides 10^6). */
static uint32_t sr_accuracy(srng *r, uint32_t n, uint32_t lo_ppm, uint32_t hi_ppm)
{
    uint32_t correct = sr_range(r, (uint32_t)((uint64_t)n * lo_ppm / PU_OPRET_PPM),
                                (uint32_t)((uint64_t)n * hi_ppm / PU_OPRET_PPM));
    return correct * (PU_OPRET_PPM / n);
}

static void sample_result(srng *r, pu_opret_task_result *res)
{
    static const uint32_t tests[] = {10000, 10000, 10000, 5000, 2000, 1000};
    static const uint32_t iters[] = {100, 200, 500, 1000, 2000};
    static const uint8_t n_w[] = {10, 20, 35, 20, 15};
    sr_bytes(r, res->model_hash, PU_OPRET_PREFIX);
    res->test_samples = PICK(r, tests);
    res->iterations_run = sr_pct(r, 70) ? PICK(r, iters) : sr_range(r, 50, 2000);
    res->n_ranked = 1 + sr_weighted(r, n_w, sizeof n_w);
    uint8_t idx[PU_OPRET_MAX_RANKED];
    for (uint32_t i = 0; i < res->n_ranked; i++)
        idx[i] = (uint8_t)i;
    for (uint32_t i = res->n_ranked; i > 1; i--) { /* Fisher-Yates */
        uint32_t j = sr_below(r, i);
        uint8_t t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
    uint32_t acc = sr_accuracy(r, res->test_samples, 780000, 920000);
    for (uint32_t i = 0; i < res->n_ranked; i++) {
        res->ranked[i].miner_index = idx[i];
        res->ranked[i].accuracy_ppm = acc;
        uint32_t drop = sr_accuracy(r, res->test_samples, 0, 30000);
        acc = acc > drop ? acc - drop : 0;
    }
}

static void sample_reg(srng *r, pu_opret_msg *m)
{
    static const uint8_t role_w[] = {50, 20, 15, 15};
    static const uint32_t stakes[] = {1, 2, 5, 10, 10, 20, 50, 100};
    static const uint32_t min_fee[] = {0, 0, 0, 1, 5, 10, 50};
    static const uint32_t params[] = {0, 100000, 250000, 1000000, 1000000, 5000000, 25000000};
    pu_opret_worker_registration *g = &m->reg;
    g->role = (uint8_t)(1 + sr_weighted(r, role_w, sizeof role_w));
    g->stake = sr_coins(r, stakes, sizeof stakes / sizeof stakes[0]);
    g->min_task_fee = (pu_amount)PICK(r, min_fee) * PU_COIN;
    /* Supervisors only record messages: no training throughput to claim. */
    g->throughput_sps = g->role == PU_OPRET_ROLE_SUPERVISOR ? 0 : 100 * sr_range(r, 5, 200);
    g->max_params = PICK(r, params);
    if (sr_pct(r, 40)) /* any task: the header carries no task */
        memset(m->task_id_hash.b, 0, 32);
}

static void sample_vote(srng *r, pu_opret_consensus_vote *v)
{
    static const uint8_t subj_w[] = {50, 25, 15, 10};
    static const uint8_t vote_w[] = {85, 10, 5};
    v->epoch = sr_below(r, 20);
    v->iteration = sr_below(r, 5000);
    v->subject = (uint8_t)(1 + sr_weighted(r, subj_w, sizeof subj_w));
    sr_bytes(r, v->subject_hash, PU_OPRET_PREFIX);
    v->vote = (uint8_t)(1 + sr_weighted(r, vote_w, sizeof vote_w));
    v->reason = v->vote == PU_OPRET_VOTE_YES ? 0 : (uint8_t)sr_range(r, 1, 8);
}

static void sample_grad(srng *r, pu_opret_gradient_share *g)
{
    static const uint32_t tau[] = {500, 1000, 1000, 2000, 5000, 10000};
    static const uint32_t batch[] = {32, 64, 64, 128, 256};
    g->epoch = sr_below(r, 20);
    g->iteration = sr_below(r, 5000);
    sr_bytes(r, g->update_hash, PU_OPRET_PREFIX);
    g->n_entries = sr_range(r, 50, 20000);
    g->update_size = 24 + 8 * g->n_entries; /* header + (index u32, value f32) each */
    g->tau_micro = PICK(r, tau);
    g->train_loss_micro = sr_range(r, 200000, 2400000);
    uint32_t b = PICK(r, batch);
    g->train_accuracy_ppm = (uint32_t)((uint64_t)sr_range(r, b / 2, b) * PU_OPRET_PPM / b);
}

static void sample_proof(srng *r, pu_opret_verification_proof *p)
{
    static const uint8_t out_w[] = {88, 4, 4, 4};
    p->height = sr_range(r, 1, 200000);
    sr_bytes(r, p->block_hash, PU_OPRET_PREFIX);
    p->outcome = (uint8_t)(1 + sr_weighted(r, out_w, sizeof out_w));
    p->iteration = sr_below(r, 10000);
    /* Malformed or unresolvable proofs are rejected before re-execution. */
    if (p->outcome == PU_OPRET_VERIFY_OK || p->outcome == PU_OPRET_VERIFY_BAD_REEXEC) {
        sr_bytes(r, p->end_model_hash, PU_OPRET_PREFIX);
        p->reexec_us = sr_range(r, 2000, 900000);
    }
}

static void sample_econ(srng *r, pu_opret_economic_event *e)
{
    static const uint8_t kind_w[] = {50, 25, 15, 10};
    static const uint32_t fees[] = {1, 2, 5, 10, 10, 20, 25, 50, 50, 100, 250, 500, 1000};
    static const uint32_t stakes[] = {1, 1, 2, 5, 10};
    e->kind = (uint8_t)(1 + sr_weighted(r, kind_w, sizeof kind_w));
    pu_amount fee = sr_coins(r, fees, sizeof fees / sizeof fees[0]);
    pu_amount stake = sr_coins(r, stakes, sizeof stakes / sizeof stakes[0]);
    if (e->kind == PU_OPRET_ECON_SETTLEMENT || e->kind == PU_OPRET_ECON_STAKE_RETURN) {
        e->n_miners = sr_range(r, 1, 5);
        e->n_supervisors = sr_range(r, 1, 3);
        e->n_evaluators = sr_range(r, 1, 3);
    }
    if (e->kind == PU_OPRET_ECON_SETTLEMENT) { /* 10 % supervisors, 5 % evaluators */
        e->total = fee;
        e->to_supervisors = fee / 10;
        e->to_evaluators = fee / 20;
        e->to_miners = fee - e->to_supervisors - e->to_evaluators;
    } else if (e->kind == PU_OPRET_ECON_STAKE_RETURN) {
        e->to_miners = stake * e->n_miners;
        e->to_supervisors = stake * e->n_supervisors;
        e->to_evaluators = stake * e->n_evaluators;
        e->total = e->to_miners + e->to_supervisors + e->to_evaluators;
    } else if (e->kind == PU_OPRET_ECON_SLASH) {
        e->n_slashed = sr_range(r, 1, 2);
        e->slashed = stake * e->n_slashed;
        e->total = e->slashed;
    } else {
        e->total = fee;
    }
}

static void sample_net(srng *r, pu_opret_network_state *n)
{
    n->height = sr_range(r, 1, 200000);
    sr_bytes(r, n->tip_hash, PU_OPRET_PREFIX);
    n->peers = sr_range(r, 8, 125);
    n->mempool_txs = sr_pct(r, 30) ? sr_below(r, 100) : sr_below(r, 10000);
    n->mempool_bytes = n->mempool_txs * sr_range(r, 250, 400);
    n->active_tasks = sr_below(r, 20);
}

pu_err pu_opret_sample(uint64_t seed, uint8_t op, uint64_t index, pu_opret_msg *out)
{
    pu_opret_msg_init(out, (pu_opret_op)op);
    if (op < 1 || op > PU_OPRET_OP_COUNT)
        return PU_ERR_RANGE;
    /* One independent stream per (seed, op, index): adding samples or op
     * codes never shifts what existing ones draw. */
    srng key = {seed ^ ((uint64_t)op << 56)};
    srng r = {sr_next(&key) ^ index};
    r.s = sr_next(&r);
    out->timestamp = sr_below(&r, 30u * 86400u);
    sr_bytes(&r, out->node_id_hash, 20);
    if (op != PU_OPRET_NETWORK_STATE)
        sr_bytes(&r, out->task_id_hash.b, 32);
    switch (op) {
    case PU_OPRET_TASK_SUBMISSION: sample_task(&r, &out->task); break;
    case PU_OPRET_TASK_RESULT: sample_result(&r, &out->result); break;
    case PU_OPRET_WORKER_REGISTRATION: sample_reg(&r, out); break;
    case PU_OPRET_CONSENSUS_VOTE: sample_vote(&r, &out->vote); break;
    case PU_OPRET_GRADIENT_SHARE: sample_grad(&r, &out->grad); break;
    case PU_OPRET_VERIFICATION_PROOF: sample_proof(&r, &out->proof); break;
    case PU_OPRET_ECONOMIC_EVENT: sample_econ(&r, &out->econ); break;
    default: sample_net(&r, &out->net); break;
    }
    return PU_OK;
}
