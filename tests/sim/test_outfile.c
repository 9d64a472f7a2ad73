/* tests/sim/test_outfile.c -- outputs written aside, renamed on success,
 * never over an input, a link, a device or an existing file unasked. */
#define _DEFAULT_SOURCE /* mknod, makedev */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "sim/outfile.h"
#include "tests/harness.h"

static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CU_ASSERT_FATAL(f != NULL);
    fputs(text, f);
    fclose(f);
}

/* The file's contents ("" when missing), in buf. */
static const char *get(const char *path, char *buf, size_t n)
{
    buf[0] = '\0';
    FILE *f = fopen(path, "r");
    if (f) {
        size_t k = fread(buf, 1, n - 1, f);
        buf[k] = '\0';
        fclose(f);
    }
    return buf;
}

static bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static void test_new_output(void)
{
    char target[512], err[512], buf[64];
    th_path(target, sizeof target, "of_new.txt");
    sim_outset *s;
    sim_outfile *o;
    CU_ASSERT_FATAL(sim_outset_new(&s) == PU_OK);
    CU_ASSERT_FATAL(sim_outset_output(s, "--out", target, 0, &o, err, sizeof err) == PU_OK);
    CU_ASSERT_STRING_EQUAL(sim_outfile_target(o), target);
    CU_ASSERT_FALSE(sim_outfile_replaces(o));
    /* the temporary file exists, in the same directory, the target not yet */
    CU_ASSERT_TRUE(exists(sim_outfile_path(o)));
    CU_ASSERT_EQUAL(strncmp(sim_outfile_path(o), target, strlen(target)), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(sim_outfile_path(o), ".partial-"));
    CU_ASSERT_FALSE(exists(target));
    put(sim_outfile_path(o), "new");
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s", sim_outfile_path(o));
    CU_ASSERT_EQUAL(sim_outfile_commit(o, err, sizeof err), PU_OK);
    CU_ASSERT_STRING_EQUAL(get(target, buf, sizeof buf), "new");
    CU_ASSERT_FALSE(exists(tmp));
    CU_ASSERT_EQUAL(sim_outfile_commit(o, err, sizeof err), PU_ERR_STATE);
    sim_outset_free(s);
    CU_ASSERT_STRING_EQUAL(get(target, buf, sizeof buf), "new");
}

static void test_existing_needs_force(void)
{
    char target[512], err[512], buf[64];
    th_path(target, sizeof target, "of_old.txt");
    put(target, "old");
    sim_outset *s;
    sim_outfile *o = NULL;
    CU_ASSERT_FATAL(sim_outset_new(&s) == PU_OK);
    CU_ASSERT_EQUAL(sim_outset_output(s, "--out", target, 0, &o, err, sizeof err), PU_ERR_EXISTS);
    CU_ASSERT_PTR_NULL(o);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "exists (use --force"));
    CU_ASSERT_STRING_EQUAL(get(target, buf, sizeof buf), "old");
    CU_ASSERT_FATAL(sim_outset_output(s, "--out", target, SIM_OUTFILE_FORCE, &o, err, sizeof err) ==
                    PU_OK);
    CU_ASSERT_TRUE(sim_outfile_replaces(o));
    put(sim_outfile_path(o), "replacement");
    /* until the commit, the old file is untouched */
    CU_ASSERT_STRING_EQUAL(get(target, buf, sizeof buf), "old");
    CU_ASSERT_EQUAL(sim_outfile_commit(o, err, sizeof err), PU_OK);
    CU_ASSERT_STRING_EQUAL(get(target, buf, sizeof buf), "replacement");
    sim_outset_free(s);
}

/* Links, directories, FIFOs and (as root) device nodes: never, even forced. */
static void test_not_regular_refused(void)
{
    char link_p[512], tgt[512], dir[512], fifo[512], dev[512], err[512], buf[64];
    th_path(tgt, sizeof tgt, "of_link_target.txt");
    th_path(link_p, sizeof link_p, "of_link.h5");
    th_path(dir, sizeof dir, "of_dir");
    th_path(fifo, sizeof fifo, "of_fifo");
    th_path(dev, sizeof dev, "of_null");
    put(tgt, "precious");
    CU_ASSERT_FATAL(symlink(tgt, link_p) == 0);
    CU_ASSERT_FATAL(mkdir(dir, 0755) == 0);
    CU_ASSERT_FATAL(mkfifo(fifo, 0644) == 0);
    bool root = geteuid() == 0 && mknod(dev, S_IFCHR | 0666, makedev(1, 3)) == 0;
    sim_outset *s;
    sim_outfile *o;
    CU_ASSERT_FATAL(sim_outset_new(&s) == PU_OK);
    for (unsigned fl = 0; fl <= SIM_OUTFILE_FORCE; fl++) {
        CU_ASSERT_EQUAL(sim_outset_output(s, "--out", link_p, fl, &o, err, sizeof err), PU_ERR_RANGE);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "symbolic link"));
        CU_ASSERT_EQUAL(sim_outset_output(s, "--db", dir, fl, &o, err, sizeof err), PU_ERR_RANGE);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "is a directory"));
        CU_ASSERT_EQUAL(sim_outset_output(s, "--out", fifo, fl, &o, err, sizeof err), PU_ERR_RANGE);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "FIFO"));
        if (root) {
            CU_ASSERT_EQUAL(sim_outset_output(s, "--out", dev, fl, &o, err, sizeof err), PU_ERR_RANGE);
            CU_ASSERT_PTR_NOT_NULL(strstr(err, "character device"));
        }
    }
    char slash[600];
    snprintf(slash, sizeof slash, "%s/", dir);
    CU_ASSERT_EQUAL(sim_outset_output(s, "--out", slash, 0, &o, err, sizeof err), PU_ERR_RANGE);
    sim_outset_free(s);
    struct stat st;
    CU_ASSERT_EQUAL(lstat(link_p, &st), 0);
    CU_ASSERT_TRUE(S_ISLNK(st.st_mode));
    CU_ASSERT_STRING_EQUAL(get(tgt, buf, sizeof buf), "precious");
    CU_ASSERT_TRUE(stat(dir, &st) == 0 && S_ISDIR(st.st_mode));
    CU_ASSERT_TRUE(stat(fifo, &st) == 0 && S_ISFIFO(st.st_mode));
    if (root)
        CU_ASSERT_TRUE(stat(dev, &st) == 0 && S_ISCHR(st.st_mode));
}

/* An input is never an output, by any name; two outputs never one file. */
static void test_same_file_refused(void)
{
    char in[512], hard[512], dotted[700], a[512], err[1024], buf[64];
    th_path(in, sizeof in, "of_scenario.yaml");
    th_path(hard, sizeof hard, "of_hardlink.yaml");
    put(in, "name: x\n");
    CU_ASSERT_FATAL(link(in, hard) == 0);
    snprintf(dotted, sizeof dotted, "%s/./../%s/of_scenario.yaml", th_tmpdir(),
             strrchr(th_tmpdir(), '/') + 1);
    sim_outset *s;
    sim_outfile *o, *o2;
    CU_ASSERT_FATAL(sim_outset_new(&s) == PU_OK);
    CU_ASSERT_EQUAL(sim_outset_input(s, "the scenario file", in, err, sizeof err), PU_OK);
    CU_ASSERT_EQUAL(sim_outset_input(s, "a missing input", "/nonexistent/x", err, sizeof err), PU_OK);
    const char *names[] = {in, hard, dotted};
    for (int i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL(sim_outset_output(s, "--db", names[i], SIM_OUTFILE_FORCE, &o, err, sizeof err),
                        PU_ERR_RANGE);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "is the scenario file (an input)"));
    }
    /* two outputs that do not exist yet, named differently */
    th_path(a, sizeof a, "of_same.h5");
    char a2[700];
    snprintf(a2, sizeof a2, "%s/./of_same.h5", th_tmpdir());
    CU_ASSERT_FATAL(sim_outset_output(s, "--out", a, 0, &o, err, sizeof err) == PU_OK);
    CU_ASSERT_EQUAL(sim_outset_output(s, "--db", a2, 0, &o2, err, sizeof err), PU_ERR_RANGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "is the same file as --out"));
    sim_outset_free(s);
    CU_ASSERT_STRING_EQUAL(get(in, buf, sizeof buf), "name: x\n");
    CU_ASSERT_FALSE(exists(a)); /* never committed: nothing left */
}

/* A target that appears while the command runs is not replaced. */
static void test_appeared_meanwhile(void)
{
    char target[512], err[1024], buf[64], tmp[600];
    th_path(target, sizeof target, "of_race.h5");
    sim_outset *s;
    sim_outfile *o;
    CU_ASSERT_FATAL(sim_outset_new(&s) == PU_OK);
    CU_ASSERT_FATAL(sim_outset_output(s, "--out", target, 0, &o, err, sizeof err) == PU_OK);
    snprintf(tmp, sizeof tmp, "%s", sim_outfile_path(o));
    put(tmp, "ours");
    put(target, "theirs");
    CU_ASSERT_EQUAL(sim_outfile_commit(o, err, sizeof err), PU_ERR_EXISTS);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "appeared while this command ran"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, tmp));
    sim_outfile_keep(o);
    sim_outset_free(s);
    CU_ASSERT_STRING_EQUAL(get(target, buf, sizeof buf), "theirs");
    CU_ASSERT_STRING_EQUAL(get(tmp, buf, sizeof buf), "ours");
}

/* Temporary names are unique; discarded and unsettled outputs leave nothing. */
static void test_temp_names(void)
{
    char target[512], err[512], t1[600], t2[600], t3[600];
    th_path(target, sizeof target, "of_uniq.h5");
    sim_outset *s1, *s2;
    sim_outfile *a, *b, *c;
    CU_ASSERT_FATAL(sim_outset_new(&s1) == PU_OK && sim_outset_new(&s2) == PU_OK);
    CU_ASSERT_FATAL(sim_outset_output(s1, "--out", target, 0, &a, err, sizeof err) == PU_OK);
    CU_ASSERT_FATAL(sim_outset_output(s2, "--out", target, 0, &b, err, sizeof err) == PU_OK);
    snprintf(t1, sizeof t1, "%s", sim_outfile_path(a));
    snprintf(t2, sizeof t2, "%s", sim_outfile_path(b));
    CU_ASSERT_STRING_NOT_EQUAL(t1, t2);
    sim_outfile_discard(a);
    CU_ASSERT_FALSE(exists(t1));
    sim_outset_free(s2); /* b neither committed nor kept */
    CU_ASSERT_FALSE(exists(t2));
    th_path(t3, sizeof t3, "of_uniq.sqlite");
    CU_ASSERT_FATAL(sim_outset_output(s1, "--db", t3, 0, &c, err, sizeof err) == PU_OK);
    snprintf(t3, sizeof t3, "%s", sim_outfile_path(c));
    sim_outset_free(s1);
    CU_ASSERT_FALSE(exists(t3));
    CU_ASSERT_FALSE(exists(target));
}

/* Paths are never cut: a 700-character path works. */
static void test_long_path(void)
{
    char dir[1024], target[1100], err[512], buf[16];
    snprintf(dir, sizeof dir, "%s", th_tmpdir());
    for (int i = 0; i < 12; i++) {
        size_t n = strlen(dir);
        snprintf(dir + n, sizeof dir - n, "/%s", "ddddddddddddddddddddddddddddddddddddddddddddddddd");
        CU_ASSERT_FATAL(mkdir(dir, 0755) == 0 || errno == EEXIST);
    }
    snprintf(target, sizeof target, "%s/out.h5", dir);
    CU_ASSERT_FATAL(strlen(target) > 600);
    sim_outset *s;
    sim_outfile *o;
    CU_ASSERT_FATAL(sim_outset_new(&s) == PU_OK);
    CU_ASSERT_FATAL(sim_outset_output(s, "--out", target, 0, &o, err, sizeof err) == PU_OK);
    put(sim_outfile_path(o), "deep");
    CU_ASSERT_EQUAL(sim_outfile_commit(o, err, sizeof err), PU_OK);
    sim_outset_free(s);
    CU_ASSERT_STRING_EQUAL(get(target, buf, sizeof buf), "deep");
    /* a directory that does not exist is an error naming it */
    CU_ASSERT_FATAL(sim_outset_new(&s) == PU_OK);
    CU_ASSERT_EQUAL(sim_outset_output(s, "--out", "/nonexistent-dir/x.h5", 0, &o, err, sizeof err),
                    PU_ERR_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "/nonexistent-dir"));
    sim_outset_free(s);
}

TSUITE(outfile)
{
    CU_pSuite s = CU_add_suite("outfile", NULL, NULL);
    if (!s)
        return CU_get_error();
    TADD(s, test_new_output);
    TADD(s, test_existing_needs_force);
    TADD(s, test_not_regular_refused);
    TADD(s, test_same_file_refused);
    TADD(s, test_appeared_meanwhile);
    TADD(s, test_temp_names);
    TADD(s, test_long_path);
    return CUE_SUCCESS;
}
