/* sim/h5_int.h -- HDF5 error plumbing shared by sim/h5.c (writer) and
 * sim/h5read.c (reader); nothing else includes it.
 *
 * HDF5 prints its error stack from a library-wide "auto" handler.  Rather
 * than switching it off for the whole process (state of the library we do
 * not own), each entry point that may reach HDF5 saves the handler, clears
 * it, and puts it back on the way out. */
#ifndef SIM_H5_INT_H
#define SIM_H5_INT_H

#include <hdf5.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

typedef struct sim_h5_quiet {
    H5E_auto2_t fn;
    void *data;
} sim_h5_quiet;

static inline void sim_h5_quiet_on(sim_h5_quiet *q)
{
    if (H5Eget_auto2(H5E_DEFAULT, &q->fn, &q->data) < 0) {
        q->fn = NULL;
        q->data = NULL;
    }
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

static inline void sim_h5_quiet_off(const sim_h5_quiet *q) { H5Eset_auto2(H5E_DEFAULT, q->fn, q->data); }

typedef struct sim_h5_walk {
    char *buf;
    size_t n;
    bool done;
} sim_h5_walk;

/* Walking upward visits the most specific error first: that one says what
 * really happened (errno text, missing object name). */
static inline herr_t sim_h5_walk_first(unsigned n, const H5E_error2_t *e, void *data)
{
    sim_h5_walk *w = data;
    (void)n;
    if (!w->done && e->desc) {
        size_t len = strlen(w->buf);
        snprintf(w->buf + len, w->n - len, ": %s", e->desc);
        w->done = true;
    }
    return 0;
}

/* Every HDF5 API call starts by clearing the error stack, so the clean-up
 * after a failed call would erase the error we are about to report: keep a
 * copy of the stack across the release. */
static inline void sim_h5_drop(hid_t id)
{
    if (id < 0)
        return;
    hid_t st = H5Eget_current_stack();
    H5Idec_ref(id);
    if (st >= 0)
        H5Eset_current_stack(st);
}

#endif
