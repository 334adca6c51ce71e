/* The `oidc` identity provider: OpenID Connect authorization code flow with PKCE against an
 * OpenID Provider (a DigiD broker for citizens, a staff directory for agents), following the NL
 * GOV Assurance profile for OpenID Connect where it applies. docs/identity.md has the walk-through.
 *
 * The provider itself (idp_oidc_new) talks to the OP through httpc and checks tokens with jose;
 * the pure parts below (discovery, maps, PKCE, URLs, form bodies) are separate so that tests and
 * fuzzers drive them without a network. Control thread only. */
#ifndef BALIE_OIDC_H
#define BALIE_OIDC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "balie/config.h"
#include "balie/identity.h"
#include "balie/idp.h"

struct httpc;

/* ---- The provider ---- */

/* Makes the provider of `oc` (copied). `secret` (the pseudonym secret) and `hc` must outlive it;
 * `cfg` is read here only (the role map names services that must exist). Discovery and the JWKS
 * are fetched at once in the background and retried; until they arrive, `available` is false.
 * Returns NULL with the reason in `why` (an unreadable key or secret file, a bad map). */
struct idp *idp_oidc_new(const struct config_oidc *oc, const struct balie_config *cfg,
                         const unsigned char *secret, size_t secret_len, struct httpc *hc,
                         char *why, size_t why_len);

/* ---- Discovery (OpenID Connect Discovery 1.0 §3, §4.3; RFC 9207 §3) ---- */

#define OIDC_URL_MAX 512

struct oidc_discovery {
    char issuer[CONFIG_STR_MAX];
    char authorization_endpoint[OIDC_URL_MAX];
    char token_endpoint[OIDC_URL_MAX];
    char jwks_uri[OIDC_URL_MAX];
    bool iss_parameter_supported; /* authorization_response_iss_parameter_supported */
    unsigned alg_mask;            /* advertised ID token algorithms on our allowlist (jose.h) */
    bool auth_basic_supported;    /* token_endpoint_auth_methods_supported (absent: basic only) */
    bool auth_private_key_jwt_supported;
};

/* Parses a discovery document. The `issuer` must equal `expected_issuer` exactly (§4.3), the
 * endpoints must be https (or http on a loopback host when `allow_http`), S256 must be among
 * code_challenge_methods_supported when that is given, and at least one of RS256, PS256, ES256
 * among id_token_signing_alg_values_supported. Returns 0, or -1 with the reason in `why`. */
int oidc_discovery_parse(const char *json, size_t len, const char *expected_issuer, bool allow_http,
                         struct oidc_discovery *out, char *why, size_t why_len);

/* https://…, or http:// to a loopback host when `allow_http`. */
bool oidc_url_acceptable(const char *url, bool allow_http);

/* ---- Level of assurance: claim value → basis | midden | substantieel | hoog ---- */

#define OIDC_MAP_ENTRIES 32
#define OIDC_MAP_VALUE_MAX 128

struct oidc_loa_map {
    size_t count;
    struct {
        char value[OIDC_MAP_VALUE_MAX];
        enum identity_loa loa;
    } entries[OIDC_MAP_ENTRIES];
};

/* "value=level, value=level" (separated by commas, spaces or newlines; the last '=' splits).
 * Empty text gives the built-in table: eIDAS LoA URIs, DigiD's SAML authentication context
 * classes, eHerkenning's assurance classes and the level names themselves. Returns 0, or -1
 * with `why`. */
int oidc_loa_map_parse(const char *text, struct oidc_loa_map *out, char *why, size_t why_len);
/* The level `value` maps to: 0, or -1 when it is not in the map. Exact comparison. */
int oidc_loa_lookup(const struct oidc_loa_map *map, const char *value, enum identity_loa *out);

/* ---- Roles of agents: claim value → services they may take ---- */

#define OIDC_ROLES_MAX 16

struct oidc_role_map {
    size_t count;
    struct {
        char value[OIDC_MAP_VALUE_MAX];
        char services[IDP_SERVICES_MAX]; /* "*" or "id,id" */
    } entries[OIDC_ROLES_MAX];
};

/* "value=svc|svc, value=*". Each service must be one of `cfg`'s (NULL: not checked). Returns 0,
 * or -1 with `why`. */
int oidc_role_map_parse(const char *text, const struct balie_config *cfg, struct oidc_role_map *out,
                        char *why, size_t why_len);
/* The services the role claim `claim` (a string, or an array of strings such as groups) grants:
 * the union over every value in the map, as "id,id", or "" for every service (a "*"). Returns 0,
 * or -1 when no value of the claim is in the map (a missing or unknown role: refused). */
int oidc_role_services(const struct oidc_role_map *map, const json_t *claim, char *out,
                       size_t out_len);

/* ---- PKCE, requests and responses ---- */

#define OIDC_CHALLENGE_LEN 43

/* RFC 7636 §4.2: BASE64URL(SHA256(ASCII(verifier))). The verifier must be 43..128 characters of
 * [A-Za-z0-9-._~] (§4.1). Returns 0, or -1. */
int oidc_pkce_challenge(const char *verifier, char out[OIDC_CHALLENGE_LEN + 1]);

/* application/x-www-form-urlencoded of `in` (RFC 6749 Appendix B): unreserved characters stay,
 * a space and everything else are %XX. Returns the length, or -1 when it does not fit. */
long oidc_form_encode(const char *in, char *out, size_t out_len);

struct oidc_authz_request {
    const char *endpoint; /* authorization_endpoint; may already hold a query */
    const char *client_id, *redirect_uri, *scope, *state, *nonce, *code_challenge;
    const char *acr_values; /* NULL or empty: left out */
};

/* The authorization request URL (OpenID Connect Core §3.1.2.1, RFC 7636 §4.3, S256).
 * Returns 0, or -1 when it does not fit. */
int oidc_authorize_url(const struct oidc_authz_request *r, char *out, size_t out_len);

/* The token request body (RFC 6749 §4.1.3, RFC 7636 §4.5): grant_type, code, redirect_uri,
 * code_verifier, and with `assertion` (private_key_jwt, RFC 7523 §2.2) client_id,
 * client_assertion_type and client_assertion. Returns 0, or -1 when it does not fit. */
int oidc_token_body(const char *code, const char *redirect_uri, const char *verifier,
                    const char *client_id, const char *assertion, char *out, size_t out_len);

/* The verifier and nonce a login keeps in login_pending.extra, as "verifier nonce". */
int oidc_extra_pack(const char *verifier, const char *nonce, char *extra, size_t extra_len);
int oidc_extra_unpack(const char *extra, char verifier[IDP_STATE_LEN + 1],
                      char nonce[IDP_STATE_LEN + 1]);

enum oidc_iss_result { OIDC_ISS_OK = 0, OIDC_ISS_MISMATCH, OIDC_ISS_MISSING };

/* RFC 9207 §2.4: the callback's `iss` must equal the issuer this login went to; a missing `iss`
 * is refused when discovery promised it (authorization_response_iss_parameter_supported). */
enum oidc_iss_result oidc_check_callback_iss(const char *iss_param, const char *issuer,
                                             bool iss_supported);

/* The ID token checks of OpenID Connect Core §3.1.3.7 and the NL GOV profile (§4.2.4 of the
 * client profile: iat and nbf in the past, exp in the future), with a precise reason. */
struct oidc_claims_expect {
    const char *issuer, *client_id, *nonce;
    uint64_t now_s;     /* wall clock, seconds since the epoch */
    unsigned skew_s;    /* clock difference allowed either way */
    unsigned max_age_s; /* how old iat may be */
};
/* NULL when every check passes, else the reason: "iss_mismatch", "aud_mismatch", "azp_mismatch",
 * "nonce_mismatch", "token_expired", "token_not_yet_valid", "token_too_old". */
const char *oidc_check_id_claims(const json_t *payload, const struct oidc_claims_expect *e);

/* A display name claim kept as it is: a string of fewer than IDP_DISPLAY_NAME_MAX bytes without
 * control characters (jansson has already refused invalid UTF-8). Returns 0, or -1. */
int oidc_claim_display_name(const json_t *claim, char out[IDP_DISPLAY_NAME_MAX]);

/* A subject claim's text: a string (or a whole number) of 1..IDP_SUBJECT_MAX-1 printable ASCII
 * characters. Returns 0 and fills `out`, or -1. */
int oidc_claim_subject(const json_t *claim, char out[IDP_SUBJECT_MAX]);

#endif
