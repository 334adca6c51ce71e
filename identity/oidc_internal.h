/* Shared by the oidc provider's files (oidc.c: discovery, keys, lifecycle; oidc_exchange.c: the
 * callback, the token call and the ID token). Internal to identity/. */
#ifndef BALIE_IDENTITY_OIDC_INTERNAL_H
#define BALIE_IDENTITY_OIDC_INTERNAL_H

#include "balie/oidc.h"

struct jose_keyset;
struct oidc_exchange;

struct idp_oidc {
    struct idp base; /* first: a struct idp * is also a struct idp_oidc * */
    struct config_oidc cfg;
    char display_name[128];
    const unsigned char *secret;
    size_t secret_len;
    struct httpc *hc;
    bool allow_http; /* http:// to a loopback host (not in production) */
    char client_secret[CONFIG_STR_MAX];
    char *private_key_pem;
    size_t private_key_len;
    struct oidc_loa_map loa;
    struct oidc_role_map roles;

    bool have_discovery;
    struct oidc_discovery disc;
    struct jose_keyset *keys;
    bool ready;               /* discovery and keys arrived: logins may start */
    long fetch_request;       /* the discovery or JWKS request in flight, 0 when none */
    uint64_t retry_at_ms;     /* when a failed fetch is tried again */
    unsigned retry_delay_ms;  /* doubles from 1 s to 60 s */
    uint64_t keys_fetched_ms; /* when the JWKS last arrived */
    uint64_t kid_refetch_ms;  /* when an unknown kid last made us fetch it again; 0 never */

    struct oidc_exchange *exchanges; /* callbacks waiting for the token endpoint or keys */
};

uint64_t oidc_mono_ms(void);
void oidc_set_error(struct idp_error *err, const char *code);
void oidc_fetch_keys(struct idp_oidc *op);

/* The lowest level of the configured acr_values (LOA_NONE when none are asked), or -1 when one
 * is not in the map. */
int oidc_min_requested_loa(const struct idp_oidc *op);

/* oidc_exchange.c */
int oidc_finish_async(struct idp *idp, const struct idp_params *params,
                      const struct login_pending *login, uint64_t now_ms, idp_done_fn done,
                      void *arg, struct idp_error *err);
void oidc_cancel(struct idp *idp, void *arg);
/* The JWKS fetch ended (`ok`: new keys): exchanges waiting on it are verified again. */
void oidc_keys_arrived(struct idp_oidc *op, bool ok);
void oidc_exchanges_free(struct idp_oidc *op);

#endif
