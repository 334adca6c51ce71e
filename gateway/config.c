#include "balie/config.h"
#include "balie/opening_hours.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

enum key_type { KEY_STRING, KEY_INT, KEY_BOOL, KEY_ENUM };

struct key_def {
    const char *section;
    const char *key;
    enum key_type type;
    size_t offset;
    size_t size;       /* for strings: the buffer size */
    long min, max;     /* for ints */
    const char *enums; /* for enums: "a|b|c" */
    const char *def;   /* default, as it would be written in the file */
};

#define F(field) offsetof(struct balie_config, field), sizeof(((struct balie_config *)0)->field)

static const struct key_def keys[] = {
    {"general", "environment", KEY_ENUM, F(general.environment), 0, 0, "development|production",
     "development"},
    {"general", "data_dir", KEY_STRING, F(general.data_dir), 0, 0, NULL, "./data"},
    {"log", "level", KEY_ENUM, F(log.level), 0, 0, "debug|info|warn|error", "info"},
    {"http", "listen", KEY_STRING, F(http.listen), 0, 0, NULL, "127.0.0.1"},
    {"http", "port", KEY_INT, F(http.port), 0, 65535, NULL, "8080"},
    {"http", "public_url", KEY_STRING, F(http.public_url), 0, 0, NULL, ""},
    {"http", "tls_cert", KEY_STRING, F(http.tls_cert), 0, 0, NULL, ""},
    {"http", "tls_key", KEY_STRING, F(http.tls_key), 0, 0, NULL, ""},
    {"http", "behind_proxy", KEY_BOOL, F(http.behind_proxy), 0, 0, NULL, "false"},
    {"http", "allowed_origins", KEY_STRING, F(http.allowed_origins), 0, 0, NULL, ""},
    {"http", "web_root", KEY_STRING, F(http.web_root), 0, 0, NULL, ""},
    {"http", "trusted_proxies", KEY_STRING, F(http.trusted_proxies), 0, 0, NULL, ""},
    {"media", "workers", KEY_INT, F(media.workers), 0, 256, NULL, "0"},
    {"media", "bind", KEY_STRING, F(media.bind), 0, 0, NULL, "127.0.0.1"},
    {"media", "port_base", KEY_INT, F(media.port_base), 0, 65535, NULL, "10000"},
    {"media", "announce", KEY_STRING, F(media.announce), 0, 0, NULL, ""},
    {"media", "socket_buffer_kb", KEY_INT, F(media.socket_buffer_kb), 256, 262144, NULL, "16384"},
    {"turn", "urls", KEY_STRING, F(turn.urls), 0, 0, NULL, ""},
    {"turn", "secret", KEY_STRING, F(turn.secret), 0, 0, NULL, ""},
    {"turn", "ttl_s", KEY_INT, F(turn.ttl_s), 60, 7 * 86400, NULL, "3600"},
    {"shutdown", "grace_s", KEY_INT, F(shutdown.grace_s), 0, 86400, NULL, "30"},
    {"reconnect", "grace_s", KEY_INT, F(reconnect.grace_s), 0, 600, NULL, "30"},
    {"identity", "dev_provider", KEY_ENUM, F(identity.dev_provider), 0, 0, "auto|true|false",
     "auto"},
    {"identity", "pseudonym_secret", KEY_STRING, F(identity.pseudonym_secret), 0, 0, NULL, ""},
    {"identity", "users_file", KEY_STRING, F(identity.users_file), 0, 0, NULL, ""},
    {"identity", "local_provider", KEY_ENUM, F(identity.local_provider), 0, 0, "auto|true|false",
     "auto"},
    {"identity", "show_citizen_name", KEY_BOOL, F(identity.show_citizen_name), 0, 0, NULL, "false"},
    {"admin", "token_file", KEY_STRING, F(admin.token_file), 0, 0, NULL, ""},
    {"journey", "retention_days", KEY_INT, F(journey.retention_days), 1, 36500, NULL, "365"},
    {"journey", "service_level_s", KEY_INT, F(journey.service_level_s), 1, 3600, NULL, "60"},
    {"journey", "no_agent_timeout_s", KEY_INT, F(journey.no_agent_timeout_s), 0, 86400, NULL, "0"},
    {"journey", "webhook_url", KEY_STRING, F(journey.webhook_url), 0, 0, NULL, ""},
    {"journey", "webhook_format", KEY_ENUM, F(journey.webhook_format), 0, 0,
     "klantinteracties|cloudevents", "klantinteracties"},
    {"journey", "webhook_token_file", KEY_STRING, F(journey.webhook_token_file), 0, 0, NULL, ""},
    {"journey", "webhook_auth_scheme", KEY_STRING, F(journey.webhook_auth_scheme), 0, 0, NULL,
     "Bearer"},
    {"journey", "webhook_window", KEY_INT, F(journey.webhook_window), 1, 16, NULL, "4"},
    {"journey", "webhook_timeout_s", KEY_INT, F(journey.webhook_timeout_s), 1, 300, NULL, "10"},
    {"journey", "webhook_retry_max_s", KEY_INT, F(journey.webhook_retry_max_s), 1, 86400, NULL,
     "3600"},
    {"journey", "context_issuer", KEY_STRING, F(journey.context_issuer), 0, 0, NULL, ""},
    {"journey", "context_key_file", KEY_STRING, F(journey.context_key_file), 0, 0, NULL, ""},
    {"journey", "context_audience", KEY_STRING, F(journey.context_audience), 0, 0, NULL, ""},
};
#define KEY_COUNT (sizeof(keys) / sizeof(keys[0]))

/* Keys of a `[service.<id>]` section. */
#define S(field) offsetof(struct config_service, field), sizeof(((struct config_service *)0)->field)
static const struct key_def service_keys[] = {
    {"service.<id>", "name_nl", KEY_STRING, S(name_nl), 0, 0, NULL, ""},
    {"service.<id>", "name_en", KEY_STRING, S(name_en), 0, 0, NULL, ""},
    {"service.<id>", "min_loa", KEY_ENUM, S(min_loa), 0, 0, "basis|midden|substantieel|hoog",
     "midden"},
    {"service.<id>", "opening_hours", KEY_STRING, S(opening_hours), 0, 0, NULL, ""},
    {"service.<id>", "closed_days", KEY_STRING, S(closed_days), 0, 0, NULL, ""},
};
#define SERVICE_KEY_COUNT (sizeof(service_keys) / sizeof(service_keys[0]))

/* Keys of an `[oidc.<id>]` section (docs/identity.md, OIDC). */
#define O(field) offsetof(struct config_oidc, field), sizeof(((struct config_oidc *)0)->field)
static const struct key_def oidc_keys[] = {
    {"oidc.<id>", "display_name", KEY_STRING, O(display_name), 0, 0, NULL, ""},
    {"oidc.<id>", "issuer", KEY_STRING, O(issuer), 0, 0, NULL, ""},
    {"oidc.<id>", "client_id", KEY_STRING, O(client_id), 0, 0, NULL, ""},
    {"oidc.<id>", "client_secret", KEY_STRING, O(client_secret), 0, 0, NULL, ""},
    {"oidc.<id>", "client_secret_file", KEY_STRING, O(client_secret_file), 0, 0, NULL, ""},
    {"oidc.<id>", "client_auth", KEY_ENUM, O(client_auth), 0, 0,
     "private_key_jwt|client_secret_basic", "private_key_jwt"},
    {"oidc.<id>", "private_key_file", KEY_STRING, O(private_key_file), 0, 0, NULL, ""},
    {"oidc.<id>", "private_key_id", KEY_STRING, O(private_key_id), 0, 0, NULL, ""},
    {"oidc.<id>", "redirect_uri", KEY_STRING, O(redirect_uri), 0, 0, NULL, ""},
    {"oidc.<id>", "scope", KEY_STRING, O(scope), 0, 0, NULL, "openid"},
    {"oidc.<id>", "acr_values", KEY_STRING, O(acr_values), 0, 0, NULL, ""},
    {"oidc.<id>", "subject_claim", KEY_STRING, O(subject_claim), 0, 0, NULL, "sub"},
    {"oidc.<id>", "loa_claim", KEY_STRING, O(loa_claim), 0, 0, NULL, "acr"},
    {"oidc.<id>", "loa_map", KEY_STRING, O(loa_map), 0, 0, NULL, ""},
    {"oidc.<id>", "role", KEY_ENUM, O(role), 0, 0, "citizen|agent", "citizen"},
    {"oidc.<id>", "role_claim", KEY_STRING, O(role_claim), 0, 0, NULL, "roles"},
    {"oidc.<id>", "role_map", KEY_STRING, O(role_map), 0, 0, NULL, ""},
    {"oidc.<id>", "display_name_claim", KEY_STRING, O(display_name_claim), 0, 0, NULL, ""},
    {"oidc.<id>", "ca_file", KEY_STRING, O(ca_file), 0, 0, NULL, ""},
};
#define OIDC_KEY_COUNT (sizeof(oidc_keys) / sizeof(oidc_keys[0]))

/* Keys of a `[saml.<id>]` section (docs/identity.md, "SAML"). */
#define SA(field) offsetof(struct config_saml, field), sizeof(((struct config_saml *)0)->field)
static const struct key_def saml_keys[] = {
    {"saml.<id>", "idp_metadata_file", KEY_STRING, SA(idp_metadata_file), 0, 0, NULL, ""},
    {"saml.<id>", "sp_entity_id", KEY_STRING, SA(sp_entity_id), 0, 0, NULL, ""},
    {"saml.<id>", "acs_url", KEY_STRING, SA(acs_url), 0, 0, NULL, ""},
    {"saml.<id>", "sp_key_file", KEY_STRING, SA(sp_key_file), 0, 0, NULL, ""},
    {"saml.<id>", "sp_cert_file", KEY_STRING, SA(sp_cert_file), 0, 0, NULL, ""},
    {"saml.<id>", "tls_client_cert", KEY_STRING, SA(tls_client_cert), 0, 0, NULL, ""},
    {"saml.<id>", "tls_client_key", KEY_STRING, SA(tls_client_key), 0, 0, NULL, ""},
    {"saml.<id>", "tls_ca_file", KEY_STRING, SA(tls_ca_file), 0, 0, NULL, ""},
    {"saml.<id>", "sector", KEY_STRING, SA(sector), 0, 0, NULL, "s00000000"},
    {"saml.<id>", "loa_map", KEY_STRING, SA(loa_map), 0, 0, NULL,
     "PasswordProtectedTransport=basis,MobileTwoFactorContract=midden,Smartcard=substantieel,"
     "SmartcardPKI=hoog"},
    {"saml.<id>", "display_name", KEY_STRING, SA(display_name), 0, 0, NULL, "DigiD"},
    {"saml.<id>", "binding", KEY_ENUM, SA(binding), 0, 0, "post|artifact", "artifact"},
    {"saml.<id>", "clock_skew_s", KEY_INT, SA(clock_skew_s), 0, 600, NULL, "60"},
    {"saml.<id>", "force_authn", KEY_BOOL, SA(force_authn), 0, 0, NULL, "false"},
};
#define SAML_KEY_COUNT (sizeof(saml_keys) / sizeof(saml_keys[0]))

static void add_error(struct config_errors *errors, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void add_error(struct config_errors *errors, const char *fmt, ...)
{
    if (!errors || errors->count >= CONFIG_MAX_ERRORS) {
        if (errors)
            errors->count++; /* still counted, so callers never see success */
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errors->messages[errors->count], sizeof(errors->messages[0]), fmt, ap);
    va_end(ap);
    errors->count++;
}

static const struct key_def *find_key(const char *section, const char *key)
{
    for (size_t i = 0; i < KEY_COUNT; i++)
        if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].key, key) == 0)
            return &keys[i];
    return NULL;
}

static bool section_exists(const char *section)
{
    for (size_t i = 0; i < KEY_COUNT; i++)
        if (strcmp(keys[i].section, section) == 0)
            return true;
    return false;
}

static bool enum_allows(const char *allowed, const char *value)
{
    size_t n = strlen(value);
    const char *p = allowed;
    while (*p) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, value, n) == 0)
            return true;
        if (!bar)
            break;
        p = bar + 1;
    }
    return false;
}

/* Stores `value` into the field of `def`. On a bad value, writes why into `why`. */
static int set_value(void *base, const struct key_def *def, const char *value, char *why,
                     size_t why_len)
{
    char *field = (char *)base + def->offset;
    switch (def->type) {
    case KEY_STRING:
        if (strlen(value) >= def->size) {
            snprintf(why, why_len, "value is longer than %zu characters", def->size - 1);
            return -1;
        }
        strcpy(field, value);
        return 0;
    case KEY_ENUM:
        if (!enum_allows(def->enums, value)) {
            snprintf(why, why_len, "'%s' is not one of %s", value, def->enums);
            return -1;
        }
        strcpy(field, value);
        return 0;
    case KEY_INT: {
        char *end;
        errno = 0;
        long v = strtol(value, &end, 10);
        if (*value == '\0' || *end != '\0' || errno != 0) {
            snprintf(why, why_len, "'%s' is not a whole number", value);
            return -1;
        }
        if (v < def->min || v > def->max) {
            snprintf(why, why_len, "%ld is outside %ld..%ld", v, def->min, def->max);
            return -1;
        }
        *(int *)(void *)field = (int)v;
        return 0;
    }
    case KEY_BOOL:
        if (strcmp(value, "true") == 0 || strcmp(value, "false") == 0) {
            *(bool *)(void *)field = value[0] == 't';
            return 0;
        }
        snprintf(why, why_len, "'%s' is not true or false", value);
        return -1;
    }
    return -1;
}

/* The key named `key` in one of the per-section tables (services, OIDC, SAML), or NULL. */
static const struct key_def *find_in(const struct key_def *table, size_t count, const char *key)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp(table[i].key, key) == 0)
            return &table[i];
    return NULL;
}

static bool valid_service_id(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n >= CONFIG_SERVICE_ID_MAX)
        return false;
    for (const char *p = id; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
            return false;
    return true;
}

/* Finds or adds the service `id`. Returns NULL (with `why`) for a bad id or a full table. */
static struct config_service *service_slot(struct balie_config *cfg, const char *id, char *why,
                                           size_t why_len)
{
    if (!valid_service_id(id)) {
        snprintf(why, why_len, "service id '%s' must be 1-31 characters of a-z, 0-9 and -", id);
        return NULL;
    }
    for (int i = 0; i < cfg->service_count; i++)
        if (strcmp(cfg->services[i].id, id) == 0)
            return &cfg->services[i];
    if (cfg->service_count == CONFIG_MAX_SERVICES) {
        snprintf(why, why_len, "more than %d services", CONFIG_MAX_SERVICES);
        return NULL;
    }
    struct config_service *svc = &cfg->services[cfg->service_count++];
    memset(svc, 0, sizeof(*svc));
    strcpy(svc->id, id);
    for (size_t i = 0; i < SERVICE_KEY_COUNT; i++)
        (void)set_value(svc, &service_keys[i], service_keys[i].def, why, why_len);
    return svc;
}

/* Finds or adds the OpenID Provider `id`. "dev" is the built-in test login's. */
static struct config_oidc *oidc_slot(struct balie_config *cfg, const char *id, char *why,
                                     size_t why_len)
{
    if (!valid_service_id(id) || strlen(id) >= CONFIG_OIDC_ID_MAX || strcmp(id, "dev") == 0) {
        snprintf(why, why_len,
                 "provider id '%s' must be 1-15 characters of a-z, 0-9 and -, and not 'dev'", id);
        return NULL;
    }
    for (int i = 0; i < cfg->oidc_count; i++)
        if (strcmp(cfg->oidc[i].id, id) == 0)
            return &cfg->oidc[i];
    if (cfg->oidc_count == CONFIG_MAX_OIDC) {
        snprintf(why, why_len, "more than %d OpenID Providers", CONFIG_MAX_OIDC);
        return NULL;
    }
    struct config_oidc *oc = &cfg->oidc[cfg->oidc_count++];
    memset(oc, 0, sizeof(*oc));
    strcpy(oc->id, id);
    for (size_t i = 0; i < OIDC_KEY_COUNT; i++)
        (void)set_value(oc, &oidc_keys[i], oidc_keys[i].def, why, why_len);
    return oc;
}

/* Finds or adds the SAML provider `id` (not "dev", which is the test login). */
static struct config_saml *saml_slot(struct balie_config *cfg, const char *id, char *why,
                                     size_t why_len)
{
    if (!valid_service_id(id) || strlen(id) >= CONFIG_SAML_ID_MAX || strcmp(id, "dev") == 0) {
        snprintf(why, why_len,
                 "provider id '%s' must be 1-15 characters of a-z, 0-9 and -, not dev", id);
        return NULL;
    }
    for (int i = 0; i < cfg->saml_count; i++)
        if (strcmp(cfg->saml[i].id, id) == 0)
            return &cfg->saml[i];
    if (cfg->saml_count == CONFIG_MAX_SAML) {
        snprintf(why, why_len, "more than %d SAML providers", CONFIG_MAX_SAML);
        return NULL;
    }
    struct config_saml *sa = &cfg->saml[cfg->saml_count++];
    memset(sa, 0, sizeof(*sa));
    strcpy(sa->id, id);
    for (size_t i = 0; i < SAML_KEY_COUNT; i++)
        (void)set_value(sa, &saml_keys[i], saml_keys[i].def, why, why_len);
    return sa;
}

const struct config_key_info *config_saml_keys(size_t *count)
{
    static struct config_key_info info[SAML_KEY_COUNT];
    for (size_t i = 0; i < SAML_KEY_COUNT; i++) {
        info[i].section = saml_keys[i].section;
        info[i].key = saml_keys[i].key;
        info[i].default_text = saml_keys[i].def;
    }
    *count = SAML_KEY_COUNT;
    return info;
}

const struct config_key_info *config_oidc_keys(size_t *count)
{
    static struct config_key_info info[OIDC_KEY_COUNT];
    for (size_t i = 0; i < OIDC_KEY_COUNT; i++) {
        info[i].section = oidc_keys[i].section;
        info[i].key = oidc_keys[i].key;
        info[i].default_text = oidc_keys[i].def;
    }
    *count = OIDC_KEY_COUNT;
    return info;
}

const struct config_service *config_service_find(const struct balie_config *cfg, const char *id)
{
    for (int i = 0; i < cfg->service_count; i++)
        if (strcmp(cfg->services[i].id, id) == 0)
            return &cfg->services[i];
    return NULL;
}

void config_defaults(struct balie_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    char why[128];
    for (size_t i = 0; i < KEY_COUNT; i++)
        (void)set_value(cfg, &keys[i], keys[i].def, why, sizeof(why));
}

const struct config_key_info *config_keys(size_t *count)
{
    static struct config_key_info info[KEY_COUNT];
    for (size_t i = 0; i < KEY_COUNT; i++) {
        info[i].section = keys[i].section;
        info[i].key = keys[i].key;
        info[i].default_text = keys[i].def;
    }
    *count = KEY_COUNT;
    return info;
}

static const char *skip_space(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    return p;
}

/* Parses the value part of a line (after '='). Returns 0 and fills `out`, or -1 with `why`. */
static int parse_value(const char *p, const char *end, char *out, size_t out_len, char *why,
                       size_t why_len)
{
    size_t n = 0;
    p = skip_space(p, end);
    if (p < end && *p == '"') {
        p++;
        for (;;) {
            if (p >= end) {
                snprintf(why, why_len, "unterminated quoted string");
                return -1;
            }
            char c = *p++;
            if (c == '"')
                break;
            if (c == '\\') {
                if (p >= end || (*p != '"' && *p != '\\')) {
                    snprintf(why, why_len, "only \\\" and \\\\ escapes are allowed");
                    return -1;
                }
                c = *p++;
            }
            if (n + 1 >= out_len) {
                snprintf(why, why_len, "value is too long");
                return -1;
            }
            out[n++] = c;
        }
    } else {
        while (p < end && *p != '#' && *p != ' ' && *p != '\t') {
            if (n + 1 >= out_len) {
                snprintf(why, why_len, "value is too long");
                return -1;
            }
            out[n++] = *p++;
        }
        if (n == 0) {
            snprintf(why, why_len, "missing value (use \"\" for an empty string)");
            return -1;
        }
    }
    out[n] = '\0';
    p = skip_space(p, end);
    if (p < end && *p != '#') {
        snprintf(why, why_len, "unexpected text after the value");
        return -1;
    }
    return 0;
}

static bool is_name_char(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

int config_parse_text(struct balie_config *cfg, const char *source_name, const char *text,
                      size_t len, struct config_errors *errors)
{
    int before = errors ? errors->count : 0;
    int added = 0;
    char section[64] = "";
    bool section_ok = false;
    struct config_service *service = NULL;
    struct config_oidc *oidc = NULL;
    struct config_saml *saml = NULL;
    const char *p = text, *text_end = text + len;

    for (int line = 1; p < text_end; line++) {
        const char *eol = memchr(p, '\n', (size_t)(text_end - p));
        const char *end = eol ? eol : text_end;
        const char *next = eol ? eol + 1 : text_end;
        if (end > p && end[-1] == '\r')
            end--;
        const char *q = skip_space(p, end);
        p = next;
        if (q == end || *q == '#')
            continue;

        if (memchr(q, '\0', (size_t)(end - q))) {
            add_error(errors, "%s:%d: the line contains a NUL byte", source_name, line);
            added++;
            continue;
        }

        if (*q == '[') {
            const char *close = memchr(q, ']', (size_t)(end - q));
            size_t n = close ? (size_t)(close - q - 1) : 0;
            const char *after = close ? skip_space(close + 1, end) : end;
            if (!close || n == 0 || n >= sizeof(section) || (after < end && *after != '#')) {
                add_error(errors, "%s:%d: malformed section header", source_name, line);
                added++;
                section_ok = false;
                continue;
            }
            memcpy(section, q + 1, n);
            section[n] = '\0';
            service = NULL;
            oidc = NULL;
            saml = NULL;
            if (strncmp(section, "saml.", 5) == 0) {
                char why[160];
                saml = saml_slot(cfg, section + 5, why, sizeof(why));
                section_ok = saml != NULL;
                if (!saml) {
                    add_error(errors, "%s:%d: [%s]: %s", source_name, line, section, why);
                    added++;
                }
                continue;
            }
            if (strncmp(section, "oidc.", 5) == 0) {
                char why[160];
                oidc = oidc_slot(cfg, section + 5, why, sizeof(why));
                section_ok = oidc != NULL;
                if (!oidc) {
                    add_error(errors, "%s:%d: [%s]: %s", source_name, line, section, why);
                    added++;
                }
                continue;
            }
            if (strncmp(section, "service.", 8) == 0) {
                char why[160];
                service = service_slot(cfg, section + 8, why, sizeof(why));
                section_ok = service != NULL;
                if (!service) {
                    add_error(errors, "%s:%d: [%s]: %s", source_name, line, section, why);
                    added++;
                }
                continue;
            }
            section_ok = section_exists(section);
            if (!section_ok) {
                add_error(errors, "%s:%d: unknown section [%s]", source_name, line, section);
                added++;
            }
            continue;
        }

        char key[64];
        size_t kn = 0;
        while (q < end && is_name_char(*q) && kn + 1 < sizeof(key))
            key[kn++] = *q++;
        key[kn] = '\0';
        q = skip_space(q, end);
        if (kn == 0 || q >= end || *q != '=') {
            add_error(errors, "%s:%d: expected 'key = value'", source_name, line);
            added++;
            continue;
        }
        if (section[0] == '\0') {
            add_error(errors, "%s:%d: key '%s' comes before any [section]", source_name, line, key);
            added++;
            continue;
        }
        if (!section_ok)
            continue; /* already reported the section */

        const struct key_def *def = service ? find_in(service_keys, SERVICE_KEY_COUNT, key)
                                    : oidc  ? find_in(oidc_keys, OIDC_KEY_COUNT, key)
                                    : saml  ? find_in(saml_keys, SAML_KEY_COUNT, key)
                                            : find_key(section, key);
        if (!def) {
            add_error(errors, "%s:%d: unknown key '%s' in [%s]", source_name, line, key, section);
            added++;
            continue;
        }
        char value[CONFIG_STR_MAX * 4];
        char why[160];
        if (parse_value(q + 1, end, value, sizeof(value), why, sizeof(why)) != 0 ||
            set_value(service ? (void *)service
                      : oidc  ? (void *)oidc
                      : saml  ? (void *)saml
                              : (void *)cfg,
                      def, value, why, sizeof(why)) != 0) {
            add_error(errors, "%s:%d: key '%s.%s': %s", source_name, line, section, key, why);
            added++;
        }
    }
    (void)before;
    return added;
}

/* Reads a whole small file (configs and secrets). Returns a malloc'd, NUL-terminated buffer. */
static char *read_small_file(const char *path, size_t max, size_t *len_out, char *why,
                             size_t why_len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(why, why_len, "cannot open: %s", strerror(errno));
        return NULL;
    }
    char *buf = malloc(max + 1);
    size_t len = buf ? fread(buf, 1, max + 1, f) : 0;
    int failed = !buf || ferror(f);
    fclose(f);
    if (failed) {
        snprintf(why, why_len, "cannot read");
        free(buf);
        return NULL;
    }
    if (len > max) {
        snprintf(why, why_len, "larger than %zu bytes", max);
        free(buf);
        return NULL;
    }
    buf[len] = '\0';
    *len_out = len;
    return buf;
}

int config_load_file(struct balie_config *cfg, const char *path, struct config_errors *errors)
{
    char why[160];
    size_t len;
    char *text = read_small_file(path, 1 << 20, &len, why, sizeof(why));
    if (!text) {
        add_error(errors, "%s: %s", path, why);
        return 1;
    }
    int n = config_parse_text(cfg, path, text, len, errors);
    free(text);
    return n;
}

/* Builds BALIE_<SECTION>_<KEY> in upper case. */
static void env_name(const struct key_def *def, char *out, size_t len)
{
    snprintf(out, len, "BALIE_%s_%s", def->section, def->key);
    for (char *p = out; *p; p++)
        *p = (char)toupper((unsigned char)*p);
}

/* BALIE_SERVICE_<ID>_<KEY>: the id is what stands between the prefix and a known key, in
 * lower case with '_' for '-'. Returns 1 when the variable was one of these (handled). */
static int apply_service_env(struct balie_config *cfg, const char *var, size_t name_len,
                             const char *value, struct config_errors *errors)
{
    static const char prefix[] = "BALIE_SERVICE_";
    if (name_len <= sizeof(prefix) - 1 || strncmp(var, prefix, sizeof(prefix) - 1) != 0)
        return 0;
    for (size_t i = 0; i < SERVICE_KEY_COUNT; i++) {
        char suffix[32];
        snprintf(suffix, sizeof(suffix), "_%s", service_keys[i].key);
        for (char *p = suffix; *p; p++)
            *p = (char)toupper((unsigned char)*p);
        size_t sl = strlen(suffix), idl = name_len - (sizeof(prefix) - 1);
        if (idl <= sl || strncmp(var + name_len - sl, suffix, sl) != 0)
            continue;
        char id[CONFIG_SERVICE_ID_MAX + 1], why[160];
        idl -= sl;
        if (idl >= sizeof(id))
            idl = sizeof(id) - 1;
        for (size_t k = 0; k < idl; k++) {
            char c = var[sizeof(prefix) - 1 + k];
            id[k] = c == '_' ? '-' : (char)tolower((unsigned char)c);
        }
        id[idl] = '\0';
        struct config_service *svc = service_slot(cfg, id, why, sizeof(why));
        if (!svc || set_value(svc, &service_keys[i], value, why, sizeof(why)) != 0) {
            add_error(errors, "environment: %.*s: %s", (int)name_len, var, why);
            return 2;
        }
        return 1;
    }
    return 0;
}

/* BALIE_OIDC_<ID>_<KEY>, like the service variables. Of the keys whose names end the variable,
 * the longest wins (DISPLAY_NAME_CLAIM, not NAME_CLAIM). Returns 1 when handled, 2 on error. */
static int apply_oidc_env(struct balie_config *cfg, const char *var, size_t name_len,
                          const char *value, struct config_errors *errors)
{
    static const char prefix[] = "BALIE_OIDC_";
    const size_t pl = sizeof(prefix) - 1;
    if (name_len <= pl || strncmp(var, prefix, pl) != 0)
        return 0;
    const struct key_def *best = NULL;
    size_t best_len = 0;
    for (size_t i = 0; i < OIDC_KEY_COUNT; i++) {
        char suffix[40];
        snprintf(suffix, sizeof(suffix), "_%s", oidc_keys[i].key);
        for (char *p = suffix; *p; p++)
            *p = (char)toupper((unsigned char)*p);
        size_t sl = strlen(suffix);
        if (name_len - pl > sl && strncmp(var + name_len - sl, suffix, sl) == 0 && sl > best_len) {
            best = &oidc_keys[i];
            best_len = sl;
        }
    }
    if (!best)
        return 0;
    char id[CONFIG_OIDC_ID_MAX + 1], why[160];
    size_t idl = name_len - pl - best_len;
    if (idl >= sizeof(id))
        idl = sizeof(id) - 1;
    for (size_t k = 0; k < idl; k++) {
        char c = var[pl + k];
        id[k] = c == '_' ? '-' : (char)tolower((unsigned char)c);
    }
    id[idl] = '\0';
    struct config_oidc *oc = oidc_slot(cfg, id, why, sizeof(why));
    if (!oc || set_value(oc, best, value, why, sizeof(why)) != 0) {
        add_error(errors, "environment: %.*s: %s", (int)name_len, var, why);
        return 2;
    }
    return 1;
}

/* BALIE_SAML_<ID>_<KEY>, like the services' variables; a key ending in _FILE is a path, so
 * no _FILE indirection here. Returns 1 when handled, 2 on an error, 0 when not ours. */
static int apply_saml_env(struct balie_config *cfg, const char *var, size_t name_len,
                          const char *value, struct config_errors *errors)
{
    static const char prefix[] = "BALIE_SAML_";
    size_t pl = sizeof(prefix) - 1;
    if (name_len <= pl || strncmp(var, prefix, pl) != 0)
        return 0;
    const struct key_def *best = NULL;
    size_t best_len = 0;
    for (size_t i = 0; i < SAML_KEY_COUNT; i++) {
        char suffix[40];
        snprintf(suffix, sizeof(suffix), "_%s", saml_keys[i].key);
        for (char *p = suffix; *p; p++)
            *p = (char)toupper((unsigned char)*p);
        size_t sl = strlen(suffix);
        /* The longest matching key wins: "_TLS_CLIENT_KEY" over a shorter "_KEY". */
        if (name_len - pl > sl && strncmp(var + name_len - sl, suffix, sl) == 0 && sl > best_len)
            best = &saml_keys[i], best_len = sl;
    }
    if (!best)
        return 0;
    char id[CONFIG_SAML_ID_MAX + 1], why[160];
    size_t idl = name_len - pl - best_len;
    if (idl >= sizeof(id))
        idl = sizeof(id) - 1;
    for (size_t k = 0; k < idl; k++) {
        char c = var[pl + k];
        id[k] = c == '_' ? '-' : (char)tolower((unsigned char)c);
    }
    id[idl] = '\0';
    struct config_saml *sa = saml_slot(cfg, id, why, sizeof(why));
    if (!sa || set_value(sa, best, value, why, sizeof(why)) != 0) {
        add_error(errors, "environment: %.*s: %s", (int)name_len, var, why);
        return 2;
    }
    return 1;
}

int config_apply_env(struct balie_config *cfg, char *const *envp, struct config_errors *errors)
{
    int added = 0;
    for (char *const *e = envp; e && *e; e++) {
        if (strncmp(*e, "BALIE_", 6) != 0)
            continue;
        const char *eq = strchr(*e, '=');
        if (!eq)
            continue;
        size_t name_len = (size_t)(eq - *e);
        const char *value = eq + 1;
        /* Variables of the launcher, not configuration keys. */
        if ((name_len == strlen("BALIE_CONFIG") && strncmp(*e, "BALIE_CONFIG", name_len) == 0) ||
            (name_len == strlen("BALIE_PRINT_URLS") &&
             strncmp(*e, "BALIE_PRINT_URLS", name_len) == 0))
            continue;

        int svc = apply_service_env(cfg, *e, name_len, value, errors);
        if (!svc)
            svc = apply_oidc_env(cfg, *e, name_len, value, errors);
        if (!svc)
            svc = apply_saml_env(cfg, *e, name_len, value, errors);
        if (svc) {
            added += svc == 2;
            continue;
        }

        const struct key_def *def = NULL;
        bool from_file = false;
        char name[128];
        for (size_t i = 0; i < KEY_COUNT && !def; i++) {
            env_name(&keys[i], name, sizeof(name));
            size_t n = strlen(name);
            if (name_len == n && strncmp(*e, name, n) == 0) {
                def = &keys[i];
            } else if (name_len == n + 5 && strncmp(*e, name, n) == 0 &&
                       strncmp(*e + n, "_FILE", 5) == 0) {
                def = &keys[i];
                from_file = true;
            }
        }
        if (!def) {
            add_error(errors, "environment: unknown variable %.*s", (int)name_len, *e);
            added++;
            continue;
        }

        char why[160];
        char *file_text = NULL;
        if (from_file) {
            size_t len;
            file_text = read_small_file(value, 64 * 1024, &len, why, sizeof(why));
            if (!file_text) {
                add_error(errors, "environment: %.*s: %s: %s", (int)name_len, *e, value, why);
                added++;
                continue;
            }
            /* Secrets files usually end in a newline that is not part of the secret. */
            while (len > 0 && (file_text[len - 1] == '\n' || file_text[len - 1] == '\r'))
                file_text[--len] = '\0';
            value = file_text;
        }
        if (set_value(cfg, def, value, why, sizeof(why)) != 0) {
            add_error(errors, "environment: %.*s: %s", (int)name_len, *e, why);
            added++;
        }
        free(file_text);
    }
    return added;
}

bool config_is_loopback(const char *host)
{
    if (strcmp(host, "localhost") == 0 || strcmp(host, "::1") == 0)
        return true;
    struct in_addr a;
    return inet_pton(AF_INET, host, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

bool config_dev_provider_enabled(const struct balie_config *cfg)
{
    if (strcmp(cfg->identity.dev_provider, "auto") == 0)
        return strcmp(cfg->general.environment, "production") != 0;
    return strcmp(cfg->identity.dev_provider, "true") == 0;
}

static bool is_ip_literal(const char *host)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

/* Opening hours are parsed strictly here, so a typo stops the start instead of opening a
 * counter at the wrong time. */
static int validate_hours(const struct config_service *svc, struct config_errors *errors)
{
    struct opening_hours h;
    char why[128];
    int added = 0;
    if (hours_parse((const uint8_t *)svc->opening_hours, strlen(svc->opening_hours), &h, why,
                    sizeof(why)) != 0) {
        add_error(errors, "service.%s: opening_hours '%s': %s", svc->id, svc->opening_hours, why);
        added++;
    }
    if (hours_parse_closed((const uint8_t *)svc->closed_days, strlen(svc->closed_days), &h, why,
                           sizeof(why)) != 0) {
        add_error(errors, "service.%s: closed_days '%s': %s", svc->id, svc->closed_days, why);
        added++;
    }
    return added;
}

/* An OpenID Provider's URLs must be https (OpenID Connect Discovery §3, RFC 9700 §2.1), except
 * on a loopback host outside production, where a test provider runs. */
static bool url_acceptable(const char *url, bool production)
{
    if (strncmp(url, "https://", 8) == 0)
        return url[8] != '\0' && url[8] != '/';
    if (production || strncmp(url, "http://", 7) != 0)
        return false;
    char host[64];
    const char *h = url + 7, *end = h + strcspn(h, ":/?#");
    if (end == h || (size_t)(end - h) >= sizeof(host))
        return false;
    snprintf(host, sizeof(host), "%.*s", (int)(end - h), h);
    return config_is_loopback(host);
}

static int validate_oidc(const struct balie_config *cfg, const struct config_oidc *oc,
                         struct config_errors *errors)
{
    int added = 0;
    bool production = strcmp(cfg->general.environment, "production") == 0;
    char tail[CONFIG_OIDC_ID_MAX + 32];
    snprintf(tail, sizeof(tail), "/auth/callback/%s", oc->id);
    size_t rl = strlen(oc->redirect_uri), tl = strlen(tail);
    if (!url_acceptable(oc->issuer, production)) {
        add_error(errors,
                  "oidc.%s: issuer must be an https URL (http only to a loopback host "
                  "outside production)",
                  oc->id);
        added++;
    }
    if (!oc->client_id[0]) {
        add_error(errors, "oidc.%s: client_id is needed", oc->id);
        added++;
    }
    if (!url_acceptable(oc->redirect_uri, production) || rl < tl ||
        strcmp(oc->redirect_uri + rl - tl, tail) != 0) {
        add_error(errors, "oidc.%s: redirect_uri must be this gateway's https URL ending in %s",
                  oc->id, tail);
        added++;
    }
    bool basic = strcmp(oc->client_auth, "client_secret_basic") == 0;
    if (basic && !oc->client_secret[0] && !oc->client_secret_file[0]) {
        add_error(errors,
                  "oidc.%s: client_auth = client_secret_basic needs client_secret or "
                  "client_secret_file",
                  oc->id);
        added++;
    }
    if (!basic && !oc->private_key_file[0]) {
        add_error(errors, "oidc.%s: client_auth = private_key_jwt needs private_key_file", oc->id);
        added++;
    }
    if (strcmp(oc->role, "agent") == 0 && (!oc->role_claim[0] || !oc->role_map[0])) {
        add_error(errors,
                  "oidc.%s: role = agent needs role_claim and role_map (which roles may "
                  "take which services)",
                  oc->id);
        added++;
    }
    if (!strstr(oc->scope, "openid")) {
        add_error(errors, "oidc.%s: scope must contain openid", oc->id);
        added++;
    }
    return added;
}

/* A SAML provider needs the IdP's metadata, our key and certificate, and URLs: given, or
 * made from http.public_url (https, except a developer's loopback). */
static int validate_saml(struct balie_config *cfg, struct config_saml *sa,
                         struct config_errors *errors)
{
    int added = 0;
    for (int i = 0; i < cfg->oidc_count; i++) {
        if (strcmp(cfg->oidc[i].id, sa->id) == 0) {
            add_error(errors, "saml.%s: an [oidc.%s] has the same id", sa->id, sa->id);
            added++;
        }
    }
    const char *need[] = {sa->idp_metadata_file, sa->sp_key_file, sa->sp_cert_file};
    const char *names[] = {"idp_metadata_file", "sp_key_file", "sp_cert_file"};
    for (int k = 0; k < 3; k++) {
        if (!need[k][0]) {
            add_error(errors, "saml.%s: %s is needed", sa->id, names[k]);
            added++;
        }
    }
    const char *pub = cfg->http.public_url;
    size_t pl = strlen(pub);
    while (pl > 0 && pub[pl - 1] == '/')
        pl--;
    if ((!sa->acs_url[0] || !sa->sp_entity_id[0]) && pl == 0) {
        add_error(errors, "saml.%s: set http.public_url, or both acs_url and sp_entity_id", sa->id);
        return added + 1;
    }
    if (!sa->acs_url[0])
        snprintf(sa->acs_url, sizeof(sa->acs_url), "%.*s/auth/callback/%s", (int)pl, pub, sa->id);
    if (!sa->sp_entity_id[0])
        snprintf(sa->sp_entity_id, sizeof(sa->sp_entity_id), "%.*s/auth/metadata/%s", (int)pl, pub,
                 sa->id);
    size_t sl = strlen(sa->sector);
    bool sector_ok = sl >= 2 && sl < sizeof(sa->sector);
    for (size_t k = 0; k < sl; k++)
        sector_ok = sector_ok && (isalnum((unsigned char)sa->sector[k]));
    if (!sector_ok) {
        add_error(errors, "saml.%s: sector '%s' must be letters and digits (s00000000 is the BSN)",
                  sa->id, sa->sector);
        added++;
    }
    if (strncmp(sa->acs_url, "https://", 8) != 0 && strncmp(sa->acs_url, "http://127.", 11) != 0 &&
        strncmp(sa->acs_url, "http://localhost", 16) != 0) {
        add_error(errors, "saml.%s: acs_url must be https:// (or http:// on loopback)", sa->id);
        added++;
    }
    return added;
}

int config_validate(struct balie_config *cfg, struct config_errors *errors)
{
    int added = 0;
    for (int i = 0; i < cfg->oidc_count; i++)
        added += validate_oidc(cfg, &cfg->oidc[i], errors);
    for (int i = 0; i < cfg->saml_count; i++)
        added += validate_saml(cfg, &cfg->saml[i], errors);
    if (cfg->service_count == 0) {
        char why[160];
        struct config_service *svc = service_slot(cfg, "algemeen", why, sizeof(why));
        snprintf(svc->name_nl, sizeof(svc->name_nl), "Algemene vragen");
        snprintf(svc->name_en, sizeof(svc->name_en), "General questions");
    }
    for (int i = 0; i < cfg->service_count; i++) {
        struct config_service *svc = &cfg->services[i];
        if (svc->name_nl[0] == '\0')
            memcpy(svc->name_nl, svc->id, sizeof(svc->id)); /* the whole array: NUL included */
        if (svc->name_en[0] == '\0')
            memcpy(svc->name_en, svc->name_nl, sizeof(svc->name_en));
        added += validate_hours(svc, errors);
    }
    bool cert = cfg->http.tls_cert[0] != '\0', key = cfg->http.tls_key[0] != '\0';
    if (cert != key) {
        add_error(errors, "http: tls_cert and tls_key must be set together");
        added++;
    }
    if (!cert && !cfg->http.behind_proxy && !config_is_loopback(cfg->http.listen)) {
        add_error(errors,
                  "http: plain HTTP on '%s' is refused: set tls_cert and tls_key, or "
                  "behind_proxy = true when a TLS-terminating proxy is in front",
                  cfg->http.listen);
        added++;
    }
    if (!is_ip_literal(cfg->http.listen) && strcmp(cfg->http.listen, "localhost") != 0) {
        add_error(errors, "http: listen '%s' is not an IP address", cfg->http.listen);
        added++;
    }
    if (!is_ip_literal(cfg->media.bind)) {
        add_error(errors, "media: bind '%s' is not an IP address", cfg->media.bind);
        added++;
    }
    /* Browsers are offered the announced addresses, else the bind address: a wildcard bind with
     * nothing announced would offer them 0.0.0.0, and no call would ever connect. */
    bool wildcard = strcmp(cfg->media.bind, "0.0.0.0") == 0 || strcmp(cfg->media.bind, "::") == 0;
    if (wildcard && cfg->media.announce[0] == '\0') {
        add_error(errors,
                  "media: bind '%s' is a wildcard, so browsers need media.announce "
                  "(BALIE_MEDIA_ANNOUNCE): the address(es) they can reach",
                  cfg->media.bind);
        added++;
    }
    for (const char *p = cfg->media.announce; *p;) {
        size_t n = strcspn(p, ", ");
        char ip[64];
        if (n > 0) {
            snprintf(ip, sizeof(ip), "%.*s", (int)(n < sizeof(ip) ? n : sizeof(ip) - 1), p);
            if (n >= sizeof(ip) || !is_ip_literal(ip)) {
                add_error(errors, "media: announce entry '%s' is not an IP address", ip);
                added++;
            }
        }
        p += n;
        p += strspn(p, ", ");
    }
    int workers = cfg->media.workers > 0 ? cfg->media.workers : 1;
    if (cfg->media.port_base != 0 && cfg->media.port_base + workers - 1 > 65535) {
        add_error(errors, "media: port_base %d + %d workers passes port 65535",
                  cfg->media.port_base, workers);
        added++;
    }
    if (cfg->turn.urls[0] && strstr(cfg->turn.urls, "turn") && strlen(cfg->turn.secret) < 16) {
        add_error(errors, "turn: urls name a TURN server, so secret (at least 16 characters, "
                          "the server's static-auth-secret) is needed");
        added++;
    }
    if (strcmp(cfg->general.environment, "production") == 0 && !cert && !cfg->http.behind_proxy) {
        add_error(errors, "http: environment = production needs TLS (tls_cert and tls_key) or "
                          "behind_proxy = true");
        added++;
    }
    if (strcmp(cfg->general.environment, "production") == 0 &&
        strcmp(cfg->identity.dev_provider, "true") == 0) {
        add_error(errors, "identity: dev_provider = true is refused when environment = "
                          "production: the dev provider lets anyone log in as any BSN "
                          "(set dev_provider = false)");
        added++;
    }
    for (const char *p = cfg->http.trusted_proxies; *p;) {
        size_t n = strcspn(p, ", ");
        char ip[64];
        if (n > 0) {
            snprintf(ip, sizeof(ip), "%.*s", (int)(n < sizeof(ip) ? n : sizeof(ip) - 1), p);
            if (n >= sizeof(ip) || !is_ip_literal(ip)) {
                add_error(errors, "http: trusted_proxies entry '%s' is not an IP address", ip);
                added++;
            }
        }
        p += n;
        p += strspn(p, ", ");
    }
    size_t secret_len = strlen(cfg->identity.pseudonym_secret);
    if (secret_len > 0 && secret_len < 32) {
        add_error(errors,
                  "identity: pseudonym_secret must be at least 32 characters (it has "
                  "%zu); leave it empty to have one made in data_dir",
                  secret_len);
        added++;
    }
    return added;
}
