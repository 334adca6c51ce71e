/* The serving order of the queue (docs/queue.md): lanes, positions, estimated waits and the
 * views sent to agents and citizens. See include/balie/queue.h for the rules. */
#include <stdlib.h>
#include <string.h>

#include "queue_internal.h"

const char *queue_lane_name(enum queue_lane lane)
{
    switch (lane) {
    case QUEUE_LANE_URGENT:
        return "urgent";
    case QUEUE_LANE_TRANSFER:
        return "transfer";
    case QUEUE_LANE_APPOINTMENT:
        return "appointment";
    case QUEUE_LANE_WALK_IN:
        return "walk_in";
    case QUEUE_LANE_EARLY:
        return "early";
    }
    return "walk_in";
}

enum queue_lane queue_lane_of(const struct entry *e, uint64_t now_ms)
{
    if (e->urgent)
        return QUEUE_LANE_URGENT;
    if (e->transferred)
        return QUEUE_LANE_TRANSFER;
    if (e->appointment[0])
        return now_ms >= e->due_ms ? QUEUE_LANE_APPOINTMENT : QUEUE_LANE_EARLY;
    return QUEUE_LANE_WALK_IN;
}

/* Lane first; within a lane, the order the lane promises; the join order breaks every tie. */
bool queue_ranks_before(const struct entry *a, const struct entry *b, uint64_t now_ms)
{
    enum queue_lane la = queue_lane_of(a, now_ms), lb = queue_lane_of(b, now_ms);
    if (la != lb)
        return la < lb;
    switch (la) {
    case QUEUE_LANE_URGENT:
    case QUEUE_LANE_TRANSFER:
        return a->lane_seq < b->lane_seq;
    case QUEUE_LANE_APPOINTMENT:
    case QUEUE_LANE_EARLY:
        if (a->due_ms != b->due_ms)
            return a->due_ms < b->due_ms;
        break;
    case QUEUE_LANE_WALK_IN:
        if (a->joined_ms != b->joined_ms)
            return a->joined_ms < b->joined_ms;
        break;
    }
    return a->seq < b->seq;
}

bool queue_agent_takes(const struct agent *a, size_t service)
{
    return a->all_services || (a->services & ((uint64_t)1 << service)) != 0;
}

bool queue_agent_may_take(const struct agent *a, const struct entry *e, uint64_t now_ms)
{
    bool mine = e->assigned[0] && a->id[0] && strcmp(a->id, e->assigned) == 0;
    if (e->assigned[0] && now_ms < e->exclusive_until_ms)
        return mine;
    return mine || queue_agent_takes(a, e->service);
}

uint32_t queue_agents_for(const struct queue *q, size_t service)
{
    uint32_t n = 0;
    for (size_t i = 0; i < q->agent_count; i++)
        if (q->agents[i].available && queue_agent_takes(&q->agents[i], service))
            n++;
    return n;
}

struct entry *queue_next_for(const struct queue *q, const struct agent *a)
{
    struct entry *best = NULL;
    for (struct entry *e = q->head; e; e = e->next) {
        if (queue_lane_of(e, q->now_ms) == QUEUE_LANE_EARLY ||
            !queue_agent_may_take(a, e, q->now_ms))
            continue;
        if (!best || queue_ranks_before(e, best, q->now_ms))
            best = e;
    }
    return best;
}

uint32_t queue_waited_s(uint64_t joined_ms, uint64_t now_ms)
{
    uint64_t s = now_ms > joined_ms ? (now_ms - joined_ms) / 1000 : 0;
    return s > UINT32_MAX ? UINT32_MAX : (uint32_t)s;
}

/* position × average talk time ÷ agents, rounded up once at the end; an early appointment
 * waits at least until its turn. */
static int32_t estimate(const struct queue *q, const struct entry *e, uint32_t position,
                        uint32_t agents)
{
    if (agents == 0)
        return -1;
    const struct service *s = &q->services[e->service];
    uint64_t sum = s->history_count ? s->history_sum : q->cfg.default_talk_s;
    uint64_t count = s->history_count ? s->history_count : 1;
    uint64_t divisor = count * agents;
    uint64_t eta = ((uint64_t)position * sum + divisor - 1) / divisor;
    if (queue_lane_of(e, q->now_ms) == QUEUE_LANE_EARLY) {
        uint64_t until = (e->due_ms - q->now_ms + 999) / 1000;
        if (until > eta)
            eta = until;
    }
    return eta > INT32_MAX ? INT32_MAX : (int32_t)eta;
}

int queue_position(const struct queue *q, const char *call_id, uint32_t *position)
{
    if (!call_id)
        return QUEUE_ERR_NOT_FOUND;
    const struct entry *e = queue_find_entry(q, call_id);
    if (!e) {
        for (size_t i = 0; i < q->agent_count; i++)
            if (q->agents[i].held && strcmp(q->agents[i].held->call, call_id) == 0)
                return QUEUE_ERR_ALREADY_TAKEN;
        return QUEUE_ERR_NOT_FOUND;
    }
    uint32_t ahead = 0;
    for (const struct entry *p = q->head; p; p = p->next)
        if (p != e && p->service == e->service && queue_ranks_before(p, e, q->now_ms))
            ahead++;
    *position = ahead + 1;
    return QUEUE_OK;
}

int queue_call_lane(const struct queue *q, const char *call_id, enum queue_lane *lane)
{
    uint32_t position;
    int rc = queue_position(q, call_id, &position);
    if (rc == QUEUE_OK)
        *lane = queue_lane_of(queue_find_entry(q, call_id), q->now_ms);
    return rc;
}

int queue_estimated_wait_s(const struct queue *q, const char *call_id, int32_t *eta_s)
{
    uint32_t position;
    int rc = queue_position(q, call_id, &position);
    if (rc != QUEUE_OK)
        return rc;
    const struct entry *e = queue_find_entry(q, call_id);
    *eta_s = estimate(q, e, position, queue_agents_for(q, e->service));
    return QUEUE_OK;
}

static int compare_entries(const void *pa, const void *pb, void *ctx)
{
    const struct entry *a = *(const struct entry *const *)pa;
    const struct entry *b = *(const struct entry *const *)pb;
    uint64_t now_ms = *(const uint64_t *)ctx;
    if (a == b)
        return 0;
    return queue_ranks_before(a, b, now_ms) ? -1 : 1;
}

/* Every waiting call in serving order, in a malloc'd array of q->waiting pointers (NULL when
 * nothing waits or memory ran out). */
static struct entry **sorted(const struct queue *q)
{
    if (q->waiting == 0)
        return NULL;
    struct entry **all = malloc(q->waiting * sizeof(struct entry *));
    if (!all)
        return NULL;
    size_t n = 0;
    for (struct entry *e = q->head; e; e = e->next)
        all[n++] = e;
    uint64_t now_ms = q->now_ms;
    qsort_r(all, n, sizeof(struct entry *), compare_entries, &now_ms);
    return all;
}

size_t queue_agent_view(const struct queue *q, uint64_t agent, uint64_t now_ms,
                        struct queue_entry_view *out, size_t cap)
{
    const struct agent *a = NULL;
    for (size_t i = 0; i < q->agent_count && !a; i++)
        if (q->agents[i].handle == agent)
            a = &q->agents[i];
    struct entry **all = a ? sorted(q) : NULL;
    if (!all)
        return 0;
    size_t n = 0;
    for (size_t i = 0; i < q->waiting; i++) {
        const struct entry *e = all[i];
        if (!queue_agent_may_take(a, e, q->now_ms))
            continue;
        enum queue_lane lane = queue_lane_of(e, q->now_ms);
        bool reserved = e->assigned[0] && q->now_ms < e->exclusive_until_ms;
        if (n < cap)
            out[n] = (struct queue_entry_view){
                .call = e->call,
                .service = q->services[e->service].id,
                .waited_s = queue_waited_s(e->joined_ms, now_ms),
                .loa = e->loa,
                .appointment = e->appointment[0] ? e->appointment : NULL,
                .lane = lane,
                .due_in_s =
                    lane == QUEUE_LANE_EARLY ? (uint32_t)((e->due_ms - q->now_ms + 999) / 1000) : 0,
                .assigned = reserved ? e->assigned : NULL,
                .notes = e->notes,
                .note_count = e->note_count,
                .slot_start_ms = e->slot_start_ms,
            };
        n++;
    }
    free(all);
    return n;
}

size_t queue_citizen_views(const struct queue *q, struct queue_citizen_view *out, size_t cap)
{
    struct entry **all = sorted(q);
    if (!all)
        return 0;
    uint32_t seen[QUEUE_MAX_SERVICES] = {0};
    uint32_t agents[QUEUE_MAX_SERVICES];
    for (size_t s = 0; s < q->service_count; s++)
        agents[s] = queue_agents_for(q, s);
    size_t n = 0;
    for (size_t i = 0; i < q->waiting; i++) {
        const struct entry *e = all[i];
        uint32_t position = ++seen[e->service];
        if (n < cap)
            out[n] = (struct queue_citizen_view){
                .citizen = e->citizen,
                .call = e->call,
                .position = position,
                .estimated_wait_s = estimate(q, e, position, agents[e->service]),
                .lane = queue_lane_of(e, q->now_ms),
            };
        n++;
    }
    free(all);
    return n;
}
