/* tests/harness.c -- scratch directory shared by the suites of one run. */
#include "tests/harness.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The test runner is a program, not part of a simulation run: one scratch
 * directory per process is the natural scope, so it lives in main's data. */
extern char th_tmp_root[256];

const char *th_tmpdir(void) { return th_tmp_root; }

const char *th_path(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/%s", th_tmp_root, name);
    return buf;
}

char *th_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *b = malloc(cap + 1);
    while (b) {
        n += fread(b + n, 1, cap - n, f);
        if (n < cap)
            break;
        char *nb = realloc(b, 2 * cap + 1);
        if (!nb) {
            free(b);
            b = NULL;
        }
        b = nb;
        cap *= 2;
    }
    bool bad = ferror(f) != 0;
    fclose(f);
    if (bad) {
        free(b);
        return NULL;
    }
    if (b) {
        b[n] = 0;
        if (len)
            *len = n;
    }
    return b;
}
