/* The oidc provider's callback: checks the response (RFC 9207 iss, error), exchanges the code at
 * the token endpoint on the HTTP client's thread (PKCE verifier, client authentication), then
 * verifies the ID token (signature on the allowlist, a JWKS refetch for an unknown kid, claims)
 * and maps its claims to a verified identity. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>

#include "balie/httpc.h"
#include "balie/jose.h"
#include "balie/log.h"
#include "oidc_internal.h"
#include "balie/token.h"

#define ALLOWED_ALGS (JOSE_ALG_RS256 | JOSE_ALG_PS256 | JOSE_ALG_ES256)
#define CODE_MAX 1024
#define BODY_MAX 8192
#define SKEW_S 60
#define MAX_AGE_S 600                /* an ID token issued more than 10 minutes ago is stale */
#define KID_REFETCH_MS (60u * 1000u) /* at most one JWKS refetch a minute for an unknown kid */

struct oidc_exchange {
    struct oidc_exchange *next;
    struct idp_oidc *op;
    idp_done_fn done;
    void *arg;
    long request;      /* the token request in flight; 0 when none */
    bool waiting_keys; /* the ID token named an unknown kid; the JWKS is being fetched again */
    bool refetched;    /* … once only */
    char nonce[IDP_STATE_LEN + 1];
    char *id_token;
    size_t id_token_len;
};

static void unlink_exchange(struct idp_oidc *op, struct oidc_exchange *ex)
{
    for (struct oidc_exchange **l = &op->exchanges; *l; l = &(*l)->next) {
        if (*l == ex) {
            *l = ex->next;
            return;
        }
    }
}

static void free_exchange(struct oidc_exchange *ex)
{
    if (ex->request)
        httpc_cancel(ex->op->hc, ex->request);
    if (ex->id_token) {
        OPENSSL_cleanse(ex->id_token, ex->id_token_len);
        free(ex->id_token);
    }
    OPENSSL_cleanse(ex, sizeof(*ex));
    free(ex);
}

static void fail(struct oidc_exchange *ex, const char *code)
{
    struct idp_error err;
    memset(&err, 0, sizeof(err));
    oidc_set_error(&err, code);
    unlink_exchange(ex->op, ex);
    idp_done_fn done = ex->done;
    void *arg = ex->arg;
    free_exchange(ex);
    done(arg, -1, NULL, &err);
}

int oidc_min_requested_loa(const struct idp_oidc *op)
{
    enum identity_loa min = LOA_NONE, loa;
    for (const char *p = op->cfg.acr_values; *p;) {
        size_t n = strcspn(p, " ");
        char value[OIDC_MAP_VALUE_MAX];
        if (n > 0) {
            if (n >= sizeof(value))
                return -1;
            memcpy(value, p, n);
            value[n] = '\0';
            if (oidc_loa_lookup(&op->loa, value, &loa) != 0)
                return -1;
            if (min == LOA_NONE || loa < min)
                min = loa;
        }
        p += n + (p[n] == ' ');
    }
    return (int)min;
}

/* Level, subject, role and name from the verified claims. NULL, or the reason. */
static const char *map_claims(struct idp_oidc *op, const json_t *payload,
                              struct identity_verified *id)
{
    const char *acr = json_string_value(json_object_get(payload, op->cfg.loa_claim));
    if (oidc_loa_lookup(&op->loa, acr, &id->loa) != 0)
        return "loa_unknown";
    /* NL GOV client profile: the level received is at least the level asked for. */
    int asked = oidc_min_requested_loa(op);
    if (asked > 0 && (int)id->loa < asked)
        return "loa_too_low";
    if (oidc_claim_subject(json_object_get(payload, op->cfg.subject_claim), id->subject) != 0)
        return "subject_missing";
    bool agent = strcmp(op->cfg.role, "agent") == 0;
    id->role = agent ? IDENTITY_ROLE_AGENT : IDENTITY_ROLE_CITIZEN;
    if (agent && oidc_role_services(&op->roles, json_object_get(payload, op->cfg.role_claim),
                                    id->services, sizeof(id->services)) != 0)
        return "role_unknown";
    if (op->cfg.display_name_claim[0])
        (void)oidc_claim_display_name(json_object_get(payload, op->cfg.display_name_claim),
                                      id->display_name);
    snprintf(id->provider, sizeof(id->provider), "%s", op->base.id);
    /* As the dev provider does: a citizen's pseudonym is the bare subject's, so a BSN has one
     * pseudonym whichever provider verified it; agents live in their own namespace. */
    char input[IDP_SUBJECT_MAX + 8];
    snprintf(input, sizeof(input), "%s%s", agent ? "agent:" : "", id->subject);
    int rc = identity_pseudonym(op->secret, op->secret_len, input, id->pseudonym);
    OPENSSL_cleanse(input, sizeof(input));
    return rc == 0 ? NULL : "internal";
}

static const char *check_claims(struct idp_oidc *op, struct oidc_exchange *ex,
                                const json_t *payload)
{
    uint64_t now_s = (uint64_t)time(NULL);
    struct oidc_claims_expect e = {
        .issuer = op->cfg.issuer,
        .client_id = op->cfg.client_id,
        .nonce = ex->nonce,
        .now_s = now_s,
        .skew_s = SKEW_S,
        .max_age_s = MAX_AGE_S,
    };
    const char *reason = oidc_check_id_claims(payload, &e);
    if (reason)
        return reason;
    /* The shared JOSE checks as well: two readings of the same rules must agree. */
    struct jose_expect je = {
        .issuer = op->cfg.issuer,
        .audience = op->cfg.client_id,
        .nonce = ex->nonce,
        .now_s = now_s,
        .skew_s = SKEW_S,
        .max_age_s = MAX_AGE_S,
        .require_exp = true,
    };
    char why[160];
    return jose_check_claims(payload, &je, why, sizeof(why)) == JOSE_OK ? NULL : "claim_invalid";
}

static const char *jose_reason(enum jose_status st)
{
    switch (st) {
    case JOSE_ALG_REFUSED:
        return "alg_refused";
    case JOSE_UNKNOWN_KID:
        return "unknown_kid";
    case JOSE_BAD_SIGNATURE:
        return "bad_signature";
    case JOSE_CLAIM_INVALID:
        return "claim_invalid";
    default:
        return "id_token_invalid";
    }
}

/* Whether an unknown kid may make us read the JWKS again now (at most once a minute, so that a
 * stream of forged kids cannot make us hammer the provider). Starts the fetch when so. */
static bool refetch_keys(struct idp_oidc *op)
{
    uint64_t now = oidc_mono_ms();
    if (op->fetch_request)
        return true; /* a fetch is under way already: wait for it */
    if (op->kid_refetch_ms && now - op->kid_refetch_ms < KID_REFETCH_MS)
        return false;
    op->kid_refetch_ms = now;
    log_info("oidc", "%s: an ID token names an unknown key: reading the JWKS again", op->base.id);
    oidc_fetch_keys(op);
    return op->fetch_request != 0;
}

static void verify(struct oidc_exchange *ex)
{
    struct idp_oidc *op = ex->op;
    json_t *payload = NULL;
    char why[160];
    enum jose_status st = jose_verify(ex->id_token, ex->id_token_len, op->keys,
                                      op->disc.alg_mask & ALLOWED_ALGS, &payload, why, sizeof(why));
    if (st == JOSE_UNKNOWN_KID && !ex->refetched) {
        ex->refetched = true;
        if (refetch_keys(op)) {
            ex->waiting_keys = true;
            return;
        }
    }
    if (st != JOSE_OK) {
        json_decref(payload);
        fail(ex, jose_reason(st));
        return;
    }
    struct identity_verified id;
    memset(&id, 0, sizeof(id));
    const char *reason = check_claims(op, ex, payload);
    if (!reason)
        reason = map_claims(op, payload, &id);
    json_decref(payload);
    if (reason) {
        identity_verified_clear(&id);
        fail(ex, reason);
        return;
    }
    unlink_exchange(op, ex);
    idp_done_fn done = ex->done;
    void *arg = ex->arg;
    free_exchange(ex);
    done(arg, 0, &id, NULL);
    identity_verified_clear(&id);
}

void oidc_keys_arrived(struct idp_oidc *op, bool ok)
{
    struct oidc_exchange *ex = op->exchanges, *next;
    for (; ex; ex = next) {
        next = ex->next; /* verify() and fail() free `ex` */
        if (!ex->waiting_keys)
            continue;
        ex->waiting_keys = false;
        if (ok)
            verify(ex);
        else
            fail(ex, "keys_unavailable");
    }
}

/* Keeps only [a-z_] of an OAuth error code (RFC 6749 §5.2 restricts it anyway) for the log. */
static void log_token_error(const struct idp_oidc *op, const struct httpc_response *resp)
{
    char code[40] = "";
    json_t *doc = resp->body ? json_loadb(resp->body, resp->body_len, 0, NULL) : NULL;
    const char *e = json_string_value(json_object_get(doc, "error"));
    size_t n = 0;
    for (; e && *e && n + 1 < sizeof(code); e++)
        if ((*e >= 'a' && *e <= 'z') || *e == '_')
            code[n++] = *e;
    code[n] = '\0';
    json_decref(doc);
    log_info("oidc", "%s: token endpoint answered HTTP %ld %s", op->base.id, resp->status, code);
}

static void on_token(void *arg, const struct httpc_response *resp)
{
    struct oidc_exchange *ex = arg;
    ex->request = 0;
    if (resp->status == 0) {
        log_warn("oidc", "%s: token endpoint unreachable: %s", ex->op->base.id, resp->error);
        fail(ex, "token_unreachable");
        return;
    }
    if (resp->status != 200) {
        log_token_error(ex->op, resp);
        fail(ex, "token_refused");
        return;
    }
    /* RFC 6749 §5.1 and OpenID Connect Core §3.1.3.3: a JSON object with a Bearer token_type
     * and the id_token. */
    json_t *doc = json_loadb(resp->body, resp->body_len, JSON_REJECT_DUPLICATES, NULL);
    const char *type = json_string_value(json_object_get(doc, "token_type"));
    const json_t *tok = json_object_get(doc, "id_token");
    size_t len = json_string_length(tok);
    if (!json_is_string(tok) || len == 0 || len > JOSE_TOKEN_MAX ||
        (type && strcasecmp(type, "Bearer") != 0)) {
        json_decref(doc);
        fail(ex, "id_token_invalid");
        return;
    }
    ex->id_token = strndup(json_string_value(tok), len);
    ex->id_token_len = len;
    OPENSSL_cleanse(resp->body, resp->body_len); /* it held tokens */
    json_decref(doc);
    if (!ex->id_token) {
        fail(ex, "internal");
        return;
    }
    verify(ex);
}

/* The private_key_jwt client assertion (RFC 7523 §3, OpenID Connect Core §9): a fresh, short-lived
 * JWT about ourselves for the token endpoint. NULL when signing fails. */
static char *client_assertion(const struct idp_oidc *op)
{
    char jti[TOKEN_LEN + 1];
    if (token_new(jti) != 0)
        return NULL;
    json_int_t now = (json_int_t)time(NULL);
    json_t *p = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "iss", op->cfg.client_id, "sub",
                          op->cfg.client_id, "aud", op->disc.token_endpoint, "jti", jti, "iat", now,
                          "exp", now + 60);
    char *jws = p ? jose_sign(p, op->private_key_pem, op->private_key_len,
                              op->cfg.private_key_id[0] ? op->cfg.private_key_id : NULL)
                  : NULL;
    json_decref(p);
    return jws;
}

static long submit_token_request(struct idp_oidc *op, struct oidc_exchange *ex, const char *code,
                                 const char *verifier)
{
    bool basic = strcmp(op->cfg.client_auth, "client_secret_basic") == 0;
    char *assertion = basic ? NULL : client_assertion(op);
    char *body = malloc(BODY_MAX);
    char user[CONFIG_STR_MAX * 3], password[CONFIG_STR_MAX * 3];
    long id = -1;
    /* RFC 6749 §2.3.1: client_secret_basic form-encodes both before Basic encodes them. */
    if (body && (basic || assertion) &&
        oidc_token_body(code, op->cfg.redirect_uri, verifier, op->cfg.client_id, assertion, body,
                        BODY_MAX) == 0 &&
        (!basic || (oidc_form_encode(op->cfg.client_id, user, sizeof(user)) >= 0 &&
                    oidc_form_encode(op->client_secret, password, sizeof(password)) >= 0))) {
        struct httpc_request req = {
            .method = "POST",
            .url = op->disc.token_endpoint,
            .headers = {"Content-Type: application/x-www-form-urlencoded",
                        "Accept: application/json"},
            .body = body,
            .body_len = strlen(body),
            .basic_user = basic ? user : NULL,
            .basic_password = basic ? password : NULL,
            .ca_file = op->cfg.ca_file[0] ? op->cfg.ca_file : NULL,
            .timeout_ms = 10000,
        };
        id = httpc_submit(op->hc, &req, on_token, ex);
    }
    OPENSSL_cleanse(user, sizeof(user));
    OPENSSL_cleanse(password, sizeof(password));
    if (body) {
        OPENSSL_cleanse(body, BODY_MAX);
        free(body);
    }
    free(assertion);
    return id;
}

/* The callback's own checks, before any network call. NULL, or the reason. */
static const char *check_callback(struct idp_oidc *op, const struct idp_params *params)
{
    if (!op->ready)
        return "provider_unavailable";
    /* RFC 9207 §2.4, on error responses too: with several providers configured, an answer that
     * names another issuer is a mix-up attack (RFC 9700 §4.4). */
    switch (oidc_check_callback_iss(idp_params_get(params, "iss"), op->cfg.issuer,
                                    op->disc.iss_parameter_supported)) {
    case OIDC_ISS_MISMATCH:
        return "iss_mismatch";
    case OIDC_ISS_MISSING:
        return "iss_missing";
    case OIDC_ISS_OK:
        break;
    }
    const char *error = idp_params_get(params, "error");
    if (error)
        return strcmp(error, "access_denied") == 0 ? "access_denied" : "provider_error";
    const char *code = idp_params_get(params, "code");
    if (!code || !code[0] || strlen(code) > CODE_MAX)
        return "code_missing";
    return NULL;
}

int oidc_finish_async(struct idp *idp, const struct idp_params *params,
                      const struct login_pending *login, uint64_t now_ms, idp_done_fn done,
                      void *arg, struct idp_error *err)
{
    struct idp_oidc *op = (struct idp_oidc *)idp;
    (void)now_ms;
    const char *reason = check_callback(op, params);
    if (reason) {
        oidc_set_error(err, reason);
        return -1;
    }
    char verifier[IDP_STATE_LEN + 1];
    struct oidc_exchange *ex = calloc(1, sizeof(*ex));
    if (!ex || oidc_extra_unpack(login->extra, verifier, ex->nonce) != 0) {
        free(ex);
        oidc_set_error(err, "internal");
        return -1;
    }
    ex->op = op;
    ex->done = done;
    ex->arg = arg;
    ex->request = submit_token_request(op, ex, idp_params_get(params, "code"), verifier);
    OPENSSL_cleanse(verifier, sizeof(verifier));
    if (ex->request < 0) {
        ex->request = 0;
        free_exchange(ex);
        oidc_set_error(err, "busy");
        return -1;
    }
    ex->next = op->exchanges;
    op->exchanges = ex;
    return 0;
}

void oidc_cancel(struct idp *idp, void *arg)
{
    struct idp_oidc *op = (struct idp_oidc *)idp;
    struct oidc_exchange *ex = op->exchanges, *next;
    for (; ex; ex = next) {
        next = ex->next;
        if (ex->arg == arg) {
            unlink_exchange(op, ex);
            free_exchange(ex);
        }
    }
}

void oidc_exchanges_free(struct idp_oidc *op)
{
    while (op->exchanges) {
        struct oidc_exchange *ex = op->exchanges;
        op->exchanges = ex->next;
        free_exchange(ex);
    }
}
