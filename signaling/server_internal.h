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
#include "balie/server.h"
#include "balie/worker.h"

enum http_route {
    ROUTE_HEALTHZ,
    ROUTE_READYZ,
    ROUTE_METRICS,
    ROUTE_PAGE,
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
};

uint64_t server_now_ms(void);

/* The "balie.v1" protocol's callback (ws.c). */
int ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                size_t len);

/* The "http" protocol's callback (http.c). */
int http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                  size_t len);

/* The per-connection state http.c keeps. */
struct http_session {
    char *body;
    size_t body_len;
    size_t body_sent;
};

/* Called by http.c when the loop was woken (lws_cancel_service) and every second. */
void server_on_wake(struct server *srv);

#endif
