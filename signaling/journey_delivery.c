/* The gateway's side of the journey outbox: reads journey.webhook_* at start, runs the
 * deliverer (journey_outbox.c) over a non-blocking HTTP client (httpc.h) from the control
 * thread's tick, and stops both at exit. Undelivered signals simply wait in the store for the
 * next start. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "balie/httpc.h"
#include "balie/journey_outbox.h"
#include "balie/log.h"
#include "balie/metrics.h"
#include "server_internal.h"

static long send_with_httpc(void *arg, const struct httpc_request *req, httpc_done_fn done,
                            void *done_arg)
{
    return httpc_submit(arg, req, done, done_arg);
}

/* A URL fit for a header-free libcurl call: http(s), no whitespace or control characters. */
static bool url_ok(const char *url)
{
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
        return false;
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            return false;
    return true;
}

/* "Scheme token" from the token file; the token must be one line of visible characters (it
 * goes into a header: a CR or LF would be header injection). */
static int read_authorization(const struct balie_config *cfg, char *out, size_t out_len)
{
    out[0] = '\0';
    const char *path = cfg->journey.webhook_token_file;
    if (!path[0])
        return 0;
    char token[CONFIG_STR_MAX];
    FILE *f = fopen(path, "re");
    if (!f) {
        log_error("journey", "cannot read journey.webhook_token_file %s: %s", path,
                  strerror(errno));
        return -ENOENT;
    }
    size_t n = fread(token, 1, sizeof(token) - 1, f);
    fclose(f);
    token[n] = '\0';
    while (n > 0 && (token[n - 1] == '\n' || token[n - 1] == '\r' || token[n - 1] == ' '))
        token[--n] = '\0';
    bool ok = n > 0;
    for (size_t i = 0; i < n; i++)
        ok = ok && (unsigned char)token[i] > 0x20 && token[i] != 0x7f;
    int len = ok ? snprintf(out, out_len, "%s %s", cfg->journey.webhook_auth_scheme, token) : -1;
    OPENSSL_cleanse(token, sizeof(token));
    if (!ok || len < 0 || (size_t)len >= out_len) {
        OPENSSL_cleanse(out, out_len);
        log_error("journey", "journey.webhook_token_file %s does not hold one line of token", path);
        return -EINVAL;
    }
    return 0;
}

int journey_delivery_start(struct server *srv)
{
    const struct balie_config *cfg = srv->cfg;
    if (!cfg->journey.webhook_url[0] || !srv->journey)
        return 0;
    if (!url_ok(cfg->journey.webhook_url)) {
        log_error("journey", "journey.webhook_url must be an http:// or https:// URL");
        return -EINVAL;
    }
    char authorization[CONFIG_STR_MAX + 32];
    int err = read_authorization(cfg, authorization, sizeof(authorization));
    if (err)
        return err;
    struct journey_outbox_config oc = {
        .url = cfg->journey.webhook_url,
        .authorization = authorization,
        .source = cfg->http.public_url[0] ? cfg->http.public_url : "urn:balie",
        .cfg = cfg,
        .window = (unsigned)cfg->journey.webhook_window,
        .timeout_ms = (unsigned)cfg->journey.webhook_timeout_s * 1000u,
        .retry_base_ms = 1000,
        .retry_max_ms = (int64_t)cfg->journey.webhook_retry_max_s * 1000,
    };
    (void)journey_format_parse(cfg->journey.webhook_format, &oc.format);
    srv->journey_httpc = httpc_new(server_wake, srv);
    srv->journey_outbox =
        srv->journey_httpc
            ? journey_outbox_new(srv->journey, &oc, send_with_httpc, srv->journey_httpc)
            : NULL;
    OPENSSL_cleanse(authorization, sizeof(authorization));
    if (!srv->journey_outbox) {
        log_error("journey", "cannot start the webhook delivery");
        return -ENOMEM;
    }
    metrics_add_collector(journey_outbox_collect, srv->journey_outbox);
    /* The URL's host is configuration, not personal data; the token is never logged. */
    log_info("journey", "signals are delivered to %s as %s", cfg->journey.webhook_url,
             cfg->journey.webhook_format);
    return 0;
}

void journey_delivery_tick(struct server *srv)
{
    if (!srv->journey_outbox)
        return;
    httpc_poll(srv->journey_httpc);
    journey_outbox_tick(srv->journey_outbox, journey_now_ms());
}

void journey_delivery_poll(struct server *srv)
{
    if (srv->journey_httpc)
        httpc_poll(srv->journey_httpc);
}

void journey_delivery_stop(struct server *srv)
{
    httpc_free(srv->journey_httpc); /* first: no callback may run into a freed outbox */
    srv->journey_httpc = NULL;
    journey_outbox_free(srv->journey_outbox);
    srv->journey_outbox = NULL;
}
