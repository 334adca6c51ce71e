/* The login path over real HTTP: the dev provider from /auth/login to the session cookie, the
 * refusals (replays, CSRF, open redirects, bad BSNs), logout, privacy of the log, and the
 * pseudonym secret across restarts. */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "balie/identity.h"
#include "harness.h"

#define BSN "999991772"
#define NAME "Wilhelmina Testpersoon"

static struct daemon d;
static char data_dir[64];

static void cleanup(void)
{
    if (d.pid > 0)
        daemon_stop(&d, SIGKILL, 2000, NULL);
    else if (d.config_path[0])
        unlink(d.config_path); /* a daemon that never started leaves its config behind */
    if (data_dir[0]) {
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", data_dir);
        cr_assert_eq(system(cmd), 0);
        data_dir[0] = '\0';
    }
}

TestSuite(auth, .fini = cleanup);

/* Starts the daemon with its own data folder and `extra` config appended. */
static void start(const char *extra)
{
    if (!data_dir[0]) {
        strcpy(data_dir, "/tmp/balie-it-auth-XXXXXX");
        cr_assert_not_null(mkdtemp(data_dir));
    }
    char cfg[1024];
    snprintf(cfg, sizeof(cfg),
             "[general]\ndata_dir = \"%s/data\"\n[media]\nworkers = 1\nport_base = 0\n"
             "%s\n[http]\nport = 0\n",
             data_dir, extra ? extra : "");
    cr_assert_eq(daemon_start(&d, cfg, NULL), 0, "daemon did not start:\n%s", d.log);
}

/* ---- A small HTTP client: every header is ours, no cookie jar, no redirects followed. ---- */

struct req {
    const char *body;
    const char *origin;
    const char *cookie;
    const char *header; /* one more, "Name: value" */
    const char *content_type;
};

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    struct http_response *r = arg;
    char *body = realloc(r->body, r->body_len + size * n + 1);
    cr_assert_not_null(body);
    memcpy(body + r->body_len, data, size * n);
    r->body = body;
    r->body_len += size * n;
    r->body[r->body_len] = '\0';
    return size * n;
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
    struct http_response *r = arg;
    size_t used = strlen(r->headers);
    if (used + size * n < sizeof(r->headers)) {
        memcpy(r->headers + used, data, size * n);
        r->headers[used + size * n] = '\0';
    }
    return size * n;
}

static void call(const char *method, const char *path, const struct req *q, struct http_response *r)
{
    static const struct req none = {0};
    if (!q)
        q = &none;
    memset(r, 0, sizeof(*r));
    char url[1024], h[4][512];
    snprintf(url, sizeof(url), "%s%s", d.base, path);
    CURL *c = curl_easy_init();
    struct curl_slist *headers = NULL;
    headers = curl_slist_append(headers, "Expect:"); /* no 100-continue round trip */
    if (q->origin) {
        snprintf(h[0], sizeof(h[0]), "Origin: %s", q->origin);
        headers = curl_slist_append(headers, h[0]);
    }
    if (q->cookie) {
        snprintf(h[1], sizeof(h[1]), "Cookie: %s", q->cookie);
        headers = curl_slist_append(headers, h[1]);
    }
    if (q->header)
        headers = curl_slist_append(headers, q->header);
    if (q->body) {
        snprintf(h[2], sizeof(h[2]), "Content-Type: %s",
                 q->content_type ? q->content_type : "application/x-www-form-urlencoded");
        headers = curl_slist_append(headers, h[2]);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, q->body);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(c);
    cr_assert_eq(rc, CURLE_OK, "%s %s: %s", method, path, curl_easy_strerror(rc));
}

static void location(const struct http_response *r, char *out, size_t len)
{
    cr_assert(http_header(r, "location", out, len), "no Location:\n%s", r->headers);
}

/* The value of `name=` in a URL's query. */
static void query_arg(const char *url, const char *name, char *out, size_t len)
{
    char key[32];
    snprintf(key, sizeof(key), "%s=", name);
    const char *p = strstr(url, key);
    cr_assert_not_null(p, "no %s in %s", name, url);
    p += strlen(key);
    size_t n = strcspn(p, "&");
    cr_assert_lt(n, len);
    memcpy(out, p, n);
    out[n] = '\0';
}

/* /auth/login → the dev page's URL (checked), and its state. */
static void begin(const char *return_path, char *authorize, size_t len, char *state,
                  size_t state_len)
{
    char path[512];
    char *esc = curl_easy_escape(NULL, return_path, 0);
    snprintf(path, sizeof(path), "/auth/login?provider=dev&return=%s", esc);
    curl_free(esc);
    struct http_response r;
    call("GET", path, NULL, &r);
    cr_assert_eq(r.status, 302, "%s → %ld", path, r.status);
    location(&r, authorize, len);
    cr_assert_eq(strncmp(authorize, "/auth/dev/authorize?state=", 26), 0, "%s", authorize);
    query_arg(authorize, "state", state, state_len);
    cr_assert_eq(strlen(state), 43);
    http_response_free(&r);
}

/* POSTs the dev form; returns the status and, on 303, the callback URL. */
static long authorize(const char *state, const char *subject, const char *loa, const char *role,
                      const char *name, char *callback, size_t len)
{
    char body[512];
    char *esc = curl_easy_escape(NULL, name ? name : "", 0);
    snprintf(body, sizeof(body), "state=%s&subject=%s&loa=%s&role=%s&name=%s", state, subject, loa,
             role, esc);
    curl_free(esc);
    struct http_response r;
    struct req q = {.body = body, .origin = d.base};
    call("POST", "/auth/dev/authorize", &q, &r);
    if (r.status == 303)
        location(&r, callback, len);
    long status = r.status;
    http_response_free(&r);
    return status;
}

/* The whole dev login. Writes "balie_session=<value>" and the final Location. */
static void login(const char *subject, const char *loa, const char *role, const char *ret,
                  char *cookie, size_t cookie_len, char *final, size_t final_len)
{
    char page[512], state[64], callback[512];
    begin(ret, page, sizeof(page), state, sizeof(state));
    cr_assert_eq(authorize(state, subject, loa, role, NAME, callback, sizeof(callback)), 303);
    struct http_response r;
    call("GET", callback, NULL, &r);
    cr_assert_eq(r.status, 303, "callback → %ld: %s", r.status, r.body);
    location(&r, final, final_len);
    char set_cookie[256];
    cr_assert(http_header(&r, "set-cookie", set_cookie, sizeof(set_cookie)));
    size_t n = strcspn(set_cookie, ";");
    cr_assert_lt(n, cookie_len);
    memcpy(cookie, set_cookie, n);
    cookie[n] = '\0';
    http_response_free(&r);
}

static json_t *session_json(const char *cookie)
{
    struct http_response r;
    struct req q = {.cookie = cookie};
    call("GET", "/auth/session", &q, &r);
    cr_assert_eq(r.status, 200);
    char ctype[64];
    cr_assert(http_header(&r, "content-type", ctype, sizeof(ctype)));
    cr_assert_str_eq(ctype, "application/json");
    cr_assert_null(strstr(r.body, BSN), "the BSN is in /auth/session");
    json_error_t err;
    json_t *j = json_loads(r.body, 0, &err);
    cr_assert_not_null(j, "not JSON: %s (%s)", r.body, err.text);
    /* Exactly the documented keys: nothing else (no pseudonym) ever leaks out. */
    const char *allowed[] = {"authenticated", "role",     "loa",      "provider", "dev_mode",
                             "display_name",  "agent_id", "services", "providers"};
    const char *key;
    json_t *value;
    json_object_foreach(j, key, value)
    {
        bool known = false;
        for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
            known = known || strcmp(key, allowed[i]) == 0;
        cr_assert(known, "unexpected key %s in %s", key, r.body);
    }
    http_response_free(&r);
    return j;
}

static const char *str(json_t *j, const char *key)
{
    json_t *v = json_object_get(j, key);
    cr_assert(json_is_string(v), "%s is not a string", key);
    return json_string_value(v);
}

/* ---- The whole login ---- */

Test(auth, citizen_logs_in_with_the_dev_provider)
{
    start(NULL);
    cr_assert(strstr(d.log, "dev identity provider enabled: not for production"), "%s", d.log);
    json_t *anon = session_json(NULL);
    cr_assert(json_is_false(json_object_get(anon, "authenticated")));
    cr_assert(json_is_true(json_object_get(anon, "dev_mode")));
    json_t *svc = json_array_get(json_object_get(anon, "services"), 0);
    cr_assert_str_eq(str(svc, "id"), "algemeen");
    cr_assert_str_eq(str(json_object_get(svc, "name"), "nl"), "Algemene vragen");
    cr_assert_str_eq(str(json_object_get(svc, "name"), "en"), "General questions");
    cr_assert_str_eq(str(svc, "min_loa"), "midden");
    json_t *prov = json_array_get(json_object_get(anon, "providers"), 0);
    cr_assert_str_eq(str(prov, "id"), "dev");
    cr_assert_str_eq(str(prov, "name"), "Testinlog (geen echte DigiD)");
    json_decref(anon);

    char page[512], state[64], callback[512], final[256], set_cookie[256];
    begin("/", page, sizeof(page), state, sizeof(state));
    struct http_response r;
    call("GET", page, NULL, &r);
    cr_assert_eq(r.status, 200);
    char v[128];
    cr_assert(http_header(&r, "content-type", v, sizeof(v)) && strstr(v, "text/html"), "%s", v);
    cr_assert(http_header(&r, "referrer-policy", v, sizeof(v)));
    cr_assert_str_eq(v, "same-origin", "the form post must carry a real Origin");
    const char *fields[] = {"name=\"state\"", "name=\"subject\"", "name=\"loa\"", "name=\"role\"",
                            "name=\"name\""};
    for (size_t i = 0; i < 5; i++)
        cr_assert(strstr(r.body, fields[i]), "the page has no %s field", fields[i]);
    http_response_free(&r);

    cr_assert_eq(authorize(state, BSN, "substantieel", "citizen", NAME, callback, sizeof(callback)),
                 303);
    cr_assert_eq(strncmp(callback, "/auth/callback/dev?code=", 24), 0, "%s", callback);
    call("GET", callback, NULL, &r);
    cr_assert_eq(r.status, 303);
    location(&r, final, sizeof(final));
    cr_assert_str_eq(final, "/");
    cr_assert(http_header(&r, "set-cookie", set_cookie, sizeof(set_cookie)));
    http_response_free(&r);
    cr_assert_eq(strncmp(set_cookie, "balie_session=", 14), 0, "%s", set_cookie);
    cr_assert_eq(strcspn(set_cookie + 14, ";"), 43, "%s", set_cookie);
    cr_assert(strstr(set_cookie, "; Path=/"), "%s", set_cookie);
    cr_assert(strstr(set_cookie, "; HttpOnly"), "%s", set_cookie);
    cr_assert(strstr(set_cookie, "; SameSite=Lax"), "%s", set_cookie);
    cr_assert_null(strstr(set_cookie, "Secure"), "plain HTTP on loopback: %s", set_cookie);

    char cookie[128];
    snprintf(cookie, sizeof(cookie), "theme=dark; %.*s; lang=nl", (int)strcspn(set_cookie, ";"),
             set_cookie);
    json_t *j = session_json(cookie);
    cr_assert(json_is_true(json_object_get(j, "authenticated")));
    cr_assert_str_eq(str(j, "role"), "citizen");
    cr_assert_str_eq(str(j, "loa"), "substantieel");
    cr_assert_str_eq(str(j, "provider"), "dev");
    cr_assert_str_eq(str(j, "display_name"), NAME);
    cr_assert_null(json_object_get(j, "agent_id"));
    json_decref(j);

    call("GET", "/metrics", NULL, &r);
    cr_assert(strstr(r.body, "balie_auth_logins_total{provider=\"dev\",role=\"citizen\"} 1\n"),
              "%s", r.body);
    cr_assert(strstr(r.body, "balie_sessions_active 1\n"), "%s", r.body);
    http_response_free(&r);

    /* Nothing personal in the whole log: not the BSN, not the name. */
    daemon_stop(&d, SIGTERM, 5000, NULL);
    cr_assert_null(strstr(d.log, BSN), "the BSN is in the log:\n%s", d.log);
    cr_assert_null(strstr(d.log, NAME), "the name is in the log:\n%s", d.log);
    cr_assert_null(strstr(d.log, "Wilhelmina"), "%s", d.log);
    cr_assert(strstr(d.log, "login: provider dev, role citizen, level substantieel"), "%s", d.log);
}

Test(auth, agent_logs_in_and_lands_on_the_console)
{
    start(NULL);
    char cookie[128], final[256];
    login("a.jansen", "midden", "agent", "/agent", cookie, sizeof(cookie), final, sizeof(final));
    cr_assert_str_eq(final, "/agent");
    json_t *j = session_json(cookie);
    cr_assert(json_is_true(json_object_get(j, "authenticated")));
    cr_assert_str_eq(str(j, "role"), "agent");
    cr_assert_str_eq(str(j, "loa"), "midden");
    const char *agent_id = str(j, "agent_id");
    cr_assert_eq(strncmp(agent_id, "agent-", 6), 0, "%s", agent_id);
    cr_assert_eq(strlen(agent_id), 18);
    json_decref(j);
    daemon_stop(&d, SIGTERM, 5000, NULL);
    cr_assert_null(strstr(d.log, "a.jansen"), "the account name is in the log:\n%s", d.log);
}

/* ---- Refusals ---- */

Test(auth, replayed_state_and_code_are_refused)
{
    start(NULL);
    char page[512], state[64], callback[512], again[512];
    begin("/", page, sizeof(page), state, sizeof(state));
    cr_assert_eq(authorize(state, BSN, "midden", "citizen", NULL, callback, sizeof(callback)), 303);
    cr_assert_eq(authorize(state, BSN, "midden", "citizen", NULL, again, sizeof(again)), 400,
                 "the same state answered twice");
    struct http_response r;
    call("GET", callback, NULL, &r);
    cr_assert_eq(r.status, 303);
    http_response_free(&r);
    call("GET", callback, NULL, &r);
    cr_assert_eq(r.status, 400, "a replayed callback");
    cr_assert(strstr(r.body, "verlopen of al gebruikt") && strstr(r.body, "already used"));
    http_response_free(&r);

    /* The used code with a fresh, valid state: the code itself is spent. */
    char code[64], state2[64], page2[512], url[512];
    query_arg(callback, "code", code, sizeof(code));
    begin("/", page2, sizeof(page2), state2, sizeof(state2));
    snprintf(url, sizeof(url), "/auth/callback/dev?code=%s&state=%s", code, state2);
    call("GET", url, NULL, &r);
    cr_assert_eq(r.status, 400, "a replayed code");
    cr_assert_null(http_header(&r, "set-cookie", again, sizeof(again)) ? "cookie" : NULL);
    http_response_free(&r);
    /* A made-up state never gets to the provider. */
    call("GET", "/auth/callback/dev?code=x&state=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL,
         &r);
    cr_assert_eq(r.status, 400);
    http_response_free(&r);
}

Test(auth, posts_from_elsewhere_are_forbidden)
{
    start(NULL);
    char page[512], state[64];
    begin("/", page, sizeof(page), state, sizeof(state));
    char body[256], foreign_referer[640], wrong_scheme[160], lookalike[160];
    snprintf(body, sizeof(body), "state=%s&subject=%s&loa=midden&role=citizen", state, BSN);
    snprintf(wrong_scheme, sizeof(wrong_scheme), "https://127.0.0.1:%d", d.port);
    snprintf(lookalike, sizeof(lookalike), "%s.evil.example", d.base);
    snprintf(foreign_referer, sizeof(foreign_referer), "Referer: http://evil.example/%s", page);
    struct req cases[] = {
        {.body = body},                                  /* neither Origin nor Referer */
        {.body = body, .origin = "http://evil.example"}, /* another site */
        {.body = body, .origin = "null"},                /* opaque, and no Sec-Fetch-Site */
        {.body = body, .origin = wrong_scheme},
        {.body = body, .origin = lookalike},
        {.body = body, .header = foreign_referer},
        {.body = body, .origin = "null", .header = "Sec-Fetch-Site: cross-site"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct http_response r;
        call("POST", "/auth/dev/authorize", &cases[i], &r);
        cr_assert_eq(r.status, 403, "case %zu → %ld", i, r.status);
        cr_assert(strstr(r.body, "niet van deze website") && strstr(r.body, "did not come"));
        http_response_free(&r);
    }
    /* Our own page as Referer is enough when a browser sends no Origin. */
    char own_referer[700];
    snprintf(own_referer, sizeof(own_referer), "Referer: %s%s", d.base, page);
    struct req ok = {.body = body, .header = own_referer};
    struct http_response r;
    call("POST", "/auth/dev/authorize", &ok, &r);
    cr_assert_eq(r.status, 303, "the refusals left the state alone: %ld", r.status);
    http_response_free(&r);

    /* Logout is a POST too: a foreign one does not end the session. */
    char cookie[128], final[256];
    login(BSN, "midden", "citizen", "/", cookie, sizeof(cookie), final, sizeof(final));
    struct req evil = {.body = "", .origin = "http://evil.example", .cookie = cookie};
    call("POST", "/auth/logout", &evil, &r);
    cr_assert_eq(r.status, 403);
    http_response_free(&r);
    json_t *j = session_json(cookie);
    cr_assert(json_is_true(json_object_get(j, "authenticated")));
    json_decref(j);
    /* A same-origin form on a no-referrer page: Origin null, but Sec-Fetch-Site vouches. */
    struct req same = {
        .body = "", .origin = "null", .cookie = cookie, .header = "Sec-Fetch-Site: same-origin"};
    call("POST", "/auth/logout", &same, &r);
    cr_assert_eq(r.status, 303);
    http_response_free(&r);
}

Test(auth, open_redirects_end_at_the_start_page)
{
    start(NULL);
    const char *bad[] = {"//evil.example", "/\\evil.example", "https://evil.example/",
                         "/\t/evil.example", "evil.example"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char cookie[128], final[256];
        login(BSN, "midden", "citizen", bad[i], cookie, sizeof(cookie), final, sizeof(final));
        cr_assert_str_eq(final, "/", "return=%s ended at %s", bad[i], final);
    }
    char cookie[128], final[256];
    login(BSN, "midden", "citizen", "/agent?tab=queue&x=1", cookie, sizeof(cookie), final,
          sizeof(final));
    cr_assert_str_eq(final, "/agent?tab=queue&x=1", "a local path with a query survives");
}

Test(auth, bad_bsn_is_a_400_in_dutch_and_english)
{
    start(NULL);
    char page[512], state[64], callback[512];
    begin("/", page, sizeof(page), state, sizeof(state));
    char body[256];
    snprintf(body, sizeof(body), "state=%s&subject=123456789&loa=midden&role=citizen", state);
    struct req q = {.body = body, .origin = d.base};
    struct http_response r;
    call("POST", "/auth/dev/authorize", &q, &r);
    cr_assert_eq(r.status, 400);
    char ctype[64];
    cr_assert(http_header(&r, "content-type", ctype, sizeof(ctype)) && strstr(ctype, "text/html"));
    cr_assert(strstr(r.body, "geen geldig burgerservicenummer"), "%s", r.body);
    cr_assert(strstr(r.body, "elfproef"), "%s", r.body);
    cr_assert(strstr(r.body, "not a valid citizen service number"), "%s", r.body);
    cr_assert_null(strstr(r.body, "123456789"), "the page echoes what was typed");
    cr_assert(strstr(r.body, "lang=\"nl\""));
    http_response_free(&r);
    /* The same state still works once the number is right. */
    cr_assert_eq(authorize(state, BSN, "midden", "citizen", NULL, callback, sizeof(callback)), 303);
    /* Other form mistakes, and a form that is not a form. */
    begin("/", page, sizeof(page), state, sizeof(state));
    cr_assert_eq(authorize(state, BSN, "high", "citizen", NULL, callback, sizeof(callback)), 400);
    cr_assert_eq(authorize(state, BSN, "midden", "admin", NULL, callback, sizeof(callback)), 400);
    struct req json = {.body = "{}", .origin = d.base, .content_type = "application/json"};
    call("POST", "/auth/dev/authorize", &json, &r);
    cr_assert_eq(r.status, 415);
    http_response_free(&r);
    struct req broken = {.body = "state=%zz", .origin = d.base};
    call("POST", "/auth/dev/authorize", &broken, &r);
    cr_assert_eq(r.status, 400);
    http_response_free(&r);
}

Test(auth, big_bodies_and_wrong_methods)
{
    start(NULL);
    static char big[9000];
    memset(big, 'a', sizeof(big) - 1);
    struct req q = {.body = big, .origin = d.base};
    struct http_response r;
    call("POST", "/auth/dev/authorize", &q, &r);
    cr_assert_eq(r.status, 413);
    http_response_free(&r);
    call("GET", "/auth/logout", NULL, &r);
    cr_assert_eq(r.status, 405, "logout only by POST");
    http_response_free(&r);
    struct req post = {.body = "", .origin = d.base};
    call("POST", "/auth/session", &post, &r);
    cr_assert_eq(r.status, 405);
    http_response_free(&r);
    call("GET", "/auth/login?provider=oidc", NULL, &r);
    cr_assert_eq(r.status, 400, "a provider that is not configured");
    http_response_free(&r);
    call("GET", "/auth/nothing", NULL, &r);
    cr_assert_eq(r.status, 404);
    http_response_free(&r);
    call("GET", "/healthz", NULL, &r);
    cr_assert_eq(r.status, 200, "still healthy");
    http_response_free(&r);
}

Test(auth, failed_dev_logins_are_rate_limited)
{
    start(NULL);
    char page[512], state[64], callback[512];
    begin("/", page, sizeof(page), state, sizeof(state));
    for (int i = 0; i < 10; i++)
        cr_assert_eq(
            authorize(state, "123456789", "midden", "citizen", NULL, callback, sizeof(callback)),
            400, "attempt %d", i + 1);
    cr_assert_eq(authorize(state, BSN, "midden", "citizen", NULL, callback, sizeof(callback)), 429,
                 "even a good attempt waits");
    struct http_response r;
    call("GET", "/metrics", NULL, &r);
    cr_assert(strstr(r.body, "balie_auth_login_failures_total{reason=\"bad_bsn\"} 10\n"), "%s",
              r.body);
    cr_assert(strstr(r.body, "balie_auth_login_failures_total{reason=\"rate_limited\"} 1\n"));
    http_response_free(&r);
    call("GET", "/auth/session", NULL, &r);
    cr_assert_eq(r.status, 200, "reading the session is never limited");
    http_response_free(&r);
}

Test(auth, logout_ends_the_session)
{
    start(NULL);
    char cookie[128], final[256];
    login(BSN, "hoog", "citizen", "/", cookie, sizeof(cookie), final, sizeof(final));
    json_t *j = session_json(cookie);
    cr_assert(json_is_true(json_object_get(j, "authenticated")));
    json_decref(j);
    struct req q = {.body = "", .origin = d.base, .cookie = cookie};
    struct http_response r;
    call("POST", "/auth/logout", &q, &r);
    cr_assert_eq(r.status, 303);
    char loc[64], set_cookie[256];
    location(&r, loc, sizeof(loc));
    cr_assert_str_eq(loc, "/");
    cr_assert(http_header(&r, "set-cookie", set_cookie, sizeof(set_cookie)));
    cr_assert_eq(strncmp(set_cookie, "balie_session=;", 15), 0, "%s", set_cookie);
    cr_assert(strstr(set_cookie, "Max-Age=0"), "%s", set_cookie);
    http_response_free(&r);
    j = session_json(cookie);
    cr_assert(json_is_false(json_object_get(j, "authenticated")), "the old cookie is dead");
    json_decref(j);
    call("GET", "/metrics", NULL, &r);
    cr_assert(strstr(r.body, "balie_sessions_active 0\n"), "%s", r.body);
    cr_assert(strstr(r.body, "balie_auth_logouts_total 1\n"), "%s", r.body);
    http_response_free(&r);
}

Test(auth, behind_a_proxy_the_cookie_is_secure)
{
    start("[http]\nbehind_proxy = true");
    char https_origin[128];
    snprintf(https_origin, sizeof(https_origin), "https://127.0.0.1:%d", d.port);
    char page[512], state[64], body[256];
    begin("/", page, sizeof(page), state, sizeof(state));
    snprintf(body, sizeof(body), "state=%s&subject=%s&loa=midden&role=citizen", state, BSN);
    struct req plain = {.body = body, .origin = d.base};
    struct http_response r;
    call("POST", "/auth/dev/authorize", &plain, &r);
    cr_assert_eq(r.status, 403, "behind a TLS proxy our origin is https");
    http_response_free(&r);
    struct req q = {.body = body, .origin = https_origin};
    call("POST", "/auth/dev/authorize", &q, &r);
    cr_assert_eq(r.status, 303);
    char callback[512], set_cookie[256];
    location(&r, callback, sizeof(callback));
    http_response_free(&r);
    call("GET", callback, NULL, &r);
    cr_assert(http_header(&r, "set-cookie", set_cookie, sizeof(set_cookie)));
    cr_assert(strstr(set_cookie, "; Secure"), "%s", set_cookie);
    http_response_free(&r);
}

/* ---- Configuration ---- */

Test(auth, production_refuses_the_dev_provider)
{
    const char cfg[] = "[general]\nenvironment = production\n[http]\nport = 0\nbehind_proxy = "
                       "true\n[media]\nport_base = 0\n[identity]\ndev_provider = true\n";
    cr_assert_eq(daemon_start(&d, cfg, NULL), -1, "it started:\n%s", d.log);
    cr_assert(strstr(d.log, "dev_provider = true is refused when environment = production"), "%s",
              d.log);
    char path[] = "/tmp/balie-it-prod-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_eq(write(fd, cfg, strlen(cfg)), (ssize_t)strlen(cfg));
    close(fd);
    char out[4096];
    char *args[] = {"--check-config", path, NULL};
    cr_assert_eq(run_gateway(args, NULL, out, sizeof(out)), 2, "%s", out);
    cr_assert(strstr(out, "config error: identity: dev_provider = true is refused"), "%s", out);
    unlink(path);
}

Test(auth, production_without_the_dev_provider_offers_no_test_login)
{
    start("[general]\nenvironment = production\n[http]\nbehind_proxy = true");
    cr_assert_null(strstr(d.log, "dev identity provider enabled"), "%s", d.log);
    json_t *j = session_json(NULL);
    cr_assert(json_is_false(json_object_get(j, "dev_mode")));
    cr_assert_eq(json_array_size(json_object_get(j, "providers")), 0);
    json_decref(j);
    struct http_response r;
    call("GET", "/auth/dev/authorize", NULL, &r);
    cr_assert_eq(r.status, 404);
    http_response_free(&r);
    call("GET", "/auth/login?provider=dev", NULL, &r);
    cr_assert_neq(r.status, 302);
    http_response_free(&r);
}

/* The pseudonym the daemon logged (its first 8 hex characters) for the last login. */
static void logged_pseudonym(char out[9])
{
    const char *p = NULL, *at = d.log;
    while ((at = strstr(at, "level midden, pseudonym ")))
        p = at++;
    cr_assert_not_null(p, "%s", d.log);
    memcpy(out, p + strlen("level midden, pseudonym "), 8);
    out[8] = '\0';
}

Test(auth, pseudonym_key_is_made_0600_and_reused)
{
    start(NULL);
    char key_path[128];
    snprintf(key_path, sizeof(key_path), "%s/data/pseudonym.key", data_dir);
    struct stat st;
    cr_assert_eq(stat(key_path, &st), 0, "no key file at %s", key_path);
    cr_assert_eq(st.st_mode & 0777, 0600, "mode %o", st.st_mode & 0777);
    cr_assert(strstr(d.log, "created (mode 0600) in"), "%s", d.log);
    cr_assert(strstr(d.log, key_path), "the path is logged");

    char key[128] = "";
    FILE *f = fopen(key_path, "r");
    cr_assert_not_null(fgets(key, sizeof(key), f));
    fclose(f);
    key[strcspn(key, "\n")] = '\0';
    cr_assert_eq(strlen(key), 64);
    cr_assert_null(strstr(d.log, key), "the secret itself is in the log");
    char expected[IDENTITY_PSEUDONYM_LEN + 1];
    cr_assert_eq(identity_pseudonym((const unsigned char *)key, 64, BSN, expected), 0);

    char cookie[128], final[256], first[9], second[9];
    login(BSN, "midden", "citizen", "/", cookie, sizeof(cookie), final, sizeof(final));
    daemon_collect_output(&d, 100);
    logged_pseudonym(first);
    cr_assert_eq(strncmp(first, expected, 8), 0, "HMAC-SHA256(key, BSN): %s vs %s", first,
                 expected);
    daemon_stop(&d, SIGTERM, 5000, NULL);

    start(NULL); /* the same data folder */
    cr_assert(strstr(d.log, "pseudonym secret: read from"), "%s", d.log);
    login(BSN, "midden", "citizen", "/", cookie, sizeof(cookie), final, sizeof(final));
    daemon_collect_output(&d, 100);
    logged_pseudonym(second);
    cr_assert_str_eq(first, second, "the same BSN, the same pseudonym after a restart");
    cr_assert_eq(stat(key_path, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600);

    /* The _FILE convention reads the same key: same pseudonym again. */
    daemon_stop(&d, SIGTERM, 5000, NULL);
    char env_var[192];
    snprintf(env_var, sizeof(env_var), "BALIE_IDENTITY_PSEUDONYM_SECRET_FILE=%s", key_path);
    char *env[] = {env_var, NULL};
    /* Another, empty data folder: the key can only come from the variable. */
    char other[] = "/tmp/balie-it-other-XXXXXX";
    cr_assert_not_null(mkdtemp(other));
    char cfg[256];
    snprintf(cfg, sizeof(cfg),
             "[general]\ndata_dir = \"%s\"\n[http]\nport = 0\n"
             "[media]\nworkers = 1\nport_base = 0\n",
             other);
    cr_assert_eq(daemon_start(&d, cfg, env), 0, "%s", d.log);
    cr_assert(strstr(d.log, "pseudonym secret: from the configuration"), "%s", d.log);
    login(BSN, "midden", "citizen", "/", cookie, sizeof(cookie), final, sizeof(final));
    daemon_collect_output(&d, 100);
    char third[9];
    logged_pseudonym(third);
    cr_assert_str_eq(first, third);
}
