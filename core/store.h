/* core/store.h -- SQLite persistence of one node's chain (PROTOCOL.md s9).
 *
 * Schema (one database file per chosen node):
 *   blocks(hash TEXT PRIMARY KEY, data BLOB, height INTEGER, parent TEXT,
 *          seq INTEGER UNIQUE)       data = pu_block_serialize; hash and
 *                                    parent are lower-case hex; seq is the
 *                                    order in which the chain first stored it
 *   utxos(key TEXT PRIMARY KEY, data BLOB)   key = pu_outpoint_key
 *                                    ("txid_hex:index"), data = pu_coin_serialize
 *   meta(key TEXT PRIMARY KEY, value)  'format' (PU_STORE_FORMAT), 'genesis'
 *                                    and 'tip' (hex), 'tip_height', 'params'
 *                                    (hex of pu_params_encode: the rules the
 *                                    chain was stored under), 'tie_break'
 *                                    ("first_seen", or "random:SALT" in
 *                                    decimal: the chain's rule between tips
 *                                    of equal work), and keys of the
 *                                    caller's (pu_store_set_meta)
 * The file carries PRAGMA application_id PU_STORE_APP_ID, so a store never
 * writes into some other program's SQLite database.
 *
 * Consistency.  The database always describes one consistent chain state:
 * every SQL transaction commits a set of blocks whose parents are all stored,
 * the UTXO set of the tip named in meta, and nothing else.  Writes follow the
 * chain's observer brackets:
 *   - a block entering the block tree opens a SQL transaction if none is open
 *     and inserts its row;
 *   - begin ... commit (one connected block, or a whole reorganisation) adds
 *     the UTXO changes and the new tip, and commits.
 * So the usual case -- a block that becomes the tip -- is one commit, and a
 * side-branch block that does not move the tip is folded into the next
 * commit (or into pu_store_flush / pu_store_close).  WAL mode with
 * synchronous=NORMAL: a killed process loses at most the transaction in
 * flight, never the file; a power cut may also roll back the last few
 * commits, never past a consistent state.
 *
 * Blocks the chain later finds invalid (a stored side branch that fails full
 * validation when it becomes the best) are deleted in the same transaction,
 * so a reload never meets a block it must refuse.
 *
 * Errors inside observer callbacks cannot be returned through the callback:
 * the first one rolls the open transaction back, is kept in the store, and
 * every later callback does nothing, so the file stays at the last state it
 * committed (consistent, but behind the chain).  pu_store_status,
 * pu_store_flush, pu_store_attach and pu_store_load report it.
 *
 * Messages.  Every function taking (err, errlen) writes a one-line message
 * there on failure (truncated to errlen, always NUL-terminated when
 * errlen > 0; err may be NULL): it names the file, the row (block hash,
 * UTXO key) and the problem, and quotes SQLite's own text for SQLite
 * failures.  A store is not thread-safe; one per chain. */
#ifndef PU_STORE_H
#define PU_STORE_H

#include "core/chain.h"

#define PU_STORE_FORMAT 1
#define PU_STORE_APP_ID 0x50755754 /* "PuWT" */

/** Clock passed to pu_chain_add_block while pu_store_load replays the
 * blocks: far beyond any simulated time, so the receiver-side future-time
 * rule (which depends on when a block arrived, not on the block) cannot
 * refuse a block that was accepted when it arrived.  Every consensus rule
 * is re-checked. */
#define PU_STORE_RELOAD_NOW_S (UINT64_MAX / 2)

typedef struct pu_store pu_store;

/** Opens or creates the database at path (":memory:" works too, for
 * benchmarks), enables WAL and synchronous=NORMAL, creates the schema if the
 * file is new.  PU_ERR_DB when the file cannot be opened, is not an SQLite
 * database, belongs to another application or has another format version. */
PU_NODISCARD pu_err pu_store_open(const char *path, pu_store **out, char *err, size_t errlen);

/** Commits pending side-branch rows (best effort: call pu_store_flush first
 * to see a failure), detaches from the chain and closes the file.  The chain
 * must still be alive (close the store before freeing its chain, or call
 * pu_store_detach first).  NULL does nothing. */
void pu_store_close(pu_store *st);

/** Starts persisting ch in a *new* (empty) database: writes the chain's
 * active blocks (genesis, or all of them if the chain already grew), its
 * UTXO set and tip in one transaction, then adds the store to ch's
 * observers (others keep observing).  ch must outlive the attachment.
 * PU_ERR_STATE if the store is already attached or the database already
 * holds a chain (use pu_store_load for that). */
PU_NODISCARD pu_err pu_store_attach(pu_store *st, pu_chain *ch, char *err, size_t errlen);

/** Stops observing (commits pending rows first, best effort).  Safe when not attached. */
void pu_store_detach(pu_store *st);

/** Rebuilds the chain the database holds and attaches the store to it.
 *
 * pu_chain_new(opts, genesis) with the tie-break rule meta records, then
 * every block row in first-seen (seq)
 * order is decoded (pu_block_parse), checked against its row (hash, parent,
 * canonical encoding, height) and re-added with pu_chain_add_block at
 * PU_STORE_RELOAD_NOW_S -- full re-validation.  Seq order puts every parent
 * before its children and reproduces the first-seen tie-break of equal-work
 * branches exactly.  Then the tip must equal meta's, and the utxos table
 * must equal the rebuilt UTXO set row for row.  Any difference is PU_ERR_DB
 * with a message naming the row: an undecodable or damaged block, a block
 * refused by validation (with its reason), a genesis other than `genesis`,
 * parameters other than meta 'params' (when recorded), a tip other than
 * meta's, a missing, extra, altered or undecodable utxos row.  On failure
 * *out is NULL and the store stays unattached.
 *
 * An empty database gives a fresh chain on `genesis` (attached, genesis
 * written).  The mempool is not persisted: the new chain's mempool holds only
 * what the replay itself returned to it (transactions of branches abandoned
 * during the replay).  genesis is borrowed (the chain takes its own
 * reference).  Free the chain after pu_store_close / pu_store_detach. */
PU_NODISCARD pu_err pu_store_load(pu_store *st, const pu_chain_opts *opts, pu_block *genesis,
                                  pu_chain **out, char *err, size_t errlen);

/* ---- reading a store (pouwsim chain) ---- */

/** Opens an existing store for reading only: never creates the file, never
 * writes (no schema, no journal-mode switch); the same checks of application
 * id and format version as pu_store_open.  pu_store_load on such a store
 * rebuilds and checks the chain exactly as it does otherwise and leaves the
 * store unattached (the chain is the caller's to query and free); an empty
 * database is PU_ERR_DB.  pu_store_attach and pu_store_set_meta are
 * PU_ERR_STATE. */
PU_NODISCARD pu_err pu_store_open_readonly(const char *path, pu_store **out, char *err,
                                           size_t errlen);

/** meta[key] as text into buf (truncated to n, NUL-terminated); *found false
 * when absent. */
PU_NODISCARD pu_err pu_store_get_meta(pu_store *st, const char *key, char *buf, size_t n,
                                      bool *found, char *err, size_t errlen);
/** Sets a caller's meta key (text).  PU_ERR_RANGE for the store's own keys
 * (format, genesis, tip, tip_height, params, tie_break). */
PU_NODISCARD pu_err pu_store_set_meta(pu_store *st, const char *key, const char *value, char *err,
                                      size_t errlen);
/** The parameters meta 'params' records.  PU_ERR_NOTFOUND for a database
 * written before they were recorded, PU_ERR_DB if they do not decode. */
PU_NODISCARD pu_err pu_store_params(pu_store *st, pu_params *out, char *err, size_t errlen);

/** Whether the utxos table holds a row for op. */
PU_NODISCARD pu_err pu_store_has_utxo(pu_store *st, const pu_outpoint *op, bool *found, char *err,
                                      size_t errlen);

/** One row of the blocks table, borrowed for the callback only. */
typedef struct pu_store_block_row {
    const char *hash, *parent; /* as stored: NULL if the column is NULL */
    int64_t height, seq;
    const uint8_t *data;
    size_t len;
} pu_store_block_row;
typedef pu_err (*pu_store_block_fn)(void *ctx, const pu_store_block_row *row);
/** Visits every block row in seq order (first stored first).  A callback's
 * error stops the scan and is returned. */
PU_NODISCARD pu_err pu_store_foreach_block(pu_store *st, pu_store_block_fn fn, void *ctx,
                                           char *err, size_t errlen);
/** Visits every utxos row in key order: key text and data as stored. */
typedef pu_err (*pu_store_utxo_fn)(void *ctx, const char *key, const uint8_t *data, size_t len);
PU_NODISCARD pu_err pu_store_foreach_utxo(pu_store *st, pu_store_utxo_fn fn, void *ctx, char *err,
                                          size_t errlen);

/** Looks at an existing file without changing it -- unlike
 * pu_store_open_readonly, it creates no -wal or -shm file beside it and takes
 * no lock (SQLite's immutable=1; a state still in a WAL is not seen): PU_OK
 * when it is a pouwsim store of our format, with *genesis its genesis hash
 * (all zero when it holds no chain yet); PU_ERR_DB when it is not (another
 * program's database, not SQLite at all, another format) or cannot be read,
 * with a message.  Used before replacing a database file (sim/cmd_run.c). */
PU_NODISCARD pu_err pu_store_probe(const char *path, pu_hash32 *genesis, char *err,
                                   size_t errlen);

/** Commits pending side-branch rows now.  Returns the sticky error if any. */
PU_NODISCARD pu_err pu_store_flush(pu_store *st, char *err, size_t errlen);

/** PU_OK, or the first error an observer callback met (kept until close). */
PU_NODISCARD pu_err pu_store_status(const pu_store *st, char *err, size_t errlen);

typedef struct pu_store_stats {
    uint64_t commits;      /* SQL transactions committed */
    uint64_t blocks;       /* block rows inserted */
    uint64_t utxo_puts;    /* utxos rows inserted or replaced */
    uint64_t utxo_dels;    /* utxos rows deleted */
    uint64_t pruned;       /* block rows deleted because the chain found them invalid */
} pu_store_stats;
void pu_store_get_stats(const pu_store *st, pu_store_stats *out);

#endif
