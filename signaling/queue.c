/* The waiting queue and agent matching: joining, agents, accepting, transfers. See
 * include/balie/queue.h for the contract and queue_order.c for the serving order.
 *
 * One list holds every waiting call in join order. Which call comes first depends on its lane
 * and the time (an appointment's turn comes), so the serving order is computed when it is
 * needed, never kept: with hundreds waiting that is one walk (the next call) or one sort (every
 * position at once). */
#include "queue_internal.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

const char *queue_result_name(int result)
{
    static const char *const names[] = {
        "ok",      "not_found",   "already_taken",   "not_eligible", "not_available",
        "busy",    "queue_empty", "unknown_service", "loa_too_low",  "duplicate",
        "invalid", "full",        "internal",        "internal",     "unknown_agent",
    };
    if (result > 0 || -result >= (int)(sizeof(names) / sizeof(names[0])))
        return "internal";
    return names[-result];
}

static int openssl_random(void *ctx, uint8_t *buf, size_t len)
{
    return RAND_bytes(buf, (int)len) == 1 ? 0 : -1;
}

struct queue *queue_new(const struct queue_config *cfg)
{
    struct queue *q = calloc(1, sizeof(*q));
    if (!q)
        return NULL;
    if (cfg)
        q->cfg = *cfg;
    if (!q->cfg.random)
        q->cfg.random = openssl_random;
    if (q->cfg.default_talk_s == 0)
        q->cfg.default_talk_s = QUEUE_DEFAULT_TALK_S;
    if (q->cfg.assign_fallback_ms == 0)
        q->cfg.assign_fallback_ms = QUEUE_ASSIGN_FALLBACK_MS;
    return q;
}

void queue_free(struct queue *q)
{
    if (!q)
        return;
    struct entry *e = q->head;
    while (e) {
        struct entry *next = e->next;
        free(e);
        e = next;
    }
    for (size_t i = 0; i < q->agent_count; i++)
        free(q->agents[i].held);
    free(q->agents);
    free(q);
}

/* 1..max characters of [A-Za-z0-9._:-], the protocol's id alphabet. */
static bool valid_id_max(const char *id, size_t max)
{
    size_t n = 0;
    for (; id[n]; n++) {
        char c = id[n];
        bool ok = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                  c == '.' || c == '_' || c == ':' || c == '-';
        if (!ok || n >= max)
            return false;
    }
    return n > 0;
}

static bool valid_id(const char *id)
{
    return valid_id_max(id, QUEUE_ID_MAX);
}

/* Index of service `id`, or -1. */
static int find_service(const struct queue *q, const char *id)
{
    for (size_t i = 0; i < q->service_count; i++)
        if (strcmp(q->services[i].id, id) == 0)
            return (int)i;
    return -1;
}

int queue_service_add(struct queue *q, const char *service, enum identity_loa min_loa)
{
    if (!service || !valid_id(service))
        return QUEUE_ERR_INVALID;
    if (find_service(q, service) >= 0)
        return QUEUE_ERR_DUPLICATE;
    if (q->service_count >= QUEUE_MAX_SERVICES)
        return QUEUE_ERR_FULL;
    struct service *s = &q->services[q->service_count++];
    memset(s, 0, sizeof(*s));
    strcpy(s->id, service);
    s->min_loa = min_loa;
    q->generation++;
    return QUEUE_OK;
}

struct entry *queue_find_entry(const struct queue *q, const char *call_id)
{
    for (struct entry *e = q->head; e; e = e->next)
        if (strcmp(e->call, call_id) == 0)
            return e;
    return NULL;
}

static struct agent *find_agent(const struct queue *q, uint64_t handle)
{
    for (size_t i = 0; i < q->agent_count; i++)
        if (q->agents[i].handle == handle)
            return &q->agents[i];
    return NULL;
}

static struct agent *find_agent_id(const struct queue *q, const char *id)
{
    for (size_t i = 0; i < q->agent_count; i++)
        if (q->agents[i].id[0] && strcmp(q->agents[i].id, id) == 0)
            return &q->agents[i];
    return NULL;
}

/* The agent holding `call_id`, if any: how a call that left the queue is told apart from one
 * that never was in it. */
static struct agent *find_holder(const struct queue *q, const char *call_id)
{
    for (size_t i = 0; i < q->agent_count; i++)
        if (q->agents[i].held && strcmp(q->agents[i].held->call, call_id) == 0)
            return &q->agents[i];
    return NULL;
}

static bool citizen_known(const struct queue *q, uint64_t citizen)
{
    for (struct entry *e = q->head; e; e = e->next)
        if (e->citizen == citizen)
            return true;
    for (size_t i = 0; i < q->agent_count; i++)
        if (q->agents[i].held && q->agents[i].held->citizen == citizen)
            return true;
    return false;
}

/* Join order: by join time, then by the order of the calls. */
static bool joined_before(const struct entry *a, const struct entry *b)
{
    if (a->joined_ms != b->joined_ms)
        return a->joined_ms < b->joined_ms;
    return a->seq < b->seq;
}

/* Inserts in join order, walking from the back, where a new join almost always belongs. */
static void insert_entry(struct queue *q, struct entry *e)
{
    struct entry *after = q->tail;
    while (after && joined_before(e, after))
        after = after->prev;
    e->prev = after;
    e->next = after ? after->next : q->head;
    if (e->next)
        e->next->prev = e;
    else
        q->tail = e;
    if (after)
        after->next = e;
    else
        q->head = e;
    q->waiting++;
}

static void unlink_entry(struct queue *q, struct entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        q->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        q->tail = e->prev;
    e->prev = e->next = NULL;
    q->waiting--;
}

/* Makes a fresh call id: 64 random bits in hex, retried on the (unlikely) clash. */
static int new_call_id(struct queue *q, char out[QUEUE_CALL_ID_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    for (int attempt = 0; attempt < 8; attempt++) {
        uint8_t bytes[QUEUE_CALL_ID_LEN / 2];
        if (q->cfg.random(q->cfg.random_ctx, bytes, sizeof(bytes)) != 0)
            return QUEUE_ERR_RANDOM;
        for (size_t i = 0; i < sizeof(bytes); i++) {
            out[2 * i] = hex[bytes[i] >> 4];
            out[2 * i + 1] = hex[bytes[i] & 15];
        }
        out[QUEUE_CALL_ID_LEN] = '\0';
        if (!queue_find_entry(q, out) && !find_holder(q, out))
            return QUEUE_OK;
    }
    return QUEUE_ERR_RANDOM;
}

int queue_join(struct queue *q, uint64_t now_ms, const char *service, uint64_t citizen,
               enum identity_loa loa, const char *appointment,
               char call_id_out[QUEUE_CALL_ID_LEN + 1])
{
    struct queue_join_opts opts = {.appointment = appointment, .due_ms = now_ms};
    return queue_join_ex(q, now_ms, service, citizen, loa, &opts, call_id_out);
}

int queue_join_ex(struct queue *q, uint64_t now_ms, const char *service, uint64_t citizen,
                  enum identity_loa loa, const struct queue_join_opts *opts,
                  char call_id_out[QUEUE_CALL_ID_LEN + 1])
{
    static const struct queue_join_opts none = {0};
    if (!opts)
        opts = &none;
    int s;
    if (service)
        s = find_service(q, service);
    else
        s = q->service_count == 1 ? 0 : -1;
    if (s < 0)
        return QUEUE_ERR_UNKNOWN_SERVICE;
    if ((opts->appointment && !valid_id(opts->appointment)) ||
        (opts->agent && !valid_id_max(opts->agent, QUEUE_AGENT_ID_MAX)))
        return QUEUE_ERR_INVALID;
    /* DESIGN.md §6: each service names the lowest assurance level it accepts. */
    if (loa < q->services[s].min_loa)
        return QUEUE_ERR_LOA_TOO_LOW;
    if (citizen_known(q, citizen))
        return QUEUE_ERR_DUPLICATE;

    struct entry *e = calloc(1, sizeof(*e));
    if (!e)
        return QUEUE_ERR_NO_MEMORY;
    int rc = new_call_id(q, e->call);
    if (rc != QUEUE_OK) {
        free(e);
        return rc;
    }
    if (opts->appointment) {
        strcpy(e->appointment, opts->appointment);
        e->due_ms = opts->due_ms;
        e->slot_start_ms = opts->slot_start_ms;
        if (opts->agent) {
            strcpy(e->assigned, opts->agent);
            uint64_t from = opts->due_ms > now_ms ? opts->due_ms : now_ms;
            e->exclusive_until_ms = from + q->cfg.assign_fallback_ms;
        }
    }
    e->citizen = citizen;
    e->joined_ms = now_ms;
    e->seq = q->next_seq++;
    e->service = (size_t)s;
    e->loa = loa;
    insert_entry(q, e);
    memcpy(call_id_out, e->call, sizeof(e->call));
    if (now_ms > q->now_ms)
        q->now_ms = now_ms;
    q->generation++;
    return QUEUE_OK;
}

bool queue_tick(struct queue *q, uint64_t now_ms)
{
    uint64_t before = q->now_ms;
    if (now_ms <= before)
        return false;
    bool changed = false;
    for (struct entry *e = q->head; e && !changed; e = e->next) {
        if (e->appointment[0] && e->due_ms > before && e->due_ms <= now_ms)
            changed = true;
        if (e->assigned[0] && e->exclusive_until_ms > before && e->exclusive_until_ms <= now_ms)
            changed = true;
    }
    q->now_ms = now_ms;
    if (changed)
        q->generation++;
    return changed;
}

int queue_leave(struct queue *q, const char *call_id)
{
    if (!call_id)
        return QUEUE_ERR_NOT_FOUND;
    struct entry *e = queue_find_entry(q, call_id);
    if (!e)
        return find_holder(q, call_id) ? QUEUE_ERR_ALREADY_TAKEN : QUEUE_ERR_NOT_FOUND;
    unlink_entry(q, e);
    free(e);
    q->generation++;
    return QUEUE_OK;
}

int queue_prioritize(struct queue *q, uint64_t agent, const char *call_id)
{
    const struct agent *a = find_agent(q, agent);
    if (!call_id)
        return QUEUE_ERR_NOT_FOUND;
    struct entry *e = queue_find_entry(q, call_id);
    if (!e)
        return find_holder(q, call_id) ? QUEUE_ERR_ALREADY_TAKEN : QUEUE_ERR_NOT_FOUND;
    if (!a)
        return QUEUE_ERR_NOT_AVAILABLE;
    if (!queue_agent_may_take(a, e, q->now_ms))
        return QUEUE_ERR_NOT_ELIGIBLE;
    if (e->urgent)
        return QUEUE_OK;
    e->urgent = true;
    e->lane_seq = q->next_seq++;
    q->generation++;
    return QUEUE_OK;
}

int queue_record_handled(struct queue *q, const char *service, uint32_t talk_s)
{
    int i = service ? find_service(q, service) : -1;
    if (i < 0)
        return QUEUE_ERR_UNKNOWN_SERVICE;
    struct service *s = &q->services[i];
    if (s->history_count == QUEUE_HISTORY_LEN)
        s->history_sum -= s->history[s->history_next];
    else
        s->history_count++;
    s->history[s->history_next] = talk_s;
    s->history_sum += talk_s;
    s->history_next = (s->history_next + 1) % QUEUE_HISTORY_LEN;
    q->generation++;
    return QUEUE_OK;
}

int queue_agent_set(struct queue *q, uint64_t agent, bool available, const char *const *services,
                    size_t n_services)
{
    uint64_t set = 0;
    for (size_t i = 0; services && i < n_services; i++) {
        int s = services[i] ? find_service(q, services[i]) : -1;
        if (s < 0)
            return QUEUE_ERR_UNKNOWN_SERVICE;
        set |= (uint64_t)1 << s;
    }
    struct agent *a = find_agent(q, agent);
    if (!a) {
        if (q->agent_count == q->agent_cap) {
            size_t cap = q->agent_cap ? q->agent_cap * 2 : 16;
            struct agent *grown = realloc(q->agents, cap * sizeof(*grown));
            if (!grown)
                return QUEUE_ERR_NO_MEMORY;
            q->agents = grown;
            q->agent_cap = cap;
        }
        a = &q->agents[q->agent_count++];
        memset(a, 0, sizeof(*a));
        a->handle = agent;
    }
    a->available = available;
    a->all_services = !services || n_services == 0;
    a->services = set;
    q->generation++;
    return QUEUE_OK;
}

int queue_agent_set_id(struct queue *q, uint64_t agent, const char *agent_id)
{
    struct agent *a = find_agent(q, agent);
    if (!a)
        return QUEUE_ERR_NOT_FOUND;
    if (!agent_id || !valid_id_max(agent_id, QUEUE_AGENT_ID_MAX))
        return QUEUE_ERR_INVALID;
    if (strcmp(a->id, agent_id) != 0) {
        strcpy(a->id, agent_id);
        q->generation++;
    }
    return QUEUE_OK;
}

bool queue_agent_id_known(const struct queue *q, const char *agent_id)
{
    return agent_id && find_agent_id(q, agent_id) != NULL;
}

static void copy_call(const struct queue *q, const struct entry *e, uint64_t now_ms,
                      struct queue_call *out)
{
    memset(out, 0, sizeof(*out));
    memcpy(out->call, e->call, sizeof(out->call));
    strcpy(out->service, q->services[e->service].id);
    strcpy(out->appointment, e->appointment);
    out->citizen = e->citizen;
    out->loa = e->loa;
    out->joined_ms = e->joined_ms;
    out->waited_s = queue_waited_s(e->joined_ms, now_ms);
    out->urgent = e->urgent;
    out->transferred = e->transferred;
    out->notes = e->notes;
    out->note_count = e->note_count;
}

int queue_accept(struct queue *q, uint64_t agent, const char *call_id, uint64_t now_ms,
                 struct queue_call *out)
{
    if (now_ms > q->now_ms)
        queue_tick(q, now_ms);
    struct agent *a = find_agent(q, agent);
    if (!a || !a->available)
        return QUEUE_ERR_NOT_AVAILABLE;
    if (a->held)
        return QUEUE_ERR_BUSY;
    struct entry *e;
    if (call_id) {
        e = queue_find_entry(q, call_id);
        if (!e)
            return find_holder(q, call_id) ? QUEUE_ERR_ALREADY_TAKEN : QUEUE_ERR_NOT_FOUND;
        if (!queue_agent_may_take(a, e, q->now_ms))
            return QUEUE_ERR_NOT_ELIGIBLE;
    } else {
        e = queue_next_for(q, a);
        if (!e)
            return QUEUE_ERR_EMPTY;
    }
    unlink_entry(q, e);
    a->held = e;
    copy_call(q, e, now_ms, out);
    q->generation++;
    return QUEUE_OK;
}

/* Checks a transfer before anything changes; returns the new service index in *service. */
static int check_transfer(const struct queue *q, const struct agent *a,
                          const struct queue_transfer *to, int *service)
{
    const struct entry *e = a->held;
    if ((to->service != NULL) == (to->agent != NULL))
        return QUEUE_ERR_INVALID;
    if (to->note && strlen(to->note) > QUEUE_NOTE_MAX)
        return QUEUE_ERR_INVALID;
    *service = (int)e->service;
    if (to->service) {
        *service = find_service(q, to->service);
        if (*service < 0)
            return QUEUE_ERR_UNKNOWN_SERVICE;
        if (e->loa < q->services[*service].min_loa)
            return QUEUE_ERR_LOA_TOO_LOW;
        return QUEUE_OK;
    }
    if (!valid_id_max(to->agent, QUEUE_AGENT_ID_MAX))
        return QUEUE_ERR_INVALID;
    if (a->id[0] && strcmp(a->id, to->agent) == 0)
        return QUEUE_ERR_INVALID;
    if (!find_agent_id(q, to->agent))
        return QUEUE_ERR_UNKNOWN_AGENT;
    return QUEUE_OK;
}

static void add_note(struct entry *e, const struct queue *q, const struct queue_transfer *to)
{
    if (!to->note || !to->note[0])
        return;
    if (e->note_count == QUEUE_NOTES_MAX) {
        memmove(&e->notes[0], &e->notes[1], (QUEUE_NOTES_MAX - 1) * sizeof(e->notes[0]));
        e->note_count--;
    }
    struct queue_note *n = &e->notes[e->note_count++];
    memset(n, 0, sizeof(*n));
    if (to->from_agent && valid_id_max(to->from_agent, QUEUE_AGENT_ID_MAX))
        strcpy(n->from_agent, to->from_agent);
    strcpy(n->from_service, q->services[e->service].id);
    strcpy(n->text, to->note);
}

int queue_transfer(struct queue *q, uint64_t now_ms, uint64_t agent,
                   const struct queue_transfer *to)
{
    struct agent *a = find_agent(q, agent);
    if (!a || !a->held)
        return QUEUE_ERR_NOT_FOUND;
    if (!to)
        return QUEUE_ERR_INVALID;
    int service;
    int rc = check_transfer(q, a, to, &service);
    if (rc != QUEUE_OK)
        return rc;
    if (now_ms > q->now_ms)
        queue_tick(q, now_ms);
    struct entry *e = a->held;
    a->held = NULL;
    add_note(e, q, to); /* names the service it leaves */
    e->service = (size_t)service;
    e->transferred = true;
    e->lane_seq = q->next_seq++;
    if (to->agent) {
        snprintf(e->assigned, sizeof(e->assigned), "%s", to->agent);
        e->exclusive_until_ms = q->now_ms + q->cfg.assign_fallback_ms;
    } else {
        e->assigned[0] = '\0';
        e->exclusive_until_ms = 0;
    }
    insert_entry(q, e);
    q->generation++;
    return QUEUE_OK;
}

int queue_agent_release(struct queue *q, uint64_t agent)
{
    struct agent *a = find_agent(q, agent);
    if (!a)
        return QUEUE_ERR_NOT_FOUND;
    free(a->held);
    a->held = NULL;
    q->generation++;
    return QUEUE_OK;
}

int queue_agent_remove(struct queue *q, uint64_t agent)
{
    struct agent *a = find_agent(q, agent);
    if (!a)
        return QUEUE_ERR_NOT_FOUND;
    free(a->held);
    *a = q->agents[--q->agent_count];
    q->generation++;
    return QUEUE_OK;
}

uint64_t queue_generation(const struct queue *q)
{
    return q->generation;
}

size_t queue_waiting_count(const struct queue *q)
{
    return q->waiting;
}
