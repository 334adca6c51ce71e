/* The daemon as a user starts it: config checking, the HTTP endpoints over a real HTTP client,
 * and how it stops. */
#include <criterion/criterion.h>
#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static const char base_config[] = "[http]\nport = 0\n[media]\nworkers = 2\nport_base = 0\n"
                                  "[shutdown]\ngrace_s = 5\n";

static struct daemon d;

static void stop_daemon(void)
{
    if (d.pid > 0)
        daemon_stop(&d, SIGKILL, 2000, NULL);
}

static void start_default(void)
{
    cr_assert_eq(daemon_start(&d, base_config, NULL), 0, "daemon did not start:\n%s", d.log);
}

static void get(const char *path, struct http_response *r)
{
    char url[256];
    snprintf(url, sizeof(url), "%s%s", d.base, path);
    cr_assert_eq(http_request("GET", url, r), 0, "GET %s failed", url);
}

TestSuite(daemon, .fini = stop_daemon);

Test(daemon, healthz_and_readyz)
{
    start_default();
    struct http_response r;
    get("/healthz", &r);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.body, "ok\n");
    http_response_free(&r);
    get("/readyz", &r);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(r.body, "ready\n");
    http_response_free(&r);
}

/* A line of the Prometheus text format (0.0.4): a comment, or name{labels} value. */
static bool valid_metric_line(const char *line, char *name_out, size_t name_len)
{
    const char *p = line;
    if (*p == '#') {
        char name[128], kind[32];
        if (sscanf(line, "# TYPE %127s %31s", name, kind) == 2)
            return strcmp(kind, "counter") == 0 || strcmp(kind, "gauge") == 0 ||
                   strcmp(kind, "histogram") == 0 || strcmp(kind, "summary") == 0 ||
                   strcmp(kind, "untyped") == 0;
        return strncmp(line, "# HELP ", 7) == 0 && strlen(line) > 8;
    }
    size_t n = 0;
    if (!(isalpha((unsigned char)*p) || *p == '_' || *p == ':'))
        return false;
    while (isalnum((unsigned char)p[n]) || p[n] == '_' || p[n] == ':')
        n++;
    if (n >= name_len)
        return false;
    memcpy(name_out, p, n);
    name_out[n] = '\0';
    p += n;
    if (*p == '{') {
        p++;
        while (*p != '}') {
            if (!(isalpha((unsigned char)*p) || *p == '_'))
                return false;
            while (isalnum((unsigned char)*p) || *p == '_')
                p++;
            if (p[0] != '=' || p[1] != '"')
                return false;
            p += 2;
            while (*p && *p != '"')
                p += (*p == '\\' && p[1]) ? 2 : 1;
            if (*p++ != '"')
                return false;
            if (*p == ',')
                p++;
            else if (*p != '}')
                return false;
        }
        p++;
    }
    if (*p++ != ' ')
        return false;
    char *end;
    strtod(p, &end);
    return end != p && (*end == '\0' || *end == ' ');
}

Test(daemon, metrics_parse_as_prometheus_text)
{
    start_default();
    struct http_response r;
    get("/metrics", &r);
    cr_assert_eq(r.status, 200);
    char ctype[128];
    cr_assert(http_header(&r, "content-type", ctype, sizeof(ctype)));
    cr_assert(strstr(ctype, "text/plain; version=0.0.4"), "content-type %s", ctype);
    char typed[8192] = " ";
    int samples = 0;
    for (char *line = strtok(r.body, "\n"); line; line = strtok(NULL, "\n")) {
        char name[128] = "";
        cr_assert(valid_metric_line(line, name, sizeof(name)), "bad metrics line: '%s'", line);
        char tname[128];
        if (sscanf(line, "# TYPE %127s", tname) == 1) {
            strcat(typed, tname);
            strcat(typed, " ");
        } else if (name[0]) {
            char key[140];
            snprintf(key, sizeof(key), " %s ", name);
            /* A histogram's samples are its name plus _bucket, _sum or _count. */
            static const char *const suffixes[] = {"_bucket", "_sum", "_count"};
            for (size_t i = 0; i < 3 && !strstr(typed, key); i++) {
                size_t n = strlen(name), k = strlen(suffixes[i]);
                if (n > k && strcmp(name + n - k, suffixes[i]) == 0)
                    snprintf(key, sizeof(key), " %.*s ", (int)(n - k), name);
            }
            cr_assert(strstr(typed, key), "sample %s has no # TYPE line before it", name);
            samples++;
        }
    }
    cr_assert_gt(samples, 8);
    http_response_free(&r);
    get("/metrics", &r);
    cr_assert(strstr(r.body, "balie_build_info{version=\""));
    cr_assert(strstr(r.body, "balie_media_workers 2\n"));
    cr_assert(strstr(r.body, "balie_http_requests_total{route=\"metrics\"} 2\n"),
              "each /metrics request counts itself:\n%s", r.body);
    http_response_free(&r);
}

static void assert_security_headers(const struct http_response *r)
{
    char v[1024];
    cr_assert(http_header(r, "content-security-policy", v, sizeof(v)));
    cr_assert(strstr(v, "frame-ancestors 'none'"), "CSP: %s", v);
    cr_assert(strstr(v, "default-src 'self'"));
    cr_assert_null(strstr(v, "unsafe-inline"));
    cr_assert(http_header(r, "x-content-type-options", v, sizeof(v)));
    cr_assert_str_eq(v, "nosniff");
    cr_assert(http_header(r, "referrer-policy", v, sizeof(v)));
    cr_assert_str_eq(v, "no-referrer");
    /* Exactly one CSP: two would both apply and the looser one would not loosen anything,
     * but it confuses every reader. */
    const char *first = strstr(r->headers, "content-security-policy:");
    cr_assert_null(strstr(first + 1, "content-security-policy:"), "two CSP headers");
}

Test(daemon, pages_load_with_security_headers)
{
    start_default();
    const char *paths[] = {"/", "/agent", "/healthz", "/metrics", "/nope"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        struct http_response r;
        get(paths[i], &r);
        cr_assert_eq(r.status, i == 4 ? 404 : 200, "%s → %ld", paths[i], r.status);
        assert_security_headers(&r);
        if (i < 2) {
            char ctype[128];
            cr_assert(http_header(&r, "content-type", ctype, sizeof(ctype)));
            cr_assert(strstr(ctype, "text/html"), "%s: %s", paths[i], ctype);
            cr_assert(strstr(r.body, "<html") || strstr(r.body, "<!doctype html") ||
                      strstr(r.body, "<!DOCTYPE html"));
        }
        http_response_free(&r);
    }
}

Test(daemon, refuses_path_tricks_and_other_methods)
{
    start_default();
    const char *bad[] = {"/../CMakeLists.txt", "/%2e%2e/CMakeLists.txt", "/.git/config",
                         "/index.html%00.js",  "//etc/passwd",           "/web/../../etc/passwd"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct http_response r;
        char url[256];
        snprintf(url, sizeof(url), "%s%s", d.base, bad[i]);
        if (http_request("GET", url, &r) != 0) {
            /* libwebsockets closes the connection on a NUL in the path: also a refusal. */
            http_response_free(&r);
            continue;
        }
        cr_assert(r.status == 404 || r.status == 403 || r.status == 400, "%s → %ld", bad[i],
                  r.status);
        cr_assert(r.body == NULL || strstr(r.body, "cmake_minimum_required") == NULL);
        http_response_free(&r);
    }
    struct http_response r;
    char url[256];
    snprintf(url, sizeof(url), "%s/healthz", d.base);
    cr_assert_eq(http_request("DELETE", url, &r), 0);
    cr_assert_eq(r.status, 405);
    http_response_free(&r);
    /* The server stays healthy after all of that. */
    get("/healthz", &r);
    cr_assert_eq(r.status, 200);
    http_response_free(&r);
}

Test(daemon, sigterm_while_idle_exits_zero_within_a_second)
{
    start_default();
    long elapsed;
    int status = daemon_stop(&d, SIGTERM, 5000, &elapsed);
    cr_assert_eq(status, 0, "exit status %d, output:\n%s", status, d.log);
    cr_assert_lt(elapsed, 1000, "took %ld ms", elapsed);
    cr_assert(strstr(d.log, "draining"), "%s", d.log);
    cr_assert(strstr(d.log, "\"msg\":\"stopped\""), "%s", d.log);
}

Test(daemon, sigint_exits_zero)
{
    start_default();
    long elapsed;
    cr_assert_eq(daemon_stop(&d, SIGINT, 5000, &elapsed), 0, "%s", d.log);
    cr_assert_lt(elapsed, 1000);
}

/* Every line the daemon prints is one JSON object with time, level, component and message. */
Test(daemon, logs_are_json_lines)
{
    start_default();
    struct http_response r;
    get("/healthz", &r);
    http_response_free(&r);
    daemon_stop(&d, SIGTERM, 5000, NULL);
    int lines = 0;
    for (char *line = strtok(d.log, "\n"); line; line = strtok(NULL, "\n")) {
        cr_assert_eq(strncmp(line, "{\"ts\":\"", 7), 0, "not a JSON log line: %s", line);
        cr_assert(strstr(line, "\"level\":\"") && strstr(line, "\"component\":\"") &&
                      strstr(line, "\"msg\":\""),
                  "%s", line);
        cr_assert_eq(line[strlen(line) - 1], '}', "%s", line);
        lines++;
    }
    cr_assert_geq(lines, 4);
}

Test(daemon, check_config_accepts_a_good_file)
{
    char path[] = "/tmp/balie-good-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_eq(write(fd, base_config, strlen(base_config)), (ssize_t)strlen(base_config));
    close(fd);
    char out[4096];
    char *args[] = {"--check-config", path, NULL};
    cr_assert_eq(run_gateway(args, NULL, out, sizeof(out)), 0, "%s", out);
    cr_assert(strstr(out, "configuration is valid"));
    unlink(path);
}

Test(daemon, check_config_names_file_line_and_key)
{
    char path[] = "/tmp/balie-bad-XXXXXX";
    int fd = mkstemp(path);
    const char text[] = "[http]\nport = 80800\n\n[media]\nworkerz = 2\n";
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    char out[4096], want[256];
    char *args[] = {"--check-config", path, NULL};
    cr_assert_eq(run_gateway(args, NULL, out, sizeof(out)), 2, "%s", out);
    snprintf(want, sizeof(want), "%s:2: key 'http.port': 80800 is outside 0..65535", path);
    cr_assert(strstr(out, want), "%s", out);
    snprintf(want, sizeof(want), "%s:5: unknown key 'workerz' in [media]", path);
    cr_assert(strstr(out, want), "%s", out);
    unlink(path);
}

Test(daemon, bad_config_never_starts_a_gateway)
{
    char *env[] = {"BALIE_HTTP_LISTEN=0.0.0.0", NULL};
    cr_assert_eq(daemon_start(&d, base_config, env), -1, "it started:\n%s", d.log);
    cr_assert(strstr(d.log, "plain HTTP on '0.0.0.0' is refused"), "%s", d.log);
    cr_assert_null(strstr(d.log, "citizen page"));
    char out[4096];
    char *args[] = {"--check-config", "/nonexistent.conf", NULL};
    cr_assert_eq(run_gateway(args, NULL, out, sizeof(out)), 2);
    cr_assert(strstr(out, "/nonexistent.conf: cannot open"), "%s", out);
    char *unknown[] = {"--frobnicate", NULL};
    cr_assert_eq(run_gateway(unknown, NULL, out, sizeof(out)), 2);
}

Test(daemon, port_in_use_is_a_clear_error)
{
    start_default();
    char cfg[256];
    snprintf(cfg, sizeof(cfg), "[http]\nport = %d\n[media]\nport_base = 0\n", d.port);
    struct daemon second;
    cr_assert_eq(daemon_start(&second, cfg, NULL), -1);
    cr_assert(strstr(second.log, "cannot listen on 127.0.0.1 port"), "%s", second.log);
}

Test(daemon, environment_configures_the_daemon)
{
    char *env[] = {"BALIE_MEDIA_WORKERS=3", NULL};
    cr_assert_eq(daemon_start(&d, base_config, env), 0, "%s", d.log);
    struct http_response r;
    get("/metrics", &r);
    cr_assert(strstr(r.body, "balie_media_workers 3\n"), "%s", r.body);
    http_response_free(&r);
}

Test(daemon, serves_https_when_a_certificate_is_configured)
{
    const char *dir = "/tmp/balie-it-tls";
    char cmd[512];
    snprintf(cmd, sizeof(cmd),
             "mkdir -p %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
             "-nodes -keyout %s/key.pem -out %s/cert.pem -days 2 -subj /CN=localhost "
             ">/dev/null 2>&1",
             dir, dir, dir);
    cr_assert_eq(system(cmd), 0, "openssl could not make a test certificate");
    char cfg[512];
    snprintf(cfg, sizeof(cfg),
             "%s[http]\nport = 0\ntls_cert = \"%s/cert.pem\"\ntls_key = \"%s/key.pem\"\n",
             "[media]\nport_base = 0\n", dir, dir);
    cr_assert_eq(daemon_start(&d, cfg, NULL), 0, "%s", d.log);
    cr_assert_eq(strncmp(d.base, "https://", 8), 0, "%s", d.base);
    struct http_response r;
    get("/healthz", &r);
    cr_assert_eq(r.status, 200);
    char v[128];
    cr_assert(http_header(&r, "strict-transport-security", v, sizeof(v)));
    http_response_free(&r);
}
