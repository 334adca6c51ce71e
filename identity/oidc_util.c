/* The pure parts of the `oidc` provider (include/balie/oidc.h): discovery, the level and role
 * maps, PKCE, the request URL and bodies. No network, no clock. */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "balie/jose.h"
#include "balie/oidc.h"

#define ALLOWED_ALGS (JOSE_ALG_RS256 | JOSE_ALG_PS256 | JOSE_ALG_ES256)

bool oidc_url_acceptable(const char *url, bool allow_http)
{
    if (!url)
        return false;
    if (strncmp(url, "https://", 8) == 0)
        return url[8] != '\0' && url[8] != '/' && strlen(url) < OIDC_URL_MAX;
    if (!allow_http || strncmp(url, "http://", 7) != 0 || strlen(url) >= OIDC_URL_MAX)
        return false;
    char host[64];
    const char *h = url + 7;
    size_t n = strcspn(h, ":/?#");
    if (n == 0 || n >= sizeof(host))
        return false;
    memcpy(host, h, n);
    host[n] = '\0';
    return config_is_loopback(host);
}

static int copy_url(const json_t *doc, const char *name, bool allow_http, char *out, size_t out_len,
                    char *why, size_t why_len)
{
    const char *v = json_string_value(json_object_get(doc, name));
    if (!v || !oidc_url_acceptable(v, allow_http) || strlen(v) >= out_len) {
        snprintf(why, why_len, "%s is missing or not an https URL", name);
        return -1;
    }
    snprintf(out, out_len, "%s", v);
    return 0;
}

/* Whether the array `name` holds the string `want`; `absent` when it is not there at all. */
static bool array_has(const json_t *doc, const char *name, const char *want, bool absent)
{
    const json_t *arr = json_object_get(doc, name);
    if (!arr)
        return absent;
    size_t i;
    const json_t *v;
    json_array_foreach(arr, i, v)
    {
        const char *s = json_string_value(v);
        if (s && strcmp(s, want) == 0)
            return true;
    }
    return false;
}

static int discovery_fields(const json_t *doc, const char *expected_issuer, bool allow_http,
                            struct oidc_discovery *out, char *why, size_t why_len)
{
    const char *iss = json_string_value(json_object_get(doc, "issuer"));
    /* Discovery §4.3: the issuer in the document must be exactly the one we asked; otherwise a
     * provider could speak for another (the mix-up and impersonation attacks of RFC 9207). */
    if (!iss || strcmp(iss, expected_issuer) != 0) {
        snprintf(why, why_len, "issuer in the document differs from the configured issuer");
        return -1;
    }
    snprintf(out->issuer, sizeof(out->issuer), "%s", iss);
    if (copy_url(doc, "authorization_endpoint", allow_http, out->authorization_endpoint,
                 sizeof(out->authorization_endpoint), why, why_len) != 0 ||
        copy_url(doc, "token_endpoint", allow_http, out->token_endpoint,
                 sizeof(out->token_endpoint), why, why_len) != 0 ||
        copy_url(doc, "jwks_uri", allow_http, out->jwks_uri, sizeof(out->jwks_uri), why, why_len) !=
            0)
        return -1;
    /* RFC 8414 §2: absent means the provider does not say; a list without S256 means it will
     * not check our PKCE verifier, which the NL GOV profile requires. */
    if (!array_has(doc, "code_challenge_methods_supported", "S256", true)) {
        snprintf(why, why_len, "the provider does not support PKCE with S256");
        return -1;
    }
    static const struct {
        const char *name;
        unsigned bit;
    } algs[] = {{"RS256", JOSE_ALG_RS256}, {"PS256", JOSE_ALG_PS256}, {"ES256", JOSE_ALG_ES256}};
    const json_t *list = json_object_get(doc, "id_token_signing_alg_values_supported");
    for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
        if (!list || array_has(doc, "id_token_signing_alg_values_supported", algs[i].name, false))
            out->alg_mask |= algs[i].bit;
    if (!list && !out->alg_mask)
        out->alg_mask = ALLOWED_ALGS;
    if (!(out->alg_mask & ALLOWED_ALGS)) {
        snprintf(why, why_len, "the provider signs ID tokens with none of RS256, PS256, ES256");
        return -1;
    }
    /* OpenID Connect Discovery §3: the default is client_secret_basic. */
    out->auth_basic_supported =
        array_has(doc, "token_endpoint_auth_methods_supported", "client_secret_basic", true);
    out->auth_private_key_jwt_supported =
        array_has(doc, "token_endpoint_auth_methods_supported", "private_key_jwt", false);
    out->iss_parameter_supported =
        json_is_true(json_object_get(doc, "authorization_response_iss_parameter_supported"));
    return 0;
}

int oidc_discovery_parse(const char *json, size_t len, const char *expected_issuer, bool allow_http,
                         struct oidc_discovery *out, char *why, size_t why_len)
{
    memset(out, 0, sizeof(*out));
    json_error_t jerr;
    json_t *doc = json ? json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
    if (!json_is_object(doc)) {
        snprintf(why, why_len, "the discovery document is not a JSON object");
        json_decref(doc);
        return -1;
    }
    int rc = discovery_fields(doc, expected_issuer, allow_http, out, why, why_len);
    json_decref(doc);
    if (rc != 0)
        memset(out, 0, sizeof(*out));
    return rc;
}

/* ---- Maps ---- */

/* The built-in levels. DigiD's SAML classes (Logius, DigiD koppelvlakspecificatie): basis is a
 * password, midden adds an SMS or the app, substantieel is the app with an ID check, hoog the
 * identity card; eIDAS (Regulation 2015/1502) low/substantial/high; eHerkenning's classes. */
static const struct {
    const char *value;
    enum identity_loa loa;
} default_loa[] = {
    {"urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport", LOA_BASIS},
    {"urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract", LOA_MIDDEN},
    {"urn:oasis:names:tc:SAML:2.0:ac:classes:Smartcard", LOA_SUBSTANTIEEL},
    {"urn:oasis:names:tc:SAML:2.0:ac:classes:SmartcardPKI", LOA_HOOG},
    {"http://eidas.europa.eu/LoA/low", LOA_BASIS},
    {"http://eidas.europa.eu/LoA/substantial", LOA_SUBSTANTIEEL},
    {"http://eidas.europa.eu/LoA/high", LOA_HOOG},
    {"urn:etoegang:core:assurance-class:loa2", LOA_BASIS},
    {"urn:etoegang:core:assurance-class:loa2plus", LOA_MIDDEN},
    {"urn:etoegang:core:assurance-class:loa3", LOA_SUBSTANTIEEL},
    {"urn:etoegang:core:assurance-class:loa4", LOA_HOOG},
    {"basis", LOA_BASIS},
    {"midden", LOA_MIDDEN},
    {"substantieel", LOA_SUBSTANTIEEL},
    {"hoog", LOA_HOOG},
};

/* Calls `entry(value, right)` for each "value=right" item of `text` (separated by commas and
 * white space; the last '=' of an item splits it). Returns 0, or -1 with `why`. */
static int map_items(const char *text,
                     int (*entry)(void *ctx, const char *value, const char *right, char *why,
                                  size_t why_len),
                     void *ctx, char *why, size_t why_len)
{
    const char *p = text;
    for (;;) {
        p += strspn(p, ", \t\r\n");
        if (!*p)
            return 0;
        size_t n = strcspn(p, ", \t\r\n");
        char item[OIDC_MAP_VALUE_MAX + IDP_SERVICES_MAX];
        if (n >= sizeof(item)) {
            snprintf(why, why_len, "an entry is too long");
            return -1;
        }
        memcpy(item, p, n);
        item[n] = '\0';
        p += n;
        char *eq = strrchr(item, '=');
        if (!eq || eq == item || !eq[1] || (size_t)(eq - item) >= OIDC_MAP_VALUE_MAX) {
            snprintf(why, why_len, "'%.60s' is not value=…", item);
            return -1;
        }
        *eq = '\0';
        if (entry(ctx, item, eq + 1, why, why_len) != 0)
            return -1;
    }
}

static int loa_entry(void *ctx, const char *value, const char *right, char *why, size_t why_len)
{
    struct oidc_loa_map *m = ctx;
    enum identity_loa loa;
    if (identity_loa_parse(right, &loa) != 0) {
        snprintf(why, why_len, "'%.40s' is not basis, midden, substantieel or hoog", right);
        return -1;
    }
    if (m->count == OIDC_MAP_ENTRIES) {
        snprintf(why, why_len, "more than %d entries", OIDC_MAP_ENTRIES);
        return -1;
    }
    snprintf(m->entries[m->count].value, OIDC_MAP_VALUE_MAX, "%s", value);
    m->entries[m->count++].loa = loa;
    return 0;
}

int oidc_loa_map_parse(const char *text, struct oidc_loa_map *out, char *why, size_t why_len)
{
    memset(out, 0, sizeof(*out));
    if (!text || !text[strspn(text, ", \t\r\n")]) {
        for (size_t i = 0; i < sizeof(default_loa) / sizeof(default_loa[0]); i++) {
            snprintf(out->entries[i].value, OIDC_MAP_VALUE_MAX, "%s", default_loa[i].value);
            out->entries[i].loa = default_loa[i].loa;
        }
        out->count = sizeof(default_loa) / sizeof(default_loa[0]);
        return 0;
    }
    return map_items(text, loa_entry, out, why, why_len);
}

int oidc_loa_lookup(const struct oidc_loa_map *map, const char *value, enum identity_loa *out)
{
    for (size_t i = 0; value && i < map->count; i++) {
        if (strcmp(map->entries[i].value, value) == 0) {
            *out = map->entries[i].loa;
            return 0;
        }
    }
    return -1;
}

struct role_ctx {
    struct oidc_role_map *map;
    const struct balie_config *cfg;
};

static int role_entry(void *ctx, const char *value, const char *right, char *why, size_t why_len)
{
    struct role_ctx *rc = ctx;
    struct oidc_role_map *m = rc->map;
    if (m->count == OIDC_ROLES_MAX) {
        snprintf(why, why_len, "more than %d roles", OIDC_ROLES_MAX);
        return -1;
    }
    char *svc = m->entries[m->count].services;
    if (strcmp(right, "*") == 0) {
        strcpy(svc, "*");
    } else {
        size_t at = 0;
        for (const char *p = right; *p;) {
            size_t n = strcspn(p, "|");
            char id[CONFIG_SERVICE_ID_MAX];
            if (n == 0 || n >= sizeof(id) || at + n + 2 > IDP_SERVICES_MAX) {
                snprintf(why, why_len, "role '%.40s': bad service list", value);
                return -1;
            }
            memcpy(id, p, n);
            id[n] = '\0';
            if (rc->cfg && !config_service_find(rc->cfg, id)) {
                snprintf(why, why_len, "role '%.40s': no service '%s'", value, id);
                return -1;
            }
            at += (size_t)snprintf(svc + at, IDP_SERVICES_MAX - at, "%s%s", at ? "," : "", id);
            p += n + (p[n] == '|');
        }
    }
    snprintf(m->entries[m->count++].value, OIDC_MAP_VALUE_MAX, "%s", value);
    return 0;
}

int oidc_role_map_parse(const char *text, const struct balie_config *cfg, struct oidc_role_map *out,
                        char *why, size_t why_len)
{
    memset(out, 0, sizeof(*out));
    struct role_ctx ctx = {out, cfg};
    if (map_items(text ? text : "", role_entry, &ctx, why, why_len) != 0)
        return -1;
    if (out->count == 0) {
        snprintf(why, why_len, "the role map is empty");
        return -1;
    }
    return 0;
}

/* Adds the ids of `list` ("id,id") to `out` unless already there. */
static int add_services(const char *list, char *out, size_t out_len)
{
    for (const char *p = list; *p;) {
        size_t n = strcspn(p, ",");
        bool have = false;
        for (const char *q = out; *q && !have;) {
            size_t m = strcspn(q, ",");
            have = m == n && strncmp(p, q, n) == 0;
            q += m + (q[m] == ',');
        }
        size_t at = strlen(out);
        if (!have) {
            if (at + n + 2 > out_len)
                return -1;
            snprintf(out + at, out_len - at, "%s%.*s", at ? "," : "", (int)n, p);
        }
        p += n + (p[n] == ',');
    }
    return 0;
}

int oidc_role_services(const struct oidc_role_map *map, const json_t *claim, char *out,
                       size_t out_len)
{
    out[0] = '\0';
    bool matched = false, all = false;
    size_t n = json_is_array(claim) ? json_array_size(claim) : json_is_string(claim) ? 1 : 0;
    for (size_t i = 0; i < n && i < 64; i++) {
        const char *v = json_string_value(json_is_array(claim) ? json_array_get(claim, i) : claim);
        for (size_t k = 0; v && k < map->count; k++) {
            if (strcmp(map->entries[k].value, v) != 0)
                continue;
            matched = true;
            if (strcmp(map->entries[k].services, "*") == 0)
                all = true;
            else if (add_services(map->entries[k].services, out, out_len) != 0)
                return -1;
        }
    }
    if (all)
        out[0] = '\0';
    return matched ? 0 : -1;
}

/* ---- PKCE, URLs, bodies ---- */

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int oidc_pkce_challenge(const char *verifier, char out[OIDC_CHALLENGE_LEN + 1])
{
    size_t n = verifier ? strlen(verifier) : 0;
    out[0] = '\0';
    if (n < 43 || n > 128)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char c = verifier[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '_' || c == '~'))
            return -1;
    }
    unsigned char d[SHA256_DIGEST_LENGTH + 1] = {0}; /* one spare zero byte for the last group */
    SHA256((const unsigned char *)verifier, n, d);
    size_t o = 0;
    for (size_t i = 0; i < SHA256_DIGEST_LENGTH; i += 3) {
        unsigned v = (unsigned)d[i] << 16 | (unsigned)d[i + 1] << 8 |
                     (i + 2 < SHA256_DIGEST_LENGTH ? d[i + 2] : 0);
        out[o++] = b64url[v >> 18 & 63];
        out[o++] = b64url[v >> 12 & 63];
        out[o++] = b64url[v >> 6 & 63];
        if (i + 2 < SHA256_DIGEST_LENGTH)
            out[o++] = b64url[v & 63];
    }
    out[o] = '\0'; /* 32 bytes: ten groups of four and one of three, 43 characters */
    return 0;
}

long oidc_form_encode(const char *in, char *out, size_t out_len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    for (const unsigned char *c = (const unsigned char *)in; *c; c++) {
        bool plain = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                     (*c >= '0' && *c <= '9') || *c == '-' || *c == '.' || *c == '_' || *c == '~';
        if (n + (plain ? 1 : 3) >= out_len)
            return -1;
        if (plain) {
            out[n++] = (char)*c;
        } else {
            out[n++] = '%';
            out[n++] = hex[*c >> 4];
            out[n++] = hex[*c & 15];
        }
    }
    if (out_len == 0)
        return -1;
    out[n] = '\0';
    return (long)n;
}

/* Appends "<sep>name=<encoded value>" at out+*at. */
static int add_param(char *out, size_t out_len, size_t *at, const char *name, const char *value)
{
    bool first = *at == 0 || out[*at - 1] == '?';
    int n = snprintf(out + *at, out_len - *at, "%s%s=", first ? "" : "&", name);
    if (n < 0 || (size_t)n >= out_len - *at)
        return -1;
    *at += (size_t)n;
    long m = oidc_form_encode(value, out + *at, out_len - *at);
    if (m < 0)
        return -1;
    *at += (size_t)m;
    return 0;
}

int oidc_authorize_url(const struct oidc_authz_request *r, char *out, size_t out_len)
{
    /* An endpoint with a query keeps it (RFC 6749 §3.1); add_param then starts with '&'. */
    int n = snprintf(out, out_len, "%s%s", r->endpoint, strchr(r->endpoint, '?') ? "" : "?");
    if (n < 0 || (size_t)n >= out_len)
        return -1;
    size_t at = (size_t)n;
    if (add_param(out, out_len, &at, "response_type", "code") != 0 ||
        add_param(out, out_len, &at, "client_id", r->client_id) != 0 ||
        add_param(out, out_len, &at, "redirect_uri", r->redirect_uri) != 0 ||
        add_param(out, out_len, &at, "scope", r->scope) != 0 ||
        add_param(out, out_len, &at, "state", r->state) != 0 ||
        add_param(out, out_len, &at, "nonce", r->nonce) != 0 ||
        add_param(out, out_len, &at, "code_challenge", r->code_challenge) != 0 ||
        add_param(out, out_len, &at, "code_challenge_method", "S256") != 0)
        return -1;
    if (r->acr_values && r->acr_values[0] &&
        add_param(out, out_len, &at, "acr_values", r->acr_values) != 0)
        return -1;
    return 0;
}

int oidc_token_body(const char *code, const char *redirect_uri, const char *verifier,
                    const char *client_id, const char *assertion, char *out, size_t out_len)
{
    size_t at = 0;
    if (out_len == 0)
        return -1;
    out[0] = '\0';
    if (add_param(out, out_len, &at, "grant_type", "authorization_code") != 0 ||
        add_param(out, out_len, &at, "code", code) != 0 ||
        add_param(out, out_len, &at, "redirect_uri", redirect_uri) != 0 ||
        add_param(out, out_len, &at, "code_verifier", verifier) != 0)
        return -1;
    if (assertion && (add_param(out, out_len, &at, "client_id", client_id) != 0 ||
                      add_param(out, out_len, &at, "client_assertion_type",
                                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer") != 0 ||
                      add_param(out, out_len, &at, "client_assertion", assertion) != 0))
        return -1;
    return 0;
}

int oidc_extra_pack(const char *verifier, const char *nonce, char *extra, size_t extra_len)
{
    int n = snprintf(extra, extra_len, "%s %s", verifier, nonce);
    return n > 0 && (size_t)n < extra_len ? 0 : -1;
}

int oidc_extra_unpack(const char *extra, char verifier[IDP_STATE_LEN + 1],
                      char nonce[IDP_STATE_LEN + 1])
{
    const char *sp = strchr(extra, ' ');
    size_t vl = sp ? (size_t)(sp - extra) : 0;
    size_t nl = sp ? strlen(sp + 1) : 0;
    if (vl == 0 || vl > IDP_STATE_LEN || nl == 0 || nl > IDP_STATE_LEN)
        return -1;
    memcpy(verifier, extra, vl);
    verifier[vl] = '\0';
    memcpy(nonce, sp + 1, nl + 1);
    return 0;
}

enum oidc_iss_result oidc_check_callback_iss(const char *iss_param, const char *issuer,
                                             bool iss_supported)
{
    if (!iss_param)
        return iss_supported ? OIDC_ISS_MISSING : OIDC_ISS_OK;
    /* RFC 9207 §2.4: simple string comparison (RFC 3986 §6.2.1), no normalisation. */
    return strcmp(iss_param, issuer) == 0 ? OIDC_ISS_OK : OIDC_ISS_MISMATCH;
}

int oidc_claim_subject(const json_t *claim, char out[IDP_SUBJECT_MAX])
{
    out[0] = '\0';
    if (json_is_integer(claim) && json_integer_value(claim) >= 0) {
        snprintf(out, IDP_SUBJECT_MAX, "%lld", (long long)json_integer_value(claim));
        return 0;
    }
    const char *s = json_string_value(claim);
    size_t n = s ? json_string_length(claim) : 0;
    if (n == 0 || n >= IDP_SUBJECT_MAX)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x21 || s[i] > 0x7e)
            return -1;
    memcpy(out, s, n + 1);
    return 0;
}

static bool number_claim(const json_t *payload, const char *name, double *out)
{
    const json_t *v = json_object_get(payload, name);
    if (!json_is_number(v))
        return false;
    *out = json_number_value(v);
    return true;
}

/* aud is the client, alone or in a list; with several audiences azp names us (§3.1.3.7 items 3-5);
 * an azp that is there must be us either way. */
static const char *check_audience(const json_t *payload, const char *client_id)
{
    const json_t *aud = json_object_get(payload, "aud");
    bool ours = false;
    size_t count = 1;
    if (json_is_string(aud)) {
        ours = strcmp(json_string_value(aud), client_id) == 0;
    } else if (json_is_array(aud)) {
        size_t i;
        const json_t *v;
        count = json_array_size(aud);
        json_array_foreach(aud, i, v) ours =
            ours || (json_is_string(v) && strcmp(json_string_value(v), client_id) == 0);
    }
    if (!ours)
        return "aud_mismatch";
    const json_t *azp = json_object_get(payload, "azp");
    if (azp && (!json_is_string(azp) || strcmp(json_string_value(azp), client_id) != 0))
        return "azp_mismatch";
    if (count > 1 && !azp)
        return "azp_mismatch";
    return NULL;
}

const char *oidc_check_id_claims(const json_t *payload, const struct oidc_claims_expect *e)
{
    const char *iss = json_string_value(json_object_get(payload, "iss"));
    if (!iss || strcmp(iss, e->issuer) != 0)
        return "iss_mismatch";
    const char *why = check_audience(payload, e->client_id);
    if (why)
        return why;
    /* The nonce binds the token to this browser's login (§3.1.3.7 item 11, §15.5.2). */
    const json_t *nonce = json_object_get(payload, "nonce");
    size_t want = strlen(e->nonce);
    if (!json_is_string(nonce) || json_string_length(nonce) != want ||
        CRYPTO_memcmp(json_string_value(nonce), e->nonce, want) != 0)
        return "nonce_mismatch";
    double exp, iat, nbf;
    double now = (double)e->now_s, skew = (double)e->skew_s;
    if (!number_claim(payload, "exp", &exp) || now >= exp + skew)
        return "token_expired";
    if (!number_claim(payload, "iat", &iat) || iat > now + skew)
        return "token_not_yet_valid";
    if (now - iat > (double)e->max_age_s + skew)
        return "token_too_old";
    if (json_object_get(payload, "nbf") &&
        (!number_claim(payload, "nbf", &nbf) || nbf > now + skew))
        return "token_not_yet_valid";
    return NULL;
}

int oidc_claim_display_name(const json_t *claim, char out[IDP_DISPLAY_NAME_MAX])
{
    out[0] = '\0';
    const unsigned char *s = (const unsigned char *)json_string_value(claim);
    size_t n = s ? json_string_length(claim) : 0;
    if (n == 0 || n >= IDP_DISPLAY_NAME_MAX)
        return -1;
    for (size_t i = 0; i < n; i++) {
        /* C0 controls, DEL, and C1 controls (U+0080..U+009F are C2 80..C2 9F in UTF-8). */
        if (s[i] < 0x20 || s[i] == 0x7f || (s[i] == 0xc2 && i + 1 < n && s[i + 1] < 0xa0))
            return -1;
    }
    memcpy(out, s, n + 1);
    return 0;
}
