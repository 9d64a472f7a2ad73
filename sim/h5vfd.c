/* sim/h5vfd.c -- the file driver under sim/h5's writer: POSIX I/O that never
 * reports a failed write to HDF5.
 *
 * Why.  HDF5 1.10 cannot recover from a failed write during a flush: when
 * the disk is full (ENOSPC) or a file-size limit is hit (EFBIG) while the
 * metadata cache or a dataset is flushed, H5Dclose/H5Fclose fail, the file
 * stays registered half destroyed, and the library's exit handler crashes
 * on it (measured: SIGSEGV in H5F__close_cb at exit, also when the failed
 * file is never closed again).  So this driver swallows write errors: the
 * first one is kept in the caller's `sticky` slot (an errno), later writes
 * to that file are dropped, and every call reports success.  HDF5 then
 * finishes and closes the file normally, and sim/h5 -- which checks the
 * slot before it publishes or renames anything -- reports the error and
 * deletes the broken file.  A file whose slot is set is never published.
 *
 * Reads are plain pread (bytes past the end of the file read as zero, as
 * with HDF5's sec2 driver); read errors are returned to HDF5.  Everything
 * else -- features, free-list map, address space -- matches sec2, so the
 * bytes of a file are the same as through sec2 (tests/sim/test_h5.c). */
#include "sim/h5_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Largest address: what off_t can reach (sec2's limit too). */
#define VFD_MAXADDR ((haddr_t)(((uint64_t)1 << 63) - 1))

typedef struct vfd_info {
    int *sticky; /* the owner's slot for the first write error (errno) */
} vfd_info;

typedef struct vfd_file {
    H5FD_t pub;  /* must be first: HDF5 casts */
    int fd;
    haddr_t eoa, eof;
    dev_t dev;
    ino_t ino;
    int *sticky;
} vfd_file;

static void push_err(hid_t min, const char *what, const char *name, int e)
{
    H5Epush2(H5E_DEFAULT, __FILE__, "pouwsim_vfd", __LINE__, H5E_ERR_CLS, H5E_VFL, min,
             "%s %s: %s", what, name ? name : "", strerror(e));
}

static void *info_get(H5FD_t *f)
{
    vfd_info *i = malloc(sizeof *i);
    if (i)
        i->sticky = ((vfd_file *)f)->sticky;
    return i;
}

static void *info_copy(const void *src)
{
    vfd_info *i = malloc(sizeof *i);
    if (i)
        *i = *(const vfd_info *)src;
    return i;
}

static herr_t info_free(void *p)
{
    free(p);
    return 0;
}

static H5FD_t *vfd_open(const char *name, unsigned flags, hid_t fapl, haddr_t maxaddr)
{
    (void)maxaddr;
    const vfd_info *info = H5Pget_driver_info(fapl);
    int o = O_CLOEXEC | ((flags & H5F_ACC_RDWR) ? O_RDWR : O_RDONLY);
    if (flags & H5F_ACC_TRUNC)
        o |= O_TRUNC;
    if (flags & H5F_ACC_CREAT)
        o |= O_CREAT;
    if (flags & H5F_ACC_EXCL)
        o |= O_EXCL;
    vfd_file *f = calloc(1, sizeof *f);
    if (!f || !info) {
        free(f);
        push_err(H5E_CANTOPENFILE, "open", name, ENOMEM);
        return NULL;
    }
    struct stat st;
    f->fd = open(name, o, 0666);
    if (f->fd < 0 || fstat(f->fd, &st) != 0) {
        push_err(H5E_CANTOPENFILE, "open", name, errno);
        if (f->fd >= 0)
            close(f->fd);
        free(f);
        return NULL;
    }
    f->eof = (haddr_t)st.st_size;
    f->dev = st.st_dev;
    f->ino = st.st_ino;
    f->sticky = info->sticky;
    return &f->pub;
}

static herr_t vfd_close(H5FD_t *file)
{
    vfd_file *f = (vfd_file *)file;
    if (close(f->fd) != 0 && f->sticky && !*f->sticky)
        *f->sticky = errno; /* a close can report a delayed write error */
    free(f);
    return 0;
}

static int vfd_cmp(const H5FD_t *a, const H5FD_t *b)
{
    const vfd_file *x = (const vfd_file *)a, *y = (const vfd_file *)b;
    if (x->dev != y->dev)
        return x->dev < y->dev ? -1 : 1;
    if (x->ino != y->ino)
        return x->ino < y->ino ? -1 : 1;
    return 0;
}

static herr_t vfd_query(const H5FD_t *f, unsigned long *flags)
{
    (void)f;
    *flags = H5FD_FEAT_AGGREGATE_METADATA | H5FD_FEAT_ACCUMULATE_METADATA | H5FD_FEAT_DATA_SIEVE |
             H5FD_FEAT_AGGREGATE_SMALLDATA | H5FD_FEAT_POSIX_COMPAT_HANDLE |
             H5FD_FEAT_DEFAULT_VFD_COMPATIBLE;
    return 0;
}

static haddr_t vfd_get_eoa(const H5FD_t *f, H5FD_mem_t t)
{
    (void)t;
    return ((const vfd_file *)f)->eoa;
}

static herr_t vfd_set_eoa(H5FD_t *f, H5FD_mem_t t, haddr_t addr)
{
    (void)t;
    ((vfd_file *)f)->eoa = addr;
    return 0;
}

static haddr_t vfd_get_eof(const H5FD_t *f, H5FD_mem_t t)
{
    (void)t;
    return ((const vfd_file *)f)->eof;
}

static herr_t vfd_get_handle(H5FD_t *f, hid_t fapl, void **handle)
{
    (void)fapl;
    *handle = &((vfd_file *)f)->fd;
    return 0;
}

static herr_t vfd_read(H5FD_t *file, H5FD_mem_t t, hid_t dxpl, haddr_t addr, size_t size,
                       void *buf)
{
    vfd_file *f = (vfd_file *)file;
    (void)t;
    (void)dxpl;
    uint8_t *p = buf;
    while (size > 0) {
        ssize_t n = pread(f->fd, p, size, (off_t)addr);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            push_err(H5E_READERROR, "read", "", errno);
            return -1;
        }
        if (n == 0) { /* past the end of the file */
            memset(p, 0, size);
            break;
        }
        p += n;
        addr += (haddr_t)n;
        size -= (size_t)n;
    }
    return 0;
}

static herr_t vfd_write(H5FD_t *file, H5FD_mem_t t, hid_t dxpl, haddr_t addr, size_t size,
                        const void *buf)
{
    vfd_file *f = (vfd_file *)file;
    (void)t;
    (void)dxpl;
    if (*f->sticky)
        return 0; /* broken already: the file will be discarded */
    const uint8_t *p = buf;
    haddr_t end = addr + size;
    while (size > 0) {
        ssize_t n = pwrite(f->fd, p, size, (off_t)addr);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            *f->sticky = n < 0 ? errno : EIO;
            return 0;
        }
        p += n;
        addr += (haddr_t)n;
        size -= (size_t)n;
    }
    if (end > f->eof)
        f->eof = end;
    return 0;
}

static herr_t vfd_truncate(H5FD_t *file, hid_t dxpl, hbool_t closing)
{
    vfd_file *f = (vfd_file *)file;
    (void)dxpl;
    (void)closing;
    if (f->eoa == f->eof || *f->sticky)
        return 0;
    if (ftruncate(f->fd, (off_t)f->eoa) != 0)
        *f->sticky = errno;
    else
        f->eof = f->eoa;
    return 0;
}

static herr_t vfd_lock(H5FD_t *f, hbool_t rw)
{
    (void)f;
    (void)rw;
    return 0; /* sim/h5 turns HDF5's file locking off: the files are its own */
}

static herr_t vfd_unlock(H5FD_t *f)
{
    (void)f;
    return 0;
}

static const H5FD_class_t vfd_class = {
    "pouwsim", VFD_MAXADDR, H5F_CLOSE_WEAK, NULL, /* terminate */
    NULL, NULL, NULL,                             /* superblock: no driver info */
    sizeof(vfd_info), info_get, info_copy, info_free,
    0, NULL, NULL,                                /* no transfer properties */
    vfd_open, vfd_close, vfd_cmp, vfd_query, NULL, NULL, NULL,
    vfd_get_eoa, vfd_set_eoa, vfd_get_eof, vfd_get_handle, vfd_read, vfd_write,
    NULL, /* flush: every write is already in the file */
    vfd_truncate, vfd_lock, vfd_unlock, H5FD_FLMAP_DICHOTOMY,
};

hid_t sim_h5_vfd_register(void) { return H5FDregister(&vfd_class); }

herr_t sim_h5_vfd_set(hid_t fapl, hid_t driver, int *sticky)
{
    vfd_info info = {sticky};
    return H5Pset_driver(fapl, driver, &info);
}
