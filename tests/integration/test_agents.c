/* Agents through the real daemon: `balie-gateway user add` into a fresh data folder, the
 * password login on the local provider's page, an agent session that takes only its own
 * services over the WebSocket, a citizen below a service's level refused with loa_too_low
 * (tests/integration/agents_client.py), and failed logins limited with 429. */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

#define PASSWORD "a long enough password"

static struct daemon d;
static char dir[64], config[1024], config_path[96];

static void cleanup(void)
{
    if (d.pid > 0)
        daemon_stop(&d, SIGKILL, 2000, NULL);
    if (dir[0]) {
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        cr_assert_eq(system(cmd), 0);
        dir[0] = '\0';
    }
}

TestSuite(agents, .fini = cleanup);

static void make_config(const char *extra)
{
    strcpy(dir, "/tmp/balie-it-agents-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(config, sizeof(config),
             "[general]\ndata_dir = \"%s/data\"\n[media]\nworkers = 1\nport_base = 0\n"
             "[http]\nport = 0\n%s\n"
             "[service.paspoort]\nname_nl = Paspoort\nmin_loa = substantieel\n"
             "[service.algemeen]\nname_nl = Algemeen\nmin_loa = basis\n",
             dir, extra ? extra : "");
    snprintf(config_path, sizeof(config_path), "%s/balie.conf", dir);
    FILE *f = fopen(config_path, "w");
    cr_assert_not_null(f);
    fputs(config, f);
    fclose(f);
}

/* Runs `balie-gateway --config … user <args>` with `input` on stdin; returns the exit status
 * and its output in `out`. */
static int user_cmd(const char *input, const char *args, char *out, size_t len)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "printf '%%s\\n' '%s' | %s --config %s user %s 2>&1", input,
             BALIE_GATEWAY_BIN, config_path, args);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    size_t n = fread(out, 1, len - 1, p);
    out[n] = '\0';
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* ---- HTTP without a cookie jar or redirects ---- */

static size_t keep_body(char *data, size_t size, size_t n, void *arg)
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

static size_t keep_header(char *data, size_t size, size_t n, void *arg)
{
    struct http_response *r = arg;
    size_t used = strlen(r->headers);
    if (used + size * n < sizeof(r->headers)) {
        memcpy(r->headers + used, data, size * n);
        r->headers[used + size * n] = '\0';
    }
    return size * n;
}

static long call(const char *path, const char *body, const char *header, struct http_response *r)
{
    memset(r, 0, sizeof(*r));
    char url[1024], origin[160];
    snprintf(url, sizeof(url), "%s%s", d.base, path);
    snprintf(origin, sizeof(origin), "Origin: %s", d.base);
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Expect:");
    h = curl_slist_append(h, origin);
    if (header)
        h = curl_slist_append(h, header);
    if (body)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, keep_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    cr_assert_eq(curl_easy_perform(c), CURLE_OK, "%s", path);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return r->status;
}

/* /auth/login?provider=local → the page's path and its state. */
static void begin(char *page, size_t page_len, char *state, size_t state_len)
{
    struct http_response r;
    cr_assert_eq(call("/auth/login?provider=local&return=/agent", NULL, NULL, &r), 302);
    cr_assert(http_header(&r, "location", page, page_len));
    cr_assert_eq(strncmp(page, "/auth/local/authorize?state=", 28), 0, "%s", page);
    snprintf(state, state_len, "%s", page + 28);
    http_response_free(&r);
}

/* Posts the login form; returns the status and, on 303, the callback URL. */
static long post_login(const char *state, const char *user, const char *password,
                       const char *header, char *callback, size_t len)
{
    char body[512], path[128];
    char *pw = curl_easy_escape(NULL, password, 0);
    snprintf(body, sizeof(body), "username=%s&password=%s", user, pw);
    curl_free(pw);
    snprintf(path, sizeof(path), "/auth/local/authorize?state=%s", state);
    struct http_response r;
    long status = call(path, body, header, &r);
    /* 503: the gateway's password checks for this second are used up; try again. */
    for (int i = 0; i < 20 && status == 503; i++) {
        http_response_free(&r);
        usleep(500000);
        status = call(path, body, header, &r);
    }
    if (status == 303)
        cr_assert(http_header(&r, "location", callback, len));
    http_response_free(&r);
    return status;
}

/* The whole password login; writes "balie_session=…". */
static void login(const char *user, const char *password, char *cookie, size_t len)
{
    char page[256], state[64], callback[512], set_cookie[256];
    begin(page, sizeof(page), state, sizeof(state));
    cr_assert_eq(post_login(state, user, password, NULL, callback, sizeof(callback)), 303);
    struct http_response r;
    cr_assert_eq(call(callback, NULL, NULL, &r), 303);
    cr_assert(http_header(&r, "set-cookie", set_cookie, sizeof(set_cookie)));
    snprintf(cookie, len, "%.*s", (int)strcspn(set_cookie, ";"), set_cookie);
    http_response_free(&r);
}

/* Runs tests/integration/agents_client.py; returns what it printed (asserting it passed). */
static void run_client(const char *cookie, const char *mode, char *report, size_t len)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd),
             "/usr/bin/python3 %s/tests/integration/agents_client.py %s '%s' %s 2>&1",
             BALIE_SOURCE_DIR, d.base, cookie, mode);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    size_t n = fread(report, 1, len - 1, p);
    report[n] = '\0';
    int status = pclose(p);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s", report);
}

Test(agents, added_on_the_command_line_then_logged_in_with_only_its_services)
{
    make_config(NULL);
    char out[2048];
    cr_assert_eq(user_cmd(PASSWORD, "add a.jansen --services paspoort --name 'Anna Jansen'", out,
                          sizeof(out)),
                 0, "%s", out);
    cr_assert_eq(user_cmd(PASSWORD, "add a.jansen", out, sizeof(out)), 1, "%s", out);
    cr_assert(strstr(out, "already exists"), "%s", out);
    cr_assert_eq(user_cmd("too short", "add b", out, sizeof(out)), 1, "%s", out);
    cr_assert(strstr(out, "too short"), "%s", out);
    cr_assert_eq(user_cmd(PASSWORD, "add 'B C'", out, sizeof(out)), 2, "%s", out);
    cr_assert_eq(user_cmd(PASSWORD, "add c --services nope", out, sizeof(out)), 2, "%s", out);
    cr_assert(strstr(out, "unknown service 'nope'"), "%s", out);
    cr_assert_eq(user_cmd("", "remove nobody", out, sizeof(out)), 1, "%s", out);
    cr_assert_eq(user_cmd("", "list", out, sizeof(out)), 0, "%s", out);
    cr_assert(strstr(out, "a.jansen") && strstr(out, "paspoort") && strstr(out, "Anna Jansen"));
    cr_assert_null(strstr(out, "scrypt"), "list never prints hashes: %s", out);
    char users[128];
    snprintf(users, sizeof(users), "%s/data/users", dir);
    struct stat st;
    cr_assert_eq(stat(users, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600);

    cr_assert_eq(daemon_start(&d, config, NULL), 0, "%s", d.log);
    cr_assert(strstr(d.log, "local agent login enabled: 1 agent(s)"), "%s", d.log);
    char page[256], state[64], callback[512];
    begin(page, sizeof(page), state, sizeof(state));
    struct http_response r;
    cr_assert_eq(call(page, NULL, NULL, &r), 200);
    cr_assert(strstr(r.body, "name=\"username\"") && strstr(r.body, "name=\"password\""));
    cr_assert(strstr(r.body, "autocomplete=\"current-password\""));
    char v[64];
    cr_assert(http_header(&r, "referrer-policy", v, sizeof(v)) && strcmp(v, "same-origin") == 0);
    http_response_free(&r);

    cr_assert_eq(post_login(state, "a.jansen", "wrong password!", NULL, callback, sizeof(callback)),
                 400);
    cr_assert_eq(post_login(state, "a.jansen", PASSWORD, NULL, callback, sizeof(callback)), 303);
    cr_assert_eq(strncmp(callback, "/auth/callback/local?code=", 26), 0, "%s", callback);
    cr_assert_eq(call(callback, NULL, NULL, &r), 303);
    char set_cookie[256], cookie[128], where[64];
    cr_assert(http_header(&r, "set-cookie", set_cookie, sizeof(set_cookie)));
    cr_assert(http_header(&r, "location", where, sizeof(where)));
    cr_assert_str_eq(where, "/agent");
    snprintf(cookie, sizeof(cookie), "%.*s", (int)strcspn(set_cookie, ";"), set_cookie);
    http_response_free(&r);

    char header[160];
    snprintf(header, sizeof(header), "Cookie: %s", cookie);
    cr_assert_eq(call("/auth/session", NULL, header, &r), 200);
    cr_assert(strstr(r.body, "\"role\":\"agent\""), "%s", r.body);
    cr_assert(strstr(r.body, "\"provider\":\"local\""), "%s", r.body);
    cr_assert(strstr(r.body, "\"display_name\":\"Anna Jansen\""), "%s", r.body);
    cr_assert(strstr(r.body, "\"id\":\"paspoort\""), "%s", r.body);
    cr_assert_null(strstr(r.body, "\"id\":\"algemeen\""), "only the agent's services: %s", r.body);
    http_response_free(&r);

    char report[4096];
    run_client(cookie, "", report, sizeof(report));
    cr_assert(strstr(report, "ok a citizen below the level is refused with loa_too_low"), "%s",
              report);

    cr_assert_eq(call("/metrics", NULL, NULL, &r), 200);
    cr_assert(strstr(r.body, "balie_queue_refused_loa_total 1\n"), "%s", r.body);
    cr_assert(strstr(r.body, "balie_calls_started_total 1\n"),
              "only the citizen at the level got a call (and media legs): %s", r.body);
    cr_assert(strstr(r.body, "balie_auth_login_failures_total{reason=\"bad_credentials\"} 1\n"));
    cr_assert(strstr(r.body, "balie_auth_logins_total{provider=\"local\",role=\"agent\"} 1\n"));
    http_response_free(&r);

    cr_assert_eq(daemon_stop(&d, SIGTERM, 5000, NULL), 0, "%s", d.log);
    cr_assert_null(strstr(d.log, "a.jansen"), "the account name is in the log:\n%s", d.log);
    cr_assert_null(strstr(d.log, "Anna"), "the name is in the log:\n%s", d.log);
    cr_assert_null(strstr(d.log, PASSWORD), "%s", d.log);
}

Test(agents, citizen_names_reach_agents_only_when_configured)
{
    make_config("[identity]\nshow_citizen_name = true");
    char out[1024], cookie[128], report[4096];
    cr_assert_eq(user_cmd(PASSWORD, "add a.jansen --services paspoort", out, sizeof(out)), 0, "%s",
                 out);
    cr_assert_eq(daemon_start(&d, config, NULL), 0, "%s", d.log);
    login("a.jansen", PASSWORD, cookie, sizeof(cookie));
    run_client(cookie, "names", report, sizeof(report));
    cr_assert(strstr(report, "ok the name with identity.show_citizen_name"), "%s", report);
    cr_assert_eq(daemon_stop(&d, SIGTERM, 5000, NULL), 0, "%s", d.log);
    cr_assert_null(strstr(d.log, "Test Persoon"), "the name is in the log:\n%s", d.log);
}

Test(agents, failed_logins_end_in_429_per_account_and_per_client)
{
    make_config("trusted_proxies = \"127.0.0.1\"");
    char out[1024];
    cr_assert_eq(user_cmd(PASSWORD, "add a.jansen", out, sizeof(out)), 0, "%s", out);
    cr_assert_eq(daemon_start(&d, config, NULL), 0, "%s", d.log);
    char page[256], state[64], callback[512];
    begin(page, sizeof(page), state, sizeof(state));
    /* One account, five wrong passwords from five addresses (a trusted proxy names them):
     * the account is locked, even for the right password from a sixth address. */
    for (int i = 0; i < 5; i++) {
        char xff[64];
        snprintf(xff, sizeof(xff), "X-Forwarded-For: 198.51.100.%d", i + 1);
        cr_assert_eq(
            post_login(state, "a.jansen", "wrong password!", xff, callback, sizeof(callback)), 400,
            "attempt %d", i);
    }
    cr_assert_eq(post_login(state, "a.jansen", PASSWORD, "X-Forwarded-For: 198.51.100.9", callback,
                            sizeof(callback)),
                 429);
    /* One client, wrong passwords for other accounts: after 10 failures a minute, 429 for
     * everything under /auth from that client, while another client still gets through. */
    long last = 0;
    for (int i = 0; i < 12 && last != 429; i++) {
        char user[32];
        snprintf(user, sizeof(user), "nobody%d", i);
        last = post_login(state, user, "wrong password!", "X-Forwarded-For: 203.0.113.5", callback,
                          sizeof(callback));
        cr_assert(last == 400 || last == 429, "%ld", last);
    }
    cr_assert_eq(last, 429, "the client was never limited");
    struct http_response r;
    cr_assert_eq(
        call("/auth/login?provider=local&return=/agent", NULL, "X-Forwarded-For: 203.0.113.5", &r),
        429);
    cr_assert(strstr(r.body, "Te veel mislukte pogingen") && strstr(r.body, "Too many"));
    http_response_free(&r);
    cr_assert_eq(
        call("/auth/login?provider=local&return=/agent", NULL, "X-Forwarded-For: 203.0.113.6", &r),
        302, "another client is not limited");
    http_response_free(&r);
    cr_assert_eq(call("/metrics", NULL, NULL, &r), 200);
    cr_assert(strstr(r.body, "balie_auth_login_failures_total{reason=\"account_locked\"} 1\n"),
              "%s", r.body);
    http_response_free(&r);
}
