/* sim/report.h -- structured command output, written once and rendered
 * either as aligned text for people or as JSON for scripts.
 *
 * A command emits a tree of named values: objects (open/close), arrays of
 * values or objects, and typed scalars.  Text mode prints one "key  value"
 * line per scalar, indented by nesting, array items of objects introduced by
 * "- "; JSON mode prints one JSON document (UTF-8, strings escaped, integers
 * exact, 2-space indentation).  Amounts are integers of base units in JSON
 * and "12.5 coin" in text, so scripts never parse a decimal point.
 *
 * Keys are required inside objects and ignored inside arrays.  Nesting is
 * bounded (SIM_REPORT_MAX_DEPTH); deeper opens are dropped and counted as an
 * error that sim_report_end reports.  A report borrows its FILE and writes
 * as it goes: a failed write (EPIPE, disk full) shows in ferror(f). */
#ifndef SIM_REPORT_H
#define SIM_REPORT_H

#include <stdio.h>

#include "core/types.h"

#define SIM_REPORT_MAX_DEPTH 16u

typedef struct sim_report {
    FILE *f;
    bool json;
    unsigned depth;
    bool overflow;
    bool first[SIM_REPORT_MAX_DEPTH + 1];    /* no member written yet at this level */
    bool in_array[SIM_REPORT_MAX_DEPTH + 1];
    bool item_start[SIM_REPORT_MAX_DEPTH + 1]; /* text: "- " written, no member yet */
    unsigned indent[SIM_REPORT_MAX_DEPTH + 1];  /* text: column of this level's lines */
} sim_report;

/** Starts a report (JSON: opens the top-level object). */
void sim_report_begin(sim_report *r, FILE *f, bool json);
/** Closes every open level; PU_ERR_RANGE if nesting overflowed, PU_ERR_IO if
 * a write failed. */
PU_NODISCARD pu_err sim_report_end(sim_report *r);

void sim_report_obj(sim_report *r, const char *key);   /* open an object */
void sim_report_arr(sim_report *r, const char *key);   /* open an array */
void sim_report_close(sim_report *r);                  /* close the innermost */

void sim_report_str(sim_report *r, const char *key, const char *v);
/** n bytes of text that may hold any byte: escaped in JSON (\u00XX for
 * control bytes), shown with C escapes in text. */
void sim_report_strn(sim_report *r, const char *key, const char *v, size_t n);
void sim_report_u64(sim_report *r, const char *key, uint64_t v);
void sim_report_i64(sim_report *r, const char *key, int64_t v);
void sim_report_bool(sim_report *r, const char *key, bool v);
void sim_report_hex(sim_report *r, const char *key, const uint8_t *p, size_t n);
/** Base units: JSON integer, text "12.5 coin". */
void sim_report_amount(sim_report *r, const char *key, pu_amount v);
/** An integer with a word after it in text only ("3 miner"); JSON: the
 * integer under key and the word under key + "_name". */
void sim_report_enum(sim_report *r, const char *key, uint64_t v, const char *name);
/** A line of prose: text only (JSON carries the same facts as fields). */
void sim_report_note(sim_report *r, const char *text);

#endif
