/* Delivering journey signals onward (DESIGN.md §7): every closed signal waits in the store's
 * outbox until a configured webhook answered 2xx. Two body formats: a klantcontact as the VNG
 * Klantinteracties API (Open Klant) shapes it, or a structured-mode CloudEvent 1.0.
 *
 * The deliverer is driven from the control thread's tick and never blocks: it hands requests
 * to a send function (httpc_submit in the gateway, a fake in tests) and learns their results
 * through the callback. At most `window` requests are in flight. A row is marked delivered
 * only after a 2xx; anything else is retried with exponential backoff and jitter, for ever.
 * The idempotency key is the signal id (header `Idempotency-Key`, and the CloudEvent `id`),
 * so a receiver can drop the duplicate that follows a lost answer. See docs/journey.md. */
#ifndef BALIE_JOURNEY_OUTBOX_H
#define BALIE_JOURNEY_OUTBOX_H

#include <stdint.h>

#include "balie/httpc.h"
#include "balie/journey.h"

struct balie_config;
struct strbuf;

enum journey_format { JOURNEY_FORMAT_KLANTINTERACTIES = 0, JOURNEY_FORMAT_CLOUDEVENTS };

/* "klantinteracties" | "cloudevents" → the enum; -1 for other text. */
int journey_format_parse(const char *text, enum journey_format *out);

/* The webhook body for `s` (malloc'd JSON text, caller frees), or NULL. `onderwerp` is the
 * service's display name (a klantcontact's subject); `source` the CloudEvent source (a URI
 * naming this gateway). */
char *journey_klantcontact_json(const struct journey_signal *s, const char *onderwerp);
char *journey_cloudevent_json(const struct journey_signal *s, const char *source);

/* RFC 3339 UTC time with milliseconds ("2026-11-22T15:04:05.123Z") of unix ms. */
void journey_rfc3339(int64_t ms, char out[32]);

/* Sends one request; returns a positive id or < 0 when it cannot be queued now. */
typedef long (*journey_send_fn)(void *send_arg, const struct httpc_request *req, httpc_done_fn done,
                                void *done_arg);

struct journey_outbox_config {
    const char *url; /* the webhook; copied */
    enum journey_format format;
    const char *authorization;      /* the whole header value ("Bearer …"), or NULL; copied */
    const char *source;             /* CloudEvent source; copied */
    const struct balie_config *cfg; /* service names for `onderwerp`; may be NULL */
    unsigned window;                /* requests in flight at most (1–16) */
    unsigned timeout_ms;            /* per request */
    int64_t retry_base_ms;          /* first retry after about this long */
    int64_t retry_max_ms;           /* backoff cap */
    int64_t (*clock_ms)(void);      /* unix ms; NULL: journey_now_ms (tests pass their own) */
};

struct journey_outbox;

/* NULL when out of memory or the config is unusable (no URL). The store stays the caller's
 * and must outlive the outbox. */
struct journey_outbox *journey_outbox_new(struct journey_store *st,
                                          const struct journey_outbox_config *cfg,
                                          journey_send_fn send, void *send_arg);
/* Requests still in flight must not call back afterwards (free the HTTP client first). */
void journey_outbox_free(struct journey_outbox *ob);

/* Starts due deliveries while the window has room, and refreshes the backlog gauges. Call
 * once a second, and after a signal closed for a prompt delivery. */
void journey_outbox_tick(struct journey_outbox *ob, int64_t now_ms);

/* A metrics_collector_fn: backlog, lag, attempts, deliveries and failures by status. */
void journey_outbox_collect(struct strbuf *out, void *ob);

/* For tests and the log: requests in flight, and totals since start. */
struct journey_outbox_stats {
    unsigned in_flight;
    uint64_t attempts, delivered, failed;
    int pending;
    int64_t lag_ms;
};
void journey_outbox_get_stats(const struct journey_outbox *ob, struct journey_outbox_stats *out);

#endif
