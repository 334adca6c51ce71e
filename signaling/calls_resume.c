/* Reconnect (DESIGN.md §4 `resume_session`): a WebSocket that drops while its citizen waits in
 * line or while someone is in a call does not cost the place or the call.
 *
 * Whoever enters the queue or a call gets a `session {token, grace_s}` message: a single-use
 * token (32 random bytes, kept only as its SHA-256). When the socket closes, the client is
 * *parked*: a detached copy takes its place in the client list, with the same queue handle,
 * waiting entry, call and journey, so the queue and the call go on as if nothing happened
 * (messages to it are dropped; media never went through the socket). A new socket of the same
 * session presents the token with `resume_session` and takes the parked state over; it is told
 * where things stand (its place, or the call's offer and state). A parked client that nobody
 * resumes within `reconnect.grace_s` is closed the ordinary way: the citizen leaves the queue
 * (abandoned) or the call ends (dropped).
 *
 * Not parked: agents outside a call (their console sends presence again), sockets closed
 * because the session ended (logout, expiry), and everything while the gateway shuts down. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "balie/log.h"
#include "balie/token.h"
#include "calls_internal.h"

/* Everything a parked client holds that a resuming one takes over. */
static void move_state(struct ws_client *to, struct ws_client *from)
{
    to->handle = from->handle;
    memcpy(to->waiting_call, from->waiting_call, sizeof(to->waiting_call));
    to->call = from->call;
    to->agent_known = from->agent_known;
    to->agent_seen = from->agent_seen;
    memcpy(to->appointment_id, from->appointment_id, sizeof(to->appointment_id));
    to->appointment_start_ms = from->appointment_start_ms;
    to->appointment_end_ms = from->appointment_end_ms;
    to->journey = from->journey;
    to->sent_generation = 0; /* send it the queue again */
    from->waiting_call[0] = '\0';
    from->call = NULL;
    from->journey = NULL;
    if (to->call)
        to->call->client[to->role == PROTO_ROLE_CITIZEN ? SIDE_CITIZEN : SIDE_AGENT] = to;
}

/* Puts `to` where `from` is in the client list (`to` must not be in it). */
static void replace_in_list(struct calls *calls, struct ws_client *from, struct ws_client *to)
{
    to->prev = from->prev;
    to->next = from->next;
    if (from->prev)
        from->prev->next = to;
    else
        calls->clients = to;
    if (from->next)
        from->next->prev = to;
    from->prev = from->next = NULL;
}

static void unlink_client(struct calls *calls, struct ws_client *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else if (calls->clients == c)
        calls->clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
}

void calls_resume_issue(struct calls *calls, struct ws_client *c)
{
    char token[TOKEN_LEN + 1];
    if (!c->wsi || calls->cfg->reconnect.grace_s <= 0 || token_new(token) != 0)
        return;
    token_hash(token, TOKEN_LEN, c->resume_hash);
    c->resume_set = true;
    ws_send(c, proto_build_session(token, (uint32_t)calls->cfg->reconnect.grace_s));
    OPENSSL_cleanse(token, sizeof(token));
}

bool calls_resume_park(struct calls *calls, struct ws_client *c)
{
    bool worth_keeping = c->waiting_call[0] || c->call;
    if (!c->wsi || !c->resume_set || !worth_keeping || c->closing || calls->shutting_down ||
        calls->cfg->reconnect.grace_s <= 0)
        return false;
    struct ws_client *ghost = calloc(1, sizeof(*ghost));
    if (!ghost)
        return false;
    ghost->calls = calls;
    ghost->role = c->role;
    memcpy(ghost->pseudonym, c->pseudonym, sizeof(ghost->pseudonym));
    ghost->loa = c->loa;
    memcpy(ghost->provider, c->provider, sizeof(ghost->provider));
    memcpy(ghost->agent_id, c->agent_id, sizeof(ghost->agent_id));
    memcpy(ghost->session_hash, c->session_hash, sizeof(ghost->session_hash));
    memcpy(ghost->resume_hash, c->resume_hash, sizeof(ghost->resume_hash));
    ghost->resume_set = true;
    ghost->parked_until_ms = now_ms() + (uint64_t)calls->cfg->reconnect.grace_s * 1000u;
    move_state(ghost, c);
    replace_in_list(calls, c, ghost);
    calls->client_count--; /* a parked client is not a connection */
    calls->parked++;
    calls->parked_total++;
    log_write(LOG_LEVEL_INFO, "calls", ghost->call ? ghost->call->id : ghost->waiting_call,
              "%s's connection dropped: kept for %d s to reconnect",
              ghost->role == PROTO_ROLE_CITIZEN ? "citizen" : "agent",
              calls->cfg->reconnect.grace_s);
    return true;
}

/* The parked client that `token` names, or NULL. Every parked client is compared, in constant
 * time, so the answer's timing says nothing about which tokens exist. */
static struct ws_client *find_parked(struct calls *calls, const char *token)
{
    unsigned char hash[TOKEN_HASH_LEN];
    token_hash(token, strlen(token), hash);
    struct ws_client *found = NULL;
    for (struct ws_client *c = calls->clients; c; c = c->next)
        if (!c->wsi && c->resume_set && CRYPTO_memcmp(c->resume_hash, hash, sizeof(hash)) == 0)
            found = c;
    return found;
}

/* Tells a resumed client where things stand: its place in line, or its call. */
static void send_where(struct calls *calls, struct ws_client *c)
{
    if (c->waiting_call[0]) {
        ws_send(c, calls_queue_position_msg(calls, c, true));
        return;
    }
    struct call *call = c->call;
    if (!call)
        return;
    int side = c->role == PROTO_ROLE_CITIZEN ? SIDE_CITIZEN : SIDE_AGENT;
    struct call_leg *leg = &call->leg[side];
    if (!leg->answered && leg->restarts == 0) {
        /* The call began while this side was away: it never saw the call or its offer. */
        calls_send_call_and_offer(calls, call, side);
        return;
    }
    if (!leg->answered)
        calls_send_offer(call, side); /* an ICE restart's offer went out while it was away */
    ws_send(c, proto_build_state(call->id, leg->reconnecting ? PROTO_MEDIA_CONNECTING
                                                             : calls_media_now(call)));
}

void calls_resume_handle(struct calls *calls, struct ws_client *c, const struct proto_msg *m)
{
    struct ws_client *ghost = find_parked(calls, m->resume_session.token);
    bool same = ghost && ghost->role == c->role &&
                CRYPTO_memcmp(ghost->pseudonym, c->pseudonym, sizeof(c->pseudonym)) == 0;
    if (!same || now_ms() > ghost->parked_until_ms) {
        calls->resume_refused++;
        calls_send_error(c, &m->id, "resume_failed",
                         "nothing to resume: the place in line or the call has ended");
        return;
    }
    if (c->waiting_call[0] || c->call) {
        calls_send_error(c, &m->id, "duplicate", "this connection already waits or is in a call");
        return;
    }
    if (c->agent_known)
        queue_agent_remove(calls->queue, c->handle); /* the parked handle is the agent's own */
    move_state(c, ghost);
    unlink_client(calls, ghost);
    calls->parked--;
    calls->resumed++;
    OPENSSL_cleanse(ghost, sizeof(*ghost));
    free(ghost);
    log_write(LOG_LEVEL_INFO, "calls", c->call ? c->call->id : c->waiting_call, "%s reconnected",
              c->role == PROTO_ROLE_CITIZEN ? "citizen" : "agent");
    calls_send_ack(c, &m->id);
    calls_resume_issue(calls, c); /* single use: a fresh token for the next drop */
    send_where(calls, c);
    calls_broadcast_queue(calls);
}

/* Parked clients whose time is up are closed the ordinary way (abandoned, dropped). */
void calls_resume_tick(struct calls *calls, uint64_t now, bool all)
{
    struct ws_client *c = calls->clients;
    while (c) {
        struct ws_client *next = c->next;
        if (!c->wsi && (all || now > c->parked_until_ms)) {
            calls->client_count++; /* calls_client_closed counts it out again */
            calls->parked--;
            calls->parked_expired += all ? 0 : 1;
            calls_client_closed(calls, c);
            free(c);
        }
        c = next;
    }
}
