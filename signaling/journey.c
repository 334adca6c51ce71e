/* Journey signals in memory: ids, outcome names, finishing a record, its JSON form, and the
 * /metrics aggregates over every signal this gateway closed. The store is journey_sqlite.c. */
#include "balie/journey.h"

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
    set_text(o, "agent_id", s->agent_id);
    set_time(o, "joined_ms", s->joined_ms);
    set_time(o, "answered_ms", s->answered_ms);
    set_time(o, "ended_ms", s->ended_ms);
    json_object_set_new(o, "wait_s", json_integer(s->wait_s));
    json_object_set_new(o, "talk_s", json_integer(s->talk_s));
    json_object_set_new(o, "outcome", json_string(journey_outcome_name(s->outcome)));
    set_text(o, "end_reason", s->end_reason);
    set_text(o, "failure_stage", s->failure_stage);
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
