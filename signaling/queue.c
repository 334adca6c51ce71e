/* The waiting queue and agent matching. See include/balie/queue.h for the contract.
 *
 * One list holds every waiting call in answer order; a call's position in its service is the
 * number of calls of the same service ahead of it. With hundreds of waiting citizens every
 * operation is one walk over that list, and a broadcast of all positions is one walk too. An
 * urgent lane or appointment slots later only change `entry_before`. */
#include "balie/queue.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

struct service {
    char id[QUEUE_ID_MAX + 1];
    enum identity_loa min_loa;
    uint32_t history[QUEUE_HISTORY_LEN]; /* a ring of the last talk durations */
    uint32_t history_count;
    uint32_t history_next;
    uint64_t history_sum;
};

struct entry {
    struct entry *prev, *next;
    char call[QUEUE_CALL_ID_LEN + 1];
    char appointment[QUEUE_ID_MAX + 1];
    uint64_t citizen;
    uint64_t joined_ms;
    uint64_t seq; /* join order, to break ties between equal join times */
    size_t service;
    enum identity_loa loa;
};

struct agent {
    uint64_t handle;
    bool available;
    bool all_services;
    uint64_t services; /* bit i: takes service i */
    bool busy;
    char call[QUEUE_CALL_ID_LEN + 1]; /* while busy */
    uint64_t citizen;                 /* while busy */
};

struct queue {
    struct queue_config cfg;
    struct service services[QUEUE_MAX_SERVICES];
    size_t service_count;
    struct entry *head, *tail; /* waiting calls, the next to answer first */
    size_t waiting;
    struct agent *agents;
    size_t agent_count, agent_cap;
    uint64_t generation;
    uint64_t next_seq;
};

const char *queue_result_name(int result)
{
    switch (result) {
    case QUEUE_OK:
        return "ok";
    case QUEUE_ERR_NOT_FOUND:
        return "not_found";
    case QUEUE_ERR_ALREADY_TAKEN:
        return "already_taken";
    case QUEUE_ERR_NOT_ELIGIBLE:
        return "not_eligible";
    case QUEUE_ERR_NOT_AVAILABLE:
        return "not_available";
    case QUEUE_ERR_BUSY:
        return "busy";
    case QUEUE_ERR_EMPTY:
        return "queue_empty";
    case QUEUE_ERR_UNKNOWN_SERVICE:
        return "unknown_service";
    case QUEUE_ERR_LOA_TOO_LOW:
        return "loa_too_low";
    case QUEUE_ERR_DUPLICATE:
        return "duplicate";
    case QUEUE_ERR_INVALID:
        return "invalid";
    case QUEUE_ERR_FULL:
        return "full";
    default:
        return "internal";
    }
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
    free(q->agents);
    free(q);
}

/* 1..QUEUE_ID_MAX characters of [A-Za-z0-9._:-], the protocol's id alphabet. */
static bool valid_id(const char *id)
{
    size_t n = 0;
    for (; id[n]; n++) {
        char c = id[n];
        bool ok = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                  c == '.' || c == '_' || c == ':' || c == '-';
        if (!ok || n >= QUEUE_ID_MAX)
            return false;
    }
    return n > 0;
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

static struct entry *find_entry(const struct queue *q, const char *call_id)
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

/* The agent holding `call_id`, if any: how a call that left the queue is told apart from one
 * that never was in it. */
static struct agent *find_holder(const struct queue *q, const char *call_id)
{
    for (size_t i = 0; i < q->agent_count; i++)
        if (q->agents[i].busy && strcmp(q->agents[i].call, call_id) == 0)
            return &q->agents[i];
    return NULL;
}

static bool citizen_known(const struct queue *q, uint64_t citizen)
{
    for (struct entry *e = q->head; e; e = e->next)
        if (e->citizen == citizen)
            return true;
    for (size_t i = 0; i < q->agent_count; i++)
        if (q->agents[i].busy && q->agents[i].citizen == citizen)
            return true;
    return false;
}

/* Whether `a` is answered before `b`: first come, first served. */
static bool entry_before(const struct entry *a, const struct entry *b)
{
    if (a->joined_ms != b->joined_ms)
        return a->joined_ms < b->joined_ms;
    return a->seq < b->seq;
}

/* Inserts in answer order, walking from the back, where a new join almost always belongs. */
static void insert_entry(struct queue *q, struct entry *e)
{
    struct entry *after = q->tail;
    while (after && entry_before(e, after))
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
        if (!find_entry(q, out) && !find_holder(q, out))
            return QUEUE_OK;
    }
    return QUEUE_ERR_RANDOM;
}

int queue_join(struct queue *q, uint64_t now_ms, const char *service, uint64_t citizen,
               enum identity_loa loa, const char *appointment,
               char call_id_out[QUEUE_CALL_ID_LEN + 1])
{
    int s;
    if (service)
        s = find_service(q, service);
    else
        s = q->service_count == 1 ? 0 : -1;
    if (s < 0)
        return QUEUE_ERR_UNKNOWN_SERVICE;
    if (appointment && !valid_id(appointment))
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
    if (appointment)
        strcpy(e->appointment, appointment);
    e->citizen = citizen;
    e->joined_ms = now_ms;
    e->seq = q->next_seq++;
    e->service = (size_t)s;
    e->loa = loa;
    insert_entry(q, e);
    memcpy(call_id_out, e->call, sizeof(e->call));
    q->generation++;
    return QUEUE_OK;
}

int queue_leave(struct queue *q, const char *call_id)
{
    if (!call_id)
        return QUEUE_ERR_NOT_FOUND;
    struct entry *e = find_entry(q, call_id);
    if (!e)
        return find_holder(q, call_id) ? QUEUE_ERR_ALREADY_TAKEN : QUEUE_ERR_NOT_FOUND;
    unlink_entry(q, e);
    free(e);
    q->generation++;
    return QUEUE_OK;
}

static bool agent_takes(const struct agent *a, size_t service)
{
    return a->all_services || (a->services & ((uint64_t)1 << service)) != 0;
}

/* Agents present for `service`, busy or not: the ones working its line. */
static uint32_t agents_for(const struct queue *q, size_t service)
{
    uint32_t n = 0;
    for (size_t i = 0; i < q->agent_count; i++)
        if (q->agents[i].available && agent_takes(&q->agents[i], service))
            n++;
    return n;
}

/* position × average talk time ÷ agents, rounded up once at the end. */
static int32_t estimate(const struct queue *q, size_t service, uint32_t position, uint32_t agents)
{
    if (agents == 0)
        return -1;
    const struct service *s = &q->services[service];
    uint64_t sum = s->history_count ? s->history_sum : q->cfg.default_talk_s;
    uint64_t count = s->history_count ? s->history_count : 1;
    uint64_t divisor = count * agents;
    uint64_t eta = ((uint64_t)position * sum + divisor - 1) / divisor;
    return eta > INT32_MAX ? INT32_MAX : (int32_t)eta;
}

int queue_position(const struct queue *q, const char *call_id, uint32_t *position)
{
    if (!call_id)
        return QUEUE_ERR_NOT_FOUND;
    uint32_t ahead = 0;
    for (struct entry *e = q->head; e; e = e->next) {
        if (strcmp(e->call, call_id) == 0) {
            size_t service = e->service;
            for (struct entry *p = e->prev; p; p = p->prev)
                if (p->service == service)
                    ahead++;
            *position = ahead + 1;
            return QUEUE_OK;
        }
    }
    return find_holder(q, call_id) ? QUEUE_ERR_ALREADY_TAKEN : QUEUE_ERR_NOT_FOUND;
}

int queue_estimated_wait_s(const struct queue *q, const char *call_id, int32_t *eta_s)
{
    uint32_t position;
    int rc = queue_position(q, call_id, &position);
    if (rc != QUEUE_OK)
        return rc;
    size_t service = find_entry(q, call_id)->service;
    *eta_s = estimate(q, service, position, agents_for(q, service));
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

/* The longest-waiting call the agent takes, or NULL. */
static struct entry *next_for(const struct queue *q, const struct agent *a)
{
    for (struct entry *e = q->head; e; e = e->next)
        if (agent_takes(a, e->service))
            return e;
    return NULL;
}

static uint32_t waited_s(uint64_t joined_ms, uint64_t now_ms)
{
    uint64_t s = now_ms > joined_ms ? (now_ms - joined_ms) / 1000 : 0;
    return s > UINT32_MAX ? UINT32_MAX : (uint32_t)s;
}

int queue_accept(struct queue *q, uint64_t agent, const char *call_id, uint64_t now_ms,
                 struct queue_call *out)
{
    struct agent *a = find_agent(q, agent);
    if (!a || !a->available)
        return QUEUE_ERR_NOT_AVAILABLE;
    if (a->busy)
        return QUEUE_ERR_BUSY;
    struct entry *e;
    if (call_id) {
        e = find_entry(q, call_id);
        if (!e)
            return find_holder(q, call_id) ? QUEUE_ERR_ALREADY_TAKEN : QUEUE_ERR_NOT_FOUND;
        if (!agent_takes(a, e->service))
            return QUEUE_ERR_NOT_ELIGIBLE;
    } else {
        e = next_for(q, a);
        if (!e)
            return QUEUE_ERR_EMPTY;
    }

    memset(out, 0, sizeof(*out));
    memcpy(out->call, e->call, sizeof(out->call));
    strcpy(out->service, q->services[e->service].id);
    strcpy(out->appointment, e->appointment);
    out->citizen = e->citizen;
    out->loa = e->loa;
    out->joined_ms = e->joined_ms;
    out->waited_s = waited_s(e->joined_ms, now_ms);

    a->busy = true;
    memcpy(a->call, e->call, sizeof(a->call));
    a->citizen = e->citizen;
    unlink_entry(q, e);
    free(e);
    q->generation++;
    return QUEUE_OK;
}

int queue_agent_release(struct queue *q, uint64_t agent)
{
    struct agent *a = find_agent(q, agent);
    if (!a)
        return QUEUE_ERR_NOT_FOUND;
    a->busy = false;
    a->call[0] = '\0';
    a->citizen = 0;
    q->generation++;
    return QUEUE_OK;
}

int queue_agent_remove(struct queue *q, uint64_t agent)
{
    struct agent *a = find_agent(q, agent);
    if (!a)
        return QUEUE_ERR_NOT_FOUND;
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

size_t queue_agent_view(const struct queue *q, uint64_t agent, uint64_t now_ms,
                        struct queue_entry_view *out, size_t cap)
{
    const struct agent *a = find_agent(q, agent);
    if (!a)
        return 0;
    size_t n = 0;
    for (struct entry *e = q->head; e; e = e->next) {
        if (!agent_takes(a, e->service))
            continue;
        if (n < cap)
            out[n] = (struct queue_entry_view){
                .call = e->call,
                .service = q->services[e->service].id,
                .waited_s = waited_s(e->joined_ms, now_ms),
                .loa = e->loa,
                .appointment = e->appointment[0] ? e->appointment : NULL,
            };
        n++;
    }
    return n;
}

size_t queue_citizen_views(const struct queue *q, struct queue_citizen_view *out, size_t cap)
{
    uint32_t seen[QUEUE_MAX_SERVICES] = {0};
    uint32_t agents[QUEUE_MAX_SERVICES];
    for (size_t s = 0; s < q->service_count; s++)
        agents[s] = agents_for(q, s);
    size_t n = 0;
    for (struct entry *e = q->head; e; e = e->next) {
        uint32_t position = ++seen[e->service];
        if (n < cap)
            out[n] = (struct queue_citizen_view){
                .citizen = e->citizen,
                .call = e->call,
                .position = position,
                .estimated_wait_s = estimate(q, e->service, position, agents[e->service]),
            };
        n++;
    }
    return n;
}
