/* Appointments: an in-memory table written through to SQLite. See include/balie/appointments.h.
 */
#include "balie/appointments.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sqlite3.h>

#include "balie/opening_hours.h"

/* Migration i brings the schema from version i to i + 1. Never edit one that shipped: add.
 * The version is kept in its own table, beside the journey store's, in the same file. */
static const char *const migrations[APPT_SCHEMA_VERSION] = {
    "CREATE TABLE appointments ("
    " id TEXT PRIMARY KEY, code TEXT NOT NULL UNIQUE, service TEXT NOT NULL,"
    " agent_id TEXT NOT NULL DEFAULT '', start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL,"
    " created_ms INTEGER NOT NULL);"
    "CREATE INDEX appointments_end ON appointments(end_ms);",
};

/* Crockford's base32: no I, L, O or U, so a code read aloud or typed is not misread. */
static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

struct appt_store {
    sqlite3 *db; /* NULL: memory only */
    struct appointment *items;
    size_t count, cap;
};

static int exec(sqlite3 *db, const char *sql, char **msg)
{
    return sqlite3_exec(db, sql, NULL, NULL, msg) == SQLITE_OK ? 0 : -EIO;
}

static int migrate(sqlite3 *db, char *why, size_t why_len)
{
    char *msg = NULL;
    if (exec(db, "CREATE TABLE IF NOT EXISTS appointments_schema (version INTEGER NOT NULL)",
             &msg) != 0)
        goto err;
    int version = 0;
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db, "SELECT coalesce(max(version), 0) FROM appointments_schema", -1, &q,
                           NULL) != SQLITE_OK)
        goto err;
    if (sqlite3_step(q) == SQLITE_ROW)
        version = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    if (version > APPT_SCHEMA_VERSION) {
        snprintf(why, why_len, "the appointments schema is %d, newer than this gateway's %d",
                 version, APPT_SCHEMA_VERSION);
        return -EPROTO;
    }
    for (int v = version; v < APPT_SCHEMA_VERSION; v++) {
        char bump[80];
        snprintf(bump, sizeof(bump), "INSERT INTO appointments_schema VALUES (%d);", v + 1);
        if (exec(db, "BEGIN IMMEDIATE", &msg) != 0 || exec(db, migrations[v], &msg) != 0 ||
            exec(db, bump, &msg) != 0 || exec(db, "COMMIT", &msg) != 0) {
            exec(db, "ROLLBACK", NULL);
            goto err;
        }
    }
    return 0;
err:
    snprintf(why, why_len, "appointments schema migration failed: %s",
             msg ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
    return -EIO;
}

static int grow(struct appt_store *st)
{
    if (st->count < st->cap)
        return 0;
    size_t cap = st->cap ? st->cap * 2 : 64;
    struct appointment *items = realloc(st->items, cap * sizeof(*items));
    if (!items)
        return -ENOMEM;
    st->items = items;
    st->cap = cap;
    return 0;
}

static void copy_text(char *out, size_t out_len, const unsigned char *text)
{
    snprintf(out, out_len, "%s", text ? (const char *)text : "");
}

static int load(struct appt_store *st, int64_t now_ms)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT id, code, service, agent_id, start_ms, end_ms, created_ms"
                           " FROM appointments WHERE end_ms > ?1 ORDER BY start_ms",
                           -1, &q, NULL) != SQLITE_OK)
        return -EIO;
    sqlite3_bind_int64(q, 1, now_ms);
    int rc, err = 0;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW && st->count < APPT_MAX) {
        if ((err = grow(st)) != 0)
            break;
        struct appointment *a = &st->items[st->count++];
        memset(a, 0, sizeof(*a));
        copy_text(a->id, sizeof(a->id), sqlite3_column_text(q, 0));
        copy_text(a->code, sizeof(a->code), sqlite3_column_text(q, 1));
        copy_text(a->service, sizeof(a->service), sqlite3_column_text(q, 2));
        copy_text(a->agent, sizeof(a->agent), sqlite3_column_text(q, 3));
        a->start_ms = sqlite3_column_int64(q, 4);
        a->end_ms = sqlite3_column_int64(q, 5);
        a->created_ms = sqlite3_column_int64(q, 6);
    }
    sqlite3_finalize(q);
    return err ? err : (rc == SQLITE_DONE || rc == SQLITE_ROW) ? 0 : -EIO;
}

int appt_store_open(struct appt_store **out, const char *path, int64_t now_ms, char *why,
                    size_t why_len)
{
    *out = NULL;
    struct appt_store *st = calloc(1, sizeof(*st));
    if (!st)
        return -ENOMEM;
    if (!path) {
        *out = st;
        return 0;
    }
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        int err = errno;
        snprintf(why, why_len, "cannot create %s: %s", path, strerror(err));
        free(st);
        return -err;
    }
    close(fd);
    char *msg = NULL;
    int err = 0;
    if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
            SQLITE_OK ||
        exec(st->db,
             "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
             " PRAGMA busy_timeout = 2000;",
             &msg) != 0) {
        snprintf(why, why_len, "cannot open %s: %s", path,
                 msg ? msg : (st->db ? sqlite3_errmsg(st->db) : "out of memory"));
        sqlite3_free(msg);
        err = -EIO;
    }
    if (!err)
        err = migrate(st->db, why, why_len);
    if (!err && (err = load(st, now_ms)) != 0)
        snprintf(why, why_len, "cannot read the appointments: %s", sqlite3_errmsg(st->db));
    if (err) {
        appt_store_close(st);
        return err;
    }
    *out = st;
    return 0;
}

void appt_store_close(struct appt_store *st)
{
    if (!st)
        return;
    sqlite3_close(st->db);
    free(st->items);
    free(st);
}

static bool id_chars(const char *s, size_t max, bool allow_empty)
{
    size_t n = strlen(s);
    if (n > max || (n == 0 && !allow_empty))
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.' || c == ':'))
            return false;
    }
    return true;
}

static int find_index(const struct appt_store *st, const char *id)
{
    for (size_t i = 0; i < st->count; i++)
        if (strcmp(st->items[i].id, id) == 0)
            return (int)i;
    return -1;
}

static int make_identifiers(const struct appt_store *st, struct appointment *a)
{
    static const char hex[] = "0123456789abcdef";
    for (int attempt = 0; attempt < 8; attempt++) {
        unsigned char raw[APPT_ID_LEN / 2 + APPT_CODE_LEN];
        if (RAND_bytes(raw, sizeof(raw)) != 1)
            return -EIO;
        for (size_t i = 0; i < APPT_ID_LEN / 2; i++) {
            a->id[2 * i] = hex[raw[i] >> 4];
            a->id[2 * i + 1] = hex[raw[i] & 15];
        }
        a->id[APPT_ID_LEN] = '\0';
        for (size_t i = 0; i < APPT_CODE_LEN; i++)
            a->code[i] = alphabet[raw[APPT_ID_LEN / 2 + i] & 31];
        a->code[APPT_CODE_LEN] = '\0';
        OPENSSL_cleanse(raw, sizeof(raw));
        struct appointment clash;
        if (find_index(st, a->id) < 0 && appt_find_code(st, a->code, &clash) != 0)
            return 0;
    }
    return -EIO;
}

static int write_row(struct appt_store *st, const struct appointment *a)
{
    if (!st->db)
        return 0;
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(st->db,
                           "INSERT INTO appointments (id, code, service, agent_id, start_ms,"
                           " end_ms, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                           -1, &q, NULL) != SQLITE_OK)
        return -EIO;
    sqlite3_bind_text(q, 1, a->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, a->code, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, a->service, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 4, a->agent, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 5, a->start_ms);
    sqlite3_bind_int64(q, 6, a->end_ms);
    sqlite3_bind_int64(q, 7, a->created_ms);
    int rc = sqlite3_step(q);
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? 0 : -EIO;
}

int appt_create(struct appt_store *st, struct appointment *a, int64_t now_ms)
{
    if (!id_chars(a->service, APPT_SERVICE_MAX, false) || !id_chars(a->agent, APPT_AGENT_MAX, true))
        return -EINVAL;
    if (a->start_ms >= a->end_ms || a->end_ms - a->start_ms > APPT_SLOT_MAX_MS ||
        a->end_ms <= now_ms || a->start_ms > now_ms + APPT_HORIZON_MS)
        return -EINVAL;
    if (st->count >= APPT_MAX)
        return -ENOSPC;
    int err = grow(st);
    if (err)
        return err;
    if ((err = make_identifiers(st, a)) != 0)
        return err;
    a->created_ms = now_ms;
    if ((err = write_row(st, a)) != 0)
        return err;
    st->items[st->count++] = *a;
    return 0;
}

static int delete_row(struct appt_store *st, const char *sql, const char *text, int64_t value)
{
    if (!st->db)
        return 0;
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(st->db, sql, -1, &q, NULL) != SQLITE_OK)
        return -EIO;
    if (text)
        sqlite3_bind_text(q, 1, text, -1, SQLITE_STATIC);
    else
        sqlite3_bind_int64(q, 1, value);
    int rc = sqlite3_step(q);
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? 0 : -EIO;
}

int appt_delete(struct appt_store *st, const char *id)
{
    int i = id ? find_index(st, id) : -1;
    if (i < 0)
        return -ENOENT;
    int err = delete_row(st, "DELETE FROM appointments WHERE id = ?1", id, 0);
    if (err)
        return err;
    st->items[i] = st->items[--st->count];
    return 0;
}

int appt_get(const struct appt_store *st, const char *id, struct appointment *out)
{
    int i = id ? find_index(st, id) : -1;
    if (i < 0)
        return -ENOENT;
    *out = st->items[i];
    return 0;
}

/* Crockford's decoding of what a citizen typed: upper case, O→0, I/L→1, '-' and spaces
 * dropped. Returns false when it cannot be a code. */
static bool normalize_code(const char *in, char out[APPT_CODE_LEN + 1])
{
    size_t n = 0;
    for (size_t i = 0; in[i]; i++) {
        char c = in[i];
        if (c == '-' || c == ' ')
            continue;
        if (i > 3 * APPT_CODE_LEN)
            return false;
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 32);
        if (c == 'O')
            c = '0';
        else if (c == 'I' || c == 'L')
            c = '1';
        if (!strchr(alphabet, c) || c == '\0' || n == APPT_CODE_LEN)
            return false;
        out[n++] = c;
    }
    out[n] = '\0';
    return n == APPT_CODE_LEN;
}

int appt_find_code(const struct appt_store *st, const char *code, struct appointment *out)
{
    char want[APPT_CODE_LEN + 1];
    if (!code || !normalize_code(code, want))
        return -ENOENT;
    /* Every code is compared, found or not, so the time taken says nothing about any code. */
    int found = -1;
    for (size_t i = 0; i < st->count; i++)
        if (CRYPTO_memcmp(st->items[i].code, want, APPT_CODE_LEN) == 0)
            found = (int)i;
    if (found < 0)
        return -ENOENT;
    *out = st->items[found];
    return 0;
}

static int by_start(const void *pa, const void *pb)
{
    const struct appointment *a = pa, *b = pb;
    if (a->start_ms != b->start_ms)
        return a->start_ms < b->start_ms ? -1 : 1;
    return strcmp(a->id, b->id);
}

size_t appt_list(const struct appt_store *st, int64_t from_ms, int64_t to_ms, const char *service,
                 struct appointment *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < st->count; i++) {
        const struct appointment *a = &st->items[i];
        if (a->end_ms <= from_ms || a->start_ms >= to_ms)
            continue;
        if (service && strcmp(a->service, service) != 0)
            continue;
        if (n < cap)
            out[n] = *a;
        n++;
    }
    qsort(out, n < cap ? n : cap, sizeof(*out), by_start);
    return n;
}

int appt_purge(struct appt_store *st, int64_t before_ms)
{
    int err = delete_row(st, "DELETE FROM appointments WHERE end_ms < ?1", NULL, before_ms);
    if (err)
        return err;
    int n = 0;
    for (size_t i = 0; i < st->count;) {
        if (st->items[i].end_ms < before_ms) {
            st->items[i] = st->items[--st->count];
            n++;
        } else {
            i++;
        }
    }
    return n;
}

enum appt_when appt_when(const struct appointment *a, int64_t now_ms)
{
    if (now_ms >= a->end_ms)
        return APPT_ENDED;
    if (now_ms < a->start_ms - APPT_EARLY_MS)
        return APPT_TOO_EARLY;
    return APPT_IN_TIME;
}

static int digits(const uint8_t *p, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

int appt_parse_time(const uint8_t *t, size_t len, int64_t *ms)
{
    /* RFC 3339 §5.6: full-date "T" partial-time time-offset. */
    if (len < 20 || len > 40 || t[4] != '-' || t[7] != '-' || (t[10] != 'T' && t[10] != 't') ||
        t[13] != ':' || t[16] != ':')
        return -1;
    int y = digits(t, 4), mo = digits(t + 5, 2), d = digits(t + 8, 2);
    int h = digits(t + 11, 2), mi = digits(t + 14, 2), s = digits(t + 17, 2);
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
        s < 0 || s > 60)
        return -1;
    size_t i = 19;
    if (t[i] == '.') { /* time-secfrac: ignored, the slots are whole minutes */
        i++;
        size_t start = i;
        while (i < len && t[i] >= '0' && t[i] <= '9')
            i++;
        if (i == start)
            return -1;
    }
    int offset = 0;
    if (i < len && (t[i] == 'Z' || t[i] == 'z')) {
        i++;
    } else if (i + 6 == len && (t[i] == '+' || t[i] == '-') && t[i + 3] == ':') {
        int oh = digits(t + i + 1, 2), om = digits(t + i + 4, 2);
        if (oh < 0 || oh > 23 || om < 0 || om > 59)
            return -1;
        offset = (oh * 60 + om) * 60 * (t[i] == '-' ? -1 : 1);
        i += 6;
    } else {
        return -1;
    }
    if (i != len)
        return -1;
    int64_t days = hours_days_from_civil(y, (unsigned)mo, (unsigned)d);
    int64_t yy;
    unsigned mm, dd;
    hours_civil_from_days(days, &yy, &mm, &dd);
    if ((int)mm != mo || (int)dd != d)
        return -1;
    *ms = ((days * 86400 + h * 3600 + mi * 60 + (s == 60 ? 59 : s)) - offset) * 1000LL;
    return 0;
}
