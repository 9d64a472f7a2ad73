/* sim/cmd_opret.c -- `pouwsim opret decode|encode` (see cmd_opret.h).
 *
 * One table of payload fields drives both directions: decode reports each
 * field of the record's op code from the decoded pu_opret_msg, encode parses
 * key=value pairs into the same places, so a name `decode` prints is always
 * a name `encode` accepts. */
#include "sim/cmd_opret.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/bytes.h"
#include "core/crypto.h"
#include "core/opret_py.h"
#include "sim/units.h"

const char sim_cmd_opret_usage[] =
    "usage: pouwsim opret decode HEX|- [--compat pouw-py] [--json]\n"
    "       pouwsim opret encode OP [key=value]...\n"
    "\n"
    "decode  prints the envelope, op code and payload fields of a 160-byte OP_RETURN\n"
    "        record, or why it is refused; '-' reads records from stdin, one hex\n"
    "        record per line ('#' lines skipped)\n"
    "        --compat pouw-py  read the Python implementation's records (zlib over\n"
    "                          JSON): inflated text, cut streams reported\n"
    "        --json            one JSON document per record\n"
    "encode  builds a record: OP is a name (worker_registration) or 1..8; header keys\n"
    "        timestamp, node (hash hex) or pub (key hex), task (hash hex) or task_id\n"
    "        (raw id hex, hashed with SHA-256); payload keys as decode prints them\n"
    "\n"
    "exit status: 0 ok, 2 refused record or bad input, 1 system failure\n";

#define HEX_MAX 2048u /* bytes of one input record: far above 160, so a wrong
                       * length is still reported as such */
#define LINE_MAX_LEN (2 * HEX_MAX + 256)

/* ---- the field table ---------------------------------------------------- */

typedef enum ftype {
    F_U8, F_U32, F_AMOUNT, F_PPM, F_PREFIX, F_ENUM, F_LAYERS, F_NAME, F_RANKED
} ftype;

typedef enum ekind { E_NONE, E_ACT, E_ROLE, E_SUBJECT, E_VOTE, E_OUTCOME, E_ECON } ekind;

typedef struct field {
    uint8_t op;
    uint8_t type;  /* ftype */
    uint8_t ekind; /* for F_ENUM */
    char name[20];
    uint16_t off;  /* offset in pu_opret_msg */
} field;

#define M(member) ((uint16_t)offsetof(pu_opret_msg, member))

static const field fields[] = {
    {PU_OPRET_TASK_SUBMISSION, F_AMOUNT, 0, "fee", M(task.fee)},
    {PU_OPRET_TASK_SUBMISSION, F_AMOUNT, 0, "min_stake", M(task.min_stake)},
    {PU_OPRET_TASK_SUBMISSION, F_PPM, 0, "min_accuracy_ppm", M(task.min_accuracy_ppm)},
    {PU_OPRET_TASK_SUBMISSION, F_U32, 0, "max_iterations", M(task.max_iterations)},
    {PU_OPRET_TASK_SUBMISSION, F_U32, 0, "batch_size", M(task.batch_size)},
    {PU_OPRET_TASK_SUBMISSION, F_PPM, 0, "learning_rate_ppm", M(task.learning_rate_ppm)},
    {PU_OPRET_TASK_SUBMISSION, F_U32, 0, "required_miners", M(task.required_miners)},
    {PU_OPRET_TASK_SUBMISSION, F_U32, 0, "registration_blocks", M(task.registration_blocks)},
    {PU_OPRET_TASK_SUBMISSION, F_ENUM, E_ACT, "activation", M(task.activation)},
    {PU_OPRET_TASK_SUBMISSION, F_LAYERS, 0, "layers", M(task.n_layers)},
    {PU_OPRET_TASK_SUBMISSION, F_U32, 0, "dataset_size", M(task.dataset_size)},
    {PU_OPRET_TASK_SUBMISSION, F_NAME, 0, "dataset_name", M(task.dataset_name)},
    {PU_OPRET_TASK_RESULT, F_PREFIX, 0, "model_hash", M(result.model_hash)},
    {PU_OPRET_TASK_RESULT, F_U32, 0, "test_samples", M(result.test_samples)},
    {PU_OPRET_TASK_RESULT, F_U32, 0, "iterations_run", M(result.iterations_run)},
    {PU_OPRET_TASK_RESULT, F_RANKED, 0, "ranked", M(result.n_ranked)},
    {PU_OPRET_WORKER_REGISTRATION, F_ENUM, E_ROLE, "role", M(reg.role)},
    {PU_OPRET_WORKER_REGISTRATION, F_AMOUNT, 0, "stake", M(reg.stake)},
    {PU_OPRET_WORKER_REGISTRATION, F_AMOUNT, 0, "min_task_fee", M(reg.min_task_fee)},
    {PU_OPRET_WORKER_REGISTRATION, F_U32, 0, "throughput_sps", M(reg.throughput_sps)},
    {PU_OPRET_WORKER_REGISTRATION, F_U32, 0, "max_params", M(reg.max_params)},
    {PU_OPRET_CONSENSUS_VOTE, F_U32, 0, "epoch", M(vote.epoch)},
    {PU_OPRET_CONSENSUS_VOTE, F_U32, 0, "iteration", M(vote.iteration)},
    {PU_OPRET_CONSENSUS_VOTE, F_ENUM, E_SUBJECT, "subject", M(vote.subject)},
    {PU_OPRET_CONSENSUS_VOTE, F_PREFIX, 0, "subject_hash", M(vote.subject_hash)},
    {PU_OPRET_CONSENSUS_VOTE, F_ENUM, E_VOTE, "vote", M(vote.vote)},
    {PU_OPRET_CONSENSUS_VOTE, F_U8, 0, "reason", M(vote.reason)},
    {PU_OPRET_GRADIENT_SHARE, F_U32, 0, "epoch", M(grad.epoch)},
    {PU_OPRET_GRADIENT_SHARE, F_U32, 0, "iteration", M(grad.iteration)},
    {PU_OPRET_GRADIENT_SHARE, F_PREFIX, 0, "update_hash", M(grad.update_hash)},
    {PU_OPRET_GRADIENT_SHARE, F_U32, 0, "update_size", M(grad.update_size)},
    {PU_OPRET_GRADIENT_SHARE, F_U32, 0, "n_entries", M(grad.n_entries)},
    {PU_OPRET_GRADIENT_SHARE, F_U32, 0, "tau_micro", M(grad.tau_micro)},
    {PU_OPRET_GRADIENT_SHARE, F_U32, 0, "train_loss_micro", M(grad.train_loss_micro)},
    {PU_OPRET_GRADIENT_SHARE, F_PPM, 0, "train_accuracy_ppm", M(grad.train_accuracy_ppm)},
    {PU_OPRET_VERIFICATION_PROOF, F_U32, 0, "height", M(proof.height)},
    {PU_OPRET_VERIFICATION_PROOF, F_PREFIX, 0, "block_hash", M(proof.block_hash)},
    {PU_OPRET_VERIFICATION_PROOF, F_ENUM, E_OUTCOME, "outcome", M(proof.outcome)},
    {PU_OPRET_VERIFICATION_PROOF, F_U32, 0, "iteration", M(proof.iteration)},
    {PU_OPRET_VERIFICATION_PROOF, F_PREFIX, 0, "end_model_hash", M(proof.end_model_hash)},
    {PU_OPRET_VERIFICATION_PROOF, F_U32, 0, "reexec_us", M(proof.reexec_us)},
    {PU_OPRET_ECONOMIC_EVENT, F_ENUM, E_ECON, "kind", M(econ.kind)},
    {PU_OPRET_ECONOMIC_EVENT, F_AMOUNT, 0, "total", M(econ.total)},
    {PU_OPRET_ECONOMIC_EVENT, F_AMOUNT, 0, "to_miners", M(econ.to_miners)},
    {PU_OPRET_ECONOMIC_EVENT, F_AMOUNT, 0, "to_supervisors", M(econ.to_supervisors)},
    {PU_OPRET_ECONOMIC_EVENT, F_AMOUNT, 0, "to_evaluators", M(econ.to_evaluators)},
    {PU_OPRET_ECONOMIC_EVENT, F_AMOUNT, 0, "slashed", M(econ.slashed)},
    {PU_OPRET_ECONOMIC_EVENT, F_U32, 0, "n_miners", M(econ.n_miners)},
    {PU_OPRET_ECONOMIC_EVENT, F_U32, 0, "n_supervisors", M(econ.n_supervisors)},
    {PU_OPRET_ECONOMIC_EVENT, F_U32, 0, "n_evaluators", M(econ.n_evaluators)},
    {PU_OPRET_ECONOMIC_EVENT, F_U32, 0, "n_slashed", M(econ.n_slashed)},
    {PU_OPRET_NETWORK_STATE, F_U32, 0, "height", M(net.height)},
    {PU_OPRET_NETWORK_STATE, F_PREFIX, 0, "tip_hash", M(net.tip_hash)},
    {PU_OPRET_NETWORK_STATE, F_U32, 0, "peers", M(net.peers)},
    {PU_OPRET_NETWORK_STATE, F_U32, 0, "mempool_txs", M(net.mempool_txs)},
    {PU_OPRET_NETWORK_STATE, F_U32, 0, "mempool_bytes", M(net.mempool_bytes)},
    {PU_OPRET_NETWORK_STATE, F_U32, 0, "active_tasks", M(net.active_tasks)},
};
#define N_FIELDS (sizeof fields / sizeof fields[0])

/* Names of enum values (lower case, as encode accepts them); NULL when the
 * value has none.  Switches, not pointer tables: see pu_opret_op_name. */
static const char *enum_name(ekind k, unsigned v)
{
    switch (k) {
    case E_ACT: return v == 1 ? "relu" : v == 2 ? "sigmoid" : v == 3 ? "tanh" : NULL;
    case E_ROLE:
        return v == 1 ? "miner" : v == 2 ? "supervisor" : v == 3 ? "evaluator"
               : v == 4 ? "verifier" : NULL;
    case E_SUBJECT:
        return v == 1 ? "iteration" : v == 2 ? "block" : v == 3 ? "model"
               : v == 4 ? "misconduct" : NULL;
    case E_VOTE: return v == 1 ? "yes" : v == 2 ? "no" : v == 3 ? "abstain" : NULL;
    case E_OUTCOME:
        return v == 1 ? "ok" : v == 2 ? "malformed" : v == 3 ? "unknown-data"
               : v == 4 ? "bad-reexec" : NULL;
    case E_ECON:
        return v == 1 ? "settlement" : v == 2 ? "stake-return" : v == 3 ? "slash"
               : v == 4 ? "refund" : NULL;
    case E_NONE: break;
    }
    return NULL;
}

static uint32_t get_u32(const pu_opret_msg *m, uint16_t off)
{
    uint32_t v;
    memcpy(&v, (const char *)m + off, sizeof v);
    return v;
}

static int64_t get_i64(const pu_opret_msg *m, uint16_t off)
{
    int64_t v;
    memcpy(&v, (const char *)m + off, sizeof v);
    return v;
}

/* ---- decode: report --------------------------------------------------------- */

static void report_field(sim_report *r, const pu_opret_msg *m, const field *f)
{
    const uint8_t *p = (const uint8_t *)m + f->off;
    char buf[SIM_UNITS_BUF + 32];
    switch ((ftype)f->type) {
    case F_U8: sim_report_u64(r, f->name, *p); break;
    case F_U32: sim_report_u64(r, f->name, get_u32(m, f->off)); break;
    case F_AMOUNT: sim_report_amount(r, f->name, get_i64(m, f->off)); break;
    case F_PPM: {
        char frac[SIM_UNITS_BUF];
        uint32_t v = get_u32(m, f->off);
        if (r->json || sim_units_format_ppm(v, frac, sizeof frac) != PU_OK) {
            sim_report_u64(r, f->name, v);
        } else {
            snprintf(buf, sizeof buf, "%" PRIu32 " (%s)", v, frac);
            sim_report_str(r, f->name, buf);
        }
        break;
    }
    case F_PREFIX: sim_report_hex(r, f->name, p, PU_OPRET_PREFIX); break;
    case F_ENUM: {
        const char *n = enum_name((ekind)f->ekind, *p);
        sim_report_enum(r, f->name, *p, n ? n : "?");
        break;
    }
    case F_LAYERS:
        sim_report_arr(r, f->name);
        for (uint32_t i = 0; i < m->task.n_layers; i++)
            sim_report_u64(r, NULL, m->task.layers[i]);
        sim_report_close(r);
        break;
    case F_NAME: sim_report_str(r, f->name, m->task.dataset_name); break;
    case F_RANKED:
        sim_report_arr(r, f->name);
        for (uint32_t i = 0; i < m->result.n_ranked; i++) {
            sim_report_obj(r, NULL);
            sim_report_u64(r, "miner_index", m->result.ranked[i].miner_index);
            sim_report_u64(r, "accuracy_ppm", m->result.ranked[i].accuracy_ppm);
            sim_report_close(r);
        }
        sim_report_close(r);
        break;
    }
}

/* Why a status means what it does, for a person reading the refusal. */
static const char *status_hint(pu_opret_status st)
{
    switch (st) {
    case PU_OPRET_E_ZLIB:
        return "the envelope is valid; the payload area holds zlib (RFC 1950) data, the codec of "
               "the Python implementation elfateh4/PoUW: read it with --compat pouw-py";
    case PU_OPRET_E_HEADER:
        return "byte 58 holds the payload length L in its low 7 bits (1..97) and the "
               "compression flag in its high bit; L here is 0 or above 97";
    case PU_OPRET_E_CRC: return "bytes 156..159 are not the CRC-32 of bytes 0..155";
    default: return NULL;
    }
}

static void report_envelope(sim_report *r, const uint8_t *rec, size_t len)
{
    sim_report_u64(r, "bytes", len);
    if (len != PU_OPRET_SIZE)
        return;
    uint32_t crc = pu_get_be32(rec + PU_OPRET_OFF_CRC);
    sim_report_hex(r, "crc32", rec + PU_OPRET_OFF_CRC, 4);
    sim_report_bool(r, "crc_ok", pu_crc32(rec, PU_OPRET_OFF_CRC) == crc);
    sim_report_u64(r, "version", rec[0]);
    sim_report_enum(r, "op", rec[PU_OPRET_OFF_OP], pu_opret_op_name(rec[PU_OPRET_OFF_OP]));
    sim_report_u64(r, "timestamp", pu_get_be32(rec + PU_OPRET_OFF_TIME));
    sim_report_hex(r, "node_id_hash", rec + PU_OPRET_OFF_NODE, 20);
    sim_report_hex(r, "task_id_hash", rec + PU_OPRET_OFF_TASK, 32);
}

pu_opret_status sim_cmd_opret_report(sim_report *r, pu_opret_codec *c, const uint8_t *rec,
                                     size_t len)
{
    pu_opret_msg m;
    pu_opret_status st;
    PU_IGNORE(pu_opret_decode(c, rec, len, &m, &st)); /* the status says everything */
    report_envelope(r, rec, len);
    sim_report_enum(r, "status", st, pu_opret_status_str(st));
    const char *hint = status_hint(st);
    if (hint)
        sim_report_note(r, hint);
    if (st != PU_OPRET_OK)
        return st;
    uint8_t h = rec[PU_OPRET_OFF_PAYLOAD];
    sim_report_str(r, "payload_codec",
                   h & PU_OPRET_COMPRESSED ? "zstd block, shipped dictionary" : "stored");
    sim_report_u64(r, "payload_area_bytes", 1u + (h & 0x7fu));
    sim_report_obj(r, "payload");
    for (size_t i = 0; i < N_FIELDS; i++)
        if (fields[i].op == m.op)
            report_field(r, &m, &fields[i]);
    sim_report_close(r);
    return st;
}

static void report_py(sim_report *r, const uint8_t *rec, size_t len, pu_opret_py_rec *py,
                      pu_opret_py_status st)
{
    sim_report_str(r, "format", "pouw-py (elfateh4/PoUW standardized_format.py)");
    sim_report_u64(r, "bytes", len);
    sim_report_enum(r, "status", st, pu_opret_py_status_str(st));
    if (st == PU_OPRET_PY_E_LENGTH || st == PU_OPRET_PY_E_CRC)
        return;
    sim_report_hex(r, "crc32", rec + PU_OPRET_OFF_CRC, 4);
    sim_report_u64(r, "version", py->version);
    sim_report_enum(r, "op", py->op, pu_opret_op_name(py->op));
    sim_report_u64(r, "timestamp", py->timestamp);
    sim_report_hex(r, "node_id_hash", py->node_id_hash, 20);
    sim_report_hex(r, "task_id_hash", py->task_id_hash, 32);
    sim_report_note(r, "(pouw-py hashes the node id text with SHA-1 and the task id text with "
                       "SHA-256; pouwsim hashes the public key and the raw 32-byte task id)");
    if (st != PU_OPRET_PY_OK && st != PU_OPRET_PY_CUT && st != PU_OPRET_PY_E_PADDING
        && st != PU_OPRET_PY_E_INFLATE)
        return;
    sim_report_u64(r, "zlib_stream_bytes", py->stream_len);
    sim_report_bool(r, "complete", st == PU_OPRET_PY_OK);
    if (st == PU_OPRET_PY_CUT)
        sim_report_note(r, "the producer cut this stream at 98 bytes (to_bytes keeps payload[:98]); "
                           "what follows is the readable prefix of its JSON");
    if (st == PU_OPRET_PY_OK && py->last_byte_zero)
        sim_report_note(r, "the stream ends in a zero byte: the producer's reader strips it with "
                           "the padding and fails on this record; read here in full");
    sim_report_bool(r, "last_byte_zero", py->last_byte_zero);
    sim_report_strn(r, "payload_text", py->text, py->text_len);
}

/* ---- decode: input ---------------------------------------------------------- */

/* Hex text (spaces and tabs ignored) into bytes; false if not hex or too long. */
static bool parse_hex(const char *s, uint8_t *out, size_t cap, size_t *len)
{
    size_t n = 0;
    int hi = -1;
    for (; *s; s++) {
        if (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
            continue;
        int v = isdigit((unsigned char)*s) ? *s - '0'
                : (*s >= 'a' && *s <= 'f') ? *s - 'a' + 10
                : (*s >= 'A' && *s <= 'F') ? *s - 'A' + 10 : -1;
        if (v < 0)
            return false;
        if (hi < 0) {
            hi = v;
            continue;
        }
        if (n == cap)
            return false;
        out[n++] = (uint8_t)(hi << 4 | v);
        hi = -1;
    }
    *len = n;
    return hi < 0;
}

typedef struct dec_opts {
    bool json, compat;
    pu_opret_codec *codec;
} dec_opts;

/* Decodes one record; returns 0 decoded, 2 refused, 1 system failure. */
static int decode_one(const dec_opts *o, const uint8_t *rec, size_t len, FILE *out)
{
    sim_report r;
    int status;
    sim_report_begin(&r, out, o->json);
    if (o->compat) {
        pu_opret_py_rec *py = malloc(sizeof *py);
        if (!py)
            return 1;
        pu_opret_py_status st;
        pu_err rc = pu_opret_py_decode(rec, len, py, &st);
        if (rc == PU_ERR_NOMEM) {
            free(py);
            return 1;
        }
        report_py(&r, rec, len, py, st);
        status = st == PU_OPRET_PY_OK || st == PU_OPRET_PY_CUT ? 0 : 2;
        free(py);
    } else {
        status = sim_cmd_opret_report(&r, o->codec, rec, len) == PU_OPRET_OK ? 0 : 2;
    }
    return sim_report_end(&r) == PU_OK ? status : 1;
}

static int decode_text(const dec_opts *o, const char *text, const char *where, FILE *out,
                       FILE *err)
{
    uint8_t rec[HEX_MAX];
    size_t len;
    if (!parse_hex(text, rec, sizeof rec, &len)) {
        fprintf(err, "pouwsim: opret decode: %s: error: not an even number of hex digits "
                "(at most %u bytes)\n", where, HEX_MAX);
        return 2;
    }
    return decode_one(o, rec, len, out);
}

static int decode_stream(const dec_opts *o, FILE *in, FILE *out, FILE *err)
{
    char *line = malloc(LINE_MAX_LEN);
    if (!line)
        return 1;
    int worst = 0, n = 0;
    unsigned lineno = 0;
    while (fgets(line, LINE_MAX_LEN, in)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(in)) { /* no record is that long */
            fprintf(err, "pouwsim: opret decode: line %u: error: longer than %u characters\n",
                    lineno, LINE_MAX_LEN - 2);
            free(line);
            return 2;
        }
        const char *s = line;
        while (*s == ' ' || *s == '\t')
            s++;
        if (*s == '#' || *s == '\n' || *s == '\r' || !*s)
            continue;
        char where[32];
        snprintf(where, sizeof where, "line %u", lineno);
        if (n++ && !o->json)
            fputc('\n', out);
        int st = decode_text(o, s, where, out, err);
        worst = st == 1 || worst == 1 ? 1 : st > worst ? st : worst;
    }
    free(line);
    if (ferror(in)) {
        fprintf(err, "pouwsim: opret decode: error: cannot read stdin\n");
        return 1;
    }
    if (!n) {
        fprintf(err, "pouwsim: opret decode: error: no record on stdin\n");
        return 2;
    }
    return worst;
}

static int cmd_decode(int argc, char **argv, FILE *in, FILE *out, FILE *err)
{
    dec_opts o = {false, false, NULL};
    const char *arg = NULL;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) {
            o.json = true;
        } else if (!strcmp(argv[i], "--compat") && i + 1 < argc) {
            if (strcmp(argv[++i], "pouw-py") != 0) {
                fprintf(err, "pouwsim: opret decode: error: unknown --compat '%s' (known: "
                        "pouw-py)\n", argv[i]);
                return 2;
            }
            o.compat = true;
        } else if (!arg && (argv[i][0] != '-' || !strcmp(argv[i], "-"))) {
            arg = argv[i];
        } else {
            fprintf(err, "pouwsim: opret decode: error: bad argument '%s'\n%s", argv[i],
                    sim_cmd_opret_usage);
            return 2;
        }
    }
    if (!arg) {
        fprintf(err, "pouwsim: opret decode: error: needs a hex record or '-'\n%s",
                sim_cmd_opret_usage);
        return 2;
    }
    if (pu_opret_codec_new(&o.codec) != PU_OK) {
        fprintf(err, "pouwsim: opret decode: error: cannot create the codec\n");
        return 1;
    }
    int st = !strcmp(arg, "-") ? decode_stream(&o, in, out, err)
                               : decode_text(&o, arg, "argument", out, err);
    pu_opret_codec_free(o.codec);
    return st;
}

/* ---- encode ----------------------------------------------------------------- */

static bool parse_u64_text(const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    if (!isdigit((unsigned char)s[0]))
        return false;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > max)
        return false;
    *out = v;
    return true;
}

static bool parse_enum(ekind k, const char *s, uint8_t *out)
{
    uint64_t v;
    if (parse_u64_text(s, 255, &v)) {
        *out = (uint8_t)v;
        return true;
    }
    for (unsigned i = 1; i < 8; i++) {
        const char *n = enum_name(k, i);
        if (n && !strcasecmp(n, s)) {
            *out = (uint8_t)i;
            return true;
        }
    }
    return false;
}

static bool parse_layers(const char *s, pu_opret_msg *m)
{
    uint32_t n = 0;
    while (*s) {
        char *end;
        if (!isdigit((unsigned char)*s) || n == PU_OPRET_MAX_LAYERS)
            return false;
        unsigned long v = strtoul(s, &end, 10);
        if (v > UINT32_MAX || (*end && *end != ','))
            return false;
        m->task.layers[n++] = (uint32_t)v;
        s = *end ? end + 1 : end;
    }
    m->task.n_layers = n;
    return n > 0;
}

static bool parse_ranked(const char *s, pu_opret_msg *m)
{
    uint32_t n = 0;
    while (*s) {
        char *end;
        if (!isdigit((unsigned char)*s) || n == PU_OPRET_MAX_RANKED)
            return false;
        unsigned long idx = strtoul(s, &end, 10);
        if (idx > 255 || *end != ':' || !isdigit((unsigned char)end[1]))
            return false;
        unsigned long acc = strtoul(end + 1, &end, 10);
        if (acc > UINT32_MAX || (*end && *end != ','))
            return false;
        m->result.ranked[n].miner_index = (uint8_t)idx;
        m->result.ranked[n].accuracy_ppm = (uint32_t)acc;
        n++;
        s = *end ? end + 1 : end;
    }
    m->result.n_ranked = n;
    return true;
}

/* Parses value v of field f into m; NULL or a static phrase saying what is wrong. */
static const char *set_field(const field *f, const char *v, pu_opret_msg *m)
{
    uint8_t *p = (uint8_t *)m + f->off;
    uint64_t u;
    const char *why = NULL;
    switch ((ftype)f->type) {
    case F_U8:
        if (!parse_u64_text(v, 255, &u))
            return "expects an integer 0..255";
        *p = (uint8_t)u;
        return NULL;
    case F_U32:
    case F_PPM: {
        if (!parse_u64_text(v, UINT32_MAX, &u))
            return f->type == F_PPM ? "expects parts per million (an integer)"
                                    : "expects an integer 0..4294967295";
        uint32_t w = (uint32_t)u;
        memcpy(p, &w, sizeof w);
        return NULL;
    }
    case F_AMOUNT: {
        pu_amount a;
        if (sim_units_parse_amount(v, &a, &why) != PU_OK)
            return why ? why : "expects an amount";
        memcpy(p, &a, sizeof a);
        return NULL;
    }
    case F_PREFIX:
        return strlen(v) == 2 * PU_OPRET_PREFIX && pu_hex_decode(v, p, PU_OPRET_PREFIX) == PU_OK
                   ? NULL : "expects 16 hex digits (an 8-byte hash prefix)";
    case F_ENUM: return parse_enum((ekind)f->ekind, v, p) ? NULL : "expects a name or a number";
    case F_LAYERS: return parse_layers(v, m) ? NULL : "expects widths like 784,128,64,10 (at most 8)";
    case F_NAME:
        if (strlen(v) > PU_OPRET_MAX_NAME)
            return "expects at most 32 characters";
        memcpy(m->task.dataset_name, v, strlen(v) + 1);
        return NULL;
    case F_RANKED:
        return parse_ranked(v, m) ? NULL : "expects index:accuracy_ppm pairs like 0:912000,1:871000";
    }
    return "unknown field type";
}

static const char *set_header(const char *key, const char *v, pu_opret_msg *m, pu_crypto *c)
{
    uint64_t u;
    uint8_t pub[33];
    pu_hash32 id;
    if (!strcmp(key, "timestamp")) {
        if (!parse_u64_text(v, UINT32_MAX, &u))
            return "expects seconds 0..4294967295";
        m->timestamp = (uint32_t)u;
    } else if (!strcmp(key, "node")) {
        if (strlen(v) != 40 || pu_hex_decode(v, m->node_id_hash, 20) != PU_OK)
            return "expects 40 hex digits (the SHA-1 node id hash)";
    } else if (!strcmp(key, "pub")) {
        if (strlen(v) != 66 || pu_hex_decode(v, pub, 33) != PU_OK)
            return "expects 66 hex digits (a compressed public key)";
        pu_opret_node_id_hash(c, pub, m->node_id_hash);
    } else if (!strcmp(key, "task")) {
        if (strlen(v) != 64 || pu_hex_decode(v, m->task_id_hash.b, 32) != PU_OK)
            return "expects 64 hex digits (the SHA-256 task id hash)";
    } else if (!strcmp(key, "task_id")) {
        if (strlen(v) != 64 || pu_hex_decode(v, id.b, 32) != PU_OK)
            return "expects 64 hex digits (the raw task id)";
        pu_opret_task_id_hash(c, &id, &m->task_id_hash);
    } else {
        return "";
    }
    return NULL;
}

static bool parse_op(const char *s, uint8_t *op)
{
    uint64_t v;
    if (parse_u64_text(s, PU_OPRET_OP_COUNT, &v) && v >= 1) {
        *op = (uint8_t)v;
        return true;
    }
    for (uint8_t i = 1; i <= PU_OPRET_OP_COUNT; i++)
        if (!strcasecmp(pu_opret_op_name(i), s)) {
            *op = i;
            return true;
        }
    return false;
}

static void list_fields(FILE *err, uint8_t op)
{
    fputs("  header: timestamp, node | pub, task | task_id\n  payload:", err);
    for (size_t i = 0; i < N_FIELDS; i++)
        if (fields[i].op == op)
            fprintf(err, " %s", fields[i].name);
    fputc('\n', err);
}

/* Applies one key=value; 0 or 2 (message written). */
static int apply_kv(const char *kv, uint8_t op, pu_opret_msg *m, pu_crypto *c, FILE *err)
{
    char key[32];
    const char *eq = strchr(kv, '=');
    size_t kl = eq ? (size_t)(eq - kv) : 0;
    if (!eq || !kl || kl >= sizeof key) {
        fprintf(err, "pouwsim: opret encode: error: '%s' is not key=value\n", kv);
        return 2;
    }
    memcpy(key, kv, kl);
    key[kl] = '\0';
    const char *why = set_header(key, eq + 1, m, c);
    for (size_t i = 0; why && !why[0] && i < N_FIELDS; i++)
        if (fields[i].op == op && !strcmp(fields[i].name, key))
            why = set_field(&fields[i], eq + 1, m);
    if (why && !why[0]) {
        fprintf(err, "pouwsim: opret encode: error: %s has no field '%s'; fields:\n",
                pu_opret_op_name(op), key);
        list_fields(err, op);
        return 2;
    }
    if (why) {
        fprintf(err, "pouwsim: opret encode: error: %s: '%s' %s\n", key, eq + 1, why);
        return 2;
    }
    return 0;
}

static int cmd_encode(int argc, char **argv, FILE *out, FILE *err)
{
    uint8_t op;
    if (argc < 1 || !parse_op(argv[0], &op)) {
        fprintf(err, "pouwsim: opret encode: error: needs an op code (a name such as "
                "WORKER_REGISTRATION, or 1..8)\n%s", sim_cmd_opret_usage);
        return 2;
    }
    pu_opret_msg m;
    pu_opret_msg_init(&m, (pu_opret_op)op);
    pu_crypto *c = NULL;
    pu_opret_codec *codec = NULL;
    if (pu_crypto_new(&c) != PU_OK || pu_opret_codec_new(&codec) != PU_OK) {
        pu_crypto_free(c);
        fprintf(err, "pouwsim: opret encode: error: cannot create the codec\n");
        return 1;
    }
    int st = 0;
    for (int i = 1; st == 0 && i < argc; i++)
        st = apply_kv(argv[i], op, &m, c, err);
    uint8_t rec[PU_OPRET_SIZE];
    pu_err rc = st ? PU_OK : pu_opret_encode(codec, &m, rec);
    if (!st && rc == PU_ERR_RANGE) {
        fprintf(err, "pouwsim: opret encode: error: a %s field is outside its domain (enums by "
                "name, amounts 0..21e6 coin, ppm <= 1000000, 2..8 layers each >= 1, dataset_name "
                "1..32 printable ASCII, at most 8 ranked, a vote has a reason iff not yes); "
                "unset fields are 0\n", pu_opret_op_name(op));
        st = 2;
    } else if (!st && rc != PU_OK) {
        fprintf(err, "pouwsim: opret encode: error: %s\n", pu_strerror(rc));
        st = 1;
    }
    if (!st) {
        char hex[2 * PU_OPRET_SIZE + 1];
        pu_hex_encode(rec, sizeof rec, hex);
        fprintf(out, "%s\n", hex);
    }
    pu_opret_codec_free(codec);
    pu_crypto_free(c);
    return st;
}

int sim_cmd_opret(int argc, char **argv, FILE *in, FILE *out, FILE *err)
{
    if (argc >= 1 && (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h"))) {
        fputs(sim_cmd_opret_usage, out);
        return 0;
    }
    if (argc >= 1 && !strcmp(argv[0], "decode"))
        return cmd_decode(argc - 1, argv + 1, in, out, err);
    if (argc >= 1 && !strcmp(argv[0], "encode"))
        return cmd_encode(argc - 1, argv + 1, out, err);
    fprintf(err, "pouwsim: opret: error: needs 'decode' or 'encode'\n%s", sim_cmd_opret_usage);
    return 2;
}
