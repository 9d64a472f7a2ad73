/* sim/cmd_chain.c -- `pouwsim chain` (see cmd_chain.h).
 *
 * The inspection subcommands read the rows as they are (a damaged row is
 * shown as damaged, the rest stays readable); only `verify` judges, and it
 * does so with core/store's reload -- the same code a node would use to
 * reopen its database -- so there is one definition of a valid database. */
#include "sim/cmd_chain.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/econ.h"
#include "core/hmap.h"
#include "core/opret.h"
#include "core/pouw.h"
#include "core/store.h"
#include "core/task.h"
#include "sim/cmd_opret.h"
#include "sim/report.h"
#include "sim/units.h"

const char sim_cmd_chain_usage[] =
    "usage: pouwsim chain FILE.sqlite [summary] [--json]\n"
    "       pouwsim chain FILE.sqlite blocks [--from H] [--to H] [--json]\n"
    "       pouwsim chain FILE.sqlite block HASH|HEIGHT [--json]\n"
    "       pouwsim chain FILE.sqlite tx TXID [--json]\n"
    "       pouwsim chain FILE.sqlite balance ADDRESS [--json]\n"
    "       pouwsim chain FILE.sqlite verify [--fmnist-dir DIR] [--mnist-dir DIR] [--json]\n"
    "\n"
    "Reads the chain database a run wrote with --db (opened read-only).  verify\n"
    "re-validates every block from genesis with the ledger code and names the\n"
    "first failure.  HASH may be a unique prefix of at least 8 hex digits.\n"
    "\n"
    "exit status: 0 ok, 1 invalid database (verify) or system failure,\n"
    "2 bad usage, not a chain database, or no such block/transaction\n";

#define ERRLEN 512

/* ---- the database as rows ------------------------------------------------------ */

typedef struct brow {
    char hash[65], parent[65];
    int64_t height, seq;
    pu_block *b;        /* NULL: the row does not decode */
    char why[160];      /* what is wrong with the row ("" when nothing) */
    bool active;
} brow;

typedef struct txloc {
    uint32_t row, index;
} txloc;

typedef struct cview {
    const char *path;
    pu_store *st;
    pu_crypto *crypto;
    brow *rows;
    size_t n, cap;
    pu_hmap *by_hash;   /* block hash -> row index (uint32) */
    pu_hmap *by_txid;   /* txid -> txloc, an active block's copy preferred */
    uint32_t *at;       /* active row index per height, tip_height + 1 entries */
    uint32_t tip_height, n_active;
    char tip[80], genesis[80];
    char err[ERRLEN];
} cview;

static pu_err collect_row(void *ctx, const pu_store_block_row *r)
{
    cview *v = ctx;
    if (v->n == v->cap) {
        size_t cap = v->cap ? 2 * v->cap : 64;
        brow *nr = realloc(v->rows, cap * sizeof *nr);
        if (!nr)
            return PU_ERR_NOMEM;
        v->rows = nr;
        v->cap = cap;
    }
    brow *b = &v->rows[v->n];
    memset(b, 0, sizeof *b);
    snprintf(b->hash, sizeof b->hash, "%s", r->hash ? r->hash : "");
    snprintf(b->parent, sizeof b->parent, "%s", r->parent ? r->parent : "");
    b->height = r->height;
    b->seq = r->seq;
    pu_reason why = PU_R_OK;
    if (!r->data || pu_block_parse(v->crypto, r->data, r->len, &b->b, &why) != PU_OK) {
        snprintf(b->why, sizeof b->why, "data does not decode (%s)", pu_reason_str(why));
    } else {
        char got[65];
        pu_hash_hex(pu_block_hash(b->b), got);
        if (strcmp(got, b->hash) != 0)
            snprintf(b->why, sizeof b->why, "data hashes to %s: the row is damaged", got);
    }
    v->n++;
    return PU_OK;
}

/* txid -> first location, replaced by an active block's copy. */
static pu_err index_txs(cview *v)
{
    for (uint32_t i = 0; i < v->n; i++) {
        const brow *r = &v->rows[i];
        for (uint32_t j = 0; r->b && !r->why[0] && j < pu_block_n_tx(r->b); j++) {
            void *slot;
            bool created;
            pu_err rc = pu_hmap_put(v->by_txid, pu_tx_id(pu_block_tx(r->b, j))->b, &slot, &created);
            if (rc != PU_OK)
                return rc;
            txloc *l = slot;
            if (created || (r->active && !v->rows[l->row].active))
                *l = (txloc){i, j};
        }
    }
    return PU_OK;
}

/* The active chain: meta tip back along the parent column. */
static pu_err walk_active(cview *v)
{
    bool found;
    char h[32];
    pu_err rc = pu_store_get_meta(v->st, "tip", v->tip, sizeof v->tip, &found, v->err, ERRLEN);
    if (rc == PU_OK && found)
        rc = pu_store_get_meta(v->st, "tip_height", h, sizeof h, &found, v->err, ERRLEN);
    if (rc != PU_OK)
        return rc;
    if (!found) {
        snprintf(v->err, ERRLEN, "meta has no tip: not a chain this build can read");
        return PU_ERR_DB;
    }
    v->tip_height = (uint32_t)strtoul(h, NULL, 10);
    if (v->tip_height >= v->n) { /* also bounds the allocation below */
        snprintf(v->err, ERRLEN, "meta tip_height %u, but only %zu block rows are stored",
                 v->tip_height, v->n);
        return PU_ERR_DB;
    }
    v->at = calloc((size_t)v->tip_height + 1, sizeof *v->at);
    if (!v->at)
        return PU_ERR_NOMEM;
    const char *cur = v->tip;
    for (int64_t height = v->tip_height; height >= 0; height--) {
        uint32_t *idx = NULL;
        pu_hash32 hh;
        if (pu_hex_decode(cur, hh.b, 32) == PU_OK)
            idx = pu_hmap_get(v->by_hash, hh.b);
        if (!idx) {
            snprintf(v->err, ERRLEN, "the active chain breaks at height %lld: block %.64s is not "
                     "stored", (long long)height, cur);
            return PU_ERR_DB;
        }
        v->rows[*idx].active = true;
        v->at[height] = *idx;
        v->n_active++;
        cur = v->rows[*idx].parent;
    }
    return PU_OK;
}

static pu_err view_open(cview *v, const char *path)
{
    memset(v, 0, sizeof *v);
    v->path = path;
    pu_err rc = pu_store_open_readonly(path, &v->st, v->err, ERRLEN);
    if (rc == PU_OK && (rc = pu_crypto_new(&v->crypto)) == PU_OK
        && (rc = pu_hmap_new(32, sizeof(uint32_t), 256, &v->by_hash)) == PU_OK)
        rc = pu_hmap_new(32, sizeof(txloc), 1024, &v->by_txid);
    if (rc == PU_OK)
        rc = pu_store_foreach_block(v->st, collect_row, v, v->err, ERRLEN);
    for (uint32_t i = 0; rc == PU_OK && i < v->n; i++) {
        pu_hash32 h;
        void *slot;
        if (pu_hex_decode(v->rows[i].hash, h.b, 32) != PU_OK)
            continue; /* a row whose key is not a hash cannot be linked to */
        if ((rc = pu_hmap_put(v->by_hash, h.b, &slot, NULL)) == PU_OK)
            *(uint32_t *)slot = i;
    }
    bool found;
    if (rc == PU_OK)
        rc = pu_store_get_meta(v->st, "genesis", v->genesis, sizeof v->genesis, &found, v->err,
                               ERRLEN);
    if (rc == PU_OK)
        rc = walk_active(v);
    if (rc == PU_OK)
        rc = index_txs(v);
    if (rc == PU_ERR_NOMEM)
        snprintf(v->err, ERRLEN, "out of memory");
    return rc;
}

static void view_close(cview *v)
{
    for (size_t i = 0; i < v->n; i++)
        pu_block_unref(v->rows[i].b);
    free(v->rows);
    free(v->at);
    pu_hmap_free(v->by_hash);
    pu_hmap_free(v->by_txid);
    pu_crypto_free(v->crypto);
    pu_store_close(v->st);
}

static const char *kind_name(pu_tx_kind k)
{
    switch (k) {
    case PU_TX_PAYMENT: return "PAYMENT";
    case PU_TX_COINBASE: return "COINBASE";
    case PU_TX_PAY_FOR_TASK: return "PAY_FOR_TASK";
    case PU_TX_BUY_TICKETS: return "BUY_TICKETS";
    case PU_TX_SETTLEMENT: return "SETTLEMENT";
    case PU_TX_EVIDENCE: return "EVIDENCE";
    }
    return "UNKNOWN";
}

static const char *role_name(unsigned r)
{
    return r == PU_ROLE_MINER ? "miner" : r == PU_ROLE_SUPERVISOR ? "supervisor"
           : r == PU_ROLE_EVALUATOR ? "evaluator" : r == PU_ROLE_VERIFIER ? "verifier" : "?";
}

static void report_meta(sim_report *r, cview *v, const char *key)
{
    char buf[256];
    bool found = false;
    if (pu_store_get_meta(v->st, key, buf, sizeof buf, &found, NULL, 0) == PU_OK && found)
        sim_report_str(r, key, buf);
}

/* ---- summary ------------------------------------------------------------------------ */

typedef struct utxo_tot {
    uint64_t coins, locks, bad;
    pu_amount spendable, locked;
    /* balance */
    const pu_addr *addr;
    sim_report *list;
    pu_amount a_spendable, a_locked, a_immature;
    uint32_t tip_height, maturity;
    uint64_t a_coins;
} utxo_tot;

static bool coin_immature(const utxo_tot *t, const pu_coin *c)
{
    return (c->flags & PU_COIN_COINBASE) && c->height + t->maturity > t->tip_height + 1;
}

static pu_err sum_utxo(void *ctx, const char *key, const uint8_t *data, size_t len)
{
    utxo_tot *t = ctx;
    pu_coin c;
    if (!data || pu_coin_parse(data, len, &c) != PU_OK) {
        t->bad++;
        return PU_OK;
    }
    bool lock = (c.flags & PU_COIN_LOCKED) != 0;
    if (lock) {
        t->locks++;
        t->locked += c.amount;
    } else {
        t->coins++;
        t->spendable += c.amount;
    }
    if (!t->addr || memcmp(t->addr->b, c.addr.b, 20) != 0)
        return PU_OK;
    t->a_coins++;
    if (lock)
        t->a_locked += c.amount;
    else
        t->a_spendable += c.amount;
    if (!lock && coin_immature(t, &c))
        t->a_immature += c.amount;
    sim_report_obj(t->list, NULL);
    sim_report_str(t->list, "outpoint", key);
    sim_report_amount(t->list, "amount", c.amount);
    sim_report_u64(t->list, "height", c.height);
    sim_report_str(t->list, "kind", c.flags & PU_COIN_ESCROW ? "task escrow lock"
                                    : c.flags & PU_COIN_STAKE ? "stake lock"
                                    : c.flags & PU_COIN_COINBASE ? "coinbase output" : "output");
    if (!lock && coin_immature(t, &c))
        sim_report_bool(t->list, "immature", true);
    sim_report_close(t->list);
    return PU_OK;
}

static void report_params(sim_report *r, cview *v)
{
    pu_params p;
    if (pu_store_params(v->st, &p, NULL, 0) != PU_OK) {
        sim_report_note(r, "parameters: not recorded (a database written before they were)");
        return;
    }
    sim_report_obj(r, "params");
    sim_report_amount(r, "block_reward", p.block_reward);
    sim_report_u64(r, "halving_interval", p.halving_interval);
    sim_report_amount(r, "min_fee", p.min_fee);
    sim_report_u64(r, "max_block_size", p.max_block_size);
    sim_report_u64(r, "coinbase_maturity", p.coinbase_maturity);
    sim_report_u64(r, "target_spacing_s", p.target_spacing_s);
    sim_report_u64(r, "retarget_interval", p.retarget_interval);
    sim_report_bool(r, "fixed_target", p.fixed_target);
    sim_report_u64(r, "pouw_commit_lag", p.pouw_commit_lag);
    sim_report_close(r);
}

static int cmd_summary(cview *v, sim_report *r)
{
    uint64_t kinds[PU_TX_EVIDENCE + 1] = {0}, txs = 0, bytes = 0, pouw = 0;
    for (uint32_t h = 0; h <= v->tip_height; h++) {
        const pu_block *b = v->rows[v->at[h]].b;
        if (!b)
            continue;
        bytes += pu_block_size(b);
        pouw += pu_header_is_pouw(pu_block_header(b));
        for (uint32_t i = 0; i < pu_block_n_tx(b); i++, txs++) {
            pu_tx_kind k = pu_tx_kind_of(pu_block_tx(b, i));
            kinds[k >= 1 && k <= PU_TX_EVIDENCE ? k : 0]++;
        }
    }
    uint64_t damaged = 0;
    for (size_t i = 0; i < v->n; i++)
        damaged += v->rows[i].why[0] != 0;
    sim_report_str(r, "file", v->path);
    report_meta(r, v, "scenario");
    report_meta(r, v, "seed");
    report_meta(r, v, "node");
    report_meta(r, v, "consensus");
    report_meta(r, v, "pouw_rules");
    sim_report_str(r, "genesis", v->genesis);
    sim_report_str(r, "tip", v->tip);
    sim_report_u64(r, "height", v->tip_height);
    const pu_block *tip = v->rows[v->at[v->tip_height]].b;
    if (tip)
        sim_report_u64(r, "tip_time_s", pu_block_header(tip)->timestamp);
    sim_report_u64(r, "blocks_stored", v->n);
    sim_report_u64(r, "blocks_active", v->n_active);
    sim_report_u64(r, "blocks_side_branch", v->n - v->n_active);
    sim_report_u64(r, "rows_damaged", damaged);
    sim_report_u64(r, "pouw_blocks_active", pouw);
    sim_report_u64(r, "active_chain_bytes", bytes);
    sim_report_obj(r, "transactions_active");
    sim_report_u64(r, "total", txs);
    for (int k = 1; k <= PU_TX_EVIDENCE; k++)
        if (kinds[k])
            sim_report_u64(r, kind_name((pu_tx_kind)k), kinds[k]);
    sim_report_close(r);
    utxo_tot t;
    memset(&t, 0, sizeof t);
    pu_err rc = pu_store_foreach_utxo(v->st, sum_utxo, &t, v->err, ERRLEN);
    if (rc != PU_OK)
        return rc == PU_ERR_NOMEM ? 1 : 2;
    sim_report_obj(r, "utxo_set");
    sim_report_u64(r, "coins", t.coins);
    sim_report_amount(r, "spendable", t.spendable);
    sim_report_u64(r, "locks", t.locks);
    sim_report_amount(r, "locked", t.locked);
    pu_amount supply;
    if (pu_amount_add(t.spendable, t.locked, &supply) == PU_OK)
        sim_report_amount(r, "supply", supply);
    if (t.bad)
        sim_report_u64(r, "rows_undecodable", t.bad);
    sim_report_close(r);
    report_params(r, v);
    return 0;
}

/* ---- blocks --------------------------------------------------------------------------- */

static int cmp_rows(const void *a, const void *b)
{
    const brow *x = *(const brow *const *)a, *y = *(const brow *const *)b;
    if (x->height != y->height)
        return x->height < y->height ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void block_line(sim_report *r, const brow *row)
{
    sim_report_obj(r, NULL);
    sim_report_i64(r, "height", row->height);
    sim_report_str(r, "hash", row->hash);
    sim_report_str(r, "chain", row->active ? "active" : "side");
    if (row->b) {
        const pu_header *h = pu_block_header(row->b);
        sim_report_u64(r, "time_s", h->timestamp);
        sim_report_u64(r, "txs", pu_block_n_tx(row->b));
        sim_report_u64(r, "bytes", pu_block_size(row->b));
        sim_report_str(r, "type", pu_header_is_pouw(h) ? "pouw" : "pow");
    }
    if (row->why[0])
        sim_report_str(r, "damaged", row->why);
    sim_report_close(r);
}

static void block_table(FILE *out, const brow *row)
{
    if (!row->b) {
        fprintf(out, "%7lld  %s  %-6s  %s\n", (long long)row->height, row->hash,
                row->active ? "active" : "side", row->why);
        return;
    }
    const pu_header *h = pu_block_header(row->b);
    fprintf(out, "%7lld  %s  %-6s  %9" PRIu64 "  %5u  %8u  %s%s%s\n", (long long)row->height,
            row->hash, row->active ? "active" : "side", h->timestamp, pu_block_n_tx(row->b),
            pu_block_size(row->b), pu_header_is_pouw(h) ? "pouw" : "pow",
            row->why[0] ? "  " : "", row->why);
}

static int cmd_blocks(cview *v, sim_report *r, int64_t from, int64_t to)
{
    const brow **sel = malloc((v->n ? v->n : 1) * sizeof *sel);
    if (!sel)
        return 1;
    size_t k = 0;
    for (size_t i = 0; i < v->n; i++)
        if (v->rows[i].height >= from && v->rows[i].height <= to)
            sel[k++] = &v->rows[i];
    qsort(sel, k, sizeof *sel, cmp_rows);
    if (r->json) {
        sim_report_arr(r, "blocks");
        for (size_t i = 0; i < k; i++)
            block_line(r, sel[i]);
        sim_report_close(r);
    } else {
        fprintf(r->f, "%7s  %-64s  %-6s  %9s  %5s  %8s  %s\n", "height", "hash", "chain",
                "time_s", "txs", "bytes", "type");
        for (size_t i = 0; i < k; i++)
            block_table(r->f, sel[i]);
    }
    free(sel);
    return 0;
}

/* ---- block ---------------------------------------------------------------------------- */

/* A row by full hash, unique hex prefix (>= 8 digits) or active height. */
static const brow *find_block(cview *v, const char *what, char *why, size_t n)
{
    size_t len = strlen(what);
    bool digits = len > 0 && len < 12 && strspn(what, "0123456789") == len;
    if (digits) {
        unsigned long long h = strtoull(what, NULL, 10);
        if (h > v->tip_height) {
            snprintf(why, n, "no block at height %llu (the tip is at %u)", h, v->tip_height);
            return NULL;
        }
        return &v->rows[v->at[h]];
    }
    const brow *hit = NULL;
    size_t hits = 0;
    for (size_t i = 0; len >= 8 && i < v->n; i++)
        if (!strncmp(v->rows[i].hash, what, len)) {
            hit = &v->rows[i];
            hits++;
        }
    if (len < 8)
        snprintf(why, n, "'%s': give a height or at least 8 hex digits of a block hash", what);
    else if (hits == 0)
        snprintf(why, n, "no stored block hash starts with '%s'", what);
    else if (hits > 1)
        snprintf(why, n, "'%s' matches %zu stored blocks: give more digits", what, hits);
    return hits == 1 ? hit : NULL;
}

static void report_proof(sim_report *r, const pu_block *b)
{
    uint32_t len;
    const uint8_t *p = pu_block_proof(b, &len);
    pu_pouw_proof pf;
    if (pu_pouw_proof_decode(p, len, &pf) != PU_OK) {
        sim_report_str(r, "proof", "does not decode as a PoUW mining proof");
        return;
    }
    const pu_iter_msg *m = &pf.msg;
    sim_report_obj(r, "proof");
    sim_report_hex(r, "miner_pub", m->miner_pub, 33);
    sim_report_u64(r, "miner_index", m->miner_index);
    sim_report_u64(r, "seq", m->seq);
    sim_report_u64(r, "epoch", m->epoch);
    sim_report_u64(r, "iter", m->iter);
    sim_report_u64(r, "batch_n", m->batch_n);
    sim_report_u64(r, "correct", m->correct);
    sim_report_u64(r, "loss_e9", m->loss_e9);
    sim_report_u64(r, "peers", m->n_peers);
    sim_report_hex(r, "model_start", m->model_start.b, 32);
    sim_report_hex(r, "model_end", m->model_end.b, 32);
    sim_report_u64(r, "commit_seq", pf.commit_msg.seq);
    sim_report_u64(r, "history", pf.n_hist);
    sim_report_hex(r, "block_signature", pf.block_sig, 64);
    sim_report_close(r);
    pu_pouw_proof_release(&pf);
}

static void report_header(sim_report *r, const pu_header *h)
{
    sim_report_u64(r, "version", h->version);
    sim_report_hex(r, "previous_hash", h->prev.b, 32);
    sim_report_hex(r, "merkle_root", h->merkle.b, 32);
    sim_report_u64(r, "timestamp", h->timestamp);
    char bits[16];
    snprintf(bits, sizeof bits, "%08" PRIx32, h->bits);
    sim_report_str(r, "bits", bits);
    sim_report_u64(r, "nonce", h->nonce);
    sim_report_hex(r, "ml_task_id", h->ml_task_id.b, 32);
    sim_report_hex(r, "message_history_hash", h->msg_history.b, 32);
    sim_report_hex(r, "iteration_message_hash", h->iter_msg.b, 32);
    sim_report_hex(r, "zero_nonce_block_hash", h->zero_nonce.b, 32);
}

static pu_amount out_sum(const pu_tx *tx)
{
    pu_amount s = 0;
    return pu_tx_output_sum(tx, &s) == PU_OK ? s : -1;
}

static int cmd_block(cview *v, sim_report *r, const char *what, FILE *err)
{
    char why[160] = "";
    const brow *row = find_block(v, what, why, sizeof why);
    if (!row) {
        fprintf(err, "pouwsim: chain: %s: error: %s\n", v->path, why);
        return 2;
    }
    sim_report_str(r, "hash", row->hash);
    sim_report_i64(r, "height", row->height);
    sim_report_i64(r, "seq", row->seq);
    sim_report_str(r, "chain", row->active ? "active" : "side branch");
    if (row->active && row->height >= 0)
        sim_report_u64(r, "confirmations", v->tip_height - (uint64_t)row->height + 1);
    if (!row->b) {
        sim_report_str(r, "damaged", row->why);
        return 0;
    }
    if (row->why[0])
        sim_report_str(r, "damaged", row->why);
    const pu_header *h = pu_block_header(row->b);
    sim_report_u64(r, "bytes", pu_block_size(row->b));
    sim_report_str(r, "type", pu_header_is_pouw(h) ? "pouw" : "pow");
    sim_report_obj(r, "header");
    report_header(r, h);
    sim_report_close(r);
    uint32_t plen;
    (void)pu_block_proof(row->b, &plen);
    sim_report_u64(r, "proof_bytes", plen);
    if (pu_header_is_pouw(h))
        report_proof(r, row->b);
    sim_report_arr(r, "transactions");
    for (uint32_t i = 0; i < pu_block_n_tx(row->b); i++) {
        const pu_tx *tx = pu_block_tx(row->b, i);
        sim_report_obj(r, NULL);
        sim_report_hex(r, "txid", pu_tx_id(tx)->b, 32);
        sim_report_str(r, "kind", kind_name(pu_tx_kind_of(tx)));
        sim_report_u64(r, "inputs", pu_tx_n_in(tx));
        sim_report_u64(r, "outputs", pu_tx_n_out(tx));
        sim_report_amount(r, "output_total", out_sum(tx));
        const uint8_t *op = pu_tx_opret(tx);
        if (op)
            sim_report_str(r, "op_return", pu_opret_op_name(op[PU_OPRET_OFF_OP]));
        sim_report_close(r);
    }
    sim_report_close(r);
    return 0;
}

/* ---- tx -------------------------------------------------------------------------------- */

static const pu_tx *find_tx(cview *v, const pu_hash32 *id, const brow **row)
{
    const txloc *l = pu_hmap_get(v->by_txid, id->b);
    if (!l)
        return NULL;
    *row = &v->rows[l->row];
    return pu_block_tx((*row)->b, l->index);
}

static void report_body(sim_report *r, cview *v, const pu_tx *tx)
{
    uint32_t len;
    const uint8_t *body = pu_tx_body(tx, &len);
    sim_report_u64(r, "body_bytes", len);
    switch (pu_tx_kind_of(tx)) {
    case PU_TX_COINBASE:
        if (len == 4)
            sim_report_u64(r, "coinbase_height", pu_get_be32(body));
        break;
    case PU_TX_BUY_TICKETS: {
        pu_tickets t;
        if (pu_tx_tickets(tx, &t) != PU_OK)
            break;
        sim_report_enum(r, "role", t.role, role_name(t.role));
        sim_report_amount(r, "stake", t.stake);
        sim_report_hex(r, "task_preference", t.task_pref.b, 32);
        break;
    }
    case PU_TX_PAY_FOR_TASK: {
        pu_task t;
        pu_hash32 id;
        if (pu_task_decode(body, len, &t) != PU_OK || pu_task_id(&t, v->crypto, &id) != PU_OK)
            break;
        sim_report_hex(r, "task_id", id.b, 32);
        sim_report_obj(r, "task");
        sim_report_str(r, "dataset", t.dataset);
        sim_report_arr(r, "layers");
        sim_report_u64(r, NULL, t.input_size);
        for (uint32_t i = 0; i < t.n_hidden; i++)
            sim_report_u64(r, NULL, t.hidden[i]);
        sim_report_u64(r, NULL, t.output_size);
        sim_report_close(r);
        sim_report_u64(r, "train_size", t.train_size);
        sim_report_u64(r, "test_size", t.test_size);
        sim_report_u64(r, "batch_size", t.batch_size);
        sim_report_u64(r, "max_iterations", t.max_iterations);
        sim_report_u64(r, "min_accuracy_ppm", t.min_accuracy_ppm);
        sim_report_amount(r, "fee", t.fee);
        sim_report_u64(r, "registration_blocks", t.registration_blocks);
        sim_report_u64(r, "required_miners", pu_task_required_miners(&t));
        sim_report_close(r);
        break;
    }
    case PU_TX_SETTLEMENT:
        if (len >= 35) {
            sim_report_hex(r, "task_id", body, 32);
            sim_report_u64(r, "rule_version", body[32]);
            sim_report_enum(r, "outcome", body[33], body[33] == 1 ? "evaluated"
                            : body[33] == 2 ? "void" : body[33] == 3 ? "unevaluated"
                            : body[33] == 4 ? "missed" : "?");
        }
        break;
    case PU_TX_EVIDENCE:
        if (len >= 2)
            sim_report_enum(r, "evidence_kind", body[1], body[1] == PU_POUW_EV_BLOCK ? "block"
                            : body[1] == PU_POUW_EV_MESSAGE ? "message"
                            : body[1] == PU_POUW_EV_HISTORY ? "history" : "?");
        break;
    case PU_TX_PAYMENT: break;
    }
}

/* Whether the stored UTXO set holds an outpoint: 1, 0, or -1 on failure. */
static int utxo_has(cview *v, const pu_outpoint *op)
{
    bool found;
    return pu_store_has_utxo(v->st, op, &found, v->err, ERRLEN) == PU_OK ? found : -1;
}

/* Inputs with what they spend; returns their total, or -1 when unknown. */
static pu_amount report_inputs(sim_report *r, cview *v, const pu_tx *tx)
{
    pu_amount total = 0;
    sim_report_arr(r, "inputs");
    for (uint32_t i = 0; i < pu_tx_n_in(tx); i++) {
        const pu_txin *in = pu_tx_in(tx, i);
        const brow *row;
        const pu_tx *prev = find_tx(v, &in->prev.txid, &row);
        sim_report_obj(r, NULL);
        sim_report_hex(r, "prev_txid", in->prev.txid.b, 32);
        bool lock = in->prev.index == PU_LOCK_INDEX;
        if (lock) {
            sim_report_str(r, "prev_index", "lock");
        } else {
            sim_report_u64(r, "prev_index", in->prev.index);
            pu_addr a;
            pu_addr_from_pub(v->crypto, in->pub, &a);
            sim_report_hex(r, "address", a.b, 20);
        }
        pu_amount amt = -1;
        if (prev && !lock && in->prev.index < pu_tx_n_out(prev))
            amt = pu_tx_out(prev, in->prev.index)->amount;
        else if (prev && lock && pu_tx_locked(prev, &amt) != PU_OK)
            amt = -1;
        if (amt >= 0)
            sim_report_amount(r, "amount", amt);
        else
            sim_report_note(r, "(spent coin not in this database)");
        total = amt >= 0 && total >= 0 ? total + amt : -1;
        sim_report_close(r);
    }
    sim_report_close(r);
    return total;
}

static int cmd_tx(cview *v, sim_report *r, const char *what, pu_opret_codec *codec, FILE *err)
{
    pu_hash32 id;
    const brow *row;
    const pu_tx *tx = NULL;
    if (strlen(what) == 64 && pu_hex_decode(what, id.b, 32) == PU_OK)
        tx = find_tx(v, &id, &row);
    if (!tx) {
        fprintf(err, "pouwsim: chain: %s: error: %s\n", v->path,
                strlen(what) == 64 ? "no stored block holds that transaction"
                                   : "a transaction id is 64 hex digits");
        return 2;
    }
    sim_report_hex(r, "txid", id.b, 32);
    sim_report_str(r, "kind", kind_name(pu_tx_kind_of(tx)));
    sim_report_u64(r, "version", pu_tx_version(tx));
    sim_report_u64(r, "timestamp", pu_tx_timestamp(tx));
    sim_report_u64(r, "bytes", pu_tx_size(tx));
    sim_report_obj(r, "block");
    sim_report_str(r, "hash", row->hash);
    sim_report_i64(r, "height", row->height);
    sim_report_str(r, "chain", row->active ? "active" : "side branch");
    if (row->active)
        sim_report_u64(r, "confirmations", v->tip_height - (uint64_t)row->height + 1);
    sim_report_close(r);
    report_body(r, v, tx);
    pu_amount in = report_inputs(r, v, tx);
    sim_report_arr(r, "outputs");
    for (uint32_t i = 0; i < pu_tx_n_out(tx); i++) {
        const pu_txout *o = pu_tx_out(tx, i);
        pu_outpoint op = {id, i};
        int unspent = row->active ? utxo_has(v, &op) : -1;
        sim_report_obj(r, NULL);
        sim_report_u64(r, "index", i);
        sim_report_amount(r, "amount", o->amount);
        sim_report_hex(r, "address", o->addr.b, 20);
        if (unspent >= 0)
            sim_report_bool(r, "unspent", unspent == 1);
        sim_report_close(r);
    }
    sim_report_close(r);
    pu_amount locked = 0, outs = out_sum(tx);
    if (pu_tx_locked(tx, &locked) == PU_OK && locked > 0)
        sim_report_amount(r, "locked", locked);
    if (in >= 0 && outs >= 0 && pu_tx_n_in(tx) > 0)
        sim_report_amount(r, "fee", in - outs - locked);
    const uint8_t *opret = pu_tx_opret(tx);
    if (opret) {
        sim_report_obj(r, "op_return");
        (void)sim_cmd_opret_report(r, codec, opret, PU_OPRET_SIZE);
        sim_report_close(r);
    }
    return 0;
}

/* ---- balance ---------------------------------------------------------------------------- */

static int cmd_balance(cview *v, sim_report *r, const char *what, FILE *err)
{
    pu_addr a;
    if (strlen(what) != 40 || pu_hex_decode(what, a.b, 20) != PU_OK) {
        fprintf(err, "pouwsim: chain: error: an address is 40 hex digits\n");
        return 2;
    }
    pu_params p;
    utxo_tot t;
    memset(&t, 0, sizeof t);
    t.addr = &a;
    t.list = r;
    t.tip_height = v->tip_height;
    t.maturity = pu_store_params(v->st, &p, NULL, 0) == PU_OK ? p.coinbase_maturity : 0;
    sim_report_hex(r, "address", a.b, 20);
    sim_report_arr(r, "coins");
    pu_err rc = pu_store_foreach_utxo(v->st, sum_utxo, &t, v->err, ERRLEN);
    sim_report_close(r);
    if (rc != PU_OK)
        return 1;
    sim_report_amount(r, "balance", t.a_spendable);
    sim_report_amount(r, "immature", t.a_immature);
    sim_report_amount(r, "locked", t.a_locked);
    sim_report_u64(r, "coins_total", t.a_coins);
    return 0;
}

/* ---- verify ------------------------------------------------------------------------------ */

typedef struct verifier {
    pu_opret_codec *opret;
    pu_pouw_store *pstore;
    pu_pouw_verifier *pv;
    pu_econ *econ;
} verifier;

static void verifier_free(verifier *w)
{
    pu_econ_free(w->econ);
    pu_pouw_verifier_free(w->pv);
    pu_pouw_store_free(w->pstore);
    pu_opret_codec_free(w->opret);
}

/* The PoUW ledger rules from meta 'pouw_rules', with an empty task record:
 * proofs are checked up to data resolution (pu_econ_config.accept_unresolved_data). */
static pu_err pouw_rules(cview *v, const pu_task_data_dirs *dirs, verifier *w)
{
    char text[256];
    bool found;
    pu_err rc = pu_store_get_meta(v->st, "pouw_rules", text, sizeof text, &found, v->err, ERRLEN);
    if (rc != PU_OK)
        return rc;
    pu_econ_config cfg;
    memset(&cfg, 0, sizeof cfg);
    if (!found || pu_econ_config_parse(text, &cfg) != PU_OK) {
        snprintf(v->err, ERRLEN, "meta pouw_rules %s: cannot rebuild the PoUW ledger rules",
                 found ? "has settings this build does not know" : "is missing");
        return PU_ERR_DB;
    }
    if ((rc = pu_opret_codec_new(&w->opret)) == PU_OK && (rc = pu_pouw_store_new(&w->pstore)) == PU_OK)
        rc = pu_pouw_verifier_new(v->crypto, w->pstore, 256, &w->pv);
    cfg.crypto = v->crypto;
    cfg.opret = w->opret;
    cfg.verifier = w->pv;
    cfg.data_dirs = dirs;
    cfg.accept_unresolved_data = true;
    if (rc == PU_OK)
        rc = pu_econ_new(&cfg, &w->econ);
    if (rc != PU_OK)
        snprintf(v->err, ERRLEN, "cannot build the PoUW rules: %s", pu_strerror(rc));
    return rc;
}

/* Counts the PoUW blocks of the rebuilt active chain and how their proofs
 * fared (econ remembers the verdict of every block it checked). */
static void report_pouw(sim_report *r, const pu_chain *ch, const verifier *w)
{
    uint64_t n = 0, ok = 0, unresolved = 0;
    for (uint32_t h = 1; h <= pu_chain_height(ch); h++) {
        const pu_block *b = pu_chain_block_at(ch, h);
        if (!pu_header_is_pouw(pu_block_header(b)))
            continue;
        n++;
        pu_pouw_reason why;
        pu_pouw_cost cost;
        if (w->econ && pu_econ_ml_verdict(w->econ, pu_block_hash(b), &why, &cost)) {
            ok += why == PU_POUW_OK;
            unresolved += why == PU_POUW_UNKNOWN_DATA;
        }
    }
    sim_report_u64(r, "pouw_blocks", n);
    if (!n)
        return;
    sim_report_u64(r, "pouw_reexecuted", ok);
    sim_report_u64(r, "pouw_not_reexecuted", unresolved);
    if (unresolved)
        sim_report_note(r, "(a chain database holds no model states: those PoUW proofs were "
                           "checked up to data resolution -- task, seat, signatures, history, "
                           "nonce range, commitment, batch -- but not re-executed)");
}

static int cmd_verify(cview *v, sim_report *r, const pu_task_data_dirs *dirs)
{
    pu_params p;
    char cons[16] = "pow";
    bool found;
    verifier w;
    memset(&w, 0, sizeof w);
    pu_chain *ch = NULL;
    const brow *g = v->n ? &v->rows[0] : NULL;
    pu_err rc = pu_store_params(v->st, &p, v->err, ERRLEN);
    if (rc == PU_OK && (!g || !g->b || g->why[0])) {
        snprintf(v->err, ERRLEN, "the first block row is not a decodable genesis block%s%s",
                 g ? ": " : "", g ? g->why : "");
        rc = PU_ERR_DB;
    }
    if (rc == PU_OK)
        rc = pu_store_get_meta(v->st, "consensus", cons, sizeof cons, &found, v->err, ERRLEN);
    if (rc == PU_OK && !strcmp(cons, "pouw"))
        rc = pouw_rules(v, dirs, &w);
    if (rc == PU_OK) {
        pu_chain_opts o = {&p, v->crypto, NULL, NULL, w.econ ? pu_econ_rules(w.econ) : NULL};
        rc = pu_store_load(v->st, &o, g->b, &ch, v->err, ERRLEN);
    }
    sim_report_str(r, "file", v->path);
    sim_report_str(r, "consensus", cons);
    sim_report_bool(r, "valid", rc == PU_OK);
    int status = 0;
    if (rc == PU_OK) {
        sim_report_u64(r, "blocks_revalidated", v->n - 1);
        sim_report_u64(r, "height", pu_chain_height(ch));
        char tip[65];
        pu_hash_hex(pu_chain_tip_hash(ch), tip);
        sim_report_str(r, "tip", tip);
        sim_report_u64(r, "utxo_rows_matched", pu_utxo_count(pu_chain_utxo(ch)));
        sim_report_amount(r, "supply", pu_chain_supply(ch));
        report_pouw(r, ch, &w);
    } else {
        sim_report_str(r, "first_failure", v->err);
        status = rc == PU_ERR_NOMEM ? 1 : rc == PU_ERR_NOTFOUND ? 2 : 1;
    }
    pu_chain_free(ch);
    verifier_free(&w);
    return status;
}

/* ---- command line ------------------------------------------------------------------------ */

typedef struct args {
    const char *path, *sub, *item;
    pu_task_data_dirs dirs;
    int64_t from, to;
    bool json;
} args;

static bool parse_height(const char *s, int64_t *out)
{
    char *end;
    if (!s[0] || strspn(s, "0123456789") != strlen(s) || strlen(s) > 10)
        return false;
    *out = (int64_t)strtoll(s, &end, 10);
    return true;
}

static int parse_args(int argc, char **argv, args *a, FILE *err)
{
    memset(a, 0, sizeof *a);
    a->to = INT64_MAX;
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i];
        bool next = i + 1 < argc;
        if (!strcmp(s, "--json")) {
            a->json = true;
        } else if ((!strcmp(s, "--from") || !strcmp(s, "--to")) && next) {
            if (!parse_height(argv[++i], s[2] == 'f' ? &a->from : &a->to)) {
                fprintf(err, "pouwsim: chain: error: %s takes a height\n", s);
                return 2;
            }
        } else if (!strcmp(s, "--fmnist-dir") && next) {
            a->dirs.fashion_mnist = argv[++i];
        } else if (!strcmp(s, "--mnist-dir") && next) {
            a->dirs.mnist = argv[++i];
        } else if (s[0] == '-' && s[1]) {
            fprintf(err, "pouwsim: chain: error: unknown or incomplete option '%s'\n%s", s,
                    sim_cmd_chain_usage);
            return 2;
        } else if (!a->path) {
            a->path = s;
        } else if (!a->sub) {
            a->sub = s;
        } else if (!a->item) {
            a->item = s;
        } else {
            fprintf(err, "pouwsim: chain: error: unexpected argument '%s'\n%s", s,
                    sim_cmd_chain_usage);
            return 2;
        }
    }
    if (!a->sub)
        a->sub = "summary";
    static const char needs[][8] = {"block", "tx", "balance"};
    bool want_item = false;
    for (size_t i = 0; i < sizeof needs / sizeof needs[0]; i++)
        want_item |= !strcmp(a->sub, needs[i]);
    bool known = want_item || !strcmp(a->sub, "summary") || !strcmp(a->sub, "blocks")
                 || !strcmp(a->sub, "verify");
    if (!a->path || !known || want_item != (a->item != NULL)) {
        fprintf(err, "pouwsim: chain: error: %s\n%s",
                !a->path ? "needs a database file"
                : !known ? "unknown subcommand" : want_item ? "this subcommand needs an argument"
                                                            : "this subcommand takes no argument",
                sim_cmd_chain_usage);
        return 2;
    }
    return 0;
}

static int dispatch(cview *v, const args *a, sim_report *r, FILE *err)
{
    if (!strcmp(a->sub, "summary"))
        return cmd_summary(v, r);
    if (!strcmp(a->sub, "blocks"))
        return cmd_blocks(v, r, a->from, a->to);
    if (!strcmp(a->sub, "block"))
        return cmd_block(v, r, a->item, err);
    if (!strcmp(a->sub, "balance"))
        return cmd_balance(v, r, a->item, err);
    if (!strcmp(a->sub, "verify"))
        return cmd_verify(v, r, &a->dirs);
    pu_opret_codec *codec;
    if (pu_opret_codec_new(&codec) != PU_OK)
        return 1;
    int st = cmd_tx(v, r, a->item, codec, err);
    pu_opret_codec_free(codec);
    return st;
}

int sim_cmd_chain(int argc, char **argv, FILE *out, FILE *err)
{
    if (argc >= 1 && (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h"))) {
        fputs(sim_cmd_chain_usage, out);
        return 0;
    }
    args a;
    int st = parse_args(argc, argv, &a, err);
    if (st)
        return st;
    cview v;
    pu_err rc = view_open(&v, a.path);
    if (rc != PU_OK) {
        fprintf(err, "pouwsim: chain: %s: error: %s\n", a.path, v.err);
        view_close(&v);
        return rc == PU_ERR_NOMEM ? 1 : 2;
    }
    sim_report r;
    sim_report_begin(&r, out, a.json);
    st = dispatch(&v, &a, &r, err);
    rc = sim_report_end(&r); /* a JSON document stays whole even after a failure */
    if (st == 0 && rc != PU_OK) {
        snprintf(v.err, ERRLEN, "cannot write the output");
        st = 1;
    }
    /* verify reports its failure in the output; the others on stderr */
    if (st == 1 && strcmp(a.sub, "verify") != 0)
        fprintf(err, "pouwsim: chain: %s: error: %s\n", a.path, v.err);
    view_close(&v);
    return st;
}
