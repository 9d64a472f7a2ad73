/* sim/units.h -- exact parsing and canonical formatting of values with units.
 *
 * Scenario values such as "1.5h", "2.5MB", "20Mbit/s", "12.5" (coins) or
 * "85%" become integers of a fixed target unit without any floating point:
 * the decimal digits are scaled with integer arithmetic, so the same text
 * gives the same integer on every machine.
 *
 * Grammar: [-]DIGITS[.DIGITS] [spaces] UNIT, surrounded by optional spaces.
 * A sign is accepted for amounts only; exponents, '+', ".5" and "5." are not
 * numbers here.  Units are case-sensitive ("Mb" is not "MB").
 *
 * Rounding: none.  A value that does not land on a whole target unit
 * ("0.5ns", "0.1KiB", "0.123456789" coins, "0.0000001" as a fraction) is
 * rejected with PU_ERR_RANGE instead of being rounded, because a silently
 * rounded parameter is a different experiment from the one written down.
 *
 * Target units and accepted spellings:
 *   duration  -> ns        ns, us, µs, ms, s, min, h, d
 *   size      -> bytes     B, kB, KB, MB, GB, TB (powers of 1000), KiB, MiB, GiB, TiB
 *   bandwidth -> bit/s     bit/s, kbit/s, Mbit/s, Gbit/s, bps, kbps, Mbps, Gbps,
 *                          B/s, kB/s, KB/s, MB/s, GB/s, KiB/s, MiB/s, GiB/s (bytes x 8)
 *   amount    -> base units (1 coin = 100,000,000 units): a bare number or
 *                "coin"/"coins" means coins (at most 8 decimals); "unit"/"units"
 *                gives raw base units (whole numbers only), e.g. "1250000000 units".
 *   ppm       -> parts per million: a bare number is a fraction ("0.85" ->
 *                850000), "%" a percentage ("85%" -> 850000), "ppm" raw ppm.
 *
 * Return codes: PU_OK; PU_ERR_PARSE when the text is not a number with a known
 * unit (also a bare number where a unit is required); PU_ERR_RANGE on
 * overflow, a sign where none is allowed, or a value finer than the target
 * unit.  When `why` is not NULL it receives a static explanation: for
 * PU_ERR_PARSE a noun phrase ("missing unit", "unknown unit", "not a number"),
 * for PU_ERR_RANGE a predicate completing "'<text>' ..." ("is too large",
 * "is not a whole number of ns", ...).  On failure *out is left unchanged. */
#ifndef SIM_UNITS_H
#define SIM_UNITS_H

#include "core/types.h"

/** Buffer size that holds any formatted value, NUL included. */
#define SIM_UNITS_BUF 48

/** Durations to ns.  default_unit (e.g. "ms") gives bare numbers a unit;
 * NULL makes a bare number an error ("missing unit"). */
PU_NODISCARD pu_err sim_units_parse_duration(const char *text, const char *default_unit,
                                             uint64_t *out_ns, const char **why);
/** Sizes to bytes (kB = 1000, KiB = 1024). */
PU_NODISCARD pu_err sim_units_parse_size(const char *text, const char *default_unit,
                                         uint64_t *out_bytes, const char **why);
/** Bandwidths to bits per second (byte units are multiplied by 8). */
PU_NODISCARD pu_err sim_units_parse_bandwidth(const char *text, const char *default_unit,
                                              uint64_t *out_bps, const char **why);
/** Amounts to base units; may be negative (callers bound the range). */
PU_NODISCARD pu_err sim_units_parse_amount(const char *text, pu_amount *out, const char **why);
/** Fractions to parts per million (at most UINT32_MAX, i.e. 4294.967295). */
PU_NODISCARD pu_err sim_units_parse_ppm(const char *text, uint32_t *out, const char **why);

/* Canonical text, parsed back to the same integer by the functions above.
 * Durations, sizes and bandwidths use the largest unit that expresses the
 * value with at most 3 decimals ("10min", "250ms", "1.5MiB", "19.2Mbit/s",
 * "0s"); amounts are coins with the needed decimals ("12.5", "0.0001",
 * "-3"); ppm values are fractions ("0.85", "1", "0").  PU_ERR_RANGE when
 * buf is too small (SIM_UNITS_BUF always suffices); buf is then "". */
PU_NODISCARD pu_err sim_units_format_duration(uint64_t ns, char *buf, size_t n);
PU_NODISCARD pu_err sim_units_format_size(uint64_t bytes, char *buf, size_t n);
PU_NODISCARD pu_err sim_units_format_bandwidth(uint64_t bps, char *buf, size_t n);
PU_NODISCARD pu_err sim_units_format_amount(pu_amount units, char *buf, size_t n);
PU_NODISCARD pu_err sim_units_format_ppm(uint32_t ppm, char *buf, size_t n);

/** The accepted unit spellings of each kind, comma-separated (static text,
 * for documentation and error messages). */
const char *sim_units_duration_names(void);
const char *sim_units_size_names(void);
const char *sim_units_bandwidth_names(void);

#endif
