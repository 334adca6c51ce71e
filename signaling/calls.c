/* Calls: the queue meets the media plane. A citizen joins the queue; an agent accepts; the
 * control thread makes both offers (it knows every value an offer needs), tells one media
 * worker to create and bridge both legs, passes each browser's answer on, and ends the call on
 * hang-up, a failed leg or a dropped socket. Control thread only. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "balie/journey.h"
#include "balie/log.h"
#include "balie/media.h"
#include "balie/metrics.h"
#include "balie/sdp.h"
#include "balie/turn.h"
#include "balie/users.h"
#include "calls_internal.h"

const char *const outcome_names[OUT_COUNT] = {"completed", "failed", "dropped"};

void calls_send_error(struct ws_client *c, const struct proto_id *id, const char *code,
                      const char *message)
{
    ws_send(c, proto_build_error(id, code, message));
}

void calls_send_ack(struct ws_client *c, const struct proto_id *id)
{
    if (id->present)
        ws_send(c, proto_build_ack(id));
}

#define send_error calls_send_error
#define send_ack calls_send_ack

/* ---- Queue broadcasts ---- */

static void send_agent_queue(struct calls *calls, struct ws_client *c, uint64_t now)
{
    struct queue_entry_view views[64];
    size_t n = queue_agent_view(calls->queue, c->handle, now, views, 64);
    ws_send(c, calls_journey_decorate_queue(
                   calls, calls_queue_agent_msg(calls, c, views, n < 64 ? n : 64)));
    /* An agent in a call still gets the current view when it ends: the end moves the queue's
     * generation on. */
    c->sent_generation = queue_generation(calls->queue);
    c->sent_roster = calls->roster;
    calls->queue_messages++;
}

/* The queue changed: the views go out at the end of this turn of the loop
 * (calls_flush_queue), once however many changes the turn made. */
void calls_broadcast_queue(struct calls *calls)
{
    calls->queue_dirty = true;
}

/* Tells every idle agent and every waiting citizen what changed for them since they last
 * heard. An agent in a call does not see the queue (the console shows it again when the call
 * ends, and then gets the view, its generation being old); it hears of colleagues coming or
 * going, its transfer targets, from calls_tick. A citizen hears only when its place changed. */
static void send_queue_updates(struct calls *calls, uint64_t now)
{
    uint64_t gen = queue_generation(calls->queue);
    for (struct ws_client *c = calls->clients; c; c = c->next) {
        if (c->role == PROTO_ROLE_AGENT && c->agent_known) {
            if (!c->call && c->sent_generation != gen)
                send_agent_queue(calls, c, now);
        } else if (c->role == PROTO_ROLE_CITIZEN && c->waiting_call[0] &&
                   c->sent_generation != gen) {
            char *msg = calls_queue_position_update(calls, c);
            calls->queue_messages += msg != NULL;
            ws_send(c, msg);
            c->sent_generation = gen;
        }
    }
}

int calls_flush_queue(struct calls *calls, uint64_t now)
{
    if (!calls->queue_dirty)
        return 0;
    /* At most one broadcast per CALLS_QUEUE_MIN_MS: while calls pour in, every client hears
     * a bounded number of updates a second instead of one per change. */
    if (calls->queue_sent_ms && now < calls->queue_sent_ms + CALLS_QUEUE_MIN_MS)
        return (int)(calls->queue_sent_ms + CALLS_QUEUE_MIN_MS - now);
    calls->queue_dirty = false;
    calls->queue_sent_ms = now;
    calls->queue_flushes++;
    send_queue_updates(calls, now);
    return 0;
}

/* ---- Life cycle ---- */

struct calls *calls_new(const struct balie_config *cfg, const char *fingerprint)
{
    struct calls *calls = calloc(1, sizeof(*calls));
    if (!calls)
        return NULL;
    calls->cfg = cfg;
    snprintf(calls->fingerprint, sizeof(calls->fingerprint), "%s", fingerprint ? fingerprint : "");
    calls->queue = queue_new(NULL);
    if (!calls->queue) {
        free(calls);
        return NULL;
    }
    for (int i = 0; i < cfg->service_count; i++) {
        enum identity_loa loa = LOA_MIDDEN;
        (void)identity_loa_parse(cfg->services[i].min_loa, &loa);
        queue_service_add(calls->queue, cfg->services[i].id, loa);
    }
    calls_queue_init(calls);
    /* Candidates: the announced addresses when set (NAT, containers), else the bind address. */
    const char *list = cfg->media.announce[0] ? cfg->media.announce : cfg->media.bind;
    for (const char *p = list; *p && calls->address_count < SDP_MAX_CANDIDATES;) {
        size_t n = strcspn(p, ", ");
        if (n > 0 && n <= SDP_IP_TEXT_MAX) {
            memcpy(calls->addresses[calls->address_count], p, n);
            calls->addresses[calls->address_count++][n] = '\0';
        }
        p += n;
        p += strspn(p, ", ");
    }
    calls->next_handle = 1;
    calls->next_leg = 1;
    calls->roster = 1; /* a new client's 0 differs: it gets the list */
    metrics_add_collector(calls_collect_metrics, calls);
    return calls;
}

void calls_attach_pool(struct calls *calls, struct worker_pool *pool)
{
    calls->pool = pool;
}

void calls_free(struct calls *calls)
{
    if (!calls)
        return;
    while (calls->list) {
        struct call *next = calls->list->next;
        free(calls->list->journey); /* still open in the store: the next start closes it */
        free(calls->list);
        calls->list = next;
    }
    queue_free(calls->queue);
    free(calls);
}

void calls_set_draining(struct calls *calls, bool draining)
{
    calls->draining = draining;
}

int calls_active(const struct calls *calls)
{
    return calls->active;
}

struct ws_client *calls_first_client(struct calls *calls)
{
    return calls->clients;
}

size_t calls_pending_output(const struct calls *calls)
{
    size_t n = 0;
    for (const struct ws_client *c = calls->clients; c; c = c->next)
        n += c->out_count;
    return n;
}

int calls_clients(const struct calls *calls)
{
    return calls->client_count;
}

void calls_client_opened(struct calls *calls, struct ws_client *c)
{
    c->calls = calls;
    c->handle = calls->next_handle++;
    c->next = calls->clients;
    if (calls->clients)
        calls->clients->prev = c;
    calls->clients = c;
    calls->client_count++;
}

/* ---- Ending a call ---- */

static int send_leg_close(struct calls *calls, struct call *call, int side)
{
    struct worker_cmd cmd = {.type = WORKER_CMD_LEG_CLOSE, .id = call->leg[side].leg_id};
    return calls->pool ? worker_send(calls->pool, call->worker, &cmd) : 0;
}

/* Ends `call` once: closes both legs, tells both browsers, frees the agent. */
static void end_call(struct calls *calls, struct call *call, const char *reason, enum outcome out)
{
    for (int side = 0; side < 2; side++) {
        if (send_leg_close(calls, call, side) != 0)
            calls->worker_queue_full++; /* the worker frees the leg at consent expiry anyway */
        struct ws_client *c = call->client[side];
        if (c) {
            ws_send(c, proto_build_ended(reason, outcome_names[out]));
            c->call = NULL;
        }
    }
    if (call->flowing)
        queue_record_handled(calls->queue, call->service,
                             (uint32_t)((now_ms() - call->flowing_ms) / 1000u));
    calls_hold_end(calls, call);
    queue_agent_release(calls->queue, call->agent_handle);
    for (struct call **p = &calls->list; *p; p = &(*p)->next) {
        if (*p == call) {
            *p = call->next;
            break;
        }
    }
    log_write(LOG_LEVEL_INFO, "calls", call->id, "call ended: %s (%s)", reason, outcome_names[out]);
    calls_journey_call_end(calls, call, reason, out);
    calls->ended[out]++;
    calls->active--;
    free(call);
    calls_broadcast_queue(calls);
}

void calls_client_closed(struct calls *calls, struct ws_client *c)
{
    if (calls_resume_park(calls, c))
        return; /* kept for a while: the same session may come back (calls_resume.c) */
    calls_journey_wait_end(calls, c, "citizen_disconnected");
    if (c->waiting_call[0]) {
        queue_leave(calls->queue, c->waiting_call);
        c->waiting_call[0] = '\0';
    }
    if (c->call) {
        struct call *call = c->call;
        call->client[c->role == PROTO_ROLE_CITIZEN ? SIDE_CITIZEN : SIDE_AGENT] = NULL;
        c->call = NULL;
        end_call(calls, call, "peer_disconnected", OUT_DROPPED);
    }
    if (c->role == PROTO_ROLE_AGENT)
        queue_agent_remove(calls->queue, c->handle);
    if (c->role == PROTO_ROLE_AGENT && c->agent_known)
        calls->roster++; /* colleagues' transfer targets change */
    if (c->prev)
        c->prev->next = c->next;
    else if (calls->clients == c)
        calls->clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    calls->client_count--;
    calls_broadcast_queue(calls);
}

/* ---- Starting a call ---- */

/* RFC 8839 §5.4 ice-chars: ALPHA / DIGIT / "+" / "/". */
static int random_ice_string(char *out, size_t len)
{
    static const char chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    unsigned char bytes[64];
    if (len >= sizeof(bytes) || RAND_bytes(bytes, (int)len) != 1)
        return -1;
    for (size_t i = 0; i < len; i++)
        out[i] = chars[bytes[i] & 63];
    out[len] = '\0';
    return 0;
}

static int random_u32(uint32_t *out)
{
    do {
        if (RAND_bytes((unsigned char *)out, sizeof(*out)) != 1)
            return -1;
    } while (*out == 0);
    return 0;
}

/* Fills one leg's offer: fresh ICE credentials and SSRCs, our fingerprint, and the worker's
 * port on every candidate address. */
static int make_offer(struct calls *calls, struct call_leg *leg, int port)
{
    struct sdp_offer_params *o = &leg->offer;
    memset(o, 0, sizeof(*o));
    if (RAND_bytes((unsigned char *)&o->session_id, sizeof(o->session_id)) != 1 ||
        random_ice_string(o->ice_ufrag, 8) != 0 || random_ice_string(o->ice_pwd, 24) != 0 ||
        random_u32(&o->audio_ssrc) != 0 || random_u32(&o->video_ssrc) != 0)
        return -1;
    o->session_id &= (UINT64_C(1) << 62) - 1; /* JSEP: below 2^63 */
    o->session_version = 1;
    if (o->video_ssrc == o->audio_ssrc)
        o->video_ssrc ^= 1u;
    snprintf(o->fingerprint, sizeof(o->fingerprint), "%s", calls->fingerprint);
    snprintf(o->cname, sizeof(o->cname), "balie");
    for (size_t i = 0; i < calls->address_count; i++) {
        snprintf(o->candidates[i].address, sizeof(o->candidates[i].address), "%s",
                 calls->addresses[i]);
        o->candidates[i].port = (uint16_t)port;
    }
    o->candidate_count = calls->address_count;
    o->ice_lite = true;
    return 0;
}

static int send_leg_create(struct calls *calls, struct call *call, int side)
{
    struct media_leg_params *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    const struct sdp_offer_params *o = &call->leg[side].offer;
    p->leg_id = call->leg[side].leg_id;
    snprintf(p->call_id, sizeof(p->call_id), "%s", call->id);
    snprintf(p->ice_ufrag, sizeof(p->ice_ufrag), "%s", o->ice_ufrag);
    snprintf(p->ice_pwd, sizeof(p->ice_pwd), "%s", o->ice_pwd);
    p->audio_ssrc = o->audio_ssrc;
    p->video_ssrc = o->video_ssrc;
    struct worker_cmd cmd = {.type = WORKER_CMD_LEG_CREATE, .id = p->leg_id, .ptr = p};
    int err = worker_send(calls->pool, call->worker, &cmd);
    if (err != 0)
        free(p);
    return err;
}

/* The TURN/STUN servers for one call: every configured URL in one RTCIceServer, with
 * time-limited credentials when a secret is configured. Returns how many servers (0 or 1). */
static size_t ice_servers_for_call(const struct calls *calls, struct proto_ice_server *server,
                                   const char **urls, size_t max_urls,
                                   char username[TURN_USERNAME_MAX],
                                   char credential[TURN_CREDENTIAL_MAX], char *copy,
                                   size_t copy_len)
{
    const struct balie_config *cfg = calls->cfg;
    if (!cfg->turn.urls[0])
        return 0;
    snprintf(copy, copy_len, "%s", cfg->turn.urls);
    size_t n = 0;
    for (char *save = NULL, *u = strtok_r(copy, ", ", &save); u && n < max_urls;
         u = strtok_r(NULL, ", ", &save))
        urls[n++] = u;
    memset(server, 0, sizeof(*server));
    server->urls = urls;
    server->url_count = n;
    if (cfg->turn.secret[0] &&
        turn_rest_credentials(cfg->turn.secret, (uint64_t)time(NULL), cfg->turn.ttl_s, "balie",
                              username, credential) == 0) {
        server->username = username;
        server->credential = credential;
    }
    return n > 0 ? 1 : 0;
}

/* The offer of `side`'s leg as it stands (after an ICE restart: with the new credentials). */
void calls_send_offer(struct call *call, int side)
{
    char sdp[SDP_OFFER_MAX];
    if (sdp_build_offer(&call->leg[side].offer, sdp, sizeof(sdp)) > 0)
        ws_send(call->client[side], proto_build_offer(sdp));
}

void calls_send_call_and_offer(struct calls *calls, struct call *call, int side)
{
    struct ws_client *c = call->client[side];
    const struct ws_client *peer = call->client[1 - side];
    struct proto_peer info = {.loa = peer ? peer->loa : LOA_NONE,
                              .provider = peer ? peer->provider : ""};
    if (side == SIDE_AGENT) /* where the call comes from: service, lane, transfer notes */
        calls_queue_peer_info(call, &info);
    /* The agent sees the citizen's name only where the provider gave one and the deployment
     * chose to show it (identity.show_citizen_name); the citizen never sees the agent's. */
    if (side == SIDE_AGENT && peer && calls->cfg->identity.show_citizen_name &&
        peer->display_name[0])
        info.display_name = peer->display_name;
    struct proto_ice_server server;
    const char *urls[8];
    char username[TURN_USERNAME_MAX], credential[TURN_CREDENTIAL_MAX];
    char copy[sizeof(calls->cfg->turn.urls)];
    size_t n_servers =
        ice_servers_for_call(calls, &server, urls, 8, username, credential, copy, sizeof(copy));
    ws_send(c, calls_journey_decorate_call(
                   call, side,
                   proto_build_call(call->id,
                                    side == SIDE_CITIZEN ? PROTO_ROLE_CITIZEN : PROTO_ROLE_AGENT,
                                    &info, &server, n_servers)));
    calls_send_offer(call, side);
    ws_send(c, proto_build_state(call->id, PROTO_MEDIA_CONNECTING));
    calls_resume_issue(calls, c);
}

/* The agent took a call: both legs are made on one worker and both browsers get an offer. */
static void start_call(struct calls *calls, struct ws_client *agent, struct ws_client *citizen,
                       const struct queue_call *qc)
{
    struct call *call = calloc(1, sizeof(*call));
    if (!call)
        goto fail;
    snprintf(call->id, sizeof(call->id), "%s", qc->call);
    snprintf(call->service, sizeof(call->service), "%s", qc->service);
    call->taken = *qc;
    call->client[SIDE_CITIZEN] = citizen;
    call->client[SIDE_AGENT] = agent;
    call->agent_handle = agent->handle;
    call->started_ms = now_ms();
    call->worker = calls->next_worker++ % worker_pool_count(calls->pool);
    int port = worker_pool_port(calls->pool, call->worker);
    for (int side = 0; side < 2; side++) {
        call->leg[side].leg_id = calls->next_leg++;
        if (make_offer(calls, &call->leg[side], port) != 0)
            goto fail;
    }
    if (send_leg_create(calls, call, SIDE_CITIZEN) != 0)
        goto fail;
    if (send_leg_create(calls, call, SIDE_AGENT) != 0) {
        send_leg_close(calls, call, SIDE_CITIZEN);
        goto fail;
    }
    struct worker_cmd bridge = {.type = WORKER_CMD_BRIDGE,
                                .id = call->leg[SIDE_CITIZEN].leg_id,
                                .arg = call->leg[SIDE_AGENT].leg_id};
    if (worker_send(calls->pool, call->worker, &bridge) != 0)
        calls->worker_queue_full++;
    call->next = calls->list;
    calls->list = call;
    calls->active++;
    calls->started++;
    citizen->waiting_call[0] = '\0';
    citizen->call = call;
    agent->call = call;
    call->journey = citizen->journey; /* the session goes on as this call */
    citizen->journey = NULL;
    if (call->journey) {
        call->journey->answered_ms = journey_now_ms();
        snprintf(call->journey->agent_id, sizeof(call->journey->agent_id), "%s", agent->agent_id);
        if (calls->journey && journey_answered(calls->journey, call->journey->id,
                                               call->journey->answered_ms, agent->agent_id) != 0)
            log_error("journey", "cannot record the answer of %s", call->journey->id);
    }
    log_write(LOG_LEVEL_INFO, "calls", call->id, "call started on worker %d (service %s)",
              call->worker, call->service);
    calls_send_call_and_offer(calls, call, SIDE_CITIZEN);
    calls_send_call_and_offer(calls, call, SIDE_AGENT);
    calls_journey_send_history(calls, call);
    calls_broadcast_queue(calls);
    return;
fail:
    free(call);
    calls->worker_queue_full++;
    queue_agent_release(calls->queue, agent->handle);
    citizen->waiting_call[0] = '\0';
    calls_journey_end(calls, &citizen->journey, JOURNEY_FAILED, "gateway_busy", "gateway");
    ws_send(citizen, proto_build_ended("gateway_busy", "failed"));
    send_error(agent, &(struct proto_id){0}, "gateway_busy",
               "the media plane could not take the call; the citizen was told");
    calls->ended[OUT_FAILED]++;
    calls_broadcast_queue(calls);
}

static struct ws_client *client_by_handle(struct calls *calls, uint64_t handle)
{
    for (struct ws_client *c = calls->clients; c; c = c->next)
        if (c->handle == handle)
            return c;
    return NULL;
}

/* ---- Messages ---- */

/* DESIGN.md §6: each service names the lowest level it accepts. The refusal says which, so
 * the page can send the person to log in again at that level; no call, and so no media leg,
 * exists for them (legs are made only when an agent accepts a waiting call). */
static void refuse_loa(struct calls *calls, struct ws_client *c, const struct proto_msg *m)
{
    const struct config_service *svc =
        m->join.service ? config_service_find(calls->cfg, m->join.service)
                        : (calls->cfg->service_count == 1 ? &calls->cfg->services[0] : NULL);
    const char *min = svc ? svc->min_loa : "midden";
    char message[160];
    snprintf(message, sizeof(message),
             "this service needs assurance level %s or higher (you have %s): log in again at "
             "that level",
             min, identity_loa_name(c->loa));
    calls->refused_loa++;
    ws_send(c, proto_build_error_with(&m->id, "loa_too_low", message, "min_loa", min));
}

static void handle_join(struct calls *calls, struct ws_client *c, const struct proto_msg *m)
{
    if (calls->draining) {
        calls->refused_joins++;
        send_error(c, &m->id, "draining", "this gateway is closing; please try again shortly");
        return;
    }
    if (c->waiting_call[0] || c->call) {
        send_error(c, &m->id, "duplicate", "already waiting or in a call");
        return;
    }
    struct journey_context context;
    char why[160];
    if (m->join.context &&
        calls_journey_context(calls, m->join.context, &context, why, sizeof(why)) != 0) {
        calls->refused_joins++;
        send_error(c, &m->id, "context_invalid", why);
        return;
    }
    struct calls_join_plan plan;
    if (calls_queue_plan_join(calls, c, m, &plan) != 0) {
        calls->refused_joins++;
        return; /* told why: closed, or the appointment code */
    }
    int r = queue_join_ex(calls->queue, now_ms(), plan.service, c->handle, c->loa, &plan.opts,
                          c->waiting_call);
    if (r != 0) {
        calls->refused_joins++;
        c->waiting_call[0] = '\0';
        if (r == QUEUE_ERR_LOA_TOO_LOW) {
            refuse_loa(calls, c, m);
            return;
        }
        send_error(c, &m->id, queue_result_name(r), "cannot join that queue");
        return;
    }
    calls->joins++;
    calls_journey_begin(calls, c, plan.service, plan.opts.appointment,
                        m->join.context ? &context : NULL);
    send_ack(c, &m->id);
    ws_send(c, calls_queue_position_msg(calls, c, true));
    calls_resume_issue(calls, c);
    c->sent_generation = queue_generation(calls->queue);
    calls_broadcast_queue(calls);
}

static void handle_leave(struct calls *calls, struct ws_client *c, const struct proto_msg *m)
{
    if (!c->waiting_call[0]) {
        send_error(c, &m->id, "not_found", "not waiting");
        return;
    }
    calls_journey_wait_end(calls, c, "citizen_left");
    queue_leave(calls->queue, c->waiting_call);
    c->waiting_call[0] = '\0';
    send_ack(c, &m->id);
    calls_broadcast_queue(calls);
}

/* An agent takes only the services its account allows (the users file, or a provider's
 * claim): each one it names must be allowed, and naming none means all of the allowed ones
 * that are configured. Returns how many ids are in `out` (0 and NULL `out` means all), or -1
 * with the refused id in `*refused`. */
static long agent_services(const struct calls *calls, const struct ws_client *c,
                           const struct proto_msg *m, const char **out, const char **refused)
{
    if (!c->services[0])
        return -2; /* no restriction: the agent's own list, as it sent it */
    for (size_t i = 0; i < m->presence.service_count; i++) {
        if (!users_service_allowed(c->services, m->presence.services[i])) {
            *refused = m->presence.services[i];
            return -1;
        }
    }
    if (m->presence.service_count > 0)
        return -2;
    size_t n = 0;
    for (int i = 0; i < calls->cfg->service_count && n < CONFIG_MAX_SERVICES; i++)
        if (users_service_allowed(c->services, calls->cfg->services[i].id))
            out[n++] = calls->cfg->services[i].id;
    if (n == 0)
        *refused = "";
    return n ? (long)n : -1;
}

static void handle_presence(struct calls *calls, struct ws_client *c, const struct proto_msg *m)
{
    const char *own[CONFIG_MAX_SERVICES], *refused = NULL;
    long n = agent_services(calls, c, m, own, &refused);
    if (n == -1) {
        char message[160];
        snprintf(message, sizeof(message), "your account may not take service '%.64s'",
                 refused[0] ? refused : "(none configured)");
        send_error(c, &m->id, "service_not_allowed", message);
        return;
    }
    const char *const *list = n > 0 ? own : m->presence.services;
    size_t count = n > 0 ? (size_t)n : m->presence.service_count;
    int r = queue_agent_set(calls->queue, c->handle, m->presence.status == PROTO_AVAILABLE, list,
                            count);
    if (r != 0) {
        send_error(c, &m->id, queue_result_name(r), "presence not accepted");
        return;
    }
    if (!c->agent_known)
        calls->roster++;
    c->agent_known = true;
    if (c->agent_id[0]) /* so appointments and transfers can name this agent */
        queue_agent_set_id(calls->queue, c->handle, c->agent_id);
    send_ack(c, &m->id);
    send_agent_queue(calls, c, now_ms());
}

static void handle_accept(struct calls *calls, struct ws_client *c, const struct proto_msg *m)
{
    if (calls->draining) {
        send_error(c, &m->id, "draining", "this gateway is closing and takes no new calls");
        return;
    }
    if (!calls->pool) {
        send_error(c, &m->id, "gateway_busy", "no media workers");
        return;
    }
    struct queue_call qc;
    int r = queue_accept(calls->queue, c->handle, m->accept.call, now_ms(), &qc);
    if (r != 0) {
        send_error(c, &m->id, queue_result_name(r), "cannot take that call");
        return;
    }
    struct ws_client *citizen = client_by_handle(calls, qc.citizen);
    if (!citizen) { /* cannot happen: a closing citizen leaves the queue first */
        queue_agent_release(calls->queue, c->handle);
        send_error(c, &m->id, "not_found", "the citizen is gone");
        return;
    }
    send_ack(c, &m->id);
    start_call(calls, c, citizen, &qc);
}

static void handle_answer(struct calls *calls, struct ws_client *c, const struct proto_msg *m)
{
    struct call *call = c->call;
    if (!call) {
        send_error(c, &m->id, "not_in_call", "no call to answer");
        return;
    }
    int side = c->role == PROTO_ROLE_CITIZEN ? SIDE_CITIZEN : SIDE_AGENT;
    struct call_leg *leg = &call->leg[side];
    if (leg->answered) {
        send_error(c, &m->id, "duplicate", "this offer was answered already");
        return;
    }
    struct sdp_answer ans;
    char why[160];
    if (sdp_parse_answer(m->answer.sdp, strlen(m->answer.sdp), &leg->offer, &ans, why,
                         sizeof(why)) != 0) {
        send_error(c, &m->id, "bad_answer", why);
        end_call(calls, call, "bad_answer", OUT_FAILED);
        return;
    }
    struct media_answer *a = calloc(1, sizeof(*a));
    if (!a) {
        end_call(calls, call, "gateway_busy", OUT_FAILED);
        return;
    }
    a->leg_id = leg->leg_id;
    snprintf(a->ice_ufrag, sizeof(a->ice_ufrag), "%s", ans.ice_ufrag);
    snprintf(a->ice_pwd, sizeof(a->ice_pwd), "%s", ans.ice_pwd);
    memcpy(a->fingerprint, ans.fingerprint, sizeof(a->fingerprint));
    a->dtls_client = ans.setup == SDP_SETUP_PASSIVE;
    a->audio_ssrc = ans.media[SDP_MEDIA_AUDIO].rejected ? 0 : ans.media[SDP_MEDIA_AUDIO].ssrc;
    a->video_ssrc = ans.media[SDP_MEDIA_VIDEO].rejected ? 0 : ans.media[SDP_MEDIA_VIDEO].ssrc;
    a->video_rtcp_fb = ans.media[SDP_MEDIA_VIDEO].rtcp_fb;
    struct worker_cmd cmd = {.type = WORKER_CMD_LEG_ANSWER, .id = a->leg_id, .ptr = a};
    if (!calls->pool || worker_send(calls->pool, call->worker, &cmd) != 0) {
        free(a);
        calls->worker_queue_full++;
        end_call(calls, call, "gateway_busy", OUT_FAILED);
        return;
    }
    leg->answered = true;
    send_ack(c, &m->id);
}

static void handle_chat(struct ws_client *c, const struct proto_msg *m)
{
    if (!c->call) {
        send_error(c, &m->id, "not_in_call", "chat is only possible during a call");
        return;
    }
    struct ws_client *peer =
        c->call->client[c->role == PROTO_ROLE_CITIZEN ? SIDE_AGENT : SIDE_CITIZEN];
    if (peer)
        ws_send(peer, proto_build_chat(c->role, m->chat.text));
    send_ack(c, &m->id);
}

static bool allowed(const struct ws_client *c, enum proto_type type)
{
    switch (type) {
    case PROTO_JOIN:
    case PROTO_LEAVE:
        return c->role == PROTO_ROLE_CITIZEN;
    case PROTO_PRESENCE:
    case PROTO_ACCEPT:
    case PROTO_HOLD:
    case PROTO_RESUME:
    case PROTO_TRANSFER:
    case PROTO_PRIORITIZE:
        return c->role == PROTO_ROLE_AGENT;
    default:
        return true;
    }
}

void calls_handle(struct calls *calls, struct ws_client *c, const struct proto_msg *m)
{
    if (!allowed(c, m->type)) {
        send_error(c, &m->id, "forbidden", "that message is not for your role");
        return;
    }
    switch (m->type) {
    case PROTO_JOIN:
        handle_join(calls, c, m);
        break;
    case PROTO_LEAVE:
        handle_leave(calls, c, m);
        break;
    case PROTO_PRESENCE:
        handle_presence(calls, c, m);
        break;
    case PROTO_ACCEPT:
        handle_accept(calls, c, m);
        break;
    case PROTO_ANSWER:
        handle_answer(calls, c, m);
        break;
    case PROTO_CANDIDATE:
        /* RFC 8445 §2.5: a lite agent learns addresses from the browser's checks, not from
         * its candidates; acknowledging them keeps the browser's state machine simple. */
        send_ack(c, &m->id);
        break;
    case PROTO_HANGUP:
        if (!c->call) {
            send_error(c, &m->id, "not_in_call", "no call to hang up");
            break;
        }
        send_ack(c, &m->id);
        end_call(calls, c->call, "hangup", OUT_COMPLETED);
        break;
    case PROTO_CHAT:
        handle_chat(c, m);
        break;
    case PROTO_RESUME_SESSION:
        calls_resume_handle(calls, c, m);
        break;
    case PROTO_TRANSFER:
        calls_transfer(calls, c, m);
        break;
    case PROTO_PRIORITIZE:
        calls_queue_prioritize(calls, c, m);
        break;
    case PROTO_HOLD:
    case PROTO_RESUME:
        calls_handle_hold(calls, c, m);
        break;
    }
}

/* ---- Events from the media plane ---- */

/* A browser's path went quiet (MEDIA_LEG_DISCONNECTED): offer it new ICE credentials, so it
 * restarts ICE from wherever it is now (RFC 8445 §9; JSEP re-offer). Both sides are told the
 * call is connecting again. The old credentials keep working meanwhile. */
static void restart_ice(struct calls *calls, struct call *call, int side)
{
    struct call_leg *leg = &call->leg[side];
    struct ws_client *c = call->client[side];
    if (!c || leg->reconnecting || !calls->pool)
        return;
    struct media_leg_params *p = calloc(1, sizeof(*p));
    if (!p)
        return;
    struct sdp_offer_params *o = &leg->offer;
    if (random_ice_string(o->ice_ufrag, 8) != 0 || random_ice_string(o->ice_pwd, 24) != 0) {
        free(p);
        return;
    }
    o->session_version++; /* RFC 3264 §8: every new offer of a session gets a higher version */
    p->leg_id = leg->leg_id;
    snprintf(p->call_id, sizeof(p->call_id), "%s", call->id);
    snprintf(p->ice_ufrag, sizeof(p->ice_ufrag), "%s", o->ice_ufrag);
    snprintf(p->ice_pwd, sizeof(p->ice_pwd), "%s", o->ice_pwd);
    struct worker_cmd cmd = {.type = WORKER_CMD_LEG_RESTART, .id = p->leg_id, .ptr = p};
    if (worker_send(calls->pool, call->worker, &cmd) != 0) {
        free(p);
        calls->worker_queue_full++;
        return;
    }
    leg->reconnecting = true;
    leg->answered = false;
    leg->restarts++;
    calls->ice_restarts++;
    log_write(LOG_LEVEL_INFO, "calls", call->id, "%s's path went quiet: ICE restart %u",
              side == SIDE_CITIZEN ? "citizen" : "agent", leg->restarts);
    char sdp[SDP_OFFER_MAX];
    if (sdp_build_offer(o, sdp, sizeof(sdp)) > 0)
        ws_send(c, proto_build_offer(sdp));
    for (int s = 0; s < 2; s++)
        if (call->client[s])
            ws_send(call->client[s], proto_build_state(call->id, PROTO_MEDIA_CONNECTING));
}

static struct call *call_by_leg(struct calls *calls, uint64_t leg_id, int *side)
{
    for (struct call *call = calls->list; call; call = call->next) {
        for (int s = 0; s < 2; s++) {
            if (call->leg[s].leg_id == leg_id) {
                *side = s;
                return call;
            }
        }
    }
    return NULL;
}

static void on_leg_state(struct calls *calls, struct call *call, int side, uint64_t arg)
{
    static const char *const stages[] = {"media_failed", "ice_failed", "dtls_failed",
                                         "media_failed", "consent_lost"};
    enum media_leg_state state = media_state_of(arg);
    enum media_fail_stage stage = media_stage_of(arg);
    switch (state) {
    case MEDIA_LEG_DISCONNECTED:
        restart_ice(calls, call, side);
        break;
    case MEDIA_LEG_ICE_CONNECTED:
        /* Again, after a quiet spell: the browser is back, on its old path or a new one. */
        if (call->leg[side].reconnecting) {
            call->leg[side].reconnecting = false;
            calls->ice_restarts_recovered++;
            for (int s = 0; s < 2; s++)
                if (call->client[s] && call->flowing)
                    ws_send(call->client[s], proto_build_state(call->id, calls_media_now(call)));
        }
        break;
    case MEDIA_LEG_FLOWING:
        call->leg[side].flowing = true;
        if (!call->flowing && call->leg[0].flowing && call->leg[1].flowing) {
            call->flowing = true;
            call->flowing_ms = now_ms();
            log_write(LOG_LEVEL_INFO, "calls", call->id, "media flowing after %llu ms",
                      (unsigned long long)(call->flowing_ms - call->started_ms));
            for (int s = 0; s < 2; s++)
                if (call->client[s])
                    ws_send(call->client[s], proto_build_state(call->id, calls_media_now(call)));
        }
        break;
    case MEDIA_LEG_FAILED:
    case MEDIA_LEG_CLOSED:
        for (int s = 0; s < 2; s++)
            if (call->client[s] && state == MEDIA_LEG_FAILED)
                ws_send(call->client[s], proto_build_state(call->id, PROTO_MEDIA_FAILED));
        end_call(calls, call, stage <= MEDIA_FAIL_CONSENT ? stages[stage] : "media_failed",
                 state == MEDIA_LEG_FAILED ? OUT_FAILED : OUT_DROPPED);
        break;
    default:
        break;
    }
}

void calls_on_worker_event(struct calls *calls, const struct worker_event *evt)
{
    int side = 0;
    struct call *call = NULL;
    switch (evt->type) {
    case WORKER_EVT_LEG_STATE:
        call = call_by_leg(calls, evt->id, &side);
        if (call) /* events for a call that already ended are expected (LEG_CLOSED) */
            on_leg_state(calls, call, side, evt->arg);
        break;
    case WORKER_EVT_LEG_STATS:
        call = call_by_leg(calls, evt->id, &side);
        if (call && evt->ptr)
            calls_on_leg_stats(calls, &call->leg[side], evt->ptr);
        free(evt->ptr);
        break;
    default:
        break;
    }
}

void calls_tick(struct calls *calls, uint64_t now)
{
    calls_resume_tick(calls, now, false);
    calls_queue_tick(calls, now); /* appointments come due, assignments lapse */
    if (calls_journey_tick(calls) > 0)
        calls_broadcast_queue(calls);
    /* Waiting times grow every second without the queue changing. An agent in a call gets the
     * list of colleagues (its transfer targets) when it changed, here at most once a second:
     * while agents log in by the hundred, one each per change would be N² messages. */
    for (struct ws_client *c = calls->clients; c; c = c->next)
        if (c->role == PROTO_ROLE_AGENT && c->agent_known &&
            (c->call ? c->sent_roster != calls->roster : queue_waiting_count(calls->queue) > 0))
            send_agent_queue(calls, c, now);
}

/* ---- For calls_queue.c and transfer.c ---- */

int calls_leg_close(struct calls *calls, struct call *call, int side)
{
    return send_leg_close(calls, call, side);
}
