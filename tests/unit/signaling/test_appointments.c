/* Tests for signaling/appointments.c: codes, checks, the SQLite write-through and RFC 3339. */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "balie/appointments.h"

#define HOUR (3600 * 1000LL)
static const int64_t now = 1795000000000LL; /* 2026-11-18 */

static struct appointment slot(const char *service, int64_t start, int64_t len, const char *agent)
{
    struct appointment a = {.start_ms = start, .end_ms = start + len};
    snprintf(a.service, sizeof(a.service), "%s", service);
    snprintf(a.agent, sizeof(a.agent), "%s", agent ? agent : "");
    return a;
}

static int parse(const char *text, int64_t *ms)
{
    return appt_parse_time((const uint8_t *)text, strlen(text), ms);
}

Test(appointments, create_find_delete_in_memory)
{
    struct appt_store *st;
    char why[128];
    cr_assert_eq(appt_store_open(&st, NULL, now, why, sizeof(why)), 0);
    struct appointment a = slot("paspoort", now + HOUR, HOUR / 4, "anna");
    cr_assert_eq(appt_create(st, &a, now), 0);
    cr_assert_eq(strlen(a.code), APPT_CODE_LEN);
    cr_assert_eq(strlen(a.id), APPT_ID_LEN);
    cr_assert_eq(strspn(a.code, "0123456789ABCDEFGHJKMNPQRSTVWXYZ"), APPT_CODE_LEN);
    cr_assert_eq(a.created_ms, now);

    struct appointment found;
    cr_assert_eq(appt_find_code(st, a.code, &found), 0);
    cr_assert_str_eq(found.id, a.id);
    cr_assert_str_eq(found.agent, "anna");
    /* Typed by hand: lower case, a dash, O for 0 and l for 1 still find it. */
    char typed[32];
    snprintf(typed, sizeof(typed), "%.5s-%.20s", a.code, a.code + 5);
    for (char *p = typed; *p; p++) {
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p + 32);
        else if (*p == '0')
            *p = 'O';
        else if (*p == '1')
            *p = 'l';
    }
    cr_assert_eq(appt_find_code(st, typed, &found), 0, "%s", typed);
    cr_assert_eq(appt_find_code(st, "ZZZZZZZZZZ", &found), -ENOENT);
    cr_assert_eq(appt_find_code(st, "SHORT", &found), -ENOENT);
    cr_assert_eq(appt_find_code(st, "ABCDEFGHJKX", &found), -ENOENT, "too long");
    cr_assert_eq(appt_find_code(st, "ABCDEFGHJ!", &found), -ENOENT);

    cr_assert_eq(appt_delete(st, a.id), 0);
    cr_assert_eq(appt_delete(st, a.id), -ENOENT);
    cr_assert_eq(appt_find_code(st, a.code, &found), -ENOENT);
    appt_store_close(st);
}

Test(appointments, create_checks_the_slot)
{
    struct appt_store *st;
    char why[128];
    cr_assert_eq(appt_store_open(&st, NULL, now, why, sizeof(why)), 0);
    struct appointment bad[] = {
        slot("paspoort", now + HOUR, 0, NULL),               /* empty slot */
        slot("paspoort", now + HOUR, -HOUR, NULL),           /* ends before it starts */
        slot("paspoort", now - 2 * HOUR, HOUR, NULL),        /* over */
        slot("paspoort", now + HOUR, 9 * HOUR, NULL),        /* longer than 8 h */
        slot("paspoort", now + 400 * 24 * HOUR, HOUR, NULL), /* past the horizon */
        slot("", now + HOUR, HOUR, NULL),                    /* no service */
        slot("pas poort", now + HOUR, HOUR, NULL),           /* bad characters */
        slot("paspoort", now + HOUR, HOUR, "an/na"),
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(appt_create(st, &bad[i], now), -EINVAL, "case %zu", i);
    appt_store_close(st);
}

Test(appointments, list_by_day_and_service)
{
    struct appt_store *st;
    char why[128];
    cr_assert_eq(appt_store_open(&st, NULL, now, why, sizeof(why)), 0);
    struct appointment a = slot("paspoort", now + 3 * HOUR, HOUR / 4, NULL);
    struct appointment b = slot("afval", now + HOUR, HOUR / 4, NULL);
    struct appointment c = slot("paspoort", now + 30 * HOUR, HOUR / 4, NULL);
    cr_assert_eq(appt_create(st, &a, now), 0);
    cr_assert_eq(appt_create(st, &b, now), 0);
    cr_assert_eq(appt_create(st, &c, now), 0);
    struct appointment out[4];
    cr_assert_eq(appt_list(st, now, now + 24 * HOUR, NULL, out, 4), 2);
    cr_assert_str_eq(out[0].id, b.id, "by start time");
    cr_assert_str_eq(out[1].id, a.id);
    cr_assert_eq(appt_list(st, now, now + 48 * HOUR, "paspoort", out, 4), 2);
    cr_assert_eq(appt_list(st, now, now + 48 * HOUR, "paspoort", out, 1), 2, "total when cut");
    cr_assert_eq(appt_purge(st, now + 2 * HOUR), 1, "b ended");
    cr_assert_eq(appt_list(st, 0, INT64_MAX, NULL, out, 4), 2);
    appt_store_close(st);
}

Test(appointments, survive_a_restart)
{
    char path[] = "/tmp/balie-appt-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    struct appt_store *st;
    char why[128];
    cr_assert_eq(appt_store_open(&st, path, now, why, sizeof(why)), 0, "%s", why);
    struct appointment a = slot("paspoort", now + HOUR, HOUR / 4, "anna");
    struct appointment gone = slot("afval", now + HOUR, HOUR / 4, NULL);
    cr_assert_eq(appt_create(st, &a, now), 0);
    cr_assert_eq(appt_create(st, &gone, now), 0);
    cr_assert_eq(appt_delete(st, gone.id), 0);
    appt_store_close(st);

    cr_assert_eq(appt_store_open(&st, path, now, why, sizeof(why)), 0, "%s", why);
    struct appointment found;
    cr_assert_eq(appt_find_code(st, a.code, &found), 0);
    cr_assert_eq(found.start_ms, a.start_ms);
    cr_assert_eq(found.end_ms, a.end_ms);
    cr_assert_str_eq(found.agent, "anna");
    cr_assert_eq(appt_get(st, gone.id, &found), -ENOENT);
    appt_store_close(st);
    /* Opened later, after the slot ended: not loaded. */
    cr_assert_eq(appt_store_open(&st, path, now + 2 * HOUR, why, sizeof(why)), 0);
    cr_assert_eq(appt_find_code(st, a.code, &found), -ENOENT);
    appt_store_close(st);
    unlink(path);
    char side[64];
    snprintf(side, sizeof(side), "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof(side), "%s-shm", path);
    unlink(side);
}

Test(appointments, when_a_citizen_may_come)
{
    struct appointment a = slot("paspoort", now, HOUR / 4, NULL);
    cr_assert_eq(appt_when(&a, now - APPT_EARLY_MS - 1), APPT_TOO_EARLY);
    cr_assert_eq(appt_when(&a, now - APPT_EARLY_MS), APPT_IN_TIME);
    cr_assert_eq(appt_when(&a, now + HOUR / 4 - 1), APPT_IN_TIME);
    cr_assert_eq(appt_when(&a, now + HOUR / 4), APPT_ENDED);
}

Test(appointments, rfc3339_times)
{
    int64_t ms;
    cr_assert_eq(parse("1970-01-01T00:00:00Z", &ms), 0);
    cr_assert_eq(ms, 0);
    cr_assert_eq(parse("2026-11-23T14:30:00+01:00", &ms), 0);
    int64_t utc;
    cr_assert_eq(parse("2026-11-23T13:30:00Z", &utc), 0);
    cr_assert_eq(ms, utc);
    cr_assert_eq(parse("2026-11-23t13:30:00.250z", &ms), 0);
    cr_assert_eq(ms, utc);
    cr_assert_eq(parse("2026-11-23T08:30:00-05:00", &ms), 0);
    cr_assert_eq(ms, utc);
    static const char *const bad[] = {
        "2026-11-23",
        "2026-11-23T13:30:00",
        "2026-02-30T10:00:00Z",
        "2026-11-23 13:30:00Z",
        "2026-11-23T24:00:00Z",
        "2026-11-23T13:30:00+0100",
        "2026-11-23T13:30:00.Z",
        "2026-11-23T13:30:00Zjunk",
        "2026-11-23T13:30:00+01:00x",
        "x026-11-23T13:30:00Z",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(parse(bad[i], &ms), -1, "%s", bad[i]);
}
