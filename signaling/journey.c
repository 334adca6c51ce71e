/* Journey signals in memory: ids, outcome names, finishing a record, its JSON form, and the
 * /metrics aggregates over every signal this gateway closed. The store is journey_sqlite.c. */
#include "balie/journey.h"
#include "balie/strbuf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/rand.h>

static const char *const outcome_names[JOURNEY_OUTCOME_COUNT] = {
    "open", "completed", "abandoned", "no_agent", "failed", "dropped", "transferred"};

const char *journey_outcome_name(enum journey_outcome outcome)
{
    return (unsigned)outcome < JOURNEY_OUTCOME_COUNT ? outcome_names[outcome] : "open";
}

int journey_outcome_parse(const char *text, enum journey_outcome *out)
{
    for (int i = 0; i < JOURNEY_OUTCOME_COUNT; i++) {
        if (text && strcmp(text, outcome_names[i]) == 0) {
            *out = (enum journey_outcome)i;
            return 0;
        }
    }
    return -1;
}

int64_t journey_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int journey_init(struct journey_signal *s)
{
    unsigned char raw[JOURNEY_ID_LEN / 2];
    memset(s, 0, sizeof(*s));
    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return -EIO;
    for (size_t i = 0; i < sizeof(raw); i++)
        snprintf(s->id + 2 * i, 3, "%02x", raw[i]);
    snprintf(s->channel, sizeof(s->channel), "video");
    s->joined_ms = journey_now_ms();
    s->outcome = JOURNEY_OPEN;
    return 0;
}

static int64_t seconds_between(int64_t from_ms, int64_t to_ms)
{
    return from_ms > 0 && to_ms > from_ms ? (to_ms - from_ms) / 1000 : 0;
}

void journey_finish(struct journey_signal *s, enum journey_outcome outcome, const char *reason,
                    const char *stage)
{
    journey_finish_at(s, outcome, reason, stage, journey_now_ms());
}

void journey_finish_at(struct journey_signal *s, enum journey_outcome outcome, const char *reason,
                       const char *stage, int64_t ended_ms)
{
    s->ended_ms = ended_ms > s->joined_ms ? ended_ms : s->joined_ms;
    s->outcome = outcome;
    snprintf(s->end_reason, sizeof(s->end_reason), "%s", reason ? reason : "");
    snprintf(s->failure_stage, sizeof(s->failure_stage), "%s", stage ? stage : "");
    /* Waiting ends when an agent takes the session, or with the session if none did. */
    s->wait_s = seconds_between(s->joined_ms, s->answered_ms ? s->answered_ms : s->ended_ms);
    s->talk_s = s->answered_ms ? seconds_between(s->answered_ms, s->ended_ms) : 0;
}

/* Empty text is left out rather than written as "": the reader sees what is known. */
static void set_text(json_t *o, const char *key, const char *value)
{
    if (value && value[0])
        json_object_set_new(o, key, json_string(value));
}

static void set_time(json_t *o, const char *key, int64_t ms)
{
    if (ms > 0)
        json_object_set_new(o, key, json_integer(ms));
}

char *journey_to_json(const struct journey_signal *s)
{
    json_t *o = json_object(), *m = json_object();
    if (!o || !m) {
        json_decref(o);
        json_decref(m);
        return NULL;
    }
    set_text(o, "id", s->id);
    set_text(o, "channel", s->channel);
    set_text(o, "service", s->service);
    set_text(o, "pseudonym", s->pseudonym);
    set_text(o, "loa", s->loa);
    set_text(o, "provider", s->provider);
    set_text(o, "appointment", s->appointment);
    set_text(o, "context_ref", s->context_ref);
    set_text(o, "context_topic", s->context_topic);
    set_text(o, "context_issuer", s->context_issuer);
    set_text(o, "agent_id", s->agent_id);
    set_time(o, "joined_ms", s->joined_ms);
    set_time(o, "answered_ms", s->answered_ms);
    set_time(o, "ended_ms", s->ended_ms);
    json_object_set_new(o, "wait_s", json_integer(s->wait_s));
    json_object_set_new(o, "talk_s", json_integer(s->talk_s));
    json_object_set_new(o, "outcome", json_string(journey_outcome_name(s->outcome)));
    set_text(o, "end_reason", s->end_reason);
    set_text(o, "failure_stage", s->failure_stage);
    set_text(o, "transfer_to", s->transfer_to);
    set_text(o, "previous_id", s->previous_id);
    json_object_set_new(m, "packets_in", json_integer((json_int_t)s->media.packets_in));
    json_object_set_new(m, "packets_out", json_integer((json_int_t)s->media.packets_out));
    json_object_set_new(m, "bytes_in", json_integer((json_int_t)s->media.bytes_in));
    json_object_set_new(m, "bytes_out", json_integer((json_int_t)s->media.bytes_out));
    json_object_set_new(m, "lost", json_integer((json_int_t)s->media.lost));
    json_object_set_new(m, "jitter_ms", json_real(s->media.jitter_ms));
    json_object_set_new(m, "rtt_ms", json_real(s->media.rtt_ms));
    json_object_set_new(o, "media", m);
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return text;
}

/* ---- Metrics ---- */

#define JM_SERVICES 33 /* every configured service, and "other" */
static const double wait_buckets[] = {5, 15, 30, 60, 120, 300, 600, 1200, 1800};
static const double talk_buckets[] = {30, 60, 180, 300, 600, 900, 1800, 3600};
#define WAIT_N (sizeof(wait_buckets) / sizeof(wait_buckets[0]))
#define TALK_N (sizeof(talk_buckets) / sizeof(talk_buckets[0]))

struct histogram {
    uint64_t bucket[10]; /* per bucket, not cumulative; the last is +Inf */
    uint64_t count;
    double sum;
};

struct journey_metrics {
    int service_level_s;
    char service[JM_SERVICES][32];
    int services;
    uint64_t by_outcome[JM_SERVICES][JOURNEY_OUTCOME_COUNT];
    struct histogram wait, talk;
    uint64_t answered, answered_in_time, offered;
};

struct journey_metrics *journey_metrics_new(int service_level_s)
{
    struct journey_metrics *jm = calloc(1, sizeof(*jm));
    if (jm)
        jm->service_level_s = service_level_s > 0 ? service_level_s : 60;
    return jm;
}

void journey_metrics_free(struct journey_metrics *jm)
{
    free(jm);
}

static void observe(struct histogram *h, const double *bounds, size_t n, double value)
{
    size_t i = 0;
    while (i < n && value > bounds[i])
        i++;
    h->bucket[i]++;
    h->count++;
    h->sum += value;
}

/* Services come from the configuration, so the label set is bounded; past the table, "other". */
static int service_slot(struct journey_metrics *jm, const char *service)
{
    for (int i = 0; i < jm->services; i++)
        if (strcmp(jm->service[i], service) == 0)
            return i;
    if (jm->services < JM_SERVICES - 1) {
        snprintf(jm->service[jm->services], sizeof(jm->service[0]), "%s", service);
        return jm->services++;
    }
    snprintf(jm->service[JM_SERVICES - 1], sizeof(jm->service[0]), "other");
    return JM_SERVICES - 1;
}

void journey_metrics_observe(struct journey_metrics *jm, const struct journey_signal *s)
{
    if (!jm || s->outcome == JOURNEY_OPEN)
        return;
    jm->by_outcome[service_slot(jm, s->service)][s->outcome]++;
    observe(&jm->wait, wait_buckets, WAIT_N, (double)s->wait_s);
    /* The service level counts sessions that reached an agent or gave up in the queue. */
    jm->offered++;
    if (s->answered_ms) {
        jm->answered++;
        if (s->wait_s <= jm->service_level_s)
            jm->answered_in_time++;
        observe(&jm->talk, talk_buckets, TALK_N, (double)s->talk_s);
    }
}

static void write_histogram(struct strbuf *out, const char *name, const char *help,
                            const struct histogram *h, const double *bounds, size_t n)
{
    strbuf_appendf(out, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    uint64_t cumulative = 0;
    for (size_t i = 0; i < n; i++) {
        cumulative += h->bucket[i];
        strbuf_appendf(out, "%s_bucket{le=\"%g\"} %llu\n", name, bounds[i],
                       (unsigned long long)cumulative);
    }
    strbuf_appendf(out, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %g\n%s_count %llu\n", name,
                   (unsigned long long)h->count, name, h->sum, name, (unsigned long long)h->count);
}

void journey_metrics_collect(struct strbuf *out, void *arg)
{
    const struct journey_metrics *jm = arg;
    strbuf_appendf(out, "# HELP balie_journey_signals_total Sessions recorded, by outcome and "
                        "service.\n# TYPE balie_journey_signals_total counter\n");
    for (int i = 0; i < JM_SERVICES; i++) {
        if (!jm->service[i][0])
            continue;
        for (int o = JOURNEY_COMPLETED; o < JOURNEY_OUTCOME_COUNT; o++)
            strbuf_appendf(out, "balie_journey_signals_total{outcome=\"%s\",service=\"%s\"} %llu\n",
                           outcome_names[o], jm->service[i],
                           (unsigned long long)jm->by_outcome[i][o]);
    }
    write_histogram(out, "balie_journey_wait_seconds",
                    "Time from joining the queue to an agent taking the session (or its end).",
                    &jm->wait, wait_buckets, WAIT_N);
    write_histogram(out, "balie_journey_talk_seconds",
                    "Time from an agent taking a session to "
                    "its end.",
                    &jm->talk, talk_buckets, TALK_N);
    strbuf_appendf(out,
                   "# HELP balie_journey_service_level Share of ended sessions an agent took "
                   "within %d s (1 when none ended yet).\n"
                   "# TYPE balie_journey_service_level gauge\nbalie_journey_service_level %g\n",
                   jm->service_level_s,
                   jm->offered ? (double)jm->answered_in_time / (double)jm->offered : 1.0);
}
