/* The control thread's lifecycle: the libwebsockets context, a one-second tick, draining on
 * SIGTERM/SIGINT, and the metrics that belong to the control plane. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "balie/journey.h"
#include "balie/log.h"
#include "balie/metrics.h"
#include "server_internal.h"
#include "ws_internal.h"

#ifndef BALIE_SOURCE_WEB_ROOT
#define BALIE_SOURCE_WEB_ROOT ""
#endif

static const char *const route_names[ROUTE_COUNT] = {"healthz", "readyz", "metrics",  "page",
                                                     "auth",    "admin",  "notfound", "method"};

uint64_t server_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Finds the pages: the configured folder, else next to the installed binary, else the
 * source tree this binary was built from (so a developer's build runs without installing). */
static int find_web_root(struct server *srv)
{
    char candidates[3][PATH_MAX];
    int n = 0;
    if (srv->cfg->http.web_root[0]) {
        snprintf(candidates[n++], PATH_MAX, "%s", srv->cfg->http.web_root);
    } else {
        char exe[PATH_MAX];
        ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        if (len > 0) {
            exe[len] = '\0';
            char *slash = strrchr(exe, '/');
            if (slash) {
                *slash = '\0';
                snprintf(candidates[n++], PATH_MAX, "%.*s/../share/balie/web", PATH_MAX - 32, exe);
            }
        }
        snprintf(candidates[n++], PATH_MAX, "%s", BALIE_SOURCE_WEB_ROOT);
    }
    for (int i = 0; i < n; i++) {
        char probe[PATH_MAX + 16];
        /* The precision bounds what gcc's -O2 truncation analysis sees (a PATH_MAX entry). */
        snprintf(probe, sizeof(probe), "%.*s/index.html", PATH_MAX - 1, candidates[i]);
        if (candidates[i][0] && access(probe, R_OK) == 0 && realpath(candidates[i], srv->web_root))
            return 0;
    }
    log_error("http", "no web pages found (looked for index.html in %s%s%s)", candidates[0],
              n > 1 ? " and " : "", n > 1 ? candidates[n - 1] : "");
    return -ENOENT;
}

static void collect_server_metrics(struct strbuf *out, void *arg)
{
    struct server *srv = arg;
    strbuf_appendf(out,
                   "# HELP balie_build_info Build information.\n# TYPE balie_build_info gauge\n"
                   "balie_build_info{version=\"%s\"} 1\n",
                   BALIE_VERSION);
    metrics_write_simple(out, "balie_uptime_seconds", "gauge", "Seconds since the gateway started.",
                         (double)(time(NULL) - srv->started_at));
    metrics_write_simple(out, "balie_draining", "gauge",
                         "1 while the gateway drains and takes no new calls.", srv->draining);
    metrics_write_simple(out, "balie_websocket_connections", "gauge",
                         "Open signaling WebSocket connections.", srv->ws_connections);
    metrics_write_simple(out, "balie_websocket_refused_total", "counter",
                         "WebSocket upgrades refused (Origin or session).",
                         (double)srv->ws_refused);
    metrics_write_simple(out, "balie_calls_active", "gauge", "Calls in progress.",
                         srv->active_calls);
    metrics_write_simple(out, "balie_admin_refused_total", "counter",
                         "Admin API requests refused for a missing or wrong bearer token.",
                         (double)srv->admin_refused);
    strbuf_appendf(out, "# HELP balie_http_requests_total HTTP requests by route.\n"
                        "# TYPE balie_http_requests_total counter\n");
    for (int i = 0; i < ROUTE_COUNT; i++)
        strbuf_appendf(out, "balie_http_requests_total{route=\"%s\"} %llu\n", route_names[i],
                       (unsigned long long)srv->http_requests[i]);
}

static void collect_worker_metrics(struct strbuf *out, void *arg)
{
    struct server *srv = arg;
    if (!srv->pool)
        return;
    int count = worker_pool_count(srv->pool);
    metrics_write_simple(out, "balie_media_workers", "gauge", "Media worker threads.", count);
    static const struct {
        const char *name, *help;
        size_t offset;
    } series[] = {
        {"balie_worker_commands_total", "Commands handled by each media worker.",
         offsetof(struct worker_totals, commands)},
        {"balie_worker_events_total", "Events sent by each media worker.",
         offsetof(struct worker_totals, events)},
        {"balie_worker_events_dropped_total", "Events dropped because the queue was full.",
         offsetof(struct worker_totals, events_dropped)},
        {"balie_worker_datagrams_total", "UDP datagrams received by each media worker.",
         offsetof(struct worker_totals, datagrams)},
        {"balie_worker_datagrams_sent_total", "UDP datagrams sent by each media worker.",
         offsetof(struct worker_totals, datagrams_sent)},
        {"balie_worker_send_errors_total", "Datagrams the socket refused to send.",
         offsetof(struct worker_totals, send_errors)},
        {"balie_worker_unrouted_total", "Datagrams no leg claimed (RFC 7983 demultiplexing).",
         offsetof(struct worker_totals, unrouted)},
        {"balie_media_dropped_total", "Packets legs dropped (unauthenticated, unknown SSRC, …).",
         offsetof(struct worker_totals, media_dropped)},
        {"balie_media_legs_created_total", "Media legs created.",
         offsetof(struct worker_totals, legs_created)},
        {"balie_media_legs_failed_total", "Media legs that failed (ICE, DTLS, SRTP, consent).",
         offsetof(struct worker_totals, legs_failed)},
    };
    for (size_t s = 0; s < sizeof(series) / sizeof(series[0]); s++) {
        strbuf_appendf(out, "# HELP %s %s\n# TYPE %s counter\n", series[s].name, series[s].help,
                       series[s].name);
        for (int i = 0; i < count; i++) {
            struct worker_totals t;
            worker_pool_totals(srv->pool, i, &t);
            uint64_t v;
            memcpy(&v, (const char *)&t + series[s].offset, sizeof(v));
            strbuf_appendf(out, "%s{worker=\"%d\"} %llu\n", series[s].name, i,
                           (unsigned long long)v);
        }
    }
    strbuf_appendf(out, "# HELP balie_media_legs Media legs alive on each worker.\n"
                        "# TYPE balie_media_legs gauge\n");
    for (int i = 0; i < count; i++) {
        struct worker_totals t;
        worker_pool_totals(srv->pool, i, &t);
        strbuf_appendf(out, "balie_media_legs{worker=\"%d\"} %llu\n", i,
                       (unsigned long long)t.legs);
    }
}

static void on_worker_event(const struct worker_event *evt, void *arg)
{
    struct server *srv = arg;
    if (evt->type == WORKER_EVT_STATS && evt->worker < 256)
        srv->worker_datagrams[evt->worker] = evt->arg;
    else
        calls_on_worker_event(srv->calls, evt);
}

static void server_check_finished(struct server *srv)
{
    if (!srv->draining || srv->finished)
        return;
    uint64_t now = server_now_ms();
    srv->active_calls = calls_active(srv->calls);
    if (srv->active_calls == 0) {
        log_info("server", "drained: no calls left, stopping");
        srv->finished = true;
    } else if (now >= srv->drain_deadline_ms) {
        log_warn("server", "grace period over with %d calls still running, stopping",
                 srv->active_calls);
        srv->finished = true;
    }
}

void server_on_wake(struct server *srv)
{
    auth_poll(srv); /* password checks the verifier thread finished */
    if (srv->pool)
        worker_pool_drain(srv->pool, on_worker_event, srv);
    journey_delivery_poll(srv); /* webhook answers */
    auth_poll(srv);             /* answers of OpenID Providers (the HTTP client woke us) */

    int requests = atomic_load(&srv->stop_requests);
    if (requests > srv->stops_seen) {
        srv->stops_seen = requests;
        if (!srv->draining) {
            int grace = atomic_load(&srv->stop_grace_s);
            srv->draining = true;
            calls_set_draining(srv->calls, true);
            srv->drain_deadline_ms = server_now_ms() + (uint64_t)grace * 1000u;
            log_info("server", "draining: /readyz is false, no new calls, grace %d s", grace);
        } else {
            log_warn("server", "second stop request: stopping now");
            srv->finished = true;
        }
    }
    server_check_finished(srv);
}

/* Retention (journey.retention_days): at start, then once an hour. */
static void journey_retention(struct server *srv, uint64_t now)
{
    if (!srv->journey || (srv->journey_purged_ms && now - srv->journey_purged_ms < 3600u * 1000u))
        return;
    srv->journey_purged_ms = now;
    int64_t cutoff = journey_now_ms() - (int64_t)srv->cfg->journey.retention_days * 86400 * 1000;
    int n = journey_purge(srv->journey, cutoff);
    if (n > 0)
        log_info("journey", "retention: erased %d signals older than %d days", n,
                 srv->cfg->journey.retention_days);
    else if (n < 0)
        log_error("journey", "retention: the purge failed");
}

/* Opens data_dir/balie.db and closes what a killed gateway left open (as dropped). */
static int journey_start(struct server *srv)
{
    char path[PATH_MAX], why[PATH_MAX + 128];
    if ((size_t)snprintf(path, sizeof(path), "%s/balie.db", srv->cfg->general.data_dir) >=
        sizeof(path))
        return -ENAMETOOLONG;
    if (mkdir(srv->cfg->general.data_dir, 0700) != 0 && errno != EEXIST)
        return -errno;
    int err = journey_store_open(&srv->journey, path, why, sizeof(why));
    if (err) {
        log_error("journey", "%s", why);
        return err;
    }
    int recovered = journey_recover(srv->journey, journey_now_ms());
    if (recovered > 0)
        log_warn("journey",
                 "closed %d sessions the previous run left open (dropped, "
                 "gateway_restart)",
                 recovered);
    srv->journey_metrics = journey_metrics_new(srv->cfg->journey.service_level_s);
    if (!srv->journey_metrics)
        return -ENOMEM;
    metrics_add_collector(journey_metrics_collect, srv->journey_metrics);
    calls_attach_journey(srv->calls, srv->journey, srv->journey_metrics);
    if (srv->cfg->journey.context_issuer[0]) {
        err = journey_context_verifier_new(&srv->journey_context, srv->cfg->journey.context_issuer,
                                           srv->cfg->journey.context_key_file,
                                           srv->cfg->journey.context_audience, why, sizeof(why));
        if (err) {
            log_error("journey", "%s", why);
            return err;
        }
        calls_attach_context_verifier(srv->calls, srv->journey_context);
        log_info("journey", "handover contexts are accepted from %s",
                 srv->cfg->journey.context_issuer);
    }
    log_info("journey", "signals are kept in %s", path);
    journey_retention(srv, server_now_ms());
    journey_flush(srv->journey); /* the appointments store opens the same file next */
    return journey_delivery_start(srv);
}

static void server_tick(lws_sorted_usec_list_t *sul)
{
    struct server *srv = lws_container_of(sul, struct server, tick);
    server_on_wake(srv);
    auth_tick(srv, server_now_ms()); /* expired sessions and pending logins go */
    calls_tick(srv->calls, server_now_ms());
    ws_tick(srv); /* sockets of sessions that ended close */
    journey_retention(srv, server_now_ms());
    journey_delivery_tick(srv);
    srv->active_calls = calls_active(srv->calls);
    lws_sul_schedule(srv->ctx, 0, &srv->tick, server_tick, LWS_US_PER_SEC);
}

/* libwebsockets logs through us, as JSON lines like everything else. */
static void lws_log_bridge(int level, const char *line)
{
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    log_write(level == LLL_ERR ? LOG_LEVEL_ERROR : LOG_LEVEL_WARN, "lws", NULL, "%.*s", (int)n,
              line);
}

static const struct lws_protocols protocols[] = {
    {"http", http_callback, sizeof(struct http_session), 0, 0, NULL, 0},
    /* rx_buffer_size: a whole protocol frame fits, so most messages arrive in one piece. (A
     * 4 kB buffer was tried to save memory per connection: with 200 calls setting up at once
     * calls failed and memory grew by megabytes per call, so it stays at the frame limit.) */
    {"balie.v1", ws_callback, sizeof(struct ws_client), PROTO_FRAME_MAX, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

void server_attach_pool(struct server *srv, struct worker_pool *pool)
{
    srv->pool = pool;
    calls_attach_pool(srv->calls, pool);
    metrics_add_collector(collect_worker_metrics, srv);
}

void server_detach_pool(struct server *srv)
{
    if (!srv)
        return;
    srv->pool = NULL;
    calls_attach_pool(srv->calls, NULL);
}

int server_create(struct server **out, const struct balie_config *cfg, const char *dtls_fingerprint)
{
    struct server *srv = calloc(1, sizeof(*srv));
    if (!srv)
        return -ENOMEM;
    srv->cfg = cfg;
    srv->started_at = time(NULL);
    srv->tls = cfg->http.tls_cert[0] != '\0';
    int err = find_web_root(srv);
    if (err) {
        free(srv);
        return err;
    }

    lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_bridge);

    struct lws_context_creation_info info;
    memset(&info, 0, sizeof(info));
    info.port = cfg->http.port; /* 0 asks the kernel for a free port (tests use it) */
    info.iface = strcmp(cfg->http.listen, "localhost") == 0 ? "127.0.0.1" : cfg->http.listen;
    info.protocols = protocols;
    info.user = srv;
    /* Not LWS_SERVER_OPTION_HTTP_HEADERS_SECURITY_BEST_PRACTICES_ENFORCE: http.c sends its
     * own, stricter set, and two CSP headers would both apply. */
    info.options = LWS_SERVER_OPTION_VALIDATE_UTF8 | LWS_SERVER_OPTION_DISABLE_IPV6;
    if (strchr(info.iface, ':'))
        info.options &= ~(uint64_t)LWS_SERVER_OPTION_DISABLE_IPV6;
    if (srv->tls) {
        info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
        info.ssl_cert_filepath = cfg->http.tls_cert;
        info.ssl_private_key_filepath = cfg->http.tls_key;
    }
    info.timeout_secs = 20;
    info.max_http_header_data = 8192;
    info.ka_time = 0;

    srv->ctx = lws_create_context(&info);
    if (!srv->ctx) {
        log_error("http", "cannot listen on %s port %d (in use, or not an address of this host)",
                  cfg->http.listen, cfg->http.port);
        free(srv);
        return -EADDRINUSE;
    }
    struct lws_vhost *vh = lws_get_vhost_by_name(srv->ctx, "default");
    srv->port = vh ? lws_get_vhost_listen_port(vh) : cfg->http.port;

    metrics_clear();
    metrics_add_collector(collect_server_metrics, srv);
    srv->calls = calls_new(cfg, dtls_fingerprint);
    if (!srv->calls) {
        server_destroy(srv);
        return -ENOMEM;
    }
    err = auth_init(srv);
    if (!err)
        err = journey_start(srv);
    if (!err)
        err = appointments_start(srv);
    if (!err)
        err = admin_init(srv);
    if (err) {
        server_destroy(srv);
        return err;
    }
    lws_sul_schedule(srv->ctx, 0, &srv->tick, server_tick, LWS_US_PER_SEC);
    *out = srv;
    return 0;
}

static void queue_wake(lws_sorted_usec_list_t *sul)
{
    (void)sul; /* it only ends the loop's wait: server_end_of_turn sends */
}

/* Work done once per turn of the loop, after every callback of the turn ran and before the
 * next poll writes anything they queued: the queue views go out once however many changes the
 * turn made, and the turn's journey writes commit in one transaction (journey_flush), so no
 * message about a signal leaves before the signal is committed. */
static void server_end_of_turn(struct server *srv)
{
    int wait_ms = calls_flush_queue(srv->calls, server_now_ms());
    if (wait_ms > 0)
        lws_sul_schedule(srv->ctx, 0, &srv->queue_wake, queue_wake, (lws_usec_t)wait_ms * 1000);
    journey_flush(srv->journey);
}

/* After the last call ended, its `ended` messages may still be queued: keep serving until they
 * are written, for at most this long, so a drain never swallows the end of a call. */
#define SERVER_FLUSH_MS 1000

int server_run(struct server *srv)
{
    uint64_t flush_until = 0;
    for (;;) {
        if (srv->finished) {
            uint64_t now = server_now_ms();
            if (flush_until == 0)
                flush_until = now + SERVER_FLUSH_MS;
            if (calls_pending_output(srv->calls) == 0 || now >= flush_until)
                break;
        }
        if (lws_service(srv->ctx, 0) < 0) {
            log_error("server", "event loop failed");
            return 1;
        }
        server_end_of_turn(srv);
    }
    return 0;
}

void server_request_stop(struct server *srv, int grace_s)
{
    atomic_store(&srv->stop_grace_s, grace_s);
    atomic_fetch_add(&srv->stop_requests, 1);
    lws_cancel_service(srv->ctx);
}

void server_wake(void *arg)
{
    struct server *srv = arg;
    if (srv && srv->ctx)
        lws_cancel_service(srv->ctx);
}

int server_port(const struct server *srv)
{
    return srv->port;
}

void server_destroy(struct server *srv)
{
    if (!srv)
        return;
    lws_sul_cancel(&srv->tick);
    lws_sul_cancel(&srv->queue_wake);
    auth_stop_threads(srv); /* before the context goes: the verifier thread wakes it */
    if (srv->calls)
        calls_shutdown(srv->calls); /* sessions cut short now end as gateway_shutdown */
    if (srv->ctx)
        lws_context_destroy(srv->ctx); /* closes every socket: calls see their clients go */
    calls_free(srv->calls);
    metrics_clear();
    journey_delivery_stop(srv);
    journey_store_close(srv->journey);
    appointments_stop(srv);
    journey_metrics_free(srv->journey_metrics);
    journey_context_verifier_free(srv->journey_context);
    auth_free(srv);
    admin_free(srv);
    free(srv);
}
