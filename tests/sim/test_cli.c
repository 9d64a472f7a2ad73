/* tests/sim/test_cli.c -- exit statuses of the pouwsim command line: every
 * kind of scenario error is status 2 before anything runs. */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim/cli.h"
#include "tests/harness.h"

/* Run the CLI with stdout/stderr silenced (or captured into `capture`). */
static int cli(const char *capture, int argc, const char **argv)
{
    fflush(stdout);
    fflush(stderr);
    int o = dup(1), e = dup(2);
    int fd = open(capture ? capture : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    close(fd);
    int st = sim_cli_main(argc, (char **)argv);
    fflush(stdout);
    fflush(stderr);
    dup2(o, 1);
    dup2(e, 2);
    close(o);
    close(e);
    return st;
}

static void test_scenario_errors_exit_2(void)
{
    DIR *d = opendir("tests/data/scenarios");
    CU_ASSERT_FATAL(d != NULL);
    struct dirent *de;
    int n = 0;
    char cap[512];
    th_path(cap, sizeof cap, "cli.txt");
    while ((de = readdir(d))) {
        if (strncmp(de->d_name, "err_", 4) != 0)
            continue;
        char path[300];
        snprintf(path, sizeof path, "tests/data/scenarios/%s", de->d_name);
        const char *argv[] = {"pouwsim", "run", path, "--quiet"};
        CU_ASSERT_EQUAL(cli(cap, 4, argv), 2);
        /* the message starts with the file name and says "error:" */
        FILE *f = fopen(cap, "r");
        char line[600] = "";
        CU_ASSERT_PTR_NOT_NULL(fgets(line, sizeof line, f));
        fclose(f);
        CU_ASSERT_PTR_NOT_NULL(strstr(line, "error: "));
        CU_ASSERT_EQUAL(strncmp(line, path, strlen(path)), 0);
        n++;
    }
    closedir(d);
    CU_ASSERT(n >= 10);
    const char *missing[] = {"pouwsim", "run", "tests/data/scenarios/no-such-file.yaml"};
    CU_ASSERT_EQUAL(cli(NULL, 3, missing), 2);
    const char *badset[] = {"pouwsim", "run", "tests/data/scenarios/valid.yaml", "--set", "network.nodez=5"};
    CU_ASSERT_EQUAL(cli(NULL, 5, badset), 2);
    const char *range[] = {"pouwsim", "run", "tests/data/scenarios/valid.yaml", "--set", "network.nodes=0"};
    CU_ASSERT_EQUAL(cli(NULL, 5, range), 2);
    const char *badopt[] = {"pouwsim", "run", "x.yaml", "--frobnicate"};
    CU_ASSERT_EQUAL(cli(NULL, 4, badopt), 2);
    const char *badseed[] = {"pouwsim", "run", "x.yaml", "--seed", "-3"};
    CU_ASSERT_EQUAL(cli(NULL, 5, badseed), 2);
    const char *badcmd[] = {"pouwsim", "frob"};
    CU_ASSERT_EQUAL(cli(NULL, 2, badcmd), 2);
    const char *none[] = {"pouwsim"};
    CU_ASSERT_EQUAL(cli(NULL, 1, none), 2);
}

static void test_help_and_version(void)
{
    char cap[512];
    th_path(cap, sizeof cap, "ver.txt");
    const char *v[] = {"pouwsim", "--version"};
    CU_ASSERT_EQUAL(cli(cap, 2, v), 0);
    FILE *f = fopen(cap, "r");
    char line[100] = "";
    CU_ASSERT_PTR_NOT_NULL(fgets(line, sizeof line, f));
    fclose(f);
    CU_ASSERT_EQUAL(strncmp(line, "pouwsim ", 8), 0);
    const char *h[] = {"pouwsim", "--help"};
    CU_ASSERT_EQUAL(cli(NULL, 2, h), 0);
    const char *hr[] = {"pouwsim", "run", "--help"};
    CU_ASSERT_EQUAL(cli(NULL, 3, hr), 0);
    const char *hk[] = {"pouwsim", "help", "export"};
    CU_ASSERT_EQUAL(cli(NULL, 3, hk), 0);
}

static void test_run_info_export(void)
{
    char yaml[512], out[512], dir[512], csv[600];
    th_path(yaml, sizeof yaml, "tiny.yaml");
    th_path(out, sizeof out, "tiny.h5");
    th_path(dir, sizeof dir, "csv");
    FILE *f = fopen(yaml, "w");
    fputs("duration: 2min\nnetwork: {nodes: 12}\nchain: {block_interval: 20s}\nmining: {miners: 2}\n"
          "transactions: {rate: 1, wallets: 20}\n", f);
    fclose(f);
    const char *run[] = {"pouwsim", "run", yaml, "--out", out, "--quiet", "--seed", "9"};
    CU_ASSERT_EQUAL(cli(NULL, 8, run), 0);
    struct stat st;
    CU_ASSERT_EQUAL(stat(out, &st), 0);
    const char *info[] = {"pouwsim", "info", out};
    CU_ASSERT_EQUAL(cli(NULL, 3, info), 0);
    const char *exp[] = {"pouwsim", "export", out, "--csv", dir};
    CU_ASSERT_EQUAL(cli(NULL, 5, exp), 0);
    snprintf(csv, sizeof csv, "%s/blocks.csv", dir);
    f = fopen(csv, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    char line[300] = "";
    CU_ASSERT_PTR_NOT_NULL(fgets(line, sizeof line, f));
    fclose(f);
    CU_ASSERT_EQUAL(strncmp(line, "idx,hash,parent,height", 22), 0);
    const char *bad[] = {"pouwsim", "info", yaml}; /* not an HDF5 file */
    CU_ASSERT_EQUAL(cli(NULL, 3, bad), 2);
}

/* A file the scenario names is input too: status 2, its path and line said. */
static void test_bad_edge_file_exit_2(void)
{
    char yaml[512], edges[512], out[512], cap[512], want[700];
    th_path(yaml, sizeof yaml, "edges.yaml");
    th_path(edges, sizeof edges, "bad.edges");
    th_path(out, sizeof out, "edges.h5");
    th_path(cap, sizeof cap, "edges.txt");
    FILE *f = fopen(edges, "w");
    CU_ASSERT_FATAL(f != NULL);
    fputs("0 1\n1 2\n2 x\n", f);
    fclose(f);
    f = fopen(yaml, "w");
    CU_ASSERT_FATAL(f != NULL);
    fprintf(f, "duration: 1min\nnetwork: {nodes: 3, topology: {model: file, file: '%s'}}\n"
               "mining: {miners: 1}\n", edges);
    fclose(f);
    const char *run[] = {"pouwsim", "run", yaml, "--out", out, "--quiet"};
    CU_ASSERT_EQUAL(cli(cap, 6, run), 2);
    f = fopen(cap, "r");
    CU_ASSERT_FATAL(f != NULL);
    char line[700] = "";
    CU_ASSERT_PTR_NOT_NULL(fgets(line, sizeof line, f));
    fclose(f);
    snprintf(want, sizeof want, "pouwsim: error: %s: line 3: expected two node ids 'a b'\n",
             edges);
    CU_ASSERT_STRING_EQUAL(line, want);
}

TSUITE(cli)
{
    CU_pSuite s = CU_add_suite("cli", NULL, NULL);
    if (!s)
        return CU_get_error();
    TADD(s, test_scenario_errors_exit_2);
    TADD(s, test_help_and_version);
    TADD(s, test_run_info_export);
    TADD(s, test_bad_edge_file_exit_2);
    return CUE_SUCCESS;
}
