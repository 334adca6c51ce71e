/* Opening hours of a service (`[service.<id>] opening_hours` and `closed_days`), in the local
 * time of Europe/Amsterdam, whatever the host's time zone.
 *
 * Sans-IO: text in, a table out; the time comes in as unix seconds. Amsterdam's offset follows
 * the EU rule (Directive 2000/84/EC): UTC+2 from 01:00 UTC on the last Sunday of March to
 * 01:00 UTC on the last Sunday of October, UTC+1 otherwise.
 *
 * Grammar of opening_hours (case-insensitive, spaces free between tokens):
 *   hours  = "" | entry *( ";" entry )          "" means always open
 *   entry  = days 1*SP range *( "," range )
 *   days   = span *( "," span );  span = day [ "-" day ]
 *   day    = mon|tue|wed|thu|fri|sat|sun  (or ma|di|wo|do|vr|za|zo)
 *   range  = HH:MM "-" HH:MM                   start before end; "24:00" may end a range
 * A day named in no entry is closed; a day may be named once. closed_days is a list of
 * YYYY-MM-DD dates (comma or space separated) on which the service is closed all day. */
#ifndef BALIE_OPENING_HOURS_H
#define BALIE_OPENING_HOURS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HOURS_RANGES_MAX 4  /* opening ranges per weekday */
#define HOURS_CLOSED_MAX 64 /* closed dates */
#define HOURS_TEXT_MAX 256  /* longest accepted text */

struct opening_hours {
    bool always; /* no opening hours given: open around the clock (closed days still apply) */
    uint16_t start[7][HOURS_RANGES_MAX], end[7][HOURS_RANGES_MAX]; /* minutes; [0] is Monday */
    uint8_t count[7];
    int32_t closed[HOURS_CLOSED_MAX]; /* local dates, as days since 1970-01-01 */
    size_t closed_count;
};

/* Parses opening hours (`len` bytes, no NUL needed) into `out`, which it clears first.
 * Returns 0, or -1 with a short English reason in `why` naming what is wrong. */
int hours_parse(const uint8_t *text, size_t len, struct opening_hours *out, char *why,
                size_t why_len);

/* Adds closed dates to `h`. Returns 0, or -1 with `why`. */
int hours_parse_closed(const uint8_t *text, size_t len, struct opening_hours *h, char *why,
                       size_t why_len);

/* Amsterdam's UTC offset at that instant: 3600 or 7200 seconds. */
int hours_amsterdam_offset_s(int64_t unix_s);

bool hours_is_open(const struct opening_hours *h, int64_t unix_s);

/* The first instant at or after `unix_s` at which the service is open, or -1 when it does not
 * open in the next 28 days. */
int64_t hours_next_open(const struct opening_hours *h, int64_t unix_s);

/* RFC 3339 in Amsterdam time with its offset, "2026-03-30T09:00:00+02:00". Returns 0 or -1. */
int hours_format_local(int64_t unix_s, char *out, size_t out_len);

/* Days since 1970-01-01 of a proleptic Gregorian date, and back. */
int64_t hours_days_from_civil(int64_t y, unsigned m, unsigned d);
void hours_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);

#endif
