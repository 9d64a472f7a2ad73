/* tests/core/test_opret_py.c -- records of the Python implementation
 * (elfateh4/PoUW): recognised by the strict decoder as another codec, read by
 * core/opret_py, including the stream its producer cut and the stream its own
 * reader cannot decode.  Fixtures: tests/data/pouwpy/records.hex, built from
 * the published layout by tests/data/pouwpy/make_records.py. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/bytes.h"
#include "core/crypto.h"
#include "core/opret.h"
#include "core/opret_py.h"
#include "tests/harness.h"

#define MAX_RECS 16

typedef struct fixture {
    char name[32];
    uint8_t rec[PU_OPRET_SIZE];
} fixture;

/* Reads records.hex: "# name: what" lines each followed by one hex record. */
static size_t load(fixture *out)
{
    FILE *f = fopen("tests/data/pouwpy/records.hex", "r");
    CU_ASSERT_FATAL(f != NULL);
    char line[512], name[32] = "";
    size_t n = 0;
    while (fgets(line, sizeof line, f) && n < MAX_RECS) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '#') {
            size_t k = strcspn(line + 2, ":");
            snprintf(name, sizeof name, "%.*s", (int)k, line + 2);
            continue;
        }
        CU_ASSERT_FATAL(strlen(line) == 2 * PU_OPRET_SIZE);
        CU_ASSERT_FATAL(pu_hex_decode(line, out[n].rec, PU_OPRET_SIZE) == PU_OK);
        snprintf(out[n].name, sizeof out[n].name, "%s", name);
        n++;
    }
    fclose(f);
    return n;
}

static const fixture *find(const fixture *fx, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(fx[i].name, name))
            return &fx[i];
    CU_FAIL_FATAL("fixture missing");
    return NULL;
}

static void reseal(uint8_t rec[PU_OPRET_SIZE]) { pu_put_be32(rec + 156, pu_crc32(rec, 156)); }

static pu_opret_py_status py(const uint8_t *rec, size_t len, pu_opret_py_rec *out)
{
    pu_opret_py_status st = PU_OPRET_PY_STATUS_COUNT;
    pu_err rc = pu_opret_py_decode(rec, len, out, &st);
    CU_ASSERT_EQUAL(rc, st == PU_OPRET_PY_OK || st == PU_OPRET_PY_CUT ? PU_OK : PU_ERR_PARSE);
    return st;
}

/* The strict decoder names the codec instead of calling the length bad. */
static void test_strict_decoder_names_zlib(void)
{
    fixture fx[MAX_RECS];
    size_t n = load(fx);
    CU_ASSERT_EQUAL_FATAL(n, 10);
    pu_opret_codec *c;
    CU_ASSERT_FATAL(pu_opret_codec_new(&c) == PU_OK);
    for (size_t i = 0; i < n; i++) {
        pu_opret_msg m;
        pu_opret_status st;
        CU_ASSERT_EQUAL(pu_opret_decode(c, fx[i].rec, PU_OPRET_SIZE, &m, &st), PU_ERR_PARSE);
        CU_ASSERT_EQUAL(st, PU_OPRET_E_ZLIB);
    }
    /* The same header byte without a zlib check pair is just a bad header. */
    uint8_t rec[PU_OPRET_SIZE];
    memcpy(rec, fx[0].rec, sizeof rec);
    rec[59] ^= 1;
    reseal(rec);
    pu_opret_msg m;
    pu_opret_status st;
    CU_ASSERT_EQUAL(pu_opret_decode(c, rec, sizeof rec, &m, &st), PU_ERR_PARSE);
    CU_ASSERT_EQUAL(st, PU_OPRET_E_HEADER);
    pu_opret_codec_free(c);
    /* RFC 1950 headers: the default ones and a few that are not. */
    static const uint8_t yes[][2] = {{0x78, 0x9c}, {0x78, 0xda}, {0x78, 0x01}, {0x78, 0x5e},
                                     {0x08, 0x1d}};
    static const uint8_t no[][2] = {{0x78, 0x9d}, {0x79, 0x9c}, {0x88, 0x98}, {0x78, 0xbb},
                                    {0x00, 0x00}};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        CU_ASSERT(pu_opret_zlib_header(yes[i]));
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        CU_ASSERT(!pu_opret_zlib_header(no[i]));
}

/* Every op code's small record reads back to the JSON the fixture holds. */
static void test_decode_every_op_code(void)
{
    static const struct { char name[24]; char text[112]; } want[] = {
        {"task_submission", "{\"model_type\":\"mlp\",\"architecture\":{\"input_size\":784,"
                            "\"hidden_sizes\":[128,64],\"output_size\":10},\"fee\":10.0}"},
        {"task_result", "{\"final_accuracy\":0.91,\"iterations_completed\":100,"
                        "\"model_hash\":\"a3f19c07be\"}"},
        {"worker_registration", "{\"role\":\"miner\",\"stake_amount\":100.0,"
                                "\"preferences\":{\"gpu\":false}}"},
        {"consensus_vote", "{\"vote\":\"yes\",\"iteration\":42}"},
        {"gradient_share", "{\"iteration\":50,\"model_hash\":\"0b5e9d2a41c7f388\","
                           "\"performance\":{\"accuracy\":0.85,\"loss\":0.15}}"},
        {"verification_proof", "{\"nonce\":123456,\"verification_result\":true,"
                               "\"proof_hash\":\"9c1d4e7f20a8b635\"}"},
        {"economic_event", "{\"event\":\"settlement\",\"amount\":10.0}"},
        {"network_state", "{\"height\":1200,\"peers\":8}"},
    };
    fixture fx[MAX_RECS];
    size_t n = load(fx);
    pu_opret_py_rec *r = malloc(sizeof *r);
    CU_ASSERT_FATAL(r != NULL);
    pu_crypto *c;
    CU_ASSERT_FATAL(pu_crypto_new(&c) == PU_OK);
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const fixture *f = find(fx, n, want[i].name);
        CU_ASSERT_EQUAL(py(f->rec, PU_OPRET_SIZE, r), PU_OPRET_PY_OK);
        CU_ASSERT_EQUAL(r->op, i + 1);
        CU_ASSERT_EQUAL(r->version, 1);
        CU_ASSERT_EQUAL(r->timestamp, 1751068800u);
        CU_ASSERT_STRING_EQUAL(r->text, want[i].text);
        CU_ASSERT_EQUAL(r->text_len, strlen(want[i].text));
        CU_ASSERT(r->stream_len > 2 && r->stream_len < 98);
        CU_ASSERT(!r->last_byte_zero);
        CU_ASSERT_EQUAL(r->crc, pu_get_be32(f->rec + 156));
    }
    /* The hashes are of texts: SHA-1("node-miner-1"), SHA-256("task-mnist-1"),
     * and zero for a registration. */
    const fixture *g = find(fx, n, "gradient_share");
    CU_ASSERT_EQUAL(py(g->rec, PU_OPRET_SIZE, r), PU_OPRET_PY_OK);
    uint8_t sha1[20];
    pu_hash32 sha;
    pu_sha1(c, "node-miner-1", 12, sha1);
    pu_sha256(c, "task-mnist-1", 12, &sha);
    CU_ASSERT_EQUAL(memcmp(r->node_id_hash, sha1, 20), 0);
    CU_ASSERT_EQUAL(memcmp(r->task_id_hash, sha.b, 32), 0);
    CU_ASSERT_EQUAL(py(find(fx, n, "worker_registration")->rec, PU_OPRET_SIZE, r), PU_OPRET_PY_OK);
    static const uint8_t zero[32];
    CU_ASSERT_EQUAL(memcmp(r->task_id_hash, zero, 32), 0);
    pu_crypto_free(c);
    free(r);
}

/* The producer keeps payload[:98]: the stream runs to the end of the area
 * and the readable prefix of its JSON is what there is. */
static void test_cut_stream(void)
{
    fixture fx[MAX_RECS];
    size_t n = load(fx);
    pu_opret_py_rec *r = malloc(sizeof *r);
    CU_ASSERT_FATAL(r != NULL);
    CU_ASSERT_EQUAL(py(find(fx, n, "cut")->rec, PU_OPRET_SIZE, r), PU_OPRET_PY_CUT);
    CU_ASSERT_EQUAL(r->stream_len, 98);
    static const char prefix[] = "{\"model_type\":\"cnn\",\"architecture\":{\"layers\":[";
    CU_ASSERT_EQUAL(strncmp(r->text, prefix, strlen(prefix)), 0);
    /* the whole JSON is 285 bytes: much of it was cut */
    CU_ASSERT(r->text_len > 60 && r->text_len < 200);
    CU_ASSERT_EQUAL(strlen(r->text), r->text_len);
    free(r);
}

/* A stream ending in 0x00: the producer's reader strips that byte with the
 * padding and fails; inflating the whole area reads it. */
static void test_stream_ending_in_zero(void)
{
    fixture fx[MAX_RECS];
    size_t n = load(fx);
    pu_opret_py_rec *r = malloc(sizeof *r);
    CU_ASSERT_FATAL(r != NULL);
    const fixture *f = find(fx, n, "zero_end");
    CU_ASSERT_EQUAL(py(f->rec, PU_OPRET_SIZE, r), PU_OPRET_PY_OK);
    CU_ASSERT(r->last_byte_zero);
    CU_ASSERT_EQUAL(f->rec[58 + r->stream_len - 1], 0);
    CU_ASSERT_STRING_EQUAL(r->text, "{\"final_accuracy\":0.88,\"iterations_completed\":1059,"
                                    "\"model_hash\":\"5d2c\"}");
    free(r);
}

static void test_refusals(void)
{
    fixture fx[MAX_RECS];
    size_t n = load(fx);
    pu_opret_py_rec *r = malloc(sizeof *r);
    CU_ASSERT_FATAL(r != NULL);
    const fixture *f = find(fx, n, "task_result");
    uint8_t rec[PU_OPRET_SIZE];
    CU_ASSERT_EQUAL(py(f->rec, 159, r), PU_OPRET_PY_E_LENGTH);
    memcpy(rec, f->rec, sizeof rec);
    rec[100] ^= 0x10;
    CU_ASSERT_EQUAL(py(rec, sizeof rec, r), PU_OPRET_PY_E_CRC);
    memcpy(rec, f->rec, sizeof rec);
    rec[0] = 2;
    reseal(rec);
    CU_ASSERT_EQUAL(py(rec, sizeof rec, r), PU_OPRET_PY_E_VERSION);
    CU_ASSERT_EQUAL(r->op, 2); /* the envelope is still reported */
    memcpy(rec, f->rec, sizeof rec);
    rec[1] = 9;
    reseal(rec);
    CU_ASSERT_EQUAL(py(rec, sizeof rec, r), PU_OPRET_PY_E_OPCODE);
    memcpy(rec, f->rec, sizeof rec);
    rec[59] = 0x9d; /* 0x78 0x9d fails FCHECK */
    reseal(rec);
    CU_ASSERT_EQUAL(py(rec, sizeof rec, r), PU_OPRET_PY_E_NOT_ZLIB);
    memcpy(rec, f->rec, sizeof rec);
    rec[70] ^= 0xff; /* inside the deflate data */
    reseal(rec);
    pu_opret_py_status st = py(rec, sizeof rec, r);
    CU_ASSERT(st == PU_OPRET_PY_E_INFLATE);
    memcpy(rec, f->rec, sizeof rec);
    rec[155] = 1; /* a byte in the padding */
    reseal(rec);
    CU_ASSERT_EQUAL(py(rec, sizeof rec, r), PU_OPRET_PY_E_PADDING);
    /* pouwsim's own records are not zlib */
    memset(rec, 0, sizeof rec);
    rec[0] = 1;
    rec[1] = 8;
    rec[58] = 2;
    rec[59] = 0x55;
    reseal(rec);
    CU_ASSERT_EQUAL(py(rec, sizeof rec, r), PU_OPRET_PY_E_NOT_ZLIB);
    /* A complete stream that inflates beyond the text limit: 16 KiB of one
     * letter deflate to 40 bytes. */
    uint8_t *big = malloc(16384);
    CU_ASSERT_FATAL(big != NULL);
    memset(big, 'a', 16384);
    uLongf zlen = PU_OPRET_PAYLOAD_SIZE;
    memset(rec, 0, sizeof rec);
    CU_ASSERT_FATAL(compress2(rec + 58, &zlen, big, 16384, 9) == Z_OK);
    free(big);
    rec[0] = 1;
    rec[1] = 2;
    reseal(rec);
    CU_ASSERT_EQUAL(py(rec, sizeof rec, r), PU_OPRET_PY_E_TOO_LARGE);
    CU_ASSERT_EQUAL(r->text_len, PU_OPRET_PY_TEXT_MAX);
    for (int s = PU_OPRET_PY_OK; s < (int)PU_OPRET_PY_STATUS_COUNT; s++) {
        CU_ASSERT_STRING_NOT_EQUAL(pu_opret_py_status_str((pu_opret_py_status)s), "unknown status");
        for (int t = 0; t < s; t++)
            CU_ASSERT_STRING_NOT_EQUAL(pu_opret_py_status_str((pu_opret_py_status)s),
                                       pu_opret_py_status_str((pu_opret_py_status)t));
    }
    free(r);
}

TSUITE(opret_py)
{
    CU_pSuite s = CU_add_suite("opret_py", NULL, NULL);
    if (!s)
        return CU_get_error();
    TADD(s, test_strict_decoder_names_zlib);
    TADD(s, test_decode_every_op_code);
    TADD(s, test_cut_stream);
    TADD(s, test_stream_ending_in_zero);
    TADD(s, test_refusals);
    return CUE_SUCCESS;
}
