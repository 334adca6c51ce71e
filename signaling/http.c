/* HTTP routes of the control thread: health, readiness, metrics and the static pages.
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
                                unsigned char *end)
{
    int err = add_header(wsi, "content-security-policy:", csp, p, end);
    err |= add_header(wsi, "x-content-type-options:", "nosniff", p, end);
    err |= add_header(wsi, "referrer-policy:", "no-referrer", p, end);
    err |= add_header(wsi, "x-frame-options:", "DENY", p, end);
    err |= add_header(wsi, "cross-origin-opener-policy:", "same-origin", p, end);
    err |= add_header(wsi, "permissions-policy:",
                      "camera=(self), microphone=(self), geolocation=(), payment=()", p, end);
    if (srv->tls)
        err |= add_header(wsi, "strict-transport-security:", "max-age=31536000", p, end);
    return err;
}

/* Sends headers now and queues `body` (taken over) for the writeable callback. */
static int respond(struct server *srv, struct lws *wsi, struct http_session *hs, unsigned status,
                   const char *content_type, char *body, size_t len)
{
    unsigned char buf[LWS_PRE + 2048];
    unsigned char *start = buf + LWS_PRE, *p = start, *end = buf + sizeof(buf) - 1;
    if (lws_add_http_common_headers(wsi, status, content_type, (lws_filepos_t)len, &p, end) ||
        add_security_headers(srv, wsi, &p, end) ||
        add_header(wsi, "cache-control:", "no-store", &p, end) ||
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
    if (uri[0] != '/' || strstr(uri, "..") || strstr(uri, "/.") || strstr(uri, "//"))
        return -1;
    for (const char *c = uri; *c; c++)
        if (!(isalnum((unsigned char)*c) || *c == '.' || *c == '_' || *c == '-' || *c == '/'))
            return -1;
    if (!mime_for(uri))
        return -1;
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
    if (add_security_headers(srv, wsi, &p, end) ||
        add_header(wsi, "cache-control:", "no-cache", &p, end))
        return 1;
    int n = lws_serve_http_file(wsi, path, mime_for(path), (const char *)extra, (int)(p - extra));
    if (n < 0)
        return -1;
    if (n > 0 && lws_http_transaction_completed(wsi))
        return -1;
    return 0;
}

static int handle_request(struct server *srv, struct lws *wsi, struct http_session *hs,
                          const char *uri)
{
    if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) <= 0 &&
        lws_hdr_total_length(wsi, WSI_TOKEN_HEAD_URI) <= 0) {
        srv->http_requests[ROUTE_METHOD_NOT_ALLOWED]++;
        return respond_text(srv, wsi, hs, 405, "Methode niet toegestaan / Method not allowed\n");
    }
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
        if (!hs || !hs->body)
            return 0;
        return write_body(wsi, hs);
    case LWS_CALLBACK_HTTP_FILE_COMPLETION:
        return lws_http_transaction_completed(wsi) ? -1 : 0;
    case LWS_CALLBACK_CLOSED_HTTP:
        if (hs) {
            free(hs->body);
            hs->body = NULL;
        }
        return 0;
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        server_on_wake(srv);
        return 0;
    default:
        return lws_callback_http_dummy(wsi, reason, user, in, len);
    }
}
