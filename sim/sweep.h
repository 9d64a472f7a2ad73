/* sim/sweep.h -- a parameter sweep: the `sweep` section of a scenario file
 * expanded into a plan of runs, each a list of key assignments and a seed.
 *
 *   sweep:
 *     repetitions: 5             # runs per point (default 1)
 *     seeds: per_point           # per_point (default) or common
 *     grid:                      # every combination; the last key varies fastest
 *       network.nodes: [100, 200]
 *       adversaries[0].share: [0.1, 0.2, 0.3]
 *     points:                    # an explicit list of points
 *       - {name: bitcoin, chain.block_interval: 10min}
 *       - {name: litecoin, chain.block_interval: 150s}
 *
 * Keys are any scenario key or entry field (`pouwsim keys`), written dotted
 * or nested.  A list-valued key takes a list per value.  With both `points`
 * and `grid`, every point is combined with every grid combination (points
 * outer); with neither, the base scenario is the one point.  A point is
 * the base scenario with its assignments applied, exactly like `pouwsim
 * run FILE --set KEY=VALUE ...`.
 *
 * Points and runs.  Points are numbered from 0 in that order; point p,
 * repetition r is run p * repetitions + r, named "p<p>-r<r>" with zero
 * padding (p007-r02).
 *
 * Seeds (the derivation is part of the plan format: changing it is a new
 * plan version).  Run (p, r) gets the first 8 bytes, big-endian, of
 *     SHA-256("pouwsim sweep seed 1\n" || base seed (u64 BE) || r (u32 BE)
 *             || for each assignment of p, sorted bytewise: "key=value\n")
 * shifted right by 11 bits, so every seed is below 2^53 and survives a trip
 * through a double (JSON, spreadsheets, numpy).  The base seed is the
 * scenario's `seed` (after the file; `seed` in a sweep is a swept key).
 * Values are in canonical form (sim_params_value_text: `600s` and `10min`
 * are the same point), so a point's seeds depend on what it is, not on its
 * place in the file: adding a point or reordering keys leaves the other
 * points' seeds alone.  With `seeds: common` no assignment enters the hash:
 * repetition r has the same seed at every point (common random numbers,
 * for paired comparisons).  When `seed` itself is swept, each run uses the
 * seed it is given and `repetitions` must be 1.
 *
 * Checks (all before anything runs; errors are sim_diag values pointing at
 * the sweep section: exit status 2 in the CLI): unknown or misplaced keys
 * of the section, a value of the wrong type or out of range (at the value),
 * a key given twice (in the grid, or in a point and the grid), an empty
 * value list, and every point's whole scenario passing sim_params_check
 * (the message names the point and its assignments).
 *
 * Shards.  Run i belongs to share (i mod n) of n: round robin, so that the
 * shares get a mix of cheap and costly points of a grid.
 *
 * The plan text (sim_sweep_plan_text) is what a sweep directory records
 * and what `pouwsim merge` reads back (sim_sweep_from_plan): the scenario's
 * file name and SHA-256, the repetitions, the seed rule, the swept keys,
 * then per run its number, point, repetition, seed, name, the assignments
 * ("set KEY=VALUE") and the values of the other swept keys at that point
 * ("base KEY=VALUE").  Values hold no tab or newline (strings are quoted).
 */
#ifndef SIM_SWEEP_H
#define SIM_SWEEP_H

#include "core/types.h"
#include "sim/diag.h"

typedef struct sim_sweep sim_sweep; /* opaque */

/** Most runs a sweep may have. */
#define SIM_SWEEP_MAX_RUNS 100000u /* a plan of this many runs is ~15 MB */

typedef struct sim_sweep_run {
    uint32_t index, point, rep;
    uint64_t seed;
    char name[32];            /* file stem, "p007-r02" */
    size_t n_sets;            /* the point's assignments, "key=value" (canonical value) */
    const char *const *sets;
    /* The value of every swept key at this point (canonical text), in the
     * order of sim_sweep_key(); assigned or the base scenario's. */
    const char *const *values;
} sim_sweep_run;

/** Read the scenario file at `path`, check it and expand its sweep section
 * (a scenario without one is an error).  *out is NULL on failure, and diag
 * says where and why.  Returns PU_OK, PU_ERR_IO (unreadable file),
 * PU_ERR_PARSE, PU_ERR_RANGE, PU_ERR_NOMEM. */
PU_NODISCARD pu_err sim_sweep_load(const char *path, sim_sweep **out, sim_diag *diag);

/** Rebuild a sweep from its plan text (len bytes).  The scenario is not
 * read: sim_sweep_scenario_text() is NULL.  On failure err (errlen bytes)
 * names the line.  Returns PU_OK, PU_ERR_PARSE, PU_ERR_NOMEM. */
PU_NODISCARD pu_err sim_sweep_from_plan(const char *text, size_t len, sim_sweep **out,
                                        char *err, size_t errlen);
void sim_sweep_free(sim_sweep *s);

/** The plan text (see above); *out malloc'd, NUL-terminated.  The same
 * sweep always gives the same bytes.  PU_ERR_NOMEM. */
PU_NODISCARD pu_err sim_sweep_plan_text(const sim_sweep *s, char **out);

size_t sim_sweep_nruns(const sim_sweep *s);
/** The scenario's own seed, from which the runs' seeds derive. */
uint64_t sim_sweep_base_seed(const sim_sweep *s);
size_t sim_sweep_npoints(const sim_sweep *s);
uint32_t sim_sweep_repetitions(const sim_sweep *s);
/** Run i (borrowed, valid until the sweep is freed); NULL when out of range. */
const sim_sweep_run *sim_sweep_run_at(const sim_sweep *s, size_t i);
size_t sim_sweep_nkeys(const sim_sweep *s);
/** Swept key i in order of first appearance (points, then grid); borrowed. */
const char *sim_sweep_key(const sim_sweep *s, size_t i);
/** The base scenario's `name` (its file stem when the file gives none). */
const char *sim_sweep_name(const sim_sweep *s);
/** The scenario file's base name ("bitcoin.yaml"). */
const char *sim_sweep_file_name(const sim_sweep *s);
/** The scenario file's text as read (sim_sweep_load only; else NULL), and
 * its SHA-256 in hex. */
const char *sim_sweep_scenario_text(const sim_sweep *s, size_t *len);
const char *sim_sweep_scenario_sha256(const sim_sweep *s);

/** The seed of repetition rep of a point with these assignments (n
 * "key=value" strings in any order), by the rule above; pass n = 0 for
 * `seeds: common`. */
uint64_t sim_sweep_derive_seed(uint64_t base_seed, const char *const *sets, size_t n,
                               uint32_t rep);

/** True when run `index` belongs to share k (0 <= k < n) of n. */
bool sim_sweep_in_shard(size_t index, uint32_t k, uint32_t n);

#endif
