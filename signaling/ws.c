/* The `balie.v1` WebSocket (DESIGN.md §4): admission (Origin and a logged-in session), frame
 * reassembly with a size limit, a per-socket rate limit, and an outgoing queue. What the
 * messages mean is calls.c's business. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "balie/log.h"
#include "balie/session.h"
#include "server_internal.h"
#include "ws_internal.h"

#define WS_OUT_MAX 512     /* queued frames before a client that does not read is closed */
#define WS_RATE_PER_S 20.0 /* sustained messages per second */
#define WS_RATE_BURST 60.0
#define WS_RATE_CLOSE (-40.0) /* a client this far over the limit is closed with 1008 */

static bool origin_in_list(const char *list, const char *origin)
{
    size_t n = strlen(origin);
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, ", ");
        if (len == n && strncasecmp(p, origin, n) == 0)
            return true;
        p += len;
        p += strspn(p, ", ");
    }
    return false;
}

/* The socket is the page's own: its Origin is this gateway (scheme and Host header), the
 * configured public URL, or one of http.allowed_origins. A missing Origin is refused:
 * browsers always send one on WebSocket requests (RFC 6455 §4.1). */
static bool origin_allowed(struct server *srv, struct lws *wsi)
{
    char origin[256], host[256], own[300];
    if (lws_hdr_copy(wsi, origin, sizeof(origin), WSI_TOKEN_ORIGIN) <= 0)
        return false;
    if (lws_hdr_copy(wsi, host, sizeof(host), WSI_TOKEN_HOST) > 0) {
        snprintf(own, sizeof(own), "%s://%s", srv->tls ? "https" : "http", host);
        if (strcasecmp(origin, own) == 0)
            return true;
    }
    size_t n = strlen(srv->cfg->http.public_url);
    while (n > 0 && srv->cfg->http.public_url[n - 1] == '/')
        n--;
    if (n > 0 && strlen(origin) == n && strncasecmp(origin, srv->cfg->http.public_url, n) == 0)
        return true;
    return origin_in_list(srv->cfg->http.allowed_origins, origin);
}

static const struct session *session_of(struct server *srv, struct lws *wsi)
{
    char cookie[1024];
    if (lws_hdr_copy(wsi, cookie, sizeof(cookie), WSI_TOKEN_HTTP_COOKIE) <= 0)
        return NULL;
    return session_from_cookie_header(srv->sessions, cookie, server_now_ms());
}

static void free_out(struct ws_client *c)
{
    while (c->out_head) {
        struct ws_out *next = c->out_head->next;
        free(c->out_head);
        c->out_head = next;
    }
    c->out_tail = NULL;
    c->out_count = 0;
}

void ws_send(struct ws_client *c, char *json)
{
    if (!json)
        return;
    size_t len = strlen(json);
    if (!c->wsi || c->out_count >= WS_OUT_MAX) {
        if (c->wsi && c->out_count == WS_OUT_MAX) {
            log_warn("ws", "a client does not read its messages: closing it");
            lws_close_reason(c->wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION,
                             (unsigned char *)"not reading", 11);
            lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, LWS_TO_KILL_ASYNC);
            c->out_count++;
        }
        free(json);
        return;
    }
    struct ws_out *o = malloc(sizeof(*o) + LWS_PRE + len);
    if (!o) {
        free(json);
        return;
    }
    o->next = NULL;
    o->len = len;
    /* A WebSocket frame is length-delimited: the copy carries no NUL on purpose. */
    memcpy(o->data + LWS_PRE, json, len); // NOLINT(bugprone-not-null-terminated-result)
    free(json);
    if (c->out_tail)
        c->out_tail->next = o;
    else
        c->out_head = o;
    c->out_tail = o;
    c->out_count++;
    lws_callback_on_writable(c->wsi);
}

static int write_one(struct ws_client *c)
{
    struct ws_out *o = c->out_head;
    if (!o)
        return 0;
    if (lws_write(c->wsi, o->data + LWS_PRE, o->len, LWS_WRITE_TEXT) < (int)o->len)
        return -1;
    c->out_head = o->next;
    if (!c->out_head)
        c->out_tail = NULL;
    c->out_count--;
    free(o);
    if (c->out_head)
        lws_callback_on_writable(c->wsi);
    return 0;
}

/* Returns false when the client is so far over its rate that it must be closed. */
static bool rate_ok(struct ws_client *c)
{
    uint64_t now = server_now_ms();
    c->tokens += (double)(now - c->tokens_ms) * WS_RATE_PER_S / 1000.0;
    if (c->tokens > WS_RATE_BURST)
        c->tokens = WS_RATE_BURST;
    c->tokens_ms = now;
    c->tokens -= 1.0;
    return c->tokens > WS_RATE_CLOSE;
}

static int close_with(struct lws *wsi, enum lws_close_status status, const char *why)
{
    lws_close_reason(wsi, status, (unsigned char *)why, strlen(why));
    return -1;
}

/* One whole message: parse, and answer an error or hand it to calls.c. */
static void on_message(struct server *srv, struct ws_client *c, const char *text, size_t len)
{
    if (c->tokens < 0) {
        if (!c->warned_rate)
            ws_send(c, proto_build_error(&(struct proto_id){0}, "rate_limited",
                                         "too many messages; slow down"));
        c->warned_rate = true;
        return;
    }
    c->warned_rate = false;
    struct proto_msg msg;
    struct proto_error err;
    if (proto_parse(text, len, &msg, &err) != 0) {
        ws_send(c, proto_build_parse_error(&err));
        return;
    }
    calls_handle(srv->calls, c, &msg);
    proto_msg_free(&msg);
}

static int on_receive(struct server *srv, struct ws_client *c, struct lws *wsi, const char *in,
                      size_t len)
{
    if (lws_frame_is_binary(wsi))
        return close_with(wsi, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE, "text frames only");
    if (!rate_ok(c))
        return close_with(wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION, "message flood");
    bool first = lws_is_first_fragment(wsi), last = lws_is_final_fragment(wsi);
    if (first && last && lws_remaining_packet_payload(wsi) == 0) {
        on_message(srv, c, in, len);
        return 0;
    }
    /* Fragments (or a frame larger than the receive buffer, which lws delivers in pieces):
     * collect up to the protocol's limit in a buffer that lives only as long as the message,
     * so an idle connection holds none. */
    if (first)
        c->rx_len = 0;
    if (c->rx_len + len > PROTO_FRAME_MAX)
        return close_with(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, "message too large");
    if (c->rx_len + len > c->rx_cap) {
        size_t cap = c->rx_cap ? c->rx_cap : WS_RX_BUFFER;
        while (cap < c->rx_len + len)
            cap *= 2;
        if (cap > PROTO_FRAME_MAX)
            cap = PROTO_FRAME_MAX;
        char *grown = realloc(c->rx, cap);
        if (!grown)
            return close_with(wsi, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION, "out of memory");
        c->rx = grown;
        c->rx_cap = cap;
    }
    memcpy(c->rx + c->rx_len, in, len);
    c->rx_len += len;
    if (last && lws_remaining_packet_payload(wsi) == 0) {
        on_message(srv, c, c->rx, c->rx_len);
        free(c->rx);
        c->rx = NULL;
        c->rx_len = c->rx_cap = 0;
    }
    return 0;
}

static bool open_client(struct server *srv, struct ws_client *c, struct lws *wsi)
{
    const struct session *s = session_of(srv, wsi);
    memset(c, 0, sizeof(*c));
    if (!s)
        return false;
    c->wsi = wsi;
    c->role = s->role == SESSION_ROLE_AGENT ? PROTO_ROLE_AGENT : PROTO_ROLE_CITIZEN;
    snprintf(c->pseudonym, sizeof(c->pseudonym), "%s", s->pseudonym);
    c->loa = s->loa;
    snprintf(c->provider, sizeof(c->provider), "%s", s->provider);
    snprintf(c->display_name, sizeof(c->display_name), "%s", s->display_name);
    snprintf(c->agent_id, sizeof(c->agent_id), "%s", s->agent_id);
    snprintf(c->services, sizeof(c->services), "%s", s->services);
    memcpy(c->session_hash, s->id_hash, sizeof(c->session_hash));
    c->tokens = WS_RATE_BURST;
    c->tokens_ms = server_now_ms();
    calls_client_opened(srv->calls, c);
    srv->ws_connections = calls_clients(srv->calls);
    return true;
}

void ws_tick(struct server *srv)
{
    uint64_t now = server_now_ms();
    for (struct ws_client *c = calls_first_client(srv->calls); c; c = c->next) {
        if (!c->wsi || c->closing || session_find_hash(srv->sessions, c->session_hash, now))
            continue;
        log_info("ws", "a session ended (logout or expiry): closing its WebSocket");
        c->closing = true;
        lws_callback_on_writable(c->wsi);
    }
}

int ws_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
    struct server *srv = lws_context_user(lws_get_context(wsi));
    struct ws_client *c = user;
    switch (reason) {
    case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION:
        /* Non-zero refuses the upgrade: no socket without an allowed Origin and a session. */
        /* A status, not a bare close, so a page can tell "log in again" from a network fault. */
        if (!origin_allowed(srv, wsi)) {
            srv->ws_refused++;
            log_warn("ws", "WebSocket refused: Origin not allowed");
            lws_return_http_status(wsi, HTTP_STATUS_FORBIDDEN, "Origin not allowed");
            return 1;
        }
        if (!session_of(srv, wsi)) {
            srv->ws_refused++;
            log_info("ws", "WebSocket refused: no valid session");
            lws_return_http_status(wsi, HTTP_STATUS_UNAUTHORIZED, "Not logged in");
            return 1;
        }
        return 0;
    case LWS_CALLBACK_ESTABLISHED:
        if (!open_client(srv, c, wsi))
            return close_with(wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION, "session ended");
        return 0;
    case LWS_CALLBACK_RECEIVE:
        return on_receive(srv, c, wsi, in, len);
    case LWS_CALLBACK_SERVER_WRITEABLE:
        if (c->closing)
            return close_with(wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION, "session ended");
        return write_one(c);
    case LWS_CALLBACK_CLOSED:
        if (c->wsi) {
            calls_client_closed(srv->calls, c);
            free_out(c);
            free(c->rx);
            c->rx = NULL;
            c->rx_len = c->rx_cap = 0;
            c->wsi = NULL;
            srv->ws_connections = calls_clients(srv->calls);
        }
        return 0;
    default:
        return 0;
    }
}
