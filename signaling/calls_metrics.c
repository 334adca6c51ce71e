/* /metrics for calls, the queue and the media plane, and the per-leg statistics the workers
 * report once a second, folded into totals. */
#include <stdio.h>

#include "balie/metrics.h"
#include "calls_internal.h"

/* ---- Metrics ---- */

/* Averages RTT and jitter over the legs that reported in this second's round. */
static void media_averages(const struct calls *calls, double *rtt_ms, double *jitter_ms, int *legs)
{
    double rtt = 0, jitter = 0;
    int n = 0, n_rtt = 0;
    for (const struct call *call = calls->list; call; call = call->next) {
        for (int side = 0; side < 2; side++) {
            const struct call_leg *leg = &call->leg[side];
            if (!leg->has_stats)
                continue;
            n++;
            jitter += leg->stats.jitter_ms;
            if (leg->stats.rtt_ms) {
                rtt += leg->stats.rtt_ms;
                n_rtt++;
            }
        }
    }
    *legs = n;
    *rtt_ms = n_rtt ? rtt / n_rtt : 0;
    *jitter_ms = n ? jitter / n : 0;
}

static void collect_media_metrics(struct strbuf *out, const struct calls *calls)
{
    static const char *const kinds[2] = {"audio", "video"}, *const dirs[2] = {"in", "out"};
    strbuf_appendf(out, "# HELP balie_media_packets_total RTP packets relayed, by kind and "
                        "direction (in: from browsers, out: to browsers).\n"
                        "# TYPE balie_media_packets_total counter\n");
    for (int k = 0; k < 2; k++)
        for (int d = 0; d < 2; d++)
            strbuf_appendf(out, "balie_media_packets_total{kind=\"%s\",direction=\"%s\"} %llu\n",
                           kinds[k], dirs[d], (unsigned long long)calls->packets[k][d]);
    strbuf_appendf(out, "# HELP balie_media_bytes_total RTP bytes relayed, by kind and direction.\n"
                        "# TYPE balie_media_bytes_total counter\n");
    for (int k = 0; k < 2; k++)
        for (int d = 0; d < 2; d++)
            strbuf_appendf(out, "balie_media_bytes_total{kind=\"%s\",direction=\"%s\"} %llu\n",
                           kinds[k], dirs[d], (unsigned long long)calls->bytes[k][d]);
    metrics_write_simple(out, "balie_media_lost_packets_total", "counter",
                         "Packets browsers did not deliver to us (RTP sequence gaps).",
                         (double)calls->lost);
    metrics_write_simple(out, "balie_media_dropped_packets_total", "counter",
                         "Packets legs dropped (unauthenticated, unknown SSRC, no peer yet).",
                         (double)calls->dropped);
    metrics_write_simple(out, "balie_media_keyframe_requests_total", "counter",
                         "PLI/FIR the gateway sent to browsers.", (double)calls->keyframe_requests);
    double rtt, jitter;
    int legs;
    media_averages(calls, &rtt, &jitter, &legs);
    metrics_write_simple(out, "balie_media_legs_reporting", "gauge",
                         "Legs of running calls that report statistics.", legs);
    /* Prometheus wants base units: seconds, not milliseconds. */
    metrics_write_simple(out, "balie_media_rtt_seconds_avg", "gauge",
                         "Average round-trip time over reporting legs (RTCP), in seconds.",
                         rtt / 1000.0);
    metrics_write_simple(out, "balie_media_jitter_seconds_avg", "gauge",
                         "Average video receive jitter over reporting legs, in seconds.",
                         jitter / 1000.0);
}

void calls_collect_metrics(struct strbuf *out, void *arg)
{
    struct calls *calls = arg;
    collect_media_metrics(out, calls);
    metrics_write_simple(out, "balie_calls_started_total", "counter",
                         "Calls matched and offered to both browsers.", (double)calls->started);
    strbuf_appendf(out, "# HELP balie_calls_ended_total Calls ended, by outcome.\n"
                        "# TYPE balie_calls_ended_total counter\n");
    for (int i = 0; i < OUT_COUNT; i++)
        strbuf_appendf(out, "balie_calls_ended_total{outcome=\"%s\"} %llu\n", outcome_names[i],
                       (unsigned long long)calls->ended[i]);
    metrics_write_simple(out, "balie_queue_waiting", "gauge", "Citizens waiting in the queue.",
                         (double)queue_waiting_count(calls->queue));
    metrics_write_simple(out, "balie_queue_broadcasts_total", "counter",
                         "Coalesced queue broadcasts (one per loop turn at most).",
                         (double)calls->queue_flushes);
    metrics_write_simple(out, "balie_queue_messages_total", "counter",
                         "queue messages sent (agents' views, waiting citizens' places).",
                         (double)calls->queue_messages);
    metrics_write_simple(out, "balie_queue_joins_total", "counter", "Citizens who joined a queue.",
                         (double)calls->joins);
    metrics_write_simple(out, "balie_queue_refused_joins_total", "counter",
                         "Joins refused (level too low, unknown service, draining, …).",
                         (double)calls->refused_joins);
    metrics_write_simple(out, "balie_queue_refused_loa_total", "counter",
                         "Joins refused because the citizen's assurance level was below the "
                         "service's min_loa.",
                         (double)calls->refused_loa);
    metrics_write_simple(out, "balie_ice_restarts_total", "counter",
                         "ICE restarts offered because a browser's path went quiet.",
                         (double)calls->ice_restarts);
    metrics_write_simple(out, "balie_ice_restarts_recovered_total", "counter",
                         "ICE restarts after which the browser was connected again.",
                         (double)calls->ice_restarts_recovered);
    metrics_write_simple(
        out, "balie_reconnect_parked", "gauge",
        "Waiting citizens and calls whose WebSocket dropped, kept for a reconnect.",
        (double)calls->parked);
    metrics_write_simple(out, "balie_reconnect_parked_total", "counter",
                         "WebSockets that dropped while waiting or in a call.",
                         (double)calls->parked_total);
    metrics_write_simple(out, "balie_reconnect_resumed_total", "counter",
                         "Dropped WebSockets that came back in time (resume_session).",
                         (double)calls->resumed);
    metrics_write_simple(out, "balie_reconnect_expired_total", "counter",
                         "Dropped WebSockets that did not come back within reconnect.grace_s.",
                         (double)calls->parked_expired);
    metrics_write_simple(out, "balie_reconnect_refused_total", "counter",
                         "resume_session refused (unknown, used or expired token, other person).",
                         (double)calls->resume_refused);
    uint64_t on_hold = 0;
    double hold_s = 0;
    calls_hold_totals(calls, &on_hold, &hold_s);
    metrics_write_simple(out, "balie_calls_on_hold", "gauge", "Calls on hold now.",
                         (double)on_hold);
    metrics_write_simple(out, "balie_hold_seconds_total", "counter",
                         "Time calls spent on hold, in seconds.", hold_s);
    metrics_write_simple(out, "balie_worker_queue_full_total", "counter",
                         "Calls failed because a media worker's command queue was full.",
                         (double)calls->worker_queue_full);
}

static uint64_t delta(uint64_t now, uint64_t before)
{
    return now >= before ? now - before : 0;
}

/* Stats are cumulative per leg: the totals grow by what changed since the leg's last report. */
void calls_on_leg_stats(struct calls *calls, struct call_leg *leg, const struct media_leg_stats *st)
{
    static const struct media_leg_stats zero;
    const struct media_leg_stats *old = leg->has_stats ? &leg->stats : &zero;
    calls->packets[0][0] += delta(st->audio_packets_in, old->audio_packets_in);
    calls->packets[0][1] += delta(st->audio_packets_out, old->audio_packets_out);
    calls->packets[1][0] += delta(st->video_packets_in, old->video_packets_in);
    calls->packets[1][1] += delta(st->video_packets_out, old->video_packets_out);
    calls->bytes[0][0] += delta(st->audio_bytes_in, old->audio_bytes_in);
    calls->bytes[0][1] += delta(st->audio_bytes_out, old->audio_bytes_out);
    calls->bytes[1][0] += delta(st->video_bytes_in, old->video_bytes_in);
    calls->bytes[1][1] += delta(st->video_bytes_out, old->video_bytes_out);
    calls->lost += delta(st->lost, old->lost);
    calls->dropped += delta(st->dropped, old->dropped);
    calls->keyframe_requests += delta(st->keyframe_requests, old->keyframe_requests);
    leg->stats = *st;
    leg->has_stats = true;
}
