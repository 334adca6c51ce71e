/* The outbox deliverer against a fake transport (no socket, no sleep): at-least-once delivery,
 * marked only after a 2xx, backoff, the window, the idempotency key, a restart in the middle;
 * and both webhook bodies field by field. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "balie/journey.h"
#include "balie/journey_outbox.h"
#include "balie/strbuf.h"

static char dir[64], path[128];

/* The fake HTTP client: it records requests and answers when the test says so. */
struct sent {
    char url[128], body[8192], idem[80], auth[128], type[96];
    httpc_done_fn done;
    void *arg;
    bool answered;
};
static struct sent sent[64];
static int sent_n;
static bool refuse; /* the client's queue is full */
static int64_t clock_now;
static int64_t fake_clock(void)
{
    return clock_now;
}

/* Every tick in these tests moves the fake clock too, as the gateway's tick would. */
#define TICK(ob, t) (clock_now = (t), journey_outbox_tick((ob), clock_now))

static const char *header(const struct httpc_request *req, const char *name)
{
    size_t n = strlen(name);
    for (int i = 0; i < HTTPC_HEADERS_MAX && req->headers[i]; i++)
        if (strncmp(req->headers[i], name, n) == 0 && req->headers[i][n] == ':')
            return req->headers[i] + n + 2;
    return "";
}

static long fake_send(void *arg, const struct httpc_request *req, httpc_done_fn done, void *darg)
{
    (void)arg;
    if (refuse || sent_n == 64)
        return -1;
    struct sent *s = &sent[sent_n];
    memset(s, 0, sizeof(*s));
    snprintf(s->url, sizeof(s->url), "%s", req->url);
    snprintf(s->body, sizeof(s->body), "%.*s", (int)req->body_len, req->body);
    snprintf(s->idem, sizeof(s->idem), "%s", header(req, "Idempotency-Key"));
    snprintf(s->auth, sizeof(s->auth), "%s", header(req, "Authorization"));
    snprintf(s->type, sizeof(s->type), "%s", header(req, "Content-Type"));
    s->done = done;
    s->arg = darg;
    return ++sent_n;
}

static void answer(int i, long status)
{
    struct httpc_response r = {.status = status};
    if (!status)
        snprintf(r.error, sizeof(r.error), "connection refused");
    cr_assert_not(sent[i].answered);
    sent[i].answered = true;
    sent[i].done(sent[i].arg, &r);
}

static void setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/balie-outbox-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/balie.db", dir);
    sent_n = 0;
    refuse = false;
}

static void teardown(void)
{
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(journey_outbox, .init = setup, .fini = teardown);

static struct journey_store *open_store(void)
{
    struct journey_store *st = NULL;
    char why[256] = "";
    cr_assert_eq(journey_store_open(&st, path, why, sizeof(why)), 0, "%s", why);
    return st;
}

/* A closed signal in the store (and so in its outbox). */
static void closed_signal(struct journey_store *st, struct journey_signal *s,
                          enum journey_outcome out)
{
    cr_assert_eq(journey_init(s), 0);
    snprintf(s->service, sizeof(s->service), "paspoort");
    snprintf(s->pseudonym, sizeof(s->pseudonym), "%064d", 7);
    snprintf(s->loa, sizeof(s->loa), "substantieel");
    snprintf(s->provider, sizeof(s->provider), "dev");
    snprintf(s->context_ref, sizeof(s->context_ref), "zaak-123");
    snprintf(s->context_topic, sizeof(s->context_topic), "verhuizing");
    cr_assert_eq(journey_open(st, s), 0);
    if (out == JOURNEY_COMPLETED) {
        s->answered_ms = s->joined_ms + 12000;
        snprintf(s->agent_id, sizeof(s->agent_id), "agent-1");
    }
    journey_finish_at(s, out, out == JOURNEY_COMPLETED ? "hangup" : "citizen_left", NULL,
                      s->joined_ms + 312000);
    cr_assert_eq(journey_close(st, s), 0);
}

static struct journey_outbox *outbox(struct journey_store *st, enum journey_format f,
                                     unsigned window)
{
    struct journey_outbox_config cfg = {.url = "http://127.0.0.1:9/hook",
                                        .format = f,
                                        .authorization = "Bearer s3cret-token",
                                        .source = "https://balie.example.nl",
                                        .window = window,
                                        .retry_base_ms = 1000,
                                        .retry_max_ms = 8000,
                                        .clock_ms = fake_clock};
    struct journey_outbox *ob = journey_outbox_new(st, &cfg, fake_send, NULL);
    cr_assert_not_null(ob);
    return ob;
}

Test(journey_outbox, delivered_only_after_a_2xx_with_backoff)
{
    struct journey_store *st = open_store();
    struct journey_signal s;
    closed_signal(st, &s, JOURNEY_COMPLETED);
    struct journey_outbox *ob = outbox(st, JOURNEY_FORMAT_CLOUDEVENTS, 1);
    int64_t now = s.ended_ms + 10;
    TICK(ob, now);
    cr_assert_eq(sent_n, 1);
    cr_assert_str_eq(sent[0].url, "http://127.0.0.1:9/hook");
    cr_assert_str_eq(sent[0].idem, s.id);
    cr_assert_str_eq(sent[0].auth, "Bearer s3cret-token");
    cr_assert_str_eq(sent[0].type, "application/cloudevents+json; charset=utf-8");
    TICK(ob, now + 1);
    cr_assert_eq(sent_n, 1, "one in flight: no second request for the same signal");

    answer(0, 503);
    struct journey_outbox_stats stats;
    TICK(ob, now + 2);
    cr_assert_eq(sent_n, 1, "a failed attempt waits for its backoff");
    journey_outbox_get_stats(ob, &stats);
    cr_assert_eq(stats.pending, 1);
    cr_assert_geq(stats.lag_ms, 10);
    /* The first retry comes between 0.5 and 1 s later (half to all of the base). */
    TICK(ob, now + 499);
    cr_assert_eq(sent_n, 1);
    TICK(ob, now + 1003);
    cr_assert_eq(sent_n, 2);
    cr_assert_str_eq(sent[1].idem, s.id, "the same key on a retry");
    answer(1, 0); /* no answer at all */
    TICK(ob, now + 1004 + 998);
    cr_assert_eq(sent_n, 2, "the second retry waits at least 1 s (half of 2 s)");
    TICK(ob, now + 1004 + 2001);
    cr_assert_eq(sent_n, 3);
    answer(2, 201);
    TICK(ob, now + 100000);
    cr_assert_eq(sent_n, 3, "never again once acknowledged");
    journey_outbox_get_stats(ob, &stats);
    cr_assert_eq(stats.attempts, 3);
    cr_assert_eq(stats.delivered, 1);
    cr_assert_eq(stats.failed, 2);
    cr_assert_eq(stats.pending, 0);
    cr_assert_eq(stats.lag_ms, 0);

    struct strbuf sb;
    strbuf_init(&sb);
    journey_outbox_collect(&sb, ob);
    cr_assert(strstr(sb.data, "balie_journey_outbox_failures_total{status=\"5xx\"} 1\n"));
    cr_assert(strstr(sb.data, "balie_journey_outbox_failures_total{status=\"none\"} 1\n"));
    cr_assert(strstr(sb.data, "balie_journey_outbox_delivered_total 1\n"));
    cr_assert(strstr(sb.data, "balie_journey_outbox_pending 0\n"));
    strbuf_free(&sb);
    journey_outbox_free(ob);
    journey_store_close(st);
}

Test(journey_outbox, window_and_a_full_client_queue)
{
    struct journey_store *st = open_store();
    struct journey_signal s[5];
    for (int i = 0; i < 5; i++)
        closed_signal(st, &s[i], JOURNEY_ABANDONED);
    struct journey_outbox *ob = outbox(st, JOURNEY_FORMAT_KLANTINTERACTIES, 2);
    int64_t now = s[4].ended_ms + 1;
    refuse = true;
    TICK(ob, now);
    cr_assert_eq(sent_n, 0);
    refuse = false;
    TICK(ob, now);
    cr_assert_eq(sent_n, 2, "at most the window in flight");
    answer(0, 200); /* a free slot sends the next one at once */
    cr_assert_eq(sent_n, 3);
    answer(1, 204);
    answer(2, 200);
    cr_assert_eq(sent_n, 5);
    answer(3, 200);
    answer(4, 200);
    char seen[5][sizeof(sent[0].idem)];
    for (int i = 0; i < 5; i++) {
        snprintf(seen[i], sizeof(seen[i]), "%s", sent[i].idem);
        for (int j = 0; j < i; j++)
            cr_assert_str_neq(seen[i], seen[j], "each signal once");
    }
    journey_outbox_free(ob);
    journey_store_close(st);
}

/* A gateway that dies with a request in flight sends it again after the restart, with the
 * same idempotency key; one that was acknowledged is not sent again. */
Test(journey_outbox, survives_a_restart)
{
    struct journey_store *st = open_store();
    struct journey_signal a, b;
    closed_signal(st, &a, JOURNEY_COMPLETED);
    closed_signal(st, &b, JOURNEY_ABANDONED);
    struct journey_outbox *ob = outbox(st, JOURNEY_FORMAT_CLOUDEVENTS, 2);
    TICK(ob, b.ended_ms + 1);
    cr_assert_eq(sent_n, 2);
    answer(0, 200);
    /* Killed here: sent[1] never answered. */
    journey_outbox_free(ob);
    journey_store_close(st);

    st = open_store();
    ob = outbox(st, JOURNEY_FORMAT_CLOUDEVENTS, 2);
    TICK(ob, b.ended_ms + 2);
    cr_assert_eq(sent_n, 3);
    cr_assert_str_eq(sent[2].idem, sent[1].idem);
    answer(2, 200);
    TICK(ob, b.ended_ms + 99999);
    cr_assert_eq(sent_n, 3);
    journey_outbox_free(ob);
    journey_store_close(st);
}

Test(journey_outbox, klantcontact_body_field_by_field)
{
    struct journey_store *st = open_store();
    struct journey_signal s;
    closed_signal(st, &s, JOURNEY_COMPLETED);
    char *text = journey_klantcontact_json(&s, "Paspoort en ID-kaart");
    json_error_t err;
    json_t *o = json_loads(text, 0, &err);
    cr_assert_not_null(o, "%s", err.text);
    cr_assert_str_eq(json_string_value(json_object_get(o, "kanaal")), "video");
    cr_assert_str_eq(json_string_value(json_object_get(o, "onderwerp")), "Paspoort en ID-kaart");
    cr_assert(json_is_true(json_object_get(o, "indicatieContactGelukt")));
    cr_assert_str_eq(json_string_value(json_object_get(o, "taal")), "nld");
    cr_assert(json_is_boolean(json_object_get(o, "vertrouwelijk")));
    char when[32];
    journey_rfc3339(s.joined_ms, when);
    cr_assert_str_eq(json_string_value(json_object_get(o, "plaatsgevondenOp")), when);
    cr_assert_eq(strlen(when), 24);
    cr_assert_eq(when[10], 'T');
    cr_assert_eq(when[23], 'Z');
    const char *inhoud = json_string_value(json_object_get(o, "inhoud"));
    cr_assert(strstr(inhoud, "gesprek gevoerd"), "%s", inhoud);
    cr_assert(strstr(inhoud, "Wachttijd 12 s, gesprekstijd 300 s"), "%s", inhoud);
    json_t *meta = json_object_get(o, "metadata");
    cr_assert_str_eq(json_string_value(json_object_get(meta, "id")), s.id);
    cr_assert_str_eq(json_string_value(json_object_get(meta, "outcome")), "completed");
    cr_assert_str_eq(json_string_value(json_object_get(meta, "context_ref")), "zaak-123");
    cr_assert_str_eq(json_string_value(json_object_get(meta, "context_topic")), "verhuizing");
    cr_assert_eq(json_object_size(o), 8, "exactly the klantcontact fields and metadata");
    json_decref(o);
    free(text);

    struct journey_signal left;
    closed_signal(st, &left, JOURNEY_ABANDONED);
    text = journey_klantcontact_json(&left, NULL);
    o = json_loads(text, 0, NULL);
    cr_assert(json_is_false(json_object_get(o, "indicatieContactGelukt")));
    cr_assert_str_eq(json_string_value(json_object_get(o, "onderwerp")), "paspoort");
    json_decref(o);
    free(text);
    journey_store_close(st);
}

Test(journey_outbox, cloudevent_body)
{
    struct journey_store *st = open_store();
    struct journey_signal s;
    closed_signal(st, &s, JOURNEY_COMPLETED);
    char *text = journey_cloudevent_json(&s, "https://balie.example.nl");
    json_t *o = json_loads(text, 0, NULL);
    cr_assert_not_null(o);
    cr_assert_str_eq(json_string_value(json_object_get(o, "specversion")), "1.0");
    cr_assert_str_eq(json_string_value(json_object_get(o, "type")), "nl.balie.journey.signal.v1");
    cr_assert_str_eq(json_string_value(json_object_get(o, "source")), "https://balie.example.nl");
    cr_assert_str_eq(json_string_value(json_object_get(o, "id")), s.id);
    cr_assert_str_eq(json_string_value(json_object_get(o, "datacontenttype")), "application/json");
    char when[32];
    journey_rfc3339(s.ended_ms, when);
    cr_assert_str_eq(json_string_value(json_object_get(o, "time")), when);
    json_t *data = json_object_get(o, "data");
    cr_assert_str_eq(json_string_value(json_object_get(data, "pseudonym")), s.pseudonym);
    cr_assert_eq(json_integer_value(json_object_get(data, "talk_s")), 300);
    json_decref(o);
    free(text);
    journey_store_close(st);
}

Test(journey_outbox, rfc3339_and_format_names)
{
    char t[32];
    journey_rfc3339(INT64_C(1700000000123), t);
    cr_assert_str_eq(t, "2023-11-14T22:13:20.123Z");
    enum journey_format f;
    cr_assert_eq(journey_format_parse("cloudevents", &f), 0);
    cr_assert_eq(f, JOURNEY_FORMAT_CLOUDEVENTS);
    cr_assert_eq(journey_format_parse("klantinteracties", &f), 0);
    cr_assert_eq(f, JOURNEY_FORMAT_KLANTINTERACTIES);
    cr_assert_eq(journey_format_parse("xml", &f), -1);
}

Test(journey_outbox, history_newest_first_and_closed_only)
{
    struct journey_store *st = open_store();
    struct journey_signal s[3], open;
    for (int i = 0; i < 3; i++) {
        closed_signal(st, &s[i], JOURNEY_COMPLETED);
        usleep(2000);
    }
    cr_assert_eq(journey_init(&open), 0);
    snprintf(open.pseudonym, sizeof(open.pseudonym), "%s", s[0].pseudonym);
    cr_assert_eq(journey_open(st, &open), 0);
    struct journey_signal h[JOURNEY_HISTORY_MAX];
    cr_assert_eq(journey_history(st, s[0].pseudonym, h, 2), 2);
    cr_assert_str_eq(h[0].id, s[2].id);
    cr_assert_str_eq(h[1].id, s[1].id);
    cr_assert_eq(journey_history(st, s[0].pseudonym, h, JOURNEY_HISTORY_MAX), 3);
    cr_assert_str_eq(h[0].context_topic, "verhuizing");
    cr_assert_eq(journey_history(st, "nobody", h, JOURNEY_HISTORY_MAX), 0);
    journey_store_close(st);
}

/* Erasure (AVG art. 17) and retention take the outbox rows with the signals: nothing erased is
 * delivered later. */
Test(journey_outbox, erase_and_purge_empty_the_outbox)
{
    struct journey_store *st = open_store();
    struct journey_signal a, b;
    closed_signal(st, &a, JOURNEY_COMPLETED);
    closed_signal(st, &b, JOURNEY_ABANDONED);
    int pending = -1;
    int64_t oldest = 0;
    cr_assert_eq(journey_outbox_pending(st, &pending, &oldest), 0);
    cr_assert_eq(pending, 2);
    cr_assert_eq(oldest, a.ended_ms);
    cr_assert_eq(journey_erase(st, a.pseudonym), 2);
    cr_assert_eq(journey_outbox_pending(st, &pending, &oldest), 0);
    cr_assert_eq(pending, 0);
    cr_assert_eq(oldest, 0);
    struct journey_outbox_row due[4];
    cr_assert_eq(journey_outbox_due(st, INT64_MAX, due, 4), 0);

    closed_signal(st, &a, JOURNEY_COMPLETED);
    cr_assert_eq(journey_purge(st, a.joined_ms + 1), 1);
    cr_assert_eq(journey_outbox_due(st, INT64_MAX, due, 4), 0);
    journey_store_close(st);
}
