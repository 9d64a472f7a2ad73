/* tests/sim/test_cmd_opret.c -- `pouwsim opret`: decode of every op code
 * from hex, one refusal per decoder status with its exit status, encode ->
 * decode round trips through the command line, and the Python
 * implementation's records with and without --compat pouw-py. */
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/crypto.h"
#include "core/opret.h"
#include "sim/cmd_opret.h"
#include "tests/harness.h"

typedef struct run_out {
    int status;
    char *out, *err;
    size_t out_len, err_len;
} run_out;

/* Runs `opret ARGS` with `input` as stdin; caller frees out and err. */
static run_out run(const char *input, int argc, const char **argv)
{
    run_out r;
    memset(&r, 0, sizeof r);
    FILE *o = open_memstream(&r.out, &r.out_len);
    FILE *e = open_memstream(&r.err, &r.err_len);
    const char *src = input ? input : "";
    FILE *i = fmemopen((void *)src, strlen(src) + 1, "r");
    CU_ASSERT_FATAL(o && e && i);
    r.status = sim_cmd_opret(argc, (char **)argv, i, o, e);
    fclose(o);
    fclose(e);
    fclose(i);
    return r;
}

static void done(run_out *r)
{
    free(r->out);
    free(r->err);
}


/* True iff some line of text is KEY, spaces, then starts with VALUE (the
 * text rendering aligns values in a column). */
static bool field_is(const char *text, const char *key, const char *value)
{
    size_t kl = strlen(key);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        const char *q = p;
        while (*q == ' ')
            q++;
        if (!strncmp(q, "- ", 2))
            q += 2;
        if (strncmp(q, key, kl) != 0 || q[kl] != ' ')
            continue;
        q += kl;
        while (*q == ' ')
            q++;
        if (!strncmp(q, value, strlen(value)))
            return true;
    }
    return false;
}

static void to_hex(const uint8_t *rec, size_t n, char *hex) { pu_hex_encode(rec, n, hex); }

/* Every op code: sample message -> encoder -> hex -> `opret decode`. */
static void test_decode_every_op_code(void)
{
    static const char field_of[9][24] = {"", "dataset_name", "ranked", "min_task_fee",
                                         "subject_hash", "train_accuracy_ppm", "end_model_hash",
                                         "to_supervisors", "mempool_bytes"};
    pu_opret_codec *c;
    CU_ASSERT_FATAL(pu_opret_codec_new(&c) == PU_OK);
    for (uint8_t op = 1; op <= PU_OPRET_OP_COUNT; op++) {
        pu_opret_msg m;
        uint8_t rec[PU_OPRET_SIZE];
        char hex[2 * PU_OPRET_SIZE + 1];
        CU_ASSERT_FATAL(pu_opret_sample(99, op, 3, &m) == PU_OK);
        CU_ASSERT_FATAL(pu_opret_encode(c, &m, rec) == PU_OK);
        to_hex(rec, sizeof rec, hex);
        const char *argv[] = {"decode", hex};
        run_out r = run(NULL, 2, argv);
        CU_ASSERT_EQUAL(r.status, 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(r.out, pu_opret_op_name(op)));
        CU_ASSERT(field_is(r.out, "status", "0 ok"));
        CU_ASSERT_PTR_NOT_NULL(strstr(r.out, field_of[op]));
        done(&r);
        const char *jargv[] = {"decode", "--json", hex};
        r = run(NULL, 3, jargv);
        CU_ASSERT_EQUAL(r.status, 0);
        char want[64];
        snprintf(want, sizeof want, "\"op\": %u,", op);
        CU_ASSERT_PTR_NOT_NULL(strstr(r.out, want));
        CU_ASSERT(r.out_len > 2 && r.out[0] == '{' && r.out[r.out_len - 2] == '}');
        done(&r);
    }
    /* A known value: a registration's stake, in coins and base units. */
    pu_opret_msg m;
    uint8_t rec[PU_OPRET_SIZE];
    char hex[2 * PU_OPRET_SIZE + 1];
    pu_opret_msg_init(&m, PU_OPRET_WORKER_REGISTRATION);
    m.reg.role = PU_OPRET_ROLE_EVALUATOR;
    m.reg.stake = 250000000;
    m.timestamp = 4242;
    CU_ASSERT_FATAL(pu_opret_encode(c, &m, rec) == PU_OK);
    to_hex(rec, sizeof rec, hex);
    const char *argv[] = {"decode", hex};
    run_out r = run(NULL, 2, argv);
    CU_ASSERT(field_is(r.out, "role", "3 evaluator"));
    CU_ASSERT(field_is(r.out, "stake", "2.5 coin"));
    CU_ASSERT(field_is(r.out, "timestamp", "4242"));
    done(&r);
    const char *jargv[] = {"decode", "--json", hex};
    r = run(NULL, 3, jargv);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "\"stake\": 250000000,"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "\"role_name\": \"evaluator\""));
    done(&r);
    pu_opret_codec_free(c);
}

static void seal(uint8_t rec[PU_OPRET_SIZE]) { pu_put_be32(rec + 156, pu_crc32(rec, 156)); }

/* Runs decode on rec (len bytes) and checks exit 2 and the status number. */
static void expect_status(const uint8_t *rec, size_t len, pu_opret_status want)
{
    char hex[2 * 200 + 1];
    to_hex(rec, len, hex);
    const char *argv[] = {"decode", "--json", hex};
    run_out r = run(NULL, 3, argv);
    CU_ASSERT_EQUAL(r.status, want == PU_OPRET_OK ? 0 : 2);
    char s[48];
    snprintf(s, sizeof s, "\"status\": %d,", (int)want);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, s));
    if (!strstr(r.out, s))
        fprintf(stderr, "want status %d, got:\n%s\n", (int)want, r.out);
    done(&r);
}

/* One record per refusal status, each exit 2 with its own status. */
static void test_each_refusal(void)
{
    pu_opret_codec *c;
    CU_ASSERT_FATAL(pu_opret_codec_new(&c) == PU_OK);
    pu_opret_msg m;
    uint8_t good[PU_OPRET_SIZE], rec[PU_OPRET_SIZE + 1];
    CU_ASSERT_FATAL(pu_opret_sample(5, PU_OPRET_NETWORK_STATE, 0, &m) == PU_OK);
    CU_ASSERT_FATAL(pu_opret_encode(c, &m, good) == PU_OK);
    CU_ASSERT_FATAL(!(good[58] & 0x80)); /* random-looking prefixes: stored */
    uint32_t L = good[58];
    expect_status(good, PU_OPRET_SIZE, PU_OPRET_OK);
    expect_status(good, 159, PU_OPRET_E_LENGTH);
    memcpy(rec, good, PU_OPRET_SIZE);
    rec[7] ^= 1;
    expect_status(rec, PU_OPRET_SIZE, PU_OPRET_E_CRC);
    memcpy(rec, good, PU_OPRET_SIZE);
    rec[0] = 2;
    seal(rec);
    expect_status(rec, PU_OPRET_SIZE, PU_OPRET_E_VERSION);
    memcpy(rec, good, PU_OPRET_SIZE);
    rec[1] = 9;
    seal(rec);
    expect_status(rec, PU_OPRET_SIZE, PU_OPRET_E_OPCODE);
    memcpy(rec, good, PU_OPRET_SIZE);
    rec[58] = 0x7f;
    seal(rec);
    expect_status(rec, PU_OPRET_SIZE, PU_OPRET_E_HEADER);
    memcpy(rec, good, PU_OPRET_SIZE);
    rec[58 + 1 + L + 3] = 1;
    seal(rec);
    expect_status(rec, PU_OPRET_SIZE, PU_OPRET_E_PADDING);
    memcpy(rec, good, PU_OPRET_SIZE);
    rec[58] |= 0x80; /* stored bytes read as a zstd block */
    seal(rec);
    expect_status(rec, PU_OPRET_SIZE, PU_OPRET_E_DECOMPRESS);
    /* RLE literals, 200 copies, no sequences: a 4-byte block that expands
     * past the 160 bytes the decoder takes */
    memcpy(rec, good, PU_OPRET_SIZE);
    memset(rec + 58, 0, 98);
    rec[58] = 0x80 | 4;
    rec[59] = 0x01 | 0x04 | (200 & 15) << 4;
    rec[60] = 200 >> 4;
    seal(rec);
    expect_status(rec, PU_OPRET_SIZE, PU_OPRET_E_OVERRUN);
    memcpy(rec, good, PU_OPRET_SIZE);
    rec[58] = (uint8_t)(L - 1);
    rec[58 + 1 + L - 1] = 0;
    seal(rec);
    expect_status(rec, PU_OPRET_SIZE, PU_OPRET_E_TRUNCATED);
    memcpy(rec, good, PU_OPRET_SIZE);
    rec[58] = (uint8_t)(L + 1);
    rec[58 + 1 + L] = 7;
    seal(rec);
    expect_status(rec, PU_OPRET_SIZE, PU_OPRET_E_TRAILING);
    /* outcome 1 -> 9 in a canonical VERIFICATION_PROOF payload, stored */
    pu_opret_msg_init(&m, PU_OPRET_VERIFICATION_PROOF);
    m.proof.outcome = 1;
    uint8_t raw[PU_OPRET_RAW_MAX];
    size_t rl;
    CU_ASSERT_FATAL(pu_opret_payload_encode(&m, raw, &rl) == PU_OK);
    raw[12] = 9; /* height 4 | block_hash 8 | outcome */
    memset(rec + 58, 0, 98);
    rec[1] = PU_OPRET_VERIFICATION_PROOF;
    rec[58] = (uint8_t)rl;
    memcpy(rec + 59, raw, rl);
    seal(rec);
    expect_status(rec, PU_OPRET_SIZE, PU_OPRET_E_FIELD);
    memcpy(rec, good, PU_OPRET_SIZE);
    memset(rec + 58, 0, 98);
    rec[58] = 0x78;
    rec[59] = 0xda;
    seal(rec);
    expect_status(rec, PU_OPRET_SIZE, PU_OPRET_E_ZLIB);
    pu_opret_codec_free(c);
    /* a line longer than any record on stdin is refused, not split */
    char *longline = malloc(6002);
    CU_ASSERT_FATAL(longline != NULL);
    memset(longline, '0', 6000);
    longline[6000] = '\n';
    longline[6001] = '\0';
    const char *dash[] = {"decode", "-"};
    run_out lr = run(longline, 2, dash);
    CU_ASSERT_EQUAL(lr.status, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(lr.err, "longer than"));
    CU_ASSERT_EQUAL(lr.out_len, 0);
    done(&lr);
    free(longline);
    /* bad hex is a usage error, exit 2, message on stderr */
    const char *argv[] = {"decode", "0a1"};
    run_out r = run(NULL, 2, argv);
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "hex"));
    done(&r);
}

/* encode -> decode through the command line, with units and names. */
static void test_encode_round_trip(void)
{
    const char *enc[] = {"encode", "task_submission", "timestamp=99",
                         "task_id=00000000000000000000000000000000000000000000000000000000000000ff",
                         "fee=10", "min_stake=1.5coin", "min_accuracy_ppm=850000",
                         "max_iterations=100", "batch_size=64", "learning_rate_ppm=300000",
                         "required_miners=2", "registration_blocks=10", "activation=relu",
                         "layers=784,128,64,10", "dataset_size=70000",
                         "dataset_name=fashion-mnist"};
    run_out r = run(NULL, (int)(sizeof enc / sizeof enc[0]), enc);
    CU_ASSERT_EQUAL_FATAL(r.status, 0);
    CU_ASSERT_EQUAL(r.out_len, 2 * PU_OPRET_SIZE + 1);
    char hex[2 * PU_OPRET_SIZE + 1];
    snprintf(hex, sizeof hex, "%.*s", (int)(2 * PU_OPRET_SIZE), r.out);
    done(&r);
    /* the task id hash is SHA-256 of the raw id bytes */
    pu_crypto *cr;
    CU_ASSERT_FATAL(pu_crypto_new(&cr) == PU_OK);
    pu_hash32 id, h;
    memset(&id, 0, sizeof id);
    id.b[31] = 0xff;
    pu_sha256(cr, id.b, 32, &h);
    char hh[65];
    pu_hash_hex(&h, hh);
    pu_crypto_free(cr);
    const char *dec[] = {"decode", hex};
    r = run(NULL, 2, dec);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, hh));
    CU_ASSERT(field_is(r.out, "min_stake", "1.5 coin"));
    CU_ASSERT(field_is(r.out, "min_accuracy_ppm", "850000 (0.85)"));
    CU_ASSERT(field_is(r.out, "activation", "1 relu"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "- 128\n"));
    CU_ASSERT(field_is(r.out, "dataset_name", "fashion-mnist"));
    done(&r);
    const char *res[] = {"encode", "2", "model_hash=0102030405060708", "test_samples=1000",
                         "ranked=1:912000,0:850000"};
    r = run(NULL, 5, res);
    CU_ASSERT_EQUAL_FATAL(r.status, 0);
    snprintf(hex, sizeof hex, "%.*s", (int)(2 * PU_OPRET_SIZE), r.out);
    done(&r);
    const char *dec2[] = {"decode", "--json", hex};
    r = run(NULL, 3, dec2);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "\"miner_index\": 1,\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "\"accuracy_ppm\": 850000\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "\"model_hash\": \"0102030405060708\""));
    done(&r);
    /* refusals: unknown field, bad value, domain */
    const char *bad1[] = {"encode", "network_state", "colour=red"};
    r = run(NULL, 3, bad1);
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "no field 'colour'"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "mempool_txs"));
    done(&r);
    const char *bad2[] = {"encode", "worker_registration", "role=pilot"};
    r = run(NULL, 3, bad2);
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "role"));
    done(&r);
    const char *bad3[] = {"encode", "worker_registration"}; /* role 0 */
    r = run(NULL, 2, bad3);
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "outside its domain"));
    done(&r);
    const char *bad4[] = {"encode", "frobnicate"};
    r = run(NULL, 2, bad4);
    CU_ASSERT_EQUAL(r.status, 2);
    done(&r);
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "r");
    CU_ASSERT_FATAL(f != NULL);
    char *buf = calloc(1, 8192);
    CU_ASSERT_FATAL(buf != NULL);
    size_t n = fread(buf, 1, 8191, f);
    CU_ASSERT(n > 0);
    fclose(f);
    return buf;
}

/* The Python implementation's records: refused as another codec by the
 * default decoder, read with --compat pouw-py. */
static void test_python_records(void)
{
    char *fx = read_all("tests/data/pouwpy/records.hex");
    const char *plain[] = {"decode", "-"};
    run_out r = run(fx, 2, plain);
    CU_ASSERT_EQUAL(r.status, 2);
    size_t n = 0;
    for (const char *p = r.out; (p = strstr(p, " 12 payload is a zlib stream")); p++)
        n++;
    CU_ASSERT_EQUAL(n, 10);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "--compat pouw-py"));
    CU_ASSERT_PTR_NULL(strstr(r.out, "payload length out of range"));
    done(&r);
    const char *compat[] = {"decode", "--compat", "pouw-py", "-"};
    r = run(fx, 4, compat);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT(field_is(r.out, "status", "1 stream cut by the producer"));
    CU_ASSERT(field_is(r.out, "payload_text", "{\"model_type\":\"cnn\""));
    CU_ASSERT(field_is(r.out, "last_byte_zero", "yes"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "{\"role\":\"miner\",\"stake_amount\":100.0"));
    done(&r);
    free(fx);
    /* a pouwsim record under --compat is not zlib: exit 2 */
    const char *own[] = {"decode", "--compat", "pouw-py",
                         "0108000000000000000000000000000000000000000000000000000000000000000000"
                         "0000000000000000000000000000000000000000000000000000000000000000000000"
                         "0000000000000000000000000000000000000000000000000000000000000000000000"
                         "0000000000000000000000000000000000000000000000000000000000000000000000"
                         "000000000000000000000000000000000000000000"};
    r = run(NULL, 4, own);
    CU_ASSERT_EQUAL(r.status, 2);
    done(&r);
    const char *badc[] = {"decode", "--compat", "bitcoin", "00"};
    r = run(NULL, 4, badc);
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "pouw-py"));
    done(&r);
}

TSUITE(cmd_opret)
{
    CU_pSuite s = CU_add_suite("cmd_opret", NULL, NULL);
    if (!s)
        return CU_get_error();
    TADD(s, test_decode_every_op_code);
    TADD(s, test_each_refusal);
    TADD(s, test_encode_round_trip);
    TADD(s, test_python_records);
    return CUE_SUCCESS;
}
