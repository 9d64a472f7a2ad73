/* core/store.c -- SQLite persistence of a chain; see store.h for the
 * schema and the consistency argument. */
#include "core/store.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/hmap.h"

/* Statements prepared once and reused for the life of the store. */
enum {
    S_BEGIN, S_COMMIT, S_ROLLBACK, S_INS_BLOCK, S_DEL_BLOCK, S_PUT_UTXO, S_DEL_UTXO, S_HAS_UTXO,
    S_PUT_META, S_GET_META, S_N
};

static const char stmt_sql[S_N][100] = { /* arrays, not pointers: no relocated data */
    /* IMMEDIATE takes the write lock up front: a busy file fails at BEGIN,
     * before any row is written, instead of half-way through a block. */
    "BEGIN IMMEDIATE",
    "COMMIT",
    "ROLLBACK",
    "INSERT INTO blocks(hash, data, height, parent, seq) VALUES(?1, ?2, ?3, ?4, ?5)",
    "DELETE FROM blocks WHERE hash = ?1",
    "INSERT OR REPLACE INTO utxos(key, data) VALUES(?1, ?2)",
    "DELETE FROM utxos WHERE key = ?1",
    "SELECT 1 FROM utxos WHERE key = ?1",
    "INSERT OR REPLACE INTO meta(key, value) VALUES(?1, ?2)",
    "SELECT value FROM meta WHERE key = ?1",
};

static const char schema_sql[] =
    "CREATE TABLE blocks(hash TEXT PRIMARY KEY, data BLOB NOT NULL, height INTEGER NOT NULL,"
    " parent TEXT NOT NULL, seq INTEGER NOT NULL UNIQUE);"
    /* Small rows looked up by key only: no rowid needed. */
    "CREATE TABLE utxos(key TEXT PRIMARY KEY, data BLOB NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;";

#define MSG_MAX 512
#define OPKEY_SIZE 36   /* txid || index u32 big-endian, the touched-set key */
#define KEYTEXT_SIZE 80 /* pu_outpoint_key needs 76 */

struct pu_store {
    sqlite3 *db;
    char *path;
    sqlite3_stmt *stmt[S_N];
    pu_chain *chain;     /* observed chain; NULL when detached */
    bool in_txn;         /* a SQL transaction of ours is open */
    int64_t next_seq;    /* seq of the next block row */
    pu_hmap *touched;    /* outpoints whose coin may have changed in the open bracket */
    pu_hash32 last_stored;
    bool have_last;      /* last_stored is the block the open bracket is about */
    pu_err failed;       /* sticky error of an observer callback */
    char fail_msg[MSG_MAX];
    char msg[MSG_MAX];   /* message of the latest internal failure */
    pu_store_stats stats;
    bool readonly;       /* opened by pu_store_open_readonly */
};

/* ---- messages ------------------------------------------------------------ */

static void copy_msg(char *err, size_t errlen, const char *msg)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", msg);
}

/* Formats "store <path>: <text>" into st->msg and returns rc, so a failing
 * helper can `return say(...)`. */
__attribute__((format(printf, 3, 4)))
static pu_err say(pu_store *st, pu_err rc, const char *fmt, ...)
{
    int k = snprintf(st->msg, sizeof st->msg, "store %s: ", st->path);
    if (k < 0 || (size_t)k >= sizeof st->msg - 1)
        return rc; /* a path that long leaves no room: keep what fits */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->msg + k, sizeof st->msg - (size_t)k, fmt, ap);
    va_end(ap);
    return rc;
}

static pu_err sql_fail(pu_store *st, const char *what)
{
    return say(st, PU_ERR_DB, "%s: %s", what, sqlite3_errmsg(st->db));
}

/* ---- statement helpers ---------------------------------------------------- */

/* Steps a prepared statement to its end and makes it reusable. */
static pu_err run(pu_store *st, int which, const char *what)
{
    sqlite3_stmt *s = st->stmt[which];
    int rc = sqlite3_step(s);
    pu_err e = PU_OK;
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        e = sql_fail(st, what); /* read the message before reset can change it */
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return e;
}

static pu_err exec(pu_store *st, const char *sql, const char *what)
{
    char *emsg = NULL;
    if (sqlite3_exec(st->db, sql, NULL, NULL, &emsg) == SQLITE_OK)
        return PU_OK;
    say(st, PU_ERR_DB, "%s: %s", what, emsg ? emsg : sqlite3_errmsg(st->db));
    sqlite3_free(emsg);
    return PU_ERR_DB;
}

/* Runs a one-row, one-column query; *found false when it returns no row.
 * Text goes to buf (may be NULL), integers to *num (may be NULL). */
static pu_err query1(pu_store *st, const char *sql, char *buf, size_t n, int64_t *num, bool *found)
{
    sqlite3_stmt *s = NULL;
    *found = false;
    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
        return sql_fail(st, "cannot read the database");
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *found = true;
        const unsigned char *t = sqlite3_column_text(s, 0);
        if (buf)
            snprintf(buf, n, "%s", t ? (const char *)t : "");
        if (num)
            *num = sqlite3_column_int64(s, 0);
    }
    pu_err e = PU_OK;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        e = sql_fail(st, "cannot read the database");
    sqlite3_finalize(s);
    return e;
}

/* ---- transactions ----------------------------------------------------------- */

static pu_err txn_open(pu_store *st)
{
    if (st->in_txn)
        return PU_OK;
    pu_err rc = run(st, S_BEGIN, "cannot begin a transaction");
    st->in_txn = rc == PU_OK;
    return rc;
}

static pu_err txn_commit(pu_store *st)
{
    if (!st->in_txn)
        return PU_OK;
    pu_err rc = run(st, S_COMMIT, "cannot commit");
    if (rc == PU_OK) {
        st->in_txn = false;
        st->stats.commits++;
    }
    return rc;
}

static void txn_rollback(pu_store *st)
{
    /* SQLite may already have rolled back by itself (disk full, I/O error);
     * autocommit mode tells whether a transaction is still open. */
    if (!sqlite3_get_autocommit(st->db)) {
        char keep[MSG_MAX];
        memcpy(keep, st->msg, sizeof keep); /* report the cause, not the rollback */
        /* A failed rollback leaves nothing better to do: SQLite discards the
         * transaction when the connection closes. */
        if (st->stmt[S_ROLLBACK])
            PU_IGNORE(run(st, S_ROLLBACK, "cannot roll back"));
        else
            PU_IGNORE(exec(st, "ROLLBACK", "cannot roll back"));
        memcpy(st->msg, keep, sizeof keep);
    }
    st->in_txn = false;
}

/* ---- rows ------------------------------------------------------------------- */

static pu_err put_block(pu_store *st, const pu_block *b, uint32_t height)
{
    char hash[65], parent[65];
    uint8_t *buf = NULL;
    size_t len = 0;
    pu_hash_hex(pu_block_hash(b), hash);
    pu_hash_hex(&pu_block_header(b)->prev, parent);
    pu_err rc = pu_block_serialize(b, &buf, &len);
    if (rc != PU_OK)
        return say(st, rc, "block %s: cannot serialise: %s", hash, pu_strerror(rc));
    sqlite3_stmt *s = st->stmt[S_INS_BLOCK];
    sqlite3_bind_text(s, 1, hash, 64, SQLITE_STATIC);
    sqlite3_bind_blob64(s, 2, buf, len, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, height);
    sqlite3_bind_text(s, 4, parent, 64, SQLITE_STATIC);
    sqlite3_bind_int64(s, 5, st->next_seq);
    char what[120];
    snprintf(what, sizeof what, "cannot insert block %s", hash);
    rc = run(st, S_INS_BLOCK, what); /* clears the bindings before buf goes */
    free(buf);
    if (rc == PU_OK) {
        st->next_seq++;
        st->stats.blocks++;
    }
    return rc;
}

static pu_err put_utxo(pu_store *st, const pu_outpoint *op, const pu_coin *coin)
{
    char key[KEYTEXT_SIZE];
    uint8_t data[PU_COIN_SIZE];
    pu_outpoint_key(op, key, sizeof key);
    pu_coin_serialize(coin, data);
    sqlite3_stmt *s = st->stmt[S_PUT_UTXO];
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_blob(s, 2, data, (int)sizeof data, SQLITE_STATIC);
    pu_err rc = run(st, S_PUT_UTXO, "cannot write a utxos row");
    if (rc == PU_OK)
        st->stats.utxo_puts++;
    return rc;
}

static pu_err del_utxo(pu_store *st, const pu_outpoint *op)
{
    char key[KEYTEXT_SIZE];
    pu_outpoint_key(op, key, sizeof key);
    sqlite3_bind_text(st->stmt[S_DEL_UTXO], 1, key, -1, SQLITE_STATIC);
    pu_err rc = run(st, S_DEL_UTXO, "cannot delete a utxos row");
    if (rc == PU_OK && sqlite3_changes(st->db) > 0)
        st->stats.utxo_dels++;
    return rc;
}

static pu_err put_meta(pu_store *st, const char *key, const char *text, int64_t num)
{
    sqlite3_stmt *s = st->stmt[S_PUT_META];
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    if (text)
        sqlite3_bind_text(s, 2, text, -1, SQLITE_STATIC);
    else
        sqlite3_bind_int64(s, 2, num);
    return run(st, S_PUT_META, "cannot write meta");
}

/* meta[key] as text into buf; *found false when absent. */
static pu_err get_meta(pu_store *st, const char *key, char *buf, size_t n, bool *found)
{
    sqlite3_stmt *s = st->stmt[S_GET_META];
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    *found = rc == SQLITE_ROW;
    if (*found) {
        const unsigned char *t = sqlite3_column_text(s, 0);
        snprintf(buf, n, "%s", t ? (const char *)t : "");
    }
    pu_err e = rc == SQLITE_ROW || rc == SQLITE_DONE ? PU_OK : sql_fail(st, "cannot read meta");
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return e;
}

static pu_err put_tip(pu_store *st)
{
    char tip[65];
    pu_hash_hex(pu_chain_tip_hash(st->chain), tip);
    pu_err rc = put_meta(st, "tip", tip, 0);
    if (rc == PU_OK)
        rc = put_meta(st, "tip_height", NULL, pu_chain_height(st->chain));
    return rc;
}

/* ---- observer --------------------------------------------------------------- */

/* First failure wins: it is the cause, later ones are consequences.  The
 * open transaction is rolled back so the file keeps its last committed,
 * consistent state; from now on callbacks do nothing. */
static void cb_fail(pu_store *st, pu_err rc)
{
    st->failed = rc;
    txn_rollback(st);
    memcpy(st->fail_msg, st->msg, sizeof st->fail_msg);
    pu_hmap_clear(st->touched);
    st->have_last = false;
}

static void on_block_stored(void *ctx, const pu_block *b, uint32_t height)
{
    pu_store *st = ctx;
    if (st->failed)
        return;
    pu_err rc = txn_open(st);
    if (rc == PU_OK)
        rc = put_block(st, b, height);
    if (rc != PU_OK) {
        cb_fail(st, rc);
        return;
    }
    st->last_stored = *pu_block_hash(b);
    st->have_last = true;
}

static void on_begin(void *ctx)
{
    pu_store *st = ctx;
    if (st->failed)
        return;
    pu_err rc = txn_open(st);
    if (rc != PU_OK)
        cb_fail(st, rc);
}

static pu_err touch(pu_store *st, const pu_outpoint *op)
{
    uint8_t k[OPKEY_SIZE];
    void *v;
    pu_outpoint_bytes(op, k);
    pu_err rc = pu_hmap_put(st->touched, k, &v, NULL);
    return rc == PU_OK ? PU_OK : say(st, rc, "cannot track UTXO changes: %s", pu_strerror(rc));
}

/* Connecting or disconnecting b can change exactly these coins: the outputs
 * and the lock of each of its transactions, and the coins its undo record
 * lists as spent.  Their final values are read from the chain at commit, so
 * the store never re-derives consensus rules (lock owners, flags). */
static pu_err touch_block(pu_store *st, const pu_block *b, const pu_undo *undo)
{
    pu_err rc = PU_OK;
    for (uint32_t i = 0; rc == PU_OK && i < pu_block_n_tx(b); i++) {
        const pu_tx *tx = pu_block_tx(b, i);
        pu_outpoint op = {*pu_tx_id(tx), 0};
        for (uint32_t j = 0; rc == PU_OK && j < pu_tx_n_out(tx); j++) {
            op.index = j;
            rc = touch(st, &op);
        }
        pu_amount locked;
        op.index = PU_LOCK_INDEX;
        if (rc == PU_OK && pu_tx_locked(tx, &locked) == PU_OK && locked > 0)
            rc = touch(st, &op);
    }
    for (uint32_t i = 0; rc == PU_OK && undo && i < pu_undo_count(undo); i++)
        rc = touch(st, pu_undo_op(undo, i));
    return rc;
}

static void on_connected(void *ctx, const pu_block *b, uint32_t height, const pu_undo *undo)
{
    pu_store *st = ctx;
    (void)height;
    if (st->failed)
        return;
    pu_err rc = touch_block(st, b, undo);
    if (rc != PU_OK)
        cb_fail(st, rc);
}

/* Writes the chain's current coin (or its absence) for every touched outpoint. */
static pu_err flush_touched(pu_store *st)
{
    const pu_utxo *u = pu_chain_utxo(st->chain);
    size_t cur = 0;
    const void *k;
    void *v;
    pu_err rc = PU_OK;
    while (rc == PU_OK && pu_hmap_next(st->touched, &cur, &k, &v)) {
        pu_outpoint op;
        memcpy(op.txid.b, k, 32);
        op.index = pu_get_be32((const uint8_t *)k + 32);
        const pu_coin *c = pu_utxo_find(u, &op);
        rc = c ? put_utxo(st, &op, c) : del_utxo(st, &op);
    }
    /* Clearing costs the table's capacity: after a deep reorganisation grew
     * it, start again small rather than pay that on every later block. */
    if (pu_hmap_bytes(st->touched) > (64u << 10)) {
        pu_hmap *fresh;
        if (pu_hmap_new(OPKEY_SIZE, 0, 256, &fresh) == PU_OK) {
            pu_hmap_free(st->touched);
            st->touched = fresh;
            return rc;
        }
    }
    pu_hmap_clear(st->touched);
    return rc;
}

/* Hashes of the block rows the chain no longer holds as valid. */
static pu_err collect_invalid(pu_store *st, pu_hash32 **out, size_t *n)
{
    sqlite3_stmt *s = NULL;
    size_t cap = 0;
    *out = NULL;
    *n = 0;
    if (sqlite3_prepare_v2(st->db, "SELECT hash FROM blocks", -1, &s, NULL) != SQLITE_OK)
        return sql_fail(st, "cannot scan blocks");
    pu_err rc = PU_OK;
    int src = SQLITE_DONE;
    while (rc == PU_OK && (src = sqlite3_step(s)) == SQLITE_ROW) {
        const char *hex = (const char *)sqlite3_column_text(s, 0);
        pu_hash32 h;
        if (!hex || pu_hex_decode(hex, h.b, 32) != PU_OK || pu_chain_get(st->chain, &h, NULL, NULL))
            continue;
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            pu_hash32 *nv = realloc(*out, cap * sizeof *nv);
            if (!nv) {
                rc = say(st, PU_ERR_NOMEM, "out of memory while pruning invalid blocks");
                break;
            }
            *out = nv;
        }
        (*out)[(*n)++] = h;
    }
    if (rc == PU_OK && src != SQLITE_DONE)
        rc = sql_fail(st, "cannot scan blocks");
    sqlite3_finalize(s);
    return rc;
}

/* If the bracket did not end on the block that opened it, the chain met an
 * invalid block on the way and marked it (and its descendants) invalid: the
 * observer is not told which, so look for rows the chain no longer holds.
 * Rare (an invalid branch outworking the tip), hence a plain scan. */
static pu_err prune_invalid(pu_store *st)
{
    if (st->have_last && pu_hash_eq(pu_chain_tip_hash(st->chain), &st->last_stored))
        return PU_OK;
    pu_hash32 *bad = NULL;
    size_t n = 0;
    pu_err rc = collect_invalid(st, &bad, &n);
    for (size_t i = 0; rc == PU_OK && i < n; i++) {
        char hex[65];
        pu_hash_hex(&bad[i], hex);
        sqlite3_bind_text(st->stmt[S_DEL_BLOCK], 1, hex, 64, SQLITE_STATIC);
        rc = run(st, S_DEL_BLOCK, "cannot delete an invalid block");
        if (rc == PU_OK)
            st->stats.pruned++;
    }
    free(bad);
    return rc;
}

static void on_commit(void *ctx)
{
    pu_store *st = ctx;
    if (st->failed)
        return;
    pu_err rc = flush_touched(st);
    if (rc == PU_OK)
        rc = prune_invalid(st);
    if (rc == PU_OK)
        rc = put_tip(st);
    if (rc == PU_OK)
        rc = txn_commit(st);
    if (rc != PU_OK)
        cb_fail(st, rc);
    st->have_last = false;
}

static pu_err observe(pu_store *st, pu_chain *ch)
{
    pu_chain_observer obs = {.block_stored = on_block_stored, .begin = on_begin,
                             .connected = on_connected, .disconnected = on_connected,
                             .commit = on_commit, .ctx = st};
    st->chain = ch;
    st->have_last = false;
    pu_err rc = pu_chain_add_observer(ch, &obs);
    if (rc != PU_OK)
        st->chain = NULL;
    return rc;
}

/* ---- open / close ----------------------------------------------------------- */

/* A new file gets our application id and the schema; an existing one must
 * carry both, in our format version. */
static pu_err setup_schema(pu_store *st)
{
    int64_t app = 0, n_objects = 0, fmt = 0;
    bool found;
    pu_err rc = query1(st, "PRAGMA application_id", NULL, 0, &app, &found);
    if (rc == PU_OK)
        rc = query1(st, "SELECT COUNT(*) FROM sqlite_master", NULL, 0, &n_objects, &found);
    if (rc != PU_OK)
        return rc;
    if (app == 0 && n_objects == 0 && st->readonly) {
        return say(st, PU_ERR_DB, "empty database: no pouwsim chain in it");
    } else if (app == 0 && n_objects == 0) {
        char sql[sizeof schema_sql + 160];
        snprintf(sql, sizeof sql,
                 "BEGIN IMMEDIATE; PRAGMA application_id = %d; %s"
                 " INSERT INTO meta(key, value) VALUES('format', %d); COMMIT;",
                 PU_STORE_APP_ID, schema_sql, PU_STORE_FORMAT);
        if ((rc = exec(st, sql, "cannot create the schema")) != PU_OK) {
            txn_rollback(st);
            return rc;
        }
    } else if (app != PU_STORE_APP_ID) {
        return say(st, PU_ERR_DB,
                   "not a pouwsim store (application_id 0x%llx, %lld schema objects)",
                   (unsigned long long)app, (long long)n_objects);
    }
    rc = query1(st, "SELECT value FROM meta WHERE key = 'format'", NULL, 0, &fmt, &found);
    if (rc == PU_OK && (!found || fmt != PU_STORE_FORMAT))
        rc = say(st, PU_ERR_DB, "format version %lld, this build reads version %d",
                 (long long)fmt, PU_STORE_FORMAT);
    return rc;
}

static pu_err open_db(pu_store *st)
{
    int flags = st->readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    int rc = sqlite3_open_v2(st->path, &st->db, flags, NULL);
    if (rc != SQLITE_OK)
        return say(st, PU_ERR_DB, "cannot open: %s",
                   st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
    sqlite3_extended_result_codes(st->db, 1);
    sqlite3_busy_timeout(st->db, 2000); /* ad-hoc readers/writers on the same file */
    char mode[32] = "";
    bool found;
    /* Reading the header first gives the clearest message for a file that
     * is not a database at all. */
    pu_err e = query1(st, "PRAGMA schema_version", NULL, 0, NULL, &found);
    if (e != PU_OK || st->readonly) /* a reader takes the file as it is */
        return e;
    e = query1(st, "PRAGMA journal_mode=WAL", mode, sizeof mode, NULL, &found);
    if (e == PU_OK && strcmp(mode, "wal") != 0 && strcmp(mode, "memory") != 0)
        e = say(st, PU_ERR_DB, "cannot use WAL mode (journal_mode is '%s')", mode);
    if (e == PU_OK)
        e = exec(st, "PRAGMA synchronous=NORMAL", "cannot set synchronous=NORMAL");
    return e;
}

static pu_err prepare_all(pu_store *st)
{
    for (int i = 0; i < S_N; i++)
        if (sqlite3_prepare_v3(st->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &st->stmt[i],
                               NULL) != SQLITE_OK)
            return sql_fail(st, "cannot prepare statements (is this a pouwsim store?)");
    int64_t next = 0;
    bool found;
    pu_err rc = query1(st, "SELECT COALESCE(MAX(seq) + 1, 0) FROM blocks", NULL, 0, &next, &found);
    st->next_seq = next;
    return rc;
}

static pu_err open_any(const char *path, bool readonly, pu_store **out, char *err, size_t errlen)
{
    *out = NULL;
    pu_store *st = calloc(1, sizeof *st);
    if (!st || !(st->path = strdup(path))) {
        free(st);
        copy_msg(err, errlen, "store: out of memory");
        return PU_ERR_NOMEM;
    }
    st->readonly = readonly;
    pu_err rc = open_db(st);
    if (rc == PU_OK)
        rc = setup_schema(st);
    if (rc == PU_OK)
        rc = prepare_all(st);
    if (rc == PU_OK && (rc = pu_hmap_new(OPKEY_SIZE, 0, 256, &st->touched)) != PU_OK)
        say(st, rc, "out of memory");
    if (rc != PU_OK) {
        copy_msg(err, errlen, st->msg);
        pu_store_close(st);
        return rc;
    }
    *out = st;
    return PU_OK;
}

pu_err pu_store_open(const char *path, pu_store **out, char *err, size_t errlen)
{
    return open_any(path, false, out, err, errlen);
}

pu_err pu_store_open_readonly(const char *path, pu_store **out, char *err, size_t errlen)
{
    return open_any(path, true, out, err, errlen);
}

void pu_store_detach(pu_store *st)
{
    if (!st || !st->chain)
        return;
    if (!st->failed && txn_commit(st) != PU_OK)
        cb_fail(st, PU_ERR_DB);
    pu_chain_remove_observer(st->chain, st);
    st->chain = NULL;
}

void pu_store_close(pu_store *st)
{
    if (!st)
        return;
    pu_store_detach(st);
    if (st->db && !st->failed && txn_commit(st) != PU_OK)
        txn_rollback(st);
    for (int i = 0; i < S_N; i++)
        sqlite3_finalize(st->stmt[i]);
    sqlite3_close(st->db); /* every statement is finalized: cannot be busy */
    pu_hmap_free(st->touched);
    free(st->path);
    free(st);
}

pu_err pu_store_status(const pu_store *st, char *err, size_t errlen)
{
    if (st->failed)
        copy_msg(err, errlen, st->fail_msg);
    return st->failed;
}

pu_err pu_store_flush(pu_store *st, char *err, size_t errlen)
{
    if (!st->failed && txn_commit(st) != PU_OK)
        cb_fail(st, PU_ERR_DB);
    return pu_store_status(st, err, errlen);
}

void pu_store_get_stats(const pu_store *st, pu_store_stats *out) { *out = st->stats; }

/* ---- attach ------------------------------------------------------------------ */

static pu_err snapshot_coin(void *ctx, const pu_outpoint *op, const pu_coin *coin)
{
    return put_utxo(ctx, op, coin);
}

/* The chain as it stands -- active blocks, UTXO set, tip -- in one transaction. */
static pu_err write_snapshot(pu_store *st, pu_chain *ch)
{
    char genesis[65], params[2 * PU_PARAMS_ENCODED_LEN + 1];
    uint8_t enc[PU_PARAMS_ENCODED_LEN];
    pu_hash_hex(pu_block_hash(pu_chain_block_at(ch, 0)), genesis);
    pu_params_encode(pu_chain_params(ch), enc);
    pu_hex_encode(enc, sizeof enc, params);
    st->chain = ch; /* put_tip reads it */
    pu_err rc = txn_open(st);
    for (uint32_t h = 0; rc == PU_OK && h <= pu_chain_height(ch); h++)
        rc = put_block(st, pu_chain_block_at(ch, h), h);
    if (rc == PU_OK && (rc = pu_utxo_foreach_sorted(pu_chain_utxo(ch), snapshot_coin, st)) != PU_OK
        && rc != PU_ERR_DB) /* not a row failure, which has its message already */
        say(st, rc, "cannot write the UTXO set: %s", pu_strerror(rc));
    if (rc == PU_OK)
        rc = put_meta(st, "genesis", genesis, 0);
    if (rc == PU_OK)
        rc = put_meta(st, "params", params, 0);
    uint64_t salt;
    char tie[40] = "first_seen";
    if (pu_chain_tie_break(ch, &salt) == PU_TIE_RANDOM)
        snprintf(tie, sizeof tie, "random:%llu", (unsigned long long)salt);
    if (rc == PU_OK)
        rc = put_meta(st, "tie_break", tie, 0);
    if (rc == PU_OK)
        rc = put_tip(st);
    if (rc == PU_OK)
        rc = txn_commit(st);
    if (rc != PU_OK)
        txn_rollback(st);
    st->chain = NULL;
    return rc;
}

static pu_err check_usable(pu_store *st)
{
    if (st->failed) {
        memcpy(st->msg, st->fail_msg, sizeof st->msg);
        return st->failed;
    }
    if (st->chain)
        return say(st, PU_ERR_STATE, "already attached to a chain");
    return PU_OK;
}

pu_err pu_store_attach(pu_store *st, pu_chain *ch, char *err, size_t errlen)
{
    char g[80];
    bool found = false;
    int64_t rows = 0;
    bool any;
    pu_err rc = check_usable(st);
    if (rc == PU_OK && st->readonly)
        rc = say(st, PU_ERR_STATE, "opened read-only");
    if (rc == PU_OK)
        rc = get_meta(st, "genesis", g, sizeof g, &found);
    if (rc == PU_OK)
        rc = query1(st, "SELECT COUNT(*) FROM blocks", NULL, 0, &rows, &any);
    if (rc == PU_OK && (found || rows))
        rc = say(st, PU_ERR_STATE,
                 "the database already holds a chain (%lld blocks): use pu_store_load",
                 (long long)rows);
    if (rc == PU_OK)
        rc = write_snapshot(st, ch);
    if (rc == PU_OK && (rc = observe(st, ch)) != PU_OK)
        rc = say(st, rc, "the chain has no free observer slot");
    if (rc != PU_OK) {
        copy_msg(err, errlen, st->msg);
        return rc;
    }
    return PU_OK;
}

/* ---- load: blocks --------------------------------------------------------------- */

typedef struct block_row {
    const char *hash, *parent;
    const uint8_t *data;
    size_t len;
    int64_t height, seq;
    bool typed; /* columns have the types the schema promises */
} block_row;

static void read_row(sqlite3_stmt *s, block_row *r)
{
    r->hash = (const char *)sqlite3_column_text(s, 0);
    r->data = sqlite3_column_blob(s, 1);
    r->len = (size_t)sqlite3_column_bytes(s, 1);
    r->parent = (const char *)sqlite3_column_text(s, 3);
    r->height = sqlite3_column_int64(s, 2);
    r->seq = sqlite3_column_int64(s, 4);
    r->typed = r->hash && r->parent && sqlite3_column_type(s, 1) == SQLITE_BLOB
               && sqlite3_column_type(s, 2) == SQLITE_INTEGER
               && sqlite3_column_type(s, 4) == SQLITE_INTEGER;
}

/* The first row must be the expected genesis, byte for byte: the chain
 * connects genesis without validation, so nothing else would notice. */
static pu_err check_genesis_row(pu_store *st, const block_row *r, const pu_block *genesis)
{
    char want[65];
    uint8_t *buf = NULL;
    size_t len = 0;
    pu_hash_hex(pu_block_hash(genesis), want);
    if (!r->typed)
        return say(st, PU_ERR_DB, "block %.64s (seq %lld): a column is NULL or of the wrong type",
                   r->hash ? r->hash : "(no hash)", (long long)r->seq);
    if (strcmp(r->hash, want) != 0 || r->height != 0)
        return say(st, PU_ERR_DB, "first block row is %.64s at height %lld, expected genesis %s",
                   r->hash, (long long)r->height, want);
    pu_err rc = pu_block_serialize(genesis, &buf, &len);
    if (rc == PU_OK && (len != r->len || memcmp(buf, r->data, len) != 0))
        rc = say(st, PU_ERR_DB,
                 "block %s (genesis): stored data differs from the expected genesis", want);
    else if (rc != PU_OK)
        say(st, rc, "cannot serialise the genesis block");
    free(buf);
    return rc;
}

/* Decodes a row and checks it describes itself: hash, encoding, parent. */
static pu_err decode_row(pu_store *st, pu_crypto *c, const block_row *r, pu_block **out)
{
    pu_reason why;
    char got[65], prev[65];
    uint8_t *buf = NULL;
    size_t len = 0;
    *out = NULL;
    if (!r->typed)
        return say(st, PU_ERR_DB, "block %.64s (seq %lld): a column is NULL or of the wrong type",
                   r->hash ? r->hash : "(no hash)", (long long)r->seq);
    pu_err rc = pu_block_parse(c, r->data, r->len, out, &why);
    if (rc != PU_OK)
        return say(st, PU_ERR_DB, "block %.64s (seq %lld): data does not decode (%s, %s)", r->hash,
                   (long long)r->seq, pu_strerror(rc), pu_reason_str(why));
    pu_hash_hex(pu_block_hash(*out), got);
    pu_hash_hex(&pu_block_header(*out)->prev, prev);
    if (strcmp(got, r->hash) != 0)
        rc = say(st, PU_ERR_DB, "block %.64s (seq %lld): data hashes to %s: the row is damaged",
                 r->hash, (long long)r->seq, got);
    else if (strcmp(prev, r->parent) != 0)
        rc = say(st, PU_ERR_DB, "block %s (seq %lld): parent column %.64s, header says %s", got,
                 (long long)r->seq, r->parent, prev);
    else if ((rc = pu_block_serialize(*out, &buf, &len)) != PU_OK)
        say(st, rc, "block %s: cannot serialise", got);
    else if (len != r->len || memcmp(buf, r->data, len) != 0)
        rc = say(st, PU_ERR_DB, "block %s (seq %lld): data is not in canonical encoding", got,
                 (long long)r->seq);
    free(buf);
    if (rc != PU_OK) {
        pu_block_unref(*out);
        *out = NULL;
    }
    return rc;
}

/* A block accepted on its own can be marked invalid later in the replay,
 * when its branch becomes the best and fails full validation: the store
 * never keeps such blocks, so any here means the rows were altered.  When
 * the replay of row r (NULL: none) met one, r is named as well. */
static pu_err check_all_valid(pu_store *st, pu_chain *ch, const block_row *r)
{
    pu_hash32 *bad = NULL;
    size_t n = 0, first = 0;
    pu_chain *saved = st->chain;
    st->chain = ch; /* collect_invalid asks the chain being loaded */
    pu_err rc = collect_invalid(st, &bad, &n);
    st->chain = saved;
    char hex[65] = "";
    for (; rc == PU_OK && first < n; first++) { /* the culprit, not r itself */
        pu_hash_hex(&bad[first], hex);
        if (!r || strcmp(hex, r->hash) != 0)
            break;
    }
    if (rc == PU_OK && first < n && r)
        rc = say(st, PU_ERR_DB, "block %s (seq %lld, height %lld): refused on reload: block %s of "
                 "its branch failed validation when the branch became the best (%zu invalid block "
                 "rows)", r->hash, (long long)r->seq, (long long)r->height, hex, n);
    else if (rc == PU_OK && first < n)
        rc = say(st, PU_ERR_DB, "block %s failed validation on reload when its branch became the "
                 "best (%zu invalid block rows)", hex, n);
    free(bad);
    return rc;
}

/* Verdict on re-adding row r's block b: PU_OK only if the chain now holds
 * it as valid at the row's height. */
static pu_err judge_add(pu_store *st, pu_chain *ch, const block_row *r, const pu_block *b,
                        pu_err arc, const pu_add_result *res)
{
    uint32_t height;
    bool held = pu_chain_get(ch, pu_block_hash(b), &height, NULL) != NULL;
    if (arc != PU_OK && arc != PU_ERR_INVALID && arc != PU_ERR_EXISTS)
        return say(st, arc, "block %s (seq %lld): cannot add: %s", r->hash, (long long)r->seq,
                   pu_strerror(arc));
    if ((arc == PU_ERR_INVALID && res->reason == PU_R_INVALID_ANCESTOR)
        || (arc == PU_OK && res->reason != PU_R_ORPHAN && !held)) {
        pu_err rc = check_all_valid(st, ch, r); /* its branch failed: name the block that did */
        if (rc != PU_OK)
            return rc;
    }
    if (arc != PU_OK)
        return say(st, PU_ERR_DB, "block %s (seq %lld, height %lld): refused on reload: %s (tx %u)",
                   r->hash, (long long)r->seq, (long long)r->height, pu_reason_str(res->reason),
                   (unsigned)res->bad_tx);
    if (res->reason == PU_R_ORPHAN)
        return say(st, PU_ERR_DB, "block %s (seq %lld): its parent %s is not stored before it",
                   r->hash, (long long)r->seq, r->parent);
    if (!held)
        return say(st, PU_ERR_DB, "block %s (seq %lld): refused on reload", r->hash,
                   (long long)r->seq);
    if ((int64_t)height != r->height)
        return say(st, PU_ERR_DB, "block %s (seq %lld): height column %lld, chain height %u",
                   r->hash, (long long)r->seq, (long long)r->height, (unsigned)height);
    return PU_OK;
}

static pu_err replay_row(pu_store *st, pu_chain *ch, const block_row *r)
{
    pu_block *b;
    pu_add_result res;
    pu_err rc = decode_row(st, pu_chain_crypto(ch), r, &b);
    if (rc != PU_OK)
        return rc;
    pu_err arc = pu_chain_add_block(ch, b, PU_STORE_RELOAD_NOW_S, &res);
    rc = judge_add(st, ch, r, b, arc, &res);
    pu_block_unref(b);
    return rc;
}

/* Re-adds every row in seq order (next_seq already follows the largest,
 * see prepare_all). */
static pu_err replay_blocks(pu_store *st, pu_chain *ch, const pu_block *genesis)
{
    sqlite3_stmt *s = NULL;
    const char *sql = "SELECT hash, data, height, parent, seq FROM blocks ORDER BY seq";
    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
        return sql_fail(st, "cannot read blocks");
    pu_err rc = PU_OK;
    uint64_t rows = 0;
    int src = SQLITE_DONE;
    while (rc == PU_OK && (src = sqlite3_step(s)) == SQLITE_ROW) {
        block_row r;
        read_row(s, &r);
        rc = rows++ == 0 ? check_genesis_row(st, &r, genesis) : replay_row(st, ch, &r);
    }
    if (rc == PU_OK && src != SQLITE_DONE)
        rc = sql_fail(st, "cannot read blocks");
    if (rc == PU_OK && rows == 0)
        rc = say(st, PU_ERR_DB, "meta names a genesis but the blocks table is empty");
    sqlite3_finalize(s);
    return rc;
}

static pu_err check_tip(pu_store *st, const pu_chain *ch)
{
    char tip[80], got[65], h[32];
    bool found, hfound;
    pu_err rc = get_meta(st, "tip", tip, sizeof tip, &found);
    if (rc == PU_OK)
        rc = get_meta(st, "tip_height", h, sizeof h, &hfound);
    if (rc != PU_OK)
        return rc;
    pu_hash_hex(pu_chain_tip_hash(ch), got);
    if (!found || strcmp(tip, got) != 0)
        return say(st, PU_ERR_DB, "meta tip %s, but the stored blocks give tip %s (height %u)",
                   found ? tip : "(missing)", got, (unsigned)pu_chain_height(ch));
    if (!hfound || strtoll(h, NULL, 10) != (long long)pu_chain_height(ch))
        return say(st, PU_ERR_DB, "meta tip_height %s, but tip %s is at height %u",
                   hfound ? h : "(missing)", got, (unsigned)pu_chain_height(ch));
    return PU_OK;
}

/* ---- load: UTXO set --------------------------------------------------------------- */

/* "txid_hex:index" exactly as pu_outpoint_key writes it (lower case, no
 * leading zeros), so one coin cannot hide behind two spellings. */
static bool parse_key(const char *key, pu_outpoint *op)
{
    size_t n = strlen(key);
    char hex[65], canon[KEYTEXT_SIZE];
    if (n < 66 || n > 75 || key[64] != ':')
        return false;
    memcpy(hex, key, 64);
    hex[64] = '\0';
    if (pu_hex_decode(hex, op->txid.b, 32) != PU_OK)
        return false;
    uint64_t v = 0;
    for (size_t i = 65; i < n; i++) {
        if (key[i] < '0' || key[i] > '9' || (v = v * 10 + (uint64_t)(key[i] - '0')) > UINT32_MAX)
            return false;
    }
    op->index = (uint32_t)v;
    pu_outpoint_key(op, canon, sizeof canon);
    return strcmp(canon, key) == 0;
}

static pu_err check_utxo_row(pu_store *st, const pu_utxo *u, sqlite3_stmt *s)
{
    const char *key = (const char *)sqlite3_column_text(s, 0);
    const uint8_t *data = sqlite3_column_blob(s, 1);
    size_t len = (size_t)sqlite3_column_bytes(s, 1);
    pu_outpoint op;
    pu_coin coin;
    if (!key || !parse_key(key, &op))
        return say(st, PU_ERR_DB, "utxos row '%.80s': key is not txid_hex:index in canonical form",
                   key ? key : "NULL");
    if (!data || pu_coin_parse(data, len, &coin) != PU_OK)
        return say(st, PU_ERR_DB, "utxos row %s: data does not decode as a coin (%zu bytes)", key,
                   len);
    const pu_coin *have = pu_utxo_find(u, &op);
    if (!have)
        return say(st, PU_ERR_DB,
                   "utxos row %s: no such coin in the UTXO set rebuilt from the blocks", key);
    uint8_t want[PU_COIN_SIZE];
    pu_coin_serialize(have, want);
    if (memcmp(want, data, PU_COIN_SIZE) != 0)
        return say(st, PU_ERR_DB,
                   "utxos row %s: stored coin (amount %lld, height %u, flags %u) differs from the "
                   "rebuilt one (amount %lld, height %u, flags %u)", key, (long long)coin.amount,
                   (unsigned)coin.height, coin.flags, (long long)have->amount,
                   (unsigned)have->height, have->flags);
    return PU_OK;
}

static pu_err missing_visit(void *ctx, const pu_outpoint *op, const pu_coin *coin)
{
    pu_store *st = ctx;
    char key[KEYTEXT_SIZE];
    pu_outpoint_key(op, key, sizeof key);
    sqlite3_stmt *s = st->stmt[S_HAS_UTXO];
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    pu_err e = PU_OK;
    if (rc == SQLITE_DONE)
        e = say(st, PU_ERR_DB, "utxos: no row for %s (amount %lld, height %u), which the UTXO set "
                "rebuilt from the blocks holds", key, (long long)coin->amount,
                (unsigned)coin->height);
    else if (rc != SQLITE_ROW)
        e = sql_fail(st, "cannot read utxos");
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return e;
}

/* The table must equal the rebuilt set: every row matches a coin (pass 1),
 * and when the counts differ, name a coin without a row (pass 2). */
static pu_err check_utxos(pu_store *st, const pu_utxo *u)
{
    sqlite3_stmt *s = NULL;
    const char *sql = "SELECT key, data FROM utxos ORDER BY key";
    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
        return sql_fail(st, "cannot read utxos");
    pu_err rc = PU_OK;
    size_t rows = 0;
    int src = SQLITE_DONE;
    while (rc == PU_OK && (src = sqlite3_step(s)) == SQLITE_ROW) {
        rc = check_utxo_row(st, u, s);
        rows++;
    }
    if (rc == PU_OK && src != SQLITE_DONE)
        rc = sql_fail(st, "cannot read utxos");
    sqlite3_finalize(s);
    if (rc == PU_OK && rows != pu_utxo_count(u)) {
        rc = pu_utxo_foreach_sorted(u, missing_visit, st);
        if (rc != PU_OK && rc != PU_ERR_DB)
            say(st, rc, "cannot scan the rebuilt UTXO set: %s", pu_strerror(rc));
        else if (rc == PU_OK)
            rc = say(st, PU_ERR_DB, "utxos holds %zu rows, the rebuilt UTXO set %zu coins", rows,
                     pu_utxo_count(u));
    }
    return rc;
}

/* ---- load ----------------------------------------------------------------------- */

/* meta 'params' as decoded parameters; *found false for a database written
 * before they were recorded. */
static pu_err read_params(pu_store *st, pu_params *out, bool *found)
{
    char hex[2 * PU_PARAMS_ENCODED_LEN + 8];
    uint8_t enc[PU_PARAMS_ENCODED_LEN];
    pu_err rc = get_meta(st, "params", hex, sizeof hex, found);
    if (rc != PU_OK || !*found)
        return rc;
    if (strlen(hex) != 2 * PU_PARAMS_ENCODED_LEN
        || pu_hex_decode(hex, enc, sizeof enc) != PU_OK
        || pu_params_decode(enc, sizeof enc, out) != PU_OK)
        return say(st, PU_ERR_DB, "meta params: not an encoding of chain parameters version %u",
                   PU_PARAMS_VERSION);
    return PU_OK;
}

/* A chain replayed under other consensus rules would be a different chain:
 * the consensus fields the database records must be the caller's (policy
 * fields such as fees and mempool size may differ). */
static pu_err check_params(pu_store *st, const pu_params *p)
{
    pu_params have;
    bool found;
    pu_err rc = read_params(st, &have, &found);
    if (rc != PU_OK || !found)
        return rc;
    if (!pu_params_consensus_eq(&have, p))
        return say(st, PU_ERR_DB, "the database was written under other chain parameters than "
                   "the ones given (meta params)");
    return PU_OK;
}

/* The tie-break rule the chain was stored with: the replay must break ties
 * between equal-work tips the same way to reach the same tip.  Databases
 * written before the rule was recorded were first-seen. */
static pu_err apply_tie_break(pu_store *st, pu_chain *ch)
{
    char text[48];
    bool found;
    pu_err rc = get_meta(st, "tie_break", text, sizeof text, &found);
    if (rc != PU_OK || !found || !strcmp(text, "first_seen"))
        return rc;
    char *end;
    if (strncmp(text, "random:", 7) != 0 || text[7] < '0' || text[7] > '9')
        return say(st, PU_ERR_DB, "meta tie_break '%s': not first_seen or random:SALT", text);
    errno = 0;
    unsigned long long salt = strtoull(text + 7, &end, 10);
    if (errno || *end)
        return say(st, PU_ERR_DB, "meta tie_break '%s': not first_seen or random:SALT", text);
    pu_chain_set_tie_break(ch, PU_TIE_RANDOM, salt);
    return PU_OK;
}

static pu_err rebuild(pu_store *st, const pu_chain_opts *opts, pu_block *genesis, pu_chain **out)
{
    pu_err rc = pu_chain_new(opts, genesis, out);
    if (rc != PU_OK)
        return say(st, rc, "cannot create a chain on the genesis block: %s", pu_strerror(rc));
    rc = apply_tie_break(st, *out);
    if (rc == PU_OK)
        rc = replay_blocks(st, *out, genesis);
    if (rc == PU_OK)
        rc = check_all_valid(st, *out, NULL);
    if (rc == PU_OK)
        rc = check_tip(st, *out);
    if (rc == PU_OK)
        rc = check_utxos(st, pu_chain_utxo(*out));
    if (rc != PU_OK) {
        pu_chain_free(*out);
        *out = NULL;
    }
    return rc;
}

pu_err pu_store_load(pu_store *st, const pu_chain_opts *opts, pu_block *genesis, pu_chain **out,
                     char *err, size_t errlen)
{
    char g[80], want[65];
    bool found = false;
    *out = NULL;
    pu_hash_hex(pu_block_hash(genesis), want);
    pu_err rc = check_usable(st);
    if (rc == PU_OK)
        rc = get_meta(st, "genesis", g, sizeof g, &found);
    if (rc == PU_OK && !found && st->readonly)
        rc = say(st, PU_ERR_DB, "the database holds no chain (meta has no genesis)");
    if (rc == PU_OK && !found) { /* a new database: start the chain */
        if ((rc = pu_chain_new(opts, genesis, out)) != PU_OK)
            say(st, rc, "cannot create a chain on the genesis block: %s", pu_strerror(rc));
        else if ((rc = pu_store_attach(st, *out, NULL, 0)) != PU_OK) {
            pu_chain_free(*out);
            *out = NULL;
        }
        if (rc != PU_OK)
            copy_msg(err, errlen, st->msg);
        return rc;
    }
    if (rc == PU_OK && strcmp(g, want) != 0)
        rc = say(st, PU_ERR_DB, "database genesis %.64s differs from the expected genesis %s", g,
                 want);
    if (rc == PU_OK)
        rc = check_params(st, opts->params);
    if (rc == PU_OK)
        rc = rebuild(st, opts, genesis, out);
    if (rc == PU_OK && !st->readonly && (rc = observe(st, *out)) != PU_OK) {
        rc = say(st, rc, "the chain has no free observer slot");
        pu_chain_free(*out);
        *out = NULL;
    }
    if (rc != PU_OK) {
        copy_msg(err, errlen, st->msg);
        return rc;
    }
    return PU_OK;
}

/* ---- reading ------------------------------------------------------------------- */

pu_err pu_store_get_meta(pu_store *st, const char *key, char *buf, size_t n, bool *found,
                         char *err, size_t errlen)
{
    pu_err rc = get_meta(st, key, buf, n, found);
    if (rc != PU_OK)
        copy_msg(err, errlen, st->msg);
    return rc;
}

pu_err pu_store_set_meta(pu_store *st, const char *key, const char *value, char *err,
                         size_t errlen)
{
    static const char own[][12] = {"format", "genesis", "tip", "tip_height", "params",
                                   "tie_break"};
    pu_err rc = PU_OK;
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
        if (!strcmp(key, own[i]))
            rc = say(st, PU_ERR_RANGE, "meta '%s' belongs to the store", key);
    if (rc == PU_OK && st->readonly)
        rc = say(st, PU_ERR_STATE, "opened read-only");
    if (rc == PU_OK && st->failed)
        rc = check_usable(st); /* the sticky error, with its message */
    if (rc == PU_OK)
        rc = put_meta(st, key, value, 0);
    if (rc != PU_OK)
        copy_msg(err, errlen, st->msg);
    return rc;
}

pu_err pu_store_params(pu_store *st, pu_params *out, char *err, size_t errlen)
{
    bool found;
    pu_err rc = read_params(st, out, &found);
    if (rc == PU_OK && !found)
        rc = say(st, PU_ERR_NOTFOUND, "meta has no params (written by an older pouwsim)");
    if (rc != PU_OK)
        copy_msg(err, errlen, st->msg);
    return rc;
}

pu_err pu_store_has_utxo(pu_store *st, const pu_outpoint *op, bool *found, char *err,
                         size_t errlen)
{
    char key[KEYTEXT_SIZE];
    pu_outpoint_key(op, key, sizeof key);
    sqlite3_stmt *s = st->stmt[S_HAS_UTXO];
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    *found = rc == SQLITE_ROW;
    pu_err e = rc == SQLITE_ROW || rc == SQLITE_DONE ? PU_OK : sql_fail(st, "cannot read utxos");
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    if (e != PU_OK)
        copy_msg(err, errlen, st->msg);
    return e;
}

pu_err pu_store_foreach_block(pu_store *st, pu_store_block_fn fn, void *ctx, char *err,
                              size_t errlen)
{
    sqlite3_stmt *s = NULL;
    const char *sql = "SELECT hash, data, height, parent, seq FROM blocks ORDER BY seq";
    pu_err rc = PU_OK;
    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) {
        rc = sql_fail(st, "cannot read blocks");
        copy_msg(err, errlen, st->msg);
        return rc;
    }
    int src = SQLITE_DONE;
    while ((src = sqlite3_step(s)) == SQLITE_ROW) {
        block_row r;
        read_row(s, &r);
        pu_store_block_row out = {r.hash, r.parent, r.height, r.seq, r.data, r.len};
        if ((rc = fn(ctx, &out)) != PU_OK)
            break; /* the callback's own failure: its message is the caller's */
    }
    if (rc == PU_OK && src != SQLITE_DONE) {
        rc = sql_fail(st, "cannot read blocks");
        copy_msg(err, errlen, st->msg);
    }
    sqlite3_finalize(s);
    return rc;
}

pu_err pu_store_foreach_utxo(pu_store *st, pu_store_utxo_fn fn, void *ctx, char *err,
                             size_t errlen)
{
    sqlite3_stmt *s = NULL;
    pu_err rc = PU_OK;
    if (sqlite3_prepare_v2(st->db, "SELECT key, data FROM utxos ORDER BY key", -1, &s, NULL)
        != SQLITE_OK) {
        rc = sql_fail(st, "cannot read utxos");
        copy_msg(err, errlen, st->msg);
        return rc;
    }
    int src = SQLITE_DONE;
    while ((src = sqlite3_step(s)) == SQLITE_ROW) {
        const char *key = (const char *)sqlite3_column_text(s, 0);
        const uint8_t *data = sqlite3_column_blob(s, 1);
        if ((rc = fn(ctx, key ? key : "", data, (size_t)sqlite3_column_bytes(s, 1))) != PU_OK)
            break; /* the callback's own failure */
    }
    if (rc == PU_OK && src != SQLITE_DONE) {
        rc = sql_fail(st, "cannot read utxos");
        copy_msg(err, errlen, st->msg);
    }
    sqlite3_finalize(s);
    return rc;
}

/* "file:<path, percent-encoded>?immutable=1" */
static char *probe_uri(const char *path)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(path);
    char *u = malloc(3 * n + 32), *w = u;
    if (!u)
        return NULL;
    /* an absolute path gets an empty authority, so "//x" stays a path */
    w += sprintf(w, path[0] == '/' ? "file://" : "file:");
    for (const unsigned char *c = (const unsigned char *)path; *c; c++) {
        bool plain = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                     (*c >= '0' && *c <= '9') || *c == '/' || *c == '.' || *c == '_' || *c == '-';
        if (plain) {
            *w++ = (char)*c;
        } else {
            *w++ = '%';
            *w++ = hex[*c >> 4];
            *w++ = hex[*c & 15];
        }
    }
    strcpy(w, "?immutable=1");
    return u;
}

pu_err pu_store_probe(const char *path, pu_hash32 *genesis, char *err, size_t errlen)
{
    memset(genesis, 0, sizeof *genesis);
    pu_store st;
    memset(&st, 0, sizeof st);
    st.path = (char *)path; /* for messages only; never freed here */
    int64_t app = 0, fmt = 0;
    bool found = false;
    char g[80] = "";
    pu_err rc = PU_OK;
    /* immutable=1: no lock, no -wal or -shm file created beside it, no
     * journal replayed: the file is only read.  (A store closed cleanly has
     * everything in the main file; one whose newest state sits in a WAL
     * reads as what it was before, which can only make it look foreign.) */
    char *uri = probe_uri(path);
    if (!uri)
        rc = say(&st, PU_ERR_NOMEM, "out of memory");
    else if (sqlite3_open_v2(uri, &st.db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL) != SQLITE_OK)
        rc = say(&st, PU_ERR_DB, "cannot open: %s",
                 st.db ? sqlite3_errmsg(st.db) : "out of memory");
    free(uri);
    if (rc == PU_OK)
        rc = query1(&st, "PRAGMA application_id", NULL, 0, &app, &found);
    if (rc == PU_OK && app != PU_STORE_APP_ID)
        rc = say(&st, PU_ERR_DB, "not a pouwsim store (application_id 0x%llx)",
                 (unsigned long long)app);
    if (rc == PU_OK)
        rc = query1(&st, "SELECT value FROM meta WHERE key = 'format'", NULL, 0, &fmt, &found);
    if (rc == PU_OK && (!found || fmt != PU_STORE_FORMAT))
        rc = say(&st, PU_ERR_DB, "format version %lld, this build reads version %d",
                 (long long)fmt, PU_STORE_FORMAT);
    if (rc == PU_OK)
        rc = query1(&st, "SELECT value FROM meta WHERE key = 'genesis'", g, sizeof g, NULL, &found);
    if (rc == PU_OK && found && (strlen(g) != 64 || pu_hex_decode(g, genesis->b, 32) != PU_OK))
        rc = say(&st, PU_ERR_DB, "meta genesis '%.70s' is not a block hash", g);
    sqlite3_close(st.db);
    if (rc != PU_OK)
        copy_msg(err, errlen, st.msg);
    return rc;
}
