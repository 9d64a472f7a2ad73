/* sim/diag.h -- where a user-input error is and what it is (STYLE s5).
 *
 * Loaders fill a sim_diag; only sim/cli.c prints it, as
 * `path:line:col: error: message` (no trailing period) and exits 2.
 * Header-only on purpose: a diag is a plain value used by several modules,
 * and a separate diag.c would be one more object every partial build has to
 * name. */
#ifndef SIM_DIAG_H
#define SIM_DIAG_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef struct sim_diag {
    char path[256];     /* file, or a pseudo-path such as "--set"; "" = unknown */
    uint32_t line, col; /* 1-based; line 0 = no position */
    char msg[320];      /* names the key and what was expected */
} sim_diag;

/** Empty the diag (no path, no position, no message). */
static inline void sim_diag_clear(sim_diag *d)
{
    memset(d, 0, sizeof *d);
}

/** Set where the next value comes from; msg is left alone.  path may be NULL. */
static inline void sim_diag_at(sim_diag *d, const char *path, uint32_t line, uint32_t col)
{
    snprintf(d->path, sizeof d->path, "%s", path ? path : "");
    d->line = line;
    d->col = col;
}

/** Write `path:line:col: error: msg` into buf (always NUL-terminated when
 * n > 0).  Without a line: `path: error: msg`; without a path: `error: msg`.
 * A line without a column gives `path:line: error: msg`.  Returns the length
 * of the full text (as snprintf does): >= n means it was cut short. */
static inline size_t sim_diag_format(const sim_diag *d, char *buf, size_t n)
{
    /* Assembled piece by piece rather than with one snprintf, so callers
     * may pass any buffer size without format-truncation warnings. */
    char pos[32] = "";
    if (d->path[0] && d->line && d->col)
        snprintf(pos, sizeof pos, ":%u:%u", (unsigned)d->line, (unsigned)d->col);
    else if (d->path[0] && d->line)
        snprintf(pos, sizeof pos, ":%u", (unsigned)d->line);
    const char *parts[5] = {d->path, pos, d->path[0] ? ": " : "", "error: ", d->msg};
    size_t total = 0;
    for (int i = 0; i < 5; i++) {
        size_t len = strnlen(parts[i], i == 4 ? sizeof d->msg : sizeof d->path);
        if (total + 1 < n) {
            size_t room = n - 1 - total;
            memcpy(buf + total, parts[i], len < room ? len : room);
        }
        total += len;
    }
    if (n)
        buf[total < n ? total : n - 1] = 0;
    return total;
}

#endif
