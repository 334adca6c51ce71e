/* The queue through the real daemon and real WebSocket clients (tests/integration/
 * queue_client.py): two agents accepting one call at once (exactly one wins, 50 times), an
 * appointment served before a walk-in who came first, a closed service, the urgent lane, a
 * transfer with its note; and the admin API for appointments (create, list, read, delete,
 * problem+json for bad input, the bearer token). */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static struct daemon d;
static char data_dir[64];

static void cleanup(void)
{
    if (d.pid > 0)
        daemon_stop(&d, SIGKILL, 2000, NULL);
    if (data_dir[0]) {
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", data_dir);
        cr_assert_eq(system(cmd), 0);
        data_dir[0] = '\0';
    }
}

TestSuite(queue_daemon, .fini = cleanup);

/* Starts the daemon with `services` appended to a minimal config. */
static void start(const char *services)
{
    strcpy(data_dir, "/tmp/balie-it-queue-XXXXXX");
    cr_assert_not_null(mkdtemp(data_dir));
    char cfg[1024];
    snprintf(cfg, sizeof(cfg),
             "[general]\ndata_dir = \"%s/data\"\n[media]\nworkers = 1\nport_base = 0\n"
             "[http]\nport = 0\n%s",
             data_dir, services ? services : "");
    cr_assert_eq(daemon_start(&d, cfg, NULL), 0, "daemon did not start:\n%s", d.log);
}

static void read_token(char *out, size_t len)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/data/admin.token", data_dir);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "no %s", path);
    cr_assert_not_null(fgets(out, (int)len, f));
    fclose(f);
    out[strcspn(out, "\n")] = '\0';
}

static size_t collect(char *data, size_t size, size_t n, void *arg)
{
    struct http_response *r = arg;
    char *grown = realloc(r->body, r->body_len + size * n + 1);
    if (!grown)
        return 0;
    memcpy(grown + r->body_len, data, size * n);
    r->body = grown;
    r->body_len += size * n;
    grown[r->body_len] = '\0';
    return size * n;
}

static size_t header_line(char *data, size_t size, size_t n, void *arg)
{
    struct http_response *r = arg;
    strncat(r->headers, data, sizeof(r->headers) - strlen(r->headers) - 1);
    return size * n;
}

/* An admin request; `body` (JSON) may be NULL. Returns the status and fills r. */
static long admin(const char *method, const char *path, const char *token, const char *body,
                  struct http_response *r)
{
    memset(r, 0, sizeof(*r));
    char url[256], auth[128];
    snprintf(url, sizeof(url), "%s%s", d.base, path);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, auth);
    if (body)
        h = curl_slist_append(h, "Content-Type: application/json");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    if (body)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_line);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    cr_assert_eq(curl_easy_perform(c), CURLE_OK, "%s %s", method, path);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return r->status;
}

/* An RFC 3339 UTC time `offset_s` from now. */
static void utc(int offset_s, char *out, size_t len)
{
    time_t t = time(NULL) + offset_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Creates an appointment; returns its parsed JSON (the caller frees). */
static json_t *create(const char *token, const char *service, int start_s, int end_s)
{
    char start[32], end[32], body[256];
    utc(start_s, start, sizeof(start));
    utc(end_s, end, sizeof(end));
    snprintf(body, sizeof(body), "{\"service\":\"%s\",\"start\":\"%s\",\"end\":\"%s\"}", service,
             start, end);
    struct http_response r;
    cr_assert_eq(admin("POST", "/admin/v1/appointments", token, body, &r), 201, "%s", r.body);
    json_t *j = json_loads(r.body, 0, NULL);
    free(r.body);
    cr_assert_not_null(j);
    return j;
}

/* Runs the client script and checks its output lines, in order. */
static void run_client(const char *args, const char *const *want, size_t n_want)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s/tests/integration/queue_client.py %s %s 2>&1",
             BALIE_SOURCE_DIR, d.base, args);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    static char out[16384];
    size_t len = fread(out, 1, sizeof(out) - 1, p);
    out[len] = '\0';
    int status = pclose(p);
    cr_assert_eq(status, 0, "queue_client.py %s failed:\n%s", args, out);
    const char *at = out;
    for (size_t i = 0; i < n_want; i++) {
        const char *hit = strstr(at, want[i]);
        cr_assert_not_null(hit, "expected '%s' in:\n%s", want[i], out);
        at = hit + strlen(want[i]);
    }
}

Test(queue_daemon, two_agents_accept_one_call_fifty_times, .timeout = 120)
{
    start(NULL);
    static const char *const want[] = {"rounds 50 wins 50"};
    run_client("race 50", want, 1);
}

Test(queue_daemon, messages_longer_than_the_receive_buffer_arrive_whole, .timeout = 60)
{
    start(NULL);
    static const char *const want[] = {"long join ack", "fragmented leave ack",
                                       "oversized closed 1009"};
    run_client("large", want, sizeof(want) / sizeof(want[0]));
}

Test(queue_daemon, appointment_is_served_before_an_earlier_walk_in, .timeout = 60)
{
    start(NULL);
    char token[64];
    read_token(token, sizeof(token));
    json_t *a = create(token, "algemeen", 60, 20 * 60);
    char args[64];
    snprintf(args, sizeof(args), "appointment %s", json_string_value(json_object_get(a, "code")));
    json_decref(a);
    static const char *const want[] = {
        "lane appointment position 1",
        "appointment start yes",
        "second use appointment_in_use",
        "wrong code appointment_unknown",
        "agent sees first appointment start yes",
        "served appointment",
    };
    run_client(args, want, sizeof(want) / sizeof(want[0]));
}

Test(queue_daemon, an_appointment_with_an_agent_is_offered_to_that_agent_only, .timeout = 60)
{
    start(NULL);
    char token[64], args[96];
    read_token(token, sizeof(token));
    snprintf(args, sizeof(args), "assigned %s", token);
    static const char *const want[] = {"b sees it assigned True", "a sees it False",
                                       "a accepts it not_eligible", "served by b"};
    run_client(args, want, sizeof(want) / sizeof(want[0]));
}

Test(queue_daemon, a_closed_service_refuses_with_its_next_opening, .timeout = 60)
{
    /* Open one minute on one day of the week, closed on every date of the coming week but the
     * last: never open now, and the next opening is known. */
    char services[512], closed[256] = "";
    time_t now = time(NULL);
    for (int i = 0; i < 7; i++) {
        time_t t = now + (time_t)i * 86400;
        struct tm tm;
        localtime_r(&t, &tm);
        char day[16];
        strftime(day, sizeof(day), "%Y-%m-%d ", &tm);
        strcat(closed, day);
    }
    snprintf(services, sizeof(services),
             "[service.balie]\nopening_hours = \"mon-sun 00:00-24:00\"\nclosed_days = \"%s\"\n",
             closed);
    start(services);
    static const char *const want[] = {"join closed opens_at 20",
                                       "session open false opens_at yes"};
    run_client("closed", want, 2);
}

Test(queue_daemon, transfer_to_a_colleague_with_a_note, .timeout = 60)
{
    start(NULL);
    static const char *const want[] = {
        "colleague listed",
        "unknown colleague unknown_agent",
        "agent a transferred",
        "citizen told agent",
        "citizen lane transfer position 1",
        "b sees note Wil verhuizing doorgeven from True",
        "a may not take it queue_empty",
        "call peer note Wil verhuizing doorgeven transferred True",
    };
    run_client("transfer", want, sizeof(want) / sizeof(want[0]));
}

Test(queue_daemon, urgent_lane, .timeout = 60)
{
    start(NULL);
    static const char *const want[] = {"urgent citizen position 1 lane urgent",
                                       "first citizen position 2", "served urgent"};
    run_client("prioritize", want, 3);
}

static void expect_problem(const struct http_response *r, long status)
{
    cr_assert_eq(r->status, status, "%s", r->body);
    cr_assert_not_null(strcasestr(r->headers, "content-type: application/problem+json"), "%s",
                       r->headers);
    json_t *j = json_loads(r->body, 0, NULL);
    cr_assert_not_null(j, "problem body is JSON");
    cr_assert_eq(json_integer_value(json_object_get(j, "status")), status);
    cr_assert(json_is_string(json_object_get(j, "detail")));
    json_decref(j);
}

Test(queue_daemon, admin_appointments_api, .timeout = 60)
{
    start("[service.paspoort]\n[service.afval]\n");
    char token[64];
    read_token(token, sizeof(token));
    struct http_response r;

    /* The token is required, and a wrong one is refused. */
    cr_assert_eq(admin("GET", "/admin/v1/appointments", "wrong-token-0123456789", NULL, &r), 401);
    expect_problem(&r, 401);
    free(r.body);

    json_t *a = create(token, "paspoort", 3600, 3600 + 900);
    json_t *b = create(token, "afval", 7200, 7200 + 900);
    const char *id = json_string_value(json_object_get(a, "id"));
    const char *code = json_string_value(json_object_get(a, "code"));
    cr_assert_eq(strlen(code), 10);
    char link[64];
    snprintf(link, sizeof(link), "/?afspraak=%s", code);
    cr_assert_str_eq(json_string_value(json_object_get(a, "link")), link);
    cr_assert_not_null(strstr(json_string_value(json_object_get(a, "start")), "+0"),
                       "Amsterdam time with its offset");

    /* List: all, by service, by a day with nothing. */
    cr_assert_eq(admin("GET", "/admin/v1/appointments", token, NULL, &r), 200);
    json_t *list = json_loads(r.body, 0, NULL);
    free(r.body);
    cr_assert_eq(json_integer_value(json_object_get(list, "count")), 2);
    json_decref(list);
    cr_assert_eq(admin("GET", "/admin/v1/appointments?service=afval", token, NULL, &r), 200);
    list = json_loads(r.body, 0, NULL);
    free(r.body);
    cr_assert_eq(json_integer_value(json_object_get(list, "count")), 1);
    cr_assert_str_eq(json_string_value(json_object_get(
                         json_array_get(json_object_get(list, "appointments"), 0), "id")),
                     json_string_value(json_object_get(b, "id")));
    json_decref(list);
    cr_assert_eq(admin("GET", "/admin/v1/appointments?day=2020-01-01", token, NULL, &r), 200);
    cr_assert_not_null(strstr(r.body, "\"count\":0"));
    free(r.body);

    /* Read one, delete it, and it is gone. */
    char path[96];
    snprintf(path, sizeof(path), "/admin/v1/appointments/%s", id);
    cr_assert_eq(admin("GET", path, token, NULL, &r), 200);
    cr_assert_not_null(strstr(r.body, code));
    free(r.body);
    cr_assert_eq(admin("DELETE", path, token, NULL, &r), 200);
    free(r.body);
    cr_assert_eq(admin("DELETE", path, token, NULL, &r), 404);
    expect_problem(&r, 404);
    free(r.body);

    /* Bad input: each a problem naming what is wrong. */
    static const struct {
        const char *body;
        long status;
    } bad[] = {
        {"not json", 400},
        {"[1,2]", 400},
        {"{\"service\":\"nergens\",\"start\":\"2030-01-01T10:00:00Z\","
         "\"end\":\"2030-01-01T10:15:00Z\"}",
         400},
        {"{\"service\":\"paspoort\",\"start\":\"tomorrow\",\"end\":\"2030-01-01T10:15:00Z\"}", 400},
        {"{\"service\":\"paspoort\",\"start\":\"2020-01-01T10:00:00Z\","
         "\"end\":\"2020-01-01T10:15:00Z\"}",
         422},
        {"{\"service\":\"paspoort\",\"start\":\"2030-01-01T10:15:00Z\","
         "\"end\":\"2030-01-01T10:00:00Z\"}",
         422},
        {"{\"service\":\"paspoort\",\"start\":\"2027-01-01T10:00:00Z\","
         "\"end\":\"2027-01-01T10:15:00Z\",\"agent\":\"a b\"}",
         422},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        admin("POST", "/admin/v1/appointments", token, bad[i].body, &r);
        expect_problem(&r, bad[i].status);
        free(r.body);
    }
    cr_assert_eq(admin("GET", "/admin/v1/appointments?day=23-11-2026", token, NULL, &r), 400);
    free(r.body);
    cr_assert_eq(admin("PUT", "/admin/v1/appointments", token, NULL, &r), 405);
    free(r.body);

    /* Stored durably: after a restart the other one is still there. */
    cr_assert_eq(daemon_stop(&d, SIGTERM, 10000, NULL), 0);
    char cfg[512];
    snprintf(cfg, sizeof(cfg),
             "[general]\ndata_dir = \"%s/data\"\n[media]\nworkers = 1\nport_base = 0\n"
             "[http]\nport = 0\n[service.paspoort]\n[service.afval]\n",
             data_dir);
    cr_assert_eq(daemon_start(&d, cfg, NULL), 0, "%s", d.log);
    cr_assert_eq(admin("GET", "/admin/v1/appointments", token, NULL, &r), 200);
    cr_assert_not_null(strstr(r.body, json_string_value(json_object_get(b, "id"))));
    cr_assert_null(strstr(r.body, id));
    free(r.body);
    json_decref(a);
    json_decref(b);

    /* The OpenAPI document describes the appointments and their errors. */
    cr_assert_eq(admin("GET", "/openapi.json", token, NULL, &r), 200);
    json_t *api = json_loads(r.body, 0, NULL);
    free(r.body);
    cr_assert_not_null(api);
    json_t *paths = json_object_get(api, "paths");
    json_t *collection = json_object_get(paths, "/admin/v1/appointments");
    cr_assert_not_null(json_object_get(collection, "post"));
    cr_assert_not_null(json_object_get(collection, "get"));
    cr_assert_not_null(
        json_object_get(json_object_get(paths, "/admin/v1/appointments/{id}"), "delete"));
    cr_assert_not_null(json_object_get(
        json_object_get(json_object_get(json_object_get(collection, "post"), "responses"), "422"),
        "$ref"));
    json_t *schemas = json_object_get(json_object_get(api, "components"), "schemas");
    cr_assert_not_null(json_object_get(schemas, "Appointment"));
    cr_assert_not_null(json_object_get(schemas, "AppointmentRequest"));
    json_decref(api);

    /* No code or token in any log line. */
    daemon_collect_output(&d, 100);
    cr_assert_null(strstr(d.log, token));
}

/* One change of the queue costs each client O(1) messages, not O(queue): with 5 idle agents,
 * one agent in a call and 12 waiting citizens, 20 joins at once reach each idle agent as a few
 * coalesced views, the busy agent and the citizens ahead not at all; the head of the line
 * leaving moves every other citizen up with exactly one message. */
Test(queue_daemon, a_burst_of_changes_sends_each_client_a_bounded_few, .timeout = 120)
{
    start(NULL);
    static const char *const want[] = {"at most 4 True",
                                       "busy agent 0",
                                       "waiting citizens max 0",
                                       "moved up min 1 max 1",
                                       "agents after leave at most 2 True",
                                       "busy agent hears of a new colleague"};
    run_client("fanout 5 12 20", want, sizeof(want) / sizeof(want[0]));
}
