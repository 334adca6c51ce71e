/* The `oidc` identity provider (include/balie/oidc.h): the authorization code flow with PKCE
 * against an OpenID Provider, without ever blocking the event loop. Discovery and the JWKS are
 * fetched in the background at start (retried until they come); the token call of a callback
 * runs on the HTTP client's thread and the login finishes when its answer arrives.
 *
 * What is checked, and why, is in docs/identity.md ("OpenID Connect"). Logs name the provider
 * and a reason, never a code, token, subject or name. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>

#include "balie/httpc.h"
#include "balie/jose.h"
#include "balie/log.h"
#include "balie/oidc.h"
#include "oidc_internal.h"
#include "balie/token.h"

#define RETRY_FIRST_MS 1000u
#define RETRY_MAX_MS 60000u
#define KEYS_REFRESH_MS (60u * 60u * 1000u) /* the JWKS is read again every hour */

uint64_t oidc_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void oidc_set_error(struct idp_error *err, const char *code)
{
    static const struct {
        const char *prefix;
        unsigned status;
        const char *message;
    } table[] = {
        {"access_denied", 400, "Het inloggen is afgebroken. / The login was cancelled."},
        {"provider_error", 400,
         "De inlogdienst kon u niet inloggen. Begin opnieuw. / "
         "The login service could not log you in. Please start again."},
        {"iss_", 400,
         "Het antwoord kwam niet van de inlogdienst die u koos. Begin opnieuw. / "
         "The answer did not come from the login service you chose. Please start again."},
        {"code_missing", 400,
         "De inlogdienst stuurde geen inlogcode mee. Begin opnieuw. / "
         "The login service sent no login code. Please start again."},
        {"provider_unavailable", 503,
         "De inlogdienst is nu niet bereikbaar; probeer het over een paar minuten. / "
         "The login service cannot be reached now; please try again in a few minutes."},
        {"token_unreachable", 502,
         "De inlogdienst is nu niet bereikbaar; probeer het over een paar minuten. / "
         "The login service cannot be reached now; please try again in a few minutes."},
        {"keys_unavailable", 502,
         "De inlogdienst is nu niet bereikbaar; probeer het over een paar minuten. / "
         "The login service cannot be reached now; please try again in a few minutes."},
        {"token_refused", 400,
         "De inlogdienst wees de inlogcode af (verlopen of al gebruikt). Begin opnieuw. / "
         "The login service refused the login code (expired or already used). Please start "
         "again."},
        {"loa_", 403,
         "Uw inlogmiddel heeft niet het betrouwbaarheidsniveau dat nodig is. / "
         "Your login method does not have the assurance level that is needed."},
        {"subject_missing", 400,
         "De inlogdienst gaf niet door wie u bent. / The login service did not say who you are."},
        {"role_unknown", 403,
         "U heeft geen rol die toegang geeft tot de balie. Vraag uw beheerder om toegang. / "
         "You have no role that gives access to the counter. Ask your administrator."},
        {"busy", 503,
         "Het is te druk om in te loggen; probeer het over een minuut. / "
         "Too many logins at once; try again in a minute."},
        {"internal", 500, "Er ging iets mis. / Something went wrong."},
    };
    /* Everything else is a token that did not check out: signature, algorithm, claims. */
    const char *message = "Het bewijs van de inlogdienst klopt niet, daarom bent u niet ingelogd. "
                          "Begin opnieuw. / The login service's proof did not check out, so you "
                          "are not logged in. Please start again.";
    unsigned status = 400;
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        if (strncmp(code, table[i].prefix, strlen(table[i].prefix)) == 0) {
            message = table[i].message;
            status = table[i].status;
            break;
        }
    }
    snprintf(err->code, sizeof(err->code), "%s", code);
    snprintf(err->message, sizeof(err->message), "%s", message);
    err->http_status = status;
}

/* ---- Discovery and keys, in the background ---- */

static void schedule_retry(struct idp_oidc *op)
{
    op->retry_delay_ms = op->retry_delay_ms ? op->retry_delay_ms * 2 : RETRY_FIRST_MS;
    if (op->retry_delay_ms > RETRY_MAX_MS)
        op->retry_delay_ms = RETRY_MAX_MS;
    op->retry_at_ms = oidc_mono_ms() + op->retry_delay_ms;
}

static void fetch(struct idp_oidc *op, const char *url, httpc_done_fn done)
{
    struct httpc_request req = {.method = "GET", .url = url, .timeout_ms = 10000};
    req.headers[0] = "Accept: application/json";
    req.ca_file = op->cfg.ca_file[0] ? op->cfg.ca_file : NULL;
    op->fetch_request = httpc_submit(op->hc, &req, done, op);
    if (op->fetch_request < 0) {
        op->fetch_request = 0;
        schedule_retry(op);
    }
}

static void on_jwks(void *arg, const struct httpc_response *resp)
{
    struct idp_oidc *op = arg;
    op->fetch_request = 0;
    char why[200] = "";
    struct jose_keyset *ks = NULL;
    if (resp->status != 200)
        snprintf(why, sizeof(why), "HTTP %ld %s", resp->status, resp->error);
    else
        ks = jose_keyset_parse(resp->body, resp->body_len, why, sizeof(why));
    if (!ks) {
        log_warn("oidc", "%s: keys (JWKS) not usable: %s", op->base.id, why);
        if (!op->keys)
            schedule_retry(op);
        else
            op->keys_fetched_ms = oidc_mono_ms(); /* keep the old keys; try again in an hour */
        oidc_keys_arrived(op, false);
        return;
    }
    jose_keyset_free(op->keys);
    op->keys = ks;
    op->keys_fetched_ms = oidc_mono_ms();
    op->retry_delay_ms = 0;
    if (!op->ready)
        log_info("oidc", "%s: ready (%zu signing keys)", op->base.id, jose_keyset_count(ks));
    op->ready = true;
    oidc_keys_arrived(op, true);
}

void oidc_fetch_keys(struct idp_oidc *op)
{
    if (op->fetch_request == 0)
        fetch(op, op->disc.jwks_uri, on_jwks);
}

static void on_discovery(void *arg, const struct httpc_response *resp)
{
    struct idp_oidc *op = arg;
    op->fetch_request = 0;
    char why[200] = "";
    struct oidc_discovery d;
    memset(&d, 0, sizeof(d));
    int rc = -1;
    if (resp->status != 200)
        snprintf(why, sizeof(why), "HTTP %ld %s", resp->status, resp->error);
    else
        rc = oidc_discovery_parse(resp->body, resp->body_len, op->cfg.issuer, op->allow_http, &d,
                                  why, sizeof(why));
    bool basic = strcmp(op->cfg.client_auth, "client_secret_basic") == 0;
    if (rc == 0 && !(basic ? d.auth_basic_supported : d.auth_private_key_jwt_supported)) {
        snprintf(why, sizeof(why), "the provider does not offer client_auth %s",
                 op->cfg.client_auth);
        rc = -1;
    }
    if (rc != 0) {
        log_warn("oidc", "%s: discovery failed, retrying: %s", op->base.id, why);
        schedule_retry(op);
        return;
    }
    op->disc = d;
    op->have_discovery = true;
    if (!d.iss_parameter_supported)
        log_info("oidc", "%s: the provider does not send iss on the callback (RFC 9207)",
                 op->base.id);
    oidc_fetch_keys(op);
}

static void start_discovery(struct idp_oidc *op)
{
    /* Discovery §4.1: the issuer without a trailing '/', then the well-known path. */
    char url[OIDC_URL_MAX + 64];
    size_t n = strlen(op->cfg.issuer);
    if (n && op->cfg.issuer[n - 1] == '/')
        n--;
    snprintf(url, sizeof(url), "%.*s/.well-known/openid-configuration", (int)n, op->cfg.issuer);
    fetch(op, url, on_discovery);
}

static void oidc_tick(struct idp *idp, uint64_t now_ms)
{
    struct idp_oidc *op = (struct idp_oidc *)idp;
    (void)now_ms; /* the provider keeps its own monotonic clock for the HTTP callbacks */
    uint64_t now = oidc_mono_ms();
    if (op->fetch_request)
        return;
    if (!op->have_discovery) {
        if (now >= op->retry_at_ms)
            start_discovery(op);
    } else if (!op->keys) {
        if (now >= op->retry_at_ms)
            oidc_fetch_keys(op);
    } else if (now - op->keys_fetched_ms >= KEYS_REFRESH_MS) {
        oidc_fetch_keys(op);
    }
}

static bool oidc_available(const struct idp *idp)
{
    return ((const struct idp_oidc *)idp)->ready;
}

/* ---- Starting a login ---- */

static int oidc_start(struct idp *idp, const char *state, struct login_pending *login, char *url,
                      size_t url_len)
{
    struct idp_oidc *op = (struct idp_oidc *)idp;
    char verifier[TOKEN_LEN + 1], nonce[TOKEN_LEN + 1], challenge[OIDC_CHALLENGE_LEN + 1];
    int rc = -1;
    /* 256 random bits each: the NL GOV profile asks at least 128 for state and nonce. */
    if (op->ready && token_new(verifier) == 0 && token_new(nonce) == 0 &&
        oidc_pkce_challenge(verifier, challenge) == 0 &&
        oidc_extra_pack(verifier, nonce, login->extra, sizeof(login->extra)) == 0) {
        struct oidc_authz_request r = {
            .endpoint = op->disc.authorization_endpoint,
            .client_id = op->cfg.client_id,
            .redirect_uri = op->cfg.redirect_uri,
            .scope = op->cfg.scope,
            .state = state,
            .nonce = nonce,
            .code_challenge = challenge,
            .acr_values = op->cfg.acr_values,
        };
        rc = oidc_authorize_url(&r, url, url_len);
    }
    OPENSSL_cleanse(verifier, sizeof(verifier));
    OPENSSL_cleanse(nonce, sizeof(nonce));
    return rc;
}

static int oidc_finish_sync(struct idp *idp, const struct idp_params *params,
                            const struct login_pending *login, uint64_t now_ms,
                            struct identity_verified *out, struct idp_error *err)
{
    (void)idp, (void)params, (void)login, (void)now_ms, (void)out;
    oidc_set_error(err, "internal"); /* auth.c uses finish_async when a provider has it */
    return -1;
}

/* ---- Lifecycle ---- */

static void oidc_destroy(struct idp *idp)
{
    struct idp_oidc *op = (struct idp_oidc *)idp;
    if (!op)
        return;
    if (op->fetch_request)
        httpc_cancel(op->hc, op->fetch_request);
    oidc_exchanges_free(op);
    jose_keyset_free(op->keys);
    if (op->private_key_pem) {
        OPENSSL_cleanse(op->private_key_pem, op->private_key_len);
        free(op->private_key_pem);
    }
    OPENSSL_cleanse(op, sizeof(*op));
    free(op);
}

/* Reads a small file whole (a key or a secret). NULL with `why`. */
static char *read_file(const char *path, size_t max, size_t *len, char *why, size_t why_len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(why, why_len, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(max + 1);
    size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
    bool bad = !buf || ferror(f) || n > max || n == 0;
    fclose(f);
    if (bad) {
        snprintf(why, why_len, "cannot read %s (empty, or larger than %zu bytes)", path, max);
        if (buf)
            OPENSSL_cleanse(buf, max + 1);
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

static int load_credentials(struct idp_oidc *op, char *why, size_t why_len)
{
    if (strcmp(op->cfg.client_auth, "client_secret_basic") == 0) {
        if (!op->cfg.client_secret_file[0]) {
            memcpy(op->client_secret, op->cfg.client_secret, sizeof(op->client_secret));
            return 0;
        }
        size_t n;
        char *text =
            read_file(op->cfg.client_secret_file, sizeof(op->client_secret) - 1, &n, why, why_len);
        if (!text)
            return -1;
        while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
            text[--n] = '\0';
        memcpy(op->client_secret, text, n + 1);
        OPENSSL_cleanse(text, n);
        free(text);
        return 0;
    }
    op->private_key_pem =
        read_file(op->cfg.private_key_file, 16384, &op->private_key_len, why, why_len);
    return op->private_key_pem ? 0 : -1;
}

struct idp *idp_oidc_new(const struct config_oidc *oc, const struct balie_config *cfg,
                         const unsigned char *secret, size_t secret_len, struct httpc *hc,
                         char *why, size_t why_len)
{
    struct idp_oidc *op = calloc(1, sizeof(*op));
    if (!op) {
        snprintf(why, why_len, "out of memory");
        return NULL;
    }
    op->cfg = *oc;
    op->secret = secret;
    op->secret_len = secret_len;
    op->hc = hc;
    op->allow_http = strcmp(cfg->general.environment, "production") != 0;
    snprintf(op->display_name, sizeof(op->display_name), "%s",
             oc->display_name[0] ? oc->display_name : oc->id);
    char sub[120];
    bool agent = strcmp(oc->role, "agent") == 0;
    if (oidc_loa_map_parse(oc->loa_map, &op->loa, sub, sizeof(sub)) != 0) {
        snprintf(why, why_len, "loa_map: %s", sub);
    } else if (agent && oidc_role_map_parse(oc->role_map, cfg, &op->roles, sub, sizeof(sub)) != 0) {
        snprintf(why, why_len, "role_map: %s", sub);
    } else if (oidc_min_requested_loa(op) < 0) {
        snprintf(why, why_len, "acr_values: a value is not in the level map");
    } else if (load_credentials(op, why, why_len) == 0) {
        op->base.id = op->cfg.id;
        op->base.display_name = op->display_name;
        op->base.role = agent ? "agent" : "citizen";
        op->base.start = oidc_start;
        op->base.finish = oidc_finish_sync;
        op->base.destroy = oidc_destroy;
        op->base.available = oidc_available;
        op->base.finish_async = oidc_finish_async;
        op->base.cancel = oidc_cancel;
        op->base.tick = oidc_tick;
        start_discovery(op);
        return &op->base;
    }
    oidc_destroy(&op->base);
    return NULL;
}
