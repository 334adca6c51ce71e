/* The waiting queue and the matching of agents to citizens (DESIGN.md §1, §4).
 *
 * Pure state owned by the control thread: no clock, no sockets, no locks. Time comes in as
 * `now_ms` (any monotonic milliseconds), and citizens and agents are opaque 64-bit handles the
 * caller chooses (its session numbers, say). After any call that changes what citizens or
 * agents would be shown, `queue_generation` moves on, so the caller knows when to rebroadcast
 * positions and queue lists.
 *
 * Order (docs/queue.md): five lanes, served in this order, each first come first served:
 *   urgent       calls an agent moved to the urgent lane (queue_prioritize), in that order;
 *   transfer     calls transferred from another agent (queue_transfer): the head of the line;
 *   appointment  appointments whose turn has come (due time reached), by due time;
 *   walk-in      everyone else, by join time;
 *   early        appointments whose turn has not come yet, by due time (not served by `accept`
 *                without a call; an agent may still take one by name).
 * A call assigned to one agent (an appointment's agent, a transfer to a colleague) is seen and
 * taken only by that agent until its exclusive window ends, then by every agent of its service.
 * Accepting without naming a call takes the first eligible call in that order.
 *
 * Which lane a call is in depends on the time: the queue reads the clock from the last `now_ms`
 * it was given (queue_tick, joins, accepts). */
#ifndef BALIE_QUEUE_H
#define BALIE_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "balie/identity.h"

#define QUEUE_CALL_ID_LEN 16     /* hex characters: 64 random bits */
#define QUEUE_ID_MAX 64          /* service ids and appointment codes */
#define QUEUE_MAX_SERVICES 64    /* an agent's services are a 64-bit set */
#define QUEUE_HISTORY_LEN 20     /* talk durations averaged per service */
#define QUEUE_DEFAULT_TALK_S 300 /* assumed per call until a service has history */
#define QUEUE_AGENT_ID_MAX 31    /* an agent's id (the session's agent_id) */
#define QUEUE_NOTE_MAX 500       /* bytes of one transfer note */
#define QUEUE_NOTES_MAX 4        /* notes kept per call; the oldest goes first */
#define QUEUE_ASSIGN_FALLBACK_MS (5u * 60u * 1000u) /* an assigned call's exclusive window */

/* Results: 0, or one of these negative values. The names are the protocol's error codes. */
enum queue_result {
    QUEUE_OK = 0,
    QUEUE_ERR_NOT_FOUND = -1,       /* no such waiting call, or no such agent */
    QUEUE_ERR_ALREADY_TAKEN = -2,   /* another agent accepted the call first */
    QUEUE_ERR_NOT_ELIGIBLE = -3,    /* the agent does not take that call's service */
    QUEUE_ERR_NOT_AVAILABLE = -4,   /* the agent is away or never said it was there */
    QUEUE_ERR_BUSY = -5,            /* the agent is still in a call */
    QUEUE_ERR_EMPTY = -6,           /* nothing the agent takes is waiting */
    QUEUE_ERR_UNKNOWN_SERVICE = -7, /* not registered, or left out when several are */
    QUEUE_ERR_LOA_TOO_LOW = -8,     /* the citizen's assurance level is below the service's */
    QUEUE_ERR_DUPLICATE = -9,       /* the citizen is already waiting or in a call */
    QUEUE_ERR_INVALID = -10,        /* an argument is malformed (too long, bad characters) */
    QUEUE_ERR_FULL = -11,           /* QUEUE_MAX_SERVICES services are registered */
    QUEUE_ERR_NO_MEMORY = -12,
    QUEUE_ERR_RANDOM = -13,        /* the random source failed */
    QUEUE_ERR_UNKNOWN_AGENT = -14, /* a transfer names an agent that is not connected */
};

/* The lanes of the line, in serving order. */
enum queue_lane {
    QUEUE_LANE_URGENT = 0,
    QUEUE_LANE_TRANSFER,
    QUEUE_LANE_APPOINTMENT,
    QUEUE_LANE_WALK_IN,
    QUEUE_LANE_EARLY,
};

/* "urgent", "transfer", "appointment", "walk_in", "early". */
const char *queue_lane_name(enum queue_lane lane);

/* A note that travels with a transferred call, shown to the next agent. Never logged. */
struct queue_note {
    char from_agent[QUEUE_AGENT_ID_MAX + 1];
    char from_service[QUEUE_ID_MAX + 1];
    char text[QUEUE_NOTE_MAX + 1];
};

/* "not_found", "already_taken", "not_eligible", "not_available", "busy", "queue_empty",
 * "unknown_service", "loa_too_low", "duplicate", "invalid", "full", "unknown_agent",
 * "internal"; "ok" for 0. */
const char *queue_result_name(int result);

struct queue_config {
    /* Fills `buf` with `len` unpredictable bytes and returns 0. NULL: OpenSSL's RAND_bytes.
     * Tests pass a counter here to get predictable call ids. */
    int (*random)(void *ctx, uint8_t *buf, size_t len);
    void *random_ctx;
    uint32_t default_talk_s;     /* 0: QUEUE_DEFAULT_TALK_S */
    uint32_t assign_fallback_ms; /* 0: QUEUE_ASSIGN_FALLBACK_MS */
};

struct queue;

/* `cfg` may be NULL for the defaults; it is copied. Returns NULL when memory runs out. */
struct queue *queue_new(const struct queue_config *cfg);
void queue_free(struct queue *q);

/* Registers a service: an id of 1..QUEUE_ID_MAX characters of [A-Za-z0-9._:-], and the lowest
 * assurance level it accepts (DESIGN.md §6). Services are never removed. */
int queue_service_add(struct queue *q, const char *service, enum identity_loa min_loa);

/* ---- Citizens ---- */

/* Puts a citizen at the back of `service`'s line. `service` may be NULL when exactly one service
 * is registered. `appointment` may be NULL. Writes the new call's id (QUEUE_CALL_ID_LEN hex
 * characters and a NUL) to `call_id_out`. A citizen handle waits at most once at a time. */
int queue_join(struct queue *q, uint64_t now_ms, const char *service, uint64_t citizen,
               enum identity_loa loa, const char *appointment,
               char call_id_out[QUEUE_CALL_ID_LEN + 1]);

/* What an appointment adds to a join. */
struct queue_join_opts {
    const char *appointment; /* the appointment's code (an id), or NULL for a walk-in */
    uint64_t due_ms;         /* when its turn comes, on the queue's clock; 0: at once */
    const char *agent;       /* the agent assigned to it, or NULL for any */
    int64_t slot_start_ms;   /* the slot's start in unix ms, only carried for display */
};

/* queue_join with appointment details: an appointment waits in the early lane until `due_ms`,
 * then goes ahead of walk-ins; with `agent` only that agent is offered it until `due_ms` +
 * the fallback window. A plain queue_join with an appointment code is due at once. */
int queue_join_ex(struct queue *q, uint64_t now_ms, const char *service, uint64_t citizen,
                  enum identity_loa loa, const struct queue_join_opts *opts,
                  char call_id_out[QUEUE_CALL_ID_LEN + 1]);

/* Moves the clock on. Returns true (and moves the generation on) when an appointment's turn
 * came or an assigned call's exclusive window ended since the last call: positions changed. */
bool queue_tick(struct queue *q, uint64_t now_ms);

/* Takes a waiting call out of the queue (the citizen gave up). QUEUE_ERR_ALREADY_TAKEN when an
 * agent has it: that is a call to hang up, no longer a place to give up. */
int queue_leave(struct queue *q, const char *call_id);

/* 1-based position of a waiting call among the calls waiting for the same service, in serving
 * order. QUEUE_ERR_ALREADY_TAKEN once an agent has it, QUEUE_ERR_NOT_FOUND when it is gone. */
int queue_position(const struct queue *q, const char *call_id, uint32_t *position);

/* Estimated seconds until a waiting call is answered: position × the average of the service's
 * last QUEUE_HISTORY_LEN talk durations (or the default when there are none) ÷ the agents
 * available for that service (busy ones included: they work its line), rounded up. -1 when no
 * agent is available: unknown. An early appointment waits at least until its turn. */
int queue_estimated_wait_s(const struct queue *q, const char *call_id, int32_t *eta_s);

/* The lane a waiting call is in now. NOT_FOUND or ALREADY_TAKEN as queue_position. */
int queue_call_lane(const struct queue *q, const char *call_id, enum queue_lane *lane);

/* An agent moves a waiting call it may take to the urgent lane (idempotent). NOT_FOUND,
 * ALREADY_TAKEN, NOT_AVAILABLE (unknown agent) or NOT_ELIGIBLE. */
int queue_prioritize(struct queue *q, uint64_t agent, const char *call_id);

/* Adds a finished call's talk duration to its service's history. */
int queue_record_handled(struct queue *q, const char *service, uint32_t talk_s);

/* ---- Agents ---- */

/* Creates or updates an agent. `services` (n_services ids) are the services it takes; NULL or
 * 0 means all, including services registered later. The caller intersects what the agent
 * asked for with what it may take. A busy agent stays busy when it goes away. On an error
 * (an unknown service) nothing changes. */
int queue_agent_set(struct queue *q, uint64_t agent, bool available, const char *const *services,
                    size_t n_services);

/* Names an agent (the session's agent_id: 1..QUEUE_AGENT_ID_MAX id characters), so that
 * appointments and transfers can be assigned to it. The agent must have been set. */
int queue_agent_set_id(struct queue *q, uint64_t agent, const char *agent_id);

/* Whether an agent with this id is connected (set, available or not). */
bool queue_agent_id_known(const struct queue *q, const char *agent_id);

/* A call an agent took, copied out of the queue. `notes` point into the queue and stay valid
 * while the agent holds the call. */
struct queue_call {
    char call[QUEUE_CALL_ID_LEN + 1];
    char service[QUEUE_ID_MAX + 1];
    char appointment[QUEUE_ID_MAX + 1]; /* "" when none */
    uint64_t citizen;
    enum identity_loa loa;
    uint64_t joined_ms;
    uint32_t waited_s;
    bool urgent, transferred;
    const struct queue_note *notes; /* oldest first */
    size_t note_count;
};

/* An available, idle agent takes `call_id`, or with NULL the longest-waiting call among the
 * services it takes. The call leaves the queue and the agent is busy until
 * `queue_agent_release`. Of two agents accepting the same call the first wins; the second gets
 * QUEUE_ERR_ALREADY_TAKEN. Checks, in order: agent (NOT_AVAILABLE, BUSY), then call
 * (NOT_FOUND, ALREADY_TAKEN, NOT_ELIGIBLE), or EMPTY when no call was named. */
int queue_accept(struct queue *q, uint64_t agent, const char *call_id, uint64_t now_ms,
                 struct queue_call *out);

/* Where a transfer sends the call an agent holds: exactly one of `service` and `agent`. */
struct queue_transfer {
    const char *service; /* another service's line, at its head */
    const char *agent;   /* a colleague's id: only they are offered it, for the fallback window */
    const char *note;    /* NULL or up to QUEUE_NOTE_MAX bytes; kept with the earlier notes */
    const char *from_agent; /* the transferring agent's id, kept with the note */
};

/* Puts the call `agent` holds back in the queue, in the transfer lane (ahead of everyone but
 * urgent calls), with the same call id, join time and appointment; the agent is idle again.
 * NOT_FOUND (the agent holds no call), INVALID (both or neither target, a note too long, a
 * transfer to oneself), UNKNOWN_SERVICE, LOA_TOO_LOW (the citizen's level is below the new
 * service's), UNKNOWN_AGENT. On an error nothing changes. */
int queue_transfer(struct queue *q, uint64_t now_ms, uint64_t agent,
                   const struct queue_transfer *to);

/* The agent's call ended: it is idle again (and takes calls if available). */
int queue_agent_release(struct queue *q, uint64_t agent);

/* Forgets an agent (its console closed). A call it held is the caller's to end. */
int queue_agent_remove(struct queue *q, uint64_t agent);

/* ---- Views, for broadcasting. Their pointers stay valid until the queue next changes. ---- */

uint64_t queue_generation(const struct queue *q);
size_t queue_waiting_count(const struct queue *q);

/* A waiting call as an agent sees it. */
struct queue_entry_view {
    const char *call;
    const char *service;
    uint32_t waited_s;
    enum identity_loa loa;
    const char *appointment; /* NULL when none */
    enum queue_lane lane;
    uint32_t due_in_s;              /* early appointments: seconds until their turn; else 0 */
    const char *assigned;           /* the agent it is reserved for right now, or NULL */
    const struct queue_note *notes; /* transfer notes, oldest first */
    size_t note_count;
    int64_t slot_start_ms; /* an appointment's start (unix ms) as given at the join; 0: none */
};

/* Fills `out` with up to `cap` calls the agent could take, in serving order, and returns
 * how many there are in all (more than `cap` means the list was cut). 0 for an unknown agent. */
size_t queue_agent_view(const struct queue *q, uint64_t agent, uint64_t now_ms,
                        struct queue_entry_view *out, size_t cap);

/* A waiting call as its citizen sees it. */
struct queue_citizen_view {
    uint64_t citizen;
    const char *call;
    uint32_t position;
    int32_t estimated_wait_s; /* -1: unknown */
    enum queue_lane lane;
};

/* Fills `out` with up to `cap` waiting citizens, in serving order, and returns how many wait in
 * all. One sort of the queue, however many there are. */
size_t queue_citizen_views(const struct queue *q, struct queue_citizen_view *out, size_t cap);

#endif
