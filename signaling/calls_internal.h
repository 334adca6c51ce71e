/* What calls.c, calls_journey.c and calls_metrics.c share: the call and the calls registry.
 * Not a public face; control thread only. */
#ifndef BALIE_SIGNALING_CALLS_INTERNAL_H
#define BALIE_SIGNALING_CALLS_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "balie/journey.h"
#include "balie/media.h"
#include "balie/opening_hours.h"
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
    /* Hold (calls_hold.c): on hold since, the time on hold so far, how often. */
    bool held;
    uint64_t held_since_ms, held_ms;
    uint32_t holds;
    struct journey_signal *journey; /* the citizen's session, taken over from the client */
    struct queue_call taken;        /* as it left the queue (notes valid while the agent has it) */
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
    struct journey_context_verifier *context_verifier; /* NULL: every context is refused */
    uint64_t contexts_refused;
    char addresses[SDP_MAX_CANDIDATES][SDP_IP_TEXT_MAX + 1];
    size_t address_count;
    uint64_t started, ended[OUT_COUNT], joins, refused_joins, worker_queue_full;
    uint64_t refused_loa; /* joins refused because the citizen's level was too low */
    /* Media totals over every leg that ever reported, from the deltas of its stats. */
    uint64_t packets[2][2], bytes[2][2]; /* [audio|video][in|out] */
    uint64_t lost, dropped, keyframe_requests;
    uint64_t ice_restarts, ice_restarts_recovered;
    /* Reconnects (calls_resume.c): parked now, ever parked, resumed, refused, timed out. */
    uint64_t parked, parked_total, resumed, resume_refused, parked_expired;
    /* The queue's additions (calls_queue.c): opening hours per configured service, in the
     * order of cfg->services, and the appointments (NULL: none). */
    struct opening_hours hours[CONFIG_MAX_SERVICES];
    struct appt_store *appointments;
    uint64_t transfers, prioritized, appointment_joins, closed_refusals, appointments_purged_ms;
    uint64_t hold_ms; /* calls_hold.c: hold time of every hold that ended */
    /* Queue broadcasts (calls_flush_queue): pending, when last sent, and the agents' roster
     * (moves on when an agent comes or goes: colleagues lists change). */
    bool queue_dirty;
    uint64_t queue_sent_ms, roster;
    uint64_t queue_flushes, queue_messages; /* for metrics and tests */
};

static inline uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* calls.c, for its companions. */
void calls_send_error(struct ws_client *c, const struct proto_id *id, const char *code,
                      const char *message);
void calls_send_ack(struct ws_client *c, const struct proto_id *id);
void calls_broadcast_queue(struct calls *calls);
/* `call` and the leg's offer to `side` (its peer's level and provider, if it is still there). */
void calls_send_call_and_offer(struct calls *calls, struct call *call, int side);
void calls_send_offer(struct call *call, int side);

/* calls_resume.c: a dropped WebSocket keeps its place or call for reconnect.grace_s. */
/* Gives `c` a fresh single-use token (`session {token, grace_s}`). */
void calls_resume_issue(struct calls *calls, struct ws_client *c);
/* At close: true when `c` was parked (its state moved to a detached copy); then the caller
 * must not touch the queue or the call for it. */
bool calls_resume_park(struct calls *calls, struct ws_client *c);
void calls_resume_handle(struct calls *calls, struct ws_client *c, const struct proto_msg *m);
/* Closes parked clients whose grace ran out (`all`: every one, at shutdown). */
void calls_resume_tick(struct calls *calls, uint64_t now, bool all);

/* calls_journey.c: one journey signal per citizen session. */
void calls_journey_begin(struct calls *calls, struct ws_client *c, const char *service,
                         const char *appointment, const struct journey_context *context);
/* Verifies a join's handover context token (journey.context_*). 0 with `out` filled, or -1
 * with a sentence for the citizen in `why`. */
int calls_journey_context(struct calls *calls, const char *token, struct journey_context *out,
                          char *why, size_t why_len);
void calls_journey_end(struct calls *calls, struct journey_signal **sp, enum journey_outcome out,
                       const char *reason, const char *stage);
void calls_journey_call_end(struct calls *calls, struct call *call, const char *reason,
                            enum outcome out);
/* A waiting citizen's session ends without a call (left, or the socket closed): abandoned, or
 * no_agent when no agent was available for its service at any moment of the wait. */
void calls_journey_wait_end(struct calls *calls, struct ws_client *c, const char *reason);
/* Once a second: notes which waiting citizens have an agent available, and ends the waits
 * longer than journey.no_agent_timeout_s as no_agent. Returns how many waits it ended (the
 * queue changed: the caller broadcasts). */
int calls_journey_tick(struct calls *calls);

/* The hook for transfers (DESIGN.md §4 `transfer`). The agent handed `call` on to `target`
 * (a service id or an agent id; `service` is the service the citizen continues in, NULL for
 * the same). Closes the call's signal as transferred (end_reason "transfer", transfer_to
 * target), so the call's own end records nothing more, and returns the citizen's continued
 * session: a new signal, written open, with the same pseudonym, assurance, context and
 * appointment and previous_id naming the closed one. The caller owns it and gives it to the
 * citizen (ws_client.journey) while they wait again, or to the next call (call.journey).
 * NULL when the call had no signal or the store failed. */
struct journey_signal *calls_journey_transfer(struct calls *calls, struct call *call,
                                              const char *target, const char *service);

/* What the agent sees: the handover context added to `queue` entries (waiting[].context) and
 * to the agent's `call` (peer.context), and a `history` message of the citizen's earlier
 * signals after the call starts (docs/protocol.md). The decorators take over `json` and return
 * what to send (the original when there is nothing to add). */
char *calls_journey_decorate_queue(struct calls *calls, char *json);
char *calls_journey_decorate_call(struct call *call, int side, char *json);
void calls_journey_send_history(struct calls *calls, struct call *call);
struct json_t;
struct json_t *calls_journey_history_entry(const struct journey_signal *s);

/* calls_metrics.c: /metrics for calls, the queue and media; per-leg stats folded in. */
void calls_collect_metrics(struct strbuf *out, void *arg);
void calls_on_leg_stats(struct calls *calls, struct call_leg *leg,
                        const struct media_leg_stats *st);

/* calls.c, for calls_queue.c and transfer.c. */
int calls_leg_close(struct calls *calls, struct call *call, int side);

/* calls_queue.c: opening hours, appointments, lanes, the citizen's place. */
struct calls_join_plan {
    const char *service; /* the appointment's service, or what the citizen chose */
    struct queue_join_opts opts;
};
void calls_queue_init(struct calls *calls);
/* Checks a join against opening hours and the appointment code. 0 with `plan`, or -1 after
 * telling the citizen why (closed, appointment_unknown, …). */
int calls_queue_plan_join(struct calls *calls, struct ws_client *c, const struct proto_msg *m,
                          struct calls_join_plan *plan);
/* `queued` (first) or `queue` for a waiting citizen; NULL when it no longer waits. */
char *calls_queue_position_msg(struct calls *calls, struct ws_client *c, bool first);
/* A `queue` message for a waiting citizen when its position, estimate or lane changed since
 * it was last told; else NULL. */
char *calls_queue_position_update(struct calls *calls, struct ws_client *c);
void calls_queue_peer_info(const struct call *call, struct proto_peer *info);
/* An agent's `queue` {waiting, colleagues}: the calls it may take, and the other agents it
 * may transfer to. */
char *calls_queue_agent_msg(struct calls *calls, struct ws_client *c,
                            const struct queue_entry_view *views, size_t n);
void calls_queue_prioritize(struct calls *calls, struct ws_client *c, const struct proto_msg *m);
void calls_queue_tick(struct calls *calls, uint64_t now);

/* transfer.c */
void calls_transfer(struct calls *calls, struct ws_client *agent, const struct proto_msg *m);

/* calls_hold.c: `hold` and `resume` from the agent; what the call's media is now (held,
 * flowing or connecting) for `state` messages; the end of a call on hold; /metrics totals. */
void calls_handle_hold(struct calls *calls, struct ws_client *c, const struct proto_msg *m);
enum proto_media calls_media_now(const struct call *call);
void calls_hold_end(struct calls *calls, struct call *call);
void calls_hold_totals(const struct calls *calls, uint64_t *on_hold, double *hold_s);

#endif
