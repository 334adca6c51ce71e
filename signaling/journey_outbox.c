/* The outbox deliverer: closed signals go to the configured webhook, a few at a time, from the
 * control thread's tick. The store's outbox rows are the truth: a row is marked delivered only
 * after a 2xx, so a gateway that dies mid-request sends that signal again after the restart,
 * with the same idempotency key. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "balie/config.h"
#include "balie/journey_outbox.h"
#include "balie/log.h"
#include "balie/metrics.h"
#include "balie/strbuf.h"

#define OUTBOX_WINDOW_MAX 16

/* Failures by status class, a bounded label set: no response, 1xx/3xx, 4xx, 5xx. */
enum { FAIL_TRANSPORT, FAIL_OTHER, FAIL_4XX, FAIL_5XX, FAIL_CLASSES };
static const char *const fail_names[FAIL_CLASSES] = {"none", "other", "4xx", "5xx"};

struct outbox_slot {
    struct journey_outbox *ob;
    bool busy;
    long request;
    int attempts;
    char id[JOURNEY_ID_LEN + 1];
};

struct journey_outbox {
    struct journey_store *st;
    journey_send_fn send;
    void *send_arg;
    char *url, *authorization, *source;
    const struct balie_config *cfg;
    enum journey_format format;
    unsigned window, timeout_ms;
    int64_t retry_base_ms, retry_max_ms;
    int64_t (*clock_ms)(void);
    struct outbox_slot slot[OUTBOX_WINDOW_MAX];
    unsigned in_flight;
    uint64_t attempts, delivered, failed[FAIL_CLASSES];
    int pending;
    int64_t lag_ms;
    int64_t last_error_log_ms;
};

static char *dup_or_null(const char *text)
{
    return text && text[0] ? strdup(text) : NULL;
}

struct journey_outbox *journey_outbox_new(struct journey_store *st,
                                          const struct journey_outbox_config *cfg,
                                          journey_send_fn send, void *send_arg)
{
    if (!st || !send || !cfg->url || !cfg->url[0])
        return NULL;
    struct journey_outbox *ob = calloc(1, sizeof(*ob));
    if (!ob)
        return NULL;
    ob->st = st;
    ob->send = send;
    ob->send_arg = send_arg;
    ob->url = strdup(cfg->url);
    ob->authorization = dup_or_null(cfg->authorization);
    ob->source = dup_or_null(cfg->source);
    ob->cfg = cfg->cfg;
    ob->clock_ms = cfg->clock_ms ? cfg->clock_ms : journey_now_ms;
    ob->format = cfg->format;
    ob->window = cfg->window < 1                   ? 1
                 : cfg->window > OUTBOX_WINDOW_MAX ? OUTBOX_WINDOW_MAX
                                                   : cfg->window;
    ob->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : 10000;
    ob->retry_base_ms = cfg->retry_base_ms > 0 ? cfg->retry_base_ms : 1000;
    ob->retry_max_ms = cfg->retry_max_ms >= ob->retry_base_ms ? cfg->retry_max_ms : 3600000;
    for (unsigned i = 0; i < OUTBOX_WINDOW_MAX; i++)
        ob->slot[i].ob = ob;
    if (!ob->url || (cfg->authorization && cfg->authorization[0] && !ob->authorization)) {
        journey_outbox_free(ob);
        return NULL;
    }
    return ob;
}

void journey_outbox_free(struct journey_outbox *ob)
{
    if (!ob)
        return;
    free(ob->url);
    if (ob->authorization) {
        memset(ob->authorization, 0, strlen(ob->authorization));
        free(ob->authorization);
    }
    free(ob->source);
    free(ob);
}

/* Exponential backoff with jitter: the n-th retry waits a random time between half and all of
 * base·2^(n-1), capped, so that many gateways coming back together do not retry in step. */
static int64_t backoff_ms(const struct journey_outbox *ob, int attempts)
{
    int64_t delay = ob->retry_base_ms;
    for (int i = 1; i < attempts && delay < ob->retry_max_ms; i++)
        delay *= 2;
    if (delay > ob->retry_max_ms)
        delay = ob->retry_max_ms;
    uint32_t r = 0;
    if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
        r = 0;
    return delay / 2 + (int64_t)(r % (uint32_t)(delay / 2 + 1));
}

static const char *service_title(const struct journey_outbox *ob, const char *id)
{
    for (int i = 0; ob->cfg && i < ob->cfg->service_count; i++)
        if (strcmp(ob->cfg->services[i].id, id) == 0 && ob->cfg->services[i].name_nl[0])
            return ob->cfg->services[i].name_nl;
    return id;
}

static void on_done(void *arg, const struct httpc_response *resp)
{
    struct outbox_slot *slot = arg;
    struct journey_outbox *ob = slot->ob;
    int64_t now = ob->clock_ms();
    slot->busy = false;
    ob->in_flight--;
    if (resp->status >= 200 && resp->status < 300) {
        ob->delivered++;
        if (journey_outbox_delivered(ob->st, slot->id, now) == -EIO)
            log_error("journey", "cannot mark signal %.8s delivered", slot->id);
        journey_outbox_tick(ob, now); /* the window has room again */
        return;
    }
    long st = resp->status;
    ob->failed[st == 0     ? FAIL_TRANSPORT
               : st >= 500 ? FAIL_5XX
               : st >= 400 ? FAIL_4XX
                           : FAIL_OTHER]++;
    int attempts = slot->attempts + 1;
    if (journey_outbox_retry(ob->st, slot->id, attempts, now + backoff_ms(ob, attempts)) == -EIO)
        log_error("journey", "cannot reschedule signal %.8s", slot->id);
    /* One line per failure burst, not per signal: a webhook that is down for an hour must not
     * fill the log. The response body is never logged (it could echo anything). */
    if (now - ob->last_error_log_ms > 60000) {
        ob->last_error_log_ms = now;
        log_warn("journey", "webhook delivery failed (%s%ld); retrying with backoff",
                 st ? "HTTP " : "", st ? st : 0L);
        if (!st)
            log_warn("journey", "webhook transport: %s", resp->error);
    }
}

/* Builds and sends one signal; false when it could not be sent now (it stays due). */
static bool send_one(struct journey_outbox *ob, struct outbox_slot *slot)
{
    struct journey_signal s;
    if (journey_get(ob->st, slot->id, &s) != 0)
        return false;
    char *body = ob->format == JOURNEY_FORMAT_CLOUDEVENTS
                     ? journey_cloudevent_json(&s, ob->source)
                     : journey_klantcontact_json(&s, service_title(ob, s.service));
    if (!body)
        return false;
    char idem[64], auth[CONFIG_STR_MAX + 32];
    snprintf(idem, sizeof(idem), "Idempotency-Key: %s", s.id);
    struct httpc_request req = {.method = "POST",
                                .url = ob->url,
                                .body = body,
                                .body_len = strlen(body),
                                .timeout_ms = ob->timeout_ms};
    int h = 0;
    req.headers[h++] = ob->format == JOURNEY_FORMAT_CLOUDEVENTS
                           ? "Content-Type: application/cloudevents+json; charset=utf-8"
                           : "Content-Type: application/json";
    req.headers[h++] = "Accept: application/json";
    req.headers[h++] = idem;
    if (ob->authorization) {
        snprintf(auth, sizeof(auth), "Authorization: %s", ob->authorization);
        req.headers[h++] = auth;
    }
    slot->busy = true;
    ob->in_flight++;
    ob->attempts++;
    long id = ob->send(ob->send_arg, &req, on_done, slot);
    memset(auth, 0, sizeof(auth));
    free(body);
    if (id < 0) {
        slot->busy = false;
        ob->in_flight--;
        ob->attempts--;
        return false;
    }
    slot->request = id;
    return true;
}

static bool in_flight(const struct journey_outbox *ob, const char *id)
{
    for (unsigned i = 0; i < OUTBOX_WINDOW_MAX; i++)
        if (ob->slot[i].busy && strcmp(ob->slot[i].id, id) == 0)
            return true;
    return false;
}

static struct outbox_slot *free_slot(struct journey_outbox *ob)
{
    for (unsigned i = 0; i < ob->window; i++)
        if (!ob->slot[i].busy)
            return &ob->slot[i];
    return NULL;
}

void journey_outbox_tick(struct journey_outbox *ob, int64_t now_ms)
{
    if (!ob)
        return;
    /* What goes to the webhook is committed first: a signal someone was told of is never
     * lost to a crash of this process (journey_flush). */
    journey_flush(ob->st);
    int64_t oldest = 0;
    if (journey_outbox_pending(ob->st, &ob->pending, &oldest) == 0)
        ob->lag_ms = oldest > 0 && now_ms > oldest ? now_ms - oldest : 0;
    if (ob->in_flight >= ob->window)
        return;
    struct journey_outbox_row due[2 * OUTBOX_WINDOW_MAX];
    int n = journey_outbox_due(ob->st, now_ms, due, (int)(ob->window + ob->in_flight));
    for (int i = 0; i < n && ob->in_flight < ob->window; i++) {
        if (in_flight(ob, due[i].id))
            continue;
        struct outbox_slot *slot = free_slot(ob);
        if (!slot)
            break;
        memcpy(slot->id, due[i].id, sizeof(slot->id)); /* same size, NUL-terminated by the store */
        slot->id[sizeof(slot->id) - 1] = '\0';
        slot->attempts = due[i].attempts;
        if (!send_one(ob, slot))
            break; /* the client's queue is full: next tick */
    }
}

void journey_outbox_get_stats(const struct journey_outbox *ob, struct journey_outbox_stats *out)
{
    memset(out, 0, sizeof(*out));
    out->in_flight = ob->in_flight;
    out->attempts = ob->attempts;
    out->delivered = ob->delivered;
    for (int i = 0; i < FAIL_CLASSES; i++)
        out->failed += ob->failed[i];
    out->pending = ob->pending;
    out->lag_ms = ob->lag_ms;
}

void journey_outbox_collect(struct strbuf *out, void *arg)
{
    const struct journey_outbox *ob = arg;
    metrics_write_simple(out, "balie_journey_outbox_pending", "gauge",
                         "Closed journey signals the webhook has not acknowledged yet.",
                         ob->pending);
    metrics_write_simple(out, "balie_journey_outbox_lag_seconds", "gauge",
                         "Age of the oldest unacknowledged signal (since it closed).",
                         (double)ob->lag_ms / 1000.0);
    metrics_write_simple(out, "balie_journey_outbox_in_flight", "gauge",
                         "Webhook requests in flight.", ob->in_flight);
    metrics_write_simple(out, "balie_journey_outbox_attempts_total", "counter",
                         "Webhook delivery attempts.", (double)ob->attempts);
    metrics_write_simple(out, "balie_journey_outbox_delivered_total", "counter",
                         "Signals the webhook acknowledged with a 2xx.", (double)ob->delivered);
    strbuf_appendf(out, "# HELP balie_journey_outbox_failures_total Webhook attempts that got no "
                        "2xx, by status class (none: no response).\n"
                        "# TYPE balie_journey_outbox_failures_total counter\n");
    for (int i = 0; i < FAIL_CLASSES; i++)
        strbuf_appendf(out, "balie_journey_outbox_failures_total{status=\"%s\"} %llu\n",
                       fail_names[i], (unsigned long long)ob->failed[i]);
}
