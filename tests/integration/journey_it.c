/* Shared by the journey integration tests: one daemon in a fresh folder, the journey peers
 * script, and the citizen's signals through the admin API. */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "journey_it.h"

struct daemon d;
char dir[64];

void jit_cleanup(void)
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

void start(const char *extra)
{
    strcpy(dir, "/tmp/balie-it-outcome-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    char cfg[1024];
    snprintf(cfg, sizeof(cfg),
             "[general]\ndata_dir = \"%s/data\"\n[media]\nworkers = 1\nport_base = 0\n"
             "[http]\nport = 0\n%s",
             dir, extra ? extra : "");
    cr_assert_eq(daemon_start(&d, cfg, NULL), 0, "daemon did not start:\n%s", d.log);
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

/* The citizen's signals through the admin API (access, AVG art. 15). */
json_t *signals(void)
{
    char path[128], token[64] = "", auth[128], url[256];
    snprintf(path, sizeof(path), "%s/data/admin.token", dir);
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    cr_assert_not_null(fgets(token, sizeof(token), f));
    fclose(f);
    token[strcspn(token, "\n")] = '\0';
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
    snprintf(url, sizeof(url), "%s/admin/v1/signals?subject=" BSN, d.base);
    struct http_response r = {0};
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, auth);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    cr_assert_eq(curl_easy_perform(c), CURLE_OK);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    json_t *j = json_loads(r.body, 0, NULL);
    cr_assert_not_null(j, "%s", r.body);
    cr_assert_null(strstr(r.body, BSN), "a signal holds the subject");
    cr_assert_null(strstr(r.body, "Test Persoon"), "a signal holds the name");
    free(r.body);
    return j;
}

/* Runs a scenario; returns what the peers saw (parsed). */
json_t *peers(const char *scenario, const char *token)
{
    char cmd[4096];
    snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s/tests/integration/journey_peers.py %s %s %s %s",
             BALIE_SOURCE_DIR, d.base, BSN, scenario, token ? token : "");
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    static char line[65536];
    line[0] = '\0';
    char *got = fgets(line, sizeof(line), p);
    int rc = pclose(p);
    daemon_collect_output(&d, 100);
    cr_assert_not_null(got, "%s printed nothing (exit %d); gateway log:\n%s", scenario, rc, d.log);
    cr_assert_eq(rc, 0, "%s failed", scenario);
    json_t *j = json_loads(line, 0, NULL);
    cr_assert_not_null(j, "%s", line);
    return j;
}

const char *field(json_t *o, const char *name)
{
    const char *v = json_string_value(json_object_get(o, name));
    return v ? v : "";
}
