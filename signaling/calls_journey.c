/* Journey signals for calls (DESIGN.md §7): a citizen's session opens a signal when they join
 * and closes it, exactly once, with the outcome of how the session ended. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "balie/log.h"
#include "calls_internal.h"

/* ---- Journey signals (journey.h): one per citizen session ---- */

/* The citizen joined: the session begins and is written as open at once, so that even a
 * gateway killed now leaves a row (closed as dropped at the next start). */
/* A handover context is free text from another channel; only a short reference of id
 * characters is kept, so no message or personal detail can ride along into the signal. */
static bool context_is_reference(const char *context)
{
    size_t n = context ? strlen(context) : 0;
    if (n == 0 || n >= sizeof(((struct journey_signal *)0)->context_ref))
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = context[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == ':' || ch == '-'))
            return false;
    }
    return true;
}

void calls_journey_begin(struct calls *calls, struct ws_client *c, const char *service,
                         const char *appointment, const char *context)
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
    if (context_is_reference(context))
        snprintf(s->context_ref, sizeof(s->context_ref), "%s", context);
    if (calls->journey && journey_open(calls->journey, s) != 0)
        log_error("journey", "cannot write the open signal %s", s->id);
    c->journey = s;
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
        log_error("journey", "cannot close the signal %s: %s", s->id, strerror(-err));
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

/* How a call's end reads as a journey outcome. A hang-up before media ever flowed is a
 * failure to connect (stage "connecting"): nobody talked. */
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
        calls_journey_end(calls, &call->journey, JOURNEY_FAILED, reason, "connecting");
    else if (out == OUT_FAILED)
        calls_journey_end(calls, &call->journey, JOURNEY_FAILED, reason,
                          strcmp(reason, "bad_answer") == 0 ? "signaling" : reason);
    else
        calls_journey_end(calls, &call->journey, JOURNEY_DROPPED, reason, NULL);
}

void calls_attach_journey(struct calls *calls, struct journey_store *store,
                          struct journey_metrics *metrics)
{
    calls->journey = store;
    calls->journey_metrics = metrics;
}

void calls_shutdown(struct calls *calls)
{
    calls->shutting_down = true;
    calls_resume_tick(calls, 0, true); /* nobody comes back to a gateway that stops */
}
