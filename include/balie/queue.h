/* The waiting queue and the matching of agents to citizens (DESIGN.md §1, §4).
 *
 * Pure state owned by the control thread: no clock, no sockets, no locks. Time comes in as
 * `now_ms` (any monotonic milliseconds), and citizens and agents are opaque 64-bit handles the
 * caller chooses (its session numbers, say). After any call that changes what citizens or
 * agents would be shown, `queue_generation` moves on, so the caller knows when to rebroadcast
 * positions and queue lists.
 *
 * Order: per service, first come first served by join time. Accepting without naming a call
 * takes the longest-waiting call among all the services the agent takes. */
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
    QUEUE_ERR_RANDOM = -13, /* the random source failed */
};

/* "not_found", "already_taken", "not_eligible", "not_available", "busy", "queue_empty",
 * "unknown_service", "loa_too_low", "duplicate", "invalid", "full", "internal"; "ok" for 0. */
const char *queue_result_name(int result);

struct queue_config {
    /* Fills `buf` with `len` unpredictable bytes and returns 0. NULL: OpenSSL's RAND_bytes.
     * Tests pass a counter here to get predictable call ids. */
    int (*random)(void *ctx, uint8_t *buf, size_t len);
    void *random_ctx;
    uint32_t default_talk_s; /* 0: QUEUE_DEFAULT_TALK_S */
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

/* Takes a waiting call out of the queue (the citizen gave up). QUEUE_ERR_ALREADY_TAKEN when an
 * agent has it: that is a call to hang up, no longer a place to give up. */
int queue_leave(struct queue *q, const char *call_id);

/* 1-based position of a waiting call among the calls waiting for the same service.
 * QUEUE_ERR_ALREADY_TAKEN once an agent has it, QUEUE_ERR_NOT_FOUND when it is gone. */
int queue_position(const struct queue *q, const char *call_id, uint32_t *position);

/* Estimated seconds until a waiting call is answered: position × the average of the service's
 * last QUEUE_HISTORY_LEN talk durations (or the default when there are none) ÷ the agents
 * available for that service (busy ones included: they work its line), rounded up. -1 when no
 * agent is available: unknown. */
int queue_estimated_wait_s(const struct queue *q, const char *call_id, int32_t *eta_s);

/* Adds a finished call's talk duration to its service's history. */
int queue_record_handled(struct queue *q, const char *service, uint32_t talk_s);

/* ---- Agents ---- */

/* Creates or updates an agent. `services` (n_services ids) are the services it takes; NULL or
 * 0 means all, including services registered later. The caller intersects what the agent
 * asked for with what it may take. A busy agent stays busy when it goes away. On an error
 * (an unknown service) nothing changes. */
int queue_agent_set(struct queue *q, uint64_t agent, bool available, const char *const *services,
                    size_t n_services);

/* A call an agent took, copied out of the queue. */
struct queue_call {
    char call[QUEUE_CALL_ID_LEN + 1];
    char service[QUEUE_ID_MAX + 1];
    char appointment[QUEUE_ID_MAX + 1]; /* "" when none */
    uint64_t citizen;
    enum identity_loa loa;
    uint64_t joined_ms;
    uint32_t waited_s;
};

/* An available, idle agent takes `call_id`, or with NULL the longest-waiting call among the
 * services it takes. The call leaves the queue and the agent is busy until
 * `queue_agent_release`. Of two agents accepting the same call the first wins; the second gets
 * QUEUE_ERR_ALREADY_TAKEN. Checks, in order: agent (NOT_AVAILABLE, BUSY), then call
 * (NOT_FOUND, ALREADY_TAKEN, NOT_ELIGIBLE), or EMPTY when no call was named. */
int queue_accept(struct queue *q, uint64_t agent, const char *call_id, uint64_t now_ms,
                 struct queue_call *out);

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
};

/* Fills `out` with up to `cap` calls the agent could take, longest-waiting first, and returns
 * how many there are in all (more than `cap` means the list was cut). 0 for an unknown agent. */
size_t queue_agent_view(const struct queue *q, uint64_t agent, uint64_t now_ms,
                        struct queue_entry_view *out, size_t cap);

/* A waiting call as its citizen sees it. */
struct queue_citizen_view {
    uint64_t citizen;
    const char *call;
    uint32_t position;
    int32_t estimated_wait_s; /* -1: unknown */
};

/* Fills `out` with up to `cap` waiting citizens, in queue order, and returns how many wait in
 * all. One pass over the queue, however many there are. */
size_t queue_citizen_views(const struct queue *q, struct queue_citizen_view *out, size_t cap);

#endif
