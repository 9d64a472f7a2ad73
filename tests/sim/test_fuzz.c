/* tests/sim/test_fuzz.c -- the fuzz targets (tests/fuzz/targets.h) replay
 * their seed corpus and every crash the fuzzers found, in every `make test`
 * and `make sanitize`: tests/fuzz/corpus/NAME/ and tests/fuzz/regressions/NAME/
 * (a crash input becomes a file there when its cause is fixed). */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "sim/cli.h"
#include "tests/fuzz/targets.h"
#include "tests/harness.h"

/* Every file of dir: its bytes (buf, up to 1 MiB) and length to visit;
 * returns how many (0 for a directory that does not exist). */
typedef void (*file_fn)(const char *path, uint8_t *buf, size_t len, const pu_fuzz_target *t);

static int each_file(const char *dir, const pu_fuzz_target *t, file_fn visit)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *de;
    static uint8_t buf[1 << 20];
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        FILE *f = fopen(path, "rb");
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        size_t len = fread(buf, 1, sizeof buf, f);
        fclose(f);
        visit(path, buf, len, t);
        n++;
    }
    closedir(d);
    return n;
}

static void replay_one(const char *path, uint8_t *buf, size_t len, const pu_fuzz_target *t)
{
    int bad = t->fn(buf, len);
    if (bad)
        fprintf(stderr, "\n  fuzz target %s broke a property on %s\n", t->name, path);
    CU_ASSERT_EQUAL(bad, 0);
}

/* A few cut points (start, middle, one short) and one flipped byte. */
static void mangle_one(const char *path, uint8_t *buf, size_t len, const pu_fuzz_target *t)
{
    (void)path;
    size_t cuts[4] = {0, 1, len / 2, len ? len - 1 : 0};
    for (int k = 0; k < 4; k++)
        CU_ASSERT_EQUAL(t->fn(buf, cuts[k]), 0);
    if (len) {
        buf[len / 2] ^= 0x41;
        CU_ASSERT_EQUAL(t->fn(buf, len), 0);
    }
}

static void test_corpus_replays(void)
{
    int total = 0;
    for (const pu_fuzz_target *t = pu_fuzz_targets(); t->name; t++) {
        char dir[256];
        snprintf(dir, sizeof dir, "tests/fuzz/corpus/%s", t->name);
        int n = each_file(dir, t, replay_one);
        if (strncmp(t->name, "runfile", 7) != 0) /* run files: test_run_file */
            CU_ASSERT(n >= 1);                   /* every other target has seeds */
        snprintf(dir, sizeof dir, "tests/fuzz/regressions/%s", t->name);
        total += n + each_file(dir, t, replay_one);
    }
    CU_ASSERT(total >= 15);
}

/* Truncations and a flipped byte of every seed: nothing crashes. */
static void test_truncations(void)
{
    for (const pu_fuzz_target *t = pu_fuzz_targets(); t->name; t++) {
        char dir[256];
        snprintf(dir, sizeof dir, "tests/fuzz/corpus/%s", t->name);
        each_file(dir, t, mangle_one);
    }
}

/* The run-file targets on a run file made now (run files are not
 * committed): whole, truncated, and with bytes flipped all over. */
static void test_run_file(void)
{
    char out[512], cap[512];
    th_path(out, sizeof out, "fz_tiny.h5");
    th_path(cap, sizeof cap, "fz_tiny.txt");
    const char *argv[] = {"pouwsim", "run", "tests/fuzz/tiny.yaml", "--out", out, "--quiet"};
    fflush(stdout);
    CU_ASSERT_FATAL(sim_cli_main(6, (char **)argv) == 0);
    FILE *f = fopen(out, "rb");
    CU_ASSERT_FATAL(f != NULL);
    static uint8_t buf[1 << 20];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    CU_ASSERT_FATAL(len > 4096 && len < sizeof buf);
    pu_fuzz_fn fns[2] = {pu_fuzz_find("runfile"), pu_fuzz_find("runfile_raw")};
    for (int k = 0; k < 2; k++) {
        CU_ASSERT_EQUAL(fns[k](buf, len), 0);
        CU_ASSERT_EQUAL(fns[k](buf, len / 2), 0);
        CU_ASSERT_EQUAL(fns[k](buf, 600), 0);
    }
    /* flips: behind the checksum (runfile) every one is refused, so these
     * reach HDF5 only through runfile_raw, on header bytes HDF5 survives */
    uint64_t x = 99;
    for (int i = 0; i < 40; i++) {
        x = x * 6364136223846793005u + 1442695040888963407u;
        size_t pos = (size_t)(x >> 33) % len;
        buf[pos] ^= 0x08;
        CU_ASSERT_EQUAL(fns[0](buf, len), 0);
        buf[pos] ^= 0x08;
    }
    (void)cap;
}

TSUITE(fuzz)
{
    CU_pSuite s = CU_add_suite("fuzz", NULL, NULL);
    if (!s)
        return CU_get_error();
    TADD(s, test_corpus_replays);
    TADD(s, test_truncations);
    TADD(s, test_run_file);
    return CUE_SUCCESS;
}
