/* sim/cmd_opret.h -- `pouwsim opret decode|encode`: the 160-byte OP_RETURN
 * records of core/opret (and, read-only, those of the Python implementation,
 * core/opret_py) as fields people and scripts can read.
 *
 *   opret decode HEX|- [--compat pouw-py] [--json]
 *       One record given as hex, or with "-" any number read from `in`, one
 *       per line (blank lines and lines starting with '#' skipped, spaces
 *       inside a line ignored).  Prints the envelope, the op code's name and
 *       every payload field, or the decoder's status and why.  A record
 *       whose payload area is a zlib stream is named as the Python
 *       implementation's codec; --compat pouw-py decodes such records
 *       (core/opret_py): envelope, inflated JSON text, and whether the
 *       producer cut the stream or its own reader would fail on it.
 *   opret encode OP [key=value]...
 *       Builds a record and prints its hex.  OP is a name (TASK_SUBMISSION
 *       or task_submission) or a number 1..8.  Header keys: timestamp
 *       (seconds), node (20-byte node id hash as hex) or pub (33-byte public
 *       key: hashed with SHA-1), task (32-byte task id hash as hex) or
 *       task_id (the raw 32-byte task id: hashed with SHA-256).  Payload keys
 *       are the field names `decode` prints; unset fields are zero.  Amounts
 *       take units ("10", "2.5coin", "150 units"), enums a name or number,
 *       layers "784,128,64,10", ranked "0:912000,2:871000" (miner index :
 *       accuracy ppm, best first), hash prefixes 16 hex digits.
 *
 * Exit status: 0 every record decoded (--compat: read, even where the
 * producer cut it) or encoded; 2 bad usage or a refused record / invalid
 * field (the message says which); 1 a system failure (out of memory). */
#ifndef SIM_CMD_OPRET_H
#define SIM_CMD_OPRET_H

#include <stdio.h>

#include "core/opret.h"
#include "sim/report.h"

/** Runs `opret ARGS...` (argv[0] is "decode" or "encode"). */
int sim_cmd_opret(int argc, char **argv, FILE *in, FILE *out, FILE *err);

/** Reports one record under the current level of r: envelope, status, and
 * the payload fields when it decodes (used by `chain tx` as well).
 * Returns the decoder's status. */
pu_opret_status sim_cmd_opret_report(sim_report *r, pu_opret_codec *c, const uint8_t *rec,
                                     size_t len);

extern const char sim_cmd_opret_usage[];

#endif
