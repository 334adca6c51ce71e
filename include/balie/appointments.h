/* Appointments (DESIGN.md §5: POST|GET|DELETE /admin/v1/appointments): a slot at a service,
 * optionally with an assigned agent, and a code the citizen brings (`/?afspraak=CODE`).
 *
 * The store keeps every appointment that has not ended in memory, so a code is looked up by
 * comparing it, in constant time, with each of them (a code is a secret that admits a citizen
 * ahead of the line), and writes each change through to SQLite (data_dir/balie.db, its own
 * tables and schema version) before it returns. No personal data: service, times, agent id,
 * code. Control thread only. */
#ifndef BALIE_APPOINTMENTS_H
#define BALIE_APPOINTMENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define APPT_CODE_LEN 10 /* Crockford base32: 50 random bits */
#define APPT_ID_LEN 16   /* hex: the admin's handle, never the code */
#define APPT_SERVICE_MAX 31
#define APPT_AGENT_MAX 31
#define APPT_MAX 10000 /* appointments not yet ended */
#define APPT_SLOT_MAX_MS (8 * 3600 * 1000LL)
#define APPT_HORIZON_MS (366 * 86400 * 1000LL) /* how far ahead a slot may start */
#define APPT_EARLY_MS (2 * 3600 * 1000LL)      /* a citizen may join this long before */
#define APPT_MARGIN_MS (2 * 60 * 1000LL)       /* served from this long before the start */
#define APPT_SCHEMA_VERSION 1

struct appointment {
    char id[APPT_ID_LEN + 1];
    char code[APPT_CODE_LEN + 1];
    char service[APPT_SERVICE_MAX + 1];
    char agent[APPT_AGENT_MAX + 1]; /* "" for any agent */
    int64_t start_ms, end_ms;       /* unix ms */
    int64_t created_ms;
};

struct appt_store;

/* Opens the store at `path` (created with mode 0600 when new), or in memory only when `path`
 * is NULL, and loads every appointment that ends after `now_ms`. 0 or a negative errno; `why`
 * says what failed. */
int appt_store_open(struct appt_store **out, const char *path, int64_t now_ms, char *why,
                    size_t why_len);
void appt_store_close(struct appt_store *st);

/* Stores a new appointment from `a`'s service, agent and times (checked: start before end, a
 * slot of at most APPT_SLOT_MAX_MS that has not ended and starts within APPT_HORIZON_MS, id
 * characters), and fills in its id, code and creation time. 0, -EINVAL, -ENOSPC (APPT_MAX),
 * -EIO. The caller checks that the service and agent exist. */
int appt_create(struct appt_store *st, struct appointment *a, int64_t now_ms);

/* 0, -ENOENT, -EIO. */
int appt_delete(struct appt_store *st, const char *id);
int appt_get(const struct appt_store *st, const char *id, struct appointment *out);

/* Looks a citizen's code up: case-insensitive, O as 0 and I or L as 1, '-' and spaces ignored
 * (Crockford). Every stored code is compared in constant time. 0 or -ENOENT. */
int appt_find_code(const struct appt_store *st, const char *code, struct appointment *out);

/* Appointments that overlap [from_ms, to_ms), of `service` (NULL: all), by start time. Fills
 * up to `cap` and returns how many there are. */
size_t appt_list(const struct appt_store *st, int64_t from_ms, int64_t to_ms, const char *service,
                 struct appointment *out, size_t cap);

/* Forgets appointments that ended before `before_ms`. Returns how many, or < 0. */
int appt_purge(struct appt_store *st, int64_t before_ms);

/* Whether a citizen may join with it now. */
enum appt_when { APPT_IN_TIME = 0, APPT_TOO_EARLY, APPT_ENDED };
enum appt_when appt_when(const struct appointment *a, int64_t now_ms);

/* Parses an RFC 3339 date-time (§5.6: "2026-11-23T14:30:00+01:00", "…Z", fractions ignored)
 * of `len` bytes into unix ms. 0 or -1. */
int appt_parse_time(const uint8_t *text, size_t len, int64_t *ms);

#endif
