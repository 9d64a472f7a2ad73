/* tests/sim/test_cmd_chain.c -- `pouwsim chain` on the database of a real
 * pouw-quick run: summary, blocks, block, tx with its OP_RETURN, balance,
 * and verify on the good database and on copies damaged three ways (a
 * flipped byte, a block whose transactions were reordered under the same
 * header, a missing UTXO row), each failure named. */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "core/block.h"
#include "core/crypto.h"
#include "sim/cmd_chain.h"
#include "tests/harness.h"
#include "tests/simutil.h"

typedef struct run_out {
    int status;
    char *out, *err;
    size_t out_len, err_len;
} run_out;

static run_out chain(const char *db, const char *a1, const char *a2, const char *a3)
{
    const char *argv[5] = {db, a1, a2, a3, NULL};
    int argc = 1 + (a1 != NULL) + (a2 != NULL) + (a3 != NULL);
    run_out r;
    memset(&r, 0, sizeof r);
    FILE *o = open_memstream(&r.out, &r.out_len);
    FILE *e = open_memstream(&r.err, &r.err_len);
    CU_ASSERT_FATAL(o && e);
    r.status = sim_cmd_chain(argc, (char **)argv, o, e);
    fclose(o);
    fclose(e);
    return r;
}

static void done(run_out *r)
{
    free(r->out);
    free(r->err);
}

static char db_path[512];

/* One pouw-quick run with node 0's database, shared by the tests. */
static int suite_init(void)
{
    FILE *f = fopen("scenarios/pouw-quick.yaml", "r");
    if (!f)
        return -1;
    char *yaml = calloc(1, 16384);
    size_t n = yaml ? fread(yaml, 1, 16383, f) : 0;
    fclose(f);
    if (!n) {
        free(yaml);
        return -1;
    }
    sim_params p;
    sim_summary sum;
    sim_ctx *ctx = su_run_db(yaml, NULL, "chain.sqlite", &p, &sum);
    free(yaml);
    if (!ctx)
        return -1;
    sim_free(ctx);
    sim_params_release(&p);
    th_path(db_path, sizeof db_path, "chain.sqlite");
    return 0;
}

/* A copy of the database to damage (the WAL was checkpointed at close). */
static void copy_db(const char *name, char *out, size_t n)
{
    th_path(out, n, name);
    sqlite3 *src, *dst;
    CU_ASSERT_FATAL(sqlite3_open_v2(db_path, &src, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK);
    remove(out);
    CU_ASSERT_FATAL(sqlite3_open(out, &dst) == SQLITE_OK);
    sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
    CU_ASSERT_FATAL(b != NULL);
    CU_ASSERT_EQUAL(sqlite3_backup_step(b, -1), SQLITE_DONE);
    sqlite3_backup_finish(b);
    sqlite3_close(src);
    sqlite3_close(dst);
}

/* The JSON value of "key": after the first occurrence, as text up to , or newline. */
static void json_value(const char *doc, const char *key, char *out, size_t n)
{
    char pat[80];
    snprintf(pat, sizeof pat, "\"%s\": ", key);
    const char *p = strstr(doc, pat);
    out[0] = '\0';
    if (!p)
        return;
    p += strlen(pat);
    if (*p == '"')
        p++;
    size_t k = strcspn(p, "\",\n");
    snprintf(out, n, "%.*s", (int)(k < n - 1 ? k : n - 1), p);
}

static void test_summary_and_blocks(void)
{
    run_out r = chain(db_path, "summary", "--json", NULL);
    CU_ASSERT_EQUAL(r.status, 0);
    char v[128];
    json_value(r.out, "scenario", v, sizeof v);
    CU_ASSERT_STRING_EQUAL(v, "pouw-quick");
    json_value(r.out, "consensus", v, sizeof v);
    CU_ASSERT_STRING_EQUAL(v, "pouw");
    json_value(r.out, "height", v, sizeof v);
    uint32_t height = (uint32_t)strtoul(v, NULL, 10);
    CU_ASSERT(height >= 10);
    json_value(r.out, "blocks_active", v, sizeof v);
    CU_ASSERT_EQUAL(strtoul(v, NULL, 10), height + 1);
    json_value(r.out, "pouw_blocks_active", v, sizeof v);
    CU_ASSERT(strtoul(v, NULL, 10) >= 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "\"PAY_FOR_TASK\": 1"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "\"block_reward\": 1250000000"));
    done(&r);
    /* text: the same facts, aligned */
    r = chain(db_path, NULL, NULL, NULL);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "scenario                  pouw-quick\n"));
    done(&r);
    /* blocks: heights 2..4, one line each plus the title */
    r = chain(db_path, "blocks", "--from", "2");
    CU_ASSERT_EQUAL(r.status, 0);
    done(&r);
    const char *argv[] = {db_path, "blocks", "--from", "2", "--to", "4"};
    r.out = NULL;
    FILE *o = open_memstream(&r.out, &r.out_len);
    FILE *e = fopen("/dev/null", "w");
    CU_ASSERT_EQUAL(sim_cmd_chain(6, (char **)argv, o, e), 0);
    fclose(o);
    fclose(e);
    size_t lines = 0;
    for (const char *p = r.out; *p; p++)
        lines += *p == '\n';
    CU_ASSERT_EQUAL(lines, 4);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "\n      2  "));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "\n      4  "));
    free(r.out);
}

/* block by height and by hash prefix; a BUY_TICKETS transaction with its
 * WORKER_REGISTRATION record decoded; the balance of its owner. */
static void test_block_tx_balance(void)
{
    char hash[80], txid[80] = "", v[128];
    run_out r = chain(db_path, "block", "1", "--json");
    CU_ASSERT_EQUAL(r.status, 0);
    json_value(r.out, "hash", hash, sizeof hash);
    CU_ASSERT_EQUAL(strlen(hash), 64);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "\"kind\": \"COINBASE\""));
    done(&r);
    char prefix[16];
    snprintf(prefix, sizeof prefix, "%.10s", hash);
    r = chain(db_path, "block", prefix, "--json");
    CU_ASSERT_EQUAL(r.status, 0);
    json_value(r.out, "height", v, sizeof v);
    CU_ASSERT_STRING_EQUAL(v, "1");
    done(&r);
    /* the first block holding tickets */
    for (int h = 1; h < 12 && !txid[0]; h++) {
        char hs[16];
        snprintf(hs, sizeof hs, "%d", h);
        r = chain(db_path, "block", hs, "--json");
        const char *k = strstr(r.out, "\"kind\": \"BUY_TICKETS\"");
        if (k) {
            const char *t = k;
            while (t > r.out && strncmp(t, "\"txid\": \"", 9) != 0)
                t--;
            snprintf(txid, sizeof txid, "%.64s", t + 9);
        }
        done(&r);
    }
    CU_ASSERT_EQUAL_FATAL(strlen(txid), 64);
    r = chain(db_path, "tx", txid, "--json");
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "\"op_name\": \"WORKER_REGISTRATION\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "\"status\": 0,"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "\"role_name\": \"miner\""));
    json_value(r.out, "locked", v, sizeof v);
    CU_ASSERT_STRING_EQUAL(v, "100000000"); /* pouw-quick's stake: 1 coin */
    json_value(r.out, "fee", v, sizeof v);
    CU_ASSERT(strtoll(v, NULL, 10) > 0);
    char addr[64];
    const char *outs = strstr(r.out, "\"outputs\"");
    CU_ASSERT_FATAL(outs != NULL);
    json_value(outs, "address", addr, sizeof addr);
    CU_ASSERT_EQUAL(strlen(addr), 40);
    done(&r);
    r = chain(db_path, "balance", addr, "--json");
    CU_ASSERT_EQUAL(r.status, 0);
    json_value(r.out, "coins_total", v, sizeof v);
    CU_ASSERT(strtoul(v, NULL, 10) >= 1);
    done(&r);
    /* not there */
    r = chain(db_path, "tx", "00000000000000000000000000000000000000000000000000000000000000aa", NULL);
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.err, "no stored block"));
    done(&r);
    r = chain(db_path, "block", "99999", NULL);
    CU_ASSERT_EQUAL(r.status, 2);
    done(&r);
    r = chain(db_path, "frobnicate", NULL, NULL);
    CU_ASSERT_EQUAL(r.status, 2);
    done(&r);
    char missing[512];
    th_path(missing, sizeof missing, "no-such.sqlite");
    r = chain(missing, NULL, NULL, NULL);
    CU_ASSERT_EQUAL(r.status, 2);
    done(&r);
    FILE *f = fopen(missing, "r");
    CU_ASSERT_PTR_NULL(f); /* read-only: never created */
    if (f)
        fclose(f);
}

static void test_verify_good(void)
{
    run_out r = chain(db_path, "verify", "--json", NULL);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "\"valid\": true"));
    char v[64], w[64];
    json_value(r.out, "pouw_blocks", v, sizeof v);
    json_value(r.out, "pouw_not_reexecuted", w, sizeof w);
    CU_ASSERT(strtoul(v, NULL, 10) >= 1);
    CU_ASSERT_STRING_EQUAL(v, w); /* no model states in a database */
    done(&r);
}

static void exec_sql(const char *path, const char *sql)
{
    sqlite3 *db;
    CU_ASSERT_FATAL(sqlite3_open(path, &db) == SQLITE_OK);
    char *msg = NULL;
    CU_ASSERT_EQUAL(sqlite3_exec(db, sql, NULL, NULL, &msg), SQLITE_OK);
    if (msg)
        fprintf(stderr, "%s\n", msg);
    sqlite3_free(msg);
    sqlite3_close(db);
}

/* Reads the data of the block at `height` of the active chain (heights are
 * unique in a pouw-quick database: no side branches at node 0 is not
 * assumed, the hash comes from `chain block`). */
static size_t block_data(const char *path, const char *hash, uint8_t **out)
{
    sqlite3 *db;
    sqlite3_stmt *s;
    CU_ASSERT_FATAL(sqlite3_open(path, &db) == SQLITE_OK);
    CU_ASSERT_FATAL(sqlite3_prepare_v2(db, "SELECT data FROM blocks WHERE hash = ?1", -1, &s, NULL)
                    == SQLITE_OK);
    sqlite3_bind_text(s, 1, hash, -1, SQLITE_STATIC);
    CU_ASSERT_FATAL(sqlite3_step(s) == SQLITE_ROW);
    size_t n = (size_t)sqlite3_column_bytes(s, 0);
    *out = malloc(n);
    memcpy(*out, sqlite3_column_blob(s, 0), n);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return n;
}

static void put_block_data(const char *path, const char *hash, const uint8_t *data, size_t n)
{
    sqlite3 *db;
    sqlite3_stmt *s;
    CU_ASSERT_FATAL(sqlite3_open(path, &db) == SQLITE_OK);
    CU_ASSERT_FATAL(sqlite3_prepare_v2(db, "UPDATE blocks SET data = ?1 WHERE hash = ?2", -1, &s,
                                       NULL) == SQLITE_OK);
    sqlite3_bind_blob(s, 1, data, (int)n, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, hash, -1, SQLITE_STATIC);
    CU_ASSERT_EQUAL(sqlite3_step(s), SQLITE_DONE);
    CU_ASSERT_EQUAL(sqlite3_changes(db), 1);
    sqlite3_finalize(s);
    sqlite3_close(db);
}

/* The active block at a height with at least three transactions. */
static int busy_block(char *hash, size_t n)
{
    for (int h = 2; h < 30; h++) {
        char hs[16], v[16];
        snprintf(hs, sizeof hs, "%d", h);
        run_out r = chain(db_path, "block", hs, "--json");
        json_value(r.out, "hash", hash, n);
        size_t txs = 0;
        for (const char *p = r.out; (p = strstr(p, "\"txid\"")); p++)
            txs++;
        json_value(r.out, "height", v, sizeof v);
        done(&r);
        if (txs >= 3)
            return h;
    }
    return -1;
}

static void expect_failure(const char *path, const char *needle1, const char *needle2)
{
    run_out r = chain(path, "verify", "--json", NULL);
    CU_ASSERT_EQUAL(r.status, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "\"valid\": false"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, needle1));
    if (needle2)
        CU_ASSERT_PTR_NOT_NULL(strstr(r.out, needle2));
    if (!strstr(r.out, needle1) || (needle2 && !strstr(r.out, needle2)))
        fprintf(stderr, "verify said:\n%s", r.out);
    done(&r);
}

/* Damaged copies: each verify fails and names the first failure. */
static void test_verify_damaged(void)
{
    char hash[80], path[512];
    int h = busy_block(hash, sizeof hash);
    CU_ASSERT_FATAL(h > 0);
    char seqh[64];
    snprintf(seqh, sizeof seqh, "height %d)", h);
    /* 1: one flipped byte inside a transaction */
    copy_db("flip.sqlite", path, sizeof path);
    uint8_t *data;
    size_t n = block_data(path, hash, &data);
    data[n / 2] ^= 0x01;
    put_block_data(path, hash, data, n);
    free(data);
    expect_failure(path, hash, NULL);
    /* 2: the same header over reordered transactions: the row still hashes
     * to its key, and validation refuses it (merkle root) */
    copy_db("merkle.sqlite", path, sizeof path);
    n = block_data(path, hash, &data);
    pu_crypto *c;
    CU_ASSERT_FATAL(pu_crypto_new(&c) == PU_OK);
    pu_block *b, *d;
    pu_reason why;
    CU_ASSERT_FATAL(pu_block_parse(c, data, n, &b, &why) == PU_OK);
    free(data);
    CU_ASSERT_FATAL(pu_block_new(pu_block_header(b), &d) == PU_OK);
    uint32_t nt = pu_block_n_tx(b);
    for (uint32_t i = 0; i < nt; i++) /* swap the last two */
        CU_ASSERT_FATAL(pu_block_add_tx(d, pu_block_tx(b, i + 1 == nt ? nt - 2 : i + 2 == nt ? nt - 1 : i))
                        == PU_OK);
    uint32_t plen;
    const uint8_t *proof = pu_block_proof(b, &plen);
    CU_ASSERT_FATAL(pu_block_set_proof(d, proof, plen) == PU_OK);
    CU_ASSERT_FATAL(pu_block_finalize(c, d) == PU_OK);
    char dh[65];
    pu_hash_hex(pu_block_hash(d), dh);
    CU_ASSERT_STRING_EQUAL(dh, hash);
    CU_ASSERT_FATAL(pu_block_serialize(d, &data, &n) == PU_OK);
    put_block_data(path, hash, data, n);
    free(data);
    pu_block_unref(b);
    pu_block_unref(d);
    pu_crypto_free(c);
    expect_failure(path, hash, "bad-merkle-root");
    expect_failure(path, seqh, NULL);
    /* 3: a UTXO row gone */
    copy_db("utxo.sqlite", path, sizeof path);
    exec_sql(path, "DELETE FROM utxos WHERE key = (SELECT MIN(key) FROM utxos)");
    expect_failure(path, "utxos: no row for", NULL);
}

TSUITE(cmd_chain)
{
    CU_pSuite s = CU_add_suite("cmd_chain", suite_init, NULL);
    if (!s)
        return CU_get_error();
    TADD(s, test_summary_and_blocks);
    TADD(s, test_block_tx_balance);
    TADD(s, test_verify_good);
    TADD(s, test_verify_damaged);
    return CUE_SUCCESS;
}
