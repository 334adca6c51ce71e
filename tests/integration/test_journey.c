/* Journey signals through the real daemon: a citizen (tests/integration/journey_client.py, a
 * real WebSocket client) joins; the gateway is killed with SIGKILL mid-session; the next start
 * closes the session as dropped, exactly once. The admin API exports and erases the signals and
 * refuses a wrong token; no log line ever holds the subject. */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define BSN "999993653" /* passes the 11-test; a test subject, never a real person */

static struct daemon d;
static char data_dir[64];
static char logs[4 * 65536]; /* every daemon's output in this test */

static void keep_log(void)
{
    daemon_collect_output(&d, 100);
    strncat(logs, d.log, sizeof(logs) - strlen(logs) - 1);
}

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
    logs[0] = '\0';
}

TestSuite(journey, .fini = cleanup);

static void start(void)
{
    if (!data_dir[0]) {
        strcpy(data_dir, "/tmp/balie-it-journey-XXXXXX");
        cr_assert_not_null(mkdtemp(data_dir));
    }
    char cfg[512];
    snprintf(cfg, sizeof(cfg),
             "[general]\ndata_dir = \"%s/data\"\n[media]\nworkers = 1\nport_base = 0\n"
             "[http]\nport = 0\n",
             data_dir);
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
    cr_assert_eq(strlen(out), 43, "32 bytes in base64url");
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

/* An admin request with a bearer token; returns the status, fills r. */
static long admin(const char *method, const char *path, const char *token, struct http_response *r)
{
    memset(r, 0, sizeof(*r));
    char url[256], auth[128];
    snprintf(url, sizeof(url), "%s%s", d.base, path);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, auth);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
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

/* Runs the citizen script; returns its stdout (first line) via a pipe it keeps open. */
static FILE *citizen(const char *mode)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s/tests/integration/journey_client.py %s %s %s",
             BALIE_SOURCE_DIR, d.base, BSN, mode);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    return p;
}

static void expect_line(FILE *p, const char *want)
{
    char line[128] = "";
    cr_assert_not_null(fgets(line, sizeof(line), p), "the citizen script printed nothing");
    line[strcspn(line, "\n")] = '\0';
    cr_assert_str_eq(line, want);
}

/* GET /admin/v1/signals for the test subject, parsed. */
static json_t *export_signals(const char *token)
{
    struct http_response r;
    cr_assert_eq(admin("GET", "/admin/v1/signals?subject=" BSN, token, &r), 200, "%s", r.body);
    json_t *j = json_loads(r.body, 0, NULL);
    free(r.body);
    cr_assert_not_null(j);
    return j;
}

static const char *field(json_t *signal, const char *name)
{
    return json_string_value(json_object_get(signal, name));
}

Test(journey, sigkill_mid_session_leaves_one_dropped_signal, .timeout = 90)
{
    start();
    FILE *p = citizen("wait");
    expect_line(p, "queued");
    /* The open row is on disk now: kill the gateway without letting it write anything. */
    keep_log();
    cr_assert_eq(daemon_stop(&d, SIGKILL, 2000, NULL), 128 + SIGKILL);
    pclose(p); /* the script ends when its socket goes */

    start();
    char token[64];
    read_token(token, sizeof(token));
    json_t *j = export_signals(token);
    cr_assert_eq(json_integer_value(json_object_get(j, "count")), 1);
    json_t *s = json_array_get(json_object_get(j, "signals"), 0);
    cr_assert_str_eq(field(s, "outcome"), "dropped");
    cr_assert_str_eq(field(s, "end_reason"), "gateway_restart");
    cr_assert_str_eq(field(s, "channel"), "video");
    cr_assert_str_eq(field(s, "service"), "algemeen");
    cr_assert_str_eq(field(s, "loa"), "substantieel");
    cr_assert_null(field(s, "context_ref"), "no context given, none kept");
    cr_assert_eq(strlen(field(s, "pseudonym")), 64);
    char *text = json_dumps(s, 0);
    cr_assert_null(strstr(text, BSN), "the signal holds the subject");
    free(text);
    json_decref(j);

    /* A second restart finds nothing open: still exactly one signal. */
    keep_log();
    cr_assert_eq(daemon_stop(&d, SIGTERM, 5000, NULL), 0);
    start();
    j = export_signals(token);
    cr_assert_eq(json_integer_value(json_object_get(j, "count")), 1);
    json_decref(j);
    keep_log();
    cr_assert_null(strstr(logs, BSN), "a log line holds the subject");
    cr_assert_not_null(strstr(logs, "closed 1 sessions the previous run left open"));
}

/* Joins that arrive together are written in few turns of the loop, each one transaction: once
 * every citizen was told "queued", a SIGKILL loses none of them, and each is closed once. */
Test(journey, sigkill_after_a_burst_of_joins_keeps_every_signal, .timeout = 90)
{
    start();
    FILE *p = citizen("burst20");
    expect_line(p, "queued 20");
    keep_log();
    cr_assert_eq(daemon_stop(&d, SIGKILL, 2000, NULL), 128 + SIGKILL);
    pclose(p);

    start();
    char token[64];
    read_token(token, sizeof(token));
    json_t *j = export_signals(token);
    cr_assert_eq(json_integer_value(json_object_get(j, "count")), 20);
    json_t *signals = json_object_get(j, "signals");
    for (size_t i = 0; i < json_array_size(signals); i++) {
        json_t *s = json_array_get(signals, i);
        cr_assert_str_eq(field(s, "outcome"), "dropped");
        cr_assert_str_eq(field(s, "end_reason"), "gateway_restart");
    }
    json_decref(j);
    keep_log();
    cr_assert_not_null(strstr(logs, "closed 20 sessions the previous run left open"));
}

Test(journey, stopping_with_a_waiting_citizen_is_abandoned_gateway_shutdown, .timeout = 90)
{
    start();
    FILE *p = citizen("wait");
    expect_line(p, "queued");
    keep_log();
    cr_assert_eq(daemon_stop(&d, SIGTERM, 10000, NULL), 0);
    pclose(p);
    start();
    char token[64];
    read_token(token, sizeof(token));
    json_t *j = export_signals(token);
    cr_assert_eq(json_integer_value(json_object_get(j, "count")), 1);
    json_t *s = json_array_get(json_object_get(j, "signals"), 0);
    cr_assert_str_eq(field(s, "outcome"), "abandoned");
    cr_assert_str_eq(field(s, "end_reason"), "gateway_shutdown");
    json_decref(j);
    keep_log();
    cr_assert_null(strstr(logs, "left open"), "a clean stop leaves nothing to recover");
    cr_assert_null(strstr(logs, BSN), "a log line holds the subject");
}

/* With no agent signed in, leaving the queue is no_agent (docs/journey.md); with one it would
 * be abandoned (test_journey_outcomes.c). */
Test(journey, leaving_with_no_agent_is_no_agent_and_erase_removes_it, .timeout = 90)
{
    start();
    FILE *p = citizen("leave");
    expect_line(p, "left");
    cr_assert_eq(pclose(p), 0);
    char token[64];
    read_token(token, sizeof(token));
    json_t *j = export_signals(token);
    cr_assert_eq(json_integer_value(json_object_get(j, "count")), 1);
    json_t *s = json_array_get(json_object_get(j, "signals"), 0);
    cr_assert_str_eq(field(s, "outcome"), "no_agent");
    cr_assert_str_eq(field(s, "end_reason"), "citizen_left");
    json_decref(j);

    struct http_response r;
    cr_assert_eq(admin("GET", "/metrics", token, &r), 200);
    cr_assert_not_null(
        strstr(r.body, "balie_journey_signals_total{outcome=\"no_agent\",service=\"algemeen\"} 1"),
        "%s", r.body);
    cr_assert_not_null(strstr(r.body, "balie_journey_wait_seconds_count 1\n"));
    free(r.body);

    cr_assert_eq(admin("DELETE", "/admin/v1/signals?subject=" BSN, token, &r), 200);
    cr_assert_str_eq(r.body, "{\"erased\":1}");
    free(r.body);
    j = export_signals(token);
    cr_assert_eq(json_integer_value(json_object_get(j, "count")), 0);
    json_decref(j);
    keep_log();
    cr_assert_null(strstr(logs, BSN), "a log line holds the subject");
}

Test(journey, wrong_token_is_refused_with_problem_json)
{
    start();
    char token[64];
    read_token(token, sizeof(token));
    char wrong[64];
    snprintf(wrong, sizeof(wrong), "%s", token);
    wrong[0] = wrong[0] == 'A' ? 'B' : 'A';
    static const char *const methods[] = {"GET", "DELETE"};
    for (int i = 0; i < 2; i++) {
        struct http_response r;
        cr_assert_eq(admin(methods[i], "/admin/v1/signals?subject=" BSN, wrong, &r), 401);
        cr_assert_not_null(strstr(r.headers, "application/problem+json"), "%s", r.headers);
        cr_assert_not_null(strstr(r.headers, "www-authenticate: Bearer"), "%s", r.headers);
        json_t *j = json_loads(r.body, 0, NULL);
        cr_assert_not_null(j);
        cr_assert_eq(json_integer_value(json_object_get(j, "status")), 401);
        json_decref(j);
        free(r.body);
        cr_assert_eq(admin(methods[i], "/admin/v1/signals?subject=" BSN, "", &r), 401);
        free(r.body);
    }
    struct http_response r;
    cr_assert_eq(admin("GET", "/admin/v1/signals", token, &r), 400, "no subject");
    free(r.body);
    cr_assert_eq(admin("GET", "/admin/v1/nothing", token, &r), 404);
    free(r.body);
    cr_assert_eq(admin("GET", "/openapi.json", token, &r), 200);
    json_t *api = json_loads(r.body, 0, NULL);
    free(r.body);
    cr_assert_not_null(api, "openapi.json is JSON");
    cr_assert_not_null(json_object_get(json_object_get(api, "paths"), "/admin/v1/signals"));
    json_decref(api);
    keep_log();
    cr_assert_null(strstr(logs, BSN), "a log line holds the subject");
}
