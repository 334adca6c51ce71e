/* Tests for gateway/opening_hours.c: the grammar, Amsterdam's offset and "next opening". */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "balie/config.h"
#include "balie/opening_hours.h"

static int parse(const char *text, struct opening_hours *h, char *why)
{
    return hours_parse((const uint8_t *)text, strlen(text), h, why, 128);
}

/* Unix seconds of an Amsterdam wall time, built by hand from the calendar and a known offset. */
static int64_t at(int y, unsigned m, unsigned d, int hh, int mm, int offset_h)
{
    return hours_days_from_civil(y, m, d) * 86400 + hh * 3600 + mm * 60 - offset_h * 3600;
}

Test(hours, calendar_round_trip)
{
    cr_assert_eq(hours_days_from_civil(1970, 1, 1), 0);
    cr_assert_eq(hours_days_from_civil(2000, 3, 1), 11017);
    cr_assert_eq(hours_days_from_civil(2026, 11, 22), 20779);
    for (int64_t day = -1000; day < 40000; day += 37) {
        int64_t y;
        unsigned m, d;
        hours_civil_from_days(day, &y, &m, &d);
        cr_assert_eq(hours_days_from_civil(y, m, d), day);
    }
}

Test(hours, amsterdam_offset_follows_the_eu_rule)
{
    /* 2026: summer time from Sunday 29 March 01:00 UTC to Sunday 25 October 01:00 UTC. */
    int64_t begin = hours_days_from_civil(2026, 3, 29) * 86400 + 3600;
    int64_t end = hours_days_from_civil(2026, 10, 25) * 86400 + 3600;
    cr_assert_eq(hours_amsterdam_offset_s(begin - 1), 3600);
    cr_assert_eq(hours_amsterdam_offset_s(begin), 7200);
    cr_assert_eq(hours_amsterdam_offset_s(end - 1), 7200);
    cr_assert_eq(hours_amsterdam_offset_s(end), 3600);
    /* 2024: 31 March and 27 October. */
    cr_assert_eq(hours_amsterdam_offset_s(hours_days_from_civil(2024, 3, 31) * 86400 + 3600), 7200);
    cr_assert_eq(hours_amsterdam_offset_s(hours_days_from_civil(2024, 10, 27) * 86400 + 3599),
                 7200);
    cr_assert_eq(hours_amsterdam_offset_s(hours_days_from_civil(2024, 10, 27) * 86400 + 3600),
                 3600);
}

Test(hours, parse_a_week)
{
    struct opening_hours h;
    char why[128];
    cr_assert_eq(parse("mon-fri 09:00-12:30, 13:30-17:00; sat 10:00-12:00", &h, why), 0, "%s", why);
    cr_assert_not(h.always);
    cr_assert_eq(h.count[0], 2);
    cr_assert_eq(h.start[0][0], 9 * 60);
    cr_assert_eq(h.end[0][1], 17 * 60);
    cr_assert_eq(h.count[4], 2);
    cr_assert_eq(h.count[5], 1);
    cr_assert_eq(h.count[6], 0, "sunday: closed");
    cr_assert_eq(parse("  MA,wo-VR 08:00-24:00 ; ", &h, why), 0, "%s", why);
    cr_assert_eq(h.count[0], 1);
    cr_assert_eq(h.count[1], 0);
    cr_assert_eq(h.end[2][0], 24 * 60);
    cr_assert_eq(parse("", &h, why), 0);
    cr_assert(h.always);
}

Test(hours, parse_refuses_what_is_unclear)
{
    static const char *const bad[] = {
        "monday 09:00-17:00",
        "mon 9:00-17:00",
        "mon 09:00-25:00",
        "mon 09:60-10:00",
        "mon 17:00-09:00",
        "mon 09:00-09:00",
        "mon 24:00-24:00",
        "fri-mon 09:00-17:00",
        "mon 09:00-12:00, 11:00-13:00",
        "mon 09:00-17:00; mon 18:00-19:00",
        "mon,mon 09:00-10:00",
        "mon",
        "mon 09:00",
        "mon 09:00-17:00 sat",
        "09:00-17:00",
        "mon 09:00-10:00,10:00-11:00,11:00-12:00,12:00-13:00,13:00-14:00",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct opening_hours h;
        char why[128] = "";
        cr_assert_eq(parse(bad[i], &h, why), -1, "'%s' was accepted", bad[i]);
        cr_assert_neq(why[0], '\0', "'%s' has no reason", bad[i]);
    }
    char why[128];
    struct opening_hours h;
    cr_assert_eq(parse("mon 17:00-09:00", &h, why), -1);
    cr_assert_str_eq(why, "a range must end after it starts");
    cr_assert_eq(parse("mon 09:00-12:00; mon 13:00-14:00", &h, why), -1);
    cr_assert_str_eq(why, "named in two entries: mon");
    /* The length is checked before anything is read. */
    char huge[HOURS_TEXT_MAX + 2];
    memset(huge, ' ', sizeof(huge));
    cr_assert_eq(hours_parse((const uint8_t *)huge, sizeof(huge), &h, why, sizeof(why)), -1);
}

Test(hours, closed_days)
{
    struct opening_hours h;
    char why[128];
    cr_assert_eq(parse("mon-sun 09:00-17:00", &h, why), 0);
    const char *days = "2026-12-25, 2026-12-26 2027-01-01";
    cr_assert_eq(hours_parse_closed((const uint8_t *)days, strlen(days), &h, why, sizeof(why)), 0);
    cr_assert_eq(h.closed_count, 3);
    cr_assert_not(hours_is_open(&h, at(2026, 12, 25, 10, 0, 1)));
    cr_assert(hours_is_open(&h, at(2026, 12, 24, 10, 0, 1)));
    /* Christmas Eve 17:00 → the next opening is 27 December 09:00. */
    cr_assert_eq(hours_next_open(&h, at(2026, 12, 24, 17, 0, 1)), at(2026, 12, 27, 9, 0, 1));
    static const char *const bad[] = {"2026-02-30", "2026-13-01", "26-12-25", "2026/12/25",
                                      "2026-12-25x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(
            hours_parse_closed((const uint8_t *)bad[i], strlen(bad[i]), &h, why, sizeof(why)), -1,
            "%s", bad[i]);
}

Test(hours, open_and_next_opening)
{
    struct opening_hours h;
    char why[128];
    cr_assert_eq(parse("mon-fri 09:00-17:00; sat 10:00-12:00", &h, why), 0);
    /* Monday 23 November 2026 (winter time, UTC+1). */
    cr_assert_not(hours_is_open(&h, at(2026, 11, 23, 8, 59, 1)));
    cr_assert(hours_is_open(&h, at(2026, 11, 23, 9, 0, 1)));
    cr_assert(hours_is_open(&h, at(2026, 11, 23, 16, 59, 1)));
    cr_assert_not(hours_is_open(&h, at(2026, 11, 23, 17, 0, 1)), "the end is exclusive");
    int64_t now = at(2026, 11, 23, 8, 0, 1);
    cr_assert_eq(hours_next_open(&h, now), at(2026, 11, 23, 9, 0, 1));
    cr_assert_eq(hours_next_open(&h, at(2026, 11, 23, 10, 0, 1)), at(2026, 11, 23, 10, 0, 1),
                 "open now: now");
    /* Friday evening → Saturday 10:00; Saturday noon → Monday 09:00. */
    cr_assert_eq(hours_next_open(&h, at(2026, 11, 27, 18, 0, 1)), at(2026, 11, 28, 10, 0, 1));
    cr_assert_eq(hours_next_open(&h, at(2026, 11, 28, 12, 0, 1)), at(2026, 11, 30, 9, 0, 1));
    /* Across the change to summer time: Friday 27 March 2026 18:00 (UTC+1) → Monday 30 March
     * 09:00 in summer time (UTC+2). */
    cr_assert_eq(hours_next_open(&h, at(2026, 3, 27, 18, 0, 1)), at(2026, 3, 28, 10, 0, 1));
    cr_assert_eq(hours_next_open(&h, at(2026, 3, 28, 13, 0, 1)), at(2026, 3, 30, 9, 0, 2));
    char text[40];
    cr_assert_eq(hours_format_local(at(2026, 3, 30, 9, 0, 2), text, sizeof(text)), 0);
    cr_assert_str_eq(text, "2026-03-30T09:00:00+02:00");
    cr_assert_eq(hours_format_local(at(2026, 11, 23, 14, 30, 1), text, sizeof(text)), 0);
    cr_assert_str_eq(text, "2026-11-23T14:30:00+01:00");
    /* Never open: no next opening. */
    cr_assert_eq(parse("sun 10:00-11:00", &h, why), 0);
    const char *sundays = "2026-11-29 2026-12-06 2026-12-13 2026-12-20 2026-12-27";
    cr_assert_eq(
        hours_parse_closed((const uint8_t *)sundays, strlen(sundays), &h, why, sizeof(why)), 0);
    cr_assert_eq(hours_next_open(&h, at(2026, 11, 23, 10, 0, 1)), -1);
}

Test(hours, config_reports_bad_hours_per_service)
{
    struct balie_config cfg;
    struct config_errors errors = {0};
    config_defaults(&cfg);
    const char *text = "[service.paspoort]\nopening_hours = \"mon-fri 09:00-17:00\"\n"
                       "closed_days = \"2026-12-25\"\n"
                       "[service.afval]\nopening_hours = \"mon-fry 09:00-17:00\"\n";
    cr_assert_eq(config_parse_text(&cfg, "test.conf", text, strlen(text), &errors), 0);
    cr_assert_eq(config_validate(&cfg, &errors), 1);
    cr_assert(strstr(errors.messages[0], "service.afval: opening_hours"), "%s", errors.messages[0]);
    cr_assert_str_eq(config_service_find(&cfg, "paspoort")->opening_hours, "mon-fri 09:00-17:00");
}

/* The service keys are not in config_keys(); docs/configuration.md must still name them. */
Test(hours, service_keys_are_documented)
{
    FILE *f = fopen(BALIE_TEST_DATA "/../../docs/configuration.md", "r");
    cr_assert_not_null(f);
    static char doc[65536];
    size_t n = fread(doc, 1, sizeof(doc) - 1, f);
    doc[n] = '\0';
    fclose(f);
    static const char *const keys[] = {"name_nl", "name_en", "min_loa", "opening_hours",
                                       "closed_days"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        char name[64], var[64];
        snprintf(name, sizeof(name), "`service.<id>.%s`", keys[i]);
        snprintf(var, sizeof(var), "BALIE_SERVICE_<ID>_");
        for (const char *k = keys[i]; *k; k++) {
            size_t len = strlen(var);
            var[len] = (char)(*k >= 'a' && *k <= 'z' ? *k - 32 : *k);
            var[len + 1] = '\0';
        }
        cr_expect(strstr(doc, name), "docs/configuration.md does not document %s", name);
        cr_expect(strstr(doc, var), "docs/configuration.md does not mention %s", var);
    }
}
