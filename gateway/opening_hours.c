/* Opening hours in Amsterdam time. See include/balie/opening_hours.h for the grammar. */
#include "balie/opening_hours.h"

#include <stdio.h>
#include <string.h>

static const char *const day_en[7] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
static const char *const day_nl[7] = {"ma", "di", "wo", "do", "vr", "za", "zo"};

/* Days from 1970-01-01 to y-m-d: the era arithmetic of the proleptic Gregorian calendar
 * (400-year cycles of 146097 days), with March as the first month so leap days fall last. */
int64_t hours_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void hours_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d)
{
    days += 719468;
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    int64_t doe = days - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

/* Monday = 0. 1970-01-01 was a Thursday. */
static int weekday(int64_t days)
{
    return (int)(((days % 7) + 7 + 3) % 7);
}

/* The last Sunday of a month, as days since the epoch. */
static int64_t last_sunday(int64_t year, unsigned month)
{
    int64_t last = hours_days_from_civil(year + (month == 12), month == 12 ? 1 : month + 1, 1) - 1;
    return last - (weekday(last) + 1) % 7;
}

int hours_amsterdam_offset_s(int64_t unix_s)
{
    int64_t y;
    unsigned m, d;
    hours_civil_from_days(floor_div(unix_s, 86400), &y, &m, &d);
    int64_t begin = last_sunday(y, 3) * 86400 + 3600, end = last_sunday(y, 10) * 86400 + 3600;
    return unix_s >= begin && unix_s < end ? 7200 : 3600;
}

/* ---- parsing ---- */

struct cursor {
    const uint8_t *p, *end;
};

static void skip_spaces(struct cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t'))
        c->p++;
}

static int lower(int ch)
{
    return ch >= 'A' && ch <= 'Z' ? ch + 32 : ch;
}

/* A day name, English or Dutch. -1 when none is here. */
static int parse_day(struct cursor *c)
{
    for (int i = 0; i < 7; i++) {
        const char *names[2] = {day_en[i], day_nl[i]};
        for (int k = 0; k < 2; k++) {
            size_t n = strlen(names[k]);
            if ((size_t)(c->end - c->p) < n)
                continue;
            bool same = true;
            for (size_t j = 0; j < n && same; j++)
                same = lower(c->p[j]) == names[k][j];
            bool ends =
                (size_t)(c->end - c->p) == n || !((lower(c->p[n]) >= 'a' && lower(c->p[n]) <= 'z'));
            if (same && ends) {
                c->p += n;
                return i;
            }
        }
    }
    return -1;
}

static int parse_digits(struct cursor *c, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (c->p >= c->end || *c->p < '0' || *c->p > '9')
            return -1;
        v = v * 10 + (*c->p++ - '0');
    }
    return v;
}

/* HH:MM as minutes; 24:00 only when `end` is set. */
static int parse_time(struct cursor *c, bool end)
{
    int h = parse_digits(c, 2);
    if (h < 0 || c->p >= c->end || *c->p++ != ':')
        return -1;
    int m = parse_digits(c, 2);
    if (m < 0 || m > 59 || h > 24 || (h == 24 && (m != 0 || !end)))
        return -1;
    return h * 60 + m;
}

static int fail(char *why, size_t why_len, const char *reason)
{
    snprintf(why, why_len, "%s", reason);
    return -1;
}

static int fail_day(char *why, size_t why_len, const char *reason, int day)
{
    snprintf(why, why_len, "%s %s", reason, day_en[day]);
    return -1;
}

/* days = span *("," span): sets bits of `mask`. */
static int parse_days(struct cursor *c, unsigned *mask, char *why, size_t why_len)
{
    *mask = 0;
    for (;;) {
        skip_spaces(c);
        int first = parse_day(c);
        if (first < 0)
            return fail(why, why_len, "expected a day (mon..sun or ma..zo)");
        int last = first;
        skip_spaces(c);
        if (c->p < c->end && *c->p == '-') {
            c->p++;
            skip_spaces(c);
            last = parse_day(c);
            if (last < 0 || last < first)
                return fail(why, why_len, "a day range must run forward within the week (mon-fri)");
        }
        for (int d = first; d <= last; d++) {
            if (*mask & (1u << d))
                return fail_day(why, why_len, "named twice in one entry:", d);
            *mask |= 1u << d;
        }
        skip_spaces(c);
        if (c->p >= c->end || *c->p != ',')
            return 0;
        c->p++;
    }
}

/* Adds one range to every day in `mask`, refusing overlaps with what the day has. */
static int add_range(struct opening_hours *h, unsigned mask, int start, int end, char *why,
                     size_t why_len)
{
    for (int d = 0; d < 7; d++) {
        if (!(mask & (1u << d)))
            continue;
        if (h->count[d] == HOURS_RANGES_MAX)
            return fail_day(why, why_len, "more than 4 ranges on", d);
        for (int i = 0; i < h->count[d]; i++)
            if (start < h->end[d][i] && h->start[d][i] < end)
                return fail_day(why, why_len, "ranges overlap on", d);
        h->start[d][h->count[d]] = (uint16_t)start;
        h->end[d][h->count[d]++] = (uint16_t)end;
    }
    return 0;
}

static int parse_entry(struct cursor *c, struct opening_hours *h, unsigned *seen, char *why,
                       size_t why_len)
{
    unsigned mask;
    if (parse_days(c, &mask, why, why_len) != 0)
        return -1;
    for (int d = 0; d < 7; d++)
        if ((mask & *seen) & (1u << d))
            return fail_day(why, why_len, "named in two entries:", d);
    *seen |= mask;
    for (;;) {
        skip_spaces(c);
        int start = parse_time(c, false);
        if (start < 0)
            return fail(why, why_len, "expected a time range like 09:00-17:00");
        skip_spaces(c);
        if (c->p >= c->end || *c->p++ != '-')
            return fail(why, why_len, "expected '-' between two times");
        skip_spaces(c);
        int end = parse_time(c, true);
        if (end < 0)
            return fail(why, why_len, "expected an end time like 17:00 (00:00 to 24:00)");
        if (end <= start)
            return fail(why, why_len, "a range must end after it starts");
        if (add_range(h, mask, start, end, why, why_len) != 0)
            return -1;
        skip_spaces(c);
        if (c->p >= c->end || *c->p != ',')
            return 0;
        c->p++;
    }
}

int hours_parse(const uint8_t *text, size_t len, struct opening_hours *out, char *why,
                size_t why_len)
{
    memset(out, 0, sizeof(*out));
    if (len > HOURS_TEXT_MAX)
        return fail(why, why_len, "longer than 256 characters");
    struct cursor c = {text, text + len};
    skip_spaces(&c);
    if (c.p == c.end) {
        out->always = true;
        return 0;
    }
    unsigned seen = 0;
    for (;;) {
        if (parse_entry(&c, out, &seen, why, why_len) != 0)
            return -1;
        skip_spaces(&c);
        if (c.p == c.end)
            return 0;
        if (*c.p != ';')
            return fail(why, why_len, "expected ';' between entries");
        c.p++;
        skip_spaces(&c);
        if (c.p == c.end)
            return 0; /* a trailing ';' is harmless */
    }
}

int hours_parse_closed(const uint8_t *text, size_t len, struct opening_hours *h, char *why,
                       size_t why_len)
{
    if (len > HOURS_TEXT_MAX * 4)
        return fail(why, why_len, "longer than 1024 characters");
    struct cursor c = {text, text + len};
    for (;;) {
        while (c.p < c.end && (*c.p == ' ' || *c.p == ',' || *c.p == '\t'))
            c.p++;
        if (c.p == c.end)
            return 0;
        int y = parse_digits(&c, 4);
        int m = c.p < c.end && *c.p++ == '-' ? parse_digits(&c, 2) : -1;
        int d = c.p < c.end && *c.p++ == '-' ? parse_digits(&c, 2) : -1;
        if (y < 1970 || m < 1 || m > 12 || d < 1 || d > 31)
            return fail(why, why_len, "expected dates as YYYY-MM-DD");
        int64_t days = hours_days_from_civil(y, (unsigned)m, (unsigned)d);
        int64_t yy;
        unsigned mm, dd;
        hours_civil_from_days(days, &yy, &mm, &dd);
        if (mm != (unsigned)m || dd != (unsigned)d)
            return fail(why, why_len, "a date that is not in the calendar");
        if (c.p < c.end && *c.p != ' ' && *c.p != ',' && *c.p != '\t')
            return fail(why, why_len, "dates are separated by commas or spaces");
        if (h->closed_count == HOURS_CLOSED_MAX)
            return fail(why, why_len, "more than 64 closed days");
        h->closed[h->closed_count++] = (int32_t)days;
    }
}

/* ---- questions ---- */

static bool closed_on(const struct opening_hours *h, int64_t day)
{
    for (size_t i = 0; i < h->closed_count; i++)
        if (h->closed[i] == day)
            return true;
    return false;
}

bool hours_is_open(const struct opening_hours *h, int64_t unix_s)
{
    int64_t local = unix_s + hours_amsterdam_offset_s(unix_s);
    int64_t day = floor_div(local, 86400);
    if (closed_on(h, day))
        return false;
    if (h->always)
        return true;
    int wd = weekday(day);
    int minute = (int)((local - day * 86400) / 60);
    for (int i = 0; i < h->count[wd]; i++)
        if (minute >= h->start[wd][i] && minute < h->end[wd][i])
            return true;
    return false;
}

/* Local wall time → unix seconds. The offset is the one in force an hour before, so a time in
 * the hour the clocks skip lands just after the change. */
static int64_t local_to_unix(int64_t local_s)
{
    return local_s - hours_amsterdam_offset_s(local_s - 7200);
}

int64_t hours_next_open(const struct opening_hours *h, int64_t unix_s)
{
    if (hours_is_open(h, unix_s))
        return unix_s;
    int64_t today = floor_div(unix_s + hours_amsterdam_offset_s(unix_s), 86400);
    for (int64_t day = today; day < today + 28; day++) {
        if (closed_on(h, day))
            continue;
        if (h->always)
            return local_to_unix(day * 86400);
        int wd = weekday(day);
        int64_t best = -1;
        for (int i = 0; i < h->count[wd]; i++) {
            int64_t at = local_to_unix(day * 86400 + (int64_t)h->start[wd][i] * 60);
            if (at > unix_s && (best < 0 || at < best))
                best = at;
        }
        if (best >= 0)
            return best;
    }
    return -1;
}

int hours_format_local(int64_t unix_s, char *out, size_t out_len)
{
    int offset = hours_amsterdam_offset_s(unix_s);
    int64_t local = unix_s + offset;
    int64_t day = floor_div(local, 86400), sec = local - day * 86400, y;
    unsigned m, d;
    hours_civil_from_days(day, &y, &m, &d);
    int n = snprintf(out, out_len, "%04lld-%02u-%02uT%02d:%02d:%02d+%02d:00", (long long)y, m, d,
                     (int)(sec / 3600), (int)(sec / 60 % 60), (int)(sec % 60), offset / 3600);
    return n > 0 && (size_t)n < out_len ? 0 : -1;
}
