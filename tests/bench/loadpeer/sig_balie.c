/* Balie's signaling protocol v1 (docs/protocol.md): each peer logs in through the dev provider
 * over HTTP (three requests, as a script without a browser does), opens the WebSocket with its
 * session cookie, and then citizens `join` while agents go `available` and `accept` the call of
 * their own citizen, so that call i pairs citizen i with agent i. Both answer the gateway's
 * offer; the gateway is ICE-lite, so the load peer is the controlling agent. */
#include <curl/curl.h>
#include <jansson.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loadpeer.h"

#define SUBPROTOCOL "balie.v1"

struct http_reply {
    long status;
    char location[2048];
    char cookie[256];
};

static size_t on_header(char *buf, size_t size, size_t n, void *arg)
{
    struct http_reply *r = arg;
    size_t len = size * n;
    char line[2048];
    size_t l = len < sizeof(line) - 1 ? len : sizeof(line) - 1;
    memcpy(line, buf, l);
    line[l] = '\0';
    line[strcspn(line, "\r\n")] = '\0';
    if (strncasecmp(line, "Location: ", 10) == 0)
        snprintf(r->location, sizeof(r->location), "%s", line + 10);
    if (strncasecmp(line, "Set-Cookie: balie_session=", 26) == 0) {
        const char *v = line + 26;
        size_t vl = strcspn(v, ";");
        if (vl < sizeof(r->cookie) - 16)
            snprintf(r->cookie, sizeof(r->cookie), "balie_session=%.*s", (int)vl, v);
    }
    return len;
}

static size_t on_body(char *buf, size_t size, size_t n, void *arg)
{
    (void)buf;
    (void)arg;
    return size * n;
}

static int http(CURL *c, const char *base, const char *path, const char *form,
                struct http_reply *out)
{
    char url[2600];
    snprintf(url, sizeof(url), "%s%s", base, path);
    memset(out, 0, sizeof(*out));
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    struct curl_slist *h = NULL;
    if (form) {
        char origin[300];
        snprintf(origin, sizeof(origin), "Origin: %s", base);
        h = curl_slist_append(h, origin);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, form);
    }
    CURLcode rc = curl_easy_perform(c);
    curl_slist_free_all(h);
    if (rc != CURLE_OK)
        return -1;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
    return 0;
}

/* The part of a Location after `base` (the gateway answers with absolute or relative ones). */
static const char *relative(const char *loc, const char *base)
{
    size_t n = strlen(base);
    return strncmp(loc, base, n) == 0 ? loc + n : loc;
}

/* GET /auth/login → the dev form's state → POST the form → GET the callback → cookie. */
static int dev_login(CURL *c, const char *base, struct lp_peer *p, const char *subject)
{
    const char *ret = p->role == LP_AGENT ? "%2Fagent" : "%2F";
    char path[256], form[1024];
    struct http_reply r;
    snprintf(path, sizeof(path), "/auth/login?provider=dev&return=%s", ret);
    if (http(c, base, path, NULL, &r) || r.status != 302)
        return -1;
    const char *st = strstr(r.location, "state=");
    if (!st)
        return -1;
    char state[512];
    snprintf(state, sizeof(state), "%.*s", (int)strcspn(st + 6, "&"), st + 6);
    snprintf(form, sizeof(form), "state=%s&return=%s&subject=%s&loa=substantieel&role=%s&name=%s",
             state, ret, subject, p->role == LP_AGENT ? "agent" : "citizen",
             p->role == LP_AGENT ? "Load" : "");
    if (http(c, base, "/auth/dev/authorize", form, &r) || (r.status != 302 && r.status != 303))
        return -1;
    char next[2048];
    snprintf(next, sizeof(next), "%s", relative(r.location, base));
    if (http(c, base, next, NULL, &r) || !r.cookie[0])
        return -1;
    snprintf(p->cookie, sizeof(p->cookie), "%s", r.cookie);
    return 0;
}

/* A test BSN that passes the eleven test (weights 9..2 and -1), from a running number. */
static void test_bsn(unsigned *n, char out[10])
{
    for (;; (*n)++) {
        unsigned v = 99990000u + (*n % 10000u), sum = 0;
        snprintf(out, 10, "%08u", v);
        for (int i = 0; i < 8; i++)
            sum += (unsigned)(out[i] - '0') * (unsigned)(9 - i);
        unsigned check = sum % 11;
        if (check == 10)
            continue;
        out[8] = (char)('0' + check);
        out[9] = '\0';
        (*n)++;
        return;
    }
}

static void send_json(struct lp_peer *p, json_t *msg)
{
    json_object_set_new(msg, "id", json_integer(++p->next_id));
    char *s = json_dumps(msg, JSON_COMPACT);
    json_decref(msg);
    if (s)
        lp_ws_queue(p, s);
    free(s);
}

static void on_offer(struct lp_run *r, struct lp_peer *p, const char *sdp)
{
    if (p->answered)
        return; /* a re-offer (ICE restart) is not part of a load run */
    struct sockaddr_in addr;
    if (lp_sdp_read_remote(p, sdp, &addr) != 0) {
        fprintf(stderr, "loadpeer: an offer the load peer cannot use\n");
        p->fail = "bad offer";
        atomic_store(&p->phase, PEER_FAILED);
        return;
    }
    p->remote = addr;
    p->offer_ns = lp_now_ns();
    r->media_addr = addr;
    static char answer[8192];
    if (lp_sdp_write(p, r, false, answer, sizeof(answer)) < 0)
        return;
    send_json(p, json_pack("{s:s, s:s}", "type", "answer", "sdp", answer));
    p->answered = true;
    atomic_store_explicit(&p->phase, PEER_START, memory_order_release);
}

static void on_message(struct lp_run *r, struct lp_peer *p, char *text, size_t len)
{
    json_t *m = json_loadb(text, len, 0, NULL);
    const char *type = m ? json_string_value(json_object_get(m, "type")) : NULL;
    struct lp_call *call = p->call;
    if (!type) {
        json_decref(m);
        return;
    }
    if (strcmp(type, "queued") == 0 && p->role == LP_CITIZEN) {
        const char *id = json_string_value(json_object_get(m, "call"));
        if (id)
            snprintf(call->id, sizeof(call->id), "%s", id);
    } else if (strcmp(type, "call") == 0) {
        call->matched = true;
    } else if (strcmp(type, "offer") == 0) {
        const char *sdp = json_string_value(json_object_get(m, "sdp"));
        if (sdp)
            on_offer(r, p, sdp);
    } else if (strcmp(type, "ended") == 0) {
        p->ended = true;
    } else if (strcmp(type, "error") == 0) {
        const char *code = json_string_value(json_object_get(m, "code"));
        fprintf(stderr, "loadpeer: call %u %s: error %s\n", call->index,
                p->role == LP_AGENT ? "agent" : "citizen", code ? code : "?");
        if (p->role == LP_AGENT && p->accepted && !call->matched)
            p->accepted = false; /* try again */
    }
    json_decref(m);
}

static int login_all(struct lp_run *r)
{
    CURL *c = curl_easy_init();
    if (!c)
        return -1;
    unsigned bsn = 0;
    int rc = 0;
    for (unsigned i = 0; i < r->ncalls && rc == 0; i++) {
        char subject[32];
        test_bsn(&bsn, subject);
        if (dev_login(c, r->opt.url, &r->calls[i].peer[LP_CITIZEN], subject) != 0)
            rc = -1;
        snprintf(subject, sizeof(subject), "load-agent-%u", i);
        if (rc == 0 && dev_login(c, r->opt.url, &r->calls[i].peer[LP_AGENT], subject) != 0)
            rc = -1;
        if (rc != 0)
            fprintf(stderr, "loadpeer: dev login %u failed at %s\n", i, r->opt.url);
        if (i % 20 == 0 || i + 1 == r->ncalls)
            lp_progress(r, "logged in", i + 1, r->ncalls);
    }
    curl_easy_cleanup(c);
    return rc;
}

/* Connects every WebSocket and waits until they are open. */
static int connect_all(struct lp_run *r, struct lws_context *ctx)
{
    char host[256] = "localhost";
    int port = 80;
    if (sscanf(r->opt.url, "http://%255[^:/]:%d", host, &port) < 1)
        return -1;
    for (unsigned i = 0; i < r->ncalls; i++)
        for (int k = 0; k < 2; k++)
            if (!lp_ws_connect(ctx, host, port, "/ws", r->opt.url, SUBPROTOCOL,
                               &r->calls[i].peer[k]))
                return -1;
    uint64_t deadline = lp_now_ns() + (uint64_t)(r->opt.setup_timeout_s * 1e9);
    for (;;) {
        unsigned open = 0, closed = 0;
        for (unsigned i = 0; i < r->ncalls; i++)
            for (int k = 0; k < 2; k++) {
                open += r->calls[i].peer[k].ws_open;
                closed += r->calls[i].peer[k].ws_closed;
            }
        lp_progress(r, "WebSockets open", open, 2 * r->ncalls);
        if (open == 2 * r->ncalls)
            return 0;
        if (closed || lp_now_ns() > deadline)
            return -1;
        lp_ws_service(ctx, 50);
    }
}

/* Citizens join first; then each agent goes available and at once accepts its own citizen's
 * call (at --accept-rate calls a second when given), as an agent who is busy as soon as it
 * accepts does. */
static void match_all(struct lp_run *r, struct lws_context *ctx)
{
    for (unsigned i = 0; i < r->ncalls; i++) {
        json_t *j = json_pack("{s:s}", "type", "join");
        if (r->opt.service && r->opt.service[0])
            json_object_set_new(j, "service", json_string(r->opt.service));
        send_json(&r->calls[i].peer[LP_CITIZEN], j);
    }
    uint64_t deadline = lp_now_ns() + (uint64_t)(r->opt.setup_timeout_s * 1e9);
    unsigned matched = 0, queued = 0;
    while (queued < r->ncalls && lp_now_ns() < deadline) {
        lp_ws_service(ctx, 20);
        queued = 0;
        for (unsigned i = 0; i < r->ncalls; i++)
            queued += r->calls[i].id[0] != 0;
        lp_progress(r, "citizens queued", queued, r->ncalls);
    }
    uint64_t first = lp_now_ns();
    unsigned sent = 0;
    while (matched < r->ncalls && lp_now_ns() < deadline) {
        matched = 0;
        unsigned allowed = lp_accept_allowance(r, lp_now_ns() - first);
        for (unsigned i = 0; i < r->ncalls; i++) {
            struct lp_call *c = &r->calls[i];
            struct lp_peer *a = &c->peer[LP_AGENT];
            if (c->id[0] && !a->accepted && sent < allowed) {
                sent++;
                a->accepted = true;
                c->accept_ns = lp_now_ns();
                send_json(a, json_pack("{s:s, s:s}", "type", "presence", "status", "available"));
                send_json(a, json_pack("{s:s, s:s}", "type", "accept", "call", c->id));
            }
            matched += c->matched;
        }
        lp_ws_service(ctx, 5);
        lp_progress(r, "calls accepted", matched, r->ncalls);
    }
}

static void hangup_all(struct lp_run *r, struct lws_context *ctx)
{
    for (unsigned i = 0; i < r->ncalls; i++)
        send_json(&r->calls[i].peer[LP_AGENT], json_pack("{s:s}", "type", "hangup"));
    uint64_t deadline = lp_now_ns() + 3000000000ull;
    unsigned ended = 0;
    while (ended < 2 * r->ncalls && lp_now_ns() < deadline) {
        lp_ws_service(ctx, 20);
        ended = 0;
        for (unsigned i = 0; i < r->ncalls; i++)
            ended += r->calls[i].peer[0].ended + r->calls[i].peer[1].ended;
    }
}

int lp_balie_run(struct lp_run *r)
{
    if (strncmp(r->opt.url, "http://", 7) != 0) {
        fprintf(stderr, "loadpeer: --url must be http://host:port for Balie\n");
        return -1;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = -1;
    struct lws_context *ctx = NULL;
    if (login_all(r) != 0)
        goto out;
    if (!(ctx = lp_ws_context(r, SUBPROTOCOL, on_message)))
        goto out;
    if (connect_all(r, ctx) != 0) {
        fprintf(stderr, "loadpeer: not every WebSocket opened\n");
        goto out;
    }
    match_all(r, ctx);
    lp_hold(r, ctx);
    hangup_all(r, ctx);
    rc = 0;
out:
    if (ctx)
        lws_context_destroy(ctx);
    curl_global_cleanup();
    return rc;
}
