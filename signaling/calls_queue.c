/* The queue's side of calls (docs/queue.md): opening hours, appointment codes at the join, the
 * citizen's place and lane, the urgent lane, and the clock that makes appointments due. Control
 * thread only. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "balie/appointments.h"
#include "balie/journey.h"
#include "balie/log.h"
#include "balie/metrics.h"
#include "balie/strbuf.h"
#include <jansson.h>
#include "calls_internal.h"

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void collect_metrics(struct strbuf *out, void *arg)
{
    struct calls *calls = arg;
    metrics_write_simple(out, "balie_queue_transfers_total", "counter",
                         "Calls an agent transferred to another service or a colleague.",
                         (double)calls->transfers);
    metrics_write_simple(out, "balie_queue_prioritized_total", "counter",
                         "Waiting calls an agent moved to the urgent lane.",
                         (double)calls->prioritized);
    metrics_write_simple(out, "balie_queue_appointment_joins_total", "counter",
                         "Citizens who joined with a valid appointment code.",
                         (double)calls->appointment_joins);
    metrics_write_simple(out, "balie_queue_closed_refusals_total", "counter",
                         "Joins refused because the service was closed.",
                         (double)calls->closed_refusals);
    static struct queue_citizen_view views[1024];
    size_t n = queue_citizen_views(calls->queue, views, 1024);
    uint64_t lanes[QUEUE_LANE_EARLY + 1] = {0};
    for (size_t i = 0; i < n && i < 1024; i++)
        lanes[views[i].lane]++;
    strbuf_appendf(out, "# HELP balie_queue_waiting_by_lane Citizens waiting, by lane.\n"
                        "# TYPE balie_queue_waiting_by_lane gauge\n");
    for (int l = 0; l <= QUEUE_LANE_EARLY; l++)
        strbuf_appendf(out, "balie_queue_waiting_by_lane{lane=\"%s\"} %llu\n",
                       queue_lane_name((enum queue_lane)l), (unsigned long long)lanes[l]);
}

/* The configuration was validated at start (config_validate), so these parse. */
void calls_queue_init(struct calls *calls)
{
    metrics_add_collector(collect_metrics, calls);
    for (int i = 0; i < calls->cfg->service_count && i < CONFIG_MAX_SERVICES; i++) {
        const struct config_service *svc = &calls->cfg->services[i];
        struct opening_hours *h = &calls->hours[i];
        char why[128];
        if (hours_parse((const uint8_t *)svc->opening_hours, strlen(svc->opening_hours), h, why,
                        sizeof(why)) != 0 ||
            hours_parse_closed((const uint8_t *)svc->closed_days, strlen(svc->closed_days), h, why,
                               sizeof(why)) != 0) {
            log_error("queue", "service %s: %s; treated as always open", svc->id, why);
            memset(h, 0, sizeof(*h));
            h->always = true;
        }
    }
}

void calls_attach_appointments(struct calls *calls, struct appt_store *store)
{
    calls->appointments = store;
}

bool calls_service_open(const struct calls *calls, int index, int64_t now_unix_ms,
                        int64_t *opens_at_ms)
{
    *opens_at_ms = -1;
    if (index < 0 || index >= calls->cfg->service_count || index >= CONFIG_MAX_SERVICES)
        return false;
    const struct opening_hours *h = &calls->hours[index];
    int64_t now_s = now_unix_ms / 1000;
    if (hours_is_open(h, now_s))
        return true;
    int64_t next = hours_next_open(h, now_s);
    *opens_at_ms = next < 0 ? -1 : next * 1000;
    return false;
}

static int service_index(const struct calls *calls, const char *id)
{
    if (!id)
        return calls->cfg->service_count == 1 ? 0 : -1;
    for (int i = 0; i < calls->cfg->service_count; i++)
        if (strcmp(calls->cfg->services[i].id, id) == 0)
            return i;
    return -1;
}

/* Another citizen waits or talks with this appointment already: one code, one citizen. */
static bool appointment_in_use(const struct calls *calls, const struct ws_client *self,
                               const char *id)
{
    for (const struct ws_client *c = calls->clients; c; c = c->next)
        if (c != self && c->role == PROTO_ROLE_CITIZEN && (c->waiting_call[0] || c->call) &&
            strcmp(c->appointment_id, id) == 0)
            return true;
    return false;
}

static int plan_appointment(struct calls *calls, struct ws_client *c, const struct proto_msg *m,
                            struct calls_join_plan *plan)
{
    static struct appointment a; /* control thread only; the plan points into it until joined */
    int64_t now = wall_ms();
    if (!calls->appointments || appt_find_code(calls->appointments, m->join.appointment, &a) != 0) {
        calls_send_error(c, &m->id, "appointment_unknown",
                         "no appointment has this code: check the link or the code");
        return -1;
    }
    switch (appt_when(&a, now)) {
    case APPT_ENDED:
        calls_send_error(c, &m->id, "appointment_ended", "this appointment's time has passed");
        return -1;
    case APPT_TOO_EARLY:
        ws_send(c, proto_build_error_at(&m->id, "appointment_too_early",
                                        "come back at most two hours before the appointment",
                                        "starts_at", a.start_ms));
        return -1;
    case APPT_IN_TIME:
        break;
    }
    if (appointment_in_use(calls, c, a.id)) {
        calls_send_error(c, &m->id, "appointment_in_use",
                         "someone is already waiting with this appointment");
        return -1;
    }
    /* Served from its start less a small margin: the queue's clock is monotonic, so the wait
     * until then is carried over from the wall clock. */
    int64_t until = a.start_ms - APPT_MARGIN_MS - now;
    plan->service = a.service;
    plan->opts.appointment = a.id;
    plan->opts.due_ms = now_ms() + (until > 0 ? (uint64_t)until : 0);
    plan->opts.agent = a.agent[0] ? a.agent : NULL;
    plan->opts.slot_start_ms = a.start_ms;
    snprintf(c->appointment_id, sizeof(c->appointment_id), "%s", a.id);
    c->appointment_start_ms = a.start_ms;
    c->appointment_end_ms = a.end_ms;
    calls->appointment_joins++;
    return 0;
}

int calls_queue_plan_join(struct calls *calls, struct ws_client *c, const struct proto_msg *m,
                          struct calls_join_plan *plan)
{
    memset(plan, 0, sizeof(*plan));
    c->appointment_id[0] = '\0';
    c->appointment_start_ms = c->appointment_end_ms = 0;
    /* An appointment is kept whatever the opening hours: someone made it. */
    if (m->join.appointment)
        return plan_appointment(calls, c, m, plan);
    plan->service = m->join.service;
    int index = service_index(calls, m->join.service);
    int64_t opens_at;
    if (index >= 0 && !calls_service_open(calls, index, wall_ms(), &opens_at)) {
        ws_send(c, proto_build_error_at(&m->id, "closed", "this service is closed now", "opens_at",
                                        opens_at));
        calls->closed_refusals++;
        return -1;
    }
    return 0; /* an unknown service is the queue's to refuse */
}

/* Where `c` stands; false when it is not waiting. */
static bool position_info(struct calls *calls, struct ws_client *c, struct proto_queue_info *info)
{
    memset(info, 0, sizeof(*info));
    info->call = c->waiting_call;
    info->estimated_wait_s = -1;
    if (queue_position(calls->queue, c->waiting_call, &info->position) != QUEUE_OK)
        return false;
    queue_estimated_wait_s(calls->queue, c->waiting_call, &info->estimated_wait_s);
    queue_call_lane(calls->queue, c->waiting_call, &info->lane);
    if (c->appointment_id[0]) {
        info->appointment_start_ms = c->appointment_start_ms;
        info->appointment_end_ms = c->appointment_end_ms;
    }
    return true;
}

static void remember_position(struct ws_client *c, const struct proto_queue_info *info)
{
    c->sent_position = info->position;
    c->sent_eta_s = info->estimated_wait_s;
    c->sent_lane = (int)info->lane;
}

char *calls_queue_position_msg(struct calls *calls, struct ws_client *c, bool first)
{
    struct proto_queue_info info;
    if (!position_info(calls, c, &info))
        return NULL;
    remember_position(c, &info);
    return first ? proto_build_queued_info(&info) : proto_build_queue_info(&info);
}

char *calls_queue_position_update(struct calls *calls, struct ws_client *c)
{
    struct proto_queue_info info;
    if (!position_info(calls, c, &info))
        return NULL;
    if (info.position == c->sent_position && info.estimated_wait_s == c->sent_eta_s &&
        (int)info.lane == c->sent_lane)
        return NULL; /* nothing new for this citizen: a queue of N hears O(N), not O(N²) */
    remember_position(c, &info);
    return proto_build_queue_info(&info);
}

void calls_queue_peer_info(const struct call *call, struct proto_peer *info)
{
    info->service = call->service;
    info->urgent = call->taken.urgent;
    info->transferred = call->taken.transferred;
    info->notes = call->taken.notes;
    info->note_count = call->taken.note_count;
}

void calls_queue_prioritize(struct calls *calls, struct ws_client *c, const struct proto_msg *m)
{
    int r = queue_prioritize(calls->queue, c->handle, m->prioritize.call);
    if (r != QUEUE_OK) {
        calls_send_error(c, &m->id, queue_result_name(r), "cannot move that call");
        return;
    }
    log_write(LOG_LEVEL_INFO, "queue", m->prioritize.call, "moved to the urgent lane");
    calls->prioritized++;
    calls_send_ack(c, &m->id);
    calls_broadcast_queue(calls);
}

void calls_queue_tick(struct calls *calls, uint64_t now)
{
    /* Appointments coming due and lapsing assignments move the generation on; so does a
     * presence, which answers only its agent. One pass tells whoever has not heard yet. */
    queue_tick(calls->queue, now);
    calls_broadcast_queue(calls);
    /* Ended appointments leave memory and the database once an hour (a day after their end,
     * so a late citizen still hears "ended" rather than "unknown"). */
    if (calls->appointments && now - calls->appointments_purged_ms >= 3600u * 1000u) {
        calls->appointments_purged_ms = now;
        journey_flush(calls->journey); /* the same file: the write lock (journey_flush) */
        int n = appt_purge(calls->appointments, wall_ms() - 86400 * 1000LL);
        if (n > 0)
            log_info("queue", "forgot %d appointments that ended over a day ago", n);
    }
}

void calls_service_status_json(const struct calls *calls, int index, struct strbuf *sb)
{
    if (!calls || index < 0 || index >= calls->cfg->service_count)
        return;
    int64_t opens_at;
    bool open = calls_service_open(calls, index, wall_ms(), &opens_at);
    strbuf_appendf(sb, ",\"open\":%s", open ? "true" : "false");
    if (!open && opens_at >= 0) {
        char text[40];
        proto_format_time(opens_at, text, sizeof(text));
        strbuf_appendf(sb, ",\"opens_at\":\"%s\"", text);
    }
    const char *hours = calls->cfg->services[index].opening_hours;
    if (hours[0]) {
        strbuf_appendf(sb, ",\"opening_hours\":\"");
        strbuf_append_json_escaped(sb, hours);
        strbuf_appendf(sb, "\"");
    }
}

char *calls_queue_agent_msg(struct calls *calls, struct ws_client *c,
                            const struct queue_entry_view *views, size_t n)
{
    char *base = proto_build_agent_queue(views, n);
    json_t *o = base ? json_loads(base, 0, NULL) : NULL;
    json_t *colleagues = o ? json_array() : NULL;
    for (struct ws_client *a = calls->clients; colleagues && a; a = a->next) {
        if (a == c || a->role != PROTO_ROLE_AGENT || !a->agent_known || !a->agent_id[0])
            continue;
        json_t *one = json_pack("{s:s, s:b}", "id", a->agent_id, "busy", a->call != NULL);
        if (one && a->display_name[0])
            json_object_set_new(one, "name", json_string(a->display_name));
        if (one)
            json_array_append_new(colleagues, one);
    }
    if (!colleagues) {
        json_decref(o);
        return base;
    }
    free(base);
    json_object_set_new(o, "colleagues", colleagues);
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return text;
}
