/* sim/units.c -- exact decimal scaling of "number + unit" text; see units.h. */
#include "sim/units.h"

#include <stdio.h>
#include <string.h>

/* Unit tables hold their names inline (not as char pointers) so that the
 * tables live in read-only data even in position-independent objects:
 * pointer tables land in .data.rel.ro, which `nm` reports as writable. */
typedef struct unit_def {
    char name[8];
    uint64_t factor; /* target units per one of this unit */
} unit_def;

#define NS_PER_S UINT64_C(1000000000)

static const unit_def duration_units[] = {
    {"ns", 1},
    {"us", 1000},
    {"\xc2\xb5s", 1000}, /* µs */
    {"ms", 1000000},
    {"s", NS_PER_S},
    {"min", 60 * NS_PER_S},
    {"h", 3600 * NS_PER_S},
    {"d", 86400 * NS_PER_S},
};
/* Canonical output units, largest first. */
static const unit_def duration_out[] = {
    {"d", 86400 * NS_PER_S}, {"h", 3600 * NS_PER_S}, {"min", 60 * NS_PER_S},
    {"s", NS_PER_S},         {"ms", 1000000},        {"us", 1000},
    {"ns", 1},
};

static const unit_def size_units[] = {
    {"B", 1},
    {"kB", UINT64_C(1000)},
    {"KB", UINT64_C(1000)},
    {"MB", UINT64_C(1000000)},
    {"GB", UINT64_C(1000000000)},
    {"TB", UINT64_C(1000000000000)},
    {"KiB", UINT64_C(1) << 10},
    {"MiB", UINT64_C(1) << 20},
    {"GiB", UINT64_C(1) << 30},
    {"TiB", UINT64_C(1) << 40},
};
static const unit_def size_out[] = {
    {"TiB", UINT64_C(1) << 40}, {"TB", UINT64_C(1000000000000)},
    {"GiB", UINT64_C(1) << 30}, {"GB", UINT64_C(1000000000)},
    {"MiB", UINT64_C(1) << 20}, {"MB", UINT64_C(1000000)},
    {"KiB", UINT64_C(1) << 10}, {"kB", UINT64_C(1000)},
    {"B", 1},
};

static const unit_def bandwidth_units[] = {
    {"bit/s", 1},
    {"bps", 1},
    {"kbit/s", UINT64_C(1000)},
    {"kbps", UINT64_C(1000)},
    {"Mbit/s", UINT64_C(1000000)},
    {"Mbps", UINT64_C(1000000)},
    {"Gbit/s", UINT64_C(1000000000)},
    {"Gbps", UINT64_C(1000000000)},
    {"B/s", 8},
    {"kB/s", UINT64_C(8000)},
    {"KB/s", UINT64_C(8000)},
    {"MB/s", UINT64_C(8000000)},
    {"GB/s", UINT64_C(8000000000)},
    {"KiB/s", UINT64_C(8) << 10},
    {"MiB/s", UINT64_C(8) << 20},
    {"GiB/s", UINT64_C(8) << 30},
};
static const unit_def bandwidth_out[] = {
    {"Gbit/s", UINT64_C(1000000000)},
    {"Mbit/s", UINT64_C(1000000)},
    {"kbit/s", UINT64_C(1000)},
    {"bit/s", 1},
};

/* The empty name is the meaning of a bare number. */
static const unit_def amount_units[] = {
    {"", 100000000}, {"coin", 100000000}, {"coins", 100000000}, {"unit", 1}, {"units", 1},
};
static const unit_def ppm_units[] = {
    {"", 1000000},
    {"%", 10000},
    {"ppm", 1},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* A number split into its parts, all borrowed from the input text. */
typedef struct number {
    bool neg;
    const char *ip; /* integer digits */
    size_t ni;
    const char *fp; /* fraction digits (none when nf == 0) */
    size_t nf;
    const char *unit; /* unit text, trimmed; may be empty */
    size_t nu;
} number;

static bool is_space(char c) { return c == ' ' || c == '\t'; }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static bool split_number(const char *s, number *num)
{
    memset(num, 0, sizeof *num);
    while (is_space(*s))
        s++;
    if (*s == '-') {
        num->neg = true;
        s++;
    }
    num->ip = s;
    while (is_digit(*s))
        s++;
    num->ni = (size_t)(s - num->ip);
    if (!num->ni)
        return false;
    if (*s == '.') {
        num->fp = ++s;
        while (is_digit(*s))
            s++;
        num->nf = (size_t)(s - num->fp);
        if (!num->nf)
            return false;
    }
    while (is_space(*s))
        s++;
    num->unit = s;
    size_t n = strlen(s);
    while (n && is_space(s[n - 1]))
        n--;
    num->nu = n;
    return true;
}

static const unit_def *find_unit(const unit_def *u, size_t nu, const char *name, size_t len)
{
    for (size_t i = 0; i < nu; i++)
        if (strlen(u[i].name) == len && memcmp(u[i].name, name, len) == 0)
            return &u[i];
    return NULL;
}

/* value = (ip . fp) * factor, exactly.  The fraction is scaled by Horner's
 * rule from the last digit: q <- floor((d * factor + q) / 10).  Nested floors
 * equal the floor of the exact value, and the result is exact iff no step
 * leaves a remainder (fractions only accumulate, they never cancel).
 * d * factor + q <= 10 * factor, so factor < 2^64 / 10 cannot overflow. */
static pu_err scale(const number *num, uint64_t factor, uint64_t *out, bool *inexact)
{
    uint64_t ip = 0;
    for (size_t i = 0; i < num->ni; i++) {
        uint64_t d = (uint64_t)(num->ip[i] - '0');
        if (ip > (UINT64_MAX - d) / 10)
            return PU_ERR_RANGE;
        ip = ip * 10 + d;
    }
    if (factor && ip > UINT64_MAX / factor)
        return PU_ERR_RANGE;
    uint64_t q = 0;
    bool rem = false;
    for (size_t i = num->nf; i-- > 0;) {
        uint64_t t = (uint64_t)(num->fp[i] - '0') * factor + q;
        rem = rem || t % 10 != 0;
        q = t / 10;
    }
    uint64_t whole = ip * factor;
    if (whole > UINT64_MAX - q)
        return PU_ERR_RANGE;
    *out = whole + q;
    *inexact = rem;
    return PU_OK;
}

static void set_why(const char **why, const char *s)
{
    if (why)
        *why = s;
}

/* Parse an unsigned quantity with a unit table; `finer` completes "'x' ..."
 * for values below the resolution of the target unit. */
static pu_err parse_unsigned(const char *text, const unit_def *units, size_t nunits,
                             const char *default_unit, const char *finer, uint64_t *out,
                             const char **why)
{
    number num;
    if (!text || !split_number(text, &num)) {
        set_why(why, "not a number");
        return PU_ERR_PARSE;
    }
    const unit_def *u;
    if (num.nu == 0) {
        if (!default_unit) {
            set_why(why, "missing unit");
            return PU_ERR_PARSE;
        }
        u = find_unit(units, nunits, default_unit, strlen(default_unit));
    } else {
        u = find_unit(units, nunits, num.unit, num.nu);
    }
    if (!u) {
        set_why(why, "unknown unit");
        return PU_ERR_PARSE;
    }
    uint64_t v;
    bool inexact;
    if (scale(&num, u->factor, &v, &inexact) != PU_OK) {
        set_why(why, "is too large");
        return PU_ERR_RANGE;
    }
    if (num.neg && v != 0) {
        set_why(why, "is negative");
        return PU_ERR_RANGE;
    }
    if (inexact) {
        set_why(why, finer);
        return PU_ERR_RANGE;
    }
    *out = v;
    set_why(why, NULL);
    return PU_OK;
}

pu_err sim_units_parse_duration(const char *text, const char *default_unit, uint64_t *out_ns,
                                const char **why)
{
    return parse_unsigned(text, duration_units, COUNT(duration_units), default_unit,
                          "is not a whole number of ns", out_ns, why);
}

pu_err sim_units_parse_size(const char *text, const char *default_unit, uint64_t *out_bytes,
                            const char **why)
{
    return parse_unsigned(text, size_units, COUNT(size_units), default_unit,
                          "is not a whole number of bytes", out_bytes, why);
}

pu_err sim_units_parse_bandwidth(const char *text, const char *default_unit, uint64_t *out_bps,
                                 const char **why)
{
    return parse_unsigned(text, bandwidth_units, COUNT(bandwidth_units), default_unit,
                          "is not a whole number of bit/s", out_bps, why);
}

pu_err sim_units_parse_amount(const char *text, pu_amount *out, const char **why)
{
    number num;
    if (!text || !split_number(text, &num)) {
        set_why(why, "not a number");
        return PU_ERR_PARSE;
    }
    const unit_def *u = find_unit(amount_units, COUNT(amount_units), num.unit, num.nu);
    if (!u) {
        set_why(why, "unknown unit");
        return PU_ERR_PARSE;
    }
    uint64_t v;
    bool inexact;
    if (scale(&num, u->factor, &v, &inexact) != PU_OK || v > (uint64_t)INT64_MAX) {
        set_why(why, "is too large");
        return PU_ERR_RANGE;
    }
    if (inexact) {
        set_why(why, u->factor == 1 ? "is not a whole number of base units"
                                    : "has more than 8 decimals");
        return PU_ERR_RANGE;
    }
    *out = num.neg ? -(int64_t)v : (int64_t)v;
    set_why(why, NULL);
    return PU_OK;
}

pu_err sim_units_parse_ppm(const char *text, uint32_t *out, const char **why)
{
    uint64_t v = 0;
    pu_err rc = parse_unsigned(text, ppm_units, COUNT(ppm_units), "",
                               "is finer than 1 ppm (at most 6 decimals)", &v, why);
    if (rc != PU_OK)
        return rc;
    if (v > UINT32_MAX) {
        set_why(why, "is too large");
        return PU_ERR_RANGE;
    }
    *out = (uint32_t)v;
    return PU_OK;
}

/* Write q + r/f with at most maxdec decimals, followed by unit.  Returns
 * false when r/f needs more decimals (the caller then tries a smaller unit).
 * r < f <= 2^62 keeps r * 10 from overflowing. */
static bool put_fixed(uint64_t q, uint64_t r, uint64_t f, int maxdec, bool neg, const char *unit,
                      char *buf, size_t n, bool *fits)
{
    char frac[24];
    int nd = 0;
    while (r && nd < maxdec) {
        r *= 10;
        frac[nd++] = (char)('0' + r / f);
        r %= f;
    }
    if (r)
        return false;
    frac[nd] = 0;
    int w = snprintf(buf, n, "%s%llu%s%s%s", neg ? "-" : "", (unsigned long long)q, nd ? "." : "",
                     frac, unit);
    *fits = w >= 0 && (size_t)w < n;
    return true;
}

static pu_err fmt_unsigned(uint64_t v, const unit_def *units, size_t nunits, char *buf, size_t n)
{
    bool fits = false;
    for (size_t i = 0; i < nunits; i++) {
        uint64_t f = units[i].factor;
        /* Zero and values below every unit fall through to the last (factor 1). */
        if (i + 1 < nunits && (v < f || v == 0))
            continue;
        if (put_fixed(v / f, v % f, f, 3, false, units[i].name, buf, n, &fits))
            break;
    }
    if (!fits) {
        if (n)
            buf[0] = 0;
        return PU_ERR_RANGE;
    }
    return PU_OK;
}

pu_err sim_units_format_duration(uint64_t ns, char *buf, size_t n)
{
    /* Zero reads better as "0s" than "0ns". */
    if (ns == 0) {
        if (n < 3) {
            if (n)
                buf[0] = 0;
            return PU_ERR_RANGE;
        }
        memcpy(buf, "0s", 3);
        return PU_OK;
    }
    return fmt_unsigned(ns, duration_out, COUNT(duration_out), buf, n);
}

pu_err sim_units_format_size(uint64_t bytes, char *buf, size_t n)
{
    return fmt_unsigned(bytes, size_out, COUNT(size_out), buf, n);
}

pu_err sim_units_format_bandwidth(uint64_t bps, char *buf, size_t n)
{
    return fmt_unsigned(bps, bandwidth_out, COUNT(bandwidth_out), buf, n);
}

pu_err sim_units_format_amount(pu_amount units, char *buf, size_t n)
{
    bool neg = units < 0;
    /* Negate in unsigned arithmetic: -INT64_MIN does not fit an int64. */
    uint64_t mag = neg ? (uint64_t)0 - (uint64_t)units : (uint64_t)units;
    uint64_t coin = (uint64_t)PU_COIN;
    bool fits = false;
    (void)put_fixed(mag / coin, mag % coin, coin, 8, neg, "", buf, n, &fits);
    if (!fits) {
        if (n)
            buf[0] = 0;
        return PU_ERR_RANGE;
    }
    return PU_OK;
}

pu_err sim_units_format_ppm(uint32_t ppm, char *buf, size_t n)
{
    bool fits = false;
    (void)put_fixed(ppm / 1000000u, ppm % 1000000u, 1000000u, 6, false, "", buf, n, &fits);
    if (!fits) {
        if (n)
            buf[0] = 0;
        return PU_ERR_RANGE;
    }
    return PU_OK;
}

const char *sim_units_duration_names(void) { return "ns, us, \xc2\xb5s, ms, s, min, h, d"; }

const char *sim_units_size_names(void)
{
    return "B, kB (= KB), MB, GB, TB (powers of 1000), KiB, MiB, GiB, TiB (powers of 1024)";
}

const char *sim_units_bandwidth_names(void)
{
    return "bit/s, kbit/s, Mbit/s, Gbit/s (also bps, kbps, Mbps, Gbps), "
           "B/s, kB/s, KB/s, MB/s, GB/s, KiB/s, MiB/s, GiB/s (bytes, x 8)";
}
