/* Journey signals for calls (DESIGN.md §7): a citizen's session opens a signal when they join
 * and closes it, exactly once, with the outcome of how the session ended. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "balie/log.h"
#include "calls_internal.h"

/* ---- Journey signals (journey.h): one per citizen session ---- */

/* Whether an agent is available for the citizen's service now (the queue's estimate is -1
 * exactly when none is, busy ones on that line included). */
static void note_agent(struct calls *calls, struct ws_client *c)
{
    int32_t eta = -1;
    if (c->waiting_call[0] && queue_estimated_wait_s(calls->queue, c->waiting_call, &eta) == 0 &&
        eta >= 0)
        c->agent_seen = true;
}

int calls_journey_context(struct calls *calls, const char *token, struct journey_context *out,
                          char *why, size_t why_len)
{
    int rc = journey_context_verify(calls->context_verifier, token, strlen(token),
                                    (uint64_t)time(NULL), out, why, why_len);
    if (rc != 0)
        calls->contexts_refused++;
    return rc;
}

/* The citizen joined: the session begins and is written as open at once, so that even a
 * gateway killed now leaves a row (closed as dropped at the next start). `context` is a
 * verified handover context (calls_journey_context), or NULL. */
void calls_journey_begin(struct calls *calls, struct ws_client *c, const char *service,
                         const char *appointment, const struct journey_context *context)
{
    struct journey_signal *s = calloc(1, sizeof(*s));
    if (!s || journey_init(s) != 0) {
        free(s);
        log_error("journey", "cannot start a signal (out of memory or entropy)");
        return;
    }
    /* No service named: the queue took the only one there is. */
    snprintf(s->service, sizeof(s->service), "%s",
             service                     ? service
             : calls->cfg->service_count ? calls->cfg->services[0].id
                                         : "");
    snprintf(s->pseudonym, sizeof(s->pseudonym), "%s", c->pseudonym);
    snprintf(s->loa, sizeof(s->loa), "%s", identity_loa_name(c->loa));
    snprintf(s->provider, sizeof(s->provider), "%s", c->provider);
    snprintf(s->appointment, sizeof(s->appointment), "%s", appointment ? appointment : "");
    if (context) {
        snprintf(s->context_ref, sizeof(s->context_ref), "%s", context->ref);
        snprintf(s->context_topic, sizeof(s->context_topic), "%s", context->topic);
        snprintf(s->context_issuer, sizeof(s->context_issuer), "%s", context->issuer);
    }
    if (calls->journey && journey_open(calls->journey, s) != 0)
        log_error("journey", "cannot write the open signal %.8s", s->id);
    c->journey = s;
    c->agent_seen = false;
    note_agent(calls, c);
}

/* Ends the session *sp once: writes the closed signal, counts it, frees it. */
void calls_journey_end(struct calls *calls, struct journey_signal **sp, enum journey_outcome out,
                       const char *reason, const char *stage)
{
    struct journey_signal *s = *sp;
    if (!s)
        return;
    *sp = NULL;
    journey_finish(s, out, reason, stage);
    int err = calls->journey ? journey_close(calls->journey, s) : 0;
    if (err)
        log_error("journey", "cannot close the signal %.8s: %s", s->id, strerror(-err));
    journey_metrics_observe(calls->journey_metrics, s);
    free(s);
}

/* The media summary of a call: both legs' last cumulative statistics. */
static void journey_media(struct journey_media *m, const struct call *call)
{
    int legs = 0, rtts = 0;
    for (int side = 0; side < 2; side++) {
        const struct call_leg *leg = &call->leg[side];
        if (!leg->has_stats)
            continue;
        const struct media_leg_stats *st = &leg->stats;
        m->packets_in += st->audio_packets_in + st->video_packets_in;
        m->packets_out += st->audio_packets_out + st->video_packets_out;
        m->bytes_in += st->audio_bytes_in + st->video_bytes_in;
        m->bytes_out += st->audio_bytes_out + st->video_bytes_out;
        m->lost += st->lost;
        m->jitter_ms += st->jitter_ms;
        m->rtt_ms += st->rtt_ms;
        legs++;
        rtts += st->rtt_ms ? 1 : 0;
    }
    m->jitter_ms = legs ? m->jitter_ms / legs : 0;
    m->rtt_ms = rtts ? m->rtt_ms / rtts : 0;
}

/* Where a failed call failed, from the media plane's reason. Consent (RFC 7675) is ICE's. */
static const char *failure_stage(const char *reason)
{
    static const struct {
        const char *reason, *stage;
    } map[] = {{"ice_failed", "ice"},     {"consent_lost", "ice"},     {"dtls_failed", "dtls"},
               {"media_failed", "media"}, {"bad_answer", "signaling"}, {"gateway_busy", "gateway"}};
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(reason, map[i].reason) == 0)
            return map[i].stage;
    return "media";
}

/* How a call's end reads as a journey outcome. A hang-up before media ever flowed is not a
 * technical failure (the media plane reported none): someone gave up while it connected, so it
 * is abandoned, reason hangup_before_media; a failure the media plane saw is failed with its
 * stage. */
void calls_journey_call_end(struct calls *calls, struct call *call, const char *reason,
                            enum outcome out)
{
    if (!call->journey)
        return;
    journey_media(&call->journey->media, call);
    if (calls->shutting_down)
        calls_journey_end(calls, &call->journey, JOURNEY_DROPPED, "gateway_shutdown", NULL);
    else if (out == OUT_COMPLETED && call->flowing)
        calls_journey_end(calls, &call->journey, JOURNEY_COMPLETED, reason, NULL);
    else if (out == OUT_COMPLETED)
        calls_journey_end(calls, &call->journey, JOURNEY_ABANDONED, "hangup_before_media", NULL);
    else if (out == OUT_FAILED)
        calls_journey_end(calls, &call->journey, JOURNEY_FAILED, reason, failure_stage(reason));
    else
        calls_journey_end(calls, &call->journey, JOURNEY_DROPPED, reason, NULL);
}

void calls_journey_wait_end(struct calls *calls, struct ws_client *c, const char *reason)
{
    if (!c->journey)
        return;
    note_agent(calls, c);
    bool no_agent = !c->agent_seen && !calls->shutting_down;
    calls_journey_end(calls, &c->journey, no_agent ? JOURNEY_NO_AGENT : JOURNEY_ABANDONED,
                      calls->shutting_down ? "gateway_shutdown" : reason, NULL);
}

int calls_journey_tick(struct calls *calls)
{
    int ended = 0;
    int64_t limit_ms = (int64_t)calls->cfg->journey.no_agent_timeout_s * 1000;
    int64_t now = journey_now_ms();
    for (struct ws_client *c = calls->clients; c; c = c->next) {
        if (c->role != PROTO_ROLE_CITIZEN || !c->waiting_call[0] || !c->journey)
            continue;
        note_agent(calls, c);
        if (limit_ms <= 0 || now - c->journey->joined_ms < limit_ms)
            continue;
        /* Waited too long: told so, out of the line, and recorded as no_agent whether or not
         * an agent was available (none took the call). */
        queue_leave(calls->queue, c->waiting_call);
        c->waiting_call[0] = '\0';
        calls_journey_end(calls, &c->journey, JOURNEY_NO_AGENT, "no_agent_timeout", NULL);
        ws_send(c, proto_build_ended("no_agent_timeout", "no_agent"));
        ended++;
    }
    return ended;
}

struct journey_signal *calls_journey_transfer(struct calls *calls, struct call *call,
                                              const char *target, const char *service)
{
    struct journey_signal *old = call->journey, *next = calloc(1, sizeof(*next));
    if (!old || !next || journey_init(next) != 0) {
        free(next);
        return NULL;
    }
    snprintf(next->service, sizeof(next->service), "%s", service ? service : old->service);
    memcpy(next->pseudonym, old->pseudonym, sizeof(next->pseudonym));
    memcpy(next->loa, old->loa, sizeof(next->loa));
    memcpy(next->provider, old->provider, sizeof(next->provider));
    memcpy(next->appointment, old->appointment, sizeof(next->appointment));
    memcpy(next->context_ref, old->context_ref, sizeof(next->context_ref));
    memcpy(next->context_topic, old->context_topic, sizeof(next->context_topic));
    memcpy(next->context_issuer, old->context_issuer, sizeof(next->context_issuer));
    memcpy(next->previous_id, old->id, sizeof(next->previous_id));
    snprintf(old->transfer_to, sizeof(old->transfer_to), "%s", target ? target : "");
    journey_media(&old->media, call);
    calls_journey_end(calls, &call->journey, JOURNEY_TRANSFERRED, "transfer", NULL);
    if (calls->journey && journey_open(calls->journey, next) != 0)
        log_error("journey", "cannot write the open signal %.8s", next->id);
    return next;
}

void calls_attach_journey(struct calls *calls, struct journey_store *store,
                          struct journey_metrics *metrics)
{
    calls->journey = store;
    calls->journey_metrics = metrics;
}

void calls_attach_context_verifier(struct calls *calls, struct journey_context_verifier *v)
{
    calls->context_verifier = v;
}

void calls_shutdown(struct calls *calls)
{
    calls->shutting_down = true;
    calls_resume_tick(calls, 0, true); /* nobody comes back to a gateway that stops */
}

/* ---- What the agent sees of the session: the handover context and earlier contacts ---- */

static json_t *context_object(const struct journey_signal *s)
{
    if (!s || !s->context_ref[0])
        return NULL;
    json_t *o = json_object();
    json_object_set_new(o, "ref", json_string(s->context_ref));
    if (s->context_topic[0])
        json_object_set_new(o, "topic", json_string(s->context_topic));
    json_object_set_new(o, "issuer", json_string(s->context_issuer));
    return o;
}

static struct ws_client *citizen_waiting(struct calls *calls, const char *call_id)
{
    for (struct ws_client *c = calls->clients; c; c = c->next)
        if (c->role == PROTO_ROLE_CITIZEN && call_id && strcmp(c->waiting_call, call_id) == 0)
            return c;
    return NULL;
}

/* Re-serialises `json` with `edit` applied; on any failure the original goes out unchanged. */
static char *decorate(char *json, bool (*edit)(json_t *, void *), void *arg)
{
    json_t *o = json ? json_loads(json, 0, NULL) : NULL;
    if (!o || !edit(o, arg)) {
        json_decref(o);
        return json;
    }
    char *out = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!out)
        return json;
    free(json);
    return out;
}

static bool add_queue_contexts(json_t *msg, void *arg)
{
    struct calls *calls = arg;
    bool changed = false;
    size_t i;
    json_t *entry;
    json_array_foreach(json_object_get(msg, "waiting"), i, entry)
    {
        struct ws_client *c =
            citizen_waiting(calls, json_string_value(json_object_get(entry, "call")));
        json_t *ctx = context_object(c ? c->journey : NULL);
        if (ctx) {
            json_object_set_new(entry, "context", ctx);
            changed = true;
        }
    }
    return changed;
}

char *calls_journey_decorate_queue(struct calls *calls, char *json)
{
    return decorate(json, add_queue_contexts, calls);
}

static bool add_peer_context(json_t *msg, void *arg)
{
    json_t *ctx = context_object(arg);
    json_t *peer = json_object_get(msg, "peer");
    if (!ctx || !peer) {
        json_decref(ctx);
        return false;
    }
    json_object_set_new(peer, "context", ctx);
    return true;
}

char *calls_journey_decorate_call(struct call *call, int side, char *json)
{
    return side == SIDE_AGENT ? decorate(json, add_peer_context, call->journey) : json;
}

/* One earlier contact as the agent console and the citizen's page show it. */
json_t *calls_journey_history_entry(const struct journey_signal *s)
{
    json_t *o = json_object();
    json_object_set_new(o, "joined_ms", json_integer(s->joined_ms));
    json_object_set_new(o, "channel", json_string(s->channel));
    json_object_set_new(o, "service", json_string(s->service));
    json_object_set_new(o, "outcome", json_string(journey_outcome_name(s->outcome)));
    json_object_set_new(o, "end_reason", json_string(s->end_reason));
    json_object_set_new(o, "wait_s", json_integer(s->wait_s));
    json_object_set_new(o, "talk_s", json_integer(s->talk_s));
    if (s->context_topic[0])
        json_object_set_new(o, "topic", json_string(s->context_topic));
    return o;
}

void calls_journey_send_history(struct calls *calls, struct call *call)
{
    struct ws_client *agent = call->client[SIDE_AGENT];
    if (!agent || !call->journey || !calls->journey)
        return;
    struct journey_signal *earlier = calloc(JOURNEY_HISTORY_MAX, sizeof(*earlier));
    json_t *msg = json_object(), *list = json_array();
    int n = earlier ? journey_history(calls->journey, call->journey->pseudonym, earlier,
                                      JOURNEY_HISTORY_MAX)
                    : -ENOMEM;
    for (int i = 0; i < n; i++)
        json_array_append_new(list, calls_journey_history_entry(&earlier[i]));
    free(earlier);
    json_object_set_new(msg, "type", json_string("history"));
    json_object_set_new(msg, "call", json_string(call->id));
    json_object_set_new(msg, "signals", list);
    if (n >= 0)
        ws_send(agent, json_dumps(msg, JSON_COMPACT));
    json_decref(msg);
}
