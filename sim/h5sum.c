/* sim/h5sum.c -- the whole-file checksum of run files (writer and reader).
 *
 * HDF5 checks no checksum on most of what a file holds in the 1.8 format:
 * object headers, B-trees, heaps and the raw bytes of attributes.  A
 * flipped bit there either reads back as a wrong value or sends HDF5 1.10
 * into a crash (measured: a bit flipped in the length of the variable-
 * length string holding the scenario text makes H5Aread copy past its heap:
 * SIGSEGV in H5HG_read).  Fletcher32 covers dataset chunks only.  So every
 * file sim/h5 publishes starts with a 512-byte HDF5 user block that HDF5
 * itself skips (h5py, h5dump and HDF5 read the file as usual) and that
 * holds, as text:
 *
 *     pouwsim run file 1\n
 *     sha256 <64 lower-case hex digits>\n
 *     bytes <count>\n
 *
 * then zero bytes: the SHA-256 and the length of everything after the user
 * block.  sim/h5read checks it before HDF5 sees the file, so a damaged file
 * is refused with a message instead of being read.  Files without the user
 * block (other writers, pouwsim before layout 2) are read unchecked. */
#include "sim/h5_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define SUM_MAGIC "pouwsim run file 1\n"
#define SUM_BLOCK ((size_t)1 << 20)

static int read_all(int fd, uint8_t *p, size_t n, off_t at)
{
    while (n > 0) {
        ssize_t k = pread(fd, p, n, at);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return k < 0 ? errno : EIO;
        p += k;
        at += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Bits in which the start of head differs from the magic line. */
static int magic_distance(const char *head)
{
    int d = 0;
    for (size_t i = 0; i < strlen(SUM_MAGIC); i++)
        d += __builtin_popcount((unsigned)(unsigned char)(head[i] ^ SUM_MAGIC[i]));
    return d;
}

/* SHA-256 of bytes [SIM_H5_USERBLOCK, size) of fd, as hex. */
static int digest_tail(int fd, uint64_t size, char hex[65])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    uint8_t *buf = malloc(SUM_BLOCK);
    int e = md && buf && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 ? 0 : ENOMEM;
    for (uint64_t at = SIM_H5_USERBLOCK; e == 0 && at < size;) {
        size_t n = size - at < SUM_BLOCK ? (size_t)(size - at) : SUM_BLOCK;
        e = read_all(fd, buf, n, (off_t)at);
        if (e == 0 && EVP_DigestUpdate(md, buf, n) != 1)
            e = EIO;
        at += n;
    }
    unsigned char d[32];
    unsigned len = 0;
    if (e == 0 && EVP_DigestFinal_ex(md, d, &len) != 1)
        e = EIO;
    for (unsigned i = 0; e == 0 && i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    EVP_MD_CTX_free(md);
    free(buf);
    return e;
}

int sim_h5_sum_stamp(const char *path, bool sync)
{
    int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno;
    int e = sim_h5_sum_stamp_fd(fd, sync);
    if (close(fd) != 0 && e == 0)
        e = errno;
    return e;
}

int sim_h5_sum_stamp_fd(int fd, bool sync)
{
    struct stat st;
    char hex[65], head[SIM_H5_USERBLOCK];
    int e = fstat(fd, &st) != 0 ? errno : (uint64_t)st.st_size < SIM_H5_USERBLOCK ? EINVAL : 0;
    if (e == 0)
        e = digest_tail(fd, (uint64_t)st.st_size, hex);
    if (e == 0) {
        memset(head, 0, sizeof head);
        snprintf(head, sizeof head, SUM_MAGIC "sha256 %s\nbytes %" PRIu64 "\n", hex,
                 (uint64_t)st.st_size - SIM_H5_USERBLOCK);
        ssize_t w = pwrite(fd, head, sizeof head, 0);
        e = w == (ssize_t)sizeof head ? 0 : w < 0 ? errno : EIO;
    }
    if (e == 0 && sync && fsync(fd) != 0)
        e = errno;
    return e;
}

sim_h5_sum sim_h5_sum_check(const char *path, char *msg, size_t n)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(msg, n, "%s", strerror(errno));
        return SIM_H5_SUM_IOERR;
    }
    struct stat st;
    char head[SIM_H5_USERBLOCK + 1], want[65] = "", hex[65];
    uint64_t bytes = 0;
    sim_h5_sum r = SIM_H5_SUM_OK;
    int e = fstat(fd, &st) != 0 ? errno : 0;
    if (e == 0 && (uint64_t)st.st_size < SIM_H5_USERBLOCK)
        r = SIM_H5_SUM_NONE; /* too small to carry one: HDF5 will judge it */
    else if (e == 0)
        e = read_all(fd, (uint8_t *)head, SIM_H5_USERBLOCK, 0);
    head[SIM_H5_USERBLOCK] = '\0';
    if (e == 0 && r == SIM_H5_SUM_OK) {
        /* A header a few bits away from ours is ours, damaged: without this,
         * one flipped bit in it would turn checking off. */
        int d = magic_distance(head);
        if (d > 8)
            r = SIM_H5_SUM_NONE;
        else if (d > 0) {
            snprintf(msg, n, "damaged file: its checksum header is altered");
            r = SIM_H5_SUM_BAD;
        }
    }
    if (e == 0 && r == SIM_H5_SUM_OK &&
        (sscanf(head + strlen(SUM_MAGIC), "sha256 %64[0-9a-f]\nbytes %" SCNu64, want, &bytes) != 2 ||
         strlen(want) != 64)) {
        snprintf(msg, n, "damaged file: its checksum header is unreadable");
        r = SIM_H5_SUM_BAD;
    }
    if (e == 0 && r == SIM_H5_SUM_OK && bytes != (uint64_t)st.st_size - SIM_H5_USERBLOCK) {
        snprintf(msg, n, "damaged file: %" PRIu64 " bytes after its header, %" PRIu64 " expected "
                 "(cut short or extended)", (uint64_t)st.st_size - SIM_H5_USERBLOCK, bytes);
        r = SIM_H5_SUM_BAD;
    }
    if (e == 0 && r == SIM_H5_SUM_OK && (e = digest_tail(fd, (uint64_t)st.st_size, hex)) == 0 &&
        strcmp(hex, want) != 0) {
        snprintf(msg, n, "damaged file: SHA-256 of its contents differs from the one recorded "
                 "when it was written");
        r = SIM_H5_SUM_BAD;
    }
    close(fd);
    if (e != 0) {
        snprintf(msg, n, "%s", strerror(e));
        return SIM_H5_SUM_IOERR;
    }
    return r;
}
