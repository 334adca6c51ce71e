/* The WebSocket side of the control thread: one struct ws_client per open `balie.v1` socket
 * (ws.c), and the calls that connect citizens with agents (calls.c). Control thread only. */
#ifndef BALIE_SIGNALING_WS_INTERNAL_H
#define BALIE_SIGNALING_WS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libwebsockets.h>

#include "balie/config.h"
#include "balie/identity.h"
#include "balie/idp.h"
#include "balie/protocol.h"
#include "balie/queue.h"

/* The first size of the buffer ws.c puts a fragmented message together in (it doubles up to
 * PROTO_FRAME_MAX and is freed when the message is complete). */
#define WS_RX_BUFFER 4096
#include "balie/worker.h"

struct call;
struct calls;
struct server;
struct journey_metrics;
struct journey_signal;
struct journey_store;

struct ws_out {
    struct ws_out *next;
    size_t len;
    unsigned char data[]; /* LWS_PRE bytes of headroom, then the JSON text */
};

/* Who is on the other end of a socket: a snapshot of the session taken when it opened. The
 * pseudonym is the only identifier; no subject or name from the identity provider. */
struct ws_client {
    /* Pointers and 8-byte fields first, the flags and texts after: no padding to speak of. */
    struct lws *wsi;
    struct calls *calls;
    uint64_t handle; /* the queue's citizen or agent handle */

    /* Outgoing frames, sent one per writeable callback. */
    struct ws_out *out_head, *out_tail;
    size_t out_count;

    /* Reassembly of a fragmented incoming message. */
    char *rx; /* a message arriving in pieces, until its last piece */
    size_t rx_len, rx_cap;

    /* Token bucket against floods (messages per second). */
    double tokens;
    uint64_t tokens_ms;

    /* Where the client stands. */
    uint64_t sent_generation;       /* the queue state last sent to it */
    uint64_t sent_roster;           /* an agent: the roster of colleagues last sent to it */
    struct call *call;              /* in a call */
    struct journey_signal *journey; /* a citizen's session, until its call starts */
    int64_t appointment_start_ms, appointment_end_ms;
    /* A waiting citizen: what it was last told (position 0: nothing yet). */
    uint32_t sent_position;
    int32_t sent_eta_s;
    int sent_lane;
    uint64_t parked_until_ms;      /* reconnect: a parked copy (wsi NULL) lives until then */
    struct ws_client *prev, *next; /* every client, for broadcasts */

    enum proto_role role;
    enum identity_loa loa;
    bool closing;     /* close with 1008 at the next writeable callback */
    bool warned_rate; /* told once that it sends too fast */
    bool agent_known; /* an agent that sent presence */
    bool resume_set;  /* reconnect (calls_resume.c): resume_hash holds its last token's SHA-256 */
    bool agent_seen;  /* an agent was available for its service at some moment of the wait */
    char provider[16];
    char waiting_call[QUEUE_CALL_ID_LEN + 1]; /* a citizen in the queue */
    char appointment_id[20];                  /* the appointment it joined with; "" none */
    char agent_id[32];
    unsigned char session_hash[32]; /* which session opened it: logout or expiry closes it */
    unsigned char resume_hash[32];
    char display_name[64];
    char pseudonym[IDENTITY_PSEUDONYM_LEN + 1];
    /* Agents: the services their role allows, "id,id"; empty: every one. */
    char services[IDP_SERVICES_MAX];
};

/* Queues `json` (taken over, freed here) for the client. Never fails loudly: a client whose
 * queue is too long is closed (it is not reading), and NULL json is ignored. */
void ws_send(struct ws_client *c, char *json);

/* Once a second: sockets whose session ended (logout, expiry) are closed with 1008. */
void ws_tick(struct server *srv);

/* Calls ---------------------------------------------------------------------------------- */

/* `fingerprint` is our DTLS certificate's "AB:CD:…"; the pool may be attached later. */
struct calls *calls_new(const struct balie_config *cfg, const char *fingerprint);
void calls_free(struct calls *calls);
void calls_attach_pool(struct calls *calls, struct worker_pool *pool);

void calls_client_opened(struct calls *calls, struct ws_client *c);
/* The socket closed: a waiting citizen leaves the line, a call in progress ends as dropped. */
void calls_client_closed(struct calls *calls, struct ws_client *c);
void calls_handle(struct calls *calls, struct ws_client *c, const struct proto_msg *msg);
void calls_on_worker_event(struct calls *calls, const struct worker_event *evt);
/* Once a second: agents' queue views (waiting times grow), stale state. */
void calls_tick(struct calls *calls, uint64_t now_ms);
/* Once per turn of the loop: sends the queue views if the queue changed, at most once every
 * CALLS_QUEUE_MIN_MS (the first change after a quiet spell goes at once). Returns 0, or how
 * many ms until a pending broadcast may go (the caller wakes the loop then). */
int calls_flush_queue(struct calls *calls, uint64_t now_ms);
#define CALLS_QUEUE_MIN_MS 100
void calls_set_draining(struct calls *calls, bool draining);
/* Where appointments are kept (appointments.h); NULL: no appointments. Stays the caller's. */
struct appt_store;
void calls_attach_appointments(struct calls *calls, struct appt_store *store);
/* Whether configured service `index` is open now, and if not when it opens (unix ms, or -1
 * when not in the next four weeks). */
bool calls_service_open(const struct calls *calls, int index, int64_t now_unix_ms,
                        int64_t *opens_at_ms);
/* Where sessions are recorded (journey.h); NULL records nothing. Both stay the caller's. */
void calls_attach_journey(struct calls *calls, struct journey_store *store,
                          struct journey_metrics *metrics);
/* Who may hand citizens over with a `join.context` token; NULL refuses every context. */
struct journey_context_verifier;
void calls_attach_context_verifier(struct calls *calls, struct journey_context_verifier *v);
/* The gateway is about to close every socket: sessions still waiting end as abandoned and
 * calls as dropped, both with reason gateway_shutdown. */
void calls_shutdown(struct calls *calls);
int calls_active(const struct calls *calls);
int calls_clients(const struct calls *calls);
/* Frames queued for clients and not yet written (the last `ended` of a drain, say). */
size_t calls_pending_output(const struct calls *calls);
/* The first client, for walking all of them with ->next. */
struct ws_client *calls_first_client(struct calls *calls);

#endif
