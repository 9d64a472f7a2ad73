/* sim/outfile.c -- outputs written aside and renamed on success; see outfile.h. */
#define _GNU_SOURCE /* renameat2 (RENAME_NOREPLACE): Linux, glibc >= 2.28 */
#include "sim/outfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Tries of TARGET.partial-PID-N before giving up: only files left by
 * earlier commands of the same process id can be in the way. */
#define TEMP_TRIES 1000

enum { OUT_OPEN, OUT_DONE };

typedef struct fileid {
    bool known;   /* the file exists: dev/ino are its own */
    dev_t dev;
    ino_t ino;
    dev_t ddev;   /* its directory (outputs only) */
    ino_t dino;
} fileid;

typedef struct input_rec {
    char *label;
    fileid id;
} input_rec;

struct sim_outfile {
    char *label, *target, *tmp, *dir, *base;
    unsigned flags;
    fileid id;
    bool replaces;
    int state;
};

struct sim_outset {
    input_rec *in;
    size_t n_in;
    sim_outfile **out;
    size_t n_out;
};

static pu_err say(char *err, size_t errlen, pu_err rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static pu_err say(char *err, size_t errlen, pu_err rc, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return rc;
}

static char *dup_n(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

static const char *kind_of(mode_t m)
{
    if (S_ISDIR(m)) return "a directory";
    if (S_ISCHR(m)) return "a character device";
    if (S_ISBLK(m)) return "a block device";
    if (S_ISFIFO(m)) return "a FIFO";
    if (S_ISSOCK(m)) return "a socket";
    return "not a regular file";
}

pu_err sim_outset_new(sim_outset **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? PU_OK : PU_ERR_NOMEM;
}

static void outfile_free(sim_outfile *o)
{
    if (!o)
        return;
    if (o->state == OUT_OPEN)
        sim_outfile_discard(o);
    free(o->label);
    free(o->target);
    free(o->tmp);
    free(o->dir);
    free(o->base);
    free(o);
}

void sim_outset_free(sim_outset *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_in; i++)
        free(s->in[i].label);
    for (size_t i = 0; i < s->n_out; i++)
        outfile_free(s->out[i]);
    free(s->in);
    free(s->out);
    free(s);
}

pu_err sim_outset_input(sim_outset *s, const char *label, const char *path, char *err,
                        size_t errlen)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return PU_OK; /* the reader reports a missing input in its own words */
    input_rec *in = realloc(s->in, (s->n_in + 1) * sizeof *in);
    if (!in)
        return say(err, errlen, PU_ERR_NOMEM, "out of memory");
    s->in = in;
    char *l = strdup(label);
    if (!l)
        return say(err, errlen, PU_ERR_NOMEM, "out of memory");
    s->in[s->n_in++] = (input_rec){l, {true, st.st_dev, st.st_ino, 0, 0}};
    return PU_OK;
}

/* Splits target into its directory ("." when none) and last component. */
static pu_err split_target(sim_outfile *o, char *err, size_t errlen)
{
    const char *slash = strrchr(o->target, '/');
    const char *base = slash ? slash + 1 : o->target;
    if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
        return say(err, errlen, PU_ERR_RANGE, "%s %s: names a directory, not a file", o->label,
                   o->target);
    o->base = strdup(base);
    o->dir = !slash ? strdup(".") : slash == o->target ? strdup("/")
                                  : dup_n(o->target, (size_t)(slash - o->target));
    return o->base && o->dir ? PU_OK : say(err, errlen, PU_ERR_NOMEM, "out of memory");
}

/* Looks at the target as it is now: what it is, and who it is. */
static pu_err inspect_target(sim_outfile *o, char *err, size_t errlen)
{
    struct stat st, dst;
    if (stat(o->dir, &dst) != 0)
        return say(err, errlen, PU_ERR_IO, "%s %s: directory %s: %s", o->label, o->target, o->dir,
                   strerror(errno));
    if (!S_ISDIR(dst.st_mode))
        return say(err, errlen, PU_ERR_IO, "%s %s: %s is not a directory", o->label, o->target,
                   o->dir);
    o->id.ddev = dst.st_dev;
    o->id.dino = dst.st_ino;
    if (lstat(o->target, &st) != 0) {
        if (errno == ENOENT)
            return PU_OK;
        return say(err, errlen, PU_ERR_IO, "%s %s: %s", o->label, o->target, strerror(errno));
    }
    if (S_ISLNK(st.st_mode))
        return say(err, errlen, PU_ERR_RANGE,
                   "%s %s: is a symbolic link (pouwsim never writes through a link)", o->label,
                   o->target);
    if (!S_ISREG(st.st_mode))
        return say(err, errlen, PU_ERR_RANGE, "%s %s: is %s, not a regular file", o->label,
                   o->target, kind_of(st.st_mode));
    o->id.known = true;
    o->id.dev = st.st_dev;
    o->id.ino = st.st_ino;
    return PU_OK;
}

static bool same_file(const fileid *a, const fileid *b)
{
    return a->known && b->known && a->dev == b->dev && a->ino == b->ino;
}

/* The target against every input and every output declared before it. */
static pu_err check_distinct(const sim_outset *s, const sim_outfile *o, char *err, size_t errlen)
{
    for (size_t i = 0; i < s->n_in; i++)
        if (same_file(&o->id, &s->in[i].id))
            return say(err, errlen, PU_ERR_RANGE, "%s %s: is %s (an input)", o->label, o->target,
                       s->in[i].label);
    for (size_t i = 0; i < s->n_out; i++) {
        const sim_outfile *p = s->out[i];
        bool same_name = p->id.ddev == o->id.ddev && p->id.dino == o->id.dino &&
                         strcmp(p->base, o->base) == 0;
        if (same_file(&o->id, &p->id) || same_name)
            return say(err, errlen, PU_ERR_RANGE, "%s %s: is the same file as %s", o->label,
                       o->target, p->label);
    }
    return PU_OK;
}

/* Creates TARGET.partial-PID (or -PID-N) exclusively. */
static pu_err make_temp(sim_outfile *o, char *err, size_t errlen)
{
    size_t len = strlen(o->target) + 48;
    o->tmp = malloc(len);
    if (!o->tmp)
        return say(err, errlen, PU_ERR_NOMEM, "out of memory");
    long pid = (long)getpid();
    for (int n = 0; n < TEMP_TRIES; n++) {
        if (n == 0)
            snprintf(o->tmp, len, "%s.partial-%ld", o->target, pid);
        else
            snprintf(o->tmp, len, "%s.partial-%ld-%d", o->target, pid, n);
        int fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
        if (fd >= 0) {
            close(fd);
            return PU_OK;
        }
        if (errno != EEXIST)
            return say(err, errlen, PU_ERR_IO, "%s %s: cannot create %s: %s", o->label, o->target,
                       o->tmp, strerror(errno));
    }
    return say(err, errlen, PU_ERR_IO, "%s %s: no free temporary name", o->label, o->target);
}

pu_err sim_outset_output(sim_outset *s, const char *label, const char *target, unsigned flags,
                         sim_outfile **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!target || !*target)
        return say(err, errlen, PU_ERR_RANGE, "%s: empty path", label);
    sim_outfile **arr = realloc(s->out, (s->n_out + 1) * sizeof *arr);
    if (!arr)
        return say(err, errlen, PU_ERR_NOMEM, "out of memory");
    s->out = arr;
    sim_outfile *o = calloc(1, sizeof *o);
    if (!o)
        return say(err, errlen, PU_ERR_NOMEM, "out of memory");
    o->state = OUT_DONE; /* nothing to remove until the temporary file exists */
    o->flags = flags;
    o->label = strdup(label);
    o->target = strdup(target);
    pu_err rc = o->label && o->target ? PU_OK : say(err, errlen, PU_ERR_NOMEM, "out of memory");
    if (rc == PU_OK)
        rc = split_target(o, err, errlen);
    if (rc == PU_OK)
        rc = inspect_target(o, err, errlen);
    if (rc == PU_OK)
        rc = check_distinct(s, o, err, errlen);
    if (rc == PU_OK && o->id.known && !(flags & SIM_OUTFILE_FORCE))
        rc = say(err, errlen, PU_ERR_EXISTS, "%s %s: exists (use --force to replace it)", label,
                 target);
    if (rc == PU_OK)
        rc = make_temp(o, err, errlen);
    if (rc != PU_OK) {
        outfile_free(o);
        return rc;
    }
    o->replaces = o->id.known;
    o->state = OUT_OPEN;
    s->out[s->n_out++] = o;
    *out = o;
    return PU_OK;
}

const char *sim_outfile_path(const sim_outfile *o) { return o->tmp; }
const char *sim_outfile_target(const sim_outfile *o) { return o->target; }
bool sim_outfile_replaces(const sim_outfile *o) { return o->replaces; }

static pu_err sync_path(const char *p, bool dir, const sim_outfile *o, char *err, size_t errlen)
{
    int fd = open(p, (dir ? O_RDONLY | O_DIRECTORY : O_RDONLY | O_NOFOLLOW) | O_CLOEXEC);
    if (fd < 0)
        return say(err, errlen, PU_ERR_IO, "%s %s: open %s: %s", o->label, o->target, p,
                   strerror(errno));
    int r = fsync(fd), e = errno;
    close(fd);
    /* Some file systems cannot sync a directory; the rename itself stands. */
    if (r != 0 && !(dir && (e == EINVAL || e == ENOTSUP)))
        return say(err, errlen, PU_ERR_IO, "%s %s: fsync %s: %s", o->label, o->target, p,
                   strerror(e));
    return PU_OK;
}

/* Renames without replacing: renameat2 where the file system has it, else
 * link + unlink (the link fails on an existing name, which is the point). */
static int rename_noreplace(const char *from, const char *to)
{
    if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
        return -1;
    if (link(from, to) != 0)
        return -1;
    unlink(from);
    return 0;
}

/* The target just before the rename: still acceptable? */
static pu_err recheck(const sim_outfile *o, char *err, size_t errlen)
{
    struct stat st;
    if (lstat(o->target, &st) != 0)
        return errno == ENOENT ? PU_OK
                               : say(err, errlen, PU_ERR_IO, "%s %s: %s; the output is in %s",
                                     o->label, o->target, strerror(errno), o->tmp);
    if (!(o->flags & SIM_OUTFILE_FORCE))
        return say(err, errlen, PU_ERR_EXISTS,
                   "%s %s: appeared while this command ran (not replaced); the output is in %s",
                   o->label, o->target, o->tmp);
    if (!S_ISREG(st.st_mode))
        return say(err, errlen, PU_ERR_RANGE,
                   "%s %s: is now %s (not replaced); the output is in %s", o->label, o->target,
                   S_ISLNK(st.st_mode) ? "a symbolic link" : kind_of(st.st_mode), o->tmp);
    return PU_OK;
}

pu_err sim_outfile_commit(sim_outfile *o, char *err, size_t errlen)
{
    if (o->state != OUT_OPEN)
        return say(err, errlen, PU_ERR_STATE, "%s %s: already finished", o->label, o->target);
    pu_err rc = sync_path(o->tmp, false, o, err, errlen);
    if (rc == PU_OK)
        rc = recheck(o, err, errlen);
    if (rc != PU_OK)
        return rc;
    int r = (o->flags & SIM_OUTFILE_FORCE) ? rename(o->tmp, o->target)
                                           : rename_noreplace(o->tmp, o->target);
    if (r != 0) {
        int e = errno;
        return say(err, errlen, e == EEXIST ? PU_ERR_EXISTS : PU_ERR_IO,
                   "%s %s: %s (not replaced); the output is in %s", o->label, o->target,
                   e == EEXIST ? "appeared while this command ran" : strerror(e), o->tmp);
    }
    o->state = OUT_DONE;
    return sync_path(o->dir, true, o, err, errlen);
}

pu_err sim_outset_commit_all(sim_outset *s, char *err, size_t errlen)
{
    pu_err rc = PU_OK;
    for (size_t i = 0; i < s->n_out && rc == PU_OK; i++)
        if (s->out[i]->state == OUT_OPEN)
            rc = sim_outfile_commit(s->out[i], err, errlen);
    return rc;
}

void sim_outfile_keep(sim_outfile *o) { o->state = OUT_DONE; }

void sim_outfile_discard(sim_outfile *o)
{
    if (o->state == OUT_OPEN)
        unlink(o->tmp);
    o->state = OUT_DONE;
}
