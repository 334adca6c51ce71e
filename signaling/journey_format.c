/* The two webhook bodies of a journey signal: a klantcontact (VNG Klantinteracties API, as
 * Open Klant takes it on POST /klantinteracties/api/v1/klantcontacten) and a CloudEvent 1.0 in
 * structured mode. Both carry the signal as exported (journey_to_json): no BSN, no name, no
 * chat text, only the pseudonym. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "balie/journey_outbox.h"

int journey_format_parse(const char *text, enum journey_format *out)
{
    if (text && strcmp(text, "klantinteracties") == 0)
        *out = JOURNEY_FORMAT_KLANTINTERACTIES;
    else if (text && strcmp(text, "cloudevents") == 0)
        *out = JOURNEY_FORMAT_CLOUDEVENTS;
    else
        return -1;
    return 0;
}

void journey_rfc3339(int64_t ms, char out[32])
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char base[24];
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 32, "%s.%03dZ", base, (int)(ms % 1000));
}

static json_t *signal_object(const struct journey_signal *s)
{
    char *text = journey_to_json(s);
    json_t *o = text ? json_loads(text, 0, NULL) : NULL;
    free(text);
    return o;
}

/* What a person at the municipality reads in the contact registry: the outcome in Dutch and
 * the times, never anything the citizen or agent said. */
static void klantcontact_inhoud(const struct journey_signal *s, char *out, size_t len)
{
    static const char *const outcome_nl[JOURNEY_OUTCOME_COUNT] = {"loopt nog",
                                                                  "gesprek gevoerd",
                                                                  "afgebroken in de wachtrij",
                                                                  "geen medewerker beschikbaar",
                                                                  "verbinding mislukt",
                                                                  "verbinding verbroken",
                                                                  "doorverbonden"};
    const char *what = (unsigned)s->outcome < JOURNEY_OUTCOME_COUNT ? outcome_nl[s->outcome] : "";
    int n = snprintf(out, len, "Videogesprek via Balie: %s. Wachttijd %lld s, gesprekstijd %lld s.",
                     what, (long long)s->wait_s, (long long)s->talk_s);
    if (n > 0 && (size_t)n < len && s->failure_stage[0])
        snprintf(out + n, len - (size_t)n, " Mislukt bij: %s.", s->failure_stage);
}

char *journey_klantcontact_json(const struct journey_signal *s, const char *onderwerp)
{
    json_t *meta = signal_object(s);
    json_t *o = json_object();
    if (!meta || !o) {
        json_decref(meta);
        json_decref(o);
        return NULL;
    }
    char when[32], inhoud[256];
    journey_rfc3339(s->joined_ms, when);
    klantcontact_inhoud(s, inhoud, sizeof(inhoud));
    /* Klantinteracties: kanaal and onderwerp are free text (≤ 50 and ≤ 200 characters), taal
     * ISO 639-2/B, plaatsgevondenOp an ISO 8601 date-time. Open Klant ignores fields it does
     * not know, so our own record travels along under `metadata`. */
    json_object_set_new(o, "kanaal", json_string("video"));
    json_object_set_new(o, "onderwerp",
                        json_string(onderwerp && onderwerp[0] ? onderwerp : s->service));
    json_object_set_new(o, "inhoud", json_string(inhoud));
    json_object_set_new(
        o, "indicatieContactGelukt",
        json_boolean(s->outcome == JOURNEY_COMPLETED || s->outcome == JOURNEY_TRANSFERRED));
    json_object_set_new(o, "taal", json_string("nld"));
    json_object_set_new(o, "vertrouwelijk", json_true());
    json_object_set_new(o, "plaatsgevondenOp", json_string(when));
    json_object_set_new(o, "metadata", meta);
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return text;
}

char *journey_cloudevent_json(const struct journey_signal *s, const char *source)
{
    json_t *data = signal_object(s);
    json_t *o = json_object();
    if (!data || !o) {
        json_decref(data);
        json_decref(o);
        return NULL;
    }
    char when[32];
    journey_rfc3339(s->ended_ms ? s->ended_ms : s->joined_ms, when);
    /* CloudEvents 1.0 §3.1: id + source identify the event, so the signal id is the
     * receiver's deduplication key. */
    json_object_set_new(o, "specversion", json_string("1.0"));
    json_object_set_new(o, "type", json_string("nl.balie.journey.signal.v1"));
    json_object_set_new(o, "source", json_string(source && source[0] ? source : "urn:balie"));
    json_object_set_new(o, "id", json_string(s->id));
    json_object_set_new(o, "time", json_string(when));
    json_object_set_new(o, "subject", json_string(s->service));
    json_object_set_new(o, "datacontenttype", json_string("application/json"));
    json_object_set_new(o, "data", data);
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return text;
}
