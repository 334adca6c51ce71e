/* /admin/v1/appointments (DESIGN.md §5, docs/queue.md): create, list, read and delete
 * appointments, authenticated by the admin bearer token, errors as problem+json (RFC 9457).
 *   POST   /admin/v1/appointments        {service, start, end, agent?} → 201 with id, code, link
 *   GET    /admin/v1/appointments[?day=YYYY-MM-DD][&service=id]
 *   GET    /admin/v1/appointments/<id>
 *   DELETE /admin/v1/appointments/<id> */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "balie/appointments.h"
#include "balie/journey.h"
#include "balie/log.h"
#include "balie/opening_hours.h"
#include "server_internal.h"
#include "ws_internal.h"

#define PREFIX "/admin/v1/appointments"
#define LIST_MAX 1000

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool admin_appointments_route(const char *uri)
{
    size_t n = strlen(PREFIX);
    return strncmp(uri, PREFIX, n) == 0 && (uri[n] == '\0' || uri[n] == '/');
}

int appointments_start(struct server *srv)
{
    char path[PATH_MAX], why[256];
    if ((size_t)snprintf(path, sizeof(path), "%s/balie.db", srv->cfg->general.data_dir) >=
        sizeof(path))
        return -ENAMETOOLONG;
    /* Appointments that ended up to a day ago are kept, so a late citizen hears "ended". */
    journey_flush(srv->journey); /* its migration needs the write lock */
    int err =
        appt_store_open(&srv->appointments, path, wall_ms() - 86400 * 1000LL, why, sizeof(why));
    if (err) {
        log_error("queue", "%s", why);
        return err;
    }
    calls_attach_appointments(srv->calls, srv->appointments);
    return 0;
}

/* After calls_free (server_destroy): nothing reads the store any more. */
void appointments_stop(struct server *srv)
{
    appt_store_close(srv->appointments);
    srv->appointments = NULL;
}

static json_t *time_json(int64_t ms)
{
    char text[40];
    if (hours_format_local(ms / 1000, text, sizeof(text)) != 0)
        return json_null();
    return json_string(text);
}

static json_t *appointment_json(const struct server *srv, const struct appointment *a)
{
    char link[CONFIG_STR_MAX + 64];
    const char *base = srv->cfg->http.public_url;
    size_t base_len = strlen(base);
    while (base_len > 0 && base[base_len - 1] == '/')
        base_len--;
    snprintf(link, sizeof(link), "%.*s/?afspraak=%s", (int)base_len, base, a->code);
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o}", "id", a->id, "code", a->code,
                          "link", link, "service", a->service, "start", time_json(a->start_ms),
                          "end", time_json(a->end_ms), "created", time_json(a->created_ms));
    if (o && a->agent[0])
        json_object_set_new(o, "agent", json_string(a->agent));
    return o;
}

static int respond_json(struct server *srv, struct lws *wsi, struct http_session *hs,
                        unsigned status, json_t *o, const char *location)
{
    char *body = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!body)
        return admin_problem(srv, wsi, hs, 500, "Internal Server Error", "out of memory");
    struct http_extra extra = {.location = location};
    return http_respond(srv, wsi, hs, status, "application/json", body, strlen(body), &extra);
}

/* The fields of a POST body, checked one by one so the problem names the field. */
static const char *read_body(const struct server *srv, const struct http_request *req,
                             struct appointment *a)
{
    if (strncmp(req->content_type, "application/json", 16) != 0)
        return "send the appointment as application/json";
    json_error_t jerr;
    json_t *o =
        req->body ? json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
    if (!json_is_object(o)) {
        json_decref(o);
        return "the body must be a JSON object {service, start, end, agent?}";
    }
    const char *why = NULL;
    json_t *service = json_object_get(o, "service"), *start = json_object_get(o, "start");
    json_t *end = json_object_get(o, "end"), *agent = json_object_get(o, "agent");
    if (!json_is_string(service) || !config_service_find(srv->cfg, json_string_value(service)))
        why = "service: the id of a configured service";
    else if (!json_is_string(start) ||
             appt_parse_time((const uint8_t *)json_string_value(start), json_string_length(start),
                             &a->start_ms) != 0)
        why = "start: an RFC 3339 date-time with an offset, like 2026-11-23T14:30:00+01:00";
    else if (!json_is_string(end) || appt_parse_time((const uint8_t *)json_string_value(end),
                                                     json_string_length(end), &a->end_ms) != 0)
        why = "end: an RFC 3339 date-time with an offset, like 2026-11-23T14:45:00+01:00";
    else if (agent && !json_is_null(agent) &&
             (!json_is_string(agent) || json_string_length(agent) == 0 ||
              json_string_length(agent) > APPT_AGENT_MAX))
        why = "agent: an agent id of 1 to 31 characters";
    if (!why) {
        snprintf(a->service, sizeof(a->service), "%s", json_string_value(service));
        snprintf(a->agent, sizeof(a->agent), "%s",
                 json_is_string(agent) ? json_string_value(agent) : "");
    }
    json_decref(o);
    return why;
}

static int create(struct server *srv, struct lws *wsi, struct http_session *hs,
                  const struct http_request *req)
{
    if (req->body_too_large)
        return admin_problem(srv, wsi, hs, 413, "Content Too Large", "at most 8192 bytes");
    struct appointment a = {0};
    const char *why = read_body(srv, req, &a);
    if (why)
        return admin_problem(
            srv, wsi, hs, strncmp(why, "send", 4) == 0 ? 415 : 400,
            strncmp(why, "send", 4) == 0 ? "Unsupported Media Type" : "Bad Request", why);
    /* Appointments share the database file: the journey's pending transaction would hold the
     * write lock this insert needs (journey_flush). */
    journey_flush(srv->journey);
    int err = appt_create(srv->appointments, &a, wall_ms());
    if (err == -EINVAL)
        return admin_problem(srv, wsi, hs, 422, "Unprocessable Content",
                             "start must be before end, the slot at most 8 hours, not over yet, "
                             "and within a year; agent ids use [A-Za-z0-9._:-]");
    if (err == -ENOSPC)
        return admin_problem(srv, wsi, hs, 507, "Insufficient Storage",
                             "10000 appointments are open; delete some first");
    if (err)
        return admin_problem(srv, wsi, hs, 500, "Internal Server Error",
                             "the appointment could not be stored");
    log_write(LOG_LEVEL_INFO, "admin", a.id, "appointment created (service %s)", a.service);
    char location[96];
    snprintf(location, sizeof(location), PREFIX "/%s", a.id);
    return respond_json(srv, wsi, hs, 201, appointment_json(srv, &a), location);
}

/* [from, to) of an Amsterdam calendar day "YYYY-MM-DD". */
static int day_range(const char *day, int64_t *from, int64_t *to)
{
    char text[40];
    if (strlen(day) != 10)
        return -1;
    snprintf(text, sizeof(text), "%sT00:00:00Z", day);
    int64_t midnight_utc;
    if (appt_parse_time((const uint8_t *)text, strlen(text), &midnight_utc) != 0)
        return -1;
    int64_t s = midnight_utc / 1000;
    *from = (s - hours_amsterdam_offset_s(s - 7200)) * 1000;
    int64_t next = s + 86400;
    *to = (next - hours_amsterdam_offset_s(next - 7200)) * 1000;
    return 0;
}

static int list(struct server *srv, struct lws *wsi, struct http_session *hs,
                const struct http_request *req)
{
    const char *day = http_query_get(req, "day"), *service = http_query_get(req, "service");
    int64_t from = wall_ms() - 86400 * 1000LL, to = INT64_MAX;
    if (day && day_range(day, &from, &to) != 0)
        return admin_problem(srv, wsi, hs, 400, "Bad Request", "day: a date like 2026-11-23");
    if (service && !config_service_find(srv->cfg, service))
        return admin_problem(srv, wsi, hs, 400, "Bad Request",
                             "service: the id of a configured service");
    static struct appointment items[LIST_MAX];
    size_t n = appt_list(srv->appointments, from, to, service, items, LIST_MAX);
    json_t *array = json_array();
    for (size_t i = 0; array && i < n && i < LIST_MAX; i++)
        json_array_append_new(array, appointment_json(srv, &items[i]));
    json_t *o = array ? json_pack("{s:i, s:o}", "count", (int)n, "appointments", array) : NULL;
    return respond_json(srv, wsi, hs, 200, o, NULL);
}

static int one(struct server *srv, struct lws *wsi, struct http_session *hs, const char *id,
               int method)
{
    struct appointment a;
    if (strlen(id) != APPT_ID_LEN || appt_get(srv->appointments, id, &a) != 0)
        return admin_problem(srv, wsi, hs, 404, "Not Found", "no appointment with this id");
    if (method == ADMIN_GET)
        return respond_json(srv, wsi, hs, 200, appointment_json(srv, &a), NULL);
    if (method != ADMIN_DELETE)
        return admin_problem(srv, wsi, hs, 405, "Method Not Allowed", "GET or DELETE");
    journey_flush(srv->journey); /* the write lock, as for a create */
    if (appt_delete(srv->appointments, id) != 0)
        return admin_problem(srv, wsi, hs, 500, "Internal Server Error", "the delete failed");
    log_write(LOG_LEVEL_INFO, "admin", id, "appointment deleted");
    return respond_json(srv, wsi, hs, 200, json_pack("{s:s}", "deleted", id), NULL);
}

int admin_appointments_handle(struct server *srv, struct lws *wsi, struct http_session *hs,
                              const struct http_request *req)
{
    hs->close_after = true;
    bool ok = admin_authorized(srv, req->authorization);
    if (!ok) {
        srv->admin_refused++;
        return admin_problem(srv, wsi, hs, 401, "Unauthorized",
                             "send Authorization: Bearer <the token in admin.token_file>");
    }
    if (!srv->appointments)
        return admin_problem(srv, wsi, hs, 503, "Service Unavailable",
                             "the appointment store is not open");
    const char *rest = req->uri + strlen(PREFIX);
    if (rest[0] == '/' && rest[1])
        return one(srv, wsi, hs, rest + 1, req->admin_method);
    if (req->admin_method == ADMIN_POST)
        return create(srv, wsi, hs, req);
    if (req->admin_method == ADMIN_GET)
        return list(srv, wsi, hs, req);
    return admin_problem(srv, wsi, hs, 405, "Method Not Allowed", "GET or POST");
}
