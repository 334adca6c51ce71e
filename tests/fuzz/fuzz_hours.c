/* The queue's text parsers: opening hours, closed days, RFC 3339 times and appointment codes.
 * The first byte picks the parser; the rest is its input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "balie/appointments.h"
#include "balie/opening_hours.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_hours(const struct opening_hours *h)
{
    for (int d = 0; d < 7; d++) {
        if (h->count[d] > HOURS_RANGES_MAX)
            abort();
        for (int i = 0; i < h->count[d]; i++)
            if (h->start[d][i] >= h->end[d][i] || h->end[d][i] > 24 * 60)
                abort();
    }
    /* Whatever was parsed answers both questions without looping for ever: a next opening is
     * never in the past. */
    int64_t now = 1795000000;
    int64_t next = hours_next_open(h, now);
    if (next >= 0 && (next < now || !hours_is_open(h, next)))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const uint8_t *text = data + 1;
    size_t len = size - 1;
    char why[128];
    static struct opening_hours h;
    switch (data[0] % 4) {
    case 0:
        if (hours_parse(text, len, &h, why, sizeof(why)) == 0)
            check_hours(&h);
        break;
    case 1:
        memset(&h, 0, sizeof(h));
        h.always = true;
        if (hours_parse_closed(text, len, &h, why, sizeof(why)) == 0) {
            if (h.closed_count > HOURS_CLOSED_MAX)
                abort();
            check_hours(&h);
        }
        break;
    case 2: {
        int64_t ms;
        if (appt_parse_time(text, len, &ms) == 0) {
            char back[40];
            if (hours_format_local(ms / 1000, back, sizeof(back)) != 0 && ms >= 0)
                abort();
        }
        break;
    }
    default: {
        /* A code as a citizen might send it: a C string of at most 64 characters. */
        static struct appt_store *st;
        if (!st && appt_store_open(&st, NULL, 0, why, sizeof(why)) != 0)
            abort();
        char code[65];
        size_t n = len < 64 ? len : 64;
        memcpy(code, text, n);
        code[n] = '\0';
        struct appointment a;
        (void)appt_find_code(st, code, &a);
        break;
    }
    }
    return 0;
}
