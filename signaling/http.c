/* HTTP routes of the control thread: health, readiness, metrics and the static pages, and the
 * plumbing /auth/… needs (headers captured, POST bodies gathered; the routes are in auth.c).
 * Every response carries the same security headers (CSP, nosniff, referrer, framing). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "balie/log.h"
#include "balie/metrics.h"
#include "balie/strbuf.h"
#include "clientaddr.h"
#include "server_internal.h"

static const char csp[] = "default-src 'self'; script-src 'self'; style-src 'self'; "
                          "img-src 'self' data:; media-src 'self' blob:; connect-src 'self'; "
                          "font-src 'self'; object-src 'none'; base-uri 'none'; "
                          "form-action 'self'; frame-ancestors 'none'";

static int add_header(struct lws *wsi, const char *name, const char *value, unsigned char **p,
                      unsigned char *end)
{
    return lws_add_http_header_by_name(wsi, (const unsigned char *)name,
                                       (const unsigned char *)value, (int)strlen(value), p, end);
}

static int add_security_headers(struct server *srv, struct lws *wsi, unsigned char **p,
                                unsigned char *end, const char *referrer_policy)
{
    int err = add_header(wsi, "content-security-policy:", csp, p, end);
    err |= add_header(wsi, "x-content-type-options:", "nosniff", p, end);
    err |= add_header(wsi, "referrer-policy:", referrer_policy ? referrer_policy : "no-referrer", p,
                      end);
    err |= add_header(wsi, "x-frame-options:", "DENY", p, end);
    err |= add_header(wsi, "cross-origin-opener-policy:", "same-origin", p, end);
    err |= add_header(wsi, "permissions-policy:",
                      "camera=(self), microphone=(self), geolocation=(), payment=()", p, end);
    if (srv->tls)
        err |= add_header(wsi, "strict-transport-security:", "max-age=31536000", p, end);
    return err;
}

/* Sends headers now and queues `body` (taken over) for the writeable callback. */
int http_respond(struct server *srv, struct lws *wsi, struct http_session *hs, unsigned status,
                 const char *content_type, char *body, size_t len, const struct http_extra *extra)
{
    static const struct http_extra none = {0};
    unsigned char buf[LWS_PRE + 4096];
    unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof(buf) - 1;
    if (!extra)
        extra = &none;
    if (lws_add_http_common_headers(wsi, status, content_type, (lws_filepos_t)len, &p, end) ||
        add_security_headers(srv, wsi, &p, end, extra->referrer_policy) ||
        add_header(wsi, "cache-control:", "no-store", &p, end) ||
        (extra->location && add_header(wsi, "location:", extra->location, &p, end)) ||
        (extra->set_cookie && add_header(wsi, "set-cookie:", extra->set_cookie, &p, end)) ||
        (extra->www_authenticate &&
         add_header(wsi, "www-authenticate:", extra->www_authenticate, &p, end)) ||
        (hs->close_after && add_header(wsi, "connection:", "close", &p, end)) ||
        lws_finalize_write_http_header(wsi, start, &p, end)) {
        free(body);
        return 1;
    }
    free(hs->body);
    hs->body = body;
    hs->body_len = len;
    hs->body_sent = 0;
    lws_callback_on_writable(wsi);
    return 0;
}

static int respond(struct server *srv, struct lws *wsi, struct http_session *hs, unsigned status,
                   const char *content_type, char *body, size_t len)
{
    return http_respond(srv, wsi, hs, status, content_type, body, len, NULL);
}

static int respond_text(struct server *srv, struct lws *wsi, struct http_session *hs,
                        unsigned status, const char *text)
{
    char *body = strdup(text);
    if (!body)
        return 1;
    return respond(srv, wsi, hs, status, "text/plain; charset=utf-8", body, strlen(text));
}

static const char *mime_for(const char *path)
{
    static const struct {
        const char *ext, *mime;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".woff2", "font/woff2"},
        {".json", "application/json"},
        {".webmanifest", "application/manifest+json"},
    };
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].mime;
    return NULL;
}

/* Maps a URL path to a file below the web root. Only plain names are allowed: no "..", no
 * hidden files, no characters outside [A-Za-z0-9._/-]. Returns 0 and fills `out`. */
static int static_path(const struct server *srv, const char *uri, char *out, size_t out_len)
{
    if (strcmp(uri, "/") == 0)
        uri = "/index.html";
    else if (strcmp(uri, "/agent") == 0 || strcmp(uri, "/agent/") == 0)
        uri = "/agent.html";
    else if (strcmp(uri, "/contactmomenten") == 0)
        uri = "/contactmomenten.html";
    if (uri[0] != '/' || strstr(uri, "..") || strstr(uri, "/.") || strstr(uri, "//"))
        return -1;
    for (const char *c = uri; *c; c++)
        if (!(isalnum((unsigned char)*c) || *c == '.' || *c == '_' || *c == '-' || *c == '/'))
            return -1;
    if (!mime_for(uri))
        return -1;
    /* NL Design System components: /nlds/<component>.css is the stylesheet npm installed in
     * nlds/node_modules (signaling/web/nlds/package.json), so pages name a component, not a
     * package layout. Only [a-z0-9-] names; the rest of the path is fixed. */
    const char *name = uri + 6;
    size_t name_len = strlen(name);
    if (strncmp(uri, "/nlds/", 6) == 0 && name_len > 4 &&
        strcmp(name + name_len - 4, ".css") == 0 &&
        strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-") == name_len - 4) {
        int n = snprintf(out, out_len, "%s/nlds/node_modules/@utrecht/%.*s-css/dist/index.min.css",
                         srv->web_root, (int)(name_len - 4), name);
        return n > 0 && (size_t)n < out_len ? 0 : -1;
    }
    int n = snprintf(out, out_len, "%s%s", srv->web_root, uri);
    return n > 0 && (size_t)n < out_len ? 0 : -1;
}

static int serve_static(struct server *srv, struct lws *wsi, struct http_session *hs,
                        const char *uri)
{
    char path[PATH_MAX];
    if (static_path(srv, uri, path, sizeof(path)) != 0 || access(path, R_OK) != 0) {
        srv->http_requests[ROUTE_NOT_FOUND]++;
        return respond_text(srv, wsi, hs, 404, "Niet gevonden / Not found\n");
    }
    srv->http_requests[ROUTE_PAGE]++;
    unsigned char extra[1024];
    unsigned char *p = extra, *end = extra + sizeof(extra);
    if (add_security_headers(srv, wsi, &p, end, NULL) ||
        add_header(wsi, "cache-control:", "no-cache", &p, end))
        return 1;
    int n = lws_serve_http_file(wsi, path, mime_for(path), (const char *)extra, (int)(p - extra));
    if (n < 0)
        return -1;
    if (n > 0 && lws_http_transaction_completed(wsi))
        return -1;
    return 0;
}

static void copy_header(struct lws *wsi, enum lws_token_indexes h, char *out, int out_len)
{
    if (lws_hdr_total_length(wsi, h) <= 0 || lws_hdr_copy(wsi, out, out_len, h) < 0)
        out[0] = '\0'; /* absent, or too long to be one we would accept */
}

static bool peer_is_loopback(const char *peer)
{
    if (strncmp(peer, "::ffff:", 7) == 0)
        peer += 7;
    return config_is_loopback(peer);
}

/* Copies what a routed handler needs while libwebsockets still holds the headers. */
static struct http_request *capture_request(struct server *srv, struct lws *wsi, const char *uri,
                                            bool post)
{
    struct http_request *req = calloc(1, sizeof(*req));
    if (!req || strlen(uri) >= sizeof(req->uri)) {
        free(req);
        return NULL;
    }
    req->post = post;
    strcpy(req->uri, uri);
    lws_get_peer_simple(wsi, req->peer, sizeof(req->peer));
    req->plain_loopback = !srv->tls && !srv->cfg->http.behind_proxy && peer_is_loopback(req->peer);
    if (srv->cfg->http.trusted_proxies[0]) {
        char xff[CLIENTADDR_XFF_MAX + 1], direct[sizeof(req->peer)];
        int n = lws_hdr_total_length(wsi, WSI_TOKEN_X_FORWARDED_FOR) <= CLIENTADDR_XFF_MAX
                    ? lws_hdr_copy(wsi, xff, sizeof(xff), WSI_TOKEN_X_FORWARDED_FOR)
                    : -1;
        memcpy(direct, req->peer, sizeof(direct));
        clientaddr_resolve(direct, (const uint8_t *)xff, n > 0 ? (size_t)n : 0,
                           srv->cfg->http.trusted_proxies, req->peer, sizeof(req->peer));
    }
    copy_header(wsi, WSI_TOKEN_HOST, req->host, sizeof(req->host));
    copy_header(wsi, WSI_TOKEN_ORIGIN, req->origin, sizeof(req->origin));
    copy_header(wsi, WSI_TOKEN_HTTP_REFERER, req->referer, sizeof(req->referer));
    copy_header(wsi, WSI_TOKEN_HTTP_COOKIE, req->cookie, sizeof(req->cookie));
    copy_header(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE, req->content_type, sizeof(req->content_type));
    static const char fetch_site[] = "sec-fetch-site:";
    if (lws_hdr_custom_copy(wsi, req->fetch_site, sizeof(req->fetch_site), fetch_site,
                            (int)sizeof(fetch_site) - 1) < 0)
        req->fetch_site[0] = '\0';
    /* libwebsockets keeps each URL argument percent-decoded as a fragment "name=value"; they
     * are kept as "name\0value\0" pairs. Arguments that do not fit are left out. */
    for (int i = 0;; i++) {
        char *at = req->query + req->query_len;
        int room = (int)(sizeof(req->query) - req->query_len);
        int n = lws_hdr_copy_fragment(wsi, at, room, WSI_TOKEN_HTTP_URI_ARGS, i);
        if (n < 0)
            break;
        char *eq = memchr(at, '=', (size_t)n);
        if (eq) {
            *eq = '\0';
            req->query_len += (size_t)n + 1;
        } else if (n + 2 <= room) {
            at[n + 1] = '\0'; /* an argument without '=' has an empty value */
            req->query_len += (size_t)n + 2;
        }
    }
    return req;
}

const char *http_query_get(const struct http_request *req, const char *name)
{
    size_t at = 0;
    while (at < req->query_len) {
        const char *arg = req->query + at;
        const char *value = arg + strlen(arg) + 1;
        if (strcmp(arg, name) == 0)
            return value;
        at = (size_t)(value + strlen(value) + 1 - req->query);
    }
    return NULL;
}

static int routed_handle(struct server *srv, struct lws *wsi, struct http_session *hs,
                         const struct http_request *req)
{
    if (strncmp(req->uri, "/admin/", 7) == 0)
        return admin_appointments_handle(srv, wsi, hs, req);
    return auth_handle(srv, wsi, hs, req);
}

/* /auth/… and /admin/v1/appointments: GETs are answered at once; a POST's body is gathered
 * first (HTTP_BODY_MAX). */
static int begin_routed_method(struct server *srv, struct lws *wsi, struct http_session *hs,
                               const char *uri, bool post, int admin_method)
{
    struct http_request *req = capture_request(srv, wsi, uri, post);
    if (!req)
        return respond_text(srv, wsi, hs, 500, "Interne fout / Internal error\n");
    req->admin_method = admin_method;
    if (admin_method >= 0)
        copy_header(wsi, WSI_TOKEN_HTTP_AUTHORIZATION, req->authorization,
                    sizeof(req->authorization));
    char len_text[32] = "";
    copy_header(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH, len_text, sizeof(len_text));
    long long content_length = len_text[0] ? strtoll(len_text, NULL, 10) : 0;
    if (post && !len_text[0] && lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0) {
        /* A chunked body would not reach us; refuse it rather than read it as a request. */
        free(req);
        hs->close_after = true;
        return respond_text(srv, wsi, hs, 411, "Lengte nodig / Length required\n");
    }
    if (!post || content_length <= 0) {
        /* No body will come (libwebsockets sends no body callbacks without a length). */
        int rc = routed_handle(srv, wsi, hs, req);
        free(req);
        return rc;
    }
    req->body_max =
        strncmp(uri, "/auth/callback/", 15) == 0 ? HTTP_BODY_MAX_CALLBACK : HTTP_BODY_MAX;
    if (content_length > (long long)req->body_max) {
        free(req);
        hs->close_after = true; /* the unread body must not be taken for the next request */
        return respond_text(srv, wsi, hs, 413, "Te groot / Payload too large\n");
    }
    free(hs->req);
    hs->req = req;
    return 0;
}

/* An admin request that may carry a JSON body: its headers are captured (Authorization too)
 * and the body gathered like a form's. */
static int begin_admin(struct server *srv, struct lws *wsi, struct http_session *hs,
                       const char *uri, enum admin_method method)
{
    hs->close_after = true; /* one request per connection, as the other admin routes */
    return begin_routed_method(srv, wsi, hs, uri, method == ADMIN_POST, (int)method);
}

static int begin_routed(struct server *srv, struct lws *wsi, struct http_session *hs,
                        const char *uri, bool post)
{
    return begin_routed_method(srv, wsi, hs, uri, post, -1);
}

static int on_body(struct http_session *hs, const void *in, size_t len)
{
    struct http_request *req = hs ? hs->req : NULL;
    if (!req || req->body_too_large)
        return 0;
    if (req->body_len + len > req->body_max) {
        req->body_too_large = true;
        return 0;
    }
    char *body = realloc(req->body, req->body_len + len + 1);
    if (!body)
        return -1;
    memcpy(body + req->body_len, in, len);
    req->body = body;
    req->body_len += len;
    body[req->body_len] = '\0';
    return 0;
}

static int on_body_done(struct server *srv, struct lws *wsi, struct http_session *hs)
{
    struct http_request *req = hs ? hs->req : NULL;
    if (!req)
        return 0;
    hs->req = NULL;
    int rc;
    if (req->body_too_large) {
        hs->close_after = true;
        rc = respond_text(srv, wsi, hs, 413, "Te groot / Payload too large\n");
    } else {
        rc = routed_handle(srv, wsi, hs, req);
    }
    free(req->body);
    free(req);
    return rc;
}

static int handle_request(struct server *srv, struct lws *wsi, struct http_session *hs,
                          const char *uri)
{
    hs->close_after = false;
    bool post = lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0;
    bool auth = strncmp(uri, "/auth/", 6) == 0;
    if (strncmp(uri, "/admin/", 7) == 0) {
        srv->http_requests[ROUTE_ADMIN]++;
        enum admin_method method = ADMIN_OTHER;
        if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0)
            method = ADMIN_GET;
        else if (post)
            method = ADMIN_POST;
        else if (lws_hdr_total_length(wsi, WSI_TOKEN_DELETE_URI) > 0)
            method = ADMIN_DELETE;
        if (admin_appointments_route(uri))
            return begin_admin(srv, wsi, hs, uri, method);
        return admin_handle(srv, wsi, hs, uri, method);
    }
    if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) <= 0 &&
        lws_hdr_total_length(wsi, WSI_TOKEN_HEAD_URI) <= 0 && !(auth && post)) {
        srv->http_requests[ROUTE_METHOD_NOT_ALLOWED]++;
        hs->close_after = true; /* a body we do not read must not become the next request */
        return respond_text(srv, wsi, hs, 405, "Methode niet toegestaan / Method not allowed\n");
    }
    if (auth)
        return begin_routed(srv, wsi, hs, uri, post);
    if (strcmp(uri, "/healthz") == 0) {
        srv->http_requests[ROUTE_HEALTHZ]++;
        return respond_text(srv, wsi, hs, 200, "ok\n");
    }
    if (strcmp(uri, "/readyz") == 0) {
        srv->http_requests[ROUTE_READYZ]++;
        return srv->draining ? respond_text(srv, wsi, hs, 503, "draining\n")
                             : respond_text(srv, wsi, hs, 200, "ready\n");
    }
    if (strcmp(uri, "/metrics") == 0) {
        srv->http_requests[ROUTE_METRICS]++;
        struct strbuf sb;
        strbuf_init(&sb);
        metrics_render(&sb);
        if (sb.failed) {
            strbuf_free(&sb);
            return respond_text(srv, wsi, hs, 500, "out of memory\n");
        }
        return respond(srv, wsi, hs, 200, "text/plain; version=0.0.4; charset=utf-8", sb.data,
                       sb.len);
    }
    return serve_static(srv, wsi, hs, uri);
}

static int write_body(struct lws *wsi, struct http_session *hs)
{
    enum { CHUNK = 16384 };
    unsigned char buf[LWS_PRE + CHUNK];
    size_t left = hs->body_len - hs->body_sent;
    size_t n = left < CHUNK ? left : CHUNK;
    bool last = n == left;
    if (n)
        memcpy(buf + LWS_PRE, hs->body + hs->body_sent, n);
    if (lws_write(wsi, buf + LWS_PRE, n, last ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP) != (int)n)
        return 1;
    hs->body_sent += n;
    if (!last) {
        lws_callback_on_writable(wsi);
        return 0;
    }
    free(hs->body);
    hs->body = NULL;
    if (hs->close_after)
        return -1;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

int http_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                  size_t len)
{
    struct server *srv = lws_context_user(lws_get_context(wsi));
    struct http_session *hs = user;

    switch (reason) {
    case LWS_CALLBACK_HTTP: {
        char uri[512];
        if (len >= sizeof(uri))
            return respond_text(srv, wsi, hs, 414, "URI te lang / URI too long\n");
        memcpy(uri, in, len);
        uri[len] = '\0';
        return handle_request(srv, wsi, hs, uri);
    }
    case LWS_CALLBACK_HTTP_WRITEABLE:
        if (hs && hs->deferred_ready && !hs->body) {
            hs->deferred_ready = false;
            return auth_answer_deferred(srv, wsi, hs);
        }
        if (hs && hs->deferred)
            return auth_deferred_writable(srv, wsi, hs);
        if (!hs || !hs->body)
            return 0;
        return write_body(wsi, hs);
    case LWS_CALLBACK_HTTP_BODY:
        return on_body(hs, in, len);
    case LWS_CALLBACK_HTTP_BODY_COMPLETION:
        return on_body_done(srv, wsi, hs);
    case LWS_CALLBACK_HTTP_FILE_COMPLETION:
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    case LWS_CALLBACK_CLOSED_HTTP:
        if (hs && hs->deferred)
            auth_deferred_closed(srv, hs);
        if (hs) {
            auth_forget(srv, hs);
            free(hs->body);
            hs->body = NULL;
            if (hs->req)
                free(hs->req->body);
            free(hs->req);
            hs->req = NULL;
        }
        return 0;
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        server_on_wake(srv);
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}
