/* Janus's videocall plugin over its WebSocket API (subprotocol janus-protocol), the baseline
 * the benchmark compares Balie with. Per peer: create a session, attach
 * janus.plugin.videocall, register a name; then citizen i (the caller) calls agent i (the
 * callee) with its own offer, the callee accepts with an answer to the offer Janus sends it.
 * Janus runs ICE-lite here (configured by tests/bench/run.sh), so the load peer is again the
 * controlling agent, and its DTLS role follows each answer's a=setup. */
#include <jansson.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loadpeer.h"

#define SUBPROTOCOL "janus-protocol"

/* Per peer (2 * call + role): how far its Janus handle got. */
enum jstep { J_NONE = 0, J_CREATED, J_ATTACHED, J_REGISTERED };

static enum jstep steps[2 * LP_MAX_CALLS];

static enum jstep *step_of(const struct lp_peer *p)
{
    return &steps[2 * p->call->index + (unsigned)p->role];
}

static void name_of(const struct lp_peer *p, char *out, size_t cap)
{
    snprintf(out, cap, "%s%u", p->role == LP_CITIZEN ? "c" : "a", p->call->index);
}

static void send_janus(struct lp_peer *p, const char *verb, json_t *msg)
{
    char tx[32];
    snprintf(tx, sizeof(tx), "%s-%d", verb, ++p->next_id);
    json_object_set_new(msg, "janus", json_string(verb));
    json_object_set_new(msg, "transaction", json_string(tx));
    if (p->session_id)
        json_object_set_new(msg, "session_id", json_integer((json_int_t)p->session_id));
    if (p->handle_id)
        json_object_set_new(msg, "handle_id", json_integer((json_int_t)p->handle_id));
    char *s = json_dumps(msg, JSON_COMPACT);
    json_decref(msg);
    if (s)
        lp_ws_queue(p, s);
    free(s);
}

/* A videocall request, with a JSEP description when `sdp_type` is set. */
static void send_request(struct lp_peer *p, json_t *body, const char *sdp_type, const char *sdp)
{
    json_t *m = json_pack("{s:o}", "body", body);
    if (sdp_type)
        json_object_set_new(m, "jsep", json_pack("{s:s, s:s}", "type", sdp_type, "sdp", sdp));
    send_janus(p, "message", m);
}

static bool use_remote(struct lp_run *r, struct lp_peer *p, const char *sdp)
{
    struct sockaddr_in addr;
    if (!sdp || lp_sdp_read_remote(p, sdp, &addr) != 0) {
        fprintf(stderr, "loadpeer: call %u: a Janus description the load peer cannot use\n",
                p->call->index);
        p->fail = "bad description";
        atomic_store(&p->phase, PEER_FAILED);
        return false;
    }
    p->remote = addr;
    p->offer_ns = lp_now_ns();
    r->media_addr = addr;
    return true;
}

static void on_event(struct lp_run *r, struct lp_peer *p, json_t *m)
{
    json_t *data = json_object_get(json_object_get(m, "plugindata"), "data");
    json_t *result = json_object_get(data, "result");
    const char *ev = json_string_value(json_object_get(result, "event"));
    const char *sdp = json_string_value(json_object_get(json_object_get(m, "jsep"), "sdp"));
    if (json_object_get(data, "error")) {
        fprintf(stderr, "loadpeer: call %u: videocall error %s\n", p->call->index,
                json_string_value(json_object_get(data, "error")));
        return;
    }
    if (!ev)
        return;
    if (strcmp(ev, "registered") == 0) {
        *step_of(p) = J_REGISTERED;
    } else if (strcmp(ev, "incomingcall") == 0 && p->role == LP_AGENT && !p->answered) {
        if (!use_remote(r, p, sdp))
            return;
        static char answer[8192];
        if (lp_sdp_write(p, r, false, answer, sizeof(answer)) < 0)
            return;
        p->call->accept_ns = lp_now_ns();
        send_request(p, json_pack("{s:s}", "request", "accept"), "answer", answer);
        p->answered = true;
        p->call->matched = true;
        atomic_store_explicit(&p->phase, PEER_START, memory_order_release);
    } else if (strcmp(ev, "accepted") == 0 && p->role == LP_CITIZEN && sdp && !p->answered) {
        if (!use_remote(r, p, sdp))
            return;
        p->answered = true;
        atomic_store_explicit(&p->phase, PEER_START, memory_order_release);
    } else if (strcmp(ev, "hangup") == 0) {
        p->ended = true;
    }
}

static void on_message(struct lp_run *r, struct lp_peer *p, char *text, size_t len)
{
    json_t *m = json_loadb(text, len, 0, NULL);
    const char *verb = m ? json_string_value(json_object_get(m, "janus")) : NULL;
    const char *tx = m ? json_string_value(json_object_get(m, "transaction")) : NULL;
    if (!verb) {
        json_decref(m);
        return;
    }
    if (strcmp(verb, "success") == 0 && tx) {
        json_int_t id = json_integer_value(json_object_get(json_object_get(m, "data"), "id"));
        char name[32];
        if (strncmp(tx, "create-", 7) == 0) {
            p->session_id = (uint64_t)id;
            *step_of(p) = J_CREATED;
            send_janus(p, "attach", json_pack("{s:s}", "plugin", "janus.plugin.videocall"));
        } else if (strncmp(tx, "attach-", 7) == 0) {
            p->handle_id = (uint64_t)id;
            *step_of(p) = J_ATTACHED;
            name_of(p, name, sizeof(name));
            send_request(p, json_pack("{s:s, s:s}", "request", "register", "username", name), NULL,
                         NULL);
        }
    } else if (strcmp(verb, "event") == 0) {
        on_event(r, p, m);
    } else if (strcmp(verb, "error") == 0) {
        fprintf(stderr, "loadpeer: call %u: Janus error %s\n", p->call->index,
                json_string_value(json_object_get(json_object_get(m, "error"), "reason")));
    } else if (strcmp(verb, "hangup") == 0) {
        p->ended = true;
    }
    json_decref(m);
}

static unsigned count_step(const struct lp_run *r, enum jstep s)
{
    unsigned n = 0;
    for (unsigned i = 0; i < 2 * r->ncalls; i++)
        n += steps[i] >= s;
    return n;
}

static int connect_all(struct lp_run *r, struct lws_context *ctx)
{
    char host[256] = "127.0.0.1";
    int port = 8188;
    if (sscanf(r->opt.url, "ws://%255[^:/]:%d", host, &port) < 1)
        return -1;
    for (unsigned i = 0; i < r->ncalls; i++)
        for (int k = 0; k < 2; k++) {
            struct lp_peer *p = &r->calls[i].peer[k];
            if (!lp_ws_connect(ctx, host, port, "/", NULL, SUBPROTOCOL, p))
                return -1;
            send_janus(p, "create", json_object());
        }
    uint64_t deadline = lp_now_ns() + (uint64_t)(r->opt.setup_timeout_s * 1e9);
    unsigned want = 2 * r->ncalls, done;
    while ((done = count_step(r, J_REGISTERED)) < want) {
        if (lp_now_ns() > deadline)
            return -1;
        lp_ws_service(ctx, 50);
        lp_progress(r, "registered", done, want);
    }
    return 0;
}

/* Citizen i calls agent i; with --accept-rate the calls start at that rate. */
static void call_all(struct lp_run *r, struct lws_context *ctx)
{
    static char offer[8192];
    uint64_t first = lp_now_ns();
    uint64_t deadline = first + (uint64_t)(r->opt.setup_timeout_s * 1e9);
    unsigned started = 0, matched = 0;
    while (matched < r->ncalls && lp_now_ns() < deadline) {
        unsigned allowed = lp_accept_allowance(r, lp_now_ns() - first);
        for (; started < allowed; started++) {
            struct lp_peer *c = &r->calls[started].peer[LP_CITIZEN];
            char callee[32];
            name_of(&r->calls[started].peer[LP_AGENT], callee, sizeof(callee));
            if (lp_sdp_write(c, r, true, offer, sizeof(offer)) < 0)
                continue;
            send_request(c, json_pack("{s:s, s:s}", "request", "call", "username", callee), "offer",
                         offer);
        }
        lp_ws_service(ctx, 5);
        matched = 0;
        for (unsigned i = 0; i < r->ncalls; i++)
            matched += r->calls[i].matched;
        lp_progress(r, "calls accepted", matched, r->ncalls);
    }
}

static void hangup_all(struct lp_run *r, struct lws_context *ctx)
{
    for (unsigned i = 0; i < r->ncalls; i++)
        send_request(&r->calls[i].peer[LP_CITIZEN], json_pack("{s:s}", "request", "hangup"), NULL,
                     NULL);
    lp_ws_service(ctx, 500);
    for (unsigned i = 0; i < r->ncalls; i++)
        for (int k = 0; k < 2; k++) {
            r->calls[i].peer[k].handle_id = 0; /* destroy is a session request */
            send_janus(&r->calls[i].peer[k], "destroy", json_object());
        }
    lp_ws_service(ctx, 500);
}

int lp_janus_run(struct lp_run *r)
{
    if (strncmp(r->opt.url, "ws://", 5) != 0) {
        fprintf(stderr, "loadpeer: --url must be ws://host:port for Janus\n");
        return -1;
    }
    struct lws_context *ctx = lp_ws_context(r, SUBPROTOCOL, on_message);
    if (!ctx)
        return -1;
    int rc = -1;
    if (connect_all(r, ctx) != 0) {
        fprintf(stderr, "loadpeer: not every Janus handle registered\n");
        goto out;
    }
    call_all(r, ctx);
    lp_hold(r, ctx);
    hangup_all(r, ctx);
    rc = 0;
out:
    lws_context_destroy(ctx);
    return rc;
}
