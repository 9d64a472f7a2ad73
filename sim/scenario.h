/* sim/scenario.h -- scenario files: YAML in, resolved sim_params out.
 *
 * A scenario is a YAML mapping.  Nested maps name keys by dotted path
 * ("network: {latency: {mean: 100ms}}" sets network.latency.mean), and a
 * dotted key may be written directly.  `timeline` and `adversaries` are
 * lists of maps (see sim/params.h).  Values are handed to sim_params as
 * text, so a file, a --set override and the resolved dump share one syntax.
 * A top-level `sweep` section is skipped here: it belongs to `pouwsim
 * sweep` (sim/sweep.h), and a plain run is the scenario without it.
 *
 * Every error is reported before anything runs, as a sim_diag: file, 1-based
 * line and column, and a message naming the key and what was expected:
 *   unknown key (with a "did you mean" hint), duplicate key, wrong type or
 *   shape, bad unit, value out of range, missing or foreign field of a
 *   timeline entry, YAML syntax error (libyaml's message and position),
 *   unreadable file ("path: error: cannot open: <reason>"), and
 *   inconsistent combinations (at the position where the key the message is
 *   about was given, or else the other key involved).
 * Overrides use the pseudo-path "--set" without a line.
 *
 * Return codes: PU_ERR_IO (cannot open or read), PU_ERR_PARSE (syntax,
 * unknown key, wrong type), PU_ERR_RANGE (bounds, consistency),
 * PU_ERR_NOMEM.  The CLI prints sim_diag_format() and exits 2 on any of
 * them but the last. */
#ifndef SIM_SCENARIO_H
#define SIM_SCENARIO_H

#include "sim/params.h"

/** Load a scenario: defaults, the file's keys, `name` = the file's stem
 * when the file gives none, then sim_params_check.  params is uninitialised
 * storage; on success it holds the resolved scenario (release it with
 * sim_params_release) and *text the raw file contents (malloc'd,
 * NUL-terminated; stored in the run's output).  On failure params is
 * released and *text is NULL. */
PU_NODISCARD pu_err sim_scenario_load(const char *path, sim_params *params, char **text,
                                      sim_diag *diag);

/** As sim_scenario_load, with overrides ("key.path=value", each as from
 * --set) applied after the file and before the name default and checks. */
PU_NODISCARD pu_err sim_scenario_load_with(const char *path, const char *const *sets,
                                           size_t n_sets, sim_params *params, char **text,
                                           sim_diag *diag);

/** Read a scenario file whole (at most 64 MiB): *out malloc'd and
 * NUL-terminated, *out_len bytes.  On failure *out is NULL and diag says
 * "cannot open: <reason>" at path.  PU_ERR_IO, PU_ERR_NOMEM. */
PU_NODISCARD pu_err sim_scenario_read_file(const char *path, char **out, size_t *out_len,
                                           sim_diag *diag);

/** As sim_scenario_load_with, from text already read (len bytes); path
 * names it in diagnostics and gives the default `name`.  On failure params
 * is released. */
PU_NODISCARD pu_err sim_scenario_load_text(const char *path, const char *text, size_t len,
                                           const char *const *sets, size_t n_sets,
                                           sim_params *params, sim_diag *diag);

/** Apply the keys of YAML text (len bytes) on top of initialised params,
 * without defaults or checks; path names the text in diagnostics.  On
 * failure params may hold some of the file's values (release them). */
PU_NODISCARD pu_err sim_scenario_apply_text(sim_params *params, const char *path,
                                            const char *text, size_t len, sim_diag *diag);

/** Apply one override "key.path=value" (diag path "--set").  No checks:
 * call sim_params_check once all overrides are in. */
PU_NODISCARD pu_err sim_scenario_set(sim_params *params, const char *assignment,
                                     sim_diag *diag);

#endif
