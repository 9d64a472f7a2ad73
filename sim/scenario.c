/* sim/scenario.c -- walk a libyaml document and feed sim_params; see scenario.h.
 *
 * The document API (yaml_parser_load) is used rather than the event stream:
 * duplicate keys and list shapes are easier to judge with the whole mapping
 * in hand, and every node keeps its start mark for messages.  Aliases are
 * resolved by libyaml; the walk only descends into known sections, whose
 * paths get longer at each level, so even a cyclic alias terminates, and
 * the values it visits are bounded (ALIAS_FACTOR below). */
#include "sim/scenario.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* Larger scenario files are certainly a mistake (e.g. a data file). */
#define MAX_FILE_BYTES (64u << 20)
#define MAX_PATH_CHARS 200

typedef struct seen_key {
    char *path;
    uint32_t line;
} seen_key;

typedef struct loader {
    sim_params *p;
    yaml_document_t *doc;
    const char *file;  /* for diagnostics */
    sim_diag *d;
    seen_key *seen;    /* keys set so far, to catch a key given twice */
    size_t n_seen;
    size_t budget;     /* values the walk may still visit (aliases repeat nodes) */
} loader;

static void msg(sim_diag *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void msg(sim_diag *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->msg, sizeof d->msg, fmt, ap);
    va_end(ap);
}

static void at_mark(loader *L, yaml_mark_t m)
{
    sim_diag_at(L->d, L->file, (uint32_t)m.line + 1, (uint32_t)m.column + 1);
}

static void at_node(loader *L, const yaml_node_t *n) { at_mark(L, n->start_mark); }

/* An alias makes libyaml hand out the same node again without copying it,
 * so a 20,000-item row reused by 20,000 aliases is a small file that walks
 * into 400 million values.  The walk may visit this many values per node of
 * the document (plus a floor); a file without aliases visits each once. */
#define ALIAS_FACTOR 16u
#define ALIAS_FLOOR 100000u

static bool spend(loader *L, size_t n, const yaml_node_t *at, const char *path)
{
    if (n <= L->budget) {
        L->budget -= n;
        return true;
    }
    at_node(L, at);
    msg(L->d, "%.60s: YAML aliases expand this document to too many values (more than %u per "
        "node of the file)", path, ALIAS_FACTOR);
    return false;
}

static yaml_node_t *node(loader *L, int id) { return yaml_document_get_node(L->doc, id); }

/* A scalar's text; plain `~`, `null` and nothing mean "no value" (""). */
static const char *scalar_text(const yaml_node_t *n)
{
    const char *s = (const char *)n->data.scalar.value;
    if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
        (strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
         strcmp(s, "NULL") == 0))
        return "";
    return s;
}

static bool is_empty(const yaml_node_t *n)
{
    return n->type == YAML_SCALAR_NODE && !scalar_text(n)[0];
}

/* "a list" / "a mapping" / "'text'" for messages. */
static const char *describe(const yaml_node_t *n, char *buf, size_t sz)
{
    if (n->type == YAML_SEQUENCE_NODE)
        return "a list";
    if (n->type == YAML_MAPPING_NODE)
        return "a mapping";
    const char *s = scalar_text(n);
    if (!*s)
        return "nothing";
    snprintf(buf, sz, strlen(s) > 40 ? "'%.37s...'" : "'%s'", s);
    return buf;
}

/* a + sep + b into out (n bytes); false, with an error, when too long. */
static bool join_path(loader *L, char *out, size_t n, const char *a, const char *sep,
                      const char *b)
{
    size_t la = strlen(a), ls = strlen(sep), lb = strlen(b);
    if (la + ls + lb + 1 > n) {
        msg(L->d, "key '%.60s...' is too long", b);
        return false;
    }
    memcpy(out, a, la);
    memcpy(out + la, sep, ls);
    memcpy(out + la + ls, b, lb + 1);
    return true;
}

/* ---- lists ---- */

/* Items of a YAML sequence for a list key; matrix rows are sequences. */
static pu_err collect_items(loader *L, const char *path, const sim_param_key *k,
                            const yaml_node_t *seq, sim_params_item **out, size_t *n)
{
    char got[48];
    bool matrix = k->type == SIM_PT_DMATRIX;
    size_t total = 0;
    *out = NULL;
    *n = 0;
    for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top;
         it++) {
        const yaml_node_t *e = node(L, *it);
        size_t r = (size_t)(it - seq->data.sequence.items.start);
        if (matrix && e->type == YAML_SEQUENCE_NODE) {
            size_t cols = (size_t)(e->data.sequence.items.top - e->data.sequence.items.start);
            if (!cols) {
                /* Items carry only row numbers: a trailing empty row would vanish. */
                at_node(L, e);
                msg(L->d, "%s: row %zu is empty", path, r);
                return PU_ERR_PARSE;
            }
            total += cols;
            continue;
        }
        if (!matrix && e->type == YAML_SCALAR_NODE) {
            total++;
            continue;
        }
        at_node(L, e);
        msg(L->d, matrix ? "%s[%zu]: expected a row (a list of numbers), got %s"
                         : "%s[%zu]: expected a single value, got %s",
            path, r, describe(e, got, sizeof got));
        return PU_ERR_PARSE;
    }
    if (!spend(L, total, seq, path))
        return PU_ERR_RANGE;
    sim_params_item *items = total ? calloc(total, sizeof *items) : NULL;
    if (total && !items) {
        msg(L->d, "%s: out of memory", path);
        return PU_ERR_NOMEM;
    }
    for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top;
         it++) {
        const yaml_node_t *e = node(L, *it);
        uint32_t row = (uint32_t)(it - seq->data.sequence.items.start);
        const yaml_node_item_t *b = matrix ? e->data.sequence.items.start : it;
        const yaml_node_item_t *t = matrix ? e->data.sequence.items.top : it + 1;
        for (; b < t; b++) {
            const yaml_node_t *v = node(L, *b);
            if (v->type != YAML_SCALAR_NODE) {
                at_node(L, v);
                msg(L->d, "%s[%u][%zu]: expected a number, got %s", path, (unsigned)row,
                    (size_t)(b - e->data.sequence.items.start), describe(v, got, sizeof got));
                free(items);
                return PU_ERR_PARSE;
            }
            items[(*n)++] = (sim_params_item){scalar_text(v), (uint32_t)v->start_mark.line + 1,
                                              (uint32_t)v->start_mark.column + 1, row};
        }
    }
    *out = items;
    return PU_OK;
}

/* Set the key or entry field `path` from a value node of any shape. */
static pu_err set_value(loader *L, const char *path, const yaml_node_t *v)
{
    const sim_param_key *k;
    pu_err rc = sim_params_lookup(L->p, path, &k, L->d);
    if (rc != PU_OK)
        return rc;
    at_node(L, v);
    if (v->type == YAML_SCALAR_NODE)
        return sim_params_set_decoded(L->p, path, scalar_text(v), L->d);
    if (v->type == YAML_MAPPING_NODE || !sim_params_type_is_list(k->type)) {
        sim_params_wrong_shape(L->p, path, v->type == YAML_MAPPING_NODE ? "a mapping" : "a list",
                               L->d);
        return PU_ERR_PARSE;
    }
    sim_params_item *items;
    size_t n;
    rc = collect_items(L, path, k, v, &items, &n);
    if (rc != PU_OK)
        return rc;
    at_node(L, v);
    rc = sim_params_set_list(L->p, path, items, n, L->d);
    free(items);
    return rc;
}

/* ---- mappings ---- */

/* Key text of a pair, or an error at the key when it is not a scalar. */
static pu_err key_text(loader *L, const yaml_node_t *k, const char **out)
{
    at_node(L, k);
    if (k->type != YAML_SCALAR_NODE || !scalar_text(k)[0]) {
        msg(L->d, "keys must be plain names, got %s",
            k->type == YAML_SCALAR_NODE ? "an empty key"
                                        : k->type == YAML_MAPPING_NODE ? "a mapping" : "a list");
        return PU_ERR_PARSE;
    }
    *out = (const char *)k->data.scalar.value;
    return PU_OK;
}

/* The same key twice in one mapping. */
static pu_err check_dup_in_map(loader *L, const yaml_node_t *map, const yaml_node_pair_t *pair,
                               const char *shown_path)
{
    const char *kt = (const char *)node(L, pair->key)->data.scalar.value;
    for (const yaml_node_pair_t *q = map->data.mapping.pairs.start; q < pair; q++) {
        const yaml_node_t *qk = node(L, q->key);
        if (qk->type == YAML_SCALAR_NODE && strcmp((const char *)qk->data.scalar.value, kt) == 0) {
            at_node(L, node(L, pair->key));
            msg(L->d, "duplicate key '%s' (first given at line %u)", shown_path,
                (unsigned)qk->start_mark.line + 1);
            return PU_ERR_PARSE;
        }
    }
    return PU_OK;
}

/* The same dotted key reached twice, e.g. `network: {nodes: 5}` and
 * `network.nodes: 6`. */
static pu_err check_seen(loader *L, const char *path, const yaml_node_t *k)
{
    for (size_t i = 0; i < L->n_seen; i++) {
        if (strcmp(L->seen[i].path, path) == 0) {
            at_node(L, k);
            msg(L->d, "duplicate key '%s' (first given at line %u)", path,
                (unsigned)L->seen[i].line);
            return PU_ERR_PARSE;
        }
    }
    seen_key *ns = realloc(L->seen, (L->n_seen + 1) * sizeof *ns);
    char *cp = strdup(path);
    if (!ns || !cp) {
        free(cp);
        if (ns)
            L->seen = ns;
        msg(L->d, "%s: out of memory", path);
        return PU_ERR_NOMEM;
    }
    L->seen = ns;
    L->seen[L->n_seen++] = (seen_key){cp, (uint32_t)k->start_mark.line + 1};
    return PU_OK;
}

static pu_err load_entry(loader *L, const char *list, size_t pos, const yaml_node_t *item)
{
    char got[48], path[MAX_PATH_CHARS + 32];
    at_node(L, item);
    if (item->type != YAML_MAPPING_NODE) {
        msg(L->d, "%s[%zu]: expected a mapping like %s, got %s", list, pos,
            strcmp(list, "timeline") == 0 ? "{at: 10min, action: heal}"
                                          : "{type: selfish, share: 0.3}",
            describe(item, got, sizeof got));
        return PU_ERR_PARSE;
    }
    size_t idx;
    size_t pairs = (size_t)(item->data.mapping.pairs.top - item->data.mapping.pairs.start);
    if (!spend(L, pairs + 1, item, list))
        return PU_ERR_RANGE;
    pu_err rc = sim_params_entry_begin(L->p, list, &idx, L->d);
    for (yaml_node_pair_t *pr = item->data.mapping.pairs.start;
         rc == PU_OK && pr < item->data.mapping.pairs.top; pr++) {
        const char *kt;
        rc = key_text(L, node(L, pr->key), &kt);
        if (rc != PU_OK)
            break;
        char head[32];
        snprintf(head, sizeof head, "%.12s[%zu]", list, idx);
        if (!join_path(L, path, sizeof path, head, ".", kt)) {
            rc = PU_ERR_PARSE;
            break;
        }
        rc = check_dup_in_map(L, item, pr, path);
        if (rc == PU_OK)
            rc = set_value(L, path, node(L, pr->value));
    }
    if (rc == PU_OK) {
        at_node(L, item);
        rc = sim_params_entry_end(L->p, list, idx, L->d);
    }
    return rc;
}

static pu_err load_entries(loader *L, const char *list, const yaml_node_t *k, const yaml_node_t *v)
{
    char got[48];
    pu_err rc = check_seen(L, list, k);
    if (rc != PU_OK || is_empty(v))
        return rc;
    if (v->type != YAML_SEQUENCE_NODE) {
        at_node(L, v);
        msg(L->d, "%s: expected a list of entries (lines starting with '- '), got %s", list,
            describe(v, got, sizeof got));
        return PU_ERR_PARSE;
    }
    for (yaml_node_item_t *it = v->data.sequence.items.start;
         rc == PU_OK && it < v->data.sequence.items.top; it++)
        rc = load_entry(L, list, (size_t)(it - v->data.sequence.items.start), node(L, *it));
    return rc;
}

static pu_err walk_map(loader *L, const yaml_node_t *map, const char *prefix);

static pu_err apply_pair(loader *L, const char *path, const yaml_node_t *k, const yaml_node_t *v)
{
    char got[48];
    const sim_param_key *key = sim_params_key_find(path);
    /* The sweep section says how `pouwsim sweep` varies this scenario; it
     * is read and checked by sim/sweep.c, and a single run is the base. */
    if (strcmp(path, "sweep") == 0)
        return check_seen(L, path, k);
    if (sim_params_is_entry_list(path))
        return load_entries(L, path, k, v);
    if (key && key->type != SIM_PT_SECTION) {
        pu_err rc = check_seen(L, path, k);
        return rc == PU_OK ? set_value(L, path, v) : rc;
    }
    if (sim_params_is_section(path)) {
        if (v->type == YAML_MAPPING_NODE)
            return walk_map(L, v, path);
        if (is_empty(v)) /* e.g. `pouw:` with nothing under it */
            return PU_OK;
        at_node(L, v);
        msg(L->d, "%s: is a section; expected a mapping of its keys, got %s", path,
            describe(v, got, sizeof got));
        return PU_ERR_PARSE;
    }
    at_node(L, k);
    sim_params_unknown_key(path, L->d);
    return PU_ERR_PARSE;
}

static pu_err walk_map(loader *L, const yaml_node_t *map, const char *prefix)
{
    char path[MAX_PATH_CHARS + 2];
    for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top;
         pr++) {
        const yaml_node_t *k = node(L, pr->key);
        const char *kt;
        pu_err rc = key_text(L, k, &kt);
        if (rc != PU_OK)
            return rc;
        if (!join_path(L, path, sizeof path, prefix, *prefix ? "." : "", kt))
            return PU_ERR_PARSE;
        rc = check_dup_in_map(L, map, pr, path);
        if (rc == PU_OK)
            rc = apply_pair(L, path, k, node(L, pr->value));
        if (rc != PU_OK)
            return rc;
    }
    return PU_OK;
}

/* ---- libyaml errors ---- */

/* Reader errors carry a byte offset, not a mark: derive line and column. */
static void offset_to_mark(const char *text, size_t len, size_t off, yaml_mark_t *m)
{
    m->line = 0;
    m->column = 0;
    for (size_t i = 0; i < off && i < len; i++) {
        if (text[i] == '\n') {
            m->line++;
            m->column = 0;
        } else {
            m->column++;
        }
    }
}

static pu_err yaml_failure(loader *L, const yaml_parser_t *ps, const char *text, size_t len)
{
    if (ps->error == YAML_MEMORY_ERROR) {
        sim_diag_at(L->d, L->file, 0, 0);
        msg(L->d, "out of memory while reading YAML");
        return PU_ERR_NOMEM;
    }
    yaml_mark_t m = ps->problem_mark;
    if (ps->error == YAML_READER_ERROR)
        offset_to_mark(text, len, ps->problem_offset, &m);
    at_mark(L, m);
    const char *problem = ps->problem ? ps->problem : "malformed YAML";
    if (ps->context)
        msg(L->d, "YAML syntax error: %s (%s at line %u)", problem, ps->context,
            (unsigned)ps->context_mark.line + 1);
    else
        msg(L->d, "YAML syntax error: %s", problem);
    return PU_ERR_PARSE;
}

/* A second document in the stream is a mistake, not something to ignore. */
static pu_err no_second_document(loader *L, yaml_parser_t *ps, const char *text, size_t len)
{
    yaml_document_t extra;
    if (!yaml_parser_load(ps, &extra))
        return yaml_failure(L, ps, text, len);
    yaml_node_t *root = yaml_document_get_root_node(&extra);
    pu_err rc = PU_OK;
    if (root) {
        at_mark(L, extra.start_mark);
        msg(L->d, "only one YAML document is allowed in a scenario");
        rc = PU_ERR_PARSE;
    }
    yaml_document_delete(&extra);
    return rc;
}

pu_err sim_scenario_apply_text(sim_params *params, const char *path, const char *text,
                               size_t len, sim_diag *diag)
{
    sim_diag scratch;
    loader L = {params, NULL, path, diag ? diag : &scratch, NULL, 0, 0};
    yaml_parser_t ps;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&ps)) {
        sim_diag_at(L.d, path, 0, 0);
        msg(L.d, "out of memory while reading YAML");
        return PU_ERR_NOMEM;
    }
    yaml_parser_set_input_string(&ps, (const unsigned char *)text, len);
    if (!yaml_parser_load(&ps, &doc)) {
        pu_err rc = yaml_failure(&L, &ps, text, len);
        yaml_parser_delete(&ps);
        return rc;
    }
    L.doc = &doc;
    L.budget = (size_t)(doc.nodes.top - doc.nodes.start) * ALIAS_FACTOR + ALIAS_FLOOR;
    pu_err rc = PU_OK;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    char got[48];
    if (root && !is_empty(root) && root->type != YAML_MAPPING_NODE) {
        at_node(&L, root);
        msg(L.d, "a scenario is a mapping of keys (like 'network: ...'), got %s",
            describe(root, got, sizeof got));
        rc = PU_ERR_PARSE;
    } else if (root && root->type == YAML_MAPPING_NODE) {
        rc = walk_map(&L, root, "");
    }
    if (rc == PU_OK && root)
        rc = no_second_document(&L, &ps, text, len);
    yaml_document_delete(&doc);
    yaml_parser_delete(&ps);
    for (size_t i = 0; i < L.n_seen; i++)
        free(L.seen[i].path);
    free(L.seen);
    return rc;
}

/* ---- files and overrides ---- */

pu_err sim_scenario_read_file(const char *path, char **out, size_t *out_len, sim_diag *diag)
{
    sim_diag scratch;
    sim_diag *d = diag ? diag : &scratch;
    char reason[128];
    *out = NULL;
    *out_len = 0;
    sim_diag_at(d, path, 0, 0);
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (strerror_r(errno, reason, sizeof reason) != 0)
            snprintf(reason, sizeof reason, "error %d", errno);
        msg(d, "cannot open: %s", reason);
        return PU_ERR_IO;
    }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap + 1);
    pu_err rc = buf ? PU_OK : PU_ERR_NOMEM;
    while (rc == PU_OK) {
        if (len == cap) {
            char *nb = cap < MAX_FILE_BYTES ? realloc(buf, cap * 2 + 1) : NULL;
            if (!nb) {
                rc = cap < MAX_FILE_BYTES ? PU_ERR_NOMEM : PU_ERR_IO;
                msg(d, cap < MAX_FILE_BYTES ? "out of memory" : "file too large");
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f)) {
                if (strerror_r(errno, reason, sizeof reason) != 0)
                    snprintf(reason, sizeof reason, "error %d", errno);
                msg(d, "cannot read: %s", reason);
                rc = PU_ERR_IO;
            }
            break;
        }
    }
    fclose(f);
    if (rc != PU_OK) {
        free(buf);
        return rc;
    }
    buf[len] = 0;
    *out = buf;
    *out_len = len;
    return PU_OK;
}

pu_err sim_scenario_set(sim_params *params, const char *assignment, sim_diag *diag)
{
    sim_diag scratch;
    sim_diag *d = diag ? diag : &scratch;
    sim_diag_at(d, "--set", 0, 0);
    const char *eq = strchr(assignment, '=');
    if (!eq || eq == assignment) {
        msg(d, "expected key.path=value, got '%.100s'", assignment);
        return PU_ERR_PARSE;
    }
    char key[MAX_PATH_CHARS + 1];
    size_t kl = (size_t)(eq - assignment);
    while (kl && (assignment[kl - 1] == ' ' || assignment[kl - 1] == '\t'))
        kl--;
    if (kl > MAX_PATH_CHARS) {
        msg(d, "key '%.60s...' is too long", assignment);
        return PU_ERR_PARSE;
    }
    memcpy(key, assignment, kl);
    key[kl] = 0;
    const char *val = eq + 1;
    while (*val == ' ' || *val == '\t')
        val++;
    return sim_params_set(params, key, val, d);
}

/* "dir/quick.yaml" -> "quick" */
static void file_stem(const char *path, char *out, size_t n)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *dot = strrchr(base, '.');
    size_t len = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    snprintf(out, n, "%.*s", (int)len, base);
}

pu_err sim_scenario_load_text(const char *path, const char *text, size_t len,
                              const char *const *sets, size_t n_sets, sim_params *params,
                              sim_diag *diag)
{
    sim_diag scratch;
    sim_diag *d = diag ? diag : &scratch;
    pu_err rc = sim_params_init_defaults(params);
    if (rc != PU_OK) {
        sim_diag_at(d, path, 0, 0);
        msg(d, "out of memory");
        return rc;
    }
    rc = sim_scenario_apply_text(params, path, text, len, d);
    for (size_t i = 0; rc == PU_OK && i < n_sets; i++)
        rc = sim_scenario_set(params, sets[i], d);
    if (rc == PU_OK && !params->name[0]) {
        char stem[256];
        file_stem(path, stem, sizeof stem);
        sim_diag_at(d, NULL, 0, 0); /* a derived value: no position to remember */
        rc = sim_params_set_decoded(params, "name", stem, d);
    }
    if (rc == PU_OK) {
        sim_diag_at(d, path, 0, 0);
        rc = sim_params_check(params, d);
    }
    if (rc != PU_OK)
        sim_params_release(params);
    return rc;
}

pu_err sim_scenario_load_with(const char *path, const char *const *sets, size_t n_sets,
                              sim_params *params, char **text, sim_diag *diag)
{
    sim_diag scratch;
    sim_diag *d = diag ? diag : &scratch;
    size_t len = 0;
    pu_err rc = sim_scenario_read_file(path, text, &len, d);
    if (rc == PU_OK)
        rc = sim_scenario_load_text(path, *text, len, sets, n_sets, params, d);
    else
        memset(params, 0, sizeof *params); /* released state, as on any failure */
    if (rc != PU_OK) {
        free(*text);
        *text = NULL;
    }
    return rc;
}

pu_err sim_scenario_load(const char *path, sim_params *params, char **text, sim_diag *diag)
{
    return sim_scenario_load_with(path, NULL, 0, params, text, diag);
}
