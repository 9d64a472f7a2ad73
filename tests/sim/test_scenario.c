/* tests/sim/test_scenario.c -- loading YAML scenario files: every error kind
 * gives its exact "file:line:col: error: ..." text, a valid file resolves to
 * the expected values, --set overrides, determinism.  Fixtures live in
 * tests/data/scenarios/ (paths relative to the repository root, the working
 * directory of the test run). */
#include <stdlib.h>
#include <string.h>

#include "sim/scenario.h"
#include "tests/harness.h"

#define DATA "tests/data/scenarios/"

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t cap = 0, len = 0, got;
    do {
        if (len + 4097 > cap) {
            cap = (len + 4097) * 2;
            char *nb = realloc(buf, cap);
            if (!nb)
                break;
            buf = nb;
        }
        got = fread(buf + len, 1, 4096, f);
        len += got;
    } while (got > 0);
    fclose(f);
    if (buf)
        buf[len] = 0;
    return buf;
}

static void write_file(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(fwrite(text, 1, len, f), len);
    fclose(f);
}

/* Load path (with overrides) and expect failure rc with the exact text. */
static void load_fails(const char *path, const char *const *sets, size_t n, pu_err rc,
                       const char *want)
{
    sim_params p;
    char *text = (char *)"sentinel";
    sim_diag d;
    sim_diag_clear(&d);
    pu_err got = sim_scenario_load_with(path, sets, n, &p, &text, &d);
    char buf[512];
    sim_diag_format(&d, buf, sizeof buf);
    if (got != rc || strcmp(buf, want) != 0)
        fprintf(stderr, "\n  %s: rc %d (want %d)\n  got:  %s\n  want: %s\n", path, got, rc, buf,
                want);
    CU_ASSERT_EQUAL(got, rc);
    CU_ASSERT_STRING_EQUAL(buf, want);
    CU_ASSERT_PTR_NULL(text);
    CU_ASSERT_PTR_NULL(p.name); /* released on failure */
}

static void test_error_fixtures(void)
{
    static const struct {
        const char *file;
        pu_err rc;
        const char *want;
    } c[] = {
        {"err_bad_unit.yaml", PU_ERR_PARSE,
         "err_bad_unit.yaml:6:11: error: network.latency.mean: expected a duration like '100ms', "
         "got 'fast'"},
        {"err_unknown_key.yaml", PU_ERR_PARSE,
         "err_unknown_key.yaml:3:3: error: unknown key 'network.nodse' (did you mean "
         "'network.nodes'?)"},
        {"err_unknown_far.yaml", PU_ERR_PARSE,
         "err_unknown_far.yaml:2:3: error: unknown key 'network.block_interval' (did you mean "
         "'chain.block_interval'?)"},
        {"err_wrong_type.yaml", PU_ERR_PARSE,
         "err_wrong_type.yaml:2:10: error: network.nodes: expected a whole number, got 'many'"},
        {"err_range.yaml", PU_ERR_RANGE,
         "err_range.yaml:2:10: error: network.nodes: expected a value in [1, 1000000], got '0'"},
        {"err_dup_key.yaml", PU_ERR_PARSE,
         "err_dup_key.yaml:5:1: error: duplicate key 'network.nodes' (first given at line 2)"},
        {"err_dup_map.yaml", PU_ERR_PARSE,
         "err_dup_map.yaml:2:1: error: duplicate key 'seed' (first given at line 1)"},
        {"err_syntax.yaml", PU_ERR_PARSE,
         "err_syntax.yaml:3:2: error: YAML syntax error: did not find expected key (while "
         "parsing a block mapping at line 1)"},
        {"err_timeline_missing.yaml", PU_ERR_PARSE,
         "err_timeline_missing.yaml:4:5: error: timeline[1]: action 'partition' needs 'groups' "
         "or 'nodes'"},
        {"err_timeline_foreign.yaml", PU_ERR_PARSE,
         "err_timeline_foreign.yaml:5:11: error: timeline[0].rate: not a field of action "
         "'partition' (its fields: 'groups', 'nodes')"},
        {"err_timeline_late.yaml", PU_ERR_RANGE,
         "err_timeline_late.yaml:4:10: error: timeline[1].at: 45min is after the end of the run "
         "(duration = 30min)"},
        {"err_cross.yaml", PU_ERR_RANGE,
         "err_cross.yaml:4:11: error: mining.miners: 12 miners but only 10 nodes (network.nodes)"},
        {"err_cross_file.yaml", PU_ERR_RANGE,
         "err_cross_file.yaml:3:10: error: mining.miners: 16 miners but only 10 nodes "
         "(network.nodes)"},
        {"err_bad_list.yaml", PU_ERR_PARSE,
         "err_bad_list.yaml:4:19: error: network.regions.shares[1]: expected a number, got 'half'"},
        {"err_matrix.yaml", PU_ERR_PARSE,
         "err_matrix.yaml:9:10: error: network.regions.latency_ms: row 1 has 1 values but row 0 "
         "has 2"},
        {"err_two_docs.yaml", PU_ERR_PARSE,
         "err_two_docs.yaml:2:1: error: only one YAML document is allowed in a scenario"},
        {"err_not_map.yaml", PU_ERR_PARSE,
         "err_not_map.yaml:1:1: error: a scenario is a mapping of keys (like 'network: ...'), "
         "got a list"},
        {"err_adversary.yaml", PU_ERR_PARSE,
         "err_adversary.yaml:5:5: error: adversaries[1]: unknown field 'confirmation' (did you "
         "mean 'confirmations'?)"},
        {"err_section_scalar.yaml", PU_ERR_PARSE,
         "err_section_scalar.yaml:2:12: error: network.latency: is a section; expected a mapping "
         "of its keys, got '100ms'"},
        {"err_shape.yaml", PU_ERR_PARSE,
         "err_shape.yaml:3:5: error: mining.miners: expected a whole number, got a mapping"},
    };
    char path[256];
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        snprintf(path, sizeof path, DATA "%s", c[i].file);
        char want[512];
        snprintf(want, sizeof want, DATA "%s", c[i].want);
        load_fails(path, NULL, 0, c[i].rc, want);
    }
}

/* Errors in text written by the test (binary content, odd shapes). */
static void test_error_texts(void)
{
    static const struct {
        const char *text;
        pu_err rc;
        const char *want; /* after "<path>:" */
    } c[] = {
        {"seed: \xff\xfe\n", PU_ERR_PARSE, "1:7: error: YAML syntax error: invalid leading UTF-8 octet"},
        {"seed: *nothing\n", PU_ERR_PARSE, "1:7: error: YAML syntax error: found undefined alias"},
        {"? [a]\n: 1\n", PU_ERR_PARSE, "1:3: error: keys must be plain names, got a list"},
        {"timeline: 5\n", PU_ERR_PARSE,
         "1:11: error: timeline: expected a list of entries (lines starting with '- '), got '5'"},
        {"timeline:\n  - heal\n", PU_ERR_PARSE,
         "2:5: error: timeline[0]: expected a mapping like {at: 10min, action: heal}, got 'heal'"},
        {"timeline:\n  - {action: heal}\n", PU_ERR_PARSE,
         "2:5: error: timeline[0]: missing required field 'at'"},
        {"timeline:\n  - {at: 1min, action: heal, at: 2min}\n", PU_ERR_PARSE,
         "2:30: error: duplicate key 'timeline[0].at' (first given at line 2)"},
        {"timeline:\n  - {at: 1min, action: heal}\ntimeline: []\n", PU_ERR_PARSE,
         "3:1: error: duplicate key 'timeline' (first given at line 1)"},
        {"timeline:\n  - {at: 1min, action: tx_rate, rat: 3}\n", PU_ERR_PARSE,
         "2:33: error: timeline[0]: unknown field 'rat' (did you mean 'rate'?)"},
        {"timeline:\n  - {at: 1min, action: partition, groups: {a: 1}}\n", PU_ERR_PARSE,
         "2:43: error: timeline[0].groups: expected a list of numbers, got a mapping"},
        {"network:\n  regions:\n    shares: [[0.5], 0.5]\n", PU_ERR_PARSE,
         "3:14: error: network.regions.shares[0]: expected a single value, got a list"},
        {"network:\n  regions:\n    latency_ms: [1, 2]\n", PU_ERR_PARSE,
         "3:18: error: network.regions.latency_ms[0]: expected a row (a list of numbers), got '1'"},
        {"seed: [1, 2]\n", PU_ERR_PARSE, "1:7: error: seed: expected a whole number, got a list"},
        {"timline: []\n", PU_ERR_PARSE, "1:1: error: unknown key 'timline' (did you mean 'timeline'?)"},
        {"pouw:\n  xylophone: 3\n", PU_ERR_PARSE, "2:3: error: unknown key 'pouw.xylophone'"},
        {"chain:\n  block_reward: 0.000000001\n", PU_ERR_RANGE,
         "2:17: error: chain.block_reward: '0.000000001' has more than 8 decimals"},
        {"network.latency.mean: 100\n", PU_ERR_PARSE,
         "1:23: error: network.latency.mean: expected a duration like '100ms', got '100' "
         "(missing unit)"},
        {"network:\n  latency:\n    min: 2s\n", PU_ERR_RANGE,
         "3:10: error: network.latency.min: 2s is greater than network.latency.max (1s)"},
        {"adversaries:\n  - {share: 0.3}\n", PU_ERR_PARSE,
         "2:5: error: adversaries[0]: missing required field 'type'"},
        {"network: {nodes: 5}\nnetwork.nodes: 6\n", PU_ERR_PARSE,
         "2:1: error: duplicate key 'network.nodes' (first given at line 1)"},
    };
    char path[512], want[640];
    th_path(path, sizeof path, "t.yaml");
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        write_file(path, c[i].text, strlen(c[i].text));
        snprintf(want, sizeof want, "%s:%s", path, c[i].want);
        load_fails(path, NULL, 0, c[i].rc, want);
    }
}

static void test_missing_file(void)
{
    load_fails(DATA "no_such_file.yaml", NULL, 0, PU_ERR_IO,
               DATA "no_such_file.yaml: error: cannot open: No such file or directory");
    load_fails("tests/data", NULL, 0, PU_ERR_IO, "tests/data: error: cannot read: Is a directory");
}

/* Every line of `text` that is "key = value" (not a comment) gets its key. */
static const char *find_line(const char *dump, const char *key)
{
    size_t kl = strlen(key);
    for (const char *l = dump; *l;) {
        const char *nl = strchr(l, '\n');
        if (strncmp(l, key, kl) == 0 && strncmp(l + kl, " = ", 3) == 0)
            return l;
        if (!nl)
            break;
        l = nl + 1;
    }
    return NULL;
}

static size_t line_len(const char *l)
{
    const char *nl = strchr(l, '\n');
    return nl ? (size_t)(nl - l) : strlen(l);
}

/* The resolved dump of valid.yaml equals the defaults' dump with exactly
 * the lines of valid.expected replaced or added: exact for every key, yet
 * unaffected by keys added to the table later. */
static void test_valid_file(void)
{
    sim_params p, def;
    char *text = NULL, *dump = NULL, *ddump = NULL;
    sim_diag d;
    sim_diag_clear(&d);
    pu_err rc = sim_scenario_load(DATA "valid.yaml", &p, &text, &d);
    if (rc != PU_OK)
        fprintf(stderr, "\n  %s:%u:%u: %s\n", d.path, d.line, d.col, d.msg);
    CU_ASSERT_EQUAL_FATAL(rc, PU_OK);
    char *disk = read_all(DATA "valid.yaml");
    CU_ASSERT_PTR_NOT_NULL_FATAL(disk);
    CU_ASSERT_STRING_EQUAL(text, disk); /* the raw text, for the run's output */
    CU_ASSERT_EQUAL_FATAL(sim_params_dump(&p, &dump), PU_OK);
    CU_ASSERT_EQUAL_FATAL(sim_params_init_defaults(&def), PU_OK);
    CU_ASSERT_EQUAL_FATAL(sim_params_dump(&def, &ddump), PU_OK);
    char *expected = read_all(DATA "valid.expected");
    CU_ASSERT_PTR_NOT_NULL_FATAL(expected);

    size_t n_expected = 0, n_lines = 0;
    for (const char *l = expected; *l; l += line_len(l) + (l[line_len(l)] ? 1 : 0)) {
        if (*l == '#' || *l == '\n')
            continue;
        n_expected++;
        char key[128];
        const char *eq = strstr(l, " = ");
        CU_ASSERT_FATAL(eq != NULL);
        snprintf(key, sizeof key, "%.*s", (int)(eq - l), l);
        const char *got = find_line(dump, key);
        CU_ASSERT_PTR_NOT_NULL(got);
        if (got && (line_len(got) != line_len(l) || strncmp(got, l, line_len(l)) != 0)) {
            fprintf(stderr, "\n  got:  %.*s\n  want: %.*s\n", (int)line_len(got), got,
                    (int)line_len(l), l);
            CU_FAIL("line differs from valid.expected");
        }
    }
    for (const char *l = dump; *l; l += line_len(l) + 1) {
        n_lines++;
        char key[128];
        const char *eq = strstr(l, " = ");
        snprintf(key, sizeof key, "%.*s", (int)(eq - l), l);
        const char *exp = find_line(expected, key);
        const char *def_line = find_line(ddump, key);
        if (exp)
            continue;
        /* Not in valid.expected: must be the default, unchanged. */
        CU_ASSERT_PTR_NOT_NULL(def_line);
        if (def_line && (line_len(def_line) != line_len(l) ||
                         strncmp(def_line, l, line_len(l)) != 0)) {
            fprintf(stderr, "\n  unexpected: %.*s\n", (int)line_len(l), l);
            CU_FAIL("a key not in valid.expected changed");
        }
    }
    CU_ASSERT(n_expected > 60);
    CU_ASSERT(n_lines > n_expected);
    /* Spot checks on the struct itself. */
    CU_ASSERT_STRING_EQUAL(p.name, "two-regions");
    CU_ASSERT_EQUAL(p.network.regions.download.v[1], 20000000);
    CU_ASSERT_EQUAL(p.chain.min_fee, 1000);
    CU_ASSERT_EQUAL(p.n_timeline, 7);
    CU_ASSERT_EQUAL(p.timeline[0].action, SIM_ACTION_PARTITION);
    CU_ASSERT_EQUAL(p.timeline[1].action, SIM_ACTION_ADVERSARY_START);
    CU_ASSERT_EQUAL(p.adversaries[1].type, SIM_PARAMS_ADV_SELFISH);
    CU_ASSERT_EQUAL(p.adversaries[1].stubborn.n, 2);
    /* Positions were recorded for the file's keys. */
    sim_loc loc;
    CU_ASSERT_EQUAL(sim_params_origin(&p, "network.relay", &loc), PU_OK);
    CU_ASSERT_EQUAL(loc.line, 32);
    CU_ASSERT_EQUAL(loc.col, 16);
    CU_ASSERT_STRING_EQUAL(sim_params_source_name(&p, loc.src), DATA "valid.yaml");

    /* Loading again gives identical bytes. */
    sim_params p2;
    char *text2 = NULL, *dump2 = NULL;
    CU_ASSERT_EQUAL_FATAL(sim_scenario_load(DATA "valid.yaml", &p2, &text2, &d), PU_OK);
    CU_ASSERT_EQUAL_FATAL(sim_params_dump(&p2, &dump2), PU_OK);
    CU_ASSERT_STRING_EQUAL(dump, dump2);
    free(text2);
    free(dump2);
    sim_params_release(&p2);

    free(expected);
    free(disk);
    free(text);
    free(dump);
    free(ddump);
    sim_params_release(&p);
    sim_params_release(&def);
}

static void test_empty_file_and_name(void)
{
    char path[512];
    th_path(path, sizeof path, "my.run.yaml");
    write_file(path, "# only a comment\n", 17);
    sim_params p;
    char *text = NULL;
    sim_diag d;
    sim_diag_clear(&d);
    CU_ASSERT_EQUAL_FATAL(sim_scenario_load(path, &p, &text, &d), PU_OK);
    CU_ASSERT_STRING_EQUAL(p.name, "my.run"); /* the stem: last extension dropped */
    CU_ASSERT_EQUAL(p.network.nodes, 100);
    CU_ASSERT_STRING_EQUAL(text, "# only a comment\n");
    sim_loc loc;
    CU_ASSERT_EQUAL(sim_params_origin(&p, "name", &loc), PU_OK);
    CU_ASSERT_EQUAL(loc.src, 0); /* derived, not given */
    free(text);
    sim_params_release(&p);

    write_file(path, "", 0);
    CU_ASSERT_EQUAL_FATAL(sim_scenario_load(path, &p, &text, &d), PU_OK);
    CU_ASSERT_STRING_EQUAL(text, "");
    free(text);
    sim_params_release(&p);
}

static void test_overrides(void)
{
    static const char *const sets[] = {
        "network.nodes=500",
        "mining.hashpower = [0.25, 0.25, 0.25, 0.25]",
        "adversaries[0].share=0.35",
        "timeline[0].at=15min",
        "seed=7",
    };
    sim_params p;
    char *text = NULL;
    sim_diag d;
    sim_diag_clear(&d);
    pu_err rc = sim_scenario_load_with(DATA "valid.yaml", sets, 5, &p, &text, &d);
    if (rc != PU_OK)
        fprintf(stderr, "\n  %s:%u:%u: %s\n", d.path, d.line, d.col, d.msg);
    CU_ASSERT_EQUAL_FATAL(rc, PU_OK);
    CU_ASSERT_EQUAL(p.network.nodes, 500);
    CU_ASSERT_EQUAL(p.mining.hashpower.n, 4);
    CU_ASSERT_DOUBLE_EQUAL(p.adversaries[0].share, 0.35, 0);
    CU_ASSERT_EQUAL(p.seed, 7);
    /* The partition moved from 10min to 15min, after the 10min event. */
    CU_ASSERT_EQUAL(p.timeline[0].action, SIM_ACTION_ADVERSARY_START);
    CU_ASSERT_EQUAL(p.timeline[1].action, SIM_ACTION_PARTITION);
    CU_ASSERT_EQUAL(p.timeline[1].at_ns, UINT64_C(900000000000));
    sim_loc loc;
    CU_ASSERT_EQUAL(sim_params_origin(&p, "network.nodes", &loc), PU_OK);
    CU_ASSERT_STRING_EQUAL(sim_params_source_name(&p, loc.src), "--set");
    free(text);
    sim_params_release(&p);

    static const char *const bad1[] = {"network.nodes=lots"};
    load_fails(DATA "valid.yaml", bad1, 1, PU_ERR_PARSE,
               "--set: error: network.nodes: expected a whole number, got 'lots'");
    static const char *const bad2[] = {"mining.minrs=3"};
    load_fails(DATA "valid.yaml", bad2, 1, PU_ERR_PARSE,
               "--set: error: unknown key 'mining.minrs' (did you mean 'mining.miners'?)");
    static const char *const bad3[] = {"seed"};
    load_fails(DATA "valid.yaml", bad3, 1, PU_ERR_PARSE,
               "--set: error: expected key.path=value, got 'seed'");
    /* An inconsistency created by an override is reported at --set ... */
    static const char *const bad4[] = {"mining.miners=60"};
    load_fails(DATA "valid.yaml", bad4, 1, PU_ERR_RANGE,
               "--set: error: mining.miners: 60 miners but only 50 nodes (network.nodes)");
    /* ... but at the file's key when the other side came from the file. */
    static const char *const bad5[] = {"network.nodes=3"};
    load_fails(DATA "valid.yaml", bad5, 1, PU_ERR_RANGE,
               DATA "valid.yaml:11:42: error: network.topology.degree: 6 peers but only 3 nodes "
                    "(network.nodes)");
}

static void test_apply_text(void)
{
    sim_params p;
    CU_ASSERT_EQUAL_FATAL(sim_params_init_defaults(&p), PU_OK);
    static const char yaml[] = "network: {nodes: 7}\nchain.block_interval: 2.5s\n";
    sim_diag d;
    sim_diag_clear(&d);
    CU_ASSERT_EQUAL(sim_scenario_apply_text(&p, "mem", yaml, sizeof yaml - 1, &d), PU_OK);
    CU_ASSERT_EQUAL(p.network.nodes, 7);
    CU_ASSERT_EQUAL(p.chain.block_interval_ns, 2500000000u);
    static const char bad[] = "network:\n  nodes: [\n";
    CU_ASSERT_EQUAL(sim_scenario_apply_text(&p, "mem", bad, sizeof bad - 1, &d), PU_ERR_PARSE);
    char buf[256];
    sim_diag_format(&d, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "mem:3:1: error: YAML syntax error: did not find expected node "
                                "content (while parsing a flow node at line 3)");
    CU_ASSERT_EQUAL(sim_scenario_set(&p, "chain.max_block_size=4MB", &d), PU_OK);
    CU_ASSERT_EQUAL(p.chain.max_block_size, 4000000);
    /* YAML has decoded its scalars once; a second decoding would eat the
     * quotes and the backslash escape. */
    static const char quoted[] = "name: '\"a\\x41\"'\nnetwork.regions.names: ['\"x\"', y]\n";
    CU_ASSERT_EQUAL(sim_scenario_apply_text(&p, "mem", quoted, sizeof quoted - 1, &d), PU_OK);
    CU_ASSERT_STRING_EQUAL(p.name, "\"a\\x41\"");
    CU_ASSERT_EQUAL_FATAL(p.network.regions.names.n, 2);
    CU_ASSERT_STRING_EQUAL(p.network.regions.names.v[0], "\"x\"");
    static const char empty_row[] = "network:\n  regions:\n    latency_ms: [[1, 2], []]\n";
    CU_ASSERT_EQUAL(sim_scenario_apply_text(&p, "mem", empty_row, sizeof empty_row - 1, &d),
                    PU_ERR_PARSE);
    sim_diag_format(&d, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "mem:3:26: error: network.regions.latency_ms: row 1 is empty");
    /* The --set text syntax still decodes. */
    CU_ASSERT_EQUAL(sim_scenario_set(&p, "name=\"a\\x41\"", &d), PU_OK);
    CU_ASSERT_STRING_EQUAL(p.name, "aA");
    sim_params_release(&p);
}

TSUITE(scenario)
{
    CU_pSuite s = CU_add_suite("scenario", NULL, NULL);
    if (!s)
        return CU_get_error();
    TADD(s, test_error_fixtures);
    TADD(s, test_error_texts);
    TADD(s, test_missing_file);
    TADD(s, test_valid_file);
    TADD(s, test_empty_file_and_name);
    TADD(s, test_overrides);
    TADD(s, test_apply_text);
    return CUE_SUCCESS;
}
