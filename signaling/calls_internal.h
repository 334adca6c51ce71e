/* What calls.c, calls_journey.c and calls_metrics.c share: the call and the calls registry.
 * Not a public face; control thread only. */
#ifndef BALIE_SIGNALING_CALLS_INTERNAL_H
#define BALIE_SIGNALING_CALLS_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "balie/journey.h"
#include "balie/media.h"
#include "balie/sdp.h"
#include "balie/strbuf.h"
#include "ws_internal.h"

enum { SIDE_CITIZEN = 0, SIDE_AGENT = 1 };

struct call_leg {
    uint64_t leg_id;
    struct sdp_offer_params offer;
    bool answered;
    bool flowing;
    bool reconnecting; /* an ICE restart offer was sent; cleared when ICE connects again */
    uint32_t restarts;
    bool has_stats;
    struct media_leg_stats stats; /* the latest, cumulative since the leg began */
};

struct call {
    char id[QUEUE_CALL_ID_LEN + 1];
    char service[QUEUE_ID_MAX + 1];
    struct ws_client *client[2]; /* NULL once that socket closed */
    uint64_t agent_handle;
    int worker;
    struct call_leg leg[2];
    bool flowing;
    uint64_t started_ms, flowing_ms;
    struct journey_signal *journey; /* the citizen's session, taken over from the client */
    struct call *next;
};

enum outcome { OUT_COMPLETED, OUT_FAILED, OUT_DROPPED, OUT_COUNT };
extern const char *const outcome_names[OUT_COUNT];

struct calls {
    const struct balie_config *cfg;
    char fingerprint[SDP_FINGERPRINT_TEXT + 1];
    struct worker_pool *pool;
    struct queue *queue;
    struct ws_client *clients;
    int client_count;
    struct call *list;
    int active;
    uint64_t next_handle, next_leg;
    int next_worker;
    bool draining;
    bool shutting_down;
    struct journey_store *journey;
    struct journey_metrics *journey_metrics;
    char addresses[SDP_MAX_CANDIDATES][SDP_IP_TEXT_MAX + 1];
    size_t address_count;
    uint64_t started, ended[OUT_COUNT], joins, refused_joins, worker_queue_full;
    uint64_t refused_loa; /* joins refused because the citizen's level was too low */
    /* Media totals over every leg that ever reported, from the deltas of its stats. */
    uint64_t packets[2][2], bytes[2][2]; /* [audio|video][in|out] */
    uint64_t lost, dropped, keyframe_requests;
    uint64_t ice_restarts, ice_restarts_recovered;
};

static inline uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* calls_journey.c: one journey signal per citizen session. */
void calls_journey_begin(struct calls *calls, struct ws_client *c, const char *service,
                         const char *appointment, const char *context);
void calls_journey_end(struct calls *calls, struct journey_signal **sp, enum journey_outcome out,
                       const char *reason, const char *stage);
void calls_journey_call_end(struct calls *calls, struct call *call, const char *reason,
                            enum outcome out);

/* calls_metrics.c: /metrics for calls, the queue and media; per-leg stats folded in. */
void calls_collect_metrics(struct strbuf *out, void *arg);
void calls_on_leg_stats(struct calls *calls, struct call_leg *leg,
                        const struct media_leg_stats *st);

#endif
