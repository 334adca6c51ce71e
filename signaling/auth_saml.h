/* The SAML parts of the login routes (auth.c): the callback's form post, which is larger than
 * other forms, and the SP metadata route. Internal to signaling/. */
#ifndef BALIE_SIGNALING_AUTH_SAML_H
#define BALIE_SIGNALING_AUTH_SAML_H

#include <stdbool.h>
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

/* Whether the provider's answer came whole in this request (a SAML Response in the HTTP-POST
 * binding), so the synchronous `finish` serves it even when the provider also has
 * `finish_async` (for the HTTP-Artifact binding, which needs a SOAP call first). */
bool auth_answer_in_request(const struct idp *idp, const struct idp_params *params);

#endif
