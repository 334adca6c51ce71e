/* The journey store's group commit: writes of one turn are one transaction, committed by
 * journey_flush; a failing close undoes only itself; what was flushed survives SIGKILL; the
 * syncer makes it durable soon after. */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "balie/journey.h"

#include "journey_fixture.h"

TestSuite(journey_commit, .init = setup, .fini = teardown);

/* What another process would read from the file now: committed rows only. */
static int count_committed(const char *sql)
{
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *q = NULL;
    cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK, "%s", sqlite3_errmsg(db));
    cr_assert_eq(sqlite3_step(q), SQLITE_ROW);
    int n = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    sqlite3_close(db);
    return n;
}

Test(journey_commit, the_writes_of_a_turn_commit_together)
{
    struct journey_store *st = open_store();
    struct journey_signal a, b, c;
    citizen(&a, "aa11");
    citizen(&b, "bb22");
    citizen(&c, "cc33");
    cr_assert_eq(journey_open(st, &a), 0);
    cr_assert_eq(journey_open(st, &b), 0);
    cr_assert_eq(journey_open(st, &c), 0);
    cr_assert_eq(journey_answered(st, b.id, b.joined_ms + 1000, "agent-1"), 0);
    journey_finish(&c, JOURNEY_ABANDONED, "left", NULL);
    cr_assert_eq(journey_close(st, &c), 0);
    /* This connection sees its own pending writes; nobody else does yet. */
    int total = 0, open = 0;
    cr_assert_eq(journey_count(st, &total, &open), 0);
    cr_assert_eq(total, 3);
    cr_assert_eq(open, 2);
    cr_assert_eq(count_committed("SELECT count(*) FROM signals"), 0);
    cr_assert_not(journey_synced(st));

    cr_assert_eq(journey_flush(st), 0);
    cr_assert_eq(count_committed("SELECT count(*) FROM signals"), 3);
    cr_assert_eq(count_committed("SELECT count(*) FROM signals WHERE outcome = 'open'"), 2);
    cr_assert_eq(count_committed("SELECT count(*) FROM journey_outbox"), 1);
    cr_assert_eq(journey_flush(st), 0, "nothing pending: a no-op");
    journey_store_close(st);
}

Test(journey_commit, a_refused_close_leaves_the_other_writes_of_its_turn)
{
    struct journey_store *st = open_store();
    struct journey_signal a, b, unknown;
    citizen(&a, "aa11");
    citizen(&b, "bb22");
    citizen(&unknown, "dd44");
    cr_assert_eq(journey_open(st, &a), 0);
    cr_assert_eq(journey_open(st, &b), 0);
    journey_finish(&a, JOURNEY_COMPLETED, "hangup", NULL);
    cr_assert_eq(journey_close(st, &a), 0);
    cr_assert_eq(journey_close(st, &a), -EALREADY);
    journey_finish(&unknown, JOURNEY_ABANDONED, "left", NULL);
    cr_assert_eq(journey_close(st, &unknown), -ENOENT);
    cr_assert_eq(journey_open(st, &a), -EEXIST);
    cr_assert_eq(journey_flush(st), 0);
    cr_assert_eq(count_committed("SELECT count(*) FROM signals"), 2);
    cr_assert_eq(count_committed("SELECT count(*) FROM signals WHERE outcome = 'completed'"), 1);
    cr_assert_eq(count_committed("SELECT count(*) FROM journey_outbox"), 1);
    journey_store_close(st);
}

/* A gateway killed between turns: every flushed write is there, the unflushed turn is not (it
 * told nobody anything), and recovery closes each open row exactly once. */
Test(journey_commit, flushed_turns_survive_sigkill, .timeout = 30)
{
    enum { TURNS = 5, PER_TURN = 10 };
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        struct journey_store *st = NULL;
        char why[256];
        if (journey_store_open(&st, path, why, sizeof(why)) != 0)
            _exit(3);
        for (int t = 0; t <= TURNS; t++) {
            for (int i = 0; i < PER_TURN; i++) {
                struct journey_signal s = {0};
                if (journey_init(&s) != 0)
                    _exit(4);
                snprintf(s.pseudonym, sizeof(s.pseudonym), "p%d", t);
                if (journey_open(st, &s) != 0)
                    _exit(5);
            }
            if (t < TURNS && journey_flush(st) != 0) /* the last turn never ends */
                _exit(6);
        }
        raise(SIGKILL);
        _exit(7);
    }
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "child status %d", status);

    struct journey_store *st = open_store();
    int total = 0, open = 0;
    cr_assert_eq(journey_count(st, &total, &open), 0);
    cr_assert_eq(total, TURNS * PER_TURN);
    cr_assert_eq(open, TURNS * PER_TURN);
    cr_assert_eq(journey_recover(st, journey_now_ms()), TURNS * PER_TURN);
    cr_assert_eq(journey_recover(st, journey_now_ms()), 0, "once per row");
    journey_store_close(st);
    cr_assert_eq(count_committed("SELECT count(*) FROM signals WHERE outcome = 'dropped'"
                                 " AND end_reason = 'gateway_restart'"),
                 TURNS * PER_TURN);
}

Test(journey_commit, a_commit_is_synced_soon_after, .timeout = 10)
{
    struct journey_store *st = open_store();
    struct journey_signal s;
    citizen(&s, "aa11");
    cr_assert_eq(journey_open(st, &s), 0);
    cr_assert_not(journey_synced(st), "pending");
    cr_assert_eq(journey_flush(st), 0);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    double ms = 0;
    while (!journey_synced(st) && ms < 5000) {
        usleep(2000);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    }
    cr_assert(journey_synced(st), "not synced after %.0f ms", ms);
    /* The checkpoint copied the WAL into the database: the signal is in the main file. */
    journey_store_close(st);
    cr_assert_eq(access(path, R_OK), 0);
    cr_assert_eq(count_committed("SELECT count(*) FROM signals"), 1);
}
