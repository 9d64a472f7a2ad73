/* core/ml.c -- MLP forward/backward, SGD, the PoUW step, codecs.
 *
 * Determinism notes (see also ml.h).  The three matrix products follow the
 * per-element operation order of GSL's reference cblas_dgemm (source_gemm_r.h)
 * for row-major operands with alpha = 1:
 *   C += A B    (beta 1): each C[i][j] adds A[i][k] * B[k][j] for k ascending,
 *                         skipping terms whose A[i][k] is zero;
 *   C  = A' B   (beta 0): C[i][j] = +0, then adds A[k][i] * B[k][j] for k
 *                         ascending, skipping zero A[k][i];
 *   C  = A B'   (beta 0): t = +0, t += A[i][k] * B[j][k] for k ascending,
 *                         then C[i][j] = +0 + t.
 * Any loop nest that keeps these per-element sequences gives the same bits,
 * so the kernels below are free to block for cache and to update one output
 * row with four terms per pass (fewer loads and stores; the adds stay in
 * order).  Vectorisation across j does not change any element's sequence.
 * The zero skip matters beyond speed: adding 0 * g is not a no-op when
 * g is infinite or NaN. */
#include "core/ml.h"

#include <float.h>

#include <gsl/gsl_blas.h>
#include <math.h> /* sqrt (correctly rounded by IEEE 754), INFINITY, NAN; no other libm */
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/detmath.h"
#include "core/mix.h"

/* Consensus arithmetic needs doubles evaluated as doubles (SSE2, AArch64):
 * excess precision (x87) would change the hashed bits. */
#if !defined(FLT_EVAL_METHOD) || FLT_EVAL_METHOD != 0
#error "core/ml.c needs FLT_EVAL_METHOD == 0"
#endif

#define MAX_LAYERS (PU_ML_MAX_HIDDEN + 1u)

/* One weight layer: widths and where its W and b start in the parameters. */
typedef struct layer {
    uint32_t in, out;
    size_t w, b;
} layer;

struct pu_ml_model {
    pu_ml_arch arch;
    uint32_t nl;
    layer ly[MAX_LAYERS];
    uint32_t np;
    bool momentum;
    double *p; /* np parameters, then np velocity when momentum: one allocation */
    double *v;
};

struct pu_ml_resid {
    uint32_t np;
    double *r;
};

struct pu_ml_update {
    uint32_t np, count, cap;
    uint32_t *e;
};

struct pu_ml_ws {
    pu_ml_arch arch;
    uint32_t nl;
    layer ly[MAX_LAYERS];
    uint32_t np;
    uint32_t max_batch;
    pu_ml_kernel kernel;
    double *x;               /* max_batch x input: gathered inputs */
    double *act[MAX_LAYERS]; /* max_batch x out_l: ReLU outputs; last = logits */
    double *d0, *d1;         /* max_batch x widest: deltas, ping-pong */
    double *grad;            /* np */
    double *mem;             /* the one allocation behind all of the above */
    size_t mem_len;          /* doubles */
    uint32_t *idx;           /* max_batch: evaluation indices */
    uint8_t *y;              /* max_batch labels */
    uint8_t *ser;            /* hashing scratch, allocated on first use */
    size_t ser_cap;
};

#define GOLDEN   PU_MIX_GOLDEN
#define TAG_INIT UINT64_C(0x6d6c696e69743031) /* "mlinit01" */

/* ---- architecture ---------------------------------------------------------- */

static uint32_t arch_width(const pu_ml_arch *a, uint32_t i) /* i = 0 .. n_hidden + 1 */
{
    return i == 0 ? a->input : i <= a->n_hidden ? a->hidden[i - 1] : a->output;
}

pu_err pu_ml_arch_check(const pu_ml_arch *a, uint32_t *nparams_out)
{
    *nparams_out = 0;
    if (a->n_hidden > PU_ML_MAX_HIDDEN || a->output < 2 || a->output > PU_DATASET_MAX_CLASSES)
        return PU_ERR_RANGE;
    uint64_t np = 0;
    for (uint32_t i = 0; i <= a->n_hidden + 1; i++) {
        uint32_t w = arch_width(a, i);
        if (w == 0 || w > PU_ML_MAX_WIDTH)
            return PU_ERR_RANGE;
        if (i > 0)
            np += ((uint64_t)arch_width(a, i - 1) + 1) * w;
    }
    if (np > PU_ML_MAX_PARAMS)
        return PU_ERR_RANGE;
    *nparams_out = (uint32_t)np;
    return PU_OK;
}

bool pu_ml_arch_eq(const pu_ml_arch *a, const pu_ml_arch *b)
{
    if (a->input != b->input || a->n_hidden != b->n_hidden || a->output != b->output)
        return false;
    for (uint32_t i = 0; i < a->n_hidden && i < PU_ML_MAX_HIDDEN; i++)
        if (a->hidden[i] != b->hidden[i])
            return false;
    return true;
}

/* Normalised copy (unused hidden slots zeroed) plus the layer table. */
static uint32_t arch_layout(const pu_ml_arch *a, pu_ml_arch *norm, layer *ly)
{
    memset(norm, 0, sizeof *norm);
    norm->input = a->input;
    norm->n_hidden = a->n_hidden;
    norm->output = a->output;
    memcpy(norm->hidden, a->hidden, a->n_hidden * sizeof a->hidden[0]);
    size_t off = 0;
    for (uint32_t l = 0; l <= a->n_hidden; l++) {
        ly[l].in = arch_width(a, l);
        ly[l].out = arch_width(a, l + 1);
        ly[l].w = off;
        ly[l].b = off + (size_t)ly[l].in * ly[l].out;
        off = ly[l].b + ly[l].out;
    }
    return a->n_hidden + 1;
}

pu_err pu_ml_hyper_check(const pu_ml_hyper *h)
{
    if (h->lr_e9 == 0 || h->lr_e9 > UINT64_C(10000000000) || h->tau_e9 == 0
        || h->tau_e9 > UINT64_C(1000000000) || h->momentum_e9 >= UINT64_C(1000000000))
        return PU_ERR_RANGE;
    return PU_OK;
}

/* Exact integer -> one correctly rounded division. */
static double e9_to_double(uint64_t v) { return (double)v / 1e9; }

/* ---- model ------------------------------------------------------------------ */

pu_err pu_ml_model_new(const pu_ml_arch *a, bool momentum, pu_ml_model **out)
{
    *out = NULL;
    uint32_t np;
    pu_err rc = pu_ml_arch_check(a, &np);
    if (rc != PU_OK)
        return rc;
    pu_ml_model *m = calloc(1, sizeof *m);
    if (!m)
        return PU_ERR_NOMEM;
    m->nl = arch_layout(a, &m->arch, m->ly);
    m->np = np;
    m->momentum = momentum;
    m->p = calloc((size_t)np * (momentum ? 2 : 1), sizeof(double));
    if (!m->p) {
        free(m);
        return PU_ERR_NOMEM;
    }
    m->v = momentum ? m->p + np : NULL;
    *out = m;
    return PU_OK;
}

/* Bytes of the parameter (+ velocity) allocation. */
static size_t model_bytes(const pu_ml_model *m)
{
    return (size_t)m->np * (m->momentum ? 2 : 1) * sizeof(double);
}

void pu_ml_model_free(pu_ml_model *m)
{
    if (!m)
        return;
    free(m->p);
    free(m);
}

void pu_ml_model_init(pu_ml_model *m, uint64_t seed)
{
    const uint64_t key = pu_mix64(seed ^ TAG_INIT);
    memset(m->p, 0, model_bytes(m));
    for (uint32_t l = 0; l < m->nl; l++) {
        const layer *L = &m->ly[l];
        /* He for layers feeding a ReLU, Glorot for the softmax layer. */
        double fan = l + 1 < m->nl ? (double)L->in : (double)L->in + (double)L->out;
        double limit = sqrt(6.0 / fan);
        size_t end = L->w + (size_t)L->in * L->out;
        for (size_t i = L->w; i < end; i++) {
            /* 53 random bits -> [0, 1) exactly; 2u - 1 is exact too. */
            double u = (double)(pu_mix64(key + (uint64_t)(i + 1) * GOLDEN) >> 11) * 0x1p-53;
            m->p[i] = (2.0 * u - 1.0) * limit;
        }
    }
}

pu_err pu_ml_model_clone(const pu_ml_model *m, pu_ml_model **out)
{
    pu_err rc = pu_ml_model_new(&m->arch, m->momentum, out);
    if (rc == PU_OK)
        memcpy((*out)->p, m->p, model_bytes(m));
    return rc;
}

static bool model_same_shape(const pu_ml_model *a, const pu_ml_model *b)
{
    return a->np == b->np && a->momentum == b->momentum && pu_ml_arch_eq(&a->arch, &b->arch);
}

const pu_ml_arch *pu_ml_model_arch(const pu_ml_model *m) { return &m->arch; }
uint32_t pu_ml_model_nparams(const pu_ml_model *m) { return m->np; }
bool pu_ml_model_has_momentum(const pu_ml_model *m) { return m->momentum; }
const double *pu_ml_model_params(const pu_ml_model *m) { return m->p; }
double *pu_ml_model_params_mut(pu_ml_model *m) { return m->p; }
const double *pu_ml_model_velocity(const pu_ml_model *m) { return m->v; }
size_t pu_ml_model_mem(const pu_ml_model *m)
{
    return sizeof *m + model_bytes(m);
}

/* ---- codecs ---------------------------------------------------------------- */

static uint64_t dbits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static double bitsd(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static uint8_t *put_doubles(uint8_t *p, const double *v, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++, p += 8)
        pu_put_be64(p, dbits(v[i]));
    return p;
}

static void get_doubles(const uint8_t *p, double *v, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++, p += 8)
        v[i] = bitsd(pu_get_be64(p));
}

static size_t model_hdr_len(const pu_ml_arch *a) { return 4 + 4 + 4 + 4 * a->n_hidden + 4 + 4; }

size_t pu_ml_model_serialized_len(const pu_ml_model *m)
{
    return model_hdr_len(&m->arch) + (size_t)m->np * 8 * (m->momentum ? 2 : 1);
}

static void model_write(const pu_ml_model *m, uint8_t *p)
{
    memcpy(p, "PUML", 4);
    p[4] = 1;
    p[5] = m->momentum ? 1 : 0;
    p[6] = (uint8_t)m->arch.n_hidden;
    p[7] = 0;
    p += 8;
    pu_put_be32(p, m->arch.input);
    p += 4;
    for (uint32_t i = 0; i < m->arch.n_hidden; i++, p += 4)
        pu_put_be32(p, m->arch.hidden[i]);
    pu_put_be32(p, m->arch.output);
    pu_put_be32(p + 4, m->np);
    p = put_doubles(p + 8, m->p, m->np);
    if (m->momentum)
        put_doubles(p, m->v, m->np);
}

pu_err pu_ml_model_serialize(const pu_ml_model *m, uint8_t **out, size_t *out_len)
{
    *out_len = pu_ml_model_serialized_len(m);
    *out = malloc(*out_len);
    if (!*out) {
        *out_len = 0;
        return PU_ERR_NOMEM;
    }
    model_write(m, *out);
    return PU_OK;
}

static pu_err model_parse_header(pu_reader *r, pu_ml_arch *a, bool *momentum)
{
    uint8_t h[8];
    uint32_t np, want;
    if (pu_read_bytes(r, h, 8) != PU_OK || memcmp(h, "PUML", 4) != 0 || h[4] != 1 || h[5] > 1
        || h[7] != 0)
        return PU_ERR_PARSE;
    memset(a, 0, sizeof *a);
    a->n_hidden = h[6];
    *momentum = h[5] == 1;
    if (a->n_hidden > PU_ML_MAX_HIDDEN)
        return PU_ERR_RANGE;
    pu_err rc = pu_read_u32(r, &a->input);
    for (uint32_t i = 0; i < a->n_hidden && rc == PU_OK; i++)
        rc = pu_read_u32(r, &a->hidden[i]);
    if (rc == PU_OK)
        rc = pu_read_u32(r, &a->output);
    if (rc == PU_OK)
        rc = pu_read_u32(r, &np);
    if (rc != PU_OK)
        return PU_ERR_PARSE;
    rc = pu_ml_arch_check(a, &want);
    if (rc != PU_OK)
        return rc;
    return np == want ? PU_OK : PU_ERR_PARSE;
}

pu_err pu_ml_model_parse(const uint8_t *buf, size_t len, pu_ml_model **out)
{
    *out = NULL;
    pu_reader r;
    pu_ml_arch a;
    bool momentum;
    pu_reader_init(&r, buf, len);
    pu_err rc = model_parse_header(&r, &a, &momentum);
    if (rc != PU_OK)
        return rc;
    pu_ml_model *m;
    rc = pu_ml_model_new(&a, momentum, &m);
    if (rc != PU_OK)
        return rc;
    size_t body = (size_t)m->np * 8 * (momentum ? 2 : 1);
    if (pu_reader_left(&r) != body) {
        pu_ml_model_free(m);
        return PU_ERR_PARSE;
    }
    get_doubles(buf + r.off, m->p, m->np * (momentum ? 2 : 1));
    *out = m;
    return PU_OK;
}

/* Hash through the workspace's scratch buffer, or a temporary one. */
typedef void (*writer_fn)(const void *obj, uint8_t *buf);

static pu_err hash_via(const void *obj, size_t len, writer_fn wr, pu_crypto *c, pu_ml_ws *ws,
                       pu_hash32 *out)
{
    uint8_t *buf;
    if (ws) {
        if (ws->ser_cap < len) {
            uint8_t *nb = realloc(ws->ser, len);
            if (!nb)
                return PU_ERR_NOMEM;
            ws->ser = nb;
            ws->ser_cap = len;
        }
        buf = ws->ser;
    } else {
        buf = malloc(len);
        if (!buf)
            return PU_ERR_NOMEM;
    }
    wr(obj, buf);
    pu_sha256(c, buf, len, out);
    if (!ws)
        free(buf);
    return pu_crypto_failed(c) ? PU_ERR_CRYPTO : PU_OK;
}

static void model_write_fn(const void *o, uint8_t *b) { model_write(o, b); }

pu_err pu_ml_model_hash(const pu_ml_model *m, pu_crypto *c, pu_ml_ws *ws, pu_hash32 *out)
{
    return hash_via(m, pu_ml_model_serialized_len(m), model_write_fn, c, ws, out);
}

/* ---- residual ---------------------------------------------------------------- */

pu_err pu_ml_resid_new(uint32_t nparams, pu_ml_resid **out)
{
    *out = NULL;
    if (nparams == 0 || nparams > PU_ML_MAX_PARAMS)
        return PU_ERR_RANGE;
    pu_ml_resid *r = calloc(1, sizeof *r);
    if (!r)
        return PU_ERR_NOMEM;
    r->r = calloc(nparams, sizeof(double));
    if (!r->r) {
        free(r);
        return PU_ERR_NOMEM;
    }
    r->np = nparams;
    *out = r;
    return PU_OK;
}

void pu_ml_resid_free(pu_ml_resid *r)
{
    if (!r)
        return;
    free(r->r);
    free(r);
}

pu_err pu_ml_resid_copy(pu_ml_resid *dst, const pu_ml_resid *src)
{
    if (dst->np != src->np)
        return PU_ERR_INVALID;
    if (dst != src)
        memcpy(dst->r, src->r, (size_t)src->np * sizeof(double));
    return PU_OK;
}

uint32_t pu_ml_resid_nparams(const pu_ml_resid *r) { return r->np; }
size_t pu_ml_resid_mem(const pu_ml_resid *r) { return sizeof *r + (size_t)r->np * sizeof(double); }
const double *pu_ml_resid_values(const pu_ml_resid *r) { return r->r; }
double *pu_ml_resid_values_mut(pu_ml_resid *r) { return r->r; }
size_t pu_ml_resid_serialized_len(const pu_ml_resid *r) { return 9 + (size_t)r->np * 8; }

static void resid_write(const void *o, uint8_t *p)
{
    const pu_ml_resid *r = o;
    memcpy(p, "PURS", 4);
    p[4] = 1;
    pu_put_be32(p + 5, r->np);
    put_doubles(p + 9, r->r, r->np);
}

pu_err pu_ml_resid_serialize(const pu_ml_resid *r, uint8_t **out, size_t *out_len)
{
    *out_len = pu_ml_resid_serialized_len(r);
    *out = malloc(*out_len);
    if (!*out) {
        *out_len = 0;
        return PU_ERR_NOMEM;
    }
    resid_write(r, *out);
    return PU_OK;
}

pu_err pu_ml_resid_parse(const uint8_t *buf, size_t len, pu_ml_resid **out)
{
    *out = NULL;
    if (len < 9 || memcmp(buf, "PURS", 4) != 0 || buf[4] != 1)
        return PU_ERR_PARSE;
    uint32_t np = pu_get_be32(buf + 5);
    if (np == 0 || np > PU_ML_MAX_PARAMS)
        return PU_ERR_RANGE;
    if (len - 9 != (size_t)np * 8)
        return PU_ERR_PARSE;
    pu_err rc = pu_ml_resid_new(np, out);
    if (rc == PU_OK)
        get_doubles(buf + 9, (*out)->r, np);
    return rc;
}

pu_err pu_ml_resid_hash(const pu_ml_resid *r, pu_crypto *c, pu_ml_ws *ws, pu_hash32 *out)
{
    return hash_via(r, pu_ml_resid_serialized_len(r), resid_write, c, ws, out);
}

/* ---- update messages -------------------------------------------------------------- */

pu_err pu_ml_update_new(pu_ml_update **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? PU_OK : PU_ERR_NOMEM;
}

void pu_ml_update_free(pu_ml_update *u)
{
    if (!u)
        return;
    free(u->e);
    free(u);
}

uint32_t pu_ml_update_nparams(const pu_ml_update *u) { return u->np; }
uint32_t pu_ml_update_count(const pu_ml_update *u) { return u->count; }
const uint32_t *pu_ml_update_entries(const pu_ml_update *u) { return u->e; }
size_t pu_ml_update_serialized_len(const pu_ml_update *u) { return 9 + (size_t)u->count * 4; }

static pu_err update_reserve(pu_ml_update *u, uint32_t n)
{
    if (u->cap >= n)
        return PU_OK;
    uint32_t *ne = realloc(u->e, (size_t)(n ? n : 1) * sizeof *ne);
    if (!ne)
        return PU_ERR_NOMEM;
    u->e = ne;
    u->cap = n;
    return PU_OK;
}

static bool entries_valid(uint32_t np, const uint32_t *e, uint32_t count)
{
    if (count > np)
        return false;
    for (uint32_t i = 0; i < count; i++) {
        uint32_t ix = e[i] & ~PU_ML_UPDATE_NEG;
        if (ix >= np || (i > 0 && ix <= (e[i - 1] & ~PU_ML_UPDATE_NEG)))
            return false;
    }
    return true;
}

pu_err pu_ml_update_set(pu_ml_update *u, uint32_t nparams, const uint32_t *entries, uint32_t count)
{
    if (nparams == 0 || nparams > PU_ML_MAX_PARAMS)
        return PU_ERR_RANGE;
    if (!entries_valid(nparams, entries, count))
        return PU_ERR_PARSE;
    pu_err rc = update_reserve(u, count);
    if (rc != PU_OK)
        return rc;
    if (count)
        memcpy(u->e, entries, (size_t)count * sizeof *entries);
    u->np = nparams;
    u->count = count;
    return PU_OK;
}

static void update_write(const void *o, uint8_t *p)
{
    const pu_ml_update *u = o;
    p[0] = 1;
    pu_put_be32(p + 1, u->np);
    pu_put_be32(p + 5, u->count);
    for (uint32_t i = 0; i < u->count; i++)
        pu_put_be32(p + 9 + 4 * (size_t)i, u->e[i]);
}

pu_err pu_ml_update_serialize(const pu_ml_update *u, uint8_t **out, size_t *out_len)
{
    *out_len = pu_ml_update_serialized_len(u);
    *out = malloc(*out_len);
    if (!*out) {
        *out_len = 0;
        return PU_ERR_NOMEM;
    }
    update_write(u, *out);
    return PU_OK;
}

pu_err pu_ml_update_parse(const uint8_t *buf, size_t len, pu_ml_update **out)
{
    *out = NULL;
    if (len < 9 || buf[0] != 1)
        return PU_ERR_PARSE;
    uint32_t np = pu_get_be32(buf + 1), count = pu_get_be32(buf + 5);
    if (np == 0 || np > PU_ML_MAX_PARAMS)
        return PU_ERR_RANGE;
    if ((len - 9) / 4 != count || (len - 9) % 4 != 0 || count > np)
        return PU_ERR_PARSE;
    pu_ml_update *u;
    pu_err rc = pu_ml_update_new(&u);
    if (rc == PU_OK)
        rc = update_reserve(u, count);
    for (uint32_t i = 0; i < count && rc == PU_OK; i++)
        u->e[i] = pu_get_be32(buf + 9 + 4 * (size_t)i);
    if (rc == PU_OK && !entries_valid(np, u->e, count))
        rc = PU_ERR_PARSE;
    if (rc != PU_OK) {
        pu_ml_update_free(u);
        return rc;
    }
    u->np = np;
    u->count = count;
    *out = u;
    return PU_OK;
}

pu_err pu_ml_update_hash(const pu_ml_update *u, pu_crypto *c, pu_ml_ws *ws, pu_hash32 *out)
{
    return hash_via(u, pu_ml_update_serialized_len(u), update_write, c, ws, out);
}

static void apply_entries(double *p, const pu_ml_update *u, double tau)
{
    for (uint32_t i = 0; i < u->count; i++) {
        uint32_t e = u->e[i], ix = e & ~PU_ML_UPDATE_NEG;
        p[ix] = (e & PU_ML_UPDATE_NEG) ? p[ix] + tau : p[ix] - tau;
    }
}

pu_err pu_ml_apply_update(pu_ml_model *m, const pu_ml_update *u, uint64_t tau_e9)
{
    if (u->np != m->np)
        return PU_ERR_INVALID;
    apply_entries(m->p, u, e9_to_double(tau_e9));
    return PU_OK;
}

/* ---- workspace ------------------------------------------------------------------- */

pu_err pu_ml_ws_new(const pu_ml_arch *a, uint32_t max_batch, pu_ml_ws **out)
{
    *out = NULL;
    uint32_t np;
    pu_err rc = pu_ml_arch_check(a, &np);
    if (rc != PU_OK)
        return rc;
    if (max_batch == 0 || max_batch > PU_ML_MAX_BATCH)
        return PU_ERR_RANGE;
    pu_ml_ws *ws = calloc(1, sizeof *ws);
    if (!ws)
        return PU_ERR_NOMEM;
    ws->nl = arch_layout(a, &ws->arch, ws->ly);
    ws->np = np;
    ws->max_batch = max_batch;
    /* Deltas exist for every layer output, never for the input (no one
     * needs d loss / d pixel), so the input width does not size them. */
    size_t widest = 0, acts = 0;
    for (uint32_t l = 0; l < ws->nl; l++) {
        acts += ws->ly[l].out;
        widest = ws->ly[l].out > widest ? ws->ly[l].out : widest;
    }
    ws->mem_len = (size_t)max_batch * (a->input + acts + 2 * widest) + np;
    ws->mem = malloc(ws->mem_len * sizeof(double));
    ws->idx = malloc((size_t)max_batch * sizeof *ws->idx);
    ws->y = malloc(max_batch);
    if (!ws->mem || !ws->idx || !ws->y) {
        pu_ml_ws_free(ws);
        return PU_ERR_NOMEM;
    }
    double *p = ws->mem;
    ws->x = p;
    p += (size_t)max_batch * a->input;
    for (uint32_t l = 0; l < ws->nl; l++) {
        ws->act[l] = p;
        p += (size_t)max_batch * ws->ly[l].out;
    }
    ws->d0 = p;
    ws->d1 = p + (size_t)max_batch * widest;
    ws->grad = ws->d1 + (size_t)max_batch * widest;
    *out = ws;
    return PU_OK;
}

void pu_ml_ws_free(pu_ml_ws *ws)
{
    if (!ws)
        return;
    free(ws->mem);
    free(ws->idx);
    free(ws->y);
    free(ws->ser);
    free(ws);
}

void pu_ml_ws_set_kernel(pu_ml_ws *ws, pu_ml_kernel k) { ws->kernel = k; }
uint32_t pu_ml_ws_max_batch(const pu_ml_ws *ws) { return ws->max_batch; }
size_t pu_ml_ws_mem(const pu_ml_ws *ws)
{
    return sizeof *ws + ws->mem_len * sizeof(double) + (size_t)ws->max_batch * 5 + ws->ser_cap;
}

/* ---- matrix kernels ---------------------------------------------------------------- */

#define LIST_MAX 256u

/* Rows per cache block so that the block of the shared operand (rows x m
 * doubles) stays near 32 KB (L1). */
static uint32_t block_rows(uint32_t m)
{
    uint32_t b = 4096u / (m ? m : 1);
    return b < 4 ? 4 : b > LIST_MAX ? LIST_MAX : b;
}

/* c[0..m) += coef[t] * g[t][0..m) for t = 0 .. cnt-1, in that order for
 * every element.  Four terms per pass keep c[j] in a register; the adds are
 * separate statements, so nothing is reassociated or fused. */
static void axpy_list(double *restrict c, uint32_t m, const double *coef,
                      const double *const *g, uint32_t cnt)
{
    uint32_t t = 0;
    for (; t + 4 <= cnt; t += 4) {
        const double a0 = coef[t], a1 = coef[t + 1], a2 = coef[t + 2], a3 = coef[t + 3];
        const double *g0 = g[t], *g1 = g[t + 1], *g2 = g[t + 2], *g3 = g[t + 3];
        for (uint32_t j = 0; j < m; j++) {
            double z = c[j];
            z += a0 * g0[j];
            z += a1 * g1[j];
            z += a2 * g2[j];
            z += a3 * g3[j];
            c[j] = z;
        }
    }
    for (; t < cnt; t++) {
        const double a0 = coef[t], *g0 = g[t];
        for (uint32_t j = 0; j < m; j++)
            c[j] += a0 * g0[j];
    }
}

/* Z (n x m) += A (n x k) W (k x m). */
static void gemm_nn(uint32_t n, uint32_t k, uint32_t m, const double *A, const double *W,
                    double *Z)
{
    const double *rows[LIST_MAX];
    double coef[LIST_MAX];
    const uint32_t blk = block_rows(m);
    for (uint32_t k0 = 0; k0 < k; k0 += blk) {
        uint32_t k1 = k - k0 < blk ? k : k0 + blk;
        for (uint32_t i = 0; i < n; i++) {
            const double *a = A + (size_t)i * k;
            uint32_t cnt = 0;
            for (uint32_t kk = k0; kk < k1; kk++)
                if (a[kk] != 0.0) {
                    coef[cnt] = a[kk];
                    rows[cnt++] = W + (size_t)kk * m;
                }
            axpy_list(Z + (size_t)i * m, m, coef, rows, cnt);
        }
    }
}

/* C (k x m) = A' D, A n x k, D n x m. */
static void gemm_tn(uint32_t n, uint32_t k, uint32_t m, const double *A, const double *D,
                    double *C)
{
    const double *rows[LIST_MAX];
    double coef[LIST_MAX];
    const uint32_t blk = block_rows(m);
    memset(C, 0, (size_t)k * m * sizeof *C); /* all-zero bits are +0.0 */
    for (uint32_t n0 = 0; n0 < n; n0 += blk) {
        uint32_t n1 = n - n0 < blk ? n : n0 + blk;
        for (uint32_t i = 0; i < k; i++) {
            uint32_t cnt = 0;
            for (uint32_t s = n0; s < n1; s++) {
                double a = A[(size_t)s * k + i];
                if (a != 0.0) {
                    coef[cnt] = a;
                    rows[cnt++] = D + (size_t)s * m;
                }
            }
            axpy_list(C + (size_t)i * m, m, coef, rows, cnt);
        }
    }
}

/* C (n x k) = D W', D n x m, W k x m: row dot products, four at a time. */
static void gemm_nt(uint32_t n, uint32_t k, uint32_t m, const double *D, const double *W,
                    double *C)
{
    for (uint32_t s = 0; s < n; s++) {
        const double *d = D + (size_t)s * m;
        double *c = C + (size_t)s * k;
        uint32_t i = 0;
        for (; i + 4 <= k; i += 4) {
            const double *w0 = W + (size_t)i * m, *w1 = w0 + m, *w2 = w1 + m, *w3 = w2 + m;
            double t0 = 0.0, t1 = 0.0, t2 = 0.0, t3 = 0.0;
            for (uint32_t j = 0; j < m; j++) {
                t0 += d[j] * w0[j];
                t1 += d[j] * w1[j];
                t2 += d[j] * w2[j];
                t3 += d[j] * w3[j];
            }
            c[i] = 0.0 + t0; /* beta = 0 then C += t: keeps GSL's sign of zero */
            c[i + 1] = 0.0 + t1;
            c[i + 2] = 0.0 + t2;
            c[i + 3] = 0.0 + t3;
        }
        for (; i < k; i++) {
            const double *w = W + (size_t)i * m;
            double t = 0.0;
            for (uint32_t j = 0; j < m; j++)
                t += d[j] * w[j];
            c[i] = 0.0 + t;
        }
    }
}

/* The same three products through GSL's CBLAS.  Dimensions are consistent
 * by construction, so GSL's error handler (which would abort) never runs. */
static void gsl_mm(CBLAS_TRANSPOSE_t ta, CBLAS_TRANSPOSE_t tb, uint32_t ar, uint32_t ac,
                   const double *A, uint32_t br, uint32_t bc, const double *B, double beta,
                   uint32_t cr, uint32_t cc, double *C)
{
    gsl_matrix_const_view a = gsl_matrix_const_view_array(A, ar, ac);
    gsl_matrix_const_view b = gsl_matrix_const_view_array(B, br, bc);
    gsl_matrix_view c = gsl_matrix_view_array(C, cr, cc);
    (void)gsl_blas_dgemm(ta, tb, 1.0, &a.matrix, &b.matrix, beta, &c.matrix);
}

static void mm_nn(const pu_ml_ws *ws, uint32_t n, uint32_t k, uint32_t m, const double *A,
                  const double *W, double *Z)
{
    if (ws->kernel == PU_ML_KERNEL_GSL)
        gsl_mm(CblasNoTrans, CblasNoTrans, n, k, A, k, m, W, 1.0, n, m, Z);
    else
        gemm_nn(n, k, m, A, W, Z);
}

static void mm_tn(const pu_ml_ws *ws, uint32_t n, uint32_t k, uint32_t m, const double *A,
                  const double *D, double *C)
{
    if (ws->kernel == PU_ML_KERNEL_GSL)
        gsl_mm(CblasTrans, CblasNoTrans, n, k, A, n, m, D, 0.0, k, m, C);
    else
        gemm_tn(n, k, m, A, D, C);
}

static void mm_nt(const pu_ml_ws *ws, uint32_t n, uint32_t k, uint32_t m, const double *D,
                  const double *W, double *C)
{
    if (ws->kernel == PU_ML_KERNEL_GSL)
        gsl_mm(CblasNoTrans, CblasTrans, n, m, D, k, m, W, 0.0, n, k, C);
    else
        gemm_nt(n, k, m, D, W, C);
}

/* ---- forward / backward ------------------------------------------------------------ */

static void forward(pu_ml_ws *ws, const double *p, uint32_t n)
{
    for (uint32_t l = 0; l < ws->nl; l++) {
        const layer *L = &ws->ly[l];
        const double *in = l == 0 ? ws->x : ws->act[l - 1];
        double *z = ws->act[l];
        for (uint32_t s = 0; s < n; s++)
            memcpy(z + (size_t)s * L->out, p + L->b, L->out * sizeof(double));
        mm_nn(ws, n, L->in, L->out, in, p + L->w, z);
        if (l + 1 < ws->nl)
            for (size_t i = 0; i < (size_t)n * L->out; i++)
                z[i] = z[i] > 0.0 ? z[i] : 0.0;
    }
}

/* Softmax cross-entropy of the logits z (n x c) against y.  Adds each
 * example's loss to *loss_sum in example order and counts correct argmaxes;
 * with dz, writes the gradient of the mean loss, (softmax - onehot) / n. */
static void softmax_xent(const double *z, const uint8_t *y, uint32_t n, uint32_t c,
                         uint32_t mean_over, double *dz, double *loss_sum, uint32_t *correct)
{
    for (uint32_t s = 0; s < n; s++) {
        const double *zr = z + (size_t)s * c;
        uint32_t am = 0;
        double mx = zr[0], sum = 0.0;
        for (uint32_t j = 1; j < c; j++)
            if (zr[j] > mx) {
                mx = zr[j];
                am = j;
            }
        for (uint32_t j = 0; j < c; j++) {
            double e = pu_det_exp(zr[j] - mx);
            sum += e;
            if (dz)
                dz[(size_t)s * c + j] = e;
        }
        *loss_sum += pu_det_log(sum) - (zr[y[s]] - mx);
        *correct += am == y[s];
        if (!dz)
            continue;
        for (uint32_t j = 0; j < c; j++) {
            double q = dz[(size_t)s * c + j] / sum;
            dz[(size_t)s * c + j] = (j == y[s] ? q - 1.0 : q) / (double)mean_over;
        }
    }
}

/* Gradient of the mean loss into ws->grad; delta starts in ws->d0. */
static void backward(pu_ml_ws *ws, const double *p, uint32_t n)
{
    double *delta = ws->d0, *da = ws->d1;
    for (uint32_t l = ws->nl; l-- > 0;) {
        const layer *L = &ws->ly[l];
        const double *in = l == 0 ? ws->x : ws->act[l - 1];
        double *gb = ws->grad + L->b;
        mm_tn(ws, n, L->in, L->out, in, delta, ws->grad + L->w);
        for (uint32_t j = 0; j < L->out; j++)
            gb[j] = 0.0;
        for (uint32_t s = 0; s < n; s++) /* per element: examples in order */
            for (uint32_t j = 0; j < L->out; j++)
                gb[j] += delta[(size_t)s * L->out + j];
        if (l == 0)
            break;
        mm_nt(ws, n, L->in, L->out, delta, p + L->w, da);
        for (size_t i = 0; i < (size_t)n * L->in; i++)
            da[i] = in[i] > 0.0 ? da[i] : 0.0; /* ReLU': in holds the ReLU outputs */
        double *t = delta;
        delta = da;
        da = t;
    }
}

static uint64_t loss_e9(double loss)
{
    double v = loss * 1e9;
    if (!(v >= 0.0) || !(v < 18446744073709551616.0))
        return UINT64_MAX;
    return (uint64_t)v;
}

static void metrics_set(pu_ml_metrics *m, uint32_t n, uint32_t correct, double loss_sum)
{
    m->n = n;
    m->correct = correct;
    m->loss = loss_sum / (double)n;
    m->loss_e9 = loss_e9(m->loss);
}

static pu_err check_batch(const pu_ml_ws *ws, const pu_ml_arch *a, const pu_ml_batch *b)
{
    if (!pu_ml_arch_eq(&ws->arch, a))
        return PU_ERR_INVALID;
    if (pu_dataset_dim(b->ds) != a->input || pu_dataset_classes(b->ds) != a->output)
        return PU_ERR_INVALID;
    if (b->n == 0 || b->n > ws->max_batch)
        return PU_ERR_RANGE;
    uint32_t size = pu_dataset_size(b->ds);
    for (uint32_t i = 0; i < b->n; i++)
        if (b->idx[i] >= size)
            return PU_ERR_RANGE;
    return PU_OK;
}

/* Forward + backward of parameters p on a batch that check_batch accepted
 * (so the gather cannot fail; its code is passed on all the same). */
static pu_err fwd_bwd(pu_ml_ws *ws, const double *p, const pu_ml_batch *b, pu_ml_metrics *mt)
{
    double loss = 0.0;
    uint32_t correct = 0;
    pu_err rc = pu_dataset_gather(b->ds, b->idx, b->n, ws->x, ws->y);
    if (rc != PU_OK)
        return rc;
    forward(ws, p, b->n);
    softmax_xent(ws->act[ws->nl - 1], ws->y, b->n, ws->arch.output, b->n, ws->d0, &loss,
                 &correct);
    backward(ws, p, b->n);
    metrics_set(mt, b->n, correct, loss);
    return PU_OK;
}

pu_err pu_ml_grad(pu_ml_ws *ws, const pu_ml_model *m, const pu_ml_batch *b,
                  pu_ml_metrics *metrics_out, const double **grad_out)
{
    *grad_out = NULL;
    pu_err rc = check_batch(ws, &m->arch, b);
    if (rc != PU_OK)
        return rc;
    rc = fwd_bwd(ws, m->p, b, metrics_out);
    if (rc == PU_OK)
        *grad_out = ws->grad;
    return rc;
}

static pu_err check_hyper(const pu_ml_model *m, const pu_ml_hyper *h)
{
    if (pu_ml_hyper_check(h) != PU_OK)
        return PU_ERR_RANGE;
    return (h->momentum_e9 != 0) == m->momentum ? PU_OK : PU_ERR_INVALID;
}

/* u = g, or v = mu v + g and u = v: returns the vector to apply. */
static const double *momentum_apply(pu_ml_model *m, const double *g, const pu_ml_hyper *h)
{
    if (!m->momentum)
        return g;
    const double mu = e9_to_double(h->momentum_e9);
    for (uint32_t i = 0; i < m->np; i++)
        m->v[i] = mu * m->v[i] + g[i];
    return m->v;
}

pu_err pu_ml_sgd_step(pu_ml_ws *ws, pu_ml_model *m, const pu_ml_batch *b, const pu_ml_hyper *h,
                      pu_ml_metrics *metrics_out)
{
    pu_err rc = check_hyper(m, h);
    if (rc == PU_OK)
        rc = check_batch(ws, &m->arch, b);
    if (rc != PU_OK)
        return rc;
    rc = fwd_bwd(ws, m->p, b, metrics_out);
    if (rc != PU_OK)
        return rc;
    const double *u = momentum_apply(m, ws->grad, h);
    const double lr = e9_to_double(h->lr_e9);
    for (uint32_t i = 0; i < m->np; i++)
        m->p[i] = m->p[i] - lr * u[i];
    return PU_OK;
}

/* ---- the PoUW step ------------------------------------------------------------- */

static pu_err check_step(pu_ml_ws *ws, const pu_ml_model *mi, const pu_ml_resid *ri,
                         const pu_ml_batch *b, const pu_ml_update *const *peers, size_t n_peers,
                         const pu_ml_hyper *h, const pu_ml_model *mo, const pu_ml_resid *ro)
{
    pu_err rc = check_hyper(mi, h);
    if (rc == PU_OK)
        rc = check_batch(ws, &mi->arch, b);
    if (rc != PU_OK)
        return rc;
    if (!model_same_shape(mi, mo) || ri->np != mi->np || ro->np != mi->np)
        return PU_ERR_INVALID;
    for (size_t i = 0; i < n_peers; i++)
        if (peers[i]->np != mi->np)
            return PU_ERR_INVALID;
    return PU_OK;
}

/* Steps 4-6: residual accumulation, threshold quantisation, local update. */
static void quantise(pu_ml_model *m, double *r, const double *u, const pu_ml_hyper *h,
                     pu_ml_update *out)
{
    const double lr = e9_to_double(h->lr_e9), tau = e9_to_double(h->tau_e9);
    uint32_t cnt = 0;
    for (uint32_t i = 0; i < m->np; i++) {
        double ri = r[i] + lr * u[i];
        if (ri > tau) {
            ri = ri - tau;
            m->p[i] = m->p[i] - tau;
            out->e[cnt++] = i;
        } else if (ri < -tau) {
            ri = ri + tau;
            m->p[i] = m->p[i] + tau;
            out->e[cnt++] = i | PU_ML_UPDATE_NEG;
        }
        r[i] = ri;
    }
    out->np = m->np;
    out->count = cnt;
}

pu_err pu_ml_step(pu_ml_ws *ws, const pu_ml_model *model_in, const pu_ml_resid *resid_in,
                  const pu_ml_batch *b, const pu_ml_update *const *peers, size_t n_peers,
                  const pu_ml_hyper *h, pu_ml_model *model_out, pu_ml_resid *resid_out,
                  pu_ml_update *update_out, pu_ml_metrics *metrics_out)
{
    pu_err rc = check_step(ws, model_in, resid_in, b, peers, n_peers, h, model_out, resid_out);
    if (rc == PU_OK)
        rc = update_reserve(update_out, model_in->np);
    if (rc != PU_OK)
        return rc;
    /* Everything that can fail was checked: outputs are written only now. */
    if (model_out != model_in)
        memcpy(model_out->p, model_in->p, model_bytes(model_in));
    if (resid_out != resid_in)
        memcpy(resid_out->r, resid_in->r, (size_t)resid_in->np * sizeof(double));
    const double tau = e9_to_double(h->tau_e9);
    for (size_t i = 0; i < n_peers; i++)
        apply_entries(model_out->p, peers[i], tau);
    rc = fwd_bwd(ws, model_out->p, b, metrics_out);
    if (rc != PU_OK)
        return rc;
    const double *u = momentum_apply(model_out, ws->grad, h);
    quantise(model_out, resid_out->r, u, h, update_out);
    return PU_OK;
}

/* ---- evaluation ------------------------------------------------------------------ */

pu_err pu_ml_evaluate(pu_ml_ws *ws, const pu_ml_model *m, const pu_dataset *ds, uint32_t first,
                      uint32_t count, pu_ml_metrics *out)
{
    memset(out, 0, sizeof *out);
    if (!pu_ml_arch_eq(&ws->arch, &m->arch) || pu_dataset_dim(ds) != m->arch.input
        || pu_dataset_classes(ds) != m->arch.output)
        return PU_ERR_INVALID;
    if (count == 0 || first > pu_dataset_size(ds) || count > pu_dataset_size(ds) - first)
        return PU_ERR_RANGE;
    double loss = 0.0;
    uint32_t correct = 0;
    for (uint32_t done = 0; done < count;) {
        uint32_t n = count - done < ws->max_batch ? count - done : ws->max_batch;
        for (uint32_t j = 0; j < n; j++)
            ws->idx[j] = first + done + j;
        pu_err rc = pu_dataset_gather(ds, ws->idx, n, ws->x, ws->y);
        if (rc != PU_OK)
            return rc;
        forward(ws, m->p, n);
        softmax_xent(ws->act[ws->nl - 1], ws->y, n, m->arch.output, n, NULL, &loss, &correct);
        done += n;
    }
    metrics_set(out, count, correct, loss);
    return PU_OK;
}
