/* sim/h5_int.h -- internals of the HDF5 module, shared by sim/h5.c
 * (writer), sim/h5read.c (reader), sim/h5vfd.c (the writer's file driver)
 * and sim/h5sum.c (whole-file checksums); nothing else includes it.
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

/* ---- sim/h5vfd.c: the writer's file driver ---- */

/** Registers the driver (one registration per sim_h5: no shared state);
 * release with H5FDunregister once no file uses it. */
hid_t sim_h5_vfd_register(void);
/** Makes fapl use the driver; the first write error of every file opened
 * through it lands in *sticky (an errno; 0 = none), and the write reports
 * success to HDF5 (see h5vfd.c for why). */
herr_t sim_h5_vfd_set(hid_t fapl, hid_t driver, int *sticky);

/* ---- sim/h5sum.c: whole-file checksum in the HDF5 user block ---- */

#define SIM_H5_USERBLOCK 512u

/** Writes the checksum header into the user block of the closed file at
 * path (fsync when sync).  Returns 0 or an errno. */
int sim_h5_sum_stamp(const char *path, bool sync);
/** The same on an open, writable descriptor (left open). */
int sim_h5_sum_stamp_fd(int fd, bool sync);

typedef enum sim_h5_sum {
    SIM_H5_SUM_OK,    /* stamped, and the contents match */
    SIM_H5_SUM_NONE,  /* no checksum header: another writer or an older file */
    SIM_H5_SUM_BAD,   /* stamped, and damaged (msg says how) */
    SIM_H5_SUM_IOERR, /* could not be read (msg: strerror) */
} sim_h5_sum;
/** Checks the file at path; msg (n bytes) says why when not OK or NONE. */
sim_h5_sum sim_h5_sum_check(const char *path, char *msg, size_t n);

#endif
