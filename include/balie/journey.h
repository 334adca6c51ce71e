/* Journey signals: every session at the counter (answered, abandoned in the queue, failed to
 * connect, dropped) becomes exactly one signal. It is written OPEN when the citizen joins and
 * CLOSED with its outcome when the session ends, so a gateway killed mid-call leaves an open row
 * that the next start closes as dropped (journey_recover). See docs/journey.md.
 *
 * A signal holds no BSN, no name and no chat text: the pseudonym is the only identifier.
 *
 * The store functions below are the interface a backend implements; signaling/journey_sqlite.c
 * is the embedded SQLite one. Control thread only; the store is not thread-safe. */
#ifndef BALIE_JOURNEY_H
#define BALIE_JOURNEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "balie/identity.h"

#define JOURNEY_ID_LEN 32 /* hex characters of 16 random bytes */
#define JOURNEY_SCHEMA_VERSION 3
#define JOURNEY_HISTORY_MAX 10 /* earlier signals an agent sees during a call */

enum journey_outcome {
    JOURNEY_OPEN = 0, /* still running (or the gateway died: see journey_recover) */
    JOURNEY_COMPLETED,
    JOURNEY_ABANDONED,
    JOURNEY_NO_AGENT,
    JOURNEY_FAILED,
    JOURNEY_DROPPED,
    JOURNEY_TRANSFERRED,
    JOURNEY_OUTCOME_COUNT
};

/* Media quality over both legs of a call, from the legs' last cumulative statistics.
 * "in" is what browsers sent to the gateway, "out" what the gateway sent to browsers. */
struct journey_media {
    uint64_t packets_in, packets_out, bytes_in, bytes_out, lost;
    double jitter_ms, rtt_ms; /* averages over the legs that reported */
};

struct journey_signal {
    char id[JOURNEY_ID_LEN + 1];
    char channel[8]; /* "video" */
    char service[32];
    char pseudonym[IDENTITY_PSEUDONYM_LEN + 1];
    char loa[16];
    char provider[16];
    char appointment[64];     /* empty: none */
    char context_ref[64];     /* a handover reference from a verified context token */
    char context_topic[128];  /* its topic (what the citizen came about); empty: none */
    char context_issuer[128]; /* the trusted issuer that signed it */
    char agent_id[32];        /* empty until answered */
    int64_t joined_ms, answered_ms, ended_ms; /* unix ms; 0: not (yet) */
    int64_t wait_s, talk_s;
    enum journey_outcome outcome;
    char end_reason[32];
    char failure_stage[32]; /* empty unless failed: ice, dtls, media, signaling, gateway */
    char transfer_to[64];   /* transferred: the service or agent it went to */
    char previous_id[JOURNEY_ID_LEN + 1]; /* the signal this session continues (a transfer) */
    struct journey_media media;
};

/* A handover context from another channel, after its token was verified: what is kept of it
 * (never the token itself). */
struct journey_context {
    char ref[64];     /* the referring site's reference (a case or request number) */
    char topic[128];  /* what the citizen came about, as that site named it */
    char issuer[128]; /* who signed it */
};

/* The verifier of handover context tokens (journey.context_*): a compact JWS (ES256 or RS256)
 * from the one trusted issuer, with `iss`, `aud`, `exp` and `iat` (at most an hour old) and the
 * claims `ref` (1–63 of [A-Za-z0-9._:/-]) and `topic` (optional, a line under 128 bytes).
 * See docs/journey.md. Control thread only. */
struct journey_context_verifier;

/* Loads the issuer's PEM public key. 0, or a negative errno with the reason in `why`. */
int journey_context_verifier_new(struct journey_context_verifier **out, const char *issuer,
                                 const char *key_file, const char *audience, char *why,
                                 size_t why_len);
void journey_context_verifier_free(struct journey_context_verifier *v);

/* 0 with `out` filled; -1 with a sentence for the citizen (Dutch / English) in `why`. A NULL
 * verifier refuses every token. */
int journey_context_verify(const struct journey_context_verifier *v, const char *token, size_t len,
                           uint64_t now_s, struct journey_context *out, char *why, size_t why_len);

/* "open", "completed", … ⇄ the enum. Parse returns -1 for other text. */
const char *journey_outcome_name(enum journey_outcome outcome);
int journey_outcome_parse(const char *text, enum journey_outcome *out);

/* Wall-clock time in unix milliseconds (signals are read by people and other systems). */
int64_t journey_now_ms(void);

/* Starts a signal: a fresh random id, channel "video", `joined_ms` now, outcome open; the other
 * fields are the caller's. Returns 0 or -EIO when the random generator fails. */
int journey_init(struct journey_signal *s);

/* Ends a signal in memory: ended time, outcome, reason, stage, and wait and talk seconds
 * derived from the times. */
void journey_finish(struct journey_signal *s, enum journey_outcome outcome, const char *reason,
                    const char *stage);
void journey_finish_at(struct journey_signal *s, enum journey_outcome outcome, const char *reason,
                       const char *stage, int64_t ended_ms);

/* The signal as a JSON object (text, malloc'd; the caller frees), or NULL. */
char *journey_to_json(const struct journey_signal *s);

/* ---- Metrics: aggregates over the signals this process closed ---- */

struct strbuf;
struct journey_metrics;

/* `service_level_s`: the "answered within" threshold of balie_journey_service_level. */
struct journey_metrics *journey_metrics_new(int service_level_s);
void journey_metrics_free(struct journey_metrics *jm);
void journey_metrics_observe(struct journey_metrics *jm, const struct journey_signal *s);
/* A metrics_collector_fn: counts by outcome and service, wait and talk time histograms and the
 * service level, in Prometheus text. */
void journey_metrics_collect(struct strbuf *out, void *jm);

/* ---- The store ---- */

struct journey_store;

/* Opens (creating with mode 0600) the database at `path` and brings its schema up to
 * JOURNEY_SCHEMA_VERSION. Returns 0 or a negative errno; `why` says what failed. */
int journey_store_open(struct journey_store **out, const char *path, char *why, size_t why_len);
/* Commits what is pending and syncs it to disk before closing. */
void journey_store_close(struct journey_store *st);

/* Writes are grouped: the writes below join one transaction, which journey_flush commits. The
 * control thread flushes once per turn of its loop, before anything the turn queued is sent,
 * so nothing is reported to anyone before it is committed. A commit survives the process being
 * killed at once; a thread makes it survive a power cut within JOURNEY_SYNC_INTERVAL_MS
 * (docs/journey.md, "Durability"). Reads see pending writes. 0, or -EIO when the commit failed
 * (the pending writes are lost). NULL is fine. */
int journey_flush(struct journey_store *st);

/* True when nothing is pending and every commit is on disk (tests, and a clean shutdown). */
bool journey_synced(struct journey_store *st);

/* Writes a new open signal. -EEXIST when that id exists, -EIO on a storage error. */
int journey_open(struct journey_store *st, const struct journey_signal *s);

/* Records that an agent took the session. -ENOENT unless the signal is open. */
int journey_answered(struct journey_store *st, const char *id, int64_t answered_ms,
                     const char *agent_id);

/* Closes an open signal with every field of `s` (outcome must not be open) and queues it in the
 * outbox, in one transaction. -EALREADY when it was closed already (exactly once), -ENOENT when
 * unknown, -EINVAL for an open outcome. */
int journey_close(struct journey_store *st, const struct journey_signal *s);

/* At start: closes every signal still open as dropped / gateway_restart at `now_ms`. Returns
 * how many, or a negative errno. */
int journey_recover(struct journey_store *st, int64_t now_ms);

/* Erases signals that began before `before_ms` (retention). Returns how many, or < 0. */
int journey_purge(struct journey_store *st, int64_t before_ms);

/* One citizen's signals as a JSON array (text, malloc'd) in *json, oldest first. Returns how
 * many, or < 0. */
int journey_export(struct journey_store *st, const char *pseudonym, char **json);

/* Erases one citizen's signals (and their outbox entries). Returns how many, or < 0. */
int journey_erase(struct journey_store *st, const char *pseudonym);

/* The signal with this id, for tests and the outbox. 0, -ENOENT or -EIO. */
int journey_get(struct journey_store *st, const char *id, struct journey_signal *out);

/* How many signals there are in all, and how many are open. 0 or -EIO. */
int journey_count(struct journey_store *st, int *total, int *open);

/* One citizen's closed signals, newest first, at most `cap` (the agent console's history and
 * the citizen's own page). Returns how many, or < 0. */
int journey_history(struct journey_store *st, const char *pseudonym, struct journey_signal *out,
                    int cap);

/* ---- The outbox: closed signals waiting for the webhook (journey_outbox.c delivers) ---- */

struct journey_outbox_row {
    char id[JOURNEY_ID_LEN + 1];
    int attempts; /* failed attempts so far */
};

/* Undelivered rows whose next attempt is due at `now_ms`, the earliest due first. Returns
 * how many were written to `out` (at most `cap`), or < 0. */
int journey_outbox_due(struct journey_store *st, int64_t now_ms, struct journey_outbox_row *out,
                       int cap);
/* A 2xx came: the row is marked delivered at `now_ms` and never sent again. 0, -ENOENT or
 * -EIO. */
int journey_outbox_delivered(struct journey_store *st, const char *id, int64_t now_ms);
/* An attempt failed: records the count and when to try again. 0, -ENOENT or -EIO. */
int journey_outbox_retry(struct journey_store *st, const char *id, int attempts,
                         int64_t next_attempt_ms);
/* Undelivered rows, and the end time of the oldest one's signal (0 when none). 0 or -EIO. */
int journey_outbox_pending(struct journey_store *st, int *pending, int64_t *oldest_ended_ms);

#endif
