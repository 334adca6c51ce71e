/* The embedded journey store: SQLite in WAL mode. Writes are grouped: the first write after a
 * journey_flush opens a transaction, later writes join it, and the control thread's loop calls
 * journey_flush once per turn, before anything that turn queued is sent to anyone. A commit is
 * a write() into the WAL (synchronous=NORMAL): it survives the process being killed. The syncer
 * thread (journey_sync.c) fsyncs it within JOURNEY_SYNC_INTERVAL_MS, so a power cut loses at
 * most the commits of that last interval, and never corrupts the file. Statements are prepared
 * once at open. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "balie/journey.h"
#include "balie/log.h"
#include "journey_sync.h"

/* Migration i brings the schema from version i to i + 1. Never edit one that shipped: add. */
static const char *const migrations[JOURNEY_SCHEMA_VERSION] = {
    /* 1: the signals. No column may hold a BSN, a name or chat text. */
    "CREATE TABLE signals ("
    " id TEXT PRIMARY KEY, channel TEXT NOT NULL, service TEXT NOT NULL,"
    " pseudonym TEXT NOT NULL, loa TEXT NOT NULL, provider TEXT NOT NULL,"
    " appointment TEXT NOT NULL DEFAULT '', context_ref TEXT NOT NULL DEFAULT '',"
    " agent_id TEXT NOT NULL DEFAULT '',"
    " joined_ms INTEGER NOT NULL, answered_ms INTEGER NOT NULL DEFAULT 0,"
    " ended_ms INTEGER NOT NULL DEFAULT 0, wait_s INTEGER NOT NULL DEFAULT 0,"
    " talk_s INTEGER NOT NULL DEFAULT 0, outcome TEXT NOT NULL DEFAULT 'open',"
    " end_reason TEXT NOT NULL DEFAULT '', failure_stage TEXT NOT NULL DEFAULT '',"
    " packets_in INTEGER NOT NULL DEFAULT 0, packets_out INTEGER NOT NULL DEFAULT 0,"
    " bytes_in INTEGER NOT NULL DEFAULT 0, bytes_out INTEGER NOT NULL DEFAULT 0,"
    " lost INTEGER NOT NULL DEFAULT 0, jitter_ms REAL NOT NULL DEFAULT 0,"
    " rtt_ms REAL NOT NULL DEFAULT 0);"
    "CREATE INDEX signals_pseudonym ON signals(pseudonym);"
    "CREATE INDEX signals_joined ON signals(joined_ms);"
    "CREATE INDEX signals_open ON signals(outcome) WHERE outcome = 'open';",
    /* 2: the outbox. A closed signal waits here until the webhook acknowledged it. */
    "CREATE TABLE journey_outbox ("
    " signal_id TEXT PRIMARY KEY REFERENCES signals(id) ON DELETE CASCADE,"
    " attempts INTEGER NOT NULL DEFAULT 0, next_attempt_ms INTEGER NOT NULL DEFAULT 0,"
    " delivered_ms INTEGER NOT NULL DEFAULT 0);",
    /* 3: the verified handover context, transfers, and an index for the deliverer. */
    "ALTER TABLE signals ADD COLUMN context_topic TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE signals ADD COLUMN context_issuer TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE signals ADD COLUMN transfer_to TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE signals ADD COLUMN previous_id TEXT NOT NULL DEFAULT '';"
    "CREATE INDEX journey_outbox_due ON journey_outbox(next_attempt_ms) WHERE delivered_ms = 0;",
};

enum stmt {
    ST_INSERT,
    ST_ANSWERED,
    ST_CLOSE,
    ST_OUTBOX,
    ST_STATE,
    ST_SELECT_ONE,
    ST_SELECT_SUBJECT,
    ST_ERASE,
    ST_PURGE,
    ST_COUNT_ALL,
    ST_RECOVER,
    ST_HISTORY,
    ST_OUTBOX_DUE,
    ST_OUTBOX_DELIVERED,
    ST_OUTBOX_RETRY,
    ST_OUTBOX_PENDING,
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_SAVEPOINT,
    ST_RELEASE,
    ST_ROLLBACK_TO,
    ST_COUNT
};

#define COLUMNS                                                                                    \
    "id, channel, service, pseudonym, loa, provider, appointment, context_ref, agent_id,"          \
    " joined_ms, answered_ms, ended_ms, wait_s, talk_s, outcome, end_reason, failure_stage,"       \
    " packets_in, packets_out, bytes_in, bytes_out, lost, jitter_ms, rtt_ms,"                      \
    " context_topic, context_issuer, transfer_to, previous_id"

static const char *const stmt_sql[ST_COUNT] = {
    [ST_INSERT] = "INSERT INTO signals (" COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"
                  " ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24,"
                  " ?25, ?26, ?27, ?28)",
    [ST_ANSWERED] = "UPDATE signals SET answered_ms = ?2, agent_id = ?3"
                    " WHERE id = ?1 AND outcome = 'open'",
    [ST_CLOSE] = "UPDATE signals SET agent_id = ?9, answered_ms = ?11, ended_ms = ?12,"
                 " wait_s = ?13, talk_s = ?14, outcome = ?15, end_reason = ?16,"
                 " failure_stage = ?17, packets_in = ?18, packets_out = ?19, bytes_in = ?20,"
                 " bytes_out = ?21, lost = ?22, jitter_ms = ?23, rtt_ms = ?24, transfer_to = ?27"
                 " WHERE id = ?1 AND outcome = 'open'",
    [ST_OUTBOX] = "INSERT OR IGNORE INTO journey_outbox (signal_id) VALUES (?1)",
    [ST_STATE] = "SELECT outcome FROM signals WHERE id = ?1",
    [ST_SELECT_ONE] = "SELECT " COLUMNS " FROM signals WHERE id = ?1",
    [ST_SELECT_SUBJECT] = "SELECT " COLUMNS " FROM signals WHERE pseudonym = ?1"
                          " ORDER BY joined_ms, id",
    [ST_ERASE] = "DELETE FROM signals WHERE pseudonym = ?1",
    [ST_PURGE] = "DELETE FROM signals WHERE joined_ms < ?1",
    [ST_COUNT_ALL] = "SELECT count(*), coalesce(sum(outcome = 'open'), 0) FROM signals",
    [ST_RECOVER] = "SELECT " COLUMNS " FROM signals WHERE outcome = 'open'",
    [ST_HISTORY] = "SELECT " COLUMNS " FROM signals WHERE pseudonym = ?1 AND outcome <> 'open'"
                   " ORDER BY joined_ms DESC, id LIMIT ?2",
    [ST_OUTBOX_DUE] = "SELECT signal_id, attempts FROM journey_outbox"
                      " WHERE delivered_ms = 0 AND next_attempt_ms <= ?1"
                      " ORDER BY next_attempt_ms, rowid LIMIT ?2",
    [ST_OUTBOX_DELIVERED] = "UPDATE journey_outbox SET delivered_ms = ?2"
                            " WHERE signal_id = ?1 AND delivered_ms = 0",
    [ST_OUTBOX_RETRY] = "UPDATE journey_outbox SET attempts = ?2, next_attempt_ms = ?3"
                        " WHERE signal_id = ?1 AND delivered_ms = 0",
    [ST_OUTBOX_PENDING] = "SELECT count(*), coalesce(min(s.ended_ms), 0) FROM journey_outbox o"
                          " JOIN signals s ON s.id = o.signal_id WHERE o.delivered_ms = 0",
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_SAVEPOINT] = "SAVEPOINT one_close",
    [ST_RELEASE] = "RELEASE one_close",
    [ST_ROLLBACK_TO] = "ROLLBACK TO one_close",
};

struct journey_store {
    sqlite3 *db;
    sqlite3_stmt *stmt[ST_COUNT];
    struct journey_sync *sync; /* NULL: SQLite's own checkpoints, on this thread */
};

/* Runs a statement that returns no rows, and resets it. SQLITE_DONE → 0. */
static int step_done(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? 0 : -EIO;
}

/* Joins the turn's transaction, opening it when none is. */
static int batch(struct journey_store *st)
{
    return sqlite3_get_autocommit(st->db) ? step_done(st->stmt[ST_BEGIN]) : 0;
}

int journey_flush(struct journey_store *st)
{
    if (!st || sqlite3_get_autocommit(st->db))
        return 0;
    if (step_done(st->stmt[ST_COMMIT]) != 0) {
        log_error("journey", "the commit failed: %s", sqlite3_errmsg(st->db));
        step_done(st->stmt[ST_ROLLBACK]);
        return -EIO;
    }
    if (st->sync)
        journey_sync_committed(st->sync);
    return 0;
}

bool journey_synced(struct journey_store *st)
{
    if (!st->sync)
        return sqlite3_get_autocommit(st->db) != 0;
    uint64_t committed, synced;
    journey_sync_counts(st->sync, &committed, &synced);
    return sqlite3_get_autocommit(st->db) && synced == committed;
}

static int schema_version(sqlite3 *db, int *version)
{
    sqlite3_stmt *q = NULL;
    *version = 0;
    if (sqlite3_prepare_v2(db, "SELECT max(version) FROM schema_version", -1, &q, NULL) !=
        SQLITE_OK)
        return -EIO;
    if (sqlite3_step(q) == SQLITE_ROW)
        *version = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    return 0;
}

/* Applies every migration past the database's version, each in its own transaction together
 * with its schema_version row, so a crash mid-way leaves a consistent older version. */
static int migrate(sqlite3 *db, char *why, size_t why_len)
{
    char *msg = NULL;
    if (sqlite3_exec(db, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
                     NULL, NULL, &msg) != SQLITE_OK)
        goto err;
    int version = 0;
    if (schema_version(db, &version) != 0)
        goto err;
    if (version > JOURNEY_SCHEMA_VERSION) {
        snprintf(why, why_len, "the database has schema %d, newer than this gateway's %d", version,
                 JOURNEY_SCHEMA_VERSION);
        return -EPROTO;
    }
    for (int v = version; v < JOURNEY_SCHEMA_VERSION; v++) {
        char bump[64];
        snprintf(bump, sizeof(bump), "INSERT INTO schema_version VALUES (%d);", v + 1);
        if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK ||
            sqlite3_exec(db, migrations[v], NULL, NULL, &msg) != SQLITE_OK ||
            sqlite3_exec(db, bump, NULL, NULL, &msg) != SQLITE_OK ||
            sqlite3_exec(db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK) {
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            goto err;
        }
    }
    return 0;
err:
    snprintf(why, why_len, "schema migration failed: %s", msg ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
    return -EIO;
}

/* Creates the file with mode 0600 before SQLite sees it: signals are personal data (a
 * pseudonym is still personal data under the AVG). SQLite gives -wal and -shm the same mode. */
static int create_private(const char *path, char *why, size_t why_len)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 || fchmod(fd, 0600) != 0) {
        int err = errno;
        snprintf(why, why_len, "cannot create %s: %s", path, strerror(err));
        if (fd >= 0)
            close(fd);
        return -err;
    }
    close(fd);
    return 0;
}

int journey_store_open(struct journey_store **out, const char *path, char *why, size_t why_len)
{
    *out = NULL;
    int err = create_private(path, why, why_len);
    if (err)
        return err;
    struct journey_store *st = calloc(1, sizeof(*st));
    if (!st)
        return -ENOMEM;
    char *msg = NULL;
    if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
            SQLITE_OK ||
        sqlite3_exec(st->db,
                     "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
                     " PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 2000;",
                     NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(why, why_len, "cannot open %s: %s", path,
                 msg ? msg : (st->db ? sqlite3_errmsg(st->db) : "out of memory"));
        sqlite3_free(msg);
        journey_store_close(st);
        return -EIO;
    }
    err = migrate(st->db, why, why_len);
    for (int i = 0; !err && i < ST_COUNT; i++) {
        if (sqlite3_prepare_v3(st->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &st->stmt[i],
                               NULL) != SQLITE_OK) {
            snprintf(why, why_len, "cannot prepare statement %d: %s", i, sqlite3_errmsg(st->db));
            err = -EIO;
        }
    }
    /* The syncer checkpoints; this connection's own automatic checkpoint would fsync here. */
    if (!err && journey_sync_start(&st->sync, path) == 0)
        sqlite3_wal_autocheckpoint(st->db, 0);
    else if (!err)
        log_warn("journey", "no syncer thread: commits are synced at checkpoints only");
    if (err) {
        journey_store_close(st);
        return err;
    }
    *out = st;
    return 0;
}

void journey_store_close(struct journey_store *st)
{
    if (!st)
        return;
    journey_flush(st);
    journey_sync_stop(st->sync); /* its last checkpoint makes every commit durable */
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(st->stmt[i]);
    sqlite3_close(st->db);
    free(st);
}

static void bind_text(sqlite3_stmt *q, int i, const char *text)
{
    sqlite3_bind_text(q, i, text, -1, SQLITE_TRANSIENT);
}

/* Binds every column in COLUMNS order to ?1…?28. */
static void bind_signal(sqlite3_stmt *q, const struct journey_signal *s)
{
    bind_text(q, 1, s->id);
    bind_text(q, 2, s->channel);
    bind_text(q, 3, s->service);
    bind_text(q, 4, s->pseudonym);
    bind_text(q, 5, s->loa);
    bind_text(q, 6, s->provider);
    bind_text(q, 7, s->appointment);
    bind_text(q, 8, s->context_ref);
    bind_text(q, 9, s->agent_id);
    sqlite3_bind_int64(q, 10, s->joined_ms);
    sqlite3_bind_int64(q, 11, s->answered_ms);
    sqlite3_bind_int64(q, 12, s->ended_ms);
    sqlite3_bind_int64(q, 13, s->wait_s);
    sqlite3_bind_int64(q, 14, s->talk_s);
    bind_text(q, 15, journey_outcome_name(s->outcome));
    bind_text(q, 16, s->end_reason);
    bind_text(q, 17, s->failure_stage);
    sqlite3_bind_int64(q, 18, (sqlite3_int64)s->media.packets_in);
    sqlite3_bind_int64(q, 19, (sqlite3_int64)s->media.packets_out);
    sqlite3_bind_int64(q, 20, (sqlite3_int64)s->media.bytes_in);
    sqlite3_bind_int64(q, 21, (sqlite3_int64)s->media.bytes_out);
    sqlite3_bind_int64(q, 22, (sqlite3_int64)s->media.lost);
    sqlite3_bind_double(q, 23, s->media.jitter_ms);
    sqlite3_bind_double(q, 24, s->media.rtt_ms);
    bind_text(q, 25, s->context_topic);
    bind_text(q, 26, s->context_issuer);
    bind_text(q, 27, s->transfer_to);
    bind_text(q, 28, s->previous_id);
}

static void column_text(sqlite3_stmt *q, int i, char *out, size_t size)
{
    const unsigned char *t = sqlite3_column_text(q, i);
    snprintf(out, size, "%s", t ? (const char *)t : "");
}

static void read_signal(sqlite3_stmt *q, struct journey_signal *s)
{
    memset(s, 0, sizeof(*s));
    column_text(q, 0, s->id, sizeof(s->id));
    column_text(q, 1, s->channel, sizeof(s->channel));
    column_text(q, 2, s->service, sizeof(s->service));
    column_text(q, 3, s->pseudonym, sizeof(s->pseudonym));
    column_text(q, 4, s->loa, sizeof(s->loa));
    column_text(q, 5, s->provider, sizeof(s->provider));
    column_text(q, 6, s->appointment, sizeof(s->appointment));
    column_text(q, 7, s->context_ref, sizeof(s->context_ref));
    column_text(q, 8, s->agent_id, sizeof(s->agent_id));
    s->joined_ms = sqlite3_column_int64(q, 9);
    s->answered_ms = sqlite3_column_int64(q, 10);
    s->ended_ms = sqlite3_column_int64(q, 11);
    s->wait_s = sqlite3_column_int64(q, 12);
    s->talk_s = sqlite3_column_int64(q, 13);
    if (journey_outcome_parse((const char *)sqlite3_column_text(q, 14), &s->outcome) != 0)
        s->outcome = JOURNEY_OPEN;
    column_text(q, 15, s->end_reason, sizeof(s->end_reason));
    column_text(q, 16, s->failure_stage, sizeof(s->failure_stage));
    s->media.packets_in = (uint64_t)sqlite3_column_int64(q, 17);
    s->media.packets_out = (uint64_t)sqlite3_column_int64(q, 18);
    s->media.bytes_in = (uint64_t)sqlite3_column_int64(q, 19);
    s->media.bytes_out = (uint64_t)sqlite3_column_int64(q, 20);
    s->media.lost = (uint64_t)sqlite3_column_int64(q, 21);
    s->media.jitter_ms = sqlite3_column_double(q, 22);
    s->media.rtt_ms = sqlite3_column_double(q, 23);
    column_text(q, 24, s->context_topic, sizeof(s->context_topic));
    column_text(q, 25, s->context_issuer, sizeof(s->context_issuer));
    column_text(q, 26, s->transfer_to, sizeof(s->transfer_to));
    column_text(q, 27, s->previous_id, sizeof(s->previous_id));
}

int journey_open(struct journey_store *st, const struct journey_signal *s)
{
    if (batch(st) != 0)
        return -EIO;
    sqlite3_stmt *q = st->stmt[ST_INSERT];
    bind_signal(q, s);
    int rc = sqlite3_step(q);
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    if (rc == SQLITE_DONE)
        return 0; /* committed at the end of the turn (journey_flush) */
    return rc == SQLITE_CONSTRAINT ? -EEXIST : -EIO;
}

int journey_answered(struct journey_store *st, const char *id, int64_t answered_ms,
                     const char *agent_id)
{
    if (batch(st) != 0)
        return -EIO;
    sqlite3_stmt *q = st->stmt[ST_ANSWERED];
    bind_text(q, 1, id);
    sqlite3_bind_int64(q, 2, answered_ms);
    bind_text(q, 3, agent_id ? agent_id : "");
    if (step_done(q) != 0)
        return -EIO;
    return sqlite3_changes(st->db) == 1 ? 0 : -ENOENT;
}

/* Why an UPDATE … WHERE outcome = 'open' changed nothing. */
static int not_open_reason(struct journey_store *st, const char *id)
{
    sqlite3_stmt *q = st->stmt[ST_STATE];
    bind_text(q, 1, id);
    int rc = sqlite3_step(q);
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    return rc == SQLITE_ROW ? -EALREADY : rc == SQLITE_DONE ? -ENOENT : -EIO;
}

/* The close and the outbox entry commit together: a signal is never closed yet undelivered. */
static int close_in_tx(struct journey_store *st, const struct journey_signal *s)
{
    bind_signal(st->stmt[ST_CLOSE], s);
    if (step_done(st->stmt[ST_CLOSE]) != 0)
        return -EIO;
    if (sqlite3_changes(st->db) != 1)
        return not_open_reason(st, s->id);
    bind_text(st->stmt[ST_OUTBOX], 1, s->id);
    return step_done(st->stmt[ST_OUTBOX]);
}

int journey_close(struct journey_store *st, const struct journey_signal *s)
{
    if (s->outcome == JOURNEY_OPEN || (unsigned)s->outcome >= JOURNEY_OUTCOME_COUNT)
        return -EINVAL;
    /* A savepoint: a close that fails halfway undoes itself, not the turn's other writes. */
    if (batch(st) != 0 || step_done(st->stmt[ST_SAVEPOINT]) != 0)
        return -EIO;
    int err = close_in_tx(st, s);
    if (err)
        step_done(st->stmt[ST_ROLLBACK_TO]);
    return step_done(st->stmt[ST_RELEASE]) == 0 ? err : -EIO;
}

int journey_recover(struct journey_store *st, int64_t now_ms)
{
    if (batch(st) != 0)
        return -EIO;
    sqlite3_stmt *q = st->stmt[ST_RECOVER];
    int n = 0, err = 0, rc;
    /* Collected first: updating rows while the SELECT walks them is not portable. */
    struct journey_signal *open = NULL;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        struct journey_signal *grown = realloc(open, (size_t)(n + 1) * sizeof(*open));
        if (!grown) {
            err = -ENOMEM;
            break;
        }
        open = grown;
        read_signal(q, &open[n++]);
    }
    sqlite3_reset(q);
    if (!err && rc != SQLITE_DONE && rc != SQLITE_ROW)
        err = -EIO;
    for (int i = 0; !err && i < n; i++) {
        struct journey_signal *s = &open[i];
        /* When the gateway died is unknown; the restart is the first moment we know. */
        journey_finish_at(s, JOURNEY_DROPPED, "gateway_restart", "", now_ms);
        err = close_in_tx(st, s);
    }
    free(open);
    if (err) {
        step_done(st->stmt[ST_ROLLBACK]);
        return err;
    }
    err = journey_flush(st);
    return err ? err : n;
}

static int delete_by(struct journey_store *st, enum stmt which, const char *text, int64_t value)
{
    if (batch(st) != 0)
        return -EIO;
    sqlite3_stmt *q = st->stmt[which];
    if (text)
        bind_text(q, 1, text);
    else
        sqlite3_bind_int64(q, 1, value);
    if (step_done(q) != 0)
        return -EIO;
    return sqlite3_changes(st->db);
}

int journey_purge(struct journey_store *st, int64_t before_ms)
{
    return delete_by(st, ST_PURGE, NULL, before_ms);
}

int journey_erase(struct journey_store *st, const char *pseudonym)
{
    return delete_by(st, ST_ERASE, pseudonym, 0);
}

int journey_export(struct journey_store *st, const char *pseudonym, char **json)
{
    *json = NULL;
    json_t *list = json_array();
    if (!list)
        return -ENOMEM;
    sqlite3_stmt *q = st->stmt[ST_SELECT_SUBJECT];
    bind_text(q, 1, pseudonym);
    int n = 0, rc;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        struct journey_signal s;
        read_signal(q, &s);
        char *text = journey_to_json(&s);
        json_t *one = text ? json_loads(text, 0, NULL) : NULL;
        free(text);
        if (!one || json_array_append_new(list, one) != 0) {
            rc = SQLITE_NOMEM;
            break;
        }
        n++;
    }
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    if (rc == SQLITE_DONE)
        *json = json_dumps(list, JSON_COMPACT);
    json_decref(list);
    return *json ? n : -EIO;
}

int journey_get(struct journey_store *st, const char *id, struct journey_signal *out)
{
    sqlite3_stmt *q = st->stmt[ST_SELECT_ONE];
    bind_text(q, 1, id);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
        read_signal(q, out);
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : -EIO;
}

int journey_count(struct journey_store *st, int *total, int *open)
{
    sqlite3_stmt *q = st->stmt[ST_COUNT_ALL];
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        *total = sqlite3_column_int(q, 0);
        *open = sqlite3_column_int(q, 1);
    }
    sqlite3_reset(q);
    return rc == SQLITE_ROW ? 0 : -EIO;
}

int journey_history(struct journey_store *st, const char *pseudonym, struct journey_signal *out,
                    int cap)
{
    sqlite3_stmt *q = st->stmt[ST_HISTORY];
    bind_text(q, 1, pseudonym);
    sqlite3_bind_int(q, 2, cap);
    int n = 0, rc = SQLITE_DONE;
    while (n < cap && (rc = sqlite3_step(q)) == SQLITE_ROW)
        read_signal(q, &out[n++]);
    if (n < cap && rc != SQLITE_DONE)
        n = -EIO;
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    return n;
}

int journey_outbox_due(struct journey_store *st, int64_t now_ms, struct journey_outbox_row *out,
                       int cap)
{
    sqlite3_stmt *q = st->stmt[ST_OUTBOX_DUE];
    sqlite3_bind_int64(q, 1, now_ms);
    sqlite3_bind_int(q, 2, cap);
    int n = 0, rc = SQLITE_DONE;
    while (n < cap && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        column_text(q, 0, out[n].id, sizeof(out[n].id));
        out[n++].attempts = sqlite3_column_int(q, 1);
    }
    if (n < cap && rc != SQLITE_DONE)
        n = -EIO;
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
    return n;
}

static int outbox_update(struct journey_store *st, enum stmt which, const char *id, int64_t a,
                         int64_t b)
{
    if (batch(st) != 0)
        return -EIO;
    sqlite3_stmt *q = st->stmt[which];
    bind_text(q, 1, id);
    sqlite3_bind_int64(q, 2, a);
    if (which == ST_OUTBOX_RETRY)
        sqlite3_bind_int64(q, 3, b);
    if (step_done(q) != 0)
        return -EIO;
    return sqlite3_changes(st->db) == 1 ? 0 : -ENOENT;
}

int journey_outbox_delivered(struct journey_store *st, const char *id, int64_t now_ms)
{
    return outbox_update(st, ST_OUTBOX_DELIVERED, id, now_ms, 0);
}

int journey_outbox_retry(struct journey_store *st, const char *id, int attempts,
                         int64_t next_attempt_ms)
{
    return outbox_update(st, ST_OUTBOX_RETRY, id, attempts, next_attempt_ms);
}

int journey_outbox_pending(struct journey_store *st, int *pending, int64_t *oldest_ended_ms)
{
    sqlite3_stmt *q = st->stmt[ST_OUTBOX_PENDING];
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        *pending = sqlite3_column_int(q, 0);
        *oldest_ended_ms = sqlite3_column_int64(q, 1);
    }
    sqlite3_reset(q);
    return rc == SQLITE_ROW ? 0 : -EIO;
}
