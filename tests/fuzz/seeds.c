/* tests/fuzz/seeds.c -- writes the seed corpus of the fuzz targets
 * (tests/fuzz/corpus/NAME/): one or a few valid inputs per target, built
 * with the real encoders, so that each fuzzer starts from the shapes its
 * decoder accepts.  `make fuzz-seeds` runs it; the files are committed (a
 * few kB each) and replayed by `make test`.  Run files are not committed
 * (binary HDF5): `make fuzz` and the replay make theirs from tests/fuzz/tiny.yaml.
 *
 *   seeds DIR */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/block.h"
#include "core/bytes.h"
#include "core/opret.h"
#include "core/pouw.h"
#include "core/task.h"
#include "tests/testutil.h"

static const char *root;

static void put(const char *target, const char *name, const uint8_t *d, size_t n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", root, target);
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        perror(path);
        exit(1);
    }
    snprintf(path, sizeof path, "%s/%s/%s", root, target, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(d, 1, n, f) != n || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

/* One chain item: kind, length (2 bytes), bytes. */
static size_t item(uint8_t *out, uint8_t kind, const uint8_t *d, size_t n)
{
    out[0] = kind;
    out[1] = (uint8_t)(n >> 8);
    out[2] = (uint8_t)n;
    memcpy(out + 3, d, n);
    return n + 3;
}

static void ledger_seeds(void)
{
    tu_env e;
    if (tu_env_init(&e) != 0)
        exit(1);
    pu_chain *ch = tu_chain(&e, false);
    pu_tx *pay = tu_pay(&e, ch, 0, &e.w[1].addr, 3 * PU_COIN, PU_COIN / 1000);
    pu_block *b = NULL;
    if (!ch || !pay || tu_mine_add(&e, ch, &pay, 1, 2, 2000, &b) != PU_R_OK)
        exit(1);
    pu_tx *pay2 = tu_pay(&e, ch, 1, &e.w[3].addr, 2 * PU_COIN, PU_COIN / 1000);
    uint8_t *tx1, *tx2, *blk, *gen, *cb;
    size_t ntx1, ntx2, nblk, ngen, ncb;
    if (!pay2 || pu_tx_serialize(pay, &tx1, &ntx1) != PU_OK ||
        pu_tx_serialize(pu_block_tx(e.genesis, 0), &cb, &ncb) != PU_OK ||
        pu_tx_serialize(pay2, &tx2, &ntx2) != PU_OK || pu_block_serialize(b, &blk, &nblk) != PU_OK ||
        pu_block_serialize(e.genesis, &gen, &ngen) != PU_OK || nblk > 65535 || ngen > 65535)
        exit(1);
    put("tx", "payment", tx1, ntx1);
    put("tx", "coinbase", cb, ncb);
    free(cb);
    put("block", "with-payment", blk, nblk);
    put("block", "genesis", gen, ngen);
    /* the block after genesis, then a payment spending its output */
    uint8_t *seq = malloc(nblk + ntx1 + ntx2 + 9);
    size_t n = item(seq, 1, blk, nblk);
    n += item(seq + n, 0, tx2, ntx2);
    n += item(seq + n, 0, tx1, ntx1); /* already confirmed: refused */
    put("chain", "block-then-payments", seq, n);
    free(seq);
    free(tx1);
    free(tx2);
    free(blk);
    free(gen);
    pu_tx_unref(pay);
    pu_tx_unref(pay2);
    pu_block_unref(b);
    pu_chain_free(ch);
    tu_env_release(&e);
}

static void sample_msg(pu_iter_msg *m, uint32_t n_peers)
{
    memset(m, 0, sizeof *m);
    m->version = PU_POUW_MSG_VERSION;
    for (int i = 0; i < 32; i++) {
        m->task_id.b[i] = (uint8_t)(i + 1);
        m->update_hash.b[i] = (uint8_t)(i + 3);
        m->model_end.b[i] = (uint8_t)(i + 6);
        m->commit.b[i] = (uint8_t)(i + 8);
    }
    m->miner_index = 1;
    m->seq = 9;
    m->batch_n = 100;
    m->update_count = 77;
    m->loss_e9 = 700000000;
    m->correct = 80;
    m->lr_e9 = 300000000;
    m->n_peers = n_peers;
    for (uint32_t p = 0; p < n_peers; p++)
        m->peers[p].msg_id.b[0] = (uint8_t)(0xa0 + p);
}

static void pouw_seeds(void)
{
    pu_iter_msg m;
    uint8_t *out;
    size_t n;
    sample_msg(&m, 2);
    if (pu_iter_msg_encode(&m, &out, &n) != PU_OK)
        exit(1);
    put("itermsg", "two-peers", out, n);
    free(out);
    pu_hash32 hist[3];
    memset(hist, 0x5c, sizeof hist);
    pu_pouw_proof p;
    memset(&p, 0, sizeof p);
    p.msg = m;
    p.commit_msg = m;
    p.commit_msg.seq = 4;
    p.n_hist = 3;
    p.hist = hist;
    memset(p.block_sig, 0x3a, sizeof p.block_sig);
    if (pu_pouw_proof_encode(&p, &out, &n) != PU_OK)
        exit(1);
    put("proof", "three-history", out, n);
    free(out);
    pu_task t;
    uint8_t enc[PU_TASK_ENCODED_LEN];
    pu_task_seed_example(&t);
    if (pu_task_encode(&t, enc) != PU_OK)
        exit(1);
    put("task", "seed-example", enc, sizeof enc);
}

static void opret_seeds(void)
{
    pu_opret_codec *c;
    if (pu_opret_codec_new(&c) != PU_OK)
        exit(1);
    for (uint8_t op = 1; op <= 8; op++) {
        pu_opret_msg m;
        uint8_t rec[PU_OPRET_SIZE];
        char name[16];
        if (pu_opret_sample(7, op, 0, &m) != PU_OK || pu_opret_encode(c, &m, rec) != PU_OK)
            continue;
        snprintf(name, sizeof name, "op%u", op);
        put("opret", name, rec, sizeof rec);
    }
    pu_opret_codec_free(c);
}

static void copy_file(const char *target, const char *name, const char *src)
{
    FILE *f = fopen(src, "rb");
    static uint8_t buf[1 << 20];
    size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (!f || n == 0 || n == sizeof buf) {
        fprintf(stderr, "%s: cannot read (or larger than 1 MiB)\n", src);
        exit(1);
    }
    fclose(f);
    put(target, name, buf, n);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: seeds DIR\n");
        return 2;
    }
    root = argv[1];
    ledger_seeds();
    pouw_seeds();
    opret_seeds();
    copy_file("scenario", "quickstart.yaml", "scenarios/quickstart.yaml");
    copy_file("scenario", "pouw-quick.yaml", "scenarios/pouw-quick.yaml");
    copy_file("scenario", "valid.yaml", "tests/data/scenarios/valid.yaml");
    return 0;
}
