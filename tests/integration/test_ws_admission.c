/* The WebSocket is only opened for a logged-in page of our own origin; a refusal says why with
 * an HTTP status, so a page can tell "log in again" from a network fault. */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include "harness.h"

static struct daemon d;

static void stop(void)
{
    if (d.pid > 0)
        daemon_stop(&d, SIGKILL, 2000, NULL);
}

static size_t discard(char *p, size_t s, size_t n, void *u)
{
    (void)p;
    (void)u;
    return s * n;
}

/* An upgrade request as a browser sends it; returns the HTTP status of the refusal. */
static long upgrade(const char *origin, const char *cookie)
{
    CURL *c = curl_easy_init();
    char url[160], o[200], k[300];
    snprintf(url, sizeof(url), "%s/ws", d.base);
    struct curl_slist *h = NULL;
    h = curl_slist_append(h, "Connection: Upgrade");
    h = curl_slist_append(h, "Upgrade: websocket");
    h = curl_slist_append(h, "Sec-WebSocket-Version: 13");
    h = curl_slist_append(h, "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==");
    h = curl_slist_append(h, "Sec-WebSocket-Protocol: balie.v1");
    snprintf(o, sizeof(o), "Origin: %s", origin);
    h = curl_slist_append(h, o);
    if (cookie) {
        snprintf(k, sizeof(k), "Cookie: %s", cookie);
        h = curl_slist_append(h, k);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    long status = 0;
    CURLcode rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return rc == CURLE_OK ? status : -1;
}

Test(ws_admission, refusals_carry_a_status, .fini = stop)
{
    char dir[] = "/tmp/balie-it-ws-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char cfg[256];
    snprintf(cfg, sizeof(cfg),
             "[http]\nport = 0\n[media]\nworkers = 1\nport_base = 0\n"
             "[general]\ndata_dir = \"%s\"\n",
             dir);
    cr_assert_eq(daemon_start(&d, cfg, NULL), 0, "%s", d.log);
    char own[160];
    snprintf(own, sizeof(own), "http://127.0.0.1:%d", d.port);
    cr_assert_eq(upgrade(own, NULL), 401, "no session: 401");
    cr_assert_eq(upgrade(own, "balie_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), 401,
                 "an unknown session: 401");
    cr_assert_eq(upgrade("http://evil.example", NULL), 403, "a foreign Origin: 403");
    struct http_response r;
    char url[160];
    snprintf(url, sizeof(url), "%s/metrics", d.base);
    cr_assert_eq(http_request("GET", url, &r), 0);
    cr_assert(strstr(r.body, "balie_websocket_refused_total 3\n"), "%s", r.body);
    http_response_free(&r);
}
