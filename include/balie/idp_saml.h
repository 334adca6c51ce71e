/* The `saml` identity provider (DigiD-like) behind struct idp (balie/idp.h).
 *
 * HTTP-POST binding: the IdP's form post reaches /auth/callback/<id> with SAMLResponse and
 * RelayState (our state), and `finish` checks it. HTTP-Artifact binding: the browser brings
 * SAMLart and RelayState, and the Response must first be fetched from the IdP over SOAP (signed
 * ArtifactResolve, TLS client certificate) through the shared HTTP client (balie/httpc.h):
 * `finish_async` starts that and its `done` runs from httpc_poll(); `cancel` drops it.
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
 * config_validate() completed). `hc` (may be NULL with binding = post) must outlive it.
 * `request_loa` is the level every AuthnRequest asks for at least (RequestedAuthnContext
 * Comparison="minimum"). `secret` must outlive the provider. Returns NULL with `why` (for the
 * operator: no personal data). */
struct idp *idp_saml_new(const struct config_saml *cfg, enum identity_loa request_loa,
                         const unsigned char *secret, size_t secret_len, struct httpc *hc,
                         char *why, size_t why_len);

/* Whether `idp` is a saml provider. */
bool idp_is_saml(const struct idp *idp);

/* The SP metadata document (GET /auth/metadata/<id>): malloc'd, NUL-terminated, or NULL. */
char *idp_saml_metadata(struct idp *idp, size_t *len);

#endif
