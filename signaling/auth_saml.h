/* The SAML parts of the login routes (auth.c): the callback's form post, which is larger than
 * other forms, and the SP metadata route. Internal to signaling/. */
#ifndef BALIE_SIGNALING_AUTH_SAML_H
#define BALIE_SIGNALING_AUTH_SAML_H

#include <stddef.h>

#include "balie/idp.h"
#include "server_internal.h"

/* Decodes an application/x-www-form-urlencoded body of up to HTTP_BODY_MAX_CALLBACK bytes into
 * `p` (at most IDP_PARAMS_MAX fields). The values live in `*storage` (malloc'd; free it, after
 * OPENSSL_cleanse, when done). Returns 0, or -1 for a malformed body. */
int auth_callback_form(const char *body, size_t len, struct idp_params *p, char **storage);

/* GET /auth/metadata/<id>: the SP metadata of a saml provider. */
int auth_saml_metadata(struct server *srv, struct lws *wsi, struct http_session *hs,
                       struct idp *idp);

/* The HTTP-Artifact binding: starts resolving the artifact in `params` and answers the
 * browser later (auth_saml_wake). Returns 1 when the answer will come later, or -1 with `err`. */
int auth_saml_artifact(struct server *srv, struct lws *wsi, struct http_session *hs,
                       const struct http_request *req, struct idp *idp,
                       const struct idp_params *params, const struct login_pending *login,
                       struct idp_error *err);

/* The end of a login (auth.c): with `err` NULL a session for `id` (which is cleared), the
 * cookie and a 303 to the return path; otherwise the refusal page. */
int auth_finish_login(struct server *srv, struct lws *wsi, struct http_session *hs,
                      const struct http_request *req, const struct idp *idp,
                      const struct login_pending *login, struct identity_verified *id,
                      const struct idp_error *err);

#endif
