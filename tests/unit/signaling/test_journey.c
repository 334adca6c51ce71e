#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "balie/journey.h"
#include "balie/strbuf.h"

#include "journey_fixture.h"

TestSuite(journey, .init = setup, .fini = teardown);

Test(journey, ids_are_random_hex)
{
    struct journey_signal a, b;
    cr_assert_eq(journey_init(&a), 0);
    cr_assert_eq(journey_init(&b), 0);
    cr_assert_eq(strlen(a.id), JOURNEY_ID_LEN);
    cr_assert_eq(strspn(a.id, "0123456789abcdef"), JOURNEY_ID_LEN);
    cr_assert_str_neq(a.id, b.id);
    cr_assert_str_eq(a.channel, "video");
    cr_assert_eq(a.outcome, JOURNEY_OPEN);
}

Test(journey, outcome_names_round_trip)
{
    for (int i = 0; i < JOURNEY_OUTCOME_COUNT; i++) {
        enum journey_outcome o;
        cr_assert_eq(journey_outcome_parse(journey_outcome_name(i), &o), 0);
        cr_assert_eq((int)o, i);
    }
    enum journey_outcome o;
    cr_assert_eq(journey_outcome_parse("bogus", &o), -1);
    cr_assert_str_eq(journey_outcome_name(JOURNEY_ABANDONED), "abandoned");
}

Test(journey, finish_derives_wait_and_talk)
{
    struct journey_signal s;
    cr_assert_eq(journey_init(&s), 0);
    s.joined_ms = 1000000;
    s.answered_ms = 1045500;
    journey_finish_at(&s, JOURNEY_COMPLETED, "hangup", NULL, 1345999);
    cr_assert_eq(s.wait_s, 45);
    cr_assert_eq(s.talk_s, 300);
    cr_assert_str_eq(s.end_reason, "hangup");
    cr_assert_str_eq(s.failure_stage, "");

    struct journey_signal q;
    cr_assert_eq(journey_init(&q), 0);
    q.joined_ms = 1000000;
    journey_finish_at(&q, JOURNEY_ABANDONED, "left", NULL, 1012000);
    cr_assert_eq(q.wait_s, 12);
    cr_assert_eq(q.talk_s, 0);
}

Test(journey, file_is_private_and_schema_current)
{
    struct journey_store *st = open_store();
    struct stat sb;
    cr_assert_eq(stat(path, &sb), 0);
    cr_assert_eq(sb.st_mode & 0777, 0600);
    journey_store_close(st);

    sqlite3 *db;
    cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *q;
    cr_assert_eq(sqlite3_prepare_v2(db, "SELECT max(version) FROM schema_version", -1, &q, NULL),
                 SQLITE_OK);
    cr_assert_eq(sqlite3_step(q), SQLITE_ROW);
    cr_assert_eq(sqlite3_column_int(q, 0), JOURNEY_SCHEMA_VERSION);
    sqlite3_finalize(q);
    cr_assert_eq(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_step(q), SQLITE_ROW);
    cr_assert_str_eq((const char *)sqlite3_column_text(q, 0), "wal");
    sqlite3_finalize(q);
    sqlite3_close(db);
}

Test(journey, open_then_close_exactly_once)
{
    struct journey_store *st = open_store();
    struct journey_signal s, got;
    citizen(&s, "aa11");
    cr_assert_eq(journey_open(st, &s), 0);
    cr_assert_eq(journey_open(st, &s), -EEXIST);
    cr_assert_eq(journey_get(st, s.id, &got), 0);
    cr_assert_eq(got.outcome, JOURNEY_OPEN);

    cr_assert_eq(journey_answered(st, s.id, s.joined_ms + 5000, "agent-7"), 0);
    s.answered_ms = s.joined_ms + 5000;
    snprintf(s.agent_id, sizeof(s.agent_id), "agent-7");
    s.media.packets_in = 1200;
    s.media.lost = 3;
    s.media.rtt_ms = 42.5;
    journey_finish_at(&s, JOURNEY_COMPLETED, "hangup", NULL, s.joined_ms + 65000);
    cr_assert_eq(journey_close(st, &s), 0);
    /* A second close — a late event, a retry — changes nothing. */
    struct journey_signal again = s;
    journey_finish_at(&again, JOURNEY_DROPPED, "peer_disconnected", NULL, s.joined_ms + 99000);
    cr_assert_eq(journey_close(st, &again), -EALREADY);
    cr_assert_eq(journey_answered(st, s.id, 1, "x"), -ENOENT);

    cr_assert_eq(journey_get(st, s.id, &got), 0);
    cr_assert_eq(got.outcome, JOURNEY_COMPLETED);
    cr_assert_str_eq(got.end_reason, "hangup");
    cr_assert_str_eq(got.agent_id, "agent-7");
    cr_assert_eq(got.wait_s, 5);
    cr_assert_eq(got.talk_s, 60);
    cr_assert_eq(got.media.packets_in, 1200);
    cr_assert_eq(got.media.lost, 3);
    cr_assert_float_eq(got.media.rtt_ms, 42.5, 1e-9);
    int total = -1, open = -1;
    cr_assert_eq(journey_count(st, &total, &open), 0);
    cr_assert_eq(total, 1);
    cr_assert_eq(open, 0);

    struct journey_signal unknown;
    citizen(&unknown, "bb22");
    journey_finish(&unknown, JOURNEY_ABANDONED, "left", NULL);
    cr_assert_eq(journey_close(st, &unknown), -ENOENT);
    s.outcome = JOURNEY_OPEN;
    cr_assert_eq(journey_close(st, &s), -EINVAL);
    journey_store_close(st);
}

Test(journey, recover_closes_open_rows_as_dropped)
{
    struct journey_store *st = open_store();
    struct journey_signal open1, open2, done;
    citizen(&open1, "aa11");
    citizen(&open2, "bb22");
    citizen(&done, "cc33");
    cr_assert_eq(journey_open(st, &open1), 0);
    cr_assert_eq(journey_open(st, &open2), 0);
    cr_assert_eq(journey_answered(st, open2.id, open2.joined_ms + 2000, "agent-1"), 0);
    cr_assert_eq(journey_open(st, &done), 0);
    journey_finish(&done, JOURNEY_ABANDONED, "left", NULL);
    cr_assert_eq(journey_close(st, &done), 0);
    /* The gateway dies here: nothing else runs. A new process opens the same file. */
    journey_store_close(st);
    st = open_store();
    int64_t now = open1.joined_ms + 30000;
    cr_assert_eq(journey_recover(st, now), 2);
    cr_assert_eq(journey_recover(st, now + 1), 0, "recovery runs once per row");
    struct journey_signal got;
    cr_assert_eq(journey_get(st, open1.id, &got), 0);
    cr_assert_eq(got.outcome, JOURNEY_DROPPED);
    cr_assert_str_eq(got.end_reason, "gateway_restart");
    cr_assert_eq(got.ended_ms, now);
    cr_assert_eq(got.wait_s, 30);
    cr_assert_eq(journey_get(st, open2.id, &got), 0);
    cr_assert_eq(got.outcome, JOURNEY_DROPPED);
    cr_assert_str_eq(got.agent_id, "agent-1");
    cr_assert_eq(got.wait_s, 2);
    cr_assert_eq(journey_get(st, done.id, &got), 0);
    cr_assert_eq(got.outcome, JOURNEY_ABANDONED);
    int total, open;
    cr_assert_eq(journey_count(st, &total, &open), 0);
    cr_assert_eq(total, 3);
    cr_assert_eq(open, 0);
    journey_store_close(st);
}

/* Column names that would betray personal data; the schema must never grow one. */
Test(journey, no_personal_data_columns)
{
    journey_store_close(open_store());
    sqlite3 *db;
    cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
    static const char *const tables[] = {"signals", "journey_outbox"};
    static const char *const banned[] = {"bsn",   "subject", "name",   "chat", "message",
                                         "email", "phone",   "street", "birth"};
    int columns = 0;
    for (size_t t = 0; t < 2; t++) {
        char sql[64];
        snprintf(sql, sizeof(sql), "PRAGMA table_info(%s)", tables[t]);
        sqlite3_stmt *q;
        cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
        while (sqlite3_step(q) == SQLITE_ROW) {
            const char *col = (const char *)sqlite3_column_text(q, 1);
            columns++;
            for (size_t b = 0; b < sizeof(banned) / sizeof(banned[0]); b++)
                cr_assert_null(strstr(col, banned[b]), "column %s.%s", tables[t], col);
        }
        sqlite3_finalize(q);
    }
    cr_assert_eq(columns, 28 + 4);
    sqlite3_close(db);
}

Test(journey, migrates_a_version_1_database)
{
    /* A database as the first release left it: schema 1, one closed signal, no outbox. */
    journey_store_close(open_store());
    sqlite3 *db;
    cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
    cr_assert_eq(
        sqlite3_exec(db,
                     "DROP TABLE journey_outbox; ALTER TABLE signals DROP COLUMN "
                     "context_topic; ALTER TABLE signals DROP COLUMN context_issuer;"
                     "ALTER TABLE signals DROP COLUMN transfer_to; ALTER TABLE "
                     "signals DROP COLUMN previous_id; DELETE FROM schema_version "
                     "WHERE version >= 2; INSERT INTO signals (id, channel, service, pseudonym,"
                     " loa, provider, joined_ms, outcome) VALUES ('old', 'video', "
                     "'algemeen', 'p1', 'midden', 'dev', 5, 'completed');",
                     NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    struct journey_store *st = open_store();
    struct journey_signal got;
    cr_assert_eq(journey_get(st, "old", &got), 0);
    cr_assert_eq(got.outcome, JOURNEY_COMPLETED);
    struct journey_signal s;
    citizen(&s, "p1");
    cr_assert_eq(journey_open(st, &s), 0);
    journey_finish(&s, JOURNEY_ABANDONED, "left", NULL);
    cr_assert_eq(journey_close(st, &s), 0, "the outbox exists again");
    journey_store_close(st);

    cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(db, "INSERT INTO schema_version VALUES (99)", NULL, NULL, NULL),
                 SQLITE_OK);
    sqlite3_close(db);
    char why[256] = "";
    cr_assert_eq(journey_store_open(&st, path, why, sizeof(why)), -EPROTO);
    cr_assert_null(st);
    cr_assert_not_null(strstr(why, "newer"));
}

Test(journey, retention_purges_old_signals)
{
    struct journey_store *st = open_store();
    struct journey_signal old, fresh;
    citizen(&old, "aa11");
    old.joined_ms -= 400LL * 86400 * 1000;
    citizen(&fresh, "aa11");
    cr_assert_eq(journey_open(st, &old), 0);
    cr_assert_eq(journey_open(st, &fresh), 0);
    journey_finish(&old, JOURNEY_COMPLETED, "hangup", NULL);
    cr_assert_eq(journey_close(st, &old), 0);
    int64_t cutoff = journey_now_ms() - 365LL * 86400 * 1000;
    cr_assert_eq(journey_purge(st, cutoff), 1);
    cr_assert_eq(journey_purge(st, cutoff), 0);
    struct journey_signal got;
    cr_assert_eq(journey_get(st, old.id, &got), -ENOENT);
    cr_assert_eq(journey_get(st, fresh.id, &got), 0);
    journey_store_close(st);
}

Test(journey, export_and_erase_one_citizen)
{
    struct journey_store *st = open_store();
    struct journey_signal a1, a2, b1;
    citizen(&a1, "aaaa");
    citizen(&a2, "aaaa");
    a2.joined_ms = a1.joined_ms + 1;
    snprintf(a2.appointment, sizeof(a2.appointment), "afspraak-12");
    citizen(&b1, "bbbb");
    cr_assert_eq(journey_open(st, &a1), 0);
    cr_assert_eq(journey_open(st, &a2), 0);
    cr_assert_eq(journey_open(st, &b1), 0);
    journey_finish(&a1, JOURNEY_FAILED, "ice_failed", "ice");
    cr_assert_eq(journey_close(st, &a1), 0);

    char *json = NULL;
    cr_assert_eq(journey_export(st, "aaaa", &json), 2);
    json_t *arr = json_loads(json, 0, NULL);
    free(json);
    cr_assert(json_is_array(arr));
    cr_assert_eq(json_array_size(arr), 2);
    json_t *first = json_array_get(arr, 0);
    cr_assert_str_eq(json_string_value(json_object_get(first, "id")), a1.id);
    cr_assert_str_eq(json_string_value(json_object_get(first, "outcome")), "failed");
    cr_assert_str_eq(json_string_value(json_object_get(first, "failure_stage")), "ice");
    cr_assert_str_eq(json_string_value(json_object_get(first, "channel")), "video");
    json_t *second = json_array_get(arr, 1);
    cr_assert_str_eq(json_string_value(json_object_get(second, "outcome")), "open");
    cr_assert_str_eq(json_string_value(json_object_get(second, "appointment")), "afspraak-12");
    json_decref(arr);

    cr_assert_eq(journey_export(st, "nobody", &json), 0);
    cr_assert_str_eq(json, "[]");
    free(json);

    cr_assert_eq(journey_erase(st, "aaaa"), 2);
    cr_assert_eq(journey_erase(st, "aaaa"), 0);
    cr_assert_eq(journey_export(st, "aaaa", &json), 0);
    free(json);
    struct journey_signal got;
    cr_assert_eq(journey_get(st, b1.id, &got), 0);
    journey_store_close(st);
}

/* Each open and each close is one durable (fsync'd) transaction; this measures what that costs
 * on this disk, so the control thread's budget is known (docs/journey.md). */
Test(journey, write_time_is_measured)
{
    struct journey_store *st = open_store();
    enum { N = 100 };
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < N; i++) {
        struct journey_signal s;
        citizen(&s, "perf");
        /* Each write committed on its own, as in a turn of the loop that made only it. */
        cr_assert_eq(journey_open(st, &s), 0);
        cr_assert_eq(journey_flush(st), 0);
        journey_finish(&s, JOURNEY_COMPLETED, "hangup", NULL);
        cr_assert_eq(journey_close(st, &s), 0);
        cr_assert_eq(journey_flush(st), 0);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double us = ((double)(t1.tv_sec - t0.tv_sec) * 1e6 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e3) /
                (2.0 * N);
    fprintf(stderr, "journey: %.0f us per committed write (open or close), %d sessions\n", us, N);
    cr_assert_lt(us, 200000.0, "a write must not stall the control thread for long");
    journey_store_close(st);
}

static void ended(struct journey_metrics *jm, const char *service, enum journey_outcome out,
                  int64_t wait_ms, int64_t talk_ms)
{
    struct journey_signal s;
    cr_assert_eq(journey_init(&s), 0);
    snprintf(s.service, sizeof(s.service), "%s", service);
    s.joined_ms = 1000000;
    if (talk_ms >= 0)
        s.answered_ms = s.joined_ms + wait_ms;
    journey_finish_at(&s, out, "x", NULL, s.joined_ms + wait_ms + (talk_ms > 0 ? talk_ms : 0));
    journey_metrics_observe(jm, &s);
}

Test(journey, metrics_histograms_and_service_level)
{
    struct journey_metrics *jm = journey_metrics_new(60);
    cr_assert_not_null(jm);
    ended(jm, "paspoort", JOURNEY_COMPLETED, 10000, 200000); /* answered in time */
    ended(jm, "paspoort", JOURNEY_COMPLETED, 90000, 30000);  /* answered late */
    ended(jm, "algemeen", JOURNEY_ABANDONED, 20000, -1);     /* never answered */
    ended(jm, "algemeen", JOURNEY_FAILED, 5000, 0);          /* answered, failed to connect */
    struct strbuf sb;
    strbuf_init(&sb);
    journey_metrics_collect(&sb, jm);
    cr_assert(!sb.failed);
    const char *t = sb.data;
    cr_assert_not_null(
        strstr(t, "balie_journey_signals_total{outcome=\"completed\",service=\"paspoort\"} 2\n"));
    cr_assert_not_null(
        strstr(t, "balie_journey_signals_total{outcome=\"abandoned\",service=\"algemeen\"} 1\n"));
    cr_assert_not_null(
        strstr(t, "balie_journey_signals_total{outcome=\"failed\",service=\"algemeen\"} 1\n"));
    /* Buckets are cumulative: waits of 5, 10, 20 and 90 s. */
    cr_assert_not_null(strstr(t, "balie_journey_wait_seconds_bucket{le=\"5\"} 1\n"), "%s", t);
    cr_assert_not_null(strstr(t, "balie_journey_wait_seconds_bucket{le=\"15\"} 2\n"));
    cr_assert_not_null(strstr(t, "balie_journey_wait_seconds_bucket{le=\"30\"} 3\n"));
    cr_assert_not_null(strstr(t, "balie_journey_wait_seconds_bucket{le=\"120\"} 4\n"));
    cr_assert_not_null(strstr(t, "balie_journey_wait_seconds_bucket{le=\"+Inf\"} 4\n"));
    cr_assert_not_null(strstr(t, "balie_journey_wait_seconds_sum 125\n"));
    cr_assert_not_null(strstr(t, "balie_journey_talk_seconds_count 3\n"), "%s", t);
    cr_assert_not_null(strstr(t, "balie_journey_talk_seconds_sum 230\n"));
    /* 2 of 4 taken within 60 s (the 5 s failed one and the 10 s completed one). */
    cr_assert_not_null(strstr(t, "balie_journey_service_level 0.5\n"), "%s", t);
    strbuf_free(&sb);
    journey_metrics_free(jm);
}
