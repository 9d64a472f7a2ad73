/* tests/core/test_store.c -- SQLite persistence: round trips of long chains
 * and reorganisations, damaged rows reported by name, folding of side
 * branches, pruning of invalid blocks, sticky callback failures, and a
 * process killed mid-stream (fork + SIGKILL) leaving a loadable file. */
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/bytes.h"
#include "core/store.h"
#include "tests/harness.h"
#include "tests/testutil.h"

static tu_env E;
static int setup(void) { return tu_env_init(&E); }
static int teardown(void) { tu_env_release(&E); return 0; }

#define FEE (PU_COIN / 1000)
#define ERRLEN 512

/* Reloads verify everything themselves: no shared caches. */
static pu_chain_opts load_opts(void)
{
    pu_chain_opts o = {&E.params, E.crypto, NULL, NULL, NULL};
    return o;
}

static pu_store *open_store(const char *path)
{
    pu_store *st = NULL;
    char err[ERRLEN] = "";
    pu_err rc = pu_store_open(path, &st, err, sizeof err);
    if (rc != PU_OK)
        fprintf(stderr, "\n%s\n", err);
    CU_ASSERT_FATAL(rc == PU_OK && st != NULL);
    return st;
}

/* A fresh chain on E's genesis with a new store attached at path. */
static pu_chain *attached_chain(const char *path, pu_store **st)
{
    char err[ERRLEN] = "";
    pu_chain *ch = tu_chain(&E, false);
    CU_ASSERT_FATAL(ch != NULL);
    *st = open_store(path);
    pu_err rc = pu_store_attach(*st, ch, err, sizeof err);
    if (rc != PU_OK)
        fprintf(stderr, "\n%s\n", err);
    CU_ASSERT_FATAL(rc == PU_OK);
    return ch;
}

/* Mines n blocks on ch's tip, a payment in every third when pay is set. */
static void grow(pu_chain *ch, uint32_t n, bool pay, int miner, uint64_t t0)
{
    for (uint32_t i = 0; i < n; i++) {
        uint32_t h = pu_chain_height(ch) + 1;
        pu_tx *tx = NULL;
        if (pay && h % 3 == 0) {
            tx = tu_pay(&E, ch, (int)(h % TU_WALLETS), &E.w[(h + 5) % TU_WALLETS].addr,
                        PU_COIN + h, FEE);
            CU_ASSERT_FATAL(tx != NULL);
        }
        CU_ASSERT_EQUAL_FATAL(tu_mine_add(&E, ch, &tx, tx ? 1 : 0, (miner + (int)h) % TU_WALLETS,
                                          t0 + h, NULL), PU_R_OK);
        pu_tx_unref(tx);
    }
}

/* Opens path, rebuilds the chain, closes the store (detaching it). */
static pu_err reload(const char *path, pu_chain **ch, char *err, size_t n)
{
    pu_store *st = NULL;
    pu_chain_opts o = load_opts();
    pu_err rc = pu_store_open(path, &st, err, n);
    if (rc != PU_OK)
        return rc;
    rc = pu_store_load(st, &o, E.genesis, ch, err, n);
    pu_store_close(st);
    return rc;
}

/* A database at path holding n blocks (payments included); the chain's
 * tip and UTXO digest are returned when asked for. */
static void build_db(const char *path, uint32_t n, pu_hash32 *tip, pu_hash32 *digest)
{
    pu_store *st;
    pu_chain *ch = attached_chain(path, &st);
    grow(ch, n, true, 0, 1000);
    if (tip)
        *tip = *pu_chain_tip_hash(ch);
    if (digest)
        CU_ASSERT_FATAL(pu_utxo_digest(E.crypto, pu_chain_utxo(ch), digest) == PU_OK);
    CU_ASSERT_EQUAL(pu_store_status(st, NULL, 0), PU_OK);
    pu_store_close(st);
    pu_chain_free(ch);
}

/* ---- direct SQL on a closed store file ---------------------------------- */

static void sql_do(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    char *emsg = NULL;
    CU_ASSERT_FATAL(sqlite3_open(path, &db) == SQLITE_OK);
    int rc = sqlite3_exec(db, sql, NULL, NULL, &emsg);
    if (rc != SQLITE_OK)
        fprintf(stderr, "\nsql_do(%s): %s\n", sql, emsg);
    sqlite3_free(emsg);
    sqlite3_close(db);
    CU_ASSERT_FATAL(rc == SQLITE_OK);
}

static int64_t sql_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    CU_ASSERT_FATAL(sqlite3_open(path, &db) == SQLITE_OK);
    CU_ASSERT_FATAL(sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK);
    int64_t v = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
}

/* Flips one byte of the first stored block at `height` (offset counted from
 * the start, or from the end when negative); its hash goes to hash_out. */
static void flip_block_byte(const char *path, uint32_t height, long offset, char hash_out[65])
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    CU_ASSERT_FATAL(sqlite3_open(path, &db) == SQLITE_OK);
    const char *sel = "SELECT hash, data FROM blocks WHERE height = ?1 ORDER BY seq";
    CU_ASSERT_FATAL(sqlite3_prepare_v2(db, sel, -1, &s, NULL) == SQLITE_OK);
    sqlite3_bind_int64(s, 1, height);
    CU_ASSERT_FATAL(sqlite3_step(s) == SQLITE_ROW);
    snprintf(hash_out, 65, "%s", (const char *)sqlite3_column_text(s, 0));
    size_t len = (size_t)sqlite3_column_bytes(s, 1);
    uint8_t *buf = malloc(len);
    CU_ASSERT_FATAL(buf != NULL);
    memcpy(buf, sqlite3_column_blob(s, 1), len);
    sqlite3_finalize(s);
    size_t at = offset < 0 ? len - (size_t)(-offset) : (size_t)offset;
    buf[at] ^= 0x01;
    const char *upd = "UPDATE blocks SET data = ?1 WHERE hash = ?2";
    CU_ASSERT_FATAL(sqlite3_prepare_v2(db, upd, -1, &s, NULL) == SQLITE_OK);
    sqlite3_bind_blob(s, 1, buf, (int)len, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, hash_out, -1, SQLITE_STATIC);
    CU_ASSERT_FATAL(sqlite3_step(s) == SQLITE_DONE);
    CU_ASSERT_EQUAL(sqlite3_changes(db), 1);
    sqlite3_finalize(s);
    sqlite3_close(db);
    free(buf);
}

/* Expects the load of path to fail with PU_ERR_DB, *out cleared, and a
 * message naming the file and holding both fragments (NULL: no check). */
static void expect_load_error(const char *path, const char *frag1, const char *frag2)
{
    pu_chain *ch = (pu_chain *)&ch; /* must be reset to NULL */
    char err[ERRLEN] = "";
    CU_ASSERT_EQUAL(reload(path, &ch, err, sizeof err), PU_ERR_DB);
    CU_ASSERT_PTR_NULL(ch);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, path));
    CU_ASSERT_PTR_NOT_NULL(frag1 ? strstr(err, frag1) : err);
    CU_ASSERT_PTR_NOT_NULL(frag2 ? strstr(err, frag2) : err);
    if (frag1 && (!strstr(err, frag1) || (frag2 && !strstr(err, frag2))))
        fprintf(stderr, "\nunexpected message: %s\n", err);
    if (ch && ch != (pu_chain *)&ch)
        pu_chain_free(ch);
}

/* ---- tests ------------------------------------------------------------------ */

static void test_thousand_blocks_roundtrip(void)
{
    char path[256], err[ERRLEN] = "";
    th_path(path, sizeof path, "thousand.db");
    pu_store *st;
    pu_chain *ch = attached_chain(path, &st);
    grow(ch, 1000, true, 0, 1000);
    CU_ASSERT_EQUAL_FATAL(pu_chain_height(ch), 1000);
    CU_ASSERT_EQUAL(pu_store_status(st, err, sizeof err), PU_OK);
    pu_store_stats s;
    pu_store_get_stats(st, &s);
    CU_ASSERT_EQUAL(s.commits, 1001);  /* the attach, then one per tip update */
    CU_ASSERT_EQUAL(s.blocks, 1001);
    CU_ASSERT_EQUAL(s.pruned, 0);
    CU_ASSERT(s.utxo_dels >= 333);     /* every payment spends at least one coin */
    pu_hash32 tip = *pu_chain_tip_hash(ch), digest, digest2;
    CU_ASSERT_FATAL(pu_utxo_digest(E.crypto, pu_chain_utxo(ch), &digest) == PU_OK);
    pu_amount bal[TU_WALLETS];
    for (int i = 0; i < TU_WALLETS; i++)
        bal[i] = pu_chain_balance(ch, &E.w[i].addr);
    size_t coins = pu_utxo_count(pu_chain_utxo(ch));
    pu_store_close(st);
    pu_chain_free(ch);

    CU_ASSERT_EQUAL(sql_int(path, "SELECT COUNT(*) FROM blocks"), 1001);
    CU_ASSERT_EQUAL(sql_int(path, "SELECT COUNT(*) FROM utxos"), (int64_t)coins);
    CU_ASSERT_EQUAL(sql_int(path, "SELECT value FROM meta WHERE key = 'tip_height'"), 1000);
    CU_ASSERT_EQUAL(sql_int(path, "SELECT COUNT(*) FROM utxos WHERE length(data) != 33"), 0);

    ch = NULL;
    pu_err rc = reload(path, &ch, err, sizeof err);
    if (rc != PU_OK)
        fprintf(stderr, "\n%s\n", err);
    CU_ASSERT_FATAL(rc == PU_OK && ch);
    CU_ASSERT_EQUAL(pu_chain_height(ch), 1000);
    CU_ASSERT_TRUE(pu_hash_eq(pu_chain_tip_hash(ch), &tip));
    CU_ASSERT_FATAL(pu_utxo_digest(E.crypto, pu_chain_utxo(ch), &digest2) == PU_OK);
    CU_ASSERT_TRUE(pu_hash_eq(&digest, &digest2));
    for (int i = 0; i < TU_WALLETS; i++)
        CU_ASSERT_EQUAL(pu_chain_balance(ch, &E.w[i].addr), bal[i]);
    pu_chain_free(ch);
}

/* A loaded chain stays attached: later blocks are persisted and reload too. */
static void test_load_continues(void)
{
    char path[256], err[ERRLEN] = "";
    th_path(path, sizeof path, "continue.db");
    build_db(path, 12, NULL, NULL);
    pu_store *st = open_store(path);
    pu_chain_opts o = load_opts();
    pu_chain *ch = NULL, *again = (pu_chain *)&again;
    CU_ASSERT_FATAL(pu_store_load(st, &o, E.genesis, &ch, err, sizeof err) == PU_OK);
    CU_ASSERT_EQUAL(pu_store_load(st, &o, E.genesis, &again, err, sizeof err), PU_ERR_STATE);
    CU_ASSERT_PTR_NULL(again);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "already attached"));
    pu_store_close(st);
    pu_chain_free(ch);
    ch = NULL;
    st = open_store(path);
    CU_ASSERT_FATAL(pu_store_load(st, &o, E.genesis, &ch, err, sizeof err) == PU_OK);
    grow(ch, 7, true, 3, 5000);
    pu_hash32 tip = *pu_chain_tip_hash(ch), d1, d2;
    CU_ASSERT_FATAL(pu_utxo_digest(E.crypto, pu_chain_utxo(ch), &d1) == PU_OK);
    CU_ASSERT_EQUAL(pu_store_flush(st, err, sizeof err), PU_OK);
    pu_store_close(st);
    pu_chain_free(ch);
    ch = NULL;
    CU_ASSERT_FATAL(reload(path, &ch, err, sizeof err) == PU_OK);
    CU_ASSERT_EQUAL(pu_chain_height(ch), 19);
    CU_ASSERT_TRUE(pu_hash_eq(pu_chain_tip_hash(ch), &tip));
    CU_ASSERT_FATAL(pu_utxo_digest(E.crypto, pu_chain_utxo(ch), &d2) == PU_OK);
    CU_ASSERT_TRUE(pu_hash_eq(&d1, &d2));
    /* seq kept growing after the reload: no two rows share one */
    CU_ASSERT_EQUAL(sql_int(path, "SELECT COUNT(DISTINCT seq) FROM blocks"), 20);
    pu_chain_free(ch);
}

static void feed(pu_chain *ch, pu_block *b, pu_add_result *res)
{
    pu_add_result r;
    pu_err rc = pu_chain_add_block(ch, b, 1u << 30, res ? res : &r);
    CU_ASSERT_EQUAL(rc, PU_OK);
}

/* Chain A (stored) and B share 5 blocks; A mines 4 more, B 6 more; B's
 * branch arriving at A reorganises 4 blocks.  After a reload, C (A's old
 * branch) outgrows B: a second reorganisation, persisted and reloaded. */
static void test_reorg_persisted(void)
{
    char path[256], err[ERRLEN] = "";
    th_path(path, sizeof path, "reorg.db");
    pu_store *st;
    pu_chain *a = attached_chain(path, &st), *b = tu_chain(&E, false), *c = tu_chain(&E, false);
    grow(a, 5, true, 0, 1000);
    for (uint32_t h = 1; h <= 5; h++) {
        feed(b, pu_chain_block_at(a, h), NULL);
        feed(c, pu_chain_block_at(a, h), NULL);
    }
    grow(a, 4, true, 1, 1000);
    for (uint32_t h = 6; h <= 9; h++)
        feed(c, pu_chain_block_at(a, h), NULL);
    grow(b, 6, true, 4, 3000); /* other miners, other timestamps: other blocks */
    pu_add_result res;
    for (uint32_t h = 6; h <= 11; h++) {
        feed(a, pu_chain_block_at(b, h), &res);
        CU_ASSERT_EQUAL(res.tip_changed, h >= 10);
        if (h == 10)
            CU_ASSERT_EQUAL(res.disconnected, 4);
    }
    CU_ASSERT_TRUE(pu_hash_eq(pu_chain_tip_hash(a), pu_chain_tip_hash(b)));
    pu_hash32 db, da, dl;
    CU_ASSERT_FATAL(pu_utxo_digest(E.crypto, pu_chain_utxo(b), &db) == PU_OK);
    CU_ASSERT_FATAL(pu_utxo_digest(E.crypto, pu_chain_utxo(a), &da) == PU_OK);
    CU_ASSERT_TRUE(pu_hash_eq(&da, &db));
    CU_ASSERT_EQUAL(pu_store_status(st, err, sizeof err), PU_OK);
    pu_store_close(st);
    pu_chain_free(a);
    CU_ASSERT_EQUAL(sql_int(path, "SELECT COUNT(*) FROM blocks"), 16);

    pu_chain *l = NULL;
    st = open_store(path);
    pu_chain_opts o = load_opts();
    CU_ASSERT_FATAL(pu_store_load(st, &o, E.genesis, &l, err, sizeof err) == PU_OK);
    CU_ASSERT_TRUE(pu_hash_eq(pu_chain_tip_hash(l), pu_chain_tip_hash(b)));
    CU_ASSERT_FATAL(pu_utxo_digest(E.crypto, pu_chain_utxo(l), &dl) == PU_OK);
    CU_ASSERT_TRUE(pu_hash_eq(&dl, &db));
    for (int i = 0; i < TU_WALLETS; i++)
        CU_ASSERT_EQUAL(pu_chain_balance(l, &E.w[i].addr), pu_chain_balance(b, &E.w[i].addr));

    /* back to A's branch, extended by C: disconnects B's six blocks */
    grow(c, 3, true, 6, 7000);
    for (uint32_t h = 10; h <= 12; h++)
        feed(l, pu_chain_block_at(c, h), &res);
    CU_ASSERT_EQUAL(res.disconnected, 6);
    CU_ASSERT_TRUE(pu_hash_eq(pu_chain_tip_hash(l), pu_chain_tip_hash(c)));
    pu_store_close(st);
    pu_chain_free(l);
    l = NULL;
    CU_ASSERT_FATAL(reload(path, &l, err, sizeof err) == PU_OK);
    CU_ASSERT_TRUE(pu_hash_eq(pu_chain_tip_hash(l), pu_chain_tip_hash(c)));
    pu_hash32 dc;
    CU_ASSERT_FATAL(pu_utxo_digest(E.crypto, pu_chain_utxo(c), &dc) == PU_OK);
    CU_ASSERT_FATAL(pu_utxo_digest(E.crypto, pu_chain_utxo(l), &dl) == PU_OK);
    CU_ASSERT_TRUE(pu_hash_eq(&dl, &dc));
    CU_ASSERT_EQUAL(pu_chain_n_blocks(l), 19);
    pu_chain_free(l);
    pu_chain_free(b);
    pu_chain_free(c);
}

static void test_damaged_block_rows(void)
{
    char path[256], hash[65];
    /* a transaction byte: the header still hashes to the key, the merkle root fails */
    th_path(path, sizeof path, "damaged-tx.db");
    build_db(path, 20, NULL, NULL);
    flip_block_byte(path, 12, -10, hash);
    expect_load_error(path, hash, "bad-merkle-root");
    /* a header byte (inside the merkle root field): the data no longer hashes to its key */
    th_path(path, sizeof path, "damaged-header.db");
    build_db(path, 20, NULL, NULL);
    flip_block_byte(path, 7, 40, hash);
    expect_load_error(path, hash, "damaged");
    /* the transaction count: the data does not decode at all */
    th_path(path, sizeof path, "damaged-count.db");
    build_db(path, 20, NULL, NULL);
    flip_block_byte(path, 15, PU_HEADER_SIZE, hash);
    expect_load_error(path, hash, "does not decode");
    /* the genesis row */
    th_path(path, sizeof path, "damaged-genesis.db");
    build_db(path, 3, NULL, NULL);
    flip_block_byte(path, 0, -10, hash);
    expect_load_error(path, hash, "differs from the expected genesis");
    /* a block row whose parent row is missing */
    th_path(path, sizeof path, "missing-parent.db");
    build_db(path, 10, NULL, NULL);
    sql_do(path, "DELETE FROM blocks WHERE height = 4");
    expect_load_error(path, "is not stored before it", NULL);
}

/* The key of some utxos row (the same in every build: chains are deterministic). */
static void pick_key(const char *path, char key[80])
{
    sqlite3 *db;
    sqlite3_stmt *s;
    CU_ASSERT_FATAL(sqlite3_open(path, &db) == SQLITE_OK);
    const char *sql = "SELECT key FROM utxos ORDER BY key LIMIT 1 OFFSET 3";
    CU_ASSERT_FATAL(sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK);
    CU_ASSERT_FATAL(sqlite3_step(s) == SQLITE_ROW);
    snprintf(key, 80, "%s", (const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    sqlite3_close(db);
}

static void test_utxo_rows_checked(void)
{
    char path[256], key[80];
    pu_hash32 tip;
    char sql[300];

    th_path(path, sizeof path, "utxo-deleted.db");
    build_db(path, 20, &tip, NULL);
    pick_key(path, key);
    snprintf(sql, sizeof sql, "DELETE FROM utxos WHERE key = '%s'", key);
    sql_do(path, sql);
    expect_load_error(path, key, "no row");

    th_path(path, sizeof path, "utxo-altered.db");
    build_db(path, 20, NULL, NULL);
    /* amount -> 1 unit: still a valid coin encoding */
    snprintf(sql, sizeof sql, "UPDATE utxos SET data = X'0000000000000001' || substr(data, 9) "
             "WHERE key = '%s'", key);
    sql_do(path, sql);
    expect_load_error(path, key, "differs");

    th_path(path, sizeof path, "utxo-garbage.db");
    build_db(path, 20, NULL, NULL);
    snprintf(sql, sizeof sql, "UPDATE utxos SET data = X'00' WHERE key = '%s'", key);
    sql_do(path, sql);
    expect_load_error(path, key, "does not decode");

    th_path(path, sizeof path, "utxo-extra.db");
    build_db(path, 20, NULL, NULL);
    sql_do(path, "INSERT INTO utxos SELECT '00000000000000000000000000000000"
                 "00000000000000000000000000000000:3', data FROM utxos LIMIT 1");
    expect_load_error(path, "0000000000000000000000000000000000000000000000000000000000000000:3",
                      "no such coin");

    th_path(path, sizeof path, "utxo-badkey.db");
    build_db(path, 20, NULL, NULL);
    snprintf(sql, sizeof sql, "UPDATE utxos SET key = '%.64s:015' WHERE key = '%s'", key, key);
    sql_do(path, sql);
    expect_load_error(path, ":015", "not txid_hex:index");

    th_path(path, sizeof path, "meta-tip.db");
    build_db(path, 20, &tip, NULL);
    sql_do(path, "UPDATE meta SET value = (SELECT hash FROM blocks WHERE height = 19) "
                 "WHERE key = 'tip'");
    char tiphex[65];
    pu_hash_hex(&tip, tiphex);
    expect_load_error(path, "meta tip", tiphex);
}

static void test_wrong_genesis(void)
{
    char path[256], err[ERRLEN] = "";
    th_path(path, sizeof path, "genesis.db");
    build_db(path, 3, NULL, NULL);
    /* any other well-formed block serves as a "genesis" that differs */
    pu_chain *tmp = tu_chain(&E, false);
    grow(tmp, 1, false, 0, 1000);
    pu_block *other = pu_chain_tip(tmp);
    pu_store *st = open_store(path);
    pu_chain_opts o = load_opts();
    pu_chain *ch = NULL;
    CU_ASSERT_EQUAL(pu_store_load(st, &o, other, &ch, err, sizeof err), PU_ERR_DB);
    CU_ASSERT_PTR_NULL(ch);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "differs from the expected genesis"));
    char hex[65];
    pu_hash_hex(pu_block_hash(other), hex);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, hex));
    /* the store is still usable with the right genesis */
    CU_ASSERT_EQUAL(pu_store_load(st, &o, E.genesis, &ch, err, sizeof err), PU_OK);
    CU_ASSERT_EQUAL(pu_chain_height(ch), 3);
    pu_store_close(st);
    pu_chain_free(ch);
    pu_chain_free(tmp);
}

static void test_bad_files(void)
{
    char path[256], err[ERRLEN] = "";
    pu_store *st = (pu_store *)&st;
    th_path(path, sizeof path, "not-a-db.txt");
    FILE *f = fopen(path, "w");
    CU_ASSERT_FATAL(f != NULL);
    for (int i = 0; i < 200; i++)
        fprintf(f, "this is a text file, line %d, not an SQLite database\n", i);
    fclose(f);
    CU_ASSERT_EQUAL(pu_store_open(path, &st, err, sizeof err), PU_ERR_DB);
    CU_ASSERT_PTR_NULL(st);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, path));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "not a database"));

    th_path(path, sizeof path, "no-such-dir/x.db");
    CU_ASSERT_EQUAL(pu_store_open(path, &st, err, sizeof err), PU_ERR_DB);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "unable to open"));

    th_path(path, sizeof path, "foreign.db");
    sql_do(path, "CREATE TABLE blocks(x); INSERT INTO blocks VALUES(1)");
    CU_ASSERT_EQUAL(pu_store_open(path, &st, err, sizeof err), PU_ERR_DB);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "not a pouwsim store"));

    th_path(path, sizeof path, "future.db");
    st = open_store(path);
    pu_store_close(st);
    sql_do(path, "UPDATE meta SET value = 99 WHERE key = 'format'");
    CU_ASSERT_EQUAL(pu_store_open(path, &st, err, sizeof err), PU_ERR_DB);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "format version 99"));

    /* a short message buffer truncates, never overflows */
    char tiny[8];
    th_path(path, sizeof path, "not-a-db.txt");
    CU_ASSERT_EQUAL(pu_store_open(path, &st, tiny, sizeof tiny), PU_ERR_DB);
    CU_ASSERT_EQUAL(strlen(tiny), sizeof tiny - 1);
}

static void test_attach_rules(void)
{
    char path[256], err[ERRLEN] = "";
    th_path(path, sizeof path, "attach.db");
    build_db(path, 4, NULL, NULL);
    pu_chain *ch = tu_chain(&E, false);
    pu_store *st = open_store(path);
    CU_ASSERT_EQUAL(pu_store_attach(st, ch, err, sizeof err), PU_ERR_STATE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "pu_store_load"));
    pu_store_close(st);

    /* attaching a grown chain to a new file writes all of it */
    grow(ch, 6, true, 2, 1000);
    th_path(path, sizeof path, "attach-late.db");
    st = open_store(path);
    CU_ASSERT_EQUAL_FATAL(pu_store_attach(st, ch, err, sizeof err), PU_OK);
    pu_chain *other = tu_chain(&E, false);
    CU_ASSERT_EQUAL(pu_store_attach(st, other, err, sizeof err), PU_ERR_STATE);
    grow(ch, 2, true, 2, 1000);
    pu_store_close(st);
    pu_chain *l = NULL;
    CU_ASSERT_FATAL(reload(path, &l, err, sizeof err) == PU_OK);
    CU_ASSERT_TRUE(pu_hash_eq(pu_chain_tip_hash(l), pu_chain_tip_hash(ch)));
    pu_chain_free(l);

    /* load on a new file: a fresh chain, attached, genesis written */
    th_path(path, sizeof path, "fresh.db");
    st = open_store(path);
    pu_chain_opts o = load_opts();
    l = NULL;
    CU_ASSERT_FATAL(pu_store_load(st, &o, E.genesis, &l, err, sizeof err) == PU_OK);
    CU_ASSERT_EQUAL(pu_chain_height(l), 0);
    grow(l, 3, false, 0, 1000);
    pu_store_close(st);
    CU_ASSERT_EQUAL(sql_int(path, "SELECT COUNT(*) FROM blocks"), 4);
    pu_chain_free(l);

    /* an in-memory database works the same (journal mode "memory", no WAL) */
    st = open_store(":memory:");
    l = NULL;
    CU_ASSERT_FATAL(pu_store_load(st, &o, E.genesis, &l, err, sizeof err) == PU_OK);
    grow(l, 3, true, 0, 1000);
    CU_ASSERT_EQUAL(pu_store_flush(st, err, sizeof err), PU_OK);
    pu_store_stats s;
    pu_store_get_stats(st, &s);
    CU_ASSERT_EQUAL(s.blocks, 4);
    CU_ASSERT_EQUAL(s.commits, 4);
    pu_store_close(st);
    pu_chain_free(l);
    pu_chain_free(other);
    pu_chain_free(ch);
}

/* A side block that does not move the tip waits in the open transaction:
 * invisible to other connections until the next tip update or a flush. */
static void test_side_block_folded(void)
{
    char path[256], err[ERRLEN] = "";
    th_path(path, sizeof path, "side.db");
    pu_store *st;
    pu_chain *a = attached_chain(path, &st), *b = tu_chain(&E, false);
    grow(a, 3, false, 0, 1000);
    for (uint32_t h = 1; h <= 3; h++)
        feed(b, pu_chain_block_at(a, h), NULL);
    grow(a, 1, false, 0, 1000);
    grow(b, 1, false, 5, 2000);
    pu_add_result res;
    feed(a, pu_chain_tip(b), &res); /* equal work: a keeps its own tip */
    CU_ASSERT_FALSE(res.tip_changed);
    CU_ASSERT_EQUAL(sql_int(path, "SELECT COUNT(*) FROM blocks"), 5);
    CU_ASSERT_EQUAL(pu_store_flush(st, err, sizeof err), PU_OK);
    CU_ASSERT_EQUAL(sql_int(path, "SELECT COUNT(*) FROM blocks"), 6);
    pu_store_stats s;
    pu_store_get_stats(st, &s);
    CU_ASSERT_EQUAL(s.commits, 6); /* attach, 4 tip updates, the flush */
    /* folded into the next tip update when no flush comes */
    grow(b, 1, false, 5, 2000);
    feed(a, pu_chain_tip(b), &res); /* b's branch is longer now: reorganisation */
    CU_ASSERT_TRUE(res.tip_changed);
    CU_ASSERT_EQUAL(sql_int(path, "SELECT COUNT(*) FROM blocks"), 7);
    pu_store_close(st);
    pu_chain *l = NULL;
    CU_ASSERT_FATAL(reload(path, &l, err, sizeof err) == PU_OK);
    CU_ASSERT_TRUE(pu_hash_eq(pu_chain_tip_hash(l), pu_chain_tip_hash(b)));
    pu_chain_free(l);
    pu_chain_free(a);
    pu_chain_free(b);
}

/* A hand-made child of `parent` (coinbase only), for branches no chain accepts. */
static pu_block *child_of(const pu_block *parent, uint32_t height)
{
    pu_tx *cb;
    CU_ASSERT_FATAL(pu_tx_new(PU_TX_COINBASE, 0, 1, 4, &cb) == PU_OK);
    pu_put_be32(pu_tx_body_mut(cb), height);
    pu_tx_out_mut(cb, 0)->amount = E.params.block_reward;
    pu_tx_out_mut(cb, 0)->addr = E.w[3].addr;
    CU_ASSERT_FATAL(pu_tx_finalize(E.crypto, cb) == PU_OK);
    pu_header h;
    memset(&h, 0, sizeof h);
    h.version = PU_BLOCK_VERSION;
    h.prev = *pu_block_hash(parent);
    h.timestamp = pu_block_header(parent)->timestamp + 1;
    h.bits = pu_block_header(parent)->bits;
    pu_block *b;
    CU_ASSERT_FATAL(pu_block_new(&h, &b) == PU_OK);
    CU_ASSERT_FATAL(pu_block_add_tx(b, cb) == PU_OK);
    pu_tx_unref(cb);
    CU_ASSERT_FATAL(pu_block_update_merkle(E.crypto, b) == PU_OK);
    tu_grind(&E, b);
    return b;
}

static void insert_row(const char *path, const pu_block *b, uint32_t height, int64_t seq)
{
    uint8_t *buf;
    size_t len;
    char hash[65], parent[65];
    CU_ASSERT_FATAL(pu_block_serialize(b, &buf, &len) == PU_OK);
    pu_hash_hex(pu_block_hash(b), hash);
    pu_hash_hex(&pu_block_header(b)->prev, parent);
    sqlite3 *db;
    sqlite3_stmt *s;
    CU_ASSERT_FATAL(sqlite3_open(path, &db) == SQLITE_OK);
    CU_ASSERT_FATAL(sqlite3_prepare_v2(db, "INSERT INTO blocks VALUES(?1, ?2, ?3, ?4, ?5)", -1, &s,
                                       NULL) == SQLITE_OK);
    sqlite3_bind_text(s, 1, hash, -1, SQLITE_STATIC);
    sqlite3_bind_blob(s, 2, buf, (int)len, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, height);
    sqlite3_bind_text(s, 4, parent, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 5, seq);
    CU_ASSERT_EQUAL(sqlite3_step(s), SQLITE_DONE);
    sqlite3_finalize(s);
    sqlite3_close(db);
    free(buf);
}

/* A stored side block X that fails full validation once its branch (X, Y)
 * outworks the tip is marked invalid by the chain; the store deletes both
 * rows in the same transaction.  Put back by hand, they make the load fail
 * naming X. */
static void test_invalid_branch_pruned(void)
{
    char path[256], err[ERRLEN] = "", xhex[65];
    th_path(path, sizeof path, "invalid.db");
    pu_store *st;
    pu_chain *a = attached_chain(path, &st), *b = tu_chain(&E, false);
    grow(a, 3, false, 0, 1000);
    for (uint32_t h = 1; h <= 3; h++)
        feed(b, pu_chain_block_at(a, h), NULL);
    grow(a, 1, false, 0, 1000);
    /* wallet 1's genesis coin, signed by wallet 2: fine alone, wrong-key in context */
    pu_outpoint op = {*pu_tx_id(pu_block_tx(E.genesis, 0)), 2};
    pu_tx *bad = tu_pay_from(&E, &op, 50 * PU_COIN, 2, &E.w[2].addr, 10 * PU_COIN, FEE);
    pu_block *x = tu_mine(&E, b, &bad, 1, 6, 2000);
    pu_block *y = child_of(x, 5);
    pu_hash_hex(pu_block_hash(x), xhex);
    pu_hash32 tip = *pu_chain_tip_hash(a);
    pu_add_result res;
    feed(a, x, &res);
    CU_ASSERT_FALSE(res.tip_changed);
    pu_err rc = pu_chain_add_block(a, y, 1u << 30, &res);
    CU_ASSERT(rc == PU_OK || rc == PU_ERR_INVALID);
    CU_ASSERT_TRUE(pu_hash_eq(pu_chain_tip_hash(a), &tip)); /* X refused, A's tip kept */
    CU_ASSERT_PTR_NULL(pu_chain_get(a, pu_block_hash(x), NULL, NULL));
    pu_store_stats s;
    pu_store_get_stats(st, &s);
    CU_ASSERT_EQUAL(s.pruned, 2);
    CU_ASSERT_EQUAL(pu_store_status(st, err, sizeof err), PU_OK);
    pu_store_close(st);
    CU_ASSERT_EQUAL(sql_int(path, "SELECT COUNT(*) FROM blocks"), 5);
    pu_chain *l = NULL;
    CU_ASSERT_FATAL(reload(path, &l, err, sizeof err) == PU_OK);
    CU_ASSERT_TRUE(pu_hash_eq(pu_chain_tip_hash(l), &tip));
    pu_chain_free(l);

    insert_row(path, x, 4, 100);
    insert_row(path, y, 5, 101);
    expect_load_error(path, xhex, "failed validation");
    pu_tx_unref(bad);
    pu_block_unref(x);
    pu_block_unref(y);
    pu_chain_free(a);
    pu_chain_free(b);
}

/* A write refused inside an observer callback (by a trigger another
 * connection installs) is kept and reported; the file stays at its last
 * committed state, which loads.  Refusing the block row fails before any
 * other write of that block; refusing the tip (written after the UTXO rows)
 * shows the UTXO rows of the failed update were rolled back with it. */
static void sticky_case(const char *name, const char *trigger)
{
    char path[256], err[ERRLEN] = "";
    th_path(path, sizeof path, name);
    pu_store *st;
    pu_chain *ch = attached_chain(path, &st);
    grow(ch, 4, true, 0, 1000);
    pu_hash32 tip4 = *pu_chain_tip_hash(ch), d4, dl;
    CU_ASSERT_FATAL(pu_utxo_digest(E.crypto, pu_chain_utxo(ch), &d4) == PU_OK);
    sql_do(path, trigger);
    grow(ch, 4, true, 0, 1000); /* the chain goes on; the store cannot */
    CU_ASSERT_EQUAL(pu_chain_height(ch), 8);
    CU_ASSERT_EQUAL(pu_store_status(st, err, sizeof err), PU_ERR_DB);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "test refusal"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, path));
    err[0] = '\0';
    CU_ASSERT_EQUAL(pu_store_flush(st, err, sizeof err), PU_ERR_DB);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "test refusal"));
    pu_store_close(st);
    pu_chain_free(ch);
    sql_do(path, "DROP TRIGGER refuse");
    pu_chain *l = NULL;
    pu_err rc = reload(path, &l, err, sizeof err);
    if (rc != PU_OK)
        fprintf(stderr, "\n%s\n", err);
    CU_ASSERT_FATAL(rc == PU_OK);
    CU_ASSERT_EQUAL(pu_chain_height(l), 4);
    CU_ASSERT_TRUE(pu_hash_eq(pu_chain_tip_hash(l), &tip4));
    CU_ASSERT_FATAL(pu_utxo_digest(E.crypto, pu_chain_utxo(l), &dl) == PU_OK);
    CU_ASSERT_TRUE(pu_hash_eq(&dl, &d4));
    pu_chain_free(l);
}

static void test_callback_failure_sticky(void)
{
    sticky_case("sticky-block.db", "CREATE TRIGGER refuse BEFORE INSERT ON blocks "
                                   "WHEN NEW.height = 5 "
                                   "BEGIN SELECT RAISE(ABORT, 'test refusal'); END");
    sticky_case("sticky-tip.db", "CREATE TRIGGER refuse BEFORE INSERT ON meta "
                                 "WHEN NEW.key = 'tip_height' AND NEW.value = 5 "
                                 "BEGIN SELECT RAISE(ABORT, 'test refusal'); END");
}

/* ---- crash safety -------------------------------------------------------------- */

typedef struct crash_rec {
    uint32_t height;
    uint32_t committed; /* 0: mined, about to be added; 1: added and committed */
    pu_hash32 hash;
} crash_rec;

static void send_rec(int fd, uint32_t height, uint32_t committed, const pu_hash32 *h)
{
    crash_rec r;
    memset(&r, 0, sizeof r);
    r.height = height;
    r.committed = committed;
    r.hash = *h;
    if (write(fd, &r, sizeof r) != (ssize_t)sizeof r)
        _exit(5);
}

/* Child: load (or create) the file and mine forever -- a payment in every
 * block, a stored side block every fifth height -- reporting each block
 * before adding it and once it is committed.  Never returns. */
static _Noreturn void crash_child(const char *path, int fd, int round)
{
    pu_store *st;
    pu_chain *ch;
    char err[ERRLEN];
    pu_chain_opts o = load_opts();
    if (pu_store_open(path, &st, err, sizeof err) != PU_OK
        || pu_store_load(st, &o, E.genesis, &ch, err, sizeof err) != PU_OK)
        _exit(3);
    pu_chain *alt = tu_chain(&E, false);
    pu_add_result res;
    for (uint32_t h = 1; h <= pu_chain_height(ch); h++)
        if (pu_chain_add_block(alt, pu_chain_block_at(ch, h), 1u << 30, &res) != PU_OK)
            _exit(4);
    for (;;) {
        uint32_t h = pu_chain_height(ch) + 1;
        pu_tx *tx = tu_pay(&E, ch, (int)(h % TU_WALLETS), &E.w[(h + 3) % TU_WALLETS].addr,
                           PU_COIN / 10, FEE);
        pu_block *b = tu_mine(&E, ch, &tx, tx ? 1 : 0, (round + (int)h) % TU_WALLETS, 5000 + h);
        send_rec(fd, h, 0, pu_block_hash(b));
        if (pu_chain_add_block(ch, b, 1u << 30, &res) != PU_OK || !res.tip_changed)
            _exit(6);
        if (h % 5 == 0) { /* a sibling of b mined on alt (still at h - 1): equal work, ch keeps b */
            pu_block *side = tu_mine(&E, alt, NULL, 0, (round + (int)h + 1) % TU_WALLETS, 6000 + h);
            send_rec(fd, h, 0, pu_block_hash(side));
            if (pu_chain_add_block(ch, side, 1u << 30, &res) != PU_OK || res.tip_changed)
                _exit(7);
            pu_block_unref(side);
        }
        if (pu_chain_add_block(alt, b, 1u << 30, &res) != PU_OK)
            _exit(6);
        if (pu_store_status(st, err, sizeof err) != PU_OK)
            _exit(8);
        send_rec(fd, h, 1, pu_block_hash(b));
        pu_tx_unref(tx);
        pu_block_unref(b);
    }
}

static bool read_rec(int fd, crash_rec *r)
{
    size_t got = 0;
    while (got < sizeof *r) {
        ssize_t n = read(fd, (uint8_t *)r + got, sizeof *r - got);
        if (n <= 0)
            return false;
        got += (size_t)n;
    }
    return true;
}

typedef struct seen_set { crash_rec *v; size_t n, cap; } seen_set;

static void seen_add(seen_set *s, const crash_rec *r)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 256;
        s->v = realloc(s->v, s->cap * sizeof *s->v);
        CU_ASSERT_FATAL(s->v != NULL);
    }
    s->v[s->n++] = *r;
}

static bool seen_has(const seen_set *s, const pu_hash32 *h)
{
    for (size_t i = 0; i < s->n; i++)
        if (pu_hash_eq(&s->v[i].hash, h))
            return true;
    return false;
}

static void check_integrity(const char *path)
{
    sqlite3 *db;
    sqlite3_stmt *s;
    CU_ASSERT_FATAL(sqlite3_open(path, &db) == SQLITE_OK);
    CU_ASSERT_FATAL(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, NULL) == SQLITE_OK);
    CU_ASSERT_EQUAL(sqlite3_step(s), SQLITE_ROW);
    CU_ASSERT_STRING_EQUAL((const char *)sqlite3_column_text(s, 0), "ok");
    sqlite3_finalize(s);
    sqlite3_close(db);
}

/* Three children in turn write to one file and are killed with SIGKILL after
 * 40 committed blocks each (somewhere mid-stream); after each kill the file
 * passes integrity_check and loads, with a tip the child reached. */
static void test_crash_safety(void)
{
    char path[256], err[ERRLEN] = "";
    th_path(path, sizeof path, "crash.db");
    seen_set seen = {0};
    uint32_t committed_height = 0;
    for (int round = 0; round < 3; round++) {
        int fds[2];
        CU_ASSERT_FATAL(pipe(fds) == 0);
        fflush(NULL); /* the child must not flush our buffered output again */
        pid_t pid = fork();
        CU_ASSERT_FATAL(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            crash_child(path, fds[1], round);
        }
        close(fds[1]);
        crash_rec r;
        int commits = 0;
        while (commits < 40 && read_rec(fds[0], &r)) {
            seen_add(&seen, &r);
            if (r.committed) {
                commits++;
                committed_height = r.height;
            }
        }
        CU_ASSERT_EQUAL(commits, 40); /* else the child died on its own */
        kill(pid, SIGKILL);
        while (read_rec(fds[0], &r)) { /* what it reported before dying */
            seen_add(&seen, &r);
            if (r.committed)
                committed_height = r.height;
        }
        close(fds[0]);
        int status = 0;
        CU_ASSERT_EQUAL(waitpid(pid, &status, 0), pid);
        CU_ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        if (!WIFSIGNALED(status))
            fprintf(stderr, "\ncrash child exited by itself with status %d\n", WEXITSTATUS(status));

        check_integrity(path);
        pu_chain *ch = NULL;
        pu_err rc = reload(path, &ch, err, sizeof err);
        if (rc != PU_OK)
            fprintf(stderr, "\n%s\n", err);
        CU_ASSERT_FATAL(rc == PU_OK);
        CU_ASSERT(pu_chain_height(ch) >= committed_height);
        CU_ASSERT(pu_chain_height(ch) <= committed_height + 1);
        CU_ASSERT_TRUE(seen_has(&seen, pu_chain_tip_hash(ch)));
        pu_chain_free(ch);
    }
    free(seen.v);
}

typedef struct scan {
    int64_t rows, last_seq;
    bool ordered;
    pu_amount total;
} scan;

static pu_err count_block(void *ctx, const pu_store_block_row *r)
{
    scan *s = ctx;
    s->ordered &= r->seq > s->last_seq;
    s->last_seq = r->seq;
    s->rows++;
    return r->height == 5 ? PU_ERR_EXISTS : PU_OK; /* stop early: returned as is */
}

static pu_err sum_coins(void *ctx, const char *key, const uint8_t *data, size_t len)
{
    scan *s = ctx;
    pu_coin c;
    (void)key;
    CU_ASSERT_FATAL(pu_coin_parse(data, len, &c) == PU_OK);
    s->total += c.amount;
    s->rows++;
    return PU_OK;
}

/* Reading a store without changing it: read-only open, the recorded
 * parameters (and a load under other ones refused), caller meta keys, row
 * scans, a reload that stays unattached. */
static void test_read_only(void)
{
    char path[256], err[ERRLEN] = "";
    pu_hash32 tip;
    th_path(path, sizeof path, "readonly.db");
    build_db(path, 9, &tip, NULL);
    pu_store *st = open_store(path);
    CU_ASSERT_EQUAL(pu_store_set_meta(st, "scenario", "unit-test", err, sizeof err), PU_OK);
    CU_ASSERT_EQUAL(pu_store_set_meta(st, "tip", "x", err, sizeof err), PU_ERR_RANGE);
    pu_store_close(st);
    int64_t changes = sql_int(path, "SELECT COUNT(*) FROM meta");
    st = NULL;
    CU_ASSERT_FATAL(pu_store_open_readonly(path, &st, err, sizeof err) == PU_OK);
    char buf[80];
    bool found;
    CU_ASSERT_EQUAL(pu_store_get_meta(st, "scenario", buf, sizeof buf, &found, err, sizeof err), PU_OK);
    CU_ASSERT(found);
    CU_ASSERT_STRING_EQUAL(buf, "unit-test");
    CU_ASSERT_EQUAL(pu_store_get_meta(st, "nothing", buf, sizeof buf, &found, err, sizeof err), PU_OK);
    CU_ASSERT(!found);
    CU_ASSERT_EQUAL(pu_store_set_meta(st, "scenario", "y", err, sizeof err), PU_ERR_STATE);
    pu_params p;
    CU_ASSERT_EQUAL_FATAL(pu_store_params(st, &p, err, sizeof err), PU_OK);
    uint8_t a[PU_PARAMS_ENCODED_LEN], b[PU_PARAMS_ENCODED_LEN];
    pu_params_encode(&p, a);
    pu_params_encode(&E.params, b);
    CU_ASSERT_EQUAL(memcmp(a, b, sizeof a), 0);
    scan sc = {0, -1, true, 0};
    CU_ASSERT_EQUAL(pu_store_foreach_block(st, count_block, &sc, err, sizeof err), PU_ERR_EXISTS);
    CU_ASSERT_EQUAL(sc.rows, 6);
    CU_ASSERT(sc.ordered);
    memset(&sc, 0, sizeof sc);
    CU_ASSERT_EQUAL(pu_store_foreach_utxo(st, sum_coins, &sc, err, sizeof err), PU_OK);
    CU_ASSERT_EQUAL(sc.rows, sql_int(path, "SELECT COUNT(*) FROM utxos"));
    /* a reload of a read-only store checks everything and stays unattached */
    pu_chain_opts o = load_opts();
    pu_chain *ch = NULL;
    CU_ASSERT_EQUAL_FATAL(pu_store_load(st, &o, E.genesis, &ch, err, sizeof err), PU_OK);
    CU_ASSERT_TRUE(pu_hash_eq(pu_chain_tip_hash(ch), &tip));
    CU_ASSERT_EQUAL(pu_chain_supply(ch), sc.total);
    grow(ch, 2, false, 1, 9000); /* not persisted */
    pu_store_close(st);
    CU_ASSERT_EQUAL(sql_int(path, "SELECT COUNT(*) FROM blocks"), 10);
    CU_ASSERT_EQUAL(sql_int(path, "SELECT COUNT(*) FROM meta"), changes);
    pu_chain_free(ch);
    /* other parameters: the same blocks would be another chain */
    pu_params other = E.params;
    other.block_reward += 1;
    o.params = &other;
    CU_ASSERT_FATAL(pu_store_open_readonly(path, &st, err, sizeof err) == PU_OK);
    ch = NULL;
    CU_ASSERT_EQUAL(pu_store_load(st, &o, E.genesis, &ch, err, sizeof err), PU_ERR_DB);
    CU_ASSERT_PTR_NULL(ch);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "other chain parameters"));
    pu_store_close(st);
    /* nothing is created by a reader */
    char none[256];
    th_path(none, sizeof none, "none.db");
    CU_ASSERT_NOT_EQUAL(pu_store_open_readonly(none, &st, err, sizeof err), PU_OK);
    CU_ASSERT_PTR_NULL(st);
    CU_ASSERT_NOT_EQUAL(access(none, F_OK), 0);
    /* an older database without params: loads, pu_store_params says so */
    sql_do(path, "DELETE FROM meta WHERE key = 'params'");
    CU_ASSERT_FATAL(pu_store_open_readonly(path, &st, err, sizeof err) == PU_OK);
    CU_ASSERT_EQUAL(pu_store_params(st, &p, err, sizeof err), PU_ERR_NOTFOUND);
    o.params = &E.params;
    CU_ASSERT_EQUAL(pu_store_load(st, &o, E.genesis, &ch, err, sizeof err), PU_OK);
    pu_chain_free(ch);
    pu_store_close(st);
}

/* A chain that breaks ties between equal-work tips at random reloads to
 * the same tip: the store records the rule and the reload applies it. */
static void test_tie_break_reloaded(void)
{
    char path[256], err[ERRLEN] = "";
    th_path(path, sizeof path, "tie.db");
    pu_chain *a = tu_chain(&E, false), *b = tu_chain(&E, false);
    pu_block *x, *y;
    CU_ASSERT_FATAL(tu_mine_add(&E, a, NULL, 0, 1, 1000, &x) == PU_R_OK);
    CU_ASSERT_FATAL(tu_mine_add(&E, b, NULL, 0, 2, 1000, &y) == PU_R_OK);
    pu_chain_free(a);
    pu_chain_free(b);
    /* a salt under which y (seen second) wins the tie */
    uint64_t salt = 0;
    for (uint64_t s = 1; s < 200 && !salt; s++) {
        pu_chain *t = tu_chain(&E, false);
        pu_add_result r;
        pu_chain_set_tie_break(t, PU_TIE_RANDOM, s);
        CU_ASSERT_FATAL(pu_chain_add_block(t, x, 1000, &r) == PU_OK);
        CU_ASSERT_FATAL(pu_chain_add_block(t, y, 1000, &r) == PU_OK);
        if (pu_hash_eq(pu_chain_tip_hash(t), pu_block_hash(y)))
            salt = s;
        pu_chain_free(t);
    }
    CU_ASSERT_FATAL(salt != 0);
    pu_store *st = open_store(path);
    pu_chain *ch = tu_chain(&E, false);
    pu_chain_set_tie_break(ch, PU_TIE_RANDOM, salt);
    CU_ASSERT_FATAL(pu_store_attach(st, ch, err, sizeof err) == PU_OK);
    pu_add_result r;
    CU_ASSERT_FATAL(pu_chain_add_block(ch, x, 1000, &r) == PU_OK);
    CU_ASSERT_FATAL(pu_chain_add_block(ch, y, 1000, &r) == PU_OK);
    CU_ASSERT_TRUE(pu_hash_eq(pu_chain_tip_hash(ch), pu_block_hash(y)));
    pu_store_close(st);
    pu_chain_free(ch);
    char tie[48];
    snprintf(tie, sizeof tie, "random:%llu", (unsigned long long)salt);
    CU_ASSERT_EQUAL(sql_int(path, "SELECT COUNT(*) FROM meta WHERE key = 'tie_break'"), 1);
    ch = NULL;
    pu_err rc = reload(path, &ch, err, sizeof err);
    if (rc != PU_OK)
        fprintf(stderr, "\n%s\n", err);
    CU_ASSERT_EQUAL_FATAL(rc, PU_OK);
    CU_ASSERT_TRUE(pu_hash_eq(pu_chain_tip_hash(ch), pu_block_hash(y)));
    uint64_t got;
    CU_ASSERT_EQUAL(pu_chain_tie_break(ch, &got), PU_TIE_RANDOM);
    CU_ASSERT_EQUAL(got, salt);
    pu_chain_free(ch);
    /* a damaged rule is named */
    sql_do(path, "UPDATE meta SET value = 'random:x' WHERE key = 'tie_break'");
    ch = NULL;
    CU_ASSERT_EQUAL(reload(path, &ch, err, sizeof err), PU_ERR_DB);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "tie_break"));
    pu_block_unref(x);
    pu_block_unref(y);
}

TSUITE(store)
{
    CU_pSuite s = CU_add_suite("store", setup, teardown);
    if (!s)
        return CU_get_error();
    TADD(s, test_thousand_blocks_roundtrip);
    TADD(s, test_load_continues);
    TADD(s, test_reorg_persisted);
    TADD(s, test_damaged_block_rows);
    TADD(s, test_utxo_rows_checked);
    TADD(s, test_wrong_genesis);
    TADD(s, test_bad_files);
    TADD(s, test_attach_rules);
    TADD(s, test_side_block_folded);
    TADD(s, test_invalid_branch_pruned);
    TADD(s, test_callback_failure_sticky);
    TADD(s, test_crash_safety);
    TADD(s, test_read_only);
    TADD(s, test_tie_break_reloaded);
    return CUE_SUCCESS;
}
