/* tests/fuzz/targets.c -- the fuzz targets of targets.h.
 *
 * Contexts that cost more than a decode (a crypto context, the OP_RETURN
 * codec with its dictionary, a funded genesis) are made once per process
 * and kept in function-level statics: this is test code run by libFuzzer
 * and the test runner, not part of a simulation (STYLE s7 covers core/ and
 * sim/, whose objects `make check-globals` inspects). */
#define _GNU_SOURCE /* memfd_create */
#include "tests/fuzz/targets.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/block.h"
#include "core/bytes.h"
#include "core/chain.h"
#include "core/opret.h"
#include "core/opret_py.h"
#include "core/pouw.h"
#include "core/task.h"
#include "core/tx.h"
#include "sim/h5_int.h" /* sim_h5_sum_stamp, for runfile_raw */
#include "sim/h5read.h"
#include "sim/limits.h"
#include "sim/scenario.h"
#include "tests/testutil.h"

static pu_crypto *crypto(void)
{
    static pu_crypto *c;
    if (!c && pu_crypto_new(&c) != PU_OK)
        abort();
    return c;
}

static int same_bytes(const uint8_t *a, size_t na, const uint8_t *b, size_t nb)
{
    return na == nb && memcmp(a, b, na) == 0;
}

/* ---- decoders ----------------------------------------------------------- */

static int fuzz_tx(const uint8_t *d, size_t n)
{
    pu_tx *tx = NULL;
    pu_reason why;
    if (pu_tx_parse(crypto(), d, n, &tx, &why) != PU_OK)
        return 0;
    uint8_t *out = NULL;
    size_t len = 0;
    int bad = pu_tx_serialize(tx, &out, &len) != PU_OK || !same_bytes(d, n, out, len);
    free(out);
    pu_tx_unref(tx);
    return bad;
}

static int fuzz_block(const uint8_t *d, size_t n)
{
    pu_block *b = NULL;
    pu_reason why;
    if (pu_block_parse(crypto(), d, n, &b, &why) != PU_OK)
        return 0;
    uint8_t *out = NULL;
    size_t len = 0;
    int bad = pu_block_serialize(b, &out, &len) != PU_OK || !same_bytes(d, n, out, len);
    free(out);
    pu_block_unref(b);
    return bad;
}

static int opret_once(const uint8_t *d, size_t n);

/* As given, and -- so that mutations get past the CRC-32 to the payload --
 * with the CRC of a 160-byte record made right. */
static int fuzz_opret(const uint8_t *d, size_t n)
{
    int bad = opret_once(d, n);
    if (n == PU_OPRET_SIZE) {
        uint8_t fixed[PU_OPRET_SIZE];
        memcpy(fixed, d, n);
        pu_put_be32(fixed + PU_OPRET_OFF_CRC, pu_crc32(fixed, PU_OPRET_OFF_CRC));
        bad |= opret_once(fixed, n);
    }
    return bad;
}

static int opret_once(const uint8_t *d, size_t n)
{
    static pu_opret_codec *codec;
    if (!codec && pu_opret_codec_new(&codec) != PU_OK)
        abort();
    pu_opret_py_rec *py = malloc(sizeof *py);
    pu_opret_py_status pst;
    if (!py)
        abort();
    PU_IGNORE(pu_opret_py_decode(d, n, py, &pst)); /* any answer, no crash */
    free(py);
    pu_opret_msg m, m2;
    pu_opret_status st;
    if (pu_opret_decode(codec, d, n, &m, &st) != PU_OK)
        return 0;
    uint8_t e1[PU_OPRET_SIZE], e2[PU_OPRET_SIZE];
    if (pu_opret_encode(codec, &m, e1) != PU_OK || pu_opret_decode(codec, e1, sizeof e1, &m2, &st) != PU_OK ||
        pu_opret_encode(codec, &m2, e2) != PU_OK)
        return 1;
    return memcmp(e1, e2, sizeof e1) != 0;
}

static int fuzz_proof(const uint8_t *d, size_t n)
{
    pu_pouw_proof p;
    if (pu_pouw_proof_decode(d, n, &p) != PU_OK)
        return 0;
    uint8_t *out = NULL;
    size_t len = 0;
    int bad = pu_pouw_proof_encode(&p, &out, &len) != PU_OK || !same_bytes(d, n, out, len);
    free(out);
    pu_pouw_proof_release(&p);
    return bad;
}

static int fuzz_itermsg(const uint8_t *d, size_t n)
{
    pu_iter_msg m;
    if (pu_iter_msg_decode(d, n, &m) != PU_OK)
        return 0;
    uint8_t *out = NULL;
    size_t len = 0;
    int bad = pu_iter_msg_encode(&m, &out, &len) != PU_OK || !same_bytes(d, n, out, len);
    free(out);
    return bad;
}

static int fuzz_task(const uint8_t *d, size_t n)
{
    pu_task t;
    if (pu_task_decode(d, n, &t) != PU_OK)
        return 0;
    uint8_t out[PU_TASK_ENCODED_LEN];
    return pu_task_encode(&t, out) != PU_OK || !same_bytes(d, n, out, sizeof out);
}

/* ---- chain and mempool -------------------------------------------------- */

static tu_env *env(void)
{
    static tu_env e;
    static int ready;
    if (!ready) {
        if (tu_env_init(&e) != 0)
            abort();
        ready = 1;
    }
    return &e;
}

/* Items: kind (1 byte; even: a transaction for the mempool, odd: a block),
 * length (2 bytes, big-endian), bytes.  A short tail is ignored. */
static int fuzz_chain(const uint8_t *d, size_t n)
{
    tu_env *e = env();
    pu_chain *ch = tu_chain(e, false);
    if (!ch)
        abort();
    pu_amount supply0 = pu_chain_supply(ch);
    size_t at = 0;
    while (at + 3 <= n) {
        uint8_t kind = d[at];
        size_t len = (size_t)d[at + 1] << 8 | d[at + 2];
        at += 3;
        if (len > n - at)
            break;
        pu_reason why;
        if (kind % 2 == 0) {
            pu_tx *tx = NULL;
            if (pu_tx_parse(e->crypto, d + at, len, &tx, &why) == PU_OK) {
                PU_IGNORE(pu_chain_add_tx(ch, tx, &why)); /* refusals are the point */
                pu_tx_unref(tx);
            }
        } else {
            pu_block *b = NULL;
            if (pu_block_parse(e->crypto, d + at, len, &b, &why) == PU_OK) {
                pu_add_result res;
                PU_IGNORE(pu_chain_add_block(ch, b, UINT64_MAX / 2, &res));
                pu_block_unref(b);
            }
        }
        at += len;
    }
    pu_amount want = supply0;
    for (uint32_t h = 1; h <= pu_chain_height(ch); h++)
        if (pu_amount_add(want, pu_params_reward(&e->params, h), &want) != PU_OK)
            return 1;
    int bad = pu_chain_supply(ch) != want ||
              pu_chain_mempool_size(ch) > e->params.mempool_capacity;
    pu_chain_free(ch);
    return bad;
}

/* ---- scenario files ------------------------------------------------------ */

static int fuzz_scenario(const uint8_t *d, size_t n)
{
    sim_params p;
    sim_diag diag;
    sim_diag_clear(&diag);
    if (sim_params_init_defaults(&p) != PU_OK)
        abort();
    char *text = malloc(n + 1); /* the loader takes text; NUL bytes end it early */
    if (!text)
        abort();
    memcpy(text, d, n);
    text[n] = '\0';
    pu_err rc = sim_scenario_apply_text(&p, "fuzz.yaml", text, n, &diag);
    if (rc == PU_OK)
        rc = sim_params_check(&p, &diag);
    if (rc == PU_OK) {
        char warn[400];
        PU_IGNORE(sim_limits_check(&p, UINT64_C(1) << 34, 0, warn, sizeof warn, &diag));
        char *dump = NULL;
        if (sim_params_dump(&p, &dump) == PU_OK)
            free(dump);
    }
    int bad = rc != PU_OK && !diag.msg[0]; /* every refusal says why */
    sim_params_release(&p);
    free(text);
    return bad;
}

/* ---- run files ------------------------------------------------------------ */

/* The bytes as a file (memfd: nothing on disk); *path names it. */
static int as_file(const uint8_t *d, size_t n, char *path, size_t pn)
{
    int fd = memfd_create("pu-fuzz", MFD_CLOEXEC);
    if (fd < 0)
        abort();
    size_t at = 0;
    while (at < n) {
        ssize_t w = write(fd, d + at, n - at);
        if (w <= 0)
            abort();
        at += (size_t)w;
    }
    snprintf(path, pn, "/proc/self/fd/%d", fd);
    return fd;
}

static void read_everything(const char *path)
{
    sim_h5read *r = NULL;
    char err[300];
    if (sim_h5read_open(path, &r, err, sizeof err) != PU_OK)
        return;
    FILE *devnull = fopen("/dev/null", "w");
    if (devnull) {
        PU_IGNORE(sim_h5read_info(r, devnull));
        fclose(devnull);
    }
    for (size_t i = 0; i < sim_h5read_ndatasets(r); i++) {
        sim_h5read_tab *t = NULL;
        if (sim_h5read_table(r, sim_h5read_dataset_path(r, i), &t) == PU_OK)
            sim_h5read_tab_free(t);
    }
    static const char *const names[] = {"scenario", "parameters", "seed", "layout", "finished"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char *s = NULL;
        uint64_t u;
        PU_IGNORE(sim_h5read_attr_str(r, "/run", names[i], &s));
        free(s);
        PU_IGNORE(sim_h5read_attr_u64(r, "/run", names[i], &u));
    }
    sim_h5read_free(r);
}

static int fuzz_runfile(const uint8_t *d, size_t n)
{
    char path[64];
    int fd = as_file(d, n, path, sizeof path);
    read_everything(path);
    close(fd);
    return 0;
}

static int fuzz_runfile_raw(const uint8_t *d, size_t n)
{
    char path[64];
    int fd = as_file(d, n, path, sizeof path);
    if (n >= SIM_H5_USERBLOCK && sim_h5_sum_stamp_fd(fd, false) == 0)
        read_everything(path);
    close(fd);
    return 0;
}

static const pu_fuzz_target targets[] = {
    {"tx", fuzz_tx},           {"block", fuzz_block},       {"opret", fuzz_opret},
    {"proof", fuzz_proof},     {"itermsg", fuzz_itermsg},   {"task", fuzz_task},
    {"chain", fuzz_chain},     {"scenario", fuzz_scenario}, {"runfile", fuzz_runfile},
    {"runfile_raw", fuzz_runfile_raw}, {NULL, NULL},
};

const pu_fuzz_target *pu_fuzz_targets(void) { return targets; }

pu_fuzz_fn pu_fuzz_find(const char *name)
{
    for (const pu_fuzz_target *t = targets; t->name; t++)
        if (strcmp(t->name, name) == 0)
            return t->fn;
    return NULL;
}
