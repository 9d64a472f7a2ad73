/* tests/sim/test_params.c -- the key table, defaults, typed setting with
 * precise messages, lists, entries, cross-field checks, the canonical dump
 * and the generated reference (scenarios/README.md). */
#include <stdlib.h>
#include <string.h>

#include "sim/params.h"
#include "tests/harness.h"

static void init(sim_params *p) { CU_ASSERT_FATAL(sim_params_init_defaults(p) == PU_OK); }

/* A diag positioned as if the value came from f.yaml:line:col. */
static sim_diag at(uint32_t line, uint32_t col)
{
    sim_diag d;
    sim_diag_clear(&d);
    sim_diag_at(&d, "f.yaml", line, col);
    return d;
}

static char *formatted(const sim_diag *d)
{
    static const size_t n = 512;
    char *buf = malloc(n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
    sim_diag_format(d, buf, n);
    return buf;
}

/* Assert that setting path=text fails with rc and the exact diag text. */
static void set_fails(sim_params *p, const char *path, const char *text, pu_err rc,
                      const char *want)
{
    sim_diag d = at(4, 7);
    pu_err got = sim_params_set(p, path, text, &d);
    CU_ASSERT_EQUAL(got, rc);
    char *s = formatted(&d);
    if (strcmp(s, want) != 0)
        fprintf(stderr, "\n  got:  %s\n  want: %s\n", s, want);
    CU_ASSERT_STRING_EQUAL(s, want);
    free(s);
}

static void test_defaults(void)
{
    sim_params p;
    init(&p);
    CU_ASSERT_EQUAL(p.seed, 1);
    CU_ASSERT_EQUAL(p.duration_ns, UINT64_C(3600000000000));
    CU_ASSERT_EQUAL(p.consensus, SIM_CONSENSUS_POW);
    CU_ASSERT_EQUAL(p.network.nodes, 100);
    CU_ASSERT_EQUAL(p.network.topology.model, SIM_TOPO_RANDOM);
    CU_ASSERT_EQUAL(p.network.topology.max_inbound, 125);
    CU_ASSERT_STRING_EQUAL(p.network.topology.file, "");
    CU_ASSERT_EQUAL(p.network.latency.model, SIM_PARAMS_LAT_REGION);
    CU_ASSERT_EQUAL(p.network.latency.jitter, SIM_JITTER_PER_MESSAGE);
    CU_ASSERT_EQUAL(p.network.relay, SIM_RELAY_ANNOUNCE);
    CU_ASSERT_EQUAL(p.network.retransmit_timeout_ns, 200000000);
    /* SimBlock's 2019 region data */
    CU_ASSERT_EQUAL_FATAL(p.network.regions.names.n, 6);
    CU_ASSERT_STRING_EQUAL(p.network.regions.names.v[0], "NA");
    CU_ASSERT_STRING_EQUAL(p.network.regions.names.v[5], "AU");
    CU_ASSERT_EQUAL_FATAL(p.network.regions.shares.n, 6);
    CU_ASSERT_DOUBLE_EQUAL(p.network.regions.shares.v[1], 0.4998, 1e-12);
    CU_ASSERT_EQUAL_FATAL(p.network.regions.latency_ms.rows, 6);
    CU_ASSERT_EQUAL_FATAL(p.network.regions.latency_ms.cols, 6);
    CU_ASSERT_DOUBLE_EQUAL(p.network.regions.latency_ms.v[1 * 6 + 1], 11, 0);
    CU_ASSERT_DOUBLE_EQUAL(p.network.regions.latency_ms.v[2 * 6 + 3], 325, 0);
    CU_ASSERT_DOUBLE_EQUAL(p.network.regions.latency_ms.v[5 * 6 + 0], 189, 0);
    CU_ASSERT_EQUAL_FATAL(p.network.regions.download.n, 6);
    CU_ASSERT_EQUAL(p.network.regions.download.v[3], 22800000);
    CU_ASSERT_EQUAL(p.network.regions.upload.v[2], 5800000);
    CU_ASSERT_EQUAL(p.network.regions.inter_region_cap, 6000000);
    CU_ASSERT_EQUAL(p.chain.block_interval_ns, UINT64_C(600000000000));
    CU_ASSERT_EQUAL(p.chain.block_reward, INT64_C(1250000000));
    CU_ASSERT_EQUAL(p.chain.min_fee, 10000);
    CU_ASSERT_EQUAL(p.chain.mempool_capacity, 10000);
    CU_ASSERT_EQUAL(p.chain.max_block_size, 1000000);
    CU_ASSERT_EQUAL(p.chain.retarget_interval, 2016);
    CU_ASSERT_EQUAL(p.chain.pow_hashes_per_block, 256);
    CU_ASSERT_EQUAL(p.chain.max_future_time_ns, UINT64_C(7200000000000));
    CU_ASSERT_FALSE(p.chain.fixed_target);
    CU_ASSERT_EQUAL(p.mining.miners, 16);
    CU_ASSERT_EQUAL(p.mining.hashpower.n, 0);
    CU_ASSERT_DOUBLE_EQUAL(p.transactions.rate, 1.0, 0);
    CU_ASSERT_EQUAL(p.transactions.initial_balance, 100 * PU_COIN);
    CU_ASSERT_EQUAL(p.cpu.verify_signature_ns, 50000);
    CU_ASSERT_EQUAL(p.output.sample_interval_ns, UINT64_C(10000000000));
    CU_ASSERT_TRUE(p.output.arrivals);
    CU_ASSERT_EQUAL(p.n_timeline, 0);
    CU_ASSERT_EQUAL(p.n_adversaries, 0);
    sim_diag d;
    sim_diag_clear(&d);
    CU_ASSERT_EQUAL(sim_params_check(&p, &d), PU_OK);
    sim_params_release(&p);
    CU_ASSERT_PTR_NULL(p.name);
    sim_params_release(&p); /* released twice: harmless */
    sim_params_release(NULL);
}

/* Every table row is well formed: unique paths, docs, bounds and enum
 * names that parse as the key's own type. */
static void test_table(void)
{
    size_t n = sim_params_key_count();
    CU_ASSERT(n > 60);
    CU_ASSERT_PTR_NULL(sim_params_key_at(n));
    sim_params p;
    init(&p);
    for (size_t i = 0; i < n; i++) {
        const sim_param_key *k = sim_params_key_at(i);
        CU_ASSERT_FATAL(k != NULL);
        CU_ASSERT(k->doc[0] != 0);
        CU_ASSERT_PTR_EQUAL(sim_params_key_find(k->path), k);
        for (size_t j = 0; j < i; j++)
            CU_ASSERT(strcmp(sim_params_key_at(j)->path, k->path) != 0);
        if (k->type == SIM_PT_SECTION) {
            CU_ASSERT_TRUE(sim_params_is_section(k->path));
            continue;
        }
        sim_diag d = at(1, 1);
        /* Bounds are values of the element type, and lie inside themselves. */
        if (k->min[0] && !sim_params_type_is_list(k->type))
            CU_ASSERT_EQUAL(sim_params_set(&p, k->path, k->min, &d), PU_OK);
        if (k->max[0] && !sim_params_type_is_list(k->type))
            CU_ASSERT_EQUAL(sim_params_set(&p, k->path, k->max, &d), PU_OK);
        if (k->type == SIM_PT_ENUM)
            CU_ASSERT(k->names[0] != 0);
        CU_ASSERT_EQUAL(sim_params_set(&p, k->path, k->def, &d), PU_OK);
    }
    CU_ASSERT_TRUE(sim_params_is_section("network.latency"));
    CU_ASSERT_FALSE(sim_params_is_section("network.nodes"));
    CU_ASSERT_FALSE(sim_params_is_section("netw"));
    CU_ASSERT_TRUE(sim_params_is_entry_list("timeline"));
    CU_ASSERT_TRUE(sim_params_is_entry_list("adversaries"));
    CU_ASSERT_FALSE(sim_params_is_entry_list("network"));
    sim_params_release(&p);
}

static void test_set_scalars(void)
{
    sim_params p;
    init(&p);
    sim_diag d = at(2, 3);
    CU_ASSERT_EQUAL(sim_params_set(&p, "network.latency.mean", "1.5s", &d), PU_OK);
    CU_ASSERT_EQUAL(p.network.latency.mean_ns, 1500000000);
    CU_ASSERT_EQUAL(sim_params_set(&p, "chain.fixed_target", "yes", &d), PU_OK);
    CU_ASSERT_TRUE(p.chain.fixed_target);
    CU_ASSERT_EQUAL(sim_params_set(&p, "network.topology.model", "scale_free", &d), PU_OK);
    CU_ASSERT_EQUAL(p.network.topology.model, SIM_TOPO_SCALE_FREE);
    CU_ASSERT_EQUAL(sim_params_set(&p, "network.loss", "2.5%", &d), PU_OK);
    CU_ASSERT_EQUAL(p.network.loss_ppm, 25000);
    CU_ASSERT_EQUAL(sim_params_set(&p, "chain.block_reward", "6.25", &d), PU_OK);
    CU_ASSERT_EQUAL(p.chain.block_reward, 625000000);
    CU_ASSERT_EQUAL(sim_params_set(&p, "chain.max_block_size", "4MiB", &d), PU_OK);
    CU_ASSERT_EQUAL(p.chain.max_block_size, 4u << 20);
    CU_ASSERT_EQUAL(sim_params_set(&p, "network.bandwidth.upload", "1Gbps", &d), PU_OK);
    CU_ASSERT_EQUAL(p.network.bandwidth.upload, 1000000000);
    CU_ASSERT_EQUAL(sim_params_set(&p, "transactions.rate", "0.25", &d), PU_OK);
    CU_ASSERT_DOUBLE_EQUAL(p.transactions.rate, 0.25, 0);
    CU_ASSERT_EQUAL(sim_params_set(&p, "seed", "18446744073709551615", &d), PU_OK);
    CU_ASSERT_EQUAL(p.seed, UINT64_MAX);
    CU_ASSERT_EQUAL(sim_params_set(&p, "output.hdf5", "\"a \\\"b\\\"\\n\"", &d), PU_OK);
    CU_ASSERT_STRING_EQUAL(p.output.hdf5, "a \"b\"\n");
    CU_ASSERT_EQUAL(sim_params_set(&p, "output.sqlite", "plain text, no quotes", &d), PU_OK);
    CU_ASSERT_STRING_EQUAL(p.output.sqlite, "plain text, no quotes");
    /* Where each value came from is remembered. */
    sim_loc loc;
    CU_ASSERT_EQUAL(sim_params_origin(&p, "seed", &loc), PU_OK);
    CU_ASSERT_EQUAL(loc.line, 2);
    CU_ASSERT_EQUAL(loc.col, 3);
    CU_ASSERT_STRING_EQUAL(sim_params_source_name(&p, loc.src), "f.yaml");
    CU_ASSERT_EQUAL(sim_params_origin(&p, "network.nodes", &loc), PU_OK);
    CU_ASSERT_EQUAL(loc.src, 0); /* still the default */
    CU_ASSERT_EQUAL(sim_params_origin(&p, "network.nodez", &loc), PU_ERR_NOTFOUND);
    sim_params_release(&p);
}

static void test_set_errors(void)
{
    sim_params p;
    init(&p);
    set_fails(&p, "network.latency.mean", "fast", PU_ERR_PARSE,
              "f.yaml:4:7: error: network.latency.mean: expected a duration like '100ms', got 'fast'");
    set_fails(&p, "network.latency.mean", "100", PU_ERR_PARSE,
              "f.yaml:4:7: error: network.latency.mean: expected a duration like '100ms', got "
              "'100' (missing unit)");
    set_fails(&p, "network.latency.mean", "3 fortnights", PU_ERR_PARSE,
              "f.yaml:4:7: error: network.latency.mean: expected a duration like '100ms', got "
              "'3 fortnights' (unknown unit 'fortnights')");
    set_fails(&p, "network.latency.mean", "0.5ns", PU_ERR_RANGE,
              "f.yaml:4:7: error: network.latency.mean: '0.5ns' is not a whole number of ns");
    set_fails(&p, "network.nodes", "0", PU_ERR_RANGE,
              "f.yaml:4:7: error: network.nodes: expected a value in [1, 1000000], got '0'");
    set_fails(&p, "network.nodes", "", PU_ERR_PARSE,
              "f.yaml:4:7: error: network.nodes: expected a whole number, got nothing");
    set_fails(&p, "network.nodes", "-3", PU_ERR_PARSE,
              "f.yaml:4:7: error: network.nodes: expected a whole number, got '-3'");
    set_fails(&p, "seed", "18446744073709551616", PU_ERR_RANGE,
              "f.yaml:4:7: error: seed: '18446744073709551616' is too large");
    set_fails(&p, "chain.block_interval", "0s", PU_ERR_RANGE,
              "f.yaml:4:7: error: chain.block_interval: expected a value >= 1ms, got '0s'");
    set_fails(&p, "chain.fixed_target", "maybe", PU_ERR_PARSE,
              "f.yaml:4:7: error: chain.fixed_target: expected true or false, got 'maybe'");
    set_fails(&p, "network.relay", "flood", PU_ERR_PARSE,
              "f.yaml:4:7: error: network.relay: expected one of push, announce, compact, got 'flood'");
    set_fails(&p, "network.loss", "150%", PU_ERR_RANGE,
              "f.yaml:4:7: error: network.loss: expected a value in [0, 0.999], got '150%'");
    set_fails(&p, "chain.min_fee", "0.000000001", PU_ERR_RANGE,
              "f.yaml:4:7: error: chain.min_fee: '0.000000001' has more than 8 decimals");
    set_fails(&p, "chain.block_reward", "-1", PU_ERR_RANGE,
              "f.yaml:4:7: error: chain.block_reward: expected a value in [0, 21000000], got '-1'");
    set_fails(&p, "network.latency.sigma", "nan", PU_ERR_PARSE,
              "f.yaml:4:7: error: network.latency.sigma: expected a number, got 'nan'");
    set_fails(&p, "network.latency.sigma", "1e999", PU_ERR_RANGE,
              "f.yaml:4:7: error: network.latency.sigma: '1e999' is too large");
    set_fails(&p, "output.hdf5", "\"bad \\q escape\"", PU_ERR_PARSE,
              "f.yaml:4:7: error: output.hdf5: bad escape in string '\"bad \\q escape\"'");
    set_fails(&p, "network.nodse", "5", PU_ERR_PARSE,
              "f.yaml:4:7: error: unknown key 'network.nodse' (did you mean 'network.nodes'?)");
    set_fails(&p, "network.block_interval", "5s", PU_ERR_PARSE,
              "f.yaml:4:7: error: unknown key 'network.block_interval' (did you mean "
              "'chain.block_interval'?)");
    set_fails(&p, "netwrk.latency", "5s", PU_ERR_PARSE,
              "f.yaml:4:7: error: unknown key 'netwrk.latency' (did you mean 'network.latency'?)");
    set_fails(&p, "colour", "red", PU_ERR_PARSE, "f.yaml:4:7: error: unknown key 'colour'");
    set_fails(&p, "network.latency", "5s", PU_ERR_PARSE,
              "f.yaml:4:7: error: network.latency: is a section, not a key; set one of its keys");
    set_fails(&p, "timeline", "x", PU_ERR_PARSE,
              "f.yaml:4:7: error: timeline: is a list of entries; set a field like timeline[0].at");
    set_fails(&p, "timeline[0].at", "5s", PU_ERR_PARSE,
              "f.yaml:4:7: error: timeline[0]: no such entry (timeline has 0)");
    /* A failed set keeps the old value and records nothing. */
    CU_ASSERT_EQUAL(p.network.latency.mean_ns, 100000000);
    CU_ASSERT_EQUAL(p.network.nodes, 100);
    sim_loc loc;
    CU_ASSERT_EQUAL(sim_params_origin(&p, "network.nodes", &loc), PU_OK);
    CU_ASSERT_EQUAL(loc.src, 0);
    sim_params_release(&p);
}

static void test_lists(void)
{
    sim_params p;
    init(&p);
    sim_diag d = at(3, 1);
    CU_ASSERT_EQUAL(sim_params_set(&p, "mining.hashpower", "[0.5, 0.25,0.25]", &d), PU_OK);
    CU_ASSERT_EQUAL_FATAL(p.mining.hashpower.n, 3);
    CU_ASSERT_DOUBLE_EQUAL(p.mining.hashpower.v[1], 0.25, 0);
    CU_ASSERT_EQUAL(sim_params_set(&p, "mining.hashpower", "[]", &d), PU_OK);
    CU_ASSERT_EQUAL(p.mining.hashpower.n, 0);
    CU_ASSERT_EQUAL(sim_params_set(&p, "mining.hashpower", "0.5, 0.5", &d), PU_OK);
    CU_ASSERT_EQUAL(p.mining.hashpower.n, 2);
    CU_ASSERT_EQUAL(sim_params_set(&p, "network.regions.names", "[\"a, b\", c]", &d), PU_OK);
    CU_ASSERT_EQUAL_FATAL(p.network.regions.names.n, 2);
    CU_ASSERT_STRING_EQUAL(p.network.regions.names.v[0], "a, b");
    CU_ASSERT_STRING_EQUAL(p.network.regions.names.v[1], "c");
    CU_ASSERT_EQUAL(sim_params_set(&p, "network.regions.download", "[1Mbit/s, 1MB/s]", &d), PU_OK);
    CU_ASSERT_EQUAL(p.network.regions.download.v[1], 8000000);
    CU_ASSERT_EQUAL(sim_params_set(&p, "network.regions.latency_ms", "[[1, 2.5], [3, 4]]", &d),
                    PU_OK);
    CU_ASSERT_EQUAL(p.network.regions.latency_ms.rows, 2);
    CU_ASSERT_EQUAL(p.network.regions.latency_ms.cols, 2);
    CU_ASSERT_DOUBLE_EQUAL(p.network.regions.latency_ms.v[1], 2.5, 0);
    set_fails(&p, "mining.hashpower", "[0.5, x]", PU_ERR_PARSE,
              "f.yaml:4:7: error: mining.hashpower[1]: expected a number, got 'x'");
    set_fails(&p, "mining.hashpower", "[0.5, 1.5]", PU_ERR_RANGE,
              "f.yaml:4:7: error: mining.hashpower[1]: expected a value in [0, 1], got '1.5'");
    set_fails(&p, "mining.hashpower", "[0.5, 0.5", PU_ERR_PARSE,
              "f.yaml:4:7: error: mining.hashpower: expected a list of numbers like [a, b, c], "
              "got '[0.5, 0.5'");
    set_fails(&p, "network.regions.latency_ms", "[[1, 2], [3]]", PU_ERR_PARSE,
              "f.yaml:4:7: error: network.regions.latency_ms: row 1 has 1 values but row 0 has 2");
    set_fails(&p, "network.regions.latency_ms", "[[1, 2], [3, 4], []]", PU_ERR_PARSE,
              "f.yaml:4:7: error: network.regions.latency_ms: row 2 is empty");
    set_fails(&p, "network.regions.latency_ms", "[1, 2]", PU_ERR_PARSE,
              "f.yaml:4:7: error: network.regions.latency_ms: expected a matrix (a list of lists "
              "of numbers) like [[1, 2], [3, 4]], got '[1, 2]'");
    set_fails(&p, "network.regions.upload", "[1Mbit/s, 2]", PU_ERR_PARSE,
              "f.yaml:4:7: error: network.regions.upload[1]: expected a bandwidth like "
              "'20Mbit/s', got '2' (missing unit)");
    CU_ASSERT_EQUAL(p.mining.hashpower.n, 2); /* unchanged by the failures */

    /* Items given one by one point at the item in error. */
    sim_params_item items[] = {{"0.5", 7, 12, 0}, {"half", 8, 12, 0}};
    d = at(6, 3);
    CU_ASSERT_EQUAL(sim_params_set_list(&p, "network.regions.shares", items, 2, &d), PU_ERR_PARSE);
    char *s = formatted(&d);
    CU_ASSERT_STRING_EQUAL(s, "f.yaml:8:12: error: network.regions.shares[1]: expected a number, "
                              "got 'half'");
    free(s);
    sim_params_item rows[] = {{"1", 2, 5, 0}, {"2", 2, 8, 0}, {"3", 3, 5, 2}};
    d = at(1, 1);
    CU_ASSERT_EQUAL(sim_params_set_list(&p, "network.regions.latency_ms", rows, 3, &d),
                    PU_ERR_PARSE);
    s = formatted(&d);
    CU_ASSERT_STRING_EQUAL(s, "f.yaml:3:5: error: network.regions.latency_ms: row 1 is empty");
    free(s);
    d = at(1, 1);
    CU_ASSERT_EQUAL(sim_params_set_list(&p, "network.nodes", items, 1, &d), PU_ERR_PARSE);
    CU_ASSERT_STRING_EQUAL(d.msg, "network.nodes: expected a whole number, got a list");
    sim_params_release(&p);
}

static void add_event(sim_params *p, const char *at_text, const char *action, const char *f,
                      const char *v, size_t *idx)
{
    sim_diag d = at(10, 5);
    char path[64];
    CU_ASSERT_EQUAL_FATAL(sim_params_entry_begin(p, "timeline", idx, &d), PU_OK);
    snprintf(path, sizeof path, "timeline[%zu].at", *idx);
    CU_ASSERT_EQUAL_FATAL(sim_params_set(p, path, at_text, &d), PU_OK);
    snprintf(path, sizeof path, "timeline[%zu].action", *idx);
    CU_ASSERT_EQUAL_FATAL(sim_params_set(p, path, action, &d), PU_OK);
    if (f) {
        snprintf(path, sizeof path, "timeline[%zu].%s", *idx, f);
        CU_ASSERT_EQUAL_FATAL(sim_params_set(p, path, v, &d), PU_OK);
    }
    CU_ASSERT_EQUAL_FATAL(sim_params_entry_end(p, "timeline", *idx, &d), PU_OK);
}

static void test_timeline(void)
{
    sim_params p;
    init(&p);
    size_t i;
    add_event(&p, "20min", "heal", NULL, NULL, &i);
    add_event(&p, "10min", "tx_rate", "rate", "5", &i);
    add_event(&p, "20min", "partition", "groups", "[0.5, 0.5]", &i);
    /* hashpower without its share: rejected, pointing at the entry. */
    sim_diag d = at(10, 5);
    CU_ASSERT_EQUAL_FATAL(sim_params_entry_begin(&p, "timeline", &i, &d), PU_OK);
    CU_ASSERT_EQUAL(i, 3);
    d = at(11, 9);
    CU_ASSERT_EQUAL(sim_params_set(&p, "timeline[3].at", "10min", &d), PU_OK);
    CU_ASSERT_EQUAL(sim_params_set(&p, "timeline[3].action", "hashpower", &d), PU_OK);
    CU_ASSERT_EQUAL(sim_params_set(&p, "timeline[3].miner", "3", &d), PU_OK);
    CU_ASSERT_EQUAL(p.n_timeline, 4);
    CU_ASSERT_EQUAL(sim_params_entry_end(&p, "timeline", 3, &d), PU_ERR_PARSE);
    char *s = formatted(&d);
    CU_ASSERT_STRING_EQUAL(s, "f.yaml:10:5: error: timeline[3]: action 'hashpower' needs 'share'");
    free(s);
    d = at(12, 9);
    CU_ASSERT_EQUAL(sim_params_set(&p, "timeline[3].share", "0.2", &d), PU_OK);
    CU_ASSERT_EQUAL(sim_params_entry_end(&p, "timeline", 3, &d), PU_OK);
    /* Stable order by time: equal times keep their insertion order. */
    CU_ASSERT_EQUAL(p.timeline[0].action, SIM_ACTION_TX_RATE);
    CU_ASSERT_EQUAL(p.timeline[1].action, SIM_ACTION_HASHPOWER);
    CU_ASSERT_EQUAL(p.timeline[2].action, SIM_ACTION_HEAL);
    CU_ASSERT_EQUAL(p.timeline[3].action, SIM_ACTION_PARTITION);
    CU_ASSERT_DOUBLE_EQUAL(p.timeline[0].rate, 5, 0);
    CU_ASSERT_EQUAL(p.timeline[1].miner, 3);
    CU_ASSERT_EQUAL(p.timeline[3].groups.n, 2);
    d = at(1, 1);
    CU_ASSERT_EQUAL(sim_params_check(&p, &d), PU_OK);
    /* Changing a closed event's time moves it (as --set would). */
    d = at(0, 0);
    sim_diag_at(&d, "--set", 0, 0);
    CU_ASSERT_EQUAL(sim_params_set(&p, "timeline[0].at", "30min", &d), PU_OK);
    CU_ASSERT_EQUAL(p.timeline[3].action, SIM_ACTION_TX_RATE);
    CU_ASSERT_EQUAL(p.timeline[0].action, SIM_ACTION_HASHPOWER);
    /* A field foreign to the action, set later, is caught by the check. */
    CU_ASSERT_EQUAL(sim_params_set(&p, "timeline[1].rate", "3", &d), PU_OK);
    CU_ASSERT_EQUAL(sim_params_check(&p, &d), PU_ERR_PARSE);
    s = formatted(&d);
    CU_ASSERT_STRING_EQUAL(s, "--set: error: timeline[1].rate: not a field of action 'heal' "
                              "(its fields: none)");
    free(s);
    set_fails(&p, "timeline[1].rat", "3", PU_ERR_PARSE,
              "f.yaml:4:7: error: timeline[1]: unknown field 'rat' (did you mean 'rate'?)");
    set_fails(&p, "timeline[9].rate", "3", PU_ERR_PARSE,
              "f.yaml:4:7: error: timeline[9]: no such entry (timeline has 4)");
    set_fails(&p, "timeline[x].rate", "3", PU_ERR_PARSE,
              "f.yaml:4:7: error: 'timeline[x].rate': expected timeline[N].field");
    sim_params_release(&p);
}

static void test_timeline_checks(void)
{
    static const struct {
        const char *at, *action, *field, *value, *want;
    } c[] = {
        {"2h", "heal", NULL, NULL,
         "f.yaml:10:5: error: timeline[0].at: 2h is after the end of the run (duration = 1h)"},
        {"1min", "partition", "groups", "[0.5, 0.4]",
         "f.yaml:10:5: error: timeline[0].groups: fractions sum to 0.9, expected 1 (within 1e-6)"},
        {"1min", "partition", "groups", "[1]",
         "f.yaml:10:5: error: timeline[0].groups: at least 2 groups"},
        {"1min", "leave", "nodes", "[5, 100]",
         "f.yaml:10:5: error: timeline[0].nodes: node 100 does not exist (network.nodes = 100)"},
        {"1min", "join", "nodes", "[]", "f.yaml:10:5: error: timeline[0].nodes: no node given"},
        {"1min", "adversary_stop", "adversary", "0",
         "f.yaml:10:5: error: timeline[0].adversary: adversary 0 does not exist (0 adversaries)"},
    };
    for (size_t k = 0; k < sizeof c / sizeof c[0]; k++) {
        sim_params p;
        init(&p);
        size_t i;
        add_event(&p, c[k].at, c[k].action, c[k].field, c[k].value, &i);
        sim_diag d = at(1, 1);
        CU_ASSERT_EQUAL(sim_params_check(&p, &d), PU_ERR_RANGE);
        char *s = formatted(&d);
        if (strcmp(s, c[k].want) != 0)
            fprintf(stderr, "\n  got:  %s\n  want: %s\n", s, c[k].want);
        CU_ASSERT_STRING_EQUAL(s, c[k].want);
        free(s);
        sim_params_release(&p);
    }
    /* hashpower for a miner that does not exist */
    sim_params p;
    init(&p);
    size_t i;
    sim_diag d = at(10, 5);
    CU_ASSERT_EQUAL_FATAL(sim_params_entry_begin(&p, "timeline", &i, &d), PU_OK);
    CU_ASSERT_EQUAL(sim_params_set(&p, "timeline[0].at", "1min", &d), PU_OK);
    CU_ASSERT_EQUAL(sim_params_set(&p, "timeline[0].action", "hashpower", &d), PU_OK);
    d = at(12, 14);
    CU_ASSERT_EQUAL(sim_params_set(&p, "timeline[0].miner", "16", &d), PU_OK);
    CU_ASSERT_EQUAL(sim_params_set(&p, "timeline[0].share", "0.5", &d), PU_OK);
    CU_ASSERT_EQUAL(sim_params_entry_end(&p, "timeline", i, &d), PU_OK);
    CU_ASSERT_EQUAL(sim_params_check(&p, &d), PU_ERR_RANGE);
    char *s = formatted(&d);
    CU_ASSERT_STRING_EQUAL(s, "f.yaml:12:14: error: timeline[0].miner: miner 16 does not exist "
                              "(mining.miners = 16)");
    free(s);
    sim_params_release(&p);
}

static void test_adversaries(void)
{
    sim_params p;
    init(&p);
    size_t i;
    sim_diag d = at(3, 5);
    CU_ASSERT_EQUAL_FATAL(sim_params_entry_begin(&p, "adversaries", &i, &d), PU_OK);
    CU_ASSERT_EQUAL(p.adversaries[0].confirmations, 6); /* field defaults applied */
    CU_ASSERT_EQUAL(p.adversaries[0].amount, 10 * PU_COIN);
    CU_ASSERT_EQUAL(sim_params_entry_end(&p, "adversaries", i, &d), PU_ERR_PARSE);
    CU_ASSERT_STRING_EQUAL(d.msg, "adversaries[0]: missing required field 'type'");
    CU_ASSERT_EQUAL(sim_params_set(&p, "adversaries[0].type", "selfish", &d), PU_OK);
    /* a type's required field */
    CU_ASSERT_EQUAL(sim_params_entry_end(&p, "adversaries", i, &d), PU_ERR_PARSE);
    CU_ASSERT_STRING_EQUAL(d.msg, "adversaries[0]: type 'selfish' needs 'share'");
    CU_ASSERT_EQUAL(sim_params_set(&p, "adversaries[0].share", "0.3", &d), PU_OK);
    CU_ASSERT_EQUAL(sim_params_set(&p, "adversaries[0].node", "7", &d), PU_OK);
    CU_ASSERT_EQUAL(sim_params_entry_end(&p, "adversaries", i, &d), PU_OK);
    CU_ASSERT_EQUAL(p.adversaries[0].type, SIM_PARAMS_ADV_SELFISH);
    CU_ASSERT_EQUAL(p.adversaries[0].node, 7);
    CU_ASSERT_EQUAL(sim_params_check(&p, &d), PU_OK);
    /* a field foreign to the type */
    d = at(8, 9);
    CU_ASSERT_EQUAL(sim_params_set(&p, "adversaries[0].confirmations", "3", &d), PU_OK);
    CU_ASSERT_EQUAL(sim_params_check(&p, &d), PU_ERR_PARSE);
    char *s = formatted(&d);
    CU_ASSERT_STRING_EQUAL(s, "f.yaml:8:9: error: adversaries[0].confirmations: not a field of "
                              "type 'selfish' (its fields: 'share', 'stubborn', 'trail')");
    free(s);
    CU_ASSERT_EQUAL(sim_params_set(&p, "adversaries[0].type", "withholding", &d), PU_OK);
    CU_ASSERT_EQUAL(sim_params_set(&p, "adversaries[0].type", "selfish", &d), PU_OK);
    p.adversaries[0].given &= ~(UINT32_C(1) << 6); /* forget the confirmations again */
    /* trail only with the trail variant; share in (0, 1) */
    d = at(9, 3);
    CU_ASSERT_EQUAL(sim_params_set(&p, "adversaries[0].trail", "2", &d), PU_OK);
    CU_ASSERT_EQUAL(sim_params_check(&p, &d), PU_ERR_RANGE);
    s = formatted(&d);
    CU_ASSERT_STRING_EQUAL(s, "f.yaml:9:3: error: adversaries[0].trail: only with the trail "
                              "variant (stubborn: [trail])");
    free(s);
    CU_ASSERT_EQUAL(sim_params_set(&p, "adversaries[0].stubborn", "[trail, lead]", &d), PU_OK);
    CU_ASSERT_EQUAL(sim_params_check(&p, &d), PU_OK);
    CU_ASSERT_EQUAL(sim_params_set(&p, "adversaries[0].stubborn", "[greedy]", &d), PU_OK);
    CU_ASSERT_EQUAL(sim_params_check(&p, &d), PU_ERR_RANGE);
    s = formatted(&d);
    CU_ASSERT_STRING_EQUAL(s, "f.yaml:9:3: error: adversaries[0].stubborn: 'greedy' is not one of "
                              "lead, equal_fork, trail");
    free(s);
    CU_ASSERT_EQUAL(sim_params_set(&p, "adversaries[0].stubborn", "[]", &d), PU_OK);
    p.adversaries[0].given &= ~(UINT32_C(1) << 13); /* no trail either */
    CU_ASSERT_EQUAL(sim_params_set(&p, "adversaries[0].share", "1", &d), PU_OK);
    CU_ASSERT_EQUAL(sim_params_check(&p, &d), PU_ERR_RANGE);
    s = formatted(&d);
    CU_ASSERT_STRING_EQUAL(s, "f.yaml:9:3: error: adversaries[0].share: must be in (0, 1)");
    free(s);
    CU_ASSERT_EQUAL(sim_params_set(&p, "adversaries[0].share", "0.3", &d), PU_OK);
    CU_ASSERT_EQUAL(sim_params_check(&p, &d), PU_OK);
    d = at(9, 11);
    CU_ASSERT_EQUAL(sim_params_set(&p, "adversaries[0].start", "20min", &d), PU_OK);
    d = at(10, 11);
    CU_ASSERT_EQUAL(sim_params_set(&p, "adversaries[0].stop", "10min", &d), PU_OK);
    CU_ASSERT_EQUAL(sim_params_check(&p, &d), PU_ERR_RANGE);
    s = formatted(&d);
    CU_ASSERT_STRING_EQUAL(s, "f.yaml:10:11: error: adversaries[0].stop: 10min is before start "
                              "(20min)");
    free(s);
    set_fails(&p, "adversaries[0].type", "rootkit", PU_ERR_PARSE,
              "f.yaml:4:7: error: adversaries[0].type: expected one of selfish, double_spend, "
              "eclipse, partition, forged_work, lazy_verifier, sybil, spam, withholding, "
              "delayed_release, replay, nonce_range, wrong_template, wrong_batch, false_report, "
              "poisoning, got 'rootkit'");
    sim_params_release(&p);
}

/* Cross-field errors point at the key the file set. */
static void test_check(void)
{
    sim_params p;
    init(&p);
    sim_diag d = at(3, 10);
    CU_ASSERT_EQUAL(sim_params_set(&p, "network.nodes", "8", &d), PU_OK);
    CU_ASSERT_EQUAL(sim_params_check(&p, &d), PU_ERR_RANGE);
    char *s = formatted(&d);
    CU_ASSERT_STRING_EQUAL(s, "f.yaml:3:10: error: network.topology.degree: 8 peers but only 8 "
                              "nodes (network.nodes)");
    free(s);
    d = at(4, 11);
    CU_ASSERT_EQUAL(sim_params_set(&p, "network.topology.degree", "4", &d), PU_OK);
    d = at(5, 11);
    CU_ASSERT_EQUAL(sim_params_set(&p, "mining.miners", "12", &d), PU_OK);
    CU_ASSERT_EQUAL(sim_params_check(&p, &d), PU_ERR_RANGE);
    s = formatted(&d);
    CU_ASSERT_STRING_EQUAL(s, "f.yaml:5:11: error: mining.miners: 12 miners but only 8 nodes "
                              "(network.nodes)");
    free(s);
    /* An inconsistency among defaults and --set values: no line. */
    sim_params_release(&p);
    init(&p);
    sim_diag_clear(&d);
    sim_diag_at(&d, "--set", 0, 0);
    CU_ASSERT_EQUAL(sim_params_set(&p, "mining.hashpower", "[0.5, 0.4]", &d), PU_OK);
    sim_diag_at(&d, "scn.yaml", 0, 0);
    CU_ASSERT_EQUAL(sim_params_check(&p, &d), PU_ERR_RANGE);
    s = formatted(&d);
    CU_ASSERT_STRING_EQUAL(s, "--set: error: mining.hashpower: 2 shares for 16 miners "
                              "(mining.miners)");
    free(s);
    static const struct { const char *key, *value, *want; } c[] = {
        {"network.regions.shares", "[0.5, 0.5]",
         "f.yaml:2:2: error: network.regions.shares: 2 values for 6 regions (network.regions.names)"},
        {"network.regions.names", "[a, b, c, d, e, a]",
         "f.yaml:2:2: error: network.regions.names: region 'a' appears twice"},
        {"network.regions.latency_ms", "[[1]]",
         "f.yaml:2:2: error: network.regions.latency_ms: 1 x 1 matrix for 6 regions, expected 6 x 6"},
        {"network.regions.shares", "[0.5, 0.1, 0.1, 0.1, 0.1, 0.2]",
         "f.yaml:2:2: error: network.regions.shares: values sum to 1.1, expected 1 (within 1e-6)"},
        {"network.topology.model", "file",
         "f.yaml:2:2: error: network.topology.file: must be set when network.topology.model is 'file'"},
        {"network.latency.min", "2s",
         "f.yaml:2:2: error: network.latency.min: 2s is greater than network.latency.max (1s)"},
        {"network.latency.shape", "1",
         "f.yaml:2:2: error: network.latency.shape: must be greater than 1 (the Pareto mean is "
         "infinite)"},
        {"output.sqlite_node", "100",
         "f.yaml:2:2: error: output.sqlite_node: node 100 does not exist (network.nodes = 100)"},
        {"transactions.initial_balance", "21000.00000001",
         "f.yaml:2:2: error: transactions.initial_balance: 1000 wallets would hold more than the "
         "21000000-coin money supply"},
        {"mining.hashpower", "[0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, "
                             "0.1, 0.1, 0.1]",
         "f.yaml:2:2: error: mining.hashpower: shares sum to 1.6, expected 1 (within 1e-6)"},
    };
    for (size_t k = 0; k < sizeof c / sizeof c[0]; k++) {
        sim_params_release(&p);
        init(&p);
        d = at(2, 2);
        CU_ASSERT_EQUAL_FATAL(sim_params_set(&p, c[k].key, c[k].value, &d), PU_OK);
        CU_ASSERT_EQUAL(sim_params_check(&p, &d), PU_ERR_RANGE);
        s = formatted(&d);
        if (strcmp(s, c[k].want) != 0)
            fprintf(stderr, "\n  got:  %s\n  want: %s\n", s, c[k].want);
        CU_ASSERT_STRING_EQUAL(s, c[k].want);
        free(s);
    }
    /* The latency mean matters only for the models that use it. */
    sim_params_release(&p);
    init(&p);
    d = at(2, 2);
    CU_ASSERT_EQUAL(sim_params_set(&p, "network.latency.mean", "5s", &d), PU_OK);
    CU_ASSERT_EQUAL(sim_params_check(&p, &d), PU_OK);
    CU_ASSERT_EQUAL(sim_params_set(&p, "network.latency.model", "normal", &d), PU_OK);
    CU_ASSERT_EQUAL(sim_params_check(&p, &d), PU_ERR_RANGE);
    CU_ASSERT_STRING_EQUAL(d.msg, "network.latency.mean: 5s is outside [network.latency.min, "
                                  "network.latency.max]");
    sim_params_release(&p);
}

/* Replay every "key = value" line of a dump with sim_params_set. */
static void replay(sim_params *q, const char *dump)
{
    char *copy = strdup(dump);
    CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
    sim_diag d = at(1, 1);
    for (char *line = strtok(copy, "\n"); line; line = strtok(NULL, "\n")) {
        char *eq = strstr(line, " = ");
        CU_ASSERT_PTR_NOT_NULL_FATAL(eq);
        *eq = 0;
        /* Entries are created in order as their first field appears. */
        char *br = strchr(line, '[');
        if (br && strstr(line, "].type") == NULL && strstr(line, "].at") == NULL) {
            /* not the first field of an entry */
        } else if (br) {
            size_t idx;
            *br = 0;
            CU_ASSERT_EQUAL_FATAL(sim_params_entry_begin(q, line, &idx, &d), PU_OK);
            *br = '[';
        }
        pu_err rc = sim_params_set(q, line, eq + 3, &d);
        if (rc != PU_OK)
            fprintf(stderr, "\n  replay %s = %s: %s\n", line, eq + 3, d.msg);
        CU_ASSERT_EQUAL(rc, PU_OK);
    }
    free(copy);
}

static void test_dump_round_trip(void)
{
    sim_params p, q;
    init(&p);
    sim_diag d = at(1, 1);
    static const char *const sets[][2] = {
        {"name", "\"tab\there \\\"quoted\\\" back\\\\slash\""},
        {"network.regions.names", "[\"x, y\", z]"},
        {"network.regions.shares", "[0.1, 0.9]"},
        {"network.regions.latency_ms", "[[0.1, 2], [3, 1e-07]]"},
        {"network.regions.download", "[1bit/s, 3.5MB/s]"},
        {"network.regions.upload", "[7kbit/s, 1Gbit/s]"},
        {"chain.block_interval", "1.0000001s"},
        {"chain.block_reward", "0.00000001"},
        {"network.loss", "0.000001"},
        {"network.latency.sigma", "0.1"},
        {"chain.max_block_size", "1023B"},
        {"transactions.rate", "1e-300"},
    };
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++)
        CU_ASSERT_EQUAL(sim_params_set(&p, sets[i][0], sets[i][1], &d), PU_OK);
    size_t idx;
    CU_ASSERT_EQUAL_FATAL(sim_params_entry_begin(&p, "adversaries", &idx, &d), PU_OK);
    CU_ASSERT_EQUAL(sim_params_set(&p, "adversaries[0].type", "spam", &d), PU_OK);
    CU_ASSERT_EQUAL(sim_params_entry_end(&p, "adversaries", idx, &d), PU_OK);
    add_event(&p, "5min", "leave", "fraction", "0.25", &idx);
    add_event(&p, "1min", "partition", "nodes", "[1, 2]", &idx);

    char *dump = NULL, *dump2 = NULL;
    CU_ASSERT_EQUAL_FATAL(sim_params_dump(&p, &dump), PU_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(dump, "name = \"tab\\there \\\"quoted\\\" back\\\\slash\"\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(dump, "chain.block_interval = 1000000.1us\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(dump, "network.regions.latency_ms = [[0.1, 2], [3, 1e-07]]\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(dump, "timeline[0].at = 1min\ntimeline[0].action = partition\n"
                                        "timeline[0].nodes = [1, 2]\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(dump, "adversaries[0].type = spam\n"));
    /* Keys are sorted bytewise. */
    char prev[128] = "";
    for (const char *line = dump; *line;) {
        const char *nl = strchr(line, '\n');
        const char *eq = strstr(line, " = ");
        CU_ASSERT_FATAL(nl && eq && eq < nl);
        char key[128];
        snprintf(key, sizeof key, "%.*s", (int)(eq - line), line);
        char *br = strchr(key, '['); /* entries sort by their list name */
        if (br)
            *br = 0;
        CU_ASSERT(strcmp(prev, key) <= 0);
        snprintf(prev, sizeof prev, "%s", key);
        line = nl + 1;
    }
    init(&q);
    replay(&q, dump);
    CU_ASSERT_EQUAL_FATAL(sim_params_dump(&q, &dump2), PU_OK);
    CU_ASSERT_STRING_EQUAL(dump, dump2);
    CU_ASSERT_EQUAL(q.chain.block_reward, 1);
    CU_ASSERT_STRING_EQUAL(q.name, "tab\there \"quoted\" back\\slash");
    CU_ASSERT_DOUBLE_EQUAL(q.transactions.rate, 1e-300, 0);
    free(dump);
    free(dump2);
    sim_params_release(&p);
    sim_params_release(&q);
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t cap = 0, len = 0, got;
    do {
        if (len + 4096 + 1 > cap) {
            cap = (len + 4096 + 1) * 2;
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

/* scenarios/README.md is generated: it must equal sim_params_markdown()'s
 * output byte for byte, so the docs cannot drift from the key table. */
static void test_markdown_matches_readme(void)
{
    char *gen = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&gen, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(sim_params_markdown(f), PU_OK);
    fclose(f);
    for (size_t i = 0; i < sim_params_key_count(); i++) {
        char cellk[80];
        const sim_param_key *k = sim_params_key_at(i);
        snprintf(cellk, sizeof cellk, k->type == SIM_PT_SECTION ? "### %s\n" : "| `%s` |",
                 k->path);
        CU_ASSERT_PTR_NOT_NULL(strstr(gen, cellk));
    }
    char *again = NULL;
    size_t len2 = 0;
    f = open_memstream(&again, &len2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(sim_params_markdown(f), PU_OK);
    fclose(f);
    CU_ASSERT_STRING_EQUAL(gen, again);

    char *disk = read_all("scenarios/README.md");
    CU_ASSERT_PTR_NOT_NULL(disk);
    if (!disk || strcmp(disk, gen) != 0) {
        char path[512];
        FILE *o = fopen(th_path(path, sizeof path, "README.md"), "wb");
        if (o) {
            fputs(gen, o);
            fclose(o);
        }
        fprintf(stderr, "\n  scenarios/README.md is stale; regenerate it: cp %s scenarios/README.md\n",
                path);
    }
    CU_ASSERT(disk && strcmp(disk, gen) == 0);
    free(disk);
    free(gen);
    free(again);
}

static void test_diag_format(void)
{
    sim_diag d;
    char buf[64];
    sim_diag_clear(&d);
    snprintf(d.msg, sizeof d.msg, "boom");
    sim_diag_format(&d, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "error: boom");
    sim_diag_at(&d, "a.yaml", 0, 0);
    sim_diag_format(&d, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "a.yaml: error: boom");
    sim_diag_at(&d, "a.yaml", 3, 0);
    sim_diag_format(&d, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "a.yaml:3: error: boom");
    sim_diag_at(&d, "a.yaml", 3, 9);
    sim_diag_format(&d, buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "a.yaml:3:9: error: boom");
    char small[8];
    sim_diag_format(&d, small, sizeof small);
    CU_ASSERT_STRING_EQUAL(small, "a.yaml:");
}

TSUITE(params)
{
    CU_pSuite s = CU_add_suite("params", NULL, NULL);
    if (!s)
        return CU_get_error();
    TADD(s, test_defaults);
    TADD(s, test_table);
    TADD(s, test_set_scalars);
    TADD(s, test_set_errors);
    TADD(s, test_lists);
    TADD(s, test_timeline);
    TADD(s, test_timeline_checks);
    TADD(s, test_adversaries);
    TADD(s, test_check);
    TADD(s, test_dump_round_trip);
    TADD(s, test_markdown_matches_readme);
    TADD(s, test_diag_format);
    return CUE_SUCCESS;
}
