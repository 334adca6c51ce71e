/* The saml provider's state, shared by idp_saml.c and idp_saml_artifact.c. */
#ifndef BALIE_IDENTITY_IDP_SAML_INTERNAL_H
#define BALIE_IDENTITY_IDP_SAML_INTERNAL_H

#include "balie/config.h"
#include "balie/idp_saml.h"
#include "balie/saml.h"

#define IDP_SAML_REPLAY_MAX 4096

struct idp_saml {
    struct idp base; /* first: a struct idp * is also a struct idp_saml * */
    char id[IDP_ID_MAX];
    char display_name[IDP_DISPLAY_NAME_MAX];
    struct config_saml cfg;
    struct saml_sp sp;
    struct saml_idp_meta *meta;
    struct saml_sp_key *key;
    struct saml_replay *replay;
    enum identity_loa request_loa;
    const unsigned char *secret;
    size_t secret_len;
    struct httpc *hc;                     /* NULL when only the POST binding is used */
    struct saml_artifact_state *artifact; /* resolutions in flight (idp_saml_artifact.c) */
};

/* Checks a Response and turns it into a verified identity (pseudonym made). `now_ms` is the
 * gateway's monotonic clock (for expires_ms); the checks use the wall clock. */
int idp_saml_check_xml(struct idp_saml *s, const uint8_t *xml, size_t len, const char *request_id,
                       const char *resolve_id, uint64_t now_ms, struct identity_verified *out,
                       struct idp_error *err);
int idp_saml_identity(struct idp_saml *s, struct saml_result *res, uint64_t now_ms,
                      uint64_t wall_ms, struct identity_verified *out, struct idp_error *err);
/* The real-time clock in ms: SAML's times are UTC wall-clock, the gateway's `now_ms` monotonic. */
uint64_t idp_saml_wall_ms(void);
/* The HTTP-Artifact binding (struct idp's finish_async and cancel). */
int idp_saml_finish_async(struct idp *idp, const struct idp_params *params,
                          const struct login_pending *login, uint64_t now_ms, idp_done_fn done,
                          void *arg, struct idp_error *err);
void idp_saml_cancel(struct idp *idp, void *arg);
/* Cancels and frees what idp_saml_artifact.c keeps. */
void idp_saml_artifact_free(struct idp_saml *s);

#endif
