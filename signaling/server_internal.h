/* State shared by the control thread's files (server.c, http.c). Not a public face. */
#ifndef BALIE_SIGNALING_SERVER_INTERNAL_H
#define BALIE_SIGNALING_SERVER_INTERNAL_H

#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <libwebsockets.h>

#include "balie/config.h"
#include "balie/identity.h"
#include "balie/server.h"
#include "balie/session.h"
#include "balie/worker.h"

enum http_route {
    ROUTE_HEALTHZ,
    ROUTE_READYZ,
    ROUTE_METRICS,
    ROUTE_PAGE,
    ROUTE_AUTH,
    ROUTE_ADMIN,
    ROUTE_NOT_FOUND,
    ROUTE_METHOD_NOT_ALLOWED,
    ROUTE_COUNT
};

struct server {
    struct lws_context *ctx;
    const struct balie_config *cfg;
    struct worker_pool *pool;
    char web_root[PATH_MAX];
    bool tls;
    int port;

    /* Written by the signal thread, read by the control thread. */
    atomic_int stop_requests;
    atomic_int stop_grace_s;

    /* Control thread only. */
    int stops_seen;
    bool draining;
    bool finished;
    uint64_t drain_deadline_ms;
    time_t started_at;
    uint64_t http_requests[ROUTE_COUNT];
    uint64_t worker_datagrams[256];
    int ws_connections;
    uint64_t ws_refused;
    int active_calls;
    struct calls *calls;
    struct session_store *sessions;
    lws_sorted_usec_list_t tick;
    lws_sorted_usec_list_t queue_wake; /* a coalesced queue broadcast is due */

    /* Journey signals (journey.h): the store in data_dir/balie.db and the /metrics aggregates. */
    struct journey_store *journey;
    struct journey_metrics *journey_metrics;
    uint64_t journey_purged_ms;                       /* when retention last ran */
    struct journey_context_verifier *journey_context; /* handover tokens; NULL: none trusted */
    struct httpc *journey_httpc;                      /* the webhook's client (journey.webhook_*) */
    struct journey_outbox *journey_outbox;            /* NULL: no webhook configured */

    /* The admin API (admin.c). */
    char admin_token[256];
    uint64_t admin_refused;
    struct appt_store *appointments; /* admin_appointments.c, in data_dir/balie.db */

    /* Logged-in people (identity/session.c); the WebSocket looks cookies up here. */
    struct auth *auth; /* providers, pending logins, counters (auth.c) */
};

uint64_t server_now_ms(void);

/* The "balie.v1" protocol's callback (ws.c). */
int ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                size_t len);

/* The "http" protocol's callback (http.c). */
int http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                  size_t len);

/* A request body larger than this is refused with 413: forms are small. */
#define HTTP_BODY_MAX 8192
/* …except the form post of a SAML Response (HTTP-POST binding) to /auth/callback/<id>. */
#define HTTP_BODY_MAX_CALLBACK (192u * 1024u)

/* What a routed request needs after LWS_CALLBACK_HTTP, when libwebsockets may no longer hold
 * the headers: copied then, freed once answered. */
struct http_request {
    bool post;
    int admin_method;        /* enum admin_method, for /admin/ requests with a body */
    char authorization[320]; /* the Authorization header, for /admin/ requests */
    bool plain_loopback;     /* plain HTTP from a loopback peer, not behind a proxy */
    char uri[256];
    char peer[64]; /* client IP, for rate limits only: never logged */
    char host[256];
    char origin[256];
    char referer[512];
    char fetch_site[32]; /* Sec-Fetch-Site */
    char content_type[128];
    char cookie[4096];
    char query[2048]; /* URL arguments, percent-decoded, as "name\0value\0" pairs */
    size_t query_len;
    char *body; /* POST body, up to body_max */
    size_t body_len;
    size_t body_max; /* HTTP_BODY_MAX, or HTTP_BODY_MAX_CALLBACK for /auth/callback/ */
    bool body_too_large;
};

/* The per-connection state http.c keeps. */
struct http_session {
    char *body;
    size_t body_len;
    size_t body_sent;
    bool close_after;               /* close the connection once the response is written */
    struct http_request *req;       /* a POST whose body is still arriving */
    bool deferred_ready;            /* an answer computed elsewhere (a password check) is waiting */
    struct auth_deferred *deferred; /* a login callback waiting for its provider (auth.c) */
};

/* Extra response headers; NULL fields are left out. */
struct http_extra {
    const char *location;
    const char *set_cookie;
    const char *referrer_policy; /* replaces "no-referrer" */
    const char *www_authenticate;
};

/* Sends a response: status, the security headers, `extra`, then `body` (taken over, freed
 * even on failure). Returns what an lws callback returns. */
int http_respond(struct server *srv, struct lws *wsi, struct http_session *hs, unsigned status,
                 const char *content_type, char *body, size_t len, const struct http_extra *extra);

/* The value of URL argument `name` of a captured request, or NULL. */
const char *http_query_get(const struct http_request *req, const char *name);

/* /auth/… (auth.c). auth_init runs in server_create after the metrics are reset. */
int auth_init(struct server *srv);
void auth_free(struct server *srv);
void auth_tick(struct server *srv, uint64_t now_ms);
/* On every wake-up: finished password checks (the agents' local login) mark their connections,
 * which write them in their next writeable callback (auth_answer_deferred); answers of remote
 * providers' calls (token, discovery, keys, artifacts) run. auth_forget drops the answer of a
 * connection that closed. */
void auth_poll(struct server *srv);
int auth_answer_deferred(struct server *srv, struct lws *wsi, struct http_session *hs);
void auth_forget(struct server *srv, struct http_session *hs);
/* Stops the password verifier thread (checks in flight are dropped). Before the lws context is
 * destroyed, since the thread wakes it. */
void auth_stop_threads(struct server *srv);
/* A deferred login callback (hs->deferred): its answer is sent when ready; a closed connection
 * drops it. */
int auth_deferred_writable(struct server *srv, struct lws *wsi, struct http_session *hs);
void auth_deferred_closed(struct server *srv, struct http_session *hs);
int auth_handle(struct server *srv, struct lws *wsi, struct http_session *hs,
                const struct http_request *req);

/* Webhook delivery of journey signals (journey_delivery.c): start after the store opened,
 * tick once a second, poll when woken, stop before the store closes. */
int journey_delivery_start(struct server *srv);
void journey_delivery_tick(struct server *srv);
void journey_delivery_poll(struct server *srv);
void journey_delivery_stop(struct server *srv);

/* GET /auth/me/signals (journey_http.c): the logged-in citizen's own signals. */
int journey_http_me_signals(struct server *srv, struct lws *wsi, struct http_session *hs,
                            const struct http_request *req);

/* Maps a subject (a BSN) to its pseudonym under the pseudonym secret, as a login would.
 * 0 or -1. */
int auth_pseudonym(const struct server *srv, const char *subject,
                   char out[IDENTITY_PSEUDONYM_LEN + 1]);

/* /admin/… (admin.c). admin_init loads or makes the bearer token. */
enum admin_method { ADMIN_GET, ADMIN_POST, ADMIN_DELETE, ADMIN_OTHER };
int admin_init(struct server *srv);
void admin_free(struct server *srv);
int admin_handle(struct server *srv, struct lws *wsi, struct http_session *hs, const char *uri,
                 enum admin_method method);
/* RFC 9457 problem details (admin.c). */
int admin_problem(struct server *srv, struct lws *wsi, struct http_session *hs, unsigned status,
                  const char *title, const char *detail);
/* Whether an Authorization header value carries the admin token (constant time). */
bool admin_authorized(const struct server *srv, const char *header);

/* /admin/v1/appointments (admin_appointments.c): captured like /auth/ routes so that a POST's
 * JSON body is read. appointments_start opens the store and hands it to the calls. */
bool admin_appointments_route(const char *uri);
int admin_appointments_handle(struct server *srv, struct lws *wsi, struct http_session *hs,
                              const struct http_request *req);
int appointments_start(struct server *srv);
/* Appends ,"open":…[,"opens_at":"RFC 3339"][,"opening_hours":"…"] for configured service
 * `index` (calls_queue.c), for /auth/session. */
struct strbuf;
void calls_service_status_json(const struct calls *calls, int index, struct strbuf *sb);
void appointments_stop(struct server *srv);

/* Called by http.c when the loop was woken (lws_cancel_service) and every second. */
void server_on_wake(struct server *srv);

#endif
