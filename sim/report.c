/* sim/report.c -- one output tree, two renderings (see report.h). */
#include "sim/report.h"

#include <inttypes.h>
#include <string.h>

#include "core/crypto.h"
#include "sim/units.h"

#define KEY_WIDTH 25

void sim_report_begin(sim_report *r, FILE *f, bool json)
{
    memset(r, 0, sizeof *r);
    r->f = f;
    r->json = json;
    r->first[0] = true;
    if (json)
        fputs("{", f);
}

/* JSON: separator and indentation before a member; text: indentation (or
 * the "- " of an array item) and the key column, so that values line up at
 * KEY_WIDTH whatever the nesting.  key is ignored inside arrays. */
static void lead(sim_report *r, const char *key, bool opens)
{
    unsigned d = r->depth;
    bool item = r->in_array[d], was_first = r->first[d];
    r->first[d] = false;
    if (r->json) {
        fprintf(r->f, "%s\n%*s", was_first ? "" : ",", 2 * (int)(d + 1), "");
        if (!item && key)
            fprintf(r->f, "\"%s\": ", key); /* keys are program constants: no escaping */
        return;
    }
    if (item)
        fprintf(r->f, "%*s- ", (int)r->indent[d], "");
    else if (r->item_start[d])
        r->item_start[d] = false; /* the item's "- " put us in the column already */
    else
        fprintf(r->f, "%*s", (int)r->indent[d], "");
    if (!item && key) {
        int w = KEY_WIDTH - (int)r->indent[d];
        if (opens)
            fprintf(r->f, "%s:", key);
        else
            fprintf(r->f, "%-*s ", w > 1 ? w : 1, key);
    }
}

static void push(sim_report *r, const char *key, bool array)
{
    if (r->depth >= SIM_REPORT_MAX_DEPTH) {
        r->overflow = true;
        r->depth++; /* keep close() balanced; nothing is written while over */
        return;
    }
    unsigned d = r->depth;
    bool item = r->in_array[d];
    lead(r, key, true);
    r->depth++;
    r->first[d + 1] = true;
    r->in_array[d + 1] = array;
    r->item_start[d + 1] = !r->json && item && !array;
    r->indent[d + 1] = r->indent[d] + 2;
    if (r->json)
        fputs(array ? "[" : "{", r->f);
    else if (!r->item_start[d + 1])
        fputs("\n", r->f);
}

void sim_report_obj(sim_report *r, const char *key) { push(r, key, false); }
void sim_report_arr(sim_report *r, const char *key) { push(r, key, true); }

void sim_report_close(sim_report *r)
{
    if (r->depth == 0)
        return;
    if (r->depth > SIM_REPORT_MAX_DEPTH) {
        r->depth--;
        return;
    }
    unsigned d = r->depth--;
    if (r->json)
        fprintf(r->f, "%s%*s%s", r->first[d] ? "" : "\n", r->first[d] ? 0 : 2 * (int)d, "",
                r->in_array[d] ? "]" : "}");
    else if (r->item_start[d]) /* an empty object as an array item */
        fputs("\n", r->f);
}

pu_err sim_report_end(sim_report *r)
{
    while (r->depth)
        sim_report_close(r);
    if (r->json)
        fputs("\n}\n", r->f);
    if (r->overflow)
        return PU_ERR_RANGE;
    return ferror(r->f) ? PU_ERR_IO : PU_OK;
}

static bool over(const sim_report *r) { return r->depth > SIM_REPORT_MAX_DEPTH; }

/* A scalar member: lead, then the rendered value (already formatted). */
static void scalar(sim_report *r, const char *key, const char *json_val, const char *text_val)
{
    if (over(r))
        return;
    lead(r, key, false);
    fprintf(r->f, r->json ? "%s" : "%s\n", r->json ? json_val : text_val);
}

static void json_escaped(FILE *f, const char *v, size_t n)
{
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f); /* bytes >= 0x80 pass through: UTF-8 stays UTF-8 */
    }
    fputc('"', f);
}

static void text_escaped(FILE *f, const char *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if (c == '\n')
            fputs("\\n", f);
        else if (c == '\\')
            fputs("\\\\", f);
        else if (c < 0x20 || c == 0x7f)
            fprintf(f, "\\x%02x", c);
        else
            fputc(c, f);
    }
}

void sim_report_strn(sim_report *r, const char *key, const char *v, size_t n)
{
    if (over(r))
        return;
    lead(r, key, false);
    if (r->json) {
        json_escaped(r->f, v, n);
    } else {
        text_escaped(r->f, v, n);
        fputc('\n', r->f);
    }
}

void sim_report_str(sim_report *r, const char *key, const char *v)
{
    sim_report_strn(r, key, v, strlen(v));
}

void sim_report_u64(sim_report *r, const char *key, uint64_t v)
{
    char b[24];
    snprintf(b, sizeof b, "%" PRIu64, v);
    scalar(r, key, b, b);
}

void sim_report_i64(sim_report *r, const char *key, int64_t v)
{
    char b[24];
    snprintf(b, sizeof b, "%" PRId64, v);
    scalar(r, key, b, b);
}

void sim_report_bool(sim_report *r, const char *key, bool v)
{
    scalar(r, key, v ? "true" : "false", v ? "yes" : "no");
}

void sim_report_hex(sim_report *r, const char *key, const uint8_t *p, size_t n)
{
    if (over(r))
        return;
    lead(r, key, false);
    if (r->json)
        fputc('"', r->f);
    char b[3];
    for (size_t i = 0; i < n; i++) {
        pu_hex_encode(p + i, 1, b);
        fputs(b, r->f);
    }
    fputs(r->json ? "\"" : "\n", r->f);
}

void sim_report_amount(sim_report *r, const char *key, pu_amount v)
{
    char j[24], c[SIM_UNITS_BUF], t[SIM_UNITS_BUF + 8];
    snprintf(j, sizeof j, "%" PRId64, v);
    if (sim_units_format_amount(v, c, sizeof c) == PU_OK)
        snprintf(t, sizeof t, "%s coin", c);
    else /* cannot happen with SIM_UNITS_BUF; base units are exact anyway */
        snprintf(t, sizeof t, "%" PRId64 " units", v);
    scalar(r, key, j, t);
}

void sim_report_enum(sim_report *r, const char *key, uint64_t v, const char *name)
{
    if (r->json) {
        char k[64];
        sim_report_u64(r, key, v);
        snprintf(k, sizeof k, "%s_name", key);
        sim_report_str(r, k, name);
        return;
    }
    char t[96];
    snprintf(t, sizeof t, "%" PRIu64 " %s", v, name);
    scalar(r, key, t, t);
}

void sim_report_note(sim_report *r, const char *text)
{
    if (r->json || over(r))
        return;
    fprintf(r->f, "%*s%s\n", 2 * (int)r->depth, "", text);
}
