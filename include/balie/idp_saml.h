/* The `saml` identity provider (DigiD-like) behind struct idp (balie/idp.h).
 *
 * HTTP-POST binding: the IdP's form post reaches /auth/callback/<id> with SAMLResponse and
 * RelayState (our state), and `finish` checks it. HTTP-Artifact binding: the browser brings
 * SAMLart and RelayState, and the Response must first be fetched from the IdP over SOAP, which
 * takes a network round trip: idp_saml_artifact_begin() starts it and calls back later.
 * Control thread only. */
#ifndef BALIE_IDP_SAML_H
#define BALIE_IDP_SAML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "balie/config.h"
#include "balie/idp.h"

struct httpc;

/* Reads the IdP's metadata and our key and certificate (the paths in `cfg`, which
 * config_validate() completed). `request_loa` is the level every AuthnRequest asks for at
 * least (RequestedAuthnContext Comparison="minimum"). `secret` must outlive the provider.
 * Returns NULL with `why` (for the operator: no personal data). */
struct idp *idp_saml_new(const struct config_saml *cfg, enum identity_loa request_loa,
                         const unsigned char *secret, size_t secret_len, char *why, size_t why_len);

/* Whether `idp` is a saml provider. */
bool idp_is_saml(const struct idp *idp);

/* The SP metadata document (GET /auth/metadata/<id>): malloc'd, NUL-terminated, or NULL. */
char *idp_saml_metadata(struct idp *idp, size_t *len);

/* Called once when an artifact resolution ends: rc 0 with `id` (the caller passes it on to
 * session_create and clears it), or -1 with `err`. */
typedef void (*idp_saml_done_fn)(void *arg, int rc, struct identity_verified *id,
                                 const struct idp_error *err);

/* Starts the HTTP-Artifact binding's resolution (bindings §3.6.3): checks the artifact in
 * `params` (SAMLart), sends a signed ArtifactResolve over SOAP with the TLS client certificate
 * to the IdP's ArtifactResolutionService, and later checks the ArtifactResponse and the Response
 * in it. Returns a positive handle (then `done` runs later on the control thread, from
 * httpc_poll), or -1 with `err` (then `done` never runs). */
long idp_saml_artifact_begin(struct idp *idp, struct httpc *hc, const struct idp_params *params,
                             const struct login_pending *login, uint64_t now_ms,
                             idp_saml_done_fn done, void *arg, struct idp_error *err);

/* `done` of `handle` will not run (the browser went away). */
void idp_saml_artifact_cancel(struct idp *idp, long handle);

#endif
