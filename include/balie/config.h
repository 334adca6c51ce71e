/* The gateway's configuration: embedded defaults, a file, then BALIE_<SECTION>_<KEY>
 * environment variables, in that order. See docs/configuration.md for every key.
 *
 * File format: `[section]` headers and `key = value` lines; values are a number, true/false,
 * a bare word, or a "quoted string" with \" and \\ escapes; `#` starts a comment. Unknown
 * sections and keys are errors, so a typo never silently keeps a default. */
#ifndef BALIE_CONFIG_H
#define BALIE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#define CONFIG_STR_MAX 256

#define CONFIG_MAX_SERVICES 32
#define CONFIG_SERVICE_ID_MAX 32

/* A counter service citizens queue for: `[service.<id>]` in the file. */
struct config_service {
    char id[CONFIG_SERVICE_ID_MAX]; /* [a-z0-9-], 1..31 characters */
    char name_nl[128];
    char name_en[128];
    char min_loa[16];        /* basis | midden | substantieel | hoog */
    char opening_hours[256]; /* "mon-fri 09:00-17:00; sat 10:00-12:00"; "": always open */
    char closed_days[256];   /* "2026-12-25, 2026-12-26": closed all day (opening_hours.h) */
};

#define CONFIG_MAX_SAML 4
#define CONFIG_SAML_ID_MAX 16

/* A SAML identity provider (DigiD-like): `[saml.<id>]` in the file; docs/identity.md. */
struct config_saml {
    char id[CONFIG_SAML_ID_MAX]; /* [a-z0-9-], 1..15 characters; /auth/callback/<id> */
    char idp_metadata_file[CONFIG_STR_MAX];
    char sp_entity_id[CONFIG_STR_MAX]; /* empty: <public_url>/auth/metadata/<id> */
    char acs_url[CONFIG_STR_MAX];      /* empty: <public_url>/auth/callback/<id> */
    char sp_key_file[CONFIG_STR_MAX];
    char sp_cert_file[CONFIG_STR_MAX];
    char tls_client_cert[CONFIG_STR_MAX]; /* artifact resolution; empty: sp_cert_file */
    char tls_client_key[CONFIG_STR_MAX];  /* empty: sp_key_file */
    char tls_ca_file[CONFIG_STR_MAX];     /* trust anchors for the IdP; empty: system store */
    char sector[16];                      /* NameID prefix, "s00000000" for the BSN */
    char loa_map[1024];                   /* ClassRef=level,… */
    char display_name[64];
    char binding[16]; /* post | artifact */
    int clock_skew_s;
    bool force_authn;
};

#define CONFIG_MAX_OIDC 4
#define CONFIG_OIDC_ID_MAX 16 /* IDP_ID_MAX: the id is in /auth/callback/<id> and the session */
#define CONFIG_OIDC_MAP_MAX (CONFIG_STR_MAX * 4)

/* An OpenID Provider (a DigiD broker, or the staff directory for agents): `[oidc.<id>]`.
 * docs/identity.md explains the keys; identity/oidc.c checks the maps when it starts. */
struct config_oidc {
    char id[CONFIG_OIDC_ID_MAX]; /* [a-z0-9-], 1..15 characters, not "dev" */
    char display_name[128];      /* what the login page shows */
    char issuer[CONFIG_STR_MAX];
    char client_id[CONFIG_STR_MAX];
    char client_secret[CONFIG_STR_MAX];
    char client_secret_file[CONFIG_STR_MAX];
    char client_auth[24]; /* private_key_jwt | client_secret_basic */
    char private_key_file[CONFIG_STR_MAX];
    char private_key_id[128]; /* the client assertion's kid; empty: none */
    char redirect_uri[CONFIG_STR_MAX];
    char scope[CONFIG_STR_MAX];
    char acr_values[CONFIG_STR_MAX];
    char subject_claim[64];
    char loa_claim[64];
    char loa_map[CONFIG_OIDC_MAP_MAX]; /* "value=level, …"; empty: the built-in table */
    char role[8];                      /* citizen | agent */
    char role_claim[64];
    char role_map[CONFIG_OIDC_MAP_MAX]; /* "value=svc|svc, value=*" */
    char display_name_claim[64];        /* empty: no name is kept */
    char ca_file[CONFIG_STR_MAX];
};

struct balie_config {
    struct {
        char environment[CONFIG_STR_MAX]; /* development | production */
        char data_dir[CONFIG_STR_MAX];
    } general;
    struct {
        char level[CONFIG_STR_MAX];
    } log;
    struct {
        char listen[CONFIG_STR_MAX];
        int port;
        char public_url[CONFIG_STR_MAX];
        char tls_cert[CONFIG_STR_MAX];
        char tls_key[CONFIG_STR_MAX];
        bool behind_proxy;
        char allowed_origins[CONFIG_STR_MAX * 4];
        char web_root[CONFIG_STR_MAX];
        /* Comma-separated addresses of proxies whose X-Forwarded-For names the client. */
        char trusted_proxies[CONFIG_STR_MAX * 4];
    } http;
    struct {
        int workers; /* 0: one per core */
        char bind[CONFIG_STR_MAX];
        int port_base;
        char announce[CONFIG_STR_MAX];
        int socket_buffer_kb; /* each worker's UDP receive buffer */
    } media;
    struct {
        char urls[CONFIG_STR_MAX * 4]; /* comma-separated turn:/turns:/stun: URLs */
        char secret[CONFIG_STR_MAX];   /* shared with coturn's static-auth-secret */
        int ttl_s;
    } turn;
    struct {
        int grace_s;
    } shutdown;
    struct {
        int grace_s; /* a dropped WebSocket keeps its place or call this long; 0: never */
    } reconnect;
    struct {
        /* auto | true | false. auto: on in development, off in production; true is refused
         * in production (see config_dev_provider_enabled). */
        char dev_provider[8];
        char pseudonym_secret[CONFIG_STR_MAX]; /* empty: made once in data_dir/pseudonym.key */
        char users_file[CONFIG_STR_MAX];       /* agents' passwords; empty: data_dir/users */
        char local_provider[8];                /* auto | true | false: the users file's login */
        bool show_citizen_name;                /* agents see the name a provider gave */
    } identity;
    struct {
        char token_file[CONFIG_STR_MAX]; /* empty: made once in data_dir/admin.token */
    } admin;
    struct {
        int retention_days;     /* signals older than this are purged */
        int service_level_s;    /* "answered within" threshold for the service-level metric */
        int no_agent_timeout_s; /* a wait this long ends as no_agent; 0: never */
        char webhook_url[CONFIG_STR_MAX];        /* empty: signals are kept, not sent */
        char webhook_format[24];                 /* klantinteracties | cloudevents */
        char webhook_token_file[CONFIG_STR_MAX]; /* the token sent as Authorization */
        char webhook_auth_scheme[24];            /* "Bearer"; Open Klant wants "Token" */
        int webhook_window;                      /* requests in flight at most */
        int webhook_timeout_s;
        int webhook_retry_max_s;               /* the backoff's cap */
        char context_issuer[CONFIG_STR_MAX];   /* the trusted issuer of handover contexts */
        char context_key_file[CONFIG_STR_MAX]; /* its public key (PEM) */
        char context_audience[CONFIG_STR_MAX]; /* the aud a context token must carry */
    } journey;
    /* When none is configured, config_validate() adds the default service "algemeen". */
    struct config_service services[CONFIG_MAX_SERVICES];
    int service_count;
    struct config_saml saml[CONFIG_MAX_SAML];
    int saml_count;
    struct config_oidc oidc[CONFIG_MAX_OIDC];
    int oidc_count;
};

#define CONFIG_MAX_ERRORS 32

/* Errors collected while loading; each names the source (file and line, or variable). */
struct config_errors {
    int count;
    char messages[CONFIG_MAX_ERRORS][320];
};

/* Describes one key; the table drives parsing, env overrides and the documentation test. */
struct config_key_info {
    const char *section;
    const char *key;
    const char *default_text;
};

void config_defaults(struct balie_config *cfg);

/* Parses `text` as if it were the file `source_name`. Returns the number of errors added. */
int config_parse_text(struct balie_config *cfg, const char *source_name, const char *text,
                      size_t len, struct config_errors *errors);

/* Reads and parses a file. Returns the number of errors added (an unreadable file is one). */
int config_load_file(struct balie_config *cfg, const char *path, struct config_errors *errors);

/* Applies BALIE_<SECTION>_<KEY> variables from `envp` (NULL-terminated). A variable
 * BALIE_<SECTION>_<KEY>_FILE reads the value from that file (for secrets). An unknown
 * BALIE_ variable is an error, except BALIE_CONFIG and BALIE_PRINT_URLS. Returns the number of
 * errors added. */
int config_apply_env(struct balie_config *cfg, char *const *envp, struct config_errors *errors);

/* Checks that the keys make sense together, and adds the default service when none is
 * configured. Returns the number of errors added. */
int config_validate(struct balie_config *cfg, struct config_errors *errors);

/* The service with this id, or NULL. */
const struct config_service *config_service_find(const struct balie_config *cfg, const char *id);

/* The key table, for documentation checks. Sets *count. */
const struct config_key_info *config_keys(size_t *count);
/* The keys of a `[saml.<id>]` section (section "saml.<id>"), for documentation checks. */
const struct config_key_info *config_saml_keys(size_t *count);

/* The keys of an `[oidc.<id>]` section, for documentation checks. Sets *count. */
const struct config_key_info *config_oidc_keys(size_t *count);

/* Whether the `dev` identity provider (a test login) is on. */
bool config_dev_provider_enabled(const struct balie_config *cfg);

/* True for 127.0.0.0/8, ::1 and "localhost". */
bool config_is_loopback(const char *host);

#endif
